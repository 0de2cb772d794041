"""Inventory sources as ``-i`` names them: files, directories, ``host1,host2`` lists.

Formats are told apart as Ansible tells them apart: ``.yml``/``.yaml``/``.json``
files are structured (YAML inventory, or ``ansible-inventory --list`` JSON when
there is a ``_meta`` key); a file without an extension is structured when it
parses as a YAML mapping, else INI; any other file is INI. A directory is every
inventory file in it, sorted, recursively (hidden files, ``group_vars``,
``host_vars`` and Ansible's ignored extensions skipped). Sources are read in the
order given, into one inventory. Inventory scripts, plugin configurations and files
encrypted with ansible-vault are refused with the command that turns them into JSON
auditor reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from auditor.errors import InputError, InputErrors, Location
from auditor.inventory import ranges
from auditor.inventory.model import InventoryBuilder, ResolvedInventory
from auditor.inventory.varsdirs import VAULT_HEADER, VarsDirs
from auditor.inventory.yaml_format import is_list_json, parse_list_json, parse_yaml_inventory
from auditor.yamlsrc import parse_yaml, read_text, require_map, type_name

STRUCTURED = (".yml", ".yaml", ".json")
IGNORED_NAMES = ("group_vars", "host_vars", "vars_plugins")
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry")


def load_sources(sources: Sequence[str]) -> ResolvedInventory:
    """Read every source into one inventory and resolve it (``model`` module doc)."""
    if not sources:
        raise InputError("no inventory given")
    builder = InventoryBuilder()
    bases: list[Path] = []
    errors: list[InputError] = []
    for source in sources:
        path = Path(source).expanduser()
        try:
            if path.is_dir():
                _load_dir(path, builder)
                bases.append(path.resolve())
            elif path.exists():
                _load_file(path, builder)
                bases.append(path.resolve().parent)
            elif "," in source:
                _load_host_list(source, builder)
            else:
                raise InputError("inventory file not found", Location(source))
        except InputError as exc:
            errors.extend(exc.problems)
    if errors:
        raise InputErrors(errors)
    resolved = builder.resolve(", ".join(sources), VarsDirs(bases))
    if not resolved.hosts:
        raise InputError("the inventory lists no hosts", Location(", ".join(sources)))
    return resolved


def _load_dir(directory: Path, builder: InventoryBuilder) -> None:
    for entry in sorted(os.listdir(directory)):
        if entry.startswith(".") or entry in IGNORED_NAMES or entry.endswith(IGNORED_SUFFIXES):
            continue
        path = directory / entry
        if path.is_dir():
            _load_dir(path, builder)
        elif path.is_file():
            _load_file(path, builder)


def _load_file(path: Path, builder: InventoryBuilder) -> None:
    name = str(path)
    text = read_text(path)
    suffix = path.suffix if path.suffix in STRUCTURED or not path.suffix else ".ini"
    if text.startswith("#!") and os.access(path, os.X_OK):
        raise InputError(
            "an inventory script, which auditor does not run; pass its output instead: "
            f"`ansible-inventory -i {name} --list > inventory.json`",
            Location(name, 1),
        )
    if text.startswith(VAULT_HEADER):
        raise InputError(
            "encrypted with ansible-vault, which auditor does not decrypt; pass what Ansible reads from it: "
            f"`ansible-inventory -i {name} --ask-vault-pass --list > inventory.json`, then `-i inventory.json`",
            Location(name, 1),
        )
    if path.suffix == ".toml":
        raise InputError("TOML inventories are not supported; use INI or YAML", Location(name))
    if suffix == ".json" or (not path.suffix and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(
                f"invalid JSON: {getattr(exc, 'msg', exc)}", Location(name, getattr(exc, "lineno", 0))
            ) from None
        _structured(data, name, builder)
    elif suffix in (".yml", ".yaml"):
        _structured(parse_yaml(text, name), name, builder)
    elif suffix == "":
        try:
            data = parse_yaml(text, name)
        except InputError:
            data = None
        if isinstance(data, dict) and data:
            _structured(data, name, builder)
        else:
            _ini(text, name, builder)
    else:
        _ini(text, name, builder)


def _ini(text: str, name: str, builder: InventoryBuilder) -> None:
    from auditor.inventory.ini_format import parse_ini  # only for INI files: a YAML or JSON fleet never loads it

    parse_ini(text, name, builder)


def _structured(data: object, name: str, builder: InventoryBuilder) -> None:
    where = Location(name, 1)
    if data is None or data == {}:
        raise InputError("inventory is empty", where)
    if not isinstance(data, dict):
        raise InputError(f"an inventory must be a mapping of groups, got {type_name(data)}", where)
    if is_list_json(data):
        parse_list_json(data, name, builder)
    else:
        parse_yaml_inventory(require_map(data, "an inventory", where), builder)


def _load_host_list(source: str, builder: InventoryBuilder) -> None:
    """``host1,host2:2222,`` (Ansible's ``host_list``): hosts in ``ungrouped``, no ranges."""
    for entry in (part.strip() for part in source.split(",")):
        if not entry:
            continue
        host, port = ranges.split_port(entry)
        if "[" in host:
            host, port = entry, None
        builder.add_host(host, "ungrouped", port, Location(source))
