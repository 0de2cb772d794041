"""Import one Python module in a child interpreter and say what it is: a hanging or crashing import costs only the child.

``python3 -c <this> NAME`` prints one JSON object: ``{"version", "file"}`` of the imported
module, or ``{"error"}`` with whatever the import raised. Standard library only, Python
3.6; shipped inside the probe (which imports the TensorRT modules this way).
"""

import json
import sys


def describe(name):
    """The module's ``__version__`` and ``__file__``, or the error its import raised."""
    try:
        module = __import__(name)
        return {"version": str(getattr(module, "__version__", "")) or None, "file": getattr(module, "__file__", None)}
    except BaseException as exc:  # whatever the import raised (even SystemExit) is the answer
        return {"error": "%s: %s" % (type(exc).__name__, str(exc)[:300])}


if __name__ == "__main__":
    print(json.dumps(describe(sys.argv[1])))
