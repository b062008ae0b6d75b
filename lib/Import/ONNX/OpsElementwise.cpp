//===- OpsElementwise.cpp - element-wise ONNX operators -------------------===//
//
// Unary and binary arithmetic, activations, comparisons, logic, Where, Clip,
// Cast: each becomes one linalg.generic over the (numpy-broadcast) operands
// with arith/math in its body. Integer shape computations on tracked values
// stay symbolic instead (see ValueInfo::elems).
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using namespace qopt::onnx_import;

namespace {
/// Scalar semantics of a binary op for one element type.
using BinaryFn = Value (*)(OpBuilder &, Location, Value, Value, bool isUnsigned);
/// Scalar semantics of a unary op; `ctx` gives access to attributes.
using UnaryFn = Value (*)(NodeContext &, OpBuilder &, Location, Value);
} // namespace

static bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

static Value cst(OpBuilder &b, Location loc, Value like, double v) {
  return scalarConstant(b, loc, like.getType(), v);
}

//===----------------------------------------------------------------------===//
// Shape arithmetic on tracked integer values
//===----------------------------------------------------------------------===//

/// Folds or builds `a op b` on index-valued sizes.
static OpFoldResult indexArith(OpBuilder &b, Location loc, llvm::StringRef op,
                               OpFoldResult lhs, OpFoldResult rhs) {
  std::optional<int64_t> l = getConstantIntValue(lhs),
                         r = getConstantIntValue(rhs);
  if (l && r) {
    int64_t v = op == "Add"   ? *l + *r
                : op == "Sub" ? *l - *r
                : op == "Mul" ? *l * *r
                : (*r == 0 ? 0 : *l / *r);
    return b.getI64IntegerAttr(v);
  }
  if (op == "Mul" && (l == 1 || r == 1))
    return l == 1 ? rhs : lhs;
  if ((op == "Add" || op == "Sub") && r == 0)
    return lhs;
  if (op == "Div" && r == 1)
    return lhs;
  Value a = dimValue(b, loc, lhs), c = dimValue(b, loc, rhs);
  if (op == "Add")
    return arith::AddIOp::create(b, loc, a, c).getResult();
  if (op == "Sub")
    return arith::SubIOp::create(b, loc, a, c).getResult();
  if (op == "Mul")
    return arith::MulIOp::create(b, loc, a, c).getResult();
  return arith::DivSIOp::create(b, loc, a, c).getResult();
}

/// Add/Sub/Mul/Div (and Neg) of small integer values whose elements are
/// known (tracked shape values or constants): the result stays a list, so
/// shape computations fold or stay symbolic. Returns false if not applicable.
static bool tryShapeArith(NodeContext &ctx) {
  llvm::StringRef op = ctx.node.op_type();
  bool unary = op == "Neg";
  if (!isIntDType(ctx.inputDType(0)) ||
      (!unary && ctx.inputDType(0) != ctx.inputDType(1)))
    return false;
  ValueInfo *a = ctx.importer.lookup(ctx.node.input(0));
  ValueInfo *b = unary ? a : ctx.importer.lookup(ctx.node.input(1));
  if (!a || !b || a->type.getRank() > 1 || b->type.getRank() > 1)
    return false;
  std::optional<SmallVector<OpFoldResult>> l = ctx.intElems(0);
  std::optional<SmallVector<OpFoldResult>> r =
      unary ? SmallVector<OpFoldResult>{ctx.b.getI64IntegerAttr(0)}
            : ctx.intElems(1);
  if (!l || !r)
    return false;
  if (unary) {
    std::swap(l, r); // 0 - x
    op = "Sub";
  }
  if (l->size() != r->size() && l->size() != 1 && r->size() != 1)
    return false;
  size_t n = std::max(l->size(), r->size());
  SmallVector<OpFoldResult> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(indexArith(ctx.b, ctx.loc, op, (*l)[l->size() == 1 ? 0 : i],
                             (*r)[r->size() == 1 ? 0 : i]));
  bool rank0 = a->type.getRank() == 0 && b->type.getRank() == 0;
  ctx.setOutputElems(0, out, ctx.inputDType(0), rank0);
  return true;
}

