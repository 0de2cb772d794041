"""``auditor report``: a headless audit for cron and CI; data on stdout, progress on stderr."""

from __future__ import annotations

import argparse
import asyncio
import sys

from auditor.audit import AuditEvent, collect
from auditor.cli.common import add_target_options, resolve_policy, targets_from
from auditor.errors import ReportWriteError
from auditor.exitcodes import DEFAULT_FAIL_ON, FAIL_ON_CHOICES, ExitCode, exit_code_for
from auditor.outcome import HostState
from auditor.report.json_writer import render_json
from auditor.report.table_writer import render_table

FORMATS = ("table", "json")


def add_parser(subparsers: argparse._SubParsersAction, epilog: str) -> None:
    parser = subparsers.add_parser(
        "report",
        help="audit hosts and print a report (headless)",
        description="Audit every host and print a report on stdout. Logs and progress go to stderr.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument("--format", choices=FORMATS, default="table", help="report format (default: table)")
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=DEFAULT_FAIL_ON,
        help=f"exit 1 when a host's verdict is this or more urgent (default: {DEFAULT_FAIL_ON})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    policy = resolve_policy(args)
    progress = _Progress() if sys.stderr.isatty() else None

    async def audit() -> tuple[str, ExitCode]:
        async with targets_from(args) as targets:
            report = await collect(targets, policy, on_event=progress.update if progress else None)
        if progress:
            progress.finish()
        code = exit_code_for((h.verdict for h in report.hosts), args.fail_on)
        if args.format == "json":
            return render_json(report, code), code
        return render_table(report, color=sys.stdout.isatty()), code

    text, code = asyncio.run(audit())
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as exc:  # a full disk, a closed pipe: the report the user asked for is lost
        raise ReportWriteError(f"could not write the report to stdout: {exc.strerror or exc}") from None
    return int(code)


class _Progress:
    """A one-line counter on stderr (only when stderr is a terminal)."""

    def __init__(self) -> None:
        self.total = self.done = 0

    def update(self, event: AuditEvent) -> None:
        if event.state is HostState.QUEUED:
            self.total += 1
        elif event.report is not None:
            self.done += 1
            sys.stderr.write(
                f"\r\x1b[Kaudited {self.done}/{self.total} hosts ({event.host.name}: {event.report.verdict.value})"
            )
            sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
