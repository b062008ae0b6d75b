// RUN: qopt-opt %s --qopt-bitplane-decompose --split-input-file | FileCheck %s

// Run-time weights, one group, no zero points: both operands packed at run
// time (K = 300 padded to 512 bits = 16 words), 2 x 3 binary products over
// the whole row, combined with the sign of the signed activations.
// CHECK-LABEL: func.func @runtime_weights
// CHECK: %[[A:.*]] = qopt.bitplane_pack %arg0 : tensor<?x300x!qopt.int<s3>> -> tensor<3x?x16xi32>
// CHECK: %[[W:.*]] = qopt.bitplane_pack %arg1 : tensor<5x300x!qopt.int<u2>> -> tensor<2x5x16xi32>
// CHECK: %[[P:.*]] = qopt.bitplane_popcount %[[A]], %[[W]] {group_words = 16 : i64} : tensor<3x?x16xi32>, tensor<2x5x16xi32> -> tensor<2x3x?x5x1xi32>
// CHECK: %[[C:.*]] = qopt.bitplane_combine %[[P]] {act_signed = true, weight_signed = false} : tensor<2x3x?x5x1xi32> -> tensor<?x5x1xi32>
// CHECK: return %[[C]]
// CHECK-NOT: qopt.integer_matmul
func.func @runtime_weights(%a: tensor<?x300x!qopt.int<s3>>, %w: tensor<5x300x!qopt.int<u2>>) -> tensor<?x5x1xi32> {
  %r = qopt.integer_matmul %a, %w {group_size = 0 : i64} : (tensor<?x300x!qopt.int<s3>>, tensor<5x300x!qopt.int<u2>>) -> tensor<?x5x1xi32>
  return %r : tensor<?x5x1xi32>
}

// -----

// Constant weights are packed at compile time, and their row sums (for the
// activation zero point) precomputed. Row 0 is forty 1s: plane 0 has bits
// 0..39 set (words 0xFFFFFFFF, 0xFF); row 1 has 2 at k = 0 and 3 at k = 33:
// plane 0 bit 33 (word 1 = 2), plane 1 bits 0 and 33 (words 1, 2). Row sums
// 40 and 5. Blobs start with their 4-byte alignment, then little-endian i32.
// CHECK-LABEL: func.func @constant_weights
// CHECK-DAG: %[[SUMS:.*]] = arith.constant dense_resource<weight_row_sums> : tensor<2x1xi32>
// CHECK-DAG: %[[PLANES:.*]] = arith.constant dense_resource<bitplanes> : tensor<2x2x8xi32>
// CHECK: %[[A:.*]] = qopt.bitplane_pack %arg0 : tensor<?x40x!qopt.int<u8>> -> tensor<8x?x8xi32>
// CHECK: %[[P:.*]] = qopt.bitplane_popcount %[[A]], %[[PLANES]] {group_words = 8 : i64}
// CHECK: %[[C:.*]] = qopt.bitplane_combine %[[P]] {act_signed = false, weight_signed = false}
// acc - za[m] * rowsum(W)[n]
// CHECK: linalg.generic {{.*}} ins(%[[C]], %arg1, %[[SUMS]] : tensor<?x2x1xi32>, tensor<?xi32>, tensor<2x1xi32>)
// CHECK-NEXT: ^bb0(%[[ACC:.*]]: i32, %[[ZA:.*]]: i32, %[[SUM:.*]]: i32, %{{.*}}: i32):
// CHECK-NEXT: %[[T:.*]] = arith.muli %[[ZA]], %[[SUM]] : i32
// CHECK-NEXT: %[[R:.*]] = arith.subi %[[ACC]], %[[T]] : i32
// CHECK-NEXT: linalg.yield %[[R]]
// CHECK: weight_row_sums: "0x040000002800000005000000"
// CHECK: bitplanes: "0x04000000FFFFFFFFFF000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000002000000000000000000000000000000000000000000000000000000"
func.func @constant_weights(%a: tensor<?x40x!qopt.int<u8>>, %za: tensor<?xi32>) -> tensor<?x2x1xi32> {
  %w8 = arith.constant dense<[[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0]]> : tensor<2x40xi8>
  %w = qopt.storage_cast %w8 : tensor<2x40xi8> to tensor<2x40x!qopt.int<u2>>
  %r = qopt.integer_matmul %a zero_point(%za), %w {group_size = 0 : i64} : (tensor<?x40x!qopt.int<u8>>, tensor<?xi32>, tensor<2x40x!qopt.int<u2>>) -> tensor<?x2x1xi32>
  return %r : tensor<?x2x1xi32>
}

// -----

