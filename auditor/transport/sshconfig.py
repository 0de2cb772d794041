"""``~/.ssh/config`` as OpenSSH applies it to one host, through asyncssh's own parser.

asyncssh reads the client config itself on every connection; auditor also
resolves each host once before connecting, to learn what it must handle itself:
the jump host (``ProxyJump``: auditor opens one connection per jump host and
tunnels every host behind it through it), the address new connections are paced
by, and the known_hosts files the config names (loaded once with the others). Values from the inventory and the command line come first, and the
first value found wins, as in OpenSSH.

asyncssh supports ``Host``, ``Match`` (``host``, ``originalhost``, ``user``,
``localuser``, ``exec``, ``all``, ``canonical``, ``final``, ``tagged``,
``localnetwork``), ``Include``, ``HostName`` (with ``%h`` tokens), ``User``,
``Port``, ``IdentityFile``, ``IdentitiesOnly``, ``IdentityAgent``,
``CertificateFile``, ``ProxyJump``, ``ProxyCommand``, ``ConnectTimeout``,
``HostKeyAlias``, algorithms and keep-alives, among others (asyncssh
``config.py``); unknown options are ignored, as the README lists.
"""

from __future__ import annotations

import functools
import getpass
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncssh.config import SSHClientConfig

from auditor.errors import InputError, Location
from auditor.records import record

DEFAULT_CONFIG = "~/.ssh/config"
DEFAULT_PORT = 22


@record
class SshTarget:
    """Where a connection really goes, after the inventory and ``~/.ssh/config``."""

    hostname: str
    port: int
    user: str
    proxy_jump: str | None = None
    proxy_command: str | None = None
    identity_files: tuple[str, ...] = ()
    known_hosts_files: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "port": self.port,
            "user": self.user,
            "proxy_jump": self.proxy_jump,
            "proxy_command": self.proxy_command,
            "identity_files": list(self.identity_files),
        }


def config_paths(explicit: str | None = None) -> tuple[str, ...]:
    """The config file to apply: ``-F FILE``, else ``~/.ssh/config`` when readable, else none.

    ``-F none`` disables it, as in ssh. A named file that is missing is an ``InputError``.
    """
    if explicit is not None:
        if explicit.lower() == "none":
            return ()
        path = os.path.expanduser(explicit)
        if not os.path.isfile(path):
            raise InputError("ssh config file not found", Location(explicit))
        return (path,)
    default = os.path.expanduser(DEFAULT_CONFIG)
    return (default,) if os.access(default, os.R_OK) else ()


def resolve(
    address: str,
    paths: Sequence[str],
    user: str | None = None,
    port: int | None = None,
) -> SshTarget:
    """The effective settings for ``address`` (the inventory's ``ansible_host``), like ``ssh -G``.

    Raises ``InputError`` when the config cannot be parsed (the message has file and line).
    """
    local_user = _local_user()
    if not paths:
        return SshTarget(address, port or DEFAULT_PORT, user or local_user)
    try:
        config = _load(paths, local_user, user, address, port)
    except (ValueError, OSError) as exc:
        raise InputError(f"ssh config: {exc}") from None
    jump = config.get("ProxyJump")
    command = config.get("ProxyCommand")
    return SshTarget(
        hostname=str(config.get("Hostname", address)),
        port=int(str(config.get("Port", DEFAULT_PORT))),
        user=str(config.get("User") or local_user),
        proxy_jump=None if not jump or str(jump).lower() == "none" else str(jump),
        proxy_command=None if not command or str(command).lower() == "none" else str(command),
        identity_files=tuple(str(p) for p in (config.get("IdentityFile") or ())),
        known_hosts_files=tuple(
            str(p) for option in ("UserKnownHostsFile", "GlobalKnownHostsFile") for p in (config.get(option) or ())
        ),
    )


def expand_proxy_command(command: str, host: str, port: int, user: str, original: str) -> str:
    """An inventory ``ProxyCommand`` with ``%h %p %r %n %%`` expanded, each value shell-quoted.

    asyncssh runs a ProxyCommand given to it directly unexpanded, split like a shell
    line (``shlex``); ``shlex.quote`` keeps each expansion one word whatever it holds,
    and inside ``sh -c "..."`` one shell word too. (The values were already checked
    against OpenSSH's rules when the inventory was read: ``inventory.hostnames``.)
    """
    values = {"h": host, "p": str(port), "r": user, "n": original}

    def token(match: re.Match[str]) -> str:
        key = match.group(1)
        return "%" if key == "%" else shlex.quote(values[key]) if key in values else match.group(0)

    return re.sub(r"%(.)", token, command)


def _load(paths: Sequence[str], local_user: str, user: str | None, host: str, port: int | None) -> Any:
    config_files = [Path(p) for p in paths]
    try:  # asyncssh >= 2.16 evaluates `Match canonical` and `Match final`
        return SSHClientConfig.load(None, config_files, False, False, False, local_user, user or (), host, port or ())
    except TypeError:
        return SSHClientConfig.load(None, config_files, False, local_user, user or (), host, port or ())  # type: ignore[call-arg,arg-type]


@functools.cache
def _local_user() -> str:
    """The local login name, looked up once (getpass may read /etc/passwd every time)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root" if os.geteuid() == 0 else str(os.geteuid())
