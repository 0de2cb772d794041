"""Every writer renders the one Report value, escapes what hosts send, and means what CI tools read."""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from prometheus_client.parser import text_string_to_metric_families

from auditor.facts.model import Facts
from auditor.findings import Action, Severity
from auditor.report.exitcodes import ExitCode
from auditor.report.formats import FORMATS, renderer
from auditor.report.history import History
from auditor.report.model import HostReport, Report, parse_time
from auditor.report.thresholds import decide
from auditor.report.writers.csv import render_csv
from auditor.report.writers.html import render_html
from auditor.report.writers.json import (
    JsonText,
    render_json,
    report_document,
    shared_documents,
    strict_json,
    written_document,
)
from auditor.report.writers.junit import render_junit
from auditor.report.writers.md import md, render_md
from auditor.report.writers.prom import render_prom
from auditor.report.writers.table import render_table
from tests.support.paths import ROOT
from tests.support.reports import HOSTILE, finding, host, parse_xml, report, unreachable

XSD_ENV = "AUDITOR_JUNIT_XSD"


def hostile_report() -> Report:
    """Markup-laden strings in every field a host or a policy can fill."""
    bad = finding(f"p/{HOSTILE}", message=HOSTILE, remediation=HOSTILE, source=HOSTILE)
    evil = host(HOSTILE, bad, groups=(HOSTILE,))
    down = unreachable("down", message=HOSTILE + "\x00\x1b[31m")
    return report(evil, down, inventory=HOSTILE, policy=HOSTILE, notes=(HOSTILE,))


def with_exit(r: Report) -> Report:
    return dataclasses.replace(r, exit=decide(r.hosts))


# ------------------------------------------------------------------ every format


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_renders_the_demo_and_names_every_host(name: str, demo_report: Report) -> None:
    """All seven writers render the demo report (every verdict) and none loses a host."""
    text = renderer(name)(with_exit(demo_report))
    assert text.endswith("\n")
    for host_report in demo_report.hosts:
        assert host_report.name in text


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_says_when_a_run_was_interrupted(name: str) -> None:
    """A run stopped before a host finished: every writer names the host not audited (prom: complete 0)."""
    assert renderer(name)(with_exit(report()))  # no hosts at all is still a report
    partial = renderer(name)(
        dataclasses.replace(
            report(host("early-1")), complete=False, not_audited=("late-1",), exit=decide([], interrupted=True)
        )
    )
    if name == "prom":
        assert 'auditor_last_run_complete{inventory="inv.yaml"} 0.0' in partial
    else:
        assert "early-1" in partial and "late-1" in partial


# ------------------------------------------------------------------ json


def test_json_carries_the_exit_decision_and_failing_since(demo_report: Report) -> None:
    """The JSON report states its exit code, why, the thresholds used, and every code's meaning."""
    r = with_exit(demo_report)
    doc = json.loads(json.dumps(report_document(r)))
    assert doc["schema"] == "auditor.report/1" and doc["complete"] is True
    assert (
        doc["exit_code"] == 1 and doc["exit"]["fail_on"] == "upgrade,critical" and doc["exit"]["unreachable"] == "fail"
    )
    assert set(doc["exit"]["failing_hosts"]) == set(r.exit.failing if r.exit else ())
    assert "h100-serve-03" in doc["exit"]["incomplete_hosts"]
    assert doc["exit_codes"]["3"].startswith("audit incomplete")
    assert all("failing_since" in h for h in doc["hosts"])


