"""Building the reference network: the builder against each TensorRT API generation, strict parsing, the CLI."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import auditor.probe.remote.children.builder as builder_module
from auditor.__main__ import main
from auditor.probe.program import builder_program, run_local
from auditor.probe.request import encode_request
from auditor.reference.build import BuildFailed, BuildRequest, default_name, parse_build
from auditor.simulate.roots import build_root
from auditor.simulate.server import interpreter_for
from tests.support.reference import A10, A100, H100, L4, T4, build_raw, host

FLEET = """\
schema: auditor.fleet/1
defaults: {os: "Ubuntu 22.04.4 LTS", python: "3.10.12", driver: "580.95.05"}
hosts:
  canary-10:
    gpus: [{model: "NVIDIA A10", count: 1}]
    tensorrt: "10.3.0.26"
    python_tensorrt: "10.3.0.26"
  canary-11:
    gpus: [{model: "NVIDIA H100 80GB HBM3", count: 1}]
    tensorrt: "11.4.0.106"
    python_tensorrt: "11.4.0.106"
  lean-only:
    gpus: [{model: "NVIDIA L4", count: 1}]
    python_tensorrt_lean: "11.4.0.106"
  gone:
    gpus: [{model: "NVIDIA L4", count: 1}]
    fault: unreachable
"""


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    return tmp_path / "roots"


@pytest.mark.parametrize(
    ("sim", "precision", "typing", "weights"),
    [
        (host("t10", A10, "10.3.0.26"), "fp32", "strong", "pointer"),
        (host("t10h", A10, "10.3.0.26"), "fp16", "strong", "pointer"),
        (host("t11", H100, "11.4.0.106"), "fp32", "always-strong", "pointer"),
        (host("t11h", H100, "11.4.0.106"), "fp16", "always-strong", "pointer"),
    ],
)
def test_the_network_builds_with_each_api_generation_and_computes_as_defined(
    roots: Path, sim: Any, precision: str, typing: str, weights: str
) -> None:
    """10.x (strongly typed on request) and 11.x (always) build it; the first run matches the Python float64 network."""
    doc = build_raw(build_root(sim, roots), precision=precision)
    assert doc["status"] == "ok", doc["error"]
    assert (doc["build"]["typing"], doc["build"]["weights"], doc["build"]["tf32"]) == (typing, weights, "off")
    assert doc["header"] == {"magic": True, "tensorrt_version": sim.tensorrt}
    check = doc["reference_check"]
    assert check["max_abs_error"] <= check["atol"] and (check["atol"], check["rtol"]) == (
        (1e-3, 1e-3) if precision == "fp32" else (5e-2, 5e-2)
    )
    assert (
        doc["cuda_api"] == "driver (simulated)" and doc["gpu"]["compute_capability"] == sim.gpus[0].compute_capability
    )


def test_tensorrt_8_6_needs_numpy_for_weights_and_says_so(roots: Path) -> None:
    """8.6's trt.Weights takes only numpy arrays: without numpy the build fails with that reason."""
    doc = build_raw(build_root(host("t86", A100, "8.6.1.6"), roots))
    assert doc["status"] == "failed" and "takes weights only as numpy arrays" in doc["error"]


@pytest.mark.parametrize(
    ("sim", "job", "error"),
    [
        (host("lean", L4, None, python_tensorrt_lean="11.4.0.106"), {}, "no TensorRT builder here"),
        (host("bare", L4, None), {}, "no TensorRT builder here"),
        (host("old-gpu", T4), {"hardware_compatible": "ampere+"}, "compute capability 8.0 or newer"),
        (host("old-trt", A10), {"hardware_compatible": "same-cc"}, "no SAME_COMPUTE_CAPABILITY"),
        (host("gpu9", A10), {"gpu": "9"}, "no GPU 9 here"),
        (host("flaky", A10, gpu_fault="wrong-output"), {}, "does not compute the reference network"),
    ],
)
def test_a_build_that_cannot_succeed_says_why(roots: Path, sim: Any, job: dict[str, Any], error: str) -> None:
    """No builder, a level this GPU or TensorRT lacks, an unknown GPU, a wrong first answer: failed, with the reason."""
    doc = build_raw(build_root(sim, roots), **job)
    assert doc["status"] == "failed" and error in doc["error"] and "plan" not in doc


