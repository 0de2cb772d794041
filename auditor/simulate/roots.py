"""Fixture roots: a directory tree per simulated host that the real probe reads with ``--root``.

Files are laid out as on real nodes so the probe takes the same code paths:
``/etc/os-release``, ``/proc/stat``, ``/proc/driver/nvidia/version``, ``libnvidia-ml.so.1``
and ``libnvinfer.so.N`` symlinked to versioned files, ``/usr/local/cuda-X.Y/version.json``
(``version.txt`` before 11.1) with ``bin/nvcc``, ``compat/libcuda.so.<driver>``, cuDNN
headers where the Debian packages put them (``cudnn.h`` for 7.x), ``NvInferVersion.h``,
``/var/lib/dpkg/status`` with apt's repository, holds, pins and cache (``aptview``), pip wheels' ``*.dist-info``, an importable ``tensorrt`` module,
engine files with a real plan header, and stand-in ``nvidia-smi``, ``nvcc``, ``trtexec``
``docker`` and ``apt-cache`` that print what the real ones print (the ``standin_*.py`` files).
The libraries are not loadable ELF objects: the probe's ctypes path fails on them as
it does on a broken install, and it falls back to what the files say.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import struct
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from auditor import versions
from auditor.knowledge import cuda as cuda_kb
from auditor.knowledge.plugins import STANDARD as STANDARD_PLUGINS
from auditor.simulate.aptview import write_apt_view
from auditor.simulate.fleet import MIG_CAPABLE, EngineSpec, SimHost
from auditor.simulate.runtimes import container_files, mig_state, toolkit_files

LIBDIR = "usr/lib/x86_64-linux-gnu"
INCDIR = "usr/include/x86_64-linux-gnu"
SIM = "usr/share/auditor-sim"
NVIDIA_SMI_STATE = f"{SIM}/nvidia-smi.json"
BOOT_EPOCH = calendar.timegm((2026, 11, 1, 4, 0, 0))


def build_root(host: SimHost, base: Path) -> Path:
    """Write ``host``'s fixture root under ``base`` (created) and return it."""
    root = base / _safe_name(host.name)
    root.mkdir(parents=True, exist_ok=True)
    packages: list[tuple[str, str]] = []
    _write(root, "etc/os-release", _os_release(host.os))
    _write(root, "etc/hostname", host.name + "\n")
    _write(root, "proc/sys/kernel/hostname", host.name + "\n")
    _write(root, "proc/sys/kernel/osrelease", host.kernel + "\n")
    boot = BOOT_EPOCH - int(hashlib.sha256(host.name.encode()).hexdigest()[:4], 16)
    _write(root, "proc/stat", f"cpu  1 2 3 4 5 6 7 0 0 0\nintr 0\nctxt 0\nbtime {boot}\nprocesses 1\n")
    gpus = _gpus(host)
    if host.driver:
        _driver(root, host, gpus)
    for toolkit in host.cuda_toolkits:
        _cuda_toolkit(root, toolkit)
    if host.cuda_toolkits:
        newest = max(host.cuda_toolkits, key=versions.parse)
        _symlink(root, "usr/local/cuda", f"cuda-{versions.major_minor(newest)}")
    for toolkit, driver in host.cuda_compat.items():
        packages.append(_cuda_compat(root, toolkit, driver))
    cuda = _newest_cuda(host)
    if host.cudnn:
        packages.append(_cudnn(root, host.cudnn, cuda))
    if host.tensorrt:
        packages += _tensorrt_library(root, host.tensorrt, cuda)
    if host.python_tensorrt:
        _standin_module(root, "tensorrt")
        packages.append(("python3-libnvinfer", f"{host.python_tensorrt}-1+cuda{cuda}"))
    if host.python_tensorrt_lean:
        _standin_module(root, "tensorrt_lean")
        packages.append(("python3-libnvinfer-lean", f"{host.python_tensorrt_lean}-1+cuda{cuda}"))
    for name, version in host.pip.items():
        _pip_wheel(root, host, name, version)
    _tensorrt_state(root, host, gpus)
    if host.containers is not None:
        for relative, text, mode in container_files(host):
            _write(root, relative, text, mode)
    if host.container_toolkit is not None:
        for relative, text, mode in toolkit_files(host):
            _write(root, relative, text, mode)
    if write_apt_view(root, host, packages):
        _standin(root, "usr/bin/apt-cache", "standin_apt_cache.py")
    for path, engine in host.engines.items():
        _write_bytes(root, path.lstrip("/"), plan_bytes(engine.tensorrt, engine.compute_capability, path, engine))
    return root


