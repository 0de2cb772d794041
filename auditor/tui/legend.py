"""How verdicts and sweep states look: a glyph, a word and a colour, never colour alone.

The glyph and the word carry the meaning on a monochrome terminal (htop's rule);
the colours match the headless table (``auditor.report.writers.table``) so a host
looks the same in cron mail and on screen. The help screen prints this legend.
"""

from __future__ import annotations

from rich.text import Text

from auditor.findings import Severity, Verdict
from auditor.records import record
from auditor.report.writers.terminal import VERDICT_STYLE
from auditor.transport.outcome import HostState


@record
class Look:
    """One verdict's or state's glyph, style and what it means to an operator."""

    glyph: str
    style: str
    meaning: str


VERDICT_LOOK: dict[Verdict, Look] = {
    Verdict.ERROR: Look("✖", VERDICT_STYLE[Verdict.ERROR], "the probe ran but its output could not be used"),
    Verdict.UNREACHABLE: Look(
        "○", VERDICT_STYLE[Verdict.UNREACHABLE], "not audited: connect, auth, host key or timeout (see the step)"
    ),
    Verdict.ROLLBACK: Look("↓", VERDICT_STYLE[Verdict.ROLLBACK], "a version above the allowed range or on a deny list"),
    Verdict.REBOOT: Look("↻", VERDICT_STYLE[Verdict.REBOOT], "driver and kernel module differ: reboot to load it"),
    Verdict.UPGRADE: Look(
        "↑", VERDICT_STYLE[Verdict.UPGRADE], "below a floor, a component missing, or an engine that will not load"
    ),
    Verdict.WARN: Look("▲", VERDICT_STYLE[Verdict.WARN], "somebody should look; nothing blocks serving"),
    Verdict.OK: Look("✓", VERDICT_STYLE[Verdict.OK], "everything the policy asks for holds"),
}

STATE_LOOK: dict[HostState, Look] = {
    HostState.QUEUED: Look("·", "dim", "waiting for a free connection slot"),
    HostState.CONNECTING: Look("⇄", "cyan", "TCP, key exchange, host-key check, authentication"),
    HostState.PROBING: Look("◐", "bold cyan", "the probe is running on the host"),
    HostState.DONE: Look("", "", "the probe's output arrived and was assessed"),
    HostState.FAILED: Look("", "", "the host could not be probed (its verdict says why)"),
}

SEVERITY_STYLE: dict[Severity, str] = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}

IN_FLIGHT = (HostState.QUEUED, HostState.CONNECTING, HostState.PROBING)


def verdict_text(verdict: Verdict, stale: bool = False) -> Text:
    """``✓ OK`` in the verdict's colour; dimmed while a newer probe of the host is under way."""
    look = VERDICT_LOOK[verdict]
    text = Text(f"{look.glyph} {verdict.value.upper()}", style=look.style)
    if stale:
        text.stylize("dim")
    return text


def state_text(state: HostState) -> Text:
    """``◐ probing``: where a host without a verdict is in the sweep."""
    look = STATE_LOOK[state]
    return Text(f"{look.glyph} {state.value}", style=look.style)


def counts_text(counts: dict[Verdict, int], words: bool) -> Text:
    """Non-zero counts per verdict, most urgent first: ``✖ 1 error  ✓ 5 ok`` or ``✖1 ✓5``."""
    text = Text()
    for verdict in Verdict:
        count = counts.get(verdict, 0)
        if not count:
            continue
        if text:
            text.append("  " if words else " ")
        look = VERDICT_LOOK[verdict]
        label = f"{look.glyph} {count} {verdict.value}" if words else f"{look.glyph}{count}"
        text.append(label, style=look.style)
    return text
