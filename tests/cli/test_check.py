"""`auditor check`: every file validated without contacting a host, and which rules apply where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.__main__ import main
from tests.support.demo import DEMO_AS_OF
from tests.support.paths import ROOT

AS_OF = ["--as-of", DEMO_AS_OF.isoformat()]


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_is_valid_and_shows_rules_per_host(capsys: pytest.CaptureFixture[str]) -> None:
    """--demo: exit 0; each host lists its rules, expanded engines, switched-off checks and waivers."""
    code, out, _ = check(capsys, "--demo", *AS_OF)
    assert code == 0
    assert "  t4-edge-01  [edge, t4]  Tesla T4 (CC 7.5)\n      rules: fleet-driver, trt8\n" in out
    assert "      engine: /srv/models/resnet50/sm75.plan  (trt8: /srv/models/resnet50/{sm}.plan)" in out
    assert (
        "      engine: /srv/models/detector/nvidia-a10-sm86.plan  (detector-engines: /srv/models/detector/{gpu}-{sm}.plan)"
        in out
    )
    assert "      off: driver.eol (trt8, " in out
    assert "      waiver: hgx-gpu-count/gpus.count (until 2099-12-31, dc-ops@example.com, " in out
    assert "merge:    rule 'hopper-driver' at " in out
    assert "waiver for 'driver.eol' on t4-batch-* EXPIRED 2026-06-30" in out
    assert (
        "h100-serve-01  [serving, h100]  NVIDIA H100 80GB HBM3 (CC 9.0)\n      rules: fleet-driver, serving, hgx-gpu-count, hopper-driver\n"
        in out
    )


def test_strict_makes_warnings_fatal(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's expired waiver is a warning; --strict turns it into exit 2."""
    code, _, err = check(capsys, "--demo", "--strict", *AS_OF)
    assert code == 2 and "--strict: 1 warning(s)" in err


def test_inventory_hosts_show_gpu_selectors_as_pending(capsys: pytest.CaptureFixture[str]) -> None:
    """Without probing, a GPU-model selector cannot be decided: it is listed as 'maybe'; unknown groups warn."""
    policies = ["-p", str(ROOT / "policies/demo.yaml"), "-p", str(ROOT / "policies/demo-site.yaml")]
    code, out, _ = check(capsys, "-i", str(ROOT / "inventories/example.yaml"), *policies, *AS_OF, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["valid"] is True
    assert data["hosts"]["gpu-a100-01"]["rules"] == ["fleet-driver", "serving", "hgx-gpu-count"]
    assert data["hosts"]["gpu-a100-01"]["maybe"] == ["hopper-driver (if a GPU matches *H100*)"]
    assert any("selects group 'legacy', which the inventory does not have" in w for w in data["warnings"])
    assert any("rule 'training' selects no host" in w for w in data["warnings"])


def test_every_problem_in_every_file_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A broken inventory, policy and waivers file: exit 2, all problems on stderr with file:line, nothing on stdout."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("all:\n  hosts: [a]\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("schema: auditor.policy/1\nrules:\n  - id: r\n    stack: missing\n    drivr: {min: '535'}\n")
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("schema: auditor.waivers/1\nwaivers:\n  - finding: x\n")
    code, out, err = check(capsys, "-i", str(inventory), "-p", str(policy), "--waivers", str(waivers))
    assert code == 2 and out == ""
    assert f"{inventory}:2: 'hosts' of group 'all' must be a mapping" in err
    assert f"{policy}:5: unknown key 'drivr' in rule #1; did you mean 'driver'?" in err
    assert f"{waivers}:3: waiver #1 needs the key 'hosts'" in err


def test_check_never_starts_the_simulated_fleet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--simulate validates the fleet file only: a host with fault 'hang' costs nothing."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        'schema: auditor.fleet/1\nhosts:\n  stuck: {gpus: [{model: "Tesla T4"}], driver: "580.95.05", fault: hang}\n'
    )
    code, out, _ = check(capsys, "--simulate", str(fleet))
    assert code == 0 and "stuck  []  Tesla T4 (CC 7.5)" in out and "rules: (none: built-in checks only)" in out


