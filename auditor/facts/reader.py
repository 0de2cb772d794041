"""Probe output (``auditor.facts/1``) parsed strictly into typed facts: the one reader of facts.

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

import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from auditor.facts.images import IMAGE_ID, BadReference, parse_repo_digest
from auditor.facts.model import (
    SCHEMA,
    CachedPackage,
    CompatPackage,
    ContainerFacts,
    ContainerImage,
    ContainerToolkitFacts,
    CudaFacts,
    CudaToolkit,
    CudnnFacts,
    CudnnInstall,
    DockerRuntimeConfig,
    DriverFacts,
    DriverStatus,
    EngineFacts,
    EngineLoad,
    EngineRuntimeConfig,
    EnginesFacts,
    Facts,
    FactsError,
    Gpu,
    GpuFacts,
    HostInfo,
    InstalledPackage,
    MigDevice,
    MigFacts,
    MigInstance,
    OfferedVersion,
    PackageAvailability,
    PackageFacts,
    PackageManager,
    PluginCreator,
    PluginRegistry,
    ReferenceFacts,
    ReferenceItem,
    ReferenceRun,
    ReferenceStatus,
    RunningContainer,
    TensorRTFacts,
    TensorRTLibrary,
    TensorRTModule,
    TensorRTPackage,
    VersionLock,
    encode_document,
)
from auditor.text import NOT_CLEAN, clean

INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what SQLite, JSON readers and Prometheus all hold exactly
_COMPUTE_CAPABILITY = re.compile(r"^\d{1,3}\.\d{1,3}$")  # NVML's major.minor, "%d.%d" in the probe
_HEADER_VERSION = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")  # four header bytes, "%d.%d.%d.%d" in the probe
_PACKAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$")  # what dpkg and rpm allow; the probe checks too
_PACKAGE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+~:_-]{0,127}$")  # dpkg [epoch:]upstream-revision, rpm E:V-R
_PACKAGE_ARCH = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_LOCK_PATTERN = re.compile(r"^[A-Za-z0-9+._:*?\[\]-]{1,256}$")  # a NEVRA glob of dnf's versionlock list
_PIN_PRIORITY = 100_000  # apt pin priorities are small integers (100, 500, 990, 1000, 1001); bound them
_GPU_REQUEST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9,._:-]{0,127}$")  # all, a count, device indexes or UUIDs
_MIG_PROFILE = re.compile(
    r"^[1-9]\d?g\.\d{1,4}gb(?:\+[a-z0-9]{1,16}){0,4}$"
)  # 3g.71gb, 1g.18gb+me (nvidia-smi mig -lgi)
_PLACEMENT = re.compile(r"^\d{1,2}:\d{1,2}$")  # start:size in memory slices


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
    plain = _plain(text)
    spans: dict[str, tuple[int, int]] = {}  # where each member's value is written in ``text`` (plain text only)
    read = _read_members(text) if plain else None
    if read is None:  # not plain, or anything _read_members does not vouch for: json's own reading and errors
        document = _decoded(text)
    else:
        document, spans = read
    if not isinstance(document, dict):
        raise FactsError(f"probe output must be a JSON object, got {type(document).__name__}")
    # Sections a fleet repeats, read before as this very text: their records and member counts (_SeenSections).
    seen, unseen = _seen.look_up(text, document, spans)
    rest = {key: value for key, value in document.items() if key not in seen and key not in unseen} if spans else None
    members = _tidy(document if rest is None else rest, 0, plain)
    counts: dict[str, int] = {}
    for name in unseen:
        count = _tidy(document[name], 1, plain) if members >= 0 else -1
        members = -1 if count < 0 else members + 1 + count
        counts[name] = count
    for _record, count, elapsed in seen.values():
        if elapsed is not None and _tidy([elapsed], 1, True) < 0:
            members = -1  # a number _tidy refuses: the cleaning path below says where
        members = -1 if members < 0 else members + 1 + count
    if members < 0:  # a string to clean, a number out of bounds: the cleaned tree, or FactsError
        document = _clean_tree(document)
        kept = encode_document(document)
        seen, unseen = {}, {}
    elif plain and members == _count_members(text):  # nearly always: the tree is kept as it is, and so is the text
        kept = text.encode("utf-8")  # what ``raw`` decodes, and what reports write: this very document
    else:  # escapes, or a key twice (json.loads kept the last): the text of what was read
        kept = encode_document(document)
    if document.get("schema") != SCHEMA:
        raise FactsError(f"unexpected schema {document.get('schema')!r}, expected {SCHEMA!r}")
    if document.get("error"):
        raise FactsError(f"probe failed: {document['error']}")
    root = _Reader(document, "$")

    def shared(name: str, build: Callable[[], _Built]) -> _Built:
        """The record of section ``name``: the one built for the same text before, else built (and kept)."""
        if name in seen:
            return seen[name][0]  # type: ignore[no-any-return]
        built = build()
        if name in unseen:
            _seen.keep(unseen[name], built, counts[name])
        return built

    return Facts(
        probe_version=root.text("probe_version") or "?",
        collected_at=root.text("collected_at"),
        host=_host(root.section("host")),
        driver=shared("driver", lambda: _driver(root.section("driver"))),
        gpus=_gpus(root.section("gpus")),
        cuda=shared("cuda", lambda: _cuda(root.section("cuda"))),
        tensorrt=shared("tensorrt", lambda: _tensorrt(root.section("tensorrt"))),
        document=kept,
        cudnn=shared("cudnn", lambda: _cudnn(root.section("cudnn"))),
        engines=shared("engines", lambda: _engines(root.section("engines"))),
        containers=shared("containers", lambda: _containers(root.section("containers"))),
        truncated=root.flag("truncated"),
        reference=shared("reference", lambda: _reference(root.sub("reference"))),
        packages=shared("packages", lambda: _packages(root.sub("packages"), "packages" in document)),
        container_toolkit=shared("container_toolkit", lambda: _container_toolkit(root, "container_toolkit")),
        mig=_mig(root, "mig"),
    )


def _decoded(text: str) -> Any:
    """``text`` decoded by json, its failures as ``FactsError``s."""
    try:
        return _decode(text)
    except (RecursionError, MemoryError):
        raise FactsError("probe output is nested too deeply") from None
    except ValueError as exc:
        raise FactsError(f"probe output is not JSON: {clean(str(exc), 200)}") from None


def read_stored(raw: Any) -> Facts:
    """Facts kept in a saved report or the history (a report's ``facts``: the cleaned probe JSON), read back.

    The same strict reader as ``parse_facts``, so a stored document is trusted no more than
    a host's output; fields this version does not know are ignored, so a report from a
    newer auditor still loads. Raises ``FactsError`` as ``parse_facts`` does.
    """
    return parse_facts(json.dumps(raw))


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every host: ``json.loads`` with an option makes a new one each call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_decode = _DECODER.decode
_scan_value = _DECODER.scan_once  # type: ignore[attr-defined]
"""json's own scanner (C): one value from an index, and the index where it ends."""
_SPACE = re.compile(r"[ \t\n\r]*")  # what json skips between tokens (json.decoder.WHITESPACE)
_scan_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
"""A string from after its opening quote, as json reads keys (C; strict: no raw control characters)."""


def _skip_space(text: str, at: int) -> int:
    """The index of the first character from ``at`` on that json would not skip."""
    found = _SPACE.match(text, at)
    return found.end() if found is not None else at


def _read_members(text: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]]] | None:
    """The JSON object ``text`` as ``json.loads`` reads it, and where each member's value is written.

    The members are read one by one with json's own scanner (a key twice: the last one
    counts, as for ``json.loads``), so each section's text is known without another pass.
    None for anything else (not an object, bad JSON, trailing text): the caller then lets
    ``json.loads`` read it, and fail with its own message.
    """
    try:
        if text[0] != "{":
            return None
        document: dict[str, Any] = {}
        spans: dict[str, tuple[int, int]] = {}
        at = _skip_space(text, 1)
        if text[at] == "}":
            return (document, spans) if at + 1 == len(text) else None
        while text[at] == '"':
            key, at = _scan_string(text, at + 1)
            at = _skip_space(text, at)
            if text[at] != ":":
                return None
            start = _skip_space(text, at + 1)
            document[key], at = _scan_value(text, start)
            spans[key] = (start, at)
            at = _skip_space(text, at)
            if text[at] == "}":
                return (document, spans) if at + 1 == len(text) else None
            if text[at] != ",":
                return None
            at = _skip_space(text, at + 1)
        return None
    except (ValueError, StopIteration, IndexError, RecursionError, MemoryError):
        return None


