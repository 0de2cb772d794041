"""The run history: storage, "failing since", schema migrations, the run lock, and drift between runs."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.facts.reader import parse_facts
from auditor.findings import Action, Severity
from auditor.report.drift import diff_reports, render_drift
from auditor.report.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    HistoryError,
    HistoryLocked,
    default_path,
    locked,
    migrate,
)
from auditor.report.model import HostReport, Report, parse_time
from auditor.report.writers.json import report_document
from tests.support.documents import document, facts
from tests.support.reports import finding, host, report, unreachable


def at(r: Report, when: str) -> Report:
    return dataclasses.replace(r, generated_at=when)


def test_default_path_follows_xdg_state_home(private_state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$XDG_STATE_HOME/auditor/history.sqlite, else ~/.local/state (a relative XDG value is ignored, per the spec)."""
    assert default_path() == private_state_dir / "auditor" / "history.sqlite"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/dir")
    monkeypatch.setenv("HOME", "/home/someone")
    assert default_path() == Path("/home/someone/.local/state/auditor/history.sqlite")


def test_record_stores_the_whole_report_and_lists_runs(tmp_path: Path) -> None:
    """A recorded run gets a number, its document round-trips, and runs list newest first."""
    with History(tmp_path / "h.sqlite") as history:
        first = history.record(at(report(host("a")), "2026-11-20T06:00:00Z"))
        second = history.record(at(report(host("a", finding())), "2026-11-21T06:00:00Z"))
        assert (first.run_id, second.run_id) == (1, 2)
        assert history.document(2) == json.loads(json.dumps(report_document(second)))
        runs = history.runs()
        assert [r.id for r in runs] == [2, 1]
        assert runs[0].summary["upgrade"] == 1 and runs[0].complete and runs[0].inventory == "inv.yaml"
        with pytest.raises(HistoryError, match="no run #9 in the history"):
            history.document(9)


def test_stored_document_is_the_report_document_whatever_text_the_facts_came_in(tmp_path: Path) -> None:
    """Facts go into the stored run as the text they were kept as: indented, unicode, cleaned, or none."""
    indented = parse_facts(json.dumps(document(driver={"version": "580.95.05"}), indent=4))
    unicode_ = parse_facts(json.dumps(document(host={"hostname": "nœud-7"}), ensure_ascii=False))
    cleaned = parse_facts(json.dumps(document(host={"hostname": "evil\x1b[31mname"})))  # re-encoded once cleaned
    assert b"\n    " in indented.document and "nœud".encode() in unicode_.document
    r = report(
        host("a", facts=indented), host("b", finding(), facts=unicode_), host("c", facts=cleaned), unreachable("d")
    )
    with History(tmp_path / "h.sqlite") as history:
        stored = history.record(r)
        assert history.document(stored.run_id or 0) == json.loads(json.dumps(report_document(stored)))
        assert [h["facts"] and h["facts"]["host"]["hostname"] for h in history.document(1)["hosts"]] == [
            "gpu-01",
            "nœud-7",
            "evil[31mname",
            None,
        ]


def test_failing_since_counts_back_to_the_last_ok_verdict(tmp_path: Path) -> None:
    """ok, then failing twice (once unreachable), then a run without the host: failing since the first failure."""
    bad = host("a", finding())
    with History(tmp_path / "h.sqlite") as history:
        history.record(at(report(host("a"), host("b")), "2026-11-18T06:00:00Z"))
        history.record(at(report(bad, host("b")), "2026-11-19T06:00:00Z"))
        history.record(at(report(unreachable("a"), host("b")), "2026-11-20T06:00:00Z"))
        history.record(at(report(host("b")), "2026-11-20T12:00:00Z"))  # a not targeted (--limit)
        now = at(report(bad, host("b", finding()), host("c")), "2026-11-21T06:00:00Z")
        since = history.failing_since(now)
        assert since == {"a": "2026-11-19T06:00:00Z", "b": "2026-11-21T06:00:00Z"}
        other = dataclasses.replace(now, inventory="other.yaml")  # another inventory's history is its own
        assert history.failing_since(other)["a"] == "2026-11-21T06:00:00Z"
        filled = history.with_failing_since(now)
        assert [h.failing_since for h in filled.hosts] == ["2026-11-19T06:00:00Z", "2026-11-21T06:00:00Z", None]


_EVERY_ROW = """WITH last_ok AS (
                   SELECT h.host, MAX(h.run_id) AS ok_id FROM host_results h JOIN runs r ON r.id = h.run_id
                   WHERE r.inventory = ? AND h.verdict = 'ok' GROUP BY h.host)
               SELECT h.host, MIN(h.run_id), r.generated_at
               FROM host_results h JOIN runs r ON r.id = h.run_id LEFT JOIN last_ok l ON l.host = h.host
               WHERE r.inventory = ? AND h.run_id > COALESCE(l.ok_id, 0)
               GROUP BY h.host"""
