"""`auditor report --local`: this machine judged as a fleet host (same checks, reports and exit codes), without SSH.

The probe runs for real: on this machine (no NVIDIA GPU here, so the verdict is what the checks say
about a machine without a driver), and with ``--root`` against a simulated host's fixture root for
a GPU verdict.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from auditor.__main__ import main
from auditor.report.formats import FORMATS
from auditor.simulate.fleet import load_fleet
from auditor.simulate.roots import build_root
from tests.support.demo import DEMO_POLICY

FLEET = """schema: auditor.fleet/1
hosts:
  h200-node-07:
    gpus: [{model: "NVIDIA H200", count: 8, mig: {mode: enabled, profiles: [3g.71gb, 3g.71gb]}}]
    driver: "580.95.05"
    cuda_toolkits: ["13.0.2"]
    containers:
      running: [{name: triton, image: "nvcr.io/nvidia/tritonserver:latest"}]
"""


@pytest.fixture(scope="module")
def gpu_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated H200 node's root: MIG on, a Triton container on :latest, driver R580, no TensorRT."""
    base = tmp_path_factory.mktemp("local-root")
    (base / "fleet.yaml").write_text(FLEET)
    return build_root(load_fleet(base / "fleet.yaml").hosts[0], base / "roots")


def report_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["report", "--local", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_this_machine_is_judged_by_the_fleet_checks(
    capsys: pytest.CaptureFixture[str], private_state_dir: Path
) -> None:
    """One host named after this machine, its verdict and exit code from the same checks and thresholds as a fleet run."""
    code, doc = report_json(capsys)
    (host,) = doc["hosts"]
    assert host["name"] == socket.gethostname() and doc["inventory"] == "local"
    assert code == doc["exit"]["code"] and host["facts"]["schema"] == "auditor.facts/1"
    if host["facts"]["driver"]["status"] == "not-installed":  # this machine: no NVIDIA driver
        assert [f["rule"] for f in host["findings"] if f["action"] != "none"] == ["driver.installed"]
        assert (host["verdict"], code) == ("warn", 0)  # no rule requires a driver: look at it, do not fail
        assert main(["report", "--local", "--no-history", "--fail-on", "warn", "--format", "json"]) == 1
    assert not list(private_state_dir.rglob("history.sqlite"))  # no history unless --history names one


def test_a_gpu_root_gets_a_gpu_verdict(gpu_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--root: the host named by the root's /etc/hostname, --group selects the serving rule: upgrade, exit 1."""
    code, doc = report_json(capsys, "--root", str(gpu_root), "-p", str(DEMO_POLICY), "--group", "serving")
    (host,) = doc["hosts"]
    assert (host["name"], host["groups"], host["verdict"], code) == ("h200-node-07", ["serving"], "upgrade", 1)
    rules = {f["rule"] for f in host["findings"]}
    assert {"serving/tensorrt.present", "containers.tag"} <= rules
    assert host["facts"]["mig"]["devices"][0]["current"] == "enabled"
    assert doc["exit"]["failing_hosts"] == ["h200-node-07"] and doc["inventory"] == f"local (root {gpu_root})"


def test_name_and_history_on_request(gpu_root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--name sets the host's name (a pod's node name); --history records the run as a fleet run is recorded."""
    history = tmp_path / "local.sqlite"
    code, doc = report_json(capsys, "--root", str(gpu_root), "--name", "node-a", "--history", str(history))
    assert doc["hosts"][0]["name"] == "node-a" and doc["run_id"] == 1
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT exit_code FROM runs").fetchall() == [(code,)]


def test_every_format_works_locally(gpu_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each report format renders the local host; the labels script is valid sh and the inventory names the host."""
    specs = [f"{fmt}:{tmp_path / f'report.{fmt}'}" for fmt in FORMATS if fmt != "prom"]
    specs.append(f"prom:{tmp_path / 'report.prom'}")
    args = ["report", "--local", "--root", str(gpu_root), "--no-history"]
    for spec in specs:
        args += ["--format", spec]
    assert main(args) == 0  # no policy: the floating tag is a warning
    for fmt in FORMATS:
        assert (tmp_path / f"report.{fmt}").stat().st_size > 0, fmt
    labels = tmp_path / "report.k8s-labels"
    assert subprocess.run(["/bin/sh", "-n", str(labels)], check=False).returncode == 0
    assert "label node h200-node-07 --overwrite" in labels.read_text()
    assert "h200-node-07:" in (tmp_path / "report.ansible-inventory").read_text()


def test_a_probe_that_hangs_is_cut_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An interpreter that never answers: the host is unreachable at the probe step after --probe-timeout, exit 3."""
    stuck = tmp_path / "python3"
    stuck.write_text("#!/bin/sh\nsleep 30\n")
    stuck.chmod(0o755)
    code, doc = report_json(capsys, "--python", str(stuck), "--probe-timeout", "1", "--no-history")
    (host,) = doc["hosts"]
    assert (code, host["verdict"], host["error"]["step"], host["error"]["message"]) == (
        3,
        "unreachable",
        "probe",
        "timed out after 1s",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--local", "--root", "/no/such/dir"], "--root /no/such/dir: no such directory"),
        (["--local", "--python", "/no/such/python"], "--python /no/such/python: no such interpreter"),
        (["--local", "--limit", "gpu-*"], "--limit does not apply to --local"),
        (["--local", "--group", "bad group"], "--group 'bad group': a group name is"),
        (["--local", "--name", "bad\x1bname"], "control, line-break or bidirectional characters"),
        (["--demo", "--root", "/tmp"], "--root: only with --local"),
        (["--local", "--demo"], "not allowed with argument"),
    ],
)
def test_bad_local_arguments_exit_2_before_anything_runs(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each misuse of --local and its options is a usage error, exit 2, with the flag named."""
    assert main(["report", *args]) == 2
    assert message in capsys.readouterr().err
