"""``--fail-on`` thresholds, and the exit decision of a run (``decide``); the codes are ``auditor.report.exitcodes``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from auditor.findings import Finding, Severity, Verdict, verdict_of
from auditor.records import record
from auditor.report.exitcodes import (
    DEFAULT_FAIL_ON,
    DEFAULT_UNREACHABLE,
    FAIL_ON_CHOICES,
    SEVERITY_LEVELS,
    UNREACHABLE_CHOICES,
    ExitCode,
    ExitDecision,
)
from auditor.report.model import HostReport
from auditor.text import count


@record
class Threshold:
    """What ``--fail-on`` names: a verdict level or a severity level."""

    level: str

    def __post_init__(self) -> None:
        if self.level not in FAIL_ON_CHOICES:
            raise ValueError(f"unknown --fail-on level {self.level!r} (choose from {', '.join(FAIL_ON_CHOICES)})")

    @property
    def is_severity(self) -> bool:
        """True for a severity threshold (``high``), False for a verdict one (``upgrade``)."""
        return self.level in SEVERITY_LEVELS

    def describe(self) -> str:
        """``"verdict upgrade or worse"`` / ``"a finding of severity high or worse"``."""
        if self.is_severity:
            return f"a finding of severity {self.level} or worse"
        return f"verdict {self.level} or more urgent"

    def reached_by(self, host: HostReport) -> bool:
        """True when the host's live (not waived, evaluated) findings reach the threshold."""
        live = live_findings(host.findings)
        if self.is_severity:
            floor = Severity(self.level).rank
            return any(f.severity.rank >= floor for f in live)
        return bool(live) and verdict_of(live).rank <= Verdict(self.level).rank


def live_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings that count towards ``--fail-on``: neither waived nor inconclusive."""
    return [f for f in findings if not f.waived and not f.inconclusive]


def incomplete(host: HostReport) -> bool:
    """True when part of the host could not be evaluated (unreachable, error, inconclusive check)."""
    return host.verdict.incomplete or any(f.inconclusive and not f.waived for f in host.findings)


def thresholds(fail_on: str) -> tuple[Threshold, ...]:
    """``"upgrade,critical"`` -> its thresholds (ValueError for an unknown level)."""
    return tuple(Threshold(level.strip().lower()) for level in fail_on.split(",") if level.strip())


def decide(
    hosts: Sequence[HostReport],
    fail_on: str = DEFAULT_FAIL_ON,
    unreachable: str = DEFAULT_UNREACHABLE,
    interrupted: bool = False,
) -> ExitDecision:
    """The exit code for a run: interrupted beats findings, findings beat incompleteness."""
    levels = thresholds(fail_on)
    if not levels:
        raise ValueError("--fail-on names no level")
    if unreachable not in UNREACHABLE_CHOICES:
        raise ValueError(f"unknown --unreachable mode {unreachable!r}")
    failing = tuple(h.name for h in hosts if any(t.reached_by(h) for t in levels))
    partial = tuple(h.name for h in hosts if incomplete(h))

    def result(code: ExitCode, reason: str) -> ExitDecision:
        return ExitDecision(code, reason, fail_on, unreachable, failing, partial)

    counts = f"{count(len(failing), 'host')} at or above --fail-on {fail_on}, {count(len(partial), 'host')} not fully evaluated"
    if interrupted:
        return result(ExitCode.INTERRUPTED, f"interrupted before every host was audited; {counts}")
    if failing:
        return result(ExitCode.FINDINGS, counts)
    if partial and unreachable == "fail":
        return result(ExitCode.INCOMPLETE, f"audit incomplete: {counts}")
    if partial:
        return result(ExitCode.OK, f"{counts} (--unreachable warn)")
    return result(ExitCode.OK, f"all {count(len(hosts), 'host')} below --fail-on {fail_on}")
