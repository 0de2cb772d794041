"""The ``reference`` section: reference engines shipped in the program, loaded and run once, compared.

The chosen plan is the probe's only write: into a private temporary directory (mode
0700), removed before the probe exits, also on timeouts, SIGTERM and SIGHUP.
"""

import base64
import json
import os
import re
import struct
import subprocess
import threading
import time

from .child import child_code
from .common import (
    DEFAULT_BUDGETS,
    DEFAULT_ENGINE_LOAD,
    MAX_FILE_BYTES,
    MAX_LOG_LINES,
    ProbeTimeout,
    clip,
    decode,
    describe_exit,
    remaining,
    sha256,
)
from .engines import classify, gpu_models
from .system import find_library, libraries, library_version, site_dirs
from .tensorrt import TRT_MODULES, decode_trt_int, trt_modules

MAX_REFERENCE_PLANS = 32


MAX_OUTPUT_VALUES = 64


REFERENCE_PREFIX = "auditor-reference-"


PRIVATE: dict = {"dirs": set(), "children": set(), "lock": threading.Lock()}


def private_dir():
    """A fresh directory only this user can read (mkdtemp: mode 0700), removed by ``remove_private``."""
    # imported here, not at the top: 4 ms of every probe's start-up that only reference runs need;
    # shutil is then loaded before any directory exists for remove_private (and its signal handler) to remove
    import shutil  # noqa: F401
    import tempfile

    path = tempfile.mkdtemp(prefix=REFERENCE_PREFIX)
    with PRIVATE["lock"]:
        PRIVATE["dirs"].add(path)
    return path


def remove_private(path):
    """Remove one private directory; returns an error text, or None when it is gone."""
    import shutil  # loaded by private_dir, which made the directory

    shutil.rmtree(path, ignore_errors=True)
    with PRIVATE["lock"]:
        PRIVATE["dirs"].discard(path)
    return "could not remove %s" % path if os.path.exists(path) else None


def remove_all_private(signum=None, frame=None):
    """Kill reference children and remove every private directory (at exit, on SIGTERM/SIGHUP)."""
    with PRIVATE["lock"]:
        children, dirs = list(PRIVATE["children"]), list(PRIVATE["dirs"])
    for child in children:
        try:
            child.kill()
        except OSError:
            pass
    for path in dirs:
        remove_private(path)
    if signum is not None:
        os._exit(128 + signum)


