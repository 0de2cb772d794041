"""The probe's reference run against simulated hosts: choice by portability rules, one inference, cleanup."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.facts.model import ReferenceStatus
from auditor.facts.reader import parse_facts
from auditor.probe.program import interpreter_args, probe_program, run_local
from auditor.probe.request import encode_request
from auditor.reference.build import BuildRequest
from auditor.reference.library import Library
from auditor.reference.shipment import shipment
from auditor.simulate.fleet import EngineSpec
from auditor.simulate.roots import build_root, plan_bytes
from auditor.simulate.server import interpreter_for
from tests.support.reference import A10, A10G, A100, H100, L4, T4, host, make_library, run_reference, runs


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """ref-fp32 built on a 10.3 A10, ref-fp16 on an 11.4 H100, ref-vc (version- and hardware-compatible) on a 10.3 A10."""
    base = tmp_path_factory.mktemp("reference-library")
    return make_library(
        base,
        [
            (host("canary-a10"), BuildRequest("ref-fp32")),
            (host("canary-h100", H100, "11.4.0.106"), BuildRequest("ref-fp16", precision="fp16")),
            (
                host("canary-vc"),
                BuildRequest("ref-vc", version_compatible=True, hardware_compatible="ampere+"),
            ),
        ],
    )


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    return tmp_path / "roots"


def test_the_exact_plan_runs_and_matches_bit_for_bit(library: Library, roots: Path, tmp_path: Path) -> None:
    """On a host like the canary the exact plan loads, runs once through libcuda and gives the recorded bytes."""
    doc = run_reference(build_root(host("same-a10"), roots), library, ["ref-fp32"])
    [run] = runs(doc, "ref-fp32")
    assert (run["status"], run["plan"], run["rule"]) == (
        "ok",
        "10.3.0.26/sm86/ref-fp32",
        "exact-version+compute-capability",
    )
    assert (run["runtime"], run["runtime_version"], run["cuda_api"]) == ("tensorrt", "10.3.0.26", "driver (simulated)")
    assert run["exact"] is True and run["max_abs_error"] == 0.0 and run["cleanup"] == "removed"
    assert run["device"] == {"name": "NVIDIA A10", "cc": "8.6"} and run["load_s"] >= 0 and run["run_s"] >= 0
    expected = library.named("ref-fp32")[0].meta.expected[0].values
    assert run["output"]["output"] == pytest.approx(list(expected), abs=1e-6)


def test_another_model_of_the_same_capability_runs_with_tensorrts_warning(library: Library, roots: Path) -> None:
    """An A10G (8.6) loads the A10's plan; TensorRT's cross-model warning is kept as the run's message."""
    [run] = runs(run_reference(build_root(host("a10g", A10G), roots), library, ["ref-fp32"]), "ref-fp32")
    assert run["status"] == "ok" and "across different models of devices" in run["message"]


@pytest.mark.parametrize(
    ("sim", "module", "version"),
    [
        (host("newer-10", A100, "10.8.0.43"), "tensorrt", "10.8.0.43"),  # newer runtime, same major, other GPU
        (host("next-major", H100, "11.4.0.106"), "tensorrt", "11.4.0.106"),  # 10 -> 11
        (host("lean-only", L4, None, python_tensorrt_lean="11.4.0.106"), "tensorrt_lean", "11.4.0.106"),
    ],
)
def test_a_version_and_hardware_compatible_plan_runs_where_the_rules_allow(
    library: Library, roots: Path, sim: object, module: str, version: str
) -> None:
    """The 10.3 VC+ampere+ plan runs on newer runtimes (the lean one too) and other Ampere+ GPUs."""
    [run] = runs(run_reference(build_root(sim, roots), library, ["ref-vc"]), "ref-vc")  # type: ignore[arg-type]
    assert (run["status"], run["runtime"], run["runtime_version"]) == ("ok", module, version)
    assert run["rule"] == "version-compatible+lean-runtime+hardware-ampere-plus" and run["exact"] is True


