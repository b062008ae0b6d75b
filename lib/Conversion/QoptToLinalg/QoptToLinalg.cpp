//===- QoptToLinalg.cpp - lower qopt ops for the CPU ----------------------===//
//
// qopt ops become linalg.generic ops over byte storage: !qopt.int<sN/uN>
// values live in i8, sign- or zero-extended. The arithmetic matches the
// reference library (qopt/Reference/QuantMath.h) exactly: f32 division and
// rounding for quantize, (q - zp) * scale in f32 for dequantize, exact int32
// partial sums for integer matmuls.
//
//===----------------------------------------------------------------------===//

#include "qopt/Conversion/Passes.h"
#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_CONVERTQOPTTOLINALG
#include "qopt/Conversion/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

//===----------------------------------------------------------------------===//
// Type conversion
//===----------------------------------------------------------------------===//

void qopt::populateQoptStorageTypeConversion(TypeConverter &converter) {
  converter.addConversion([](Type type) { return type; });
  converter.addConversion([](IntType type) -> Type {
    return IntegerType::get(type.getContext(), 8);
  });
  converter.addConversion([](RankedTensorType type) -> Type {
    if (!isa<IntType>(type.getElementType()))
      return type;
    return RankedTensorType::get(type.getShape(),
                                 IntegerType::get(type.getContext(), 8));
  });
  auto materialize = [](OpBuilder &b, Type type, ValueRange inputs,
                        Location loc) -> Value {
    return UnrealizedConversionCastOp::create(b, loc, type, inputs)
        .getResult(0);
  };
  converter.addSourceMaterialization(materialize);
  converter.addTargetMaterialization(materialize);
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// The map reading a scale or zero point at the iteration point of data of
/// rank `rank` under `scheme`.
static AffineMap paramMap(MLIRContext *ctx, QuantSchemeAttr scheme,
                          int64_t rank, RankedTensorType paramType) {
  if (scheme.isPerTensor()) {
    SmallVector<AffineExpr> zeros(paramType.getRank(),
                                  getAffineConstantExpr(0, ctx));
    return AffineMap::get(rank, 0, zeros, ctx);
  }
  if (scheme.isPerChannel())
    return AffineMap::get(rank, 0, getAffineDimExpr(scheme.getAxis(), ctx));
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i) {
    AffineExpr d = getAffineDimExpr(i, ctx);
    exprs.push_back(i == scheme.getAxis() ? d.floorDiv(scheme.getGroupSize())
                                          : d);
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

static Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

static Value toF32(OpBuilder &b, Location loc, Value v) {
  Type t = v.getType();
  if (t.isF32())
    return v;
  if (isa<FloatType>(t))
    return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), v);
}

static Value fromF32(OpBuilder &b, Location loc, Value v, Type to) {
  if (to.isF32())
    return v;
  return arith::TruncFOp::create(b, loc, to, v);
}

/// Widens a stored byte to i32 per the storage signedness.
static Value widenStored(OpBuilder &b, Location loc, Value byte,
                         IntType storage) {
  Type i32 = b.getI32Type();
  return storage.getIsSigned()
             ? arith::ExtSIOp::create(b, loc, i32, byte).getResult()
             : arith::ExtUIOp::create(b, loc, i32, byte).getResult();
}

/// Rounds an f32 to an integral f32 per `mode`.
static Value roundF32(OpBuilder &b, Location loc, Value x, RoundingMode mode) {
  switch (mode) {
  case RoundingMode::NearestEven:
    return math::RoundEvenOp::create(b, loc, x);
  case RoundingMode::NearestAway:
    return math::RoundOp::create(b, loc, x);
  case RoundingMode::TowardZero:
    return math::TruncOp::create(b, loc, x);
  case RoundingMode::Floor:
    return math::FloorOp::create(b, loc, x);
  case RoundingMode::Ceil:
    return math::CeilOp::create(b, loc, x);
  case RoundingMode::AwayFromZero: {
    Value neg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x,
                                      f32Const(b, loc, 0.0));
    return arith::SelectOp::create(b, loc, neg,
                                   math::FloorOp::create(b, loc, x),
                                   math::CeilOp::create(b, loc, x));
  }
  case RoundingMode::NearestTowardZero: {
    Value away = math::RoundOp::create(b, loc, x);
    Value diff =
        math::AbsFOp::create(b, loc, arith::SubFOp::create(b, loc, away, x));
    Value tie = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, diff,
                                      f32Const(b, loc, 0.5));
    return arith::SelectOp::create(b, loc, tie,
                                   math::TruncOp::create(b, loc, x), away);
  }
  }
  llvm_unreachable("unknown rounding mode");
}

static Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> dims,
                        Type elem) {
  Value empty = tensor::EmptyOp::create(b, loc, dims, elem);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

//===----------------------------------------------------------------------===//
// quantize / dequantize / storage_cast
//===----------------------------------------------------------------------===//

namespace {
struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    QuantSchemeAttr scheme = op.getScheme();
    IntType storage = op.getStorageType();
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t rank = inType.getRank();
    double qmin = scheme.getQuantMin(storage),
           qmax = scheme.getQuantMax(storage);
    SmallVector<Value> ins = {adaptor.getInput(), adaptor.getScale()};
    SmallVector<AffineMap> maps = {
        rewriter.getMultiDimIdentityMap(rank),
        paramMap(ctx, scheme, rank, op.getScale().getType())};
    if (Value zp = adaptor.getZeroPoint()) {
      ins.push_back(zp);
      maps.push_back(
          paramMap(ctx, scheme, rank, cast<RankedTensorType>(zp.getType())));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(rank));
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, adaptor.getInput()),
        rewriter.getI8Type());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ins, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value x = toF32(b, l, args[0]);
          Value s = toF32(b, l, args[1]);
          Value zpF = ins.size() > 2 ? toF32(b, l, args[2]) : f32Const(b, l, 0);
          Value r = roundF32(b, l, arith::DivFOp::create(b, l, x, s),
                             scheme.getRounding());
          r = arith::AddFOp::create(b, l, r, zpF);
          r = arith::MaximumFOp::create(b, l, r, f32Const(b, l, qmin));
          r = arith::MinimumFOp::create(b, l, r, f32Const(b, l, qmax));
          // NaN quantizes to the zero point.
          Value isNan =
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, x, x);
          r = arith::SelectOp::create(b, l, isNan, zpF, r);
          Value i = arith::FPToSIOp::create(b, l, b.getI32Type(), r);
          linalg::YieldOp::create(
              b, l,
              arith::TruncIOp::create(b, l, b.getI8Type(), i).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    QuantSchemeAttr scheme = op.getScheme();
    IntType storage = op.getStorageType();
    int64_t rank = op.getInput().getType().getRank();
    Type outElem = op.getResult().getType().getElementType();
    SmallVector<Value> ins = {adaptor.getInput(), adaptor.getScale()};
    SmallVector<AffineMap> maps = {
        rewriter.getMultiDimIdentityMap(rank),
        paramMap(ctx, scheme, rank, op.getScale().getType())};
    if (Value zp = adaptor.getZeroPoint()) {
      ins.push_back(zp);
      maps.push_back(
          paramMap(ctx, scheme, rank, cast<RankedTensorType>(zp.getType())));
    }
    maps.push_back(rewriter.getMultiDimIdentityMap(rank));
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, adaptor.getInput()),
        outElem);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ins, ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value q = widenStored(b, l, args[0], storage);
          if (ins.size() > 2)
            q = arith::SubIOp::create(b, l, q, args[2]);
          Value x =
              arith::MulFOp::create(b, l, toF32(b, l, q), toF32(b, l, args[1]));
          linalg::YieldOp::create(b, l, fromF32(b, l, x, outElem));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct StorageCastLowering : OpConversionPattern<StorageCastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StorageCastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inQ = dyn_cast<IntType>(op.getInput().getType().getElementType());
    IntType q =
        inQ ? inQ : cast<IntType>(op.getResult().getType().getElementType());
    Type outElem =
        inQ ? op.getResult().getType().getElementType() : rewriter.getI8Type();
    Value in = adaptor.getInput();
    int64_t rank = op.getInput().getType().getRank();
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, in), outElem);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ValueRange{in}, ValueRange{init},
        SmallVector<AffineMap>(2, rewriter.getMultiDimIdentityMap(rank)),
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = args[0];
          Type narrow = b.getIntegerType(q.getWidth());
          Value result;
          if (inQ) {
            // Stored byte -> builtin integer: sign/zero extension.
            unsigned to = outElem.getIntOrFloatBitWidth();
            if (to == 8)
              result = v;
            else if (to < 8)
              result = arith::TruncIOp::create(b, l, outElem, v);
            else
              result =
                  q.getIsSigned()
                      ? arith::ExtSIOp::create(b, l, outElem, v).getResult()
                      : arith::ExtUIOp::create(b, l, outElem, v).getResult();
          } else {
            // Builtin integer -> the low N bits, extended into a byte.
            Value low =
                v.getType() == narrow
                    ? v
                    : arith::TruncIOp::create(b, l, narrow, v).getResult();
            if (q.getWidth() == 8)
              result = low;
            else
              result = q.getIsSigned()
                           ? arith::ExtSIOp::create(b, l, b.getI8Type(), low)
                                 .getResult()
                           : arith::ExtUIOp::create(b, l, b.getI8Type(), low)
                                 .getResult();
          }
          linalg::YieldOp::create(b, l, result);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// integer_matmul (the direct form: widened products, int32 sums)
//===----------------------------------------------------------------------===//

