"""Connection timeouts and retries, against real servers on loopback.

A TCP listener that never speaks SSH (connect timeout), an asyncssh server whose
authentication stalls (auth timeout), and a TCP relay that resets the first
connection before passing the next ones to a real SSH server (a transient
failure worth a retry, like sshd's MaxStartups drop).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncssh
import pytest

from auditor.inventory import Host
from auditor.inventory.hostnames import parse_hop
from auditor.transport.connector import ConnectFailed
from auditor.transport.hostkeys import HostKeyTrust
from auditor.transport.options import SshOptions
from auditor.transport.outcome import AuditStep
from auditor.transport.runner import probe_host


class _SlowAuthServer(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        await asyncio.sleep(30)
        return False


@dataclass
class _Served:
    server: Any
    port: int
    host_key: asyncssh.SSHKey
    client_key: asyncssh.SSHKey

    def trust(self, port: int | None = None) -> HostKeyTrust:
        """known_hosts pinning this server's key at ``port`` (its own by default)."""
        return HostKeyTrust.from_text(f"[127.0.0.1]:{port or self.port} {self.host_key.export_public_key().decode()}")


async def _server(server_factory: type[asyncssh.SSHServer] = asyncssh.SSHServer, authorize: bool = True) -> _Served:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        server_factory,
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(client_key.export_public_key().decode())
        if authorize
        else None,
        process_factory=lambda process: process.exit(0),
    )
    return _Served(server, server.sockets[0].getsockname()[1], host_key, client_key)


def _options(trust: HostKeyTrust, client_key: object = None, **settings: object) -> SshOptions:
    return SshOptions(
        host_keys=trust,
        client_keys=[client_key] if client_key is not None else None,
        agent_path=None,
        username="auditor",
        **settings,  # type: ignore[arg-type]
    )


async def test_a_server_that_never_speaks_ssh_times_out_at_connect() -> None:
    """TCP connects but no SSH banner comes: the connect timeout fires and is named."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the TCP handshake; nobody ever answers
        port = listener.getsockname()[1]
        options = _options(HostKeyTrust.from_text(""), connect_timeout=0.5, retries=0)
        outcome = await probe_host(Host("mute", "127.0.0.1", port), options, "true", b"")
    assert outcome.error is not None
    assert (outcome.error.step, outcome.error.message, outcome.error.timed_out) == (
        AuditStep.CONNECT,
        "timed out after 0.5s",
        True,
    )


async def test_stalled_authentication_times_out_at_auth() -> None:
    """Key exchange completes but the server never answers the key offered: the auth timeout fires."""
    served = await _server(_SlowAuthServer, authorize=False)  # every key goes to validate_public_key
    try:
        options = _options(served.trust(), served.client_key, connect_timeout=5, auth_timeout=0.5)
        outcome = await probe_host(Host("slow-auth", "127.0.0.1", served.port), options, "true", b"")
    finally:
        served.server.close()
    assert outcome.error is not None
    assert (outcome.error.step, outcome.error.message, outcome.error.timed_out) == (
        AuditStep.AUTH,
        "timed out after 0.5s",
        True,
    )


@contextlib.asynccontextmanager
async def _resetting_relay(target_port: int, resets: int) -> AsyncIterator[tuple[int, list[int]]]:
    """A TCP relay to ``target_port`` that resets its first ``resets`` connections."""
    seen = [0]

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen[0] += 1
        if seen[0] <= resets:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.transport.abort()  # RST, as a server shedding load does
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    relay = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield relay.sockets[0].getsockname()[1], seen
    finally:
        relay.close()


@pytest.mark.parametrize(("retries", "succeeds"), [(2, True), (0, False)])
async def test_reset_before_authentication_is_retried(retries: int, succeeds: bool) -> None:
    """A connection reset during the handshake is retried (bounded); without retries it fails at connect."""
    served = await _server()
    try:
        async with _resetting_relay(served.port, resets=1) as (relay_port, seen):
            options = _options(served.trust(relay_port), served.client_key, retries=retries)
            outcome = await probe_host(Host("flaky", "127.0.0.1", relay_port), options, "true", b"")
            attempts = seen[0]
    finally:
        served.server.close()
    if succeeds:
        assert outcome.error is None and outcome.exit_status == 0
        assert attempts == 2
    else:
        assert outcome.error is not None and outcome.error.step is AuditStep.CONNECT
        assert "reset" in outcome.error.message or "lost" in outcome.error.message


@pytest.mark.parametrize(
    ("hop", "parsed"),
    [
        ("bastion", (None, "bastion", None)),
        ("admin@bastion:2022", ("admin", "bastion", 2022)),
        ("ssh://admin@bastion:2022", ("admin", "bastion", 2022)),
        ("[2001:db8::1]:22", (None, "2001:db8::1", 22)),
        ("a@b@host", ("a@b", "host", None)),
    ],
)
def test_jump_host_specs_parse_like_ssh(hop: str, parsed: tuple[str | None, str, int | None]) -> None:
    """ProxyJump hops: [user@]host[:port], ssh:// URLs and bracketed IPv6."""
    assert parse_hop(hop) == parsed


def test_connect_failed_carries_the_host_error() -> None:
    """ConnectFailed's message is its HostError's message (what logs show)."""
    from auditor.transport.outcome import HostError

    error = HostError(AuditStep.CONNECT, "connection refused")
    assert str(ConnectFailed(error)) == "connection refused" and ConnectFailed(error).error is error
