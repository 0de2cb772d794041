"""Verdicts from facts and policy: each built-in check and each kind of bound."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.evaluate.host import evaluate
from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Action, Finding, Severity, Verdict, verdict_of
from auditor.inventory import Host
from auditor.policy.files import load_policies, load_policy
from auditor.policy.model import EMPTY_POLICY, Policy
from tests.support.documents import facts

HOST = Host("gpu-01", "10.0.0.1", groups=("serving", "a100"))
AS_OF = datetime.date(2025, 1, 1)  # R535 (the helpers' driver) is still supported then
NO_POLICY = replace(EMPTY_POLICY, as_of=AS_OF)
A100 = {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "compute_capability": "8.0"}
V100 = {"index": 0, "name": "Tesla V100-SXM2-32GB", "compute_capability": "7.0"}


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture()
def policy(tmp_path: Path) -> Policy:
    path = write(
        tmp_path,
        """schema: auditor.policy/1
rules:
  - id: base
    driver: {min: "535.104.05", max: "580", deny: ["550.54.14"]}
    cuda: {min: "12.2"}
    tensorrt: {allow: ["8.6.1.6", "10.3.0.26"]}
  - id: hgx
    select: {groups: [a100]}
    gpus: {count: 8}
""",
    )
    return replace(load_policy(path, checks=CHECK_IDS), as_of=AS_OF)


def gpus(count: int = 8, device: dict[str, object] = A100) -> dict[str, object]:
    return {"count": count, "devices": [device]}


def verdict(policy: Policy, **sections: object) -> tuple[Verdict, list[str]]:
    result = evaluate(policy, HOST, facts(**sections))
    return verdict_of(result.findings), [f.rule for f in result.findings]


def findings(policy: Policy, **sections: object) -> dict[str, Finding]:
    return {f.rule: f for f in evaluate(policy, HOST, facts(**sections)).findings}


def test_compliant_host_is_ok_and_lists_every_check(policy: Policy) -> None:
    """Nothing violated: verdict ok, and the checks run are reported (for JUnit passes)."""
    result = evaluate(policy, HOST, facts(gpus=gpus()))
    assert result.findings == ()
    assert set(result.checks) >= {
        "base/driver.min",
        "base/driver.max",
        "base/driver.deny",
        "base/cuda.min",
        "base/tensorrt.allow",
        "hgx/gpus.count",
        "driver.eol",
        "cuda.driver",
        "cuda.arch",
        "tensorrt.arch",
        "tensorrt.cuda",
        "tensorrt.cudnn",
    }


@pytest.mark.parametrize(
    ("driver", "expected", "rule"),
    [
        ({"version": "470.82.01", "kernel_module": "470.82.01"}, Verdict.UPGRADE, "base/driver.min"),
        ({"version": "590.44.01", "kernel_module": "590.44.01"}, Verdict.ROLLBACK, "base/driver.max"),
        ({"version": "550.54.14", "kernel_module": "550.54.14"}, Verdict.ROLLBACK, "base/driver.deny"),
        (
            {"status": "mismatch", "mismatch": True, "version": "535.183.01", "kernel_module": "535.104.05"},
            Verdict.REBOOT,
            "driver.mismatch",
        ),
        ({"status": "not-loaded", "version": "535.104.05", "kernel_module": None}, Verdict.REBOOT, "driver.loaded"),
    ],
)
def test_driver_bounds_and_states(policy: Policy, driver: dict[str, object], expected: Verdict, rule: str) -> None:
    """Floor -> upgrade, ceiling/deny -> rollback, mismatch/not loaded -> reboot."""
    got, rules = verdict(policy, driver=driver, gpus=gpus())
    assert got is expected
    assert rule in rules


def test_missing_required_component_is_an_upgrade(policy: Policy) -> None:
    """A policy that bounds TensorRT on a host without it asks for an install."""
    got, rules = verdict(policy, tensorrt={"version": None, "modules": []}, gpus=gpus())
    assert (got, rules) == (Verdict.UPGRADE, ["base/tensorrt.present"])


def test_allow_list_distinguishes_upgrade_from_rollback(policy: Policy) -> None:
    """Below every allowed version -> upgrade; otherwise -> rollback."""
    assert verdict(policy, tensorrt={"version": "8.5.3.1"}, gpus=gpus())[0] is Verdict.UPGRADE
    assert verdict(policy, tensorrt={"version": "10.13.3.9"}, gpus=gpus())[0] is Verdict.ROLLBACK


def test_newest_toolkit_must_meet_the_floor(policy: Policy) -> None:
    """With 11.8 and 12.2 installed, a 12.2 floor holds; with only 11.8 it does not."""
    both = {
        "toolkits": [
            {"path": "/usr/local/cuda-11.8", "version": "11.8"},
            {"path": "/usr/local/cuda-12.2", "version": "12.2.2"},
        ]
    }
    only_old = {"toolkits": [{"path": "/usr/local/cuda-11.8", "version": "11.8"}]}
    assert verdict(policy, cuda=both, gpus=gpus())[0] is Verdict.OK
    assert verdict(policy, cuda=only_old, gpus=gpus())[1] == ["base/cuda.min"]


def test_gpu_count_and_no_gpu(policy: Policy) -> None:
    """Fewer GPUs than expected and a driver with no GPU both ask a person to look."""
    assert verdict(policy, gpus=gpus(7)) == (Verdict.WARN, ["hgx/gpus.count"])
    got, rules = verdict(NO_POLICY, gpus={"count": 0, "devices": []})
    assert (got, rules) == (Verdict.WARN, ["gpu.visible"])


def test_collector_failure_is_inconclusive_not_pass_or_fail(policy: Policy) -> None:
    """A timed-out TensorRT collector cannot satisfy or violate the TensorRT bound."""
    result = evaluate(
        policy, HOST, facts(tensorrt={"version": None, "modules": [], "error": "timed out after 20.0s"}, gpus=gpus())
    )
    (bound,) = [f for f in result.findings if f.rule == "base/tensorrt.present"]
    assert bound.inconclusive and bound.action is Action.INVESTIGATE
    assert "could not evaluate" in bound.message and "timed out" in bound.message
    assert all(f.inconclusive for f in result.findings)


def test_host_without_driver_is_a_finding_not_an_error(policy: Policy) -> None:
    """No driver at all: the policy asks for one, so the host needs an upgrade (install)."""
    got, rules = verdict(
        policy,
        driver={"status": "not-installed", "version": None, "cuda_version": None, "kernel_module": None},
        gpus={"count": None, "devices": [], "error": "nvidia-smi not found"},
    )
    assert got is Verdict.UPGRADE
    assert "driver.installed" in rules


def test_findings_cite_the_policy_line(policy: Policy) -> None:
    """A bound's finding names the file:line it was written on, and the rollback target."""
    found = findings(policy, driver={"version": "470.82.01", "kernel_module": "470.82.01"}, gpus=gpus())
    finding = found["base/driver.min"]
    assert finding.source is not None and finding.source.endswith("policy.yaml:4")
    assert finding.expected == ">= 535.104.05" and finding.actual == "470.82.01"
    above = findings(policy, driver={"version": "590.44.01", "kernel_module": "590.44.01"}, gpus=gpus())
    assert above["base/driver.max"].remediation == "Roll NVIDIA driver back to the newest 580.x release."


