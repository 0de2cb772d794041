"""The host table's columns and one row's cells, as Rich ``Text``.

A plain ``str`` cell would be parsed as Rich markup by Textual's DataTable, so every
cell is a ``Text`` built from the value: a GPU called ``[bold red]x[/]`` shows those
characters. Host strings were stripped of control characters when the facts were
parsed (``auditor.text.clean``); they are cleaned again here because this is the
last place before a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from auditor.text import clean
from auditor.tui.legend import state_text, verdict_text
from auditor.tui.model import HostRow, SortKey


@dataclass(frozen=True)
class Column:
    """A table column: its key, header label, the sort order clicking it selects, and its widest cell.

    ``max_width`` caps what one host can do to the table: a 4,000-character driver
    string is elided (``…``) in its cell instead of widening the column for every
    host; the detail pane shows it in full.
    """

    key: str
    label: str
    sort: SortKey | None
    max_width: int = 40


COLUMNS: tuple[Column, ...] = (
    Column("mark", " ", None),
    Column("host", "Host", SortKey.HOST, 48),
    Column("verdict", "Verdict", SortKey.VERDICT),
    Column("driver", "Driver", SortKey.DRIVER, 28),
    Column("cuda", "CUDA", SortKey.CUDA, 28),
    Column("tensorrt", "TensorRT", SortKey.TENSORRT, 20),
    Column("gpus", "GPUs", SortKey.GPUS, 36),
    Column("age", "Age", SortKey.AGE),
    Column("why", "Why", SortKey.WHY, 201),  # a reason is long by nature: 200 characters and the ellipsis
    Column("groups", "Groups", SortKey.GROUPS, 40),
)
FIXED_COLUMNS = 2  # the mark and the host name stay put while the table scrolls sideways
MARK = "●"


def safe(text: str, limit: int = 300, style: str = "") -> Text:
    """Untrusted text as a plain ``Text``: control characters out, never markup."""
    return Text(clean(text, limit), style=style)


def format_age(seconds: float) -> str:
    """``"4s"``, ``"3m"``, ``"2h"``, ``"5d"``: one unit, for a narrow column."""
    whole = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def age_cell(row: HostRow, now: float) -> Text:
    """How old the row's data is (``4s``); while a re-probe runs, where it is (``◐ probing``)."""
    if row.in_flight:
        return state_text(row.state) if row.report is not None else Text("")
    if row.updated is None:
        return Text("")
    return Text(format_age(now - row.updated), style="dim")


def row_cells(row: HostRow, marked: bool, now: float) -> dict[str, Text]:
    """Every column's cell for one host, keyed by column key, each cut to its column's ``max_width``."""
    report = row.report
    columns = dict(row.columns)
    if report is not None and report.facts is not None and report.facts.driver.mismatch:
        # "535.183.01 ≠ 535.104.05": the user-space driver and the loaded kernel module, narrower than the report's wording.
        driver = report.facts.driver
        columns["driver"] = f"{driver.version or '?'} ≠ {driver.kernel_module or '?'}"
    if report is not None:
        verdict = verdict_text(report.verdict, stale=row.in_flight)
    else:
        verdict = state_text(row.state)
    cells = {
        "mark": Text(MARK, style="bold cyan") if marked else Text(" "),
        "host": safe(row.name, 120),
        "verdict": verdict,
        "driver": safe(columns["driver"]),
        "cuda": safe(columns["cuda"]),
        "tensorrt": safe(columns["tensorrt"]),
        "gpus": safe(columns["gpus"]),
        "age": age_cell(row, now),
        "why": safe(report.reason if report is not None else "", 200),
        "groups": safe(", ".join(row.host.groups)),
    }
    for column in COLUMNS:
        cell = cells[column.key]
        if cell.cell_len > column.max_width:
            cell.truncate(column.max_width, overflow="ellipsis")
    return cells
