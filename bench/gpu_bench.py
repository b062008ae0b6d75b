#!/usr/bin/python3
"""GPU benchmarks (issue 8): mma.sync throughput on the device and qopt's
kernels against cuBLAS FP16 / INT8 in the same run.

  1. mma.sync throughput on the device: b1 and.popc, s8, f16
     (bench/gpu/mma_peak.cu), and on sm_90 wgmma's for the same types
     (bench/gpu/wgmma_peak.cu, built for sm_90a), the ceiling that qopt's
     mma.sync kernels do not reach there;
  2. LLaMA-7B linear layers (4096x4096, 4096x11008, 11008x4096) for
     M = 1, 4, 8, 16, 64, 256, 1024 at W2A8, W3A8, W4A8, W6A6, W8A8 (bmma
     and imma) and W4A16 (hmma, on an f16 model: f16 activations, weights
     and output, as cuBLAS FP16 takes them): each kernel family forced with
     qcc --gpu-kernel, kernel time per call from the runtime's
     QOPT_CUDA_PROFILE (median device time of each kernel of the layer,
     the activation quantize/convert kernel included, summed), against
     cuBLAS FP16 and INT8 (bench/gpu/cublas_gemm.cu) in the same run;
  3. the cost table of those measurements (the planner's input:
     qcc --gpu-cost-table), the planner's choice per layer and M (read from
     qcc's qopt.gpu_plan with that table) and its measured time, and the
     headline ratios;
  4. an A/B of imma/hmma's decode tile at the small Ms (--ab-configs, M <=
     4): the default (warps splitting K over 16 x 16 blocks, 512-byte
     k-tiles) against its warps along N (16 x 64 blocks, split K over
     blocks and a reduction kernel; qcc --gpu-warps-split-k-max-m=0) and
     against 128-K stages (qcc --gpu-decode-k-tile=128
     --gpu-decode-max-stages=3) and against its stages within 48 KiB of
     static shared memory (qcc --gpu-shared-memory-kib=48) and against a
     quantize kernel before it rather than its own quantization of the
     float rows (qcc --gpu-decode-fuse-quant=false; W4A8: each of the N /
     16 blocks stages 4-byte floats, not bytes; W4A16 unchanged, a control
     of the timing's noise); at 4 < M <= 16
     the default (the 16 x 64 strip, split K over blocks, a quantize and a
     reduction kernel beside it) against the decode tile taken up to M = 16
     (qcc --gpu-warps-split-k-max-m=16: one kernel, its 16 rows read by
     each of the N / 16 blocks); at large M the 64 x 64 and 128 x 128
     tiles against each other. Reported beside the tables and left out of
     the cost table.

The libraries are built with qcc --gpu-bench-weights (pseudo-random GPU
weights, ~150 KB each), so that they can be built here and carried to a GPU
machine that has no LLVM/MLIR. Three phases, or all at once where qcc and
a GPU are on one machine:

  gpu_bench.py --qcc build/bin/qcc --build DIR      # here: DIR/manifest.json
  gpu_bench.py --run DIR --results results.json     # on the GPU machine
  gpu_bench.py --qcc build/bin/qcc --report results.json --build DIR \\
      --markdown gpu.md --cost-table bench/gpu/cost_table_sm_90.json
  gpu_bench.py --qcc build/bin/qcc --work DIR ...   # all three

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
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
NVCC = os.environ.get("NVCC") or shutil.which("nvcc") or \
    "/usr/local/cuda/bin/nvcc"

CONFIGS = {"W2A8": (2, 8), "W3A8": (3, 8), "W4A8": (4, 8), "W6A6": (6, 6),
           "W8A8": (8, 8), "W4A16": (4, 16)}
FAMILIES = {False: ("bmma", "imma"), True: ("hmma",)}  # by weight-only
# The A/B libraries of imma/hmma's decode tile (M <= AB_MAX_M): name,
# library suffix, qcc flags. Warps along N: the 16-row tile without its
# warps splitting K (16 x 64 blocks, split K over blocks and a reduction).
# 128-K stages: the decode tile as it was before its 512-byte stages (128
# s8 or 64 16-bit values, at most 3 stages). 48 KiB: its stages within 48
# KiB of static shared memory, not the target's budget (112 KiB on sm_90,
# dynamic shared memory: more stages, fewer blocks per SM). Quantize
# kernel: imma's decode tile reading the bytes of a quantize kernel rather
# than staging and quantizing the float rows itself.
# The large-M A/B (imma/hmma's tiles above the 16-row ones): "64-row tile":
# the 64 x 64 tile where the default (from M = LARGE_TILE_MIN_M) takes the
# 128 x 128 one; "128-row tile": the 128 x 128 tile already at M = 256,
# where the default takes the 64 x 64 one. Each variant: name, library
# suffix, qcc flags, and which measured Ms it runs at.
AB_MAX_M = 4
SMALL_MAX_M = 16  # the 16-row tiles' bound (the issue's "M <= 16" goals)
LARGE_TILE_MIN_M = 512  # qcc's --gpu-large-tile-min-m default
AB_VARIANTS = [("warps along N", "warps_n", ["--gpu-warps-split-k-max-m=0"],
                lambda m: m <= AB_MAX_M),
               ("128-K stages", "k128", ["--gpu-decode-k-tile=128",
                                         "--gpu-decode-max-stages=3"],
                lambda m: m <= AB_MAX_M),
               ("48 KiB smem", "smem48", ["--gpu-shared-memory-kib=48"],
                lambda m: m <= AB_MAX_M),
               ("quantize kernel", "unfused", ["--gpu-decode-fuse-quant=false"],
                lambda m: m <= AB_MAX_M),
               ("64-row tile", "m64", ["--gpu-large-tile-min-m=0"],
                lambda m: m >= LARGE_TILE_MIN_M),
               ("128-row tile", "m128", ["--gpu-large-tile-min-m=256"],
                lambda m: 256 <= m < LARGE_TILE_MIN_M),
               ("decode tile to M = 16", "wk16",
                ["--gpu-warps-split-k-max-m=16"],
                lambda m: AB_MAX_M < m <= SMALL_MAX_M)]
DECODE_VARIANTS = ("warps along N", "128-K stages", "48 KiB smem",
                   "quantize kernel")
STRIP_VARIANTS = ("decode tile to M = 16",)

# Times one model.so in a child process at every M: per M, two warm-up
# runs, then R runs whose kernel profile (qopt_model_profile) is read and
# reset; prints one JSON line {M: profile text}.
CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, %r)
import qopt
m = qopt.load(sys.argv[1])
if m.device != "cuda":
    print("NOGPU " + m.device_info)
    sys.exit(0)
k, runs, dtype = int(sys.argv[2]), int(sys.argv[3]), sys.argv[5]
out = {}
for rows in sys.argv[4].split(","):
    x = np.random.default_rng(0).standard_normal((int(rows), k)).astype(
        dtype)
    for _ in range(2):
        m.run({"x": x})
    m.profile(reset=True)
    for _ in range(runs):
        m.run({"x": x})
    out[rows] = m.profile(reset=True)
print(json.dumps(out))
""" % os.path.join(ROOT, "python")


