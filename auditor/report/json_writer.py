"""``auditor.report/1`` as JSON: the machine contract every other writer mirrors."""

from __future__ import annotations

import json
from typing import Any

from auditor.exitcodes import ExitCode, legend
from auditor.report import SCHEMA, Report


def report_document(report: Report, exit_code: ExitCode | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    return {
        "schema": SCHEMA,
        "generated_at": report.generated_at,
        "inventory": report.inventory,
        "policy": report.policy,
        "duration_s": round(report.duration_s, 3),
        "complete": report.complete,
        "exit_code": None if exit_code is None else int(exit_code),
        "exit_codes": legend(),
        "notes": list(report.notes),
        "summary": report.summary(),
        "hosts": [host.to_json() for host in report.hosts],
    }


def render_json(report: Report, exit_code: ExitCode | None = None) -> str:
    """The report as indented JSON text (ends with a newline)."""
    return json.dumps(report_document(report, exit_code), indent=2, ensure_ascii=False) + "\n"
