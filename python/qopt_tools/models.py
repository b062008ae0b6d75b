"""Small generated ONNX models with fixed random weights, used by tests and
benchmarks: an MLP, a transformer block (multi-head attention, LayerNorm,
GELU, softmax), a small CNN, a feed-forward block with LLM-like activation
outlier channels, and a single linear layer. All take a dynamic batch
dimension; the transformer and the outlier block also a dynamic sequence
length.

    python3 -m qopt_tools.models OUT_DIR      # writes every model as NAME.onnx
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class _Graph:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return "%s_%d" % (prefix, self.count)

    def weight(self, shape, scale=None, name="w"):
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[0])
        data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return self.const(data, name)

    def const(self, array, name="c"):
        n = self.name(name)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs,
                                           name=self.name(op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def model(self, inputs, outputs):
        graph = helper.make_graph(self.nodes, "g", inputs, outputs, self.inits)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def mlp(seed=1):
    g = _Graph(seed)
    x = "x"
    h = g.op("Gemm", [x, g.weight((128, 64), 0.125), g.weight((128,), 0.1)],
             transB=1)
    h = g.op("Relu", [h])
    h = g.op("Gemm", [h, g.weight((128, 64)), g.weight((64,), 0.1)])
    h = g.op("Tanh", [h])
    h = g.op("MatMul", [h, g.weight((64, 10))])
    h = g.op("Add", [h, g.weight((10,), 0.1)])
    y = g.op("Softmax", [h], axis=-1)
    g.nodes[-1].output[0] = "probs"
    return g.model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT,
                                       ["batch", 10])])


def _gelu(g, x):
    # 0.5 * x * (1 + erf(x / sqrt(2)))
    t = g.op("Div", [x, g.const(np.float32(np.sqrt(2.0)))])
    t = g.op("Erf", [t])
    t = g.op("Add", [t, g.const(np.float32(1.0))])
    t = g.op("Mul", [x, t])
    return g.op("Mul", [t, g.const(np.float32(0.5))])


def transformer(seed=2, d=64, heads=4, ff=256):
    g = _Graph(seed)
    x = "x"
    hd = d // heads
    ln1 = g.op("LayerNormalization",
               [x, g.const(np.ones(d, np.float32) + 0.1 * g.rng.standard_normal(d).astype(np.float32)),
                g.const(0.1 * g.rng.standard_normal(d).astype(np.float32))],
               axis=-1, epsilon=1e-5)
    # Head shapes from the input's own shape, as PyTorch exports them.
    shape = g.op("Shape", [x])
    batch = g.op("Gather", [shape, g.const(np.array([0], np.int64))], axis=0)
    seq = g.op("Gather", [shape, g.const(np.array([1], np.int64))], axis=0)
    split_shape = g.op("Concat", [batch, seq, g.const(np.array([heads, hd], np.int64))],
                       axis=0)

    def project(name):
        p = g.op("MatMul", [ln1, g.weight((d, d))])
        p = g.op("Add", [p, g.weight((d,), 0.02)])
        p = g.op("Reshape", [p, split_shape])
        return g.op("Transpose", [p], perm=[0, 2, 1, 3])  # [b, h, s, hd]

    q, k, v = project("q"), project("k"), project("v")
    kt = g.op("Transpose", [k], perm=[0, 1, 3, 2])
    scores = g.op("MatMul", [q, kt])
    scores = g.op("Mul", [scores, g.const(np.float32(1.0 / np.sqrt(hd)))])
    # Causal mask: positions j > i get -1e9.
    seq_scalar = g.op("Squeeze", [seq, g.const(np.array([0], np.int64))])
    positions = g.op("Range", [g.const(np.int64(0)), seq_scalar,
                               g.const(np.int64(1))])
    rows = g.op("Unsqueeze", [positions, g.const(np.array([1], np.int64))])
    future = g.op("Greater", [positions, rows])  # [s, s]: j > i
    scores = g.op("Where", [future, g.const(np.float32(-1e9)), scores])
    probs = g.op("Softmax", [scores], axis=-1)
    attn = g.op("MatMul", [probs, v])  # [b, h, s, hd]
    attn = g.op("Transpose", [attn], perm=[0, 2, 1, 3])
    attn = g.op("Reshape", [attn, g.const(np.array([0, 0, d], np.int64))])
    out = g.op("MatMul", [attn, g.weight((d, d))])
    out = g.op("Add", [out, g.weight((d,), 0.02)])
    h = g.op("Add", [x, out])
    ln2 = g.op("LayerNormalization",
               [h, g.const(np.ones(d, np.float32)), g.const(np.zeros(d, np.float32))],
               axis=-1, epsilon=1e-5)
    f = g.op("MatMul", [ln2, g.weight((d, ff))])
    f = g.op("Add", [f, g.weight((ff,), 0.02)])
    f = _gelu(g, f)
    f = g.op("MatMul", [f, g.weight((ff, d))])
    y = g.op("Add", [h, f])
    g.nodes[-1].output[0] = "y"
    return g.model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       ["batch", "seq", d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       ["batch", "seq", d])])


def cnn(seed=3):
    g = _Graph(seed)
    x = "image"
    h = g.op("Conv", [x, g.weight((8, 3, 3, 3), 0.3), g.weight((8,), 0.1)],
             pads=[1, 1, 1, 1])
    h = g.op("BatchNormalization",
             [h, g.const(np.abs(g.rng.standard_normal(8)).astype(np.float32) + 0.5),
              g.weight((8,), 0.1), g.weight((8,), 0.1),
              g.const(np.abs(g.rng.standard_normal(8)).astype(np.float32) + 0.5)],
             epsilon=1e-5)
    h = g.op("Relu", [h])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Conv", [h, g.weight((16, 8, 3, 3), 0.2), g.weight((16,), 0.1)],
             pads=[1, 1, 1, 1], strides=[2, 2])
    h = g.op("Relu", [h])
    h = g.op("Conv", [h, g.weight((16, 1, 3, 3), 0.3)], pads=[1, 1, 1, 1],
             group=16)
    h = g.op("HardSwish", [h])
    h = g.op("GlobalAveragePool", [h])
    h = g.op("Flatten", [h], axis=1)
    y = g.op("Gemm", [h, g.weight((10, 16)), g.weight((10,), 0.1)], transB=1)
    g.nodes[-1].output[0] = "logits"
    return g.model(
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])])


def outlier_block(seed=4, d=128, ff=512, out=64, outliers=(3, 17, 64, 101),
                  outlier_scale=(40.0, 60.0, 80.0, 100.0)):
    """An LLM-style feed-forward block whose LayerNorm outputs carry a few
    outlier channels (30-100x the others, as in real LLMs): LN -> MatMul ->
    GELU -> MatMul -> residual -> LN -> MatMul (head). The outliers sit in
    the LayerNorm scales, so every input shows them."""
    g = _Graph(seed)
    x = "x"

    def layer_norm(h, name_scale):
        gamma = np.ones(d, np.float32) + 0.1 * g.rng.standard_normal(d).astype(np.float32)
        for c, s in zip(outliers, outlier_scale):
            gamma[c] = s * name_scale
        beta = (0.1 * g.rng.standard_normal(d)).astype(np.float32)
        return g.op("LayerNormalization", [h, g.const(gamma), g.const(beta)],
                    axis=-1, epsilon=1e-5)

    h = layer_norm(x, 1.0)
    f = g.op("MatMul", [h, g.weight((d, ff))])
    f = g.op("Add", [f, g.weight((ff,), 0.02)])
    f = _gelu(g, f)
    f = g.op("MatMul", [f, g.weight((ff, d), 0.5 / np.sqrt(ff))])
    r = g.op("Add", [x, f])
    h2 = layer_norm(r, 0.5)
    y = g.op("MatMul", [h2, g.weight((d, out), 1.0 / np.sqrt(d))])
    g.nodes[-1].output[0] = "y"
    return g.model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       ["batch", "seq", d])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       ["batch", "seq", out])])


def float_tensor(array, name, elem_type):
    """A float32 array as an initializer of elem_type (FLOAT, FLOAT16 or
    BFLOAT16: rounded to nearest even)."""
    array = np.asarray(array, np.float32)
    if elem_type == TensorProto.FLOAT:
        return numpy_helper.from_array(array, name)
    if elem_type == TensorProto.FLOAT16:
        return numpy_helper.from_array(array.astype(np.float16), name)
    return helper.make_tensor(name, TensorProto.BFLOAT16, array.shape,
                              bf16_bits(array).tobytes(), raw=True)


def bf16_bits(array):
    """float32 -> bfloat16 bits (uint16), rounded to nearest even."""
    u = np.asarray(array, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def linear(seed=5, k=96, n=40, bias=False, elem_type=TensorProto.FLOAT):
    """A single MatMul with constant weights: the integer path's output is
    then exactly the dequantized integer matmul. elem_type: the input's,
    weights' and output's float type."""
    g = _Graph(seed)
    y = g.op("MatMul", ["x", g.weight((k, n))])
    if bias:
        y = g.op("Add", [y, g.weight((n,), 0.1)])
    g.nodes[-1].output[0] = "y"
    g.inits = [float_tensor(numpy_helper.to_array(t), t.name, elem_type)
               for t in g.inits]
    return g.model(
        [helper.make_tensor_value_info("x", elem_type, ["batch", k])],
        [helper.make_tensor_value_info("y", elem_type, ["batch", n])])


def mixed_sensitivity(seed=6, d_in=64, d=128, out=64):
    """Four linear layers of deliberately different sensitivity to weight
    quantization, for mixed-precision tests:
      fc_in    (64 -> 128): its inputs carry outlier channels (x8): sensitive;
      fc_res   (128 -> 128): a residual branch scaled by 0.05: insensitive;
      fc_heavy (128 -> 128): heavy-tailed weights (Student t, 1.5 degrees of
               freedom), whose rare large values stretch the quantization
               step of every row: sensitive;
      head     (128 -> 64): Gaussian weights: in between.
    The input scale is part of the model (a constant Mul), so every input
    shows the outlier channels."""
    g = _Graph(seed)
    scale = np.ones(d_in, np.float32)
    scale[[5, 21, 40]] = 8.0
    x = g.op("Mul", ["x", g.const(scale)])
    h = g.op("MatMul", [x, g.weight((d_in, d), 1.0 / np.sqrt(d_in))])
    h = _gelu(g, h)
    r = g.op("MatMul", [h, g.weight((d, d), 1.0 / np.sqrt(d))])
    h = g.op("Add", [h, g.op("Mul", [r, g.const(np.float32(0.05))])])
    heavy = (g.rng.standard_t(1.5, (d, d)) / np.sqrt(d) * 0.5).astype(
        np.float32)
    h = g.op("MatMul", [h, g.const(heavy)])
    h = _gelu(g, h)
    y = g.op("MatMul", [h, g.weight((d, out), 1.0 / np.sqrt(d))])
    g.nodes[-1].output[0] = "y"
    # Readable layer names.
    names = iter(["fc_in", "fc_res", "fc_heavy", "head"])
    for node in g.nodes:
        if node.op_type == "MatMul":
            node.name = next(names)
    return g.model(
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       ["batch", d_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       ["batch", out])])


MODELS = {"mlp": mlp, "transformer": transformer, "cnn": cnn,
          "outlier_block": outlier_block, "linear": linear,
          "mixed_sensitivity": mixed_sensitivity}


def sample_inputs(name, batch, seed=0, seq=7):
    """Inputs for model `name` with the given batch size."""
    rng = np.random.default_rng(seed)
    if name == "mlp":
        return {"x": rng.standard_normal((batch, 64)).astype(np.float32)}
    if name == "transformer":
        return {"x": rng.standard_normal((batch, seq, 64)).astype(np.float32)}
    if name == "outlier_block":
        return {"x": rng.standard_normal((batch, seq, 128)).astype(np.float32)}
    if name == "linear":
        return {"x": rng.standard_normal((batch, 96)).astype(np.float32)}
    if name == "mixed_sensitivity":
        return {"x": rng.standard_normal((batch, 64)).astype(np.float32)}
    return {"image": rng.standard_normal((batch, 3, 16, 16)).astype(np.float32)}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, build in MODELS.items():
        onnx.save(build(), os.path.join(out, name + ".onnx"))
        print(os.path.join(out, name + ".onnx"))


if __name__ == "__main__":
    main()
