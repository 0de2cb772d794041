"""Policy files: validation with file:line and did-you-mean, selectors, bound locations."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.errors import InputError, InputErrors, Location
from auditor.evaluate.registry import CHECK_IDS
from auditor.inventory import Host
from auditor.policy.files import load_policies, load_policy
from tests.support.paths import ROOT

ROOT = ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_demo_policy_loads_with_locations() -> None:
    """Each bound remembers the line it was written on, for citing in findings."""
    policy = load_policy(ROOT / "policies" / "demo.yaml", checks=CHECK_IDS)
    assert [r.id for r in policy.rules] == [
        "fleet-driver",
        "serving",
        "detector-engines",
        "trt8",
        "hgx-gpu-count",
        "hopper-driver",
        "training",
        "mig-pool",
        "triton-image",
    ]
    driver = policy.rules[0].bounds[0]
    assert (driver.min, driver.max, driver.deny, driver.target) == ("535.104.05", "580", ("550.54.14",), "580.95.05")
    assert driver.cite("deny").endswith("demo.yaml:28")
    assert [s.name for s in policy.stacks] == ["serving-2026", "trt8-2023"]


def test_policy_files_merge_in_order() -> None:
    """A later file's rule with a known id replaces the earlier one in place; new rules follow; stacks resolve across files."""
    policy = load_policies([ROOT / "policies" / "demo.yaml", ROOT / "policies" / "demo-site.yaml"], checks=CHECK_IDS)
    ids = [r.id for r in policy.rules]
    assert ids == [
        "fleet-driver",
        "serving",
        "detector-engines",
        "trt8",
        "hgx-gpu-count",
        "hopper-driver",
        "training",
        "mig-pool",
        "triton-image",
        "batch-cuda",
    ]
    hopper = policy.rules[ids.index("hopper-driver")]
    assert hopper.bounds[0].min == "580.95.05" and str(hopper.location).endswith("demo-site.yaml:7")
    assert len(policy.replaced) == 1 and "rule 'hopper-driver'" in policy.replaced[0]
    assert policy.name == "demo-production + demo-site"


def test_stack_references_resolve_across_files(tmp_path: Path) -> None:
    """A site file may use the base file's stack; an unknown stack is located with a suggestion."""
    base = write(tmp_path, "schema: auditor.policy/1\nstacks:\n  golden: {tensorrt: '8.6.1.6'}\nrules: []\n")
    site = tmp_path / "site.yaml"
    site.write_text("schema: auditor.policy/1\nrules:\n  - id: a\n    stack: golden\n  - id: b\n    stack: goldn\n")
    with pytest.raises(InputErrors) as info:
        load_policies([base, site], checks=CHECK_IDS)
    assert [str(e) for e in info.value.errors] == [f"{site}:6: rule 'b': unknown stack 'goldn'; did you mean 'golden'?"]
    site.write_text("schema: auditor.policy/1\nrules:\n  - id: a\n    stack: golden\n")
    (rule,) = load_policies([base, site], checks=CHECK_IDS).rules
    assert rule.bounds[0].version == "8.6.1.6"


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
        ),
        checks=CHECK_IDS,
    )
    host = Host("gpu-01", "10.0.0.1", groups=("serving",))
    assert [r.id for r in policy.rules_for(host, ["NVIDIA A100-SXM4-80GB"])] == ["everyone", "a100-serving"]
    assert [r.id for r in policy.rules_for(host, ["NVIDIA L4"])] == ["everyone"]
    assert [r.id for r in policy.rules_for(Host("cpu-01", "x", groups=("serving",)), ["NVIDIA A100"])] == ["everyone"]


def test_unquoted_numbers_keep_their_spelling(tmp_path: Path) -> None:
    """`min: 12.10` means CUDA 12.10, not the float 12.1."""
    policy = load_policy(
        write(tmp_path, "schema: auditor.policy/1\nrules:\n  - cuda: {min: 12.10}\n"), checks=CHECK_IDS
    )
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
        load_policy(path, checks=CHECK_IDS)
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
        load_policy(
            write(tmp_path, "schema: auditor.policy/1\nrules:\n  - driver: {min: '590', max: '580'}\n"),
            checks=CHECK_IDS,
        )


