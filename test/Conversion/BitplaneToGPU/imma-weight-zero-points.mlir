// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=imma" --split-input-file | FileCheck %s

// imma subtracts constant weight zero points from the unpacked weight
// bytes (unsigned weights of 7 bits or fewer, zero points in [0, 127]):
// sum a (w - zw) needs no activation row sums. u4 weights in groups of 128
// with zero points: no row-sum kernel, no act sums argument; each group's
// zero points are loaded before its k-tiles, times 0x01010101 (one per
// byte), and each B register becomes ((w | 0x80808080) - zw) ^ 0x80808080.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-SAME: qopt.gpu_plan = ["M <= 4: imma 16-row tile, warps split K", "M <= 16: imma 16-row tile", "M <= 511: imma 64-row tile", "M > 511: imma 128-row tile"]
// CHECK-NOT: rowsum
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16_wk4 {{.*}} args(%{{.*}} : memref<?x128xi32>, %{{.*}} : memref<4x64x16xi32>, %{{.*}} : memref<f32>, %{{.*}} : memref<64x4xf32>, %{{.*}} : memref<64x4xi32>, %{{.*}} : memref<?x64xf32>)
// CHECK-NOT: rowsum
// CHECK: gpu.func @qmatmul0_imma_m16_wk4(
// The warps' partial sums need no exact int32 group sums (no corrections).
// CHECK-SAME: workgroup(%{{.*}} : memref<1x4x128xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1x1280xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x8x32xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: weight_zero_point = "operands"
// CHECK: gpu.func @qmatmul0_imma(%{{.*}}: memref<?x128xi32>, %{{.*}}: memref<4x64x16xi32>, %{{.*}}: memref<f32>, %{{.*}}: memref<64x4xf32>, %[[ZW:.*]]: memref<64x4xi32>, %{{.*}}: memref<?x64xf32>)
// CHECK-SAME: groups = 4 : i64
// CHECK-SAME: weight_zero_point = "operands"
// CHECK: scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[Z:.*]] = memref.load %[[ZW]][%{{.*}}, %[[G]]] : memref<64x4xi32>
// CHECK: %[[ZREP:.*]] = arith.muli %[[Z]], %c16843009_i32
// CHECK: scf.for
// CHECK: %[[HI:.*]] = arith.ori %{{.*}}, %c-2139062144_i32
// CHECK: %[[D:.*]] = arith.subi %[[HI]], %[[ZREP]] : i32
// CHECK: %[[B:.*]] = arith.xori %[[D]], %c-2139062144_i32
// CHECK: nvvm.mma.sync A[{{.*}}] B[%[[B]], {{.*}}] {{.*}} multiplicandBPtxType = #nvvm.mma_type<s8>
func.func @imma_zw_groups(%a: tensor<?x512x!qopt.int<s8>>, %sa: tensor<f32>, %sw: tensor<64x4xf32>) -> tensor<?x64xf32> {
  %w8 = arith.constant dense<9> : tensor<64x512xi8>
  %w = qopt.storage_cast %w8 : tensor<64x512xi8> to tensor<64x512x!qopt.int<u4>>
  %zw = arith.constant dense<8> : tensor<64x4xi32>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), asymmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<f32>, tensor<64x512x!qopt.int<u4>>, tensor<64x4xf32>, tensor<64x4xi32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Per-channel zero points in the operands: no row sums over all of K, so
