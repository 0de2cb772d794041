"""``auditor plan --format ansible-playbook``: a playbook ansible-core accepts and runs in --check over real SSH.

The simulated fleet's SSH server runs only the probe (recorded: every Ansible module fails there,
docs/research/workflows.md D), so the ``--check`` run goes over OpenSSH's sshd instead, one per
planned host, each session pointed by sshd's ``SetEnv`` at that host's fixture root, the one the
plan's audit probed: ``APT_CONFIG`` (apt and python3-apt read its dpkg status, package lists,
pins and cache) and ``DPKG_ADMINDIR`` (dpkg reads its selections). So the apt and dpkg_selections
modules run for real, in check mode, against what the probe saw; the health gate runs the
real ``auditor report`` on the controller against the simulated fleet.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from auditor.__main__ import main
from auditor.simulate.fleet import load_fleet
from auditor.simulate.roots import build_root
from tests.support.demo import FAST_PROBE_TIMEOUT
from tests.support.sshd import LOGIN, SshdKit, sshd_kit

__all__ = ["sshd_kit"]  # the fixture, imported for pytest

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
SYSTEM_PYTHON = "/usr/bin/python3"  # the target's interpreter: it has python3-apt, which the apt module needs

FLEET = """\
schema: auditor.fleet/1
name: rollout-fleet
repository: {driver: ["580.95.05"], tensorrt: ["10.13.3.9"]}
defaults:
  packages: {held: [driver]}
hosts:
  gpu-a:
    groups: [serving]
    gpus: [{model: "NVIDIA L4", count: 1}]
    driver: "580.82.07"
    cuda_toolkits: ["13.0.2"]
    tensorrt: "10.13.3.9"
    python_tensorrt: "10.13.3.9"
  gpu-b:
    groups: [serving]
    gpus: [{model: "NVIDIA L4", count: 1}]
    driver: "580.82.07"
    cuda_toolkits: ["13.0.2"]
    tensorrt: "10.13.3.9"
    python_tensorrt: "10.13.3.9"
  gpu-c:
    groups: [serving]
    gpus: [{model: "NVIDIA L4", count: 1}]
    driver: "580.65.06"
    cuda_toolkits: ["13.0.2"]
    packages: {held: [driver], gone: [driver], cached: [driver]}
"""
POLICY = """\
schema: auditor.policy/1
name: rollout
stacks:
  r580:
    driver: {min: "580.95.05", target: "580.95.05"}
rules:
  - id: serving
    select: {groups: [serving]}
    stack: r580
"""
HOOK = '- name: {what}\n  ansible.builtin.debug: {{msg: "{what} {{{{ inventory_hostname }}}}"}}\n'


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fleet, its policy, the hooks, and two playbooks of the same plan: gated on critical, and on upgrade."""
    base = tmp_path_factory.mktemp("playbook")
    (base / "fleet.yaml").write_text(FLEET)
    (base / "policy.yaml").write_text(POLICY)
    for what in ("drain", "restore"):
        (base / f"{what}.yml").write_text(HOOK.format(what=what))
    for name, level in (("passes.yml", "critical"), ("fails.yml", "upgrade")):
        argv = ["plan", "--simulate", str(base / "fleet.yaml"), "-p", str(base / "policy.yaml"), "--to", "r580"]
        argv += ["--probe-timeout", str(FAST_PROBE_TIMEOUT), "--max-unavailable", "2", "--gate-fail-on", level]
        argv += ["--drain-hook", str(base / "drain.yml"), "--restore-hook", str(base / "restore.yml")]
        argv += ["--format", f"ansible-playbook:{base / name}", "--format", f"json:{base / name}.json"]
        assert main(argv) == 2
    return base


def plays(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())


