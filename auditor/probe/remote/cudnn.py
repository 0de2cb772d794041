"""The ``cudnn`` section: cuDNN installs found by header, library, Python distribution and package."""

import os
import re

from .common import INCLUDE_DIRS, MAX_LIST, clip, parallel
from .system import (
    CUDNN_PACKAGE,
    libraries,
    library_version,
    prefetch_library_version,
    python_dists,
    site_dirs,
    system_packages,
)


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


def cudnn_linked_libraries(ctx):
    """``libcudnn.so.N`` as the dynamic linker knows it (``ldconfig -p``): [{name, path}]."""
    return [e for e in libraries(ctx) if re.match(r"^libcudnn\.so\.\d+$", e["name"])]


def cudnn_site_libraries(ctx):
    """``libcudnn.so.N`` of pip's ``nvidia-cudnn-cu*`` wheels: [{name, path}]."""
    entries: list = []
    for directory in site_dirs(ctx):
        entries += [
            {"name": os.path.basename(p), "path": p}
            for p in ctx.glob(directory + "/nvidia/cudnn/lib/libcudnn.so.*")
            if re.match(r"^libcudnn\.so\.\d+$", os.path.basename(p))
        ]
    return entries


def prefetch_cudnn(ctx):
    """Start the version calls of the wheels' cuDNN libraries now, for ``collect_cudnn`` (``startup``)."""
    for entry in cudnn_site_libraries(ctx):
        prefetch_library_version(ctx, "cudnn", entry["path"])


def prefetch_linked_cudnn(ctx):
    """Start the version calls of the linker's cuDNN libraries: waits for ``ldconfig -p`` (a ``startup`` thread)."""
    for entry in cudnn_linked_libraries(ctx):
        prefetch_library_version(ctx, "cudnn", entry["path"])


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
    lib_entries = cudnn_linked_libraries(ctx) + cudnn_site_libraries(ctx)
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
        if CUDNN_PACKAGE.match(package["name"]) and not re.search(r"-(dev|headers|samples|doc)(-|$)", package["name"]):
            installs.append({"version": package["version"], "source": package["manager"], "path": package["name"]})
    for dist in python_dists(ctx):
        if dist["name"].startswith("nvidia-cudnn"):
            installs.append({"version": dist["version"], "source": "pip", "path": dist["path"] + "/nvidia/cudnn"})
    rank = {"library": 0, "header": 1, "dpkg": 2, "rpm": 2, "pip": 3}
    known = [i for i in installs if i["version"] and (i["source"] != "library" or "error" not in i)]
    best = min(known, key=lambda i: (rank.get(i["source"], 9), -len(i["version"].split(".")))) if known else None
    return {
        "version": best["version"] if best else None,
        "source": best["source"] if best else None,
        "installs": installs[:MAX_LIST],
        "error": "; ".join(errors) or None,
    }
