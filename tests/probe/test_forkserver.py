"""Child programs forked from the probe's fork server behave as the fresh interpreters they replace, and cost only themselves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.program import ProbeCall, probe_source, run_local, shipped_probe
from auditor.probe.request import encode_request
from auditor.simulate.fleet import load_fleet
from auditor.simulate.roots import build_root
from tests.support.demo import DEMO_FLEET

DRIVER = Path(__file__).with_name("forkserver_driver.py")
FLEET = {h.name: h for h in load_fleet(DEMO_FLEET).hosts}
TIMINGS = frozenset({"elapsed_s", "duration_s", "collected_at", "seconds"})
SPAWNING = b"import os\ndel os.fork  # a host without fork: every child starts an interpreter\n"


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the driver saw, run once in an interpreter of its own (a test process cannot safely fork itself)."""
    root = tmp_path_factory.mktemp("root")
    site = root / "usr/lib/python3/dist-packages"
    for relative, text in (
        ("tensorrt_lean/__init__.py", '__version__ = "10.13.3.9"\n'),
        ("tensorrt_lean_libs/libnvinfer_lean.so.10", "a stand-in, not loadable\n"),
        ("nvidia/cudnn/lib/libcudnn.so.9", "a stand-in, not loadable\n"),
        ("../../x86_64-linux-gnu/libcudnn.so.8", "a stand-in the linker lists, not loadable\n"),
    ):
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2])),
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout), root=str(root))


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("roots")
    return {name: build_root(FLEET[name], base) for name in ("a100-serve-01", "t4-edge-01", "a10-infer-03")}


def without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_a_prefetched_import_asks_for_plugins_when_the_request_does(seen: dict[str, Any]) -> None:
    """With plugins requested, startup starts the import with ``--plugins`` and the collector takes that child over."""
    assert ["module_import", ["tensorrt_lean", "--plugins"]] in seen["prefetch_plugins"]["started"]
    assert ["module_import", ["tensorrt_lean"]] not in seen["prefetch_plugins"]["started"]
    assert seen["prefetch_plugins"]["left_over"] == []


def test_forked_children_end_as_interpreters_do(seen: dict[str, Any]) -> None:
    """A forked child's exit status, uncaught exception and fatal signal read as a fresh interpreter's would."""
    assert (seen["exits_3"]["status"], seen["exits_3"]["described"]) == (3, "exit status 3")
    assert seen["raises"]["status"] == 1 and seen["raises"]["stderr_tail"] == ["ValueError: boom"]
    assert (seen["segfaults"]["status"], seen["segfaults"]["described"]) == (-11, "killed by SIGSEGV")


def test_a_forked_child_gets_its_arguments_environment_and_path(seen: dict[str, Any]) -> None:
    """argv, the environment (LC_ALL=C and the caller's additions) and, under --root, only the root's site-packages."""
    described = seen["describes"]
    assert described["type"] == "ForkedChild" and described["status"] == 0
    assert described["argv"] == ["-c", "a", "b c"] and (described["x"], described["lc_all"]) == ("42", "C")
    assert described["pid"] not in (seen["driver_pid"], seen["server_pid"])
    rooted = seen["rooted"]
    assert rooted["path"] == rooted["expected_path"]
    assert rooted["path"][:2] == ["", seen["root"] + "/usr/lib/python3/dist-packages"]
    assert not any("-packages" in p for p in rooted["path"][2:])  # none of the probe's own site-packages


def test_startup_prefetches_are_taken_over_by_the_collectors(seen: dict[str, Any]) -> None:
    """The children startup starts (TensorRT imports, the libraries' versions) are the collectors' own: none left over."""
    site = seen["root"] + "/usr/lib/python3/dist-packages"
    started = seen["prefetch"]["started"]  # at once; the linker's libraries follow from a thread, after ldconfig
    assert ["module_import", ["tensorrt_lean"]] in started
    assert ["libversion", ["trt", site + "/tensorrt_lean_libs/libnvinfer_lean.so.10"]] in started
    assert ["libversion", ["cudnn", site + "/nvidia/cudnn/lib/libcudnn.so.9"]] in started
    assert seen["prefetch"]["left_over"] == 0
    assert seen["prefetch"]["modules"] == [
        {"module": "tensorrt_lean", "version": "10.13.3.9", "error": None, "plugins": None}
    ]
    assert seen["prefetch"]["libraries"] == [["libnvinfer_lean.so.10", None]]  # not loadable, no version in its name
    assert seen["prefetch"]["cudnn_libraries"] == [
        "/usr/lib/x86_64-linux-gnu/libcudnn.so.8",
        "/usr/lib/python3/dist-packages/nvidia/cudnn/lib/libcudnn.so.9",
    ]


def test_a_started_child_no_collector_claims_is_killed(seen: dict[str, Any]) -> None:
    """A child started early that no collector took over is killed at the end, not left running."""
    assert seen["dropped"] == {"alive": False, "returncode": -9}


def test_nothing_starts_early_that_a_collector_started_itself(seen: dict[str, Any]) -> None:
    """A head start asked for after a collector has started the same child starts nothing (no twin to kill)."""
    assert seen["early_after_claim"] == 0


def test_a_hung_forked_child_is_killed_and_reaped(seen: dict[str, Any]) -> None:
    """A child past its timeout is killed; what it printed before is kept, and its process is gone."""
    assert seen["hangs"] == {"timed_out": True, "returncode": -9, "out": "started\n", "alive": False}


def test_a_reader_late_past_the_drain_time_still_gets_the_answer(seen: dict[str, Any]) -> None:
    """Exit known before anything was read, the caller back after DRAIN_AFTER_EXIT: the output is still read."""
    assert seen["late_reader"] == {"status": 0, "out": "['late']\n"}