// Groups of 96 bits (3 words, not whole MMA steps) are their own padding;
// the weight zero point per group needs the activation row sums per group,
// computed at run time from the [M, groups, 96] view.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[RS:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[AROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[ZW:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @groups_of_96
// CHECK: qopt.bitplane_pack %arg0 {k_pad = 96 : i64} : tensor<4x288x!qopt.int<s8>> -> tensor<8x4x9xi32>
// CHECK: qopt.bitplane_pack %arg1 {k_pad = 96 : i64} : tensor<5x288x!qopt.int<s4>> -> tensor<4x5x9xi32>
// CHECK: qopt.bitplane_popcount {{.*}} {group_words = 3 : i64} : tensor<8x4x9xi32>, tensor<4x5x9xi32> -> tensor<4x8x4x5x3xi32>
// CHECK: %[[C:.*]] = qopt.bitplane_combine %{{.*}} {act_signed = true, weight_signed = true} : tensor<4x8x4x5x3xi32> -> tensor<4x5x3xi32>
// CHECK: %[[WIDE:.*]] = qopt.storage_cast %arg0 : tensor<4x288x!qopt.int<s8>> to tensor<4x288xi32>
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[WIDE]] {{\[\[}}0], [1, 2]] output_shape [4, 3, 96]
// CHECK: %[[ROWSUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[RS]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[VIEW]] : tensor<4x3x96xi32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[AROW]], #[[ZW]], #[[ID]]], {{.*}} ins(%[[C]], %[[ROWSUM]], %arg2 : tensor<4x5x3xi32>, tensor<4x3xi32>, tensor<5x3xi32>)
// CHECK: arith.muli
// CHECK: arith.subi
func.func @groups_of_96(%a: tensor<4x288x!qopt.int<s8>>, %w: tensor<5x288x!qopt.int<s4>>, %zw: tensor<5x3xi32>) -> tensor<4x5x3xi32> {
  %r = qopt.integer_matmul %a, %w zero_point(%zw) {group_size = 96 : i64} : (tensor<4x288x!qopt.int<s8>>, tensor<5x288x!qopt.int<s4>>, tensor<5x3xi32>) -> tensor<4x5x3xi32>
  return %r : tensor<4x5x3xi32>
}

// -----

// Both zero points, per tensor: acc - zw * rowsum(A) - za * rowsum(W) +
// K * za * zw, with K = 64.
// CHECK-LABEL: func.func @both_zero_points
// CHECK-DAG: %[[K:.*]] = arith.constant 64 : i32
// CHECK: qopt.bitplane_combine
// CHECK: linalg.generic
// CHECK: ^bb0(%[[ACC:[^:]*]]: i32, %[[RA:[^:]*]]: i32, %[[ZW:[^:]*]]: i32, %[[ZA:[^:]*]]: i32, %[[RW:[^:]*]]: i32, %{{.*}}: i32):
// CHECK-NEXT: %[[T0:.*]] = arith.muli %[[ZW]], %[[RA]]
// CHECK-NEXT: %[[T1:.*]] = arith.subi %[[ACC]], %[[T0]]
// CHECK-NEXT: %[[T2:.*]] = arith.muli %[[ZA]], %[[RW]]
// CHECK-NEXT: %[[T3:.*]] = arith.subi %[[T1]], %[[T2]]
// CHECK-NEXT: %[[T4:.*]] = arith.muli %[[ZA]], %[[ZW]]
// CHECK-NEXT: %[[T5:.*]] = arith.muli %[[T4]], %[[K]]
// CHECK-NEXT: %[[T6:.*]] = arith.addi %[[T3]], %[[T5]]
// CHECK-NEXT: linalg.yield %[[T6]]
func.func @both_zero_points(%a: tensor<3x64x!qopt.int<u8>>, %za: tensor<i32>, %w: tensor<5x64x!qopt.int<u4>>, %zw: tensor<i32>) -> tensor<3x5x1xi32> {
  %r = qopt.integer_matmul %a zero_point(%za), %w zero_point(%zw) {group_size = 0 : i64} : (tensor<3x64x!qopt.int<u8>>, tensor<i32>, tensor<5x64x!qopt.int<u4>>, tensor<i32>) -> tensor<3x5x1xi32>
  return %r : tensor<3x5x1xi32>
}

// -----

// Dynamic K: the word count is dynamic; one popcount group per MMA step
// (8 words), summed afterwards into the single group.
// CHECK-DAG: #[[SUM:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-LABEL: func.func @dynamic_k
// CHECK: qopt.bitplane_pack %arg0 : tensor<?x?x!qopt.int<u4>> -> tensor<4x?x?xi32>
// CHECK: qopt.bitplane_popcount {{.*}} {group_words = 8 : i64} : tensor<4x?x?xi32>, tensor<2x7x?xi32> -> tensor<2x4x?x7x?xi32>
// CHECK: %[[C:.*]] = qopt.bitplane_combine {{.*}} -> tensor<?x7x?xi32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[SUM]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[C]] : tensor<?x7x?xi32>) outs(%{{.*}} : tensor<?x7x1xi32>)
func.func @dynamic_k(%a: tensor<?x?x!qopt.int<u4>>, %w: tensor<7x?x!qopt.int<s2>>) -> tensor<?x7x1xi32> {
  %r = qopt.integer_matmul %a, %w {group_size = 0 : i64} : (tensor<?x?x!qopt.int<u4>>, tensor<7x?x!qopt.int<s2>>) -> tensor<?x7x1xi32>
  return %r : tensor<?x7x1xi32>
}

// -----

// Groups that are not whole 32-bit words cannot be split into bit-plane
// words: the integer matmul stays (and takes the direct lowering).
// CHECK-LABEL: func.func @group_of_16_kept
// CHECK: qopt.integer_matmul %arg0, %arg1 {group_size = 16 : i64}
// CHECK-NOT: qopt.bitplane
func.func @group_of_16_kept(%a: tensor<4x64x!qopt.int<s8>>, %w: tensor<5x64x!qopt.int<s4>>) -> tensor<4x5x4xi32> {
  %r = qopt.integer_matmul %a, %w {group_size = 16 : i64} : (tensor<4x64x!qopt.int<s8>>, tensor<5x64x!qopt.int<s4>>) -> tensor<4x5x4xi32>
  return %r : tensor<4x5x4xi32>
}