//===----------------------------------------------------------------------===//
// Binary operators
//===----------------------------------------------------------------------===//

static Value addFn(OpBuilder &b, Location loc, Value x, Value y, bool) {
  return isFloat(x) ? arith::AddFOp::create(b, loc, x, y).getResult()
                    : arith::AddIOp::create(b, loc, x, y).getResult();
}
static Value subFn(OpBuilder &b, Location loc, Value x, Value y, bool) {
  return isFloat(x) ? arith::SubFOp::create(b, loc, x, y).getResult()
                    : arith::SubIOp::create(b, loc, x, y).getResult();
}
static Value mulFn(OpBuilder &b, Location loc, Value x, Value y, bool) {
  return isFloat(x) ? arith::MulFOp::create(b, loc, x, y).getResult()
                    : arith::MulIOp::create(b, loc, x, y).getResult();
}
static Value divFn(OpBuilder &b, Location loc, Value x, Value y, bool u) {
  if (isFloat(x))
    return arith::DivFOp::create(b, loc, x, y);
  // ONNX integer division truncates toward zero (C semantics).
  return u ? arith::DivUIOp::create(b, loc, x, y).getResult()
           : arith::DivSIOp::create(b, loc, x, y).getResult();
}
static Value maxFn(OpBuilder &b, Location loc, Value x, Value y, bool u) {
  if (isFloat(x))
    return arith::MaximumFOp::create(b, loc, x, y);
  return u ? arith::MaxUIOp::create(b, loc, x, y).getResult()
           : arith::MaxSIOp::create(b, loc, x, y).getResult();
}
static Value minFn(OpBuilder &b, Location loc, Value x, Value y, bool u) {
  if (isFloat(x))
    return arith::MinimumFOp::create(b, loc, x, y);
  return u ? arith::MinUIOp::create(b, loc, x, y).getResult()
           : arith::MinSIOp::create(b, loc, x, y).getResult();
}
static Value andFn(OpBuilder &b, Location loc, Value x, Value y, bool) {
  return arith::AndIOp::create(b, loc, x, y);
}
static Value orFn(OpBuilder &b, Location loc, Value x, Value y, bool) {
  return arith::OrIOp::create(b, loc, x, y);
}
static Value xorFn(OpBuilder &b, Location loc, Value x, Value y, bool) {
  return arith::XOrIOp::create(b, loc, x, y);
}
template <arith::CmpFPredicate F, arith::CmpIPredicate S, arith::CmpIPredicate U>
static Value cmpFn(OpBuilder &b, Location loc, Value x, Value y, bool u) {
  if (isFloat(x))
    return arith::CmpFOp::create(b, loc, F, x, y);
  return arith::CmpIOp::create(b, loc, u ? U : S, x, y);
}

/// Converts a node whose inputs broadcast together and whose scalar semantics
/// are `fn`; `compare` makes the result bool.
static LogicalResult convertBinary(NodeContext &ctx, BinaryFn fn,
                                   bool compare) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  if (!compare && (ctx.node.op_type() == "Add" || ctx.node.op_type() == "Sub" ||
                   ctx.node.op_type() == "Mul" || ctx.node.op_type() == "Div") &&
      tryShapeArith(ctx))
    return success();
  Value x = ctx.input(0), y = ctx.input(1);
  if (!x || !y)
    return failure();
  Type elem = cast<RankedTensorType>(x.getType()).getElementType();
  if (elem != cast<RankedTensorType>(y.getType()).getElementType())
    return ctx.error() << "operand types differ: "
                       << dtypeName(ctx.inputDType(0)) << " and "
                       << dtypeName(ctx.inputDType(1));
  std::string error;
  auto dims = broadcastDims(ctx.b, ctx.loc, {x, y}, error);
  if (failed(dims))
    return ctx.error() << error;
  bool isUnsigned = isUnsignedDType(ctx.inputDType(0));
  Value result = elementwise(
      ctx.b, ctx.loc, {x, y}, *dims, compare ? ctx.b.getI1Type() : elem,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        return fn(b, loc, args[0], args[1], isUnsigned);
      });
  ctx.setOutput(0, result, compare ? kBool : ctx.inputDType(0));
  return success();
}

