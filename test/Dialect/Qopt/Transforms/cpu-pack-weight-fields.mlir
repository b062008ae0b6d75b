// RUN: qopt-opt %s --pass-pipeline='builtin.module(func.func(qopt-cpu-pack-weight-fields))' --split-input-file | FileCheck %s

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

// Unsigned 2-bit values, K = 40 from two plane words: sixteen fields per
// word, three words (the last half padding). w[k] = (7k + 1) % 4.
// CHECK-LABEL: func.func @unsigned_2bit
// CHECK: %[[F:.*]] = arith.constant dense<{{\[}}[-1313754703, -1313754703, 45489]]> : tensor<1x3xi32>
// CHECK: qopt.field_unpack %{{.*}} {fields_per_word = 16 : i64} : tensor<1x3xi32> -> tensor<1x40x!qopt.int<u2>>
func.func @unsigned_2bit() -> tensor<1x40x!qopt.int<u2>> {
  %p = arith.constant dense<[[[1431655765, 85]], [[-858993460, 204]]]> : tensor<2x1x2xi32>
  %w = qopt.bitplane_unpack %p : tensor<2x1x2xi32> -> tensor<1x40x!qopt.int<u2>>
  return %w : tensor<1x40x!qopt.int<u2>>
}

// -----

// One bit: the single plane's words are the fields.
// CHECK-LABEL: func.func @one_bit
// CHECK: %[[F:.*]] = arith.constant dense<1227133513> : tensor<1x1xi32>
// CHECK: qopt.field_unpack %[[F]] {fields_per_word = 32 : i64} : tensor<1x1xi32> -> tensor<1x32x!qopt.int<s1>>
func.func @one_bit() -> tensor<1x32x!qopt.int<s1>> {
  %p = arith.constant dense<1227133513> : tensor<1x1x1xi32>
  %w = qopt.bitplane_unpack %p : tensor<1x1x1xi32> -> tensor<1x32x!qopt.int<s1>>
  return %w : tensor<1x32x!qopt.int<s1>>
}

// -----

// Weights in a resource blob (as qcc stores them) stay in one: values -8 to
// -1 as eight 4-bit fields, 0xFEDCBA98 (little-endian bytes after the
// blob's alignment).
// CHECK-LABEL: func.func @resource
// CHECK: %[[F:.*]] = arith.constant dense_resource<wfields> : tensor<1x1xi32>
// CHECK: qopt.field_unpack %[[F]] {fields_per_word = 8 : i64} : tensor<1x1xi32> -> tensor<1x8x!qopt.int<s4>>
// CHECK: wfields: "0x{{[0-9]}}{{[0-9]}}00000098BADCFE"
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
