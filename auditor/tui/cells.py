"""The host table's columns and one row's cells, as Rich ``Text``.

A plain ``str`` cell would be parsed as Rich markup by Textual's DataTable, so every
cell is a ``Text`` built from the value: a GPU called ``[bold red]x[/]`` shows those
characters. Host strings were stripped of control characters when the facts were
parsed (``auditor.text.clean``); they are cleaned again here because this is the
last place before a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from auditor.records import record
from auditor.text import clean
from auditor.tui.legend import state_text, verdict_text
from auditor.tui.model import HostRow, SortKey


@record
class Column:
    """A table column: its key, header label, the sort order clicking it selects, and its widest cell.

    ``max_width`` caps what one host can do to the table: a column is as wide as its
    widest cell up to this cap, and the caps are the width real values take (a driver
    pair ``535.183.01 ≠ 535.104.05``, ``8x NVIDIA A100-SXM4-80GB``), so a 4,000-character
    driver string is elided (``…``) in its cell instead of widening the column for
    every host; the detail pane shows it in full. The ``flex`` column (Why) is never
    wider than the terminal leaves it (see ``layout``).
    """

    key: str
    label: str
    sort: SortKey | None
    max_width: int = 40
    flex: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("mark", " ", None),
    Column("host", "Host", SortKey.HOST, 32),
    Column("verdict", "Verdict", SortKey.VERDICT),
    Column("driver", "Driver", SortKey.DRIVER, 24),
    Column("cuda", "CUDA", SortKey.CUDA, 20),
    Column("tensorrt", "TensorRT", SortKey.TENSORRT, 12),
    Column("gpus", "GPUs", SortKey.GPUS, 28),
    Column("age", "Age", SortKey.AGE),
    Column("groups", "Groups", SortKey.GROUPS, 24),
    Column("why", "Why", SortKey.WHY, 201, flex=True),  # a reason is long by nature: 200 characters and the ellipsis
)
FIXED_COLUMNS = 2  # the mark and the host name stay put while the table scrolls sideways
NARROW_LEAD = ("mark", "host", "verdict")
"""The columns always drawn before Why: on a terminal too narrow for more, host, verdict and why are what it shows."""
FLEX_MIN = 30  # Why is never squeezed below this: columns that would squeeze it move after it
PADDING = 1  # blank cells either side of every cell
MARK = "●"
SORT_ARROWS = ("▴", "▾")
"""The header's arrow: ▴ the column's natural order (most urgent verdict, A, the oldest version or data first),
▾ that order reversed. Small triangles: the WARN verdict's glyph is ▲."""


def label_width(column: Column) -> int:
    """The narrowest a column gets: its label, and the sort arrow a sortable one may carry."""
    return Text(column.label).cell_len + (1 if column.sort is not None else 0)


@record
class Layout:
    """The columns in the order drawn and each one's content width, for one terminal width."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(width + 2 * PADDING for width in self.widths)

    @property
    def fixed(self) -> int:
        """How wide the columns that never scroll sideways are (mark and host)."""
        return sum(width + 2 * PADDING for width in self.widths[:FIXED_COLUMNS])


def layout(natural: Mapping[str, int], room: int) -> Layout:
    """Place the columns in ``room`` cells, each as wide as ``natural`` says (widest cell, capped) but Why.

    Host and verdict come first; then as many of the other columns, in order, as leave
    Why at least ``FLEX_MIN`` cells; then Why, as wide as the rest of the screen (never
    wider than its widest cell); then the columns that did not fit, a sideways scroll
    away. On a wide terminal that is every column with Why last; at 80 columns it is
    host, verdict and why.
    """
    pad = 2 * PADDING
    flex = next(c for c in COLUMNS if c.flex)
    least = min(natural[flex.key], FLEX_MIN)
    placed = [c for c in COLUMNS if c.key in NARROW_LEAD]
    used = sum(natural[c.key] + pad for c in placed)
    after: list[Column] = []
    for column in (c for c in COLUMNS if not c.flex and c.key not in NARROW_LEAD):
        if not after and used + natural[column.key] + pad + least + pad <= room:
            placed.append(column)
            used += natural[column.key] + pad
        else:
            after.append(column)
    width = max(least, min(natural[flex.key], room - used - pad))
    columns = (*placed, flex, *after)
    return Layout(columns, tuple(width if c.flex else natural[c.key] for c in columns))


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
