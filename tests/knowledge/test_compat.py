"""Compatibility answers from the knowledge base, and `auditor compat` as a user runs it."""

from __future__ import annotations

import datetime
import json

import pytest

from auditor.__main__ import main
from auditor.knowledge.answers import GpuSpec, Mode, combine
from auditor.knowledge.compat import cuda_on_driver, cuda_on_gpu, driver_on_gpu
from auditor.knowledge.compat_tensorrt import tensorrt_on
from auditor.knowledge.images import image_on
from auditor.knowledge.lookup import Query, answer

TODAY = datetime.date(2026, 11, 21)
T4, A100, RTX4090, V100 = (
    GpuSpec(n) for n in ("Tesla T4", "NVIDIA A100-SXM4-80GB", "NVIDIA GeForce RTX 4090", "Tesla V100-SXM2-32GB")
)


@pytest.mark.parametrize(
    ("cuda", "driver", "gpu", "mode"),
    [
        ("12.2.2", "535.104.05", T4, Mode.NATIVE),  # at the floor
        ("12.2", "580.95.05", T4, Mode.NATIVE),  # backward compatibility
        ("12.4.1", "535.104.05", T4, Mode.MINOR_VERSION),  # below 550.54.15, above 525.60.13
        ("12.8.0", "570.26", T4, Mode.MINOR_VERSION),  # printed floor, below the bundled 570.86.10 (Q3)
        ("13.0.2", "535.104.05", A100, Mode.FORWARD_COMPAT),  # cuda-compat-13-0 on R535
        ("13.0.2", "535.104.05", RTX4090, Mode.INCOMPATIBLE),  # forward compat is data-center only
        ("12.2", "470.82.01", T4, Mode.INCOMPATIBLE),  # no R470 column any more (Q8)
        ("11.4.4", "450.80.02", T4, Mode.MINOR_VERSION),  # 11.x MVC floor
        ("10.2", "418.39", T4, Mode.INCOMPATIBLE),  # no MVC before 11
        ("14.0", "580.95.05", T4, Mode.UNKNOWN),  # not in the knowledge base
    ],
)
def test_cuda_on_driver(cuda: str, driver: str, gpu: GpuSpec, mode: Mode) -> None:
    """Native, minor-version, forward-compat (data-center only), incompatible, unknown: each case once."""
    result = cuda_on_driver(cuda, driver, gpu)
    assert result.mode is mode, result.reasons
    assert result.sources or mode is Mode.UNKNOWN
    assert result.compatible is (mode in (Mode.NATIVE, Mode.MINOR_VERSION))


def test_minor_version_answers_carry_caveats_and_a_fix() -> None:
    """An MVC answer lists the caveats and names the driver floor for the full feature set."""
    result = cuda_on_driver("12.4.1", "535.104.05")
    assert any("PTX" in c for c in result.caveats)
    assert result.fix == "upgrade the driver to 550.54.15 or newer for the full feature set"


def test_forward_compat_answer_names_the_packages() -> None:
    """Forward compatibility names the cuda-compat packages that fit the branch, oldest first."""
    result = cuda_on_driver("13.0.2", "535.104.05", A100)
    assert result.details["compat_packages"][0] == "cuda-compat-13-0"
    assert "cuda-compat-13-0" in (result.fix or "")


def test_architecture_gates() -> None:
    """CUDA 13 dropped Volta; Hopper needs 11.8; R590 dropped Volta; TensorRT 10.5 dropped Volta; Blackwell needs 10.8."""
    assert cuda_on_gpu("13.0", V100).mode is Mode.INCOMPATIBLE
    assert cuda_on_gpu("12.9", V100).mode is Mode.NATIVE
    assert cuda_on_gpu("11.4", GpuSpec("NVIDIA H100 80GB HBM3")).mode is Mode.INCOMPATIBLE
    assert driver_on_gpu("590.48.01", V100).mode is Mode.INCOMPATIBLE
    assert driver_on_gpu("580.95.05", V100).mode is Mode.NATIVE
    assert tensorrt_on("10.5", gpu=V100).details["tensorrt_last_for_gpu"] == "10.4"
    assert tensorrt_on("10.3.0.26", gpu=GpuSpec("NVIDIA B200")).details["tensorrt_first_for_gpu"] == "10.8"
    assert cuda_on_gpu("12.2", GpuSpec(compute_capability="9.9")).mode is Mode.UNKNOWN


