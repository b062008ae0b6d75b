//===- Passes.h - qopt dialect passes ---------------------------*- C++ -*-===//

#ifndef QOPT_DIALECT_QOPT_TRANSFORMS_PASSES_H
#define QOPT_DIALECT_QOPT_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace qopt {

#define GEN_PASS_DECL
#include "qopt/Dialect/Qopt/Transforms/Passes.h.inc"

/// qopt.qmatmul -> qopt.integer_matmul + epilogue (or weight-only
/// dequantize + matmul).
void populateExpandQMatmulPatterns(mlir::RewritePatternSet &patterns);

/// qopt.integer_matmul -> bit-plane pack / popcount / combine + corrections.
void populateBitplaneDecomposePatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "qopt/Dialect/Qopt/Transforms/Passes.h.inc"

} // namespace qopt

#endif // QOPT_DIALECT_QOPT_TRANSFORMS_PASSES_H
