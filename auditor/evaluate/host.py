"""Evaluating one host: every built-in check, then the checks each selecting policy rule asks for.

``evaluate`` returns every check it ran (so reports can show passes too) and the findings
of those that did not pass, in the registry's order (``auditor.evaluate.registry``):
built-in checks, then per selected rule its checks; then the rule's severity, action and
remediation overrides on that rule's findings; then waivers. A check whose facts are
missing because a collector failed gives an *inconclusive* finding (action investigate),
never a pass and never a policy violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from auditor.evaluate.check import Run, inconclusive
from auditor.evaluate.registry import BUILTIN_CHECKS, RULE_CHECKS
from auditor.facts.model import Facts
from auditor.findings import Finding
from auditor.inventory import Host
from auditor.policy.model import Disabled, Policy, Rule
from auditor.policy.waivers import apply_waivers
from auditor.records import record


@record
class Evaluation:
    """The checks run on one host (ids), the findings of those that did not pass, and the
    checks a policy rule switched off (id, why): not applicable, shown as skipped."""

    checks: tuple[str, ...]
    findings: tuple[Finding, ...]
    not_applicable: tuple[tuple[str, str], ...] = ()


def evaluate(policy: Policy, host: Host, facts: Facts) -> Evaluation:
    """All built-in checks, then every policy rule that selects this host; waivers last."""
    gpu_names = [gpu.name for gpu in facts.gpus.devices if gpu.name]
    rules = policy.rules_for(host, gpu_names)
    disabled: dict[str, tuple[str, Disabled]] = {}
    for rule in rules:
        for off in rule.disable:
            disabled.setdefault(off.check, (rule.id, off))
    driver_required = any(b.required for rule in rules for b in rule.bounds if b.component in ("driver", "cuda_driver"))
    run = Run(facts=facts, today=policy.today(), disabled=disabled, driver_required=driver_required)
    for check in BUILTIN_CHECKS:
        if check.needs_driver and run.driver is None:
            continue  # without a readable driver version the driver state speaks for the host
        check.judge(run)
    checks, findings = run.checks, run.findings
    if not facts.gpus.devices and facts.gpus.count is None:
        # GPU-model selectors cannot be decided without the GPU list: say so rather than skip the rule
        for rule in policy.rules:
            if rule.select.gpus and rule.select.matches_host(host):
                why = facts.gpus.error or "no GPU list"
                findings.append(
                    inconclusive(
                        f"{rule.id}/select",
                        f"rule selects GPUs {', '.join(rule.select.gpus)}, but the GPUs could not be listed ({why})",
                        str(rule.location),
                    )
                )
    for rule in rules:
        own = run.for_rule(rule)
        for check in RULE_CHECKS:
            if check.asks is not None and check.asks(rule):
                check.judge(own)
        findings.extend(apply_rule_overrides(rule, own.findings))
    return Evaluation(
        tuple(checks),
        apply_waivers(policy.waivers, host.name, findings, policy.today()),
        tuple(run.not_applicable),
    )


def apply_rule_overrides(rule: Rule, findings: Iterable[Finding]) -> list[Finding]:
    """A rule's own severity, action and remediation text on the findings it produced.

    Inconclusive findings keep their investigate action: a rule cannot turn
    "could not tell" into a verdict.
    """
    result = []
    for finding in findings:
        changes: dict[str, object] = {}
        if rule.severity is not None:
            changes["severity"] = rule.severity
        if rule.action is not None and not finding.inconclusive:
            changes["action"] = rule.action
        if rule.remediation:
            changes["remediation"] = f"{rule.remediation} {finding.remediation or ''}".strip()
        result.append(replace(finding, **changes) if changes else finding)  # type: ignore[arg-type]
    return result
