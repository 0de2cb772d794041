"""Engines after a plan: which TensorRT plans will not load, and the rebuild step for each.

A plan (engine) is locked to the TensorRT build that made it and to its GPU's
compute capability (``knowledge/engine_portability.yaml``). The runtime after the
plan is the target's TensorRT, else the TensorRT inside the target's NGC image,
else the host's current one. An engine needs rebuilding when its header names
another TensorRT than that runtime, when it is missing, when its header cannot
tell and the runtime changes (plans before 8.6), or when it already fails with a
device or platform mismatch (a plan built for another compute capability needs
rebuilding whatever the runtime, known or not). What the plan cannot tell (a
test-load that timed out, an image whose TensorRT the knowledge base lacks) goes to
``unknown``: the host is then inconclusive, never compliant.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor import versions
from auditor.facts.model import EngineFacts, EngineLoad, Facts
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import GpuSpec
from auditor.plan.model import PlanStep, StepAction, Target
from auditor.policy.model import engine_path

_REBUILD_LOADS = (EngineLoad.DEVICE_MISMATCH, EngineLoad.CORRUPT)
_UNTOLD_LOADS = (EngineLoad.TIMEOUT, EngineLoad.CRASHED, EngineLoad.SKIPPED)


def engine_steps(
    unknown: Callable[[str, str | None], None],
    facts: Facts,
    gpus: list[GpuSpec],
    trt_after: str | None,
    now: str | None,
    target: Target,
) -> list[PlanStep]:
    """One rebuild step per engine that will not load after the plan; what cannot be told goes to ``unknown``.

    ``trt_after`` is the host's TensorRT after the plan, ``now`` before it.
    """
    steps: list[PlanStep] = []
    runtime, where = _runtime(target, trt_after, now)
    changes = runtime is not None and not (now and versions.matches(now, runtime))
    exact = trt_kb.portability_rule("exact-version")
    exact_cite = tables.table("engine_portability").cite(exact[1]) if exact else None
    for item in facts.engines.items:
        cc = _engine_cc(item, facts, gpus)
        outcome = trt_kb.engine_outcome(item.load.value) if item.load else None
        header = item.header_version if item.header_version and versions.is_version(item.header_version) else None
        why: tuple[str, str | None] | None = None
        if item.error and not item.exists:  # the probe could not look at it (no compute capability, say)
            for path, gpu_cc in _paths(item, gpus):
                if changes:
                    reason = (
                        f"the probe could not check it ({item.error}); build it with TensorRT {runtime}, "
                        "which no plan from before the change loads in"
                    )
                    steps.append(_rebuild(None, runtime, reason, path, gpu_cc, exact_cite))
                else:
                    unknown(f"{path}: the probe could not check it ({item.error})", None)
        elif not item.exists or item.load is EngineLoad.NOT_FOUND:
            why = f"no plan at this path: build it with TensorRT {runtime or '?'} for this GPU", None
        elif item.load is EngineLoad.DEVICE_MISMATCH and outcome is not None:
            # built for another compute capability: it fails whatever the TensorRT (known or not)
            why = (f"{outcome.text} ({outcome.rule_text})" if outcome.rule_text else outcome.text), outcome.cite
        elif runtime is None:
            unknown(f"{item.path}: {where}; whether it loads there cannot be told", target.image_source)
        elif header and not versions.matches(header, runtime):
            reason = f"built by TensorRT {header}, the runtime will be {runtime} ({where}): {exact[0] if exact else ''}"
            if trt_kb.version_compatible_load(header, runtime):
                reason += f"; unless it was built version-compatible (8.6 or later), which would load in {runtime}"
            why = reason, exact_cite
        elif header is None and changes:
            reason = f"its header does not say which TensorRT built it (plans before 8.6), and the runtime changes to {runtime}"
            why = reason, exact_cite
        elif item.load in _REBUILD_LOADS and outcome is not None:
            why = (f"{outcome.text} ({outcome.rule_text})" if outcome.rule_text else outcome.text), outcome.cite
        elif item.load in _UNTOLD_LOADS or (item.load is not EngineLoad.OK and not changes and outcome is not None):
            told = outcome.text if outcome else "not test-loaded"
            unknown(f"{item.path}: {told}; the plan cannot tell if it loads", None)
        if why is not None:
            steps.append(_rebuild(header, runtime, why[0], item.path, cc, why[1]))
    reported = {path for item in facts.engines.items for path, _ in _paths(item, gpus)}
    for engine in target.engines:
        for gpu in gpus:
            expanded = _expand(engine.template, gpu)
            if expanded is not None and expanded not in reported:
                unknown(
                    f"{expanded} (engine {engine.template} of the target) was not probed on this host",
                    str(engine.location),
                )
    return steps


def _rebuild(
    header: str | None, runtime: str | None, reason: str, path: str, cc: str | None, source: str | None
) -> PlanStep:
    return PlanStep(StepAction.REBUILD_ENGINE, "engine", header, runtime, reason, path, cc, source)


def _paths(item: EngineFacts, gpus: list[GpuSpec]) -> list[tuple[str, str | None]]:
    """An engine's path per GPU model, expanded here when the probe could not (a template left as is)."""
    if item.template and "{" in item.path:
        expanded = {(p, g.cc) for g in gpus for p in [_expand(item.template, g)] if p is not None}
        if expanded:
            return sorted(expanded)
    ccs = {g.cc for g in gpus if g.cc}
    return [(item.path, ccs.pop() if len(ccs) == 1 else None)]


def _runtime(target: Target, trt_after: str | None, now: str | None) -> tuple[str | None, str]:
    """The TensorRT engines will load in after the plan, and where it comes from."""
    if target.component("tensorrt") is not None or not target.image:
        return trt_after, "the host's TensorRT"
    box = trt_kb.container(target.image)
    if box is not None and box.tensorrt:
        return box.tensorrt, f"the TensorRT in {target.image}"
    return None, f"the TensorRT inside {target.image} is not in the knowledge base"


def _expand(template: str, gpu: GpuSpec) -> str | None:
    if not gpu.name or not gpu.cc:
        return None
    try:
        return engine_path(template, gpu.name, gpu.cc)
    except (KeyError, ValueError, IndexError):  # a template string the host echoed back: untrusted
        return None


def _engine_cc(item: EngineFacts, facts: Facts, gpus: list[GpuSpec]) -> str | None:
    """The compute capability an engine is for: its template's GPU, the GPU it loaded on, or the host's only one."""
    if item.template:
        for gpu in gpus:
            if _expand(item.template, gpu) == item.path:
                return gpu.cc
    if item.load_gpu is not None:
        device = next((d for d in facts.gpus.devices if d.index == item.load_gpu), None)
        if device is not None and device.compute_capability:
            return device.compute_capability
    ccs = {g.cc for g in gpus if g.cc}
    return ccs.pop() if len(ccs) == 1 else None