# The CUDA peers: name, nvcc -arch on the GPU machine, extra flags. wgmma
# needs sm_90a (its binary says so on other GPUs and measures nothing).
CUDA_PEERS = (("mma_peak", "native", []), ("wgmma_peak", "sm_90a", []),
              ("cublas_gemm", "native", ["-lcublas"]))


def build_cuda(work):
    """nvcc on the GPU machine (-arch=native); falls back to binaries built
    beforehand into `work` (bench/gpu/*.cu for sm_90) when nvcc fails."""
    exes = {}
    for name, arch, extra in CUDA_PEERS:
        exe = os.path.join(work, name)
        src = os.path.join(ROOT, "bench", "gpu", name + ".cu")
        proc = subprocess.run([NVCC, "-O3", "-arch=" + arch, src, "-o",
                               exe + ".native"] + extra, capture_output=True,
                              text=True)
        if proc.returncode == 0:
            exe += ".native"
        elif not os.path.exists(exe):
            if name == "wgmma_peak":  # optional: only sm_90 has wgmma
                continue
            raise SystemExit("nvcc failed on %s and no prebuilt %s: %s"
                             % (src, exe, proc.stderr))
        exes[name] = exe
    return exes


def act_dtype(config):
    """The benchmark model's float type: f16 for the 16-bit-activation
    configs (W4A16), else f32 (quantized in the model)."""
    return "float16" if CONFIGS[config][1] > 8 else "float32"


