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
from dataclasses import dataclass
from typing import Any

import asyncssh

from auditor.inventory import Host
from auditor.transport.connector import ConnectFailed, Connector
from auditor.transport.hostkeys import OfferedKey
from auditor.transport.options import SshOptions
from auditor.transport.outcome import AuditStep, HostError, HostState, ProbeOutcome, Timing

log = logging.getLogger(__name__)

MAX_STDERR_BYTES = 64 * 1024


@dataclass(frozen=True)
class Payload:
    """What to run on a host: the remote ``command`` line, and the bytes it reads on stdin."""

    command: str
    stdin: bytes


@dataclass(frozen=True)
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
    try:
        async with conn:
            stdout, stderr, status, overflow, killed_by = await asyncio.wait_for(
                _exec(conn, command, source, options.max_output), options.probe_timeout
            )
    except asyncio.TimeoutError:
        return ProbeOutcome(
            error=HostError(AuditStep.PROBE, f"timed out after {options.probe_timeout:g}s", timed_out=True),
            timing=Timing(connect_s, time.monotonic() - probe_started),
        )
    except (asyncssh.Error, OSError) as exc:
        return ProbeOutcome(
            error=HostError(AuditStep.PROBE, f"connection lost while probing: {exc}"),
            timing=Timing(connect_s, time.monotonic() - probe_started),
        )
    timing = Timing(round(connect_s, 4), round(time.monotonic() - probe_started, 4))
    if overflow:
        return ProbeOutcome(
            stderr=stderr,
            error=HostError(
                AuditStep.PROBE, f"probe output exceeded {options.max_output} bytes (--max-output); output discarded"
            ),
            timing=timing,
        )
    return ProbeOutcome(stdout=stdout, stderr=stderr, exit_status=status, timing=timing, exit_signal=killed_by)


async def _exec(
    conn: asyncssh.SSHClientConnection, command: str, source: bytes, limit: int
) -> tuple[bytes, bytes, int | None, bool, str | None]:
    """The probe's stdout, stderr, exit status, whether stdout overflowed, and the signal that killed it."""
    process = await conn.create_process(command, encoding=None)
    try:
        process.stdin.write(source)
        process.stdin.write_eof()
    except (BrokenPipeError, asyncssh.Error):
        pass  # the remote side exited before reading (no python3, say): its output tells why
    out_task = asyncio.ensure_future(_read_capped(process.stdout, limit))
    err_task = asyncio.ensure_future(_read_capped(process.stderr, MAX_STDERR_BYTES, drain=True))
    try:
        stdout, overflow = await out_task
        if overflow:
            process.close()
            return stdout, b"", None, True, None
        stderr, _ = await err_task
        await process.wait_closed()
        killed_by = process.exit_signal[0] if process.exit_signal else None
        return stdout, stderr, process.exit_status, False, killed_by
    finally:
        # The connection may drop mid-output (or the timeout cancel us): both readers are
        # collected here, so none is left holding an exception nobody retrieves.
        for task in (out_task, err_task):
            if not task.done():
                task.cancel()
        await asyncio.gather(out_task, err_task, return_exceptions=True)


async def _read_capped(stream: Any, limit: int, drain: bool = False) -> tuple[bytes, bool]:
    """Read to EOF keeping at most ``limit`` bytes; ``drain`` keeps reading past it, discarding."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return b"".join(chunks), False
        if size < limit:
            chunks.append(chunk[: limit - size])
        size += len(chunk)
        if size > limit and not drain:
            return b"".join(chunks), True