def test_wrong_schema_is_rejected(tmp_path: Path) -> None:
    """A file for another tool (or version) is not silently accepted as a policy."""
    with pytest.raises(InputError, match=r"schema must be 'auditor\.policy/1'"):
        load_policy(write(tmp_path, "schema: auditor.fleet/1\nrules: []\n"), checks=CHECK_IDS)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("disable: {driver.eos: later}", "unknown built-in check 'driver.eos'; did you mean 'driver.eol'?"),
        ("disable: {driver.eol: ''}", "disabling 'driver.eol' needs a reason"),
        ("engines: ['/m/{smm}.plan']", "unknown placeholder {smm}; did you mean 'sm'?"),
        ("engines: ['m/{sm}.plan']", "must be absolute"),
        ("consistent: [drivr]", "unknown component 'drivr'; did you mean 'driver'?"),
        (
            "severity: hihg",
            "'severity' must be one of info, low, medium, high, critical, got 'hihg'; did you mean 'high'?",
        ),
        ("action: rebuild", "did you mean 'rebuild-engine'?"),
        ("driver: {min: '535', target: '470.82.01'}", "'driver.target' 470.82.01 is below min 535"),
        ("driver: {deny: ['550'], target: '550.54.14'}", "'driver.target' 550.54.14 is on the deny list"),
        ("image: 'nvcr.io/nvidia/tensorrt:latest'", "not an NGC image reference"),
        ("gpus: {count: -1}", "'count' must be a whole number"),
        ("id: 'has space'", "'id' must be letters"),
    ],
)
def test_rule_keys_are_validated_with_locations(tmp_path: Path, rule: str, message: str) -> None:
    """Each rule key's type and values are checked; the error names file:line and suggests a fix."""
    path = write(tmp_path, f"schema: auditor.policy/1\nrules:\n  - {rule}\n")
    with pytest.raises(InputErrors) as info:
        load_policy(path, checks=CHECK_IDS)
    text = "\n".join(str(e) for e in info.value.errors)
    assert message in text and f"{path}:3" in text


def test_stack_keys_are_validated(tmp_path: Path) -> None:
    """Unknown keys inside a stack are located and get a suggestion."""
    path = write(tmp_path, "schema: auditor.policy/1\nstacks:\n  s:\n    tensorrtt: '8.6'\nrules: []\n")
    with pytest.raises(InputErrors) as info:
        load_policy(path, checks=CHECK_IDS)
    assert str(info.value.errors[0]) == f"{path}:4: unknown key 'tensorrtt' in stack 's'; did you mean 'tensorrt'?"


def test_engine_templates_follow_host_selectors(tmp_path: Path) -> None:
    """The probe is sent the templates of every rule that may apply (GPU selectors are decided after probing)."""
    policy = load_policy(
        write(
            tmp_path,
            """schema: auditor.policy/1
rules:
  - id: a
    select: {groups: [serving]}
    engines: ["/m/{sm}.plan"]
  - id: b
    select: {gpus: ["*H100*"]}
    engines: ["/m/{gpu}.plan", "/m/{sm}.plan"]
  - id: c
    select: {hosts: ["other-*"]}
    engines: ["/m/c.plan"]
""",
        ),
        checks=CHECK_IDS,
    )
    host = Host("gpu-01", "x", groups=("serving",))
    assert policy.engine_templates_for(host) == ["/m/{sm}.plan", "/m/{gpu}.plan"]


def test_the_documented_examples_are_valid(tmp_path: Path) -> None:
    """The policy and waivers examples in docs/policy.md load as written."""
    from auditor.policy.waivers import load_waivers

    text = (ROOT / "docs" / "policy.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    policy = next(b for b in blocks if "schema: auditor.policy/1" in b and "stacks:" in b)
    waivers = next(b for b in blocks if "schema: auditor.waivers/1" in b)
    loaded = load_policy(write(tmp_path, policy), checks=CHECK_IDS)
    assert [r.id for r in loaded.rules] == ["fleet-driver", "serving"] and loaded.rules[1].engines
    (path := tmp_path / "waivers.yaml").write_text(waivers)
    assert len(load_waivers(path)) == 1


_KEYS = st.sampled_from(
    ["schema", "rules", "stacks", "id", "select", "stack", "groups", "driver", "cuda", "cudnn", "tensorrt", "min",
     "max", "deny", "allow", "version", "target", "engines", "gpus", "count", "consistent", "disable", "severity",
     "action", "remediation", "image", "required", "driver.eol"]
)  # fmt: skip
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False), st.text(max_size=12))
_TREES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_KEYS, children, max_size=5)),
    max_leaves=25,
)


@given(rules=_TREES, stacks=_TREES)
def test_any_policy_shape_gives_a_policy_or_located_errors(rules: object, stacks: object) -> None:
    """Whatever the YAML holds, parsing ends in a policy or in InputErrors that each carry a location."""
    from auditor.policy.files import parse_policy_file
    from auditor.yamlsrc import require_map

    data = require_map(
        {"schema": "auditor.policy/1", "rules": rules, "stacks": stacks}, "policy", Location("p.yaml", 1)
    )
    try:
        parse_policy_file(data, "p.yaml", CHECK_IDS)
    except InputErrors as exc:
        assert exc.errors and all(e.location is not None for e in exc.errors)
