"""A site's own knowledge: a directory of YAML files in the bundled format, validated with file:line.

Each file names the table it extends with ``table:`` (the id written in the bundled file:
``gpu-compute-capability``, ``ngc-tensorrt``, ``tensorrt-releases``...), brings its own
``sources:`` and lists ``rows:``. A row whose key matches a bundled row overrides it; any
other row is added. A file with an ``image:`` the bundled knowledge has no table for is a
new image (an internal image built on an NGC base, say): its rows are that image's tags.
An optional ``about.yaml`` gives the overlay's own ``as_of`` date.

Every row must cite a source (``source:`` id or ``url:``) and carry a grade; the fields a
query needs must be there with the right types. Every problem is reported at once, with
its file and line (``InputErrors``), before any host is contacted. Rows taken from the
overlay carry ``_site: "<file>:<line>"``, so each answer built on them says so.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor import versions
from auditor.errors import InputError, InputErrors, Location
from auditor.knowledge import tables
from auditor.knowledge.tables import Table
from auditor.records import record
from auditor.yamlsrc import YamlList, YamlMap, check_keys, did_you_mean, load_yaml, type_name

MAX_FILES = 200  # a knowledge directory is a handful of files; more is a wrong path
FILE_KEYS = (
    "table",
    "title",
    "sources",
    "conflicts",
    "rows",
    "image",
    "tag_suffix",
    "newest_month",
    "not_published",
    "dc_lists",  # a place for YAML anchors of repeated branch lists, as in the bundled files
)
GPU_CLASSES = ("datacenter", "workstation", "consumer", "embedded")
_SITE_NAME = re.compile(r"[^a-z0-9]+")


@record
class Change:
    """One row the overlay added or overrode, and where it was written."""

    table: str
    key: str
    action: str
    """``added`` or ``overrode``."""
    location: str

    def to_json(self) -> dict[str, str]:
        return {"table": self.table, "key": self.key, "action": self.action, "location": self.location}


@dataclass
class Overlay:
    """A validated site overlay: merged tables by bundled file name, and what changed."""

    directory: str
    tables: dict[str, Table] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    as_of: datetime.date | None = None

    def merged(self, name: str) -> Table | None:
        """The table ``name`` with the overlay's rows, or None when the overlay leaves it alone."""
        return self.tables.get(name)

    def image_tables(self) -> tuple[str, ...]:
        """Names of the image tables the overlay adds (``ngc_site_<file>``)."""
        return tuple(
            n for n in self.tables if n.startswith(tables.NGC_PREFIX) and n not in tables.bundled_table_names()
        )

    def summary(self) -> str:
        """``2 rows added, 1 overridden`` (and the overlay's own as-of date)."""
        added = sum(1 for c in self.changes if c.action == "added")
        overrode = len(self.changes) - added
        text = f"{added} row{'s' if added != 1 else ''} added, {overrode} overridden"
        return text + (f", as of {self.as_of.isoformat()}" if self.as_of else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "changes": [c.to_json() for c in self.changes],
        }


