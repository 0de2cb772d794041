"""Import one Python module in a child interpreter and say what it is: a hanging or crashing import costs only the child.

``python3 -c <this> NAME`` prints one JSON object: ``{"version", "file"}`` of the imported
module, or ``{"error"}`` with whatever the import raised. Standard library only, Python
3.6; shipped inside the probe (which imports the TensorRT modules this way).

``python3 -c <this> NAME --plugins`` then prints a second line: the module's TensorRT plugin
registry (``list_plugins``). Printed after the first line is flushed, so a registry that
crashes the child still leaves the module's version behind.
"""

import json
import os
import sys

MAX_CREATORS = 512


def describe(name):
    """The module's ``__version__`` and ``__file__``, or the error its import raised."""
    try:
        module = __import__(name)
        return {"version": str(getattr(module, "__version__", "")) or None, "file": getattr(module, "__file__", None)}
    except BaseException as exc:  # whatever the import raised (even SystemExit) is the answer
        return {"error": "%s: %s" % (type(exc).__name__, str(exc)[:300])}


def list_plugins(name):
    """The plugin creators TensorRT module ``name`` registers: ``{"creators": [{name, version, namespace}],
    "library", "error"}``.

    With ``init_libnvinfer_plugins`` (the full runtime) the standard plugin library is loaded
    first, as an application does before deserializing plans that use plugins; ``library`` is
    what it returned (None where the module has no such function: the lean and dispatch
    runtimes ship no libnvinfer_plugin, recorded on an H200). No ``Runtime`` is created: without
    a GPU that broke later registry calls (recorded). The registry is ``all_creators`` (TensorRT
    10 on), else ``plugin_creator_list``; only each creator's ``name``, ``plugin_version`` and
    ``plugin_namespace`` are read (``field_names`` of the internal creators prints errors). TensorRT
    writes some diagnostics straight to the process's stdout: fd 1 goes to stderr meanwhile.
    """
    module = sys.modules[name]
    creators_out: list = []
    result: dict = {"creators": creators_out, "library": None, "error": None}
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        init = getattr(module, "init_libnvinfer_plugins", None)
        if init is not None:
            logger = module.Logger(module.Logger.ERROR) if hasattr(module, "Logger") else None
            result["library"] = bool(init(logger, ""))
        registry = module.get_plugin_registry()
        creators = getattr(registry, "all_creators", None)
        if creators is None:
            creators = registry.plugin_creator_list
        for creator in list(creators)[:MAX_CREATORS]:
            creators_out.append(
                {
                    "name": str(getattr(creator, "name", "") or "")[:256],
                    "version": str(getattr(creator, "plugin_version", "") or "")[:64],
                    "namespace": str(getattr(creator, "plugin_namespace", "") or "")[:256],
                }
            )
    except BaseException as exc:  # whatever the registry raised is the answer
        result["error"] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    return result


if __name__ == "__main__":
    described = describe(sys.argv[1])
    print(json.dumps(described))
    if "--plugins" in sys.argv[2:] and "error" not in described:
        sys.stdout.flush()
        print(json.dumps({"plugins": list_plugins(sys.argv[1])}))
