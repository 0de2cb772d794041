"""Raw evidence: what the real lean runtime logs for each plan, and NVML via ctypes, pynvml and nvidia-smi.

Run on the GPU machine with the TensorRT lean wheels on PYTHONPATH; ``probe.py`` beside
this file (the assembled probe, which record.sh copies there) is imported for its NVML queries.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

CHILD = r"""
import sys, tensorrt_lean as trt
class L(trt.ILogger):
    def __init__(self):
        trt.ILogger.__init__(self)
    def log(self, severity, msg):
        print("LOG %s: %s" % (severity, msg), flush=True)
allowed = sys.argv[2] == "1"
rt = trt.Runtime(L())
rt.engine_host_code_allowed = allowed
data = open(sys.argv[1], "rb").read()
engine = rt.deserialize_cuda_engine(data)
print("RESULT engine is None:", engine is None, flush=True)
if engine is not None:
    print("num_io_tensors", engine.num_io_tensors)
"""
HERE = os.path.dirname(os.path.abspath(__file__))


def load(path: str, allowed: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, path, allowed],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
        env=env,
        check=False,
    )


def probe_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("probe", os.path.join(HERE, "probe.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(folder: str) -> None:
    import tensorrt_lean as trt  # only on the GPU machine, with the lean wheels

    print("### tensorrt_lean", trt.__version__, trt.__file__)
    print("### Runtime attrs", [n for n in dir(trt.Runtime) if not n.startswith("_")])
    print("### Logger.Severity", list(trt.Logger.Severity.__members__))
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        for allowed in ("1", "0") if name == "forged.plan" else ("1",):
            result = load(path, allowed)
            print(f"### {name} engine_host_code_allowed={allowed} rc={result.returncode}")
            print(result.stdout.decode("utf-8", "replace").rstrip()[-6000:])
    probe = probe_module()
    ctx = probe.ProbeContext(None, {})
    a, b, c = probe.query_nvml(ctx), probe.query_pynvml(ctx), probe.query_smi(ctx)
    for title, answer in (("query_nvml (ctypes)", a), ("query_pynvml", b), ("query_smi", c)):
        print(f"### {title}")
        print(json.dumps(answer, indent=1, sort_keys=True))
    for key in ("driver_version", "cuda_version", "nvml_version"):
        print("compare", key, a.get(key), b.get(key), c.get(key))
    for ga, gb, gc in zip(a.get("gpus", []), b.get("gpus", []), c.get("gpus", []), strict=False):
        for key in sorted(set(ga) | set(gb) | set(gc)):
            same = ga.get(key) == gb.get(key) == gc.get(key)
            print("gpu", ga.get("index"), key, "SAME" if same else "DIFF", ga.get(key), gb.get(key), gc.get(key))
    print("### decode_trt_int/ctypes library versions")
    lean = "/tmp/site/tensorrt_lean_libs/libnvinfer_lean.so.11"  # noqa: S108 - the throw-away GPU machine
    print(lean, probe.library_version(ctx, "trt", lean))
    print("### CUDA_VISIBLE_DEVICES=-1 forged.plan (raw)")
    hidden = load(os.path.join(folder, "forged.plan"), "1", dict(os.environ, CUDA_VISIBLE_DEVICES="-1"))
    print(hidden.stdout.decode("utf-8", "replace").rstrip())
    print(f"rc={hidden.returncode}")


if __name__ == "__main__":
    main(sys.argv[1])
