"""The ``driver`` section: the user-space driver, the loaded kernel module, and whether they match."""

import os
import re

from .common import clip
from .nvml import NVML_INIT_STATUS, nvml
from .smi import smi
from .system import find_library


def kernel_module_version(ctx):
    """The loaded kernel module's version from ``/proc/driver/nvidia/version``, or None."""
    text = ctx.read_text("/proc/driver/nvidia/version")
    if not text:
        return None
    match = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
    return match.group(1) if match else None


def library_driver_version(ctx):
    """The user-space driver version from the name of libnvidia-ml's real file, or None."""
    path = find_library(ctx, "libnvidia-ml.so.1")
    if path is None:
        return None
    match = re.search(r"libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)?)$", ctx.resolve(path))
    return match.group(1) if match else None


def device_nodes_denied(ctx):
    """True when /dev/nvidiactl exists but this user may not open it (permission denied)."""
    node = ctx.path("/dev/nvidiactl")
    return os.path.exists(node) and not os.access(node, os.R_OK | os.W_OK)


def collect_driver(ctx):
    """Driver version and the CUDA version it supports: NVML (ctypes, else pynvml), else nvidia-smi, else procfs.

    Mirrors ``nvidia-smi --query-gpu=driver_version`` and the banner's ``CUDA Version``.
    ``kernel_module`` is what /proc/driver/nvidia/version says, a fact of its own. A
    kernel module that differs from the user-space library (NVML
    NVML_ERROR_LIB_RM_VERSION_MISMATCH) is ``mismatch: true`` with both versions.
    ``status``: ok, not-installed (no driver files), not-loaded (files but no kernel
    module), permission-denied, mismatch. No GPU visible is ``ok`` with zero GPUs.
    """
    module = kernel_module_version(ctx)
    library = library_driver_version(ctx)
    facts = {
        "status": None,
        "version": None,
        "source": None,
        "cuda_version": None,
        "kernel_module": module,
        "library_version": library,
        "mismatch": False,
        "nvml_version": None,
    }
    answer = nvml(ctx)
    errors = []
    if answer["status"] == "ok":
        facts.update(
            status="ok",
            version=answer.get("driver_version"),
            source=answer["source"],
            cuda_version=answer.get("cuda_version"),
            nvml_version=answer.get("nvml_version"),
        )
        if answer.get("cuda_error"):
            errors.append("CUDA version: %s" % answer["cuda_error"])
    elif answer.get("code") in NVML_INIT_STATUS:
        facts.update(status=NVML_INIT_STATUS[answer["code"]], version=library, source="library")
    elif answer["status"] != "not-installed":
        errors.append("NVML: %s" % answer.get("error"))
    if facts["status"] is None or facts["version"] is None:
        fallback = smi(ctx)
        if fallback["status"] == "ok" and fallback.get("driver_version"):
            facts.update(
                status="ok",
                version=fallback["driver_version"],
                source="nvidia-smi",
                cuda_version=fallback.get("cuda_version"),
            )
            facts["smi_banner"] = fallback.get("banner_layout")
        elif fallback["status"] in ("mismatch", "not-loaded", "permission-denied"):
            version = fallback.get("library_version") or library
            facts.update(
                status=fallback["status"], version=facts["version"] or version, source=facts["source"] or "nvidia-smi"
            )
        elif fallback["status"] == "ok" and fallback.get("no_devices"):
            facts.update(status="ok", version=library or module, source="library" if library else "procfs")
        elif fallback["status"] != "not-installed":
            errors.append("nvidia-smi: %s" % fallback.get("error"))
    if facts["status"] is None:
        if device_nodes_denied(ctx):
            facts.update(status="permission-denied", version=library, source="library")
        elif module:
            facts.update(status="ok", version=library or module, source="library" if library else "procfs")
        elif library or ctx.which("nvidia-smi"):
            facts.update(status="not-loaded", version=library, source="library")
        elif not errors:
            facts.update(status="not-installed")
    if module and facts["version"] and module != facts["version"]:
        facts.update(mismatch=True, status="mismatch")
    if facts["status"] == "mismatch":
        facts["mismatch"] = True
    if facts["status"] is None:
        facts["status"] = "unknown"
    if errors:  # the facts came from a fallback, or from nowhere: keep why the better sources failed
        facts["error" if facts["status"] == "unknown" else "notes"] = clip("; ".join(errors), 512)
    return facts
