//===- OperandLayout.h - layouts the CPU register block reads ---*- C++ -*-===//
//
// Shared by the CPU passes that choose the layout of contraction operands
// (qopt-cpu-transpose-computed-operands for computed ones,
// qopt-cpu-relayout-constant-operands for constants).
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_TRANSFORMS_OPERANDLAYOUT_H
#define QOPT_TRANSFORMS_OPERANDLAYOUT_H

#include "mlir/IR/AffineMap.h"
#include "llvm/ADT/SmallVector.h"

namespace qopt {

/// The permutation of `map`'s results that moves the result reading loop
/// `nDim` last (others keep their order), when `map` reads `nDim` and a
/// reduction dim (one of `kDims`) after it; empty otherwise. Applied to a
/// contraction's right-hand operand, it makes the operand N-innermost: the
/// rows of N the register block loads.
llvm::SmallVector<int64_t>
permutationPuttingLast(mlir::AffineMap map, unsigned nDim,
                       llvm::ArrayRef<unsigned> kDims);

} // namespace qopt

#endif // QOPT_TRANSFORMS_OPERANDLAYOUT_H
