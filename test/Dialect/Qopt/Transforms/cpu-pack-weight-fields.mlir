// RUN: qopt-opt %s --pass-pipeline='builtin.module(func.func(qopt-cpu-pack-weight-fields{quad-slices=true}))' --split-input-file | FileCheck %s
// RUN: qopt-opt %s --pass-pipeline='builtin.module(func.func(qopt-cpu-pack-weight-fields))' --split-input-file | FileCheck %s --check-prefix=WHOLE

// Ten 3-bit fields per word, K = 12 in two words per row (the second holds
// k = 10, 11 and zero padding). The weights behind the planes, row by row:
//   [-4, 3, -1, 0, 2, -3, 1, -2, 3, -4, 1, -1]
//   [ 0, 1, 2, 3, -1, -2, -3, -4, 0, 0, 2, -2]
// word 0 of row 0 = sum_k (w[0, k] & 7) << 3k for k < 10 = 600220124.
// CHECK-LABEL: func.func @signed_3bit
// CHECK: %[[F:.*]] = arith.constant dense<{{\[}}[600220124, 57], [9926280, 50]]> : tensor<2x2xi32>
// CHECK: %[[W:.*]] = qopt.field_unpack %[[F]] {fields_per_word = 10 : i64} : tensor<2x2xi32> -> tensor<2x12x!qopt.int<s3>>
// CHECK-NOT: qopt.bitplane_unpack
// CHECK: return %[[W]]
func.func @signed_3bit() -> tensor<2x12x!qopt.int<s3>> {
  %p = arith.constant dense<[[[3430], [90]], [[2454], [3132]], [[2725], [2288]]]> : tensor<3x2x1xi32>
  %w = qopt.bitplane_unpack %p : tensor<3x2x1xi32> -> tensor<2x12x!qopt.int<s3>>
  return %w : tensor<2x12x!qopt.int<s3>>
}

// -----

