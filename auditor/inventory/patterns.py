"""``--limit``: Ansible's host patterns, evaluated the way ``ansible --limit`` evaluates them.

A limit is a list of patterns separated by ``,`` (or ``:``, when the text is not
itself one host name such as ``web[0:3]`` or ``host:2222``). Each pattern is

- a group or host name, or a shell glob (``gpu-*``, ``h100?``) over group and host
  names; a group matches all its hosts through children;
- ``~regex`` (Python syntax, anchored at the start of the name);
- any of these with a slice of its hosts: ``group[0]``, ``group[-1]``, ``group[0:3]``
  (inclusive), ``group[2:]``; slices index a group's hosts in Ansible's order;
- ``@file``: the patterns listed in a file, one per line (a retry file, say).

Plain patterns are unioned first, then ``&pattern`` intersects, then ``!pattern``
excludes, whatever the order written (``web:&gpu:!web01``). A limit of only ``&``
and ``!`` patterns applies them to ``all``. Selected hosts keep inventory order.

Ansible rejects an invalid regex, a slice past a group's end, an ``@file`` that
is missing or a directory, and a bare ``!`` or ``&`` (it crashes on them); so does
auditor, with exit 2 and the pattern named. Differences from Ansible, on purpose:

- a limit that selects no host is an error (Ansible warns and runs nothing);
- an ``@file`` that lists nothing contributes nothing (Ansible then selects every host);
- an unbalanced ``[`` or ``]`` is an error. Ansible's ``:``-list splitter drops it
  silently, so ``~[`` became ``~`` (every host) and ``serving[0`` became
  ``serving:0`` (the whole group); in a ``,``-list it matched nothing;
- ``~`` with no regex after it is an error (Ansible: every host).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from auditor.errors import InputError, Location
from auditor.inventory import Host, Inventory
from auditor.inventory.ranges import is_host_entry
from auditor.records import record
from auditor.text import count

_BALANCED = re.compile(r"(?:[^\[\]]|\[[^\]]*\])*")
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_PATTERN_TOKEN = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_GLOB_CHARS = (".", "?", "*", "[")


@record
class Selection:
    """The hosts a limit selects from ``source``, and the patterns in it that matched nothing (worth a warning)."""

    hosts: tuple[Host, ...]
    unmatched: tuple[str, ...] = ()
    source: str = ""


def split_patterns(text: str) -> list[str]:
    """``"web:&gpu,!h1"`` -> ``["web:&gpu", "!h1"]``... see the module doc for the rules.

    Raises ``InputError`` where Ansible's ``:``-list splitter would drop characters
    (an unbalanced bracket) instead of selecting something the user did not write.
    """
    if "," in text:
        parts = text.split(",")
    elif is_host_entry(text):
        parts = [text]
    else:
        parts = _PATTERN_TOKEN.findall(text)
        stray = sorted(set(_PATTERN_TOKEN.sub("", text)) - set(": \t\n\r\f\v"))
        if stray:
            read = ":".join(part.strip() for part in parts)
            raise InputError(
                f"--limit {text!r}: unbalanced {' and '.join(repr(c) for c in stray)} (Ansible would drop it and "
                f"read {repr(read) if read else 'nothing'}); {_SYNTAX}"
            )
    return [part.strip() for part in parts if part.strip()]


_SYNTAX = "a slice is written group[0], group[1:3] or group[2:], a regex ~REGEX; separate patterns with ','"


def check_pattern(pattern: str, limit: str) -> None:
    """Refuse one pattern of ``limit`` that Ansible refuses or would misread (module doc)."""
    body = pattern[1:] if pattern[0] in "&!" else pattern
    if not body:
        raise InputError(f"--limit {limit!r}: {pattern!r} must be followed by a pattern (web:!web01, web:&gpu)")
    if body == "~":
        raise InputError(f"--limit {limit!r}: '~' must be followed by a regular expression (~gpu-h100-0[1-4])")
    if body[0] != "~" and not _BALANCED.fullmatch(body):
        where = "" if pattern == limit else f" in {pattern!r}"
        raise InputError(f"--limit {limit!r}: unbalanced '[' or ']'{where}; {_SYNTAX}")


def expand_files(patterns: Sequence[str], read: Callable[[Path], str] | None = None) -> list[str]:
    """Replace each ``@file`` by the patterns on its lines; a missing file is an ``InputError``."""
    reader = read or (lambda path: path.read_text(encoding="utf-8"))
    result: list[str] = []
    for pattern in patterns:
        if not pattern.startswith("@"):
            result.append(pattern)
            continue
        if not pattern[1:].strip():
            raise InputError("--limit: '@' must be followed by a file name (@retry-file)")
        path = Path(pattern[1:]).expanduser()
        if not path.exists():
            raise InputError("limit file not found", Location(str(path)))
        if not path.is_file():
            raise InputError("a limit starting with '@' must name a file, not a directory", Location(str(path)))
        try:
            lines = [line.strip() for line in reader(path).splitlines()]
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read limit file: {exc}", Location(str(path))) from None
        result.extend(line for line in lines if line)
    return result


def select(inventory: Inventory, limit: str | None) -> Selection:
    """The hosts of ``inventory`` that ``limit`` selects (every host when it is None or blank).

    Raises ``InputError`` for an invalid regex, a slice past a group's end, an
    ``@file`` that cannot be read or lists nothing, an unbalanced bracket, a bare
    ``!``, ``&`` or ``~``, and a limit selecting no host.
    """
    if limit is None or not limit.strip():
        return Selection(inventory.hosts, source=inventory.source)
    written = split_patterns(limit)
    patterns = expand_files(written)
    for pattern in patterns:
        check_pattern(pattern, limit)
    if not patterns:
        raise InputError(f"--limit {limit!r} names no host (an empty limit file?): nothing to audit")
    matcher = _Matcher(inventory)
    chosen = matcher.evaluate(patterns)
    hosts = tuple(host for host in inventory.hosts if host.name in chosen)
    if not hosts:
        raise InputError(f"--limit {limit!r} matches no host in {inventory.source}")
    return Selection(hosts, tuple(matcher.unmatched), inventory.source)


class _Matcher:
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.names = [host.name for host in inventory.hosts]
        self.known = set(self.names)
        self.unmatched: list[str] = []
        self._cache: dict[str, list[str]] = {}

    def evaluate(self, patterns: Sequence[str]) -> dict[str, None]:
        plain = [p for p in patterns if p[0] not in "&!"]
        ordered = (plain or ["all"]) + [p for p in patterns if p[0] == "&"] + [p for p in patterns if p[0] == "!"]
        chosen: dict[str, None] = {}  # an ordered set
        for pattern in ordered:
            if pattern in self.known:
                chosen[pattern] = None
                continue
            matched = self.match(pattern)
            if pattern[0] == "!":
                for name in matched:
                    chosen.pop(name, None)
            elif pattern[0] == "&":
                keep = set(matched)
                chosen = {name: None for name in chosen if name in keep}
            else:
                chosen.update(dict.fromkeys(matched))
        return chosen

    def match(self, pattern: str) -> list[str]:
        """Names matching one pattern, ignoring its ``&``/``!`` prefix; slices applied."""
        if pattern[0] in "&!":
            pattern = pattern[1:]
        if pattern not in self._cache:
            expression, subscript = _split_subscript(pattern)
            names = self._enumerate(expression)
            self._cache[pattern] = _apply_subscript(names, subscript, pattern)
        return self._cache[pattern]

    def _enumerate(self, expression: str) -> list[str]:
        test = _compile(expression)
        groups = [group for group in self.inventory.groups if test(group)]
        found: dict[str, None] = {}
        for group in groups:
            found.update(dict.fromkeys(self.inventory.groups[group]))
        if not groups or expression[0] == "~" or any(c in expression for c in _GLOB_CHARS):
            found.update(dict.fromkeys(name for name in self.names if test(name)))
        if not found and not groups and expression != "all":
            self.unmatched.append(expression)
        return list(found)


def _compile(expression: str) -> Callable[[str], object]:
    try:
        if expression[0] == "~":
            return re.compile(expression[1:]).match
        return re.compile(fnmatch.translate(expression)).match
    except re.error as exc:
        raise InputError(f"invalid host pattern {expression!r}: {exc}") from None


def _split_subscript(pattern: str) -> tuple[str, tuple[int, int | None] | None]:
    if pattern[0] == "~":
        return pattern, None
    match = _SUBSCRIPT.match(pattern)
    if not match:
        return pattern, None
    expression, index, start, _, end = match.groups()
    if index:
        return expression, (int(index), None)
    return expression, (int(start), int(end) if end else -1)


def _apply_subscript(names: list[str], subscript: tuple[int, int | None] | None, pattern: str) -> list[str]:
    """Ansible's slice rules, quirks included: ``[a:b]`` is inclusive and ``[a:0]`` means ``[a]``."""
    if not names or subscript is None:
        return names
    start, end = subscript
    if end:
        last = len(names) - 1 if end == -1 else end
        return names[start : last + 1]
    try:
        return [names[start]]
    except IndexError:
        raise InputError(
            f"no host matches the slice in {pattern!r}: the group has {count(len(names), 'host')}"
        ) from None
