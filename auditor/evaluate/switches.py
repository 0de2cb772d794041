"""The ids a policy's ``disable:`` may name: each built-in check's switches, with what each checks.

Kept apart from the checks themselves so that reading a policy (``auditor check``) needs
no check module, and with them no facts model or knowledge lookup: each built-in check
takes its ``switches`` from here (``SWITCHES[module name]``), and the registry's
``CHECK_IDS`` is this table's (a test holds them together).
"""

from __future__ import annotations

SWITCHES: dict[str, dict[str, str]] = {
    "driver_state": {
        "driver.mismatch": "kernel module and user-space driver are the same version (else reboot)",
        "driver.loaded": "the installed driver's kernel module is loaded (else reboot)",
        "driver.installed": "an NVIDIA driver is installed",
        "gpu.visible": "the loaded driver sees at least one GPU",
    },
    "driver_eol": {"driver.eol": "the driver branch is not past end of life (else warn)"},
    "driver_arch": {
        "driver.arch": "the driver branch runs the GPU: its architecture's first and last branch, and system floors (HGX)"
    },
    "cuda_driver": {
        "cuda.driver": "the driver runs every installed CUDA toolkit (native, minor-version, or cuda-compat)"
    },
    "cuda_arch": {"cuda.arch": "every installed CUDA toolkit builds for the GPU architecture"},
    "tensorrt": {
        "tensorrt.arch": "TensorRT supports the GPU architecture",
        "tensorrt.cuda": "TensorRT has a build for the installed CUDA and the driver meets its floor",
        "tensorrt.cudnn": "the cuDNN TensorRT needs is installed (TensorRT before 8.6; optional from 8.6)",
    },
    "containers": {
        "containers.image": "every running container's image runs on the host's driver and GPU (floor, forward "
        "compatibility, GPU class)"
    },
    "image_tags": {
        "containers.tag": "no running container on a floating image tag (latest, or any tag not a dated release or digest)"
    },
    "container_toolkit": {
        "containers.toolkit": "containers that ask for GPUs have the NVIDIA Container Toolkit and a runtime configured for it"
    },
}
CHECK_IDS: dict[str, str] = {name: what for switches in SWITCHES.values() for name, what in switches.items()}
"""Every built-in check id a policy's ``disable:`` may name, with what it checks."""