def test_tensorrt_on_a_driver_picks_its_best_cuda_build() -> None:
    """TRT 8.6's CUDA 12.1 build runs natively on R535; 10.16 needs r535 even where CUDA 12 MVC would allow less."""
    assert tensorrt_on("8.6.1.6", driver="535.104.05").mode is Mode.NATIVE
    assert tensorrt_on("10.16.0.72", driver="530.30.02").mode is Mode.INCOMPATIBLE
    assert tensorrt_on("8.6.1.6", cuda="13.0").mode is Mode.INCOMPATIBLE  # no CUDA 13 build


def test_images() -> None:
    """23.09 on R470: forward compat per its notes (R470 listed); 25.08 printed 575 but CUDA 13 needs 580 (trt-Q2)."""
    old = image_on("nvcr.io/nvidia/tensorrt:23.09-py3", "470.82.01")
    assert old.mode is Mode.FORWARD_COMPAT and any("R470" in r for r in old.reasons)
    assert image_on("25.08-py3", "575.57.08").mode is Mode.INCOMPATIBLE
    assert image_on("25.08-py3", "580.95.05").mode is Mode.NATIVE
    assert image_on("23.02").mode is Mode.UNKNOWN
    assert image_on("23.08", gpu=GpuSpec("NVIDIA GeForce RTX 4090")).mode is Mode.NATIVE


def test_combine_keeps_the_worst_mode() -> None:
    """Several answers combine into the least compatible one, with every reason."""
    result = combine([cuda_on_driver("12.2", "580.95.05"), cuda_on_gpu("13.0", V100)])
    assert result.mode is Mode.INCOMPATIBLE and len(result.reasons) == 2


def test_single_versions_answer_the_useful_question() -> None:
    """--cuda alone: the floor; --driver alone: what it runs; --gpu alone: its support window."""
    floor = answer(Query(cuda="12.4"), TODAY)
    assert floor.mode is Mode.LOOKUP and floor.details["cuda_floor"] == "550.54.14"
    driver = answer(Query(driver="535.104.05"), TODAY)
    assert driver.details["cuda_native"][0] == "12.2.2"
    assert "8.6" in driver.details["tensorrt"]["native"]
    assert "23.08" in driver.details["images"]["native"]
    assert any("past end of life" in c for c in driver.caveats)
    gpu = answer(Query(gpu=V100), TODAY)
    assert any("up to 10.4" in r for r in gpu.reasons)


