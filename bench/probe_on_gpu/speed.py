"""The probe's wall time on a real GPU node against the classic bash health check: before and after, in one run.

``python3 speed.py --before PROBE --after PROBE --plan PLAN --out DIR [--rounds N] [--engine-rounds N]``,
run by ``speed.sh`` on a lent GPU machine. Every variant runs as a host runs it, from the same
environment (the TensorRT lean runtime on ``PYTHONPATH``), and the variants are interleaved in a
fresh shuffled order each round, so drift and caches hit them all alike; figures are medians.

Variants (wall time of the whole command, interpreter start-up included):

* ``check``: the classic health check in bash: the driver version from nvidia-smi, ``nvcc
  --version``, and TensorRT's version from python3 (``tensorrt_lean``, the module this node has);
* ``check-seed``: the same with the seeds' literal ``python3 -c 'import tensorrt'``, which fails
  here once the interpreter has started (no such module): shown, not the target's yardstick;
* ``before``: the probe as main shipped it before issue 16 (``--before``), ``python3 -c BOOTSTRAP``
  with the program on stdin, as the controller runs it;
* ``after``: the probe of this checkout (``--after``), the way this checkout's controller runs
  it (``auditor.probe.program.interpreter_args``: ``python3 -S -c BOOTSTRAP``);
* ``after-with-site``: the same program started ``python3 -c BOOTSTRAP``, site initialized in the
  probe's own process before its first line (as every probe ran before ``-S``);
* where the time goes: ``python3 -c pass``, ``python3 -S -E -c pass``, the check's TensorRT
  import alone, nvidia-smi alone, nvcc alone, each probe compiled and loaded but not run
  (``*-load``: start-up, compilation, imports, tear-down), and ``after`` with ``os.fork``
  removed (``after-spawn``: its children start interpreters, as on a host without fork).

Engine test-loads (``before-engine``, ``after-engine``: the probe asked to load ``--plan``) run
``--engine-rounds`` times, interleaved too.

Writes ``DIR/speed.json`` (medians, ratios, per-section medians, every sample) and the last
round's documents ``DIR/facts-before.json``, ``facts-after.json``, ``engines-before.json``,
``engines-after.json``; prints a table and the ratios. Every round's ``after`` document is
compared with the same round's ``before`` one, timings aside (``elapsed_s``, ``duration_s``,
``collected_at``, a load's ``seconds``): ``facts_identical``; and with the same round's
``after-with-site`` one: ``site_facts_identical``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from auditor.probe.program import BOOTSTRAP, interpreter_args  # noqa: E402 - the checkout's own, after the path is set
from auditor.probe.request import encode_request  # noqa: E402

TARGET_RATIO = 1.3
"""Issue 16: the full probe (every fact, no engine load) within 1.3x of the check, in one run."""
TRT_MODULE = "tensorrt_lean"
CHECK = (
    "nvidia-smi --query-gpu=driver_version --format=csv,noheader; nvcc --version; "
    f"python3 -c 'import {TRT_MODULE} as trt; print(trt.__version__)'"
)
CHECK_SEED = "nvidia-smi --query-gpu=driver_version --format=csv,noheader; nvcc --version; python3 -c 'import tensorrt'"
LOAD_ONLY = 'import sys;exec(compile(sys.stdin.buffer.read(),"<auditor-probe>","exec"),{"__name__":"load-only"})'
SPAWN = 'import os,sys;del os.fork;exec(compile(sys.stdin.buffer.read(),"<auditor-probe>","exec"))'
SECTIONS = ("host", "driver", "gpus", "cuda", "cudnn", "tensorrt", "containers", "engines")
RUN_TIMEOUT = 120.0
TIMINGS = frozenset({"elapsed_s", "duration_s", "collected_at", "seconds"})


@dataclass(frozen=True)
class Variant:
    """One command timed: its argv, what it reads on stdin, and whether it prints a facts document."""

    name: str
    argv: tuple[str, ...]
    stdin: bytes | None = None
    probe: bool = False


@dataclass
class Samples:
    """What the rounds measured for one variant."""

    seconds: list[float]
    failures: int = 0
    first_output: str = ""
    sections: dict[str, list[float]] | None = None
    last_doc: dict[str, Any] | None = None


def run_once(variant: Variant, env: dict[str, str], samples: Samples) -> dict[str, Any] | None:
    started = time.perf_counter()
    try:
        result = subprocess.run(
            variant.argv, input=variant.stdin, capture_output=True, env=env, check=False, timeout=RUN_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:  # a tool this machine lacks, a hang: a failure, the rest runs
        samples.failures += 1
        samples.first_output = samples.first_output or str(exc)
        return None
    samples.seconds.append(time.perf_counter() - started)
    if not samples.first_output:
        samples.first_output = (result.stdout[:600] + result.stderr[:600]).decode("utf-8", "replace")
    if not variant.probe:
        samples.failures += result.returncode != 0 and not variant.name.startswith("check-seed")
        return None
    try:
        doc = json.loads(result.stdout)
        assert doc.get("schema") == "auditor.facts/1", doc
    except (ValueError, AssertionError):
        samples.failures += 1
        return None
    sections = samples.sections if samples.sections is not None else {}
    for name in (*SECTIONS, "duration_s"):
        value = doc.get("duration_s") if name == "duration_s" else (doc.get(name) or {}).get("elapsed_s")
        if isinstance(value, (int, float)):
            sections.setdefault(name, []).append(value)
    samples.sections, samples.last_doc = sections, doc
    return doc


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Paths where two documents (timings removed) differ."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            found += differences(before.get(key), after.get(key), f"{path}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d for i, (b, a) in enumerate(zip(before, after, strict=True)) for d in differences(b, a, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"[:300]]


def interleave(
    variants: list[Variant], rounds: int, env: dict[str, str], rng: random.Random, compare: tuple[tuple[str, str], ...]
) -> tuple[dict[str, Samples], list[dict[str, Any]]]:
    """Every variant once a round, in a fresh shuffled order; each pair in ``compare``: its two
    documents of the same round compared, timings aside (one verdict per pair)."""
    samples = {v.name: Samples([]) for v in variants}
    verdicts: list[dict[str, Any]] = [
        {"pair": list(pair), "rounds_compared": 0, "rounds_identical": 0, "differences": []} for pair in compare
    ]
    for variant in variants:  # warm-up: page cache, the driver's first NVML session
        run_once(variant, env, Samples([]))
    for _ in range(rounds):
        order = list(variants)
        rng.shuffle(order)
        docs = {v.name: run_once(v, env, samples[v.name]) for v in order}
        for (first, second), verdict in zip(compare, verdicts, strict=True):
            if docs.get(first) is None or docs.get(second) is None:
                continue
            found = differences(without_timings(docs[first]), without_timings(docs[second]))
            verdict["rounds_compared"] += 1
            verdict["rounds_identical"] += not found
            if found and not verdict["differences"]:
                verdict["differences"] = found[:20]
    return samples, verdicts


def identical(verdict: dict[str, Any]) -> bool:
    return verdict["rounds_compared"] > 0 and verdict["rounds_identical"] == verdict["rounds_compared"]


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def summary(samples: dict[str, Samples]) -> dict[str, Any]:
    return {
        name: {
            "median_s": median(s.seconds),
            "min_s": round(min(s.seconds), 4),
            "max_s": round(max(s.seconds), 4),
            "n": len(s.seconds),
            "failures": s.failures,
        }
        for name, s in samples.items()
        if s.seconds
    }


def machine() -> dict[str, Any]:
    def sh(command: str) -> str:
        result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)  # noqa: S607
        return result.stdout.strip()

    return {
        "gpus": sh("nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader"),
        "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python3": sh("command -v python3; python3 --version"),
        "nvcc": sh("command -v nvcc"),
        "bench_python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="the probe before (an assembled program)")
    parser.add_argument("--after", required=True, type=Path, help="the probe after (an assembled program)")
    parser.add_argument("--plan", required=True, help="a plan file for the engine test-load variants")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--engine-rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    before, after = args.before.read_bytes(), args.after.read_bytes()
    plain, engine = f"--request={encode_request()}", f"--request={encode_request(engines=[args.plan])}"
    python = ("python3", "-c")  # how probes started before -S (``before`` was shipped so)
    flags = interpreter_args("")
    after_python = ("python3", *flags[: flags.index("-c") + 1])
    main_variants = [
        Variant("check", ("bash", "-c", CHECK)),
        Variant("check-seed", ("bash", "-c", CHECK_SEED)),
        Variant("before", (*python, BOOTSTRAP, plain), before, probe=True),
        Variant("after", (*after_python, BOOTSTRAP, plain), after, probe=True),
        Variant("after-with-site", (*python, BOOTSTRAP, plain), after, probe=True),
        Variant("python-start", (*python, "pass")),
        Variant("python-start-bare", ("python3", "-S", "-E", "-c", "pass")),
        Variant("trt-import", (*python, f"import {TRT_MODULE}")),
        Variant("nvidia-smi", ("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader")),
        Variant("nvcc", ("nvcc", "--version")),
        Variant("before-load", (*python, LOAD_ONLY), before),
        Variant("after-load", (*after_python, LOAD_ONLY), after),
        Variant("after-spawn", (*after_python, SPAWN, plain), after, probe=True),
    ]
    engine_variants = [
        Variant("before-engine", (*python, BOOTSTRAP, engine), before, probe=True),
        Variant("after-engine", (*after_python, BOOTSTRAP, engine), after, probe=True),
    ]
    env = dict(os.environ)
    rng = random.Random(args.seed)  # noqa: S311 - the order of the variants, not a secret
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    samples, (facts, site_facts) = interleave(
        main_variants, args.rounds, env, rng, (("before", "after"), ("after-with-site", "after"))
    )
    engine_samples, (engines,) = interleave(
        engine_variants, args.engine_rounds, env, rng, (("before-engine", "after-engine"),)
    )
    samples.update(engine_samples)
    stats = summary(samples)

    def ratio(a: str, b: str) -> float | None:
        x, y = stats.get(a, {}).get("median_s"), stats.get(b, {}).get("median_s")
        return round(x / y, 3) if x and y else None

    ratios = {
        "after/check": ratio("after", "check"),
        "before/check": ratio("before", "check"),
        "after/before": ratio("after", "before"),
        "after-with-site/check": ratio("after-with-site", "check"),
        "after-engine/before-engine": ratio("after-engine", "before-engine"),
        "after-engine/check": ratio("after-engine", "check"),
        "after/check-seed": ratio("after", "check-seed"),
    }
    met = ratios["after/check"] is not None and ratios["after/check"] <= TARGET_RATIO
    result = {
        "recorded_at": started,
        "machine": machine(),
        "commands": {
            "check": CHECK,
            "check-seed": CHECK_SEED,
            "probe": "python3 -c BOOTSTRAP --request=... < probe (auditor.probe.program.BOOTSTRAP)",
            "after": " ".join(after_python)
            + " BOOTSTRAP --request=... < probe (auditor.probe.program.interpreter_args)",
            "engine_plan": args.plan,
            "PYTHONPATH": env.get("PYTHONPATH"),
        },
        "rounds": args.rounds,
        "engine_rounds": args.engine_rounds,
        "target": {"ratio": TARGET_RATIO, "after/check": ratios["after/check"], "met": met},
        "ratios": ratios,
        "summary": stats,
        "sections_median_s": {
            name: {k: median(v) for k, v in (samples[name].sections or {}).items()}
            for name in ("before", "after", "after-spawn", "before-engine", "after-engine")
        },
        "facts_identical": identical(facts),
        "facts_comparison": facts,
        "site_facts_identical": identical(site_facts),
        "site_facts_comparison": site_facts,
        "engines_identical": identical(engines),
        "engines_comparison": engines,
        "first_output": {
            name: s.first_output if not s.last_doc else s.first_output[-600:] for name, s in samples.items()
        },
        "samples_s": {name: [round(x, 4) for x in s.seconds] for name, s in samples.items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    for name, file in (
        ("before", "facts-before.json"),
        ("after", "facts-after.json"),
        ("before-engine", "engines-before.json"),
        ("after-engine", "engines-after.json"),
    ):
        (args.out / file).write_text(json.dumps(samples[name].last_doc, indent=1, sort_keys=True) + "\n")
    print(f"{'variant':<20}{'median s':>10}{'min s':>9}{'max s':>9}{'n':>5}{'fail':>6}")
    for name, row in stats.items():
        print(
            f"{name:<20}{row['median_s']:>10.4f}{row['min_s']:>9.4f}{row['max_s']:>9.4f}{row['n']:>5}{row['failures']:>6}"
        )
    for name in ("before", "after"):
        print(name, "sections", json.dumps(result["sections_median_s"][name]))
    print("ratios", json.dumps(ratios))
    print(
        f"target after/check <= {TARGET_RATIO}: {'met' if met else 'NOT met'}; "
        f"facts identical in {facts['rounds_identical']}/{facts['rounds_compared']} rounds, "
        f"engine documents in {engines['rounds_identical']}/{engines['rounds_compared']}; "
        f"after-with-site and after identical in {site_facts['rounds_identical']}/{site_facts['rounds_compared']}"
    )
    for verdict in (facts, site_facts, engines):
        for line in verdict["differences"]:
            print("DIFF", "/".join(verdict["pair"]), line)


if __name__ == "__main__":
    main()
