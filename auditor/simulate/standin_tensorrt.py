"""Stand-in TensorRT for simulated hosts: the Python API a test-load uses, and TensorRT's own messages.

Copied into a fixture root twice: as ``<site-packages>/tensorrt/__init__.py`` (the module
the probe's loader imports) and as ``usr/share/auditor-sim/standin_tensorrt.py`` (the
engine logic the stand-in ``trtexec`` shares). Both read
``usr/share/auditor-sim/tensorrt.json``: the module's and the library's versions, the
driver state, the GPUs (uuid, compute capability) and, per engine (by sha256), the
compute capability it was built for and a forced outcome (``missing-plugin``, ``crash``,
``hang``).

A load decides like TensorRT does, from the plan and the host: no ``ftrt`` tag or a
truncated plan, another TensorRT version in the header (research tensorrt-compat 1.8),
another compute capability, a plugin that is not registered. The messages are the ones
research tensorrt-compat 1.7 lists (E1, E2, E5, E7, E14), or the ones the real 11.4 lean
runtime logged on an H200 (tests/fixtures/real/raw.txt). It runs under the host's
Python, so it keeps to Python 3.6.
"""

import hashlib
import json
import os
import signal
import struct
import sys
import time


def _find_state():
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(here, "usr", "share", "auditor-sim", "tensorrt.json")
        if os.path.exists(candidate):
            with open(candidate) as handle:
                return json.load(handle)
        parent = os.path.dirname(here)
        if parent == here:
            return {}
        here = parent


STATE = _find_state()
__version__ = STATE.get("python") or STATE.get("library") or "0"


def _release(version):
    return tuple(int(p) for p in (version or "0").split(".") if p.isdigit())


class _Severity:
    def __init__(self, name, value):
        self.name, self.value = name, value

    def __str__(self):
        return "Severity." + self.name

    def __repr__(self):
        return f"<Severity.{self.name}: {self.value}>"


class _Severities:
    INTERNAL_ERROR = _Severity("INTERNAL_ERROR", 0)
    ERROR = _Severity("ERROR", 1)
    WARNING = _Severity("WARNING", 2)
    INFO = _Severity("INFO", 3)
    VERBOSE = _Severity("VERBOSE", 4)


class ILogger:
    """``trt.ILogger``: subclass it and override ``log(severity, msg)``."""

    Severity = _Severities
    INTERNAL_ERROR, ERROR, WARNING = _Severities.INTERNAL_ERROR, _Severities.ERROR, _Severities.WARNING
    INFO, VERBOSE = _Severities.INFO, _Severities.VERBOSE

    def __init__(self):
        pass

    def log(self, severity, msg):
        pass


class Logger(ILogger):
    """``trt.Logger``: prints what is at least as severe as ``min_severity`` to stderr."""

    def __init__(self, min_severity=_Severities.WARNING):
        ILogger.__init__(self)
        self.min_severity = min_severity

    def log(self, severity, msg):
        if severity.value <= self.min_severity.value:
            sys.stderr.write(f"[TRT] [{severity.name[0]}] {msg}\n")


def init_libnvinfer_plugins(logger, namespace):
    return True


# What the 11.4 lean runtime logged on an H200 (tests/fixtures/real/raw.txt).
CUDA_FAILURE = (
    "createInferRuntime: Error Code 6: API Usage Error (CUDA initialization failure with error: 35 "
    "In checkCudaInstallation at /_src/runtime/dispatch/runtime.cpp:960)",
    "[checkMacros.cpp::catchCudaError::250] Error Code 1: Cuda Runtime (In catchCudaError at "
    "/_src/common/dispatch/checkMacros.cpp:250 (cudaError 35: CUDA driver version is insufficient for CUDA "
    "runtime version))",
)
# ... and with the GPU hidden (CUDA_VISIBLE_DEVICES=-1) on the same machine.
NO_DEVICE = (
    "createInferRuntime: Error Code 6: API Usage Error (CUDA initialization failure with error: 100 "
    "In checkCudaInstallation at /_src/runtime/dispatch/runtime.cpp:960)",
    "[checkMacros.cpp::catchCudaError::250] Error Code 1: Cuda Runtime (In catchCudaError at "
    "/_src/common/dispatch/checkMacros.cpp:250 (cudaError 100: no CUDA-capable device is detected))",
)
TRUNCATED = (
    "[runtime.cpp::readHeader::765] Error Code 2: Internal Error (Assertion bufferSize >= minBufferSize "
    "failed.  In readHeader at /_src/runtime/dispatch/runtime.cpp:765)"
)


def magic_message(runtime, data):
    if _release(runtime) >= (11,):
        found = struct.unpack("<I", (data + bytes(4))[:4])[0]
        return (
            "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (Serialization assertion header.magicTag "
            f"== kEXPECTED_MAGIC_TAG failed.Trying to load an engine created with incompatible serialization version "
            f"({found} != 1953657958). Check that the engine was not created using safety runtime, same OS was used "
            "and version compatibility parameters were set accordingly and that it is a TRT engine file. In "
            "throwUnlessHeaderOk at /_src/runtime/dispatch/runtime.cpp:48)"
        )
    return (
        "1: [stdArchiveReader.cpp::StdArchiveReader::30] Error Code 1: Serialization (Serialization assertion "
        "magicTagRead == kMAGIC_TAG failed.Magic tag does not match)"
    )


