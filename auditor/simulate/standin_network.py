"""Stand-in TensorRT network definitions for simulated hosts: record, serialize, execute.

Copied beside the stand-in ``tensorrt`` module (``tensorrt/standin_network.py``) and used
by its ``Builder`` and its execution contexts. A network records the layers the
reference builder uses (input, cast, convolution, activation, shuffle, constant,
matrix multiply, elementwise sum) with the argument names and types of TensorRT's
Python bindings; building checks what TensorRT would refuse (weights of another type
than their input in a strongly typed network, an implicit-batch network) and
serializes the layers as JSON after a plan header; executing the plan runs them in
pure Python, rounding every intermediate tensor to its type (float32, or float16 for
half tensors) as the GPU would store it. Nothing here knows the reference network:
what runs is what the builder defined. Python 3.6.
"""

import base64
import ctypes
import math
import struct

ITEMSIZE = {"FLOAT": 4, "HALF": 2}
CODE = {"FLOAT": "f", "HALF": "e"}


class BuildError(Exception):
    """What TensorRT would log as an error and refuse to build."""


def pack(values, dtype):
    return struct.pack(f"<{len(values)}{CODE[dtype]}", *values)


def unpack(data, dtype):
    return list(struct.unpack(f"<{len(data) // ITEMSIZE[dtype]}{CODE[dtype]}", data))


def rounded(values, dtype):
    return unpack(pack(values, dtype), dtype)


class ITensor:
    """A network tensor: ``name`` (settable), ``shape``, ``dtype``."""

    def __init__(self, network, shape, dtype, name):
        self.network, self.shape, self.dtype_name, self.name = network, tuple(shape), dtype, name
        self.index = len(network.tensors)
        network.tensors.append(self)

    @property
    def dtype(self):
        return self.network.trt.DataType.named(self.dtype_name)


class ILayer:
    def __init__(self, network, op, inputs, output_shape, output_dtype, **attributes):
        self.op, self.inputs, self.attributes = op, inputs, attributes
        name = f"(Unnamed Layer* {len(network.layers)}) [{op}]_output"
        self.output = ITensor(network, output_shape, output_dtype, name)
        network.layers.append(self)

    def get_output(self, index):
        if index != 0:
            raise IndexError("layer has one output")
        return self.output


class IConvolutionLayer(ILayer):
    """``stride_nd`` and ``padding_nd`` are settable, as in TensorRT; the output shape follows them."""

    def __init__(self, network, tensor, maps, kernel_shape, kernel, bias):
        ILayer.__init__(
            self,
            network,
            "convolution",
            [tensor],
            tensor.shape,
            tensor.dtype_name,
            maps=maps,
            kernel_shape=tuple(kernel_shape),
            kernel=kernel,
            bias=bias,
        )
        self._stride, self._padding = (1, 1), (0, 0)
        self._reshape()

    def _reshape(self):
        n, _, h, w = self.inputs[0].shape
        kh, kw = self.attributes["kernel_shape"]
        out_h = (h + 2 * self._padding[0] - kh) // self._stride[0] + 1
        out_w = (w + 2 * self._padding[1] - kw) // self._stride[1] + 1
        self.output.shape = (n, self.attributes["maps"], out_h, out_w)

    @property
    def stride_nd(self):
        return self._stride

    @stride_nd.setter
    def stride_nd(self, value):
        self._stride = tuple(value)
        self._reshape()

    @property
    def padding_nd(self):
        return self._padding

    @padding_nd.setter
    def padding_nd(self, value):
        self._padding = tuple(value)
        self._reshape()


class IShuffleLayer(ILayer):
    @property
    def reshape_dims(self):
        return self.output.shape

    @reshape_dims.setter
    def reshape_dims(self, value):
        value = tuple(value)
        if _count(value) != _count(self.inputs[0].shape):
            raise ValueError(f"reshape_dims {value} does not hold {self.inputs[0].shape}")
        self.output.shape = value


def _count(shape):
    total = 1
    for dim in shape:
        total *= dim
    return total


