"""Stand-in TensorRT for simulated hosts: the Python API a test-load uses, and TensorRT's own messages.

Copied into a fixture root twice: as ``<site-packages>/tensorrt/__init__.py`` (the module
the probe's loader imports) and as ``usr/share/auditor-sim/standin_tensorrt.py`` (the
engine logic the stand-in ``trtexec`` shares). Both read
``usr/share/auditor-sim/tensorrt.json``: the module's and the library's versions, the
driver state, the GPUs (uuid, compute capability) and, per engine (by sha256), the
compute capability it was built for and a forced outcome (``missing-plugin``, ``crash``,
``hang``).

A load decides like TensorRT does, from the plan and the host: no ``ftrt`` tag or a
truncated plan, another TensorRT version in the header (docs/research/tensorrt-compat.md 1.8),
another compute capability, a plugin that is not registered. The messages are the ones
docs/research/tensorrt-compat.md 1.7 lists (E1, E2, E5, E7, E14), or the ones the real 11.4 lean
runtime logged on an H200 (tests/fixtures/real/raw.txt). It runs under the host's
Python, so it keeps to Python 3.6.

The full module also builds (``Builder``, ``create_network``, ``build_serialized_network``)
with the Python API of its version: TensorRT 8.x weakly typed networks and numpy-only
``Weights``; 10.x strongly typed networks on request and ``Weights(type, pointer,
count)``; 11.x strongly typed only, without the FP16 builder flag (docs/research/tensorrt-compat.md 1.12 and the
bindings of each release branch). Its plans carry the network as JSON after the public
header (``standin_network.py``), with the building GPU's compute capability and the
version- and hardware-compatibility flags, so a load decides by NVIDIA's portability
rules (docs/research/tensorrt-compat.md 1.6) and an execution context really computes the network. Installed
as ``tensorrt_lean`` (or ``tensorrt_dispatch``) the module has no builder and loads
version-compatible plans only. ``AUDITOR_SIMULATED_LIBCUDA`` stands in for the CUDA
driver library (libcuda.so.1) at the Python level: its functions take the same ctypes
arguments the probe passes the real one, and "device memory" is host memory. A host
``gpu_fault`` makes that memory run out (``out-of-memory``) or the network's answer
wrong (``wrong-output``).
"""

import ctypes
import hashlib
import json
import os
import signal
import struct
import sys
import time
import types


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
LEAN = __name__.split(".")[0] in ("tensorrt_lean", "tensorrt_dispatch")
__version__ = (STATE.get("python_lean") if LEAN else STATE.get("python")) or STATE.get("library") or "0"


def _release(version):
    return tuple(int(p) for p in (version or "0").split(".") if p.isdigit())


class _Member:
    """A pybind11 enum member: ``str`` gives ``Enum.NAME``, ``int`` its value."""

    def __init__(self, enum, name, value):
        self.enum, self.name, self.value = enum, name, value

    def __str__(self):
        return f"{self.enum}.{self.name}"

    __repr__ = __str__

    def __int__(self):
        return self.value

    __index__ = __int__


def _enum(name, members, since=None):
    """A class holding the members this version has (``since``: member -> first version)."""
    here, namespace = _release(__version__), {}
    for member, value in members.items():
        window = (since or {}).get(member, "0")
        first, gone = window if isinstance(window, tuple) else (window, None)
        if here >= _release(first) and (gone is None or here < _release(gone)):
            namespace[member] = _Member(name, member, value)
    namespace["named"] = classmethod(lambda cls, n: getattr(cls, n))
    return type(name, (object,), namespace)


