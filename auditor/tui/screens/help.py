"""``?``: every key with what it does, and the legend of verdict and state glyphs and colours.

The key list is generated from the bindings themselves, which the app hands over (its
own, the fleet screen's, the table's, the detail pane's), so help cannot drift from what
the keys do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from auditor.findings import Verdict
from auditor.tui.legend import IN_FLIGHT, STATE_LOOK, VERDICT_LOOK, state_text, verdict_text

WIDE = 140  # terminal columns from which keys and legend sit side by side
EXTRA_KEYS = (
    ("↑ ↓ PgUp PgDn", "Move through the hosts (j k g G too)"),
    ("click header", "Sort by that column; click again to reverse"),
    ("tab", "Move between the table and the detail pane"),
    ("ctrl+p", "Command palette: every action, searchable"),
)


KeyOwners = Sequence[tuple[str, Sequence[BindingType]]]
"""The bindings help lists, by section: ``("table", HostTable.BINDINGS)``, in the order shown."""


class HelpScreen(ModalScreen[None]):
    """Keys, then the legend; Esc, q or ? closes it."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close", tooltip="Close help"),
    ]

    def __init__(self, owners: KeyOwners) -> None:
        super().__init__()
        self.owners = owners

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            with Grid(id="help-grid"):
                yield Static(keys_content(self.owners), id="help-keys")
                yield Static(legend_content(), id="help-legend")

    def on_mount(self) -> None:
        body = self.query_one("#help-body")
        body.border_title = "auditor · help"
        body.border_subtitle = "Esc closes"
        self.on_resize()

    def on_resize(self) -> None:
        # Keys beside the legend when there is room; below it otherwise.
        wide = self.app.size.width >= WIDE
        self.query_one("#help-grid").set_class(wide, "wide")
        self.query_one("#help-body").set_class(wide, "wide")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def _bindings(owners: KeyOwners) -> Iterable[tuple[str, Binding]]:
    for section, bindings in owners:
        for binding in bindings:
            if isinstance(binding, Binding):
                yield section, binding


def _key_label(binding: Binding) -> str:
    names = {"slash": "/", "question_mark": "?", "escape": "Esc", "enter": "Enter", "space": "Space"}
    return ", ".join(names.get(key, key) for key in binding.key.split(","))


def keys_content(owners: KeyOwners) -> RenderableType:
    """Every key, generated from the bindings of ``owners``, and the mouse and palette."""
    keys = Table.grid(padding=(0, 2))
    keys.add_column(style="bold cyan", no_wrap=True)
    keys.add_column()
    for _, binding in _bindings(owners):
        keys.add_row(_key_label(binding), binding.tooltip or binding.description)
    for key, what in EXTRA_KEYS:
        keys.add_row(key, what)
    return Group(Text("Keys", style="bold underline"), keys)


def legend_content() -> RenderableType:
    """What the verdict and state glyphs and colours mean, and the filter syntax."""
    verdicts = Table.grid(padding=(0, 2))
    verdicts.add_column(no_wrap=True)
    verdicts.add_column()
    for verdict in Verdict:
        verdicts.add_row(verdict_text(verdict), VERDICT_LOOK[verdict].meaning)
    verdicts.add_row(verdict_text(Verdict.OK, stale=True), "dimmed: an older verdict while the host is probed again")
    states = Table.grid(padding=(0, 2))
    states.add_column(no_wrap=True)
    states.add_column()
    for state in IN_FLIGHT:
        states.add_row(state_text(state), STATE_LOOK[state].meaning)
    filters = Table.grid(padding=(0, 2))
    filters.add_column(style="bold cyan", no_wrap=True)
    filters.add_column()
    filters.add_row("a100", "hosts with 'a100' in any column (name, groups, versions, verdict, why)")
    filters.add_row("!ok", "hosts without 'ok' anywhere")
    filters.add_row("ctrl+z", "only hosts whose verdict needs action (anything but ok)")
    return Group(
        Text("Verdicts, most urgent first", style="bold underline"),
        verdicts,
        Text("\nWhere a host is in a sweep", style="bold underline"),
        states,
        Text("\nFilter", style="bold underline"),
        filters,
    )
