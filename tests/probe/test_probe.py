"""The real probe run against generated fixture roots, under every Python installed here, and its parsers."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.facts.model import DriverStatus
from auditor.facts.reader import parse_facts
from auditor.probe.program import probe_source, run_local, shipped_probe
from auditor.probe.remote import context, cudnn, engines, host, main, nvml, smi, system, tensorrt
from auditor.probe.request import encode_request
from auditor.simulate.fleet import load_fleet
from auditor.simulate.roots import build_root
from auditor.simulate.server import interpreter_for
from tests.support.demo import DEMO_FLEET
from tests.support.paths import REAL

FLEET = {h.name: h for h in load_fleet(DEMO_FLEET).hosts}


def probe_root(root: Path, python: str | None = None, engines: tuple[str, ...] = (), **budgets: float) -> dict:
    """The probe's document for ``root``, the probe sent as hosts receive it (``shipped_probe``)."""
    request = encode_request(budgets=budgets or None, engines=engines)
    result = run_local(root=str(root), request=request, python=python, program=shipped_probe())
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("roots")
    return {name: build_root(host, base) for name, host in FLEET.items()}


def test_probe_reads_a_current_node(roots: dict[str, Path]) -> None:
    """An H100 node: driver via nvidia-smi, CUDA from version.json, TensorRT from its header, 8 GPUs."""
    facts = parse_facts(json.dumps(probe_root(roots["h100-serve-01"])))
    assert (facts.driver.status, facts.driver.version, facts.driver.cuda_version) == (
        DriverStatus.OK,
        "580.95.05",
        "13.0",
    )
    assert facts.driver.kernel_module == "580.95.05" and facts.driver.source == "nvidia-smi"
    assert facts.gpus.count == 8 and facts.gpus.devices[0].name == "NVIDIA H100 80GB HBM3"
    assert facts.gpus.devices[0].compute_capability == "9.0" and facts.gpus.devices[0].pci_bus_id == "00000000:07:00.0"
    assert [(t.version, t.source) for t in facts.cuda.toolkits] == [("13.0.2", "version.json")]
    assert facts.cuda.default == "/usr/local/cuda-13.0" and facts.cuda.cudart_sonames == ("libcudart.so.13",)
    assert (facts.tensorrt.version, facts.tensorrt.python_version) == ("10.13.3.9", "10.13.3.9")
    assert facts.host.hostname == "h100-serve-01" and facts.host.os_name == "Ubuntu 24.04.1 LTS"
    assert facts.host.boot_time is not None and facts.host.boot_time.startswith("2026-")


def test_probe_reads_an_old_node(roots: dict[str, Path]) -> None:
    """R470 + CUDA 11.4: version.json without the top-level cuda key; TensorRT's build from NvInferVersion.h."""
    facts = parse_facts(json.dumps(probe_root(roots["t4-edge-02"])))
    assert (facts.driver.version, facts.driver.cuda_version) == ("470.82.01", "11.4")
    assert [(t.version, t.source) for t in facts.cuda.toolkits] == [("11.4", "version.json:cuda_cudart")]
    assert (facts.tensorrt.version, facts.tensorrt.source) == ("8.2.5.1", "header")
    assert [(lib.version, lib.source) for lib in facts.tensorrt.libraries] == [("8.2.5", "filename")]
    assert facts.tensorrt.python_version is None
    assert facts.gpus.devices[0].compute_capability is None  # R470's nvidia-smi has no compute_cap field


def test_probe_reports_mismatch_with_both_versions(roots: dict[str, Path]) -> None:
    """Kernel module 535.104.05 under a 535.183.01 library: mismatch, not "no GPU"."""
    driver = probe_root(roots["a100-serve-02"])["driver"]
    assert driver["status"] == "mismatch" and driver["mismatch"] is True
    assert (driver["version"], driver["kernel_module"]) == ("535.183.01", "535.104.05")


def test_probe_on_a_machine_without_nvidia(tmp_path: Path) -> None:
    """An empty root: not installed, no GPUs, no toolkits, no runtime, and still valid facts."""
    facts = parse_facts(json.dumps(probe_root(tmp_path)))
    assert facts.driver.status is DriverStatus.NOT_INSTALLED
    assert facts.gpus.count is None and facts.cuda.toolkits == () and facts.tensorrt.version is None
    assert facts.cudnn.installs == () and facts.containers.runtime is None and facts.containers.error is None


