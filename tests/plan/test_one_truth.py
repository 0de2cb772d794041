"""One truth: `auditor compat`, host evaluation and `plan` agree over the whole knowledge base.

Every known GPU is paired with every driver branch (a full product), and hypothesis draws
GPU x branch x CUDA toolkit x TensorRT release combinations. For each, the compatibility
answer (`auditor.knowledge.lookup.answer`, what `auditor compat` prints) is compared with the findings
of the built-in checks on a host with those versions, and with the blockers and warnings of a
plan that moves a host onto them: incompatible where one says so, unknown where one cannot
tell, compatible only where all three are.
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.evaluate.host import evaluate
from auditor.findings import Action, Finding, Verdict
from auditor.inventory import Host
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import gpus as gpus_kb
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import GpuSpec, Mode
from auditor.knowledge.compat import cuda_on_driver, cuda_on_gpu, driver_on_gpu
from auditor.knowledge.compat_tensorrt import tensorrt_on
from auditor.knowledge.lookup import Query, answer
from auditor.plan.host import plan_host
from auditor.plan.model import BlockerKind
from auditor.plan.target import build_target
from auditor.policy.model import EMPTY_POLICY
from auditor.report.model import HostReport
from tests.support.documents import facts

TODAY = datetime.date(2026, 12, 4)
POLICY = replace(EMPTY_POLICY, as_of=TODAY)
HOST = Host("gpu-01", "10.0.0.1")
CHECKS = ("driver.arch", "cuda.driver", "cuda.arch", "tensorrt.arch", "tensorrt.cuda")
ACTING = (Action.UPGRADE, Action.ROLLBACK)
NOT_JUDGED_BY_COMPAT = (BlockerKind.DRIVER_EOL, BlockerKind.UNPINNED)  # end of life is a caveat there


def _gpu_names() -> list[tuple[str, str]]:
    """(name as printed, compute capability) for every GPU row: an example, else a pattern without wildcards."""
    found = []
    for row in tables.table("gpus").rows:
        if row.get("cc") is None:
            continue  # a capability no usable source gives: answers about it are unknown (tested elsewhere)
        candidates = [*(row.get("examples") or []), *(str(n).replace("*", "").strip() for n in row["names"])]
        name = next((c for c in candidates if c and (m := gpus_kb.gpu_model(c)) and m.product == row["product"]), None)
        if name is not None:
            found.append((name, str(row["cc"])))
    return found


GPUS = _gpu_names()
DRIVERS = [f"{row['branch']}.100.01" for row in tables.table("driver_branches").rows if int(row["branch"]) != 616]
TOOLKITS = cuda_kb.known_toolkits()
TENSORRT = [r.ga_build or r.release for r in map(trt_kb.trt_release, trt_kb.known_releases()) if r is not None]


def _facts(driver: str, gpu: tuple[str, str], cuda: str | None = None, tensorrt: str | None = None) -> Any:
    name, cc = gpu
    toolkits = (
        {
            "toolkits": [{"path": "/usr/local/cuda", "version": cuda, "source": "version.json"}],
            "default": "/usr/local/cuda",
        }
        if cuda
        else {"toolkits": [], "default": None}
    )
    return facts(
        driver={"version": driver, "kernel_module": driver, "cuda_version": None},
        gpus={"count": 1, "devices": [{"index": 0, "name": name, "compute_capability": cc}]},
        cuda=toolkits,
        tensorrt={"version": tensorrt, "modules": [{"module": "tensorrt", "version": tensorrt}] if tensorrt else []},
        cudnn={"version": "8.9.7", "installs": [{"version": "8.9.7", "source": "header"}]},
    )


def _judged(findings: tuple[Finding, ...]) -> tuple[bool, bool]:
    """(a finding asks to upgrade or roll back, a finding is inconclusive), over the checks compat also answers."""
    ours = [f for f in findings if f.rule in CHECKS]
    return any(f.action in ACTING for f in ours), any(f.inconclusive for f in ours)


def _plan(current: Any, target: list[str]) -> Any:
    report = HostReport(Host("gpu-01", "10.0.0.1", groups=()), Verdict.OK, facts=current)
    return plan_host(report, HOST, build_target(POLICY, None, target), POLICY)


@pytest.mark.parametrize("gpu", GPUS, ids=[name for name, _ in GPUS])
def test_driver_and_gpu_agree_for_every_branch(gpu: tuple[str, str]) -> None:
    """For each known GPU x every branch: compat's answer, driver.arch in the audit, and the plan's gate agree."""
    with_examples = [r for r in tables.table("gpus").rows if r.get("examples") and r.get("cc") is not None]
    assert len(GPUS) >= len(with_examples), "every row with example names takes part"
    spec = GpuSpec(*gpu)
    for driver in DRIVERS:
        mode = answer(Query(driver=driver, gpu=spec), TODAY).mode
        assert mode is driver_on_gpu(driver, spec).mode
        found = [f for f in evaluate(POLICY, HOST, _facts(driver, gpu)).findings if f.rule == "driver.arch"]
        assert bool(found and found[0].action in ACTING) is (mode is Mode.INCOMPATIBLE), (driver, gpu, found)
        assert bool(found and found[0].inconclusive) is (mode is Mode.UNKNOWN), (driver, gpu, found)
        hp = _plan(_facts("580.95.05" if driver != "580.100.01" else "595.100.01", gpu), [f"driver={driver}"])
        blocked = [b for b in hp.blockers if b.component == "driver" and b.kind is BlockerKind.ARCHITECTURE]
        assert bool(blocked) is (mode is Mode.INCOMPATIBLE), (driver, gpu, hp.blockers)
        unknown = [w for w in hp.warnings if w.unknown and "could not tell" in w.message]
        assert bool(unknown) is (mode is Mode.UNKNOWN), (driver, gpu, hp.warnings)


@settings(max_examples=600)
@given(
    gpu=st.sampled_from(GPUS),
    driver=st.sampled_from(DRIVERS),
    cuda=st.sampled_from(TOOLKITS),
    tensorrt=st.sampled_from(TENSORRT),
)
def test_compat_evaluation_and_plan_agree_on_whole_stacks(
    gpu: tuple[str, str], driver: str, cuda: str, tensorrt: str
) -> None:
    """GPU x branch x CUDA x TensorRT: incompatible, unknown and compatible mean the same in all three."""
    spec = GpuSpec(*gpu)
    pairs = {
        "driver-gpu": driver_on_gpu(driver, spec).mode,
        "cuda-gpu": cuda_on_gpu(cuda, spec).mode,
        "cuda-driver": cuda_on_driver(cuda, driver, spec).mode,
        "tensorrt-gpu": tensorrt_on(tensorrt, gpu=spec).mode,
        "tensorrt-driver": tensorrt_on(tensorrt, driver, cuda=cuda).mode,
    }
    bad = any(m in (Mode.INCOMPATIBLE, Mode.FORWARD_COMPAT) for m in pairs.values())
    unknown = any(m is Mode.UNKNOWN for m in pairs.values())
    overall = answer(Query(driver=driver, cuda=cuda, tensorrt=tensorrt, gpu=spec), TODAY)
    assert overall.compatible is (not bad and not unknown)

    acting, inconclusive = _judged(evaluate(POLICY, HOST, _facts(driver, gpu, cuda, tensorrt)).findings)
    assert acting is bad, (pairs, overall.reasons)
    assert inconclusive is unknown, (pairs, overall.reasons)

    # a plan moving a host onto this stack: blocked exactly where compat says it cannot run
    # (forward compatibility of the CUDA toolkit itself is a step, a cuda-compat package, not a blocker)
    hp = _plan(
        _facts("580.95.05", gpu, "13.0.2", "10.13.3.9"), [f"driver={driver}", f"cuda={cuda}", f"tensorrt={tensorrt}"]
    )
    blocked = [b for b in hp.blockers if b.kind not in NOT_JUDGED_BY_COMPAT]
    plan_bad = any(m is Mode.INCOMPATIBLE for m in pairs.values()) or pairs["tensorrt-driver"] is Mode.FORWARD_COMPAT
    assert bool(blocked) is plan_bad, (pairs, hp.blockers)
    if pairs["cuda-driver"] is Mode.FORWARD_COMPAT and not plan_bad:
        assert any(s.component == "cuda-compat" for s in hp.steps)
    judged = [w for w in hp.warnings if "package" not in w.message]  # these facts carry no package section
    assert any(w.unknown for w in judged) is unknown, (pairs, hp.warnings)
