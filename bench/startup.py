"""Benchmark: how long the commands people type take to answer, before and after, against a bare interpreter.

    python bench/startup.py [--rounds 15] [--before REV] [--no-record]

In one run, interleaved (every round runs every variant once, in a fresh shuffled order;
one warm-up round is discarded), medians over the rounds:

- ``bare``: ``python -c pass``, the floor every command stands on;
- each command, through the console entry's code (``from auditor.__main__ import main``),
  from two trees: **after** (this checkout) and **before** (``--before REV``, default the
  main commit issue 16's start-up work began from, checked out into a temporary ``git
  worktree``): ``--help``, ``compat --cuda 12.4``, ``check -p policies/demo.yaml`` (before:
  refused without an inventory, exit 2), ``check -i inventories/example.yaml -p ...``,
  ``history`` and ``diff`` over a history of two runs, ``knowledge``, ``inventory -i ...``;
- ``probe --local`` against the bundled probe run directly, as ``run_local`` runs it
  (``python -c BOOTSTRAP --request=...`` with the program on stdin), from each tree.

Every variant runs in one throwaway interpreter environment: a ``venv`` without pip whose
``.pth`` puts this environment's site-packages on the path (so an editable install's import
hook is not loaded: the interpreter starts as an installed ``auditor``'s does), the tree on
``PYTHONPATH``, both trees byte-compiled first (as pip does on install), and every XDG
directory in a temporary directory (the history is made there by two ``auditor report`` runs
of a two-host simulated fleet; nothing real is touched).

Measured per run: CPU (user + system of the process and its children, from ``wait4``) and
wall. The machine may be shared: CPU is the number to trust. The target (issue 16): each
command that never connects answers within 3x a bare start + 100 ms, judged on CPU (wall
shown beside). Results go to bench/results/startup.json and .md unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BEFORE = "4067cfc20ae7fc2bec86e0327a3bec6699b998ca"
"""main when issue 16's start-up work began: every command imported the audit machinery, asyncssh and Textual."""
ENTRY = "import sys; from auditor.__main__ import main; sys.exit(main())"
"""What the ``auditor`` console script runs."""
TARGET_FACTOR, TARGET_EXTRA_S = 3.0, 0.100
POLICY = ROOT / "policies" / "demo.yaml"
INVENTORY = ROOT / "inventories" / "example.yaml"
FLEET = """\
schema: auditor.fleet/1
hosts:
  gpu-01: {groups: [serving], gpus: [{model: "NVIDIA A100-SXM4-80GB", count: 8}], driver: "535.104.05",
           cuda_toolkits: ["12.2.2"], tensorrt: "8.6.1.6"}
  gpu-02: {groups: [serving], gpus: [{model: "NVIDIA A100-SXM4-80GB", count: 8}], driver: "580.95.05",
           cuda_toolkits: ["13.0.2"], tensorrt: "10.13.3.9"}
"""
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "compat --cuda 12.4": ["compat", "--cuda", "12.4"],
    "check -p POLICY": ["check", "-p", str(POLICY)],
    "check -i INV -p POLICY": ["check", "-i", str(INVENTORY), "-p", str(POLICY)],
    "history": ["history"],
    "diff": ["diff"],
    "knowledge": ["knowledge"],
    "inventory -i INV": ["inventory", "-i", str(INVENTORY)],
    "probe --local": ["probe", "--local"],
}
TARGETED = [name for name in COMMANDS if name != "probe --local"]
"""The commands that never connect, held to the target; probe --local is compared with the probe itself."""


@dataclass
class Variant:
    """One command line from one tree, and its runs: (cpu_s, wall_s) each."""

    name: str
    tree: str
    argv: list[str]
    env: dict[str, str]
    stdin: bytes | None = None
    runs: list[tuple[float, float]] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)

    def run(self) -> None:
        start = time.perf_counter()
        child = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if self.stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
            cwd=self.env["HOME"],
        )
        if self.stdin is not None and child.stdin is not None:
            child.stdin.write(self.stdin)
            child.stdin.close()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        self.runs.append((usage.ru_utime + usage.ru_stime, wall))
        self.codes.add(os.waitstatus_to_exitcode(status))

    def medians(self) -> dict[str, Any]:
        return {
            "cpu_ms": round(1000 * statistics.median(c for c, _ in self.runs), 1),
            "wall_ms": round(1000 * statistics.median(w for _, w in self.runs), 1),
            "exit": sorted(self.codes),
        }


