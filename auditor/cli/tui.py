"""``auditor tui`` and ``auditor demo``: the interactive audit."""

from __future__ import annotations

import argparse


def add_parsers(subparsers: argparse._SubParsersAction, epilog: str) -> None:
    from auditor.cli.common import add_target_options

    tui = subparsers.add_parser("tui", help="audit hosts interactively", description="Open the interactive audit.")
    add_target_options(tui)
    tui.set_defaults(run=run)
    demo = subparsers.add_parser(
        "demo",
        help="open the interactive audit on the built-in demo fleet",
        description="The interactive audit on sixteen simulated GPU nodes served over SSH on 127.0.0.x.",
    )
    demo.set_defaults(
        run=run, demo=True, inventory=None, simulate=None, policy=None, forks=None, timeout=None, probe_timeout=None
    )


def run(args: argparse.Namespace) -> int:
    from auditor.cli.common import resolve_policy, targets_from
    from auditor.tui.app import AuditApp  # Textual is imported only for the interactive commands

    policy = resolve_policy(args)
    app = AuditApp(open_targets=lambda: targets_from(args), policy=policy)
    app.run()
    return app.return_code or 0
