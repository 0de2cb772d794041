"""Waves (canary, batch bounds, skips) and the plan writers: table, Markdown, JSON, Ansible inventory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Verdict
from auditor.inventory import Host, load_inventory
from auditor.plan.model import SCHEMA, HostStatus, Plan, PlanExit, Rollout
from auditor.plan.target import build_target
from auditor.plan.writers.data import render_plan_ansible, render_plan_json
from auditor.plan.writers.md import render_plan_md
from auditor.plan.writers.table import render_plan_table
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.report.model import HostReport
from auditor.transport.outcome import AuditStep, HostError
from tests.support.plans import A100, AS_OF, POLICY, T4, V100, driver, engine, host, plan, toolkit, trt


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return load_policies([path], as_of=AS_OF, checks=CHECK_IDS)


def needs_trt(name: str, groups: tuple[str, ...], gpus: dict[str, object]) -> HostReport:
    """A host on R580 with TensorRT 10.3: ``--set tensorrt=10.13.3.9`` plans one upgrade step."""
    return host(name, groups, driver=driver("580.95.05"), gpus=gpus, cuda=toolkit("13.0.2"), tensorrt=trt("10.3.0.26"))


def fleet(policy: Policy, rollout: Rollout | None = None, **vars: object) -> Plan:
    reports = [
        needs_trt("a100-1", ("serving",), A100),
        needs_trt("a100-2", ("serving",), A100),
        needs_trt("a100-3", ("serving",), A100),
        needs_trt("t4-1", ("serving",), T4),
        needs_trt("t4-2", ("serving",), T4),
        needs_trt("t4-edge-1", ("edge",), T4),
        needs_trt("v100-1", ("serving",), V100),  # TensorRT 10.13 does not run on Volta: blocked
        HostReport(
            Host("gone-1", "10.0.0.9", groups=("serving",)),
            Verdict.UNREACHABLE,
            error=HostError(AuditStep.CONNECT, "refused"),
        ),
    ]
    return plan(reports, build_target(policy, None, ["tensorrt=10.13.3.9"]), policy, rollout, **vars)


# -- waves -------------------------------------------------------------------------------------------


def test_canary_takes_one_host_per_gpu_model_and_group_then_batches_follow(policy: Policy) -> None:
    """Wave 0 holds the first A100 and T4 of serving and the edge T4; the rest follow in batches."""
    result = fleet(policy, Rollout(max_unavailable="2", max_parallel=0))
    assert [w.hosts for w in result.waves] == [("a100-1", "t4-1"), ("a100-2", "a100-3"), ("t4-2", "t4-edge-1")]
    assert any("no canary for: Tesla T4 in edge" in n for n in result.notes)
    unbounded = fleet(policy, Rollout(max_unavailable="100%"))
    assert unbounded.waves[0].hosts == ("a100-1", "t4-1", "t4-edge-1") and unbounded.waves[0].name == "wave_0_canary"
    assert unbounded.notes == ()


def test_without_any_listed_gpu_the_first_host_is_the_canary_alone(policy: Policy) -> None:
    """Planned hosts whose GPUs could not be listed still get a canary: the first one, alone, with a note; never an
    empty wave 0."""
    reports = [
        needs_trt(f"blind-{n}", ("serving",), {"count": 0, "devices": [], "error": "NVML: Unknown Error"})
        for n in (1, 2, 3)
    ]
    result = plan(reports, build_target(policy, None, ["tensorrt=10.13.3.9"]), policy, Rollout(max_unavailable="2"))
    assert [w.hosts for w in result.waves] == [("blind-1",), ("blind-2", "blind-3")]
    assert result.waves[0].canary and all(w.hosts for w in result.waves)
    assert any("the canary is blind-1 alone" in n for n in result.notes)


def test_blocked_and_unreachable_hosts_are_left_out_of_every_wave(policy: Policy) -> None:
    """Volta (blocked) and the unreachable host get no wave and are listed as left out."""
    result = fleet(policy)
    in_waves = {name for wave in result.waves for name in wave.hosts}
    assert "v100-1" not in in_waves and "gone-1" not in in_waves
    left = result.to_json()["left_out"]
    assert left["blocked"] == ["v100-1"] and left["unreachable"] == ["gone-1"]
    assert result.exit_code is PlanExit.CHANGES


def test_skip_patterns_and_the_skip_variable_leave_hosts_out_but_keep_their_steps(policy: Policy) -> None:
    """--skip 't4-*' and audit_skip_upgrade: true mark hosts skipped, with why, and keep their steps."""
    result = fleet(policy, Rollout(skip=("t4-*",)), **{"a100-3": {"audit_skip_upgrade": True}})
    skipped = {h.name: h for h in result.hosts if h.status is HostStatus.SKIPPED}
    assert set(skipped) == {"t4-1", "t4-2", "t4-edge-1", "a100-3"}
    assert skipped["t4-1"].note == "--skip t4-*" and "audit_skip_upgrade" in (skipped["a100-3"].note or "")
    assert all(h.steps and h.wave is None for h in skipped.values())
    assert [w.hosts for w in result.waves] == [("a100-1",), ("a100-2",)]


def test_group_patterns_skip_too(policy: Policy) -> None:
    """A --skip pattern matching a group name skips the group's hosts."""
    result = fleet(policy, Rollout(skip=("edge",)))
    assert [h.name for h in result.hosts if h.status is HostStatus.SKIPPED] == ["t4-edge-1"]


