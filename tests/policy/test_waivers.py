"""Waivers: validated with locations, applied to matching findings, loud once expired."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from auditor.errors import InputErrors
from auditor.evaluate.host import evaluate
from auditor.evaluate.registry import CHECK_IDS
from auditor.findings import Action, Finding, Severity, Verdict, verdict_of
from auditor.inventory import Host
from auditor.policy.files import load_policies
from auditor.policy.waivers import apply_waivers, load_waivers
from tests.support.documents import facts

WAIVERS = """schema: auditor.waivers/1
waivers:
  - finding: "base/driver.*"
    hosts: ["gpu-0*"]
    reason: "Upgrade scheduled with the vendor."
    owner: "ops@example.com"
    expires: 2026-12-31
  - finding: "base/driver.min"
    hosts: "gpu-*"
    reason: "Old exception."
    owner: "ops@example.com"
    expires: 2026-01-31
"""
POLICY = 'schema: auditor.policy/1\nrules:\n  - id: base\n    driver: {min: "580"}\n'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def below_floor() -> Finding:
    return Finding(rule="base/driver.min", severity=Severity.HIGH, action=Action.UPGRADE, message="driver below floor")


def test_valid_waiver_marks_the_finding_and_keeps_it(tmp_path: Path) -> None:
    """A waived finding stays, marked waived with reason, owner, expiry and file:line; the verdict ignores it."""
    waivers = load_waivers(write(tmp_path, "w.yaml", WAIVERS))
    (finding,) = apply_waivers(waivers, "gpu-01", [below_floor()], datetime.date(2026, 12, 31))
    assert finding.waived and finding.verdict is Verdict.OK
    assert finding.waiver == {
        "reason": "Upgrade scheduled with the vendor.",
        "owner": "ops@example.com",
        "expires": "2026-12-31",
        "source": f"{tmp_path / 'w.yaml'}:3",
        "status": "active",
    }


def test_expired_waiver_fails_loudly(tmp_path: Path) -> None:
    """Past its date the finding counts again, says the waiver expired and where, and the policy notes it."""
    waivers = load_waivers(write(tmp_path, "w.yaml", WAIVERS))
    (finding,) = apply_waivers(waivers, "gpu-11", [below_floor()], datetime.date(2027, 1, 1))
    assert not finding.waived and finding.verdict is Verdict.UPGRADE
    assert finding.waiver is not None and finding.waiver["status"] == "expired"
    assert finding.message.endswith(f"[waiver EXPIRED 2026-01-31, {tmp_path / 'w.yaml'}:8]")
    policy = load_policies(
        [write(tmp_path, "p.yaml", POLICY)],
        waivers=tmp_path / "w.yaml",
        as_of=datetime.date(2027, 1, 1),
        checks=CHECK_IDS,
    )
    assert [str(w.location) for w in policy.expired_waivers()] == [
        f"{tmp_path / 'w.yaml'}:3",
        f"{tmp_path / 'w.yaml'}:8",
    ]
    assert policy.notes[0].startswith(f"EXPIRED WAIVER {tmp_path / 'w.yaml'}:3")


def test_a_valid_waiver_wins_over_an_expired_one(tmp_path: Path) -> None:
    """Both waivers match gpu-01's finding; the one still valid decides."""
    waivers = load_waivers(write(tmp_path, "w.yaml", WAIVERS))
    (finding,) = apply_waivers(waivers, "gpu-01", [below_floor()], datetime.date(2026, 6, 1))
    assert finding.waived and finding.waiver is not None and finding.waiver["source"].endswith(":3")


def test_waiver_holds_through_its_expiry_date(tmp_path: Path) -> None:
    """Expires 2026-12-31: valid on that day, expired on the next."""
    (waiver, _) = load_waivers(write(tmp_path, "w.yaml", WAIVERS))
    assert not waiver.expired(datetime.date(2026, 12, 31)) and waiver.expired(datetime.date(2027, 1, 1))


def test_waivers_apply_inside_evaluation(tmp_path: Path) -> None:
    """evaluate() applies the policy's waivers: the host's verdict is ok with the finding still listed."""
    policy = load_policies(
        [write(tmp_path, "p.yaml", POLICY)],
        waivers=write(tmp_path, "w.yaml", WAIVERS),
        as_of=datetime.date(2025, 1, 1),
        checks=CHECK_IDS,
    )
    result = evaluate(policy, Host("gpu-01", "x"), facts(gpus={"count": 1, "devices": []}))
    (finding,) = result.findings
    assert finding.rule == "base/driver.min" and finding.waived
    assert verdict_of(result.findings) is Verdict.OK


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema: auditor.waivers/1\nwaivers:\n  - finding: x\n", "waiver #1 needs the key 'hosts'"),
        (
            "schema: auditor.waivers/1\nwaivers:\n  - {finding: x, hosts: [a], reason: r, owner: o, expires: soon}\n",
            "'expires' must be a date",
        ),
        (
            "schema: auditor.waivers/1\nwaivers:\n  - {findng: x, hosts: [a], reason: r, owner: o, expires: 2026-01-01}\n",
            "did you mean 'finding'?",
        ),
        (
            "schema: auditor.waivers/1\nwaivers:\n  - {finding: x, hosts: [], reason: r, owner: o, expires: 2026-01-01}\n",
            "at least one host pattern",
        ),
        (
            "schema: auditor.waivers/1\nwaivers:\n  - {finding: x, hosts: [a], reason: ' ', owner: o, expires: 2026-01-01}\n",
            "'reason' must not be empty",
        ),
        ("schema: auditor.policy/1\nwaivers: []\n", "schema must be 'auditor.waivers/1'"),
    ],
)
def test_malformed_waivers_are_input_errors_with_locations(tmp_path: Path, text: str, message: str) -> None:
    """Every key is required and typed; problems name file:line (exit 2 before any host is contacted)."""
    path = write(tmp_path, "w.yaml", text)
    with pytest.raises(InputErrors) as info:
        load_waivers(path)
    rendered = "\n".join(str(e) for e in info.value.errors)
    assert message in rendered and str(path) in rendered