def model_path(where, config, k, n):
    suffix = "_f16" if act_dtype(config) == "float16" else ""
    path = os.path.join(where, "linear_%dx%d%s.onnx" % (k, n, suffix))
    if not os.path.exists(path):
        linear_model(path, k, n, act_dtype(config))
    return path


def linear_model(path, k, n, dtype="float32"):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    elem = TensorProto.FLOAT16 if dtype == "float16" else TensorProto.FLOAT
    w = (np.random.default_rng(1).standard_normal((k, n)) /
         np.sqrt(k)).astype(dtype)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "linear",
        [helper.make_tensor_value_info("x", elem, ["m", k])],
        [helper.make_tensor_value_info("y", elem, ["m", n])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def quant_flags(config):
    wb, ab = CONFIGS[config]
    return ["--wbits=%d" % wb] + (["--abits=%d" % ab] if ab <= 8 else [])


def qopt_ms(so, ms, k, runs, dtype="float32"):
    """{M: (ms per call, clock, {kernel: median ms})}: the medians of the
    layer's kernels, summed, and each (inputs x [M, k] of `dtype`)."""
    env = dict(os.environ, QOPT_DEVICE="cuda", QOPT_CUDA_PROFILE="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, so, str(k), str(runs),
                           ",".join(str(m) for m in ms), dtype],
                          capture_output=True, text=True, env=env)
    if "NOGPU" in proc.stdout:
        raise SystemExit("no GPU: " + proc.stdout.strip())
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    times = {}
    for m, text in json.loads(proc.stdout.strip().splitlines()[-1]).items():
        found = re.findall(r"qopt-cuda-profile: (\S+) calls (\d+) ms [\d.]+ "
                           r"median_ms ([\d.]+) clock (\w+)", text)
        if not found or any(int(c) != runs for _, c, _, _ in found):
            raise RuntimeError("bad kernel profile from %s at M=%s: %r"
                               % (so, m, text))
        times[int(m)] = (sum(float(med) for _, _, med, _ in found),
                         found[0][3],
                         {name: float(med) for name, _, med, _ in found})
    return times


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


