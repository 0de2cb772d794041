"""Checking one host's facts against the built-in checks and every policy rule that selects it.

``evaluate`` returns every check it ran (so reports can show passes too) and the
findings of those that did not pass. Order: built-in checks (``auditor.builtin``),
then per selected rule its bounds, GPU count, image, required engines and reference
engine (``auditor.reference.checks``); then the
rule's severity, action and remediation overrides; then waivers. A check whose
facts are missing because a collector failed gives an *inconclusive* finding
(action investigate), never a pass and never a policy violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from auditor import versions
from auditor.builtin import BUILTIN, Run, gpu_specs, inconclusive, run_builtin_checks, sentence
from auditor.engines import engine_checks
from auditor.facts.model import Facts
from auditor.findings import Action, Finding, Severity
from auditor.inventory import Host
from auditor.knowledge import answers
from auditor.knowledge.images import image_on
from auditor.policy.model import Bounds, Disabled, Policy, Rule
from auditor.policy.waivers import apply_waivers
from auditor.reference.checks import reference_checks
from auditor.text import count

__all__ = ["BUILTIN", "Evaluation", "actual_versions", "apply_rule_overrides", "bounds_findings", "evaluate"]


@dataclass(frozen=True)
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
    run = Run(facts=facts, today=policy.today(), disabled=disabled)
    driver_required = any(b.required for rule in rules for b in rule.bounds if b.component in ("driver", "cuda_driver"))
    run_builtin_checks(run, driver_required)
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
        own: list[Finding] = []
        for bounds in rule.bounds:
            _bounds_checks(rule, bounds, actual_versions(bounds.component, facts), facts, checks, own)
        if rule.gpu_count is not None:
            _gpu_count_check(rule, facts, checks, own)
        if rule.image is not None:
            _image_check(rule, facts, checks, own)
        if rule.engines:
            engine_checks(rule, facts, checks, own)
        if rule.reference is not None:
            reference_checks(rule, facts, checks, own)
        findings.extend(apply_rule_overrides(rule, own))
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


def bounds_findings(rule: Rule, bounds: Bounds, facts: Facts) -> list[Finding]:
    """The findings one of ``rule``'s bounds gives on ``facts``, as ``evaluate`` reports them.

    No findings means the host's versions of that component are within the bounds
    (the planner asks this to tell a compliant component from one to change).
    """
    found: list[Finding] = []
    _bounds_checks(rule, bounds, actual_versions(bounds.component, facts), facts, [], found)
    return found


def actual_versions(component: str, facts: Facts) -> list[str]:
    """The versions of ``component`` the host reported (several for CUDA toolkits)."""
    if component == "driver":
        return [facts.driver.version] if facts.driver.version else []
    if component == "cuda_driver":
        return [facts.driver.cuda_version] if facts.driver.cuda_version else []
    if component == "cuda":
        return [t.version for t in facts.cuda.toolkits if t.version]
    if component == "cudnn":
        return [facts.cudnn.version] if facts.cudnn.version else []
    if component == "tensorrt":
        return [facts.tensorrt.version] if facts.tensorrt.version else []
    raise ValueError(component)  # pragma: no cover - COMPONENTS is closed


_SECTION = {"driver": "driver", "cuda_driver": "driver", "cuda": "cuda", "cudnn": "cudnn", "tensorrt": "tensorrt"}
LABEL = {
    "driver": "NVIDIA driver",
    "cuda_driver": "CUDA version supported by the driver",
    "cuda": "CUDA toolkit",
    "cudnn": "cuDNN",
    "tensorrt": "TensorRT",
}


def _bounds_checks(
    rule: Rule, bounds: Bounds, actual: list[str], facts: Facts, checks: list[str], out: list[Finding]
) -> None:
    component, label = bounds.component, LABEL[bounds.component]
    prefix = f"{rule.id}/{component}"
    checks.extend(f"{prefix}.{k}" for k in bounds.keys or ["present"])
    if not actual:
        error = facts.section_error(_SECTION[component])
        if error:
            out.append(
                inconclusive(f"{prefix}.present", f"{label} could not be read: {error}", bounds.cite("component"))
            )
        elif bounds.required:
            target = bounds.target or bounds.version or bounds.min
            out.append(
                Finding(
                    rule=f"{prefix}.present",
                    severity=Severity.HIGH,
                    action=Action.UPGRADE,
                    message=f"{label} is required but not installed",
                    expected=describe_bounds(bounds),
                    actual="not installed",
                    source=bounds.cite("component"),
                    remediation=f"Install {label} {target}."
                    if target
                    else f"Install the {label} version the policy allows.",
                )
            )
        return
    for value in (v for v in actual if not versions.is_version(v)):
        out.append(
            inconclusive(
                f"{prefix}.version", f"{label} reported an unreadable version {value!r}", bounds.cite("component")
            )
        )
    actual = [v for v in actual if versions.is_version(v)]
    if not actual:
        return
    for value in actual:
        _deny_max_allow(prefix, label, bounds, value, out)
    newest = max(actual, key=versions.parse)  # several toolkits: the newest must meet the floor
    if bounds.min and not versions.at_least(newest, bounds.min):
        target = bounds.target or bounds.version or bounds.min
        out.append(
            Finding(
                rule=f"{prefix}.min",
                severity=Severity.HIGH,
                action=Action.UPGRADE,
                message=f"{label} {newest} is below the floor {bounds.min}",
                expected=f">= {bounds.min}",
                actual=newest,
                source=bounds.cite("min"),
                remediation=f"Upgrade {label} to {target}" + (" or newer." if target == bounds.min else "."),
            )
        )
    if bounds.version and not any(versions.matches(v, bounds.version) for v in actual):
        below = all(versions.parse(v) < versions.parse(bounds.version) for v in actual)
        target = bounds.target or bounds.version
        out.append(
            Finding(
                rule=f"{prefix}.version",
                severity=Severity.HIGH,
                action=Action.UPGRADE if below else Action.ROLLBACK,
                message=f"{label} {', '.join(actual)} is not the pinned {bounds.version}",
                expected=bounds.version,
                actual=", ".join(actual),
                source=bounds.cite("version"),
                remediation=f"{'Upgrade' if below else 'Roll back'} {label} to {target}.",
            )
        )


def _deny_max_allow(prefix: str, label: str, bounds: Bounds, value: str, out: list[Finding]) -> None:
    denied = next((d for d in bounds.deny if versions.matches(value, d)), None)
    if denied:
        out.append(
            Finding(
                rule=f"{prefix}.deny",
                severity=Severity.CRITICAL,
                action=Action.ROLLBACK,
                message=f"{label} {value} is on the deny list ({denied})",
                expected=f"not {', '.join(bounds.deny)}",
                actual=value,
                source=bounds.cite("deny"),
                remediation=f"Move {label} off {value} to {rollback_target(bounds)}.",
            )
        )
    elif bounds.max and not versions.at_most(value, bounds.max):
        out.append(
            Finding(
                rule=f"{prefix}.max",
                severity=Severity.HIGH,
                action=Action.ROLLBACK,
                message=f"{label} {value} is above the ceiling {bounds.max}",
                expected=f"<= {bounds.max}",
                actual=value,
                source=bounds.cite("max"),
                remediation=f"Roll {label} back to {rollback_target(bounds)}.",
            )
        )
    if bounds.allow and not any(versions.matches(value, a) for a in bounds.allow):
        below = all(versions.parse(value) < versions.parse(a) for a in bounds.allow)
        out.append(
            Finding(
                rule=f"{prefix}.allow",
                severity=Severity.HIGH,
                action=Action.UPGRADE if below else Action.ROLLBACK,
                message=f"{label} {value} is not one of the allowed versions",
                expected=", ".join(bounds.allow),
                actual=value,
                source=bounds.cite("allow"),
                remediation=f"Install {bounds.target}."
                if bounds.target
                else f"Install one of the allowed {label} versions: {', '.join(bounds.allow)}.",
            )
        )


def rollback_target(bounds: Bounds) -> str:
    """The version a rollback should land on: the policy's target or pin, else what the bounds imply."""
    if bounds.target:
        return bounds.target
    if bounds.version:
        return bounds.version
    if bounds.max:
        exact = len(versions.parse(bounds.max).release) >= 3
        return bounds.max if exact else f"the newest {bounds.max}.x release"
    if bounds.allow:
        return " or ".join(bounds.allow)
    return f"a version within {describe_bounds(bounds)}"


