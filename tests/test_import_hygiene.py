"""The core never imports the UI or SSH libraries; the headless path never imports Textual; the
commands that never connect start without the SSH and UI libraries or the audit machinery."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.report.history import History
from tests.support.paths import ROOT
from tests.support.reports import finding, host, report

CORE = [
    "auditor.inventory",
    "auditor.inventory.sources",
    "auditor.inventory.hostnames",
    "auditor.report.isolation",
    "auditor.crashlog",
    "auditor.text",
    "auditor.inventory.patterns",
    "auditor.policy",
    "auditor.facts",
    "auditor.evaluate",
    "auditor.report.assess",
    "auditor.findings",
    "auditor.versions",
    "auditor.knowledge",
    "auditor.report",
    "auditor.report.writers.json",
    "auditor.report.writers.table",
    "auditor.report.writers.md",
    "auditor.report.writers.html",
    "auditor.report.writers.junit",
    "auditor.report.writers.prom",
    "auditor.report.writers.csv",
    "auditor.report.formats",
    "auditor.report.files",
    "auditor.facts.stack",
    "auditor.report.drift",
    "auditor.report.exitcodes",
    "auditor.simulate.fleet",
    "auditor.policy.files",
    "auditor.policy.waivers",
    "auditor.evaluate.checks",
    "auditor.evaluate.checks.engine_loads",
    "auditor.evaluate.consistency",
    "auditor.knowledge.compat",
    "auditor.knowledge.images",
    "auditor.knowledge.compat_tensorrt",
    "auditor.evaluate.checks.containers",
    "auditor.evaluate.checks.tensorrt",
    "auditor.knowledge.overlay",
    "auditor.knowledge.lookup",
    "auditor.knowledge.cuda",
    "auditor.knowledge.gpus",
    "auditor.knowledge.tensorrt",
    "auditor.reference.library",
    "auditor.reference.picking",
    "auditor.reference.shipment",
    "auditor.evaluate.checks.reference",
    "auditor.reference.verify",
    "auditor.plan",
    "auditor.plan.model",
    "auditor.plan.target",
    "auditor.plan.host",
    "auditor.plan.rebuilds",
    "auditor.plan.waves",
    "auditor.plan.writers.table",
    "auditor.plan.writers.md",
    "auditor.plan.writers.data",
]


def _loaded_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


def test_core_imports_neither_textual_nor_asyncssh() -> None:
    """Every core module imports without pulling in Textual or asyncssh."""
    loaded = _loaded_after("\n".join(f"import {m}" for m in CORE))
    assert "textual" not in loaded
    assert "asyncssh" not in loaded


def test_headless_report_never_imports_textual() -> None:
    """Running `auditor report` (parser and command module) does not import Textual."""
    loaded = _loaded_after("import auditor.__main__, auditor.cli.report\nauditor.__main__.build_parser()")
    assert "textual" not in loaded


def test_headless_plan_never_imports_textual() -> None:
    """Running `auditor plan` (parser, command module and every plan writer) does not import Textual."""
    loaded = _loaded_after(
        "import auditor.__main__, auditor.cli.plan\nauditor.__main__.build_parser()\n"
        "for name in auditor.cli.plan.PLAN_FORMATS: auditor.cli.plan.renderer(name)"
    )
    assert "textual" not in loaded


# -- start-up: what each command loads (issue 16) ---------------------------------------------------

RUN_AND_LIST = """\
import sys
from auditor.__main__ import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as listing:
    listing.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""
"""A fresh interpreter runs one command line through the console entry's ``main`` and lists every
module loaded by then: what the command imported to answer, not what a parser alone would."""

AUDIT_MACHINERY = (
    "asyncssh",
    "textual",
    "auditor.tui.app",
    "auditor.audit.targets",
    "auditor.audit.run",
    "auditor.transport.connector",
    "auditor.transport.runner",
    "auditor.transport.hostkeys",
    "auditor.transport.sshconfig",
    "auditor.simulate.server",
)
"""What only a command that connects needs: the SSH and UI libraries and the code that drives them."""


def _command_loads(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """Run ``auditor ARGV`` in a fresh interpreter: its exit code, stdout and every module it loaded."""
    listing = tmp_path / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, str(listing), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=120,
    )
    assert listing.exists(), done.stderr
    return done.returncode, done.stdout, set(listing.read_text().split())


def _machinery(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == x or m.startswith(x + ".") for x in AUDIT_MACHINERY))


@pytest.fixture
def state(tmp_path: Path) -> dict[str, str]:
    """An environment whose auditor state (history, crash log) lives in ``tmp_path``, with a history of two runs."""
    with History(tmp_path / "auditor" / "history.sqlite") as history:
        history.record(report(host("a"), generated_at="2026-11-20T06:00:00Z"))
        history.record(report(host("a", finding()), generated_at="2026-11-21T06:00:00Z"))
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path), "NO_COLOR": "1"}


