"""Building a reference engine on a host over SSH, and checking what comes back before it is kept.

The program is the probe in build mode (``auditor.probe.builder_program``), run with
one exec like an audit, with its own, larger output cap (the plan comes back in
base64) and timeout. Everything the host prints is untrusted: the JSON is parsed
strictly, the plan's sha256 and header are recomputed here, the TensorRT version is
taken from the plan's own header, strings are cleaned, and the expected output is
recorded from the bytes of the first run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import replace
from typing import Any

from auditor import versions
from auditor.errors import AuditorError
from auditor.inventory import Host
from auditor.probe.program import MAX_PAYLOAD_BYTES, builder_program, remote_command
from auditor.probe.request import encode_request
from auditor.records import record
from auditor.reference.library import (
    TOLERANCE,
    Expected,
    LibraryError,
    PlanMeta,
    TensorSpec,
    as_object,
    now_utc,
    output_values,
)
from auditor.reference.verify import read_header
from auditor.text import clean
from auditor.transport.options import SshOptions
from auditor.transport.outcome import AuditStep
from auditor.transport.runner import probe_host

BUILD_SCHEMA = "auditor.reference-build/1"
BUILD_OUTPUT_BYTES = MAX_PAYLOAD_BYTES * 2  # the plan in base64 (4/3) and the rest of the JSON
DEFAULT_TIMEOUT = 600.0
MAX_LOG = 24


class BuildFailed(AuditorError):
    """The host could not build a checked plan; ``unreachable`` when it was never reached."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@record
class BuildRequest:
    """What to build: ``hardware_compatible`` is none, ampere+ or same-cc; ``gpu`` an index or uuid."""

    name: str
    precision: str = "fp32"
    version_compatible: bool = False
    hardware_compatible: str = "none"
    gpu: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def to_json(self) -> dict[str, Any]:
        job: dict[str, Any] = {
            "name": self.name,
            "precision": self.precision,
            "version_compatible": self.version_compatible,
            "hardware_compatible": self.hardware_compatible,
            "timeout": self.timeout,
        }
        if self.gpu is not None:
            job["gpu"] = self.gpu
        return job


@record
class Built:
    """A checked plan and its metadata, plus what the host logged."""

    meta: PlanMeta
    plan: bytes
    log: tuple[str, ...] = ()


def default_name(precision: str, version_compatible: bool, hardware_compatible: str) -> str:
    """ "ref-fp32", "ref-fp16-vc", "ref-fp32-ampere+": variants never overwrite each other."""
    name = f"ref-{precision}"
    if version_compatible:
        name += "-vc"
    if hardware_compatible != "none":
        name += f"-{hardware_compatible}"
    return name


async def build_on(host: Host, options: SshOptions, request: BuildRequest) -> Built:
    """Build ``request`` on ``host``; raises ``BuildFailed`` (``unreachable`` for connection trouble)."""
    command = remote_command(encode_request(build=request.to_json()))
    settings = replace(options, max_output=BUILD_OUTPUT_BYTES, probe_timeout=request.timeout + 120.0)
    outcome = await probe_host(host, settings, command, builder_program())
    if outcome.error is not None:
        transport = outcome.error.step is not AuditStep.PROBE or outcome.error.timed_out
        raise BuildFailed(f"{host.name}: {outcome.error.step.value}: {outcome.error.message}", unreachable=transport)
    if outcome.exit_status not in (0, None):
        lines = outcome.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = clean(lines[-1], 300) if lines else "no message"
        raise BuildFailed(f"{host.name}: the build program exited with status {outcome.exit_status}: {tail}")
    return parse_build(outcome.stdout, request, host.name)


