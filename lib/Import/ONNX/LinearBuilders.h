//===- LinearBuilders.h - matmul and convolution builders ------*- C++ -*-===//
//
// Shared by the float converters and the quantized ones (QLinearMatMul,
// MatMulInteger, QLinearConv-style rewrites).
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_IMPORT_ONNX_LINEARBUILDERS_H
#define QOPT_LIB_IMPORT_ONNX_LINEARBUILDERS_H

#include "Importer.h"

namespace qopt::onnx_import {

/// numpy-style matmul of two tensors of the same element type. f16/bf16
/// products are summed in f32 and rounded to the type, or with
/// `roundToType` false returned as the f32 sums (for an epilogue that rounds
/// once at its end).
FailureOr<Value> buildMatMul(NodeContext &ctx, Value a, Value b,
                             bool roundToType = true);

struct ConvParams {
  int64_t group = 1;
  SmallVector<int64_t> strides, dilations, padsBegin, padsEnd;
};

/// An NC[D]HW convolution with FC[D]HW weights (zero padding applied first).
FailureOr<Value> buildConv(NodeContext &ctx, Value x, Value w,
                           const ConvParams &params);

/// tensor.pad with a constant (no-op for all-zero pads).
Value padTensor(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> low,
                ArrayRef<int64_t> high, Value padValue);

} // namespace qopt::onnx_import

#endif // QOPT_LIB_IMPORT_ONNX_LINEARBUILDERS_H
