//===- Builders.cpp - IR-building helpers of the ONNX importer ------------===//

#include "Importer.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace qopt::onnx_import;

Value qopt::onnx_import::emptyTensor(OpBuilder &b, Location loc,
                                     ArrayRef<OpFoldResult> dims,
                                     Type elementType) {
  return tensor::EmptyOp::create(b, loc, dims, elementType);
}

/// The SSA value a dynamic dim of `tensor` was created from, when the
/// producer says it: tensor.empty's sizes, a destination-style op's init,
/// expand_shape's output shape, a reshape's shape elements. Reusing these
/// values (rather than new tensor.dim ops) is what lets later reshapes prove
/// dims equal.
static Value traceDynamicDim(Value tensor, int64_t i) {
  for (int depth = 0; depth < 64; ++depth) {
    Operation *op = tensor.getDefiningOp();
    if (!op)
      return {};
    if (auto empty = dyn_cast<tensor::EmptyOp>(op))
      return empty.getDynamicSize(i);
    if (auto dps = dyn_cast<DestinationStyleOpInterface>(op)) {
      tensor = dps.getTiedOpOperand(cast<OpResult>(tensor))->get();
      continue;
    }
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
      return dyn_cast<Value>(expand.getMixedOutputShape()[i]);
    if (auto cast = dyn_cast<tensor::CastOp>(op)) {
      if (!cast.getSource().getType().isDynamicDim(i))
        return {};
      tensor = cast.getSource();
      continue;
    }
    if (auto reshape = dyn_cast<tensor::ReshapeOp>(op)) {
      auto elems = reshape.getShape().getDefiningOp<tensor::FromElementsOp>();
      if (!elems)
        return {};
      Value e = elems.getElements()[i];
      if (auto ic = e.getDefiningOp<arith::IndexCastOp>())
        if (ic.getIn().getType().isIndex())
          return ic.getIn();
      return {};
    }
    return {};
  }
  return {};
}

SmallVector<OpFoldResult> qopt::onnx_import::tensorDims(OpBuilder &b,
                                                        Location loc,
                                                        Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (!type.isDynamicDim(i)) {
      dims.push_back(b.getIndexAttr(type.getDimSize(i)));
      continue;
    }
    Value traced = traceDynamicDim(tensor, i);
    dims.push_back(traced ? traced
                          : tensor::DimOp::create(b, loc, tensor, i).getResult());
  }
  return dims;
}

SmallVector<int64_t>
qopt::onnx_import::staticShape(ArrayRef<OpFoldResult> dims) {
  SmallVector<int64_t> shape;
  for (OpFoldResult d : dims)
    shape.push_back(getConstantIntValue(d).value_or(ShapedType::kDynamic));
  return shape;
}

Value qopt::onnx_import::dimValue(OpBuilder &b, Location loc, OpFoldResult dim) {
  return getValueOrCreateConstantIndexOp(b, loc, dim);
}

static std::string shapeString(RankedTensorType type) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(type.getShape())) {
    if (i)
      s += ", ";
    s += ShapedType::isDynamic(d) ? "?" : std::to_string(d);
  }
  return s + "]";
}

FailureOr<SmallVector<OpFoldResult>>
qopt::onnx_import::broadcastDims(OpBuilder &b, Location loc,
                                 ArrayRef<Value> operands, std::string &error) {
  int64_t rank = 0;
  for (Value v : operands)
    rank = std::max(rank, cast<RankedTensorType>(v.getType()).getRank());
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < rank; ++i) {
    std::optional<int64_t> staticDim;
    Value dynamicFrom;
    int64_t dynamicIndex = 0;
    for (Value v : operands) {
      auto type = cast<RankedTensorType>(v.getType());
      int64_t j = i - (rank - type.getRank());
      if (j < 0)
        continue;
      int64_t d = type.getDimSize(j);
      if (ShapedType::isDynamic(d)) {
        if (!dynamicFrom) {
          dynamicFrom = v;
          dynamicIndex = j;
        }
        continue;
      }
      if (d == 1)
        continue;
      if (staticDim && *staticDim != d) {
        error = "cannot broadcast shapes";
        for (Value o : operands)
          error += " " + shapeString(cast<RankedTensorType>(o.getType()));
        return failure();
      }
      staticDim = d;
    }
    if (staticDim)
      dims.push_back(b.getIndexAttr(*staticDim));
    else if (dynamicFrom)
      dims.push_back(
          tensor::DimOp::create(b, loc, dynamicFrom, dynamicIndex).getResult());
    else
      dims.push_back(b.getIndexAttr(1));
  }
  return dims;
}