/// A map reading a zero point of `type` from loops (m, n, g, ...): scalar,
/// per row (`rowDim`), or per (row, group).
static AffineMap zeroPointMap(MLIRContext *ctx, RankedTensorType type,
                              unsigned loops, unsigned rowDim,
                              std::optional<unsigned> groupDim) {
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  bool scalar = llvm::all_of(type.getShape(), [](int64_t s) { return s == 1; });
  if (scalar)
    return AffineMap::get(
        loops, 0,
        SmallVector<AffineExpr>(type.getRank(), getAffineConstantExpr(0, ctx)),
        ctx);
  if (type.getRank() == 2 && groupDim)
    return AffineMap::get(loops, 0, {d(rowDim), d(*groupDim)}, ctx);
  return AffineMap::get(loops, 0, d(rowDim), ctx);
}

struct IntegerMatmulLowering : OpConversionPattern<IntegerMatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(IntegerMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto aq = cast<IntType>(op.getAct().getType().getElementType());
    auto wq = cast<IntType>(op.getWeight().getType().getElementType());
    Value a = adaptor.getAct(), w = adaptor.getWeight();
    SmallVector<OpFoldResult> aDims = tensor::getMixedSizes(rewriter, loc, a);
    SmallVector<OpFoldResult> wDims = tensor::getMixedSizes(rewriter, loc, w);
    OpFoldResult m = aDims[0], n = wDims[0], k = aDims[1];
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    int64_t groupSize = op.getGroupSize();
    OpFoldResult groups = rewriter.getIndexAttr(1);
    if (groupSize) {
      std::optional<int64_t> kc = getConstantIntValue(k);
      groups =
          kc ? OpFoldResult(rewriter.getIndexAttr(*kc / groupSize))
             : OpFoldResult(
                   arith::DivUIOp::create(
                       rewriter, loc,
                       getValueOrCreateConstantIndexOp(rewriter, loc, k),
                       arith::ConstantIndexOp::create(rewriter, loc, groupSize))
                       .getResult());
    }
    // Loops (m, n, g, kk) over [groups, G] views of K; one group is the
    // whole K (loops (m, n, g = 0, k)).
    auto split = [&](Value t, OpFoldResult rows) -> Value {
      auto type = cast<RankedTensorType>(t.getType());
      std::optional<int64_t> g = getConstantIntValue(groups);
      int64_t gs = groupSize ? groupSize : type.getDimSize(1);
      auto resultType = RankedTensorType::get(
          {type.getDimSize(0), g ? *g : ShapedType::kDynamic, gs},
          type.getElementType());
      return tensor::ExpandShapeOp::create(
          rewriter, loc, resultType, t,
          SmallVector<ReassociationIndices>{{0}, {1, 2}},
          SmallVector<OpFoldResult>{
              rows, groups,
              groupSize ? OpFoldResult(rewriter.getIndexAttr(gs)) : k});
    };
    SmallVector<Value> ins = {split(a, m), split(w, n)};
    SmallVector<AffineMap> maps = {
        AffineMap::get(4, 0, {d(0), d(2), d(3)}, ctx),
        AffineMap::get(4, 0, {d(1), d(2), d(3)}, ctx)};
    Value za = adaptor.getActZeroPoint(), zw = adaptor.getWeightZeroPoint();
    if (za) {
      ins.push_back(za);
      maps.push_back(zeroPointMap(ctx, cast<RankedTensorType>(za.getType()), 4,
                                  0, std::nullopt));
    }
    if (zw) {
      ins.push_back(zw);
      maps.push_back(
          zeroPointMap(ctx, cast<RankedTensorType>(zw.getType()), 4, 1, 2));
    }
    maps.push_back(AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx));
    Value init =
        zeroFilled(rewriter, loc, {m, n, groups}, rewriter.getI32Type());
    Value acc =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(), ins, ValueRange{init}, maps,
            SmallVector<utils::IteratorType>{
                utils::IteratorType::parallel, utils::IteratorType::parallel,
                utils::IteratorType::parallel, utils::IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value av = widenStored(b, l, args[0], aq);
              Value wv = widenStored(b, l, args[1], wq);
              unsigned next = 2;
              if (za)
                av = arith::SubIOp::create(b, l, av, args[next++]);
              if (zw)
                wv = arith::SubIOp::create(b, l, wv, args[next++]);
              Value prod = arith::MulIOp::create(b, l, av, wv);
              linalg::YieldOp::create(
                  b, l,
                  arith::AddIOp::create(b, l, args.back(), prod).getResult());
            })
            .getResult(0);
    Type resultType = getTypeConverter()->convertType(op.getResult().getType());
    if (acc.getType() != resultType)
      acc = tensor::CastOp::create(rewriter, loc, resultType, acc);
    rewriter.replaceOp(op, acc);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Bit planes (the CPU form: 64-bit popcounts)
//===----------------------------------------------------------------------===//

