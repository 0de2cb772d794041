"""``auditor report``: a headless audit for cron and CI.

stdout carries only the report (at most one ``--format`` without a path); logs,
warnings and the progress bar go to stderr, the bar only when stderr is a terminal.
A run:

1. checks every flag, file and report path (usage errors exit 2, before any host);
2. takes the history's run lock (waits up to ``--lock-timeout``, else exit 3) and
   opens the history, migrating it if an older auditor wrote it;
3. audits; SIGINT or SIGTERM stops the sweep and keeps what finished;
4. decides the exit code, fills in "failing since" from history, records the run,
   renders every report (a host a writer cannot render becomes an error row in that
   format), then writes them, each file atomically. A signal arriving now is noted,
   not obeyed mid-write;
5. exits: 130 if interrupted (the reports say ``complete: false``), 4 if a report or
   the history could not be written, else the decision (0, 1 or 3). The reports and
   the history say the same code: a history that could not be recorded makes every
   report say 4, and a report that fails after recording amends the stored run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

from auditor import crashlog
from auditor.audit.events import AuditEvent
from auditor.audit.options import add_target_options, non_negative_float, resolve_policy, targets_from
from auditor.audit.run import collect
from auditor.audit.targets import Targets
from auditor.cli.common import wake_on_signals
from auditor.cli.paths import add_history_path, history_path
from auditor.errors import InputError, ReportWriteError
from auditor.policy.model import Policy
from auditor.report.exitcodes import (
    DEFAULT_FAIL_ON,
    DEFAULT_UNREACHABLE,
    FAIL_ON_CHOICES,
    SEVERITY_LEVELS,
    UNREACHABLE_CHOICES,
    VERDICT_LEVELS,
    ExitCode,
)
from auditor.report.files import write_atomic
from auditor.report.formats import DESCRIPTIONS, FORMATS, OutputSpec, check_specs, parse_spec, renderer
from auditor.report.history import History, HistoryLocked, locked
from auditor.report.isolation import render_isolated
from auditor.report.model import HostReport, Report
from auditor.report.thresholds import decide
from auditor.report.writers.json import shared_documents
from auditor.text import clean, count
from auditor.transport.outcome import HostState

log = logging.getLogger(__name__)
DEFAULT_LOCK_TIMEOUT = 60.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def add_parser(subparsers: argparse._SubParsersAction, summary: str, epilog: str) -> None:
    width = max(len(name) for name in FORMATS)
    formats = "\n".join(f"  {name:<{width}} {DESCRIPTIONS[name]}" for name in FORMATS)
    parser = subparsers.add_parser(
        "report",
        help=summary,
        description="Audit every host and write reports. stdout carries only the report; logs and progress "
        "go to stderr. Every run is recorded in the history (see `auditor history`, `auditor diff`).",
        epilog=f"formats (--format FMT[:PATH], repeatable; at most one without a path, on stdout):\n{formats}\n\n"
        "A PATH may contain {timestamp} and {inventory} (any other {name} is refused); its directory must exist "
        "({timestamp} only in the file name), and a prom PATH must end in .prom (node_exporter reads only those). "
        "Every path is checked before any host is contacted (exit 2); files are replaced atomically (a device or "
        "pipe such as /dev/null is written into). A host a writer cannot render is an error row in that format.\n\n"
        + epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser, local=True)
    add_local_options(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        action="append",
        type=_spec,
        metavar="FMT[:PATH]",
        help=f"report format and optional file: {', '.join(FORMATS)} (default: table on stdout, "
        "on a terminal or not: a person reads cron mail too; scripts name the format they parse)",
    )
    out.add_argument(
        "--fail-on",
        type=_fail_on,
        default=DEFAULT_FAIL_ON,
        metavar="LEVEL",
        help=f"exit 1 when a host reaches any of these comma-separated levels: a verdict ({', '.join(VERDICT_LEVELS)}; "
        f"that verdict or more urgent) or a severity ({', '.join(SEVERITY_LEVELS)}; a finding that severe or worse). "
        f"Waived findings never count; checks that could not be evaluated count as incomplete (default: "
        f"{DEFAULT_FAIL_ON})",
    )
    out.add_argument(
        "--unreachable",
        choices=UNREACHABLE_CHOICES,
        default=DEFAULT_UNREACHABLE,
        help="hosts that could not be (fully) audited: 'fail' exits 3 when nothing reaches --fail-on, "
        "'warn' only warns on stderr and exits 0 (default: fail)",
    )
    hist = parser.add_argument_group("history")
    add_history_path(hist)
    hist.add_argument("--no-history", action="store_true", help="do not record this run (and take no run lock)")
    hist.add_argument(
        "--lock-timeout",
        type=non_negative_float,
        default=DEFAULT_LOCK_TIMEOUT,
        metavar="S",
        help="if another run holds the history's lock, wait this long, then give up with exit 3 "
        f"(default {DEFAULT_LOCK_TIMEOUT:g}s; 0: do not wait)",
    )
    parser.set_defaults(run=run, records_history=True)


def add_local_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``--local`` (``auditor.cli.local``: checked before the probe runs, exit 2)."""
    local = parser.add_argument_group(
        "local run (--local)",
        "Judge this machine as a fleet run judges a host: for a Kubernetes initContainer, a systemd ExecStartPre= "
        "or a CI step. The probe runs here as it would over SSH; nothing is written but the reports you ask for.",
    )
    local.add_argument(
        "--root", metavar="DIR", help="read files under DIR instead of / (a mounted image); it must exist"
    )
    local.add_argument(
        "--python",
        metavar="PATH",
        help="interpreter to run the probe with: a path or a name on PATH (default: this one)",
    )
    local.add_argument(
        "--name",
        metavar="NAME",
        help="the host's name in the report (default: this machine's hostname; with --root, the root's "
        "/etc/hostname): in a pod, the node's name (spec.nodeName)",
    )
    local.add_argument(
        "--group",
        metavar="GROUP",
        action="append",
        help="put the host in this inventory group, so the policy rules that select it apply (repeatable)",
    )


