"""``auditor engines verify``: every library plan checked offline against its metadata and its header.

Per plan: the file exists, its size and sha256 are the recorded ones; its header has
TensorRT's ``ftrt`` tag and, for plans from 8.6 on, the TensorRT version in bytes
24-27 (docs/research/tensorrt-compat.md 1.8) equals the one recorded and the directory's; the
directory is ``<tensorrt>/<sm>/``; the recorded expected output is the one its
checksum names; the flags are possible for that TensorRT (version compatibility and
ampere+ from 8.6, same-cc from 10.9) and GPU (ampere+ built on 8.0 or newer); the plan
fits in a probe program (``auditor.probe.MAX_PAYLOAD_BYTES``). Nothing here needs a GPU.
"""

from __future__ import annotations

import hashlib
import struct

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.probe.program import MAX_PAYLOAD_BYTES
from auditor.records import record
from auditor.reference.library import Library, LibraryPlan

FEATURE_SINCE = {
    "version-compatible": "8.6",
    "ampere+": "8.6",
    "same-cc": "10.9",
}  # docs/research/tensorrt-compat.md 1.6


@record
class Verdict:
    """One plan's result: ``problems`` make it unusable, ``warnings`` are worth knowing."""

    plan: LibraryPlan
    problems: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def read_header(data: bytes) -> tuple[bool, str | None]:
    """(``ftrt`` tag present, the four-part TensorRT version in bytes 24-27 or None)."""
    if data[:4] != b"ftrt":
        return False, None
    if len(data) >= 28 and struct.unpack("<I", data[4:8])[0] == 0:
        return True, ".".join(str(part) for part in data[24:28])
    return True, None


def verify_plan(plan: LibraryPlan) -> Verdict:
    """Everything checkable about one plan without a GPU."""
    meta = plan.meta
    problems: list[str] = []
    warnings: list[str] = []
    try:
        data = plan.path.read_bytes()
    except OSError as exc:
        return Verdict(plan, (f"cannot read {plan.path}: {exc.strerror or exc}",))
    if len(data) != meta.size:
        problems.append(f"size is {len(data)} bytes, meta.json says {meta.size}")
    if hashlib.sha256(data).hexdigest() != meta.sha256:
        problems.append("sha256 differs from meta.json: the file changed after the build")
    magic, header_version = read_header(data)
    if not magic:
        problems.append("no 'ftrt' tag at the start: not a TensorRT plan")
    elif header_version is None:
        warnings.append("the header carries no TensorRT version (a plan from before 8.6, or an unknown layout)")
    elif header_version != meta.tensorrt:
        problems.append(f"the header says TensorRT {header_version}, meta.json {meta.tensorrt}")
    directory = plan.path.parent
    if directory.name != meta.sm or directory.parent.name != meta.tensorrt:
        problems.append(f"lives in {directory.parent.name}/{directory.name}/, not {meta.tensorrt}/{meta.sm}/")
    for expected in meta.expected:
        tensor = next((t for t in meta.outputs if t.name == expected.name), None)
        if tensor is not None and tensor.dtype == "FLOAT":
            packed = struct.pack(f"<{len(expected.values)}f", *expected.values)
            if hashlib.sha256(packed).hexdigest() != expected.sha256:
                problems.append(f"the expected values of {expected.name} do not match their checksum")
    features = [f for f, on in (("version-compatible", meta.version_compatible),) if on]
    features += [meta.hardware_compatible] if meta.hardware_compatible != "none" else []
    for feature in features:
        if versions.parse(meta.tensorrt) < versions.parse(FEATURE_SINCE[feature]):
            problems.append(f"{feature} plans need TensorRT {FEATURE_SINCE[feature]} or newer")
    if meta.hardware_compatible == "ampere+" and cuda_kb.cc_tuple(meta.compute_capability) < (8, 0):
        problems.append("ampere+ plans are built on a GPU of compute capability 8.0 or newer")
    if meta.size > MAX_PAYLOAD_BYTES:
        problems.append(
            f"{meta.size / 2**20:.1f} MiB is more than the {MAX_PAYLOAD_BYTES // 2**20} MiB a probe carries: "
            "an audit cannot ship it"
        )
    return Verdict(plan, tuple(problems), tuple(warnings))


def verify_library(library: Library, names: list[str] | None = None) -> list[Verdict]:
    """``verify_plan`` for every plan (or those called one of ``names``), in library order."""
    return [verify_plan(p) for p in library.plans if not names or p.meta.name in names]
