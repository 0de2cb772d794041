"""What a simulated host's container engine, NVIDIA Container Toolkit and MIG look like on disk.

``container_files`` and ``toolkit_files`` give the files a fixture root needs (relative path,
text, mode), laid out as on real hosts and shaped like the real recordings in
tests/fixtures/real/workflows/container/ (docs/research/workflows.md, section C):

* ``usr/bin/docker`` (or podman): the stand-in (``standin_docker.py``), with its state in
  ``usr/share/auditor-sim/containers.json``: images with IDs and registry digests, containers
  with the image as typed, image ID, runtime, device requests and state, the daemon's runtimes;
* the toolkit's programs (``standin_nvidia_ctk.py``), ``/etc/nvidia-container-runtime/config.toml``,
  docker's ``/etc/docker/daemon.json`` as ``nvidia-ctk runtime configure`` writes it, and
  containerd's ``/etc/containerd/config.toml`` with (or without) the nvidia runtime table.

``mig_state`` is what the stand-in ``nvidia-smi`` needs to answer MIG queries and
``nvidia-smi mig -lgi`` for one GPU.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from typing import Any

from auditor.simulate.fleet import ContainerRun, MigSpec, SimHost

SIM = "usr/share/auditor-sim"
FileSpec = tuple[str, str, int]

# GPU instance profile IDs, from `nvidia-smi mig -lgip` on a real H200 (tests/fixtures/real/workflows/gpu/host.txt)
# and the A100-40GB table in NVIDIA's MIG User Guide ("List GPU Instance Profiles"); other names go by slices.
PROFILE_IDS = {
    "1g.18gb": 19,
    "1g.18gb+me": 20,
    "1g.35gb": 15,
    "2g.35gb": 14,
    "3g.71gb": 9,
    "4g.71gb": 5,
    "7g.141gb": 0,
    "1g.5gb": 19,
    "1g.5gb+me": 20,
    "1g.10gb": 15,
    "2g.10gb": 14,
    "3g.20gb": 9,
    "4g.20gb": 5,
    "7g.40gb": 0,
}
BY_SLICES = {1: 19, 2: 14, 3: 9, 4: 5, 7: 0}
# Memory slices each profile ID occupies (the sizes `nvidia-smi mig -lgipp` printed on the H200).
PROFILE_SIZES = {19: 1, 20: 1, 15: 2, 14: 2, 9: 4, 5: 4, 0: 8}


def mig_state(spec: MigSpec) -> dict[str, Any]:
    """The stand-in nvidia-smi's view of one GPU's MIG: modes as nvidia-smi prints them, and the instances."""
    instances, start = [], 0
    for number, profile in enumerate(spec.profiles if spec.mode == "enabled" else ()):
        slices = int(profile.split("g", 1)[0])
        profile_id = PROFILE_IDS.get(profile, BY_SLICES.get(slices, 19))
        size = PROFILE_SIZES.get(profile_id, slices)
        instances.append(
            {"profile": profile, "profile_id": profile_id, "instance_id": number + 1, "start": start, "size": size}
        )
        start += size
    return {"current": spec.mode.capitalize(), "pending": spec.pending.capitalize(), "instances": instances}


def _digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _split(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of a reference as typed (tag None when absent)."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = name.rpartition(":")
        return repository, tag, digest or None
    return name, None, digest or None


def _image_record(run: ContainerRun) -> dict[str, Any]:
    """The image a container runs: its ID, tags and registry digests (empty: never pushed or pulled)."""
    repository, tag, typed_digest = _split(run.image)
    digest = typed_digest if run.digest is None else run.digest
    if digest is None:
        digest = _digest(f"manifest/{repository}:{tag or 'latest'}")
    image_id = _digest(f"config/{repository}/{digest or run.image}")
    return {
        "Id": image_id,
        "RepoTags": [f"{repository}:{tag or 'latest'}"] if not typed_digest else [],
        "RepoDigests": [f"{repository}@{digest}"] if digest else [],
    }


def _device_requests(gpus: str | None) -> list[dict[str, Any]] | None:
    """``HostConfig.DeviceRequests`` as docker records ``--gpus all`` and ``--gpus '"device=0,1"'``."""
    if gpus is None:
        return None
    if gpus == "all":
        return [{"Driver": "", "Count": -1, "DeviceIDs": None, "Capabilities": [["gpu"]], "Options": {}}]
    return [{"Driver": "", "Count": 0, "DeviceIDs": gpus.split(","), "Capabilities": [["gpu"]], "Options": {}}]


def container_files(host: SimHost) -> list[FileSpec]:
    """The container engine's stand-in and its state (images, containers, runtimes, access)."""
    spec = host.containers
    assert spec is not None
    images: dict[str, dict[str, Any]] = {}
    for image in spec.images:
        repository, tag, _ = _split(image)
        record = _image_record(ContainerRun(name="", image=image))
        images.setdefault(record["Id"], {**record, "Repository": repository, "Tag": tag or "latest"})
    containers = []
    for run in spec.containers:
        record = _image_record(run)
        repository, tag, _ = _split(run.image)
        images.setdefault(record["Id"], {**record, "Repository": repository, "Tag": tag or "<none>"})
        containers.append(
            {
                "Id": hashlib.sha256(f"{host.name}/{run.name}".encode()).hexdigest(),
                "Name": "/" + run.name,
                "Config": {"Image": run.image},
                "Image": record["Id"],
                "HostConfig": {"Runtime": run.runtime, "DeviceRequests": _device_requests(run.gpus)},
                "State": {"Status": run.state},
            }
        )
    toolkit = host.container_toolkit
    runtimes = {"io.containerd.runc.v2": {"path": "runc"}, "runc": {"path": "runc"}}
    if toolkit is not None and toolkit.state == "configured" and "docker" in toolkit.engines:
        runtimes["nvidia"] = {"path": "nvidia-container-runtime"}
    state = {
        "access": spec.access,
        "images": [{**image, "ID": image["Id"].split(":", 1)[1][:12]} for image in images.values()],
        "containers": containers,
        "runtimes": runtimes,
        "default_runtime": "runc",
    }
    return [
        (f"{SIM}/containers.json", json.dumps(state, indent=1), 0o644),
        (f"usr/bin/{spec.runtime}", standin_text("standin_docker.py"), 0o755),
    ]


