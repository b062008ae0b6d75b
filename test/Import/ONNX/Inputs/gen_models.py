#!/usr/bin/python3
"""Generates the small ONNX models that the lit tests in test/Import/ONNX import.

Run it with Debian's Python, which has numpy and onnx 1.12:

    /usr/bin/python3 test/Import/ONNX/Inputs/gen_models.py

It (re)writes, deterministically (fixed seeds, no timestamps):
  * every *.onnx model and *.bin external-data file in this folder;
  * ../matmul_nbits.test and ../quant_int4_data.test, whose CHECK lines hold
    bytes that this script computes from the numpy values it packs (the
    unpacked MatMulNBits weights, the decoded INT4/UINT4 initializers), not
    from qopt's output.
Rerunning it on an unchanged script reproduces identical files; commit the
models together with the script.

onnx 1.12 predates INT4 (22) and UINT4 (21): those TensorProtos are built by
hand (data_type set directly, raw_data packed two values per byte, low nibble
first). Models with opset <= 17 use IR version 8 so that qopt runs ONNX's
checker on them; newer opsets use IR 9 or 10.
"""

import os
import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)

F32 = TensorProto.FLOAT
I8 = TensorProto.INT8
U8 = TensorProto.UINT8
I32 = TensorProto.INT32
I64 = TensorProto.INT64
BOOL = TensorProto.BOOL
UINT4 = 21
INT4 = 22

MS = "com.microsoft"
QONNX = "qonnx.custom_op.general"


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def node(op, inputs, outputs, name, domain=None, **attrs):
    n = helper.make_node(op, inputs, outputs, name=name, **attrs)
    if domain:
        n.domain = domain
    return n


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def scalar(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def make(nodes, inputs, outputs, inits=(), opset=17, ir=8, domains=(),
         graph_name="g"):
    graph = helper.make_graph(nodes, graph_name, inputs, outputs,
                              initializer=list(inits))
    opsets = [helper.make_opsetid("", opset)]
    opsets += [helper.make_opsetid(d, v) for d, v in domains]
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name="qopt-gen-models")
    model.ir_version = ir
    return model


def save(name, model, check=True):
    if check and model.ir_version <= 8 and all(
            o.domain in ("", "ai.onnx") and o.version <= 17
            for o in model.opset_import):
        onnx.checker.check_model(model)
    write_bytes(name, model.SerializeToString())


