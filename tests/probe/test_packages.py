"""The ``packages`` collector on what the real package managers printed (tests/fixtures/real/workflows/apt, rpm, gpu).

The parsers read the recorded files directly; the whole collector runs against fixture roots
whose ``apt-cache``, ``rpm`` and ``dnf`` replay the recorded output byte for byte, with the
recorded dpkg status stanzas, cache listings and version lock file in place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.facts.model import PackageManager
from auditor.facts.reader import parse_facts
from auditor.probe.program import run_local
from auditor.probe.remote import packages as P
from auditor.probe.request import encode_request
from tests.support.paths import REAL
from tests.support.replay import debian_root as replay_debian
from tests.support.replay import replay
from tests.support.replay import rhel_root as replay_rhel

WORKFLOWS = REAL / "workflows"
APT = WORKFLOWS / "apt"
RPM = WORKFLOWS / "rpm"


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def h200_section(title: str) -> str:
    """One command's output in gpu/host.txt (``### <title>`` up to its ``rc=`` line)."""
    body = text(WORKFLOWS / "gpu" / "host.txt").split(f"### {title}", 1)[1].split("\n", 1)[1]
    return body.split("\nrc=", 1)[0]


def test_apt_policy_keeps_repository_versions_with_their_pin_priorities() -> None:
    """Every version apt-cache policy lists from a repository is kept with its pin priority; dpkg-only ones are not."""
    offered = P.parse_apt_policy(text(APT / "apt-cache-policy.out"))
    by_name: dict[str, dict[str, int]] = {}
    for row in offered:
        by_name.setdefault(row["name"], {})[row["version"]] = row["priority"]
    assert by_name["nvidia-driver-580"] == {"580.105.08-0ubuntu1": 600, "580.95.05-0ubuntu1": 1000}
    assert by_name["libnvinfer10"]["10.13.3.9-1+cuda12.9"] == 1001
    assert set(by_name["libnvinfer10"]) == {
        "10.14.1.48-1+cuda12.9",
        "10.13.3.9-1+cuda13.0",
        "10.13.3.9-1+cuda12.9",
        "10.9.0.34-1+cuda12.8",
    }
    # the version from the local repository (two spaces before Packages) counts as a repository
    assert by_name["libcudnn9-cuda-12"] == {"9.14.0.64-1": 500, "9.10.2.21-1": 500}
    # the removed-but-not-purged package: its repository version stays installable
    assert by_name["libnvidia-compute-570"] == {"570.195.03-0ubuntu1": 500}
    # installed with dpkg -i only: no repository offers it
    assert "libnvinfer-lean10" not in by_name
    assert P.parse_apt_policy(text(APT / "apt-cache-policy-dpkg-only.out")) == []


def test_apt_policy_agrees_with_madison() -> None:
    """The repository versions read from apt-cache policy are exactly those apt-cache madison lists."""
    madison = {
        tuple(part.strip() for part in line.split("|")[:2]) for line in text(APT / "apt-cache-madison.out").splitlines()
    }
    policy = {(row["name"], row["version"]) for row in P.parse_apt_policy(text(APT / "apt-cache-policy.out"))}
    assert policy == madison


def test_h200_without_lists_offers_nothing() -> None:
    """On the real H200 image (no apt lists) every version table has only dpkg's status: nothing is offered."""
    output = h200_section("apt-cache policy cuda-cccl-13-0")
    assert "100 /var/lib/dpkg/status" in output
    assert P.parse_apt_policy(output) == []


def test_dpkg_status_installed_holds_and_config_files() -> None:
    """Holds are read from the status stanzas; a removed-but-not-purged package is not installed."""
    found = {p["name"]: p for p in P.parse_dpkg_status(text(APT / "dpkg-status-stanzas.out"))}
    held = {name for name, p in found.items() if p["held"]}
    assert held == {line.strip() for line in text(APT / "apt-mark-showhold.out").splitlines()}
    assert "libnvidia-compute-570" not in found
    assert found["nvidia-driver-580"] == {
        "name": "nvidia-driver-580",
        "version": "580.95.05-0ubuntu1",
        "arch": "amd64",
        "held": True,
    }
    query = {line.split("\t")[0]: line.split("\t")[1] for line in text(APT / "dpkg-query-W-globs.out").splitlines()}
    assert {name: p["version"] for name, p in found.items()} == {
        name: version for name, version in query.items() if name != "libnvidia-compute-570"
    }


