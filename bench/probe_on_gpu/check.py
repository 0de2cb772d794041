"""Every fact the probe reported, checked against nvidia-smi and the system's own tools on the same machine.

``python3 check.py probe.json probe-engines.json``; prints one OK/DIFF line per fact.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

FIELDS = (
    "index,name,uuid,driver_version,compute_cap,memory.total,pci.bus_id,"
    "mig.mode.current,ecc.mode.current,persistence_mode,vbios_version"
)
KEYS = (
    "index name uuid driver_version compute_capability memory_total_mib pci_bus_id mig_mode ecc_mode "
    "persistence_mode vbios_version"
).split()
# The lean 11.4 runtime checks the platform tag before the version: forged headers read as corrupt.
EXPECTED_LOADS = {
    "corrupt.plan": "corrupt",
    "forged.plan": "corrupt",
    "forged-10.plan": "corrupt",
    "forged-8.plan": "corrupt",
    "truncated.plan": "corrupt",
    "nomagic.plan": "corrupt",
    "empty.plan": "corrupt",
    "missing.plan": "not-found",
    "wrapped.engine": "corrupt",
    "sm90.plan": "corrupt",
    "cc9.0.plan": "corrupt",
}


class Checker:
    def __init__(self, doc: dict[str, Any], engines: dict[str, Any]) -> None:
        self.doc, self.engines, self.fails = doc, engines, 0

    def check(self, what: str, probe_value: object, reference: object) -> None:
        ok = probe_value == reference
        self.fails += not ok
        print("%s %-48s probe=%r reference=%r" % ("OK  " if ok else "DIFF", what, probe_value, reference))  # noqa: UP031

    def guarded(self, function: Callable[[], None]) -> None:
        try:
            function()
        except Exception as exc:  # one failed comparison must not hide the others
            self.fails += 1
            print("ERROR", function.__name__, type(exc).__name__, exc)

    def gpus(self) -> None:
        text = sh(f"nvidia-smi --query-gpu={FIELDS} --format=csv,noheader,nounits")
        rows = [[p.strip() for p in line.split(",")] for line in text.splitlines() if line.strip()]
        self.check("gpus.count", self.doc["gpus"]["count"], len(rows))
        self.check("gpus.source", self.doc["gpus"]["source"], "nvml")
        for gpu, row in zip(self.doc["gpus"]["devices"], rows, strict=False):
            reference = dict(zip(KEYS, row, strict=False))
            for key in KEYS:
                want: object = reference[key]
                if key == "driver_version":
                    self.check(f"driver.version (query, gpu {row[0]})", self.doc["driver"]["version"], want)
                    continue
                if key in ("index", "memory_total_mib"):
                    want = int(reference[key])
                if key in ("mig_mode", "ecc_mode", "persistence_mode"):
                    want = None if reference[key] in ("[N/A]", "N/A") else reference[key].lower()
                self.check(f"gpus[{row[0]}].{key}", gpu.get(key), want)

    def driver(self) -> None:
        driver, banner = self.doc["driver"], sh("nvidia-smi")
        match = re.search(r"CUDA (?:UMD )?Version:\s*([\d.]+)", banner)
        self.check("driver.cuda_version (banner)", driver["cuda_version"], match.group(1) if match else None)
        match = re.search(r"(?:Driver|KMD) Version:\s*([\d.]+)", banner)
        self.check("driver.version (banner)", driver["version"], match.group(1) if match else None)
        with open("/proc/driver/nvidia/version") as handle:
            match = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+([\d.]+)", handle.read())
        self.check("driver.kernel_module (/proc)", driver["kernel_module"], match.group(1) if match else None)
        self.check("driver.mismatch", driver["mismatch"], False)
        self.check("driver.status", driver["status"], "ok")
        nvml = sh("python3 -c 'import pynvml as n; n.nvmlInit(); print(n.nvmlSystemGetNVMLVersion())'").strip()
        self.check("driver.nvml_version (pynvml)", driver["nvml_version"], nvml)
        real = os.path.realpath("/usr/local/nvidia/lib64/libnvidia-ml.so.1")
        match = re.search(r"so\.([\d.]+)$", real)
        self.check("driver.library_version (libnvidia-ml file)", driver["library_version"], match and match.group(1))

    def host(self) -> None:
        host = self.doc["host"]
        self.check("host.hostname", host["hostname"], socket.gethostname())
        self.check("host.kernel", host["kernel"], platform.release())
        self.check("host.arch", host["arch"], platform.machine())
        self.check("host.python", host["python"], platform.python_version())
        with open("/proc/stat") as handle:
            btime = int(re.findall(r"btime (\d+)", handle.read())[0])
        self.check(
            "host.boot_time (/proc/stat btime)",
            host["boot_time"],
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(btime)),
        )
        self.check(
            "host.boot_time (uptime -s, local=UTC)",
            host["boot_time"].replace("T", " ").rstrip("Z"),
            sh("uptime -s").strip(),
        )
        with open("/etc/os-release") as handle:
            release = dict(line.split("=", 1) for line in handle.read().splitlines() if "=" in line)
        self.check("host.os.pretty_name", host["os"]["pretty_name"], release.get("PRETTY_NAME", "").strip('"'))

    def cuda(self) -> None:
        cuda = self.doc["cuda"]
        match = re.search(r"V(\d+\.\d+\.\d+)", sh("nvcc --version"))
        default = [t for t in cuda["toolkits"] if t["path"] == cuda["default"]]
        self.check(
            "cuda default toolkit nvcc_version",
            default[0]["nvcc_version"] if default else None,
            match and match.group(1),
        )
        self.check("cuda.default (readlink -f /usr/local/cuda)", cuda["default"], os.path.realpath("/usr/local/cuda"))
        cudart = sorted(set(re.findall(r"(libcudart\.so\.[\d.]+) \(", sh("ldconfig -p"))))
        self.check("cuda.cudart_sonames (ldconfig -p)", cuda["cudart_sonames"], cudart)
        compat = sorted(
            n for n in sh("ls /usr/local/cuda-13.0/compat/").split() if re.match(r"libcuda\.so\.\d+\.\d+", n)
        )
        self.check(
            "cuda.compat version (compat/libcuda.so.*)",
            [c["version"] for c in cuda["compat"]],
            [n[11:] for n in compat],
        )

    def cudnn(self) -> None:
        installs = self.doc["cudnn"]["installs"]
        pip = sh("python3 -m pip show nvidia-cudnn-cu13 2>/dev/null | sed -n 's/^Version: //p'").strip()
        wheel = [i["version"] for i in installs if i["source"] == "pip" and i["path"].endswith("/nvidia/cudnn")]
        self.check("cudnn pip wheel version (pip show)", wheel, [pip])
        library = [i["version"] for i in installs if i["source"] == "library" and "site-packages" in i["path"]]
        self.check("cudnn wheel library cudnnGetVersion", library, [".".join(pip.split(".")[:3])])
        deb = sh("dpkg-query -W -f '${Version}' libcudnn9-cuda-13 2>/dev/null").strip()
        system = [i["version"] for i in installs if i["source"] == "library" and "site-packages" not in i["path"]]
        self.check("cudnn system library == dpkg version", system, [".".join(deb.split(".")[:3])] if deb else [])

    def tensorrt(self) -> None:
        lean = sh("python3 -c 'import tensorrt_lean as t; print(t.__version__)'").strip()
        modules = [m["version"] for m in self.doc["tensorrt"]["modules"] if m["module"] == "tensorrt_lean"]
        self.check("tensorrt.modules tensorrt_lean", modules, [lean])
        self.check("tensorrt.version", self.doc["tensorrt"]["version"], lean)
        runtime = (
            "docker" if sh("command -v docker").strip() else ("podman" if sh("command -v podman").strip() else None)
        )
        self.check("containers.runtime", self.doc["containers"]["runtime"], runtime)

    def loads(self) -> None:
        for item in self.engines["engines"]["items"]:
            expected = EXPECTED_LOADS.get(os.path.basename(item["path"]))
            self.check(f"engine {item['path']} load.status", item["load"]["status"], expected)


def sh(command: str) -> str:
    # pipelines of the tools the facts are compared with, on the throw-away GPU machine
    result = subprocess.run(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)  # noqa: S602
    return result.stdout.decode()


def main(probe_json: str, engines_json: str) -> None:
    with open(probe_json) as first, open(engines_json) as second:
        checker = Checker(json.load(first), json.load(second))
    for step in (
        checker.gpus,
        checker.driver,
        checker.host,
        checker.cuda,
        checker.cudnn,
        checker.tensorrt,
        checker.loads,
    ):
        checker.guarded(step)
    print(f"### {checker.fails} differences")
    for name in ("host", "driver", "gpus", "cuda", "cudnn", "tensorrt", "containers", "engines"):
        print("elapsed", name, checker.doc[name].get("elapsed_s"), checker.engines[name].get("elapsed_s"))
    print("duration_s", checker.doc["duration_s"], checker.engines["duration_s"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
