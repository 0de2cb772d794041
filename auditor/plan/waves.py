"""Rollout: which planned hosts go together, canary first, in the GPU Operator's vocabulary.

* **Skip**: ``--skip PATTERN`` (a glob over host and group names) and the host
  variable ``audit_skip_upgrade: true`` (the GPU Operator's skip label) leave a host
  out; it keeps its steps, so the plan still shows what it would need.
* **Batch size**: ``--max-unavailable`` (a count, or a percentage of every host
  targeted, rounded up, at least 1) capped by ``--max-parallel`` (0: no cap). Hosts
  that are already unreachable are not counted against it (gpu-operator#2820 asks
  the same of cordoned nodes), so a dead host never stalls a rollout. Hosts the
  target's stack does not apply to (``scope``) are not targeted and not counted.
* **Canary** (wave 0): one host per GPU model and group, chosen greedily (the host
  covering most uncovered model/group pairs first, inventory order on ties), never
  more than the batch size; pairs left without a canary are named in a note. A host
  whose GPUs could not be listed stands for no model and is a canary only when no planned
  host's GPUs could be listed (then the first one goes alone, and a note says so).
* **Waves 1..n**: the remaining planned hosts in inventory order, one batch each.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from auditor.plan.model import HostPlan, HostStatus, Rollout, Wave
from auditor.text import count

SKIP_VAR = "audit_skip_upgrade"
_TRUE = {"true", "yes", "on", "1", "y"}


def skip_reason(plan: HostPlan, host_vars: Mapping[str, Any], rollout: Rollout) -> str | None:
    """Why the host is skipped (a ``--skip`` pattern or the host variable), else None."""
    names = (plan.name, *plan.groups)
    for pattern in rollout.skip:
        if any(fnmatch.fnmatchcase(name, pattern) for name in names):
            return f"--skip {pattern}"
    value = host_vars.get(SKIP_VAR)
    if value is True or (isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE):
        return f"host variable {SKIP_VAR}: {value}"
    return None


def apply_skips(
    plans: Sequence[HostPlan], host_vars: Mapping[str, Mapping[str, Any]], rollout: Rollout
) -> list[HostPlan]:
    """Mark planned hosts that a skip names as skipped (blocked and compliant hosts keep their status)."""
    result = []
    for plan in plans:
        why = skip_reason(plan, host_vars.get(plan.name, {}), rollout) if plan.status is HostStatus.PLANNED else None
        result.append(replace(plan, status=HostStatus.SKIPPED, note=why) if why else plan)
    return result


def assign_waves(plans: Sequence[HostPlan], rollout: Rollout) -> tuple[list[HostPlan], list[Wave], list[str]]:
    """Waves for the planned hosts; returns the plans with their wave set, the waves, and notes."""
    eligible = [p for p in plans if p.status is HostStatus.PLANNED]
    if not eligible:
        return list(plans), [], []
    size = rollout.batch_size(sum(1 for p in plans if p.targeted))
    # A canary stands for a GPU model: a host whose GPUs could not be listed represents none.
    pairs = {p.name: _pairs(p) if p.gpu else set() for p in eligible}
    uncovered: set[tuple[str, str]] = set().union(*pairs.values())
    canary: list[HostPlan] = []
    while uncovered and len(canary) < size:
        candidates = [p for p in eligible if p not in canary]
        best = max(candidates, key=lambda p: len(pairs[p.name] & uncovered), default=None)
        if best is None or not pairs[best.name] & uncovered:
            break
        canary.append(best)
        uncovered -= pairs[best.name]
    notes = []
    if uncovered:
        left = ", ".join(f"{gpu} in {group}" for gpu, group in sorted(uncovered))
        notes.append(
            f"the canary wave holds at most {count(size, 'host')} (--max-unavailable/--max-parallel); no canary for: {left}"
        )
    if not canary:  # no planned host's GPUs could be listed: the first one goes alone, still first
        canary = eligible[:1]
        notes.append(
            f"no planned host's GPUs could be listed to stand for a model: the canary is {canary[0].name} alone"
        )
    rest = [p for p in eligible if p not in canary]
    batches = [canary] + [rest[i : i + size] for i in range(0, len(rest), size)]
    waves = [Wave(number, tuple(p.name for p in batch)) for number, batch in enumerate(batches)]
    wave_of = {name: wave.number for wave in waves for name in wave.hosts}
    return [replace(p, wave=wave_of.get(p.name)) for p in plans], waves, notes


def _pairs(plan: HostPlan) -> set[tuple[str, str]]:
    groups = [g for g in plan.groups if g != "all"] or ["(no group)"]
    return {(plan.gpu or "", group) for group in groups}
