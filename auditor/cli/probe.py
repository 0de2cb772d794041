"""``auditor probe --local``: run the bundled probe on this machine and print its facts."""

from __future__ import annotations

import argparse
import json
import sys

from auditor.probe import encode_request, run_local


def add_parser(subparsers: argparse._SubParsersAction, epilog: str) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="run the probe here and print its JSON facts",
        description="Run the probe exactly as a host would (python3 -c reading the probe from stdin) and print auditor.facts/1.",
    )
    parser.add_argument(
        "--local", action="store_true", required=True, help="probe this machine (the only mode for now)"
    )
    parser.add_argument("--root", metavar="DIR", help="read files under DIR instead of / (a mounted image)")
    parser.add_argument("--python", metavar="PATH", help="interpreter to run the probe with (default: this one)")
    parser.add_argument("--pretty", action="store_true", help="indent the JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    result = run_local(root=args.root, request=encode_request(), python=args.python)
    sys.stderr.buffer.write(result.stderr)
    if result.returncode != 0:
        print(f"auditor: the probe exited with status {result.returncode}", file=sys.stderr)
        return 4
    if args.pretty:
        sys.stdout.write(json.dumps(json.loads(result.stdout), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.buffer.write(result.stdout)
    return 0