NON_CONNECTING = [
    pytest.param(["--help"], 0, "usage: auditor", id="help"),
    pytest.param(["check", "--help"], 0, "usage: auditor check", id="check-help"),
    pytest.param(["compat", "--help"], 0, "usage: auditor compat", id="compat-help"),
    pytest.param(["compat", "--cuda", "12.4"], 0, "550.54.14", id="compat"),
    pytest.param(["check", "-p", "policies/demo.yaml"], 0, "valid: 1 file checked", id="check-policy"),
    pytest.param(
        ["check", "-i", "inventories/example.yaml", "-p", "policies/demo.yaml"], 0, "gpu-a100-01", id="check-inventory"
    ),
    pytest.param(["history"], 0, "inv.yaml", id="history"),
    pytest.param(["diff"], 1, "p/driver.min", id="diff"),
    pytest.param(["knowledge"], 0, "knowledge as of", id="knowledge"),
    pytest.param(["inventory", "-i", "inventories/example.yaml"], 0, "gpu-a100-01", id="inventory"),
]


@pytest.mark.parametrize(("argv", "code", "shown"), NON_CONNECTING)
def test_commands_that_never_connect_load_no_ssh_ui_or_audit_machinery(
    tmp_path: Path, state: dict[str, str], argv: list[str], code: int, shown: str
) -> None:
    """--help, a subcommand's help, compat, check (with and without an inventory), history, diff, knowledge
    and inventory answer, for real, without importing asyncssh, Textual or the code that connects."""
    exit_code, out, loaded = _command_loads(tmp_path, *argv, env=state)
    assert exit_code == code and shown in out, out
    assert _machinery(loaded) == []


@pytest.mark.parametrize("argv", [["check", "-p", "policies/demo.yaml"]], ids=["check-policy"])
def test_reading_a_policy_loads_no_check_and_no_facts_model(tmp_path: Path, argv: list[str]) -> None:
    """`auditor check -p` validates `disable:` ids from the switch table alone (``evaluate.switches``):
    no check module, no facts model."""
    exit_code, _, loaded = _command_loads(tmp_path, *argv)
    assert exit_code == 0
    assert sorted(m for m in loaded if m.startswith(("auditor.evaluate.check", "auditor.facts.model"))) == []


def test_top_level_help_loads_no_command_module(tmp_path: Path) -> None:
    """`auditor --help` lists every command from the door's table: no command module is imported."""
    exit_code, out, loaded = _command_loads(tmp_path, "--help")
    assert exit_code == 0 and "\n    inventory\n" in out and "\n    report    audit hosts" in out
    assert sorted(m for m in loaded if m.startswith(("auditor.cli", "auditor.tui", "auditor.audit"))) == []


def test_probe_local_loads_only_the_standard_library_and_the_probe_runner(tmp_path: Path) -> None:
    """`auditor probe --local` runs the probe with nothing but the door, the probe's assembly and the
    standard library: no third-party package at all (YAML, Rich, packaging, asyncssh, Textual)."""
    exit_code, out, loaded = _command_loads(tmp_path, "probe", "--local")
    assert exit_code == 0 and '"schema": "auditor.facts/1"' in out.replace('":"', '": "')
    bare = _loaded_after("pass")  # what site itself loads here (an editable install's finder)
    third_party = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names) - bare - {"auditor"}
    assert sorted(third_party) == []
    assert sorted(m for m in loaded if m.startswith("auditor.")) == [
        "auditor.__main__",
        "auditor.cli",
        "auditor.cli.probe",
        "auditor.errors",
        "auditor.findings",
        "auditor.probe",
        "auditor.probe.program",
        "auditor.probe.request",
        "auditor.records",
        "auditor.report",
        "auditor.report.exitcodes",
    ]


def test_report_over_an_inventory_loads_neither_rich_nor_the_fleet_format(tmp_path: Path) -> None:
    """`auditor report -i` gets through its start-up (targets, every output path checked) without Rich's
    console and tables (the history listing's) or the simulated fleet's file format: a fleet audit pays
    for neither (issue 16). The report path is refused, so nothing is contacted."""
    missing = tmp_path / "no-such-directory" / "report.json"
    exit_code, _, loaded = _command_loads(
        tmp_path, "report", "-i", "inventories/example.yaml", "--format", f"json:{missing}"
    )
    assert exit_code == 2
    assert "auditor.cli.report" in loaded and "auditor.audit.targets" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] == "rich" or m.startswith("auditor.simulate")) == []
    # nor what only some audits use: a site knowledge overlay, policy files, INI inventories, name suggestions
    unused = ("auditor.knowledge.overlay", "auditor.policy.files", "auditor.inventory.ini_format", "difflib")
    assert sorted(m for m in loaded if m in unused) == []