# -- built-in checks ----------------------------------------------------------------------------


def test_driver_end_of_life_warns_and_names_supported_branches() -> None:
    """Past end of life -> warn, citing the lifecycle table; within 180 days -> an informational note."""
    late = replace(NO_POLICY, as_of=datetime.date(2026, 11, 21))
    eol = findings(late, gpus=gpus(1))["driver.eol"]
    assert eol.action is Action.INVESTIGATE and "past end of life June 2026" in eol.message
    assert eol.source is not None and eol.source.startswith("knowledge:driver-branches (https://docs.nvidia.com/")
    assert "R580 (Long Term Support Branch, end of life June 2028)" in (eol.remediation or "")
    soon = findings(replace(NO_POLICY, as_of=datetime.date(2026, 3, 1)), gpus=gpus(1))["driver.eol"]
    assert soon.action is Action.NONE and soon.severity is Severity.INFO and "92 days" in soon.message


def test_a_rule_can_switch_a_builtin_check_off_visibly(tmp_path: Path) -> None:
    """`disable` skips the check for the rule's hosts and leaves an info finding with the reason and line."""
    path = write(tmp_path, 'schema: auditor.policy/1\nrules:\n  - id: edge\n    disable: {driver.eol: "until Q3"}\n')
    policy = load_policies([path], as_of=datetime.date(2026, 11, 21), checks=CHECK_IDS)
    result = evaluate(policy, HOST, facts(gpus=gpus(1)))
    (off,) = result.findings
    assert off.rule == "driver.eol" and off.action is Action.NONE and "until Q3" in off.message
    assert off.source == f"{path}:4" and "driver.eol" not in result.checks


