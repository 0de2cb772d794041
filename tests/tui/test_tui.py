"""The interactive audit over real SSH: rows stream in with their states, hostile strings stay text."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from auditor.audit.targets import open_targets
from auditor.policy.model import EMPTY_POLICY, Policy
from auditor.tui.app import AuditApp
from auditor.tui.source import live_source
from tests.support.demo import DEMO_FLEET, FAST_PROBE_TIMEOUT, demo_policy
from tests.support.paths import FIXTURES
from tests.support.tui import plain, settle

HOSTILE_FLEET = FIXTURES / "tui" / "hostile-fleet.yaml"


def live_app(fleet: Path, policy: Policy = EMPTY_POLICY) -> AuditApp:
    source = live_source(lambda: open_targets(fleet=str(fleet), probe_timeout=FAST_PROBE_TIMEOUT), policy)
    return AuditApp(source, policy=policy.name)


async def test_demo_hosts_stream_in_with_their_states_then_verdicts() -> None:
    """Over real SSH every demo host shows a sweep state while probed, then its verdict; q quits."""
    app = live_app(DEMO_FLEET, demo_policy())
    seen: set[str] = set()
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(400):
            if app.session is not None and app.sweeps and not app.sweeping:
                break
            if app.session is not None:
                table = app.main.table
                seen |= {str(table.get_cell(name, "verdict")) for name in table.rows}
            await pilot.pause(0.02)
        await settle(pilot)
        table = app.main.table
        assert table.row_count == 27
        verdicts = {name: str(table.get_cell(name, "verdict")) for name in table.rows}
        assert verdicts["a10-infer-01"] == "↓ ROLLBACK" and verdicts["h100-serve-01"] == "✓ OK"
        assert verdicts["l4-batch-01"] == "○ UNREACHABLE" and verdicts["t4-lab-01"] == "✖ ERROR"
        # Fleet-level checks (group consistency) are added when the sweep ends, as in the headless report.
        assert "differs from the rest of group" in str(table.get_cell("l4-infer-01", "why"))
        # The hanging host is probed until the probe timeout: its row said so meanwhile.
        assert "◐ probing" in seen
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_reprobe_sweeps_only_the_selected_host_over_ssh() -> None:
    """r re-probes the host under the cursor (a one-host sweep), and its row gets fresh data."""
    app = live_app(DEMO_FLEET, demo_policy())
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        table.move_cursor(row=table.get_row_index("a100-serve-02"))
        before = app.model.rows["a100-serve-02"].updated
        await pilot.press("r")
        await settle(pilot, sweeps=2)
        assert app.model.sweep.hosts == 1
        row = app.model.rows["a100-serve-02"]
        assert row.updated is not None and before is not None and row.updated > before
        assert str(table.get_cell("a100-serve-02", "verdict")) == "↻ REBOOT"


async def test_hostile_gpu_and_os_names_show_literally() -> None:
    """Markup and an ANSI escape in a host's GPU and OS names print as text in the table and the detail."""
    app = live_app(HOSTILE_FLEET)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        gpus = table.get_cell("markup-01", "gpus")
        assert "[bold red]x[/]" in gpus.plain and "\x1b" not in gpus.plain
        assert not gpus.spans and not gpus.style  # the markup was not applied
        await pilot.press("enter")
        await pilot.pause()
        detail = plain(app.main.detail.query_one("#detail-body", Static).content)
        assert "[bold red]x[/] [31mRED[0m" in detail
        assert "[link=http://evil.example]Ubuntu[/link] [blink]22.04[/]" in detail
        assert "\x1b" not in detail