def plan_bytes(tensorrt: str, compute_capability: str, salt: str = "", engine: EngineSpec | None = None) -> bytes:
    """An engine file with TensorRT's public header layout (docs/research/tensorrt-compat.md 1.8).

    Bytes 0-3 ``ftrt``; 4-7 uint32 0; 24-27 major, minor, patch, build of the
    TensorRT that built it. The rest is deterministic filler (the real layout of
    bytes 8-23 and the compute capability is not public). A ``corrupt`` engine is
    cut after its header.
    """
    parts = [int(p) for p in versions.parse(tensorrt).release] + [0, 0, 0, 0]
    header = b"ftrt" + struct.pack("<I", 0) + bytes(16) + bytes(p & 0xFF for p in parts[:4])
    if engine is not None and engine.outcome == "corrupt":
        return header
    seed = hashlib.sha256(f"{tensorrt}/{compute_capability}/{salt}".encode()).digest()
    return header + seed * 8


def _gpus(host: SimHost) -> list[dict[str, Any]]:
    gpus: list[dict[str, Any]] = []
    if host.fault == "no-gpu":
        return gpus
    for spec in host.gpus:
        for _ in range(spec.count):
            index = len(gpus)
            digest = hashlib.sha256(f"{host.name}/{index}".encode()).hexdigest()
            gpus.append(
                {
                    "index": index,
                    "name": spec.model,
                    "uuid": f"GPU-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
                    "cc": spec.compute_capability,
                    "memory_mib": _memory_mib(spec.model),
                    "bus_id": f"00000000:{0x07 + index * 0x10:02X}:00.0",
                    "mig_capable": any(m in spec.model for m in MIG_CAPABLE),
                    "mig": mig_state(spec.mig) if spec.mig else None,
                }
            )
    return gpus


def _driver(root: Path, host: SimHost, gpus: list[dict[str, Any]]) -> None:
    assert host.driver is not None
    module = host.kernel_module or host.driver
    if host.driver_state != "not-loaded":
        _write(
            root,
            "proc/driver/nvidia/version",
            f"NVRM version: NVIDIA UNIX x86_64 Kernel Module  {module}  Sat Aug 19 01:15:15 UTC 2023\n"
            "GCC version:  gcc version 12.2.0 (Ubuntu 12.2.0-3ubuntu1)\n",
        )
    _write_bytes(root, f"{LIBDIR}/libnvidia-ml.so.{host.driver}", b"\x7fELF stand-in, not loadable\n")
    _symlink(root, f"{LIBDIR}/libnvidia-ml.so.1", f"libnvidia-ml.so.{host.driver}")
    state = "ok"
    if host.kernel_module and host.kernel_module != host.driver:
        state = "mismatch"
    elif host.driver_state != "loaded":
        state = host.driver_state
    elif not gpus:
        state = "no-devices"
    cuda = cuda_kb.driver_cuda_version(host.driver) or "?"
    _write(
        root,
        NVIDIA_SMI_STATE,
        json.dumps({"state": state, "driver": host.driver, "library": host.driver, "cuda": cuda, "gpus": gpus}),
    )
    _standin(root, "usr/bin/nvidia-smi", "standin_nvidia_smi.py")


def _memory_mib(model: str) -> int:
    for marker, mib in (
        ("80GB", 81559),
        ("40GB", 40960),
        ("94GB", 95830),
        ("H200", 143771),
        ("H100", 81559),
        ("A100", 40960),
        ("A10", 23028),
        ("L4", 23034),
        ("T4", 15360),
    ):
        if marker.lower() in model.lower():
            return mib
    return 16384


def _newest_cuda(host: SimHost) -> str:
    if not host.cuda_toolkits:
        return "12.0"
    return versions.major_minor(max(host.cuda_toolkits, key=versions.parse))


