#!/usr/bin/env python3
"""auditor reference-engine builder: the reference network, built with this host's TensorRT.

Shipped inside the probe program (``AUDITOR_BUILDER``) and run by the probe's build
mode as a child: ``python3 -c <this file> JOB.json``. Standard library only (plus the
host's ``tensorrt``; TensorRT 8.6 takes weights only as numpy arrays, so there numpy
too), Python 3.6 syntax.

The job (JSON): ``plan`` (where to write it), ``precision`` (fp32 | fp16),
``version_compatible`` (bool), ``hardware_compatible`` (none | ampere+ | same-cc),
``compute_capability`` (of the GPU it builds on). Events go to stdout, one JSON object
a line: ``runtime``, ``log``, ``built`` (what the builder did), ``reference`` (the
recorded input, the tensors, and the output computed here in Python, float64), and a
final ``result`` (``ok`` or ``failed`` with ``error``).

The network (``auditor-reference/1``), NCHW, batch 1::

    input   float32 [1, 3, 8, 8]
    conv1   3x3, 8 maps, stride 1, padding 1, bias   -> [1, 8, 8, 8]   then ReLU
    conv2   3x3, 8 maps, stride 2, padding 1, bias   -> [1, 8, 4, 4]   then tanh
    shuffle reshape to [1, 128]
    fc      matrix multiply by a [128, 10] constant, plus a [1, 10] constant bias
    output  float32 [1, 10]

The fully connected layer is a matrix multiply and an elementwise sum, since
``add_fully_connected`` is gone from TensorRT 10 on. Weights and input come from
SplitMix64 with a fixed seed, rounded to float32 (to float16 for fp16 builds). How
the API differs (docs/research/tensorrt-compat.md 1.12 and the Python bindings on each release
branch): 8.x networks are weakly typed (fp16 is a builder flag, EXPLICIT_BATCH is
needed) and ``trt.Weights`` takes only numpy arrays; 10.x has strongly typed networks
and ``trt.Weights(type, pointer, count)``; 11.x is strongly typed only (no FP16 builder
flag, and the STRONGLY_TYPED creation flag is ignored). Strongly typed fp16 casts the
input to half, keeps weights in half, and casts the output back to float.
"""

import base64
import ctypes
import json
import math
import struct
import sys
import time

NETWORK = "auditor-reference/1"
SEED = 20261121
INPUT_SHAPE = (1, 3, 8, 8)
CONV1 = (8, 3, 3, 3)  # output maps, input channels, kernel rows, kernel columns: TensorRT's KCRS layout
CONV2 = (8, 8, 3, 3)
HIDDEN = 8 * 4 * 4
OUTPUTS = 10
# How far TensorRT's first run may be from the float64 computation here: a plan that
# computes the network as defined lands well inside; a wrong weight layout lands far outside.
SANITY = {"fp32": (1e-3, 1e-3), "fp16": (5e-2, 5e-2)}
MASK = (1 << 64) - 1


def emit(kind, **fields):
    fields["kind"] = kind
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class BuildError(Exception):
    pass


