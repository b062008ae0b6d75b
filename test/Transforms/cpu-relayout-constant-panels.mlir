// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-relayout-constant-operands{panel-n=2}))" --split-input-file | FileCheck %s

// With panel-n, a contraction's constant right-hand operand [K, N] is stored
// as panels [N / panel-n, K, panel-n]: element (k, n) moves to
// (n floordiv 2, k, n mod 2). The N loop splits into the panel and the
// column in it; the output is written through an expand_shape and read
// through a collapse_shape. The named matmul becomes a generic.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @matmul_panels
// CHECK-SAME:    (%[[X:.*]]: tensor<3x2xf32>, %[[INIT:.*]]: tensor<3x4xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[\[}}1.000000e+00, 2.000000e+00], [5.000000e+00, 6.000000e+00]], {{\[\[}}3.000000e+00, 4.000000e+00], [7.000000e+00, 8.000000e+00]]]> : tensor<2x2x2xf32>
// CHECK: %[[OUT:.*]] = tensor.expand_shape %[[INIT]] {{\[\[}}0], [1, 2]] output_shape [3, 2, 2] : tensor<3x4xf32> into tensor<3x2x2xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : tensor<3x2xf32>, tensor<2x2x2xf32>) outs(%[[OUT]] : tensor<3x2x2xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[Y:.*]] = tensor.collapse_shape %[[R]] {{\[\[}}0], [1, 2]] : tensor<3x2x2xf32> into tensor<3x4xf32>
// CHECK: return %[[Y]]
func.func @matmul_panels(%x: tensor<3x2xf32>, %init: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %r = linalg.matmul ins(%x, %w : tensor<3x2xf32>, tensor<2x4xf32>) outs(%init : tensor<3x4xf32>) -> tensor<3x4xf32>
  return %r : tensor<3x4xf32>
}

// -----

// The int8 generic of convert-qopt-to-linalg ([M, 1, K] x [1, K, N] ->
// [M, N, 1]): the weight [1, K, N] becomes [N / 2, 1, K, 2], the output's N
// dim (not last) splits in place.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[W8:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4, d2)>
// CHECK-DAG: #[[O8:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @int8_panels
// CHECK: arith.constant dense<{{\[\[\[\[}}1, 2], [5, 6]]], {{\[\[\[}}3, 4], [7, 8]]]]> : tensor<2x1x2x2xi8>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2], [3]] output_shape [1, 2, 2, 1] : tensor<1x4x1xi32> into tensor<1x2x2x1xi32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[W8]], #[[O8]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2], [3]] : tensor<1x2x2x1xi32> into tensor<1x4x1xi32>
func.func @int8_panels(%a: tensor<1x1x2xi8>, %c: tensor<1x4x1xi32>) -> tensor<1x4x1xi32> {
  %w = arith.constant dense<[[[1, 2, 3, 4], [5, 6, 7, 8]]]> : tensor<1x2x4xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<1x1x2xi8>, tensor<1x2x4xi8>) outs(%c : tensor<1x4x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x4x1xi32>
  return %r : tensor<1x4x1xi32>
}

// -----

// Left alone: N not a multiple of panel-n, N of one panel, a weight that
// is an argument, a constant read twice.
// CHECK-LABEL: func.func @not_packed
// CHECK-NOT: tensor.expand_shape
// CHECK-COUNT-5: linalg.matmul
// CHECK-NOT: tensor.expand_shape
func.func @not_packed(%x: tensor<3x2xf32>, %w: tensor<2x4xf32>, %i3: tensor<3x3xf32>, %i2: tensor<3x2xf32>, %i4: tensor<3x4xf32>) -> (tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x4xf32>, tensor<3x4xf32>) {
  %odd = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %one = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %shared = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %r0 = linalg.matmul ins(%x, %odd : tensor<3x2xf32>, tensor<2x3xf32>) outs(%i3 : tensor<3x3xf32>) -> tensor<3x3xf32>
  %r1 = linalg.matmul ins(%x, %one : tensor<3x2xf32>, tensor<2x2xf32>) outs(%i2 : tensor<3x2xf32>) -> tensor<3x2xf32>
  %r2 = linalg.matmul ins(%x, %w : tensor<3x2xf32>, tensor<2x4xf32>) outs(%i4 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %r3 = linalg.matmul ins(%x, %shared : tensor<3x2xf32>, tensor<2x4xf32>) outs(%r2 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %r4 = linalg.matmul ins(%x, %shared : tensor<3x2xf32>, tensor<2x4xf32>) outs(%r3 : tensor<3x4xf32>) -> tensor<3x4xf32>
  return %r0, %r1, %r2, %r4 : tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x4xf32>, tensor<3x4xf32>
}