@pytest.mark.parametrize(
    ("unavailable", "parallel", "total", "size"),
    [("25%", 0, 21, 6), ("25%", 0, 4, 1), ("10%", 0, 5, 1), ("3", 0, 21, 3), ("50%", 2, 20, 2), ("1", 5, 8, 1)],
)
def test_batch_size_follows_max_unavailable_and_max_parallel(
    unavailable: str, parallel: int, total: int, size: int
) -> None:
    """A percentage of the targeted hosts rounds up (at least 1); --max-parallel caps it."""
    assert Rollout(max_unavailable=unavailable, max_parallel=parallel).batch_size(total) == size


def test_unreachable_hosts_with_nothing_to_do_exit_1_or_0_when_warned(policy: Policy) -> None:
    """Terraform-style: nothing to do but a host not audited is an error (1), unless --unreachable warn (0)."""
    reports = [
        host("ok-1", driver=driver("580.95.05"), gpus=A100, cuda=toolkit("13.0.2"), tensorrt=trt("10.13.3.9")),
        HostReport(
            Host("gone-1", "10.0.0.9", groups=()), Verdict.UNREACHABLE, error=HostError(AuditStep.CONNECT, "refused")
        ),
    ]
    target = build_target(policy, None, ["tensorrt=10.13.3.9"])
    result = plan(reports, target, policy)
    assert result.exit_code is PlanExit.ERROR and "could not be audited" in result.exit_reason
    warned = type(result)(**{**result.__dict__, "unreachable": "warn"})
    assert warned.exit_code is PlanExit.NOTHING


# -- writers -----------------------------------------------------------------------------------------


HOSTILE = "/m/[bold red]x[/]|<b>*y*</b>](http://evil)\n- hosts: all.plan"


def hostile_plan(policy: Policy) -> Plan:
    """A plan whose engine path holds markup for every medium (the probe cleans newlines; writers must escape)."""
    report = host(
        "a100-1",
        ("serving",),
        driver=driver("580.95.05"),
        gpus=A100,
        cuda=toolkit("13.0.2"),
        tensorrt=trt("10.3.0.26"),
        engines={"items": [engine(HOSTILE, "10.3.0.26", template=None)]},
    )
    return plan([report], build_target(policy, None, ["tensorrt=10.13.3.9"]), policy)


