"""The probe's reference run and the build mode on a real GPU, with the TensorRT lean runtime.

Programs run as hosts run them, ``python3 -c BOOTSTRAP`` reading stdin whole; the
timings also take ``python3 -`` (Python's own stdin reading) for comparison.

``python3 make_reference.py PROBE.py BUILDER.py OUTDIR`` sends the probe requests with
reference engines whose plans it makes up (no real plan can be built without the full
TensorRT), exactly as the controller would: the candidates in ``--request``, the
plans in a first ``AUDITOR_PAYLOAD`` line of the program. What a real runtime must
say about each: a forged 11.4 header (corrupt: platform tag), no ``ftrt`` tag
(corrupt), a header alone (corrupt), a plan only the full runtime may load (no-plan:
only the lean module is here), one that needs a newer runtime (no-plan), bytes that
do not match their sha256 (corrupt, damaged in transit). Then the same without
TensorRT on the path (no-runtime), the build program (no builder here), timings,
and whether any private directory was left behind.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import time


def header(version: tuple[int, int, int, int]) -> bytes:
    return b"ftrt" + struct.pack("<I", 0) + bytes(16) + bytes(version)


def plans() -> dict[str, bytes]:
    rng = random.Random(20261121)  # noqa: S311 - filler bytes, not secrets
    body = bytes(rng.getrandbits(8) for _ in range(16 * 1024))
    return {"forged": header((11, 4, 0, 106)) + body, "nomagic": body, "truncated": header((11, 4, 0, 106))}


VC = {
    "modules": ["tensorrt", "tensorrt_lean", "tensorrt_dispatch"],
    "version": {"min": "11.4.0.106", "majors": [11]},
    "cc": {"min": "8.0"},
}


def candidate(name: str, data: bytes, offset: int, accepts: dict, sha: str | None = None) -> dict:
    return {
        "id": f"11.4.0.106/sm90/{name}",
        "sha256": sha or hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "offset": offset,
        "rule": "made-up",
        "accepts": accepts,
        "inputs": [
            {"name": "input", "shape": [1, 3, 8, 8], "dtype": "FLOAT", "data": base64.b64encode(bytes(768)).decode()}
        ],
        "outputs": [
            {
                "name": "output",
                "shape": [1, 10],
                "dtype": "FLOAT",
                "expected": {"values": [0.0] * 10, "sha256": hashlib.sha256(bytes(40)).hexdigest()},
            }
        ],
        "tolerance": {"atol": 1e-4, "rtol": 1e-3},
    }


def request_and_payload() -> tuple[str, bytes]:
    made = plans()
    payload = b""
    offsets = {}
    for name, data in made.items():
        offsets[name] = len(payload)
        payload += data
    exact = {"modules": ["tensorrt"], "version": {"exact": "11.4.0.106"}, "cc": {"exact": "9.0"}}
    newer = dict(VC, version={"min": "11.5.0.0", "majors": [11]})
    references = [
        {"name": "forged", "candidates": [candidate("forged", made["forged"], offsets["forged"], VC)]},
        {"name": "nomagic", "candidates": [candidate("nomagic", made["nomagic"], offsets["nomagic"], VC)]},
        {"name": "truncated", "candidates": [candidate("truncated", made["truncated"], offsets["truncated"], VC)]},
        {"name": "exact", "candidates": [candidate("exact", made["forged"], offsets["forged"], exact)]},
        {"name": "newer", "candidates": [candidate("newer", made["forged"], offsets["forged"], newer)]},
        {"name": "damaged", "candidates": [candidate("damaged", made["forged"], offsets["forged"], VC, sha="0" * 64)]},
    ]
    request = base64.b64encode(json.dumps({"engines": [], "reference": references}).encode()).decode()
    return request, payload


def program(probe: bytes, name: str, data: bytes) -> bytes:
    return f'{name} = "'.encode() + base64.b64encode(data) + b'"\n' + probe


BOOTSTRAP = 'import sys;exec(compile(sys.stdin.buffer.read(),"<auditor-probe>","exec"))'  # auditor.probe.BOOTSTRAP


def run(source: bytes, request: str, lean: bool, stdin_script: bool = False) -> tuple[float, dict, str]:
    """The program as hosts run it (python3 -c BOOTSTRAP), or with ``stdin_script`` as python3 - ."""
    env = dict(os.environ)
    if not lean:
        env.pop("PYTHONPATH", None)
    started = time.perf_counter()
    head = ["python3", "-"] if stdin_script else ["python3", "-c", BOOTSTRAP]
    done = subprocess.run([*head, "--request=" + request], input=source, capture_output=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(done.stdout), done.stderr.decode("utf-8", "replace")


def leftovers() -> list[str]:
    return sorted(glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), "auditor-reference-*")))


def main(probe_path: str, builder_path: str, out: str) -> None:
    probe = open(probe_path, "rb").read()
    builder = open(builder_path, "rb").read()
    request, payload = request_and_payload()
    with_payload = program(probe, "AUDITOR_PAYLOAD", payload)
    log = []
    before = leftovers()
    seconds, lean_doc, err = run(with_payload, request, lean=True)
    json.dump(lean_doc, open(os.path.join(out, "reference-lean.json"), "w"), indent=1, sort_keys=True)
    log.append(f"### probe with reference engines, lean runtime: {seconds:.3f}s; stderr: {err.strip()[-800:]}")
    for item in lean_doc["reference"]["items"]:
        for one in item["runs"]:
            log.append(
                f"{item['name']}: {one['status']} runtime={one.get('runtime')} {one.get('runtime_version')} "
                f"cleanup={one.get('cleanup')} message={one.get('message')}"
            )
    seconds, plain_doc, err = run(with_payload, request, lean=False)
    json.dump(plain_doc, open(os.path.join(out, "reference-plain.json"), "w"), indent=1, sort_keys=True)
    log.append(f"### the same without TensorRT on the path: {seconds:.3f}s")
    for item in plain_doc["reference"]["items"]:
        for one in item["runs"]:
            log.append(f"{item['name']}: {one['status']} message={one.get('message')}")
    build_request = base64.b64encode(json.dumps({"build": {"name": "ref-fp32", "precision": "fp32"}}).encode()).decode()
    seconds, build_doc, err = run(program(probe, "AUDITOR_BUILDER", builder), build_request, lean=True)
    json.dump(build_doc, open(os.path.join(out, "build-lean.json"), "w"), indent=1, sort_keys=True)
    log.append(
        f"### build program, lean runtime only: {seconds:.3f}s status={build_doc.get('status')} "
        f"error={build_doc.get('error')}"
    )
    after = leftovers()
    log.append(f"### private directories before {before} after {after}")
    timings = {"with_reference": [], "without": [], "without_stdin_script": []}
    plain_request = base64.b64encode(json.dumps({"engines": []}).encode()).decode()
    for _ in range(5):
        timings["with_reference"].append(run(with_payload, request, lean=True)[0])
        timings["without"].append(run(probe, plain_request, lean=True)[0])
        timings["without_stdin_script"].append(run(probe, plain_request, lean=True, stdin_script=True)[0])
    padded = program(probe, "AUDITOR_PAYLOAD", payload + bytes(16 * 1024 * 1024 - len(payload)))
    timings["payload_16mib"] = [run(padded, request, lean=True)[0]]
    timings["payload_16mib_stdin_script"] = [run(padded, request, lean=True, stdin_script=True)[0]]
    summary = {k: statistics.median(v) for k, v in timings.items()}
    json.dump(
        {
            "samples": timings,
            "median_s": summary,
            "payload_bytes": len(payload),
            "reference_elapsed_s": lean_doc["reference"].get("elapsed_s"),
            "leftovers_after": leftovers(),
        },
        open(os.path.join(out, "timings.json"), "w"),
        indent=1,
        sort_keys=True,
    )
    log.append(f"### timings (median of 5): {summary}")
    open(os.path.join(out, "run.txt"), "w").write("\n".join(log) + "\n")
    print("\n".join(log))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