def write_private(directory, name, data):
    """Write ``data`` to a new file (mode 0600) in a private directory; never follows an existing name."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def cuda_api(request):
    """Which CUDA library the reference run allocates with: auto (driver, else runtime), driver or runtime."""
    wanted = request.get("cuda_api")
    return wanted if wanted in ("driver", "runtime") else "auto"


def cuda_libraries(ctx):
    """Host paths of libcuda.so.1 and of libcudart.so.N (the linker's, the toolkits', pip's), best first."""
    libcuda = find_library(ctx, "libcuda.so.1")
    cudart = [e["path"] for e in libraries(ctx) if re.match(r"^libcudart\.so\.\d+(\.\d+)?$", e["name"])]
    patterns = [
        "/usr/local/cuda/lib64/libcudart.so.*",
        "/usr/local/cuda-*/lib64/libcudart.so.*",
        "/usr/local/cuda-*/targets/*/lib/libcudart.so.*",
    ]
    patterns += [d + "/nvidia/cuda_runtime/lib/libcudart.so.*" for d in site_dirs(ctx)]
    for pattern in patterns:
        cudart += [p for p in ctx.glob(pattern) if re.search(r"libcudart\.so\.\d+(\.\d+)?$", p)]
    seen, ordered = set(), []
    for path in cudart:  # the same file under several names (lib -> lib64 links) is tried once
        real = os.path.realpath(ctx.path(path))
        if real not in seen:
            seen.add(real)
            ordered.append(ctx.path(path))
    return {"libcuda": [ctx.path(libcuda)] if libcuda else [], "libcudart": ordered}


def python_runtimes(ctx):
    """[(module, version)] of the TensorRT Python modules that import here; versions get their build
    number from the library when the module gives only three parts (pip's 10.0-10.7)."""
    try:
        modules = trt_modules(ctx, wait=remaining(DEFAULT_BUDGETS["tensorrt"]))
    except ProbeTimeout:
        return []
    found = []
    for module in modules:
        if module["error"] or module["module"].replace("_bindings", "") not in TRT_MODULES:
            continue
        version = module["version"] or ""
        if len(version.split(".")) < 4:
            version = library_build(ctx, version) or version
        found.append((module["module"], version))
    return found


def library_build(ctx, version):
    """The four-part version of a TensorRT library whose first three parts are ``version``, or None."""
    entries = [e for e in libraries(ctx) if re.match(r"^libnvinfer(_lean|_dispatch)?\.so\.\d+$", e["name"])]
    for directory in site_dirs(ctx):
        entries += [
            {"path": p}
            for p in ctx.glob(directory + "/tensorrt*_libs/libnvinfer*.so.*")
            if re.search(r"libnvinfer(_lean|_dispatch)?\.so\.\d+$", p)
        ]
    for entry in entries:
        answer = library_version(ctx, "trt", entry["path"])
        if isinstance(answer.get("int"), int) and isinstance(answer.get("build"), int):
            full = "%s.%d" % (decode_trt_int(answer["int"]), answer["build"])
            if full.startswith(version + "."):
                return full
    return None


def release_of(text):
    """ "10.3.0.26" -> (10, 3, 0, 26); None when not a dotted version."""
    parts = str(text or "").split(".")
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def accepts(rule, module, version, compute_capability):
    """Does a candidate's ``accepts`` rule (made by the controller from NVIDIA's portability rules)
    admit a runtime ``module`` at ``version`` on a GPU of ``compute_capability``? (bool, why not)."""
    if module.replace("_bindings", "") not in (rule.get("modules") or []):
        return False, "needs the %s module" % " or ".join(rule.get("modules") or ["?"])
    have, versions = release_of(version), rule.get("version") or {}
    if have is None:
        return False, "runtime version %r unreadable" % version
    if "exact" in versions and have != release_of(versions["exact"]):
        return False, "built by TensorRT %s" % versions["exact"]
    if "min" in versions and (have < (release_of(versions["min"]) or ()) or have[0] not in versions.get("majors", [])):
        return False, "runs on TensorRT %s or newer (majors %s)" % (versions["min"], versions.get("majors"))
    cc, gpus = release_of(compute_capability), rule.get("cc") or {}
    if cc is None:
        return False, "GPU compute capability unknown"
    if "exact" in gpus and cc != release_of(gpus["exact"]):
        return False, "built for compute capability %s" % gpus["exact"]
    if "min" in gpus and cc < (release_of(gpus["min"]) or ()):
        return False, "needs compute capability %s or newer" % gpus["min"]
    return True, None


def choose_candidate(candidates, runtimes, compute_capability):
    """The first candidate (the controller ranked them) a runtime here can load on this GPU.

    Returns (candidate, module, version, None), or (None, None, None, reasons).
    """
    reasons = []
    for candidate in candidates:
        why = None
        for module, version in runtimes:
            ok, why = accepts(candidate.get("accepts") or {}, module, version, compute_capability)
            if ok:
                return candidate, module, version, None
        reasons.append("%s: %s" % (candidate.get("id"), why or "no TensorRT Python module here"))
    return None, None, None, reasons


def compare_outputs(candidate, outputs):
    """Outputs against the recorded ones: (status, facts). ``exact`` is bit-for-bit equality."""
    atol = float((candidate.get("tolerance") or {}).get("atol", 0.0))
    rtol = float((candidate.get("tolerance") or {}).get("rtol", 0.0))
    facts: dict = {"max_abs_error": 0.0, "exact": True, "output": {}}
    status, message = "ok", None
    for tensor in candidate["outputs"]:
        name, expected = tensor["name"], tensor.get("expected") or {}
        data = outputs.get(name)
        if not isinstance(data, bytes):
            return "wrong-output", dict(facts, message="output %s missing" % name)
        facts["exact"] = facts["exact"] and sha256(data).hexdigest() == expected.get("sha256")
        if tensor.get("dtype") != "FLOAT" or len(data) % 4:
            if not facts["exact"]:
                status, message = "wrong-output", "output %s differs from the recorded bytes" % name
            continue
        got = struct.unpack("<%df" % (len(data) // 4), data)
        want = expected.get("values") or []
        facts["output"][name] = [round(v, 7) for v in got[:MAX_OUTPUT_VALUES]]
        if len(got) != len(want):
            status, message = "wrong-output", "output %s has %d values, %d recorded" % (name, len(got), len(want))
            continue
        for index, (value, reference) in enumerate(zip(got, want)):
            error = abs(value - reference) if value == value and abs(value) != float("inf") else float("inf")
            facts["max_abs_error"] = max(facts["max_abs_error"], error)
            if error > atol + rtol * abs(reference) and status == "ok":
                status = "wrong-output"
                message = "%s[%d] = %.7g, expected %.7g (tolerance %g + %g x |expected|)" % (
                    name,
                    index,
                    value,
                    reference,
                    atol,
                    rtol,
                )
    if facts["max_abs_error"] == float("inf"):
        facts["max_abs_error"] = None
    if message:
        facts["message"] = message
    return status, facts


def run_reference(ctx, candidate, module, model, timeout):
    """Write one shipped plan into a private directory, load and run it in a child, compare, remove it."""
    run = {
        "status": None,
        "plan": candidate.get("id"),
        "plan_sha256": candidate.get("sha256"),
        "rule": candidate.get("rule"),
        "runtime": module,
        "gpu": model.get("index"),
        "gpu_name": model.get("name"),
        "compute_capability": model.get("compute_capability"),
        "message": None,
        "log": [],
    }
    start, size = candidate.get("offset"), candidate.get("size")
    blob = ctx.payload[start : start + size] if isinstance(start, int) and isinstance(size, int) else b""
    if len(blob) != size or sha256(blob).hexdigest() != candidate.get("sha256"):
        run.update(status="corrupt", message="the shipped plan does not match its sha256 (damaged in transit)")
        return run
    directory = private_dir()
    try:
        spec = {
            "module": module,
            "plan": write_private(directory, "reference.plan", blob),
            "inputs": candidate["inputs"],
            "outputs": [dict((k, t[k]) for k in ("name", "shape", "dtype")) for t in candidate["outputs"]],
            "cuda": dict(cuda_libraries(ctx), api=cuda_api(ctx.request)),
        }
        spec_path = write_private(directory, "spec.json", json.dumps(spec).encode("utf-8"))
        env = dict(os.environ)
        env.update(ctx.python_env())
        if model.get("uuid"):
            env["CUDA_VISIBLE_DEVICES"] = model["uuid"]
        started = time.time()
        process = subprocess.Popen(
            ctx.python_argv(child_code("trt_plan"), ["run", spec_path]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        with PRIVATE["lock"]:
            PRIVATE["children"].add(process)
        try:
            run.update(finish_reference(ctx, process, started, timeout, candidate))
        finally:
            with PRIVATE["lock"]:
                PRIVATE["children"].discard(process)
    except OSError as exc:
        run.update(status="crashed", message=clip("could not start the reference run: %s" % exc, 300))
    finally:
        problem = remove_private(directory)
        run["cleanup"] = problem or "removed"
    return run


def finish_reference(ctx, process, started, timeout, candidate):
    """Wait for a reference child and turn its events into a run's status and facts."""
    run = {}
    limit = remaining(timeout)
    try:
        out, err = process.communicate(timeout=limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        timed_out = True
    run["seconds"] = round(time.time() - started, 3)
    events, messages = loader_events(out, err)
    result = events.get("result")
    run["log"] = [clip(m, 512) for m in messages[:MAX_LOG_LINES]]
    if events.get("runtime"):
        run["runtime_version"] = clip(events["runtime"].get("version"), 64) or None
    for key in ("load_s", "run_s"):
        value = (result or events.get("loaded") or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            run[key] = round(value, 6)
    status, message = classify(messages)
    if timed_out:
        return dict(run, status="timeout", message="no answer within %.1fs" % limit)
    if result is None and status is not None:
        return dict(run, status=status, message=clip(message, 512))
    if result is None:
        return dict(
            run,
            status="crashed",
            message="reference run %s%s"
            % (describe_exit(process.returncode), (": " + clip(messages[-1], 400)) if messages else ""),
        )
    kind = result.get("status")
    if kind == "import-failed":
        return dict(run, status="no-runtime", message=clip(result.get("error"), 512))
    if kind == "runtime-failed":
        return dict(run, status="cuda-init-failure", message=clip(message or result.get("error"), 512))
    if kind == "failed" and status is not None:
        return dict(run, status=status, message=clip(message, 512))
    if kind == "failed":  # deserialize returned None and nothing we know was logged
        return dict(
            run,
            status="corrupt",
            message=clip(messages[0], 512)
            if messages
            else "TensorRT could not deserialize the plan and logged no reason",
        )
    if kind == "run-failed":
        return dict(run, status="run-failed", message=clip(result.get("error"), 512))
    run["cuda_api"] = clip(result.get("cuda_api"), 64)
    device = result.get("device") if isinstance(result.get("device"), dict) else {}
    run["device"] = {"name": clip(device.get("name"), 256), "cc": clip(device.get("cc"), 16)}
    outputs: dict = {}
    for name, text in (result.get("outputs") or {}).items():
        try:
            outputs[name] = base64.b64decode(text)
        except (TypeError, ValueError):
            outputs[name] = None
    status, facts = compare_outputs(candidate, outputs)
    run.update(facts)
    run["status"] = status
    if status == "ok" and messages:
        run["message"] = clip(messages[0], 512)
    return run


def loader_events(out, err):
    """The JSON events a loader child printed ({kind: last event}) and every log message, stderr's too."""
    events, messages = {}, []
    for line in decode(out[:MAX_FILE_BYTES]).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("kind") == "log":
            messages.append(str(event.get("message")))
        elif event.get("kind"):
            events[str(event["kind"])] = event
    messages += [line.strip() for line in decode(err[:MAX_FILE_BYTES]).splitlines() if line.strip()]
    return events, messages


def reference_specs(request):
    """The request's reference engines, validated: [{"name", "candidates"}]; raises ValueError."""
    specs = request.get("reference")
    if not isinstance(specs, list) or not specs:
        raise ValueError("request: reference must be a non-empty list")
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ValueError("request: each reference needs a name")
        candidates = spec.get("candidates")
        if not isinstance(candidates, list) or len(candidates) > MAX_REFERENCE_PLANS:
            raise ValueError(
                "request: reference %s needs a list of at most %d candidates" % (spec["name"], MAX_REFERENCE_PLANS)
            )
        for candidate in candidates:
            if not (
                isinstance(candidate, dict)
                and isinstance(candidate.get("inputs"), list)
                and isinstance(candidate.get("outputs"), list)
                and isinstance(candidate.get("accepts"), dict)
            ):
                raise ValueError("request: a candidate of %s lacks inputs, outputs or accepts" % spec["name"])
    return specs


def collect_reference(ctx):
    """Run each requested reference engine once per GPU model: load, one inference, compare.

    For each distinct GPU model the first candidate whose ``accepts`` rule admits a
    TensorRT Python module here (``tensorrt``, else ``tensorrt_lean``, ``tensorrt_dispatch``)
    and the GPU's compute capability is written to a private directory, loaded and run
    in a child (``children/trt_plan.py``) under the ``engine_load`` budget, its output
    compared with the recorded one, and the directory removed. Statuses: ok,
    wrong-output, run-failed (loaded, but CUDA or the execution failed), no-plan, and the
    test-load ones (version-mismatch, device-mismatch, corrupt, missing-plugin,
    cuda-init-failure, no-runtime, timeout, crashed).
    """
    if "reference" not in ctx.request:
        return {"requested": False, "items": []}
    try:
        specs = reference_specs(ctx.request)
    except ValueError as exc:
        return {"requested": True, "items": [], "error": str(exc)}
    if ctx.payload is None:
        return {
            "requested": True,
            "items": [],
            "error": "the request names reference engines but the program carries no AUDITOR_PAYLOAD",
        }
    budgets = ctx.request.get("budgets")
    timeout = budgets.get("engine_load") if isinstance(budgets, dict) else None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        timeout = DEFAULT_ENGINE_LOAD
    models = [m for m in gpu_models(ctx) if m.get("compute_capability")]
    runtimes = python_runtimes(ctx)
    items = []
    for spec in specs:
        item = {"name": clip(spec["name"], 128), "candidates": len(spec["candidates"]), "runs": []}
        if not models:
            item["error"] = "no GPU with a known compute capability to run on"
        for model in models:
            candidate, module, version, reasons = choose_candidate(
                spec["candidates"], runtimes, model["compute_capability"]
            )
            if candidate is None:
                have = ", ".join("%s %s" % r for r in runtimes) or "no TensorRT Python module"
                message = "no plan of the %d shipped loads here (%s, compute capability %s): %s" % (
                    len(spec["candidates"]),
                    have,
                    model["compute_capability"],
                    "; ".join(reasons[:4]),
                )
                item["runs"].append(
                    {
                        "status": "no-runtime" if not runtimes else "no-plan",
                        "gpu": model.get("index"),
                        "gpu_name": model.get("name"),
                        "compute_capability": model["compute_capability"],
                        "message": clip(message, 1024),
                        "log": [],
                    }
                )
                continue
            run = run_reference(ctx, candidate, module, model, timeout)
            run["runtime_version"] = run.get("runtime_version") or version
            item["runs"].append(run)
        items.append(item)
    return {"requested": True, "items": items}
