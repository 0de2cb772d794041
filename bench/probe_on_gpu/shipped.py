"""The probe as hosts receive it (compressed, ``shipped_probe``) against the same program sent as text, on a real GPU node.

``python3 bench/probe_on_gpu/shipped.py OUTDIR [--rounds N]``, run on a lent GPU machine from
a checkout. Both programs run as a host runs them (``python3 -S -c BOOTSTRAP --request=...``
with the program on stdin, ``auditor.probe.program.interpreter_args``), interleaved in a fresh
shuffled order each round; figures are medians of the wall time of the whole command.
Every round's two documents are compared, timings aside (``speed.without_timings``).

Writes ``OUTDIR/shipped.json`` (sizes, medians, every sample, the differences found) and
prints a summary. Changes nothing on the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from speed import differences, machine, without_timings  # noqa: E402 - beside this file

from auditor.probe.program import interpreter_args, probe_source, shipped_probe  # noqa: E402 - the checkout's own
from auditor.probe.request import encode_request  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    programs = {"text": probe_source(), "shipped": shipped_probe()}
    argv = ["python3", *interpreter_args(encode_request())]
    samples: dict[str, list[float]] = {name: [] for name in programs}
    found: list[str] = []
    for index in range(args.rounds):
        order = list(programs)
        random.shuffle(order)
        documents = {}
        for name in order:
            started = time.perf_counter()
            result = subprocess.run(argv, input=programs[name], capture_output=True, timeout=120, check=False)
            samples[name].append(time.perf_counter() - started)
            if result.returncode != 0:
                raise SystemExit(f"{name}: exit {result.returncode}: {result.stderr.decode(errors='replace')[-2000:]}")
            documents[name] = without_timings(json.loads(result.stdout))
        if index == 0:
            (args.out / "facts-shipped.json").write_text(json.dumps(documents["shipped"], indent=2) + "\n")
        found += [f"round {index}: {d}" for d in differences(documents["text"], documents["shipped"])]
    medians = {name: statistics.median(values) for name, values in samples.items()}
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "command": "python3 -S -c BOOTSTRAP --request=... < program",
        "rounds": args.rounds,
        "bytes": {name: len(program) for name, program in programs.items()},
        "median_s": medians,
        "shipped_vs_text": medians["shipped"] / medians["text"],
        "samples_s": samples,
        "facts_identical": not found,
        "differences": found[:50],
    }
    (args.out / "shipped.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"bytes: text {len(programs['text'])}, shipped {len(programs['shipped'])}; "
        f"median s: text {medians['text']:.4f}, shipped {medians['shipped']:.4f} "
        f"({result['shipped_vs_text']:.3f}x); facts identical in {args.rounds} rounds: {not found}"
    )
    for line in found[:10]:
        print("DIFF", line)


if __name__ == "__main__":
    main()
