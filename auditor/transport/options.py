"""How to reach hosts: one record, each default written here and nowhere else.

``SshOptions`` is what the connector (one connection per host) and the runner (many
hosts at once) both read; the command line's ``--help`` quotes the same defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.records import record
from auditor.statedir import state_dir

if TYPE_CHECKING:  # the trust object holds asyncssh's known_hosts; this module stays importable without it
    from auditor.transport.hostkeys import HostKeyTrust
    from auditor.transport.sshconfig import SshTarget

DEFAULT_FORKS = 64
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_AUTH_TIMEOUT = 10.0
DEFAULT_PROBE_TIMEOUT = 60.0
DEFAULT_MAX_STARTUPS = 8  # sshd drops unauthenticated connections beyond MaxStartups 10:30:100
DEFAULT_RETRIES = 2
MAX_OUTPUT_BYTES = 1024 * 1024


def default_accept_new_file() -> Path:
    """Where ``--accept-new`` keeps the keys it trusted: ``$XDG_STATE_HOME/auditor/known_hosts``."""
    return state_dir() / "known_hosts"


@record
class SshOptions:
    """How to reach hosts.

    ``host_keys`` is the run's known_hosts, parsed once. ``config`` lists the ssh
    config files to apply (empty: none). ``key_file`` is ``--private-key``, used
    for hosts whose inventory names no key; ``client_keys``/``agent_path`` follow
    asyncssh (``()``: the agent and ``~/.ssh/id_*``). ``connect_timeout`` runs until
    authentication starts, ``auth_timeout`` for authentication, ``probe_timeout`` for
    the program. ``max_startups`` bounds the unauthenticated connections to one
    address; ``retries`` the extra attempts after a connection reset before
    authentication. ``max_output`` caps what a host may print. ``retry_file``, when
    set, receives the names of the hosts that could not be audited. ``ssh_targets``
    holds hosts' ``~/.ssh/config`` settings already resolved (by inventory name).
    ``extra`` goes to ``asyncssh.connect`` as it is (tests).
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
