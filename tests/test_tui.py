"""The interactive audit fills its table live over SSH and quits on q."""

from __future__ import annotations

import contextlib
import io

from rich.console import Console
from textual.widgets import DataTable, Static

from auditor.audit import open_targets
from auditor.tui.app import AuditApp
from tests.conftest import DEMO_FLEET, FAST_PROBE_TIMEOUT, demo_policy


def demo_app() -> AuditApp:
    return AuditApp(
        open_targets=lambda: open_targets(fleet=str(DEMO_FLEET), probe_timeout=FAST_PROBE_TIMEOUT),
        policy=demo_policy(),
    )


async def test_table_fills_with_every_host_and_q_quits() -> None:
    """All 21 demo hosts appear with their verdict word; the detail pane follows the cursor; q exits."""
    app = demo_app()
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(200):
            if app.sweep_done:
                break
            await pilot.pause(0.1)
        assert app.sweep_done
        table = app.query_one("#hosts", DataTable)
        assert table.row_count == 21
        verdicts = {str(table.get_cell(key, "host")): str(table.get_cell(key, "verdict")) for key in table.rows}
        assert verdicts["a10-infer-01"] == "ROLLBACK" and verdicts["h100-serve-01"] == "OK"
        assert verdicts["l4-batch-01"] == "UNREACHABLE"
        table.move_cursor(row=list(table.rows).index(next(k for k in table.rows if k.value == "a100-serve-02")))
        await pilot.pause()
        console = Console(width=150, record=True, file=io.StringIO())
        console.print(app.query_one("#detail", Static).content)
        detail = console.export_text()
        assert "REBOOT" in detail and "kernel module and user-space driver differ" in detail
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    with contextlib.suppress(Exception):
        app.exit()