def test_waves_become_plays_with_serial_and_exact_versions(planned: Path) -> None:
    """One play per wave over exactly its hosts, serial from --max-unavailable, max_fail_percentage 0, exact versions."""
    document = json.loads((planned / "passes.yml.json").read_text())
    waves = [w["hosts"] for w in document["waves"]]
    found = plays(planned / "passes.yml")
    assert [p["hosts"] for p in found] == waves
    assert all(p["serial"] == 2 and p["max_fail_percentage"] == 0 for p in found)
    data = found[0]["vars"]["auditor_plan"]["gpu-a"]
    assert data["install"] == ["libnvidia-compute-580=580.95.05-0ubuntu1", "nvidia-driver-580=580.95.05-0ubuntu1"]
    assert data["hold"] == ["libnvidia-compute-580", "nvidia-driver-580"]
    assert data["rollback"] == ["libnvidia-compute-580=580.82.07-0ubuntu1", "nvidia-driver-580=580.82.07-0ubuntu1"]
    assert data["reboot"] is True and data["manager"] == "apt"


def test_a_cache_only_rollback_installs_the_cached_file(planned: Path) -> None:
    """gpu-c's current driver is only in apt's cache: its rollback installs those files, named as the probe found them."""
    everyone = {
        name: data for play in plays(planned / "passes.yml") for name, data in play["vars"]["auditor_plan"].items()
    }
    files = everyone["gpu-c"]["rollback_files"]
    assert everyone["gpu-c"]["rollback"] == []
    assert files == [
        "/var/cache/apt/archives/libnvidia-compute-580_580.65.06-0ubuntu1_amd64.deb",
        "/var/cache/apt/archives/nvidia-driver-580_580.65.06-0ubuntu1_amd64.deb",
    ]


def test_the_gate_replays_the_plans_targets_without_a_shell(planned: Path) -> None:
    """The gate is an argv (no shell): auditor report with the plan's fleet and policy, the wave's hosts, --fail-on."""
    gate = next(t for t in plays(planned / "fails.yml")[0]["tasks"] if t["name"].startswith("Health gate"))
    argv = gate["ansible.builtin.command"]["argv"]
    assert argv[:4] == [sys.executable, "-m", "auditor", "report"]
    assert argv[argv.index("--simulate") + 1] == str(planned / "fleet.yaml")
    assert argv[-4:] == ["--limit", "{{ auditor_standing | join(',') }}", "--fail-on", "upgrade"]
    assert gate["delegate_to"] == "localhost" and gate["run_once"] and gate["check_mode"] is False


@pytest.mark.parametrize("name", ["passes.yml", "fails.yml"])
def test_ansible_core_accepts_the_playbook(planned: Path, name: str) -> None:
    """ansible-playbook --syntax-check accepts the generated playbook (no host is contacted)."""
    result = ansible(planned, ["--syntax-check", str(planned / name)], inventory=inventory_without_hosts(planned))
    assert result.returncode == 0, result.stdout + result.stderr


def test_unresolved_packages_leave_a_host_out_and_say_why(tmp_path: Path) -> None:
    """A host whose repositories offer no version of the target is blocked, and the playbook names it left out."""
    (tmp_path / "fleet.yaml").write_text(
        FLEET.replace('repository: {driver: ["580.95.05"], tensorrt: ["10.13.3.9"]}\n', "")
    )
    (tmp_path / "policy.yaml").write_text(POLICY)
    argv = ["plan", "--simulate", str(tmp_path / "fleet.yaml"), "-p", str(tmp_path / "policy.yaml"), "--to", "r580"]
    argv += ["--probe-timeout", str(FAST_PROBE_TIMEOUT), "--format", f"ansible-playbook:{tmp_path / 'pb.yml'}"]
    assert main(argv) == 2
    text = (tmp_path / "pb.yml").read_text()
    assert "left out: gpu-a (blocked); gpu-b (blocked); gpu-c (blocked)" in text
    assert plays(tmp_path / "pb.yml") == []


@pytest.mark.parametrize(
    ("flag", "content", "fragment"),
    [
        ("--drain-hook", None, "no such file"),
        ("--restore-hook", "just: a mapping\n", "a YAML list of tasks"),
    ],
)
def test_bad_hooks_are_refused_before_any_host_is_contacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, content: str | None, fragment: str
) -> None:
    """A hook that is not a task file is an error naming the flag (exit 1, plan's usage code)."""
    hook = tmp_path / "hook.yml"
    if content is not None:
        hook.write_text(content)
    argv = ["plan", "-i", "unreachable-host,", "--set", "driver=580.95.05", flag, str(hook)]
    assert main([*argv, "--format", f"ansible-playbook:{tmp_path / 'pb.yml'}"]) == 1
    err = capsys.readouterr().err
    assert flag in err and fragment in err and not (tmp_path / "pb.yml").exists()


