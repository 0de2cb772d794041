"""``K``: unknown host keys met during a sweep, reviewed after it, never prompted mid-sweep."""

from __future__ import annotations

from textual.screen import ModalScreen

from auditor.tui.model import HostRow


class HostKeyScreen(ModalScreen[list[str] | None]):
    """Accept or reject each unknown key; dismisses with the hosts accepted."""

    def __init__(self, rows: list[HostRow]) -> None:
        super().__init__()
        self.rows = rows
