//===- Passes.td - qopt conversion passes ------------------*- tablegen -*-===//

#ifndef QOPT_CONVERSION_PASSES_TD
#define QOPT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertQoptToLinalg : Pass<"convert-qopt-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower qopt ops to linalg and arith on byte storage (CPU path)";
  let description = [{
    Rewrites every qopt operation into upstream linalg/arith/math on tensors,
    with `!qopt.int<sN>`/`!qopt.int<uN>` values held one per byte (i8,
    sign- or zero-extended). Function signatures are converted the same way.

    * `qopt.quantize`: `clamp(round(x / scale) + zp)` element by element, the
      division in f32, rounding per the scheme, NaN to the zero point.
    * `qopt.dequantize`: `(q - zp) * scale` in f32, then the result type.
    * `qopt.storage_cast`: truncation to the low N bits and sign/zero
      extension.
    * `qopt.qmatmul` with quantized activations: exact int32 partial sums per
      weight group, `sum (a - za)(w - zw)`, then the f32 dequantization
      epilogue `sum_g sa[m] * sw[n, g] * acc[m, n, g] + bias[n]`. With float
      activations (weight-only): weights dequantized to the activation type,
      then a matmul accumulating in f32.

    Every result equals the reference library (`qopt/Reference/QuantMath.h`):
    integer parts bit for bit.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect",
                           "mlir::tensor::TensorDialect"];
}

#endif // QOPT_CONVERSION_PASSES_TD
