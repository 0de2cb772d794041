"""A TensorRT plan in a child interpreter: load it, or load it and run it once.

The probe runs this with a timeout, so a TensorRT that crashes or hangs costs only the child:

* ``python3 -c <this> load MODULE PATH OFFSET`` deserializes the plan at PATH (from byte
  OFFSET: past a wrapper's prefix) with the TensorRT Python module MODULE (``tensorrt``,
  ``tensorrt_lean``, ``tensorrt_dispatch``): an engine test-load;
* ``python3 -c <this> run SPEC`` loads the plan SPEC (a JSON file) names and runs it once on
  its recorded inputs: a reference engine run, and the first run of a freshly built plan.

Events go to stdout, one JSON object a line, flushed at once: ``runtime`` (the module's
version), ``log`` (TensorRT's warnings and errors), ``loaded`` (``run`` only) and a final
``result`` (its ``status`` says how it ended).

Device memory for a run comes from the CUDA driver library (libcuda.so.1, which every host
with a driver has) through ctypes, else from a CUDA runtime library (libcudart); no numpy,
no pycuda, no cuda-python. The driver API works in the primary context, the one TensorRT's
own CUDA runtime uses, so both see the same allocations.

Standard library only (plus the host's TensorRT), Python 3.6; shipped inside the probe.
"""

import base64
import ctypes
import json
import sys
import time

ITEMSIZE = {"FLOAT": 4, "HALF": 2, "BF16": 2, "INT8": 1, "UINT8": 1, "INT32": 4, "INT64": 8, "BOOL": 1, "FP8": 1}


def emit(kind, **fields):
    fields["kind"] = kind
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()  # a crash in TensorRT or CUDA must not lose what came before it


class CudaError(Exception):
    pass


class DriverApi:
    # The CUDA driver API (cuda.h): cuInit, the primary context, cuMemAlloc/cuMemcpy/cuStream*.
    name = "driver"

    def __init__(self, lib):
        self.lib = lib
        self.call("cuInit", ctypes.c_uint(0))
        self.device = ctypes.c_int()
        self.call("cuDeviceGet", ctypes.byref(self.device), ctypes.c_int(0))
        context = ctypes.c_void_p()
        self.call("cuDevicePrimaryCtxRetain", ctypes.byref(context), self.device)
        self.call("cuCtxSetCurrent", context)

    def function(self, name):
        for symbol in (name + "_v2", name):  # cuMemAlloc_v2 & co. are the 64-bit entry points
            found = getattr(self.lib, symbol, None)
            if found is not None:
                return found
        raise CudaError("%s is not in the CUDA driver library" % name)

    def error_name(self, code):
        text = ctypes.c_char_p()
        try:
            if self.lib.cuGetErrorName(ctypes.c_int(code), ctypes.byref(text)) == 0 and text.value:
                return "%s (%d)" % (text.value.decode("ascii", "replace"), code)
        except (AttributeError, TypeError):
            pass
        return "CUresult %d" % code

    def call(self, name, *args):
        code = self.function(name)(*args)
        if code != 0:
            raise CudaError("%s failed: %s" % (name, self.error_name(code)))

    def describe(self):
        major, minor, text = ctypes.c_int(), ctypes.c_int(), ctypes.create_string_buffer(256)
        self.call("cuDeviceGetAttribute", ctypes.byref(major), ctypes.c_int(75), self.device)
        self.call("cuDeviceGetAttribute", ctypes.byref(minor), ctypes.c_int(76), self.device)
        self.call("cuDeviceGetName", text, ctypes.c_int(256), self.device)
        return {"name": text.value.decode("utf-8", "replace"), "cc": "%d.%d" % (major.value, minor.value)}

    def alloc(self, size):
        pointer = ctypes.c_uint64()
        self.call("cuMemAlloc", ctypes.byref(pointer), ctypes.c_size_t(size))
        return pointer.value

    def free(self, pointer):
        self.call("cuMemFree", ctypes.c_uint64(pointer))

    def to_device(self, pointer, data):
        source = ctypes.create_string_buffer(data, len(data))
        self.call("cuMemcpyHtoD", ctypes.c_uint64(pointer), source, ctypes.c_size_t(len(data)))

    def to_host(self, pointer, size):
        target = ctypes.create_string_buffer(size)
        self.call("cuMemcpyDtoH", target, ctypes.c_uint64(pointer), ctypes.c_size_t(size))
        return target.raw[:size]

    def stream(self):
        handle = ctypes.c_void_p()
        self.call("cuStreamCreate", ctypes.byref(handle), ctypes.c_uint(0))
        return handle.value or 0

    def synchronize(self, stream):
        self.call("cuStreamSynchronize", ctypes.c_void_p(stream))

    def destroy(self, stream):
        self.call("cuStreamDestroy", ctypes.c_void_p(stream))


