"""Probe output (``auditor.facts/1``) parsed strictly into typed facts.

The bytes come from a host and are untrusted: size was capped by the runner, and
here the JSON must be one object of the right schema, every field of the right
type (a wrong type is a ``FactsError`` naming the JSON path), every number bounded
anywhere in the document (integers within 64 bits, floats finite: ``1e400`` or a
401-digit integer is a parse error, not an ``Infinity`` in a report or an
``OverflowError`` later), fields the probe always writes as dotted numbers
(compute capabilities, an engine header's TensorRT version) of that shape, and
every string cleaned of control characters. Sections a collector could not fill carry their
own ``error``; they are facts too ("could not tell"), not parse failures.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor import versions
from auditor.text import clean

SCHEMA = "auditor.facts/1"
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what SQLite, JSON readers and Prometheus all hold exactly
_COMPUTE_CAPABILITY = re.compile(r"^\d{1,3}\.\d{1,3}$")  # NVML's major.minor, "%d.%d" in the probe
_HEADER_VERSION = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")  # four header bytes, "%d.%d.%d.%d" in the probe
SECTIONS = ("host", "driver", "gpus", "cuda", "cudnn", "tensorrt", "engines", "containers", "reference")


class FactsError(ValueError):
    """Probe output that cannot be used; the message names what and where."""


class DriverStatus(enum.Enum):
    """What the probe could tell about the NVIDIA driver."""

    OK = "ok"
    """User-space driver and kernel module loaded and answering."""
    NOT_INSTALLED = "not-installed"
    """No NVIDIA driver on the host."""
    NOT_LOADED = "not-loaded"
    """Driver files present, kernel module not loaded."""
    PERMISSION_DENIED = "permission-denied"
    """The driver is there but this user may not query it."""
    MISMATCH = "mismatch"
    """Kernel module and user-space library differ: the host needs a reboot."""
    UNKNOWN = "unknown"
    """The driver collector failed or timed out."""


@dataclass(frozen=True)
class HostInfo:
    """``boot_time`` is ISO 8601 UTC (from ``/proc/stat`` btime)."""

    hostname: str | None = None
    os_id: str | None = None
    os_version: str | None = None
    os_name: str | None = None
    kernel: str | None = None
    arch: str | None = None
    python: str | None = None
    boot_time: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class DriverFacts:
    """``version`` is the user-space driver; ``cuda_version`` the newest CUDA it supports.

    ``kernel_module`` is what /proc/driver/nvidia/version says; ``library_version`` the
    version in the name of libnvidia-ml's file. ``notes`` says why better sources failed
    when the facts came from a fallback (nvidia-smi, procfs); ``error`` is set only when
    no source could tell.
    """

    status: DriverStatus = DriverStatus.UNKNOWN
    version: str | None = None
    source: str | None = None
    cuda_version: str | None = None
    kernel_module: str | None = None
    mismatch: bool = False
    nvml_version: str | None = None
    error: str | None = None
    library_version: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Gpu:
    """One GPU as NVML (or nvidia-smi) describes it; modes are "enabled"/"disabled" or None."""

    index: int | None = None
    name: str | None = None
    uuid: str | None = None
    compute_capability: str | None = None
    memory_total_mib: int | None = None
    pci_bus_id: str | None = None
    mig_mode: str | None = None
    ecc_mode: str | None = None
    persistence_mode: str | None = None
    vbios_version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class GpuFacts:
    """``count`` is None when the probe could not count the GPUs."""

    count: int | None = None
    devices: tuple[Gpu, ...] = ()
    source: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CudaToolkit:
    """A toolkit directory; ``nvcc_version`` is what its ``bin/nvcc --version`` says."""

    path: str
    version: str | None = None
    source: str | None = None
    nvcc_version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CompatPackage:
    """A ``cuda-compat`` install: ``<toolkit>/compat/libcuda.so.<driver version>``.

    ``version`` is the driver version its libcuda comes from; ``cuda`` the toolkit
    (major.minor) whose tree holds it; ``active`` whether the dynamic linker's
    ``libcuda.so.1`` is this package's (processes get it without LD_LIBRARY_PATH).
    """

    path: str
    version: str | None = None
    cuda: str | None = None
    active: bool | None = None
    error: str | None = None


@dataclass(frozen=True)
class CudaFacts:
    """Toolkits installed on disk (not what the driver supports: see ``DriverFacts``)."""

    toolkits: tuple[CudaToolkit, ...] = ()
    default: str | None = None
    cudart_sonames: tuple[str, ...] = ()
    compat: tuple[CompatPackage, ...] = ()
    error: str | None = None

    @property
    def default_toolkit(self) -> CudaToolkit | None:
        """The toolkit ``/usr/local/cuda`` points at, else the only or newest one."""
        for toolkit in self.toolkits:
            if toolkit.path == self.default:
                return toolkit
        known = [t for t in self.toolkits if t.version and versions.is_version(t.version)]
        return max(known, key=lambda t: versions.parse(t.version or "0"), default=None)


@dataclass(frozen=True)
class CudnnInstall:
    """One place cuDNN was found: ``source`` is header, library, dpkg, rpm or pip.

    For a library, ``version`` is what ``cudnnGetVersion()`` returned, else what the
    file name says (then ``error`` says why the call failed).
    """

    version: str | None
    source: str
    path: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CudnnFacts:
    """cuDNN: the best version found and every installation seen."""

    version: str | None = None
    source: str | None = None
    installs: tuple[CudnnInstall, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class TensorRTLibrary:
    name: str
    path: str | None = None
    version: str | None = None
    source: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class TensorRTModule:
    """An importable Python module (``tensorrt``, ``tensorrt_lean``, ``tensorrt_dispatch``)."""

    module: str
    version: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class TensorRTPackage:
    """A package a package manager knows: ``manager`` is dpkg, rpm or pip."""

    name: str
    version: str | None
    manager: str


@dataclass(frozen=True)
class TensorRTFacts:
    """``version`` is the most precise version found (four parts when anything gives the build).

    ``trtexec`` is the path of the host's trtexec, if any; ``header_path`` where
    ``header_version`` (NvInferVersion.h) was read.
    """

    version: str | None = None
    source: str | None = None
    libraries: tuple[TensorRTLibrary, ...] = ()
    header_version: str | None = None
    modules: tuple[TensorRTModule, ...] = ()
    packages: tuple[TensorRTPackage, ...] = ()
    error: str | None = None
    trtexec: str | None = None
    header_path: str | None = None

    def module(self, name: str = "tensorrt") -> TensorRTModule | None:
        """The importable module called ``name``, if the probe found it."""
        return next((m for m in self.modules if m.module == name), None)

    @property
    def python_version(self) -> str | None:
        """The version of the importable ``tensorrt`` module."""
        module = self.module("tensorrt")
        return module.version if module else None


class EngineLoad(enum.Enum):
    """How a test-load of an engine ended (classified from TensorRT's log, research 1.7)."""

    OK = "ok"
    """Deserialized (and ran, when asked) without error."""
    VERSION_MISMATCH = "version-mismatch"
    """Built by another TensorRT version than the runtime."""
    DEVICE_MISMATCH = "device-mismatch"
    """Built for another compute capability (or a hardware-compatible plan on an older GPU)."""
    CORRUPT = "corrupt"
    """Not a TensorRT plan, truncated, or from another platform."""
    MISSING_PLUGIN = "missing-plugin"
    """Needs a plugin that is not registered."""
    CUDA_INIT_FAILURE = "cuda-init-failure"
    """CUDA could not initialize (driver too old, no device)."""
    NO_RUNTIME = "no-runtime"
    """No TensorRT runtime on the host to try with."""
    TIMEOUT = "timeout"
    """The test-load overran its time budget."""
    CRASHED = "crashed"
    """The loader process died (signal or unexpected exit)."""
    NOT_FOUND = "not-found"
    """No file at the path."""
    SKIPPED = "skipped"
    """Not attempted (only the header was checked)."""


@dataclass(frozen=True)
class EngineFacts:
    """One engine file the controller asked about: header pre-check and test-load result.

    ``template`` is the policy's path before ``{cc}``/``{sm}``/``{gpu}`` expansion.
    ``header_version`` is the TensorRT version in bytes 24-27 (plans from 8.6 on);
    ``header_wrapper`` names a prefix stripped before the plan (``ultralytics``).
    ``runtime`` is what test-loaded it (``tensorrt``, ``tensorrt_lean``,
    ``tensorrt_dispatch`` or ``trtexec``) and ``runtime_version`` its version;
    ``load_gpu`` the GPU index it was loaded on; ``io_tensors`` how many inputs and
    outputs the loaded engine has; ``log`` TensorRT's warnings and errors, in order.
    """

    path: str
    template: str | None = None
    exists: bool = False
    size: int | None = None
    sha256: str | None = None
    header_magic: bool | None = None
    header_version: str | None = None
    load: EngineLoad | None = None
    runtime: str | None = None
    message: str | None = None
    load_s: float | None = None
    error: str | None = None
    header_wrapper: str | None = None
    runtime_version: str | None = None
    load_gpu: int | None = None
    io_tensors: int | None = None
    log: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnginesFacts:
    items: tuple[EngineFacts, ...] = ()
    error: str | None = None


class ReferenceStatus(enum.Enum):
    """How a reference engine run ended: the test-load outcomes, then the run's own."""

    OK = "ok"
    """Loaded, ran once, output within tolerance of the recorded one."""
    WRONG_OUTPUT = "wrong-output"
    """Loaded and ran, but the output is not the recorded one: the host computes wrong answers."""
    RUN_FAILED = "run-failed"
    """Loaded, but device memory, the copies or the execution failed."""
    NO_PLAN = "no-plan"
    """None of the shipped plans loads on this host's TensorRT and GPU (by the portability rules)."""
    VERSION_MISMATCH = "version-mismatch"
    """Built by another TensorRT version than the runtime."""
    DEVICE_MISMATCH = "device-mismatch"
    """Built for another compute capability."""
    CORRUPT = "corrupt"
    """Not a plan TensorRT accepts here (or damaged in transit)."""
    MISSING_PLUGIN = "missing-plugin"
    """Needs a plugin that is not registered."""
    CUDA_INIT_FAILURE = "cuda-init-failure"
    """CUDA could not initialize for TensorRT."""
    NO_RUNTIME = "no-runtime"
    """No TensorRT Python runtime here that may load the plan."""
    TIMEOUT = "timeout"
    """The load and run overran the ``engine_load`` budget."""
    CRASHED = "crashed"
    """The runner process died."""

    @property
    def load(self) -> EngineLoad | None:
        """The test-load outcome this status is, if it is one (for the engine-portability table)."""
        try:
            return EngineLoad(self.value)
        except ValueError:
            return None


@dataclass(frozen=True)
class ReferenceRun:
    """One reference engine run on one GPU model.

    ``plan`` is the library id (``<tensorrt>/<sm>/<name>``) of the plan the probe chose
    and ``rule`` the portability rule(s) that admitted it; ``runtime`` the Python module
    that ran it; ``cuda_api`` the CUDA library that gave the device memory (``driver``,
    ``runtime``, or ``driver (simulated)`` in the simulated fleet); ``load_s`` the
    deserialization, ``run_s`` the inference (launch to stream synchronize);
    ``max_abs_error`` against the recorded output, ``exact`` bit-for-bit equality;
    ``cleanup`` ``removed`` when the private directory is gone, else what went wrong.
    """

    status: ReferenceStatus
    gpu: int | None = None
    gpu_name: str | None = None
    compute_capability: str | None = None
    plan: str | None = None
    plan_sha256: str | None = None
    rule: str | None = None
    runtime: str | None = None
    runtime_version: str | None = None
    cuda_api: str | None = None
    load_s: float | None = None
    run_s: float | None = None
    max_abs_error: float | None = None
    exact: bool | None = None
    output: tuple[float, ...] = ()
    message: str | None = None
    log: tuple[str, ...] = ()
    cleanup: str | None = None


@dataclass(frozen=True)
class ReferenceItem:
    """One required reference engine: how many plans were shipped and the run per GPU model."""

    name: str
    candidates: int = 0
    runs: tuple[ReferenceRun, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ReferenceFacts:
    """Reference engine runs; ``requested`` False when the controller asked for none (or an older probe)."""

    requested: bool = False
    items: tuple[ReferenceItem, ...] = ()
    error: str | None = None

    def item(self, name: str) -> ReferenceItem | None:
        """The runs of the reference engine called ``name``, if the probe reported it."""
        return next((i for i in self.items if i.name == name), None)


@dataclass(frozen=True)
class ContainerImage:
    repository: str
    tag: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class RunningContainer:
    name: str
    image: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class ContainerFacts:
    """Images and running containers; ``runtime`` None when neither docker nor podman is usable."""

    runtime: str | None = None
    images: tuple[ContainerImage, ...] = ()
    running: tuple[RunningContainer, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class Facts:
    """Everything one probe run reported, typed. ``raw`` is the cleaned JSON for reports."""

    probe_version: str
    collected_at: str | None
    host: HostInfo
    driver: DriverFacts
    gpus: GpuFacts
    cuda: CudaFacts
    tensorrt: TensorRTFacts
    raw: Mapping[str, Any]
    cudnn: CudnnFacts = CudnnFacts()
    engines: EnginesFacts = EnginesFacts()
    containers: ContainerFacts = ContainerFacts()
    truncated: bool = False
    """The probe cut long lists to stay under its output cap (the cut lists' owners say ``truncated``)."""
    reference: ReferenceFacts = ReferenceFacts()

    def section_error(self, name: str) -> str | None:
        """The error a collector reported for its section (``host``, ``driver``, ...), if any."""
        section = getattr(self, name)
        return section.error if isinstance(section.error, str) else None


def parse_facts(data: bytes | str) -> Facts:
    """Parse probe stdout. Raises ``FactsError`` for anything but valid ``auditor.facts/1``."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FactsError(f"probe output is not UTF-8 (byte {exc.start})") from None
    text = data.strip()
    if not text:
        raise FactsError("probe printed nothing")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except (RecursionError, MemoryError):
        raise FactsError("probe output is nested too deeply") from None
    except ValueError as exc:
        raise FactsError(f"probe output is not JSON: {clean(str(exc), 200)}") from None
    if not isinstance(document, dict):
        raise FactsError(f"probe output must be a JSON object, got {type(document).__name__}")
    document = _clean_tree(document)
    if document.get("schema") != SCHEMA:
        raise FactsError(f"unexpected schema {document.get('schema')!r}, expected {SCHEMA!r}")
    if document.get("error"):
        raise FactsError(f"probe failed: {document['error']}")
    root = _Reader(document, "$")
    return Facts(
        probe_version=root.text("probe_version") or "?",
        collected_at=root.text("collected_at"),
        host=_host(root.section("host")),
        driver=_driver(root.section("driver")),
        gpus=_gpus(root.section("gpus")),
        cuda=_cuda(root.section("cuda")),
        tensorrt=_tensorrt(root.section("tensorrt")),
        raw=document,
        cudnn=_cudnn(root.section("cudnn")),
        engines=_engines(root.section("engines")),
        containers=_containers(root.section("containers")),
        truncated=root.flag("truncated"),
        reference=_reference(root.sub("reference")),
    )


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _clean_tree(node: Any, path: str = "$", depth: int = 0) -> Any:
    """The document with strings cleaned and every number checked to be bounded (``FactsError`` naming the path)."""
    if depth > 32:
        raise FactsError("probe output is nested too deeply")
    if isinstance(node, str):
        return clean(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        if not INT_MIN <= node <= INT_MAX:
            raise FactsError(f"{path}: integer out of range ({len(str(abs(node)))} digits; at most 64 bits)")
        return node
    if isinstance(node, float):
        if not math.isfinite(node):
            raise FactsError(f"{path}: number out of range (not a finite float)")
        return node
    if isinstance(node, dict):
        cleaned = {}
        for key, value in node.items():
            name = clean(str(key), 128)
            cleaned[name] = _clean_tree(value, f"{path}.{name}", depth + 1)
        return cleaned
    if isinstance(node, list):
        return [_clean_tree(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(node)]
    raise FactsError(f"{path}: unexpected value of type {type(node).__name__}")  # pragma: no cover - json gives none


class _Reader:
    """Typed access to one JSON object; a wrong type raises FactsError with the JSON path."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self.data, self.path = data, path

    def _get(self, key: str, types: tuple[type, ...], what: str) -> Any:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in types:
            raise FactsError(f"{self.path}.{key} must be {what}, got a boolean")
        if not isinstance(value, types):
            raise FactsError(f"{self.path}.{key} must be {what}, got {type(value).__name__}")
        return value

    def text(self, key: str) -> str | None:
        return self._get(key, (str,), "a string")

    def shaped(self, key: str, shape: re.Pattern[str], what: str) -> str | None:
        """A string the probe always writes in one shape (``9.0``); anything else is a ``FactsError``."""
        value = self.text(key)
        if value is not None and not shape.match(value):
            raise FactsError(f"{self.path}.{key} must be {what}, got {clean(value, 40)!r}")
        return value

    def integer(self, key: str) -> int | None:
        value = self._get(key, (int,), "an integer")
        if value is not None and value < 0:
            raise FactsError(f"{self.path}.{key} must not be negative")
        return value

    def number(self, key: str) -> float | None:
        value = self._get(key, (int, float), "a number")
        return None if value is None else float(value)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, (bool,), "true or false"))

    def optional_flag(self, key: str) -> bool | None:
        return self._get(key, (bool,), "true or false")

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key, (list,), "a list")
        for index, item in enumerate(value or []):
            if not isinstance(item, str):
                raise FactsError(f"{self.path}.{key}[{index}] must be a string")
        return tuple(value or ())

    def sub(self, key: str) -> _Reader:
        """An optional nested object (empty when absent)."""
        value = self._get(key, (dict,), "an object")
        return _Reader(value or {}, f"{self.path}.{key}")

    def section(self, key: str) -> _Reader:
        value = self._get(key, (dict,), "an object")
        if value is None:
            return _Reader({"error": f"section {key!r} missing from probe output"}, f"{self.path}.{key}")
        return _Reader(value, f"{self.path}.{key}")

    def items(self, key: str) -> list[_Reader]:
        value = self._get(key, (list,), "a list")
        result = []
        for index, item in enumerate(value or []):
            if not isinstance(item, dict):
                raise FactsError(f"{self.path}.{key}[{index}] must be an object")
            result.append(_Reader(item, f"{self.path}.{key}[{index}]"))
        return result

    def error(self) -> str | None:
        return self.text("error")


