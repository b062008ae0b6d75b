//===- OpsReduce.cpp - reductions, normalizations, softmax, pooling -------===//

#include "Importer.h"
#include "LinearBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <limits>

using namespace mlir;
using namespace qopt::onnx_import;

static bool isFloatType(Type t) { return isa<FloatType>(t); }

static Value addS(OpBuilder &b, Location loc, Value x, Value y) {
  return isFloatType(x.getType())
             ? arith::AddFOp::create(b, loc, x, y).getResult()
             : arith::AddIOp::create(b, loc, x, y).getResult();
}
static Value mulS(OpBuilder &b, Location loc, Value x, Value y) {
  return isFloatType(x.getType())
             ? arith::MulFOp::create(b, loc, x, y).getResult()
             : arith::MulIOp::create(b, loc, x, y).getResult();
}
static Value maxS(OpBuilder &b, Location loc, Value x, Value y, bool u) {
  if (isFloatType(x.getType()))
    return arith::MaximumFOp::create(b, loc, x, y);
  return u ? arith::MaxUIOp::create(b, loc, x, y).getResult()
           : arith::MaxSIOp::create(b, loc, x, y).getResult();
}
static Value minS(OpBuilder &b, Location loc, Value x, Value y, bool u) {
  if (isFloatType(x.getType()))
    return arith::MinimumFOp::create(b, loc, x, y);
  return u ? arith::MinUIOp::create(b, loc, x, y).getResult()
           : arith::MinSIOp::create(b, loc, x, y).getResult();
}

/// The lowest (or highest) value of a type: -inf/+inf for floats.
static Value extremeValue(OpBuilder &b, Location loc, Type t, bool lowest,
                          bool isUnsigned) {
  if (auto ft = dyn_cast<FloatType>(t))
    return arith::ConstantOp::create(
        b, loc,
        b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), lowest)));
  unsigned w = t.getIntOrFloatBitWidth();
  APInt v = isUnsigned ? (lowest ? APInt::getMinValue(w) : APInt::getMaxValue(w))
                       : (lowest ? APInt::getSignedMinValue(w)
                                 : APInt::getSignedMaxValue(w));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, v));
}

/// Element count of the reduced axes as a scalar of type `t`.
static Value reducedCount(OpBuilder &b, Location loc, Value input,
                          ArrayRef<int64_t> axes, Type t) {
  IndexMath im{b, loc};
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, input);
  OpFoldResult n = im.c(1);
  for (int64_t a : axes)
    n = im.mul(n, dims[a]);
  if (std::optional<int64_t> c = getConstantIntValue(n))
    return scalarConstant(b, loc, t, static_cast<double>(*c));
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), im.value(n));
  return convertScalar(b, loc, i64, t, false, false);
}

