// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=bmma mma-shape=m16n8k256" --split-input-file | FileCheck %s
// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=bmma mma-shape=m16n8k256" --split-input-file --canonicalize | FileCheck %s --check-prefix=CANON

// Activation quantization fused into the pack kernel: a qopt.quantize of a
// float [M, K] feeding the qmatmul becomes qmatmulN_quant_pack_act, which
// reads the floats, computes (or reads) the scales, quantizes and writes the
// bit planes (and row sums, and the computed scales for the epilogue).

// Dynamic per-token symmetric scales (the generics of
// qopt-quantize-activations: absmax / 127, 1 for a zero row), W4A8 in two
// groups of 256 with weight zero points (the kernel writes the row sums).
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: attributes {qopt.gpu_host, qopt.gpu_plan = ["any M: bmma"]}
// CHECK: %[[X:.*]] = gpu.alloc  (%{{.*}}) : memref<?x512xf32>
// CHECK: %[[S:.*]] = gpu.alloc  (%{{.*}}) : memref<?xf32>
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_quant_pack_act blocks in (%{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%[[X]] : memref<?x512xf32>, %[[P:.*]] : memref<8x?x16xi32>, %[[RS:.*]] : memref<?x2xi32>, %[[S]] : memref<?xf32>)
// CHECK-NOT: qmatmul0_pack_act
// CHECK-NOT: qmatmul0_rowsum_act
// The epilogue reads the scales the kernel computed.
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma {{.*}} args(%[[P]] : memref<8x?x16xi32>, %{{.*}} : memref<4x64x16xi32>, %[[RS]] : memref<?x2xi32>, %[[S]] : memref<?xf32>,
// CHECK-NOT: qopt.quantize
// The matmul becomes a call of its host function.
// CHECK-LABEL: func.func @fused_dynamic_sym(
// CHECK: call @qmatmul0_host(
// CHECK: gpu.func @qmatmul0_quant_pack_act(%[[KX:.*]]: memref<?x512xf32>, %[[KP:.*]]: memref<8x?x16xi32>, %[[KRS:.*]]: memref<?x2xi32>, %[[KS:.*]]: memref<?xf32>) workgroup(%[[RED:.*]] : memref<2x8xf32, #gpu.address_space<workgroup>>, %[[PART:.*]] : memref<8x2xi32, #gpu.address_space<workgroup>>)
// CHECK-SAME: qopt.quantize = {params = "computed", symmetric = true}
// Row absmax: strided loop, warp shuffles, the 8 warps through shared memory.
// CHECK: %[[ROW:.*]] = gpu.block_id  x
// CHECK: scf.for
// CHECK: llvm.call_intrinsic "llvm.fabs.f32"
// CHECK: arith.maximumf
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: memref.store %{{.*}}, %[[RED]]
// CHECK: gpu.barrier
// CHECK-COUNT-8: memref.load %[[RED]]
// CHECK: %[[SC:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: %[[POS:.*]] = arith.cmpf ogt, %[[SC]]
// CHECK: %[[SCALE:.*]] = arith.select %[[POS]], %[[SC]]
// CHECK: memref.store %[[SCALE]], %[[KS]][%[[ROW]]] : memref<?xf32>
// Quantize exactly as qopt.quantize: x / scale, round half to even (the LLVM
// intrinsic: cvt.rni in PTX, no libdevice call), clamp, NaN to the zero point.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: %[[V:.*]] = memref.load %[[KX]]
// CHECK: %[[D:.*]] = arith.divf %[[V]], %[[SCALE]] : f32
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"(%[[D]]) : (f32) -> f32
// CHECK: arith.maximumf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.minimumf
// CHECK: arith.cmpf uno, %[[V]], %[[V]]
// CHECK: arith.fptosi
// One ballot per bit plane gives the packed word.
// CHECK-COUNT-8: nvvm.vote.sync  ballot
// CHECK: memref.store %{{.*}}, %[[KP]]
// Row sums per group.
// CHECK: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[KRS]]
// The host-side generics and the quantize are gone.
// CANON-LABEL: func.func @fused_dynamic_sym
// CANON-NOT: linalg.generic
// CANON-NOT: qopt.quantize
// CANON: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @fused_dynamic_sym(%x: tensor<?x512xf32>, %w: tensor<64x512x!qopt.int<s4>>, %sw: tensor<64x2xf32>, %zw: tensor<64x2xi32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x512xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %amax = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x512xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = math.absf %in : f32
    %mx = arith.maximumf %acc, %a : f32
    linalg.yield %mx : f32
  } -> tensor<?xf32>
  %e2 = tensor.empty(%m) : tensor<?xf32>
  %sa = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%amax : tensor<?xf32>) outs(%e2 : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %steps = arith.constant 127.0 : f32
    %s = arith.divf %in, %steps : f32
    %z = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %pos = arith.cmpf ogt, %s, %z : f32
    %r = arith.select %pos, %s, %one : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %a = qopt.quantize %x, %sa {scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x512xf32>, tensor<?xf32>) -> tensor<?x512x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 256), asymmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<?xf32>, tensor<64x512x!qopt.int<s4>>, tensor<64x2xf32>, tensor<64x2xi32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Dynamic per-token asymmetric (u4, f16 activations): the row's min and max
