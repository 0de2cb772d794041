"""A simulated fleet served from its own process, audited through its inventory as users would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.__main__ import main
from auditor.inventory import Host
from auditor.probe.program import probe_source, remote_command
from auditor.probe.request import encode_request
from auditor.simulate.serve import uniform_fleet
from auditor.simulate.server import SimulatedFleet
from auditor.transport.runner import probe_host
from tests.support.paths import ROOT


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`python -m auditor.simulate.serve --hosts 3` running until the module ends."""
    out = tmp_path_factory.mktemp("served")
    log = out.parent / f"{out.name}.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "auditor.simulate.serve", "--hosts", "3", "--out", str(out)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(600):
            if (out / "ready").exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert (out / "ready").exists(), log.read_text()
        yield out
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_served_fleet_describes_itself(served: Path) -> None:
    """The served directory holds an inventory, known_hosts, a private key (0600) and the host list."""
    hosts = json.loads((served / "hosts.json").read_text())
    assert [name for name, _, _ in hosts] == ["sim-00001", "sim-00002", "sim-00003"]
    assert (served / "client_key").stat().st_mode & 0o777 == 0o600
    assert len((served / "known_hosts").read_text().splitlines()) == 3


def test_audit_through_the_served_inventory(served: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`auditor report -i inventory.yaml --known-hosts ...` audits every served host: all ok."""
    code = main(
        [
            *("report", "-i", str(served / "inventory.yaml"), "--known-hosts", str(served / "known_hosts")),
            *("-F", "none", "--format", "json", "--probe-timeout", "60"),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["summary"]["ok"] == 3


def test_unknown_served_host_key_without_known_hosts_file(served: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the fleet's known_hosts every host is unreachable at step host-key (exit 3), none prompts."""
    empty = served.parent / "empty_known_hosts"
    empty.write_text("")
    code = main(
        ["report", "-i", str(served / "inventory.yaml"), "--known-hosts", str(empty), "-F", "none", "--format", "json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 3 and {h["error"]["step"] for h in report["hosts"]} == {"host-key"}
    assert all(h["error"]["host_key"].startswith("ssh-ed25519 SHA256:") for h in report["hosts"])


def test_floor_client_reaches_every_served_host(served: Path) -> None:
    """bench/floor.py, the benchmark's baseline, audits the same hosts with bare asyncssh."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "floor.py"), str(served), "--forks", "3"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(out.stdout) == {"hosts": 3, "ok": 3}


@pytest.mark.parametrize("replay", [0.1, None])
async def test_replayed_probe_answers_again_without_running(tmp_path: Path, replay: float | None) -> None:
    """With replay_probes a host answers a request again with the very bytes of its first answer (its root
    gone meanwhile, a live probe would find nothing); without it the probe runs each time."""
    fleet = uniform_fleet(2)
    async with SimulatedFleet(fleet, workdir=tmp_path / "sim", replay_probes=replay) as sim:
        command, source = remote_command(encode_request()), probe_source()

        async def probe(host: Host) -> bytes:
            outcome = await probe_host(host, sim.options(probe_timeout=60), command, source)
            assert outcome.error is None and outcome.exit_status == 0, outcome
            return outcome.stdout

        first = [await probe(host) for host in sim.hosts]
        assert json.loads(first[0])["host"]["hostname"] == "sim-00001"  # each host its own answer
        assert json.loads(first[1])["host"]["hostname"] == "sim-00002"
        for root in (sim.workdir / "roots").iterdir():
            shutil.rmtree(root)
        again = [await probe(host) for host in sim.hosts]
    assert (again == first) is (replay is not None)
