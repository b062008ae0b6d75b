#!/usr/bin/python3
"""The decode tile at a LLaMA-like size on the PTX emulator: linear layers of
K = 3072 x N = 4096 compiled for sm_90 (qcc's shared memory budget there,
112 KiB, taken as dynamic shared memory), so that the decode tile has six
k-tiles in flight and no split of K over blocks, which the small test
layers never reach. Cases: W4A8 asymmetric on both sides (imma, weight
zero points in its operands, the kernel quantizing its own rows, 88 KiB),
W8A8 (symmetric, five stages in 96 KiB: its weight columns padded against
bank conflicts leave no room for a sixth) and weight-only W4 from f32 rows
(hmma converting its own rows, six 6 KiB stages: static). Each library's plan and kernel attributes
are checked (qcc --emit=mlir: the decode kernel, its stages and dynamic
shared memory), then its GPU variant (the emulator, through the runtime,
which opts each kernel into its shared memory) against its CPU variant at
M = 1 and 3, within 1e-5 of max |CPU output| (for hmma, whose f16
operands round the activations, the CPU variant runs on the f16-rounded
activations, as in gpu_vs_cpu.py).

usage: decode_shapes.py --qcc PATH --work DIR --cuda-library LIBQOPT_CUDA_EMU
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
from gpu_vs_cpu import run  # noqa: E402

K, N = 3072, 4096
# (name, qcc flags, the decode kernel, its stages, its dynamic shared
#  memory in bytes, tolerance)
CASES = [
    ("W4A8 asym", ["--wbits=4", "--abits=8", "--scheme=asym",
                   "--act-scheme=asym"],
     "qmatmul0_imma_m16_wk4_quant", 6, 90176, 1e-5),
    ("W8A8", ["--wbits=8", "--abits=8"],
     "qmatmul0_imma_m16_wk4_quant", 5, 98368, 1e-5),
    ("W4 weight-only", ["--wbits=4"], "qmatmul0_hmma_m16_wk4_cvt", 6, None,
     1e-5),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--cuda-library", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    import onnx
    from qopt_tools import models
    model = os.path.join(args.work, "linear.onnx")
    onnx.save(models.linear(k=K, n=N, bias=True), model)
    input_name = onnx.load(model).graph.input[0].name
    failures = 0
    for name, flags, kernel, stages, dynamic, tol in CASES:
        so = os.path.join(args.work, name.replace(" ", "_") + ".so")
        common = [model, "--gpu-arch=sm_90"] + flags
        ir = subprocess.run([args.qcc] + common + [
            "--emit=mlir", "--stop-after-stage=gpu"],
            capture_output=True, text=True)
        func = re.search(r"gpu\.func @%s\(.*" % kernel, ir.stdout)
        attrs = func.group(0) if func else ""
        got_stages = re.search(r"stages = (\d+)", attrs)
        got_dynamic = re.search(r"qopt\.dynamic_shared_bytes = (\d+)", attrs)
        ok = bool(func) and got_stages and int(got_stages.group(1)) == stages \
            and "split_k = 1 " in attrs and (
                int(got_dynamic.group(1)) == dynamic if dynamic
                else got_dynamic is None)
        print("%s %s: %s, %s stages, %s bytes of dynamic shared memory"
              % ("ok  " if ok else "FAIL", name, kernel if func else
                 "no " + kernel + " " + ir.stderr.strip()[-300:],
                 got_stages.group(1) if got_stages else "?",
                 got_dynamic.group(1) if got_dynamic else "no"))
        failures += not ok
        proc = subprocess.run([args.qcc] + common + ["-o", so],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print("FAIL %s: qcc failed: %s" % (name, proc.stderr.strip()))
            failures += 1
            continue
        for m in (1, 3):
            x = np.random.default_rng(m).standard_normal((m, K)).astype(
                np.float32)
            feeds = os.path.join(args.work, "feeds.npz")
            np.savez(feeds, **{input_name: x})
            if "weight-only" in name:
                # hmma rounds the activations to f16: so does the reference.
                np.savez(os.path.join(args.work, "feeds_f16.npz"),
                         **{input_name: x.astype(np.float16).astype(
                             np.float32)})
            outs = {}
            for device in ("cuda", "cpu"):
                path = os.path.join(args.work, device + ".npz")
                feed = feeds if device == "cuda" or "weight-only" not in name \
                    else os.path.join(args.work, "feeds_f16.npz")
                info = run(so, feed, path, device,
                           args.cuda_library if device == "cuda" else None)
                if info["error"] or info["device"] != device:
                    print("FAIL %s M=%d: %s run failed: %s"
                          % (name, m, device, info["error"] or info["info"]))
                    outs = None
                    break
                outs[device] = list(np.load(path).values())[0]
            if outs is None:
                failures += 1
                continue
            scale = float(np.abs(outs["cpu"]).max())
            diff = float(np.abs(outs["cuda"] - outs["cpu"]).max()) / scale
            ok = diff <= tol
            print("%s %s M=%d: max |gpu - cpu| = %.2e of max |y|"
                  % ("ok  " if ok else "FAIL", name, m, diff))
            failures += not ok
    print("decode shapes: %d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
