// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-tile-and-vectorize{tile-m=8 tile-n=32}),canonicalize)" --split-input-file | FileCheck %s

// A static matmul: 8 x 32 register blocks (N blocks outside M blocks), a K
// loop of 1 around a vector.contract on vector<8x32xf32> accumulators.
// CHECK-LABEL: func.func @static_matmul
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c32
// CHECK: scf.for %{{.*}} = %c0 to %c16 step %c8
// CHECK: scf.for %{{.*}} = %c0 to %c24 step %c1
// CHECK: vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK-NOT: linalg.matmul
func.func @static_matmul(%a: tensor<16x24xf32>, %b: tensor<24x64xf32>, %c: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x24xf32>, tensor<24x64xf32>) outs(%c : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// A dynamic M: full blocks vectorized; the last partial block (peeled, up
// to 7 rows: all of M below 8, as for one token at a time) row by row, each
// row a static 1 x 32 block.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: scf.for
// CHECK: vector.contract {{.*}} into vector<8x32xf32>
// CHECK: scf.for
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c24 step %c1
// CHECK: vector.contract {{.*}} : vector<1x1xf32>, vector<1x32xf32> into vector<1x32xf32>
// CHECK-NOT: linalg.matmul
func.func @dynamic_rows(%a: tensor<?x24xf32>, %b: tensor<24x64xf32>, %c: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<?x24xf32>, tensor<24x64xf32>) outs(%c : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// A K longer than a panel of panel-bytes (32 KiB: 256 rows of 32 f32): K
// runs in chunks of 256 between the N and M block loops, so the M blocks
// share a 256 x 32 panel of B in cache; each sum still runs over K in order.
// CHECK-LABEL: func.func @long_k
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c32
// CHECK: scf.for %{{.*}} = %c0 to %c1024 step %c256
// CHECK: scf.for %{{.*}} = %c0 to %c16 step %c8
// CHECK: scf.for %{{.*}} = %c0 to %c256 step %c1
// CHECK: vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK-NOT: linalg.matmul
func.func @long_k(%a: tensor<16x1024xf32>, %b: tensor<1024x64xf32>, %c: tensor<16x64xf32>) -> tensor<16x64xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x1024xf32>, tensor<1024x64xf32>) outs(%c : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// batch_matmul: the batch dim tiled by 1.
// CHECK-LABEL: func.func @batch_matmul
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1
// CHECK: vector.contract {{.*}} into vector<1x8x32xf32>
func.func @batch_matmul(%a: tensor<2x8x16xf32>, %b: tensor<2x16x32xf32>, %c: tensor<2x8x32xf32>) -> tensor<2x8x32xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x8x16xf32>, tensor<2x16x32xf32>) outs(%c : tensor<2x8x32xf32>) -> tensor<2x8x32xf32>
  return %r : tensor<2x8x32xf32>
}

// -----

// The integer matmul of convert-qopt-to-linalg (widened i8 products into
// i32) is a contraction too: widened and multiplied as vectors, the products
// added into the i32 block. The K step's unit loop is dropped, so N is the
// innermost vector dim (no trailing 1, which LLVM would split into
// one-element vectors).
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#w = affine_map<(d0, d1, d2) -> (d1, d2)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @int_matmul
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c1
// CHECK: arith.extsi %{{.*}} : vector<8x32xi8> to vector<8x32xi32>
// CHECK: arith.muli %{{.*}} : vector<8x32xi32>
// CHECK: arith.addi %{{.*}} : vector<8x32xi32>
func.func @int_matmul(%a: tensor<8x64xi8>, %w: tensor<32x64xi8>, %c: tensor<8x32xi32>) -> tensor<8x32xi32> {
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x64xi8>, tensor<32x64xi8>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  return %r : tensor<8x32xi32>
}

// -----

// The grouped integer matmul ([M, N, G] sums over K): with one group, its
// unit group loop after N is dropped too, leaving N-innermost vectors.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @grouped_int_matmul
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c1
// CHECK-NOT: vector<8x32x1xi32>
// CHECK: arith.muli %{{.*}} : vector<8x32xi32>
// CHECK: arith.addi %{{.*}} : vector<8x32xi32>
func.func @grouped_int_matmul(%a: tensor<8x1x64xi8>, %w: tensor<1x64x32xi8>, %c: tensor<8x32x1xi32>) -> tensor<8x32x1xi32> {
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x1x64xi8>, tensor<1x64x32xi8>) outs(%c : tensor<8x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32x1xi32>
  return %r : tensor<8x32x1xi32>
}

// -----

