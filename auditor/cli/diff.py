"""``auditor diff [RUN_A] [RUN_B]``: drift between two recorded runs.

No run named: the two newest complete runs of the newest run's inventory. One run
named: that run against the newest. Exit codes follow diff(1), so a cron line can
mail only when something changed: 0 no changes, 1 changes, 2 no such run or no usable
history.
"""

from __future__ import annotations

import argparse
import json
import sys

from auditor.audit.options import positive_int
from auditor.cli.history import add_demo_history, add_history_path, open_history
from auditor.report.drift import diff_reports, render_drift


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "diff",
        help=summary,
        description="New, resolved and changed findings and version changes per host between two runs "
        "of `auditor history`. Default: the two newest complete runs of the newest run's inventory; "
        "one run: that run against the newest.",
        epilog="exit codes (like diff(1)): 0 no changes; 1 changes; 2 no such run, or no usable history "
        "(a damaged run is named with the file)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("runs", nargs="*", type=positive_int, metavar="RUN", help="run numbers from `auditor history`")
    add_history_path(parser)
    add_demo_history(parser)
    parser.add_argument("--json", action="store_true", help="print the changes as JSON (auditor.diff/1)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if len(args.runs) > 2:
        print("auditor: diff takes at most two runs", file=sys.stderr)
        return 2
    with open_history(args) as history:
        if not args.runs:
            first, second = history.latest_pair()
        elif len(args.runs) == 1:
            first, second = args.runs[0], history.latest_id()
        else:
            first, second = args.runs
        drift = diff_reports(history.document(first), history.document(second))
    if args.json:
        sys.stdout.write(json.dumps(drift.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_drift(drift, color=sys.stdout.isatty()))
    return 0 if drift.empty else 1
