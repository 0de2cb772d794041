"""What the probe reported on a real H200 (tests/fixtures/real/): parsed, checked against nvidia-smi, evaluated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from auditor.evaluate.host import evaluate
from auditor.evaluate.registry import CHECK_IDS
from auditor.facts.model import DriverStatus, EngineLoad, Facts
from auditor.facts.reader import parse_facts
from auditor.findings import Verdict, verdict_of
from auditor.inventory import Host
from auditor.policy.files import load_policy
from auditor.policy.model import EMPTY_POLICY
from tests.support.paths import REAL

SMI = (REAL / "smi.txt").read_text()
HOST = Host("h200-real", "10.0.0.9", groups=("serving", "h200"))
QUERY = "index,name,uuid,driver_version,compute_cap,memory.total,pci.bus_id,mig.mode.current,ecc.mode.current,persistence_mode,vbios_version"


def real(name: str) -> Facts:
    return parse_facts((REAL / name).read_bytes())


def section(title: str) -> str:
    """One command's output in smi.txt (``### <title>`` up to the next ``###``)."""
    return SMI.split(f"### {title}\n", 1)[1].split("\n###", 1)[0]


def test_real_facts_parse_into_every_section() -> None:
    """The three real documents parse strictly; no collector reported an error on the real machine."""
    for name in ("probe.json", "probe-plain.json", "probe-engines.json", "probe-nocuda.json", "probe-denied.json"):
        facts = real(name)
        sections = ("host", "driver", "cuda", "cudnn", "tensorrt", "engines", "containers")
        assert all(facts.section_error(s) is None for s in sections), name
        assert facts.probe_version == "0.2.0" and not facts.truncated


def test_real_gpu_facts_equal_what_nvidia_smi_printed() -> None:
    """Each GPU field the probe read through NVML equals nvidia-smi's CSV on the same machine."""
    facts = real("probe.json")
    rows = [
        line.split(", ")
        for line in section(f"nvidia-smi --query-gpu={QUERY} --format=csv,noheader,nounits").splitlines()
    ]
    rows = [row for row in rows if len(row) == 11]
    assert facts.gpus.count == len(rows) == 1 and facts.gpus.source == "nvml"
    for gpu, row in zip(facts.gpus.devices, rows, strict=True):
        index, name, uuid, driver, cc, memory, bus, mig, ecc, persistence, vbios = row
        assert (gpu.index, gpu.name, gpu.uuid, gpu.compute_capability) == (int(index), name, uuid, cc)
        assert (gpu.memory_total_mib, gpu.pci_bus_id, gpu.vbios_version) == (int(memory), bus, vbios)
        assert (gpu.mig_mode, gpu.ecc_mode, gpu.persistence_mode) == (mig.lower(), ecc.lower(), persistence.lower())
        assert facts.driver.version == driver


def test_real_driver_facts_equal_the_banner_and_procfs() -> None:
    """Driver version and its CUDA version match the banner; the kernel module matches /proc; no mismatch."""
    driver = real("probe.json").driver
    banner = section("nvidia-smi")
    assert re.search(rf"Driver Version: {re.escape(driver.version or '')}\s", banner)
    assert re.search(rf"CUDA Version: {re.escape(driver.cuda_version or '')}\s", banner)
    assert (driver.kernel_module or "") in section("cat /proc/driver/nvidia/version")
    assert (driver.status, driver.source, driver.mismatch) == (DriverStatus.OK, "nvml", False)
    assert driver.nvml_version == "13.580.159.04" and driver.library_version == driver.version


def test_real_toolkit_cudnn_and_tensorrt() -> None:
    """nvcc's release, the two cuDNN installs (Debian 9.14, pip 9.19) and the lean runtime 11.4.0.106."""
    facts = real("probe.json")
    nvcc = re.search(r"V(\d+\.\d+\.\d+)", section("nvcc --version (/usr/local/cuda/bin/nvcc)"))
    default = facts.cuda.default_toolkit
    assert default is not None and nvcc is not None and default.nvcc_version == nvcc.group(1)
    assert facts.cuda.cudart_sonames == ("libcudart.so.13",) and facts.cuda.compat[0].version == "580.95.05"
    pip = re.search(r"Name: nvidia-cudnn-cu13\nVersion: (\S+)", section("pip show"))
    assert pip is not None
    installs = {(i.source, i.version) for i in facts.cudnn.installs}
    assert {("library", "9.14.0"), ("dpkg", "9.14.0.64-1"), ("pip", pip.group(1)), ("library", "9.19.0")} <= installs
    assert (facts.cudnn.version, facts.cudnn.source) == ("9.14.0", "library")
    trt = facts.tensorrt
    assert (trt.version, trt.source) == ("11.4.0.106", "libnvinfer")
    assert trt.module("tensorrt_lean") is not None and trt.module("tensorrt_lean").version == "11.4.0.106"  # type: ignore[union-attr]
    assert real("probe-plain.json").tensorrt.version is None


