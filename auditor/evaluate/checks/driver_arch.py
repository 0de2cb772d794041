"""Built-in check ``driver.arch``: the driver branch runs each GPU on the host.

At or above the GPU architecture's (and the system's: HGX) first branch, at or below its
last (Volta: R580); what the knowledge base cannot tell is inconclusive.
"""

from __future__ import annotations

from auditor import versions
from auditor.evaluate.check import Check, Run, first_source, sentence
from auditor.evaluate.switches import SWITCHES
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import compat
from auditor.knowledge.answers import Answer, Mode


def driver_arch(run: Run) -> None:
    """The branch must run each GPU: at or above its architecture's (and system's) first branch,
    at or below its last (Volta: R580); what the knowledge base cannot tell is inconclusive."""
    driver, gpus = run.driver_version, run.gpus
    if not gpus or not run.wants("driver.arch"):
        return
    for gpu in gpus:
        answer = compat.driver_on_gpu(driver, gpu)
        if answer.mode is Mode.UNKNOWN:
            run.inconclusive("driver.arch", answer.reasons[0], first_source(answer))
        elif answer.mode is Mode.INCOMPATIBLE:
            run.add(driver_arch_finding(answer, driver))


def driver_arch_finding(answer: Answer, driver: str) -> Finding:
    """The finding of a driver that cannot drive a GPU: a rollback above the last branch, else an upgrade."""
    last = answer.details.get("last_driver_branch")
    if last is not None:
        return Finding(
            rule="driver.arch",
            severity=Severity.CRITICAL,
            action=Action.ROLLBACK,
            message=answer.reasons[0],
            expected=f"R{last} or older",
            actual=f"R{versions.branch(driver)} ({driver})",
            source=first_source(answer),
            remediation=f"Roll the driver back to the newest R{last} release, the last branch for this GPU.",
        )
    floor = answer.details.get("system_floor") or f"R{answer.details.get('first_driver_branch')}"
    return Finding(
        rule="driver.arch",
        severity=Severity.CRITICAL,
        action=Action.UPGRADE,
        message=answer.reasons[0],
        expected=f"{floor} or newer",
        actual=f"R{versions.branch(driver)} ({driver})",
        source=first_source(answer),
        remediation=sentence(answer.fix or "upgrade the driver") + " This driver cannot drive the GPU.",
    )


CHECK = Check(
    id="driver.arch",
    reads=("driver", "gpus"),
    judge=driver_arch,
    switches=SWITCHES["driver_arch"],
)
