"""The ``auditor`` command and ``python -m auditor``: the door to both front ends.

One parser for every subcommand: the headless ones (``auditor.cli``, one module each) and
the interactive ones (``auditor.tui.command``), which never import each other. ``COMMANDS``
names each command's module and one-line help, and only the module of the command being
run is imported: a command that never connects starts without the SSH and UI libraries.
Here the site knowledge overlay is applied and the targets resolved before any command
runs, and every error ends as its exit code (``auditor.report.exitcodes``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence

from auditor import __version__
from auditor.errors import InputError, ReportWriteError
from auditor.records import record
from auditor.report.exitcodes import ExitCode, help_text


@record
class Command:
    """One subcommand: its name, the module that defines its parser and runs it, and its one-line help.

    The one-line help lives here, not in the module, so that ``auditor --help`` lists every
    command without importing any of them (see ``build_parser``).
    """

    name: str
    module: str
    summary: str
    adder: str = "add_parser"
    """The module's function that adds the parser: ``adder(subparsers, summary, epilog)``."""


COMMANDS = (
    Command("report", "auditor.cli.report", "audit hosts and write reports (headless: cron, CI)"),
    Command("tui", "auditor.tui.command", "audit hosts interactively", adder="add_tui_parser"),
    Command(
        "demo",
        "auditor.tui.command",
        "open the interactive audit on the built-in demo fleet",
        adder="add_demo_parser",
    ),
    Command("probe", "auditor.cli.probe", "run the probe here and print its JSON facts"),
    Command("history", "auditor.cli.history", "list the audit runs kept in the history"),
    Command("diff", "auditor.cli.diff", "show what changed between two recorded runs"),
    Command("check", "auditor.cli.check", "validate inventory, policy and waivers without contacting any host"),
    Command(
        "compat",
        "auditor.cli.compat",
        "answer a compatibility question from the NVIDIA knowledge base (no host contacted)",
    ),
    Command(
        "knowledge",
        "auditor.cli.knowledge",
        "show what the NVIDIA knowledge base knows and how current it is; validate a site overlay",
    ),
    Command("engines", "auditor.cli.engines", "reference engines: build on a host, list and verify the library"),
    Command(
        "plan",
        "auditor.cli.plan",
        "plan an upgrade: steps per host, blockers, waves and rollback (exit 0 nothing to do, 2 changes, 1 error)",
    ),
    Command("inventory", "auditor.cli.inventory", "show the hosts an inventory resolves to (no host is contacted)"),
)
"""Every subcommand, in the order ``auditor --help`` lists them."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``auditor`` parser: every subcommand in full, or with ``command`` only that one.

    With ``command`` the others are listed by name and one-line help alone and their modules
    are not imported, so ``auditor --help`` and ``auditor compat`` load neither the SSH nor the
    UI libraries nor the audit machinery (tests/test_import_hygiene.py). A ``command`` that
    names no subcommand leaves every one a stub: argparse then reports the invalid choice.
    """
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
    for entry in COMMANDS:
        if command is None or entry.name == command:
            add = getattr(importlib.import_module(entry.module), entry.adder)
            add(subparsers, entry.summary, epilog)
        else:
            subparsers.add_parser(entry.name, help=entry.summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``auditor`` script; returns the exit code.

    Ctrl-C at any point, start-up included (running an audit imports the SSH and UI
    libraries: seconds on a loaded machine), exits 130 with one line, no traceback.
    """
    collecting = gc.isenabled()
    gc.disable()  # until the command runs (see _main)
    try:
        return _main(argv, collecting)
    except KeyboardInterrupt:
        print("auditor: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    finally:
        gc.unfreeze()  # for a caller in this process (a test): what start-up built is collectable again
        if collecting:
            gc.enable()


def _main(argv: Sequence[str] | None, collecting: bool = True) -> int:
    """Parse ``argv`` and run its command; garbage collection resumes (when ``collecting``) as the command starts.

    Start-up (importing the command's modules, the parser, the knowledge overlay, the
    targets) builds what lives until exit and frees nothing in cycles: collecting during it
    only walked the young modules and classes again and again (about 10 ms of an audit's
    start, 100 collections). What it built is then frozen, so that no collection of the
    command walks it again either.
    """
    parser = build_parser(_command(argv) or "")
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
        gc.freeze()
        if collecting:
            gc.enable()
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
