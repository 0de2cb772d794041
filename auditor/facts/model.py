"""What a probe reported, as typed values: one frozen record per section of ``auditor.facts/1``.

Every value here was read by ``auditor.facts.reader`` (strictly, from untrusted bytes):
strings are cleaned, numbers bounded. A section a collector could not fill carries its own
``error``; that is a fact too ("could not tell"), never a parse failure.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

from auditor import versions
from auditor.records import record

SCHEMA = "auditor.facts/1"


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


@record(slots=True)
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


@record(slots=True)
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


@record(slots=True)
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
    mig_pending: str | None = None
    """The MIG mode after the next GPU reset or reboot ("enabled"/"disabled"), when the source gives it."""
    mig_supported: bool | None = None
    """False when NVML or nvidia-smi said the GPU has no MIG (not supported, ``[N/A]``); None: not told."""


@record(slots=True)
class GpuFacts:
    """``count`` is None when the probe could not count the GPUs."""

    count: int | None = None
    devices: tuple[Gpu, ...] = ()
    source: str | None = None
    error: str | None = None


@record(slots=True)
class CudaToolkit:
    """A toolkit directory; ``nvcc_version`` is what its ``bin/nvcc --version`` says."""

    path: str
    version: str | None = None
    source: str | None = None
    nvcc_version: str | None = None
    error: str | None = None


@record(slots=True)
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


@record(slots=True)
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


@record(slots=True)
class CudnnInstall:
    """One place cuDNN was found: ``source`` is header, library, dpkg, rpm or pip.

    For a library, ``version`` is what ``cudnnGetVersion()`` returned, else what the
    file name says (then ``error`` says why the call failed).
    """

    version: str | None
    source: str
    path: str | None = None
    error: str | None = None


@record(slots=True)
class CudnnFacts:
    """cuDNN: the best version found and every installation seen."""

    version: str | None = None
    source: str | None = None
    installs: tuple[CudnnInstall, ...] = ()
    error: str | None = None


@record(slots=True)
class TensorRTLibrary:
    """One TensorRT shared library the probe found (``libnvinfer.so.10``), its version where it could tell."""

    name: str
    path: str | None = None
    version: str | None = None
    source: str | None = None
    error: str | None = None


@record(slots=True)
class PluginCreator:
    """A plugin creator in TensorRT's registry: the plugin's registered name, version and namespace."""

    name: str
    version: str = ""
    namespace: str = ""


@record(slots=True)
class PluginRegistry:
    """A TensorRT module's plugin registry after loading the standard plugin library where the module can.

    ``library`` is what ``init_libnvinfer_plugins`` returned (None: the module has none, as the
    lean and dispatch runtimes); ``error`` what stopped the listing.
    """

    creators: tuple[PluginCreator, ...] = ()
    library: bool | None = None
    error: str | None = None

    def has(self, name: str) -> bool:
        """True when a creator of that name is registered (any version, any namespace)."""
        return any(c.name == name for c in self.creators)


@record(slots=True)
class TensorRTModule:
    """An importable Python module (``tensorrt``, ``tensorrt_lean``, ``tensorrt_dispatch``).

    ``plugins`` is its plugin registry (None when the probe did not list it: no policy asked, an
    older probe, or the import failed).
    """

    module: str
    version: str | None = None
    error: str | None = None
    plugins: PluginRegistry | None = None


@record(slots=True)
class TensorRTPackage:
    """A package a package manager knows: ``manager`` is dpkg, rpm or pip."""

    name: str
    version: str | None
    manager: str


@record(slots=True)
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
    """How a test-load of an engine ended (classified from TensorRT's log, docs/research/tensorrt-compat.md 1.7)."""

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


@record(slots=True)
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


@record(slots=True)
class EnginesFacts:
    """The engines the policy asked the probe to check on this host."""

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


@record(slots=True)
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


@record(slots=True)
class ReferenceItem:
    """One required reference engine: how many plans were shipped and the run per GPU model."""

    name: str
    candidates: int = 0
    runs: tuple[ReferenceRun, ...] = ()
    error: str | None = None


@record(slots=True)
class ReferenceFacts:
    """Reference engine runs; ``requested`` False when the controller asked for none (or an older probe)."""

    requested: bool = False
    items: tuple[ReferenceItem, ...] = ()
    error: str | None = None

    def item(self, name: str) -> ReferenceItem | None:
        """The runs of the reference engine called ``name``, if the probe reported it."""
        return next((i for i in self.items if i.name == name), None)


@record(slots=True)
class ContainerImage:
    """One local container image (``docker images``): repository, tag and ID."""

    repository: str
    tag: str | None = None
    id: str | None = None


@record(slots=True)
class RunningContainer:
    """One container as ``docker ps -a`` and ``docker inspect`` describe it.

    ``image`` is the reference as the user typed it (``.Config.Image``: a tag, ``latest`` or a
    digest); ``image_id`` the local image it runs (``sha256:...``, not a registry digest);
    ``digests`` that image's registry digests (``REPO@sha256:...``, ``docker image inspect``'s
    ``RepoDigests``): empty for an image never pushed or pulled, None when not inspected.
    ``runtime`` is the OCI runtime (``runc``, ``nvidia``); ``gpus`` what its device requests
    ask of GPUs (``all``, device IDs ``0,1``, a count), None for none. ``inspected`` is False
    when only ``docker ps`` answered (older probes, a failed inspect): then the rest is unknown.
    """

    name: str
    image: str | None = None
    id: str | None = None
    state: str | None = None
    image_id: str | None = None
    digests: tuple[str, ...] | None = None
    runtime: str | None = None
    gpus: str | None = None
    inspected: bool = False

    @property
    def wants_gpus(self) -> bool:
        """True when the container asks for GPUs: a GPU device request (``--gpus``) or the nvidia runtime."""
        return self.gpus is not None or self.runtime == "nvidia"


@record(slots=True)
class ContainerFacts:
    """Images and containers; ``runtime`` None when neither docker nor podman is usable.

    ``running`` are the containers that are up; ``stopped`` the others (``created``, ``exited``):
    a GPU container the engine could not start stays ``created``. ``inspect_error`` says why the
    containers' details (``RunningContainer.inspected``) are missing, when they are.
    """

    runtime: str | None = None
    images: tuple[ContainerImage, ...] = ()
    running: tuple[RunningContainer, ...] = ()
    error: str | None = None
    stopped: tuple[RunningContainer, ...] = ()
    inspect_error: str | None = None

    @property
    def containers(self) -> tuple[RunningContainer, ...]:
        """Every container, up or not."""
        return self.running + self.stopped


@record(slots=True)
class DockerRuntimeConfig:
    """docker's runtimes: what ``/etc/docker/daemon.json`` configures and what the daemon loaded.

    ``config`` is the daemon.json path (None: no file); ``runtimes`` its runtime names,
    ``nvidia_path`` the nvidia runtime's program, ``cdi`` its ``features.cdi``.
    ``daemon_runtimes`` is what ``docker info`` reported (None: not asked, or ``daemon_error``).
    """

    config: str | None = None
    runtimes: tuple[str, ...] = ()
    default_runtime: str | None = None
    nvidia_path: str | None = None
    cdi: bool = False
    daemon_runtimes: tuple[str, ...] | None = None
    daemon_default_runtime: str | None = None
    daemon_error: str | None = None
    error: str | None = None

    @property
    def nvidia(self) -> bool | None:
        """Whether docker runs the nvidia runtime: the daemon's own answer, else daemon.json's."""
        if self.daemon_runtimes is not None:
            return "nvidia" in self.daemon_runtimes
        if self.config is not None and self.error is None:
            return "nvidia" in self.runtimes
        return None


@record(slots=True)
class EngineRuntimeConfig:
    """containerd's or CRI-O's runtime configuration: the files read, the runtimes they define,
    the default runtime (containerd), and the program the nvidia runtime runs."""

    configs: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()
    default_runtime: str | None = None
    nvidia_program: str | None = None
    error: str | None = None

    @property
    def nvidia(self) -> bool:
        return "nvidia" in self.runtimes


@record(slots=True)
class ContainerToolkitFacts:
    """The NVIDIA Container Toolkit and the engines' runtime configuration (``container_toolkit``).

    ``collected`` is False when the probe did not report the section (older probes).
    ``programs`` maps each toolkit program to its path (None: absent). Each engine's part is
    None when the host has neither its configuration nor (docker) its command.
    """

    collected: bool = False
    installed: bool = False
    version: str | None = None
    version_source: str | None = None
    programs: tuple[tuple[str, str | None], ...] = ()
    config: str | None = None
    mode: str | None = None
    docker: DockerRuntimeConfig | None = None
    containerd: EngineRuntimeConfig | None = None
    crio: EngineRuntimeConfig | None = None
    cdi_specs: tuple[str, ...] = ()
    notes: str | None = None
    error: str | None = None

    def program(self, name: str) -> str | None:
        """Where the toolkit program ``name`` is, or None."""
        return dict(self.programs).get(name)


@record(slots=True)
class MigInstance:
    """One GPU instance (``nvidia-smi mig -lgi``): its profile (``3g.71gb``), profile and instance IDs, placement."""

    profile: str
    profile_id: int | None = None
    instance_id: int | None = None
    placement: str | None = None


@record(slots=True)
class MigDevice:
    """One GPU's MIG state: modes "enabled"/"disabled" (None: not told), ``supported`` False for a GPU
    without MIG, and its GPU instances when MIG is on (None: off, or they could not be listed)."""

    index: int | None = None
    uuid: str | None = None
    current: str | None = None
    pending: str | None = None
    supported: bool | None = None
    instances: tuple[MigInstance, ...] | None = None


@record(slots=True)
class MigFacts:
    """MIG per GPU (the ``mig`` section); ``collected`` False when the probe did not report it."""

    collected: bool = False
    devices: tuple[MigDevice, ...] = ()
    source: str | None = None
    instances_source: str | None = None
    error: str | None = None


class PackageManager(enum.Enum):
    """What installs packages on a host (``packages.manager``)."""

    APT = "apt"
    """dpkg with apt (Debian, Ubuntu)."""
    DPKG = "dpkg"
    """dpkg without apt: installed packages are known, repositories are not."""
    DNF = "dnf"
    """rpm with dnf 4 (RHEL 8-10, Rocky, Amazon Linux 2023)."""
    DNF5 = "dnf5"
    """rpm with dnf 5 (Fedora 41+): its version locks are not read."""
    YUM = "yum"
    """rpm with yum (RHEL 7): repositories are not read."""
    RPM = "rpm"
    """rpm without dnf or yum."""

    @property
    def debian(self) -> bool:
        """True for dpkg-based managers (versions ``[EPOCH:]UPSTREAM-REVISION``)."""
        return self in (PackageManager.APT, PackageManager.DPKG)


@record(slots=True)
class InstalledPackage:
    """An installed NVIDIA package: ``version`` in the manager's own form (dpkg ``[EPOCH:]UPSTREAM-REVISION``,
    rpm ``EPOCH:VERSION-RELEASE``); ``held`` for an apt hold, or a dnf version lock on this very version."""

    name: str
    version: str
    arch: str | None = None
    held: bool = False


@record(slots=True)
class VersionLock:
    """One entry of dnf's version lock list: a glob over ``NAME-EPOCH:VERSION-RELEASE.ARCH``; ``exclude``
    for a ``!`` entry (that version may not be installed)."""

    pattern: str
    exclude: bool = False


@record(slots=True)
class CachedPackage:
    """A package file in the local cache: installable from ``path`` only, never by name and version.

    An RPM file name carries no epoch, so ``version`` is ``VERSION-RELEASE`` there.
    """

    name: str
    version: str
    path: str
    arch: str | None = None


@record(slots=True)
class OfferedVersion:
    """A version a configured repository offers (from the host's metadata, as of its last refresh).

    ``priority`` is apt's pin priority for it (apt only); ``sources`` where it comes from.
    """

    name: str
    version: str
    arch: str | None = None
    priority: int | None = None
    sources: tuple[str, ...] = ()


@record(slots=True)
class PackageAvailability:
    """What the repositories offer for ``names`` (the installed NVIDIA packages and the names asked).

    ``lists`` False means the host has no repository metadata at all (``apt-get update`` never
    ran, or the lists were cleaned as container images do): then nothing can be told about
    what is installable, which is not the same as "nothing is". ``error`` when the query failed.
    """

    source: str | None = None
    names: tuple[str, ...] = ()
    lists: bool | None = None
    versions: tuple[OfferedVersion, ...] = ()
    error: str | None = None

    @property
    def known(self) -> bool:
        """True when the answer can be relied on (the query ran, over repository metadata)."""
        return self.error is None and self.lists is not False and self.source is not None

    def offered(self, name: str) -> tuple[OfferedVersion, ...]:
        """The versions offered for ``name`` (empty: none, or ``name`` was not asked about)."""
        return tuple(v for v in self.versions if v.name == name)


@record(slots=True)
class PackageFacts:
    """The package manager's view of NVIDIA's packages (``packages`` section, read-only).

    ``availability`` is None when the controller did not ask (``auditor report`` does not;
    ``auditor plan`` does). ``collected`` is False for facts from a probe without the section.
    """

    manager: PackageManager | None = None
    installed: tuple[InstalledPackage, ...] = ()
    locks: tuple[VersionLock, ...] = ()
    cached: tuple[CachedPackage, ...] = ()
    availability: PackageAvailability | None = None
    error: str | None = None
    truncated: bool = False
    collected: bool = True

    def package(self, name: str) -> InstalledPackage | None:
        """The installed package called ``name``, if any."""
        return next((p for p in self.installed if p.name == name), None)


def encode_document(document: Mapping[str, Any]) -> bytes:
    """``document`` as ``Facts.document`` keeps a cleaned one: compact JSON, UTF-8, keys in their order."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@record(slots=True)
class Facts:
    """Everything one probe run reported, typed. ``raw`` is the cleaned JSON for reports."""

    probe_version: str
    collected_at: str | None
    host: HostInfo
    driver: DriverFacts
    gpus: GpuFacts
    cuda: CudaFacts
    tensorrt: TensorRTFacts
    document: bytes
    """The cleaned probe JSON, what ``raw`` decodes: the host's own text when reading it changed
    nothing (nearly always: no second encoding per host), else ``encode_document`` of the cleaned
    tree. One bytes object instead of a tree of dictionaries: a 10,000-host run keeps every host's
    document, and as a tree the documents were three quarters of what the run held (``bench/scale.py``)."""
    cudnn: CudnnFacts = CudnnFacts()
    engines: EnginesFacts = EnginesFacts()
    containers: ContainerFacts = ContainerFacts()
    truncated: bool = False
    """The probe cut long lists to stay under its output cap (the cut lists' owners say ``truncated``)."""
    reference: ReferenceFacts = ReferenceFacts()
    packages: PackageFacts = PackageFacts(collected=False)
    container_toolkit: ContainerToolkitFacts = ContainerToolkitFacts()
    mig: MigFacts = MigFacts()

    @property
    def raw(self) -> dict[str, Any]:
        """The cleaned probe JSON, for reports and the detail view: a new dictionary at each call."""
        return json.loads(self.document)  # type: ignore[no-any-return]

    def section_error(self, name: str) -> str | None:
        """The error a collector reported for its section (``host``, ``driver``, ...), if any."""
        section = getattr(self, name)
        return section.error if isinstance(section.error, str) else None
