"""Unknown host keys: find the hosts that offered one, fetch the key each offers now, trust the accepted.

A sweep never asks about a key: a host whose key is not in known_hosts ends
``unreachable`` at step ``host-key`` (OpenSSH-strict, like the headless mode). After
the sweep the review screen (``screens/host_keys.py``) shows each such host with the
fingerprint of the key it offers, fetched by the transport over a bare SSH handshake
that goes the way the sweep went (ssh config, jump host, ProxyCommand; no login:
``auditor.transport.runner.fetch_offered_keys``);
the user accepts or rejects each. Accepted keys are appended, exactly as fetched, to
a known_hosts file of auditor's own (``$XDG_STATE_HOME/auditor/known_hosts``, never
``~/.ssh/known_hosts``) and loaded into the session's known hosts, so the re-probe
trusts that key and no other: a host that offers a different key by then fails as
a changed key.

A changed key (known_hosts holds another key for the host) is never offered for
acceptance here: it may be an attack, and the report says so loudly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from auditor.transport.options import default_accept_new_file
from auditor.transport.outcome import HostKeyProblem
from auditor.tui.model import HostRow


def unknown_key_rows(rows: Iterable[HostRow]) -> list[HostRow]:
    """Hosts whose latest probe stopped at a host key known_hosts has never seen (not a changed one).

    The connector says which (``HostError.host_key_problem``): unknown, against changed,
    revoked or untrusted.
    """
    found = []
    for row in rows:
        error = row.report.error if row.report is not None else None
        if error is not None and error.host_key_problem is HostKeyProblem.UNKNOWN:
            found.append(row)
    return found


def accepted_keys_file() -> Path:
    """auditor's own known_hosts, the one ``--accept-new`` keeps keys in: ``$XDG_STATE_HOME/auditor/known_hosts``."""
    return default_accept_new_file()
