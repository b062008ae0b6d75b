// RUN: qopt-opt %s | FileCheck %s
// RUN: qopt-opt %s | qopt-opt | FileCheck %s
// RUN: qopt-opt %s --mlir-print-op-generic | qopt-opt | FileCheck %s

// CHECK-LABEL: func.func @quantize_per_tensor
func.func @quantize_per_tensor(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xf32> {
  // CHECK: %[[Q:.*]] = qopt.quantize %{{.*}}, %{{.*}} {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!qopt.int<s4>>
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!qopt.int<s4>>
  // CHECK: qopt.dequantize %[[Q]], %{{.*}} {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  %d = qopt.dequantize %q, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  return %d : tensor<4x8xf32>
}

// A one-element scale of rank 1 is also per-tensor.
// CHECK-LABEL: func.func @quantize_per_tensor_rank1_scale
func.func @quantize_per_tensor_rank1_scale(%x: tensor<3xf16>, %s: tensor<1xf16>) -> tensor<3x!qopt.int<u8>> {
  // CHECK: qopt.quantize {{.*}} : (tensor<3xf16>, tensor<1xf16>) -> tensor<3x!qopt.int<u8>>
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<3xf16>, tensor<1xf16>) -> tensor<3x!qopt.int<u8>>
  return %q : tensor<3x!qopt.int<u8>>
}

// Dynamic per-token activations: scales and zero points computed at run time.
// CHECK-LABEL: func.func @quantize_per_token_dynamic
func.func @quantize_per_token_dynamic(%x: tensor<?x64xf32>, %s: tensor<?xf32>, %zp: tensor<?xi32>) -> tensor<?x64x!qopt.int<u8>> {
  // CHECK: qopt.quantize %{{.*}}, %{{.*}}, %{{.*}} {scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>} : (tensor<?x64xf32>, tensor<?xf32>, tensor<?xi32>) -> tensor<?x64x!qopt.int<u8>>
  %q = qopt.quantize %x, %s, %zp {scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>} : (tensor<?x64xf32>, tensor<?xf32>, tensor<?xi32>) -> tensor<?x64x!qopt.int<u8>>
  return %q : tensor<?x64x!qopt.int<u8>>
}

