"""The ``engines`` section: the engine files the controller asked for, expanded per GPU model and test-loaded.

Each test-load runs in a child (``children/trt_plan.py load``, else ``trtexec``) under
the ``engine_load`` budget; TensorRT's log decides why a plan did not load (``classify``).
"""

import json
import os
import re
import struct
import subprocess
import time

from .common import (
    DEFAULT_BUDGETS,
    DEFAULT_ENGINE_LOAD,
    MAX_ENGINES,
    MAX_FILE_BYTES,
    MAX_LOG_LINES,
    ProbeTimeout,
    clip,
    decode,
    describe_exit,
    first_line,
    remaining,
    sha256,
)
from .gpus import gpu_list
from .tensorrt import TRT_MODULES, decode_trt_int, trt_modules, trtexec_path

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def gpu_slug(name):
    """ "NVIDIA A100-SXM4-80GB" -> "nvidia-a100-sxm4-80gb" (runs of non-alphanumerics become "-")."""
    return re.sub(r"[^a-z0-9]+", "-", (name or "").lower()).strip("-")


def expand_template(template, models):
    """[(path, gpu)] for one request path: once per GPU model when it holds placeholders.

    ``models`` is [{"name", "compute_capability", "index", "uuid"}] (one per model).
    Raises ValueError for an unknown placeholder or when no GPU can fill them.
    """
    names = PLACEHOLDER.findall(template)
    if not names:
        return [(template, None)]
    unknown = [n for n in names if n not in ("cc", "sm", "gpu")]
    if unknown:
        raise ValueError("unknown placeholder {%s} (known: {cc}, {sm}, {gpu})" % unknown[0])
    if not models:
        raise ValueError("no GPU facts to expand {%s} with" % names[0])
    expanded: list = []
    for model in models:
        cc = model.get("compute_capability")
        if cc is None and ("cc" in names or "sm" in names):
            continue
        values = {"cc": cc, "sm": "sm" + (cc or "").replace(".", ""), "gpu": gpu_slug(model.get("name"))}

        def fill(match, values=values):
            return values[match.group(1)]

        path = PLACEHOLDER.sub(fill, template)
        if path not in [p for p, _ in expanded]:
            expanded.append((path, model))
    if not expanded:
        raise ValueError("no GPU reported a compute capability to expand the path with")
    return expanded


def gpu_models(ctx):
    """One GPU per distinct (name, compute capability), first by index."""
    try:
        found = gpu_list(ctx, wait=remaining(DEFAULT_BUDGETS["gpus"]))
    except ProbeTimeout:
        return []
    models: list = []
    for device in found.get("devices") or []:
        key = (device.get("name"), device.get("compute_capability"))
        if device.get("name") and key not in [(m.get("name"), m.get("compute_capability")) for m in models]:
            models.append(device)
    return models


def read_plan_header(handle):
    """The plan pre-check without TensorRT (docs/research/tensorrt-compat.md 1.8, rule 6).

    ``ftrt`` at bytes 0-3 (after an Ultralytics JSON prefix, if any); when the uint32 at
    offset 4 is 0 (plans from 8.6 on), bytes 24-27 are major, minor, patch, build.
    """
    head = handle.read(28)
    header: dict = {"magic": False, "tensorrt_version": None}
    offset = 0
    if len(head) >= 8 and head[:4] != b"ftrt":
        length = struct.unpack("<I", head[:4])[0]
        if 0 < length < 1024 * 1024:
            handle.seek(4)
            meta = handle.read(length)
            try:
                json.loads(meta.decode("utf-8"))
                offset = 4 + length
                header["wrapper"] = "ultralytics"
            except ValueError:
                offset = 0
        if offset:
            handle.seek(offset)
            head = handle.read(28)
    if head[:4] != b"ftrt":
        return header, offset
    header["magic"] = True
    if len(head) >= 28 and struct.unpack("<I", head[4:8])[0] == 0:
        header["tensorrt_version"] = "%d.%d.%d.%d" % struct.unpack("4B", head[24:28])
    return header, offset


