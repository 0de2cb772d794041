"""NVML, the driver's management library: through ctypes first, then ``pynvml`` in a child.

Answers the driver version, the CUDA version the driver supports
(``nvmlSystemGetCudaDriverVersion``), and one record per GPU; an NVML that refuses to
initialize says why (not loaded, no permission, driver/library version mismatch).
"""

import ctypes
import json

from .common import ProbeTimeout, clip, decode, describe_exit
from .system import find_library, find_module

# NVML return codes (nvml.h, nvmlReturn_t) the probe tells apart.
NVML_SUCCESS = 0


NVML_ERROR_NOT_SUPPORTED = 3


NVML_ERROR_NO_PERMISSION = 4


NVML_ERROR_DRIVER_NOT_LOADED = 9


NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18


NVML_INIT_STATUS = {
    NVML_ERROR_NO_PERMISSION: "permission-denied",
    NVML_ERROR_DRIVER_NOT_LOADED: "not-loaded",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "mismatch",
}


class NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class NvmlPciInfo(ctypes.Structure):
    """nvmlPciInfo_t (nvml.h): the v2/v3 layout with the 32-byte ``busId``."""

    _fields_ = [
        ("busIdLegacy", ctypes.c_char * 16),
        ("domain", ctypes.c_uint),
        ("bus", ctypes.c_uint),
        ("device", ctypes.c_uint),
        ("pciDeviceId", ctypes.c_uint),
        ("pciSubSystemId", ctypes.c_uint),
        ("busId", ctypes.c_char * 32),
        ("spare", ctypes.c_char * 64),
    ]


