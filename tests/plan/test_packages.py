"""Packages in a plan, on what the real package managers said (the recorded Debian chroot and dnf root).

The probe's ``packages`` collector runs against fixture roots that replay the recorded
``apt-cache``, ``rpm`` and ``dnf`` output (tests/support/replay.py); the planner then judges
the rollback and the installs from those facts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.evaluate.registry import CHECK_IDS
from auditor.plan.model import BlockerKind, HostPlan, HostStatus, PackageSource
from auditor.plan.packages import request_names
from auditor.plan.target import build_target
from auditor.policy.files import load_policies
from auditor.policy.model import Policy
from auditor.probe.program import run_local
from auditor.probe.request import encode_request
from tests.support.plans import A100, AS_OF, POLICY, driver, host, one, toolkit, trt
from tests.support.replay import debian_root, rhel_root


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return load_policies([path], as_of=AS_OF, checks=CHECK_IDS)


def packages_of(root: Path, names: list[str] | None) -> dict[str, Any]:
    """The probe's packages section for a replay root, asked about ``names`` (None: not asked)."""
    result = run_local(root=str(root), request=encode_request(packages=names))
    return json.loads(result.stdout)["packages"]


def planned(policy: Policy, section: dict[str, Any], settings: list[str], **facts: Any) -> HostPlan:
    """One host's plan: the recorded host's driver, CUDA and TensorRT, with the packages the probe read."""
    sections = {
        "driver": driver("580.95.05"),
        "gpus": A100,
        "cuda": toolkit("12.8.1"),
        "tensorrt": trt("10.13.3.9"),
        "cudnn": {"version": "9.10.2", "installs": [{"version": "9.10.2", "source": "dpkg"}]},
        **facts,
    }
    document = {**sections, "packages": section}
    target = build_target(policy, None, settings)
    names = request_names([(c.component, c.version) for c in target.components if c.version])
    assert names  # what the plan's probe request asks about
    return one(host(**document), target, policy)


def kinds(hp: HostPlan) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for blocker in hp.blockers:
        found.setdefault(blocker.kind.value, set()).add(blocker.component)
    return found


def test_debian_pins_block_exact_versions_and_a_dpkg_only_package_blocks_the_rollback(
    tmp_path: Path, policy: Policy
) -> None:
    """The recorded chroot: a priority-1000 pin keeps the driver at 580.95.05 and a 1001 pin TensorRT at 10.13.3.9
    (Ansible's apt module then refuses another version: blocked, "pinned"); libnvinfer-lean10, installed with
    dpkg -i only, is in no repository and no cache (blocked, "rollback")."""
    section = packages_of(debian_root(tmp_path / "debian"), request_names([("driver", "580.105.08")]))
    hp = planned(policy, section, ["driver=580.105.08", "tensorrt=10.14.1.48"])
    assert hp.status is HostStatus.BLOCKED
    # and the repository has no libnvinfer-lean10 10.14.1.48 at all (blocked, "unavailable")
    assert kinds(hp) == {"pinned": {"driver", "tensorrt"}, "rollback": {"tensorrt"}, "unavailable": {"tensorrt"}}
    pinned = next(b for b in hp.blockers if b.kind is BlockerKind.PINNED and b.component == "driver")
    assert "nvidia-driver-580 at 580.95.05-0ubuntu1 (priority 1000)" in pinned.reason
    assert "libnvinfer-lean10" in next(b.reason for b in hp.blockers if b.kind is BlockerKind.UNAVAILABLE)
    rollback = {p.name: p for p in hp.rollback.packages}  # type: ignore[union-attr]
    assert rollback["nvidia-driver-580"].source is PackageSource.REPOSITORY
    assert rollback["libnvinfer-lean10"].source is PackageSource.NONE
    installs = {p.name: p.version for p in hp.packages}
    assert (
        installs["nvidia-driver-580"] == "580.105.08-0ubuntu1" and installs["cuda-drivers-580"] == "580.105.08-1ubuntu1"
    )
    assert installs["libnvinfer10"] == "10.14.1.48-1+cuda12.9"  # the host's CUDA 12 line, not +cuda13.0


def test_debian_local_repository_serves_the_cudnn_rollback(tmp_path: Path, policy: Policy) -> None:
    """cuDNN 9.10.2.21 comes from the local repository (NVIDIA's local installer layout): the rollback is possible,
    and the upgrade installs libcudnn9-cuda-12 9.14.0.64-1 from the network repository."""
    section = packages_of(debian_root(tmp_path / "debian"), [])
    hp = planned(policy, section, ["cudnn=9.14.0"])
    assert hp.status is HostStatus.PLANNED and hp.blockers == ()
    assert [(p.name, p.version, p.source) for p in hp.rollback.packages] == [  # type: ignore[union-attr]
        ("libcudnn9-cuda-12", "9.10.2.21-1", PackageSource.REPOSITORY)
    ]
    assert [(p.name, p.version) for p in hp.packages] == [("libcudnn9-cuda-12", "9.14.0.64-1")]


