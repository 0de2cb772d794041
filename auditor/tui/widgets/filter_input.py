"""The filter line that ``/`` opens: matches every column as you type."""

from __future__ import annotations

from textual.widgets import Input

PLACEHOLDER = "/ filter all columns · !text: hosts that do not match · Enter keeps it · Esc clears"


class FilterInput(Input):
    """An ``Input`` that owns every printable key while focused (no bare-letter binding fires)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=PLACEHOLDER, id=id, select_on_focus=False, compact=True)
