"""Targeting from the command line: `auditor inventory`, --limit, --list-hosts and the retry file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.__main__ import main
from auditor.inventory.patterns import select
from tests.support.paths import ROOT

CORPUS = ROOT / "tests" / "inventories"
NESTED = str(CORPUS / "yaml-nested" / "inventory.yml")
FLEET = """schema: auditor.fleet/1
defaults: {gpus: [{model: "Tesla T4"}], driver: "535.104.05", cuda_toolkits: ["12.2.2"]}
hosts:
  t4-a: {groups: [edge]}
  t4-b: {groups: [edge]}
  t4-down: {groups: [edge], fault: unreachable}
  t4-garbage: {fault: garbage}
"""


def test_inventory_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """`auditor inventory --json`: {"hosts": {name: {address, port, user, groups, vars}}}, nothing else."""
    assert main(["inventory", "-i", NESTED, "--limit", "gpu-h100-09,edge-a", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["hosts"]
    assert document["hosts"]["gpu-h100-09"] == {
        "address": "gpu-h100-09",
        "port": 2222,
        "user": "audit",
        "groups": ["datacenter", "h100", "serving"],
        "vars": {"ansible_user": "audit", "level": "serving-from-group_vars", "dc": "east", "gpu": "H100-NVL"}
        | {"cuda": "12.4", "ansible_port": 2222},
    }
    assert document["hosts"]["edge-a"]["vars"]["ansible_ssh_common_args"].startswith("-o ProxyJump=")


def test_inventory_table_lists_hosts_with_address_user_and_groups(capsys: pytest.CaptureFixture[str]) -> None:
    """The readable listing has one row per host and a count."""
    assert main(["inventory", "-i", str(CORPUS / "ini-basic" / "hosts"), "-l", "dbmain"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["HOST", "ADDRESS", "USER", "GROUPS"]
    assert out[1].split() == ["db-a.example.com", "db-a.example.com", "pg", "db,dbmain"]
    assert out[-1] == "3 hosts"


def test_inventory_ssh_view_applies_ssh_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--ssh shows what ~/.ssh/config makes of each host: HostName, User, Port, ProxyJump."""
    config = tmp_path / "ssh_config"
    config.write_text("Host gpu-*\n  HostName %h.lab.example.com\n  User ops\n  ProxyJump bastion\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["inventory", "-i", "gpu-1,", "--ssh", "-F", str(config), "--json"]) == 0
    ssh = json.loads(capsys.readouterr().out)["hosts"]["gpu-1"]["ssh"]
    assert (ssh["hostname"], ssh["user"], ssh["port"], ssh["proxy_jump"]) == (
        "gpu-1.lab.example.com",
        "ops",
        22,
        "bastion",
    )


@pytest.mark.parametrize("command", ["report", "tui"])
def test_list_hosts_prints_targets_and_contacts_none(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--list-hosts prints Ansible's `hosts (N):` listing and stops, on report and tui alike."""
    assert main([command, "-i", NESTED, "--limit", "edge:lab*", "--list-hosts"]) == 0
    assert capsys.readouterr().out == "  hosts (4):\n    edge-a\n    edge-b\n    edge-c\n    lab-01\n"


@pytest.mark.parametrize("command", [["report"], ["tui"], ["inventory"]])
def test_a_limit_matching_nothing_exits_2_before_contacting_anyone(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A pattern that selects no host is a usage error (exit 2), with the reason on stderr."""
    assert main([*command, "-i", NESTED, "--limit", "gpu-b200-*"]) == 2
    assert "matches no host" in capsys.readouterr().err


def test_limit_warns_about_parts_that_match_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """One typo in a union is worth a warning; the rest of the limit still applies."""
    assert main(["report", "-i", NESTED, "--limit", "edge-a,edeg-b", "--list-hosts"]) == 0
    captured = capsys.readouterr()
    assert "'edeg-b' matches no group or host" in captured.err and "edge-a" in captured.out


def test_repeated_inventories_merge(capsys: pytest.CaptureFixture[str]) -> None:
    """-i twice: hosts of both, in order."""
    assert main(["report", "-i", NESTED, "-i", "extra-1,extra-2", "--limit", "extra*", "--list-hosts"]) == 0
    assert capsys.readouterr().out.split()[-2:] == ["extra-1", "extra-2"]


def test_retry_file_lists_failed_hosts_and_feeds_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every run writes the unreachable and errored hosts; --limit @file selects exactly them next time."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    retry = tmp_path / "retry"
    assert main(["report", "--simulate", str(fleet), "--retry-file", str(retry), "--format", "json"]) == 3
    capsys.readouterr()
    assert retry.read_text() == "t4-down\nt4-garbage\n"
    assert main(["report", "--simulate", str(fleet), "--limit", f"@{retry}", "--list-hosts"]) == 0
    assert capsys.readouterr().out.split()[2:] == ["t4-down", "t4-garbage"]
    assert main(["report", "--simulate", str(fleet), "--limit", "edge:!t4-down", "--retry-file", str(retry)]) == 0
    assert retry.read_text() == ""  # nothing left to retry...
    assert main(["report", "--simulate", str(fleet), "--limit", f"@{retry}"]) == 2  # ...so retrying is a usage error
    assert "names no host" in capsys.readouterr().err


def test_default_retry_file_is_in_the_state_directory(
    tmp_path: Path, private_state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --retry-file the run leaves $XDG_STATE_HOME/auditor/last.retry; --no-retry-file writes none."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    default = private_state_dir / "auditor" / "last.retry"
    main(["report", "--simulate", str(fleet), "--limit", "t4-down", "--no-retry-file"])
    assert not default.exists()
    main(["report", "--simulate", str(fleet), "--limit", "t4-down"])
    capsys.readouterr()
    assert default.read_text() == "t4-down\n"


def test_simulated_fleet_groups_work_with_limit() -> None:
    """Patterns select simulated hosts by their fleet groups too."""
    from auditor.audit.targets import list_targets

    fleet = ROOT / "inventories" / "demo-fleet.yaml"
    assert [h.name for h in list_targets(fleet=str(fleet), limit="h100:&serving").hosts] == [
        "h100-serve-01",
        "h100-serve-02",
        "h100-serve-03",
    ]


def test_select_without_limit_is_every_host() -> None:
    """No --limit (or a blank one) selects the whole inventory."""
    from auditor.inventory import load_inventories

    inventory = load_inventories([NESTED])
    assert select(inventory, None).hosts == select(inventory, "  ").hosts == inventory.hosts


@pytest.mark.parametrize(
    ("config", "fragment"),
    [("Host gpu-*\n  Port notanumber\n", "ssh config"), (None, "ssh config file not found")],
)
def test_broken_ssh_config_exits_2_before_connecting(
    tmp_path: Path, config: str | None, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """-F naming a missing or malformed ssh config is a usage error, found before any host is contacted."""
    path = tmp_path / "ssh_config"
    if config is not None:
        path.write_text(config)
    assert main(["report", "-i", "gpu-1,", "-F", str(path), "--known-hosts", str(tmp_path / "none")]) == 2
    assert fragment in capsys.readouterr().err


def test_max_output_caps_what_a_host_may_send(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--max-output: a probe printing more than the cap makes its host `error`, saying why."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    code = main(["report", "--simulate", str(fleet), "--limit", "t4-a", "--max-output", "100", "--format", "json"])
    (host,) = json.loads(capsys.readouterr().out)["hosts"]
    assert code == 3 and host["verdict"] == "error"
    assert host["error"]["message"] == "probe output exceeded 100 bytes (--max-output); output discarded"
