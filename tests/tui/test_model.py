"""The interactive audit's model, without Textual: filter, sort, sweep progress, ages, replays."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.audit.events import AuditEvent
from auditor.findings import Verdict
from auditor.inventory import Host
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


def full_sort(model: FleetModel) -> list[str]:
    """The order the table shows, by definition: one stable sort of every shown row (the model keeps it incrementally)."""
    rows = [
        row
        for row in model.rows.values()
        if model.filter.matches(row) and (not model.needs_action_only or row.needs_action)
    ]
    present = [row for row in rows if not row.sort_key(model.sort)[0]]
    present.sort(key=lambda row: row.sort_key(model.sort)[1], reverse=model.reverse)  # type: ignore[arg-type,return-value]
    return [row.name for row in present] + [row.name for row in rows if row.sort_key(model.sort)[0]]


_REPORTS = recorded_reports()
_NAMES = [f"h{i}" for i in range(12)]  # few names, so hosts change many times and many values tie
_STEPS = st.one_of(
    st.tuples(st.just("event"), st.sampled_from(_NAMES), st.sampled_from(list(HostState)), st.integers(0, 40)),
    st.tuples(st.just("sort"), st.sampled_from(list(SortKey)), st.booleans()),
    st.tuples(st.just("view"), st.sampled_from(["", "a100", "!ok", "upgrade", "h1"]), st.booleans()),
    st.tuples(st.just("complete"), st.sampled_from(_NAMES), st.integers(0, len(_REPORTS) - 1)),
    st.tuples(st.just("show")),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_STEPS, max_size=60), st.permutations(_NAMES))
def test_the_kept_order_and_counts_equal_a_full_sort_and_a_recount(
    steps: list[tuple[object, ...]], inventory: list[str]
) -> None:
    """Whatever hosts, events, sorts, directions, filters and fleet-level results come in any order, ``visible``
    is what one stable sort of every shown row gives, and ``counts`` what counting every row gives."""
    model = FleetModel()
    model.add_hosts(Host(name, "10.0.0.1", groups=("g",) if i % 2 else ()) for i, name in enumerate(inventory[:6]))
    clock = 0.0
    for step in steps:
        if step[0] == "event":
            _, name, state, pick = step
            report = _REPORTS[pick % len(_REPORTS)] if pick < len(_REPORTS) and state is HostState.DONE else None
            host = Host(str(name), "10.0.0.2")
            clock += 1.0 if pick % 3 else 0.0  # equal ages too
            model.apply(AuditEvent(host, state, dataclasses.replace(report, host=host) if report else None), clock)  # type: ignore[arg-type]
        elif step[0] == "sort":
            model.sort, model.reverse = step[1], step[2]  # type: ignore[assignment]
        elif step[0] == "view":
            model.filter, model.needs_action_only = HostFilter(str(step[1])), bool(step[2])
        elif step[0] == "complete":
            name, pick = str(step[1]), int(step[2])  # type: ignore[call-overload]
            if name in model.rows:
                model.complete([dataclasses.replace(_REPORTS[pick], host=model.rows[name].host)])
        assert model.visible() == full_sort(model)
        recount = {v: sum(1 for r in model.rows.values() if r.report and r.report.verdict is v) for v in Verdict}
        assert model.counts() == recount
