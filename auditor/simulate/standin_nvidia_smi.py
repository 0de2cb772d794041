"""Stand-in ``nvidia-smi`` for simulated hosts: prints what the real one prints for a state.

Copied into a fixture root as ``usr/bin/nvidia-smi`` with a shebang; reads its
state from ``../share/auditor-sim/nvidia-smi.json`` relative to itself. States:
``ok``, ``mismatch`` (Driver/library version mismatch), ``not-loaded`` (cannot
talk to the driver), ``no-devices``. Supports the banner (no arguments), ``-L``
and ``--query-gpu=... --format=csv[,noheader][,nounits]``.
"""

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STATE = json.load(open(os.path.join(HERE, "..", "share", "auditor-sim", "nvidia-smi.json")))

MISMATCH = "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: %s\n"
NOT_LOADED = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
    "Make sure that the latest NVIDIA driver is installed and running.\n\n"
)


def fail_if_unhealthy():
    state = STATE["state"]
    if state == "mismatch":
        sys.stdout.write(MISMATCH % STATE["driver"])
        sys.exit(18)
    if state == "not-loaded":
        sys.stdout.write(NOT_LOADED)
        sys.exit(9)
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
        "memory.total": str(gpu["memory_mib"]) if units else "%d MiB" % gpu["memory_mib"],
        "pci.bus_id": gpu["bus_id"],
        "persistence_mode": "Enabled",
        "mig.mode.current": "[N/A]",
        "ecc.mode.current": "Enabled",
        "vbios_version": "96.00.89.00.01",
        "count": str(len(STATE["gpus"])),
    }
    if name not in values:
        sys.stderr.write('Field "%s" is not a valid field to query.\n\n' % name)
        sys.exit(2)
    return values[name]


def query(args):
    fields, fmt = None, ""
    for arg in args:
        if arg.startswith("--query-gpu="):
            fields = arg.split("=", 1)[1].split(",")
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
    fail_if_unhealthy()
    units = "nounits" not in fmt
    if "noheader" not in fmt:
        print(", ".join(fields))
    for gpu in STATE["gpus"]:
        print(", ".join(field(gpu, f.strip(), not units) for f in fields))


def banner():
    fail_if_unhealthy()
    new_layout = int(STATE["driver"].split(".")[0]) >= 610
    print(time.strftime("%a %b %d %H:%M:%S %Y") + "       ")
    print("+" + "-" * 87 + "+")
    if new_layout:
        head = "| NVIDIA-SMI %-20s KMD Version: %-14s CUDA UMD Version: %-6s" % (
            STATE["driver"],
            STATE["driver"],
            STATE["cuda"],
        )
    else:
        head = "| NVIDIA-SMI %-22s Driver Version: %-12s CUDA Version: %-9s" % (
            STATE["driver"],
            STATE["driver"],
            STATE["cuda"],
        )
    print(head.ljust(88) + "|")
    print("|" + "-" * 41 + "+" + "-" * 22 + "+" + "-" * 22 + "|")
    print("| GPU  Name                 Persistence-M | Bus-Id        Disp.A | Volatile Uncorr. ECC |")
    print("|" + "=" * 41 + "+" + "=" * 22 + "+" + "=" * 22 + "|")
    for gpu in STATE["gpus"]:
        print(
            "| %3d  %-26s      On | %s Off |                    0 |" % (gpu["index"], gpu["name"][:26], gpu["bus_id"])
        )
        print("| N/A   31C    P0    61W / 400W |  4MiB / %dMiB |      0%%      Default |" % gpu["memory_mib"])
    print("+" + "-" * 87 + "+")


def main(args):
    if not args:
        banner()
    elif args[0] == "-L":
        fail_if_unhealthy()
        for gpu in STATE["gpus"]:
            print("GPU %d: %s (UUID: %s)" % (gpu["index"], gpu["name"], gpu["uuid"]))
    elif any(a.startswith("--query-gpu=") for a in args):
        query(args)
    else:
        sys.stderr.write("Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n")
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