/// Normalized, sorted, unique reduction axes; all axes when `axes` is empty.
static FailureOr<SmallVector<int64_t>>
normalizeAxes(NodeContext &ctx, ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<int64_t> out;
  if (axes.empty())
    return llvm::to_vector(llvm::seq<int64_t>(0, rank));
  for (int64_t a : axes) {
    FailureOr<int64_t> n = normalizeAxis(ctx, a, rank);
    if (failed(n))
      return failure();
    out.push_back(*n);
  }
  llvm::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

//===----------------------------------------------------------------------===//
// Reduce*
//===----------------------------------------------------------------------===//

namespace {
enum class ReduceKind { Sum, Mean, Max, Min, Prod, SumSquare, L1, L2, LogSum,
                        LogSumExp };
} // namespace

template <ReduceKind Kind, int64_t AxesInputSince>
static LogicalResult convertReduce(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 2)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  std::optional<SmallVector<int64_t>> axes;
  if (ctx.opset < AxesInputSince) {
    axes = ctx.getInts("axes");
  } else if (ctx.hasInput(1)) {
    axes = ctx.constInts(1);
    if (!axes)
      return ctx.error() << "axes must be a constant";
  }
  bool keepDims = ctx.getInt("keepdims", 1);
  if ((!axes || axes->empty()) && ctx.getInt("noop_with_empty_axes", 0)) {
    ctx.setOutput(0, x, ctx.inputDType(0));
    return success();
  }
  FailureOr<SmallVector<int64_t>> ax =
      normalizeAxes(ctx, axes ? *axes : SmallVector<int64_t>{}, type.getRank());
  if (failed(ax))
    return failure();
  bool u = isUnsignedDType(ctx.inputDType(0));
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  if ((Kind == ReduceKind::L2 || Kind == ReduceKind::LogSum ||
       Kind == ReduceKind::LogSumExp || Kind == ReduceKind::Mean) &&
      !isFloatType(elem) && Kind != ReduceKind::Mean)
    return ctx.error() << "expects a floating-point input";

  Value input = x;
  Value shift; // LogSumExp subtracts the max for stability.
  if (Kind == ReduceKind::LogSumExp) {
    shift = reduceAxes(b, loc, x, *ax, /*keepDims=*/true,
                       extremeValue(b, loc, elem, true, u),
                       [&](OpBuilder &nb, Location nl, ValueRange a) {
                         return maxS(nb, nl, a[0], a[1], u);
                       });
    // A row of -inf gives -inf, not NaN.
    shift = elementwise(b, loc, {shift}, tensorDims(b, loc, shift), elem,
                        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                          Value isInf = arith::CmpFOp::create(
                              nb, nl, arith::CmpFPredicate::OEQ, a[0],
                              extremeValue(nb, nl, elem, true, false));
                          return arith::SelectOp::create(
                              nb, nl, isInf, scalarConstant(nb, nl, elem, 0.0),
                              a[0]);
                        });
    std::string error;
    input = elementwise(b, loc, {x, shift}, tensorDims(b, loc, x), elem,
                        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                          return math::ExpOp::create(
                              nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                        });
  }

  Value init;
  switch (Kind) {
  case ReduceKind::Max:
    init = extremeValue(b, loc, elem, true, u);
    break;
  case ReduceKind::Min:
    init = extremeValue(b, loc, elem, false, u);
    break;
  case ReduceKind::Prod:
    init = scalarConstant(b, loc, elem, 1.0);
    break;
  default:
    init = scalarConstant(b, loc, elem, 0.0);
  }
  Value reduced = reduceAxes(
      b, loc, input, *ax, keepDims, init,
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value v = a[0], acc = a[1];
        switch (Kind) {
        case ReduceKind::Max:
          return maxS(nb, nl, acc, v, u);
        case ReduceKind::Min:
          return minS(nb, nl, acc, v, u);
        case ReduceKind::Prod:
          return mulS(nb, nl, acc, v);
        case ReduceKind::SumSquare:
        case ReduceKind::L2:
          return addS(nb, nl, acc, mulS(nb, nl, v, v));
        case ReduceKind::L1:
          return addS(nb, nl, acc,
                      isFloatType(v.getType())
                          ? math::AbsFOp::create(nb, nl, v).getResult()
                          : math::AbsIOp::create(nb, nl, v).getResult());
        default:
          return addS(nb, nl, acc, v);
        }
      });
  if (Kind == ReduceKind::Mean || Kind == ReduceKind::L2 ||
      Kind == ReduceKind::LogSum || Kind == ReduceKind::LogSumExp) {
    Value count = Kind == ReduceKind::Mean
                      ? reducedCount(b, loc, x, *ax, elem)
                      : Value();
    SmallVector<Value> operands = {reduced};
    if (Kind == ReduceKind::LogSumExp) {
      SmallVector<OpFoldResult> outDims = tensorDims(b, loc, reduced);
      operands.push_back(keepDims ? shift
                                  : reshapeTensor(b, loc, shift, outDims));
    }
    reduced = elementwise(
        b, loc, operands, tensorDims(b, loc, reduced), elem,
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          switch (Kind) {
          case ReduceKind::Mean:
            return isFloatType(elem)
                       ? arith::DivFOp::create(nb, nl, a[0], count).getResult()
                       : arith::DivSIOp::create(nb, nl, a[0], count)
                             .getResult();
          case ReduceKind::L2:
            return math::SqrtOp::create(nb, nl, a[0]);
          case ReduceKind::LogSum:
            return math::LogOp::create(nb, nl, a[0]);
          default:
            return arith::AddFOp::create(
                nb, nl, math::LogOp::create(nb, nl, a[0]), a[1]);
          }
        });
  }
  ctx.setOutput(0, reduced, ctx.inputDType(0));
  return success();
}

