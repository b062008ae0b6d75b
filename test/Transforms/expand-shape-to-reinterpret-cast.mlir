// RUN: qopt-opt %s --qopt-expand-shape-to-reinterpret-cast --canonicalize --split-input-file | FileCheck %s

// Two dynamic dims in one group (upstream expand-strided-metadata crashes on
// this): sizes from output_shape, strides the suffix products.
// CHECK-LABEL: func.func @two_dynamic
// CHECK-SAME: (%[[M:.*]]: memref<?x4xf32>, %[[A:.*]]: index, %[[B:.*]]: index)
// CHECK: %[[S:.*]] = arith.muli %[[B]], %c4 : index
// CHECK: memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[A]], %[[B]], 4], strides: [%[[S]], 4, 1]
func.func @two_dynamic(%m: memref<?x4xf32>, %a: index, %b: index) -> memref<?x?x4xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%a, %b, 4] : memref<?x4xf32> into memref<?x?x4xf32>
  return %e : memref<?x?x4xf32>
}

// -----

// Static inner sizes give static strides.
// CHECK-LABEL: func.func @static_strides
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [%{{.*}}, 2, 4], strides: [8, 4, 1]
func.func @static_strides(%m: memref<?x4xf32>, %a: index) -> memref<?x2x4xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%a, 2, 4] : memref<?x4xf32> into memref<?x2x4xf32>
  return %e : memref<?x2x4xf32>
}

// -----

// A strided source (a column slice): the group's inner strides scale the
// source stride, and the (dynamic) offset is kept.
// CHECK-LABEL: func.func @strided_source
// CHECK: %{{.*}}, %[[OFF:.*]], %{{.*}}:2, %{{.*}}:2 = memref.extract_strided_metadata
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [%[[OFF]]], sizes: [4, 2, 3], strides: [16, 3, 1]
func.func @strided_source(%m: memref<4x8xf32, strided<[16, 1], offset: ?>>) -> memref<4x2x3xf32, strided<[16, 3, 1], offset: ?>> {
  %s = memref.subview %m[0, 0] [4, 6] [1, 1] : memref<4x8xf32, strided<[16, 1], offset: ?>> to memref<4x6xf32, strided<[16, 1], offset: ?>>
  %e = memref.expand_shape %s [[0], [1, 2]] output_shape [4, 2, 3] : memref<4x6xf32, strided<[16, 1], offset: ?>> into memref<4x2x3xf32, strided<[16, 3, 1], offset: ?>>
  return %e : memref<4x2x3xf32, strided<[16, 3, 1], offset: ?>>
}

// -----

// A rank-0 source (a scalar parameter flattened for the GPU runtime's
// constant cache) has no reassociation groups: its unit dims get stride 1.
// CHECK-LABEL: func.func @rank_zero
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [1], strides: [1] : memref<f32> to memref<1xf32>
func.func @rank_zero(%m: memref<f32>) -> memref<1xf32> {
  %e = memref.expand_shape %m [] output_shape [1] : memref<f32> into memref<1xf32>
  return %e : memref<1xf32>
}