_SHARED = frozenset(
    {"driver", "cuda", "tensorrt", "cudnn", "engines", "containers", "reference", "packages", "container_toolkit"}
)
"""Sections a fleet repeats host after host (the same stack), each read by a function of that section alone.
(``host``, ``gpus`` and ``mig`` name the machine and its devices: no two hosts share them.)"""
_ELAPSED = '"elapsed_s":'
_NUMBER = re.compile(r"[ \t\r\n]*-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SECTION_LIMIT = 16_384  # characters of a section's text worth keeping for comparison
_SEEN_LIMIT = 1024  # sections kept; past it they are forgotten and learnt again (at most ~16 MB of text)


class _SeenSections:
    """Sections read before, by their text: the record built, its member count, and nothing else.

    A fleet answers with the same driver, CUDA, TensorRT, package and container sections
    host after host. A section whose JSON text is exactly one read before (in plain text,
    see ``_plain``: no escapes, so equal text is an equal tree) was checked then (every
    string, number and depth, by ``_tidy``) and built into a frozen record then: it is that
    record again, and its member count, without either pass. The collector's
    ``elapsed_s``, different on every host and read by no builder, is left out of the
    comparison when the section names it once, at its top (``"elapsed_s":`` in plain text
    is always a key); its number is still checked on every host. A section that failed
    to build is never kept, so its error names this host's path as before.
    """

    def __init__(self) -> None:
        self.kept: dict[tuple[str, ...], tuple[Any, int]] = {}

    def look_up(
        self, text: str, document: dict[str, Any], spans: dict[str, tuple[int, int]]
    ) -> tuple[dict[str, tuple[Any, int, Any]], dict[str, tuple[str, ...]]]:
        """The sections read before (record, member count, the ``elapsed_s`` to check), and the
        others that may be kept once built (their keys)."""
        seen: dict[str, tuple[Any, int, Any]] = {}
        unseen: dict[str, tuple[str, ...]] = {}
        for name in _SHARED.intersection(spans):
            key = _section_key(name, text, document, spans)
            if key is None:
                continue
            hit = self.kept.get(key)
            if hit is None:
                unseen[name] = key
            else:
                seen[name] = (hit[0], hit[1], document[name]["elapsed_s"] if len(key) == 3 else None)
        return seen, unseen

    def keep(self, key: tuple[str, ...], built: Any, count: int) -> None:
        """Remember ``built``, the record of a section that ``_tidy`` passed with ``count`` members."""
        if len(self.kept) >= _SEEN_LIMIT:
            self.kept.clear()
        self.kept[key] = (built, count)


def _section_key(
    name: str, text: str, document: dict[str, Any], spans: dict[str, tuple[int, int]]
) -> tuple[str, ...] | None:
    """What a section is compared by: ``(name, text)``, or ``(name, before, after)`` around its ``elapsed_s`` number.

    None for a section that is not an object, or too long to keep.
    """
    value = document.get(name)
    start, end = spans[name]
    if type(value) is not dict or end - start > _SECTION_LIMIT:
        return None
    section = text[start:end]
    at = section.find(_ELAPSED)
    if at < 0 or type(value.get("elapsed_s")) not in (int, float) or section.find(_ELAPSED, at + 1) >= 0:
        return (name, section)  # no elapsed_s at its top, or named more than once: the whole text
    number = _NUMBER.match(section, at + len(_ELAPSED))
    if number is None:  # pragma: no cover - the decoded value is a number, so its text is one
        return (name, section)
    return (name, section[:at], section[number.end() :])


_seen = _SeenSections()


_intern = sys.intern
_TEXT_LIMIT, _KEY_LIMIT = 4096, 128  # ``clean``'s default limit for strings; keys are cut shorter
_MAX_DEPTH = 32
_unclean = NOT_CLEAN.search
_Built = TypeVar("_Built")
_MEMO_TYPES = frozenset({str, int, bool, type(None)})  # no float (-0.0 == 0.0), nothing nested
_MEMO_LIMIT = 8192  # records kept for reuse; past it the memo starts again (one host costs only itself)
_memo: dict[tuple[Any, ...], Any] = {}


def _plain(text: str) -> bool:
    """True when no string of the JSON ``text`` can hold a character ``clean`` removes.

    Printable ASCII with no escape sequence: ``json.loads`` refuses a raw control character
    inside a string, so without a backslash every string is a slice of the text, and without
    DEL and anything beyond ASCII (``\\x7f``-``\\x9f``, the bidirectional controls, the line
    and paragraph separators) none of its characters is unclean. The probe writes
    ``ensure_ascii`` JSON: a host with nothing exotic answers in such text.
    """
    return text.isascii() and "\\" not in text and "\x7f" not in text


def _count_members(text: str) -> int:
    """How many object members JSON ``text`` that ``_plain`` vouches for holds, when each key is followed by its colon.

    In such text no string holds a quote, so a quote then a colon ends a key and nothing
    else, except a string that starts with a colon (one too many), and a key followed by
    a space before its colon is not counted (one too few): either way the count differs
    and the document is only re-encoded, never trusted more.
    """
    return text.count('":')


def _tidy(node: dict[str, Any] | list[Any], depth: int, plain: bool = False) -> int:
    """How many object members ``node`` holds, when ``_clean_tree`` would return it unchanged and raise nothing; else -1.

    The fast path of ``parse_facts``: one walk that copies nothing and builds no JSON
    paths. Any string ``clean`` would change, any key it would, any unbounded number or
    too deep a node answers -1, and ``_clean_tree`` then does the work (and raises with
    the path). ``node`` is a container at ``depth`` <= ``_MAX_DEPTH``; ``plain``: it was
    read from text that ``_plain`` vouches for, so only the strings' lengths are checked.
    The count tells ``parse_facts`` whether the text named a key twice (``json.loads``
    keeps the last).
    """
    if depth >= _MAX_DEPTH and node:  # its members would be too deep
        return -1
    values: Any
    members = 0
    if type(node) is dict:
        for key in node:
            if len(key) > _KEY_LIMIT or (not plain and _unclean(key)):
                return -1
        values = node.values()
        members = len(node)
    else:
        values = node
    for value in values:  # the kinds in the order a facts document holds them most
        kind = type(value)
        if kind is str:
            if len(value) > _TEXT_LIMIT or (not plain and _unclean(value)):
                return -1
        elif value is None or kind is bool:
            continue
        elif kind is dict or kind is list:
            if value:  # an empty one holds nothing to check or count
                inner = _tidy(value, depth + 1, plain)
                if inner < 0:
                    return -1
                members += inner
        elif kind is int:
            if not INT_MIN <= value <= INT_MAX:
                return -1
        elif kind is float:
            if not math.isfinite(value):
                return -1
        else:
            return -1
    return members


def _clean_tree(node: Any, path: str = "$", depth: int = 0) -> Any:
    """The document with strings cleaned and every number checked to be bounded (``FactsError`` naming the path)."""
    if depth > _MAX_DEPTH:
        raise FactsError("probe output is nested too deeply")
    if isinstance(node, str):
        return clean(node, _TEXT_LIMIT)
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
            name = clean(str(key), _KEY_LIMIT)
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
        if value is None or type(value) in types:  # the common case first: exactly a type asked for
            return value
        if isinstance(value, bool) and bool not in types:
            raise FactsError(f"{self.path}.{key} must be {what}, got a boolean")
        if not isinstance(value, types):
            raise FactsError(f"{self.path}.{key} must be {what}, got {type(value).__name__}")
        return value

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if type(value) is str:  # the common case without a call to _get: most fields are strings
            # Interned: a fleet repeats its versions, paths and GPU names on every host, and a large
            # run keeps every host's facts; one copy of each string serves them all.
            return _intern(value)
        return self._get(key, (str,), "a string")  # None, or the FactsError naming what it is

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
        return tuple(sys.intern(item) for item in value or ())

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

    def records(self, key: str, build: Callable[[_Reader], _Built]) -> tuple[_Built, ...]:
        """The objects of the list at ``key``, each built by ``build``, a function of that object alone.

        A fleet repeats its packages, libraries and toolkits on every host: an object with
        the same keys, values and value types, in the same order, as one built before is
        that record again (records are frozen, so sharing one is safe, and a large run holds
        one copy). An object holding a float (``-0.0 == 0.0``) or a nested value is built
        each time; what fails to build is never kept, so its error names this host's path.
        """
        value = self._get(key, (list,), "a list")
        result = []
        for index, item in enumerate(value or ()):
            if type(item) is not dict:
                raise FactsError(f"{self.path}.{key}[{index}] must be an object")
            types = tuple(map(type, item.values()))
            if not _MEMO_TYPES.issuperset(types):
                result.append(build(_Reader(item, f"{self.path}.{key}[{index}]")))
                continue
            memo_key = (build, tuple(item.items()), types)
            record = _memo.get(memo_key)
            if record is None:
                record = build(_Reader(item, f"{self.path}.{key}[{index}]"))
                if len(_memo) >= _MEMO_LIMIT:
                    _memo.clear()
                _memo[memo_key] = record
            result.append(record)
        return tuple(result)

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
            mig_pending=d.text("mig_pending"),
            mig_supported=d.optional_flag("mig_supported"),
        )
        for d in r.items("devices")
    )
    count = r.integer("count")
    if count is not None and count < len(devices):
        raise FactsError(f"{r.path}.count is {count} but {len(devices)} devices are listed")
    return GpuFacts(count=count, devices=devices, source=r.text("source"), error=r.error())


