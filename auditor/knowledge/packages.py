"""NVIDIA's package names and version schemes: which component a package belongs to, and what a target installs.

The names and schemes come from NVIDIA's install guides and the distributions' archives,
collected with their URLs in docs/research/workflows.md A ("NVIDIA's names and version
schemes"); ``SOURCES`` cites them per component:

* driver: Ubuntu's ``nvidia-driver-580`` (depends on ``libnvidia-compute-580`` of the same
  version), ``nvidia-dkms-580(-open)``, ``nvidia-utils-580``; NVIDIA's ``cuda-drivers-580``;
  on RPM ``nvidia-driver``, ``nvidia-driver-cuda-libs``, ``kmod-nvidia-open-dkms``,
  ``nvidia-kmod-common``, ``nvidia-open`` at epoch 3 (``3:580.95.05-1.el9``);
* CUDA: ``cuda-toolkit-13-0`` (``13.0.2-1``) and the other ``cuda-*-X-Y`` packages;
* cuDNN 9: ``libcudnn9-cuda-12`` (``9.10.2.21-1``); cuDNN 8: ``libcudnn8`` (``8.9.5.30-1+cuda12.2``);
* TensorRT: ``libnvinfer10``, ``libnvinfer-plugin10``, ``tensorrt``... at ``10.13.3.9-1+cuda12.9``
  (RPM: ``10.13.3.9-1.cuda12.9``): the CUDA line is part of the version, and ``+cuda13.0`` sorts
  above ``+cuda12.9`` with the same TensorRT release (recorded with dpkg and rpm).

Everything here is pure: names in, components and candidate names out.
"""

from __future__ import annotations

import re

from auditor import versions

SOURCES = {
    "driver": "docs/research/workflows.md A (https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/"
    "version-locking.html; https://packages.ubuntu.com/noble-updates/libs/nvidia-driver-580)",
    "cuda": "docs/research/workflows.md A (CUDA packages recorded on an H200: tests/fixtures/real/workflows/gpu/host.txt)",
    "cudnn": "docs/research/workflows.md A (https://docs.nvidia.com/deeplearning/cudnn/installation/linux.html)",
    "tensorrt": "docs/research/tensorrt-compat.md 1.10 (https://docs.nvidia.com/deeplearning/tensorrt/10.16.1/"
    "installing-tensorrt/install-debian.html)",
}
HOLD_SOURCE = "https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/version-locking.html"
"""NVIDIA on locking a driver branch with the distribution's own mechanism (dnf versionlock; apt holds and pins)."""

_DRIVER = re.compile(
    r"^(nvidia-driver(-\d+)?(-open|-server|-server-open)?"
    r"|libnvidia-(compute|cfg1|common|decode|encode|extra|fbc1|gl|ifr1)-\d+(-server)?"
    r"|nvidia-(dkms|utils|kernel-common|kernel-source|compute-utils|firmware|headless|headless-no-dkms)-\d+"
    r"(-open|-server|-server-open)?"
    r"|cuda-drivers(-\d+)?"
    r"|nvidia-driver-(cuda|cuda-libs|libs|devel|NVML|NvFBCOpenGL)"
    r"|nvidia-open|kmod-nvidia-[a-z-]+|nvidia-kmod-common|nvidia-modprobe|nvidia-persistenced|nvidia-settings"
    r"|nvidia-xconfig|xorg-x11-nvidia|libnvidia-cfg|libnvidia-ml)$"
)
_COMPAT = re.compile(r"^cuda-compat-\d+-\d+$")
_CUDA = re.compile(
    r"^(cuda-[a-z0-9-]+-\d+-\d+|lib(cublas|cufft|curand|cusolver|cusparse|npp[a-z]*|nvjitlink|nvjpeg|cufile)"
    r"(-dev)?-\d+-\d+)$"
)
_CUDNN = re.compile(r"^(lib)?cudnn\d*(-[a-z]+)*(-cuda-\d+)?$")
_TENSORRT = re.compile(
    r"^(libnvinfer|libnvonnxparser|libnvparsers|python3-libnvinfer|tensorrt|uff-converter|graphsurgeon"
    r"|onnx-graphsurgeon)"
)
_CUDA_METAS = ("toolkit", "libraries", "runtime", "minimal-build", "command-line-tools", "compiler")
_CUDA_LINE = re.compile(r"[+.]cuda(\d+)\.(\d+)")


def component_of(name: str) -> str | None:
    """``driver``, ``cuda``, ``cudnn``, ``tensorrt`` or ``cuda-compat`` for an NVIDIA package name; None for others
    (the container toolkit, NCCL, Nsight...)."""
    if _COMPAT.match(name):
        return "cuda-compat"
    if _DRIVER.match(name):
        return "driver"
    if _CUDA.match(name):
        return "cuda"
    if _CUDNN.match(name):
        return "cudnn"
    if _TENSORRT.match(name):
        return "tensorrt"
    return None