def test_broken_files_and_hanging_commands_cost_only_their_section(roots: dict[str, Path], tmp_path: Path) -> None:
    """Garbage version.json, a hanging nvidia-smi: errors per section, the rest arrives."""
    root = tmp_path / "broken"
    shutil.copytree(roots["a100-serve-01"], root, symlinks=True)
    (root / "usr/local/cuda-12.2/version.json").write_text("{not json")
    smi = root / "usr/bin/nvidia-smi"
    smi.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    started = time.monotonic()
    doc = probe_root(root, driver=2.0, gpus=2.0)
    assert time.monotonic() - started < 20
    assert "nvidia-smi did not finish" in doc["driver"]["notes"]  # the driver still comes from the files
    assert (doc["driver"]["status"], doc["driver"]["version"], doc["driver"]["source"]) == (
        "ok",
        "535.104.05",
        "library",
    )
    assert doc["gpus"]["count"] is None and "nvidia-smi did not finish" in doc["gpus"]["error"]
    (toolkit,) = [t for t in doc["cuda"]["toolkits"] if t["path"] == "/usr/local/cuda-12.2"]
    assert toolkit["error"].startswith("version.json:")
    assert (toolkit["version"], toolkit["source"]) == ("12.2.120", "nvcc")  # fell back to nvcc --version
    assert doc["tensorrt"]["version"] == "8.6.1.6" and doc["host"]["error"] is None


def test_a_hanging_import_costs_only_its_module(roots: dict[str, Path], tmp_path: Path) -> None:
    """A TensorRT module that hangs on import is cut at the tensorrt budget; the version still comes from the files."""
    root = tmp_path / "hang"
    shutil.copytree(roots["a100-serve-01"], root, symlinks=True)
    module = root / "usr/lib/python3/dist-packages/tensorrt/__init__.py"
    module.write_text("import time\ntime.sleep(60)\n")
    started = time.monotonic()
    doc = probe_root(root, tensorrt=1.5)
    assert time.monotonic() - started < 10
    (entry,) = doc["tensorrt"]["modules"]
    assert entry["module"] == "tensorrt" and "did not finish" in entry["error"]
    assert (doc["tensorrt"]["version"], doc["tensorrt"]["source"]) == ("8.6.1.6", "header")
    assert doc["driver"]["version"] == "535.104.05" and doc["gpus"]["count"] == 8


def test_a_collector_stuck_past_its_budget_is_reported_timed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A collector blocked beyond its budget (a wedged library call) is reported timed out; the others arrive."""

    def stuck(ctx: object) -> dict:
        time.sleep(30)
        return {}

    monkeypatch.setattr(main, "COLLECTORS", (("host", host.collect_host), ("driver", stuck)))
    ctx = context.ProbeContext("/nonexistent-root", {"budgets": {"driver": 0.2}})
    started = time.monotonic()
    results, stuck_threads = main.run_collectors(ctx)
    assert time.monotonic() - started < 5 and stuck_threads
    assert results["driver"] == {"error": "timed out after 0.2s", "timed_out": True}
    assert results["host"]["error"] is None


def test_output_is_capped_with_a_truncation_flag() -> None:
    """A document over the cap loses half of its longest list until it fits, flagged where and at the top."""
    doc = {"schema": "auditor.facts/1", "gpus": {"devices": [{"name": "x" * 100}] * 50000}}
    text = main.cap_output(doc, limit=64 * 1024)
    assert len(text.encode()) <= 64 * 1024
    parsed = json.loads(text)
    assert parsed["gpus"]["truncated"] is True and 0 < len(parsed["gpus"]["devices"]) < 50000
    assert parsed["truncated"] is True and parse_facts(text).truncated is True


@pytest.mark.parametrize(
    ("value", "text"), [(8601, "8.6.1"), (8205, "8.2.5"), (100300, "10.3.0"), (101601, "10.16.1"), (110400, "11.4.0")]
)
def test_tensorrt_version_integers_decode(value: int, text: str) -> None:
    """getInferLibVersion(): 1000*M + 100*m + p before 10, 10000*M + 100*m + p from 10 (docs/research/tensorrt-compat.md 1.9)."""
    assert tensorrt.decode_trt_int(value) == text


@pytest.mark.parametrize(("value", "text"), [(7605, "7.6.5"), (8907, "8.9.7"), (90000, "9.0.0"), (90300, "9.3.0")])
def test_cudnn_version_integers_decode(value: int, text: str) -> None:
    """cudnnGetVersion(): 1000*M + 100*m + p up to 8.x, 10000*M + 100*m + p from 9 (docs/research/nvidia-cuda-driver.md 1.9)."""
    assert cudnn.decode_cudnn_int(value) == text


@pytest.mark.parametrize(("value", "text"), [(12020, "12.2"), (13000, "13.0"), (11040, "11.4")])
def test_driver_cuda_integers_decode(value: int, text: str) -> None:
    """nvmlSystemGetCudaDriverVersion: 1000*major + 10*minor (docs/research/nvidia-cuda-driver.md 1.9)."""
    assert nvml.decode_cuda_int(value) == text


def test_headers_give_cudnn_and_tensorrt_versions() -> None:
    """cudnn_version.h (and 7.x cudnn.h) macros and NvInferVersion.h's four parts; garbage gives None."""
    assert cudnn.parse_cudnn_header("#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 3\n#define CUDNN_PATCHLEVEL 0\n")
    assert cudnn.parse_cudnn_header("#define CUDNN_MAJOR 9\n") is None
    assert cudnn.parse_cudnn_header("\x00\xff garbage") is None
    text = "#define NV_TENSORRT_MAJOR 10\n#define NV_TENSORRT_MINOR 3\n#define NV_TENSORRT_PATCH 0\n#define NV_TENSORRT_BUILD 26\n"
    assert tensorrt.parse_nvinfer_version_header(text) == "10.3.0.26"
    assert tensorrt.parse_nvinfer_version_header("") is None