def test_json_report_is_the_standard_librarys_indented_json_with_each_hosts_facts_as_the_reader_kept_them(
    demo_report: Report,
) -> None:
    """The JSON report is ``json.dumps(indent=2, ensure_ascii=False)`` of the report's document, byte for
    byte, except that each host's ``facts`` is the text ``Facts.document`` keeps (the probe's answer,
    strict JSON, one line), written as it is instead of decoded and indented again; it decodes to the
    same document."""
    r = with_exit(demo_report)
    document = report_document(r)
    text = render_json(r)
    assert json.loads(text) == document
    marked = dict(
        document, hosts=[dict(h, facts=f"@facts {h['name']}@") if h["facts"] else h for h in document["hosts"]]
    )
    expected = json.dumps(marked, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    for h in r.hosts:
        if h.facts is not None:
            expected = expected.replace(f'"@facts {h.name}@"', h.facts.document.decode("utf-8"))
    assert text == expected
    assert any(h["facts"] for h in document["hosts"]) and any(h["error"] for h in document["hosts"])
    facts_lines = [line for line in text.splitlines() if line.lstrip().startswith('"facts": {')]
    assert len(facts_lines) == sum(h.facts is not None for h in r.hosts)


def test_inside_shared_documents_one_report_is_built_once_and_a_changed_one_anew(demo_report: Report) -> None:
    """``shared_documents``: the same report object (and exit code) gets the very same written document,
    built once; another report, another exit code, or any call outside the block gets a document of its
    own, equal to what it would have been alone. ``report_document`` is always a new, decoded one."""
    r = with_exit(demo_report)
    alone = written_document(r)
    with shared_documents():
        first = written_document(r)
        assert written_document(r) is first and json_text(first) == json_text(alone)
        recorded = dataclasses.replace(r, run_id=7)
        assert written_document(recorded) is not first and written_document(recorded)["run_id"] == 7
        assert written_document(recorded) is written_document(recorded)
        overridden = written_document(r, ExitCode.INTERNAL)
        assert overridden is not first and overridden["exit_code"] == 4
        assert report_document(r) is not report_document(r)
    assert written_document(r) is not first and json_text(written_document(r)) == json_text(alone)
    assert json.loads(json_text(alone)) == report_document(r)


def json_text(document: dict[str, object]) -> str:
    return strict_json(document)


def test_the_history_and_the_json_report_share_one_document_and_write_what_they_wrote_apart(
    tmp_path: Path, demo_report: Report
) -> None:
    """Recording a run and then rendering its JSON inside ``shared_documents`` builds every host's
    part once (``HostReport.to_json`` runs once a host), never decodes a host's facts (both write the
    text ``Facts.document`` keeps), and both write byte for byte what each wrote alone."""
    r = with_exit(demo_report)
    with History(tmp_path / "alone.sqlite") as history:
        stored = history.record(r)
        text_alone = render_json(stored)
        blob_alone = history.db.execute("SELECT report FROM runs").fetchone()[0]
    calls: list[str] = []
    decoded: list[str] = []
    to_json = HostReport.to_json
    raw = Facts.raw

    def counted(self: HostReport, facts: Any = None) -> dict[str, object]:
        calls.append(self.name)
        return to_json(self, facts)

    def counted_raw(self: Facts) -> dict[str, object]:
        decoded.append(self.host.hostname or "?")
        return raw.fget(self)  # type: ignore[no-any-return,misc]

    with pytest.MonkeyPatch.context() as patch, shared_documents(), History(tmp_path / "shared.sqlite") as history:
        patch.setattr(HostReport, "to_json", counted)
        patch.setattr(Facts, "raw", property(counted_raw))
        shared = history.record(r)
        text = render_json(shared)
        blob = history.db.execute("SELECT report FROM runs").fetchone()[0]
    assert sorted(calls) == sorted(h.name for h in r.hosts)
    assert decoded == []
    assert shared == stored and text == text_alone
    assert zlib.decompress(blob) == zlib.decompress(blob_alone)
    assert json.loads(zlib.decompress(blob)) == report_document(stored)


@pytest.mark.parametrize(
    "value",
    [
        {"a": JsonText('{"b": [1, 2.5, "x"]}'), "c": [JsonText("[]"), JsonText('"\\u00e9"')]},
        [JsonText("{}"), {"n": None, "t": JsonText("true")}],
        JsonText('{"only": "text"}'),
        {"empty": {}, "facts": JsonText('{"k": {"deep": [null]}}'), "list": []},
    ],
)
def test_json_text_is_written_as_it_is_where_the_decoded_value_would_be_indented(value: object) -> None:
    """A ``JsonText`` anywhere (a member, an item, the whole value) is its own text in the output,
    and the rest is the standard library's indented JSON; decoding the output gives the value
    with each ``JsonText`` decoded. A value ``strict_json`` leaves to ``json.dumps`` (a tuple in
    it) comes out as the fully decoded value, indented."""
    text = strict_json(value)
    for piece in _json_texts(value):
        assert piece.text in text
    assert json.loads(text) == _decode_texts(value)
    unusual = {"tuple": (1, 2), "value": value}
    assert strict_json(unusual) == json.dumps(
        {"tuple": [1, 2], "value": _decode_texts(value)}, indent=2, ensure_ascii=False
    )


def _json_texts(value: object) -> list[JsonText]:
    if isinstance(value, JsonText):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [t for item in items for t in _json_texts(item)]


def _decode_texts(value: object) -> object:
    if isinstance(value, JsonText):
        return json.loads(value.text)
    if isinstance(value, dict):
        return {k: _decode_texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_texts(v) for v in value]
    return value


json_keys = st.text(max_size=6) | st.integers() | st.booleans() | st.none() | st.floats()
json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('"\\\n\x00\u2028\ud800'), max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), children, max_size=4)
        | st.dictionaries(json_keys, children, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=1000)
