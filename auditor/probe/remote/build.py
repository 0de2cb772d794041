"""The reference-engine build mode: build the reference network with the host's TensorRT, run it once.

Runs the builder (``children/builder.py``) in a child, then the new plan once in another
(``children/trt_plan.py run``), and prints ``auditor.reference-build/1``.
"""

import base64
import json
import os
import struct
import subprocess
import sys
import time

from .child import child_code
from .common import DEFAULT_ENGINE_LOAD, MAX_LOG_LINES, PROBE_VERSION, ProbeTimeout, clip, describe_exit, sha256
from .context import ProbeContext, parse_args
from .driver import collect_driver
from .engines import read_plan_header
from .gpus import gpu_list
from .host import collect_host
from .reference import (
    cuda_api,
    cuda_libraries,
    loader_events,
    private_dir,
    remove_all_private,
    remove_private,
    write_private,
)
from .tensorrt import trt_modules

BUILD_SCHEMA = "auditor.reference-build/1"


DEFAULT_BUILD_TIMEOUT = 600.0


class BuildFailed(Exception):
    """The build could not produce a checked plan; the message says why."""


def build_main(argv, builder):
    """``python3 - --request=B64`` with ``AUDITOR_BUILDER`` set: build, run once, print the result.

    The request is ``{"build": {"name", "precision", "version_compatible",
    "hardware_compatible", "gpu", "timeout"}}``. Stdout carries one JSON object
    (``auditor.reference-build/1``) with the plan in base64, or ``status: failed`` and
    ``error``; the exit status is 0 either way.
    """
    result = {"schema": BUILD_SCHEMA, "probe_version": PROBE_VERSION, "status": "failed", "error": None}
    try:
        root, request = parse_args(argv)
        ctx = ProbeContext(root, request)
        spec = request.get("build")
        if not isinstance(spec, dict):
            raise BuildFailed("request: build must be an object")
        result.update(run_build(ctx, spec, builder))
        result["status"] = "ok"
    except BuildFailed as exc:
        result["error"] = clip(str(exc), 2048)
    except (ValueError, TypeError) as exc:
        result["error"] = "bad arguments: %s" % exc
    finally:
        remove_all_private()
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0


def build_gpu(ctx, wanted):
    """The GPU to build on: the requested index or uuid, else the first; raises BuildFailed."""
    found = gpu_list(ctx)
    devices = [d for d in found.get("devices") or [] if d.get("compute_capability")]
    for device in devices:
        if wanted is None or str(wanted) in (str(device.get("index")), device.get("uuid")):
            return device
    if wanted is not None:
        raise BuildFailed(
            "no GPU %s here (GPUs: %s)"
            % (wanted, ", ".join("%s %s" % (d.get("index"), d.get("uuid")) for d in devices) or "none")
        )
    raise BuildFailed("no GPU to build on: %s" % (found.get("error") or "none with a known compute capability"))


def run_build(ctx, spec, builder):
    """Build in a child with the host's ``tensorrt``, then load and run the plan in another, as an audit will."""
    gpu = build_gpu(ctx, spec.get("gpu"))
    modules = [m for m in trt_modules(ctx) if m["module"] == "tensorrt"]
    if not modules or modules[0]["error"]:
        raise BuildFailed(
            "no TensorRT builder here: the tensorrt Python module does not import (%s); the lean "
            "and dispatch runtimes cannot build" % (modules[0]["error"] if modules else "not installed")
        )
    env = {"CUDA_VISIBLE_DEVICES": gpu["uuid"]} if gpu.get("uuid") else {}
    directory = private_dir()
    try:
        plan_path = os.path.join(directory, "reference.plan")
        events, messages, build_s = build_plan(ctx, spec, builder, gpu, env, directory, plan_path)
        with open(plan_path, "rb") as handle:
            plan = handle.read()
            handle.seek(0)
            header, _ = read_plan_header(handle)
        reference = events.get("reference") or {}
        result, run_messages = first_run(ctx, spec, env, directory, plan_path, reference)
        outputs = result.get("outputs") or {}
        return {
            "plan": base64.b64encode(plan).decode("ascii"),
            "plan_sha256": sha256(plan).hexdigest(),
            "header": header,
            "tensorrt": {"module": "tensorrt", "version": (events.get("runtime") or {}).get("version")},
            "gpu": dict((k, gpu.get(k)) for k in ("index", "name", "uuid", "compute_capability")),
            "device": result.get("device"),
            "host": {"hostname": collect_host(ctx).get("hostname"), "driver": collect_driver(ctx).get("version")},
            "build": dict([(k, v) for k, v in events["built"].items() if k != "kind"], seconds=round(build_s, 3)),
            "network": reference.get("network"),
            "inputs": reference.get("inputs") or [],
            "outputs": [dict(t, data=outputs.get(t["name"])) for t in reference.get("outputs") or []],
            "reference_check": sanity_check(reference, outputs),
            "load_s": result.get("load_s"),
            "run_s": result.get("run_s"),
            "cuda_api": result.get("cuda_api"),
            "log": [clip(m, 512) for m in (messages + run_messages)[:MAX_LOG_LINES]],
        }
    finally:
        remove_private(directory)


