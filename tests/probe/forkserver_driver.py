"""Drives the probe's fork server from a fresh, single-threaded interpreter, as the probe's ``main`` does.

``python forkserver_driver.py ROOT`` loads the assembled probe (``probe_source()``, what hosts
run) into a namespace, adds the child programs below to its ``CHILD_SOURCES``, starts the
``ForkServer`` before any thread exists, runs each scenario through ``ProbeContext`` and the
server, and prints one JSON object of what it saw. ``tests/probe/test_forkserver.py`` runs it
and asserts; a test process cannot fork itself safely (pytest may hold threads).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from auditor.probe.program import probe_source

CHILDREN = {
    "exits_3": "import sys\nsys.exit(3)\n",
    "raises": "raise ValueError('boom')\n",
    "segfaults": (
        "import os, resource, signal\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file in the test's directory\n"
        "os.kill(os.getpid(), signal.SIGSEGV)\n"
    ),
    "hangs": "import time\nprint('started', flush=True)\ntime.sleep(60)\n",
    "floods": "import sys\nfor _ in range(160):\n    sys.stdout.write('x' * 65536)\n",
    "answers_later": "import sys, time\ntime.sleep(0.3)\nprint(sys.argv[1:])\n",
    "describes": (
        "import json, os, sys\n"
        "print(json.dumps({'argv': sys.argv, 'x': os.environ.get('AUDITOR_TEST_X'),"
        " 'lc_all': os.environ.get('LC_ALL'), 'path': sys.path, 'pid': os.getpid(), 'ppid': os.getppid()}))\n"
    ),
}


def begin(probe: dict[str, Any], argv: list[str]) -> Any:
    """``startup.begin_probe`` with a fork server of its own, once its prefetches have started their children."""
    early = probe["begin_probe"](argv, probe["ForkServer"].start())
    for thread in early.head_starts:
        thread.join(20)
    return early


def main(root: str) -> dict[str, Any]:
    probe: dict[str, Any] = {"__name__": "forkserver-driver"}
    exec(compile(probe_source(), "<auditor-probe>", "exec"), probe)  # noqa: S102 - the probe as shipped
    probe["CHILD_SOURCES"].update(CHILDREN)
    forks = probe["ForkServer"].start()  # first, like main: one thread, nothing loaded
    ctx = probe["ProbeContext"]("/", {}, None, forks)
    seen: dict[str, Any] = {"server_pid": forks.pid, "driver_pid": os.getpid()}

    for name in ("exits_3", "raises", "segfaults"):
        status, out, err = ctx.run_child(name, [], timeout=10)
        seen[name] = {"status": status, "stderr_tail": err.strip().splitlines()[-1:] if err.strip() else []}
        seen[name]["described"] = probe["describe_exit"](status, err)

    child = ctx.start_child("describes", ["a", "b c"], env={"AUDITOR_TEST_X": "42"})
    out, err = child.communicate(timeout=10)
    seen["describes"] = dict(json.loads(out), status=child.returncode, type=type(child).__name__)

    rooted = probe["ProbeContext"](root, {}, None, forks)
    status, out, err = rooted.run_child("describes", [], timeout=10)
    seen["rooted"] = dict(json.loads(out), expected_path=rooted.child_path())

    child = ctx.start_child("hangs", [])
    try:
        child.communicate(timeout=0.5)
        seen["hangs"] = {"timed_out": False}
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
        try:
            os.kill(child.pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        seen["hangs"] = {"timed_out": True, "returncode": child.returncode, "out": out.decode(), "alive": alive}

    # The exit read together with the pid (a loaded host: the runner finished before its watcher's
    # first line was read), and the caller back only after the drain time: the answer is in the pipe.
    late = ctx.start_child("answers_later", ["late"])  # back with the pid, before the child prints
    while late.returncode is None:
        late._data[late._status] += os.read(late._status, 64)
        late._read_status()
    time.sleep(probe["DRAIN_AFTER_EXIT"] + 0.3)
    out, _ = late.communicate(timeout=10)
    seen["late_reader"] = {"status": late.returncode, "out": out.decode()}

    status, out, err = ctx.run_child("floods", [], timeout=20)
    seen["floods"] = {"status": status, "kept": len(out), "cap": probe["MAX_CHILD_OUTPUT"]}

    early = begin(probe, ["--root", root])  # what startup does in the shipped probe
    started_early = sorted([key[0], list(key[1])] for key in early._early)
    trt, cudnn = probe["collect_tensorrt"](early), probe["collect_cudnn"](early)
    seen["prefetch"] = {
        "started": started_early,
        "left_over": len(early._early),
        "modules": trt["modules"],
        "libraries": [(lib["name"], lib["version"]) for lib in trt["libraries"]],
        "cudnn_libraries": [i["path"] for i in cudnn["installs"] if i["source"] == "library"],
    }
    early.forks.close()

    asks = base64.b64encode(json.dumps({"plugins": True}).encode()).decode()
    early = begin(probe, ["--root", root, "--request=" + asks])  # a policy requires plugins
    started_early = sorted([key[0], list(key[1])] for key in early._early)
    modules = probe["collect_tensorrt"](early)["modules"]
    probe["collect_cudnn"](early)
    seen["prefetch_plugins"] = {
        "started": started_early,
        "left_over": sorted([key[0], list(key[1])] for key in early._early),
        "asked": [sorted(m) for m in modules],
    }
    early.forks.close()

    ctx.start_early("hangs", [])  # a collector has started this one itself already: not again
    seen["early_after_claim"] = len(ctx._early)
    ctx.start_early("hangs", ["never claimed"])
    (unclaimed,) = ctx._early.values()
    ctx.drop_early()
    try:
        os.kill(unclaimed.pid, 0)
        seen["dropped"] = {"alive": True}
    except ProcessLookupError:
        seen["dropped"] = {"alive": False, "returncode": unclaimed.returncode}

    answers: dict[int, Any] = {}

    def ask(index: int) -> None:
        answers[index] = json.loads(ctx.run_child("describes", [str(index)], timeout=20)[1])["argv"]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seen["concurrent"] = [answers[i] for i in range(8)]

    os.kill(forks.pid, signal.SIGKILL)  # the server gone: children start as interpreters again
    os.waitpid(forks.pid, 0)
    fallback = ctx.start_child("describes", ["after"], env={"AUDITOR_TEST_X": "43"})
    out, _ = fallback.communicate(timeout=30)
    seen["fallback"] = dict(json.loads(out), type=type(fallback).__name__, status=fallback.returncode)

    second = probe["ForkServer"].start()
    second.sock.close()  # the probe's end closed: the server leaves on its own
    started = time.time()
    _, raw = os.waitpid(second.pid, 0)
    seen["leaves_on_close"] = {"exit_status": os.WEXITSTATUS(raw), "within_s": round(time.time() - started, 3)}
    return seen


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1])) + "\n")