def parse_build(data: bytes, request: BuildRequest, host_name: str) -> Built:
    """Strictly parse the build program's output into a checked plan; raises ``BuildFailed``."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BuildFailed(f"{host_name}: the build printed no usable JSON: {clean(str(exc), 200)}") from None
    if not isinstance(document, dict) or document.get("schema") != BUILD_SCHEMA:
        raise BuildFailed(f"{host_name}: the build's output is not {BUILD_SCHEMA}")
    log = tuple(clean(str(m), 512) for m in (document.get("log") or [])[:MAX_LOG] if isinstance(m, str))
    if document.get("status") != "ok":
        raise BuildFailed(f"{host_name}: {clean(str(document.get('error') or 'the build failed'), 2048)}")
    try:
        plan = base64.b64decode(str(document.get("plan")), validate=True)
    except ValueError:
        raise BuildFailed(f"{host_name}: the plan is not valid base64") from None
    sha = hashlib.sha256(plan).hexdigest()
    if sha != document.get("plan_sha256"):
        raise BuildFailed(f"{host_name}: the plan's sha256 is not the one the host reported (damaged in transit)")
    magic, tensorrt = read_header(plan)
    if not magic or tensorrt is None:
        raise BuildFailed(f"{host_name}: the plan has no TensorRT header with a version (ftrt, bytes 24-27)")
    runtime = str((document.get("tensorrt") or {}).get("version") or "")
    if versions.is_version(runtime):  # the module may say only three parts (pip 10.0-10.7)
        have = versions.parse(runtime).release[:4]
        if versions.parse(tensorrt).release[: len(have)] != have:
            raise BuildFailed(f"{host_name}: the plan says TensorRT {tensorrt}, the builder {clean(runtime, 64)}")
    gpu = as_object(document.get("gpu"))
    cc = str(gpu.get("compute_capability") or "")
    device = as_object(document.get("device"))
    if not re.match(r"^\d+\.\d+$", cc) or (device.get("cc") and device.get("cc") != cc):
        raise BuildFailed(
            f"{host_name}: unusable compute capability {clean(cc, 16)!r} (CUDA said {device.get('cc')!r})"
        )
    try:
        inputs = tuple(_tensor(t, with_data=True) for t in document.get("inputs") or [])
        outputs, expected = _outputs(document.get("outputs") or [])
    except (LibraryError, KeyError, TypeError, ValueError) as exc:
        raise BuildFailed(f"{host_name}: unusable tensors: {clean(str(exc), 300)}") from None
    if not inputs or not outputs:
        raise BuildFailed(f"{host_name}: the build reported no inputs or outputs")
    atol, rtol = TOLERANCE[request.precision]
    build_info = as_object(document.get("build"))
    host_info = as_object(document.get("host"))
    notes = {
        key: value
        for key, value in {
            "seconds": build_info.get("seconds"),
            "typing": build_info.get("typing"),
            "weights": build_info.get("weights"),
            "tf32": build_info.get("tf32"),
            "load_s": document.get("load_s"),
            "run_s": document.get("run_s"),
            "cuda_api": document.get("cuda_api"),
            "reference_check": document.get("reference_check"),
            "gpu_uuid": gpu.get("uuid"),
            "probe_version": document.get("probe_version"),
        }.items()
        if isinstance(value, (str, int, float, dict)) and not isinstance(value, bool)
    }
    meta = PlanMeta(
        name=request.name,
        tensorrt=tensorrt,
        compute_capability=cc,
        precision=request.precision,
        sha256=sha,
        size=len(plan),
        inputs=inputs,
        outputs=outputs,
        expected=expected,
        atol=atol,
        rtol=rtol,
        version_compatible=request.version_compatible,
        hardware_compatible=request.hardware_compatible,
        gpu=clean(str(gpu.get("name")), 128) if gpu.get("name") else None,
        host=host_name,
        driver=clean(str(host_info.get("driver")), 64) if host_info.get("driver") else None,
        built_at=now_utc(),
        network=as_object(document.get("network")),
        build=notes,
    )
    return Built(meta, plan, log)


def _tensor(raw: Any, with_data: bool) -> TensorSpec:
    if not isinstance(raw, dict):
        raise LibraryError("a tensor must be an object")
    shape = raw["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise LibraryError("shapes must be positive whole numbers")
    name, dtype = clean(str(raw["name"]), 128), clean(str(raw["dtype"]), 16)
    data = raw.get("data") if with_data else None
    if with_data:
        base64.b64decode(str(data), validate=True)
    return TensorSpec(name, tuple(shape), dtype, str(data) if data is not None else None)


def _outputs(raw: list[Any]) -> tuple[tuple[TensorSpec, ...], tuple[Expected, ...]]:
    tensors, expected = [], []
    for item in raw:
        tensor = _tensor(item, with_data=False)
        data = base64.b64decode(str(item.get("data")), validate=True)
        values = output_values(data, tensor.dtype)
        if len(values) != tensor.count:
            raise LibraryError(f"output {tensor.name} has {len(values)} values for shape {list(tensor.shape)}")
        if not all(math.isfinite(v) for v in values):
            raise LibraryError(f"output {tensor.name} is not finite: the plan computes nothing usable")
        tensors.append(tensor)
        expected.append(Expected(tensor.name, values, hashlib.sha256(data).hexdigest()))
    return tuple(tensors), tuple(expected)
