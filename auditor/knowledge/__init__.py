"""NVIDIA compatibility knowledge: cited data tables (YAML beside this file) and queries.

Every table names its sources (URL and grade) and grades every row: A, a
docs.nvidia.com or developer.nvidia.com page; A*, a verbatim copy of one; B,
NVIDIA-authored material elsewhere (GitHub, wheels, release notes quoted); C,
third-party, used only where nothing better exists and always said. Where sources
disagree, a table's ``conflicts`` say so and which (conservative) answer it takes.

Tables load once, on first use, and are validated then: a malformed table is a
programming error (``KnowledgeError``), caught by the test suite, never by a user.
Queries live in ``cuda``, ``gpus`` and ``tensorrt`` beside this module.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

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
    "tensorrt_releases",
    "engine_portability",
    "driver_states",
)


class KnowledgeError(RuntimeError):
    """A knowledge table that does not follow the shape every table shares."""


@dataclass(frozen=True)
class Source:
    """One cited document: where it is and how much it can be trusted."""

    id: str
    url: str
    grade: str
    covers: str = ""
    url_pattern: str = ""
    """A per-row URL with ``{yy}``/``{mm}`` from the row's ``tag`` (monthly release notes)."""


@dataclass(frozen=True)
class Conflict:
    """Where sources disagree, and the answer the auditor takes."""

    id: str
    about: str
    choice: str


@dataclass(frozen=True)
class Table:
    """One knowledge table: its name, sources, conflicts, rows and any extra sections."""

    name: str
    title: str
    sources: Mapping[str, Source]
    rows: tuple[Mapping[str, Any], ...]
    conflicts: tuple[Conflict, ...] = ()
    extra: Mapping[str, Any] | None = None

    def source(self, row: Mapping[str, Any] | None = None, key: str = "source") -> Source:
        """The source a row cites (its ``source`` id), else the table's first source."""
        wanted = row.get(key) if row is not None else None
        if isinstance(wanted, str) and wanted in self.sources:
            return self.sources[wanted]
        return next(iter(self.sources.values()))

    def cite(self, row: Mapping[str, Any] | None = None, key: str = "source") -> str:
        """``knowledge:<table> (<url>)`` for a finding's ``source`` field; a row's own URL wins."""
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


@functools.cache
def table(name: str) -> Table:
    """Load and validate ``<name>.yaml`` from this package (cached)."""
    text = resources.files(__package__).joinpath(f"{name}.yaml").read_text("utf-8")
    return parse_table(yaml.safe_load(text), name)


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
    conflicts = tuple(
        Conflict(str(c["id"]), " ".join(str(c["about"]).split()), " ".join(str(c["choice"]).split()))
        for c in data.get("conflicts") or []
    )
    known = {"table", "title", "sources", "rows", "conflicts"}
    extra = {k: v for k, v in data.items() if k not in known}
    return Table(
        name=str(data["table"]),
        title=str(data["title"]),
        sources=sources,
        rows=tuple(rows),
        conflicts=conflicts,
        extra=extra,
    )


def _check_graded(row: Any, sources: Mapping[str, Source], what: str) -> None:
    if not isinstance(row, dict):
        raise KnowledgeError(f"{what} is not a mapping")
    if row.get("grade") not in GRADES:
        raise KnowledgeError(f"{what} has grade {row.get('grade')!r}, expected one of {', '.join(GRADES)}")
    for key in ("source", "eol_source"):
        if key in row and row[key] not in sources:
            raise KnowledgeError(f"{what} cites unknown source {row[key]!r}")


def ngc_table_names() -> tuple[str, ...]:
    """The bundled NGC image tables (``ngc_tensorrt``, ``ngc_tritonserver``...), sorted."""
    return _ngc_table_names()


@functools.cache
def _ngc_table_names() -> tuple[str, ...]:
    found = (f.name for f in resources.files(__package__).iterdir() if f.name.startswith(NGC_PREFIX))
    return tuple(sorted(name.removesuffix(".yaml") for name in found if name.endswith(".yaml")))


def all_tables() -> list[Table]:
    """Every table the auditor ships, loaded and validated."""
    return [table(name) for name in (*TABLES, *ngc_table_names())]


# Re-exported for the simulated fleet and older callers.
from auditor.knowledge.cuda import driver_cuda_version  # noqa: E402
from auditor.knowledge.gpus import GpuModel, gpu_model  # noqa: E402

__all__ = [
    "GRADES",
    "NGC_PREFIX",
    "TABLES",
    "Conflict",
    "GpuModel",
    "KnowledgeError",
    "Source",
    "Table",
    "all_tables",
    "driver_cuda_version",
    "gpu_model",
    "ngc_table_names",
    "parse_table",
    "table",
]