def run_compat(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["compat", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_examples_from_the_issue(capsys: pytest.CaptureFixture[str]) -> None:
    """The three examples: exit 1 each (incompatible, incompatible, forward-compat only)."""
    code, out, _ = run_compat(capsys, "--driver", "470.82.01", "--cuda", "12.2", "--gpu", "Tesla T4", "--json")
    data = json.loads(out)
    assert code == 1 and data["mode"] == "incompatible" and data["compatible"] is False
    assert {"compatible", "mode", "reasons", "sources"} <= set(data)
    assert all(s.startswith("knowledge:") for s in data["sources"])
    code, out, _ = run_compat(capsys, "--tensorrt", "10.5", "--gpu", "Tesla V100-SXM2-32GB")
    assert code == 1 and out.startswith("incompatible") and "7.5" in out
    code, out, _ = run_compat(capsys, "--image", "nvcr.io/nvidia/tensorrt:23.09-py3", "--driver", "470.82.01", "--json")
    assert code == 1 and json.loads(out)["mode"] == "forward-compat"


def test_cli_exit_0_when_compatible(capsys: pytest.CaptureFixture[str]) -> None:
    """Native and minor-version answers exit 0; so does a lookup."""
    assert run_compat(capsys, "--driver", "580.95.05", "--cuda", "12.8", "--gpu", "8.9")[0] == 0
    code, out, _ = run_compat(capsys, "--driver", "535.104.05", "--cuda", "12.4", "--json")
    assert code == 0 and json.loads(out)["mode"] == "minor-version"
    code, out, _ = run_compat(capsys, "--cuda", "12.4")
    assert code == 0 and "550.54.14" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--driver", "five"], "--driver: not a version"),
        (["--gpu", "Tesla T5"], "closest: 'Tesla T4'"),
        (["--image", "tensorrt:latest"], "--image: not an NGC image reference"),
        ([], "give at least one of"),
        (["--cuda", "12.2", "--as-of", "yesterday"], "--as-of: not a date"),
    ],
)
def test_cli_exit_2_on_bad_input(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    """Unparsable versions, unknown GPU names (with a suggestion), bad image references: exit 2, nothing on stdout."""
    code, out, err = run_compat(capsys, *args)
    assert code == 2 and out == "" and message in err


def test_cli_unknown_versions_are_not_compatible(capsys: pytest.CaptureFixture[str]) -> None:
    """A well-formed version the knowledge base lacks is unknown: exit 1, never a guess."""
    code, out, _ = run_compat(capsys, "--cuda", "14.0", "--driver", "620.1", "--json")
    assert code == 1 and json.loads(out)["mode"] == "unknown"


# -- issue 17: verdicts you can stake a fleet on ---------------------------------------------------

TODAY_17 = datetime.date(2026, 12, 4)
B200, H100, GB300 = GpuSpec("NVIDIA B200"), GpuSpec("NVIDIA H100 80GB HBM3"), GpuSpec("NVIDIA GB300")
GTX1080, ORIN = GpuSpec("NVIDIA GeForce GTX 1080"), GpuSpec("Jetson AGX Orin")


def test_blackwell_needs_r570_and_hgx_b200_its_system_floor(capsys: pytest.CaptureFixture[str]) -> None:
    """R560 cannot drive a B200 (R570 first); 570.124.06 is below HGX B200's 570.133.20; R580 runs it."""
    code, out, _ = run_compat(capsys, "--driver", "560.35.03", "--gpu", "NVIDIA B200")
    assert code == 1 and out.startswith("incompatible") and "R570" in out
    system = driver_on_gpu("570.124.06", B200)
    assert system.mode is Mode.INCOMPATIBLE and system.details["system_floor"] == "570.133.20"
    assert "HGX B200" in system.reasons[0] and "cloud-native-docs/pull/184" in system.sources[0]
    assert driver_on_gpu("580.95.05", B200).mode is Mode.NATIVE
    assert driver_on_gpu("570.133.20", GpuSpec(compute_capability="12.0")).mode is Mode.NATIVE  # no system there


def test_each_architecture_has_both_ends(capsys: pytest.CaptureFixture[str]) -> None:
    """Ampere needs R450 (R440 is incompatible, an upgrade); Volta ends with R580 (a rollback from R590)."""
    code, out, _ = run_compat(capsys, "--driver", "440.33.01", "--gpu", "NVIDIA A100-SXM4-80GB", "--json")
    data = json.loads(out)
    assert code == 1 and data["mode"] == "incompatible" and data["details"]["first_driver_branch"] == 450
    assert data["fix"] == "upgrade the driver to R450 or newer"
    volta = driver_on_gpu("590.48.01", V100)
    assert volta.details["last_driver_branch"] == 580 and "roll the driver back" in (volta.fix or "")
    assert driver_on_gpu("470.82.01", GpuSpec(compute_capability="9.0")).details["first_driver_branch"] == 520


def test_missing_bounds_and_newer_releases_are_unknown() -> None:
    """No first toolkit recorded (Orin, Rubin) or a branch newer than the knowledge: unknown, saying how old it is."""
    for gpu in (ORIN, GpuSpec(compute_capability="10.7")):
        assert driver_on_gpu("580.95.05", gpu).mode is Mode.UNKNOWN
        assert cuda_on_gpu("13.0", gpu).mode is Mode.UNKNOWN
    newer = driver_on_gpu("625.10.01", H100)
    assert newer.mode is Mode.UNKNOWN and "knowledge as of 2026-12-04" in newer.reasons[0]
    assert driver_on_gpu("625.10.01", V100).mode is Mode.INCOMPATIBLE  # Volta ended before: that much is known
    assert cuda_on_driver("13.6", "620.10.01").mode is Mode.UNKNOWN


def test_cuda_13_5_and_tensorrt_11_5_are_known(capsys: pytest.CaptureFixture[str]) -> None:
    """--cuda 13.5 and --tensorrt 11.5 are lookups of known releases; 13.5 on R580 with a GeForce runs (MVC)."""
    code, out, _ = run_compat(capsys, "--cuda", "13.5", "--json")
    data = json.loads(out)
    assert code == 0 and data["mode"] == "lookup" and data["details"]["mvc_floor"] == "580"
    assert data["knowledge"]["as_of"] == "2026-12-04"
    code, out, _ = run_compat(capsys, "--tensorrt", "11.5")
    assert code == 0 and "TensorRT 11.5" in out and "CUDA 13.5" in out
    code, out, _ = run_compat(capsys, "--cuda", "13.5", "--driver", "580.65.06", "--gpu", "NVIDIA GeForce RTX 4090")
    assert code == 0 and out.startswith("compatible with minor-version")
    # the 13.5 notes' own floor was not read: nothing is native, and forward compatibility to 13.5 is unknown
    assert cuda_on_driver("13.5", "620.10.01").mode is Mode.MINOR_VERSION
    assert cuda_on_driver("13.5", "535.104.05", H100).mode is Mode.UNKNOWN
    assert tensorrt_on("11.5", cuda="12.9").mode is Mode.UNKNOWN  # its CUDA 12 build is not in the sources


def test_forward_compatibility_follows_the_gpu_class() -> None:
    """Data-center: forward-compat; consumer and workstation: incompatible; Jetson: unknown (its own package line)."""
    assert cuda_on_driver("13.0.2", "535.104.05", H100).mode is Mode.FORWARD_COMPAT
    assert cuda_on_driver("13.0.2", "535.104.05", GpuSpec("Quadro GV100")).mode is Mode.INCOMPATIBLE
    assert cuda_on_driver("13.0.2", "535.104.05", GTX1080).mode is Mode.INCOMPATIBLE
    assert cuda_on_driver("13.0.2", "535.104.05", ORIN).mode is Mode.UNKNOWN


def test_the_24_10_image_on_r535_with_an_h100_runs_forward_compatible(capsys: pytest.CaptureFixture[str]) -> None:
    """The 24.10 notes list 535.86+ for data-center GPUs: forward-compat with the compat-libraries caveat; GeForce: no."""
    ref = "nvcr.io/nvidia/tensorrt:24.10-py3"
    code, out, _ = run_compat(capsys, "--image", ref, "--driver", "535.104.05", "--gpu", "NVIDIA H100 80GB HBM3")
    assert code == 1 and out.startswith("compatible only with a cuda-compat package")
    assert "carries the cuda-compat libraries" in out
    consumer = image_on(ref, "535.104.05", GpuSpec("NVIDIA GeForce RTX 4090"))
    assert consumer.mode is Mode.INCOMPATIBLE and any("consumer GPU" in r for r in consumer.reasons)
    assert image_on(ref, "560.35.03", H100).mode is Mode.NATIVE


def test_months_the_knowledge_lacks_are_unknown_never_guessed() -> None:
    """A variant or a month newer than the newest is unknown with the reason; a bare month needs no suffix."""
    newer = image_on("nvcr.io/nvidia/tensorrt:99.01-py3", "580.95.05")
    assert newer.mode is Mode.UNKNOWN and "newer than the knowledge base" in newer.reasons[0]
    variant = image_on("nvcr.io/nvidia/tensorrt:24.10-igpu", "580.95.05")
    assert variant.mode is Mode.UNKNOWN and "igpu variant" in variant.reasons[0]


def test_sources_that_disagree_are_both_named() -> None:
    """GB300 with TensorRT 10.13: the TensorRT matrix (10.14) is taken, the DGX GB300 notes (10.13) are named."""
    answer = tensorrt_on("10.13.3.9", gpu=GB300)
    assert answer.mode is Mode.INCOMPATIBLE and answer.details["tensorrt_first_for_gpu"] == "10.14"
    assert any("sources disagree (trt-gb300)" in r and "10.13 works" in r for r in answer.reasons)
    assert any("dgxgb300" in s for s in answer.sources)


def test_gpu_names_as_nvidia_smi_prints_them(capsys: pytest.CaptureFixture[str]) -> None:
    """A GeForce GTX 1080 is known (Pascal, consumer); an unknown name exits 2 listing the closest names."""
    code, out, _ = run_compat(capsys, "--gpu", "NVIDIA GeForce GTX 1080")
    assert code == 0 and "6.1" in out and "not a data-center GPU" in out
    code, out, err = run_compat(capsys, "--gpu", "NVIDIA GeForce GTX 1085")
    assert code == 2 and out == "" and "closest: 'NVIDIA GeForce GTX 1080'" in err
