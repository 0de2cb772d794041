"""A 10,000-host ``auditor report`` run without SSH: memory per host, time, reports and history.

    python bench/scale.py [--hosts 10000] [--compare 2000] [--repeat 1] [--baseline-tree DIR] [--json PATH]

Recorded probe outcomes stand in for live probes. First the demo fleet is audited once
over real SSH (the in-process simulated fleet, the real probe; its hanging host waits out
``PROBE_TIMEOUT_S``) and every host's ``ProbeOutcome`` is kept, with the probe documents
recorded on a real H200 (``tests/fixtures/real/probe*.json``) beside them. Then, in a
fresh process per measurement, the real command runs for N hosts:

    auditor report -i <N-host inventory> -p demo.yaml -p demo-site.yaml --waivers demo-waivers.yaml
        --format json:... --format table:... --format md:... --format html:... --format junit:...
        --format prom:... --format csv:... --history <db> -F none --known-hosts <empty>

with one substitution: ``auditor.audit.run.run_probes`` (the SSH fan-out) replays the
recorded outcome of the host each inventory host copies (host i copies recorded host
i mod R, under the name ``<recorded>-<i>``, in its groups, so the policy's selectors
and the group consistency checks treat it as they treat the original). Everything
after the probe returns is the real code: facts reader, evaluation, assessment, the
fleet-level checks, the exit decision, "failing since" and recording in the history,
every report rendered and written.

Measured per N, each in its own process (nothing left from another run):

- ``time``: wall and CPU (user + system) of the command, peak RSS (``ru_maxrss``) above
  the RSS before it started;
- ``memory``: the same command under ``tracemalloc``: the bytes the sweep's results hold
  when ``collect`` returns (every host's report, facts and findings; garbage collected
  first) and the traced peak of the whole command (report rendering included).

Per host: those bytes / N, and the marginal cost between ``--compare`` and ``--hosts``
((B(N) - B(n)) / (N - n): what one more host costs, without the fixed start-up).
Target (issue 16): under 20 KB per host held at 10,000 hosts. ``--baseline-tree`` runs
the same measurements against another checkout's ``auditor`` (a ``git worktree`` of the
commit before a change), interleaved with this tree's, so before and after come from
one run on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import pickle
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_KB = 20.0
PROBE_TIMEOUT_S = 20.0  # the demo's hanging host waits this long; the others finish in seconds even on a busy machine
FORMATS = ("json", "table", "md", "html", "junit", "prom", "csv")
REAL_FIXTURES = ("probe.json", "probe-plain.json", "probe-engines.json", "probe-nocuda.json", "probe-denied.json")


@dataclass(frozen=True)
class Recorded:
    """One recorded host: its name and groups in the demo inventory, and what its probe returned."""

    name: str
    groups: tuple[str, ...]
    outcome: Any  # auditor.transport.outcome.ProbeOutcome (pickled with the tree that recorded it)


# ------------------------------------------------------------------ recording (once, in the parent)


def record(path: Path) -> int:
    """Audit the demo fleet over SSH once, keep every host's outcome (and the real-GPU documents) in ``path``."""
    sys.path.insert(0, str(ROOT))
    from auditor.__main__ import build_parser
    from auditor.audit.demo import DEMO_FLEET
    from auditor.audit.options import resolve_policy
    from auditor.audit.run import policy_request, probe_payload
    from auditor.audit.targets import SshSettings, open_targets
    from auditor.probe.program import ProbeCall
    from auditor.transport.outcome import ProbeOutcome, Timing
    from auditor.transport.runner import run_probes

    policy = resolve_policy(build_parser().parse_args(["report", "--demo"]))
    asked = policy_request(policy)

    def payload(host: Any) -> Any:
        call = asked(host)
        return probe_payload(call if isinstance(call, ProbeCall) else ProbeCall(call))

    async def sweep() -> list[Recorded]:
        kept = []
        settings = SshSettings(forks=8, probe_timeout=PROBE_TIMEOUT_S, retry_file=os.devnull)
        async with open_targets(inventory=None, fleet=str(DEMO_FLEET), limit=None, settings=settings) as targets:
            async for event in run_probes(targets.hosts, targets.options, payload):
                if event.outcome is not None:
                    kept.append(Recorded(event.host.name, event.host.groups, event.outcome))
        return kept

    recorded = asyncio.run(sweep())
    for name in REAL_FIXTURES:
        stdout = (ROOT / "tests" / "fixtures" / "real" / name).read_bytes()
        outcome = ProbeOutcome(stdout=stdout, exit_status=0, timing=Timing(0.01, 0.3))
        recorded.append(Recorded(f"h200-{Path(name).stem}", ("serving", "h200"), outcome))
    path.write_bytes(pickle.dumps(recorded))
    return len(recorded)


