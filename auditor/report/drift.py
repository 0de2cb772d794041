"""What changed between two runs: new, resolved and changed findings, version changes per host.

Works on two stored ``auditor.report/1`` documents (what the history keeps), so a diff
of runs recorded by an older auditor still works as long as the report schema is the
same. A finding is identified by its host and rule; several findings of one rule on
one host (one per CUDA toolkit, say) are matched as a group: equal groups are
unchanged, single findings that differ are *changed*, anything else is resolved/new.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from rich.console import Console
from rich.text import Text

from auditor.facts.model import FactsError
from auditor.facts.reader import read_stored
from auditor.facts.stack import StackSummary, stack_of
from auditor.findings import Verdict
from auditor.records import record
from auditor.report.writers.terminal import VERDICT_STYLE
from auditor.text import count

COMPARED = ("severity", "action", "message", "expected", "actual", "waived", "inconclusive")
VERSION_LABELS = {
    "driver": "driver",
    "kernel_module": "kernel module",
    "cuda_driver": "CUDA (driver)",
    "cuda": "CUDA toolkit",
    "cuda_toolkits": "CUDA toolkits",
    "cudnn": "cuDNN",
    "tensorrt": "TensorRT",
    "gpu": "GPU",
    "gpu_count": "GPU count",
    "os": "OS",
}

Doc = Mapping[str, Any]


@record
class HostDrift:
    """One host's changes; ``status`` is added, removed or changed."""

    host: str
    status: str
    verdict_before: str | None
    verdict_after: str | None
    new: tuple[Doc, ...] = ()
    resolved: tuple[Doc, ...] = ()
    changed: tuple[tuple[Doc, Doc], ...] = ()
    versions: tuple[tuple[str, str | None, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "status": self.status,
            "verdict": {"before": self.verdict_before, "after": self.verdict_after},
            "new": list(self.new),
            "resolved": list(self.resolved),
            "changed": [{"before": a, "after": b} for a, b in self.changed],
            "versions": [{"component": k, "before": a, "after": b} for k, a, b in self.versions],
        }


@record
class Drift:
    """The differences between run ``before`` and run ``after`` (hosts with no change left out)."""

    before: Doc
    after: Doc
    hosts: tuple[HostDrift, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.hosts

    def counts(self) -> dict[str, int]:
        return {
            "hosts_changed": len(self.hosts),
            "new": sum(len(h.new) for h in self.hosts),
            "resolved": sum(len(h.resolved) for h in self.hosts),
            "changed": sum(len(h.changed) for h in self.hosts),
            "version_changes": sum(len(h.versions) for h in self.hosts),
        }

    def to_json(self) -> dict[str, Any]:
        def run(doc: Doc) -> dict[str, Any]:
            return {k: doc.get(k) for k in ("run_id", "generated_at", "inventory", "policy", "complete")}

        return {
            "schema": "auditor.diff/1",
            "before": run(self.before),
            "after": run(self.after),
            "counts": self.counts(),
            "hosts": [h.to_json() for h in self.hosts],
        }


def host_stack(host: Doc) -> StackSummary:
    """The stack of a stored host entry (empty when it has no facts, or facts of another schema)."""
    raw = host.get("facts")
    if not raw:
        return StackSummary()
    try:
        return stack_of(read_stored(raw))
    except FactsError:
        return StackSummary()


def _key(finding: Doc) -> tuple[Any, ...]:
    return tuple(finding.get(k) for k in COMPARED)


def _compare_findings(before: list[Doc], after: list[Doc]) -> tuple[list[Doc], list[Doc], list[tuple[Doc, Doc]]]:
    by_rule_a: dict[str, list[Doc]] = {}
    by_rule_b: dict[str, list[Doc]] = {}
    for f in before:
        by_rule_a.setdefault(str(f.get("rule")), []).append(f)
    for f in after:
        by_rule_b.setdefault(str(f.get("rule")), []).append(f)
    new: list[Doc] = []
    resolved: list[Doc] = []
    changed: list[tuple[Doc, Doc]] = []
    for rule in sorted(set(by_rule_a) | set(by_rule_b)):
        a, b = by_rule_a.get(rule, []), by_rule_b.get(rule, [])
        if sorted(map(_key, a), key=repr) == sorted(map(_key, b), key=repr):
            continue
        if len(a) == 1 and len(b) == 1:
            changed.append((a[0], b[0]))
            continue
        keys_b = [_key(f) for f in b]
        keys_a = [_key(f) for f in a]
        resolved += [f for f in a if _key(f) not in keys_b]
        new += [f for f in b if _key(f) not in keys_a]
    return new, resolved, changed


def diff_reports(before: Doc, after: Doc) -> Drift:
    """The drift from report document ``before`` to ``after``."""
    hosts_a = {h["name"]: h for h in before.get("hosts", [])}
    hosts_b = {h["name"]: h for h in after.get("hosts", [])}
    out: list[HostDrift] = []
    for name in list(hosts_b) + [n for n in hosts_a if n not in hosts_b]:
        a, b = hosts_a.get(name), hosts_b.get(name)
        if a is None or b is None:
            present = b or a
            assert present is not None
            out.append(
                HostDrift(
                    name,
                    "added" if a is None else "removed",
                    None if a is None else a["verdict"],
                    None if b is None else b["verdict"],
                    new=tuple(b["findings"]) if b else (),
                    resolved=tuple(a["findings"]) if a else (),
                )
            )
            continue
        new, resolved, changed = _compare_findings(list(a["findings"]), list(b["findings"]))
        stack_a, stack_b = host_stack(a).as_dict(), host_stack(b).as_dict()
        versions = tuple(
            (key, stack_a.get(key), stack_b.get(key))
            for key in VERSION_LABELS
            if stack_a.get(key) != stack_b.get(key) and (a.get("facts") and b.get("facts"))
        )
        if new or resolved or changed or versions or a["verdict"] != b["verdict"]:
            out.append(
                HostDrift(
                    name, "changed", a["verdict"], b["verdict"], tuple(new), tuple(resolved), tuple(changed), versions
                )
            )
    return Drift(before, after, tuple(out))


def _run_label(doc: Doc) -> str:
    run = f"run #{doc.get('run_id')}" if doc.get("run_id") is not None else "run"
    return f"{run} ({doc.get('generated_at')})"


def _verdict_text(verdict: str | None) -> Text:
    if verdict is None:
        return Text("—", style="dim")
    try:
        return Text(verdict.upper(), style=VERDICT_STYLE[Verdict(verdict)])
    except ValueError:
        return Text(verdict.upper())


def render_drift(drift: Drift, width: int | None = None, color: bool = False) -> str:
    """The drift as text for a terminal or a mail."""
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width or 120, color_system="standard" if color else None, highlight=False, emoji=False
    )
    console.print(Text(f"{drift.before.get('inventory')}: {_run_label(drift.before)} → {_run_label(drift.after)}"))
    if drift.before.get("inventory") != drift.after.get("inventory"):
        console.print(Text(f"note: the runs audited different inventories ({drift.after.get('inventory')})"))
    counts = drift.counts()
    if drift.empty:
        console.print(Text("no changes", style="green"))
        return buffer.getvalue()
    console.print(
        Text(
            f"{count(counts['hosts_changed'], 'host')} changed: {counts['new']} new, {counts['resolved']} resolved, "
            f"{count(counts['changed'], 'changed finding')}, {count(counts['version_changes'], 'version change')}",
            style="bold",
        )
    )
    for host in drift.hosts:
        console.print()
        line = Text(host.host, style="bold")
        line.append("  ")
        line.append_text(_verdict_text(host.verdict_before))
        line.append(" → ")
        line.append_text(_verdict_text(host.verdict_after))
        if host.status != "changed":
            line.append(f"  (host {host.status})", style="dim")
        console.print(line)
        for key, old, new in host.versions:
            console.print(Text(f"  ~ {VERSION_LABELS[key]}: {old or '—'} → {new or '—'}", style="cyan"))
        for f in host.new:
            console.print(Text(f"  + {f.get('rule')}: {f.get('message')}", style="red"))
        for f in host.resolved:
            console.print(Text(f"  - {f.get('rule')}: {f.get('message')}", style="green"))
        for a, b in host.changed:
            fields = [k for k in COMPARED if a.get(k) != b.get(k)]
            detail = ", ".join(f"{k} {a.get(k)!s} → {b.get(k)!s}" for k in fields if k != "message")
            console.print(
                Text(f"  ~ {b.get('rule')}: {b.get('message')}" + (f" ({detail})" if detail else ""), style="yellow")
            )
    return buffer.getvalue()
