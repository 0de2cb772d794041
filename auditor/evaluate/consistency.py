"""Consistency within a group: hosts that should run one version, and the ones that drifted.

A rule with ``consistent: [driver, tensorrt]`` asks every host it selects to run
the same version of each component as the rest of its group: one set per group the
rule's selector names (all selected hosts together when it names none). It is a
fleet-level check, so it runs once every host has been evaluated
(``auditor.report.assess.apply_consistency`` applies it to the hosts' reports, each
host's part inside its own boundary). The most common version is the expected one; a host on
another version gets a ``warn`` finding naming the majority. With no majority
(a tie), every host of the set is flagged. Hosts without facts, or without the
component, are left out (other checks already speak for them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from auditor.evaluate.checks.bounds import COMPONENT_NAMES, actual_versions
from auditor.evaluate.host import apply_rule_overrides
from auditor.facts.model import Facts
from auditor.findings import Action, Finding, Severity
from auditor.inventory import Host
from auditor.policy.model import Policy, Rule

Profile = list[dict[str, str | None] | None]
"""Per rule: None when it does not select the host, else the host's version of each component it compares."""


def consistency_rules(policy: Policy) -> list[Rule]:
    """The rules that ask for one version across a group (``consistent:``)."""
    return [rule for rule in policy.rules if rule.consistent]


def profile(rules: Sequence[Rule], host: Host, facts: Facts) -> Profile:
    """What ``host`` runs of each component the ``rules`` that select it compare."""
    names = [gpu.name for gpu in facts.gpus.devices if gpu.name]
    return [
        {component: _value(component, facts) for component in rule.consistent}
        if rule.select.matches(host, names)
        else None
        for rule in rules
    ]


def drift(
    rules: Sequence[Rule], profiles: Sequence[tuple[Host, Profile]]
) -> tuple[dict[str, list[Finding]], dict[str, list[str]]]:
    """Per host (by name): the drift findings (the rules' overrides applied) and the consistency checks it took part in."""
    extra: dict[str, list[Finding]] = {host.name: [] for host, _ in profiles}
    checks: dict[str, list[str]] = {host.name: [] for host, _ in profiles}
    for index, rule in enumerate(rules):
        selected = [(host, found) for host, found in profiles if found[index] is not None]
        for group, members in _sets(rule, selected):
            for component in rule.consistent:
                name = f"{rule.id}/consistent.{component}"
                values: dict[str, str] = {}
                for host, found in members:
                    value = (found[index] or {}).get(component)
                    if value:
                        values[host.name] = value
                for member in values:
                    checks[member].append(name)
                for member, finding in _drift(rule, name, component, group, values).items():
                    extra[member].extend(apply_rule_overrides(rule, [finding]))
    return extra, checks


def _sets(rule: Rule, selected: list[tuple[Host, Profile]]) -> list[tuple[str, list[tuple[Host, Profile]]]]:
    """The host sets a rule compares: one per selector group (or one for all selected hosts)."""
    if not rule.select.groups:
        return [("the hosts this rule selects", selected)]
    return [(f"group {g}", [m for m in selected if g == "all" or g in m[0].groups]) for g in rule.select.groups]


def _value(component: str, facts: Facts) -> str | None:
    found = sorted(actual_versions(component, facts))
    return ", ".join(found) if found else None


def _drift(rule: Rule, name: str, component: str, group: str, values: dict[str, str]) -> dict[str, Finding]:
    counts = Counter(values.values())
    if len(counts) < 2:
        return {}
    ranked = counts.most_common()
    majority = ranked[0][0] if ranked[0][1] > ranked[1][1] else None
    spread = ", ".join(f"{value} on {n}" for value, n in ranked)
    label = COMPONENT_NAMES[component]
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
