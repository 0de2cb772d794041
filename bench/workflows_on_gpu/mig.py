"""What NVML says about MIG on each GPU (issue 15 point 6): mode, limits, profiles, instances.

    python3 bench/workflows_on_gpu/mig.py > mig.txt 2>&1

Prints ``### call`` then the value or ``NVMLError <code> <text>`` for every query, so the
recording shows both the values on a GPU with MIG off and the errors NVML gives there.
Needs ``pynvml`` (the nvidia-ml-py package).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import pynvml


def attempt(title: str, call: Callable[[], Any]) -> Any:
    """Print ``call``'s value (or NVML's error code and text) under ``title``; return the value or None."""
    print(f"### {title}", flush=True)
    try:
        value = call()
    except pynvml.NVMLError as error:
        print(f"NVMLError {error.value} {error}", flush=True)
        return None
    except Exception as error:  # a binding that this pynvml lacks, say
        print(f"EXCEPTION {type(error).__name__}: {error}", flush=True)
        return None
    print(plain(value), flush=True)
    return value


def plain(value: Any) -> Any:
    """NVML's ctypes structures as dicts, bytes as text, so the output reads as data."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    fields = getattr(value, "_fields_", None)
    if fields:
        return {name: plain(getattr(value, name)) for name, *_ in fields}
    return value


def instances(handle: Any, info: Any) -> int:
    """How many GPU instances of one profile exist (NVML fills a caller-sized array)."""
    array = (pynvml.c_nvmlGpuInstance_t * max(int(info.instanceCount), 1))()
    count = ctypes.c_uint(0)
    pynvml.nvmlDeviceGetGpuInstances(handle, info.id, array, ctypes.byref(count))
    return count.value


def main() -> int:
    attempt("nvmlInit()", pynvml.nvmlInit)
    attempt("nvmlSystemGetDriverVersion()", pynvml.nvmlSystemGetDriverVersion)
    attempt("nvmlSystemGetNVMLVersion()", pynvml.nvmlSystemGetNVMLVersion)
    count = attempt("nvmlDeviceGetCount()", pynvml.nvmlDeviceGetCount) or 0
    constants = sorted(n for n in dir(pynvml) if n.startswith("NVML_GPU_INSTANCE_PROFILE_") and not n.endswith("COUNT"))
    print(
        f"### GPU instance profile constants in this pynvml: {[(n, getattr(pynvml, n)) for n in constants]}", flush=True
    )
    for index in range(count):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        attempt(f"[{index}] nvmlDeviceGetName", lambda h=handle: pynvml.nvmlDeviceGetName(h))
        attempt(
            f"[{index}] nvmlDeviceGetMigMode -> [current, pending]", lambda h=handle: pynvml.nvmlDeviceGetMigMode(h)
        )
        attempt(f"[{index}] nvmlDeviceIsMigDeviceHandle", lambda h=handle: pynvml.nvmlDeviceIsMigDeviceHandle(h))
        attempt(f"[{index}] nvmlDeviceGetMaxMigDeviceCount", lambda h=handle: pynvml.nvmlDeviceGetMaxMigDeviceCount(h))
        attempt(
            f"[{index}] nvmlDeviceGetMigDeviceHandleByIndex(0)",
            lambda h=handle: pynvml.nvmlDeviceGetMigDeviceHandleByIndex(h, 0),
        )
        attempt(
            f"[{index}] nvmlDeviceGetCudaComputeCapability",
            lambda h=handle: pynvml.nvmlDeviceGetCudaComputeCapability(h),
        )
        attempt(f"[{index}] nvmlDeviceGetUUID", lambda h=handle: pynvml.nvmlDeviceGetUUID(h))
        attempt(f"[{index}] nvmlDeviceGetMemoryInfo.total", lambda h=handle: pynvml.nvmlDeviceGetMemoryInfo(h).total)
        for name in constants:
            profile = getattr(pynvml, name)
            info = attempt(
                f"[{index}] nvmlDeviceGetGpuInstanceProfileInfo({name}={profile}) (v2 struct)",
                lambda h=handle, p=profile: pynvml.nvmlDeviceGetGpuInstanceProfileInfo(h, p),
            )
            attempt(
                f"[{index}] nvmlDeviceGetGpuInstanceProfileInfo({name}={profile}, version=1)",
                lambda h=handle, p=profile: pynvml.nvmlDeviceGetGpuInstanceProfileInfo(h, p, 1),
            )
            if info is not None:
                attempt(
                    f"[{index}] nvmlDeviceGetGpuInstanceRemainingCapacity(profile id {info.id})",
                    lambda h=handle, i=info.id: pynvml.nvmlDeviceGetGpuInstanceRemainingCapacity(h, i),
                )
                attempt(
                    f"[{index}] nvmlDeviceGetGpuInstances(profile id {info.id}) -> count",
                    lambda h=handle, i=info: instances(h, i),
                )
    attempt("nvmlShutdown()", pynvml.nvmlShutdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
