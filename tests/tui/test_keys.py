"""Every key of the interactive audit, pressed through Pilot on a replayed (deterministic) sweep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import Input, OptionList

from auditor.findings import Verdict
from auditor.tui.app import AuditApp, Clock
from auditor.tui.model import SortKey
from auditor.tui.screens.export import ExportScreen
from auditor.tui.screens.help import HelpScreen
from auditor.tui.screens.main import MainScreen
from auditor.tui.source import ReplaySource
from auditor.tui.widgets.detail_pane import DetailPane
from auditor.tui.widgets.host_table import HostTable
from auditor.tui.widgets.sweep_bar import SweepBar
from tests.support.tui import POLICY, WALL, recorded_reports, replay_app, settle, shown

SIZE = (160, 48)
RECORDED_HOSTS = recorded_reports()
TOTAL = len(RECORDED_HOSTS)
NEEDING_ACTION = sum(1 for r in RECORDED_HOSTS if r.verdict is not Verdict.OK)
A100 = sorted(r.name for r in RECORDED_HOSTS if "a100" in r.name)  # the only hosts with A100 GPUs


def names(app: AuditApp) -> list[str]:
    """The hosts in the table, top to bottom."""
    return list(app.main.table.rows)


def verdict_of(app: AuditApp, name: str) -> Verdict:
    report = app.model.rows[name].report
    assert report is not None
    return report.verdict


async def test_q_quits() -> None:
    """q ends the app with exit status 0."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_question_mark_opens_help_with_the_legend_and_esc_closes_it() -> None:
    """? shows every key (p, the plan, among them) and every verdict's glyph and meaning; Esc goes back."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = shown(app.screen.query_one("#help-keys")) + shown(app.screen.query_one("#help-legend"))
        for word in ("ROLLBACK", "UNREACHABLE", "needing action", "Filter", "probing", "!ok"):
            assert word in text
        assert "\np  " in text and "The upgrade plan towards a stack of the policy" in text  # p is listed too
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_slash_filters_across_columns_and_bang_inverts() -> None:
    """/a100 keeps the hosts with a100 anywhere; !a100 keeps the others; the border title says so."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"a100")
        await settle(pilot)
        shown = names(app)
        assert shown and all("a100" in name for name in shown)
        assert sorted(shown) == A100
        assert f"{len(A100)}/{TOTAL}" in str(app.main.table.border_title)
        assert "filter 'a100'" in str(app.main.table.border_title)
        await pilot.press("home", "!")
        await settle(pilot)
        assert len(names(app)) == TOTAL - len(A100) and not any("a100" in n for n in names(app))
        assert "filter not 'a100'" in str(app.main.table.border_title)
        # A version string matches too: the filter reads every column.
        app.main.query_one(Input).value = "550.54.14"
        await settle(pilot)
        assert names(app) == ["a10-infer-01"]


async def test_a_timer_firing_while_the_screen_is_torn_down_syncs_nothing() -> None:
    """The age tick or a flush timer may fire between the screen's children going and the screen itself: no crash."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.main.query_one(DetailPane).remove()
        app.main.flush(ages=True)
        app.main.flush()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_bare_letter_keys_do_not_fire_while_typing_a_filter() -> None:
    """Typing q, r, R, s, j, k, g, G, p, ? and space into the filter edits it and triggers nothing."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sort = app.model.sort
        await pilot.press("slash", "q", "r", "R", "s", "S", "j", "k", "g", "G", "p", "question_mark", "space")
        await settle(pilot)
        assert app.main.query_one(Input).value == "qrRsSjkgGp? "
        assert app.return_code is None and isinstance(app.screen, MainScreen)
        assert app.sweeps == 1 and app.model.sort is sort and not app.model.marked


async def test_esc_clears_the_filter_then_closes_the_detail_then_clears_marks() -> None:
    """Esc undoes one thing at a time, in this order: filter, detail pane, marks."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space", "enter", "slash", *"serve", "enter")
        await settle(pilot)
        detail = app.main.query_one(DetailPane)
        assert app.model.filter.active and detail.display and app.model.marked
        await pilot.press("escape")
        await settle(pilot)
        assert not app.model.filter.active and detail.display and app.model.marked
        assert not app.main.query_one(Input).display
        await pilot.press("escape")
        await settle(pilot)
        assert not detail.display and app.model.marked
        await pilot.press("escape")
        await settle(pilot)
        assert not app.model.marked


async def test_enter_opens_the_detail_and_it_follows_the_cursor() -> None:
    """Enter opens the detail pane on the selected host; moving the cursor changes the host shown."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        detail = app.main.query_one(DetailPane)
        assert not detail.display
        await pilot.press("enter")
        await pilot.pause()
        assert detail.display and detail.host == names(app)[0]
        await pilot.press("j")
        await pilot.pause(0.2)  # the detail follows once the cursor rests
        assert detail.host == names(app)[1]
        text = shown(detail.query_one("#detail-body"))
        assert "Not audited" in text or "Findings" in text