/// The indexing map that reads `operand` (broadcast by numpy rules) at the
/// iteration point of an output of shape `outShape`.
static AffineMap broadcastMap(MLIRContext *ctx, RankedTensorType operand,
                              ArrayRef<int64_t> outShape) {
  int64_t rank = outShape.size();
  SmallVector<AffineExpr> exprs;
  for (int64_t j = 0; j < operand.getRank(); ++j) {
    int64_t i = rank - operand.getRank() + j;
    if (operand.getDimSize(j) == 1 && outShape[i] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(i, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value qopt::onnx_import::elementwise(OpBuilder &b, Location loc,
                                     ArrayRef<Value> operands,
                                     ArrayRef<OpFoldResult> dims,
                                     Type resultElementType, ScalarFn fn) {
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> outShape = staticShape(dims);
  Value init = emptyTensor(b, loc, dims, resultElementType);
  SmallVector<AffineMap> maps;
  for (Value v : operands)
    maps.push_back(
        broadcastMap(ctx, cast<RankedTensorType>(v.getType()), outShape));
  maps.push_back(b.getMultiDimIdentityMap(outShape.size()));
  SmallVector<utils::IteratorType> iterators(outShape.size(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), operands, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value result = fn(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, result);
      });
  return generic.getResult(0);
}

Value qopt::onnx_import::reduceAxes(OpBuilder &b, Location loc, Value input,
                                    ArrayRef<int64_t> axes, bool keepDims,
                                    Value init, ScalarFn fn) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<OpFoldResult> inDims = tensorDims(b, loc, input);
  SmallVector<OpFoldResult> outDims;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    bool reduced = llvm::is_contained(axes, i);
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
    if (!reduced) {
      outDims.push_back(inDims[i]);
      outExprs.push_back(getAffineDimExpr(i, ctx));
    } else if (keepDims) {
      outDims.push_back(b.getIndexAttr(1));
      outExprs.push_back(getAffineConstantExpr(0, ctx));
    }
  }
  Value empty = emptyTensor(b, loc, outDims, init.getType());
  Value filled =
      linalg::FillOp::create(b, loc, init, empty).getResult(0);
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(type.getRank()),
      AffineMap::get(type.getRank(), 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, filled.getType(), ValueRange{input}, ValueRange{filled}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, fn(nb, nloc, args));
      });
  return generic.getResult(0);
}

Value qopt::onnx_import::scalarConstant(OpBuilder &b, Location loc, Type type,
                                        double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  if (type.isIndex())
    return arith::ConstantIndexOp::create(b, loc, static_cast<int64_t>(value));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value qopt::onnx_import::splatTensor(OpBuilder &b, Location loc,
                                     ArrayRef<OpFoldResult> dims,
                                     Value scalar) {
  Value empty = emptyTensor(b, loc, dims, scalar.getType());
  return linalg::FillOp::create(b, loc, scalar, empty).getResult(0);
}

Value qopt::onnx_import::convertScalar(OpBuilder &b, Location loc, Value value,
                                       Type to, bool srcUnsigned,
                                       bool dstUnsigned) {
  Type from = value.getType();
  if (from == to)
    return value;
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (fromFloat && toFloat)
    return fromFloat.getWidth() < toFloat.getWidth()
               ? arith::ExtFOp::create(b, loc, to, value).getResult()
               : arith::TruncFOp::create(b, loc, to, value).getResult();
  if (toFloat) {
    if (from.isInteger(1) || srcUnsigned)
      return arith::UIToFPOp::create(b, loc, to, value);
    return arith::SIToFPOp::create(b, loc, to, value);
  }
  if (to.isInteger(1)) {
    if (fromFloat)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, value,
                                   scalarConstant(b, loc, from, 0.0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, value,
                                 scalarConstant(b, loc, from, 0.0));
  }
  if (fromFloat)
    return dstUnsigned ? arith::FPToUIOp::create(b, loc, to, value).getResult()
                       : arith::FPToSIOp::create(b, loc, to, value).getResult();
  unsigned fromBits = from.getIntOrFloatBitWidth();
  unsigned toBits = to.getIntOrFloatBitWidth();
  if (fromBits > toBits)
    return arith::TruncIOp::create(b, loc, to, value);
  if (from.isInteger(1) || srcUnsigned)
    return arith::ExtUIOp::create(b, loc, to, value);
  return arith::ExtSIOp::create(b, loc, to, value);
}

Value qopt::onnx_import::convertTensor(OpBuilder &b, Location loc, Value tensor,
                                       Type to, bool srcUnsigned,
                                       bool dstUnsigned) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getElementType() == to)
    return tensor;
  return elementwise(b, loc, {tensor}, tensorDims(b, loc, tensor), to,
                     [&](OpBuilder &nb, Location nloc, ValueRange args) {
                       return convertScalar(nb, nloc, args[0], to, srcUnsigned,
                                            dstUnsigned);
                     });
}