def _host(r: _Reader) -> HostInfo:
    os_info = r.section("os") if isinstance(r.data.get("os"), dict) else _Reader({}, r.path + ".os")
    return HostInfo(
        hostname=r.text("hostname"),
        os_id=os_info.text("id"),
        os_version=os_info.text("version_id"),
        os_name=os_info.text("pretty_name"),
        kernel=r.text("kernel"),
        arch=r.text("arch"),
        python=r.text("python"),
        boot_time=r.text("boot_time"),
        error=r.error(),
    )


def _driver(r: _Reader) -> DriverFacts:
    status_text = r.text("status")
    try:
        status = DriverStatus(status_text) if status_text else DriverStatus.UNKNOWN
    except ValueError:
        raise FactsError(f"{r.path}.status: unknown driver status {status_text!r}") from None
    return DriverFacts(
        status=status,
        version=r.text("version"),
        source=r.text("source"),
        cuda_version=r.text("cuda_version"),
        kernel_module=r.text("kernel_module"),
        mismatch=r.flag("mismatch"),
        nvml_version=r.text("nvml_version"),
        error=r.error(),
        library_version=r.text("library_version"),
        notes=r.text("notes"),
    )


def _gpus(r: _Reader) -> GpuFacts:
    devices = tuple(
        Gpu(
            index=d.integer("index"),
            name=d.text("name"),
            uuid=d.text("uuid"),
            compute_capability=d.shaped("compute_capability", _COMPUTE_CAPABILITY, "a compute capability like 9.0"),
            memory_total_mib=d.integer("memory_total_mib"),
            pci_bus_id=d.text("pci_bus_id"),
            mig_mode=d.text("mig_mode"),
            ecc_mode=d.text("ecc_mode"),
            persistence_mode=d.text("persistence_mode"),
            vbios_version=d.text("vbios_version"),
            error=d.error(),
        )
        for d in r.items("devices")
    )
    count = r.integer("count")
    if count is not None and count < len(devices):
        raise FactsError(f"{r.path}.count is {count} but {len(devices)} devices are listed")
    return GpuFacts(count=count, devices=devices, source=r.text("source"), error=r.error())


