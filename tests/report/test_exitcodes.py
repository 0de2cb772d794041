"""The exit-code ladder as a pure function: thresholds, waivers, incompleteness, interruption."""

from __future__ import annotations

import pytest

from auditor.findings import Action, Severity
from auditor.report.exitcodes import ExitCode, help_text, legend
from auditor.report.thresholds import Threshold, decide
from tests.support.reports import finding, host, unreachable

OK = host("ok-1")
UPGRADE = host("up-1", finding())
ROLLBACK = host("rb-1", finding("p/driver.deny", Action.ROLLBACK, Severity.CRITICAL))
WARN_LOW = host("warn-1", finding("p/gpus.count", Action.INVESTIGATE, Severity.LOW))
INCONCLUSIVE = host("unk-1", finding("p/cuda.present", Action.INVESTIGATE, Severity.MEDIUM, inconclusive=True))
WAIVED = host("waived-1", finding("p/driver.deny", Action.ROLLBACK, Severity.CRITICAL, waived=True))


def test_ladder_has_exactly_the_designed_codes() -> None:
    """0, 1, 2, 3, 4 and 130, each described in --help and in the JSON legend."""
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]
    assert set(legend()) == {"0", "1", "2", "3", "4", "130"}
    for code in ExitCode:
        assert f"  {int(code):<5}" in help_text()


def test_clean_fleet_exits_0() -> None:
    """No finding and every host reached: 0, and the reason says so."""
    decision = decide([OK, OK])
    assert decision.code is ExitCode.OK and "below --fail-on upgrade" in decision.reason


def test_verdict_threshold_counts_that_verdict_and_more_urgent_ones() -> None:
    """--fail-on reboot: a rollback host fails the run, an upgrade host does not."""
    assert decide([OK, ROLLBACK], "reboot").code is ExitCode.FINDINGS
    assert decide([OK, UPGRADE], "reboot").code is ExitCode.OK
    assert decide([UPGRADE], "upgrade").failing == ("up-1",)


def test_severity_threshold_counts_findings_that_severe_or_worse() -> None:
    """--fail-on critical ignores a high finding; --fail-on low catches a low-severity warning."""
    assert decide([UPGRADE], "critical").code is ExitCode.OK
    assert decide([ROLLBACK], "critical").code is ExitCode.FINDINGS
    assert decide([WARN_LOW], "low").code is ExitCode.FINDINGS
    assert decide([WARN_LOW], "medium").code is ExitCode.OK
    assert Threshold("high").is_severity and not Threshold("upgrade").is_severity


def test_default_fails_on_needs_action_and_on_any_critical_finding() -> None:
    """By default an upgrade host fails the run, and so does a critical finding whose action is only to look.

    A reference engine that computes the wrong answer is critical/investigate (verdict warn):
    serving must not continue on that node, so cron and CI must see exit 1.
    """
    wrong_output = host("wrong-1", finding("reference.output", Action.INVESTIGATE, Severity.CRITICAL))
    assert decide([OK, UPGRADE]).code is ExitCode.FINDINGS
    assert decide([OK, wrong_output]).failing == ("wrong-1",)
    assert decide([OK, WARN_LOW]).code is ExitCode.OK
    assert decide([wrong_output], "upgrade").code is ExitCode.OK  # naming one level replaces the default
    assert decide([WARN_LOW, ROLLBACK], "rollback,low").failing == ("warn-1", "rb-1")  # either level
    assert decide([WARN_LOW], "rollback,medium").code is ExitCode.OK


def test_waived_findings_never_fail_a_run() -> None:
    """A waived critical rollback is below every threshold."""
    assert decide([WAIVED], "info").code is ExitCode.OK
    assert decide([WAIVED], "warn").code is ExitCode.OK


def test_unreachable_hosts_make_the_audit_incomplete() -> None:
    """Unreachable and nothing failing: 3 by default, 0 with --unreachable warn (the host still listed)."""
    fail = decide([OK, unreachable("down")])
    assert fail.code is ExitCode.INCOMPLETE and fail.incomplete == ("down",)
    warn = decide([OK, unreachable("down")], unreachable="warn")
    assert warn.code is ExitCode.OK and warn.incomplete == ("down",)


def test_could_not_evaluate_is_incomplete_not_a_failure() -> None:
    """An inconclusive check is neither pass nor fail: exit 3 even with --fail-on warn."""
    decision = decide([INCONCLUSIVE], "warn")
    assert decision.code is ExitCode.INCOMPLETE
    assert decision.failing == () and decision.incomplete == ("unk-1",)


def test_findings_beat_incompleteness_and_both_are_reported() -> None:
    """Findings and unreachable hosts together: 1, with both lists in the decision."""
    decision = decide([UPGRADE, unreachable("down")])
    assert decision.code is ExitCode.FINDINGS
    assert decision.failing == ("up-1",) and decision.incomplete == ("down",)
    assert "1 host at or above --fail-on upgrade,critical, 1 host not fully evaluated" in decision.reason


def test_interrupted_beats_everything() -> None:
    """An interrupted run exits 130 whatever it found."""
    assert decide([ROLLBACK], interrupted=True).code is ExitCode.INTERRUPTED


def test_unknown_levels_are_rejected() -> None:
    """A threshold or mode outside the vocabularies is a programming error, not a silent default."""
    with pytest.raises(ValueError, match="unknown --fail-on level"):
        decide([OK], "severe")
    with pytest.raises(ValueError, match="unknown --unreachable"):
        decide([OK], unreachable="ignore")
