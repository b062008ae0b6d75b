// RUN: qopt-opt %s --qopt-bitplane-to-gpu --split-input-file | FileCheck %s
// RUN: qopt-opt %s --qopt-bitplane-to-gpu=hmma-type=bf16 --split-input-file | FileCheck %s --check-prefix=FORCED
// RUN: not qopt-opt %s --qopt-bitplane-to-gpu=hmma-type=fp8 --split-input-file 2>&1 | FileCheck %s --check-prefix=BADTYPE
// BADTYPE: error: qopt-bitplane-to-gpu: unknown hmma-type 'fp8' (f16, bf16 or auto)

// hmma on bf16 operands: bf16 activations (hmma-type=auto takes bf16 for
// them), weight-only W8 (u8, per channel with zero points), bf16 result.
// K = 128 is whole 64-K stages, so the activations are copied in as they
// are (no conversion kernel) and viewed as words. No 128-row tile for bf16
// operands of 8-bit weights (ptxas holds it to 128 registers and spills).
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["M <= 4: hmma 16-row tile, warps split K", "M <= 16: hmma 16-row tile", "M > 16: hmma 64-row tile"]
// CHECK: %[[ELEMS:.*]] = memref.view {{.*}} : memref<?xi8> to memref<?x128xbf16>
// CHECK: %[[WORDS:.*]] = memref.view {{.*}} : memref<?xi8> to memref<?x64xi32>
// CHECK: %[[HOST:.*]] = bufferization.to_buffer %arg0 read_only : tensor<?x128xbf16> to memref<?x128xbf16>
// CHECK: gpu.memcpy %[[ELEMS]], %[[HOST]] : memref<?x128xbf16>, memref<?x128xbf16>
// CHECK-NOT: _to_bf16_act
// M <= 4: the decode tile's stage (up to 256 16-bit values) takes all of
// K = 128, one stage: no split of K, no reduction.
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_hmma_m16_wk4 {{.*}} args(%[[WORDS]] : memref<?x64xi32>, %{{.*}} : memref<8x24x4xi32>, {{.*}} : memref<?x24xbf16>)
// CHECK-NOT: @qmatmul0_hmma_m16_wk4_reduce
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_hmma_m16 {{.*}} args(%[[WORDS]] : memref<?x64xi32>, %{{.*}} : memref<8x24x4xi32>,
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_hmma_m16_reduce {{.*}} : memref<?x24xbf16>)
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_hmma {{.*}} args(%{{.*}} : memref<?x64xi32>, %{{.*}} : memref<8x24x4xi32>, {{.*}} : memref<?x24xbf16>)
// CHECK: gpu.func @qmatmul0_hmma_m16_wk4(
// CHECK-SAME: block_tile = array<i64: 16, 16>
// CHECK-SAME: k_tile = 128 : i64
// CHECK-SAME: split_k = 1 : i64, staged_rows = 4 : i64, stages = 1 : i64, warps_k = 4
// CHECK: gpu.func @qmatmul0_hmma_m16(
// CHECK-SAME: qopt.dequant_mma = {act = "bf16", block_tile = array<i64: 16, 64>, groups = 1 : i64, k_tile = 64 : i64, mma = "m16n8k16", split_k = 2 : i64, stages = 3 : i64, warps_k = 1 : i64, weight_bits = 8 : i64}
// The offset, negated: -(zw - wmin) (p = 8: no 128), to bf16 through f32.
// CHECK: %[[NEG:.*]] = arith.subi %c0_i32{{.*}}, %{{.*}} : i32
// CHECK: %[[F:.*]] = arith.sitofp %[[NEG]] : i32 to f32
// CHECK: arith.truncf %[[F]] : f32 to bf16
// The weights as one 8-bit slice: the lane's byte pairs (0x00FF00FF). Bit 7
// of each flipped (0x00010001), for later; the low seven bits (0x007F007F)
// ORed into 0x4300 (128.0) in each half, plus the offset by fma with 1.0;
// then the flipped bit 7 times 0xC300 (-128.0), added the same way.
// CHECK: %[[BYTES:.*]] = arith.andi %{{.*}}, %c16711935_i32 : i32
// CHECK: %[[B7:.*]] = arith.shrui %[[BYTES]], %c7_i32 : i32
// CHECK: %[[TOPBIT:.*]] = arith.andi %[[B7]], %c65537_i32 : i32
// CHECK: %[[CLEAR:.*]] = arith.xori %[[TOPBIT]], %c65537_i32{{.*}} : i32
// CHECK: %[[LOW7:.*]] = arith.andi %[[BYTES]], %c8323199_i32 : i32
// CHECK: arith.ori %[[LOW7]], %c1124090624_i32 : i32
// CHECK: %[[LOW:.*]] = llvm.bitcast %{{.*}} : i32 to vector<2xbf16>
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(dense<1.000000e+00> : vector<2xbf16>) : vector<2xbf16>
// CHECK: %[[SHIFTED:.*]] = llvm.intr.fma(%[[LOW]], %[[ONE]], %{{.*}}) : (vector<2xbf16>, vector<2xbf16>, vector<2xbf16>) -> vector<2xbf16>
// CHECK: %[[TOP:.*]] = arith.muli %[[CLEAR]], %c49920_i32 : i32
// CHECK: %[[TOPH:.*]] = llvm.bitcast %[[TOP]] : i32 to vector<2xbf16>
// CHECK: llvm.intr.fma(%[[TOPH]], %{{.*}}, %[[SHIFTED]])
// CHECK: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: gpu.func @qmatmul0_hmma_m16_reduce(
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// FORCED-LABEL: func.func private @qmatmul0_host(
// FORCED-NOT: _to_bf16_act
// FORCED: qopt.dequant_mma = {act = "bf16"
func.func @w8_bf16(%a: tensor<?x128xbf16>, %sw: tensor<24xf32>, %zw: tensor<24xi32>) -> tensor<?x24xbf16> {
  %w8 = arith.constant dense<-3> : tensor<24x128xi8>
  %w = qopt.storage_cast %w8 : tensor<24x128xi8> to tensor<24x128x!qopt.int<u8>>
  %y = qopt.qmatmul %a, %w scale(%sw) zero_point(%zw)
      {weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x128xbf16>, tensor<24x128x!qopt.int<u8>>, tensor<24xf32>, tensor<24xi32>) -> tensor<?x24xbf16>
  return %y : tensor<?x24xbf16>
}

