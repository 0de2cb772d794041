"""The ``gpus`` section: every GPU the driver sees (NVML, else nvidia-smi)."""

from .common import clip
from .nvml import nvml
from .smi import smi


def gpu_list(ctx, wait=None):
    """{"devices": [...], "source", "error"}: NVML's GPUs, else nvidia-smi's."""

    def compute():
        answer = nvml(ctx)
        if answer["status"] == "ok":
            return {"devices": answer["gpus"], "source": answer["source"], "error": answer.get("gpu_error")}
        fallback = smi(ctx)
        if fallback["status"] == "ok":
            return {"devices": fallback["gpus"], "source": "nvidia-smi", "error": None}
        reasons = [
            r
            for r in (
                answer.get("error") if answer["status"] != "not-installed" else None,
                fallback.get("error") if fallback["status"] != "not-installed" else None,
            )
            if r
        ]
        return {"devices": None, "source": None, "error": "; ".join(reasons) or "no NVIDIA driver"}

    return ctx.once("gpu_list", compute, wait)


def collect_gpus(ctx):
    """Per GPU: index, name, uuid, PCI bus id, compute capability, memory, MIG/ECC/persistence modes, VBIOS.

    Like ``nvidia-smi --query-gpu=index,name,uuid,pci.bus_id,compute_cap,memory.total,
    mig.mode.current,ecc.mode.current,persistence_mode,vbios_version``. ``count`` is
    null when no source could list GPUs.
    """
    found = gpu_list(ctx)
    devices = found["devices"]
    return {
        "count": None if devices is None else len(devices),
        "devices": devices or [],
        "source": found["source"],
        "error": clip(found["error"], 512) if found["error"] else None,
    }
