"""Queries over the TensorRT tables: releases, NGC containers and engine portability."""

from __future__ import annotations

import re
from typing import Any

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tables
from auditor.records import record


@record
class TrtRelease:
    """One TensorRT release line ("8.6", "10.13.2") and what it needs."""

    release: str
    ga_build: str | None
    """The four-part GA version; None when the sources do not give it."""
    cuda: tuple[str, ...]
    cuda_basis: str
    cudnn_status: str
    cudnn_version: str | None
    min_cc: str
    grade: str
    row: Any
    cuda_complete: bool = True
    """False when other CUDA builds than those listed may exist (a missing major is then unknown)."""

    @property
    def cite(self) -> str:
        return tables.table("tensorrt_releases").cite(self.row)

    @property
    def cuda_majors(self) -> list[int]:
        """CUDA majors this release has builds for, newest first."""
        majors = {int(c.split(".")[0]) for c in self.cuda}
        return sorted(majors, reverse=True)

    def supports_cuda_minor(self, cuda: str) -> bool:
        """True when ``cuda``'s major.minor is listed (or its major is listed without a minor)."""
        mm = versions.major_minor(cuda)
        major = mm.split(".")[0]
        return mm in self.cuda or major in self.cuda

    def driver_floor(self, cuda_major: int) -> tuple[str, str] | None:
        """(floor, basis) of the Linux driver for this release's CUDA ``cuda_major`` build.

        Releases that state a number (10.16 and later) use it; older ones defer to the
        CUDA family: its minor-version-compatibility floor (10.x: 10.2's own minimum).
        """
        stated = (self.row.get("driver") or {}).get(cuda_major)
        if stated:
            return str(stated), f"TensorRT {self.release} prerequisites: r{stated}+ for its CUDA {cuda_major} build"
        if cuda_major >= 11:
            family = cuda_kb.mvc_family(cuda_major)
            if family is None:
                return None
            return family.floor, f"the CUDA {cuda_major}.x minor-version-compatibility floor (TensorRT defers to CUDA)"
        floor = cuda_kb.toolkit_floor("10.2")
        if floor is None or floor.floor is None:
            return None
        return floor.floor, "CUDA 10.2's minimum driver (no minor-version compatibility before 11)"


@tables.memo
def trt_release(version: str) -> TrtRelease | None:
    """The release line ``version`` belongs to ("8.6.1.6" -> 8.6; "10.13.3.9" -> 10.13.3), or None."""
    parsed = versions.parse(version).release
    best: Any = None
    for row in tables.table("tensorrt_releases").rows:
        key = versions.parse(row["release"]).release
        if parsed[: len(key)] == key and (best is None or len(key) > len(versions.parse(best["release"]).release)):
            best = row
    if best is None:
        # 10.13.1 has no row: the newest row of the same minor below it stands in
        same = [
            r
            for r in tables.table("tensorrt_releases").rows
            if versions.parse(r["release"]).release[:2] == parsed[:2]
            and versions.parse(r["release"]) <= versions.parse(version)
        ]
        best = max(same, key=lambda r: versions.parse(r["release"]), default=None)
    if best is None:
        return None
    cudnn = best.get("cudnn") or {}
    return TrtRelease(
        release=str(best["release"]),
        ga_build=str(best["ga_build"]) if best.get("ga_build") else None,
        cuda=tuple(str(c) for c in best["cuda"]),
        cuda_basis=str(best.get("cuda_basis", "matrix")),
        cudnn_status=str(cudnn.get("status", "unknown")),
        cudnn_version=str(cudnn["version"]) if cudnn.get("version") else None,
        min_cc=str(best["min_cc"]),
        grade=str(best["grade"]),
        row=best,
        cuda_complete=best.get("cuda_complete", True) is not False,
    )


def known_releases() -> list[str]:
    """Every release line with a row, oldest first."""
    return [str(r["release"]) for r in tables.table("tensorrt_releases").rows]


def first_release_for_cc(compute_capability: str) -> tuple[str, Any] | None:
    """The first TensorRT release that supports a newer GPU (CC 10.0 -> 10.8), if the sources name one.

    Where sources disagree the row keeps the conservative (later) release and names the
    other in ``other`` (``conflict_note`` words it).
    """
    wanted = cuda_kb.cc_tuple(compute_capability)
    for row in tables.table("tensorrt_releases").section("newer_gpus") or []:
        if cuda_kb.cc_tuple(row["cc"]) == wanted:
            return str(row["first_release"]), row
    return None


