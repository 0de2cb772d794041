"""``auditor history``: the runs kept in the history database, newest first.

Also defines ``--history PATH``, shared by ``report``, ``history`` and ``diff`` so the
three always agree on which file they mean.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.audit.options import positive_float, positive_int
from auditor.cli.paths import add_history_path, history_path
from auditor.errors import Location
from auditor.findings import Verdict
from auditor.report.history import History, HistoryError
from auditor.report.writers.terminal import VERDICT_STYLE
from auditor.text import count


def add_demo_history(parser: argparse.ArgumentParser) -> None:
    """``--demo``: read the history the demo keeps apart from real runs'."""
    parser.add_argument(
        "--demo", action="store_true", help="the demo's history (what `auditor report --demo` recorded)"
    )


def open_history(args: argparse.Namespace) -> History:
    """The existing history the arguments name (``HistoryError`` if none, with a hint when only the demo's exists)."""
    path = history_path(args)
    if not path.exists() and not args.history and not getattr(args, "demo", False):
        demo = history_path(argparse.Namespace(history=None, demo=True))
        if demo.exists():
            raise HistoryError(
                "no history yet (no run has been recorded here); the demo keeps its own: add --demo",
                Location(str(path)),
            )
    return History(path, create=False)


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "history",
        help=summary,
        description="List the runs `auditor report` recorded, newest first: when, what, the verdict counts, "
        "the exit code. `auditor diff A B` compares two of them.",
        epilog="exit codes: 0 listed; 2 no or unusable history file (a damaged run is named with the file), "
        "or a --last or --prune-older-than below 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_history_path(parser)
    add_demo_history(parser)
    parser.add_argument(
        "-n", "--last", type=positive_int, default=20, metavar="N", help="show the N newest runs (default 20)"
    )
    parser.add_argument("--inventory", metavar="NAME", help="only runs of this inventory (as the reports name it)")
    parser.add_argument("--json", action="store_true", help="print the runs as a JSON array")
    parser.add_argument(
        "--prune-older-than",
        type=positive_float,
        metavar="DAYS",
        help="delete runs older than DAYS days (more than 0) first (the history otherwise keeps every run)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = history_path(args)
    with open_history(args) as history:
        if args.prune_older_than is not None:
            gone = history.prune(args.prune_older_than)
            days = args.prune_older_than
            print(
                f"auditor: pruned {count(gone, 'run')} older than {days:g} day{'' if days == 1 else 's'}",
                file=sys.stderr,
            )
        runs = history.runs(limit=args.last, inventory=args.inventory)
    if args.json:
        sys.stdout.write(json.dumps([r.to_json() for r in runs], indent=2) + "\n")
        return 0
    if not runs:
        print(f"no runs in {path}")
        return 0
    tty = sys.stdout.isatty()
    buffer = io.StringIO()
    # Off a terminal Rich would assume 80 columns; 120 is what the report table uses too.
    console = Console(
        file=buffer,
        highlight=False,
        emoji=False,
        soft_wrap=False,
        width=shutil.get_terminal_size((120, 24)).columns if tty else 120,
        color_system="standard" if tty and not os.environ.get("NO_COLOR") else None,
    )
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold", padding=(0, 2, 0, 0))
    for column in ("run", "when (UTC)", "hosts", "exit", "took"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("run", "hosts", "exit") else "left")
    table.add_column("inventory · policy / verdicts", overflow="fold", ratio=1)
    for r in runs:
        what = Text(r.inventory)
        what.append(f" · {r.policy}", style="dim")
        what.append("\n")
        for verdict in Verdict:
            n = r.summary.get(verdict.value, 0)
            if n:
                what.append(f"{verdict.value} {n}", style=VERDICT_STYLE[verdict])
                what.append("  ")
        if not r.complete:
            what.append("INCOMPLETE (interrupted)", style="bold red")
        table.add_row(
            str(r.id),
            r.generated_at.replace("T", " ")[:16],
            str(r.summary.get("total", 0)),
            "" if r.exit_code is None else str(r.exit_code),
            f"{r.duration_s:.1f}s",
            what,
        )
    console.print(table)
    # Rich pads lines to the full width; trailing blanks only clutter mails and logs.
    sys.stdout.write("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")
    return 0
