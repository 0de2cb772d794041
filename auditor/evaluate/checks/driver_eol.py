"""Built-in check ``driver.eol``: the driver branch is not past its end of life (and says when it nears it)."""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import BUILTIN, Check, Run
from auditor.evaluate.switches import SWITCHES
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge import tables
from auditor.text import count

EOL_SOON_DAYS = 180  # a branch this close to end of life gets an informational finding


def driver_eol(run: Run) -> None:
    """The driver branch's end of life: past it (investigate), or within ``EOL_SOON_DAYS`` of it (informational)."""
    driver = run.driver_version
    if not run.wants("driver.eol"):
        return
    info = cuda_kb.branch_info(driver)
    if info is None:
        branch = versions.branch(driver)
        newest = cuda_kb.newest_branch()
        what = (
            f"R{branch} is newer than the knowledge base"
            if branch > newest
            else f"R{branch} is not in the knowledge base"
        )
        run.inconclusive(
            "driver.eol", f"{what} ({tables.as_of_text()}): its type and end of life are not known", BUILTIN
        )
        return
    when = info.eol_date()
    if not info.is_past_eol(run.today) and (when is None or (when - run.today).days > EOL_SOON_DAYS):
        return  # the common case on a fleet: decided without building any text
    supported = ", ".join(
        f"R{b.branch} ({b.type_label}, {b.eol_text()})" for b in cuda_kb.supported_branches(run.today)
    )
    if info.is_past_eol(run.today):
        run.add(
            Finding(
                rule="driver.eol",
                severity=Severity.MEDIUM,
                action=Action.INVESTIGATE,
                message=f"driver branch R{info.branch} ({info.type_label}) is past {info.eol_text()}",
                expected="a driver branch NVIDIA still supports",
                actual=f"R{info.branch} ({driver})",
                source=info.cite,
                remediation=f"Move to a supported branch: {supported}." if supported else "Move to a supported branch.",
            )
        )
        return
    if when is not None:  # within EOL_SOON_DAYS of its end of life
        run.add(
            Finding(
                rule="driver.eol",
                severity=Severity.INFO,
                action=Action.NONE,
                message=f"driver branch R{info.branch} reaches end of life in {when:%B %Y} ({count((when - run.today).days, 'day')})",
                actual=f"R{info.branch} ({driver})",
                source=info.cite,
                remediation=f"Plan the move to a supported branch: {supported}." if supported else None,
            )
        )


CHECK = Check(
    id="driver.eol",
    reads=("driver",),
    judge=driver_eol,
    switches=SWITCHES["driver_eol"],
)
