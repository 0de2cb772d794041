"""The planner's core: steps, blockers, warnings and rollback per host, from facts alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.evaluate.registry import CHECK_IDS
from auditor.facts.reader import parse_facts
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.plan.model import BlockerKind, HostStatus, PlanExit, StepAction
from auditor.plan.target import build_target, parse_settings
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.report.model import HostReport
from tests.support.paths import REAL
from tests.support.plans import A100, AS_OF, P100, POLICY, RTX, T4, V100, driver, engine, host, one, plan, toolkit, trt


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return load_policies([path], as_of=AS_OF, checks=CHECK_IDS)


# -- steps ---------------------------------------------------------------------------------------


def test_compliant_host_has_no_steps_and_the_plan_exits_0(policy: Policy) -> None:
    """A host already inside every bound of the stack gets no steps, and the plan exits 0."""
    report = host(
        driver=driver("580.95.05"),
        gpus=A100,
        cuda=toolkit("13.0.2"),
        tensorrt=trt("10.13.3.9"),
        engines={"items": [engine("/m/sm80.plan", "10.13.3.9")]},
    )
    result = plan([report], build_target(policy, "serving", []), policy)
    assert result.hosts[0].status is HostStatus.COMPLIANT
    assert result.hosts[0].steps == () and result.hosts[0].blockers == ()
    assert result.exit_code is PlanExit.NOTHING and result.waves == ()


def test_steps_run_driver_reboot_toolkit_tensorrt_then_engine_rebuilds(policy: Policy) -> None:
    """Driver first, its reboot, then CUDA, TensorRT and one rebuild per engine, with path and target CC."""
    report = host(
        driver=driver("535.104.05"),
        gpus=A100,
        cuda=toolkit("12.2.2"),
        tensorrt=trt("8.6.1.6"),
        engines={"items": [engine("/m/sm80.plan", "8.6.1.6")]},
    )
    hp = one(report, build_target(policy, "serving", []), policy)
    assert [(s.action, s.component, s.from_, s.to) for s in hp.steps] == [
        (StepAction.UPGRADE, "driver", "535.104.05", "580.95.05"),
        (StepAction.REBOOT, "driver", "535.104.05", "580.95.05"),
        (StepAction.UPGRADE, "cuda", "12.2.2", "13.0.2"),
        (StepAction.UPGRADE, "tensorrt", "8.6.1.6", "10.13.3.9"),
        (StepAction.REBUILD_ENGINE, "engine", "8.6.1.6", "10.13.3.9"),
    ]
    rebuild = hp.steps[-1]
    assert rebuild.path == "/m/sm80.plan" and rebuild.compute_capability == "8.0"
    assert "exact" not in rebuild.reason and "build that made it" in rebuild.reason
    assert "version-compatible" in rebuild.reason  # 8 -> 10 is a pair version-compatible plans may make
    assert "policy.yaml:6" in hp.steps[0].reason and "below the floor 580.65.06" in hp.steps[0].reason
    assert hp.status is HostStatus.PLANNED and hp.wave == 0


def test_a_driver_above_the_ceiling_is_a_downgrade_and_a_missing_component_an_install(policy: Policy) -> None:
    """Above the stack's ceiling the driver goes down to the target; an absent TensorRT is installed."""
    report = host(driver=driver("590.44.01"), gpus=A100, cuda=toolkit("13.0.2"), tensorrt=trt(None))
    hp = one(report, build_target(policy, "serving", []), policy)
    actions = {(s.action, s.component): (s.from_, s.to) for s in hp.steps}
    assert actions[(StepAction.DOWNGRADE, "driver")] == ("590.44.01", "580.95.05")
    assert actions[(StepAction.INSTALL, "tensorrt")] == (None, "10.13.3.9")