template <BinaryFn Fn> static LogicalResult binaryOp(NodeContext &ctx) {
  return convertBinary(ctx, Fn, /*compare=*/false);
}
template <BinaryFn Fn> static LogicalResult compareOp(NodeContext &ctx) {
  // Known values (constants, shapes, inputs fixed by --input-value) compare
  // at compile time; so does a size (never negative) with a negative
  // constant: PyTorch's Reshape/Expand exports test shapes for -1.
  if (ctx.node.op_type() == "Equal" && isIntDType(ctx.inputDType(0))) {
    ValueInfo *a = ctx.importer.lookup(ctx.node.input(0));
    ValueInfo *b = ctx.importer.lookup(ctx.node.input(1));
    std::optional<SmallVector<OpFoldResult>> l = ctx.intElems(0),
                                             r = ctx.intElems(1);
    if (a && b && l && r && a->type.getRank() <= 1 && b->type.getRank() <= 1 &&
        (l->size() == r->size() || l->size() == 1 || r->size() == 1)) {
      SmallVector<OpFoldResult> out;
      size_t n = std::max(l->size(), r->size());
      bool decided = true;
      for (size_t i = 0; i < n && decided; ++i) {
        OpFoldResult p = (*l)[l->size() == 1 ? 0 : i];
        OpFoldResult q = (*r)[r->size() == 1 ? 0 : i];
        std::optional<int64_t> cp = getConstantIntValue(p),
                               cq = getConstantIntValue(q);
        if (cp && cq)
          out.push_back(ctx.b.getI64IntegerAttr(*cp == *cq));
        else if ((cp && *cp < 0) || (cq && *cq < 0))
          out.push_back(ctx.b.getI64IntegerAttr(0));
        else
          decided = false;
      }
      if (decided) {
        ctx.setOutputElems(0, out, kBool,
                           a->type.getRank() == 0 && b->type.getRank() == 0);
        return success();
      }
    }
  }
  return convertBinary(ctx, Fn, /*compare=*/true);
}

