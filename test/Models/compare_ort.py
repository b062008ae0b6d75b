#!/usr/bin/python3
"""Compiles the generated models (an MLP, a transformer block, a small CNN;
python/qopt_tools/models.py) with qcc and checks their outputs against ONNX
Runtime (npm onnxruntime-node) on the same inputs, for several batch sizes
(and sequence lengths): |qopt - ort| <= 1e-4 * |ort| + 1e-6 element-wise.

usage: compare_ort.py --qcc PATH --work DIR
"""

import argparse
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import qopt  # noqa: E402
from qopt_tools import models, ort  # noqa: E402

# Elementwise relative error plus an absolute term scaled by the output's
# magnitude: float32 reductions over wide layers (outlier channels) err
# relative to the tensor's scale, not to each near-zero element.
RTOL, NORM_TOL = 1e-4, 2e-6
CASES = {"mlp": [(1, 0), (3, 0), (17, 0)],
         "transformer": [(1, 5), (2, 9), (3, 16)],
         "cnn": [(1, 0), (4, 0)],
         "outlier_block": [(1, 3), (2, 8)],
         "linear": [(1, 0), (5, 0)],
         "mixed_sensitivity": [(1, 0), (6, 0)]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    reason = ort.available()
    if reason:
        print("compare_ort: cannot run ONNX Runtime: %s" % reason)
        return 1
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    print("%-12s %-12s %-16s %12s %12s  %s" % ("model", "inputs", "output",
                                               "max |diff|", "max rel", "ok"))
    for name, build in models.MODELS.items():
        path = os.path.join(args.work, name + ".onnx")
        so = os.path.join(args.work, name + ".so")
        import onnx
        onnx.save(build(), path)
        proc = subprocess.run([args.qcc, path, "-o", so], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            print("%s: qcc failed: %s" % (name, proc.stderr.strip()))
            failures += 1
            continue
        compiled = qopt.load(so)
        for batch, seq in CASES[name]:
            feeds = models.sample_inputs(name, batch, seed=batch, seq=seq or 7)
            want, _ = ort.run(path, feeds)
            got = compiled.run(feeds)
            for out, ref in want.items():
                res = got[out]
                ok = res.shape == ref.shape and np.all(
                    np.abs(res - ref) <= RTOL * np.abs(ref) +
                    NORM_TOL * max(1.0, float(np.abs(ref).max())))
                diff = np.abs(res - ref).max() if res.shape == ref.shape else np.inf
                rel = diff / max(np.abs(ref).max(), 1e-30)
                shape = "x".join(str(d) for d in feeds[next(iter(feeds))].shape)
                print("%-12s %-12s %-16s %12.3g %12.3g  %s" % (
                    name, shape, out, diff, rel, "ok" if ok else "MISMATCH"))
                failures += not ok
    if failures:
        print("%d mismatches" % failures)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
