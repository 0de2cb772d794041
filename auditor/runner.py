"""SSH fan-out: run the probe on many hosts at once and report each host's progress.

One connection per host, at most ``forks`` at a time, each step under its own
timeout. Host keys are always checked against a known_hosts object loaded once
(a path would be re-read per connection: research/perf-anchors.md). Whatever
happens on one host becomes that host's ``ProbeOutcome``; nothing a host does can
stop the others or escape as an exception.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from auditor.inventory import Host
from auditor.outcome import HostError, HostState, ProbeOutcome, Step, Timing
from auditor.probe import probe_source, remote_command

log = logging.getLogger(__name__)

MAX_OUTPUT_BYTES = 1024 * 1024
MAX_STDERR_BYTES = 64 * 1024
DEFAULT_FORKS = 64
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_PROBE_TIMEOUT = 60.0
KNOWN_HOSTS_FILES = (
    "~/.ssh/known_hosts",
    "~/.ssh/known_hosts2",
    "/etc/ssh/ssh_known_hosts",
    "/etc/ssh/ssh_known_hosts2",
)


@dataclass(frozen=True)
class HostEvent:
    """A host changed state; ``outcome`` is set once it is DONE or FAILED."""

    host: Host
    state: HostState
    outcome: ProbeOutcome | None = None


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach hosts. ``known_hosts`` is an ``asyncssh.SSHKnownHosts``, never None.

    ``client_keys``/``agent_path``/``config`` use asyncssh's conventions: ``()`` means
    "OpenSSH's defaults" (the agent, ``~/.ssh/id_*``, ``~/.ssh/config``).
    """

    known_hosts: Any
    known_hosts_files: tuple[str, ...] = ()
    client_keys: Any = ()
    agent_path: Any = ()
    config: Any = ()
    username: str | None = None
    forks: int = DEFAULT_FORKS
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    max_output: int = MAX_OUTPUT_BYTES
    extra: dict[str, Any] = field(default_factory=dict)


def load_known_hosts(paths: Sequence[str] = KNOWN_HOSTS_FILES) -> tuple[Any, tuple[str, ...]]:
    """The user's and the system's known_hosts, parsed once; missing files are skipped.

    With no file at all every host is unknown (and reported so): strict, like OpenSSH.
    """
    found = tuple(p for p in (os.path.expanduser(p) for p in paths) if os.path.isfile(p))
    text = "\n".join(Path(p).read_text(errors="replace") for p in found)
    return asyncssh.import_known_hosts(text), found


async def run_probes(
    hosts: Sequence[Host], options: ConnectOptions, request: str | Callable[[Host], str]
) -> AsyncIterator[HostEvent]:
    """Probe every host; yield a QUEUED event for each, then their progress as it happens.

    ``request`` is the probe request (``auditor.probe.encode_request``): the same for
    every host, or computed per host (a policy may ask hosts for different engines).
    """
    queue: asyncio.Queue[HostEvent] = asyncio.Queue()
    slots = asyncio.Semaphore(max(1, options.forks))
    source = probe_source()

    async def one(host: Host) -> None:
        async with slots:
            try:
                command = remote_command(request(host) if callable(request) else request)
                outcome = await probe_host(
                    host, options, command, source, lambda s: queue.put_nowait(HostEvent(host, s))
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


async def probe_host(
    host: Host,
    options: ConnectOptions,
    command: str,
    source: bytes,
    emit: Callable[[HostState], None] = lambda state: None,
) -> ProbeOutcome:
    """Connect, run the probe with ``source`` on stdin, and read its capped output."""
    emit(HostState.CONNECTING)
    started = time.monotonic()
    try:
        conn = await asyncio.wait_for(_connect(host, options), options.connect_timeout + 1.0)
    except asyncio.TimeoutError:
        return _failed(Step.CONNECT, f"timed out after {options.connect_timeout:g}s", started, timed_out=True)
    except asyncssh.HostKeyNotVerifiable as exc:
        return _failed(Step.HOST_KEY, _host_key_message(host, options, exc), started)
    except asyncssh.PermissionDenied:
        return _failed(Step.AUTH, "permission denied: no offered key was accepted", started)
    except asyncssh.DisconnectError as exc:
        return _failed(Step.CONNECT, f"disconnected: {exc.reason}", started)
    except ConnectionRefusedError:
        return _failed(Step.CONNECT, "connection refused", started)
    except OSError as exc:
        return _failed(Step.CONNECT, exc.strerror or str(exc) or type(exc).__name__, started)
    connect_s = time.monotonic() - started
    emit(HostState.PROBING)
    probe_started = time.monotonic()
    try:
        async with conn:
            stdout, stderr, status, overflow = await asyncio.wait_for(
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
            error=HostError(Step.PROBE, f"probe output exceeded {options.max_output} bytes; output discarded"),
            timing=timing,
        )
    return ProbeOutcome(stdout=stdout, stderr=stderr, exit_status=status, timing=timing)


async def _connect(host: Host, options: ConnectOptions) -> asyncssh.SSHClientConnection:
    kwargs: dict[str, Any] = {
        "known_hosts": options.known_hosts,
        "connect_timeout": options.connect_timeout,
        "client_keys": [host.key_file] if host.key_file else options.client_keys,
        "agent_path": options.agent_path,
        "config": options.config,
        **options.extra,
    }
    if host.port is not None:
        kwargs["port"] = host.port
    username = host.user or options.username
    if username:
        kwargs["username"] = username
    return await asyncssh.connect(host.address, **kwargs)


async def _exec(
    conn: asyncssh.SSHClientConnection, command: str, source: bytes, limit: int
) -> tuple[bytes, bytes, int | None, bool]:
    process = await conn.create_process(command, encoding=None)
    try:
        process.stdin.write(source)
        process.stdin.write_eof()
    except (BrokenPipeError, asyncssh.Error):
        pass  # the remote side exited before reading (no python3, say): its output tells why
    out_task = asyncio.ensure_future(_read_capped(process.stdout, limit))
    err_task = asyncio.ensure_future(_read_capped(process.stderr, MAX_STDERR_BYTES, drain=True))
    stdout, overflow = await out_task
    if overflow:
        err_task.cancel()
        process.close()
        return stdout, b"", None, True
    stderr, _ = await err_task
    await process.wait_closed()
    return stdout, stderr, process.exit_status, False


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


def _failed(step: Step, message: str, started: float, timed_out: bool = False) -> ProbeOutcome:
    return ProbeOutcome(
        error=HostError(step, message, timed_out=timed_out),
        timing=Timing(connect_s=round(time.monotonic() - started, 4)),
    )


def _host_key_message(host: Host, options: ConnectOptions, exc: Exception) -> str:
    """Unknown and changed keys differ: a changed key may be an attack and says so loudly."""
    port = host.port or 22
    try:
        trusted = options.known_hosts.match(host.address, host.address, port)[0]
    except Exception:  # matching is best effort; the refusal itself already happened
        trusted = ()
    if trusted:
        return (
            "HOST KEY CHANGED: the key offered does not match known_hosts. Someone could be "
            "intercepting the connection, or the host was reinstalled; verify before trusting it"
        )
    return "host key unknown: not in known_hosts (add it after verifying its fingerprint)"
