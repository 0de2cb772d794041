"""The fleet screen: header, host table, detail pane, filter line, sweep bar, footer.

It shows the ``FleetModel`` and changes only how it is viewed (filter, sort, marks,
needs-action only, detail). Sweeps, export and help belong to the app; the screen's
``schedule_flush`` is how the app says "the model changed". Flushes are batched:
at most one per ``FLUSH_INTERVAL`` while events stream in, so a key press never
waits behind thousands of per-event table updates.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input

from auditor.text import count
from auditor.tui.cells import SORT_ARROWS, format_age
from auditor.tui.model import FleetModel
from auditor.tui.widgets.detail_pane import DetailPane
from auditor.tui.widgets.filter_input import FilterInput
from auditor.tui.widgets.fleet_header import FleetHeader
from auditor.tui.widgets.host_table import HostTable
from auditor.tui.widgets.sweep_bar import SweepBar

FLUSH_INTERVAL = 0.1  # seconds: the table catches up ten times a second while a sweep streams in
DETAIL_DELAY = 0.05  # seconds the cursor rests before the detail pane shows its host


class MainScreen(Screen[None]):
    """The fleet at a glance; everything else is a key away."""

    CSS_PATH = "main.tcss"
    ESCAPE_TO_MINIMIZE = False  # Esc has an order here (see action_back); minimizing is one step of it
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash", "filter", "Filter", id="view.filter", tooltip="Filter hosts across all columns (!text inverts)"
        ),
        Binding(
            "escape",
            "back",
            "Back",
            show=False,  # the filter line and the detail pane say "Esc" where it applies; the footer lacks room
            id="view.back",
            tooltip="Clear the filter, then close the detail, then clear marks",
        ),
        Binding("ctrl+z", "needs_action", "Needs action", id="view.needs_action", tooltip="Only hosts needing action"),
        Binding(
            "f", "full_detail", "Full screen", id="view.full_detail", tooltip="The detail pane alone (Esc restores)"
        ),
    ]

    def __init__(self, model: FleetModel, monotonic: Callable[[], float], fleet: str, policy: str) -> None:
        super().__init__()
        self.model = model
        self.monotonic = monotonic
        self.fleet = fleet
        self.policy = policy
        self.last_sweep = "no sweep yet"
        self._flush_timer: Timer | None = None
        self._detail_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield FleetHeader(id="header")
        yield HostTable(self.model, id="hosts")
        yield DetailPane(id="detail")
        yield FilterInput(id="filter")
        yield SweepBar(id="sweep")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#detail").display = False
        self.query_one("#filter").display = False
        self.query_one("#sweep").display = False
        self.query_one(HostTable).focus()
        self.flush()

    @property
    def table(self) -> HostTable:
        return self.query_one(HostTable)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    # --- keeping up with the model -----------------------------------------------------

    def schedule_flush(self) -> None:
        """The model changed: sync the table within ``FLUSH_INTERVAL`` (once, however many changes)."""
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(FLUSH_INTERVAL, self.flush)

    def flush(self, ages: bool = False) -> None:
        """Sync the table, titles, header and detail with the model now."""
        self._flush_timer = None
        if not self.is_mounted:
            return
        try:
            detail, table = self.detail, self.table
        except NoMatches:  # a timer fired while the screen's children are composed or torn down
            return
        now = self.monotonic()
        detail_dirty = detail.host in self.model.dirty
        with self.app.batch_update():
            table.sync(now)
            if ages:
                table.refresh_ages(now)
            self._titles(now)
            if detail.display and (detail_dirty or ages or detail.host != table.selected):
                self._show_detail()
        # What just landed (reports, rows) lives as long as the app: move it out of the
        # collector's way. Otherwise every full collection rescans every host's facts, an
        # 80-115 ms pause with 2,000 hosts that a key then waits behind (bench/tui.py).
        gc.freeze()

    def _titles(self, now: float) -> None:
        model, table = self.model, self.table
        title = f"hosts {table.row_count}/{len(model.rows)}"
        if model.needs_action_only:
            title += " · needs action"
        if model.filter.active:
            title += f" · filter {'not ' if model.filter.inverted else ''}'{model.filter.needle}'"
        title += f" · sort {model.sort.value} {SORT_ARROWS[model.reverse]}"
        if model.marked:
            title += f" · {len(model.marked)} marked"
        table.border_title = title
        sweep = model.sweep
        if sweep.running:
            eta = sweep.eta(now)
            table.border_subtitle = (
                f"probing {sweep.finished}/{sweep.hosts}"
                + (f" · {sweep.failed} not audited" if sweep.failed else "")
                + (f" · eta {format_age(eta)}" if eta is not None else "")
            )
            self.query_one(SweepBar).advance(sweep.finished, sweep.hosts)
            where = f"sweeping {sweep.finished}/{sweep.hosts}"
        else:
            if sweep.ended is not None and sweep.started is not None:
                table.border_subtitle = (
                    f"last sweep: {count(sweep.hosts, 'host')} in {sweep.ended - sweep.started:.1f}s"
                )
            where = self.last_sweep
            if sweep.ended is not None:
                where = f"{where} ({format_age(now - sweep.ended)} ago)"
        self.query_one(FleetHeader).show(self.fleet, self.policy, where, model.counts())

    def sweep_started(self, total: int) -> None:
        self.query_one(SweepBar).start(total)
        self.flush()

    def sweep_ended(self, when: str) -> None:
        self.last_sweep = f"last sweep {when}"
        self.query_one(SweepBar).stop()
        self.flush()

    # --- the table's messages ------------------------------------------------------------

    def on_host_table_highlighted(self, event: HostTable.Highlighted) -> None:
        # The detail follows the cursor once it rests (DETAIL_DELAY): holding j through a hundred
        # hosts moves the cursor at key speed instead of drawing a hundred detail panes.
        if self.detail.display:
            if self._detail_timer is not None:
                self._detail_timer.stop()
            self._detail_timer = self.set_timer(DETAIL_DELAY, self._show_detail)

    def on_host_table_open_detail(self, event: HostTable.OpenDetail) -> None:
        if self.detail.display:
            self.detail.focus()
            return
        self.detail.display = True
        self.refresh_bindings()
        self._show_detail()
        # The table just got shorter: keep the selected host in view once the new layout is in.
        table = self.table
        self.call_after_refresh(lambda: table.move_cursor(row=table.cursor_row))

    def on_host_table_view_changed(self, event: HostTable.ViewChanged) -> None:
        self.flush()

    def _show_detail(self) -> None:
        self._detail_timer = None
        name = self.table.selected
        self.detail.show(self.model.rows.get(name) if name else None, self.monotonic())

    # --- filter ----------------------------------------------------------------------------

    def action_filter(self) -> None:
        field = self.query_one(FilterInput)
        field.display = True
        # Focus now, not on the next turn (Widget.focus): keys typed right after "/" belong to the filter.
        self.set_focus(field)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            self.query_one(FilterInput).display = False
        self.table.focus()

    def _set_filter(self, text: str) -> None:
        from auditor.tui.model import HostFilter

        if text != self.model.filter.text:
            self.model.filter = HostFilter(text)
            self.model.reshape = True
            self.schedule_flush()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``f`` applies only while the detail pane is open."""
        if action == "full_detail":
            return self.detail.display and self.maximized is None
        return True

    def action_full_detail(self) -> None:
        self.detail.focus()
        self.maximize(self.detail)

    # --- views ------------------------------------------------------------------------------

    def action_needs_action(self) -> None:
        self.model.needs_action_only = not self.model.needs_action_only
        self.model.reshape = True
        self.flush()

    def action_back(self) -> None:
        """Esc: the filter first, then a maximized detail, the detail, the marks, the needs-action view."""
        field = self.query_one(FilterInput)
        if field.display or self.model.filter.active:
            field.value = ""
            field.display = False
            self._set_filter("")
            self.table.focus()
            self.flush()
        elif self.maximized is not None:
            self.minimize()
            self.table.focus()
        elif self.detail.display:
            self.detail.display = False
            self.table.focus()
            self.refresh_bindings()
        elif self.model.marked:
            self.model.dirty |= self.model.marked
            self.model.marked.clear()
            self.flush()
        elif self.model.needs_action_only:
            self.action_needs_action()
