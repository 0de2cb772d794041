"""Reference engines in policies, facts and findings; and the real H200 recordings of the run path."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputErrors
from auditor.evaluate.host import evaluate
from auditor.evaluate.registry import CHECK_IDS
from auditor.facts.model import FactsError, ReferenceStatus
from auditor.facts.reader import parse_facts
from auditor.findings import Action, Finding, Severity, Verdict, verdict_of
from auditor.inventory import Host
from auditor.knowledge import tensorrt as trt_kb
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.probe.remote import engines
from auditor.simulate import standin_tensorrt
from tests.support.documents import document, facts
from tests.support.paths import REAL

HOST = Host("gpu-01", "10.0.0.1", groups=("serving",))
POLICY = """\
schema: auditor.policy/1
stacks:
  trt10:
    tensorrt: {min: "10.0"}
    reference: ref-fp32
rules:
  - id: serving
    select: {groups: [serving]}
    stack: trt10
  - id: canary
    select: {hosts: ["canary-*"]}
    stack: trt10
    reference: ref-fp16-vc
"""


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return load_policies([path], as_of=datetime.date(2026, 11, 21), checks=CHECK_IDS)


def test_a_stack_or_a_rule_names_the_reference_engine(policy: Policy) -> None:
    """A rule takes its stack's reference unless it names its own; each keeps its file:line."""
    serving, canary = policy.rules
    assert serving.reference is not None and serving.reference.name == "ref-fp32"
    assert str(serving.reference.location).endswith(":5")
    assert canary.reference is not None and canary.reference.name == "ref-fp16-vc"
    assert policy.references_for(HOST) == ["ref-fp32"]
    assert policy.references_for(Host("canary-1", "x", groups=("serving",))) == ["ref-fp32", "ref-fp16-vc"]


@pytest.mark.parametrize("value", ["'../etc'", "[a, b]", "''"])
def test_a_reference_that_is_not_a_name_is_located(tmp_path: Path, value: str) -> None:
    """Paths, lists and empty strings are refused with file:line."""
    path = tmp_path / "bad.yaml"
    path.write_text(f"schema: auditor.policy/1\nrules:\n  - id: r\n    reference: {value}\n")
    with pytest.raises(InputErrors) as caught:
        load_policies([path], checks=CHECK_IDS)
    assert str(caught.value.errors[0]).startswith(f"{path}:4:")


def run(status: str, **fields: Any) -> dict[str, Any]:
    base = {
        "status": status,
        "gpu": 0,
        "gpu_name": "NVIDIA A10",
        "compute_capability": "8.6",
        "plan": "10.3.0.26/sm86/ref-fp32",
        "rule": "exact-version+compute-capability",
        "runtime": "tensorrt",
        "runtime_version": "10.3.0.26",
        "log": [],
    }
    return {**base, **fields}


def reference(*runs: dict[str, Any], name: str = "ref-fp32", **extra: Any) -> dict[str, Any]:
    return {"requested": True, "items": [{"name": name, "candidates": 2, "runs": list(runs)}], **extra}


def findings(policy: Policy, section: dict[str, Any] | None) -> list[Finding]:
    doc = document()
    if section is not None:
        doc["reference"] = section
    result = evaluate(policy, HOST, parse_facts(json.dumps(doc)))
    assert "serving/reference:ref-fp32" in result.checks
    return [f for f in result.findings if f.rule == "serving/reference"]


def test_a_good_run_is_an_informational_finding_with_its_times(policy: Policy) -> None:
    """ok: severity info, no action, the plan, the rule that admitted it and the load and run times."""
    [finding] = findings(policy, reference(run("ok", load_s=0.0123, run_s=0.00042, exact=True, max_abs_error=0.0)))
    assert (finding.severity, finding.action) == (Severity.INFO, Action.NONE)
    assert "loaded in 12.3 ms, ran in 0.42 ms" in finding.message and "bit for bit" in finding.message
    assert "exact-version+compute-capability" in finding.message and finding.actual == "load 0.0123s, run 0.000420s"
    assert finding.source is not None and finding.source.endswith(":5")