struct BitplanePackLowering : OpConversionPattern<BitplanePackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BitplanePackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value in = adaptor.getInput(); // [R, K] i8, values extended
    auto inType = cast<RankedTensorType>(in.getType());
    auto outType = cast<RankedTensorType>(op.getPlanes().getType());
    SmallVector<OpFoldResult> inDims = tensor::getMixedSizes(rewriter, loc, in);
    // Words of the padded row.
    OpFoldResult words;
    if (!outType.isDynamicDim(2)) {
      words = rewriter.getIndexAttr(outType.getDimSize(2));
    } else {
      int64_t kPad = op.getKPad();
      Value kv = getValueOrCreateConstantIndexOp(rewriter, loc, inDims[1]);
      Value steps = arith::CeilDivUIOp::create(
          rewriter, loc, kv,
          arith::ConstantIndexOp::create(rewriter, loc, kPad));
      words = arith::MulIOp::create(
                  rewriter, loc, steps,
                  arith::ConstantIndexOp::create(rewriter, loc, kPad / 32))
                  .getResult();
    }
    // Pad K with zeros to words * 32, view as [R, words, 32].
    Value wordsV = getValueOrCreateConstantIndexOp(rewriter, loc, words);
    Value paddedK = arith::MulIOp::create(
        rewriter, loc, wordsV,
        arith::ConstantIndexOp::create(rewriter, loc, 32));
    Value kv = getValueOrCreateConstantIndexOp(rewriter, loc, inDims[1]);
    Value high = arith::SubIOp::create(rewriter, loc, paddedK, kv);
    std::optional<int64_t> w = getConstantIntValue(words);
    auto paddedType = RankedTensorType::get(
        {inType.getDimSize(0), w ? *w * 32 : ShapedType::kDynamic},
        rewriter.getI8Type());
    Value padded = tensor::PadOp::create(
        rewriter, loc, paddedType, in,
        SmallVector<OpFoldResult>{rewriter.getIndexAttr(0),
                                  rewriter.getIndexAttr(0)},
        SmallVector<OpFoldResult>{rewriter.getIndexAttr(0), OpFoldResult(high)},
        arith::ConstantOp::create(rewriter, loc, rewriter.getI8IntegerAttr(0))
            .getResult(),
        /*nofold=*/false);
    Value view = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get(
            {inType.getDimSize(0), w ? *w : ShapedType::kDynamic, 32},
            rewriter.getI8Type()),
        padded, SmallVector<ReassociationIndices>{{0}, {1, 2}},
        SmallVector<OpFoldResult>{inDims[0], words, rewriter.getIndexAttr(32)});
    // planes[b, r, w] = OR_t ((x[r, w, t] >> b) & 1) << t
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    Value init = zeroFilled(
        rewriter, loc,
        SmallVector<OpFoldResult>{rewriter.getIndexAttr(outType.getDimSize(0)),
                                  inDims[0], words},
        rewriter.getI32Type());
    Value planes =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(), ValueRange{view}, ValueRange{init},
            SmallVector<AffineMap>{
                AffineMap::get(4, 0, {d(1), d(2), d(3)}, ctx),
                AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)},
            SmallVector<utils::IteratorType>{
                utils::IteratorType::parallel, utils::IteratorType::parallel,
                utils::IteratorType::parallel, utils::IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Type i32 = b.getI32Type();
              Value x = arith::ExtUIOp::create(b, l, i32, args[0]);
              Value plane = arith::IndexCastOp::create(
                  b, l, i32, linalg::IndexOp::create(b, l, 0));
              Value bit = arith::IndexCastOp::create(
                  b, l, i32, linalg::IndexOp::create(b, l, 3));
              Value one =
                  arith::ConstantOp::create(b, l, b.getI32IntegerAttr(1));
              Value v = arith::AndIOp::create(
                  b, l, arith::ShRUIOp::create(b, l, x, plane), one);
              v = arith::ShLIOp::create(b, l, v, bit);
              linalg::YieldOp::create(
                  b, l, arith::OrIOp::create(b, l, args[1], v).getResult());
            })
            .getResult(0);
    if (planes.getType() != outType)
      planes = tensor::CastOp::create(rewriter, loc, outType, planes);
    rewriter.replaceOp(op, planes);
    return success();
  }
};

