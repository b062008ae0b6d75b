// RUN: qopt-opt %s --convert-qopt-to-linalg --split-input-file | FileCheck %s

// bitplane_pack: K padded with zeros to the words of the result, viewed as
// [R, words, 32]; bit b of value t of a word goes to bit t of plane b.
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @pack
// CHECK: %[[PAD:.*]] = tensor.pad %{{.*}} low[0, 0] high[0, %{{.*}}]
// CHECK: tensor<?x300xi8> to tensor<?x512xi8>
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[PAD]] {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 16, 32] : tensor<?x512xi8> into tensor<?x16x32xi8>
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[VIEW]] : tensor<?x16x32xi8>) outs(%{{.*}} : tensor<3x?x16xi32>)
// CHECK: %[[X:.*]] = arith.extui %{{.*}} : i8 to i32
// CHECK: %[[PLANE:.*]] = linalg.index 0 : index
// CHECK: %[[BIT:.*]] = linalg.index 3 : index
// CHECK: arith.shrui %[[X]]
// CHECK: arith.andi
// CHECK: arith.shli
// CHECK: arith.ori
func.func @pack(%a: tensor<?x300x!qopt.int<s3>>) -> tensor<3x?x16xi32> {
  %p = qopt.bitplane_pack %a : tensor<?x300x!qopt.int<s3>> -> tensor<3x?x16xi32>
  return %p : tensor<3x?x16xi32>
}

// -----

// popcount feeding combine: one loop nest (m, n, g | i, j, s) over 64-bit
// words (two 32-bit lanes), each popcount weighted by c_i c_j 2^(i+j), with
// -2^(i+j) on the sign plane of the signed activations (j = 2); no
// [P, Q, M, N, G] intermediate.
// CHECK-DAG: #[[A0:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d0, d2, d5, 0)>
// CHECK-DAG: #[[A1:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d0, d2, d5, 1)>
// CHECK-DAG: #[[W0:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d1, d2, d5, 0)>
// CHECK-DAG: #[[W1:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d1, d2, d5, 1)>
// CHECK-DAG: #[[CO:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4)>
// CHECK-DAG: #[[ACC:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @popcount_combine_fused
// CHECK-SAME: (%[[AP:.*]]: tensor<3x?x16xi32>, %[[WP:.*]]: tensor<2x5x16xi32>)
// CHECK-DAG: %[[AV:.*]] = tensor.expand_shape %[[AP]] {{\[\[}}0], [1], [2, 3, 4]] output_shape [3, %{{.*}}, 1, 8, 2] : tensor<3x?x16xi32> into tensor<3x?x1x8x2xi32>
// CHECK-DAG: %[[WV:.*]] = tensor.expand_shape %[[WP]] {{\[\[}}0], [1], [2, 3, 4]] output_shape [2, 5, 1, 8, 2] : tensor<2x5x16xi32> into tensor<2x5x1x8x2xi32>
// CHECK-DAG: %[[TABLE:.*]] = arith.constant dense<{{\[\[}}1, 2, -4], [2, 4, -8]]> : tensor<2x3xi32>
// CHECK: linalg.generic {indexing_maps = [#[[A0]], #[[A1]], #[[W0]], #[[W1]], #[[CO]], #[[ACC]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[AV]], %[[AV]], %[[WV]], %[[WV]], %[[TABLE]] :
// CHECK-SAME: outs(%{{.*}} : tensor<?x5x1xi32>)
// CHECK: arith.andi %{{.*}}, %{{.*}} : i64
// CHECK: math.ctpop %{{.*}} : i64
// CHECK: arith.trunci
// CHECK: arith.muli
// CHECK: arith.addi
// CHECK-NOT: qopt.bitplane
func.func @popcount_combine_fused(%ap: tensor<3x?x16xi32>, %wp: tensor<2x5x16xi32>) -> tensor<?x5x1xi32> {
  %p = qopt.bitplane_popcount %ap, %wp {group_words = 16 : i64} : tensor<3x?x16xi32>, tensor<2x5x16xi32> -> tensor<2x3x?x5x1xi32>
  %c = qopt.bitplane_combine %p {act_signed = true, weight_signed = false} : tensor<2x3x?x5x1xi32> -> tensor<?x5x1xi32>
  return %c : tensor<?x5x1xi32>
}

// -----

