// RUN: qopt-opt %s --qopt-bitplane-to-gpu="cpu-fallback=true" --verify-diagnostics | FileCheck %s

// With cpu-fallback (what qcc uses for a model.so's GPU variant), matmuls
// the kernels cannot take stay qopt.qmatmul (lowered for the CPU later)
// with a remark; the others become kernels as usual.
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK-LABEL: func.func @mixed(
// CHECK: %[[G:.*]] = qopt.qmatmul {{.*}}group_size = 128
// CHECK: %[[K:.*]] = call @qmatmul0_host(
// CHECK: %[[W:.*]] = qopt.qmatmul {{.*}} : (tensor<?x256xf16>,
// CHECK: return %[[G]], %[[K]], %[[W]]
// CHECK: gpu.module @qopt_kernels
// CHECK-NOT: qmatmul1
func.func @mixed(%a: tensor<4x256x!qopt.int<s8>>, %sa: tensor<f32>,
                 %w: tensor<8x256x!qopt.int<s4>>, %sg: tensor<8x2xf32>,
                 %sw: tensor<f32>, %h: tensor<?x256xf16>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<?x8xf16>) {
  // expected-remark @+1 {{stays on the CPU: per-group weights need groups of a multiple of 256 on the GPU (whole m16n8k256 steps), got 128}}
  %g = qopt.qmatmul %a scale(%sa), %w scale(%sg)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>}
      : (tensor<4x256x!qopt.int<s8>>, tensor<f32>, tensor<8x256x!qopt.int<s4>>, tensor<8x2xf32>) -> tensor<4x8xf32>
  %k = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<4x256x!qopt.int<s8>>, tensor<f32>, tensor<8x256x!qopt.int<s4>>, tensor<f32>) -> tensor<4x8xf32>
  // expected-remark @+1 {{stays on the CPU: the f16 tensor-core kernel (hmma) needs constant weights}}
  %o = qopt.qmatmul %h, %w scale(%sw) {weight_scheme = #qopt.scheme<per_tensor, symmetric>}
      : (tensor<?x256xf16>, tensor<8x256x!qopt.int<s4>>, tensor<f32>) -> tensor<?x8xf16>
  return %g, %k, %o : tensor<4x8xf32>, tensor<4x8xf32>, tensor<?x8xf16>
}
