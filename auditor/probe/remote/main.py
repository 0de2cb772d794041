"""auditor probe: read-only facts about one NVIDIA GPU node, as ``auditor.facts/1`` JSON.

The program's entry point, last of the modules the shipped probe is assembled from
(``auditor.probe.program``). Shipped to each host on stdin and run as ``python3 -S -c
BOOTSTRAP [--request=B64] [--root DIR]`` (``-S``: ``forkserver.send_site_path`` says why; the
one line in ``auditor.probe.program.BOOTSTRAP`` reads stdin whole and executes it; ``python3 -``
works too, but reads a program a character at a time); the assembled program also runs as a
plain script. Standard library only, Python 3.6 syntax, never needs root, never writes
anything on the host but the one exception below.

Contract:
  * stdout carries exactly one JSON object (``schema: auditor.facts/1``), at most
    MAX_OUTPUT_BYTES; long lists are cut and their owner flagged ``truncated`` (and
    the document's top level too).
  * the exit status is 0 even when collectors fail: each section (host, driver, gpus,
    cuda, cudnn, tensorrt, containers, engines) reports its own ``error`` (a string,
    or null), and a collector that overruns its time budget is reported as timed out
    while the others still arrive.
  * ``--root DIR`` reads files under DIR instead of ``/`` and looks for commands and
    libraries there (auditing a mounted image, and the simulated fleet).
  * ``--request=B64`` is base64 of a JSON object from the controller::

        {"budgets": {collector: seconds, "engine_load": seconds},
         "engines": ["/srv/models/resnet50/{sm}.plan", ...]}

    ``"plugins": true`` asks each TensorRT module's plugin registry (``tensorrt.import_module``).
    ``"packages": {"names": [...]}`` asks which versions the repositories offer for the installed
    NVIDIA packages and those names (``packages.collect_packages``).

    Engine paths may hold ``{cc}`` ("8.0"), ``{sm}`` ("sm80") and ``{gpu}`` (the GPU
    name as a slug, "nvidia-a100-sxm4-80gb"); each is expanded once per distinct GPU
    model on the host and test-loaded on a GPU of that model. Unknown keys are
    ignored.

    ``"reference": [{"name", "candidates": [...]}]`` asks for a reference engine run
    (``reference.collect_reference``): the plans travel in this program itself, as base64 in a
    first line ``AUDITOR_PAYLOAD = "..."`` the controller prepends, and each candidate
    says where its bytes are in it, its sha256, which runtimes and GPUs it loads on
    (the controller's portability rules, as data), its recorded input and expected
    output. The chosen plan is the probe's only write: into a private temporary
    directory (mode 0700), removed again before the probe exits (also on timeouts,
    SIGTERM and SIGHUP; only SIGKILL can leave it behind).

A program that starts with ``AUDITOR_BUILDER = "..."`` (base64 of ``children/builder.py``)
is the reference-engine build instead (``build.build_main``): it builds the reference network
with the host's TensorRT, runs it once, and prints ``auditor.reference-build/1``.

Collectors run side by side, each in its own thread under its own budget (``COLLECTORS``:
a new collector is one module and one line there); expensive queries that several need are
computed once (``context.ProbeContext.once``). What may crash or hang (a library's version
call, a TensorRT import, an engine test-load) runs as a child program (``children/``) in a
process of its own with a timeout, so it cannot take the probe down. Those processes are
forked from a copy of the probe made before any thread starts and before anything loads
NVML, CUDA or TensorRT (``forkserver``): a child costs a fork, not a second interpreter start.
"""

import base64
import json
import os
import signal
import sys
import threading
import time

from .build import build_main
from .common import DEFAULT_BUDGETS, MAX_OUTPUT_BYTES, PROBE_VERSION, SCHEMA, clip, deadlines, iso_utc
from .container_toolkit import collect_container_toolkit
from .containers import collect_containers
from .context import ProbeContext, parse_args
from .cuda import collect_cuda
from .cudnn import collect_cudnn
from .driver import collect_driver
from .engines import collect_engines
from .forkserver import ForkServer
from .gpus import collect_gpus
from .host import collect_host
from .mig import collect_mig
from .packages import collect_packages
from .reference import collect_reference, remove_all_private
from .startup import EARLY
from .tensorrt import collect_tensorrt

COLLECTORS = (
    ("host", collect_host),
    ("driver", collect_driver),
    ("gpus", collect_gpus),
    ("cuda", collect_cuda),
    ("cudnn", collect_cudnn),
    ("tensorrt", collect_tensorrt),
    ("containers", collect_containers),
    ("container_toolkit", collect_container_toolkit),
    ("mig", collect_mig),
    # their modules are compiled only when the request asks (shipped_module); the lambdas look the names up then
    (
        "engines",
        lambda ctx: on_demand("engines", ctx.request.get("engines") not in (None, []), lambda: collect_engines(ctx)),
    ),
    ("reference", lambda ctx: on_demand("reference", "reference" in ctx.request, lambda: collect_reference(ctx))),
    ("packages", collect_packages),
)


