"""An upgrade plan as Markdown, for the change ticket.

The same sections as the terminal table: target and source, waves, planned hosts
with a steps table each, blocked hosts with reasons, sources and fixes, skipped
hosts (those the target's stack does not apply to in a list of their own, with the
reason), unaudited and compliant hosts, then the exit code. Every dynamic string is escaped
with the report writer's ``md`` (no links, HTML or table structure from a host).
"""

from __future__ import annotations

from auditor.plan.model import COMPONENT_LABELS, HostPlan, HostStatus, Plan
from auditor.plan.writers.table import change, package_list, what
from auditor.report.writers.md import code, md


def render_plan_md(plan: Plan) -> str:
    """The whole plan as one Markdown document (ends with a newline)."""
    summary = plan.summary()
    out = [f"# Upgrade plan: {md(plan.target.name)}", ""]
    facts = [
        f"inventory {md(plan.inventory)}",
        f"policy {md(plan.policy)}",
        md(plan.source.describe()),
        f"exit {int(plan.exit_code)}",
        md(plan.knowledge.line()),
    ]
    out += [" · ".join(facts), ""]
    if plan.target.description:
        out += [md(plan.target.description), ""]
    out += ["| component | target | source |", "|:--|:--|:--|"]
    for component in plan.target.components:
        out.append(
            f"| {md(COMPONENT_LABELS[component.component])} | {md(component.version or '(no version named)')} | {md(component.source)} |"
        )
    if plan.target.image:
        out.append(f"| image | {md(plan.target.image)} | {md(plan.target.image_source)} |")
    for engine in plan.target.engines:
        out.append(f"| engine | {md(engine.template)} | {md(str(engine.location))} |")
    out.append("")
    rollout = (
        f"Waves of up to {plan.batch_size} hosts (max unavailable {md(plan.rollout.max_unavailable)}, "
        f"max parallel {plan.rollout.max_parallel or 'no cap'})"
    )
    if plan.rollout.skip:
        rollout += f"; skip {md(', '.join(plan.rollout.skip))}"
    out += [rollout + ".", ""]
    shown = [s for s in HostStatus if summary[s.value]]
    out += ["| " + " | ".join(s.value for s in shown) + " |", "|" + "--:|" * len(shown)]
    out += ["| " + " | ".join(str(summary[s.value]) for s in shown) + " |", ""]
    for note in plan.notes:
        out += [f"> **Note:** {md(note)}", ""]
    if plan.waves:
        out += ["## Waves", "", "| wave | hosts |", "|:--|:--|"]
        for wave in plan.waves:
            out.append(f"| {code(wave.name)} | {md(', '.join(wave.hosts))} |")
        out.append("")
    planned = sorted(plan.by_status(HostStatus.PLANNED), key=lambda h: h.wave if h.wave is not None else 1 << 30)
    for heading, hosts in (
        ("Planned hosts", planned),
        ("Blocked hosts (left out)", list(plan.by_status(HostStatus.BLOCKED))),
        ("Skipped hosts (left out)", [h for h in plan.by_status(HostStatus.SKIPPED) if h.targeted]),
        ("Inconclusive hosts (no steps, but the plan could not tell)", list(plan.by_status(HostStatus.INCONCLUSIVE))),
    ):
        if hosts:
            out += [f"## {heading}", ""]
            for host in hosts:
                out += _host(host)
    other = plan.not_targeted
    if other:
        out += [f"## Skipped: stack {md(plan.target.stack)} does not apply, not planned ({len(other)})", ""]
        out += [f"- **{md(h.name)}**: {md(h.note)}" for h in other]
        out.append("")
    missing = [h for h in plan.hosts if h.status in (HostStatus.UNREACHABLE, HostStatus.ERROR)]
    if missing:
        out += ["## Not audited (left out)", ""]
        out += [f"- **{md(h.name)}** {h.status.value}: {md(h.note)}" for h in missing]
        out.append("")
    compliant = plan.by_status(HostStatus.COMPLIANT)
    if compliant:
        out += [f"## Compliant, no steps ({len(compliant)})", "", md(", ".join(h.name for h in compliant)), ""]
        for host in (h for h in compliant if h.warnings):
            out += [f"- {md(host.name)}: {md('; '.join(w.message for w in host.warnings))}"]
        if any(h.warnings for h in compliant):
            out.append("")
    out += ["---", "", f"Exit {int(plan.exit_code)}: {md(plan.exit_reason)}", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _host(host: HostPlan) -> list[str]:
    about = [host.status.value.upper()]
    if host.wave is not None:
        about.append(f"wave {host.wave}" + (" (canary)" if host.wave == 0 else ""))
    if host.gpu:
        about.append(md(host.gpu))
    if host.note:
        about.append(md(host.note))
    lines = [f"### {md(host.name)}", "", " · ".join(about), ""]
    if host.steps:
        lines += ["| # | action | what | change | why |", "|--:|:--|:--|:--|:--|"]
        for number, step in enumerate(host.steps, 1):
            lines.append(
                f"| {number} | {step.action.value} | {md(what(step))} | {md(change(step))} | {md(step.reason)} |"
            )
        lines.append("")
    for blocker in host.blockers:
        lines.append(f"- **blocked: {blocker.kind.value}** ({md(blocker.component)}): {md(blocker.reason)}")
        if blocker.fix:
            lines.append(f"  - fix: {md(blocker.fix)}")
        if blocker.source:
            lines.append(f"  - source: {md(blocker.source)}")
    for warning in host.warnings:
        lines.append(
            f"- {'could not tell' if warning.unknown else 'warning'}: {md(warning.message)}"
            + (f" (source: {md(warning.source)})" if warning.source else "")
        )
        lines += [f"  - {md(detail)}" for detail in warning.details]
    if host.rollback is not None:
        versions = host.rollback.versions()
        text = ", ".join(f"{COMPONENT_LABELS[k]} {v}" for k, v in versions.items()) or "nothing recorded"
        lines.append(f"- rollback to: {md(text)}")
    if host.packages:
        lines.append(f"- installs: {md(package_list(host.packages))}")
    if host.rollback is not None and host.rollback.packages:
        lines.append(f"- rollback installs: {md(package_list(host.rollback.packages))}")
    lines.append("")
    return lines