async def test_detail_shows_findings_facts_by_component_and_probe_output() -> None:
    """The reboot host's detail has its finding with severity, action, remediation and rule, every fact group, and the raw probe JSON."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.main.table.move_cursor(row=names(app).index("a100-serve-02"))
        await pilot.press("enter")
        await pilot.pause()
        text = shown(app.main.query_one("#detail-body"), width=200)
        assert "critical" in text and "reboot" in text and "kernel module and user-space driver differ" in text
        assert "→" in text and "rule " in text
        for group in ("Driver", "GPUs (", "CUDA toolkits", "cuDNN", "TensorRT", "Engines", "Containers", "Host"):
            assert f"\n{group}" in text
        assert "Probe output (auditor.facts/1)" in text and '"schema": "auditor.facts/1"' in text


async def test_an_error_hosts_detail_shows_the_raw_output_and_stderr_that_explain_it() -> None:
    """The ERROR host (output not UTF-8): its detail shows what the probe printed, escaped, and its empty stderr."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.main.table.move_cursor(row=names(app).index("t4-lab-01"))
        await pilot.press("enter")
        await pilot.pause()
        text = shown(app.main.query_one("#detail-body"), width=200)
        assert "step            parse" in text and "probe output is not UTF-8 (byte 24)" in text
        output = text.index("Probe output (as received; bytes that are not text escaped)")
        assert text.index("\\x1b[31mSegmentation fault\\x00\\xff{not json at all") > output
        assert "\x1b" not in text  # the escape character itself never reaches the terminal
        assert text.index("Probe stderr\n(empty)") > output


async def test_space_marks_and_r_reprobes_the_marked_hosts() -> None:
    """Space marks a host and moves down; r then sweeps exactly the marked hosts and clears the marks."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first, second = names(app)[:2]
        await pilot.press("space", "space")
        await pilot.pause()
        assert app.model.marked == {first, second}
        table = app.main.table
        assert str(table.get_cell(first, "mark")) == "●" and "2 marked" in str(table.border_title)
        await pilot.press("r")
        await settle(pilot, sweeps=2)
        assert app.model.sweep.hosts == 2 and not app.model.marked


async def test_r_without_marks_reprobes_the_selected_host() -> None:
    """r with nothing marked sweeps the host under the cursor alone."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "r")
        await settle(pilot, sweeps=2)
        assert app.model.sweep.hosts == 1


async def test_capital_r_reprobes_all_and_is_greyed_out_while_a_sweep_runs() -> None:
    """R sweeps every host; while any sweep runs, R and r are disabled and pressing them does nothing."""
    app = AuditApp(ReplaySource(recorded_reports(), rate=8), policy=POLICY)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            if app.sweeping:
                break
            await pilot.pause(0.01)
        assert app.sweeping
        assert app.check_action("reprobe_all", ()) is None
        assert app.main.table.check_action("reprobe", ()) is None
        await pilot.press("R", "r")
        await settle(pilot)
        assert app.sweeps == 1
        assert app.check_action("reprobe_all", ()) is True
        await pilot.press("R")
        await settle(pilot, sweeps=2)
        assert app.model.sweep.hosts == TOTAL


def header(app: AuditApp) -> str:
    """The host table's header line as drawn."""
    return app.main.table.render_line(0).text


