"""Rule check ``<rule>/reference``: the reference engine loads and computes right (cannot load, wrong output, ok).

A rule with ``reference: NAME`` gets one check, ``<rule>/reference``, and one finding
per GPU model the probe ran the engine on:

* ok: informational, with the plan, the rule that admitted it, and the load and run times;
* wrong output: critical, investigate: the host computes a known network wrongly;
* cannot load: high, with the classified reason and what the engine-portability table
  asks for it (rebuild-engine, upgrade, investigate);
* no plan: high, rebuild-engine: nothing in the library loads on this TensorRT and GPU;
* run failed: high, investigate: it loaded, but device memory or the execution failed.

Missing facts (no reference section, a probe error) are inconclusive, never a pass.
"""

from __future__ import annotations

from auditor.evaluate.check import Check, Run, inconclusive
from auditor.facts.model import ReferenceRun, ReferenceStatus
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import tensorrt as trt_kb

MAX_MESSAGE = 300


def reference_engine(run: Run) -> None:
    """The check of the rule's reference engine on one host's facts."""
    rule, facts, checks, out = run.asking, run.facts, run.checks, run.findings
    if rule.reference is None:
        return
    name = f"{rule.id}/reference"
    checks.append(f"{name}:{rule.reference.name}")
    source = str(rule.reference.location)
    reference = facts.reference
    if not reference.requested:
        out.append(
            inconclusive(name, f"the probe was not asked to run reference engine {rule.reference.name!r}", source)
        )
        return
    if reference.error:
        out.append(inconclusive(name, f"reference engines were not run: {reference.error}", source))
        return
    item = reference.item(rule.reference.name)
    if item is None:
        out.append(inconclusive(name, f"the probe reported nothing for reference {rule.reference.name!r}", source))
        return
    if item.error:
        out.append(inconclusive(name, f"reference {item.name!r} was not run: {item.error}", source))
    for result in item.runs:
        out.append(_judge(name, item.name, result, source))


def _where(run: ReferenceRun) -> str:
    gpu = f"GPU {run.gpu}" if run.gpu is not None else "the GPU"
    return f"{gpu} ({run.gpu_name or '?'}, compute capability {run.compute_capability or '?'})"


def _times(run: ReferenceRun) -> str:
    parts = []
    if run.load_s is not None:
        parts.append(f"loaded in {run.load_s * 1000:.1f} ms")
    if run.run_s is not None:
        parts.append(f"ran in {run.run_s * 1000:.2f} ms")
    return ", ".join(parts)


def _judge(rule: str, name: str, run: ReferenceRun, source: str) -> Finding:
    plan = run.plan or "no plan"
    said = f" TensorRT said: {run.message[:MAX_MESSAGE]}" if run.message else ""
    runtime = f"{run.runtime or '?'} {run.runtime_version or ''}".strip()
    if run.status is ReferenceStatus.OK:
        exact = "bit for bit" if run.exact else f"within tolerance (max error {run.max_abs_error or 0:.2g})"
        return Finding(
            rule=rule,
            severity=Severity.INFO,
            action=Action.NONE,
            message=f"reference {name} ({plan}, {run.rule or '?'}) {_times(run)} on {_where(run)} with {runtime}; "
            f"output matches {exact}",
            expected="the recorded output",
            actual=f"load {run.load_s or 0:.4f}s, run {run.run_s or 0:.6f}s",
            source=source,
        )
    if run.status is ReferenceStatus.WRONG_OUTPUT:
        return Finding(
            rule=rule,
            severity=Severity.CRITICAL,
            action=Action.INVESTIGATE,
            message=f"reference {name} ({plan}) ran on {_where(run)} with {runtime} but computed a wrong answer: "
            f"{run.message or 'output differs from the recorded one'}",
            expected="the recorded output, within tolerance",
            actual=f"max error {run.max_abs_error:.3g}" if run.max_abs_error is not None else "not comparable",
            source=source,
            remediation="Take the host out of service: a GPU, driver or TensorRT install that computes a known "
            "network wrongly will do the same to production models. Check the GPU (nvidia-smi -q for ECC and "
            "retired pages, dmesg for Xid errors, dcgmi diag) and reinstall TensorRT.",
        )
    if run.status is ReferenceStatus.NO_PLAN:
        return Finding(
            rule=rule,
            severity=Severity.HIGH,
            action=Action.REBUILD_ENGINE,
            message=f"reference {name} on {_where(run)}: {run.message or 'no plan in the library loads here'}",
            expected="a plan for this host's TensorRT and GPU",
            actual="none in the library",
            source=source,
            remediation=f"Build one on a host like this one: auditor engines build --on HOST --name {name} "
            "(or --version-compatible / --hardware-compatible ampere+ on an older canary).",
        )
    if run.status is ReferenceStatus.RUN_FAILED:
        return Finding(
            rule=rule,
            severity=Severity.HIGH,
            action=Action.INVESTIGATE,
            message=f"reference {name} ({plan}) loaded on {_where(run)} but did not run: {run.message or '?'}",
            expected="one inference",
            actual=run.status.value,
            source=source,
            remediation="Check GPU memory and health (nvidia-smi) and the CUDA driver library (libcuda.so.1).",
        )
    load = run.status.load
    outcome = trt_kb.engine_outcome(load.value) if load is not None else None
    if outcome is None:  # pragma: no cover - every load status has a row (tested)
        return inconclusive(rule, f"unknown reference status {run.status.value}", source)
    why = f" ({outcome.rule_text})" if outcome.rule_text else ""
    return Finding(
        rule=rule,
        severity=Severity.HIGH,
        action=Action(outcome.action),
        message=f"reference {name} ({plan}) cannot run on {_where(run)} with {runtime}: {outcome.text}{why}.{said}",
        expected="a plan that loads and runs here",
        actual=run.status.value,
        source=f"{source}; {outcome.cite}" if outcome.rule_row else source,
        remediation=_remedy(run.status, name),
    )


def _remedy(status: ReferenceStatus, name: str) -> str:
    return {
        ReferenceStatus.VERSION_MISMATCH: f"Rebuild {name} with this host's TensorRT (auditor engines build), "
        "or build it version-compatible.",
        ReferenceStatus.DEVICE_MISMATCH: f"Rebuild {name} on this GPU architecture, or hardware-compatible.",
        ReferenceStatus.CORRUPT: f"Check the library (auditor engines verify) and rebuild {name}.",
        ReferenceStatus.MISSING_PLUGIN: "Install and register the plugin library the plan needs.",
        ReferenceStatus.CUDA_INIT_FAILURE: "Check the driver meets TensorRT's CUDA build and that a GPU is visible.",
        ReferenceStatus.NO_RUNTIME: "Install a TensorRT Python runtime (tensorrt; tensorrt_lean for "
        "version-compatible plans) for the host's python3.",
        ReferenceStatus.TIMEOUT: "Run it by hand and see where it stalls; raise the engine_load budget if the "
        "host is merely slow.",
        ReferenceStatus.CRASHED: "Run it by hand and read TensorRT's log; the runner process died.",
    }.get(status, "Run the reference engine by hand and read TensorRT's log.")


CHECK = Check(
    id="reference", reads=("reference",), judge=reference_engine, asks=lambda rule: rule.reference is not None
)