GUIDE_FLEET = """\
schema: auditor.fleet/1
hosts:
  a100-01: {groups: [serving], gpus: [{model: "NVIDIA A100-SXM4-80GB", count: 8}], driver: "535.104.05"}
  a30-01: {groups: [serving], gpus: [{model: "NVIDIA A30", count: 4}], driver: "535.104.05"}
"""
GUIDE_POLICY = """\
schema: auditor.policy/1
name: deployment-guide
stacks:
  trt-23-09:
    image: nvcr.io/nvidia/tensorrt:23.09-py3
    driver: {min: "525.60.13"}
rules:
  - id: serving
    select: {groups: [serving]}
    stack: trt-23-09
    engines: ["/models/resnet/{sm}.plan"]
"""


def test_check_flags_bounds_below_the_image_floor_and_one_plan_for_several_gpu_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stack allowing 525.60.13 with the 23.09 image (floor 535), and {sm} serving A100 and A30: two warnings."""
    fleet, policy = tmp_path / "fleet.yaml", tmp_path / "policy.yaml"
    fleet.write_text(GUIDE_FLEET)
    policy.write_text(GUIDE_POLICY)
    code, out, _ = check(capsys, "--simulate", str(fleet), "-p", str(policy), *AS_OF)
    assert code == 0
    assert f"{policy}:6: stack 'trt-23-09': driver min 525.60.13 is below the floor 535 of its own image" in out
    assert (
        f"{policy}:11: engine /models/resnet/{{sm}}.plan of rule 'serving' is one plan (/models/resnet/sm80.plan) "
        "for 2 GPU models (NVIDIA A100-SXM4-80GB, NVIDIA A30)" in out
    )
    assert "use {gpu} in the path" in out
    code, _, err = check(capsys, "--simulate", str(fleet), "-p", str(policy), "--strict", *AS_OF)
    assert code == 2 and "2 warning(s)" in err


def test_a_policy_alone_is_checked_without_an_inventory(capsys: pytest.CaptureFixture[str]) -> None:
    """-p alone: exit 0, the rules listed, no hosts, and no warning about hosts or groups nothing was given for."""
    policy = ROOT / "policies/demo.yaml"
    code, out, err = check(capsys, "-p", str(policy), *AS_OF)
    assert code == 0 and err == ""
    assert out.startswith(
        "targets:  none (the policy alone; -i, --simulate or --demo adds hosts to check it against)\n"
    )
    assert f"  fleet-driver  {policy}:23\n      selects every host\n" in out
    assert "\nhosts\n" not in out and "warnings" not in out
    assert out.endswith("valid: 1 file checked; no host was contacted\n")
    code, out, _ = check(capsys, "-p", str(policy), *AS_OF, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["valid"] is True and data["targets"] is None and data["hosts"] == {}
    assert data["rules"][0] == {"id": "fleet-driver", "location": f"{policy}:23"}


def test_a_policy_alone_still_warns_about_what_needs_no_host(capsys: pytest.CaptureFixture[str]) -> None:
    """Without an inventory an expired waiver and driver bounds below the image's floor still warn (--strict: 2)."""
    waivers = str(ROOT / "policies/demo-waivers.yaml")
    code, out, _ = check(capsys, "-p", str(ROOT / "policies/demo.yaml"), "--waivers", waivers, *AS_OF)
    assert code == 0
    assert "warnings (1)\n" in out and "waiver for 'driver.eol' on t4-batch-* EXPIRED 2026-06-30" in out
    code, _, err = check(capsys, "-p", str(ROOT / "policies/demo.yaml"), "--waivers", waivers, "--strict", *AS_OF)
    assert code == 2 and "--strict: 1 warning(s)" in err


def test_a_broken_policy_alone_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two broken policy files alone: exit 2, the problems of both as file:line on stderr, nothing on stdout."""
    policy, other = tmp_path / "policy.yaml", tmp_path / "other.yaml"
    policy.write_text("schema: auditor.policy/1\nrules:\n  - id: r\n    drivr: {min: '535'}\n")
    other.write_text("schema: auditor.policy/1\nrules:\n  - id: s\n    stack: missing\n")
    code, out, err = check(capsys, "-p", str(policy), "-p", str(other))
    assert code == 2 and out == ""
    assert f"{policy}:4: unknown key 'drivr' in rule #1; did you mean 'driver'?" in err
    assert f"{other}:4:" in err and "'missing'" in err


def test_check_with_nothing_to_check_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """No policy, waivers nor inventory: exit 2 saying what to name."""
    code, out, err = check(capsys)
    assert code == 2 and out == ""
    assert "nothing to check: name policy files (-p), waivers (--waivers) or an inventory" in err
