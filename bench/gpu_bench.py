#!/usr/bin/python3
"""GPU benchmarks (issue 8), run by hand on a machine with a CUDA GPU:

  1. mma.sync throughput on the device: b1 and.popc, s8, f16
     (bench/gpu/mma_peak.cu);
  2. LLaMA-7B linear layers (4096x4096, 4096x11008, 11008x4096) for
     M = 1, 4, 8, 16, 64, 256, 1024 at W2A8, W3A8, W4A8, W6A6, W8A8 (bmma
     and imma) and W4A16 (hmma): each kernel family forced with
     qcc --gpu-kernel, kernel time per call from the runtime's
     QOPT_CUDA_PROFILE (median device time of each kernel of the layer,
     the activation quantize/convert kernel included, summed), against
     cuBLAS FP16 and INT8 (bench/gpu/cublas_gemm.cu) in the same run;
  3. the cost table of those measurements (--cost-table, the planner's input:
     qcc --gpu-cost-table), then the planned libraries (qcc --gpu-cost-table,
     no --gpu-kernel) timed the same way, and the headline ratios.

Writes a Markdown report (device, driver, date, tables, ratios) to
--markdown. Libraries compile in parallel (--jobs).

usage: gpu_bench.py --qcc build/bin/qcc [--work DIR] [--markdown FILE]
                    [--cost-table FILE] [--shapes 4096x4096,...]
                    [--m 1,4,...] [--configs ...]
"""

import argparse
import concurrent.futures
import datetime
import json
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
    found = re.findall(r"qopt-cuda-profile: (\S+) calls (\d+) ms [\d.]+ "
                       r"median_ms ([\d.]+)", proc.stderr)
    if not found:
        raise RuntimeError("no kernel profile from %s: %s" % (so, proc.stderr))
    for name, calls, median in found:
        total += float(median)
    return total


FAMILIES = {False: ("bmma", "imma"), True: ("hmma",)}  # by weight-only