async def test_s_cycles_the_sort_and_capital_s_reverses_it() -> None:
    """Verdict order puts the most urgent first (▴, the column's natural order); s moves to the next column;
    S reverses it (▾), in the header and the border title alike."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ranks = [verdict_of(app, n).rank for n in names(app)]
        assert ranks == sorted(ranks)
        assert "Verdict▴" in header(app) and "sort verdict ▴" in str(app.main.table.border_title)
        await pilot.press("s")
        await settle(pilot)
        assert app.model.sort is SortKey.DRIVER and "Driver▴" in header(app) and "Verdict " in header(app)
        await pilot.press("S")
        await settle(pilot)
        assert app.model.reverse and "sort driver ▾" in str(app.main.table.border_title)
        assert "Driver▾" in header(app)
        drivers = [app.model.rows[n].report.facts.driver.version for n in names(app) if app.model.rows[n].report.facts]  # type: ignore[union-attr]
        assert drivers[0] == "590.48.01" and drivers[-1] == "470.82.01"


async def test_clicking_a_column_header_sorts_by_it_and_again_reverses() -> None:
    """A click on the Host header sorts by name; a second click reverses the order."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.main.table
        x = 1 + table.widths["mark"] + 2 + 1  # the border, the mark column and its padding, into the host column
        await pilot.click(HostTable, offset=(x, 1))
        await settle(pilot)
        assert app.model.sort is SortKey.HOST and names(app) == sorted(names(app))
        await pilot.click(HostTable, offset=(x, 1))
        await settle(pilot)
        assert app.model.reverse and names(app) == sorted(names(app), reverse=True)


async def test_ctrl_z_shows_only_hosts_needing_action() -> None:
    """ctrl+z hides ok hosts and says so in the border title; again shows all."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert len(names(app)) == NEEDING_ACTION and all(verdict_of(app, n) is not Verdict.OK for n in names(app))
        assert "needs action" in str(app.main.table.border_title)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert len(names(app)) == TOTAL


@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_ctrl_s_exports_a_report_in_a_headless_format(tmp_path: Path, fmt: str) -> None:
    """ctrl+s, a format, one Enter: the file named below the list is the headless writer's output for the hosts."""
    app = replay_app()
    target = tmp_path / f"out.{fmt}"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        options = screen.query_one(OptionList)
        while screen.format != fmt:
            await pilot.press("down")
            await pilot.pause()
        path = screen.query_one(Input)
        assert path.value.endswith(f".{fmt}")  # the suggested name follows the format
        path.value = str(target)
        assert options.has_focus and options.highlighted is not None
        await pilot.press("enter")  # once, on the format list
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    text = target.read_text()
    if fmt == "json":
        document = json.loads(text)
        assert document["summary"]["total"] == TOTAL and document["generated_at"] == "2026-11-21T06:00:00Z"
    else:
        assert "a10-infer-01" in text and text.splitlines()[0].startswith("host")


async def test_export_to_a_missing_directory_says_why_and_stays_open(tmp_path: Path) -> None:
    """A path in a directory that does not exist is refused on the dialog; nothing is written."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        screen.query_one(Input).value = str(tmp_path / "nope" / "r.json")
        screen.query_one(Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and "does not exist" in shown(screen.query_one("#export-error"))
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_j_k_g_capital_g_move_the_cursor() -> None:
    """j and k move one host, G to the last, g to the first."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.main.table
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == TOTAL - 1
        await pilot.press("g")
        assert table.cursor_row == 0


async def test_p_is_hidden_until_a_plan_view_exists() -> None:
    """p does nothing and is not in the footer until the app has a plan screen; then it opens it."""
    from textual.screen import Screen

    class Plan(Screen[None]):
        pass

    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "plan" not in {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        app.plan_screen = lambda _app: Plan()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, Plan)


