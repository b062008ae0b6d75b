// RUN: qopt-opt %s --qopt-bitplane-to-gpu="split-k-blocks=0" --split-input-file | FileCheck %s
// RUN: qopt-opt %s --qopt-bitplane-to-gpu="split-k-blocks=0 decode-k-tile=128 decode-max-stages=2" --split-input-file | FileCheck %s --check-prefix=OPT
// RUN: not qopt-opt %s --qopt-bitplane-to-gpu="decode-k-tile=384" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: not qopt-opt %s --qopt-bitplane-to-gpu="decode-max-stages=0" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADSTAGES
// RUN: not qopt-opt %s --qopt-bitplane-to-gpu="decode-max-stages=17" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADSTAGES17
// BADTILE: error: qopt-bitplane-to-gpu: decode-k-tile is 384, not 128, 256, 512 or 1024
// BADSTAGES: error: qopt-bitplane-to-gpu: decode-max-stages is 0, not between 1 and 16
// BADSTAGES17: error: qopt-bitplane-to-gpu: decode-max-stages is 17, not between 1 and 16

// The decode tile's k-tile (imma/hmma's 16-row tile with its warps
// splitting K): 512 bytes of activations per stage by default (512 s8 or
// 256 16-bit values), holding whole weight groups when they are smaller;
// only the rows M can have are staged; up to 6 stages (no more than the
// block's k-tiles); at most 168 registers.
//
// W4A8, groups of 128, K = 2048, M = 1: 512-K stages of four groups, four
// stages (all four k-tiles in flight), one activation row staged.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["any M: imma 16-row tile, warps split K"]
// CHECK: gpu.func @qmatmul0_imma_m16_wk4(%{{.*}}: memref<1x512xi32>, %{{.*}}: memref<4x32x64xi32>, %{{.*}}: memref<1xf32>, %[[SW:.*]]: memref<32x16xf32>, %{{.*}}: memref<1x32xf32>) workgroup(%{{.*}} : memref<4x1x128xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x1280xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x8x32xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: nvvm.maxnreg = 168 : i32
// CHECK-SAME: qopt.dequant_mma = {act = "s8", block_tile = array<i64: 16, 16>, groups = 16 : i64, k_tile = 512 : i64, mma = "m16n8k32", split_k = 1 : i64, staged_rows = 1 : i64, stages = 4 : i64, warps_k = 4 : i64, weight_bits = 4 : i64}
// The loop over k-tiles; in each, group 4 kt + j of the four: the warp's
// k-step of it (A row 0 only; rows 8..15 zero registers) from zero
// accumulators, folded with the group's weight scale.
// CHECK: scf.for %[[KT:.*]] = %c0{{.*}} to %c4{{.*}} step %c1
// CHECK: nvvm.cp.async.wait.group 3
// CHECK: %[[G0:.*]] = arith.muli %[[KT]], %c4{{.*}} : index
// CHECK: nvvm.mma.sync A[%{{.*}}, %c0_i32{{.*}}, %{{.*}}, %c0_i32{{.*}}] B[%{{.*}}, %{{.*}}] C[%c0_i32, %c0_i32, %c0_i32, %c0_i32]
// CHECK: memref.load %[[SW]][%{{.*}}, %[[G0]]] : memref<32x16xf32>
// CHECK: %[[G1BASE:.*]] = arith.muli %[[KT]], %c4{{.*}} : index
// CHECK: %[[G1:.*]] = arith.addi %[[G1BASE]], %c1{{.*}} : index
// CHECK: nvvm.mma.sync {{.*}} C[%c0_i32, %c0_i32, %c0_i32, %c0_i32]
// CHECK: memref.load %[[SW]][%{{.*}}, %[[G1]]] : memref<32x16xf32>
// CHECK: arith.addi %{{.*}}, %c2{{.*}} : index
// CHECK: arith.addi %{{.*}}, %c3{{.*}} : index
// CHECK: scf.yield
// OPT: gpu.func @qmatmul0_imma_m16_wk4(
// OPT-SAME: k_tile = 128 : i64
// OPT-SAME: stages = 2 : i64
func.func @w4a8_g128(%a: tensor<1x2048x!qopt.int<s8>>, %sa: tensor<1xf32>, %sw: tensor<32x16xf32>) -> tensor<1x32xf32> {
  %w8 = arith.constant dense<3> : tensor<32x2048xi8>
  %w = qopt.storage_cast %w8 : tensor<32x2048xi8> to tensor<32x2048x!qopt.int<s4>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>}
      : (tensor<1x2048x!qopt.int<s8>>, tensor<1xf32>, tensor<32x2048x!qopt.int<s4>>, tensor<32x16xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----


// Weight-only W4 with zero points in groups of 64 (hmma), dynamic M: up to
// M = 4, 256-K stages (512 bytes of f16) of four groups, each group's f16
// offsets (1024 + zw) made before its k-step; four rows staged. K = 1024
// is whole 256-K tiles, so all three tiles read one packing of the weights.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["M <= 4: hmma 16-row tile, warps split K", "M <= 16: hmma 16-row tile", "M <= 511: hmma 64-row tile", "M > 511: hmma 128-row tile"]
// CHECK: arith.constant dense_resource<gpu_hmma_planes> : tensor<4x32x32xi32>
// CHECK-NOT: dense_resource<gpu_hmma_planes>
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_hmma_m16_wk4 {{.*}} : memref<4x32x32xi32>
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_hmma_m16 {{.*}} : memref<4x32x32xi32>
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_hmma {{.*}} : memref<4x32x32xi32>
// CHECK: gpu.func @qmatmul0_hmma_m16_wk4(
// CHECK-SAME: workgroup(%{{.*}} : memref<4x4x128xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x528xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x8x32xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: qopt.dequant_mma = {act = "f16", block_tile = array<i64: 16, 16>, groups = 16 : i64, k_tile = 256 : i64, mma = "m16n8k16", split_k = 1 : i64, staged_rows = 4 : i64, stages = 4 : i64, warps_k = 4 : i64, weight_bits = 4 : i64}
// CHECK: scf.for %[[KT:.*]] = %c0{{.*}} to %c4{{.*}} step %c1
// CHECK: %[[G0:.*]] = arith.muli %[[KT]], %c4{{.*}} : index
// CHECK: memref.load %{{.*}}[%{{.*}}, %[[G0]]] : memref<32x16xi32>
// CHECK: arith.sitofp %{{.*}} : i32 to f16
// CHECK: nvvm.mma.sync {{.*}} C[%cst, %cst, %cst, %cst]
// CHECK: arith.addi %{{.*}}, %c1{{.*}} : index
// CHECK: arith.sitofp %{{.*}} : i32 to f16
// CHECK: nvvm.mma.sync {{.*}} C[%cst, %cst, %cst, %cst]
// CHECK: gpu.func @qmatmul0_hmma_m16(
// CHECK-SAME: k_tile = 64 : i64
// OPT: gpu.func @qmatmul0_hmma_m16_wk4(
// OPT-SAME: k_tile = 64 : i64
// OPT-SAME: stages = 2 : i64
func.func @w4a16_g64(%a: tensor<?x1024xf16>, %sw: tensor<32x16xf32>, %zw: tensor<32x16xi32>) -> tensor<?x32xf32> {
  %w8 = arith.constant dense<5> : tensor<32x1024xi8>
  %w = qopt.storage_cast %w8 : tensor<32x1024xi8> to tensor<32x1024x!qopt.int<u4>>
  %y = qopt.qmatmul %a, %w scale(%sw) zero_point(%zw)
      {weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 64), asymmetric>}
      : (tensor<?x1024xf16>, tensor<32x1024x!qopt.int<u4>>, tensor<32x16xf32>, tensor<32x16xi32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----


// W2A8 per channel, K = 640: not whole 512- or 256-K tiles, so 128-K
// ones, the other tiles' (which pad K to 640 too: every tile of the layer
// reads the same packed weights, stored once).
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["any M: imma 16-row tile, warps split K"]
// CHECK: gpu.func @qmatmul0_imma_m16_wk4(%{{.*}}: memref<1x160xi32>, %{{.*}}: memref<2x32x20xi32>,
// CHECK-SAME: k_tile = 128 : i64
// CHECK-SAME: stages = 5 : i64
func.func @w2a8_k640(%a: tensor<1x640x!qopt.int<s8>>, %sa: tensor<1xf32>, %sw: tensor<32xf32>) -> tensor<1x32xf32> {
  %w8 = arith.constant dense<1> : tensor<32x640xi8>
  %w = qopt.storage_cast %w8 : tensor<32x640xi8> to tensor<32x640x!qopt.int<s2>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<1x640x!qopt.int<s8>>, tensor<1xf32>, tensor<32x640x!qopt.int<s2>>, tensor<32xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----


// Groups of 128, K = 1280: not whole 512-K tiles, so 256-K tiles of two
// groups (no tile of groups that do not exist); M = 2 stages two rows.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK: gpu.func @qmatmul0_imma_m16_wk4(
// CHECK-SAME: workgroup(%{{.*}} : memref<5x2x64xi32, #gpu.address_space<workgroup>>
// CHECK-SAME: groups = 10 : i64, k_tile = 256 : i64
// CHECK-SAME: staged_rows = 2 : i64, stages = 5 : i64
func.func @w4a8_g128_k1280(%a: tensor<2x1280x!qopt.int<s8>>, %sa: tensor<2xf32>, %sw: tensor<32x10xf32>) -> tensor<2x32xf32> {
  %w8 = arith.constant dense<3> : tensor<32x1280xi8>
  %w = qopt.storage_cast %w8 : tensor<32x1280xi8> to tensor<32x1280x!qopt.int<s4>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>}
      : (tensor<2x1280x!qopt.int<s8>>, tensor<2xf32>, tensor<32x1280x!qopt.int<s4>>, tensor<32x10xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}
