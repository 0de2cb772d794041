"""Hosts that lie: a real SSH server answers the probe with forged facts, and only that host pays.

The simulated fleet's ``probe_output`` makes a host print a given document instead of
running the probe, over real SSH. The documents are the real H200 recording
(``tests/fixtures/real/``) with one field forged the way issue 13 found them: a compute
capability ``"abc"``, an engine header version ``"10.x"``, a 401-digit integer, a
41-digit GPU count, ``1e400``. Before the boundary each of these aborted the whole run
(exit 4, no report, no history) or wrote ``Infinity`` into the JSON report.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from auditor.__main__ import main
from auditor.audit.targets import open_targets
from auditor.evaluate.registry import CHECK_IDS
from auditor.facts.model import FactsError, encode_document
from auditor.facts.reader import parse_facts
from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.policy.files import load_policy
from auditor.policy.model import EMPTY_POLICY
from auditor.report.assess import apply_consistency, assess
from auditor.report.formats import FORMATS, renderer
from auditor.report.isolation import attempt, render_isolated
from auditor.report.model import Report
from auditor.report.writers.json import render_json
from auditor.transport.outcome import AuditStep, HostError, ProbeOutcome
from auditor.tui.app import AuditApp
from auditor.tui.source import live_source
from tests.support.demo import FAST_PROBE_TIMEOUT
from tests.support.paths import FIXTURES, REAL
from tests.support.reports import finding, host
from tests.support.tui import settle

# name: (recording, mutation, literal replacements in the JSON text) -> the step and path the error must name
FORGERIES: dict[str, tuple[str, Callable[[dict[str, Any]], None], dict[str, str], str]] = {
    "liar-cc": (
        "probe.json",
        lambda d: d["gpus"]["devices"][0].update(compute_capability="abc"),
        {},
        "$.gpus.devices[0].compute_capability",
    ),
    "liar-header": (
        "probe-engines.json",
        lambda d: d["engines"]["items"][1]["header"].update(tensorrt_version="10.x"),
        {},
        "$.engines.items[1].header.tensorrt_version",
    ),
    "liar-digits": (
        "probe.json",
        lambda d: d["gpus"]["devices"][0].update(memory_total_mib="@BIG@"),
        {'"@BIG@"': "9" * 401},
        "$.gpus.devices[0].memory_total_mib",
    ),
    "liar-count": (
        "probe.json",
        lambda d: d["gpus"].update(count="@BIG@"),
        {'"@BIG@"': "9" * 41},
        "$.gpus.count",
    ),
    "liar-inf": (
        "probe-engines.json",
        lambda d: d["engines"]["items"][0]["load"].update(seconds="@INF@"),
        {'"@INF@"': "1e400"},
        "$.engines.items[0].load.seconds",
    ),
}


def forged(name: str) -> str:
    """The forged probe output of host ``name`` (see FORGERIES)."""
    recording, mutate, replacements, _ = FORGERIES[name]
    document = copy.deepcopy(json.loads((REAL / recording).read_text()))
    mutate(document)
    text = json.dumps(document)
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text


def strict(text: str) -> Any:
    """JSON as a strict parser reads it: ``Infinity`` and ``NaN`` are errors."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def lying_fleet(tmp_path: Path) -> Path:
    """Two honest H200-like hosts and one liar per forgery, each liar's document beside the fleet file."""
    lines = [
        "schema: auditor.fleet/1",
        "name: liars",
        'defaults: {groups: [serving], gpus: [{model: "NVIDIA H200", count: 1}], driver: "580.95.05",'
        ' cuda_toolkits: ["13.0.2"]}',
        "hosts:",
        "  honest-01: {}",
        "  honest-02: {}",
    ]
    for name in FORGERIES:
        (tmp_path / f"{name}.json").write_text(forged(name))
        lines.append(f"  {name}: {{probe_output: {name}.json}}")
    path = tmp_path / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_each_forgery_is_that_hosts_parse_error_naming_the_field(name: str) -> None:
    """The facts reader refuses each forged field as a parse error naming its JSON path (never a crash later)."""
    path = FORGERIES[name][3]
    with pytest.raises(FactsError, match=path.replace("$", r"\$").replace("[", r"\[").replace("]", r"\]")):
        parse_facts(forged(name))
    report = assess(Host(name, "10.0.0.1"), ProbeOutcome(stdout=forged(name).encode(), exit_status=0), EMPTY_POLICY)
    assert report.verdict is Verdict.ERROR and report.error is not None
    assert report.error.step is AuditStep.PARSE and path in report.error.message


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("9223372036854775807", True), ("9223372036854775808", False), ("-9223372036854775808", True), ("1.5e308", True)],
)
def test_integers_are_bounded_to_64_bits_and_floats_to_finite(value: str, accepted: bool) -> None:
    """Anywhere in the document, even in a field auditor does not read: 64-bit integers, finite floats."""
    text = forged("liar-cc").replace('"compute_capability": "abc"', f'"compute_capability": "9.0", "extra": {value}')
    if accepted:
        assert parse_facts(text).gpus.devices[0].compute_capability == "9.0"
    else:
        with pytest.raises(FactsError, match=r"\$\.gpus\.devices\[0\]\.extra: integer out of range"):
            parse_facts(text)


