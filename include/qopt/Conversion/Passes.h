//===- Passes.h - qopt conversion passes ------------------------*- C++ -*-===//

#ifndef QOPT_CONVERSION_PASSES_H
#define QOPT_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class TypeConverter;
class RewritePatternSet;
} // namespace mlir

namespace qopt {

#define GEN_PASS_DECL
#include "qopt/Conversion/Passes.h.inc"

/// Converts !qopt.int tensors to i8 tensors (one value per byte).
void populateQoptStorageTypeConversion(mlir::TypeConverter &converter);

/// Patterns lowering qopt ops to linalg/arith/math with `converter`.
void populateQoptToLinalgPatterns(const mlir::TypeConverter &converter,
                                  mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "qopt/Conversion/Passes.h.inc"

} // namespace qopt

#endif // QOPT_CONVERSION_PASSES_H