def test_hooks_need_the_playbook_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--drain-hook without --format ansible-playbook is refused: nothing would run it."""
    hook = tmp_path / "hook.yml"
    hook.write_text(HOOK.format(what="drain"))
    assert main(["plan", "-i", "unreachable-host,", "--set", "driver=580.95.05", "--drain-hook", str(hook)]) == 1
    assert "only the playbook runs hooks" in capsys.readouterr().err


# -- --check over SSH -------------------------------------------------------------------------------


def inventory_without_hosts(base: Path) -> Path:
    path = base / "empty-inventory.yaml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {n: {} for n in ("gpu-a", "gpu-b", "gpu-c")}}}))
    return path


def ansible(base: Path, args: list[str], inventory: Path) -> subprocess.CompletedProcess[str]:
    """ansible-playbook with its own configuration: host keys checked, no control master, nothing in ~."""
    (base / "ansible-tmp").mkdir(exist_ok=True)
    config = base / "ansible.cfg"
    config.write_text(
        "[defaults]\nhost_key_checking = True\nretry_files_enabled = False\nnocolor = True\n"
        f"local_tmp = {base / 'ansible-tmp'}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_FORCE_COLOR="0", HOME=str(base))
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def apt_root(root: Path) -> None:
    """An apt.conf that makes apt (and python3-apt) read this fixture root instead of the machine's own."""
    (root / "etc/apt/apt.conf.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/apt.conf").write_text(
        f'Dir "{root}/";\nDir::State::status "{root}/var/lib/dpkg/status";\nDir::Etc "{root}/etc/apt/";\n'
        f'Dir::Etc::main "{root}/etc/apt/apt.conf";\nDir::Cache "{root}/var/cache/apt/";\n'
    )


