"""Benchmark: a full audit of N simulated hosts against the floor and against Ansible, in one run.

    python bench/fleet.py --hosts 1000 [--forks 64] [--repeat 1] [--json] [--skip-ansible]

The simulated fleet runs in a process of its own (``python -m auditor.simulate.serve``),
so each client's CPU is counted apart from the servers'. The same hosts are then
audited, one client process at a time, by:

- ``auditor``: ``auditor report -i inventory.yaml --format json``, the path users run;
- ``floor``: bare asyncssh (bench/floor.py): connect, run the same probe, read, close;
- ``ansible``: ``ansible all -m raw -a "python3 /opt/auditor/probe.py ..."`` with the same forks
  (OpenSSH underneath, ControlMaster off, host keys checked).

Each client's wall time and CPU (user + system of it and its children, from ``wait4``)
are measured; the table gives per-host CPU and the ratios the project targets
(auditor CPU <= 1.3x the floor's and >= 30x less than Ansible's, wall <= 1.2x the
floor's). The machine may be shared: CPU per host is the number to trust; rerun
(``--repeat``) when walls are noisy. Medians over repeats are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"cpu_vs_floor_max": 1.3, "ansible_cpu_vs_auditor_min": 30.0, "wall_vs_floor_max": 1.2}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measure:
    """One client run: wall seconds, client CPU seconds, server CPU seconds meanwhile."""

    wall_s: float
    cpu_s: float
    server_cpu_s: float


@dataclass
class Variant:
    name: str
    command: list[str]
    check: Any
    runs: list[Measure] = field(default_factory=list)

    def summary(self, hosts: int) -> dict[str, float]:
        wall = statistics.median(m.wall_s for m in self.runs)
        cpu = statistics.median(m.cpu_s for m in self.runs)
        server = statistics.median(m.server_cpu_s for m in self.runs)
        return {
            "wall_s": round(wall, 2),
            "cpu_per_host_ms": round(cpu / hosts * 1000, 3),
            "server_cpu_per_host_ms": round(server / hosts * 1000, 2),
        }


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and its reaped children (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def measure(command: list[str], env: dict[str, str], output: Path, server_pid: int) -> tuple[Measure, int]:
    server_before = process_cpu(server_pid)
    started = time.perf_counter()
    with open(output, "wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    server = process_cpu(server_pid) - server_before
    return Measure(wall, usage.ru_utime + usage.ru_stime, server), process.returncode


def start_fleet(hosts: int, directory: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(directory.parent / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "auditor.simulate.serve", "--hosts", str(hosts), "--out", str(directory)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 60 + hosts * 0.5
    while not (directory / "ready").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(f"the simulated fleet did not start; see {directory.parent / 'serve.log'}")
        time.sleep(0.2)
    return server


def ansible_config(path: Path, fleet: Path, forks: int) -> None:
    path.write_text(
        f"""[defaults]
host_key_checking = True
forks = {forks}
retry_files_enabled = False
gathering = explicit
local_tmp = {path.parent / "ansible-tmp"}
deprecation_warnings = False

