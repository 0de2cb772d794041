"""Checking one host's facts against the policy and the built-in rules.

``evaluate`` returns every check it ran (so reports can show passes too) and the
findings of those that did not pass. A check whose facts are missing because a
collector failed gives an *inconclusive* finding (action investigate), never a
pass and never a policy violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from auditor import versions
from auditor.facts import DriverStatus, Facts
from auditor.findings import Action, Finding, Severity
from auditor.inventory import Host
from auditor.policy import Bounds, Policy, Rule

BUILTIN = "built-in"


@dataclass(frozen=True)
class Evaluation:
    """The checks run on one host (ids) and the findings of those that did not pass."""

    checks: tuple[str, ...]
    findings: tuple[Finding, ...]


def evaluate(policy: Policy, host: Host, facts: Facts) -> Evaluation:
    """All built-in checks, then every policy rule that selects this host."""
    gpu_names = [gpu.name for gpu in facts.gpus.devices if gpu.name]
    rules = policy.rules_for(host, gpu_names)
    checks: list[str] = []
    findings: list[Finding] = []
    driver_required = any(b.required for rule in rules for b in rule.bounds if b.component in ("driver", "cuda_driver"))
    _driver_checks(facts, driver_required, checks, findings)
    for rule in rules:
        for bounds in rule.bounds:
            _bounds_checks(rule, bounds, _actual_versions(bounds.component, facts), facts, checks, findings)
        if rule.gpu_count is not None:
            _gpu_count_check(rule, facts, checks, findings)
    return Evaluation(tuple(checks), tuple(findings))


def _driver_checks(facts: Facts, required: bool, checks: list[str], out: list[Finding]) -> None:
    driver = facts.driver
    checks.append("driver.status")
    if driver.status is DriverStatus.MISMATCH or driver.mismatch:
        out.append(
            Finding(
                rule="driver.mismatch",
                severity=Severity.CRITICAL,
                action=Action.REBOOT,
                message="kernel module and user-space driver differ (NVML: Driver/library version mismatch)",
                expected=f"kernel module {driver.version}" if driver.version else "matching versions",
                actual=f"kernel module {driver.kernel_module or '?'}, library {driver.version or '?'}",
                source=BUILTIN,
                remediation="Reboot the host (or reload the nvidia kernel modules) to load the installed driver.",
            )
        )
    elif driver.status is DriverStatus.NOT_INSTALLED:
        out.append(
            Finding(
                rule="driver.installed",
                severity=Severity.HIGH if required else Severity.MEDIUM,
                action=Action.UPGRADE if required else Action.INVESTIGATE,
                message="no NVIDIA driver is installed",
                expected="an NVIDIA driver",
                actual="none",
                source=BUILTIN,
                remediation="Install the NVIDIA driver the policy asks for.",
            )
        )
    elif driver.status is DriverStatus.NOT_LOADED:
        out.append(
            Finding(
                rule="driver.loaded",
                severity=Severity.HIGH,
                action=Action.REBOOT,
                message="NVIDIA driver installed but its kernel module is not loaded",
                expected="nvidia kernel module loaded",
                actual="not loaded",
                source=BUILTIN,
                remediation="Reboot, or load the module (modprobe nvidia) and check dmesg for why it failed.",
            )
        )
    elif driver.status is DriverStatus.PERMISSION_DENIED:
        out.append(
            _inconclusive("driver.status", "the audit user may not query the driver (check /dev/nvidia* permissions)")
        )
    elif driver.status is DriverStatus.UNKNOWN:
        out.append(
            _inconclusive("driver.status", f"driver state unknown: {driver.error or facts.section_error('driver')}")
        )
    if driver.status is DriverStatus.OK:
        checks.append("gpu.visible")
        if facts.gpus.count == 0:
            out.append(
                Finding(
                    rule="gpu.visible",
                    severity=Severity.HIGH,
                    action=Action.INVESTIGATE,
                    message="the driver is loaded but no GPU is visible",
                    expected="at least one GPU",
                    actual="0",
                    source=BUILTIN,
                    remediation="Check the GPU is seated and powered (lspci, dmesg for Xid errors); a reset or reboot may bring it back.",
                )
            )
        elif facts.gpus.count is None:
            out.append(_inconclusive("gpu.visible", f"GPUs could not be listed: {facts.gpus.error}"))


def _actual_versions(component: str, facts: Facts) -> list[str]:
    if component == "driver":
        return [facts.driver.version] if facts.driver.version else []
    if component == "cuda_driver":
        return [facts.driver.cuda_version] if facts.driver.cuda_version else []
    if component == "cuda":
        return [t.version for t in facts.cuda.toolkits if t.version]
    if component == "tensorrt":
        return [facts.tensorrt.version] if facts.tensorrt.version else []
    raise ValueError(component)  # pragma: no cover - COMPONENTS is closed


_SECTION = {"driver": "driver", "cuda_driver": "driver", "cuda": "cuda", "tensorrt": "tensorrt"}
_LABEL = {
    "driver": "NVIDIA driver",
    "cuda_driver": "CUDA version supported by the driver",
    "cuda": "CUDA toolkit",
    "tensorrt": "TensorRT",
}


def _bounds_checks(
    rule: Rule, bounds: Bounds, actual: list[str], facts: Facts, checks: list[str], out: list[Finding]
) -> None:
    component, label = bounds.component, _LABEL[bounds.component]
    prefix = f"{rule.id}/{component}"
    keys = [k for k in ("min", "max", "deny", "allow") if getattr(bounds, k)]
    checks.extend(f"{prefix}.{k}" for k in keys or ["present"])
    if not actual:
        error = facts.section_error(_SECTION[component])
        if error:
            out.append(
                _inconclusive(f"{prefix}.present", f"{label} could not be read: {error}", bounds.cite("component"))
            )
        elif bounds.required:
            out.append(
                Finding(
                    rule=f"{prefix}.present",
                    severity=Severity.HIGH,
                    action=Action.UPGRADE,
                    message=f"{label} is required but not installed",
                    expected=_describe(bounds),
                    actual="not installed",
                    source=bounds.cite("component"),
                    remediation=f"Install the {label} version the policy allows.",
                )
            )
        return
    unparsed = [v for v in actual if not versions.is_version(v)]
    for value in unparsed:
        out.append(
            _inconclusive(
                f"{prefix}.version", f"{label} reported an unreadable version {value!r}", bounds.cite("component")
            )
        )
    actual = [v for v in actual if versions.is_version(v)]
    if not actual:
        return
    for value in actual:
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
                    remediation=f"Move off {label} {value}"
                    + (f" to a version within {_describe(bounds)}." if bounds.min or bounds.max else "."),
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
                    remediation=f"Roll {label} back to {bounds.max} or older.",
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
                    remediation=f"Install one of the allowed {label} versions: {', '.join(bounds.allow)}.",
                )
            )
    if bounds.min:
        best = max(actual, key=versions.parse)  # several toolkits: the newest must meet the floor
        if not versions.at_least(best, bounds.min):
            out.append(
                Finding(
                    rule=f"{prefix}.min",
                    severity=Severity.HIGH,
                    action=Action.UPGRADE,
                    message=f"{label} {best} is below the floor {bounds.min}",
                    expected=f">= {bounds.min}",
                    actual=best,
                    source=bounds.cite("min"),
                    remediation=f"Upgrade {label} to {bounds.min} or newer.",
                )
            )


def _gpu_count_check(rule: Rule, facts: Facts, checks: list[str], out: list[Finding]) -> None:
    name = f"{rule.id}/gpus.count"
    checks.append(name)
    source = str(rule.gpu_count_location or rule.location)
    if facts.gpus.count is None:
        out.append(_inconclusive(name, f"GPUs could not be counted: {facts.gpus.error}", source))
    elif facts.gpus.count != rule.gpu_count:
        out.append(
            Finding(
                rule=name,
                severity=Severity.HIGH,
                action=Action.INVESTIGATE,
                message=f"{facts.gpus.count} GPUs visible, the policy expects {rule.gpu_count}",
                expected=str(rule.gpu_count),
                actual=str(facts.gpus.count),
                source=source,
                remediation="A GPU missing from NVML is usually fallen off the bus (check dmesg for Xid 79) or disabled; reset or reboot.",
            )
        )


def _inconclusive(rule: str, message: str, source: str = BUILTIN) -> Finding:
    return Finding(
        rule=rule,
        severity=Severity.MEDIUM,
        action=Action.INVESTIGATE,
        message=f"could not evaluate: {message}",
        source=source,
        inconclusive=True,
    )


def _describe(bounds: Bounds) -> str:
    parts: Iterable[str] = (
        *([f">= {bounds.min}"] if bounds.min else []),
        *([f"<= {bounds.max}"] if bounds.max else []),
        *([f"one of {', '.join(bounds.allow)}"] if bounds.allow else []),
    )
    return ", ".join(parts) or "any version"
