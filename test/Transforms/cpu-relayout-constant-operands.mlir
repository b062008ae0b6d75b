// RUN: qopt-opt %s --qopt-cpu-relayout-constant-operands --split-input-file | FileCheck %s

// A weight decode written [K, N] from planes and scales stored [N, K / 32]:
// both constants are transposed to [K / 32, N], values moved with them,
// and the maps follow.
// CHECK-DAG: #[[KN:.*]] = affine_map<(d0, d1) -> (d0 floordiv 32, d1)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @decode_planes_and_scales
// CHECK-DAG: %[[P:.*]] = arith.constant dense<{{\[}}[1, 3, 5, 7], [2, 4, 6, 8]]> : tensor<2x4xi32>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00, 8.000000e+00]]> : tensor<2x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[KN]], #[[KN]], #[[ID]]]
// CHECK-SAME: ins(%[[P]], %[[S]] : tensor<2x4xi32>, tensor<2x4xf32>)
func.func @decode_planes_and_scales() -> tensor<64x4xf32> {
  %p = arith.constant dense<[[1, 2], [3, 4], [5, 6], [7, 8]]> : tensor<4x2xi32>
  %s = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %e = tensor.empty() : tensor<64x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(k, n) -> (n, k floordiv 32)>, affine_map<(k, n) -> (n, k floordiv 32)>, affine_map<(k, n) -> (k, n)>], iterator_types = ["parallel", "parallel"]}
      ins(%p, %s : tensor<4x2xi32>, tensor<4x2xf32>) outs(%e : tensor<64x4xf32>) {
  ^bb0(%w: i32, %sc: f32, %o: f32):
    %f = arith.sitofp %w : i32 to f32
    %m = arith.mulf %f, %sc : f32
    linalg.yield %m : f32
  } -> tensor<64x4xf32>
  return %r : tensor<64x4xf32>
}

// -----

// Three dims, read (c, a, b) in loops (a, b, c): new dim j is old dim
// [1, 2, 0][j], so new[i][j][l] = old[l][i][j].
// CHECK: #[[ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @rank3
// CHECK: %[[C:.*]] = arith.constant dense<{{\[}}{{\[}}[0, 4], [1, 5]], {{\[}}[2, 6], [3, 7]]]> : tensor<2x2x2xi8>
// CHECK: linalg.generic {indexing_maps = [#[[ID3]], #[[ID3]]]
// CHECK-SAME: ins(%[[C]] : tensor<2x2x2xi8>)
func.func @rank3() -> tensor<2x2x2xi8> {
  %c = arith.constant dense<[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]> : tensor<2x2x2xi8>
  %e = tensor.empty() : tensor<2x2x2xi8>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (c, a, b)>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : tensor<2x2x2xi8>) outs(%e : tensor<2x2x2xi8>) {
  ^bb0(%x: i8, %o: i8):
    linalg.yield %x : i8
  } -> tensor<2x2x2xi8>
  return %r : tensor<2x2x2xi8>
}

// -----

