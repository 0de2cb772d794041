"""The interactive audit: one session over the targets, sweeps streaming into the fleet screen.

The app opens its ``AuditSource`` once (a simulated fleet stays up), sweeps every
host, and keeps the session open so ``r`` (the selected or marked hosts), ``R``
(all) and ``--watch`` can sweep again. One sweep runs at a time; keys that would
start another are greyed out meanwhile. Unknown host keys are never asked about
mid-sweep: they are collected, and ``K`` opens their review afterwards.

The app itself stays thin: the fleet screen shows the model, ``screens/`` hold help,
export and host-key review, and nothing here evaluates a host.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from datetime import datetime, timezone
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from auditor.errors import InputError
from auditor.inventory import Host
from auditor.records import record
from auditor.report.exitcodes import ExitCode
from auditor.report.model import Report
from auditor.report.thresholds import decide
from auditor.tui.host_keys import accepted_keys_file, unknown_key_rows
from auditor.tui.legend import VERDICT_LOOK
from auditor.tui.model import FleetModel, HostRow, SortKey
from auditor.tui.screens.main import MainScreen
from auditor.tui.source import AuditSource, Session
from auditor.tui.widgets.detail_pane import DetailPane
from auditor.tui.widgets.host_table import HostTable


@record
class Clock:
    """Where the app reads time: tests freeze both so ages and sweep times never change a screen."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


log = logging.getLogger(__name__)
AGE_TICK = 1.0  # seconds between re-agings of the Age column and the header


