"""The built-in check ``containers.image``: every running container's image against the host's driver and GPUs.

The probe lists running containers (docker or podman) with their image references. Each
image is judged by the same query ``auditor compat --image`` answers
(``compat_images.image_on``): the image's driver floor, the data-center branches its
release notes allow in forward-compatibility mode, the GPU's class (no forward
compatibility on workstation or consumer GPUs), its compute-capability floor, and the
TensorRT and CUDA inside it. What the answer means for the host:

* native: nothing to say;
* minor-version or forward compatibility (a data-center GPU on a listed branch): an
  informational finding (the container runs; NGC images carry the compat libraries);
* incompatible: upgrade the driver (or use an older image when the GPU is too old for it),
  naming the container;
* an NGC month the knowledge lacks, or one newer than it: inconclusive, with what is
  missing and how old the knowledge is;
* an image the knowledge base has no table for (an internal image): informational,
  never silence (a site overlay can describe it).
"""

from __future__ import annotations

from auditor.evaluate.check import Check, Run, sentence
from auditor.evaluate.switches import SWITCHES
from auditor.findings import Action, Finding, Severity
from auditor.knowledge import tables
from auditor.knowledge import tensorrt as trt_kb
from auditor.knowledge.answers import Answer, GpuSpec, Mode, combine
from auditor.knowledge.images import image_on

CHECK_ID = "containers.image"


MAX_CONTAINERS = 64  # findings per host stay readable; the probe caps the list too


def running_containers(run: Run) -> None:
    """Judge each running container's image (one finding per container that needs one)."""
    driver, gpus = run.driver_version, run.gpus
    facts = run.facts.containers
    if not facts.running and not facts.error:
        return
    if not run.wants(CHECK_ID):
        return
    if facts.error and not facts.running:
        run.add(
            Finding(
                rule=CHECK_ID,
                severity=Severity.INFO,
                action=Action.NONE,
                message=f"running containers could not be listed, so their images were not judged: {facts.error}",
                source=tables.as_of_text(),
                remediation="Let the audit user list containers (docker group or a rootless podman) to judge them.",
            )
        )
        return
    for container in facts.running[:MAX_CONTAINERS]:
        finding = judge_container(container.name, container.image, driver, gpus)
        if finding is not None:
            run.add(finding)


def image_answer(ref: str, driver: str | None, gpus: list[GpuSpec]) -> Answer:
    """``image_on`` over every GPU model of the host (the worst answer), or without a GPU."""
    if not gpus:
        return image_on(ref, driver)
    return combine(image_on(ref, driver, gpu) for gpu in gpus)


def judge_container(name: str, ref: str | None, driver: str, gpus: list[GpuSpec]) -> Finding | None:
    """The finding one running container's image gives on ``driver`` and ``gpus``, or None when it runs natively."""
    what = f"container {name!r}"
    if not ref:
        return _info(f"{what} reports no image; it was not judged", None)
    try:
        found = trt_kb.lookup_image(ref)
    except trt_kb.BadImage:
        return _info(f"{what} runs {ref}, which is not an image the knowledge base describes; it was not judged", None)
    if found.container is None:
        if not found.known_repo:
            return _info(
                f"{what} runs {ref}: {found.why}; its driver needs were not judged",
                "Describe the image in a site knowledge overlay (--knowledge) to have it judged.",
            )
        return Finding(
            rule=CHECK_ID,
            severity=Severity.MEDIUM,
            action=Action.INVESTIGATE,
            message=f"could not evaluate {what} ({ref}): {found.why} ({tables.as_of_text()})",
            source=tables.as_of_text(),
            inconclusive=True,
            remediation="Check the image's release notes by hand, or add the month to a site knowledge overlay.",
        )
    answer = image_answer(ref, driver, gpus)
    source = answer.sources[0] if answer.sources else tables.as_of_text()
    if answer.mode is Mode.NATIVE:
        return None
    if answer.mode is Mode.UNKNOWN:
        return Finding(
            rule=CHECK_ID,
            severity=Severity.MEDIUM,
            action=Action.INVESTIGATE,
            message=f"could not evaluate {what} ({ref}) on driver {driver}: " + "; ".join(answer.reasons[1:3]),
            source=source,
            inconclusive=True,
            remediation="Check the image's release notes by hand.",
        )
    if answer.mode in (Mode.MINOR_VERSION, Mode.FORWARD_COMPAT):
        how = "minor-version compatibility" if answer.mode is Mode.MINOR_VERSION else "forward compatibility"
        return Finding(
            rule=CHECK_ID,
            severity=Severity.INFO,
            action=Action.NONE,
            message=f"{what} ({ref}) runs on driver {driver} through {how}",
            expected=answer.fix,
            actual=f"driver {driver}",
            source=source,
            remediation="NGC images carry the cuda-compat libraries; a driver at the image's floor runs it natively.",
        )
    too_new = any(k in answer.details for k in ("tensorrt_last_for_gpu", "last_cuda_major"))
    reasons = [r for r in answer.details.get("worst_reasons", ()) if not r.startswith(f"{ref}: ")]
    return Finding(
        rule=CHECK_ID,
        severity=Severity.HIGH,
        action=Action.ROLLBACK if too_new else Action.UPGRADE,
        message=f"{what} runs {ref}, which cannot run here: " + "; ".join((reasons or list(answer.reasons))[:3]),
        expected=answer.fix,
        actual=f"driver {driver}" + (f" on {', '.join(g.label for g in gpus)}" if gpus else ""),
        source=source,
        remediation=sentence(answer.fix) if answer.fix else f"Run an image this host's driver supports in {what}.",
    )


def _info(message: str, remediation: str | None) -> Finding:
    return Finding(
        rule=CHECK_ID,
        severity=Severity.INFO,
        action=Action.NONE,
        message=message,
        source=tables.as_of_text(),
        remediation=remediation,
    )


CHECK = Check(
    id=CHECK_ID,
    reads=("driver", "gpus", "containers"),
    judge=running_containers,
    switches=SWITCHES["containers"],
)