def build_plan(ctx, spec, builder, gpu, env, directory, plan_path):
    """Run the builder child; returns (its events, its log, seconds); raises BuildFailed."""
    timeout = spec.get("timeout")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600:
        timeout = DEFAULT_BUILD_TIMEOUT
    job = dict(spec, plan=plan_path, compute_capability=gpu["compute_capability"])
    job_path = write_private(directory, "build.json", json.dumps(job).encode("utf-8"))
    started = time.time()
    try:
        status, out, err = ctx.run_python(child_code("builder", builder), [job_path], timeout=timeout, env=env)
    except ProbeTimeout:
        raise BuildFailed("the build did not finish within %.0fs" % timeout) from None
    events, messages = loader_events(out.encode("utf-8"), err.encode("utf-8"))
    if events.get("built") is None or not os.path.exists(plan_path):
        failure = (events.get("result") or {}).get("error") or "the builder %s" % describe_exit(status, err)
        raise BuildFailed(failure + ("; TensorRT said: " + " | ".join(messages[-4:]) if messages else ""))
    return events, messages, time.time() - started


def first_run(ctx, spec, env, directory, plan_path, reference):
    """Load and run the new plan once with the ``trt_plan`` child; returns (result event, log); raises BuildFailed."""
    limit = DEFAULT_ENGINE_LOAD * 4
    run_spec = {
        "module": "tensorrt",
        "plan": plan_path,
        "inputs": reference.get("inputs") or [],
        "outputs": reference.get("outputs") or [],
        "cuda": dict(cuda_libraries(ctx), api=cuda_api(spec)),
    }
    spec_path = write_private(directory, "run.json", json.dumps(run_spec).encode("utf-8"))
    full_env = dict(os.environ)
    full_env.update(ctx.python_env())
    full_env.update(env)
    process = subprocess.Popen(
        ctx.python_argv(child_code("trt_plan"), ["run", spec_path]),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        close_fds=True,
    )
    try:
        out, err = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise BuildFailed("the first run of the new plan did not finish within %.0fs" % limit) from None
    events, messages = loader_events(out, err)
    result = events.get("result") or {}
    if result.get("status") != "ok":
        raise BuildFailed(
            "the new plan did not run: %s%s"
            % (
                result.get("error") or result.get("status") or describe_exit(process.returncode),
                "; TensorRT said: " + " | ".join(messages[-4:]) if messages else "",
            )
        )
    return result, messages


def sanity_check(reference, outputs):
    """TensorRT's first output against the network computed in Python (float64) by the builder.

    A difference beyond the builder's tolerance means the plan does not compute the
    network as defined (weights laid out wrongly, a broken build): BuildFailed.
    """
    atol, rtol = reference.get("atol", 0.0), reference.get("rtol", 0.0)
    worst = 0.0
    for tensor in reference.get("outputs") or []:
        data = base64.b64decode(outputs.get(tensor["name"]) or "")
        want = reference.get("expected", {}).get(tensor["name"]) or []
        got = struct.unpack("<%df" % (len(data) // 4), data[: len(data) // 4 * 4])
        if len(got) != len(want):
            raise BuildFailed(
                "the new plan's output %s has %d values, the network %d" % (tensor["name"], len(got), len(want))
            )
        for index, (value, expected) in enumerate(zip(got, want)):
            error = abs(value - expected) if value == value else float("inf")
            worst = max(worst, error)
            if error > atol + rtol * abs(expected):
                raise BuildFailed(
                    "TensorRT computed %s[%d] = %r where the network defined in Python gives %r "
                    "(tolerance %g + %g x |value|): the plan does not compute the reference network"
                    % (tensor["name"], index, value, expected, atol, rtol)
                )
    return {"max_abs_error": worst, "atol": atol, "rtol": rtol}
