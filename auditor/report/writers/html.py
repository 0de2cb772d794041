"""The report as one self-contained HTML file: no external assets, no network.

A summary people can read at a glance (headline, a bar and one card per verdict),
a sortable and filterable host table, and every host's findings below it. The CSS
and the script are inlined from ``report.css``/``report.js`` (package data of ``auditor.report``) and
pinned by a Content-Security-Policy that allows exactly those two (by hash) and
nothing else: no fetch, no images from elsewhere, no other script. Every dynamic
string is escaped with ``html.escape``; the script reads the page's text and never
receives data, so nothing a host reports can become markup or code. Without
JavaScript (a mail client) the page is still complete; only sorting and filtering
are missing.
"""

from __future__ import annotations

import base64
import hashlib
import html
from importlib import resources

from auditor.facts.stack import stack_of
from auditor.findings import Finding, Verdict
from auditor.report.model import HostReport, Report, failing_for, failing_since_text, parse_time, when
from auditor.text import clean, count

BAR_COLORS = {
    Verdict.ERROR: "#8250df",
    Verdict.UNREACHABLE: "#6e7781",
    Verdict.ROLLBACK: "#cf222e",
    Verdict.REBOOT: "#bf8700",
    Verdict.UPGRADE: "#d1590a",
    Verdict.WARN: "#e3b341",
    Verdict.OK: "#1a7f37",
}


NO_FINDING = '<span class="muted">—</span>'


def esc(text: object) -> str:
    """Text (or a number) cleaned (``auditor.text.clean``, newlines kept) and escaped for HTML text and attributes."""
    return html.escape(clean("" if text is None else str(text), 1 << 20, keep_newlines=True), quote=True)