def test_a_stale_kernel_module_gets_a_reboot_even_when_the_driver_stays(policy: Policy) -> None:
    """A kernel module older than the installed driver means a reboot step from the module's version."""
    report = host(driver=driver("580.95.05", module="580.65.06"), gpus=A100, cuda=toolkit("13.0.2"))
    hp = one(report, build_target(policy, "floor-only", []), policy)
    assert [(s.action, s.from_, s.to) for s in hp.steps] == [(StepAction.REBOOT, "580.65.06", "580.95.05")]
    assert hp.steps[0].source and "driver-states" in hp.steps[0].source


def test_rollback_records_the_host_versions_and_engine_files(policy: Policy) -> None:
    """The rollback target is what the host runs now: driver, toolkits, cuDNN, TensorRT, engines with hashes."""
    report = host(
        driver=driver("535.104.05"),
        gpus=A100,
        cuda=toolkit("12.2.2"),
        tensorrt=trt("8.6.1.6"),
        engines={"items": [engine("/m/sm80.plan", "8.6.1.6")]},
    )
    rollback = one(report, build_target(policy, "serving", []), policy).rollback
    assert rollback.driver == "535.104.05" and rollback.cuda == "12.2.2" and rollback.cuda_toolkits == ("12.2.2",)
    assert rollback.cudnn == "8.9.5" and rollback.tensorrt == "8.6.1.6"
    assert rollback.engines[0].path == "/m/sm80.plan" and rollback.engines[0].sha256 == "ab" * 32


def test_a_stale_cuda_compat_package_is_removed_after_the_driver_upgrade(policy: Policy) -> None:
    """A cuda-compat package for a CUDA the new driver runs natively gets a remove-compat step."""
    compat = {"path": "/usr/local/cuda-12.8/compat", "version": "570.86.10", "cuda": "12.8", "active": True}
    report = host(driver=driver("535.104.05"), gpus=A100, cuda={**toolkit("12.8.1"), "compat": [compat]})
    hp = one(report, build_target(policy, None, ["driver=580.95.05"]), policy)
    removal = [s for s in hp.steps if s.action is StepAction.REMOVE_COMPAT]
    assert len(removal) == 1 and removal[0].path == "/usr/local/cuda-12.8/compat"
    assert [s.action for s in hp.steps][:3] == [StepAction.UPGRADE, StepAction.REBOOT, StepAction.REMOVE_COMPAT]
    assert removal[0].source and "forward-compat" in removal[0].source


def test_set_matches_versions_by_prefix(policy: Policy) -> None:
    """--set cuda=12.2 leaves a host on 12.2.2 alone; --set cuda=13.0.2 moves it."""
    report = host(driver=driver("580.95.05"), gpus=A100, cuda=toolkit("12.2.2"))
    assert one(report, build_target(policy, None, ["cuda=12.2"]), policy).steps == ()
    moved = one(report, build_target(policy, None, ["cuda=13.0.2"]), policy).steps
    assert [(s.action, s.to) for s in moved] == [(StepAction.UPGRADE, "13.0.2")]


def test_an_allow_list_moves_the_host_to_its_newest_version(policy: Policy) -> None:
    """A stack that only allows versions installs the newest allowed one on a host outside the list."""
    report = host(driver=driver("580.95.05"), gpus=A100, cudnn={"version": "8.2.4", "installs": []})
    steps = one(report, build_target(policy, "cudnn-allowed", []), policy).steps
    assert [(s.action, s.component, s.to) for s in steps] == [(StepAction.UPGRADE, "cudnn", "8.9.7")]


# -- blockers ------------------------------------------------------------------------------------


