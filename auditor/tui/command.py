"""``auditor tui`` and ``auditor demo``: the interactive front end's commands.

Their options are the ones every audit takes (``auditor.audit.options``); the ``auditor``
door (``auditor.__main__``) adds them beside the headless commands. Textual is imported
only when one of them runs, so the headless commands never load it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from auditor.errors import InputError

if TYPE_CHECKING:  # Textual is imported only when the interactive commands run
    from textual.screen import Screen

    from auditor.policy.model import Policy
    from auditor.tui.app import AuditApp

WATCH_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def add_tui_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    """``auditor tui``: the interactive audit of the targets the options name."""
    from auditor.audit.options import add_target_options

    tui = subparsers.add_parser(
        "tui",
        help=summary,
        description="Open the interactive audit: hosts stream in as they are probed. Press ? inside for every key. "
        "Needs a terminal (without one it exits 2: use `auditor report`).",
    )
    add_target_options(tui)
    _add_watch(tui)
    tui.set_defaults(run=run)


def add_demo_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    """``auditor demo``: the interactive audit of the built-in demo fleet."""
    demo = subparsers.add_parser(
        "demo",
        help=summary,
        description="The interactive audit on the built-in simulated GPU nodes served over SSH on 127.0.0.x. "
        "Needs a terminal (without one it exits 2: use `auditor report --demo`); its retry file is its own, in "
        "$XDG_STATE_HOME/auditor/demo.",
    )
    _add_watch(demo)
    demo.set_defaults(
        run=run,
        demo=True,
        inventory=None,
        simulate=None,
        policy=None,
        forks=None,
        timeout=None,
        probe_timeout=None,
        knowledge=None,  # $AUDITOR_KNOWLEDGE still applies
    )


def _add_watch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--watch",
        type=watch_interval,
        default=None,
        metavar="INTERVAL",
        help="sweep again every INTERVAL (seconds, or with a unit: 30s, 5m, 1h); the Age column shows how old each "
        "row's data is",
    )


def watch_interval(text: str) -> float:
    """``"90"``, ``"30s"``, ``"5m"``, ``"1h"`` as seconds (at least one)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not an interval (try 30s, 5m or 1h)")
    seconds = float(match.group(1)) * WATCH_UNITS[match.group(2)]
    if seconds < 1:
        raise argparse.ArgumentTypeError("the interval must be at least 1s")
    return seconds


def run(args: argparse.Namespace) -> int:
    require_terminal(args.command)
    from auditor.audit.options import resolve_policy, targets_from
    from auditor.tui.app import AuditApp  # Textual is imported only for the interactive commands
    from auditor.tui.source import live_source

    policy = resolve_policy(args)
    app = AuditApp(live_source(lambda: targets_from(args), policy), policy=policy.name, watch=args.watch)
    app.plan_screen = plan_screen_for(policy)
    app.run()
    return app.return_code or 0


def require_terminal(command: str) -> None:
    """The interactive audit draws on a terminal and reads keys from it: without one it would hang, so exit 2."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return
    headless = "`auditor report --demo`" if command == "demo" else "`auditor report` with the same options"
    raise InputError(
        f"`{command}` is interactive and needs a terminal (stdin and stdout are not one); without one use {headless}"
    )


def plan_screen_for(policy: Policy) -> Callable[[AuditApp], Screen[None]]:
    """What ``p`` opens: the plan view over the latest report of every host, towards the policy's stacks."""

    def build(app: AuditApp) -> Screen[None]:
        from auditor.plan.model import PlanSource
        from auditor.tui.plan_view import PlanScreen

        hosts = {row.name: row.host for row in app.model.rows.values()}
        # The plan rests on the sweeps' results: it says when the last one ended, not when p was pressed.
        source = PlanSource("live", app.model.sweep.ended_wall or "", complete=not app.sweeping)
        return PlanScreen(app.model.reports(), hosts, policy, app.session.name if app.session else "", source=source)

    return build
