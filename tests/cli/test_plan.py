"""``auditor plan`` end to end over the simulated SSH fleet: targets, formats, history, Terraform exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from auditor.__main__ import main
from tests.support.demo import FAST_PROBE_TIMEOUT

FLEET = """\
schema: auditor.fleet/1
name: plan-fleet
repository: {tensorrt: ["10.13.3.9"]}
hosts:
  a100-1:
    groups: [serving]
    gpus: [{model: "NVIDIA A100-SXM4-80GB", count: 1}]
    driver: "580.95.05"
    cuda_toolkits: ["12.4.1"]
    tensorrt: "10.3.0.26"
    python_tensorrt: "10.3.0.26"
    engines:
      /m/sm80.plan: {tensorrt: "10.3.0.26", compute_capability: "8.0"}
  a100-2:
    groups: [serving]
    gpus: [{model: "NVIDIA A100-SXM4-80GB", count: 1}]
    driver: "580.95.05"
    cuda_toolkits: ["12.4.1"]
    tensorrt: "10.3.0.26"
    python_tensorrt: "10.3.0.26"
    vars: {audit_skip_upgrade: true}
  t4-1:
    groups: [serving]
    gpus: [{model: "Tesla T4", count: 1}]
    driver: "580.95.05"
    cuda_toolkits: ["13.0.2"]
    tensorrt: "10.13.3.9"
    python_tensorrt: "10.13.3.9"
    engines:
      /m/sm75.plan: {tensorrt: "10.13.3.9", compute_capability: "7.5"}
"""
POLICY = """\
schema: auditor.policy/1
name: plan-cli
stacks:
  serving:
    driver: {min: "580.65.06", max: "580", target: "580.95.05"}
    tensorrt: {min: "10.13", target: "10.13.3.9"}
    engines: ["/m/{sm}.plan"]
rules:
  - id: serving
    select: {groups: [serving]}
    driver: {min: "535"}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    fleet, policy = tmp_path / "fleet.yaml", tmp_path / "policy.yaml"
    fleet.write_text(FLEET)
    policy.write_text(POLICY)
    return fleet, policy


def plan(fleet: Path, policy: Path, *args: str) -> int:
    timeout = ["--probe-timeout", str(FAST_PROBE_TIMEOUT)]
    return main(["plan", "--simulate", str(fleet), "-p", str(policy), *timeout, *args])


