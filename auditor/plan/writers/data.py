"""An upgrade plan as data: JSON (``auditor.plan/1``) and an Ansible YAML inventory of its waves.

JSON is the machine contract: ``{"schema", "target", "hosts": [{"name", "steps":
[{"action", "component", "from", "to", "reason", ...}], "blockers", "warnings",
"rollback", "wave"}], "waves", ...}``; fields are only ever added.

The Ansible inventory holds only the hosts that are in a wave, one group per wave
(``wave_0_canary``, ``wave_1``, ...), so an existing upgrade playbook can run wave by
wave (``ansible-playbook -i site.yaml -i plan.yaml upgrade.yml --limit wave_0_canary``)
and can never reach a blocked, skipped or unaudited host through it. Each host
carries its plan as variables: ``auditor_wave``, ``auditor_target`` (the version
each changed component moves to), ``auditor_steps`` and ``auditor_rollback``.
PyYAML's ``safe_dump`` quotes whatever needs quoting, so no host string can add
keys or documents; the header comments are cleaned of line breaks.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from auditor.plan.model import HostPlan, Plan
from auditor.text import clean


def render_plan_json(plan: Plan) -> str:
    """The plan as indented JSON (ends with a newline)."""
    return json.dumps(plan.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_plan_ansible(plan: Plan) -> str:
    """The waves as an Ansible YAML inventory, with a comment header saying what it is."""
    hosts = {h.name: h for h in plan.hosts}
    children: dict[str, Any] = {}
    for wave in plan.waves:
        children[wave.name] = {
            "hosts": {name: _host_vars(hosts[name]) for name in wave.hosts},
            "vars": {"auditor_wave": wave.number, "auditor_canary": wave.canary},
        }
    left_out = [h for h in plan.hosts if h.status.left_out]
    header = [
        f"auditor plan ({plan.source.describe()}), generated {plan.generated_at}",
        f"target: {plan.target.name}; inventory: {plan.inventory}; policy: {plan.policy}; {plan.knowledge.line()}",
        "one group per wave, canary first: run them in order (--limit wave_0_canary, then wave_1, ...)",
    ]
    if left_out:
        header.append("left out: " + ", ".join(f"{h.name} ({h.status.value})" for h in left_out))
    if not plan.waves:
        header.append("no host has steps to run: nothing to do")
    text = "".join(f"# {clean(line)}\n" for line in header)
    document = {"all": {"children": children}} if children else {"all": {"hosts": {}}}
    return text + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1_000_000)


def _host_vars(host: HostPlan) -> dict[str, Any]:
    target = {s.component: s.to for s in host.steps if s.to and s.component in ("driver", "cuda", "cudnn", "tensorrt")}
    steps = []
    for step in host.steps:
        entry = {"action": step.action.value, "component": step.component, "from": step.from_, "to": step.to}
        if step.path:
            entry["path"] = step.path
        if step.compute_capability:
            entry["compute_capability"] = step.compute_capability
        steps.append(entry)
    rollback = host.rollback.to_json() if host.rollback else {}
    return {
        "auditor_wave": host.wave,
        "auditor_target": target,
        "auditor_steps": steps,
        "auditor_rollback": rollback,
    }