// -----

// f32 activations: f16 by default, bf16 with hmma-type=bf16. Dynamic M: up
// to M = 16 the 16-row tiles (the decode tile, then the side-by-side one)
// stage the f32 rows as they are and convert each k-tile themselves
// (`_cvt`, rounding to nearest even, no conversion kernel); above, a
// conversion kernel writes the operand type for the 64-row tile. W4 (s4, per channel, no zero point): only the 128 + zw -
// wmin offset, no eighth plane.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma_m16_wk4_cvt {{.*}} args(%{{.*}} : memref<?x128xf32>, %{{.*}} : memref<4x24x4xi32>, %{{.*}} : memref<24xf32>, %{{.*}} : memref<?x24xf32>)
// CHECK-NOT: _to_f16_act
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma_m16_cvt {{.*}} args(%{{.*}} : memref<?x128xf32>,
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_to_f16_act {{.*}} args(%{{.*}} : memref<?x128xf32>, %{{.*}} : memref<?x128xf16>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma blocks
// CHECK: gpu.func @qmatmul0_hmma_m16_wk4_cvt(
// CHECK-SAME: qopt.dequant_mma = {act = "f16"
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: gpu.func @qmatmul0_to_f16_act(
// FORCED-LABEL: func.func private @qmatmul0_host(
// FORCED: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma_m16_wk4_cvt {{.*}} args(%{{.*}} : memref<?x128xf32>,
// FORCED: gpu.launch_func  @qopt_kernels::@qmatmul0_to_bf16_act {{.*}} args(%{{.*}} : memref<?x128xf32>, %{{.*}} : memref<?x128xbf16>)
// The decode kernel: f32 stages (one 128-K stage of the 4 rows M <= 4 can
// have), the weight planes, the warps' sums, the k-tile's operand words.
// FORCED: gpu.func @qmatmul0_hmma_m16_wk4_cvt(%{{.*}}: memref<?x128xf32>, {{.*}}) workgroup(%[[SA:.*]] : memref<1x4x128xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1x256xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x8x32xf32, #gpu.address_space<workgroup>>, %[[SQ:.*]] : memref<4x64xi32, #gpu.address_space<workgroup>>)
// FORCED-SAME: qopt.dequant_mma = {act = "bf16"
// 128 - wmin = 136 for s4.
// FORCED: arith.constant 136 : i32
// Once the stage has landed: each thread converts a pair of the block's
// real rows' values into one bf16x2 word of the k-tile, then a barrier
// before the fragments read them.
// FORCED: nvvm.cp.async.wait.group 0
// FORCED: gpu.barrier
// FORCED: scf.for %{{.*}} = %thread_id_x to %{{.*}} step %c128
// FORCED: memref.load %[[SA]]
// FORCED: memref.load %[[SA]]
// FORCED: arith.truncf %{{.*}} : f32 to bf16
// FORCED: arith.truncf %{{.*}} : f32 to bf16
// FORCED: %[[W:.*]] = llvm.bitcast %{{.*}} : vector<2xbf16> to i32
// FORCED: memref.store %[[W]], %[[SQ]]
// FORCED: gpu.barrier
// FORCED: memref.load %[[SQ]]
// FORCED: arith.ori %{{.*}}, %c1124090624_i32{{.*}} : i32
// FORCED-NOT: %c49920_i32
// FORCED: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>
// FORCED: gpu.func @qmatmul0_to_bf16_act(
// FORCED: arith.truncf %{{.*}} : f32 to bf16
func.func @w4_f32(%a: tensor<?x128xf32>, %sw: tensor<24xf32>) -> tensor<?x24xf32> {
  %w8 = arith.constant dense<-3> : tensor<24x128xi8>
  %w = qopt.storage_cast %w8 : tensor<24x128xi8> to tensor<24x128x!qopt.int<s4>>
  %y = qopt.qmatmul %a, %w scale(%sw)
      {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x128xf32>, tensor<24x128x!qopt.int<s4>>, tensor<24xf32>) -> tensor<?x24xf32>
  return %y : tensor<?x24xf32>
}

// -----

// f16 activations with K = 96 (not whole 64-K stages): the decode tile
// stages them as they are (16-byte copies, zero-filled beyond K) and copies
// them to its operand words; no conversion kernel pads K.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-NOT: _to_f16_act
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma_m16_wk4_cvt {{.*}} args(%{{.*}} : memref<4x96xf16>,
// CHECK: gpu.func @qmatmul0_hmma_m16_wk4_cvt(
// CHECK-SAME: workgroup(%{{.*}} : memref<1x4x128xf16, #gpu.address_space<workgroup>>
// CHECK-SAME: qopt.dequant_mma = {act = "f16"
// CHECK-NOT: arith.truncf
// CHECK: llvm.bitcast %{{.*}} : vector<2xf16> to i32
// With hmma-type=bf16 the f16 values go through f32 to bf16 (exact).
// FORCED-LABEL: func.func private @qmatmul0_host(
// FORCED: gpu.func @qmatmul0_hmma_m16_wk4_cvt(
// FORCED-SAME: qopt.dequant_mma = {act = "bf16"
// FORCED: arith.extf %{{.*}} : f16 to f32
// FORCED: arith.truncf %{{.*}} : f32 to bf16
// FORCED: llvm.bitcast %{{.*}} : vector<2xbf16> to i32
func.func @w4_f16_padded(%a: tensor<4x96xf16>, %sw: tensor<24xf32>) -> tensor<4x24xf16> {
  %w8 = arith.constant dense<-3> : tensor<24x96xi8>
  %w = qopt.storage_cast %w8 : tensor<24x96xi8> to tensor<24x96x!qopt.int<s4>>
  %y = qopt.qmatmul %a, %w scale(%sw)
      {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x96xf16>, tensor<24x96x!qopt.int<s4>>, tensor<24xf32>) -> tensor<4x24xf16>
  return %y : tensor<4x24xf16>
}

// -----

// f16 rows of K = 100 (200 bytes) are not 16-byte aligned for cp.async: the
// decode tile takes the conversion kernel's padded rows instead.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_to_f16_act {{.*}} args(%{{.*}} : memref<4x100xf16>, %{{.*}} : memref<4x128xf16>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_hmma_m16_wk4 {{.*}} args(%{{.*}} : memref<4x64xi32>,
// CHECK-NOT: _cvt
func.func @w4_f16_unaligned(%a: tensor<4x100xf16>, %sw: tensor<24xf32>) -> tensor<4x24xf16> {
  %w8 = arith.constant dense<-3> : tensor<24x100xi8>
  %w = qopt.storage_cast %w8 : tensor<24x100xi8> to tensor<24x100x!qopt.int<s4>>
  %y = qopt.qmatmul %a, %w scale(%sw)
      {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x100xf16>, tensor<24x100x!qopt.int<s4>>, tensor<24xf32>) -> tensor<4x24xf16>
  return %y : tensor<4x24xf16>
}
