"""Screens of the interactive audit as SVG, compared with the approved ones in ``__snapshots__``.

Each screen is built from the recorded demo audit with a frozen clock, toasts cleared
and no blinking cursor, so only a change to what the screen shows changes a snapshot.
Review a changed SVG like code; approve with ``pytest tests/tui/test_snapshots.py
--snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.report.model import HostReport
from auditor.transport.outcome import AuditStep, HostError, HostKeyProblem, Timing
from auditor.tui.app import AuditApp
from auditor.tui.screens.host_keys import HostKeyScreen
from auditor.tui.source import ReplaySource
from tests.support.tui import POLICY, frozen_clock, recorded_reports, replay_app, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
WIDE = pytest.param((200, 50), id="200x50")  # wide enough for every column, Why last
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


@pytest.mark.parametrize("size", [*SIZES, WIDE])
def test_mixed_verdicts(snap_compare: Compare, size: tuple[int, int]) -> None:
    """The demo fleet after a sweep: every verdict, most urgent first (Verdict▴), counts in the header; host,
    verdict and why on screen at 80x24, every column at 200x50, Why cut to the room left."""
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
def test_error_detail(snap_compare: Compare, size: tuple[int, int]) -> None:
    """Enter on the ERROR host: why it was not audited, then the raw output (escaped) and stderr that explain it."""
    check(snap_compare, size, ["enter"])


@pytest.mark.parametrize("size", SIZES)
def test_filter_cleared(snap_compare: Compare, size: tuple[int, int]) -> None:
    """/a100 then Esc: every host back, in columns as wide as before the filter."""
    check(snap_compare, size, ["slash", *"a100", "escape"])


@pytest.mark.parametrize("size", SIZES)
def test_plan_view(snap_compare: Compare, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """p: the stacks, the plan towards the first with its hosts skipped for another stack, from the sweep's time."""
    from auditor.evaluate.registry import CHECK_IDS
    from auditor.policy.files import load_policies
    from auditor.tui.command import plan_screen_for
    from tests.support.demo import DEMO_AS_OF, DEMO_POLICIES, DEMO_WAIVERS
    from tests.support.paths import ROOT

    monkeypatch.chdir(ROOT)  # policy lines are cited by the path given: relative, so the SVG is the same anywhere
    relative = [path.relative_to(ROOT) for path in DEMO_POLICIES]
    policy = load_policies(relative, waivers=DEMO_WAIVERS.relative_to(ROOT), as_of=DEMO_AS_OF, checks=CHECK_IDS)
    app = replay_app()
    app.plan_screen = plan_screen_for(policy)
    assert snap_compare(app, terminal_size=size, run_before=after("p"))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Compare, size: tuple[int, int]) -> None:
    """?: the keys and the verdict legend."""
    check(snap_compare, size, ["question_mark"])


UNKNOWN_KEY = HostError(
    AuditStep.HOST_KEY,
    "host key unknown: not in known_hosts (add it after verifying its fingerprint)",
    host_key_problem=HostKeyProblem.UNKNOWN,
)
NEW_HOSTS = {
    "l4-new-01": "ssh-ed25519 SHA256:kZ3v8m1mJc0l2bq6e1PpY8Xr0oQ7c9nW4fTQe3uH2aE",
    "l4-new-02": "ecdsa-sha2-nistp256 SHA256:Q2x7aN0b1mS9dFv3kLr8tYw4uE6pZc5gHj1oVn2sB7I",
}


def host_key_app() -> AuditApp:
    """The recorded demo plus two new hosts whose keys known_hosts has never seen."""
    new = [
        HostReport(
            Host(name, f"10.0.4.{21 + i}", groups=("l4", "serving")),
            Verdict.UNREACHABLE,
            error=UNKNOWN_KEY,
            timing=Timing(0.05),
        )
        for i, name in enumerate(NEW_HOSTS)
    ]
    source = ReplaySource([*recorded_reports(), *new], name="demo-fleet (recorded)", host_keys=NEW_HOSTS)
    app = AuditApp(source, policy=POLICY, clock=frozen_clock())
    app.keys_file = Path("/home/ops/.local/state/auditor/known_hosts")  # the real one lies under pytest's tmp dir
    return app


async def review_keys(pilot: Pilot[int]) -> None:
    await settle(pilot, clear_toasts=True)
    await pilot.press("K")
    for _ in range(100):
        if isinstance(pilot.app.screen, HostKeyScreen):
            break
        await pilot.pause(0.02)
    await pilot.press("a")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_host_key_review(snap_compare: Compare, size: tuple[int, int]) -> None:
    """K: the hosts with unknown keys, their fingerprints, the first one marked to accept."""
    assert snap_compare(host_key_app(), terminal_size=size, run_before=review_keys)
