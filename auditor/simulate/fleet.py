"""Simulated fleet files (``auditor.fleet/1``): hosts described instead of pointed at.

Shape (DESIGN.md)::

    schema: auditor.fleet/1
    defaults: {os: "Ubuntu 22.04.4 LTS", python: "3.10.12"}
    hosts:
      a100-serve-01:
        groups: [serving, a100]
        gpus: [{model: "NVIDIA A100-SXM4-80GB", count: 8}]
        driver: "535.104.05"          # user-space driver (NVML)
        kernel_module: "535.104.05"   # optional; differs from driver -> mismatch
        cuda_toolkits: ["12.2.2"]
        cudnn: "8.9.5"
        tensorrt: "8.6.1.6"
        python_tensorrt: "8.6.1.6"
        engines:
          /srv/models/resnet50.plan: {tensorrt: "8.6.1.6", compute_capability: "8.0"}
        fault: null

``defaults`` may set any host key. A GPU model the knowledge base knows needs no
``compute_capability``. Optional keys that shape the fixture root further:

    driver_state: not-loaded        # or permission-denied; default loaded
    cuda_compat: {"12.8": "570.124.06"}   # cuda-compat package: toolkit -> its driver libs
    pip: {nvidia-cudnn-cu12: "9.1.0.70"}  # wheels in the host's site-packages
    containers: {runtime: docker, access: ok, images: ["nvcr.io/nvidia/tritonserver:24.05-py3"],
                 running: [{name: triton, image: "nvcr.io/nvidia/tritonserver:24.05-py3"}]}
    # a container may also say: digest ("sha256:<64 hex>"; default one derived from the image,
    # "none" for an image never pushed or pulled), gpus (all, "0,1", none; default all),
    # runtime (runc, nvidia; default runc), state (running, created, exited; default running)
    container_toolkit: {state: configured, version: "1.17.8", engines: [docker]}
    # state: configured (the default where containers are given), absent (no toolkit),
    # unconfigured (installed, docker/containerd not configured), not-restarted (daemon.json
    # configured, the running daemon without the runtime); engines: docker, containerd
    gpus: [{model: "NVIDIA H100 80GB HBM3", count: 8,
            mig: {mode: enabled, pending: enabled, profiles: ["3g.40gb", "3g.40gb"]}}]
    # MIG on a MIG-capable model: current mode, pending mode (default: the current one),
    # and the GPU instances each GPU has (profile names as nvidia-smi mig -lgi prints them)
    engines:
      /srv/models/det.plan: {tensorrt: "10.3.0.26", compute_capability: "8.6", outcome: missing-plugin}
    python_tensorrt_lean: "10.3.0.26"     # an importable tensorrt_lean (runs version-compatible plans only)
    gpu_fault: wrong-output               # or out-of-memory: what a reference engine run meets
    probe_output: forged-facts.json       # answer the probe with this file's bytes (relative to the fleet file)
    packages: {held: [driver], gone: [cudnn], cached: [cudnn], lists: true, pinned: {driver: "580.95.05"}}

``packages`` shapes the host's apt view of its NVIDIA packages (driver, cuda, cudnn, tensorrt:
every installed component is a dpkg package): ``held`` components are held (``apt-mark
hold``), ``gone`` ones are no longer offered by the repository at their installed version,
``cached`` ones have that version's file in ``/var/cache/apt/archives``, ``lists: false`` is a
host without repository metadata, ``pinned`` an apt pin (priority 1000) on a version. The
fleet's top-level ``repository: {driver: [...], cuda: [...], cudnn: [...], tensorrt: [...]}``
lists the versions its one package repository offers besides each host's installed ones.

Faults beyond DESIGN.md's: ``drop`` (the connection drops in the middle of the probe's
output), ``killed`` (the probe dies of SIGKILL), ``host-key-type`` (the server offers
only an ECDSA host key while known_hosts pins its Ed25519 one).

``probe_output`` makes a host that lies: its SSH server is real, but instead of running
the probe it prints the file, verbatim, and exits 0 (a forged or broken facts document).

An engine's ``outcome`` forces what a test-load meets beyond version and device:
``missing-plugin``, ``crash``, ``hang`` or ``corrupt`` (a truncated plan).
"""

