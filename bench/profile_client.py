"""Profile one client run of bench/fleet.py by CPU time: where the auditor's CPU goes.

    python bench/profile_client.py DIR [--top 30] [--out FILE] -- auditor report ARGS...

Runs ``auditor.__main__.main(ARGS)`` in this process under ``cProfile`` with
``time.process_time`` as its clock (the machine may be shared: CPU, not wall, is the
number to trust), against a fleet already served by ``python -m auditor.simulate.serve
--out DIR``. Prints the top entries by own CPU and by cumulative CPU to stderr, and
writes the raw stats to ``--out`` when given (for ``pstats`` or snakeviz).
bench/fleet.py ``--profile`` calls this with the arguments of its own auditor client.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import time

OWN_WORK = ("/auditor/", "/json/", "/yaml/", "/sqlite3/", "/zlib")
"""Where the auditor's own work runs (its code, and the encoders and stores it calls), not SSH's."""


def top_entries(stats: pstats.Stats, key: str, count: int, own_work: bool = False) -> list[dict[str, object]]:
    """The ``count`` largest entries by ``key`` ("tottime" or "cumtime"): function, calls, CPU ms.

    ``own_work`` keeps only functions in ``OWN_WORK``: what the auditor adds to the SSH work
    the floor does too.
    """
    rows = []
    for (path, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if own_work and not any(part in path for part in OWN_WORK):
            continue
        rows.append(
            {
                "function": f"{_short(path)}:{line}({name})",
                "calls": calls,
                "own_ms": round(own * 1000, 1),
                "cumulative_ms": round(cumulative * 1000, 1),
            }
        )
    field = "own_ms" if key == "tottime" else "cumulative_ms"
    rows.sort(key=lambda r: r[field], reverse=True)  # type: ignore[arg-type, return-value]
    return rows[:count]


def _short(path: str) -> str:
    for marker in ("site-packages/", "/auditor/", "lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return f"auditor/{tail}" if marker == "/auditor/" else tail
    return path


def profile(argv: list[str]) -> tuple[int, pstats.Stats, float]:
    """Run ``auditor ARGV`` under the profiler; its exit code, stats and CPU seconds."""
    from auditor.__main__ import main

    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        code = profiler.runcall(main, argv)
    cpu = time.process_time() - started
    return code, pstats.Stats(profiler), cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", help="write the raw profile here")
    parser.add_argument("--json", action="store_true", help="print the top entries as JSON on stdout")
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- then the auditor arguments")
    args = parser.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    code, stats, cpu = profile(argv)
    if args.out:
        stats.dump_stats(args.out)
    result = {
        "exit": code,
        "cpu_s": round(cpu, 3),
        "by_own": top_entries(stats, "tottime", args.top),
        "by_cumulative": top_entries(stats, "cumtime", args.top),
        "own_work_by_cumulative": top_entries(stats, "cumtime", args.top, own_work=True),
    }
    if args.json:
        import json

        print(json.dumps(result, indent=2))
    else:
        print(f"exit {code}, CPU {cpu:.3f}s (profiled: slower than unprofiled)", file=sys.stderr)
        for title, key in (
            ("own", "by_own"),
            ("cumulative", "by_cumulative"),
            ("cumulative (the auditor's own work)", "own_work_by_cumulative"),
        ):
            print(f"\ntop {args.top} by {title} CPU ms:", file=sys.stderr)
            for row in result[key]:  # type: ignore[attr-defined]
                print(
                    f"{row['own_ms']:>9} {row['cumulative_ms']:>9} {row['calls']:>8}  {row['function']}",
                    file=sys.stderr,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
