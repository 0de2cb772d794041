"""The ``auditor`` command and ``python -m auditor``: the door to both front ends.

One parser for every subcommand: the headless ones (``auditor.cli``, one module each) and
the interactive ones (``auditor.tui.command``), which never import each other. Here the
site knowledge overlay is applied and the targets resolved before any command runs, and
every error ends as its exit code (``auditor.report.exitcodes``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from auditor import __version__
from auditor.errors import InputError, ReportWriteError
from auditor.report.exitcodes import ExitCode, help_text


def build_parser() -> argparse.ArgumentParser:
    from auditor.cli import check, compat, diff, engines, history, inventory, knowledge, plan, probe, report
    from auditor.tui import command as tui

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
    knowledge.add_parser(subparsers, epilog)
    engines.add_parser(subparsers, epilog)
    plan.add_parser(subparsers, epilog)
    inventory.add_parser(subparsers, epilog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``auditor`` script; returns the exit code.

    Ctrl-C at any point, start-up included (building the parser imports the SSH and
    UI libraries: seconds on a loaded machine), exits 130 with one line, no traceback.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        code = int(exc.code or 0)
        return _error_code(_command(argv), code) if code else code
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        stream=sys.stderr,
        format="auditor: %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return int(ExitCode.USAGE)
    try:
        if "knowledge" in vars(args):  # the commands that judge: the site overlay first, before any host
            from auditor.audit.options import apply_knowledge

            apply_knowledge(args)
        if getattr(args, "preflight", False):  # targets resolved (and --list-hosts answered) before any command
            from auditor.cli.common import preflight

            listed = preflight(args)
            if listed is not None:
                return listed
        return int(args.run(args))
    except InputError as error:
        from auditor.cli.common import fail

        return _error_code(args.command, fail(error))
    except ReportWriteError as error:
        print(f"auditor: {error}", file=sys.stderr)
        return _error_code(args.command, int(ExitCode.INTERNAL))
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # the last line of defence: one line on screen, details in a log
        from auditor import crashlog

        log_path = crashlog.record(exc, f"auditor {args.command}")
        print(f"auditor: internal error: {type(exc).__name__}: {exc} (traceback in {log_path})", file=sys.stderr)
        if args.debug:
            traceback.print_exc()
        return _error_code(args.command, int(ExitCode.INTERNAL))


# Commands whose exit codes follow Terraform's plan: 2 means "changes", so every error is 1.
TERRAFORM_STYLE = {"plan"}


def _error_code(command: str | None, code: int) -> int:
    """The exit code of an error in ``command`` (interrupts stay 130)."""
    if command in TERRAFORM_STYLE and code != int(ExitCode.INTERRUPTED):
        return 1
    return code


def _command(argv: Sequence[str] | None) -> str | None:
    """The subcommand in ``argv``: its first word that is not an option (the top level takes no values)."""
    words = list(sys.argv[1:] if argv is None else argv)
    return next((w for w in words if not w.startswith("-")), None)


if __name__ == "__main__":
    sys.exit(main())