/// ArgMax / ArgMin: index of the first (or last) extreme along one axis.
template <bool IsMax> static LogicalResult convertArgExtreme(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  MLIRContext *mctx = ctx.ctx();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  bool keepDims = ctx.getInt("keepdims", 1);
  bool lastIndex = ctx.getInt("select_last_index", 0);
  bool u = isUnsignedDType(ctx.inputDType(0));
  Type elem = type.getElementType();
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, x), outDims;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  for (int64_t i = 0; i < rank; ++i) {
    iters.push_back(i == *axis ? utils::IteratorType::reduction
                               : utils::IteratorType::parallel);
    if (i != *axis) {
      outDims.push_back(dims[i]);
      outExprs.push_back(getAffineDimExpr(i, mctx));
    } else if (keepDims) {
      outDims.push_back(b.getIndexAttr(1));
      outExprs.push_back(getAffineConstantExpr(0, mctx));
    }
  }
  Value best = splatTensor(b, loc, outDims, extremeValue(b, loc, elem, IsMax, u));
  Value index = splatTensor(b, loc, outDims,
                            scalarConstant(b, loc, b.getI64Type(), 0.0));
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, mctx);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{best.getType(), index.getType()}, ValueRange{x},
      ValueRange{best, index},
      SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank), outMap, outMap},
      iters, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value v = a[0], cur = a[1], curIdx = a[2];
        Value i = arith::IndexCastOp::create(
            nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, *axis));
        Value better;
        if (isFloatType(elem)) {
          auto pred = IsMax ? (lastIndex ? arith::CmpFPredicate::OGE
                                         : arith::CmpFPredicate::OGT)
                            : (lastIndex ? arith::CmpFPredicate::OLE
                                         : arith::CmpFPredicate::OLT);
          better = arith::CmpFOp::create(nb, nl, pred, v, cur);
        } else {
          auto pred = IsMax ? (lastIndex ? (u ? arith::CmpIPredicate::uge
                                              : arith::CmpIPredicate::sge)
                                         : (u ? arith::CmpIPredicate::ugt
                                              : arith::CmpIPredicate::sgt))
                            : (lastIndex ? (u ? arith::CmpIPredicate::ule
                                              : arith::CmpIPredicate::sle)
                                         : (u ? arith::CmpIPredicate::ult
                                              : arith::CmpIPredicate::slt));
          better = arith::CmpIOp::create(nb, nl, pred, v, cur);
        }
        // The first element always initializes (covers all -inf rows).
        Value first = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::eq, i,
            scalarConstant(nb, nl, nb.getI64Type(), 0.0));
        better = arith::OrIOp::create(nb, nl, better, first);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, better, v, cur),
                       arith::SelectOp::create(nb, nl, better, i, curIdx)});
      });
  ctx.setOutput(0, generic.getResult(1), kInt64);
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax, LogSoftmax
//===----------------------------------------------------------------------===//