Value qopt::onnx_import::transposeTensor(OpBuilder &b, Location loc,
                                         Value tensor, ArrayRef<int64_t> perm) {
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return tensor;
  SmallVector<OpFoldResult> dims = tensorDims(b, loc, tensor);
  SmallVector<OpFoldResult> outDims;
  for (int64_t p : perm)
    outDims.push_back(dims[p]);
  Value init = emptyTensor(
      b, loc, outDims, cast<RankedTensorType>(tensor.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, tensor, init, perm).getResult()[0];
}

/// True when two sizes are provably equal: equal constants, the same value,
/// or tensor.dim of the same tensor and index.
static bool sameDim(OpFoldResult a, OpFoldResult b) {
  std::optional<int64_t> ca = getConstantIntValue(a),
                         cb = getConstantIntValue(b);
  if (ca || cb)
    return ca && cb && *ca == *cb;
  Value va = cast<Value>(a), vb = cast<Value>(b);
  if (va == vb)
    return true;
  auto da = va.getDefiningOp<tensor::DimOp>();
  auto db = vb.getDefiningOp<tensor::DimOp>();
  if (!da || !db || da.getSource() != db.getSource())
    return false;
  std::optional<int64_t> ia = da.getConstantIndex(), ib = db.getConstantIndex();
  return ia && ib && *ia == *ib;
}

/// The factors of a size built by multiplications (IndexMath::mul).
static SmallVector<OpFoldResult> dimFactors(OpFoldResult d) {
  if (auto v = dyn_cast<Value>(d))
    if (auto mul = v.getDefiningOp<arith::MulIOp>()) {
      SmallVector<OpFoldResult> f = dimFactors(mul.getLhs());
      f.append(dimFactors(mul.getRhs()));
      return f;
    }
  if (std::optional<int64_t> c = getConstantIntValue(d))
    return {Builder(d.getContext()).getIndexAttr(*c)};
  return {d};
}

/// Whether `dims[start...]` begins with dims provably equal to `factors`, in
/// any order (a product does not keep the order of its factors).
static bool matchesFactors(ArrayRef<OpFoldResult> dims, size_t start,
                           ArrayRef<OpFoldResult> factors) {
  if (factors.size() < 2 || start + factors.size() > dims.size())
    return false;
  SmallVector<OpFoldResult> left(factors);
  for (size_t k = 0; k < factors.size(); ++k) {
    auto it = llvm::find_if(
        left, [&](OpFoldResult f) { return sameDim(dims[start + k], f); });
    if (it == left.end())
      return false;
    left.erase(it);
  }
  return true;
}

/// Pairs groups of source dims with groups of target dims of equal
/// (provable) size. Dynamic dims pair one-to-one with a provably equal dim;
/// static groups pair by product; unit dims join a neighbouring group.
/// Fails when no such grouping exists.
static LogicalResult
groupReshapeDims(ArrayRef<OpFoldResult> src, ArrayRef<OpFoldResult> dst,
                 SmallVectorImpl<ReassociationIndices> &srcGroups,
                 SmallVectorImpl<ReassociationIndices> &dstGroups) {
  size_t n = src.size(), m = dst.size(), i = 0, j = 0;
  auto isUnit = [](OpFoldResult d) { return getConstantIntValue(d) == 1; };
  while (i < n || j < m) {
    ReassociationIndices sg, dg;
    // Unit dims facing a non-unit dim join the group that follows.
    while (i < n && isUnit(src[i]) && !(j < m && isUnit(dst[j])))
      sg.push_back(i++);
    while (j < m && isUnit(dst[j]) && !(i < n && isUnit(src[i])))
      dg.push_back(j++);
    if (i == n || j == m) {
      // Only unit dims are left: they join the last group.
      if (i != n || j != m || srcGroups.empty())
        return failure();
      srcGroups.back().append(sg.begin(), sg.end());
      dstGroups.back().append(dg.begin(), dg.end());
      break;
    }
    std::optional<int64_t> si = getConstantIntValue(src[i]);
    std::optional<int64_t> dj = getConstantIntValue(dst[j]);
    if (!si || !dj) {
      SmallVector<OpFoldResult> df = dimFactors(dst[j]),
                                sf = dimFactors(src[i]);
      if (sameDim(src[i], dst[j])) {
        sg.push_back(i++);
        dg.push_back(j++);
      } else if (!dj && matchesFactors(src, i, df)) {
        // The target dim is the product of several source dims.
        for (size_t k = 0; k < df.size(); ++k)
          sg.push_back(i++);
        dg.push_back(j++);
      } else if (!si && matchesFactors(dst, j, sf)) {
        sg.push_back(i++);
        for (size_t k = 0; k < sf.size(); ++k)
          dg.push_back(j++);
      } else {
        return failure();
      }
    } else {
      int64_t sp = *si, dp = *dj;
      sg.push_back(i++);
      dg.push_back(j++);
      while (sp != dp) {
        bool growSrc = sp < dp;
        size_t &k = growSrc ? i : j;
        ArrayRef<OpFoldResult> dims = growSrc ? src : dst;
        std::optional<int64_t> c =
            k < dims.size() ? getConstantIntValue(dims[k]) : std::nullopt;
        if (!c)
          return failure();
        (growSrc ? sp : dp) *= *c;
        (growSrc ? sg : dg).push_back(k++);
      }
    }
    srcGroups.push_back(sg);
    dstGroups.push_back(dg);
  }
  return success();
}

Value qopt::onnx_import::reshapeTensor(OpBuilder &b, Location loc, Value tensor,
                                       ArrayRef<OpFoldResult> dims) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> srcDims = tensorDims(b, loc, tensor);
  auto resultType =
      RankedTensorType::get(staticShape(dims), type.getElementType());
  if (resultType == type && llvm::all_of(llvm::zip(srcDims, dims), [](auto p) {
        return sameDim(std::get<0>(p), std::get<1>(p));
      }))
    return tensor;

  SmallVector<ReassociationIndices> srcGroups, dstGroups;
  auto allUnit = [](ArrayRef<OpFoldResult> ds) {
    return llvm::all_of(ds, [](OpFoldResult d) {
      return getConstantIntValue(d) == 1;
    });
  };
  // To or from rank 0: only unit dims, with an empty reassociation.
  if (srcDims.empty() && allUnit(dims))
    return tensor::ExpandShapeOp::create(b, loc, resultType, tensor,
                                         ArrayRef<ReassociationIndices>{}, dims);
  if (dims.empty() && allUnit(srcDims))
    return tensor::CollapseShapeOp::create(b, loc, resultType, tensor,
                                           ArrayRef<ReassociationIndices>{});
  if (!srcDims.empty() && !dims.empty() &&
      succeeded(groupReshapeDims(srcDims, dims, srcGroups, dstGroups))) {
    Value current = tensor;
    // Collapse each source group to one dim, then expand to the target.
    if (llvm::any_of(srcGroups, [](auto &g) { return g.size() > 1; })) {
      SmallVector<int64_t> midShape;
      for (auto &g : srcGroups) {
        int64_t p = 1;
        for (int64_t i : g) {
          if (ShapedType::isDynamic(type.getDimSize(i))) {
            p = ShapedType::kDynamic;
            break;
          }
          p *= type.getDimSize(i);
        }
        midShape.push_back(p);
      }
      current = tensor::CollapseShapeOp::create(
          b, loc, RankedTensorType::get(midShape, type.getElementType()),
          current, srcGroups);
    }
    if (llvm::any_of(dstGroups, [](auto &g) { return g.size() > 1; }))
      current = tensor::ExpandShapeOp::create(b, loc, resultType, current,
                                              dstGroups, dims);
    else if (current.getType() != resultType)
      current = tensor::CastOp::create(b, loc, resultType, current);
    return current;
  }

  // General case: a runtime shape operand.
  SmallVector<Value> dimValues;
  for (OpFoldResult d : dims)
    dimValues.push_back(arith::IndexCastOp::create(
        b, loc, b.getI64Type(), dimValue(b, loc, d)));
  Value shape = tensor::FromElementsOp::create(
      b, loc, RankedTensorType::get({(int64_t)dims.size()}, b.getI64Type()),
      dimValues);
  return tensor::ReshapeOp::create(b, loc, resultType, tensor, shape);
}

