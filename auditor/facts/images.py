"""Container image references and registry digests, as the probe reports them and policies pin them.

A reference is ``[registry[:port]/]path[:tag][@sha256:<64 hex>]`` (the grammar of Docker's
``distribution/reference``); a tag is whatever follows the last ``:`` after the last ``/``
(docs/research/workflows.md, section C). A registry digest is ``sha256:`` and 64 lowercase
hex digits: what ``docker image inspect --format '{{json .RepoDigests}}'`` lists as
``REPO@sha256:...`` and ``docker pull`` prints. Everything here is strict: a reference or
digest of any other shape is a ``BadReference``, never guessed at.

A **floating** tag is one that can move to another image without the reference changing:
``latest`` (or no tag, which means ``latest``) and any tag that is not a dated release tag.
A **dated** release tag starts with a year and month (NGC's ``YY.MM[-suffix]``, ``24.08-py3``;
``YYYY.MM[.DD]``, ``YYYYMMDD``, with an optional ``-suffix``); a reference with a digest is
pinned whatever its tag says.
"""

from __future__ import annotations

import re

from auditor.records import record

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
"""A registry digest (the only algorithm registries use for image manifests today)."""
IMAGE_ID = DIGEST
"""A local image ID (``docker inspect``'s ``.Image``) has the same shape, but is not a registry digest."""
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+:\d+|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+:\d+)"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_DATED = re.compile(
    r"^v?(?:\d{2}|\d{4})[.-]?(?:0[1-9]|1[0-2])(?:[.-]?(?:0[1-9]|[12]\d|3[01]))?(?:[-_.+][A-Za-z0-9_.-]*)?$"
)
MAX_REFERENCE = 512
DOCKER_HUB = "docker.io"


class BadReference(ValueError):
    """Text that is not an image reference (or a digest) of the strict shape above."""


@record
class ImageReference:
    """A parsed reference: ``repository`` as written (no tag, no digest), ``tag`` and ``digest`` if given."""

    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def canonical(self) -> str:
        """The repository as registries name it: Docker Hub's short names made whole (``busybox`` ->
        ``docker.io/library/busybox``), so ``busybox`` and ``docker.io/library/busybox`` compare equal."""
        return canonical_repository(self.repository)

    @property
    def floating(self) -> bool:
        """True when the reference can start naming another image: no digest, and no dated release tag."""
        return self.digest is None and not dated_tag(self.tag or "latest")

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.repository}{tag}{digest}"


def parse_reference(text: str) -> ImageReference:
    """``nvcr.io/nvidia/tritonserver:24.08-py3@sha256:...`` -> ImageReference; ``BadReference`` otherwise."""
    if len(text) > MAX_REFERENCE:
        raise BadReference(f"an image reference is at most {MAX_REFERENCE} characters, got {len(text)}")
    match = _REFERENCE.match(text.strip())
    if not match:
        raise BadReference(
            f"not an image reference like nvcr.io/nvidia/tritonserver:24.08-py3 or REPO@sha256:<64 hex>: {text!r}"
        )
    return ImageReference(match.group("name"), match.group("tag"), match.group("digest"))


def parse_repo_digest(text: str) -> ImageReference:
    """A ``RepoDigests`` entry, ``REPO@sha256:<64 hex>`` (no tag); ``BadReference`` otherwise."""
    reference = parse_reference(text)
    if reference.digest is None or reference.tag is not None:
        raise BadReference(f"not a repository digest like REPO@sha256:<64 hex>: {text!r}")
    return reference


def is_digest(text: str) -> bool:
    """True for ``sha256:`` and 64 lowercase hex digits."""
    return bool(DIGEST.match(text))


def dated_tag(tag: str) -> bool:
    """True for a dated release tag (``24.08-py3``, ``2024.11.02``, ``20241102-cuda12``); ``latest`` is not."""
    return bool(_DATED.match(tag))


def canonical_repository(repository: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox``; ``team/app`` -> ``docker.io/team/app``; others unchanged.

    Docker Hub is the default registry: a first component without ``.`` or ``:`` that is not
    ``localhost`` is a Hub path (distribution/reference's normalisation).
    """
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return repository
    if not rest:
        return f"{DOCKER_HUB}/library/{repository}"
    return f"{DOCKER_HUB}/{repository}"
