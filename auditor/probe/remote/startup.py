"""The probe's first moves, made while the interpreter is still compiling the rest of it.

The shipped program compiles and runs its modules one at a time, this one first with only
what it needs before it (``auditor.probe.program.FIRST``); compiling the others takes 30 ms
on a real H200 host. Run as the probe (``__name__ == "__main__"``), and not in the
reference-build mode, it reads the arguments and then, in this order:

1. forks the fork server (``forkserver``), while this is the only thread and nothing has
   loaded NVML, CUDA or TensorRT;
2. starts the children whose arguments need nothing but the site directories (``PREFETCH``):
   TensorRT's Python imports, the slowest facts (40 ms for the lean runtime), and the
   version calls of the libraries pip installed;
3. asks NVML in a thread of its own.

The collectors later ask for the same as if nothing had been started: a started child is
handed over by ``ProbeContext.start_child``, NVML's answer is in ``ProbeContext.once``'s
cache. ``EARLY`` is the context all this went into, which ``main`` carries on with; None
when the arguments are bad (``main`` reports them), in the build mode, and when the
modules are imported as a package (the tests).

A collector whose slow children can be named this early adds its ``prefetch_*`` function
to ``PREFETCH``; nothing else depends on it.
"""

import sys

from .context import ProbeContext, parse_args
from .cudnn import prefetch_cudnn
from .forkserver import ForkServer
from .nvml import prefetch_nvml
from .tensorrt import prefetch_tensorrt

PREFETCH = (prefetch_tensorrt, prefetch_cudnn)


def begin(argv):
    """The probe's context with the fork server started and the prefetches under way, or None (see above)."""
    if globals().get("AUDITOR_BUILDER") is not None:  # the build mode runs its own children, later
        return None
    try:
        root, request = parse_args(argv)
    except (ValueError, TypeError):
        return None
    ctx = ProbeContext(root, request, None, ForkServer.start())
    for prefetch in PREFETCH:
        try:
            prefetch(ctx)
        except Exception:  # noqa: S110 - a head start lost; the collector meets the same problem and reports it
            pass
    prefetch_nvml(ctx)
    return ctx


EARLY = begin(sys.argv[1:]) if __name__ == "__main__" else None
