#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""auditor probe: read-only facts about one NVIDIA GPU node, as ``auditor.facts/1`` JSON.

Shipped to each host and run as ``python3 - [--request=B64] [--root DIR]`` with this
file on stdin; also runnable as a plain script. Standard library only, Python 3.6
syntax, never needs root, never writes anything on the host.

Contract:
  * stdout carries exactly one JSON object (``schema: auditor.facts/1``), at most
    MAX_OUTPUT_BYTES; long lists are cut and flagged ``truncated``.
  * the exit status is 0 even when collectors fail: each section reports its own
    ``error`` (a string, or null), and a collector that overruns its time budget is
    reported as timed out while the others still arrive.
  * ``--root DIR`` reads files under DIR instead of ``/`` and looks for commands and
    libraries there (auditing a mounted image, and the simulated fleet).
  * ``--request=B64`` is base64 of a JSON object from the controller:
    ``{"budgets": {collector: seconds}, "engines": [paths]}``.
"""

import base64
import ctypes
import glob
import json
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time

SCHEMA = "auditor.facts/1"
PROBE_VERSION = "0.1.0"
MAX_OUTPUT_BYTES = 1024 * 1024
MAX_FILE_BYTES = 256 * 1024
MAX_STRING = 4096
DEFAULT_BUDGETS = {"host": 2.0, "driver": 8.0, "gpus": 8.0, "cuda": 6.0, "tensorrt": 20.0}

# Where commands and libraries live on the GPU nodes we audit (Debian/Ubuntu, RHEL, tarballs).
BIN_DIRS = ("/usr/local/nvidia/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
            "/sbin", "/bin")
LIB_DIRS = ("/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64", "/lib",
            "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
            "/usr/local/tensorrt/lib", "/opt/tensorrt/lib")

# NVML return codes (nvml.h, nvmlReturn_t) the probe tells apart.
NVML_SUCCESS = 0
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18


def log(message):
    """Diagnostics go to stderr; stdout is reserved for the JSON document."""
    sys.stderr.write("auditor-probe: %s\n" % message)


def clip(text, limit=MAX_STRING):
    """Bound a string taken from the host (it may be arbitrarily long)."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "...[truncated]"


def decode(raw):
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


class ProbeContext(object):
    """What collectors share: the root, the request, and cached expensive queries."""

    def __init__(self, root, request):
        self.root = os.path.abspath(root) if root else "/"
        self.rooted = self.root != "/"
        self.request = request
        self._lock = threading.Lock()
        self._cache = {}
        self._cache_locks = {}

    # -- files ---------------------------------------------------------------------------
    def path(self, path):
        """The path as seen under the audited root."""
        if not self.rooted:
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def resolve(self, path):
        """Follow symlinks without leaving the root (absolute targets are re-rooted)."""
        current = path
        for _ in range(16):
            real = self.path(current)
            if not os.path.islink(real):
                return current
            target = os.readlink(real)
            current = target if target.startswith("/") else os.path.normpath(
                os.path.join(os.path.dirname(current), target))
        return current

    def read_text(self, path, limit=MAX_FILE_BYTES):
        """File contents as text (at most ``limit`` bytes), or None when absent."""
        try:
            with open(self.path(path), "rb") as handle:
                return decode(handle.read(limit))
        except (IOError, OSError):
            return None

    def glob(self, pattern):
        """Glob under the root; results are host paths (without the root prefix)."""
        found = sorted(glob.glob(self.path(pattern)))
        if not self.rooted:
            return found
        return ["/" + os.path.relpath(p, self.root) for p in found]

    def exists(self, path):
        return os.path.exists(self.path(path))

    # -- commands ------------------------------------------------------------------------
    def which(self, name):
        """Host path of an executable named ``name``, or None."""
        dirs = list(BIN_DIRS)
        if not self.rooted:
            dirs = os.environ.get("PATH", "").split(os.pathsep) + dirs
        for directory in dirs:
            if not directory:
                continue
            candidate = os.path.join(directory, name)
            if os.path.isfile(self.path(candidate)) and os.access(self.path(candidate), os.X_OK):
                return candidate
        return None

    def run(self, argv, timeout):
        """Run a command found on the host; returns (status, stdout, stderr) as text.

        Raises OSError when it cannot start, and ProbeTimeout when it overruns.
        """
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        argv = [self.path(argv[0])] + list(argv[1:])
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, close_fds=True)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ProbeTimeout("%s did not finish within %.1fs" % (os.path.basename(argv[0]), timeout))
        return process.returncode, decode(out[:MAX_FILE_BYTES]), decode(err[:MAX_FILE_BYTES])

    def run_python(self, code, args, timeout, extra_path=None):
        """Run a small Python snippet in a child interpreter (isolates crashes and hangs)."""
        argv = [sys.executable, "-c", code] + list(args)
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        if extra_path is not None:
            # -S: none of this interpreter's own site-packages, only the audited root's
            env["PYTHONPATH"] = os.pathsep.join(extra_path)
            argv.insert(1, "-S")
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, close_fds=True)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ProbeTimeout("child python did not finish within %.1fs" % timeout)
        return process.returncode, decode(out[:MAX_FILE_BYTES]), decode(err[:MAX_FILE_BYTES])

    # -- shared, computed once -------------------------------------------------------------
    def once(self, key, compute):
        """``compute()`` once per probe run, even when several collectors ask at once."""
        with self._lock:
            lock = self._cache_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                try:
                    self._cache[key] = (compute(), None)
                except Exception as exc:  # reported by every caller
                    self._cache[key] = (None, exc)
            value, error = self._cache[key]
        if error is not None:
            raise error
        return value


