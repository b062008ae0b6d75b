//===- LinearLayers.h - the layers the quantization passes rewrite -*- C++ -*-//
//
// A linear layer is `y = x W` with x [M, K] and a constant W: a
// `linalg.matmul` (default indexing maps) whose right-hand side is an
// `arith.constant` [K, N], or a `linalg.transpose` of a constant [N, K] (as
// Gemm with transB imports). Layers carry their name in `qopt.layer_name`
// and their precision in `qopt.quant_config`.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_TRANSFORMS_QUANT_LINEARLAYERS_H
#define QOPT_TRANSFORMS_QUANT_LINEARLAYERS_H

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>
#include <string>
#include <vector>

namespace qopt {

constexpr const char *kLayerNameAttr = "qopt.layer_name";
constexpr const char *kQuantConfigAttr = "qopt.quant_config";

struct LinearLayer {
  // Op handles are cheap values; mutable so const layers can use them.
  mutable mlir::linalg::MatmulOp op;
  mlir::Value input; ///< [M, K], floating point
  mutable mlir::arith::ConstantOp weight;
  /// The constant is [N, K] and transposed before the matmul.
  bool weightTransposed = false;
  int64_t k = 0, n = 0;

  /// The weights as [N, K] row-major floats; nullopt if unreadable.
  std::optional<std::vector<float>> readWeightsNK() const;
};

/// `op` as a linear layer, if it is one.
std::optional<LinearLayer> matchLinearLayer(mlir::linalg::MatmulOp op);

/// The values of a floating-point constant (dense or dense_resource; f32,
/// f16 or bf16), converted to f32.
std::optional<std::vector<float>> readFloatConstant(mlir::Attribute value);

/// A dense_resource constant holding `data`.
mlir::Value createResourceConstant(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::RankedTensorType type,
                                   llvm::ArrayRef<char> data,
                                   llvm::StringRef name);
mlir::Value createF32Constant(mlir::OpBuilder &b, mlir::Location loc,
                              llvm::ArrayRef<int64_t> shape,
                              llvm::ArrayRef<float> data,
                              llvm::StringRef name);

/// The layer's name (`qopt.layer_name`, else its NameLoc, else "").
std::string getLayerName(mlir::Operation *op);
/// The layer's precision, or null.
QuantConfigAttr getQuantConfig(mlir::Operation *op);

/// Copies the layer attributes (`qopt.*`) of `from` to `to`.
void copyLayerAttributes(mlir::Operation *from, mlir::Operation *to);

} // namespace qopt

#endif // QOPT_TRANSFORMS_QUANT_LINEARLAYERS_H
