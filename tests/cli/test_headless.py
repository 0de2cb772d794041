"""`auditor report` as cron and CI run it, over the simulated SSH fleet: formats, exit codes, history, signals."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from auditor.__main__ import main
from auditor.cli.common import wake_on_signals
from auditor.report.history import locked
from tests.support.demo import DEMO_POLICY
from tests.support.reports import parse_xml

FLEET = """schema: auditor.fleet/1
defaults: {{gpus: [{{model: "Tesla T4"}}], driver: "580.95.05", cuda_toolkits: ["12.2.2"]}}
hosts:
  a: {{}}
  b: {{driver: "{b_driver}"}}
{extra}"""
POLICY = ["-p", str(DEMO_POLICY)]


def fleet(tmp_path: Path, b_driver: str = "580.95.05", extra: str = "", name: str = "fleet.yaml") -> str:
    """A two-host fleet file (host b's driver chosen by the test), plus extra host lines."""
    path = tmp_path / name
    path.write_text(FLEET.format(b_driver=b_driver, extra=extra))
    return str(path)


def auditor(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]


def history_rows(path: Path) -> list[tuple[int, int, int]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, complete, exit_code FROM runs ORDER BY id").fetchall()


# ------------------------------------------------------------------ formats


def test_every_format_at_once_files_atomic_and_stdout_only_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seven formats in one run: six files (no temp file left behind) and JSON alone on stdout."""
    out = tmp_path / "out"
    out.mkdir()
    specs = [f"{fmt}:{out}/report.{fmt}" for fmt in ("table", "md", "html", "junit", "csv")]
    specs.append(f"prom:{out}/{{inventory}}-{{timestamp}}.prom")
    args = ["report", "--simulate", fleet(tmp_path, "470.82.01"), *POLICY, "--format", "json"]
    for spec in specs:
        args += ["--format", spec]
    assert main(args) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["exit"]["failing_hosts"] == ["b"] and doc["run_id"] == 1
    names = sorted(p.name for p in out.iterdir())
    prom = [n for n in names if n.endswith(".prom")]
    assert prom and re.fullmatch(r"fleet-\d{8}T\d{6}Z\.prom", prom[0])
    assert names == sorted(["report.table", "report.md", "report.html", "report.junit", "report.csv", prom[0]])
    assert "Needs action (1)" in (out / "report.table").read_text()
    # host b on R470: below the floor, past end of life, and too old for CUDA 12.2 without cuda-compat
    assert parse_xml(out / "report.junit").get("failures") == "3"
    assert oct((out / "report.html").stat().st_mode & 0o777) != "0o600"  # readable like any file we write


def test_default_is_a_plain_table_even_off_a_terminal(tmp_path: Path) -> None:
    """No --format and stdout a pipe: the readable table, without colour codes (cron mails it)."""
    result = auditor("report", "--simulate", fleet(tmp_path), *POLICY)
    assert result.returncode == 0
    assert result.stdout.startswith("auditor · fleet (simulated) · policy demo-production\n")
    assert "\x1b[" not in result.stdout and "OK (2): a, b" in result.stdout
    assert result.stderr == ""  # no progress bar, no chatter when stderr is not a terminal


@pytest.mark.parametrize(
    ("formats", "message"),
    [
        (["json", "md"], "only one format may go to stdout, got json, md"),
        (["jsn:x.json"], "unknown format 'jsn'; did you mean 'json'?"),
        (["json:/nonexistent-dir/r.json"], "directory /nonexistent-dir does not exist"),
        (["json:{tmp}/same", "html:{tmp}/same"], "named more than once"),
    ],
)
def test_bad_format_options_are_usage_errors_before_any_host(
    tmp_path: Path, formats: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Format mistakes exit 2 with a clear message; nothing audited, nothing recorded."""
    args = ["report", "--simulate", fleet(tmp_path), *POLICY]
    for spec in formats:
        args += ["--format", spec.format(tmp=tmp_path)]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""
    assert not (Path(os.environ["XDG_STATE_HOME"]) / "auditor" / "history.sqlite").exists()


# ------------------------------------------------------------------ exit codes


def test_fail_on_severity_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fail-on critical: a below-floor driver (high) passes, a deny-listed one (critical) fails."""
    below = fleet(tmp_path, "470.82.01", name="below.yaml")
    denied = fleet(tmp_path, "550.54.14", name="denied.yaml")
    assert main(["report", "--simulate", below, *POLICY, "--fail-on", "critical", "--no-history"]) == 0
    assert main(["report", "--simulate", denied, *POLICY, "--fail-on", "critical", "--no-history"]) == 1
    assert main(["report", "--simulate", below, *POLICY, "--fail-on", "high", "--no-history"]) == 1
    capsys.readouterr()


def test_fail_on_rejects_unknown_levels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --fail-on level that is neither verdict nor severity is a usage error listing both vocabularies."""
    assert main(["report", "--simulate", fleet(tmp_path), "--fail-on", "severe"]) == 2
    assert "each level must be a verdict (warn, upgrade, reboot, rollback) or a severity" in capsys.readouterr().err


def test_unreachable_warn_exits_0_and_warns_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --unreachable warn an unreachable host only warns; the default makes the run exit 3."""
    path = fleet(tmp_path, extra="  down: {fault: unreachable}\n")
    assert main(["report", "--simulate", path, *POLICY, "--format", "json"]) == 3
    capsys.readouterr()
    assert main(["report", "--simulate", path, *POLICY, "--format", "json", "--unreachable", "warn"]) == 0
    captured = capsys.readouterr()
    assert "warning: not fully audited: down" in captured.err
    doc = json.loads(captured.out)
    assert doc["exit_code"] == 0 and doc["exit"]["incomplete_hosts"] == ["down"] and doc["summary"]["unreachable"] == 1


def _wait_until_done(process: subprocess.Popen[str], *hosts: str) -> None:
    """Read the process's --debug log on stderr until each of ``hosts`` has been audited."""
    assert process.stderr is not None
    done = re.compile(r"auditor\.cli\.report: (\S+): \w+$")
    waiting = set(hosts)
    while waiting:
        line = process.stderr.readline()
        assert line, f"the process ended before {', '.join(sorted(waiting))} were audited"
        match = done.search(line.rstrip("\n"))
        if match:
            waiting.discard(match.group(1))


def test_exit_4_when_a_report_file_cannot_be_written(tmp_path: Path) -> None:
    """The report's directory vanishes mid-run: exit 4, the other reports still written, the error on stderr."""
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    gone.mkdir()
    kept.mkdir()
    # The stuck host holds the sweep open until its probe timeout: long after a and b are done.
    path = fleet(tmp_path, extra="  stuck: {fault: hang}\n")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "auditor", "--debug", "report", "--simulate", path, *POLICY),
            *("--probe-timeout", "6", "--format", f"json:{gone}/r.json", "--format", f"md:{kept}/r.md"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until_done(process, "a", "b")  # past the checks, the stuck host still probing
    gone.rmdir()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 4
    assert f"cannot write {gone}/r.json" in err
    assert "stuck" in (kept / "r.md").read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_writes_partial_reports_marked_incomplete_and_exits_130(tmp_path: Path, signum: int) -> None:
    """SIGINT or SIGTERM mid-sweep: finished hosts reported, the stuck one listed as not audited, run recorded."""
    out = tmp_path / "out"
    out.mkdir()
    history = tmp_path / "h.sqlite"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "auditor", "--debug", "report", "--simulate"),
            *(fleet(tmp_path, extra="  stuck: {fault: hang}\n"), *POLICY, "--probe-timeout", "120"),
            *("--history", str(history), "--format", "table", "--format", f"json:{out}/r.json"),
            *("--format", f"junit:{out}/r.xml", "--format", f"prom:{out}/r.prom"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until_done(process, "a", "b")
    process.send_signal(signum)
    stdout, stderr = _finish(process)
    assert process.returncode == 130, stderr[-2000:]
    assert "interrupted; writing the partial report (2 hosts done)" in stderr
    assert "INCOMPLETE: the run was interrupted; not audited: stuck" in stdout
    doc = json.loads((out / "r.json").read_text())
    assert doc["complete"] is False and doc["exit_code"] == 130
    assert [h["name"] for h in doc["hosts"]] == ["a", "b"] and doc["not_audited"] == ["stuck"]
    suites = {s.get("name"): s for s in parse_xml(out / "r.xml")}
    assert suites["stuck"].get("errors") == "1"
    assert 'auditor_last_run_complete{inventory="fleet (simulated)"} 0.0' in (out / "r.prom").read_text()
    assert history_rows(history) == [(1, 0, 130)]


def test_a_signal_taken_by_another_thread_still_stops_the_sweep_at_once(tmp_path: Path) -> None:
    """SIGTERM delivered to a worker thread (the kernel may pick any): the loop wakes, no wait for the hung probe."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "auditor", "--debug", "report", "--simulate"),
            *(fleet(tmp_path, extra="  stuck: {fault: hang}\n"), *POLICY, "--probe-timeout", "600"),
            *("--format", "json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until_done(process, "a", "b")
    _signal_a_worker_thread(process, signal.SIGTERM)
    stdout, stderr = _finish(process)
    assert process.returncode == 130, stderr[-2000:]
    doc = json.loads(stdout)
    assert [h["name"] for h in doc["hosts"]] == ["a", "b"] and doc["not_audited"] == ["stuck"]


def test_plan_stops_at_once_on_sigint_taken_by_another_thread(tmp_path: Path) -> None:
    """`auditor plan` auditing a fleet with a hung host: SIGINT to a worker thread exits 130 at once."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "auditor", "plan", "--simulate"),
            *(fleet(tmp_path, extra="  stuck: {fault: hang}\n"), *POLICY, "--probe-timeout", "600"),
            *("--to", "serving-2026", "--format", "json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(os.listdir(f"/proc/{process.pid}/task")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # connecting: the resolver's threads have started
    time.sleep(1)  # a and b answer; the loop waits on the stuck host
    _signal_a_worker_thread(process, signal.SIGINT)
    _, stderr = _finish(process)
    assert process.returncode == 130, stderr[-2000:]


def test_wake_on_signals_runs_on_any_thread() -> None:
    """On the main thread it sets a wake-up fd and restores the previous one; elsewhere (no signals there) it only runs the block."""

    async def sweep() -> int:
        with wake_on_signals():
            inside = signal.set_wakeup_fd(-1)  # what the block had, put back below
            signal.set_wakeup_fd(inside)
            await asyncio.sleep(0)
            return inside

    assert asyncio.run(sweep()) >= 0 and signal.set_wakeup_fd(-1) == -1
    elsewhere: list[BaseException | None] = []

    def in_a_thread() -> None:
        async def block() -> None:
            with wake_on_signals():
                await asyncio.sleep(0)

        try:
            asyncio.run(block())
            elsewhere.append(None)
        except BaseException as exc:  # handed to the main thread's assertion
            elsewhere.append(exc)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert elsewhere == [None]


def _signal_a_worker_thread(process: subprocess.Popen[str], signum: int) -> None:
    """Send ``signum`` to one of the process's threads other than the main one (tgkill)."""
    workers = sorted(int(t) for t in os.listdir(f"/proc/{process.pid}/task") if int(t) != process.pid)
    assert workers, "the sweep runs no thread besides the main one: this test needs one to aim at"
    assert ctypes.CDLL(None, use_errno=True).tgkill(process.pid, workers[0], signum) == 0


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The process's output once it exits; killed (and the test failed) if it is still running after 60 s."""
    try:
        return process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"still running 60 s after the signal; stderr ends: {stderr[-2000:]}")


def test_progress_bar_with_eta_only_on_a_terminal(tmp_path: Path) -> None:
    """stderr a terminal: a progress bar with an ETA there, and stdout still only the JSON report."""
    path = fleet(tmp_path, extra="  slowpoke: {fault: slow}\n")
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "auditor", "report", "--simulate", path, *POLICY, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"},
    )
    os.close(slave)
    terminal = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the pty closes when the process exits
            break
        if not chunk:
            break
        terminal += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(master)
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal.decode("utf-8", "replace"))  # colours and cursor moves
    assert process.returncode == 0
    assert "auditing" in shown and "eta" in shown and "/3 hosts" in shown
    assert json.loads(stdout)["summary"]["total"] == 3


