"""Benchmark: a full audit of N simulated hosts against the floor and against Ansible, in one run.

    python bench/fleet.py --hosts 1000 [--forks 64] [--repeat 1] [--json] [--skip-ansible] [--live-probes]
        [--baseline-tree PATH] [--tree LABEL=PATH]... [--profile] [--record | --record-as NAME]
    python bench/fleet.py --render-recorded     # fleet.md again from fleet.json

The simulated fleet runs in a process of its own (``python -m auditor.simulate.serve``),
so each client's CPU is counted apart from the servers'. The same hosts are then
audited, one client process at a time, by:

- ``auditor``: ``auditor report -i inventory.yaml --format json``, the path users run;
- ``floor``: bare asyncssh (bench/floor.py): connect, run the same probe, read, close;
- ``ansible``: ``ansible all -m raw -a "python3 /opt/auditor/probe.py ..."`` with the same forks
  (OpenSSH underneath, ControlMaster off, host keys checked).

The simulated hosts replay their probe's answer (``serve --replay-probes S``): one warm-up
round, not measured, runs every client once and each host runs the real probe for it;
in the measured rounds a host reads the probe from stdin as before and answers with
the same bytes, ``--probe-seconds`` after the request (default 0.17 s: the probe's median
on a real H200, bench/results/probe_gpu.md), without running it again. A client's work
is unchanged (same command, same probe sent, same output read); what goes is ~115 ms of
simulated host CPU per probe on the client's own CPUs (300 hosts: ~35 s per round on a
2-core machine), which made every client's CPU depend on the scheduler. ``--live-probes``
runs the probe on every request, as before; ``--probe-seconds 0`` answers at once (the
most the client can be asked to do per second).

Each client's wall time and CPU (user + system of it and its children, from ``wait4``)
are measured; the table gives per-host CPU and the ratios the project targets
(auditor CPU <= 1.2x the floor's and >= 30x less than Ansible's, wall <= 1.2x the
floor's). The machine may be shared: CPU per host is the number to trust; rerun
(``--repeat``) when walls are noisy. Medians over repeats are reported; each round
runs the clients in a rotated order, so none always runs first.

Every client's Python code is compiled to bytecode before the first round (``compileall``,
as ``pip install`` does): an installed auditor never compiles its sources at start-up,
and with ``PYTHONDONTWRITEBYTECODE`` set a checkout would, every run (about 150 ms of
CPU for the auditor's modules, against a few for the floor's).

``--baseline-tree PATH`` also runs the auditor of another checkout (a ``git worktree``
of the commit before a change: ``git worktree add --detach /tmp/before COMMIT``) in the
same rounds, as ``before``; ``--tree LABEL=PATH`` adds any other checkout the same way.
Such a client runs with that tree as its working directory and on ``PYTHONPATH``.
``--profile`` then profiles one more run of each auditor client by CPU time
(``bench/profile_client.py``: cProfile on ``time.process_time``; profiled runs are slower,
so only the shares count) and adds its top functions to the results. ``--instructions``
also runs every client once more under ``valgrind --tool=callgrind`` and counts the instructions it executed (user space, the
client process only: ``getaddrinfo``'s thread pool included, the servers not): on a shared
machine CPU seconds vary by +-10% from run to run, instruction counts by well under 1%, so
a change of a few milliseconds shows there first (the run takes ~1 minute per client).
``--record`` writes
``bench/results/fleet.json`` and ``bench/results/fleet.md``; ``--record-as NAME`` writes the same
to ``bench/results/NAME.json`` and ``NAME.md`` instead (a run kept beside the reference one).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"cpu_vs_floor_max": 1.2, "ansible_cpu_vs_auditor_min": 30.0, "wall_vs_floor_max": 1.2}
RESULTS = ROOT / "bench" / "results"
PROFILE_TOP = 25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROBE_SECONDS = 0.17
"""A replayed probe answer comes this long after the request: the probe's median on a real H200
(bench/results/probe_gpu.md, 0.1699 s), so a client waits on its hosts as it would in a fleet."""


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
    tree: Path = ROOT
    """The checkout whose code runs (the working directory, and on PYTHONPATH unless it is this one)."""

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return env if self.tree == ROOT else {**env, "PYTHONPATH": str(self.tree)}

    def summary(self, hosts: int) -> dict[str, Any]:
        wall = statistics.median(m.wall_s for m in self.runs)
        cpu = statistics.median(m.cpu_s for m in self.runs)
        server = statistics.median(m.server_cpu_s for m in self.runs)
        return {
            "wall_s": round(wall, 2),
            "cpu_per_host_ms": round(cpu / hosts * 1000, 3),
            "server_cpu_per_host_ms": round(server / hosts * 1000, 2),
            "cpu_per_host_ms_runs": [round(m.cpu_s / hosts * 1000, 3) for m in self.runs],
        }


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and its reaped children (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / CLOCK_TICKS


def measure(
    command: list[str], env: dict[str, str], output: Path, server_pid: int, cwd: Path = ROOT
) -> tuple[Measure, int]:
    server_before = process_cpu(server_pid)
    started = time.perf_counter()
    with open(output, "wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    server = process_cpu(server_pid) - server_before
    return Measure(wall, usage.ru_utime + usage.ru_stime, server), process.returncode


def count_instructions(variant: Variant, env: dict[str, str], base: Path, server_pid: int) -> int:
    """Instructions one run of ``variant`` executes, counted by callgrind (its output is checked as a timed run's)."""
    counts, log = base / f"{variant.name}.callgrind", base / f"{variant.name}.valgrind.log"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={counts}", f"--log-file={log}", *variant.command]
    output = base / f"{variant.name}.instructions.out"
    _, code = measure(command, env, output, server_pid, cwd=variant.tree)
    text = output.read_text(errors="replace")
    found = re.search(r"Collected : (\d+)", log.read_text(errors="replace") if log.exists() else "")
    if found is None or not variant.check(text):
        raise SystemExit(f"{variant.name} under callgrind did not audit every host (exit {code}):\n{text[-2000:]}")
    return int(found.group(1))


def start_fleet(
    hosts: int, directory: Path, env: dict[str, str], replay: float | None = None
) -> subprocess.Popen[bytes]:
    replaying = [] if replay is None else ["--replay-probes", str(replay)]
    with open(directory.parent / "serve.log", "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "auditor.simulate.serve",
                "--hosts",
                str(hosts),
                "--out",
                str(directory),
                *replaying,
            ],
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
    parser.add_argument(
        "--live-probes",
        action="store_true",
        help="hosts run the probe on every request (default: replay their first answer)",
    )
    parser.add_argument(
        "--probe-seconds",
        type=float,
        default=PROBE_SECONDS,
        metavar="S",
        help=f"how long a replayed answer takes (default {PROBE_SECONDS}: the probe on a real H200)",
    )
    parser.add_argument(
        "--baseline-tree", type=Path, metavar="PATH", help="also run the auditor of this checkout, as 'before'"
    )
    parser.add_argument(
        "--tree", action="append", default=[], metavar="LABEL=PATH", help="also run the auditor of this checkout"
    )
    parser.add_argument("--profile", action="store_true", help="profile one more run of each auditor client")
    parser.add_argument(
        "--instructions", action="store_true", help="count each client's instructions once more under callgrind"
    )
    parser.add_argument("--record", action="store_true", help="write bench/results/fleet.json and fleet.md")
    parser.add_argument(
        "--record-as", metavar="NAME", help="write bench/results/NAME.json and NAME.md instead of fleet.*"
    )
    parser.add_argument(
        "--render-recorded", action="store_true", help="only rewrite bench/results/fleet.md from fleet.json"
    )
    args = parser.parse_args()
    if args.render_recorded:
        (RESULTS / "fleet.md").write_text(render_record(json.loads((RESULTS / "fleet.json").read_text())))
        return 0
    if args.record_as is not None and (args.record or not args.record_as.replace("-", "").replace("_", "").isalnum()):
        raise SystemExit("--record-as NAME: letters, digits, - and _ only, and not with --record")
    n, forks = args.hosts, args.forks
    trees = _trees(args.baseline_tree, args.tree)
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind on PATH (Debian: apt-get install valgrind)")

    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as scratch:
        base = Path(scratch)
        fleet, home = base / "fleet", base / "home"
        (home / ".ssh").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SSH_", "ANSIBLE_", "PYTHONPATH"))}
        env.update(HOME=str(home), XDG_STATE_HOME=str(base / "state"), PYTHONDONTWRITEBYTECODE="1")
        for tree in (ROOT, *trees.values()):
            _compile(tree, env)
        server = start_fleet(n, fleet, env, replay=None if args.live_probes else args.probe_seconds)
        try:
            auditor_command = [
                *(sys.executable, "-m", "auditor", "report", "-i", str(fleet / "inventory.yaml")),
                *("--known-hosts", str(fleet / "known_hosts"), "-F", "none", "--forks", str(forks)),
                *("--format", "json", "--no-retry-file", "--timeout", "120", "--auth-timeout", "120"),
                *("--probe-timeout", "300"),
            ]
            variants = [Variant("auditor", auditor_command, lambda out: _auditor_ok(out, n))]
            for label, tree in trees.items():
                variants.append(Variant(label, auditor_command, lambda out: _auditor_ok(out, n), tree=tree))
            variants.append(
                Variant(
                    "floor",
                    [sys.executable, str(ROOT / "bench" / "floor.py"), str(fleet), "--forks", str(forks)],
                    lambda out: json.loads(out.splitlines()[-1]) == {"hosts": n, "ok": n},
                )
            )
            for variant in variants[1:-1]:
                _check_tree(variant, env)
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
            # Replayed probes: an unmeasured first round, in which every host runs the probe once per request.
            rounds = [(0, False)] * (not args.live_probes) + [(index, True) for index in range(args.repeat)]
            for index, measured in rounds:
                shift = index % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    output = base / f"{variant.name}.out"
                    run_env = env_ansible if variant.name == "ansible" else variant.environment(env)
                    result, code = measure(variant.command, run_env, output, server.pid, cwd=variant.tree)
                    text = output.read_text(errors="replace")
                    if not variant.check(text):
                        print(
                            f"{variant.name} did not audit every host (exit {code}):\n{text[-2000:]}", file=sys.stderr
                        )
                        return 1
                    if measured:
                        variant.runs.append(result)
            instructions = {}
            if args.instructions:
                for variant in variants:
                    if variant.name != "ansible":
                        run_env = variant.environment(env)
                        instructions[variant.name] = count_instructions(variant, run_env, base, server.pid)
            profiles = {}
            if args.profile:
                for variant in variants:
                    if variant.command is auditor_command:
                        profiles[variant.name] = _profile(variant, auditor_command[3:], env)
        finally:
            server.terminate()
            server.wait(timeout=60)

    results: dict[str, Any] = {v.name: v.summary(n) for v in variants}
    floor = results["floor"]
    ratios = {}
    for variant in variants:
        if variant.command is auditor_command:
            prefix = "" if variant.name == "auditor" else f"{variant.name}_"
            mine = results[variant.name]
            ratios[f"{prefix}cpu_vs_floor"] = round(mine["cpu_per_host_ms"] / floor["cpu_per_host_ms"], 2)
            ratios[f"{prefix}wall_vs_floor"] = round(mine["wall_s"] / floor["wall_s"], 2)
    for label in trees:
        ratios[f"cpu_vs_{label}"] = round(results["auditor"]["cpu_per_host_ms"] / results[label]["cpu_per_host_ms"], 2)
    if "ansible" in results:
        ratios["ansible_cpu_vs_auditor"] = round(
            results["ansible"]["cpu_per_host_ms"] / results["auditor"]["cpu_per_host_ms"], 1
        )
    for name, count in instructions.items():
        results[name]["instructions"] = count
        if name != "floor":
            prefix = "" if name == "auditor" else f"{name}_"
            ratios[f"{prefix}instructions_vs_floor"] = round(count / instructions["floor"], 3)
    results.update(hosts=n, forks=forks, repeat=args.repeat, ratios=ratios)
    results["probes"] = "live" if args.live_probes else f"replayed after {args.probe_seconds:g} s"
    results["trees"] = {"auditor": _describe(ROOT), **{label: _describe(tree) for label, tree in trees.items()}}
    if profiles:
        results["profiles"] = profiles
    if args.record or args.record_as:
        record(results, sys.argv[1:], args.record_as or "fleet")
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(render(results))
    return 0


def _trees(baseline: Path | None, extra: list[str]) -> dict[str, Path]:
    """The other checkouts to run, by label ('before' for --baseline-tree)."""
    trees = {}
    if baseline is not None:
        trees["before"] = baseline.resolve()
    for item in extra:
        label, sep, path = item.partition("=")
        if not sep or not label or label in ("auditor", "floor", "ansible", *trees):
            raise SystemExit(f"--tree {item!r}: expected LABEL=PATH with a new label")
        trees[label] = Path(path).resolve()
    for label, tree in trees.items():
        if not (tree / "auditor" / "__main__.py").is_file():
            raise SystemExit(f"{label}: {tree} is not an auditor checkout")
    return trees


def _compile(tree: Path, env: dict[str, str]) -> None:
    """Bytecode for a checkout's modules, as ``pip install`` writes it (``__pycache__`` is ignored by git)."""
    folders = [str(tree / name) for name in ("auditor", "bench") if (tree / name).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], env=env, check=True, stdout=subprocess.DEVNULL)