@pytest.mark.parametrize(
    ("sim", "name", "reason"),
    [
        (host("older-gpu", T4), "ref-vc", "needs compute capability 8.0 or newer"),
        (host("older-trt", A10, "10.2.0.19"), "ref-vc", "runs on TensorRT 10.3.0.26 or newer"),
        (host("other-build", A10, "10.3.0.25"), "ref-fp32", "built by TensorRT 10.3.0.26"),
        (host("lean-exact", H100, None, python_tensorrt_lean="11.4.0.106"), "ref-fp16", "needs the tensorrt module"),
    ],
)
def test_no_plan_when_the_rules_admit_none(library: Library, roots: Path, sim: object, name: str, reason: str) -> None:
    """Nothing shipped loads here: no-plan, naming this host's runtime, its GPU and each plan's reason."""
    [run] = runs(run_reference(build_root(sim, roots), library, [name]), name)  # type: ignore[arg-type]
    assert run["status"] == "no-plan" and reason in run["message"] and "plan" not in run


def test_no_tensorrt_at_all_is_no_runtime(library: Library, roots: Path) -> None:
    """A host without a TensorRT Python module reports no-runtime."""
    [run] = runs(run_reference(build_root(host("bare", A10, None), roots), library, ["ref-fp32"]), "ref-fp32")
    assert run["status"] == "no-runtime"


def test_a_gpu_that_computes_wrongly_is_wrong_output(library: Library, roots: Path) -> None:
    """The same plan on a host whose GPU adds 0.5 to one value: wrong-output, with where and by how much."""
    sim = host("bad-gpu", gpu_fault="wrong-output")
    [run] = runs(run_reference(build_root(sim, roots), library, ["ref-fp32"]), "ref-fp32")
    assert run["status"] == "wrong-output" and run["exact"] is False
    assert run["max_abs_error"] == pytest.approx(0.5, abs=1e-6) and run["message"].startswith("output[0] = 0.686")


def test_device_memory_running_out_is_run_failed(library: Library, roots: Path) -> None:
    """cuMemAlloc failing after a good load is run-failed, with CUDA's error name."""
    sim = host("full-gpu", gpu_fault="out-of-memory")
    [run] = runs(run_reference(build_root(sim, roots), library, ["ref-fp32"]), "ref-fp32")
    assert run["status"] == "run-failed" and "CUDA_ERROR_OUT_OF_MEMORY (2)" in run["message"]


def test_one_run_per_gpu_model(library: Library, roots: Path) -> None:
    """A host with an A10 and a T4 runs the ampere+ plan on the A10 and reports no-plan for the T4."""
    sim = host("mixed", A10)
    sim = type(sim)(**{**sim.__dict__, "gpus": (A10, T4)})
    results = runs(run_reference(build_root(sim, roots), library, ["ref-vc"]), "ref-vc")
    assert [(r["gpu_name"], r["status"]) for r in results] == [("NVIDIA A10", "ok"), ("Tesla T4", "no-plan")]


def lying_candidate(library: Library, name: str, accepts: dict) -> tuple[list[dict], bytes]:
    """The library's shipment for ``name`` with the candidate's rule replaced: the runtime decides."""
    shipped = shipment(library, [name])
    references = [dict(r, candidates=[dict(c, accepts=accepts) for c in r["candidates"]]) for r in shipped.references]
    return references, shipped.payload


