#!/usr/bin/python3
"""Rewrites every MatMul whose right operand is a 2-D initializer [K, N]
into ONNX Runtime's com.microsoft MatMulNBits: 4-bit weights in blocks of
--block-size along K, one f32 scale per block, symmetric (the default zero
point 8 of a 4-bit MatMulNBits), round to nearest. This is the format ORT's
own quantizer writes (which lives on PyPI, unreachable here); ORT runs it
with its 4-bit kernels, and qcc imports it as pre-quantized weights.

usage: bench/lm/to_matmulnbits.py IN.onnx OUT.onnx [--block-size 32]
"""

import argparse
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def quantize(w, block):
    """w [K, N] -> (packed uint8 [N, blocks, block / 2], scales f32
    [N * blocks]): q = clamp(round(w / s) + 8, 0, 15), s = max|w| / 7 per
    block; element 2i of a block in the low nibble of byte i."""
    k, n = w.shape
    blocks = (k + block - 1) // block
    wt = np.zeros((n, blocks * block), np.float32)
    wt[:, :k] = w.T
    wb = wt.reshape(n, blocks, block)
    scale = np.abs(wb).max(axis=2) / 7.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(wb / scale[..., None]) + 8, 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return packed, scale.reshape(-1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--block-size", type=int, default=32)
    args = p.parse_args()
    m = onnx.load(args.input)
    inits = {t.name: t for t in m.graph.initializer}
    nodes, used, count = [], set(), 0
    for node in m.graph.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if w is None or len(w.dims) != 2:
            nodes.append(node)
            continue
        arr = numpy_helper.to_array(w).astype(np.float32)
        k, n = arr.shape
        packed, scales = quantize(arr, args.block_size)
        bname, sname = node.input[1] + "_q4", node.input[1] + "_scales"
        m.graph.initializer.extend([numpy_helper.from_array(packed, bname),
                                    numpy_helper.from_array(scales, sname)])
        used.add(node.input[1])
        nodes.append(helper.make_node(
            "MatMulNBits", [node.input[0], bname, sname], list(node.output),
            name=node.name + "_nbits", domain="com.microsoft", K=k, N=n,
            bits=4, block_size=args.block_size))
        count += 1
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    keep = [t for t in m.graph.initializer if t.name not in used or any(
        t.name in n.input for n in nodes)]
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    if not any(o.domain == "com.microsoft" for o in m.opset_import):
        m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(m, args.output)
    print("%d MatMul -> MatMulNBits (4 bits, blocks of %d): %s"
          % (count, args.block_size, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