template <bool Log> static LogicalResult convertSoftmax(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  if (!isFloatType(elem))
    return ctx.error() << "expects a floating-point input";
  int64_t rank = type.getRank();
  // Before opset 13 the input is coerced to 2-D at `axis`: normalize over
  // every dim from `axis` on. From 13 on, over `axis` alone.
  int64_t defaultAxis = ctx.opset < 13 ? 1 : -1;
  FailureOr<int64_t> axis =
      normalizeAxis(ctx, ctx.getInt("axis", defaultAxis), rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> axes = {*axis};
  if (ctx.opset < 13)
    axes = llvm::to_vector(llvm::seq<int64_t>(*axis, rank));
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, x);
  Value maxv = reduceAxes(b, loc, x, axes, true,
                          extremeValue(b, loc, elem, true, false),
                          [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                            return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
                          });
  Value shifted = elementwise(
      b, loc, {x, maxv}, dims, elem,
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::SubFOp::create(nb, nl, a[0], a[1]);
      });
  Value exps = elementwise(b, loc, {shifted}, dims, elem,
                           [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                             return math::ExpOp::create(nb, nl, a[0]);
                           });
  Value sum = reduceAxes(b, loc, exps, axes, true,
                         scalarConstant(b, loc, elem, 0.0),
                         [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                           return arith::AddFOp::create(nb, nl, a[1], a[0]);
                         });
  Value result = elementwise(
      b, loc, {Log ? shifted : exps, sum}, dims, elem,
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        if (Log)
          return arith::SubFOp::create(nb, nl, a[0],
                                       math::LogOp::create(nb, nl, a[1]));
        return arith::DivFOp::create(nb, nl, a[0], a[1]);
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// LayerNormalization, BatchNormalization
//===----------------------------------------------------------------------===//

static LogicalResult convertLayerNorm(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  Value x = ctx.input(0), scale = ctx.input(1);
  if (!x || !scale)
    return failure();
  Value bias;
  if (ctx.hasInput(2) && !(bias = ctx.input(2)))
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  if (!isFloatType(elem))
    return ctx.error() << "expects a floating-point input";
  int64_t rank = type.getRank();
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.getInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  // Statistics in f32 for half-precision inputs (stash_type = 1).
  Type stash = ctx.getInt("stash_type", 1) == 1 && elem.getIntOrFloatBitWidth() < 32
                   ? b.getF32Type()
                   : elem;
  Value xs = convertTensor(b, loc, x, stash);
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(*axis, rank));
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, x);
  Value count = reducedCount(b, loc, x, axes, stash);
  Value zero = scalarConstant(b, loc, stash, 0.0);
  auto sumOf = [&](Value t) {
    return reduceAxes(b, loc, t, axes, true, zero,
                      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                        return arith::AddFOp::create(nb, nl, a[1], a[0]);
                      });
  };
  Value sum = sumOf(xs);
  SmallVector<OpFoldResult> statDims = tensorDims(b, loc, sum);
  Value meanT = elementwise(b, loc, {sum}, statDims, stash,
                            [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                              return arith::DivFOp::create(nb, nl, a[0], count);
                            });
  Value centered = elementwise(
      b, loc, {xs, meanT}, dims, stash,
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::SubFOp::create(nb, nl, a[0], a[1]);
      });
  Value sq = elementwise(b, loc, {centered}, dims, stash,
                         [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                           return arith::MulFOp::create(nb, nl, a[0], a[0]);
                         });
  Value eps = scalarConstant(b, loc, stash, ctx.getFloat("epsilon", 1e-5f));
  Value invStd = elementwise(
      b, loc, {sumOf(sq)}, statDims, stash,
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value var = arith::DivFOp::create(nb, nl, a[0], count);
        return math::RsqrtOp::create(nb, nl,
                                     arith::AddFOp::create(nb, nl, var, eps));
      });
  SmallVector<Value> operands = {centered, invStd, scale};
  if (bias)
    operands.push_back(bias);
  std::string error;
  auto outDims = broadcastDims(b, loc, operands, error);
  if (failed(outDims))
    return ctx.error() << "scale/bias: " << error;
  Value y = elementwise(
      b, loc, operands, *outDims, elem,
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value n = arith::MulFOp::create(nb, nl, a[0], a[1]);
        n = convertScalar(nb, nl, n, elem, false, false);
        n = arith::MulFOp::create(nb, nl, n, a[2]);
        if (a.size() > 3)
          n = arith::AddFOp::create(nb, nl, n, a[3]);
        return n;
      });
  ctx.setOutput(0, y, ctx.inputDType(0));
  if (ctx.hasOutput(1))
    ctx.setOutput(1, meanT, typeToDType(stash));
  if (ctx.hasOutput(2))
    ctx.setOutput(2, invStd, typeToDType(stash));
  return success();
}

