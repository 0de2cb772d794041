"""The probe's readers of docker, the NVIDIA Container Toolkit and MIG, fed what the real tools printed
(tests/fixtures/real/workflows/, README there), and the stand-ins checked against the same recordings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from auditor.probe.remote.container_details import (
    CONTAINER_TEMPLATE,
    gpu_request,
    json_values,
    parse_container_lines,
    parse_image_lines,
)
from auditor.probe.remote.container_toolkit import (
    parse_containerd,
    parse_crio,
    parse_ctk_version,
    parse_daemon_json,
    parse_docker_runtimes,
    parse_toolkit_config,
)
from auditor.probe.remote.mig import parse_lgi
from auditor.simulate.runtimes import standin_text
from tests.support.paths import REAL

WORKFLOWS = REAL / "workflows"
CONTAINER = WORKFLOWS / "container"
HOST_TXT = (WORKFLOWS / "gpu" / "host.txt").read_text()


def recorded(name: str) -> str:
    return (CONTAINER / name).read_text()


def section(title: str) -> str:
    """One command's output in gpu/host.txt (``### <command>`` up to its ``rc=`` line)."""
    return HOST_TXT.split(f"### {title}\n", 1)[1].split("rc=", 1)[0]


# ------------------------------------------------------------------ docker


def test_inspect_templates_read_the_real_lines() -> None:
    """docker inspect's {{json}} fields, space-separated (docker-inspect-format-json.out), read value by value."""
    rows = [json_values(line) for line in recorded("docker-inspect-format-json.out").splitlines()]
    assert [(r[0], r[2], gpu_request(r[3]), r[4]) for r in rows] == [
        ("127.0.0.1:35123/nvidia/tritonserver:24.08-py3", "runc", None, "running"),
        ("127.0.0.1:35123/nvidia/tritonserver:24.08-py3", "runc", "all", "created"),  # --gpus all
        ("127.0.0.1:35123/nvidia/tritonserver:24.08-py3", "nvidia", "0,1", "created"),  # --gpus '"device=0,1"'
        ("127.0.0.1:35123/nvidia/tritonserver:24.08-py3", "nvidia", None, "created"),  # --runtime=nvidia alone
    ]
    with pytest.raises(ValueError):  # inspect keeps \t literal: never split on it (docker-inspect-format.out)
        json_values(recorded("docker-inspect-format.out").splitlines()[0])


def test_the_probes_template_over_the_real_containers() -> None:
    """CONTAINER_TEMPLATE's fields, taken from the real ``docker inspect`` JSON as Go's {{json}} prints them, parse back."""
    inspected = json.loads(recorded("docker-inspect-containers.out"))
    fields = (
        lambda c: c["Id"],
        lambda c: c["Name"],
        lambda c: c["Config"]["Image"],
        lambda c: c["Image"],
        lambda c: c["HostConfig"]["Runtime"],
        lambda c: c["HostConfig"]["DeviceRequests"],
        lambda c: c["State"]["Status"],
    )
    assert CONTAINER_TEMPLATE.count("{{json ") == len(fields)
    text = "\n".join(" ".join(json.dumps(f(c), separators=(",", ":")) for f in fields) for c in inspected)
    found, bad = parse_container_lines(text)
    assert bad == 0
    by_name = {d["name"]: d for d in found.values()}
    assert by_name["triton-latest"]["image"] == "127.0.0.1:35123/nvidia/tritonserver:latest"  # as typed, not the ID
    assert by_name["triton-latest"]["image_id"].startswith("sha256:920eb632")
    assert (by_name["gpu-two"]["gpus"], by_name["gpu-two"]["runtime"], by_name["gpu-two"]["state"]) == (
        "0,1",
        "nvidia",
        "created",
    )


def test_repo_digests_come_from_the_image() -> None:
    """``docker image inspect``'s {{json .Id}} {{json .RepoDigests}}, from the real image: REPO@sha256 per registry."""
    image = json.loads(recorded("docker-image-inspect.out"))[0]
    line = f"{json.dumps(image['Id'])} {json.dumps(image['RepoDigests'], separators=(',', ':'))}"
    assert parse_image_lines(line) == {
        "sha256:920eb632d4d22389d441b28936990499da1d692c4a0ab005e3dccb77fb2627d1": [
            "127.0.0.1:35123/nvidia/tritonserver@sha256:9a08a64b86f956c436010f9fdad7ad5c9f6c137136da0c605c751859349e8d10"
        ]
    }


