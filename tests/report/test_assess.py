"""A host whose probe ran but whose output was unusable keeps the start of that output, escaped, in its report."""

from __future__ import annotations

import json

from auditor.findings import Verdict
from auditor.inventory import Host
from auditor.policy.model import EMPTY_POLICY
from auditor.report.assess import OUTPUT_EXCERPT, assess
from auditor.text import escape_bytes
from auditor.transport.outcome import AuditStep, HostError, ProbeOutcome

HOST = Host("gpu-01", "10.0.0.1")


def test_unusable_output_is_kept_escaped_with_the_stderr() -> None:
    """Output that is not UTF-8 is a parse error whose report shows the bytes: ESC, NUL and 0xff as escapes."""
    outcome = ProbeOutcome(stdout=b"\x1b[31mSegfault\x00\xff{", stderr=b"core dumped\n", exit_status=0)
    report = assess(HOST, outcome, EMPTY_POLICY)
    assert report.verdict is Verdict.ERROR and report.error is not None and report.error.step is AuditStep.PARSE
    assert report.output == "\\x1b[31mSegfault\\x00\\xff{"
    assert report.stderr == "core dumped\n"
    assert json.loads(json.dumps(report.to_json()))["output"] == report.output


def test_a_probe_that_exited_nonzero_keeps_what_it_printed() -> None:
    """A crashed probe's partial output is kept too; a host that was never reached has none."""
    crashed = assess(HOST, ProbeOutcome(stdout=b'{"schema": "audi', exit_status=1), EMPTY_POLICY)
    assert crashed.error is not None and crashed.error.step is AuditStep.PROBE and crashed.output == '{"schema": "audi'
    refused = assess(HOST, ProbeOutcome(error=HostError(AuditStep.CONNECT, "refused")), EMPTY_POLICY)
    assert refused.output == "" and refused.to_json()["output"] is None


def test_the_excerpt_is_cut_and_says_how_much_there_was() -> None:
    """Megabytes of garbage keep the first OUTPUT_EXCERPT bytes and the total size."""
    report = assess(HOST, ProbeOutcome(stdout=b"x" * 3_000_000, exit_status=0), EMPTY_POLICY)
    assert report.output == "x" * OUTPUT_EXCERPT + "… (cut: 3,000,000 bytes in all)"


def test_escape_bytes_shows_line_forgers_and_bidi_controls_as_escapes() -> None:
    """CR, U+2028 and U+202E would forge or reorder a line: each shows as its escape; newlines and tabs stay."""
    data = "ok\tline\r\nnext\u2028forged\u202eevil\n".encode()
    assert escape_bytes(data) == "ok\tline\\r\nnext\\u2028forged\\u202eevil\n"
