"""One host in full, as Rich renderables: findings, facts by component, probe stderr and output.

Everything that came from the host goes into ``Text`` objects built from the value
(never parsed as markup) after ``clean`` (no control characters), so hostile names
print literally. The layout reads top-down in the order an operator asks: what is
wrong and what to do (findings with severity, action, remediation and where the rule
came from), then the evidence (facts grouped driver, GPUs, CUDA, cuDNN, TensorRT,
engines, containers, host), then the raw material (stderr, the probe's JSON). A host
whose probe ran but whose output was unusable (not UTF-8, not JSON, a crash) shows
the start of that output as received, escaped (``auditor.text.escape_bytes``), and its
stderr, or says they were empty: the raw material is what explains its error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from auditor.facts.model import Facts
from auditor.findings import Finding
from auditor.records import record
from auditor.report.model import HostReport
from auditor.text import clean, count
from auditor.tui.cells import format_age, safe
from auditor.tui.legend import SEVERITY_STYLE, VERDICT_LOOK, state_text, verdict_text
from auditor.tui.model import HostRow

RAW_LIMIT = 64 * 1024  # the probe's JSON beyond this is cut: the pane is for reading, the JSON report has it all
STDERR_LIMIT = 8 * 1024
LABEL_WIDTH = 16
FACT_LIMIT = 4097  # a fact in full: the facts reader keeps 4,096 characters of a string (and its "…")


def section(title: str) -> Text:
    return Text.assemble(("\n" + title, "bold underline"))


@record
class Row:
    """A label and its value, the value wrapping under itself; consecutive rows share one grid (``_grids``)."""

    left: Text
    right: Text
    width: int = LABEL_WIDTH + 2


def kv(label: str, value: object, style: str = "") -> Row:
    """``label           value``; None and "" show as a dash."""
    shown = "-" if value is None or value == "" else str(value)
    return Row(safe(f"  {label}", 200, "dim"), safe(shown, FACT_LIMIT, style))


def _grids(items: Iterable[RenderableType | Row]) -> list[RenderableType]:
    """Runs of ``Row`` become one two-column grid each: a Rich table per line would make the pane slow to draw."""
    out: list[RenderableType] = []
    grid: Table | None = None
    width = 0
    for item in items:
        if isinstance(item, Row):
            if grid is None or item.width != width:
                grid, width = Table.grid(), item.width
                grid.add_column(width=width, no_wrap=True)
                grid.add_column(ratio=1)
                out.append(grid)
            grid.add_row(item.left, item.right)
        else:
            grid = None
            out.append(item)
    return out


def render_detail(row: HostRow, now: float) -> RenderableType:
    """The whole pane for one host (``now`` is the monotonic clock, for the data age)."""
    report = row.report
    head = Text.assemble(safe(row.name, 1000, "bold"), "  ", safe(row.host.address), "  ")
    if report is not None:
        head.append_text(verdict_text(report.verdict, stale=row.in_flight))
    if row.in_flight:
        head.append("  ")
        head.append_text(state_text(row.state))
    lines: list[RenderableType | Row] = [head]
    meta = [f"groups {', '.join(row.host.groups) or '-'}"]
    if row.updated is not None:
        meta.append(f"data {format_age(now - row.updated)} old")
    if report is not None:
        if report.timing.connect_s is not None:
            meta.append(f"connect {report.timing.connect_s:.2f}s")
        if report.timing.probe_s is not None:
            meta.append(f"probe {report.timing.probe_s:.2f}s")
        if report.failing_since:
            meta.append(f"failing since {report.failing_since}")
    lines.append(safe(" · ".join(meta), 500, "dim"))
    if report is None:
        lines.append(Text("\nNo result yet.", style="italic"))
        return Group(*_grids(lines))
    lines += list(_outcome(report))
    if report.facts is not None:
        lines += list(_facts(report.facts))
    # A host whose probe ran but whose output could not be used: what came back explains the error.
    unusable = report.error is not None and not report.error.step.transport
    if unusable:
        lines.append(section("Probe output (as received; bytes that are not text escaped)"))
        lines.append(Text(report.output or "(nothing)", style="dim"))
    if report.stderr.strip() or unusable:
        lines.append(section("Probe stderr"))
        lines.append(Text(_tail(report.stderr, STDERR_LIMIT) if report.stderr.strip() else "(empty)", style="dim"))
    if report.facts is not None:
        lines.append(section("Probe output (auditor.facts/1)"))
        raw = json.dumps(report.facts.raw, indent=2, ensure_ascii=False)
        if len(raw) > RAW_LIMIT:
            raw = raw[:RAW_LIMIT] + "\n… (cut; the JSON report has all of it)"
        lines.append(Text(raw, style="dim"))
    return Group(*_grids(lines))


def _tail(text: str, limit: int) -> str:
    text = clean(text.strip(), limit * 2, keep_newlines=True)
    return text if len(text) <= limit else "…" + text[-limit:]


def _outcome(report: HostReport) -> Iterable[RenderableType | Row]:
    if report.error is not None:
        yield section("Not audited")
        yield kv("step", report.error.step.value, "bold")
        yield kv("why", report.error.message)
        if report.error.timed_out:
            yield kv("timed out", "yes")
    findings = sorted(report.findings, key=lambda f: (f.waived, f.verdict.rank, -f.severity.rank))
    if report.error is None:
        yield section(f"Findings ({len(findings)})" if findings else "Findings")
        if not findings:
            yield Text(
                f"  {'The' if len(report.checks) == 1 else 'All'} {count(len(report.checks), 'check')} passed.",
                style=VERDICT_LOOK[report.verdict].style,
            )
    for finding in findings:
        yield from _finding(finding)
    if report.not_applicable:
        yield section("Checks that did not apply")
        for check, reason in report.not_applicable:
            yield kv(check, reason, "dim")


def _finding(finding: Finding) -> Iterable[Row]:
    """One finding: verdict glyph, severity and action on the left; what, why and what to do on the right."""
    look = VERDICT_LOOK[finding.verdict]
    left = Text("  ")
    left.append(f"{look.glyph} ", style=look.style)
    left.append(f"{finding.severity.value:<9}", style=SEVERITY_STYLE[finding.severity])
    left.append(finding.action.value, style="bold")
    right: list[Text] = [safe(finding.message, 1000)]
    flags = [flag for flag, on in (("waived", finding.waived), ("inconclusive", finding.inconclusive)) if on]
    if flags:
        right[0].append(f"  ({', '.join(flags)})", style="italic")
    if finding.expected or finding.actual:
        right.append(safe(f"expected {finding.expected or '-'} · found {finding.actual or '-'}", 500))
    if finding.remediation:
        right.append(Text.assemble(("→ ", "bold"), safe(finding.remediation, 1000, "italic")))
    if finding.waived and finding.waiver:
        waiver = ", ".join(f"{k}: {v}" for k, v in finding.waiver.items())
        right.append(safe(f"waiver {waiver}", 500, "dim"))
    origin = f"rule {finding.rule}" + (f" · from {finding.source}" if finding.source else "")
    right.append(safe(origin, 500, "dim"))
    yield Row(left, Text("\n").join(right), width=27)


def _facts(facts: Facts) -> Iterable[RenderableType | Row]:
    d = facts.driver
    yield section("Driver")
    yield kv("version", d.version)
    yield kv("status", d.status.value, "bold" if d.status.value != "ok" else "")
    yield kv("source", d.source)
    yield kv("CUDA supported", d.cuda_version)
    yield kv("kernel module", d.kernel_module, "bold yellow" if d.mismatch else "")
    if d.library_version or d.nvml_version:
        yield kv("library / NVML", f"{d.library_version or '-'} / {d.nvml_version or '-'}")
    for label, value in (("notes", d.notes), ("error", d.error)):
        if value:
            yield kv(label, value, "italic")
    g = facts.gpus
    yield section(f"GPUs ({g.count if g.count is not None else '?'})")
    if g.error:
        yield kv("error", g.error, "italic")
    for gpu in g.devices:
        memory = f"{gpu.memory_total_mib} MiB" if gpu.memory_total_mib is not None else "-"
        modes = f"MIG {gpu.mig_mode or '-'} · ECC {gpu.ecc_mode or '-'} · persistence {gpu.persistence_mode or '-'}"
        where = f" · {gpu.pci_bus_id}" if gpu.pci_bus_id else ""
        yield kv(
            f"GPU {gpu.index if gpu.index is not None else '?'}",  # the name is long: it goes in the value
            f"{gpu.name or '?'} · CC {gpu.compute_capability or '?'} · {memory} · {modes}{where}",
        )
    c = facts.cuda
    yield section("CUDA toolkits")
    if not c.toolkits:
        yield kv("installed", "none")
    for toolkit in c.toolkits:
        default = " (default)" if toolkit.path == c.default else ""
        nvcc = f" · nvcc {toolkit.nvcc_version}" if toolkit.nvcc_version else ""
        yield kv(toolkit.version or "?", f"{toolkit.path}{default} · {toolkit.source or '?'}{nvcc}")
    for compat in c.compat:
        active = " (active)" if compat.active else ""
        yield kv("compat", f"{compat.version or '?'} for CUDA {compat.cuda or '?'}{active} · {compat.path}")
    if c.error:
        yield kv("error", c.error, "italic")
    n = facts.cudnn
    yield section("cuDNN")
    yield kv("version", n.version or "not installed")
    for install in n.installs:
        yield kv(install.source, f"{install.version or '?'} · {install.path or '-'}")
    if n.error:
        yield kv("error", n.error, "italic")
    t = facts.tensorrt
    yield section("TensorRT")
    yield kv("version", t.version or "not installed")
    yield kv("source", t.source)
    if t.header_version:
        yield kv("header", f"{t.header_version} · {t.header_path or '-'}")
    for library in t.libraries:
        yield kv(library.name, f"{library.version or '?'} · {library.path or '-'}")
    for module in t.modules:
        yield kv(f"python {module.module}", module.version or module.error or "?")
    for package in t.packages:
        yield kv(package.manager, f"{package.name} {package.version or '?'}")
    if t.trtexec:
        yield kv("trtexec", t.trtexec)
    if t.error:
        yield kv("error", t.error, "italic")
    yield section(f"Engines ({len(facts.engines.items)})")
    for engine in facts.engines.items:
        load = engine.load.value if engine.load else "not loaded"
        yield kv(
            engine.path, f"{load} · built with TensorRT {engine.header_version or '?'}", "bold" if load != "ok" else ""
        )
        if engine.message:
            yield kv("", engine.message, "dim")
    if facts.engines.error:
        yield kv("error", facts.engines.error, "italic")
    k = facts.containers
    yield section("Containers")
    yield kv("runtime", k.runtime or "none")
    for image in k.images:
        yield kv("image", f"{image.repository}:{image.tag or '?'}")
    for running in k.running:
        yield kv("running", f"{running.name} ({running.image or '?'})")
    if k.error:
        yield kv("error", k.error, "italic")
    h = facts.host
    yield section("Host")
    yield kv("OS", h.os_name)
    yield kv("kernel", f"{h.kernel or '-'} · {h.arch or '-'}")
    yield kv("Python", h.python)
    yield kv("booted", h.boot_time)
    yield kv("probe", f"{facts.probe_version} · collected {facts.collected_at or '-'}")
