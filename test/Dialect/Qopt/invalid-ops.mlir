// RUN: qopt-opt %s -split-input-file -verify-diagnostics

func.func @quantize_shape_mismatch(%x: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result shape [4, 4] does not match input shape [4, 8]}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x4x!qopt.int<s4>>
  return
}

// -----

func.func @dequantize_shape_mismatch(%q: tensor<4x8x!qopt.int<s4>>, %s: tensor<f32>) {
  // expected-error @+1 {{result shape [8, 4] does not match input shape [4, 8]}}
  %d = qopt.dequantize %q, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8x!qopt.int<s4>>, tensor<f32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @quantize_integer_input(%x: tensor<4xi32>, %s: tensor<f32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4xi32>, tensor<f32>) -> tensor<4x!qopt.int<s4>>
  return
}

// -----

func.func @quantize_to_builtin_int(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of qopt.int values}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi4>
  return
}

// -----

func.func @zero_point_not_i32(%x: tensor<4xf32>, %s: tensor<f32>, %zp: tensor<i8>) {
  // expected-error @+1 {{operand #2 must be ranked tensor of 32-bit signless integer values}}
  %q = qopt.quantize %x, %s, %zp {scheme = #qopt.scheme<per_tensor, asymmetric>} : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4x!qopt.int<u4>>
  return
}

// -----

func.func @axis_out_of_range(%x: tensor<4x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{input scheme axis 2 is out of range for a rank-2 tensor}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_channel(axis = 2), symmetric>} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8x!qopt.int<s4>>
  return
}

// -----

func.func @group_does_not_divide(%x: tensor<4x100xf32>, %s: tensor<4x3xf32>) {
  // expected-error @+1 {{input group size 32 does not divide dimension 1 of size 100}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_group(axis = 1, group_size = 32), symmetric>} : (tensor<4x100xf32>, tensor<4x3xf32>) -> tensor<4x100x!qopt.int<s4>>
  return
}

// -----

func.func @per_tensor_scale_not_scalar(%x: tensor<4x8xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{input scale shape [4] does not match the single element that the per_tensor scheme requires for 'tensor<4x8xf32>'}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8x!qopt.int<s4>>
  return
}

// -----

func.func @per_channel_scale_wrong_size(%x: tensor<4x8xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{input scale shape [4] does not match the [8] that the per_channel scheme requires for 'tensor<4x8xf32>'}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_channel(axis = 1), symmetric>} : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8x!qopt.int<s4>>
  return
}

// -----

func.func @per_group_scale_wrong_shape(%x: tensor<4x8xf32>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{input scale shape [4, 4] does not match the [4, 2] that the per_group scheme requires for 'tensor<4x8xf32>'}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_group(axis = 1, group_size = 4), symmetric>} : (tensor<4x8xf32>, tensor<4x4xf32>) -> tensor<4x8x!qopt.int<s4>>
  return
}

// -----

func.func @zero_point_for_symmetric(%x: tensor<4xf32>, %s: tensor<f32>, %zp: tensor<i32>) {
  // expected-error @+1 {{input zero point given for a symmetric scheme}}
  %q = qopt.quantize %x, %s, %zp {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4xf32>, tensor<f32>, tensor<i32>) -> tensor<4x!qopt.int<u4>>
  return
}

// -----