// Partials used elsewhere too: popcount and combine lowered apart; groups of
// an odd word count (3) use 32-bit popcounts. Both operands signed: the
// coefficient of the two sign planes is positive.
// CHECK-DAG: #[[PA:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d2, d4, d5, 0)>
// CHECK-DAG: #[[PW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d4, d5, 0)>
// CHECK-DAG: #[[PO:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[CP:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d3, d4, d0, d1, d2)>
// CHECK-LABEL: func.func @popcount_and_combine
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[PA]], #[[PW]], #[[PO]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%{{.*}} : tensor<2x3x4x5x3xi32>)
// CHECK: arith.andi %{{.*}}, %{{.*}} : i32
// CHECK: math.ctpop %{{.*}} : i32
// CHECK: %[[TABLE:.*]] = arith.constant dense<{{\[\[}}1, 2, -4], [-2, -4, 8]]> : tensor<2x3xi32>
// CHECK: %[[C:.*]] = linalg.generic {indexing_maps = [#[[CP]], #{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[P]], %[[TABLE]] : tensor<2x3x4x5x3xi32>, tensor<2x3xi32>)
// CHECK: return %[[P]], %[[C]]
func.func @popcount_and_combine(%ap: tensor<3x4x9xi32>, %wp: tensor<2x5x9xi32>) -> (tensor<2x3x4x5x3xi32>, tensor<4x5x3xi32>) {
  %p = qopt.bitplane_popcount %ap, %wp {group_words = 3 : i64} : tensor<3x4x9xi32>, tensor<2x5x9xi32> -> tensor<2x3x4x5x3xi32>
  %c = qopt.bitplane_combine %p {act_signed = true, weight_signed = true} : tensor<2x3x4x5x3xi32> -> tensor<4x5x3xi32>
  return %p, %c : tensor<2x3x4x5x3xi32>, tensor<4x5x3xi32>
}

// -----

// bitplane_unpack: element (r, k) reads word k / 32 of row r in every plane
// (one input per plane), gathers bit k % 32 of plane b into bit b, and
// sign-extends from bit B - 1 for signed storage (shift left then
// arithmetic right by 32 - B).
// CHECK-DAG: #[[P0:.*]] = affine_map<(d0, d1) -> (0, d0, d1 floordiv 32)>
// CHECK-DAG: #[[P1:.*]] = affine_map<(d0, d1) -> (1, d0, d1 floordiv 32)>
// CHECK-DAG: #[[P2:.*]] = affine_map<(d0, d1) -> (2, d0, d1 floordiv 32)>
// CHECK-LABEL: func.func @unpack_signed
// CHECK: linalg.generic {indexing_maps = [#[[P0]], #[[P1]], #[[P2]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg0, %arg0 : {{.*}}) outs(%{{.*}} : tensor<5x40xi8>)
// CHECK: %[[K:.*]] = linalg.index 1 : index
// CHECK: %[[K32:.*]] = arith.index_cast %[[K]] : index to i32
// CHECK: %[[T:.*]] = arith.andi %[[K32]], %c31_i32
// CHECK: arith.shrui %{{.*}}, %[[T]] : i32
// CHECK: arith.shli %{{.*}}, %c2_i32 : i32
// CHECK: %[[HI:.*]] = arith.shli %{{.*}}, %[[SH:.*]] : i32
// CHECK: %[[SX:.*]] = arith.shrsi %[[HI]], %[[SH]] : i32
// CHECK: arith.trunci %[[SX]] : i32 to i8
// CHECK: return %{{.*}} : tensor<5x40xi8>
func.func @unpack_signed(%p: tensor<3x5x2xi32>) -> tensor<5x40x!qopt.int<s3>> {
  %w = qopt.bitplane_unpack %p : tensor<3x5x2xi32> -> tensor<5x40x!qopt.int<s3>>
  return %w : tensor<5x40x!qopt.int<s3>>
}

// -----

// Unsigned storage: no sign extension. Dynamic rows come from the planes.
// CHECK-LABEL: func.func @unpack_unsigned
// CHECK: %[[R:.*]] = tensor.dim %arg0, %c1 : tensor<2x?x1xi32>
// CHECK: %[[E:.*]] = tensor.empty(%[[R]]) : tensor<?x7xi8>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<?x7xi8>)
// CHECK-NOT: arith.shrsi
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: return %{{.*}} : tensor<?x7xi8>
func.func @unpack_unsigned(%p: tensor<2x?x1xi32>) -> tensor<?x7x!qopt.int<u2>> {
  %w = qopt.bitplane_unpack %p : tensor<2x?x1xi32> -> tensor<?x7x!qopt.int<u2>>
  return %w : tensor<?x7x!qopt.int<u2>>
}

