"""The built-in check ``containers.tag``: no running container on a floating image tag.

A tag is a name that can be moved to another image (docs/research/workflows.md, section C:
after ``latest`` moved, a container still ran the old image, whose tags no longer included
``latest``). A running container whose reference is ``latest``, has no tag, or has any tag
that is not a dated release tag (NGC's ``YY.MM[-suffix]``, ``YYYY.MM.DD``...) and no digest
is a finding (``auditor.facts.images``): what it runs cannot be told from its reference, and
the next pull or restart may run something else. The finding names the registry digest it
runs now, so pinning it is one edit. A container whose image has no registry digest (built
here, never pushed or pulled) is said so: its provenance cannot be checked at all.
"""

from __future__ import annotations

from auditor.evaluate.check import BUILTIN, Check, Run
from auditor.evaluate.switches import SWITCHES
from auditor.facts.images import BadReference, parse_reference, parse_repo_digest
from auditor.facts.model import RunningContainer
from auditor.findings import Action, Finding, Severity

CHECK_ID = "containers.tag"
MAX_CONTAINERS = 64


def floating_tags(run: Run) -> None:
    """One finding per running container whose image reference can float."""
    facts = run.facts.containers
    if not facts.running or not run.wants(CHECK_ID):
        return
    for container in facts.running[:MAX_CONTAINERS]:
        finding = judge_tag(container)
        if finding is not None:
            run.add(finding)


def running_digest(container: RunningContainer, repository: str | None = None) -> str | None:
    """The registry digest the container's image has (for ``repository`` when given), or None."""
    for text in container.digests or ():
        reference = parse_repo_digest(text)
        if repository is None or reference.canonical == repository:
            return reference.digest
    return None


def judge_tag(container: RunningContainer) -> Finding | None:
    """The finding for one running container's reference, or None when it is pinned (digest or dated tag)."""
    what = f"container {container.name!r}"
    if not container.image:
        return None  # containers.image says a container reports no image
    try:
        reference = parse_reference(container.image)
    except BadReference:
        if container.image.startswith("sha256:"):  # docker ps shows an image ID once the tag moved on
            return _finding(what, container.image, "runs an image by its local ID, not by a registry reference", None)
        return None
    if not reference.floating:
        return None
    tag = reference.tag or "latest (no tag)"
    digest = running_digest(container, reference.canonical)
    if digest is not None:
        fix = f"{reference.repository}@{digest}"
        remediation = f"Pin the image: run {fix} (the digest it runs now), or a dated release tag."
    elif container.digests == ():
        fix = None
        remediation = "Push the image to a registry and run it by digest (REPO@sha256:...), or by a dated release tag."
    else:
        fix = None
        remediation = "Run the image by digest (REPO@sha256:...) or by a dated release tag."
    why = f"runs {container.image} on the floating tag {tag}" + (
        "; its image has no registry digest (built here, never pushed or pulled)" if container.digests == () else ""
    )
    return _finding(what, container.image, why, fix, remediation)


def _finding(what: str, image: str, why: str, fix: str | None, remediation: str | None = None) -> Finding:
    return Finding(
        rule=CHECK_ID,
        severity=Severity.MEDIUM,
        action=Action.INVESTIGATE,
        message=f"{what} {why}: what it runs can change without its reference changing",
        expected=fix or "a digest (REPO@sha256:...) or a dated release tag",
        actual=image,
        source=BUILTIN,
        remediation=remediation or "Run the image by digest (REPO@sha256:...) or by a dated release tag.",
    )


CHECK = Check(
    id=CHECK_ID,
    reads=("containers",),
    judge=floating_tags,
    switches=SWITCHES["image_tags"],
    needs_driver=False,
)
