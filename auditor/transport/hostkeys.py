"""Host keys, OpenSSH-strict: known_hosts loaded once, unknown vs changed, accept-new on request.

The user's and the system's known_hosts files (hashed entries, ``[host]:port``,
``@cert-authority``, ``@revoked``: asyncssh understands them all) are parsed once
per run into one ``SSHKnownHosts`` object; passing a path instead would make
asyncssh re-read the file for every connection (docs/research/perf-anchors.md: 3x the
controller CPU at 1,000 hosts).

A key that matches nothing is *unknown*: the host is unreachable at step
``host-key`` with the key's fingerprint, never a prompt. A key that differs from
the key known for that host is *changed*: a loud security error. With
``--accept-new`` (OpenSSH's ``StrictHostKeyChecking accept-new``) an unknown key
is trusted, written to a separate known_hosts file, checked on later runs that
pass ``--accept-new`` again, and every report of such a run says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncssh

from auditor.inventory import Host
from auditor.records import record
from auditor.transport.outcome import HostKeyProblem

KNOWN_HOSTS_FILES = (
    "~/.ssh/known_hosts",
    "~/.ssh/known_hosts2",
    "/etc/ssh/ssh_known_hosts",
    "/etc/ssh/ssh_known_hosts2",
)
DEFAULT_PORT = 22
log = logging.getLogger(__name__)


def _parseable_lines(path: str, text: str) -> tuple[str, list[str]]:
    """The lines of one known_hosts file asyncssh can parse, and a ``file:line: why`` for each other one."""
    good: list[str] = []
    bad: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            asyncssh.import_known_hosts(line)
        except Exception as exc:  # whatever asyncssh raised, it concerns this line only
            bad.append(f"{path}:{number}: {str(exc)[:200] or type(exc).__name__}; line skipped")
        else:
            good.append(line)
    return "\n".join(good), bad


@record
class AcceptedKey:
    """A host key trusted on first use in this run; ``label`` names the host as the inventory does."""

    host: str
    port: int
    fingerprint: str
    label: str


@record
class KeyProblem:
    """A refused host key: why (``kind``), the key as a person reads it, and the message for the report."""

    kind: HostKeyProblem
    key: str | None
    message: str


@record
class OfferedKey:
    """The key one host offers now, as a review shows it and acceptance writes it.

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


def write_accepted(keys: Sequence[OfferedKey], path: Path) -> str:
    """Append the accepted keys' lines to ``path`` (created 0600 in a 0700 directory); returns the lines."""
    text = "".join(key.known_hosts_line() + "\n" for key in keys)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(text)
    return text


def describe(key: Any) -> str:
    """``ssh-ed25519 SHA256:...``: how OpenSSH shows a key to a person."""
    return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"


