"""The core never imports the UI or SSH libraries; the headless path never imports Textual."""

from __future__ import annotations

import subprocess
import sys

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
