"""The demo audit through the real SSH path: every host's verdict, and faults isolated."""

from __future__ import annotations

import time
from pathlib import Path

from auditor.findings import Verdict
from auditor.outcome import Step
from auditor.report import Report
from tests.conftest import FAST_PROBE_TIMEOUT, run_fleet

EXPECTED = {
    "t4-edge-01": Verdict.OK,
    "a10-infer-02": Verdict.OK,
    "l4-infer-01": Verdict.OK,
    "a100-serve-01": Verdict.OK,
    "h100-serve-01": Verdict.OK,
    "t4-edge-02": Verdict.UPGRADE,
    "a10-infer-01": Verdict.ROLLBACK,
    "a100-serve-02": Verdict.REBOOT,
    "a100-serve-03": Verdict.WARN,
    "a100-train-01": Verdict.ROLLBACK,
    "h100-serve-02": Verdict.UPGRADE,
    "l4-infer-02": Verdict.UPGRADE,
    "a10-spare-01": Verdict.WARN,
    "h100-serve-03": Verdict.UNREACHABLE,
    "l4-batch-01": Verdict.UNREACHABLE,
    "t4-lab-01": Verdict.ERROR,
}


def test_demo_fleet_verdicts(demo_report: Report) -> None:
    """Each demo host gets the verdict its profile was written to show."""
    assert {h.name: h.verdict for h in demo_report.hosts} == EXPECTED
    assert demo_report.summary() == {
        "total": 16,
        "error": 1,
        "unreachable": 2,
        "rollback": 2,
        "reboot": 1,
        "upgrade": 3,
        "warn": 2,
        "ok": 5,
    }


def test_findings_explain_the_verdicts(demo_report: Report) -> None:
    """The main finding of each non-ok host names the rule and cites the policy line."""
    hosts = {h.name: h for h in demo_report.hosts}
    denied = hosts["a10-infer-01"].main_finding
    assert denied is not None and denied.rule == "fleet-driver/driver.deny" and denied.actual == "550.54.14"
    assert denied.source is not None and denied.source.endswith("demo.yaml:11")
    reboot = hosts["a100-serve-02"].main_finding
    assert reboot is not None and reboot.rule == "driver.mismatch"
    assert reboot.actual == "kernel module 535.104.05, library 535.183.01"
    assert hosts["l4-infer-02"].reason == "TensorRT is required but not installed"


def test_failures_name_their_step(demo_report: Report) -> None:
    """Refused, timed out and garbage: each says which step failed and how."""
    hosts = {h.name: h for h in demo_report.hosts}
    refused, hung, garbage = hosts["h100-serve-03"].error, hosts["l4-batch-01"].error, hosts["t4-lab-01"].error
    assert refused is not None and (refused.step, refused.message) == (Step.CONNECT, "connection refused")
    assert hung is not None and hung.step is Step.PROBE and hung.timed_out
    assert hung.message == f"timed out after {FAST_PROBE_TIMEOUT:g}s"
    assert garbage is not None and garbage.step is Step.PARSE


def test_facts_arrive_in_the_report(demo_report: Report) -> None:
    """Hosts that answered carry their parsed facts; the probe ran under the host's Python."""
    h100 = next(h for h in demo_report.hosts if h.name == "h100-serve-01")
    assert h100.facts is not None and h100.facts.gpus.count == 8
    assert h100.timing.connect_s is not None and h100.timing.probe_s is not None


def test_a_hanging_host_does_not_hold_up_the_others(tmp_path: Path) -> None:
    """One host hangs forever: the others finish, it is cut off at the probe timeout."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        """schema: auditor.fleet/1
hosts:
  stuck: {gpus: [{model: "Tesla T4"}], driver: "535.104.05", fault: hang}
  fine-1: {gpus: [{model: "Tesla T4"}], driver: "535.104.05"}
  fine-2: {gpus: [{model: "NVIDIA L4"}], driver: "550.54.15"}
"""
    )
    started = time.monotonic()
    report = run_fleet(fleet, probe_timeout=2.0)
    elapsed = time.monotonic() - started
    verdicts = {h.name: h.verdict for h in report.hosts}
    assert verdicts == {"stuck": Verdict.UNREACHABLE, "fine-1": Verdict.OK, "fine-2": Verdict.OK}
    assert 2.0 <= elapsed < 15


def test_other_faults_are_isolated(tmp_path: Path) -> None:
    """Auth refusal, a changed host key, a flood, a missing python: one verdict each, others fine."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        """schema: auditor.fleet/1
defaults: {gpus: [{model: "Tesla T4"}], driver: "535.104.05"}
hosts:
  denied: {fault: auth-denied}
  rekeyed: {fault: host-key-changed}
  flood: {fault: flood}
  nopython: {fault: no-python}
  slow: {fault: slow}
  fine: {}
"""
    )
    report = run_fleet(fleet, probe_timeout=10.0)
    hosts = {h.name: h for h in report.hosts}
    assert hosts["denied"].verdict is Verdict.UNREACHABLE and hosts["denied"].error.step is Step.AUTH
    assert hosts["rekeyed"].verdict is Verdict.UNREACHABLE and hosts["rekeyed"].error.step is Step.HOST_KEY
    assert "HOST KEY CHANGED" in hosts["rekeyed"].error.message
    assert hosts["flood"].verdict is Verdict.ERROR and "exceeded 1048576 bytes" in hosts["flood"].error.message
    assert hosts["nopython"].verdict is Verdict.ERROR and "no python3" in hosts["nopython"].error.message
    assert hosts["slow"].verdict is Verdict.OK and hosts["fine"].verdict is Verdict.OK
