//===- ConvToMatmul.cpp - quantized convolutions as im2col matmuls --------===//

#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace qopt {
#define GEN_PASS_DEF_CONVTOMATMUL
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

/// `value` (a constant's attribute) with the same elements in `type`.
static Attribute reshapeConstant(Attribute value, RankedTensorType type) {
  if (auto dense = dyn_cast<DenseElementsAttr>(value))
    return dense.reshape(type);
  auto resource = dyn_cast<DenseResourceElementsAttr>(value);
  if (!resource || !resource.getRawHandle().getBlob())
    return {};
  ArrayRef<char> data = resource.getRawHandle().getBlob()->getData();
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(data, alignof(uint64_t));
  return DenseResourceElementsAttr::get(type, "conv_weights", std::move(blob));
}

static LogicalResult convertConv(linalg::Conv2DNchwFchwOp conv) {
  Location loc = conv.getLoc();
  MLIRContext *ctx = conv.getContext();
  OpBuilder b(conv);
  Value input = conv.getInputs()[0], filter = conv.getInputs()[1];
  Value init = conv.getOutputs()[0];
  auto inType = cast<RankedTensorType>(input.getType());
  auto fType = cast<RankedTensorType>(filter.getType());
  auto outType = cast<RankedTensorType>(conv.getResultTypes()[0]);
  auto filterConst = filter.getDefiningOp<arith::ConstantOp>();
  if (!filterConst)
    return conv.emitWarning("quantized convolution stays float: its filter "
                            "is not a constant");
  // Only the batch may be dynamic.
  if (ShapedType::isDynamicShape(inType.getShape().drop_front()) ||
      ShapedType::isDynamicShape(outType.getShape().drop_front()))
    return conv.emitWarning("quantized convolution stays float: dynamic "
                            "channel or spatial sizes");
  int64_t c = fType.getDimSize(1), kh = fType.getDimSize(2),
          kw = fType.getDimSize(3), f = fType.getDimSize(0);
  int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
  SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
  SmallVector<int64_t> dilations(conv.getDilations().getValues<int64_t>());
  Type elem = inType.getElementType();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };

  // patches[n, oh, ow, c, kh, kw] = x[n, c, oh*sh + kh*dh, ow*sw + kw*dw]
  OpFoldResult batch = tensor::getMixedSize(b, loc, input, 0);
  Value patchesInit = tensor::EmptyOp::create(
      b, loc,
      SmallVector<OpFoldResult>{batch, b.getIndexAttr(oh), b.getIndexAttr(ow),
                                b.getIndexAttr(c), b.getIndexAttr(kh),
                                b.getIndexAttr(kw)},
      elem);
  Value patches =
      linalg::GenericOp::create(
          b, loc, patchesInit.getType(), ValueRange{input},
          ValueRange{patchesInit},
          SmallVector<AffineMap>{
              AffineMap::get(6, 0,
                             {d(0), d(3),
                              d(1) * strides[0] + d(4) * dilations[0],
                              d(2) * strides[1] + d(5) * dilations[1]},
                             ctx),
              AffineMap::getMultiDimIdentityMap(6, ctx)},
          SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
          [](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(nb, l, args[0]);
          })
          .getResult(0);
  int64_t k = c * kh * kw;
  auto rows = inType.isDynamicDim(0) ? ShapedType::kDynamic
                                     : inType.getDimSize(0) * oh * ow;
  Value matrix = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({rows, k}, elem), patches,
      SmallVector<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});

  // The filter [F, C, KH, KW] is already the [F, K] weight matrix; the
  // matmul reads it transposed, as a Gemm with transB does.
  auto wType = RankedTensorType::get({f, k}, fType.getElementType());
  Attribute wAttr = reshapeConstant(filterConst.getValue(), wType);
  if (!wAttr)
    return conv.emitWarning("quantized convolution stays float: unreadable "
                            "filter constant");
  Value weights =
      arith::ConstantOp::create(b, loc, wType, cast<TypedAttr>(wAttr));
  Value wT = linalg::TransposeOp::create(
                 b, loc, weights,
                 tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{k, f},
                                         fType.getElementType()),
                 ArrayRef<int64_t>{1, 0})
                 .getResult()[0];
  OpFoldResult rowsOfr =
      rows == ShapedType::kDynamic
          ? OpFoldResult(arith::MulIOp::create(
                             b, loc,
                             getValueOrCreateConstantIndexOp(b, loc, batch),
                             arith::ConstantIndexOp::create(b, loc, oh * ow))
                             .getResult())
          : OpFoldResult(b.getIndexAttr(rows));
  Value mmInit = tensor::EmptyOp::create(
      b, loc, SmallVector<OpFoldResult>{rowsOfr, b.getIndexAttr(f)},
      outType.getElementType());
  Value zero = arith::ConstantOp::create(
      b, loc, b.getZeroAttr(outType.getElementType()));
  mmInit = linalg::FillOp::create(b, loc, zero, mmInit).getResult(0);
  auto matmul =
      linalg::MatmulOp::create(b, loc, TypeRange{mmInit.getType()},
                               ValueRange{matrix, wT}, ValueRange{mmInit});
  copyLayerAttributes(conv, matmul);

  // [N * OH * OW, F] -> [N, OH, OW, F] -> [N, F, OH, OW], plus the conv's
  // init (zero, or an accumulator).
  Value nhwc = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({inType.getDimSize(0), oh, ow, f},
                            outType.getElementType()),
      matmul.getResult(0), SmallVector<ReassociationIndices>{{0, 1, 2}, {3}},
      SmallVector<OpFoldResult>{batch, b.getIndexAttr(oh), b.getIndexAttr(ow),
                                b.getIndexAttr(f)});
  Value result =
      linalg::GenericOp::create(
          b, loc, outType, ValueRange{nhwc, init}, ValueRange{init},
          SmallVector<AffineMap>{
              AffineMap::get(4, 0, {d(0), d(2), d(3), d(1)}, ctx),
              AffineMap::getMultiDimIdentityMap(4, ctx),
              AffineMap::getMultiDimIdentityMap(4, ctx)},
          SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
          [](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(
                nb, l,
                arith::AddFOp::create(nb, l, args[0], args[1]).getResult());
          })
          .getResult(0);
  conv.getResult(0).replaceAllUsesWith(result);
  conv.erase();
  // The float filter would otherwise stay in the model (and in its size).
  if (filterConst->use_empty())
    filterConst->erase();
  return success();
}

namespace {
struct ConvToMatmulPass : qopt::impl::ConvToMatmulBase<ConvToMatmulPass> {
  void runOnOperation() override {
    SmallVector<linalg::Conv2DNchwFchwOp> convs;
    getOperation().walk([&](linalg::Conv2DNchwFchwOp conv) {
      if (getQuantConfig(conv))
        convs.push_back(conv);
    });
    for (linalg::Conv2DNchwFchwOp conv : convs)
      if (failed(convertConv(conv)))
        conv->removeAttr(kQuantConfigAttr); // stays float, warned
  }
};
} // namespace
