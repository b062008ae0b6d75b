//===- Passes.h - the quantization passes -----------------------*- C++ -*-===//

#ifndef QOPT_TRANSFORMS_QUANT_PASSES_H
#define QOPT_TRANSFORMS_QUANT_PASSES_H

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace qopt {

#define GEN_PASS_DECL
#include "qopt/Transforms/Quant/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "qopt/Transforms/Quant/Passes.h.inc"

} // namespace qopt

#endif // QOPT_TRANSFORMS_QUANT_PASSES_H
