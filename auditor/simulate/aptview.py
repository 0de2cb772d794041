"""A simulated host's apt view of its NVIDIA packages: dpkg status, a repository, holds, pins, the cache.

From one description (the host's components and its ``packages:`` spec, the fleet's
``repository:``) this writes both what real apt reads under the fixture root and what the
stand-in ``apt-cache`` answers from (``usr/share/auditor-sim/apt.json``), so the probe (through
the stand-in) and real apt pointed at the root (``APT_CONFIG``, as the playbook test does)
see the same packages:

* ``/var/lib/dpkg/status``: every installed package, ``hold ok installed`` when held;
* one flat repository ``file:/srv/auditor-sim ./``: ``/etc/apt/sources.list.d/auditor-sim.list``
  and its index ``/var/lib/apt/lists/_srv_auditor-sim_._Packages`` (no lists with ``lists: false``);
* ``/etc/apt/preferences.d/auditor-sim``: a version pin at priority 1000 per ``pinned`` component;
* ``/var/cache/apt/archives/NAME_VERSION_ARCH.deb``: placeholder files (not real packages: the
  name is what apt's cache is read for) for the ``cached`` components.

Package names and version schemes follow NVIDIA's and Ubuntu's (docs/research/workflows.md A):
``nvidia-driver-580``/``libnvidia-compute-580`` at ``580.95.05-0ubuntu1``, ``cuda-toolkit-13-0`` at
``13.0.2-1``, cuDNN and TensorRT as ``auditor.simulate.roots`` installs them (``libcudnn9-cuda-12``
``9.10.2.21-1``, ``libnvinfer10`` ``10.13.3.9-1+cuda12.9``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from auditor import versions
from auditor.records import record
from auditor.simulate.fleet import SimHost

REPOSITORY = "file:/srv/auditor-sim ./ Packages"
LIST_FILE = "var/lib/apt/lists/_srv_auditor-sim_._Packages"
ARCH = "amd64"


@record
class DebPackage:
    """One package version: the component it belongs to, its name and its Debian version."""

    component: str
    name: str
    version: str
    depends: str = ""

    @property
    def upstream(self) -> str:
        """``580.95.05-0ubuntu1`` -> ``580.95.05``."""
        return self.version.rsplit("-", 1)[0]


def component_of(name: str) -> str | None:
    """The component a package name of the simulated fleet belongs to."""
    if name.startswith("cuda-compat-"):
        return "cuda-compat"
    if name.startswith(("libcudnn", "cudnn")):
        return "cudnn"
    if name.startswith(("libnvinfer", "python3-libnvinfer", "tensorrt")):
        return "tensorrt"
    if name.startswith(("nvidia-driver-", "libnvidia-compute-")):
        return "driver"
    if name.startswith("cuda-toolkit-"):
        return "cuda"
    return None


def driver_packages(version: str) -> list[DebPackage]:
    """Ubuntu's driver metapackage and its compute library for ``version`` (the metapackage depends on it)."""
    branch, deb = versions.branch(version), f"{version}-0ubuntu1"
    library = f"libnvidia-compute-{branch}"
    return [
        DebPackage("driver", f"nvidia-driver-{branch}", deb, f"{library} (= {deb})"),
        DebPackage("driver", library, deb),
    ]


def cuda_packages(version: str) -> list[DebPackage]:
    """``cuda-toolkit-X-Y`` at ``VERSION-1``."""
    return [DebPackage("cuda", f"cuda-toolkit-{versions.major_minor(version).replace('.', '-')}", f"{version}-1")]


def cudnn_packages(version: str, cuda_lines: list[str]) -> list[DebPackage]:
    """cuDNN 9 per CUDA major (``libcudnn9-cuda-12``), cuDNN 8 per CUDA line (``libcudnn8`` ``V-1+cudaX.Y``)."""
    major = versions.parse(version).release[0]
    if major >= 9:
        cudas = sorted({line.split(".")[0] for line in cuda_lines})
        return [DebPackage("cudnn", f"libcudnn{major}-cuda-{c}", f"{version}-1") for c in cudas]
    return [DebPackage("cudnn", f"libcudnn{major}", f"{version}-1+cuda{line}") for line in cuda_lines]


def tensorrt_packages(version: str, cuda_lines: list[str]) -> list[DebPackage]:
    """TensorRT's libraries, trtexec and Python bindings, one build per CUDA line (``V-1+cudaX.Y``)."""
    major = versions.parse(version).release[0]
    names = (f"libnvinfer{major}", f"libnvinfer-plugin{major}", "libnvinfer-bin", "python3-libnvinfer")
    return [DebPackage("tensorrt", name, f"{version}-1+cuda{line}") for line in cuda_lines for name in names]


