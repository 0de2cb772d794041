"""An upgrade plan for a terminal or a change-review mail: target, waves, then host by host.

Order follows what a reviewer asks: what is the target and where do the facts come
from; which waves, canary first; per planned host its numbered steps, warnings and
rollback versions; then the blocked hosts with each blocker's reason, source and
fix; then the skipped ones (those the target's stack does not apply to apart, one
line each with the reason), the unaudited and the compliant ones; then the exit code. Every
string goes into a Rich ``Text``, never markup, so a host cannot inject styles.
``plan_lines`` is shared with the TUI's plan view.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from auditor.plan.model import (
    COMPONENT_LABELS,
    HostPlan,
    HostStatus,
    PackageSource,
    PackageVersion,
    Plan,
    PlanStep,
    StepAction,
)
from auditor.report.writers.terminal import clean_text, console_text
from auditor.text import count

STATUS_STYLE = {
    HostStatus.PLANNED: "bold dark_orange",
    HostStatus.COMPLIANT: "green",
    HostStatus.BLOCKED: "bold red",
    HostStatus.SKIPPED: "yellow",
    HostStatus.UNREACHABLE: "bold bright_black",
    HostStatus.ERROR: "bold magenta",
    HostStatus.INCONCLUSIVE: "bold yellow",
}
ACTION_STYLE = {
    StepAction.INSTALL: "cyan",
    StepAction.UPGRADE: "cyan",
    StepAction.DOWNGRADE: "magenta",
    StepAction.REBOOT: "bold yellow",
    StepAction.REBUILD_ENGINE: "blue",
    StepAction.REMOVE_COMPAT: "magenta",
}
COMPLIANT_NAMES_SHOWN = 12


def change(step: PlanStep) -> str:
    """``535.104.05 → 580.95.05``, ``→ 10.13.3.9`` (install), ``535.104.05`` (remove), or ``""``."""
    if step.from_ and step.to:
        return f"{step.from_} → {step.to}"
    if step.to:
        return f"→ {step.to}"
    return step.from_ or ""


def what(step: PlanStep) -> str:
    """The component a step changes, with the engine path or package path it acts on."""
    label = COMPONENT_LABELS.get(step.component, step.component)
    if step.path:
        cc = f" (CC {step.compute_capability})" if step.compute_capability else ""
        return f"{label} {step.path}{cc}"
    return label


def target_line(plan: Plan) -> Text:
    """``target serving-2026 · driver 580.95.05 · CUDA toolkit 13.0.2 · ...`` (cleaned by ``plan_lines``)."""
    line = Text("target ", style="bold")
    line.append(plan.target.name, style="bold")
    for component in plan.target.components:
        line.append(f" · {COMPONENT_LABELS[component.component]} {component.version or '(no version named)'}")
    if plan.target.image:
        line.append(f" · image {plan.target.image}")
    if plan.target.engines:
        line.append(f" · engines {', '.join(e.template for e in plan.target.engines)}")
    return line


def host_block(host: HostPlan) -> list[RenderableType]:
    """One host: heading, steps table, blockers, warnings and rollback versions."""
    head = Text(host.name, style="bold")
    head.append("  ")
    head.append(host.status.value.upper(), style=STATUS_STYLE[host.status])
    if host.wave is not None:
        head.append(f" · wave {host.wave}{' (canary)' if host.wave == 0 else ''}")
    if host.gpu:
        head.append(f" · {host.gpu}", style="dim")
    if host.note:
        head.append(f" · {host.note}")
    out: list[RenderableType] = [head]
    if host.steps:
        # Two lines per step: what changes, then why (dim), so the reason is never squeezed into a column.
        table = Table(show_edge=False, pad_edge=False, show_header=False, box=None, padding=(0, 1, 0, 0))
        table.add_column("n", justify="right", no_wrap=True, min_width=4)
        table.add_column("step", overflow="fold", ratio=1)
        for number, step in enumerate(host.steps, 1):
            body = Text(f"{step.action.value:<15}", style=ACTION_STYLE[step.action])
            body.append(what(step))
            if change(step):
                body.append(f"  {change(step)}", style="bold")
            body.append(f"\n{step.reason}", style="dim")
            table.add_row(Text(f"{number}."), clean_text(body))
        out.append(table)
    for blocker in host.blockers:
        line = Text("  ✗ ", style="bold red")
        line.append(f"{blocker.kind.value} ({blocker.component}): ", style="bold")
        line.append(blocker.reason)
        out.append(line)
        if blocker.fix:
            out.append(Text(f"    fix: {blocker.fix}"))
        if blocker.source:
            out.append(Text(f"    source: {blocker.source}", style="dim"))
    for warning in host.warnings:
        line = Text("  ? could not tell: " if warning.unknown else "  ! ", style="yellow")
        line.append(warning.message)
        if warning.source:
            line.append(f" [{warning.source}]", style="dim")
        out.append(line)
    if host.rollback is not None and (host.steps or host.blockers):
        versions = host.rollback.versions()
        text = " · ".join(f"{COMPONENT_LABELS[k]} {v}" for k, v in versions.items()) or "nothing recorded"
        out.append(Text(f"  rollback to: {text}", style="dim"))
    if host.packages:
        out.append(Text(f"  installs: {package_list(host.packages)}", style="dim"))
    if host.rollback is not None and host.rollback.packages and (host.steps or host.blockers):
        out.append(Text(f"  rollback installs: {package_list(host.rollback.packages)}", style="dim"))
    return [hanging(item) if isinstance(item, Text) else item for item in out]


def hanging(line: Text) -> RenderableType:
    """``line`` cleaned, its leading blanks made a left margin: a long line wraps under its own start, not at column 0."""
    indent = len(line.plain) - len(line.plain.lstrip(" "))
    if not indent:
        return clean_text(line)
    return Padding(clean_text(line[indent:]), (0, 0, 0, indent))


def plan_lines(plan: Plan) -> list[RenderableType]:
    """The whole plan as Rich renderables (the terminal writer and the TUI both print these)."""
    summary = plan.summary()
    out: list[RenderableType] = []
    title = Text("auditor plan", style="bold")
    title.append(f" · {plan.inventory} · policy {plan.policy}")
    out.append(title)
    out.append(target_line(plan))
    if plan.target.description:
        out.append(Text(plan.target.description, style="dim"))
    size = count(summary["total"], "host")
    if summary["not_targeted"]:
        size += f" ({summary['total'] - summary['not_targeted']} the stack applies to)"
    rollout = (
        f"from {plan.source.describe()} · {size} · waves of up to {plan.batch_size} "
        f"(max unavailable {plan.rollout.max_unavailable}, max parallel {plan.rollout.max_parallel or 'no cap'})"
    )
    if plan.rollout.skip:
        rollout += f" · skip {', '.join(plan.rollout.skip)}"
    rollout += f" · {plan.knowledge.line()}"
    out.append(Text(rollout, style="dim"))
    counts = Text()
    for status in HostStatus:
        if summary[status.value]:
            counts.append("  " if counts.plain else "")
            counts.append(f"{status.value} {summary[status.value]}", style=STATUS_STYLE[status])
    out.append(counts)
    for note in plan.notes:
        out.append(Text(f"note: {note}", style="bold"))
    if plan.waves:
        out.append(Text(""))
        out.append(Text(f"Waves ({len(plan.waves)})", style="bold"))
        for wave in plan.waves:
            line = Text(f"  {wave.name}: ", style="bold" if wave.canary else "")
            line.append(", ".join(wave.hosts))
            out.append(line)
    sections = (
        ("Planned", [h for h in plan.hosts if h.status is HostStatus.PLANNED]),
        ("Blocked: left out of the waves", list(plan.by_status(HostStatus.BLOCKED))),
        ("Skipped: left out of the waves", [h for h in plan.by_status(HostStatus.SKIPPED) if h.targeted]),
        ("Inconclusive: no steps, but the plan could not tell", list(plan.by_status(HostStatus.INCONCLUSIVE))),
    )
    for heading, hosts in sections:
        if not hosts:
            continue
        if heading == "Planned":
            hosts.sort(key=lambda h: h.wave if h.wave is not None else 1 << 30)
        out.append(Text(""))
        out.append(Text(f"{heading} ({len(hosts)})", style="bold"))
        for host in hosts:
            out.extend(host_block(host))
    other = plan.not_targeted
    if other:
        out.append(Text(""))
        out.append(Text(f"Skipped: stack {plan.target.stack} does not apply, not planned ({len(other)})", style="bold"))
        for host in other:
            line = Text(f"  {host.name}  ")
            line.append("SKIPPED", style=STATUS_STYLE[HostStatus.SKIPPED])
            line.append(f" · {host.note or ''}")
            out.append(line)
    missing = [h for h in plan.hosts if h.status in (HostStatus.UNREACHABLE, HostStatus.ERROR)]
    if missing:
        out.append(Text(""))
        out.append(Text(f"Not audited: left out ({len(missing)})", style="bold"))
        for host in missing:
            line = Text(f"  {host.name}  ")
            line.append(host.status.value.upper(), style=STATUS_STYLE[host.status])
            line.append(f" · {host.note or ''}")
            out.append(line)
    compliant = [h for h in plan.hosts if h.status is HostStatus.COMPLIANT]
    if compliant:
        out.append(Text(""))
        names = [h.name for h in compliant]
        shown = ", ".join(names[:COMPLIANT_NAMES_SHOWN])
        if len(names) > COMPLIANT_NAMES_SHOWN:
            shown += f" and {len(names) - COMPLIANT_NAMES_SHOWN} more"
        line = Text(f"Compliant, no steps ({len(names)}): ", style=STATUS_STYLE[HostStatus.COMPLIANT])
        line.append(shown)
        out.append(line)
        for host in (h for h in compliant if h.warnings):
            line = Text(f"  {host.name}: ", style="dim")
            line.append("; ".join(w.message for w in host.warnings), style="dim")
            out.append(line)
    out.append(Text(""))
    out.append(Text(f"exit {int(plan.exit_code)}: {plan.exit_reason}", style="dim"))
    return [hanging(item) if isinstance(item, Text) else item for item in out]


def render_plan_table(plan: Plan, width: int | None = None, color: bool = False) -> str:
    """The plan as plain (or ANSI-coloured) text, trailing blanks trimmed, ending with a newline."""
    return console_text(lambda console: console.print(Group(*plan_lines(plan))), width, color)


def package_list(packages: Sequence[PackageVersion]) -> str:
    """``name=version`` per package, with where a rollback version comes from when it is not a repository."""
    marks = {PackageSource.CACHE: " (from the cache)", PackageSource.NONE: " (gone)", PackageSource.UNKNOWN: " (?)"}
    return ", ".join(f"{p.name}={p.version}{marks.get(p.source, '') if p.source else ''}" for p in packages)