// -----

// field_unpack: element (r, k) reads word k / F of row r and takes the B
// bits from bit B * (k % F): shifted left to bit 31 (by 32 - B - B * (k %
// F)), then arithmetically right by 32 - B for signed storage.
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 10)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @field_unpack_signed
// CHECK: linalg.generic {indexing_maps = [#[[W]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<5x4xi32>) outs(%{{.*}} : tensor<5x40xi8>)
// CHECK: ^bb0(%[[IN:.*]]: i32, %{{.*}}: i8):
// CHECK: %[[K:.*]] = linalg.index 1 : index
// CHECK: %[[K32:.*]] = arith.index_cast %[[K]] : index to i32
// CHECK: %[[F:.*]] = arith.remui %[[K32]], %c10_i32 : i32
// CHECK: %[[LOW:.*]] = arith.muli %[[F]], %c3_i32 : i32
// CHECK: %[[UP:.*]] = arith.subi %[[TOP:c29_i32.*]], %[[LOW]] : i32
// CHECK: %[[HI:.*]] = arith.shli %[[IN]], %[[UP]] : i32
// CHECK: %[[SX:.*]] = arith.shrsi %[[HI]], %[[TOP]] : i32
// CHECK: %[[V:.*]] = arith.trunci %[[SX]] : i32 to i8
// CHECK: linalg.yield %[[V]] : i8
// CHECK: return %{{.*}} : tensor<5x40xi8>
func.func @field_unpack_signed(%w: tensor<5x4xi32>) -> tensor<5x40x!qopt.int<s3>> {
  %v = qopt.field_unpack %w {fields_per_word = 10} : tensor<5x4xi32> -> tensor<5x40x!qopt.int<s3>>
  return %v : tensor<5x40x!qopt.int<s3>>
}

// -----

// Unsigned storage: shifted right to bit 0 and masked. Dynamic rows come
// from the words.
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 16)>
// CHECK-LABEL: func.func @field_unpack_unsigned
// CHECK: %[[R:.*]] = tensor.dim %arg0, %c0 : tensor<?x1xi32>
// CHECK: %[[E:.*]] = tensor.empty(%[[R]]) : tensor<?x7xi8>
// CHECK: linalg.generic {indexing_maps = [#[[W]], #{{.*}}], {{.*}} ins(%arg0 : tensor<?x1xi32>) outs(%[[E]] : tensor<?x7xi8>)
// CHECK: ^bb0(%[[IN:.*]]: i32, %{{.*}}: i8):
// CHECK: %[[F:.*]] = arith.remui %{{.*}}, %c16_i32 : i32
// CHECK: %[[LOW:.*]] = arith.muli %[[F]], %c2_i32 : i32
// CHECK: %[[SH:.*]] = arith.shrui %[[IN]], %[[LOW]] : i32
// CHECK: %[[V:.*]] = arith.andi %[[SH]], %c3_i32 : i32
// CHECK-NOT: arith.shrsi
// CHECK: arith.trunci %[[V]] : i32 to i8
// CHECK: return %{{.*}} : tensor<?x7xi8>
func.func @field_unpack_unsigned(%w: tensor<?x1xi32>) -> tensor<?x7x!qopt.int<u2>> {
  %v = qopt.field_unpack %w {fields_per_word = 16} : tensor<?x1xi32> -> tensor<?x7x!qopt.int<u2>>
  return %v : tensor<?x7x!qopt.int<u2>>
}

// -----