def test_volta_is_blocked_by_cuda_13_and_tensorrt_10_5(policy: Policy) -> None:
    """Volta under CUDA 13 and TensorRT 10.13 gives two architecture blockers with their sources."""
    report = host(driver=driver("580.95.05"), gpus=V100, cuda=toolkit("12.4.1"), tensorrt=trt("10.3.0.26"))
    result = plan([report], build_target(policy, None, ["cuda=13.0.2", "tensorrt=10.13.3.9"]), policy)
    hp = result.hosts[0]
    assert hp.status is HostStatus.BLOCKED and hp.wave is None
    kinds = {(b.kind, b.component) for b in hp.blockers}
    assert kinds == {(BlockerKind.ARCHITECTURE, "cuda"), (BlockerKind.ARCHITECTURE, "tensorrt")}
    cuda = next(b for b in hp.blockers if b.component == "cuda")
    assert "Volta" in cuda.reason and cuda.source and cuda.source.startswith("knowledge:cuda-architectures")
    assert result.exit_code is PlanExit.CHANGES and result.waves == ()


def test_pascal_is_blocked_by_tensorrt_10(policy: Policy) -> None:
    """A Pascal GPU (CC 6.0) cannot take TensorRT 10: the blocker cites the TensorRT release table."""
    report = host(driver=driver("535.104.05"), gpus=P100, cuda=toolkit("12.2.2"), tensorrt=trt("8.6.1.6"))
    hp = one(report, build_target(policy, None, ["tensorrt=10.0.1.6"]), policy)
    blocker = next(b for b in hp.blockers if b.component == "tensorrt" and b.kind is BlockerKind.ARCHITECTURE)
    assert "7.0" in blocker.reason and blocker.source and "tensorrt-releases" in blocker.source


def test_forward_compat_on_a_geforce_is_a_blocker_but_on_a_t4_a_compat_install(policy: Policy) -> None:
    """CUDA 13 on R535 needs cuda-compat: blocked on a GeForce, an install step plus a warning on a T4."""
    target = build_target(policy, None, ["cuda=13.0.2"])
    geforce = one(
        host(driver=driver("535.104.05"), gpus=RTX, cuda=toolkit("12.2.2"), tensorrt=trt(None)), target, policy
    )
    assert [b.kind for b in geforce.blockers] == [BlockerKind.FORWARD_COMPAT]
    assert "data-center" in geforce.blockers[0].reason and "580" in (geforce.blockers[0].fix or "")
    t4 = one(host(driver=driver("535.104.05"), gpus=T4, cuda=toolkit("12.2.2"), tensorrt=trt(None)), target, policy)
    assert t4.blockers == ()
    assert [(s.action, s.component, s.to) for s in t4.steps][-1] == (
        StepAction.INSTALL,
        "cuda-compat",
        "cuda-compat-13-0",
    )
    assert any("forward compatibility" in w.message for w in t4.warnings)


def test_a_driver_too_old_for_the_toolkit_is_incompatible_with_a_fix(policy: Policy) -> None:
    """CUDA 13 on R470 has no compat path: an incompatible blocker whose fix names CUDA 13's driver."""
    hp = one(
        host(driver=driver("470.82.01"), gpus=T4, cuda=toolkit("11.4.4"), tensorrt=trt(None)),
        build_target(policy, None, ["cuda=13.0.2"]),
        policy,
    )
    assert [b.kind for b in hp.blockers] == [BlockerKind.INCOMPATIBLE]
    assert "580.95.05" in (hp.blockers[0].fix or "")


def test_a_target_driver_past_end_of_life_is_a_blocker_unless_a_rule_accepts_it(policy: Policy) -> None:
    """Installing R535 after its June 2026 end of life blocks; a rule switching driver.eol off makes it a warning."""
    target = build_target(policy, None, ["driver=535.104.05"])
    serving = one(host(driver=driver("470.82.01"), gpus=T4, cuda=toolkit("11.4.4"), tensorrt=trt(None)), target, policy)
    assert [b.kind for b in serving.blockers] == [BlockerKind.DRIVER_EOL]
    edge = one(
        host(groups=("edge",), driver=driver("470.82.01"), gpus=T4, cuda=toolkit("11.4.4"), tensorrt=trt(None)),
        target,
        policy,
    )
    assert edge.blockers == () and edge.status is HostStatus.PLANNED
    accepted = next(w for w in edge.warnings if "accepted by rule 'edge'" in w.message)
    line = next(n for n, text in enumerate(POLICY.splitlines(), 1) if "disable:" in text)
    assert "OPS-1" in accepted.message and (accepted.source or "").endswith(f"policy.yaml:{line}")


