"""The report as Markdown (CommonMark + GitHub tables) for tickets, chat and mail.

Laid out like the terminal table: counts, the hosts needing action with their main
finding, then every finding per host with expected/actual, remediation and source,
then the ok hosts. Every dynamic string is cleaned (``auditor.text.clean``: no control
character, line separator or bidirectional control) and escaped (``md``): Markdown
punctuation is backslash-escaped, ``|`` cannot end a table cell, and anything a
renderer would turn into a link by itself (GitHub's extended autolinks: ``https://``,
``www.``, e-mail addresses) is put in a code span, so a host cannot inject links,
images, HTML or table structure into a ticket.
"""

from __future__ import annotations

import re

from auditor.findings import Finding
from auditor.report.model import HostReport, Report, failing_for, failing_since_text, host_columns, verdict_counts, when
from auditor.text import clean, count

# The ASCII punctuation that can start markup anywhere in a line: emphasis, code spans,
# links and images ([ and ! need the bracket), raw HTML and autolinks (<), entities (&),
# strikethrough (~), table cells (|) and escapes themselves. Escaping only these keeps
# versions and paths readable in the raw text (535.104.05, not 535\.104\.05).
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
# What starts a block only at the beginning of a line: a heading ("# "), a bullet ("- ",
# "+ "), an ordered item ("1. ", "1) ") or a setext underline ("==="). ">" and "*" are
# already escaped everywhere. "535.104.05" is no list item: the marker needs a space.
_LEADING = re.compile(r"^(#+(?=\s|$)|[-+](?=\s|$)|=+(?=\s*$)|\d{1,9}(?=[.)](?:\s|$)))")


# What GitHub (and other GFM renderers) link without any markup: a scheme and "://",
# "www.", or an e-mail address. Such a word goes into a code span, which is never a link.
_LINKABLE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]{1,31}://|www\.)\S+|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.IGNORECASE
)


def md(text: str | None) -> str:
    """``text`` safe inside Markdown prose and table cells, mid-line or at a line's start.

    Cleaned (one line: line breaks become spaces), punctuation escaped, link-like words
    in code spans (``|`` and backticks in them percent-encoded, as in a URL).
    """
    cleaned = clean(text or "", 1 << 20)
    out, last = [], 0
    for match in _LINKABLE.finditer(cleaned):
        out.append(_escaped(cleaned[last : match.start()]))
        out.append("`" + match.group(0).replace("|", "%7C").replace("`", "%60") + "`")
        last = match.end()
    out.append(_escaped(cleaned[last:]))
    escaped = "".join(out)
    # "1. " must become "1\. " (the marker is the dot); "#", "-", "+", "=" get a leading "\".
    return _LEADING.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), escaped)


def _escaped(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def code(text: str | None) -> str:
    """``text`` as a code span (literal inside), or escaped text if it holds a backtick or a pipe."""
    cleaned = clean(text or "", 1 << 20)
    if not cleaned:
        return ""
    return md(cleaned) if "`" in cleaned or "|" in cleaned else f"`{cleaned}`"


def _finding_line(finding: Finding) -> list[str]:
    head = f"**{finding.severity.value} · {finding.action.value}** {code(finding.rule)}: {md(finding.message)}"
    tags = [tag for tag, on in (("waived", finding.waived), ("could not evaluate", finding.inconclusive)) if on]
    if tags:
        head += f" _({', '.join(tags)})_"
    lines = [f"- {head}"]
    details = []
    if finding.expected or finding.actual:
        details.append(f"expected {md(finding.expected or '?')}, found {md(finding.actual or '?')}")
    if finding.remediation:
        details.append(f"fix: {md(finding.remediation)}")
    if finding.waived and finding.waiver:
        details.append("waiver: " + md(", ".join(f"{k} {v}" for k, v in finding.waiver.items())))
    if finding.source:
        details.append(f"source: {md(finding.source)}")
    lines += [f"  - {d}" for d in details]  # a nested list: renders the same everywhere
    return lines


def render_md(report: Report) -> str:
    """The whole report as one Markdown document (ends with a newline)."""
    summary = report.summary()
    action = report.needing_action
    out = [f"# GPU fleet audit: {md(report.inventory)}", ""]
    needs = "needs" if len(action) == 1 else "need"
    headline = (
        f"**{len(action)} of {count(summary['total'], 'host')} {needs} action**" if action else "**All hosts ok**"
    )
    facts = [headline, f"policy {md(report.policy)}", when(report), f"{report.duration_s:.1f}s"]
    if report.run_id is not None:
        facts.append(f"run #{report.run_id}")
    if report.exit is not None:
        facts.append(f"exit {int(report.exit.code)}")
    facts.append(md(report.knowledge.line()))
    out += [" · ".join(facts), ""]
    if not report.complete:
        missing = f" Not audited: {md(', '.join(report.not_audited))}." if report.not_audited else ""
        out += [f"> **INCOMPLETE:** the run was interrupted; this report is partial.{missing}", ""]
    for note in report.notes:
        out += [f"> **Note:** {md(note)}", ""]
    counts = verdict_counts(report)
    if counts:
        out += ["| " + " | ".join(v.value for v, _ in counts) + " |", "|" + "--:|" * len(counts)]
        out += ["| " + " | ".join(str(n) for _, n in counts) + " |", ""]
    if action:
        since = any(h.failing_since for h in action)
        out += ["## Needs action", ""]
        header = ["host", "verdict", "main finding"] + (["failing for"] if since else [])
        out += ["| " + " | ".join(header) + " |", "|" + ":--|" * len(header)]
        for host in action:
            cells = [md(host.name), f"**{host.verdict.value.upper()}**", md(host.reason)]
            if since:
                cells.append(md(failing_for(host, report.generated_at)))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    # Waived findings stay visible, even on hosts that are ok because of the waiver.
    detailed = list(action) + [h for h in report.hosts if not h.verdict.needs_action and h.findings]
    if detailed:
        out += ["## Findings per host", ""]
        for host in detailed:
            out += _host_section(host, report)
    ok = [h.name for h in report.hosts if not h.verdict.needs_action]
    if ok:
        out += [f"## OK ({len(ok)})", "", md(", ".join(ok)), ""]
    if report.exit is not None:
        out += ["---", "", f"Exit {int(report.exit.code)}: {md(report.exit.reason)}", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _host_section(host: HostReport, report: Report) -> list[str]:
    lines = [f"### {md(host.name)} — {host.verdict.value.upper()}", ""]
    cols = host_columns(host)
    about = [
        f"{label} {md(cols[key])}"
        for label, key in (("driver", "driver"), ("CUDA", "cuda"), ("TensorRT", "tensorrt"), ("GPUs", "gpus"))
        if cols[key]
    ]
    if host.failing_since:
        about.append("failing " + md(failing_since_text(host, report.generated_at)))
    if about:
        lines += [" · ".join(about), ""]
    if host.error is not None:
        lines += [f"- **{host.error.step.value}:** {md(host.error.message)}"]
    for finding in host.findings:
        lines += _finding_line(finding)
    lines.append("")
    return lines
