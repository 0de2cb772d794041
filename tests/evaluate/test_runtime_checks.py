"""Image provenance, the container toolkit and MIG judged: containers.tag, containers.toolkit, <rule>/image.digest, <rule>/mig.*.

The containers are the ones recorded on a real docker engine (tests/fixtures/real/workflows/container/:
``docker inspect`` and ``docker image inspect``), turned into the probe's container records.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from auditor.evaluate.host import evaluate
from auditor.evaluate.registry import CHECK_IDS
from auditor.facts.model import Facts
from auditor.findings import Action, Finding, Severity, Verdict, verdict_of
from auditor.inventory import Host
from auditor.policy.files import load_policy
from auditor.policy.model import EMPTY_POLICY, Policy
from auditor.probe.remote.container_details import gpu_request
from tests.support.documents import facts
from tests.support.paths import REAL

CONTAINER = REAL / "workflows" / "container"
AS_OF = datetime.date(2026, 12, 4)
HOST = Host("gpu-01", "10.0.0.1", groups=("serving",))
H200 = {"count": 1, "devices": [{"index": 0, "name": "NVIDIA H200", "compute_capability": "9.0"}]}
DATED = "sha256:9a08a64b86f956c436010f9fdad7ad5c9f6c137136da0c605c751859349e8d10"  # 24.08-py3, as pushed
LATEST = "sha256:2546e0af18e0bf580a710a8c654e95e24d0130beef50333d8b9db19f35f376f8"  # latest after it moved
REPO = "127.0.0.1:35123/nvidia/tritonserver"


def recorded_containers() -> dict[str, dict[str, Any]]:
    """The six real containers as the probe reports them: inspect's fields and their image's RepoDigests."""
    inspected = json.loads((CONTAINER / "docker-inspect-containers.out").read_text())
    digests: dict[str, list[str]] = {}
    current = ""
    for line in (CONTAINER / "docker-image-inspect-moved-tag.out").read_text().splitlines():
        first, _, rest = line.partition(" ")
        if first.startswith("sha256:"):  # "<id> <tags> <digests>": the image :latest names now
            digests[first] = json.loads(rest.split("] ", 1)[1])
        elif line.startswith("["):  # "<tags> <digests>" of the image the container on the line before runs
            digests[current] = json.loads(line.split("] ", 1)[1])
        else:  # "<container> <image id>"
            current = rest
    found = {}
    for container in inspected:
        name = container["Name"].lstrip("/")
        found[name] = {
            "name": name,
            "id": container["Id"],
            "image": container["Config"]["Image"],
            "image_id": container["Image"],
            "state": container["State"]["Status"],
            "runtime": container["HostConfig"]["Runtime"],
            "gpus": gpu_request(container["HostConfig"]["DeviceRequests"]),
            "digests": digests[container["Image"]],
        }
    return found


RECORDED = recorded_containers()


def containers(*names: str, **changes: Any) -> dict[str, Any]:
    """The containers section with the recorded containers ``names`` (running ones up, created ones stopped)."""
    picked = [{**RECORDED[n], **changes} for n in names]
    up = [c for c in picked if c["state"] == "running"]
    return {"runtime": "docker", "images": [], "running": up, "stopped": [c for c in picked if c not in up]}


def toolkit(**changes: Any) -> dict[str, Any]:
    """A container_toolkit section: nvidia-ctk 1.17.8 installed, docker configured as nvidia-ctk writes it."""
    section: dict[str, Any] = {
        "installed": True,
        "version": "1.17.8",
        "version_source": "nvidia-ctk",
        "programs": {
            "nvidia-ctk": "/usr/bin/nvidia-ctk",
            "nvidia-container-runtime": "/usr/bin/nvidia-container-runtime",
            "nvidia-container-runtime-hook": "/usr/bin/nvidia-container-runtime-hook",
            "nvidia-container-cli": None,
        },
        "docker": {
            "config": "/etc/docker/daemon.json",
            "runtimes": ["nvidia"],
            "nvidia_path": "nvidia-container-runtime",
            "daemon_runtimes": ["io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "nvidia", "runc"],
            "daemon_default_runtime": "runc",
        },
        "error": None,
    }
    section.update(changes)
    return section


def judged(policy: Policy = EMPTY_POLICY, **sections: Any) -> tuple[list[Finding], list[str]]:
    parsed: Facts = facts(gpus=H200, **sections)
    result = evaluate(replace(policy, as_of=AS_OF), HOST, parsed)
    return list(result.findings), list(result.checks)


def rules(findings: list[Finding], prefix: str) -> list[Finding]:
    return [f for f in findings if f.rule.startswith(prefix)]


# ------------------------------------------------------------------ containers.tag


def test_a_moved_latest_tag_is_floating_and_the_fix_names_the_digest_it_runs() -> None:
    """triton-latest (real): started on :latest, which has moved since; the finding pins what it runs, 24.08's digest."""
    found, checks = judged(containers=containers("triton-latest", "triton-dated", "triton-digest"))
    (floating,) = rules(found, "containers.tag")
    assert "containers.tag" in checks
    assert "'triton-latest'" in floating.message and "floating tag latest" in floating.message
    assert floating.action is Action.INVESTIGATE and floating.severity is Severity.MEDIUM
    assert floating.expected == f"{REPO}@{DATED}" and floating.actual == f"{REPO}:latest"
    assert (
        floating.remediation == f"Pin the image: run {REPO}@{DATED} (the digest it runs now), or a dated release tag."
    )