"""How "failing since" was answered before: one pass over every row of the inventory's history."""

_STATES = st.sampled_from(["ok", "upgrade", "unreachable", "absent"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.sampled_from(["inv.yaml", "other.yaml"]), st.lists(_STATES, min_size=4, max_size=4)), max_size=8
    ),
    st.lists(_STATES, min_size=4, max_size=4),
)
def test_failing_since_answers_as_the_pass_over_every_row_did(
    tmp_path: Path, runs: list[tuple[str, list[str]]], now: list[str]
) -> None:
    """Any history of four hosts in two inventories (ok, failing, unreachable, not in the run): the
    streak starts found host by host are those the former whole-history query found."""

    def hosts(states: list[str]) -> list[HostReport]:
        made = {"ok": lambda n: host(n), "upgrade": lambda n: host(n, finding()), "unreachable": unreachable}
        return [made[state](name) for name, state in zip("abcd", states, strict=True) if state != "absent"]

    path = tmp_path / f"h{len(list(tmp_path.iterdir()))}.sqlite"
    with History(path) as history:
        for index, (inventory, states) in enumerate(runs):
            history.record(
                report(*hosts(states), inventory=inventory, generated_at=f"2026-11-{index + 1:02d}T06:00:00Z")
            )
        current = report(*hosts(now), generated_at="2026-12-01T06:00:00Z")
        rows = history.db.execute(_EVERY_ROW, (current.inventory, current.inventory)).fetchall()
        earlier = {name: when for name, _, when in rows}
        expected = {h.name: earlier.get(h.name, current.generated_at) for h in current.hosts if h.verdict.needs_action}
        assert history.failing_since(current) == expected


def test_failing_since_reads_the_failing_hosts_rows_not_the_whole_history(tmp_path: Path) -> None:
    """The work SQLite does (its virtual-machine steps, counted, not timed) for one failing host stays
    the same whether the history holds 10 or 100 runs of 50 hosts; with every host ok there is no query."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    with History(tmp_path / "h.sqlite") as history:
        fleet = [host(f"n{i:02d}") for i in range(50)]
        work = {}
        for runs in (10, 100):
            while history.db.execute("SELECT count(*) FROM runs").fetchone()[0] < runs:
                history.record(report(*fleet))
            history.db.set_progress_handler(count, 1)
            steps[0] = 0
            assert history.failing_since(report(*fleet)) == {}
            assert steps[0] == 0
            now = report(host("n07", finding()), *fleet[8:], generated_at="2027-01-01T00:00:00Z")
            assert history.failing_since(now) == {"n07": "2027-01-01T00:00:00Z"}
            work[runs] = steps[0]
            history.db.set_progress_handler(None, 1)
        assert work[100] < 2 * work[10], work


def test_migration_from_schema_1_backfills_the_host_table(tmp_path: Path) -> None:
    """A file written at schema 1 (runs only) opens at the current schema with per-host rows rebuilt."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, str(path), target=1) == 0
    old = at(report(host("a", finding()), unreachable("b")), "2026-11-19T06:00:00Z")
    blob = zlib.compress(json.dumps(report_document(old)).encode())
    db.execute(
        "INSERT INTO runs (generated_at, inventory, policy, duration_s, complete, exit_code, auditor_version,"
        " summary, report) VALUES (?, 'inv.yaml', 'prod', 1.0, 1, 1, '0.0.1', ?, ?)",
        (old.generated_at, json.dumps(old.summary()), blob),
    )
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.close()
    with History(path) as history:
        assert history.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
        rows = history.db.execute("SELECT host, verdict FROM host_results ORDER BY host").fetchall()
        assert rows == [("a", "upgrade"), ("b", "unreachable")]
        now = at(report(host("a", finding())), "2026-11-21T06:00:00Z")
        assert history.failing_since(now) == {"a": "2026-11-19T06:00:00Z"}


def test_files_it_cannot_use_are_refused_with_their_path(tmp_path: Path) -> None:
    """A newer schema, another program's database and a non-database file are usage errors naming the file."""
    newer = tmp_path / "newer.sqlite"
    with History(newer):
        pass
    with contextlib.closing(sqlite3.connect(newer)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match=r"newer\.sqlite: history schema \d+ was written by a newer auditor"):
        History(newer)
    foreign = tmp_path / "foreign.sqlite"
    with contextlib.closing(sqlite3.connect(foreign)) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(HistoryError, match="another program's SQLite database"):
        History(foreign)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_text("not a database at all, just text " * 100)
    with pytest.raises(HistoryError, match="not an auditor history file"):
        History(garbage)
    with pytest.raises(HistoryError, match="no history yet"):
        History(tmp_path / "missing.sqlite", create=False)


