"""A library's own version number, asked in a child interpreter: a broken library cannot hurt the probe.

``python3 -S -E -c <this> KIND PATH`` loads PATH with ctypes. KIND ``trt`` calls
``getInferLibVersion()`` (and ``getInferLibBuildVersion()``, which TensorRT 10 added);
``cudnn`` calls ``cudnnGetVersion()``. Prints one JSON object: ``{"int", "build"}`` or
``{"error"}``. Standard library only, Python 3.6; shipped inside the probe.
"""

import ctypes
import json
import sys


def read_version(kind, path):
    """The version integers the library reports, or ``{"error"}`` saying why it would not tell."""
    out: dict = {}
    try:
        lib = ctypes.CDLL(path)
        if kind == "cudnn":
            lib.cudnnGetVersion.restype = ctypes.c_size_t
            out["int"] = int(lib.cudnnGetVersion())
        else:
            out["int"] = int(lib.getInferLibVersion())
            try:
                out["build"] = int(lib.getInferLibBuildVersion())
            except AttributeError:  # before TensorRT 10 there is no build number to ask for
                pass
    except Exception as exc:
        out["error"] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
    return out


if __name__ == "__main__":
    print(json.dumps(read_version(sys.argv[1], sys.argv[2])))
