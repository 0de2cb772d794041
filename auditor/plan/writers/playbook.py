"""An upgrade plan as an Ansible playbook that runs its own waves (``--format ansible-playbook:FILE``).

One play per wave, canary first, each over exactly the wave's hosts, with ``serial`` the
plan's batch size (``--max-unavailable``, capped by ``--max-parallel``) and
``max_fail_percentage: 0``: a wave with a failed host ends the rollout. Per host:

1. the drain hook (``--drain-hook FILE``: a task file, included as it is);
2. the plan's exact package versions (``ansible.builtin.apt`` with ``NAME=VERSION``, downgrades
   and held packages allowed; ``ansible.builtin.dnf`` with ``NAME-[EPOCH:]VERSION-RELEASE``,
   the versionlock plugin disabled for the transaction, the component's old locks deleted first),
   stale ``cuda-compat`` packages removed, then the new versions held (``dpkg_selections: hold``;
   dnf: ``dnf versionlock add NEVRA``: ansible-core has no versionlock module);
3. the reboot, when the plan has one; then the rebuild hook (``--rebuild-hook FILE``) where the
   plan rebuilds engines (the host's ``engines`` list them);
4. the health gate: ``auditor report --limit <the wave's hosts still standing> --fail-on LEVEL``
   run once on the controller with the same targets, policy and connection options as the plan;
5. when the host's own steps or the wave's gate failed: the rollback to the recorded versions
   (from the repositories, or the cached package files the plan found), held again, and a
   reboot; else the restore hook (``--restore-hook FILE``); the play then fails such hosts, which
   stops the rollout after every host of the wave has reached its end state.

Every failure inside a wave is caught and recorded per host (``auditor_failed``) until that last
task, so ``max_fail_percentage`` never cuts a wave short with hosts half done (recorded with
ansible-core 2.19: a failure under ``run_once`` or before a ``rescue`` stops the play at once).

Everything is module arguments and data: no shell command is built from inventory or host data.
Names, versions and paths from hosts are written only when they have their strict shapes (the
facts reader checked them; this checks again, as the playbook is executable); a host whose
data does not, whose package manager is neither apt nor dnf 4, or whose package versions the
plan could not resolve is left out and named in the header. Hosts are named by their
inventory names, so the playbook runs against the inventory the plan was made from.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from auditor.plan.model import COMPONENTS, HostPlan, PackageSource, PackageVersion, Plan, StepAction, Wave
from auditor.records import record
from auditor.text import clean

_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")  # no Ansible pattern character: , : ! & * ? [ ] ~ @
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+~:_-]{0,127}$")
_PATH = re.compile(r"^/[A-Za-z0-9._+%:/-]{1,1023}$")
MANAGERS = ("apt", "dnf")
"""What the playbook installs with: apt, and dnf 4 (dnf 5's and yum's locks and modules are not handled)."""


@record
class PlaybookOptions:
    """What the playbook needs beyond the plan.

    ``gate`` is the ``auditor report`` argv with the plan's targets, policy and connection
    options (``--limit`` and ``--fail-on`` are added per wave); hooks are absolute paths of
    Ansible task files.
    """

    gate: tuple[str, ...]
    fail_on: str
    drain: str | None = None
    rebuild: str | None = None
    restore: str | None = None


def render_playbook(plan: Plan, options: PlaybookOptions) -> str:
    """The plan's waves as a playbook (YAML with a comment header); a plan without waves gives an empty one."""
    hosts = {h.name: h for h in plan.hosts}
    left_out: list[str] = [f"{h.name} ({h.status.value})" for h in plan.hosts if h.status.left_out]
    plays: list[dict[str, Any]] = []
    batch = plan.rollout.batch_size(len(plan.hosts))
    for wave in plan.waves:
        data: dict[str, dict[str, Any]] = {}
        for name in wave.hosts:
            problem = _unfit(hosts[name])
            if problem:
                left_out.append(f"{name} ({problem})")
            else:
                data[name] = _host_data(hosts[name])
        if data:
            plays.append(_play(wave, data, batch, options))
    header = [
        f"auditor plan ({plan.source.describe()}), generated {plan.generated_at}",
        f"target: {plan.target.name}; inventory: {plan.inventory}; policy: {plan.policy}; {plan.knowledge.line()}",
        "run it against the inventory the plan was made from: ansible-playbook -i INVENTORY THIS-FILE (--check first)",
        f"waves: {len(plays)}, canary first; serial {batch}, max_fail_percentage 0: a failed host stops the rollout",
        f"health gate after each wave, on the controller: {' '.join(options.gate)} --limit WAVE --fail-on {options.fail_on}",
        "a failed step or gate rolls the host back to the recorded versions (held again) and reboots it",
    ]
    if not options.rebuild:
        header.append("engine rebuilds are not run (no --rebuild-hook): the gate finds engines that do not load")
    if left_out:
        header.append("left out: " + "; ".join(left_out))
    if not plays:
        header.append("no host has steps this playbook can run: nothing to do")
    text = "".join(f"# {clean(line)}\n" for line in header)
    return text + yaml.safe_dump(plays, sort_keys=False, allow_unicode=True, width=1_000_000)