struct BitplaneUnpackLowering : OpConversionPattern<BitplaneUnpackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BitplaneUnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value planes = adaptor.getPlanes();
    auto storage = cast<IntType>(op.getResult().getType().getElementType());
    unsigned bits = storage.getWidth();
    // K comes from the result type only; rows from the planes.
    if (op.getResult().getType().isDynamicDim(1))
      return rewriter.notifyMatchFailure(op, "dynamic K");
    SmallVector<OpFoldResult> outDims = {
        tensor::getMixedSize(rewriter, loc, planes, 1),
        rewriter.getIndexAttr(op.getResult().getType().getDimSize(1))};
    // result[r, k] = sum_b ((planes[b, r, k / 32] >> (k % 32)) & 1) << b,
    // sign-extended from `bits`: one input per plane.
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    SmallVector<Value> ins(bits, planes);
    SmallVector<AffineMap> maps;
    for (unsigned b = 0; b < bits; ++b)
      maps.push_back(AffineMap::get(
          2, 0, {getAffineConstantExpr(b, ctx), d(0), d(1).floorDiv(32)},
          ctx));
    maps.push_back(rewriter.getMultiDimIdentityMap(2));
    Value init = tensor::EmptyOp::create(rewriter, loc, outDims,
                                         rewriter.getI8Type());
    bool isSigned = storage.getIsSigned();
    Value values =
        linalg::GenericOp::create(
            rewriter, loc, init.getType(), ins, ValueRange{init}, maps,
            SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Type i32 = b.getI32Type();
              Value k = arith::IndexCastOp::create(
                  b, l, i32, linalg::IndexOp::create(b, l, 1));
              Value shift = arith::AndIOp::create(
                  b, l, k,
                  arith::ConstantOp::create(b, l, b.getI32IntegerAttr(31)));
              Value one =
                  arith::ConstantOp::create(b, l, b.getI32IntegerAttr(1));
              Value v = arith::ConstantOp::create(b, l, b.getI32IntegerAttr(0));
              for (unsigned p = 0; p < bits; ++p) {
                Value bit = arith::AndIOp::create(
                    b, l, arith::ShRUIOp::create(b, l, args[p], shift), one);
                if (p)
                  bit = arith::ShLIOp::create(
                      b, l, bit,
                      arith::ConstantOp::create(b, l, b.getI32IntegerAttr(p)));
                v = arith::OrIOp::create(b, l, v, bit);
              }
              // Two's complement: shift the sign bit up to bit 31 and back.
              if (isSigned && bits < 32) {
                Value up = arith::ConstantOp::create(
                    b, l, b.getI32IntegerAttr(32 - bits));
                v = arith::ShRSIOp::create(
                    b, l, arith::ShLIOp::create(b, l, v, up), up);
              }
              linalg::YieldOp::create(
                  b, l, arith::TruncIOp::create(b, l, b.getI8Type(), v)
                            .getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, values);
    return success();
  }
};

/// One slice of the bits of the values a field decode yields: `bits` bits
/// a field, `fieldsPerWord` fields a word, in the byte-quad layout with
/// `byteQuads` (see qopt.field_unpack).
struct FieldSlice {
  int64_t bits;
  int64_t fieldsPerWord;
  bool byteQuads;
};

/// The linalg.generic decoding values whose bits are stored as `slices`,
/// least significant first, slice s in `words[s]` ([R, words] i32): value
/// (r, k) gathers field k % F_s of words[s][r, k / F_s] into its bits from
/// the sum of the earlier slices' widths up, read as two's complement when
/// `isSigned`. Yields i8 [R, `k`]; marked with qopt::kByteQuadFieldsAttr
/// where every slice is byte quads.
static linalg::GenericOp decodeFields(OpBuilder &builder, Location loc,
                                      ValueRange words,
                                      ArrayRef<FieldSlice> slices, int64_t k,
                                      bool isSigned) {
  MLIRContext *ctx = builder.getContext();
  SmallVector<OpFoldResult> outDims = {
      tensor::getMixedSize(builder, loc, words.front(), 0),
      builder.getIndexAttr(k)};
  // result[r, k] = field k % F of words[r, k / F]: a uniform shift per K
  // index, so a vector of columns decodes with two shifts a slice.
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps;
  for (const FieldSlice &slice : slices)
    maps.push_back(
        AffineMap::get(2, 0, {d(0), d(1).floorDiv(slice.fieldsPerWord)}, ctx));
  maps.push_back(builder.getMultiDimIdentityMap(2));
  Value init =
      tensor::EmptyOp::create(builder, loc, outDims, builder.getI8Type());
  auto decode = linalg::GenericOp::create(
      builder, loc, init.getType(), words, ValueRange{init}, maps,
      SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange args) {
        auto i32 = [&](int64_t v) -> Value {
          return arith::ConstantOp::create(b, l, b.getI32IntegerAttr(v));
        };
        Value k = arith::IndexCastOp::create(b, l, b.getI32Type(),
                                             linalg::IndexOp::create(b, l, 1));
        Value value;
        int64_t offset = 0;
        for (auto [s, slice] : llvm::enumerate(slices)) {
          int64_t bits = slice.bits;
          Value f = arith::RemUIOp::create(b, l, k, i32(slice.fieldsPerWord));
          // The field's lowest bit: B f, or with byte quads
          // 8 (f % 4) + B (f / 4).
          Value low =
              slice.byteQuads
                  ? arith::AddIOp::create(
                        b, l,
                        arith::MulIOp::create(
                            b, l, arith::RemUIOp::create(b, l, f, i32(4)),
                            i32(8)),
                        arith::MulIOp::create(
                            b, l, arith::DivUIOp::create(b, l, f, i32(4)),
                            i32(bits)))
                        .getResult()
                  : arith::MulIOp::create(b, l, f, i32(bits)).getResult();
          Value field;
          if (isSigned && s + 1 == slices.size()) {
            // The top slice's top bit to bit 31, then back with the sign.
            Value top = i32(32 - bits);
            Value up = arith::SubIOp::create(b, l, top, low);
            field = arith::ShRSIOp::create(
                b, l, arith::ShLIOp::create(b, l, args[s], up), top);
          } else {
            field = arith::AndIOp::create(
                b, l, arith::ShRUIOp::create(b, l, args[s], low),
                i32((int64_t(1) << bits) - 1));
          }
          if (offset)
            field = arith::ShLIOp::create(b, l, field, i32(offset));
          value = value ? arith::OrIOp::create(b, l, value, field).getResult()
                        : field;
          offset += bits;
        }
        linalg::YieldOp::create(
            b, l,
            arith::TruncIOp::create(b, l, b.getI8Type(), value).getResult());
      });
  if (llvm::all_of(slices, [](const FieldSlice &s) { return s.byteQuads; }))
    decode->setAttr(
        kByteQuadFieldsAttr,
        builder.getDenseI64ArrayAttr(llvm::map_to_vector(
            slices, [](const FieldSlice &s) { return s.fieldsPerWord; })));
  return decode;
}

