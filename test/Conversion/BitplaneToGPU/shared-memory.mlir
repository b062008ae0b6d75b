// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=imma max-stages=6" | FileCheck %s --check-prefix=STATIC
// RUN: qopt-opt %s --qopt-bitplane-to-gpu="kernel=imma max-stages=6 shared-memory-bytes=98304" | FileCheck %s
// RUN: not qopt-opt %s --qopt-bitplane-to-gpu="shared-memory-bytes=32768" 2>&1 | FileCheck %s --check-prefix=SMALL
// RUN: not qopt-opt %s --qopt-bitplane-to-gpu="shared-memory-bytes=300000" 2>&1 | FileCheck %s --check-prefix=LARGE
// RUN: not qopt-opt %s --qopt-bitplane-to-gpu="max-stages=0" 2>&1 | FileCheck %s --check-prefix=STAGES
// SMALL: error: qopt-bitplane-to-gpu: shared-memory-bytes is 32768, not between 49152 and 232448
// LARGE: error: qopt-bitplane-to-gpu: shared-memory-bytes is 300000, not between 49152 and 232448
// STAGES: error: qopt-bitplane-to-gpu: max-stages is 0, not between 1 and 16

// W8A8 at K = 1024: a 64-row imma stage holds 8 KiB of activations and 8
// KiB of weight planes. Within 48 KiB (the default) the tile takes 3 of the
// 6 stages max-stages allows, as workgroup attributions (static shared
// memory); with shared-memory-bytes = 96 KiB it takes all 6 (96 KiB), as
// views into the kernel's dynamic shared memory at 16-byte aligned
// offsets, and the launch passes their size.
// STATIC: gpu.func @qmatmul0_imma({{.*}}) workgroup(%{{.*}} : memref<3x64x32xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<3x2048xi32, #gpu.address_space<workgroup>>)
// STATIC-NOT: qopt.dynamic_shared_bytes
// STATIC-NOT: gpu.dynamic_shared_memory
//
// CHECK-LABEL: func.func private @qmatmul0_host(
// The 16-row tile's 6 stages of 10 KiB: 60 KiB, dynamic too.
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma_m16 {{.*}} dynamic_shared_memory_size %c61440_i32 args(
// CHECK: gpu.launch_func  @qopt_kernels::@qmatmul0_imma {{.*}} dynamic_shared_memory_size %c98304_i32 args(
// The decode tile's one 1024-K stage stays static (14 KiB).
// CHECK: gpu.func @qmatmul0_imma_m16_wk4({{.*}}) workgroup(
// CHECK: gpu.func @qmatmul0_imma({{.*}}) kernel attributes
// CHECK-SAME: qopt.dequant_mma = {act = "s8", block_tile = array<i64: 64, 64>
// CHECK-SAME: stages = 6
// CHECK-SAME: qopt.dynamic_shared_bytes = 98304 : i64
// CHECK: %[[DYN:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[DYN]][%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<6x64x32xi32, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[DYN]][%c49152][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<6x2048xi32, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy
func.func @w8a8(%a: tensor<?x1024x!qopt.int<s8>>, %sa: tensor<f32>, %sw: tensor<64xf32>) -> tensor<?x64xf32> {
  %w8 = arith.constant dense<3> : tensor<64x1024xi8>
  %w = qopt.storage_cast %w8 : tensor<64x1024xi8> to tensor<64x1024x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x1024x!qopt.int<s8>>, tensor<f32>, tensor<64x1024x!qopt.int<s8>>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
