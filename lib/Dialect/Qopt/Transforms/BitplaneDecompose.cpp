//===- BitplaneDecompose.cpp - WpAq matmul as p*q binary matmuls ----------===//
//
// For p-bit weights w = sum_i c_i 2^i w_i and q-bit activations
// a = sum_j c_j 2^j a_j (bits w_i, a_j in {0, 1}; c = -1 for the sign plane
// of a two's-complement value, else 1):
//
//   sum_k a[m, k] w[n, k] = sum_{i, j} c_i c_j 2^(i+j) popcount(A_j[m] &
//   W_i[n])
//
// where A_j[m] and W_i[n] are the bit rows of plane j / i. Zero points add
// corrections from row sums:
//   sum (a - za)(w - zw) = sum a w - zw sum a - za sum w + K za zw.
//
//===----------------------------------------------------------------------===//

#include "qopt/Dialect/Qopt/IR/ConstantValues.h"
#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_BITPLANEDECOMPOSE
#include "qopt/Dialect/Qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

/// The values a constant weight tensor of `type` holds, as storage_cast
/// reads them: the low bits of each integer, sign- or zero-extended.
static std::optional<std::vector<int64_t>> constantWeights(Value weight,
                                                           IntType type) {
  auto cast = weight.getDefiningOp<StorageCastOp>();
  if (!cast)
    return std::nullopt;
  std::optional<std::vector<int64_t>> raw = readIntConstant(cast.getInput());
  if (!raw)
    return std::nullopt;
  unsigned bits = type.getWidth();
  for (int64_t &x : *raw) {
    int64_t low = x & ((int64_t(1) << bits) - 1);
    if (type.getIsSigned() && (low >> (bits - 1)) & 1)
      low -= int64_t(1) << bits;
    x = low;
  }
  return raw;
}

static Value i32Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                         ArrayRef<int32_t> data, StringRef name) {
  auto type = RankedTensorType::get(shape, b.getI32Type());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(data);
  return arith::ConstantOp::create(
      b, loc, DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

/// Row sums per group of a [R, K] qopt.int tensor, at run time: [R, G] i32.
static Value rowSums(OpBuilder &b, Location loc, Value x, int64_t groupSize) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(x.getType());
  Value wide = StorageCastOp::create(
      b, loc, RankedTensorType::get(type.getShape(), b.getI32Type()), x);
  SmallVector<OpFoldResult> dims = tensor::getMixedSizes(b, loc, wide);
  int64_t k = type.getDimSize(1);
  int64_t gs = groupSize ? groupSize : k;
  OpFoldResult groups =
      groupSize == 0 ? OpFoldResult(b.getIndexAttr(1))
      : !ShapedType::isDynamic(k)
          ? OpFoldResult(b.getIndexAttr(k / groupSize))
          : OpFoldResult(arith::DivUIOp::create(
                             b, loc,
                             getValueOrCreateConstantIndexOp(b, loc, dims[1]),
                             arith::ConstantIndexOp::create(b, loc, groupSize))
                             .getResult());
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  Value init = tensor::EmptyOp::create(
      b, loc, SmallVector<OpFoldResult>{dims[0], groups}, b.getI32Type());
  init =
      linalg::FillOp::create(
          b, loc,
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0)).getResult(),
          init)
          .getResult(0);
  // Loops (r, g, kk) over the [R, G, gs] view of the row.
  Value view = wide;
  if (groupSize || ShapedType::isDynamic(k)) {
    std::optional<int64_t> g = getConstantIntValue(groups);
    view = tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get(
            {type.getDimSize(0), g ? *g : ShapedType::kDynamic,
             ShapedType::isDynamic(gs) ? ShapedType::kDynamic : gs},
            b.getI32Type()),
        wide, SmallVector<ReassociationIndices>{{0}, {1, 2}},
        SmallVector<OpFoldResult>{dims[0], groups,
                                  groupSize ? OpFoldResult(b.getIndexAttr(gs))
                                            : dims[1]});
  } else {
    view = tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get({type.getDimSize(0), 1, k}, b.getI32Type()), wide,
        SmallVector<ReassociationIndices>{{0}, {1, 2}},
        SmallVector<OpFoldResult>{dims[0], b.getIndexAttr(1), dims[1]});
  }
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{view}, ValueRange{init},
             SmallVector<AffineMap>{
                 AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx),
                 AffineMap::get(3, 0, {d(0), d(1)}, ctx)},
             SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                              utils::IteratorType::parallel,
                                              utils::IteratorType::reduction},
             [](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l,
                   arith::AddIOp::create(nb, l, args[1], args[0]).getResult());
             })
      .getResult(0);
}