def test_driver_arch_rolls_back_a_branch_that_dropped_the_gpu() -> None:
    """Volta's last branch is R580: R590 on a V100 is a rollback."""
    found = findings(NO_POLICY, driver={"version": "590.48.01", "kernel_module": "590.48.01"}, gpus=gpus(1, V100))
    assert found["driver.arch"].action is Action.ROLLBACK and "R580" in (found["driver.arch"].remediation or "")


@pytest.mark.parametrize(
    ("toolkit", "driver", "action", "text"),
    [
        ("12.4.1", "535.104.05", Action.INVESTIGATE, "only through minor-version compatibility"),
        ("13.0.2", "535.104.05", Action.UPGRADE, "needs a newer driver or a cuda-compat package"),
        ("12.2.2", "470.82.01", Action.UPGRADE, "cannot run CUDA 12.2.2"),
    ],
)
def test_cuda_driver_check(toolkit: str, driver: str, action: Action, text: str) -> None:
    """Each installed toolkit: minor-version -> warn, forward-compat without a package -> upgrade, else upgrade."""
    found = findings(
        NO_POLICY,
        driver={"version": driver, "kernel_module": driver},
        cuda={"toolkits": [{"path": "/usr/local/cuda", "version": toolkit}]},
        tensorrt={"version": None, "modules": []},
        gpus=gpus(1),
    )
    assert found["cuda.driver"].action is action and text in found["cuda.driver"].message
    assert (found["cuda.driver"].source or "").startswith("knowledge:")


def test_an_installed_cuda_compat_package_makes_forward_compat_pass() -> None:
    """CUDA 13.0 on R535 with cuda-compat-13-0 on a data-center GPU: informational, not a violation."""
    result = evaluate(
        NO_POLICY,
        HOST,
        facts(
            cuda={
                "toolkits": [{"path": "/usr/local/cuda-13.0", "version": "13.0.2"}],
                "compat": [{"path": "/usr/local/cuda-13.0/compat", "version": "580.95.05", "cuda": "13.0"}],
            },
            tensorrt={"version": None, "modules": []},
            gpus=gpus(1),
        ),
    )
    (info,) = [f for f in result.findings if f.rule == "cuda.driver"]
    assert info.action is Action.NONE and "cuda-compat-13-0" in info.message
    assert verdict_of(result.findings) is Verdict.OK


def test_a_compat_package_the_driver_no_longer_needs_is_flagged() -> None:
    """NVIDIA says remove compat packages after upgrading to a native branch."""
    found = findings(
        NO_POLICY,
        driver={"version": "580.95.05", "kernel_module": "580.95.05"},
        cuda={
            "toolkits": [],
            "compat": [{"path": "/usr/local/cuda-12.4/compat", "version": "550.54.15", "cuda": "12.4"}],
        },
        tensorrt={"version": None, "modules": []},
        gpus=gpus(1),
    )
    assert found["cuda.driver"].action is Action.INVESTIGATE and "not needed" in found["cuda.driver"].message


