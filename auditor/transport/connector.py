"""Opening one SSH connection per host the way OpenSSH would, safely at fleet scale.

For each host: resolve ``~/.ssh/config`` once (``auditor.transport.sshconfig``), take a
handshake slot for its address (at most ``max_startups`` unauthenticated
connections per address, below sshd's default ``MaxStartups 10``), reach it
directly, through its ``ProxyCommand``, or through a tunnel over the one shared
connection to its jump host, then key exchange, host-key check
(``auditor.transport.hostkeys``) and authentication. Two clocks: ``connect_timeout`` until
authentication starts, ``auth_timeout`` for authentication; whichever fires is
named. Connections that are reset or lost before authentication (what sshd does
beyond ``MaxStartups``) are retried ``retries`` times with backoff; nothing else is.

Failures raise ``ConnectFailed`` carrying the host's ``HostError``.
"""

from __future__ import annotations

import asyncio
import errno
import random
import socket
from typing import Any

import asyncssh

from auditor.errors import InputError
from auditor.inventory import Host
from auditor.inventory.hostnames import parse_hop
from auditor.text import clean
from auditor.transport.hostkeys import HostKeyTrust, KeyProblem, OfferedKey, describe
from auditor.transport.options import SshOptions
from auditor.transport.outcome import AuditStep, HostError, HostKeyProblem
from auditor.transport.sshconfig import SshTarget, expand_proxy_command, resolve

RETRY_BASE_DELAY = 0.25
MAX_JUMP_HOPS = 8


class ConnectFailed(Exception):
    """A host could not be reached; ``error`` says at which step and why."""

    def __init__(self, error: HostError) -> None:
        super().__init__(error.message)
        self.error = error


