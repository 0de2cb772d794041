"""Differential tests: auditor reads the inventories in tests/inventories/ exactly as Ansible does.

For each case, Ansible itself (``ansible-inventory --list`` and its pattern engine,
through tests/support/ansible_oracle.py) says which hosts exist, their groups and merged
variables, and which hosts each ``--limit`` pattern selects; auditor must agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.errors import InputError
from auditor.inventory import Inventory, load_inventories
from auditor.inventory.patterns import select
from tests.support.paths import TESTS

CORPUS = TESTS / "inventories"
ORACLE = TESTS / "support" / "ansible_oracle.py"

CASES: dict[str, list[str]] = {
    "ini-basic": ["ini-basic/hosts"],
    "yaml-nested": ["yaml-nested/inventory.yml"],
    "multi": ["multi/one/hosts.ini", "multi/two/more.yml", "extra1,extra2:2022,"],
    "directory": ["directory"],
}
PATTERNS: dict[str, list[str]] = {
    "ini-basic": [
        "web",
        "db:&gpu",
        "db,gpu",
        "web:!web01",
        "!web",
        "&db",
        "web[0:1]",
        "web[1:]",
        "web[-1]",
        "web[2]",
        "db[0:0]",
        "*.example.com:!db*",
        "~web0[12]",
        "~^db-[ab]",
        "web0?",
        "ungrouped",
        "all:!ungrouped:!web",
        "web0[12]",
        "bastion,replica*",
        "web01:2222",
        "nomatch",
        "nomatch,web02",
        "web[10]",
    ],
    "yaml-nested": [
        "serving",
        "datacenter:!training",
        "serving:&training",
        "gpu-h100-0[1-3]",
        "h100[0:2]",
        "all[0:2]",
        "~gpu-h100-0[19]",
        "edge-*,lab*",
        "alpha:beta",
        # Refused by Ansible (an invalid regex, a slice past the end, a missing file; a crash on a bare ! or &):
        "~(",
        "serving[-7]",
        "serving,~[",
        "@",
        "!",
        "&",
        "serving:!",
        "serving:&",
        # Misread by Ansible's ':'-list splitter, which drops an unbalanced bracket: refused here.
        "~[",
        "serving[0",
        "serving[0:1",
        "serving]",
        "[",
        "~serving[",
        "&serving[0",
        # Deliberate differences (DELIBERATE below), and what Ansible effectively runs instead.
        "~",
        "all",
        "serving[0,edge-a",
        "edge-a",
    ],
    "multi": ["serving:&batch", "ungrouped", "extra*", "serving[1]"],
}


# Patterns Ansible accepts and auditor refuses, on purpose (patterns.py says why), with the
# pattern Ansible effectively runs instead: '~' is an empty regex (every host); in a ','-list an
# unbalanced bracket is a glob that matches nothing, so Ansible warns and drops it.
DELIBERATE = {"~": "all", "serving[0,edge-a": "edge-a"}
SEPARATORS = set(",: \t")


def _ansible_available() -> bool:
    try:
        import ansible  # noqa: F401
    except ImportError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _ansible_available(), reason="ansible-core is not installed (pip install -e '.[test]')"
)


def _sources(case: str) -> list[str]:
    return [str(CORPUS / s) if (CORPUS / s).exists() else s for s in CASES[case]]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run Ansible once per case (from an empty directory, with an empty HOME)."""
    answers: dict[str, dict[str, Any]] = {}

    def ask(case: str) -> dict[str, Any]:
        if case not in answers:
            workdir = tmp_path_factory.mktemp(f"ansible-{case}")
            out = workdir / "answer.json"
            spec = {"sources": _sources(case), "patterns": PATTERNS.get(case, [])}
            env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
            env.update(HOME=str(workdir), ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"), ANSIBLE_NOCOLOR="1")
            run = subprocess.run(
                [sys.executable, str(ORACLE), json.dumps(spec), str(out)],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            assert run.returncode == 0 and out.exists(), run.stdout + run.stderr
            answers[case] = json.loads(out.read_text())
        return answers[case]

    return ask


def ansible_view(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Hosts, groups through children and connection settings from ``ansible-inventory --list``."""
    hostvars = listing["_meta"]["hostvars"]
    parents: dict[str, set[str]] = {}
    direct: dict[str, set[str]] = {}
    for group, node in listing.items():
        if group == "_meta":
            continue
        for child in node.get("children", []):
            parents.setdefault(child, set()).add(group)
        for host in node.get("hosts", []):
            direct.setdefault(host, set()).add(group)

    def ancestors(group: str) -> set[str]:
        found = {group}
        for parent in parents.get(group, ()):
            found |= ancestors(parent)
        return found

    view = {}
    for host in {**dict.fromkeys(direct), **dict.fromkeys(hostvars)}:
        variables = hostvars.get(host, {})  # --list leaves out hosts without variables
        groups = set().union(*(ancestors(g) for g in direct.get(host, set()))) - {"all"}

        def last(*names: str, default: Any = None, variables: dict[str, Any] = variables) -> Any:
            found = [variables[n] for n in names if variables.get(n) is not None]
            return found[-1] if found else default

        port = last("ansible_port", "ansible_ssh_port")
        view[host] = {
            "address": last("ansible_host", "ansible_ssh_host", default=host),
            "port": None if port is None else int(port),
            "user": last("ansible_user", "ansible_ssh_user"),
            "groups": sorted(groups),
            "vars": variables,
        }
    return view


def auditor_view(inventory: Inventory) -> dict[str, dict[str, Any]]:
    """The same facts from auditor's inventory, vars as JSON would carry them."""
    return {
        host.name: {
            "address": host.address,
            "port": host.port,
            "user": host.user,
            "groups": list(host.groups),
            "vars": json.loads(json.dumps(dict(host.vars), default=str)),
        }
        for host in inventory.hosts
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_hosts_groups_and_merged_vars_match_ansible(case: str, oracle: Any) -> None:
    """Same hosts, addresses, ports, users, group membership and merged vars as ansible-inventory."""
    expected = ansible_view(oracle(case)["list"])
    assert auditor_view(load_inventories(_sources(case))) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_ansible_inventory_list_json_reads_back_the_same(case: str, oracle: Any, tmp_path: Path) -> None:
    """The JSON `ansible-inventory --list` prints, given to auditor, describes the same inventory."""
    listing = oracle(case)["list"]
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(listing))
    assert auditor_view(load_inventories([str(path)])) == ansible_view(listing)


@pytest.mark.parametrize(("case", "pattern"), [(c, p) for c in sorted(PATTERNS) for p in PATTERNS[c]])
def test_limit_patterns_select_what_ansible_selects(case: str, pattern: str, oracle: Any) -> None:
    """Each --limit pattern selects the hosts Ansible's pattern engine selects, and is refused where Ansible refuses it.

    Where Ansible's own splitter drops characters of the pattern (an unbalanced bracket), auditor
    refuses the pattern instead of running what is left of it.
    """
    answers = oracle(case)["patterns"]
    answer = answers[pattern]
    inventory = load_inventories(_sources(case))
    dropped = set(pattern) - SEPARATORS - set("".join(answer["split"]))
    if "error" in answer:
        with pytest.raises(InputError):
            select(inventory, pattern)
    elif dropped:
        with pytest.raises(InputError, match="unbalanced"):
            select(inventory, pattern)
    elif pattern in DELIBERATE:
        assert answer["hosts"] == answers[DELIBERATE[pattern]]["hosts"]
        with pytest.raises(InputError, match=r"must be followed|unbalanced"):
            select(inventory, pattern)
    elif not answer["hosts"]:
        with pytest.raises(InputError, match="matches no host"):
            select(inventory, pattern)
    else:
        assert sorted(h.name for h in select(inventory, pattern).hosts) == sorted(answer["hosts"])


def test_ansible_cli_is_what_the_oracle_runs() -> None:
    """The oracle's answers come from the installed ansible-core (its CLI is on PATH beside Python)."""
    assert shutil.which("ansible-inventory", path=str(Path(sys.executable).parent)) is not None
