"""The report as JUnit XML that CI systems accept (Jenkins xUnit ``junit-10.xsd``).

Mapping (docs/research/anchors-audit.md convention 11):

* ``<testsuites>`` holds one ``<testsuite>`` per host (name = host, hostname = its
  address), never an empty ``<testsuites/>``;
* one ``<testcase>`` per check the host ran (``classname`` = host, ``name`` = check id);
  a finding whose rule is not itself a check id (``X/driver.present`` when the checks
  were ``X/driver.min`` and ``X/driver.max``) belongs to the checks of the same rule
  prefix, and one that matches no check gets a testcase of its own;
* ``<failure>``: a policy violation; ``<error>``: a check that could not be evaluated,
  an unreachable or errored host (one testcase ``host.<step>``), a host the run was
  interrupted before reaching; ``<skipped>``: a waived finding or a check that did
  not apply. Passing checks are empty testcases.

XML is built with ElementTree (which escapes); characters XML 1.0 cannot carry at all
are dropped first, since escaping cannot save them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from auditor.findings import Action, Finding
from auditor.report.model import HostReport, Report
from auditor.text import clean

_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: object) -> str:
    """Text cleaned (``auditor.text.clean``, newlines kept) and without what XML 1.0 cannot carry."""
    return _XML_INVALID.sub("", clean("" if text is None else str(text), 1 << 20, keep_newlines=True))


def _prefix(check: str) -> str:
    return check.rsplit(".", 1)[0]


def findings_by_check(host: HostReport) -> dict[str, list[Finding]]:
    """Every check id (in order) with the findings it produced; orphan findings get their own id.

    Checks a rule switched off are left out: they are reported as not applicable (skipped).
    """
    cases: dict[str, list[Finding]] = {check: [] for check in host.checks}
    switched_off = {check for check, _ in host.not_applicable}
    for finding in host.findings:
        if finding.rule in switched_off and finding.action is Action.NONE:
            continue
        if finding.rule in cases:
            cases[finding.rule].append(finding)
            continue
        siblings = [c for c in host.checks if _prefix(c) == _prefix(finding.rule)]
        for check in siblings:
            cases[check].append(finding)
        if not siblings:
            cases.setdefault(finding.rule, []).append(finding)
    return cases


def _detail(finding: Finding) -> str:
    lines = [
        f"severity: {finding.severity.value}",
        f"action: {finding.action.value}",
        f"expected: {finding.expected or '-'}",
        f"actual: {finding.actual or '-'}",
    ]
    if finding.remediation:
        lines.append(f"remediation: {finding.remediation}")
    if finding.source:
        lines.append(f"source: {finding.source}")
    if finding.waiver:
        lines.append("waiver: " + ", ".join(f"{k}={v}" for k, v in finding.waiver.items()))
    return _x("\n".join(lines))


def _testcase(suite: ET.Element, host: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": _x(host), "name": _x(name), "time": "0"})


def _add_case(suite: ET.Element, host: HostReport, check: str, findings: list[Finding]) -> str:
    """One check's testcase; returns its outcome: pass, failure, error or skipped."""
    case = _testcase(suite, host.name, check)
    live = [f for f in findings if not f.waived and f.action is not Action.NONE]
    violations = [f for f in live if not f.inconclusive]
    unknown = [f for f in live if f.inconclusive]
    waived = [f for f in findings if f.waived]
    info = [f for f in findings if not f.waived and f.action is Action.NONE]
    if violations:
        for f in violations:
            ET.SubElement(case, "failure", {"type": f.action.value, "message": _x(f.message)}).text = _detail(f)
        outcome = "failure"
    elif unknown:
        for f in unknown:
            ET.SubElement(case, "error", {"type": "could-not-evaluate", "message": _x(f.message)}).text = _detail(f)
        outcome = "error"
    elif waived:
        reasons = "; ".join(f"{f.message} (waived)" for f in waived)
        ET.SubElement(case, "skipped", {"type": "waived", "message": _x(reasons)}).text = "\n\n".join(
            _detail(f) for f in waived
        )
        outcome = "skipped"
    else:
        outcome = "pass"
    notes = [f for f in waived if outcome != "skipped"] + info
    if notes:
        ET.SubElement(case, "system-out").text = _x(
            "\n\n".join(f"{f.message}{' (waived)' if f.waived else ''}\n{_detail(f)}" for f in notes)
        )
    return outcome