static LogicalResult convertBatchNorm(NodeContext &ctx) {
  if (failed(ctx.expectInputs(5, 5)))
    return failure();
  if (ctx.getInt("training_mode", 0))
    return ctx.error() << "training_mode = 1 is not supported (qopt compiles "
                          "for inference)";
  for (unsigned i = 1; i < ctx.numOutputs(); ++i)
    if (ctx.hasOutput(i))
      return ctx.error() << "training outputs (running mean/var) are not "
                            "supported";
  Value x = ctx.input(0);
  if (!x)
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  if (type.getRank() < 2)
    return ctx.error() << "input must have rank >= 2";
  // Each [C] parameter reshaped to [C, 1, ...] to broadcast over N, C, ...
  SmallVector<Value> params;
  for (unsigned i = 1; i <= 4; ++i) {
    Value p = ctx.input(i);
    if (!p)
      return failure();
    SmallVector<OpFoldResult> d = tensorDims(b, loc, p);
    for (int64_t j = 2; j < type.getRank(); ++j)
      d.push_back(b.getIndexAttr(1));
    params.push_back(convertTensor(b, loc, reshapeTensor(b, loc, p, d), elem));
  }
  Value eps = scalarConstant(b, loc, elem, ctx.getFloat("epsilon", 1e-5f));
  SmallVector<Value> operands = {x};
  operands.append(params);
  Value y = elementwise(
      b, loc, operands, tensorDims(b, loc, x), elem,
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        // (x - mean) / sqrt(var + eps) * scale + bias
        Value centered = arith::SubFOp::create(nb, nl, a[0], a[3]);
        Value inv = math::RsqrtOp::create(
            nb, nl, arith::AddFOp::create(nb, nl, a[4], eps));
        Value n = arith::MulFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, centered, inv), a[1]);
        return arith::AddFOp::create(nb, nl, n, a[2]);
      });
  ctx.setOutput(0, y, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// A sliding-window reduction over the spatial dims of an NC... tensor.
/// Loops: (n, c, o_1..o_s, k_1..k_s).
static Value poolWindows(OpBuilder &b, Location loc, Value x,
                         ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                         ArrayRef<int64_t> dilations,
                         ArrayRef<OpFoldResult> outDims, Value init,
                         bool isMax, bool isUnsigned = false) {
  MLIRContext *mctx = b.getContext();
  int64_t s = kernel.size();
  Type elem = cast<RankedTensorType>(x.getType()).getElementType();
  Value window = emptyTensor(
      b, loc,
      llvm::to_vector(llvm::map_range(
          kernel, [&](int64_t k) -> OpFoldResult { return b.getIndexAttr(k); })),
      elem);
  Value out = splatTensor(b, loc, outDims, init);
  int64_t loops = 2 + 2 * s;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, mctx); };
  SmallVector<AffineExpr> inExprs = {d(0), d(1)}, kExprs, outExprs = {d(0),
                                                                      d(1)};
  for (int64_t i = 0; i < s; ++i) {
    inExprs.push_back(d(2 + i) * strides[i] + d(2 + s + i) * dilations[i]);
    kExprs.push_back(d(2 + s + i));
    outExprs.push_back(d(2 + i));
  }
  SmallVector<utils::IteratorType> iters(2 + s, utils::IteratorType::parallel);
  iters.append(s, utils::IteratorType::reduction);
  return linalg::GenericOp::create(
             b, loc, out.getType(), ValueRange{x, window}, ValueRange{out},
             SmallVector<AffineMap>{AffineMap::get(loops, 0, inExprs, mctx),
                                    AffineMap::get(loops, 0, kExprs, mctx),
                                    AffineMap::get(loops, 0, outExprs, mctx)},
             iters,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value r = isMax ? maxS(nb, nl, a[2], a[0], isUnsigned)
                               : addS(nb, nl, a[2], a[0]);
               linalg::YieldOp::create(nb, nl, r);
             })
      .getResult(0);
}