def test_nvidia_smi_banners_old_and_new() -> None:
    """The recorded R580 banner (Driver/CUDA Version) and the R610 one (KMD/CUDA UMD Version) both parse."""
    real = (REAL / "smi.txt").read_text()
    old: dict[str, str] = {}
    smi.parse_smi_banner(real, old)
    assert old == {"cuda_version": "13.0", "banner_layout": "old", "driver_version": "580.159.04"}
    # banner from https://github.com/sgl-project/sglang/issues/27487 (docs/research/nvidia-cuda-driver.md 1.9)
    line = "| NVIDIA-SMI 610.43.02              KMD Version: 610.43.02     CUDA UMD Version: 13.3     |"
    new: dict[str, str] = {}
    smi.parse_smi_banner(line, new)
    assert new == {"cuda_version": "13.3", "banner_layout": "new", "driver_version": "610.43.02"}


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.183\n", "mismatch"),
        ("Failed to initialize NVML: Insufficient Permissions\n", "permission-denied"),
        (
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest "
            "NVIDIA driver is installed and running.\n",
            "not-loaded",
        ),
        ("No devices were found\n", "ok"),
        ("Segmentation fault\n", "failed"),
    ],
)
def test_nvidia_smi_failures_are_told_apart(text: str, status: str) -> None:
    """Each unhealthy nvidia-smi message maps to its own state; nonsense is a plain failure."""
    result = smi.smi_failure(text, 1 if status != "ok" else 6)
    assert result is not None and result["status"] == status
    if status == "mismatch":
        assert result["library_version"] == "535.183"


def test_ldconfig_listing_prefers_the_first_64_bit_entry() -> None:
    """The recorded ``ldconfig -p`` lines: duplicates keep the first path, 32-bit copies lose to 64-bit."""
    real = (REAL / "smi.txt").read_text()
    listing = real.split("### ldconfig -p (NVIDIA)\n", 1)[1].split("###", 1)[0]
    entries = {e["name"]: e["path"] for e in system.parse_ldconfig(listing)}
    assert entries["libnvidia-ml.so.1"] == "/usr/local/nvidia/lib64/libnvidia-ml.so.1"
    assert entries["libcudart.so.13"] == "/usr/local/cuda/targets/x86_64-linux/lib/libcudart.so.13"
    both = "\tlibfoo.so.1 (libc6) => /usr/lib32/libfoo.so.1\n\tlibfoo.so.1 (libc6,x86-64) => /usr/lib/libfoo.so.1\n"
    assert system.parse_ldconfig(both) == [{"name": "libfoo.so.1", "path": "/usr/lib/libfoo.so.1"}]


def plan(version: tuple[int, int, int, int] | None, body: bytes = b"\x01" * 64) -> bytes:
    if version is None:
        return b"ftrt" + struct.pack("<I", 7) + bytes(20) + body
    return b"ftrt" + struct.pack("<I", 0) + bytes(16) + bytes(version) + body


