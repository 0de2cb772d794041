"""Required engines: templates, the probe request that carries them, and verdicts from test-loads."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.audit.run import policy_request
from auditor.evaluate.host import evaluate
from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Action, Finding
from auditor.inventory import Host
from auditor.policy.files import load_policies
from auditor.policy.model import Policy, engine_path
from tests.support.documents import facts

TEMPLATE = "/srv/models/resnet50/{sm}.plan"
HOST = Host("gpu-01", "10.0.0.1", groups=("serving",))


@pytest.fixture()
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(
        f'schema: auditor.policy/1\nrules:\n  - id: models\n    select: {{groups: [serving]}}\n    engines: ["{TEMPLATE}"]\n'
    )
    return load_policies([path], as_of=datetime.date(2025, 1, 1), checks=CHECK_IDS)


def item(load: str | None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": "/srv/models/resnet50/sm80.plan", "template": TEMPLATE, "exists": True}
    entry["header"] = {"magic": True, "tensorrt_version": extra.pop("header", "8.6.1.6")}
    entry["load"] = {"status": load, "runtime": "tensorrt", **extra}
    return entry


def engine_finding(policy: Policy, engines: dict[str, Any]) -> Finding | None:
    result = evaluate(policy, HOST, facts(engines=engines, gpus={"count": 1, "devices": []}))
    assert f"models/engines:{TEMPLATE}" in result.checks
    found = [f for f in result.findings if f.rule == "models/engines"]
    return found[0] if found else None


def test_templates_expand_per_gpu() -> None:
    """{cc}, {sm} and {gpu} fill from the GPU's compute capability and name."""
    assert (
        engine_path("/m/{gpu}/{sm}-{cc}.plan", "NVIDIA A100-SXM4-80GB", "8.0")
        == "/m/nvidia-a100-sxm4-80gb/sm80-8.0.plan"
    )


def test_probe_requests_carry_the_hosts_templates(policy: Policy) -> None:
    """Each host's probe request lists the engine templates of the rules that may select it."""
    request = policy_request(policy)
    decoded = json.loads(base64.b64decode(request(HOST)))
    assert decoded["engines"] == [TEMPLATE]
    assert json.loads(base64.b64decode(request(Host("cpu-01", "x"))))["engines"] == []


def test_a_plan_that_loads_passes(policy: Policy) -> None:
    """Load ok: no finding, the check is listed."""
    assert engine_finding(policy, {"items": [item("ok")], "error": None}) is None


@pytest.mark.parametrize(
    ("entry", "action", "text"),
    [
        (item("version-mismatch", header="8.5.3.1"), Action.REBUILD_ENGINE, "another TensorRT version"),
        (item("version-mismatch", header="10.3.0.26"), Action.UPGRADE, "another TensorRT version"),
        (item("device-mismatch"), Action.REBUILD_ENGINE, "another compute capability"),
        (item("corrupt"), Action.REBUILD_ENGINE, "not a TensorRT plan"),
        (item("missing-plugin"), Action.UPGRADE, "plugin"),
        (item("no-runtime"), Action.UPGRADE, "no TensorRT runtime"),
        (item("timeout"), Action.INVESTIGATE, "overran"),
        (item("crashed"), Action.INVESTIGATE, "died"),
        ({**item(None), "exists": False}, Action.REBUILD_ENGINE, "no plan at this path"),
        (item("skipped", header="10.3.0.26"), Action.UPGRADE, "another TensorRT version"),
        (
            item("ok", message="Using an engine plan file across different models of devices is not recommended"),
            Action.INVESTIGATE,
            "another GPU model",
        ),
    ],
)
def test_load_outcomes_become_actions(policy: Policy, entry: dict[str, Any], action: Action, text: str) -> None:
    """Each outcome asks for what the engine-portability table says: rebuild-engine, upgrade or investigate."""
    finding = engine_finding(policy, {"items": [entry], "error": None})
    assert finding is not None and finding.action is action and text in finding.message
    assert (finding.source or "").startswith(f"{policy.files[0]}:5")


def test_version_mismatch_explains_the_rule_and_the_fix(policy: Policy) -> None:
    """A plan older than the runtime: rebuild it, citing the exact-version rule and the knowledge table."""
    finding = engine_finding(
        policy,
        {
            "items": [
                item("version-mismatch", header="8.5.3.1", message="expecting library version 8.6.1.6 got 8.5.3.1")
            ],
            "error": None,
        },
    )
    assert finding is not None
    assert "major, minor, patch and build must all match" in finding.message and "TensorRT said" in finding.message
    assert finding.actual == "version-mismatch (plan 8.5.3.1, runtime 8.6.1.6)"
    assert "knowledge:engine-portability (https://docs.nvidia.com/" in (finding.source or "")
    assert (
        finding.remediation
        == "Rebuild /srv/models/resnet50/sm80.plan with TensorRT 8.6.1.6, or build it version-compatible (8.6+)."
    )


@pytest.mark.parametrize(
    ("engines", "text"),
    [
        ({"items": [], "error": "timed out after 30s"}, "engine test-loads were not reported"),
        ({"items": [], "error": None}, "the probe reported nothing"),
        ({"items": [item("skipped", header=None)], "error": None}, "was not test-loaded"),
    ],
)
def test_missing_load_results_are_inconclusive(policy: Policy, engines: dict[str, Any], text: str) -> None:
    """No report, no item for the template, or a skipped load with no header evidence: could not evaluate."""
    finding = engine_finding(policy, engines)
    assert finding is not None and finding.inconclusive and text in finding.message