[ssh_connection]
ssh_args = -C -o ControlMaster=no -o ControlPersist=no -F /dev/null -o IdentitiesOnly=yes -o UserKnownHostsFile={fleet / "known_hosts"} -o GlobalKnownHostsFile=/dev/null
pipelining = False
"""
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=200, metavar="N")
    parser.add_argument("--forks", type=int, default=64, metavar="F")
    parser.add_argument("--repeat", type=int, default=1, metavar="R", help="runs of each client (medians reported)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--skip-ansible", action="store_true", help="leave Ansible out (it is by far the slowest)")
    args = parser.parse_args()
    n, forks = args.hosts, args.forks

    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as scratch:
        base = Path(scratch)
        fleet, home = base / "fleet", base / "home"
        (home / ".ssh").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_", "ANSIBLE_"))}
        env.update(HOME=str(home), XDG_STATE_HOME=str(base / "state"), PYTHONDONTWRITEBYTECODE="1")
        server = start_fleet(n, fleet, env)
        try:
            variants = [
                Variant(
                    "auditor",
                    [
                        *(sys.executable, "-m", "auditor", "report", "-i", str(fleet / "inventory.yaml")),
                        *("--known-hosts", str(fleet / "known_hosts"), "-F", "none", "--forks", str(forks)),
                        *("--format", "json", "--no-retry-file", "--timeout", "120", "--auth-timeout", "120"),
                        *("--probe-timeout", "300"),
                    ],
                    lambda out: _auditor_ok(out, n),
                ),
                Variant(
                    "floor",
                    [sys.executable, str(ROOT / "bench" / "floor.py"), str(fleet), "--forks", str(forks)],
                    lambda out: json.loads(out.splitlines()[-1]) == {"hosts": n, "ok": n},
                ),
            ]
            if not args.skip_ansible:
                ansible_config(base / "ansible.cfg", fleet, forks)
                request = json.loads(subprocess.check_output([sys.executable, "-c", _REQUEST], cwd=ROOT))
                variants.append(
                    Variant(
                        "ansible",
                        [
                            *(str(Path(sys.executable).parent / "ansible"), "all", "-i", str(fleet / "inventory.yaml")),
                            *(
                                "-m",
                                "raw",
                                "-a",
                                f"python3 /opt/auditor/probe.py --request={request}",
                                "-f",
                                str(forks),
                            ),
                        ],
                        lambda out: out.count("| CHANGED | rc=0") == n,
                    )
                )
                env_ansible = {**env, "ANSIBLE_CONFIG": str(base / "ansible.cfg")}
            for _ in range(args.repeat):
                for variant in variants:
                    output = base / f"{variant.name}.out"
                    run_env = env_ansible if variant.name == "ansible" else env
                    result, code = measure(variant.command, run_env, output, server.pid)
                    text = output.read_text(errors="replace")
                    if not variant.check(text):
                        print(
                            f"{variant.name} did not audit every host (exit {code}):\n{text[-2000:]}", file=sys.stderr
                        )
                        return 1
                    variant.runs.append(result)
        finally:
            server.terminate()
            server.wait(timeout=60)

    results: dict[str, Any] = {v.name: v.summary(n) for v in variants}
    auditor, floor = results["auditor"], results["floor"]
    ratios = {
        "cpu_vs_floor": round(auditor["cpu_per_host_ms"] / floor["cpu_per_host_ms"], 2),
        "wall_vs_floor": round(auditor["wall_s"] / floor["wall_s"], 2),
    }
    if "ansible" in results:
        ratios["ansible_cpu_vs_auditor"] = round(results["ansible"]["cpu_per_host_ms"] / auditor["cpu_per_host_ms"], 1)
    results.update(hosts=n, forks=forks, repeat=args.repeat, ratios=ratios)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(render(results))
    return 0


_REQUEST = "import json; from auditor.probe.request import encode_request; print(json.dumps(encode_request()))"


def _auditor_ok(output: str, hosts: int) -> bool:
    try:
        summary = json.loads(output[output.index("{") :])["summary"]
    except (ValueError, KeyError):
        return False
    return summary["total"] == hosts and summary["unreachable"] == 0 and summary["error"] == 0


def render(results: dict[str, Any]) -> str:
    """A Markdown table (it goes into docs/contributing.md as is)."""
    n, ratios = results["hosts"], results["ratios"]
    lines = [
        f"N={n} hosts, forks={results['forks']}, median of {results['repeat']} run(s)",
        "",
        "| client | wall s | client CPU ms/host | server CPU ms/host |",
        "|---|---:|---:|---:|",
    ]
    for name in ("auditor", "floor", "ansible"):
        if name in results:
            r = results[name]
            lines.append(f"| {name} | {r['wall_s']} | {r['cpu_per_host_ms']} | {r['server_cpu_per_host_ms']} |")
    lines.append("")
    lines.append(f"auditor CPU / floor CPU: {ratios['cpu_vs_floor']} (target <= {TARGETS['cpu_vs_floor_max']})")
    lines.append(f"auditor wall / floor wall: {ratios['wall_vs_floor']} (target <= {TARGETS['wall_vs_floor_max']})")
    if "ansible_cpu_vs_auditor" in ratios:
        lines.append(
            f"Ansible CPU / auditor CPU: {ratios['ansible_cpu_vs_auditor']} (target >= {TARGETS['ansible_cpu_vs_auditor_min']})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
