"""Hostile strings and files: nothing a host or an inventory holds runs, forges a line, or breaks a file.

Each test reproduces a case of issue 13 ("Hostile strings and files") as a user meets
it (a command line, a real SSH server, a real file system) and pins what happens now.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import resource
import shlex
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from textual.widgets import Static

from auditor.__main__ import main
from auditor.audit.events import AuditEvent
from auditor.audit.run import probe_payload, write_retry_file
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.probe.program import ProbeCall
from auditor.report.files import write_atomic
from auditor.report.writers.csv import render_csv
from auditor.report.writers.md import render_md
from auditor.report.writers.prom import render_prom
from auditor.report.writers.table import render_table
from auditor.simulate.fleet import load_fleet
from auditor.simulate.server import SimulatedFleet
from auditor.text import clean, is_clean
from auditor.transport.outcome import HostState
from auditor.transport.runner import run_probes
from auditor.transport.sshconfig import expand_proxy_command
from auditor.tui.cells import COLUMNS, row_cells
from auditor.tui.model import FleetModel
from tests.support.demo import FAST_PROBE_TIMEOUT
from tests.support.paths import REAL
from tests.support.reports import finding, host, report
from tests.support.tui import plain, replay_app, settle

LINE_BREAKERS = ("\u2028", "\u2029", "\x85", "\r", "\x0b", "\x0c")
BIDI = ("\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\u061c")
FORGED_LINE = "x\u2028OK (9): all good\u2029\x85# forged heading"


def run_cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m auditor ARGS`` as a user runs it (stdout and stderr captured)."""
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]


# ------------------------------------------------------------------ names, addresses, ProxyCommand


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1;touch {owned};#",
        "$(touch {owned})",
        "`touch {owned}`",
        "127.0.0.1 -oProxyCommand=touch{owned}",
        "-oProxyCommand=touch {owned}",
        "a|touch {owned}",
    ],
)
def test_shell_metacharacters_in_an_address_are_refused_before_any_command_runs(tmp_path: Path, address: str) -> None:
    """An address a ProxyCommand's shell would split is exit 2 at its file:line; the command never runs."""
    owned = tmp_path / "owned"
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"[gpu]\nok-01 ansible_host=127.0.0.1\nevil {shlex.quote('ansible_host=' + address.format(owned=owned))}\n"
    )
    config = tmp_path / "ssh_config"
    config.write_text('Host *\n  ProxyCommand sh -c "nc %h %p"\n')
    result = run_cli("report", "-i", str(inventory), "-F", str(config), "--no-history", "--timeout", "2")
    assert result.returncode == 2, result.stderr
    assert f"{inventory}:3: host 'evil': address" in result.stderr
    assert not owned.exists() and result.stdout == ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("bad ansible_host=10.0.0.1 ansible_user='root;id'", "ansible_user 'root;id' contains ';'"),
        ("bad ansible_host='a b'", "address 'a b' contains ' '"),
        ("bad ansible_ssh_common_args='-J \"x;y\"'", "ProxyJump host 'x;y' contains ';'"),
        ("bad ansible_ssh_common_args='-o ProxyCommand=\"nc %h %z\"'", "unknown token %z"),
    ],
)
def test_users_jump_hosts_and_proxy_tokens_follow_openssh_rules(tmp_path: Path, line: str, message: str) -> None:
    """Users, ProxyJump hops and ProxyCommand tokens are checked when the inventory is read (exit 2, located)."""
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[gpu]\n{line}\n")
    result = run_cli("inventory", "-i", str(inventory))
    assert result.returncode == 2 and f"{inventory}:2:" in result.stderr and message in result.stderr


def test_an_escape_in_an_inventory_name_is_refused_not_printed(tmp_path: Path) -> None:
    """ESC, line separators and bidi controls in a host name: exit 2 naming file:line, no raw ESC on the terminal."""
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text('all:\n  hosts:\n    "gpu\\e7\\e]0;PWNED\\a\\u2028x":\n      ansible_host: 10.0.0.1\n')
    for command in (["inventory"], ["check"], ["report", "--no-history"]):
        result = run_cli(*command, "-i", str(inventory))
        assert result.returncode == 2, command
        assert f"{inventory}:3:" in result.stderr and "control, line-break or bidirectional" in result.stderr
        assert "\x1b" not in result.stderr + result.stdout


