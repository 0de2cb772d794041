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

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from auditor.evaluate import LABEL, actual_versions, apply_rule_overrides
from auditor.findings import Action, Finding, Severity, verdict_of
from auditor.inventory import Host
from auditor.isolation import assessed, attempt, failed_report
from auditor.policy.model import Policy, Rule
from auditor.policy.waivers import apply_waivers
from auditor.report import HostReport
from auditor.transport.outcome import HostError, Step


def apply_consistency(policy: Policy, reports: Sequence[HostReport]) -> tuple[HostReport, ...]:
    """``reports`` with drift findings (waivers applied) and the checks that ran added.

    Each host's part (is it selected, which versions it runs, its findings merged) runs
    inside the per-host boundary: a host whose part raises becomes an ``error`` at step
    ``consistency`` and is left out of the comparison; the others are compared without it.
    """
    rules = [rule for rule in policy.rules if rule.consistent]
    if not rules:
        return tuple(reports)
    failed: dict[str, HostReport] = {}
    profiles: dict[str, list[dict[str, str | None] | None]] = {}
    for report in reports:
        if report.facts is None:
            continue
        profile = attempt(Step.CONSISTENCY, report.name, partial(_profile, rules, report))
        if isinstance(profile, HostError):
            failed[report.name] = failed_report(report, profile)
        else:
            profiles[report.name] = profile
    extra: dict[str, list[Finding]] = {r.name: [] for r in reports}
    checks: dict[str, list[str]] = {r.name: [] for r in reports}
    for index, rule in enumerate(rules):
        selected = [r for r in reports if r.name in profiles and profiles[r.name][index] is not None]
        for group, members in _sets(rule, selected):
            for component in rule.consistent:
                name = f"{rule.id}/consistent.{component}"
                values: dict[str, str] = {}
                for member in members:
                    value = (profiles[member.name][index] or {}).get(component)
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
        if report.name in failed:
            result.append(failed[report.name])
        elif not extra[report.name] and not checks[report.name]:
            result.append(report)
        else:
            merge = partial(_merged, policy, report, extra[report.name], checks[report.name], today)
            result.append(assessed(Step.CONSISTENCY, merge, report))
    return tuple(result)


def _profile(rules: Sequence[Rule], report: HostReport) -> list[dict[str, str | None] | None]:
    """Per rule: None when it does not select the host, else the host's version of each component it compares."""
    assert report.facts is not None
    host = Host(report.name, report.address, groups=report.groups)
    names = [gpu.name for gpu in report.facts.gpus.devices if gpu.name]
    return [
        {component: _value(component, report) for component in rule.consistent}
        if rule.select.matches(host, names)
        else None
        for rule in rules
    ]


def _merged(
    policy: Policy, report: HostReport, extra: list[Finding], checks: list[str], today: datetime.date
) -> HostReport:
    added = apply_waivers(policy.waivers, report.name, extra, today)
    findings = report.findings + added
    return replace(
        report,
        findings=findings,
        checks=report.checks + tuple(dict.fromkeys(checks)),
        verdict=verdict_of(findings) if report.facts is not None else report.verdict,
    )


def _sets(rule: Rule, selected: list[HostReport]) -> list[tuple[str, list[HostReport]]]:
    """The host sets a rule compares: one per selector group (or one for all selected hosts)."""
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
