"""Rule check ``<rule>/gpus.count``: the host shows as many GPUs as the rule expects."""

from __future__ import annotations

from auditor.evaluate.check import Check, Run, inconclusive
from auditor.findings import Action, Finding, Severity
from auditor.text import count


def gpu_count(run: Run) -> None:
    """The number of GPUs the host shows against ``gpus: {count: N}``."""
    rule, facts, checks, out = run.asking, run.facts, run.checks, run.findings
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


CHECK = Check(id="gpus.count", reads=("gpus",), judge=gpu_count, asks=lambda rule: rule.gpu_count is not None)
