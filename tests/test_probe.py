"""The real probe run against generated fixture roots, under every Python installed here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.facts import DriverStatus, parse_facts
from auditor.probe import encode_request, run_local
from auditor.probe import probe as probe_module
from auditor.simulate import load_fleet
from auditor.simulate.roots import build_root
from auditor.simulate.server import interpreter_for
from tests.conftest import DEMO_FLEET

FLEET = {h.name: h for h in load_fleet(DEMO_FLEET).hosts}


def probe_root(root: Path, python: str | None = None, **budgets: float) -> dict[str, object]:
    result = run_local(root=str(root), request=encode_request(budgets=budgets or None), python=python)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("roots")
    return {name: build_root(host, base) for name, host in FLEET.items()}


def test_probe_reads_a_current_node(roots: dict[str, Path]) -> None:
    """An H100 node: driver via nvidia-smi, CUDA from version.json, TensorRT from python, 8 GPUs."""
    facts = parse_facts(json.dumps(probe_root(roots["h100-serve-01"])))
    assert (facts.driver.status, facts.driver.version, facts.driver.cuda_version) == (
        DriverStatus.OK,
        "580.95.05",
        "13.0",
    )
    assert facts.driver.kernel_module == "580.95.05"
    assert facts.gpus.count == 8 and facts.gpus.devices[0].name == "NVIDIA H100 80GB HBM3"
    assert facts.gpus.devices[0].compute_capability == "9.0"
    assert [(t.version, t.source) for t in facts.cuda.toolkits] == [("13.0.2", "version.json")]
    assert facts.cuda.default == "/usr/local/cuda-13.0"
    assert (facts.tensorrt.version, facts.tensorrt.python_version) == ("10.13.3.9", "10.13.3.9")
    assert facts.host.hostname == "h100-serve-01" and facts.host.os_name == "Ubuntu 24.04.1 LTS"


def test_probe_reads_an_old_node(roots: dict[str, Path]) -> None:
    """R470 + CUDA 11.4: version.json without the top-level cuda key; TensorRT from the library name."""
    facts = parse_facts(json.dumps(probe_root(roots["t4-edge-02"])))
    assert (facts.driver.version, facts.driver.cuda_version) == ("470.82.01", "11.4")
    assert [(t.version, t.source) for t in facts.cuda.toolkits] == [("11.4", "version.json:cuda_cudart")]
    assert (facts.tensorrt.version, facts.tensorrt.source) == ("8.2.5", "filename")
    assert facts.tensorrt.python_version is None


def test_probe_reports_mismatch_with_both_versions(roots: dict[str, Path]) -> None:
    """Kernel module 535.104.05 under a 535.183.01 library: mismatch, not "no GPU"."""
    driver = probe_root(roots["a100-serve-02"])["driver"]
    assert driver["status"] == "mismatch" and driver["mismatch"] is True
    assert (driver["version"], driver["kernel_module"]) == ("535.183.01", "535.104.05")


def test_probe_on_a_machine_without_nvidia(tmp_path: Path) -> None:
    """An empty root: not installed, no GPUs, no toolkits, and still valid facts."""
    facts = parse_facts(json.dumps(probe_root(tmp_path)))
    assert facts.driver.status is DriverStatus.NOT_INSTALLED
    assert facts.gpus.count is None and facts.cuda.toolkits == () and facts.tensorrt.version is None


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
    assert doc["driver"]["error"] and "timed out" in doc["driver"]["error"]
    (toolkit,) = [t for t in doc["cuda"]["toolkits"] if t["path"] == "/usr/local/cuda-12.2"]
    assert toolkit["error"].startswith("version.json:")
    assert (toolkit["version"], toolkit["source"]) == ("12.2", "path")  # fell back to the directory name
    assert doc["tensorrt"]["version"] == "8.6.1.6" and doc["host"]["error"] is None


def test_output_is_capped_with_a_truncation_flag() -> None:
    """A document over the cap loses half of its longest list until it fits, flagged."""
    doc = {"schema": "auditor.facts/1", "gpus": {"devices": [{"name": "x" * 100}] * 50000}}
    text = probe_module.cap_output(doc, limit=64 * 1024)
    assert len(text.encode()) <= 64 * 1024
    parsed = json.loads(text)
    assert parsed["gpus"]["truncated"] is True and 0 < len(parsed["gpus"]["devices"]) < 50000


@pytest.mark.parametrize(
    ("value", "text"), [(8601, "8.6.1"), (8205, "8.2.5"), (100300, "10.3.0"), (101601, "10.16.1"), (110400, "11.4.0")]
)
def test_tensorrt_version_integers_decode(value: int, text: str) -> None:
    """getInferLibVersion(): 1000*M + 100*m + p before 10, 10000*M + 100*m + p from 10 (research 1.9)."""
    assert probe_module.decode_trt_int(value) == text


PYTHONS = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]


@pytest.mark.parametrize("minor", PYTHONS)
def test_probe_runs_under_every_installed_python(minor: str, roots: dict[str, Path]) -> None:
    """The same facts come out under each Python 3.6+ found here (pyenv or PATH)."""
    python = interpreter_for(f"{minor}.0")
    if python == sys.executable and f"{sys.version_info[0]}.{sys.version_info[1]}" != minor:
        pytest.skip(f"python{minor} is not installed here")
    doc = probe_root(roots["a100-serve-01"], python=python)
    assert doc["host"]["python"].startswith(minor + ".")
    assert doc["driver"]["version"] == "535.104.05" and doc["gpus"]["count"] == 8


def test_probe_source_is_python36_compatible() -> None:
    """vermin finds nothing in the probe that needs a Python newer than 3.6."""
    vermin = shutil.which("vermin") or str(Path(sys.executable).parent / "vermin")
    result = subprocess.run(
        [vermin, "-t=3.6-", "--no-tips", "--violations", "--eval-annotations", probe_module.__file__],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_probe_only_reads(roots: dict[str, Path]) -> None:
    """Running the probe changes nothing under the root it audits."""
    root = roots["l4-infer-01"]
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}
    probe_root(root)
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}
    assert before == after
    assert not any(name.endswith(".pyc") for _, _, files in os.walk(root) for name in files)