class INetworkDefinition:
    """What ``builder.create_network(flags)`` returns: layers recorded for building."""

    def __init__(self, trt, flags, typing):
        self.trt, self.flags, self.typing = trt, flags, typing
        self.tensors, self.layers, self.inputs, self.outputs = [], [], [], []

    def _tensor(self, value, what):
        if not isinstance(value, ITensor) or value.network is not self:
            raise TypeError(f"{what}: incompatible function arguments (expected an ITensor of this network)")
        return value

    def add_input(self, name, dtype, shape):
        tensor = ITensor(self, shape, dtype.name, name)
        self.inputs.append(tensor)
        return tensor

    def add_cast(self, input, to_type):
        return ILayer(self, "cast", [self._tensor(input, "add_cast")], input.shape, to_type.name)

    def add_convolution_nd(self, input, num_output_maps, kernel_shape, kernel, bias=None):
        tensor = self._tensor(input, "add_convolution_nd")
        if not isinstance(kernel, self.trt.Weights):
            raise TypeError("add_convolution_nd: kernel must be trt.Weights")
        return IConvolutionLayer(self, tensor, int(num_output_maps), kernel_shape, kernel, bias)

    def add_activation(self, input, type):
        tensor = self._tensor(input, "add_activation")
        return ILayer(self, "activation", [tensor], tensor.shape, tensor.dtype_name, kind=type.name)

    def add_shuffle(self, input):
        tensor = self._tensor(input, "add_shuffle")
        return IShuffleLayer(self, "shuffle", [tensor], tensor.shape, tensor.dtype_name)

    def add_constant(self, shape, weights):
        if not isinstance(weights, self.trt.Weights):
            raise TypeError("add_constant: weights must be trt.Weights")
        if _count(shape) != weights.size:
            raise ValueError(f"add_constant: {weights.size} weights for shape {tuple(shape)}")
        return ILayer(self, "constant", [], shape, weights.dtype_name, weights=weights)

    def add_matrix_multiply(self, input0, op0, input1, op1):
        a, b = self._tensor(input0, "add_matrix_multiply"), self._tensor(input1, "add_matrix_multiply")
        if (
            op0.name != "NONE"
            or op1.name != "NONE"
            or len(a.shape) != 2
            or len(b.shape) != 2
            or a.shape[1] != b.shape[0]
        ):
            raise ValueError("add_matrix_multiply: the stand-in multiplies plain 2-D matrices only")
        return ILayer(self, "matmul", [a, b], (a.shape[0], b.shape[1]), a.dtype_name)

    def add_elementwise(self, input1, input2, op):
        a, b = self._tensor(input1, "add_elementwise"), self._tensor(input2, "add_elementwise")
        if op.name != "SUM" or a.shape != b.shape:
            raise ValueError("add_elementwise: the stand-in sums tensors of one shape only")
        return ILayer(self, "sum", [a, b], a.shape, a.dtype_name)

    def mark_output(self, tensor):
        self.outputs.append(self._tensor(tensor, "mark_output"))

    # -- building --------------------------------------------------------------------------------
    def check(self, fp16_flag):
        """What TensorRT refuses to build; BuildError with its kind of message."""
        if self.typing == "weak" and not self.flags & 1:
            raise BuildError(
                "Network must have at least one output and be created with explicit batch "
                "(NetworkDefinitionCreationFlag.EXPLICIT_BATCH) in the stand-in"
            )
        if not self.outputs:
            raise BuildError("Network must have at least one output")
        for layer in self.layers:
            if self.typing == "weak":
                continue
            if layer.op == "convolution":
                dtype = layer.inputs[0].dtype_name
                for key in ("kernel", "bias"):
                    weights = layer.attributes.get(key)
                    if weights is not None and weights.dtype_name != dtype:
                        raise BuildError(
                            f"IBuilder::buildSerializedNetwork: Error Code 4: API Usage Error ({layer.output.name}: "
                            f"{key} weights of type {weights.dtype_name} do not match input type {dtype} in a "
                            "strongly typed network)"
                        )
            if layer.op in ("matmul", "sum") and layer.inputs[0].dtype_name != layer.inputs[1].dtype_name:
                raise BuildError(
                    f"IBuilder::buildSerializedNetwork: Error Code 4: API Usage Error ({layer.op}: operands of "
                    f"types {layer.inputs[0].dtype_name} and {layer.inputs[1].dtype_name} in a strongly typed network)"
                )

    def serialize(self, fp16_flag):
        """The layers as JSON-able ops; in a weak network with the FP16 flag, math runs in half."""
        compute_half = self.typing == "weak" and fp16_flag
        ops = []
        for layer in self.layers:
            op = {
                "op": layer.op,
                "inputs": [t.index for t in layer.inputs],
                "output": layer.output.index,
                "shape": list(layer.output.shape),
                "dtype": "HALF" if compute_half else layer.output.dtype_name,
            }
            for key, value in layer.attributes.items():
                if isinstance(value, self.trt.Weights):
                    op[key] = {"dtype": value.dtype_name, "data": base64.b64encode(value.data).decode("ascii")}
                elif value is not None:
                    op[key] = list(value) if isinstance(value, tuple) else value
            if layer.op == "convolution":
                op["stride"], op["padding"] = list(layer.stride_nd), list(layer.padding_nd)
            ops.append(op)
        return {"ops": ops, "inputs": _described(self.inputs), "outputs": _described(self.outputs)}


