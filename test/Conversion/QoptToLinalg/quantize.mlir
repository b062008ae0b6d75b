// RUN: qopt-opt %s --convert-qopt-to-linalg --split-input-file | FileCheck %s

// Per-tensor symmetric s4: x / s in f32, round half to even, clamp to
// [-8, 7], NaN -> 0, stored as i8.
// CHECK-LABEL: func.func @per_tensor_s4
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[S:.*]]: tensor<f32>) -> tensor<4x8xi8>
// CHECK: linalg.generic {indexing_maps = [#[[ID:.*]], #[[SCALAR:.*]], #[[ID]]]
// CHECK-SAME: ins(%[[X]], %[[S]] : tensor<4x8xf32>, tensor<f32>) outs(%{{.*}} : tensor<4x8xi8>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[SC:.*]]: f32, %{{.*}}: i8):
// CHECK: %[[Q:.*]] = arith.divf %[[IN]], %[[SC]] : f32
// CHECK: %[[R:.*]] = math.roundeven %[[Q]] : f32
// CHECK: arith.maximumf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.minimumf %{{.*}}, %cst{{.*}} : f32
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[IN]], %[[IN]] : f32
// CHECK: arith.select %[[NAN]]
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
func.func @per_tensor_s4(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8x!qopt.int<s4>> {
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!qopt.int<s4>>
  return %q : tensor<4x8x!qopt.int<s4>>
}

// -----

// The clamp bounds are the storage range: [-8, 7] for s4 ...
// CHECK-LABEL: func.func @bounds_s4
// CHECK-DAG: arith.constant -8.000000e+00 : f32
// CHECK-DAG: arith.constant 7.000000e+00 : f32
func.func @bounds_s4(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4x!qopt.int<s4>> {
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s4>>
  return %q : tensor<4x!qopt.int<s4>>
}

// -----

// ... [-7, 7] with a narrow range, [0, 254] for narrow u8.
// CHECK-LABEL: func.func @bounds_narrow
// CHECK-DAG: arith.constant -7.000000e+00 : f32
// CHECK-DAG: arith.constant 2.540000e+02 : f32
func.func @bounds_narrow(%x: tensor<4xf32>, %s: tensor<f32>) -> (tensor<4x!qopt.int<s4>>, tensor<4x!qopt.int<u8>>) {
  %a = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, narrow_range>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s4>>
  %b = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, narrow_range>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<u8>>
  return %a, %b : tensor<4x!qopt.int<s4>>, tensor<4x!qopt.int<u8>>
}

// -----

// Per-channel along axis 1 with a zero point, added after rounding.
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @per_channel_asym
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[CH]], #[[CH]], #{{.*}}]
// CHECK: ^bb0(%{{.*}}: f32, %{{.*}}: f32, %[[ZP:.*]]: i32, %{{.*}}: i8):
// CHECK: %[[ZPF:.*]] = arith.sitofp %[[ZP]] : i32 to f32
// CHECK: %[[R:.*]] = math.roundeven
// CHECK: arith.addf %[[R]], %[[ZPF]] : f32
func.func @per_channel_asym(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %zp: tensor<8xi32>) -> tensor<4x8x!qopt.int<u4>> {
  %q = qopt.quantize %x, %s, %zp {scheme = #qopt.scheme<per_channel(axis = 1), asymmetric>} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xi32>) -> tensor<4x8x!qopt.int<u4>>
  return %q : tensor<4x8x!qopt.int<u4>>
}

// -----

// Per-group: groups of 4 along axis 1 read scale (i, j floordiv 4).
// CHECK-DAG: #[[GRP:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 4)>
// CHECK-LABEL: func.func @per_group
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[GRP]], #{{.*}}]
func.func @per_group(%x: tensor<2x8xf16>, %s: tensor<2x2xf16>) -> tensor<2x8x!qopt.int<s3>> {
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_group(axis = 1, group_size = 4), symmetric>} : (tensor<2x8xf16>, tensor<2x2xf16>) -> tensor<2x8x!qopt.int<s3>>
  return %q : tensor<2x8x!qopt.int<s3>>
}

// -----

// Each rounding mode's operation.
// CHECK-LABEL: func.func @rounding
// CHECK: math.round %
// CHECK: math.trunc %
// CHECK: math.floor %
// CHECK: math.ceil %
// away_from_zero: floor for negatives, ceil otherwise.
// CHECK: arith.cmpf olt
// CHECK: math.floor
// CHECK: math.ceil
// CHECK: arith.select
// nearest_toward_zero: round, then trunc where the distance is exactly 0.5.
// CHECK: math.round
// CHECK: math.absf
// CHECK: arith.cmpf oeq
// CHECK: math.trunc
func.func @rounding(%x: tensor<4xf32>, %s: tensor<f32>) -> (tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>) {
  %a = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, rounding = nearest_away>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s8>>
  %b = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, rounding = toward_zero>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s8>>
  %c = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, rounding = floor>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s8>>
  %d = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, rounding = ceil>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s8>>
  %e = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, rounding = away_from_zero>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s8>>
  %f = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, rounding = nearest_toward_zero>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s8>>
  return %a, %b, %c, %d, %e, %f : tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>, tensor<4x!qopt.int<s8>>
}
