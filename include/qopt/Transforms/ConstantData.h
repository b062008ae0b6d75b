//===- ConstantData.h - the bytes of constant tensors -----------*- C++ -*-===//
//
// Shared by the CPU passes that store constant weights in another layout
// (qopt-cpu-relayout-constant-operands, qopt-cpu-tile-and-vectorize): they
// read a constant's bytes and write new ones of the same kind.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_TRANSFORMS_CONSTANTDATA_H
#define QOPT_TRANSFORMS_CONSTANTDATA_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>

namespace qopt {

/// The bytes of the elements of constant `value` of `type`, row-major
/// (every element stored, so `elemBytes` each), or none for splats,
/// sub-byte elements and attributes without data.
std::optional<llvm::ArrayRef<char>> rawElements(mlir::Attribute value,
                                                mlir::RankedTensorType type,
                                                size_t &elemBytes);

/// An attribute of `type` holding `data` (row-major), of the same kind as
/// `like`: dense elements, or a resource blob (named after `resourceName`)
/// with `like`'s alignment.
mlir::TypedAttr elementsLike(mlir::Attribute like, mlir::RankedTensorType type,
                             llvm::ArrayRef<char> data,
                             llvm::StringRef resourceName);

} // namespace qopt

#endif // QOPT_TRANSFORMS_CONSTANTDATA_H
