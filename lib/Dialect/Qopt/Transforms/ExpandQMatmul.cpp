//===- ExpandQMatmul.cpp - qmatmul = integer product + epilogue -----------===//

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_EXPANDQMATMUL
#include "qopt/Dialect/Qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

static Value toF32(OpBuilder &b, Location loc, Value v) {
  Type t = v.getType();
  if (t.isF32())
    return v;
  if (isa<FloatType>(t))
    return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), v);
}

static Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> dims,
                        Type elem) {
  Value empty = tensor::EmptyOp::create(b, loc, dims, elem);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// A map reading a scale or zero point of `scheme` from loops (m, n[, g]).
static AffineMap paramMap(MLIRContext *ctx, QuantSchemeAttr scheme, bool act,
                          Value param, unsigned loops) {
  auto type = cast<RankedTensorType>(param.getType());
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  if (scheme.isPerTensor())
    return AffineMap::get(
        loops, 0,
        SmallVector<AffineExpr>(type.getRank(), getAffineConstantExpr(0, ctx)),
        ctx);
  if (act)
    return AffineMap::get(loops, 0, d(0), ctx);
  if (scheme.isPerChannel())
    return AffineMap::get(loops, 0, d(1), ctx);
  return AffineMap::get(loops, 0, {d(1), d(2)}, ctx);
}

/// y [M, N] f32 -> + bias[n] -> the result type.
static Value biasAndCast(OpBuilder &b, Location loc, Value y, Value bias,
                         ArrayRef<OpFoldResult> dims, Type outElem) {
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> ins = {y};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(2)};
  if (bias) {
    ins.push_back(bias);
    maps.push_back(AffineMap::get(2, 0, getAffineDimExpr(1, ctx), ctx));
  }
  maps.push_back(b.getMultiDimIdentityMap(2));
  Value init = tensor::EmptyOp::create(b, loc, dims, outElem);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ins, ValueRange{init}, maps,
             SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value v = args[0];
               if (args.size() > 2)
                 v = arith::AddFOp::create(nb, l, v, toF32(nb, l, args[1]));
               if (!outElem.isF32())
                 v = arith::TruncFOp::create(nb, l, outElem, v);
               linalg::YieldOp::create(nb, l, v);
             })
      .getResult(0);
}

namespace {
struct ExpandQMatmulPattern : OpRewritePattern<QMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(QMatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    QuantSchemeAttr wScheme = op.getWeightScheme();
    SmallVector<OpFoldResult> aDims =
        tensor::getMixedSizes(rewriter, loc, op.getAct());
    SmallVector<OpFoldResult> wDims =
        tensor::getMixedSizes(rewriter, loc, op.getWeight());
    SmallVector<OpFoldResult> outDims = {aDims[0], wDims[0]};
    Type f32 = rewriter.getF32Type();
    Type outElem = op.getResult().getType().getElementType();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    Value y;

    if (op.isWeightOnly()) {
      // W dequantized, then y[m, n] = sum_k a[m, k] * W[n, k] in f32.
      auto wType = op.getWeight().getType();
      Value wf = DequantizeOp::create(
          rewriter, loc, RankedTensorType::get(wType.getShape(), f32),
          op.getWeight(), op.getWeightScale(), op.getWeightZeroPoint(),
          wScheme);
      Value init = zeroFilled(rewriter, loc, outDims, f32);
      y = linalg::GenericOp::create(
              rewriter, loc, init.getType(), ValueRange{op.getAct(), wf},
              ValueRange{init},
              SmallVector<AffineMap>{AffineMap::get(3, 0, {d(0), d(2)}, ctx),
                                     AffineMap::get(3, 0, {d(1), d(2)}, ctx),
                                     AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
              SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                               utils::IteratorType::parallel,
                                               utils::IteratorType::reduction},
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value p =
                    arith::MulFOp::create(b, l, toF32(b, l, args[0]), args[1]);
                linalg::YieldOp::create(
                    b, l, arith::AddFOp::create(b, l, args[2], p).getResult());
              })
              .getResult(0);
    } else {
      // Exact int32 partial sums per weight group, then the f32 epilogue
      // sum_g sa[m] * sw[n, g] * acc[m, n, g].
      bool grouped = wScheme.isPerGroup();
      int64_t groupSize = grouped ? wScheme.getGroupSize() : 0;
      auto kType = op.getAct().getType();
      int64_t k = kType.getDimSize(1);
      int64_t groups = !grouped                   ? 1
                       : ShapedType::isDynamic(k) ? ShapedType::kDynamic
                                                  : k / groupSize;
      auto accType = RankedTensorType::get(
          {kType.getDimSize(0), op.getWeight().getType().getDimSize(0), groups},
          rewriter.getI32Type());
      Value acc = IntegerMatmulOp::create(
          rewriter, loc, accType, op.getAct(), op.getActZeroPoint(),
          op.getWeight(), op.getWeightZeroPoint(),
          rewriter.getI64IntegerAttr(groupSize));
      QuantSchemeAttr aScheme = op.getActSchemeAttr();
      Value init = zeroFilled(rewriter, loc, outDims, f32);
      y = linalg::GenericOp::create(
              rewriter, loc, init.getType(),
              ValueRange{acc, op.getActScale(), op.getWeightScale()},
              ValueRange{init},
              SmallVector<AffineMap>{
                  AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx),
                  paramMap(ctx, aScheme, true, op.getActScale(), 3),
                  paramMap(ctx, wScheme, false, op.getWeightScale(), 3),
                  AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
              SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                               utils::IteratorType::parallel,
                                               utils::IteratorType::reduction},
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value s = arith::MulFOp::create(b, l, toF32(b, l, args[1]),
                                                toF32(b, l, args[2]));
                Value v = arith::MulFOp::create(
                    b, l, s,
                    arith::SIToFPOp::create(b, l, b.getF32Type(), args[0]));
                linalg::YieldOp::create(
                    b, l, arith::AddFOp::create(b, l, args[3], v).getResult());
              })
              .getResult(0);
    }
    rewriter.replaceOp(
        op, biasAndCast(rewriter, loc, y, op.getBias(), outDims, outElem));
    return success();
  }
};

struct ExpandQMatmulPass : qopt::impl::ExpandQMatmulBase<ExpandQMatmulPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateExpandQMatmulPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void qopt::populateExpandQMatmulPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandQMatmulPattern>(patterns.getContext());
}
