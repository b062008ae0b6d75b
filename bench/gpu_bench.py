#!/usr/bin/python3
"""GPU benchmarks (issue 8), run by hand on a machine with a CUDA GPU:

  1. mma.sync throughput on the device: b1 and.popc, s8, f16
     (bench/gpu/mma_peak.cu);
  2. LLaMA-7B linear layers (4096x4096, 4096x11008, 11008x4096) for
     M = 1, 4, 8, 16, 64, 256, 1024: qopt's bit-plane kernels (model.so built
     with qcc --gpu-arch, kernel time per call from the runtime's
     QOPT_CUDA_PROFILE: quantize+pack and BMMA, launch to completion) at
     W2A8, W3A8, W4A8, W6A6, W8A8, against cuBLAS FP16 and INT8
     (bench/gpu/cublas_gemm.cu) in the same run.

W4A16 (weight-only with 16-bit activations) has no GPU lowering yet: it is
listed as such. Writes a Markdown report (device, driver, date, tables,
ratios) to --markdown.

usage: gpu_bench.py --qcc build/bin/qcc [--work DIR] [--markdown FILE]
                    [--shapes 4096x4096,...] [--m 1,4,...] [--configs ...]
"""

import argparse
import datetime
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
NVCC = os.environ.get("NVCC", "/usr/local/cuda/bin/nvcc")

CONFIGS = {"W2A8": (2, 8), "W3A8": (3, 8), "W4A8": (4, 8), "W6A6": (6, 6),
           "W8A8": (8, 8), "W4A16": (4, 16)}

# Times one model.so in a child process (the profile is printed when the
# library unloads): R runs of X [M, K].
CHILD = r"""
import sys
import numpy as np
sys.path.insert(0, %r)
import qopt
m = qopt.load(sys.argv[1])
if m.device != "cuda":
    print("NOGPU " + m.device_info)
    sys.exit(0)
x = np.random.default_rng(0).standard_normal(
    (int(sys.argv[2]), int(sys.argv[3]))).astype(np.float32)
for _ in range(int(sys.argv[4])):
    m.run({"x": x})
""" % os.path.join(ROOT, "python")


def build_cuda(work):
    exes = {}
    for name, extra in (("mma_peak", []), ("cublas_gemm", ["-lcublas"])):
        exe = os.path.join(work, name)
        src = os.path.join(ROOT, "bench", "gpu", name + ".cu")
        subprocess.run([NVCC, "-O3", "-arch=native", src, "-o", exe] + extra,
                       check=True)
        exes[name] = exe
    return exes


def linear_model(path, k, n):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = (np.random.default_rng(1).standard_normal((k, n)) /
         np.sqrt(k)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def qopt_ms(so, m, k, runs):
    env = dict(os.environ, QOPT_DEVICE="cuda", QOPT_CUDA_PROFILE="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, so, str(m), str(k),
                           str(runs)], capture_output=True, text=True,
                          env=env)
    if "NOGPU" in proc.stdout:
        raise SystemExit("no GPU: " + proc.stdout.strip())
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    total = 0.0
    for name, calls, ms in re.findall(
            r"qopt-cuda-profile: (\S+) calls (\d+) ms ([\d.]+)", proc.stderr):
        total += float(ms) / int(calls)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", default="build/bench-gpu")
    parser.add_argument("--markdown", default="")
    parser.add_argument("--shapes", default="4096x4096,4096x11008,11008x4096",
                        help="KxN of the linear layers")
    parser.add_argument("--m", default="1,4,8,16,64,256,1024")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--gpu-arch", default="sm_90")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    exes = build_cuda(args.work)
    lines = []

    peak = subprocess.run([exes["mma_peak"]], capture_output=True, text=True,
                          check=True).stdout
    print(peak)
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                          "--format=csv,noheader"], capture_output=True,
                         text=True).stdout.strip()
    lines.append("Measured %s on %s (driver %s), `bench/gpu_bench.py`.\n" % (
        datetime.date.today(), *(smi.split(", ") + ["?", "?"])[:2]))
    lines.append("### mma.sync throughput\n\n```\n%s```\n" % peak)

    ms_list = [int(v) for v in args.m.split(",")]
    for shape in args.shapes.split(","):
        k, n = (int(v) for v in shape.split("x"))
        model = os.path.join(args.work, "linear_%dx%d.onnx" % (k, n))
        linear_model(model, k, n)
        peers = {}
        for m in ms_list:
            out = subprocess.run([exes["cublas_gemm"], str(m), str(n), str(k)],
                                 capture_output=True, text=True,
                                 check=True).stdout.split()
            peers[m] = (float(out[1]), float(out[3]))
        header = ("| config | " + " | ".join("M=%d" % m for m in ms_list) +
                  " |")
        table = ["### K=%d, N=%d: kernel time (ms) and speed-up vs cuBLAS "
                 "INT8 / FP16\n" % (k, n), header,
                 "|---" * (len(ms_list) + 1) + "|",
                 "| cuBLAS FP16 | " + " | ".join("%.4f" % peers[m][0]
                                                 for m in ms_list) + " |",
                 "| cuBLAS INT8 | " + " | ".join("%.4f" % peers[m][1]
                                                 for m in ms_list) + " |"]
        for config in args.configs.split(","):
            wb, ab = CONFIGS[config]
            if ab > 8:
                table.append("| %s | no GPU lowering yet (weight-only 16-bit "
                             "activations) |" % config)
                continue
            so = os.path.join(args.work, "%s_%dx%d.so" % (config, k, n))
            proc = subprocess.run([args.qcc, model, "-o", so,
                                   "--wbits=%d" % wb, "--abits=%d" % ab,
                                   "--gpu-arch=" + args.gpu_arch],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                table.append("| %s | qcc failed: %s |" % (
                    config, proc.stderr.strip().splitlines()[0]))
                continue
            cells = []
            for m in ms_list:
                t = qopt_ms(so, m, k, args.runs)
                cells.append("%.4f (%.2fx / %.2fx)" % (
                    t, peers[m][1] / t, peers[m][0] / t))
            table.append("| %s | %s |" % (config, " | ".join(cells)))
        print("\n".join(table) + "\n")
        lines.append("\n".join(table) + "\n")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