Value qopt::onnx_import::broadcastTo(OpBuilder &b, Location loc, Value tensor,
                                     ArrayRef<OpFoldResult> dims) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.hasStaticShape() &&
      type.getShape() == ArrayRef<int64_t>(staticShape(dims)))
    return tensor;
  return elementwise(b, loc, {tensor}, dims, type.getElementType(),
                     [](OpBuilder &, Location, ValueRange args) {
                       return args[0];
                     });
}

FailureOr<int64_t> qopt::onnx_import::normalizeAxis(NodeContext &ctx,
                                                    int64_t axis,
                                                    int64_t rank) {
  int64_t normalized = axis < 0 ? axis + rank : axis;
  if (normalized < 0 || normalized >= rank)
    return ctx.error() << "axis " << axis << " is out of range for rank "
                       << rank;
  return normalized;
}

//===----------------------------------------------------------------------===//
// IndexMath
//===----------------------------------------------------------------------===//

OpFoldResult IndexMath::add(OpFoldResult x, OpFoldResult y) {
  auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy)
    return c(*cx + *cy);
  if (cy == 0)
    return x;
  if (cx == 0)
    return y;
  return arith::AddIOp::create(b, loc, value(x), value(y)).getResult();
}

OpFoldResult IndexMath::sub(OpFoldResult x, OpFoldResult y) {
  auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy)
    return c(*cx - *cy);
  if (cy == 0)
    return x;
  return arith::SubIOp::create(b, loc, value(x), value(y)).getResult();
}