def test_cuda_arch_check() -> None:
    """CUDA 13 on Volta rolls back to 12.x; CUDA 11.4 on Hopper upgrades."""
    volta = findings(
        NO_POLICY,
        driver={"version": "580.95.05", "kernel_module": "580.95.05"},
        cuda={"toolkits": [{"path": "/usr/local/cuda-13.0", "version": "13.0.2"}]},
        tensorrt={"version": None, "modules": []},
        gpus=gpus(1, V100),
    )
    assert volta["cuda.arch"].action is Action.ROLLBACK and volta["cuda.arch"].expected == "CUDA 12.x"
    hopper = findings(
        NO_POLICY,
        cuda={"toolkits": [{"path": "/usr/local/cuda-11.4", "version": "11.4.4"}]},
        tensorrt={"version": None, "modules": []},
        gpus=gpus(1, {"index": 0, "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}),
    )
    assert hopper["cuda.arch"].action is Action.UPGRADE and hopper["cuda.arch"].expected == "CUDA >= 11.8"


def test_tensorrt_arch_check() -> None:
    """TensorRT 10.5 on Volta rolls back to 10.4; TensorRT 10.3 on Blackwell upgrades to 10.8."""
    volta = findings(NO_POLICY, tensorrt={"version": "10.5.0.18"}, cuda={"toolkits": []}, gpus=gpus(1, V100))
    assert (
        volta["tensorrt.arch"].action is Action.ROLLBACK and volta["tensorrt.arch"].expected == "TensorRT 10.4 or older"
    )
    blackwell = {"index": 0, "name": "NVIDIA B200", "compute_capability": "10.0"}
    newer = findings(NO_POLICY, tensorrt={"version": "10.3.0.26"}, cuda={"toolkits": []}, gpus=gpus(1, blackwell))
    assert (
        newer["tensorrt.arch"].action is Action.UPGRADE and newer["tensorrt.arch"].expected == "TensorRT 10.8 or newer"
    )


def test_tensorrt_cuda_check() -> None:
    """No build for the installed CUDA -> upgrade; the package's CUDA build decides; a stated driver floor holds."""
    no_build = findings(
        NO_POLICY, cuda={"toolkits": [{"path": "/usr/local/cuda-13.0", "version": "13.0.2"}]}, gpus=gpus(1)
    )
    assert no_build["tensorrt.cuda"].action is Action.UPGRADE and "builds for CUDA" in no_build["tensorrt.cuda"].message
    packaged = findings(
        NO_POLICY,
        cuda={"toolkits": [{"path": "/usr/local/cuda-13.0", "version": "13.0.2"}]},
        tensorrt={"packages": [{"name": "libnvinfer8", "version": "8.6.1.6-1+cuda12.0", "manager": "dpkg"}]},
        gpus=gpus(1),
    )
    assert "tensorrt.cuda" not in packaged  # the +cuda12.0 build runs on R535
    stated = findings(
        NO_POLICY,
        driver={"version": "530.30.02", "kernel_module": "530.30.02"},
        cuda={"toolkits": []},
        tensorrt={
            "version": "10.16.0.72",
            "packages": [{"name": "tensorrt-cu12-libs", "version": "10.16.0.72", "manager": "pip"}],
        },
        gpus=gpus(1),
    )
    assert stated["tensorrt.cuda"].action is Action.UPGRADE and "r535" in (
        stated["tensorrt.cuda"].message + (stated["tensorrt.cuda"].remediation or "")
    )


@pytest.mark.parametrize(
    ("cudnn", "expected"),
    [
        ({"version": "8.9.5", "installs": [{"version": "8.9.5", "source": "header"}]}, None),
        ({"version": None, "installs": []}, "none is installed"),
        ({"version": "8.4.1", "installs": [{"version": "8.4.1", "source": "header"}]}, "installed: 8.4.1"),
        ({"version": "9.1.0", "installs": [{"version": "9.1.0", "source": "library"}]}, "installed: 9.1.0"),
        ({"version": None, "installs": [], "error": "timed out"}, "could not evaluate"),
    ],
)
def test_tensorrt_cudnn_check(cudnn: dict[str, object], expected: str | None) -> None:
    """TensorRT 8.5 needs cuDNN 8.6.0 or a newer 8.x: missing, older and other-major are upgrades."""
    found = findings(NO_POLICY, tensorrt={"version": "8.5.3.1"}, cudnn=cudnn, gpus=gpus(1))
    if expected is None:
        assert "tensorrt.cudnn" not in found
    else:
        assert expected in found["tensorrt.cudnn"].message


def test_tensorrt_8_6_and_10_do_not_need_cudnn() -> None:
    """cuDNN is optional from TensorRT 8.6 (knowledge-2026-12.md section 4): no finding without it."""
    assert "tensorrt.cudnn" not in findings(NO_POLICY, cudnn={"version": None, "installs": []}, gpus=gpus(1))
    found = findings(
        NO_POLICY,
        tensorrt={"version": "10.3.0.26"},
        cudnn={"version": None, "installs": []},
        cuda={"toolkits": [{"path": "/usr/local/cuda-12.4", "version": "12.4.1"}]},
        driver={"version": "550.54.15", "kernel_module": "550.54.15"},
        gpus=gpus(1),
    )
    assert "tensorrt.cudnn" not in found


# -- policy features ------------------------------------------------------------------------------


STACKED = """schema: auditor.policy/1
stacks:
  golden:
    image: nvcr.io/nvidia/tensorrt:23.08-py3
    driver: {min: "535.104.05", max: "535", target: "535.183.01"}
    cuda: "12.2"
    cudnn: {min: "8.9"}
    tensorrt: "8.6.1.6"
rules:
  - id: serving
    stack: golden
    tensorrt: {min: "8.6"}
    severity: critical
    action: rollback
    remediation: "Follow runbook GPU-7."
"""


def test_stack_bounds_pins_and_rule_overrides(tmp_path: Path) -> None:
    """A rule gets its stack's bounds, its own keys override them; severity/action/remediation apply to its findings."""
    policy = replace(load_policy(write(tmp_path, STACKED), checks=CHECK_IDS), as_of=AS_OF)
    (rule,) = policy.rules
    assert [b.component for b in rule.bounds] == ["driver", "cuda", "cudnn", "tensorrt"]
    assert rule.bounds[-1].min == "8.6" and rule.bounds[-1].version is None  # the rule's own tensorrt wins
    found = findings(
        policy,
        cuda={"toolkits": [{"path": "/usr/local/cuda-11.8", "version": "11.8.0"}]},
        cudnn={"version": "8.6.0", "installs": []},
        gpus=gpus(1),
    )
    pin = found["serving/cuda.version"]
    assert pin.severity is Severity.CRITICAL and pin.action is Action.ROLLBACK  # overridden (a pin below would upgrade)
    assert pin.remediation == "Follow runbook GPU-7. Upgrade CUDA toolkit to 12.2."
    assert found["serving/cudnn.min"].actual == "8.6.0"


def test_pins_upgrade_below_and_roll_back_above(tmp_path: Path) -> None:
    """A pinned version: below it -> upgrade to it; above it -> rollback to the target."""
    policy = replace(
        load_policy(
            write(
                tmp_path,
                "schema: auditor.policy/1\nrules:\n  - id: p\n    driver: {version: '535', target: '535.183.01'}\n",
            ),
            checks=CHECK_IDS,
        ),
        as_of=AS_OF,
    )
    below = findings(policy, driver={"version": "470.82.01", "kernel_module": "470.82.01"}, gpus=gpus(1))[
        "p/driver.version"
    ]
    above = findings(policy, driver={"version": "580.95.05", "kernel_module": "580.95.05"}, gpus=gpus(1))[
        "p/driver.version"
    ]
    assert below.action is Action.UPGRADE and above.action is Action.ROLLBACK
    assert above.remediation == "Roll back NVIDIA driver to 535.183.01."


def test_inconclusive_findings_keep_their_action_under_overrides(tmp_path: Path) -> None:
    """A rule's action override never turns "could not tell" into a verdict."""
    policy = replace(load_policy(write(tmp_path, STACKED), checks=CHECK_IDS), as_of=AS_OF)
    found = findings(policy, cudnn={"version": None, "installs": [], "error": "timed out"}, gpus=gpus(1))
    assert found["serving/cudnn.present"].inconclusive and found["serving/cudnn.present"].action is Action.INVESTIGATE


def test_image_check(tmp_path: Path) -> None:
    """The stack's image: native on R535 (no finding), forward-compat only on R470 (warn), cited to policy and table."""
    policy = replace(load_policy(write(tmp_path, STACKED), checks=CHECK_IDS), as_of=AS_OF)
    assert "serving/image" not in findings(policy, gpus=gpus(1))
    old = findings(policy, driver={"version": "470.82.01", "kernel_module": "470.82.01"}, gpus=gpus(1))["serving/image"]
    assert old.action is Action.ROLLBACK  # the rule's override
    assert "forward compatibility" in old.message
    assert (old.source or "").endswith("rel-23-08.html)") and "policy.yaml:4" in (old.source or "")


def test_gpu_selectors_undecidable_without_a_gpu_list_are_inconclusive(tmp_path: Path) -> None:
    """A rule limited to H100s, on a host whose GPUs could not be listed: could not evaluate, never skipped silently."""
    path = write(
        tmp_path,
        "schema: auditor.policy/1\nrules:\n  - id: hopper\n    select: {gpus: ['*H100*']}\n    driver: {min: '580'}\n",
    )
    policy = load_policies([path], as_of=AS_OF, checks=CHECK_IDS)
    found = findings(policy, gpus={"count": None, "devices": [], "error": "nvidia-smi timed out"})
    assert found["hopper/select"].inconclusive and "nvidia-smi timed out" in found["hopper/select"].message
    assert "hopper/select" not in findings(policy, gpus=gpus(1))


def test_driver_arch_judges_both_ends_of_the_architecture_window() -> None:
    """R440 on an A100 and R560 on a B200 cannot drive them (upgrade); Orin's first branch is unknown (inconclusive)."""
    ampere = findings(NO_POLICY, driver={"version": "440.33.01", "kernel_module": "440.33.01"}, gpus=gpus(1))
    assert ampere["driver.arch"].action is Action.UPGRADE and ampere["driver.arch"].expected == "R450 or newer"
    b200 = {"index": 0, "name": "NVIDIA B200", "compute_capability": "10.0"}
    blackwell = findings(NO_POLICY, driver={"version": "560.35.03", "kernel_module": "560.35.03"}, gpus=gpus(8, b200))
    assert blackwell["driver.arch"].action is Action.UPGRADE and "R570" in blackwell["driver.arch"].message
    orin = {"index": 0, "name": "Orin (nvgpu)", "compute_capability": "8.7"}
    jetson = findings(NO_POLICY, gpus=gpus(1, orin))
    assert jetson["driver.arch"].inconclusive and "not in the sources" in jetson["driver.arch"].message


def test_a_branch_newer_than_the_knowledge_is_inconclusive_with_its_age() -> None:
    """R625 is not guessed at: driver.eol is inconclusive and says how old the knowledge is."""
    found = findings(NO_POLICY, driver={"version": "625.10.01", "kernel_module": "625.10.01"}, gpus=gpus(1))
    assert found["driver.eol"].inconclusive and "knowledge as of 2026-12-04" in found["driver.eol"].message
    assert found["driver.arch"].inconclusive


def test_live_hosts_are_judged_by_the_compute_capability_they_report_not_by_name() -> None:
    """A GPU name the table lacks, reporting CC 9.0, is still judged (Hopper needs R520): no name needed."""
    unnamed = {"index": 0, "name": "NVIDIA Z999 Engineering Sample", "compute_capability": "9.0"}
    assert findings(NO_POLICY, gpus=gpus(1, unnamed)).get("driver.arch") is None  # R535 runs Hopper
    old = findings(NO_POLICY, driver={"version": "470.82.01", "kernel_module": "470.82.01"}, gpus=gpus(1, unnamed))
    assert old["driver.arch"].action is Action.UPGRADE and "R520" in old["driver.arch"].message