def _unfit(host: HostPlan) -> str | None:
    """Why a planned host cannot be written into the playbook, or None."""
    if not _HOST.match(host.name):
        return "its inventory name cannot be written as an Ansible host pattern"
    changes = [s for s in host.steps if s.component in COMPONENTS and s.action in _CHANGES]
    wanted = {s.component for s in changes}
    resolved = {p.component for p in host.packages}
    if wanted - resolved:
        return f"no exact package versions for {', '.join(sorted(wanted - resolved))} (see the plan's warnings)"
    managers = {p.manager for p in (*host.packages, *(host.rollback.packages if host.rollback else ()))}
    if managers - set(MANAGERS):
        return f"package manager {', '.join(sorted(managers))}: the playbook installs with apt or dnf 4"
    for package in (*host.packages, *(host.rollback.packages if host.rollback else ())):
        if not _NAME.match(package.name) or not _VERSION.match(package.version):
            return "a package name or version of an unexpected shape"
        if package.path is not None and not _PATH.match(package.path):
            return "a cached package path of an unexpected shape"
    if host.rollback is not None and any(
        p.source in (PackageSource.NONE, PackageSource.UNKNOWN) for p in host.rollback.packages
    ):
        return "its rollback cannot be shown to be installable (see the plan's warnings)"
    for step in host.steps:
        if step.action is StepAction.REMOVE_COMPAT and not _compat_name(step.from_):
            return "a cuda-compat package of an unexpected shape"
    return None


_CHANGES = (StepAction.INSTALL, StepAction.UPGRADE, StepAction.DOWNGRADE)


def _compat_name(cuda: str | None) -> str | None:
    name = "cuda-compat-" + (cuda or "").replace(".", "-")
    return name if re.match(r"^cuda-compat-\d+-\d+$", name) else None


def _host_data(host: HostPlan) -> dict[str, Any]:
    """One host's part of the play's ``auditor_plan``: only names, versions and paths of checked shapes."""
    manager = (host.packages[0].manager if host.packages else None) or (
        host.rollback.packages[0].manager if host.rollback and host.rollback.packages else "apt"
    )
    rollback = list(host.rollback.packages) if host.rollback else []
    installs = [_spec(p) for p in host.packages]
    for step in host.steps:
        if step.action is StepAction.INSTALL and step.component == "cuda-compat" and step.to:
            if re.match(r"^cuda-compat-\d+-\d+$", step.to):
                installs.append(step.to)
    return {
        "manager": manager,
        "install": installs,
        "hold": sorted({p.name for p in host.packages}),
        "lock": [_spec(p) for p in host.packages] if manager == "dnf" else [],
        "unlock": sorted({p.name for p in (*host.packages, *rollback)}) if manager == "dnf" else [],
        "remove": [
            name
            for step in host.steps
            if step.action is StepAction.REMOVE_COMPAT and (name := _compat_name(step.from_))
        ],
        "reboot": any(s.action is StepAction.REBOOT for s in host.steps),
        "engines": [
            {"path": s.path, "compute_capability": s.compute_capability, "tensorrt": s.to}
            for s in host.steps
            if s.action is StepAction.REBUILD_ENGINE and s.path and _PATH.match(s.path)
        ],
        "rollback": [_spec(p) for p in rollback if p.source is PackageSource.REPOSITORY],
        "rollback_files": [p.path for p in rollback if p.source is PackageSource.CACHE and p.path],
        "rollback_hold": sorted({p.name for p in rollback}),
        "rollback_lock": [_spec(p) for p in rollback] if manager == "dnf" else [],
    }


def _spec(package: PackageVersion) -> str:
    """``NAME=VERSION`` for apt; ``NAME-VERSION-RELEASE`` (``NAME-EPOCH:...`` for a non-zero epoch) for dnf."""
    if package.manager == "dnf":
        version = package.version[2:] if package.version.startswith("0:") else package.version
        return f"{package.name}-{version}"
    return f"{package.name}={package.version}"


# -- the play ---------------------------------------------------------------------------------------

HOST = "auditor_plan[inventory_hostname]"


def _when(*conditions: str) -> list[str]:
    return list(conditions)