/// Max, Min, Sum, Mean: variadic with broadcasting.
template <BinaryFn Fn, bool Mean = false>
static LogicalResult variadicOp(NodeContext &ctx) {
  if (ctx.numInputs() < 1)
    return ctx.error() << "expected at least one input";
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    Value v = ctx.input(i);
    if (!v)
      return failure();
    inputs.push_back(v);
  }
  std::string error;
  auto dims = broadcastDims(ctx.b, ctx.loc, inputs, error);
  if (failed(dims))
    return ctx.error() << error;
  Type elem = cast<RankedTensorType>(inputs[0].getType()).getElementType();
  bool isUnsigned = isUnsignedDType(ctx.inputDType(0));
  Value result = elementwise(
      ctx.b, ctx.loc, inputs, *dims, elem,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value acc = args[0];
        for (Value v : args.drop_front())
          acc = Fn(b, loc, acc, v, isUnsigned);
        if (Mean)
          acc = divFn(b, loc, acc, cst(b, loc, acc, args.size()), isUnsigned);
        return acc;
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

static LogicalResult convertPow(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  Value x = ctx.input(0), y = ctx.input(1);
  if (!x || !y)
    return failure();
  std::string error;
  auto dims = broadcastDims(ctx.b, ctx.loc, {x, y}, error);
  if (failed(dims))
    return ctx.error() << error;
  Type elem = cast<RankedTensorType>(x.getType()).getElementType();
  bool xUnsigned = isUnsignedDType(ctx.inputDType(0));
  bool yUnsigned = isUnsignedDType(ctx.inputDType(1));
  Value result = elementwise(
      ctx.b, ctx.loc, {x, y}, *dims, elem,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value base = args[0], exp = args[1];
        if (isFloat(base)) {
          exp = convertScalar(b, loc, exp, base.getType(), yUnsigned, false);
          return math::PowFOp::create(b, loc, base, exp);
        }
        if (!isFloat(exp)) {
          exp = convertScalar(b, loc, exp, base.getType(), yUnsigned, false);
          return math::IPowIOp::create(b, loc, base, exp);
        }
        // Integer base, float exponent: compute in float, truncate back.
        Value fb = convertScalar(b, loc, base, exp.getType(), xUnsigned, false);
        Value p = math::PowFOp::create(b, loc, fb, exp);
        return convertScalar(b, loc, p, base.getType(), false, xUnsigned);
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

static LogicalResult convertPRelu(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  Value x = ctx.input(0), slope = ctx.input(1);
  if (!x || !slope)
    return failure();
  // The slope broadcasts to X (unidirectionally).
  SmallVector<OpFoldResult> dims = tensorDims(ctx.b, ctx.loc, x);
  Value result = elementwise(
      ctx.b, ctx.loc, {x, slope}, dims,
      cast<RankedTensorType>(x.getType()).getElementType(),
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value v = args[0], s = args[1];
        Value zero = cst(b, loc, v, 0);
        Value neg = isFloat(v)
                        ? arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                                v, zero)
                              .getResult()
                        : arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                                v, zero)
                              .getResult();
        return arith::SelectOp::create(b, loc, neg, mulFn(b, loc, v, s, false),
                                       v);
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

static LogicalResult convertWhere(NodeContext &ctx) {
  if (failed(ctx.expectInputs(3, 3)))
    return failure();
  // Selecting between tracked shape values with a decided condition keeps
  // them tracked.
  std::optional<SmallVector<int64_t>> cond = ctx.constInts(0);
  std::optional<SmallVector<OpFoldResult>> a = ctx.intElems(1),
                                           bElems = ctx.intElems(2);
  ValueInfo *ai = ctx.importer.lookup(ctx.node.input(1));
  ValueInfo *bi = ctx.importer.lookup(ctx.node.input(2));
  if (cond && a && bElems && ai && bi && (ai->elems || bi->elems) &&
      ai->type.getRank() <= 1 && bi->type.getRank() <= 1 &&
      ctx.inputType(0).getRank() <= 1) {
    size_t n = std::max({cond->size(), a->size(), bElems->size()});
    auto at = [](auto &v, size_t i) { return v[v.size() == 1 ? 0 : i]; };
    if ((cond->size() == 1 || cond->size() == n) &&
        (a->size() == 1 || a->size() == n) &&
        (bElems->size() == 1 || bElems->size() == n)) {
      SmallVector<OpFoldResult> out;
      for (size_t i = 0; i < n; ++i)
        out.push_back(at(*cond, i) ? at(*a, i) : at(*bElems, i));
      ctx.setOutputElems(0, out, ctx.inputDType(1),
                         ai->type.getRank() == 0 && bi->type.getRank() == 0 &&
                             ctx.inputType(0).getRank() == 0);
      return success();
    }
  }
  Value c = ctx.input(0), x = ctx.input(1), y = ctx.input(2);
  if (!c || !x || !y)
    return failure();
  std::string error;
  auto dims = broadcastDims(ctx.b, ctx.loc, {c, x, y}, error);
  if (failed(dims))
    return ctx.error() << error;
  Value result = elementwise(
      ctx.b, ctx.loc, {c, x, y}, *dims,
      cast<RankedTensorType>(x.getType()).getElementType(),
      [](OpBuilder &b, Location loc, ValueRange args) -> Value {
        return arith::SelectOp::create(b, loc, args[0], args[1], args[2]);
      });
  ctx.setOutput(0, result, ctx.inputDType(1));
  return success();
}

//===----------------------------------------------------------------------===//
// Unary operators
//===----------------------------------------------------------------------===//

static Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = cst(b, loc, x, 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

static Value clampScalar(OpBuilder &b, Location loc, Value x, double lo,
                         double hi) {
  x = arith::MaximumFOp::create(b, loc, x, cst(b, loc, x, lo));
  return arith::MinimumFOp::create(b, loc, x, cst(b, loc, x, hi));
}

static Value isNegative(OpBuilder &b, Location loc, Value x) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x,
                               cst(b, loc, x, 0.0));
}

#define UNARY(name, body)                                                      \
  static Value name(NodeContext &ctx, OpBuilder &b, Location loc, Value x) {   \
    (void)ctx;                                                                 \
    body                                                                       \
  }

UNARY(sqrtFn, return math::SqrtOp::create(b, loc, x);)
UNARY(expFn, return math::ExpOp::create(b, loc, x);)
UNARY(logFn, return math::LogOp::create(b, loc, x);)
UNARY(tanhFn, return math::TanhOp::create(b, loc, x);)
UNARY(erfFn, return math::ErfOp::create(b, loc, x);)
UNARY(sinFn, return math::SinOp::create(b, loc, x);)
UNARY(cosFn, return math::CosOp::create(b, loc, x);)
UNARY(floorFn, return math::FloorOp::create(b, loc, x);)
UNARY(ceilFn, return math::CeilOp::create(b, loc, x);)
UNARY(roundFn, return math::RoundEvenOp::create(b, loc, x);)
UNARY(sigmoidFn, return sigmoid(b, loc, x);)
UNARY(reciprocalFn, return arith::DivFOp::create(b, loc, cst(b, loc, x, 1.0), x);)
UNARY(softsignFn, {
  Value d = arith::AddFOp::create(b, loc, cst(b, loc, x, 1.0),
                                  math::AbsFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, x, d);
})
UNARY(softplusFn, {
  // log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
  Value absx = math::AbsFOp::create(b, loc, x);
  Value t = math::Log1pOp::create(
      b, loc, math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, absx)));
  return arith::AddFOp::create(
      b, loc, arith::MaximumFOp::create(b, loc, x, cst(b, loc, x, 0.0)), t);
})
UNARY(negFn, {
  if (isFloat(x))
    return arith::NegFOp::create(b, loc, x);
  return arith::SubIOp::create(b, loc, cst(b, loc, x, 0), x);
})
UNARY(absFn, {
  if (isFloat(x))
    return math::AbsFOp::create(b, loc, x);
  if (isUnsignedDType(ctx.inputDType(0)))
    return x;
  return math::AbsIOp::create(b, loc, x);
})
UNARY(signFn, {
  if (isFloat(x)) {
    Value zero = cst(b, loc, x, 0.0);
    Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
    Value neg = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, zero);
    return arith::SelectOp::create(
        b, loc, pos, cst(b, loc, x, 1.0),
        arith::SelectOp::create(b, loc, neg, cst(b, loc, x, -1.0), zero));
  }
  Value zero = cst(b, loc, x, 0);
  if (isUnsignedDType(ctx.inputDType(0))) {
    Value pos = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x, zero);
    return arith::SelectOp::create(b, loc, pos, cst(b, loc, x, 1), zero);
  }
  Value pos = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, x, zero);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, zero);
  return arith::SelectOp::create(
      b, loc, pos, cst(b, loc, x, 1),
      arith::SelectOp::create(b, loc, neg, cst(b, loc, x, -1), zero));
})
UNARY(reluFn, {
  if (isFloat(x))
    return arith::MaximumFOp::create(b, loc, x, cst(b, loc, x, 0.0));
  return arith::MaxSIOp::create(b, loc, x, cst(b, loc, x, 0));
})
UNARY(leakyReluFn, {
  Value alpha = cst(b, loc, x, ctx.getFloat("alpha", 0.01f));
  return arith::SelectOp::create(b, loc, isNegative(b, loc, x),
                                 arith::MulFOp::create(b, loc, alpha, x), x);
})
UNARY(eluFn, {
  Value alpha = cst(b, loc, x, ctx.getFloat("alpha", 1.0f));
  Value em1 = math::ExpM1Op::create(b, loc, x);
  return arith::SelectOp::create(b, loc, isNegative(b, loc, x),
                                 arith::MulFOp::create(b, loc, alpha, em1), x);
})
UNARY(seluFn, {
  Value alpha = cst(b, loc, x, ctx.getFloat("alpha", 1.67326319217681884765625f));
  Value gamma = cst(b, loc, x, ctx.getFloat("gamma", 1.05070102214813232421875f));
  Value le = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLE, x,
                                   cst(b, loc, x, 0.0));
  Value negPart = arith::SubFOp::create(
      b, loc, arith::MulFOp::create(b, loc, alpha, math::ExpOp::create(b, loc, x)),
      alpha);
  return arith::MulFOp::create(b, loc, gamma,
                               arith::SelectOp::create(b, loc, le, negPart, x));
})
UNARY(hardSigmoidFn, {
  Value alpha = cst(b, loc, x, ctx.getFloat("alpha", 0.2f));
  Value beta = cst(b, loc, x, ctx.getFloat("beta", 0.5f));
  Value v = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, alpha, x),
                                  beta);
  return clampScalar(b, loc, v, 0.0, 1.0);
})
UNARY(hardSwishFn, {
  // x * max(0, min(1, x / 6 + 0.5)), with alpha = 1/6 as ONNX specifies.
  Value v = arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, x, 1.0 / 6.0)),
      cst(b, loc, x, 0.5));
  return arith::MulFOp::create(b, loc, x, clampScalar(b, loc, v, 0.0, 1.0));
})
UNARY(geluFn, {
  Value half = cst(b, loc, x, 0.5);
  Value one = cst(b, loc, x, 1.0);
  Value inner;
  if (ctx.getString("approximate", "none") == "tanh") {
    Value x3 = arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value t = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, cst(b, loc, x, 0.044715), x3));
    inner = math::TanhOp::create(
        b, loc,
        arith::MulFOp::create(b, loc, cst(b, loc, x, std::sqrt(2.0 / M_PI)), t));
  } else {
    inner = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, cst(b, loc, x, M_SQRT1_2)));
  }
  return arith::MulFOp::create(
      b, loc, arith::MulFOp::create(b, loc, half, x),
      arith::AddFOp::create(b, loc, one, inner));
})
UNARY(notFn, return arith::XOrIOp::create(
                 b, loc, x, scalarConstant(b, loc, b.getI1Type(), 1));)