def upstream(version: str) -> str | None:
    """The release a package version carries, or None: ``3:580.95.05-1.el9`` and ``580.95.05-0ubuntu1`` ->
    ``580.95.05``, ``10.13.3.9-1+cuda12.9`` -> ``10.13.3.9`` (epoch and revision or release dropped)."""
    text = version.split(":", 1)[1] if re.match(r"^\d+:", version) else version
    text = text.rsplit("-", 1)[0] if "-" in text else text
    return text if versions.is_version(text) else None


def same_version(package: str, cached: str) -> bool:
    """True when a cached file's version is ``package``'s (an RPM file name has no epoch)."""
    return package == cached or (re.sub(r"^\d+:", "", package) == cached)


def cuda_line(version: str) -> str | None:
    """The CUDA line a TensorRT or cuDNN 8 build names in its version: ``10.13.3.9-1+cuda12.9`` -> ``12.9``."""
    match = _CUDA_LINE.search(version)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def is_cuda_meta(name: str) -> bool:
    """The CUDA metapackages that carry the toolkit's version (``cuda-toolkit-13-0`` at ``13.0.2-1``)."""
    return any(re.match(rf"^cuda-{meta}-\d+-\d+$", name) for meta in _CUDA_METAS)


def renamed(component: str, name: str, to: str, cuda: str | None) -> str:
    """``name`` as the package that carries ``to``: the driver branch, TensorRT major, CUDA release or cuDNN's
    CUDA major in the name follows the target (``nvidia-driver-535`` -> ``nvidia-driver-580``)."""
    release = versions.parse(to).release
    if component == "driver":
        return re.sub(r"-\d{3}(?=(-open|-server|-server-open)?$)", f"-{release[0]}", name)
    if component == "cuda":
        return re.sub(r"-\d+-\d+$", f"-{release[0]}-{release[1] if len(release) > 1 else 0}", name)
    if component == "tensorrt":
        return re.sub(r"^(libnvinfer(?:-[a-z-]+)?|libnvonnxparsers|libnvparsers)\d+$", rf"\g<1>{release[0]}", name)
    if component == "cudnn":
        major = release[0]
        cuda_major = cuda.split(".")[0] if cuda else None
        if major >= 9 and cuda_major:
            found = re.match(r"^libcudnn\d+(-[a-z]+)?(-cuda-\d+)?$", name)
            if found:
                return f"libcudnn{major}{found.group(1) or ''}-cuda-{cuda_major}"
        return re.sub(r"^libcudnn\d+", f"libcudnn{major}", name)
    return name


def candidate_names(component: str, to: str) -> tuple[str, ...]:
    """Package names that may carry ``to`` on an apt or dnf host, most usual first (asked of the probe before
    the plan knows the host's scheme; a name a host's repositories do not know costs nothing)."""
    release = versions.parse(to).release
    if component == "driver":
        b = release[0]
        return (
            f"nvidia-driver-{b}",
            f"nvidia-driver-{b}-open",
            f"nvidia-driver-{b}-server",
            f"nvidia-driver-{b}-server-open",
            f"libnvidia-compute-{b}",
            f"nvidia-dkms-{b}",
            f"nvidia-dkms-{b}-open",
            f"nvidia-utils-{b}",
            f"cuda-drivers-{b}",
            "cuda-drivers",
            "nvidia-driver",
            "nvidia-driver-cuda-libs",
            "kmod-nvidia-open-dkms",
            "nvidia-kmod-common",
            "nvidia-open",
        )
    if component == "cuda":
        xy = f"{release[0]}-{release[1] if len(release) > 1 else 0}"
        return tuple(f"cuda-{meta}-{xy}" for meta in _CUDA_METAS)
    if component == "cudnn":
        major = release[0]
        if major >= 9:
            return tuple(f"libcudnn{major}-cuda-{c}" for c in (11, 12, 13))
        return (f"libcudnn{major}",)
    if component == "tensorrt":
        m = release[0]
        return (
            "tensorrt",
            f"libnvinfer{m}",
            f"libnvinfer-plugin{m}",
            f"libnvinfer-lean{m}",
            f"libnvinfer-dispatch{m}",
            f"libnvonnxparsers{m}",
            "libnvinfer-bin",
            "python3-libnvinfer",
        )
    return ()


def driver_name_is_primary(name: str) -> bool:
    """The driver packages a hold matters most for: the metapackages and the compute library (the rest follow them)."""
    return bool(
        re.match(
            r"^(nvidia-driver(-\d+)?(-open|-server|-server-open)?|libnvidia-compute-\d+|cuda-drivers(-\d+)?|nvidia-open)$",
            name,
        )
    )