// Per-group weights with constant scales and zero points within range.
// CHECK-LABEL: func.func @dequantize_per_group_constants
func.func @dequantize_per_group_constants(%w: tensor<2x8x!qopt.int<u3>>) -> tensor<2x8xbf16> {
  %s = arith.constant dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xbf16>
  %zp = arith.constant dense<[[0, 7], [3, 4]]> : tensor<2x2xi32>
  // CHECK: qopt.dequantize %{{.*}}, %{{.*}}, %{{.*}} {scheme = #qopt.scheme<per_group(axis = 1, group_size = 4), asymmetric, rounding = toward_zero>} : (tensor<2x8x!qopt.int<u3>>, tensor<2x2xbf16>, tensor<2x2xi32>) -> tensor<2x8xbf16>
  %d = qopt.dequantize %w, %s, %zp {scheme = #qopt.scheme<per_group(axis = 1, group_size = 4), asymmetric, rounding = toward_zero>} : (tensor<2x8x!qopt.int<u3>>, tensor<2x2xbf16>, tensor<2x2xi32>) -> tensor<2x8xbf16>
  return %d : tensor<2x8xbf16>
}

// W4A8, per-channel weights, per-token activations with zero points, bias.
// CHECK-LABEL: func.func @qmatmul_w4a8
func.func @qmatmul_w4a8(%a: tensor<?x64x!qopt.int<u8>>, %sa: tensor<?xf32>, %za: tensor<?xi32>,
                        %w: tensor<16x64x!qopt.int<s4>>, %sw: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<?x16xf32> {
  // CHECK: qopt.qmatmul %{{.*}} scale(%{{.*}}) zero_point(%{{.*}}), %{{.*}} scale(%{{.*}}) bias(%{{.*}}) {act_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
  // CHECK-SAME: : (tensor<?x64x!qopt.int<u8>>, tensor<?xf32>, tensor<?xi32>, tensor<16x64x!qopt.int<s4>>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw) bias(%b)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>,
       weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x64x!qopt.int<u8>>, tensor<?xf32>, tensor<?xi32>, tensor<16x64x!qopt.int<s4>>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// W2A2 per-group asymmetric weights, per-tensor activations, f16 result.
// CHECK-LABEL: func.func @qmatmul_w2a2_per_group
func.func @qmatmul_w2a2_per_group(%a: tensor<4x64x!qopt.int<s2>>, %sa: tensor<f32>,
                                  %w: tensor<8x64x!qopt.int<u2>>, %sw: tensor<8x2xf16>, %zw: tensor<8x2xi32>) -> tensor<4x8xf16> {
  // CHECK: qopt.qmatmul %{{.*}} scale(%{{.*}}), %{{.*}} scale(%{{.*}}) zero_point(%{{.*}}) {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 32), asymmetric>}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>,
       weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 32), asymmetric>}
      : (tensor<4x64x!qopt.int<s2>>, tensor<f32>, tensor<8x64x!qopt.int<u2>>, tensor<8x2xf16>, tensor<8x2xi32>) -> tensor<4x8xf16>
  return %y : tensor<4x8xf16>
}

// Weight-only: f16 activations, W1 per-tensor weights.
// CHECK-LABEL: func.func @qmatmul_weight_only
func.func @qmatmul_weight_only(%a: tensor<?x32xf16>, %w: tensor<8x32x!qopt.int<s1>>, %sw: tensor<f32>) -> tensor<?x8xf16> {
  // CHECK: qopt.qmatmul %{{.*}}, %{{.*}} scale(%{{.*}}) {weight_scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<?x32xf16>, tensor<8x32x!qopt.int<s1>>, tensor<f32>) -> tensor<?x8xf16>
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<?x32xf16>, tensor<8x32x!qopt.int<s1>>, tensor<f32>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}

// Storage casts in both directions, sub-byte and 8-bit.
// bf16 activations and result (weight-only, as a bf16 model quantizes).
// CHECK-LABEL: func.func @qmatmul_weight_only_bf16
func.func @qmatmul_weight_only_bf16(%a: tensor<?x32xbf16>, %w: tensor<8x32x!qopt.int<u4>>, %sw: tensor<8xf32>, %zw: tensor<8xi32>, %b: tensor<8xbf16>) -> tensor<?x8xbf16> {
  // CHECK: qopt.qmatmul %{{.*}}, %{{.*}} scale(%{{.*}}) zero_point(%{{.*}}) bias(%{{.*}}) {weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>} : (tensor<?x32xbf16>, tensor<8x32x!qopt.int<u4>>, tensor<8xf32>, tensor<8xi32>, tensor<8xbf16>) -> tensor<?x8xbf16>
  %y = qopt.qmatmul %a, %w scale(%sw) zero_point(%zw) bias(%b) {weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x32xbf16>, tensor<8x32x!qopt.int<u4>>, tensor<8xf32>, tensor<8xi32>, tensor<8xbf16>) -> tensor<?x8xbf16>
  return %y : tensor<?x8xbf16>
}

// CHECK-LABEL: func.func @storage_cast
func.func @storage_cast(%raw: tensor<16x64xi8>, %q: tensor<?x!qopt.int<u8>>) -> (tensor<16x64x!qopt.int<s4>>, tensor<?xi32>) {
  // CHECK: qopt.storage_cast %{{.*}} : tensor<16x64xi8> to tensor<16x64x!qopt.int<s4>>
  %a = qopt.storage_cast %raw : tensor<16x64xi8> to tensor<16x64x!qopt.int<s4>>
  // CHECK: qopt.storage_cast %{{.*}} : tensor<?x!qopt.int<u8>> to tensor<?xi32>
  %b = qopt.storage_cast %q : tensor<?x!qopt.int<u8>> to tensor<?xi32>
  return %a, %b : tensor<16x64x!qopt.int<s4>>, tensor<?xi32>
}

// Integer matmul: no zero points, one group; zero points per row and per
// group with groups of 32.
// CHECK-LABEL: func.func @integer_matmul
func.func @integer_matmul(%a: tensor<?x64x!qopt.int<s8>>, %w: tensor<16x64x!qopt.int<u3>>, %za: tensor<?xi32>, %zw: tensor<16x2xi32>) -> (tensor<?x16x1xi32>, tensor<?x16x2xi32>) {
  // CHECK: qopt.integer_matmul %{{.*}}, %{{.*}} {group_size = 0 : i64} : (tensor<?x64x!qopt.int<s8>>, tensor<16x64x!qopt.int<u3>>) -> tensor<?x16x1xi32>
  %0 = qopt.integer_matmul %a, %w {group_size = 0 : i64} : (tensor<?x64x!qopt.int<s8>>, tensor<16x64x!qopt.int<u3>>) -> tensor<?x16x1xi32>
  // CHECK: qopt.integer_matmul %{{.*}} zero_point(%{{.*}}), %{{.*}} zero_point(%{{.*}}) {group_size = 32 : i64} : (tensor<?x64x!qopt.int<s8>>, tensor<?xi32>, tensor<16x64x!qopt.int<u3>>, tensor<16x2xi32>) -> tensor<?x16x2xi32>
  %1 = qopt.integer_matmul %a zero_point(%za), %w zero_point(%zw) {group_size = 32 : i64} : (tensor<?x64x!qopt.int<s8>>, tensor<?xi32>, tensor<16x64x!qopt.int<u3>>, tensor<16x2xi32>) -> tensor<?x16x2xi32>
  return %0, %1 : tensor<?x16x1xi32>, tensor<?x16x2xi32>
}

// Bit planes: pack (K = 300 padded to 512 bits = 16 words), popcount per
// group of 8 words, combine.
// CHECK-LABEL: func.func @bitplanes
func.func @bitplanes(%a: tensor<?x300x!qopt.int<s3>>, %w: tensor<5x300x!qopt.int<u2>>) -> tensor<?x5x2xi32> {
  // CHECK: qopt.bitplane_pack %{{.*}} : tensor<?x300x!qopt.int<s3>> -> tensor<3x?x16xi32>
  %ap = qopt.bitplane_pack %a : tensor<?x300x!qopt.int<s3>> -> tensor<3x?x16xi32>
  // CHECK: qopt.bitplane_pack %{{.*}} {k_pad = 512 : i64} : tensor<5x300x!qopt.int<u2>> -> tensor<2x5x16xi32>
  %wp = qopt.bitplane_pack %w {k_pad = 512 : i64} : tensor<5x300x!qopt.int<u2>> -> tensor<2x5x16xi32>
  // CHECK: qopt.bitplane_popcount %{{.*}}, %{{.*}} {group_words = 8 : i64} : tensor<3x?x16xi32>, tensor<2x5x16xi32> -> tensor<2x3x?x5x2xi32>
  %p = qopt.bitplane_popcount %ap, %wp {group_words = 8 : i64} : tensor<3x?x16xi32>, tensor<2x5x16xi32> -> tensor<2x3x?x5x2xi32>
  // CHECK: qopt.bitplane_combine %{{.*}} {act_signed = true, weight_signed = false} : tensor<2x3x?x5x2xi32> -> tensor<?x5x2xi32>
  %c = qopt.bitplane_combine %p {act_signed = true, weight_signed = false} : tensor<2x3x?x5x2xi32> -> tensor<?x5x2xi32>
  return %c : tensor<?x5x2xi32>
}

// Unpacking stored weight planes (K = 40 in 2 words; dynamic rows).
// CHECK-LABEL: func.func @bitplane_unpack
// CHECK: qopt.bitplane_unpack %{{.*}} : tensor<3x5x2xi32> -> tensor<5x40x!qopt.int<s3>>
// CHECK: qopt.bitplane_unpack %{{.*}} : tensor<2x?x1xi32> -> tensor<?x7x!qopt.int<u2>>
func.func @bitplane_unpack(%p: tensor<3x5x2xi32>, %q: tensor<2x?x1xi32>) -> (tensor<5x40x!qopt.int<s3>>, tensor<?x7x!qopt.int<u2>>) {
  %w = qopt.bitplane_unpack %p : tensor<3x5x2xi32> -> tensor<5x40x!qopt.int<s3>>
  %v = qopt.bitplane_unpack %q : tensor<2x?x1xi32> -> tensor<?x7x!qopt.int<u2>>
  return %w, %v : tensor<5x40x!qopt.int<s3>>, tensor<?x7x!qopt.int<u2>>
}

// Unpacking weights stored as bit fields (10 3-bit fields per word; dynamic
// rows; 4-bit fields as byte quads).
// CHECK-LABEL: func.func @field_unpack
// CHECK: qopt.field_unpack %{{.*}} {fields_per_word = 10 : i64} : tensor<5x4xi32> -> tensor<5x40x!qopt.int<s3>>
// CHECK: qopt.field_unpack %{{.*}} {fields_per_word = 16 : i64} : tensor<?x1xi32> -> tensor<?x7x!qopt.int<u2>>
// CHECK: qopt.field_unpack %{{.*}} {byte_quads, fields_per_word = 8 : i64} : tensor<5x5xi32> -> tensor<5x40x!qopt.int<s4>>
func.func @field_unpack(%p: tensor<5x4xi32>, %q: tensor<?x1xi32>, %r: tensor<5x5xi32>) -> (tensor<5x40x!qopt.int<s3>>, tensor<?x7x!qopt.int<u2>>, tensor<5x40x!qopt.int<s4>>) {
  %w = qopt.field_unpack %p {fields_per_word = 10} : tensor<5x4xi32> -> tensor<5x40x!qopt.int<s3>>
  %v = qopt.field_unpack %q {fields_per_word = 16} : tensor<?x1xi32> -> tensor<?x7x!qopt.int<u2>>
  %u = qopt.field_unpack %r {fields_per_word = 8, byte_quads} : tensor<5x5xi32> -> tensor<5x40x!qopt.int<s4>>
  return %w, %v, %u : tensor<5x40x!qopt.int<s3>>, tensor<?x7x!qopt.int<u2>>, tensor<5x40x!qopt.int<s4>>
}

// Weights stored as byte-quad slices: 6 bits as 4 + 2 (K = 40: five words
// of eight nibbles, three of sixteen 2-bit fields); 3 unsigned bits as
// 2 + 1 with dynamic rows.
// CHECK-LABEL: func.func @field_slices_unpack
// CHECK: qopt.field_slices_unpack %{{.*}}, %{{.*}} {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<5x3xi32> -> tensor<5x40x!qopt.int<s6>>
// CHECK: qopt.field_slices_unpack %{{.*}}, %{{.*}} {slice_bits = array<i64: 2, 1>} : tensor<?x1xi32>, tensor<?x1xi32> -> tensor<?x7x!qopt.int<u3>>
func.func @field_slices_unpack(%lo: tensor<5x5xi32>, %hi: tensor<5x3xi32>, %a: tensor<?x1xi32>, %b: tensor<?x1xi32>) -> (tensor<5x40x!qopt.int<s6>>, tensor<?x7x!qopt.int<u3>>) {
  %w = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<5x3xi32> -> tensor<5x40x!qopt.int<s6>>
  %v = qopt.field_slices_unpack %a, %b {slice_bits = array<i64: 2, 1>} : tensor<?x1xi32>, tensor<?x1xi32> -> tensor<?x7x!qopt.int<u3>>
  return %w, %v : tensor<5x40x!qopt.int<s6>>, tensor<?x7x!qopt.int<u3>>
}

// CHECK-LABEL: func.func @x86_pmaddwd
// CHECK: qopt.x86.pmaddwd %{{.*}}, %{{.*}} : vector<32xi16>, vector<32xi16> -> vector<16xi32>
func.func @x86_pmaddwd(%a: vector<32xi16>, %b: vector<32xi16>) -> vector<16xi32> {
  %d = qopt.x86.pmaddwd %a, %b : vector<32xi16>, vector<32xi16> -> vector<16xi32>
  return %d : vector<16xi32>
}

// CHECK-LABEL: func.func @x86_avx2_pairs
// CHECK: qopt.x86.pmaddubsw %{{.*}}, %{{.*}} : vector<32xi8>, vector<32xi8> -> vector<16xi16>
// CHECK: qopt.x86.pmaddwd %{{.*}}, %{{.*}} : vector<16xi16>, vector<16xi16> -> vector<8xi32>
// CHECK: qopt.x86.pmaddubsw %{{.*}}, %{{.*}} : vector<64xi8>, vector<64xi8> -> vector<32xi16>
func.func @x86_avx2_pairs(%u: vector<32xi8>, %s: vector<32xi8>, %ones: vector<16xi16>, %u5: vector<64xi8>, %s5: vector<64xi8>) -> (vector<8xi32>, vector<32xi16>) {
  %p = qopt.x86.pmaddubsw %u, %s : vector<32xi8>, vector<32xi8> -> vector<16xi16>
  %d = qopt.x86.pmaddwd %p, %ones : vector<16xi16>, vector<16xi16> -> vector<8xi32>
  %w = qopt.x86.pmaddubsw %u5, %s5 : vector<64xi8>, vector<64xi8> -> vector<32xi16>
  return %d, %w : vector<8xi32>, vector<32xi16>
}

// CHECK-LABEL: func.func @x86_vpdpbusd
// CHECK: qopt.x86.vpdpbusd %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi32>, vector<64xi8>, vector<64xi8> -> vector<16xi32>
func.func @x86_vpdpbusd(%c: vector<16xi32>, %u: vector<64xi8>, %s: vector<64xi8>) -> vector<16xi32> {
  %d = qopt.x86.vpdpbusd %c, %u, %s : vector<16xi32>, vector<64xi8>, vector<64xi8> -> vector<16xi32>
  return %d : vector<16xi32>
}