def _cuda(r: _Reader) -> CudaFacts:
    toolkits = []
    for t in r.items("toolkits"):
        path = t.text("path")
        if not path:
            raise FactsError(f"{t.path}.path is required")
        toolkits.append(
            CudaToolkit(
                path=path,
                version=t.text("version"),
                source=t.text("source"),
                nvcc_version=t.text("nvcc_version"),
                error=t.error(),
            )
        )
    compat = []
    for c in r.items("compat"):
        path = c.text("path")
        if not path:
            raise FactsError(f"{c.path}.path is required")
        compat.append(
            CompatPackage(
                path=path,
                version=c.text("version"),
                cuda=c.text("cuda"),
                active=c.optional_flag("active"),
                error=c.error(),
            )
        )
    return CudaFacts(
        toolkits=tuple(toolkits),
        default=r.text("default"),
        cudart_sonames=r.texts("cudart_sonames"),
        compat=tuple(compat),
        error=r.error(),
    )


def _cudnn(r: _Reader) -> CudnnFacts:
    installs = tuple(
        CudnnInstall(version=i.text("version"), source=i.text("source") or "?", path=i.text("path"), error=i.error())
        for i in r.items("installs")
    )
    return CudnnFacts(version=r.text("version"), source=r.text("source"), installs=installs, error=r.error())


