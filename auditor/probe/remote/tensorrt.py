"""The ``tensorrt`` section: libraries, headers, packages, and the Python modules (each imported in a child)."""

import json
import os
import re

from .common import INCLUDE_DIRS, MAX_LIST, ProbeTimeout, clip, describe_exit, parallel, version_key
from .system import (
    TRT_PACKAGE,
    find_module,
    libraries,
    library_version,
    prefetch_library_version,
    python_dists,
    site_dirs,
    system_packages,
)

TRTEXEC_DIRS = ("/usr/src/tensorrt/bin", "/opt/tensorrt/bin", "/usr/local/tensorrt/bin")


TRT_MODULES = ("tensorrt", "tensorrt_lean", "tensorrt_dispatch")


def decode_trt_int(value):
    """``getInferLibVersion()`` -> "M.m.p": 8601 -> 8.6.1, 100300 -> 10.3.0 (10+ uses 10000*M)."""
    if value >= 100000:
        return "%d.%d.%d" % (value // 10000, value // 100 % 100, value % 100)
    return "%d.%d.%d" % (value // 1000, value // 100 % 10, value % 100)


def import_module(ctx, name):
    """Import ``name`` in a child with a timeout: {"module", "version", "error", "plugins"} (hangs and crashes
    included); ``plugins`` is the module's plugin registry (``children/module_import.list_plugins``) when the
    request asks for it (``"plugins": true``: a policy requires plugins), else None."""
    plugins = None
    args = module_import_args(ctx, name)
    try:
        status, out, err = ctx.run_child("module_import", args, timeout=10)
        lines = [line for line in out.splitlines() if line.strip()]
        result = json.loads(lines[0]) if lines else None
        if result is None:
            result = {"error": describe_exit(status, err)}
        elif "error" not in result and len(args) > 1:
            plugins = plugin_registry(lines[1:], status, err)
    except (OSError, ProbeTimeout, ValueError) as exc:
        result = {"error": str(exc)}
    return {
        "module": name,
        "version": clip(result.get("version"), 64),
        "error": clip(result.get("error"), 512),
        "plugins": plugins,
    }


def module_import_args(ctx, name):
    """The ``module_import`` child's arguments for ``name`` (the same for ``prefetch_tensorrt``'s early start)."""
    return [name, "--plugins"] if ctx.request.get("plugins") is True else [name]


def plugin_registry(lines, status, err):
    """The child's second line (the plugin registry), or what stopped it (a crash after the import)."""
    if lines:
        try:
            answer = json.loads(lines[0]).get("plugins")
        except (ValueError, AttributeError):
            answer = None
        if isinstance(answer, dict):
            return answer
    return {"creators": [], "library": None, "error": clip(describe_exit(status, err) if status else "no answer", 300)}


def trt_modules(ctx, wait=None):
    """The TensorRT Python modules on the host, each imported in its own child, side by side.

    A frontend (``tensorrt_lean``) missing while its bindings (``tensorrt_lean_bindings``)
    are installed is reported under the bindings' name.
    """

    def compute():
        names = trt_module_names(ctx)
        results = parallel([lambda n=n: import_module(ctx, n) for n in names])
        return [
            r if isinstance(r, dict) else {"module": n, "version": None, "error": clip(str(r), 300)}
            for n, r in zip(names, results)
        ]

    return ctx.once("trt_modules", compute, wait)


def trt_module_names(ctx):
    """The TensorRT modules to import: each of ``TRT_MODULES`` found in the site dirs, else its ``_bindings``."""
    names = []
    for name in TRT_MODULES:
        if find_module(ctx, name):
            names.append(name)
        elif find_module(ctx, name + "_bindings"):
            names.append(name + "_bindings")
    return names


def prefetch_tensorrt(ctx):
    """Start the children ``collect_tensorrt`` will wait for and can name without ldconfig (``startup``):
    the modules' imports (the slowest facts: 40 ms for the lean runtime on an H200 host) and
    the version calls of the libraries in pip's ``tensorrt*_libs``."""
    for name in trt_module_names(ctx):
        ctx.start_early("module_import", module_import_args(ctx, name))
    for entry in trt_site_libraries(ctx):
        prefetch_library_version(ctx, "trt", entry["path"])


def prefetch_linked_tensorrt(ctx):
    """Start the version calls of the linker's TensorRT libraries: waits for ``ldconfig -p`` (a ``startup`` thread)."""
    for entry in trt_linked_libraries(ctx):
        prefetch_library_version(ctx, "trt", entry["path"])


def trtexec_path(ctx):
    return ctx.which("trtexec", TRTEXEC_DIRS)


def parse_nvinfer_version_header(text):
    parts: list = []
    for name in ("NV_TENSORRT_MAJOR", "NV_TENSORRT_MINOR", "NV_TENSORRT_PATCH", "NV_TENSORRT_BUILD"):
        match = re.search(r"^\s*#\s*define\s+%s\s+(\d+)" % name, text or "", re.M)
        if not match:
            return None if len(parts) < 3 else ".".join(parts)
        parts.append(match.group(1))
    return ".".join(parts)


def trt_libraries(ctx):
    """``libnvinfer`` (lean, dispatch) as the dynamic linker knows it, and in pip's ``tensorrt*_libs``: [{name, path}]."""
    return trt_linked_libraries(ctx) + trt_site_libraries(ctx)


def trt_linked_libraries(ctx):
    """``libnvinfer`` (lean, dispatch) as the dynamic linker knows it (``ldconfig -p``): [{name, path}]."""
    return [e for e in libraries(ctx) if re.match(r"^libnvinfer(_lean|_dispatch)?\.so\.\d+$", e["name"])]


def trt_site_libraries(ctx):
    """``libnvinfer`` (lean, dispatch) in pip's ``tensorrt*_libs`` packages: [{name, path}]."""
    entries: list = []
    for directory in site_dirs(ctx):
        for sub in ("tensorrt_libs", "tensorrt_lean_libs", "tensorrt_dispatch_libs"):
            entries += [
                {"name": os.path.basename(p), "path": p}
                for p in ctx.glob("%s/%s/libnvinfer*.so.*" % (directory, sub))
                if re.match(r"^libnvinfer(_lean|_dispatch)?\.so\.\d+$", os.path.basename(p))
            ]
    return entries


def collect_tensorrt(ctx):
    """TensorRT as the host has it: libraries (``ldconfig -p``, pip ``tensorrt*_libs``) with
    ``getInferLibVersion()``, ``NvInferVersion.h``, dpkg/rpm/pip packages, and the modules
    ``tensorrt``/``tensorrt_lean``/``tensorrt_dispatch`` imported in children.

    ``version`` is the most precise version found (four parts when anything gives the build).
    """

    def library_versions():
        entries = trt_libraries(ctx)
        return entries, parallel([lambda e=e: library_version(ctx, "trt", e["path"]) for e in entries])

    # the modules' imports need no ldconfig: they start at once, beside the library search
    modules, found = parallel([lambda: trt_modules(ctx), library_versions])
    if isinstance(found, Exception):
        raise found
    entries, answers = found
    facts = {
        "version": None,
        "source": None,
        "libraries": [],
        "header_version": None,
        "modules": [],
        "packages": [],
        "trtexec": trtexec_path(ctx),
    }
    for entry, answer in zip(entries, answers):
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
    facts["packages"] += [
        {"name": d["name"], "version": d["version"], "manager": "pip"}
        for d in python_dists(ctx)
        if d["name"].startswith(("tensorrt", "nvidia-tensorrt"))
    ]
    facts["packages"] = facts["packages"][:MAX_LIST]
    facts["libraries"] = facts["libraries"][:MAX_LIST]
    if errors:
        facts["error"] = "; ".join(errors)
    rank = {"libnvinfer": 0, "header": 1, "python": 2, "filename": 3, "dpkg": 4, "rpm": 4, "pip": 5}
    candidates = [(lib["version"], lib["source"]) for lib in facts["libraries"] if lib["version"]]
    candidates += [(m["version"], "python") for m in modules if m["version"]]
    if facts["header_version"]:
        candidates.append((facts["header_version"], "header"))
    candidates += [
        (re.split(r"[-+]", p["version"])[0], p["manager"])
        for p in facts["packages"]
        if p["version"] and p["name"].startswith(("libnvinfer", "tensorrt")) and re.match(r"^\d+(\.\d+)+", p["version"])
    ]
    if candidates:  # the most precise wins; among equals the most direct source
        best = min(candidates, key=lambda c: (-c[0].count("."), rank.get(c[1], 9), [-p for p in version_key(c[0])]))
        facts["version"], facts["source"] = best
    return facts