def test_compatibility_flags_reach_the_plan(roots: Path) -> None:
    """--version-compatible and --hardware-compatible same-cc (10.9+) are set on the builder config."""
    doc = build_raw(
        build_root(host("t109", A10, "10.9.0.34"), roots), version_compatible=True, hardware_compatible="same-cc"
    )
    assert doc["status"] == "ok" and doc["build"]["version_compatible"] is True
    assert doc["build"]["hardware_compatible"] == "same-cc"
    body = base64.b64decode(doc["plan"]).split(b"AUDITOR-SIM-PLAN/1\n", 1)[1]
    assert json.loads(body)["version_compatible"] is True and json.loads(body)["hardware"] == "same-cc"


def test_the_generator_is_splitmix64() -> None:
    """Seed 1 gives SplitMix64's published first output, so weights are the same in every Python."""
    assert builder_module.SplitMix64(1).next() == 0x910A2DEC89025CC1
    values = builder_module.parameters(builder_module.SEED)
    assert len(values["input"]) == 192 and all(-1.0 <= v < 1.0 for v in values["input"])


@pytest.fixture
def good(roots: Path) -> dict[str, Any]:
    doc = build_raw(build_root(host("good", A10), roots))
    assert doc["status"] == "ok"
    return doc


def reparse(doc: dict[str, Any], request: BuildRequest | None = None) -> Any:
    return parse_build(json.dumps(doc).encode(), request or BuildRequest("ref-fp32"), "good")


def test_a_good_build_becomes_checked_metadata(good: dict[str, Any]) -> None:
    """The TensorRT version comes from the plan's header; expected values from the first run's bytes."""
    built = reparse(good)
    meta = built.meta
    assert (meta.tensorrt, meta.compute_capability, meta.gpu, meta.host) == ("10.3.0.26", "8.6", "NVIDIA A10", "good")
    assert (
        meta.inputs[0].shape == (1, 3, 8, 8) and meta.outputs[0].shape == (1, 10) and len(meta.expected[0].values) == 10
    )
    assert (meta.atol, meta.rtol) == (1e-4, 1e-3) and meta.build["cuda_api"] == "driver (simulated)"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda d: d.update(status="failed", error="\x1b[31mboom"), "[31mboom"),
        (lambda d: d.update(schema="other/1"), "not auditor.reference-build/1"),
        (lambda d: d.update(plan="!!!"), "not valid base64"),
        (lambda d: d.update(plan_sha256="0" * 64), "damaged in transit"),
        (lambda d: d.update(plan=base64.b64encode(b"nope" * 10).decode(), plan_sha256=None), "sha256"),
        (lambda d: d["gpu"].update(compute_capability="9.0"), "unusable compute capability"),
        (lambda d: d["tensorrt"].update(version="10.4.0"), "the plan says TensorRT 10.3.0.26"),
        (lambda d: d["outputs"][0].update(data=base64.b64encode(b"\x00\x00\xc0\x7f" * 10).decode()), "not finite"),
        (lambda d: d["outputs"][0].update(shape=[1, 11]), "values for shape [1, 11]"),
        (lambda d: d.update(inputs=[]), "no inputs or outputs"),
    ],
)
def test_what_a_host_sends_back_is_checked_before_it_is_kept(good: dict[str, Any], change: Any, error: str) -> None:
    """Any inconsistency in the untrusted build output is a BuildFailed naming it (control characters removed)."""
    change(good)
    with pytest.raises(BuildFailed) as caught:
        reparse(good)
    assert error in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_garbage_output_is_a_clear_failure() -> None:
    """Bytes that are not JSON are refused."""
    with pytest.raises(BuildFailed, match="no usable JSON"):
        parse_build(b"\xff\x00garbage", BuildRequest("ref-fp32"), "h")


