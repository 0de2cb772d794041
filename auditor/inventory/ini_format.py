"""Ansible INI inventories: ``[group]``, ``[group:vars]``, ``[group:children]``.

Lines before the first section belong to ``ungrouped``. A host line is a host
entry (ranges and ``:port`` allowed) followed by ``key=value`` pairs split like a
shell would (quotes group, ``#`` starts a comment). Values are read the way
Ansible reads them: as a Python literal when they are one (``8`` is a number,
``[1, 2]`` a list, ``True`` a boolean), else as text. A ``[group:vars]`` line is
``key = value`` with the same value rules. A group named only in a
``[parent:children]`` section must be declared by a section of its own.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import InputError, InputErrors, Location
from auditor.inventory import ranges
from auditor.inventory.model import InventoryBuilder

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
_COMMENTS = ("#", ";")


@dataclass
class _Pending:
    line: int
    state: str
    parents: list[str] = field(default_factory=list)


def parse_ini(text: str, path: str, builder: InventoryBuilder) -> None:
    """Add one INI inventory's groups, hosts and variables to ``builder``."""
    group, state = "ungrouped", "hosts"
    pending: dict[str, _Pending] = {}
    errors: list[InputError] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in _COMMENTS:
            continue
        where = Location(path, number)
        try:
            section = _SECTION.match(line)
            if section:
                group, state = section.group(1), section.group(2) or "hosts"
                if state not in ("hosts", "children", "vars"):
                    raise InputError(
                        f"section [{group}:{state}] has an unknown type {state!r}; use hosts, children or vars"
                    )
                if group not in builder.groups:
                    if state == "vars" and group not in pending:
                        pending[group] = _Pending(number, state)
                    builder.add_group(group, where)
                if group in pending and state != "vars":
                    if pending[group].state == "children":
                        _add_pending_children(builder, group, pending, path)
                    else:
                        del pending[group]
                continue
            if line.startswith("[") and line.endswith("]"):
                raise InputError(f"invalid section {line!r} (no spaces allowed in a section name)")
            if state == "hosts":
                _host_line(line, group, builder, where)
            elif state == "vars":
                key, sep, value = line.partition("=")
                if not sep:
                    raise InputError(f"expected key=value, got {line!r}")
                builder.set_group_var(group, key.strip(), parse_value(value.strip()))
            else:
                match = _GROUP_NAME.match(line)
                if not match:
                    raise InputError(f"expected a group name, got {line!r}")
                child = match.group(1)
                if child in builder.groups:
                    builder.add_child(group, child, where)
                elif child in pending:
                    pending[child].parents.append(group)
                else:
                    pending[child] = _Pending(number, "children", [group])
        except InputError as exc:
            errors.append(InputError(exc.message, exc.location or where))
    for name, declaration in pending.items():
        where = Location(path, declaration.line)
        if declaration.state == "vars":
            errors.append(InputError(f"section [{name}:vars] is for a group that is never declared", where))
        else:
            parent = declaration.parents[-1]
            errors.append(InputError(f"section [{parent}:children] names {name!r}, which is never declared", where))
    if errors:
        raise InputErrors(errors)


def _add_pending_children(builder: InventoryBuilder, group: str, pending: dict[str, _Pending], path: str) -> None:
    declaration = pending.pop(group)
    for parent in declaration.parents:
        builder.add_child(parent, group, Location(path, declaration.line))
        if parent in pending and pending[parent].state == "children":
            _add_pending_children(builder, parent, pending, path)


def _host_line(line: str, group: str, builder: InventoryBuilder, where: Location) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise InputError(f"cannot split host line: {exc}") from None
    if not tokens:
        return
    entry = tokens[0]
    pattern, port = ranges.split_port(entry)
    if entry.endswith(":") and port is None:
        raise InputError(f"host {entry!r} ends with ':' but gives no port")
    variables: dict[str, Any] = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            raise InputError(f"expected key=value after the host name, got {token!r}")
        variables[key] = parse_value(value)
    for name in ranges.expand(pattern) if "[" in pattern else [pattern]:
        builder.add_host(name, group, port, where)
        for key, value in variables.items():
            builder.set_host_var(name, key, value)


def parse_value(text: str) -> Any:
    """An INI value as Ansible reads it: a Python literal if it is one, else the text itself."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _plain(value)


def _plain(value: Any) -> Any:
    """Literal values as YAML would have them: tuples and sets become lists, bytes text."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if value is Ellipsis:
        return "..."
    if isinstance(value, complex):
        return str(value)
    return value