# Messages TensorRT logs for plans it cannot load, by what they mean (docs/research/tensorrt-compat.md
# 1.7, E1-E14, matched without the source line numbers), plus what the 11.4 lean runtime
# logged on a real H200 (tests/fixtures/real/raw.txt). The first message that matches
# decides; within a message the classes are tried in this order, because 11.4 words a wrong
# magic tag as "incompatible serialization version" too.
LOAD_PATTERNS = (
    (
        "cuda-init-failure",
        (
            "CUDA initialization failure",
            "CUDA driver version is insufficient",
            "Insufficient driver",
            "could not create lean runtime",
            "no CUDA-capable device",
        ),
    ),
    (
        "corrupt",
        (
            "Magic tag does not match",
            "magicTag",
            "Platform specific tag mismatch",
            "expectedPlatformTag",
            "empty memory buffer",
            "bufferSize >= minBufferSize",
            "size == blobSize",
            "kPLAN_ALIGNMENT",
            "EngineCapability::kDLA_STANDALONE",
        ),
    ),
    (
        "version-mismatch",
        (
            "is not compatible with this version of TensorRT",
            "Version tag does not match",
            "plan major version does not match runtime major version",
            "Engine Version Forward Compatibility supported starting",
            "is version-locked",
            "incompatible serialization version",
            "old deserialization call on a newer plan",
            "or newer lean runtime",
        ),
    ),
    ("device-mismatch", ("generated on an incompatible device", "not compatible with this hardware-compatible engine")),
    ("missing-plugin", ("getPluginCreator could not find plugin", "not found in Plugin Registry")),
    ("no-runtime", ("Unexpected call to stub loadRunner", "getEngineHostCodeAllowed() is false")),
)


def classify(messages):
    """(status, message) for the first log message that says why a load failed, else (None, None)."""
    for message in messages:
        for status, needles in LOAD_PATTERNS:
            if any(n in message for n in needles):
                return status, message
    return None, None


def load_with_python(ctx, module, path, offset, gpu):
    """Start deserializing ``path`` (from byte ``offset``) with the Python module ``module`` in a child."""
    env = {}
    if gpu is not None and gpu.get("uuid"):
        env["CUDA_VISIBLE_DEVICES"] = gpu["uuid"]
    started = time.time()
    process = ctx.start_child("trt_plan", ["load", module, ctx.path(path), str(offset)], env=env)
    return process, started


def finish_python_load(ctx, process, started, timeout):
    load: dict = {"status": None, "message": None, "log": []}
    limit = remaining(timeout)
    try:
        out, err = process.communicate(timeout=limit)
        timed_out = False
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        timed_out = True
    load["seconds"] = round(time.time() - started, 3)
    result, messages = None, []
    for line in decode(out[:MAX_FILE_BYTES]).splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("kind") == "log":
            messages.append(str(event.get("message")))
        elif event.get("kind") == "runtime":
            load["runtime_version"] = clip(event.get("version"), 64) or None
        elif event.get("kind") == "result":
            result = event
    # TensorRT's default logger (and Python tracebacks) write to stderr
    messages += [line.strip() for line in decode(err[:MAX_FILE_BYTES]).splitlines() if line.strip()]
    load["log"] = [clip(m, 512) for m in messages[:MAX_LOG_LINES]]
    status, message = classify(messages)
    if timed_out:
        load.update(status="timeout", message="no answer within %.1fs" % limit)
    elif result is not None and result.get("status") == "import-failed":
        load.update(status="import-failed", message=clip(result.get("error"), 512))
    elif result is not None and result.get("status") == "ok":
        load.update(status="ok", message=clip(messages[0], 512) if messages else None)
        if isinstance(result.get("io_tensors"), int):
            load["io_tensors"] = result["io_tensors"]
    elif status is not None:
        load.update(status=status, message=clip(message, 512))
    elif result is None:
        load.update(
            status="crashed",
            message="loader %s%s"
            % (describe_exit(process.returncode), (": " + clip(messages[-1], 400)) if messages else ""),
        )
    elif result.get("status") == "runtime-failed":
        load.update(status="cuda-init-failure", message=clip(result.get("error"), 512))
    else:  # deserialize returned None and nothing we know was logged
        load.update(
            status="corrupt",
            message=clip(messages[0], 512)
            if messages
            else "TensorRT could not deserialize the plan and logged no reason",
        )
    return load