class HostKeyTrust:
    """The run's known hosts, and what to do with keys that are not in them."""

    def __init__(self, known_hosts: Any, files: tuple[str, ...] = (), accept_new_file: Path | None = None) -> None:
        self.known_hosts = known_hosts
        self.files = files
        self.accept_new_file = accept_new_file
        self.accepted: list[AcceptedKey] = []
        self.changed: list[str] = []
        self.skipped: tuple[str, ...] = ()
        self._written: set[str] = set()

    @classmethod
    def load(cls, paths: tuple[str, ...] | None = None, accept_new_file: Path | None = None) -> HostKeyTrust:
        """Parse the known_hosts files once (missing ones skipped; none at all: every key unknown).

        A line asyncssh cannot parse (a lone host name, an unknown ``@marker``) is skipped
        with a warning naming ``file:line``, as OpenSSH skips it; so is a file that cannot
        be read. The other lines still count. ``skipped`` keeps the warnings for the report.
        """
        candidates = [os.path.expanduser(p) for p in (paths if paths is not None else KNOWN_HOSTS_FILES)]
        if accept_new_file is not None:
            candidates.append(str(accept_new_file))
        found = tuple(dict.fromkeys(p for p in candidates if os.path.isfile(p)))
        texts: list[str] = []
        skipped: list[str] = []
        for path in found:
            try:
                texts.append(Path(path).read_text(errors="replace"))
            except OSError as exc:
                skipped.append(f"{path}: cannot read it ({exc.strerror or exc}); file skipped")
                texts.append("")
        try:
            known = asyncssh.import_known_hosts("\n".join(texts))
        except Exception:  # asyncssh raises ValueError, binascii.Error...: find the bad lines, keep the rest
            usable = []
            for path, text in zip(found, texts, strict=True):
                good, bad = _parseable_lines(path, text)
                usable.append(good)
                skipped.extend(bad)
            known = asyncssh.import_known_hosts("\n".join(usable))
        for warning in skipped:
            log.warning("known_hosts: %s", warning)
        trust = cls(known, found, accept_new_file)
        trust.skipped = tuple(skipped)
        return trust

    @classmethod
    def from_text(cls, text: str, label: str = "<generated>") -> HostKeyTrust:
        """Trust exactly the keys in ``text`` (a simulated fleet's pinned keys)."""
        return cls(asyncssh.import_known_hosts(text), (label,))

    def knows(self, host: str, addr: str | None, port: int) -> bool:
        """True when known_hosts holds any key or CA for this host: a different key is then a change."""
        result = self.known_hosts.match(host, addr or "", None if port == DEFAULT_PORT else port)
        return bool(result[0] or result[1])

    def consider(self, host: str, addr: str | None, port: int, key: Any, label: str = "") -> KeyProblem | None:
        """Decide about a key known_hosts does not vouch for: None accepts it (accept-new).

        ``label`` is the inventory's name for the host, for the report's notes.
        """
        shown = describe(key)
        endpoint = host if port == DEFAULT_PORT else f"{host}:{port}"
        label = label or endpoint
        if self.knows(host, addr, port):
            self.changed.append(label if label == endpoint else f"{label} ({endpoint})")
            return KeyProblem(
                HostKeyProblem.CHANGED,
                shown,
                f"HOST KEY CHANGED: the server offered {shown}, which does not match known_hosts. "
                "Someone could be intercepting the connection, or the host was reinstalled: verify the key "
                "with its owner before trusting it",
            )
        if self.accept_new_file is not None:
            self._remember(host, port, key, label)
            return None
        return KeyProblem(
            HostKeyProblem.UNKNOWN,
            shown,
            f"host key unknown: {shown} is not in known_hosts; verify it and add it "
            "(or rerun with --accept-new to trust keys seen for the first time)",
        )

    def _remember(self, host: str, port: int, key: Any, label: str) -> None:
        name = host if port == DEFAULT_PORT else f"[{host}]:{port}"
        line = f"{name} {key.export_public_key('openssh').decode().strip()}\n"
        if line in self._written:
            return
        self._written.add(line)
        self.accepted.append(AcceptedKey(host, port, key.get_fingerprint("sha256"), label))
        assert self.accept_new_file is not None
        self.accept_new_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.accept_new_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(line)

    def notes(self) -> tuple[str, ...]:
        """Run-level notices for the report: keys trusted on first use, keys that changed."""
        notes: list[str] = []
        if self.accept_new_file is not None:
            names = ", ".join(a.label for a in self.accepted)
            notes.append(
                "host keys accepted on first use (--accept-new): keys of hosts not in known_hosts were trusted "
                f"without verification and kept in {self.accept_new_file}; "
                + (f"{len(self.accepted)} accepted in this run: {names}" if self.accepted else "none new in this run")
            )
        if self.skipped:
            notes.append(f"known_hosts: {'; '.join(self.skipped)}")
        if self.changed:
            count = f"{len(self.changed)} host" + ("s" if len(self.changed) > 1 else "")
            notes.append(f"SECURITY: host keys CHANGED on {count}: {', '.join(self.changed)}")
        return tuple(notes)