class RuntimeApi(DriverApi):
    # The CUDA runtime API (cuda_runtime_api.h), for hosts whose driver library will not do.
    name = "runtime"

    def __init__(self, lib):
        self.lib = lib
        self.call("cudaFree", ctypes.c_void_p(0))  # the documented way to initialize the runtime

    def function(self, name):
        found = getattr(self.lib, name, None)
        if found is None:
            raise CudaError("%s is not in the CUDA runtime library" % name)
        return found

    def error_name(self, code):
        try:
            self.lib.cudaGetErrorName.restype = ctypes.c_char_p
            return "%s (%d)" % (self.lib.cudaGetErrorName(ctypes.c_int(code)).decode("ascii", "replace"), code)
        except (AttributeError, TypeError):
            return "cudaError %d" % code

    def describe(self):
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.call("cudaDeviceGetAttribute", ctypes.byref(major), ctypes.c_int(75), ctypes.c_int(0))
        self.call("cudaDeviceGetAttribute", ctypes.byref(minor), ctypes.c_int(76), ctypes.c_int(0))
        # cudaDeviceProp starts with char name[256] in every CUDA release; the buffer outsizes the struct
        properties = ctypes.create_string_buffer(16384)
        getter = getattr(self.lib, "cudaGetDeviceProperties_v2", None) or self.lib.cudaGetDeviceProperties
        name = properties.raw[:256].split(b"\0")[0] if getter(properties, ctypes.c_int(0)) == 0 else b""
        return {"name": name.decode("utf-8", "replace") or None, "cc": "%d.%d" % (major.value, minor.value)}

    def alloc(self, size):
        pointer = ctypes.c_void_p()
        self.call("cudaMalloc", ctypes.byref(pointer), ctypes.c_size_t(size))
        return pointer.value

    def free(self, pointer):
        self.call("cudaFree", ctypes.c_void_p(pointer))

    def to_device(self, pointer, data):
        source = ctypes.create_string_buffer(data, len(data))
        self.call("cudaMemcpy", ctypes.c_void_p(pointer), source, ctypes.c_size_t(len(data)), ctypes.c_int(1))

    def to_host(self, pointer, size):
        target = ctypes.create_string_buffer(size)
        self.call("cudaMemcpy", target, ctypes.c_void_p(pointer), ctypes.c_size_t(size), ctypes.c_int(2))
        return target.raw[:size]

    def stream(self):
        handle = ctypes.c_void_p()
        self.call("cudaStreamCreate", ctypes.byref(handle))
        return handle.value or 0

    def synchronize(self, stream):
        self.call("cudaStreamSynchronize", ctypes.c_void_p(stream))

    def destroy(self, stream):
        self.call("cudaStreamDestroy", ctypes.c_void_p(stream))