// A resource blob is permuted into a new blob: [[1, 2], [3, 4]] as i32
// becomes [[1, 3], [2, 4]].
// CHECK-LABEL: func.func @resource
// CHECK: arith.constant dense_resource<[[NAME:.*]]> : tensor<2x2xi32>
// CHECK: [[NAME]]: "0x0400000001000000030000000200000004000000"
func.func @resource() -> tensor<2x2xi32> {
  %c = arith.constant dense_resource<blob> : tensor<2x2xi32>
  %e = tensor.empty() : tensor<2x2xi32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b) -> (b, a)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<2x2xi32>) outs(%e : tensor<2x2xi32>) {
  ^bb0(%x: i32, %o: i32):
    linalg.yield %x : i32
  } -> tensor<2x2xi32>
  return %r : tensor<2x2xi32>
}
{-#
  dialect_resources: {
    builtin: {
      blob: "0x0400000001000000020000000300000004000000"
    }
  }
#-}

// -----

// A contraction's right-hand constant read K-innermost ([N, 1, K] through
// the unit-dim expand_shape convert-qopt-to-linalg emits): the reshape
// folds into the constant, which is stored N-innermost ([1, K, N], the rows
// the register block loads): [[1, 2], [3, 4]] as [N, K] becomes
// [[1, 3], [2, 4]] as [K, N].
// CHECK-DAG: #[[GKN:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
// CHECK-LABEL: func.func @contraction_rhs
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}{{\[}}[1, 3], [2, 4]]]> : tensor<1x2x2xi8>
// CHECK-NOT: tensor.expand_shape
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[GKN]], #{{.*}}]
// CHECK-SAME: ins(%{{.*}}, %[[W]] : tensor<4x1x2xi8>, tensor<1x2x2xi8>)
func.func @contraction_rhs(%a: tensor<4x1x2xi8>, %c: tensor<4x2x1xi32>) -> tensor<4x2x1xi32> {
  %raw = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %w = tensor.expand_shape %raw [[0], [1, 2]] output_shape [2, 1, 2] : tensor<2x2xi8> into tensor<2x1x2xi8>
  %r = linalg.generic {indexing_maps = [affine_map<(m, n, g, k) -> (m, g, k)>, affine_map<(m, n, g, k) -> (n, g, k)>, affine_map<(m, n, g, k) -> (m, n, g)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<4x1x2xi8>, tensor<2x1x2xi8>) outs(%c : tensor<4x2x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<4x2x1xi32>
  return %r : tensor<4x2x1xi32>
}

// -----

// A reshaped resource becomes a constant of the new type on the same blob.
// CHECK-LABEL: func.func @reshaped_resource
// CHECK: %[[C:.*]] = arith.constant dense_resource<blob> : tensor<2x1x2xi32>
// CHECK-NOT: tensor.expand_shape
// CHECK: ins(%[[C]] : tensor<2x1x2xi32>)
func.func @reshaped_resource() -> tensor<2x1x2xi32> {
  %c = arith.constant dense_resource<blob> : tensor<2x2xi32>
  %x = tensor.expand_shape %c [[0], [1, 2]] output_shape [2, 1, 2] : tensor<2x2xi32> into tensor<2x1x2xi32>
  %e = tensor.empty() : tensor<2x1x2xi32>
  %r = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x1x2xi32>) outs(%e : tensor<2x1x2xi32>) {
  ^bb0(%v: i32, %o: i32):
    linalg.yield %v : i32
  } -> tensor<2x1x2xi32>
  return %r : tensor<2x1x2xi32>
}
{-#
  dialect_resources: {
    builtin: {
      blob: "0x0400000001000000020000000300000004000000"
    }
  }
#-}

// -----

// Left alone: a contraction's left-hand constant (it reads M), a constant
// also read elsewhere, a splat, a constant already in loop order, and one
// constant read in two different orders.
// CHECK-LABEL: func.func @left_alone
// CHECK-DAG: arith.constant dense<{{\[}}[1, 2], [3, 4]]> : tensor<2x2xi32>
// CHECK-DAG: arith.constant dense<{{\[}}[5, 6], [7, 8]]> : tensor<2x2xi32>
// CHECK-DAG: arith.constant dense<3> : tensor<2x2xi32>
// CHECK-DAG: arith.constant dense<{{\[}}[9, 10], [11, 12]]> : tensor<2x2xi32>
// CHECK-DAG: arith.constant dense<{{\[}}[13, 14], [15, 16]]> : tensor<2x2xi32>
// CHECK-NOT: arith.constant dense<{{.*}}> : tensor<2x2xi32>
// CHECK: return
func.func @left_alone(%a: tensor<2x2xi32>) -> (tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>) {
  %w = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>
  %shared = arith.constant dense<[[5, 6], [7, 8]]> : tensor<2x2xi32>
  %splat = arith.constant dense<3> : tensor<2x2xi32>
  %ordered = arith.constant dense<[[9, 10], [11, 12]]> : tensor<2x2xi32>
  %twice = arith.constant dense<[[13, 14], [15, 16]]> : tensor<2x2xi32>
  %e = tensor.empty() : tensor<2x2xi32>
  %mm = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %a : tensor<2x2xi32>, tensor<2x2xi32>) outs(%e : tensor<2x2xi32>) {
  ^bb0(%x: i32, %y: i32, %acc: i32):
    %p = arith.muli %x, %y : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<2x2xi32>
  %t1 = linalg.generic {indexing_maps = [affine_map<(a, b) -> (b, a)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]}
      ins(%shared : tensor<2x2xi32>) outs(%e : tensor<2x2xi32>) {
  ^bb0(%x: i32, %o: i32):
    linalg.yield %x : i32
  } -> tensor<2x2xi32>
  %t2 = linalg.generic {indexing_maps = [affine_map<(a, b) -> (b, a)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]}
      ins(%splat : tensor<2x2xi32>) outs(%e : tensor<2x2xi32>) {
  ^bb0(%x: i32, %o: i32):
    linalg.yield %x : i32
  } -> tensor<2x2xi32>
  %t3 = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]}
      ins(%ordered : tensor<2x2xi32>) outs(%e : tensor<2x2xi32>) {
  ^bb0(%x: i32, %o: i32):
    linalg.yield %x : i32
  } -> tensor<2x2xi32>
  %t4 = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (b, a)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]}
      ins(%twice, %twice : tensor<2x2xi32>, tensor<2x2xi32>) outs(%e : tensor<2x2xi32>) {
  ^bb0(%x: i32, %y: i32, %o: i32):
    %s = arith.addi %x, %y : i32
    linalg.yield %s : i32
  } -> tensor<2x2xi32>
  return %mm, %t1, %t2, %t3, %t4, %shared : tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>, tensor<2x2xi32>
}