def _cuda(r: _Reader) -> CudaFacts:
    return CudaFacts(
        toolkits=r.records("toolkits", _toolkit),
        default=r.text("default"),
        cudart_sonames=r.texts("cudart_sonames"),
        compat=r.records("compat", _compat),
        error=r.error(),
    )


def _toolkit(t: _Reader) -> CudaToolkit:
    return CudaToolkit(
        path=_path(t),
        version=t.text("version"),
        source=t.text("source"),
        nvcc_version=t.text("nvcc_version"),
        error=t.error(),
    )


def _compat(c: _Reader) -> CompatPackage:
    return CompatPackage(
        path=_path(c), version=c.text("version"), cuda=c.text("cuda"), active=c.optional_flag("active"), error=c.error()
    )


def _path(r: _Reader) -> str:
    path = r.text("path")
    if not path:
        raise FactsError(f"{r.path}.path is required")
    return path


def _cudnn(r: _Reader) -> CudnnFacts:
    return CudnnFacts(
        version=r.text("version"),
        source=r.text("source"),
        installs=r.records("installs", _cudnn_install),
        error=r.error(),
    )


def _cudnn_install(i: _Reader) -> CudnnInstall:
    return CudnnInstall(version=i.text("version"), source=i.text("source") or "?", path=i.text("path"), error=i.error())


