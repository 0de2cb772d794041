"""The detail pane: one host's verdict, why, its findings and key facts.

Everything that came from the host is put into ``Text`` objects (never parsed
as markup), so hostile names print literally.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from auditor.report import HostReport
from auditor.report.table_writer import VERDICT_STYLE, host_columns


def render_host(report: HostReport | None, name: str, state: str) -> RenderableType:
    """The pane's content for one host (``report`` None while it is still being probed)."""
    if report is None:
        return Text.assemble((name, "bold"), f"  {state}…")
    lines: list[RenderableType] = [
        Text.assemble(
            (report.name, "bold"),
            f"  {report.address}  ",
            (report.verdict.value.upper(), VERDICT_STYLE[report.verdict]),
            f"  groups: {', '.join(report.groups) or '-'}",
        )
    ]
    if report.error is not None:
        lines.append(Text(f"{report.error.step.value}: {report.error.message}", style="bold"))
        if report.stderr.strip():
            lines.append(Text("stderr: " + report.stderr.strip()[-500:], style="dim"))
    columns = host_columns(report)
    if report.facts is not None:
        facts = report.facts
        lines.append(
            Text(
                f"driver {columns['driver'] or '-'} ({facts.driver.source or '?'})   CUDA {columns['cuda'] or '-'}   "
                f"TensorRT {columns['tensorrt'] or '-'}   GPUs {columns['gpus'] or '-'}   "
                f"{facts.host.os_name or ''} / Python {facts.host.python or '?'}",
                style="dim",
            )
        )
    if not report.findings and report.error is None:
        lines.append(Text(f"All {len(report.checks)} checks passed.", style="green"))
    for finding in sorted(report.findings, key=lambda f: (f.verdict.rank, -f.severity.rank)):
        head = Text.assemble(
            ("• ", VERDICT_STYLE[finding.verdict]),
            (f"{finding.severity.value:<8}", "bold"),
            f" {finding.action.value:<14} ",
            finding.message,
        )
        if finding.waived:
            head.append("  (waived)", style="italic")
        lines.append(head)
        detail = []
        if finding.expected or finding.actual:
            detail.append(f"expected {finding.expected or '-'}, found {finding.actual or '-'}")
        if finding.source:
            detail.append(f"from {finding.source}")
        if detail:
            lines.append(Text("    " + "; ".join(detail), style="dim"))
        if finding.remediation:
            lines.append(Text("    → " + finding.remediation, style="italic"))
    return Group(*lines)
