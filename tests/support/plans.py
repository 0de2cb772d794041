"""Builders for the planner's tests: a policy with stacks, audited hosts from facts, and a plan of them."""

from __future__ import annotations

import datetime
from typing import Any

from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.plan.fleet import make_plan
from auditor.plan.model import Plan, PlanSource, Rollout, Target
from auditor.policy.model import Policy
from auditor.report.model import HostReport
from tests.support.documents import facts

POLICY = """\
schema: auditor.policy/1
name: plan-test
stacks:
  serving:
    description: the serving stack
    driver: {min: "580.65.06", max: "580", target: "580.95.05"}
    cuda: {min: "12.4", target: "13.0.2"}
    tensorrt: {min: "10.3", max: "10", target: "10.13.3.9"}
    engines: ["/m/{sm}.plan"]
  floor-only:
    cuda: {min: "12.4"}
  cudnn-allowed:
    cudnn: {allow: ["8.9.5", "8.9.7"]}
rules:
  - id: edge
    select: {groups: [edge]}
    disable: {driver.eol: "kept until 2027 (OPS-1)"}
"""

AS_OF = datetime.date(2026, 11, 21)

A100 = {"count": 1, "devices": [{"index": 0, "name": "NVIDIA A100-SXM4-80GB", "compute_capability": "8.0"}]}

V100 = {"count": 1, "devices": [{"index": 0, "name": "Tesla V100-SXM2-32GB", "compute_capability": "7.0"}]}

P100 = {"count": 1, "devices": [{"index": 0, "name": "Tesla P100-PCIE-16GB", "compute_capability": "6.0"}]}

T4 = {"count": 1, "devices": [{"index": 0, "name": "Tesla T4", "compute_capability": "7.5"}]}

RTX = {"count": 1, "devices": [{"index": 0, "name": "NVIDIA GeForce RTX 4090", "compute_capability": "8.9"}]}


def host(name: str = "gpu-01", groups: tuple[str, ...] = ("serving",), **sections: Any) -> HostReport:
    """An audited host whose facts are the test document with ``sections`` replaced."""
    return HostReport(Host(name, "10.0.0.1", groups=groups), Verdict.OK, facts=facts(**sections))


def driver(version: str, module: str | None = None) -> dict[str, Any]:
    return {"version": version, "kernel_module": module or version, "mismatch": bool(module and module != version)}


def toolkit(version: str) -> dict[str, Any]:
    path = f"/usr/local/cuda-{'.'.join(version.split('.')[:2])}"
    return {"toolkits": [{"path": path, "version": version, "source": "version.json"}], "default": path}


def trt(version: str | None) -> dict[str, Any]:
    return {"version": version, "modules": [{"module": "tensorrt", "version": version}] if version else []}


def engine(path: str, header: str | None, load: str = "ok", template: str | None = "/m/{sm}.plan") -> dict[str, Any]:
    return {
        "path": path,
        "template": template,
        "exists": load != "not-found",
        "sha256": "ab" * 32,
        "header": {"magic": True, "tensorrt_version": header},
        "load": {"status": load},
    }


def plan(
    reports: list[HostReport], target: Target, policy: Policy, rollout: Rollout | None = None, **vars: Any
) -> Plan:
    hosts = {r.name: Host(r.name, r.address, groups=r.groups, vars=vars.get(r.name, {})) for r in reports}
    source = PlanSource("audit", "2026-11-21T06:00:00Z")
    return make_plan(reports, hosts, target, policy, rollout or Rollout(), source, "test-fleet")


def one(report: HostReport, target: Target, policy: Policy) -> Any:
    return plan([report], target, policy).hosts[0]