def load_overlay(directory: str | Path) -> Overlay:
    """Read and validate every ``*.yaml`` in ``directory``; raises ``InputErrors`` listing every problem."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError(
            "--knowledge: not a directory" if root.exists() else "--knowledge: no such directory", Location(str(root))
        )
    files = sorted(p for p in root.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if len(files) > MAX_FILES:
        raise InputError(f"more than {MAX_FILES} YAML files: is this the knowledge directory?", Location(str(root)))
    overlay = Overlay(str(root))
    errors: list[InputError] = []
    pending: dict[str, dict[str, Any]] = {}
    for path in files:
        try:
            data = load_yaml(path)
            if path.stem == "about":
                overlay.as_of = _about(data, str(path))
                continue
            _file(data, str(path), pending, overlay, errors)
        except InputError as exc:
            errors.extend(exc.problems)
    if not files:
        errors.append(InputError("no *.yaml files: nothing to add to the knowledge base", Location(str(root))))
    if errors:
        raise InputErrors(errors)
    for name, data in pending.items():
        try:
            overlay.tables[name] = tables.parse_table(data, name)
        except tables.KnowledgeError as exc:  # a shape the row checks let through: still the user's file
            raise InputError(f"the merged table is not valid: {exc}", Location(str(root))) from None
    return overlay


def _about(data: Any, path: str) -> datetime.date | None:
    if not isinstance(data, YamlMap):
        raise InputError(f"about.yaml must be a mapping, got {type_name(data)}", Location(path))
    problems = check_keys(data, ("as_of", "note"), "about.yaml")
    if problems:
        raise InputErrors(problems)
    value = data.get("as_of")
    if value is None:
        return None
    if isinstance(value, datetime.date):
        return value
    raise InputError("'as_of' must be a date (YYYY-MM-DD)", data.loc("as_of"))


def _bundled_by_id() -> dict[str, str]:
    return {tables.bundled(name).name: name for name in tables.bundled_table_names()}


def _file(data: Any, path: str, pending: dict[str, dict[str, Any]], overlay: Overlay, errors: list[InputError]) -> None:
    if not isinstance(data, YamlMap):
        raise InputError(f"a knowledge file must be a mapping, got {type_name(data)}", Location(path, 1))
    problems = check_keys(data, FILE_KEYS, "a knowledge file", required=("table", "rows"))
    if problems:
        raise InputErrors(problems)
    table_id = str(data["table"])
    by_id = _bundled_by_id()
    name = by_id.get(table_id)
    image = data.get("image")
    if name is None and image is None:
        raise InputError(
            f"unknown table {table_id!r}{did_you_mean(table_id, by_id)} (a new image needs 'image:')", data.loc("table")
        )
    if name is None:
        name = tables.NGC_PREFIX + "site_" + _SITE_NAME.sub("_", Path(path).stem.lower()).strip("_")
        if name in pending:
            raise InputError(f"two files define the site image table {name!r}", data.loc("table"))
        base: dict[str, Any] = {
            "table": table_id,
            "title": str(data.get("title") or f"site image {image}"),
            "sources": {},
            "rows": [],
        }
    elif name in pending:
        base = pending[name]
    else:
        base = _copy(tables.bundled(name), name)
    if image is not None and name in by_id.values() and str(base.get("image") or "") != str(image).lower():
        raise InputError(
            f"'image' {image!r} is not the image of table {table_id!r} ({base.get('image')})", data.loc("image")
        )
    for key in ("image", "tag_suffix", "newest_month", "not_published", "dc_lists"):
        if key in data:
            base[key] = str(data[key]).lower() if key == "image" else _plain(data[key])
    if "newest_month" in data and not re.fullmatch(r"\d{2}\.\d{2}", str(data["newest_month"])):
        errors.append(InputError("'newest_month' must be YY.MM", data.loc("newest_month")))
    sources = _sources(data, base, path, errors)
    base["conflicts"] = [*(base.get("conflicts") or []), *_conflicts(data, errors)]
    rows = data["rows"]
    if not isinstance(rows, YamlList) or not rows:
        errors.append(InputError("'rows' must be a non-empty list", data.loc("rows")))
        pending[name] = base
        return
    image_table = name.startswith(tables.NGC_PREFIX)
    check = _ROW_CHECKS.get("ngc" if image_table else name)
    key_of = _KEYS.get("ngc" if image_table else name, _no_key)
    merged = list(base["rows"])
    for index, row in enumerate(rows):
        where = rows.loc(index)
        if not isinstance(row, YamlMap):
            errors.append(InputError(f"a row must be a mapping, got {type_name(row)}", where))
            continue
        row_errors = _graded(row, sources, where)
        if check is not None:
            row_errors += check(row)
        if row_errors:
            errors.extend(row_errors)
            continue
        plain = {**_plain(row), tables.SITE_KEY: f"{path}:{where.line}"}
        key = key_of(plain)
        at = next((i for i, r in enumerate(merged) if key_of(r) == key), None)
        if at is None:
            merged.insert(0, plain) if name in _SITE_FIRST else merged.append(plain)
            overlay.changes.append(Change(base["table"], str(key), "added", f"{path}:{where.line}"))
        else:
            merged[at] = plain
            overlay.changes.append(Change(base["table"], str(key), "overrode", f"{path}:{where.line}"))
    base["rows"] = _ordered(name, merged)
    pending[name] = base


def _copy(table: Table, name: str) -> dict[str, Any]:
    """A bundled table back in file shape, to merge rows into."""
    sources = {
        s.id: {
            "url": s.url,
            "grade": s.grade,
            "covers": s.covers,
            **({"url_pattern": s.url_pattern} if s.url_pattern else {}),
        }
        for s in table.sources.values()
    }
    conflicts = [
        {"id": c.id, "about": c.about, "choice": c.choice, "sources": list(c.sources)} for c in table.conflicts
    ]
    return {
        "table": table.name,
        "title": table.title,
        "sources": sources,
        "rows": list(table.rows),
        "conflicts": conflicts,
        **dict(table.extra or {}),
    }


def _sources(data: YamlMap, base: dict[str, Any], path: str, errors: list[InputError]) -> dict[str, Any]:
    sources: dict[str, Any] = base["sources"]
    raw = data.get("sources") or YamlMap()
    if not isinstance(raw, YamlMap):
        errors.append(InputError(f"'sources' must be a mapping, got {type_name(raw)}", data.loc("sources")))
        return sources
    for source_id, spec in raw.items():
        where = raw.loc(source_id)
        if not isinstance(spec, YamlMap):
            errors.append(InputError(f"source {source_id!r} must be a mapping with url and grade", where))
            continue
        problems = check_keys(spec, ("url", "grade", "covers"), f"source {source_id!r}", required=("url", "grade"))
        url = str(spec.get("url", ""))
        if url and not url.startswith("https://"):
            problems.append(InputError(f"source {source_id!r}: url must start with https://", spec.loc("url")))
        if spec.get("grade") is not None and str(spec["grade"]) not in tables.GRADES:
            problems.append(
                InputError(f"source {source_id!r}: grade must be one of {', '.join(tables.GRADES)}", spec.loc("grade"))
            )
        if source_id in sources and sources[source_id]["url"] != url:
            problems.append(
                InputError(f"source {source_id!r} is already defined by the bundled table with another url", where)
            )
        if problems:
            errors.extend(problems)
            continue
        sources[source_id] = {
            "url": url,
            "grade": str(spec["grade"]),
            "covers": str(spec.get("covers") or f"site overlay {path}"),
        }
    return sources


def _conflicts(data: YamlMap, errors: list[InputError]) -> list[dict[str, Any]]:
    raw = data.get("conflicts")
    if raw is None:
        return []
    if not isinstance(raw, YamlList):
        errors.append(InputError(f"'conflicts' must be a list, got {type_name(raw)}", data.loc("conflicts")))
        return []
    found = []
    for index, item in enumerate(raw):
        if not isinstance(item, YamlMap):
            errors.append(InputError("a conflict must be a mapping with id, about and choice", raw.loc(index)))
            continue
        problems = check_keys(
            item, ("id", "about", "choice", "sources"), "a conflict", required=("id", "about", "choice")
        )
        if problems:
            errors.extend(problems)
            continue
        found.append(_plain(item))
    return found


def _graded(row: YamlMap, sources: Mapping[str, Any], where: Location) -> list[InputError]:
    problems = []
    if str(row.get("grade")) not in tables.GRADES:
        problems.append(
            InputError(
                f"a row needs 'grade' (one of {', '.join(tables.GRADES)})",
                row.loc("grade") if "grade" in row else where,
            )
        )
    source, url = row.get("source"), row.get("url")
    if source is None and url is None:
        problems.append(InputError("a row needs its source: 'source: <id in sources>' or 'url: <https page>'", where))
    if source is not None and str(source) not in sources:
        problems.append(InputError(f"unknown source {source!r}{did_you_mean(str(source), sources)}", row.loc("source")))
    if url is not None and not str(url).startswith("https://"):
        problems.append(InputError("'url' must start with https://", row.loc("url")))
    return problems


# -- per-table row checks: the fields queries read, with their types -----------------------------

Check = Callable[[YamlMap], list[InputError]]


def _need(row: YamlMap, keys: Iterable[str]) -> list[InputError]:
    return [InputError(f"a row of this table needs {key!r}", row.loc()) for key in keys if key not in row]


def _version(row: YamlMap, key: str, nullable: bool = True) -> list[InputError]:
    value = row.get(key)
    if value is None:
        return [] if nullable or key not in row else [InputError(f"{key!r} must be a version", row.loc(key))]
    text = getattr(value, "text", "") or str(value)
    if isinstance(value, bool) or not versions.is_version(text):
        return [InputError(f"{key!r} must be a version like 12.2 or 535.104.05, got {value!r}", row.loc(key))]
    return []


def _text_list(row: YamlMap, key: str) -> list[InputError]:
    value = row.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, (str, int, float)) for v in value):
        return [InputError(f"{key!r} must be a non-empty list of strings", row.loc(key))]
    return []


def _check_gpu(row: YamlMap) -> list[InputError]:
    problems = _need(row, ("product", "cc", "arch", "class", "names"))
    problems += _version(row, "cc", nullable=False) if "cc" in row else []
    if "class" in row and row["class"] not in GPU_CLASSES:
        problems.append(InputError(f"'class' must be one of {', '.join(GPU_CLASSES)}", row.loc("class")))
    return problems + (_text_list(row, "names") if "names" in row else [])


def _check_toolkit(row: YamlMap) -> list[InputError]:
    problems = _need(row, ("cuda", "release"))
    for key in ("cuda", "linux", "bundled", "floor"):
        problems += _version(row, key, nullable=key != "cuda")
    return problems


def _check_branch(row: YamlMap) -> list[InputError]:
    problems = _need(row, ("branch",))
    if "branch" in row and not isinstance(row["branch"], int):
        problems.append(InputError("'branch' must be a number like 620", row.loc("branch")))
    problems += _version(row, "cuda")
    eol = row.get("eol")
    if eol is not None and not re.fullmatch(r"\d{4}-\d{2}", str(eol)):
        problems.append(InputError("'eol' must be YYYY-MM", row.loc("eol")))
    return problems


def _check_arch(row: YamlMap) -> list[InputError]:
    problems = _need(row, ("arch", "ccs"))
    problems += _text_list(row, "ccs") if "ccs" in row else []
    problems += _version(row, "first_cuda")
    for key in ("last_cuda_major", "last_driver_branch", "first_driver_branch"):
        if row.get(key) is not None and not isinstance(row[key], int):
            problems.append(InputError(f"{key!r} must be a number", row.loc(key)))
    return problems


def _check_system(row: YamlMap) -> list[InputError]:
    problems = _need(row, ("system", "gpus", "floor"))
    return problems + (_text_list(row, "gpus") if "gpus" in row else []) + _version(row, "floor", nullable=False)


def _check_trt(row: YamlMap) -> list[InputError]:
    problems = _need(row, ("release", "cuda", "min_cc"))
    problems += _version(row, "release", nullable=False) + _version(row, "min_cc", nullable=False)
    problems += _text_list(row, "cuda") if "cuda" in row else []
    cudnn = row.get("cudnn")
    if cudnn is not None and (
        not isinstance(cudnn, dict) or cudnn.get("status") not in ("required", "optional", "unknown")
    ):
        problems.append(
            InputError("'cudnn' must be {status: required|optional|unknown, version: ...}", row.loc("cudnn"))
        )
    return problems


def _check_image(row: YamlMap) -> list[InputError]:
    problems = _need(row, ("tag",))
    for key in ("tensorrt", "cuda", "driver", "min_cc"):
        problems += _version(row, key)
    if row.get("cudnn") not in (None, "none"):
        problems += _version(row, "cudnn")
    dc = row.get("dc")
    if dc is not None and (not isinstance(dc, list) or not all(versions.is_version(str(d)) for d in dc)):
        problems.append(InputError("'dc' must be a list of driver releases like 535.86 (or null)", row.loc("dc")))
    return problems


_ROW_CHECKS: dict[str, Check | None] = {
    "gpus": _check_gpu,
    "cuda_toolkits": _check_toolkit,
    "driver_branches": _check_branch,
    "architectures": _check_arch,
    "system_floors": _check_system,
    "tensorrt_releases": _check_trt,
    "ngc": _check_image,
}


def _no_key(row: Mapping[str, Any]) -> str:
    return str(id(row))


_KEYS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "gpus": lambda r: str(r.get("product")),
    "cuda_toolkits": lambda r: str(r.get("cuda")),
    "driver_branches": lambda r: int(r.get("branch") or 0),
    "architectures": lambda r: ",".join(sorted(str(c) for c in r.get("ccs") or [])),
    "system_floors": lambda r: str(r.get("system")),
    "tensorrt_releases": lambda r: str(r.get("release")),
    "forward_compat": lambda r: str(r.get("cuda")),
    "minor_version": lambda r: int(r.get("family") or 0),
    "engine_portability": lambda r: str(r.get("id")),
    "driver_states": lambda r: str(r.get("state")),
    "runtime_states": lambda r: str(r.get("state")),
    "ngc": lambda r: f"{r.get('tag')}" + (f"-{r['variant']}" if r.get("variant") else ""),
}
_SITE_FIRST = {"gpus", "architectures", "system_floors"}  # first match wins there: the site's rows come first


def _ordered(name: str, rows: list[Any]) -> list[Any]:
    """Rows in the order the queries expect (newest toolkit first, TensorRT and branches oldest first)."""
    if name == "cuda_toolkits":
        return sorted(rows, key=lambda r: versions.parse(str(r["cuda"])), reverse=True)
    if name == "tensorrt_releases":
        return sorted(rows, key=lambda r: versions.parse(str(r["release"])))
    if name == "driver_branches":
        return sorted(rows, key=lambda r: int(r["branch"]))
    if name == "forward_compat":
        return sorted(rows, key=lambda r: versions.parse(str(r["cuda"])), reverse=True)
    return rows


def _plain(node: Any) -> Any:
    """A located YAML value as plain dicts, lists and strings (floats keep their spelling)."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, float):
        text = getattr(node, "text", "")
        return text or str(node)
    return node
