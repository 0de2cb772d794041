"""Container, toolkit and MIG facts read strictly; image references and digests parsed in their one shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditor.facts.images import BadReference, canonical_repository, dated_tag, parse_reference, parse_repo_digest
from auditor.facts.model import FactsError
from auditor.facts.reader import parse_facts
from tests.support.documents import document
from tests.support.paths import REAL

DIGEST = "sha256:9a08a64b86f956c436010f9fdad7ad5c9f6c137136da0c605c751859349e8d10"


def container(**changes: object) -> dict:
    base = {
        "name": "triton",
        "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
        "id": "a" * 64,
        "state": "running",
        "image_id": "sha256:" + "1" * 64,
        "digests": [f"nvcr.io/nvidia/tritonserver@{DIGEST}"],
        "runtime": "runc",
        "gpus": "all",
    }
    return {**base, **changes}


def parse(**sections: object):
    return parse_facts(json.dumps(document(**sections)))


def test_references_as_docker_writes_them() -> None:
    """Registry with a port, tag and digest; Docker Hub short names made whole; a dated tag told from a floating one."""
    ref = parse_reference(f"127.0.0.1:35123/nvidia/tritonserver:24.08-py3@{DIGEST}")
    assert (ref.repository, ref.tag, ref.digest, ref.floating) == (
        "127.0.0.1:35123/nvidia/tritonserver",
        "24.08-py3",
        DIGEST,
        False,
    )
    assert str(ref) == f"127.0.0.1:35123/nvidia/tritonserver:24.08-py3@{DIGEST}"
    assert canonical_repository("busybox") == "docker.io/library/busybox"
    assert canonical_repository("team/app") == "docker.io/team/app"
    assert canonical_repository("localhost/app") == "localhost/app"
    assert parse_repo_digest(f"busybox@{DIGEST}").canonical == "docker.io/library/busybox"
    assert [
        dated_tag(t) for t in ("24.08-py3", "25.01-trtllm-python-py3", "2026.11.02", "latest", "1.2.3", "24.13")
    ] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    for bad in ("UPPER/case:1", "repo@sha256:abc", "repo:tag@" + DIGEST + "x", "", "a" * 600):
        with pytest.raises(BadReference):
            parse_reference(bad)
    with pytest.raises(BadReference):
        parse_repo_digest("repo:tag")  # a tag is not a digest


@given(st.text(max_size=80))
def test_any_text_parses_or_is_refused(text: str) -> None:
    """No input makes the reference parser raise anything but BadReference."""
    try:
        parse_reference(text)
    except BadReference:
        pass


def test_container_details_read_strictly() -> None:
    """Digests must be REPO@sha256:<64 hex>, image IDs sha256:<64 hex>, GPU requests a plain word: else the
    document is refused, naming the field."""
    facts = parse(
        containers={
            "runtime": "docker",
            "images": [],
            "running": [container()],
            "stopped": [container(name="x", state="created")],
        }
    )
    (running,), (stopped,) = facts.containers.running, facts.containers.stopped
    assert running.inspected and running.wants_gpus and running.digests == (f"nvcr.io/nvidia/tritonserver@{DIGEST}",)
    assert stopped.state == "created" and facts.containers.containers == (running, stopped)
    for field, value, message in (
        ("digests", ["nvcr.io/nvidia/tritonserver@sha256:zz"], "running[0].digests[0] must be REPO@sha256"),
        ("image_id", "920eb632", "running[0].image_id must be an image ID"),
        ("gpus", "all; rm -rf /", "running[0].gpus must be a GPU request"),
    ):
        with pytest.raises(FactsError, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse(containers={"runtime": "docker", "images": [], "running": [container(**{field: value})]})


def test_older_probes_have_no_toolkit_or_mig_facts() -> None:
    """The real H200 documents (before these collectors) read fine: toolkit and MIG are 'not collected', never empty."""
    facts = parse_facts((REAL / "probe.json").read_bytes())
    assert not facts.container_toolkit.collected and not facts.mig.collected
    assert facts.containers.running == () and not facts.containers.stopped


def test_mig_facts_read_strictly() -> None:
    """Profiles like 3g.71gb and placements like 0:4, else the document is refused."""
    device = {
        "index": 0,
        "current": "enabled",
        "pending": "enabled",
        "supported": True,
        "instances": [{"profile": "3g.71gb", "profile_id": 9, "instance_id": 1, "placement": "0:4"}],
    }
    facts = parse(mig={"devices": [device], "source": "nvml", "error": None})
    assert facts.mig.collected and facts.mig.devices[0].instances[0].profile == "3g.71gb"  # type: ignore[index]
    with pytest.raises(FactsError, match="must be a MIG profile"):
        parse(mig={"devices": [{**device, "instances": [{"profile": "<b>big</b>"}]}]})
    with pytest.raises(FactsError, match="must be a placement"):
        parse(mig={"devices": [{**device, "instances": [{"profile": "1g.18gb", "placement": "0-4"}]}]})