// A 2-D NCHW convolution becomes an im2col gather into [N, C, Kh, Kw, Ho,
// Wo] with affine indices (x[n, c, oh + kh, ow + kw]: no div or mod),
// collapsed to [N, C*Kh*Kw, Ho*Wo], and a contraction with the collapsed
// filter in 8 x 32 blocks whose multiply-adds may contract into FMAs.
// CHECK-DAG: #[[GATHER:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d4, d3 + d5)>
// CHECK-LABEL: func.func @conv
// CHECK-NOT: linalg.conv_2d_nchw_fchw
// CHECK: %[[COL6:.+]] = linalg.generic {indexing_maps = [#[[GATHER]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%{{.*}} : tensor<1x4x10x10xf32>) outs(%{{.*}} : tensor<1x4x3x3x8x8xf32>)
// CHECK: tensor.collapse_shape %[[COL6]] {{\[\[}}0], [1, 2, 3], [4, 5]] : tensor<1x4x3x3x8x8xf32> into tensor<1x36x64xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c36 step %c1
// CHECK: arith.mulf %{{.*}} fastmath<contract> : vector<8x32xf32>
// CHECK: arith.addf %{{.*}} fastmath<contract> : vector<8x32xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [1, 16, 8, 8]
func.func @conv(%x: tensor<1x4x10x10xf32>, %w: tensor<16x4x3x3xf32>, %c: tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x4x10x10xf32>, tensor<16x4x3x3xf32>) outs(%c : tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  return %r : tensor<1x16x8x8xf32>
}

// -----

// Strides and dilations scale the gather's indices: x[n, c, 2 oh + 2 kh,
// 3 ow + kw].
// CHECK-DAG: #[[GATHER:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4 * 2 + d2 * 2, d5 * 3 + d3)>
// CHECK-LABEL: func.func @conv_strided_dilated
// CHECK: linalg.generic {indexing_maps = [#[[GATHER]], #{{.+}}], {{.*}} outs(%{{.*}} : tensor<1x2x3x2x4x3xf32>)
// CHECK: tensor.collapse_shape %{{.*}} : tensor<1x2x3x2x4x3xf32> into tensor<1x12x12xf32>
func.func @conv_strided_dilated(%x: tensor<1x2x12x9xf32>, %w: tensor<32x2x3x2xf32>, %c: tensor<1x32x4x3xf32>) -> tensor<1x32x4x3xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<[2, 1]> : tensor<2xi64>, strides = dense<[2, 3]> : tensor<2xi64>}
      ins(%x, %w : tensor<1x2x12x9xf32>, tensor<32x2x3x2xf32>) outs(%c : tensor<1x32x4x3xf32>) -> tensor<1x32x4x3xf32>
  return %r : tensor<1x32x4x3xf32>
}

// -----

// A 1 x 1 filter of stride 1 needs no gather: the input, its spatial dims
// collapsed, is the column tensor; a dynamic batch stays dynamic.
// CHECK-LABEL: func.func @conv_1x1
// CHECK-SAME: %[[X:[^:]+]]: tensor<?x8x4x8xf32>
// CHECK-NOT: tensor<?x8x1x1x4x8xf32>
// CHECK: %[[COL:.+]] = tensor.collapse_shape %[[X]] {{\[\[}}0], [1], [2, 3]] : tensor<?x8x4x8xf32> into tensor<?x8x32xf32>
// CHECK: scf.for
// CHECK: tensor.extract_slice %[[COL]]
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] output_shape [%{{.*}}, 32, 4, 8] : tensor<?x32x32xf32> into tensor<?x32x4x8xf32>
func.func @conv_1x1(%x: tensor<?x8x4x8xf32>, %w: tensor<32x8x1x1xf32>, %c: tensor<?x32x4x8xf32>) -> tensor<?x32x4x8xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<?x8x4x8xf32>, tensor<32x8x1x1xf32>) outs(%c : tensor<?x32x4x8xf32>) -> tensor<?x32x4x8xf32>
  return %r : tensor<?x32x4x8xf32>
}

// -----

// A 1 x 1 filter of stride 2 still gathers (every other row and column).
// CHECK-DAG: #[[GATHER:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4 * 2 + d2, d5 * 2 + d3)>
// CHECK-LABEL: func.func @conv_1x1_stride_2
// CHECK: linalg.generic {indexing_maps = [#[[GATHER]], #{{.+}}], {{.*}} outs(%{{.*}} : tensor<1x8x1x1x2x4xf32>)
func.func @conv_1x1_stride_2(%x: tensor<1x8x4x8xf32>, %w: tensor<32x8x1x1xf32>, %c: tensor<1x32x2x4xf32>) -> tensor<1x32x2x4xf32> {
  %r = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x8x4x8xf32>, tensor<32x8x1x1xf32>) outs(%c : tensor<1x32x2x4xf32>) -> tensor<1x32x2x4xf32>
  return %r : tensor<1x32x2x4xf32>
}

// -----

// Not a contraction: left alone.
// CHECK-LABEL: func.func @elementwise
// CHECK-NOT: scf.for
// CHECK: linalg.generic
func.func @elementwise(%a: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  } -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}
