"""The report as CSV for spreadsheets: one row per finding, one row for a host without any.

Quoting is the ``csv`` module's (RFC 4180). Every cell is cleaned first
(``auditor.text.clean``: no control character, no line break of any kind, no
bidirectional control), so a cell cannot forge a row for a reader that splits lines
itself. A cell that a spreadsheet would take for a formula (starting with ``=``,
``+``, ``-``, ``@``, also after leading blanks) is prefixed with ``'`` (OWASP's
advice against CSV injection): host-supplied text must never run as a formula in
the reader's spreadsheet.
"""

from __future__ import annotations

import csv
import io

from auditor.facts.stack import stack_of
from auditor.findings import Finding
from auditor.report.model import HostReport, Report
from auditor.text import clean

COLUMNS = (
    "host",
    "address",
    "groups",
    "verdict",
    "failing_since",
    "gpus",
    "driver",
    "cuda",
    "cuda_driver",
    "cudnn",
    "tensorrt",
    "error_step",
    "error",
    "rule",
    "severity",
    "action",
    "waived",
    "inconclusive",
    "message",
    "expected",
    "actual",
    "remediation",
    "source",
    "knowledge",  # how current the knowledge behind the verdict is (and any site overlay), on every row
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows as text: cleaned, formulas neutralised."""
    text = "" if value is None else clean(str(value), 1 << 20)
    return "'" + text if text.lstrip().startswith(_FORMULA_START) else text


def _host_cells(host: HostReport) -> list[object]:
    stack = stack_of(host.facts)
    return [
        host.name,
        host.address,
        " ".join(host.groups),
        host.verdict.value,
        host.failing_since,
        stack.gpus,
        stack.driver,
        stack.cuda,
        stack.cuda_driver,
        stack.cudnn,
        stack.tensorrt,
        host.error.step.value if host.error else None,
        host.error.message if host.error else None,
    ]


def _finding_cells(finding: Finding | None) -> list[object]:
    if finding is None:
        return [None] * 10
    return [
        finding.rule,
        finding.severity.value,
        finding.action.value,
        str(finding.waived).lower(),
        str(finding.inconclusive).lower(),
        finding.message,
        finding.expected,
        finding.actual,
        finding.remediation,
        finding.source,
    ]


def render_csv(report: Report) -> str:
    """Header row, then rows in host order (CRLF line ends, as RFC 4180 says)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for host in report.hosts:
        base = _host_cells(host)
        for finding in host.findings or (None,):
            writer.writerow([cell(v) for v in [*base, *_finding_cells(finding), report.knowledge.line()]])
    for name in report.not_audited:
        row: list[object] = [name, None, None, None, None, None, None, None, None, None, None]
        row += ["interrupted", "not audited: the run was interrupted first", *_finding_cells(None)]
        row.append(report.knowledge.line())
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue()
