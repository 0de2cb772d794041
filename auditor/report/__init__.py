"""The audit report: one value (``auditor.report/1``) that every writer renders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from auditor.facts import Facts
from auditor.findings import Finding, Verdict, main_finding
from auditor.outcome import HostError, Timing

SCHEMA = "auditor.report/1"


@dataclass(frozen=True)
class HostReport:
    """One host's result: verdict, findings, the facts they came from, or why there are none."""

    name: str
    address: str
    groups: tuple[str, ...]
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    checks: tuple[str, ...] = ()
    facts: Facts | None = None
    error: HostError | None = None
    timing: Timing = field(default_factory=Timing)
    stderr: str = ""

    @property
    def main_finding(self) -> Finding | None:
        """The finding that best explains the verdict."""
        return main_finding(self.findings)

    @property
    def reason(self) -> str:
        """One line saying why the host has its verdict ("" when ok)."""
        if self.error is not None:
            return f"{self.error.step.value}: {self.error.message}"
        finding = self.main_finding
        return finding.message if finding else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "groups": list(self.groups),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
            "checks": list(self.checks),
            "facts": dict(self.facts.raw) if self.facts else None,
            "timing": {"connect_s": self.timing.connect_s, "probe_s": self.timing.probe_s},
            "error": self.error.to_json() if self.error else None,
            "stderr": self.stderr or None,
        }


def utc_now() -> str:
    """The current UTC time as ISO 8601 with a Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Report:
    """A whole audit. ``complete`` is False when the run was interrupted."""

    inventory: str
    policy: str
    hosts: tuple[HostReport, ...]
    generated_at: str = field(default_factory=utc_now)
    duration_s: float = 0.0
    complete: bool = True
    notes: tuple[str, ...] = ()
    """Run-level notices every writer must show (host keys accepted on first use, say)."""

    def summary(self) -> dict[str, int]:
        """``{"total": N, "<verdict>": count, ...}`` with every verdict present (zeros too)."""
        counts = {"total": len(self.hosts)}
        counts.update({v.value: 0 for v in Verdict})
        for host in self.hosts:
            counts[host.verdict.value] += 1
        return counts