// With quad-slices, the same 3-bit weights multiplied by 8-bit activations
// are stored as byte-quad slices of 2 and 1 bits, for VNNI quad dot
// products. Unsigned
// bits u = w & 7 of row 0: 4, 3, 7, 0, 2, 5, 1, 6, 3, 4, 1, 7.
// Slice 0 (u & 3 = 0, 3, 3, 0, 2, 1, 1, 2, 3, 0, 1, 3), sixteen fields a
// word, field f at bit 8 (f % 4) + 2 (f / 4): byte b holds fields b, b + 4,
// b + 8 at bits 0, 2, 4: 0x38, 0x07, 0x17, 0x38, the word 0x38170738 =
// 941033272. Slice 1 (u >> 2 = 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1), 32
// fields a word at bit 8 (f % 4) + f / 4: bytes 0x01, 0x06, 0x01, 0x06,
// 0x06010601 = 100730369. Row 1 likewise: 0x2326090C, 0x06020202.
// Without quad-slices (a CPU without VNNI, whose pair dot products decode
// a value at a time) they stay whole fields.
// WHOLE-LABEL: func.func @signed_3bit_int8_activations
// WHOLE: qopt.field_unpack %{{.*}} {fields_per_word = 10 : i64} : tensor<2x2xi32> -> tensor<2x12x!qopt.int<s3>>
// WHOLE-NOT: qopt.field_slices_unpack
// CHECK-LABEL: func.func @signed_3bit_int8_activations
// CHECK-DAG: %[[LO:.*]] = arith.constant dense<{{\[}}[941033272], [589695244]]> : tensor<2x1xi32>
// CHECK-DAG: %[[HI:.*]] = arith.constant dense<{{\[}}[100730369], [100794882]]> : tensor<2x1xi32>
// CHECK: %[[W:.*]] = qopt.field_slices_unpack %[[LO]], %[[HI]] {slice_bits = array<i64: 2, 1>} : tensor<2x1xi32>, tensor<2x1xi32> -> tensor<2x12x!qopt.int<s3>>
// CHECK-NOT: qopt.bitplane_unpack
// CHECK: qopt.qmatmul %arg0 scale(%arg1), %[[W]]
func.func @signed_3bit_int8_activations(%a: tensor<?x12x!qopt.int<s8>>, %sa: tensor<f32>, %sw: tensor<2xf32>) -> tensor<?x2xf32> {
  %p = arith.constant dense<[[[3430], [90]], [[2454], [3132]], [[2725], [2288]]]> : tensor<3x2x1xi32>
  %w = qopt.bitplane_unpack %p : tensor<3x2x1xi32> -> tensor<2x12x!qopt.int<s3>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x12x!qopt.int<s8>>, tensor<f32>, tensor<2x12x!qopt.int<s3>>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Weight-only (float activations): the weights are converted to float one
// at a time, and stay whole 3-bit fields.
// CHECK-LABEL: func.func @signed_3bit_float_activations
// CHECK: qopt.field_unpack %{{.*}} {fields_per_word = 10 : i64} : tensor<2x2xi32> -> tensor<2x12x!qopt.int<s3>>
// CHECK-NOT: qopt.field_slices_unpack
func.func @signed_3bit_float_activations(%x: tensor<?x12xf32>, %sw: tensor<2xf32>) -> tensor<?x2xf32> {
  %p = arith.constant dense<[[[3430], [90]], [[2454], [3132]], [[2725], [2288]]]> : tensor<3x2x1xi32>
  %w = qopt.bitplane_unpack %p : tensor<3x2x1xi32> -> tensor<2x12x!qopt.int<s3>>
  %y = qopt.qmatmul %x, %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x12xf32>, tensor<2x12x!qopt.int<s3>>, tensor<2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Six bits as slices of 4 and 2, in a resource blob like the planes: the
// values -32 to -25 and 24 to 31 (u = w & 63 = 32 to 39, then 24 to 31;
// K = 16, one word of 4-bit fields holds eight, so two words for the low
// slice; one word of sixteen 2-bit fields for the high slice). Low nibbles
// u & 15 of the first eight: 0 to 7, byte b holding fields b and b + 4:
// 0x40, 0x51, 0x62, 0x73; of the next eight 8 to 15: 0xC8, 0xD9, 0xEA,
// 0xFB. High bits u >> 4: 2 for the first eight, 1 for the others: byte b
// holds fields b, b + 4, b + 8, b + 12 at bits 0, 2, 4, 6: 2, 2, 1, 1 =
// 0x5A in every byte.
// CHECK-LABEL: func.func @signed_6bit_resource
// CHECK-DAG: %[[LO:.*]] = arith.constant dense_resource<wfields> : tensor<1x2xi32>
// CHECK-DAG: %[[HI:.*]] = arith.constant dense_resource<wfields{{.*}}> : tensor<1x1xi32>
// CHECK: qopt.field_slices_unpack %[[LO]], %[[HI]] {slice_bits = array<i64: 4, 2>} : tensor<1x2xi32>, tensor<1x1xi32> -> tensor<1x16x!qopt.int<s6>>
// CHECK: wfields: "0x{{[0-9]}}{{[0-9]}}00000040516273C8D9EAFB"
// CHECK: wfields{{.*}}: "0x{{[0-9]}}{{[0-9]}}0000005A5A5A5A"
func.func @signed_6bit_resource(%a: tensor<?x16x!qopt.int<s6>>, %sa: tensor<f32>, %sw: tensor<1xf32>) -> tensor<?x1xf32> {
  %p = arith.constant dense_resource<planes6> : tensor<6x1x1xi32>
  %w = qopt.bitplane_unpack %p : tensor<6x1x1xi32> -> tensor<1x16x!qopt.int<s6>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x16x!qopt.int<s6>>, tensor<f32>, tensor<1x16x!qopt.int<s6>>, tensor<1xf32>) -> tensor<?x1xf32>
  return %y : tensor<?x1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      planes6: "0x04000000AAAA0000CCCC0000F0F0000000FF000000FF0000FF000000"
    }
  }
#-}

// -----

