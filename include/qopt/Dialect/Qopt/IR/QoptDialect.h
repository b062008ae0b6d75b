//===- QoptDialect.h - qopt dialect ----------------------------*- C++ -*-===//
//
// Includes everything a user of the qopt dialect needs: the dialect, its
// types, attributes and operations.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_DIALECT_QOPT_IR_QOPTDIALECT_H
#define QOPT_DIALECT_QOPT_IR_QOPTDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "qopt/Dialect/Qopt/IR/QoptOpsDialect.h.inc"

#include "qopt/Dialect/Qopt/IR/QoptEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "qopt/Dialect/Qopt/IR/QoptOpsTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qopt/Dialect/Qopt/IR/QoptAttrs.h.inc"

#define GET_OP_CLASSES
#include "qopt/Dialect/Qopt/IR/QoptOps.h.inc"

namespace qopt {
/// Marks the linalg.generic that convert-qopt-to-linalg makes of a
/// `qopt.field_unpack` with `byte_quads` or a `qopt.field_slices_unpack`;
/// the value is the fields per word of each of its inputs (a dense i64
/// array, slice by slice for the latter). qopt-cpu-tile-and-vectorize reads
/// the byte quads of such a decode straight from its words.
constexpr llvm::StringLiteral kByteQuadFieldsAttr = "qopt.byte_quad_fields";
} // namespace qopt

#endif // QOPT_DIALECT_QOPT_IR_QOPTDIALECT_H