from __future__ import annotations

import re
from dataclasses import field, replace
from pathlib import Path
from typing import Any

from auditor import versions
from auditor.errors import InputError, InputErrors, Location
from auditor.inventory import hostnames
from auditor.knowledge import gpus as gpus_kb
from auditor.records import record
from auditor.yamlsrc import (
    YamlMap,
    as_text,
    check_keys,
    load_yaml,
    require_list,
    require_map,
    type_name,
)

SCHEMA = "auditor.fleet/1"
FAULTS = (
    "unreachable",
    "auth-denied",
    "host-key-changed",
    "hang",
    "slow",
    "garbage",
    "flood",
    "no-gpu",
    "no-python",
    "drop",
    "killed",
    "host-key-type",
)
HOST_KEYS = (
    "groups",
    "gpus",
    "driver",
    "kernel_module",
    "cuda_toolkits",
    "cudnn",
    "tensorrt",
    "python_tensorrt",
    "engines",
    "fault",
    "os",
    "python",
    "kernel",
    "vars",
    "driver_state",
    "cuda_compat",
    "pip",
    "containers",
    "python_tensorrt_lean",
    "gpu_fault",
    "probe_output",
    "packages",
    "container_toolkit",
)
GPU_FAULTS = ("wrong-output", "out-of-memory")
DRIVER_STATES = ("loaded", "not-loaded", "permission-denied")
ENGINE_OUTCOMES = ("missing-plugin", "crash", "hang", "corrupt")
PROBE_OUTPUT_LIMIT = 16 * 1024 * 1024  # a forged document beyond any --max-output still fits
PACKAGE_COMPONENTS = ("driver", "cuda", "cudnn", "tensorrt")
"""The components ``packages:`` and ``repository:`` name (a simulated host's dpkg packages belong to one each)."""
VERSION_KEYS = ("driver", "kernel_module", "cudnn", "tensorrt", "python_tensorrt", "python_tensorrt_lean")
MIG_CAPABLE = ("A100", "A30", "H100", "H200", "H800", "B200", "GB200")
"""GPU models (by name) the simulator lets enable MIG (NVIDIA's MIG User Guide, "Supported GPUs")."""
CONTAINER_STATES = ("running", "created", "exited")
TOOLKIT_STATES = ("configured", "absent", "unconfigured", "not-restarted")
TOOLKIT_ENGINES = ("docker", "containerd")
MIG_MODES = ("enabled", "disabled")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_MIG_PROFILE = re.compile(r"^[1-9]\d?g\.\d{1,4}gb(?:\+[a-z0-9]{1,16}){0,4}$")


@record
class MigSpec:
    """MIG on a simulated GPU: the current and pending modes, and the GPU instances (profile names)."""

    mode: str = "disabled"
    pending: str = "disabled"
    profiles: tuple[str, ...] = ()


@record
class GpuSpec:
    model: str
    count: int
    compute_capability: str
    mig: MigSpec | None = None


@record
class EngineSpec:
    """An engine file on a simulated host; ``outcome`` forces a load failure (ENGINE_OUTCOMES)."""

    tensorrt: str
    compute_capability: str
    outcome: str | None = None


@record
class ContainerRun:
    """One container on a simulated host: its image as typed, its image's registry digest ("" for none:
    never pushed or pulled), what it asks of GPUs ("all", "0,1"; None: nothing), its runtime and state."""

    name: str
    image: str
    digest: str | None = None
    gpus: str | None = "all"
    runtime: str = "runc"
    state: str = "running"


@record
class ContainerSpec:
    """Container images and containers a simulated host's docker (or podman) lists.

    ``running`` keeps (name, image) pairs as before; ``containers`` has every container with
    its details (``ContainerRun``), running or not.
    """

    runtime: str = "docker"
    access: str = "ok"
    images: tuple[str, ...] = ()
    running: tuple[tuple[str, str], ...] = ()
    containers: tuple[ContainerRun, ...] = ()


