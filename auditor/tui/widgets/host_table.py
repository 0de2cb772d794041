"""The host table: one row per host, kept in line with the ``FleetModel`` in batches.

A Line API widget rather than Textual's ``DataTable``: ``bench/tui.py`` measured the
DataTable at 60-100 ms per repaint of a 2,000-row table on this machine kind, and
any cell update invalidates every cached cell (one counter for the whole table), so
a sweep streaming 2,000 hosts kept the event loop busy repainting and keys waited
hundreds of milliseconds. Here each row is rendered once per change of its own
content and cached as a ``Strip``; a repaint renders only rows that changed, and only
the visible ones are ever rendered.

``sync`` is called at most every ``FLUSH_INTERVAL`` while events stream in, never per
event (Dolphie's keyed diff, docs/research/anchors-tui-style.md 1.5): only rows whose cells changed get new
strips, new hosts are appended, the order is recomputed once and applied only when
it differs, and the cursor stays on its host (except on the top row, which stays
the top row: someone who has not moved is looking at the most urgent hosts).

It draws a header (click a label to sort by it, again to reverse; the arrow is
``cells.SORT_ARROWS``), two fixed columns (mark and host) that stay put while the
rest scrolls sideways, zebra stripes and a row cursor. Column widths follow the
widest cell of the rows shown, each capped (``cells.Column.max_width``), and Why
takes the width the terminal leaves (``cells.layout``): on a narrow terminal it
follows the verdict, so host, verdict and why are on screen. Bare-letter keys are
bound here, on the focused table, so they never fire while the filter input has focus.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from auditor.tui.cells import (
    COLUMNS,
    FIXED_COLUMNS,
    PADDING,
    SORT_ARROWS,
    Layout,
    age_cell,
    format_age,
    label_width,
    layout,
    row_cells,
)
from auditor.tui.model import FleetModel, SortKey


class HostTable(ScrollView, can_focus=True):
    """Hosts, one per row, keyed by host name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_detail", "Detail", id="detail.open", tooltip="Show the selected host's detail pane"),
        Binding("r", "reprobe", "Re-probe", id="table.reprobe", tooltip="Re-probe the marked hosts, else the selected"),
        Binding(
            "space",
            "toggle_mark",
            "Mark",
            show=False,
            id="table.mark",
            tooltip="Mark or unmark the host (r re-probes marks)",
        ),
        Binding("s", "cycle_sort", "Sort", show=False, id="table.sort", tooltip="Sort by the next column"),
        Binding("S", "reverse_sort", "Reverse", show=False, id="table.reverse", tooltip="Reverse the sort order"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down", tooltip="Next host"),
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up", tooltip="Previous host"),
        Binding("home,g", "first", "First", show=False, id="table.first", tooltip="First host"),
        Binding("end,G", "last", "Last", show=False, id="table.last", tooltip="Last host"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down", tooltip="One page down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up", tooltip="One page up"),
        Binding("left", "scroll_left", "Left", show=False, id="table.left", tooltip="Scroll the columns left"),
        Binding("right", "scroll_right", "Right", show=False, id="table.right", tooltip="Scroll the columns right"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "host-table--header",
        "host-table--header-sorted",
        "host-table--cursor",
        "host-table--cursor-blurred",
        "host-table--even-row",
        "host-table--fixed",
    }
    DEFAULT_CSS = """
    HostTable {
        scrollbar-gutter: stable;  /* the room Why gets does not change when the vertical scrollbar comes */
        background: $surface;
        color: $foreground;
        & > .host-table--header { background: $panel; color: $foreground; text-style: bold; }
        & > .host-table--header-sorted { background: $panel; color: $accent; text-style: bold; }
        & > .host-table--cursor-blurred { background: $block-cursor-blurred-background; }
        & > .host-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .host-table--even-row { background: $surface-lighten-1 50%; }
        & > .host-table--fixed { background: $secondary-muted; }
    }
    """

    cursor_row: reactive[int] = reactive(0, repaint=False)
    """The index of the highlighted row (0 when the table is empty)."""

    class Highlighted(Message):
        """The host under the cursor changed (``name`` None: the table is empty)."""

        def __init__(self, name: str | None) -> None:
            super().__init__()
            self.name = name

    class Reprobe(Message):
        """The user asked to re-probe these hosts."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    class OpenDetail(Message):
        """The user asked for the detail pane (Enter, or a click on the selected row)."""

    class ViewChanged(Message):
        """Sort or marks changed: the screen syncs the table and its titles now."""

    def __init__(self, model: FleetModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.rows: list[str] = []
        """The hosts shown, top to bottom."""
        self._index: dict[str, int] = {}
        self._cells: dict[str, dict[str, Text]] = {}
        self._version: dict[str, int] = {}
        self._cell_widths: dict[str, list[int]] = {}
        """Each host's cell widths, in ``COLUMNS`` order."""
        self.widths: dict[str, int] = {c.key: label_width(c) for c in COLUMNS}
        """Each column's natural width: its widest cell among the rows shown (cells grow it; a rebuild can shrink it)."""
        self._placed: tuple[tuple[object, ...], Layout] | None = None
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._highlighted: str | None = None

    # --- reading ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def selected(self) -> str | None:
        """The host under the cursor (None when the table is empty)."""
        return self.rows[self.cursor_row] if self.rows else None

    def get_cell(self, name: str, column: str) -> Text:
        """The cell shown for ``name`` in ``column`` (KeyError if the host is not shown)."""
        return self._cells[name][column]

    def get_row_index(self, name: str) -> int:
        return self._index[name]

    def column_at(self, x: int) -> str | None:
        """The column under offset ``x`` of the widget's content (the header's click target)."""
        placed = self.columns()
        position = x if x < placed.fixed else x + int(self.scroll_x)
        start = 0
        for column, width in zip(placed.columns, placed.widths, strict=True):
            end = start + width + 2 * PADDING
            if start <= position < end:
                return column.key
            start = end
        return None

    def columns(self) -> Layout:
        """The columns' order and widths for the width the table has now (``cells.layout``)."""
        room = self.scrollable_content_region.width
        key = (room, *self.widths.values())
        if self._placed is None or self._placed[0] != key:
            self._placed = (key, layout(self.widths, room))
        return self._placed[1]

    # --- keeping up with the model ------------------------------------------------------

    def sync(self, now: float) -> None:
        """Bring the rows in line with the model (see the module docstring)."""
        model = self.model
        visible = model.visible()
        dirty, model.dirty = model.dirty, set()
        model.reshape = False
        selected = self.selected if self.cursor_row > 0 else None
        grown = False
        wanted = set(visible)
        # Only rows that changed or have no cells yet, found with set operations: a walk over every
        # row per sync was milliseconds of each sync with 10,000 hosts (bench/tui.py). Hidden rows
        # keep their cells: ctrl+z or a cleared filter shows them again without rebuilding.
        for name in (dirty & wanted) | (wanted - self._cells.keys()):
            cells = row_cells(model.rows[name], name in model.marked, now)
            if self._cells.get(name) != cells:
                self._set_cells(name, cells)
                grown |= self._grow(cells)
        for name in dirty - wanted:
            self._cells.pop(name, None)  # changed while hidden: built again when shown

        if visible != self.rows:
            before = set(self.rows)
            shrunk = not before <= wanted
            self.rows = visible
            self._index = {name: index for index, name in enumerate(visible)}
            if shrunk:
                grown |= self._measure()
            else:  # rows shown again (a filter cleared) kept their cells: their widths count again
                for name in wanted - before:
                    grown |= self._grow_to(self._cell_widths[name])
            self.virtual_size = Size(self._total_width(), len(visible) + 1)
        elif grown:
            self.virtual_size = Size(self._total_width(), len(visible) + 1)
        if grown:
            self._strips.clear()
        if selected is not None and selected in self._index:
            self._move(self._index[selected], scroll=False)
        else:
            self._move(min(self.cursor_row, max(0, len(visible) - 1)), scroll=False)
        self.refresh()

    def _set_cells(self, name: str, cells: dict[str, Text]) -> None:
        self._cells[name] = cells
        self._cell_widths[name] = [cells[c.key].cell_len for c in COLUMNS]
        self._version[name] = self._version.get(name, 0) + 1

    def refresh_ages(self, now: float) -> None:
        """Re-age the Age column: only rows whose age text changed get a new cell and strip."""
        rows, cells, grown = self.model.rows, self._cells, False
        for name in self.rows:
            row = rows[name]
            if row.in_flight or row.updated is None:
                continue  # the cell shows the row's state, which comes in through sync
            text = format_age(now - row.updated)
            if cells[name]["age"].plain != text:
                cell = age_cell(row, now)
                self._set_cells(name, {**cells[name], "age": cell})
                grown |= self._grow({"age": cell})
        if grown:
            self._strips.clear()
            self.virtual_size = Size(self._total_width(), len(self.rows) + 1)
        self.refresh()

    def _grow(self, cells: dict[str, Text]) -> bool:
        grown = False
        for key, cell in cells.items():
            if cell.cell_len > self.widths[key]:
                self.widths[key] = cell.cell_len
                grown = True
        return grown

    def _grow_to(self, widths: list[int]) -> bool:
        grown = False
        for column, width in zip(COLUMNS, widths, strict=True):
            if width > self.widths[column.key]:
                self.widths[column.key] = width
                grown = True
        return grown

    def _measure(self) -> bool:
        """Fit every column to the rows shown now (after a filter, say); True if a width changed."""
        labels = [label_width(c) for c in COLUMNS]
        shown = [self._cell_widths[name] for name in self.rows]
        widths = {c.key: max([labels[i], *(w[i] for w in shown)]) for i, c in enumerate(COLUMNS)}
        changed = widths != self.widths
        self.widths = widths
        return changed

    def _total_width(self) -> int:
        return self.columns().total

    def on_resize(self) -> None:
        self.virtual_size = Size(self._total_width(), len(self.rows) + 1)
        self.refresh()

    # --- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = int(self.scroll_x)
        if y == 0:
            return self._header(width, scroll_x)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        name = self.rows[index]
        cursor = index == self.cursor_row
        key = (name, self._version.get(name, 0), width, scroll_x, cursor, cursor and self.has_focus, index % 2)
        strip = self._strips.get(key)
        if strip is None:
            if cursor:
                style = self.get_component_rich_style(
                    "host-table--cursor" if self.has_focus else "host-table--cursor-blurred"
                )
            elif index % 2:
                style = self.get_component_rich_style("host-table--even-row")
            else:
                style = Style()
            strip = self._line(self._cells[name], width, scroll_x, style, cursor=cursor)
            self._strips[key] = strip
        return strip

    def _header(self, width: int, scroll_x: int) -> Strip:
        model = self.model
        labels: dict[str, Text] = {}
        sorted_style = self.get_component_rich_style("host-table--header-sorted")
        for column in COLUMNS:
            label = Text(column.label)
            if column.sort is not None and column.sort is model.sort:
                label = Text(f"{column.label}{SORT_ARROWS[model.reverse]}", style=sorted_style)
            labels[column.key] = label
        return self._line(labels, width, scroll_x, self.get_component_rich_style("host-table--header"), header=True)

    def _line(
        self,
        cells: dict[str, Text],
        width: int,
        scroll_x: int,
        style: Style,
        header: bool = False,
        cursor: bool = False,
    ) -> Strip:
        """One row: the fixed columns, then the rest scrolled by ``scroll_x``, filling ``width``.

        Built as segments and wrapped in a single ``Strip``: a Strip is costly to make
        (it carries its own caches), and a repaint makes one per visible row.
        """
        base = self.rich_style + style
        # On the cursor row the cursor's colours win over the cells' own (a red verdict on a blue bar is unreadable).
        post = style if cursor else None
        fixed_style = base if header or cursor else base + self.get_component_rich_style("host-table--fixed")
        fixed, rest = Text(), Text()
        placed = self.columns()
        for position, (column, room) in enumerate(zip(placed.columns, placed.widths, strict=True)):
            target = fixed if position < FIXED_COLUMNS else rest
            cell = cells.get(column.key) or Text()
            pad = room - cell.cell_len
            if pad < 0:  # wider than its column (Why on a narrow terminal): elided, the detail has it all
                cell = cell.copy()
                cell.truncate(room, overflow="ellipsis")
            target.append(" " * PADDING)
            target.append_text(cell)
            target.append(" " * (max(0, pad) + PADDING))
        console = self.app.console
        segments = list(Segment.apply_style(fixed.render(console, end=""), fixed_style, post))
        room = max(0, width - fixed.cell_len)
        scrolled = list(Segment.apply_style(rest.render(console, end=""), base, post))
        if scroll_x:
            scrolled = list(Segment.divide(scrolled, [scroll_x, scroll_x + room]))[1]
        segments += scrolled
        return Strip(Segment.adjust_line_length(segments, width, base), width)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a new theme: every row is drawn again

    def watch_scroll_x(self, old: float, new: float) -> None:
        super().watch_scroll_x(old, new)
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- the cursor -------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row ``row`` (clamped) and scroll it into view."""
        self._move(max(0, min(row, len(self.rows) - 1)), scroll=True)

    def _move(self, row: int, scroll: bool) -> None:
        self.cursor_row = row
        if scroll or self.selected != self._highlighted:
            self._scroll_to_cursor()
        if self.selected != self._highlighted:
            self._highlighted = self.selected
            self.post_message(self.Highlighted(self._highlighted))
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)  # the header takes a line
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.rows) - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(1, self.scrollable_content_region.height - 2))

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(1, self.scrollable_content_region.height - 2))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self.column_at(offset.x)
            spec = next((c for c in COLUMNS if c.key == column), None)
            if spec is not None and spec.sort is not None:
                reverse = not self.model.reverse if spec.sort is self.model.sort else False
                self.sort_by(spec.sort, reverse)
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self.rows):
            if row == self.cursor_row:
                self.post_message(self.OpenDetail())
            self.move_cursor(row)

    async def on_key(self, event: events.Key) -> None:
        """Keys typed fast after "/" go to the filter, never to the table's bindings.

        Textual hands a key to the widget focused when the app reads it, and checks
        bindings only once the key has bubbled back up to the app. "/a100" arriving in
        one burst (a fast typist, a paste, tmux) would reach the table whole before the
        "/" binding ran, and its letters would then be matched as keys. So "/" opens the
        filter right here, and what follows it is handed on to the focused filter.
        """
        focused = self.screen.focused
        if focused is self and event.key == "slash":
            event.stop()
            event.prevent_default()
            await self.run_action("screen.filter")
        elif focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))

    # --- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``r`` is greyed out while a sweep runs (one sweep at a time)."""
        if action == "reprobe" and self.model.sweep.running:
            return None
        return True

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
        self._strips.clear()  # the header's arrow moved
        self.post_message(self.ViewChanged())