@pytest.fixture
def engine(tmp_path: Path) -> Path:
    """The stand-in docker holding the real engine's containers and image (inspect output as recorded)."""
    state = {
        "access": "ok",
        "containers": json.loads(recorded("docker-inspect-containers.out")),
        "images": [
            *json.loads(recorded("docker-image-inspect.out")),
            {
                "Id": "sha256:39390d471bec443875c900b1cee19be428bb4fd7a7c15d9568e3a77c52491d6c",
                "RepoTags": ["127.0.0.1:35123/nvidia/tritonserver:latest"],
                "RepoDigests": [
                    "127.0.0.1:35123/nvidia/tritonserver@sha256:2546e0af18e0bf580a710a8c654e95e24d0130beef50333d8b9db19f35f376f8"
                ],
            },
        ],
        "runtimes": json.loads(recorded("docker-info-runtimes.out")),
        "default_runtime": recorded("docker-info-default-runtime.out").strip(),
    }
    (tmp_path / "usr/share/auditor-sim").mkdir(parents=True)
    (tmp_path / "usr/share/auditor-sim/containers.json").write_text(json.dumps(state))
    docker = tmp_path / "usr/bin/docker"
    docker.parent.mkdir(parents=True)
    docker.write_text(standin_text("standin_docker.py"))
    docker.chmod(0o755)
    return docker


def run(docker: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(docker), *args], capture_output=True, text=True, check=False)


def test_the_standin_docker_answers_as_the_real_engine(engine: Path) -> None:
    """The recorded commands, run against the stand-in with the real engine's objects, print what docker printed."""
    names = ["triton-dated", "gpu-all", "gpu-two", "runtime-only"]
    template = (
        "{{json .Config.Image}} {{json .Image}} {{json .HostConfig.Runtime}} {{json .HostConfig.DeviceRequests}} "
        "{{json .State.Status}}"
    )
    assert run(engine, "inspect", "--format", template, *names).stdout == recorded("docker-inspect-format-json.out")
    ps = run(engine, "ps", "-a", "--no-trunc", "--format", "{{.ID}}\\t{{.Image}}\\t{{.Names}}\\t{{.State}}")
    # docker lists the newest first; the recording's containers were created in the inspect file's order
    assert ps.stdout == recorded("docker-ps-table.out")
    image = run(
        engine,
        "image",
        "inspect",
        "--format",
        "{{json .RepoTags}} {{json .RepoDigests}} {{.Id}}",
        "127.0.0.1:35123/nvidia/tritonserver:24.08-py3",
    )
    assert image.stdout == recorded("docker-image-inspect-repodigests.out").splitlines(keepends=True)[0]
    assert run(engine, "info", "--format", "{{json .Runtimes}}").stdout == recorded("docker-info-runtimes.out")
    missing = run(engine, "inspect", "no-such-container")
    assert (missing.returncode, missing.stdout, missing.stderr) == (
        1,
        recorded("docker-inspect-missing.out"),
        recorded("docker-inspect-missing.err"),
    )


