"""Rule check ``<rule>/<component>.<bound>``: each component's version within the rule's bounds.

Floors (``min``: upgrade), ceilings and deny lists (``max``, ``deny``: rollback), pins
(``version``) and allow lists (``allow``), and a required component that is missing; a
component a collector could not read is inconclusive. ``bounds_findings`` answers the
same for one bound (the planner asks it to tell a compliant component from one to change).
"""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import Check, Run, inconclusive
from auditor.facts.model import Facts
from auditor.findings import Action, Finding, Severity
from auditor.policy.model import Bounds, Rule


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

COMPONENT_NAMES = {  # how findings name each component a policy bounds (policy.model.COMPONENTS)
    "driver": "NVIDIA driver",
    "cuda_driver": "CUDA version supported by the driver",
    "cuda": "CUDA toolkit",
    "cudnn": "cuDNN",
    "tensorrt": "TensorRT",
}


def _bounds_checks(
    rule: Rule, bounds: Bounds, actual: list[str], facts: Facts, checks: list[str], out: list[Finding]
) -> None:
    component, label = bounds.component, COMPONENT_NAMES[bounds.component]
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
                    expected=bounds.describe(),
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
    return f"a version within {bounds.describe()}"


def judge_bounds(run: Run) -> None:
    """Each of the rule's bounds against the versions the host reported."""
    rule = run.asking
    for bounds in rule.bounds:
        _bounds_checks(rule, bounds, actual_versions(bounds.component, run.facts), run.facts, run.checks, run.findings)


CHECK = Check(
    id="bounds",
    reads=("driver", "cuda", "cudnn", "tensorrt"),
    judge=judge_bounds,
    asks=lambda rule: bool(rule.bounds),
)