def decode_cuda_int(value):
    """``nvmlSystemGetCudaDriverVersion``: 1000*major + 10*minor (12020 -> "12.2")."""
    return "%d.%d" % (value // 1000, (value % 1000) // 10)


def enabled(value):
    return "enabled" if value else "disabled"


def query_nvml(ctx):
    """Everything the probe asks NVML, in one session (``nvmlInit_v2`` .. ``nvmlShutdown``).

    Returns {"status": "ok" | "not-installed" | "load-failed" | "init-failed", "code": nvmlReturn_t,
    "error": text, "driver_version", "cuda_version", "nvml_version", "gpus": [...]}.
    """
    path = "libnvidia-ml.so.1"
    if ctx.rooted:
        path = find_library(ctx, "libnvidia-ml.so.1")
        if path is None:
            return {"status": "not-installed", "error": "libnvidia-ml.so.1 not found"}
        path = ctx.path(path)
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        missing = "cannot open shared object file" in str(exc) or "No such file" in str(exc)
        return {"status": "not-installed" if missing else "load-failed", "error": clip(str(exc), 512)}

    def error_string(code):
        try:
            lib.nvmlErrorString.restype = ctypes.c_char_p
            return decode(lib.nvmlErrorString(code))
        except AttributeError:
            return "NVML error %d" % code

    def call(name, *args):
        function = getattr(lib, name + "_v3", None) or getattr(lib, name + "_v2", None) or getattr(lib, name, None)
        if function is None:
            return -1
        return function(*args)

    code = call("nvmlInit")
    if code != NVML_SUCCESS:
        return {"status": "init-failed", "code": code, "error": error_string(code)}
    result: dict = {"status": "ok", "gpus": []}
    try:
        buf = ctypes.create_string_buffer(96)
        if lib.nvmlSystemGetDriverVersion(buf, 96) == NVML_SUCCESS:
            result["driver_version"] = clip(decode(buf.value), 64)
        if lib.nvmlSystemGetNVMLVersion(buf, 96) == NVML_SUCCESS:
            result["nvml_version"] = clip(decode(buf.value), 64)
        cuda = ctypes.c_int()
        # _v2 reads libcuda and fails when it is absent, instead of guessing (docs/research/nvidia-cuda-driver.md 1.9)
        code = call("nvmlSystemGetCudaDriverVersion", ctypes.byref(cuda))
        if code == NVML_SUCCESS:
            result["cuda_version"] = decode_cuda_int(cuda.value)
        else:
            result["cuda_error"] = error_string(code)
        count = ctypes.c_uint()
        code = call("nvmlDeviceGetCount", ctypes.byref(count))
        if code != NVML_SUCCESS:
            result["gpu_error"] = error_string(code)
        for index in range(min(count.value, 64)):
            result["gpus"].append(nvml_device(lib, call, index, error_string))
    finally:
        lib.nvmlShutdown()
    return result


def nvml_device(lib, call, index, error_string):
    """One GPU's facts through NVML; a field NVML cannot give is left out (N/A, not supported)."""
    device = {"index": index}
    handle = ctypes.c_void_p()
    code = call("nvmlDeviceGetHandleByIndex", ctypes.c_uint(index), ctypes.byref(handle))
    if code != NVML_SUCCESS:
        device["error"] = clip(error_string(code), 256)
        return device
    buf = ctypes.create_string_buffer(96)
    if lib.nvmlDeviceGetName(handle, buf, 96) == NVML_SUCCESS:
        device["name"] = clip(decode(buf.value), 256)
    if lib.nvmlDeviceGetUUID(handle, buf, 96) == NVML_SUCCESS:
        device["uuid"] = clip(decode(buf.value), 256)
    pci = NvmlPciInfo()
    if call("nvmlDeviceGetPciInfo", handle, ctypes.byref(pci)) == NVML_SUCCESS:
        device["pci_bus_id"] = clip(decode(pci.busId), 64)
    major, minor = ctypes.c_int(), ctypes.c_int()
    if lib.nvmlDeviceGetCudaComputeCapability(handle, ctypes.byref(major), ctypes.byref(minor)) == NVML_SUCCESS:
        device["compute_capability"] = "%d.%d" % (major.value, minor.value)
    memory = NvmlMemory()
    if lib.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == NVML_SUCCESS:
        device["memory_total_mib"] = memory.total // (1024 * 1024)
    current, pending = ctypes.c_uint(), ctypes.c_uint()
    code = lib.nvmlDeviceGetMigMode(handle, ctypes.byref(current), ctypes.byref(pending))
    if code == NVML_SUCCESS:
        device["mig_mode"] = enabled(current.value)
        device["mig_pending"] = enabled(pending.value)
    elif code == NVML_ERROR_NOT_SUPPORTED:  # a GPU without MIG (the mig section tells it from "unknown")
        device["mig_supported"] = False
    if lib.nvmlDeviceGetEccMode(handle, ctypes.byref(current), ctypes.byref(pending)) == NVML_SUCCESS:
        device["ecc_mode"] = enabled(current.value)
    if lib.nvmlDeviceGetPersistenceMode(handle, ctypes.byref(current)) == NVML_SUCCESS:
        device["persistence_mode"] = enabled(current.value)
    if lib.nvmlDeviceGetVbiosVersion(handle, buf, 96) == NVML_SUCCESS:
        device["vbios_version"] = clip(decode(buf.value), 64)
    return device


def query_pynvml(ctx):
    """The same questions through ``pynvml`` (nvidia-ml-py) in a child, when the host has it.

    Used when the ctypes session did not answer (a ctypes layout the host's NVML
    disagrees with, say); returns the ``query_nvml`` shape.
    """
    if find_module(ctx, "pynvml") is None:
        return {"status": "not-installed", "error": "pynvml is not installed"}
    status, out, err = ctx.run_child("pynvml_query", [], timeout=10)
    if status != 0:
        return {"status": "load-failed", "error": clip(describe_exit(status, err), 512)}
    try:
        result = json.loads(out)
    except ValueError:
        return {"status": "load-failed", "error": "pynvml: unreadable answer"}
    return result if isinstance(result, dict) else {"status": "load-failed", "error": "pynvml: unreadable answer"}


def nvml(ctx):
    """NVML's answer: ctypes first, then pynvml; the source says which one answered."""

    def compute():
        result = query_nvml(ctx)
        result["source"] = "nvml"
        if result["status"] == "load-failed" or (
            result["status"] == "init-failed" and result.get("code") not in NVML_INIT_STATUS
        ):
            try:
                second = query_pynvml(ctx)
            except (OSError, ProbeTimeout) as exc:
                second = {"status": "load-failed", "error": str(exc)}
            if second.get("status") == "ok":
                second["source"] = "pynvml"
                return second
        return result

    return ctx.once("nvml", compute)
