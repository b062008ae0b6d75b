// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=imma" | FileCheck %s
// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=imma warps-split-k-max-m=0" | FileCheck %s --check-prefix=NODECODE
// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=imma decode-fuse-quant=false" | FileCheck %s --check-prefix=UNFUSED

// imma's decode kernel quantizes its own activation rows: dynamic per-token
// asymmetric u4 activations from f16 (the generics qopt-quantize-activations
// writes), s2 weights without zero points, dynamic M. Up to M = 4 one
// kernel takes the f16 activations as they are (no quantize kernel, no
// activation scale or zero point arguments: they are computed in the
// kernel); above, the quantize kernel writes bytes for the other tiles.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// CHECK: %[[DECODE:.*]] = arith.cmpi ule, %{{.*}}, %c4
// CHECK: scf.if %[[DECODE]]
// CHECK-NOT: quant_bytes_act
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16_wk4_quant {{.*}} args(%{{.*}} : memref<?x256xf16>, %{{.*}} : memref<2x32x8xi32>, %{{.*}} : memref<32x1xi32>, %{{.*}} : memref<32xf32>, %{{.*}} : memref<?x32xf32>)
// CHECK: } else {
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_quant_bytes_act
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16 {{.*}}
//
// The kernel: f16 stages (of the 4 rows M <= 4 can have; all of K = 256
// in one), the weight planes, the warps' f32 sums, their exact int32
// group sums (the activation zero point's correction comes after the
// warps' sums are added), the quantized k-tile (4 rows x 64 words), each
// row's scale and zero point, the reduction scratch.
// CHECK: gpu.func @qmatmul0_imma_m16_wk4_quant(%[[X:arg[0-9]+]]: memref<?x256xf16>, {{.*}}) workgroup(%[[SA:arg[0-9]+]] : memref<1x4x256xf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<1x384xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x8x32xf32, #gpu.address_space<workgroup>>, %[[GS:arg[0-9]+]] : memref<4x8x32xi32, #gpu.address_space<workgroup>>, %[[SQ:arg[0-9]+]] : memref<4x64xi32, #gpu.address_space<workgroup>>, %[[SCALE:arg[0-9]+]] : memref<4xf32, #gpu.address_space<workgroup>>, %[[ZP:arg[0-9]+]] : memref<4xi32, #gpu.address_space<workgroup>>, %[[RED:arg[0-9]+]] : memref<2x4xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: act = "s8", block_tile = array<i64: 16, 16>
// CHECK-SAME: k_tile = 256
// CHECK-SAME: staged_rows = 4 : i64, stages = 1 : i64, warps_k = 4
// Each row's range (min, max) by the block, then scale = (max - min) / 15
// and the zero point, stored by thread 0 for the rows of the block. Each
// thread loads its values of an iteration (here 2: K = 256, 128 threads)
// before combining any, the second one's column clamped and its value 0
// beyond K.
// CHECK: scf.for %[[COL:.*]] = %thread_id_x to %c256 step %c256
// CHECK: memref.load %[[X]][%{{.*}}, %[[COL]]]
// CHECK: %[[COL2:.*]] = arith.addi %[[COL]], %c128
// CHECK: %[[CLAMPED:.*]] = arith.minui %[[COL2]], %c255
// CHECK: memref.load %[[X]][%{{.*}}, %[[CLAMPED]]]
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %[[RED]]
// CHECK: gpu.barrier
// CHECK: arith.divf %{{.*}}, %cst{{.*}} : f32
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"
// CHECK: memref.store %{{.*}}, %[[SCALE]]
// CHECK: memref.store %{{.*}}, %[[ZP]]
// In the k-loop (one stage: the tile's copies issued and awaited in the
// same iteration), the f16 rows staged as they are: 16-byte copies of 8
// values, none for rows at or beyond M or K beyond 256.
// CHECK: %[[OK:.*]] = arith.andi %{{.*}}, %{{.*}} : i1
// CHECK: %[[N:.*]] = arith.select %[[OK]], %c8{{.*}}, %c0{{.*}} : index
// CHECK: nvgpu.device_async_copy %[[X]][%{{.*}}, %{{.*}}], %[[SA]][%{{.*}}, %{{.*}}, %{{.*}}], 8, %[[N]] {bypassL1} : memref<?x256xf16> to memref<1x4x256xf16, #gpu.address_space<workgroup>>
// Per k-tile, once its stage has landed: two values per thread (256 K,
// 128 threads) loaded, then each quantized with its row's parameters (IEEE
// division, round half to even, clamped to 0..15), four lanes' bytes
// gathered into a word, stored to the quantized tile; then a barrier
// before the fragments read it.
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %thread_id_x to %{{.*}} step %c256
// CHECK: memref.load %[[SA]]
// CHECK: memref.load %[[SA]]
// CHECK: memref.load %[[ZP]]
// CHECK: memref.load %[[SCALE]]
// CHECK: arith.divf
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"
// CHECK: arith.fptosi
// CHECK: arith.andi %{{.*}}, %c255_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: memref.store %{{.*}}, %[[SQ]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SQ]]
// CHECK: nvvm.mma.sync
// The group's int32 sums of the four warps in K added in order, kept by
// the first warp; its fold subtracts za * (weight row sums) with the row's
// own zero point. The epilogue's activation scale is the row's own too.
// CHECK: memref.store %{{.*}}, %[[GS]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[GS]]
// CHECK: memref.load %[[GS]]
// CHECK: memref.load %[[GS]]
// CHECK: memref.load %[[GS]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[ZP]]
// CHECK: memref.load %[[SCALE]]
//
// warps-split-k-max-m=0: no decode kernel, the quantize kernel for every M.
// decode-fuse-quant=false: the same decode tile, reading the bytes the
// quantize kernel writes first (one for every range of M), with the
// activation scales and zero points as arguments.
// UNFUSED: qopt.gpu_plan = ["M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// UNFUSED-NOT: _quant(
// UNFUSED: gpu.launch_func  @qopt_kernels::@qmatmul0_quant_bytes_act {{.*}} args(%{{.*}} : memref<?x256xf16>, %[[BYTES:.*]] : memref<?x256xi8>, %[[SCALES:.*]] : memref<?xf32>, %[[ZPS:.*]] : memref<?xi32>)
// UNFUSED: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16_wk4 {{.*}} args(%{{.*}} : memref<?x64xi32>, %{{.*}} : memref<2x32x8xi32>, %{{.*}} : memref<32x1xi32>, %[[SCALES]] : memref<?xf32>, %[[ZPS]] : memref<?xi32>,
// UNFUSED: gpu.func @qmatmul0_imma_m16_wk4(
// UNFUSED-SAME: warps_k = 4
// NODECODE: qopt.gpu_plan = ["M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// NODECODE-NOT: _quant(
// NODECODE: gpu.launch_func  @qopt_kernels::@qmatmul0_quant_bytes_act
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @fused_decode_asym(%x: tensor<?x256xf16>, %sw: tensor<32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x256xf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %lo, %hi = linalg.generic {indexing_maps = [#id2, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x256xf16>) outs(%init, %init : tensor<?xf32>, tensor<?xf32>) {
  ^bb0(%in: f16, %l: f32, %h: f32):
    %v = arith.extf %in : f16 to f32
    %mn = arith.minimumf %l, %v : f32
    %mx = arith.maximumf %h, %v : f32
    linalg.yield %mn, %mx : f32, f32
  } -> (tensor<?xf32>, tensor<?xf32>)
  %e2 = tensor.empty(%m) : tensor<?xf32>
  %ez = tensor.empty(%m) : tensor<?xi32>
  %sa, %za = linalg.generic {indexing_maps = [#id1, #id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%lo, %hi : tensor<?xf32>, tensor<?xf32>) outs(%e2, %ez : tensor<?xf32>, tensor<?xi32>) {
  ^bb0(%l: f32, %h: f32, %o: f32, %oz: i32):
    %steps = arith.constant 15.0 : f32
    %z = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %qmax = arith.constant 15.0 : f32
    %width = arith.subf %h, %l : f32
    %s0 = arith.divf %width, %steps : f32
    %pos = arith.cmpf ogt, %s0, %z : f32
    %s = arith.select %pos, %s0, %one : f32
    %d = arith.divf %l, %s : f32
    %t = arith.subf %z, %d : f32
    %r = math.roundeven %t : f32
    %r1 = arith.maximumf %r, %z : f32
    %r2 = arith.minimumf %r1, %qmax : f32
    %r3 = arith.select %pos, %r2, %z : f32
    %zi = arith.fptosi %r3 : f32 to i32
    linalg.yield %s, %zi : f32, i32
  } -> (tensor<?xf32>, tensor<?xi32>)
  %a = qopt.quantize %x, %sa, %za {scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>} : (tensor<?x256xf16>, tensor<?xf32>, tensor<?xi32>) -> tensor<?x256x!qopt.int<u4>>
  %w8 = arith.constant dense<1> : tensor<32x256xi8>
  %w = qopt.storage_cast %w8 : tensor<32x256xi8> to tensor<32x256x!qopt.int<s2>>
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x256x!qopt.int<u4>>, tensor<?xf32>, tensor<?xi32>, tensor<32x256x!qopt.int<s2>>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
