"""Verdicts from facts and policy: each built-in check and each kind of bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.evaluate import evaluate
from auditor.findings import Action, Verdict, verdict_of
from auditor.inventory import Host
from auditor.policy import EMPTY_POLICY, Policy, load_policy
from tests.helpers import facts

HOST = Host("gpu-01", "10.0.0.1", groups=("serving", "a100"))


@pytest.fixture()
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(
        """schema: auditor.policy/1
rules:
  - id: base
    driver: {min: "535.104.05", max: "580", deny: ["550.54.14"]}
    cuda: {min: "12.2"}
    tensorrt: {allow: ["8.6.1.6", "10.3.0.26"]}
  - id: hgx
    select: {groups: [a100]}
    gpus: {count: 8}
"""
    )
    return load_policy(path)


def verdict(policy: Policy, **sections: object) -> tuple[Verdict, list[str]]:
    result = evaluate(policy, HOST, facts(**sections))
    return verdict_of(result.findings), [f.rule for f in result.findings]


def test_compliant_host_is_ok_and_lists_every_check(policy: Policy) -> None:
    """Nothing violated: verdict ok, and the checks run are reported (for JUnit passes)."""
    result = evaluate(policy, HOST, facts(gpus={"count": 8, "devices": []}))
    assert result.findings == ()
    assert set(result.checks) >= {
        "base/driver.min",
        "base/driver.max",
        "base/driver.deny",
        "base/cuda.min",
        "base/tensorrt.allow",
        "hgx/gpus.count",
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
    got, rules = verdict(policy, driver=driver, gpus={"count": 8, "devices": []})
    assert got is expected
    assert rule in rules


def test_missing_required_component_is_an_upgrade(policy: Policy) -> None:
    """A policy that bounds TensorRT on a host without it asks for an install."""
    got, rules = verdict(policy, tensorrt={"version": None, "modules": []}, gpus={"count": 8, "devices": []})
    assert (got, rules) == (Verdict.UPGRADE, ["base/tensorrt.present"])


def test_allow_list_distinguishes_upgrade_from_rollback(policy: Policy) -> None:
    """Below every allowed version -> upgrade; otherwise -> rollback."""
    assert verdict(policy, tensorrt={"version": "8.5.3.1"}, gpus={"count": 8, "devices": []})[0] is Verdict.UPGRADE
    assert verdict(policy, tensorrt={"version": "10.13.3.9"}, gpus={"count": 8, "devices": []})[0] is Verdict.ROLLBACK


def test_newest_toolkit_must_meet_the_floor(policy: Policy) -> None:
    """With 11.8 and 12.2 installed, a 12.2 floor holds; with only 11.8 it does not."""
    both = {
        "toolkits": [
            {"path": "/usr/local/cuda-11.8", "version": "11.8"},
            {"path": "/usr/local/cuda-12.2", "version": "12.2.2"},
        ]
    }
    only_old = {"toolkits": [{"path": "/usr/local/cuda-11.8", "version": "11.8"}]}
    assert verdict(policy, cuda=both, gpus={"count": 8, "devices": []})[0] is Verdict.OK
    assert verdict(policy, cuda=only_old, gpus={"count": 8, "devices": []})[1] == ["base/cuda.min"]


def test_gpu_count_and_no_gpu(policy: Policy) -> None:
    """Fewer GPUs than expected and a driver with no GPU both ask a person to look."""
    assert verdict(policy, gpus={"count": 7, "devices": []}) == (Verdict.WARN, ["hgx/gpus.count"])
    got, rules = verdict(EMPTY_POLICY, gpus={"count": 0, "devices": []})
    assert (got, rules) == (Verdict.WARN, ["gpu.visible"])


def test_collector_failure_is_inconclusive_not_pass_or_fail(policy: Policy) -> None:
    """A timed-out TensorRT collector cannot satisfy or violate the TensorRT bound."""
    result = evaluate(
        policy,
        HOST,
        facts(
            tensorrt={"version": None, "modules": [], "error": "timed out after 20.0s"},
            gpus={"count": 8, "devices": []},
        ),
    )
    (finding,) = result.findings
    assert finding.inconclusive and finding.action is Action.INVESTIGATE
    assert "could not evaluate" in finding.message and "timed out" in finding.message


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
    """A bound's finding names the file:line it was written on."""
    result = evaluate(
        policy,
        HOST,
        facts(driver={"version": "470.82.01", "kernel_module": "470.82.01"}, gpus={"count": 8, "devices": []}),
    )
    (finding,) = result.findings
    assert finding.source is not None and finding.source.endswith("policy.yaml:4")
    assert finding.expected == ">= 535.104.05" and finding.actual == "470.82.01"
