//===- ExpandShapeToReinterpretCast.cpp -----------------------------------===//
//
// memref.expand_shape -> memref.reinterpret_cast with explicit sizes (the
// op's output shape) and strides (inner dims of a group are contiguous in
// the source dim's stride).
//
//===----------------------------------------------------------------------===//

#include "qopt/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_EXPANDSHAPETOREINTERPRETCAST
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {
struct ExpandShapePattern : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto meta =
        memref::ExtractStridedMetadataOp::create(rewriter, loc, op.getSrc());
    // Static strides and offset of the source where its type knows them, so
    // the result type (which is computed the same way) matches.
    auto [srcStrides, srcOffset] = op.getSrcType().getStridesAndOffset();
    auto known = [&](int64_t v, Value dynamic) -> OpFoldResult {
      return ShapedType::isDynamic(v) ? OpFoldResult(dynamic)
                                      : OpFoldResult(rewriter.getIndexAttr(v));
    };
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    // A rank-0 source has no groups: its unit dims all get stride 1.
    SmallVector<OpFoldResult> strides(sizes.size(), rewriter.getIndexAttr(1));
    for (auto [srcDim, group] : llvm::enumerate(op.getReassociationIndices())) {
      OpFoldResult stride =
          known(srcStrides[srcDim], meta.getStrides()[srcDim]);
      for (int64_t i = static_cast<int64_t>(group.size()) - 1; i >= 0; --i) {
        strides[group[i]] = stride;
        if (i == 0)
          break;
        std::optional<int64_t> a = getConstantIntValue(stride),
                               b = getConstantIntValue(sizes[group[i]]);
        stride = a && b ? OpFoldResult(rewriter.getIndexAttr(*a * *b))
                        : OpFoldResult(arith::MulIOp::create(
                                           rewriter, loc,
                                           getValueOrCreateConstantIndexOp(
                                               rewriter, loc, stride),
                                           getValueOrCreateConstantIndexOp(
                                               rewriter, loc, sizes[group[i]]))
                                           .getResult());
      }
    }
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        op, op.getResultType(), meta.getBaseBuffer(),
        known(srcOffset, meta.getOffset()), sizes, strides);
    return success();
  }
};

struct ExpandShapeToReinterpretCastPass
    : qopt::impl::ExpandShapeToReinterpretCastBase<
          ExpandShapeToReinterpretCastPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapePattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