/// Replaces field unpack `op` (its result [R, K] of a static K) by the
/// decode of `words` stored as `slices` (see decodeFields).
static LogicalResult replaceByFieldDecode(ConversionPatternRewriter &rewriter,
                                          Operation *op, ValueRange words,
                                          ArrayRef<FieldSlice> slices) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  // K comes from the result type only; rows from the words.
  if (resultType.isDynamicDim(1))
    return rewriter.notifyMatchFailure(op, "dynamic K");
  auto storage = cast<IntType>(resultType.getElementType());
  rewriter.replaceOp(op, decodeFields(rewriter, op->getLoc(), words, slices,
                                      resultType.getDimSize(1),
                                      storage.getIsSigned())
                             .getResult(0));
  return success();
}

struct FieldUnpackLowering : OpConversionPattern<FieldUnpackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FieldUnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto storage = cast<IntType>(op.getResult().getType().getElementType());
    FieldSlice slice{storage.getWidth(), int64_t(op.getFieldsPerWord()),
                     op.getByteQuads()};
    return replaceByFieldDecode(rewriter, op, adaptor.getWords(), slice);
  }
};

struct FieldSlicesUnpackLowering : OpConversionPattern<FieldSlicesUnpackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FieldSlicesUnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<FieldSlice> slices;
    for (int64_t bits : op.getSliceBits())
      slices.push_back({bits, 32 / bits, /*byteQuads=*/true});
    return replaceByFieldDecode(rewriter, op, adaptor.getSlices(), slices);
  }
};

/// The coefficients c_i c_j 2^(i+j) of bitplane_combine, row-major [P, Q].
static SmallVector<int32_t>
planeCoefficients(int64_t p, int64_t q, bool weightSigned, bool actSigned) {
  SmallVector<int32_t> coeffs;
  for (int64_t i = 0; i < p; ++i)
    for (int64_t j = 0; j < q; ++j) {
      int64_t c = int64_t(1) << (i + j);
      if (weightSigned && i == p - 1)
        c = -c;
      if (actSigned && j == q - 1)
        c = -c;
      coeffs.push_back(static_cast<int32_t>(c));
    }
  return coeffs;
}