DataType = _enum("DataType", {"FLOAT": 0, "HALF": 1, "INT8": 2, "INT32": 3, "BOOL": 4})
TensorIOMode = _enum("TensorIOMode", {"NONE": 0, "INPUT": 1, "OUTPUT": 2})
ActivationType = _enum("ActivationType", {"RELU": 0, "SIGMOID": 1, "TANH": 2})
MatrixOperation = _enum("MatrixOperation", {"NONE": 0, "TRANSPOSE": 1, "VECTOR": 2})
ElementWiseOperation = _enum("ElementWiseOperation", {"SUM": 0, "PROD": 1, "MAX": 2})
MemoryPoolType = _enum("MemoryPoolType", {"WORKSPACE": 0})
# Flags as each release's bindings list them: FP16 and EXPLICIT_BATCH gone in 11, STRONGLY_TYPED from 10
# (our stand-in's floor; 9.x had it too) and renumbered to 0 (deprecated, ignored) in 11.
BuilderFlag = _enum(
    "BuilderFlag",
    {"FP16": 0, "TF32": 7, "VERSION_COMPATIBLE": 15, "EXCLUDE_LEAN_RUNTIME": 16},
    {"FP16": ("0", "11"), "VERSION_COMPATIBLE": "8.6", "EXCLUDE_LEAN_RUNTIME": "8.6"},
)
NetworkDefinitionCreationFlag = _enum(
    "NetworkDefinitionCreationFlag",
    {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 0 if _release(__version__) >= (11,) else 1},
    {"EXPLICIT_BATCH": ("0", "11"), "STRONGLY_TYPED": "10"},
)
HardwareCompatibilityLevel = _enum(
    "HardwareCompatibilityLevel",
    {"NONE": 0, "AMPERE_PLUS": 1, "SAME_COMPUTE_CAPABILITY": 2},
    {"NONE": "8.6", "AMPERE_PLUS": "8.6", "SAME_COMPUTE_CAPABILITY": "10.9"},
)
ITEMSIZE = {"FLOAT": 4, "HALF": 2, "INT8": 1, "INT32": 4, "BOOL": 1}


class Weights:
    """``trt.Weights``: empty of a type, from a numpy array, or (10.0+) from (type, pointer, count)."""

    def __init__(self, *args, **kwargs):
        args = list(args) + [kwargs[k] for k in ("type", "ptr", "count", "a") if k in kwargs]
        if len(args) == 3:
            if _release(__version__) < (10,):
                raise TypeError(
                    "__init__(): incompatible constructor arguments. The following argument types "
                    "are supported: 1. tensorrt.Weights(type: tensorrt.DataType = DataType.FLOAT) "
                    "2. tensorrt.Weights(a: numpy.ndarray)"
                )
            dtype, pointer, count = args
            self.dtype_name, self.size = dtype.name, int(count)
            self.data = ctypes.string_at(int(pointer), self.size * ITEMSIZE[dtype.name]) if count else b""
        elif len(args) == 1 and hasattr(args[0], "tobytes") and hasattr(args[0], "dtype"):
            kind = {"float32": "FLOAT", "float16": "HALF"}.get(str(args[0].dtype))
            if kind is None:
                raise TypeError(
                    "Could not convert NumPy array to Weights. Is it using a data type supported by TensorRT?"
                )
            self.dtype_name, self.size, self.data = kind, int(args[0].size), args[0].tobytes()
        elif not args or isinstance(args[0], _Member):
            self.dtype_name, self.size, self.data = (args[0].name if args else "FLOAT"), 0, b""
        else:
            raise TypeError("__init__(): incompatible constructor arguments")


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


# -- the plugin registry (tests/fixtures/real/workflows/tensorrt/plugins-h200-lean-11.4-cp312.txt) ---------------

# The creators the 11.4 lean runtime registers by itself, as recorded on an H200.
BUILTIN_CREATORS = (
    ("MyelinWeightsTransformPlugin", "1"),
    ("CaskDeconvV2RunnerWeightsTransformerPlugin", "1"),
    ("CaskDeconvV1RunnerWeightsTransformerPlugin", "1"),
    ("CaskConvolutionRunnerWeightsTransformerPlugin", "1"),
    ("CaskFlattenConvolutionRunnerWeightsTransformerPlugin", "1"),
    ("CaskConvActPoolWeightsTransformerPlugin", "1"),
    ("CaskDepSepConvWeightsTransformerPlugin", "1"),
)


