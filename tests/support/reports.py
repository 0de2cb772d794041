"""Small report values for writer, exit-code and history tests (no SSH needed)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from auditor.findings import Action, Finding, Severity, Verdict, verdict_of
from auditor.inventory import Host
from auditor.report.model import HostReport, Report
from auditor.transport.outcome import AuditStep, HostError, Timing
from tests.support.documents import facts

HOSTILE = 'evil"\\|<script>alert(1)</script>*x*_[a](http://x.test)&amp;`=cmd|calc\n'
"""A string that is markup in every medium we write: Markdown, HTML, XML, CSV, Prometheus labels."""


def finding(
    rule: str = "p/driver.min",
    action: Action = Action.UPGRADE,
    severity: Severity = Severity.HIGH,
    message: str = "NVIDIA driver 470.82.01 is below the floor 535.104.05",
    **extra: object,
) -> Finding:
    """A finding with plausible defaults (``extra`` overrides any other field)."""
    fields: dict[str, object] = {
        "expected": ">= 535.104.05",
        "actual": "470.82.01",
        "source": "policy.yaml:3",
        "remediation": "Upgrade the driver.",
        **extra,
    }
    return Finding(rule=rule, severity=severity, action=action, message=message, **fields)  # type: ignore[arg-type]


def host(name: str, *findings: Finding, checks: tuple[str, ...] | None = None, **changes: object) -> HostReport:
    """A host whose verdict follows from its findings (facts of a healthy A100 node); ``address`` and
    ``groups`` among ``changes`` go to its inventory host."""
    address = str(changes.pop("address", f"10.0.0.{len(name)}"))
    groups: tuple[str, ...] = tuple(changes.pop("groups", ("serving",)))  # type: ignore[call-overload]
    base = HostReport(
        host=Host(name, address, groups=groups),
        verdict=verdict_of(findings),
        findings=tuple(findings),
        checks=checks if checks is not None else ("driver.status", "gpu.visible", *(f.rule for f in findings)),
        facts=facts(),
        timing=Timing(0.01, 0.2),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def unreachable(name: str, message: str = "connection refused") -> HostReport:
    """A host that could not be reached."""
    return HostReport(
        Host(name, "10.9.9.9", groups=("serving",)),
        Verdict.UNREACHABLE,
        error=HostError(AuditStep.CONNECT, message),
        timing=Timing(0.5),
    )


def report(*hosts: HostReport, **changes: object) -> Report:
    """A report at a fixed time."""
    base = Report(inventory="inv.yaml", policy="prod", hosts=tuple(hosts), generated_at="2026-11-21T06:00:00Z")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def parse_xml(text: str | Path) -> ET.Element:
    """Parse XML that auditor itself just wrote (a file path or a string)."""
    if isinstance(text, Path):
        text = text.read_text(encoding="utf-8")
    return ET.fromstring(text)  # noqa: S314 - our own output under test, not untrusted input
