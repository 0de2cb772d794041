"""Running containers judged: each image against the host's driver and GPU, in the audit and in the plan."""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import Any

from auditor.evaluate.host import evaluate
from auditor.findings import Action, Finding, Severity, Verdict, verdict_of
from auditor.inventory import Host
from auditor.plan.host import plan_host
from auditor.plan.model import BlockerKind, HostStatus
from auditor.plan.target import build_target
from auditor.policy.model import EMPTY_POLICY
from auditor.report.model import HostReport
from tests.support.documents import facts

AS_OF = datetime.date(2026, 12, 4)
POLICY = replace(EMPTY_POLICY, as_of=AS_OF)
HOST = Host("gpu-01", "10.0.0.1", groups=("lab",))
RTX4090 = {"count": 1, "devices": [{"index": 0, "name": "NVIDIA GeForce RTX 4090", "compute_capability": "8.9"}]}
H100 = {"count": 8, "devices": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}]}


def running(*images: str) -> dict[str, Any]:
    return {
        "runtime": "docker",
        "images": [],
        "running": [{"name": f"c{i}", "image": image, "id": f"{i:012d}"} for i, image in enumerate(images)],
        "error": None,
    }


def container_findings(driver: str, gpus: dict[str, Any], *images: str) -> list[Finding]:
    result = evaluate(
        POLICY,
        HOST,
        facts(driver={"version": driver, "kernel_module": driver}, gpus=gpus, containers=running(*images)),
    )
    return [f for f in result.findings if f.rule == "containers.image"]


def test_a_geforce_host_on_r570_running_tensorrt_25_06_needs_an_upgrade_naming_the_container() -> None:
    """25.06 needs driver 575 and GeForce has no forward compatibility: upgrade, the container named."""
    found = container_findings("570.172.08", RTX4090, "nvcr.io/nvidia/tensorrt:25.06-py3")
    assert len(found) == 1 and found[0].action is Action.UPGRADE and found[0].severity is Severity.HIGH
    assert "container 'c0'" in found[0].message and "575" in found[0].message
    assert found[0].source and found[0].source.startswith("knowledge:ngc-tensorrt")


def test_forward_compatibility_on_a_data_center_gpu_is_information_and_native_says_nothing() -> None:
    """The 24.10 image on R535 with an H100 runs in forward-compatibility mode (info); on R560 natively (nothing)."""
    found = container_findings("535.104.05", H100, "nvcr.io/nvidia/tensorrt:24.10-py3")
    assert [(f.action, f.severity) for f in found] == [(Action.NONE, Severity.INFO)]
    assert "forward compatibility" in found[0].message
    assert container_findings("560.35.03", H100, "nvcr.io/nvidia/tensorrt:24.10-py3") == []


def test_unknown_images_are_information_and_unknown_months_inconclusive() -> None:
    """An image without a table is info (not silence); an NGC month newer than the knowledge is inconclusive."""
    internal, newer = container_findings(
        "580.95.05", H100, "registry.example.com/team/app:1.2", "nvcr.io/nvidia/tensorrt:99.01-py3"
    )
    assert internal.action is Action.NONE and "not an image the knowledge base" in internal.message
    assert newer.inconclusive and "newer than the knowledge base" in newer.message
    assert "knowledge as of 2026-12-04" in newer.message


def test_containers_that_cannot_be_listed_are_said_and_no_runtime_says_nothing() -> None:
    """docker denied: one informational finding (never a verdict); no container runtime: nothing to judge."""
    denied = {"runtime": "docker", "images": [], "running": [], "error": "permission denied"}
    result = evaluate(POLICY, HOST, facts(gpus=H100, containers=denied))
    assert [f.message for f in result.findings if f.rule == "containers.image"] == [
        "running containers could not be listed, so their images were not judged: permission denied"
    ]
    assert verdict_of(f for f in result.findings if f.rule == "containers.image") is Verdict.OK
    assert not [f for f in evaluate(POLICY, HOST, facts(gpus=H100)).findings if f.rule == "containers.image"]


def test_a_driver_change_that_would_break_a_running_container_is_a_blocker() -> None:
    """Moving an H100 host running 24.10 from R560 to R550 (past its floor, no R550 in its list) is blocked."""
    report = HostReport(
        Host("gpu-01", "10.0.0.1", groups=("lab",)),
        Verdict.OK,
        facts=facts(
            driver={"version": "560.35.03", "kernel_module": "560.35.03"},
            gpus=H100,
            containers=running("nvcr.io/nvidia/tensorrt:24.10-py3"),
        ),
    )
    hp = plan_host(report, HOST, build_target(POLICY, None, ["driver=550.54.15"]), POLICY)
    blocker = next(b for b in hp.blockers if b.kind is BlockerKind.CONTAINER)
    assert hp.status is HostStatus.BLOCKED and "container 'c0'" in blocker.reason
    fine = plan_host(report, HOST, build_target(POLICY, None, ["driver=580.95.05"]), POLICY)
    assert not [b for b in fine.blockers if b.kind is BlockerKind.CONTAINER]
