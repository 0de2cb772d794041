"""``group_vars/`` and ``host_vars/`` beside an inventory, found the way Ansible finds them.

For an entity ``NAME`` in a directory ``D`` (the inventory file's directory, or the
inventory directory itself), the first of ``D/group_vars/NAME``, ``NAME.yml``,
``NAME.yaml``, ``NAME.json`` that exists is used. A directory is read recursively
in sorted order (hidden files and ``~`` backups skipped, only files without an
extension or with one of those three), each file merged over the previous one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor.errors import InputError, Location
from auditor.yamlsrc import load_yaml, type_name

EXTENSIONS = (".yml", ".yaml", ".json")
VAULT_HEADER = "$ANSIBLE_VAULT"


class VarsDirs:
    """Reads vars files under each base directory, in source order, each file once."""

    def __init__(self, bases: Sequence[Path]) -> None:
        self.bases = [base for base in bases if (base / "group_vars").is_dir() or (base / "host_vars").is_dir()]
        self._files: dict[Path, dict[str, Any]] = {}

    def __call__(self, kind: str, name: str) -> dict[str, Any]:
        """Merged variables of group or host ``name`` (``kind`` is ``"group"`` or ``"host"``)."""
        merged: dict[str, Any] = {}
        if not name or name.startswith(os.sep):
            return merged
        for base in self.bases:
            for path in find_vars_files(base / f"{kind}_vars", name):
                merged.update(self._load(path))
        return merged

    def _load(self, path: Path) -> dict[str, Any]:
        if path not in self._files:
            self._files[path] = load_vars_file(path)
        return self._files[path]


def find_vars_files(directory: Path, name: str) -> list[Path]:
    """The files holding ``name``'s variables in ``directory`` (module doc), in merge order."""
    if not directory.is_dir():
        return []
    for suffix in ("", *EXTENSIONS):
        candidate = directory / f"{name}{suffix}"
        if candidate.is_dir():
            return _dir_files(candidate)
        if candidate.exists():
            return [candidate]
    return []


def _dir_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(os.listdir(directory)):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        path = directory / entry
        extension = os.path.splitext(entry)[1]
        if path.is_dir() and not extension:
            found.extend(_dir_files(path))
        elif path.is_file() and (not extension or extension in EXTENSIONS):
            found.append(path)
    return found


def load_vars_file(path: Path) -> dict[str, Any]:
    """One vars file: a YAML (or JSON) mapping; empty files count as no variables."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(len(VAULT_HEADER))
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Location(str(path))) from None
    if head == VAULT_HEADER:
        raise InputError(
            "encrypted with ansible-vault, which auditor cannot read; keep connection variables in a plain file",
            Location(str(path), 1),
        )
    data = load_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"a vars file must be a mapping, got {type_name(data)}", Location(str(path), 1))
    return dict(data)
