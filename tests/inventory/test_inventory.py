"""Ansible inventories: membership through children, merged vars, formats, located errors.

tests/inventory/test_ansible.py checks the same reading against Ansible itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.errors import InputError
from auditor.inventory import load_inventories, load_inventory
from auditor.inventory.ini_format import parse_value
from auditor.inventory.ranges import expand, split_port
from tests.support.paths import ROOT

ROOT = ROOT


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
    with pytest.raises(InputError, match="inventory file not found"):
        load_inventory(tmp_path / "absent.yaml")


def test_gpu_inventory_example_order_follows_declaration() -> None:
    """Hosts keep the order the inventory declares them in; groups list theirs in Ansible's order."""
    inventory = load_inventory(ROOT / "inventories" / "example.yaml")
    assert inventory.groups["all"][0] == "gpu-h100-01"  # Ansible: a group's own hosts before its children's
    assert inventory.groups["serving"] == ("gpu-a100-01", "gpu-a100-02", "gpu-l4-01")


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("gpu[01:03]", ["gpu01", "gpu02", "gpu03"]),
        ("node-[a:c]", ["node-a", "node-b", "node-c"]),
        ("db[1:9:4]", ["db1", "db5", "db9"]),
        ("r[1:2]-n[a:b]", ["r1-na", "r1-nb", "r2-na", "r2-nb"]),
        ("x[:2]", ["x0", "x1", "x2"]),
        ("plain", ["plain"]),
    ],
)
def test_host_ranges_expand_like_ansible(pattern: str, names: list[str]) -> None:
    """Numeric (zero-padded), alphabetic, stepped, open-start and repeated ranges."""
    assert expand(pattern) == names


@pytest.mark.parametrize("pattern", ["gpu[01:5]", "gpu[1:]", "gpu[1:2:0]", "gpu[c:a]", "gpu[1:2", "gpu[1-2]"])
def test_malformed_ranges_are_input_errors(pattern: str) -> None:
    """Unequal zero padding, no end, a zero step, a backwards letter range, unclosed or dashed ranges."""
    with pytest.raises(InputError):
        expand(pattern)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("web1:2222", ("web1", 2222)),
        ("[2001:db8::1]:2222", ("2001:db8::1", 2222)),
        ("2001:db8::1", ("2001:db8::1", None)),
        ("10.0.0.[1:3]:22", ("10.0.0.[1:3]", 22)),
        ("not a host", ("not a host", None)),
    ],
)
def test_host_entries_split_off_their_port(entry: str, expected: tuple[str, int | None]) -> None:
    """A port follows a colon (bracketed for IPv6); what is not a host name stays whole."""
    assert split_port(entry) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8", 8),
        ("0x10", 16),
        ("True", True),
        ("None", None),
        ("[1, 'a']", [1, "a"]),
        ("(1, 2)", [1, 2]),
        ("two words", "two words"),
        ("abc", "abc"),
        ("{'k': (1,)}", {"k": [1]}),
        ("b'x'", "x"),
        ("...", "..."),
    ],
)
def test_ini_values_are_read_as_python_literals_like_ansible(text: str, value: object) -> None:
    """INI values that are Python literals become numbers, booleans, lists; the rest stays text."""
    assert parse_value(text) == value


