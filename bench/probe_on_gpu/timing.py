"""Wall time of the probe (python start-up included) against the classic bash health check, in one run.

Interleaved samples, medians and ratios; run on the GPU machine (``record.sh``).
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import subprocess
import sys
import time

BASH = "nvidia-smi --query-gpu=driver_version --format=csv,noheader; nvcc --version; python3 -c 'import tensorrt'"
SECTIONS = ("host", "driver", "gpus", "cuda", "cudnn", "tensorrt", "containers", "engines")


def request(engines: list[str]) -> str:
    return "--request=" + base64.b64encode(json.dumps({"engines": engines}).encode()).decode()


def env_with(lean: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not lean:
        env.pop("PYTHONPATH", None)
    return env


def probe_run(probe: bytes, engines: list[str], lean: bool) -> tuple[float, dict]:
    started = time.perf_counter()
    # the host's python3 from PATH, as the controller's remote command runs it
    argv = ["python3", "-", request(engines)]
    result = subprocess.run(argv, input=probe, capture_output=True, env=env_with(lean), check=False)
    elapsed = time.perf_counter() - started
    doc = json.loads(result.stdout)
    assert doc.get("schema") == "auditor.facts/1", result.stdout[:200]
    return elapsed, doc


def bash_run() -> float:
    started = time.perf_counter()
    subprocess.run(["bash", "-c", BASH], capture_output=True, env=env_with(False), check=False)  # noqa: S607
    return time.perf_counter() - started


def main(probe_path: str, engine: str) -> None:
    with open(probe_path, "rb") as handle:
        probe = handle.read()
    samples: dict[str, list[float]] = {"probe_lean": [], "probe_plain": [], "baseline": [], "probe_engine": []}
    first = {"probe_lean": probe_run(probe, [], True)[0], "baseline": bash_run()}
    for _ in range(2):  # warm-up
        probe_run(probe, [], True)
        bash_run()
    last: dict = {}
    for _ in range(25):  # interleaved, so drift hits all alike
        elapsed, last = probe_run(probe, [], True)
        samples["probe_lean"].append(elapsed)
        samples["baseline"].append(bash_run())
        samples["probe_plain"].append(probe_run(probe, [], False)[0])
    engine_doc: dict = {}
    for _ in range(5):
        elapsed, engine_doc = probe_run(probe, [engine], True)
        samples["probe_engine"].append(elapsed)
    base = statistics.median(samples["baseline"])
    summary = {
        key: {
            "median_s": round(statistics.median(values), 4),
            "min_s": round(min(values), 4),
            "max_s": round(max(values), 4),
            "n": len(values),
        }
        for key, values in samples.items()
    }
    result = {
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "baseline_command": BASH,
        "summary": summary,
        "ratio_probe_lean_to_baseline": round(statistics.median(samples["probe_lean"]) / base, 2),
        "ratio_probe_plain_to_baseline": round(statistics.median(samples["probe_plain"]) / base, 2),
        "ratio_probe_engine_to_baseline": round(statistics.median(samples["probe_engine"]) / base, 2),
        "first_runs_s": {key: round(value, 4) for key, value in first.items()},
        "collector_elapsed_s_last_lean_run": {key: last[key].get("elapsed_s") for key in SECTIONS},
        "engine_load_last": engine_doc["engines"]["items"][0]["load"],
        "samples_s": {key: [round(x, 4) for x in values] for key, values in samples.items()},
    }
    print(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