// Byte quads: field f = k % 8 of a word starts at bit 8 (f % 4) + 4 (f / 4)
// (fields 0 to 3 the low nibbles of bytes 0 to 3, fields 4 to 7 the high
// ones), shifted left to bit 31 by 28 - that, then back with the sign. The
// decode is marked with its fields per word (for
// qopt-cpu-tile-and-vectorize).
// CHECK-LABEL: func.func @field_unpack_byte_quads
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<5x5xi32>) outs(%{{.*}} : tensor<5x40xi8>) attrs =  {qopt.byte_quad_fields = array<i64: 8>}
// CHECK: ^bb0(%[[IN:.*]]: i32, %{{.*}}: i8):
// CHECK: %[[F:.*]] = arith.remui %{{.*}}, {{%c8_i32[_0-9]*}} : i32
// CHECK: %[[BYTE:.*]] = arith.remui %[[F]], {{%c4_i32[_0-9]*}} : i32
// CHECK: %[[BYTEBIT:.*]] = arith.muli %[[BYTE]], {{%c8_i32[_0-9]*}} : i32
// CHECK: %[[SLOT:.*]] = arith.divui %[[F]], {{%c4_i32[_0-9]*}} : i32
// CHECK: %[[SLOTBIT:.*]] = arith.muli %[[SLOT]], {{%c4_i32[_0-9]*}} : i32
// CHECK: %[[LOW:.*]] = arith.addi %[[BYTEBIT]], %[[SLOTBIT]] : i32
// CHECK: %[[UP:.*]] = arith.subi %[[TOP:c28_i32[_0-9]*]], %[[LOW]] : i32
// CHECK: %[[HI:.*]] = arith.shli %[[IN]], %[[UP]] : i32
// CHECK: arith.shrsi %[[HI]], %[[TOP]] : i32
func.func @field_unpack_byte_quads(%w: tensor<5x5xi32>) -> tensor<5x40x!qopt.int<s4>> {
  %v = qopt.field_unpack %w {fields_per_word = 8, byte_quads} : tensor<5x5xi32> -> tensor<5x40x!qopt.int<s4>>
  return %v : tensor<5x40x!qopt.int<s4>>
}

// -----

// Byte-quad slices: 6 bits as 4 + 2, one input per slice. The low slice is
// field k % 8 of its word, unsigned ((word >> low) & 15); the high one field
// k % 16 of its own, shifted to bit 31 and back with the sign (2 bits),
// then up to bit 4; the two or'd. The decode is marked with each input's
// fields per word.
// CHECK: #[[LO:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 8)>
// CHECK-NEXT: #[[HI:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 16)>
// CHECK-LABEL: func.func @field_slices_unpack
// CHECK: linalg.generic {indexing_maps = [#[[LO]], #[[HI]], #{{.*}}], {{.*}} ins(%arg0, %arg1 : tensor<5x5xi32>, tensor<5x3xi32>) outs(%{{.*}} : tensor<5x40xi8>) attrs =  {qopt.byte_quad_fields = array<i64: 8, 16>}
// CHECK: ^bb0(%[[W4:.*]]: i32, %[[W2:.*]]: i32, %{{.*}}: i8):
// CHECK: %[[F4:.*]] = arith.remui %{{.*}}, {{%c8_i32[_0-9]*}} : i32
// CHECK: %[[LOW4:.*]] = arith.addi
// CHECK: %[[DOWN:.*]] = arith.shrui %[[W4]], %[[LOW4]] : i32
// CHECK: %[[NIBBLE:.*]] = arith.andi %[[DOWN]], {{%c15_i32[_0-9]*}} : i32
// CHECK: %[[F2:.*]] = arith.remui %{{.*}}, {{%c16_i32[_0-9]*}} : i32
// CHECK: %[[LOW2:.*]] = arith.addi
// CHECK: %[[UP:.*]] = arith.subi %[[TOP:c30_i32[_0-9]*]], %[[LOW2]] : i32
// CHECK: %[[HIGH:.*]] = arith.shli %[[W2]], %[[UP]] : i32
// CHECK: %[[SIGNED:.*]] = arith.shrsi %[[HIGH]], %[[TOP]] : i32
// CHECK: %[[AT4:.*]] = arith.shli %[[SIGNED]], {{%c4_i32[_0-9]*}} : i32
// CHECK: %[[V:.*]] = arith.ori %[[NIBBLE]], %[[AT4]] : i32
// CHECK: arith.trunci %[[V]] : i32 to i8
func.func @field_slices_unpack(%lo: tensor<5x5xi32>, %hi: tensor<5x3xi32>) -> tensor<5x40x!qopt.int<s6>> {
  %v = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<5x3xi32> -> tensor<5x40x!qopt.int<s6>>
  return %v : tensor<5x40x!qopt.int<s6>>
}
