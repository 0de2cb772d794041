"""Stand-in ``nvidia-smi`` for simulated hosts: prints what the real one prints for a state.

Copied into a fixture root as ``usr/bin/nvidia-smi`` with a shebang; reads its state
from ``../share/auditor-sim/nvidia-smi.json`` relative to itself. States: ``ok``,
``mismatch`` (Driver/library version mismatch), ``not-loaded`` (cannot talk to the
driver), ``permission-denied`` (Insufficient Permissions), ``no-devices``. Supports
the banner (no arguments), ``-L`` and ``--query-gpu=... --format=csv[,noheader][,nounits]``.

The banner reproduces, character for character, the one a real H200 with driver
580.159.04 printed (tests/fixtures/real/smi.txt); drivers from R610 print ``KMD
Version``/``CUDA UMD Version`` in the same columns (docs/research/nvidia-cuda-driver.md 1.9).
R470 drivers do not know the ``compute_cap`` query field, as the real ones (seen with
470.82.01 in NVIDIA/TensorRT-LLM#735 and 470.182.03 in huggingface/candle#733).
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "share", "auditor-sim", "nvidia-smi.json")) as handle:
    STATE = json.load(handle)

MISMATCH = "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: %s\n"
NOT_LOADED = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n\n"
)
PERMISSION = "Failed to initialize NVML: Insufficient Permissions\n"


def driver_branch():
    return int(STATE["driver"].split(".")[0])


def fail_if_unhealthy():
    state = STATE["state"]
    if state == "mismatch":
        sys.stdout.write(MISMATCH % STATE.get("library", STATE["driver"]))
        sys.exit(18)
    if state == "not-loaded":
        sys.stdout.write(NOT_LOADED)
        sys.exit(9)
    if state == "permission-denied":
        sys.stdout.write(PERMISSION)
        sys.exit(4)
    if state == "no-devices":
        sys.stdout.write("No devices were found\n")
        sys.exit(6)


def field(gpu, name, units):
    values = {
        "index": str(gpu["index"]),
        "name": gpu["name"],
        "uuid": gpu["uuid"],
        "driver_version": STATE["driver"],
        "compute_cap": gpu["cc"],
        "memory.total": "%d MiB" % gpu["memory_mib"] if units else str(gpu["memory_mib"]),
        "pci.bus_id": gpu["bus_id"],
        "persistence_mode": "Enabled",
        "mig.mode.current": mig_mode(gpu, "current"),
        "mig.mode.pending": mig_mode(gpu, "pending"),
        "ecc.mode.current": "Enabled",
        "vbios_version": gpu.get("vbios", "96.00.89.00.01"),
        "count": str(len(STATE["gpus"])),
    }
    if name == "compute_cap" and driver_branch() <= 470:
        values.pop(name)
    if name not in values:
        sys.stderr.write('Field "%s" is not a valid field to query.\n\n' % name)
        sys.exit(2)
    return values[name]


def mig_mode(gpu, which):
    """``Enabled``/``Disabled`` on a MIG-capable GPU (its ``mig`` state, else off), ``[N/A]`` on others."""
    if not gpu.get("mig_capable"):
        return "[N/A]"
    return (gpu.get("mig") or {}).get(which, "Disabled")


def list_gpu_instances():
    """``nvidia-smi mig -lgi``: the boxed table of NVIDIA's MIG User Guide, or the line a host without MIG prints."""
    fail_if_unhealthy()
    rows = [
        (gpu["index"], i)
        for gpu in STATE["gpus"]
        if mig_mode(gpu, "current") == "Enabled"
        for i in gpu["mig"]["instances"]
    ]
    if not any(mig_mode(gpu, "current") == "Enabled" for gpu in STATE["gpus"]):
        print("No MIG-enabled devices found.")
        return
    rule = "+" + "-" * 52 + "+"
    print(rule)
    print("| GPU instances:                                     |")
    print("| GPU   Name          Profile  Instance   Placement  |")
    print("|                       ID       ID       Start:Size |")
    print("|" + "=" * 52 + "|")
    for index, instance in rows:
        name = "MIG %s" % instance["profile"]
        placement = "%d:%d" % (instance["start"], instance["size"])
        print("|%4d  %-15s%4d%9d%13s     |" % (index, name, instance["profile_id"], instance["instance_id"], placement))
        print(rule)


def header_name(name, units):
    return "memory.total [MiB]" if name == "memory.total" and units else name


def query(args):
    fields, fmt = None, ""
    for arg in args:
        if arg.startswith("--query-gpu="):
            fields = arg.split("=", 1)[1].split(",")
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
    fail_if_unhealthy()
    units = "nounits" not in fmt
    rows = [", ".join(field(gpu, f.strip(), units) for f in fields) for gpu in STATE["gpus"]]
    if "noheader" not in fmt:
        print(", ".join(header_name(f.strip(), units) for f in fields))
    for row in rows:
        print(row)


def banner():
    fail_if_unhealthy()
    rule = "+" + "-" * 89 + "+"
    columns = "+" + "-" * 41 + "+" + "-" * 24 + "+" + "-" * 22 + "+"
    print(time.strftime("%a %b %d %H:%M:%S %Y") + "       ")
    print(rule)
    if driver_branch() >= 610:
        head = "| NVIDIA-SMI %-23sKMD Version: %-14sCUDA UMD Version: %-9s|"
    else:
        head = "| NVIDIA-SMI %-23sDriver Version: %-15sCUDA Version: %-9s|"
    print(head % (STATE["driver"], STATE["driver"], STATE["cuda"]))
    print(columns)
    print("| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |")
    print("| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |")
    print("|                                         |                        |               MIG M. |")
    print("|" + "=" * 41 + "+" + "=" * 24 + "+" + "=" * 22 + "|")
    for gpu in STATE["gpus"]:
        name = gpu["name"] if len(gpu["name"]) <= 31 else gpu["name"][:27] + " ..."
        print("| %3d  %-31s%-3s |   %-16s %-3s | %20s |" % (gpu["index"], name, "On", gpu["bus_id"], "Off", "0"))
        print(
            "| %-3s %5s %5s %15s / %5s |%11s / %9s |%8s%13s |"
            % (
                "N/A",
                "27C",
                "P0",
                "84W",
                gpu.get("power_cap", "700W"),
                "0MiB",
                "%dMiB" % gpu["memory_mib"],
                "0%",
                "Default",
            )
        )
        print("|%41s|%24s| %20s |" % ("", "", mig_mode(gpu, "current").strip("[]")))
        print(columns)
    print("")
    print(rule)
    print("| Processes:" + " " * 78 + "|")
    print("|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |")
    print("|        ID   ID                                                               Usage      |")
    print("|" + "=" * 89 + "|")
    print("|  No running processes found" + " " * 61 + "|")
    print(rule)


def main(args):
    if not args:
        banner()
    elif args[0] == "-L":
        fail_if_unhealthy()
        for gpu in STATE["gpus"]:
            print("GPU %d: %s (UUID: %s)" % (gpu["index"], gpu["name"], gpu["uuid"]))
    elif any(a.startswith("--query-gpu=") for a in args):
        query(args)
    elif args[:2] == ["mig", "-lgi"]:
        list_gpu_instances()
    else:
        sys.stderr.write("Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n")
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
