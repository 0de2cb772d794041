"""The reference run's CUDA path on a real GPU: the probe's own ctypes code, each library in a fresh process.

``python3 cuda_check.py PROBE.py OUT.json`` takes the ``trt_plan`` child out of the assembled
probe (the child program a reference run executes) and, per CUDA library the probe finds
(``cuda_libraries``), opens it with the probe's ``DriverApi``/``RuntimeApi``, reads the
device's name and compute capability, allocates device memory, copies 4 MiB there and
back through a stream, checks a second allocation does not disturb the first, and
asks for an impossible allocation to see the error text. It repeats the driver and
runtime checks after the TensorRT lean runtime has created its own CUDA context in the
same process, compares what CUDA says with NVML, and runs the reference child with the
GPU hidden to classify that failure with the probe's own ``finish_reference``.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

SIZE = 4 << 20


def load_probe(path: str):
    spec = importlib.util.spec_from_file_location("probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reference_namespace(path: str) -> dict:
    code = load_probe(path).child_source("trt_plan")
    namespace = {"__name__": "trt_plan"}
    exec(compile(code, "auditor/probe/remote/children/trt_plan.py", "exec"), namespace)  # noqa: S102 - the probe's own code, under test
    return namespace


def one(probe_path: str, kind: str, library: str, after_trt: bool) -> dict:
    ns = reference_namespace(probe_path)
    result = {"kind": kind, "library": library, "after_trt": after_trt}
    if after_trt:
        import tensorrt_lean as trt

        logger = trt.Logger(trt.Logger.WARNING)
        result["trt_runtime"] = trt.Runtime(logger) is not None
        result["trt_version"] = trt.__version__
    started = time.perf_counter()
    if kind == "auto":
        api = ns["open_cuda"]({"api": "auto", "libcuda": [library] if library else [], "libcudart": []})
    else:
        api = (ns["DriverApi"] if kind == "driver" else ns["RuntimeApi"])(ctypes.CDLL(library))
    result["open_s"] = time.perf_counter() - started
    result["api"] = api.name
    result["device"] = api.describe()
    pattern = bytes(range(256)) * (SIZE // 256)
    started = time.perf_counter()
    pointer = api.alloc(SIZE)
    api.to_device(pointer, pattern)
    stream = api.stream()
    api.synchronize(stream)
    back = api.to_host(pointer, SIZE)
    result["roundtrip_s"] = time.perf_counter() - started
    result["pointer_nonzero"] = pointer != 0
    result["roundtrip_equal"] = back == pattern
    second = api.alloc(1024)
    api.to_device(second, b"\xab" * 1024)
    result["second_distinct"] = second != pointer
    result["second_equal"] = api.to_host(second, 1024) == b"\xab" * 1024 and api.to_host(pointer, SIZE) == pattern
    floats = struct.pack("<4f", 1.5, -2.25, 3.0e-7, 65504.0)
    api.to_device(second, floats)
    result["floats_equal"] = struct.unpack("<4f", api.to_host(second, 16)) == struct.unpack("<4f", floats)
    api.free(second)
    api.free(pointer)
    api.destroy(stream)
    try:
        api.alloc(1 << 50)
        result["huge_alloc"] = "succeeded"
    except ns["CudaError"] as exc:
        result["huge_alloc"] = str(exc)
    try:
        api.to_host(pointer, 16)  # freed: CUDA must refuse, not crash
        result["use_after_free"] = "succeeded"
    except ns["CudaError"] as exc:
        result["use_after_free"] = str(exc)
    return result


def nvml() -> dict:
    try:
        import pynvml as n
    except ImportError:
        return {"error": "no pynvml"}
    n.nvmlInit()
    handle = n.nvmlDeviceGetHandleByIndex(0)
    name = n.nvmlDeviceGetName(handle)
    major, minor = n.nvmlDeviceGetCudaComputeCapability(handle)
    n.nvmlShutdown()
    return {"name": name.decode() if isinstance(name, bytes) else name, "cc": f"{major}.{minor}"}


def forged() -> bytes:
    return b"ftrt" + struct.pack("<I", 0) + bytes(16) + bytes((11, 4, 0, 106)) + bytes(4096)


def hidden_gpu(probe, probe_path: str) -> dict:
    """The reference child with CUDA_VISIBLE_DEVICES=-1, classified by the probe's finish_reference."""
    ctx = probe.ProbeContext(None, {})
    directory = tempfile.mkdtemp()
    plan = os.path.join(directory, "p.plan")
    with open(plan, "wb") as handle:
        handle.write(forged())
    spec = {"module": "tensorrt_lean", "plan": plan, "inputs": [], "outputs": [], "cuda": probe.cuda_libraries(ctx)}
    spec_path = os.path.join(directory, "spec.json")
    with open(spec_path, "w") as handle:
        json.dump(spec, handle)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1")
    started = time.time()
    process = subprocess.Popen(
        ctx.python_argv(probe.child_code("trt_plan"), ["run", spec_path]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    result = probe.finish_reference(ctx, process, started, 60, {"outputs": []})
    return result


def main(probe_path: str, out: str) -> None:
    if len(sys.argv) > 3 and sys.argv[3] == "--one":
        kind, library, after = sys.argv[4], sys.argv[5], sys.argv[6] == "after"
        try:
            print(json.dumps(one(probe_path, kind, library, after)))
        except Exception as exc:  # recorded: a failure is a result here
            print(
                json.dumps(
                    {"kind": kind, "library": library, "after_trt": after, "error": f"{type(exc).__name__}: {exc}"}
                )
            )
        return
    probe = load_probe(probe_path)
    ctx = probe.ProbeContext(None, {})
    libraries = probe.cuda_libraries(ctx)
    report = {"libraries": libraries, "nvml": nvml(), "checks": []}
    jobs = [("driver", lib, "before") for lib in libraries["libcuda"]]
    jobs += [("runtime", lib, "before") for lib in libraries["libcudart"]]
    jobs += [("driver", lib, "after") for lib in libraries["libcuda"][:1]]
    jobs += [("runtime", lib, "after") for lib in libraries["libcudart"][:1]]
    jobs += [("auto", (libraries["libcuda"] or [""])[0], "before")]
    for kind, lib, when in jobs:
        done = subprocess.run(
            [sys.executable, __file__, probe_path, out, "--one", kind, lib, when],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            report["checks"].append(json.loads(done.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            report["checks"].append(
                {
                    "kind": kind,
                    "library": lib,
                    "after_trt": when == "after",
                    "error": f"exit {done.returncode}: {done.stderr[-600:]}",
                }
            )
    report["hidden_gpu"] = hidden_gpu(probe, probe_path)
    report["forged_sha256"] = hashlib.sha256(forged()).hexdigest()
    with open(out, "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)
    for check in report["checks"]:
        print(
            check.get("kind"),
            check.get("library"),
            check.get("after_trt"),
            check.get("api"),
            check.get("device"),
            check.get("roundtrip_equal"),
            check.get("second_equal"),
            check.get("floats_equal"),
            check.get("huge_alloc"),
            check.get("use_after_free"),
            check.get("error"),
        )
    print("nvml", report["nvml"])
    print("hidden gpu", report["hidden_gpu"].get("status"), report["hidden_gpu"].get("message"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
