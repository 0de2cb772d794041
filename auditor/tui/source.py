"""Where the interactive audit gets its events: the one seam between the TUI and SSH.

The app opens an ``AuditSource`` once and keeps it open for its whole life, so a
simulated fleet stays up and ``r``/``R``/``--watch`` can sweep again. A source is a
zero-argument callable returning an async context manager that yields a ``Session``:

* ``live_source`` audits over SSH (``auditor.audit``); what ``auditor tui`` uses;
* ``ReplaySource`` replays fixed ``HostReport``s as events, optionally paced; the
  snapshot tests (deterministic screens), the benchmark (2,000 hosts streaming in at
  a chosen rate) and the Pilot tests that are about the UI rather than SSH use it.

Nothing here evaluates anything: a session yields what ``auditor.audit.audit`` (or a
recording of it) produced.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

from auditor.audit.events import AuditEvent
from auditor.audit.run import audit
from auditor.audit.targets import Targets
from auditor.inventory import Host
from auditor.policy.model import Policy
from auditor.records import record
from auditor.report.assess import apply_consistency
from auditor.report.model import HostReport
from auditor.transport.hostkeys import OfferedKey, write_accepted
from auditor.transport.outcome import HostState
from auditor.transport.runner import fetch_offered_keys
from auditor.tui.host_keys import accepted_keys_file


class Session(Protocol):
    """An open audit target: its hosts, and a way to sweep any of them."""

    @property
    def name(self) -> str:
        """The fleet or inventory, as reports name it."""

    @property
    def hosts(self) -> tuple[Host, ...]:
        """Every target host, in inventory order."""

    @property
    def notes(self) -> tuple[str, ...]:
        """Run-level notices every report must carry (from the policy)."""

    def sweep(self, hosts: Sequence[Host]) -> AsyncIterator[AuditEvent]:
        """Audit ``hosts``: a QUEUED event for each, then their progress, ending DONE or FAILED."""
        ...

    def finish(self, reports: Sequence[HostReport]) -> tuple[HostReport, ...]:
        """The fleet's latest reports with the checks that need every host (group consistency) added.

        Called after each sweep with each host's report as the sweep assessed it, so a
        one-host re-probe is still compared against the rest of its group.
        """
        ...

    async def offered_keys(self, hosts: Sequence[Host]) -> list[OfferedKey]:
        """The host key each of ``hosts`` offers now (for the review of unknown keys)."""
        ...

    def trust(self, keys: Sequence[OfferedKey]) -> str:
        """Trust exactly these keys from now on (this session and later ones); returns where they were kept."""
        ...


AuditSource = Callable[[], contextlib.AbstractAsyncContextManager[Session]]


@record
class LiveSession:
    """A real audit over SSH (or over a simulated fleet's real SSH)."""

    targets: Targets
    policy: Policy
    keys_file: Path = dataclasses.field(default_factory=accepted_keys_file)
    reviewed: list[str] = dataclasses.field(default_factory=list)
    """Hosts whose key was accepted in this session's review (the report's notes say so)."""

    @property
    def name(self) -> str:
        return self.targets.name

    @property
    def hosts(self) -> tuple[Host, ...]:
        return self.targets.hosts

    @property
    def notes(self) -> tuple[str, ...]:
        notes = [*self.policy.notes, *self.targets.options.host_keys.notes()]
        if self.reviewed:
            notes.append(
                f"host keys accepted after review in the interactive audit ({len(self.reviewed)}): "
                f"{', '.join(self.reviewed)}; kept in {self.targets.options.host_keys.accept_new_file or self.keys_file}"
            )
        return tuple(notes)

    def sweep(self, hosts: Sequence[Host]) -> AsyncIterator[AuditEvent]:
        return audit(hosts, self.policy, self.targets.options)

    def finish(self, reports: Sequence[HostReport]) -> tuple[HostReport, ...]:
        return apply_consistency(self.policy, reports)

    async def offered_keys(self, hosts: Sequence[Host]) -> list[OfferedKey]:
        return await fetch_offered_keys(hosts, self.targets.options)

    def trust(self, keys: Sequence[OfferedKey]) -> str:
        trust = self.targets.options.host_keys
        path = trust.accept_new_file or self.keys_file
        lines = write_accepted(keys, path)
        # The run's known hosts are one object every connection checks against: the re-probe trusts these now.
        trust.known_hosts.load(lines)
        self.reviewed.extend(key.name for key in keys)
        return str(path)


def live_source(
    open_targets: Callable[[], contextlib.AbstractAsyncContextManager[Targets]], policy: Policy
) -> AuditSource:
    """A source that opens ``open_targets`` (validating files, starting a simulated fleet) and audits."""

    @contextlib.asynccontextmanager
    async def source() -> AsyncIterator[Session]:
        async with open_targets() as targets:
            yield LiveSession(targets, policy)

    return source


def host_of(report: HostReport) -> Host:
    """The inventory host a report is about (what a replay needs to emit events)."""
    return report.host


class ReplaySource:
    """Replays fixed reports as a sweep would stream them.

    ``rate`` is hosts finished per second (None: all at once, which a deterministic
    screen wants); every host goes QUEUED, then CONNECTING, PROBING and DONE/FAILED
    like a real sweep. ``name`` labels the fleet. The source can be opened any number
    of times; each sweep replays the same reports.
    """

    def __init__(
        self,
        reports: Iterable[HostReport],
        name: str = "replay",
        rate: float | None = None,
        host_keys: dict[str, str] | None = None,
    ) -> None:
        self.reports = {r.name: r for r in reports}
        self.name = name
        self.rate = rate
        self.host_keys = host_keys or {}
        """Fingerprints the replayed hosts "offer" to the host-key review, by host name."""

    def __call__(self) -> contextlib.AbstractAsyncContextManager[Session]:
        return self._open()

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[Session]:
        yield ReplaySession(
            self.name, tuple(host_of(r) for r in self.reports.values()), self.reports, self.rate, self.host_keys
        )


@record
class ReplaySession:
    """One open replay; see ``ReplaySource``."""

    name: str
    hosts: tuple[Host, ...]
    reports: dict[str, HostReport]
    rate: float | None
    host_keys: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def finish(self, reports: Sequence[HostReport]) -> tuple[HostReport, ...]:
        """Recorded reports already carry their fleet-level findings."""
        return tuple(reports)

    async def offered_keys(self, hosts: Sequence[Host]) -> list[OfferedKey]:
        known = self.host_keys
        return [
            OfferedKey(h, known[h.name], "(recorded)")
            if h.name in known
            else OfferedKey(h, None, problem="not recorded")
            for h in hosts
        ]

    def trust(self, keys: Sequence[OfferedKey]) -> str:
        return "(a replay: nothing written)"

    async def sweep(self, hosts: Sequence[Host]) -> AsyncIterator[AuditEvent]:
        for host in hosts:
            yield AuditEvent(host, HostState.QUEUED)
        interval = 1.0 / self.rate if self.rate else 0.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        for index, host in enumerate(hosts):
            if interval:
                # Pace against the start, not the previous event: a slow consumer
                # then gets bursts, as it would from a real sweep, not a slower sweep.
                delay = started + index * interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            yield AuditEvent(host, HostState.CONNECTING)
            yield AuditEvent(host, HostState.PROBING)
            report = self.reports[host.name]
            state = HostState.FAILED if report.error is not None else HostState.DONE
            yield AuditEvent(host, state, report)
