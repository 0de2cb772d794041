"""What the runner keeps of a probe's session, against a real asyncssh server on loopback.

The runner reads a session's output as it arrives (``auditor.transport.runner._Capture``):
stdout whole up to ``max_output``, stderr capped at ``MAX_STDERR_BYTES`` and the rest
drained, the exit status or signal, and the probe's clock, which aborts the connection
when it runs out. Each server here plays one remote program.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncssh

from auditor.inventory import Host
from auditor.transport.hostkeys import HostKeyTrust
from auditor.transport.options import SshOptions
from auditor.transport.outcome import AuditStep, ProbeOutcome
from auditor.transport.runner import MAX_STDERR_BYTES, probe_host


async def _probe(program: Callable[[Any], Any], **settings: Any) -> ProbeOutcome:
    """Serve ``program`` (an asyncssh process handler) and probe it once with ``b"stdin"`` on stdin."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        asyncssh.SSHServer,
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(client_key.export_public_key().decode()),
        process_factory=program,
        encoding=None,
    )
    port = server.sockets[0].getsockname()[1]
    trust = HostKeyTrust.from_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    options = SshOptions(host_keys=trust, client_keys=[client_key], agent_path=None, username="auditor", **settings)
    try:
        return await probe_host(Host("h", "127.0.0.1", port), options, "python3 -", b"stdin")
    finally:
        server.close()
        await server.wait_closed()


async def test_stdout_whole_stderr_capped_and_drained_and_the_exit_status_kept() -> None:
    async def program(process: Any) -> None:
        received = await process.stdin.read()
        process.stdout.write(b"{" + received + b"}")
        for _ in range(4):  # 4 x 40 KB: more than the cap, and more than one window's worth
            process.stderr.write(b"e" * 40_000)
        await process.stdout.drain()
        await process.stderr.drain()
        process.exit(3)

    outcome = await _probe(program)
    assert outcome.error is None
    assert outcome.stdout == b"{stdin}"
    assert outcome.stderr == b"e" * MAX_STDERR_BYTES
    assert outcome.exit_status == 3 and outcome.exit_signal is None


async def test_a_program_killed_by_a_signal_says_which() -> None:
    def program(process: Any) -> None:
        process.stdout.write(b"partial")
        process.exit_with_signal("KILL")

    outcome = await _probe(program)
    assert outcome.error is None
    assert outcome.exit_signal == "KILL"
    assert outcome.stdout == b"partial"


async def test_output_beyond_max_output_is_discarded_and_named() -> None:
    async def program(process: Any) -> None:
        process.stdout.write(b"x" * 5000)
        await asyncio.sleep(30)  # the runner closes the session; it must not wait for this

    outcome = await asyncio.wait_for(_probe(program, max_output=4096), 20)
    assert outcome.error is not None and outcome.error.step is AuditStep.PROBE
    assert outcome.error.message == "probe output exceeded 4096 bytes (--max-output); output discarded"
    assert outcome.stdout == b"" and outcome.stderr == b""


async def test_a_program_that_never_ends_times_out_and_its_connection_is_aborted() -> None:
    async def program(process: Any) -> None:
        process.stdout.write(b"{")
        await asyncio.sleep(60)

    outcome = await asyncio.wait_for(_probe(program, probe_timeout=0.5), 20)
    assert outcome.error is not None
    assert (outcome.error.step, outcome.error.message, outcome.error.timed_out) == (
        AuditStep.PROBE,
        "timed out after 0.5s",
        True,
    )
    assert outcome.timing is not None and 0.4 < outcome.timing.probe_s < 10


async def test_a_connection_dropped_mid_output_is_named() -> None:
    async def program(process: Any) -> None:
        process.stdout.write(b'{"half": ')
        await process.stdout.drain()
        await asyncio.sleep(0.2)
        process.channel.get_connection().abort()

    outcome = await asyncio.wait_for(_probe(program), 20)
    assert outcome.error is not None and outcome.error.step is AuditStep.PROBE
    assert outcome.error.message.startswith("connection lost while probing")
    assert not outcome.error.timed_out