/// The binary products of bitplane_popcount as one linalg.generic over
/// 64-bit popcounts (pairs of 32-bit words when the group has an even word
/// count). Without `coeffs` the result is the [P, Q, M, N, G] partials; with
/// them the plane loops are reductions too and each popcount is weighted by
/// its coefficient, which is bitplane_combine fused in: [M, N, G], and no
/// P*Q-times larger intermediate.
static Value buildPopcount(OpBuilder &b, Location loc, Value a, Value w,
                           int64_t gw, RankedTensorType partialsType,
                           ArrayRef<int32_t> coeffs) {
  MLIRContext *ctx = b.getContext();
  bool fused = !coeffs.empty();
  SmallVector<OpFoldResult> aDims = tensor::getMixedSizes(b, loc, a);
  SmallVector<OpFoldResult> wDims = tensor::getMixedSizes(b, loc, w);
  bool pairs = gw % 2 == 0;
  int64_t lanes = pairs ? 2 : 1, steps = gw / lanes;
  OpFoldResult groups =
      partialsType.isDynamicDim(4)
          ? OpFoldResult(arith::DivUIOp::create(
                             b, loc,
                             getValueOrCreateConstantIndexOp(b, loc, aDims[2]),
                             arith::ConstantIndexOp::create(b, loc, gw))
                             .getResult())
          : OpFoldResult(b.getIndexAttr(partialsType.getDimSize(4)));
  std::optional<int64_t> staticGroups = getConstantIntValue(groups);
  // [planes, rows, words] viewed as [planes, rows, groups, steps, lanes].
  auto view = [&](Value t, ArrayRef<OpFoldResult> dims) -> Value {
    auto type = cast<RankedTensorType>(t.getType());
    return tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get(
            {type.getDimSize(0), type.getDimSize(1),
             staticGroups ? *staticGroups : ShapedType::kDynamic, steps, lanes},
            b.getI32Type()),
        t, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}},
        SmallVector<OpFoldResult>{dims[0], dims[1], groups,
                                  b.getIndexAttr(steps),
                                  b.getIndexAttr(lanes)});
  };
  Value av = view(a, aDims), wv = view(w, wDims);
  // Loop positions: unfused (i, j, m, n, g, s), fused (m, n, g, i, j, s).
  unsigned I = fused ? 3 : 0, J = fused ? 4 : 1, M = fused ? 0 : 2,
           N = fused ? 1 : 3, G = fused ? 2 : 4, S = 5;
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
  for (int64_t lane = 0; lane < lanes; ++lane) {
    ins.push_back(av);
    maps.push_back(AffineMap::get(
        6, 0, {d(J), d(M), d(G), d(S), getAffineConstantExpr(lane, ctx)}, ctx));
  }
  for (int64_t lane = 0; lane < lanes; ++lane) {
    ins.push_back(wv);
    maps.push_back(AffineMap::get(
        6, 0, {d(I), d(N), d(G), d(S), getAffineConstantExpr(lane, ctx)}, ctx));
  }
  int64_t p = cast<RankedTensorType>(w.getType()).getDimSize(0);
  int64_t q = cast<RankedTensorType>(a.getType()).getDimSize(0);
  if (fused) {
    ins.push_back(arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({p, q}, b.getI32Type()),
                               coeffs)));
    maps.push_back(AffineMap::get(6, 0, {d(I), d(J)}, ctx));
  }
  SmallVector<utils::IteratorType> iters(6, utils::IteratorType::parallel);
  iters[S] = iters[I] = iters[J] = utils::IteratorType::reduction;
  if (!fused)
    iters[I] = iters[J] = utils::IteratorType::parallel;
  Value init;
  if (fused) {
    maps.push_back(AffineMap::get(6, 0, {d(M), d(N), d(G)}, ctx));
    init = zeroFilled(b, loc, {aDims[1], wDims[1], groups}, b.getI32Type());
  } else {
    maps.push_back(AffineMap::get(6, 0, {d(I), d(J), d(M), d(N), d(G)}, ctx));
    init = zeroFilled(b, loc, {wDims[0], aDims[0], aDims[1], wDims[1], groups},
                      b.getI32Type());
  }
  return linalg::GenericOp::create(
             b, loc, init.getType(), ins, ValueRange{init}, maps, iters,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value count;
               if (pairs) {
                 Type i64 = nb.getI64Type();
                 auto join = [&](Value lo, Value hi) -> Value {
                   Value h = arith::ShLIOp::create(
                       nb, l, arith::ExtUIOp::create(nb, l, i64, hi),
                       arith::ConstantOp::create(nb, l,
                                                 nb.getI64IntegerAttr(32)));
                   return arith::OrIOp::create(
                       nb, l, h, arith::ExtUIOp::create(nb, l, i64, lo));
                 };
                 Value x = arith::AndIOp::create(nb, l, join(args[0], args[1]),
                                                 join(args[2], args[3]));
                 count = arith::TruncIOp::create(
                     nb, l, nb.getI32Type(), math::CtPopOp::create(nb, l, x));
               } else {
                 count = math::CtPopOp::create(
                     nb, l, arith::AndIOp::create(nb, l, args[0], args[1]));
               }
               if (fused)
                 count =
                     arith::MulIOp::create(nb, l, count, args[args.size() - 2]);
               linalg::YieldOp::create(
                   nb, l,
                   arith::AddIOp::create(nb, l, args.back(), count)
                       .getResult());
             })
      .getResult(0);
}

/// A bitplane_popcount whose only users are bitplane_combine ops is lowered
/// together with them (see buildPopcount).
static bool feedsOnlyCombines(BitplanePopcountOp op) {
  return !op->use_empty() && llvm::all_of(op->getUsers(), [](Operation *user) {
    return isa<BitplaneCombineOp>(user);
  });
}

struct BitplanePopcountLowering : OpConversionPattern<BitplanePopcountOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BitplanePopcountOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getPartials().getType());
    Value partials = buildPopcount(
        rewriter, op.getLoc(), adaptor.getActPlanes(),
        adaptor.getWeightPlanes(), op.getGroupWords(), resultType, {});
    if (partials.getType() != resultType)
      partials =
          tensor::CastOp::create(rewriter, op.getLoc(), resultType, partials);
    rewriter.replaceOp(op, partials);
    return success();
  }
};

