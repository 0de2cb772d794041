"""NVIDIA compatibility knowledge: cited data tables (YAML beside this file) and queries.

Every table names its sources (URL and grade) and grades every row: A, a
docs.nvidia.com or developer.nvidia.com page; A*, a verbatim copy of one; B,
NVIDIA-authored material elsewhere (GitHub, wheels, release notes quoted); C,
third-party, used only where nothing better exists and always said. Where sources
disagree, a table's ``conflicts`` say so and which (conservative) answer it takes.

The knowledge carries one "as of" date (``about.yaml``): the day up to which its
sources were read. A site overlay (``use_overlay``: ``--knowledge DIR`` or
``AUDITOR_KNOWLEDGE``) adds or overrides rows in the same format; its rows are
marked so every answer built on them says it came from the site.

Tables load once, on first use, and are validated then: a malformed bundled table is a
programming error (``KnowledgeError``), caught by the test suite, never by a user; a
malformed overlay is the user's (``InputError`` with file:line, see ``overlay``).
Queries live in ``cuda``, ``gpus`` and ``tensorrt`` beside this module; they memoise
with ``memo`` so that switching the overlay forgets every cached answer.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml

from auditor.records import record

HERE = os.path.dirname(os.path.abspath(__file__))
"""The bundled tables' directory, read with ``os``: ``importlib.resources`` (and the tempfile,
zipfile and random modules it loads) added 3 to 6 ms to every ``auditor compat`` and ``knowledge``."""

MIRROR = os.path.join(HERE, "mirror")
"""``<table>.json``: each bundled table's values as JSON, with the digest of the YAML they came
from (``auditor.knowledge.mirror`` writes them; ``_mirrored`` reads them)."""

GRADES = ("A", "A*", "B", "C")
NGC_PREFIX = "ngc_"
"""Every ``ngc_<image>.yaml`` is one NGC image's months (SCHEMA-17); the loader finds them all."""
TABLES = (
    "cuda_toolkits",
    "minor_version",
    "forward_compat",
    "driver_branches",
    "gpus",
    "architectures",
    "system_floors",
    "tensorrt_releases",
    "engine_portability",
    "driver_states",
    "runtime_states",
)
SITE_KEY = "_site"
"""Set on a row that came from the site overlay: ``"<file>:<line>"``."""

F = TypeVar("F", bound=Callable[..., Any])
_MEMOS: list[Any] = []


def memo(function: F) -> F:
    """``functools.lru_cache`` (bounded: keys come from hosts) that ``reset`` clears."""
    cached = functools.lru_cache(maxsize=4096)(function)
    _MEMOS.append(cached)
    return cached  # type: ignore[return-value]


class KnowledgeError(RuntimeError):
    """A knowledge table that does not follow the shape every table shares."""


@record
class Source:
    """One cited document: where it is and how much it can be trusted."""

    id: str
    url: str
    grade: str
    covers: str = ""
    url_pattern: str = ""
    """A per-row URL with ``{yy}``/``{mm}`` from the row's ``tag`` (monthly release notes)."""


@record
class Conflict:
    """Where sources disagree, and the answer the auditor takes."""

    id: str
    about: str
    choice: str
    sources: tuple[str, ...] = ()


@record
class Table:
    """One knowledge table: its name, sources, conflicts, rows and any extra sections."""

    name: str
    """The ``table:`` id written in the file (``cuda-toolkit-driver``): cited, and what an overlay file names."""
    title: str
    sources: Mapping[str, Source]
    rows: tuple[Mapping[str, Any], ...]
    conflicts: tuple[Conflict, ...] = ()
    extra: Mapping[str, Any] | None = None
    file: str = ""
    """The bundled file's name without ``.yaml`` (``cuda_toolkits``)."""

    def source(self, row: Mapping[str, Any] | None = None, key: str = "source") -> Source:
        """The source a row cites (its ``source`` id), else the table's first source."""
        wanted = row.get(key) if row is not None else None
        if isinstance(wanted, str) and wanted in self.sources:
            return self.sources[wanted]
        return next(iter(self.sources.values()))

    def cite(self, row: Mapping[str, Any] | None = None, key: str = "source") -> str:
        """``knowledge:<table> (<url>)`` for a finding's ``source`` field; a row's own URL wins.

        A row from the site overlay says so: ``knowledge:<table> (site overlay <file>:<line>; <url>)``.
        """
        site = row.get(SITE_KEY) if row is not None else None
        if site:
            return f"knowledge:{self.name} (site overlay {site}; {self.url(row, key)})"
        return f"knowledge:{self.name} ({self.url(row, key)})"

    def url(self, row: Mapping[str, Any] | None = None, key: str = "source") -> str:
        """The most specific URL for a row: its ``url``, its source's pattern, or the source's URL."""
        if row is not None and isinstance(row.get("url"), str):
            return str(row["url"])
        source = self.source(row, key)
        if source.url_pattern and row is not None and "tag" in row:
            yy, _, mm = str(row["tag"]).partition(".")
            return source.url_pattern.format(yy=yy, mm=mm)
        return source.url

    def section(self, name: str) -> Any:
        """A table-specific top-level section (``caveats``, ``drops``, ``outcomes``...)."""
        return (self.extra or {}).get(name)

    def conflict(self, conflict_id: str) -> Conflict | None:
        """The conflict note called ``conflict_id``, if this table has it."""
        return next((c for c in self.conflicts if c.id == conflict_id), None)


