"""The ``cuda`` section: CUDA toolkits on disk (``version.json``, nvcc), the default one, and cuda-compat."""

import json
import os
import re

from .common import MAX_LIST, ProbeTimeout, clip, first_line, parallel
from .system import find_library, libraries


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
    toolkits = [
        t if isinstance(t, dict) else {"path": p, "version": None, "source": None, "error": clip(str(t), 300)}
        for p, t in zip(paths, toolkits)
    ]
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
