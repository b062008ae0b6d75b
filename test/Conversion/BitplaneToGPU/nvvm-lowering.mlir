// The kernels lowered to NVVM for sm_90 (qcc's gpu-kernels stage): cp.async
// from nvgpu, b1 MMA with and_popc only (.xor.popc does not exist on sm_90).
// RUN: qcc %s --gpu-arch sm_90 --emit=mlir --stop-after-stage=gpu-kernels | FileCheck %s
// RUN: qcc %s --gpu-arch sm_80 --emit=mlir --stop-after-stage=gpu-kernels | FileCheck %s --check-prefix=SM80

// CHECK: gpu.module @qopt_kernels [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx78">]
// CHECK: llvm.func @qmatmul0_pack_act(
// CHECK-SAME: nvvm.kernel
// CHECK: llvm.func @qmatmul0_bmma(
// CHECK-SAME: nvvm.maxntid = array<i32: 128, 1, 1>
// CHECK: llvm.mlir.addressof @__wg_qmatmul0_bmma_0 : !llvm.ptr<3>
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: nvvm.barrier
// CHECK: nvvm.mma.sync {{.*}}b1Op = #nvvm.mma_b1op<and_popc>{{.*}}multiplicandAPtxType = #nvvm.mma_type<b1>, multiplicandBPtxType = #nvvm.mma_type<b1>, shape = #nvvm.shape<m = 16, n = 8, k = 256>
// CHECK-NOT: xor_popc
// SM80: gpu.module @qopt_kernels [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx71">]
// SM80: nvvm.mma.sync {{.*}}b1Op = #nvvm.mma_b1op<and_popc>

func.func @w2a8_per_channel(%a: tensor<?x512x!qopt.int<s8>>, %sa: tensor<?xf32>, %w: tensor<64x512x!qopt.int<s2>>, %sw: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf16> {
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) bias(%b)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<?xf32>, tensor<64x512x!qopt.int<s2>>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
