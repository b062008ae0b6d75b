//===- QoptBase.td - qopt dialect definition ---------------*- tablegen -*-===//
//
// The qopt dialect: what upstream MLIR lacks for arbitrary-bit quantization.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_DIALECT_QOPT_IR_QOPTBASE_TD
#define QOPT_DIALECT_QOPT_IR_QOPTBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Qopt_Dialect : Dialect {
  let name = "qopt";
  let cppNamespace = "::qopt";
  let summary = "Arbitrary-bit (1 to 8 bits) quantization for neural networks";
  let description = [{
    The `qopt` dialect carries what upstream dialects cannot express for
    low-bit quantized inference:

    * integer storage of any width from 1 to 8 bits, signed or unsigned
      (`!qopt.int<s3>`, `!qopt.int<u6>`), as the element type of tensors that
      hold quantized values;
    * a quantization scheme attribute (`#qopt.scheme<...>`): granularity
      (per-tensor, per-channel, per-group), symmetric or asymmetric, and the
      rounding mode;
    * `qopt.quantize` / `qopt.dequantize` whose scales and zero points are SSA
      tensors, so scales computed at run time (per-token activations) are as
      expressible as constants;
    * `qopt.qmatmul`, a quantized matrix product covering WpAq for any p, q in
      1..8 and weight-only quantization with floating-point activations.

    Upstream `quant` types keep scales inside the type (compile-time only) and
    are illegal in memref and vector; qopt uses them only at the import and
    export boundary. Unlike upstream, nothing in qopt folds
    `dequantize(quantize(x))` to `x`: that would delete the quantization error
    that the whole compiler exists to control.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

class Qopt_Op<string mnemonic, list<Trait> traits = []>
    : Op<Qopt_Dialect, mnemonic, traits>;

#endif // QOPT_DIALECT_QOPT_IR_QOPTBASE_TD