def test_a_wrong_answer_is_critical(policy: Policy) -> None:
    """wrong-output: critical, investigate, the error size, and advice to take the host out of service."""
    [finding] = findings(
        policy,
        reference(
            run("wrong-output", max_abs_error=0.5, exact=False, message="output[0] = 0.6864556, expected 0.1864556")
        ),
    )
    assert (finding.severity, finding.action) == (Severity.CRITICAL, Action.INVESTIGATE)
    assert (
        "computed a wrong answer: output[0] = 0.6864556, expected 0.1864556" in finding.message
        and finding.actual == "max error 0.5"
    )
    assert finding.remediation is not None and "out of service" in finding.remediation


@pytest.mark.parametrize(
    ("status", "action", "text"),
    [
        ("version-mismatch", Action.REBUILD_ENGINE, "another TensorRT version"),
        ("device-mismatch", Action.REBUILD_ENGINE, "another compute capability"),
        ("corrupt", Action.REBUILD_ENGINE, "not a TensorRT plan for this platform"),
        ("missing-plugin", Action.UPGRADE, "plugin"),
        ("cuda-init-failure", Action.UPGRADE, "CUDA could not initialize"),
        ("no-runtime", Action.UPGRADE, "no TensorRT runtime"),
        ("timeout", Action.INVESTIGATE, "time budget"),
        ("crashed", Action.INVESTIGATE, "died"),
    ],
)
def test_a_load_that_fails_keeps_its_classified_reason(policy: Policy, status: str, action: Action, text: str) -> None:
    """Each load failure: high, the engine-portability table's action and text, TensorRT's own message."""
    [finding] = findings(policy, reference(run(status, message="TensorRT's own words")))
    assert (finding.severity, finding.action, finding.actual) == (Severity.HIGH, action, status)
    assert text in finding.message and "TensorRT said: TensorRT's own words" in finding.message


def test_no_plan_asks_for_a_build_and_a_failed_run_for_a_look(policy: Policy) -> None:
    """no-plan: rebuild-engine with the build command; run-failed: investigate, with CUDA's error."""
    [none] = findings(policy, reference(run("no-plan", plan=None, message="none of 2 plans loads here")))
    assert none.action is Action.REBUILD_ENGINE and "auditor engines build --on HOST --name ref-fp32" in (
        none.remediation or ""
    )
    [failed] = findings(policy, reference(run("run-failed", message="cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY (2)")))
    assert failed.action is Action.INVESTIGATE and "CUDA_ERROR_OUT_OF_MEMORY" in failed.message


def test_every_gpu_model_gets_its_own_finding(policy: Policy) -> None:
    """Two runs (two GPU models) give two findings; the worst decides the host's verdict."""
    found = findings(
        policy, reference(run("ok", load_s=0.01, run_s=0.001), run("device-mismatch", gpu=1, gpu_name="Tesla T4"))
    )
    assert [f.severity for f in found] == [Severity.INFO, Severity.HIGH] and verdict_of(found) is Verdict.UPGRADE


@pytest.mark.parametrize(
    ("section", "text"),
    [
        (None, "was not asked to run reference engine 'ref-fp32'"),
        ({"requested": True, "items": [], "error": "no AUDITOR_PAYLOAD"}, "no AUDITOR_PAYLOAD"),
        (reference(run("ok"), name="other"), "reported nothing for reference 'ref-fp32'"),
        ({"requested": True, "items": [{"name": "ref-fp32", "runs": [], "error": "no GPU"}]}, "was not run: no GPU"),
    ],
)
def test_missing_runs_are_inconclusive(policy: Policy, section: dict[str, Any] | None, text: str) -> None:
    """An older probe, a probe error, another name, no GPU: inconclusive, never a pass."""
    [finding] = findings(policy, section)
    assert finding.inconclusive and text in finding.message