#undef UNARY

/// `FloatOnly` ops reject integer inputs, as their ONNX schemas do.
template <UnaryFn Fn, bool FloatOnly = true>
static LogicalResult unaryOp(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  if (ctx.node.op_type() == "Neg" && tryShapeArith(ctx))
    return success();
  // Not of known bools (exporters' `if x.dim() != 2` guards) stays known,
  // so an If on it imports only the branch taken.
  if (ctx.node.op_type() == "Not" && ctx.inputDType(0) == kBool &&
      ctx.inputType(0) && ctx.inputType(0).getRank() <= 1)
    if (std::optional<SmallVector<int64_t>> bits = ctx.constInts(0)) {
      SmallVector<OpFoldResult> out;
      for (int64_t v : *bits)
        out.push_back(ctx.b.getI64IntegerAttr(v ? 0 : 1));
      ctx.setOutputElems(0, out, kBool, ctx.inputType(0).getRank() == 0);
      return success();
    }
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto type = cast<RankedTensorType>(x.getType());
  if (FloatOnly && !isa<FloatType>(type.getElementType()))
    return ctx.error() << "expects a floating-point input, got "
                       << dtypeName(ctx.inputDType(0));
  Value result = elementwise(
      ctx.b, ctx.loc, {x}, tensorDims(ctx.b, ctx.loc, x), type.getElementType(),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        return Fn(ctx, b, loc, args[0]);
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

static LogicalResult convertClip(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 3)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  Type elem = cast<RankedTensorType>(x.getType()).getElementType();
  bool isUnsigned = isUnsignedDType(ctx.inputDType(0));
  // Bounds: attributes before opset 11, optional scalar inputs after.
  Value lo, hi;
  if (ctx.opset < 11) {
    lo = scalarConstant(ctx.b, ctx.loc, elem,
                        ctx.getFloat("min", -std::numeric_limits<float>::max()));
    hi = scalarConstant(ctx.b, ctx.loc, elem,
                        ctx.getFloat("max", std::numeric_limits<float>::max()));
  } else {
    for (unsigned i : {1u, 2u}) {
      if (!ctx.hasInput(i))
        continue;
      Value t = ctx.input(i);
      if (!t)
        return failure();
      auto tt = cast<RankedTensorType>(t.getType());
      if (tt.getNumElements() != 1)
        return ctx.error() << "clip bound " << (i == 1 ? "min" : "max")
                           << " must be a scalar";
      SmallVector<Value> zeros(
          tt.getRank(), arith::ConstantIndexOp::create(ctx.b, ctx.loc, 0));
      (i == 1 ? lo : hi) = tensor::ExtractOp::create(ctx.b, ctx.loc, t, zeros);
    }
  }
  Value result = elementwise(
      ctx.b, ctx.loc, {x}, tensorDims(ctx.b, ctx.loc, x), elem,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value v = args[0];
        if (lo)
          v = maxFn(b, loc, v, lo, isUnsigned);
        if (hi)
          v = minFn(b, loc, v, hi, isUnsigned);
        return v;
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Cast, Identity, Dropout
//===----------------------------------------------------------------------===//

static LogicalResult castTo(NodeContext &ctx, int32_t to) {
  Type toType = dtypeToType(ctx.ctx(), to);
  if (!toType || to == kInt4 || to == kUInt4)
    return ctx.error() << "cast to " << dtypeName(to) << " (" << to
                       << ") is not supported";
  int32_t from = ctx.inputDType(0);
  // Casting tracked shape values between integer types keeps them tracked.
  if (isIntDType(to) && isIntDType(from)) {
    ValueInfo *info = ctx.importer.lookup(ctx.node.input(0));
    if (info && info->elems && info->type.getRank() <= 1) {
      ctx.setOutputElems(0, *info->elems, to, info->type.getRank() == 0);
      return success();
    }
    // Small integer constants whose values the target type holds become
    // tracked lists too, so that shapes built from them (Cast of a constant,
    // then Concat, as paddle2onnx emits) stay known at compile time.
    std::optional<SmallVector<int64_t>> ints;
    if (info && info->tensor && info->type.getRank() <= 1)
      ints = ctx.constInts(0);
    unsigned bits = dtypeBits(to);
    auto fits = [&](int64_t v) {
      if (bits >= 64)
        return !isUnsignedDType(to) || v >= 0;
      if (isUnsignedDType(to))
        return v >= 0 && v < (int64_t(1) << bits);
      return v >= -(int64_t(1) << (bits - 1)) &&
             v < (int64_t(1) << (bits - 1));
    };
    if (ints && llvm::all_of(*ints, fits)) {
      SmallVector<OpFoldResult> elems;
      for (int64_t v : *ints)
        elems.push_back(ctx.b.getI64IntegerAttr(v));
      ctx.setOutputElems(0, elems, to, info->type.getRank() == 0);
      return success();
    }
  }
  // Known bools and integers cast to or from bool stay known (If guards).
  if ((to == kBool || from == kBool) && (isIntDType(to) || to == kBool) &&
      (isIntDType(from) || from == kBool) && ctx.inputType(0) &&
      ctx.inputType(0).getRank() <= 1)
    if (std::optional<SmallVector<int64_t>> ints = ctx.constInts(0)) {
      SmallVector<OpFoldResult> elems;
      for (int64_t v : *ints)
        elems.push_back(ctx.b.getI64IntegerAttr(to == kBool ? v != 0 : v));
      ctx.setOutputElems(0, elems, to, ctx.inputType(0).getRank() == 0);
      return success();
    }
  Value x = ctx.input(0);
  if (!x)
    return failure();
  Value result =
      convertTensor(ctx.b, ctx.loc, x, toType, isUnsignedDType(from),
                    isUnsignedDType(to));
  ctx.setOutput(0, result, to);
  return success();
}

static LogicalResult convertCast(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  if (!ctx.hasAttr("to"))
    return ctx.error() << "missing attribute 'to'";
  return castTo(ctx, static_cast<int32_t>(ctx.getInt("to", 0)));
}

static LogicalResult convertCastLike(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  return castTo(ctx, ctx.inputDType(1));
}

static LogicalResult convertIdentity(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  ValueInfo *info = ctx.importer.lookup(ctx.node.input(0));
  if (!info)
    return ctx.error() << "input '" << ctx.node.input(0) << "' is undefined";
  ctx.importer.bind(ctx.node.output(0), *info);
  return success();
}

static LogicalResult convertDropout(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 3)))
    return failure();
  if (ctx.hasInput(2)) {
    std::optional<SmallVector<int64_t>> training = ctx.constInts(2);
    if (!training || training->empty())
      return ctx.error() << "training_mode must be a constant";
    if ((*training)[0])
      return ctx.error() << "training_mode = true is not supported (qopt "
                            "compiles for inference)";
  }
  ValueInfo *info = ctx.importer.lookup(ctx.node.input(0));
  if (!info)
    return ctx.error() << "input '" << ctx.node.input(0) << "' is undefined";
  ctx.importer.bind(ctx.node.output(0), *info);
  if (ctx.hasOutput(1)) {
    Value x = ctx.input(0);
    if (!x)
      return failure();
    Value mask = splatTensor(ctx.b, ctx.loc, tensorDims(ctx.b, ctx.loc, x),
                             scalarConstant(ctx.b, ctx.loc, ctx.b.getI1Type(), 1));
    ctx.setOutput(1, mask, kBool);
  }
  return success();
}