def git(*args: str) -> str:
    command = [shutil.which("git") or "git", "-C", str(ROOT), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def make_interpreter(scratch: Path) -> str:
    """A venv without pip whose .pth names this environment's site-packages: the dependencies, no import hooks."""
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "auditor-bench-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def environment(tree: Path, home: Path) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TERM") if key in os.environ}
    return {
        **env,
        "HOME": str(home),
        "PYTHONPATH": str(tree),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "NO_COLOR": "1",
    }


def make_history(python: str, env: dict[str, str], home: Path) -> None:
    """Two recorded runs of a two-host simulated fleet (real SSH on 127.0.0.x), for history and diff."""
    fleet = home / "fleet.yaml"
    fleet.write_text(FLEET)
    for _ in range(2):
        done = subprocess.run(
            [python, "-c", ENTRY, "report", "--simulate", str(fleet), "--format", "json"],
            env=env,
            cwd=home,
            capture_output=True,
            check=False,
        )
        if done.returncode not in (0, 1):
            raise SystemExit(f"bench: making the history failed ({done.returncode}): {done.stderr.decode()[-2000:]}")


def probe_direct(python: str, env: dict[str, str]) -> tuple[list[str], bytes]:
    """The tree's bundled probe as ``run_local`` runs it: its argv and the program for stdin."""
    code = (
        "import sys; from auditor.probe.program import interpreter_args, probe_source;"
        "from auditor.probe.request import encode_request;"
        "import json; sys.stderr.write(json.dumps(interpreter_args(encode_request())));"
        "sys.stdout.buffer.write(probe_source())"
    )
    done = subprocess.run([python, "-c", code], env=env, capture_output=True, check=True)
    return [python, *json.loads(done.stderr)], done.stdout


def measure(rounds: int, before: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="auditor-startup-") as temp:
        scratch = Path(temp)
        old_tree = scratch / "before"
        git("worktree", "add", "--detach", str(old_tree), before)
        try:
            return _measure(scratch, old_tree, rounds, before)
        finally:
            git("worktree", "remove", "--force", str(old_tree))


def _measure(scratch: Path, old_tree: Path, rounds: int, before: str) -> dict[str, Any]:
    python = make_interpreter(scratch)
    trees = {"after": ROOT, "before": old_tree}
    for tree in trees.values():  # pip byte-compiles on install; an installed auditor starts from .pyc files
        subprocess.run([python, "-m", "compileall", "-q", str(tree / "auditor")], check=True, stdout=subprocess.DEVNULL)
    home = scratch / "home"
    home.mkdir()
    envs = {name: environment(tree, home) for name, tree in trees.items()}
    make_history(python, envs["after"], home)
    variants = [Variant("bare", "-", [python, "-c", "pass"], envs["after"])]
    for tree, env in envs.items():
        variants += [Variant(name, tree, [python, "-c", ENTRY, *argv], env) for name, argv in COMMANDS.items()]
        argv, program = probe_direct(python, env)
        variants.append(Variant("probe, run directly", tree, argv, env, stdin=program))
    order = random.Random(16)  # noqa: S311 (a shuffled order, reproducible; no secret)
    for round_number in range(rounds + 1):
        order.shuffle(variants)
        for variant in variants:
            variant.run()
        if round_number == 0:  # warm-up: page cache, .pyc files, the history's first read
            for variant in variants:
                variant.runs.clear()
        print(f"round {round_number}/{rounds}", file=sys.stderr)
    return summarize(variants, rounds, before)