OpFoldResult IndexMath::mul(OpFoldResult x, OpFoldResult y) {
  auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy)
    return c(*cx * *cy);
  if (cy == 1)
    return x;
  if (cx == 1)
    return y;
  return arith::MulIOp::create(b, loc, value(x), value(y)).getResult();
}

OpFoldResult IndexMath::div(OpFoldResult x, OpFoldResult y) {
  auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy && *cy != 0)
    return c(*cx / *cy);
  if (cy == 1)
    return x;
  return arith::DivSIOp::create(b, loc, value(x), value(y)).getResult();
}

OpFoldResult IndexMath::ceilDiv(OpFoldResult x, OpFoldResult y) {
  auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy && *cy != 0)
    return c(llvm::divideCeilSigned(*cx, *cy));
  if (cy == 1)
    return x;
  return arith::CeilDivSIOp::create(b, loc, value(x), value(y)).getResult();
}

OpFoldResult IndexMath::min(OpFoldResult x, OpFoldResult y) {
  auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy)
    return c(std::min(*cx, *cy));
  return arith::MinSIOp::create(b, loc, value(x), value(y)).getResult();
}

OpFoldResult IndexMath::max(OpFoldResult x, OpFoldResult y) {
  auto cx = getConstantIntValue(x), cy = getConstantIntValue(y);
  if (cx && cy)
    return c(std::max(*cx, *cy));
  return arith::MaxSIOp::create(b, loc, value(x), value(y)).getResult();
}

OpFoldResult IndexMath::wrapNegative(OpFoldResult x, OpFoldResult dim) {
  auto cx = getConstantIntValue(x);
  if (cx)
    return *cx < 0 ? add(x, dim) : x;
  Value v = value(x);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, v,
                                    arith::ConstantIndexOp::create(b, loc, 0));
  return arith::SelectOp::create(b, loc, neg, value(add(x, dim)), v)
      .getResult();
}

OpFoldResult IndexMath::divExact(OpFoldResult x, OpFoldResult y) {
  SmallVector<OpFoldResult> num = dimFactors(x), den = dimFactors(y);
  int64_t staticNum = 1, staticDen = 1;
  SmallVector<OpFoldResult> dynNum, dynDen;
  for (OpFoldResult f : num)
    if (std::optional<int64_t> c = getConstantIntValue(f))
      staticNum *= *c;
    else
      dynNum.push_back(f);
  for (OpFoldResult f : den)
    if (std::optional<int64_t> c = getConstantIntValue(f))
      staticDen *= *c;
    else
      dynDen.push_back(f);
  // Cancel each dynamic denominator factor against an equal numerator one.
  for (OpFoldResult f : dynDen) {
    auto it = llvm::find_if(dynNum, [&](OpFoldResult g) { return sameDim(f, g); });
    if (it == dynNum.end())
      return div(x, y);
    dynNum.erase(it);
  }
  if (staticDen == 0 || staticNum % staticDen)
    return div(x, y);
  OpFoldResult result = c(1);
  for (OpFoldResult f : dynNum)
    result = mul(result, f);
  return mul(result, c(staticNum / staticDen));
}