def _tensorrt(r: _Reader) -> TensorRTFacts:
    return TensorRTFacts(
        version=r.text("version"),
        source=r.text("source"),
        libraries=r.records("libraries", _tensorrt_library),
        header_version=r.text("header_version"),
        modules=r.records("modules", _tensorrt_module),
        packages=r.records("packages", _tensorrt_package),
        error=r.error(),
        trtexec=r.text("trtexec"),
        header_path=r.text("header_path"),
    )


def _tensorrt_library(lib: _Reader) -> TensorRTLibrary:
    return TensorRTLibrary(
        name=lib.text("name") or "?",
        path=lib.text("path"),
        version=lib.text("version"),
        source=lib.text("source"),
        error=lib.error(),
    )


def _tensorrt_module(m: _Reader) -> TensorRTModule:
    return TensorRTModule(
        module=m.text("module") or "?", version=m.text("version"), error=m.error(), plugins=_plugins(m)
    )


def _tensorrt_package(p: _Reader) -> TensorRTPackage:
    return TensorRTPackage(name=p.text("name") or "?", version=p.text("version"), manager=p.text("manager") or "?")


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
    return ContainerFacts(
        runtime=r.text("runtime"),
        images=r.records("images", _image),
        running=tuple(_container(c) for c in r.items("running")),
        error=r.error(),
        stopped=tuple(_container(c) for c in r.items("stopped")),
        inspect_error=r.text("inspect_error"),
    )


