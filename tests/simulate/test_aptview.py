"""The simulated hosts' apt view: what the stand-in apt-cache answers is what real apt reads from the same root."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.errors import InputErrors
from auditor.probe.remote.packages import parse_apt_policy, parse_dpkg_status
from auditor.simulate.fleet import parse_fleet
from auditor.simulate.roots import build_root
from auditor.yamlsrc import load_yaml

FLEET = """\
schema: auditor.fleet/1
repository: {driver: ["580.95.05"], cuda: ["13.0.2"], cudnn: ["9.10.2"], tensorrt: ["10.13.3.9"]}
hosts:
  h1:
    gpus: [{model: "NVIDIA A10", count: 1}]
    driver: "580.82.07"
    cuda_toolkits: ["12.9.1"]
    cudnn: "9.8.0"
    tensorrt: "10.13.3.9"
    python_tensorrt: "10.13.3.9"
    packages: {held: [driver, cudnn], gone: [cudnn], cached: [cudnn], pinned: {tensorrt: "10.13.3.9"}}
  h2:
    gpus: [{model: "NVIDIA A10", count: 1}]
    driver: "580.95.05"
    packages: {lists: false}
"""
NAMES = [
    "nvidia-driver-580",
    "libnvidia-compute-580",
    "cuda-toolkit-12-9",
    "cuda-toolkit-13-0",
    "libcudnn9-cuda-12",
    "libcudnn9-cuda-13",
    "libnvinfer10",
    "python3-libnvinfer",
]


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("aptview")
    (base / "fleet.yaml").write_text(FLEET)
    fleet = parse_fleet(load_yaml(base / "fleet.yaml"), str(base / "fleet.yaml"))
    return {h.name: build_root(h, base) for h in fleet.hosts}


def standin(root: Path) -> str:
    return subprocess.run(
        [str(root / "usr/bin/apt-cache"), "policy", *NAMES], capture_output=True, text=True, check=True
    ).stdout


def real(root: Path) -> str:
    env = {**os.environ, "APT_CONFIG": "/dev/null", "LC_ALL": "C"}
    argv = ["apt-cache", "-o", f"Dir={root}/", "-o", f"Dir::State::status={root}/var/lib/dpkg/status"]
    argv += ["-o", f"Dir::Etc={root}/etc/apt/", "policy", *NAMES]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout


def offers(text: str) -> set[tuple[str, str, int]]:
    return {(v["name"], v["version"], v["priority"]) for v in parse_apt_policy(text)}


@pytest.mark.skipif(shutil.which("apt-cache") is None, reason="needs apt's own apt-cache to compare with")
@pytest.mark.parametrize("host", ["h1", "h2"])
def test_standin_apt_cache_agrees_with_real_apt_on_the_same_root(roots: dict[str, Path], host: str) -> None:
    """Every version, pin priority and repository the stand-in prints, real apt-cache prints over the same files."""
    assert offers(standin(roots[host])) == offers(real(roots[host]))


def test_the_root_holds_what_the_spec_says(roots: dict[str, Path]) -> None:
    """Held components are held in dpkg's status, gone ones are not offered, cached ones are in apt's cache."""
    installed = {p["name"]: p for p in parse_dpkg_status((roots["h1"] / "var/lib/dpkg/status").read_text())}
    assert installed["nvidia-driver-580"]["held"] and installed["libcudnn9-cuda-12"]["held"]
    assert not installed["libnvinfer10"]["held"]
    offered = offers(standin(roots["h1"]))
    assert ("libcudnn9-cuda-12", "9.8.0-1", 500) not in offered  # gone from the repository
    assert ("libcudnn9-cuda-12", "9.10.2-1", 500) in offered  # the repository's newer cuDNN
    assert ("libnvinfer10", "10.13.3.9-1+cuda12.9", 1000) in offered  # the pin
    assert (roots["h1"] / "var/cache/apt/archives/libcudnn9-cuda-12_9.8.0-1_amd64.deb").exists()
    assert (
        offers(standin(roots["h2"])) == set()
        and not (roots["h2"] / "var/lib/apt/lists/_srv_auditor-sim_._Packages").exists()
    )


def test_bad_package_specs_are_located(tmp_path: Path) -> None:
    """An unknown component or a non-boolean lists: is an input error naming the fleet file and line."""
    text = FLEET.replace("gone: [cudnn]", "gone: [gpu]").replace("packages: {lists: false}", "packages: {lists: 1}")
    (tmp_path / "fleet.yaml").write_text(text)
    with pytest.raises(InputErrors) as caught:
        parse_fleet(load_yaml(tmp_path / "fleet.yaml"), str(tmp_path / "fleet.yaml"))
    message = str(caught.value)
    assert "unknown component 'gpu'" in message and "'lists' must be true or false" in message
    assert "fleet.yaml:11" in message and "fleet.yaml:15" in message
