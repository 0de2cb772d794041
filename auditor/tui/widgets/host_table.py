"""The host table: a DataTable kept in line with the ``FleetModel`` in batches.

``sync`` is called at most every ``FLUSH_INTERVAL`` while events stream in, never
per event. Each sync (Dolphie's keyed diff, research 1.5):

* changes only the cells whose content changed (width is re-measured only when a
  cell grew: shrinking would make DataTable re-measure the whole column);
* adds new rows, removes few gone rows one by one or rebuilds when most are gone
  (each ``remove_row`` re-lays the whole table);
* sorts once, only when the order differs, keeping the cursor on the same host.

Bare-letter keys live here, on the focused table, so they never fire while the
filter input has focus.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from auditor.tui.cells import COLUMNS, FIXED_COLUMNS, age_cell, row_cells
from auditor.tui.model import FleetModel, SortKey

REBUILD_FRACTION = 0.3  # removing more rows than this share is slower than rebuilding


class HostTable(DataTable[Text]):
    """Hosts, one per row, keyed by host name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_detail", "Detail", id="detail.open", tooltip="Show the selected host's detail pane"),
        Binding("space", "toggle_mark", "Mark", id="table.mark", tooltip="Mark or unmark the host (r re-probes marks)"),
        Binding("r", "reprobe", "Re-probe", id="table.reprobe", tooltip="Re-probe the marked hosts, else the selected"),
        Binding("j", "cursor_down", "Down", show=False, id="table.down", tooltip="Next host"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up", tooltip="Previous host"),
        Binding("g", "first", "First", show=False, id="table.first", tooltip="First host"),
        Binding("G", "last", "Last", show=False, id="table.last", tooltip="Last host"),
        Binding("s", "cycle_sort", "Sort", id="table.sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="table.reverse", tooltip="Reverse the sort order"),
    ]

    class Reprobe(Message):
        """The user asked to re-probe these hosts."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    class OpenDetail(Message):
        """The user asked for the detail pane."""

    class ViewChanged(Message):
        """Sort or marks changed: the screen syncs the table and its titles now."""

    def __init__(self, model: FleetModel, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.model = model
        self._cells: dict[str, dict[str, Text]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(column.label, key=column.key)
        self.fixed_columns = FIXED_COLUMNS

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``r`` is greyed out while a sweep runs (one sweep at a time)."""
        if action == "reprobe" and self.model.sweep.running:
            return None
        return True

    @property
    def selected(self) -> str | None:
        """The host under the cursor (None when the table is empty)."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def sync(self, now: float, refresh_all: bool = False) -> None:
        """Bring the table in line with the model (see the module docstring)."""
        model = self.model
        visible = model.visible()
        dirty = set(model.rows) if refresh_all else model.dirty
        model.dirty = set()
        reshape, model.reshape = model.reshape, False
        # The cursor follows its host through re-sorts, except at the top row, which stays the top:
        # someone who has not moved yet is looking at the most urgent hosts, not at one of them.
        selected = self.selected if self.cursor_row > 0 else None
        shown = set(self._order)
        wanted = set(visible)
        gone = shown - wanted
        if gone and len(gone) > REBUILD_FRACTION * max(1, len(shown)):
            self._rebuild(visible, now)
        else:
            for name in gone:
                self.remove_row(name)
                del self._cells[name]
            for name in visible:
                if name not in shown:
                    cells = row_cells(model.rows[name], name in model.marked, now)
                    self._cells[name] = cells
                    self.add_row(*cells.values(), key=name)
                elif name in dirty:
                    self._update(name, row_cells(model.rows[name], name in model.marked, now))
            self._order = [name for name in self._order if name in wanted] + [n for n in visible if n not in shown]
        if self._order != visible or reshape:
            # DataTable's sort key sees cells, not row keys: the host cells are ours, so their identity names the row.
            position = {id(self._cells[name]["host"]): index for index, name in enumerate(visible)}
            self.sort("host", key=lambda cell: position[id(cell)])
            self._order = visible
        if selected is not None and selected in wanted:
            index = self._order.index(selected)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)

    def refresh_ages(self, now: float) -> None:
        """Re-age the Age column (only cells whose text changed are touched)."""
        rows, cells = self.model.rows, self._cells
        for name in self._order:
            cell = age_cell(rows[name], now)
            if cells[name]["age"] != cell:
                self.update_cell(name, "age", cell, update_width=cell.cell_len > self.columns["age"].content_width)  # type: ignore[index]
                cells[name]["age"] = cell

    def _rebuild(self, visible: list[str], now: float) -> None:
        self.clear()
        self._cells = {}
        for name in visible:
            cells = row_cells(self.model.rows[name], name in self.model.marked, now)
            self._cells[name] = cells
            self.add_row(*cells.values(), key=name)
        self._order = list(visible)

    def _update(self, name: str, cells: dict[str, Text]) -> None:
        """Replace only the cells whose content changed (unchanged ones keep their object: see ``sync``)."""
        kept = self._cells[name]
        for key, cell in cells.items():
            if kept[key] != cell:
                grew = cell.cell_len > self.columns[key].content_width  # type: ignore[index]
                self.update_cell(name, key, cell, update_width=grew)
                kept[key] = cell

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=max(0, self.row_count - 1))

    def action_open_detail(self) -> None:
        self.post_message(self.OpenDetail())

    def action_toggle_mark(self) -> None:
        name = self.selected
        if name is None:
            return
        self.model.marked.symmetric_difference_update({name})
        self.model.dirty.add(name)
        self.post_message(self.ViewChanged())
        self.action_cursor_down()

    def action_reprobe(self) -> None:
        names = [n for n in self.model.rows if n in self.model.marked] or ([self.selected] if self.selected else [])
        if names:
            self.post_message(self.Reprobe(names))

    def action_cycle_sort(self) -> None:
        order = [c.sort for c in COLUMNS if c.sort is not None]
        self.sort_by(order[(order.index(self.model.sort) + 1) % len(order)], reverse=False)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.model.sort, reverse=not self.model.reverse)

    def sort_by(self, key: SortKey, reverse: bool) -> None:
        self.model.sort, self.model.reverse, self.model.reshape = key, reverse, True
        self.post_message(self.ViewChanged())

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = next(c for c in COLUMNS if c.key == event.column_key.value)
        if column.sort is None:
            return
        reverse = not self.model.reverse if column.sort is self.model.sort else False
        self.sort_by(column.sort, reverse)
