"""What an audit tells a front end while it runs: one event per host state change (no SSH here)."""

from __future__ import annotations

from auditor.inventory import Host
from auditor.records import record
from auditor.report.model import HostReport
from auditor.transport.outcome import HostState


@record
class AuditEvent:
    """A host changed state; ``report`` is set when it finished (DONE or FAILED)."""

    host: Host
    state: HostState
    report: HostReport | None = None