def _spec(text: str) -> OutputSpec:
    try:
        return parse_spec(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fail_on(text: str) -> str:
    levels = [level.strip().lower() for level in text.split(",") if level.strip()]
    unknown = [level for level in levels if level not in FAIL_ON_CHOICES]
    if unknown or not levels:
        raise argparse.ArgumentTypeError(
            f"'{text}': each level must be a verdict ({', '.join(VERDICT_LEVELS)}) or a severity ({', '.join(SEVERITY_LEVELS)})"
        )
    return ",".join(levels)


def run(args: argparse.Namespace) -> int:
    specs: list[OutputSpec] = args.format or [OutputSpec("table")]
    check_specs(specs)
    policy = resolve_policy(args)
    with _StopSignals() as signals:
        if args.no_history or (
            getattr(args, "local", False) and not args.history
        ):  # a local run keeps none unless asked
            return _run(args, policy, specs, None, signals)
        path = history_path(args)

        def waiting(holder: str) -> None:
            print(
                f"auditor: waiting up to {args.lock_timeout:g}s for another run to finish ({holder})", file=sys.stderr
            )

        try:
            with locked(path, args.lock_timeout, on_wait=waiting), History(path) as history:
                return _run(args, policy, specs, history, signals)
        except HistoryLocked as exc:
            print(f"auditor: {exc}", file=sys.stderr)
            return int(ExitCode.INCOMPLETE)


def _run(
    args: argparse.Namespace, policy: Policy, specs: list[OutputSpec], history: History | None, signals: _StopSignals
) -> int:
    with _fewer_collections():  # the sweep, then recording and rendering what it found
        return _audit_and_write(args, policy, specs, history, signals)


def _audit_and_write(
    args: argparse.Namespace, policy: Policy, specs: list[OutputSpec], history: History | None, signals: _StopSignals
) -> int:
    progress = _Progress() if sys.stderr.isatty() else None
    try:
        report, interrupted = _audit(args, policy, progress, signals)
    finally:
        if progress is not None:
            progress.stop()
    decision = decide(report.hosts, args.fail_on, args.unreachable, interrupted=interrupted)
    report = dataclasses.replace(report, exit=decision)
    if interrupted:
        print(
            f"auditor: interrupted; writing the partial report ({count(len(report.hosts), 'host')} done)",
            file=sys.stderr,
        )
    elif decision.incomplete and args.unreachable == "warn":
        print(f"auditor: warning: not fully audited: {', '.join(decision.incomplete)}", file=sys.stderr)
    errors: list[str] = []
    with signals.deferred(), shared_documents():  # the history's document is the JSON report's
        if history is not None:
            try:
                report = history.record(history.with_failing_since(report))
            except (sqlite3.Error, OSError) as exc:
                errors.append(f"could not record the run in {history.path}: {exc}")
        if errors:  # every report says what the process will say: exit 4
            report = dataclasses.replace(report, exit=decision.failed(errors[-1]))
        outputs, failures = _render_outputs(report, specs)
        if failures:
            errors += failures
            report = dataclasses.replace(report, exit=decision.failed(failures[-1]))
            outputs, _ = _render_outputs(report, specs)
        errors += _write_outputs(outputs)
        if errors and history is not None and report.run_id is not None:  # recorded before a report failed
            _amend(history, dataclasses.replace(report, exit=decision.failed(errors[-1])))
    for error in errors:
        print(f"auditor: {error}", file=sys.stderr)
    if interrupted or signals.received:
        return int(ExitCode.INTERRUPTED)
    if errors:
        return int(ExitCode.INTERNAL)
    return int(decision.code)


def _amend(history: History, report: Report) -> None:
    """Make the recorded run say the exit it ended with (a report failed after it was recorded)."""
    try:
        history.amend(report)
    except (sqlite3.Error, OSError) as exc:
        print(f"auditor: could not record the exit code in {history.path}: {exc}", file=sys.stderr)


Rendered = tuple[OutputSpec, str, str]
"""A format ready to write: its spec, its resolved path ("" for stdout) and its text."""


def _render_outputs(report: Report, specs: list[OutputSpec]) -> tuple[list[Rendered], list[str]]:
    """Every requested format rendered, files first and stdout last; and the formats that could not be.

    A host a writer cannot render becomes an error row in that format (``auditor.report.isolation``);
    only a writer broken for every host loses its format.
    """
    outputs, failures = [], []
    for spec in sorted(specs, key=lambda s: s.path is None):
        if spec.path is None:
            tty = sys.stdout.isatty()
            width = shutil.get_terminal_size((120, 24)).columns if tty else 120
            render = renderer(spec.format, color=tty and not os.environ.get("NO_COLOR"), width=width)
        else:
            render = renderer(spec.format)
        try:
            outputs.append((spec, spec.resolve(report) or "", render_isolated(render, report, spec.format)))
        except Exception as exc:
            path = crashlog.record(exc, f"rendering the {spec.format} report")
            failures.append(
                f"could not render the {spec.format} report: internal error: {type(exc).__name__}: "
                f"{clean(str(exc), 300)} (traceback in {path})"
            )
    return outputs, failures


def _write_outputs(outputs: list[Rendered]) -> list[str]:
    """Write the rendered reports, files first (atomically), stdout last. Returns the failures."""
    errors = []
    for spec, path, text in outputs:
        if spec.path is None:
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except OSError as exc:  # a full disk, a closed pipe: the report the user asked for is lost
                errors.append(f"could not write the report to stdout: {exc.strerror or exc}")
            continue
        try:
            write_atomic(path, text)
            log.debug("wrote %s report to %s", spec.format, path)
        except ReportWriteError as exc:
            errors.append(str(exc))
    return errors


def _audit(
    args: argparse.Namespace, policy: Policy, progress: _Progress | None, signals: _StopSignals
) -> tuple[Report, bool]:
    """The audit; on SIGINT/SIGTERM the hosts finished so far, marked incomplete (and True)."""
    if getattr(args, "local", False):
        from auditor.cli.local import local_report

        return local_report(args, policy), False
    finished: dict[str, HostReport] = {}
    opened: list[Targets] = []

    def on_event(event: AuditEvent) -> None:
        if event.report is not None:
            finished[event.host.name] = event.report
            log.debug("%s: %s", event.host.name, event.report.verdict.value)
        if progress is not None:
            progress.update(event)

    async def sweep() -> Report:
        async with targets_from(args) as targets:
            opened.append(targets)
            return await collect(targets, policy, on_event=on_event)

    stopped: list[bool] = []

    async def main() -> Report:
        started = time.monotonic()
        task = asyncio.ensure_future(sweep())
        try:
            with signals.cancelling(task):
                return await task
        except asyncio.CancelledError:
            if not signals.received:
                raise
            stopped.append(True)
            targets = opened[0] if opened else None
            names = [h.name for h in targets.hosts] if targets else []
            return Report(
                inventory=targets.name if targets else (", ".join(args.inventory or []) or args.simulate or "demo"),
                policy=policy.name,
                hosts=tuple(finished[n] for n in names if n in finished),
                duration_s=time.monotonic() - started,
                complete=False,
                not_audited=tuple(n for n in names if n not in finished),
            )

    report = asyncio.run(main())
    return report, bool(stopped)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Garbage collection kept out of the sweep's and the reports' way, as it was before afterwards.

    What start-up built (modules, the knowledge, the policy, the inventory) lives until
    exit: frozen, no collection scans it again. Collections of the youngest objects come
    every 10,000 allocations instead of 700: the sweep allocates packets, futures and
    facts by the thousand and nearly all of them are freed by reference counting anyway,
    and the documents written afterwards live until they are written. At 300 hosts this
    halves the collector's CPU during the sweep (about 70 -> 30 ms), and spares the
    writing most of its collections (about 12 ms).
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


class _StopSignals:
    """The SIGINT/SIGTERM handler for a whole ``auditor report`` run; what a signal does depends on when.

    * during the sweep it cancels the sweep (the hosts done so far become a partial report);
    * while the reports and the history are written it is noted (exit 130 afterwards),
      never obeyed mid-write;
    * at any other time (waiting for the lock, starting up) it raises ``KeyboardInterrupt``:
      nothing was audited yet, and the CLI exits 130.

    One handler for the whole run, installed with ``signal.signal``, so there is no gap
    in which SIGTERM's default action would kill the process without a report.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._task: asyncio.Future[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deferring = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        self._previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._task is not None and self._loop is not None:
            # A signal handler runs between two bytecodes of the main thread, possibly inside
            # the event loop itself: hand the cancellation to the loop instead of doing it here.
            # Scheduled before anything is written: the handler may interrupt a write to stderr,
            # and a reentrant write raising here must not lose the cancellation.
            self._loop.call_soon_threadsafe(self._task.cancel)
            log.debug("signal %d: stopping the sweep", signum)
        elif self._deferring:
            print("auditor: signal received; finishing the reports first", file=sys.stderr)
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def cancelling(self, task: asyncio.Future[Any]) -> Iterator[None]:
        """While the block runs, a signal cancels ``task`` (call from inside the running loop).

        Whichever thread the kernel hands the signal to, the loop wakes for it (``wake_on_signals``).
        """
        self._task, self._loop = task, asyncio.get_running_loop()
        try:
            with wake_on_signals():
                yield
        finally:
            self._task = self._loop = None

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """While the block runs, signals are only noted."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False


class _Progress:
    """A progress bar with an ETA on stderr (only built when stderr is a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("auditing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("hosts"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}", style="dim", markup=False),
            console=Console(file=sys.stderr),
            transient=True,
        )
        self.task = self.progress.add_task("audit", total=0, last="")
        self.progress.start()

    def update(self, event: AuditEvent) -> None:
        if event.state is HostState.QUEUED:
            total = self.progress.tasks[0].total or 0
            self.progress.update(self.task, total=total + 1)
        elif event.report is not None:
            self.progress.update(self.task, advance=1, last=f"{event.host.name}: {event.report.verdict.value}")

    def stop(self) -> None:
        self.progress.stop()
