"""``nvidia-smi`` and procfs: what the driver says when NVML cannot be asked directly."""

import re

from .common import ProbeTimeout, clip, first_line, log, to_int

SMI_FIELDS = (
    "index",
    "name",
    "uuid",
    "driver_version",
    "compute_cap",
    "memory.total",
    "pci.bus_id",
    "mig.mode.current",
    "mig.mode.pending",
    "ecc.mode.current",
    "persistence_mode",
    "vbios_version",
)


SMI_KEYS = {
    "index": "index",
    "name": "name",
    "uuid": "uuid",
    "compute_cap": "compute_capability",
    "memory.total": "memory_total_mib",
    "pci.bus_id": "pci_bus_id",
    "mig.mode.current": "mig_mode",
    "mig.mode.pending": "mig_pending",
    "ecc.mode.current": "ecc_mode",
    "persistence_mode": "persistence_mode",
    "vbios_version": "vbios_version",
}


def smi_failure(text, status):
    """What an unhealthy ``nvidia-smi`` says: {"status": ..., "error", "library_version"} or None."""
    if "Driver/library version mismatch" in text:
        result = {"status": "mismatch", "error": first_line(text)}
        match = re.search(r"NVML library version:\s*([\d.]+)", text)
        if match:
            result["library_version"] = match.group(1)
        return result
    if "Insufficient Permissions" in text or "permission denied" in text.lower():
        return {"status": "permission-denied", "error": first_line(text)}
    if "couldn't communicate with the NVIDIA driver" in text or "Driver Not Loaded" in text:
        return {"status": "not-loaded", "error": first_line(text)}
    if "No devices were found" in text:
        return {"status": "ok", "gpus": [], "no_devices": True}
    if status != 0 or "Failed to initialize NVML" in text or "NVIDIA-SMI has failed" in text:
        return {"status": "failed", "error": clip(first_line(text) or "exit status %d" % status, 512)}
    return None


def smi_value(key, value):
    value = value.strip()
    if value in ("[N/A]", "N/A", "[Not Supported]", "Not Supported", "") or value.startswith("[Unknown"):
        return None
    if key in ("index", "memory_total_mib"):
        return to_int(value.split()[0])
    if key in ("mig_mode", "mig_pending", "ecc_mode", "persistence_mode"):
        return value.lower() if value.lower() in ("enabled", "disabled") else clip(value, 64)
    if key == "compute_capability":
        return value if re.match(r"^\d+\.\d+$", value) else None
    return clip(value, 256)


def query_smi(ctx):
    """``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` and its banner's versions.

    Fields an old nvidia-smi does not know (``compute_cap`` before R510) are dropped
    and the query repeated. Returns {"status": "ok" | "not-installed" | "failed" |
    "mismatch" | "not-loaded" | "permission-denied", "error", "driver_version",
    "cuda_version", "banner_layout", "gpus": [...], "library_version"}.
    """
    smi = ctx.which("nvidia-smi")
    if smi is None:
        return {"status": "not-installed", "error": "nvidia-smi not found"}
    banner = ctx.start([smi])  # the banner runs while the query does
    try:
        fields = list(SMI_FIELDS)
        for _ in range(len(SMI_FIELDS)):
            status, out, err = ctx.run(
                [smi, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"], timeout=10
            )
            unknown = re.search(r'Field "([^"]+)" is not a valid field to query', out + err)
            if status != 0 and unknown and unknown.group(1) in fields and len(fields) > 1:
                fields.remove(unknown.group(1))
                continue
            break
    except BaseException:
        banner.kill()
        banner.communicate()
        raise
    text = (out + "\n" + err).strip()
    failure = smi_failure(text, status)
    result = failure or {"status": "ok", "gpus": []}
    if failure is None:
        lines = [line for line in out.splitlines() if line.strip()]
        if lines and not any(len(line.split(",")) == len(fields) for line in lines):
            result = {"status": "failed", "error": "unrecognized nvidia-smi output: %s" % clip(lines[0], 200)}
        for line in lines if result["status"] == "ok" else []:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != len(fields):
                continue
            device = {}
            for name, value in zip(fields, parts):
                if name == "driver_version":
                    result["driver_version"] = clip(value, 64)
                elif smi_value(SMI_KEYS[name], value) is not None:
                    device[SMI_KEYS[name]] = smi_value(SMI_KEYS[name], value)
                elif name == "mig.mode.current" and value.strip() in ("[N/A]", "N/A"):
                    device["mig_supported"] = False  # a GPU without MIG prints N/A (the mig section)
            result["gpus"].append(device)
    try:
        _, banner_out, _ = ctx.finish(banner, 10, "nvidia-smi")
        parse_smi_banner(banner_out, result)
    except ProbeTimeout as exc:
        log("nvidia-smi banner: %s" % exc)
    return result


def parse_smi_banner(text, result):
    """The versions in the banner: old ``Driver Version``/``CUDA Version`` or new ``KMD Version``/``CUDA UMD Version``.

    The new spelling appeared with R610 drivers (docs/research/nvidia-cuda-driver.md 1.9).
    """
    match = re.search(r"CUDA (UMD )?Version:\s*([\d.]+)", text)
    if match:
        result["cuda_version"] = match.group(2)
        result["banner_layout"] = "new" if match.group(1) else "old"
    match = re.search(r"(?:Driver|KMD) Version:\s*([\d.]+)", text)
    if match and "driver_version" not in result:
        result["driver_version"] = match.group(1)


def smi(ctx):
    def compute():
        try:
            return query_smi(ctx)
        except (OSError, ProbeTimeout) as exc:
            return {"status": "failed", "error": clip(str(exc), 512)}

    return ctx.once("smi", compute)
