"""The ``mig`` section: each GPU's MIG mode (current and pending) and, when MIG is on, its GPU instances.

The modes come with the GPU list (``gpus.gpu_list``: NVML's ``nvmlDeviceGetMigMode`` gives
current and pending, 1 = enabled; nvidia-smi's ``mig.mode.current`` and ``mig.mode.pending``,
``Enabled``/``Disabled``, ``[N/A]`` on a GPU without MIG). The GPU instances are what
``nvidia-smi mig -lgi`` lists, run only when a GPU has MIG on. Its table, as NVIDIA's MIG
User Guide prints it (https://docs.nvidia.com/datacenter/tesla/mig-user-guide/getting-started-with-mig.html,
"Creating GPU Instances")::

    +----------------------------------------------------+
    | GPU instances:                                     |
    | GPU   Name          Profile  Instance   Placement  |
    |                       ID       ID       Start:Size |
    |====================================================|
    |   0  MIG 1g.5gb       19       13          6:1     |
    +----------------------------------------------------+

With MIG off on every GPU it prints ``No MIG-enabled devices found.`` and exits 0 (recorded on
an H200, tests/fixtures/real/workflows/gpu/host.txt). A pending mode differs from the current
one until the GPU is reset or the host rebooted (the guide: "MIG mode is in pending enable
state ... Reboot the system or try nvidia-smi --gpu-reset").
"""

import re

from .common import ProbeTimeout, clip, first_line
from .gpus import gpu_list

_LGI_ROW = re.compile(r"^\|\s*(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+):(\d+)\s*\|\s*$")


MAX_INSTANCES = 64


def parse_lgi(text):
    """``nvidia-smi mig -lgi`` output as {gpu index: [instance]}; ValueError when it is neither a table nor
    the "No ... found" line (an unknown layout is never read as "no instances")."""
    found: dict = {}
    rows = 0
    for line in (text or "").splitlines():
        match = _LGI_ROW.match(line)
        if not match:
            continue
        rows += 1
        if rows > MAX_INSTANCES * 8:
            break
        found.setdefault(int(match.group(1)), []).append(
            {
                "profile": clip(match.group(2), 64),
                "profile_id": int(match.group(3)),
                "instance_id": int(match.group(4)),
                "placement": "%s:%s" % (match.group(5), match.group(6)),
            }
        )
    if not rows and not re.search(r"^No .*found\.?\s*$", (text or "").strip(), re.I | re.M):
        raise ValueError("unrecognized nvidia-smi mig -lgi output: %s" % clip(first_line(text), 200))
    return found


def mode_of(device):
    """(current, pending, supported) of one GPU as the GPU list reported it."""
    current, pending = device.get("mig_mode"), device.get("mig_pending")
    if current in ("enabled", "disabled"):
        supported = True
    elif device.get("mig_supported") is False:
        supported = False
    else:
        supported = None
    return current, pending, supported


def collect_mig(ctx):
    """Per GPU: index, uuid, MIG mode current and pending, whether the GPU supports MIG, and its GPU instances.

    Like ``nvidia-smi --query-gpu=index,uuid,mig.mode.current,mig.mode.pending`` then
    ``nvidia-smi mig -lgi``. ``instances`` is null for a GPU with MIG off, and when the
    instances could not be listed (``error`` says why).
    """
    found = gpu_list(ctx)
    if found["devices"] is None:
        return {"devices": [], "source": None, "error": clip(found["error"], 512) if found["error"] else None}
    devices = []
    for device in found["devices"]:
        current, pending, supported = mode_of(device)
        devices.append(
            {
                "index": device.get("index"),
                "uuid": device.get("uuid"),
                "current": current,
                "pending": pending,
                "supported": supported,
                "instances": None,
            }
        )
    section = {"devices": devices, "source": found["source"], "instances_source": None, "error": None}
    if not any(d["current"] == "enabled" for d in devices):
        return section
    smi = ctx.which("nvidia-smi")
    if smi is None:
        section["error"] = "MIG is on, but nvidia-smi is not installed to list its GPU instances"
        return section
    try:
        status, out, err = ctx.run([smi, "mig", "-lgi"], timeout=10)
        if status != 0:
            raise ValueError("nvidia-smi mig -lgi: %s" % (first_line(err or out) or "exit status %d" % status))
        instances = parse_lgi(out)
    except (OSError, ProbeTimeout, ValueError) as exc:
        section["error"] = clip(str(exc), 512)
        return section
    section["instances_source"] = "nvidia-smi mig -lgi"
    for device in devices:
        if device["current"] == "enabled":
            device["instances"] = instances.get(device["index"], [])[:MAX_INSTANCES]
    return section