def _asset(name: str) -> str:
    return resources.files("auditor.report").joinpath(name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render_html(report: Report) -> str:
    """The whole report as an HTML document (UTF-8, ends with a newline)."""
    css, js = _asset("report.css"), _asset("report.js")
    csp = (
        f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    title = f"GPU fleet audit: {report.inventory}"
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="auditor (auditor.report/1)">',
        f"<title>{esc(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        *_summary(report),
        *_host_table(report),
        *_host_cards(report),
        _footer(report),
        f"<script>{js}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _summary(report: Report) -> list[str]:
    summary = report.summary()
    total = summary["total"]
    action = len(report.needing_action)
    sub = [f"policy {esc(report.policy)}", esc(when(report)), f"{report.duration_s:.1f}s"]
    if report.run_id is not None:
        sub.append(f"run #{report.run_id}")
    sub.append(esc(report.knowledge.line()))
    needs = "needs" if action == 1 else "need"
    headline = (
        f"<strong>{action}</strong> of {count(total, 'host')} {needs} action"
        if action
        else ("The host is ok" if total == 1 else f"All {total} hosts are ok")
    )
    out = [
        f"<h1>GPU fleet audit: {esc(report.inventory)}</h1>",
        f'<p class="sub">{" · ".join(sub)}</p>',
        f'<p class="headline">{headline}</p>',
    ]
    if not report.complete:
        missing = f" Not audited: {esc(', '.join(report.not_audited))}." if report.not_audited else ""
        out.append(
            f'<div class="banner incomplete"><strong>Incomplete:</strong> the run was interrupted; '
            f"this report is partial.{missing}</div>"
        )
    out += [f'<div class="banner note"><strong>Note:</strong> {esc(note)}</div>' for note in report.notes]
    out.append(_bar(report))
    out.append('<div class="cards" role="group" aria-label="filter by verdict">')
    for verdict in Verdict:
        n = summary[verdict.value]
        zero = " zero" if n == 0 else ""
        out.append(
            f'<button type="button" class="card v-{verdict.value}{zero}" data-verdict="{verdict.value}" '
            f'aria-pressed="false"><span class="n">{n}</span><span class="label">{_label(verdict)}</span></button>'
        )
    out.append("</div>")
    if report.exit is not None:
        out.append(f'<p class="exit">Exit {int(report.exit.code)}: {esc(report.exit.reason)}</p>')
    return out


def _label(verdict: Verdict) -> str:
    return "OK" if verdict is Verdict.OK else verdict.value.capitalize()


def _bar(report: Report) -> str:
    """Verdict proportions as inline SVG (attributes, not inline styles: the CSP forbids those)."""
    summary = report.summary()
    total = summary["total"] or 1
    x = 0.0
    rects = []
    for verdict in Verdict:
        n = summary[verdict.value]
        if not n:
            continue
        width = 1000 * n / total
        rects.append(
            f'<rect x="{x:.2f}" y="0" width="{width:.2f}" height="10" fill="{BAR_COLORS[verdict]}">'
            f"<title>{verdict.value}: {n}</title></rect>"
        )
        x += width
    return (
        '<svg class="bar" viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" '
        f'aria-label="hosts by verdict">{"".join(rects)}</svg>'
    )


def _host_table(report: Report) -> list[str]:
    since = any(h.failing_since for h in report.hosts)
    headers = ["Host", "Verdict", "Main finding", "GPUs", "Driver", "CUDA", "TensorRT", "Groups"]
    if since:
        headers.append("Failing for")
    out = [
        "<h2>Hosts</h2>",
        '<div class="controls" id="controls" hidden>',  # shown by the script: useless without it
        '<input type="search" id="search" placeholder="Filter hosts, versions, findings…" aria-label="filter hosts">',
        '<label><input type="checkbox" id="only-action"> only hosts that need action</label>',
        '<span class="shown" id="shown"></span>',
        "</div>",
        '<div class="table-wrap"><table id="hosts"><thead><tr>',
        *[f'<th scope="col"><button type="button">{h}</button></th>' for h in headers],
        "</tr></thead><tbody>",
    ]
    order = sorted(report.hosts, key=lambda h: (h.verdict.rank, h.name))
    for index, host in enumerate(order):
        stack = stack_of(host.facts)
        cuda = esc(stack.cuda)
        if stack.cuda_driver:
            cuda += f'<div class="muted">driver {esc(stack.cuda_driver)}</div>'
        driver = esc(stack.driver)
        if host.facts is not None and host.facts.driver.mismatch:
            driver += f'<div class="muted">kmod {esc(stack.kernel_module or "?")}</div>'
        live = [f for f in host.findings if not f.waived and f.action.verdict.needs_action]
        more = f' <span class="more">+{len(live) - 1} more</span>' if len(live) > 1 else ""
        cells = [
            f'<td class="host"><a href="#h{index}">{esc(host.name)}</a></td>',
            f'<td data-sort="{host.verdict.rank}"><span class="badge v-{host.verdict.value}">'
            f"{host.verdict.value}</span></td>",
            f'<td class="finding">{esc(host.reason) or NO_FINDING}{more}</td>',
            f"<td>{esc(stack.gpus)}</td>",
            f'<td class="mono">{driver}</td>',
            f'<td class="mono">{cuda}</td>',
            f'<td class="mono">{esc(stack.tensorrt)}</td>',
            f'<td class="groups">{esc(", ".join(host.groups))}</td>',
        ]
        if since:
            cells.append(_since_cell(host, report))
        out.append(f'<tr data-verdict="{host.verdict.value}" data-card="h{index}">{"".join(cells)}</tr>')
    out.append("</tbody></table></div>")
    return out


def _since_cell(host: HostReport, report: Report) -> str:
    if not host.failing_since:
        return '<td class="since" data-sort=""></td>'
    seconds = (parse_time(report.generated_at) - parse_time(host.failing_since)).total_seconds()
    return (
        f'<td class="since" data-sort="{seconds:.0f}" title="{esc(failing_since_text(host, report.generated_at))}">'
        f"{esc(failing_for(host, report.generated_at))}</td>"
    )


def _host_cards(report: Report) -> list[str]:
    order = sorted(report.hosts, key=lambda h: (h.verdict.rank, h.name))
    out = ["<h2>Findings per host</h2>"]
    ok_plain = []
    for index, host in enumerate(order):
        if not host.verdict.needs_action and not host.findings:
            ok_plain.append(f'<span id="h{index}">{esc(host.name)}</span>')
            continue
        out += _card(index, host, report)
    if ok_plain:
        out.append(f'<p class="ok-list"><strong>No findings ({len(ok_plain)}):</strong> {", ".join(ok_plain)}</p>')
    return out


def _card(index: int, host: HostReport, report: Report) -> list[str]:
    stack = stack_of(host.facts)
    meta = [esc(host.address)]
    if host.groups:
        meta.append("groups " + esc(", ".join(host.groups)))
    if stack.os:
        meta.append(esc(stack.os))
    if host.failing_since:
        meta.append("failing " + esc(failing_since_text(host, report.generated_at)))
    out = [
        f'<section class="host-card v-{host.verdict.value}" id="h{index}">',
        f'<h3>{esc(host.name)} <span class="badge v-{host.verdict.value}">{host.verdict.value}</span></h3>',
        f'<p class="meta">{" · ".join(meta)}</p>',
    ]
    if host.error is not None:
        timed_out = " (timed out)" if host.error.timed_out else ""
        out.append(
            f'<p class="error-line"><strong>{esc(host.error.step.value)}{timed_out}:</strong> '
            f"{esc(host.error.message)}</p>"
        )
    if host.findings:
        out += [
            '<table class="findings"><colgroup><col class="c-sev"><col class="c-action"><col class="c-check">'
            '<col class="c-finding"><col class="c-value"><col class="c-value"><col class="c-source"></colgroup>'
            "<thead><tr><th>Severity</th><th>Action</th><th>Check</th><th>Finding</th>"
            "<th>Expected</th><th>Found</th><th>Source</th></tr></thead><tbody>",
            *[_finding_row(f) for f in host.findings],
            "</tbody></table>",
        ]
    out.append("</section>")
    return out


def _finding_row(finding: Finding) -> str:
    tags = "".join(
        f'<span class="tag">{label}</span>'
        for label, on in (("waived", finding.waived), ("could not evaluate", finding.inconclusive))
        if on
    )
    fix = f'<div class="fix">Fix: {esc(finding.remediation)}</div>' if finding.remediation else ""
    if finding.waived and finding.waiver:
        waiver = "; ".join(f"{k}: {v}" for k, v in finding.waiver.items())
        fix += f'<div class="fix">Waiver: {esc(waiver)}</div>'
    return (
        f'<tr><td class="sev sev-{esc(finding.severity.value)}">{esc(finding.severity.value)}</td>'
        f"<td>{esc(finding.action.value)}</td>"
        f'<td class="mono">{esc(finding.rule)}</td>'
        f"<td>{esc(finding.message)}{tags}{fix}</td>"
        f'<td class="mono">{esc(finding.expected)}</td>'
        f'<td class="mono">{esc(finding.actual)}</td>'
        f'<td class="mono muted">{esc(finding.source)}</td></tr>'
    )


def _footer(report: Report) -> str:
    return (
        f"<footer>Generated by auditor at {esc(report.generated_at)} · schema auditor.report/1 · "
        "exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage error, 3 incomplete, "
        "4 internal error, 130 interrupted</footer>"
    )