# ------------------------------------------------------------------ history, diff, lock


def test_history_diff_and_failing_since_across_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three runs: history lists them, diff shows the new finding and the driver change, reports say since when."""
    history = str(tmp_path / "runs.sqlite")
    path = fleet(tmp_path)

    def report(*extra: str) -> dict[str, object]:
        main(["report", "--simulate", path, *POLICY, "--history", history, "--format", "json", *extra])
        return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]

    first = report()
    fleet(tmp_path, "470.82.01")  # host b's driver is downgraded between runs
    second = report()
    third = report("--format", f"md:{tmp_path}/r.md")
    b = next(h for h in third["hosts"] if h["name"] == "b")  # type: ignore[attr-defined]
    assert b["failing_since"] == second["generated_at"] and first["run_id"] == 1
    assert "b | **UPGRADE** |" in (tmp_path / "r.md").read_text()

    assert main(["history", "--history", history, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in runs] == [3, 2, 1] and [r["exit_code"] for r in runs] == [1, 1, 0]
    assert main(["history", "--history", history]) == 0
    listing = capsys.readouterr().out
    assert re.search(
        r"^  1  \d{4}-\d\d-\d\d \d\d:\d\d\s+2\s+0\s+\S+s  fleet \(simulated\) · demo-production$", listing, re.M
    )
    assert re.search(r"^\s+upgrade 1  ok 1$", listing, re.M)

    assert main(["diff", "--history", history]) == 0  # runs 2 and 3: nothing changed
    assert "no changes" in capsys.readouterr().out
    assert main(["diff", "1", "2", "--history", history]) == 1
    text = capsys.readouterr().out
    assert "b  OK → UPGRADE" in text and "~ driver: 580.95.05 → 470.82.01" in text
    assert "+ fleet-driver/driver.min: NVIDIA driver 470.82.01 is below the floor 535.104.05" in text
    assert main(["diff", "1", "--history", history, "--json"]) == 1  # one run: against the newest
    drift = json.loads(capsys.readouterr().out)
    assert drift["before"]["run_id"] == 1 and drift["after"]["run_id"] == 3
    assert drift["counts"]["new"] == 3  # driver.min, driver.eol and cuda.driver on R470


def test_history_and_diff_without_a_history_are_usage_errors(tmp_path: Path) -> None:
    """No history file, or a run that does not exist: exit 2 naming the file."""
    missing = str(tmp_path / "none.sqlite")
    result = auditor("history", "--history", missing)
    assert result.returncode == 2 and f"{missing}: no history yet" in result.stderr
    assert auditor("diff", "--history", missing).returncode == 2
    assert not Path(missing).exists()


def test_no_history_records_nothing(
    tmp_path: Path, private_state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-history: no database and no lock file anywhere; the default history lives in XDG_STATE_HOME."""
    assert main(["report", "--simulate", fleet(tmp_path), *POLICY, "--no-history"]) == 0
    state = private_state_dir / "auditor"
    assert sorted(p.name for p in state.iterdir()) == ["last.retry"]  # the retry file is not history
    assert main(["report", "--simulate", fleet(tmp_path), *POLICY]) == 0
    assert history_rows(private_state_dir / "auditor" / "history.sqlite") == [(1, 1, 0)]
    capsys.readouterr()