def test_tensorrt_8_without_cudnn_is_blocked_with_the_version_to_add(policy: Policy) -> None:
    """TensorRT 8.5 needs cuDNN 8.6: a host without one is blocked, the fix names the version; 8.6 made it optional."""
    report = host(
        driver=driver("535.104.05"),
        gpus=A100,
        cuda=toolkit("11.8.0"),
        cudnn={"version": None, "installs": []},
        tensorrt=trt("8.4.3.1"),
    )
    hp = one(report, build_target(policy, None, ["tensorrt=8.5.3.1"]), policy)
    blocker = next(b for b in hp.blockers if b.component == "cudnn")
    assert "8.6.0" in blocker.reason and "--set cudnn=8.6.0" in (blocker.fix or "")
    optional = one(report, build_target(policy, None, ["tensorrt=8.6.1.6"]), policy)
    assert not [b for b in optional.blockers if b.component == "cudnn"]


def test_a_bound_without_a_version_to_move_to_blocks_as_unpinned(policy: Policy) -> None:
    """A host below a floor the stack names no target for is blocked, not given an invented version."""
    hp = one(
        host(driver=driver("580.95.05"), gpus=A100, cuda=toolkit("12.2.2")),
        build_target(policy, "floor-only", []),
        policy,
    )
    assert [(b.kind, b.component) for b in hp.blockers] == [(BlockerKind.UNPINNED, "cuda")]
    assert hp.steps == () and "target:" in (hp.blockers[0].fix or "")


# -- warnings --------------------------------------------------------------------------------------


def test_minor_version_compatibility_is_a_warning_with_its_caveats(policy: Policy) -> None:
    """CUDA 13.1 on R580 runs through minor-version compatibility: a warning carrying the caveats, no blocker."""
    hp = one(
        host(driver=driver("580.95.05"), gpus=A100, cuda=toolkit("13.0.2"), tensorrt=trt(None)),
        build_target(policy, None, ["cuda=13.1.1"]),
        policy,
    )
    assert hp.blockers == () and hp.status is HostStatus.PLANNED
    warning = next(w for w in hp.warnings if "minor-version" in w.message)
    assert any("PTX" in d for d in warning.details) and warning.source


def test_components_the_target_leaves_alone_are_not_judged(policy: Policy) -> None:
    """A target naming only cuDNN does not block on a TensorRT/driver problem it does not touch."""
    report = host(
        driver=driver("535.104.05"),
        gpus=T4,
        cuda=toolkit("13.0.2"),
        tensorrt=trt("10.13.3.9"),
        cudnn={"version": None, "installs": []},
    )
    hp = one(report, build_target(policy, None, ["cudnn=9.1.0"]), policy)
    assert hp.blockers == () and [s.component for s in hp.steps] == ["cudnn"]


# -- engines ---------------------------------------------------------------------------------------


def test_engines_rebuild_only_when_they_will_not_load(policy: Policy) -> None:
    """Same build: no step; device mismatch: rebuild; missing: build; pre-8.6 header with a TensorRT change: rebuild."""
    items = [
        engine("/m/a.plan", "10.13.3.9", template=None),
        engine("/m/b.plan", "10.13.3.9", load="device-mismatch", template=None),
        engine("/m/c.plan", None, load="not-found", template=None),
    ]
    report = host(
        driver=driver("580.95.05"),
        gpus=A100,
        cuda=toolkit("13.0.2"),
        tensorrt=trt("10.13.3.9"),
        engines={"items": items},
    )
    hp = one(report, build_target(policy, None, ["tensorrt=10.13.3.9"]), policy)
    assert [s.path for s in hp.steps] == ["/m/b.plan", "/m/c.plan"]
    assert "compute capability" in hp.steps[0].reason
    old = host(
        driver=driver("580.95.05"),
        gpus=A100,
        cuda=toolkit("13.0.2"),
        tensorrt=trt("8.5.3.1"),
        engines={"items": [engine("/m/old.plan", None, template=None)]},
    )
    steps = one(old, build_target(policy, None, ["tensorrt=10.13.3.9"]), policy).steps
    assert steps[-1].path == "/m/old.plan" and "header does not say" in steps[-1].reason


