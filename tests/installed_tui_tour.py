"""Visit every screen of the interactive audit from an installed auditor; run by tests/test_wheel_install.py.

The fresh virtual environment's python runs this file from outside the source tree, with a
pseudo-terminal on stdin and stdout because ``auditor demo`` insists on one. It goes through
``auditor.__main__.main(["demo"])``, the command a user types, and replaces only ``AuditApp.run``:
instead of drawing on the terminal the app runs headless under Textual's Pilot, which waits
for the demo sweep and opens each screen in turn. A screen whose stylesheet is missing from the
installed package raises when it is pushed, so each screen opened here proves its files are there.

Writes ``{"package": auditor.__file__, "screens": {name: screen class shown}}`` as JSON to the
path given as the only argument; any failure is a traceback on stderr and a non-zero exit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import auditor
from auditor.__main__ import main
from auditor.tui.app import AuditApp

SWEEP_WAIT_S = 60.0  # the demo's hanging host is cut off after 8 s; a loaded CI machine gets room
STEP_WAIT_S = 10.0

seen: dict[str, str] = {}


async def wait_for(pilot: object, ready: object, what: str, limit: float = STEP_WAIT_S) -> None:
    """Pause the pilot until ``ready()`` holds; a screen that never comes, or an app that quit, is an error."""
    app = pilot.app  # type: ignore[attr-defined]
    waited = 0.0
    while not ready():  # type: ignore[operator]
        if app.return_code is not None:
            raise AssertionError(f"the app exited ({app.return_code}) while waiting for {what}")
        if waited > limit:
            raise AssertionError(f"{what} did not appear within {limit:g}s")
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        waited += 0.05


async def visit(pilot: object, app: AuditApp, name: str, key: str) -> None:
    """Press ``key``, wait for a screen named ``name``, record it, and leave it with Esc."""
    base = app.screen
    await pilot.press(key)  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: type(app.screen).__name__ == name, name)
    seen[name] = type(app.screen).__name__
    await pilot.press("escape")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: app.screen is base, f"the way back from {name}")


async def tour(app: AuditApp) -> None:
    from auditor.tui.screens.host_keys import HostKeyScreen

    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.sweeps >= 1 and not app.sweeping, "the end of the demo sweep", SWEEP_WAIT_S)
        seen["main"] = type(app.screen).__name__
        await pilot.press("enter")
        detail = app.screen.query_one("#detail")
        await wait_for(pilot, lambda: detail.display, "the detail pane")
        seen["detail"] = type(detail).__name__
        await pilot.press("escape")
        await visit(pilot, app, "HelpScreen", "question_mark")
        await visit(pilot, app, "ExportScreen", "ctrl+s")
        await visit(pilot, app, "PlanScreen", "p")
        # `K` opens the review only for hosts stopped by an unknown key, and the demo pins every
        # key it serves: the screen is pushed as `K` would push it, with nothing to review.
        app.push_screen(HostKeyScreen([], str(Path.cwd() / "known_hosts")))
        await wait_for(pilot, lambda: isinstance(app.screen, HostKeyScreen), "HostKeyScreen")
        seen["HostKeyScreen"] = type(app.screen).__name__
        await pilot.press("escape")
        await pilot.pause()


def run_headless(self: AuditApp, *args: object, **kwargs: object) -> int:
    import asyncio

    asyncio.run(tour(self))
    return 0


if __name__ == "__main__":
    AuditApp.run = run_headless  # type: ignore[method-assign,assignment]
    code = main(["demo"])
    Path(sys.argv[1]).write_text(json.dumps({"package": auditor.__file__, "exit": code, "screens": seen}))
    sys.exit(code)
