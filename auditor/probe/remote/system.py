"""Queries several collectors share: shared libraries, Python package directories and
distributions, system packages (dpkg, rpm), and a library's own version number.
"""

import json
import os
import re

from .common import LIB_DIRS, MAX_DPKG_STATUS_BYTES, SITE_PATTERNS, ProbeTimeout, clip, describe_exit, first_line, log

# Python distributions worth reporting (normalized names, PEP 503).
DIST_INTEREST = re.compile(r"^(tensorrt|nvidia-tensorrt|nvidia-cudnn|nvidia-ml-py|pynvml|nvidia-cuda-runtime)")


# Packages (dpkg/rpm) worth reporting: TensorRT (docs/research/tensorrt-compat.md 1.10), cuDNN, cuda-compat.
PACKAGE_INTEREST = re.compile(
    r"^(libnvinfer|libnvonnxparser|libnvparsers|python3-libnvinfer|tensorrt|uff-converter|graphsurgeon"
    r"|onnx-graphsurgeon|libcudnn|cudnn|cuda-compat)"
)


# NVIDIA's package families (docs/research/workflows.md A cites NVIDIA's install guides for each):
# driver (nvidia-driver-580, libnvidia-compute-580, cuda-drivers-580; RPM nvidia-driver, kmod-nvidia-open-dkms,
# nvidia-kmod-common), CUDA (cuda-*, libcublas-*...), cuDNN (libcudnn9-cuda-12), TensorRT (libnvinfer10, tensorrt).
NVIDIA_PACKAGE = re.compile(
    r"^(nvidia-|libnvidia-|cuda-|libcuda|libcudnn|cudnn|libnvinfer|libnvonnxparser|libnvparsers|python3-libnvinfer"
    r"|tensorrt|kmod-nvidia|xorg-x11-nvidia|libcublas|libcufft|libcurand|libcusolver|libcusparse|libnpp"
    r"|libnvjitlink|libnvjpeg|libnccl|graphsurgeon|onnx-graphsurgeon|uff-converter)"
)
NAME_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$")
"""A package name as dpkg and rpm allow it; anything else is never passed to a command."""
STANZA_NAME = re.compile(r"\s*Package:[ \t]*(\S+)")
"""The first line of a dpkg status stanza (dpkg writes ``Package:`` first)."""
STANZA_BREAK = re.compile(r"\n[ \t]*\n")


TRT_PACKAGE = re.compile(
    r"^(libnvinfer|libnvonnxparser|libnvparsers|python3-libnvinfer|tensorrt|uff-converter"
    r"|graphsurgeon|onnx-graphsurgeon)"
)


CUDNN_PACKAGE = re.compile(r"^(libcudnn|cudnn)")


def list_libraries(ctx):
    """Shared libraries the dynamic linker knows: [{name, path}] like ``ldconfig -p``.

    Under ``--root`` (or when ldconfig is missing) the usual directories and
    ``/etc/ld.so.conf.d`` are scanned instead.
    """
    entries: list = []
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
    entries: list = []
    index: dict = {}
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
            candidates += [p for p in ctx.python_path() if p and os.path.isabs(p)]
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
    """Installed dpkg packages of interest (``PACKAGE_INTEREST``): [{name, version, manager}] of ``dpkg_installed``."""
    installed = dpkg_installed(ctx)
    if installed is None:
        return None
    return [
        {"name": p["name"], "version": p["version"], "manager": "dpkg"}
        for p in installed
        if PACKAGE_INTEREST.match(p["name"])
    ]


def dpkg_installed(ctx):
    """``/var/lib/dpkg/status`` read once for every collector: its installed NVIDIA packages
    (``installed_debs``), None without a dpkg database."""

    def compute():
        text = ctx.read_text("/var/lib/dpkg/status", MAX_DPKG_STATUS_BYTES)
        return None if text is None else installed_debs(nvidia_stanzas(text))

    return ctx.once("dpkg-installed", compute)


def installed_debs(stanzas):
    """Installed NVIDIA packages of ``nvidia_stanzas``: [{name, version, arch, held}], by name.

    Only stanzas whose state (the third word of ``Status:``) is ``installed``: a removed but
    not purged package (``deinstall ok config-files``) keeps its old version there and is not
    installed. ``held`` is the ``hold`` want (``apt-mark hold`` writes it).
    """
    found = []
    for name, fields in stanzas:
        status = fields.get("Status", "").split()
        if not NAME_SHAPE.match(name) or len(status) != 3 or status[2] != "installed":
            continue
        found.append(
            {
                "name": name,
                "version": clip(fields.get("Version"), 128),
                "arch": clip(fields.get("Architecture"), 32),
                "held": status[0] == "hold",
            }
        )
    return sorted(found, key=lambda p: p["name"])


def nvidia_stanzas(text):
    """[(name, fields)] of the stanzas of a dpkg status text whose package ``NVIDIA_PACKAGE`` names.

    A host has thousands of stanzas and a few dozen of NVIDIA's: each is matched on its first
    line only, and only NVIDIA's are split into fields (the probe's threads share one
    interpreter lock, so a slow scan here slows every collector).
    """
    found = []
    for stanza in STANZA_BREAK.split(text):
        match = STANZA_NAME.match(stanza)
        if match is None:  # not dpkg's own layout: find the field wherever it is
            match = re.search(r"^Package:[ \t]*(\S+)", stanza, re.M)
        if match is not None and NVIDIA_PACKAGE.match(match.group(1)):
            fields = stanza_fields(stanza)
            if fields.get("Package") == match.group(1):
                found.append((match.group(1), fields))
    return found


def stanza_fields(stanza):
    """``Key: value`` lines of one RFC-822 stanza (continuation lines are dropped: no field we read has any)."""
    fields = {}
    for line in stanza.splitlines():
        if line[:1] in (" ", "\t", "#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


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
    packages: list = []
    errors: list = []
    for reader in (dpkg_packages, rpm_packages):
        try:
            packages += reader(ctx) or []
        except (OSError, ProbeTimeout, ValueError) as exc:
            errors.append(clip(str(exc), 300))
    return packages, errors


def library_version(ctx, kind, path):
    """Call the version function of a library in a child (a broken library cannot hurt us).

    ``kind`` "trt": ``getInferLibVersion()`` (+ ``getInferLibBuildVersion()`` on 10+);
    "cudnn": ``cudnnGetVersion()``. Returns {"int", "build"} or {"error"}.
    """

    def compute():
        try:
            status, out, err = ctx.run_child("libversion", [kind, ctx.path(path)], timeout=10, bare=True)
        except (OSError, ProbeTimeout) as exc:
            return {"error": clip(str(exc), 300)}
        if status != 0:
            return {"error": clip(describe_exit(status, err), 300)}
        try:
            return json.loads(out)
        except ValueError:
            return {"error": "unreadable answer: %s" % clip(first_line(out), 200)}

    return ctx.once("libversion:" + path, compute)


def prefetch_library_version(ctx, kind, path):
    """Start ``library_version``'s child for ``path`` now; the call later takes it over (``startup``)."""
    ctx.start_early("libversion", [kind, ctx.path(path)], bare=True)