// the 16-row tile may split K over blocks (it could not with row sums).
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16 blocks in (%{{.*}}, %c1{{.*}}, %c4{{.*}})
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16_reduce
// CHECK: gpu.func @qmatmul0_imma_m16(
// CHECK-SAME: split_k = 4
// CHECK-SAME: weight_zero_point = "operands"
func.func @imma_zw_channel(%a: tensor<?x512x!qopt.int<s8>>, %sa: tensor<f32>, %sw: tensor<64xf32>) -> tensor<?x64xf32> {
  %w8 = arith.constant dense<3> : tensor<64x512xi8>
  %w = qopt.storage_cast %w8 : tensor<64x512xi8> to tensor<64x512x!qopt.int<u3>>
  %zw = arith.constant dense<4> : tensor<64xi32>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<f32>, tensor<64x512x!qopt.int<u3>>, tensor<64xf32>, tensor<64xi32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// The decode kernel quantizes its own rows with weight zero points in the
// operands: dynamic per-token asymmetric u4 activations from f16, u4
// weights with zero points, K = 320 padded to 384 (three 128-K stages).
// The weight padding is -zw in the operands, so the quantized padding is
// 0, not the row's zero point: each byte is selected by its column < 320.
// Arguments: the f16 rows, the planes, the weight row sums (za's
// correction), sw, zw, out; no activation row sums.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16_wk4_quant {{.*}} args(%{{.*}} : memref<?x320xf16>, %{{.*}} : memref<4x32x12xi32>, %{{.*}} : memref<32x1xi32>, %{{.*}} : memref<32xf32>, %{{.*}} : memref<32xi32>, %{{.*}} : memref<?x32xf32>)
// CHECK: gpu.func @qmatmul0_imma_m16_wk4_quant(
// CHECK-SAME: k_tile = 128
// CHECK-SAME: stages = 3
// CHECK-SAME: weight_zero_point = "operands"
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"
// CHECK: nvvm.cp.async.wait.group 2
// CHECK: %[[BYTE:.*]] = arith.andi %{{.*}}, %c255_i32
// CHECK: %[[TILE0:.*]] = arith.muli %{{.*}}, %c128{{.*}} : index
// CHECK: %[[COL:.*]] = arith.addi %[[TILE0]], %{{.*}} : index
// CHECK: %[[INK:.*]] = arith.cmpi ult, %[[COL]], %c320{{.*}} : index
// CHECK: arith.select %[[INK]], %[[BYTE]], %c0_i32{{.*}} : i32
// CHECK: gpu.shuffle  xor
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @fused_decode_zw(%x: tensor<?x320xf16>, %sw: tensor<32xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x320xf16>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %lo, %hi = linalg.generic {indexing_maps = [#id2, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x320xf16>) outs(%init, %init : tensor<?xf32>, tensor<?xf32>) {
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
  %a = qopt.quantize %x, %sa, %za {scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>} : (tensor<?x320xf16>, tensor<?xf32>, tensor<?xi32>) -> tensor<?x320x!qopt.int<u4>>
  %w8 = arith.constant dense<5> : tensor<32x320xi8>
  %w = qopt.storage_cast %w8 : tensor<32x320xi8> to tensor<32x320x!qopt.int<u4>>
  %zw = arith.constant dense<7> : tensor<32xi32>
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x320x!qopt.int<u4>>, tensor<?xf32>, tensor<?xi32>, tensor<32x320x!qopt.int<u4>>, tensor<32xf32>, tensor<32xi32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// -----

// The zero points stay corrections from activation row sums where w - zw
// may not fit a byte or is not known: zero points known only at run time,
// and u8 weights (w - zw in [-255, 255]). Dynamic M: the row-sum kernel of
// the host-quantized activations is built once for the three ranges.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-COUNT-3: gpu.launch_func  @qopt_kernels::@qmatmul0_rowsum_bytes_act
// CHECK-LABEL: func.func private @qmatmul1_host(
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul1_rowsum_bytes_act
// CHECK: gpu.func @qmatmul0_imma(
// CHECK-SAME: weight_zero_point = "row_sums"
// CHECK: gpu.func @qmatmul1_imma(
// CHECK-SAME: weight_zero_point = "row_sums"
func.func @row_sums(%a: tensor<?x256x!qopt.int<s8>>, %sa: tensor<f32>, %sw: tensor<16xf32>, %zwr: tensor<16xi32>) -> (tensor<?x16xf32>, tensor<?x16xf32>) {
  %w8 = arith.constant dense<5> : tensor<16x256xi8>
  %w4 = qopt.storage_cast %w8 : tensor<16x256xi8> to tensor<16x256x!qopt.int<u4>>
  %wu8 = qopt.storage_cast %w8 : tensor<16x256xi8> to tensor<16x256x!qopt.int<u8>>
  %zw = arith.constant dense<7> : tensor<16xi32>
  %y0 = qopt.qmatmul %a scale(%sa), %w4 scale(%sw) zero_point(%zwr)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x256x!qopt.int<s8>>, tensor<f32>, tensor<16x256x!qopt.int<u4>>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x16xf32>
  %y1 = qopt.qmatmul %a scale(%sa), %wu8 scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x256x!qopt.int<s8>>, tensor<f32>, tensor<16x256x!qopt.int<u8>>, tensor<16xf32>, tensor<16xi32>) -> tensor<?x16xf32>
  return %y0, %y1 : tensor<?x16xf32>, tensor<?x16xf32>
}
