"""Ansible YAML inventories, and the JSON that ``ansible-inventory --list`` prints.

YAML: top-level keys are groups (usually just ``all``); a group maps ``hosts``,
``children`` and ``vars``, each a mapping (or one name as a string). Host keys may
carry ranges and a ``:port``. Keys are processed in the order written, as Ansible
does. Unknown keys are errors with a did-you-mean (Ansible only warns, and
silently drops the misspelt section).

JSON (``ansible-inventory --list``, or what an inventory script prints): groups
with ``hosts`` and ``children`` as lists and ``vars`` as a mapping, and
``_meta.hostvars`` with each host's variables (already merged by Ansible).
"""

from __future__ import annotations

from typing import Any

from auditor.errors import InputError, InputErrors, Location
from auditor.inventory import ranges
from auditor.inventory.model import InventoryBuilder
from auditor.yamlsrc import YamlMap, as_text, check_keys, require_map, type_name

GROUP_KEYS = ("hosts", "children", "vars")


def is_list_json(data: dict[str, Any]) -> bool:
    """True for the ``ansible-inventory --list`` / inventory-script shape."""
    return "_meta" in data


def parse_yaml_inventory(data: YamlMap, builder: InventoryBuilder) -> None:
    """Add one YAML inventory to ``builder``; all problems are raised together, located."""
    if "plugin" in data:
        raise InputError(
            f"this is the configuration of the inventory plugin {data['plugin']!r}, which auditor does not run; "
            "pass what `ansible-inventory -i FILE --list` prints instead",
            data.loc("plugin"),
        )
    errors: list[InputError] = []
    for name, node in data.items():
        _group(name, node, data.loc(name), builder, errors)
    if errors:
        raise InputErrors(errors)


def _group(name: str, node: Any, where: Location, builder: InventoryBuilder, errors: list[InputError]) -> None:
    builder.add_group(name, where)
    if node is None:
        return
    if not isinstance(node, dict):
        errors.append(InputError(f"group {name!r} must be a mapping, got {type_name(node)}", where))
        return
    spec = require_map(node, f"group {name!r}", where)
    errors.extend(check_keys(spec, GROUP_KEYS, f"group {name!r}"))
    for key, section in spec.items():
        if key not in GROUP_KEYS or section is None:
            continue
        if isinstance(section, str):
            section = {section: None}
        if not isinstance(section, dict):
            errors.append(InputError(f"{key!r} of group {name!r} must be a mapping", spec.loc(key)))
            continue
        entries = require_map(section, key, spec.loc(key))
        if key == "vars":
            for var, value in entries.items():
                try:
                    builder.set_group_var(name, var, value)
                except InputError as exc:
                    errors.append(InputError(exc.message, entries.loc(var)))
        elif key == "children":
            for child, child_node in entries.items():
                _group(child, child_node, entries.loc(child), builder, errors)
                try:
                    builder.add_child(name, child, entries.loc(child))
                except InputError as exc:
                    errors.append(exc)
        else:
            for entry, host_vars in entries.items():
                _hosts(entry, host_vars, entries.loc(entry), name, builder, errors)


def _hosts(
    entry: Any, host_vars: Any, where: Location, group: str, builder: InventoryBuilder, errors: list[InputError]
) -> None:
    if not isinstance(entry, str):
        errors.append(InputError(f"host {entry!r} must be a string (quote numbers)", where))
        return
    if host_vars is not None and not isinstance(host_vars, dict):
        errors.append(InputError(f"host {entry!r} must map to its variables, got {type_name(host_vars)}", where))
        return
    pattern, port = ranges.split_port(entry)
    try:
        names = ranges.expand(pattern) if "[" in pattern else [pattern]
    except InputError as exc:
        errors.append(InputError(exc.message, where))
        return
    for host in names:
        builder.add_host(host, group, port, where)
        for key, value in (host_vars or {}).items():
            builder.set_host_var(host, key, value)


def parse_list_json(data: dict[str, Any], source: str, builder: InventoryBuilder) -> None:
    """Add ``ansible-inventory --list`` output (or an inventory script's) to ``builder``."""
    where = Location(source)
    meta = data.get("_meta")
    hostvars = meta.get("hostvars", {}) if isinstance(meta, dict) else None
    if not isinstance(hostvars, dict):
        raise InputError("'_meta.hostvars' must be a mapping of host names to their variables", where)
    listed: list[str] = []
    for group, node in data.items():
        if group == "_meta":
            continue
        builder.add_group(group, where)
        if not isinstance(node, dict):
            node = {"hosts": node}
        elif not any(key in node for key in GROUP_KEYS):
            node = {"hosts": [group], "vars": node}
        hosts = node.get("hosts", [])
        if not isinstance(hosts, list):
            raise InputError(f"'{group}.hosts' must be a list, got {type_name(hosts)}", where)
        for host in hosts:
            name = as_text(host, f"a host of group {group!r}", where)
            builder.add_host(name, group, where=where)
            listed.append(name)
        group_vars = node.get("vars", {})
        if not isinstance(group_vars, dict):
            raise InputError(f"'{group}.vars' must be a mapping, got {type_name(group_vars)}", where)
        for key, value in group_vars.items():
            builder.set_group_var(group, key, value)
        children = node.get("children", [])
        if not isinstance(children, list):
            raise InputError(f"'{group}.children' must be a list, got {type_name(children)}", where)
        for child in children:
            child_name = as_text(child, f"a child of group {group!r}", where)
            builder.add_group(child_name, where)
            builder.add_child(group, child_name, where)
    for name in dict.fromkeys(listed):
        own = hostvars.get(name, {})
        if not isinstance(own, dict):
            raise InputError(f"'_meta.hostvars.{name}' must be a mapping, got {type_name(own)}", where)
        for key, value in own.items():
            builder.set_host_var(name, key, value)