def summarize(variants: list[Variant], rounds: int, before: str) -> dict[str, Any]:
    by = {(v.tree, v.name): v.medians() for v in variants}
    bare = by[("-", "bare")]
    budget_ms = TARGET_FACTOR * bare["cpu_ms"] + 1000 * TARGET_EXTRA_S
    wall_budget_ms = TARGET_FACTOR * bare["wall_ms"] + 1000 * TARGET_EXTRA_S
    commands = {}
    for name in [*COMMANDS, "probe, run directly"]:
        after, old = by[("after", name)], by[("before", name)]
        row: dict[str, Any] = {
            "after": after,
            "before": old,
            "after_vs_bare_cpu": round(after["cpu_ms"] / bare["cpu_ms"], 2),
            "before_vs_after_cpu": round(old["cpu_ms"] / after["cpu_ms"], 2),
        }
        if name in TARGETED:
            row["target_met_cpu"] = after["cpu_ms"] <= budget_ms
            row["target_met_wall"] = after["wall_ms"] <= wall_budget_ms
        commands[name] = row
    probe = {
        tree: round(by[(tree, "probe --local")]["cpu_ms"] - by[(tree, "probe, run directly")]["cpu_ms"], 1)
        for tree in ("before", "after")
    }
    return {
        "benchmark": "startup",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python bench/startup.py" + (f" --rounds {rounds}" if rounds != 15 else ""),
        "machine": machine(),
        "after_commit": git("rev-parse", "--short", "HEAD")
        + ("+changes" if git("status", "--porcelain", "--", "auditor", "bench/startup.py") else ""),
        "before_commit": git("rev-parse", "--short", before),
        "rounds": rounds,
        "bare": bare,
        "target": f"<= {TARGET_FACTOR:g}x bare + {1000 * TARGET_EXTRA_S:g} ms",
        "budget_cpu_ms": round(budget_ms, 1),
        "budget_wall_ms": round(wall_budget_ms, 1),
        "commands": commands,
        "probe_overhead_cpu_ms": probe,
        "all_targets_met_cpu": all(commands[name]["target_met_cpu"] for name in TARGETED),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def render(results: dict[str, Any]) -> str:
    bare, m = results["bare"], results["machine"]
    lines = [
        "# Start-up: the commands people type, before and after issue 16",
        "",
        "One command, one run, interleaved rounds (a fresh shuffled order each), medians:",
        "",
        "```sh",
        results["command"],
        "```",
        "",
        f"{results['date']}; after: {results['after_commit']}, before: {results['before_commit']}; "
        f"{results['rounds']} rounds; {m['cores']} cores of {m['cpu']} (load {m['load_1m']} at the end), "
        f"Python {m['python']}. CPU is user + system of the command and its children (wait4); the "
        "machine is shared, so CPU is the number to trust and wall is shown beside it.",
        "",
        f"Bare interpreter (`python -c pass`): **{bare['cpu_ms']} ms CPU**, {bare['wall_ms']} ms wall. "
        f"Target for the commands that never connect: {results['target']} = "
        f"**{results['budget_cpu_ms']} ms CPU** ({results['budget_wall_ms']} ms wall).",
        "",
        "| command | before CPU ms | after CPU ms | before/after | after/bare | target (CPU) | before wall ms | after wall ms | exit before/after |",
        "|---|---:|---:|---:|---:|:--:|---:|---:|:--:|",
    ]
    for name, row in results["commands"].items():
        old, new = row["before"], row["after"]
        met = "" if "target_met_cpu" not in row else ("met" if row["target_met_cpu"] else "**not met**")
        codes = f"{'/'.join(map(str, old['exit']))} / {'/'.join(map(str, new['exit']))}"
        lines.append(
            f"| `{name}` | {old['cpu_ms']} | **{new['cpu_ms']}** | {row['before_vs_after_cpu']}x | "
            f"{row['after_vs_bare_cpu']}x | {met} | {old['wall_ms']} | {new['wall_ms']} | {codes} |"
        )
    overhead = results["probe_overhead_cpu_ms"]
    lines += [
        "",
        f"`probe --local` over the probe run directly (CPU): before +{overhead['before']} ms, "
        f"after +{overhead['after']} ms (this machine has no GPU: the probe reports none).",
        f"All commands that never connect within the target (CPU): "
        f"{'yes' if results['all_targets_met_cpu'] else 'no'}.",
        "",
        "Before, `check -p POLICY` refused to run without an inventory (exit 2 after parsing); its "
        "before column times that refusal.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="measured rounds (default 15; one warm-up more)")
    parser.add_argument("--before", default=BEFORE, help=f"the commit to compare with (default {BEFORE[:10]})")
    parser.add_argument("--no-record", action="store_true", help="print only; do not write bench/results/")
    args = parser.parse_args()
    if shutil.which("git") is None:
        raise SystemExit("bench: git is needed (the before tree is a git worktree)")
    results = measure(args.rounds, args.before)
    text = render(results)
    print(text)
    if not args.no_record:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "startup.json").write_text(json.dumps(results, indent=2) + "\n")
        (RESULTS / "startup.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