def _suite(root: ET.Element, host: HostReport, timestamp: str, knowledge_line: str) -> dict[str, int]:
    seconds = (host.timing.connect_s or 0.0) + (host.timing.probe_s or 0.0)
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": _x(host.name), "hostname": _x(host.address), "timestamp": timestamp, "time": f"{seconds:.3f}"},
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (("verdict", host.verdict.value), ("groups", ", ".join(host.groups))):
        ET.SubElement(props, "property", {"name": key, "value": _x(value)})
    ET.SubElement(props, "property", {"name": "knowledge", "value": _x(knowledge_line)})
    if host.failing_since:
        ET.SubElement(props, "property", {"name": "failing_since", "value": _x(host.failing_since)})
    counts = {"tests": 0, "failure": 0, "error": 0, "skipped": 0}
    if host.error is not None:
        case = _testcase(suite, host.name, f"host.{host.error.step.value}")
        message = f"{host.verdict.value} at step {host.error.step.value}: {host.error.message}"
        ET.SubElement(case, "error", {"type": host.verdict.value, "message": _x(message)}).text = _x(host.stderr)
        counts["tests"] += 1
        counts["error"] += 1
    for check, findings in findings_by_check(host).items():
        outcome = _add_case(suite, host, check, findings)
        counts["tests"] += 1
        if outcome != "pass":
            counts[outcome] += 1
    for check, reason in host.not_applicable:
        case = _testcase(suite, host.name, check)
        ET.SubElement(case, "skipped", {"type": "not-applicable", "message": _x(reason)})
        counts["tests"] += 1
        counts["skipped"] += 1
    suite.set("tests", str(counts["tests"]))
    suite.set("failures", str(counts["failure"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", str(counts["skipped"]))
    return counts


def _placeholder_suite(root: ET.Element, name: str, timestamp: str, kind: str, message: str) -> dict[str, int]:
    errors, skipped = (1, 0) if kind == "error" else (0, 1)
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": _x(name),
            "tests": "1",
            "failures": "0",
            "errors": str(errors),
            "skipped": str(skipped),
            "timestamp": timestamp,
            "time": "0.000",
        },
    )
    case = _testcase(suite, name, "host.audited")
    ET.SubElement(case, kind, {"type": "not-audited", "message": _x(message)})
    return {"tests": 1, "failure": 0, "error": errors, "skipped": skipped}


def render_junit(report: Report) -> str:
    """The report as a JUnit XML document (UTF-8, ends with a newline)."""
    timestamp = report.generated_at.removesuffix("Z")  # xs:dateTime without zone, as JUnit writers emit
    root = ET.Element("testsuites", {"name": _x(f"auditor: {report.inventory} (policy {report.policy})")})
    totals = {"tests": 0, "failure": 0, "error": 0, "skipped": 0}
    tallies = [_suite(root, host, timestamp, report.knowledge.line()) for host in report.hosts]
    tallies += [
        _placeholder_suite(root, name, timestamp, "error", "not audited: the run was interrupted first")
        for name in report.not_audited
    ]
    if not tallies:  # CI tools reject an empty <testsuites/>
        tallies.append(_placeholder_suite(root, "auditor", timestamp, "skipped", "no hosts were targeted"))
    for tally in tallies:
        for key in totals:
            totals[key] += tally[key]
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failure"]))
    root.set("errors", str(totals["error"]))
    root.set("time", f"{report.duration_s:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