def conflict_note(row: Any) -> str | None:
    """What the other source says for a ``newer_gpus`` row with a conflict, with both sources; else None."""
    other = row.get("other") if row is not None else None
    if not other or not row.get("conflict"):
        return None
    table = tables.table("tensorrt_releases")
    return (
        f"sources disagree ({row['conflict']}): {table.url(row)} names {row['first_release']}, "
        f"{table.sources[other['source']].url} says {other['first_release']} works; the later one is taken"
    )


def last_release_for_cc(compute_capability: str) -> str | None:
    """The newest release line whose architecture floor admits ``compute_capability``."""
    cc = cuda_kb.cc_tuple(compute_capability)
    fitting = [r for r in tables.table("tensorrt_releases").rows if cuda_kb.cc_tuple(r["min_cc"]) <= cc]
    return str(fitting[-1]["release"]) if fitting else None


# -- NGC containers ----------------------------------------------------------------------

# [registry/path:]tag; an NGC month tag is YY.MM with an optional suffix (-py3, -trtllm-python-py3)
_IMAGE = re.compile(
    r"^(?:(?P<repo>[a-z0-9][a-z0-9._/-]*(?::\d+/[a-z0-9._/-]+)?):)?(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127})$"
)
_MONTH = re.compile(r"^(?P<month>\d{2}\.\d{2})(?P<suffix>-[a-z0-9-]+)?$")
DEFAULT_IMAGE = "nvcr.io/nvidia/tensorrt"


class BadImage(ValueError):
    """An image reference that is not ``[registry/path:]YY.MM[-suffix]`` (or a tag of a known image)."""


@record
class ImageRef:
    """A parsed image reference: repository, full tag, and for NGC months the month and suffix."""

    repo: str
    tag: str
    month: str | None = None
    suffix: str = ""


@record
class Container:
    """One NGC container month (or a site image); ``None`` fields are unknown (never guessed).

    ``dc`` is None when the forward-compatibility list was not collected, () when the
    notes list no branch.
    """

    image: str
    tag: str
    tensorrt: str | None
    cuda: str | None
    cudnn: str | None
    driver: str | None
    dc: tuple[str, ...] | None
    min_cc: str | None
    grade: str
    row: Any
    table: str = "ngc_tensorrt"
    variant: str | None = None

    @property
    def cite(self) -> str:
        return tables.table(self.table).cite(self.row)

    @property
    def known(self) -> bool:
        """False when the sources give nothing of this month: only user reports describe it (grade C),
        or its notes could not be read (every field null, the month only known to exist)."""
        return self.grade != "C" and any(v is not None for v in (self.tensorrt, self.cuda, self.driver))

    @property
    def ref(self) -> str:
        """The reference as an operator writes it (``nvcr.io/nvidia/tensorrt:24.10-py3``)."""
        return f"{self.image}:{self.tag}"


def known_images() -> dict[str, str]:
    """Repository -> table name, for every image the knowledge base has a table for."""
    found: dict[str, str] = {}
    for name in tables.ngc_table_names():
        image = tables.table(name).section("image")
        if isinstance(image, str):
            found.setdefault(image.lower(), name)
    return found


def parse_image(ref: str) -> ImageRef:
    """``nvcr.io/nvidia/tensorrt:23.09-py3`` -> ImageRef; raises ``BadImage``.

    A bare tag (``23.09-py3``) names the TensorRT image. A tag that is not an NGC month
    is accepted only for a site image: a repository whose table has no ``newest_month``.
    """
    text = ref.strip()
    match = _IMAGE.match(text.lower()) if len(text) <= 256 else None
    if not match:
        raise BadImage(f"not an image reference like nvcr.io/nvidia/tensorrt:23.09-py3: {ref!r}")
    repo = match.group("repo") or DEFAULT_IMAGE
    tag = match.group("tag")
    month = _MONTH.match(tag)
    if month:
        return ImageRef(repo, tag, month.group("month"), month.group("suffix") or "")
    name = known_images().get(repo)
    if name is not None and not tables.table(name).section("newest_month"):
        return ImageRef(repo, tag)  # a site image whose table does not count NGC months
    raise BadImage(f"not an NGC image reference like nvcr.io/nvidia/tensorrt:23.09-py3 (a YY.MM tag): {ref!r}")


@record
class ImageLookup:
    """What the knowledge base knows of an image reference: the container, or why not."""

    ref: ImageRef
    container: Container | None
    why: str
    """Empty when found; else what is missing (unknown repository, month, newer than the knowledge)."""
    known_repo: bool


def lookup_image(ref: str) -> ImageLookup:
    """The container ``ref`` names, or why the knowledge base cannot say; raises ``BadImage``."""
    return _lookup_image(ref.strip().lower())


