#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""auditor probe: read-only facts about one NVIDIA GPU node, as ``auditor.facts/1`` JSON.

Shipped to each host on stdin and run as ``python3 -c BOOTSTRAP [--request=B64] [--root
DIR]`` (the one line in ``auditor.probe.BOOTSTRAP`` reads stdin whole and executes it;
``python3 -`` works too, but reads a program a character at a time); also runnable as a
plain script. Standard library only, Python 3.6
syntax, never needs root, never writes anything on the host but the one exception below.

Contract:
  * stdout carries exactly one JSON object (``schema: auditor.facts/1``), at most
    MAX_OUTPUT_BYTES; long lists are cut and their owner flagged ``truncated`` (and
    the document's top level too).
  * the exit status is 0 even when collectors fail: each section (host, driver, gpus,
    cuda, cudnn, tensorrt, containers, engines) reports its own ``error`` (a string,
    or null), and a collector that overruns its time budget is reported as timed out
    while the others still arrive.
  * ``--root DIR`` reads files under DIR instead of ``/`` and looks for commands and
    libraries there (auditing a mounted image, and the simulated fleet).
  * ``--request=B64`` is base64 of a JSON object from the controller::

        {"budgets": {collector: seconds, "engine_load": seconds},
         "engines": ["/srv/models/resnet50/{sm}.plan", ...]}

    Engine paths may hold ``{cc}`` ("8.0"), ``{sm}`` ("sm80") and ``{gpu}`` (the GPU
    name as a slug, "nvidia-a100-sxm4-80gb"); each is expanded once per distinct GPU
    model on the host and test-loaded on a GPU of that model. Unknown keys are
    ignored.

    ``"reference": [{"name", "candidates": [...]}]`` asks for a reference engine run
    (``collect_reference``): the plans travel in this program itself, as base64 in a
    first line ``AUDITOR_PAYLOAD = "..."`` the controller prepends, and each candidate
    says where its bytes are in it, its sha256, which runtimes and GPUs it loads on
    (the controller's portability rules, as data), its recorded input and expected
    output. The chosen plan is the probe's only write: into a private temporary
    directory (mode 0700), removed again before the probe exits (also on timeouts,
    SIGTERM and SIGHUP; only SIGKILL can leave it behind).

A program that starts with ``AUDITOR_BUILDER = "..."`` (base64 of ``builder.py``) is
the reference-engine build instead (``build_main``): it builds the reference network
with the host's TensorRT, runs it once, and prints ``auditor.reference-build/1``.

Collectors that wait on other processes (ldconfig, nvcc, child interpreters importing
TensorRT, docker) run side by side in threads; expensive queries that several need are
computed once (``ProbeContext.once``). Engine test-loads run in a child interpreter with
a timeout, so a TensorRT that crashes or hangs cannot take the probe down.
"""

import base64
import ctypes
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SCHEMA = "auditor.facts/1"
PROBE_VERSION = "0.3.0"
MAX_OUTPUT_BYTES = 1024 * 1024
MAX_FILE_BYTES = 256 * 1024
MAX_DPKG_STATUS_BYTES = 64 * 1024 * 1024
MAX_STRING = 4096
MAX_ENGINES = 64
MAX_LIST = 512
MAX_LOG_LINES = 24
DEFAULT_BUDGETS = {"host": 2.0, "driver": 8.0, "gpus": 8.0, "cuda": 6.0, "cudnn": 6.0,
                   "tensorrt": 20.0, "containers": 8.0, "engines": 50.0, "reference": 50.0}
DEFAULT_ENGINE_LOAD = 30.0

# Where commands and libraries live on the GPU nodes we audit (Debian/Ubuntu, RHEL, tarballs).
BIN_DIRS = ("/usr/local/nvidia/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
            "/sbin", "/bin")
TRTEXEC_DIRS = ("/usr/src/tensorrt/bin", "/opt/tensorrt/bin", "/usr/local/tensorrt/bin")
LIB_DIRS = ("/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64", "/lib",
            "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
            "/usr/local/tensorrt/lib", "/opt/tensorrt/lib")
INCLUDE_DIRS = ("/usr/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu",
                "/usr/local/include", "/usr/local/cuda/include", "/usr/local/cuda/targets/x86_64-linux/include",
                "/usr/local/cudnn/include", "/opt/cudnn/include",
                "/usr/local/tensorrt/include", "/opt/tensorrt/include", "/usr/src/tensorrt/include")
SITE_PATTERNS = ("/usr/lib/python3/dist-packages", "/usr/lib/python3*/dist-packages",
                 "/usr/lib/python3*/site-packages", "/usr/lib64/python3*/site-packages",
                 "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages")

# NVML return codes (nvml.h, nvmlReturn_t) the probe tells apart.
NVML_SUCCESS = 0
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_INIT_STATUS = {NVML_ERROR_NO_PERMISSION: "permission-denied",
                    NVML_ERROR_DRIVER_NOT_LOADED: "not-loaded",
                    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "mismatch"}

# Python distributions worth reporting (normalized names, PEP 503).
DIST_INTEREST = re.compile(r"^(tensorrt|nvidia-tensorrt|nvidia-cudnn|nvidia-ml-py|pynvml|nvidia-cuda-runtime)")
# Packages (dpkg/rpm) worth reporting: TensorRT (research tensorrt-compat 1.10), cuDNN, cuda-compat.
PACKAGE_INTEREST = re.compile(
    r"^(libnvinfer|libnvonnxparser|libnvparsers|python3-libnvinfer|tensorrt|uff-converter|graphsurgeon"
    r"|onnx-graphsurgeon|libcudnn|cudnn|cuda-compat)")
TRT_PACKAGE = re.compile(r"^(libnvinfer|libnvonnxparser|libnvparsers|python3-libnvinfer|tensorrt|uff-converter"
                         r"|graphsurgeon|onnx-graphsurgeon)")
CUDNN_PACKAGE = re.compile(r"^(libcudnn|cudnn)")


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


def first_line(text):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def to_int(text):
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def version_key(version):
    """Sort key for dotted versions ("10.3.0.26" > "8.6.1.6"); non-numeric parts sort first."""
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.\-+]", version or ""))


def iso_utc(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class ProbeTimeout(Exception):
    """A command or child process overran its time budget."""


_thread = threading.local()


def remaining(limit):
    """``limit`` seconds, or less when the calling collector's budget ends sooner."""
    deadline = getattr(_thread, "deadline", None)
    if deadline is None:
        return limit
    return max(0.05, min(limit, deadline - time.time() - 0.1))  # a margin to kill and reap the child


def parallel(calls):
    """Run ``calls`` (zero-argument callables) in threads; results in order, exceptions as values."""
    results = [None] * len(calls)
    deadline = getattr(_thread, "deadline", None)

    def work(index, call):
        _thread.deadline = deadline
        try:
            results[index] = call()
        except Exception as exc:  # returned to the caller, which reports it
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:  # the calls bound their own waits by the deadline; this is the safety net
        thread.join(None if deadline is None else max(0.0, deadline - time.time()) + 0.25)
    return [r if not t.is_alive() else ProbeTimeout("still running") for r, t in zip(results, threads)]


class ProbeContext(object):
    """What collectors share: the root, the request, the payload, and cached expensive queries.

    ``payload`` is the bytes the controller shipped inside the program (reference plans), or None.
    """

    def __init__(self, root, request, payload=None):
        self.root = os.path.abspath(root) if root else "/"
        self.rooted = self.root != "/"
        self.request = request
        self.payload = payload
        self._lock = threading.Lock()
        self._cache = {}
        self._cache_locks = {}

    # -- files ---------------------------------------------------------------------------
    def path(self, path):
        """The path as seen under the audited root."""
        if not self.rooted:
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def host_path(self, real):
        """The inverse of ``path``: a real path under the root as the host sees it."""
        if not self.rooted:
            return real
        relative = os.path.relpath(real, self.root)
        return "/" if relative == "." else "/" + relative

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

    def realpath(self, path):
        """Every symlink in ``path`` followed, staying under the root (absolute targets re-rooted)."""
        parts = [p for p in path.split("/") if p]
        current, hops = "/", 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                current = os.path.dirname(current)
                continue
            candidate = os.path.join(current, part)
            real = self.path(candidate)
            if os.path.islink(real) and hops < 32:
                hops += 1
                target = os.readlink(real)
                parts = [p for p in target.split("/") if p] + parts
                current = "/" if target.startswith("/") else current
                continue
            current = candidate
        return current

    def read_text(self, path, limit=MAX_FILE_BYTES):
        """File contents as text (at most ``limit`` bytes), or None when absent or unreadable."""
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
        return [self.host_path(p) for p in found]

    def exists(self, path):
        return os.path.exists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    # -- commands ------------------------------------------------------------------------
    def which(self, name, extra_dirs=()):
        """Host path of an executable named ``name``, or None."""
        dirs = list(BIN_DIRS) + list(extra_dirs)
        if not self.rooted:
            dirs = os.environ.get("PATH", "").split(os.pathsep) + dirs
        for directory in dirs:
            if not directory:
                continue
            candidate = os.path.join(directory, name)
            real = self.path(candidate)
            if os.path.isfile(real) and os.access(real, os.X_OK):
                return candidate
        return None

    def start(self, argv, env=None):
        """Start a host command (argv[0] a host path) with output captured; raises OSError."""
        full_env = dict(os.environ)
        full_env["LC_ALL"] = "C"
        full_env.update(env or {})
        argv = [self.path(argv[0])] + list(argv[1:])
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=full_env, close_fds=True)

    def finish(self, process, timeout, what):
        """Wait for a started process; (status, stdout, stderr) as text, or ProbeTimeout."""
        limit = remaining(timeout)
        try:
            out, err = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ProbeTimeout("%s did not finish within %.1fs" % (what, limit))
        return process.returncode, decode(out[:MAX_FILE_BYTES]), decode(err[:MAX_FILE_BYTES])

    def run(self, argv, timeout, env=None):
        """Run a host command; returns (status, stdout, stderr) as text.

        Raises OSError when it cannot start, and ProbeTimeout when it overruns.
        """
        return self.finish(self.start(argv, env), timeout, os.path.basename(argv[0]))

    def python_argv(self, code, args, bare=False):
        """A child interpreter running ``code``; ``bare`` skips site (and PYTHON* variables).

        Under ``--root`` the child sees only the root's site-packages, never ours.
        """
        argv = [sys.executable]
        if bare:
            argv += ["-S", "-E"]
        elif self.rooted:
            argv += ["-S"]
        return argv + ["-c", code] + list(args)

    def python_env(self):
        if self.rooted:
            return {"PYTHONPATH": os.pathsep.join(self.path(p) for p in site_dirs(self))}
        return {}

    def run_python(self, code, args, timeout, bare=False, env=None):
        """Run a small Python snippet in a child interpreter (isolates crashes and hangs)."""
        full_env = dict(os.environ)
        full_env["LC_ALL"] = "C"
        full_env.update(self.python_env())
        full_env.update(env or {})
        process = subprocess.Popen(self.python_argv(code, args, bare), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, close_fds=True)
        return self.finish(process, timeout, "child python")

    # -- shared, computed once -------------------------------------------------------------
    def once(self, key, compute, wait=None):
        """``compute()`` once per probe run, even when several collectors ask at once.

        ``wait`` bounds how long a caller waits for another thread's computation
        (ProbeTimeout when it is still running).
        """
        with self._lock:
            lock = self._cache_locks.setdefault(key, threading.Lock())
        if not lock.acquire(True, -1 if wait is None else max(0.0, wait)):
            raise ProbeTimeout("%s still being collected" % key)
        try:
            if key not in self._cache:
                try:
                    self._cache[key] = (compute(), None)
                except Exception as exc:  # reported by every caller
                    self._cache[key] = (None, exc)
            value, error = self._cache[key]
        finally:
            lock.release()
        if error is not None:
            raise error
        return value


# -- shared queries -----------------------------------------------------------------------------

def list_libraries(ctx):
    """Shared libraries the dynamic linker knows: [{name, path}] like ``ldconfig -p``.

    Under ``--root`` (or when ldconfig is missing) the usual directories and
    ``/etc/ld.so.conf.d`` are scanned instead.
    """
    entries = []
    if not ctx.rooted:
        ldconfig = ctx.which("ldconfig")
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
    entries, index = [], {}
    for line in text.splitlines():
        match = re.match(r"^\s+(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$", line)
        if not match:
            continue
        entry = {"name": match.group(1), "path": match.group(3)}
        wide = "64" in match.group(2)  # x86-64, AArch64: prefer them to 32-bit copies of a library
        if match.group(1) not in index:
            index[match.group(1)] = (len(entries), wide)
            entries.append(entry)
        elif wide and not index[match.group(1)][1]:
            entries[index[match.group(1)][0]] = entry
            index[match.group(1)] = (index[match.group(1)][0], True)
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
        paths = ctx.glob(os.path.join(directory, "lib*.so.*"))
        # a soname is a link to the real file (libcudart.so.12 -> libcudart.so.12.2.140): list the link
        targets = set(os.readlink(ctx.path(p)) for p in paths if os.path.islink(ctx.path(p)))
        for path in paths:
            name = os.path.basename(path)
            if name not in seen and name not in targets and re.match(r"^lib[\w+-]+\.so(\.\d+)+$", name):
                seen.add(name)
                entries.append({"name": name, "path": path})
    return entries


def libraries(ctx):
    return ctx.once("libraries", lambda: list_libraries(ctx))


def find_library(ctx, soname):
    """Host path of a library by soname, or None."""
    for entry in libraries(ctx):
        if entry["name"] == soname:
            return entry["path"]
    return None


def site_dirs(ctx):
    """The host's Python package directories (host paths), without importing anything."""
    def compute():
        found = []
        candidates = []
        if not ctx.rooted:
            candidates += [p for p in sys.path if p and os.path.isabs(p)]
        for pattern in SITE_PATTERNS:
            candidates += ctx.glob(pattern)
        for path in candidates:
            if path not in found and ctx.isdir(path) and not path.endswith(".zip"):
                found.append(path)
        return found
    return ctx.once("site_dirs", compute)


def python_dists(ctx):
    """Interesting installed Python distributions: [{name, version, path}] from *.dist-info names."""
    def compute():
        found, seen = [], set()
        for directory in site_dirs(ctx):
            try:
                names = os.listdir(ctx.path(directory))
            except OSError:
                continue
            for entry in names:
                match = re.match(r"^([A-Za-z0-9_.]+)-([^-]+?)\.(dist-info|egg-info)$", entry)
                if not match:
                    continue
                name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
                if not DIST_INTEREST.match(name) or (name, directory) in seen:
                    continue
                seen.add((name, directory))
                found.append({"name": name, "version": clip(match.group(2), 64), "path": directory})
        return found
    return ctx.once("dists", compute)


def find_module(ctx, name):
    """Host path of an importable top-level module ``name`` in the site dirs, or None (no import)."""
    for directory in site_dirs(ctx):
        base = os.path.join(directory, name)
        if os.path.isfile(ctx.path(os.path.join(base, "__init__.py"))) or os.path.isfile(ctx.path(base + ".py")):
            return base
    return None


def dpkg_packages(ctx):
    """Installed dpkg packages of interest, read straight from ``/var/lib/dpkg/status``."""
    def compute():
        text = ctx.read_text("/var/lib/dpkg/status", MAX_DPKG_STATUS_BYTES)
        if text is None:
            return None
        found = []
        for paragraph in text.split("\n\n"):
            match = re.match(r"Package: (\S+)", paragraph)
            if not match or not PACKAGE_INTEREST.match(match.group(1)):
                continue
            status = re.search(r"^Status: (.*)$", paragraph, re.M)
            version = re.search(r"^Version: (\S+)", paragraph, re.M)
            if status and status.group(1).strip().endswith(" installed"):
                found.append({"name": clip(match.group(1), 128), "version": clip(version.group(1), 128)
                              if version else None, "manager": "dpkg"})
        return found
    return ctx.once("dpkg", compute)


def rpm_packages(ctx):
    """Installed rpm packages of interest (``rpm -qa``), or None when the host has no rpm database."""
    def compute():
        rpm = ctx.which("rpm")
        if rpm is None or not any(ctx.isdir(d) for d in ("/var/lib/rpm", "/usr/lib/sysimage/rpm")):
            return None
        argv = [rpm, "-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\n"]
        if ctx.rooted:
            argv[1:1] = ["--root", ctx.root]
        argv += ["libnvinfer*", "python3-libnvinfer*", "tensorrt*", "libcudnn*", "cudnn*", "cuda-compat*"]
        status, out, err = ctx.run(argv, timeout=10)
        if status != 0:
            raise ValueError("rpm -qa: %s" % (first_line(err) or "exit status %d" % status))
        found = []
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and PACKAGE_INTEREST.match(parts[0]):
                found.append({"name": clip(parts[0], 128), "version": clip(parts[1], 128), "manager": "rpm"})
        return found
    return ctx.once("rpm", compute)


def system_packages(ctx):
    """dpkg and rpm packages of interest; errors of either become ``(packages, errors)``."""
    packages, errors = [], []
    for reader in (dpkg_packages, rpm_packages):
        try:
            packages += reader(ctx) or []
        except (OSError, ProbeTimeout, ValueError) as exc:
            errors.append(clip(str(exc), 300))
    return packages, errors


LIBVERSION_CODE = r"""
import ctypes, json, sys
kind, path = sys.argv[1], sys.argv[2]
out = {}
try:
    lib = ctypes.CDLL(path)
    if kind == "cudnn":
        lib.cudnnGetVersion.restype = ctypes.c_size_t
        out["int"] = int(lib.cudnnGetVersion())
    else:
        out["int"] = int(lib.getInferLibVersion())
        try:
            out["build"] = int(lib.getInferLibBuildVersion())
        except AttributeError:
            pass
except Exception as exc:
    out["error"] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
print(json.dumps(out))
"""


def library_version(ctx, kind, path):
    """Call the version function of a library in a child (a broken library cannot hurt us).

    ``kind`` "trt": ``getInferLibVersion()`` (+ ``getInferLibBuildVersion()`` on 10+);
    "cudnn": ``cudnnGetVersion()``. Returns {"int", "build"} or {"error"}.
    """
    def compute():
        try:
            status, out, err = ctx.run_python(LIBVERSION_CODE, [kind, ctx.path(path)], timeout=10, bare=True)
        except (OSError, ProbeTimeout) as exc:
            return {"error": clip(str(exc), 300)}
        if status != 0:
            return {"error": clip(describe_exit(status, err), 300)}
        try:
            return json.loads(out)
        except ValueError:
            return {"error": "unreadable answer: %s" % clip(first_line(out), 200)}
    return ctx.once("libversion:" + path, compute)


def describe_exit(status, err=""):
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except (ValueError, AttributeError):
            name = "signal %d" % -status
        return "killed by %s" % name
    return first_line(err) or "exit status %d" % status


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


def boot_time(ctx):
    """Boot time (ISO 8601 UTC) from the ``btime`` line of /proc/stat, or None."""
    match = re.search(r"^btime\s+(\d+)\s*$", ctx.read_text("/proc/stat", 64 * 1024) or "", re.M)
    return iso_utc(int(match.group(1))) if match else None


def collect_host(ctx):
    """Hostname, OS (os-release), kernel, arch, python, boot time: like ``uname -a; uptime -s``."""
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
        "arch": clip(arch, 64),
        "python": platform.python_version(),
        "boot_time": boot_time(ctx),
    }