def test_an_image_target_judges_engines_against_its_tensorrt(policy: Policy) -> None:
    """--set image: engines are rebuilt for the image's TensorRT; the host's own TensorRT is left alone."""
    report = host(
        driver=driver("535.104.05"),
        gpus=A100,
        cuda=toolkit("12.2.2"),
        tensorrt=trt("10.3.0.26"),
        engines={"items": [engine("/m/sm80.plan", "10.3.0.26")]},
    )
    hp = one(report, build_target(policy, None, ["image=nvcr.io/nvidia/tensorrt:23.07-py3"]), policy)
    assert [(s.action, s.from_, s.to) for s in hp.steps] == [(StepAction.REBUILD_ENGINE, "10.3.0.26", "8.6.1.6")]
    assert "nvcr.io/nvidia/tensorrt:23.07-py3" in hp.steps[0].reason and hp.blockers == ()


def test_an_image_needing_forward_compat_on_a_geforce_is_blocked(policy: Policy) -> None:
    """An image whose driver floor the host misses runs through cuda-compat only on data-center GPUs."""
    target = build_target(policy, None, ["image=nvcr.io/nvidia/tensorrt:23.07-py3"])
    hp = one(host(driver=driver("470.82.01"), gpus=RTX, cuda=toolkit("11.4.4"), tensorrt=trt(None)), target, policy)
    assert {(b.kind, b.component) for b in hp.blockers} == {(BlockerKind.FORWARD_COMPAT, "image")}
    t4 = one(host(driver=driver("470.82.01"), gpus=T4, cuda=toolkit("11.4.4"), tensorrt=trt(None)), target, policy)
    assert t4.blockers == () and any("forward compatibility" in w.message for w in t4.warnings)


# -- the target ----------------------------------------------------------------------------------


def test_set_rejects_unknown_components_bad_versions_and_images_at_once() -> None:
    """Every bad --set is reported together, with a did-you-mean for a misspelt component."""
    with pytest.raises(InputError) as caught:
        parse_settings(["tensort=10.13", "cuda=13.x", "image=ubuntu:latest", "driver"])
    text = str(caught.value)
    assert "did you mean 'tensorrt'" in text and "not a version: '13.x'" in text
    assert "ubuntu:latest" in text and "expected component=version" in text


def test_an_unknown_stack_suggests_the_closest_name(policy: Policy) -> None:
    """--to with a misspelt stack name says which stack was meant."""
    with pytest.raises(InputError, match="did you mean 'serving'"):
        build_target(policy, "servng", [])
    with pytest.raises(InputError, match="name a target"):
        build_target(policy, None, [])


def test_set_overrides_the_stack_component(policy: Policy) -> None:
    """--to with --set: the --set version replaces the stack's component, the others stay."""
    target = build_target(policy, "serving", ["driver=580.82.07"])
    driver_target = target.component("driver")
    assert driver_target is not None and driver_target.version == "580.82.07" and driver_target.bounds is None
    cuda_target = target.component("cuda")
    assert cuda_target is not None and cuda_target.version == "13.0.2" and cuda_target.bounds is not None
    assert target.engines and target.name == "serving with --set"