def test_plan_over_ssh_exits_2_with_steps_skips_and_compliant_hosts(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh audit: the engine the stack names is probed and rebuilt, the skip variable holds, exit 2."""
    assert plan(*files, "--to", "serving", "--format", "json") == 2
    document = json.loads(capsys.readouterr().out)
    hosts = {h["name"]: h for h in document["hosts"]}
    assert [(s["action"], s["component"], s["path"]) for s in hosts["a100-1"]["steps"]] == [
        ("upgrade", "tensorrt", None),
        ("rebuild-engine", "engine", "/m/sm80.plan"),
    ]
    assert hosts["a100-1"]["steps"][1]["compute_capability"] == "8.0"
    assert hosts["a100-2"]["status"] == "skipped" and "audit_skip_upgrade" in hosts["a100-2"]["note"]
    assert hosts["t4-1"]["status"] == "compliant" and hosts["t4-1"]["steps"] == []
    assert document["waves"] == [{"wave": 0, "name": "wave_0_canary", "canary": True, "hosts": ["a100-1"]}]
    assert document["source"]["kind"] == "audit"


def test_nothing_to_do_exits_0(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """When every host already runs the --set version the plan says so and exits 0."""
    assert plan(*files, "--set", "driver=580.95.05") == 0
    out = capsys.readouterr().out
    assert "exit 0: nothing to do: all 3 hosts on the target" in out and "Compliant, no steps (3)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "serving", "--bogus"], "unrecognized arguments"),
        ([], "name a target"),
        (["--to", "servng"], "did you mean 'serving'"),
        (["--to", "serving", "--format", "html"], "unknown format 'html'"),
        (["--to", "serving", "--max-unavailable", "0"], "expected a count of 1 or more"),
        (["--set", "tensort=10.13"], "did you mean 'tensorrt'"),
    ],
)
def test_every_error_exits_1_because_2_means_changes(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Usage and input errors exit 1 (Terraform's convention), before any host is contacted."""
    assert plan(*files, *args) == 1
    assert message in capsys.readouterr().err


def test_formats_go_to_files_atomically_and_stdout_stays_empty(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """md and ansible with paths are written as files; nothing reaches stdout."""
    md, waves = tmp_path / "change.md", tmp_path / "waves.yaml"
    assert plan(*files, "--to", "serving", "--format", f"md:{md}", "--format", f"ansible:{waves}") == 2
    assert capsys.readouterr().out == ""
    assert md.read_text().startswith("# Upgrade plan: serving")
    inventory = yaml.safe_load(waves.read_text())
    assert list(inventory["all"]["children"]) == ["wave_0_canary"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_from_history_plans_from_the_newest_stored_run_without_auditing(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--from-history uses the stored facts (a later change to the fleet is not seen) and says which run."""
    fleet, policy = files
    assert plan(fleet, policy, "--from-history", "--to", "serving") == 1
    assert "no history yet" in capsys.readouterr().err
    assert main(["report", "--simulate", str(fleet), "-p", str(policy), "--format", "json"]) in (0, 1)
    capsys.readouterr()
    fleet.write_text(FLEET.replace('tensorrt: "10.13.3.9"', 'tensorrt: "10.3.0.26"'))
    assert plan(fleet, policy, "--from-history", "--to", "serving", "--format", "json") == 2
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["source"]["kind"] == "history" and document["source"]["run_id"] == 1
    assert "planning from stored run #1" in captured.err
    # the stored run never test-loaded the target's engine (no rule asked for it): not compliant, inconclusive
    t4 = next(h for h in document["hosts"] if h["name"] == "t4-1")
    assert t4["status"] == "inconclusive" and t4["warnings"][0]["unknown"] is True


def test_demo_plan_to_the_serving_stack(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo towards serving-2026: only the serving hosts are planned, canary first, exit 2; the others are
    skipped with the reason (t4-edge-01 is pinned to trt8-2023), so no edge box lands in the canary wave."""
    args = ["plan", "--demo", "--to", "serving-2026", "--as-of", "2026-11-21", "--format", "json"]
    assert main([*args, "--probe-timeout", str(FAST_PROBE_TIMEOUT)]) == 2
    document = json.loads(capsys.readouterr().out)
    hosts = {h["name"]: h for h in document["hosts"]}
    targeted = {name for name, h in hosts.items() if h["targeted"]}
    assert targeted == {name for name, h in hosts.items() if "serving" in h["groups"]}
    assert document["left_out"]["unreachable"] == ["h100-serve-03"]
    assert hosts["h100-serve-01"]["status"] == "compliant"
    edge = hosts["t4-edge-01"]
    assert edge["status"] == "skipped" and edge["steps"] == [] and edge["wave"] is None
    assert edge["note"].startswith("pinned to stack trt8-2023 by rule trt8 (")
    assert hosts["v100-legacy-01"]["note"].startswith("no rule using stack serving-2026 selects it (serving at ")
    waves = [name for wave in document["waves"] for name in wave["hosts"]]
    assert waves and set(waves) <= targeted and document["waves"][0]["name"] == "wave_0_canary"
    a10 = hosts["a10-infer-01"]  # its rollback driver is gone from the repositories: blocked, in no wave
    assert a10["status"] == "blocked" and a10["wave"] is None and a10["targeted"]
    assert [s["action"] for s in a10["steps"]] == ["upgrade", "reboot"]
    assert [b["kind"] for b in a10["blockers"]] == ["rollback"]
    assert hosts["a10-infer-03"]["wave"] == 0


def test_demo_plan_with_set_versions_plans_every_host(capsys: pytest.CaptureFixture[str]) -> None:
    """--set names no stack: the edge box is planned towards the versions, and Volta is blocked with sources."""
    args = ["plan", "--demo", "--limit", "t4-edge-01,v100-legacy-01", "--as-of", "2026-11-21", "--format", "json"]
    versions = ["--set", "driver=580.95.05", "--set", "cuda=13.0.2", "--set", "tensorrt=10.13.3.9"]
    assert main([*args, *versions, "--probe-timeout", str(FAST_PROBE_TIMEOUT)]) == 2
    document = json.loads(capsys.readouterr().out)
    hosts = {h["name"]: h for h in document["hosts"]}
    v100 = hosts["v100-legacy-01"]
    assert v100["status"] == "blocked" and {b["component"] for b in v100["blockers"]} == {"cuda", "tensorrt"}
    assert all(b["source"] for b in v100["blockers"])
    assert document["waves"][0]["hosts"] == ["t4-edge-01"]
    t4 = hosts["t4-edge-01"]["steps"]
    assert [s["action"] for s in t4] == ["upgrade", "reboot", "upgrade", "upgrade", "rebuild-engine"]