def _check_tree(variant: Variant, env: dict[str, str]) -> None:
    """Refuse to measure a tree whose client would import another checkout's auditor."""
    found = subprocess.check_output(
        [sys.executable, "-c", "import auditor; print(auditor.__file__)"],
        env=variant.environment(env),
        cwd=variant.tree,
        text=True,
    ).strip()
    if not Path(found).resolve().is_relative_to(variant.tree):
        raise SystemExit(f"{variant.name}: imports {found}, not the auditor of {variant.tree}")


def _profile(variant: Variant, argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One more run of an auditor client under bench/profile_client.py: its CPU and top functions."""
    command = [sys.executable, str(ROOT / "bench" / "profile_client.py"), "--json", "--top", str(PROFILE_TOP), "--"]
    out = subprocess.run(
        [*command, *argv], env=variant.environment(env), cwd=variant.tree, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _describe(tree: Path) -> str:
    """``<commit> <subject>`` of a checkout, ``+ changes`` when its work tree differs from it."""
    git = ["git", "-C", str(tree)]
    head = subprocess.run([*git, "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return f"{head[:100]}{' + uncommitted changes' if dirty.stdout.strip() else ''}"


def record(results: dict[str, Any], argv: list[str], name: str = "fleet") -> None:
    """Write bench/results/NAME.json and NAME.md: the machine, the date, the command, the results."""
    machine = {
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
    }
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/fleet.py " + " ".join(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {"date": stamp, "command": command, "machine": machine, "targets": TARGETS, **results}
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(render_record(document))


def render_record(document: dict[str, Any]) -> str:
    """fleet.md from what fleet.json holds (``python bench/fleet.py --render-recorded`` redoes it)."""
    machine = document["machine"]
    lines = [
        "# Fan-out: controller CPU of a full audit against the floor",
        "",
        f"{document['date']}, `{document['command']}`",
        "",
        f"Machine: {machine['cpus']} CPUs ({machine['cpu']}), Python {machine['python']}, {machine['system']}; "
        f"load average at the end {machine['load_average_at_end']} (shared: CPU per host is the number to trust).",
        "",
        *(f"- `{label}`: {tree}" for label, tree in document["trees"].items()),
        "",
        render(document),
    ]
    for label, profile in document.get("profiles", {}).items():
        lines += [
            "",
            f"### Where `{label}`'s CPU went (one profiled run: {profile['cpu_s']} s of CPU under cProfile)",
            "",
            "Profiled runs are slower than plain ones (Python code more than C): compare shares, not totals.",
            "",
            "| own ms | cumulative ms | calls | function (top by own CPU) |",
            "|---:|---:|---:|---|",
        ]
        lines += [_profile_row(row) for row in profile["by_own"][:8]]
        if "own_work_by_cumulative" in profile:
            lines += [
                "",
                "| own ms | cumulative ms | calls | the auditor's own work, by cumulative CPU |",
                "|---:|---:|---:|---|",
            ]
            lines += [_profile_row(row) for row in profile["own_work_by_cumulative"][:20]]
    return "\n".join(lines) + "\n"


def _profile_row(row: dict[str, Any]) -> str:
    return f"| {row['own_ms']} | {row['cumulative_ms']} | {row['calls']} | `{row['function']}` |"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


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
    probes = f", probes {results['probes']}" if "probes" in results else ""
    lines = [
        f"N={n} hosts, forks={results['forks']}, median of {results['repeat']} run(s){probes}",
        "",
        "| client | wall s | client CPU ms/host | each run | server CPU ms/host |",
        "|---|---:|---:|---|---:|",
    ]
    others = [name for name in results.get("trees", {}) if name != "auditor"]
    for name in ("auditor", *others, "floor", "ansible"):
        if name in results:
            r = results[name]
            runs = " ".join(str(x) for x in r.get("cpu_per_host_ms_runs", []))
            lines.append(
                f"| {name} | {r['wall_s']} | {r['cpu_per_host_ms']} | {runs} | {r['server_cpu_per_host_ms']} |"
            )
    lines.append("")
    target = TARGETS["cpu_vs_floor_max"]
    met = "met" if ratios["cpu_vs_floor"] <= target else "NOT met"
    lines.append(f"auditor CPU / floor CPU: {ratios['cpu_vs_floor']} (target <= {target}: {met})")
    counted = [name for name in ("auditor", *others, "floor") if "instructions" in results.get(name, {})]
    if counted:
        lines.append(
            "instructions (callgrind, one run each): "
            + ", ".join(f"{name} {results[name]['instructions'] / 1e9:.3f} G" for name in counted)
            + f"; auditor / floor {ratios['instructions_vs_floor']}"
        )
    for name in others:
        lines.append(f"{name} CPU / floor CPU: {ratios[f'{name}_cpu_vs_floor']}")
        lines.append(f"auditor CPU / {name} CPU: {ratios[f'cpu_vs_{name}']}")
    lines.append(f"auditor wall / floor wall: {ratios['wall_vs_floor']} (target <= {TARGETS['wall_vs_floor_max']})")
    if "ansible_cpu_vs_auditor" in ratios:
        lines.append(
            f"Ansible CPU / auditor CPU: {ratios['ansible_cpu_vs_auditor']} (target >= {TARGETS['ansible_cpu_vs_auditor_min']})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