def test_every_load_status_has_a_knowledge_row() -> None:
    """Each ReferenceStatus that is a test-load outcome maps to an engine-portability outcome row."""
    loads = [s for s in ReferenceStatus if s.load is not None]
    assert {s.value for s in loads} == {
        "version-mismatch",
        "device-mismatch",
        "corrupt",
        "missing-plugin",
        "cuda-init-failure",
        "no-runtime",
        "timeout",
        "crashed",
        "ok",
    }
    assert all(trt_kb.engine_outcome(s.value) is not None for s in loads)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"status": "fine"}, "unknown reference status 'fine'"),
        ({"output": {"output": ["x"]}}, "must be a list of numbers"),
        ({"load_s": "fast"}, "must be a number"),
    ],
)
def test_reference_facts_are_parsed_strictly(change: dict[str, Any], error: str) -> None:
    """A bad status, non-numeric outputs or times are FactsErrors naming the JSON path."""
    with pytest.raises(FactsError, match=error):
        facts(reference=reference({**run("ok"), **change}))


# -- the real H200 recordings (tests/fixtures/real/README.md, "Reference engines") ---------------------


def real(name: str) -> Any:
    return json.loads((REAL / name).read_text())


def test_real_reference_runs_parse_and_every_directory_was_removed() -> None:
    """The lean-runtime recording parses; each run that wrote a plan removed it; statuses as the runtime said."""
    parsed = parse_facts((REAL / "reference-lean.json").read_text())
    statuses = {i.name: [r.status for r in i.runs] for i in parsed.reference.items}
    assert statuses == {
        "forged": [ReferenceStatus.CORRUPT],
        "nomagic": [ReferenceStatus.CORRUPT],
        "truncated": [ReferenceStatus.CORRUPT],
        "exact": [ReferenceStatus.NO_PLAN],
        "newer": [ReferenceStatus.NO_PLAN],
        "damaged": [ReferenceStatus.CORRUPT],
    }
    written = [r for i in parsed.reference.items for r in i.runs if r.runtime_version and r.plan and r.log]
    assert written and all(r.cleanup == "removed" for r in written)
    assert real("reference-timings.json")["leftovers_after"] == []
    plain = parse_facts((REAL / "reference-plain.json").read_text())
    assert {r.status for i in plain.reference.items for r in i.runs} == {ReferenceStatus.NO_RUNTIME}


def test_real_runtime_messages_still_classify_as_recorded() -> None:
    """The probe's classifier gives each recorded run's status from its recorded TensorRT log."""
    for item in real("reference-lean.json")["reference"]["items"]:
        for entry in item["runs"]:
            if entry.get("log"):
                assert engines.classify(entry["log"])[0] == entry["status"], entry["log"]
    hidden = real("reference-cuda.json")["hidden_gpu"]
    assert hidden["status"] == "cuda-init-failure" and engines.classify(hidden["log"])[0] == "cuda-init-failure"


def test_real_cuda_round_trips_went_through_both_libraries() -> None:
    """On the H200 the driver and runtime APIs, before and after TensorRT's own context, copied 4 MiB both ways."""
    recording = real("reference-cuda.json")
    checks = recording["checks"]
    assert {(c["api"], c["after_trt"]) for c in checks} >= {
        ("driver", False),
        ("runtime", False),
        ("driver", True),
        ("runtime", True),
    }
    assert all(c["roundtrip_equal"] and c["second_equal"] and c["floats_equal"] for c in checks)
    assert all(c["device"] == {"name": recording["nvml"]["name"], "cc": recording["nvml"]["cc"]} for c in checks)
    assert next(c for c in checks if c["kind"] == "auto")["api"] == "driver"


def test_the_simulated_libcuda_names_errors_as_the_real_one() -> None:
    """The stand-in's CUresult names are the real driver's: what the H200 said for an impossible allocation."""
    said = {c["huge_alloc"] for c in real("reference-cuda.json")["checks"] if c["api"] == "driver"}
    assert said == {"cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY (2)"}
    libcuda = standin_tensorrt.AUDITOR_SIMULATED_LIBCUDA
    text = type("Text", (), {"value": None})()
    libcuda.cuGetErrorName(2, text)
    assert text.value == b"CUDA_ERROR_OUT_OF_MEMORY"
    libcuda.cuGetErrorName(1, text)
    assert text.value == b"CUDA_ERROR_INVALID_VALUE"  # the recorded use-after-free answer


def test_the_real_build_program_without_a_builder_says_so() -> None:
    """With only the lean runtime on the H200, the build program failed with its no-builder reason."""
    build = real("reference-build-lean.json")
    assert build["status"] == "failed" and "no TensorRT builder here" in build["error"]
