"""NVML's answers through ``pynvml`` (nvidia-ml-py) in a child interpreter, for hosts where ctypes did not answer.

``python3 -c <this>`` prints one JSON object in the shape of the probe's ctypes query:
``status`` (ok, not-installed, init-failed), the driver, NVML and CUDA versions, and one
entry per GPU; a field NVML will not give is left out. Standard library only (plus the
host's pynvml), Python 3.6; shipped inside the probe.
"""

import json


def text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def code_of(exc):
    return getattr(exc, "value", None)


def field(record, key, getter, *args):
    """``record[key] = getter(*args)``, left out when NVML raises (a field this GPU or driver lacks)."""
    try:
        record[key] = getter(*args)
    except Exception:  # noqa: S110 - a missing field is left out, by contract
        pass


def cuda_version(n):
    v = n.nvmlSystemGetCudaDriverVersion_v2()
    return "%d.%d" % (v // 1000, (v % 1000) // 10)


GPU_FIELDS = (
    ("name", lambda n, h: text(n.nvmlDeviceGetName(h))),
    ("uuid", lambda n, h: text(n.nvmlDeviceGetUUID(h))),
    ("pci_bus_id", lambda n, h: text(n.nvmlDeviceGetPciInfo(h).busId)),
    ("compute_capability", lambda n, h: "%d.%d" % tuple(n.nvmlDeviceGetCudaComputeCapability(h))),
    ("memory_total_mib", lambda n, h: int(n.nvmlDeviceGetMemoryInfo(h).total) // (1024 * 1024)),
    ("mig_mode", lambda n, h: "enabled" if n.nvmlDeviceGetMigMode(h)[0] else "disabled"),
    ("mig_pending", lambda n, h: "enabled" if n.nvmlDeviceGetMigMode(h)[1] else "disabled"),
    ("ecc_mode", lambda n, h: "enabled" if n.nvmlDeviceGetEccMode(h)[0] else "disabled"),
    ("persistence_mode", lambda n, h: "enabled" if n.nvmlDeviceGetPersistenceMode(h) else "disabled"),
    ("vbios_version", lambda n, h: text(n.nvmlDeviceGetVbiosVersion(h))),
)


def mig_not_supported(n, handle):
    """True when NVML says the GPU has no MIG (NVML_ERROR_NOT_SUPPORTED, 3), not merely that it failed."""
    try:
        n.nvmlDeviceGetMigMode(handle)
    except Exception as exc:
        return code_of(exc) == 3
    return False


def query():
    """What NVML says, through pynvml; NVML is shut down again before returning."""
    try:
        import pynvml as n
    except Exception as exc:
        return {"status": "not-installed", "error": "%s: %s" % (type(exc).__name__, exc)}
    try:
        n.nvmlInit()
    except Exception as exc:
        return {"status": "init-failed", "code": code_of(exc), "error": text(exc)}
    out: dict = {"status": "ok", "gpus": []}
    try:
        field(out, "driver_version", lambda: text(n.nvmlSystemGetDriverVersion()))
        field(out, "nvml_version", lambda: text(n.nvmlSystemGetNVMLVersion()))
        field(out, "cuda_version", cuda_version, n)
        for index in range(n.nvmlDeviceGetCount()):
            device = {"index": index}
            try:
                handle = n.nvmlDeviceGetHandleByIndex(index)
            except Exception as exc:
                device["error"] = text(exc)
                out["gpus"].append(device)
                continue
            for key, getter in GPU_FIELDS:
                field(device, key, getter, n, handle)
            if "mig_mode" not in device and mig_not_supported(n, handle):
                device["mig_supported"] = False
            out["gpus"].append(device)
    finally:
        n.nvmlShutdown()
    return out


if __name__ == "__main__":
    print(json.dumps(query()))
