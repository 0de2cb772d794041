"""Rule check ``<rule>/image.digest``: every running container of the pinned repository runs the pinned digest.

A policy ``image:`` written ``REPO[:TAG]@sha256:<64 hex>`` (or ``REPO@sha256:...``) pins the
registry digest. Each running container whose image belongs to REPO (by its reference as
typed, or by one of its image's registry digests; Docker Hub's short names made whole) must
run an image that has the pinned digest among its registry digests (``docker image inspect``'s
``RepoDigests``: what the container runs, whatever its tag says now). A container of REPO on
another digest is a finding (redeploy the pinned image); one whose image has no registry digest
or was not inspected cannot be verified (inconclusive). A host that runs no container of REPO
has nothing to judge; containers that could not be listed make the check inconclusive.
"""

from __future__ import annotations

from auditor.evaluate.check import Check, Run, inconclusive
from auditor.facts.images import BadReference, canonical_repository, parse_reference, parse_repo_digest
from auditor.facts.model import RunningContainer
from auditor.findings import Action, Finding, Severity


def repositories(container: RunningContainer) -> set[str]:
    """Every repository a container's image belongs to (canonical): its reference as typed and its digests'."""
    found = set()
    try:
        if container.image:
            found.add(parse_reference(container.image).canonical)
    except BadReference:
        pass  # an image ID (sha256:...) names no repository
    for text in container.digests or ():
        found.add(parse_repo_digest(text).canonical)
    return found


def digests_of(container: RunningContainer, repository: str) -> set[str]:
    """The registry digests the container's image has in ``repository`` (and a digest it was started by)."""
    found = set()
    for text in container.digests or ():
        reference = parse_repo_digest(text)
        if reference.digest and reference.canonical == repository:
            found.add(reference.digest)
    try:
        typed = parse_reference(container.image or "")
        if typed.digest and typed.canonical == repository:
            found.add(typed.digest)
    except BadReference:
        pass
    return found


def image_digest(run: Run) -> None:
    """The pinned digest against each running container of the pinned repository."""
    rule, facts = run.asking, run.facts
    pin = rule.image_pin
    assert pin is not None
    name = f"{rule.id}/image.digest"
    run.checks.append(name)
    source = str(pin.location)
    containers = facts.containers
    if containers.error:
        run.findings.append(
            inconclusive(name, f"containers could not be listed to check {pin.reference}: {containers.error}", source)
        )
        return
    repository = canonical_repository(pin.repository)
    for container in containers.running:
        if repository not in repositories(container):
            continue
        what = f"container {container.name!r} ({container.image})"
        if not container.inspected or container.digests is None:
            why = containers.inspect_error or "its image was not inspected"
            run.findings.append(inconclusive(name, f"{what}: the digest it runs is not known ({why})", source))
            continue
        found = digests_of(container, repository)
        if pin.digest in found:
            continue
        if not found:
            run.findings.append(
                inconclusive(
                    name,
                    f"{what} runs an image with no registry digest (built here, never pushed or pulled): "
                    f"it cannot be checked against {pin.digest}",
                    source,
                )
            )
            continue
        run.findings.append(
            Finding(
                rule=name,
                severity=Severity.HIGH,
                action=Action.UPGRADE,
                message=f"{what} runs {', '.join(sorted(found))}, not the pinned {pin.digest}",
                expected=pin.reference,
                actual=f"{pin.repository}@{sorted(found)[0]}",
                source=source,
                remediation=f"Redeploy {container.name} from {pin.repository}@{pin.digest}.",
            )
        )


CHECK = Check(
    id="image.digest", reads=("containers",), judge=image_digest, asks=lambda rule: rule.image_pin is not None
)
