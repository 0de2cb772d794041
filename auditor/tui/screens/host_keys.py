"""``K``: the review of unknown host keys, after a sweep, never in the middle of one.

One row per host that offered a key known_hosts has never seen: the host, where it
was reached, and the fingerprint of the key it offers now. The user accepts or
rejects each (undecided ones stay for later); Enter applies. The screen decides
nothing itself: it returns the decision, and the app trusts exactly the accepted
keys and probes those hosts again.
"""

from __future__ import annotations

from dataclasses import field
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from auditor.records import record
from auditor.transport.hostkeys import OfferedKey
from auditor.tui.cells import safe

ACCEPT, REJECT, UNDECIDED = "accept", "reject", "undecided"
MARKS = {
    ACCEPT: Text("✓ accept", style="bold green"),
    REJECT: Text("✗ reject", style="bold red"),
    UNDECIDED: Text("? decide", style="dim"),
}


@record
class KeyDecision:
    """What the user decided: keys to trust, hosts whose key was rejected."""

    accepted: list[OfferedKey] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class HostKeyScreen(ModalScreen[KeyDecision | None]):
    """Accept or reject each unknown key; Enter applies, Esc leaves everything undecided."""

    CSS_PATH = "host_keys.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "decide('accept')", "Accept", id="keys.accept", tooltip="Trust the key this host offers"),
        Binding(
            "x", "decide('reject')", "Reject", id="keys.reject", tooltip="Do not trust it; the host stays unaudited"
        ),
        Binding("space", "cycle", "Cycle", show=False, id="keys.toggle", tooltip="Accept, reject, undecided"),
        Binding("A", "accept_all", "Accept all", id="keys.accept_all", tooltip="Trust every key listed"),
        # priority: the table's own Enter (select row) would take it first; this screen has no text input.
        Binding(
            "enter",
            "apply",
            "Apply",
            priority=True,
            id="keys.apply",
            tooltip="Trust the accepted keys and probe those hosts",
        ),
        Binding("escape", "cancel", "Cancel", id="keys.cancel", tooltip="Close; decide later (K)"),
    ]

    def __init__(self, keys: list[OfferedKey], keys_file: str) -> None:
        super().__init__()
        self.keys = keys
        self.keys_file = keys_file
        self.decisions = dict.fromkeys((k.name for k in keys), UNDECIDED)

    def compose(self) -> ComposeResult:
        with Vertical(id="keys-box"):
            yield Static(self._explanation(), id="keys-help")
            yield DataTable(id="keys-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def _explanation(self) -> Text:
        return Text.assemble(
            "These hosts offered a host key that known_hosts has never seen, so they were not audited. ",
            ("Compare each fingerprint with the one the host's owner gives you", "bold"),
            " (on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before accepting it. "
            "Accepted keys are kept in ",
            (self.keys_file, "italic"),
            ", not in ~/.ssh/known_hosts, and those hosts are probed again trusting exactly that key.",
        )

    def on_mount(self) -> None:
        box = self.query_one("#keys-box")
        box.border_title = f"Unknown host keys ({len(self.keys)})"
        box.border_subtitle = "a accept · x reject · A accept all · Enter apply · Esc later"
        table = self.query_one(DataTable)
        table.add_column("Decision", key="decision")
        table.add_column("Host", key="host")
        # The fingerprint comes before anything else one might scroll to: it is what is being compared.
        table.add_column("Key offered now", key="fingerprint")
        table.add_column("Type", key="type")
        table.add_column("Reached at", key="endpoint")
        for key in self.keys:
            kind, _, digest = (key.fingerprint or "").rpartition(" ")
            offered = safe(digest, 200) if key.fingerprint else safe(f"could not fetch: {key.problem}", 200)
            if not key.fingerprint:
                offered.stylize("italic red")
            elif key.differs:
                offered = Text.assemble((offered.plain, "bold red"), (" ≠ the key met in the sweep", "red"))
            table.add_row(MARKS[UNDECIDED], safe(key.name), offered, safe(kind), safe(key.endpoint), key=key.name)
        table.focus()

    def _selected(self) -> OfferedKey | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next(k for k in self.keys if k.name == name)

    def _set(self, key: OfferedKey, decision: str) -> None:
        if decision == ACCEPT and key.public_key is None:
            self.notify(
                f"{key.name}: no key was fetched, so there is nothing to accept", severity="warning", markup=False
            )
            return
        self.decisions[key.name] = decision
        self.query_one(DataTable).update_cell(key.name, "decision", MARKS[decision])

    def action_decide(self, decision: str) -> None:
        key = self._selected()
        if key is not None:
            self._set(key, decision)
            self.query_one(DataTable).action_cursor_down()

    def action_cycle(self) -> None:
        key = self._selected()
        if key is not None:
            order = [UNDECIDED, ACCEPT, REJECT]
            self._set(key, order[(order.index(self.decisions[key.name]) + 1) % len(order)])

    def action_accept_all(self) -> None:
        for key in self.keys:
            if key.public_key is not None:
                self._set(key, ACCEPT)

    def action_apply(self) -> None:
        self.dismiss(
            KeyDecision(
                accepted=[k for k in self.keys if self.decisions[k.name] == ACCEPT],
                rejected=[k.name for k in self.keys if self.decisions[k.name] == REJECT],
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
