"""Screens of the interactive audit as SVG, compared with the approved ones in ``__snapshots__``.

Each screen is built from the recorded demo audit with a frozen clock, toasts cleared
and no blinking cursor, so only a change to what the screen shows changes a snapshot.
Review a changed SVG like code; approve with ``pytest tests/test_tui_snapshots.py
--snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui_support import replay_app, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
Compare = Callable[..., bool]


def after(*keys: str) -> Callable[[Pilot[int]], Awaitable[None]]:
    """A ``run_before`` that lets the replayed sweep finish, presses ``keys``, and settles."""

    async def run(pilot: Pilot[int]) -> None:
        await settle(pilot, clear_toasts=True)
        for field in pilot.app.query(Input):
            field.cursor_blink = False
        await pilot.press(*keys)
        await settle(pilot, clear_toasts=True)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False

    return run


def check(snap_compare: Compare, size: tuple[int, int], keys: Sequence[str] = ()) -> None:
    assert snap_compare(replay_app(), terminal_size=size, run_before=after(*keys))


@pytest.mark.parametrize("size", SIZES)
def test_mixed_verdicts(snap_compare: Compare, size: tuple[int, int]) -> None:
    """The demo fleet after a sweep: every verdict, most urgent first, counts in the header."""
    check(snap_compare, size)


@pytest.mark.parametrize("size", SIZES)
def test_filter_active(snap_compare: Compare, size: tuple[int, int]) -> None:
    """/a100: the A100 hosts, the filter line open, shown/total and the filter in the border title."""
    check(snap_compare, size, ["slash", *"a100"])


@pytest.mark.parametrize("size", SIZES)
def test_needs_action_only(snap_compare: Compare, size: tuple[int, int]) -> None:
    """ctrl+z: only the hosts that need action."""
    check(snap_compare, size, ["ctrl+z"])


@pytest.mark.parametrize("size", SIZES)
def test_detail_view(snap_compare: Compare, size: tuple[int, int]) -> None:
    """Enter on the rollback host: its findings with severity, action, remediation and source, then facts."""
    check(snap_compare, size, ["j", "j", "j", "enter"])


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Compare, size: tuple[int, int]) -> None:
    """?: the keys and the verdict legend."""
    check(snap_compare, size, ["question_mark"])