def open_cuda(config, trt=None):
    # The simulated fleet's stand-in TensorRT brings a Python stand-in for libcuda (no GPU there)
    simulated = getattr(trt, "AUDITOR_SIMULATED_LIBCUDA", None)
    if simulated is not None:
        api = DriverApi(simulated)
        api.name = "driver (simulated)"
        return api
    wanted = config.get("api") or "auto"
    problems = []
    if wanted in ("auto", "driver"):
        for path in config.get("libcuda") or ["libcuda.so.1"]:
            try:
                return DriverApi(ctypes.CDLL(path))
            except (OSError, CudaError, AttributeError) as exc:
                problems.append("%s: %s" % (path, exc))
    if wanted in ("auto", "runtime"):
        for path in config.get("libcudart") or []:
            try:
                return RuntimeApi(ctypes.CDLL(path))
            except (OSError, CudaError, AttributeError) as exc:
                problems.append("%s: %s" % (path, exc))
    raise CudaError("no usable CUDA library (%s)" % ("; ".join(problems) or "none found"))


def tensors(engine):
    # The name API (8.5 and later, docs/research/tensorrt-compat.md 1.12): the only one in 10 and 11
    found = []
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        found.append(
            {
                "name": name,
                "mode": str(engine.get_tensor_mode(name)).split(".")[-1],
                "shape": [int(d) for d in engine.get_tensor_shape(name)],
                "dtype": str(engine.get_tensor_dtype(name)).split(".")[-1],
            }
        )
    return found


def infer(trt, engine, spec, errors):
    if not hasattr(engine, "num_io_tensors"):
        raise CudaError("this TensorRT has no name-based tensor API (8.5 or newer is needed to run a plan)")
    found = tensors(engine)
    wanted = [dict(t, mode="INPUT") for t in spec["inputs"]] + [dict(t, mode="OUTPUT") for t in spec["outputs"]]

    def strip(t):
        return (t["name"], t["mode"], list(t["shape"]), t["dtype"])

    if sorted(strip(t) for t in found) != sorted(strip(t) for t in wanted):
        raise CudaError(
            "the engine's tensors %s are not the reference's %s"
            % ([strip(t) for t in found], [strip(t) for t in wanted])
        )
    cuda = open_cuda(spec.get("cuda") or {}, trt)
    device = cuda.describe()
    context = engine.create_execution_context()
    if context is None:
        raise CudaError("create_execution_context returned None: %s" % (errors[-1] if errors else "no reason logged"))
    buffers, stream = {}, None
    try:
        for tensor in found:
            count = 1
            for dim in tensor["shape"]:
                count *= dim
            size = count * ITEMSIZE.get(tensor["dtype"], 4)
            buffers[tensor["name"]] = (cuda.alloc(max(size, 1)), size)
        for tensor in spec["inputs"]:
            data = base64.b64decode(tensor["data"])
            pointer, size = buffers[tensor["name"]]
            if len(data) != size:
                raise CudaError("input %s has %d bytes, the engine wants %d" % (tensor["name"], len(data), size))
            cuda.to_device(pointer, data)
        for tensor in found:
            if context.set_tensor_address(tensor["name"], buffers[tensor["name"]][0]) is False:
                raise CudaError("set_tensor_address(%s) failed" % tensor["name"])
        stream = cuda.stream()
        started = time.time()
        done = context.execute_async_v3(stream)
        cuda.synchronize(stream)
        seconds = time.time() - started
        if not done:
            raise CudaError("execute_async_v3 failed: %s" % (errors[-1] if errors else "no reason logged"))
        outputs = dict(
            (t["name"], base64.b64encode(cuda.to_host(*buffers[t["name"]])).decode("ascii")) for t in spec["outputs"]
        )
    finally:
        for pointer, _ in buffers.values():
            cuda.free(pointer)
        if stream is not None:
            cuda.destroy(stream)
    return {"run_s": seconds, "outputs": outputs, "cuda_api": cuda.name, "device": device}