@given(json_like)
def test_json_text_is_what_the_standard_library_writes_or_fails_the_same(value: object) -> None:
    """Any value: the same text as ``json.dumps(indent=2, ensure_ascii=False, allow_nan=False)``, or its error."""
    try:
        expected = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            strict_json(value)
    else:
        assert strict_json(value) == expected


# ------------------------------------------------------------------ table


def test_table_lists_hosts_needing_action_with_their_main_finding(demo_report: Report) -> None:
    """The terminal table: counts, each host needing action with its reason, ok hosts by name."""
    text = render_table(with_exit(demo_report), width=100)
    assert "Needs action (20)" in text and "OK (7): " in text
    assert re.search(r"ROLLBACK\s+a10-infer-01\s+NVIDIA driver 550.54.14 is on the deny list", text)
    assert "unreachable 2" in text and text.rstrip().endswith("4 hosts not fully evaluated")
    assert all(line == line.rstrip() for line in text.splitlines())


def test_table_prints_host_strings_literally() -> None:
    """Rich markup in a host name or message is shown, never interpreted."""
    text = render_table(report(host("[bold red]x[/]", finding(message="[link=http://x.test]y[/link]"))))
    assert "[bold red]x[/]" in text and "[link=http://x.test]y[/link]" in text


def test_table_counts_ok_hosts_beyond_a_dozen() -> None:
    """A large healthy fleet does not flood the table: twelve names, then a count."""
    text = render_table(report(*(host(f"gpu-{i:03}") for i in range(40))))
    assert "OK (40): gpu-000," in text and "and 28 more" in text and "gpu-039" not in text


# ------------------------------------------------------------------ markdown


def _md_tokens(text: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    out = []
    for token in tokens:
        out.append(token.type)
        out += [child.type for child in token.children or []]
    return out


def test_markdown_escapes_everything_a_host_sends() -> None:
    """No raw HTML, link, image or code span comes from host text, and table rows keep their cells."""
    text = render_md(with_exit(hostile_report()))
    types = _md_tokens(text)
    assert "html_inline" not in types and "html_block" not in types
    assert "link_open" not in types and "image" not in types
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| host | verdict |"))
    rows = [line for line in lines if line.startswith("| ") and "evil" in line]
    unescaped = re.compile(r"(?<!\\)\|")
    assert len(rows) == 2 and all(len(unescaped.findall(row)) == header.count("|") for row in rows)


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [("# heading", "# heading"), ("- item", "- item"), ("1. first", "1. first"), ("535.104.05", "535.104.05")],
)
def test_markdown_line_starts_stay_text(raw: str, rendered: str) -> None:
    """Text that would start a heading or a list at the beginning of a line renders as itself."""
    html = MarkdownIt("commonmark").render(md(raw))
    assert html == f"<p>{rendered}</p>\n"
    assert md("535.104.05") == "535.104.05"  # versions stay readable in the raw text