def test_prune_deletes_old_runs_and_their_host_rows(tmp_path: Path) -> None:
    """Pruning removes runs older than the cut-off, with their per-host rows; numbers are never reused."""
    with History(tmp_path / "h.sqlite") as history:
        history.record(at(report(host("a")), "2020-01-01T00:00:00Z"))
        history.record(report(host("a")))
        now = parse_time("2026-11-22T06:00:00Z").timestamp()
        assert history.prune(older_than_days=365 * 10, now=now) == 0
        assert history.prune(older_than_days=30, now=now) == 1
        assert [r.id for r in history.runs()] == [2]
        assert history.db.execute("SELECT count(*) FROM host_results WHERE run_id = 1").fetchone()[0] == 0
        assert history.record(report(host("a"))).run_id == 3


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path: Path) -> None:
    """While one run holds the lock a second gives up after its timeout, told who holds it."""
    path = tmp_path / "h.sqlite"
    told: list[str] = []
    with locked(path, timeout=0, argv=["auditor", "report", "--demo"]):
        with pytest.raises(HistoryLocked, match=rf"pid {os.getpid()} on .*auditor report --demo"):
            with locked(path, timeout=0.3, on_wait=told.append):
                pass
    assert told and f"pid {os.getpid()}" in told[0]
    with locked(path, timeout=0):  # released: free again
        pass


def test_lock_is_released_when_its_holder_dies(tmp_path: Path) -> None:
    """A run killed with SIGKILL leaves no stale lock: the kernel drops an flock with its process."""
    path = tmp_path / "h.sqlite"
    code = (
        "import sys, time; from auditor.report.history import locked\n"
        f"with locked({str(path)!r}, timeout=0):\n"
        "    print('held', flush=True); time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(HistoryLocked):
            with locked(path, timeout=0):
                pass
    finally:
        holder.kill()
        holder.communicate()
    with locked(path, timeout=0):
        pass


# ------------------------------------------------------------------ drift


def _doc(r: Report, run_id: int) -> dict[str, object]:
    return json.loads(json.dumps(report_document(dataclasses.replace(r, run_id=run_id))))


def test_diff_shows_new_resolved_changed_and_version_changes() -> None:
    """Per host: findings that appeared, went away or changed, stack versions that moved, hosts added or removed."""
    old_trt = facts(tensorrt={"version": "8.6.1.6"})
    new_trt = facts(tensorrt={"version": "10.3.0.26"})
    before = report(
        host("a", finding("p/driver.min"), facts=old_trt),
        host("b", finding("p/gpus.count", Action.INVESTIGATE, message="7 GPUs visible")),
        host("gone"),
    )
    after = report(
        host("a", finding("p/tensorrt.max", Action.ROLLBACK, Severity.CRITICAL), facts=new_trt),
        host("b", finding("p/gpus.count", Action.INVESTIGATE, message="6 GPUs visible")),
        host("new"),
    )
    drift = diff_reports(_doc(before, 1), _doc(after, 2))
    by_host = {h.host: h for h in drift.hosts}
    a = by_host["a"]
    assert [f["rule"] for f in a.new] == ["p/tensorrt.max"] and [f["rule"] for f in a.resolved] == ["p/driver.min"]
    assert (a.verdict_before, a.verdict_after) == ("upgrade", "rollback")
    assert a.versions == (("tensorrt", "8.6.1.6", "10.3.0.26"),)
    b = by_host["b"]
    assert len(b.changed) == 1 and b.changed[0][1]["message"] == "6 GPUs visible" and not b.new
    assert by_host["gone"].status == "removed" and by_host["new"].status == "added"
    assert drift.counts() == {"hosts_changed": 4, "new": 1, "resolved": 1, "changed": 1, "version_changes": 1}
    text = render_drift(drift)
    assert "run #1 (2026-11-21T06:00:00Z) → run #2" in text
    for line in ("+ p/tensorrt.max", "- p/driver.min", "~ TensorRT: 8.6.1.6 → 10.3.0.26", "~ p/gpus.count"):
        assert line in text
    assert json.loads(json.dumps(drift.to_json()))["schema"] == "auditor.diff/1"


def test_diff_of_identical_runs_is_empty() -> None:
    """Two runs with the same findings and stacks: no changes (the time of the run does not count)."""
    r = report(host("a", finding()), unreachable("b"))
    drift = diff_reports(_doc(r, 1), _doc(at(r, "2026-11-22T06:00:00Z"), 2))
    assert drift.empty and "no changes" in render_drift(drift)