async def test_command_palette_runs_app_commands() -> None:
    """ctrl+p, then 'Sort by tensorrt' and Enter, sorts the table by TensorRT."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Sort by tensorrt")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert app.model.sort is SortKey.TENSORRT


def test_every_binding_has_an_id_and_a_description() -> None:
    """Keys can be remapped by id (App.set_keymap) and are explained in the footer and help."""
    from auditor.tui.screens.help import HelpScreen as Help
    from auditor.tui.screens.host_keys import HostKeyScreen

    for owner in (AuditApp, MainScreen, HostTable, DetailPane, ExportScreen, Help, HostKeyScreen):
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding)
            assert binding.id and binding.description and binding.tooltip, (owner.__name__, binding.key)


async def test_a_sweep_shows_a_progress_bar_and_ends_with_a_toast() -> None:
    """While hosts stream in the progress bar counts them; it hides at the end and a toast sums up the verdicts."""
    app = AuditApp(ReplaySource(recorded_reports(), rate=40), policy=POLICY)
    async with app.run_test(size=SIZE) as pilot:
        bar = None
        for _ in range(100):
            if app.sweeping and app.model.sweep.finished:
                bar = app.main.query_one(SweepBar)
                break
            await pilot.pause(0.01)
        assert bar is not None and bar.display
        assert "probing" in str(app.main.table.border_subtitle)
        await settle(pilot)
        assert not bar.display
        toasts = [n for n in app._notifications if n.title.startswith(f"Swept {TOTAL} hosts")]
        assert toasts and "1 error" in toasts[0].message and "5 ok" in toasts[0].message


async def test_watch_sweeps_again_and_the_age_column_shows_how_old_each_row_is() -> None:
    """--watch 1 starts another sweep a second after; ages grow with the clock between sweeps."""
    now = [1000.0]
    clock = Clock(monotonic=lambda: now[0], wall=lambda: WALL)
    app = AuditApp(ReplaySource(recorded_reports()), policy=POLICY, watch=1.0, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        now[0] += 125
        app.main.flush(ages=True)
        await pilot.pause()
        assert str(app.main.table.get_cell("t4-edge-01", "age")) == "2m"
        assert "(2m ago)" in shown(app.main.query_one("#where"))
        await settle(pilot, sweeps=2)
        app.main.flush(ages=True)
        assert str(app.main.table.get_cell("t4-edge-01", "age")) == "0s"


async def test_f_gives_the_detail_the_whole_screen_and_esc_restores_it() -> None:
    """f (only while the detail is open) maximizes the detail pane; Esc brings the table back, the detail still open."""
    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.main
        assert screen.check_action("full_detail", ()) is False
        await pilot.press("enter", "f")
        await pilot.pause()
        assert screen.maximized is screen.detail and screen.detail.has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert screen.maximized is None and screen.detail.display and screen.table.has_focus


async def test_keys_arriving_in_one_burst_after_slash_go_to_the_filter() -> None:
    """'/qjG' read in one go from the terminal (a paste, tmux) types 'qjG' into the filter: nothing quits or moves."""
    from textual import events

    app = replay_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app._driver is not None
        for key, char in (("slash", "/"), ("q", "q"), ("j", "j"), ("G", "G")):
            app._driver.send_message(events.Key(key, char))
        await settle(pilot)
        assert app.main.query_one(Input).value == "qjG"
        assert app.return_code is None and app.main.table.cursor_row == 0


async def test_p_opens_the_plan_view_over_the_sweeps_reports() -> None:
    """With the CLI's plan factory, p shows the plan towards the policy's first stack; Esc comes back."""
    from auditor.tui.command import plan_screen_for
    from auditor.tui.plan_view import PlanScreen
    from tests.support.demo import demo_policy

    app = replay_app()
    app.plan_screen = plan_screen_for(demo_policy())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanScreen) and screen.plan is not None
        assert len(screen.reports) == TOTAL
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_the_plan_view_says_when_the_sweep_it_plans_from_ended_and_has_no_stray_icon() -> None:
    """The plan names the end of the last sweep (the frozen clock's 06:00:00), not the time p was pressed, and
    lists the hosts the stack does not apply to as skipped; its header line is auditor's own (no ⭘ icon)."""
    from textual.widgets import Header

    from auditor.tui.command import plan_screen_for
    from auditor.tui.plan_view import PlanScreen
    from tests.support.demo import demo_policy

    app = replay_app()
    app.plan_screen = plan_screen_for(demo_policy())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanScreen) and screen.plan is not None
        body = shown(screen.query_one("#plan-body"), width=300)
        assert "from the interactive audit (last sweep ended 2026-11-21 06:00:00 UTC)" in body
        assert "fresh audit" not in body
        assert "Skipped: stack serving-2026 does not apply, not planned" in body
        assert "t4-edge-01  SKIPPED · pinned to stack trt8-2023 by rule trt8 (" in body
        assert not screen.query(Header)
        assert shown(screen.query_one("#plan-header")).strip() == (
            f"auditor · plan · demo-fleet (recorded) · {TOTAL} hosts with a result"
        )


async def test_frozen_garbage_is_reclaimed_when_a_sweep_ends() -> None:
    """Batches freeze what they bring (no full-collection stalls mid-sweep); the sweep's end reclaims frozen cycles."""
    import gc
    import weakref

    class Cycle:
        pass

    app = replay_app(watch=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        garbage = Cycle()
        garbage.me = garbage  # type: ignore[attr-defined]
        alive = weakref.ref(garbage)
        del garbage
        app.main.flush()  # a batch lands: the unreachable cycle is frozen with everything else
        gc.collect()
        assert alive() is not None and gc.get_freeze_count() > 0
        app.action_reprobe_all()
        await settle(pilot, sweeps=2)
        assert alive() is None
