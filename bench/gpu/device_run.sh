#!/usr/bin/env bash
# On a lent GPU machine (the device tool's run, carrying the bundle that
# bench/gpu/prepare_device_run.sh built): issue 8's GPU checks and kernel
# benchmarks, without qcc. Writes gpu.txt, gpu_vs_cpu.txt, exact.txt,
# bench.txt and results.json under $OUT (./device-out without it) and prints
# their ends.
# Rehearsed on the PTX emulator by ctest gpu-device-pipeline. The steps'
# time limits add up to 570 s, under the device tool's 600 s per call; files
# already written under $OUT come back even if a step is cut short.
#
# usage: bash bench/gpu/device_run.sh [BUNDLE]   (default build/device-bundle)
set -uo pipefail
bundle=${1:-build/device-bundle}
out=${OUT:-$PWD/device-out}
mkdir -p "$out"
py=$(command -v python3)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu \
  --format=csv 2>&1 | tee "$out/gpu.txt"
# 1. The GPU variant of every check library against its CPU variant.
timeout 150 "$py" test/GPU/gpu_vs_cpu.py --prebuilt --work "$bundle/check" \
  > "$out/gpu_vs_cpu.txt" 2>&1
echo "gpu_vs_cpu: exit $?" >> "$out/gpu_vs_cpu.txt"
grep -E "MISMATCH|failed|device:|exit" "$out/gpu_vs_cpu.txt" | head -n 20
# 2. Every kernel's integer sums against NumPy, bit for bit.
timeout 100 "$py" test/GPU/exact_accumulators.py --prebuilt \
  --work "$bundle/exact" > "$out/exact.txt" 2>&1
echo "exact_accumulators: exit $?" >> "$out/exact.txt"
grep -E "WRONG|failed|device:|exit|exact$" "$out/exact.txt" | head -n 20
# 3. mma.sync peaks, cuBLAS FP16/INT8 and every benchmark library.
timeout 320 "$py" bench/gpu_bench.py --run "$bundle/bench" \
  --results "$out/results.json" > "$out/bench.txt" 2>&1
echo "gpu_bench: exit $?" >> "$out/bench.txt"
tail -n 25 "$out/bench.txt"