class IPluginCreator:
    """A registered creator: what ``all_creators`` hands out (name, version, namespace)."""

    def __init__(self, name, version, namespace=""):
        self.name, self.plugin_version, self.plugin_namespace = name, version, namespace

    @property
    def field_names(self):  # the real internal creators print errors here (recorded): never read it
        sys.stdout.write("Unexpected Internal Error: [caskWtsTransformers.cpp::onlyUsedInParser::32] Error Code 1\n")
        sys.stdout.flush()
        return None


class IPluginRegistry:
    """The process's registry: TensorRT 10 on lists ``all_creators``; 8.x had ``plugin_creator_list`` only."""

    def __init__(self):
        self._creators = [IPluginCreator(n, v) for n, v in BUILTIN_CREATORS] if _release(__version__) >= (11,) else []

    def _register(self, name, version, namespace=""):
        if not any(c.name == name and c.plugin_version == version for c in self._creators):
            self._creators.append(IPluginCreator(name, version, namespace))

    def get_creator(self, name, version, namespace=""):
        found = [
            c for c in self._creators if (c.name, c.plugin_version, c.plugin_namespace) == (name, version, namespace)
        ]
        return found[0] if found else None


if _release(__version__) >= (10,):
    IPluginRegistry.all_creators = property(lambda self: list(self._creators))  # type: ignore[attr-defined]
else:
    IPluginRegistry.plugin_creator_list = property(lambda self: list(self._creators))  # type: ignore[attr-defined]

_REGISTRY = IPluginRegistry()


def get_plugin_registry():
    return _REGISTRY


def init_libnvinfer_plugins(logger, namespace):
    """Load libnvinfer_plugin: register the standard plugins (the list roots writes into the state)."""
    for name, version in STATE.get("standard_plugins") or []:
        _REGISTRY._register(name, version, namespace)
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
    # a stand-in number: NVIDIA publishes no mapping from releases to tags (docs/research/tensorrt-compat.md 1.7)
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


def decide(data, runtime, lean=False, host_code=True):
    """(outcome, [(severity, message)], plan body or None) for a plan loaded by TensorRT ``runtime`` here.

    ``lean``: the lean or dispatch runtime (version-compatible plans only); ``host_code``:
    ``engine_host_code_allowed``, which a version-compatible plan needs.
    """
    failure = cuda_failure()
    if failure:
        return "cuda-init-failure", [("ERROR", m) for m in failure], None
    if not data:
        return (
            "corrupt",
            [
                (
                    "ERROR",
                    "IRuntime::deserializeCudaEngine: Error Code 3: API Usage Error (Cannot "
                    "deserialize with an empty memory buffer. In deserializeCudaEngineEx at "
                    "/_src/runtime/dispatch/runtime.cpp:278)",
                )
            ],
            None,
        )
    if data[:4] != b"ftrt":
        return "corrupt", [("ERROR", magic_message(runtime, data))], None
    if len(data) <= 28:
        return "corrupt", [("ERROR", TRUNCATED)], None
    spec = (STATE.get("engines") or {}).get(hashlib.sha256(data).hexdigest()) or {}
    body = plan_body(data)
    outcome = spec.get("outcome")
    if outcome == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if outcome == "hang":
        time.sleep(3600)
    compatible = bool(body and body.get("version_compatible"))
    if lean and not compatible:  # E10, what the 10.16 lean runtime said of a plan that was not version-compatible
        return "no-runtime", [("ERROR", LEAN_STUB)], None
    if compatible and not host_code:  # E9
        return "no-runtime", [("ERROR", HOST_CODE)], None
    if struct.unpack("<I", data[4:8])[0] == 0:
        plan = ".".join(str(part) for part in struct.unpack("4B", data[24:28]))
        if compatible:
            problem = forward_problem(plan, runtime)
            if problem:
                return "version-mismatch", [("ERROR", problem)], None
        elif _release(plan) != _release(runtime)[:4]:
            return "version-mismatch", [("ERROR", m) for m in version_messages(runtime, plan)], None
    gpu = current_gpu()
    built_for = (body or {}).get("cc") or spec.get("cc")
    hardware = (body or {}).get("hardware") or "none"
    if hardware == "ampere+" and _release(gpu.get("cc")) < (8, 0):  # E12
        return (
            "device-mismatch",
            [
                (
                    "ERROR",
                    "The current device is not compatible with this hardware-compatible "
                    f"engine. Expected compute capability >= 8.0, got {gpu['cc']}",
                )
            ],
            None,
        )
    if hardware != "ampere+" and built_for and gpu.get("cc") and built_for != gpu["cc"]:
        return "device-mismatch", [("ERROR", m) for m in device_messages(runtime, gpu["cc"], built_for)], None
    if outcome == "missing-plugin":
        return "missing-plugin", [("ERROR", m) for m in PLUGIN], None
    messages = []
    if body and hardware == "none" and body.get("gpu") and body["gpu"] != gpu.get("name"):
        messages.append(("WARNING", SAME_CC_OTHER_MODEL))  # E6
    messages.append(("INFO", f"Loaded engine size: {max(1, len(data) // (1024 * 1024))} MiB"))
    return "ok", messages, body