@pytest.mark.parametrize(
    ("image", "floating"),
    [
        ("nvcr.io/nvidia/tritonserver:24.08-py3", False),  # NGC's YY.MM[-suffix]
        ("registry.example.com/team/server:2026.11.02-cuda13", False),
        ("registry.example.com/team/server:20261102", False),
        (f"nvcr.io/nvidia/tritonserver@{DATED}", False),
        (f"nvcr.io/nvidia/tritonserver:latest@{DATED}", False),  # a digest pins whatever the tag says
        ("nvcr.io/nvidia/tritonserver:latest", True),
        ("nvcr.io/nvidia/tritonserver", True),  # no tag means latest
        ("registry.example.com/team/server:v1.4.2", True),  # a version tag can be pushed again
        ("registry.example.com/team/server:stable", True),
    ],
)
def test_what_floats(image: str, floating: bool) -> None:
    """latest, no tag, or any tag that is not a dated release: floating; a dated tag or a digest: pinned."""
    found, _ = judged(containers=containers("triton-dated", image=image))
    assert bool(rules(found, "containers.tag")) is floating


def test_an_image_never_pushed_is_said_so() -> None:
    """A floating tag on an image with no registry digest: the finding says it was built here."""
    found, _ = judged(containers=containers("triton-dated", image="team/app:latest", digests=[]))
    (floating,) = rules(found, "containers.tag")
    assert "no registry digest (built here, never pushed or pulled)" in floating.message
    assert (floating.remediation or "").startswith("Push the image to a registry")


def test_the_tag_check_can_be_switched_off() -> None:
    """containers.tag is a built-in check a policy's disable: names."""
    assert "containers.tag" in CHECK_IDS and "containers.toolkit" in CHECK_IDS


# ------------------------------------------------------------------ containers.toolkit


def test_gpu_containers_without_the_toolkit_need_it_installed() -> None:
    """The recorded GPU containers (created: the engine refused them) on a host without the toolkit: upgrade."""
    kit = toolkit(installed=False, version=None, programs=dict.fromkeys(toolkit()["programs"]))
    found, _ = judged(
        containers=containers("gpu-all", "gpu-two", "runtime-only", "triton-dated"), container_toolkit=kit
    )
    (missing,) = rules(found, "containers.toolkit")
    assert missing.action is Action.UPGRADE and missing.severity is Severity.HIGH
    assert missing.message.startswith("3 containers ask for GPUs ('gpu-all', 'gpu-two', 'runtime-only')")
    assert missing.message.endswith("'gpu-all', 'gpu-two', 'runtime-only' not running (created)")
    assert "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker" in (
        missing.remediation or ""
    )
    assert missing.source == (
        "knowledge:runtime-states (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html)"
    )
    assert verdict_of(found) is Verdict.UPGRADE


def test_the_nvidia_runtime_unregistered_or_not_loaded() -> None:
    """--runtime=nvidia on a docker without the runtime: configure it; in daemon.json but not in the daemon: restart."""
    unregistered = toolkit(docker={"config": None, "runtimes": [], "daemon_runtimes": ["runc"]})
    found, _ = judged(containers=containers("gpu-two", "runtime-only"), container_toolkit=unregistered)
    (finding,) = rules(found, "containers.toolkit")
    assert finding.action is Action.INVESTIGATE and "neither daemon.json nor the running daemon" in finding.message
    assert (
        finding.remediation
        == "Run: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker."
    )
    stale = toolkit(docker={"config": "/etc/docker/daemon.json", "runtimes": ["nvidia"], "daemon_runtimes": ["runc"]})
    found, _ = judged(containers=containers("gpu-two"), container_toolkit=stale)
    (finding,) = rules(found, "containers.toolkit")
    assert "daemon.json registers it, the running daemon does not" in finding.message
    assert finding.remediation == "Run: sudo systemctl restart docker."


