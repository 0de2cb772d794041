"""The fleet as the interactive audit shows it: rows, filter, sort, marks and sweep progress.

Plain Python, no Textual: events from a sweep are applied here (cheap, O(1) each),
and the host table is brought in line with it in batches (``widgets.host_table``).
It holds no evaluation logic: verdicts and findings come in ready-made with each
``HostReport``; this module only decides what is shown and in which order.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from auditor.audit.events import AuditEvent
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.records import record
from auditor.report.isolation import failed_report, isolated
from auditor.report.model import HostReport, host_columns
from auditor.transport.outcome import AuditStep, HostState


@record
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


class _Descending:
    """A sort value that orders the other way round (``reverse``), so one ascending list serves both directions."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        return other.value < self.value  # type: ignore[operator,no-any-return]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


_Entry = tuple[bool, object, int]
"""A row's place in ``_Order``: ``(missing, value, inventory position)``; a missing value compares as 0."""


class _Order:
    """Every row's name in the table's order for one sort, kept sorted as rows change.

    The order a full sort gives (``FleetModel.visible`` documents it): by value, ascending or
    not, ties in inventory order, rows without a value last in inventory order. A changed row
    moves with two binary searches instead of a sort of every row per table sync: with 10,000
    hosts streaming in that sort was 12-15 ms of every sync (``bench/tui.py``).
    """

    def __init__(self, sort: SortKey, reverse: bool, rows: Iterable[tuple[int, HostRow]]) -> None:
        self.sort, self.reverse = sort, reverse
        self.entries: dict[str, _Entry] = {row.name: self.entry(position, row) for position, row in rows}
        placed = sorted(self.entries.items(), key=lambda item: item[1])  # positions differ: no two entries tie
        self.keys: list[_Entry] = [entry for _, entry in placed]
        self.names: list[str] = [name for name, _ in placed]

    def entry(self, position: int, row: HostRow) -> _Entry:
        missing, value = row.sort_key(self.sort)
        if missing:
            return (True, 0, position)
        return (False, _Descending(value) if self.reverse else value, position)

    def put(self, position: int, row: HostRow) -> None:
        """Place ``row`` (new, or changed since it was placed)."""
        entry = self.entry(position, row)
        old = self.entries.get(row.name)
        if old == entry:
            return
        if old is not None:
            index = bisect.bisect_left(self.keys, old)
            del self.keys[index], self.names[index]
        index = bisect.bisect_left(self.keys, entry)
        self.keys.insert(index, entry)
        self.names.insert(index, row.name)
        self.entries[row.name] = entry


@record
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
    _positions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    """Each host's place in inventory order (the order ``rows`` keeps)."""
    _order: _Order | None = field(default=None, repr=False, compare=False)
    """The rows in the order of the sort last shown (built again when the sort or its direction changes)."""
    _counts: dict[Verdict, int] = field(default_factory=lambda: dict.fromkeys(Verdict, 0), repr=False, compare=False)

    def _put(self, row: HostRow) -> None:
        """Store ``row``, keeping the order and the verdict counts in step (every change of ``rows`` goes here)."""
        name = row.name
        old = self.rows.get(name)
        if old is not None and old.report is not None:
            self._counts[old.report.verdict] -= 1
        if row.report is not None:
            self._counts[row.report.verdict] += 1
        position = self._positions.setdefault(name, len(self._positions))
        self.rows[name] = row
        if self._order is not None:
            self._order.put(position, row)
        self.dirty.add(name)

    def add_hosts(self, hosts: Iterable[Host]) -> None:
        """Know every target up front (inventory order is the tie-breaker of every sort)."""
        for host in hosts:
            if host.name not in self.rows:
                self._put(HostRow(host))

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
        self._put(row)

    def finished_reports(self) -> list[HostReport]:
        """What the fleet-level checks run on: every host's assessed report, in inventory order."""
        return [self.assessed[name] for name in self.rows if name in self.assessed]

    def complete(self, reports: Iterable[HostReport]) -> None:
        """Show these reports (the fleet-level checks' result) where they differ from what is shown."""
        for report in reports:
            row = self.rows.get(report.name)
            if row is not None and row.report != report:
                self._put(shown(dataclasses.replace(row, report=report)))

    def visible(self) -> list[str]:
        """The names the table shows, in the order it shows them.

        Sorted by the sort key's value (descending when ``reverse``), ties in inventory
        order in either direction; rows without a value last, in inventory order. The order
        is kept as rows change (``_Order``); a new sort or direction orders every row once.
        """
        order = self._order
        if order is None or order.sort is not self.sort or order.reverse != self.reverse:
            positions = self._positions
            order = self._order = _Order(self.sort, self.reverse, ((positions[n], r) for n, r in self.rows.items()))
        if not self.filter.active and not self.needs_action_only:
            return list(order.names)
        rows = self.rows
        return [
            name
            for name in order.names
            if self.filter.matches(rows[name]) and (not self.needs_action_only or rows[name].needs_action)
        ]

    def counts(self) -> dict[Verdict, int]:
        """Hosts per latest verdict (hosts without one yet are not counted); kept as rows change."""
        return dict(self._counts)

    def reports(self) -> tuple[HostReport, ...]:
        """The latest report of every host that has one, in inventory order."""
        return tuple(row.report for row in self.rows.values() if row.report is not None)
