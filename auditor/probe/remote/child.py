"""The programs the probe runs in a child interpreter (``children/``), as ``python3 -c`` code.

A child isolates what may crash or hang (a library's version call, a TensorRT import,
an engine test-load, a reference run, the reference build) behind a timeout. Each child
is an ordinary file in ``children/``; the shipped probe carries their sources in
``CHILD_SOURCES`` (``auditor.probe.program`` embeds them), and the probe imported as a
package (the tests) reads the files.
"""

import os

CHILD_DIR = "auditor/probe/remote/children"


def child_source(name):
    """The source of ``children/NAME.py``: the copy embedded in the shipped probe, else the file beside this one."""
    embedded = globals().get("CHILD_SOURCES")
    if isinstance(embedded, dict):
        return embedded[name]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "children", name + ".py")
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8")


def child_code(name, source=None):
    """What ``python3 -c`` runs for child ``name``: its source (``source`` instead, when given)
    compiled under its own file name, so a traceback, and coverage, name the child's file and line."""
    text = child_source(name) if source is None else source
    return "exec(compile(%r, %r, 'exec'))" % (text, "%s/%s.py" % (CHILD_DIR, name))
