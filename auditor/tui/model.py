"""The fleet as the interactive audit shows it: rows, filter, sort, marks and sweep progress.

Plain Python, no Textual: events from a sweep are applied here (cheap, O(1) each),
and the host table is brought in line with it in batches (``widgets.host_table``).
It holds no evaluation logic: verdicts and findings come in ready-made with each
``HostReport``; this module only decides what is shown and in which order.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from auditor.audit.events import AuditEvent
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.report.isolation import failed_report, isolated
from auditor.report.model import HostReport, host_columns
from auditor.transport.outcome import AuditStep, HostState


@dataclass(frozen=True)
class HostRow:
    """One host: where it is in the current sweep and its latest report.

    ``report`` survives a re-probe until the new one arrives (shown dimmed meanwhile);
    ``updated`` is the monotonic time the report arrived, for the row's data age.
    """

    host: Host
    state: HostState = HostState.QUEUED
    report: HostReport | None = None
    updated: float | None = None

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def in_flight(self) -> bool:
        """A probe of this host is queued or running."""
        return self.state in (HostState.QUEUED, HostState.CONNECTING, HostState.PROBING)

    @property
    def needs_action(self) -> bool:
        """The latest verdict is anything but ok (hosts without one do not count yet)."""
        return self.report is not None and self.report.verdict.needs_action

    # A row is replaced, never changed, whenever its host's state or report changes, so what
    # is derived from it is computed once per row: a sort or a filter over 2,000 hosts then
    # costs a dictionary lookup per host, not a walk through its facts.

    @cached_property
    def columns(self) -> dict[str, str]:
        """The short facts the table shows: GPUs, driver, CUDA, TensorRT ("" without a report)."""
        if self.report is None:
            return dict.fromkeys(("gpus", "driver", "cuda", "tensorrt"), "")
        return host_columns(self.report)

    @cached_property
    def search_text(self) -> str:
        """Everything a filter matches against, lower-cased: every column and the address."""
        parts = [self.name, self.host.address, " ".join(self.host.groups), self.state.value]
        report = self.report
        if report is not None:
            parts += [report.verdict.value, report.reason, *self.columns.values()]
        return "\n".join(parts).lower()

    @cached_property
    def _sort_keys(self) -> dict[SortKey, SortValue]:
        return {}

    def sort_key(self, key: SortKey) -> SortValue:
        """This row's key for ordering by ``key`` (computed once)."""
        cache = self._sort_keys
        if key not in cache:
            cache[key] = SORT_KEYS[key](self)
        return cache[key]


class SortKey(enum.Enum):
    """The orders the table can be sorted in (a column each)."""

    VERDICT = "verdict"
    """Most urgent first, then by name: the default, problems on top."""
    HOST = "host"
    DRIVER = "driver"
    CUDA = "cuda"
    TENSORRT = "tensorrt"
    GPUS = "gpus"
    AGE = "age"
    """Oldest data first."""
    GROUPS = "groups"
    WHY = "why"


def _natural(text: str) -> tuple[object, ...]:
    """``"535.104.05"`` < ``"550.54.15"``, ``"node-9"`` < ``"node-10"``: numbers compare as numbers."""
    out: list[object] = []
    number = ""
    word = ""
    for char in text:
        if char.isdigit():
            if word:
                out.append((1, word.lower()))
                word = ""
            number += char
        else:
            if number:
                out.append((0, int(number)))
                number = ""
            word += char
    if number:
        out.append((0, int(number)))
    if word:
        out.append((1, word.lower()))
    return tuple(out)


SortValue = tuple[bool, object]
"""``(missing, value)``: hosts without a value (no report yet, no driver...) go last in either direction."""


def _column(name: str) -> Callable[[HostRow], SortValue]:
    def key(row: HostRow) -> SortValue:
        value = row.columns[name]
        return (value == "", _natural(value))

    return key


SORT_KEYS: dict[SortKey, Callable[[HostRow], SortValue]] = {
    SortKey.VERDICT: lambda row: (row.report is None, row.report.verdict.rank if row.report else 0),
    SortKey.HOST: lambda row: (False, _natural(row.name)),
    SortKey.DRIVER: _column("driver"),
    SortKey.CUDA: _column("cuda"),
    SortKey.TENSORRT: _column("tensorrt"),
    SortKey.GPUS: _column("gpus"),
    SortKey.AGE: lambda row: (row.updated is None, row.updated or 0.0),
    SortKey.GROUPS: lambda row: (not row.host.groups, _natural(" ".join(row.host.groups))),
    SortKey.WHY: lambda row: (row.report is None or not row.report.reason, row.report.reason if row.report else ""),
}


@dataclass(frozen=True)
class HostFilter:
    """A case-insensitive substring across every column; a leading ``!`` keeps the hosts that do not match."""

    text: str = ""

    @property
    def needle(self) -> str:
        return self.text[1:].strip().lower() if self.inverted else self.text.strip().lower()

    @property
    def inverted(self) -> bool:
        return self.text.startswith("!")

    @property
    def active(self) -> bool:
        return bool(self.needle)

    def matches(self, row: HostRow) -> bool:
        if not self.active:
            return True
        return (self.needle in row.search_text) != self.inverted


