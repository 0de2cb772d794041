"""Ansible YAML inventories: membership through children, merged vars, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.inventory import load_inventory

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return path


def test_example_inventory_resolves_hosts_groups_and_connection_vars() -> None:
    """Hosts get ansible_host/port/user/key; groups include ancestors through children."""
    inventory = load_inventory(ROOT / "inventories" / "example.yaml")
    names = [h.name for h in inventory.hosts]
    assert names == ["gpu-a100-01", "gpu-a100-02", "gpu-l4-01", "gpu-h100-01"]
    l4 = inventory.host("gpu-l4-01")
    assert (l4.address, l4.port, l4.user) == ("10.0.2.21", 2222, "audit")
    assert l4.groups == ("l4", "serving")
    h100 = inventory.host("gpu-h100-01")
    assert h100.key_file is not None and h100.key_file.endswith("/.ssh/training_ed25519")
    assert h100.port is None  # OpenSSH's default (or ~/.ssh/config) decides
    assert set(inventory.groups["serving"]) == {"gpu-a100-01", "gpu-a100-02", "gpu-l4-01"}


def test_deeper_group_vars_override_shallower_and_host_vars_win(tmp_path: Path) -> None:
    """all < parent group < child group < host, as Ansible merges them."""
    path = write(
        tmp_path,
        """
all:
  vars: {ansible_user: root, tier: base}
  children:
    parent:
      vars: {tier: parent, ansible_port: 2200}
      children:
        child:
          vars: {tier: child}
          hosts:
            h1:
            h2: {tier: host}
""",
    )
    inventory = load_inventory(path)
    h1, h2 = inventory.host("h1"), inventory.host("h2")
    assert h1.vars["tier"] == "child" and h2.vars["tier"] == "host"
    assert (h1.user, h1.port) == ("root", 2200)


def test_unknown_group_key_is_located_with_a_suggestion(tmp_path: Path) -> None:
    """A misspelt 'children' is an error naming file:line and the likely key."""
    path = write(tmp_path, "all:\n  childern:\n    a:\n      hosts: {h: }\n")
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert f"{path}:2: unknown key 'childern' in group 'all'; did you mean 'children'?" in str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("all:\n  hosts:\n    h1: {ansible_port: nope}\n", 0, "ansible_port must be a number"),
        ("all:\n  hosts: [a, b]\n", 2, "'hosts' of group 'all' must be a mapping"),
        ("all:\n  hosts:\n    h1:\n  hosts:\n    h2:\n", 4, "duplicate key 'hosts'"),
        ("all:\n  hosts:\n    h1: {x: [1, 2}\n", 3, "invalid YAML"),
        ("", 1, "inventory is empty"),
        ("all:\n  children:\n    a:\n      children:\n        a:\n", 5, "would be its own ancestor"),
    ],
)
def test_malformed_inventories_are_located(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    """Every kind of broken inventory gives an InputError with the file (and line when known)."""
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_inventory(path)
    message = str(info.value)
    assert fragment in message
    assert message.startswith(f"{path}:{line}:" if line else str(path))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A path that does not exist is reported as such, not as a traceback."""
    with pytest.raises(InputError, match="file not found"):
        load_inventory(tmp_path / "absent.yaml")