@record
class About:
    """How current the knowledge is: the date up to which its sources were read."""

    as_of: datetime.date
    note: str = ""
    site: Any = None
    """The overlay in use (``overlay.Overlay``), or None."""

    def line(self) -> str:
        """``knowledge as of 2026-12-04`` (and the site overlay, when one is in use)."""
        text = f"knowledge as of {self.as_of.isoformat()}"
        if self.site is not None:
            text += f" + site overlay {self.site.directory} ({self.site.summary()})"
        return text

    def to_json(self) -> dict[str, Any]:
        """``{"as_of", "overlay": {...} | null}`` for reports and ``auditor compat --json``."""
        return {"as_of": self.as_of.isoformat(), "overlay": self.site.to_json() if self.site is not None else None}


@dataclass
class _State:
    overlay: Any = None
    tables: dict[str, Table] = field(default_factory=dict)


_STATE = _State()


def about() -> About:
    """The knowledge's as-of date (``about.yaml``) and the overlay in use."""
    return About(_as_of(), _about_note(), _STATE.overlay)


@functools.cache
def _about_data() -> Mapping[str, Any]:
    data = _safe_load(_read("about.yaml"))
    if not isinstance(data, dict) or not isinstance(data.get("as_of"), datetime.date):
        raise KnowledgeError("about.yaml: needs as_of: YYYY-MM-DD")
    return data


def _as_of() -> datetime.date:
    return _about_data()["as_of"]  # type: ignore[no-any-return]


def _about_note() -> str:
    return " ".join(str(_about_data().get("note") or "").split())


def as_of_text() -> str:
    """``knowledge as of 2026-12-04`` for answers that say what the knowledge lacks."""
    return f"knowledge as of {_as_of().isoformat()}"


def table(name: str) -> Table:
    """Load and validate ``<name>.yaml`` from this package, merged with the site overlay (cached)."""
    found = _STATE.tables.get(name)
    if found is None:
        found = _STATE.overlay.merged(name) if _STATE.overlay is not None else None
        found = found or bundled(name)
        _STATE.tables[name] = found
    return found


@functools.cache
def bundled(name: str) -> Table:
    """The bundled table ``<name>.yaml``, without any overlay (its values from the JSON mirror when it is current)."""
    text = _read(f"{name}.yaml")
    data = _mirrored(name, text)
    return parse_table(_safe_load(text) if data is None else data, name)


def mirror_path(name: str) -> str:
    """Where the JSON mirror of bundled table ``name`` lives."""
    return os.path.join(MIRROR, f"{name}.json")


def yaml_digest(text: str) -> str:
    """The SHA-256 of a table's YAML text, as its mirror records it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


TYPED = "\\u0000"
"""How a mirror marks a value JSON has no type for, as its text shows it (``auditor.knowledge.mirror``):
an object whose one key starts with NUL, a character no table's key holds."""
_PAIRS, _DATE = "\0pairs", "\0date"


def _unmarked(node: dict[str, Any]) -> Any:
    """A mirror's object as YAML gave it: ``{"\\u0000pairs": [[12, ...]]}`` a mapping with keys that are not
    strings (``12:``), ``{"\\u0000date": "2026-12-04"}`` a date; any other object as it is."""
    if len(node) == 1:
        if _PAIRS in node:
            return {key: value for key, value in node[_PAIRS]}
        if _DATE in node:
            return datetime.date.fromisoformat(node[_DATE])
    return node


def _mirrored(name: str, text: str) -> Any:
    """The values of table ``name`` from its JSON mirror, when the mirror was made from this very YAML ``text``;
    else None (the YAML is read instead: an edited table is never shadowed by an old mirror).

    JSON builds the bundled tables' values in ~1 ms where libyaml takes ~11 (an ``auditor report``
    run loads eight tables; ``auditor knowledge`` all of them)."""
    try:
        with open(mirror_path(name), encoding="utf-8") as handle:
            mirrored = _mirror_document(handle.read())
    except (OSError, ValueError):
        return None
    if not isinstance(mirrored, dict) or mirrored.get("yaml_sha256") != yaml_digest(text):
        return None
    return mirrored.get("data")


def _mirror_document(raw: str) -> Any:
    """A mirror file's JSON, its marked values typed again (``_unmarked``); ``ValueError`` for bad JSON."""
    return json.loads(raw, object_hook=_unmarked) if TYPED in raw else json.loads(raw)


def _mirrored_text(raw: str) -> Any:
    """The values a mirror's text holds (what ``_mirrored`` returns for it, the digest not checked)."""
    document = _mirror_document(raw)
    return document.get("data") if isinstance(document, dict) else None