def load_with_trtexec(ctx, trtexec, path, gpu, timeout):
    """``trtexec --loadEngine=PATH --skipInference`` (docs/research/tensorrt-compat.md 1.11): exit 0 passes, 1 fails."""
    env = {}
    if gpu is not None and gpu.get("uuid"):
        env["CUDA_VISIBLE_DEVICES"] = gpu["uuid"]
    started = time.time()
    load: dict = {"status": None, "runtime": "trtexec", "message": None, "log": []}
    try:
        status, out, err = ctx.run([trtexec, "--loadEngine=" + ctx.path(path), "--skipInference"], timeout, env)
    except ProbeTimeout:
        load.update(
            status="timeout",
            message="trtexec gave no answer within %.1fs" % timeout,
            seconds=round(time.time() - started, 3),
        )
        return load
    except OSError as exc:
        load.update(status="no-runtime", message="trtexec could not start: %s" % clip(str(exc), 300))
        return load
    load["seconds"] = round(time.time() - started, 3)
    lines = [line.strip() for line in (out + "\n" + err).splitlines() if line.strip()]
    match = re.search(r"\[TensorRT v(\d+)\](?: \[b(\d+)\])?", out)
    if match:
        load["runtime_version"] = decode_trt_int(int(match.group(1))) + ("." + match.group(2) if match.group(2) else "")
    problems = [line for line in lines if "[E]" in line or "[W]" in line]
    load["log"] = [clip(m, 512) for m in problems[:MAX_LOG_LINES]]
    kind, message = classify(problems)
    if status == 0 and "&&&& PASSED" in out:
        load.update(status="ok", message=clip(problems[0], 512) if problems else None)
    elif kind is not None:
        load.update(status=kind, message=clip(message, 512))
    elif status < 0:
        load.update(status="crashed", message="trtexec %s" % describe_exit(status))
    else:
        load.update(
            status="corrupt",
            message=clip(problems[0] if problems else first_line(out + err), 512)
            or "trtexec failed (exit status %d) and logged no reason" % status,
        )
    return load


def sha256_of(handle, deadline):
    digest = sha256()
    handle.seek(0)
    while True:
        chunk = handle.read(4 * 1024 * 1024)
        if not chunk:
            return digest.hexdigest()
        digest.update(chunk)
        if time.time() > deadline:
            raise ProbeTimeout("sha256 not finished within the engines budget")


def check_engine(ctx, path, template, gpu, runtimes, load_timeout):
    """Facts about one engine file: exists, size, sha256, header, test-load."""
    item = {
        "path": path,
        "template": template,
        "exists": False,
        "size": None,
        "sha256": None,
        "header": {"magic": None, "tensorrt_version": None},
        "load": {"status": "not-found"},
        "error": None,
    }
    real = ctx.path(path)
    try:
        if not os.path.exists(real):
            return item
        item["exists"] = True
        if not os.path.isfile(real):
            item["error"], item["load"] = "not a regular file", {"status": "skipped"}
            return item
        item["size"] = os.path.getsize(real)
        handle = open(real, "rb")
    except OSError as exc:
        item["error"] = clip("cannot read: %s" % exc, 300)
        item["load"] = {"status": "skipped"}
        return item
    with handle:
        item["header"], offset = read_plan_header(handle)
        load = {"status": "skipped", "runtime": None, "message": None}
        process = None
        if not item["header"]["magic"]:
            load.update(
                status="corrupt",
                message="not a TensorRT plan: no 'ftrt' tag at the start" if item["size"] else "empty file",
            )
        elif not runtimes:
            load.update(
                status="no-runtime",
                message="no TensorRT runtime here (python tensorrt, tensorrt_lean, tensorrt_dispatch, trtexec)",
            )
        else:
            kind, name = runtimes[0]
            if kind == "python":
                process, started = load_with_python(ctx, name, path, offset, gpu)
                load["runtime"] = name
        try:  # hashes while the child loads
            item["sha256"] = sha256_of(handle, time.time() + remaining(load_timeout))
        except (OSError, ProbeTimeout) as exc:
            item["error"] = clip("sha256: %s" % exc, 300)
    if process is not None:
        load.update(finish_python_load(ctx, process, started, load_timeout))
        if load["status"] == "import-failed" and len(runtimes) > 1:  # next best runtime
            return check_engine(ctx, path, template, gpu, runtimes[1:], load_timeout)
        if load["status"] == "import-failed":
            load["status"] = "no-runtime"
    elif runtimes and item["header"]["magic"] and runtimes[0][0] == "trtexec":
        load.update(load_with_trtexec(ctx, runtimes[0][1], path, gpu, load_timeout))
    if gpu is not None and load.get("runtime"):
        load["gpu"] = gpu.get("index")
    item["load"] = load
    return item