def test_a_working_toolkit_and_cpu_containers_give_nothing() -> None:
    """The toolkit configured for docker: no finding; containers that ask for no GPU are not judged at all."""
    found, checks = judged(containers=containers("gpu-all", "gpu-two", "triton-dated"), container_toolkit=toolkit())
    assert not rules(found, "containers.toolkit") and "containers.toolkit" in checks
    found, checks = judged(containers=containers("triton-dated"), container_toolkit=toolkit(installed=False))
    assert not rules(found, "containers.toolkit") and "containers.toolkit" not in checks


def test_what_cannot_be_told_is_inconclusive() -> None:
    """GPU containers, but an older probe without toolkit facts: inconclusive (investigate), never a pass."""
    found, _ = judged(containers=containers("gpu-all"))
    (finding,) = rules(found, "containers.toolkit")
    assert finding.inconclusive and "did not report the container toolkit" in finding.message
    not_inspected = {"runtime": "docker", "images": [], "running": [{"name": "x", "image": "a:1", "id": "1"}]}
    found, _ = judged(containers=not_inspected, container_toolkit=toolkit())
    (finding,) = rules(found, "containers.toolkit")
    assert finding.inconclusive and "whether containers ask for GPUs is not known" in finding.message


# ------------------------------------------------------------------ <rule>/image.digest


def pin_policy(tmp_path: Path, image: str) -> Policy:
    path = tmp_path / "pin.yaml"
    path.write_text(f'schema: auditor.policy/1\nrules:\n  - id: triton\n    image: "{image}"\n')
    return load_policy(path, checks=CHECK_IDS)


def test_a_pinned_digest_holds_when_the_image_has_it(tmp_path: Path) -> None:
    """triton-dated and triton-latest both run 24.08's image: pinned to its digest, neither is a finding."""
    policy = pin_policy(tmp_path, f"{REPO}:24.08-py3@{DATED}")
    found, checks = judged(policy, containers=containers("triton-dated", "triton-latest", "triton-digest"))
    assert "triton/image.digest" in checks and not rules(found, "triton/image.digest")


def test_another_digest_is_a_finding_citing_the_policy_line(tmp_path: Path) -> None:
    """Pinned to :latest's new digest, the containers on the old image are each a finding: redeploy the pin."""
    policy = pin_policy(tmp_path, f"{REPO}@{LATEST}")
    found, _ = judged(policy, containers=containers("triton-dated", "triton-latest"))
    off = rules(found, "triton/image.digest")
    assert [f.message.split(" (")[0] for f in off] == ["container 'triton-dated'", "container 'triton-latest'"]
    assert all(f.action is Action.UPGRADE and f.severity is Severity.HIGH for f in off)
    assert off[0].source == f"{tmp_path / 'pin.yaml'}:4" and off[0].expected == f"{REPO}@{LATEST}"
    assert off[0].actual == f"{REPO}@{DATED}" and off[0].remediation == f"Redeploy triton-dated from {REPO}@{LATEST}."


def test_no_digest_or_no_list_cannot_be_checked(tmp_path: Path) -> None:
    """A container of the pinned repository with no registry digest, or containers not listed: inconclusive."""
    policy = pin_policy(tmp_path, f"{REPO}@{LATEST}")
    found, _ = judged(policy, containers=containers("triton-dated", digests=[]))
    (finding,) = rules(found, "triton/image.digest")
    assert finding.inconclusive and "no registry digest" in finding.message
    denied = {"runtime": "docker", "images": [], "running": [], "error": "docker: permission denied"}
    found, _ = judged(policy, containers=denied)
    (finding,) = rules(found, "triton/image.digest")
    assert finding.inconclusive and "permission denied" in finding.message


def test_docker_hub_short_names_match_their_whole_names(tmp_path: Path) -> None:
    """busybox and docker.io/library/busybox are one repository (Docker's normalisation)."""
    policy = pin_policy(tmp_path, f"docker.io/library/busybox@{LATEST}")
    found, _ = judged(policy, containers=containers("triton-dated", image="busybox:1.36", digests=[f"busybox@{DATED}"]))
    (finding,) = rules(found, "triton/image.digest")
    assert finding.action is Action.UPGRADE and finding.actual == f"docker.io/library/busybox@{DATED}"
    unrelated = pin_policy(tmp_path, f"nvcr.io/nvidia/tensorrt@{LATEST}")
    found, _ = judged(unrelated, containers=containers("triton-dated"))
    assert not rules(found, "triton/image.digest")


