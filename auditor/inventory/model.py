"""The inventory as Ansible builds it, and its resolution into hosts.

Every source format (INI, YAML, ``ansible-inventory --list`` JSON) feeds one
``InventoryBuilder``; repeated ``-i`` sources feed the same builder in order, so
later sources add hosts and groups and override variables, as in Ansible.

``resolve`` then applies Ansible's rules (ansible-core's ``VariableManager``):
top-level groups become children of ``all``; hosts in no group join ``ungrouped``;
a group's depth is its longest path from ``all``; variables merge, lowest first:

1. inventory vars: ``all``'s, then every other group's of the host, by (depth,
   ``ansible_group_priority``, name);
2. ``group_vars/`` files beside each source: ``all``'s, then those groups' in the
   same order (so ``group_vars/all`` beats any group's inventory vars);
3. the host's inventory vars, then its ``host_vars/`` files.

Merging replaces whole values (Ansible's default ``hash_behaviour``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.errors import InputError, InputErrors, Location
from auditor.records import record

RESERVED_GROUPS = ("all", "ungrouped")


@dataclass
class _Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    priority: int = 1
    where: Location | None = None


@dataclass
class _HostEntry:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    where: Location | None = None


VarsLoader = Callable[[str, str], dict[str, Any]]
"""``(kind, name) -> vars``: merged ``group_vars``/``host_vars`` files for one entity."""


class InventoryBuilder:
    """Groups, hosts and their own variables, added source by source (Ansible's ``InventoryData``)."""

    def __init__(self) -> None:
        self.groups: dict[str, _Group] = {"all": _Group("all"), "ungrouped": _Group("ungrouped")}
        self.groups["all"].children.append("ungrouped")
        self.groups["ungrouped"].parents.append("all")
        self.hosts: dict[str, _HostEntry] = {}

    def add_group(self, name: str, where: Location | None = None) -> None:
        """Declare a group (again: a no-op)."""
        if not name:
            raise InputError("a group needs a name", where)
        if name not in self.groups:
            self.groups[name] = _Group(name, where=where)

    def add_host(
        self, name: str, group: str | None = None, port: int | None = None, where: Location | None = None
    ) -> None:
        """Declare a host, optionally in ``group``; ``port`` applies only when the host is new."""
        if not name:
            raise InputError("a host needs a name", where)
        entry = self.hosts.get(name)
        if entry is None:
            entry = self.hosts[name] = _HostEntry(name, where=where)
            if port:
                entry.vars["ansible_port"] = port
        if group is not None:
            members = self.groups[group].hosts
            if name not in members:
                members.append(name)

    def set_group_var(self, group: str, key: str, value: Any) -> None:
        """A variable of a group; ``ansible_group_priority`` orders the merge instead."""
        target = self.groups[group]
        if key == "ansible_group_priority":
            try:
                target.priority = int(value)
            except (TypeError, ValueError):
                raise InputError(f"group {group!r}: ansible_group_priority must be a number, got {value!r}") from None
            return
        target.vars[key] = value

    def set_host_var(self, host: str, key: str, value: Any) -> None:
        """A variable of a host."""
        self.hosts[host].vars[key] = value

    def add_child(self, parent: str, child: str, where: Location | None = None) -> None:
        """Make ``child`` a sub-group of ``parent``; a cycle is an ``InputError``."""
        if child == "all":
            raise InputError("'all' cannot be a child group", where)
        if child == parent or parent in self._descendants(child):
            raise InputError(f"group {child!r} would be its own ancestor (through {parent!r})", where)
        if child not in self.groups[parent].children:
            self.groups[parent].children.append(child)
        if parent not in self.groups[child].parents:
            self.groups[child].parents.append(parent)

    def _descendants(self, name: str) -> set[str]:
        seen: set[str] = set()
        stack = [name]
        while stack:
            for child in self.groups[stack.pop()].children:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def resolve(self, source: str, vars_files: VarsLoader | None = None) -> ResolvedInventory:
        """Apply Ansible's rules (module doc) and return the hosts with merged variables."""
        self._reconcile()
        depth = self._depths()
        ancestors = self._ancestors()
        direct: dict[str, list[str]] = {name: [] for name in self.hosts}
        for node in self.groups.values():
            for host in node.hosts:
                direct[host].append(node.name)
        load = vars_files or (lambda kind, name: {})
        group_files: dict[str, dict[str, Any]] = {}

        def files_of(group: str) -> dict[str, Any]:
            if group not in group_files:
                group_files[group] = load("group", group)
            return group_files[group]

        resolved: list[ResolvedHost] = []
        errors: list[InputError] = []
        by_groups: dict[tuple[str, ...], dict[str, Any]] = {}  # hosts in the same groups share their merge
        for entry in self.hosts.values():
            member_of: set[str] = set()
            for group in direct[entry.name]:
                member_of.add(group)
                member_of |= ancestors[group]
            member_of.discard("all")
            ordered = sorted(member_of, key=lambda g: (depth[g], self.groups[g].priority, g))
            key = tuple(ordered)
            if key not in by_groups:
                shared = dict(self.groups["all"].vars)
                for group in ordered:
                    shared.update(self.groups[group].vars)
                for group in ("all", *ordered):
                    shared.update(files_of(group))
                by_groups[key] = shared
            merged = dict(by_groups[key])
            merged.update(entry.vars)
            try:
                merged.update(load("host", entry.name))
            except InputError as exc:
                errors.append(exc)
            resolved.append(ResolvedHost(entry.name, tuple(sorted(member_of)), merged, entry.where))
        if errors:
            raise InputErrors(errors)
        return ResolvedInventory(
            hosts=tuple(resolved), groups={name: self.group_hosts(name) for name in self.groups}, source=source
        )

    def _reconcile(self) -> None:
        for group in list(self.groups.values()):
            if group.name != "all" and not group.parents:
                self.add_child("all", group.name)
        direct: dict[str, set[str]] = {name: set() for name in self.hosts}
        for group in self.groups.values():
            for host in group.hosts:
                direct[host].add(group.name)
        ungrouped = self.groups["ungrouped"]
        for name, groups in direct.items():
            real = groups - set(RESERVED_GROUPS)
            if "ungrouped" in groups and real:
                ungrouped.hosts.remove(name)
            elif "ungrouped" not in groups and not real:
                ungrouped.hosts.append(name)

    def _depths(self) -> dict[str, int]:
        depth: dict[str, int] = {}

        def visit(name: str, trail: frozenset[str]) -> int:
            if name not in depth:
                parents = [p for p in self.groups[name].parents if p not in trail]
                depth[name] = 1 + max((visit(p, trail | {name}) for p in parents), default=-1)
            return depth[name]

        for name in self.groups:
            visit(name, frozenset())
        return depth

    def _ancestors(self) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {}

        def visit(name: str) -> set[str]:
            if name not in result:
                result[name] = set()  # cycles are refused by add_child; this guards anyway
                found: set[str] = set()
                for parent in self.groups[name].parents:
                    found.add(parent)
                    found |= visit(parent)
                result[name] = found
            return result[name]

        for name in self.groups:
            visit(name)
        return result

    def group_hosts(self, name: str) -> tuple[str, ...]:
        """A group's hosts, its own first, then its sub-groups' level by level (Ansible's order)."""
        order: list[str] = []
        seen_hosts: set[str] = set()
        seen_groups = {name}
        level = [name]
        while level:
            for group in level:
                for host in self.groups[group].hosts:
                    if host not in seen_hosts:
                        seen_hosts.add(host)
                        order.append(host)
            following: list[str] = []
            for group in level:
                for child in self.groups[group].children:
                    if child not in seen_groups:
                        seen_groups.add(child)
                        following.append(child)
            level = following
        return tuple(order)


@record
class ResolvedHost:
    """A host with its groups (``all`` excluded, ``ungrouped`` when it has none) and merged vars."""

    name: str
    groups: tuple[str, ...]
    vars: Mapping[str, Any]
    where: Location | None = None


@record
class ResolvedInventory:
    """Resolved hosts in declaration order, and each group's hosts in Ansible's order."""

    hosts: Sequence[ResolvedHost]
    groups: Mapping[str, tuple[str, ...]]
    source: str