# -- NVML through ctypes --------------------------------------------------------------------

class NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class NvmlPciInfo(ctypes.Structure):
    """nvmlPciInfo_t (nvml.h): the v2/v3 layout with the 32-byte ``busId``."""
    _fields_ = [("busIdLegacy", ctypes.c_char * 16), ("domain", ctypes.c_uint), ("bus", ctypes.c_uint),
                ("device", ctypes.c_uint), ("pciDeviceId", ctypes.c_uint), ("pciSubSystemId", ctypes.c_uint),
                ("busId", ctypes.c_char * 32), ("spare", ctypes.c_char * 64)]


def decode_cuda_int(value):
    """``nvmlSystemGetCudaDriverVersion``: 1000*major + 10*minor (12020 -> "12.2")."""
    return "%d.%d" % (value // 1000, (value % 1000) // 10)


def enabled(value):
    return "enabled" if value else "disabled"


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

    def call(name, *args):
        function = getattr(lib, name + "_v3", None) or getattr(lib, name + "_v2", None) or getattr(lib, name, None)
        if function is None:
            return -1
        return function(*args)

    code = call("nvmlInit")
    if code != NVML_SUCCESS:
        return {"status": "init-failed", "code": code, "error": error_string(code)}
    result = {"status": "ok", "gpus": []}
    try:
        buf = ctypes.create_string_buffer(96)
        if lib.nvmlSystemGetDriverVersion(buf, 96) == NVML_SUCCESS:
            result["driver_version"] = clip(decode(buf.value), 64)
        if lib.nvmlSystemGetNVMLVersion(buf, 96) == NVML_SUCCESS:
            result["nvml_version"] = clip(decode(buf.value), 64)
        cuda = ctypes.c_int()
        # _v2 reads libcuda and fails when it is absent, instead of guessing (research 1.9)
        code = call("nvmlSystemGetCudaDriverVersion", ctypes.byref(cuda))
        if code == NVML_SUCCESS:
            result["cuda_version"] = decode_cuda_int(cuda.value)
        else:
            result["cuda_error"] = error_string(code)
        count = ctypes.c_uint()
        code = call("nvmlDeviceGetCount", ctypes.byref(count))
        if code != NVML_SUCCESS:
            result["gpu_error"] = error_string(code)
        for index in range(min(count.value, 64)):
            result["gpus"].append(nvml_device(lib, call, index, error_string))
    finally:
        lib.nvmlShutdown()
    return result


def nvml_device(lib, call, index, error_string):
    """One GPU's facts through NVML; a field NVML cannot give is left out (N/A, not supported)."""
    device = {"index": index}
    handle = ctypes.c_void_p()
    code = call("nvmlDeviceGetHandleByIndex", ctypes.c_uint(index), ctypes.byref(handle))
    if code != NVML_SUCCESS:
        device["error"] = clip(error_string(code), 256)
        return device
    buf = ctypes.create_string_buffer(96)
    if lib.nvmlDeviceGetName(handle, buf, 96) == NVML_SUCCESS:
        device["name"] = clip(decode(buf.value), 256)
    if lib.nvmlDeviceGetUUID(handle, buf, 96) == NVML_SUCCESS:
        device["uuid"] = clip(decode(buf.value), 256)
    pci = NvmlPciInfo()
    if call("nvmlDeviceGetPciInfo", handle, ctypes.byref(pci)) == NVML_SUCCESS:
        device["pci_bus_id"] = clip(decode(pci.busId), 64)
    major, minor = ctypes.c_int(), ctypes.c_int()
    if lib.nvmlDeviceGetCudaComputeCapability(handle, ctypes.byref(major), ctypes.byref(minor)) == NVML_SUCCESS:
        device["compute_capability"] = "%d.%d" % (major.value, minor.value)
    memory = NvmlMemory()
    if lib.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == NVML_SUCCESS:
        device["memory_total_mib"] = memory.total // (1024 * 1024)
    current, pending = ctypes.c_uint(), ctypes.c_uint()
    if lib.nvmlDeviceGetMigMode(handle, ctypes.byref(current), ctypes.byref(pending)) == NVML_SUCCESS:
        device["mig_mode"] = enabled(current.value)
    if lib.nvmlDeviceGetEccMode(handle, ctypes.byref(current), ctypes.byref(pending)) == NVML_SUCCESS:
        device["ecc_mode"] = enabled(current.value)
    if lib.nvmlDeviceGetPersistenceMode(handle, ctypes.byref(current)) == NVML_SUCCESS:
        device["persistence_mode"] = enabled(current.value)
    if lib.nvmlDeviceGetVbiosVersion(handle, buf, 96) == NVML_SUCCESS:
        device["vbios_version"] = clip(decode(buf.value), 64)
    return device


PYNVML_CODE = r"""
import json, sys
out = {"status": "ok", "gpus": []}
try:
    import pynvml as n
except Exception as exc:
    print(json.dumps({"status": "not-installed", "error": "%s: %s" % (type(exc).__name__, exc)}))
    sys.exit(0)
def text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
def code_of(exc):
    return getattr(exc, "value", None)
try:
    n.nvmlInit()
except Exception as exc:
    print(json.dumps({"status": "init-failed", "code": code_of(exc), "error": text(exc)}))
    sys.exit(0)
def field(device, key, getter):
    try:
        device[key] = getter()
    except Exception:
        pass
try:
    field(out, "driver_version", lambda: text(n.nvmlSystemGetDriverVersion()))
    field(out, "nvml_version", lambda: text(n.nvmlSystemGetNVMLVersion()))
    def cuda():
        v = n.nvmlSystemGetCudaDriverVersion_v2()
        return "%d.%d" % (v // 1000, (v % 1000) // 10)
    field(out, "cuda_version", cuda)
    for index in range(n.nvmlDeviceGetCount()):
        device = {"index": index}
        try:
            h = n.nvmlDeviceGetHandleByIndex(index)
        except Exception as exc:
            device["error"] = text(exc)
            out["gpus"].append(device)
            continue
        field(device, "name", lambda: text(n.nvmlDeviceGetName(h)))
        field(device, "uuid", lambda: text(n.nvmlDeviceGetUUID(h)))
        field(device, "pci_bus_id", lambda: text(n.nvmlDeviceGetPciInfo(h).busId))
        field(device, "compute_capability", lambda: "%d.%d" % tuple(n.nvmlDeviceGetCudaComputeCapability(h)))
        field(device, "memory_total_mib", lambda: int(n.nvmlDeviceGetMemoryInfo(h).total) // (1024 * 1024))
        field(device, "mig_mode", lambda: "enabled" if n.nvmlDeviceGetMigMode(h)[0] else "disabled")
        field(device, "ecc_mode", lambda: "enabled" if n.nvmlDeviceGetEccMode(h)[0] else "disabled")
        field(device, "persistence_mode", lambda: "enabled" if n.nvmlDeviceGetPersistenceMode(h) else "disabled")
        field(device, "vbios_version", lambda: text(n.nvmlDeviceGetVbiosVersion(h)))
        out["gpus"].append(device)
finally:
    n.nvmlShutdown()
print(json.dumps(out))
"""


def query_pynvml(ctx):
    """The same questions through ``pynvml`` (nvidia-ml-py) in a child, when the host has it.

    Used when the ctypes session did not answer (a ctypes layout the host's NVML
    disagrees with, say); returns the ``query_nvml`` shape.
    """
    if find_module(ctx, "pynvml") is None:
        return {"status": "not-installed", "error": "pynvml is not installed"}
    status, out, err = ctx.run_python(PYNVML_CODE, [], timeout=10)
    if status != 0:
        return {"status": "load-failed", "error": clip(describe_exit(status, err), 512)}
    try:
        result = json.loads(out)
    except ValueError:
        return {"status": "load-failed", "error": "pynvml: unreadable answer"}
    return result if isinstance(result, dict) else {"status": "load-failed", "error": "pynvml: unreadable answer"}


def nvml(ctx):
    """NVML's answer: ctypes first, then pynvml; the source says which one answered."""
    def compute():
        result = query_nvml(ctx)
        result["source"] = "nvml"
        if result["status"] == "load-failed" or (result["status"] == "init-failed"
                                                 and result.get("code") not in NVML_INIT_STATUS):
            try:
                second = query_pynvml(ctx)
            except (OSError, ProbeTimeout) as exc:
                second = {"status": "load-failed", "error": str(exc)}
            if second.get("status") == "ok":
                second["source"] = "pynvml"
                return second
        return result
    return ctx.once("nvml", compute)


# -- nvidia-smi and procfs fallbacks ---------------------------------------------------------

SMI_FIELDS = ("index", "name", "uuid", "driver_version", "compute_cap", "memory.total", "pci.bus_id",
              "mig.mode.current", "ecc.mode.current", "persistence_mode", "vbios_version")
SMI_KEYS = {"index": "index", "name": "name", "uuid": "uuid", "compute_cap": "compute_capability",
            "memory.total": "memory_total_mib", "pci.bus_id": "pci_bus_id", "mig.mode.current": "mig_mode",
            "ecc.mode.current": "ecc_mode", "persistence_mode": "persistence_mode",
            "vbios_version": "vbios_version"}


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
    if key in ("mig_mode", "ecc_mode", "persistence_mode"):
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
        for _ in range(4):
            status, out, err = ctx.run([smi, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"],
                                       timeout=10)
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
            result["gpus"].append(device)
    try:
        _, banner_out, _ = ctx.finish(banner, 10, "nvidia-smi")
        parse_smi_banner(banner_out, result)
    except ProbeTimeout as exc:
        log("nvidia-smi banner: %s" % exc)
    return result


def parse_smi_banner(text, result):
    """The versions in the banner: old ``Driver Version``/``CUDA Version`` or new ``KMD Version``/``CUDA UMD Version``.

    The new spelling appeared with R610 drivers (research nvidia-cuda-driver 1.9).
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


def device_nodes_denied(ctx):
    """True when /dev/nvidiactl exists but this user may not open it (permission denied)."""
    node = ctx.path("/dev/nvidiactl")
    return os.path.exists(node) and not os.access(node, os.R_OK | os.W_OK)


def collect_driver(ctx):
    """Driver version and the CUDA version it supports: NVML (ctypes, else pynvml), else nvidia-smi, else procfs.

    Mirrors ``nvidia-smi --query-gpu=driver_version`` and the banner's ``CUDA Version``.
    ``kernel_module`` is what /proc/driver/nvidia/version says, a fact of its own. A
    kernel module that differs from the user-space library (NVML
    NVML_ERROR_LIB_RM_VERSION_MISMATCH) is ``mismatch: true`` with both versions.
    ``status``: ok, not-installed (no driver files), not-loaded (files but no kernel
    module), permission-denied, mismatch. No GPU visible is ``ok`` with zero GPUs.
    """
    module = kernel_module_version(ctx)
    library = library_driver_version(ctx)
    facts = {"status": None, "version": None, "source": None, "cuda_version": None, "kernel_module": module,
             "library_version": library, "mismatch": False, "nvml_version": None}
    answer = nvml(ctx)
    errors = []
    if answer["status"] == "ok":
        facts.update(status="ok", version=answer.get("driver_version"), source=answer["source"],
                     cuda_version=answer.get("cuda_version"), nvml_version=answer.get("nvml_version"))
        if answer.get("cuda_error"):
            errors.append("CUDA version: %s" % answer["cuda_error"])
    elif answer.get("code") in NVML_INIT_STATUS:
        facts.update(status=NVML_INIT_STATUS[answer["code"]], version=library, source="library")
    elif answer["status"] != "not-installed":
        errors.append("NVML: %s" % answer.get("error"))
    if facts["status"] is None or facts["version"] is None:
        fallback = smi(ctx)
        if fallback["status"] == "ok" and fallback.get("driver_version"):
            facts.update(status="ok", version=fallback["driver_version"], source="nvidia-smi",
                         cuda_version=fallback.get("cuda_version"))
            facts["smi_banner"] = fallback.get("banner_layout")
        elif fallback["status"] in ("mismatch", "not-loaded", "permission-denied"):
            version = fallback.get("library_version") or library
            facts.update(status=fallback["status"], version=facts["version"] or version,
                         source=facts["source"] or "nvidia-smi")
        elif fallback["status"] == "ok" and fallback.get("no_devices"):
            facts.update(status="ok", version=library or module, source="library" if library else "procfs")
        elif fallback["status"] != "not-installed":
            errors.append("nvidia-smi: %s" % fallback.get("error"))
    if facts["status"] is None:
        if device_nodes_denied(ctx):
            facts.update(status="permission-denied", version=library, source="library")
        elif module:
            facts.update(status="ok", version=library or module, source="library" if library else "procfs")
        elif library or ctx.which("nvidia-smi"):
            facts.update(status="not-loaded", version=library, source="library")
        elif not errors:
            facts.update(status="not-installed")
    if module and facts["version"] and module != facts["version"]:
        facts.update(mismatch=True, status="mismatch")
    if facts["status"] == "mismatch":
        facts["mismatch"] = True
    if facts["status"] is None:
        facts["status"] = "unknown"
    if errors:  # the facts came from a fallback, or from nowhere: keep why the better sources failed
        facts["error" if facts["status"] == "unknown" else "notes"] = clip("; ".join(errors), 512)
    return facts


def gpu_list(ctx, wait=None):
    """{"devices": [...], "source", "error"}: NVML's GPUs, else nvidia-smi's."""
    def compute():
        answer = nvml(ctx)
        if answer["status"] == "ok":
            return {"devices": answer["gpus"], "source": answer["source"], "error": answer.get("gpu_error")}
        fallback = smi(ctx)
        if fallback["status"] == "ok":
            return {"devices": fallback["gpus"], "source": "nvidia-smi", "error": None}
        reasons = [r for r in (answer.get("error") if answer["status"] != "not-installed" else None,
                               fallback.get("error") if fallback["status"] != "not-installed" else None) if r]
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
    return {"count": None if devices is None else len(devices), "devices": devices or [],
            "source": found["source"], "error": clip(found["error"], 512) if found["error"] else None}


# -- CUDA toolkits --------------------------------------------------------------------------

def collect_cuda(ctx):
    """Toolkits under /usr/local (``version.json``, ``version.txt`` before 11.1, ``nvcc --version``),
    libcudart sonames (``ldconfig -p``) and cuda-compat packages (``*/compat/libcuda.so.*``)."""
    paths = [p for p in ctx.glob("/usr/local/cuda-*") if ctx.isdir(p) and not os.path.islink(ctx.path(p))]
    default = None
    if ctx.exists("/usr/local/cuda"):
        default = ctx.resolve("/usr/local/cuda")
        if default == "/usr/local/cuda":  # a real directory, not a link
            paths.append(default)
    nvcc = ctx.which("nvcc")
    if nvcc:  # a toolkit outside /usr/local/cuda-* (a tarball in /opt, say)
        home = os.path.dirname(os.path.dirname(ctx.realpath(nvcc)))
        known = [ctx.realpath(p) for p in paths]
        if home not in known and ctx.exists(home + "/include/cuda_runtime.h"):
            paths.append(home)
    toolkits = parallel([lambda p=p: read_toolkit(ctx, p) for p in paths[:MAX_LIST]])
    toolkits = [t if isinstance(t, dict) else {"path": p, "version": None, "source": None,
                                               "error": clip(str(t), 300)} for p, t in zip(paths, toolkits)]
    entries = libraries(ctx)
    sonames = sorted(set(e["name"] for e in entries if re.match(r"^libcudart\.so\.\d+(\.\d+)*$", e["name"])))
    libcuda = find_library(ctx, "libcuda.so.1")
    compat, seen = [], set()
    for path in ctx.glob("/usr/local/cuda*/compat"):
        real = os.path.realpath(ctx.path(path))
        if real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        compat.append(read_compat(ctx, ctx.host_path(real), libcuda))
    return {"toolkits": toolkits, "default": default, "cudart_sonames": sonames, "compat": compat}


def read_toolkit(ctx, path):
    toolkit = {"path": path, "version": None, "source": None, "nvcc_version": None}
    nvcc = path + "/bin/nvcc"
    process, errors = None, []
    if os.access(ctx.path(nvcc), os.X_OK):
        try:
            process = ctx.start([nvcc, "--version"])  # runs while the files are read
        except OSError as exc:
            errors.append("nvcc: %s" % clip(str(exc), 200))
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
            errors.append("version.json: %s" % clip(str(exc), 200))
    if toolkit["version"] is None:
        text = ctx.read_text(path + "/version.txt")
        match = re.search(r"CUDA Version\s+([\d.]+)", text or "")
        if match:
            toolkit.update(version=match.group(1), source="version.txt")
    if process is not None:
        try:
            status, out, err = ctx.finish(process, 5, "nvcc")
            match = re.search(r"release (\d+\.\d+), V(\d+\.\d+\.\d+)", out)
            if match:
                toolkit["nvcc_version"] = match.group(2)
            else:
                errors.append("nvcc --version: %s" % clip(first_line(err or out) or "exit %d" % status, 200))
        except ProbeTimeout as exc:
            errors.append(str(exc))
    if errors:
        toolkit["error"] = "; ".join(errors)
    if toolkit["version"] is None and toolkit["nvcc_version"]:
        toolkit.update(version=toolkit["nvcc_version"], source="nvcc")
    if toolkit["version"] is None:
        match = re.search(r"cuda-(\d+\.\d+)$", path)
        if match:
            toolkit.update(version=match.group(1), source="path")
    return toolkit


def read_compat(ctx, path, libcuda):
    """A cuda-compat package: the driver version its libcuda.so.<version> carries."""
    entry = {"path": path, "version": None, "cuda": None}
    for lib in ctx.glob(path + "/libcuda.so.*"):
        match = re.search(r"libcuda\.so\.(\d+\.\d+(?:\.\d+)?)$", lib)
        if match:
            entry["version"] = match.group(1)
    match = re.search(r"cuda-(\d+\.\d+)/compat$", ctx.resolve(path))
    if match:
        entry["cuda"] = match.group(1)
    # the dynamic linker's libcuda.so.1 is this package's: processes get it without LD_LIBRARY_PATH
    entry["active"] = bool(libcuda) and os.path.dirname(libcuda) in (path, ctx.resolve(path))
    if entry["version"] is None:
        entry["error"] = "no libcuda.so.<version> in %s" % path
    return entry


# -- cuDNN ------------------------------------------------------------------------------------

def parse_cudnn_header(text):
    """``CUDNN_MAJOR/MINOR/PATCHLEVEL`` from cudnn_version.h (or cudnn.h for 7.x), or None."""
    parts = []
    for name in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"):
        match = re.search(r"^\s*#\s*define\s+%s\s+(\d+)" % name, text or "", re.M)
        if not match:
            return None
        parts.append(match.group(1))
    return ".".join(parts)


def decode_cudnn_int(value):
    """``cudnnGetVersion()``: 1000*M + 100*m + p up to 8.x, 10000*M + 100*m + p from 9 (90300 -> 9.3.0)."""
    if value >= 90000:
        return "%d.%d.%d" % (value // 10000, value // 100 % 100, value % 100)
    return "%d.%d.%d" % (value // 1000, value // 100 % 10, value % 100)


def collect_cudnn(ctx):
    """cuDNN headers (``cudnn_version*.h``; ``cudnn.h`` for 7.x), ``libcudnn.so.N`` (``cudnnGetVersion()``),
    dpkg/rpm packages and pip wheels (``nvidia-cudnn-cu*``).

    ``version`` is the best one: what the library reports, else a header, else a
    package or wheel.
    """
    installs, seen = [], set()
    dirs = list(INCLUDE_DIRS) + [p + "/include" for p in ctx.glob("/usr/local/cuda-*")]
    dirs += [p + "/nvidia/cudnn/include" for p in site_dirs(ctx)]
    for directory in dirs:
        found = False  # one header per directory: cudnn_version.h, else cudnn_version_v9.h, else cudnn.h (7.x)
        for name in ("cudnn_version.h", "cudnn_version_v*.h", "cudnn.h", "cudnn_v*.h"):
            for path in ctx.glob(directory + "/" + name):
                real = os.path.realpath(ctx.path(path))
                if real in seen or found:
                    continue
                seen.add(real)
                version = parse_cudnn_header(ctx.read_text(path))
                if version:
                    found = True
                    source = "pip" if "/nvidia/cudnn/" in path else "header"
                    installs.append({"version": version, "source": source, "path": path})
    lib_entries = [e for e in libraries(ctx) if re.match(r"^libcudnn\.so\.\d+$", e["name"])]
    for directory in site_dirs(ctx):
        lib_entries += [{"name": os.path.basename(p), "path": p}
                        for p in ctx.glob(directory + "/nvidia/cudnn/lib/libcudnn.so.*")
                        if re.match(r"^libcudnn\.so\.\d+$", os.path.basename(p))]
    answers = parallel([lambda e=e: library_version(ctx, "cudnn", e["path"]) for e in lib_entries])
    errors = []
    for entry, answer in zip(lib_entries, answers):
        install = {"version": None, "source": "library", "path": entry["path"]}
        if isinstance(answer, dict) and isinstance(answer.get("int"), int) and answer["int"] > 0:
            install["version"] = decode_cudnn_int(answer["int"])
        else:
            match = re.search(r"libcudnn\.so\.(\d+\.\d+\.\d+)$", ctx.resolve(entry["path"]))
            install["version"] = match.group(1) if match else None
            install["error"] = clip(answer.get("error") if isinstance(answer, dict) else str(answer), 300)
        installs.append(install)
    packages, package_errors = system_packages(ctx)
    errors += package_errors
    for package in packages:
        if CUDNN_PACKAGE.match(package["name"]) and not re.search(r"-(dev|headers|samples|doc)(-|$)",
                                                                      package["name"]):
            installs.append({"version": package["version"], "source": package["manager"], "path": package["name"]})
    for dist in python_dists(ctx):
        if dist["name"].startswith("nvidia-cudnn"):
            installs.append({"version": dist["version"], "source": "pip", "path": dist["path"] + "/nvidia/cudnn"})
    rank = {"library": 0, "header": 1, "dpkg": 2, "rpm": 2, "pip": 3}
    known = [i for i in installs if i["version"] and (i["source"] != "library" or "error" not in i)]
    best = min(known, key=lambda i: (rank.get(i["source"], 9), -len(i["version"].split(".")))) if known else None
    return {"version": best["version"] if best else None, "source": best["source"] if best else None,
            "installs": installs[:MAX_LIST], "error": "; ".join(errors) or None}


# -- TensorRT -------------------------------------------------------------------------------

TRT_MODULES = ("tensorrt", "tensorrt_lean", "tensorrt_dispatch")

IMPORT_CODE = r"""
import json, sys
name = sys.argv[1]
try:
    module = __import__(name)
    print(json.dumps({"version": str(getattr(module, "__version__", "")) or None,
                      "file": getattr(module, "__file__", None)}))
except BaseException as exc:
    print(json.dumps({"error": "%s: %s" % (type(exc).__name__, str(exc)[:300])}))
"""


def decode_trt_int(value):
    """``getInferLibVersion()`` -> "M.m.p": 8601 -> 8.6.1, 100300 -> 10.3.0 (10+ uses 10000*M)."""
    if value >= 100000:
        return "%d.%d.%d" % (value // 10000, value // 100 % 100, value % 100)
    return "%d.%d.%d" % (value // 1000, value // 100 % 10, value % 100)


def import_module(ctx, name):
    """Import ``name`` in a child with a timeout: {"module", "version", "error"} (hangs and crashes included)."""
    try:
        status, out, err = ctx.run_python(IMPORT_CODE, [name], timeout=10)
        result = json.loads(out) if status == 0 and out.strip() else {"error": describe_exit(status, err)}
    except (OSError, ProbeTimeout, ValueError) as exc:
        result = {"error": str(exc)}
    return {"module": name, "version": clip(result.get("version"), 64), "error": clip(result.get("error"), 512)}


def trt_modules(ctx, wait=None):
    """The TensorRT Python modules on the host, each imported in its own child, side by side.

    A frontend (``tensorrt_lean``) missing while its bindings (``tensorrt_lean_bindings``)
    are installed is reported under the bindings' name.
    """
    def compute():
        names = []
        for name in TRT_MODULES:
            if find_module(ctx, name):
                names.append(name)
            elif find_module(ctx, name + "_bindings"):
                names.append(name + "_bindings")
        results = parallel([lambda n=n: import_module(ctx, n) for n in names])
        return [r if isinstance(r, dict) else {"module": n, "version": None, "error": clip(str(r), 300)}
                for n, r in zip(names, results)]
    return ctx.once("trt_modules", compute, wait)


def trtexec_path(ctx):
    return ctx.which("trtexec", TRTEXEC_DIRS)


def parse_nvinfer_version_header(text):
    parts = []
    for name in ("NV_TENSORRT_MAJOR", "NV_TENSORRT_MINOR", "NV_TENSORRT_PATCH", "NV_TENSORRT_BUILD"):
        match = re.search(r"^\s*#\s*define\s+%s\s+(\d+)" % name, text or "", re.M)
        if not match:
            return None if len(parts) < 3 else ".".join(parts)
        parts.append(match.group(1))
    return ".".join(parts)


def collect_tensorrt(ctx):
    """TensorRT as the host has it: libraries (``ldconfig -p``, pip ``tensorrt*_libs``) with
    ``getInferLibVersion()``, ``NvInferVersion.h``, dpkg/rpm/pip packages, and the modules
    ``tensorrt``/``tensorrt_lean``/``tensorrt_dispatch`` imported in children.

    ``version`` is the most precise version found (four parts when anything gives the build).
    """
    entries = [e for e in libraries(ctx) if re.match(r"^libnvinfer(_lean|_dispatch)?\.so\.\d+$", e["name"])]
    for directory in site_dirs(ctx):
        for sub in ("tensorrt_libs", "tensorrt_lean_libs", "tensorrt_dispatch_libs"):
            entries += [{"name": os.path.basename(p), "path": p}
                        for p in ctx.glob("%s/%s/libnvinfer*.so.*" % (directory, sub))
                        if re.match(r"^libnvinfer(_lean|_dispatch)?\.so\.\d+$", os.path.basename(p))]
    work = [lambda e=e: library_version(ctx, "trt", e["path"]) for e in entries]
    work.append(lambda: trt_modules(ctx))
    results = parallel(work)
    facts = {"version": None, "source": None, "libraries": [], "header_version": None, "modules": [],
             "packages": [], "trtexec": trtexec_path(ctx)}
    for entry, answer in zip(entries, results[:-1]):
        library = {"name": entry["name"], "path": entry["path"], "version": None, "source": None}
        if isinstance(answer, dict) and isinstance(answer.get("int"), int) and answer["int"] > 0:
            library.update(version=decode_trt_int(answer["int"]), source="libnvinfer")
            if isinstance(answer.get("build"), int):
                library["version"] += ".%d" % answer["build"]
        else:
            library["error"] = clip(answer.get("error") if isinstance(answer, dict) else str(answer), 512)
            match = re.search(r"\.so\.(\d+\.\d+\.\d+(?:\.\d+)?)$", ctx.resolve(entry["path"]))
            if match:
                library.update(version=match.group(1), source="filename")
        facts["libraries"].append(library)
    modules = results[-1]
    if isinstance(modules, Exception):
        facts["error"] = "modules: %s" % clip(str(modules), 300)
        modules = []
    facts["modules"] = modules
    for directory in INCLUDE_DIRS:
        version = parse_nvinfer_version_header(ctx.read_text(directory + "/NvInferVersion.h"))
        if version:
            facts["header_version"], facts["header_path"] = version, directory + "/NvInferVersion.h"
            break
    packages, errors = system_packages(ctx)
    facts["packages"] = [p for p in packages if TRT_PACKAGE.match(p["name"])]
    facts["packages"] += [{"name": d["name"], "version": d["version"], "manager": "pip"}
                          for d in python_dists(ctx) if d["name"].startswith(("tensorrt", "nvidia-tensorrt"))]
    facts["packages"] = facts["packages"][:MAX_LIST]
    facts["libraries"] = facts["libraries"][:MAX_LIST]
    if errors:
        facts["error"] = "; ".join(errors)
    rank = {"libnvinfer": 0, "header": 1, "python": 2, "filename": 3, "dpkg": 4, "rpm": 4, "pip": 5}
    candidates = [(lib["version"], lib["source"]) for lib in facts["libraries"] if lib["version"]]
    candidates += [(m["version"], "python") for m in modules if m["version"]]
    if facts["header_version"]:
        candidates.append((facts["header_version"], "header"))
    candidates += [(re.split(r"[-+]", p["version"])[0], p["manager"]) for p in facts["packages"]
                   if p["version"] and p["name"].startswith(("libnvinfer", "tensorrt")) and
                   re.match(r"^\d+(\.\d+)+", p["version"])]
    if candidates:  # the most precise wins; among equals the most direct source
        best = min(candidates, key=lambda c: (-c[0].count("."), rank.get(c[1], 9), [-p for p in version_key(c[0])]))
        facts["version"], facts["source"] = best
    return facts


# -- containers -------------------------------------------------------------------------------

def collect_containers(ctx):
    """Images and running containers from ``docker`` (else ``podman``), as this user, never sudo.

    Like ``docker images --format ...`` and ``docker ps --format ...``. No runtime
    installed is not an error (``runtime`` null); a daemon this user may not reach is.
    """
    first_error = None
    for runtime in ("docker", "podman"):
        exe = ctx.which(runtime)
        if exe is None:
            continue
        images, running = parallel([
            lambda: ctx.run([exe, "images", "--format", "{{.Repository}}\t{{.Tag}}\t{{.ID}}"], timeout=8),
            lambda: ctx.run([exe, "ps", "--format", "{{.Names}}\t{{.Image}}\t{{.ID}}"], timeout=8),
        ])
        problem = None
        for answer in (images, running):
            if isinstance(answer, Exception):
                problem = str(answer)
            elif answer[0] != 0:
                problem = first_line(answer[2] or answer[1]) or "exit status %d" % answer[0]
        if problem is None:
            return {"runtime": runtime, "images": table(images[1], ("repository", "tag", "id")),
                    "running": table(running[1], ("name", "image", "id"))}
        if first_error is None:
            first_error = {"runtime": runtime, "images": [], "running": [],
                           "error": clip("%s: %s" % (runtime, problem), 512)}
    return first_error or {"runtime": None, "images": [], "running": []}


def table(text, keys):
    rows = []
    for line in text.splitlines()[:MAX_LIST]:
        parts = line.split("\t")
        if len(parts) == len(keys) and parts[0].strip():
            rows.append(dict((k, clip(v.strip(), 256) or None) for k, v in zip(keys, parts)))
    return rows


# -- engines ----------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def gpu_slug(name):
    """"NVIDIA A100-SXM4-80GB" -> "nvidia-a100-sxm4-80gb" (runs of non-alphanumerics become "-")."""
    return re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")


def expand_template(template, models):
    """[(path, gpu)] for one request path: once per GPU model when it holds placeholders.

    ``models`` is [{"name", "compute_capability", "index", "uuid"}] (one per model).
    Raises ValueError for an unknown placeholder or when no GPU can fill them.
    """
    names = PLACEHOLDER.findall(template)
    if not names:
        return [(template, None)]
    unknown = [n for n in names if n not in ("cc", "sm", "gpu")]
    if unknown:
        raise ValueError("unknown placeholder {%s} (known: {cc}, {sm}, {gpu})" % unknown[0])
    if not models:
        raise ValueError("no GPU facts to expand {%s} with" % names[0])
    expanded = []
    for model in models:
        cc = model.get("compute_capability")
        if cc is None and ("cc" in names or "sm" in names):
            continue
        values = {"cc": cc, "sm": "sm" + (cc or "").replace(".", ""), "gpu": gpu_slug(model.get("name"))}
        path = PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
        if path not in [p for p, _ in expanded]:
            expanded.append((path, model))
    if not expanded:
        raise ValueError("no GPU reported a compute capability to expand the path with")
    return expanded


def gpu_models(ctx):
    """One GPU per distinct (name, compute capability), first by index."""
    try:
        found = gpu_list(ctx, wait=remaining(DEFAULT_BUDGETS["gpus"]))
    except ProbeTimeout:
        return []
    models = []
    for device in found.get("devices") or []:
        key = (device.get("name"), device.get("compute_capability"))
        if device.get("name") and key not in [(m.get("name"), m.get("compute_capability")) for m in models]:
            models.append(device)
    return models


def read_plan_header(handle):
    """The plan pre-check without TensorRT (research tensorrt-compat 1.8, rule 6).

    ``ftrt`` at bytes 0-3 (after an Ultralytics JSON prefix, if any); when the uint32 at
    offset 4 is 0 (plans from 8.6 on), bytes 24-27 are major, minor, patch, build.
    """
    head = handle.read(28)
    header = {"magic": False, "tensorrt_version": None}
    offset = 0
    if len(head) >= 8 and head[:4] != b"ftrt":
        length = struct.unpack("<I", head[:4])[0]
        if 0 < length < 1024 * 1024:
            handle.seek(4)
            meta = handle.read(length)
            try:
                json.loads(meta.decode("utf-8"))
                offset = 4 + length
                header["wrapper"] = "ultralytics"
            except ValueError:
                offset = 0
        if offset:
            handle.seek(offset)
            head = handle.read(28)
    if head[:4] != b"ftrt":
        return header, offset
    header["magic"] = True
    if len(head) >= 28 and struct.unpack("<I", head[4:8])[0] == 0:
        header["tensorrt_version"] = "%d.%d.%d.%d" % struct.unpack("4B", head[24:28])
    return header, offset


# Messages TensorRT logs for plans it cannot load, by what they mean (research tensorrt-compat
# 1.7, E1-E14, matched without the source line numbers), plus what the 11.4 lean runtime
# logged on a real H200 (tests/fixtures/real/raw.txt). The first message that matches
# decides; within a message the classes are tried in this order, because 11.4 words a wrong
# magic tag as "incompatible serialization version" too.
LOAD_PATTERNS = (
    ("cuda-init-failure", ("CUDA initialization failure", "CUDA driver version is insufficient",
                           "Insufficient driver", "could not create lean runtime", "no CUDA-capable device")),
    ("corrupt", ("Magic tag does not match", "magicTag", "Platform specific tag mismatch", "expectedPlatformTag",
                 "empty memory buffer", "bufferSize >= minBufferSize", "size == blobSize", "kPLAN_ALIGNMENT",
                 "EngineCapability::kDLA_STANDALONE")),
    ("version-mismatch", ("is not compatible with this version of TensorRT", "Version tag does not match",
                          "plan major version does not match runtime major version",
                          "Engine Version Forward Compatibility supported starting", "is version-locked",
                          "incompatible serialization version", "old deserialization call on a newer plan",
                          "or newer lean runtime")),
    ("device-mismatch", ("generated on an incompatible device", "not compatible with this hardware-compatible engine")),
    ("missing-plugin", ("getPluginCreator could not find plugin", "not found in Plugin Registry")),
    ("no-runtime", ("Unexpected call to stub loadRunner", "getEngineHostCodeAllowed() is false")),
)


def classify(messages):
    """(status, message) for the first log message that says why a load failed, else (None, None)."""
    for message in messages:
        for status, needles in LOAD_PATTERNS:
            if any(n in message for n in needles):
                return status, message
    return None, None


LOADER_CODE = r"""
import json, sys, time
def emit(kind, **fields):
    fields["kind"] = kind
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()  # a crash in TensorRT must not lose what it logged before
name, path, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
started = time.time()
try:
    trt = __import__(name)
except BaseException as exc:
    emit("result", status="import-failed", error="%s: %s" % (type(exc).__name__, str(exc)[:300]))
    sys.exit(0)
emit("runtime", version=str(getattr(trt, "__version__", "") or ""))
errors = []
def record(severity, msg):
    level = str(severity).split(".")[-1]
    if level in ("INTERNAL_ERROR", "ERROR"):
        errors.append(msg)
    if level in ("INTERNAL_ERROR", "ERROR", "WARNING"):
        emit("log", severity=level, message=str(msg)[:2000])
try:
    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
        def log(self, severity, msg):
            record(severity, msg)
    logger = Logger()
except Exception:  # bindings without a subclassable ILogger: TensorRT's own logger prints to stderr
    logger = trt.Logger(trt.Logger.WARNING)
if hasattr(trt, "init_libnvinfer_plugins"):
    try:
        trt.init_libnvinfer_plugins(logger, "")
    except Exception as exc:
        emit("log", severity="WARNING", message="init_libnvinfer_plugins: %s" % exc)
try:
    runtime = trt.Runtime(logger)
except Exception as exc:
    emit("result", status="runtime-failed", error="%s: %s" % (type(exc).__name__, str(exc)[:300]))
    sys.exit(0)
if errors:  # CUDA did not initialize: deserializing now crashes (seen with the 11.4 lean runtime)
    emit("result", status="runtime-failed", error=str(errors[0])[:300])
    sys.exit(0)
if hasattr(runtime, "engine_host_code_allowed"):  # 8.6+: version-compatible plans embed their runtime
    runtime.engine_host_code_allowed = True
with open(path, "rb") as handle:
    handle.seek(offset)  # past a wrapper's prefix (Ultralytics puts JSON metadata before the plan)
    data = handle.read()
engine = runtime.deserialize_cuda_engine(data)  # None on failure, no exception (research 1.7 E15)
if engine is None:
    emit("result", status="failed", seconds=time.time() - started)
else:
    # the name API from 8.5 on, the binding API before (research 1.12, rule 8)
    tensors = engine.num_io_tensors if hasattr(engine, "num_io_tensors") else engine.num_bindings
    emit("result", status="ok", io_tensors=int(tensors), seconds=time.time() - started)
"""


def load_with_python(ctx, module, path, offset, gpu):
    """Start deserializing ``path`` (from byte ``offset``) with the Python module ``module`` in a child."""
    env = ctx.python_env()
    if gpu is not None and gpu.get("uuid"):
        env["CUDA_VISIBLE_DEVICES"] = gpu["uuid"]
    full_env = dict(os.environ)
    full_env.update(env)
    started = time.time()
    process = subprocess.Popen(ctx.python_argv(LOADER_CODE, [module, ctx.path(path), str(offset)]),
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, close_fds=True)
    return process, started


def finish_python_load(ctx, process, started, timeout):
    load = {"status": None, "message": None, "log": []}
    limit = remaining(timeout)
    try:
        out, err = process.communicate(timeout=limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        timed_out = True
    load["seconds"] = round(time.time() - started, 3)
    result, messages = None, []
    for line in decode(out[:MAX_FILE_BYTES]).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("kind") == "log":
            messages.append(str(event.get("message")))
        elif event.get("kind") == "runtime":
            load["runtime_version"] = clip(event.get("version"), 64) or None
        elif event.get("kind") == "result":
            result = event
    # TensorRT's default logger (and Python tracebacks) write to stderr
    messages += [line.strip() for line in decode(err[:MAX_FILE_BYTES]).splitlines() if line.strip()]
    load["log"] = [clip(m, 512) for m in messages[:MAX_LOG_LINES]]
    status, message = classify(messages)
    if timed_out:
        load.update(status="timeout", message="no answer within %.1fs" % limit)
    elif result is not None and result.get("status") == "import-failed":
        load.update(status="import-failed", message=clip(result.get("error"), 512))
    elif result is not None and result.get("status") == "ok":
        load.update(status="ok", message=clip(messages[0], 512) if messages else None)
        if isinstance(result.get("io_tensors"), int):
            load["io_tensors"] = result["io_tensors"]
    elif status is not None:
        load.update(status=status, message=clip(message, 512))
    elif result is None:
        load.update(status="crashed", message="loader %s%s" % (
            describe_exit(process.returncode), (": " + clip(messages[-1], 400)) if messages else ""))
    elif result.get("status") == "runtime-failed":
        load.update(status="cuda-init-failure", message=clip(result.get("error"), 512))
    else:  # deserialize returned None and nothing we know was logged
        load.update(status="corrupt", message=clip(messages[0], 512) if messages else
                    "TensorRT could not deserialize the plan and logged no reason")
    return load


def load_with_trtexec(ctx, trtexec, path, gpu, timeout):
    """``trtexec --loadEngine=PATH --skipInference`` (research 1.11): exit 0 passes, 1 fails."""
    env = {}
    if gpu is not None and gpu.get("uuid"):
        env["CUDA_VISIBLE_DEVICES"] = gpu["uuid"]
    started = time.time()
    load = {"status": None, "runtime": "trtexec", "message": None, "log": []}
    try:
        status, out, err = ctx.run([trtexec, "--loadEngine=" + ctx.path(path), "--skipInference"], timeout, env)
    except ProbeTimeout:
        load.update(status="timeout", message="trtexec gave no answer within %.1fs" % timeout,
                    seconds=round(time.time() - started, 3))
        return load
    except OSError as exc:
        load.update(status="no-runtime", message="trtexec could not start: %s" % clip(str(exc), 300))
        return load
    load["seconds"] = round(time.time() - started, 3)
    lines = [line.strip() for line in (out + "\n" + err).splitlines() if line.strip()]
    match = re.search(r"\[TensorRT v(\d+)\](?: \[b(\d+)\])?", out)
    if match:
        load["runtime_version"] = decode_trt_int(int(match.group(1))) + (
            "." + match.group(2) if match.group(2) else "")
    problems = [line for line in lines if "[E]" in line or "[W]" in line]
    load["log"] = [clip(m, 512) for m in problems[:MAX_LOG_LINES]]
    kind, message = classify(problems)
    if status == 0 and "&&&& PASSED" in out:
        load.update(status="ok", message=clip(problems[0], 512) if problems else None)
    elif kind is not None:
        load.update(status=kind, message=clip(message, 512))
    elif status < 0:
        load.update(status="crashed", message="trtexec %s" % describe_exit(status))
    else:
        load.update(status="corrupt", message=clip(problems[0] if problems else first_line(out + err), 512)
                    or "trtexec failed (exit status %d) and logged no reason" % status)
    return load


def sha256_of(handle, deadline):
    digest = hashlib.sha256()
    handle.seek(0)
    while True:
        chunk = handle.read(4 * 1024 * 1024)
        if not chunk:
            return digest.hexdigest()
        digest.update(chunk)
        if time.time() > deadline:
            raise ProbeTimeout("sha256 not finished within the engines budget")


def check_engine(ctx, path, template, gpu, runtimes, load_timeout):
    """Facts about one engine file: exists, size, sha256, header, test-load."""
    item = {"path": path, "template": template, "exists": False, "size": None, "sha256": None,
            "header": {"magic": None, "tensorrt_version": None}, "load": {"status": "not-found"}, "error": None}
    real = ctx.path(path)
    try:
        if not os.path.exists(real):
            return item
        item["exists"] = True
        if not os.path.isfile(real):
            item["error"], item["load"] = "not a regular file", {"status": "skipped"}
            return item
        item["size"] = os.path.getsize(real)
        handle = open(real, "rb")
    except (IOError, OSError) as exc:
        item["error"] = clip("cannot read: %s" % exc, 300)
        item["load"] = {"status": "skipped"}
        return item
    with handle:
        item["header"], offset = read_plan_header(handle)
        load = {"status": "skipped", "runtime": None, "message": None}
        process = None
        if not item["header"]["magic"]:
            load.update(status="corrupt", message="not a TensorRT plan: no 'ftrt' tag at the start"
                        if item["size"] else "empty file")
        elif not runtimes:
            load.update(status="no-runtime", message="no TensorRT runtime here (python tensorrt, tensorrt_lean,"
                        " tensorrt_dispatch, trtexec)")
        else:
            kind, name = runtimes[0]
            if kind == "python":
                process, started = load_with_python(ctx, name, path, offset, gpu)
                load["runtime"] = name
        try:  # hashes while the child loads
            item["sha256"] = sha256_of(handle, time.time() + remaining(load_timeout))
        except (IOError, OSError, ProbeTimeout) as exc:
            item["error"] = clip("sha256: %s" % exc, 300)
    if process is not None:
        load.update(finish_python_load(ctx, process, started, load_timeout))
        if load["status"] == "import-failed" and len(runtimes) > 1:  # next best runtime
            return check_engine(ctx, path, template, gpu, runtimes[1:], load_timeout)
        if load["status"] == "import-failed":
            load["status"] = "no-runtime"
    elif runtimes and item["header"]["magic"] and runtimes[0][0] == "trtexec":
        load.update(load_with_trtexec(ctx, runtimes[0][1], path, gpu, load_timeout))
    if gpu is not None and load.get("runtime"):
        load["gpu"] = gpu.get("index")
    item["load"] = load
    return item


def collect_engines(ctx):
    """Every engine path the controller asked for, expanded per GPU model and test-loaded.

    The runtime is the best one present: the ``tensorrt`` module, else ``tensorrt_lean``
    or ``tensorrt_dispatch``, else ``trtexec``. Loads run one after another (they share
    the GPU), each in a child with the ``engine_load`` budget; statuses: ok,
    version-mismatch, device-mismatch, corrupt, missing-plugin, cuda-init-failure,
    no-runtime, timeout, crashed, not-found, skipped.

    Version-compatible plans carry the lean runtime as host code, which TensorRT runs
    only when ``engine_host_code_allowed`` is set; the loader sets it, as a service
    loading the same engine must. The engines are the operator's own, named in the
    policy; the probe only deserializes them (like ``trtexec --skipInference``).
    """
    templates = ctx.request.get("engines") or []
    if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
        return {"items": [], "error": "request: engines must be a list of paths"}
    if not templates:
        return {"items": []}
    budgets = ctx.request.get("budgets")
    load_timeout = budgets.get("engine_load") if isinstance(budgets, dict) else None
    if isinstance(load_timeout, bool) or not isinstance(load_timeout, (int, float)) or not 0 < load_timeout <= 3600:
        load_timeout = DEFAULT_ENGINE_LOAD
    models = gpu_models(ctx) if any(PLACEHOLDER.search(t) for t in templates) else []
    work, items = [], []
    for template in templates[:MAX_ENGINES]:
        try:
            for path, gpu in expand_template(template, models):
                if path not in [w[0] for w in work]:
                    work.append((path, template, gpu))
        except ValueError as exc:
            items.append({"path": template, "template": template, "exists": False, "size": None, "sha256": None,
                          "header": {"magic": None, "tensorrt_version": None}, "load": {"status": "skipped"},
                          "error": clip(str(exc), 300)})
    if not work:
        return {"items": items}
    try:
        modules = trt_modules(ctx, wait=remaining(DEFAULT_BUDGETS["tensorrt"]))
    except ProbeTimeout:
        modules = []
    runtimes = [("python", m["module"]) for m in modules
                if not m["error"] and m["module"].replace("_bindings", "") in TRT_MODULES]
    trtexec = trtexec_path(ctx)
    if trtexec:
        runtimes.append(("trtexec", trtexec))
    for path, template, gpu in work:
        if not path.startswith("/"):
            items.append({"path": path, "template": template, "exists": False, "size": None, "sha256": None,
                          "header": {"magic": None, "tensorrt_version": None}, "load": {"status": "skipped"},
                          "error": "engine paths must be absolute"})
            continue
        items.append(check_engine(ctx, path, template, gpu, runtimes, load_timeout))
    result = {"items": items}
    if len(templates) > MAX_ENGINES:
        result["truncated"] = True
    return result


# -- reference engine: load, run once, compare ------------------------------------------------

MAX_REFERENCE_PLANS = 32
MAX_OUTPUT_VALUES = 64
REFERENCE_PREFIX = "auditor-reference-"

# Child code that loads a plan with a TensorRT Python module and runs it once on recorded
# inputs. Device memory comes from the CUDA driver library (libcuda.so.1, which every host
# with a driver has) through ctypes, else from a CUDA runtime library (libcudart); no numpy,
# no pycuda, no cuda-python. The driver API works in the primary context, the one
# TensorRT's own CUDA runtime uses, so both see the same allocations. Events, one JSON
# object a line, as LOADER_CODE: runtime, log, loaded, result.
REFERENCE_CODE = r"""
import base64, ctypes, json, sys, time

ITEMSIZE = {"FLOAT": 4, "HALF": 2, "BF16": 2, "INT8": 1, "UINT8": 1, "INT32": 4, "INT64": 8, "BOOL": 1,
            "FP8": 1}


def emit(kind, **fields):
    fields["kind"] = kind
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()  # a crash in TensorRT or CUDA must not lose what came before


class CudaError(Exception):
    pass


class DriverApi(object):
    # The CUDA driver API (cuda.h): cuInit, the primary context, cuMemAlloc/cuMemcpy/cuStream*.
    name = "driver"

    def __init__(self, lib):
        self.lib = lib
        self.call("cuInit", ctypes.c_uint(0))
        self.device = ctypes.c_int()
        self.call("cuDeviceGet", ctypes.byref(self.device), ctypes.c_int(0))
        context = ctypes.c_void_p()
        self.call("cuDevicePrimaryCtxRetain", ctypes.byref(context), self.device)
        self.call("cuCtxSetCurrent", context)

    def function(self, name):
        for symbol in (name + "_v2", name):  # cuMemAlloc_v2 & co. are the 64-bit entry points
            found = getattr(self.lib, symbol, None)
            if found is not None:
                return found
        raise CudaError("%s is not in the CUDA driver library" % name)

    def error_name(self, code):
        text = ctypes.c_char_p()
        try:
            if self.lib.cuGetErrorName(ctypes.c_int(code), ctypes.byref(text)) == 0 and text.value:
                return "%s (%d)" % (text.value.decode("ascii", "replace"), code)
        except (AttributeError, TypeError):
            pass
        return "CUresult %d" % code

    def call(self, name, *args):
        code = self.function(name)(*args)
        if code != 0:
            raise CudaError("%s failed: %s" % (name, self.error_name(code)))

    def describe(self):
        major, minor, text = ctypes.c_int(), ctypes.c_int(), ctypes.create_string_buffer(256)
        self.call("cuDeviceGetAttribute", ctypes.byref(major), ctypes.c_int(75), self.device)
        self.call("cuDeviceGetAttribute", ctypes.byref(minor), ctypes.c_int(76), self.device)
        self.call("cuDeviceGetName", text, ctypes.c_int(256), self.device)
        return {"name": text.value.decode("utf-8", "replace"), "cc": "%d.%d" % (major.value, minor.value)}

    def alloc(self, size):
        pointer = ctypes.c_uint64()
        self.call("cuMemAlloc", ctypes.byref(pointer), ctypes.c_size_t(size))
        return pointer.value

    def free(self, pointer):
        self.call("cuMemFree", ctypes.c_uint64(pointer))

    def to_device(self, pointer, data):
        source = ctypes.create_string_buffer(data, len(data))
        self.call("cuMemcpyHtoD", ctypes.c_uint64(pointer), source, ctypes.c_size_t(len(data)))

    def to_host(self, pointer, size):
        target = ctypes.create_string_buffer(size)
        self.call("cuMemcpyDtoH", target, ctypes.c_uint64(pointer), ctypes.c_size_t(size))
        return target.raw[:size]

    def stream(self):
        handle = ctypes.c_void_p()
        self.call("cuStreamCreate", ctypes.byref(handle), ctypes.c_uint(0))
        return handle.value or 0

    def synchronize(self, stream):
        self.call("cuStreamSynchronize", ctypes.c_void_p(stream))

    def destroy(self, stream):
        self.call("cuStreamDestroy", ctypes.c_void_p(stream))


class RuntimeApi(DriverApi):
    # The CUDA runtime API (cuda_runtime_api.h), for hosts whose driver library will not do.
    name = "runtime"

    def __init__(self, lib):
        self.lib = lib
        self.call("cudaFree", ctypes.c_void_p(0))  # the documented way to initialize the runtime

    def function(self, name):
        found = getattr(self.lib, name, None)
        if found is None:
            raise CudaError("%s is not in the CUDA runtime library" % name)
        return found

    def error_name(self, code):
        try:
            self.lib.cudaGetErrorName.restype = ctypes.c_char_p
            return "%s (%d)" % (self.lib.cudaGetErrorName(ctypes.c_int(code)).decode("ascii", "replace"), code)
        except (AttributeError, TypeError):
            return "cudaError %d" % code

    def describe(self):
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.call("cudaDeviceGetAttribute", ctypes.byref(major), ctypes.c_int(75), ctypes.c_int(0))
        self.call("cudaDeviceGetAttribute", ctypes.byref(minor), ctypes.c_int(76), ctypes.c_int(0))
        # cudaDeviceProp starts with char name[256] in every CUDA release; the buffer outsizes the struct
        properties = ctypes.create_string_buffer(16384)
        getter = getattr(self.lib, "cudaGetDeviceProperties_v2", None) or self.lib.cudaGetDeviceProperties
        name = properties.raw[:256].split(b"\0")[0] if getter(properties, ctypes.c_int(0)) == 0 else b""
        return {"name": name.decode("utf-8", "replace") or None, "cc": "%d.%d" % (major.value, minor.value)}

    def alloc(self, size):
        pointer = ctypes.c_void_p()
        self.call("cudaMalloc", ctypes.byref(pointer), ctypes.c_size_t(size))
        return pointer.value

    def free(self, pointer):
        self.call("cudaFree", ctypes.c_void_p(pointer))

    def to_device(self, pointer, data):
        source = ctypes.create_string_buffer(data, len(data))
        self.call("cudaMemcpy", ctypes.c_void_p(pointer), source, ctypes.c_size_t(len(data)), ctypes.c_int(1))

    def to_host(self, pointer, size):
        target = ctypes.create_string_buffer(size)
        self.call("cudaMemcpy", target, ctypes.c_void_p(pointer), ctypes.c_size_t(size), ctypes.c_int(2))
        return target.raw[:size]

    def stream(self):
        handle = ctypes.c_void_p()
        self.call("cudaStreamCreate", ctypes.byref(handle))
        return handle.value or 0

    def synchronize(self, stream):
        self.call("cudaStreamSynchronize", ctypes.c_void_p(stream))

    def destroy(self, stream):
        self.call("cudaStreamDestroy", ctypes.c_void_p(stream))


def open_cuda(config, trt=None):
    # The simulated fleet's stand-in TensorRT brings a Python stand-in for libcuda (no GPU there)
    simulated = getattr(trt, "AUDITOR_SIMULATED_LIBCUDA", None)
    if simulated is not None:
        api = DriverApi(simulated)
        api.name = "driver (simulated)"
        return api
    wanted = config.get("api") or "auto"
    problems = []
    if wanted in ("auto", "driver"):
        for path in config.get("libcuda") or ["libcuda.so.1"]:
            try:
                return DriverApi(ctypes.CDLL(path))
            except (OSError, CudaError, AttributeError) as exc:
                problems.append("%s: %s" % (path, exc))
    if wanted in ("auto", "runtime"):
        for path in config.get("libcudart") or []:
            try:
                return RuntimeApi(ctypes.CDLL(path))
            except (OSError, CudaError, AttributeError) as exc:
                problems.append("%s: %s" % (path, exc))
    raise CudaError("no usable CUDA library (%s)" % ("; ".join(problems) or "none found"))


def tensors(engine):
    # The name API (8.5 and later, research tensorrt-compat 1.12): the only one in 10 and 11
    found = []
    for index in range(engine.num_io_tensors):
        name = engine.get_tensor_name(index)
        found.append({"name": name, "mode": str(engine.get_tensor_mode(name)).split(".")[-1],
                      "shape": [int(d) for d in engine.get_tensor_shape(name)],
                      "dtype": str(engine.get_tensor_dtype(name)).split(".")[-1]})
    return found


def infer(trt, engine, spec, errors):
    if not hasattr(engine, "num_io_tensors"):
        raise CudaError("this TensorRT has no name-based tensor API (8.5 or newer is needed to run a plan)")
    found = tensors(engine)
    wanted = [dict(t, mode="INPUT") for t in spec["inputs"]] + [dict(t, mode="OUTPUT") for t in spec["outputs"]]
    strip = lambda t: (t["name"], t["mode"], list(t["shape"]), t["dtype"])
    if sorted(strip(t) for t in found) != sorted(strip(t) for t in wanted):
        raise CudaError("the engine's tensors %s are not the reference's %s" % (
            [strip(t) for t in found], [strip(t) for t in wanted]))
    cuda = open_cuda(spec.get("cuda") or {}, trt)
    device = cuda.describe()
    context = engine.create_execution_context()
    if context is None:
        raise CudaError("create_execution_context returned None: %s" % (errors[-1] if errors else "no reason logged"))
    buffers, stream = {}, None
    try:
        for tensor in found:
            count = 1
            for dim in tensor["shape"]:
                count *= dim
            size = count * ITEMSIZE.get(tensor["dtype"], 4)
            buffers[tensor["name"]] = (cuda.alloc(max(size, 1)), size)
        for tensor in spec["inputs"]:
            data = base64.b64decode(tensor["data"])
            pointer, size = buffers[tensor["name"]]
            if len(data) != size:
                raise CudaError("input %s has %d bytes, the engine wants %d" % (tensor["name"], len(data), size))
            cuda.to_device(pointer, data)
        for tensor in found:
            if context.set_tensor_address(tensor["name"], buffers[tensor["name"]][0]) is False:
                raise CudaError("set_tensor_address(%s) failed" % tensor["name"])
        stream = cuda.stream()
        started = time.time()
        done = context.execute_async_v3(stream)
        cuda.synchronize(stream)
        seconds = time.time() - started
        if not done:
            raise CudaError("execute_async_v3 failed: %s" % (errors[-1] if errors else "no reason logged"))
        outputs = dict((t["name"], base64.b64encode(cuda.to_host(*buffers[t["name"]])).decode("ascii"))
                       for t in spec["outputs"])
    finally:
        for pointer, _ in buffers.values():
            cuda.free(pointer)
        if stream is not None:
            cuda.destroy(stream)
    return {"run_s": seconds, "outputs": outputs, "cuda_api": cuda.name, "device": device}


def main(spec_path):
    with open(spec_path) as handle:
        spec = json.load(handle)
    try:
        trt = __import__(spec["module"])
    except BaseException as exc:
        emit("result", status="import-failed", error="%s: %s" % (type(exc).__name__, str(exc)[:300]))
        return
    emit("runtime", version=str(getattr(trt, "__version__", "") or ""))
    errors = []

    def record(severity, msg):
        level = str(severity).split(".")[-1]
        if level in ("INTERNAL_ERROR", "ERROR"):
            errors.append(str(msg))
        if level in ("INTERNAL_ERROR", "ERROR", "WARNING"):
            emit("log", severity=level, message=str(msg)[:2000])
    try:
        class Logger(trt.ILogger):
            def __init__(self):
                trt.ILogger.__init__(self)

            def log(self, severity, msg):
                record(severity, msg)
        logger = Logger()
    except Exception:
        logger = trt.Logger(trt.Logger.WARNING)
    if hasattr(trt, "init_libnvinfer_plugins"):
        try:
            trt.init_libnvinfer_plugins(logger, "")
        except Exception as exc:
            emit("log", severity="WARNING", message="init_libnvinfer_plugins: %s" % exc)
    try:
        runtime = trt.Runtime(logger)
    except Exception as exc:
        emit("result", status="runtime-failed", error="%s: %s" % (type(exc).__name__, str(exc)[:300]))
        return
    if errors:  # CUDA did not start: deserializing now would crash (the 11.4 lean runtime did)
        emit("result", status="runtime-failed", error=errors[0][:300])
        return
    if hasattr(runtime, "engine_host_code_allowed"):  # version-compatible plans embed their runtime
        runtime.engine_host_code_allowed = True
    with open(spec["plan"], "rb") as handle:
        data = handle.read()
    started = time.time()
    engine = runtime.deserialize_cuda_engine(data)
    load_s = time.time() - started
    if engine is None:
        emit("result", status="failed", load_s=load_s)
        return
    emit("loaded", load_s=load_s)
    try:
        result = infer(trt, engine, spec, errors)
    except Exception as exc:
        emit("result", status="run-failed", load_s=load_s, error="%s: %s" % (type(exc).__name__, str(exc)[:600]))
        return
    result.update(status="ok", load_s=load_s)
    emit("result", **result)


if __name__ == "__main__":
    main(sys.argv[1])
"""

_PRIVATE = {"dirs": set(), "children": set(), "lock": threading.Lock()}


def private_dir():
    """A fresh directory only this user can read (mkdtemp: mode 0700), removed by ``remove_private``."""
    path = tempfile.mkdtemp(prefix=REFERENCE_PREFIX)
    with _PRIVATE["lock"]:
        _PRIVATE["dirs"].add(path)
    return path


def remove_private(path):
    """Remove one private directory; returns an error text, or None when it is gone."""
    shutil.rmtree(path, ignore_errors=True)
    with _PRIVATE["lock"]:
        _PRIVATE["dirs"].discard(path)
    return "could not remove %s" % path if os.path.exists(path) else None


def remove_all_private(signum=None, frame=None):
    """Kill reference children and remove every private directory (at exit, on SIGTERM/SIGHUP)."""
    with _PRIVATE["lock"]:
        children, dirs = list(_PRIVATE["children"]), list(_PRIVATE["dirs"])
    for child in children:
        try:
            child.kill()
        except OSError:
            pass
    for path in dirs:
        remove_private(path)
    if signum is not None:
        os._exit(128 + signum)


def write_private(directory, name, data):
    """Write ``data`` to a new file (mode 0600) in a private directory; never follows an existing name."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def cuda_api(request):
    """Which CUDA library the reference run allocates with: auto (driver, else runtime), driver or runtime."""
    wanted = request.get("cuda_api")
    return wanted if wanted in ("driver", "runtime") else "auto"


def cuda_libraries(ctx):
    """Host paths of libcuda.so.1 and of libcudart.so.N (the linker's, the toolkits', pip's), best first."""
    libcuda = find_library(ctx, "libcuda.so.1")
    cudart = [e["path"] for e in libraries(ctx) if re.match(r"^libcudart\.so\.\d+(\.\d+)?$", e["name"])]
    patterns = ["/usr/local/cuda/lib64/libcudart.so.*", "/usr/local/cuda-*/lib64/libcudart.so.*",
                "/usr/local/cuda-*/targets/*/lib/libcudart.so.*"]
    patterns += [d + "/nvidia/cuda_runtime/lib/libcudart.so.*" for d in site_dirs(ctx)]
    for pattern in patterns:
        cudart += [p for p in ctx.glob(pattern) if re.search(r"libcudart\.so\.\d+(\.\d+)?$", p)]
    seen, ordered = set(), []
    for path in cudart:  # the same file under several names (lib -> lib64 links) is tried once
        real = os.path.realpath(ctx.path(path))
        if real not in seen:
            seen.add(real)
            ordered.append(ctx.path(path))
    return {"libcuda": [ctx.path(libcuda)] if libcuda else [], "libcudart": ordered}


def python_runtimes(ctx):
    """[(module, version)] of the TensorRT Python modules that import here; versions get their build
    number from the library when the module gives only three parts (pip's 10.0-10.7)."""
    try:
        modules = trt_modules(ctx, wait=remaining(DEFAULT_BUDGETS["tensorrt"]))
    except ProbeTimeout:
        return []
    found = []
    for module in modules:
        if module["error"] or module["module"].replace("_bindings", "") not in TRT_MODULES:
            continue
        version = module["version"] or ""
        if len(version.split(".")) < 4:
            version = library_build(ctx, version) or version
        found.append((module["module"], version))
    return found


def library_build(ctx, version):
    """The four-part version of a TensorRT library whose first three parts are ``version``, or None."""
    entries = [e for e in libraries(ctx) if re.match(r"^libnvinfer(_lean|_dispatch)?\.so\.\d+$", e["name"])]
    for directory in site_dirs(ctx):
        entries += [{"path": p} for p in ctx.glob(directory + "/tensorrt*_libs/libnvinfer*.so.*")
                    if re.search(r"libnvinfer(_lean|_dispatch)?\.so\.\d+$", p)]
    for entry in entries:
        answer = library_version(ctx, "trt", entry["path"])
        if isinstance(answer.get("int"), int) and isinstance(answer.get("build"), int):
            full = "%s.%d" % (decode_trt_int(answer["int"]), answer["build"])
            if full.startswith(version + "."):
                return full
    return None


def release_of(text):
    """"10.3.0.26" -> (10, 3, 0, 26); None when not a dotted version."""
    parts = str(text or "").split(".")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def accepts(rule, module, version, compute_capability):
    """Does a candidate's ``accepts`` rule (made by the controller from NVIDIA's portability rules)
    admit a runtime ``module`` at ``version`` on a GPU of ``compute_capability``? (bool, why not)."""
    if module.replace("_bindings", "") not in (rule.get("modules") or []):
        return False, "needs the %s module" % " or ".join(rule.get("modules") or ["?"])
    have, versions = release_of(version), rule.get("version") or {}
    if have is None:
        return False, "runtime version %r unreadable" % version
    if "exact" in versions and have != release_of(versions["exact"]):
        return False, "built by TensorRT %s" % versions["exact"]
    if "min" in versions and (have < (release_of(versions["min"]) or ()) or have[0] not in versions.get("majors", [])):
        return False, "runs on TensorRT %s or newer (majors %s)" % (versions["min"], versions.get("majors"))
    cc, gpus = release_of(compute_capability), rule.get("cc") or {}
    if cc is None:
        return False, "GPU compute capability unknown"
    if "exact" in gpus and cc != release_of(gpus["exact"]):
        return False, "built for compute capability %s" % gpus["exact"]
    if "min" in gpus and cc < (release_of(gpus["min"]) or ()):
        return False, "needs compute capability %s or newer" % gpus["min"]
    return True, None


def choose_candidate(candidates, runtimes, compute_capability):
    """The first candidate (the controller ranked them) a runtime here can load on this GPU.

    Returns (candidate, module, version, None), or (None, None, None, reasons).
    """
    reasons = []
    for candidate in candidates:
        why = None
        for module, version in runtimes:
            ok, why = accepts(candidate.get("accepts") or {}, module, version, compute_capability)
            if ok:
                return candidate, module, version, None
        reasons.append("%s: %s" % (candidate.get("id"), why or "no TensorRT Python module here"))
    return None, None, None, reasons


def compare_outputs(candidate, outputs):
    """Outputs against the recorded ones: (status, facts). ``exact`` is bit-for-bit equality."""
    atol = float((candidate.get("tolerance") or {}).get("atol", 0.0))
    rtol = float((candidate.get("tolerance") or {}).get("rtol", 0.0))
    facts = {"max_abs_error": 0.0, "exact": True, "output": {}}
    status, message = "ok", None
    for tensor in candidate["outputs"]:
        name, expected = tensor["name"], tensor.get("expected") or {}
        data = outputs.get(name)
        if not isinstance(data, bytes):
            return "wrong-output", dict(facts, message="output %s missing" % name)
        facts["exact"] = facts["exact"] and hashlib.sha256(data).hexdigest() == expected.get("sha256")
        if tensor.get("dtype") != "FLOAT" or len(data) % 4:
            if not facts["exact"]:
                status, message = "wrong-output", "output %s differs from the recorded bytes" % name
            continue
        got = struct.unpack("<%df" % (len(data) // 4), data)
        want = expected.get("values") or []
        facts["output"][name] = [round(v, 7) for v in got[:MAX_OUTPUT_VALUES]]
        if len(got) != len(want):
            status, message = "wrong-output", "output %s has %d values, %d recorded" % (name, len(got), len(want))
            continue
        for index, (value, reference) in enumerate(zip(got, want)):
            error = abs(value - reference) if value == value and abs(value) != float("inf") else float("inf")
            facts["max_abs_error"] = max(facts["max_abs_error"], error)
            if error > atol + rtol * abs(reference) and status == "ok":
                status = "wrong-output"
                message = "%s[%d] = %.7g, expected %.7g (tolerance %g + %g x |expected|)" % (
                    name, index, value, reference, atol, rtol)
    if facts["max_abs_error"] == float("inf"):
        facts["max_abs_error"] = None
    if message:
        facts["message"] = message
    return status, facts


def run_reference(ctx, candidate, module, model, timeout):
    """Write one shipped plan into a private directory, load and run it in a child, compare, remove it."""
    run = {"status": None, "plan": candidate.get("id"), "plan_sha256": candidate.get("sha256"),
           "rule": candidate.get("rule"), "runtime": module, "gpu": model.get("index"),
           "gpu_name": model.get("name"), "compute_capability": model.get("compute_capability"),
           "message": None, "log": []}
    start, size = candidate.get("offset"), candidate.get("size")
    blob = ctx.payload[start:start + size] if isinstance(start, int) and isinstance(size, int) else b""
    if len(blob) != size or hashlib.sha256(blob).hexdigest() != candidate.get("sha256"):
        run.update(status="corrupt", message="the shipped plan does not match its sha256 (damaged in transit)")
        return run
    directory = private_dir()
    try:
        spec = {"module": module, "plan": write_private(directory, "reference.plan", blob),
                "inputs": candidate["inputs"], "outputs": [dict((k, t[k]) for k in ("name", "shape", "dtype"))
                                                          for t in candidate["outputs"]],
                "cuda": dict(cuda_libraries(ctx), api=cuda_api(ctx.request))}
        spec_path = write_private(directory, "spec.json", json.dumps(spec).encode("utf-8"))
        env = dict(os.environ)
        env.update(ctx.python_env())
        if model.get("uuid"):
            env["CUDA_VISIBLE_DEVICES"] = model["uuid"]
        started = time.time()
        process = subprocess.Popen(ctx.python_argv(REFERENCE_CODE, [spec_path]), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True)
        with _PRIVATE["lock"]:
            _PRIVATE["children"].add(process)
        try:
            run.update(finish_reference(ctx, process, started, timeout, candidate))
        finally:
            with _PRIVATE["lock"]:
                _PRIVATE["children"].discard(process)
    except (IOError, OSError) as exc:
        run.update(status="crashed", message=clip("could not start the reference run: %s" % exc, 300))
    finally:
        problem = remove_private(directory)
        run["cleanup"] = problem or "removed"
    return run


def finish_reference(ctx, process, started, timeout, candidate):
    """Wait for a reference child and turn its events into a run's status and facts."""
    run = {}
    limit = remaining(timeout)
    try:
        out, err = process.communicate(timeout=limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        timed_out = True
    run["seconds"] = round(time.time() - started, 3)
    events, messages = loader_events(out, err)
    result = events.get("result")
    run["log"] = [clip(m, 512) for m in messages[:MAX_LOG_LINES]]
    if events.get("runtime"):
        run["runtime_version"] = clip(events["runtime"].get("version"), 64) or None
    for key in ("load_s", "run_s"):
        value = (result or events.get("loaded") or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            run[key] = round(value, 6)
    status, message = classify(messages)
    if timed_out:
        return dict(run, status="timeout", message="no answer within %.1fs" % limit)
    if result is None and status is not None:
        return dict(run, status=status, message=clip(message, 512))
    if result is None:
        return dict(run, status="crashed", message="reference run %s%s" % (
            describe_exit(process.returncode), (": " + clip(messages[-1], 400)) if messages else ""))
    kind = result.get("status")
    if kind == "import-failed":
        return dict(run, status="no-runtime", message=clip(result.get("error"), 512))
    if kind == "runtime-failed":
        return dict(run, status="cuda-init-failure", message=clip(message or result.get("error"), 512))
    if kind == "failed" and status is not None:
        return dict(run, status=status, message=clip(message, 512))
    if kind == "failed":  # deserialize returned None and nothing we know was logged
        return dict(run, status="corrupt", message=clip(messages[0], 512) if messages else
                    "TensorRT could not deserialize the plan and logged no reason")
    if kind == "run-failed":
        return dict(run, status="run-failed", message=clip(result.get("error"), 512))
    run["cuda_api"] = clip(result.get("cuda_api"), 64)
    device = result.get("device") if isinstance(result.get("device"), dict) else {}
    run["device"] = {"name": clip(device.get("name"), 256), "cc": clip(device.get("cc"), 16)}
    outputs = {}
    for name, text in (result.get("outputs") or {}).items():
        try:
            outputs[name] = base64.b64decode(text)
        except (TypeError, ValueError):
            outputs[name] = None
    status, facts = compare_outputs(candidate, outputs)
    run.update(facts)
    run["status"] = status
    if status == "ok" and messages:
        run["message"] = clip(messages[0], 512)
    return run


def loader_events(out, err):
    """The JSON events a loader child printed ({kind: last event}) and every log message, stderr's too."""
    events, messages = {}, []
    for line in decode(out[:MAX_FILE_BYTES]).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("kind") == "log":
            messages.append(str(event.get("message")))
        elif event.get("kind"):
            events[str(event["kind"])] = event
    messages += [line.strip() for line in decode(err[:MAX_FILE_BYTES]).splitlines() if line.strip()]
    return events, messages


def reference_specs(request):
    """The request's reference engines, validated: [{"name", "candidates"}]; raises ValueError."""
    specs = request.get("reference")
    if not isinstance(specs, list) or not specs:
        raise ValueError("request: reference must be a non-empty list")
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ValueError("request: each reference needs a name")
        candidates = spec.get("candidates")
        if not isinstance(candidates, list) or len(candidates) > MAX_REFERENCE_PLANS:
            raise ValueError("request: reference %s needs a list of at most %d candidates"
                             % (spec["name"], MAX_REFERENCE_PLANS))
        for candidate in candidates:
            if not (isinstance(candidate, dict) and isinstance(candidate.get("inputs"), list)
                    and isinstance(candidate.get("outputs"), list) and isinstance(candidate.get("accepts"), dict)):
                raise ValueError("request: a candidate of %s lacks inputs, outputs or accepts" % spec["name"])
    return specs


def collect_reference(ctx):
    """Run each requested reference engine once per GPU model: load, one inference, compare.

    For each distinct GPU model the first candidate whose ``accepts`` rule admits a
    TensorRT Python module here (``tensorrt``, else ``tensorrt_lean``, ``tensorrt_dispatch``)
    and the GPU's compute capability is written to a private directory, loaded and run
    in a child (``REFERENCE_CODE``) under the ``engine_load`` budget, its output
    compared with the recorded one, and the directory removed. Statuses: ok,
    wrong-output, run-failed (loaded, but CUDA or the execution failed), no-plan, and the
    test-load ones (version-mismatch, device-mismatch, corrupt, missing-plugin,
    cuda-init-failure, no-runtime, timeout, crashed).
    """
    if "reference" not in ctx.request:
        return {"requested": False, "items": []}
    try:
        specs = reference_specs(ctx.request)
    except ValueError as exc:
        return {"requested": True, "items": [], "error": str(exc)}
    if ctx.payload is None:
        return {"requested": True, "items": [], "error": "the request names reference engines but the program "
                                                         "carries no AUDITOR_PAYLOAD"}
    budgets = ctx.request.get("budgets")
    timeout = budgets.get("engine_load") if isinstance(budgets, dict) else None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        timeout = DEFAULT_ENGINE_LOAD
    models = [m for m in gpu_models(ctx) if m.get("compute_capability")]
    runtimes = python_runtimes(ctx)
    items = []
    for spec in specs:
        item = {"name": clip(spec["name"], 128), "candidates": len(spec["candidates"]), "runs": []}
        if not models:
            item["error"] = "no GPU with a known compute capability to run on"
        for model in models:
            candidate, module, version, reasons = choose_candidate(spec["candidates"], runtimes,
                                                                   model["compute_capability"])
            if candidate is None:
                have = ", ".join("%s %s" % r for r in runtimes) or "no TensorRT Python module"
                message = "no plan of the %d shipped loads here (%s, compute capability %s): %s" % (
                    len(spec["candidates"]), have, model["compute_capability"], "; ".join(reasons[:4]))
                item["runs"].append({"status": "no-runtime" if not runtimes else "no-plan", "gpu": model.get("index"),
                                     "gpu_name": model.get("name"), "compute_capability": model["compute_capability"],
                                     "message": clip(message, 1024), "log": []})
                continue
            run = run_reference(ctx, candidate, module, model, timeout)
            run["runtime_version"] = run.get("runtime_version") or version
            item["runs"].append(run)
        items.append(item)
    return {"requested": True, "items": items}


# -- reference engine: the build mode ------------------------------------------------------------

BUILD_SCHEMA = "auditor.reference-build/1"
DEFAULT_BUILD_TIMEOUT = 600.0


class BuildFailed(Exception):
    """The build could not produce a checked plan; the message says why."""


def build_main(argv, builder):
    """``python3 - --request=B64`` with ``AUDITOR_BUILDER`` set: build, run once, print the result.

    The request is ``{"build": {"name", "precision", "version_compatible",
    "hardware_compatible", "gpu", "timeout"}}``. Stdout carries one JSON object
    (``auditor.reference-build/1``) with the plan in base64, or ``status: failed`` and
    ``error``; the exit status is 0 either way.
    """
    result = {"schema": BUILD_SCHEMA, "probe_version": PROBE_VERSION, "status": "failed", "error": None}
    try:
        root, request = parse_args(argv)
        ctx = ProbeContext(root, request)
        spec = request.get("build")
        if not isinstance(spec, dict):
            raise BuildFailed("request: build must be an object")
        result.update(run_build(ctx, spec, builder))
        result["status"] = "ok"
    except BuildFailed as exc:
        result["error"] = clip(str(exc), 2048)
    except (ValueError, TypeError) as exc:
        result["error"] = "bad arguments: %s" % exc
    finally:
        remove_all_private()
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0


def build_gpu(ctx, wanted):
    """The GPU to build on: the requested index or uuid, else the first; raises BuildFailed."""
    found = gpu_list(ctx)
    devices = [d for d in found.get("devices") or [] if d.get("compute_capability")]
    for device in devices:
        if wanted is None or str(wanted) in (str(device.get("index")), device.get("uuid")):
            return device
    if wanted is not None:
        raise BuildFailed("no GPU %s here (GPUs: %s)" % (wanted, ", ".join(
            "%s %s" % (d.get("index"), d.get("uuid")) for d in devices) or "none"))
    raise BuildFailed("no GPU to build on: %s" % (found.get("error") or "none with a known compute capability"))


def run_build(ctx, spec, builder):
    """Build in a child with the host's ``tensorrt``, then load and run the plan in another, as an audit will."""
    gpu = build_gpu(ctx, spec.get("gpu"))
    modules = [m for m in trt_modules(ctx) if m["module"] == "tensorrt"]
    if not modules or modules[0]["error"]:
        raise BuildFailed("no TensorRT builder here: the tensorrt Python module does not import (%s); the lean "
                          "and dispatch runtimes cannot build" % (modules[0]["error"] if modules else "not installed"))
    env = {"CUDA_VISIBLE_DEVICES": gpu["uuid"]} if gpu.get("uuid") else {}
    directory = private_dir()
    try:
        plan_path = os.path.join(directory, "reference.plan")
        events, messages, build_s = build_plan(ctx, spec, builder, gpu, env, directory, plan_path)
        with open(plan_path, "rb") as handle:
            plan = handle.read()
            handle.seek(0)
            header, _ = read_plan_header(handle)
        reference = events.get("reference") or {}
        result, run_messages = first_run(ctx, spec, env, directory, plan_path, reference)
        outputs = result.get("outputs") or {}
        return {"plan": base64.b64encode(plan).decode("ascii"), "plan_sha256": hashlib.sha256(plan).hexdigest(),
                "header": header, "tensorrt": {"module": "tensorrt",
                                               "version": (events.get("runtime") or {}).get("version")},
                "gpu": dict((k, gpu.get(k)) for k in ("index", "name", "uuid", "compute_capability")),
                "device": result.get("device"),
                "host": {"hostname": collect_host(ctx).get("hostname"), "driver": collect_driver(ctx).get("version")},
                "build": dict([(k, v) for k, v in events["built"].items() if k != "kind"], seconds=round(build_s, 3)),
                "network": reference.get("network"), "inputs": reference.get("inputs") or [],
                "outputs": [dict(t, data=outputs.get(t["name"])) for t in reference.get("outputs") or []],
                "reference_check": sanity_check(reference, outputs), "load_s": result.get("load_s"),
                "run_s": result.get("run_s"), "cuda_api": result.get("cuda_api"),
                "log": [clip(m, 512) for m in (messages + run_messages)[:MAX_LOG_LINES]]}
    finally:
        remove_private(directory)


def build_plan(ctx, spec, builder, gpu, env, directory, plan_path):
    """Run the builder child; returns (its events, its log, seconds); raises BuildFailed."""
    timeout = spec.get("timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        timeout = DEFAULT_BUILD_TIMEOUT
    job = dict(spec, plan=plan_path, compute_capability=gpu["compute_capability"])
    job_path = write_private(directory, "build.json", json.dumps(job).encode("utf-8"))
    started = time.time()
    try:
        status, out, err = ctx.run_python(builder, [job_path], timeout=timeout, env=env)
    except ProbeTimeout:
        raise BuildFailed("the build did not finish within %.0fs" % timeout)
    events, messages = loader_events(out.encode("utf-8"), err.encode("utf-8"))
    if events.get("built") is None or not os.path.exists(plan_path):
        failure = (events.get("result") or {}).get("error") or "the builder %s" % describe_exit(status, err)
        raise BuildFailed(failure + ("; TensorRT said: " + " | ".join(messages[-4:]) if messages else ""))
    return events, messages, time.time() - started


def first_run(ctx, spec, env, directory, plan_path, reference):
    """Load and run the new plan once with REFERENCE_CODE; returns (result event, log); raises BuildFailed."""
    limit = DEFAULT_ENGINE_LOAD * 4
    run_spec = {"module": "tensorrt", "plan": plan_path, "inputs": reference.get("inputs") or [],
                "outputs": reference.get("outputs") or [], "cuda": dict(cuda_libraries(ctx), api=cuda_api(spec))}
    spec_path = write_private(directory, "run.json", json.dumps(run_spec).encode("utf-8"))
    full_env = dict(os.environ)
    full_env.update(ctx.python_env())
    full_env.update(env)
    process = subprocess.Popen(ctx.python_argv(REFERENCE_CODE, [spec_path]), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, close_fds=True)
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise BuildFailed("the first run of the new plan did not finish within %.0fs" % limit)
    events, messages = loader_events(out, err)
    result = events.get("result") or {}
    if result.get("status") != "ok":
        raise BuildFailed("the new plan did not run: %s%s" % (
            result.get("error") or result.get("status") or describe_exit(process.returncode),
            "; TensorRT said: " + " | ".join(messages[-4:]) if messages else ""))
    return result, messages


def sanity_check(reference, outputs):
    """TensorRT's first output against the network computed in Python (float64) by the builder.

    A difference beyond the builder's tolerance means the plan does not compute the
    network as defined (weights laid out wrongly, a broken build): BuildFailed.
    """
    atol, rtol = reference.get("atol", 0.0), reference.get("rtol", 0.0)
    worst = 0.0
    for tensor in reference.get("outputs") or []:
        data = base64.b64decode(outputs.get(tensor["name"]) or "")
        want = reference.get("expected", {}).get(tensor["name"]) or []
        got = struct.unpack("<%df" % (len(data) // 4), data[:len(data) // 4 * 4])
        if len(got) != len(want):
            raise BuildFailed("the new plan's output %s has %d values, the network %d" % (
                tensor["name"], len(got), len(want)))
        for index, (value, expected) in enumerate(zip(got, want)):
            error = abs(value - expected) if value == value else float("inf")
            worst = max(worst, error)
            if error > atol + rtol * abs(expected):
                raise BuildFailed("TensorRT computed %s[%d] = %r where the network defined in Python gives %r "
                                  "(tolerance %g + %g x |value|): the plan does not compute the reference network"
                                  % (tensor["name"], index, value, expected, atol, rtol))
    return {"max_abs_error": worst, "atol": atol, "rtol": rtol}


# -- driver ------------------------------------------------------------------------------

COLLECTORS = (("host", collect_host), ("driver", collect_driver), ("gpus", collect_gpus),
              ("cuda", collect_cuda), ("cudnn", collect_cudnn), ("tensorrt", collect_tensorrt),
              ("containers", collect_containers), ("engines", collect_engines),
              ("reference", collect_reference))


def run_collectors(ctx):
    """Every collector in its own thread, each bounded by its own time budget."""
    budgets = dict(DEFAULT_BUDGETS)
    requested = ctx.request.get("budgets") or {}
    if isinstance(requested, dict):
        budgets.update((k, float(v)) for k, v in requested.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 3600)
    results, threads = {}, {}

    def work(name, function, deadline):
        _thread.deadline = deadline
        started = time.time()
        try:
            section = function(ctx)
            section.setdefault("error", None)
        except Exception as exc:  # a collector bug must not cost the other facts
            section = {"error": clip("%s: %s" % (type(exc).__name__, exc), 512)}
        section["elapsed_s"] = round(time.time() - started, 4)
        results[name] = section

    for name, function in COLLECTORS:
        deadline = time.time() + float(budgets.get(name, 10.0))
        thread = threading.Thread(target=work, args=(name, function, deadline), name=name)
        thread.daemon = True
        thread.start()
        threads[name] = (thread, deadline)
    for name, (thread, deadline) in threads.items():
        thread.join(max(0.0, deadline - time.time()) + 0.75)  # grace: the collector cuts its own commands
        if thread.is_alive():
            results[name] = {"error": "timed out after %.1fs" % float(budgets.get(name, 10.0)),
                             "timed_out": True}
    return results, any(t.is_alive() for t, _ in threads.values())


def cap_output(document, limit=MAX_OUTPUT_BYTES):
    """Serialize, halving the longest list (its owner flagged ``truncated``) until it fits ``limit``."""
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
        document["truncated"] = True


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


def shipped(name):
    """What the controller prepended to this program (``NAME = "base64"``) as bytes, or None."""
    text = globals().get(name)
    if not isinstance(text, str):
        return None
    return base64.b64decode(text)


def main(argv):
    started = time.time()
    builder = shipped("AUDITOR_BUILDER")
    if builder is not None:
        return build_main(argv, builder.decode("utf-8"))
    try:
        root, request = parse_args(argv)
        payload = shipped("AUDITOR_PAYLOAD") if "reference" in request else None
    except (ValueError, TypeError) as exc:
        sys.stdout.write(json.dumps({"schema": SCHEMA, "probe_version": PROBE_VERSION,
                                     "error": "bad arguments: %s" % exc}) + "\n")
        return 0
    ctx = ProbeContext(root, request, payload)
    if payload is not None:  # the one thing the probe writes must not outlive it
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, remove_all_private)
    sections, stuck = run_collectors(ctx)
    remove_all_private()
    document = {
        "schema": SCHEMA,
        "probe_version": PROBE_VERSION,
        "collected_at": iso_utc(time.time()),
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
