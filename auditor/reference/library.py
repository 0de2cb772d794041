"""The local engine library: reference plans and what is known about each, on disk.

Layout (one directory per TensorRT build and GPU architecture, as plans are locked to both)::

    <library>/<tensorrt-version>/<sm>/<name>.plan
    <library>/<tensorrt-version>/<sm>/meta.json     {"schema": "auditor.engines/1", "plans": {<name>: {...}}}

for example ``engines/10.3.0.26/sm86/ref-fp32.plan``. The library is
``$XDG_DATA_HOME/auditor/engines`` (else ``~/.local/share/auditor/engines``) unless
``--library DIR`` names another. ``meta.json`` records, per plan: the TensorRT version
with its build number, the compute capability and GPU it was built on, precision and
compatibility flags, the input and output tensors with the recorded input, the
expected output (values and the sha256 of its bytes) and the tolerance, the plan's
sha256 and size, and the host, driver and date of the build.

Reading never raises for one broken entry: ``load_library`` keeps every problem
(``Library.problems``) so ``auditor engines list`` can still show the rest, and
``verify`` re-checks each plan against its metadata and its header.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import math
import os
import re
import struct
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from auditor import versions
from auditor.knowledge import gpus as gpus_kb
from auditor.records import record

SCHEMA = "auditor.engines/1"
META = "meta.json"
PRECISIONS = ("fp32", "fp16")
HARDWARE_LEVELS = ("none", "ampere+", "same-cc")
# Tolerance of a later run against the recorded output. The same plan on the same kind of GPU
# normally reproduces its output bit for bit; these only absorb another GPU model's rounding.
TOLERANCE = {"fp32": (1e-4, 1e-3), "fp16": (1e-2, 1e-2)}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")


def as_object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (optional sections of untrusted JSON)."""
    return value if isinstance(value, dict) else {}


def valid_name(name: str) -> bool:
    """A plan name is letters, digits, '.', '_', '+' or '-' (at most 64), starting with a letter or digit."""
    return bool(_NAME.match(name))


class LibraryError(ValueError):
    """A library entry that cannot be used; the message names the file."""


def default_library() -> Path:
    """``$XDG_DATA_HOME/auditor/engines`` (XDG Base Directory spec), else ``~/.local/share/auditor/engines``."""
    data = os.environ.get("XDG_DATA_HOME")
    base = Path(data) if data and os.path.isabs(data) else Path.home() / ".local" / "share"
    return base / "auditor" / "engines"


