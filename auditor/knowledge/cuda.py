"""Queries over the CUDA tables: toolkit floors, minor-version and forward compatibility,
driver branches and their lifecycle, and which architectures each toolkit and branch serve.

Every answer carries the table row it came from, so callers can cite it
(``tables.table(name).cite(row)``) and say its grade.
"""

from __future__ import annotations

import datetime
import fnmatch
from typing import Any

from auditor import versions
from auditor.knowledge import tables
from auditor.records import record


@record
class ToolkitFloor:
    """The driver a toolkit release needs for its full feature set.

    ``floor`` is what the auditor compares against (the higher of the printed minimum
    and the bundled driver); ``exact`` is False when ``cuda`` had no row of its own and
    a neighbouring release's floor stands in (``note`` says which).
    """

    cuda: str
    release: str
    floor: str | None
    """None when the sources name no minimum for this release (no driver is then called native)."""
    grade: str
    row: Any
    exact: bool = True
    note: str = ""

    @property
    def cite(self) -> str:
        return tables.table("cuda_toolkits").cite(self.row)


def _floor_of(row: Any) -> str | None:
    if row.get("floor"):
        return str(row["floor"])
    candidates = [str(row[k]) for k in ("linux", "bundled") if row.get(k)]
    return max(candidates, key=versions.parse) if candidates else None


@tables.memo
def toolkit_floor(cuda: str) -> ToolkitFloor | None:
    """The floor for a toolkit version ("12.2.2", or "12.2" for its GA), or None if unknown.

    An update newer than the last listed one of its minor release takes that one's
    floor (conservative: never lower), and says so.
    """
    release = versions.parse(cuda).release
    rows = tables.table("cuda_toolkits").rows
    if release[0] < 11:  # 10.x rows cover every 10.x.y
        prefix = versions.major_minor(cuda)
        row = next((r for r in rows if r["cuda"] == prefix), None)
        return _answer(row, cuda) if row else None
    same_minor = [r for r in rows if versions.major_minor(r["cuda"]) == versions.major_minor(cuda)]
    if not same_minor:
        return None
    if len(release) < 3:
        ga = next((r for r in same_minor if r.get("ga")), same_minor[-1])
        return _answer(ga, cuda)
    exact = next((r for r in same_minor if versions.parse(r["cuda"]) == versions.parse(cuda)), None)
    if exact is not None:
        return _answer(exact, cuda)
    newest = max(same_minor, key=lambda r: versions.parse(r["cuda"]))
    older = [r for r in same_minor if versions.parse(r["cuda"]) < versions.parse(cuda)]
    stand_in = max(older, key=lambda r: versions.parse(r["cuda"])) if older else newest
    if versions.parse(cuda) > versions.parse(newest["cuda"]):
        stand_in = newest
    note = f"no row for CUDA {cuda}; the floor of {stand_in['release']} ({stand_in['cuda']}) stands in"
    return _answer(stand_in, cuda, exact=False, note=note)


def _answer(row: Any, cuda: str, exact: bool = True, note: str = "") -> ToolkitFloor:
    return ToolkitFloor(
        cuda=cuda,
        release=str(row["release"]),
        floor=_floor_of(row),
        grade=str(row["grade"]),
        row=row,
        exact=exact,
        note="; ".join(n for n in (note, str(row.get("note") or "")) if n),
    )


def known_toolkits() -> list[str]:
    """Every toolkit version with a row, newest first."""
    return list(_known_toolkits())


@tables.memo
def _known_toolkits() -> tuple[str, ...]:
    return tuple(str(r["cuda"]) for r in tables.table("cuda_toolkits").rows)


@record
class MvcFamily:
    """Minor-version compatibility of one CUDA major family."""

    family: int
    floor: str
    grade: str
    row: Any

    @property
    def cite(self) -> str:
        return tables.table("minor_version").cite(self.row)


@tables.memo
def mvc_family(major: int) -> MvcFamily | None:
    """The MVC floor of CUDA ``major`` (11, 12, 13), or None (no MVC before CUDA 11)."""
    for row in tables.table("minor_version").rows:
        if row["family"] == major:
            return MvcFamily(major, str(row["floor"]), str(row["grade"]), row)
    return None


def mvc_caveats() -> list[str]:
    """The caveats of minor-version compatibility, one line each."""
    return [" ".join(str(c["text"]).split()) for c in tables.table("minor_version").section("caveats")]