def test_a_flooding_child_is_drained_not_waited_on(seen: dict[str, Any]) -> None:
    """A child printing 10 MiB finishes; the caller keeps its cap of it."""
    assert seen["floods"]["status"] == 0 and seen["floods"]["kept"] == 256 * 1024


def test_collectors_threads_start_children_side_by_side(seen: dict[str, Any]) -> None:
    """Eight threads starting children at once each get their own child's answer."""
    assert seen["concurrent"] == [["-c", str(i)] for i in range(8)]


def test_without_the_server_children_start_as_interpreters(seen: dict[str, Any]) -> None:
    """Once the server is gone, a child starts in a fresh interpreter with the same arguments and environment."""
    fallback = seen["fallback"]
    assert fallback["type"] == "Popen" and fallback["status"] == 0
    assert fallback["argv"] == ["-c", "after"] and (fallback["x"], fallback["lc_all"]) == ("43", "C")


def test_the_server_leaves_when_the_probe_closes_its_end(seen: dict[str, Any]) -> None:
    """Closing the probe's end of the socket ends the server with status 0."""
    assert seen["leaves_on_close"]["exit_status"] == 0


@pytest.mark.parametrize("name", ["a100-serve-01", "t4-edge-01", "a10-infer-03"])
def test_the_facts_are_the_same_forked_or_spawned(name: str, roots: dict[str, Path]) -> None:
    """The probe's document, engine test-loads included, is the same whether its children fork or start interpreters."""
    engines = ("/srv/models/resnet50/{sm}.plan", "/srv/models/detector/{gpu}-{sm}.plan", "/srv/models/missing.plan")
    request = encode_request(engines=engines)
    forked = run_local(root=str(roots[name]), request=request)
    spawned = run_local(root=str(roots[name]), request=request, program=SPAWNING + probe_source())
    assert forked.returncode == spawned.returncode == 0, forked.stderr + spawned.stderr
    first, second = json.loads(forked.stdout), json.loads(spawned.stdout)
    assert without_timings(first) == without_timings(second)
    loads = [item["load"]["status"] for item in first["engines"]["items"]]
    assert first["tensorrt"]["modules"] and loads[-1] == "not-found" and set(loads) != {"not-found"}


def test_the_shipped_probe_is_the_same_program_in_a_third_of_the_bytes(roots: dict[str, Path]) -> None:
    """What a host receives over SSH (``shipped_probe``) inflates to ``probe_source()`` byte for byte, binds
    no name of its own, is at most 40% of its size, and gives the same document, engine test-loads and
    an ``AUDITOR_PAYLOAD`` line before it included, as the program sent as it is."""
    import base64
    import re
    import zlib

    shipped = shipped_probe()
    assert ProbeCall(encode_request()).source == shipped and shipped.count(b"\n") == 1
    packed = re.fullmatch(
        rb"exec\(compile\(__import__\('zlib'\)\.decompress\(__import__\('binascii'\)\.a2b_base64\(b'([A-Za-z0-9+/=]+)'\)\),'<auditor-probe>','exec'\)\)\n",
        shipped,
    )
    assert packed is not None and zlib.decompress(base64.b64decode(packed.group(1))) == probe_source()
    assert len(shipped) <= 0.4 * len(probe_source())
    engines = ("/srv/models/resnet50/{sm}.plan", "/srv/models/missing.plan")
    request = encode_request(engines=engines)
    plain = run_local(root=str(roots["a100-serve-01"]), request=request)
    sent = run_local(root=str(roots["a100-serve-01"]), request=request, program=shipped)
    marked = run_local(root=str(roots["a100-serve-01"]), request=request, program=b'AUDITOR_MARK = "x"\n' + shipped)
    assert plain.returncode == sent.returncode == marked.returncode == 0, sent.stderr + marked.stderr
    documents = [without_timings(json.loads(r.stdout)) for r in (plain, sent, marked)]
    assert documents[0] == documents[1] == documents[2]
    assert [i["load"]["status"] for i in documents[1]["engines"]["items"]] == ["ok", "not-found"]


def test_a_crashing_tensorrt_import_costs_only_its_module(roots: dict[str, Path], tmp_path: Path) -> None:
    """A TensorRT module that kills its interpreter on import is reported killed; every other fact arrives."""
    root = tmp_path / "crash"
    shutil.copytree(roots["a100-serve-01"], root, symlinks=True)
    module = root / "usr/lib/python3/dist-packages/tensorrt/__init__.py"
    module.write_text(
        "import os, resource, signal\nresource.setrlimit(resource.RLIMIT_CORE, (0, 0))\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    result = run_local(root=str(root), request=encode_request())
    doc = json.loads(result.stdout)
    (entry,) = doc["tensorrt"]["modules"]
    assert (entry["module"], entry["error"]) == ("tensorrt", "killed by SIGSEGV")
    assert (doc["tensorrt"]["version"], doc["tensorrt"]["source"]) == ("8.6.1.6", "header")
    assert doc["driver"]["version"] == "535.104.05" and doc["gpus"]["count"] == 8


def test_no_process_of_the_probe_outlives_it(roots: dict[str, Path]) -> None:
    """After the probe has printed its document, its fork server and every child leave too."""
    marker = "1.23456789"  # a budget no other process has on its command line
    request = encode_request(budgets={"host": float(marker)}, engines=("/srv/models/resnet50/{sm}.plan",))
    result = run_local(root=str(roots["t4-edge-01"]), request=request)
    assert json.loads(result.stdout)["engines"]["items"][0]["load"]["status"] == "ok"
    argument = ("--request=" + request).encode()

    def leftovers() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and argument in (entry / "cmdline").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue  # gone while we looked
        return found

    deadline = time.monotonic() + 10  # the server sees the probe's end close, then leaves
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers() == []
