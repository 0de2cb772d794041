"""The ``auditor`` command line. Subcommands live one per module beside this one."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from auditor import __version__
from auditor.errors import InputError, ReportWriteError
from auditor.exitcodes import ExitCode, help_text


def build_parser() -> argparse.ArgumentParser:
    from auditor.cli import check, compat, diff, engines, history, probe, report, tui

    epilog = help_text()
    parser = argparse.ArgumentParser(
        prog="auditor",
        description="Audit NVIDIA GPU inference nodes over SSH: driver, CUDA, TensorRT, checked against policy.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"auditor {__version__}")
    parser.add_argument("--debug", action="store_true", help="log details (and tracebacks) to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    report.add_parser(subparsers, epilog)
    tui.add_parsers(subparsers, epilog)
    probe.add_parser(subparsers, epilog)
    history.add_parser(subparsers, epilog)
    diff.add_parser(subparsers, epilog)
    check.add_parser(subparsers, epilog)
    compat.add_parser(subparsers, epilog)
    engines.add_parser(subparsers, epilog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``auditor`` script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        stream=sys.stderr,
        format="auditor: %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    try:
        return int(args.run(args))
    except InputError as error:
        from auditor.cli.common import fail

        return fail(error)
    except ReportWriteError as error:
        print(f"auditor: {error}", file=sys.stderr)
        return int(ExitCode.INTERNAL)
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # the last line of defence: one line on screen, details in a log
        log_path = _write_crash_log()
        print(f"auditor: internal error: {type(exc).__name__}: {exc} (traceback in {log_path})", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return int(ExitCode.INTERNAL)


def _write_crash_log() -> str:
    import os

    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "auditor"
    try:
        state.mkdir(parents=True, exist_ok=True)
        path = state / "crash.log"
        with open(path, "a", encoding="utf-8") as handle:
            traceback.print_exc(file=handle)
        return str(path)
    except OSError:
        return "(could not write a log; rerun with --debug)"
