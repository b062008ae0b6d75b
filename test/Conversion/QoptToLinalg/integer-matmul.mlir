// RUN: qopt-opt %s --convert-qopt-to-linalg --split-input-file | FileCheck %s

// Per group with zero points: K viewed as [groups, 32]; each product of
// zero-point-shifted, widened values is summed per group (loops m, n, g, k).
// CHECK-DAG: #[[AG:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[WG:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[ZA:.*]] = affine_map<(d0, d1, d2, d3) -> ()>
// CHECK-DAG: #[[ZW:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @per_group_zero_points
// CHECK-SAME: (%[[A:.*]]: tensor<4x64xi8>, %[[ZAV:.*]]: tensor<i32>, %[[W:.*]]: tensor<8x64xi8>, %[[ZWV:.*]]: tensor<8x2xi32>)
// CHECK: %[[AX:.*]] = tensor.expand_shape %[[A]] {{\[\[}}0], [1, 2]] output_shape [4, 2, 32] : tensor<4x64xi8> into tensor<4x2x32xi8>
// CHECK: %[[WX:.*]] = tensor.expand_shape %[[W]] {{\[\[}}0], [1, 2]] output_shape [8, 2, 32] : tensor<8x64xi8> into tensor<8x2x32xi8>
// CHECK: linalg.generic {indexing_maps = [#[[AG]], #[[WG]], #[[ZA]], #[[ZW]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[AX]], %[[WX]], %[[ZAV]], %[[ZWV]] : tensor<4x2x32xi8>, tensor<8x2x32xi8>, tensor<i32>, tensor<8x2xi32>) outs(%{{.*}} : tensor<4x8x2xi32>)
// CHECK: %[[AV:.*]] = arith.extui %{{.*}} : i8 to i32
// CHECK: %[[WV:.*]] = arith.extui %{{.*}} : i8 to i32
// CHECK: %[[AS:.*]] = arith.subi %[[AV]]
// CHECK: %[[WS:.*]] = arith.subi %[[WV]]
// CHECK: %[[P:.*]] = arith.muli %[[AS]], %[[WS]] : i32
// CHECK: arith.addi %{{.*}}, %[[P]] : i32
func.func @per_group_zero_points(%a: tensor<4x64x!qopt.int<u8>>, %za: tensor<i32>, %w: tensor<8x64x!qopt.int<u2>>, %zw: tensor<8x2xi32>) -> tensor<4x8x2xi32> {
  %r = qopt.integer_matmul %a zero_point(%za), %w zero_point(%zw) {group_size = 32 : i64} : (tensor<4x64x!qopt.int<u8>>, tensor<i32>, tensor<8x64x!qopt.int<u2>>, tensor<8x2xi32>) -> tensor<4x8x2xi32>
  return %r : tensor<4x8x2xi32>
}

// -----

// One group, signed values: sign extension, dynamic M kept.
// CHECK-LABEL: func.func @one_group
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 1, 64] : tensor<?x64xi8> into tensor<?x1x64xi8>
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<?x16x1xi32>)
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK-NOT: arith.subi
// CHECK: arith.muli
func.func @one_group(%a: tensor<?x64x!qopt.int<s8>>, %w: tensor<16x64x!qopt.int<s4>>) -> tensor<?x16x1xi32> {
  %r = qopt.integer_matmul %a, %w {group_size = 0 : i64} : (tensor<?x64x!qopt.int<s8>>, tensor<16x64x!qopt.int<s4>>) -> tensor<?x16x1xi32>
  return %r : tensor<?x16x1xi32>
}