def test_a_run_finding_the_history_locked_is_skipped_with_exit_3(tmp_path: Path) -> None:
    """Another run holds the lock: with --lock-timeout 0 this one writes nothing and says who holds it."""
    history = tmp_path / "h.sqlite"
    with locked(history, timeout=0, argv=["auditor", "report", "--cron"]):
        result = auditor(
            "report", "--simulate", fleet(tmp_path), "--history", str(history), "--lock-timeout", "0",
            "--format", f"json:{tmp_path}/r.json",
        )  # fmt: skip
    assert result.returncode == 3 and result.stdout == ""
    assert f"another auditor run holds {history}.lock (pid {os.getpid()}" in result.stderr
    assert "auditor report --cron" in result.stderr and "--lock-timeout" in result.stderr
    assert not (tmp_path / "r.json").exists() and not history.exists()


def test_a_second_run_waits_for_the_lock_then_runs(tmp_path: Path) -> None:
    """Within --lock-timeout the second run waits, says so on stderr, and runs once the first is done."""
    history = tmp_path / "h.sqlite"
    with locked(history, timeout=0):
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "auditor", "report", "--simulate", fleet(tmp_path), *POLICY),
                *("--history", str(history), "--lock-timeout", "120", "--format", "json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        assert process.stderr.readline().startswith("auditor: waiting up to 120s for another run to finish (pid ")
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0 and json.loads(stdout)["run_id"] == 1


def test_sigterm_while_waiting_for_the_lock_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    """A run stopped before it audited anything (still waiting for the lock) exits 130 and leaves no report."""
    history = tmp_path / "h.sqlite"
    with locked(history, timeout=0):
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "auditor", "report", "--simulate", fleet(tmp_path), *POLICY),
                *("--history", str(history), "--lock-timeout", "120", "--format", f"json:{tmp_path}/r.json"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        assert process.stderr.readline().startswith("auditor: waiting up to 120s")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in stderr and stdout == ""
    assert not (tmp_path / "r.json").exists()
