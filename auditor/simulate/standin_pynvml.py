"""Stand-in ``pynvml`` (nvidia-ml-py) for a host whose NVML answers through Python: two GPUs, one of them lost.

Importable as ``pynvml`` when copied so into a directory on the child's path. It answers
like the real bindings on an H100 node: bytes or text as the bindings return them, a
GPU whose handle NVML refuses (``NVMLError`` 15, GPU lost), a field it does not support
(the VBIOS version: ``NVMLError`` 3). With ``AUDITOR_SIM_PYNVML=init-fails`` in the
environment ``nvmlInit`` fails as with a driver/library version mismatch (18).
"""

import os

NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18


class NVMLError(Exception):
    def __init__(self, value):
        super().__init__(f"NVML error {value}")
        self.value = value


class _Memory:
    total = 80 * 1024**3


class _PciInfo:
    busId = b"00000000:07:00.0"


def nvmlInit():
    if os.environ.get("AUDITOR_SIM_PYNVML") == "init-fails":
        raise NVMLError(NVML_ERROR_LIB_RM_VERSION_MISMATCH)


def nvmlShutdown():
    pass


def nvmlSystemGetDriverVersion():
    return b"580.95.05"


def nvmlSystemGetNVMLVersion():
    return "13.580.95.05"


def nvmlSystemGetCudaDriverVersion_v2():
    return 13000


def nvmlDeviceGetCount():
    return 2


def nvmlDeviceGetHandleByIndex(index):
    if index == 1:
        raise NVMLError(NVML_ERROR_GPU_IS_LOST)
    return index


def nvmlDeviceGetName(handle):
    return b"NVIDIA H100 80GB HBM3"


def nvmlDeviceGetUUID(handle):
    return "GPU-1"


def nvmlDeviceGetPciInfo(handle):
    return _PciInfo()


def nvmlDeviceGetCudaComputeCapability(handle):
    return (9, 0)


def nvmlDeviceGetMemoryInfo(handle):
    return _Memory()


def nvmlDeviceGetMigMode(handle):
    return (0, 0)


def nvmlDeviceGetEccMode(handle):
    return (1, 1)


def nvmlDeviceGetPersistenceMode(handle):
    return 1


def nvmlDeviceGetVbiosVersion(handle):
    raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
