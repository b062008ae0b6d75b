// RUN: qopt-opt %s --qopt-bitplane-to-gpu=kernel=bmma --split-input-file | FileCheck %s

// W2A8, per-channel weights (run time), per-token activations, bias, f16 out,
// dynamic M: two ranges. M <= 8: the m8n8k128 kernel (8 x 128 blocks) with K
// split in two over blockIdx.z and a reduction adding the bias; above: pack
// kernels for both operands, then the m16n8k256 binary MMA kernel with 64x64
// blocks, 2 cp.async stages (20 KiB each).
// CHECK: #loop_unroll = #llvm.loop_unroll<disable = true>
// CHECK: #loop_annotation = #llvm.loop_annotation<unroll = #loop_unroll>
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: attributes {qopt.gpu_host, qopt.gpu_plan = ["M <= 8: bmma 8-row tile", "M > 8: bmma"]}
// CHECK: %[[M:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[SMALL:.*]] = arith.cmpi ule, %[[M]], %c8
// CHECK: %[[RES:.*]] = scf.if %[[SMALL]] -> (memref<?x64xf16>)
// CHECK: %[[PARTS:.*]] = gpu.alloc  (%{{.*}}) : memref<?x64xf32>
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma_m8 blocks in (%{{.*}}, %c1{{.*}}, %c2{{.*}}) {{.*}} args({{.*}}, %[[PARTS]] : memref<?x64xf32>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma_m8_reduce {{.*}} args(%[[PARTS]] : memref<?x64xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<?x64xf16>)
// CHECK: } else {
// CHECK: %[[AB:.*]] = qopt.storage_cast %arg0 : tensor<?x512x!qopt.int<s8>> to tensor<?x512xi8>
// CHECK: %[[AH:.*]] = bufferization.to_buffer %[[AB]]
// CHECK: %[[AD:.*]] = gpu.alloc  (%[[M]]) : memref<?x512xi8>
// CHECK: gpu.memcpy  %[[AD]], %[[AH]]
// CHECK: %[[AP:.*]] = gpu.alloc  (%[[M]]) : memref<8x?x16xi32>
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_pack_act {{.*}} args(%[[AD]] : memref<?x512xi8>, %[[AP]] : memref<8x?x16xi32>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_pack_weight
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma {{.*}} threads in (%c128, {{.*}} args(%[[AP]] : memref<8x?x16xi32>, %{{.*}} : memref<2x64x16xi32>, %{{.*}} : memref<?xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<64xf32>, %[[OUT:.*]] : memref<?x64xf16>)
// CHECK: %[[HOST:.*]] = memref.alloc(%[[M]]) : memref<?x64xf16>
// CHECK: gpu.memcpy  %[[HOST]], %[[OUT]]
// CHECK: gpu.dealloc
// CHECK: scf.yield %[[HOST]]
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[RES]] restrict writable
// CHECK: return %[[Y]]
// The matmul becomes a call of its host function.
// CHECK-LABEL: func.func @w2a8_per_channel(
// CHECK: call @qmatmul0_host(
// CHECK-NOT: qopt.qmatmul

// CHECK: gpu.module @qopt_kernels
// CHECK: gpu.func @qmatmul0_pack_act(%{{.*}}: memref<?x512xi8>, %{{.*}}: memref<8x?x16xi32>) kernel
// CHECK: scf.for
// CHECK: arith.shrui
// CHECK: arith.shli
// CHECK: arith.ori
// CHECK: gpu.func @qmatmul0_pack_weight(%{{.*}}: memref<64x512xi8>, %{{.*}}: memref<2x64x16xi32>) kernel
// CHECK: gpu.func @qmatmul0_bmma(
// CHECK-SAME: workgroup(%[[SA:.*]] : memref<2x8x64x8xi32, #gpu.address_space<workgroup>>, %[[SW:.*]] : memref<2x2x64x8xi32, #gpu.address_space<workgroup>>)
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 128, 1, 1>, qopt.bitplane = {act_bits = 8 : i64, block_tile = array<i64: 64, 64>, groups = 1 : i64, mma = "m16n8k256", plane_loop = "act", split_k = 1 : i64, stages = 2 : i64, weight_bits = 2 : i64}}
// Prologue: one k-step in flight.
// CHECK: nvgpu.device_async_copy %arg0[{{.*}}], %[[SA]][{{.*}}], 4 {bypassL1}
// CHECK: nvgpu.device_async_copy %arg1[{{.*}}], %[[SW]][{{.*}}], 4 {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// The B fragments of both weight planes stay in registers; the 8 activation
// planes are a loop (not unrolled, down to PTX) carrying the accumulators:
// CHECK: %[[SB:.*]] = memref.load %[[SW]]
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %c8{{.*}} step %c1{{.*}} iter_args(
// CHECK: %[[J32:.*]] = arith.index_cast %[[J]] : index to i32
// CHECK: %[[CJ:.*]] = arith.shli %{{.*}}, %[[J32]] : i32
// The sign plane of the signed activations (j = 7) is subtracted: c_j = -2^j.
// CHECK: %[[ISSIGN:.*]] = arith.cmpi eq, %[[J]], %c7
// CHECK: %[[NEG:.*]] = arith.subi %{{.*}}, %[[CJ]] : i32
// CHECK: %[[COEF:.*]] = arith.select %[[ISSIGN]], %[[NEG]], %[[CJ]] : i32
// CHECK: memref.load %[[SA]][%{{.*}}, %[[J]], %{{.*}}, %{{.*}}]
// CHECK: nvvm.mma.sync A[{{.*}}, {{.*}}, {{.*}}, {{.*}}]  B[{{.*}}, {{.*}}]  C[{{.*}}]  {b1Op = #nvvm.mma_b1op<and_popc>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<b1>, multiplicandBPtxType = #nvvm.mma_type<b1>, shape = #nvvm.shape<m = 16, n = 8, k = 256>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
// Each product is scaled by c_i c_j 2^(i+j) with one multiply-add.
// CHECK: %[[D:.*]] = llvm.extractvalue %{{.*}}[0]
// CHECK: %[[P:.*]] = arith.muli %[[D]], %[[COEF]] : i32
// CHECK: arith.addi %{{.*}}, %[[P]] : i32
// The sign plane of the signed weights (i = 1): c_i = -2.
// CHECK: %[[C1:.*]] = arith.shli %[[COEF]], %c1_i32
// CHECK: arith.subi %{{.*}}, %[[C1]] : i32
// CHECK: } {loop_annotation = #loop_annotation}
// CHECK: gpu.barrier
// CHECK: scf.yield
// Epilogue: sw, sa, bias in f32, then f16 and one guarded store.
// CHECK: arith.sitofp
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: scf.if
// CHECK-NEXT: memref.store {{.*}} : memref<?x64xf16>
// CHECK-NOT: xor_popc
func.func @w2a8_per_channel(%a: tensor<?x512x!qopt.int<s8>>, %sa: tensor<?xf32>, %w: tensor<64x512x!qopt.int<s2>>, %sw: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf16> {
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) bias(%b)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<?xf32>, tensor<64x512x!qopt.int<s2>>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

// W2A4 with zero points and per-group scales (two groups of 256), constant
// weights, M = 4: m8n8k128 (8 x 128 blocks), 3 stages, K split by group in
// two parts over blockIdx.z (one block per part otherwise: N = 8); the
// weights' planes and row sums are packed at compile time, the activations'
// row sums at run time.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: attributes {qopt.gpu_host, qopt.gpu_plan = ["any M: bmma 8-row tile"]}
// The repacked weights are built once, at the function's entry.
// CHECK-DAG: %[[SUMS:.*]] = arith.constant dense_resource<gpu_weight_row_sums> : tensor<8x2xi32>
// CHECK-DAG: %[[PLANES:.*]] = arith.constant dense_resource<gpu_bitplanes> : tensor<2x8x16xi32>
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_pack_act
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_rowsum_act
// Constants reach the device through the runtime's once-per-library cache.
// CHECK: bufferization.to_buffer %[[PLANES]]
// CHECK: call @qopt_gpu_constant_i32(%{{.*}}) : (memref<?xi32>) -> memref<?xi32>
// CHECK: bufferization.to_buffer %[[SUMS]]
// CHECK: call @qopt_gpu_constant_i32(
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma blocks in (%{{.*}}, %{{.*}}, %c2{{.*}}) {{.*}} : memref<8x8xf32>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma_reduce {{.*}} args(%{{.*}} : memref<8x8xf32>, %{{.*}} : memref<4x8xf32>)
// The matmul becomes a call of its host function.
// CHECK-LABEL: func.func @w2a4_groups_zero_points(
// CHECK: call @qmatmul0_host(
// CHECK-NOT: qopt.qmatmul
// CHECK: gpu.func @qmatmul0_rowsum_act(%{{.*}}: memref<4x512xi8>, %{{.*}}: memref<4x2xi32>)
// CHECK: arith.extui
// CHECK: gpu.func @qmatmul0_bmma(
// CHECK-SAME: workgroup(%{{.*}} : memref<3x4x8x8xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x2x128x8xi32, #gpu.address_space<workgroup>>)
// CHECK-SAME: mma = "m8n8k128", plane_loop = "shift", split_k = 2 : i64, stages = 3
// Per group, its weight scales are loaded before its k-steps (the fold at
// its end does not wait on them).
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %c1
// CHECK: %[[SW0:.*]] = memref.load %{{.*}}[%{{.*}}, %[[G]]] : memref<8x2xf32>
// CHECK: scf.for
// Unsigned operands: the k-step loops over the shifts s = i + j (5 instead
// of 8 accumulator updates); the pairs (0, s) and (1, s - 1) are chained
// through the MMA accumulator, then added once, times 2^s.
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %c5{{.*}} step %{{.*}} iter_args(
// CHECK: %[[R0:.*]]:8 = scf.if
// Two m8n8k128 per 256-bit step, chained through C.
// CHECK: %[[P:.*]] = nvvm.mma.sync A[%{{.*}}]  B[%{{.*}}]  C[%[[Z:.*]], %[[Z]]]  {b1Op = #nvvm.mma_b1op<and_popc>, {{.*}}shape = #nvvm.shape<m = 8, n = 8, k = 128>} : (i32, i32, i32) -> !llvm.struct<(i32, i32)>
// CHECK: %[[C0:.*]] = llvm.extractvalue %[[P]][0]
// CHECK: %[[C1:.*]] = llvm.extractvalue %[[P]][1]
// CHECK: nvvm.mma.sync A[%{{.*}}]  B[%{{.*}}]  C[%[[C0]], %[[C1]]]  {b1Op = #nvvm.mma_b1op<and_popc>
// CHECK: } else {
// Weight plane 1 (activation plane s - 1) continues weight plane 0's chain.
// CHECK: scf.if
// CHECK: arith.subi %[[S]], %c1
// CHECK: nvvm.mma.sync A[%{{.*}}]  B[%{{.*}}]  C[%[[R0]]#0, %[[R0]]#1]
// CHECK: %[[S32:.*]] = arith.index_cast %[[S]] : index to i32
// CHECK: %[[COEF:.*]] = arith.shli %{{.*}}, %[[S32]] : i32
// CHECK: arith.muli %{{.*}}, %[[COEF]] : i32
// CHECK: } {loop_annotation = #loop_annotation}
// Group end: acc - zw * rowsum(A) - za * rowsum(W) + 256 * za * zw, times sw
// (the scale loaded at the group's start).
// CHECK: arith.constant 256 : i32
// CHECK: arith.mulf %{{.*}}, %[[SW0]] : f32
// CHECK: scf.yield
// CHECK-NOT: xor_popc
func.func @w2a4_groups_zero_points(%a: tensor<4x512x!qopt.int<u4>>, %sa: tensor<f32>, %za: tensor<i32>, %sw: tensor<8x2xf32>, %zw: tensor<8x2xi32>) -> tensor<4x8xf32> {
  %w8 = arith.constant dense<1> : tensor<8x512xi8>
  %w = qopt.storage_cast %w8 : tensor<8x512xi8> to tensor<8x512x!qopt.int<u2>>
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, asymmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 256), asymmetric>}
      : (tensor<4x512x!qopt.int<u4>>, tensor<f32>, tensor<i32>, tensor<8x512x!qopt.int<u2>>, tensor<8x2xf32>, tensor<8x2xi32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
