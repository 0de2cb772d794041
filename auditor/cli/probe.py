"""``auditor probe --local``: run the bundled probe on this machine and print its facts."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from auditor.errors import InputError
from auditor.probe.program import run_local
from auditor.probe.request import encode_request


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    parser = subparsers.add_parser(
        "probe",
        help=summary,
        description="Run the probe exactly as a host would (python3 -S -c reading the probe from stdin) and print "
        "auditor.facts/1. A --root or --python that does not exist exits 2.",
    )
    parser.add_argument(
        "--local", action="store_true", required=True, help="probe this machine (the only mode for now)"
    )
    parser.add_argument(
        "--root", metavar="DIR", help="read files under DIR instead of / (a mounted image); it must exist"
    )
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter to run the probe with: a path or a name on PATH (default: this one)",
    )
    parser.add_argument("--pretty", action="store_true", help="indent the JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_probe_args(args)
    try:
        result = run_local(root=args.root, request=encode_request(), python=args.python)
    except OSError as exc:  # found and executable, yet the kernel would not run it (a wrong format, say)
        raise InputError(f"--python {args.python}: cannot run it: {exc.strerror or exc}") from None
    sys.stderr.buffer.write(result.stderr)
    if result.returncode != 0:
        print(f"auditor: the probe exited with status {result.returncode}", file=sys.stderr)
        return 4
    if args.pretty:
        sys.stdout.write(json.dumps(json.loads(result.stdout), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.buffer.write(result.stdout)
    return 0


def check_probe_args(args: argparse.Namespace) -> None:
    """``--root`` must be a directory and ``--python`` an executable file (exit 2 otherwise, nothing run)."""
    if args.root is not None and not os.path.isdir(args.root):
        why = "not a directory" if os.path.exists(args.root) else "no such directory"
        raise InputError(f"--root {args.root}: {why}")
    if args.python is not None:
        found = shutil.which(args.python)
        if found is None or os.path.isdir(found):
            raise InputError(
                f"--python {args.python}: no such interpreter (not an executable file, nor a name on PATH)"
            )
        args.python = found