def _cuda_toolkit(root: Path, version: str) -> None:
    major_minor = versions.major_minor(version)
    base = f"usr/local/cuda-{major_minor}"
    release = versions.parse(version).release
    component = f"{major_minor}.{100 + (release[2] if len(release) > 2 else 0) * 10}"
    if release < (11, 1):
        _standin(root, f"{base}/bin/nvcc", "standin_nvcc.py", f'NVCC_VERSION = "{version}"')
        _write(root, f"{base}/version.txt", f"CUDA Version {version}\n")
        return
    _standin(root, f"{base}/bin/nvcc", "standin_nvcc.py", f'NVCC_VERSION = "{component}"')
    document: dict[str, dict[str, str]] = {}
    if release >= (12, 2, 1):  # the top-level "cuda" key (docs/research/nvidia-cuda-driver.md 1.9)
        document["cuda"] = {"name": "CUDA SDK", "version": version}
    document["cuda_cudart"] = {"name": "CUDA Runtime (cudart)", "version": component}
    document["cuda_nvcc"] = {"name": "CUDA NVCC", "version": component}
    _write(root, f"{base}/version.json", json.dumps(document, indent=3) + "\n")
    major = release[0]
    soname = "libcudart.so.11.0" if major == 11 else f"libcudart.so.{major}"
    libdir = f"{base}/targets/x86_64-linux/lib"
    _write_bytes(root, f"{libdir}/libcudart.so.{component}", b"\x7fELF stand-in\n")
    _symlink(root, f"{libdir}/{soname}", f"libcudart.so.{component}")
    _write(root, f"etc/ld.so.conf.d/cuda-{major_minor.replace('.', '-')}.conf", f"/{libdir}\n")


def _cuda_compat(root: Path, toolkit: str, driver: str) -> tuple[str, str]:
    """``cuda-compat-X-Y``: the forward-compatibility libcuda in the toolkit's ``compat`` dir (docs/research/nvidia-cuda-driver.md 1.6)."""
    base = f"usr/local/cuda-{toolkit}/compat"
    _write_bytes(root, f"{base}/libcuda.so.{driver}", b"\x7fELF stand-in\n")
    _symlink(root, f"{base}/libcuda.so.1", f"libcuda.so.{driver}")
    return (f"cuda-compat-{toolkit.replace('.', '-')}", f"{driver}-1")


def _cudnn(root: Path, version: str, cuda: str) -> tuple[str, str]:
    release = [*versions.parse(version).release, 0, 0]
    major, minor, patch = release[:3]
    formula = (
        "CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL"
        if major >= 9
        else "CUDNN_MAJOR * 1000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL"
    )
    text = (
        "/* Copyright: stand-in for the simulated fleet */\n#ifndef CUDNN_VERSION_H_\n#define CUDNN_VERSION_H_\n\n"
        f"#define CUDNN_MAJOR {major}\n#define CUDNN_MINOR {minor}\n#define CUDNN_PATCHLEVEL {patch}\n\n"
        f"#define CUDNN_VERSION ({formula})\n\n#endif /* CUDNN_VERSION_H */\n"
    )
    if major < 8:  # cuDNN 7 kept the macros in cudnn.h (docs/research/nvidia-cuda-driver.md 1.9)
        _write(root, "usr/include/cudnn.h", text.replace("CUDNN_VERSION_H", "CUDNN_H"))
    else:  # the Debian packages: a versioned header under the multiarch dir, linked as cudnn_version.h
        _write(root, f"{INCDIR}/cudnn_version_v{major}.h", text)
        _symlink(root, "usr/include/cudnn_version.h", f"x86_64-linux-gnu/cudnn_version_v{major}.h")
    _write_bytes(root, f"{LIBDIR}/libcudnn.so.{major}.{minor}.{patch}", b"\x7fELF stand-in\n")
    _symlink(root, f"{LIBDIR}/libcudnn.so.{major}", f"libcudnn.so.{major}.{minor}.{patch}")
    if major >= 9:
        return (f"libcudnn9-cuda-{cuda.split('.')[0]}", f"{version}-1")
    return (f"libcudnn{major}", f"{version}-1+cuda{cuda}")


