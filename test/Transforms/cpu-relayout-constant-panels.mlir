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

// -----

// The inputs of a weight decode computing the right-hand operand are
// stored as panels too, where the decode reads them with its N loop last:
// bit fields [K / 2, N] (two 4-bit fields a word) and group scales
// [K / 2, N] become [N / 2, K / 2, 2], read through
// (n floordiv 2, .., n mod 2). The decode's output [K, N] and the
// contraction are unchanged. Per-channel scales [N] (one dim, already
// contiguous) are left alone. Word (k2, n) = 16 k2 + n moves to
// (n floordiv 2, k2, n mod 2).
// CHECK-DAG: #[[PANEL:.*]] = affine_map<(d0, d1) -> (d1 floordiv 2, d0 floordiv 2, d1 mod 2)>
// CHECK-DAG: #[[CHANNEL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @decode_inputs_as_panels
// CHECK-DAG: %[[FIELDS:.*]] = arith.constant dense<{{\[\[\[}}0, 1], [16, 17]], {{\[\[}}2, 3], [18, 19]]]> : tensor<2x2x2xi32>
// CHECK-DAG: %[[SCALES:.*]] = arith.constant dense<{{\[\[\[}}1.000000e+00, 2.000000e+00], [5.000000e+00, 6.000000e+00]], {{\[\[}}3.000000e+00, 4.000000e+00], [7.000000e+00, 8.000000e+00]]]> : tensor<2x2x2xf32>
// CHECK-DAG: %[[PERCH:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK: %[[W:.*]] = linalg.generic {indexing_maps = [#[[PANEL]], #[[PANEL]], #[[CHANNEL]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[FIELDS]], %[[SCALES]], %[[PERCH]] : tensor<2x2x2xi32>, tensor<2x2x2xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<4x4xf32>)
// CHECK: linalg.index 0
// CHECK: linalg.matmul ins(%{{.*}}, %[[W]] : tensor<3x4xf32>, tensor<4x4xf32>)
#fields = affine_map<(d0, d1) -> (d0 floordiv 2, d1)>
#groups = affine_map<(d0, d1) -> (d0 floordiv 2, d1)>
#channel = affine_map<(d0, d1) -> (d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @decode_inputs_as_panels(%x: tensor<3x4xf32>, %init: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %words = arith.constant dense<[[0, 1, 2, 3], [16, 17, 18, 19]]> : tensor<2x4xi32>
  %scales = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %perch = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %empty = tensor.empty() : tensor<4x4xf32>
  %w = linalg.generic {indexing_maps = [#fields, #groups, #channel, #id], iterator_types = ["parallel", "parallel"]}
      ins(%words, %scales, %perch : tensor<2x4xi32>, tensor<2x4xf32>, tensor<4xf32>) outs(%empty : tensor<4x4xf32>) {
  ^bb0(%word: i32, %s: f32, %p: f32, %out: f32):
    %k = linalg.index 0 : index
    %field = arith.remui %k, %c2 : index
    %bits = arith.muli %field, %c4 : index
    %shift = arith.index_cast %bits : index to i32
    %q = arith.shrsi %word, %shift : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    %vp = arith.mulf %v, %p : f32
    linalg.yield %vp : f32
  } -> tensor<4x4xf32>
  %r = linalg.matmul ins(%x, %w : tensor<3x4xf32>, tensor<4x4xf32>) outs(%init : tensor<3x4xf32>) -> tensor<3x4xf32>
  return %r : tensor<3x4xf32>
}

// -----

// Decode inputs left alone: a decode read by two contractions, words read
// by two decodes (stored once), and N of a single panel.
// CHECK-LABEL: func.func @decode_inputs_not_packed
// CHECK-NOT: floordiv 2, d0 floordiv 2, d1 mod 2
// CHECK-DAG: arith.constant dense<{{\[\[}}0, 1, 2, 3], [16, 17, 18, 19]]> : tensor<2x4xi32>
// CHECK-DAG: arith.constant dense<{{\[\[}}4, 5, 6, 7], [20, 21, 22, 23]]> : tensor<2x4xi32>
// CHECK-DAG: arith.constant dense<{{\[\[}}0, 1], [2, 3]]> : tensor<2x2xi32>
// CHECK: return
#fields = affine_map<(d0, d1) -> (d0 floordiv 2, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @decode_inputs_not_packed(%x: tensor<3x4xf32>, %init: tensor<3x4xf32>, %init2: tensor<3x2xf32>)
    -> (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x2xf32>) {
  %words = arith.constant dense<[[0, 1, 2, 3], [16, 17, 18, 19]]> : tensor<2x4xi32>
  %tied = arith.constant dense<[[4, 5, 6, 7], [20, 21, 22, 23]]> : tensor<2x4xi32>
  %narrow = arith.constant dense<[[0, 1], [2, 3]]> : tensor<2x2xi32>
  %e4 = tensor.empty() : tensor<4x4xf32>
  %e2 = tensor.empty() : tensor<4x2xf32>
  %shared = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel"]}
      ins(%words : tensor<2x4xi32>) outs(%e4 : tensor<4x4xf32>) {
  ^bb0(%w: i32, %out: f32):
    %f = arith.sitofp %w : i32 to f32
    linalg.yield %f : f32
  } -> tensor<4x4xf32>
  %r0 = linalg.matmul ins(%x, %shared : tensor<3x4xf32>, tensor<4x4xf32>) outs(%init : tensor<3x4xf32>) -> tensor<3x4xf32>
  %r1 = linalg.matmul ins(%x, %shared : tensor<3x4xf32>, tensor<4x4xf32>) outs(%init : tensor<3x4xf32>) -> tensor<3x4xf32>
  %d0 = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel"]}
      ins(%tied : tensor<2x4xi32>) outs(%e4 : tensor<4x4xf32>) {
  ^bb0(%w: i32, %out: f32):
    %f = arith.sitofp %w : i32 to f32
    linalg.yield %f : f32
  } -> tensor<4x4xf32>
  %d1 = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel"]}
      ins(%tied : tensor<2x4xi32>) outs(%e4 : tensor<4x4xf32>) {
  ^bb0(%w: i32, %out: f32):
    %f = arith.uitofp %w : i32 to f32
    linalg.yield %f : f32
  } -> tensor<4x4xf32>
  %r2 = linalg.matmul ins(%x, %d0 : tensor<3x4xf32>, tensor<4x4xf32>) outs(%init : tensor<3x4xf32>) -> tensor<3x4xf32>
  %r3 = linalg.matmul ins(%x, %d1 : tensor<3x4xf32>, tensor<4x4xf32>) outs(%init : tensor<3x4xf32>) -> tensor<3x4xf32>
  %narroww = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel"]}
      ins(%narrow : tensor<2x2xi32>) outs(%e2 : tensor<4x2xf32>) {
  ^bb0(%w: i32, %out: f32):
    %f = arith.sitofp %w : i32 to f32
    linalg.yield %f : f32
  } -> tensor<4x2xf32>
  %r4 = linalg.matmul ins(%x, %narroww : tensor<3x4xf32>, tensor<4x2xf32>) outs(%init2 : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %r0, %r1, %r2, %r3, %r4 : tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x2xf32>
}