def shown(row: HostRow) -> HostRow:
    """``row`` with what the table derives from its report computed now, inside the per-host boundary.

    A report the table cannot show (an exception computing its columns) is replaced by an
    ``error`` at step ``display`` (``auditor.report.isolation``): that host's row says so, the
    other rows and the app carry on.
    """
    report = row.report
    if report is None:
        return row

    def derive() -> HostRow:
        _ = (row.columns, row.search_text)
        return row

    return isolated(
        AuditStep.DISPLAY,
        row.name,
        derive,
        lambda error: dataclasses.replace(row, report=failed_report(report, error)),
    )


@dataclass
class Sweep:
    """Progress of the sweep under way (or of the last one): counts and times (monotonic)."""

    hosts: int = 0
    finished: int = 0
    failed: int = 0
    started: float | None = None
    ended: float | None = None
    ended_wall: str | None = None
    """When the last sweep ended, ISO 8601 UTC (for the header)."""

    @property
    def running(self) -> bool:
        return self.started is not None and self.ended is None

    def eta(self, now: float) -> float | None:
        """Seconds until every host has finished at the pace so far (None before the first one)."""
        if self.started is None or not self.finished:
            return None
        return (now - self.started) / self.finished * (self.hosts - self.finished)


@dataclass
class FleetModel:
    """Every host of the session and how the table shows them.

    ``dirty`` names the rows changed since the table last synced; ``reshape`` is set
    when what is shown or its order may have changed for every row (filter, sort,
    needs-action view).
    """

    rows: dict[str, HostRow] = field(default_factory=dict)
    marked: set[str] = field(default_factory=set)
    filter: HostFilter = HostFilter()
    needs_action_only: bool = False
    sort: SortKey = SortKey.VERDICT
    reverse: bool = False
    sweep: Sweep = field(default_factory=Sweep)
    dirty: set[str] = field(default_factory=set)
    reshape: bool = True
    assessed: dict[str, HostReport] = field(default_factory=dict)
    """Each host's report as its last sweep assessed it, before fleet-level checks (see ``finish_sweep``)."""

    def add_hosts(self, hosts: Iterable[Host]) -> None:
        """Know every target up front (inventory order is the tie-breaker of every sort)."""
        for host in hosts:
            if host.name not in self.rows:
                self.rows[host.name] = HostRow(host)
                self.dirty.add(host.name)

    def start_sweep(self, hosts: int, now: float) -> None:
        self.sweep = Sweep(hosts=hosts, started=now)

    def end_sweep(self, now: float, wall: str) -> None:
        self.sweep.ended, self.sweep.ended_wall = now, wall

    def apply(self, event: AuditEvent, now: float) -> None:
        """One sweep event: the row's state, and its report once it finished."""
        name = event.host.name
        row = self.rows.get(name) or HostRow(event.host)
        if event.report is not None:
            row = shown(dataclasses.replace(row, state=event.state, report=event.report, updated=now))
            assert row.report is not None
            self.assessed[name] = row.report
            self.sweep.finished += 1
            if row.report.verdict.incomplete:
                self.sweep.failed += 1
        else:
            row = dataclasses.replace(row, state=event.state)
        self.rows[name] = row
        self.dirty.add(name)

    def finished_reports(self) -> list[HostReport]:
        """What the fleet-level checks run on: every host's assessed report, in inventory order."""
        return [self.assessed[name] for name in self.rows if name in self.assessed]

    def complete(self, reports: Iterable[HostReport]) -> None:
        """Show these reports (the fleet-level checks' result) where they differ from what is shown."""
        for report in reports:
            row = self.rows.get(report.name)
            if row is not None and row.report != report:
                self.rows[report.name] = shown(dataclasses.replace(row, report=report))
                self.dirty.add(report.name)

    def visible(self) -> list[str]:
        """The names the table shows, in the order it shows them."""
        rows = [
            row
            for row in self.rows.values()
            if self.filter.matches(row) and (not self.needs_action_only or row.needs_action)
        ]
        # Rows are in inventory order already, and the sort is stable: ties keep it
        # (Python's reverse sort is stable too). Rows without a value go last either way.
        sort = self.sort
        present = [row for row in rows if not row.sort_key(sort)[0]]
        missing = [row.name for row in rows if row.sort_key(sort)[0]]
        present.sort(key=lambda row: row.sort_key(sort)[1], reverse=self.reverse)  # type: ignore[arg-type,return-value]
        return [row.name for row in present] + missing

    def counts(self) -> dict[Verdict, int]:
        """Hosts per latest verdict (hosts without one yet are not counted)."""
        counts = dict.fromkeys(Verdict, 0)
        for row in self.rows.values():
            if row.report is not None:
                counts[row.report.verdict] += 1
        return counts

    def reports(self) -> tuple[HostReport, ...]:
        """The latest report of every host that has one, in inventory order."""
        return tuple(row.report for row in self.rows.values() if row.report is not None)