def test_dpkg_status_among_thousands_of_other_stanzas_and_odd_layouts() -> None:
    """The recorded NVIDIA stanzas hidden among 3,000 others give the same packages; a stanza whose
    ``Package:`` is not its first field, and one after a blank line holding spaces, are still read."""
    recorded = text(APT / "dpkg-status-stanzas.out")
    others = "".join(
        f"Package: lib-other{i}\nStatus: install ok installed\nVersion: 1.{i}\nArchitecture: amd64\n\n"
        for i in range(3000)
    )
    assert P.parse_dpkg_status(others + recorded + "\n\n" + others) == P.parse_dpkg_status(recorded)
    odd = (
        "Status: install ok installed\nPackage: libnvinfer10\nVersion: 10.13.3.9-1+cuda13.0\nArchitecture: amd64\n"
        " \n"
        "Package: libcudnn9-cuda-13\nStatus: hold ok installed\nVersion: 9.14.0.64-1\nArchitecture: amd64\n"
    )
    assert P.parse_dpkg_status(odd) == [
        {"name": "libcudnn9-cuda-13", "version": "9.14.0.64-1", "arch": "amd64", "held": True},
        {"name": "libnvinfer10", "version": "10.13.3.9-1+cuda13.0", "arch": "amd64", "held": False},
    ]


def test_deb_and_rpm_cache_file_names() -> None:
    """Cached package files name package, version (epoch colon as %3a in .deb names) and architecture."""
    debs = [P.parse_deb_filename(n) for n in text(APT / "apt-cache-archives.out").split()]
    assert {"name": "nvidia-driver-580", "version": "580.82.07-0ubuntu1", "arch": "amd64"} in debs
    assert {"name": "zlib1g", "version": "1:1.2.13.dfsg-1", "arch": "amd64"} in debs
    assert debs.count(None) == 2  # "lock" and "partial"
    rpms = [P.parse_rpm_filename(n) for n in text(RPM / "dnf-cache-packages.out").split()]
    assert {"name": "nvidia-driver-cuda-libs", "version": "580.82.07-1.el9", "arch": "x86_64"} in rpms


def test_rpm_query_versionlocks_and_repoquery() -> None:
    """rpm's EPOCHNUM versions, the version lock list (with a ! exclude) and repoquery's offers, as recorded."""
    installed = {p["name"]: p for p in P.parse_rpm_qa(text(RPM / "rpm-qa-qf.out"))}
    assert installed["nvidia-driver"]["version"] == "3:580.95.05-1.el9"
    assert installed["tensorrt"]["version"] == "0:10.13.3.9-1.cuda12.9"
    locks = P.parse_versionlock_list(text(RPM / "versionlock-list-file.out"))
    listed = [line for line in text(RPM / "dnf-versionlock-list.out").splitlines() if not line.startswith("Last ")]
    assert [("!" if lock["exclude"] else "") + lock["pattern"] for lock in locks] == listed
    held = {name for name, p in installed.items() if any(P.lock_matches(lock["pattern"], p) for lock in locks)}
    assert held == {
        "kmod-nvidia-open-dkms",
        "nvidia-driver-cuda-libs",
        "nvidia-driver",
        "cuda-drivers",
        "libcudnn9-cuda-12",
    }
    offered = P.parse_repoquery(text(RPM / "dnf-repoquery.out"))
    assert {
        "name": "nvidia-driver",
        "version": "3:580.105.08-1.el9",
        "arch": "x86_64",
        "sources": ["cuda-rhel9-x86_64"],
    } in offered
    assert len(offered) == len(text(RPM / "dnf-repoquery.out").splitlines())


def run_probe(root: Path, names: list[str] | None) -> dict:
    result = run_local(root=str(root), request=encode_request(packages=names))
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.fixture
def debian_root(tmp_path: Path) -> Path:
    """The recorded Debian chroot (tests/support/replay.py)."""
    return replay_debian(tmp_path / "debian")


