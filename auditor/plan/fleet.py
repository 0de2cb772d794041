"""A fleet's plan: every audited host's plan, then the waves (``make_plan``).

Given the audited hosts (``HostReport``s with their facts), the policy and a ``Target``
(``target.build_target``), ``make_plan`` returns a ``Plan``: per host the ordered steps,
blockers and warnings (``host.plan_host``, each host inside its own boundary), the
rollback target (the host's current versions), and the waves (``waves``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from auditor.inventory import Host
from auditor.plan.host import plan_host
from auditor.plan.model import HostPlan, HostStatus, Plan, PlanSource, Rollout, Target
from auditor.plan.scope import skip_reason
from auditor.plan.waves import apply_skips, assign_waves
from auditor.policy.model import Policy
from auditor.report.isolation import isolated
from auditor.report.model import HostReport, utc_now
from auditor.transport.outcome import AuditStep, HostError


def make_plan(
    reports: Sequence[HostReport],
    hosts: Mapping[str, Host],
    target: Target,
    policy: Policy,
    rollout: Rollout,
    source: PlanSource,
    inventory: str,
    unreachable: str = "fail",
    notes: Sequence[str] = (),
) -> Plan:
    """The plan for ``reports`` (in their order); ``hosts`` gives each host's inventory entry (vars, groups).

    With a stack target, hosts the stack does not apply to are skipped unplanned, with the
    reason (``auditor.plan.scope``). Each host is planned inside the per-host boundary: one whose planning raises is an
    ``error`` in the plan (step ``plan``, traceback in the crash log), left out of the waves.
    """
    plans = []
    for report in reports:
        host = hosts.get(report.name) or report.host
        plans.append(
            isolated(
                AuditStep.PLAN,
                report.name,
                partial(_plan_targeted, report, host, target, policy),
                partial(failed_plan, report.name, report.groups),
            )
        )
    plans = apply_skips(plans, {name: host.vars for name, host in hosts.items()}, rollout)
    plans, waves, wave_notes = assign_waves(plans, rollout)
    return Plan(
        inventory=inventory,
        policy=policy.name,
        target=target,
        hosts=tuple(plans),
        waves=tuple(waves),
        rollout=rollout,
        source=source,
        generated_at=utc_now(),
        notes=(*notes, *wave_notes),
        unreachable=unreachable,
    )


def _plan_targeted(report: HostReport, host: Host, target: Target, policy: Policy) -> HostPlan:
    """The host's plan, or a skipped host when the target's stack does not apply to it."""
    if target.stack is not None:
        gpus = [g.name for g in report.facts.gpus.devices if g.name] if report.facts is not None else None
        why = skip_reason(policy, target.stack, host, gpus)
        if why is not None:
            return HostPlan(report.name, report.groups, HostStatus.SKIPPED, note=why, targeted=False)
    return plan_host(report, host, target, policy)


def failed_plan(name: str, groups: Sequence[str], error: HostError) -> HostPlan:
    """A host whose plan (or its rendering) failed: an ``error`` left out of the waves, the error as its note."""
    return HostPlan(name, tuple(groups), HostStatus.ERROR, note=f"{error.step.value}: {error.message}")


def plan_with_hosts(plan: Plan, hosts: Sequence[HostPlan]) -> Plan:
    """``plan`` with only ``hosts``; waves keep only those of them still planned (for degraded rendering)."""
    planned = {h.name for h in hosts if h.status is HostStatus.PLANNED}
    waves = tuple(
        replace(wave, hosts=kept)
        for wave in plan.waves
        for kept in [tuple(n for n in wave.hosts if n in planned)]
        if kept
    )
    return replace(plan, hosts=tuple(hosts), waves=waves)
