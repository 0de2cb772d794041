"""The readable summary for a terminal, a cron mail or a CI log.

What a person needs first: which fleet and policy, counts per verdict, then only the
hosts that need action, each with its main finding (and how long it has been failing,
when history knows), then the ok hosts by name, and how the run ends (exit code).
Host-supplied strings go into Rich ``Text`` objects, never markup strings, so a GPU
named ``[bold red]x[/]`` prints literally, and every string is ``clean``-ed first (no
escape sequence, line separator or bidirectional control reaches the terminal).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.findings import Verdict
from auditor.report.model import HostReport, Report, failing_for, host_columns, verdict_counts, when
from auditor.report.writers.terminal import VERDICT_STYLE, console_text
from auditor.text import clean, count

OK_NAMES_SHOWN = 12  # beyond this the ok hosts are counted, not listed: the table is for action


def render_table(report: Report, width: int | None = None, color: bool = False) -> str:
    """Header, counts, hosts needing action with their main finding, ok hosts, exit code."""
    return console_text(lambda console: _print_report(console, report), width, color)


def _print_report(console: Console, report: Report) -> None:
    summary = report.summary()
    title = Text("auditor", style="bold")
    title.append(clean(f" · {report.inventory} · policy {report.policy}"))
    console.print(title)
    line = f"{when(report)} · {count(summary['total'], 'host')} in {report.duration_s:.1f}s"
    if report.run_id is not None:
        line += f" · run #{report.run_id}"
    line += f" · {report.knowledge.line()}"
    console.print(Text(line, style="dim"))
    counts = Text()
    for i, (verdict, n) in enumerate(verdict_counts(report)):
        counts.append("  " if i else "")
        counts.append(f"{verdict.value} {n}", style=VERDICT_STYLE[verdict])
    console.print(counts)
    if not report.complete:
        missing = f"; not audited: {', '.join(report.not_audited)}" if report.not_audited else ""
        console.print(Text(clean(f"INCOMPLETE: the run was interrupted{missing}"), style="bold red"))
    for note in report.notes:
        console.print(Text(clean(f"note: {note}"), style="bold"))
    action = report.needing_action
    if action:
        console.print()
        console.print(Text(f"Needs action ({len(action)})", style="bold"))
        console.print(_action_table(report, action))
    ok = [h.name for h in report.hosts if not h.verdict.needs_action]
    if ok:
        console.print()
        shown = ", ".join(ok[:OK_NAMES_SHOWN]) + (
            f" and {len(ok) - OK_NAMES_SHOWN} more" if len(ok) > OK_NAMES_SHOWN else ""
        )
        line_ok = Text(f"OK ({len(ok)}): ", style=VERDICT_STYLE[Verdict.OK])
        line_ok.append(clean(shown))
        console.print(line_ok)
    if report.exit is not None:
        console.print()
        console.print(Text(clean(f"exit {int(report.exit.code)}: {report.exit.reason}"), style="dim"))
    # Rich pads every line to the full width; trailing blanks only clutter mails and logs.


def _action_table(report: Report, hosts: tuple[HostReport, ...]) -> Table:
    """Per host: verdict, name, then the main finding with the stack on a dim second line.

    Two lines per host instead of one column per version: the reason never gets
    squeezed or cut off in an 80-column terminal or a plain-text mail.
    """
    table = Table(show_edge=False, pad_edge=False, show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column("verdict", no_wrap=True)
    table.add_column("host", overflow="fold", max_width=40)
    table.add_column("main finding", overflow="fold", ratio=1)
    for host in hosts:
        cols = host_columns(host)
        live = [f for f in host.findings if not f.waived and f.action.verdict.needs_action]
        why = Text(clean(host.reason))
        if len(live) > 1:
            why.append(f" (+{len(live) - 1} more)", style="dim")
        stack = [
            f"{label} {cols[key]}"
            for label, key in (("driver", "driver"), ("CUDA", "cuda"), ("TensorRT", "tensorrt"), ("GPUs", "gpus"))
            if cols[key]
        ]
        failing = failing_for(host, report.generated_at)
        if failing:
            stack.insert(0, "failing since this run" if failing == "new" else f"failing for {failing}")
        if stack:
            why.append("\n" + clean(" · ".join(stack)), style="dim")
        table.add_row(Text(host.verdict.value.upper(), style=VERDICT_STYLE[host.verdict]), Text(clean(host.name)), why)
    return table