namespace {
struct DecomposeIntegerMatmul : OpRewritePattern<IntegerMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(IntegerMatmulOp op,
                                PatternRewriter &rewriter) const override {
    int64_t groupSize = op.getGroupSize();
    if (groupSize % 32)
      return rewriter.notifyMatchFailure(op, "group size not a multiple of 32");
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto actType = op.getAct().getType();
    auto weightType = op.getWeight().getType();
    auto aq = cast<IntType>(actType.getElementType());
    auto wq = cast<IntType>(weightType.getElementType());
    int64_t k = actType.getDimSize(1);
    int64_t m = actType.getDimSize(0), n = weightType.getDimSize(0);
    // Pad K to whole steps of the binary MMA (256 bits). K is a multiple
    // of the group size, so groups of whole MMA steps need no more; other
    // groups (whole words) are their own padding: no MMA step straddles two
    // groups, and no group is padding only.
    int64_t kPad = groupSize == 0 || groupSize % 256 == 0 ? 256 : groupSize;
    int64_t words = ShapedType::isDynamic(k)
                        ? ShapedType::kDynamic
                        : (k + kPad - 1) / kPad * kPad / 32;
    Type i32 = rewriter.getI32Type();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };

    Value actPlanes = BitplanePackOp::create(
        rewriter, loc, RankedTensorType::get({aq.getWidth(), m, words}, i32),
        op.getAct(), rewriter.getI64IntegerAttr(kPad));