def toolkit_files(host: SimHost) -> list[FileSpec]:
    """The NVIDIA Container Toolkit as its state says: programs, config.toml, docker's and containerd's config."""
    toolkit = host.container_toolkit
    assert toolkit is not None
    if toolkit.state == "absent":
        return []
    files: list[FileSpec] = []
    for program in ("nvidia-ctk", "nvidia-container-runtime", "nvidia-container-runtime-hook", "nvidia-container-cli"):
        files.append(
            (f"usr/bin/{program}", standin_text("standin_nvidia_ctk.py", f'VERSION = "{toolkit.version}"'), 0o755)
        )
    files.append(("etc/nvidia-container-runtime/config.toml", TOOLKIT_CONFIG, 0o644))
    configured = toolkit.state in ("configured", "not-restarted")
    if "docker" in toolkit.engines:
        files.append(("etc/docker/daemon.json", DAEMON_JSON if configured else "{}\n", 0o644))
    if "containerd" in toolkit.engines:
        files.append(("etc/containerd/config.toml", CONTAINERD_NVIDIA if configured else CONTAINERD_DEFAULT, 0o644))
    return files


def standin_text(module: str, preamble: str = "") -> str:
    """A stand-in program: this interpreter in the shebang, ``preamble``, then the module's source."""
    source = resources.files("auditor.simulate").joinpath(module).read_text("utf-8")
    return f"#!{sys.executable} -SE\n{preamble}\n{source}"


# What `nvidia-ctk runtime configure --runtime=docker` wrote on a host without daemon.json
# (tests/fixtures/real/workflows/container/docker-daemon.json.new: keys sorted, 4-space indent, no newline).
DAEMON_JSON = """{
    "runtimes": {
        "nvidia": {
            "args": [],
            "path": "nvidia-container-runtime"
        }
    }
}"""

# `nvidia-ctk runtime configure --runtime=containerd --set-as-default` on a host without a config
# (containerd-config.toml.new-default), and containerd's own default's runtime part (.default).
CONTAINERD_NVIDIA = """version = 2

[plugins]

  [plugins."io.containerd.grpc.v1.cri"]

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "nvidia"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
          privileged_without_host_devices = false
          runtime_engine = ""
          runtime_root = ""
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
            BinaryName = "/usr/bin/nvidia-container-runtime"
"""
CONTAINERD_DEFAULT = """version = 2

[plugins]

  [plugins."io.containerd.grpc.v1.cri"]

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = false
"""
# The parts of `nvidia-ctk config default` (ctk-config-default.out) the probe reads.
TOOLKIT_CONFIG = """disable-require = false
supported-driver-capabilities = "compat32,compute,display,graphics,ngx,utility,video"

[nvidia-container-cli]
environment = []
ldconfig = "@/sbin/ldconfig"
load-kmods = true

[nvidia-container-runtime]
log-level = "info"
mode = "auto"
runtimes = ["docker-runc", "runc", "crun"]

[nvidia-container-runtime.modes.cdi]
annotation-prefixes = ["cdi.k8s.io/"]
default-kind = "nvidia.com/gpu"
spec-dirs = ["/etc/cdi", "/var/run/cdi"]

[nvidia-container-runtime-hook]
path = "nvidia-container-runtime-hook"
skip-mode-detection = false

[nvidia-ctk]
path = "nvidia-ctk"
"""
