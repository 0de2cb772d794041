"""SSH like OpenSSH, against real OpenSSH servers (sshd on 127.0.0.1, started per module).

Host keys, authentication, ~/.ssh/config, jump hosts, the agent and accept-new,
each checked end to end through ``open_targets`` and ``collect``: the same path
``auditor report -i`` takes. HOME is a temporary directory in every test.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.audit.run import collect
from auditor.audit.targets import SshSettings, open_targets
from auditor.findings import Verdict
from auditor.policy.model import EMPTY_POLICY
from auditor.report.model import Report
from auditor.transport.connector import Connector
from auditor.transport.hostkeys import OfferedKey
from auditor.transport.outcome import AuditStep, HostKeyProblem
from auditor.transport.runner import fetch_offered_keys
from tests.support.sshd import (
    LOGIN,
    SSH_ADD,
    SSH_AGENT,
    SSH_KEYGEN,
    Sshd,
    SshdKit,
    fingerprint,
    free_port,
    keygen,
    sshd_kit,
)

__all__ = ["sshd_kit"]  # the fixture, imported for pytest

pytestmark = pytest.mark.sshd


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME (no ~/.ssh/config, no known_hosts) and no agent from the environment."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


@pytest.fixture(scope="module")
def server(sshd_kit: SshdKit) -> Sshd:
    """The module's main sshd."""
    return sshd_kit.servers.start("main")


def inventory(home: Path, text: str) -> str:
    path = home / "inventory.ini"
    path.write_text(text)
    return str(path)


def audit(inv: str | list[str], settings: SshSettings | None = None, limit: str | None = None) -> Report:
    """Audit an inventory over real SSH with built-in checks only."""

    async def go() -> Report:
        async with open_targets(
            inventory=inv, limit=limit, settings=settings or SshSettings(probe_timeout=60)
        ) as targets:
            return await collect(targets, EMPTY_POLICY)

    return asyncio.run(go())


def known_hosts(home: Path, *lines: str) -> str:
    path = home / ".ssh" / "known_hosts"
    path.write_text("".join(lines))
    return str(path)


def host_line(server: Sshd, key: Path, name: str = "gpu-1", extra: str = "") -> str:
    return f"{name} ansible_host={server.address} ansible_port={server.port} ansible_user={LOGIN} ansible_ssh_private_key_file={key} {extra}\n"