# ------------------------------------------------------------------ <rule>/mig.*

MIG_POLICY = """schema: auditor.policy/1
rules:
  - id: pool
    mig: {mode: enabled, profiles: {3g.71gb: 2}}
"""


def mig_section(*devices: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    return {"devices": list(devices), "source": "nvml", "instances_source": "nvidia-smi mig -lgi", "error": error}


def gpu(index: int, current: str | None = "enabled", pending: str | None = None, profiles: Any = ()) -> dict[str, Any]:
    instances = None
    if current == "enabled" and profiles is not None:
        instances = [
            {"profile": p, "profile_id": 9, "instance_id": i + 1, "placement": f"{4 * i}:4"}
            for i, p in enumerate(profiles)
        ]
    supported = None if current is None else True
    return {
        "index": index,
        "uuid": f"GPU-{index}",
        "current": current,
        "pending": pending or current,
        "supported": supported,
        "instances": instances,
    }


def mig_findings(tmp_path: Path, *devices: dict[str, Any], policy: str = MIG_POLICY, **section: Any) -> list[Finding]:
    path = tmp_path / "mig.yaml"
    path.write_text(policy)
    found, _ = judged(load_policy(path, checks=CHECK_IDS), mig=mig_section(*devices, **section))
    return rules(found, "pool/mig")


def test_mig_as_the_policy_asks_passes(tmp_path: Path) -> None:
    """Every GPU with MIG on and two 3g.71gb instances (in any order): no finding."""
    assert (
        mig_findings(tmp_path, gpu(0, profiles=["3g.71gb", "3g.71gb"]), gpu(1, profiles=["3g.71gb", "3g.71gb"])) == []
    )


def test_a_pending_mode_is_a_reboot(tmp_path: Path) -> None:
    """MIG enabled, disable pending (the MIG User Guide: effective after a GPU reset or reboot): reboot, cited."""
    (finding,) = mig_findings(tmp_path, gpu(0, pending="disabled", profiles=["3g.71gb", "3g.71gb"]))
    assert finding.rule == "pool/mig.pending" and finding.action is Action.REBOOT
    assert "mig-user-guide/getting-started-with-mig.html" in (finding.source or "")
    assert (finding.source or "").startswith(f"{tmp_path / 'mig.yaml'}:4; knowledge:runtime-states")


def test_a_wrong_mode_and_wrong_instances_are_investigated(tmp_path: Path) -> None:
    """GPU 0 with MIG off: enable it (its own command); GPU 1 with seven 1g.18gb: recreate the instances."""
    off, cut = mig_findings(tmp_path, gpu(0, current="disabled"), gpu(1, profiles=["1g.18gb"] * 7))
    assert (off.rule, off.action, off.actual) == ("pool/mig.mode", Action.INVESTIGATE, "MIG disabled")
    assert off.remediation == "Run: sudo nvidia-smi -i 0 -mig 1, then create the GPU instances."
    assert (cut.rule, cut.actual, cut.expected) == ("pool/mig.profiles", "7x 1g.18gb", "2x 3g.71gb")


def test_a_gpu_without_mig(tmp_path: Path) -> None:
    """A GPU without MIG: nothing when the policy wants MIG off, a finding when it wants it on."""
    no_mig = {"index": 0, "current": None, "pending": None, "supported": False, "instances": None}
    (finding,) = mig_findings(tmp_path, no_mig)
    assert finding.message == "GPU 0 has no MIG, the policy wants MIG enabled"
    off = "schema: auditor.policy/1\nrules:\n  - id: pool\n    mig: disabled\n"
    assert mig_findings(tmp_path, no_mig, policy=off) == []


def test_unknown_mig_state_is_inconclusive(tmp_path: Path) -> None:
    """A mode not reported, instances not listed, or no mig section (an older probe): inconclusive, never a pass."""
    (unknown,) = mig_findings(tmp_path, gpu(0, current=None))
    assert unknown.inconclusive and unknown.rule == "pool/mig.mode"
    (unlisted,) = mig_findings(tmp_path, gpu(0, profiles=None), error="nvidia-smi mig -lgi: exit status 6")
    assert unlisted.inconclusive and "exit status 6" in unlisted.message
    path = tmp_path / "old.yaml"
    path.write_text(MIG_POLICY)
    found, _ = judged(load_policy(path, checks=CHECK_IDS))
    (old,) = rules(found, "pool/mig")
    assert old.inconclusive and "did not report MIG" in old.message
