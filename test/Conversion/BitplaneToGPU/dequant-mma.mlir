// RUN: qopt-opt %s --qopt-bitplane-to-gpu --split-input-file | FileCheck %s

// W4A8 (constant s4 weights, per-token activations, bias), dynamic M and
// K = 200: the planner's rule (P * Q = 32 > 8) takes imma, with the 16-row
// tile up to M = 16 (its warps splitting K up to M = 4) and the 64-row tile
// above, chosen at run time. Activations quantized on the host are padded
// to K = 256 (whole 128-byte stages) and viewed as words; the weights are
// repacked once.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// CHECK: %[[PLANES:.*]] = arith.constant dense_resource<gpu_imma_planes> : tensor<4x24x8xi32>
// CHECK: %[[M:.*]] = tensor.dim %arg0
// CHECK: %[[DECODE:.*]] = arith.cmpi ule, %[[M]], %c4
// CHECK: scf.if %[[DECODE]] -> (memref<?x24xf32>)
// M <= 4: 16 x 16 blocks (N = 24: two), the four warps on the same columns,
// each taking every fourth of a k-tile's MMA k-steps; the decode tile's
// stage (up to 512 bytes of K) takes all of the padded K = 256 at once, so
// there is nothing to split over blockIdx.z (the 16-row tile below, with
// 128-K stages, splits K in two).
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_imma_m16_wk4 blocks in (%{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c128,
// CHECK-NOT: @qmatmul0_imma_m16_wk4_reduce
// CHECK: } else {
// CHECK: %[[SMALL:.*]] = arith.cmpi ule, %[[M]], %c16
// CHECK: scf.if %[[SMALL]] -> (memref<?x24xf32>)
// CHECK: %[[BYTES:.*]] = gpu.alloc (%{{.*}}) : memref<?xi8>
// CHECK: %[[ELEMS:.*]] = memref.view %[[BYTES]][%{{.*}}][%[[M]]] : memref<?xi8> to memref<?x256xi8>
// CHECK: %[[WORDS:.*]] = memref.view %[[BYTES]][%{{.*}}][%[[M]]] : memref<?xi8> to memref<?x64xi32>
// CHECK: tensor.pad %{{.*}} low[0, 0] high[0, 56]
// CHECK: gpu.memcpy %[[ELEMS]], %{{.*}} : memref<?x256xi8>, memref<?x256xi8>
// CHECK: bufferization.to_buffer %[[PLANES]]
// The 16-row tile splits K (two 128-K tiles) over blockIdx.z: f32 partial
// sums [2 * M, N] without the bias, then the reduction adds the bias.
// CHECK: %[[PARTS:.*]] = gpu.alloc (%{{.*}}) : memref<?x24xf32>
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_imma_m16 blocks in (%{{.*}}, %c1, %c2{{.*}}) threads in (%c128, {{.*}} args(%[[WORDS]] : memref<?x64xi32>, %{{.*}} : memref<4x24x8xi32>, %{{.*}} : memref<?xf32>, %{{.*}} : memref<24xf32>, %[[PARTS]] : memref<?x24xf32>)
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_imma_m16_reduce {{.*}} args(%[[PARTS]] : memref<?x24xf32>, %{{.*}} : memref<24xf32>, %{{.*}} : memref<?x24xf32>)
// CHECK: } else {
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_imma blocks in (%{{.*}}, %c1, %c1{{.*}}) threads in (%c128,
// CHECK: gpu.module @qopt_kernels
// The warps-split-K kernel: one stage (one k-tile) of the 4 rows M <= 4
// can have, and a third workgroup buffer for every warp's eight f32 sums
// per lane.
// CHECK: gpu.func @qmatmul0_imma_m16_wk4(%{{.*}}: memref<?x64xi32>, %{{.*}}: memref<4x24x8xi32>, {{.*}}) workgroup(%{{.*}} : memref<1x4x64xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1x768xi32, #gpu.address_space<workgroup>>, %[[RED:.*]] : memref<4x8x32xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: qopt.dequant_mma = {act = "s8", block_tile = array<i64: 16, 16>, groups = 1 : i64, k_tile = 256 : i64, mma = "m16n8k32", split_k = 1 : i64, staged_rows = 4 : i64, stages = 1 : i64, warps_k = 4 : i64, weight_bits = 4 : i64}
// warp = tid / 32 -> warp in K (kw), which also picks who adds the sums.
// CHECK: %[[WARP:.*]] = arith.divui %thread_id_x, %c32
// CHECK: %[[LANE:.*]] = arith.remui %thread_id_x, %c32
// CHECK: %[[KW:.*]] = arith.divui %{{.*}}, %c1
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[KW]], %c0
// Activation rows at or beyond M read nothing (source size 0: zero-filled).
// CHECK: %[[ROWOK:.*]] = arith.cmpi ult, %{{.*}}, %dim : index
// CHECK: %[[SRC:.*]] = arith.select %[[ROWOK]], %c4{{.*}}, %c0{{.*}} : index
// CHECK: nvgpu.device_async_copy %arg0[%{{.*}}, %{{.*}}], %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}], 4, %[[SRC]] {bypassL1}
// The warp's k-steps s = kw + 4 i (two per 256-K tile): A rows g < 4 from
// the stage (rows 8..15 are zero registers), B from the lane's word t of
// chunk s.
// CHECK: %[[STAGED:.*]] = arith.cmpi ult, %{{.*}}, %c4{{.*}} : index
// CHECK: arith.select %[[STAGED]], %{{.*}}, %c0_i32{{.*}} : i32
// CHECK: nvvm.mma.sync A[%{{.*}}, %c0_i32{{.*}}, %{{.*}}, %c0_i32{{.*}}]
// CHECK: nvvm.mma.sync
// After the k-loop: the sums to shared memory, a barrier, and the first warp
// in K adds the others' (warps kw = 1, 2, 3 in order) before the epilogue.
// CHECK: memref.store %{{.*}}, %[[RED]][%[[WARP]], %c0{{.*}}, %[[LANE]]]
// CHECK: gpu.barrier
// CHECK-NEXT: scf.if %[[FIRST]] {
// CHECK: memref.load %[[RED]]
// CHECK: arith.addf
// CHECK-NOT: gpu.func @qmatmul0_imma_m16_wk4_reduce(
// CHECK: gpu.func @qmatmul0_imma_m16(%{{.*}}: memref<?x64xi32>, %{{.*}}: memref<4x24x8xi32>, {{.*}}) workgroup(%{{.*}} : memref<3x16x32xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x1024xi32, #gpu.address_space<workgroup>>)
// CHECK-SAME: qopt.dequant_mma = {act = "s8", block_tile = array<i64: 16, 64>, groups = 1 : i64, k_tile = 128 : i64, mma = "m16n8k32", split_k = 2 : i64, stages = 3 : i64, warps_k = 1 : i64, weight_bits = 4 : i64}
// A and the weights through cp.async; the s4 weights are one 4-bit slice,
// packed as u = w + 8, each nibble moved to the top of its byte: register
// 0 is the lane's word shifted left by 4, register 1 the word itself, both
// masked with 0xF0F0F0F0 (-252645136) and bit 7 of each byte flipped
// (0x80808080 = -2139062144), giving the s8 16 w; the sums are shifted
// right by 4 before they are folded (converted and scaled).
// CHECK: nvgpu.device_async_copy
// CHECK: %[[W:.*]] = memref.load
// CHECK: %[[SHL:.*]] = arith.shli %[[W]], %c4_i32{{.*}} : i32
// CHECK: %[[U0:.*]] = arith.andi %[[SHL]], %c-252645136_i32{{.*}} : i32
// CHECK: %[[B0:.*]] = arith.xori %[[U0]], %c-2139062144_i32{{.*}} : i32
// CHECK-NOT: arith.subi %{{.*}}, %c134744072
// CHECK: %[[W1:.*]] = memref.load
// CHECK-NOT: arith.shli
// CHECK: %[[U1:.*]] = arith.andi %[[W1]], %c-252645136_i32{{.*}} : i32
// CHECK: %[[B1:.*]] = arith.xori %[[U1]], %c-2139062144_i32{{.*}} : i32
// CHECK: nvvm.mma.sync A[{{.*}}] B[%[[B0]], %[[B1]]] C[{{.*}}] {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
// CHECK: %[[TRUE:.*]] = arith.shrsi %{{.*}}, %c4_i32
// CHECK: arith.sitofp %[[TRUE]] : i32 to f32
// CHECK: gpu.func @qmatmul0_imma(
// CHECK-SAME: block_tile = array<i64: 64, 64>
func.func @w4a8(%a: tensor<?x200x!qopt.int<s8>>, %sa: tensor<?xf32>, %sw: tensor<24xf32>, %bias: tensor<24xf32>) -> tensor<?x24xf32> {
  %w8 = arith.constant dense<-3> : tensor<24x200xi8>
  %w = qopt.storage_cast %w8 : tensor<24x200xi8> to tensor<24x200x!qopt.int<s4>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) bias(%bias)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x200x!qopt.int<s8>>, tensor<?xf32>, tensor<24x200x!qopt.int<s4>>, tensor<24xf32>, tensor<24xf32>) -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// -----

// Weight-only W4 (u4, zero points and scales per group of 32), static
// M = 4: hmma with the 16-row tile, its warps splitting K: a 32-K stage
// has two k16 MMA steps, so two warps in K and two along N (16 x 32
// blocks); the kernel converts the f32 activations it stages to f16
// itself (`_cvt`, no conversion kernel); B registers are 0x6400 | u in each half (1024 + u as f16)
// minus the f16x2 1024 + zw; f32 accumulators, scaled by sw at each group's
// end.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["any M: hmma 16-row tile, warps split K"]
// CHECK-NOT: scf.if
// CHECK-NOT: _to_f16_act
// Split-K by groups: three parts of one group each, partial sums [3 * 4, 24].
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma_m16_wk2_cvt blocks in (%{{.*}}, %{{.*}}, %c3) {{.*}} args(%{{.*}} : memref<4x96xf32>, %{{.*}} : memref<4x24x3xi32>, %{{.*}} : memref<24x3xf32>, %{{.*}} : memref<24x3xi32>, %[[P:.*]] : memref<12x24xf32>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma_m16_wk2_cvt_reduce {{.*}} args(%[[P]] : memref<12x24xf32>, %{{.*}} : memref<4x24xf32>)
// CHECK: gpu.func @qmatmul0_hmma_m16_wk2_cvt(
// One k-tile per block: one stage of f32, of the 4 rows M has, and its f16
// words.
// CHECK-SAME: workgroup(%{{.*}} : memref<1x4x32xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1x160xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x8x32xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x16xi32, #gpu.address_space<workgroup>>)
// CHECK-SAME: qopt.dequant_mma = {act = "f16", block_tile = array<i64: 16, 32>, groups = 3 : i64, k_tile = 32 : i64, mma = "m16n8k16", split_k = 3 : i64, staged_rows = 4 : i64, stages = 1 : i64, warps_k = 2 : i64, weight_bits = 4 : i64}
// Per group: the offsets, then the group's weight scales, loaded before its
// k-tiles (the fold at its end does not wait on them), then the k-tiles.
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %c1
// CHECK: %[[OFF:.*]] = arith.addi %c1024_i32, %{{.*}} : i32
// CHECK: arith.sitofp %[[OFF]] : i32 to f16
// CHECK: %[[SW0:.*]] = memref.load %{{.*}}[%{{.*}}, %[[G]]] : memref<24x3xf32>
// CHECK-COUNT-7: memref.load %{{.*}}[%{{.*}}, %[[G]]] : memref<24x3xf32>
// CHECK: scf.for
// The staged f32 pairs -> f16x2 words, then the fragments.
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: llvm.bitcast %{{.*}} : vector<2xf16> to i32
// CHECK: gpu.barrier
// The warp's k16 step s = kw + 2 i: 32-K chunk s / 2, B registers r = 2 (s
// % 2) + h, each the 4-bit fields at bit 4 r of the lane's word of the
// chunk: one load, one shift, one mask (0x000F000F), then 0x6400 ORed in.
// CHECK: arith.divui %{{.*}}, %c2
// CHECK: %[[ODD:.*]] = arith.remui %{{.*}}, %c2
// CHECK: %[[REG:.*]] = arith.muli %[[ODD]], %c2
// CHECK: %[[R:.*]] = arith.addi %[[REG]], %{{.*}} : index
// CHECK: %[[SHIFT:.*]] = arith.muli %[[R]], %c4
// CHECK: %[[WORD:.*]] = memref.load %{{.*}} : memref<1x160xi32, #gpu.address_space<workgroup>>
// CHECK: %[[SHIFT32:.*]] = arith.index_cast %[[SHIFT]] : index to i32
// CHECK: %[[FIELDS:.*]] = arith.shrui %[[WORD]], %[[SHIFT32]] : i32
// CHECK: %[[U:.*]] = arith.andi %[[FIELDS]], %c983055_i32 : i32
// CHECK: arith.ori %[[U]], %c1677747200_i32
// CHECK: %[[H:.*]] = llvm.bitcast %{{.*}} : i32 to vector<2xf16>
// CHECK: arith.subf %[[H]], %{{.*}} : vector<2xf16>
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// At the group's end, its sums times the scales loaded at its start.
// CHECK: arith.mulf %{{.*}}, %[[SW0]] : f32
func.func @w4a16(%a: tensor<4x96xf32>, %sw: tensor<24x3xf32>, %zw: tensor<24x3xi32>) -> tensor<4x24xf32> {
  %w8 = arith.constant dense<5> : tensor<24x96xi8>
  %w = qopt.storage_cast %w8 : tensor<24x96xi8> to tensor<24x96x!qopt.int<u4>>
  %y = qopt.qmatmul %a, %w scale(%sw) zero_point(%zw)
      {weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 32), asymmetric>}
      : (tensor<4x96xf32>, tensor<24x96x!qopt.int<u4>>, tensor<24x3xf32>, tensor<24x3xi32>) -> tensor<4x24xf32>
  return %y : tensor<4x24xf32>
}

// -----

// u8 activations and u8 weights (W8A8 asymmetric, zero points on both):
// u8 MMA operands, zero-point corrections from run-time act row sums and
// compile-time weight row sums; M = 4: the warps split K, and only the
// first warp in K adds the corrections to its partial sums.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["any M: imma 16-row tile, warps split K"]
// CHECK-DAG: dense_resource<gpu_imma_planes> : tensor<8x8x4xi32>
// CHECK-DAG: dense_resource<gpu_weight_row_sums> : tensor<8x1xi32>
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_rowsum_bytes_act
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_imma_m16_wk4
// Row-sum corrections over all of K: no split-K.
// CHECK-NOT: _reduce
// CHECK: gpu.func @qmatmul0_imma_m16_wk4(
// CHECK-SAME: act = "u8"
// CHECK-SAME: split_k = 1
// CHECK-SAME: warps_k = 4
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c0
// CHECK: multiplicandAPtxType = #nvvm.mma_type<u8>, multiplicandBPtxType = #nvvm.mma_type<u8>
// CHECK: arith.select %[[FIRST]], %{{.*}}, %{{.*}} : i32
func.func @w8a8_u8(%a: tensor<4x128x!qopt.int<u8>>, %sa: tensor<f32>, %za: tensor<i32>, %sw: tensor<8xf32>, %zw: tensor<8xi32>) -> tensor<4x8xf16> {
  %w8 = arith.constant dense<200> : tensor<8x128xi8>
  %w = qopt.storage_cast %w8 : tensor<8x128xi8> to tensor<8x128x!qopt.int<u8>>
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, asymmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<4x128x!qopt.int<u8>>, tensor<f32>, tensor<i32>, tensor<8x128x!qopt.int<u8>>, tensor<8xf32>, tensor<8xi32>) -> tensor<4x8xf16>
  return %y : tensor<4x8xf16>
}

// -----

// The rule between the integer kernels: W2A4 (P * Q = 8) stays on the
// binary MMA, W4A4 (16) takes imma; run-time weights always take bmma.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["any M: bmma 8-row tile"]
// CHECK-LABEL: func.func private @qmatmul1_host(
// CHECK-SAME: qopt.gpu_plan = ["any M: imma 16-row tile, warps split K"]
// CHECK-LABEL: func.func private @qmatmul2_host(
// CHECK-SAME: qopt.gpu_plan = ["any M: bmma 8-row tile"]
func.func @rule(%a: tensor<4x256x!qopt.int<s4>>, %sa: tensor<f32>, %sw: tensor<f32>, %wr: tensor<8x256x!qopt.int<s4>>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %w8 = arith.constant dense<1> : tensor<8x256xi8>
  %w2 = qopt.storage_cast %w8 : tensor<8x256xi8> to tensor<8x256x!qopt.int<s2>>
  %w4 = qopt.storage_cast %w8 : tensor<8x256xi8> to tensor<8x256x!qopt.int<s4>>
  %y2 = qopt.qmatmul %a scale(%sa), %w2 scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<4x256x!qopt.int<s4>>, tensor<f32>, tensor<8x256x!qopt.int<s2>>, tensor<f32>) -> tensor<4x8xf32>
  %y4 = qopt.qmatmul %a scale(%sa), %w4 scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<4x256x!qopt.int<s4>>, tensor<f32>, tensor<8x256x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  %yr = qopt.qmatmul %a scale(%sa), %wr scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<4x256x!qopt.int<s4>>, tensor<f32>, tensor<8x256x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  return %y2, %y4, %yr : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// split-k-blocks=0 turns split-K off.
// RUN: qopt-opt %s --qopt-bitplane-to-gpu="split-k-blocks=0" --split-input-file | FileCheck %s --check-prefix=NOSPLIT
// NOSPLIT-NOT: _reduce
// NOSPLIT: split_k = 1