def _tensorrt(r: _Reader) -> TensorRTFacts:
    libraries = tuple(
        TensorRTLibrary(
            name=lib.text("name") or "?",
            path=lib.text("path"),
            version=lib.text("version"),
            source=lib.text("source"),
            error=lib.error(),
        )
        for lib in r.items("libraries")
    )
    modules = tuple(
        TensorRTModule(module=m.text("module") or "?", version=m.text("version"), error=m.error())
        for m in r.items("modules")
    )
    packages = tuple(
        TensorRTPackage(name=p.text("name") or "?", version=p.text("version"), manager=p.text("manager") or "?")
        for p in r.items("packages")
    )
    return TensorRTFacts(
        version=r.text("version"),
        source=r.text("source"),
        libraries=libraries,
        header_version=r.text("header_version"),
        modules=modules,
        packages=packages,
        error=r.error(),
        trtexec=r.text("trtexec"),
        header_path=r.text("header_path"),
    )


def _engines(r: _Reader) -> EnginesFacts:
    items = []
    for e in r.items("items"):
        path = e.text("path")
        if not path:
            raise FactsError(f"{e.path}.path is required")
        header, load = e.sub("header"), e.sub("load")
        status = load.text("status")
        try:
            load_status = EngineLoad(status) if status else None
        except ValueError:
            raise FactsError(f"{load.path}.status: unknown load status {status!r}") from None
        items.append(
            EngineFacts(
                path=path,
                template=e.text("template"),
                exists=e.flag("exists"),
                size=e.integer("size"),
                sha256=e.text("sha256"),
                header_magic=header.optional_flag("magic"),
                header_version=header.shaped("tensorrt_version", _HEADER_VERSION, "a version like 10.3.0.26"),
                load=load_status,
                runtime=load.text("runtime"),
                message=load.text("message"),
                load_s=load.number("seconds"),
                error=e.error(),
                header_wrapper=header.text("wrapper"),
                runtime_version=load.text("runtime_version"),
                load_gpu=load.integer("gpu"),
                io_tensors=load.integer("io_tensors"),
                log=load.texts("log"),
            )
        )
    return EnginesFacts(items=tuple(items), error=r.error())