def write_bytes(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def write_test(name, text):
    with open(os.path.join(TESTS, name), "w") as f:
        f.write(text)


def f32(rng, *shape):
    """Random floats that are multiples of 1/8 (exact in any dump)."""
    return (rng.randint(-16, 17, size=shape) / 8.0).astype(np.float32)


def int4_tensor(name, values, signed, dims):
    """A TensorProto of INT4 (22) or UINT4 (21), packed low nibble first."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    nibbles = [int(v) & 0xF for v in values]
    if len(nibbles) % 2:
        nibbles.append(0)
    packed = bytes(nibbles[i] | (nibbles[i + 1] << 4)
                   for i in range(0, len(nibbles), 2))
    t = TensorProto()
    t.name = name
    t.data_type = INT4 if signed else UINT4
    t.dims.extend(dims)
    t.raw_data = packed
    return t


def blob_hex(values, align):
    """The printed dense_resource blob of int8 values: alignment header, then
    one two's-complement byte per value."""
    header = align.to_bytes(4, "little")
    data = bytes(int(v) & 0xFF for v in np.asarray(values).reshape(-1))
    return "0x" + (header + data).hex().upper()


def fmt(a):
    """A numpy array as MLIR prints a dense attribute's elements (floats as
    %.6e, which is exact for the multiples of 1/8 used here), with FileCheck's
    "[[" escaped."""
    def text(x):
        if isinstance(x, np.ndarray):
            return "[" + ", ".join(text(e) for e in x) + "]"
        if np.issubdtype(type(x), np.floating):
            assert float(x) * 8 == int(float(x) * 8)
            return "%.6e" % float(x)
        return str(int(x))
    return re.sub(r"\[\[+", lambda m: "{{" + "\\[" * len(m.group(0)) + "}}",
                  text(np.asarray(a)))


def fill(template, env):
    """Replaces each ${expr} of a .test template by the value of expr."""
    return re.sub(r"\$\{([^}]*)\}",
                  lambda m: str(eval(m.group(1), globals(), env)), template)


def pack_bits(codes, bits):
    """ORT MatMulNBits packing: an LSB-first bit stream of unsigned codes."""
    acc = 0
    for i, c in enumerate(codes):
        assert 0 <= int(c) < (1 << bits)
        acc |= int(c) << (i * bits)
    return acc.to_bytes((len(codes) * bits + 7) // 8, "little")


# ---------------------------------------------------------------------------
# Element-wise ops and activations
# ---------------------------------------------------------------------------


def gen_elementwise():
    nodes = [
        # [2,3,4] + [3,1]: the right operand broadcasts along dims 0 and 2.
        node("Add", ["a", "b"], ["add_out"], "add"),
        node("Div", ["i", "j"], ["div_i32"], "div_i32"),
        node("Div", ["u", "v"], ["div_u8"], "div_u8"),
        node("Pow", ["a", "two"], ["pow_f"], "pow_f"),
        node("Pow", ["i", "j"], ["pow_i"], "pow_i"),
    ]
    model = make(
        nodes,
        [vi("a", F32, [2, 3, 4]), vi("b", F32, [3, 1]), vi("i", I32, [4]),
         vi("j", I32, [4]), vi("u", U8, [4]), vi("v", U8, [4])],
        [vi("add_out", F32, [2, 3, 4]), vi("div_i32", I32, [4]),
         vi("div_u8", U8, [4]), vi("pow_f", F32, [2, 3, 4]),
         vi("pow_i", I32, [4])],
        [scalar("two", 2.0)])
    save("elementwise.onnx", model)

    nodes = [
        node("Relu", ["x"], ["relu"], "relu"),
        node("LeakyRelu", ["x"], ["leaky"], "leaky", alpha=0.125),
        node("Sigmoid", ["x"], ["sigmoid"], "sigmoid"),
        node("HardSigmoid", ["x"], ["hsig"], "hsig", alpha=0.25, beta=0.375),
        node("HardSwish", ["x"], ["hswish"], "hswish"),
        node("Erf", ["x"], ["erf"], "erf"),
        node("Clip", ["x", "lo", "hi"], ["clip"], "clip"),
        node("Clip", ["x", "", "hi"], ["clip_max"], "clip_max"),
    ]
    model = make(
        nodes, [vi("x", F32, [2, 5])],
        [vi(n, F32, [2, 5]) for n in
         ["relu", "leaky", "sigmoid", "hsig", "hswish", "erf", "clip",
          "clip_max"]],
        [scalar("lo", -1.5), scalar("hi", 2.5)])
    save("activations.onnx", model)

    nodes = [
        node("Gelu", ["x"], ["gelu"], "gelu"),
        node("Gelu", ["x"], ["gelu_tanh"], "gelu_tanh", approximate="tanh"),
    ]
    model = make(nodes, [vi("x", F32, [2, 5])],
                 [vi("gelu", F32, [2, 5]), vi("gelu_tanh", F32, [2, 5])],
                 opset=20, ir=9)
    save("gelu_opset20.onnx", model)

    nodes = [
        node("Less", ["x", "y"], ["lt"], "lt"),
        node("Greater", ["i", "k"], ["gt"], "gt"),
        node("Equal", ["i", "k"], ["eq"], "eq"),
        node("GreaterOrEqual", ["u", "w"], ["ge_u"], "ge_u"),
        node("Not", ["lt"], ["not_lt"], "not_lt"),
        node("Where", ["lt", "x", "y"], ["where"], "where"),
    ]
    model = make(
        nodes,
        [vi("x", F32, [3, 4]), vi("y", F32, [4]), vi("i", I64, [3, 4]),
         vi("k", I64, []), vi("u", U8, [3, 4]), vi("w", U8, [3, 4])],
        [vi("lt", BOOL, [3, 4]), vi("gt", BOOL, [3, 4]),
         vi("eq", BOOL, [3, 4]), vi("ge_u", BOOL, [3, 4]),
         vi("not_lt", BOOL, [3, 4]), vi("where", F32, [3, 4])])
    save("compare_where.onnx", model)

    nodes = [
        node("Cast", ["x"], ["to_i32"], "to_i32", to=I32),
        node("Cast", ["x"], ["to_u8"], "to_u8", to=U8),
        node("Cast", ["x"], ["to_bool"], "to_bool", to=BOOL),
        node("Cast", ["u"], ["u_to_f"], "u_to_f", to=F32),
        node("Cast", ["l"], ["l_to_i32"], "l_to_i32", to=I32),
        node("Cast", ["s"], ["s_to_i32"], "s_to_i32", to=I32),
        node("Cast", ["x"], ["same"], "same", to=F32),
    ]
    model = make(
        nodes,
        [vi("x", F32, [4]), vi("u", U8, [4]), vi("l", I64, [4]),
         vi("s", I8, [4])],
        [vi("to_i32", I32, [4]), vi("to_u8", U8, [4]), vi("to_bool", BOOL, [4]),
         vi("u_to_f", F32, [4]), vi("l_to_i32", I32, [4]),
         vi("s_to_i32", I32, [4]), vi("same", F32, [4])])
    save("cast.onnx", model)


# ---------------------------------------------------------------------------
# MatMul, Gemm, Conv
# ---------------------------------------------------------------------------


def gen_linear():
    rng = np.random.RandomState(2)
    model = make([node("MatMul", ["a", "w"], ["y"], "mm")],
                 [vi("a", F32, [4, 8])], [vi("y", F32, [4, 16])],
                 [init("w", f32(rng, 8, 16))])
    save("matmul_2d.onnx", model)

    model = make([node("MatMul", ["a", "w"], ["y"], "mm")],
                 [vi("a", F32, [2, 3, 8])], [vi("y", F32, [2, 3, 5])],
                 [init("w", f32(rng, 8, 5))])
    save("matmul_3d_2d.onnx", model)

    model = make([node("MatMul", ["a", "b"], ["y"], "bmm"),
                  node("MatMul", ["c", "d"], ["z"], "bmm_bcast")],
                 [vi("a", F32, [2, 3, 8]), vi("b", F32, [2, 8, 5]),
                  vi("c", F32, [2, 1, 3, 8]), vi("d", F32, [4, 8, 5])],
                 [vi("y", F32, [2, 3, 5]), vi("z", F32, [2, 4, 3, 5])])
    save("matmul_batched.onnx", model)

    model = make([node("Gemm", ["a", "b", "c"], ["y"], "gemm", transB=1,
                       alpha=0.5, beta=2.0)],
                 [vi("a", F32, [3, 8])], [vi("y", F32, [3, 6])],
                 [init("b", f32(rng, 6, 8)), init("c", f32(rng, 6))])
    save("gemm.onnx", model)

    # Conv: asymmetric pads (h: 1/1, w: 0/2), stride 2, bias.
    model = make([node("Conv", ["x", "w", "bias"], ["y"], "conv",
                       kernel_shape=[3, 3], pads=[1, 0, 1, 2], strides=[2, 2])],
                 [vi("x", F32, [1, 3, 8, 8])], [vi("y", F32, [1, 4, 4, 4])],
                 [init("w", f32(rng, 4, 3, 3, 3)), init("bias", f32(rng, 4))])
    save("conv.onnx", model)

    # Depthwise (group = C = 4) and grouped (group 2, 2 in / 3 out channels
    # per group) convolutions.
    model = make([node("Conv", ["x", "wd"], ["dw"], "depthwise", group=4,
                       kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                  node("Conv", ["x", "wg"], ["gc"], "grouped", group=2,
                       kernel_shape=[3, 3])],
                 [vi("x", F32, [1, 4, 6, 6])],
                 [vi("dw", F32, [1, 4, 6, 6]), vi("gc", F32, [1, 6, 4, 4])],
                 [init("wd", f32(rng, 4, 1, 3, 3)),
                  init("wg", f32(rng, 6, 2, 3, 3))])
    save("conv_grouped.onnx", model)

    # ConvTranspose: C = 2 in, M = 3 out, stride 2, pads 1, output_padding 1:
    # out = 2 * (3 - 1) + 1 + (3 - 1) + 1 - 2 = 6.
    model = make([node("ConvTranspose", ["x", "w", "bias"], ["y"], "deconv",
                       kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                       output_padding=[1, 1])],
                 [vi("x", F32, [1, 2, 3, 3])], [vi("y", F32, [1, 3, 6, 6])],
                 [init("w", f32(rng, 2, 3, 3, 3)), init("bias", f32(rng, 3))])
    save("conv_transpose.onnx", model)


def gen_linear_16bit():
    """f16 and bf16 products and convolutions (accumulated in f32 by the
    importer)."""
    rng = np.random.RandomState(12)
    model = make([node("MatMul", ["a", "w"], ["y"], "mm")],
                 [vi("a", TensorProto.FLOAT16, [4, 8])],
                 [vi("y", TensorProto.FLOAT16, [4, 16])],
                 [init("w", f32(rng, 8, 16).astype(np.float16))])
    save("matmul_f16.onnx", model)
    model = make([node("MatMul", ["a", "b"], ["y"], "bmm")],
                 [vi("a", TensorProto.BFLOAT16, [2, 3, 8]),
                  vi("b", TensorProto.BFLOAT16, [2, 8, 5])],
                 [vi("y", TensorProto.BFLOAT16, [2, 3, 5])])
    save("matmul_bf16_batched.onnx", model)
    # f16 convolutions: one group (the named op) and two (the generic).
    model = make([node("Conv", ["x", "w"], ["y"], "conv", kernel_shape=[3, 3],
                       pads=[1, 1, 1, 1]),
                  node("Conv", ["x", "wg"], ["z"], "grouped", group=2,
                       kernel_shape=[3, 3])],
                 [vi("x", TensorProto.FLOAT16, [1, 4, 6, 6])],
                 [vi("y", TensorProto.FLOAT16, [1, 2, 6, 6]),
                  vi("z", TensorProto.FLOAT16, [1, 4, 4, 4])],
                 [init("w", f32(rng, 2, 4, 3, 3).astype(np.float16)),
                  init("wg", f32(rng, 4, 2, 3, 3).astype(np.float16))])
    save("conv_f16.onnx", model)


# ---------------------------------------------------------------------------
# Normalization, softmax
# ---------------------------------------------------------------------------


def gen_norm():
    rng = np.random.RandomState(3)
    model = make([node("LayerNormalization", ["x", "scale", "bias"], ["y"],
                       "ln", axis=-1, epsilon=1e-3)],
                 [vi("x", F32, [2, 4, 8])], [vi("y", F32, [2, 4, 8])],
                 [init("scale", f32(rng, 8)), init("bias", f32(rng, 8))])
    save("layernorm.onnx", model)

    model = make([node("BatchNormalization",
                       ["x", "scale", "bias", "mean", "var"], ["y"], "bn",
                       epsilon=1e-3)],
                 [vi("x", F32, [1, 3, 4, 4])], [vi("y", F32, [1, 3, 4, 4])],
                 [init("scale", f32(rng, 3)), init("bias", f32(rng, 3)),
                  init("mean", f32(rng, 3)),
                  init("var", np.array([0.5, 1.0, 2.0], np.float32))])
    save("batchnorm.onnx", model)

    model = make([node("Softmax", ["x"], ["sm"], "softmax", axis=1),
                  node("LogSoftmax", ["x"], ["lsm"], "logsoftmax")],
                 [vi("x", F32, [2, 5, 3])],
                 [vi("sm", F32, [2, 5, 3]), vi("lsm", F32, [2, 5, 3])])
    save("softmax.onnx", model)

    # Before opset 13, Softmax normalizes over every dim from `axis` on.
    model = make([node("Softmax", ["x"], ["sm"], "softmax11", axis=1)],
                 [vi("x", F32, [2, 5, 3])], [vi("sm", F32, [2, 5, 3])],
                 opset=11, ir=6)
    save("softmax_opset11.onnx", model)


# ---------------------------------------------------------------------------
# Reductions, pooling
# ---------------------------------------------------------------------------


def gen_reduce():
    # Opset 18: axes are an input for every Reduce*.
    model = make(
        [node("ReduceMean", ["x", "ax1"], ["mean_keep"], "mean_keep",
              keepdims=1),
         node("ReduceSum", ["x", "ax02"], ["sum_drop"], "sum_drop",
              keepdims=0),
         node("ReduceMax", ["x", "axm1"], ["max_drop"], "max_drop",
              keepdims=0),
         node("ReduceMin", ["x"], ["min_all"], "min_all", keepdims=1)],
        [vi("x", F32, [2, 3, 4])],
        [vi("mean_keep", F32, [2, 1, 4]), vi("sum_drop", F32, [3]),
         vi("max_drop", F32, [2, 3]), vi("min_all", F32, [1, 1, 1])],
        [init("ax1", np.array([1], np.int64)),
         init("ax02", np.array([0, 2], np.int64)),
         init("axm1", np.array([-1], np.int64))],
        opset=18)
    save("reduce.onnx", model)

    # Opset 13: ReduceMean takes axes as an attribute, ReduceSum as an input.
    model = make(
        [node("ReduceMean", ["x"], ["mean"], "mean13", axes=[0, 2],
              keepdims=0),
         node("ReduceSum", ["x", "ax"], ["sum"], "sum13", keepdims=1)],
        [vi("x", F32, [2, 3, 4])],
        [vi("mean", F32, [3]), vi("sum", F32, [2, 3, 1])],
        [init("ax", np.array([-1], np.int64))], opset=13)
    save("reduce_opset13.onnx", model)

    model = make(
        [node("MaxPool", ["x"], ["maxp"], "maxpool", kernel_shape=[3, 3],
              strides=[2, 2], pads=[1, 1, 1, 1]),
         node("AveragePool", ["x"], ["avgp"], "avgpool", kernel_shape=[2, 2],
              pads=[0, 0, 1, 1]),
         node("GlobalAveragePool", ["x"], ["gap"], "gap")],
        [vi("x", F32, [1, 2, 7, 7])],
        [vi("maxp", F32, [1, 2, 4, 4]), vi("avgp", F32, [1, 2, 7, 7]),
         vi("gap", F32, [1, 2, 1, 1])])
    save("pool.onnx", model)


def gen_unsigned():
    # uint8 data where signed and unsigned integer semantics differ (values
    # >= 128): MaxPool (opset 12+ takes uint8), Sign, ReduceMax, Less.
    model = make(
        [node("MaxPool", ["x"], ["mp"], "maxpool_u8", kernel_shape=[2, 2]),
         node("Sign", ["u"], ["sign"], "sign_u8"),
         node("ReduceMax", ["u"], ["rmax"], "reducemax_u8", keepdims=0),
         node("Less", ["u", "v"], ["lt"], "less_u8")],
        [vi("x", U8, [1, 1, 2, 2]), vi("u", U8, [4]), vi("v", U8, [4])],
        [vi("mp", U8, [1, 1, 1, 1]), vi("sign", U8, [4]), vi("rmax", U8, []),
         vi("lt", BOOL, [4])])
    save("unsigned.onnx", model)


# ---------------------------------------------------------------------------
# Shape and data-movement ops
# ---------------------------------------------------------------------------


def gen_shape():
    i64 = lambda name, v: init(name, np.array(v, np.int64))

    model = make(
        [node("Reshape", ["x", "s0"], ["r0"], "reshape_0_m1"),
         node("Reshape", ["x", "s1"], ["r1"], "reshape_regroup"),
         node("Transpose", ["x"], ["t"], "transpose", perm=[2, 0, 1]),
         node("Flatten", ["x"], ["fl"], "flatten", axis=2),
         node("Squeeze", ["y", "sq_axes"], ["sq"], "squeeze"),
         node("Unsqueeze", ["y", "unsq_axes"], ["unsq"], "unsqueeze")],
        [vi("x", F32, [2, 3, 4]), vi("y", F32, [3, 1, 5])],
        [vi("r0", F32, [2, 12]), vi("r1", F32, [4, 3, 2]),
         vi("t", F32, [4, 2, 3]), vi("fl", F32, [6, 4]), vi("sq", F32, [3, 5]),
         vi("unsq", F32, [1, 3, 1, 1, 5])],
        [i64("s0", [0, -1]), i64("s1", [4, -1, 2]), i64("sq_axes", [1]),
         i64("unsq_axes", [0, 3])])
    save("reshape_transpose.onnx", model)

    model = make(
        [node("Concat", ["a", "b"], ["cat"], "concat", axis=1),
         node("Split", ["cat", "split"], ["s0", "s1"], "split", axis=1),
         node("Slice", ["a", "st", "en", "ax", "sp"], ["sl"], "slice"),
         node("Slice", ["a", "rst", "ren", "rax", "rsp"], ["rev"], "slice_rev")],
        [vi("a", F32, [2, 3, 4]), vi("b", F32, [2, 5, 4])],
        [vi("cat", F32, [2, 8, 4]), vi("s0", F32, [2, 2, 4]),
         vi("s1", F32, [2, 6, 4]), vi("sl", F32, [2, 3, 2]),
         vi("rev", F32, [2, 2, 4])],
        [i64("split", [2, 6]),
         # a[:, :, 1:4:2]
         i64("st", [1]), i64("en", [4]), i64("ax", [2]), i64("sp", [2]),
         # a[:, ::-2, :] -> rows 2, 0
         i64("rst", [-1]), i64("ren", [-(1 << 62)]), i64("rax", [1]),
         i64("rsp", [-2])],
        opset=13)
    save("concat_split_slice.onnx", model)

    model = make(
        [node("Gather", ["x", "idx"], ["g"], "gather", axis=1),
         node("Gather", ["x", "one"], ["g0"], "gather_scalar", axis=2),
         node("Expand", ["e", "eshape"], ["ex"], "expand"),
         node("Range", ["r0", "r1", "r2"], ["rng"], "range"),
         node("Range", ["f0", "f1", "f2"], ["frng"], "range_f")],
        [vi("x", F32, [2, 3, 4]), vi("idx", I64, [2, 2]), vi("e", F32, [3, 1])],
        [vi("g", F32, [2, 2, 2, 4]), vi("g0", F32, [2, 3]),
         vi("ex", F32, [2, 3, 4]), vi("rng", I64, [4]), vi("frng", F32, [4])],
        [i64("one", -1), i64("eshape", [2, 1, 4]), i64("r0", 1),
         i64("r1", 11), i64("r2", 3), scalar("f0", 0.0), scalar("f1", 1.0),
         scalar("f2", 0.25)])
    save("gather_expand_range.onnx", model)

    # Shape, ConstantOfShape, Constant, Identity, Dropout.
    cval = helper.make_tensor("cval", F32, [2], [1.5, -2.0])
    fill_value = helper.make_tensor("fill", F32, [1], [0.75])
    model = make(
        [node("Shape", ["x"], ["shape"], "shape"),
         node("ConstantOfShape", ["shape"], ["filled"], "const_of_shape",
              value=fill_value),
         node("Constant", [], ["c"], "const", value=cval),
         node("Add", ["y", "c"], ["yc"], "add_c"),
         node("Identity", ["yc"], ["ident"], "identity"),
         node("Dropout", ["ident"], ["drop"], "dropout")],
        [vi("x", F32, [2, 3, 4]), vi("y", F32, [3, 2])],
        [vi("shape", I64, [3]), vi("filled", F32, [2, 3, 4]),
         vi("drop", F32, [3, 2])])
    save("shape_constant.onnx", model)

    model = make(
        [node("Pad", ["x", "pads", "pv"], ["pc"], "pad_const",
              mode="constant"),
         node("Pad", ["x", "pads2"], ["pr"], "pad_reflect", mode="reflect"),
         node("Pad", ["x", "pads2"], ["pe"], "pad_edge", mode="edge")],
        [vi("x", F32, [3, 4])],
        [vi("pc", F32, [4, 7]), vi("pr", F32, [3, 8]), vi("pe", F32, [3, 8])],
        [i64("pads", [1, 0, 0, 3]), scalar("pv", 1.5),
         i64("pads2", [0, 2, 0, 2])], opset=13)
    save("pad.onnx", model)

    model = make(
        [node("Resize", ["x", "", "scales"], ["near"], "resize_nearest",
              mode="nearest", coordinate_transformation_mode="asymmetric",
              nearest_mode="floor"),
         node("Resize", ["x", "", "", "sizes"], ["lin"], "resize_linear",
              mode="linear")],
        [vi("x", F32, [1, 1, 2, 3])],
        [vi("near", F32, [1, 1, 4, 6]), vi("lin", F32, [1, 1, 3, 5])],
        [init("scales", np.array([1, 1, 2, 2], np.float32)),
         i64("sizes", [1, 1, 3, 5])], opset=13)
    save("resize.onnx", model)

    model = make(
        [node("Trilu", ["x", "k"], ["up"], "triu", upper=1),
         node("Trilu", ["x"], ["lo"], "tril", upper=0)],
        [vi("x", F32, [2, 3, 4])],
        [vi("up", F32, [2, 3, 4]), vi("lo", F32, [2, 3, 4])],
        [i64("k", 1)], opset=14)
    save("trilu.onnx", model)


# ---------------------------------------------------------------------------
# Symbolic dims
# ---------------------------------------------------------------------------


def gen_symbolic():
    rng = np.random.RandomState(5)
    i64 = lambda name, v: init(name, np.array(v, np.int64))
    # x [batch, seq, 16] @ w [16, 32] -> h [batch, seq, 32]; h reshaped to
    # [batch, seq, 4, 8] with a shape computed from x's dims (Shape -> Gather
    # -> Unsqueeze -> Concat, as PyTorch exports it); then merged back with
    # [0, 0, -1] and flattened with [-1, 8].
    nodes = [
        node("MatMul", ["x", "w"], ["h"], "proj"),
        node("Shape", ["x"], ["xs"], "shape"),
        node("Gather", ["xs", "i0"], ["b"], "get_batch", axis=0),
        node("Gather", ["xs", "i1"], ["s"], "get_seq", axis=0),
        node("Unsqueeze", ["b", "ax0"], ["b1"], "unsq_batch"),
        node("Unsqueeze", ["s", "ax0"], ["s1"], "unsq_seq"),
        node("Concat", ["b1", "s1", "heads"], ["shape4"], "concat_shape",
             axis=0),
        node("Reshape", ["h", "shape4"], ["h4"], "split_heads"),
        node("Reshape", ["h4", "merge"], ["m"], "merge_heads"),
        node("Reshape", ["h4", "flat"], ["y"], "flatten_rows"),
    ]
    model = make(
        nodes, [vi("x", F32, ["batch", "seq", 16])],
        [vi("h4", F32, ["batch", "seq", 4, 8]),
         vi("m", F32, ["batch", "seq", 32]), vi("y", F32, [None, 8])],
        [init("w", f32(rng, 16, 32)), i64("i0", 0), i64("i1", 1),
         i64("ax0", [0]), i64("heads", [4, 8]), i64("merge", [0, 0, -1]),
         i64("flat", [-1, 8])])
    save("symbolic.onnx", model)

    # Attention-style scores: x [batch, seq, 16] @ x^T [batch, 16, seq].
    model = make(
        [node("Transpose", ["x"], ["xt"], "transpose", perm=[0, 2, 1]),
         node("MatMul", ["x", "xt"], ["scores"], "scores")],
        [vi("x", F32, ["batch", "seq", 16])],
        [vi("scores", F32, ["batch", "seq", "seq"])])
    save("symbolic_batch_matmul.onnx", model)

    # paddle2onnx's reshape target (opset 9): the batch from Shape -> Cast
    # (int32) -> Slice (attributes) -> Cast (int64), concatenated with Cast
    # (int64) of an int32 Constant. Casts of small integer constants stay
    # known at compile time. A cast whose values wrap (int64 [-1, 300] to
    # int8) is computed, not tracked.
    i32c = lambda name, v: helper.make_tensor(name, TensorProto.INT32,
                                              [len(v)], v)
    model = make(
        [node("Shape", ["x"], ["xs"], "shape"),
         node("Cast", ["xs"], ["xs32"], "shape_i32", to=TensorProto.INT32),
         node("Slice", ["xs32"], ["b32"], "get_batch", axes=[0], starts=[0],
              ends=[1]),
         node("Cast", ["b32"], ["b"], "batch_i64", to=TensorProto.INT64),
         node("Constant", [], ["c32"], "fill_constant", value=i32c("c", [4])),
         node("Cast", ["c32"], ["c"], "fill_i64", to=TensorProto.INT64),
         node("Concat", ["b", "c"], ["shape2"], "concat_shape", axis=0),
         node("Reshape", ["x", "shape2"], ["y"], "reshape"),
         node("Cast", ["wide"], ["wrapped"], "wrap_i8", to=TensorProto.INT8)],
        [vi("x", F32, ["batch", 4, 1, 1])],
        [vi("y", F32, ["batch", 4]), vi("wrapped", TensorProto.INT8, [2])],
        [i64("wide", [-1, 300])], opset=9)
    save("symbolic_cast_shape.onnx", model)


def gen_control_flow():
    rng = np.random.RandomState(7)
    # If on a run-time bool: then y = x + w (w from the outer graph), else
    # y = Relu(x) * 2 (a constant of the branch's own); the branches' second
    # outputs differ in shape ([2, 3] and [3, 2]): dynamic in the result.
    then_g = helper.make_graph(
        [node("Add", ["x", "w"], ["t_y"], "then_add"),
         node("Identity", ["x"], ["t_z"], "then_ident")],
        "then", [], [vi("t_y", F32, [2, 3]), vi("t_z", F32, [2, 3])])
    else_g = helper.make_graph(
        [node("Relu", ["x"], ["e_r"], "else_relu"),
         node("Mul", ["e_r", "two"], ["e_y"], "else_mul"),
         node("Transpose", ["x"], ["e_z"], "else_transpose", perm=[1, 0])],
        "else", [], [vi("e_y", F32, [2, 3]), vi("e_z", F32, [3, 2])],
        [init("two", np.array(2, np.float32))])
    model = make(
        [node("If", ["c"], ["y", "z"], "if_runtime", then_branch=then_g,
              else_branch=else_g)],
        [vi("c", TensorProto.BOOL, []), vi("x", F32, [2, 3])],
        [vi("y", F32, [2, 3]), vi("z", F32, [None, None])],
        [init("w", f32(rng, 2, 3))])
    save("if_runtime.onnx", model, check=False)

    # A condition known at compile time (x's rows == 2, from its shape):
    # the branch taken is imported in place, no scf.if.
    then_g = helper.make_graph([node("Neg", ["x"], ["t_y"], "then_neg")],
                               "then", [], [vi("t_y", F32, [2, 3])])
    else_g = helper.make_graph([node("Abs", ["x"], ["e_y"], "else_abs")],
                               "else", [], [vi("e_y", F32, [2, 3])])
    model = make(
        [node("Shape", ["x"], ["xs"], "shape"),
         node("Gather", ["xs", "zero"], ["rows"], "rows", axis=0),
         node("Equal", ["rows", "two"], ["cond"], "equal"),
         node("If", ["cond"], ["y"], "if_const", then_branch=then_g,
              else_branch=else_g)],
        [vi("x", F32, [2, 3])], [vi("y", F32, [2, 3])],
        [init("zero", np.array(0, np.int64)), init("two", np.array(2, np.int64))])
    save("if_const.onnx", model, check=False)

    # An unsupported op inside a branch is named by the up-front check.
    then_g = helper.make_graph([node("NonZero", ["x"], ["t_y"], "then_nz")],
                               "then", [], [vi("t_y", I64, [2, None])])
    else_g = helper.make_graph([node("Shape", ["x"], ["e_y"], "else_shape")],
                               "else", [], [vi("e_y", I64, [2, None])])
    model = make(
        [node("If", ["c"], ["y"], "if_nz", then_branch=then_g,
              else_branch=else_g)],
        [vi("c", TensorProto.BOOL, []), vi("x", F32, [2, 3])],
        [vi("y", I64, [2, None])])
    save("err_if_unsupported.onnx", model, check=False)


# ---------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------


def gen_weights():
    # 32 elements (> 16): a dense_resource; 8 elements: a dense constant.
    big = (np.arange(32, dtype=np.float32) * 0.5).reshape(4, 8)
    small = np.array([1, 2, 3, 4, -1, -2, -3, -4], np.float32)
    model = make([node("Add", ["x", "big"], ["t"], "add_big"),
                  node("Mul", ["t", "small"], ["y"], "mul_small")],
                 [vi("x", F32, [4, 8])], [vi("y", F32, [4, 8])],
                 [init("big", big), init("small", small)])
    save("weights.onnx", model)

    # The same with the big weight in an external file, at offset 16.
    data = bytes(range(16)) + big.tobytes()
    write_bytes("weights_external.bin", data)
    t = init("big", big)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights_external.bin"), ("offset", "16"),
                 ("length", str(big.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    model = make([node("Add", ["x", "big"], ["y"], "add_big")],
                 [vi("x", F32, [4, 8])], [vi("y", F32, [4, 8])], [t])
    save("weights_external.onnx", model, check=False)


# ---------------------------------------------------------------------------
# Pre-quantized forms
# ---------------------------------------------------------------------------


def gen_qdq():
    rng = np.random.RandomState(6)
    # Per-tensor: uint8 with zero point 128 (asymmetric), int8 with zero
    # point 0 (symmetric).
    model = make(
        [node("QuantizeLinear", ["x", "s", "zu"], ["qu"], "q_u8"),
         node("DequantizeLinear", ["qu", "s", "zu"], ["du"], "dq_u8"),
         node("QuantizeLinear", ["x", "s", "zs"], ["qs"], "q_s8"),
         node("DequantizeLinear", ["qs", "s", "zs"], ["ds"], "dq_s8")],
        [vi("x", F32, [2, 4])],
        [vi("qu", U8, [2, 4]), vi("du", F32, [2, 4]), vi("qs", I8, [2, 4]),
         vi("ds", F32, [2, 4])],
        [scalar("s", 0.0625), scalar("zu", 128, np.uint8),
         scalar("zs", 0, np.int8)], opset=13)
    save("qdq_per_tensor.onnx", model)

    # Per-axis: int8 weights per output row (axis 0, zero points all 0:
    # symmetric) and uint8 weights per column (axis 1, nonzero zero points).
    w8 = rng.randint(-128, 128, size=(4, 8)).astype(np.int8)
    wu = rng.randint(0, 256, size=(4, 8)).astype(np.uint8)
    model = make(
        [node("DequantizeLinear", ["w8", "s4", "z4"], ["d0"], "dq_axis0",
              axis=0),
         node("DequantizeLinear", ["wu", "s8", "z8"], ["d1"], "dq_axis1",
              axis=1),
         node("QuantizeLinear", ["x", "s8", "z8"], ["qx"], "q_axis_last",
              axis=-1)],
        [vi("x", F32, [4, 8])],
        [vi("d0", F32, [4, 8]), vi("d1", F32, [4, 8]), vi("qx", U8, [4, 8])],
        [init("w8", w8),
         init("s4", np.array([0.5, 0.25, 0.125, 1.0], np.float32)),
         init("z4", np.zeros(4, np.int8)), init("wu", wu),
         init("s8", (np.arange(1, 9) / 16.0).astype(np.float32)),
         init("z8", np.array([0, 1, 2, 3, 128, 129, 130, 255], np.uint8))],
        opset=13)
    save("qdq_per_axis.onnx", model)

    # Opset 21 (IR 10): blocked INT4 / UINT4 initializers, and QuantizeLinear
    # to int4 through output_dtype.
    w4 = rng.randint(-8, 8, size=(2, 32))
    u4 = rng.randint(0, 16, size=(2, 32))
    zp4 = rng.randint(0, 16, size=(2, 2))
    scales = np.array([[0.5, 0.25], [0.125, 2.0]], np.float32)
    model = make(
        [node("DequantizeLinear", ["w4", "ws"], ["dw4"], "dq_int4_blocked",
              axis=1, block_size=16),
         node("DequantizeLinear", ["u4", "ws", "zp4"], ["du4"],
              "dq_uint4_blocked", axis=1, block_size=16),
         node("QuantizeLinear", ["x", "xs"], ["qx4"], "q_int4_blocked",
              axis=1, block_size=4, output_dtype=INT4)],
        [vi("x", F32, [3, 8])],
        [vi("dw4", F32, [2, 32]), vi("du4", F32, [2, 32]),
         vi("qx4", INT4, [3, 8])],
        [int4_tensor("w4", w4, True, [2, 32]), init("ws", scales),
         int4_tensor("u4", u4, False, [2, 32]),
         int4_tensor("zp4", zp4, False, [2, 2]),
         init("xs", np.array([[0.5, 1.0]] * 3, np.float32))],
        opset=21, ir=10)
    save("qdq_int4_blocked.onnx", model)

    write_test("quant_int4_data.test", fill("""\
# GENERATED by Inputs/gen_models.py from the values it packs; do not edit.
# INT4 (22) and UINT4 (21) initializers decode to one byte per value
# (sign-extended for INT4, zero-extended for UINT4), row-major, and enter the
# qopt world through qopt.storage_cast to !qopt.int<s4> / !qopt.int<u4>.
# RUN: qopt-translate --import-onnx %S/Inputs/qdq_int4_blocked.onnx | FileCheck %s

# CHECK-LABEL: func.func @main
# CHECK-DAG: %[[W4:.*]] = arith.constant dense_resource<w4> : tensor<2x32xi8>
# CHECK-DAG: %[[U4:.*]] = arith.constant dense_resource<u4> : tensor<2x32xi8>
# CHECK-DAG: %[[ZP:.*]] = arith.constant dense<${fmt(zp4)}> : tensor<2x2xi8>
# CHECK-DAG: qopt.storage_cast %[[W4]] : tensor<2x32xi8> to tensor<2x32x!qopt.int<s4>>
# CHECK-DAG: qopt.storage_cast %[[U4]] : tensor<2x32xi8> to tensor<2x32x!qopt.int<u4>>
# CHECK: dialect_resources
# CHECK-DAG: w4: "${blob_hex(w4, 1)}"
# CHECK-DAG: u4: "${blob_hex(u4, 1)}"
""", locals()))


def gen_integer_matmul():
    rng = np.random.RandomState(7)
    # MatMulInteger: uint8 A with a zero point, int8 B with a per-column
    # zero point.
    model = make(
        [node("MatMulInteger", ["a", "b", "za", "zb"], ["y"], "mmi")],
        [vi("a", U8, [3, 8])], [vi("y", I32, [3, 4])],
        [init("b", rng.randint(-128, 128, size=(8, 4)).astype(np.int8)),
         scalar("za", 128, np.uint8),
         init("zb", np.array([0, 1, -1, 2], np.int8))], opset=13)
    save("matmul_integer.onnx", model)

    # QLinearMatMul: a uint8 [2, 3, 8] per-tensor, b int8 [8, 4] per column
    # (zero points 0: symmetric), y uint8 per-tensor.
    model = make(
        [node("QLinearMatMul",
              ["a", "sa", "za", "b", "sb", "zb", "sy", "zy"], ["y"], "qlmm")],
        [vi("a", U8, [2, 3, 8])], [vi("y", U8, [2, 3, 4])],
        [scalar("sa", 0.125), scalar("za", 100, np.uint8),
         init("b", rng.randint(-128, 128, size=(8, 4)).astype(np.int8)),
         init("sb", np.array([0.5, 0.25, 1.0, 2.0], np.float32)),
         init("zb", np.zeros(4, np.int8)), scalar("sy", 4.0),
         scalar("zy", 7, np.uint8)], opset=13)
    save("qlinear_matmul.onnx", model)


def nbits_model(name, rng, n, k, block, bits, with_zp, a_shape):
    """A MatMulNBits model and the expected unpacked [N, K_padded] weights
    and [N, n_blocks] zero points."""
    n_blocks = (k + block - 1) // block
    blob = (block * bits + 7) // 8
    codes = rng.randint(0, 1 << bits, size=(n, n_blocks, block))
    packed = b"".join(pack_bits(codes[r, b], bits)
                      for r in range(n) for b in range(n_blocks))
    b_init = init("B", np.frombuffer(packed, np.uint8).reshape(n, n_blocks,
                                                               blob))
    scales = (rng.randint(1, 9, size=n * n_blocks) / 8.0).astype(np.float32)
    inputs = ["A", "B", "scales"]
    inits = [b_init, init("scales", scales)]
    zps = None
    if with_zp:
        zps = rng.randint(0, 1 << bits, size=(n, n_blocks))
        zp_bytes = b"".join(pack_bits(zps[r], bits) for r in range(n))
        stride = (n_blocks * bits + 7) // 8
        inputs.append("zero_points")
        inits.append(init("zero_points",
                          np.frombuffer(zp_bytes, np.uint8).reshape(n * stride)))
        expected = codes.reshape(n, n_blocks * block)
    else:
        expected = codes.reshape(n, n_blocks * block) - (1 << (bits - 1))
    model = make(
        [node("MatMulNBits", inputs, ["Y"], "mmnb", domain=MS, K=k, N=n,
              bits=bits, block_size=block)],
        [vi("A", F32, a_shape)], [vi("Y", F32, a_shape[:-1] + [n])], inits,
        domains=[(MS, 1)])
    save(name, model)
    return expected, zps, scales


def gen_matmul_nbits():
    rng = np.random.RandomState(8)
    w3, _, s3 = nbits_model("matmul_nbits_3.onnx", rng, n=2, k=32, block=16,
                            bits=3, with_zp=False, a_shape=[4, 32])
    # K = 40 is not a multiple of the block: K_padded = 64, A is zero-padded.
    w5, _, s5 = nbits_model("matmul_nbits_5.onnx", rng, n=2, k=40, block=32,
                            bits=5, with_zp=False, a_shape=[2, 3, 40])
    w4, z4, s4 = nbits_model("matmul_nbits_4_zp.onnx", rng, n=3, k=32,
                             block=16, bits=4, with_zp=True, a_shape=[1, 32])
    assert w3.min() >= -4 and w3.max() <= 3 and w5.min() >= -16

    write_test("matmul_nbits.test", fill("""\
# GENERATED by Inputs/gen_models.py from the codes it packs; do not edit.
# com.microsoft MatMulNBits: B uint8 [N, n_blocks, blob] of LSB-first bit
# streams is unpacked to an i8 [N, K_padded] dense_resource
# "<B>_unpacked". Without zero points the codes are recentred by 2^(bits-1)
# into signed symmetric values (!qopt.int<sN>); with zero points the raw codes
# stay unsigned (!qopt.int<uN>) and the scheme is asymmetric. Weight-only
# qopt.qmatmul, groups of block_size along K (axis 1).

# 3 bits, N = 2, K = 32, block 16, no zero points.
# RUN: qopt-translate --import-onnx %S/Inputs/matmul_nbits_3.onnx | FileCheck %s --check-prefix=B3
# B3-LABEL: func.func @main(
# B3-SAME: %[[A:.*]]: tensor<4x32xf32> {onnx.name = "A"}) -> (tensor<4x2xf32> {onnx.name = "Y"})
# B3-DAG: %[[W:.*]] = arith.constant dense_resource<B_unpacked> : tensor<2x32xi8>
# B3-DAG: %[[S:.*]] = arith.constant dense<${fmt(s3.reshape(2, 2))}> : tensor<2x2xf32>
# B3: %[[Q:.*]] = qopt.storage_cast %[[W]] : tensor<2x32xi8> to tensor<2x32x!qopt.int<s3>>
# B3-NOT: tensor.pad
# B3: %[[Y:.*]] = qopt.qmatmul %[[A]], %[[Q]] scale(%[[S]])
# B3-NOT: zero_point
# B3-NOT: act_scheme
# B3-SAME: weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 16), symmetric>
# B3-SAME: (tensor<4x32xf32>, tensor<2x32x!qopt.int<s3>>, tensor<2x2xf32>) -> tensor<4x2xf32>
# B3: return %[[Y]]
# B3: B_unpacked: "${blob_hex(w3, 1)}"

# 5 bits, N = 2, K = 40 padded to 64 (block 32), A [2, 3, 40].
# RUN: qopt-translate --import-onnx %S/Inputs/matmul_nbits_5.onnx | FileCheck %s --check-prefix=B5
# B5-LABEL: func.func @main(
# B5-SAME: %[[A:.*]]: tensor<2x3x40xf32>
# B5-DAG: %[[W:.*]] = arith.constant dense_resource<B_unpacked> : tensor<2x64xi8>
# B5-DAG: %[[S:.*]] = arith.constant dense<${fmt(s5.reshape(2, 2))}> : tensor<2x2xf32>
# B5-DAG: %[[Q:.*]] = qopt.storage_cast %[[W]] : tensor<2x64xi8> to tensor<2x64x!qopt.int<s5>>
# B5-DAG: %[[A2:.*]] = tensor.collapse_shape %[[A]] {{\\[\\[}}0, 1], [2]] : tensor<2x3x40xf32> into tensor<6x40xf32>
# B5: %[[P:.*]] = tensor.pad %[[A2]] low[0, 0] high[0, 24]
# B5: tensor.yield %{{.*}} : f32
# B5: } : tensor<6x40xf32> to tensor<6x64xf32>
# B5: %[[Y:.*]] = qopt.qmatmul %[[P]], %[[Q]] scale(%[[S]])
# B5-SAME: weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 32), symmetric>
# B5-SAME: -> tensor<6x2xf32>
# B5: %[[Y3:.*]] = tensor.expand_shape %[[Y]] {{\\[\\[}}0, 1], [2]] output_shape [2, 3, 2] : tensor<6x2xf32> into tensor<2x3x2xf32>
# B5: return %[[Y3]]
# B5: B_unpacked: "${blob_hex(w5, 1)}"

# 4 bits with packed zero points, N = 3, K = 32, block 16.
# RUN: qopt-translate --import-onnx %S/Inputs/matmul_nbits_4_zp.onnx | FileCheck %s --check-prefix=B4
# B4-LABEL: func.func @main(
# B4-SAME: %[[A:.*]]: tensor<1x32xf32>
# B4-DAG: %[[W:.*]] = arith.constant dense_resource<B_unpacked> : tensor<3x32xi8>
# B4-DAG: %[[Z:.*]] = arith.constant dense<${fmt(z4)}> : tensor<3x2xi32>
# B4-DAG: %[[S:.*]] = arith.constant dense<${fmt(s4.reshape(3, 2))}> : tensor<3x2xf32>
# B4-DAG: %[[Q:.*]] = qopt.storage_cast %[[W]] : tensor<3x32xi8> to tensor<3x32x!qopt.int<u4>>
# B4: %[[Y:.*]] = qopt.qmatmul %[[A]], %[[Q]] scale(%[[S]]) zero_point(%[[Z]])
# B4-SAME: weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 16), asymmetric>
# B4-SAME: (tensor<1x32xf32>, tensor<3x32x!qopt.int<u4>>, tensor<3x2xf32>, tensor<3x2xi32>) -> tensor<1x3xf32>
# B4: return %[[Y]]
# B4: B_unpacked: "${blob_hex(w4, 1)}"
""", locals()))



def gen_qonnx():
    # 3-bit signed narrow-range per-tensor Quant, and a 4-bit unsigned
    # per-channel one with a zero point and FLOOR rounding.
    model = make(
        [node("Quant", ["x", "s", "z0", "bw3"], ["q3"], "quant3", domain=QONNX,
              signed=1, narrow=1, rounding_mode="ROUND"),
         node("Quant", ["x", "sc", "z2", "bw4"], ["q4"], "quant4",
              domain=QONNX, signed=0, narrow=0, rounding_mode="FLOOR")],
        [vi("x", F32, [2, 4, 3])],
        [vi("q3", F32, [2, 4, 3]), vi("q4", F32, [2, 4, 3])],
        [scalar("s", 0.25), scalar("z0", 0.0), scalar("bw3", 3.0),
         init("sc", np.array([0.5, 0.25, 0.125, 1.0],
                             np.float32).reshape(1, 4, 1)),
         scalar("z2", 2.0), scalar("bw4", 4.0)],
        domains=[(QONNX, 1)])
    save("qonnx_quant.onnx", model)


def gen_opset21():
    # An opset-21 / IR-10 model using opset-18+ forms: Split by num_outputs,
    # Pad with an axes input, ReduceMean with an axes input.
    model = make(
        [node("Split", ["x"], ["a", "b"], "split", axis=1, num_outputs=2),
         node("Pad", ["a", "pads", "", "axes"], ["p"], "pad"),
         node("ReduceMean", ["b", "axes"], ["m"], "mean", keepdims=0)],
        [vi("x", F32, [4, 6])],
        [vi("p", F32, [4, 5]), vi("m", F32, [4])],
        [init("pads", np.array([1, 1], np.int64)),
         init("axes", np.array([1], np.int64))],
        opset=21, ir=10)
    save("opset21.onnx", model)


# ---------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------


def simple_add(extra_inits=(), x_shape=(4,), x_type=F32, opset=17, ir=8,
               w_name="w"):
    return make([node("Add", ["x", w_name], ["y"], "add")],
                [vi("x", x_type, list(x_shape))], [vi("y", x_type, [4])],
                list(extra_inits), opset=opset, ir=ir)


def external(name, location, offset=None, length=None, dims=(16,)):
    t = TensorProto()
    t.name = name
    t.data_type = F32
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    entries = [("location", location)]
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def gen_recurrent():
    rng = np.random.RandomState(11)
    # A bidirectional LSTM with every input (sequence_lens at run time) and
    # all three outputs; a GRU with linear_before_reset; an RNN without Y.
    seq, batch, inp, hid = 5, 2, 3, 4
    model = make(
        [node("LSTM", ["x", "W", "R", "B", "lens", "h0", "c0", "P"],
              ["y", "yh", "yc"], "lstm", hidden_size=hid,
              direction="bidirectional", clip=3.0)],
        [vi("x", F32, [seq, batch, inp]), vi("lens", I32, [batch]),
         vi("h0", F32, [2, batch, hid]), vi("c0", F32, [2, batch, hid])],
        [vi("y", F32, [seq, 2, batch, hid]), vi("yh", F32, [2, batch, hid]),
         vi("yc", F32, [2, batch, hid])],
        [init("W", f32(rng, 2, 4 * hid, inp)), init("R", f32(rng, 2, 4 * hid, hid)),
         init("B", f32(rng, 2, 8 * hid)), init("P", f32(rng, 2, 3 * hid))])
    save("lstm_bidirectional.onnx", model)
    model = make(
        [node("GRU", ["x", "W", "R", "B"], ["", "yh"], "gru", hidden_size=hid,
              linear_before_reset=1, layout=1)],
        [vi("x", F32, ["batch", "seq", inp])],
        [vi("yh", F32, ["batch", 1, hid])],
        [init("W", f32(rng, 1, 3 * hid, inp)), init("R", f32(rng, 1, 3 * hid, hid)),
         init("B", f32(rng, 1, 6 * hid))])
    save("gru_batch_major.onnx", model)

    # Malformed recurrent nodes: each a model whose one node carries the flaw.
    def rnn(name, op="RNN", inputs=None, outputs=("y", "yh"), x_shape=(5, 2, 3),
            x_type=F32, extra_inputs=(), inits=None, opset=17, **attrs):
        attrs.setdefault("hidden_size", 4)
        g = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
        if inits is None:
            inits = [init("W", np.zeros((1, g * 4, 3), np.float32)),
                     init("R", np.zeros((1, g * 4, 4), np.float32))]
        model = make(
            [node(op, inputs or ["x", "W", "R"], list(outputs), "rec", **attrs)],
            [vi("x", x_type, list(x_shape))] + list(extra_inputs),
            [vi(o, F32, [None] * (4 if o == "y" else 3)) for o in outputs
             if o], inits, opset=opset)
        save(name, model, check=False)

    rnn("err_rnn_direction.onnx", direction="sideways")
    rnn("err_rnn_layout.onnx", layout=2)
    rnn("err_rnn_clip.onnx", clip=-1.0)
    rnn("err_rnn_hidden_size.onnx", hidden_size=0)
    rnn("err_rnn_activation.onnx", op="LSTM",
        activations=["Sigmoid", "Swish", "Tanh"])
    rnn("err_rnn_activation_count.onnx", op="GRU", activations=["Sigmoid"])
    rnn("err_rnn_w_shape.onnx", op="LSTM",
        inits=[init("W", np.zeros((1, 12, 3), np.float32)),
               init("R", np.zeros((1, 16, 4), np.float32))])
    rnn("err_rnn_x_rank.onnx", x_shape=(5, 3))
    rnn("err_rnn_x_int.onnx", x_type=I32)
    rnn("err_rnn_lens_type.onnx", inputs=["x", "W", "R", "", "lens"],
        extra_inputs=[vi("lens", I64, [2])])
    rnn("err_rnn_initial_h.onnx", inputs=["x", "W", "R", "", "", "h0"],
        extra_inputs=[vi("h0", F32, [1, 3, 4])])
    rnn("err_rnn_peepholes.onnx", op="LSTM",
        inputs=["x", "W", "R", "", "", "", "", "P"],
        inits=[init("W", np.zeros((1, 16, 3), np.float32)),
               init("R", np.zeros((1, 16, 4), np.float32)),
               init("P", np.zeros((1, 8), np.float32))])
    # ONNX 1.12's checker stops this one at opset 17; past its schemas
    # (opset 19) the importer does.
    rnn("err_rnn_outputs.onnx", outputs=("y", "yh", "yc"), opset=19)


def gen_fold():
    # F.pad's pads chain: [1, 2] on the last of 3 dims, through ConstantOfShape,
    # Concat, Reshape [-1, 2], Slice step -1, Transpose, Reshape, Cast.
    i64 = lambda *v: init_i64(*v)
    nodes = [
        node("ConstantOfShape", ["n4"], ["zeros"], "zeros",
             value=numpy_helper.from_array(np.array([0], np.int64))),
        node("Concat", ["tail", "zeros"], ["all"], "concat", axis=0),
        node("Reshape", ["all", "m1_2"], ["mat"], "to_pairs"),
        node("Slice", ["mat", "start", "end", "axis0", "step"], ["flip"],
             "flip"),
        node("Transpose", ["flip"], ["flip_t"], "transpose", perm=[1, 0]),
        node("Reshape", ["flip_t", "m1"], ["flat"], "flatten"),
        node("Cast", ["flat"], ["pads"], "cast", to=I64),
        node("Pad", ["x", "pads"], ["y"], "pad")]
    model = make(nodes, [vi("x", F32, [1, 4, 2])], [vi("y", F32, [1, 4, 5])],
                 [i64("tail", 1, 2), i64("n4", 4), i64("m1_2", -1, 2),
                  i64("start", -1), i64("end", -(2 ** 63) + 1),
                  i64("axis0", 0), i64("step", -1), i64("m1", -1)])
    save("fold_pads.onnx", model)

    # Gates reordered in an initializer: W [3, 2] = [[0, 1], [2, 3], [4, 5]],
    # rows [2:3] then [0:2], transposed: [[4, 0, 2], [5, 1, 3]].
    nodes = [
        node("Slice", ["w", "s2", "e3", "axis0"], ["w_last"], "last"),
        node("Slice", ["w", "s0", "e2", "axis0"], ["w_first"], "first"),
        node("Concat", ["w_last", "w_first"], ["w_re"], "reorder", axis=0),
        node("Transpose", ["w_re"], ["w_t"], "transpose", perm=[1, 0]),
        node("MatMul", ["x", "w_t"], ["y"], "matmul")]
    model = make(nodes, [vi("x", F32, [5, 2])], [vi("y", F32, [5, 3])],
                 [init("w", np.arange(6, dtype=np.float32).reshape(3, 2)),
                  i64("s2", 2), i64("e3", 3), i64("s0", 0), i64("e2", 2),
                  i64("axis0", 0)])
    save("fold_weights.onnx", model)

    # PyTorch's rank guard: If (Cast(Not(Equal(Size(Shape(x)), 2)))) on a
    # 2-D x: decided at import time, the else branch (Abs) taken.
    then_g = helper.make_graph(
        [node("Unsqueeze", ["x", "axes0"], ["t_y"], "then_unsqueeze")], "then",
        [], [vi("t_y", F32, [1, 2, 3])])
    else_g = helper.make_graph([node("Abs", ["x"], ["e_y"], "else_abs")],
                               "else", [], [vi("e_y", F32, [2, 3])])
    nodes = [node("Shape", ["x"], ["shape"], "shape"),
             node("Size", ["shape"], ["rank"], "size"),
             node("Equal", ["rank", "two"], ["is2d"], "equal"),
             node("Not", ["is2d"], ["not2d"], "not"),
             node("Cast", ["not2d"], ["cond"], "cast", to=TensorProto.BOOL),
             node("If", ["cond"], ["y"], "guard", then_branch=then_g,
                  else_branch=else_g)]
    model = make(nodes, [vi("x", F32, [2, 3])], [vi("y", F32, [2, 3])],
                 [init("two", np.array(2, np.int64)),
                  init("axes0", np.array([0], np.int64))])
    save("fold_rank_guard.onnx", model, check=False)

    # An If on an int64 input (Silero's sample rate): qcc --input-value.
    then_g = helper.make_graph([node("Neg", ["x"], ["t_y"], "then_neg")],
                               "then", [], [vi("t_y", F32, [2, 3])])
    else_g = helper.make_graph([node("Abs", ["x"], ["e_y"], "else_abs")],
                               "else", [], [vi("e_y", F32, [2, 3])])
    nodes = [node("Equal", ["sr", "sr16k"], ["is16k"], "equal"),
             node("If", ["is16k"], ["y"], "by_rate", then_branch=then_g,
                  else_branch=else_g)]
    model = make(nodes, [vi("x", F32, [2, 3]), vi("sr", I64, []),
                         vi("gains", F32, [2])],
                 [vi("y", F32, [2, 3])],
                 [init("sr16k", np.array(16000, np.int64))])
    save("input_value_if.onnx", model, check=False)


def init_i64(name, *values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def gen_errors():
    # Two unsupported ops: Unique and NonZero.
    model = make(
        [node("Unique", ["x"], ["u"], "unique0"),
         node("NonZero", ["m"], ["nz"], "nz0")],
        [vi("x", F32, [6]), vi("m", F32, [4])],
        [vi("u", F32, [None]), vi("nz", I64, [1, None])])
    save("err_unsupported_ops.onnx", model)

    good = make([node("MatMul", ["x", "w"], ["y"], "mm")],
                [vi("x", F32, [2, 8])], [vi("y", F32, [2, 8])],
                [init("w", np.ones((8, 8), np.float32))]).SerializeToString()
    write_bytes("err_truncated.onnx", good[:len(good) // 2])
    write_bytes("err_not_onnx.onnx",
                b"This is a text file, not an ONNX model.\n")

    w16 = np.ones(16, np.float32)
    write_bytes("err_external_short.bin", w16.tobytes())  # 64 bytes

    def ext_model(fname, tensor):
        model = make([node("Add", ["x", tensor.name], ["y"], "add")],
                     [vi("x", F32, [16])], [vi("y", F32, [16])], [tensor])
        save(fname, model, check=False)

    ext_model("err_external_missing.onnx",
              external("w", "no_such_weights.bin"))
    ext_model("err_external_escape.onnx", external("w", "../x.bin"))
    ext_model("err_external_absolute.onnx",
              external("w", "/nonexistent/qopt/weights.bin"))
    # 64 bytes are needed from offset 32 of a 64-byte file.
    ext_model("err_external_range.onnx",
              external("w", "err_external_short.bin", offset=32, length=64))

    model = make([node("Relu", ["x"], ["y"], "relu")],
                 [vi("x", F32, [2, -3])], [vi("y", F32, [2, 3])])
    save("err_negative_dim.onnx", model, check=False)

    big = TensorProto()
    big.name = "w"
    big.data_type = F32
    big.dims.extend([1 << 20, 1 << 21])  # 2^41 elements
    big.float_data.append(1.0)  # ONNX's checker wants a data field
    model = make([node("Add", ["x", "w"], ["y"], "add")],
                 [vi("x", F32, [1, 1])], [vi("y", F32, [1 << 20, 1 << 21])],
                 [big])
    save("err_absurd_dim.onnx", model, check=False)

    bad = TensorProto()  # 3 float_data values for a [4] tensor
    bad.name = "w"
    bad.data_type = F32
    bad.dims.extend([4])
    bad.float_data.extend([1.0, 2.0, 3.0])
    model = make([node("Add", ["x", "w"], ["y"], "add")],
                 [vi("x", F32, [4])], [vi("y", F32, [4])], [bad])
    save("err_count_mismatch.onnx", model, check=False)
    bad_raw = TensorProto()
    bad_raw.name = "w"
    bad_raw.data_type = F32
    bad_raw.dims.extend([4])
    bad_raw.raw_data = np.ones(3, np.float32).tobytes()
    model = make([node("Add", ["x", "w"], ["y"], "add")],
                 [vi("x", F32, [4])], [vi("y", F32, [4])], [bad_raw])
    save("err_count_mismatch_raw.onnx", model, check=False)

    model = make([node("Relu", ["x"], ["y"], "relu")],
                 [vi("x", F32, [4])], [vi("y", F32, [4])], ir=11)
    save("err_ir_version.onnx", model, check=False)

    model = make([node("Relu", ["x"], ["y"], "relu")],
                 [vi("x", F32, [4])], [vi("y", F32, [4])], opset=5, ir=3)
    save("err_opset5.onnx", model, check=False)

    model = make([node("Relu", ["x"], ["y"], "relu")],
                 [vi("x", F32, [4])], [vi("y", F32, [4])], opset=22, ir=10)
    save("err_opset22.onnx", model, check=False)

    # ConvTranspose whose input has no spatial dims: ONNX 1.12's own shape
    # inference crashes on it (found by the fuzzer). The checker accepts it;
    # the importer must still end with its own clear error.
    model = make([node("ConvTranspose", ["x", "w"], ["y"], "deconv")],
                 [vi("x", F32, [1, 3]), vi("w", F32, [1, 2, 3, 3])],
                 [vi("y", F32, [1, 2, 5, 5])], opset=11, ir=6)
    save("err_onnx_inference_crash.onnx", model, check=False)

    # A graph input without a shape: --input-shape must give one.
    model = make([node("Relu", ["x"], ["y"], "relu")],
                 [helper.make_tensor_value_info("x", F32, None)],
                 [helper.make_tensor_value_info("y", F32, None)], opset=18)
    save("no_shape.onnx", model)

    # Pre-quantized ops beyond qopt's 8-bit storage.
    model = make(
        [node("MatMulNBits", ["A", "B", "scales"], ["Y"], "mmnb9", domain=MS,
              K=16, N=1, bits=9, block_size=16)],
        [vi("A", F32, [1, 16])], [vi("Y", F32, [1, 1])],
        [init("B", np.zeros((1, 1, 18), np.uint8)),
         init("scales", np.ones(1, np.float32))], domains=[(MS, 1)])
    save("err_nbits_bits9.onnx", model)
    model = make(
        [node("Quant", ["x", "s", "z", "bw"], ["y"], "quant9", domain=QONNX,
              signed=1, narrow=0, rounding_mode="ROUND")],
        [vi("x", F32, [4])], [vi("y", F32, [4])],
        [scalar("s", 0.5), scalar("z", 0.0), scalar("bw", 9.0)],
        domains=[(QONNX, 1)])
    save("err_quant_bitwidth9.onnx", model)

    model = make([node("Identity", ["x"], ["y"], "ident")],
                 [vi("x", TensorProto.STRING, [4])],
                 [vi("y", TensorProto.STRING, [4])])
    save("err_string_input.onnx", model)


def main():
    gen_elementwise()
    gen_linear()
    gen_linear_16bit()
    gen_norm()
    gen_reduce()
    gen_unsigned()
    gen_shape()
    gen_symbolic()
    gen_control_flow()
    gen_recurrent()
    gen_fold()
    gen_weights()
    gen_qdq()
    gen_integer_matmul()
    gen_matmul_nbits()
    gen_qonnx()
    gen_opset21()
    gen_errors()


if __name__ == "__main__":
    main()
