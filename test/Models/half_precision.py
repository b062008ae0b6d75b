#!/usr/bin/python3
"""Float models of 16-bit types, unquantized: qcc's f16 and bf16 MatMul,
Gemm (transB, alpha, beta, bias) and Conv (one group and grouped) against
NumPy in float64. The importer sums 16-bit products in f32 and rounds once
to the type, so every output must be within half a step of the type of the
exact value (2^-11 of it for f16, 2^-8 for bf16), plus a small allowance
for the f32 sum itself. K = 4096 makes a 16-bit accumulator fail this by far.

usage: half_precision.py --qcc PATH --work DIR
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402
from qopt_tools import models  # noqa: E402

# Half a step of the type, relative to the value: f16 has 11 significant
# bits, bf16 8.
HALF_STEP = {"f16": 2.0 ** -11, "bf16": 2.0 ** -8}
ELEM = {"f16": TensorProto.FLOAT16, "bf16": TensorProto.BFLOAT16}


def rounded(x, kind):
    """float32 values rounded to the type, as float64, and the array the
    runtime takes (float16, or bf16 bits as uint16)."""
    if kind == "f16":
        h = x.astype(np.float16)
        return h.astype(np.float64), h
    bits = models.bf16_bits(x)
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(
        np.float64), bits


def as_float(y, kind):
    if kind == "f16":
        return y.astype(np.float64)
    return (y.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def conv2d(x, w, groups, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    og = o // groups
    y = np.zeros((n, o, h - kh + 1, wd - kw + 1))
    for oc in range(o):
        g = oc // og
        for i in range(y.shape[2]):
            for j in range(y.shape[3]):
                y[:, oc, i, j] = (x[:, g * cg:(g + 1) * cg, i:i + kh,
                                    j:j + kw] * w[oc]).sum(axis=(1, 2, 3))
    return y


def cases(kind, rng):
    """(name, model, feeds, references) per case; weights rounded to the
    type, references exact in float64."""
    elem = ELEM[kind]
    out = []
    k, n = 4096, 64
    w32 = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    w, _ = rounded(w32, kind)
    x, xt = rounded(rng.standard_normal((5, k)).astype(np.float32), kind)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
        [helper.make_tensor_value_info("x", elem, [5, k])],
        [helper.make_tensor_value_info("y", elem, [5, n])],
        [models.float_tensor(w32, "w", elem)])
    out.append(("MatMul K=4096", graph, {"x": xt}, {"y": x @ w}))

    b32 = rng.standard_normal((48, 256)).astype(np.float32) / 16
    c32 = rng.standard_normal(48).astype(np.float32)
    b, _ = rounded(b32, kind)
    c, _ = rounded(c32, kind)
    x, xt = rounded(rng.standard_normal((3, 256)).astype(np.float32), kind)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "b", "c"], ["y"], transB=1,
                          alpha=0.5, beta=2.0)], "gemm",
        [helper.make_tensor_value_info("x", elem, [3, 256])],
        [helper.make_tensor_value_info("y", elem, [3, 48])],
        [models.float_tensor(b32, "b", elem),
         models.float_tensor(c32, "c", elem)])
    # alpha and beta are powers of two: exact in every step.
    out.append(("Gemm transB alpha beta", graph, {"x": xt},
                {"y": 0.5 * (x @ b.T) + 2.0 * c}))

    w32 = rng.standard_normal((6, 16, 3, 3)).astype(np.float32) / 12
    wg32 = rng.standard_normal((8, 8, 3, 3)).astype(np.float32) / 8
    w, _ = rounded(w32, kind)
    wg, _ = rounded(wg32, kind)
    x, xt = rounded(rng.standard_normal((2, 16, 7, 7)).astype(np.float32),
                    kind)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1]),
         helper.make_node("Conv", ["x", "wg"], ["z"], kernel_shape=[3, 3],
                          group=2)], "conv",
        [helper.make_tensor_value_info("x", elem, [2, 16, 7, 7])],
        [helper.make_tensor_value_info("y", elem, [2, 6, 7, 7]),
         helper.make_tensor_value_info("z", elem, [2, 8, 5, 5])],
        [models.float_tensor(w32, "w", elem),
         models.float_tensor(wg32, "wg", elem)])
    out.append(("Conv and grouped Conv", graph, {"x": xt},
                {"y": conv2d(x, w, 1, 1), "z": conv2d(x, wg, 2, 0)}))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for kind in ("f16", "bf16"):
        rng = np.random.default_rng(7)
        for name, graph, feeds, refs in cases(kind, rng):
            model = helper.make_model(
                graph, opset_imports=[helper.make_opsetid("", 17)])
            model.ir_version = 8
            tag = "%s_%s" % (kind, name.split()[0])
            path = os.path.join(args.work, tag + ".onnx")
            so = os.path.join(args.work, tag + ".so")
            onnx.save(model, path)
            proc = subprocess.run([args.qcc, path, "-o", so],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print("FAIL  %s %s: qcc: %s" % (kind, name, proc.stderr))
                failures += 1
                continue
            outs = qopt.load(so).run(feeds)
            for out, ref in refs.items():
                got = as_float(outs[out], kind)
                err = np.abs(got - ref)
                bound = HALF_STEP[kind] * np.abs(ref) + \
                    1e-6 * np.abs(ref).max()
                ok = got.shape == ref.shape and bool(np.all(err <= bound))
                failures += not ok
                print("%s  %-4s %-24s %s: max |err| %.3g, %.2f of the "
                      "half-step bound at worst" % (
                          "ok  " if ok else "FAIL", kind, name, out,
                          err.max(), float((err / bound).max())))
    if failures:
        print("%d failures" % failures)
        return 1
    print("all 16-bit products within one rounding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