def on_demand(name, asked, collect):
    """Section ``name`` from its module (``engines``, ``reference``), compiled only when ``asked``; else
    what that collector answers to a request that does not ask: no items."""
    if not asked:
        return {"requested": False, "items": []} if name == "reference" else {"items": []}
    shipped_module(name)
    return collect()


def shipped_module(name):
    """Compile and run module ``name`` now where the shipped program holds it back
    (``auditor.probe.program.ON_DEMAND``); imported as a package (the tests) it is there already."""
    load = globals().get("load_module")
    if load is not None:
        load(name)


def remove_private_dirs():
    """Reference runs' private directories removed: none unless the ``reference`` module ran."""
    remove = globals().get("remove_all_private")
    if remove is not None:
        remove()


def run_collectors(ctx):
    """Every collector in its own thread, each bounded by its own time budget."""
    budgets = dict(DEFAULT_BUDGETS)
    requested = ctx.request.get("budgets") or {}
    if isinstance(requested, dict):
        budgets.update(
            (k, float(v))
            for k, v in requested.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 3600
        )
    results, threads = {}, {}

    def work(name, function, deadline):
        deadlines.deadline = deadline
        started = time.time()
        try:
            section = function(ctx)
            section.setdefault("error", None)
        except Exception as exc:  # a collector bug must not cost the other facts
            section = {"error": clip("%s: %s" % (type(exc).__name__, exc), 512)}
        section["elapsed_s"] = round(time.time() - started, 4)
        results[name] = section

    for name, function in COLLECTORS:
        deadline = time.time() + float(budgets.get(name, 10.0))
        thread = threading.Thread(target=work, args=(name, function, deadline), name=name)
        thread.daemon = True
        thread.start()
        threads[name] = (thread, deadline)
    for name, (thread, deadline) in threads.items():
        thread.join(max(0.0, deadline - time.time()) + 0.75)  # grace: the collector cuts its own commands
        if thread.is_alive():
            results[name] = {"error": "timed out after %.1fs" % float(budgets.get(name, 10.0)), "timed_out": True}
    return results, any(t.is_alive() for t, _ in threads.values())


def cap_output(document, limit=MAX_OUTPUT_BYTES):
    """Serialize, halving the longest list (its owner flagged ``truncated``) until it fits ``limit``."""
    while True:
        text = json.dumps(document, sort_keys=True)
        if len(text.encode("utf-8")) <= limit:
            return text
        parent, key, longest = None, None, None
        stack: list = [(None, None, document)]
        while stack:
            owner, name, node = stack.pop()
            if isinstance(node, dict):
                stack.extend((node, k, v) for k, v in node.items())
            elif isinstance(node, list):
                if longest is None or len(node) > len(longest):
                    parent, key, longest = owner, name, node
                stack.extend((None, None, v) for v in node)
        if not longest or len(longest) <= 1 or parent is None:
            return json.dumps(
                {"schema": SCHEMA, "probe_version": PROBE_VERSION, "error": "output larger than %d bytes" % limit}
            )
        parent[key] = longest[: len(longest) // 2]
        parent["truncated"] = True
        document["truncated"] = True


def shipped(name):
    """What the controller prepended to this program (``NAME = "base64"``) as bytes, or None."""
    text = globals().get(name)
    if not isinstance(text, str):
        return None
    return base64.b64decode(text)


def main(argv):
    started = EARLY.started if EARLY is not None else time.time()
    builder = shipped("AUDITOR_BUILDER")
    if builder is not None:
        shipped_module("build")
        return build_main(argv, builder.decode("utf-8"))
    try:
        root, request = parse_args(argv)
        payload = shipped("AUDITOR_PAYLOAD") if "reference" in request else None
    except (ValueError, TypeError) as exc:
        sys.stdout.write(
            json.dumps({"schema": SCHEMA, "probe_version": PROBE_VERSION, "error": "bad arguments: %s" % exc}) + "\n"
        )
        return 0
    # the context startup began with, else a fresh one whose fork server starts first, while
    # this is the only thread and nothing has loaded NVML, CUDA or TensorRT
    ctx = EARLY if EARLY is not None else ProbeContext(root, request, None, ForkServer.start())
    ctx.payload = payload
    if payload is not None:  # the one thing the probe writes must not outlive it
        shipped_module("reference")
        for signum in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, remove_all_private)
    sections, stuck = run_collectors(ctx)
    ctx.drop_early()
    if ctx.forks is not None:
        ctx.forks.close()
    remove_private_dirs()
    document = {
        "schema": SCHEMA,
        "probe_version": PROBE_VERSION,
        "collected_at": iso_utc(time.time()),
        "root": ctx.root,
        "duration_s": round(time.time() - started, 4),
    }
    document.update(sections)
    sys.stdout.write(cap_output(document) + "\n")
    if stuck:  # a collector thread is blocked in a library call: do not wait for it
        leave_probe(0)
    return 0


def leave_probe(status):
    """End the probe now that its document is out: flush, then ``os._exit``, skipping the interpreter's
    tear-down (18 ms on an H200 host, for nothing the document needs) and any thread still blocked
    in a library call."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: S110 - the reader has gone: nothing left to tell it
            pass
    os._exit(status)


if __name__ == "__main__":
    leave_probe(main(sys.argv[1:]))
