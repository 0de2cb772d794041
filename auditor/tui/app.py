"""The interactive audit: a live host table and the selected host's findings."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from auditor.audit import AuditEvent, Targets, audit
from auditor.outcome import HostState
from auditor.policy import Policy
from auditor.report import HostReport
from auditor.report.table_writer import VERDICT_STYLE, host_columns
from auditor.tui.detail import render_host

COLUMNS = (
    ("host", "Host"),
    ("verdict", "Verdict"),
    ("groups", "Groups"),
    ("gpus", "GPUs"),
    ("driver", "Driver"),
    ("cuda", "CUDA"),
    ("tensorrt", "TensorRT"),
    ("why", "Why"),
)


class AuditApp(App[None]):
    """Sweeps the targets once on start; rows fill in as hosts answer."""

    CSS_PATH = "app.tcss"
    TITLE = "auditor"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(
        self,
        open_targets: Callable[[], contextlib.AbstractAsyncContextManager[Targets]],
        policy: Policy,
    ) -> None:
        super().__init__()
        self._open_targets = open_targets
        self.policy = policy
        self.reports: dict[str, HostReport] = {}
        self.states: dict[str, HostState] = {}
        self.sweep_done = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="hosts", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#hosts", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        table.fixed_columns = 1
        table.border_title = "hosts"
        self.sub_title = f"policy {self.policy.name}"
        self.run_worker(self.sweep(), name="sweep", exclusive=True)

    async def sweep(self) -> None:
        """Audit every target, updating the table as events arrive."""
        async with self._open_targets() as targets:
            self.title = f"auditor — {targets.name}"
            async for event in audit(targets.hosts, self.policy, targets.options):
                self.apply(event)
        self.sweep_done = True
        self.query_one("#hosts", DataTable).border_subtitle = "sweep complete"
        self.notify(f"Sweep complete: {len(self.reports)} hosts audited.")

    def apply(self, event: AuditEvent) -> None:
        """Reflect one host event in the table (and in the detail pane if it is selected)."""
        table = self.query_one("#hosts", DataTable)
        name = event.host.name
        self.states[name] = event.state
        if event.report is not None:
            self.reports[name] = event.report
        cells = self._cells(name, event)
        if name not in table.rows:
            table.add_row(*cells.values(), key=name)
        else:
            for column, value in cells.items():
                table.update_cell(name, column, value, update_width=True)
        finished = len(self.reports)
        table.border_subtitle = f"{finished}/{len(table.rows)} audited"
        if table.row_count and table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == name:
            self._show(name)

    def _cells(self, name: str, event: AuditEvent) -> dict[str, Text]:
        report = event.report
        if report is None:
            return {
                "host": Text(name),
                "verdict": Text(event.state.value, style="dim italic"),
                "groups": Text(", ".join(event.host.groups)),
                "gpus": Text(""),
                "driver": Text(""),
                "cuda": Text(""),
                "tensorrt": Text(""),
                "why": Text(""),
            }
        columns = host_columns(report)
        style = VERDICT_STYLE[report.verdict]
        return {
            "host": Text(name),
            "verdict": Text(report.verdict.value.upper(), style=style),
            "groups": Text(", ".join(report.groups)),
            "gpus": Text(columns["gpus"]),
            "driver": Text(columns["driver"]),
            "cuda": Text(columns["cuda"]),
            "tensorrt": Text(columns["tensorrt"]),
            "why": Text(report.reason),
        }

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._show(event.row_key.value)

    def _show(self, name: str) -> None:
        state = self.states.get(name, HostState.QUEUED).value
        self.query_one("#detail", Static).update(render_host(self.reports.get(name), name, state))
