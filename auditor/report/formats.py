"""The report formats ``--format FMT[:PATH]`` names, and rendering one of them.

InSpec-style: the option repeats, each occurrence is a format and optionally a file;
at most one goes to stdout. A path may contain ``{timestamp}`` (the run's UTC time,
``20261121T060000Z``) and ``{inventory}`` (the inventory's file name, made safe),
so a cron job can keep one file per run. Any other ``{name}`` is refused, and so is a
``prom`` file whose name does not end in ``.prom`` (node_exporter's textfile collector
reads only those: it would be ignored without a word).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from auditor.errors import InputError, InputErrors
from auditor.records import record
from auditor.report.files import check_writable
from auditor.report.model import Report

PLACEHOLDERS = ("{timestamp}", "{inventory}")
_BRACES = re.compile(r"\{[^{}]*\}|[{}]")
FORMATS = ("table", "json", "md", "html", "junit", "prom", "csv", "k8s-labels", "ansible-inventory")
DESCRIPTIONS = {
    "table": "readable summary: counts, hosts needing action and their main finding (the default)",
    "json": "auditor.report/1, the machine contract",
    "md": "Markdown for tickets and chat",
    "html": "one self-contained page: sortable, filterable host table and findings",
    "junit": "JUnit XML for CI (one testsuite per host, one testcase per check)",
    "prom": "Prometheus textfile for node_exporter's textfile collector",
    "csv": "one row per finding, for spreadsheets",
    "k8s-labels": "a shell script of kubectl label node lines: GPU Feature Discovery's labels and auditor/verdict",
    "ansible-inventory": "a YAML inventory grouping the hosts by verdict, GPU model, compute capability, driver, CUDA",
}


class _Stamped(Protocol):
    """What a path template needs of a document: when it was made and of which inventory (a plan, say)."""

    @property
    def generated_at(self) -> str: ...

    @property
    def inventory(self) -> str: ...


@record
class OutputSpec:
    """One ``--format`` occurrence: a format and a path (None: stdout)."""

    format: str
    path: str | None = None

    def resolve(self, report: Report | _Stamped) -> str | None:
        """The path with ``{timestamp}``/``{inventory}`` filled in for this run."""
        if self.path is None:
            return None
        stamp = report.generated_at.replace("-", "").replace(":", "")
        inventory = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(report.inventory.split(" ")[0]).stem) or "inventory"
        return self.path.replace("{timestamp}", stamp).replace("{inventory}", inventory)


def parse_spec(text: str, formats: Sequence[str] = FORMATS) -> OutputSpec:
    """``json`` or ``json:out/report.json`` (``-`` as the path means stdout); ``formats`` are the names allowed."""
    name, sep, path = text.partition(":")
    name = name.strip().lower()
    if name not in formats:
        import difflib  # only to suggest a format for a misspelled one

        close = difflib.get_close_matches(name, formats, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (choose from {', '.join(formats)})"
        raise InputError(f"--format {text}: unknown format '{name}'{hint}")
    if sep and not path:
        raise InputError(f"--format {text}: empty path after ':' (leave out ':' to write to stdout)")
    unknown = [found for found in _BRACES.findall(path) if found not in PLACEHOLDERS]
    if unknown:
        raise InputError(
            f"--format {text}: unknown placeholder {unknown[0]} (a path may contain {' and '.join(PLACEHOLDERS)})"
        )
    if name == "prom" and path not in ("", "-") and not Path(path).name.endswith(".prom"):
        raise InputError(
            f"--format {text}: node_exporter's textfile collector reads only files ending in .prom and would "
            f"ignore this one; name it {Path(path).name.partition('.')[0] or 'auditor'}.prom"
        )
    return OutputSpec(name, None if not sep or path == "-" else path)


@record
class _Stamp:
    """What a path template needs, before the run: the inventory is known, the time is not."""

    inventory: str
    generated_at: str = "2000-01-01T00:00:00Z"


def check_specs(specs: Sequence[OutputSpec], inventory: str | None = None) -> None:
    """At most one format on stdout, no file named twice, every file's directory writable.

    Checked before any host is contacted, so a typo in a report path is exit 2. A
    directory with ``{inventory}`` in it is checked only when ``inventory`` (the
    report's inventory label) is given; one with ``{timestamp}`` is refused, as it
    would name a directory that does not exist yet, and writers create none.
    """
    stdout = [s.format for s in specs if s.path is None]
    if len(stdout) > 1:
        raise InputError(
            f"--format: only one format may go to stdout, got {', '.join(stdout)}; give the others a path (FMT:PATH)"
        )
    paths = [s.path for s in specs if s.path is not None]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise InputError(f"--format: {', '.join(twice)} named more than once")
    problems: list[InputError] = []
    for spec in specs:
        directory = os.path.dirname(spec.path or "")
        if spec.path is None or ("{inventory}" in directory and inventory is None):
            continue
        if "{timestamp}" in directory:
            problems.append(
                InputError(
                    f"--format {spec.format}:{spec.path}: {{timestamp}} in the directory names a new directory "
                    "every run, and auditor creates none; put {timestamp} in the file name"
                )
            )
            continue
        problem = check_writable(spec.resolve(_Stamp(inventory or "")) or "")
        if problem:
            problems.append(InputError(f"--format {spec.format}:{spec.path}: {problem}"))
    if problems:
        raise InputErrors(problems)


def renderer(name: str, color: bool = False, width: int | None = None) -> Callable[[Report], str]:
    """The function that renders ``name`` (writers are imported only when asked for)."""
    if name == "table":
        from auditor.report.writers.table import render_table

        return lambda report: render_table(report, width=width, color=color)
    if name == "json":
        from auditor.report.writers.json import render_json

        return render_json
    if name == "md":
        from auditor.report.writers.md import render_md

        return render_md
    if name == "html":
        from auditor.report.writers.html import render_html

        return render_html
    if name == "junit":
        from auditor.report.writers.junit import render_junit

        return render_junit
    if name == "prom":
        from auditor.report.writers.prom import render_prom

        return render_prom
    if name == "csv":
        from auditor.report.writers.csv import render_csv

        return render_csv
    if name == "k8s-labels":
        from auditor.report.writers.k8s_labels import render_k8s_labels

        return render_k8s_labels
    if name == "ansible-inventory":
        from auditor.report.writers.ansible_inventory import render_ansible_inventory

        return render_ansible_inventory
    raise ValueError(name)
