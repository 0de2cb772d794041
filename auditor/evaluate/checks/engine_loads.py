"""Rule check ``<rule>/engines``: the engines a rule requires load on the host (the probe's test-loads).

A policy names engines as path templates with ``{cc}`` ("8.0"), ``{sm}`` ("sm80")
and ``{gpu}`` (the GPU name as a slug: "nvidia-a100-sxm4-80gb"). The controller sends
the templates to the probe, which expands them per GPU model on the host and reports
each path with the ``template`` it came from; evaluation matches the reports back
to the rule by ``template``. What each test-load outcome asks of the operator, and
why, comes from the engine-portability knowledge table.
"""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import Check, Run, inconclusive
from auditor.facts.model import EngineFacts, EngineLoad, Facts
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.policy.model import RequiredEngine

SAME_CC_WARNING = (
    "across different models of devices"  # TensorRT's log line for the E6 case (docs/research/tensorrt-compat.md 1.7)
)

MAX_LOG = 300


def engine_loads(run: Run) -> None:
    """One check per required engine template; one finding per expanded path that fails."""
    rule, facts, checks, out = run.asking, run.facts, run.checks, run.findings
    name = f"{rule.id}/engines"
    for engine in rule.engines:
        checks.append(f"{name}:{engine.template}")
        source = str(engine.location)
        if facts.engines.error:
            out.append(inconclusive(name, f"engine test-loads were not reported: {facts.engines.error}", source))
            continue
        items = [item for item in facts.engines.items if item.template == engine.template]
        if not items:
            out.append(inconclusive(name, f"the probe reported nothing for {engine.template}", source))
            continue
        for item in items:
            finding = _judge(name, engine, item, facts)
            if finding is not None:
                out.append(finding)


def _judge(name: str, engine: RequiredEngine, item: EngineFacts, facts: Facts) -> Finding | None:
    # the version of what test-loaded it (a newer probe reports it), else the host's TensorRT
    runtime = getattr(item, "runtime_version", None) or facts.tensorrt.version
    log = f" TensorRT said: {item.message[:MAX_LOG]}" if item.message else ""
    load = item.load
    if load is None or load is EngineLoad.SKIPPED:
        if not item.exists:
            load = EngineLoad.NOT_FOUND
        elif item.header_version and runtime and _differs(item.header_version, runtime):
            load = EngineLoad.VERSION_MISMATCH  # the header alone proves it (docs/research/tensorrt-compat.md, rule 6)
        else:
            return inconclusive(
                name, f"{item.path} was not test-loaded{': ' + item.error if item.error else ''}", str(engine.location)
            )
    outcome = trt_kb.engine_outcome(load.value)
    if outcome is None:  # pragma: no cover - every EngineLoad value has a row (tested)
        return inconclusive(name, f"unknown load outcome {load.value}", str(engine.location))
    source = f"{engine.location}; {outcome.cite}" if outcome.rule_row else str(engine.location)
    if load is EngineLoad.OK:
        if item.message and SAME_CC_WARNING in item.message:
            rule = trt_kb.portability_rule("same-cc-other-model")
            return Finding(
                rule=name,
                severity=Severity.LOW,
                action=Action.INVESTIGATE,
                message=f"{item.path} loads, but was built on another GPU model of the same compute capability",
                expected="a plan built on this GPU model",
                actual="loaded with TensorRT's cross-model warning",
                source=f"{engine.location}; {tables.table('engine_portability').cite(rule[1])}" if rule else source,
                remediation=f"Rebuild the engine on this GPU model when convenient: {rule[0] if rule else ''}.",
            )
        return None
    action = Action(outcome.action)
    expected, remediation = (
        "a plan that loads on this host",
        f"Rebuild {item.path} with this host's TensorRT on this GPU.",
    )
    if load is EngineLoad.VERSION_MISMATCH and item.header_version and runtime and versions.is_version(runtime):
        expected = f"a plan built by TensorRT {runtime}"
        if versions.parse(item.header_version) > versions.parse(runtime):
            action = Action.UPGRADE
            remediation = f"Upgrade TensorRT to {item.header_version} (the plan's), or rebuild the plan with {runtime}."
        else:
            remediation = f"Rebuild {item.path} with TensorRT {runtime}, or build it version-compatible (8.6+)."
    elif action is Action.UPGRADE:
        remediation = {
            EngineLoad.MISSING_PLUGIN: "Install and register the plugin library the plan needs (trt.init_libnvinfer_plugins).",
            EngineLoad.CUDA_INIT_FAILURE: "Check the driver meets TensorRT's CUDA build (see the tensorrt.cuda check) and that a GPU is visible.",
            EngineLoad.NO_RUNTIME: "Install the TensorRT runtime the plan was built with.",
        }.get(load, remediation)
    elif action is Action.INVESTIGATE:
        remediation = "Run the test-load by hand (trtexec --loadEngine=... --skipInference) and read its log."
    why = f" ({outcome.rule_text})" if outcome.rule_text else ""
    return Finding(
        rule=name,
        severity=Severity.HIGH,
        action=action,
        message=f"{item.path}: {outcome.text}{why}.{log}",
        expected=expected,
        actual=load.value
        + (f" (plan {item.header_version}, runtime {runtime})" if item.header_version and runtime else ""),
        source=source,
        remediation=remediation,
    )


def _differs(plan: str, runtime: str) -> bool:
    if not (versions.is_version(plan) and versions.is_version(runtime)):
        return False
    return versions.parse(plan).release[:4] != versions.parse(runtime).release[:4]


CHECK = Check(id="engines", reads=("engines", "tensorrt"), judge=engine_loads, asks=lambda rule: bool(rule.engines))
