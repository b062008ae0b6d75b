#!/usr/bin/python3
"""Pre-quantized models (ONNX Runtime's com.microsoft MatMulNBits, 2 to 8
bits, with and without zero points, K not a multiple of the block) compiled
by qcc without --wbits, run on the CPU and checked against

* a NumPy reference of the operator's definition (float64): weight
  (code - zero point) * scale per block of K, zero point 2^(bits - 1) when
  absent; and
* ONNX Runtime (npm onnxruntime-node), for the bit widths it runs (2, 4, 8),

at several numbers of rows of a dynamic M. Also checks that weights below 8
bits are stored at their bits (CPU bit fields), not one byte per weight.

usage: prequantized.py --qcc PATH --work DIR
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402
from qopt_tools import ort  # noqa: E402

# (bits, zero points, K, N, block): K = 200 is not a multiple of its block.
CASES = [(4, False, 256, 96, 32), (4, True, 200, 64, 16),
         (2, True, 128, 64, 64), (2, False, 96, 32, 32),
         (3, False, 200, 48, 32), (5, True, 64, 32, 32),
         (6, False, 128, 32, 64), (7, True, 64, 16, 16),
         (8, False, 64, 32, 32)]
ORT_BITS = (2, 4, 8)  # what ORT's MatMulNBits kernels accept
ROWS = (1, 4, 19)
TOL = 1e-5  # relative to max |reference|


def bit_stream(codes, bits):
    """An LSB-first bit stream of unsigned codes, as MatMulNBits packs."""
    acc = 0
    for i, c in enumerate(codes):
        acc |= int(c) << (i * bits)
    return acc.to_bytes((len(codes) * bits + 7) // 8, "little")


def nbits_model(path, rng, bits, with_zp, k, n, block):
    """Writes a MatMulNBits model with a dynamic M; returns the float weight
    [K, N] it stands for."""
    blocks = (k + block - 1) // block
    codes = rng.integers(0, 1 << bits, size=(n, blocks, block))
    packed = b"".join(bit_stream(codes[r, b], bits)
                      for r in range(n) for b in range(blocks))
    blob = (block * bits + 7) // 8
    scales = (rng.uniform(0.5, 2.0, size=(n, blocks)) / (1 << bits)).astype(
        np.float32)
    inits = [numpy_helper.from_array(
        np.frombuffer(packed, np.uint8).reshape(n, blocks, blob), "B"),
        numpy_helper.from_array(scales.reshape(-1), "scales")]
    inputs = ["A", "B", "scales"]
    if with_zp:
        zps = rng.integers(0, 1 << bits, size=(n, blocks))
        zp_bytes = b"".join(bit_stream(zps[r], bits) for r in range(n))
        inits.append(numpy_helper.from_array(
            np.frombuffer(zp_bytes, np.uint8), "zero_points"))
        inputs.append("zero_points")
    else:
        zps = np.full((n, blocks), 1 << (bits - 1))
    graph = helper.make_graph(
        [helper.make_node("MatMulNBits", inputs, ["Y"], "mmnb",
                          domain="com.microsoft", K=k, N=n, bits=bits,
                          block_size=block)],
        "nbits", [helper.make_tensor_value_info("A", TensorProto.FLOAT,
                                                ["M", k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", n])],
        inits)
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]),
        path)
    w = (codes - zps[..., None]) * scales.astype(np.float64)[..., None]
    return w.reshape(n, blocks * block)[:, :k].T


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    ort_reason = ort.available()
    if ort_reason:
        print("note: ONNX Runtime not compared: %s" % ort_reason)
    rng = np.random.default_rng(5)
    failures = 0

    def check(ok, what):
        nonlocal failures
        print("%-5s %s" % ("ok" if ok else "FAIL", what))
        failures += not ok

    for bits, with_zp, k, n, block in CASES:
        name = "nbits%d%s_k%d_n%d_b%d" % (bits, "_zp" if with_zp else "", k,
                                          n, block)
        path = os.path.join(args.work, name + ".onnx")
        so = os.path.join(args.work, name + ".so")
        w = nbits_model(path, rng, bits, with_zp, k, n, block)
        proc = subprocess.run([args.qcc, path, "-o", so], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            check(False, "%s: qcc failed: %s" % (name, proc.stderr.strip()))
            continue
        # Storage: below 8 bits, CPU bit fields (i32 words) and no byte per
        # weight; 8 bits stay bytes.
        mlir = subprocess.run(
            [args.qcc, path, "--emit=mlir", "--stop-after-stage=qopt-lowering",
             "-o", "-"], capture_output=True, text=True, check=True).stdout
        k_padded = (k + block - 1) // block * block
        bytes_per_weight = re.search(
            r"dense_resource<\w+> : tensor<%dx%dxi8>" % (n, k_padded), mlir)
        fields = "dense_resource<wfields>" in mlir
        if bits < 8:
            check(fields and not bytes_per_weight,
                  "%s: weights stored as %d-bit fields" % (name, bits))
        else:
            check(bytes_per_weight and not fields,
                  "%s: 8-bit weights stay one byte each" % name)
        model = qopt.load(so)
        for m in ROWS:
            a = rng.standard_normal((m, k)).astype(np.float32)
            got = model.run({"A": a})["Y"]
            ref = a.astype(np.float64) @ w
            scale = max(float(np.abs(ref).max()), 1e-30)
            err = float(np.abs(got - ref).max()) / scale
            check(got.shape == ref.shape and err <= TOL,
                  "%s M=%d: rel. error %.2g against NumPy" % (name, m, err))
            if ort_reason or bits not in ORT_BITS:
                continue
            want = ort.run(path, {"A": a})[0]["Y"]
            err = float(np.abs(got - want).max()) / scale
            check(err <= TOL, "%s M=%d: rel. error %.2g against ONNX Runtime"
                  % (name, m, err))
    if failures:
        print("%d checks failed" % failures)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
