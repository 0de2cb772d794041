"""The report as an Ansible inventory (YAML): the audited hosts grouped by what the audit found.

Groups (``auditor.report.scheduling.host_groups``): ``verdict_<verdict>``, ``gpu_<model>``,
``cc_<major>_<minor>``, ``driver_<branch>``, ``cuda_<major>_<minor>`` (the default toolkit),
``cuda_driver_<major>_<minor>`` (what the driver supports), ``mig_<mode>``; so a playbook
targets ``hosts: driver_535:&verdict_upgrade``. Each host keeps how it was reached
(``ansible_host``, ``ansible_port``, ``ansible_user``) and carries its audited versions as
``auditor_*`` variables. ``ansible-inventory -i FILE --list`` reads it (tested).

Ansible templates inventory strings (``{{ }}``): a host-supplied value is written only when it
is made of letters, digits and ``. _ + - : / ( )`` and blanks, never anything Jinja could run.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from auditor.facts.stack import stack_of
from auditor.report.model import HostReport, Report
from auditor.report.scheduling import host_groups, run_notes
from auditor.text import clean

SAFE_VALUE = re.compile(r"^[A-Za-z0-9 ._+:/()-]{1,200}$")


def _safe(value: object) -> str | None:
    text = str(value) if value is not None else ""
    return text if SAFE_VALUE.match(text) else None


def host_vars(host: HostReport) -> dict[str, Any]:
    """How to reach the host, and its audited versions (``auditor_*``)."""
    out: dict[str, Any] = {}
    inventory = host.host
    if inventory.vars.get("local") is True:  # report --local: this machine, reached without SSH
        out["ansible_connection"] = "local"
    elif inventory.address and inventory.address != inventory.name and _safe(inventory.address):
        out["ansible_host"] = inventory.address
    if inventory.port is not None:
        out["ansible_port"] = inventory.port
    if inventory.user and _safe(inventory.user):
        out["ansible_user"] = inventory.user
    out["auditor_verdict"] = host.verdict.value
    stack = stack_of(host.facts)
    for key, value in (
        ("auditor_gpu", stack.gpu),
        ("auditor_driver", stack.driver),
        ("auditor_cuda_driver", stack.cuda_driver),
        ("auditor_cuda", stack.cuda),
        ("auditor_cudnn", stack.cudnn),
        ("auditor_tensorrt", stack.tensorrt),
    ):
        if _safe(value):
            out[key] = value
    if stack.gpu_count is not None:
        out["auditor_gpu_count"] = stack.gpu_count
    return out


def render_ansible_inventory(report: Report) -> str:
    """The inventory: every host under ``all.hosts`` with its variables, and the groups under ``all.children``."""
    hosts: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for host in report.hosts:
        hosts[host.name] = host_vars(host)
        for group in host_groups(host):
            groups.setdefault(group, {"hosts": {}})["hosts"][host.name] = None
    header = (
        f"# Ansible inventory from auditor's audit of {clean(report.inventory, 200)} at {report.generated_at}\n"
        f"# policy {clean(report.policy, 200)}; {report.knowledge.line()}\n"
        "# groups: verdict_*, gpu_*, cc_*, driver_*, cuda_*, cuda_driver_*, mig_*; host variables auditor_*\n"
    ) + "".join(f"# {line}\n" for line in run_notes(report))
    document = {"all": {"hosts": hosts, "children": dict(sorted(groups.items()))}}
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=False)