def test_report_over_real_ssh_writes_every_format_when_hosts_lie(
    lying_fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Five liars among seven hosts over SSH: exit 3, every format written, strict JSON, history says 3 too."""
    out = tmp_path / "out"
    out.mkdir()
    history = tmp_path / "history.sqlite"
    args = ["report", "--simulate", str(lying_fleet), "--history", str(history), "--as-of", "2026-11-21"]
    args += ["--probe-timeout", str(FAST_PROBE_TIMEOUT)]
    for fmt in FORMATS:
        args += ["--format", f"{fmt}:{out}/report.{fmt}"]
    assert main(args) == 3
    assert sorted(p.name for p in out.iterdir()) == sorted(f"report.{fmt}" for fmt in FORMATS)
    document = strict((out / "report.json").read_text())
    hosts = {h["name"]: h for h in document["hosts"]}
    assert document["exit_code"] == 3 and hosts["honest-01"]["verdict"] == hosts["honest-02"]["verdict"] == "ok"
    for name, (_, _, _, path) in FORGERIES.items():
        assert hosts[name]["verdict"] == "error" and hosts[name]["error"]["step"] == "parse"
        assert path in hosts[name]["error"]["message"]
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT exit_code FROM runs").fetchall() == [(3,)]
    families = {f.name: f for f in text_string_to_metric_families((out / "report.prom").read_text())}
    errors = {
        s.labels["host"] for s in families["auditor_host_verdict"].samples if s.labels["verdict"] == "error" and s.value
    }
    assert errors == set(FORGERIES)
    assert "liar-count" in (out / "report.md").read_text() and "honest-01" in (out / "report.csv").read_text()
    assert "internal error" not in capsys.readouterr().err


def test_plan_over_real_ssh_leaves_liars_out(
    lying_fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``auditor plan`` plans the honest hosts and lists each liar as an error, instead of exiting 1 on a crash."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        'schema: auditor.policy/1\nname: p\nstacks:\n  serving:\n    driver: {min: "580.95.05", target: "580.95.05"}\n'
        '    cuda: {min: "13.0", target: "13.0.2"}\nrules: []\n'
    )
    args = ["plan", "--simulate", str(lying_fleet), "-p", str(policy), "--to", "serving", "--format", "json"]
    assert main([*args, "--probe-timeout", str(FAST_PROBE_TIMEOUT), "--unreachable", "warn"]) == 0
    document = strict(capsys.readouterr().out)
    status = {h["name"]: h["status"] for h in document["hosts"]}
    assert status == {"honest-01": "compliant", "honest-02": "compliant", **dict.fromkeys(FORGERIES, "error")}


async def test_tui_over_real_ssh_shows_each_liar_as_an_error(lying_fleet: Path) -> None:
    """The interactive audit shows the liars as errors naming the field, and the honest hosts as they are."""
    source = live_source(lambda: open_targets(fleet=str(lying_fleet), probe_timeout=FAST_PROBE_TIMEOUT), EMPTY_POLICY)
    app = AuditApp(source, policy=EMPTY_POLICY.name)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.main.table
        assert table.row_count == 2 + len(FORGERIES)
        for name, (_, _, _, path) in FORGERIES.items():
            assert str(table.get_cell(name, "verdict")) == "✖ ERROR"
            assert path in str(table.get_cell(name, "why"))
        assert str(table.get_cell("honest-01", "verdict")) == "✓ OK"
        await pilot.press("q")
        await pilot.pause()


# ------------------------------------------------------------------ the boundary itself


def test_an_exception_in_a_step_is_that_hosts_error_with_its_traceback_logged(private_state_dir: Path) -> None:
    """``attempt`` turns an exception into the host's error at the step, the traceback in the crash log."""
    result = attempt(AuditStep.EVALUATE, "gpu-07", lambda: int("abc"))
    assert isinstance(result, HostError) and result.step is AuditStep.EVALUATE
    assert "internal error: ValueError: invalid literal for int()" in result.message
    log = (private_state_dir / "auditor" / "crash.log").read_text()
    assert "host gpu-07: step evaluate" in log and "Traceback" in log and 'int("abc")' in log


def test_a_writer_that_fails_on_one_host_renders_it_as_an_error_row() -> None:
    """A host whose facts a writer cannot render (here a non-finite float) is an error row; the others stay."""
    good = host("good-01")
    assert good.facts is not None
    bad = host(
        "bad-01",
        facts=dataclasses.replace(good.facts, document=encode_document({**good.facts.raw, "duration_s": float("inf")})),
    )
    report = Report("inv", "p", (good, bad), generated_at="2026-11-21T06:00:00Z")
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        render_json(report)  # strict JSON: never "Infinity"
    document = strict(render_isolated(render_json, report, "json"))
    hosts = {h["name"]: h for h in document["hosts"]}
    assert hosts["good-01"]["verdict"] == "ok" and hosts["good-01"]["facts"]
    assert hosts["bad-01"]["verdict"] == "error" and hosts["bad-01"]["error"]["step"] == "report"
    assert "internal error in json: ValueError" in hosts["bad-01"]["error"]["message"]


def test_a_malformed_host_costs_one_row_in_every_writer_and_the_fleet_checks() -> None:
    """Facts of the wrong type (what a reader bug would let through) break no format and no other host."""
    policy_path = FIXTURES / "fuzz-policy.yaml"
    policy = load_policy(policy_path, checks=CHECK_IDS)
    good = host("good-01", groups=("serving",))
    assert good.facts is not None
    bad = host("bad-01", finding(), groups=("serving",), facts=dataclasses.replace(good.facts, driver=None))  # type: ignore[arg-type]
    reports = apply_consistency(policy, [good, bad])
    assert reports[0].verdict is not Verdict.ERROR
    assert reports[1].verdict is Verdict.ERROR and reports[1].error is not None
    assert reports[1].error.step is AuditStep.CONSISTENCY
    report = Report("inv", "p", (good, bad), generated_at="2026-11-21T06:00:00Z")
    for fmt in FORMATS:
        text = render_isolated(renderer(fmt), report, fmt)
        assert "good-01" in text and "bad-01" in text, fmt
        if fmt in ("table", "md", "csv", "html"):  # the writers that show the stack of a host needing action
            assert f"internal error in {fmt}: AttributeError" in text, fmt
    prom = render_isolated(renderer("prom"), report, "prom")
    verdicts = next(f for f in text_string_to_metric_families(prom) if f.name == "auditor_host_verdict")
    assert {(s.labels["host"], s.labels["verdict"]) for s in verdicts.samples if s.value} == {
        ("good-01", "ok"),
        ("bad-01", "error"),
    }


def test_isolation_lets_interrupts_through() -> None:
    """Only errors are contained: Ctrl-C and cancellation still stop the run."""

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        attempt(AuditStep.EVALUATE, "h", interrupted)

    def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        attempt(AuditStep.EVALUATE, "h", cancelled)


def test_a_report_lost_after_recording_amends_the_history_to_the_process_exit(tmp_path: Path) -> None:
    """stdout closed under the report: the process exits 4 and the recorded run says 4 too (it said 0)."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text('schema: auditor.fleet/1\nhosts:\n  a: {gpus: [{model: "Tesla T4"}], driver: "580.95.05"}\n')
    history = tmp_path / "history.sqlite"
    command = [sys.executable, "-m", "auditor", "report", "--simulate", str(fleet), "--history", str(history)]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before the report was written
    try:
        result = subprocess.run(
            [*command, "--format", "json"], stdout=write_end, stderr=subprocess.PIPE, text=True, check=False
        )
    finally:
        os.close(write_end)
    assert result.returncode == 4 and "could not write the report to stdout" in result.stderr
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT exit_code FROM runs").fetchall() == [(4,)]
