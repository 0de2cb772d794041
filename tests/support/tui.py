"""Deterministic interactive audits for the TUI tests: recorded reports, frozen clocks, settled sweeps."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime, timezone

from rich.console import Console
from textual.pilot import Pilot
from textual.widget import Widget

from auditor.report.model import HostReport
from auditor.tui.app import AuditApp, Clock
from auditor.tui.recorded import load_reports
from auditor.tui.source import ReplaySource
from tests.support.paths import FIXTURES

# A demo audit (`auditor report --demo --format json:...`) saved once: real findings and
# real probe output whose timings and temporary paths never change between runs.
RECORDED = FIXTURES / "tui" / "demo-report.json"
WALL = datetime(2026, 11, 21, 6, 0, 0, tzinfo=timezone.utc)
POLICY = "demo-production"


def frozen_clock() -> Clock:
    """Time stands still: every age is 0s and every sweep took 0.0s."""
    return Clock(monotonic=lambda: 1000.0, wall=lambda: WALL)


def recorded_reports() -> tuple[HostReport, ...]:
    return load_reports(RECORDED)


def replay_app(reports: Iterable[HostReport] | None = None, **options: object) -> AuditApp:
    """The app over a replay of ``reports`` (the recorded demo by default) with a frozen clock."""
    source = ReplaySource(recorded_reports() if reports is None else reports, name="demo-fleet (recorded)")
    return AuditApp(source, policy=POLICY, clock=frozen_clock(), **options)  # type: ignore[arg-type]


async def settle(pilot: Pilot[int], sweeps: int = 1, clear_toasts: bool = False) -> None:
    """Wait until ``sweeps`` sweeps have finished and the table has caught up."""
    app = pilot.app
    assert isinstance(app, AuditApp)
    for _ in range(400):
        if app.sweeps >= sweeps and not app.sweeping and app.workers_idle():
            break
        await pilot.pause(0.02)
    assert app.sweeps >= sweeps and not app.sweeping, "the sweep did not finish"
    if clear_toasts:
        app.clear_notifications()
    await pilot.pause()  # messages already posted (an edited filter, say) reach the model first
    app.main.flush()
    await pilot.pause()


def plain(renderable: object, width: int = 150) -> str:
    """What a renderable prints as, without colour (a Static's ``content``, a Rich Group...)."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def shown(widget: Widget, width: int = 150) -> str:
    """The text a Static (or Label) shows."""
    return plain(widget.content, width)  # type: ignore[attr-defined]