def compile_all(qcc, jobs):
    """Runs the qcc command lines of `jobs` ({so: argv}) in parallel; returns
    {so: error or None}."""
    def one(item):
        so, argv = item
        proc = subprocess.run([qcc] + argv + ["-o", so], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            return so, (proc.stderr.strip().splitlines() or ["?"])[-1]
        return so, None
    workers = max(1, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, jobs.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--work", default="build/bench-gpu")
    parser.add_argument("--markdown", default="")
    parser.add_argument("--cost-table", default="",
                        help="write the measured kernel times here (JSON)")
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
    device, driver = (smi.split(", ") + ["?", "?"])[:2]
    date = str(datetime.date.today())
    lines.append("Measured %s on %s (driver %s), `bench/gpu_bench.py`.\n" % (
        date, device, driver))
    lines.append("### mma.sync throughput\n\n```\n%s```\n" % peak)

    ms_list = [int(v) for v in args.m.split(",")]
    shapes = [tuple(int(v) for v in sh.split("x"))
              for sh in args.shapes.split(",")]
    configs = args.configs.split(",")
    # Every forced-kernel library, compiled in parallel.
    jobs, where = {}, {}
    for k, n in shapes:
        model = os.path.join(args.work, "linear_%dx%d.onnx" % (k, n))
        linear_model(model, k, n)
        for config in configs:
            wb, ab = CONFIGS[config]
            quant = ["--wbits=%d" % wb] + (["--abits=%d" % ab] if ab <= 8
                                            else [])
            for family in FAMILIES[ab > 8]:
                so = os.path.join(args.work, "%s_%s_%dx%d.so" % (
                    config, family, k, n))
                jobs[so] = [model, "--gpu-arch=" + args.gpu_arch,
                            "--gpu-kernel=" + family] + quant
                where[(config, family, k, n)] = so
    errors = compile_all(args.qcc, jobs)

    peers, times, entries = {}, {}, []
    for k, n in shapes:
        for m in ms_list:
            out = subprocess.run([exes["cublas_gemm"], str(m), str(n), str(k)],
                                 capture_output=True, text=True,
                                 check=True).stdout.split()
            peers[(k, n, m)] = (float(out[1]), float(out[3]))
        for (config, family, kk, nn), so in where.items():
            if (kk, nn) != (k, n) or errors[so]:
                continue
            wb, ab = CONFIGS[config]
            for m in ms_list:
                t = qopt_ms(so, m, k, args.runs)
                times[(config, family, k, n, m)] = t
                entries.append({"kernel": family, "w": wb, "a": ab, "n": n,
                                "k": k, "m": m, "us": round(t * 1000, 3)})
    table_path = args.cost_table or os.path.join(args.work, "cost_table.json")
    with open(table_path, "w") as f:
        json.dump({"device": device, "driver": driver, "date": date,
                   "source": "bench/gpu_bench.py --gpu-arch %s --runs %d"
                   % (args.gpu_arch, args.runs), "entries": entries}, f,
                  indent=1)
        f.write("\n")

    # The planned libraries: the planner reads the table just measured.
    jobs = {}
    for k, n in shapes:
        model = os.path.join(args.work, "linear_%dx%d.onnx" % (k, n))
        for config in configs:
            wb, ab = CONFIGS[config]
            so = os.path.join(args.work, "%s_planned_%dx%d.so" % (config, k, n))
            jobs[so] = [model, "--gpu-arch=" + args.gpu_arch,
                        "--gpu-cost-table=" + table_path, "--wbits=%d" % wb] + (
                            ["--abits=%d" % ab] if ab <= 8 else [])
            where[(config, "planned", k, n)] = so
    errors.update(compile_all(args.qcc, jobs))
    for k, n in shapes:
        for config in configs:
            so = where[(config, "planned", k, n)]
            if not errors[so]:
                for m in ms_list:
                    times[(config, "planned", k, n, m)] = qopt_ms(
                        so, m, k, args.runs)

    headline = []
    for k, n in shapes:
        header = ("| config | kernel | " + " | ".join("M=%d" % m
                                                     for m in ms_list) + " |")
        table = ["### K=%d, N=%d: kernel time (ms) and speed-up vs cuBLAS "
                 "INT8 / FP16\n" % (k, n), header,
                 "|---" * (len(ms_list) + 2) + "|",
                 "| cuBLAS FP16 | | " + " | ".join(
                     "%.4f" % peers[(k, n, m)][0] for m in ms_list) + " |",
                 "| cuBLAS INT8 | | " + " | ".join(
                     "%.4f" % peers[(k, n, m)][1] for m in ms_list) + " |"]
        for config in configs:
            wb, ab = CONFIGS[config]
            for family in FAMILIES[ab > 8] + ("planned",):
                so = where[(config, family, k, n)]
                if errors[so]:
                    table.append("| %s | %s | qcc failed: %s |" % (
                        config, family, errors[so]))
                    continue
                cells = []
                for m in ms_list:
                    t = times[(config, family, k, n, m)]
                    i8, f16 = peers[(k, n, m)][1], peers[(k, n, m)][0]
                    cells.append("%.4f (%.2fx / %.2fx)" % (t, i8 / t, f16 / t))
                    if family == "planned" and m in (1, 1024):
                        headline.append((config, k, n, m, i8 / t, f16 / t))
                table.append("| %s | %s | %s |" % (config, family,
                                                   " | ".join(cells)))
        print("\n".join(table) + "\n")
        lines.append("\n".join(table) + "\n")
    summary = ["### Headline: planned kernels vs cuBLAS (speed-up, >1 is "
               "faster)\n", "| config | K x N | M | vs INT8 | vs FP16 |",
               "|---|---|---|---|---|"]
    for config, k, n, m, r8, r16 in headline:
        summary.append("| %s | %dx%d | %d | %.2f | %.2f |" % (config, k, n, m,
                                                            r8, r16))
    slow = [h for h in headline if h[3] == 1024 and h[4] < 1.0 and
            CONFIGS[h[0]][1] <= 8]
    summary.append("\nPlanned integer layers slower than cuBLAS INT8 at "
                   "M = 1024: %s\n" % (", ".join(
                       "%s %dx%d (%.2fx)" % (c, k, n, r) for c, k, n, _, r, _
                       in slow) or "none"))
    print("\n".join(summary))
    lines.append("\n".join(summary) + "\n")
    lines.append("Cost table: `%s` (%d entries).\n" % (table_path,
                                                       len(entries)))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