@pytest.mark.parametrize(
    ("data", "magic", "version", "wrapper"),
    [
        (plan((8, 6, 1, 6)), True, "8.6.1.6", None),
        (plan((11, 4, 0, 106)), True, "11.4.0.106", None),
        (plan(None), True, None, None),  # uint32 at 4 not 0: an older plan, version unknown
        (b"ftrt", True, None, None),
        (b"", False, None, None),
        (b"\x08\x00\x00\x00onnx....", False, None, None),
        (struct.pack("<I", 17) + b'{"imgsz": [640]} ' + plan((10, 3, 0, 26)), True, "10.3.0.26", "ultralytics"),
    ],
)
def test_plan_header_precheck(data: bytes, magic: bool, version: str | None, wrapper: str | None) -> None:
    """ftrt at 0, the build version at 24-27 when the uint32 at 4 is 0, an Ultralytics JSON prefix stripped."""
    header, offset = engines.read_plan_header(io.BytesIO(data))
    assert (header["magic"], header["tensorrt_version"], header.get("wrapper")) == (magic, version, wrapper)
    assert offset == (21 if wrapper else 0)


def test_engine_templates_expand_per_gpu_model() -> None:
    """{cc}, {sm} and {gpu} are filled once per GPU model; plain paths stay; unknown placeholders are errors."""
    models = [
        {"name": "NVIDIA A100-SXM4-80GB", "compute_capability": "8.0", "index": 0},
        {"name": "NVIDIA L4", "compute_capability": "8.9", "index": 2},
    ]
    expanded = engines.expand_template("/m/{gpu}/{sm}-{cc}.plan", models)
    assert [p for p, _ in expanded] == ["/m/nvidia-a100-sxm4-80gb/sm80-8.0.plan", "/m/nvidia-l4/sm89-8.9.plan"]
    assert [g["index"] for _, g in expanded] == [0, 2]
    assert engines.expand_template("/m/a.plan", models) == [("/m/a.plan", None)]
    with pytest.raises(ValueError, match="unknown placeholder"):
        engines.expand_template("/m/{arch}.plan", models)
    with pytest.raises(ValueError, match="no GPU facts"):
        engines.expand_template("/m/{sm}.plan", [])


def real_messages(section: str = r"(\S+\.(?:plan|engine)) engine_host_code_allowed") -> list[tuple[str, str]]:
    """(section, first ERROR message) for the sections of raw.txt the real 11.4 lean runtime logged on the H200."""
    found, name = [], None
    for line in (REAL / "raw.txt").read_text().splitlines():
        if line.startswith("### "):
            match = re.match(r"### " + section, line)
            name = match.group(1) if match else None
        elif line.startswith("LOG Severity.ERROR: ") and name:
            found.append((name, line.split(": ", 1)[1]))
            name = None
    return found


def test_real_runtime_messages_classify_as_corrupt() -> None:
    """Every message the real 11.4 runtime logged for the forged, truncated and tag-less plans means corrupt."""
    messages = real_messages()
    assert {name for name, _ in messages} >= {"corrupt.plan", "forged.plan", "truncated.plan", "nomagic.plan"}
    for name, message in messages:
        assert engines.classify([message])[0] == "corrupt", (name, message)


def test_real_runtime_without_a_visible_gpu_is_a_cuda_failure() -> None:
    """With the GPU hidden, the real runtime's first message (CUDA error 100) reads as cuda-init-failure."""
    ((_, message),) = real_messages(r"(CUDA_VISIBLE_DEVICES=-1) forged.plan")
    assert "error: 100" in message and engines.classify([message])[0] == "cuda-init-failure"


@pytest.mark.parametrize(
    ("message", "status"),
    [  # docs/research/tensorrt-compat.md 1.7, E1-E14
        (
            "6: The engine plan file is not compatible with this version of TensorRT, expecting library version "
            "8.5.1.7 got 8.5.3.1, please rebuild.",
            "version-mismatch",
        ),
        (
            "[stdArchiveReader.cpp::StdArchiveReader::40] Error Code 1: Serialization (Serialization assertion "
            "stdVersionRead == serializationVersion failed.Version tag does not match. Note: Current Version: 213, "
            "Serialized Engine Version: 205)",
            "version-mismatch",
        ),
        ("TensorRT plan major version does not match runtime major version.", "version-mismatch"),
        (
            "The engine plan file is generated on an incompatible device, expecting compute 8.6 got compute 7.5, "
            "please rebuild.",
            "device-mismatch",
        ),
        (
            "The current device is not compatible with this hardware-compatible engine. Expected compute capability >=",
            "device-mismatch",
        ),
        (
            "[stdArchiveReader.cpp::StdArchiveReader::30] Error Code 1: Serialization (Serialization assertion "
            "magicTagRead == kMAGIC_TAG failed.Magic tag does not match)",
            "corrupt",
        ),
        ("getPluginCreator could not find plugin: BatchedNMS_TRT version: 1", "missing-plugin"),
        (
            "Cannot deserialize plugin since corresponding IPluginCreatorInterface not found in Plugin Registry",
            "missing-plugin",
        ),
        ("CUDA driver version is insufficient for CUDA runtime version", "cuda-init-failure"),
        (
            "IRuntime::deserializeCudaEngine: Error Code 1: Internal Error / Unexpected call to stub loadRunner",
            "no-runtime",
        ),
        ("Loaded engine size: 12 MiB", None),
    ],
)
def test_tensorrt_messages_classify(message: str, status: str | None) -> None:
    """Each documented TensorRT message maps to its load outcome; unrelated lines to none."""
    assert engines.classify([message])[0] == status