def installed_packages(host: SimHost, others: list[tuple[str, str]]) -> list[DebPackage]:
    """The host's dpkg packages: driver and toolkits, plus ``others`` (name, version) that roots installs."""
    found: list[DebPackage] = []
    if host.driver:
        found += driver_packages(host.driver)
    for toolkit in host.cuda_toolkits:
        found += cuda_packages(toolkit)
    for name, version in others:
        found.append(DebPackage(component_of(name) or "other", name, version))
    return found


def offered_packages(host: SimHost, installed: list[DebPackage]) -> list[DebPackage]:
    """What the fleet's repository offers this host: its installed versions (unless ``gone``) and the
    fleet's ``repository:`` versions, TensorRT and cuDNN built for each CUDA line the host has or may get."""
    spec = host.packages
    offered = [p for p in installed if p.component not in spec.gone]
    lines = sorted(
        {versions.major_minor(v) for v in (*host.cuda_toolkits, *host.repository.get("cuda", ()))} or {"12.0"},
        key=versions.parse,
    )
    for version in host.repository.get("driver", ()):
        offered += driver_packages(version)
    for version in host.repository.get("cuda", ()):
        offered += cuda_packages(version)
    for version in host.repository.get("cudnn", ()):
        offered += cudnn_packages(version, lines)
    for version in host.repository.get("tensorrt", ()):
        offered += tensorrt_packages(version, lines)
    unique = {(p.name, p.version): p for p in offered}
    return list(unique.values()) if spec.lists else []


def write_apt_view(root: Path, host: SimHost, others: list[tuple[str, str]]) -> list[DebPackage]:
    """Write the host's apt view under ``root`` (see the module docstring); returns the installed packages."""
    installed = installed_packages(host, others)
    if not installed:
        return installed
    spec = host.packages
    offered = offered_packages(host, installed)
    held = {p.name for p in installed if p.component in spec.held}
    _write(root, "var/lib/dpkg/status", "".join(_stanza(p, "hold" if p.name in held else "install") for p in installed))
    _write(root, "etc/apt/sources.list", "")
    _write(root, "etc/apt/sources.list.d/auditor-sim.list", "deb [trusted=yes] file:/srv/auditor-sim ./\n")
    (root / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    if spec.lists:
        _write(root, LIST_FILE, "".join(_stanza(p) for p in sorted(offered, key=lambda p: (p.name, p.version))))
    pins = [(p, spec.pinned[p.component]) for p in {*installed, *offered} if p.component in spec.pinned]
    pinned = {(p.name, p.version) for p, version in pins if versions.matches(p.upstream, version)}
    if spec.pinned:
        every = [*installed, *offered]
        _write(root, "etc/apt/preferences.d/auditor-sim", "".join(_pin(every, c, v) for c, v in spec.pinned.items()))
    for package in installed:
        if package.component in spec.cached:
            quoted = package.version.replace(":", "%3a")
            _write(root, f"var/cache/apt/archives/{package.name}_{quoted}_{ARCH}.deb", "simulated: not a package\n")
    installed_versions = {p.name: p.version for p in installed}
    offers: dict[str, list[dict[str, object]]] = {name: [] for name in installed_versions}
    for package in sorted(offered, key=lambda p: _order(p.version), reverse=True):
        priority = 1000 if (package.name, package.version) in pinned else 500
        offers.setdefault(package.name, []).append(
            {"version": package.version, "priority": priority, "sources": [REPOSITORY]}
        )
    state = {name: {"installed": installed_versions.get(name), "versions": rows} for name, rows in offers.items()}
    _write(root, "usr/share/auditor-sim/apt.json", json.dumps({"packages": state}, indent=1, sort_keys=True))
    return installed


def _order(version: str) -> tuple[object, ...]:
    """A sort key close enough to dpkg's order for the simulated versions (numeric parts numerically)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.+~:-]", version))


def _stanza(package: DebPackage, want: str | None = None) -> str:
    lines = [f"Package: {package.name}"]
    if want is not None:
        lines.append(f"Status: {want} ok installed")
    lines += [
        "Priority: optional",
        "Section: multiverse/libs",
        "Maintainer: cudatools <cudatools@nvidia.com>",
        f"Architecture: {ARCH}",
        f"Version: {package.version}",
    ]
    if package.depends:
        lines.append(f"Depends: {package.depends}")
    if want is None:
        lines += [f"Filename: ./{package.name}_{package.version}_{ARCH}.deb", "Size: 1024"]
    lines.append("Description: stand-in package of the simulated fleet")
    return "\n".join(lines) + "\n\n"


def _pin(packages: list[DebPackage], component: str, version: str) -> str:
    names = sorted({p.name for p in packages if p.component == component}) or [f"{component}*"]
    return f"Package: {' '.join(names)}\nPin: version {version}*\nPin-Priority: 1000\n\n"


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