def test_a_version_only_in_the_cache_is_not_offered(tmp_path: Path, policy: Policy) -> None:
    """580.82.07 is only in apt's cache (recorded: apt-get install -s PKG=580.82.07... exits 100): as a target it
    is unavailable; the cache makes a rollback possible, never an install by version."""
    section = packages_of(debian_root(tmp_path / "debian"), request_names([("driver", "580.82.07")]))
    hp = planned(policy, section, ["driver=580.82.07"])
    assert kinds(hp)["unavailable"] == {"driver"}
    assert any("no configured repository offers" in b.reason for b in hp.blockers)


def test_dnf_versionlocks_hold_the_driver_and_nevras_are_exact(tmp_path: Path, policy: Policy) -> None:
    """The recorded dnf root: the driver is version-locked (no warning), 580.105.08 is offered with epoch 3, and the
    rollback to 580.95.05 comes from the repository."""
    section = packages_of(rhel_root(tmp_path / "rhel"), request_names([("driver", "580.105.08")]))
    hp = planned(policy, section, ["driver=580.105.08"])
    assert hp.status is HostStatus.PLANNED and hp.blockers == ()
    assert not any("not version-locked" in w.message for w in hp.warnings)
    assert {(p.name, p.version, p.manager) for p in hp.packages} >= {("nvidia-driver", "3:580.105.08-1.el9", "dnf")}
    assert all(p.source is PackageSource.REPOSITORY for p in hp.rollback.packages)  # type: ignore[union-attr]


def test_an_unheld_driver_is_a_warning(tmp_path: Path, policy: Policy) -> None:
    """A driver package without an apt hold keeps updating within its branch: the plan warns and cites NVIDIA."""
    root = debian_root(tmp_path / "debian")
    status = root / "var/lib/dpkg/status"
    status.write_text(status.read_text().replace("Status: hold ok installed", "Status: install ok installed"))
    hp = planned(policy, packages_of(root, []), ["driver=580.95.05"], driver=driver("580.82.07"))
    warning = next(w for w in hp.warnings if "not held" in w.message)
    assert "cuda-drivers-580" in warning.message and "nvidia-driver-580" in warning.message
    assert warning.source and "version-locking" in warning.source and not warning.unknown


def test_facts_without_availability_cannot_tell(tmp_path: Path, policy: Policy) -> None:
    """From a stored run (the probe was not asked about repositories) the rollback is unknown, never assumed."""
    hp = planned(policy, packages_of(debian_root(tmp_path / "debian"), None), ["driver=580.105.08"])
    unknown = [w.message for w in hp.warnings if w.unknown]
    assert any("rollback to driver 580.95.05" in m and "not asked" in m for m in unknown)
    assert hp.packages == () and hp.status is HostStatus.PLANNED


def test_a_component_not_from_a_package_cannot_be_rolled_back(tmp_path: Path, policy: Policy) -> None:
    """The real H200 image has no driver package (the driver is mounted): a driver change could not be rolled back."""
    root = tmp_path / "h200"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: libcudnn9-cuda-13\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 9.14.0.64-1\n\n"
    )
    (root / "usr/bin").mkdir(parents=True)
    hp = planned(policy, packages_of(root, None), ["driver=580.159.04"])
    assert kinds(hp) == {"rollback": {"driver"}}
    assert "not installed from a package" in hp.blockers[0].reason


def test_a_dnf_host_becomes_dnf_tasks_that_ansible_core_accepts(tmp_path: Path, policy: Policy) -> None:
    """The recorded dnf host's plan as a playbook: NEVRAs with the epoch, the versionlock plugin off for the
    transaction, locks lifted on every package of the component and set on the new versions; syntax-checked."""
    import subprocess
    import sys

    import yaml

    from auditor.plan.writers.playbook import PlaybookOptions, render_playbook
    from tests.support.plans import plan

    section = packages_of(rhel_root(tmp_path / "rhel"), request_names([("driver", "580.105.08")]))
    sections = {"driver": driver("580.95.05"), "gpus": A100, "cuda": toolkit("12.8.1"), "tensorrt": trt("10.13.3.9")}
    report = host(**sections, packages=section)
    result = plan([report], build_target(policy, None, ["driver=580.105.08"]), policy)
    text = render_playbook(result, PlaybookOptions(gate=("auditor", "report", "-i", "site.yaml"), fail_on="critical"))
    (play,) = yaml.safe_load(text)
    data = play["vars"]["auditor_plan"]["gpu-01"]
    assert data["manager"] == "dnf" and "nvidia-driver-3:580.105.08-1.el9" in data["install"]
    assert "cuda-drivers-580.105.08-1" in data["install"]  # epoch 0 is left out, as dnf prints it
    assert set(data["unlock"]) >= {"nvidia-driver", "kmod-nvidia-open-dkms", "nvidia-driver-cuda-libs", "cuda-drivers"}
    assert "nvidia-driver-3:580.95.05-1.el9" in data["rollback"] and data["lock"] == data["install"]
    dnf = next(t for t in play["tasks"][0]["block"] if t["name"] == "Install the plan's exact versions (dnf)")
    assert dnf["ansible.builtin.dnf"]["disable_plugin"] == ["versionlock"]
    (tmp_path / "pb.yml").write_text(text)
    checked = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "--syntax-check",
            "-i",
            "gpu-01,",
            str(tmp_path / "pb.yml"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")},
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
