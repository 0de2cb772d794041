"""SSH fan-out: run a program on many hosts at once and report each host's progress.

One connection per host (``auditor.transport.connector``: OpenSSH semantics, pacing,
timeouts, retries, shared jump hosts), at most ``forks`` hosts at a time, one
session on it running the ``Payload``'s command with its bytes on stdin, its output
capped. The payload is the caller's (the probe, assembled by ``auditor.probe``); the
runner never looks inside it. Whatever happens on one host becomes that host's
``ProbeOutcome``; nothing a host does can stop the others or escape as an exception.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncssh

from auditor.inventory import Host
from auditor.records import record
from auditor.transport.connector import ConnectFailed, Connector
from auditor.transport.hostkeys import OfferedKey
from auditor.transport.options import SshOptions
from auditor.transport.outcome import AuditStep, HostError, HostState, ProbeOutcome, Timing

log = logging.getLogger(__name__)

MAX_STDERR_BYTES = 64 * 1024


@record
class Payload:
    """What to run on a host: the remote ``command`` line, and the bytes it reads on stdin."""

    command: str
    stdin: bytes


@record
class HostEvent:
    """A host changed state; ``outcome`` is set once it is DONE or FAILED."""

    host: Host
    state: HostState
    outcome: ProbeOutcome | None = None


async def run_probes(
    hosts: Sequence[Host],
    options: SshOptions,
    payload: Payload | Callable[[Host], Payload],
) -> AsyncIterator[HostEvent]:
    """Run the payload on every host; yield a QUEUED event for each, then their progress as it happens.

    ``payload`` is the same for every host, or computed per host (a policy may ask hosts
    for different engines; reference engines travel in the program itself).
    """
    queue: asyncio.Queue[HostEvent] = asyncio.Queue()
    slots = asyncio.Semaphore(max(1, options.forks))
    connector = Connector(options)

    async def one(host: Host) -> None:
        async with slots:
            try:
                sent = payload(host) if callable(payload) else payload
                outcome = await probe_host(
                    host,
                    options,
                    sent.command,
                    sent.stdin,
                    lambda s: queue.put_nowait(HostEvent(host, s)),
                    connector,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must cost one host, not the sweep
                log.exception("internal error while probing %s", host.name)
                outcome = ProbeOutcome(error=HostError(AuditStep.PROBE, f"internal error: {type(exc).__name__}: {exc}"))
        state = HostState.DONE if outcome.error is None else HostState.FAILED
        queue.put_nowait(HostEvent(host, state, outcome))

    for host in hosts:
        yield HostEvent(host, HostState.QUEUED)
    tasks = [asyncio.create_task(one(host)) for host in hosts]
    remaining = len(tasks)
    try:
        while remaining:
            event = await queue.get()
            if event.outcome is not None:
                remaining -= 1
            yield event
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await connector.close()


async def fetch_offered_keys(hosts: Sequence[Host], options: SshOptions) -> list[OfferedKey]:
    """The key each host offers now, fetched concurrently the way a sweep connects; failures become ``problem``."""
    connector = Connector(options)
    try:
        return list(await asyncio.gather(*(connector.offered_key(host) for host in hosts)))
    finally:
        await connector.close()


async def probe_host(
    host: Host,
    options: SshOptions,
    command: str,
    source: bytes,
    emit: Callable[[HostState], None] = lambda state: None,
    connector: Connector | None = None,
) -> ProbeOutcome:
    """Connect, run the probe with ``source`` on stdin, and read its capped output.

    ``connector`` is the sweep's (shared jump hosts, pacing); without one, the host
    gets its own, closed when the probe is over.
    """
    if connector is not None:
        return await _probe(host, options, command, source, emit, connector)
    connector = Connector(options)
    try:
        return await _probe(host, options, command, source, emit, connector)
    finally:
        await connector.close()


async def _probe(
    host: Host,
    options: SshOptions,
    command: str,
    source: bytes,
    emit: Callable[[HostState], None],
    connector: Connector,
) -> ProbeOutcome:
    emit(HostState.CONNECTING)
    started = time.monotonic()
    try:
        conn = await connector.connect(host)
    except ConnectFailed as exc:
        return ProbeOutcome(error=exc.error, timing=Timing(connect_s=round(time.monotonic() - started, 4)))
    connect_s = time.monotonic() - started
    emit(HostState.PROBING)
    probe_started = time.monotonic()
    capture = _Capture(options.max_output)
    # The probe's clock: when it runs out the connection is aborted, which ends whatever is
    # still awaited below (opening the session, or its output) with an error.
    timer = asyncio.get_running_loop().call_later(options.probe_timeout, capture.expire, conn)
    try:
        async with conn:
            await _exec(conn, command, source, capture)
    except (asyncssh.Error, OSError) as exc:
        if not capture.expired:
            return ProbeOutcome(
                error=HostError(AuditStep.PROBE, f"connection lost while probing: {exc}"),
                timing=Timing(connect_s, time.monotonic() - probe_started),
            )
    finally:
        timer.cancel()
    if capture.expired:
        return ProbeOutcome(
            error=HostError(AuditStep.PROBE, f"timed out after {options.probe_timeout:g}s", timed_out=True),
            timing=Timing(connect_s, time.monotonic() - probe_started),
        )
    timing = Timing(round(connect_s, 4), round(time.monotonic() - probe_started, 4))
    if capture.overflow:
        return ProbeOutcome(
            error=HostError(
                AuditStep.PROBE, f"probe output exceeded {options.max_output} bytes (--max-output); output discarded"
            ),
            timing=timing,
        )
    return ProbeOutcome(
        stdout=b"".join(capture.stdout),
        stderr=b"".join(capture.stderr),
        exit_status=capture.exit_status,
        timing=timing,
        exit_signal=capture.exit_signal,
    )


async def _exec(conn: asyncssh.SSHClientConnection, command: str, source: bytes, capture: _Capture) -> None:
    """Run ``command`` with ``source`` on stdin; ``capture`` holds what it printed once it is over."""
    channel, _ = await conn.create_session(lambda: capture, command, encoding=None)
    try:
        channel.write(source)
        channel.write_eof()
    except (BrokenPipeError, asyncssh.Error):
        pass  # the remote side exited before reading (no python3, say): its output tells why
    await capture.closed


class _Capture(asyncssh.SSHClientSession[bytes]):
    """One probe session's output, kept as it arrives: no reader tasks, no stream buffers.

    stdout is kept up to ``limit`` bytes; one byte more and the session is closed (the
    output is discarded: ``overflow``). stderr is kept up to ``MAX_STDERR_BYTES`` and the
    rest read and dropped, so a chatty probe cannot stall on a full window. ``closed``
    completes when the channel does, with the connection's error if it was lost.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.stdout: list[bytes] = []
        self.stderr: list[bytes] = []
        self.out_size = self.err_size = 0
        self.overflow = self.expired = False
        self.exit_status: int | None = None
        self.exit_signal: str | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._channel: Any = None

    def connection_made(self, chan: Any) -> None:
        self._channel = chan

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if datatype == asyncssh.EXTENDED_DATA_STDERR:
            if self.err_size < MAX_STDERR_BYTES:
                self.stderr.append(data[: MAX_STDERR_BYTES - self.err_size])
            self.err_size += len(data)
            return
        if self.overflow:
            return
        if self.out_size + len(data) > self.limit:
            self.overflow = True
            self._channel.close()
            return
        self.stdout.append(data)
        self.out_size += len(data)

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal = signal

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            if exc is None:
                self.closed.set_result(None)
            else:
                self.closed.set_exception(exc)

    def expire(self, conn: asyncssh.SSHClientConnection) -> None:
        """The probe's time is up: abort its connection, so that what is awaited ends.

        A probe whose output is complete has not timed out: only its connection's close hung.
        """
        self.expired = not self.closed.done()
        conn.abort()