def test_group_names_with_escapes_are_cleaned_in_check_and_inventory(tmp_path: Path) -> None:
    """Group names reach the terminal cleaned in ``check`` and ``inventory`` (the hosts themselves are fine)."""
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text('all:\n  children:\n    "evil\\e]0;title\\a\\u2028x":\n      hosts:\n        gpu-01: {}\n')
    for command in ("inventory", "check"):
        result = run_cli(command, "-i", str(inventory))
        assert result.returncode == 0, result.stderr
        assert "evil]0;titlex" in result.stdout.replace(" ", "")
        assert all(is_clean(line) for line in result.stdout.splitlines())


def test_proxy_command_expansions_are_quoted() -> None:
    """%h %p %r %n in an inventory ProxyCommand become one shell word each, and %% a percent."""
    command = expand_proxy_command('sh -c "nc %h %p" # 100%%', "a b;c", 2222, "ops", "gpu-01")
    assert shlex.split(command) == ["sh", "-c", "nc 'a b;c' 2222", "#", "100%"]
    assert shlex.split(expand_proxy_command("relay %r@%n", "h", 22, "o'brien", "n"))[1] == "o'brien@n"


async def test_an_inventory_proxy_command_reaches_a_real_ssh_server_with_its_tokens_expanded(tmp_path: Path) -> None:
    """``-o ProxyCommand="python3 relay.py %h %p"`` from an inventory connects (it used to get a literal %h)."""
    relay = tmp_path / "relay.py"
    relay.write_text(
        "import socket, sys, threading\n"
        "s = socket.create_connection((sys.argv[1], int(sys.argv[2])))\n"
        "def up():\n"
        "    while data := sys.stdin.buffer.read1(65536):\n"
        "        s.sendall(data)\n"
        "threading.Thread(target=up, daemon=True).start()\n"
        "while data := s.recv(65536):\n"
        "    sys.stdout.buffer.write(data); sys.stdout.buffer.flush()\n"
    )
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text('schema: auditor.fleet/1\nhosts:\n  gpu-01: {gpus: [{model: "Tesla T4"}], driver: "580.95.05"}\n')
    async with SimulatedFleet(load_fleet(fleet)) as sim:
        served = sim.hosts[0]
        proxied = Host(
            served.name, served.address, served.port, served.user, proxy_command=f"{sys.executable} {relay} %h %p"
        )
        options = sim.options(probe_timeout=FAST_PROBE_TIMEOUT)
        events = [e async for e in run_probes([proxied], options, probe_payload(ProbeCall("e30=")))]
    outcome = events[-1].outcome
    assert outcome is not None and outcome.error is None and events[-1].state is HostState.DONE


# ------------------------------------------------------------------ lines a host cannot forge


def forging_fleet(tmp_path: Path) -> Path:
    """A fleet whose host ``forger`` answers with the real H200 facts, its strings made hostile."""
    document = json.loads((REAL / "probe.json").read_text())
    document["gpus"]["devices"][0]["name"] = "NVIDIA H200" + FORGED_LINE + "".join(BIDI) + " https://evil.example/x"
    document["host"]["os"]["pretty_name"] = "Ubuntu\x1b[2J\x1b]0;pwned\x07"
    document["cudnn"]["version"] = '=HYPERLINK("https://evil.example")'
    document["driver"]["version"] = '580.95.05\u2028auditor_host_verdict{host="other",verdict="ok"} 1'
    (tmp_path / "forger.json").write_text(json.dumps(document, ensure_ascii=False))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "schema: auditor.fleet/1\nhosts:\n"
        '  honest: {gpus: [{model: "NVIDIA H200"}], driver: "580.95.05", cuda_toolkits: ["13.0.2"]}\n'
        "  forger: {probe_output: forger.json}\n"
    )
    return fleet


