#!/usr/bin/env bash
# Builds here (where qcc is) everything the issue-8 GPU run needs, into one
# folder the device tool can carry to a GPU machine that has no LLVM/MLIR:
# the GPU-vs-CPU check libraries (test/GPU/gpu_vs_cpu.py --build-only), the
# exact-sum libraries (test/GPU/exact_accumulators.py --build-only) and
# the LLaMA-7B-shape kernel benchmark libraries (bench/gpu_bench.py --build,
# qcc --gpu-bench-weights: ~150 KB each), plus the CUDA peers for sm_90 in
# case nvcc cannot build them there. Then, with the device tool:
#   run(command="bash bench/gpu/device_run.sh build/device-bundle",
#       carry=["build/device-bundle"])
# and back here, on the results.json it returns:
#   /usr/bin/python3 bench/gpu_bench.py --qcc build/bin/qcc --report results.json \
#       --build build/device-bundle/bench --markdown gpu.md \
#       --cost-table bench/gpu/cost_table_sm_90.json
#
# usage: bench/gpu/prepare_device_run.sh [BUNDLE]   (default build/device-bundle)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bundle=${1:-$root/build/device-bundle}
qcc=${QCC:-$root/build/bin/qcc}
rm -rf "$bundle"
mkdir -p "$bundle"
/usr/bin/python3 "$root/test/GPU/gpu_vs_cpu.py" --qcc "$qcc" \
  --work "$bundle/check" --build-only --gpu-arch sm_90 \
  --gpu-kernels auto,bmma,imma
/usr/bin/python3 "$root/test/GPU/exact_accumulators.py" --qcc "$qcc" \
  --work "$bundle/exact" --build-only --gpu-arch sm_90
rm -f "$bundle"/exact/*.mlir
/usr/bin/python3 "$root/bench/gpu_bench.py" --qcc "$qcc" \
  --build "$bundle/bench" --gpu-arch sm_90
# The models stay behind (the report rebuilds them, same seed): only the
# libraries travel.
mkdir -p "$root/build/device-models"
mv "$bundle"/check/*.onnx "$bundle"/bench/*.onnx "$root/build/device-models/"
du -sh "$bundle"
size=$(du -sm "$bundle" | cut -f1)
if [ "$size" -gt 48 ]; then
  echo "prepare_device_run: the bundle is ${size} MiB; the device tool carries 64 MiB in all" >&2
  exit 1
fi