def build(args, where):
    """Compiles every forced-kernel benchmark library into `where` and
    writes where/manifest.json."""
    os.makedirs(where, exist_ok=True)
    shapes = [tuple(int(v) for v in sh.split("x"))
              for sh in args.shapes.split(",")]
    jobs, libs = {}, []
    for k, n in shapes:
        for config in args.configs.split(","):
            model = model_path(where, config, k, n)
            for family in FAMILIES[CONFIGS[config][1] > 8]:
                so = "%s_%s_%dx%d.so" % (config, family, k, n)
                jobs[os.path.join(where, so)] = [
                    model, "--gpu-arch=" + args.gpu_arch,
                    "--gpu-kernel=" + family, "--gpu-bench-weights"
                ] + quant_flags(config)
                libs.append({"config": config, "family": family, "k": k,
                             "n": n, "so": so, "dtype": act_dtype(config)})
    # The A/B after every planned library, so a run cut short loses it
    # first.
    for variant, suffix, flags, at_m in AB_VARIANTS:
        ab_ms = [int(v) for v in args.m.split(",") if at_m(int(v))]
        if not ab_ms:
            continue
        for k, n in shapes:
            for config in [c for c in args.ab_configs.split(",") if c]:
                family = "hmma" if CONFIGS[config][1] > 8 else "imma"
                so = "%s_%s_%dx%d_%s.so" % (config, family, k, n, suffix)
                jobs[os.path.join(where, so)] = [
                    model_path(where, config, k, n),
                    "--gpu-arch=" + args.gpu_arch, "--gpu-kernel=" + family,
                    "--gpu-bench-weights"] + flags + quant_flags(config)
                libs.append({"config": config, "family": family, "k": k,
                             "n": n, "so": so, "dtype": act_dtype(config),
                             "variant": variant, "m_list": ab_ms})
    errors = compile_all(args.qcc, jobs)
    for lib in libs:
        lib["error"] = errors[os.path.join(where, lib["so"])]
    # CUDA peers built here too, for a GPU machine whose nvcc cannot build.
    for name, arch, extra in CUDA_PEERS:
        if name == "wgmma_peak":
            if not args.gpu_arch.startswith("sm_90"):
                continue
            arch = "sm_90a"
        else:
            arch = args.gpu_arch
        subprocess.run([NVCC, "-O3", "-arch=" + arch,
                        os.path.join(ROOT, "bench", "gpu", name + ".cu"),
                        "-o", os.path.join(where, name)] + extra)
    manifest = {"gpu_arch": args.gpu_arch, "shapes": [list(s) for s in shapes],
                "m": [int(v) for v in args.m.split(",")],
                "configs": args.configs.split(","), "libs": libs}
    with open(os.path.join(where, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    for lib in libs:
        if lib["error"]:
            print("%s: qcc failed: %s" % (lib["so"], lib["error"]))
    return manifest


def run(where, runs, peers=True, results_path=""):
    """On the GPU machine: the peers and every library of the manifest
    (without the peers: a check of the scripts on an emulated driver). The
    measurements so far are rewritten to `results_path` after each step, so
    a run cut short still returns what it measured."""
    manifest = json.load(open(os.path.join(where, "manifest.json")))
    peak, device, driver = "(not measured)\n", "?", "?"
    if peers:
        exes = build_cuda(where)
        peak = subprocess.run([exes["mma_peak"]], capture_output=True,
                              text=True, check=True).stdout
        if "wgmma_peak" in exes:
            proc = subprocess.run([exes["wgmma_peak"]], capture_output=True,
                                  text=True)
            peak += proc.stdout if proc.returncode == 0 else (
                "wgmma: not measured (%s)\n" % proc.stderr.strip())
        print(peak)
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                              "--format=csv,noheader"], capture_output=True,
                             text=True).stdout.strip()
        device, driver = (smi.split(", ") + ["?", "?"])[:2]
    results = {"device": device, "driver": driver,
               "date": str(datetime.date.today()), "peak": peak,
               "gpu_arch": manifest["gpu_arch"], "runs": runs,
               "peers": [], "times": []}
    for k, n in manifest["shapes"] if peers else []:
        for m in manifest["m"]:
            out = subprocess.run([exes["cublas_gemm"], str(m), str(n), str(k)],
                                 capture_output=True, text=True,
                                 check=True).stdout.split()
            results["peers"].append({"k": k, "n": n, "m": m,
                                     "fp16_ms": float(out[1]),
                                     "int8_ms": float(out[3])})
            print("cuBLAS K=%d N=%d M=%d: fp16 %s int8 %s ms" % (
                k, n, m, out[1], out[3]), flush=True)
    for lib in manifest["libs"]:
        if lib["error"]:
            continue
        save(results, results_path)
        times = qopt_ms(os.path.join(where, lib["so"]),
                        lib.get("m_list", manifest["m"]), lib["k"], runs,
                        lib.get("dtype", "float32"))
        for m, (ms, clock, kernels) in sorted(times.items()):
            results["times"].append(dict(lib, m=m, ms=ms, clock=clock,
                                         kernels=kernels))
            print("%s M=%d: %.4f ms (%s clock)" % (lib["so"], m, ms, clock),
                  flush=True)
    return results