def _image(i: _Reader) -> ContainerImage:
    return ContainerImage(repository=i.text("repository") or "?", tag=i.text("tag"), id=i.text("id"))


def _container(c: _Reader) -> RunningContainer:
    """One container; its image ID, registry digests and GPU request in their strict shapes."""
    digests: tuple[str, ...] | None = None
    if c.data.get("digests") is not None:
        digests = c.texts("digests")
        for index, text in enumerate(digests):
            try:
                parse_repo_digest(text)
            except BadReference:
                raise FactsError(
                    f"{c.path}.digests[{index}] must be REPO@sha256:<64 hex digits>, got {clean(text, 80)!r}"
                ) from None
    return RunningContainer(
        name=c.text("name") or "?",
        image=c.text("image"),
        id=c.text("id"),
        state=c.text("state"),
        image_id=c.shaped("image_id", IMAGE_ID, "an image ID like sha256:<64 hex digits>"),
        digests=digests,
        runtime=c.text("runtime"),
        gpus=c.shaped("gpus", _GPU_REQUEST, "a GPU request (all, a count or device IDs)"),
        inspected="image_id" in c.data or "gpus" in c.data,
    )


def _container_toolkit(root: _Reader, key: str) -> ContainerToolkitFacts:
    """The optional ``container_toolkit`` section (probes before it have none: not collected)."""
    if root.data.get(key) is None:
        return ContainerToolkitFacts()
    r = root.sub(key)
    programs = r.sub("programs")
    config = r.sub("config")
    docker = r.sub("docker") if r.data.get("docker") is not None else None
    return ContainerToolkitFacts(
        collected=True,
        installed=r.flag("installed"),
        version=r.text("version"),
        version_source=r.text("version_source"),
        programs=tuple((str(name), programs.text(name)) for name in sorted(programs.data)),
        config=config.text("path"),
        mode=config.text("mode"),
        docker=None
        if docker is None
        else DockerRuntimeConfig(
            config=docker.text("config"),
            runtimes=docker.texts("runtimes"),
            default_runtime=docker.text("default_runtime"),
            nvidia_path=docker.text("nvidia_path"),
            cdi=docker.flag("cdi"),
            daemon_runtimes=docker.texts("daemon_runtimes") if docker.data.get("daemon_runtimes") is not None else None,
            daemon_default_runtime=docker.text("daemon_default_runtime"),
            daemon_error=docker.text("daemon_error"),
            error=docker.error(),
        ),
        containerd=_engine_config(r, "containerd", "nvidia_binary"),
        crio=_engine_config(r, "crio", "nvidia_path"),
        cdi_specs=r.texts("cdi_specs"),
        notes=r.text("notes"),
        error=r.error(),
    )