class _Transient(Exception):
    """A failure worth another attempt (a reset or lost connection before authentication)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Client(asyncssh.SSHClient):
    """Watches one handshake: when authentication starts, and what was wrong with the host key."""

    def __init__(self, trust: HostKeyTrust, clock: _Clock, label: str) -> None:
        self.trust = trust
        self.clock = clock
        self.label = label
        self.problem: KeyProblem | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.problem = self.trust.consider(host, addr, port, key, self.label)
        return self.problem is None

    def validate_host_ca_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.problem = KeyProblem(
            HostKeyProblem.UNTRUSTED_CA,
            None,
            "host certificate signed by a CA that known_hosts does not trust (@cert-authority)",
        )
        return False

    def begin_auth(self, username: str) -> None:
        self.clock.authentication_began()


class _Clock:
    """A handshake's two clocks on one timer: ``connect_timeout`` until authentication
    begins, then ``auth_timeout``. When one runs out the handshake's task is cancelled and
    ``expired`` names the step and the limit."""

    def __init__(self, connect_timeout: float, auth_timeout: float) -> None:
        self.connect_timeout, self.auth_timeout = connect_timeout, auth_timeout
        self.authenticating = False
        self.expired: tuple[AuditStep, float] | None = None
        self._task: asyncio.Future[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def start(self, task: asyncio.Future[Any]) -> None:
        self._task = task
        self._timer = asyncio.get_running_loop().call_later(self.connect_timeout, self._expire, AuditStep.CONNECT)

    def authentication_began(self) -> None:
        if self.authenticating or self._timer is None or self.expired is not None:
            return
        self.authenticating = True
        self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.auth_timeout, self._expire, AuditStep.AUTH)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _expire(self, step: AuditStep) -> None:
        assert self._task is not None
        if not self._task.done():
            self.expired = (step, self.connect_timeout if step is AuditStep.CONNECT else self.auth_timeout)
            self._task.cancel()


class Connector:
    """Connections for one sweep: paced per address, jump hosts shared, closed together."""

    def __init__(self, options: SshOptions) -> None:
        self.options = options
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._jumps: dict[str, asyncio.Future[asyncssh.SSHClientConnection]] = {}
        self._keys: dict[str, Any] = {}

    async def connect(self, host: Host) -> asyncssh.SSHClientConnection:
        """An authenticated connection to ``host`` (``ConnectFailed`` otherwise)."""
        target, options = await self._route(host)
        username = host.user or self.options.username
        if username:
            options["username"] = username
        keys = self._client_keys(host)
        if keys is not None:
            options["client_keys"] = keys
        return await self._establish(host.address, target.hostname, options, host.name)

    async def offered_key(self, host: Host, timeout: float | None = None) -> OfferedKey:
        """The host key ``host`` offers now, fetched the way ``connect`` goes (ssh config, jump host,
        ProxyCommand, port) with a bare handshake: no host-key check, no login.

        For the review of unknown keys; a failure becomes the key's ``problem``. ``timeout``
        defaults to ``connect_timeout``.
        """
        limit = self.options.connect_timeout if timeout is None else timeout
        try:
            _, options = await self._route(host)
            key = await asyncio.wait_for(
                asyncssh.get_server_host_key(host.address, config=list(self.options.config) or None, **options),
                limit,
            )
        except asyncio.TimeoutError:
            return OfferedKey(host, None, problem=f"no answer within {limit:g}s")
        except ConnectFailed as exc:
            return OfferedKey(host, None, problem=clean(exc.error.message, 200))
        except (OSError, asyncssh.Error) as exc:
            return OfferedKey(host, None, problem=clean(str(exc) or type(exc).__name__, 200))
        if key is None:
            return OfferedKey(host, None, problem="the server offered no host key")
        return OfferedKey(host, describe(key), key.export_public_key("openssh").decode().strip())

    async def _route(self, host: Host) -> tuple[SshTarget, dict[str, Any]]:
        """How to reach ``host``: its effective ssh settings, and the tunnel, proxy command and port to use."""
        target = self.target(host)
        tunnel: Any = ()
        if host.proxy_jump or (target.proxy_jump and not host.proxy_command):
            spec = host.proxy_jump or target.proxy_jump
            assert spec is not None
            tunnel = await self._jump(spec)
        elif host.proxy_command:
            tunnel = None  # an inventory ProxyCommand beats a ProxyJump from ~/.ssh/config, as on ssh's command line
        options: dict[str, Any] = {"tunnel": tunnel}
        if host.proxy_command:
            user = host.user or self.options.username or target.user
            options["proxy_command"] = expand_proxy_command(
                host.proxy_command, target.hostname, host.port or target.port, user, host.address
            )
        if host.port is not None:
            options["port"] = host.port
        return target, options

    def target(self, host: Host) -> SshTarget:
        """Effective settings of ``host``; a broken ssh config fails the host at step connect."""
        known = self.options.ssh_targets.get(host.name)
        if known is not None:
            return known
        try:
            return resolve(host.address, self.options.config, host.user or self.options.username, host.port)
        except InputError as exc:
            raise ConnectFailed(HostError(AuditStep.CONNECT, exc.message)) from None

    async def close(self) -> None:
        """Close the shared jump-host connections."""
        for future in self._jumps.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().close()
            elif not future.done():
                future.cancel()
        for future in self._jumps.values():
            if future.done() and not future.cancelled() and future.exception() is None:
                await future.result().wait_closed()

    def _client_keys(self, host: Host) -> Any:
        """Key files from the inventory or --private-key, loaded once per run (not once per host)."""
        path = host.key_file or self.options.key_file
        if not path:
            return None if self.options.client_keys == () else self.options.client_keys
        if path not in self._keys:
            try:
                self._keys[path] = asyncssh.load_keypairs([path])
            except (OSError, asyncssh.KeyImportError, ValueError) as exc:
                self._keys[path] = HostError(AuditStep.AUTH, f"cannot load key file {path}: {exc}")
        loaded = self._keys[path]
        if isinstance(loaded, HostError):
            raise ConnectFailed(loaded)
        return loaded

    async def _establish(
        self, address: str, pace_key: str, options: dict[str, Any], label: str
    ) -> asyncssh.SSHClientConnection:
        attempts = self.options.retries + 1
        for attempt in range(1, attempts + 1):
            async with self._slot(pace_key):
                try:
                    return await self._handshake(address, options, label)
                except _Transient as exc:
                    if attempt == attempts:
                        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                        raise ConnectFailed(HostError(AuditStep.CONNECT, f"{exc.reason}{tries}")) from None
            await asyncio.sleep(RETRY_BASE_DELAY * 2 ** (attempt - 1) * (0.5 + random.random()))  # noqa: S311 - jitter
        raise AssertionError("unreachable")

    def _slot(self, key: str) -> asyncio.Semaphore:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = asyncio.Semaphore(max(1, self.options.max_startups))
        return slot

    async def _handshake(self, address: str, options: dict[str, Any], label: str) -> asyncssh.SSHClientConnection:
        clock = _Clock(self.options.connect_timeout, self.options.auth_timeout)
        client = _Client(self.options.host_keys, clock, label)
        task = asyncio.ensure_future(
            asyncssh.connect(
                address,
                known_hosts=self.options.host_keys.known_hosts,
                client_factory=lambda: client,
                config=list(self.options.config) or None,
                agent_path=self.options.agent_path,
                connect_timeout=None,
                **options,
                **(self.options.extra or {}),
            )
        )
        clock.start(task)
        try:
            return await task
        except asyncio.CancelledError:
            # Cancelled by this host's clock, or by the sweep being stopped: only the first is a
            # time-out. (Python >= 3.11 also tells a stop that coincides with the clock.)
            current = asyncio.current_task()
            if clock.expired is None or (current is not None and getattr(current, "cancelling", lambda: 0)()):
                raise
            step, limit = clock.expired
            raise ConnectFailed(HostError(step, f"timed out after {limit:g}s", timed_out=True)) from None
        except (ConnectFailed, _Transient):
            raise
        except Exception as exc:
            raise _classify(exc, client, clock.authenticating) from None
        finally:
            clock.stop()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _jump(self, spec: str) -> asyncssh.SSHClientConnection:
        """The shared connection that ends at the last hop of ``spec`` (``a,b``: b reached through a)."""
        future = self._jumps.get(spec)
        if future is None:
            future = self._jumps[spec] = asyncio.ensure_future(self._open_chain(spec))
        try:
            return await asyncio.shield(future)
        except ConnectFailed as exc:
            raise ConnectFailed(
                HostError(exc.error.step, f"jump host {spec}: {exc.error.message}", exc.error.timed_out)
            ) from None

    async def _open_chain(self, spec: str) -> asyncssh.SSHClientConnection:
        hops = [hop.strip() for hop in spec.split(",") if hop.strip()]
        if not hops or len(hops) > MAX_JUMP_HOPS:
            raise ConnectFailed(HostError(AuditStep.CONNECT, f"invalid ProxyJump {spec!r}"))
        conn: asyncssh.SSHClientConnection | None = None
        for hop in hops:
            user, address, port = parse_hop(hop)
            try:
                target = resolve(address, self.options.config, user, port)
            except InputError as exc:
                raise ConnectFailed(HostError(AuditStep.CONNECT, exc.message)) from None
            options: dict[str, Any] = {"tunnel": conn if conn is not None else None}
            if port is not None:
                options["port"] = port
            if user is not None:
                options["username"] = user
            conn = await self._establish(address, target.hostname, options, f"jump host {hop}")
        assert conn is not None
        return conn


def _classify(exc: Exception, client: _Client, authenticating: bool) -> Exception:
    """A connection error as the host's ``HostError`` (``ConnectFailed``) or a ``_Transient`` to retry."""
    step = AuditStep.AUTH if authenticating else AuditStep.CONNECT
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        problem = client.problem
        if problem is not None:
            return ConnectFailed(
                HostError(AuditStep.HOST_KEY, problem.message, host_key=problem.key, host_key_problem=problem.kind)
            )
        reason = str(exc.reason)
        if "revoked" in reason.lower():  # asyncssh's own check of @revoked: its reason is all it tells
            return ConnectFailed(
                HostError(
                    AuditStep.HOST_KEY,
                    f"HOST KEY REVOKED: {reason} (@revoked in known_hosts)",
                    host_key_problem=HostKeyProblem.REVOKED,
                )
            )
        return ConnectFailed(
            HostError(
                AuditStep.HOST_KEY, f"host key not trusted: {reason}", host_key_problem=HostKeyProblem.NOT_TRUSTED
            )
        )
    if isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" in str(exc.reason).lower():
        # asyncssh offers only the key types known_hosts pins for the host; a server without
        # one of them fails key exchange: that is a host-key problem, not a network one.
        return ConnectFailed(
            HostError(
                AuditStep.HOST_KEY,
                "the server offers no host key of a type known_hosts holds for it "
                f"({exc.reason}); compare `ssh-keyscan` output with the known_hosts entry",
                host_key_problem=HostKeyProblem.KEY_TYPE,
            )
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        return ConnectFailed(HostError(AuditStep.AUTH, "permission denied: no offered key was accepted"))
    if isinstance(exc, asyncssh.ConnectionLost) and not authenticating:
        return _Transient(f"connection lost during the handshake: {exc.reason}")
    if isinstance(exc, asyncssh.ChannelOpenError):
        return ConnectFailed(HostError(AuditStep.CONNECT, f"the jump host could not open a tunnel: {exc.reason}"))
    if isinstance(exc, asyncssh.DisconnectError):
        return ConnectFailed(HostError(step, f"disconnected: {exc.reason}"))
    if isinstance(exc, ConnectionRefusedError):
        return ConnectFailed(HostError(AuditStep.CONNECT, "connection refused"))
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        if authenticating:
            return ConnectFailed(HostError(step, f"connection reset during authentication ({exc.strerror or exc})"))
        return _Transient(f"connection reset ({exc.strerror or type(exc).__name__})")
    if isinstance(exc, socket.gaierror):
        if exc.errno == socket.EAI_AGAIN:
            return _Transient(f"name lookup failed temporarily: {exc.strerror}")
        return ConnectFailed(HostError(AuditStep.CONNECT, f"cannot resolve the host name: {exc.strerror}"))
    if isinstance(exc, OSError):
        if exc.errno in (errno.ECONNRESET, errno.EPIPE):
            return _Transient(exc.strerror or str(exc))
        return ConnectFailed(HostError(step, exc.strerror or str(exc) or type(exc).__name__))
    if isinstance(exc, (asyncssh.Error, ValueError)):
        return ConnectFailed(HostError(step, f"{type(exc).__name__}: {exc}"))
    raise exc