def open_runtime(name):
    """Import the TensorRT module ``name`` and create a runtime whose logger emits TensorRT's warnings and errors.

    Returns ``(trt, runtime, errors)``, ``errors`` collecting what TensorRT logs as an error
    from then on; or None after emitting the ``result`` that says why there is no runtime.
    """
    try:
        trt = __import__(name)
    except BaseException as exc:  # whatever the import raised (even SystemExit) is the result
        emit("result", status="import-failed", error="%s: %s" % (type(exc).__name__, str(exc)[:300]))
        return None
    emit("runtime", version=str(getattr(trt, "__version__", "") or ""))
    errors = []

    def record(severity, msg):
        level = str(severity).split(".")[-1]
        if level in ("INTERNAL_ERROR", "ERROR"):
            errors.append(str(msg))
        if level in ("INTERNAL_ERROR", "ERROR", "WARNING"):
            emit("log", severity=level, message=str(msg)[:2000])

    try:

        class Logger(trt.ILogger):  # type: ignore[name-defined]  # the host's TensorRT, found at run time
            def __init__(self):
                trt.ILogger.__init__(self)

            def log(self, severity, msg):
                record(severity, msg)

        logger = Logger()
    except Exception:  # bindings without a subclassable ILogger: TensorRT's own logger prints to stderr
        logger = trt.Logger(trt.Logger.WARNING)
    if hasattr(trt, "init_libnvinfer_plugins"):
        try:
            trt.init_libnvinfer_plugins(logger, "")
        except Exception as exc:
            emit("log", severity="WARNING", message="init_libnvinfer_plugins: %s" % exc)
    try:
        runtime = trt.Runtime(logger)
    except Exception as exc:
        emit("result", status="runtime-failed", error="%s: %s" % (type(exc).__name__, str(exc)[:300]))
        return None
    if errors:  # CUDA did not initialize: deserializing now crashes (seen with the 11.4 lean runtime)
        emit("result", status="runtime-failed", error=errors[0][:300])
        return None
    if hasattr(runtime, "engine_host_code_allowed"):  # 8.6+: version-compatible plans embed their runtime
        runtime.engine_host_code_allowed = True
    return trt, runtime, errors


def load(name, path, offset):
    """Deserialize the plan at ``path`` from byte ``offset``: ``result`` ok (with its I/O tensor count) or failed."""
    started = time.time()
    opened = open_runtime(name)
    if opened is None:
        return
    _, runtime, _ = opened
    with open(path, "rb") as handle:
        handle.seek(offset)  # past a wrapper's prefix (Ultralytics puts JSON metadata before the plan)
        data = handle.read()
    engine = runtime.deserialize_cuda_engine(
        data
    )  # None on failure, no exception (docs/research/tensorrt-compat.md 1.7 E15)
    if engine is None:
        emit("result", status="failed", seconds=time.time() - started)
    else:
        # the name API from 8.5 on, the binding API before (docs/research/tensorrt-compat.md 1.12, rule 8)
        count = engine.num_io_tensors if hasattr(engine, "num_io_tensors") else engine.num_bindings
        emit("result", status="ok", io_tensors=int(count), seconds=time.time() - started)


def run(spec_path):
    """Load the plan ``spec_path`` names and run it once on its inputs: ``loaded``, then ``result`` with the outputs."""
    with open(spec_path) as handle:
        spec = json.load(handle)
    opened = open_runtime(spec["module"])
    if opened is None:
        return
    trt, runtime, errors = opened
    with open(spec["plan"], "rb") as handle:
        data = handle.read()
    started = time.time()
    engine = runtime.deserialize_cuda_engine(data)
    load_s = time.time() - started
    if engine is None:
        emit("result", status="failed", load_s=load_s)
        return
    emit("loaded", load_s=load_s)
    try:
        result = infer(trt, engine, spec, errors)
    except Exception as exc:
        emit("result", status="run-failed", load_s=load_s, error="%s: %s" % (type(exc).__name__, str(exc)[:600]))
        return
    result.update(status="ok", load_s=load_s)
    emit("result", **result)


def main(argv):
    if argv[0] == "load":
        load(argv[1], argv[2], int(argv[3]))
    elif argv[0] == "run":
        run(argv[1])
    else:
        raise SystemExit("usage: load MODULE PATH OFFSET | run SPEC")


if __name__ == "__main__":
    main(sys.argv[1:])
