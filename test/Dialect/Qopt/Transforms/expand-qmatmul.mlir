// RUN: qopt-opt %s --qopt-expand-qmatmul --split-input-file | FileCheck %s

// W4A8 per-channel: the exact integer part (one group), then
// sa[m] * sw[n] * acc in f32 summed over the one group, then the bias.
// CHECK-DAG: #[[ACC:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @per_channel
// CHECK: %[[I:.*]] = qopt.integer_matmul %arg0, %arg2 {group_size = 0 : i64} : (tensor<?x64x!qopt.int<s8>>, tensor<16x64x!qopt.int<s4>>) -> tensor<?x16x1xi32>
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[ACC]], #[[ROW]], #[[COL]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[I]], %arg1, %arg3 : tensor<?x16x1xi32>, tensor<?xf32>, tensor<16xf32>)
// CHECK: arith.mulf
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[Y]], %arg4 : tensor<?x16xf32>, tensor<16xf32>)
// CHECK: arith.addf
// CHECK-NOT: qopt.qmatmul
func.func @per_channel(%a: tensor<?x64x!qopt.int<s8>>, %sa: tensor<?xf32>, %w: tensor<16x64x!qopt.int<s4>>, %sw: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) bias(%b)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x64x!qopt.int<s8>>, tensor<?xf32>, tensor<16x64x!qopt.int<s4>>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Per-group with zero points: the integer part keeps one partial sum per
// group of 32 and takes the zero points; the epilogue reduces over groups
// with the per-group scale and truncates to f16.
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1, d2) -> ()>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @per_group_zero_points
// CHECK: %[[I:.*]] = qopt.integer_matmul %arg0 zero_point(%arg2), %arg3 zero_point(%arg5) {group_size = 32 : i64} : (tensor<4x64x!qopt.int<u8>>, tensor<i32>, tensor<8x64x!qopt.int<u2>>, tensor<8x2xi32>) -> tensor<4x8x2xi32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[SCALAR]], #[[GROUP]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[I]], %arg1, %arg4 : tensor<4x8x2xi32>, tensor<f32>, tensor<8x2xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @per_group_zero_points(%a: tensor<4x64x!qopt.int<u8>>, %sa: tensor<f32>, %za: tensor<i32>,
                                 %w: tensor<8x64x!qopt.int<u2>>, %sw: tensor<8x2xf32>, %zw: tensor<8x2xi32>) -> tensor<4x8xf16> {
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, asymmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 32), asymmetric>}
      : (tensor<4x64x!qopt.int<u8>>, tensor<f32>, tensor<i32>, tensor<8x64x!qopt.int<u2>>, tensor<8x2xf32>, tensor<8x2xi32>) -> tensor<4x8xf16>
  return %y : tensor<4x8xf16>
}

// -----

// Weight-only: the weights are dequantized and the product accumulates in
// f32 (no integer part).
// CHECK-LABEL: func.func @weight_only
// CHECK-NOT: qopt.integer_matmul
// CHECK: %[[W:.*]] = qopt.dequantize %arg1, %arg2 {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<8x32x!qopt.int<s1>>, tensor<f32>) -> tensor<8x32xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%arg0, %[[W]] : tensor<?x32xf16>, tensor<8x32xf32>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @weight_only(%a: tensor<?x32xf16>, %w: tensor<8x32x!qopt.int<s1>>, %sw: tensor<f32>) -> tensor<?x8xf16> {
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<?x32xf16>, tensor<8x32x!qopt.int<s1>>, tensor<f32>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