func.func @asymmetric_without_zero_point(%q: tensor<4x!qopt.int<u4>>, %s: tensor<f32>) {
  // expected-error @+1 {{input asymmetric scheme requires a zero point}}
  %d = qopt.dequantize %q, %s {scheme = #qopt.scheme<per_tensor, asymmetric>} : (tensor<4x!qopt.int<u4>>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @zero_point_shape_mismatch(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %zp: tensor<4xi32>) {
  // expected-error @+1 {{input zero point shape [4] does not match scale shape [8]}}
  %q = qopt.quantize %x, %s, %zp {scheme = #qopt.scheme<per_channel(axis = 1), asymmetric>} : (tensor<4x8xf32>, tensor<8xf32>, tensor<4xi32>) -> tensor<4x8x!qopt.int<u4>>
  return
}

// -----

func.func @zero_point_out_of_range(%x: tensor<4xf32>) {
  %s = arith.constant dense<0.5> : tensor<f32>
  %zp = arith.constant dense<16> : tensor<i32>
  // expected-error @+1 {{input zero point 16 is outside the range [0, 15] of '!qopt.int<u4>'}}
  %q = qopt.quantize %x, %s, %zp {scheme = #qopt.scheme<per_tensor, asymmetric>} : (tensor<4xf32>, tensor<f32>, tensor<i32>) -> tensor<4x!qopt.int<u4>>
  return
}

// -----

func.func @signed_zero_point_out_of_range(%q: tensor<4x!qopt.int<s2>>) {
  %s = arith.constant dense<[0.5, 0.5]> : tensor<2xf32>
  %zp = arith.constant dense<[1, -3]> : tensor<2xi32>
  // expected-error @+1 {{input zero point -3 is outside the range [-2, 1] of '!qopt.int<s2>'}}
  %d = qopt.dequantize %q, %s, %zp {scheme = #qopt.scheme<per_group(axis = 0, group_size = 2), asymmetric>} : (tensor<4x!qopt.int<s2>>, tensor<2xf32>, tensor<2xi32>) -> tensor<4xf32>
  return
}

// -----

func.func @negative_scale(%x: tensor<4xf32>) {
  %s = arith.constant dense<-0.5> : tensor<f32>
  // expected-error @+1 {{input scale must be positive and finite, found -0.5}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s4>>
  return
}

// -----

func.func @zero_scale(%x: tensor<4xf32>) {
  %s = arith.constant dense<[1.0, 0.0, 1.0, 1.0]> : tensor<4xf32>
  // expected-error @+1 {{input scale must be positive and finite, found 0}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4x!qopt.int<s4>>
  return
}

// -----

func.func @infinite_scale(%x: tensor<4xf32>) {
  %s = arith.constant dense<0x7F800000> : tensor<f32>
  // expected-error @+1 {{input scale must be positive and finite, found +Inf}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s4>>
  return
}

// -----

func.func @qmatmul_act_rank(%a: tensor<2x4x8x!qopt.int<s8>>, %sa: tensor<f32>, %w: tensor<4x8x!qopt.int<s4>>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{activation must be a 2-D tensor [M, K], got 'tensor<2x4x8x!qopt.int<s8>>'}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<2x4x8x!qopt.int<s8>>, tensor<f32>, tensor<4x8x!qopt.int<s4>>, tensor<4xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @qmatmul_weight_rank(%a: tensor<4x8xf16>, %w: tensor<8x!qopt.int<s4>>, %sw: tensor<f32>) {
  // expected-error @+1 {{weight must be a 2-D tensor [N, K], got 'tensor<8x!qopt.int<s4>>'}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<4x8xf16>, tensor<8x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_k_mismatch(%a: tensor<4x64xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<f32>) {
  // expected-error @+1 {{reduction dimensions differ: activation has K = 64, weight has K = 32}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<4x64xf16>, tensor<8x32x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_weight_channel_axis(%a: tensor<4x32xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<32xf32>) {
  // expected-error @+1 {{weight scheme must be per_tensor, per_channel(axis = 0) over output channels, or per_group(axis = 1) along the reduction dimension}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 1), symmetric>}
      : (tensor<4x32xf16>, tensor<8x32x!qopt.int<s4>>, tensor<32xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_group_does_not_divide_k(%a: tensor<4x96xf16>, %w: tensor<8x96x!qopt.int<s4>>, %sw: tensor<8x1xf32>) {
  // expected-error @+1 {{weight group size 64 does not divide dimension 1 of size 96}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 64), symmetric>}
      : (tensor<4x96xf16>, tensor<8x96x!qopt.int<s4>>, tensor<8x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_weight_scale_shape(%a: tensor<4x32xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{weight scale shape [4] does not match the [8] that the per_channel scheme requires for 'tensor<8x32x!qopt.int<s4>>'}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32xf16>, tensor<8x32x!qopt.int<s4>>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_weight_zero_point_symmetric(%a: tensor<4x32xf16>, %w: tensor<8x32x!qopt.int<u4>>, %sw: tensor<8xf32>, %zw: tensor<8xi32>) {
  // expected-error @+1 {{weight zero point given for a symmetric scheme}}
  %y = qopt.qmatmul %a, %w scale(%sw) zero_point(%zw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32xf16>, tensor<8x32x!qopt.int<u4>>, tensor<8xf32>, tensor<8xi32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_weight_only_with_act_scale(%a: tensor<4x32xf16>, %sa: tensor<f32>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{floating-point activations (weight-only quantization) take no activation scale, zero point or scheme}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32xf16>, tensor<f32>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_weight_only_with_act_scheme(%a: tensor<4x32xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{floating-point activations (weight-only quantization) take no activation scale, zero point or scheme}}
  %y = qopt.qmatmul %a, %w scale(%sw) {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32xf16>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_quantized_act_without_scale(%a: tensor<4x32x!qopt.int<s8>>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{quantized activations require an activation scale and act_scheme}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32x!qopt.int<s8>>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_quantized_act_without_scheme(%a: tensor<4x32x!qopt.int<s8>>, %sa: tensor<f32>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{quantized activations require an activation scale and act_scheme}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32x!qopt.int<s8>>, tensor<f32>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_act_per_group(%a: tensor<4x32x!qopt.int<s8>>, %sa: tensor<4x2xf32>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{activation scheme must be per_tensor or per-token (per_channel(axis = 0)); integer accumulation cannot rescale inside the reduction}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {act_scheme = #qopt.scheme<per_group(axis = 1, group_size = 16), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32x!qopt.int<s8>>, tensor<4x2xf32>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_act_zero_point_missing(%a: tensor<4x32x!qopt.int<u8>>, %sa: tensor<4xf32>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{activation asymmetric scheme requires a zero point}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {act_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32x!qopt.int<u8>>, tensor<4xf32>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_act_scale_shape(%a: tensor<4x32x!qopt.int<s8>>, %sa: tensor<32xf32>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{activation scale shape [32] does not match the [4] that the per_channel scheme requires for 'tensor<4x32x!qopt.int<s8>>'}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32x!qopt.int<s8>>, tensor<32xf32>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_bias_shape(%a: tensor<4x32xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{bias must have shape [N] = [8], got [4]}}
  %y = qopt.qmatmul %a, %w scale(%sw) bias(%b) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32xf16>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @qmatmul_result_shape(%a: tensor<4x32xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{result shape [8, 4] must be [M, N] = [4, 8]}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32xf16>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<8x4xf32>
  return
}

// -----

func.func @qmatmul_result_f64(%a: tensor<4x32xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<4x32xf16>, tensor<8x32x!qopt.int<s4>>, tensor<8xf32>) -> tensor<4x8xf64>
  return
}

// -----

func.func @narrow_one_bit(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{input narrow range leaves 1-bit storage a single value}}
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric, narrow_range>} : (tensor<4xf32>, tensor<f32>) -> tensor<4x!qopt.int<s1>>
  return
}

// -----

func.func @storage_cast_both_builtin(%x: tensor<4xi8>) {
  // expected-error @+1 {{casts between a qopt.int tensor and a builtin integer tensor; got 'tensor<4xi8>' to 'tensor<4xi32>'}}
  %q = qopt.storage_cast %x : tensor<4xi8> to tensor<4xi32>
  return
}

// -----

func.func @storage_cast_both_qopt(%x: tensor<4x!qopt.int<s4>>) {
  // expected-error @+1 {{casts between a qopt.int tensor and a builtin integer tensor; got 'tensor<4x!qopt.int<s4>>' to 'tensor<4x!qopt.int<u4>>'}}
  %q = qopt.storage_cast %x : tensor<4x!qopt.int<s4>> to tensor<4x!qopt.int<u4>>
  return
}

// -----

func.func @storage_cast_shape(%x: tensor<4xi8>) {
  // expected-error @+1 {{result shape [8] does not match input shape [4]}}
  %q = qopt.storage_cast %x : tensor<4xi8> to tensor<8x!qopt.int<s4>>
  return
}

// -----

func.func @storage_cast_too_narrow(%x: tensor<4xi4>) {
  // expected-error @+1 {{'i4' is narrower than '!qopt.int<u6>'}}
  %q = qopt.storage_cast %x : tensor<4xi4> to tensor<4x!qopt.int<u6>>
  return
}

// -----

func.func @storage_cast_float(%x: tensor<4xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of qopt.int or signless integer values}}
  %q = qopt.storage_cast %x : tensor<4xf32> to tensor<4x!qopt.int<u6>>
  return
}

// -----

func.func @integer_matmul_rank(%a: tensor<2x4x8x!qopt.int<s8>>, %w: tensor<16x8x!qopt.int<s4>>) {
  // expected-error @+1 {{operands must be 2-D: activation [M, K], weight [N, K]}}
  %0 = qopt.integer_matmul %a, %w {group_size = 0 : i64} : (tensor<2x4x8x!qopt.int<s8>>, tensor<16x8x!qopt.int<s4>>) -> tensor<2x16x1xi32>
  return
}

// -----

func.func @integer_matmul_k(%a: tensor<4x8x!qopt.int<s8>>, %w: tensor<16x9x!qopt.int<s4>>) {
  // expected-error @+1 {{reduction dimensions differ: activation has K = 8, weight has K = 9}}
  %0 = qopt.integer_matmul %a, %w {group_size = 0 : i64} : (tensor<4x8x!qopt.int<s8>>, tensor<16x9x!qopt.int<s4>>) -> tensor<4x16x1xi32>
  return
}

// -----

func.func @integer_matmul_negative_group(%a: tensor<4x64x!qopt.int<s8>>, %w: tensor<16x64x!qopt.int<s4>>) {
  // expected-error @+1 {{group_size must be non-negative, got -32}}
  %0 = qopt.integer_matmul %a, %w {group_size = -32 : i64} : (tensor<4x64x!qopt.int<s8>>, tensor<16x64x!qopt.int<s4>>) -> tensor<4x16x2xi32>
  return
}

// -----

func.func @integer_matmul_group(%a: tensor<4x64x!qopt.int<s8>>, %w: tensor<16x64x!qopt.int<s4>>) {
  // expected-error @+1 {{group size 48 does not divide K = 64}}
  %0 = qopt.integer_matmul %a, %w {group_size = 48 : i64} : (tensor<4x64x!qopt.int<s8>>, tensor<16x64x!qopt.int<s4>>) -> tensor<4x16x1xi32>
  return
}

// -----

func.func @integer_matmul_result(%a: tensor<4x64x!qopt.int<s8>>, %w: tensor<16x64x!qopt.int<s4>>) {
  // expected-error @+1 {{result shape [4, 16, 1] must be [M, N, groups] = [4, 16, 2]}}
  %0 = qopt.integer_matmul %a, %w {group_size = 32 : i64} : (tensor<4x64x!qopt.int<s8>>, tensor<16x64x!qopt.int<s4>>) -> tensor<4x16x1xi32>
  return
}

// -----

func.func @integer_matmul_act_zp(%a: tensor<4x64x!qopt.int<u8>>, %za: tensor<5xi32>, %w: tensor<16x64x!qopt.int<s4>>) {
  // expected-error @+1 {{activation zero point must be a scalar or [M], got [5]}}
  %0 = qopt.integer_matmul %a zero_point(%za), %w {group_size = 0 : i64} : (tensor<4x64x!qopt.int<u8>>, tensor<5xi32>, tensor<16x64x!qopt.int<s4>>) -> tensor<4x16x1xi32>
  return
}

// -----

func.func @integer_matmul_weight_zp(%a: tensor<4x64x!qopt.int<u8>>, %w: tensor<16x64x!qopt.int<u4>>, %zw: tensor<16x3xi32>) {
  // expected-error @+1 {{weight zero point must be a scalar, [N] or [N, groups], got [16, 3]}}
  %0 = qopt.integer_matmul %a, %w zero_point(%zw) {group_size = 32 : i64} : (tensor<4x64x!qopt.int<u8>>, tensor<16x64x!qopt.int<u4>>, tensor<16x3xi32>) -> tensor<4x16x2xi32>
  return
}

// -----

func.func @bitplane_pack_kpad(%x: tensor<4x64x!qopt.int<u4>>) {
  // expected-error @+1 {{k_pad must be a positive multiple of 32, got 48}}
  %0 = qopt.bitplane_pack %x {k_pad = 48 : i64} : tensor<4x64x!qopt.int<u4>> -> tensor<4x4x2xi32>
  return
}

// -----

func.func @bitplane_pack_rank(%x: tensor<64x!qopt.int<u4>>) {
  // expected-error @+1 {{packs a 2-D [R, K] tensor into [bits, R, words]}}
  %0 = qopt.bitplane_pack %x : tensor<64x!qopt.int<u4>> -> tensor<4x1x8xi32>
  return
}

// -----

func.func @bitplane_pack_shape(%x: tensor<4x300x!qopt.int<u4>>) {
  // expected-error @+1 {{result shape [4, 4, 10] must be [bits, R, words] = [4, 4, 16]}}
  %0 = qopt.bitplane_pack %x : tensor<4x300x!qopt.int<u4>> -> tensor<4x4x10xi32>
  return
}

// -----

func.func @bitplane_popcount_rank(%a: tensor<8x4xi32>, %w: tensor<2x5x8xi32>) {
  // expected-error @+1 {{takes [Q, M, words] and [P, N, words] planes and returns [P, Q, M, N, groups]}}
  %0 = qopt.bitplane_popcount %a, %w {group_words = 8 : i64} : tensor<8x4xi32>, tensor<2x5x8xi32> -> tensor<2x8x4x5x1xi32>
  return
}

// -----

func.func @bitplane_popcount_words(%a: tensor<8x4x8xi32>, %w: tensor<2x5x16xi32>) {
  // expected-error @+1 {{activation and weight planes have different word counts: 8 and 16}}
  %0 = qopt.bitplane_popcount %a, %w {group_words = 8 : i64} : tensor<8x4x8xi32>, tensor<2x5x16xi32> -> tensor<2x8x4x5x1xi32>
  return
}

// -----

func.func @bitplane_popcount_group_words(%a: tensor<8x4x8xi32>, %w: tensor<2x5x8xi32>) {
  // expected-error @+1 {{group_words must be positive, got 0}}
  %0 = qopt.bitplane_popcount %a, %w {group_words = 0 : i64} : tensor<8x4x8xi32>, tensor<2x5x8xi32> -> tensor<2x8x4x5x1xi32>
  return
}

// -----

func.func @bitplane_popcount_group_divides(%a: tensor<8x4x8xi32>, %w: tensor<2x5x8xi32>) {
  // expected-error @+1 {{group_words 3 does not divide the 8 words of a row}}
  %0 = qopt.bitplane_popcount %a, %w {group_words = 3 : i64} : tensor<8x4x8xi32>, tensor<2x5x8xi32> -> tensor<2x8x4x5x2xi32>
  return
}

// -----

func.func @bitplane_popcount_result(%a: tensor<8x4x8xi32>, %w: tensor<2x5x8xi32>) {
  // expected-error @+1 {{result shape [8, 2, 4, 5, 1] must be [P, Q, M, N, groups] = [2, 8, 4, 5, 1]}}
  %0 = qopt.bitplane_popcount %a, %w {group_words = 8 : i64} : tensor<8x4x8xi32>, tensor<2x5x8xi32> -> tensor<8x2x4x5x1xi32>
  return
}

// -----

func.func @bitplane_combine_rank(%p: tensor<2x8x4x5xi32>) {
  // expected-error @+1 {{combines [P, Q, M, N, groups] into [M, N, groups]}}
  %0 = qopt.bitplane_combine %p {act_signed = true, weight_signed = true} : tensor<2x8x4x5xi32> -> tensor<4x5x1xi32>
  return
}

// -----

func.func @bitplane_combine_planes(%p: tensor<9x8x4x5x1xi32>) {
  // expected-error @+1 {{plane counts must be static and in [1, 8], got [9, 8]}}
  %0 = qopt.bitplane_combine %p {act_signed = true, weight_signed = true} : tensor<9x8x4x5x1xi32> -> tensor<4x5x1xi32>
  return
}

// -----

func.func @bitplane_combine_result(%p: tensor<2x8x4x5x1xi32>) {
  // expected-error @+1 {{result shape [4, 6, 1] must be [4, 5, 1]}}
  %0 = qopt.bitplane_combine %p {act_signed = true, weight_signed = true} : tensor<2x8x4x5x1xi32> -> tensor<4x6x1xi32>
  return
}

// -----

func.func @bitplane_unpack_rank(%p: tensor<3x40xi32>) {
  // expected-error @+1 {{unpacks [bits, R, words] planes into a 2-D [R, K] tensor}}
  %0 = qopt.bitplane_unpack %p : tensor<3x40xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @bitplane_unpack_planes(%p: tensor<4x5x2xi32>) {
  // expected-error @+1 {{has 4 planes for 3-bit values}}
  %0 = qopt.bitplane_unpack %p : tensor<4x5x2xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @bitplane_unpack_rows(%p: tensor<3x6x2xi32>) {
  // expected-error @+1 {{row counts differ: 6 planes rows, 5 result rows}}
  %0 = qopt.bitplane_unpack %p : tensor<3x6x2xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @bitplane_unpack_words(%p: tensor<3x5x1xi32>) {
  // expected-error @+1 {{planes of 1 words cannot hold K = 40 values}}
  %0 = qopt.bitplane_unpack %p : tensor<3x5x1xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @field_unpack_rank(%w: tensor<3x5x4xi32>) {
  // expected-error @+1 {{unpacks [R, words] into a 2-D [R, K] tensor}}
  %0 = qopt.field_unpack %w {fields_per_word = 10} : tensor<3x5x4xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @field_unpack_too_many_fields(%w: tensor<5x4xi32>) {
  // expected-error @+1 {{fields_per_word must be 1 to 10 for 3-bit values, got 11}}
  %0 = qopt.field_unpack %w {fields_per_word = 11} : tensor<5x4xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @field_unpack_no_fields(%w: tensor<5x4xi32>) {
  // expected-error @+1 {{fields_per_word must be 1 to 4 for 8-bit values, got 0}}
  %0 = qopt.field_unpack %w {fields_per_word = 0} : tensor<5x4xi32> -> tensor<5x16x!qopt.int<s8>>
  return
}

// -----

func.func @field_unpack_byte_quads_width(%w: tensor<5x4xi32>) {
  // expected-error @+1 {{byte_quads needs a width dividing 8 and a multiple of 4 fields per word, got 3 bits, 10 fields}}
  %0 = qopt.field_unpack %w {fields_per_word = 10, byte_quads} : tensor<5x4xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @field_unpack_byte_quads_fields(%w: tensor<5x7xi32>) {
  // expected-error @+1 {{byte_quads needs a width dividing 8 and a multiple of 4 fields per word, got 4 bits, 6 fields}}
  %0 = qopt.field_unpack %w {fields_per_word = 6, byte_quads} : tensor<5x7xi32> -> tensor<5x40x!qopt.int<s4>>
  return
}

// -----

func.func @field_slices_unpack_rank(%lo: tensor<5x5xi32>, %hi: tensor<5x3xi32>) {
  // expected-error @+1 {{unpacks into a 2-D [R, K] tensor}}
  %0 = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<5x3xi32> -> tensor<1x5x40x!qopt.int<s6>>
  return
}

// -----

func.func @field_slices_unpack_count(%lo: tensor<5x5xi32>) {
  // expected-error @+1 {{has 1 word tensors for 2 slice widths}}
  %0 = qopt.field_slices_unpack %lo {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32> -> tensor<5x40x!qopt.int<s6>>
  return
}

// -----

func.func @field_slices_unpack_none() {
  // expected-error @+1 {{needs at least one slice}}
  %0 = "qopt.field_slices_unpack"() {slice_bits = array<i64>} : () -> tensor<5x40x!qopt.int<s6>>
  return
}

// -----

func.func @field_slices_unpack_width(%lo: tensor<5x7xi32>, %hi: tensor<5x40xi32>) {
  // expected-error @+1 {{slice widths must divide 8, got 3}}
  %0 = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 3, 3>} : tensor<5x7xi32>, tensor<5x40xi32> -> tensor<5x40x!qopt.int<s6>>
  return
}

// -----

func.func @field_slices_unpack_total(%lo: tensor<5x5xi32>, %hi: tensor<5x3xi32>) {
  // expected-error @+1 {{slice widths add up to 6 bits for 5-bit values}}
  %0 = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<5x3xi32> -> tensor<5x40x!qopt.int<s5>>
  return
}

// -----

func.func @field_slices_unpack_words_rank(%lo: tensor<5x5xi32>, %hi: tensor<1x5x3xi32>) {
  // expected-error @+1 {{slices must be 2-D [R, words] tensors}}
  %0 = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<1x5x3xi32> -> tensor<5x40x!qopt.int<s6>>
  return
}

// -----

func.func @field_slices_unpack_rows(%lo: tensor<5x5xi32>, %hi: tensor<4x3xi32>) {
  // expected-error @+1 {{row counts differ: 4 word rows, 5 result rows}}
  %0 = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<4x3xi32> -> tensor<5x40x!qopt.int<s6>>
  return
}

// -----

func.func @field_slices_unpack_short(%lo: tensor<5x5xi32>, %hi: tensor<5x2xi32>) {
  // expected-error @+1 {{has 2 words of 2-bit fields per row, which cannot hold K = 40 values}}
  %0 = qopt.field_slices_unpack %lo, %hi {slice_bits = array<i64: 4, 2>} : tensor<5x5xi32>, tensor<5x2xi32> -> tensor<5x40x!qopt.int<s6>>
  return
}

// -----

func.func @field_unpack_rows(%w: tensor<6x4xi32>) {
  // expected-error @+1 {{row counts differ: 6 word rows, 5 result rows}}
  %0 = qopt.field_unpack %w {fields_per_word = 10} : tensor<6x4xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @field_unpack_words(%w: tensor<5x3xi32>) {
  // expected-error @+1 {{has 3 words of 10 fields per row, which cannot hold K = 40 values}}
  %0 = qopt.field_unpack %w {fields_per_word = 10} : tensor<5x3xi32> -> tensor<5x40x!qopt.int<s3>>
  return
}

// -----

func.func @x86_pmaddwd_lanes(%a: vector<16xi16>, %b: vector<32xi16>) {
  // expected-error @+1 {{takes two vectors of 2n elements and returns n, got 16, 32 and 16}}
  %0 = qopt.x86.pmaddwd %a, %b : vector<16xi16>, vector<32xi16> -> vector<16xi32>
  return
}

// -----

func.func @x86_pmaddwd_width(%a: vector<8xi16>, %b: vector<8xi16>) {
  // expected-error @+1 {{operand #0 must be vector of 16-bit signless integer values of length 16/32}}
  %0 = qopt.x86.pmaddwd %a, %b : vector<8xi16>, vector<8xi16> -> vector<4xi32>
  return
}

// -----

func.func @x86_pmaddwd_result(%a: vector<32xi16>, %b: vector<32xi16>) {
  // expected-error @+1 {{result #0 must be vector of 32-bit signless integer values of length 8/16}}
  %0 = qopt.x86.pmaddwd %a, %b : vector<32xi16>, vector<32xi16> -> vector<16xi16>
  return
}

// -----

func.func @x86_pmaddubsw_lanes(%u: vector<32xi8>, %s: vector<32xi8>) {
  // expected-error @+1 {{takes two vectors of 2n elements and returns n, got 32, 32 and 32}}
  %0 = qopt.x86.pmaddubsw %u, %s : vector<32xi8>, vector<32xi8> -> vector<32xi16>
  return
}

// -----

func.func @x86_pmaddubsw_bytes(%u: vector<32xi16>, %s: vector<32xi8>) {
  // expected-error @+1 {{operand #0 must be vector of 8-bit signless integer values of length 32/64}}
  %0 = qopt.x86.pmaddubsw %u, %s : vector<32xi16>, vector<32xi8> -> vector<16xi16>
  return
}

// -----

func.func @x86_vpdpbusd_bytes(%c: vector<16xi32>, %u: vector<32xi8>, %s: vector<64xi8>) {
  // expected-error @+1 {{operand #1 must be vector of 8-bit signless integer values of length 64}}
  %0 = qopt.x86.vpdpbusd %c, %u, %s : vector<16xi32>, vector<32xi8>, vector<64xi8> -> vector<16xi32>
  return
}

// -----

func.func @x86_vpdpbusd_acc(%c: vector<16xi16>, %u: vector<64xi8>, %s: vector<64xi8>) {
  // expected-error @+1 {{operand #0 must be vector of 32-bit signless integer values of length 16}}
  %0 = qopt.x86.vpdpbusd %c, %u, %s : vector<16xi16>, vector<64xi8>, vector<64xi8> -> vector<16xi32>
  return
}