LEAN_STUB = "IRuntime::deserializeCudaEngine: Error Code 1: Internal Error (Unexpected call to stub loadRunner for ReformatRunner)"
HOST_CODE = "Cannot deserialize engine with lean runtime since IRuntime::getEngineHostCodeAllowed() is false."
SAME_CC_OTHER_MODEL = (
    "Using an engine plan file across different models of devices is not supported and is likely to affect "
    "performance or even cause errors or deadlock."
)


def forward_problem(plan, runtime):
    """Why a version-compatible plan from ``plan`` does not load in ``runtime`` (docs/research/tensorrt-compat.md 1.6, rule 4), or None."""
    built, run = _release(plan), _release(runtime)
    if run < built:  # E11
        return (
            "Failed due to an old deserialization call on a newer plan file. You can use `trtexec "
            "--getPlanVersionOnly` to check the version of the plan."
        )
    if built[0] != run[0] and (built[0], run[0]) not in ((8, 10), (10, 11)):
        return "TensorRT plan major version does not match runtime major version."
    return None


def plan_body(data):
    """The network a stand-in builder wrote after the header, or None for any other plan."""
    from_here = data.find(b"AUDITOR-SIM-PLAN/1\n", 28, 64)
    if from_here < 0:
        return None
    try:
        return json.loads(data[from_here + len(b"AUDITOR-SIM-PLAN/1\n") :].decode("utf-8"))
    except ValueError:
        return None


def _network():
    """The stand-in network module beside this one (the package's), loaded on first use."""
    if __package__:
        from . import standin_network

        return standin_network
    import standin_network  # the copy beside a non-package file

    return standin_network


class ICudaEngine:
    """A deserialized plan. Stand-in plans (``body``) have their real tensors; others a generic pair."""

    def __init__(self, runtime_version, body=None):
        self.body = body
        if _release(runtime_version) >= (8, 5):  # the name API (docs/research/tensorrt-compat.md 1.12)
            self.num_io_tensors = len(self._tensors())
        if _release(runtime_version) < (10,):  # the binding API, removed in 10
            self.num_bindings = 2

    def _tensors(self):
        if self.body is None:
            return [
                {"name": "input", "shape": [1], "dtype": "FLOAT", "mode": "INPUT"},
                {"name": "output", "shape": [1], "dtype": "FLOAT", "mode": "OUTPUT"},
            ]
        return [dict(t, mode="INPUT") for t in self.body["inputs"]] + [
            dict(t, mode="OUTPUT") for t in self.body["outputs"]
        ]

    def _tensor(self, name):
        for tensor in self._tensors():
            if tensor["name"] == name:
                return tensor
        raise KeyError(name)

    def get_tensor_name(self, index):
        return self._tensors()[index]["name"]

    def get_tensor_mode(self, name):
        return getattr(TensorIOMode, self._tensor(name)["mode"])

    def get_tensor_shape(self, name):
        return tuple(self._tensor(name)["shape"])

    def get_tensor_dtype(self, name):
        return getattr(DataType, self._tensor(name)["dtype"])

    def create_execution_context(self):
        return IExecutionContext(self)