def test_json_follows_the_plan_schema(policy: Policy) -> None:
    """auditor.plan/1: target, hosts with steps {action, component, from, to, reason}, blockers, warnings, rollback, wave; waves."""
    document = json.loads(render_plan_json(fleet(policy)))
    assert document["schema"] == SCHEMA and document["target"]["components"]["tensorrt"]["version"] == "10.13.3.9"
    first = document["hosts"][0]
    assert {"name", "steps", "blockers", "warnings", "rollback", "wave"} <= set(first)
    assert {"action", "component", "from", "to", "reason"} <= set(first["steps"][0])
    assert first["steps"][0] | {"reason": ""} == {
        "action": "upgrade",
        "component": "tensorrt",
        "from": "10.3.0.26",
        "to": "10.13.3.9",
        "reason": "",
        "path": None,
        "compute_capability": None,
        "source": "--set tensorrt=10.13.3.9",
    }
    blocked = next(h for h in document["hosts"] if h["name"] == "v100-1")
    assert blocked["wave"] is None and blocked["blockers"][0]["source"].startswith("knowledge:")
    assert document["waves"][0] == {
        "wave": 0,
        "name": "wave_0_canary",
        "canary": True,
        "hosts": ["a100-1", "t4-1"],
    }
    assert document["exit"]["code"] == 2 and set(document["exit"]["codes"]) == {"0", "1", "2"}


def test_ansible_inventory_has_one_group_per_wave_and_only_their_hosts(policy: Policy, tmp_path: Path) -> None:
    """The inventory loads (with our Ansible-compatible reader) into wave groups holding exactly the wave hosts."""
    result = fleet(policy, Rollout(max_unavailable="2"))
    text = render_plan_ansible(result)
    (tmp_path / "plan.yaml").write_text(text)
    inventory = load_inventory(tmp_path / "plan.yaml")
    assert dict(inventory.groups)["wave_0_canary"] == ("a100-1", "t4-1")
    assert dict(inventory.groups)["wave_2"] == ("t4-2", "t4-edge-1")
    assert {h.name for h in inventory.hosts} == {n for w in result.waves for n in w.hosts}
    a100 = inventory.host("a100-1")
    assert (
        a100.vars["auditor_target"] == {"tensorrt": "10.13.3.9"}
        and a100.vars["auditor_rollback"]["tensorrt"] == "10.3.0.26"
    )
    assert a100.vars["auditor_wave"] == 0 and a100.vars["auditor_canary"] is True
    assert text.startswith("# auditor plan") and "left out: v100-1 (blocked), gone-1 (unreachable)" in text


def test_ansible_inventory_keeps_hostile_strings_as_plain_values(policy: Policy) -> None:
    """An engine path full of YAML and Ansible syntax stays one string value: no new host, key or document."""
    text = render_plan_ansible(hostile_plan(policy))
    document = yaml.safe_load(text)
    hosts = document["all"]["children"]["wave_0_canary"]["hosts"]
    assert list(hosts) == ["a100-1"]
    assert hosts["a100-1"]["auditor_steps"][-1]["path"] == HOSTILE.replace("\n", " ")


def test_markdown_escapes_host_strings(policy: Policy) -> None:
    """Links, HTML, emphasis and table pipes from a host are escaped in the change ticket."""
    text = render_plan_md(hostile_plan(policy))
    assert "](http://evil)" not in text.replace("\\]", "")
    assert "<b>" not in text and "\\<b\\>" in text and "\\|" in text
    assert "| # | action | what | change | why |" in text and "wave\\_0\\_canary" not in text


def test_table_prints_markup_literally(policy: Policy) -> None:
    """Rich markup in a host string is printed as text, not interpreted."""
    text = render_plan_table(hostile_plan(policy), width=200)
    assert "[bold red]x[/]" in text
    assert "wave_0_canary: a100-1" in text and "exit 2: changes planned" in text