void qopt::onnx_import::registerElementwiseOps(OpRegistry &r) {
  r.add("", "Add", binaryOp<addFn>);
  r.add("", "Sub", binaryOp<subFn>);
  r.add("", "Mul", binaryOp<mulFn>);
  r.add("", "Div", binaryOp<divFn>);
  r.add("", "Pow", convertPow);
  r.add("", "PRelu", convertPRelu);
  r.add("", "And", binaryOp<andFn>);
  r.add("", "Or", binaryOp<orFn>);
  r.add("", "Xor", binaryOp<xorFn>);
  r.add("", "Max", variadicOp<maxFn>);
  r.add("", "Min", variadicOp<minFn>);
  r.add("", "Sum", variadicOp<addFn>);
  r.add("", "Mean", variadicOp<addFn, true>);
  r.add("", "Equal",
        compareOp<cmpFn<arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq,
                        arith::CmpIPredicate::eq>>);
  r.add("", "Less",
        compareOp<cmpFn<arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt,
                        arith::CmpIPredicate::ult>>);
  r.add("", "LessOrEqual",
        compareOp<cmpFn<arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle,
                        arith::CmpIPredicate::ule>>);
  r.add("", "Greater",
        compareOp<cmpFn<arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt,
                        arith::CmpIPredicate::ugt>>);
  r.add("", "GreaterOrEqual",
        compareOp<cmpFn<arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge,
                        arith::CmpIPredicate::uge>>);
  r.add("", "Where", convertWhere);
  r.add("", "Not", unaryOp<notFn, false>, 1);
  r.add("", "Sqrt", unaryOp<sqrtFn>, 6);
  r.add("", "Exp", unaryOp<expFn>, 6);
  r.add("", "Log", unaryOp<logFn>, 6);
  r.add("", "Tanh", unaryOp<tanhFn>, 6);
  r.add("", "Erf", unaryOp<erfFn>);
  r.add("", "Sin", unaryOp<sinFn>);
  r.add("", "Cos", unaryOp<cosFn>);
  r.add("", "Floor", unaryOp<floorFn>, 6);
  r.add("", "Ceil", unaryOp<ceilFn>, 6);
  r.add("", "Round", unaryOp<roundFn>);
  r.add("", "Reciprocal", unaryOp<reciprocalFn>, 6);
  r.add("", "Sigmoid", unaryOp<sigmoidFn>, 6);
  r.add("", "Softsign", unaryOp<softsignFn>, 1);
  r.add("", "Softplus", unaryOp<softplusFn>, 1);
  r.add("", "Neg", unaryOp<negFn, false>, 6);
  r.add("", "Abs", unaryOp<absFn, false>, 6);
  r.add("", "Sign", unaryOp<signFn, false>);
  r.add("", "Relu", unaryOp<reluFn, false>, 6);
  r.add("", "LeakyRelu", unaryOp<leakyReluFn>, 6);
  r.add("", "Elu", unaryOp<eluFn>, 6);
  r.add("", "Selu", unaryOp<seluFn>, 6);
  r.add("", "HardSigmoid", unaryOp<hardSigmoidFn>, 6);
  r.add("", "HardSwish", unaryOp<hardSwishFn>);
  r.add("", "Gelu", unaryOp<geluFn>, 20);
  r.add("", "Clip", convertClip, 6);
  r.add("", "Cast", convertCast);
  r.add("", "CastLike", convertCastLike, 15);
  r.add("", "Identity", convertIdentity);
  r.add("", "Dropout", convertDropout);
}