@pytest.fixture(scope="module")
def fleet_over_sshd(planned: Path, sshd_kit: SshdKit) -> Path:
    """One OpenSSH server per simulated host, its sessions pointed at that host's fixture root; their inventory."""
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run([SYSTEM_PYTHON, "-c", "import apt"], check=False).returncode:
        pytest.skip("the target interpreter needs python3-apt (the apt module's requirement)")
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        pytest.skip("apt and dpkg are needed to run the apt modules against the fixture roots")
    roots = planned / "roots"
    hosts: dict[str, dict[str, object]] = {}
    known = planned / "known_hosts"
    lines = []
    for host in load_fleet(planned / "fleet.yaml").hosts:
        root = build_root(host, roots)
        apt_root(root)
        server = sshd_kit.servers.start(
            f"sshd-{host.name}",
            extra=f"SetEnv APT_CONFIG={root}/etc/apt/apt.conf DPKG_ADMINDIR={root}/var/lib/dpkg\n"
            "Subsystem sftp internal-sftp\n",
        )
        lines.append(server.known_hosts_line())
        hosts[host.name] = {"ansible_host": server.address, "ansible_port": server.port}
    known.write_text("".join(lines))
    inventory = planned / "inventory.yaml"
    common = f"-o UserKnownHostsFile={known} -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes"
    common += " -o ControlMaster=no -o ControlPath=none"  # see every host key checked (recorded trap)
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": hosts,
                    "vars": {
                        "ansible_user": LOGIN,
                        "ansible_ssh_private_key_file": str(sshd_kit.user_key),
                        "ansible_ssh_common_args": common,
                        "ansible_python_interpreter": SYSTEM_PYTHON,
                        "ansible_remote_tmp": str(planned / "remote-tmp"),
                    },
                }
            }
        )
    )
    return inventory


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines as {host: {ok, changed, unreachable, failed, skipped, rescued, ignored}}."""
    found = {}
    for line in output.split("PLAY RECAP", 1)[1].splitlines()[1:]:
        parts = line.split()
        if len(parts) > 2 and parts[1] == ":":
            found[parts[0]] = {k: int(v) for k, v in (p.split("=") for p in parts[2:])}
    return found


def test_check_run_over_ssh_passes_its_gates(planned: Path, fleet_over_sshd: Path) -> None:
    """--check over real SSH: drain, apt installs the exact versions (simulated by apt against the host's root), holds,
    reboot, the real gate on the controller (critical: passes), restore; every wave runs, nothing rolls back."""
    result = ansible(planned, [str(planned / "passes.yml"), "--check", "--diff"], fleet_over_sshd)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "drain gpu-a" in output and "restore gpu-a" in output and "restore gpu-c" in output
    # apt's own simulation, by the module, over the host's root: the held driver packages move to the target
    assert output.count("The following held packages will be changed:\n  libnvidia-compute-580 nvidia-driver-580") == 3
    assert "changed: [gpu-a]" in output.split("TASK [Install the plan's exact versions (apt)]")[1].split("TASK")[0]
    assert "ok: [gpu-a -> localhost]" in output  # the gate, on the controller
    assert "health gate failed" not in output
    assert all(r["failed"] == 0 and r["unreachable"] == 0 and r["rescued"] == 0 for r in recap(output).values())


def test_check_run_over_ssh_rolls_back_when_the_gate_fails(planned: Path, fleet_over_sshd: Path) -> None:
    """--check over real SSH with a gate that fails (the hosts, unchanged by --check, still need the upgrade): the
    canary wave rolls back to the recorded versions, fails, and the next wave never starts."""
    result = ansible(planned, [str(planned / "fails.yml"), "--check"], fleet_over_sshd)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    canary = plays(planned / "fails.yml")[0]["hosts"]
    later = [h for h in ("gpu-a", "gpu-b", "gpu-c") if h not in canary]
    assert "TASK [Reinstall the recorded versions from the repositories (apt)]" in output
    assert "health gate failed: auditor report exited 1" in output
    summary = recap(output)
    assert all(summary[h]["failed"] == 1 for h in canary)
    assert all(h not in summary for h in later)  # the rollout stopped after the canary
    assert "restore" not in output.replace("Put the node back in service (--restore-hook)", "")


def test_the_gate_carries_the_plans_connection_options_with_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inventory, policy, known_hosts and key paths become absolute (the playbook runs from anywhere); the user,
    timeouts and trust options are replayed as given; the gate never writes the plan's retry file."""
    from auditor.__main__ import build_parser
    from auditor.cli.plan import gate_command

    for name in ("site.yaml", "policy.yaml", "known_hosts", "id_ed25519"):
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    targets = ["-i", "site.yaml", "-i", "extra-host,", "-p", "policy.yaml", "--known-hosts", "known_hosts"]
    connection = ["--private-key", "id_ed25519", "-u", "ops", "--timeout", "3.5", "--forks", "8"]
    args = build_parser().parse_args(["plan", *targets, *connection, "--to", "serving"])
    argv = gate_command(args)
    assert argv[argv.index("-i") + 1] == str(tmp_path / "site.yaml")
    assert "extra-host," in argv and argv[argv.index("-p") + 1] == str(tmp_path / "policy.yaml")
    assert argv[argv.index("--known-hosts") + 1] == str(tmp_path / "known_hosts")
    assert argv[argv.index("--private-key") + 1] == str(tmp_path / "id_ed25519")
    assert argv[argv.index("-u") + 1] == "ops" and argv[argv.index("--timeout") + 1] == "3.5"
    assert argv[argv.index("--forks") + 1] == "8" and argv[-1] == "--no-retry-file"


def test_a_bad_gate_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--gate-fail-on takes report's --fail-on levels; anything else is refused before any host is contacted."""
    assert main(["plan", "-i", "unreachable-host,", "--set", "driver=580.95.05", "--gate-fail-on", "sometimes"]) == 1
    assert "--gate-fail-on" in capsys.readouterr().err
