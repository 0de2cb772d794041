"""Unknown host keys: find the hosts that offered one, fetch the key each offers now, trust the accepted.

A sweep never asks about a key: a host whose key is not in known_hosts ends
``unreachable`` at step ``host-key`` (OpenSSH-strict, like the headless mode). After
the sweep the review screen (``screens/host_keys.py``) shows each such host with the
fingerprint of the key it offers, fetched here over a bare SSH handshake (no login);
the user accepts or rejects each. Accepted keys are appended, exactly as fetched, to
a known_hosts file of auditor's own (``$XDG_STATE_HOME/auditor/known_hosts``, never
``~/.ssh/known_hosts``) and loaded into the session's known hosts, so the re-probe
trusts that key and no other: a host that offers a different key by then fails as
a changed key.

A changed key (known_hosts holds another key for the host) is never offered for
acceptance here: it may be an attack, and the report says so loudly.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from auditor.inventory import Host
from auditor.text import clean
from auditor.transport.hostkeys import default_accept_new_file
from auditor.transport.outcome import Step
from auditor.tui.model import HostRow

DEFAULT_PORT = 22
FETCH_TIMEOUT = 10.0


@dataclass(frozen=True)
class OfferedKey:
    """The key one host offers now, as the review screen shows it and acceptance writes it.

    ``fingerprint`` is ``ssh-ed25519 SHA256:...`` (how OpenSSH shows a key); ``public_key``
    the key in OpenSSH format. Both are None when the key could not be fetched, and
    ``problem`` says why (such a host cannot be accepted). ``reported`` is the
    fingerprint the sweep met (``HostError.host_key``): a different key now is flagged.
    """

    host: Host
    fingerprint: str | None
    public_key: str | None = None
    problem: str | None = None
    reported: str | None = None

    @property
    def differs(self) -> bool:
        """The host offers another key now than during the sweep: someone should ask why."""
        return bool(self.reported and self.fingerprint and self.reported != self.fingerprint)

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def endpoint(self) -> str:
        port = self.host.port or DEFAULT_PORT
        return self.host.address if port == DEFAULT_PORT else f"{self.host.address}:{port}"

    def known_hosts_line(self) -> str:
        """The line OpenSSH's known_hosts format wants: ``[addr]:port key`` (``addr key`` on port 22)."""
        if self.public_key is None:
            raise ValueError(f"{self.name}: no key to trust")
        port = self.host.port or DEFAULT_PORT
        name = self.host.address if port == DEFAULT_PORT else f"[{self.host.address}]:{port}"
        return f"{name} {self.public_key}"


def unknown_key_rows(rows: Iterable[HostRow]) -> list[HostRow]:
    """Hosts whose latest probe stopped at a host key known_hosts has never seen (not a changed one).

    The runner (``hostkeys.HostKeyTrust.consider``) says which in the message: "host key
    unknown: ..." against "HOST KEY CHANGED: ..." (or a revoked or untrusted key).
    """
    found = []
    for row in rows:
        error = row.report.error if row.report is not None else None
        if error is not None and error.step is Step.HOST_KEY and error.message.startswith("host key unknown"):
            found.append(row)
    return found


async def fetch_offered_keys(hosts: Sequence[Host], timeout: float = FETCH_TIMEOUT) -> list[OfferedKey]:
    """The key each host offers, fetched concurrently with a bare handshake; failures become ``problem``."""

    async def one(host: Host) -> OfferedKey:
        try:
            key = await asyncio.wait_for(asyncssh.get_server_host_key(host.address, host.port or DEFAULT_PORT), timeout)
        except asyncio.TimeoutError:
            return OfferedKey(host, None, problem=f"no answer within {timeout:g}s")
        except (OSError, asyncssh.Error) as exc:
            return OfferedKey(host, None, problem=clean(str(exc) or type(exc).__name__, 200))
        if key is None:
            return OfferedKey(host, None, problem="the server offered no host key")
        fingerprint = f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"
        return OfferedKey(host, fingerprint, key.export_public_key("openssh").decode().strip())

    return list(await asyncio.gather(*(one(host) for host in hosts)))


def accepted_keys_file() -> Path:
    """auditor's own known_hosts, the one ``--accept-new`` keeps keys in: ``$XDG_STATE_HOME/auditor/known_hosts``."""
    return default_accept_new_file()


def write_accepted(keys: Sequence[OfferedKey], path: Path) -> str:
    """Append the accepted keys' lines to ``path`` (created 0600 in a 0700 directory); returns the lines."""
    text = "".join(key.known_hosts_line() + "\n" for key in keys)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(text)
    return text
