// RUN: qopt-opt %s --qopt-bitplane-to-gpu --split-input-file --verify-diagnostics

// Groups of 128 are not whole m16n8k256 steps.
func.func @group_128(%a: tensor<4x256x!qopt.int<s8>>, %sa: tensor<f32>, %w: tensor<8x256x!qopt.int<s4>>, %sw: tensor<8x2xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{per-group weights need groups of a multiple of 256 on the GPU (whole m16n8k256 steps), got 128}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>}
      : (tensor<4x256x!qopt.int<s8>>, tensor<f32>, tensor<8x256x!qopt.int<s4>>, tensor<8x2xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Weight-only matmuls go to hmma, which repacks the weights at compile time:
// run-time weights cannot be taken.
func.func @weight_only(%a: tensor<?x32xf16>, %w: tensor<8x32x!qopt.int<s4>>, %sw: tensor<f32>) -> tensor<?x8xf16> {
  // expected-error @+1 {{the f16 tensor-core kernel (hmma) needs constant weights}}
  %y = qopt.qmatmul %a, %w scale(%sw) {weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<?x32xf16>, tensor<8x32x!qopt.int<s4>>, tensor<f32>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}

// -----

// Dynamic K.
func.func @dynamic_k(%a: tensor<4x?x!qopt.int<s8>>, %sa: tensor<f32>, %w: tensor<8x?x!qopt.int<s4>>, %sw: tensor<f32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{the GPU kernels need static K and N}}
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<4x?x!qopt.int<s8>>, tensor<f32>, tensor<8x?x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
