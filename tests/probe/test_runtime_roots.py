"""The probe against simulated hosts with containers, the NVIDIA Container Toolkit and MIG
(tests/fixtures/runtime-fleet.yaml): what it reports, read back strictly, and judged."""

from __future__ import annotations

import datetime
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.errors import InputErrors
from auditor.evaluate.host import evaluate
from auditor.facts.model import Facts
from auditor.facts.reader import parse_facts
from auditor.findings import Action
from auditor.inventory import Host
from auditor.policy.model import EMPTY_POLICY
from auditor.probe.program import run_local
from auditor.simulate.fleet import load_fleet, parse_fleet
from auditor.simulate.roots import build_root
from auditor.yamlsrc import load_yaml
from tests.support.paths import FIXTURES

FLEET = {h.name: h for h in load_fleet(FIXTURES / "runtime-fleet.yaml").hosts}


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Facts]:
    base = tmp_path_factory.mktemp("runtime-roots")
    found = {}
    for name, host in FLEET.items():
        result = run_local(root=str(build_root(host, base)))
        assert result.returncode == 0, result.stderr.decode()
        found[name] = parse_facts(result.stdout)
    return found


def findings(facts: Facts, prefix: str) -> list:
    policy = replace(EMPTY_POLICY, as_of=datetime.date(2026, 12, 4))
    return [f for f in evaluate(policy, Host("h", "h"), facts).findings if f.rule.startswith(prefix)]


def test_containers_carry_digests_runtimes_gpu_requests_and_states(probed: dict[str, Facts]) -> None:
    """docker ps -a then docker inspect: each container as typed, its image's digest, runtime, GPUs and state."""
    containers = probed["docker-ok"].containers
    assert containers.error is None and containers.inspect_error is None
    up = {c.name: c for c in containers.running}
    assert set(up) == {"triton", "latest", "local"} and [c.name for c in containers.stopped] == ["waiting"]
    assert up["triton"].digests == (
        "nvcr.io/nvidia/tritonserver@sha256:9a08a64b86f956c436010f9fdad7ad5c9f6c137136da0c605c751859349e8d10",
    )
    assert (up["latest"].image, up["latest"].gpus, up["latest"].runtime) == (
        "nvcr.io/nvidia/tritonserver:latest",
        "0",
        "runc",
    )
    assert up["local"].digests == () and up["local"].gpus is None and not up["local"].wants_gpus
    waiting = containers.stopped[0]
    assert (waiting.state, waiting.runtime, waiting.wants_gpus, waiting.inspected) == ("created", "nvidia", True, True)
    assert all(c.image_id and c.image_id.startswith("sha256:") for c in containers.containers)


def test_floating_tags_found_on_the_simulated_host(probed: dict[str, Facts]) -> None:
    """:latest and an unpushed dev tag float; the digest-pinned 24.08 container does not."""
    names = sorted(f.message.split("'")[1] for f in findings(probed["docker-ok"], "containers.tag"))
    assert names == ["latest", "local"]


def test_the_toolkit_in_each_state(probed: dict[str, Facts]) -> None:
    """configured, absent, unconfigured, not restarted: the facts, and the check's answer for GPU containers."""
    ok = probed["docker-ok"].container_toolkit
    assert (ok.installed, ok.version, ok.version_source, ok.mode) == (True, "1.17.8", "nvidia-ctk", "auto")
    assert ok.docker is not None and ok.docker.nvidia and ok.docker.daemon_runtimes is not None
    assert ok.containerd is not None and ok.containerd.nvidia and ok.containerd.default_runtime == "nvidia"
    assert not findings(probed["docker-ok"], "containers.toolkit")
    absent = probed["toolkit-absent"]
    assert not absent.container_toolkit.installed and absent.container_toolkit.program("nvidia-ctk") is None
    assert [f.action for f in findings(absent, "containers.toolkit")] == [Action.UPGRADE]
    unconfigured = probed["toolkit-unconfigured"]
    assert unconfigured.container_toolkit.docker is not None and unconfigured.container_toolkit.docker.nvidia is False
    (finding,) = findings(unconfigured, "containers.toolkit")
    assert finding.action is Action.INVESTIGATE and "nvidia-ctk runtime configure --runtime=docker" in (
        finding.remediation or ""
    )
    stale = probed["toolkit-not-restarted"]
    assert stale.container_toolkit.version == "1.18.0"
    (finding,) = findings(stale, "containers.toolkit")
    assert finding.remediation == "Run: sudo systemctl restart docker."


def test_mig_modes_and_instances(probed: dict[str, Facts]) -> None:
    """Per GPU: MIG on with its instances (nvidia-smi mig -lgi), a pending disable, and an L4 without MIG."""
    mig = probed["mig-mixed"].mig
    assert mig.collected and mig.error is None and mig.instances_source == "nvidia-smi mig -lgi"
    first, second, l4 = mig.devices
    assert (first.current, first.pending, first.supported) == ("enabled", "enabled", True)
    assert [(i.profile, i.profile_id, i.placement) for i in first.instances or ()] == [
        ("3g.71gb", 9, "0:4"),
        ("2g.35gb", 14, "4:2"),
        ("1g.18gb", 19, "6:1"),
    ]
    assert (second.current, second.pending, second.instances) == ("enabled", "disabled", ())
    assert (l4.current, l4.supported, l4.instances) == (None, False, None)
    gpus = probed["mig-mixed"].gpus.devices
    assert [(g.mig_mode, g.mig_pending, g.mig_supported) for g in gpus] == [
        ("enabled", "enabled", None),
        ("enabled", "disabled", None),
        (None, None, False),
    ]


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ({"gpus": [{"model": "NVIDIA L4", "mig": {"mode": "enabled"}}]}, "'mig' needs a MIG-capable GPU"),
        ({"gpus": [{"model": "NVIDIA H200", "mig": {"mode": "on"}}]}, "'mode' must be enabled or disabled"),
        (
            {"gpus": [{"model": "NVIDIA H200", "mig": {"mode": "disabled", "profiles": ["1g.18gb"]}}]},
            "need MIG enabled",
        ),
        ({"gpus": [{"model": "NVIDIA H200", "mig": {"mode": "enabled", "profiles": ["big"]}}]}, "not a MIG profile"),
        ({"containers": {"running": [{"name": "a", "image": "x:1", "digest": "sha256:abc"}]}}, "'digest' must be"),
        ({"containers": {"running": [{"name": "a", "image": "x:1", "state": "paused"}]}}, "'state' must be one of"),
        ({"containers": {"running": [{"name": "a", "image": "x:1", "gpus": "some"}]}}, "'gpus' must be all, none"),
        ({"container_toolkit": {"state": "broken"}}, "'state' must be one of configured"),
        ({"container_toolkit": {"engines": ["cri-o"]}}, "unknown engine 'cri-o'"),
    ],
)
def test_fleet_files_with_bad_runtime_keys_are_refused(tmp_path: Path, host: dict, fragment: str) -> None:
    """Each new fleet key is validated, with the file's line in the message."""
    import yaml

    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump({"schema": "auditor.fleet/1", "hosts": {"h": {"driver": "580.95.05", **host}}}))
    with pytest.raises(InputErrors) as caught:
        parse_fleet(load_yaml(path), str(path))
    assert fragment in str(caught.value) and f"{path}:" in str(caught.value)
