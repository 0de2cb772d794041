"""The one-line header: fleet, policy, knowledge as-of date, last sweep, and a count per verdict."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from auditor.findings import Verdict
from auditor.knowledge import tables
from auditor.tui.legend import counts_text


class FleetHeader(Horizontal):
    """``auditor · FLEET · policy P · last sweep 07:01 UTC (3m ago) · knowledge 2026-12-04`` and ``✖ 1 error  ✓ 5 ok``.

    The knowledge date carries ``+site`` when a site overlay is in use.
    """

    def compose(self) -> ComposeResult:
        yield Static(id="where")
        yield Static(id="counts")

    def show(self, fleet: str, policy: str, sweep: str, counts: dict[Verdict, int]) -> None:
        width = self.size.width
        words, glyphs = counts_text(counts, words=True), counts_text(counts, words=False)
        about = tables.about()
        known = f"knowledge {about.as_of.isoformat()}" + ("+site" if about.site is not None else "")
        # the knowledge date goes last: on a narrow terminal it is what gets cut, not the sweep
        full = Text.assemble(
            ("auditor", "bold"), " · ", fleet, " · policy ", policy, " · ", (sweep, "italic"), " · ", known
        )
        # The counts never get cut: words when everything fits, else glyphs; the app's name goes first.
        where, right = full, words
        if full.cell_len + words.cell_len + 4 > width:
            right = glyphs
            if full.cell_len + glyphs.cell_len + 4 > width:
                where = Text.assemble(fleet, " · policy ", policy, " · ", (sweep, "italic"), " · ", known)
        self.query_one("#where", Static).update(where)
        self.query_one("#counts", Static).update(right)
