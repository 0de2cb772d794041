"""Host entries as inventories write them: ``name[:port]`` with ``[a:b]`` ranges.

Ansible accepts ``gpu[01:16]`` (zero-padded because the start is), ``node-[a:c]``,
``db[1:9:2]`` (a step), several ranges in one name (every combination), and a port
after a colon (``web1:2222``, ``[2001:db8::1]:2222``). An entry that is not a
valid host name or address is kept verbatim, without a port, as Ansible does.
"""

from __future__ import annotations

import ipaddress
import re
import string

from auditor.errors import InputError

MAX_EXPANSION = 100_000  # hosts one range entry may produce: more is a typo, not a fleet

_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_LABEL = rf"(?:\w|{_RANGE})(?:[\w-]|{_RANGE})*(?<![_-])"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)
_IPV4_PART = r"(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|\[[0-9]+:[0-9]+(?::[0-9]+)?\])"
_IPV4 = re.compile(rf"^(?:{_IPV4_PART}\.){{3}}{_IPV4_PART}$")
_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_TRAILING_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")


def split_port(entry: str) -> tuple[str, int | None]:
    """``entry`` as (host pattern, port or None); unrecognisable entries come back whole."""
    host, port = entry, None
    match = _BRACKETED_PORT.match(host)
    if match:
        host, port = match.group(1), int(match.group(2))
    match = _TRAILING_PORT.match(host)
    if match:
        host, port = match.group(1), int(match.group(2))
    if _is_address_or_name(host):
        return host, port
    return entry, None


def _is_address_or_name(text: str) -> bool:
    if _IPV4.match(text) or _HOSTNAME.match(text):
        return True
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def expand(pattern: str) -> list[str]:
    """Every host name a pattern with ``[begin:end(:step)]`` ranges stands for, in order.

    Raises ``InputError`` (without a location; callers add it) for a malformed range.
    """
    names = [pattern]
    while any("[" in name for name in names):
        expanded: list[str] = []
        for name in names:
            expanded.extend(_expand_first(name) if "[" in name else [name])
            if len(expanded) > MAX_EXPANSION:
                raise InputError(f"host range {pattern!r} expands to more than {MAX_EXPANSION} hosts")
        names = expanded
    return names


def _expand_first(name: str) -> list[str]:
    head, _, rest = name.partition("[")
    body, closed, tail = rest.partition("]")
    if not closed:
        raise InputError(f"host range in {name!r} has no closing ']'")
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise InputError(f"host range [{body}] must be begin:end or begin:end:step")
    begin, end = bounds[0] or "0", bounds[1]
    if not end:
        raise InputError(f"host range [{body}] has no end")
    try:
        step = int(bounds[2]) if len(bounds) == 3 else 1
    except ValueError:
        raise InputError(f"host range [{body}] has a step that is not a number") from None
    if step < 1:
        raise InputError(f"host range [{body}] needs a step of 1 or more")
    width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
    if width and len(end) != width:
        raise InputError(f"host range [{body}]: begin and end must have the same width when zero-padded")
    if begin in string.ascii_letters and end in string.ascii_letters and len(begin) == len(end) == 1:
        first, last = string.ascii_letters.index(begin), string.ascii_letters.index(end)
        if first > last:
            raise InputError(f"host range [{body}] must have begin <= end")
        items = list(string.ascii_letters[first : last + 1 : step])
    else:
        try:
            numbers = range(int(begin), int(end) + 1, step)
        except ValueError:
            raise InputError(f"host range [{body}] must be numbers or single letters") from None
        if len(numbers) > MAX_EXPANSION:
            raise InputError(f"host range [{body}] expands to more than {MAX_EXPANSION} hosts")
        items = [str(n).zfill(width) for n in numbers]
    return [f"{head}{item}{tail}" for item in items]


def is_host_entry(text: str) -> bool:
    """True when ``text`` reads as one host name or address (ranges and a port allowed)."""
    host, _ = split_port(text)
    return _is_address_or_name(host)
