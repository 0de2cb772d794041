"""The interactive audit's model, without Textual: filter, sort, sweep progress, ages, replays."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest

from auditor.audit.events import AuditEvent
from auditor.findings import Verdict
from auditor.report.model import Report
from auditor.report.writers.json import render_json
from auditor.transport.outcome import HostState
from auditor.tui.cells import format_age, row_cells
from auditor.tui.command import watch_interval
from auditor.tui.model import FleetModel, HostFilter, SortKey
from auditor.tui.recorded import load_reports
from auditor.tui.source import ReplaySource, host_of
from tests.support.tui import RECORDED, recorded_reports


def model_after_sweep() -> FleetModel:
    model = FleetModel()
    reports = recorded_reports()
    model.add_hosts(host_of(r) for r in reports)
    for report in reports:
        model.apply(AuditEvent(host_of(report), HostState.DONE, report), now=10.0)
    return model


def test_default_order_is_most_urgent_first_with_inventory_order_for_ties() -> None:
    """Verdict sort puts error first and ok last; hosts with the same verdict keep inventory order."""
    model = model_after_sweep()
    shown = model.visible()
    ranks = [model.rows[n].report.verdict.rank for n in shown]  # type: ignore[union-attr]
    assert ranks == sorted(ranks)
    ok = [n for n in shown if model.rows[n].report.verdict is Verdict.OK]  # type: ignore[union-attr]
    assert ok == [n for n in model.rows if n in ok]


def test_versions_sort_as_numbers_not_text() -> None:
    """Driver 470 < 535.104 < 535.183 < 550 < 590 although '590' < '6' as text; hosts without a driver go last."""
    model = model_after_sweep()
    model.sort = SortKey.DRIVER
    drivers = [model.rows[n].columns["driver"] for n in model.visible()]
    present = [d for d in drivers if d]
    assert present[0].startswith("470.") and present[-1].startswith("590.")
    assert drivers[-len([d for d in drivers if not d]) :] == [""] * len([d for d in drivers if not d])
    model.reverse = True
    assert model.visible()[0] == "v100-legacy-01"  # 590.48.01 > 590.44.01


def test_filter_matches_any_column_case_insensitively_and_bang_inverts() -> None:
    """'A100' matches names, 'deny list' matches the why column, '!a100' keeps the rest."""
    model = model_after_sweep()
    model.filter = HostFilter("A100")
    assert {n for n in model.visible()} == {"a100-serve-01", "a100-serve-02", "a100-serve-03", "a100-train-01"}
    model.filter = HostFilter("deny list")
    assert model.visible() == ["a10-infer-01"]
    model.filter = HostFilter("!a100")
    assert len(model.visible()) == len(model.rows) - 4
    assert not HostFilter("!").active and not HostFilter("  ").active


def test_needs_action_only_hides_ok_hosts_and_hosts_without_a_verdict() -> None:
    """Only hosts with a non-ok verdict remain; a host not audited yet has no verdict and is hidden."""
    model = model_after_sweep()
    model.needs_action_only = True
    assert len(model.visible()) == sum(1 for r in recorded_reports() if r.verdict is not Verdict.OK)
    fresh = FleetModel(needs_action_only=True)
    fresh.add_hosts([host_of(recorded_reports()[0])])
    assert fresh.visible() == []


def test_a_reprobe_keeps_the_old_verdict_dimmed_until_the_new_one_arrives() -> None:
    """While a host is probed again its old verdict stays (dimmed) and Age shows the sweep state."""
    model = model_after_sweep()
    row = model.rows["a10-infer-01"]
    model.apply(AuditEvent(row.host, HostState.PROBING), now=20.0)
    cells = row_cells(model.rows["a10-infer-01"], marked=False, now=20.0)
    assert cells["verdict"].plain == "↓ ROLLBACK" and any(span.style == "dim" for span in cells["verdict"].spans)
    assert cells["age"].plain == "◐ probing"


def test_sweep_eta_extrapolates_the_pace_so_far() -> None:
    """Half the hosts done in 10 s leaves an estimate of 10 s; none done gives no estimate."""
    model = FleetModel()
    model.start_sweep(4, now=100.0)
    assert model.sweep.eta(105.0) is None
    model.sweep.finished = 2
    assert model.sweep.eta(110.0) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (59.9, "59s"), (60, "1m"), (3599, "59m"), (7200, "2h"), (90000, "1d")]
)
def test_age_is_one_coarse_unit(seconds: float, text: str) -> None:
    """Ages fit a narrow column: whole seconds, minutes, hours or days."""
    assert format_age(seconds) == text


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1.5m", 90.0)]
)
def test_watch_interval_accepts_seconds_and_units(text: str, seconds: float) -> None:
    """--watch takes plain seconds or s/m/h."""
    assert watch_interval(text) == seconds


@pytest.mark.parametrize("text", ["0", "0.5s", "5x", "m", "-3"])
def test_watch_interval_rejects_nonsense_and_sub_second(text: str) -> None:
    """An interval below a second or with an unknown unit is a usage error."""
    with pytest.raises(argparse.ArgumentTypeError):
        watch_interval(text)


def test_recorded_reports_round_trip_through_the_json_writer() -> None:
    """Reports read back from auditor.report/1 render to the same JSON hosts as the recording."""
    reports = load_reports(RECORDED)
    original = json.loads(RECORDED.read_text())
    again = json.loads(render_json(Report(inventory="x", policy="y", hosts=reports)))
    assert again["hosts"] == original["hosts"]


def test_replay_emits_queued_for_all_then_each_host_through_to_done() -> None:
    """A replay streams like a sweep: every host QUEUED first, then CONNECTING, PROBING and DONE/FAILED with its report."""
    reports = recorded_reports()

    async def collect() -> list[AuditEvent]:
        async with ReplaySource(reports)() as session:
            return [event async for event in session.sweep(session.hosts)]

    events = asyncio.run(collect())
    assert [e.state for e in events[: len(reports)]] == [HostState.QUEUED] * len(reports)
    last = {e.host.name: e for e in events}
    assert all(e.report is not None for e in last.values())
    assert {e.state for e in last.values()} == {HostState.DONE, HostState.FAILED}
