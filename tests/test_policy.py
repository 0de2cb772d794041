"""Policy files: validation with file:line and did-you-mean, selectors, bound locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError, InputErrors
from auditor.inventory import Host
from auditor.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_demo_policy_loads_with_locations() -> None:
    """Each bound remembers the line it was written on, for citing in findings."""
    policy = load_policy(ROOT / "policies" / "demo.yaml")
    assert [r.id for r in policy.rules] == ["fleet-driver", "serving-stack", "hgx-gpu-count", "h100-driver"]
    driver = policy.rules[0].bounds[0]
    assert (driver.min, driver.max, driver.deny) == ("535.104.05", "580", ("550.54.14",))
    assert driver.cite("deny").endswith("demo.yaml:11")


def test_selectors_match_groups_hosts_and_gpu_names(tmp_path: Path) -> None:
    """A rule applies when every listed selector matches; GPU globs are case-insensitive."""
    policy = load_policy(
        write(
            tmp_path,
            """schema: auditor.policy/1
rules:
  - id: everyone
    driver: {min: "535"}
  - id: a100-serving
    select: {groups: [serving], hosts: ["gpu-*"], gpus: ["*a100*"]}
    gpus: {count: 8}
""",
        )
    )
    host = Host("gpu-01", "10.0.0.1", groups=("serving",))
    assert [r.id for r in policy.rules_for(host, ["NVIDIA A100-SXM4-80GB"])] == ["everyone", "a100-serving"]
    assert [r.id for r in policy.rules_for(host, ["NVIDIA L4"])] == ["everyone"]
    assert [r.id for r in policy.rules_for(Host("cpu-01", "x", groups=("serving",)), ["NVIDIA A100"])] == ["everyone"]


def test_unquoted_numbers_keep_their_spelling(tmp_path: Path) -> None:
    """`min: 12.10` means CUDA 12.10, not the float 12.1."""
    policy = load_policy(write(tmp_path, "schema: auditor.policy/1\nrules:\n  - cuda: {min: 12.10}\n"))
    assert policy.rules[0].bounds[0].min == "12.10"


def test_every_problem_is_reported_at_once_with_file_line(tmp_path: Path) -> None:
    """Unknown keys (with suggestions), bad versions and wrong types all come back together."""
    path = write(
        tmp_path,
        """schema: auditor.policy/1
rules:
  - id: a
    tensorrtt: {min: "8.6"}
    driver: {min: "five", deny: "550.54.14", required: "yes"}
  - id: a
    select: {group: [serving]}
    gpus: {count: eight}
""",
    )
    with pytest.raises(InputErrors) as info:
        load_policy(path)
    messages = [str(e) for e in info.value.errors]
    assert f"{path}:4: unknown key 'tensorrtt' in rule #1; did you mean 'tensorrt'?" in messages
    assert any(m.startswith(f"{path}:5:") and "'driver.min' must be a version" in m for m in messages)
    assert any(m.startswith(f"{path}:5:") and "'required' must be true or false" in m for m in messages)
    assert f"{path}:7: unknown key 'group' in 'select'; did you mean 'groups'?" in messages
    assert any(m.startswith(f"{path}:8:") and "'count' must be a whole number" in m for m in messages)
    assert any("rule id 'a' is used twice" in m for m in messages)


def test_min_above_max_is_rejected(tmp_path: Path) -> None:
    """A floor above its ceiling can never be met: the policy is wrong, say so."""
    with pytest.raises(InputError, match="min 590 is above max 580"):
        load_policy(write(tmp_path, "schema: auditor.policy/1\nrules:\n  - driver: {min: '590', max: '580'}\n"))


def test_wrong_schema_is_rejected(tmp_path: Path) -> None:
    """A file for another tool (or version) is not silently accepted as a policy."""
    with pytest.raises(InputError, match=r"schema must be 'auditor\.policy/1'"):
        load_policy(write(tmp_path, "schema: auditor.fleet/1\nrules: []\n"))