@record
class Branch:
    """A driver branch: native CUDA, type and lifecycle."""

    branch: int
    cuda: str | None
    """The newest CUDA the branch runs natively; None when the sources do not say (R620)."""
    type: str | None
    eol: str | None
    eol_past: bool
    grade: str
    row: Any

    @property
    def cite(self) -> str:
        return tables.table("driver_branches").cite(self.row)

    @property
    def type_label(self) -> str:
        """Human name of the branch type ("Long Term Support Branch")."""
        return _TYPE_LABEL.get(self.type or "", "branch type not documented")

    def eol_date(self) -> datetime.date | None:
        """The first day of the end-of-life month (conservative), or None without a date."""
        if not self.eol:
            return None
        year, month = (int(p) for p in self.eol.split("-"))
        return datetime.date(year, month, 1)

    def is_past_eol(self, today: datetime.date) -> bool:
        """True when the branch is past end of life on ``today`` (or listed so without a date)."""
        when = self.eol_date()
        return self.eol_past or (when is not None and today >= when)

    def eol_text(self) -> str:
        """ "end of life June 2026", or what the sources say instead."""
        when = self.eol_date()
        if when is not None:
            return f"end of life {when:%B %Y}"
        if self.eol_past:
            return "end of life (no date given; " + str(self.row.get("note") or "listed as end of life") + ")"
        return "no end of life published"


_TYPE_LABEL = {
    "lts": "Long Term Support Branch",
    "production": "Production Branch",
    "new-feature": "New Feature Branch",
    "evaluation": "Evaluation/Developer branch",
    "short-lived": "short-lived branch (a single release)",
}


@tables.memo
def branch_info(driver_version: str) -> Branch | None:
    """The branch of ``driver_version`` (535.104.05 -> R535), or None if the table lacks it."""
    number = versions.branch(driver_version)
    for row in tables.table("driver_branches").rows:
        if row["branch"] == number:
            return Branch(
                number,
                str(row["cuda"]) if row.get("cuda") else None,
                row.get("type"),
                row.get("eol"),
                bool(row.get("eol_past")),
                str(row["grade"]),
                row,
            )
    return None


def driver_cuda_version(driver_version: str) -> str | None:
    """The newest CUDA a driver supports natively (535.104.05 -> "12.2"), or None if unknown."""
    info = branch_info(driver_version)
    return info.cuda if info else None


def newest_branch() -> int:
    """The newest driver branch the knowledge base has a row for (a newer one is unknown)."""
    return max(int(r["branch"]) for r in tables.table("driver_branches").rows)


def supported_branches(today: datetime.date) -> list[Branch]:
    """Branches with a published end of life still ahead on ``today``, newest first."""
    rows = tables.table("driver_branches").rows
    found = [branch_info(str(r["branch"])) for r in rows]
    return sorted(
        (b for b in found if b is not None and b.eol and not b.is_past_eol(today)),
        key=lambda b: -b.branch,
    )


def newest_compat_package() -> str:
    """The newest CUDA a cuda-compat package row covers ("13.4"): forward compatibility beyond it is unknown."""
    return max((str(r["cuda"]) for r in tables.table("forward_compat").rows), key=versions.parse)


def forward_compat(package_cuda: str, branch: int) -> tuple[str | None, Any]:
    """The matrix cell for ``cuda-compat-<package_cuda>`` on ``branch``: "C", "X", "N/A", or None.

    None means no such package row or no column for the branch (end of life or not
    a target). Returns the cell and the package row (None when there is none).
    """
    mm = versions.major_minor(package_cuda)
    for row in tables.table("forward_compat").rows:
        if row["cuda"] == mm:
            return row["branches"].get(branch), row
    return None, None


def compat_packages(cuda: str, branch: int) -> list[str]:
    """cuda-compat packages that run CUDA ``cuda`` on ``branch`` (C cells covering it), oldest first."""
    return list(_compat_packages(cuda, branch))


@tables.memo
def _compat_packages(cuda: str, branch: int) -> tuple[str, ...]:
    wanted = versions.parse(versions.major_minor(cuda))
    found = []
    for row in tables.table("forward_compat").rows:
        if versions.parse(row["cuda"]) >= wanted and row["branches"].get(branch) == "C":
            found.append(str(row["package"]))
    return tuple(reversed(found))


def forward_compat_caveat(branch: int) -> str | None:
    """Why a documented forward-compatibility column is still doubtful (Q7), or None."""
    table = tables.table("forward_compat")
    if branch in (table.section("new_feature_branches") or []):
        return (
            f"R{branch} is a New Feature Branch, which NVIDIA says is not a supported forward-compatibility target (Q7)"
        )
    if branch in (table.section("end_of_life_columns") or []):
        return (
            f"R{branch} is past end of life, and NVIDIA says such branches are not forward-compatibility targets (Q7)"
        )
    return None


