"""Running one audit, whichever front end drives it: targets in, per-host events and a report out.

``audit`` streams ``AuditEvent``s as hosts progress, each finished host already
assessed; ``collect`` gathers them, adds the fleet-level checks, and returns the
``Report`` every writer renders.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from auditor.audit.events import AuditEvent
from auditor.audit.targets import Targets
from auditor.errors import ReportWriteError
from auditor.inventory import Host
from auditor.policy.model import Policy
from auditor.probe.program import ProbeCall, remote_command
from auditor.probe.request import encode_request
from auditor.report.assess import apply_consistency, assess
from auditor.report.files import write_atomic
from auditor.report.model import HostReport, Report
from auditor.transport.options import SshOptions
from auditor.transport.runner import Payload, run_probes

log = logging.getLogger(__name__)


def policy_request(policy: Policy) -> Callable[[Host], str | ProbeCall]:
    """Per-host probe requests: the engine templates of every rule that may select the host.

    GPU-model selectors are judged only after probing, so a rule limited to one GPU
    model still sends its templates; evaluation then ignores what does not apply.
    A policy with reference engines sends their plans in the program
    (``auditor.reference.shipment.reference_calls``).
    """
    if policy.references:
        from auditor.reference.library import load_library
        from auditor.reference.shipment import reference_calls

        return reference_calls(policy, load_library(policy.engine_library))
    cache: dict[tuple[tuple[str, ...], bool], str] = {}

    def request(host: Host) -> str:
        key = (tuple(policy.engine_templates_for(host)), policy.plugins_for(host))
        if key not in cache:
            cache[key] = encode_request(engines=key[0], plugins=key[1])
        return cache[key]

    return request


async def audit(
    hosts: Sequence[Host],
    policy: Policy,
    options: SshOptions,
    request: str | Callable[[Host], str | ProbeCall] | None = None,
) -> AsyncIterator[AuditEvent]:
    """Probe and assess every host; events arrive as hosts progress.

    Fleet-level checks (group consistency) need every host: ``collect`` adds them.
    When the sweep finishes, the hosts that could not be audited (unreachable or
    error) are written to ``options.retry_file``, one name a line, for
    ``--limit @FILE`` (an empty file when every host was audited).
    """
    incomplete: set[str] = set()
    asked = request or policy_request(policy)

    def payload(host: Host) -> Payload:
        call = asked(host) if callable(asked) else asked
        return probe_payload(call if isinstance(call, ProbeCall) else ProbeCall(call))

    async for event in run_probes(hosts, options, payload):
        report = assess(event.host, event.outcome, policy) if event.outcome is not None else None
        if report is not None and report.verdict.incomplete:
            incomplete.add(report.name)
        yield AuditEvent(event.host, event.state, report)
    if options.retry_file:
        write_retry_file(Path(options.retry_file), [h.name for h in hosts if h.name in incomplete])


def probe_payload(call: ProbeCall) -> Payload:
    """What the transport sends for ``call``: the host's python3 reading the probe program on stdin."""
    return Payload(remote_command(call.request), call.source)


def write_retry_file(path: Path, names: Sequence[str]) -> None:
    """Replace ``path`` with ``names``, one per line (``write_atomic``: a unique temporary name, so two runs never race)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, "".join(f"{name}\n" for name in names))
    except OSError as exc:
        log.warning("could not write the retry file %s: %s", path, exc.strerror or exc)
    except ReportWriteError as exc:
        log.warning("could not write the retry file: %s", exc)


async def collect(
    targets: Targets,
    policy: Policy,
    on_event: Callable[[AuditEvent], None] | None = None,
    request: str | Callable[[Host], str | ProbeCall] | None = None,
) -> Report:
    """Run a whole audit and return its report (hosts in inventory order)."""
    started = time.monotonic()
    done: dict[str, HostReport] = {}
    async for event in audit(targets.hosts, policy, targets.options, request):
        if on_event is not None:
            on_event(event)
        if event.report is not None:
            done[event.host.name] = event.report
    hosts = apply_consistency(policy, [done[h.name] for h in targets.hosts if h.name in done])
    return Report(
        inventory=targets.name,
        policy=policy.name,
        hosts=hosts,
        duration_s=time.monotonic() - started,
        notes=(*policy.notes, *targets.options.host_keys.notes()),
    )