template <bool IsMax> static LogicalResult convertPool(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  if (ctx.hasOutput(1))
    return ctx.error() << "the Indices output of MaxPool is not supported";
  Value x = ctx.input(0);
  if (!x)
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  int64_t s = type.getRank() - 2;
  if (s < 1)
    return ctx.error() << "input must have rank >= 3";
  std::optional<SmallVector<int64_t>> kernel = ctx.getInts("kernel_shape");
  if (!kernel || static_cast<int64_t>(kernel->size()) != s)
    return ctx.error() << "kernel_shape must have " << s << " values";
  SmallVector<int64_t> strides =
      ctx.getInts("strides").value_or(SmallVector<int64_t>(s, 1));
  SmallVector<int64_t> dilations =
      ctx.getInts("dilations").value_or(SmallVector<int64_t>(s, 1));
  if (static_cast<int64_t>(strides.size()) != s ||
      static_cast<int64_t>(dilations.size()) != s)
    return ctx.error() << "strides and dilations must have " << s << " values";
  bool ceilMode = ctx.getInt("ceil_mode", 0);
  std::string autoPad = ctx.getString("auto_pad", "NOTSET");
  SmallVector<int64_t> padBegin(s, 0), padEnd(s, 0);
  SmallVector<int64_t> inSpatial(type.getShape().drop_front(2));
  if (autoPad == "NOTSET") {
    if (auto pads = ctx.getInts("pads")) {
      if (static_cast<int64_t>(pads->size()) != 2 * s)
        return ctx.error() << "pads must have " << 2 * s << " values";
      for (int64_t i = 0; i < s; ++i) {
        padBegin[i] = (*pads)[i];
        padEnd[i] = (*pads)[s + i];
      }
    }
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int64_t i = 0; i < s; ++i) {
      if (ShapedType::isDynamic(inSpatial[i]))
        return ctx.error() << "auto_pad needs static spatial dims";
      int64_t out = (inSpatial[i] + strides[i] - 1) / strides[i];
      int64_t total = std::max<int64_t>(
          0, (out - 1) * strides[i] + (((*kernel)[i] - 1) * dilations[i] + 1) -
                 inSpatial[i]);
      padBegin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      padEnd[i] = total - padBegin[i];
    }
  } else if (autoPad != "VALID") {
    return ctx.error() << "unknown auto_pad '" << autoPad << "'";
  }

  // Output sizes; ceil mode may need extra padding at the end, which never
  // counts as an element.
  IndexMath im{b, loc};
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, x);
  SmallVector<OpFoldResult> outDims = {dims[0], dims[1]};
  SmallVector<int64_t> extraEnd(s, 0);
  for (int64_t i = 0; i < s; ++i) {
    int64_t span = ((*kernel)[i] - 1) * dilations[i] + 1;
    std::optional<int64_t> in = getConstantIntValue(dims[2 + i]);
    if (!in) {
      if (ceilMode)
        return ctx.error() << "ceil_mode needs static spatial dims";
      outDims.push_back(im.add(
          im.div(im.sub(dims[2 + i], im.c(span - padBegin[i] - padEnd[i])),
                 im.c(strides[i])),
          im.c(1)));
      continue;
    }
    int64_t padded = *in + padBegin[i] + padEnd[i];
    int64_t out;
    if (ceilMode) {
      out = llvm::divideCeilSigned(padded - span, strides[i]) + 1;
      // The last window must start inside the input or the begin pad.
      if ((out - 1) * strides[i] >= *in + padBegin[i])
        --out;
    } else {
      out = (padded - span) / strides[i] + 1;
    }
    extraEnd[i] = std::max<int64_t>(0, (out - 1) * strides[i] + span - padded);
    outDims.push_back(im.c(out));
  }

  SmallVector<int64_t> lo = {0, 0}, hi = {0, 0};
  for (int64_t i = 0; i < s; ++i) {
    lo.push_back(padBegin[i]);
    hi.push_back(padEnd[i] + extraEnd[i]);
  }
  if (IsMax) {
    Value lowest = extremeValue(b, loc, elem, true,
                                isUnsignedDType(ctx.inputDType(0)));
    Value padded = padTensor(b, loc, x, lo, hi, lowest);
    ctx.setOutput(0,
                  poolWindows(b, loc, padded, *kernel, strides, dilations,
                              outDims, lowest, true,
                              isUnsignedDType(ctx.inputDType(0))),
                  ctx.inputDType(0));
    return success();
  }
  // AveragePool: window sums divided by the number of counted elements,
  // which a second pooling over ones computes (pads count only with
  // count_include_pad; ceil-mode overhang never counts).
  Value zero = scalarConstant(b, loc, elem, 0.0);
  Value sums = poolWindows(b, loc, padTensor(b, loc, x, lo, hi, zero), *kernel,
                           strides, dilations, outDims, zero, false);
  bool includePad = ctx.getInt("count_include_pad", 0);
  Value ones = splatTensor(b, loc, dims, scalarConstant(b, loc, elem, 1.0));
  SmallVector<int64_t> onesLo = {0, 0}, onesHi = {0, 0};
  for (int64_t i = 0; i < s; ++i) {
    onesLo.push_back(padBegin[i]);
    onesHi.push_back(padEnd[i]);
  }
  if (includePad)
    ones = padTensor(b, loc, ones, onesLo, onesHi,
                     scalarConstant(b, loc, elem, 1.0));
  SmallVector<int64_t> restLo = {0, 0}, restHi = {0, 0};
  for (int64_t i = 0; i < s; ++i) {
    restLo.push_back(includePad ? 0 : padBegin[i]);
    restHi.push_back(includePad ? extraEnd[i] : padEnd[i] + extraEnd[i]);
  }
  ones = padTensor(b, loc, ones, restLo, restHi, zero);
  Value counts = poolWindows(b, loc, ones, *kernel, strides, dilations, outDims,
                             zero, false);
  Value avg = elementwise(b, loc, {sums, counts}, outDims, elem,
                          [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                            return arith::DivFOp::create(nb, nl, a[0], a[1]);
                          });
  ctx.setOutput(0, avg, ctx.inputDType(0));
  return success();
}