    // Weights: packed now when they are constants, else at run time.
    std::optional<std::vector<int64_t>> wConst =
        ShapedType::isDynamic(k) || ShapedType::isDynamic(n)
            ? std::nullopt
            : constantWeights(op.getWeight(), wq);
    Value weightPlanes;
    auto stored = op.getWeight().getDefiningOp<BitplaneUnpackOp>();
    if (wConst && stored &&
        cast<RankedTensorType>(stored.getPlanes().getType()).getDimSize(2) ==
            words) {
      // Already stored in this layout: no repacking.
      weightPlanes = stored.getPlanes();
    } else if (wConst) {
      unsigned p = wq.getWidth();
      std::vector<int32_t> planes(p * n * words, 0);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t kk = 0; kk < k; ++kk) {
          uint64_t v = static_cast<uint64_t>((*wConst)[r * k + kk]);
          for (unsigned b = 0; b < p; ++b)
            if ((v >> b) & 1)
              planes[(b * n + r) * words + kk / 32] |=
                  static_cast<int32_t>(uint32_t(1) << (kk % 32));
        }
      weightPlanes =
          i32Constant(rewriter, loc, {p, n, words}, planes, "bitplanes");
    } else {
      weightPlanes = BitplanePackOp::create(
          rewriter, loc, RankedTensorType::get({wq.getWidth(), n, words}, i32),
          op.getWeight(), rewriter.getI64IntegerAttr(kPad));
    }

    // One popcount group per weight group, or per MMA step (summed below)
    // when K is one group.
    int64_t groupWords = groupSize                      ? groupSize / 32
                         : ShapedType::isDynamic(words) ? kPad / 32
                                                        : words;
    int64_t popGroups = ShapedType::isDynamic(words) ? ShapedType::kDynamic
                                                     : words / groupWords;
    Value partials = BitplanePopcountOp::create(
        rewriter, loc,
        RankedTensorType::get({wq.getWidth(), aq.getWidth(), m, n, popGroups},
                              i32),
        actPlanes, weightPlanes, rewriter.getI64IntegerAttr(groupWords));
    Value acc = BitplaneCombineOp::create(
        rewriter, loc, RankedTensorType::get({m, n, popGroups}, i32), partials,
        rewriter.getBoolAttr(wq.getIsSigned()),
        rewriter.getBoolAttr(aq.getIsSigned()));

    // Only the groups of real K count (the rest are padding, all zero).
    SmallVector<OpFoldResult> accDims =
        tensor::getMixedSizes(rewriter, loc, acc);
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    if (groupSize) {
      OpFoldResult realGroups =
          ShapedType::isDynamic(k)
              ? OpFoldResult(
                    arith::DivUIOp::create(
                        rewriter, loc,
                        tensor::DimOp::create(rewriter, loc, op.getAct(), 1),
                        arith::ConstantIndexOp::create(rewriter, loc,
                                                       groupSize))
                        .getResult())
              : OpFoldResult(rewriter.getIndexAttr(k / groupSize));
      if (getConstantIntValue(realGroups) != getConstantIntValue(accDims[2]) ||
          ShapedType::isDynamic(k))
        acc = tensor::ExtractSliceOp::create(
            rewriter, loc, acc,
            SmallVector<OpFoldResult>(3, rewriter.getIndexAttr(0)),
            SmallVector<OpFoldResult>{accDims[0], accDims[1], realGroups},
            SmallVector<OpFoldResult>(3, rewriter.getIndexAttr(1)));
    } else if (popGroups != 1) {
      Value init = tensor::EmptyOp::create(
          rewriter, loc,
          SmallVector<OpFoldResult>{accDims[0], accDims[1],
                                    rewriter.getIndexAttr(1)},
          i32);
      init = linalg::FillOp::create(
                 rewriter, loc,
                 arith::ConstantOp::create(rewriter, loc,
                                           rewriter.getI32IntegerAttr(0))
                     .getResult(),
                 init)
                 .getResult(0);
      acc =
          linalg::GenericOp::create(
              rewriter, loc, init.getType(), ValueRange{acc}, ValueRange{init},
              SmallVector<AffineMap>{
                  AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx),
                  AffineMap::get(
                      3, 0, {d(0), d(1), getAffineConstantExpr(0, ctx)}, ctx)},
              SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                               utils::IteratorType::parallel,
                                               utils::IteratorType::reduction},
              [](OpBuilder &b, Location l, ValueRange args) {
                linalg::YieldOp::create(
                    b, l,
                    arith::AddIOp::create(b, l, args[1], args[0]).getResult());
              })
              .getResult(0);
    }
    if (acc.getType() != resultType)
      acc = tensor::CastOp::create(rewriter, loc, resultType, acc);

    Value za = op.getActZeroPoint(), zw = op.getWeightZeroPoint();
    if (!za && !zw) {
      rewriter.replaceOp(op, acc);
      return success();
    }

    // acc - zw * rowsum(A) - za * rowsum(W) + K_g * za * zw
    SmallVector<Value> ins = {acc};
    SmallVector<AffineMap> maps = {
        AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx)};
    auto scalarOr = [&](Value param, SmallVector<AffineExpr> full) {
      auto t = cast<RankedTensorType>(param.getType());
      if (t.getRank() == static_cast<int64_t>(full.size()) &&
          !llvm::all_of(t.getShape(), [](int64_t s) { return s == 1; }))
        return AffineMap::get(3, 0, full, ctx);
      return AffineMap::get(
          3, 0,
          SmallVector<AffineExpr>(t.getRank(), getAffineConstantExpr(0, ctx)),
          ctx);
    };
    int idxRowA = -1, idxZw = -1, idxZa = -1, idxRowW = -1;
    if (zw) {
      idxRowA = ins.size();
      ins.push_back(rowSums(rewriter, loc, op.getAct(), groupSize));
      maps.push_back(AffineMap::get(3, 0, {d(0), d(2)}, ctx));
      idxZw = ins.size();
      ins.push_back(zw);
      auto zt = cast<RankedTensorType>(zw.getType());
      maps.push_back(zt.getRank() == 2 ? AffineMap::get(3, 0, {d(1), d(2)}, ctx)
                                       : scalarOr(zw, {d(1)}));
    }
    if (za) {
      idxZa = ins.size();
      ins.push_back(za);
      maps.push_back(scalarOr(za, {d(0)}));
      idxRowW = ins.size();
      if (wConst) {
        int64_t gs = groupSize ? groupSize : k;
        int64_t groups = k / gs;
        std::vector<int32_t> sums(n * groups, 0);
        for (int64_t r = 0; r < n; ++r)
          for (int64_t kk = 0; kk < k; ++kk)
            sums[r * groups + kk / gs] +=
                static_cast<int32_t>((*wConst)[r * k + kk]);
        ins.push_back(
            i32Constant(rewriter, loc, {n, groups}, sums, "weight_row_sums"));
      } else {
        ins.push_back(rowSums(rewriter, loc, op.getWeight(), groupSize));
      }
      maps.push_back(AffineMap::get(3, 0, {d(1), d(2)}, ctx));
    }
    maps.push_back(AffineMap::get(3, 0, {d(0), d(1), d(2)}, ctx));
    Value groupLen =
        groupSize ? arith::ConstantOp::create(
                        rewriter, loc, rewriter.getI32IntegerAttr(groupSize))
                        .getResult()
                  : arith::IndexCastOp::create(
                        rewriter, loc, i32,
                        tensor::DimOp::create(rewriter, loc, op.getAct(), 1))
                        .getResult();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, acc), i32);
    Value corrected =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(), ins, ValueRange{init}, maps,
            SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value v = args[0];
              if (idxRowA >= 0)
                v = arith::SubIOp::create(
                    b, l, v,
                    arith::MulIOp::create(b, l, args[idxZw], args[idxRowA]));
              if (idxZa >= 0)
                v = arith::SubIOp::create(
                    b, l, v,
                    arith::MulIOp::create(b, l, args[idxZa], args[idxRowW]));
              if (idxZa >= 0 && idxZw >= 0)
                v = arith::AddIOp::create(
                    b, l, v,
                    arith::MulIOp::create(
                        b, l, groupLen,
                        arith::MulIOp::create(b, l, args[idxZa], args[idxZw])));
              linalg::YieldOp::create(b, l, v);
            })
            .getResult(0);
    rewriter.replaceOp(op, corrected);
    return success();
  }
};

struct BitplaneDecomposePass
    : qopt::impl::BitplaneDecomposeBase<BitplaneDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateBitplaneDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void qopt::populateBitplaneDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeIntegerMatmul>(patterns.getContext());
}