class ProbeTimeout(Exception):
    """A command or child process overran its time budget."""


# -- host -------------------------------------------------------------------------------------

def parse_os_release(text):
    """KEY=value lines of os-release(5) into a dict (quotes removed)."""
    result = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result[key.strip()] = clip(value, 256)
    return result


def collect_host(ctx):
    """Hostname, OS (os-release), kernel, arch, python: like ``uname -a; cat /etc/os-release``."""
    release = parse_os_release(ctx.read_text("/etc/os-release") or ctx.read_text("/usr/lib/os-release"))
    hostname = (ctx.read_text("/proc/sys/kernel/hostname") or ctx.read_text("/etc/hostname") or "").strip()
    if not hostname and not ctx.rooted:
        hostname = socket.gethostname()
    kernel = (ctx.read_text("/proc/sys/kernel/osrelease") or "").strip()
    if not kernel and not ctx.rooted:
        kernel = platform.release()
    arch = (ctx.read_text("/proc/sys/kernel/arch") or "").strip() or platform.machine()
    return {
        "hostname": clip(hostname, 256) or None,
        "os": {
            "id": release.get("ID"),
            "version_id": release.get("VERSION_ID"),
            "pretty_name": release.get("PRETTY_NAME"),
        },
        "kernel": clip(kernel, 256) or None,
        "arch": arch,
        "python": platform.python_version(),
    }


# -- NVML through ctypes --------------------------------------------------------------------

def find_library(ctx, soname):
    """Host path of a library by soname: ``ldconfig -p`` first, then the usual directories."""
    for entry in ctx.once("libraries", lambda: list_libraries(ctx)):
        if entry["name"] == soname:
            return entry["path"]
    return None


def list_libraries(ctx):
    """Shared libraries the dynamic linker knows: [{name, path}] like ``ldconfig -p``."""
    entries = []
    if not ctx.rooted:
        ldconfig = ctx.which("ldconfig") or ("/sbin/ldconfig" if ctx.exists("/sbin/ldconfig") else None)
        if ldconfig:
            try:
                status, out, _ = ctx.run([ldconfig, "-p"], timeout=5)
                if status == 0:
                    entries = parse_ldconfig(out)
            except (OSError, ProbeTimeout) as exc:
                log("ldconfig -p failed: %s" % exc)
    if not entries:
        entries = scan_library_dirs(ctx)
    return entries


def parse_ldconfig(text):
    """Lines like ``\\tlibnvinfer.so.8 (libc6,x86-64) => /usr/lib/.../libnvinfer.so.8``."""
    entries = []
    for line in text.splitlines():
        match = re.match(r"^\s+(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$", line)
        if match:
            entries.append({"name": match.group(1), "path": match.group(3)})
    return entries