template <bool IsMax> static LogicalResult convertGlobalPool(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto type = cast<RankedTensorType>(x.getType());
  Type elem = type.getElementType();
  if (type.getRank() < 3)
    return ctx.error() << "input must have rank >= 3";
  SmallVector<int64_t> axes =
      llvm::to_vector(llvm::seq<int64_t>(2, type.getRank()));
  bool u = isUnsignedDType(ctx.inputDType(0));
  Value init = IsMax ? extremeValue(b, loc, elem, true, u)
                     : scalarConstant(b, loc, elem, 0.0);
  Value r = reduceAxes(b, loc, x, axes, true, init,
                       [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         return IsMax ? maxS(nb, nl, a[1], a[0], u)
                                      : addS(nb, nl, a[1], a[0]);
                       });
  if (!IsMax) {
    Value count = reducedCount(b, loc, x, axes, elem);
    r = elementwise(b, loc, {r}, tensorDims(b, loc, r), elem,
                    [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                      return arith::DivFOp::create(nb, nl, a[0], count);
                    });
  }
  ctx.setOutput(0, r, ctx.inputDType(0));
  return success();
}

void qopt::onnx_import::registerReductionOps(OpRegistry &r) {
  r.add("", "ReduceSum", convertReduce<ReduceKind::Sum, 13>, 1);
  r.add("", "ReduceMean", convertReduce<ReduceKind::Mean, 18>, 1);
  r.add("", "ReduceMax", convertReduce<ReduceKind::Max, 18>, 1);
  r.add("", "ReduceMin", convertReduce<ReduceKind::Min, 18>, 1);
  r.add("", "ReduceProd", convertReduce<ReduceKind::Prod, 18>, 1);
  r.add("", "ReduceSumSquare", convertReduce<ReduceKind::SumSquare, 18>, 1);
  r.add("", "ReduceL1", convertReduce<ReduceKind::L1, 18>);
  r.add("", "ReduceL2", convertReduce<ReduceKind::L2, 18>);
  r.add("", "ReduceLogSum", convertReduce<ReduceKind::LogSum, 18>, 1);
  r.add("", "ReduceLogSumExp", convertReduce<ReduceKind::LogSumExp, 18>, 1);
  r.add("", "ArgMax", convertArgExtreme<true>);
  r.add("", "ArgMin", convertArgExtreme<false>);
  r.add("", "Softmax", convertSoftmax<false>);
  r.add("", "LogSoftmax", convertSoftmax<true>);
  r.add("", "LayerNormalization", convertLayerNorm, 17);
  r.add("", "BatchNormalization", convertBatchNorm, 7);
  r.add("", "MaxPool", convertPool<true>);
  r.add("", "AveragePool", convertPool<false>);
  r.add("", "GlobalAveragePool", convertGlobalPool<false>, 1);
  r.add("", "GlobalMaxPool", convertGlobalPool<true>, 1);
}
