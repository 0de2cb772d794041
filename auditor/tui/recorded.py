"""Host reports read back from a saved ``auditor.report/1`` JSON report.

What ``ReplaySource`` replays in the snapshot tests and the benchmark: a real demo
audit saved once, so screens are built from real findings and real probe output
but never change with timing. The facts are parsed again from the report's ``facts``
(the probe's cleaned JSON) by the one reader of facts (``auditor.facts.reader.read_stored``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auditor.facts.reader import read_stored
from auditor.findings import Action, Finding, Severity, Verdict
from auditor.inventory import Host
from auditor.report.model import HostReport
from auditor.transport.outcome import AuditStep, HostError, Timing

_FINDING_FIELDS = {f.name for f in dataclasses.fields(Finding)}


def load_reports(path: str | Path) -> tuple[HostReport, ...]:
    """Every host of a saved JSON report, in its order. Raises ``ValueError`` on a malformed file."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not str(document.get("schema", "")).startswith("auditor.report/"):
        raise ValueError(f"{path}: not an auditor.report JSON document")
    return tuple(host_report(host) for host in document.get("hosts", []))


def host_report(data: Mapping[str, Any]) -> HostReport:
    """One ``hosts[]`` entry as a ``HostReport``."""
    error = data.get("error")
    timing = data.get("timing") or {}
    facts = data.get("facts")
    return HostReport(
        host=Host(data["name"], data.get("address", ""), groups=tuple(data.get("groups", ()))),
        verdict=Verdict(data["verdict"]),
        findings=tuple(_finding(f) for f in data.get("findings", ())),
        checks=tuple(data.get("checks", ())),
        facts=read_stored(facts) if facts else None,
        error=HostError(AuditStep(error["step"]), error["message"], bool(error.get("timed_out")), error.get("host_key"))
        if error
        else None,
        timing=Timing(timing.get("connect_s"), timing.get("probe_s")),
        stderr=data.get("stderr") or "",
        failing_since=data.get("failing_since"),
        not_applicable=tuple((n["check"], n["reason"]) for n in data.get("not_applicable", ())),
        output=data.get("output") or "",
    )


def _finding(data: Mapping[str, Any]) -> Finding:
    known = {key: value for key, value in data.items() if key in _FINDING_FIELDS}
    known["severity"] = Severity(known["severity"])
    known["action"] = Action(known["action"])
    return Finding(**known)