def test_audit_over_real_sshd_runs_the_probe(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """A host in known_hosts with an authorized key is audited: the real probe ran there."""
    known_hosts(home, server.known_hosts_line())
    report = audit(inventory(home, host_line(server, sshd_kit.user_key)))
    (host,) = report.hosts
    assert host.error is None and host.facts is not None, host.reason
    assert host.facts.raw["host"]["hostname"] == socket.gethostname()
    assert host.timing.connect_s is not None and host.timing.probe_s is not None
    assert report.notes == ()


def test_wrong_user_key_fails_at_auth(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """A key the server does not accept: unreachable, step auth."""
    known_hosts(home, server.known_hosts_line())
    (host,) = audit(inventory(home, host_line(server, sshd_kit.stranger_key))).hosts
    assert host.verdict is Verdict.UNREACHABLE and host.error is not None
    assert host.error.step is AuditStep.AUTH and "permission denied" in host.error.message


def test_unknown_host_key_is_refused_with_its_fingerprint(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """No known_hosts entry: unreachable at step host-key, with the fingerprint ssh-keygen shows; no prompt."""
    known_hosts(home)
    (host,) = audit(inventory(home, host_line(server, sshd_kit.user_key))).hosts
    assert host.verdict is Verdict.UNREACHABLE and host.error is not None and host.error.step is AuditStep.HOST_KEY
    assert host.error.host_key == f"ssh-ed25519 {fingerprint(server.host_key.with_suffix('.pub'))}"
    assert host.error.message.startswith("host key unknown") and host.error.host_key in host.error.message
    assert host.error.host_key_problem is HostKeyProblem.UNKNOWN


def test_changed_host_key_is_a_loud_security_error(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """known_hosts holds another key for the host: HOST KEY CHANGED on the host and on the report."""
    other = keygen(home / "other_host_key")
    known_hosts(home, server.known_hosts_line(other))
    report = audit(inventory(home, host_line(server, sshd_kit.user_key)))
    (host,) = report.hosts
    assert host.error is not None and host.error.step is AuditStep.HOST_KEY
    assert host.error.message.startswith("HOST KEY CHANGED") and "intercepting" in host.error.message
    assert host.error.host_key_problem is HostKeyProblem.CHANGED
    assert host.error.host_key == f"ssh-ed25519 {fingerprint(server.host_key.with_suffix('.pub'))}"
    assert "SECURITY: host keys CHANGED on 1 host: gpu-1 (" in report.notes[-1]


def test_refused_port_fails_at_connect(home: Path, sshd_kit: SshdKit) -> None:
    """Nothing listening: unreachable, step connect, connection refused (no retries for that)."""
    known_hosts(home)
    line = f"down ansible_host=127.0.0.1 ansible_port={free_port()} ansible_ssh_private_key_file={sshd_kit.user_key}\n"
    (host,) = audit(inventory(home, line)).hosts
    assert host.error is not None and (host.error.step, host.error.message) == (AuditStep.CONNECT, "connection refused")


def test_hashed_known_hosts_entries_are_honoured(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """A known_hosts file hashed by `ssh-keygen -H` still vouches for the host."""
    path = known_hosts(home, server.known_hosts_line())
    subprocess.run([str(SSH_KEYGEN), "-q", "-H", "-f", path], check=True, capture_output=True)
    assert Path(path).read_text().startswith("|1|")
    (host,) = audit(inventory(home, host_line(server, sshd_kit.user_key))).hosts
    assert host.error is None, host.reason


def test_global_known_hosts_file_named_by_ssh_config_is_read(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """A key only in the file --known-hosts names (a system-wide file, say) is trusted."""
    global_file = home / "ssh_known_hosts"
    global_file.write_text(server.known_hosts_line())
    settings = SshSettings(known_hosts=(str(home / ".ssh" / "known_hosts"), str(global_file)))
    (host,) = audit(inventory(home, host_line(server, sshd_kit.user_key)), settings).hosts
    assert host.error is None, host.reason


def test_revoked_host_key_is_refused(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """A key marked @revoked is refused even when a plain entry trusts it."""
    known_hosts(home, server.known_hosts_line(), "@revoked " + server.known_hosts_line())
    (host,) = audit(inventory(home, host_line(server, sshd_kit.user_key))).hosts
    assert host.error is not None and host.error.step is AuditStep.HOST_KEY and "REVOKED" in host.error.message
    assert host.error.host_key_problem is HostKeyProblem.REVOKED


def test_host_certificate_signed_by_a_known_ca_is_trusted(home: Path, sshd_kit: SshdKit) -> None:
    """@cert-authority: a host presenting a certificate from a trusted CA needs no key of its own listed."""
    ca = keygen(home / "host_ca")
    key = keygen(sshd_kit.root / "cert_host_key")
    subprocess.run(
        [str(SSH_KEYGEN), "-q", "-s", str(ca), "-I", "cert-host", "-h", "-n", "127.0.0.1", str(key) + ".pub"],
        check=True,
    )
    server = sshd_kit.servers.start("cert", host_key=key, certificate=Path(str(key) + "-cert.pub"))
    ca_public = ca.with_suffix(".pub").read_text().split()
    known_hosts(home, f"@cert-authority [127.0.0.1]:{server.port} {ca_public[0]} {ca_public[1]}\n")
    (host,) = audit(inventory(home, host_line(server, sshd_kit.user_key))).hosts
    assert host.error is None, host.reason


def test_accept_new_trusts_first_seen_keys_keeps_them_and_stamps_the_report(
    home: Path, server: Sshd, sshd_kit: SshdKit
) -> None:
    """--accept-new: an unknown key is accepted, written to its own file, noted; a changed one still is not."""
    known_hosts(home)
    accepted = home / "accepted_known_hosts"
    settings = SshSettings(accept_new=True, accept_new_file=str(accepted))
    inv = inventory(home, host_line(server, sshd_kit.user_key))
    first = audit(inv, settings)
    assert first.hosts[0].error is None, first.hosts[0].reason
    assert accepted.read_text() == server.known_hosts_line().replace(" \n", "\n")
    assert (accepted.stat().st_mode & 0o777) == 0o600
    assert any("host keys accepted on first use" in n and "1 accepted in this run: gpu-1" in n for n in first.notes)
    assert (home / ".ssh" / "known_hosts").read_text() == ""  # the user's file is left alone
    second = audit(inv, settings)
    assert second.hosts[0].error is None and any("none new in this run" in n for n in second.notes)
    accepted.write_text(server.known_hosts_line(keygen(home / "impostor")))
    third = audit(inv, settings)
    assert third.hosts[0].error is not None and third.hosts[0].error.message.startswith("HOST KEY CHANGED")


def test_ssh_config_alias_include_and_match(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """Inventory names resolved through ~/.ssh/config: Host aliases, Include and Match blocks."""
    known_hosts(home, server.known_hosts_line())
    (home / ".ssh" / "conf.d").mkdir()
    (home / ".ssh" / "conf.d" / "gpu.conf").write_text(
        f"Host gpu-alias\n  HostName {server.address}\n  Port {server.port}\n  User {LOGIN}\n"
        f"  IdentityFile {sshd_kit.user_key}\n"
    )
    (home / ".ssh" / "config").write_text(
        "Include conf.d/*.conf\n"
        f"Match originalhost gpu-matched\n  HostName {server.address}\n  Port {server.port}\n"
        f"  IdentityFile {sshd_kit.user_key}\n"
    )
    report = audit(inventory(home, "gpu-alias\ngpu-matched\n"))
    assert {h.name: h.error for h in report.hosts} == {"gpu-alias": None, "gpu-matched": None}


def test_inventory_values_beat_ssh_config(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """ansible_port from the inventory wins over Port in ~/.ssh/config, as on ssh's command line."""
    known_hosts(home, server.known_hosts_line())
    (home / ".ssh" / "config").write_text(f"Host *\n  Port {free_port()}\n  IdentityFile {sshd_kit.user_key}\n")
    (host,) = audit(inventory(home, f"gpu ansible_host={server.address} ansible_port={server.port}\n")).hosts
    assert host.error is None, host.reason


def test_jump_host_carries_every_host_behind_it_on_one_connection(home: Path, sshd_kit: SshdKit) -> None:
    """ProxyJump from the inventory: hosts are reached through the jump sshd, which sees one login."""
    jump = sshd_kit.servers.start("jump")
    target = sshd_kit.servers.start("behind")
    known_hosts(home, jump.known_hosts_line(), target.known_hosts_line())
    (home / ".ssh" / "config").write_text(f"Host *\n  IdentityFile {sshd_kit.user_key}\n  User {LOGIN}\n")
    jump_spec = f"{LOGIN}@{jump.address}:{jump.port}"
    lines = "".join(
        f"gpu-{i} ansible_host={target.address} ansible_port={target.port} "
        f"ansible_ssh_common_args='-o ProxyJump={jump_spec}'\n"
        for i in range(3)
    )
    report = audit(inventory(home, lines))
    assert [h.error for h in report.hosts] == [None, None, None], [h.reason for h in report.hosts]
    log = jump.log_text()
    assert log.count("Accepted publickey") == 1
    assert log.count(f"target {target.address} port {target.port}") == 3  # sshd's direct-tcpip log line


def test_jump_host_from_ssh_config(home: Path, sshd_kit: SshdKit) -> None:
    """ProxyJump written in ~/.ssh/config is followed too, and an unknown jump host key names the jump host."""
    jump = sshd_kit.servers.start("jump2")
    target = sshd_kit.servers.start("behind2")
    (home / ".ssh" / "config").write_text(
        f"Host bastion\n  HostName {jump.address}\n  Port {jump.port}\n"
        f"Host gpu-*\n  HostName {target.address}\n  Port {target.port}\n  ProxyJump bastion\n"
        f"Host *\n  IdentityFile {sshd_kit.user_key}\n  User {LOGIN}\n"
    )
    known_hosts(home, target.known_hosts_line())
    (host,) = audit(inventory(home, "gpu-7\n")).hosts
    assert host.error is not None and host.error.step is AuditStep.HOST_KEY
    assert host.error.message.startswith("jump host bastion: host key unknown")
    known_hosts(home, target.known_hosts_line(), jump.known_hosts_line())
    (host,) = audit(inventory(home, "gpu-7\n")).hosts
    assert host.error is None, host.reason


def test_host_key_review_fetches_keys_the_way_the_sweep_connects(home: Path, sshd_kit: SshdKit) -> None:
    """The key offered for review comes through ~/.ssh/config's alias and ProxyJump, as the sweep's connection did."""
    jump = sshd_kit.servers.start("jump3")
    target = sshd_kit.servers.start("behind3")
    (home / ".ssh" / "config").write_text(
        f"Host bastion\n  HostName {jump.address}\n  Port {jump.port}\n"
        f"Host gpu-*\n  HostName {target.address}\n  Port {target.port}\n  ProxyJump bastion\n"
        f"Host *\n  IdentityFile {sshd_kit.user_key}\n  User {LOGIN}\n"
    )
    known_hosts(home, jump.known_hosts_line())

    async def sweep_then_fetch() -> tuple[Report, list[OfferedKey]]:
        async with open_targets(
            inventory=inventory(home, "gpu-8\n"), settings=SshSettings(probe_timeout=60)
        ) as targets:
            report = await collect(targets, EMPTY_POLICY)
            return report, await fetch_offered_keys(targets.hosts, targets.options)

    report, (offered,) = asyncio.run(sweep_then_fetch())
    (host,) = report.hosts
    assert host.error is not None and host.error.host_key_problem is HostKeyProblem.UNKNOWN
    assert offered.problem is None and offered.fingerprint == host.error.host_key
    assert offered.fingerprint == f"ssh-ed25519 {fingerprint(target.host_key.with_suffix('.pub'))}"
    assert jump.log_text().count(f"target {target.address} port {target.port}") == 2  # both went through the jump


@pytest.fixture
def agent(home: Path, sshd_kit: SshdKit, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An ssh-agent holding the authorized key, as SSH_AUTH_SOCK."""
    socket_path = str(home / "agent.sock")
    process = subprocess.Popen([str(SSH_AGENT), "-D", "-a", socket_path], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(socket_path):
                break
            time.sleep(0.02)
        env = {**os.environ, "SSH_AUTH_SOCK": socket_path}
        subprocess.run([str(SSH_ADD), "-q", str(sshd_kit.user_key)], env=env, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", socket_path)
        yield socket_path
    finally:
        process.terminate()
        process.wait()


def test_agent_keys_authenticate(home: Path, server: Sshd, agent: str) -> None:
    """With no key file anywhere, the key held by ssh-agent logs in."""
    known_hosts(home, server.known_hosts_line())
    line = f"gpu ansible_host={server.address} ansible_port={server.port} ansible_user={LOGIN}\n"
    (host,) = audit(inventory(home, line)).hosts
    assert host.error is None, host.reason


def test_pacing_keeps_connections_under_sshd_max_startups(home: Path, sshd_kit: SshdKit) -> None:
    """sshd with MaxStartups 2 and twelve hosts on it: paced to one handshake at a time, none is dropped."""
    server = sshd_kit.servers.start("throttled", extra="MaxStartups 2\n")
    known_hosts(home, server.known_hosts_line())
    lines = "".join(host_line(server, sshd_kit.user_key, name=f"gpu-{i:02}") for i in range(12))
    settings = SshSettings(max_startups=1, retries=0, forks=12)

    async def connect_all() -> list[str | None]:
        async with open_targets(inventory=inventory(home, lines), settings=settings) as targets:
            connector = Connector(targets.options)
            try:

                async def one(host: object) -> str | None:
                    try:
                        conn = await connector.connect(host)  # type: ignore[arg-type]
                    except Exception as exc:
                        return str(exc)
                    conn.close()
                    await conn.wait_closed()
                    return None

                return await asyncio.gather(*(one(h) for h in targets.hosts))
            finally:
                await connector.close()

    assert asyncio.run(connect_all()) == [None] * 12


def test_command_line_user_and_key_fill_in_for_the_inventory(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """-u and --private-key apply to hosts whose inventory names no user or key."""
    known_hosts(home, server.known_hosts_line())
    settings = SshSettings(user=LOGIN, private_key=str(sshd_kit.user_key))
    (host,) = audit(inventory(home, f"gpu ansible_host={server.address} ansible_port={server.port}\n"), settings).hosts
    assert host.error is None, host.reason


def test_known_hosts_files_named_in_ssh_config_are_read(home: Path, server: Sshd, sshd_kit: SshdKit) -> None:
    """UserKnownHostsFile in ~/.ssh/config (a per-team file, say) vouches for the hosts it names."""
    known_hosts(home)
    (home / ".ssh" / "known_hosts.d").mkdir()
    (home / ".ssh" / "known_hosts.d" / "lab").write_text(server.known_hosts_line())
    (home / ".ssh" / "config").write_text("Host 127.0.0.1\n  UserKnownHostsFile ~/.ssh/known_hosts.d/lab\n")
    (host,) = audit(inventory(home, host_line(server, sshd_kit.user_key))).hosts
    assert host.error is None, host.reason


def test_malformed_known_hosts_lines_are_skipped_and_the_rest_still_vouch(
    home: Path, server: Sshd, sshd_kit: SshdKit
) -> None:
    """A lone host name and an unknown @marker are skipped (file:line on the report); the server's own line still counts."""
    path = known_hosts(home, "onlyhost\n", "@bogus gpu-1 ssh-ed25519 AAAA\n", server.known_hosts_line())
    report = audit(inventory(home, host_line(server, sshd_kit.user_key)))
    (host,) = report.hosts
    assert host.error is None, host.reason
    assert any(f"{path}:1: Invalid known hosts entry" in note and f"{path}:2" in note for note in report.notes)
