"""Reference engines over real SSH: the program with its payload reaches a simulated host, findings come back."""

from __future__ import annotations

import asyncio
import datetime
import json
from pathlib import Path

import pytest

from auditor.__main__ import main
from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Action, Severity
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.probe.program import remote_command
from auditor.reference.build import BuildRequest
from auditor.reference.library import Library
from auditor.reference.shipment import check_library, reference_calls
from auditor.report.assess import assess
from auditor.report.model import HostReport
from auditor.simulate.fleet import load_fleet
from auditor.simulate.server import SimulatedFleet
from auditor.transport.runner import probe_host
from tests.support.reference import H100, host, make_library

FLEET = """\
schema: auditor.fleet/1
defaults: {driver: "580.95.05", groups: [serving]}
hosts:
  good-a10:
    gpus: [{model: "NVIDIA A10", count: 1}]
    tensorrt: "10.3.0.26"
    python_tensorrt: "10.3.0.26"
  bad-a10:
    gpus: [{model: "NVIDIA A10", count: 1}]
    tensorrt: "10.3.0.26"
    python_tensorrt: "10.3.0.26"
    gpu_fault: wrong-output
  new-h100:
    gpus: [{model: "NVIDIA H100 80GB HBM3", count: 1}]
    tensorrt: "11.4.0.106"
    python_tensorrt: "11.4.0.106"
  old-t4:
    gpus: [{model: "Tesla T4", count: 1}]
    tensorrt: "10.3.0.26"
    python_tensorrt: "10.3.0.26"
"""
POLICY = """\
schema: auditor.policy/1
rules:
  - id: serving
    select: {groups: [serving]}
    reference: ref-fp32
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    base = tmp_path_factory.mktemp("audit-library")
    return make_library(
        base,
        [
            (host("canary-a10"), BuildRequest("ref-fp32")),
            (host("canary-h100", H100, "10.8.0.43"), BuildRequest("ref-fp32", version_compatible=True)),
        ],
    )


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return load_policies([path], as_of=datetime.date(2026, 11, 21), checks=CHECK_IDS)


def audit(fleet_file: Path, policy: Policy, library: Library) -> dict[str, HostReport]:
    """Each host probed over SSH with the call reference_calls makes for it, then assessed."""
    check_library(policy, library)
    call = reference_calls(policy, library)

    async def go() -> dict[str, HostReport]:
        async with SimulatedFleet(load_fleet(fleet_file)) as sim:
            options = sim.options(probe_timeout=60.0)
            reports = {}
            for target in sim.hosts:
                made = call(target)
                outcome = await probe_host(target, options, remote_command(made.request), made.source)
                reports[target.name] = assess(target, outcome, policy)
            return reports

    return asyncio.run(go())


def test_reference_engines_run_over_ssh_and_become_findings(library: Library, policy: Policy, tmp_path: Path) -> None:
    """Exact plan ok, wrong answer critical, the VC plan on a newer runtime ok, no plan for a T4."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    reports = audit(fleet, policy, library)
    found = {name: [f for f in r.findings if f.rule == "serving/reference"] for name, r in reports.items()}
    [good] = found["good-a10"]
    assert (good.severity, good.action) == (Severity.INFO, Action.NONE) and "10.3.0.26/sm86/ref-fp32" in good.message
    [bad] = found["bad-a10"]
    assert (bad.severity, bad.action) == (Severity.CRITICAL, Action.INVESTIGATE)
    [new] = found["new-h100"]
    assert (
        new.severity is Severity.INFO
        and "10.8.0.43/sm90/ref-fp32" in new.message
        and "version-compatible" in new.message
    )
    [old] = found["old-t4"]
    assert (old.severity, old.action) == (Severity.HIGH, Action.REBUILD_ENGINE)
    facts = reports["good-a10"].facts
    assert facts is not None and facts.reference.item("ref-fp32").runs[0].cleanup == "removed"  # type: ignore[union-attr]


def test_a_policy_requiring_a_missing_reference_is_a_usage_error(
    library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """auditor check (like report) checks the library before any host: exit 2 naming the policy line."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    empty = tmp_path / "empty"
    assert main(["check", "--simulate", str(fleet), "-p", str(path), "--library", str(empty)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5: reference 'ref-fp32': no plan named 'ref-fp32' in {empty}" in err
    assert main(["check", "--simulate", str(fleet), "-p", str(path), "--library", str(library.root)]) == 0


def test_auditor_report_ships_the_library_and_reports_the_runs(
    library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """auditor report -p POLICY --library DIR: the runner sends each host its program; the report has the findings."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(FLEET)
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    code = main(
        [
            "report",
            "--simulate",
            str(fleet),
            "-p",
            str(path),
            "--library",
            str(library.root),
            "--format",
            "json",
            "--fail-on",
            "critical",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    severities = {
        h["name"]: [f["severity"] for f in h["findings"] if f["rule"] == "serving/reference"] for h in document["hosts"]
    }
    assert severities == {"good-a10": ["info"], "bad-a10": ["critical"], "new-h100": ["info"], "old-t4": ["high"]}
    assert code == 1  # a critical finding with --fail-on critical
    reference = next(h for h in document["hosts"] if h["name"] == "good-a10")["facts"]["reference"]
    assert reference["items"][0]["runs"][0]["cleanup"] == "removed"