struct BitplaneCombineLowering : OpConversionPattern<BitplaneCombineOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BitplaneCombineOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    auto partialsType = cast<RankedTensorType>(op.getPartials().getType());
    int64_t p = partialsType.getDimSize(0), q = partialsType.getDimSize(1);
    SmallVector<int32_t> coeffs =
        planeCoefficients(p, q, op.getWeightSigned(), op.getActSigned());
    Value acc;
    if (auto pop = op.getPartials().getDefiningOp<BitplanePopcountOp>();
        pop && feedsOnlyCombines(pop)) {
      acc = buildPopcount(rewriter, loc,
                          rewriter.getRemappedValue(pop.getActPlanes()),
                          rewriter.getRemappedValue(pop.getWeightPlanes()),
                          pop.getGroupWords(), partialsType, coeffs);
      if (pop->hasOneUse())
        rewriter.eraseOp(pop);
    } else {
      Value partials = adaptor.getPartials();
      Value table = arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(
              RankedTensorType::get({p, q}, rewriter.getI32Type()),
              ArrayRef<int32_t>(coeffs)));
      SmallVector<OpFoldResult> dims =
          tensor::getMixedSizes(rewriter, loc, partials);
      auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
      // Loops (m, n, g, i, j).
      Value init = zeroFilled(rewriter, loc, {dims[2], dims[3], dims[4]},
                              rewriter.getI32Type());
      acc =
          linalg::GenericOp::create(
              rewriter, loc, init.getType(), ValueRange{partials, table},
              ValueRange{init},
              SmallVector<AffineMap>{
                  AffineMap::get(5, 0, {d(3), d(4), d(0), d(1), d(2)}, ctx),
                  AffineMap::get(5, 0, {d(3), d(4)}, ctx),
                  AffineMap::get(5, 0, {d(0), d(1), d(2)}, ctx)},
              SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                               utils::IteratorType::parallel,
                                               utils::IteratorType::parallel,
                                               utils::IteratorType::reduction,
                                               utils::IteratorType::reduction},
              [](OpBuilder &b, Location l, ValueRange args) {
                Value v = arith::MulIOp::create(b, l, args[0], args[1]);
                linalg::YieldOp::create(
                    b, l, arith::AddIOp::create(b, l, args[2], v).getResult());
              })
              .getResult(0);
    }
    if (acc.getType() != resultType)
      acc = tensor::CastOp::create(rewriter, loc, resultType, acc);
    rewriter.replaceOp(op, acc);
    return success();
  }
};

/// Any other op whose operand or result types mention !qopt.int (tensor
/// reshapes, casts, ...): rebuilt with converted types.
struct GenericTypeConversion : ConversionPattern {
  GenericTypeConversion(const TypeConverter &converter, MLIRContext *ctx)
      : ConversionPattern(converter, MatchAnyOpTypeTag(), 1, ctx) {}
  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (isa<QoptDialect>(op->getDialect()) || op->getNumRegions() != 0)
      return failure();
    SmallVector<Type> resultTypes;
    if (failed(getTypeConverter()->convertTypes(op->getResultTypes(),
                                                resultTypes)))
      return failure();
    OperationState state(op->getLoc(), op->getName().getStringRef(), operands,
                         resultTypes, op->getAttrs());
    Operation *newOp = rewriter.create(state);
    rewriter.replaceOp(op, newOp->getResults());
    return success();
  }
};
} // namespace

void qopt::populateQoptToLinalgPatterns(const TypeConverter &converter,
                                        RewritePatternSet &patterns) {
  patterns.add<QuantizeLowering, DequantizeLowering, StorageCastLowering,
               IntegerMatmulLowering, BitplanePackLowering,
               BitplaneUnpackLowering, FieldUnpackLowering,
               FieldSlicesUnpackLowering, BitplanePopcountLowering,
               BitplaneCombineLowering, GenericTypeConversion>(
      converter, patterns.getContext());
}

namespace {
struct ConvertQoptToLinalgPass
    : qopt::impl::ConvertQoptToLinalgBase<ConvertQoptToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // qopt.qmatmul is qopt.integer_matmul (or a dequantize) plus a linalg
    // epilogue; split it first, then lower what remains.
    {
      RewritePatternSet expand(ctx);
      populateExpandQMatmulPatterns(expand);
      if (failed(applyPatternsGreedily(getOperation(), std::move(expand))))
        return signalPassFailure();
    }
    TypeConverter converter;
    populateQoptStorageTypeConversion(converter);
    RewritePatternSet patterns(ctx);
    populateQoptToLinalgPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);

    ConversionTarget target(*ctx);
    target.addIllegalDialect<QoptDialect>();
    // Lowered together with the bitplane_combine ops that read it.
    target.addDynamicallyLegalOp<BitplanePopcountOp>(feedsOnlyCombines);
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType()) &&
             converter.isLegal(&f.getBody());
    });
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return converter.isLegal(op); });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