@pytest.mark.parametrize(
    ("sim", "accepts", "status", "said"),
    [
        (
            host("cc-lie", A100),
            {"modules": ["tensorrt"], "version": {"exact": "10.3.0.26"}, "cc": {"min": "1.0"}},
            "device-mismatch",
            "generated on an incompatible device",
        ),
        (
            host("version-lie", A10, "10.4.0.26"),
            {"modules": ["tensorrt"], "version": {"min": "1.0", "majors": [10]}, "cc": {"exact": "8.6"}},
            "version-mismatch",
            "Version tag does not match",
        ),
        (
            host("lean-lie", A10, None, python_tensorrt_lean="10.3.0.26"),
            {"modules": ["tensorrt_lean"], "version": {"exact": "10.3.0.26"}, "cc": {"exact": "8.6"}},
            "no-runtime",
            "Unexpected call to stub loadRunner",
        ),
    ],
)
def test_a_load_the_runtime_refuses_is_classified_from_its_log(
    library: Library, roots: Path, sim: object, accepts: dict, status: str, said: str
) -> None:
    """When a shipped rule is wrong the runtime still decides, and its log classifies the failure."""
    references, payload = lying_candidate(library, "ref-fp32", accepts)
    root = build_root(sim, roots)  # type: ignore[arg-type]
    result = run_local(root=str(root), request=encode_request(reference=references), program=probe_program(payload))
    [run] = runs(json.loads(result.stdout), "ref-fp32")
    assert run["status"] == status and said in run["message"] and run["cleanup"] == "removed"


def test_a_plan_damaged_in_transit_is_never_loaded(library: Library, roots: Path) -> None:
    """A candidate whose bytes do not match its sha256 is corrupt before anything is written."""
    shipped = shipment(library, ["ref-fp32"])
    payload = bytes([shipped.payload[0] ^ 1]) + shipped.payload[1:]
    root = build_root(host("transit"), roots)
    result = run_local(
        root=str(root), request=encode_request(reference=shipped.references), program=probe_program(payload)
    )
    [run] = runs(json.loads(result.stdout), "ref-fp32")
    assert run["status"] == "corrupt" and "damaged in transit" in run["message"]


def test_a_request_without_its_payload_says_so(library: Library, roots: Path) -> None:
    """Reference candidates with the plain probe (no AUDITOR_PAYLOAD line): an error, the rest of the facts intact."""
    shipped = shipment(library, ["ref-fp32"])
    root = build_root(host("no-payload"), roots)
    doc = json.loads(run_local(root=str(root), request=encode_request(reference=shipped.references)).stdout)
    assert "AUDITOR_PAYLOAD" in doc["reference"]["error"] and doc["driver"]["status"] == "ok"


def test_facts_without_a_reference_request_say_none_was_requested(roots: Path) -> None:
    """The default request leaves the reference section empty and unrequested."""
    doc = json.loads(run_local(root=str(build_root(host("plain"), roots))).stdout)
    assert doc["reference"]["requested"] is False and parse_facts(json.dumps(doc)).reference.requested is False


def test_the_private_directory_is_gone_after_every_outcome(library: Library, roots: Path, tmp_path: Path) -> None:
    """ok, wrong-output and run-failed runs leave nothing in TMPDIR; the plan was written there with mode 0600."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    for sim in (host("t-ok"), host("t-wrong", gpu_fault="wrong-output"), host("t-oom", gpu_fault="out-of-memory")):
        [run] = runs(run_reference(build_root(sim, roots), library, ["ref-fp32"], env=env), "ref-fp32")
        assert run["cleanup"] == "removed"
    assert list(tmp.iterdir()) == []


def hanging_plan(tmp_path: Path) -> tuple[object, bytes]:
    """A host whose stand-in TensorRT hangs on one plan's bytes (fleet outcome ``hang``), and those bytes."""
    spec = EngineSpec(tensorrt="10.3.0.26", compute_capability="8.6", outcome="hang")
    sim = host("hangs", engines={"/srv/hang.plan": spec})
    return sim, plan_bytes(spec.tensorrt, spec.compute_capability, "/srv/hang.plan", spec)


def hanging_request(data: bytes) -> list[dict]:
    template = {
        "id": "10.3.0.26/sm86/hang",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "offset": 0,
        "rule": "exact-version+compute-capability",
        "accepts": {"modules": ["tensorrt"], "version": {"exact": "10.3.0.26"}, "cc": {"exact": "8.6"}},
        "inputs": [{"name": "input", "shape": [1], "dtype": "FLOAT", "data": base64.b64encode(bytes(4)).decode()}],
        "outputs": [{"name": "output", "shape": [1], "dtype": "FLOAT", "expected": {"values": [0.0], "sha256": ""}}],
        "tolerance": {"atol": 0, "rtol": 0},
    }
    return [{"name": "hang", "candidates": [template]}]


