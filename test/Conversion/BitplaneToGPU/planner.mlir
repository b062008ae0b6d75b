// The planner of qopt-bitplane-to-gpu: per layer and range of M, the kernel
// measured fastest in a cost table; without one, the rule (imma when P * Q
// > 8). Inputs/cost_table.json is hand-written test data.
//
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="cost-table=%S/Inputs/cost_table.json" | FileCheck %s --check-prefix=TABLE
// At M = 1 bmma is faster (5 vs 7 us), at 16 and 256 imma: bmma (its
// 8-row tile) up to 1, then imma, whose range is split where its tile
// changes: the 16-row tile with warps splitting K up to 4, the 16-row
// tile up to 16, the 64-row tile above.
// TABLE-LABEL: func.func private @qmatmul0_host(
// TABLE-SAME: qopt.gpu_plan = ["M <= 1: bmma 8-row tile", "M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// TABLE: %[[M:.*]] = tensor.dim
// TABLE: %[[ONE:.*]] = arith.cmpi ule, %[[M]], %c1{{ }}
// TABLE: scf.if %[[ONE]] -> (memref<?x8xf32>)
// TABLE: gpu.launch_func @qopt_kernels::@qmatmul0_bmma
// TABLE: } else {
// TABLE: %[[FOUR:.*]] = arith.cmpi ule, %[[M]], %c4{{ }}
// TABLE: scf.if %[[FOUR]] -> (memref<?x8xf32>)
// TABLE: gpu.launch_func @qopt_kernels::@qmatmul0_imma_m16_wk4
// TABLE: } else {
// TABLE: %[[SIXTEEN:.*]] = arith.cmpi ule, %[[M]], %c16
// TABLE: scf.if %[[SIXTEEN]] -> (memref<?x8xf32>)
// TABLE: gpu.launch_func @qopt_kernels::@qmatmul0_imma_m16
// TABLE: } else {
// TABLE: gpu.launch_func @qopt_kernels::@qmatmul0_imma {{.*}}
// TABLE-LABEL: func.func private @qmatmul1_host(
// TABLE-SAME: qopt.gpu_plan = ["any M: imma 64-row tile"]
// TABLE: gpu.func @qmatmul0_bmma(
// TABLE: gpu.func @qmatmul0_imma_m16_wk4(
// TABLE: gpu.func @qmatmul0_imma_m16(
// TABLE: gpu.func @qmatmul0_imma(
//
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu | FileCheck %s --check-prefix=RULE
// RULE: qopt.gpu_plan = ["M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// RULE: qopt.gpu_plan = ["any M: imma 64-row tile"]
//
// warps-split-k-max-m: the range of the warps-split-K tile (0: none); only
// 0 to 16 (the 16-row tile) is accepted.
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="warps-split-k-max-m=0" | FileCheck %s --check-prefix=NOWK
// NOWK: qopt.gpu_plan = ["M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// NOWK-NOT: _wk
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="warps-split-k-max-m=16" | FileCheck %s --check-prefix=WK16
// WK16: qopt.gpu_plan = ["M <= 16: imma 16-row tile, warps split K", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="warps-split-k-max-m=-1" 2>&1 | FileCheck %s --check-prefix=WKRANGE
// WKRANGE: error: qopt-bitplane-to-gpu: warps-split-k-max-m is -1, not between 0 and 16 (the 16-row tile)
//
// large-tile-min-m: the 128 x 128 tile's range (0: none; else above the
// 16-row tile). W4A8's stage (16 KiB of activations, 8 KiB of weights)
// fits twice in the default 48 KiB (W8A8's in 48 KiB does not:
// test/Tools/qcc/gpu-dequant-ptx.test, LARGE86).
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="large-tile-min-m=64" | FileCheck %s --check-prefix=LARGE64
// LARGE64: qopt.gpu_plan = ["M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M <= 63: imma 64-row tile", "M > 63: imma 128-row tile"]
// LARGE64: gpu.func @qmatmul0_imma_m128(
// LARGE64-SAME: block_tile = array<i64: 128, 128>
// LARGE64-SAME: stages = 2
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="large-tile-min-m=0" | FileCheck %s --check-prefix=NOLARGE
// NOLARGE: qopt.gpu_plan = ["M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M > 16: imma 64-row tile"]
// NOLARGE-NOT: _m128
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="large-tile-min-m=16" 2>&1 | FileCheck %s --check-prefix=LARGERANGE
// LARGERANGE: error: qopt-bitplane-to-gpu: large-tile-min-m is 16, not 0 or between 17 and 65536 (above the 16-row tile)
//
// Forcing a kernel: every layer takes it.
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="kernel=bmma" | FileCheck %s --check-prefix=BMMA
// BMMA: qopt.gpu_plan = ["M <= 8: bmma 8-row tile", "M > 8: bmma"]
// BMMA: qopt.gpu_plan = ["any M: bmma"]
// BMMA-NOT: imma
//
// Errors: an unknown kernel, a kernel that cannot take a layer, and every
// way a cost table can be wrong.
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="kernel=wgmma" 2>&1 | FileCheck %s --check-prefix=KERNEL
// KERNEL: error: qopt-bitplane-to-gpu: unknown kernel 'wgmma' (bmma, imma, hmma or auto)
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="kernel=hmma" 2>&1 | FileCheck %s --check-prefix=HMMA
// HMMA: error: 'qopt.qmatmul' op the f16 tensor-core kernel (hmma) takes float activations (weight-only quantization)
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="cost-table=%S/Inputs/missing.json" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: qopt-bitplane-to-gpu: cannot read the cost table '{{.*}}missing.json': No such file or directory
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="cost-table=%S/Inputs/cost_table_truncated.json" 2>&1 | FileCheck %s --check-prefix=JSON
// JSON: error: qopt-bitplane-to-gpu: the cost table '{{.*}}cost_table_truncated.json' is not JSON: {{.*}}
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="cost-table=%S/Inputs/cost_table_no_entries.json" 2>&1 | FileCheck %s --check-prefix=NOENTRIES
// NOENTRIES: error: qopt-bitplane-to-gpu: the cost table '{{.*}}' has no "entries" array
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="cost-table=%S/Inputs/cost_table_bad_kernel.json" 2>&1 | FileCheck %s --check-prefix=BADKERNEL
// BADKERNEL: error: qopt-bitplane-to-gpu: the cost table '{{.*}}': entry 0 has no "kernel" of bmma, imma or hmma
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="cost-table=%S/Inputs/cost_table_bad_time.json" 2>&1 | FileCheck %s --check-prefix=BADTIME
// BADTIME: error: qopt-bitplane-to-gpu: the cost table '{{.*}}': entry 0 has no positive "us"
// RUN: not qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="cost-table=%S/Inputs/cost_table_no_m.json" 2>&1 | FileCheck %s --check-prefix=NOM
// NOM: error: qopt-bitplane-to-gpu: the cost table '{{.*}}': entry 0 has no positive integer "m"
