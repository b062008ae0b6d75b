#!/usr/bin/python3
"""CPU speed of single linear layers (LLaMA-7B shapes) at each weight
format, against f32 model.so and ONNX Runtime in the same run.

    /usr/bin/python3 bench/cpu_linear.py [--qcc build/bin/qcc]
        [--baseline-qcc OLD/bin/qcc] [--shapes 4096x4096,4096x11008,11008x4096]
        [--m 1,16,128]
        [--configs f32,w8a8,w4a8,w2a8,w3a8,w6a6,w4a16-g64,q4-nbits]
        [--repeat 10] [--markdown table.md] [--cpu haswell]

Each layer is one MatMul [M, K] x [K, N] with a dynamic M (as an exported
LM has), compiled with `qcc -O3`; qopt is timed from C (bench/qopt_time.c),
ORT (onnxruntime-node) from Node.js, both single-threaded, medians of
--repeat runs after a warm-up. `q4-nbits` is the layer rewritten to ORT's
4-bit MatMulNBits (bench/lm/to_matmulnbits.py, blocks of 32): qcc compiles
that file and ORT runs it with its 4-bit kernels. With --baseline-qcc the
same configs are also compiled by another qcc build and timed in the same
run (a before/after column). A ratio below 1 means qopt is faster.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import qopt  # noqa: E402
from qopt_tools import ort  # noqa: E402
from ort_compare import build_timer, time_qopt  # noqa: E402

CONFIGS = {
    "f32": [],
    "w8a8": ["--wbits", "8", "--abits", "8", "--smooth", "off"],
    "w4a8": ["--wbits", "4", "--abits", "8", "--smooth", "off"],
    "w2a8": ["--wbits", "2", "--abits", "8", "--smooth", "off"],
    "w3a8": ["--wbits", "3", "--abits", "8", "--smooth", "off"],
    "w6a6": ["--wbits", "6", "--abits", "6", "--smooth", "off"],
    "w4a16-g64": ["--wbits", "4", "--group-size", "64"],
    "q4-nbits": [],  # the MatMulNBits file, pre-quantized
}


def linear_model(k, n, path):
    w = (np.random.default_rng(0).standard_normal((k, n)) /
         np.sqrt(k)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["M", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["M", n])],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qcc", default=os.path.join(ROOT, "build", "bin",
                                                      "qcc"))
    parser.add_argument("--baseline-qcc", default=None)
    parser.add_argument("--shapes", default="4096x4096,4096x11008,11008x4096",
                        help="K x N of each layer")
    parser.add_argument("--m", default="1,16,128")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--markdown", default=None)
    parser.add_argument("--cpu", default=None,
                        help="qcc --cpu for both qcc builds (default: this "
                        "machine); ORT keeps its own kernels")
    args = parser.parse_args()
    reason = ort.available()
    if reason:
        sys.exit("bench: %s" % reason)
    configs = args.configs.split(",")
    for c in configs:
        if c not in CONFIGS:
            sys.exit("bench: unknown config %s" % c)
    ms = [int(m) for m in args.m.split(",")]
    header = ["K x N", "M", "config", "qopt ms"]
    if args.baseline_qcc:
        header += ["baseline ms", "baseline / qopt"]
    header += ["qopt f32 ms", "ORT f32 ms", "ORT q4 ms", "qopt / qopt f32",
               "qopt / ORT f32", "qopt / ORT q4"]
    rows = []
    print("machine: %s, %d cores; %s" % (
        platform.processor() or platform.machine(), os.cpu_count(),
        time.strftime("%Y-%m-%d")))
    print(" | ".join(header))
    with tempfile.TemporaryDirectory() as tmp:
        timer = build_timer(tmp)
        for shape in args.shapes.split(","):
            k, n = (int(v) for v in shape.split("x"))
            model = os.path.join(tmp, "linear-%s.onnx" % shape)
            linear_model(k, n, model)
            nbits = os.path.join(tmp, "linear-%s-q4.onnx" % shape)
            subprocess.run([sys.executable, os.path.join(
                ROOT, "bench", "lm", "to_matmulnbits.py"), model, nbits],
                check=True, capture_output=True)
            libraries = {}
            for config in set(configs) | {"f32"}:
                source = nbits if config == "q4-nbits" else model
                for tag, qcc in [("new", args.qcc),
                                 ("base", args.baseline_qcc)]:
                    if not qcc:
                        continue
                    so = os.path.join(tmp, "%s-%s-%s.so" % (shape, config,
                                                            tag))
                    cpu = ["--cpu=" + args.cpu] if args.cpu else []
                    subprocess.run([qcc, source, "-o", so, "-O3"] + cpu +
                                   CONFIGS[config], check=True,
                                   capture_output=True)
                    libraries[config, tag] = so
            inputs = qopt.load(libraries["f32", "new"]).inputs
            for m in ms:
                feeds = {"x": np.random.default_rng(m).standard_normal(
                    (m, k)).astype(np.float32)}

                def qtime(so):
                    return time_qopt(timer, so, inputs, feeds, args.repeat,
                                     tmp)

                def otime(path):
                    _, t = ort.run(path, feeds, repeat=args.repeat,
                                   threads=1)
                    return statistics.median(t)

                f32 = qtime(libraries["f32", "new"])
                ort_f32, ort_q4 = otime(model), otime(nbits)
                for config in configs:
                    t = f32 if config == "f32" else qtime(
                        libraries[config, "new"])
                    row = [shape, str(m), config, "%.3f" % t]
                    if args.baseline_qcc:
                        b = qtime(libraries[config, "base"])
                        row += ["%.3f" % b, "%.2f" % (b / t)]
                    row += ["%.3f" % f32, "%.3f" % ort_f32, "%.3f" % ort_q4,
                            "%.2f" % (t / f32), "%.2f" % (t / ort_f32),
                            "%.2f" % (t / ort_q4)]
                    rows.append(row)
                    print(" | ".join(row), flush=True)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| " + " | ".join(header) + " |\n")
            f.write("| " + " | ".join(["---"] * 3 + ["---:"] *
                                      (len(header) - 3)) + " |\n")
            for row in rows:
                f.write("| " + " | ".join(row) + " |\n")


if __name__ == "__main__":
    main()
