"""The sweep's progress bar with an ETA, shown only while a sweep runs (Toolong's rule)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class SweepBar(Horizontal):
    """``sweeping  ━━━━━━━━╸━━━━  41%  eta 0:00:12  820/2000 hosts``."""

    def compose(self) -> ComposeResult:
        yield Label("sweeping ", id="sweep-label")
        yield ProgressBar(id="sweep-progress", show_eta=True)
        yield Label("", id="sweep-count")

    def start(self, total: int) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=0)
        self.query_one("#sweep-count", Label).update(f" 0/{total} hosts")
        self.display = True

    def advance(self, finished: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=total, progress=finished)
        self.query_one("#sweep-count", Label).update(f" {finished}/{total} hosts")

    def stop(self) -> None:
        self.display = False
