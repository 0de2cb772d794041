"""The readable summary for a terminal: counts per verdict and one row per host.

Host-supplied strings go into Rich ``Text`` objects, never markup strings, so a GPU
named ``[bold red]x[/]`` prints literally.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.findings import Verdict
from auditor.report import HostReport, Report

VERDICT_STYLE = {
    Verdict.ERROR: "bold magenta",
    Verdict.UNREACHABLE: "bold bright_black",
    Verdict.ROLLBACK: "bold red",
    Verdict.REBOOT: "bold yellow",
    Verdict.UPGRADE: "bold dark_orange",
    Verdict.WARN: "yellow",
    Verdict.OK: "green",
}


def host_columns(host: HostReport) -> dict[str, str]:
    """The short facts shown per host in tables: GPUs, driver, CUDA, TensorRT."""
    facts = host.facts
    if facts is None:
        return {"gpus": "", "driver": "", "cuda": "", "tensorrt": ""}
    names: dict[str, int] = {}
    for gpu in facts.gpus.devices:
        names[gpu.name or "?"] = names.get(gpu.name or "?", 0) + 1
    gpus = ", ".join(f"{n}x {name}" for name, n in names.items())
    if facts.gpus.count == 0:
        gpus = "none"
    toolkit = facts.cuda.default_toolkit
    driver_cuda = facts.driver.cuda_version
    cuda = toolkit.version if toolkit and toolkit.version else ""
    if driver_cuda:
        cuda = f"{cuda} (drv {driver_cuda})" if cuda else f"(drv {driver_cuda})"
    driver = facts.driver.version or facts.driver.status.value
    if facts.driver.mismatch:
        driver = f"{facts.driver.version or '?'} / kmod {facts.driver.kernel_module or '?'}"
    return {"gpus": gpus, "driver": driver, "cuda": cuda, "tensorrt": facts.tensorrt.version or ""}


def render_table(report: Report, width: int | None = None, color: bool = False) -> str:
    """The summary line, then a table of hosts (those needing action first)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 140, color_system="standard" if color else None, highlight=False)
    summary = report.summary()
    counts = "  ".join(f"{v.value} {summary[v.value]}" for v in Verdict if summary[v.value])
    console.print(Text(f"{report.inventory}: {summary['total']} hosts, policy {report.policy}"))
    console.print(Text(counts + ("" if report.complete else "  (INCOMPLETE: interrupted)")))
    for note in report.notes:
        console.print(Text(f"note: {note}", style="bold"))
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for column in ("host", "verdict", "GPUs", "driver", "CUDA", "TensorRT", "why"):
        table.add_column(column, overflow="fold")
    for host in sorted(report.hosts, key=lambda h: (h.verdict.rank, h.name)):
        cols = host_columns(host)
        table.add_row(
            Text(host.name),
            Text(host.verdict.value.upper(), style=VERDICT_STYLE[host.verdict]),
            Text(cols["gpus"]),
            Text(cols["driver"]),
            Text(cols["cuda"]),
            Text(cols["tensorrt"]),
            Text(host.reason),
        )
    console.print(table)
    return buffer.getvalue()
