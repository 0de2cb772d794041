"""Real OpenSSH servers for the tests: ``sshd`` on 127.0.0.1 with its own config, keys and port.

Each server runs as the user running the tests and lets that user in with a
throw-away key: as root (CI, the development machines) sshd authenticates root
through an ``AuthorizedKeysFile`` in the server's own directory; as anyone else
sshd simply runs unprivileged, which lets in only that user. Keys are generated
with ``ssh-keygen`` at test time and never committed.

When sshd is not installed the tests that need it are skipped with the reason,
unless ``AUDITOR_REQUIRE_SSHD=1`` (set by ``.ci/run``) makes that a failure.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
SSH_KEYGEN = shutil.which("ssh-keygen")
SSH_AGENT = shutil.which("ssh-agent")
SSH_ADD = shutil.which("ssh-add")
LOGIN = getpass.getuser()
READY_TIMEOUT = 10.0


def require_sshd() -> None:
    """Skip (or, in CI, fail) when OpenSSH's sshd or ssh-keygen is missing."""
    if SSHD and SSH_KEYGEN:
        return
    reason = "OpenSSH sshd is not installed (apt-get install openssh-server; .ci/run does)"
    if os.environ.get("AUDITOR_REQUIRE_SSHD") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """A new key pair at ``path`` / ``path.pub`` (no passphrase)."""
    assert SSH_KEYGEN is not None
    subprocess.run([SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", path.name, "-f", str(path)], check=True)
    return path


def fingerprint(public_key: Path) -> str:
    """``ssh-keygen -lf``'s ``SHA256:...`` for a public key."""
    assert SSH_KEYGEN is not None
    out = subprocess.run(
        [SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(public_key)], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[1]


def free_port(address: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


@dataclass
class Sshd:
    """One running sshd."""

    directory: Path
    port: int
    host_key: Path
    address: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    def known_hosts_line(self, key: Path | None = None) -> str:
        """``[127.0.0.1]:PORT ssh-ed25519 AAAA...`` for this server (or for another key)."""
        public = (key or self.host_key).with_suffix(".pub").read_text().split()
        return f"[{self.address}]:{self.port} {public[0]} {public[1]}\n"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SshdFactory:
    """Starts sshd instances in a temporary directory; stops them all at the end."""

    def __init__(self, root: Path, authorized_keys: list[Path]) -> None:
        self.root = root
        self.authorized_keys = authorized_keys
        self.servers: list[Sshd] = []

    def start(self, name: str, extra: str = "", host_key: Path | None = None, certificate: Path | None = None) -> Sshd:
        """A new sshd called ``name``; ``extra`` lines are appended to its config."""
        assert SSHD is not None
        directory = self.root / name
        directory.mkdir()
        key = host_key or keygen(directory / "host_key")
        (directory / "authorized_keys").write_text(
            "".join(k.with_suffix(".pub").read_text() for k in self.authorized_keys)
        )
        server = Sshd(directory=directory, port=free_port(), host_key=key)
        lines = [
            f"Port {server.port}",
            f"ListenAddress {server.address}",
            f"HostKey {key}",
            f"PidFile {directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {directory / 'authorized_keys'}",
            "StrictModes no",  # the temporary directory's parents belong to others
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "AllowTcpForwarding yes",
            "MaxStartups 100:30:200",
            "PrintMotd no",
            "UseDNS no",
            "LogLevel DEBUG1",
        ]
        if certificate is not None:
            lines.append(f"HostCertificate {certificate}")
        config = directory / "sshd_config"
        config.write_text("\n".join(lines) + "\n" + extra)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        server.process = subprocess.Popen(
            [SSHD, "-D", "-f", str(config), "-E", str(server.log)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        self.servers.append(server)
        _wait_ready(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            server.stop()


def _wait_ready(server: Sshd) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            raise RuntimeError(f"sshd exited with {server.process.returncode}: {server.log_text()}")
        try:
            with socket.create_connection((server.address, server.port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not start: {server.log_text()}")


@dataclass
class SshdKit:
    """What the SSH tests need: a server factory and the client keys."""

    servers: SshdFactory
    user_key: Path
    stranger_key: Path
    root: Path


@pytest.fixture(scope="module")
def sshd_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdKit]:
    """Client keys (one authorized, one not) and a factory of sshd servers, stopped afterwards."""
    require_sshd()
    root = tmp_path_factory.mktemp("sshd")
    keys = root / "client"
    keys.mkdir()
    user_key = keygen(keys / "id_user")
    stranger_key = keygen(keys / "id_stranger")
    factory = SshdFactory(root, [user_key])
    try:
        yield SshdKit(factory, user_key, stranger_key, root)
    finally:
        factory.stop_all()
