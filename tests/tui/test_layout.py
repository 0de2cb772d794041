"""The host table's columns: widths from the rows shown up to a cap, Why fitted to the terminal, host/verdict/why
always on screen."""

from __future__ import annotations

import dataclasses

import pytest

from auditor.report.model import HostReport
from auditor.tui.app import AuditApp
from auditor.tui.cells import COLUMNS, FLEX_MIN, PADDING, layout, row_cells
from auditor.tui.model import HostRow
from auditor.tui.widgets.detail_pane import DetailPane
from tests.support.tui import plain, recorded_reports, replay_app, settle

NATURAL = {"mark": 1, "host": 14, "verdict": 13, "driver": 23, "cuda": 17, "tensorrt": 9, "gpus": 26, "age": 3}
NATURAL |= {"groups": 14, "why": 201}


def keys(room: int) -> list[str]:
    return [c.key for c in layout(NATURAL, room).columns]


def test_a_narrow_terminal_puts_why_right_after_the_verdict_and_fills_the_screen_with_it() -> None:
    """At 76 cells (an 80-column terminal) the order is mark, host, verdict, why; why takes the rest exactly."""
    placed = layout(NATURAL, 76)
    assert keys(76)[:4] == ["mark", "host", "verdict", "why"]
    assert sum(w + 2 * PADDING for w in placed.widths[:4]) == 76


def test_a_wide_terminal_shows_every_column_with_why_last_and_no_wider_than_the_screen() -> None:
    """At 196 cells every fact column comes first and why gets what is left; nothing scrolls."""
    placed = layout(NATURAL, 196)
    assert keys(196) == [c.key for c in COLUMNS]
    assert placed.total == 196 and placed.widths[-1] < NATURAL["why"]


def test_in_between_the_columns_that_would_squeeze_why_move_after_it() -> None:
    """At 156 cells Groups no longer leaves Why its minimum: it follows Why, a sideways scroll away."""
    placed = layout(NATURAL, 156)
    assert keys(156)[-2:] == ["why", "groups"]
    assert placed.widths[keys(156).index("why")] >= FLEX_MIN


def test_one_long_field_is_cut_to_its_columns_cap() -> None:
    """A 4,000-character driver string is elided at the driver column's cap, whatever its length."""
    report = long_driver(recorded_reports()[0])
    cells = row_cells(HostRow(report.host, report=report), marked=False, now=0.0)
    cap = next(c.max_width for c in COLUMNS if c.key == "driver")
    assert cells["driver"].cell_len == cap and cells["driver"].plain.endswith("…")


LONG = "9" * 4000


def long_driver(report: HostReport) -> HostReport:
    assert report.facts is not None
    driver = dataclasses.replace(report.facts.driver, version=LONG)
    return dataclasses.replace(report, facts=dataclasses.replace(report.facts, driver=driver))


def header(app: AuditApp) -> str:
    return app.main.table.render_line(0).text


async def test_at_80x24_host_verdict_and_why_are_on_screen() -> None:
    """The header and every row show host, verdict and the start of why without scrolling."""
    app = replay_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert header(app).split() == ["Host", "Verdict▴", "Why"]
        top = table.render_line(1).text
        assert "t4-lab-01" in top and "ERROR" in top and "parse: probe output is not" in top


async def test_clearing_a_filter_gives_the_columns_their_width_back() -> None:
    """/a100 narrows the columns to the A100 hosts; Esc brings back every host and the widths they need."""
    app = replay_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        before = dict(table.widths)
        await pilot.press("slash", *"a100")
        await settle(pilot)
        assert table.widths["host"] < before["host"] and table.widths["verdict"] < before["verdict"]
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == len(recorded_reports()) and table.widths == before
        line = table.render_line(1 + table.get_row_index("v100-legacy-01")).text
        assert "v100-legacy-01" in line and "ROLLBACK" in line


async def test_one_long_field_does_not_widen_its_column_and_the_detail_has_it_all() -> None:
    """A host with a 4,000-character driver: the column stays at its cap for everyone; the detail shows it whole."""
    reports = list(recorded_reports())
    index = next(i for i, r in enumerate(reports) if r.name == "a10-infer-02")
    reports[index] = long_driver(reports[index])
    app = replay_app(reports)
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert table.widths["driver"] == next(c.max_width for c in COLUMNS if c.key == "driver")
        assert table.columns().total <= table.scrollable_content_region.width  # nothing pushed off screen
        table.move_cursor(table.get_row_index("a10-infer-02"))
        await pilot.press("enter")
        await pilot.pause()
        assert LONG in plain(app.main.query_one(DetailPane).query_one("#detail-body").content, width=5000)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_a_long_reason_never_pushes_the_table_wider_than_the_screen(size: tuple[int, int]) -> None:
    """Why is capped by the room left, not by its longest reason: the full reason is one Enter away."""
    app = replay_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.main.table
        placed = table.columns()
        why = [c.key for c in placed.columns].index("why")
        assert sum(w + 2 * PADDING for w in placed.widths[: why + 1]) <= table.scrollable_content_region.width
        assert any(line.endswith("…") for line in (table.render_line(y).text.rstrip() for y in range(1, 10)))


async def test_the_columns_follow_a_resized_terminal() -> None:
    """Widening the terminal from 80 to 200 columns brings every column on screen; narrowing it brings Why back."""
    app = replay_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert header(app).split()[:3] == ["Host", "Verdict▴", "Why"]
        await pilot.resize_terminal(200, 50)
        await settle(pilot)
        assert header(app).split()[-2:] == ["Groups", "Why"] and table.virtual_size.width == table.columns().total
        assert table.columns().total <= table.scrollable_content_region.width
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert header(app).split() == ["Host", "Verdict▴", "Why"]
