"""What an inventory may call a host and where it may point: OpenSSH's rules, checked on load.

An address (``ansible_host``, or the inventory name when there is none), a user, a
``ProxyJump`` hop and the tokens of a ``ProxyCommand`` end up in ``ProxyCommand``
expansions (``%h``, ``%r``, ``%n``), which a shell may split: ``ProxyCommand sh -c
"nc %h %p"`` with the address ``x;touch /tmp/owned`` would run ``touch`` on the
controller. OpenSSH (9.6 and later, ``misc.c``: ``valid_hostname``, ``valid_ruser``)
refuses such names before it connects; so does auditor, as a located input error
(exit 2), before any host is contacted:

* an address or hop may not start with ``-`` (it would read as an option) and may
  not contain whitespace, control characters or any of ``'`"$\\;&<>|(){},``;
* a user may not start with ``-`` and may not contain control characters or any of
  ``'`"$\\;&<>|(){}``, nor whitespace followed by ``-``;
* an inventory name (shown in every report and on terminals) may not contain
  control characters, line separators or bidirectional controls (``auditor.text``).

Each check returns the problem as text, or None: the caller adds the location.
"""

from __future__ import annotations

import re

from auditor.text import is_clean

_HOST_SPECIALS = set("'`\"$\\;&<>|(){},")
_USER_SPECIALS = set("'`\"$\\;&<>|(){}")
_SPACE_DASH = re.compile(r"\s-")


def address_problem(address: str) -> str | None:
    """Why OpenSSH would refuse ``address`` as a host name (None when it would not)."""
    if not address:
        return "is empty"
    if address.startswith("-"):
        return f"{address!r} starts with '-' (it would read as an ssh option)"
    bad = sorted({c for c in address if c in _HOST_SPECIALS or c.isspace() or not c.isprintable()})
    if bad:
        return f"{address!r} contains {_listing(bad)}, which OpenSSH refuses in a host name"
    if not is_clean(address):
        return f"{address!r} contains control or bidirectional characters"
    return None


def user_problem(user: str) -> str | None:
    """Why OpenSSH would refuse ``user`` as a remote user name (None when it would not)."""
    if user.startswith("-"):
        return f"{user!r} starts with '-' (it would read as an ssh option)"
    bad = sorted({c for c in user if c in _USER_SPECIALS or (not c.isprintable() and c != " ")})
    if bad:
        return f"{user!r} contains {_listing(bad)}, which OpenSSH refuses in a user name"
    if _SPACE_DASH.search(user) or not is_clean(user):
        return f"{user!r} contains control characters or whitespace before '-'"
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an inventory name (control, line-break or bidirectional characters)."""
    if not name:
        return "is empty"
    if not is_clean(name):
        return f"{name!r} contains control, line-break or bidirectional characters"
    return None


PROXY_TOKENS = {
    "%": "a literal %",
    "h": "the host address",
    "n": "the address as the inventory gives it",
    "p": "the port",
    "r": "the remote user",
}


def proxy_command_problem(command: str) -> str | None:
    """Why ``command`` (a ProxyCommand) cannot be expanded: a ``%`` token auditor does not know."""
    for match in re.finditer(r"%(.?)", command):
        if match.group(1) not in PROXY_TOKENS:
            known = ", ".join(f"%{t}" for t in PROXY_TOKENS)
            return f"ProxyCommand {command!r}: unknown token %{match.group(1)} (auditor expands {known})"
    return None


def parse_hop(hop: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` (``ssh://`` URLs and ``[v6]:port`` too) as OpenSSH's -J reads it."""
    text = hop.removeprefix("ssh://")
    user, at, rest = text.rpartition("@")
    if not at:
        user, rest = "", text
    port: int | None = None
    if rest.startswith("["):
        address, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:].isdigit():
            port = int(tail[1:])
    else:
        address, colon, port_text = rest.rpartition(":")
        if colon and port_text.isdigit() and ":" not in address:
            port = int(port_text)
        else:
            address = rest
    return user or None, address, port


def _listing(chars: list[str]) -> str:
    return " ".join(repr(c) for c in chars)
