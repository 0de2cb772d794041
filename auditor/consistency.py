"""Consistency within a group: hosts that should run one version, and the ones that drifted.

A rule with ``consistent: [driver, tensorrt]`` asks every host it selects to run
the same version of each component as the rest of its group: one set per group the
rule's selector names (all selected hosts together when it names none). It is a
fleet-level check, so it runs once every host has been evaluated
(``apply_consistency``). The most common version is the expected one; a host on
another version gets a ``warn`` finding naming the majority. With no majority
(a tie), every host of the set is flagged. Hosts without facts, or without the
component, are left out (other checks already speak for them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from auditor.evaluate import LABEL, actual_versions, apply_rule_overrides
from auditor.findings import Action, Finding, Severity, verdict_of
from auditor.policy import Policy, Rule
from auditor.report import HostReport
from auditor.waivers import apply_waivers


def apply_consistency(policy: Policy, reports: Sequence[HostReport]) -> tuple[HostReport, ...]:
    """``reports`` with drift findings (waivers applied) and the checks that ran added."""
    extra: dict[str, list[Finding]] = {r.name: [] for r in reports}
    checks: dict[str, list[str]] = {r.name: [] for r in reports}
    for rule in policy.rules:
        if not rule.consistent:
            continue
        for group, members in _sets(rule, reports):
            for component in rule.consistent:
                name = f"{rule.id}/consistent.{component}"
                values: dict[str, str] = {}
                for member in members:
                    value = _value(component, member)
                    if value:
                        values[member.name] = value
                for host in values:
                    checks[host].append(name)
                drifted = _drift(rule, name, component, group, values)
                for host, finding in drifted.items():
                    extra[host].extend(apply_rule_overrides(rule, [finding]))
    result = []
    today = policy.today()
    for report in reports:
        if not extra[report.name] and not checks[report.name]:
            result.append(report)
            continue
        added = apply_waivers(policy.waivers, report.name, extra[report.name], today)
        findings = report.findings + added
        result.append(
            replace(
                report,
                findings=findings,
                checks=report.checks + tuple(dict.fromkeys(checks[report.name])),
                verdict=verdict_of(findings) if report.facts is not None else report.verdict,
            )
        )
    return tuple(result)


def _sets(rule: Rule, reports: Sequence[HostReport]) -> list[tuple[str, list[HostReport]]]:
    """The host sets a rule compares: one per selector group (or one for all selected hosts)."""
    from auditor.inventory import Host

    selected = []
    for report in reports:
        if report.facts is None:
            continue
        host = Host(report.name, report.address, groups=report.groups)
        names = [gpu.name for gpu in report.facts.gpus.devices if gpu.name]
        if rule.select.matches(host, names):
            selected.append(report)
    if not rule.select.groups:
        return [("the hosts this rule selects", selected)]
    return [(f"group {g}", [r for r in selected if g == "all" or g in r.groups]) for g in rule.select.groups]


def _value(component: str, report: HostReport) -> str | None:
    assert report.facts is not None
    found = sorted(actual_versions(component, report.facts))
    return ", ".join(found) if found else None


def _drift(rule: Rule, name: str, component: str, group: str, values: dict[str, str]) -> dict[str, Finding]:
    counts = Counter(values.values())
    if len(counts) < 2:
        return {}
    ranked = counts.most_common()
    majority = ranked[0][0] if ranked[0][1] > ranked[1][1] else None
    spread = ", ".join(f"{value} on {n}" for value, n in ranked)
    label = LABEL[component]
    source = str(rule.consistent_location or rule.location)
    findings = {}
    for host, value in values.items():
        if value == majority:
            continue
        if majority is not None:
            message = f"{label} {value} differs from the rest of {group} ({majority} on {counts[majority]} of {len(values)} hosts)"
            remediation = (
                f"Bring this host to {label} {majority} like the rest of {group}, or move it out of the group."
            )
        else:
            message = f"{label} differs across {group} with no majority ({spread})"
            remediation = f"Settle {group} on one {label} version."
        findings[host] = Finding(
            rule=name,
            severity=Severity.LOW,
            action=Action.INVESTIGATE,
            message=message,
            expected=majority or "one version across the group",
            actual=value,
            source=source,
            remediation=remediation,
        )
    return findings
