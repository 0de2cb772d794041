"""Rule check ``<rule>/image``: the rule's (or its stack's) NGC image runs on the host's driver and GPUs."""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import Check, Run, gpu_specs, inconclusive, sentence
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import answers
from auditor.knowledge.images import image_on


def image(run: Run) -> None:
    """The rule's (or its stack's) NGC image must run on this host's driver and GPUs."""
    rule, facts, checks, out = run.asking, run.facts, run.checks, run.findings
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


CHECK = Check(id="image", reads=("driver", "gpus"), judge=image, asks=lambda rule: rule.image is not None)