@tables.memo
def _lookup_image(ref: str) -> ImageLookup:
    parsed = parse_image(ref)
    name = known_images().get(parsed.repo)
    if name is None:
        return ImageLookup(parsed, None, f"{parsed.repo} is not an image the knowledge base has a table for", False)
    table = tables.table(name)
    suffix = str(table.section("tag_suffix") or "")
    if parsed.month is None:
        wanted_tag, variant = parsed.tag, None
    else:
        wanted_tag = parsed.month
        variant = parsed.suffix.lstrip("-") or None
        if parsed.suffix in ("", suffix):
            variant = None
    for row in table.rows:
        if str(row["tag"]).lower() == wanted_tag and (row.get("variant") or None) == variant:
            return ImageLookup(parsed, _container(name, row), "", True)
    newest = table.section("newest_month")
    if parsed.month and newest and parsed.month > str(newest):
        why = f"{parsed.repo}:{parsed.tag} is newer than the knowledge base (its newest month is {newest})"
    elif parsed.month and parsed.month in _months(table.section("not_published")):
        why = f"NVIDIA published no {parsed.month} release of {parsed.repo}"
    elif variant is not None:
        why = f"the {variant} variant of {parsed.repo}:{parsed.month} is not in the knowledge base"
    else:
        why = f"{parsed.repo}:{parsed.tag} is not in the knowledge base (a month it lacks is never guessed from a neighbour)"
    return ImageLookup(parsed, None, why, True)


def _months(entries: Any) -> list[str]:
    """``not_published`` as months, whether written as "26.05" or {month: "26.05", note: ...}."""
    found = []
    for entry in entries or []:
        value = entry.get("month") or entry.get("tag") if isinstance(entry, dict) else entry
        found.append(str(value))
    return found


def _container(name: str, row: Any) -> Container:
    table = tables.table(name)
    suffix = str(table.section("tag_suffix") or "")
    variant = row.get("variant") or None
    tag = f"{row['tag']}-{variant}" if variant else f"{row['tag']}{suffix}"
    dc = row.get("dc")
    return Container(
        image=str(table.section("image")),
        tag=tag,
        tensorrt=_text(row.get("tensorrt")),
        cuda=_text(row.get("cuda")),
        cudnn=_text(row.get("cudnn")),
        driver=_text(row.get("driver")),
        dc=None if dc is None else tuple(str(d) for d in dc),
        min_cc=_text(row.get("min_cc")),
        grade=str(row["grade"]),
        row=row,
        table=name,
        variant=variant,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def container(ref: str) -> Container | None:
    """The container ``ref`` names, or None when the repository or month is not in the knowledge base."""
    return lookup_image(ref).container


def known_tags(image: str = DEFAULT_IMAGE) -> list[str]:
    """Every month (tag) the knowledge base has a row for, for ``image``, in table order."""
    name = known_images().get(image)
    return [str(r["tag"]) for r in tables.table(name).rows if not r.get("variant")] if name else []


# -- engine portability --------------------------------------------------------------------


@record
class EngineOutcome:
    """What one test-load outcome asks of the operator, and the rule that explains it."""

    load: str
    action: str
    text: str
    rule: str | None
    rule_text: str | None
    rule_row: Any

    @property
    def cite(self) -> str:
        return tables.table("engine_portability").cite(self.rule_row)


@tables.memo
def engine_outcome(load: str) -> EngineOutcome | None:
    """The meaning of an ``engines[].load.status`` value ("version-mismatch" -> rebuild-engine)."""
    table = tables.table("engine_portability")
    rules = {r["id"]: r for r in table.rows}
    for row in table.section("outcomes") or []:
        if row["load"] == load:
            rule = rules.get(row.get("rule"))
            return EngineOutcome(
                load=load,
                action=str(row["action"]),
                text=str(row["text"]),
                rule=row.get("rule"),
                rule_text=str(rule["text"]) if rule else None,
                rule_row=rule,
            )
    return None


def portability_rule(rule_id: str) -> tuple[str, Any] | None:
    """The text and row of one portability rule ("version-compatible")."""
    for row in tables.table("engine_portability").rows:
        if row["id"] == rule_id:
            return str(row["text"]), row
    return None


def version_compatible_load(plan: str, runtime: str) -> bool:
    """Would a version-compatible plan built by ``plan`` load in ``runtime``? (rule version-compatible)

    Same major: a runtime at least as new. Across majors: only the pairs the 11.4
    support matrix names (8 -> 10, 10 -> 11). Plans before 8.6 are never version-compatible.
    """
    built, run = versions.parse(plan).release, versions.parse(runtime).release
    if built[:2] < (8, 6) or run < built:
        return False
    if built[0] == run[0]:
        return True
    pairs = tables.table("engine_portability").section("cross_major") or []
    return [built[0], run[0]] in pairs