def test_a_hanging_load_times_out_and_is_still_cleaned_up(roots: Path, tmp_path: Path) -> None:
    """A runtime that never returns is killed at the engine_load budget: timeout, directory removed."""
    sim, data = hanging_plan(tmp_path)
    root = build_root(sim, roots)  # type: ignore[arg-type]
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    request = encode_request(budgets={"engine_load": 1.5}, reference=hanging_request(data))
    done = subprocess.run(
        [sys.executable, *interpreter_args(request, str(root))],
        input=probe_program(data),
        capture_output=True,
        env=dict(os.environ, TMPDIR=str(tmp)),
        timeout=60,
        check=False,
    )
    [run] = runs(json.loads(done.stdout), "hang")
    assert run["status"] == "timeout" and run["cleanup"] == "removed" and list(tmp.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_probe_removes_its_plan_and_its_child(roots: Path, tmp_path: Path, signum: int) -> None:
    """SIGTERM or SIGHUP (the session going away) while a reference runs: the directory and the child are gone."""
    sim, data = hanging_plan(tmp_path)
    root = build_root(sim, roots)  # type: ignore[arg-type]
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    request = encode_request(budgets={"engine_load": 120, "reference": 120}, reference=hanging_request(data))
    program = tmp_path / "program.py"
    program.write_bytes(probe_program(data))
    with program.open("rb") as stdin:
        process = subprocess.Popen(
            [sys.executable, *interpreter_args(request, str(root))],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, TMPDIR=str(tmp)),
        )
    for _ in range(300):  # until the plan is on disk and its loader started
        if any(tmp.glob("auditor-reference-*/reference.plan")):
            break
        time.sleep(0.05)
    plan = next(tmp.glob("auditor-reference-*/reference.plan"))
    assert plan.stat().st_mode & 0o777 == 0o600 and plan.parent.stat().st_mode & 0o777 == 0o700
    time.sleep(0.3)
    process.send_signal(signum)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signum
    assert list(tmp.iterdir()) == []
    children = [p for p in Path("/proc").glob("[0-9]*/cmdline") if str(plan.parent).encode() in _read(p)]
    assert children == []


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended while we looked
        return b""


@pytest.mark.parametrize("minor", ["3.6", "3.8", "3.12"])
def test_the_reference_run_works_under_old_and_new_pythons(library: Library, roots: Path, minor: str) -> None:
    """The probe's reference run, its child and the stand-ins give the same answer under Python 3.6 to 3.12."""
    python = interpreter_for(f"{minor}.0")
    if python == sys.executable and f"{sys.version_info[0]}.{sys.version_info[1]}" != minor:
        pytest.skip(f"python{minor} is not installed here")
    shipped = shipment(library, ["ref-fp32"])
    root = build_root(host("py"), roots)
    result = run_local(
        root=str(root),
        request=encode_request(reference=shipped.references),
        program=probe_program(shipped.payload),
        python=python,
    )
    doc = json.loads(result.stdout)
    assert doc["host"]["python"].startswith(minor)
    [run] = runs(doc, "ref-fp32")
    assert run["status"] == "ok" and run["exact"] is True


def test_parsed_facts_keep_every_run(library: Library, roots: Path) -> None:
    """The reference section parses into typed runs: status, plan, rule, times, error and output."""
    facts = parse_facts(
        json.dumps(run_reference(build_root(host("typed", gpu_fault="wrong-output"), roots), library, ["ref-fp32"]))
    )
    [run] = facts.reference.item("ref-fp32").runs  # type: ignore[union-attr]
    assert run.status is ReferenceStatus.WRONG_OUTPUT and run.plan == "10.3.0.26/sm86/ref-fp32"
    assert run.load_s is not None and run.run_s is not None and run.max_abs_error == pytest.approx(0.5, abs=1e-6)
    assert len(run.output) == 10 and run.cleanup == "removed" and run.cuda_api == "driver (simulated)"