def test_real_engine_loads_were_classified() -> None:
    """Forged, corrupt, truncated, tag-less, empty and missing plans on the real lean runtime: each classified."""
    items = {Path(e.path).name: e for e in real("probe-engines.json").engines.items}
    for name in ("corrupt.plan", "forged.plan", "forged-10.plan", "forged-8.plan", "truncated.plan", "wrapped.engine"):
        engine = items[name]
        assert (engine.load, engine.runtime, engine.runtime_version) == (
            EngineLoad.CORRUPT,
            "tensorrt_lean",
            "11.4.0.106",
        )
        assert engine.log and engine.load_s is not None and engine.load_s > 0
    assert (
        items["forged-8.plan"].header_version == "8.6.1.6" and items["wrapped.engine"].header_wrapper == "ultralytics"
    )
    assert (items["nomagic.plan"].load, items["nomagic.plan"].runtime) == (EngineLoad.CORRUPT, None)
    assert (items["empty.plan"].load, items["empty.plan"].size) == (EngineLoad.CORRUPT, 0)
    assert (items["missing.plan"].load, items["missing.plan"].exists) == (EngineLoad.NOT_FOUND, False)
    expanded = items["sm90.plan"]
    assert expanded.template == "/tmp/eng/{gpu}/{sm}.plan" and expanded.load_gpu == 0
    assert expanded.path == "/tmp/eng/nvidia-h200/sm90.plan"


def test_real_permission_denied_and_hidden_gpu() -> None:
    """Device nodes closed to the user: permission-denied with both versions; GPU hidden: CUDA cannot start."""
    denied = real("probe-denied.json")
    assert (denied.driver.status, denied.driver.version, denied.driver.kernel_module) == (
        DriverStatus.PERMISSION_DENIED,
        "580.159.04",
        "580.159.04",
    )
    assert denied.gpus.count is None and "Insufficient Permissions" in (denied.gpus.error or "")
    assert "Failed to initialize NVML: Insufficient Permissions" in section(
        "as nobody, /dev/nvidiactl and /dev/nvidia0 mode 600: nvidia-smi"
    )
    hidden = {Path(e.path).name: e for e in real("probe-nocuda.json").engines.items}
    assert hidden["forged.plan"].load is EngineLoad.CUDA_INIT_FAILURE
    assert "no CUDA-capable device" in " ".join(hidden["forged.plan"].log)
    # a templated path is loaded on its GPU by uuid, which CUDA_VISIBLE_DEVICES=-1 does not hide
    assert hidden["sm90.plan"].load is EngineLoad.CORRUPT


@pytest.fixture()
def policy_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(rules: str) -> Path:
        path = tmp_path / "policy.yaml"
        path.write_text(f"schema: auditor.policy/1\nrules:\n{rules}")
        return path

    return write


@pytest.mark.parametrize(
    ("rules", "document", "verdict", "rule"),
    [
        (
            '  - id: h200\n    driver: {min: "580", max: "580"}\n    cuda_driver: {min: "13.0"}\n'
            '    cuda: {min: "13.0"}\n    tensorrt: {min: "11.4"}\n    gpus: {count: 1}\n',
            "probe.json",
            Verdict.OK,
            None,
        ),
        ('  - id: newer\n    driver: {min: "590.44.01"}\n', "probe.json", Verdict.UPGRADE, "newer/driver.min"),
        ('  - id: trt10\n    tensorrt: {max: "10"}\n', "probe.json", Verdict.ROLLBACK, "trt10/tensorrt.max"),
        (
            '  - id: serving\n    tensorrt: {min: "10.0"}\n',
            "probe-plain.json",
            Verdict.UPGRADE,
            "serving/tensorrt.present",
        ),
        ("  - id: hgx\n    gpus: {count: 8}\n", "probe.json", Verdict.WARN, "hgx/gpus.count"),
    ],
)
def test_the_evaluator_on_real_facts(
    policy_file,
    rules: str,
    document: str,
    verdict: Verdict,
    rule: str | None,  # type: ignore[no-untyped-def]
) -> None:
    """Policies evaluated against the real H200's facts give the verdicts a person would expect."""
    result = evaluate(load_policy(policy_file(rules), checks=CHECK_IDS), HOST, real(document))
    assert verdict_of(result.findings) is verdict
    assert [f.rule for f in result.findings if not f.inconclusive] == ([rule] if rule else [])


def test_a_healthy_real_node_gives_no_builtin_findings() -> None:
    """The real H200 (R580, CUDA 13.0, TensorRT 11.4 lean, an unused compat dir) is clean under the built-in checks.

    TensorRT 11.4's CUDA 13.4 build runs on R580 through minor-version compatibility, which its own
    prerequisites (r580+) cover; the compat directory is not on the loader path. Neither may warn.
    """
    result = evaluate(EMPTY_POLICY, HOST, real("probe.json"))
    assert [(f.rule, f.message) for f in result.findings] == []
    assert {"cuda.driver", "tensorrt.cuda", "driver.eol"} <= set(result.checks)


def test_timings_recorded_beside_the_baseline() -> None:
    """The committed timings hold the probe and the bash baseline from one run, with their ratio."""
    timings = json.loads((REAL / "timings.json").read_text())
    summary = timings["summary"]
    assert {"probe_lean", "probe_plain", "probe_engine", "baseline"} <= set(summary)
    ratio = summary["probe_lean"]["median_s"] / summary["baseline"]["median_s"]
    assert timings["ratio_probe_lean_to_baseline"] == pytest.approx(ratio, abs=0.01)