def test_default_names_keep_variants_apart() -> None:
    """fp16, version- and hardware-compatible builds get names of their own."""
    assert default_name("fp32", False, "none") == "ref-fp32"
    assert default_name("fp16", True, "ampere+") == "ref-fp16-vc-ampere+"


# -- the command line, over SSH to the simulated fleet ---------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET)
    return path


def test_build_list_and_verify_from_the_command_line(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two canaries build over SSH; list shows both; verify passes, then fails once a plan is changed."""
    library = tmp_path / "engines"
    assert main(["engines", "build", "--on", "canary-10", "--simulate", str(fleet), "--library", str(library)]) == 0
    out = capsys.readouterr().out
    assert "built ref-fp32 on canary-10: TensorRT 10.3.0.26, sm86 (NVIDIA A10)" in out
    assert (
        main(
            [
                "engines",
                "build",
                "--on",
                "canary-11",
                "--simulate",
                str(fleet),
                "--library",
                str(library),
                "--precision",
                "fp16",
                "--version-compatible",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["engines", "list", "--library", str(library), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(p["id"] for p in listed["plans"]) == ["10.3.0.26/sm86/ref-fp32", "11.4.0.106/sm90/ref-fp16-vc"]
    assert main(["engines", "list", "--library", str(library)]) == 0
    table = capsys.readouterr().out
    assert "ref-fp16-vc  11.4.0.106  sm90 (9.0)" in table and "fp16 vc" in table
    assert main(["engines", "verify", "--library", str(library)]) == 0
    assert capsys.readouterr().out.count("ok   ") == 2
    plan = library / "10.3.0.26" / "sm86" / "ref-fp32.plan"
    plan.write_bytes(plan.read_bytes()[:-1])
    assert main(["engines", "verify", "--library", str(library)]) == 1
    assert "FAIL 10.3.0.26/sm86/ref-fp32" in capsys.readouterr().out
    assert main(["engines", "verify", "--library", str(library), "ref-fp16-vc"]) == 0


@pytest.mark.parametrize(
    ("on", "code", "said"),
    [
        ("canary-10x", 2, "did you mean 'canary-10'"),
        ("lean-only", 1, "no TensorRT builder here"),
        ("gone", 3, "connection refused"),
    ],
)
def test_build_exit_codes(
    fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], on: str, code: int, said: str
) -> None:
    """2 for a host not in the fleet, 1 when the host cannot build, 3 when it cannot be reached."""
    assert main(["engines", "build", "--on", on, "--simulate", str(fleet), "--library", str(tmp_path / "e")]) == code
    assert said in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_verify_of_an_empty_or_missing_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty library verifies (nothing to fail); asking for a name it lacks fails with a suggestion."""
    assert main(["engines", "verify", "--library", str(tmp_path)]) == 0
    assert "no plans in" in capsys.readouterr().out
    assert main(["engines", "verify", "--library", str(tmp_path), "ref-fp32"]) == 1


def test_the_builder_is_python36_syntax() -> None:
    """The builder runs under the host's Python, as old as 3.6 (vermin, as for the probe)."""
    vermin = shutil.which("vermin") or str(Path(sys.executable).parent / "vermin")
    result = subprocess.run(
        [vermin, "-t=3.6-", "--no-tips", "--violations", builder_module.__file__], capture_output=True, check=False
    )
    assert result.returncode == 0, result.stdout.decode()


def test_the_build_runs_under_python_3_6(roots: Path) -> None:
    """The build program, the builder child and the stand-ins all run under the oldest Python a host may have."""
    python = interpreter_for("3.6.0")
    if python == sys.executable and sys.version_info[:2] != (3, 6):
        pytest.skip("python3.6 is not installed here")
    root = build_root(host("py36", A10), roots)
    result = run_local(
        root=str(root), request=encode_request(build={"name": "ref-fp32"}), program=builder_program(), python=python
    )
    doc = json.loads(result.stdout)
    assert doc["status"] == "ok", doc["error"]
    assert doc["reference_check"]["max_abs_error"] < 1e-6
