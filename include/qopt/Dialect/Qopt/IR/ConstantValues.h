//===- ConstantValues.h - constant tensors at compile time -----*- C++ -*-===//
//
// The passes that pack or transform weights at compile time read constant
// tensors through these, whether the values are inline (dense) or in a
// resource blob (dense_resource, as the importer stores weights).
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_DIALECT_QOPT_IR_CONSTANTVALUES_H
#define QOPT_DIALECT_QOPT_IR_CONSTANTVALUES_H

#include "mlir/IR/Value.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace qopt {
/// The values of an integer constant (dense or dense_resource elements),
/// sign-extended to 64 bits; std::nullopt when `v` is not one.
std::optional<std::vector<int64_t>> readIntConstant(mlir::Value v);
} // namespace qopt

#endif // QOPT_DIALECT_QOPT_IR_CONSTANTVALUES_H
