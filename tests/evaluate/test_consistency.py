"""Consistency within a group: the hosts that drifted from the group's version get a warning."""

from __future__ import annotations

import datetime
from pathlib import Path

from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.report.assess import apply_consistency
from auditor.report.model import HostReport
from tests.support.documents import facts

POLICY = """schema: auditor.policy/1
rules:
  - id: fleet
    select: {groups: [serving, batch]}
    consistent: [driver, tensorrt]
    severity: medium
"""


def load(tmp_path: Path, waivers: str | None = None) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    waiver_path = None
    if waivers is not None:
        waiver_path = tmp_path / "waivers.yaml"
        waiver_path.write_text(waivers)
    return load_policies([path], waivers=waiver_path, as_of=datetime.date(2025, 1, 1), checks=CHECK_IDS)


def host(name: str, group: str, driver: str, tensorrt: str | None = "8.6.1.6") -> HostReport:
    doc = facts(driver={"version": driver, "kernel_module": driver}, tensorrt={"version": tensorrt})
    return HostReport(Host(name, name, groups=(group,)), Verdict.OK, facts=doc)


def test_the_minority_version_in_each_group_warns(tmp_path: Path) -> None:
    """Three serving hosts, one on another driver: that one warns, naming the majority; each group is its own set."""
    reports = [
        host("s1", "serving", "580.95.05"),
        host("s2", "serving", "580.95.05"),
        host("s3", "serving", "580.82.07"),
        host("b1", "batch", "580.82.07"),
        host("b2", "batch", "580.82.07"),
    ]
    result = {r.name: r for r in apply_consistency(load(tmp_path), reports)}
    (drift,) = result["s3"].findings
    assert drift.rule == "fleet/consistent.driver" and drift.expected == "580.95.05" and drift.actual == "580.82.07"
    assert "580.95.05 on 2 of 3 hosts" in drift.message and drift.severity.value == "medium"
    assert drift.source == f"{tmp_path / 'policy.yaml'}:5"
    assert result["s3"].verdict is Verdict.WARN
    assert result["s1"].findings == () and result["b1"].findings == ()
    assert "fleet/consistent.tensorrt" in result["s1"].checks


def test_a_tie_flags_every_host_of_the_group(tmp_path: Path) -> None:
    """With no majority there is no right version: each host is told the group has to settle on one."""
    reports = [host("s1", "serving", "580.95.05"), host("s2", "serving", "580.82.07")]
    result = apply_consistency(load(tmp_path), reports)
    assert all(r.verdict is Verdict.WARN for r in result)
    assert "no majority" in result[0].findings[0].message


def test_hosts_without_facts_or_the_component_are_left_out(tmp_path: Path) -> None:
    """An unreachable host and a host without TensorRT do not count toward drift."""
    unreachable = HostReport(Host("s3", "s3", groups=("serving",)), Verdict.UNREACHABLE)
    reports = [host("s1", "serving", "580.95.05"), host("s2", "serving", "580.95.05", tensorrt=None), unreachable]
    result = {r.name: r for r in apply_consistency(load(tmp_path), reports)}
    assert all(not r.findings for r in result.values())
    assert result["s3"].verdict is Verdict.UNREACHABLE


def test_drift_findings_can_be_waived(tmp_path: Path) -> None:
    """Waivers apply to fleet-level findings too."""
    waivers = """schema: auditor.waivers/1
waivers:
  - {finding: "fleet/consistent.*", hosts: [s3], reason: canary, owner: me, expires: 2030-01-01}
"""
    reports = [
        host("s1", "serving", "580.95.05"),
        host("s2", "serving", "580.95.05"),
        host("s3", "serving", "580.82.07"),
    ]
    result = {r.name: r for r in apply_consistency(load(tmp_path, waivers), reports)}
    assert result["s3"].findings[0].waived and result["s3"].verdict is Verdict.OK
