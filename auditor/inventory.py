"""Ansible YAML inventories: the hosts to audit, their groups and connection variables.

Reads the format ``ansible-inventory`` reads: top-level groups (usually ``all``),
each with ``hosts``, ``children`` and ``vars``. A host belongs to every group
that lists it and to every ancestor of those groups. Variables merge the way
Ansible merges them: ``all`` first, then groups from shallow to deep (ties by
name), then the host's own. Connection variables understood here:
``ansible_host``, ``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError, InputErrors, Location
from auditor.yamlsrc import YamlMap, check_keys, load_yaml, require_map, type_name

GROUP_KEYS = ("hosts", "children", "vars")


@dataclass(frozen=True)
class Host:
    """One target: where to connect and what the inventory says about it."""

    name: str
    address: str
    port: int | None = None
    user: str | None = None
    key_file: str | None = None
    groups: tuple[str, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def in_group(self, group: str) -> bool:
        """True for ``all`` and for every group the host belongs to, through children too."""
        return group == "all" or group in self.groups


@dataclass(frozen=True)
class Inventory:
    """Resolved hosts in inventory order, and every group with its transitive members."""

    hosts: tuple[Host, ...]
    groups: Mapping[str, tuple[str, ...]]
    source: str

    def host(self, name: str) -> Host:
        """The host called ``name`` (KeyError if absent)."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)


@dataclass
class _Group:
    name: str
    depth: int = 0
    parents: set[str] = field(default_factory=set)
    children: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


def load_inventory(path: str | Path) -> Inventory:
    """Read an Ansible YAML inventory file. Every problem found is raised at once, located."""
    data = load_yaml(path)
    where = Location(str(path), 1)
    if data is None:
        raise InputError("inventory is empty", where)
    return parse_inventory(require_map(data, "an inventory", where), str(path))


def parse_inventory(data: YamlMap, source: str) -> Inventory:
    """Build an Inventory from parsed YAML (see module doc for the rules)."""
    groups: dict[str, _Group] = {"all": _Group("all")}
    host_vars: dict[str, dict[str, Any]] = {}
    host_order: list[str] = []
    errors: list[InputError] = []

    def visit(name: str, node: Any, where: Location, parent: str | None) -> None:
        group = groups.setdefault(name, _Group(name))
        if parent is not None and parent != name:
            group.parents.add(parent)
            if name not in groups[parent].children:
                groups[parent].children.append(name)
        if node is None:
            return
        if not isinstance(node, dict):
            errors.append(InputError(f"group {name!r} must be a mapping, got {type_name(node)}", where))
            return
        spec = require_map(node, f"group {name!r}", where)
        errors.extend(check_keys(spec, GROUP_KEYS, f"group {name!r}"))
        hosts = spec.get("hosts")
        if hosts is not None:
            if not isinstance(hosts, dict):
                errors.append(InputError(f"'hosts' of group {name!r} must be a mapping", spec.loc("hosts")))
            else:
                hosts_map = require_map(hosts, "hosts", spec.loc("hosts"))
                for host_name, host_spec in hosts_map.items():
                    add_host(host_name, host_spec, hosts_map.loc(host_name), group)
        group_vars = spec.get("vars")
        if group_vars is not None:
            if not isinstance(group_vars, dict):
                errors.append(InputError(f"'vars' of group {name!r} must be a mapping", spec.loc("vars")))
            else:
                group.vars.update(group_vars)
        children = spec.get("children")
        if children is not None:
            if not isinstance(children, dict):
                errors.append(InputError(f"'children' of group {name!r} must be a mapping", spec.loc("children")))
            else:
                children_map = require_map(children, "children", spec.loc("children"))
                for child, child_spec in children_map.items():
                    if child == "all":
                        errors.append(InputError("'all' cannot be a child group", children_map.loc(child)))
                        continue
                    if _reaches(groups, child, name):
                        errors.append(InputError(f"group {child!r} would be its own ancestor", children_map.loc(child)))
                        continue
                    visit(child, child_spec, children_map.loc(child), name)

    def add_host(name: str, spec: Any, where: Location, group: _Group) -> None:
        if spec is not None and not isinstance(spec, dict):
            errors.append(InputError(f"host {name!r} must map to its variables, got {type_name(spec)}", where))
            return
        if name not in host_vars:
            host_vars[name] = {}
            host_order.append(name)
        if spec:
            host_vars[name].update(spec)
        if name not in group.hosts:
            group.hosts.append(name)

    for top, node in data.items():
        visit(top, node, data.loc(top), None if top == "all" else "all")
    if errors:
        raise InputErrors(errors)

    _assign_depths(groups)
    members = _transitive_members(groups)
    hosts = []
    for name in host_order:
        host_groups = sorted(g for g, names in members.items() if name in names and g not in ("all",))
        merged: dict[str, Any] = {}
        for group_name in sorted(["all", *host_groups], key=lambda g: (groups[g].depth, g != "all", g)):
            merged.update(groups[group_name].vars)
        merged.update(host_vars[name])
        try:
            hosts.append(_make_host(name, merged, host_groups))
        except InputError as exc:
            errors.append(InputError(exc.message, Location(source)))
    if errors:
        raise InputErrors(errors)
    if not hosts:
        raise InputError("inventory lists no hosts", Location(source, 1))
    ungrouped = tuple(h.name for h in hosts if not h.groups)
    group_members = {g: tuple(n for n in host_order if n in names) for g, names in members.items()}
    group_members["ungrouped"] = ungrouped
    return Inventory(hosts=tuple(hosts), groups=group_members, source=source)


def _make_host(name: str, merged: Mapping[str, Any], groups: Iterable[str]) -> Host:
    port = merged.get("ansible_port")
    if port is not None:
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise InputError(f"host {name!r}: ansible_port must be a number, got {port!r}") from None
        if not 0 < port < 65536:
            raise InputError(f"host {name!r}: ansible_port {port} is out of range")
    address = merged.get("ansible_host", name)
    user = merged.get("ansible_user")
    key_file = merged.get("ansible_ssh_private_key_file")
    return Host(
        name=name,
        address=str(address),
        port=port,
        user=None if user is None else str(user),
        key_file=None if key_file is None else str(Path(str(key_file)).expanduser()),
        groups=tuple(groups),
        vars=dict(merged),
    )


def _reaches(groups: Mapping[str, _Group], start: str, target: str) -> bool:
    """True when ``target`` is ``start`` or one of its descendants (a cycle if linked)."""
    seen, stack = set(), [start]
    while stack:
        name = stack.pop()
        if name == target:
            return True
        if name in seen or name not in groups:
            continue
        seen.add(name)
        stack.extend(groups[name].children)
    return False


def _assign_depths(groups: Mapping[str, _Group]) -> None:
    def depth(name: str, trail: frozenset[str] = frozenset()) -> int:
        parents = groups[name].parents - trail
        return 0 if not parents else 1 + max(depth(p, trail | {name}) for p in parents)

    for group in groups.values():
        group.depth = depth(group.name)


def _transitive_members(groups: Mapping[str, _Group]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}

    def members(name: str) -> set[str]:
        if name not in result:
            result[name] = set()  # guards against cycles
            found = set(groups[name].hosts)
            for child in groups[name].children:
                found |= members(child)
            result[name] = found
        return result[name]

    for name in groups:
        members(name)
    return result
