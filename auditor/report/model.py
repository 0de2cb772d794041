"""The audit report: one value (``auditor.report/1``) that every writer renders, and its hosts' reports.

Also the short views of it every writer and front end shows the same way: a host's
columns (``host_columns``), the counts per verdict, the run's time, how long a host has
been failing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from datetime import datetime, timezone
from typing import Any

from auditor.facts.model import Facts
from auditor.facts.stack import stack_of
from auditor.findings import Finding, Verdict, main_finding
from auditor.inventory import Host
from auditor.records import record
from auditor.report.exitcodes import ExitDecision
from auditor.transport.outcome import HostError, Timing

SCHEMA = "auditor.report/1"


@record
class HostReport:
    """One host's result: verdict, findings, the facts they came from, or why there are none.

    ``host`` is the inventory's host the report is about (read back from a stored report:
    its name, address and groups).
    """

    host: Host
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    checks: tuple[str, ...] = ()
    facts: Facts | None = None
    error: HostError | None = None
    timing: Timing = field(default_factory=Timing)
    stderr: str = ""
    failing_since: str | None = None
    """When the host's current streak of not-ok verdicts began (ISO 8601 UTC, from history)."""
    not_applicable: tuple[tuple[str, str], ...] = ()
    """Checks that did not apply to this host, each with why: ``(check id, reason)``."""
    output: str = ""
    """When the probe ran but its output could not be used (step ``probe``, ``parse``, ``evaluate``): the start of
    what it printed, escaped (``auditor.text.escape_bytes``), so a reader sees what went wrong; "" otherwise."""

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def address(self) -> str:
        return self.host.address

    @property
    def groups(self) -> tuple[str, ...]:
        return self.host.groups

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

    def to_json(self, facts: Callable[[Facts], Any] | None = None) -> dict[str, Any]:
        """The host as ``auditor.report/1`` data; ``facts`` turns its facts into the value stored
        (default: ``Facts.raw``, the decoded document)."""
        return {
            "name": self.name,
            "address": self.address,
            "groups": list(self.groups),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "findings": [f.to_json() for f in self.findings],
            "checks": list(self.checks),
            "facts": None if self.facts is None else (facts(self.facts) if facts else self.facts.raw),
            "timing": {"connect_s": self.timing.connect_s, "probe_s": self.timing.probe_s},
            "error": self.error.to_json() if self.error else None,
            "stderr": self.stderr or None,
            "failing_since": self.failing_since,
            "not_applicable": [{"check": check, "reason": reason} for check, reason in self.not_applicable],
            "output": self.output or None,
        }


def utc_now() -> str:
    """The current UTC time as ISO 8601 with a Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@record
class KnowledgeStamp:
    """The knowledge's as-of date and the site overlay behind a report, as every writer shows them."""

    as_of: str
    overlay: str | None = None
    """The overlay directory, or None for the bundled knowledge alone."""
    site_changes: tuple[str, ...] = ()
    """What the overlay added or overrode: ``"added gpu-compute-capability NVIDIA A10G (file:line)"``."""

    @classmethod
    def current(cls) -> KnowledgeStamp:
        """The knowledge in use now (bundled plus any overlay)."""
        from auditor.knowledge import tables

        about = tables.about()
        site = about.site
        changes = tuple(f"{c.action} {c.table} {c.key} ({c.location})" for c in site.changes) if site else ()
        return cls(about.as_of.isoformat(), site.directory if site else None, changes)

    def line(self) -> str:
        """``knowledge as of 2026-12-04`` (``+ site overlay DIR (3 entries)``)."""
        text = f"knowledge as of {self.as_of}"
        if self.overlay:
            count = len(self.site_changes)
            text += f" + site overlay {self.overlay} ({count} {'entry' if count == 1 else 'entries'})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "overlay": self.overlay, "site_changes": list(self.site_changes)}


@record
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
    not_audited: tuple[str, ...] = ()
    """Targeted hosts with no result because the run was interrupted first."""
    run_id: int | None = None
    """This run's number in the history database (None with ``--no-history``)."""
    exit: ExitDecision | None = None
    """The exit code of the run and why (None when no front end decided one)."""
    knowledge: KnowledgeStamp = field(default_factory=lambda: KnowledgeStamp.current())
    """How current the NVIDIA knowledge the verdicts rest on is, and the site overlay used."""

    def summary(self) -> dict[str, int]:
        """``{"total": N, "<verdict>": count, ...}`` with every verdict present (zeros too)."""
        counts = {"total": len(self.hosts)}
        counts.update({v.value: 0 for v in Verdict})
        for host in self.hosts:
            counts[host.verdict.value] += 1
        return counts

    @property
    def needing_action(self) -> tuple[HostReport, ...]:
        """Hosts whose verdict is not ok, most urgent first."""
        return tuple(sorted((h for h in self.hosts if h.verdict.needs_action), key=lambda h: (h.verdict.rank, h.name)))


def parse_time(text: str) -> datetime:
    """An ISO 8601 UTC time as written by ``utc_now`` (a trailing Z or an offset)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def age(since: str, now: str) -> str:
    """How long from ``since`` to ``now``, coarsely: ``"3d 4h"``, ``"2h 5m"``, ``"40s"``."""
    seconds = max(0, int((parse_time(now) - parse_time(since)).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def failing_for(host: HostReport, now: str) -> str:
    """``"3d 4h"``; ``"new"`` when the run at ``now`` is the first to see it failing; ``""`` if ok."""
    if not host.failing_since:
        return ""
    if host.failing_since == now:
        return "new"
    return age(host.failing_since, now)


def failing_since_text(host: HostReport, now: str) -> str:
    """``"since 2026-11-20 06:00 UTC (for 1d 0h)"``, ``"since this run"``, or ``""`` if ok."""
    if not host.failing_since:
        return ""
    if host.failing_since == now:
        return "since this run"
    try:
        moment = parse_time(host.failing_since).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        moment = host.failing_since
    return f"since {moment} (for {age(host.failing_since, now)})"


def host_columns(host: HostReport) -> dict[str, str]:
    """The short facts shown per host in tables: GPUs, driver, CUDA, TensorRT."""
    facts = host.facts
    if facts is None:
        return {"gpus": "", "driver": "", "cuda": "", "tensorrt": ""}
    stack = stack_of(facts)
    cuda = stack.cuda or ""
    if stack.cuda_driver:
        cuda = f"{cuda} (drv {stack.cuda_driver})" if cuda else f"(drv {stack.cuda_driver})"
    driver = stack.driver or facts.driver.status.value
    if facts.driver.mismatch:
        driver = f"{stack.driver or '?'} / kmod {stack.kernel_module or '?'}"
    return {"gpus": stack.gpus, "driver": driver, "cuda": cuda, "tensorrt": stack.tensorrt or ""}


def verdict_counts(report: Report) -> list[tuple[Verdict, int]]:
    """Non-zero counts per verdict, most urgent first."""
    summary = report.summary()
    return [(v, summary[v.value]) for v in Verdict if summary[v.value]]


def when(report: Report) -> str:
    """``2026-11-21 06:00 UTC``: the run's time for people."""
    try:
        return parse_time(report.generated_at).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return report.generated_at
