#!/usr/bin/python3
"""model.so's GPU runtime without a GPU: device selection, CPU fallback, and
the host protocol of the generated GPU code, checked against a mock CUDA
driver (test/Runtime/mock_cuda.c) that runs no kernels but logs every call.

Checks, for a linear layer quantized W4A8 (dynamic per-token activations,
so the GPU variant fuses quantize + pack into one kernel) compiled with and
without --gpu-arch:
  * no driver: the library runs on the CPU ("auto") with outputs identical
    to the CPU-only library; QOPT_DEVICE=cpu too; QOPT_DEVICE=cuda and a bad
    QOPT_DEVICE make every run fail with the reason;
  * the mock driver: the GPU variant is selected; one fatbin is loaded once
    for two runs; each run launches qmatmul0_quant_pack_act (one block per
    row) and qmatmul0_bmma_m8 (M = 5: the 8-row range), copies the float
    input in and the float output
    out (their exact byte counts); the weights' bit planes and scales are
    uploaded by the first run only; every device buffer is freed (the
    constants when the library unloads);
  * a failing cuLaunchKernel: the run fails with the driver's message and
    still frees its device buffers;
  * the planner's libraries (no --gpu-kernel): W4A8 launches
    qmatmul0_quant_bytes_act and qmatmul0_imma_m16 per run, weight-only W4
    qmatmul0_hmma_m16_cvt (which converts its f32 rows itself, no
    conversion kernel) and its split-K reduction (M = 5: the 16-row tiles;
    K = 96 is one imma k-tile, two of hmma's);
  * a library for --gpu-arch=all: its one embedded fatbin holds an ELF for
    each of sm_80, sm_86, sm_89 and sm_90 plus the sm_80 PTX (where ptxas
    exists; else PTX alone), and with the mock driver that image is loaded
    once and two runs make the same launches as the sm_80 library.

usage: gpu_runtime.py --qcc PATH --mock LIBMOCK --work DIR
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
from qopt_tools import models  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "test", "Tools", "qcc", "Inputs"))
import fatbin  # noqa: E402

K, N, M = 96, 40, 5

# Runs in a child process (device selection is per process): loads the
# library, runs it `runs` times, prints JSON.
CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, %r)
import qopt
m = qopt.load(sys.argv[1])
x = np.load(sys.argv[2])
out = {"device": m.device, "info": m.device_info, "error": None}
try:
    for _ in range(int(sys.argv[3])):
        y = m.run({"x": x})["y"]
    np.save(sys.argv[4], y)
except qopt.QoptError as e:
    out["error"] = str(e)
print(json.dumps(out))
""" % os.path.join(ROOT, "python")


