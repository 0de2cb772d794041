"""Stand-in ``trtexec`` for simulated hosts: ``--loadEngine=PLAN --skipInference`` as TensorRT's prints it.

Copied into a fixture root as ``usr/src/tensorrt/bin/trtexec`` (where the ``libnvinfer-bin``
package puts it). The load itself is decided by ``standin_tensorrt.py`` beside the state
in ``usr/share/auditor-sim``, with the host's library version. Output follows
docs/research/tensorrt-compat.md 1.11: ``&&&& RUNNING``/``PASSED``/``FAILED TensorRT.trtexec [TensorRT
v<NV_TENSORRT_VERSION>]`` (a ``[b<build>]`` field from 10.4 on), ``[I]``/``[W]``/``[E]``
log lines, exit 0 on success and 1 on any failure.
"""

import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
spec = importlib.util.spec_from_file_location(
    "standin_tensorrt", os.path.join(ROOT, "usr/share/auditor-sim/standin_tensorrt.py")
)
assert spec is not None and spec.loader is not None
trt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(trt)

VERSION = trt.STATE.get("library") or "0"


def version_int(version):
    release = ([*trt._release(version), 0, 0, 0])[:3]
    if release[0] >= 10:
        return release[0] * 10000 + release[1] * 100 + release[2]
    return release[0] * 1000 + release[1] * 100 + release[2]


def banner(word, argv):
    build = ""
    release = trt._release(VERSION)
    if release[:2] >= (10, 4) and len(release) > 3:
        build = f" [b{release[3]}]"
    return f"&&&& {word} TensorRT.trtexec [TensorRT v{version_int(VERSION)}]{build} # trtexec {' '.join(argv)}"


def line(level, text):
    return time.strftime("[%m/%d/%Y-%H:%M:%S] ") + f"[{level}] {text}"


def main(argv):
    engine = next((a.split("=", 1)[1] for a in argv if a.startswith("--loadEngine=")), None)
    print(banner("RUNNING", argv))
    if engine is None:
        print(line("E", "Model missing or format not supported"))
        print(banner("FAILED", argv))
        return 1
    print(line("I", "=== Model Options ==="))
    print(line("I", "Format: *"))
    print(line("I", f"Model: {engine}"))
    try:
        with open(engine, "rb") as handle:
            data = handle.read()
    except OSError:
        print(line("E", f"Error opening engine file: {engine}"))
        print(banner("FAILED", argv))
        return 1
    print(line("I", f"Loading engine from: {engine}"))
    outcome, messages, _ = trt.decide(data, VERSION)
    for severity, message in messages:
        level = {"ERROR": "E", "WARNING": "W"}.get(severity, "I")
        print(line(level, ("Error[1]: " if level == "E" else "") + message))
    if outcome != "ok":
        print(line("E", "Engine deserialization failed"))
        print(line("E", "Engine set up failed"))
        print(banner("FAILED", argv))
        return 1
    print(line("I", "Engine deserialized in 0.0123 sec."))
    print(line("I", "Skipped inference phase since --skipInference is added."))
    print(banner("PASSED", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