def _engine_config(r: _Reader, key: str, program: str) -> EngineRuntimeConfig | None:
    if r.data.get(key) is None:
        return None
    e = r.sub(key)
    return EngineRuntimeConfig(
        configs=e.texts("configs"),
        runtimes=e.texts("runtimes"),
        default_runtime=e.text("default_runtime"),
        nvidia_program=e.text(program),
        error=e.error(),
    )


def _mig(root: _Reader, key: str) -> MigFacts:
    """The optional ``mig`` section (probes before it have none: not collected)."""
    if root.data.get(key) is None:
        return MigFacts()
    r = root.sub(key)
    devices = []
    for d in r.items("devices"):
        instances: tuple[MigInstance, ...] | None = None
        if d.data.get("instances") is not None:
            instances = d.records("instances", _mig_instance)
        devices.append(
            MigDevice(
                index=d.integer("index"),
                uuid=d.text("uuid"),
                current=d.text("current"),
                pending=d.text("pending"),
                supported=d.optional_flag("supported"),
                instances=instances,
            )
        )
    return MigFacts(
        collected=True,
        devices=tuple(devices),
        source=r.text("source"),
        instances_source=r.text("instances_source"),
        error=r.error(),
    )


def _mig_instance(i: _Reader) -> MigInstance:
    return MigInstance(
        profile=i.shaped("profile", _MIG_PROFILE, "a MIG profile like 3g.71gb") or "?",
        profile_id=i.integer("profile_id"),
        instance_id=i.integer("instance_id"),
        placement=i.shaped("placement", _PLACEMENT, "a placement like 0:4"),
    )


