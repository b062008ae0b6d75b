// The fused quantize + pack kernel lowered to NVVM for sm_90 (qcc's
// gpu-kernels stage): warp shuffles for the reductions, IEEE division,
// round half to even and |x| as LLVM intrinsics (no libdevice call), one
// ballot per bit plane.
// RUN: qcc %S/Inputs/fused_dynamic_sym.mlir --gpu-arch sm_90 --emit=mlir --stop-after-stage=gpu-kernels | FileCheck %s --implicit-check-not=__nv_

// CHECK: llvm.func @qmatmul0_quant_pack_act(
// CHECK-SAME: nvvm.kernel
// CHECK-SAME: nvvm.maxntid = array<i32: 256, 1, 1>
// Row absmax: |x|, max, shuffles across the warp, shared memory across warps.
// CHECK: llvm.call_intrinsic "llvm.fabs.f32"
// CHECK: llvm.intr.maximum
// CHECK: nvvm.shfl.sync  bfly
// CHECK: nvvm.barrier
// CHECK: llvm.fdiv
// Quantize: x / scale, round half to even, clamp.
// CHECK: %[[Q:.*]] = llvm.fdiv
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"(%[[Q]]) : (f32) -> f32
// CHECK: llvm.intr.maximum
// CHECK: llvm.intr.minimum
// CHECK: llvm.fptosi
// CHECK-COUNT-8: nvvm.vote.sync  ballot
// Row sums: shuffles, then the warps' partial sums in shared memory.
// CHECK: nvvm.shfl.sync  bfly
// CHECK: nvvm.barrier
// CHECK: llvm.func @qmatmul0_bmma(