def _play(wave: Wave, data: dict[str, dict[str, Any]], batch: int, options: PlaybookOptions) -> dict[str, Any]:
    kind = "wave 0 (canary)" if wave.canary else f"wave {wave.number}"
    names = list(data)
    return {
        "name": f"auditor rollout, {kind}: {', '.join(names)}",
        "hosts": names,
        "serial": batch,
        "max_fail_percentage": 0,
        "gather_facts": False,
        "vars": {"auditor_wave": wave.number, "auditor_plan": data},
        "tasks": [
            *_hook("Drain the node (--drain-hook)", options.drain),
            {
                "name": "Upgrade to the plan's exact versions, hold them, reboot",
                "block": [
                    *_upgrade_tasks(),
                    *_hook("Rebuild the engines (--rebuild-hook)", options.rebuild, engines=True),
                ],
                "rescue": [
                    {
                        "name": "Record why this host failed",
                        "ansible.builtin.set_fact": {
                            "auditor_failed": "{{ ansible_failed_task.name }}: "
                            "{{ ansible_failed_result.msg | default('failed') }}"
                        },
                    }
                ],
            },
            _gate(options),
            {
                "name": "Hosts of a wave whose gate failed are rolled back too",
                "ansible.builtin.set_fact": {
                    "auditor_failed": "health gate failed: auditor report exited {{ auditor_gate.rc }}"
                },
                "when": _when("auditor_failed is not defined", "auditor_gate.rc | default(0) != 0"),
            },
            {
                "name": "Roll back to the recorded versions",
                "when": _when("auditor_failed is defined"),
                "block": _rollback_tasks(),
                "rescue": [
                    {
                        "name": "Record that the rollback failed too",
                        "ansible.builtin.set_fact": {
                            "auditor_failed": "{{ auditor_failed }}; the rollback failed: "
                            "{{ ansible_failed_result.msg | default('failed') }}"
                        },
                    }
                ],
            },
            *_hook(
                "Put the node back in service (--restore-hook)", options.restore, when="auditor_failed is not defined"
            ),
            {
                "name": "Stop the rollout: this host failed and was rolled back",
                "ansible.builtin.fail": {"msg": "{{ inventory_hostname }}: {{ auditor_failed }}"},
                "when": _when("auditor_failed is defined"),
            },
        ],
    }


def _hook(name: str, path: str | None, when: str | None = None, engines: bool = False) -> list[dict[str, Any]]:
    if path is None:
        return []
    task: dict[str, Any] = {"name": name, "ansible.builtin.include_tasks": path}
    conditions = [when] if when else []
    if engines:
        conditions.append(f"{HOST}.engines | length > 0")
        task["vars"] = {"auditor_engines": f"{{{{ {HOST}.engines }}}}"}
    if conditions:
        task["when"] = conditions
    return [task]


def _apt(names: str, **extra: Any) -> dict[str, Any]:
    return {"name": f"{{{{ {HOST}.{names} }}}}", "allow_downgrade": True, "allow_change_held_packages": True, **extra}


def _dnf(names: str) -> dict[str, Any]:
    return {
        "name": f"{{{{ {HOST}.{names} }}}}",
        "allow_downgrade": True,
        "use_backend": "dnf4",
        "disable_plugin": ["versionlock"],  # disable_excludes does not lift a lock; this does (recorded)
    }


def _upgrade_tasks() -> list[dict[str, Any]]:
    apt, dnf = f"{HOST}.manager == 'apt'", f"{HOST}.manager == 'dnf'"
    return [
        {
            "name": "Install the plan's exact versions (apt)",
            "ansible.builtin.apt": _apt("install"),
            "when": _when(apt, f"{HOST}.install | length > 0"),
        },
        {
            "name": "Remove cuda-compat packages the new driver no longer needs (apt)",
            "ansible.builtin.apt": {"name": f"{{{{ {HOST}.remove }}}}", "state": "absent"},
            "when": _when(apt, f"{HOST}.remove | length > 0"),
        },
        {
            "name": "Hold the new versions (apt)",
            "ansible.builtin.dpkg_selections": {"name": "{{ item }}", "selection": "hold"},
            "loop": f"{{{{ {HOST}.hold }}}}",
            "when": _when(apt),
        },
        {
            "name": "Lift the version locks on the packages the plan changes (dnf)",
            "ansible.builtin.command": {"argv": f"{{{{ ['dnf', 'versionlock', 'delete'] + {HOST}.unlock }}}}"},
            "when": _when(dnf, f"{HOST}.unlock | length > 0"),
            "register": "auditor_unlocked",
            "changed_when": "auditor_unlocked.rc == 0",
            "failed_when": False,
        },
        {
            "name": "Install the plan's exact versions (dnf)",
            "ansible.builtin.dnf": _dnf("install"),
            "when": _when(dnf, f"{HOST}.install | length > 0"),
        },
        {
            "name": "Remove cuda-compat packages the new driver no longer needs (dnf)",
            "ansible.builtin.dnf": {"name": f"{{{{ {HOST}.remove }}}}", "state": "absent", "use_backend": "dnf4"},
            "when": _when(dnf, f"{HOST}.remove | length > 0"),
        },
        {
            "name": "Lock the new versions (dnf versionlock)",
            "ansible.builtin.command": {"argv": f"{{{{ ['dnf', 'versionlock', 'add'] + {HOST}.lock }}}}"},
            "when": _when(dnf, f"{HOST}.lock | length > 0"),
        },
        {
            "name": "Reboot to load the new driver",
            "ansible.builtin.reboot": {"reboot_timeout": 1200},
            "when": _when(f"{HOST}.reboot"),
        },
    ]