def _reference(r: _Reader) -> ReferenceFacts:
    """The optional ``reference`` section (probes before 0.3.0 have none: nothing requested)."""
    items = []
    for i in r.items("items"):
        runs = []
        for run in i.items("runs"):
            text = run.text("status")
            try:
                status = ReferenceStatus(text)
            except ValueError:
                raise FactsError(f"{run.path}.status: unknown reference status {text!r}") from None
            values: list[float] = []
            for name, numbers in run.sub("output").data.items():
                if not isinstance(numbers, list) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers
                ):
                    raise FactsError(f"{run.path}.output.{name} must be a list of numbers")
                values.extend(float(v) for v in numbers)
            runs.append(
                ReferenceRun(
                    status=status,
                    gpu=run.integer("gpu"),
                    gpu_name=run.text("gpu_name"),
                    compute_capability=run.shaped(
                        "compute_capability", _COMPUTE_CAPABILITY, "a compute capability like 9.0"
                    ),
                    plan=run.text("plan"),
                    plan_sha256=run.text("plan_sha256"),
                    rule=run.text("rule"),
                    runtime=run.text("runtime"),
                    runtime_version=run.text("runtime_version"),
                    cuda_api=run.text("cuda_api"),
                    load_s=run.number("load_s"),
                    run_s=run.number("run_s"),
                    max_abs_error=run.number("max_abs_error"),
                    exact=run.optional_flag("exact"),
                    output=tuple(values),
                    message=run.text("message"),
                    log=run.texts("log"),
                    cleanup=run.text("cleanup"),
                )
            )
        items.append(
            ReferenceItem(
                name=i.text("name") or "?", candidates=i.integer("candidates") or 0, runs=tuple(runs), error=i.error()
            )
        )
    return ReferenceFacts(requested=r.flag("requested"), items=tuple(items), error=r.error())


def _containers(r: _Reader) -> ContainerFacts:
    images = tuple(
        ContainerImage(repository=i.text("repository") or "?", tag=i.text("tag"), id=i.text("id"))
        for i in r.items("images")
    )
    running = tuple(
        RunningContainer(name=c.text("name") or "?", image=c.text("image"), id=c.text("id")) for c in r.items("running")
    )
    return ContainerFacts(runtime=r.text("runtime"), images=images, running=running, error=r.error())