class IExecutionContext:
    """Runs a stand-in plan on the tensors at the addresses it was given (host memory, see libcuda)."""

    def __init__(self, engine):
        self.engine, self.addresses = engine, {}

    def set_tensor_address(self, name, memory):
        self.engine._tensor(name)
        self.addresses[name] = int(memory)
        return True

    def execute_async_v3(self, stream_handle):
        body = self.engine.body
        if body is None or any(t["name"] not in self.addresses for t in self.engine._tensors()):
            return False
        network = _network()
        inputs = dict((t["name"], network.read_memory(self.addresses[t["name"]], _nbytes(t))) for t in body["inputs"])
        outputs = network.execute(body, inputs, STATE.get("gpu_fault"))
        for name, data in outputs.items():
            network.write_memory(self.addresses[name], data)
        return True

    def execute_v2(self, bindings):
        for tensor, pointer in zip(self.engine._tensors(), bindings):
            self.addresses[tensor["name"]] = int(pointer)
        return self.execute_async_v3(0)


def _nbytes(tensor):
    count = 1
    for dim in tensor["shape"]:
        count *= dim
    return count * ITEMSIZE[tensor["dtype"]]


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
        outcome, messages, body = decide(
            bytes(data), __version__, LEAN, getattr(self, "engine_host_code_allowed", True)
        )
        for severity, message in messages:
            self.logger.log(getattr(ILogger, severity), message)
        return ICudaEngine(__version__, body) if outcome == "ok" else None


# -- building (the full module only) -------------------------------------------------------------


class IBuilderConfig:
    """Flags (TF32 on by default, as in TensorRT) and the hardware compatibility level."""

    def __init__(self):
        self.flags = {"TF32"}
        if hasattr(HardwareCompatibilityLevel, "NONE"):
            self.hardware_compatibility_level = HardwareCompatibilityLevel.NONE

    def set_flag(self, flag):
        self.flags.add(flag.name)

    def clear_flag(self, flag):
        self.flags.discard(flag.name)

    def get_flag(self, flag):
        return flag.name in self.flags

    def set_memory_pool_limit(self, pool, pool_size):
        pass


class Builder:
    """``trt.Builder(logger)``: networks of this version's typing, serialized as stand-in plans."""

    def __init__(self, logger):
        self.logger = logger

    def create_network(self, flags=0):
        strong = hasattr(NetworkDefinitionCreationFlag, "STRONGLY_TYPED") and (
            _release(__version__) >= (11,) or flags & (1 << int(NetworkDefinitionCreationFlag.STRONGLY_TYPED))
        )
        return _network().INetworkDefinition(sys.modules[__name__], flags, "strong" if strong else "weak")

    def create_builder_config(self):
        return IBuilderConfig()

    def build_serialized_network(self, network, config):
        failure = cuda_failure()
        gpu = current_gpu()
        level = getattr(config, "hardware_compatibility_level", None)
        hardware = {"AMPERE_PLUS": "ampere+", "SAME_COMPUTE_CAPABILITY": "same-cc"}.get(
            getattr(level, "name", ""), "none"
        )
        try:
            if failure:
                raise _network().BuildError(failure[0])
            if hardware == "ampere+" and _release(gpu["cc"]) < (8, 0):
                raise _network().BuildError("Hardware compatibility AMPERE_PLUS needs an Ampere or newer GPU to build")
            network.check("FP16" in config.flags)
        except _network().BuildError as exc:
            self.logger.log(ILogger.ERROR, str(exc))
            return None
        body = dict(
            network.serialize("FP16" in config.flags),
            cc=gpu["cc"],
            gpu=gpu.get("name"),
            version_compatible="VERSION_COMPATIBLE" in config.flags,
            hardware=hardware,
            tf32="TF32" in config.flags,
        )
        parts = ([*list(_release(__version__)), 0, 0, 0, 0])[:4]
        header = b"ftrt" + struct.pack("<I", 0) + bytes(16) + bytes(p & 0xFF for p in parts)
        return header + b"AUDITOR-SIM-PLAN/1\n" + json.dumps(body).encode("utf-8")