@record
class TensorSpec:
    """An input or output tensor; ``data`` (inputs) is base64 of its bytes, little-endian."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    data: str | None = None

    @property
    def count(self) -> int:
        return math.prod(self.shape)


@record
class Expected:
    """A recorded output: its float values and the sha256 of its exact bytes."""

    name: str
    values: tuple[float, ...]
    sha256: str


@record
class PlanMeta:
    """Everything ``meta.json`` says about one plan (see the module docstring)."""

    name: str
    tensorrt: str
    compute_capability: str
    precision: str
    sha256: str
    size: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    expected: tuple[Expected, ...]
    atol: float
    rtol: float
    version_compatible: bool = False
    hardware_compatible: str = "none"
    gpu: str | None = None
    host: str | None = None
    driver: str | None = None
    built_at: str | None = None
    network: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    build: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sm(self) -> str:
        """The architecture directory: "8.6" -> "sm86"."""
        return gpus_kb.sm(self.compute_capability)

    @property
    def id(self) -> str:
        """``<tensorrt>/<sm>/<name>``: where it lives in the library, and how findings name it."""
        return f"{self.tensorrt}/{self.sm}/{self.name}"

    @property
    def flags(self) -> str:
        """Precision and compatibility flags, for tables: "fp16 vc ampere+"."""
        parts = [self.precision]
        if self.version_compatible:
            parts.append("vc")
        if self.hardware_compatible != "none":
            parts.append(self.hardware_compatible)
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        def tensor(t: TensorSpec) -> dict[str, Any]:
            item: dict[str, Any] = {"name": t.name, "shape": list(t.shape), "dtype": t.dtype}
            if t.data is not None:
                item["data"] = t.data
            return item

        return {
            "file": f"{self.name}.plan",
            "tensorrt": self.tensorrt,
            "compute_capability": self.compute_capability,
            "gpu": self.gpu,
            "precision": self.precision,
            "version_compatible": self.version_compatible,
            "hardware_compatible": self.hardware_compatible,
            "sha256": self.sha256,
            "size": self.size,
            "inputs": [tensor(t) for t in self.inputs],
            "outputs": [tensor(t) for t in self.outputs],
            "expected": {e.name: {"values": list(e.values), "sha256": e.sha256} for e in self.expected},
            "tolerance": {"atol": self.atol, "rtol": self.rtol},
            "network": dict(self.network),
            "built": {"host": self.host, "driver": self.driver, "at": self.built_at, **dict(self.build)},
        }


@record
class LibraryPlan:
    """A plan in the library: its metadata and where its files are."""

    meta: PlanMeta
    path: Path
    meta_path: Path


@record
class Library:
    """Every readable plan under ``root``, and a line per entry that could not be read."""

    root: Path
    plans: tuple[LibraryPlan, ...] = ()
    problems: tuple[str, ...] = ()

    def named(self, name: str) -> list[LibraryPlan]:
        """The plans called ``name``, any TensorRT and architecture."""
        return [p for p in self.plans if p.meta.name == name]

    @property
    def names(self) -> list[str]:
        return sorted({p.meta.name for p in self.plans})


def load_library(root: str | os.PathLike[str] | None = None) -> Library:
    """Read every ``<tensorrt>/<sm>/meta.json`` under ``root`` (default: ``default_library()``)."""
    base = Path(root) if root is not None else default_library()
    plans: list[LibraryPlan] = []
    problems: list[str] = []
    for meta_path in sorted(base.glob(f"*/*/{META}")):
        try:
            document = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{meta_path}: unreadable: {exc}")
            continue
        if not isinstance(document, dict) or document.get("schema") != SCHEMA:
            problems.append(f"{meta_path}: not an {SCHEMA} file")
            continue
        entries = document.get("plans")
        if not isinstance(entries, dict):
            problems.append(f"{meta_path}: 'plans' must be an object")
            continue
        for name, entry in sorted(entries.items()):
            try:
                meta = parse_meta(name, entry)
            except LibraryError as exc:
                problems.append(f"{meta_path}: plan {name!r}: {exc}")
                continue
            plans.append(LibraryPlan(meta, meta_path.parent / f"{name}.plan", meta_path))
    return Library(root=base, plans=tuple(plans), problems=tuple(problems))


def parse_meta(name: str, entry: Any) -> PlanMeta:
    """One ``plans`` entry of meta.json, validated; raises ``LibraryError``."""
    if not isinstance(entry, dict):
        raise LibraryError("must be an object")
    if not valid_name(name):
        raise LibraryError("the name must be letters, digits, '.', '_', '+' or '-'")
    tensorrt = _text(entry, "tensorrt")
    if not versions.is_version(tensorrt) or len(versions.parse(tensorrt).release) != 4:
        raise LibraryError(f"'tensorrt' must be a four-part version, got {tensorrt!r}")
    cc = _text(entry, "compute_capability")
    if not re.match(r"^\d+\.\d+$", cc):
        raise LibraryError(f"'compute_capability' must look like 8.6, got {cc!r}")
    precision = _text(entry, "precision")
    if precision not in PRECISIONS:
        raise LibraryError(f"'precision' must be one of {', '.join(PRECISIONS)}")
    hardware = entry.get("hardware_compatible", "none")
    if hardware not in HARDWARE_LEVELS:
        raise LibraryError(f"'hardware_compatible' must be one of {', '.join(HARDWARE_LEVELS)}")
    sha = _text(entry, "sha256")
    if not re.match(r"^[0-9a-f]{64}$", sha):
        raise LibraryError("'sha256' must be 64 hex digits")
    size = entry.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise LibraryError("'size' must be a positive whole number")
    inputs = tuple(_tensor(t, "inputs", data=True) for t in _list(entry, "inputs"))
    outputs = tuple(_tensor(t, "outputs", data=False) for t in _list(entry, "outputs"))
    if not inputs or not outputs:
        raise LibraryError("needs at least one input and one output")
    expected = _expected(entry.get("expected"), outputs)
    tolerance = entry.get("tolerance")
    if not isinstance(tolerance, dict):
        raise LibraryError("'tolerance' must be an object with atol and rtol")
    atol, rtol = tolerance.get("atol"), tolerance.get("rtol")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in (atol, rtol)):
        raise LibraryError("'tolerance' needs non-negative atol and rtol")
    built = as_object(entry.get("built"))
    return PlanMeta(
        name=name,
        tensorrt=tensorrt,
        compute_capability=cc,
        precision=precision,
        sha256=sha,
        size=size,
        inputs=inputs,
        outputs=outputs,
        expected=expected,
        atol=float(atol),  # type: ignore[arg-type]  # checked to be a number above
        rtol=float(rtol),  # type: ignore[arg-type]
        version_compatible=entry.get("version_compatible") is True,
        hardware_compatible=hardware,
        gpu=entry.get("gpu") if isinstance(entry.get("gpu"), str) else None,
        host=built.get("host") if isinstance(built.get("host"), str) else None,
        driver=built.get("driver") if isinstance(built.get("driver"), str) else None,
        built_at=built.get("at") if isinstance(built.get("at"), str) else None,
        network=as_object(entry.get("network")),
        build={k: v for k, v in built.items() if k not in ("host", "driver", "at")},
    )


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise LibraryError(f"{key!r} must be a string")
    return value


def _list(entry: Mapping[str, Any], key: str) -> list[Any]:
    value = entry.get(key)
    if not isinstance(value, list):
        raise LibraryError(f"{key!r} must be a list")
    return value


def _tensor(raw: Any, what: str, data: bool) -> TensorSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("dtype"), str):
        raise LibraryError(f"each of {what} needs a name and a dtype")
    shape = raw.get("shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise LibraryError(f"{what} {raw['name']}: 'shape' must be a list of positive whole numbers")
    tensor = TensorSpec(raw["name"], tuple(shape), raw["dtype"], raw.get("data") if data else None)
    if data:
        if not isinstance(tensor.data, str):
            raise LibraryError(f"input {tensor.name} has no recorded data")
        try:
            size = len(base64.b64decode(tensor.data, validate=True))
        except ValueError:
            raise LibraryError(f"input {tensor.name}: 'data' is not base64") from None
        if tensor.dtype == "FLOAT" and size != tensor.count * 4:
            raise LibraryError(f"input {tensor.name}: {size} bytes of data for {tensor.count} floats")
    return tensor


def _expected(raw: Any, outputs: Iterable[TensorSpec]) -> tuple[Expected, ...]:
    if not isinstance(raw, dict):
        raise LibraryError("'expected' must be an object")
    found = []
    for tensor in outputs:
        item = raw.get(tensor.name)
        if not isinstance(item, dict) or not isinstance(item.get("values"), list):
            raise LibraryError(f"no expected values for output {tensor.name}")
        values = item["values"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            raise LibraryError(f"expected values of {tensor.name} must be finite numbers")
        if len(values) != tensor.count:
            raise LibraryError(f"{len(values)} expected values for output {tensor.name} of {tensor.count}")
        sha = item.get("sha256")
        if not isinstance(sha, str) or not re.match(r"^[0-9a-f]{64}$", sha):
            raise LibraryError(f"expected output {tensor.name} needs the sha256 of its bytes")
        found.append(Expected(tensor.name, tuple(float(v) for v in values), sha))
    return tuple(found)


# -- writing ---------------------------------------------------------------------------------


def add_plan(library: str | os.PathLike[str], meta: PlanMeta, plan: bytes) -> LibraryPlan:
    """Store ``plan`` as ``<library>/<tensorrt>/<sm>/<name>.plan`` and its entry in that ``meta.json``.

    Files are replaced atomically (a reader sees the old plan or the new one); a plan of
    the same name, TensorRT and architecture is replaced. Raises ``LibraryError`` when
    ``plan`` does not match ``meta`` or the files cannot be written.
    """
    if hashlib.sha256(plan).hexdigest() != meta.sha256 or len(plan) != meta.size:
        raise LibraryError("the plan's bytes do not match its sha256 and size")
    directory = Path(library) / meta.tensorrt / meta.sm
    meta_path = directory / META
    try:
        directory.mkdir(parents=True, exist_ok=True)
        document: dict[str, Any] = {"schema": SCHEMA, "plans": {}}
        if meta_path.exists():
            existing = json.loads(meta_path.read_text(encoding="utf-8"))
            if isinstance(existing, dict) and isinstance(existing.get("plans"), dict):
                document["plans"] = existing["plans"]
        document["plans"][meta.name] = meta.to_json()
        _write_atomic(directory / f"{meta.name}.plan", plan)
        _write_atomic(meta_path, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    except (OSError, ValueError) as exc:
        raise LibraryError(f"cannot write {directory}: {exc}") from None
    return LibraryPlan(meta, directory / f"{meta.name}.plan", meta_path)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def output_values(data: bytes, dtype: str) -> tuple[float, ...]:
    """Little-endian output bytes as floats (FLOAT and HALF tensors)."""
    code = {"FLOAT": "f", "HALF": "e"}.get(dtype)
    size = {"f": 4, "e": 2}.get(code or "", 0)
    if code is None or len(data) % size:
        raise LibraryError(f"cannot read {len(data)} bytes of {dtype} as numbers")
    return tuple(struct.unpack(f"<{len(data) // size}{code}", data))


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
