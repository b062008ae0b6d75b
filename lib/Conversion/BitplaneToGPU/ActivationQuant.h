//===- ActivationQuant.h - qopt.quantize of activations inside kernels ----===//
//
// The activation quantization that GPU kernels fuse (qopt.quantize with
// round-half-to-even, per-tensor or per-row scale): the row's range and the
// scale and zero point computed from it as qopt-quantize-activations does,
// and the quantization of one value. Used by the quantize-and-pack kernel
// and by imma's decode kernel that quantizes its own activation rows.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_CONVERSION_BITPLANETOGPU_ACTIVATIONQUANT_H
#define QOPT_LIB_CONVERSION_BITPLANETOGPU_ACTIVATIONQUANT_H

#include "mlir/IR/Builders.h"

namespace qopt {
namespace gpu_kernels {

/// How a fused qopt.quantize gets its scale and zero point.
struct ActQuantSpec {
  /// The scale and zero point are computed in the kernel from the row
  /// (the linalg generics qopt-quantize-activations writes for dynamic
  /// per-token scales); otherwise they are read from the quantize's
  /// operands (per tensor or per row).
  bool computeParams = false;
  bool symmetric = true;
  bool perRow = false; // given params: one per row (else one per tensor)
  float steps = 0;     // computed params: the range's divisor
  double qmin = 0, qmax = 0;
};

/// An f32 LLVM intrinsic of one operand (llvm.fabs.f32, llvm.roundeven.f32:
/// abs.f32, cvt.rni.f32.f32 in PTX). convert-gpu-to-nvvm would turn
/// math.absf / math.roundeven into libdevice calls (__nv_fabsf,
/// __nv_rintf), unresolved in the PTX unless libdevice is found at compile
/// time.
mlir::Value f32Intrinsic(mlir::OpBuilder &b, mlir::Location loc,
                         llvm::StringRef name, mlir::Value v);

/// The scale and zero point (as f32) of one row, computed by the whole
/// block from its range as qopt-quantize-activations does: scale = range /
/// steps (1 for a zero range), zp = clamp(roundeven(qmin - lo / scale)).
/// `loadX(col)` reads element col of the row as f32; `tid`, `warp` and
/// `lane0` (lane == 0) are the thread's; `red` is a workgroup
/// memref<2 x warps x f32>. Every thread gets the values; the
/// caller needs a barrier before `red` is written again.
struct RowQuantParams {
  mlir::Value scale, zp;
};
RowQuantParams computeRowQuantParams(
    mlir::OpBuilder &b, mlir::Location loc, const ActQuantSpec &f,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::Value)>
        loadX,
    mlir::Value tid, mlir::Value warp, mlir::Value lane0, int64_t threads,
    int64_t kReal, mlir::Value red);

/// qopt.quantize of one f32 value: clamp(roundeven(x / scale) + zp, qmin,
/// qmax), NaN -> zp (f32 IEEE division), as i32.
mlir::Value quantizeValue(mlir::OpBuilder &b, mlir::Location loc,
                          const ActQuantSpec &f, mlir::Value x,
                          mlir::Value scale, mlir::Value zp);

} // namespace gpu_kernels
} // namespace qopt

#endif // QOPT_LIB_CONVERSION_BITPLANETOGPU_ACTIVATIONQUANT_H