class SplitMix64:
    """Sebastiano Vigna's SplitMix64: the same numbers in every Python, no numpy needed."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self, bound):
        """A float in [-bound, bound) from the top 53 bits."""
        return ((self.next() >> 11) * (2.0**-53) * 2.0 - 1.0) * bound


def rounded(values, code):
    """``values`` rounded through a C type: "f" float32, "e" float16."""
    return list(struct.unpack("<%d%s" % (len(values), code), struct.pack("<%d%s" % (len(values), code), *values)))


def parameters(seed):
    """Input and weights, float32, drawn in a fixed order."""
    rng = SplitMix64(seed)

    def draw(count, bound):
        return rounded([rng.uniform(bound) for _ in range(count)], "f")

    return {
        "input": draw(3 * 8 * 8, 1.0),
        "conv1_w": draw(8 * 3 * 3 * 3, 1.0 / math.sqrt(27)),
        "conv1_b": draw(8, 0.1),
        "conv2_w": draw(8 * 8 * 3 * 3, 1.0 / math.sqrt(72)),
        "conv2_b": draw(8, 0.1),
        "fc_w": draw(HIDDEN * OUTPUTS, 1.0 / math.sqrt(HIDDEN)),
        "fc_b": draw(OUTPUTS, 0.1),
    }


def convolution(x, channels, size, weights, bias, maps, stride):
    """3x3 cross-correlation (TensorRT's convolution) with padding 1, NCHW, float64."""
    out_size = (size + 2 - 3) // stride + 1
    out = []
    for m in range(maps):
        for oy in range(out_size):
            for ox in range(out_size):
                total = bias[m]
                for c in range(channels):
                    for ky in range(3):
                        y = oy * stride + ky - 1
                        if y < 0 or y >= size:
                            continue
                        for kx in range(3):
                            xx = ox * stride + kx - 1
                            if 0 <= xx < size:
                                total += weights[((m * channels + c) * 3 + ky) * 3 + kx] * x[(c * size + y) * size + xx]
                out.append(total)
    return out, out_size


def network_output(p):
    """The network computed here in float64 from the (rounded) parameters."""
    hidden, size = convolution(p["input"], 3, 8, p["conv1_w"], p["conv1_b"], 8, 1)
    hidden = [max(0.0, v) for v in hidden]
    hidden, size = convolution(hidden, 8, size, p["conv2_w"], p["conv2_b"], 8, 2)
    hidden = [math.tanh(v) for v in hidden]
    return [p["fc_b"][j] + sum(hidden[i] * p["fc_w"][i * OUTPUTS + j] for i in range(HIDDEN)) for j in range(OUTPUTS)]


def typing_of(trt):
    """ "weak" (8.x), "strong" (10.x, opted in) or "always-strong" (11.x), by what the module offers."""
    if not hasattr(trt.BuilderFlag, "FP16"):
        return "always-strong"
    if hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        return "strong"
    return "weak"


class WeightMaker:
    """``trt.Weights`` from Python floats, kept alive until the build is done."""

    def __init__(self, trt):
        self.trt, self.keep, self.numpy = trt, [], None
        try:  # 10.0 and later: (type, pointer, count)
            trt.Weights(trt.DataType.FLOAT, 0, 0)
            self.pointers = True
        except TypeError:
            self.pointers = False

    def __call__(self, values, half):
        trt = self.trt
        if self.pointers:
            data = struct.pack("<%d%s" % (len(values), "e" if half else "f"), *values)
            buffer = ctypes.create_string_buffer(data, len(data))
            self.keep.append(buffer)
            return trt.Weights(trt.DataType.HALF if half else trt.DataType.FLOAT, ctypes.addressof(buffer), len(values))
        if self.numpy is None:
            try:
                import numpy
            except ImportError:
                raise BuildError(
                    "TensorRT %s takes weights only as numpy arrays: install numpy on this host to "
                    "build here" % getattr(trt, "__version__", "?")
                ) from None
            self.numpy = numpy
        array = self.numpy.array(values, dtype=self.numpy.float16 if half else self.numpy.float32)
        self.keep.append(array)
        return trt.Weights(array)


def build(trt, job, p, logger):
    """Define the network with ``trt``'s API and serialize it; returns (plan bytes, notes)."""
    fp16 = job.get("precision") == "fp16"
    typing = typing_of(trt)
    half = fp16 and typing != "weak"
    flags = 0
    if typing == "weak":
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    elif typing == "strong":
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    builder = trt.Builder(logger)
    network = builder.create_network(flags)
    config = builder.create_builder_config()
    weights = WeightMaker(trt)
    values = dict(p)
    if half:  # what the network will see: half-precision weights
        for key in ("conv1_w", "conv1_b", "conv2_w", "conv2_b", "fc_w", "fc_b"):
            values[key] = rounded(values[key], "e")
    tensor = network.add_input("input", trt.DataType.FLOAT, INPUT_SHAPE)
    if half:
        tensor = network.add_cast(tensor, trt.DataType.HALF).get_output(0)
    conv = network.add_convolution_nd(
        tensor, CONV1[0], (3, 3), weights(values["conv1_w"], half), weights(values["conv1_b"], half)
    )
    conv.stride_nd, conv.padding_nd = (1, 1), (1, 1)
    tensor = network.add_activation(conv.get_output(0), trt.ActivationType.RELU).get_output(0)
    conv = network.add_convolution_nd(
        tensor, CONV2[0], (3, 3), weights(values["conv2_w"], half), weights(values["conv2_b"], half)
    )
    conv.stride_nd, conv.padding_nd = (2, 2), (1, 1)
    tensor = network.add_activation(conv.get_output(0), trt.ActivationType.TANH).get_output(0)
    shuffle = network.add_shuffle(tensor)
    shuffle.reshape_dims = (1, HIDDEN)
    matrix = network.add_constant((HIDDEN, OUTPUTS), weights(values["fc_w"], half)).get_output(0)
    tensor = network.add_matrix_multiply(
        shuffle.get_output(0), trt.MatrixOperation.NONE, matrix, trt.MatrixOperation.NONE
    ).get_output(0)
    bias = network.add_constant((1, OUTPUTS), weights(values["fc_b"], half)).get_output(0)
    tensor = network.add_elementwise(tensor, bias, trt.ElementWiseOperation.SUM).get_output(0)
    if half:
        tensor = network.add_cast(tensor, trt.DataType.FLOAT).get_output(0)
    tensor.name = "output"
    network.mark_output(tensor)
    notes = {"typing": typing, "weights": "pointer" if weights.pointers else "numpy"}
    if fp16 and typing == "weak":
        config.set_flag(trt.BuilderFlag.FP16)
    if hasattr(trt.BuilderFlag, "TF32"):  # exact float32 arithmetic keeps the fp32 tolerance tight
        config.clear_flag(trt.BuilderFlag.TF32)
        notes["tf32"] = "off"
    if job.get("version_compatible"):
        config.set_flag(trt.BuilderFlag.VERSION_COMPATIBLE)
    level = {"ampere+": "AMPERE_PLUS", "same-cc": "SAME_COMPUTE_CAPABILITY"}.get(job.get("hardware_compatible"))
    if level is not None:
        found = (
            getattr(trt.HardwareCompatibilityLevel, level, None) if hasattr(trt, "HardwareCompatibilityLevel") else None
        )
        if found is None:
            raise BuildError(
                "TensorRT %s has no %s hardware compatibility level (ampere+ needs 8.6, same-cc 10.9)"
                % (getattr(trt, "__version__", "?"), level)
            )
        config.hardware_compatibility_level = found
    started = time.time()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise BuildError("build_serialized_network returned None")
    notes["build_s"] = round(time.time() - started, 3)
    return bytes(memoryview(plan)), notes


def main(job_path):
    with open(job_path) as handle:
        job = json.load(handle)
    if job.get("hardware_compatible") == "ampere+" and tuple(
        int(x) for x in str(job.get("compute_capability", "0.0")).split(".")
    ) < (8, 0):
        emit("result", status="failed", error="ampere+ plans must be built on a GPU of compute capability 8.0 or newer")
        return
    try:
        import tensorrt as trt
    except BaseException as exc:
        emit("result", status="failed", error="import tensorrt: %s: %s" % (type(exc).__name__, str(exc)[:300]))
        return
    emit("runtime", version=str(getattr(trt, "__version__", "") or ""))

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)

        def log(self, severity, msg):
            level = str(severity).split(".")[-1]
            if level in ("INTERNAL_ERROR", "ERROR", "WARNING"):
                emit("log", severity=level, message=str(msg)[:2000])

    p = parameters(SEED)
    try:
        plan, notes = build(trt, job, p, Logger())
    except BuildError as exc:
        emit("result", status="failed", error=str(exc))
        return
    except Exception as exc:  # an API this TensorRT does not have: say which
        emit("result", status="failed", error="%s: %s" % (type(exc).__name__, str(exc)[:600]))
        return
    with open(job["plan"], "wb") as out:
        out.write(plan)
    fp16 = job.get("precision") == "fp16"
    seen = dict(p)
    for key in p:  # what the network computes with: fp16 rounds the input and every weight
        if fp16:
            seen[key] = rounded(p[key], "e")
    atol, rtol = SANITY["fp16" if fp16 else "fp32"]
    emit(
        "built",
        size=len(plan),
        precision="fp16" if fp16 else "fp32",
        version_compatible=bool(job.get("version_compatible")),
        hardware_compatible=job.get("hardware_compatible") or "none",
        **notes,
    )
    emit(
        "reference",
        network={
            "id": NETWORK,
            "seed": SEED,
            "prng": "splitmix64",
            "layers": ["conv3x3/8+relu", "conv3x3s2/8+tanh", "reshape/128", "matmul/10+bias"],
        },
        inputs=[
            {
                "name": "input",
                "shape": list(INPUT_SHAPE),
                "dtype": "FLOAT",
                "data": base64.b64encode(struct.pack("<%df" % len(p["input"]), *p["input"])).decode("ascii"),
            }
        ],
        outputs=[{"name": "output", "shape": [1, OUTPUTS], "dtype": "FLOAT"}],
        expected={"output": network_output(seen)},
        atol=atol,
        rtol=rtol,
    )
    emit("result", status="ok")


if __name__ == "__main__":
    main(sys.argv[1])
