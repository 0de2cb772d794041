"""``--to STACK`` plans only the hosts the policy gives that stack; the others are skipped with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.plan.model import HostStatus, PlanExit, Rollout
from auditor.plan.target import build_target
from auditor.plan.writers.data import render_plan_json
from auditor.plan.writers.md import render_plan_md
from auditor.plan.writers.table import render_plan_table
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.report.model import HostReport
from auditor.transport.outcome import AuditStep, HostError
from tests.support.plans import A100, AS_OF, T4, driver, host, plan, toolkit, trt

STACKS = """\
schema: auditor.policy/1
name: scope-test
stacks:
  serving:
    driver: {min: "580.65.06", max: "580", target: "580.95.05"}
    cuda: {min: "12.4", target: "13.0.2"}
  trt8:
    driver: {min: "535.104.05", max: "535", target: "535.104.05"}
  free:
    cuda: {min: "12.4", target: "13.0.2"}
rules:
  - id: serving
    select: {groups: [serving]}
    stack: serving
  - id: edge
    select: {groups: [edge]}
    stack: trt8
  - id: hopper
    select: {gpus: ["*H100*"]}
    stack: serving
"""

OLD = {"driver": driver("535.104.05"), "cuda": toolkit("12.2.2"), "tensorrt": trt(None)}


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(STACKS)
    return load_policies([path], as_of=AS_OF, checks=CHECK_IDS)


def fleet() -> list[HostReport]:
    """Two serving hosts, an edge host pinned to trt8, and a lab host no stack rule selects."""
    return [
        host("serve-1", ("serving",), gpus=A100, **OLD),
        host("edge-1", ("edge",), gpus=T4, **OLD),
        host("serve-2", ("serving",), gpus=A100, **OLD),
        host("lab-1", ("lab",), gpus=T4, **OLD),
    ]


def test_hosts_pinned_to_another_stack_are_skipped_not_planned_and_never_canaries(policy: Policy) -> None:
    """--to serving plans the serving hosts only; the edge host (trt8) and the lab host are skipped with why."""
    result = plan(fleet(), build_target(policy, "serving", []), policy)
    status = {h.name: h for h in result.hosts}
    assert status["serve-1"].status is HostStatus.PLANNED and status["serve-2"].status is HostStatus.PLANNED
    assert [h for w in result.waves for h in w.hosts] == ["serve-1", "serve-2"]
    edge, lab = status["edge-1"], status["lab-1"]
    assert edge.status is HostStatus.SKIPPED and not edge.targeted and edge.steps == () and edge.wave is None
    assert edge.note is not None and edge.note.startswith("pinned to stack trt8 by rule edge (")
    assert edge.note.endswith("policy.yaml:17)")  # the rule's `stack:` line
    assert lab.status is HostStatus.SKIPPED and not lab.targeted
    assert lab.note is not None and lab.note.startswith("no rule using stack serving selects it (serving at ")
    assert result.summary()["not_targeted"] == 2 and result.summary()["skipped"] == 2


def test_the_batch_size_counts_only_the_hosts_the_stack_applies_to(policy: Policy) -> None:
    """50% of the two targeted hosts is one per wave, however many hosts other stacks hold."""
    result = plan(fleet(), build_target(policy, "serving", []), policy, Rollout(max_unavailable="50%"))
    assert result.batch_size == 1
    assert [w.hosts for w in result.waves] == [("serve-1",), ("serve-2",)]


def test_a_fleet_whose_targeted_hosts_are_compliant_exits_0_whatever_the_others_run(policy: Policy) -> None:
    """Skipped hosts have no steps: the plan says nothing to do for the stack's hosts, and why the rest is out."""
    reports = [
        host(
            "serve-1", ("serving",), gpus=A100, driver=driver("580.95.05"), cuda=toolkit("13.0.2"), tensorrt=trt(None)
        ),
        host("edge-1", ("edge",), gpus=T4, **OLD),
    ]
    result = plan(reports, build_target(policy, "serving", []), policy)
    assert result.exit_code is PlanExit.NOTHING
    assert result.exit_reason == (
        "nothing to do: all 1 targeted host on the target (1 skipped: the stack does not apply to them)"
    )


def test_a_gpu_selector_decides_once_the_gpus_are_known_and_keeps_unaudited_hosts(policy: Policy) -> None:
    """An H100 host the hopper rule gives serving is planned; an unaudited lab host that rule may select stays."""
    h100 = {"count": 1, "devices": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}]}
    down = HostReport(
        Host("lab-9", "10.0.0.9", groups=("lab",)), Verdict.UNREACHABLE, error=HostError(AuditStep.CONNECT, "refused")
    )
    reports = [host("lab-h100", ("lab",), gpus=h100, **OLD), down]
    result = {h.name: h for h in plan(reports, build_target(policy, "serving", []), policy).hosts}
    assert result["lab-h100"].status is HostStatus.PLANNED
    assert result["lab-9"].status is HostStatus.UNREACHABLE and result["lab-9"].targeted


def test_a_stack_no_rule_uses_targets_the_hosts_not_pinned_elsewhere(policy: Policy) -> None:
    """--to free: no rule gives it to anyone, so the lab host is planned; hosts pinned to serving or trt8 are not."""
    result = {h.name: h for h in plan(fleet(), build_target(policy, "free", []), policy).hosts}
    assert {n for n, h in result.items() if h.targeted} == {"lab-1"}
    assert "pinned to stack trt8" in (result["edge-1"].note or "")
    assert "pinned to stack serving by rule serving" in (result["serve-1"].note or "")


def test_set_alone_names_no_stack_and_targets_every_host(policy: Policy) -> None:
    """--set driver=... has no stack: nobody is skipped for scope."""
    result = plan(fleet(), build_target(policy, None, ["driver=580.95.05"]), policy)
    assert all(h.targeted for h in result.hosts) and result.target.stack is None
    assert result.summary()["not_targeted"] == 0


def test_every_format_lists_the_skipped_hosts_with_the_reason(policy: Policy) -> None:
    """Table, Markdown and JSON each name the hosts the stack does not apply to and say why."""
    result = plan(fleet(), build_target(policy, "serving", ["cuda=13.0.2"]), policy)
    table = render_plan_table(result, width=200)
    assert "Skipped: stack serving does not apply, not planned (2)" in table
    assert "edge-1  SKIPPED · pinned to stack trt8 by rule edge" in table
    assert "4 hosts (2 the stack applies to)" in table
    markdown = render_plan_md(result)
    assert "## Skipped: stack serving does not apply, not planned (2)" in markdown
    assert "- **edge-1**: pinned to stack trt8 by rule edge" in markdown
    document = json.loads(render_plan_json(result))
    assert document["target"]["stack"] == "serving"
    hosts = {h["name"]: h for h in document["hosts"]}
    assert hosts["lab-1"]["targeted"] is False and hosts["lab-1"]["status"] == "skipped"
    assert hosts["lab-1"]["note"].startswith("no rule using stack serving selects it")
    assert hosts["serve-1"]["targeted"] is True
    assert document["summary"]["not_targeted"] == 2 and document["rollout"]["batch_size"] == 1