// (ranges include 0), scale = (max - min) / 15, zp = clamp(roundeven(0 -
// min / scale), 0, 15); the kernel writes both for the epilogue. No weight
// zero point: no row sums.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: attributes {qopt.gpu_host, qopt.gpu_plan = ["any M: bmma"]}
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_quant_pack_act {{.*}} args(%{{.*}} : memref<?x256xf16>, %[[P:.*]] : memref<4x?x8xi32>, %[[S:.*]] : memref<?xf32>, %[[Z:.*]] : memref<?xi32>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma {{.*}} args(%[[P]] : memref<4x?x8xi32>, %{{.*}} : memref<2x32x8xi32>, %{{.*}} : memref<32x1xi32>, %[[S]] : memref<?xf32>, %[[Z]] : memref<?xi32>,
// The matmul becomes a call of its host function.
// CHECK-LABEL: func.func @fused_dynamic_asym(
// CHECK: call @qmatmul0_host(
// CHECK: gpu.func @qmatmul0_quant_pack_act(
// CHECK-SAME: qopt.quantize = {params = "computed", symmetric = false}
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.minimumf
// CHECK: arith.maximumf
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: %[[W:.*]] = arith.subf
// CHECK: arith.divf %[[W]]
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"
// CHECK: arith.fptosi
// CHECK-COUNT-4: nvvm.vote.sync  ballot
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @fused_dynamic_asym(%x: tensor<?x256xf16>, %sw: tensor<32xf32>) -> tensor<?x32xf32> {
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

// -----

// A static per-tensor scale (calibrated constant): the kernel reads it (no
// reduction), the same device copy feeds the epilogue. As a constant it is
// uploaded once per loaded library (qopt_gpu_constant_f32, as 1-D).
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: attributes {qopt.gpu_host, qopt.gpu_plan = ["any M: bmma"]}
// CHECK: %[[H:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<f32> to memref<f32>
// CHECK: %[[H1:.*]] = memref.expand_shape %[[H]] [] output_shape [1] : memref<f32> into memref<1xf32>
// CHECK: %[[D:.*]] = call @qopt_gpu_constant_f32(%{{.*}}) : (memref<?xf32>) -> memref<?xf32>
// CHECK: %[[D1:.*]] = memref.cast %[[D]] : memref<?xf32> to memref<1xf32>
// CHECK: %[[S:.*]] = memref.collapse_shape %[[D1]] [] : memref<1xf32> into memref<f32>
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_quant_pack_act {{.*}} args(%{{.*}} : memref<4x64xf32>, %[[S]] : memref<f32>, %{{.*}} : memref<8x4x8xi32>)
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_bmma {{.*}} %[[S]] : memref<f32>
// The matmul becomes a call of its host function.
// CHECK-LABEL: func.func @fused_static(
// CHECK: call @qmatmul0_host(
// CHECK: gpu.func @qmatmul0_quant_pack_act(
// CHECK-SAME: qopt.quantize = {params = "per_tensor", symmetric = true}
// CHECK-NOT: gpu.shuffle
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"
// CHECK: gpu.return
func.func @fused_static(%x: tensor<4x64xf32>, %w: tensor<16x64x!qopt.int<s4>>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  %sa = arith.constant dense<0.05> : tensor<f32>
  %a = qopt.quantize %x, %sa {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x64x!qopt.int<s8>>, tensor<f32>, tensor<16x64x!qopt.int<s4>>, tensor<16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Not fusable (rounding half away from zero): the quantize stays on the host
// and the kernel packs its bytes, as before.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: attributes {qopt.gpu_host, qopt.gpu_plan = ["any M: bmma"]}
// CHECK-NOT: qopt.quantize
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_pack_act
// CHECK-NOT: quant_pack_act
// The matmul becomes a call of its host function, on the host's quantize.
// CHECK-LABEL: func.func @not_fused(
// CHECK: %[[Q:.*]] = qopt.quantize
// CHECK: call @qmatmul0_host(%[[Q]],
func.func @not_fused(%x: tensor<4x64xf32>, %w: tensor<16x64x!qopt.int<s4>>, %sw: tensor<16xf32>) -> tensor<4x16xf32> {
  %sa = arith.constant dense<0.05> : tensor<f32>
  %a = qopt.quantize %x, %sa {scheme = #qopt.scheme<per_tensor, symmetric, rounding = nearest_away>} : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x64x!qopt.int<s8>>, tensor<f32>, tensor<16x64x!qopt.int<s4>>, tensor<16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// K = 2048 (per-token symmetric W4A8, per-channel weights): each thread
// loads its 8 values of the row's range at once (2048 / 256 threads), and
// each warp its next 4 words (64 words, 8 warps) before quantizing any;
// the words after the first store only where they lie in the group.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK: gpu.func @qmatmul0_quant_pack_act(%[[KX:.*]]: memref<?x2048xf32>, %[[KP:.*]]: memref<8x?x64xi32>,
// CHECK: scf.for %{{.*}} = %thread_id_x to %c2048 step %c2048
// CHECK-COUNT-8: memref.load %[[KX]]
// CHECK: llvm.call_intrinsic "llvm.fabs.f32"
// CHECK: gpu.shuffle  xor
// CHECK: scf.for %[[W0:.*]] = %{{.*}} to %{{.*}} step %c32
// CHECK-COUNT-4: memref.load %[[KX]]
// CHECK: arith.divf
// CHECK-COUNT-8: nvvm.vote.sync  ballot
// CHECK: scf.if %{{.*}} {
// CHECK: memref.store %{{.*}}, %[[KP]][%c0{{.*}}, %{{.*}}, %[[W0]]]
// CHECK-COUNT-8: nvvm.vote.sync  ballot
// CHECK: %[[ST1:.*]] = arith.andi %{{.*}}, %{{.*}} : i1
// CHECK: scf.if %[[ST1]] {
// CHECK: memref.store %{{.*}}, %[[KP]]
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @fused_unrolled(%x: tensor<?x2048xf32>, %w: tensor<64x2048x!qopt.int<s4>>, %sw: tensor<64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x2048xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %amax = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x2048xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = math.absf %in : f32
    %mx = arith.maximumf %acc, %a : f32
    linalg.yield %mx : f32
  } -> tensor<?xf32>
  %e2 = tensor.empty(%m) : tensor<?xf32>
  %sa = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%amax : tensor<?xf32>) outs(%e2 : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %steps = arith.constant 127.0 : f32
    %s = arith.divf %in, %steps : f32
    %z = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %pos = arith.cmpf ogt, %s, %z : f32
    %r = arith.select %pos, %s, %one : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %a = qopt.quantize %x, %sa {scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x2048xf32>, tensor<?xf32>) -> tensor<?x2048x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x2048x!qopt.int<s8>>, tensor<?xf32>, tensor<64x2048x!qopt.int<s4>>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
