"""Fixture roots that replay what real package managers printed (tests/fixtures/real/workflows/apt, rpm).

``debian_root`` lays out the recorded Debian chroot's dpkg status stanzas, apt cache and list
directories, with an ``apt-cache`` that prints the recorded ``apt-cache policy`` byte for byte;
``rhel_root`` the recorded dnf install root's version lock list and cache, with ``rpm`` and
``dnf`` printing their recorded output. The probe's ``packages`` collector runs against them
unchanged (``--root``).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.paths import REAL

WORKFLOWS = REAL / "workflows"
APT = WORKFLOWS / "apt"
RPM = WORKFLOWS / "rpm"


def replay(root: Path, name: str, output: Path, status: int = 0) -> None:
    """An executable ``usr/bin/NAME`` under ``root`` that prints ``output`` (a real recording) and exits ``status``."""
    path = root / "usr" / "bin" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\ncat '{output}'\nexit {status}\n")
    path.chmod(0o755)


def debian_root(root: Path) -> Path:
    """The recorded Debian chroot's dpkg status, apt cache and lists, with apt-cache replaying its real answer."""
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text((APT / "dpkg-status-stanzas.out").read_text())
    for directory, listing in (
        ("var/cache/apt/archives", "apt-cache-archives.out"),
        ("var/lib/apt/lists", "apt-lists.out"),
    ):
        (root / directory).mkdir(parents=True)
        for name in (APT / listing).read_text().split():
            (root / directory / name).write_text("")
    replay(root, "apt-cache", APT / "apt-cache-policy.out")
    return root


def rhel_root(root: Path) -> Path:
    """The recorded dnf install root: rpm and dnf replaying their real output, the real version lock list."""
    (root / "var/lib/rpm").mkdir(parents=True)
    (root / "etc/dnf/plugins").mkdir(parents=True)
    (root / "etc/dnf/plugins/versionlock.list").write_text((RPM / "versionlock-list-file.out").read_text())
    cache = root / "var/cache/dnf/cuda-rhel9-x86_64-746a5c5d36b91ffa/packages"
    cache.mkdir(parents=True)
    for name in (RPM / "dnf-cache-packages.out").read_text().split():
        (cache / name).write_text("")
    replay(root, "rpm", RPM / "rpm-qa-qf.out")
    replay(root, "dnf-3", RPM / "dnf-repoquery.out")
    os.symlink("dnf-3", root / "usr/bin/dnf")
    return root
