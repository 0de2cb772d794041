"""``auditor.report/1`` as JSON: the machine contract every other writer mirrors.

Fields are only ever added to this schema, never renamed or removed; a change that
breaks readers gets ``auditor.report/2``. ``exit_code`` and ``exit`` say how the run
ended and why, ``exit_codes`` what every code means, so a script reading the file
needs no other documentation.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.report.exitcodes import ExitCode, legend
from auditor.report.model import SCHEMA, Report


def report_document(report: Report, exit_code: ExitCode | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data (``exit_code`` overrides ``report.exit``)."""
    code = exit_code if exit_code is not None else (report.exit.code if report.exit else None)
    return {
        "schema": SCHEMA,
        "generated_at": report.generated_at,
        "inventory": report.inventory,
        "policy": report.policy,
        "duration_s": round(report.duration_s, 3),
        "complete": report.complete,
        "run_id": report.run_id,
        "exit_code": None if code is None else int(code),
        "exit": report.exit.to_json() if report.exit else None,
        "exit_codes": legend(),
        "notes": list(report.notes),
        "knowledge": report.knowledge.to_json(),
        "summary": report.summary(),
        "not_audited": list(report.not_audited),
        "hosts": [host.to_json() for host in report.hosts],
    }


def render_json(report: Report, exit_code: ExitCode | None = None) -> str:
    """The report as indented, strict JSON text (ends with a newline).

    ``allow_nan=False``: a non-finite number raises ``ValueError`` instead of becoming
    ``Infinity``, which strict JSON parsers reject (the facts reader admits none).
    """
    return json.dumps(report_document(report, exit_code), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
