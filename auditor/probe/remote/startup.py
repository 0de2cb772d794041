"""The probe's first moves, made while the interpreter is still compiling the rest of it.

The shipped program compiles and runs its modules one at a time, this one first with only
what it needs before it (``auditor.probe.program.FIRST``); compiling the others takes about
30 ms on a real H200 host. The fork server (``forkserver.SERVER``) is forked before even
this, as soon as its own module has run: nothing else has happened yet, and it initializes
the host's ``site`` (the probe runs ``python3 -S``) beside the compiling. Run as the probe
(``__name__ == "__main__"``), and not in the reference-build mode, this module reads the
arguments and then starts one thread for each query that can start now (``BACKGROUND``):
TensorRT's Python imports (the slowest facts: 40 ms for the lean runtime) and the version
calls of the libraries pip installed, which wait only for the server's site directories;
NVML's initialization (25 ms); ``ldconfig -p`` and then the version calls of the libraries
it lists; the dpkg/rpm package lists.

The collectors later ask for the same as if nothing had been started: a started child is
handed over by ``ProbeContext.start_child``, a query's answer waits in
``ProbeContext.once``'s cache (or is still being computed, and they wait for it). ``EARLY``
is the context all this went into, which ``main`` carries on with; None when the
arguments are bad (``main`` reports them), in the build mode, and when the modules are
imported as a package (the tests).

A collector whose slow work can start this early adds its ``prefetch_*`` function to
``BACKGROUND``; nothing else depends on it, and a prefetch that fails costs only its head
start.
"""

import sys
import threading

from .context import ProbeContext, parse_args
from .cudnn import prefetch_cudnn, prefetch_linked_cudnn
from .forkserver import SERVER
from .nvml import nvml
from .system import system_packages
from .tensorrt import prefetch_linked_tensorrt, prefetch_tensorrt

BACKGROUND = (prefetch_tensorrt, prefetch_cudnn, nvml, prefetch_linked_tensorrt, prefetch_linked_cudnn, system_packages)


def begin_probe(argv, forks):
    """The probe's context with fork server ``forks`` (or None) and the prefetches under way, or None
    (see above). The prefetches' threads are ``ctx.head_starts``."""
    if globals().get("AUDITOR_BUILDER") is not None:  # the build mode runs its own children, later
        return None
    try:
        root, request = parse_args(argv)
    except (ValueError, TypeError):
        return None
    ctx = ProbeContext(root, request, None, forks)
    for prefetch in BACKGROUND:
        thread = threading.Thread(target=head_start, args=(prefetch, ctx), name=prefetch.__name__)
        thread.daemon = True  # a query wedged in a library call must not keep the probe alive
        thread.start()
        ctx.head_starts.append(thread)
    return ctx


def head_start(prefetch, ctx):
    """Run one prefetch; what it raises is the collector's to meet again and report, not ours."""
    try:
        prefetch(ctx)
    except Exception:  # noqa: S110 - ctx.once keeps the error for the collector that asks
        pass


EARLY = begin_probe(sys.argv[1:], SERVER) if __name__ == "__main__" else None