def _described(tensors):
    return [{"name": t.name, "index": t.index, "shape": list(t.shape), "dtype": t.dtype_name} for t in tensors]


# -- execution --------------------------------------------------------------------------------------


def _weights(blob):
    return unpack(base64.b64decode(blob["data"]), blob["dtype"])


def _convolution(x, shape, op):
    _, channels, h, w = shape
    maps, (kh, kw) = op["maps"], op["kernel_shape"]
    (sy, sx), (py, px) = op["stride"], op["padding"]
    kernel, bias = _weights(op["kernel"]), _weights(op["bias"]) if op.get("bias") else [0.0] * maps
    _, _, out_h, out_w = op["shape"]
    out = []
    for m in range(maps):
        for oy in range(out_h):
            for ox in range(out_w):
                total = bias[m]
                for c in range(channels):
                    for ky in range(kh):
                        y = oy * sy + ky - py
                        if 0 <= y < h:
                            for kx in range(kw):
                                xx = ox * sx + kx - px
                                if 0 <= xx < w:
                                    total += kernel[((m * channels + c) * kh + ky) * kw + kx] * x[(c * h + y) * w + xx]
                out.append(total)
    return out


ACTIVATIONS = {"RELU": lambda v: max(0.0, v), "TANH": math.tanh, "SIGMOID": lambda v: 1.0 / (1.0 + math.exp(-v))}


def execute(plan, inputs, fault=None):
    """Run a serialized network on ``inputs`` ({name: bytes}); returns {output name: bytes}.

    ``fault`` ``wrong-output`` adds 0.5 to the first output value: a GPU computing a wrong answer.
    """
    values, shapes = {}, {}
    for tensor in plan["inputs"]:
        values[tensor["index"]] = unpack(inputs[tensor["name"]], tensor["dtype"])
        shapes[tensor["index"]] = tensor["shape"]
    for op in plan["ops"]:
        args = [values[i] for i in op["inputs"]]
        kind = op["op"]
        if kind == "cast":
            out = list(args[0])
        elif kind == "convolution":
            out = _convolution(args[0], shapes[op["inputs"][0]], op)
        elif kind == "activation":
            out = [ACTIVATIONS[op["kind"]](v) for v in args[0]]
        elif kind == "shuffle":
            out = list(args[0])
        elif kind == "constant":
            out = _weights(op["weights"])
        elif kind == "matmul":
            rows, inner = shapes[op["inputs"][0]]
            cols = shapes[op["inputs"][1]][1]
            out = [
                sum(args[0][r * inner + i] * args[1][i * cols + c] for i in range(inner))
                for r in range(rows)
                for c in range(cols)
            ]
        elif kind == "sum":
            out = [a + b for a, b in zip(args[0], args[1])]
        else:
            raise ValueError(f"unknown stand-in op {kind!r}")
        values[op["output"]] = rounded(out, op["dtype"])
        shapes[op["output"]] = op["shape"]
    outputs = {}
    for tensor in plan["outputs"]:
        result = rounded(values[tensor["index"]], tensor["dtype"])
        if fault == "wrong-output" and result:
            result[0] += 0.5
        outputs[tensor["name"]] = pack(result, tensor["dtype"])
    return outputs


def read_memory(pointer, size):
    return ctypes.string_at(pointer, size)


def write_memory(pointer, data):
    ctypes.memmove(pointer, data, len(data))
