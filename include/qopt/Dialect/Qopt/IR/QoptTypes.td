//===- QoptTypes.td - qopt type definitions ----------------*- tablegen -*-===//

#ifndef QOPT_DIALECT_QOPT_IR_QOPTTYPES_TD
#define QOPT_DIALECT_QOPT_IR_QOPTTYPES_TD

include "qopt/Dialect/Qopt/IR/QoptBase.td"

def Qopt_IntType : TypeDef<Qopt_Dialect, "Int"> {
  let mnemonic = "int";
  let summary = "quantized integer storage of 1 to 8 bits, signed or unsigned";
  let description = [{
    The element type of tensors holding quantized values. `!qopt.int<s4>` is a
    signed (two's-complement) 4-bit integer with range [-8, 7]; `!qopt.int<u3>`
    an unsigned 3-bit integer with range [0, 7]. Widths 1 to 8 are allowed.

    The type says nothing about memory layout: lowerings choose it (one byte
    per value for CPU arithmetic, densely packed bits for weights stored in a
    model, bit planes for binary tensor-core kernels).
  }];
  let parameters = (ins "unsigned":$width, "bool":$isSigned);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Smallest representable value: -2^(width-1) if signed, else 0.
    int64_t getMinValue() const;
    /// Largest representable value: 2^(width-1)-1 if signed, else 2^width-1.
    int64_t getMaxValue() const;
    /// Number of distinct values, 2^width.
    int64_t getNumLevels() const { return int64_t(1) << getWidth(); }
  }];
}

#endif // QOPT_DIALECT_QOPT_IR_QOPTTYPES_TD