def test_docker_info_runtimes_read() -> None:
    """``docker info --format '{{json .Runtimes}} {{json .DefaultRuntime}}'`` from the two recorded answers."""
    line = (
        recorded("docker-info-runtimes.out").strip()
        + " "
        + json.dumps(recorded("docker-info-default-runtime.out").strip())
    )
    assert parse_docker_runtimes(line) == (
        ["io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "nvidia", "runc"],
        "runc",
    )
    with pytest.raises(ValueError):  # no daemon: a template error instead of JSON (docker-no-daemon-format.err)
        parse_docker_runtimes(recorded("docker-no-daemon-format.err"))


# ------------------------------------------------------------------ the NVIDIA Container Toolkit


def test_toolkit_versions() -> None:
    """nvidia-ctk --version (real, 1.17.8) and nvidia-container-cli --version (the layout of public reports)."""
    assert parse_ctk_version(recorded("ctk-version.out")) == "1.17.8"
    assert parse_ctk_version(recorded("nvidia-container-cli-version.SYNTHESIZED.txt")) == "1.17.8"
    assert parse_ctk_version("nvidia-ctk: command not found") is None


def test_daemon_json_as_nvidia_ctk_writes_it() -> None:
    """daemon.json before, after `nvidia-ctk runtime configure --runtime=docker`, and with --set-as-default --cdi.enabled."""
    assert parse_daemon_json(recorded("docker-daemon.json.before"))["runtimes"] == []
    assert parse_daemon_json(recorded("docker-daemon.json.new")) == {
        "runtimes": ["nvidia"],
        "default_runtime": None,
        "nvidia_path": "nvidia-container-runtime",
        "cdi": False,
    }
    after = parse_daemon_json(recorded("docker-daemon.json.after-default-cdi"))
    assert (after["default_runtime"], after["cdi"]) == ("nvidia", True)
    with pytest.raises(ValueError):
        parse_daemon_json('["not", "an", "object"]')


def test_containerd_and_crio_configs() -> None:
    """containerd's default config (runc only), after nvidia-ctk (nvidia added, BinaryName), as default; CRI-O's drop-in."""
    assert parse_containerd(recorded("containerd-config.toml.default")) == {
        "runtimes": ["runc"],
        "default_runtime": "runc",
        "nvidia_binary": None,
    }
    assert parse_containerd(recorded("containerd-config.toml.after")) == {
        "runtimes": ["nvidia", "runc"],
        "default_runtime": "runc",
        "nvidia_binary": "/usr/bin/nvidia-container-runtime",
    }
    assert parse_containerd(recorded("containerd-config.toml.new-default"))["default_runtime"] == "nvidia"
    assert parse_crio(recorded("crio-99-nvidia.conf")) == {
        "runtimes": ["nvidia"],
        "nvidia_path": "/usr/bin/nvidia-container-runtime",
    }
    assert parse_toolkit_config(recorded("ctk-config-default.out")) == {"mode": "auto"}


def test_the_standin_nvidia_ctk_prints_the_real_version_line(tmp_path: Path) -> None:
    """The simulated toolkit's nvidia-ctk --version is byte for byte the real 1.17.8's."""
    ctk = tmp_path / "nvidia-ctk"
    ctk.write_text(standin_text("standin_nvidia_ctk.py", 'VERSION = "1.17.8"'))
    ctk.chmod(0o755)
    out = subprocess.run([str(ctk), "--version"], capture_output=True, text=True, check=True).stdout
    assert out == recorded("ctk-version.out")


# ------------------------------------------------------------------ MIG


# `nvidia-smi mig -lgi` with MIG on, as NVIDIA's MIG User Guide prints it ("Instance Geometry", example 1:
# https://docs.nvidia.com/datacenter/tesla/mig-user-guide/getting-started-with-mig.html). Not recorded: the lent
# H200 may not be reconfigured (docs/research/workflows.md, section B).
LGI_GUIDE = """\
+----------------------------------------------------+
| GPU instances:                                     |
| GPU   Name          Profile  Instance   Placement  |
|                       ID       ID       Start:Size |
|====================================================|
|   0  MIG 1g.5gb       19       13          6:1     |
+----------------------------------------------------+
|   0  MIG 2g.10gb      14        5          4:2     |
+----------------------------------------------------+
|   0  MIG 4g.20gb       5        1          0:4     |
+----------------------------------------------------+
"""


def test_gpu_instances_listed() -> None:
    """The guide's table read per GPU; the real H200's answer with MIG off is no instances; anything else is an error."""
    assert parse_lgi(LGI_GUIDE) == {
        0: [
            {"profile": "1g.5gb", "profile_id": 19, "instance_id": 13, "placement": "6:1"},
            {"profile": "2g.10gb", "profile_id": 14, "instance_id": 5, "placement": "4:2"},
            {"profile": "4g.20gb", "profile_id": 5, "instance_id": 1, "placement": "0:4"},
        ]
    }
    assert parse_lgi(section("nvidia-smi mig -lgi")) == {}
    with pytest.raises(ValueError, match="unrecognized"):
        parse_lgi(section("nvidia-smi mig -lgip"))  # the profiles' table is not the instances'


def test_the_standin_nvidia_smi_answers_mig_queries_as_the_h200_did(tmp_path: Path) -> None:
    """mig.mode.current/pending in both CSV forms and `mig -lgi` with MIG off: what the real H200 printed."""
    from auditor.simulate.roots import NVIDIA_SMI_STATE
    from auditor.simulate.runtimes import standin_text as text

    smi = tmp_path / "usr/bin/nvidia-smi"
    smi.parent.mkdir(parents=True)
    smi.write_text(text("standin_nvidia_smi.py"))
    smi.chmod(0o755)
    state = tmp_path / NVIDIA_SMI_STATE
    state.parent.mkdir(parents=True)
    gpu = {
        "index": 0,
        "name": "NVIDIA H200",
        "uuid": "GPU-1",
        "cc": "9.0",
        "memory_mib": 143771,
        "bus_id": "00000000:00:06.0",
        "mig_capable": True,
    }
    state.write_text(
        json.dumps({"state": "ok", "driver": "580.159.04", "library": "580.159.04", "cuda": "13.0", "gpus": [gpu]})
    )
    for fmt in ("csv", "csv,noheader,nounits"):
        command = f"nvidia-smi --query-gpu=name,mig.mode.current,mig.mode.pending --format={fmt}"
        out = subprocess.run([str(smi), command.split()[1], command.split()[2]], capture_output=True, text=True).stdout
        assert out == section(command)
    lgi = subprocess.run([str(smi), "mig", "-lgi"], capture_output=True, text=True)
    assert (lgi.returncode, lgi.stdout) == (0, section("nvidia-smi mig -lgi"))
    gpu["mig"] = {
        "current": "Enabled",
        "pending": "Enabled",
        "instances": [
            {"profile": "3g.71gb", "profile_id": 9, "instance_id": 1, "start": 0, "size": 4},
            {"profile": "3g.71gb", "profile_id": 9, "instance_id": 2, "start": 4, "size": 4},
        ],
    }
    state.write_text(
        json.dumps({"state": "ok", "driver": "580.159.04", "library": "580.159.04", "cuda": "13.0", "gpus": [gpu]})
    )
    table = subprocess.run([str(smi), "mig", "-lgi"], capture_output=True, text=True).stdout
    assert [i["profile"] for i in parse_lgi(table)[0]] == ["3g.71gb", "3g.71gb"]
    assert table.splitlines()[:6] == [
        *LGI_GUIDE.splitlines()[:5],
        "|   0  MIG 3g.71gb       9        1          0:4     |",
    ]