@record
class ToolkitSpec:
    """The NVIDIA Container Toolkit on a simulated host (``TOOLKIT_STATES``) and the engines it configures."""

    state: str = "configured"
    version: str = "1.17.8"
    engines: tuple[str, ...] = ("docker",)


@record
class PackageSpec:
    """A simulated host's apt view of its NVIDIA packages (see the module docstring)."""

    held: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()
    cached: tuple[str, ...] = ()
    lists: bool = True
    pinned: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@record
class SimHost:
    """One simulated host's profile."""

    name: str
    groups: tuple[str, ...] = ()
    gpus: tuple[GpuSpec, ...] = ()
    driver: str | None = None
    kernel_module: str | None = None
    cuda_toolkits: tuple[str, ...] = ()
    cudnn: str | None = None
    tensorrt: str | None = None
    python_tensorrt: str | None = None
    engines: dict[str, EngineSpec] = field(default_factory=dict, hash=False, compare=False)
    fault: str | None = None
    os: str = "Ubuntu 22.04.4 LTS"
    python: str = "3.10.12"
    kernel: str = "5.15.0-105-generic"
    vars: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    driver_state: str = "loaded"
    cuda_compat: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    pip: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    containers: ContainerSpec | None = None
    python_tensorrt_lean: str | None = None
    gpu_fault: str | None = None
    probe_output: bytes | None = field(default=None, compare=False, repr=False)
    """What the host prints instead of running the probe (``probe_output:`` file's bytes)."""
    packages: PackageSpec = field(default_factory=PackageSpec, compare=False)
    repository: dict[str, tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    """The fleet's repository: versions offered per component besides the installed ones."""
    container_toolkit: ToolkitSpec | None = None
    """The NVIDIA Container Toolkit; None: none, unless the host has containers (then configured)."""

    @property
    def gpu_count(self) -> int:
        return sum(g.count for g in self.gpus)


@record
class Fleet:
    name: str
    source: str
    hosts: tuple[SimHost, ...]


def load_fleet(path: str | Path) -> Fleet:
    """Read and validate a fleet file (errors located, all at once)."""
    data = load_yaml(path)
    where = Location(str(path), 1)
    if data is None:
        raise InputError("fleet file is empty", where)
    return parse_fleet(require_map(data, "a fleet", where), str(path))


def parse_fleet(data: YamlMap, source: str) -> Fleet:
    """A fleet from its parsed YAML; ``probe_output`` files are read relative to ``source``'s directory."""
    errors = check_keys(
        data, ("schema", "name", "defaults", "hosts", "repository"), "the fleet", required=("schema", "hosts")
    )
    repository: dict[str, tuple[str, ...]] = {}
    if "repository" in data:
        try:
            repository = _repository(data["repository"], data.loc("repository"))
        except InputError as exc:
            errors.extend(exc.problems)
    if data.get("schema") not in (None, SCHEMA):
        errors.append(InputError(f"schema must be {SCHEMA!r}, got {data['schema']!r}", data.loc("schema")))
    defaults: YamlMap | None = None
    if "defaults" in data:
        try:
            defaults = require_map(data["defaults"], "'defaults'", data.loc("defaults"))
            errors.extend(check_keys(defaults, HOST_KEYS, "'defaults'"))
        except InputError as exc:
            errors.append(exc)
    hosts: list[SimHost] = []
    if "hosts" in data:
        try:
            host_map = require_map(data["hosts"], "'hosts'", data.loc("hosts"))
        except InputError as exc:
            errors.append(exc)
            host_map = None
        for name, spec in (host_map or {}).items():
            where = host_map.loc(name) if host_map is not None else data.loc("hosts")
            try:
                hosts.append(replace(_host(name, spec, defaults, where, Path(source).parent), repository=repository))
            except InputError as exc:
                errors.extend(exc.problems)
    if not errors and not hosts:
        errors.append(InputError("the fleet has no hosts", data.loc("hosts")))
    if errors:
        raise InputErrors(errors)
    return Fleet(name=str(data.get("name") or Path(source).stem), source=source, hosts=tuple(hosts))


def _host(name: str, spec: Any, defaults: YamlMap | None, where: Location, base: Path) -> SimHost:
    node = require_map(spec if spec is not None else {}, f"host {name!r}", where)
    errors = check_keys(node, HOST_KEYS, f"host {name!r}")
    problem = hostnames.name_problem(str(name))
    if problem is not None:
        errors.append(InputError(f"host name {problem}", where))
    merged: dict[str, Any] = dict(defaults or {})
    merged.update(node)

    def loc(key: str) -> Location:
        if key in node:
            return node.loc(key)
        return defaults.loc(key) if defaults is not None and key in defaults else where

    fields: dict[str, Any] = {"name": name}
    for key in VERSION_KEYS:
        if merged.get(key) is not None:
            try:
                text = as_text(merged[key], f"'{key}'", loc(key))
                if not versions.is_version(text):
                    raise InputError(f"'{key}' must be a version, got {text!r}", loc(key))
                fields[key] = text
            except InputError as exc:
                errors.append(exc)
    for key in ("os", "python", "kernel"):
        if merged.get(key) is not None:
            try:
                fields[key] = as_text(merged[key], f"'{key}'", loc(key))
            except InputError as exc:
                errors.append(exc)
    try:
        if merged.get("groups") is not None:
            groups = require_list(merged["groups"], "'groups'", loc("groups"))
            fields["groups"] = tuple(as_text(g, "a group", groups.loc(i)) for i, g in enumerate(groups))
        if merged.get("cuda_toolkits") is not None:
            kits = require_list(merged["cuda_toolkits"], "'cuda_toolkits'", loc("cuda_toolkits"))
            fields["cuda_toolkits"] = tuple(_version(k, "a CUDA toolkit", kits.loc(i)) for i, k in enumerate(kits))
        if merged.get("gpus") is not None:
            fields["gpus"] = _gpus(merged["gpus"], loc("gpus"))
        if merged.get("engines") is not None:
            fields["engines"] = _engines(merged["engines"], loc("engines"))
        if merged.get("vars") is not None:
            fields["vars"] = dict(require_map(merged["vars"], "'vars'", loc("vars")))
        if merged.get("driver_state") is not None:
            state = as_text(merged["driver_state"], "'driver_state'", loc("driver_state"))
            if state not in DRIVER_STATES:
                raise InputError(f"'driver_state' must be one of {', '.join(DRIVER_STATES)}", loc("driver_state"))
            fields["driver_state"] = state
        if merged.get("cuda_compat") is not None:
            fields["cuda_compat"] = _version_map(merged["cuda_compat"], "'cuda_compat'", loc("cuda_compat"))
        if merged.get("pip") is not None:
            fields["pip"] = _version_map(merged["pip"], "'pip'", loc("pip"))
        if merged.get("containers") is not None:
            fields["containers"] = _containers(merged["containers"], loc("containers"))
        if merged.get("probe_output") is not None:
            fields["probe_output"] = _probe_output(merged["probe_output"], base, loc("probe_output"))
        if merged.get("packages") is not None:
            fields["packages"] = _packages(merged["packages"], loc("packages"))
        if merged.get("container_toolkit") is not None:
            fields["container_toolkit"] = _toolkit(merged["container_toolkit"], loc("container_toolkit"))
        elif fields.get("containers") is not None:
            fields["container_toolkit"] = ToolkitSpec()
    except InputError as exc:
        errors.extend(exc.problems)
    gpu_fault = merged.get("gpu_fault")
    if gpu_fault is not None:
        if gpu_fault not in GPU_FAULTS:
            errors.append(
                InputError(f"unknown gpu_fault {gpu_fault!r}; one of: {', '.join(GPU_FAULTS)}", loc("gpu_fault"))
            )
        else:
            fields["gpu_fault"] = gpu_fault
    fault = merged.get("fault")
    if fault is not None:
        if fault not in FAULTS:
            errors.append(InputError(f"unknown fault {fault!r}; one of: {', '.join(FAULTS)}", loc("fault")))
        else:
            fields["fault"] = fault
    if fields.get("kernel_module") and not fields.get("driver"):
        errors.append(InputError("'kernel_module' needs 'driver' (the user-space version)", loc("kernel_module")))
    if errors:
        raise InputErrors(errors)
    return SimHost(**fields)


def _probe_output(raw: Any, base: Path, where: Location) -> bytes:
    """The bytes of a ``probe_output`` file (relative paths from the fleet file's directory)."""
    path = base / Path(as_text(raw, "'probe_output'", where)).expanduser()
    try:
        with open(path, "rb") as handle:
            data = handle.read(PROBE_OUTPUT_LIMIT + 1)
    except OSError as exc:
        raise InputError(f"'probe_output': cannot read {path}: {exc.strerror or exc}", where) from None
    if len(data) > PROBE_OUTPUT_LIMIT:
        raise InputError(f"'probe_output': {path} is larger than {PROBE_OUTPUT_LIMIT} bytes", where)
    return data


def _version(raw: Any, what: str, where: Location) -> str:
    text = as_text(raw, what, where)
    if not versions.is_version(text):
        raise InputError(f"{what} must be a version, got {text!r}", where)
    return text


def _gpus(raw: Any, where: Location) -> tuple[GpuSpec, ...]:
    items = require_list(raw, "'gpus'", where)
    result, errors = [], []
    for index, item in enumerate(items):
        try:
            node = require_map(item, "a GPU entry", items.loc(index))
            problems = check_keys(
                node, ("model", "count", "compute_capability", "mig"), "a GPU entry", required=("model",)
            )
            if problems:
                errors.extend(problems)
                continue
            model = as_text(node["model"], "'model'", node.loc("model"))
            count = node.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                errors.append(InputError(f"'count' must be a whole number, got {type_name(count)}", node.loc("count")))
                continue
            if "compute_capability" in node:
                cc = as_text(node["compute_capability"], "'compute_capability'", node.loc("compute_capability"))
            else:
                known = gpus_kb.gpu_model(model)
                if known is None or known.compute_capability is None:
                    errors.append(
                        InputError(f"unknown GPU model {model!r}: give its compute_capability", node.loc("model"))
                    )
                    continue
                cc = known.compute_capability
            mig = None
            if node.get("mig") is not None:
                if not any(m in model for m in MIG_CAPABLE):
                    raise InputError(
                        f"'mig' needs a MIG-capable GPU ({', '.join(MIG_CAPABLE)}), not {model!r}", node.loc("mig")
                    )
                mig = _mig(node["mig"], node.loc("mig"))
            result.append(GpuSpec(model=model, count=count, compute_capability=cc, mig=mig))
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    return tuple(result)


def _engines(raw: Any, where: Location) -> dict[str, EngineSpec]:
    node = require_map(raw, "'engines'", where)
    result, errors = {}, []
    for path, spec in node.items():
        if not path.startswith("/"):
            errors.append(InputError(f"engine path {path!r} must be absolute", node.loc(path)))
            continue
        try:
            entry = require_map(spec, f"engine {path!r}", node.loc(path))
            problems = check_keys(
                entry,
                ("tensorrt", "compute_capability", "outcome"),
                f"engine {path!r}",
                required=("tensorrt", "compute_capability"),
            )
            if problems:
                errors.extend(problems)
                continue
            outcome = entry.get("outcome")
            if outcome is not None and outcome not in ENGINE_OUTCOMES:
                errors.append(
                    InputError(f"'outcome' must be one of {', '.join(ENGINE_OUTCOMES)}", entry.loc("outcome"))
                )
                continue
            result[path] = EngineSpec(
                tensorrt=_version(entry["tensorrt"], "'tensorrt'", entry.loc("tensorrt")),
                compute_capability=as_text(
                    entry["compute_capability"], "'compute_capability'", entry.loc("compute_capability")
                ),
                outcome=outcome,
            )
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    return result


def _version_map(raw: Any, what: str, where: Location) -> dict[str, str]:
    node = require_map(raw, what, where)
    return {str(key): _version(value, f"{what} {key!r}", node.loc(key)) for key, value in node.items()}


def _containers(raw: Any, where: Location) -> ContainerSpec:
    node = require_map(raw, "'containers'", where)
    errors = check_keys(node, ("runtime", "access", "images", "running"), "'containers'")
    if errors:
        raise InputErrors(errors)
    runtime = as_text(node.get("runtime", "docker"), "'runtime'", node.loc("runtime") if "runtime" in node else where)
    access = as_text(node.get("access", "ok"), "'access'", node.loc("access") if "access" in node else where)
    if runtime not in ("docker", "podman"):
        raise InputError("'runtime' must be docker or podman", node.loc("runtime"))
    if access not in ("ok", "denied"):
        raise InputError("'access' must be ok or denied", node.loc("access"))
    images: tuple[str, ...] = ()
    if node.get("images") is not None:
        listed = require_list(node["images"], "'images'", node.loc("images"))
        images = tuple(as_text(image, "an image", listed.loc(i)) for i, image in enumerate(listed))
    runs: list[ContainerRun] = []
    if node.get("running") is not None:
        listed = require_list(node["running"], "'running'", node.loc("running"))
        for index, item in enumerate(listed):
            runs.append(_container_run(item, listed.loc(index)))
    running = tuple((run.name, run.image) for run in runs if run.state == "running")
    return ContainerSpec(runtime=runtime, access=access, images=images, running=running, containers=tuple(runs))


def _container_run(raw: Any, where: Location) -> ContainerRun:
    keys = ("name", "image", "digest", "gpus", "runtime", "state")
    entry = require_map(raw, "a container", where)
    problems = check_keys(entry, keys, "a container", required=("name", "image"))
    if problems:
        raise InputErrors(problems)
    text = {k: as_text(entry[k], f"'{k}'", entry.loc(k)) for k in keys if entry.get(k) is not None}
    digest = text.get("digest")
    if digest is not None and digest != "none" and not _DIGEST.match(digest):
        raise InputError(f"'digest' must be sha256:<64 hex digits> or none, got {digest!r}", entry.loc("digest"))
    state = text.get("state", "running")
    if state not in CONTAINER_STATES:
        raise InputError(f"'state' must be one of {', '.join(CONTAINER_STATES)}", entry.loc("state"))
    gpus = text.get("gpus", "all")
    if not re.match(r"^(all|none|\d+(,\d+)*)$", gpus):
        raise InputError("'gpus' must be all, none or device indexes like 0,1", entry.loc("gpus"))
    runtime = text.get("runtime", "runc")
    if runtime not in ("runc", "nvidia"):
        raise InputError("'runtime' must be runc or nvidia", entry.loc("runtime"))
    return ContainerRun(
        name=text["name"],
        image=text["image"],
        digest="" if digest == "none" else digest,
        gpus=None if gpus == "none" else gpus,
        runtime=runtime,
        state=state,
    )


def _toolkit(raw: Any, where: Location) -> ToolkitSpec:
    node = require_map(raw, "'container_toolkit'", where)
    problems = check_keys(node, ("state", "version", "engines"), "'container_toolkit'")
    if problems:
        raise InputErrors(problems)
    state = as_text(node.get("state", "configured"), "'state'", node.loc("state") if "state" in node else where)
    if state not in TOOLKIT_STATES:
        raise InputError(f"'state' must be one of {', '.join(TOOLKIT_STATES)}", node.loc("state"))
    version = _version(node["version"], "'version'", node.loc("version")) if "version" in node else "1.17.8"
    engines: tuple[str, ...] = ("docker",)
    if node.get("engines") is not None:
        listed = require_list(node["engines"], "'engines'", node.loc("engines"))
        engines = tuple(as_text(e, "an engine", listed.loc(i)) for i, e in enumerate(listed))
        unknown = [e for e in engines if e not in TOOLKIT_ENGINES]
        if unknown:
            raise InputError(
                f"unknown engine {unknown[0]!r}; one of: {', '.join(TOOLKIT_ENGINES)}", node.loc("engines")
            )
    return ToolkitSpec(state=state, version=version, engines=engines)


def _components(raw: Any, what: str, where: Location) -> tuple[str, ...]:
    items = require_list(raw, what, where)
    names = tuple(as_text(item, "a component", items.loc(i)) for i, item in enumerate(items))
    unknown = [n for n in names if n not in PACKAGE_COMPONENTS]
    if unknown:
        raise InputError(f"{what}: unknown component {unknown[0]!r} (one of {', '.join(PACKAGE_COMPONENTS)})", where)
    return names


def _packages(raw: Any, where: Location) -> PackageSpec:
    node = require_map(raw, "'packages'", where)
    errors = check_keys(node, ("held", "gone", "cached", "lists", "pinned"), "'packages'")
    if errors:
        raise InputErrors(errors)
    lists = node.get("lists", True)
    if not isinstance(lists, bool):
        raise InputError(f"'lists' must be true or false, got {type_name(lists)}", node.loc("lists"))
    pinned: dict[str, str] = {}
    if node.get("pinned") is not None:
        pinned = _version_map(node["pinned"], "'pinned'", node.loc("pinned"))
        _components(list(pinned), "'pinned'", node.loc("pinned"))
    return PackageSpec(
        held=_components(node["held"], "'held'", node.loc("held")) if node.get("held") is not None else (),
        gone=_components(node["gone"], "'gone'", node.loc("gone")) if node.get("gone") is not None else (),
        cached=_components(node["cached"], "'cached'", node.loc("cached")) if node.get("cached") is not None else (),
        lists=lists,
        pinned=pinned,
    )


def _repository(raw: Any, where: Location) -> dict[str, tuple[str, ...]]:
    node = require_map(raw, "'repository'", where)
    result: dict[str, tuple[str, ...]] = {}
    errors: list[InputError] = []
    for component, offered in node.items():
        if component not in PACKAGE_COMPONENTS:
            errors.append(
                InputError(
                    f"'repository': unknown component {component!r} (one of {', '.join(PACKAGE_COMPONENTS)})",
                    node.loc(component),
                )
            )
            continue
        try:
            items = require_list(offered, f"'repository.{component}'", node.loc(component))
            result[component] = tuple(_version(v, f"a {component} version", items.loc(i)) for i, v in enumerate(items))
        except InputError as exc:
            errors.extend(exc.problems)
    if errors:
        raise InputErrors(errors)
    return result


def _mig(raw: Any, where: Location) -> MigSpec:
    node = require_map(raw, "'mig'", where)
    problems = check_keys(node, ("mode", "pending", "profiles"), "'mig'", required=("mode",))
    if problems:
        raise InputErrors(problems)
    mode = as_text(node["mode"], "'mode'", node.loc("mode"))
    pending = as_text(node.get("pending", mode), "'pending'", node.loc("pending") if "pending" in node else where)
    for key, value in (("mode", mode), ("pending", pending)):
        if value not in MIG_MODES:
            raise InputError(f"'{key}' must be enabled or disabled", node.loc(key) if key in node else where)
    profiles: tuple[str, ...] = ()
    if node.get("profiles") is not None:
        listed = require_list(node["profiles"], "'profiles'", node.loc("profiles"))
        profiles = tuple(as_text(p, "a MIG profile", listed.loc(i)) for i, p in enumerate(listed))
        bad = [p for p in profiles if not _MIG_PROFILE.match(p)]
        if bad:
            raise InputError(f"not a MIG profile like 3g.40gb: {bad[0]!r}", node.loc("profiles"))
        if mode != "enabled":
            raise InputError("'profiles' need MIG enabled ('mode: enabled')", node.loc("profiles"))
    return MigSpec(mode=mode, pending=pending, profiles=profiles)