// Unsigned 2-bit values, K = 40 from two plane words: sixteen fields per
// word, three words (the last half padding), as byte quads (2 divides 8):
// field f at bit 8 (f % 4) + 2 (f / 4). w[k] = (7k + 1) % 4 = 1, 0, 3, 2,
// 1, 0, 3, 2, ..., so byte b of a word holds fields b, b + 4, b + 8,
// b + 12, all equal: bytes 0x55, 0x00, 0xFF, 0xAA, the word 0xAAFF0055 =
// -1426128811; the third word's fields 32 to 39 fill the low halves of
// its bytes: 0x0A0F0005 = 168755205.
// CHECK-LABEL: func.func @unsigned_2bit
// CHECK: %[[F:.*]] = arith.constant dense<{{\[}}[-1426128811, -1426128811, 168755205]]> : tensor<1x3xi32>
// CHECK: qopt.field_unpack %{{.*}} {byte_quads, fields_per_word = 16 : i64} : tensor<1x3xi32> -> tensor<1x40x!qopt.int<u2>>
func.func @unsigned_2bit() -> tensor<1x40x!qopt.int<u2>> {
  %p = arith.constant dense<[[[1431655765, 85]], [[-858993460, 204]]]> : tensor<2x1x2xi32>
  %w = qopt.bitplane_unpack %p : tensor<2x1x2xi32> -> tensor<1x40x!qopt.int<u2>>
  return %w : tensor<1x40x!qopt.int<u2>>
}

// -----

// One bit, as byte quads: field f at bit 8 (f % 4) + f / 4, so byte b
// holds fields b, b + 4, .., b + 28. The plane 0x49249249 sets fields
// k % 3 == 0: byte 0 gets fields 0, 12, 24 (bits 0, 3, 6) = 0x49, byte 1
// fields 9, 21 (bits 2, 5) = 0x24, byte 2 fields 6, 18, 30 (bits 1, 4, 7)
// = 0x92, byte 3 fields 3, 15, 27 (bits 0, 3, 6) = 0x49: 0x49922449 =
// 1234314313.
// CHECK-LABEL: func.func @one_bit
// CHECK: %[[F:.*]] = arith.constant dense<1234314313> : tensor<1x1xi32>
// CHECK: qopt.field_unpack %[[F]] {byte_quads, fields_per_word = 32 : i64} : tensor<1x1xi32> -> tensor<1x32x!qopt.int<s1>>
func.func @one_bit() -> tensor<1x32x!qopt.int<s1>> {
  %p = arith.constant dense<1227133513> : tensor<1x1x1xi32>
  %w = qopt.bitplane_unpack %p : tensor<1x1x1xi32> -> tensor<1x32x!qopt.int<s1>>
  return %w : tensor<1x32x!qopt.int<s1>>
}

// -----

// Weights in a resource blob (as qcc stores them) stay in one: values -8 to
// -1 (nibbles 8 to 15) as eight 4-bit fields in byte quads, byte b holding
// fields b and b + 4: 0xC8, 0xD9, 0xEA, 0xFB (little-endian bytes after
// the blob's alignment).
// CHECK-LABEL: func.func @resource
// CHECK: %[[F:.*]] = arith.constant dense_resource<wfields> : tensor<1x1xi32>
// CHECK: qopt.field_unpack %[[F]] {byte_quads, fields_per_word = 8 : i64} : tensor<1x1xi32> -> tensor<1x8x!qopt.int<s4>>
// CHECK: wfields: "0x{{[0-9]}}{{[0-9]}}000000C8D9EAFB"
func.func @resource() -> tensor<1x8x!qopt.int<s4>> {
  %p = arith.constant dense_resource<planes> : tensor<4x1x1xi32>
  %w = qopt.bitplane_unpack %p : tensor<4x1x1xi32> -> tensor<1x8x!qopt.int<s4>>
  return %w : tensor<1x8x!qopt.int<s4>>
}

{-#
  dialect_resources: {
    builtin: {
      planes: "0x04000000aa000000cc000000f0000000ff000000"
    }
  }
#-}

// -----

// Planes computed at run time, or of a dynamic shape, are left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK: qopt.bitplane_unpack %arg0
// CHECK: qopt.bitplane_unpack %arg1
// CHECK-NOT: qopt.field_unpack
func.func @left_alone(%p: tensor<3x2x1xi32>, %q: tensor<3x?x1xi32>) -> (tensor<2x12x!qopt.int<s3>>, tensor<?x12x!qopt.int<s3>>) {
  %w = qopt.bitplane_unpack %p : tensor<3x2x1xi32> -> tensor<2x12x!qopt.int<s3>>
  %v = qopt.bitplane_unpack %q : tensor<3x?x1xi32> -> tensor<?x12x!qopt.int<s3>>
  return %w, %v : tensor<2x12x!qopt.int<s3>>, tensor<?x12x!qopt.int<s3>>
}