def _packages(r: _Reader, present: bool) -> PackageFacts:
    """The ``packages`` section: names, versions, architectures and lock patterns of their known shapes only
    (a package name or version from a host is later written into a playbook: nothing else may pass)."""
    if not present:
        return PackageFacts(error="section 'packages' missing from probe output", collected=False)
    text = r.text("manager")
    try:
        manager = PackageManager(text) if text else None
    except ValueError:
        raise FactsError(f"{r.path}.manager: unknown package manager {text!r}") from None
    availability = None
    if isinstance(r.data.get("availability"), dict):
        a = r.sub("availability")
        offered = []
        for v in a.items("versions"):
            priority = v._get("priority", (int,), "an integer")
            if priority is not None and not -_PIN_PRIORITY <= priority <= _PIN_PRIORITY:
                raise FactsError(f"{v.path}.priority is out of range ({priority})")
            offered.append(
                OfferedVersion(
                    name=_required(v, "name", _PACKAGE_NAME, "a package name"),
                    version=_required(v, "version", _PACKAGE_VERSION, "a package version"),
                    arch=v.shaped("arch", _PACKAGE_ARCH, "an architecture"),
                    priority=priority,
                    sources=v.texts("sources"),
                )
            )
        names = a.texts("names")
        for index, name in enumerate(names):
            if not _PACKAGE_NAME.match(name):
                raise FactsError(f"{a.path}.names[{index}] must be a package name, got {clean(name, 40)!r}")
        availability = PackageAvailability(
            source=a.text("source"),
            names=names,
            lists=a.optional_flag("lists"),
            versions=tuple(offered),
            error=a.error(),
        )
    elif r.data.get("availability") is not None:
        raise FactsError(f"{r.path}.availability must be an object")
    return PackageFacts(
        manager=manager,
        installed=r.records("installed", _installed),
        locks=r.records("locks", _lock),
        cached=r.records("cached", _cached),
        availability=availability,
        error=r.error(),
        truncated=r.flag("truncated"),
    )


def _installed(p: _Reader) -> InstalledPackage:
    return InstalledPackage(
        name=_required(p, "name", _PACKAGE_NAME, "a package name"),
        version=_required(p, "version", _PACKAGE_VERSION, "a package version"),
        arch=p.shaped("arch", _PACKAGE_ARCH, "an architecture"),
        held=p.flag("held"),
    )


def _lock(lock: _Reader) -> VersionLock:
    return VersionLock(
        pattern=_required(lock, "pattern", _LOCK_PATTERN, "a version lock pattern"), exclude=lock.flag("exclude")
    )


def _cached(c: _Reader) -> CachedPackage:
    path = _path(c)
    return CachedPackage(
        name=_required(c, "name", _PACKAGE_NAME, "a package name"),
        version=_required(c, "version", _PACKAGE_VERSION, "a package version"),
        path=path,
        arch=c.shaped("arch", _PACKAGE_ARCH, "an architecture"),
    )


def _required(r: _Reader, key: str, shape: re.Pattern[str], what: str) -> str:
    value = r.shaped(key, shape, what)
    if value is None:
        raise FactsError(f"{r.path}.{key} is required")
    return value


def _plugins(m: _Reader) -> PluginRegistry | None:
    """A module's plugin registry (``modules[i].plugins``), or None when the probe did not list it."""
    if m.data.get("plugins") is None:
        return None
    p = m.sub("plugins")
    creators = []
    for c in p.items("creators"):
        name = c.text("name")
        if not name or len(name) > 256:
            raise FactsError(f"{c.path}.name must be a plugin name (1 to 256 characters)")
        version, namespace = c.text("version") or "", c.text("namespace") or ""
        if len(version) > 64 or len(namespace) > 256:
            raise FactsError(f"{c.path}: version or namespace longer than TensorRT's")
        creators.append(PluginCreator(name, version, namespace))
    return PluginRegistry(creators=tuple(creators), library=p.optional_flag("library"), error=p.error())