def _read(file_name: str) -> str:
    with open(os.path.join(HERE, file_name), encoding="utf-8") as handle:
        return handle.read()


def _safe_load(text: str) -> Any:
    """``yaml.safe_load`` through libyaml where PyYAML has it: the same values, 7x faster (the
    bundled tables, 230 KB, parse in 50 instead of 350 ms: most of ``auditor knowledge``)."""
    if getattr(yaml, "__with_libyaml__", False):
        return yaml.load(text, Loader=yaml.CSafeLoader)
    return yaml.safe_load(text)


def use_overlay(overlay: Any) -> None:
    """Judge with ``overlay`` (an ``overlay.Overlay``, or None for the bundled knowledge only).

    Every memoised answer is forgotten, so nothing computed before leaks through.
    """
    _STATE.overlay = overlay
    reset()


def reset() -> None:
    """Forget loaded tables and every memoised query (after the overlay changes)."""
    _STATE.tables.clear()
    for cached in _MEMOS:
        cached.cache_clear()


def parse_table(data: Any, name: str) -> Table:
    """Validate the shape every table shares; raises ``KnowledgeError`` naming the problem."""
    if not isinstance(data, dict):
        raise KnowledgeError(f"{name}: not a mapping")
    for key in ("table", "title", "sources", "rows"):
        if key not in data:
            raise KnowledgeError(f"{name}: missing {key!r}")
    sources = {}
    for source_id, spec in data["sources"].items():
        if not isinstance(spec, dict) or not str(spec.get("url", "")).startswith("https://"):
            raise KnowledgeError(f"{name}: source {source_id!r} needs an https url")
        if spec.get("grade") not in GRADES:
            raise KnowledgeError(f"{name}: source {source_id!r} has grade {spec.get('grade')!r}")
        sources[source_id] = Source(
            source_id, spec["url"], spec["grade"], str(spec.get("covers", "")), str(spec.get("url_pattern", ""))
        )
    rows = data["rows"]
    if not isinstance(rows, list) or not rows:
        raise KnowledgeError(f"{name}: rows must be a non-empty list")
    for index, row in enumerate(rows):
        _check_graded(row, sources, f"{name}: row {index + 1}")
    for section in ("caveats", "drops", "rules", "outcomes", "newer_gpus", "historical"):
        for index, row in enumerate(data.get(section) or []):
            if section == "outcomes":
                continue  # outcomes restate the rules they name; they carry no grade of their own
            _check_graded(row, sources, f"{name}: {section} {index + 1}")
    conflicts = tuple(parse_conflict(c) for c in data.get("conflicts") or [])
    known = {"table", "title", "sources", "rows", "conflicts"}
    extra = {k: v for k, v in data.items() if k not in known}
    return Table(
        name=str(data["table"]),
        title=str(data["title"]),
        sources=sources,
        rows=tuple(rows),
        conflicts=conflicts,
        extra=extra,
        file=name,
    )


def parse_conflict(spec: Mapping[str, Any]) -> Conflict:
    """One ``conflicts:`` entry: ``{id, about, choice, sources?}``."""
    return Conflict(
        str(spec["id"]),
        " ".join(str(spec["about"]).split()),
        " ".join(str(spec["choice"]).split()),
        tuple(str(s) for s in spec.get("sources") or ()),
    )


def _check_graded(row: Any, sources: Mapping[str, Source], what: str) -> None:
    if not isinstance(row, dict):
        raise KnowledgeError(f"{what} is not a mapping")
    if row.get("grade") not in GRADES:
        raise KnowledgeError(f"{what} has grade {row.get('grade')!r}, expected one of {', '.join(GRADES)}")
    for key in ("source", "eol_source", "tensorrt_source", "cudnn_source", "cuda_source", "driver_source"):
        value = row.get(key)
        if value is not None and value not in sources and not str(value).startswith("https://"):
            raise KnowledgeError(f"{what} cites unknown source {value!r}")
    if "source" not in row and not str(row.get("url", "")).startswith("https://"):
        raise KnowledgeError(f"{what} names no source (source: <id> or url:)")


def ngc_table_names() -> tuple[str, ...]:
    """The NGC image tables (``ngc_tensorrt``, ...), bundled and site, sorted."""
    site = _STATE.overlay.image_tables() if _STATE.overlay is not None else ()
    return tuple(sorted({*_bundled_ngc_names(), *site}))


@functools.cache
def _bundled_ngc_names() -> tuple[str, ...]:
    found = (name for name in os.listdir(HERE) if name.startswith(NGC_PREFIX))
    return tuple(sorted(name.removesuffix(".yaml") for name in found if name.endswith(".yaml")))


def bundled_table_names() -> tuple[str, ...]:
    """Every table the auditor ships (without the overlay)."""
    return (*TABLES, *_bundled_ngc_names())


def all_tables() -> list[Table]:
    """Every table in use (bundled, merged with the overlay), loaded and validated."""
    return [table(name) for name in (*TABLES, *ngc_table_names())]