if LEAN:  # the lean and dispatch runtimes deserialize and run; they cannot build, nor load libnvinfer_plugin
    del Builder, IBuilderConfig, init_libnvinfer_plugins


# -- the CUDA driver library, at the Python level ----------------------------------------------


def _simulated_libcuda():
    """Functions named and called like libcuda.so.1's (ctypes arguments in, CUresult out)."""
    memory = {}
    names = {
        0: b"CUDA_SUCCESS",
        1: b"CUDA_ERROR_INVALID_VALUE",
        2: b"CUDA_ERROR_OUT_OF_MEMORY",
        100: b"CUDA_ERROR_NO_DEVICE",
        400: b"CUDA_ERROR_INVALID_HANDLE",
    }

    def out(argument, value):  # ctypes.byref(x) keeps x as _obj
        getattr(argument, "_obj", argument).value = value

    def number(argument):
        return getattr(argument, "value", argument)

    def cuInit(flags):
        return 0 if current_gpu() is not None else 100

    def cuDeviceGet(device, ordinal):
        out(device, 0)
        return 0

    def cuDevicePrimaryCtxRetain(context, device):
        out(context, 0x5C0)
        return 0

    def cuCtxSetCurrent(context):
        return 0

    def cuDeviceGetAttribute(value, attribute, device):
        parts = str(current_gpu().get("cc") or "0.0").split(".")
        which = {75: 0, 76: 1}.get(number(attribute))
        if which is None:
            return 1
        out(value, int(parts[which]))
        return 0

    def cuDeviceGetName(buffer, length, device):
        buffer.value = (current_gpu().get("name") or "").encode("utf-8")[: number(length) - 1]
        return 0

    def cuMemAlloc_v2(pointer, size):
        if STATE.get("gpu_fault") == "out-of-memory":
            return 2
        block = ctypes.create_string_buffer(max(1, number(size)))
        memory[ctypes.addressof(block)] = block
        out(pointer, ctypes.addressof(block))
        return 0

    def cuMemFree_v2(pointer):
        return 0 if memory.pop(number(pointer), None) is not None else 400

    def cuMemcpyHtoD_v2(target, source, size):
        if number(target) not in memory:
            return 1
        ctypes.memmove(number(target), source, number(size))
        return 0

    def cuMemcpyDtoH_v2(target, source, size):
        if number(source) not in memory:
            return 1
        ctypes.memmove(target, number(source), number(size))
        return 0

    def cuStreamCreate(stream, flags):
        out(stream, 0x57)
        return 0

    def cuStreamSynchronize(stream):
        return 0

    def cuStreamDestroy_v2(stream):
        return 0

    def cuGetErrorName(code, text):
        out(text, names.get(number(code), b"CUDA_ERROR_UNKNOWN"))
        return 0

    return types.SimpleNamespace(**dict((k, v) for k, v in locals().items() if k.startswith("cu")))


AUDITOR_SIMULATED_LIBCUDA = _simulated_libcuda()