def collect_engines(ctx):
    """Every engine path the controller asked for, expanded per GPU model and test-loaded.

    The runtime is the best one present: the ``tensorrt`` module, else ``tensorrt_lean``
    or ``tensorrt_dispatch``, else ``trtexec``. Loads run one after another (they share
    the GPU), each in a child with the ``engine_load`` budget; statuses: ok,
    version-mismatch, device-mismatch, corrupt, missing-plugin, cuda-init-failure,
    no-runtime, timeout, crashed, not-found, skipped.

    Version-compatible plans carry the lean runtime as host code, which TensorRT runs
    only when ``engine_host_code_allowed`` is set; the loader sets it, as a service
    loading the same engine must. The engines are the operator's own, named in the
    policy; the probe only deserializes them (like ``trtexec --skipInference``).
    """
    templates = ctx.request.get("engines") or []
    if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
        return {"items": [], "error": "request: engines must be a list of paths"}
    if not templates:
        return {"items": []}
    budgets = ctx.request.get("budgets")
    load_timeout = budgets.get("engine_load") if isinstance(budgets, dict) else None
    if isinstance(load_timeout, bool) or not isinstance(load_timeout, (int, float)) or not 0 < load_timeout <= 3600:
        load_timeout = DEFAULT_ENGINE_LOAD
    models = gpu_models(ctx) if any(PLACEHOLDER.search(t) for t in templates) else []
    work: list = []
    items: list = []
    for template in templates[:MAX_ENGINES]:
        try:
            for path, gpu in expand_template(template, models):
                if path not in [w[0] for w in work]:
                    work.append((path, template, gpu))
        except ValueError as exc:
            items.append(
                {
                    "path": template,
                    "template": template,
                    "exists": False,
                    "size": None,
                    "sha256": None,
                    "header": {"magic": None, "tensorrt_version": None},
                    "load": {"status": "skipped"},
                    "error": clip(str(exc), 300),
                }
            )
    if not work:
        return {"items": items}
    try:
        modules = trt_modules(ctx, wait=remaining(DEFAULT_BUDGETS["tensorrt"]))
    except ProbeTimeout:
        modules = []
    runtimes = [
        ("python", m["module"])
        for m in modules
        if not m["error"] and m["module"].replace("_bindings", "") in TRT_MODULES
    ]
    trtexec = trtexec_path(ctx)
    if trtexec:
        runtimes.append(("trtexec", trtexec))
    for path, template, gpu in work:
        if not path.startswith("/"):
            items.append(
                {
                    "path": path,
                    "template": template,
                    "exists": False,
                    "size": None,
                    "sha256": None,
                    "header": {"magic": None, "tensorrt_version": None},
                    "load": {"status": "skipped"},
                    "error": "engine paths must be absolute",
                }
            )
            continue
        items.append(check_engine(ctx, path, template, gpu, runtimes, load_timeout))
    result: dict = {"items": items}
    if len(templates) > MAX_ENGINES:
        result["truncated"] = True
    return result