# ------------------------------------------------------------------ one measurement (a child process)


def inventory_yaml(recorded: Sequence[Recorded], hosts: int) -> tuple[str, list[str]]:
    """An Ansible YAML inventory of ``hosts`` copies of the recorded hosts, and each copy's template name."""
    groups: dict[str, list[str]] = {}
    ungrouped: list[str] = []
    templates = []
    for i in range(hosts):
        template = recorded[i % len(recorded)]
        name = f"{template.name}-{i:05d}"
        templates.append(template.name)
        for group in template.groups:
            groups.setdefault(group, []).append(name)
        if not template.groups:
            ungrouped.append(name)
    lines = ["all:", "  children:"]
    for group, names in groups.items():
        lines.append(f"    {group}:")
        lines.append("      hosts:")
        lines += [f"        {name}: {{ansible_host: 192.0.2.1}}" for name in names]
    if ungrouped:
        lines += ["    ungrouped:", "      hosts:"] + [
            f"        {name}: {{ansible_host: 192.0.2.1}}" for name in ungrouped
        ]
    return "\n".join(lines) + "\n", templates


def replay(outcomes: dict[str, Any], host_event: Any, state: Any) -> Callable[..., AsyncIterator[Any]]:
    """A stand-in for ``run_probes``: every host queued, then each through connecting and probing to its
    recorded outcome (the payload built as the runner builds it, per host)."""

    async def run_probes(hosts: Sequence[Any], options: Any, payload: Any) -> AsyncIterator[Any]:
        for host in hosts:
            yield host_event(host, state.QUEUED)
        for host in hosts:
            _ = payload(host) if callable(payload) else payload
            outcome = outcomes[host.name.rsplit("-", 1)[0]]
            yield host_event(host, state.CONNECTING)
            yield host_event(host, state.PROBING)
            yield host_event(host, state.DONE if outcome.error is None else state.FAILED, outcome)
            await asyncio.sleep(0)

    return run_probes


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Run ``auditor report`` for ``args.n`` hosts from ``args.tree``; the numbers as a dictionary."""
    sys.path.insert(0, str(Path(args.tree).resolve()))
    import auditor
    import auditor.audit.run
    import auditor.cli.report
    from auditor.__main__ import main
    from auditor.audit.demo import DEMO_POLICIES, DEMO_WAIVERS
    from auditor.transport.outcome import HostState
    from auditor.transport.runner import HostEvent

    assert Path(auditor.__file__).resolve().is_relative_to(Path(args.tree).resolve()), auditor.__file__
    recorded: list[Recorded] = pickle.loads(Path(args.recorded).read_bytes())  # noqa: S301 (our own file)
    work = Path(args.work)
    inventory, _ = inventory_yaml(recorded, args.n)
    (work / "inventory.yaml").write_text(inventory)
    (work / "known_hosts").write_text("")
    auditor.audit.run.run_probes = replay(  # type: ignore[assignment]
        {r.name: r.outcome for r in recorded}, HostEvent, HostState
    )
    held: dict[str, int] = {}
    collect = auditor.cli.report.collect

    async def measured_collect(*a: Any, **k: Any) -> Any:
        if args.mode == "memory":
            gc.collect()
            held["before"] = _traced()
        report = await collect(*a, **k)
        if args.mode == "memory":
            gc.collect()
            held["after"] = _traced()
        return report

    auditor.cli.report.collect = measured_collect  # type: ignore[assignment]
    outputs = {fmt: work / f"report.{fmt}" for fmt in FORMATS}
    argv = ["report", "-i", str(work / "inventory.yaml")]
    argv += [a for p in DEMO_POLICIES for a in ("-p", str(p))] + ["--waivers", str(DEMO_WAIVERS)]
    argv += [a for fmt, path in outputs.items() for a in ("--format", f"{fmt}:{path}")]
    argv += ["--history", str(work / "history.sqlite"), "-F", "none", "--known-hosts", str(work / "known_hosts")]
    argv += ["--retry-file", str(work / "last.retry"), "--as-of", "2026-12-01"]
    if args.mode == "memory":
        import tracemalloc

        tracemalloc.start()
    gc.collect()
    rss_before = _rss_kb()
    cpu_before, wall_before = _cpu(), time.perf_counter()
    code = main(argv)
    wall, cpu = time.perf_counter() - wall_before, _cpu() - cpu_before
    result: dict[str, Any] = {"tree": args.tree, "hosts": args.n, "mode": args.mode, "exit": code}
    if args.mode == "memory":
        import tracemalloc

        result["held_bytes"] = held["after"] - held["before"]
        result["traced_peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        result.update(
            wall_s=wall,
            cpu_s=cpu,
            rss_before_kb=rss_before,
            peak_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        )
    result["report_bytes"] = {fmt: path.stat().st_size for fmt, path in outputs.items()}
    with sqlite3.connect(work / "history.sqlite") as db:
        run_id, rows = db.execute(
            "SELECT r.id, COUNT(h.host) FROM runs r LEFT JOIN host_results h ON h.run_id = r.id"
            " GROUP BY r.id ORDER BY r.id DESC LIMIT 1"
        ).fetchone()
        result["history"] = {"run_id": run_id, "host_rows": rows, "db_bytes": (work / "history.sqlite").stat().st_size}
    summary = json.loads(outputs["json"].read_text())["summary"]
    result["summary"] = summary
    return result


def _traced() -> int:
    import tracemalloc

    return tracemalloc.get_traced_memory()[0]


def _rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------ the run (parent)


def measure(tree: str, hosts: int, mode: str, recorded: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="auditor-scale-") as work:
        env = {**os.environ, "XDG_STATE_HOME": work, "HOME": work, "NO_COLOR": "1"}
        env.pop("SSH_AUTH_SOCK", None)
        command = [sys.executable, __file__, "--child", mode, "--n", str(hosts), "--tree", tree]
        command += ["--recorded", str(recorded), "--work", work]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["history"]["host_rows"] != hosts:
        raise SystemExit(f"history holds {result['history']['host_rows']} host rows for the run, not {hosts}")
    return result


def kb(value: float) -> str:
    return f"{value / 1024:7.1f} KB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--compare", type=int, default=2_000, help="the smaller run measured beside it")
    parser.add_argument("--repeat", type=int, default=1, help="time runs per tree and size (medians)")
    parser.add_argument("--baseline-tree", metavar="DIR", help="another checkout to measure in the same run (before)")
    parser.add_argument("--json", metavar="PATH", help="write every measurement and the summary here")
    parser.add_argument("--child", choices=("time", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--recorded", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        print(json.dumps(child(args)))
        return 0

    trees = {"this tree": str(ROOT)}
    if args.baseline_tree:
        trees = {"baseline": str(Path(args.baseline_tree).resolve()), **trees}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="auditor-scale-rec-") as scratch:
        recorded = Path(scratch) / "recorded.pickle"
        started = time.perf_counter()
        count = record(recorded)
        print(
            f"recorded {count} probe outcomes (demo fleet over SSH + real H200 documents) in {time.perf_counter() - started:.1f}s"
        )
        sizes = [args.compare, args.hosts]
        plan = [(mode, n) for n in sizes for mode in ["memory"] + ["time"] * args.repeat]
        for mode, n in plan:
            for label, tree in trees.items():  # interleaved: the trees meet the same machine load
                result = measure(tree, n, mode, recorded)
                result["label"] = label
                runs.append(result)
                print(f"  {label:<10} {mode:<6} {n:>6} hosts: " + _line(result), flush=True)
    summary = summarize(runs, trees, sizes)
    print_summary(summary, sizes)
    if args.json:
        document = {
            "benchmark": "scale",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": _machine(),
            "target_kb_per_host": TARGET_KB,
            "summary": summary,
            "runs": runs,
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    return 0


def _line(result: dict[str, Any]) -> str:
    n = result["hosts"]
    if result["mode"] == "memory":
        return f"held {kb(result['held_bytes'] / n)}/host, traced peak {kb(result['traced_peak_bytes'] / n)}/host"
    rss = (result["peak_rss_kb"] - result["rss_before_kb"]) * 1024 / n
    return f"wall {result['wall_s']:6.1f}s cpu {result['cpu_s']:6.1f}s ({result['cpu_s'] / n * 1000:.2f} ms/host), peak RSS +{kb(rss)}/host"


def summarize(runs: list[dict[str, Any]], trees: dict[str, str], sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label in trees:
        per: dict[str, Any] = {}
        for n in sizes:
            memory = next(r for r in runs if r["label"] == label and r["hosts"] == n and r["mode"] == "memory")
            timed = [r for r in runs if r["label"] == label and r["hosts"] == n and r["mode"] == "time"]
            per[str(n)] = {
                "held_kb_per_host": memory["held_bytes"] / n / 1024,
                "traced_peak_kb_per_host": memory["traced_peak_bytes"] / n / 1024,
                "peak_rss_kb_per_host": statistics.median((r["peak_rss_kb"] - r["rss_before_kb"]) / n for r in timed),
                "wall_s": statistics.median(r["wall_s"] for r in timed),
                "cpu_s": statistics.median(r["cpu_s"] for r in timed),
                "cpu_ms_per_host": statistics.median(r["cpu_s"] for r in timed) / n * 1000,
                "report_bytes": memory["report_bytes"],
                "history": memory["history"],
                "summary": memory["summary"],
            }
        small, large = per[str(sizes[0])], per[str(sizes[1])]
        span = sizes[1] - sizes[0]
        per["marginal_held_kb_per_host"] = (
            large["held_kb_per_host"] * sizes[1] - small["held_kb_per_host"] * sizes[0]
        ) / span
        per["marginal_peak_rss_kb_per_host"] = (
            large["peak_rss_kb_per_host"] * sizes[1] - small["peak_rss_kb_per_host"] * sizes[0]
        ) / span
        per["target_met"] = large["held_kb_per_host"] < TARGET_KB
        out[label] = per
    if len(trees) == 2:
        before, after = (out[label][str(sizes[1])] for label in trees)
        out["ratios_this_vs_baseline"] = {
            key: after[key] / before[key]
            for key in ("held_kb_per_host", "traced_peak_kb_per_host", "peak_rss_kb_per_host", "cpu_s", "wall_s")
        }
    return out


def print_summary(summary: dict[str, Any], sizes: list[int]) -> None:
    for label, per in summary.items():
        if label.startswith("ratios"):
            print("\nthis tree / baseline at", sizes[1], "hosts: " + ", ".join(f"{k} {v:.2f}x" for k, v in per.items()))
            continue
        print(f"\n{label}:")
        for n in sizes:
            p = per[str(n)]
            print(
                f"  {n:>6} hosts: held {p['held_kb_per_host']:.1f} KB/host, traced peak {p['traced_peak_kb_per_host']:.1f} "
                f"KB/host, peak RSS +{p['peak_rss_kb_per_host']:.1f} KB/host; wall {p['wall_s']:.1f}s, "
                f"CPU {p['cpu_s']:.1f}s ({p['cpu_ms_per_host']:.2f} ms/host); history {p['history']['host_rows']} rows"
            )
            print("    reports: " + ", ".join(f"{fmt} {size / 1e6:.1f} MB" for fmt, size in p["report_bytes"].items()))
        print(
            f"  marginal ({sizes[0]} -> {sizes[1]}): held {per['marginal_held_kb_per_host']:.1f} KB/host, "
            f"peak RSS {per['marginal_peak_rss_kb_per_host']:.1f} KB/host"
        )
        verdict = "met" if per["target_met"] else "NOT met"
        print(f"  target: under {TARGET_KB:g} KB held per host at {sizes[1]} hosts: {verdict}")


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "note": "shared 2-vCPU development machine; CPU is user+system of the child process",
    }


if __name__ == "__main__":
    raise SystemExit(main())