def _gpu_count_check(rule: Rule, facts: Facts, checks: list[str], out: list[Finding]) -> None:
    name = f"{rule.id}/gpus.count"
    checks.append(name)
    source = str(rule.gpu_count_location or rule.location)
    if facts.gpus.count is None:
        out.append(inconclusive(name, f"GPUs could not be counted: {facts.gpus.error}", source))
    elif facts.gpus.count != rule.gpu_count:
        out.append(
            Finding(
                rule=name,
                severity=Severity.HIGH,
                action=Action.INVESTIGATE,
                message=f"{count(facts.gpus.count, 'GPU')} visible, the policy expects {rule.gpu_count}",
                expected=str(rule.gpu_count),
                actual=str(facts.gpus.count),
                source=source,
                remediation="A GPU missing from NVML has usually fallen off the bus (check dmesg for Xid 79) or is disabled; reset or reboot.",
            )
        )


def _image_check(rule: Rule, facts: Facts, checks: list[str], out: list[Finding]) -> None:
    """The rule's (or its stack's) NGC image must run on this host's driver and GPUs."""
    name = f"{rule.id}/image"
    checks.append(name)
    assert rule.image is not None
    source = str(rule.image_location or rule.location)
    driver = facts.driver.version
    if not driver or not versions.is_version(driver):
        out.append(inconclusive(name, f"no driver version to judge {rule.image} against", source))
        return
    gpus = gpu_specs(facts)
    answer = (
        answers.combine(image_on(rule.image, driver, gpu) for gpu in gpus) if gpus else image_on(rule.image, driver)
    )
    cite = f"{source}; {answer.sources[0]}" if answer.sources else source
    if answer.mode in (answers.Mode.NATIVE, answers.Mode.LOOKUP):
        return
    if answer.mode is answers.Mode.UNKNOWN:
        out.append(inconclusive(name, "; ".join(answer.reasons), cite))
        return
    if answer.mode in (answers.Mode.MINOR_VERSION, answers.Mode.FORWARD_COMPAT):
        how = (
            "minor-version compatibility"
            if answer.mode is answers.Mode.MINOR_VERSION
            else "forward compatibility (data-center GPUs)"
        )
        out.append(
            Finding(
                rule=name,
                severity=Severity.LOW,
                action=Action.INVESTIGATE,
                message=f"{rule.image} runs on driver {driver} only through {how}",
                expected="a driver that runs the image natively",
                actual=driver,
                source=cite,
                remediation=sentence(answer.fix or "Upgrade the driver"),
            )
        )
        return
    too_new = any(k in answer.details for k in ("tensorrt_last_for_gpu", "last_cuda_major"))
    out.append(
        Finding(
            rule=name,
            severity=Severity.HIGH,
            action=Action.ROLLBACK if too_new else Action.UPGRADE,
            message=f"{rule.image} cannot run here: " + "; ".join(answer.reasons[1:3] or answer.reasons),
            expected=answer.fix,
            actual=f"driver {driver}",
            source=cite,
            remediation=sentence(answer.fix or "") if answer.fix else None,
        )
    )


def describe_bounds(bounds: Bounds) -> str:
    """``>= 535.104.05, <= 580`` and friends, for ``expected``."""
    parts = [
        *([f">= {bounds.min}"] if bounds.min else []),
        *([f"<= {bounds.max}"] if bounds.max else []),
        *([f"{bounds.version}"] if bounds.version else []),
        *([f"one of {', '.join(bounds.allow)}"] if bounds.allow else []),
    ]
    return ", ".join(parts) or "any version"