def run_child(so, x_path, runs, y_path, env):
    full = dict(os.environ)
    for key in ("QOPT_DEVICE", "QOPT_CUDA_LIBRARY", "QOPT_MOCK_CUDA_LOG",
                "QOPT_MOCK_CUDA_FAIL"):
        full.pop(key, None)
    full.update(env)
    proc = subprocess.run([sys.executable, "-c", CHILD, so, x_path, str(runs),
                           y_path], capture_output=True, text=True, env=full)
    if proc.returncode != 0:
        raise RuntimeError("child failed: " + proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def have_ptxas():
    """Whether qcc finds ptxas (the search of lib/Target/GPU/GPU.cpp)."""
    for var in ("CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var) is not None:
            return os.access(os.path.join(os.environ[var], "bin", "ptxas"),
                             os.X_OK)
    return (shutil.which("ptxas") is not None or
            os.access("/usr/local/cuda/bin/ptxas", os.X_OK))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--mock", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = []

    def expect(cond, what):
        print("%-4s %s" % ("ok" if cond else "FAIL", what))
        if not cond:
            failures.append(what)

    model = os.path.join(args.work, "linear.onnx")
    onnx.save(models.linear(k=K, n=N), model)
    cpu_so = os.path.join(args.work, "linear_cpu.so")
    gpu_so = os.path.join(args.work, "linear_gpu.so")
    all_so = os.path.join(args.work, "linear_all.so")
    quant = ["--wbits=4", "--abits=8"]
    planned_so = os.path.join(args.work, "linear_planned.so")
    wonly_so = os.path.join(args.work, "linear_w4a16.so")
    # The host protocol of bmma (forced); the planner's own choices (imma
    # for W4A8, hmma for weight-only W4) are checked at the end.
    bmma = ["--gpu-kernel=bmma"]
    for so, extra in ((cpu_so, []), (gpu_so, ["--gpu-arch=sm_80"] + bmma),
                      (all_so, ["--gpu-arch=all"] + bmma),
                      (planned_so, ["--gpu-arch=sm_80"])):
        proc = subprocess.run([args.qcc, model, "-o", so] + quant + extra,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print("qcc failed: " + proc.stderr)
            return 1
    proc = subprocess.run([args.qcc, model, "-o", wonly_so, "--wbits=4",
                           "--gpu-arch=sm_80"], capture_output=True, text=True)
    if proc.returncode != 0:
        print("qcc failed: " + proc.stderr)
        return 1
    x = np.random.default_rng(0).standard_normal((M, K)).astype(np.float32)
    x_path = os.path.join(args.work, "x.npy")
    np.save(x_path, x)
    y_cpu = os.path.join(args.work, "y_cpu.npy")
    y_gpu = os.path.join(args.work, "y_gpu.npy")

    # --- no driver ---------------------------------------------------------
    ref = run_child(cpu_so, x_path, 1, y_cpu, {})
    expect(ref["device"] == "cpu" and ref["error"] is None,
           "CPU-only library runs on the CPU (%s)" % ref["info"])
    nodrv = {"QOPT_CUDA_LIBRARY": os.path.join(args.work, "no-libcuda.so")}
    r = run_child(gpu_so, x_path, 1, y_gpu, nodrv)
    expect(r["device"] == "cpu" and "cannot load the CUDA driver" in r["info"],
           "auto without a driver falls back to the CPU: %s" % r["info"])
    expect(r["error"] is None and
           np.array_equal(np.load(y_cpu), np.load(y_gpu)),
           "its CPU path gives the CPU-only library's outputs bit for bit")
    r = run_child(gpu_so, x_path, 1, y_gpu, dict(nodrv, QOPT_DEVICE="cpu"))
    expect(r["device"] == "cpu" and r["info"] == "QOPT_DEVICE=cpu" and
           r["error"] is None, "QOPT_DEVICE=cpu: %s" % r["info"])
    r = run_child(gpu_so, x_path, 1, y_gpu, dict(nodrv, QOPT_DEVICE="cuda"))
    expect(r["error"] is not None and r["error"].startswith(
        "QOPT_DEVICE=cuda: cannot load the CUDA driver"),
        "QOPT_DEVICE=cuda without a driver fails: %s" % r["error"])
    r = run_child(cpu_so, x_path, 1, y_gpu, {"QOPT_DEVICE": "cuda"})
    expect(r["error"] is not None and "has no GPU code" in r["error"],
           "QOPT_DEVICE=cuda on a CPU-only library fails: %s" % r["error"])
    r = run_child(gpu_so, x_path, 1, y_gpu, {"QOPT_DEVICE": "gpu"})
    expect(r["error"] == "QOPT_DEVICE must be auto, cuda or cpu, not 'gpu'",
           "a bad QOPT_DEVICE fails: %s" % r["error"])

    # --- the mock driver ---------------------------------------------------
    log = os.path.join(args.work, "mock.log")
    if os.path.exists(log):
        os.remove(log)
    mock = {"QOPT_CUDA_LIBRARY": args.mock, "QOPT_MOCK_CUDA_LOG": log,
            "QOPT_DEVICE": "cuda"}
    r = run_child(gpu_so, x_path, 2, y_gpu, mock)
    expect(r["device"] == "cuda" and r["info"] == "qopt mock device (sm_90)"
           and r["error"] is None,
           "the mock device is selected and two runs succeed (%s, %s)"
           % (r["info"], r["error"]))
    calls = open(log).read().splitlines() if os.path.exists(log) else []
    loads = [c for c in calls if c.startswith("cuModuleLoadData")]
    kind = "fatbin" if have_ptxas() else "ptx"
    expect(loads == ["cuModuleLoadData " + kind],
           "one %s loaded once for both runs: %s" % (kind, loads))
    launches = [c.split()[1] for c in calls if c.startswith("cuLaunchKernel")]
    # M = 5: the planner's 8-row bmma range (K = 96, one k-step: no split).
    expect(launches == ["qmatmul0_quant_pack_act", "qmatmul0_bmma_m8"] * 2,
           "launches per run: quant_pack_act, bmma_m8: %s" % launches)
    sm80_launches = launches
    grids = [c for c in calls if c.startswith("cuLaunchKernel "
                                               "qmatmul0_quant_pack_act")]
    expect(all(re.search(r"grid %d 1 1 block 256 1 1" % M, g) for g in grids),
           "quant_pack_act: one 256-thread block per row (M = %d)" % M)
    copies = [int(c.split()[1]) for c in calls
              if c.startswith("cuMemcpyAsync")]
    # Run 1: input, the weights' bit planes and scales (uploaded once),
    # output; run 2: input and output only.
    expect(len(copies) == 6 and copies[0] == M * K * 4 and
           copies[3] == M * N * 4 and copies[4:] == [M * K * 4, M * N * 4],
           "copies: the input (%d B) in and the output (%d B) out each run, "
           "the weights' planes and scales once: %s"
           % (M * K * 4, M * N * 4, copies))
    allocs = [c.split()[2] for c in calls if c.startswith("cuMemAlloc")]
    frees = [c.split()[1] for c in calls if c.startswith("cuMemFree")]
    expect(len(allocs) > 0 and sorted(allocs) == sorted(frees),
           "every device buffer is freed (%d allocations)" % len(allocs))

    # --- a failing launch ----------------------------------------------------
    os.remove(log)
    r = run_child(gpu_so, x_path, 1, y_gpu,
                  dict(mock, QOPT_MOCK_CUDA_FAIL="cuLaunchKernel"))
    expect(r["error"] is not None and r["error"].startswith(
        "GPU: cuLaunchKernel failed: CUDA_ERROR_LAUNCH_FAILED (mock failure)"),
        "a failing launch fails the run with the driver's message: %s"
        % r["error"])
    calls = open(log).read().splitlines()
    allocs = [c.split()[2] for c in calls if c.startswith("cuMemAlloc")]
    frees = [c.split()[1] for c in calls if c.startswith("cuMemFree")]
    expect(sorted(allocs) == sorted(frees),
           "the failed run still frees its device buffers")

    # --- a library for every arch ---------------------------------------------
    data = open(all_so, "rb").read()
    images = [[(kind, sm) for kind, sm, _ in imgs]
              for _, imgs in fatbin.fatbins(data)]
    if have_ptxas():
        expect(images == [[("elf", 80), ("elf", 86), ("elf", 89), ("elf", 90),
                           ("ptx", 80)]],
               "--gpu-arch=all: one fatbin, an ELF per arch + sm_80 PTX: %s"
               % images)
    else:
        expect(images == [] and b".target sm_80" in data and
               b".target sm_86" not in data,
               "--gpu-arch=all without ptxas: the sm_80 PTX alone")
    os.remove(log)
    r = run_child(all_so, x_path, 2, y_gpu, mock)
    expect(r["device"] == "cuda" and r["error"] is None,
           "--gpu-arch=all: two runs succeed on the mock device (%s, %s)"
           % (r["info"], r["error"]))
    calls = open(log).read().splitlines()
    loads = [c for c in calls if c.startswith("cuModuleLoadData")]
    expect(loads == ["cuModuleLoadData " + kind],
           "--gpu-arch=all: its image is loaded once: %s" % loads)
    launches = [c.split()[1] for c in calls if c.startswith("cuLaunchKernel")]
    expect(len(launches) > 0 and launches == sm80_launches,
           "--gpu-arch=all: the sm_80 library's launches: %s" % launches)
    allocs = [c.split()[2] for c in calls if c.startswith("cuMemAlloc")]
    frees = [c.split()[1] for c in calls if c.startswith("cuMemFree")]
    expect(len(allocs) > 0 and sorted(allocs) == sorted(frees),
           "--gpu-arch=all: every device buffer is freed")

    # --- the planner's kernels (M = 5: the 16-row tiles) ---------------------
    for so, want in ((planned_so, ["qmatmul0_quant_bytes_act",
                                   "qmatmul0_imma_m16"]),
                     (wonly_so, ["qmatmul0_hmma_m16_cvt",
                                 "qmatmul0_hmma_m16_cvt_reduce"])):
        os.remove(log)
        r = run_child(so, x_path, 2, y_gpu, mock)
        name = os.path.basename(so)
        expect(r["device"] == "cuda" and r["error"] is None,
               "%s: two runs succeed on the mock device (%s)" % (name,
                                                               r["error"]))
        calls = open(log).read().splitlines()
        launches = [c.split()[1] for c in calls
                    if c.startswith("cuLaunchKernel")]
        expect(launches == want * 2,
               "%s: launches per run %s: %s" % (name, want, launches))
        allocs = [c.split()[2] for c in calls if c.startswith("cuMemAlloc")]
        frees = [c.split()[1] for c in calls if c.startswith("cuMemFree")]
        expect(len(allocs) > 0 and sorted(allocs) == sorted(frees),
               "%s: every device buffer is freed" % name)
        # Without a driver its CPU path is the CPU-only library's.
        r = run_child(so, x_path, 1, y_gpu, nodrv)
        if so == planned_so:
            expect(r["error"] is None and
                   np.array_equal(np.load(y_cpu), np.load(y_gpu)),
                   "%s: its CPU path gives the CPU-only library's outputs"
                   % name)
        else:
            expect(r["device"] == "cpu" and r["error"] is None,
                   "%s: runs on the CPU without a driver" % name)

    # --- a kernel benchmark library (--gpu-bench-weights) ----------------------
    bench_so = os.path.join(args.work, "linear_bench.so")
    proc = subprocess.run([args.qcc, model, "-o", bench_so, "--wbits=4",
                           "--abits=8", "--gpu-arch=sm_80",
                           "--gpu-bench-weights"], capture_output=True,
                          text=True)
    expect(proc.returncode == 0 and
           os.path.getsize(bench_so) < os.path.getsize(planned_so),
           "--gpu-bench-weights: a smaller library (%d B vs %d B)"
           % (os.path.getsize(bench_so) if proc.returncode == 0 else -1,
              os.path.getsize(planned_so)))
    os.remove(log)
    r = run_child(bench_so, x_path, 2, y_gpu, mock)
    calls = open(log).read().splitlines()
    copies = [int(c.split()[1]) for c in calls
              if c.startswith("cuMemcpyAsync")]
    # imma's layout: 4 planes of N rows of K bits, K padded to 128.
    planes = 4 * N * ((K + 127) // 128 * 128) // 8
    expect(r["error"] is None and copies.count(planes) == 1,
           "--gpu-bench-weights: the pseudo-random planes (%d B) uploaded "
           "once for two runs: %s" % (planes, copies))
    r = run_child(bench_so, x_path, 1, y_gpu, nodrv)
    expect(r["error"] is None and np.isnan(np.load(y_gpu)).all(),
           "--gpu-bench-weights: the CPU variant's quantized layer gives NaN")

    # --- the kernel profile (QOPT_CUDA_PROFILE) -------------------------------
    # The mock has no cuEventElapsedTime: host-clock timing, one line per
    # kernel when the library unloads.
    full = dict(os.environ, QOPT_CUDA_PROFILE="1", **mock)
    full.pop("QOPT_MOCK_CUDA_FAIL", None)
    proc = subprocess.run([sys.executable, "-c", CHILD, gpu_so, x_path, "3",
                           y_gpu], capture_output=True, text=True, env=full)
    prof = re.findall(r"qopt-cuda-profile: (\S+) calls (\d+) ms [\d.]+ "
                      r"median_ms [\d.]+ clock (\w+)", proc.stderr)
    expect(proc.returncode == 0 and sorted(prof) == [
        ("qmatmul0_bmma_m8", "3", "host"), ("qmatmul0_quant_pack_act", "3",
                                         "host")],
           "QOPT_CUDA_PROFILE: calls and times per kernel: %s" % prof)

    # qopt_model_profile: the profile so far, and a reset between M values
    # (what bench/gpu_bench.py times with, one process per library).
    child = ("import sys, json, numpy as np; sys.path.insert(0, %r); "
             "import qopt; m = qopt.load(%r); x = np.load(%r); "
             "[m.run({'x': x}) for _ in range(2)]; a = m.profile(reset=True); "
             "m.run({'x': x}); b = m.profile(); print(json.dumps([a, b]))"
             % (os.path.join(ROOT, "python"), gpu_so, x_path))
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True,
                          text=True, env=full)
    texts = json.loads(proc.stdout.strip().splitlines()[-1]) \
        if proc.returncode == 0 else ["", ""]
    expect("qmatmul0_bmma_m8 calls 2 " in texts[0] and
           "qmatmul0_bmma_m8 calls 1 " in texts[1],
           "qopt_model_profile: 2 calls, then 1 after the reset: %s" % texts)

    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