def historical_forward_compat(cuda: str, driver_version: str) -> str | None:
    """A pre-2025 NGC-notes claim (grade B) that this pair worked, for context only (Q8)."""
    mm = versions.parse(versions.major_minor(cuda))
    for row in tables.table("forward_compat").section("historical") or []:
        low, high = (versions.parse(p) for p in str(row["cuda"]).split("-"))
        if low <= mm <= high:
            for base in row["branches"]:
                if versions.branch(base) == versions.branch(driver_version):
                    return (
                        f"NGC container notes (grade B) once listed R{versions.branch(base)} (>= {base}) as a "
                        f"forward-compatible base for CUDA {row['cuda']}; the current matrix does not (Q8)"
                    )
    return None


@record
class ArchSupport:
    """Which toolkits build for a compute capability, and the first and last branch that run it."""

    arch: str
    cc: str
    first_cuda: str | None
    last_cuda_major: int | None
    last_driver_branch: int | None
    grade: str
    row: Any

    @property
    def cite(self) -> str:
        return tables.table("architectures").cite(self.row)

    def first_branch(self) -> FirstBranch:
        """The oldest driver branch that runs this architecture, and where that comes from.

        An explicit ``first_driver_branch`` wins; else the branch of the first toolkit's own
        minimum driver (conflict first-branch). ``branch`` is None when the first toolkit is
        unknown (``known`` False) or older than every toolkit row (``predates`` True: every
        branch the knowledge base knows is newer).
        """
        explicit = self.row.get("first_driver_branch")
        if explicit:
            return FirstBranch(int(explicit), f"the architecture table names R{explicit}", True, False)
        if not self.first_cuda:
            return FirstBranch(
                None, f"the first CUDA toolkit for {self.arch} (CC {self.cc}) is not in the sources", False, False
            )
        floor = toolkit_floor(self.first_cuda)
        if floor is None or floor.floor is None:
            oldest = min(versions.parse(c) for c in known_toolkits())
            if versions.parse(self.first_cuda) < oldest:
                why = f"{self.arch} arrived with CUDA {self.first_cuda}, older than every branch the knowledge base tracks"
                return FirstBranch(None, why, True, True)
            return FirstBranch(None, f"CUDA {self.first_cuda}'s minimum driver is not in the sources", False, False)
        branch = versions.branch(floor.floor)
        why = f"{self.arch} (CC {self.cc}) arrived with CUDA {self.first_cuda}, whose minimum driver is {floor.floor} (R{branch})"
        return FirstBranch(branch, why, True, False)


@record
class FirstBranch:
    """The oldest branch that runs an architecture: ``branch`` (None: see ``known``/``predates``) and why."""

    branch: int | None
    why: str
    known: bool
    predates: bool


@tables.memo
def arch_support(compute_capability: str) -> ArchSupport | None:
    """The support window of ``compute_capability`` ("8.6"), or None if the table lacks it."""
    cc = _normal_cc(compute_capability)
    for row in tables.table("architectures").rows:
        if cc in [_normal_cc(c) for c in row["ccs"]]:
            return ArchSupport(
                str(row["arch"]),
                cc,
                row.get("first_cuda"),
                row.get("last_cuda_major"),
                row.get("last_driver_branch"),
                str(row["grade"]),
                row,
            )
    return None


@record
class SystemFloor:
    """A driver floor NVIDIA publishes for a whole system (HGX B200), recognised by its GPU names."""

    system: str
    floor: str
    grade: str
    row: Any

    @property
    def cite(self) -> str:
        return tables.table("system_floors").cite(self.row)


@tables.memo
def system_floor(gpu_name: str) -> SystemFloor | None:
    """The system-level floor for a host whose GPUs are called ``gpu_name``, if NVIDIA publishes one."""
    lowered = " ".join(gpu_name.split()).lower()
    for row in tables.table("system_floors").rows:
        if any(fnmatch.fnmatchcase(lowered, str(p).lower()) for p in row["gpus"]):
            return SystemFloor(str(row["system"]), str(row["floor"]), str(row["grade"]), row)
    return None


@tables.memo
def cuda_min_cc(major: int) -> tuple[str, Any] | None:
    """The lowest compute capability CUDA ``major`` builds for, and the drop row saying so."""
    for row in tables.table("architectures").section("drops") or []:
        if row["cuda_major"] == major:
            return str(row["min_cc"]), row
    return None


def _normal_cc(cc: str) -> str:
    major, _, minor = str(cc).partition(".")
    return f"{int(major)}.{int(minor or 0)}"


def cc_tuple(cc: str) -> tuple[int, int]:
    """ "8.6" -> (8, 6), for ordering compute capabilities."""
    major, _, minor = _normal_cc(cc).partition(".")
    return int(major), int(minor)