def test_collector_on_the_recorded_debian_host(debian_root: Path) -> None:
    """Installed, held, cached and offered packages of the recorded Debian chroot, parsed strictly into facts."""
    document = run_probe(debian_root, ["nvidia-driver-590"])
    facts = parse_facts(json.dumps(document)).packages
    assert facts.manager is PackageManager.APT and facts.error is None
    assert facts.package("nvidia-driver-580") is not None and facts.package("nvidia-driver-580").held
    assert {(c.name, c.version) for c in facts.cached} >= {("nvidia-driver-580", "580.82.07-0ubuntu1")}
    assert "zlib1g" not in {c.name for c in facts.cached}
    availability = facts.availability
    assert availability is not None and availability.known and availability.lists
    assert "nvidia-driver-590" in availability.names and "tensorrt" in availability.names
    assert {v.version for v in availability.offered("nvidia-driver-580")} == {
        "580.105.08-0ubuntu1",
        "580.95.05-0ubuntu1",
    }


def test_collector_asks_no_repository_unless_requested(debian_root: Path) -> None:
    """Without the plan's request the collector runs no package command (availability stays null)."""
    (debian_root / "usr/bin/apt-cache").write_text("#!/bin/sh\necho called >&2\nexit 1\n")
    document = run_probe(debian_root, None)
    assert document["packages"]["availability"] is None and document["packages"]["error"] is None


def test_collector_without_lists_cannot_tell(tmp_path: Path) -> None:
    """Like the H200 image: no repository lists, so availability is unknown rather than "nothing installable"."""
    root = tmp_path / "h200"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: libcudnn9-cuda-13\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 9.14.0.64-1\n\n"
    )
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)
    (root / "var/lib/apt/lists/lock").write_text("")
    recorded = tmp_path / "policy.out"
    recorded.write_text(h200_section("apt-cache policy cuda-cccl-13-0"))
    replay(root, "apt-cache", recorded)
    availability = parse_facts(json.dumps(run_probe(root, []))).packages.availability
    assert availability is not None and availability.lists is False and not availability.known


@pytest.fixture
def rhel_root(tmp_path: Path) -> Path:
    """The recorded dnf install root (tests/support/replay.py)."""
    return replay_rhel(tmp_path / "rhel")


def test_collector_on_the_recorded_rhel_host(rhel_root: Path) -> None:
    """rpm's packages, holds from the real version lock list, dnf's cache and repoquery's offers."""
    facts = parse_facts(json.dumps(run_probe(rhel_root, ["nvidia-driver"]))).packages
    assert facts.manager is PackageManager.DNF and facts.error is None
    held = {p.name for p in facts.installed if p.held}
    assert held == {
        "kmod-nvidia-open-dkms",
        "nvidia-driver-cuda-libs",
        "nvidia-driver",
        "cuda-drivers",
        "libcudnn9-cuda-12",
    }
    assert [lock.pattern for lock in facts.locks if lock.exclude] == ["tensorrt-0:10.14.1.48-1.cuda12.9.*"]
    assert {c.name for c in facts.cached} >= {"nvidia-driver", "libcudnn9-cuda-12"}
    availability = facts.availability
    assert availability is not None and availability.known
    assert {v.version for v in availability.offered("nvidia-driver")} == {"3:580.105.08-1.el9", "3:580.95.05-1.el9"}


def test_a_disabled_versionlock_plugin_locks_nothing(rhel_root: Path) -> None:
    """versionlock.conf's enabled = 0 means no lock applies, whatever the list says."""
    (rhel_root / "etc/dnf/plugins/versionlock.conf").write_text("[main]\nenabled = 0\n")
    facts = parse_facts(json.dumps(run_probe(rhel_root, None))).packages
    assert facts.locks == () and not any(p.held for p in facts.installed)


def test_failing_repository_query_is_an_error_not_an_empty_answer(debian_root: Path) -> None:
    """apt-cache failing (its exit status) makes availability an error: unknown, never "not installable"."""
    replay(debian_root, "apt-cache", APT / "apt-cache-policy.out", status=100)
    availability = parse_facts(json.dumps(run_probe(debian_root, []))).packages.availability
    assert availability is not None and availability.error and not availability.known