def write_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[web]\nh1 port\n", 2, "expected key=value"),
        ("[web:stuff]\nh1\n", 1, "unknown type 'stuff'"),
        ("[web]\nh1\n[web :vars]\n", 3, "invalid section"),
        ("[a:children]\nmissing\n", 2, "names 'missing', which is never declared"),
        ("[ghost:vars]\nx=1\n", 1, "never declared"),
        ("[web]\nh1 x='unclosed\n", 2, "cannot split"),
        ("[web]\nh[1:]\n", 2, "no end"),
        ("[a:children]\nb\n[b:children]\na\n", 4, "its own ancestor"),
    ],
)
def test_ini_errors_are_located(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    """Every malformed INI line is an InputError naming file:line."""
    path = write_file(tmp_path, "hosts.ini", text)
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert fragment in str(info.value) and f"{path}:{line}:" in str(info.value)


def test_host_list_source_is_ungrouped_hosts_with_ports() -> None:
    """`-i 'a,b:2222,'` lists hosts directly, as Ansible's host_list does."""
    inventory = load_inventories(["gpu-a,gpu-b:2222,"])
    assert [(h.name, h.port, h.groups) for h in inventory.hosts] == [
        ("gpu-a", None, ("ungrouped",)),
        ("gpu-b", 2222, ("ungrouped",)),
    ]


def test_repeated_sources_merge_in_order(tmp_path: Path) -> None:
    """A later -i adds hosts and overrides an earlier one's variables for the same group."""
    first = write_file(tmp_path, "a/hosts.ini", "[web]\nw1 colour=red\n[web:vars]\nowner=a\n")
    second = write_file(tmp_path, "b/more.yml", "web:\n  vars: {owner: b}\n  hosts: {w2: }\n")
    inventory = load_inventories([str(first), str(second)])
    assert [h.name for h in inventory.hosts] == ["w1", "w2"]
    assert {h.vars["owner"] for h in inventory.hosts} == {"b"}
    assert inventory.host("w1").vars["colour"] == "red"


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("dyn.py", "#!/usr/bin/env python3\nprint('{}')\n", "ansible-inventory -i"),
        ("aws_ec2.yml", "plugin: amazon.aws.aws_ec2\nregions: [us-east-1]\n", "inventory plugin 'amazon.aws.aws_ec2'"),
        ("hosts.toml", "[web]\n", "TOML"),
        ("list.json", '{"_meta": {"hostvars": []}, "all": {}}', "_meta.hostvars"),
        ("bad.json", '{"all": ', "invalid JSON"),
    ],
)
def test_sources_auditor_cannot_read_say_what_to_do(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    """Scripts, plugin configurations, TOML and malformed JSON are refused with a way forward."""
    path = write_file(tmp_path, name, text)
    path.chmod(0o755)
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert fragment in str(info.value)


def test_vault_encrypted_vars_file_is_refused(tmp_path: Path) -> None:
    """An ansible-vault file in group_vars/ is an error naming it, not silently skipped."""
    path = write_file(tmp_path, "hosts", "[web]\nw1\n")
    write_file(tmp_path, "group_vars/web.yml", "$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    with pytest.raises(InputError, match="ansible-vault"):
        load_inventory(path)


def test_connection_vars_resolve_variable_references(tmp_path: Path) -> None:
    """`{{ var }}` in ansible_host/ansible_ssh_common_args takes the host's variables."""
    path = write_file(
        tmp_path,
        "inv.yml",
        """all:
  vars:
    domain: gpu.example.com
    bastion: jump.example.com
    ansible_host: "{{ inventory_hostname }}.{{ domain }}"
    ansible_ssh_common_args: "-J {{ bastion }}"
  hosts:
    h1:
""",
    )
    host = load_inventory(path).host("h1")
    assert (host.address, host.proxy_jump) == ("h1.gpu.example.com", "jump.example.com")


def test_jinja_expressions_in_connection_vars_are_refused(tmp_path: Path) -> None:
    """Filters and expressions are not evaluated: the host's location says so."""
    path = write_file(tmp_path, "inv.yml", 'all:\n  hosts:\n    h1: {ansible_host: "{{ name | lower }}"}\n')
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert f"{path}:3: host 'h1': ansible_host is a Jinja template" in str(info.value)


@pytest.mark.parametrize(
    ("args", "jump", "command"),
    [
        ("-o ProxyJump=bastion", "bastion", None),
        ("-J admin@bastion:2022", "admin@bastion:2022", None),
        ("-oProxyJump=a,b -o ProxyJump=ignored", "a,b", None),
        ('-o "ProxyCommand ssh -W %h:%p gw" -o StrictHostKeyChecking=no', None, "ssh -W %h:%p gw"),
        ("-o ProxyJump=none", None, None),
    ],
)
def test_proxy_settings_come_from_ssh_common_args(
    tmp_path: Path, args: str, jump: str | None, command: str | None
) -> None:
    """ProxyJump (-J or -o) and ProxyCommand are read; the first of each wins, as in ssh."""
    path = write_file(tmp_path, "hosts", f"h1 ansible_ssh_common_args='{args}'\n")
    host = load_inventory(path).host("h1")
    assert (host.proxy_jump, host.proxy_command) == (jump, command)


@given(st.from_regex(r"[A-Za-z0-9_.][A-Za-z0-9_.:-]{0,40}", fullmatch=True))
def test_a_plain_name_is_one_no_rule_refuses(text: str) -> None:
    """What the loader lets through without running the rules (letters, digits, ``. _ : -``) passes every rule."""
    from auditor.inventory import _PLAIN_NAME, hostnames

    assert _PLAIN_NAME.fullmatch(text)
    assert hostnames.name_problem(text) is hostnames.address_problem(text) is hostnames.user_problem(text) is None
