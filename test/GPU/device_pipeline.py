#!/usr/bin/python3
"""The device run of issue 8 rehearsed on the PTX emulator, so that a lent
GPU's minutes are not spent finding script errors: the bundle that
bench/gpu/prepare_device_run.sh builds (here at a tiny size), then
test/GPU/gpu_vs_cpu.py --prebuilt and bench/gpu_bench.py --run (without the
cuBLAS peers, which need a GPU) from the bundle alone, then the report.

Checks: the prebuilt GPU-vs-CPU cases and exact sums (test/GPU/
exact_accumulators.py --prebuilt) pass on the emulator; every library of
the bench manifest is timed at every M (the A/B libraries at their Ms:
warps along N, 128-K stages, 48 KiB smem at M = 1; the 128-row tile at
256); the cost table holds those
times, less the A/B's, which the
report tabulates apart; and the planner, reading that table through qcc,
picks at each M the candidate kernel measured fastest there (the
independent argmin of the measurements).

usage: device_pipeline.py --qcc PATH --emu LIBQOPT_CUDA_EMU --work DIR
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import gpu_bench  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--emu", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    bundle = os.path.join(args.work, "bundle")
    py = sys.executable
    failures = []

    def step(argv, env=None):
        proc = subprocess.run([py] + argv, capture_output=True, text=True,
                              env=dict(os.environ, **(env or {})))
        if proc.returncode != 0:
            failures.append(" ".join(argv[:2]))
            print("FAIL %s:\n%s%s" % (" ".join(argv), proc.stdout,
                                      proc.stderr))
        return proc

    # Here: build the bundle.
    step([os.path.join(ROOT, "test", "GPU", "gpu_vs_cpu.py"), "--qcc",
          args.qcc, "--work", os.path.join(bundle, "check"), "--build-only",
          "--gpu-arch", "sm_80"])
    step([os.path.join(ROOT, "test", "GPU", "exact_accumulators.py"),
          "--qcc", args.qcc, "--work", os.path.join(bundle, "exact"),
          "--build-only", "--gpu-arch", "sm_80"])
    step([os.path.join(ROOT, "bench", "gpu_bench.py"), "--qcc", args.qcc,
          "--build", os.path.join(bundle, "bench"), "--shapes", "512x192",
          "--m", "1,16,256", "--configs", "W2A8,W4A8,W4A16", "--gpu-arch",
          "sm_80"])
    # "There": no qcc, the emulator for a GPU.
    emu = {"QOPT_CUDA_LIBRARY": args.emu}
    proc = step([os.path.join(ROOT, "test", "GPU", "gpu_vs_cpu.py"),
                 "--prebuilt", "--work", os.path.join(bundle, "check"),
                 "--cuda-library", args.emu, "--m-list", "1,64"])
    print("prebuilt gpu_vs_cpu: %s" % (proc.stdout.strip().splitlines()[-1]
                                       if proc.stdout.strip() else "?"))
    proc = step([os.path.join(ROOT, "test", "GPU", "exact_accumulators.py"),
                 "--prebuilt", "--work", os.path.join(bundle, "exact"),
                 "--cuda-library", args.emu])
    print("prebuilt exact_accumulators: %s" % (
        proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "?"))
    results_path = os.path.join(args.work, "results.json")
    step([os.path.join(ROOT, "bench", "gpu_bench.py"), "--run",
          os.path.join(bundle, "bench"), "--results", results_path,
          "--no-peers", "--runs", "2"], env=emu)
    if failures:
        print("%d steps failed" % len(failures))
        return 1
    results = json.load(open(results_path))
    manifest = json.load(open(os.path.join(bundle, "bench", "manifest.json")))
    timed = {(t["so"], t["m"]) for t in results["times"]}
    want = {(lib["so"], m) for lib in manifest["libs"]
            for m in lib.get("m_list", manifest["m"])}
    ab = [t for t in results["times"] if t.get("variant")]
    planned = [t for t in results["times"] if not t.get("variant")]
    ok = timed == want and all(t["ms"] > 0 for t in results["times"]) and \
        {(t["config"], t["m"]) for t in ab} == {
            (c, m) for c in ("W4A8", "W4A16") for m in (1, 16, 256)}
    print("%s every library timed at every M (%d of %d; %d A/B)"
          % ("ok  " if ok else "FAIL", len(timed & want), len(want), len(ab)))
    failures += [] if ok else ["timing"]
    # Per kernel: the medians add up to the layer's time; the decode tile
    # (M = 1) of imma and hmma is the warps-split-K kernel, as is the
    # 128-K stages A/B's, and the warps-along-N A/B's is not.
    def kernels_of(config, family, m, variant=None):
        return next(sorted(t["kernels"]) for t in results["times"]
                    if (t["config"], t["family"], t["m"]) ==
                    (config, family, m) and t.get("variant") == variant)
    ok = all(abs(sum(t["kernels"].values()) - t["ms"]) < 1e-9
             for t in results["times"]) and \
        any("imma_m16_wk4" in n for n in kernels_of("W4A8", "imma", 1)) \
        and any("hmma_m16_wk4" in n for n in kernels_of("W4A16", "hmma", 1)) \
        and any("imma_m16_wk4" in n
                for n in kernels_of("W4A8", "imma", 1, "128-K stages")) \
        and not any("_wk" in n for n in kernels_of("W4A8", "imma", 1,
                                                   "warps along N")) \
        and not any("_m128" in n for n in kernels_of("W4A8", "imma", 256)) \
        and any("imma_m128" in n
                for n in kernels_of("W4A8", "imma", 256, "128-row tile")) \
        and any("hmma_m128" in n
                for n in kernels_of("W4A16", "hmma", 256, "128-row tile"))
    print("%s per-kernel times: W4A8 imma M=1 %s, A/B %s" % (
        "ok  " if ok else "FAIL", kernels_of("W4A8", "imma", 1),
        kernels_of("W4A8", "imma", 1, "warps along N")))
    failures += [] if ok else ["kernels"]
    results = dict(results, times=planned)

    # Here again: the report, its cost table and the planner's choices.
    table = os.path.join(args.work, "cost_table.json")
    step([os.path.join(ROOT, "bench", "gpu_bench.py"), "--qcc", args.qcc,
          "--report", results_path, "--build", os.path.join(bundle, "bench"),
          "--cost-table", table, "--markdown",
          os.path.join(args.work, "gpu.md")])
    entries = json.load(open(table))["entries"] if os.path.exists(table) \
        else []
    ok = len(entries) == len(results["times"])
    print("%s cost table: %d entries" % ("ok  " if ok else "FAIL",
                                         len(entries)))
    failures += [] if ok else ["table"]
    md = os.path.join(args.work, "gpu.md")
    lines = open(md).read().splitlines() if os.path.exists(md) else []
    # Each row: the default's time, then each variant's time and ratio (the
    # decode tile's three variants at M = 1, the decode tile against the
    # strip at 16, the 128-row tile at 256).
    for m, variants in ((1, len(gpu_bench.DECODE_VARIANTS)), (16, 1),
                        (256, 1)):
        rows = [line for line in lines if line.startswith(
            ("| W4A8 imma | 512x192 | %d |" % m,
             "| W4A16 hmma | 512x192 | %d |" % m))]
        cells = [[c.strip() for c in row.split("|")[4:-1]] for row in rows]
        ok = len(rows) == 2 and all(
            len(c) == 1 + 2 * variants and "-" not in c for c in cells)
        print("%s the report's tile A/B at M = %d: %s" % (
            "ok  " if ok else "FAIL", m, rows))
        failures += [] if ok else ["A/B report"]
    text = open(md).read() if os.path.exists(md) else ""
    ok = "### Kernel times at M <= 16" in text and \
        "| W2A8 | bmma | 512x192 | 1 | " in text
    print("%s the report's per-kernel table" % ("ok  " if ok else "FAIL"))
    failures += [] if ok else ["kernel table"]
    def check_plan(results, what):
        """The planner's kernel at each M is the one measured fastest."""
        plan = gpu_bench.plans(args.qcc, os.path.join(bundle, "bench"),
                               results, table, "sm_80")
        bad = 0
        for (config, k, n), ranges in sorted(plan.items()):
            for m in manifest["m"]:
                measured = {t["family"]: t["ms"] for t in results["times"]
                            if t["config"] == config and t["m"] == m}
                fastest = min(measured, key=measured.get)
                picked = next(f for m_max, f in ranges
                              if m_max is None or m <= m_max)
                ok = picked == fastest
                bad += not ok
                print("%s %s%s M=%d: the planner picks %s, measured fastest "
                      "%s %s" % ("ok  " if ok else "FAIL", what, config, m,
                                 picked, fastest, measured))
        return bad

    failures += ["plan"] * check_plan(results, "")
    # The emulator's times favour imma at small M, as the rule does: make
    # bmma the fastest W2A8 kernel at M = 1 and the planner must follow.
    for t in results["times"]:
        if t["config"] == "W2A8" and t["m"] == 1 and t["family"] == "bmma":
            t["ms"] = 1e-3
    edited = os.path.join(args.work, "results_edited.json")
    json.dump(results, open(edited, "w"))
    step([os.path.join(ROOT, "bench", "gpu_bench.py"), "--qcc", args.qcc,
          "--report", edited, "--build", os.path.join(bundle, "bench"),
          "--cost-table", table])
    failures += ["edited plan"] * check_plan(results, "(bmma at M=1 edited) ")
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