def _tensorrt_library(root: Path, version: str, cuda: str) -> list[tuple[str, str]]:
    release = versions.parse(version).release
    three = ".".join(str(p) for p in release[:3])
    parts = [*release, 0, 0, 0, 0][:4]
    _write_bytes(root, f"{LIBDIR}/libnvinfer.so.{three}", b"\x7fELF stand-in, not loadable\n")
    _symlink(root, f"{LIBDIR}/libnvinfer.so.{release[0]}", f"libnvinfer.so.{three}")
    _write(
        root,
        f"{INCDIR}/NvInferVersion.h",
        "/* stand-in for the simulated fleet */\n#ifndef NV_INFER_VERSION_H\n#define NV_INFER_VERSION_H\n\n"
        f"#define NV_TENSORRT_MAJOR {parts[0]}\n#define NV_TENSORRT_MINOR {parts[1]}\n"
        f"#define NV_TENSORRT_PATCH {parts[2]}\n#define NV_TENSORRT_BUILD {parts[3]}\n\n#endif\n",
    )
    _standin(root, "usr/src/tensorrt/bin/trtexec", "standin_trtexec.py")
    deb = f"{version}-1+cuda{cuda}"
    return [(f"libnvinfer{release[0]}", deb), (f"libnvinfer-plugin{release[0]}", deb), ("libnvinfer-bin", deb)]


def _tensorrt_state(root: Path, host: SimHost, gpus: list[dict[str, Any]]) -> None:
    """What the stand-in TensorRT needs to decide a load like the real one (standin_tensorrt.py)."""
    engines = {}
    for path, engine in host.engines.items():
        data = plan_bytes(engine.tensorrt, engine.compute_capability, path, engine)
        engines[hashlib.sha256(data).hexdigest()] = {"cc": engine.compute_capability, "outcome": engine.outcome}
    healthy = (
        host.driver and host.driver_state == "loaded" and not (host.kernel_module and host.kernel_module != host.driver)
    )
    state = {
        "python": host.python_tensorrt,
        "python_lean": host.python_tensorrt_lean,
        "gpu_fault": host.gpu_fault,
        "library": host.tensorrt,
        "driver_state": "ok" if healthy else "failed",
        "gpus": [{"index": g["index"], "uuid": g["uuid"], "cc": g["cc"], "name": g["name"]} for g in gpus],
        "engines": engines,
        "standard_plugins": [[name, v] for name, found in STANDARD_PLUGINS.items() for v in found],
    }
    _write(root, f"{SIM}/tensorrt.json", json.dumps(state, indent=1))
    module = resources.files("auditor.simulate").joinpath("standin_tensorrt.py").read_text("utf-8")
    _write(root, f"{SIM}/standin_tensorrt.py", module)


def _standin_module(root: Path, name: str) -> None:
    """The stand-in TensorRT as an importable package ``name`` (its network code beside it)."""
    files = resources.files("auditor.simulate")
    package = f"usr/lib/python3/dist-packages/{name}"
    _write(root, f"{package}/__init__.py", files.joinpath("standin_tensorrt.py").read_text("utf-8"))
    _write(root, f"{package}/standin_network.py", files.joinpath("standin_network.py").read_text("utf-8"))


def _pip_wheel(root: Path, host: SimHost, name: str, version: str) -> None:
    """A wheel as pip leaves it in ``/usr/local/lib/pythonX.Y/dist-packages`` (Debian's pip)."""
    python = ".".join(host.python.split(".")[:2])
    site = f"usr/local/lib/python{python}/dist-packages"
    normalized = name.replace("-", "_")
    _write(
        root,
        f"{site}/{normalized}-{version}.dist-info/METADATA",
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    )
    if name.startswith("nvidia-cudnn-cu"):
        major, minor, patch = ([*versions.parse(version).release, 0, 0])[:3]
        _write(
            root,
            f"{site}/nvidia/cudnn/include/cudnn_version.h",
            f"#define CUDNN_MAJOR {major}\n#define CUDNN_MINOR {minor}\n#define CUDNN_PATCHLEVEL {patch}\n",
        )


def _standin(root: Path, relative: str, module: str, preamble: str = "") -> None:
    source = resources.files("auditor.simulate").joinpath(module).read_text("utf-8")
    _write(root, relative, f"#!{sys.executable} -SE\n{preamble}\n{source}", mode=0o755)


def _os_release(pretty: str) -> str:
    words = pretty.split()
    os_id = words[0].lower() if words else "linux"
    version_id = ".".join(words[1].split(".")[:2]) if len(words) > 1 else ""
    return f'NAME="{words[0] if words else "Linux"}"\nID={os_id}\nVERSION_ID="{version_id}"\nPRETTY_NAME="{pretty}"\n'


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "host"


def _write(root: Path, relative: str, text: str, mode: int = 0o644) -> None:
    _write_bytes(root, relative, text.encode("utf-8"), mode)


def _write_bytes(root: Path, relative: str, data: bytes, mode: int = 0o644) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)


def _symlink(root: Path, relative: str, target: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)