class AuditApp(App[int]):
    """``auditor tui`` / ``auditor demo``: audit hosts and live in the result."""

    TITLE = "auditor"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Keys and the verdict legend"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit the interactive audit"),
        Binding("R", "reprobe_all", "Re-probe all", id="app.reprobe_all", tooltip="Sweep every host again"),
        Binding("ctrl+s", "export", "Export", id="app.export", tooltip="Write a report (any headless format)"),
        Binding("K", "host_keys", "Host keys", id="app.host_keys", tooltip="Review unknown host keys"),
        # Shown once the app has a plan view (``plan_screen``: `auditor tui` and `auditor demo` always do).
        Binding("p", "plan", "Plan", id="app.plan", tooltip="The upgrade plan towards a stack of the policy"),
    ]

    def __init__(
        self,
        source: AuditSource,
        policy: str,
        watch: float | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.policy_name = policy
        self.watch_every = watch
        self.clock = clock or Clock()
        self.model = FleetModel()
        self.session: Session | None = None
        self.sweeps = 0
        self.rejected_keys: set[str] = set()
        """Hosts whose offered key was rejected in this session: not offered for review again."""
        self.keys_file = accepted_keys_file()
        self.plan_screen: Callable[[AuditApp], Screen[None]] | None = None
        """Builds the screen ``p`` opens (``tui.command.plan_screen_for``); without one ``p`` is hidden."""
        self._leaving = asyncio.Event()
        self._main: MainScreen | None = None

    # --- life cycle -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.run_worker(self._run_session(), name="session", group="session", exit_on_error=False)

    async def _run_session(self) -> None:
        try:
            async with self.source() as session:
                self.session = session
                self.model.add_hosts(session.hosts)
                self._main = MainScreen(self.model, self.clock.monotonic, session.name, self.policy_name)
                await self.push_screen(self._main)
                self.set_interval(AGE_TICK, self._tick)
                if self.watch_every:
                    self.set_interval(self.watch_every, self._watch_tick)
                await self.sweep(session.hosts)
                await self._leaving.wait()
        except InputError as error:
            self.exit(int(ExitCode.USAGE), return_code=int(ExitCode.USAGE), message=f"auditor: {error}")
        except Exception as error:  # the session is the app: without it there is nothing to show
            log.exception("the audit session failed")
            code = int(ExitCode.INTERNAL)
            self.exit(code, return_code=code, message=f"auditor: internal error: {type(error).__name__}: {error}")

    async def action_quit(self) -> None:
        self._leaving.set()
        self.exit(0)

    @property
    def main(self) -> MainScreen:
        assert self._main is not None, "the session is not open yet"
        return self._main

    @property
    def sweeping(self) -> bool:
        return self.model.sweep.running

    def workers_idle(self) -> bool:
        """No sweep worker is still running (the session worker always is)."""
        return not any(w.group == "sweep" and w.is_running for w in self.workers)

    # --- sweeps -----------------------------------------------------------------------------

    async def sweep(self, hosts: Sequence[Host]) -> None:
        """Audit ``hosts`` now, streaming every event into the model; the table catches up in batches."""
        assert self.session is not None
        model, main, monotonic = self.model, self.main, self.clock.monotonic
        model.start_sweep(len(hosts), monotonic())
        self.sweeps += 1
        main.sweep_started(len(hosts))
        self.refresh_bindings()
        try:
            async for event in self.session.sweep(hosts):
                model.apply(event, monotonic())
                main.schedule_flush()
            model.complete(self.session.finish(model.finished_reports()))
        finally:
            model.end_sweep(monotonic(), self.clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ"))
            main.sweep_ended(self.clock.wall().strftime("%H:%M:%S UTC"))
            self.refresh_bindings()
            # The table freezes what each batch brings (screens/main.py) to keep full
            # collections from stalling keys mid-sweep; once per sweep, reclaim the cyclic
            # garbage frozen meanwhile, so a --watch session running for days stays bounded.
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        self._announce(hosts)

    def _announce(self, hosts: Sequence[Host]) -> None:
        sweep = self.model.sweep
        names = {h.name for h in hosts}
        counts: dict[str, int] = {}
        for name in names:
            report = self.model.rows[name].report
            if report is not None:
                counts[report.verdict.value] = counts.get(report.verdict.value, 0) + 1
        parts = [f"{VERDICT_LOOK[v].glyph} {counts[v.value]} {v.value}" for v in VERDICT_LOOK if counts.get(v.value)]
        took = (sweep.ended or 0.0) - (sweep.started or 0.0)
        self.notify(
            "  ".join(parts) or "no host finished",
            title=f"Swept {len(hosts)} host{'s' if len(hosts) != 1 else ''} in {took:.1f}s",
            markup=False,
            timeout=6,
        )
        pending = self.pending_host_keys()
        if pending:
            self.notify(
                f"{len(pending)} host{'s' if len(pending) != 1 else ''} offered an unknown host key. "
                "Press K to review the fingerprints.",
                title="Host keys to review",
                severity="warning",
                markup=False,
                timeout=12,
            )

    def start_sweep(self, names: Iterable[str]) -> bool:
        """Sweep these hosts in the background unless a sweep is running; True if one started."""
        if self.sweeping or self.session is None:
            return False
        wanted = set(names)
        self.rejected_keys -= wanted  # probing a host again is asking about its key again
        hosts = [row.host for row in self.model.rows.values() if row.name in wanted]
        if hosts:
            self.run_worker(self.sweep(hosts), name="sweep", group="sweep", exit_on_error=False)
        return bool(hosts)

    def _tick(self) -> None:
        if self._main is not None and self.screen is self._main:
            self._main.flush(ages=True)

    def _watch_tick(self) -> None:
        self.start_sweep(self.model.rows)

    # --- actions ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide keys that cannot apply; grey out those that will once the sweep ends."""
        if action in ("reprobe_all", "reprobe") and self.sweeping:
            return None
        if action == "host_keys":
            return bool(self.pending_host_keys()) and not self.sweeping and self.screen is self._main
        if action == "plan":
            return self.plan_screen is not None and self.screen is self._main
        return True

    def on_host_table_reprobe(self, event: HostTable.Reprobe) -> None:
        if self.start_sweep(event.names):
            self.model.dirty |= self.model.marked
            self.model.marked.clear()

    def action_reprobe_all(self) -> None:
        self.start_sweep(self.model.rows)

    def action_help(self) -> None:
        from auditor.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            owners = (
                ("table", HostTable.BINDINGS),
                ("fleet", MainScreen.BINDINGS),
                ("app", AuditApp.BINDINGS),
                ("detail pane", DetailPane.BINDINGS),
            )
            self.push_screen(HelpScreen(owners))

    def action_export(self) -> None:
        from auditor.tui.screens.export import ExportScreen

        if self.session is not None and not isinstance(self.screen, ExportScreen):
            self.push_screen(ExportScreen(self.current_report))

    def pending_host_keys(self) -> list[HostRow]:
        """Hosts stopped by an unknown host key whose key was not rejected in this session."""
        return [row for row in unknown_key_rows(self.model.rows.values()) if row.name not in self.rejected_keys]

    def action_host_keys(self) -> None:
        rows = self.pending_host_keys()
        if rows and self.session is not None and not self.sweeping:
            self.run_worker(self._review_host_keys(rows), group="host-keys", exclusive=True, exit_on_error=False)

    async def _review_host_keys(self, rows: list[HostRow]) -> None:
        """Fetch the keys the hosts offer now, let the user decide, trust the accepted, probe them again."""
        from auditor.tui.screens.host_keys import HostKeyScreen

        assert self.session is not None
        session = self.session
        offered = await session.offered_keys([row.host for row in rows])
        met = {row.name: row.report.error.host_key for row in rows if row.report and row.report.error}
        keys = [dataclasses.replace(key, reported=met.get(key.name)) for key in offered]
        decision = await self.push_screen_wait(HostKeyScreen(keys, str(self.keys_file)))
        if decision is None:
            return
        self.rejected_keys |= set(decision.rejected)
        if decision.accepted:
            where = session.trust(decision.accepted)
            count = len(decision.accepted)
            self.notify(
                f"Kept in {where}. Probing {'it' if count == 1 else 'them'} again.",
                title=f"Trusted {count} host key{'s' if count != 1 else ''}",
                markup=False,
            )
            self.start_sweep(key.name for key in decision.accepted)

    def action_plan(self) -> None:
        if self.plan_screen is not None:
            self.push_screen(self.plan_screen(self))

    def current_report(self) -> Report:
        """The latest result of every host, as the headless writers take it."""
        hosts = self.model.reports()
        done = {h.name for h in hosts}
        sweep = self.model.sweep
        duration = ((sweep.ended or self.clock.monotonic()) - sweep.started) if sweep.started is not None else 0.0
        return Report(
            inventory=self.session.name if self.session else "",
            policy=self.policy_name,
            hosts=hosts,
            generated_at=self.clock.wall().strftime("%Y-%m-%dT%H:%M:%SZ"),
            duration_s=duration,
            complete=not self.sweeping and len(done) == len(self.model.rows),
            not_audited=tuple(name for name in self.model.rows if name not in done),
            exit=decide(hosts),
            notes=self.session.notes if self.session else (),
        )

    # --- the command palette ------------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self._main is None:
            return
        main = self._main
        yield SystemCommand("Re-probe all hosts", "Sweep every host again (R)", self.action_reprobe_all)
        yield SystemCommand("Export a report", "Write any headless format to a file (ctrl+s)", self.action_export)
        yield SystemCommand(
            "Toggle: only hosts needing action",
            "Hide ok hosts and those without a verdict (ctrl+z)",
            main.action_needs_action,
        )
        yield SystemCommand("Filter hosts", "Match text across all columns; !text inverts (/)", main.action_filter)
        for key in SortKey:
            yield SystemCommand(
                f"Sort by {key.value}", f"Order the table by {key.value} (s cycles, S reverses)", _sorter(main, key)
            )
        if self.pending_host_keys():
            yield SystemCommand("Review host keys", "Accept or reject unknown host keys (K)", self.action_host_keys)


def _sorter(main: MainScreen, key: SortKey) -> Callable[[], None]:
    return lambda: main.table.sort_by(key, reverse=False)
