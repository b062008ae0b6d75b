#!/usr/bin/python3
"""Times model.so (qcc) against ONNX Runtime (onnxruntime-node) on the same
models and inputs, in one run, and prints the ratio.

    /usr/bin/python3 bench/ort_compare.py [--qcc build/bin/qcc] [--repeat 50]
        [--models mlp,transformer,cnn,transformer-large] [--onnx extra.onnx ...]

qopt is timed from C (bench/qopt_time.c calling qopt_model_run), ORT from
Node.js (session.run); both exclude loading and include the C API's input
checks and output allocation. Both sides run single-threaded (ORT with intra_op_num_threads = 1; qopt's
generated code is single-threaded) and, for reference, ORT with its default
thread pool. Times are medians of --repeat runs after a warm-up. A ratio
below 1 means qopt is faster.
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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402
from qopt_tools import models, ort  # noqa: E402

BENCH_MODELS = {
    "mlp": (models.mlp, lambda: models.sample_inputs("mlp", 64)),
    "transformer": (models.transformer,
                    lambda: models.sample_inputs("transformer", 4, seq=32)),
    "transformer-large": (
        lambda: models.transformer(d=256, heads=8, ff=1024),
        lambda: {"x": np.random.default_rng(0).standard_normal(
            (1, 128, 256)).astype(np.float32)}),
    "cnn": (models.cnn, lambda: models.sample_inputs("cnn", 16)),
}


_CODES = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3,
          np.dtype(np.int32): 6, np.dtype(np.int64): 7, np.dtype(np.float16): 10}


def build_timer(tmp):
    """bench/qopt_time.c: times qopt_model_run from C, no binding in the way."""
    exe = os.path.join(tmp, "qopt_time")
    cc = os.environ.get("CC", "clang-22")
    subprocess.run([cc, "-O2", "-I", os.path.join(ROOT, "include"),
                    os.path.join(ROOT, "bench", "qopt_time.c"), "-o", exe,
                    "-ldl"], check=True)
    return exe


def time_qopt(timer, so, model_inputs, feeds, repeat, tmp):
    args = [timer, so, str(repeat)]
    for i, info in enumerate(model_inputs):
        array = np.require(feeds[info.name], requirements="C")
        path = os.path.join(tmp, "in%d.bin" % i)
        array.tofile(path)
        args.append("%s:%d:%s" % (path, _CODES[array.dtype],
                                  "x".join(str(d) for d in array.shape)))
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qcc", default=os.path.join(ROOT, "build", "bin", "qcc"))
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--models", default=",".join(BENCH_MODELS))
    parser.add_argument("--opt", default="-O3")
    parser.add_argument("--lm", default=None,
                        help="folder of bench/lm/train_lm.py's output: also "
                        "time the LM (1 x 128 tokens) at f32, W8A8 and "
                        "W4A16 against ORT f32")
    args = parser.parse_args()
    reason = ort.available()
    if reason:
        sys.exit("bench: %s" % reason)
    print("machine: %s, %d cores; %s" % (platform.processor() or platform.machine(),
                                         os.cpu_count(), time.strftime("%Y-%m-%d")))
    print("%-18s %12s %14s %14s %10s %12s" % (
        "model", "qopt ms", "ORT-1t ms", "ORT-all ms", "qopt/ORT1", "qopt/ORTall"))
    with tempfile.TemporaryDirectory() as tmp:
        timer = build_timer(tmp)
        jobs = []
        for name in args.models.split(",") if args.models else []:
            build, inputs = BENCH_MODELS[name]
            path = os.path.join(tmp, name + ".onnx")
            onnx.save(build(), path)
            jobs.append((name, path, [], inputs))
        if args.lm:
            tokens = np.load(os.path.join(args.lm, "val_tokens.npy"))
            lm_feeds = lambda: {"tokens": tokens[None, :128].astype(np.int64)}
            lm = os.path.join(args.lm, "lm.onnx")
            jobs += [("lm-f32", lm, [], lm_feeds),
                     ("lm-w8a8", lm, ["--wbits", "8", "--abits", "8",
                                      "--smooth", "off"], lm_feeds),
                     ("lm-w4a16-g64", lm, ["--wbits", "4", "--group-size",
                                           "64"], lm_feeds)]
            # ORT's 4-bit kernels on its own format, against qcc compiling
            # that same file.
            q4 = os.path.join(tmp, "lm-q4.onnx")
            subprocess.run([sys.executable, os.path.join(
                ROOT, "bench", "lm", "to_matmulnbits.py"), lm, q4],
                check=True, capture_output=True)
            jobs.append(("lm-matmulnbits-q4", q4, [], lm_feeds))
        for name, path, flags, inputs in jobs:
            so = os.path.join(tmp, name + ".so")
            subprocess.run([args.qcc, path, "-o", so, args.opt] + flags,
                           check=True, capture_output=True)
            feeds = inputs()
            q = time_qopt(timer, so, qopt.load(so).inputs, feeds, args.repeat,
                          tmp)
            _, t1 = ort.run(path, feeds, repeat=args.repeat, threads=1)
            _, tn = ort.run(path, feeds, repeat=args.repeat)
            o1, on = statistics.median(t1), statistics.median(tn)
            print("%-18s %12.3f %14.3f %14.3f %10.2f %12.2f" % (
                name, q, o1, on, q / o1, q / on))


if __name__ == "__main__":
    main()