def save(results, path):
    if path:
        with open(path + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(path + ".tmp", path)


def plans(qcc, where, results, table_path, gpu_arch):
    """The planner's choice for each (config, shape): qcc's qopt.gpu_plan
    ranges with the measured table, as [(m_max or None, family)]."""
    out = {}
    for k, n in {(t["k"], t["n"]) for t in results["times"]}:
        for config in {t["config"] for t in results["times"]}:
            model = model_path(where, config, k, n)
            proc = subprocess.run(
                [qcc, model, "--gpu-arch=" + gpu_arch, "--gpu-cost-table=" +
                 table_path, "--gpu-bench-weights", "--emit=mlir",
                 "--stop-after-stage=gpu"] + quant_flags(config),
                capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError("qcc failed planning %s %dx%d: %s" % (
                    config, k, n, proc.stderr))
            found = re.search(r"qopt.gpu_plan = \[([^\]]*)\]", proc.stdout)
            ranges = []
            for text in re.findall(r'"([^"]*)"', found.group(1) if found
                                   else ""):
                bound, family = text.split(": ")
                m_max = int(bound[5:]) if bound.startswith("M <= ") else None
                ranges.append((m_max, family.split()[0]))
            out[(config, k, n)] = ranges
    return out


def report(args, results, where):
    variants = [t for t in results["times"] if t.get("variant")]
    results = dict(results, times=[t for t in results["times"]
                                   if not t.get("variant")])
    entries = [{"kernel": t["family"], "w": CONFIGS[t["config"]][0],
                "a": CONFIGS[t["config"]][1], "n": t["n"], "k": t["k"],
                "m": t["m"], "us": round(t["ms"] * 1000, 3)}
               for t in results["times"]]
    table_path = args.cost_table or os.path.join(where, "cost_table.json")
    with open(table_path, "w") as f:
        json.dump({"device": results["device"], "driver": results["driver"],
                   "date": results["date"],
                   "source": "bench/gpu_bench.py --gpu-arch %s --runs %d"
                   % (results["gpu_arch"], results["runs"]),
                   "entries": entries}, f, indent=1)
        f.write("\n")
    plan = plans(args.qcc, where, results, table_path, results["gpu_arch"])
    peers = {(p["k"], p["n"], p["m"]): (p["fp16_ms"], p["int8_ms"])
             for p in results["peers"]}
    nan = float("nan")
    for t in results["times"]:
        peers.setdefault((t["k"], t["n"], t["m"]), (nan, nan))
    times = {(t["config"], t["family"], t["k"], t["n"], t["m"]): t["ms"]
             for t in results["times"]}
    ms_list = sorted({t["m"] for t in results["times"]})
    shapes = sorted({(t["k"], t["n"]) for t in results["times"]})
    configs = [c for c in CONFIGS if any(t["config"] == c
                                         for t in results["times"])]
    lines = ["Measured %s on %s (driver %s), `bench/gpu_bench.py`; kernels "
             "for %s.\n" % (results["date"], results["device"],
                            results["driver"], results["gpu_arch"]),
             "### Tensor-core throughput (mma.sync; wgmma on sm_90)\n\n"
             "```\n%s```\n" % results["peak"]]
    headline = []
    for k, n in shapes:
        table = ["### K=%d, N=%d: kernel time (ms) and speed-up vs cuBLAS "
                 "INT8 / FP16\n" % (k, n),
                 "| config | kernel | " + " | ".join(
                     "M=%d" % m for m in ms_list) + " |",
                 "|---" * (len(ms_list) + 2) + "|",
                 "| cuBLAS FP16 | | " + " | ".join(
                     "%.4f" % peers[(k, n, m)][0] for m in ms_list) + " |",
                 "| cuBLAS INT8 | | " + " | ".join(
                     "%.4f" % peers[(k, n, m)][1] for m in ms_list) + " |"]
        for config in configs:
            ranges = plan.get((config, k, n), [])
            def chosen(m):
                for m_max, family in ranges:
                    if m_max is None or m <= m_max:
                        return family
                return None
            rows = [(f, {m: times.get((config, f, k, n, m)) for m in ms_list})
                    for f in FAMILIES[CONFIGS[config][1] > 8]]
            rows.append(("planned", {m: times.get((config, chosen(m), k, n, m))
                                     for m in ms_list}))
            for family, by_m in rows:
                cells = []
                for m in ms_list:
                    t = by_m[m]
                    if t is None:
                        cells.append("-")
                        continue
                    f16, i8 = peers[(k, n, m)]
                    label = (" " + chosen(m)) if family == "planned" else ""
                    cells.append("%.4f (%.2fx / %.2fx)%s" % (t, i8 / t,
                                                             f16 / t, label))
                    if family == "planned" and m in (1, 1024):
                        headline.append((config, k, n, m, i8 / t, f16 / t))
                table.append("| %s | %s | %s |" % (config, family,
                                                   " | ".join(cells)))
        lines.append("\n".join(table) + "\n")
    summary = ["### Headline: the planner's kernels vs cuBLAS (speed-up, "
               "> 1 is faster)\n", "| config | K x N | M | vs INT8 | vs FP16 |",
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
    summary.append("'planned' is the kernel the planner picks at that M "
                   "(qcc --gpu-cost-table with this table) at its measured "
                   "time. Cost table: `%s` (%d entries).\n"
                   % (table_path, len(entries)))
    lines.append("\n".join(summary))
    # Where the time goes at the decode Ms: each kernel's median.
    small = [t for t in results["times"] + variants
             if t["m"] <= SMALL_MAX_M and t.get("kernels")]
    if small:
        split = ["### Kernel times at M <= %d (ms, median per kernel)\n"
                 % SMALL_MAX_M, "| config | kernel | K x N | M | kernels |",
                 "|---|---|---|---|---|"]
        for t in small:
            split.append("| %s | %s%s | %dx%d | %d | %s |" % (
                t["config"], t["family"],
                " (%s)" % t["variant"] if t.get("variant") else "",
                t["k"], t["n"], t["m"], ", ".join(
                    "%s %.4f" % (re.sub(r"^qmatmul\d+_", "", name), ms)
                    for name, ms in sorted(t["kernels"].items()))))
        lines.append("\n".join(split) + "\n")
    for title, group in (
            ("### The decode tile (M <= %d): the default (warps splitting K, "
             "512-byte stages) vs its variants\n" % AB_MAX_M,
             [v for v in variants if v["variant"] in DECODE_VARIANTS]),
            ("### %d < M <= %d: the default (16 x 64 strip, split K over "
             "blocks) vs the decode tile\n" % (AB_MAX_M, SMALL_MAX_M),
             [v for v in variants if v["variant"] in STRIP_VARIANTS]),
            ("### Large M: the default tiles (64 x 64 below M = %d, 128 x 128 "
             "from it) vs the other one\n" % LARGE_TILE_MIN_M,
             [v for v in variants
              if v["variant"] not in DECODE_VARIANTS + STRIP_VARIANTS])):
        if not group:
            continue
        names = [v[0] for v in AB_VARIANTS
                 if any(g["variant"] == v[0] for g in group)]
        ab = [title,
              "Kernel time (ms) of the forced family; ratio = variant / "
              "default (> 1: the default is faster).\n",
              "| config | K x N | M | default | " +
              " | ".join("%s | ratio" % name for name in names) + " |",
              "|---|---|---|---|" + "---|---|" * len(names)]
        rows = {}
        for v in group:
            key = (v["config"], v["family"], v["k"], v["n"], v["m"])
            rows.setdefault(key, {})[v["variant"]] = v["ms"]
        for key, by_name in rows.items():
            config, family, k, n, m = key
            base = times.get(key)
            cells = []
            for name in names:
                ms = by_name.get(name)
                cells.append("%s | %s" % (
                    "%.4f" % ms if ms else "-",
                    "%.2f" % (ms / base) if ms and base else "-"))
            ab.append("| %s %s | %dx%d | %d | %s | %s |" % (
                config, family, k, n, m, "%.4f" % base if base else "-",
                " | ".join(cells)))
        lines.append("\n".join(ab) + "\n")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--qcc", help="qcc (not needed with --run)")
    parser.add_argument("--work", default="",
                        help="all phases in one go, in this folder")
    parser.add_argument("--build", default="",
                        help="the libraries' folder (built here unless "
                             "--report is given)")
    parser.add_argument("--run", default="",
                        help="time the libraries of this folder's manifest")
    parser.add_argument("--results", default="",
                        help="with --run: write the measurements here")
    parser.add_argument("--report", default="",
                        help="measurements (JSON of --run) to report")
    parser.add_argument("--markdown", default="")
    parser.add_argument("--cost-table", default="",
                        help="write the measured kernel times here (JSON)")
    parser.add_argument("--shapes", default="4096x4096,4096x11008,11008x4096",
                        help="KxN of the linear layers")
    parser.add_argument("--m", default="1,4,8,16,64,256,1024")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--ab-configs", default="W4A8,W4A16",
                        help="configs of the small-M tile A/B ('' for none)")
    parser.add_argument("--gpu-arch", default="sm_90")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-peers", action="store_true",
                        help="with --run: skip cuBLAS and mma.sync (to check "
                             "the scripts on an emulated driver)")
    args = parser.parse_args()
    if args.run:
        save(run(args.run, args.runs, peers=not args.no_peers,
                 results_path=args.results), args.results)
        return 0
    if not args.qcc:
        parser.error("--qcc is needed to build or report")
    if args.report:
        report(args, json.load(open(args.report)), args.build or args.work)
        return 0
    if args.build:
        build(args, args.build)
        return 0
    work = args.work or "build/bench-gpu"
    build(args, work)
    report(args, run(work, args.runs), work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