def test_a_host_cannot_forge_lines_in_any_format_over_real_ssh(tmp_path: Path) -> None:
    """Line separators, bidi controls, escapes, URLs and formulas from a host: every format stays one line per row."""
    out = tmp_path / "out"
    out.mkdir()
    args = ["report", "--simulate", str(forging_fleet(tmp_path)), "--no-history", "--as-of", "2026-11-21"]
    args += ["--probe-timeout", str(FAST_PROBE_TIMEOUT), "--fail-on", "critical"]
    for fmt in ("table", "md", "csv", "prom", "html", "junit", "json"):
        args += ["--format", f"{fmt}:{out}/r.{fmt}"]
    assert main(args) in (0, 1)
    for fmt in ("table", "md", "csv", "prom", "html", "junit"):
        text = (out / f"r.{fmt}").read_text(encoding="utf-8")
        assert not any(c in text for c in (*LINE_BREAKERS[:3], *BIDI, "\x1b")), fmt
    md = (out / "r.md").read_text()
    assert "https://evil" not in md.replace("`https://evil.example/x`", "")  # a URL only inside a code span
    rows = list(csv.reader(io.StringIO((out / "r.csv").read_text(), newline="")))
    assert not any(cell.lstrip().startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert '\'=HYPERLINK("https://evil.example")' in {cell for row in rows for cell in row}
    families = list(text_string_to_metric_families((out / "r.prom").read_text()))
    verdicts = next(f for f in families if f.name == "auditor_host_verdict")
    assert {s.labels["host"] for s in verdicts.samples} == {"honest", "forger"}  # no forged "other" host
    stack = next(f for f in families if f.name == "auditor_host_stack_info")
    driver = {s.labels["host"]: s.labels["driver"] for s in stack.samples}["forger"]
    assert driver.startswith("580.95.05 auditor_host_verdict") and is_clean(driver)


@pytest.mark.parametrize("breaker", [*LINE_BREAKERS, *BIDI, "\x1b[31m"])
def test_every_text_writer_cleans_what_it_prints(breaker: str) -> None:
    """Names, reasons and findings carrying a line breaker or bidi control print cleaned in table, md, csv and prom."""
    name = f"gpu{breaker}01"
    message = f"driver{breaker}too old https://evil.example"
    sample = report(host(name, finding(message=message), groups=(f"g{breaker}",)))
    for render, split in ((render_table, "\n"), (render_md, "\n"), (render_csv, "\r\n"), (render_prom, "\n")):
        text = render(sample)
        lines = text.split(split)
        assert all(is_clean(line) for line in lines), render.__name__
        assert clean(name) in text or render is render_md


def test_markdown_never_autolinks_and_csv_never_computes() -> None:
    """Bare URLs and e-mail addresses from a host are code spans in Markdown; formulas are quoted in CSV."""
    sample = report(
        host("gpu-01", finding(message="see https://evil.example/a|b or www.evil.example, ops@evil.example"))
    )
    md = render_md(sample)
    assert "`https://evil.example/a%7Cb`" in md and "`www.evil.example,`" in md and "`ops@evil.example`" in md
    assert md.count("https://") == md.count("`https://")
    text = render_csv(report(host("gpu-01", finding(message=" =1+2", actual="@SUM(A1)", expected="-2+3"))))
    assert ",' =1+2," in text and ",'@SUM(A1)," in text and ",'-2+3," in text


# ------------------------------------------------------------------ the TUI's columns


async def test_one_long_field_does_not_widen_a_tui_column_for_every_host() -> None:
    """A 4,000-character driver string is elided in its cell (the column stays narrow); the detail has it all."""
    base = host("long-01", finding())
    assert base.facts is not None
    long_driver = "5" * 4000
    facts = dataclasses.replace(base.facts, driver=dataclasses.replace(base.facts.driver, version=long_driver))
    reports = [dataclasses.replace(base, facts=facts), host("short-01")]
    model = FleetModel()
    model.add_hosts([Host(r.name, r.address) for r in reports])
    for r in reports:
        model.apply(AuditEvent(Host(r.name, r.address), HostState.DONE, r), 1.0)
    cells = row_cells(model.rows["long-01"], marked=False, now=1.0)
    limit = next(c.max_width for c in COLUMNS if c.key == "driver")
    assert cells["driver"].cell_len == limit and cells["driver"].plain.endswith("…")
    app = replay_app(reports)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.main.table.widths["driver"] <= limit
        table = app.main.table
        table.move_cursor(row=table.get_row_index("long-01"))
        await pilot.press("enter")
        await pilot.pause()
        assert long_driver in plain(app.main.detail.query_one("#detail-body", Static).content, width=5000)


# ------------------------------------------------------------------ files


def test_a_report_path_that_is_a_symlink_gets_the_umask_mode_not_its_targets(tmp_path: Path) -> None:
    """A symlink to a setuid, world-writable file: the report is a new 0644 file, the target untouched."""
    target = tmp_path / "target"
    target.write_text("precious")
    target.chmod(0o4777)
    link = tmp_path / "report.json"
    link.symlink_to(target)
    old = os.umask(0o022)
    try:
        write_atomic(link, "{}\n")
    finally:
        os.umask(old)
    assert not link.is_symlink() and stat.S_IMODE(link.stat().st_mode) == 0o644
    assert target.read_text() == "precious" and stat.S_IMODE(target.stat().st_mode) == 0o4777
    kept = tmp_path / "kept.json"
    kept.write_text("old")
    kept.chmod(0o6640)  # an existing regular file keeps its read/write bits, never setuid/setgid
    write_atomic(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


def test_a_device_or_pipe_at_a_report_path_is_written_into_not_replaced(tmp_path: Path) -> None:
    """``--format json:PIPE`` streams into the pipe (``/dev/null`` as root was replaced by a regular file)."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()))
    reader.start()
    write_atomic(pipe, '{"schema": "auditor.report/1"}\n')
    reader.join()
    assert received == ['{"schema": "auditor.report/1"}\n'] and stat.S_ISFIFO(pipe.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no temporary file beside it


def test_the_retry_file_never_writes_through_a_fixed_temporary_name(tmp_path: Path) -> None:
    """A symlink planted at the old fixed temporary name leads nowhere: the victim is untouched, the file written."""
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    retry = tmp_path / "last.retry"
    (tmp_path / ".last.retry.tmp").symlink_to(victim)
    write_retry_file(retry, ["gpu-01", "gpu-02"])
    write_retry_file(retry, ["gpu-03"])
    assert retry.read_text() == "gpu-03\n" and victim.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".last.retry.tmp", "last.retry", "victim"]


# ------------------------------------------------------------------ history


def small_fleet(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        'schema: auditor.fleet/1\ndefaults: {gpus: [{model: "Tesla T4"}], driver: "580.95.05"}\n'
        f"hosts:\n  a: {{}}\n  b: {{}}\n{extra}"
    )
    return path


def test_a_full_disk_while_recording_history_names_the_cause_and_every_report_says_4(tmp_path: Path) -> None:
    """The history cannot grow (a file size limit, as on a full disk): SQLite's error, exit 4 in JSON and process.

    Before: "cannot rollback - no transaction is active", and the JSON report said exit 0.
    """
    fleet, history = small_fleet(tmp_path), tmp_path / "history.sqlite"
    base = ["report", "--simulate", str(fleet), "--history", str(history), "--format", "json"]
    assert run_cli(*base).returncode == 0
    with sqlite3.connect(history, isolation_level=None) as db:  # large pages: the limit bites the database first
        db.execute("PRAGMA page_size = 65536")
        db.execute("VACUUM")
    size = history.stat().st_size

    def no_growth() -> None:  # the database may not grow past what it is now
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    result = run_cli(*base, "--no-retry-file", preexec_fn=no_growth)
    assert result.returncode == 4
    assert f"could not record the run in {history}" in result.stderr
    assert "cannot rollback" not in result.stderr and ("disk" in result.stderr or "full" in result.stderr)
    document = json.loads(result.stdout)
    assert document["exit_code"] == 4 and document["exit"]["reason"].startswith("internal error: could not record")
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (1,)


def test_damaged_history_is_a_clear_error_naming_the_database(tmp_path: Path) -> None:
    """A corrupt stored report: ``diff`` exits 2 naming the file and the run; a corrupt summary: ``history`` too."""
    fleet, history = small_fleet(tmp_path), tmp_path / "history.sqlite"
    for _ in range(2):
        assert (
            main(["report", "--simulate", str(fleet), "--history", str(history), "--format", f"json:{tmp_path}/r"]) == 0
        )
    with sqlite3.connect(history) as db:
        db.execute("UPDATE runs SET report = x'00ff' WHERE id = 1")
    assert run_cli("history", "--history", str(history)).returncode == 0  # the list needs no report blob
    result = run_cli("diff", "--history", str(history))
    assert result.returncode == 2 and f"auditor: {history}: run #1 is damaged in this history" in result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(history) as db:
        db.execute("UPDATE runs SET summary = '{not json' WHERE id = 2")
    result = run_cli("history", "--history", str(history))
    assert result.returncode == 2 and f"{history}: run #2 is damaged" in result.stderr


# ------------------------------------------------------------------ what a connection can do


def test_dropped_connections_killed_probes_and_refused_key_types_say_what_happened(tmp_path: Path) -> None:
    """Over real SSH: a drop mid-output is one host's error (no asyncio noise), a signal is named, a key type refused."""
    extra = "  dropped: {fault: drop}\n  killed: {fault: killed}\n  keytype: {fault: host-key-type}\n"
    result = run_cli("report", "--simulate", str(small_fleet(tmp_path, extra)), "--no-history", "--format", "json")
    assert result.returncode == 3
    assert "Task exception was never retrieved" not in result.stderr and "Traceback" not in result.stderr
    hosts = {h["name"]: h for h in json.loads(result.stdout)["hosts"]}
    assert hosts["a"]["verdict"] == hosts["b"]["verdict"] == "ok"
    assert hosts["dropped"]["verdict"] == Verdict.ERROR.value
    assert hosts["dropped"]["error"]["message"].startswith("connection lost while probing")
    assert hosts["killed"]["error"]["message"] == "probe killed by signal SIGKILL: Killed"
    assert hosts["keytype"]["verdict"] == "unreachable" and hosts["keytype"]["error"]["step"] == "host-key"
    assert "no host key of a type known_hosts holds" in hosts["keytype"]["error"]["message"]


def test_a_host_damaged_in_the_history_is_that_hosts_error_in_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan --from-history`` on a stored run with one host's verdict garbled plans the other host, errors that one."""
    fleet, history = small_fleet(tmp_path), tmp_path / "history.sqlite"
    assert main(["report", "--simulate", str(fleet), "--history", str(history), "--format", f"json:{tmp_path}/r"]) == 0
    with sqlite3.connect(history) as db:
        document = json.loads(zlib.decompress(db.execute("SELECT report FROM runs").fetchone()[0]))
        document["hosts"][0]["verdict"] = "bogus"
        db.execute("UPDATE runs SET report = ?", (zlib.compress(json.dumps(document).encode()),))
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        'schema: auditor.policy/1\nstacks:\n  s:\n    driver: {min: "580", target: "580.95.05"}\nrules: []\n'
    )
    args = ["plan", "--simulate", str(fleet), "-p", str(policy), "--history", str(history), "--from-history"]
    assert main([*args, "--to", "s", "--format", "json", "--unreachable", "warn"]) == 0
    hosts = {h["name"]: h for h in json.loads(capsys.readouterr().out)["hosts"]}
    assert hosts["b"]["status"] == "compliant" and hosts["a"]["status"] == "error"
    assert hosts["a"]["note"] == "history: the stored result is damaged: 'bogus' is not a valid Verdict"