def test_the_first_telling_message_decides() -> None:
    """A version mismatch logged before the generic deserialization failure decides the outcome."""
    log = [
        "Loaded engine size: 1 MiB",
        "6: The engine plan file is not compatible with this version of TensorRT, expecting library version 8.6.1.6 "
        "got 8.5.3.1, please rebuild.",
        "4: [runtime.cpp::deserializeCudaEngine::50] Error Code 4: Internal Error (Engine deserialization failed.)",
    ]
    assert engines.classify(log) == ("version-mismatch", log[1])


PYTHONS = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]


@pytest.mark.parametrize("minor", PYTHONS)
def test_probe_runs_under_every_installed_python(minor: str, roots: dict[str, Path]) -> None:
    """The same facts, engines included, come out under each Python 3.6+ found here (pyenv or PATH)."""
    python = interpreter_for(f"{minor}.0")
    if python == sys.executable and f"{sys.version_info[0]}.{sys.version_info[1]}" != minor:
        pytest.skip(f"python{minor} is not installed here")
    doc = probe_root(roots["t4-edge-01"], python=python, engines=("/srv/models/resnet50/{sm}.plan",))
    assert doc["host"]["python"].startswith(minor + ".")
    assert doc["driver"]["version"] == "535.104.05" and doc["gpus"]["count"] == 1
    assert doc["cudnn"]["version"] == "8.9.5" and doc["tensorrt"]["version"] == "8.6.1.6"
    assert [e["load"]["status"] for e in doc["engines"]["items"]] == ["ok"]
    assert all(doc[s]["error"] is None for s in ("host", "driver", "gpus", "cuda", "cudnn", "tensorrt", "engines"))


def test_probe_source_is_python36_compatible(tmp_path: Path) -> None:
    """vermin finds nothing that needs Python > 3.6 in what ships to hosts: every probe module, every child
    program, the assembled program itself and the line it travels in, and the stand-ins (TensorRT, pynvml) a simulated host imports."""
    vermin = shutil.which("vermin") or str(Path(sys.executable).parent / "vermin")
    remote = Path(main.__file__).parent
    shipped = sorted(p for p in remote.rglob("*.py") if p.name != "__init__.py")
    assembled = tmp_path / "probe.py"
    assembled.write_bytes(probe_source())
    sent = tmp_path / "shipped.py"
    sent.write_bytes(shipped_probe())
    standins = [remote.parent.parent / "simulate" / name for name in ("standin_tensorrt.py", "standin_pynvml.py")]
    result = subprocess.run(
        [
            vermin,
            "-t=3.6-",
            "--no-tips",
            "--violations",
            "--eval-annotations",
            *map(str, shipped),
            str(assembled),
            str(sent),
            *map(str, standins),
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert {p.name for p in shipped} >= {"main.py", "engines.py", "trt_plan.py", "builder.py"}


def test_probe_only_reads(roots: dict[str, Path]) -> None:
    """Running the probe, test-loads included, changes nothing under the root it audits."""
    root = roots["t4-edge-01"]
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}
    probe_root(root, engines=("/srv/models/resnet50/sm75.plan",))
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}
    assert before == after
    assert not any(name.endswith(".pyc") for _, _, files in os.walk(root) for name in files)


def test_bad_arguments_and_requests_still_give_json() -> None:
    """A request that is not base64 JSON is reported in the document, exit status 0."""
    result = subprocess.run(
        [sys.executable, "-", "--request=!!!"],
        input=probe_source(),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0 and json.loads(result.stdout)["error"].startswith("bad arguments")
