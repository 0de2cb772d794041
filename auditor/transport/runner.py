"""SSH fan-out: run the probe on many hosts at once and report each host's progress.

One connection per host (``auditor.transport.connector``: OpenSSH semantics, pacing,
timeouts, retries, shared jump hosts), at most ``forks`` hosts at a time, one
``python3 -`` session on it with the probe on stdin, its output capped. Whatever
happens on one host becomes that host's ``ProbeOutcome``; nothing a host does can
stop the others or escape as an exception.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncssh

from auditor.inventory import Host
from auditor.probe import ProbeCall, remote_command
from auditor.transport.connector import ConnectFailed, Connector, ConnectSettings
from auditor.transport.hostkeys import HostKeyTrust
from auditor.transport.outcome import HostError, HostState, ProbeOutcome, Step, Timing
from auditor.transport.sshconfig import SshTarget

log = logging.getLogger(__name__)

MAX_OUTPUT_BYTES = 1024 * 1024
MAX_STDERR_BYTES = 64 * 1024
DEFAULT_FORKS = 64
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_AUTH_TIMEOUT = 10.0
DEFAULT_PROBE_TIMEOUT = 60.0
DEFAULT_MAX_STARTUPS = 8  # sshd drops unauthenticated connections beyond MaxStartups 10:30:100
DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class HostEvent:
    """A host changed state; ``outcome`` is set once it is DONE or FAILED."""

    host: Host
    state: HostState
    outcome: ProbeOutcome | None = None


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach hosts.

    ``host_keys`` is the run's known_hosts, parsed once. ``config`` lists the ssh
    config files to apply (empty: none). ``key_file`` is ``--private-key``, used
    for hosts whose inventory names no key; ``client_keys``/``agent_path`` follow
    asyncssh (``()``: the agent and ``~/.ssh/id_*``). ``max_startups`` bounds the
    unauthenticated connections to one address; ``retries`` the extra attempts
    after a connection reset before authentication. ``retry_file``, when set,
    receives the names of the hosts that could not be audited. ``ssh_targets``
    holds hosts' ``~/.ssh/config`` settings already resolved (by inventory name).
    """

    host_keys: HostKeyTrust
    config: tuple[str, ...] = ()
    key_file: str | None = None
    client_keys: Any = ()
    agent_path: Any = ()
    username: str | None = None
    forks: int = DEFAULT_FORKS
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    auth_timeout: float = DEFAULT_AUTH_TIMEOUT
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    max_startups: int = DEFAULT_MAX_STARTUPS
    retries: int = DEFAULT_RETRIES
    max_output: int = MAX_OUTPUT_BYTES
    retry_file: str | None = None
    ssh_targets: Mapping[str, SshTarget] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def connector(self) -> Connector:
        """A connector for one sweep (pacing and jump-host connections are per sweep)."""
        return Connector(
            ConnectSettings(
                trust=self.host_keys,
                config=self.config,
                key_file=self.key_file,
                client_keys=self.client_keys,
                agent_path=self.agent_path,
                username=self.username,
                connect_timeout=self.connect_timeout,
                auth_timeout=self.auth_timeout,
                max_startups=self.max_startups,
                retries=self.retries,
                targets=self.ssh_targets,
                extra=self.extra,
            )
        )


async def run_probes(
    hosts: Sequence[Host],
    options: ConnectOptions,
    request: str | ProbeCall | Callable[[Host], str | ProbeCall],
) -> AsyncIterator[HostEvent]:
    """Probe every host; yield a QUEUED event for each, then their progress as it happens.

    ``request`` is the probe request (``auditor.probe.encode_request``): the same for
    every host, or computed per host (a policy may ask hosts for different engines).
    A ``ProbeCall`` also names the program to send (reference engines travel in it).
    """
    queue: asyncio.Queue[HostEvent] = asyncio.Queue()
    slots = asyncio.Semaphore(max(1, options.forks))
    connector = options.connector()

    async def one(host: Host) -> None:
        async with slots:
            try:
                call = request(host) if callable(request) else request
                call = call if isinstance(call, ProbeCall) else ProbeCall(call)
                outcome = await probe_host(
                    host,
                    options,
                    remote_command(call.request),
                    call.source,
                    lambda s: queue.put_nowait(HostEvent(host, s)),
                    connector,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug here must cost one host, not the sweep
                log.exception("internal error while probing %s", host.name)
                outcome = ProbeOutcome(error=HostError(Step.PROBE, f"internal error: {type(exc).__name__}: {exc}"))
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


async def probe_host(
    host: Host,
    options: ConnectOptions,
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
    connector = options.connector()
    try:
        return await _probe(host, options, command, source, emit, connector)
    finally:
        await connector.close()


async def _probe(
    host: Host,
    options: ConnectOptions,
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
            error=HostError(Step.PROBE, f"timed out after {options.probe_timeout:g}s", timed_out=True),
            timing=Timing(connect_s, time.monotonic() - probe_started),
        )
    except (asyncssh.Error, OSError) as exc:
        return ProbeOutcome(
            error=HostError(Step.PROBE, f"connection lost while probing: {exc}"),
            timing=Timing(connect_s, time.monotonic() - probe_started),
        )
    timing = Timing(round(connect_s, 4), round(time.monotonic() - probe_started, 4))
    if overflow:
        return ProbeOutcome(
            stderr=stderr,
            error=HostError(
                Step.PROBE, f"probe output exceeded {options.max_output} bytes (--max-output); output discarded"
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