def test_real_h200_engines_are_planned_from_the_recorded_facts(policy: Policy) -> None:
    """On the real H200's recorded facts, moving TensorRT to 10.13 rebuilds every plan there, for CC 9.0."""
    real = REAL / "probe-engines.json"
    report = HostReport(
        Host("h200-real", "10.0.0.9", groups=("serving",)), Verdict.OK, facts=parse_facts(real.read_bytes())
    )
    hp = one(report, build_target(policy, None, ["tensorrt=10.13.3.9"]), policy)
    rebuilds = {s.path: s for s in hp.steps if s.action is StepAction.REBUILD_ENGINE}
    assert report.facts is not None and len(rebuilds) == len(report.facts.engines.items)
    assert rebuilds["/tmp/eng/nvidia-h200/sm90.plan"].compute_capability == "9.0"
    assert rebuilds["/tmp/eng/forged-10.plan"].from_ == "10.13.3.9"  # right version, but it does not load (corrupt)
    assert rebuilds["/tmp/eng/missing.plan"].from_ is None
    assert (hp.steps[0].action, hp.steps[0].to) == (StepAction.DOWNGRADE, "10.13.3.9")


# -- issue 17: no false comfort -----------------------------------------------------------------------

B200 = {"count": 8, "devices": [{"index": 0, "name": "NVIDIA B200", "compute_capability": "10.0"}]}


def test_a_target_driver_that_cannot_drive_the_gpu_blocks_downgrades_too(policy: Policy) -> None:
    """Planning a B200 host onto R560 is blocked (Blackwell needs R570), as is an A100 onto R440."""
    report = host(driver=driver("580.95.05"), gpus=B200, cuda=toolkit("13.0.2"), tensorrt=trt(None))
    hp = one(report, build_target(policy, None, ["driver=560.35.03"]), policy)
    blocker = next(b for b in hp.blockers if b.component == "driver" and b.kind is BlockerKind.ARCHITECTURE)
    assert hp.status is HostStatus.BLOCKED and "R570" in blocker.reason and "R570" in (blocker.fix or "")
    ampere = one(host(driver=driver("535.104.05"), gpus=A100), build_target(policy, None, ["driver=440.33.01"]), policy)
    assert any("R450" in b.reason for b in ampere.blockers)


def test_an_image_whose_tensorrt_is_unknown_leaves_engine_hosts_inconclusive_not_compliant(policy: Policy) -> None:
    """23.09's TensorRT is not in the sources: the engines cannot be judged, so the host is inconclusive, exit 1."""
    report = host(
        driver=driver("535.104.05"),
        gpus=A100,
        cuda=toolkit("12.2.2"),
        tensorrt=trt("8.6.1.6"),
        engines={"items": [engine("/m/sm80.plan", "8.6.1.6")]},
    )
    result = plan([report], build_target(policy, None, ["image=nvcr.io/nvidia/tensorrt:23.09-py3"]), policy)
    hp = result.hosts[0]
    assert hp.status is HostStatus.INCONCLUSIVE and hp.steps == ()
    assert any(w.unknown and "cannot be told" in w.message for w in hp.warnings)
    assert result.exit_code is PlanExit.ERROR and "inconclusive" in result.exit_reason


def test_a_plan_built_for_another_compute_capability_is_rebuilt_whatever_the_runtime(policy: Policy) -> None:
    """A device mismatch fails whatever the TensorRT: rebuilt even when the image's TensorRT is unknown."""
    report = host(
        driver=driver("535.104.05"),
        gpus=A100,
        cuda=toolkit("12.2.2"),
        tensorrt=trt("8.6.1.6"),
        engines={"items": [engine("/m/sm80.plan", "8.6.1.6", load="device-mismatch")]},
    )
    hp = one(report, build_target(policy, None, ["image=nvcr.io/nvidia/tensorrt:23.09-py3"]), policy)
    assert [s.action for s in hp.steps] == [StepAction.REBUILD_ENGINE] and hp.status is HostStatus.PLANNED
