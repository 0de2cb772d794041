"""What TensorRT's plugin registry shows through the lean runtime's Python bindings (issue 15 point 4).

    PYTHONPATH=/tmp/site python3 bench/workflows_on_gpu/plugins.py [--no-runtime] [--no-recorder] > plugins.txt 2>&1

Prints one line per step, ``### step`` then the result (``repr`` of values, exception type
and text), with TensorRT's own log lines interleaved as ``LOG <severity>: <message>`` where a
logger is installed and ``RECORDED <code>: <text>`` for each error TensorRT hands the
registry's error recorder (without one, ``load_library`` returns None and says nothing). Needs ``tensorrt_lean`` (frontend) or ``tensorrt_lean_bindings`` on the
path; runs with or without a GPU (the registry is host-side; without one pass ``--no-runtime``).
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Callable
from typing import Any


def say(title: str, value: object = "") -> None:
    print(f"### {title}", flush=True)
    if value != "":
        print(value, flush=True)


def attempt(title: str, call: Callable[[], Any]) -> Any:
    """Run ``call``, print its value or its exception (type and text), return the value or None."""
    try:
        value = call()
    except Exception as error:  # the point is to record whatever TensorRT raises
        say(title, f"EXCEPTION {type(error).__name__}: {error}")
        return None
    say(title, repr(value))
    return value


def describe(creator: Any) -> dict[str, Any]:
    """Name, version, namespace and kind of one plugin creator, as the bindings expose them."""
    row: dict[str, Any] = {"type": type(creator).__name__}
    for attr in ("name", "plugin_version", "plugin_namespace", "interface_info", "api_language"):
        try:
            value = getattr(creator, attr)
        except Exception as error:  # an attribute the creator kind lacks
            value = f"EXCEPTION {type(error).__name__}: {error}"
        if attr == "interface_info" and not isinstance(value, str):
            value = {k: str(getattr(value, k, None)) for k in ("kind", "major", "minor")}
        row[attr] = value if isinstance(value, (str, int, float, dict)) or value is None else str(value)
    try:
        fields = creator.field_names
        row["fields"] = [f.name for f in fields] if fields is not None else None
    except Exception as error:  # V3 creators expose fields differently
        row["fields"] = f"EXCEPTION {type(error).__name__}: {error}"
    return row


def main() -> int:
    try:
        import tensorrt_lean as trt  # type: ignore[import-not-found]
    except ImportError:
        import tensorrt_lean_bindings as trt  # type: ignore[import-not-found,no-redef]
    say("module", f"{trt.__name__} {trt.__version__} {trt.__file__}")
    say("python", sys.version.split()[0])
    names = sorted(n for n in dir(trt) if "lugin" in n or "registry" in n.lower())
    say("plugin-related names", names)
    for name in (
        "get_plugin_registry",
        "init_libnvinfer_plugins",
        "get_builder_plugin_registry",
        "PluginCreatorVersion",
    ):
        say(f"hasattr({name})", hasattr(trt, name))

    class Logger(trt.ILogger):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            print(f"LOG {severity}: {msg}", flush=True)

    logger = Logger()
    if "--no-runtime" in sys.argv:  # no GPU: a Runtime that failed CUDA's init crashes the registry calls after it
        say("trt.Runtime(logger)", "skipped (--no-runtime): TensorRT logs through its default logger")
    else:
        attempt("trt.Runtime(logger) (installs the logger the registry logs through)", lambda: trt.Runtime(logger))
    registry = attempt("get_plugin_registry()", trt.get_plugin_registry)
    if registry is None:
        return 1

    class Recorder(trt.IErrorRecorder):  # type: ignore[misc,name-defined]
        """Prints each error TensorRT reports: the registry's load_library fails silently (None) otherwise."""

        def __init__(self) -> None:
            trt.IErrorRecorder.__init__(self)
            self.errors: list[tuple[Any, str]] = []

        def clear(self) -> None:
            self.errors = []

        def get_error_code(self, index: int) -> Any:
            return self.errors[index][0]

        def get_error_desc(self, index: int) -> str:
            return self.errors[index][1]

        def has_overflowed(self) -> bool:
            return False

        def num_errors(self) -> int:
            return len(self.errors)

        def report_error(self, code: Any, desc: str) -> bool:
            print(f"RECORDED {code}: {desc}", flush=True)
            self.errors.append((code, desc))
            return True

    recorder = Recorder()
    if "--no-recorder" not in sys.argv:
        attempt("registry.error_recorder = Recorder()", lambda: setattr(registry, "error_recorder", recorder))
    say("registry attributes", sorted(n for n in dir(registry) if not n.startswith("_")))
    attempt("registry.parent_search_enabled", lambda: registry.parent_search_enabled)
    for attr in ("plugin_creator_list", "all_creators", "all_creators_recursive"):
        value = attempt(f"len(registry.{attr})", lambda attr=attr: len(getattr(registry, attr)))
        if value is not None:
            say(f"registry.{attr} described", [describe(c) for c in getattr(registry, attr)])
    if hasattr(trt, "init_libnvinfer_plugins"):
        attempt("init_libnvinfer_plugins(logger, '')", lambda: trt.init_libnvinfer_plugins(logger, ""))
        attempt("len(all_creators) after init_libnvinfer_plugins", lambda: len(registry.all_creators))
    for name, version, namespace in (("EfficientNMS_TRT", "1", ""), ("BatchedNMS_TRT", "1", "")):
        attempt(
            f"registry.get_creator({name!r}, {version!r}, {namespace!r})",
            lambda n=name, v=version, s=namespace: registry.get_creator(n, v, s),
        )
    first = registry.all_creators[0] if registry.all_creators else None
    if first is not None:
        attempt(
            "registry.get_creator(first creator's own name, version, namespace)",
            lambda: describe(registry.get_creator(first.name, first.plugin_version, first.plugin_namespace)),
        )
    attempt("registry.load_library('/nonexistent.so')", lambda: registry.load_library("/nonexistent.so"))
    attempt(
        "registry.load_library('libnvinfer_plugin.so.11') (not in the lean wheels)",
        lambda: registry.load_library("libnvinfer_plugin.so.11"),
    )
    libc = next(
        iter(glob.glob("/lib/x86_64-linux-gnu/libz.so.1") + glob.glob("/usr/lib/x86_64-linux-gnu/libz.so.1")), ""
    )
    if libc:
        attempt(
            f"registry.load_library({libc!r}) (a library that is no plugin library)",
            lambda: registry.load_library(libc),
        )
    libs = os.path.dirname(getattr(__import__("tensorrt_lean_libs"), "__file__", "") or "")
    vc = os.path.join(libs, "libnvinfer_vc_plugin.so.11")
    before = {(c.name, c.plugin_version, c.plugin_namespace) for c in registry.all_creators}
    handle = attempt(
        f"registry.load_library({vc!r}) (the VC plugin library the lean wheel ships)", lambda: registry.load_library(vc)
    )
    after = registry.all_creators
    say(
        "creators added by that library",
        [describe(c) for c in after if (c.name, c.plugin_version, c.plugin_namespace) not in before],
    )
    if handle is not None:
        attempt("registry.deregister_library(handle)", lambda: registry.deregister_library(handle))
        attempt("len(all_creators) after deregister_library", lambda: len(registry.all_creators))
    attempt("import tensorrt_lean_bindings.plugin", lambda: __import__("tensorrt_lean_bindings.plugin").plugin.__name__)
    registry.error_recorder = (
        None  # the global registry outlives this Python object: detach it (a crash at exit otherwise)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