def version_messages(runtime, plan):
    if _release(runtime) < (10,):  # E1
        return [
            f"6: The engine plan file is not compatible with this version of TensorRT, expecting library version "
            f"{runtime} got {plan}, please rebuild.",
            "4: [runtime.cpp::deserializeCudaEngine::50] Error Code 4: Internal Error (Engine deserialization failed.)",
        ]
    current, serialized = _serialization_tag(runtime), _serialization_tag(plan)
    return [  # E2, TensorRT 10 wording
        "IRuntime::deserializeCudaEngine: Error Code 1: Serialization (Serialization assertion stdVersionRead == "
        f"kSERIALIZATION_VERSION failed.Version tag does not match. Note: Current Version: {current}, Serialized "
        f"Engine Version: {serialized})"
    ]


def _serialization_tag(version):
    # a stand-in number: NVIDIA publishes no mapping from releases to tags (research 1.7)
    release = (*_release(version), 0, 0, 0)[:3]
    return 200 + release[0] * 3 + release[1] + release[2]


def device_messages(runtime, gpu_cc, plan_cc):
    messages = [  # E5
        f"1: The engine plan file is generated on an incompatible device, expecting compute {gpu_cc} got compute "
        f"{plan_cc}, please rebuild."
    ]
    if _release(runtime) >= (10,):
        messages.append(
            "[engine.cpp::deserializeEngine::1312] Error Code 2: Internal Error (Assertion engine->deserialize(start, "
            "size, allocator, runtime) failed. )"
        )
    return messages


PLUGIN = (
    "getPluginCreator could not find plugin: CustomNMS_TRT version: 1",
    "1: [pluginV2Runner.cpp::load::308] Error Code 1: Serialization (Serialization assertion creator failed.Cannot "
    "deserialize plugin since corresponding IPluginCreator not found in Plugin Registry)",
)


def current_gpu():
    """The GPU a CUDA program would use: CUDA_VISIBLE_DEVICES's first uuid or index, else GPU 0."""
    gpus = STATE.get("gpus") or []
    wanted = (os.environ.get("CUDA_VISIBLE_DEVICES") or "").split(",")[0].strip()
    for gpu in gpus:
        if wanted and wanted in (gpu.get("uuid"), str(gpu.get("index"))):
            return gpu
    return gpus[0] if gpus and not wanted else None


def cuda_failure():
    """What creating a runtime logs when CUDA cannot start here, or None."""
    if STATE.get("driver_state", "ok") != "ok":
        return CUDA_FAILURE
    if current_gpu() is None:
        return NO_DEVICE
    return None


def decide(data, runtime):
    """(outcome, [(severity, message)]) for a plan loaded by TensorRT ``runtime`` on this host."""
    failure = cuda_failure()
    if failure:
        return "cuda-init-failure", [("ERROR", m) for m in failure]
    if not data:
        return "corrupt", [
            (
                "ERROR",
                "IRuntime::deserializeCudaEngine: Error Code 3: API Usage Error (Cannot "
                "deserialize with an empty memory buffer. In deserializeCudaEngineEx at "
                "/_src/runtime/dispatch/runtime.cpp:278)",
            )
        ]
    if data[:4] != b"ftrt":
        return "corrupt", [("ERROR", magic_message(runtime, data))]
    if len(data) <= 28:
        return "corrupt", [("ERROR", TRUNCATED)]
    spec = (STATE.get("engines") or {}).get(hashlib.sha256(data).hexdigest()) or {}
    outcome = spec.get("outcome")
    if outcome == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if outcome == "hang":
        time.sleep(3600)
    if struct.unpack("<I", data[4:8])[0] == 0:
        plan = ".".join(str(part) for part in struct.unpack("4B", data[24:28]))
        if _release(plan) != _release(runtime)[:4]:
            return "version-mismatch", [("ERROR", m) for m in version_messages(runtime, plan)]
    gpu = current_gpu()
    if spec.get("cc") and gpu.get("cc") and spec["cc"] != gpu["cc"]:
        return "device-mismatch", [("ERROR", m) for m in device_messages(runtime, gpu["cc"], spec["cc"])]
    if outcome == "missing-plugin":
        return "missing-plugin", [("ERROR", m) for m in PLUGIN]
    return "ok", [("INFO", f"Loaded engine size: {max(1, len(data) // (1024 * 1024))} MiB")]


class ICudaEngine:
    def __init__(self, runtime_version):
        if _release(runtime_version) >= (8, 5):  # the name API (research 1.12)
            self.num_io_tensors = 2
        if _release(runtime_version) < (10,):  # the binding API, removed in 10
            self.num_bindings = 2


class Runtime:
    """``trt.Runtime(logger)``; ``deserialize_cuda_engine`` returns None on failure, as TensorRT does."""

    def __init__(self, logger):
        self.logger = logger
        self._cuda_failed = False
        if _release(__version__) >= (8, 6):
            self.engine_host_code_allowed = False
        failure = cuda_failure()
        if failure:
            self._cuda_failed = True
            for message in failure:
                logger.log(ILogger.ERROR, message)

    def deserialize_cuda_engine(self, data):
        if self._cuda_failed:  # what the 11.4 lean runtime did after a failed CUDA start
            os.kill(os.getpid(), signal.SIGSEGV)
        outcome, messages = decide(bytes(data), __version__)
        for severity, message in messages:
            self.logger.log(getattr(ILogger, severity), message)
        return ICudaEngine(__version__) if outcome == "ok" else None
