"""Fixture roots: a directory tree per simulated host that the real probe reads with ``--root``.

Files are laid out as on real nodes so the probe takes the same code paths:
``/etc/os-release``, ``/proc/driver/nvidia/version``, ``libnvidia-ml.so.1`` and
``libnvinfer.so.N`` symlinked to versioned files, ``/usr/local/cuda-X.Y/version.json``
(``version.txt`` before 11.1), ``cudnn_version.h``, an importable ``tensorrt``
module, engine files with a real plan header, and a stand-in ``nvidia-smi``.
The libraries are not loadable ELF objects: the probe's ctypes path fails on
them as it does on a broken install, and it falls back to what the files say.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
from importlib import resources
from pathlib import Path

from auditor import knowledge, versions
from auditor.simulate.fleet import SimHost

LIBDIR = "usr/lib/x86_64-linux-gnu"
NVIDIA_SMI_STATE = "usr/share/auditor-sim/nvidia-smi.json"


def build_root(host: SimHost, base: Path) -> Path:
    """Write ``host``'s fixture root under ``base`` (created) and return it."""
    root = base / _safe_name(host.name)
    root.mkdir(parents=True, exist_ok=True)
    _write(root, "etc/os-release", _os_release(host.os))
    _write(root, "etc/hostname", host.name + "\n")
    _write(root, "proc/sys/kernel/hostname", host.name + "\n")
    _write(root, "proc/sys/kernel/osrelease", host.kernel + "\n")
    if host.driver:
        _driver(root, host)
    for toolkit in host.cuda_toolkits:
        _cuda_toolkit(root, toolkit)
    if host.cuda_toolkits:
        newest = max(host.cuda_toolkits, key=versions.parse)
        _symlink(root, "usr/local/cuda", f"cuda-{versions.major_minor(newest)}")
    if host.cudnn:
        _cudnn(root, host.cudnn)
    if host.tensorrt:
        _tensorrt_library(root, host.tensorrt)
    if host.python_tensorrt:
        _write(
            root,
            "usr/lib/python3/dist-packages/tensorrt/__init__.py",
            f'"""Stand-in TensorRT Python module (auditor simulated fleet)."""\n__version__ = "{host.python_tensorrt}"\n',
        )
    for path, engine in host.engines.items():
        _write_bytes(root, path.lstrip("/"), plan_bytes(engine.tensorrt, engine.compute_capability, path))
    return root


def plan_bytes(tensorrt: str, compute_capability: str, salt: str = "") -> bytes:
    """An engine file with TensorRT's public header layout (research 1.8).

    Bytes 0-3 ``ftrt``; 4-7 uint32 0; 24-27 major, minor, patch, build of the
    TensorRT that built it. The rest is deterministic filler (the real layout of
    bytes 8-23 and the compute capability is not public).
    """
    parts = [int(p) for p in versions.parse(tensorrt).release] + [0, 0, 0, 0]
    header = b"ftrt" + struct.pack("<I", 0) + bytes(16) + bytes(p & 0xFF for p in parts[:4])
    seed = hashlib.sha256(f"{tensorrt}/{compute_capability}/{salt}".encode()).digest()
    return header + seed * 8


def _driver(root: Path, host: SimHost) -> None:
    assert host.driver is not None
    module = host.kernel_module or host.driver
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
    elif host.fault == "no-gpu":
        state = "no-devices"
    gpus: list[dict[str, object]] = []
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
                }
            )
    cuda = knowledge.driver_cuda_version(host.driver) or "?"
    _write(root, NVIDIA_SMI_STATE, json.dumps({"state": state, "driver": host.driver, "cuda": cuda, "gpus": gpus}))
    source = resources.files("auditor.simulate").joinpath("standin_nvidia_smi.py").read_text("utf-8")
    _write(root, "usr/bin/nvidia-smi", f"#!{sys.executable} -SE\n{source}", mode=0o755)


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


def _cuda_toolkit(root: Path, version: str) -> None:
    major_minor = versions.major_minor(version)
    base = f"usr/local/cuda-{major_minor}"
    release = versions.parse(version).release
    if release < (11, 1):
        _write(root, f"{base}/version.txt", f"CUDA Version {version}\n")
        return
    component = f"{major_minor}.{100 + (release[2] if len(release) > 2 else 0) * 10}"
    document: dict[str, dict[str, str]] = {}
    if release >= (12, 2, 1):  # the top-level "cuda" key (research 1.9)
        document["cuda"] = {"name": "CUDA SDK", "version": version}
    document["cuda_cudart"] = {"name": "CUDA Runtime (cudart)", "version": component}
    document["cuda_nvcc"] = {"name": "CUDA NVCC", "version": component}
    _write(root, f"{base}/version.json", json.dumps(document, indent=3) + "\n")
    major = release[0]
    soname = "libcudart.so.11.0" if major == 11 else f"libcudart.so.{major}"
    _write_bytes(root, f"{base}/targets/x86_64-linux/lib/libcudart.so.{component}", b"\x7fELF stand-in\n")
    _symlink(root, f"{base}/targets/x86_64-linux/lib/{soname}", f"libcudart.so.{component}")


def _cudnn(root: Path, version: str) -> None:
    release = [*versions.parse(version).release, 0, 0]
    major, minor, patch = release[:3]
    formula = (
        "CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL"
        if major >= 9
        else "CUDNN_MAJOR * 1000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL"
    )
    _write(
        root,
        "usr/include/cudnn_version.h",
        "/* Copyright: stand-in for the simulated fleet */\n#ifndef CUDNN_VERSION_H_\n#define CUDNN_VERSION_H_\n\n"
        f"#define CUDNN_MAJOR {major}\n#define CUDNN_MINOR {minor}\n#define CUDNN_PATCHLEVEL {patch}\n\n"
        f"#define CUDNN_VERSION ({formula})\n\n#endif /* CUDNN_VERSION_H */\n",
    )
    _write_bytes(root, f"{LIBDIR}/libcudnn.so.{major}.{minor}.{patch}", b"\x7fELF stand-in\n")
    _symlink(root, f"{LIBDIR}/libcudnn.so.{major}", f"libcudnn.so.{major}.{minor}.{patch}")


def _tensorrt_library(root: Path, version: str) -> None:
    release = versions.parse(version).release
    three = ".".join(str(p) for p in release[:3])
    _write_bytes(root, f"{LIBDIR}/libnvinfer.so.{three}", b"\x7fELF stand-in, not loadable\n")
    _symlink(root, f"{LIBDIR}/libnvinfer.so.{release[0]}", f"libnvinfer.so.{three}")


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