def test_markdown_lists_needs_action_then_findings_then_ok(demo_report: Report) -> None:
    """The Markdown follows the table: headline, counts, needs action, findings per host, ok hosts."""
    text = render_md(with_exit(demo_report))
    assert text.startswith("# GPU fleet audit: demo-fleet (simulated)\n")
    assert "**20 of 27 hosts need action**" in text
    order = [text.index(s) for s in ("## Needs action", "## Findings per host", "## OK (7)", "Exit 1:")]
    assert order == sorted(order)
    assert "- **critical · rollback** `fleet-driver/driver.deny`" in text


# ------------------------------------------------------------------ html


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: dict[str, str] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._current = tag

    def handle_endtag(self, tag: str) -> None:
        self._current = None

    def handle_data(self, data: str) -> None:
        if self._current in ("script", "style"):
            self.data[self._current] = self.data.get(self._current, "") + data


def test_html_escapes_everything_and_runs_only_its_own_script() -> None:
    """Host text never becomes an element; one script, one style, both pinned by the CSP hash."""
    text = render_html(with_exit(hostile_report()))
    parser = _Elements()
    parser.feed(text)
    tags = [t for t, _ in parser.tags]
    assert tags.count("script") == 1 and tags.count("style") == 1
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    csp = next(a["content"] for t, a in parser.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp
    for kind in ("script", "style"):
        digest = base64.b64encode(hashlib.sha256(parser.data[kind].encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in csp


def test_html_is_self_contained() -> None:
    """No external asset or link: nothing to fetch when the file is opened."""
    text = render_html(with_exit(hostile_report()))
    parser = _Elements()
    parser.feed(text)
    for tag, attrs in parser.tags:
        assert "src" not in attrs, tag
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href
    assert "http://x.test" in text  # the hostile text is shown, as text


def test_html_table_is_sortable_and_filterable(demo_report: Report) -> None:
    """Every host is a row with its verdict for the filter, sortable headers, and a findings card."""
    text = render_html(with_exit(demo_report))
    parser = _Elements()
    parser.feed(text)
    rows = [a for t, a in parser.tags if t == "tr" and a.get("data-verdict")]
    assert len(rows) == len(demo_report.hosts)
    assert {a["data-verdict"] for a in rows} == {h.verdict.value for h in demo_report.hosts}
    header_buttons = [a for t, a in parser.tags if t == "button" and a.get("type") == "button"]
    assert len(header_buttons) >= 8 + 7  # column headers and one card per verdict
    cards = {a.get("id") for t, a in parser.tags if t == "section"}
    assert {a["data-card"] for a in rows if a["data-verdict"] != "ok"} <= cards
    assert 'id="search"' in text and 'id="only-action"' in text


# ------------------------------------------------------------------ junit


def junit_schema_path() -> Path | None:
    """junit-10.xsd from $AUDITOR_JUNIT_XSD, else where .ci/run puts it."""
    candidates = [os.environ.get(XSD_ENV), str(ROOT / ".ci" / "cache" / "junit-10.xsd")]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def junit_schema() -> object:
    """The Jenkins xUnit JUnit schema; CI must have it (.ci/run fetches it), a laptop may skip."""
    import xmlschema

    path = junit_schema_path()
    if path is None:
        message = (
            f"junit-10.xsd not found: set {XSD_ENV} or run the XSD lines of .ci/run "
            "(it comes from pytest's sdist: testing/example_scripts/junit-10.xsd)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return xmlschema.XMLSchema(str(path))


@pytest.mark.parametrize("case", ["demo", "hostile", "empty", "interrupted"])
def test_junit_validates_against_the_jenkins_schema(case: str, junit_schema: object, demo_report: Report) -> None:
    """The JUnit XML of every kind of report is valid against junit-10.xsd."""
    values = {
        "demo": lambda: demo_report,
        "hostile": hostile_report,
        "empty": report,
        "interrupted": lambda: dataclasses.replace(demo_report, complete=False, not_audited=("late-1", "late-2")),
    }
    text = render_junit(with_exit(values[case]()))
    junit_schema.validate(text)  # type: ignore[attr-defined]
    root = parse_xml(text)
    assert root.tag == "testsuites" and len(root) >= 1  # never an empty <testsuites/>


def test_the_schema_check_is_not_vacuous(junit_schema: object) -> None:
    """The validator rejects what Jenkins rejects: a testsuite without its required counts."""
    import xmlschema

    broken = re.sub(r'(<testsuite [^>]*?) tests="\d+"', r"\1", render_junit(report(host("gpu-1"))))
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        junit_schema.validate(broken)  # type: ignore[attr-defined]


def test_checks_a_rule_switched_off_are_skipped_as_not_applicable(demo_report: Report) -> None:
    """The demo's trt8 rule switches driver.eol off on edge hosts: one skipped testcase, not a pass."""
    edge = next(h for h in demo_report.hosts if h.name == "t4-edge-01")
    assert [check for check, _ in edge.not_applicable] == ["driver.eol"]
    assert "switched off by rule 'trt8'" in edge.not_applicable[0][1]
    suite = next(s for s in parse_xml(render_junit(with_exit(demo_report))) if s.get("name") == "t4-edge-01")
    cases = [c for c in suite if c.get("name") == "driver.eol"]
    assert len(cases) == 1 and cases[0][0].tag == "skipped" and cases[0][0].get("type") == "not-applicable"


def test_junit_maps_findings_to_failure_error_and_skipped() -> None:
    """Violation -> failure, could not evaluate -> error, waived or not applicable -> skipped, pass -> empty."""
    h = host(
        "gpu-1",
        finding("p/driver.min"),
        finding("p/cuda.present", Action.INVESTIGATE, Severity.MEDIUM, message="unreadable", inconclusive=True),
        finding("p/tensorrt.max", Action.ROLLBACK, waived=True, waiver={"owner": "ops", "expires": "2027-01-01"}),
        checks=("driver.status", "p/driver.min", "p/cuda.min", "p/tensorrt.max"),
        not_applicable=(("p/cudnn.min", "cuDNN is optional and absent"),),
    )
    root = parse_xml(render_junit(report(h, unreachable("down"))))
    suites = {s.get("name"): s for s in root}
    cases = {c.get("name"): c for c in suites["gpu-1"]}
    assert cases["p/driver.min"][0].tag == "failure" and cases["p/driver.min"][0].get("type") == "upgrade"
    assert cases["p/cuda.min"][0].tag == "error" and cases["p/cuda.min"][0].get("type") == "could-not-evaluate"
    assert cases["p/tensorrt.max"][0].tag == "skipped" and "waived" in (cases["p/tensorrt.max"][0].get("message") or "")
    assert cases["p/cudnn.min"][0].tag == "skipped" and cases["p/cudnn.min"][0].get("type") == "not-applicable"
    assert len(cases["driver.status"]) == 0  # a pass
    counts = {k: suites["gpu-1"].get(k) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "5", "failures": "1", "errors": "1", "skipped": "2"}
    down = suites["down"]
    assert down.get("errors") == "1" and down[-1].get("name") == "host.connect"
    assert down[-1][0].get("type") == "unreachable" and "connection refused" in (down[-1][0].get("message") or "")
    assert root.get("tests") == "6" and root.get("failures") == "1" and root.get("errors") == "2"


def test_junit_findings_without_their_own_check_join_their_rule() -> None:
    """A missing component (rule X.present) fails the X.min/X.max checks; the driver mismatch fails driver.status."""
    h = host(
        "gpu-1",
        finding("p/tensorrt.present", message="TensorRT is required but not installed"),
        finding("driver.mismatch", Action.REBOOT, Severity.CRITICAL, message="mismatch"),
        checks=("driver.status", "gpu.visible", "p/tensorrt.min", "p/tensorrt.max"),
    )
    root = parse_xml(render_junit(report(h)))
    failing = {c.get("name") for c in root[0] if len(c) and c[0].tag == "failure"}
    assert failing == {"driver.status", "p/tensorrt.min", "p/tensorrt.max"}


def test_junit_drops_characters_xml_cannot_carry() -> None:
    """NUL and escape characters in a host's message cannot make the XML unparsable."""
    text = render_junit(report(unreachable("down", message="bad\x00\x1bbytes")))
    assert parse_xml(text)[0][-1][0].get("message") == "unreachable at step connect: badbytes"


# ------------------------------------------------------------------ prometheus


def test_prom_parses_with_consistent_help_and_type_and_no_timestamps(demo_report: Report) -> None:
    """Every family has HELP and TYPE once; no sample carries a timestamp; last run time is the report's."""
    text = render_prom(with_exit(demo_report))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert text.count("# HELP auditor_host_verdict ") == 1 and text.count("# TYPE auditor_host_verdict gauge") == 1
    for family in families.values():
        assert family.documentation
        for sample in family.samples:
            assert sample.timestamp is None
    last = families["auditor_last_run_timestamp_seconds"].samples[0]
    assert last.value == parse_time(demo_report.generated_at).timestamp()
    assert last.labels == {"inventory": "demo-fleet (simulated)"}


def test_prom_has_verdict_finding_and_version_series_per_host(demo_report: Report) -> None:
    """One verdict state per host, one series per finding, the stack as info labels."""
    families = {f.name: f for f in text_string_to_metric_families(render_prom(with_exit(demo_report)))}
    verdict = {s.labels["host"]: s.labels["verdict"] for s in families["auditor_host_verdict"].samples if s.value == 1}
    assert verdict == {h.name: h.verdict.value for h in demo_report.hosts}
    deny = [s for s in families["auditor_finding"].samples if s.labels["rule"] == "fleet-driver/driver.deny"]
    assert deny and deny[0].labels["host"] == "a10-infer-01" and deny[0].labels["severity"] == "critical"
    info = {s.labels["host"]: s.labels for s in families["auditor_host_stack_info"].samples}
    assert info["a10-infer-01"]["driver"] == "550.54.14" and info["a10-infer-01"]["tensorrt"] == "10.3.0.26"
    assert info["t4-edge-02"]["cuda"] == "11.4" and info["t4-edge-02"]["cuda_driver"] == "11.4"


def test_prom_escapes_label_values() -> None:
    """Quotes and backslashes in a host's name survive as the same label value; its newline is cleaned to a space."""
    families = {f.name: f for f in text_string_to_metric_families(render_prom(hostile_report()))}
    hosts = {s.labels["host"] for s in families["auditor_host_needs_action"].samples}
    assert HOSTILE.replace("\n", " ") in hosts


# ------------------------------------------------------------------ csv


def test_csv_has_a_row_per_finding_and_defuses_formulas() -> None:
    """Hosts with findings get a row each, hosts without one row; formula-looking cells are text."""
    r = report(
        host("gpu-1", finding("p/driver.min"), finding("p/cuda.min", message='=HYPERLINK("http://x")')),
        host("@gpu-2"),
    )
    rows = list(csv.DictReader(io.StringIO(render_csv(r))))
    assert [row["host"] for row in rows] == ["gpu-1", "gpu-1", "'@gpu-2"]
    assert rows[1]["message"] == '\'=HYPERLINK("http://x")' and rows[2]["rule"] == ""
    assert rows[0]["driver"] == "535.104.05" and rows[0]["verdict"] == "upgrade"


def test_facts_text_that_may_not_be_strict_json_goes_the_decoded_way(tmp_path: Path) -> None:
    """Facts whose text holds ``NaN`` or ``Infinity`` (in a string, here) are decoded and indented like
    any value, so a number strict JSON lacks could only ever raise (that host's error row), never
    reach the report; the others are written as their text. The history stores both, and reads
    back the document."""
    plain = host("plain-01")
    assert plain.facts is not None
    named = dataclasses.replace(
        plain.facts, document=plain.facts.document.replace(b'"schema":', b'"note": "NaN and Infinity", "schema":', 1)
    )
    odd = dataclasses.replace(host("odd-01"), facts=named)
    r = report(plain, odd)
    text = render_json(r)
    assert json.loads(text) == report_document(r)
    assert plain.facts.document.decode() in text and named.document.decode() not in text
    assert '"note": "NaN and Infinity"' in text
    with History(tmp_path / "history.sqlite") as history:
        stored = history.record(r)
        assert [h.verdict for h in stored.hosts] == [h.verdict for h in r.hosts]
        assert history.document(stored.run_id or 0) == report_document(stored)