def scan_library_dirs(ctx):
    """What ``ldconfig -p`` would list, found by looking in the usual library directories."""
    dirs = list(LIB_DIRS)
    for conf in ctx.glob("/etc/ld.so.conf.d/*.conf"):
        for line in (ctx.read_text(conf) or "").splitlines():
            line = line.strip()
            if line.startswith("/"):
                dirs.append(line)
    seen, entries = set(), []
    for directory in dirs:
        for path in ctx.glob(os.path.join(directory, "lib*.so.*")):
            name = os.path.basename(path)
            if name not in seen and re.match(r"^lib[\w+-]+\.so\.\d+$", name):
                seen.add(name)
                entries.append({"name": name, "path": path})
    return entries


def query_nvml(ctx):
    """Everything the probe asks NVML, in one session (``nvmlInit_v2`` .. ``nvmlShutdown``).

    Returns {"status": "ok" | "not-installed" | "load-failed" | "init-failed", "code": nvmlReturn_t,
    "error": text, "driver_version", "cuda_version", "nvml_version", "gpus": [...]}.
    """
    path = "libnvidia-ml.so.1"
    if ctx.rooted:
        path = find_library(ctx, "libnvidia-ml.so.1")
        if path is None:
            return {"status": "not-installed", "error": "libnvidia-ml.so.1 not found"}
        path = ctx.path(path)
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        missing = "cannot open shared object file" in str(exc) or "No such file" in str(exc)
        return {"status": "not-installed" if missing else "load-failed", "error": clip(str(exc), 512)}

    def error_string(code):
        try:
            lib.nvmlErrorString.restype = ctypes.c_char_p
            return decode(lib.nvmlErrorString(code))
        except AttributeError:
            return "NVML error %d" % code

    init = getattr(lib, "nvmlInit_v2", None) or lib.nvmlInit
    code = init()
    if code != NVML_SUCCESS:
        return {"status": "init-failed", "code": code, "error": error_string(code)}
    result = {"status": "ok", "gpus": []}
    try:
        buf = ctypes.create_string_buffer(96)
        if lib.nvmlSystemGetDriverVersion(buf, 96) == NVML_SUCCESS:
            result["driver_version"] = decode(buf.value)
        if lib.nvmlSystemGetNVMLVersion(buf, 96) == NVML_SUCCESS:
            result["nvml_version"] = decode(buf.value)
        cuda = ctypes.c_int()
        getter = getattr(lib, "nvmlSystemGetCudaDriverVersion_v2", None) or lib.nvmlSystemGetCudaDriverVersion
        if getter(ctypes.byref(cuda)) == NVML_SUCCESS:
            result["cuda_version"] = "%d.%d" % (cuda.value // 1000, (cuda.value % 1000) // 10)
        count = ctypes.c_uint()
        code = (getattr(lib, "nvmlDeviceGetCount_v2", None) or lib.nvmlDeviceGetCount)(ctypes.byref(count))
        if code != NVML_SUCCESS:
            result["gpu_error"] = error_string(code)
        for index in range(count.value):
            result["gpus"].append(nvml_device(lib, index, error_string))
    finally:
        lib.nvmlShutdown()
    return result


class NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


def nvml_device(lib, index, error_string):
    """One GPU's facts through NVML; each field that fails is left out, noting why."""
    device = {"index": index}
    handle = ctypes.c_void_p()
    get_handle = getattr(lib, "nvmlDeviceGetHandleByIndex_v2", None) or lib.nvmlDeviceGetHandleByIndex
    code = get_handle(ctypes.c_uint(index), ctypes.byref(handle))
    if code != NVML_SUCCESS:
        device["error"] = error_string(code)
        return device
    buf = ctypes.create_string_buffer(96)
    if lib.nvmlDeviceGetName(handle, buf, 96) == NVML_SUCCESS:
        device["name"] = clip(decode(buf.value), 256)
    if lib.nvmlDeviceGetUUID(handle, buf, 96) == NVML_SUCCESS:
        device["uuid"] = clip(decode(buf.value), 256)
    major, minor = ctypes.c_int(), ctypes.c_int()
    if lib.nvmlDeviceGetCudaComputeCapability(handle, ctypes.byref(major), ctypes.byref(minor)) == NVML_SUCCESS:
        device["compute_capability"] = "%d.%d" % (major.value, minor.value)
    memory = NvmlMemory()
    if lib.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == NVML_SUCCESS:
        device["memory_total_mib"] = memory.total // (1024 * 1024)
    return device


# -- nvidia-smi and procfs fallbacks ---------------------------------------------------------

SMI_FIELDS = ("index", "name", "uuid", "driver_version", "compute_cap", "memory.total")


def query_smi(ctx):
    """``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` and its banner's CUDA version.

    Returns {"status": "ok" | "not-installed" | "failed", "error", "driver_version", "cuda_version",
    "gpus": [...], "mismatch": bool, "library_version"}.
    """
    smi = ctx.which("nvidia-smi")
    if smi is None:
        return {"status": "not-installed", "error": "nvidia-smi not found"}
    status, out, err = ctx.run([smi, "--query-gpu=" + ",".join(SMI_FIELDS),
                                "--format=csv,noheader,nounits"], timeout=10)
    text = (out + "\n" + err).strip()
    if status != 0 or "Failed to initialize NVML" in text or "NVIDIA-SMI has failed" in text:
        result = {"status": "failed", "error": clip(first_line(text) or "exit status %d" % status, 512)}
        if "Driver/library version mismatch" in text:
            result["mismatch"] = True
            match = re.search(r"NVML library version:\s*([\d.]+)", text)
            if match:
                result["library_version"] = match.group(1)
        if "No devices were found" in text:
            result = {"status": "ok", "gpus": [], "no_devices": True}
        return result
    result = {"status": "ok", "gpus": []}
    for line in out.splitlines():
        if not line.strip():
            continue
        if "No devices were found" in line:
            result["no_devices"] = True
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != len(SMI_FIELDS):
            continue
        device = {"index": to_int(parts[0]), "name": clip(parts[1], 256), "uuid": clip(parts[2], 256)}
        if re.match(r"^\d+\.\d+$", parts[4]):
            device["compute_capability"] = parts[4]
        memory = to_int(parts[5])
        if memory is not None:
            device["memory_total_mib"] = memory
        result["driver_version"] = parts[3]
        result["gpus"].append(device)
    try:
        _, banner, _ = ctx.run([smi], timeout=10)
        match = re.search(r"CUDA (?:UMD )?Version:\s*([\d.]+)", banner)
        if match:
            result["cuda_version"] = match.group(1)
        if "driver_version" not in result:
            match = re.search(r"(?:Driver|KMD) Version:\s*([\d.]+)", banner)
            if match:
                result["driver_version"] = match.group(1)
    except (OSError, ProbeTimeout) as exc:
        log("nvidia-smi banner: %s" % exc)
    return result


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def to_int(text):
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def kernel_module_version(ctx):
    """The loaded kernel module's version from ``/proc/driver/nvidia/version``, or None."""
    text = ctx.read_text("/proc/driver/nvidia/version")
    if not text:
        return None
    match = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
    return match.group(1) if match else None


def library_driver_version(ctx):
    """The user-space driver version from the name of libnvidia-ml's real file, or None."""
    path = find_library(ctx, "libnvidia-ml.so.1")
    if path is None:
        return None
    match = re.search(r"libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)?)$", ctx.resolve(path))
    return match.group(1) if match else None


def collect_driver(ctx):
    """Driver version and the CUDA version it supports: NVML, else nvidia-smi, else procfs.

    Mirrors ``nvidia-smi --query-gpu=driver_version`` and the banner's ``CUDA Version``.
    A kernel module that differs from the user-space library (NVML
    NVML_ERROR_LIB_RM_VERSION_MISMATCH) is reported as ``mismatch: true`` with both versions.
    """
    facts = {"status": None, "version": None, "source": None, "cuda_version": None,
             "kernel_module": kernel_module_version(ctx), "mismatch": False, "nvml_version": None}
    nvml = ctx.once("nvml", lambda: query_nvml(ctx))
    if nvml["status"] == "ok":
        facts.update(status="ok", version=nvml.get("driver_version"), source="nvml",
                     cuda_version=nvml.get("cuda_version"), nvml_version=nvml.get("nvml_version"))
    elif nvml.get("code") == NVML_ERROR_LIB_RM_VERSION_MISMATCH:
        facts.update(status="mismatch", mismatch=True, version=library_driver_version(ctx), source="library")
    elif nvml.get("code") == NVML_ERROR_DRIVER_NOT_LOADED:
        facts.update(status="not-loaded", version=library_driver_version(ctx), source="library")
    elif nvml.get("code") == NVML_ERROR_NO_PERMISSION:
        facts.update(status="permission-denied", version=library_driver_version(ctx), source="library")
    if facts["status"] in (None, "not-loaded") or facts["version"] is None:
        try:
            smi = ctx.once("smi", lambda: query_smi(ctx))
        except (OSError, ProbeTimeout) as exc:
            smi = {"status": "failed", "error": str(exc)}
        if smi["status"] == "ok" and smi.get("driver_version"):
            facts.update(status="ok", version=smi["driver_version"], source="nvidia-smi",
                         cuda_version=smi.get("cuda_version"))
        elif smi.get("mismatch"):
            facts.update(status="mismatch", mismatch=True,
                         version=smi.get("library_version") or library_driver_version(ctx),
                         source="nvidia-smi")
        elif smi["status"] == "ok" and smi.get("no_devices"):
            facts.update(status="ok", version=facts["version"] or facts["kernel_module"],
                         source=facts["source"] or "procfs")
    if facts["status"] is None:
        if facts["kernel_module"]:
            facts.update(status="ok", version=facts["kernel_module"], source="procfs")
        elif library_driver_version(ctx) or ctx.which("nvidia-smi"):
            facts.update(status="not-loaded", version=library_driver_version(ctx), source="library")
        else:
            facts.update(status="not-installed")
    if facts["kernel_module"] and facts["version"] and facts["kernel_module"] != facts["version"]:
        facts["mismatch"] = True
        facts["status"] = "mismatch"
    if nvml["status"] not in ("ok", "not-installed") and facts["status"] != "ok":
        facts["error"] = clip("NVML: %s" % nvml.get("error"), 512)
    return facts


def collect_gpus(ctx):
    """Per GPU: index, name, uuid, compute capability, memory; like ``nvidia-smi -L``."""
    nvml = ctx.once("nvml", lambda: query_nvml(ctx))
    if nvml["status"] == "ok":
        return {"count": len(nvml["gpus"]), "devices": nvml["gpus"], "source": "nvml",
                "error": nvml.get("gpu_error")}
    try:
        smi = ctx.once("smi", lambda: query_smi(ctx))
    except (OSError, ProbeTimeout) as exc:
        return {"count": None, "devices": [], "source": None, "error": clip(str(exc), 512)}
    if smi["status"] == "ok":
        return {"count": len(smi["gpus"]), "devices": smi["gpus"], "source": "nvidia-smi", "error": None}
    return {"count": None, "devices": [], "source": None,
            "error": clip(smi.get("error") or nvml.get("error") or "no GPU query worked", 512)}


# -- CUDA toolkits --------------------------------------------------------------------------

def collect_cuda(ctx):
    """Installed toolkits under /usr/local: ``version.json`` (11.1+) or ``version.txt`` (older)."""
    toolkits = []
    for path in ctx.glob("/usr/local/cuda-*"):
        if not os.path.isdir(ctx.path(path)) or os.path.islink(ctx.path(path)):
            continue
        toolkits.append(read_toolkit(ctx, path))
    default = None
    if ctx.exists("/usr/local/cuda"):
        default = ctx.resolve("/usr/local/cuda")
        if default == "/usr/local/cuda":  # a real directory, not a link
            toolkits.append(read_toolkit(ctx, default))
    return {"toolkits": toolkits, "default": default}


def read_toolkit(ctx, path):
    toolkit = {"path": path, "version": None, "source": None}
    text = ctx.read_text(path + "/version.json")
    if text is not None:
        try:
            data = json.loads(text)
            version = (data.get("cuda") or {}).get("version")
            if version:
                toolkit.update(version=clip(version, 64), source="version.json")
            else:  # before 12.2.1 only components: cudart's major.minor is the toolkit's
                match = re.match(r"^(\d+\.\d+)", (data.get("cuda_cudart") or {}).get("version") or "")
                if match:
                    toolkit.update(version=match.group(1), source="version.json:cuda_cudart")
        except (ValueError, AttributeError) as exc:
            toolkit["error"] = "version.json: %s" % clip(str(exc), 200)
    if toolkit["version"] is None:
        text = ctx.read_text(path + "/version.txt")
        match = re.search(r"CUDA Version\s+([\d.]+)", text or "")
        if match:
            toolkit.update(version=match.group(1), source="version.txt")
    if toolkit["version"] is None:
        match = re.search(r"cuda-(\d+\.\d+)$", path)
        if match:
            toolkit.update(version=match.group(1), source="path")
    return toolkit


# -- TensorRT -------------------------------------------------------------------------------

LIBVERSION_CODE = r"""
import ctypes, json, sys
out = []
for path in sys.argv[1:]:
    entry = {"path": path}
    try:
        lib = ctypes.CDLL(path)
        entry["int"] = lib.getInferLibVersion()
        try:
            entry["build"] = lib.getInferLibBuildVersion()
        except AttributeError:
            pass
    except Exception as exc:
        entry["error"] = str(exc)[:300]
    out.append(entry)
print(json.dumps(out))
"""

IMPORT_CODE = r"""
import json, sys
name = sys.argv[1]
try:
    module = __import__(name)
    print(json.dumps({"version": str(getattr(module, "__version__", "")) or None,
                      "file": getattr(module, "__file__", None)}))
except Exception as exc:
    print(json.dumps({"error": "%s: %s" % (type(exc).__name__, str(exc)[:300])}))
"""


def decode_trt_int(value):
    """``getInferLibVersion()`` -> "M.m.p": 8601 -> 8.6.1, 100300 -> 10.3.0 (10+ uses 10000*M)."""
    if value >= 100000:
        return "%d.%d.%d" % (value // 10000, value // 100 % 100, value % 100)
    return "%d.%d.%d" % (value // 1000, value // 100 % 10, value % 100)


def site_dirs(ctx):
    """The root's Python package directories (for importing the root's modules, not ours)."""
    found = []
    for pattern in ("/usr/lib/python3*/dist-packages", "/usr/lib/python3/dist-packages",
                    "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
                    "/usr/lib/python3*/site-packages", "/usr/lib64/python3*/site-packages"):
        for path in ctx.glob(pattern):
            if ctx.path(path) not in found:
                found.append(ctx.path(path))
    return found


def collect_tensorrt(ctx):
    """libnvinfer via ``ldconfig -p`` and ``getInferLibVersion()``; ``import tensorrt`` in a child."""
    timeout = min(10.0, ctx.request.get("budgets", {}).get("tensorrt", 20.0) / 2)
    libraries = [e for e in ctx.once("libraries", lambda: list_libraries(ctx))
                 if re.match(r"^libnvinfer\.so\.\d+$", e["name"])]
    facts = {"version": None, "source": None, "libraries": [], "modules": []}
    if libraries:
        try:
            status, out, err = ctx.run_python(LIBVERSION_CODE, [ctx.path(e["path"]) for e in libraries], timeout)
            loaded = json.loads(out) if status == 0 else [{"error": first_line(err)}] * len(libraries)
        except (OSError, ProbeTimeout, ValueError) as exc:
            loaded = [{"error": str(exc)}] * len(libraries)
        for entry, result in zip(libraries, loaded):
            library = {"name": entry["name"], "path": entry["path"], "version": None, "source": None}
            if isinstance(result.get("int"), int) and result["int"] > 0:
                library.update(version=decode_trt_int(result["int"]), source="libnvinfer")
                if isinstance(result.get("build"), int):
                    library["version"] += ".%d" % result["build"]
            else:
                library["error"] = clip(result.get("error"), 512)
                match = re.search(r"libnvinfer\.so\.(\d+\.\d+\.\d+(?:\.\d+)?)$", ctx.resolve(entry["path"]))
                if match:
                    library.update(version=match.group(1), source="filename")
            facts["libraries"].append(library)
    extra = site_dirs(ctx) if ctx.rooted else None
    try:
        status, out, err = ctx.run_python(IMPORT_CODE, ["tensorrt"], timeout, extra_path=extra)
        result = json.loads(out) if status == 0 and out.strip() else {"error": first_line(err) or "exit %d" % status}
    except (OSError, ProbeTimeout, ValueError) as exc:
        result = {"error": str(exc)}
    if "error" not in result:
        facts["modules"].append({"module": "tensorrt", "version": clip(result.get("version"), 64), "error": None})
    elif "No module named" not in result["error"]:
        facts["modules"].append({"module": "tensorrt", "version": None, "error": clip(result["error"], 512)})
    candidates = [(lib["version"], lib["source"]) for lib in facts["libraries"] if lib["version"]]
    candidates += [(m["version"], "python") for m in facts["modules"] if m["version"]]
    if candidates:  # the most precise (most dotted parts) wins
        facts["version"], facts["source"] = max(candidates, key=lambda c: c[0].count("."))
    return facts


# -- driver ------------------------------------------------------------------------------

COLLECTORS = (("host", collect_host), ("driver", collect_driver), ("gpus", collect_gpus),
              ("cuda", collect_cuda), ("tensorrt", collect_tensorrt))


def run_collectors(ctx):
    """Every collector in its own thread, each bounded by its own time budget."""
    budgets = dict(DEFAULT_BUDGETS)
    budgets.update(ctx.request.get("budgets") or {})
    results, threads = {}, {}

    def work(name, function):
        started = time.time()
        try:
            section = function(ctx)
            section.setdefault("error", None)
        except Exception as exc:  # a collector bug must not cost the other facts
            section = {"error": clip("%s: %s" % (type(exc).__name__, exc), 512)}
        section["elapsed_s"] = round(time.time() - started, 4)
        results[name] = section

    for name, function in COLLECTORS:
        thread = threading.Thread(target=work, args=(name, function), name=name)
        thread.daemon = True
        thread.start()
        threads[name] = (thread, time.time() + float(budgets.get(name, 10.0)))
    for name, (thread, deadline) in threads.items():
        thread.join(max(0.0, deadline - time.time()))
        if thread.is_alive():
            results[name] = {"error": "timed out after %.1fs" % float(budgets.get(name, 10.0)),
                             "timed_out": True}
    return results, any(t.is_alive() for t, _ in threads.values())


def cap_output(document, limit=MAX_OUTPUT_BYTES):
    """Serialize, halving the longest list (flagged ``truncated``) until it fits ``limit``."""
    while True:
        text = json.dumps(document, sort_keys=True)
        if len(text.encode("utf-8")) <= limit:
            return text
        parent, key, longest = None, None, None
        stack = [(None, None, document)]
        while stack:
            owner, name, node = stack.pop()
            if isinstance(node, dict):
                stack.extend((node, k, v) for k, v in node.items())
            elif isinstance(node, list):
                if longest is None or len(node) > len(longest):
                    parent, key, longest = owner, name, node
                stack.extend((None, None, v) for v in node)
        if not longest or len(longest) <= 1 or parent is None:
            return json.dumps({"schema": SCHEMA, "probe_version": PROBE_VERSION,
                               "error": "output larger than %d bytes" % limit})
        parent[key] = longest[: len(longest) // 2]
        parent["truncated"] = True


def parse_args(argv):
    root, request = None, {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--root" and index + 1 < len(argv):
            root, index = argv[index + 1], index + 1
        elif arg.startswith("--root="):
            root = arg.split("=", 1)[1]
        elif arg.startswith("--request="):
            request = json.loads(base64.b64decode(arg.split("=", 1)[1]).decode("utf-8"))
            if not isinstance(request, dict):
                raise ValueError("request must be a JSON object")
        elif arg in ("-", "--pretty"):
            pass
        else:
            raise ValueError("unknown argument %r" % arg)
        index += 1
    return root, request


def main(argv):
    started = time.time()
    try:
        root, request = parse_args(argv)
    except (ValueError, TypeError) as exc:
        sys.stdout.write(json.dumps({"schema": SCHEMA, "probe_version": PROBE_VERSION,
                                     "error": "bad arguments: %s" % exc}) + "\n")
        return 0
    ctx = ProbeContext(root, request)
    sections, stuck = run_collectors(ctx)
    document = {
        "schema": SCHEMA,
        "probe_version": PROBE_VERSION,
        "collected_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "root": ctx.root,
        "duration_s": round(time.time() - started, 4),
    }
    document.update(sections)
    sys.stdout.write(cap_output(document) + "\n")
    sys.stdout.flush()
    if stuck:  # a collector thread is blocked in a library call: do not wait for it
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