def _gate(options: PlaybookOptions) -> dict[str, Any]:
    standing = (
        "{{ ansible_play_batch | map('extract', hostvars) | rejectattr('auditor_failed', 'defined') "
        "| map(attribute='inventory_hostname') | list }}"
    )
    return {
        "name": f"Health gate: auditor report --limit <the wave> --fail-on {options.fail_on}, on the controller",
        "ansible.builtin.command": {
            "argv": [*options.gate, "--limit", "{{ auditor_standing | join(',') }}", "--fail-on", options.fail_on]
        },
        "vars": {"auditor_standing": standing},
        "delegate_to": "localhost",
        "run_once": True,  # once for the wave: its "when" must not depend on the first host alone
        "become": False,
        "check_mode": False,
        "changed_when": False,
        "failed_when": False,
        "register": "auditor_gate",
        "when": _when("auditor_standing | length > 0"),
    }


def _rollback_tasks() -> list[dict[str, Any]]:
    apt, dnf = f"{HOST}.manager == 'apt'", f"{HOST}.manager == 'dnf'"
    return [
        {
            "name": "Reinstall the recorded versions from the repositories (apt)",
            "ansible.builtin.apt": _apt("rollback"),
            "when": _when(apt, f"{HOST}.rollback | length > 0"),
            "ignore_unreachable": True,
        },
        {
            "name": "Reinstall the recorded versions from the cached package files (apt)",
            "ansible.builtin.apt": {"deb": "{{ item }}", "allow_downgrade": True, "allow_change_held_packages": True},
            "loop": f"{{{{ {HOST}.rollback_files }}}}",
            "when": _when(apt),
            "ignore_unreachable": True,
        },
        {
            "name": "Hold the recorded versions (apt)",
            "ansible.builtin.dpkg_selections": {"name": "{{ item }}", "selection": "hold"},
            "loop": f"{{{{ {HOST}.rollback_hold }}}}",
            "when": _when(apt),
            "ignore_unreachable": True,
        },
        {
            "name": "Lift the version locks the upgrade set (dnf)",
            "ansible.builtin.command": {"argv": f"{{{{ ['dnf', 'versionlock', 'delete'] + {HOST}.unlock }}}}"},
            "when": _when(dnf, f"{HOST}.unlock | length > 0"),
            "register": "auditor_relocked",
            "changed_when": "auditor_relocked.rc == 0",
            "failed_when": False,
            "ignore_unreachable": True,
        },
        {
            "name": "Reinstall the recorded versions (dnf)",
            "ansible.builtin.dnf": _dnf("rollback"),
            "when": _when(dnf, f"{HOST}.rollback | length > 0"),
            "ignore_unreachable": True,
        },
        {
            "name": "Reinstall the recorded versions from the cached package files (dnf)",
            "ansible.builtin.dnf": {
                "name": f"{{{{ {HOST}.rollback_files }}}}",
                "allow_downgrade": True,
                "use_backend": "dnf4",
                "disable_plugin": ["versionlock"],
            },
            "when": _when(dnf, f"{HOST}.rollback_files | length > 0"),
            "ignore_unreachable": True,
        },
        {
            "name": "Lock the recorded versions again (dnf versionlock)",
            "ansible.builtin.command": {"argv": f"{{{{ ['dnf', 'versionlock', 'add'] + {HOST}.rollback_lock }}}}"},
            "when": _when(dnf, f"{HOST}.rollback_lock | length > 0"),
            "ignore_unreachable": True,
        },
        {
            "name": "Reboot into the recorded driver",
            "ansible.builtin.reboot": {"reboot_timeout": 1200},
            "when": _when(f"{HOST}.reboot"),
            "ignore_unreachable": True,
        },
    ]


def hook_problem(path: str) -> str | None:
    """Why ``path`` cannot be a hook (None when it can): a readable YAML list of tasks, its path free of templating."""
    if "{{" in path or "{%" in path or "\n" in path:
        return "a hook path may not contain Jinja markers or line breaks"
    if not os.path.isfile(path):
        return "no such file"
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return f"not a YAML task file: {clean(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)}"
    if not isinstance(document, list) or not all(isinstance(task, dict) for task in document):
        return "an Ansible task file is a YAML list of tasks"
    return None
