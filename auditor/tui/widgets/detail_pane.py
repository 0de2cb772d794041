"""The detail pane: the selected host in full, scrollable, following the table's cursor."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from auditor.text import clean
from auditor.tui.detail import render_detail
from auditor.tui.model import HostRow


class DetailPane(VerticalScroll):
    """Findings, facts, stderr and probe output of one host (see ``auditor.tui.detail``)."""

    ALLOW_MAXIMIZE = True  # f gives it the whole screen

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="detail.down", tooltip="Detail pane: scroll down"),
        Binding("k", "scroll_up", "Up", show=False, id="detail.up", tooltip="Detail pane: scroll up"),
        Binding("g", "scroll_home", "Top", show=False, id="detail.top", tooltip="Detail pane: to the top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="detail.bottom", tooltip="Detail pane: to the end"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Static(id="detail-body"), id=id)
        self.host: str | None = None

    def show(self, row: HostRow | None, now: float) -> None:
        """Show ``row`` (None: nothing selected); scrolls back to the top when the host changes."""
        body = self.query_one("#detail-body", Static)
        if row is None:
            body.update("No host selected.")
            self.host = None
            return
        if row.name != self.host:
            self.scroll_home(animate=False)
        self.host = row.name
        self.border_title = Text(f"detail · {clean(row.name, 200)}")  # a Text: never read as markup
        self.border_subtitle = "Enter or tab focuses · f full screen · Esc closes"
        body.update(render_detail(row, now))
