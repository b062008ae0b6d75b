//===- OpsShape.cpp - shape and data-movement ONNX operators --------------===//
//
// Reshape, Transpose, Flatten, (Un)Squeeze, Concat, Split, Slice, Gather,
// Expand, Tile, Pad, Trilu, Range, Shape, Size, Constant(OfShape).
//
// Shape computations (Shape -> Gather -> Concat -> Reshape, as PyTorch
// exports them) are kept as element lists of constants and `index` values,
// so dynamic dims such as batch and sequence survive import as `?` dims
// instead of forcing a runtime reshape or a fixed shape.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "LinearBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace qopt::onnx_import;

/// Sizes as constants where known.
static OpFoldResult toIndexOfr(OpBuilder &b, OpFoldResult e) {
  if (std::optional<int64_t> c = getConstantIntValue(e))
    return b.getIndexAttr(*c);
  return e;
}

/// Whether the node's input is a tracked element list (not a tensor yet).
static bool isTracked(NodeContext &ctx, unsigned i) {
  if (!ctx.hasInput(i))
    return false;
  ValueInfo *info = ctx.importer.lookup(ctx.node.input(i));
  return info && info->elems && !info->value;
}

/// The input's elements when it is an integer tensor of rank <= 1 whose
/// elements are known (tracked or constant).
static std::optional<SmallVector<OpFoldResult>> smallIntElems(NodeContext &ctx,
                                                              unsigned i) {
  RankedTensorType type = ctx.inputType(i);
  if (!type || type.getRank() > 1)
    return std::nullopt;
  return ctx.intElems(i);
}

/// Axes from an attribute (before `inputSince`) or an optional input.
static FailureOr<std::optional<SmallVector<int64_t>>>
axesOperand(NodeContext &ctx, unsigned inputIndex, int64_t inputSince) {
  if (ctx.opset < inputSince)
    return ctx.getInts("axes");
  if (!ctx.hasInput(inputIndex))
    return std::optional<SmallVector<int64_t>>();
  std::optional<SmallVector<int64_t>> axes = ctx.constInts(inputIndex);
  if (!axes)
    return ctx.error() << "axes must be a constant";
  return axes;
}

//===----------------------------------------------------------------------===//
// Shape, Size
//===----------------------------------------------------------------------===//

/// The sizes of input `i` without materializing it when its type is static.
static FailureOr<SmallVector<OpFoldResult>> inputDims(NodeContext &ctx,
                                                      unsigned i) {
  RankedTensorType type = ctx.inputType(i);
  if (!type)
    return ctx.error() << "input " << i << " is undefined";
  if (type.hasStaticShape()) {
    SmallVector<OpFoldResult> dims;
    for (int64_t d : type.getShape())
      dims.push_back(ctx.b.getIndexAttr(d));
    return dims;
  }
  Value v = ctx.input(i);
  if (!v)
    return failure();
  return tensorDims(ctx.b, ctx.loc, v);
}

static LogicalResult convertShape(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> dims = inputDims(ctx, 0);
  if (failed(dims))
    return failure();
  int64_t rank = dims->size();
  int64_t start = ctx.getInt("start", 0), end = ctx.getInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  SmallVector<OpFoldResult> elems;
  for (int64_t i = start; i < end; ++i)
    elems.push_back((*dims)[i]);
  ctx.setOutputElems(0, elems, kInt64, /*rank0=*/false);
  return success();
}

static LogicalResult convertSize(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> dims = inputDims(ctx, 0);
  if (failed(dims))
    return failure();
  IndexMath im{ctx.b, ctx.loc};
  OpFoldResult total = im.c(1);
  for (OpFoldResult d : *dims)
    total = im.mul(total, d);
  ctx.setOutputElems(0, {total}, kInt64, /*rank0=*/true);
  return success();
}

//===----------------------------------------------------------------------===//
// Constant, ConstantOfShape
//===----------------------------------------------------------------------===//

static LogicalResult convertConstant(NodeContext &ctx) {
  ValueInfo info;
  if (const onnx::AttributeProto *a = ctx.attr("value")) {
    info.tensor = &a->t();
  } else {
    onnx::TensorProto *t = ctx.importer.newTensor();
    t->set_name(ctx.node.output(0));
    if (const onnx::AttributeProto *a = ctx.attr("value_float")) {
      t->set_data_type(kFloat);
      t->add_float_data(a->f());
    } else if (const onnx::AttributeProto *a = ctx.attr("value_floats")) {
      t->set_data_type(kFloat);
      t->add_dims(a->floats_size());
      for (float f : a->floats())
        t->add_float_data(f);
    } else if (const onnx::AttributeProto *a = ctx.attr("value_int")) {
      t->set_data_type(kInt64);
      t->add_int64_data(a->i());
    } else if (const onnx::AttributeProto *a = ctx.attr("value_ints")) {
      t->set_data_type(kInt64);
      t->add_dims(a->ints_size());
      for (int64_t v : a->ints())
        t->add_int64_data(v);
    } else {
      return ctx.error() << "only tensor, float(s) and int(s) values are "
                            "supported (sparse and string constants are not)";
    }
    info.tensor = t;
  }
  info.dtype = info.tensor->data_type();
  Type elem = dtypeToType(ctx.ctx(), info.dtype);
  if (!elem)
    return ctx.error() << "constant of unsupported data type "
                       << dtypeName(info.dtype);
  SmallVector<int64_t> shape(info.tensor->dims().begin(),
                             info.tensor->dims().end());
  if (failed(checkedElementCount(shape, [&] { return ctx.error(); })))
    return failure();
  info.type = RankedTensorType::get(shape, elem);
  ctx.importer.bind(ctx.node.output(0), std::move(info));
  return success();
}

static LogicalResult convertConstantOfShape(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  int32_t dtype = kFloat;
  double fill = 0.0;
  if (const onnx::AttributeProto *a = ctx.attr("value")) {
    FailureOr<DecodedTensor> t = decodeTensor(a->t(), ctx.importer.model,
                                              [&] { return ctx.error(); });
    if (failed(t))
      return failure();
    if (t->numElements != 1)
      return ctx.error() << "value must hold exactly one element";
    dtype = t->dtype;
    fill = t->toDoubles()[0];
  }
  Type elem = dtypeToType(ctx.ctx(), dtype);
  SmallVector<OpFoldResult> dims;
  if (std::optional<SmallVector<OpFoldResult>> elems = smallIntElems(ctx, 0)) {
    for (OpFoldResult e : *elems)
      dims.push_back(toIndexOfr(ctx.b, e));
  } else {
    RankedTensorType shapeType = ctx.inputType(0);
    if (!shapeType || shapeType.getRank() != 1 || shapeType.isDynamicDim(0))
      return ctx.error() << "the shape input needs a static length";
    Value shape = ctx.input(0);
    if (!shape)
      return failure();
    for (int64_t i = 0; i < shapeType.getDimSize(0); ++i) {
      Value idx = arith::ConstantIndexOp::create(ctx.b, ctx.loc, i);
      Value d = tensor::ExtractOp::create(ctx.b, ctx.loc, shape, idx);
      dims.push_back(arith::IndexCastOp::create(ctx.b, ctx.loc,
                                                ctx.b.getIndexType(), d)
                         .getResult());
    }
  }
  // A small 1-D integer result stays a tracked element list.
  SmallVector<int64_t> shape = staticShape(dims);
  if (isIntDType(dtype) && shape.size() == 1 &&
      !ShapedType::isDynamic(shape[0]) && shape[0] <= 1024) {
    SmallVector<OpFoldResult> elems(shape[0],
                                    ctx.b.getI64IntegerAttr(int64_t(fill)));
    ctx.setOutputElems(0, elems, dtype, false);
    return success();
  }
  Value result = splatTensor(ctx.b, ctx.loc, dims,
                             scalarConstant(ctx.b, ctx.loc, elem, fill));
  ctx.setOutput(0, result, dtype);
  return success();
}

//===----------------------------------------------------------------------===//
// Reshape, Flatten, Squeeze, Unsqueeze, Transpose
//===----------------------------------------------------------------------===//

/// Binds output 0 to `data` reshaped to `dims`, keeping tracked lists tracked.
static LogicalResult bindReshaped(NodeContext &ctx,
                                  ArrayRef<OpFoldResult> dims) {
  if (isTracked(ctx, 0) && dims.size() <= 1) {
    ValueInfo *info = ctx.importer.lookup(ctx.node.input(0));
    ctx.setOutputElems(0, *info->elems, info->dtype, dims.empty());
    return success();
  }
  // A small integer constant reshaped to 0-D / 1-D (Unsqueeze of a scalar
  // Constant into Slice axes) stays a known list too.
  if (dims.size() <= 1 && isIntDType(ctx.inputDType(0)))
    if (std::optional<SmallVector<OpFoldResult>> elems =
            smallIntElems(ctx, 0)) {
      ctx.setOutputElems(0, *elems, ctx.inputDType(0), dims.empty());
      return success();
    }
  Value data = ctx.input(0);
  if (!data)
    return failure();
  ctx.setOutput(0, reshapeTensor(ctx.b, ctx.loc, data, dims),
                ctx.inputDType(0));
  return success();
}

static LogicalResult convertReshape(NodeContext &ctx) {
  SmallVector<int64_t> attrShape;
  std::optional<SmallVector<OpFoldResult>> target;
  if (ctx.opset < 5) {
    if (failed(ctx.expectInputs(1, 1)))
      return failure();
    std::optional<SmallVector<int64_t>> s = ctx.getInts("shape");
    if (!s)
      return ctx.error() << "missing attribute 'shape'";
    target.emplace();
    for (int64_t d : *s)
      target->push_back(ctx.b.getI64IntegerAttr(d));
  } else {
    if (failed(ctx.expectInputs(2, 2)))
      return failure();
    target = smallIntElems(ctx, 1);
    if (!target)
      return ctx.error() << "the target shape must be known at compile time "
                            "(a constant or computed from input shapes)";
  }
  FailureOr<SmallVector<OpFoldResult>> in = inputDims(ctx, 0);
  if (failed(in))
    return failure();
  bool allowZero = ctx.getInt("allowzero", 0);
  IndexMath im{ctx.b, ctx.loc};
  SmallVector<OpFoldResult> dims;
  int64_t inferAt = -1;
  OpFoldResult known = im.c(1);
  for (auto [i, e] : llvm::enumerate(*target)) {
    std::optional<int64_t> c = getConstantIntValue(e);
    if (c == 0 && !allowZero) {
      if (i >= in->size())
        return ctx.error() << "shape copies dimension " << i
                           << " that the input does not have";
      dims.push_back((*in)[i]);
    } else if (c == -1) {
      if (inferAt >= 0)
        return ctx.error() << "more than one -1 in the target shape";
      inferAt = i;
      dims.push_back(im.c(1));
      continue;
    } else if (c && *c < -1) {
      return ctx.error() << "invalid target dimension " << *c;
    } else {
      dims.push_back(toIndexOfr(ctx.b, e));
    }
    known = im.mul(known, dims.back());
  }
  if (inferAt >= 0) {
    OpFoldResult total = im.c(1);
    for (OpFoldResult d : *in)
      total = im.mul(total, d);
    auto ct = getConstantIntValue(total), ck = getConstantIntValue(known);
    if (ct && ck && (*ck == 0 || *ct % *ck))
      return ctx.error() << "cannot reshape " << *ct << " elements into a "
                         << "shape with " << *ck << " elements per -1 slot";
    dims[inferAt] = im.divExact(total, known);
  }
  return bindReshaped(ctx, dims);
}

static LogicalResult convertFlatten(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> in = inputDims(ctx, 0);
  if (failed(in))
    return failure();
  int64_t rank = in->size();
  int64_t axis = ctx.getInt("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return ctx.error() << "axis " << ctx.getInt("axis", 1)
                       << " is out of range for rank " << rank;
  IndexMath im{ctx.b, ctx.loc};
  OpFoldResult outer = im.c(1), inner = im.c(1);
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) = im.mul(i < axis ? outer : inner, (*in)[i]);
  Value data = ctx.input(0);
  if (!data)
    return failure();
  ctx.setOutput(0, reshapeTensor(ctx.b, ctx.loc, data, {outer, inner}),
                ctx.inputDType(0));
  return success();
}

static LogicalResult convertSqueeze(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 2)))
    return failure();
  auto axes = axesOperand(ctx, 1, 13);
  if (failed(axes))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> in = inputDims(ctx, 0);
  if (failed(in))
    return failure();
  int64_t rank = in->size();
  SmallVector<bool> drop(rank, false);
  if (*axes) {
    for (int64_t a : **axes) {
      FailureOr<int64_t> axis = normalizeAxis(ctx, a, rank);
      if (failed(axis))
        return failure();
      std::optional<int64_t> d = getConstantIntValue((*in)[*axis]);
      if (d && *d != 1)
        return ctx.error() << "cannot squeeze dimension " << *axis
                           << " of size " << *d;
      drop[*axis] = true;
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) {
      std::optional<int64_t> d = getConstantIntValue((*in)[i]);
      if (!d)
        return ctx.error() << "Squeeze without axes needs static dims";
      drop[i] = *d == 1;
    }
  }
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i])
      dims.push_back((*in)[i]);
  return bindReshaped(ctx, dims);
}

static LogicalResult convertUnsqueeze(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 2)))
    return failure();
  auto axes = axesOperand(ctx, 1, 13);
  if (failed(axes))
    return failure();
  if (!*axes)
    return ctx.error() << "missing axes";
  FailureOr<SmallVector<OpFoldResult>> in = inputDims(ctx, 0);
  if (failed(in))
    return failure();
  int64_t outRank = in->size() + (*axes)->size();
  SmallVector<bool> inserted(outRank, false);
  for (int64_t a : **axes) {
    FailureOr<int64_t> axis = normalizeAxis(ctx, a, outRank);
    if (failed(axis))
      return failure();
    if (inserted[*axis])
      return ctx.error() << "repeated axis " << a;
    inserted[*axis] = true;
  }
  SmallVector<OpFoldResult> dims;
  size_t next = 0;
  for (int64_t i = 0; i < outRank; ++i)
    dims.push_back(inserted[i] ? ctx.b.getIndexAttr(1) : (*in)[next++]);
  return bindReshaped(ctx, dims);
}

static LogicalResult convertTranspose(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 1)))
    return failure();
  Value data = ctx.input(0);
  if (!data)
    return failure();
  int64_t rank = cast<RankedTensorType>(data.getType()).getRank();
  SmallVector<int64_t> perm;
  if (std::optional<SmallVector<int64_t>> p = ctx.getInts("perm")) {
    perm = *p;
  } else {
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  }
  SmallVector<int64_t> sorted(perm);
  llvm::sort(sorted);
  if (static_cast<int64_t>(perm.size()) != rank ||
      !llvm::equal(sorted, llvm::seq<int64_t>(0, rank)))
    return ctx.error() << "perm is not a permutation of the " << rank
                       << " dims";
  ctx.setOutput(0, transposeTensor(ctx.b, ctx.loc, data, perm),
                ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Concat, Split
//===----------------------------------------------------------------------===//

static LogicalResult convertConcat(NodeContext &ctx) {
  if (ctx.numInputs() < 1)
    return ctx.error() << "expected at least one input";
  // Shape lists concatenate as lists.
  bool anyTracked = false, allKnown = true;
  SmallVector<OpFoldResult> elems;
  for (unsigned i = 0; i < ctx.numInputs() && allKnown; ++i) {
    anyTracked |= isTracked(ctx, i);
    std::optional<SmallVector<OpFoldResult>> e = smallIntElems(ctx, i);
    if (!e || ctx.inputType(i).getRank() != 1)
      allKnown = false;
    else
      elems.append(e->begin(), e->end());
  }
  if (anyTracked && allKnown) {
    ctx.setOutputElems(0, elems, ctx.inputDType(0), false);
    return success();
  }
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    Value v = ctx.input(i);
    if (!v)
      return failure();
    inputs.push_back(v);
  }
  int64_t rank = cast<RankedTensorType>(inputs[0].getType()).getRank();
  if (!ctx.hasAttr("axis"))
    return ctx.error() << "missing attribute 'axis'";
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  for (Value v : inputs)
    if (cast<RankedTensorType>(v.getType()).getRank() != rank)
      return ctx.error() << "inputs have different ranks";
  Value result = inputs.size() == 1
                     ? inputs[0]
                     : tensor::ConcatOp::create(ctx.b, ctx.loc, *axis, inputs)
                           .getResult();
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

static LogicalResult convertSplit(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 2)))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> in = inputDims(ctx, 0);
  if (failed(in))
    return failure();
  int64_t rank = in->size();
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  unsigned n = ctx.numOutputs();
  IndexMath im{ctx.b, ctx.loc};
  OpFoldResult dim = (*in)[*axis];
  SmallVector<OpFoldResult> sizes;
  std::optional<SmallVector<int64_t>> split;
  if (ctx.opset >= 13) {
    if (ctx.hasInput(1)) {
      split = ctx.constInts(1);
      if (!split)
        return ctx.error() << "split sizes must be constant";
    }
  } else {
    split = ctx.getInts("split");
  }
  if (split) {
    if (split->size() != n)
      return ctx.error() << "split has " << split->size() << " sizes for " << n
                         << " outputs";
    for (int64_t s : *split)
      sizes.push_back(im.c(s));
  } else if (ctx.hasAttr("num_outputs")) {
    // Opset 18: chunks of ceil(dim / n), the last one smaller.
    int64_t parts = ctx.getInt("num_outputs", n);
    if (parts != n)
      return ctx.error() << "num_outputs " << parts << " but " << n
                         << " outputs";
    OpFoldResult chunk = im.ceilDiv(dim, im.c(n));
    for (unsigned i = 0; i + 1 < n; ++i)
      sizes.push_back(chunk);
    sizes.push_back(im.sub(dim, im.mul(chunk, im.c(n - 1))));
  } else {
    std::optional<int64_t> d = getConstantIntValue(dim);
    if (d && *d % n)
      return ctx.error() << "dimension " << *d << " does not split evenly into "
                         << n << " parts";
    OpFoldResult chunk = im.div(dim, im.c(n));
    sizes.assign(n, chunk);
  }
  // Tracked lists split as lists.
  if (isTracked(ctx, 0) && rank == 1) {
    SmallVector<OpFoldResult> elems = *ctx.intElems(0);
    int64_t offset = 0;
    for (unsigned i = 0; i < n; ++i) {
      int64_t s = *getConstantIntValue(sizes[i]);
      ctx.setOutputElems(i, ArrayRef(elems).slice(offset, s),
                         ctx.inputDType(0), false);
      offset += s;
    }
    return success();
  }
  Value data = ctx.input(0);
  if (!data)
    return failure();
  OpFoldResult offset = im.c(0);
  for (unsigned i = 0; i < n; ++i) {
    SmallVector<OpFoldResult> offs(rank, im.c(0)), szs(*in),
        strides(rank, im.c(1));
    offs[*axis] = offset;
    szs[*axis] = sizes[i];
    // An empty part has no data to read (and MLIR wants in-bounds offsets).
    Type elem = cast<RankedTensorType>(data.getType()).getElementType();
    Value part =
        llvm::any_of(szs, [](OpFoldResult d) { return getConstantIntValue(d) == 0; })
            ? emptyTensor(ctx.b, ctx.loc, szs, elem)
            : tensor::ExtractSliceOp::create(ctx.b, ctx.loc, data, offs, szs,
                                             strides)
                  .getResult();
    ctx.setOutput(i, part, ctx.inputDType(0));
    offset = im.add(offset, sizes[i]);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Slice
//===----------------------------------------------------------------------===//

namespace {
struct SliceRange {
  OpFoldResult start, size;
  int64_t step;
};
} // namespace

/// ONNX Slice's clamping of one axis.
static SliceRange sliceRange(IndexMath &im, OpFoldResult start,
                             OpFoldResult end, int64_t step, OpFoldResult dim) {
  // Huge constants (INT64_MAX / INT64_MIN) mean "to the end": clamp them
  // first so the arithmetic below cannot overflow.
  auto clampHuge = [&](OpFoldResult v) -> OpFoldResult {
    std::optional<int64_t> c = getConstantIntValue(v);
    constexpr int64_t kBig = int64_t(1) << 40;
    if (c && *c > kBig)
      return im.c(kBig);
    if (c && *c < -kBig)
      return im.c(-kBig);
    return v;
  };
  start = im.wrapNegative(clampHuge(start), dim);
  end = im.wrapNegative(clampHuge(end), dim);
  OpFoldResult size;
  if (step > 0) {
    start = im.min(im.max(start, im.c(0)), dim);
    end = im.min(im.max(end, im.c(0)), dim);
    size = im.max(im.ceilDiv(im.sub(end, start), im.c(step)), im.c(0));
  } else {
    OpFoldResult last = im.sub(dim, im.c(1));
    start = im.min(im.max(start, im.c(0)), last);
    end = im.min(im.max(end, im.c(-1)), last);
    size = im.max(im.ceilDiv(im.sub(start, end), im.c(-step)), im.c(0));
  }
  return {start, size, step};
}

static LogicalResult convertSlice(NodeContext &ctx) {
  IndexMath im{ctx.b, ctx.loc};
  std::optional<SmallVector<OpFoldResult>> starts, ends;
  std::optional<SmallVector<int64_t>> axes, steps;
  if (ctx.opset < 10) {
    if (failed(ctx.expectInputs(1, 1)))
      return failure();
    auto s = ctx.getInts("starts"), e = ctx.getInts("ends");
    if (!s || !e)
      return ctx.error() << "missing starts or ends";
    starts.emplace();
    ends.emplace();
    for (int64_t v : *s)
      starts->push_back(im.c(v));
    for (int64_t v : *e)
      ends->push_back(im.c(v));
    axes = ctx.getInts("axes");
  } else {
    if (failed(ctx.expectInputs(3, 5)))
      return failure();
    starts = smallIntElems(ctx, 1);
    ends = smallIntElems(ctx, 2);
    if (!starts || !ends)
      return ctx.error() << "starts and ends must be known at compile time "
                            "(constants or computed from input shapes)";
    if (ctx.hasInput(3)) {
      axes = ctx.constInts(3);
      if (!axes)
        return ctx.error() << "axes must be a constant";
    }
    if (ctx.hasInput(4)) {
      steps = ctx.constInts(4);
      if (!steps)
        return ctx.error() << "steps must be a constant";
    }
  }
  FailureOr<SmallVector<OpFoldResult>> in = inputDims(ctx, 0);
  if (failed(in))
    return failure();
  int64_t rank = in->size();
  size_t n = starts->size();
  if (ends->size() != n || (axes && axes->size() != n) ||
      (steps && steps->size() != n))
    return ctx.error() << "starts, ends, axes and steps differ in length";

  SmallVector<SliceRange> ranges;
  for (int64_t i = 0; i < rank; ++i)
    ranges.push_back({im.c(0), (*in)[i], 1});
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < n; ++i) {
    FailureOr<int64_t> axis =
        normalizeAxis(ctx, axes ? (*axes)[i] : static_cast<int64_t>(i), rank);
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return ctx.error() << "axis " << *axis << " is sliced twice";
    seen[*axis] = true;
    int64_t step = steps ? (*steps)[i] : 1;
    if (step == 0)
      return ctx.error() << "step 0 is invalid";
    ranges[*axis] =
        sliceRange(im, toIndexOfr(ctx.b, (*starts)[i]),
                   toIndexOfr(ctx.b, (*ends)[i]), step, (*in)[*axis]);
  }

  // Tracked lists slice as lists.
  if (isTracked(ctx, 0) && rank == 1) {
    auto s = getConstantIntValue(ranges[0].start);
    auto sz = getConstantIntValue(ranges[0].size);
    if (s && sz) {
      SmallVector<OpFoldResult> elems = *ctx.intElems(0), out;
      for (int64_t i = 0; i < *sz; ++i)
        out.push_back(elems[*s + i * ranges[0].step]);
      ctx.setOutputElems(0, out, ctx.inputDType(0), false);
      return success();
    }
  }
  Value data = ctx.input(0);
  if (!data)
    return failure();
  bool negative = llvm::any_of(ranges, [](auto &r) { return r.step < 0; });
  SmallVector<OpFoldResult> offs, sizes, strides;
  for (SliceRange &r : ranges) {
    offs.push_back(r.start);
    sizes.push_back(r.size);
    strides.push_back(im.c(r.step));
  }
  Value result;
  if (llvm::any_of(sizes,
                   [](OpFoldResult d) { return getConstantIntValue(d) == 0; })) {
    // An empty slice has no data to read (and MLIR wants in-bounds offsets).
    result = emptyTensor(ctx.b, ctx.loc, sizes,
                         cast<RankedTensorType>(data.getType()).getElementType());
  } else if (!negative) {
    result = tensor::ExtractSliceOp::create(ctx.b, ctx.loc, data, offs, sizes,
                                            strides);
  } else {
    // Negative steps: read data[start + i * step] element by element.
    Type elem = cast<RankedTensorType>(data.getType()).getElementType();
    Value init = emptyTensor(ctx.b, ctx.loc, sizes, elem);
    SmallVector<Value> startValues;
    for (SliceRange &r : ranges)
      startValues.push_back(im.value(r.start));
    result =
        linalg::GenericOp::create(
            ctx.b, ctx.loc, init.getType(), ValueRange{}, ValueRange{init},
            SmallVector<AffineMap>{ctx.b.getMultiDimIdentityMap(rank)},
            SmallVector<utils::IteratorType>(rank,
                                             utils::IteratorType::parallel),
            [&](OpBuilder &b, Location loc, ValueRange) {
              SmallVector<Value> idx;
              for (int64_t i = 0; i < rank; ++i) {
                Value iv = linalg::IndexOp::create(b, loc, i);
                Value scaled = arith::MulIOp::create(
                    b, loc, iv,
                    arith::ConstantIndexOp::create(b, loc, ranges[i].step));
                idx.push_back(
                    arith::AddIOp::create(b, loc, startValues[i], scaled));
              }
              linalg::YieldOp::create(
                  b, loc,
                  tensor::ExtractOp::create(b, loc, data, idx).getResult());
            })
            .getResult(0);
  }
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Gather
//===----------------------------------------------------------------------===//

static LogicalResult convertGather(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  FailureOr<SmallVector<OpFoldResult>> in = inputDims(ctx, 0);
  if (failed(in))
    return failure();
  int64_t rank = in->size();
  if (rank == 0)
    return ctx.error() << "cannot gather from a scalar";
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  RankedTensorType indicesType = ctx.inputType(1);
  std::optional<SmallVector<int64_t>> constIndices = ctx.constInts(1);

  // Gathering from a tracked list with constant indices: a list.
  if (isTracked(ctx, 0) && rank == 1 && constIndices &&
      indicesType.getRank() <= 1) {
    SmallVector<OpFoldResult> elems = *ctx.intElems(0), out;
    for (int64_t i : *constIndices) {
      int64_t j = i < 0 ? i + static_cast<int64_t>(elems.size()) : i;
      if (j < 0 || j >= static_cast<int64_t>(elems.size()))
        return ctx.error() << "index " << i << " is out of range";
      out.push_back(elems[j]);
    }
    ctx.setOutputElems(0, out, ctx.inputDType(0), indicesType.getRank() == 0);
    return success();
  }
  Value data = ctx.input(0);
  if (!data)
    return failure();
  IndexMath im{ctx.b, ctx.loc};
  Type elem = cast<RankedTensorType>(data.getType()).getElementType();

  // A constant scalar index is a slice.
  if (constIndices && indicesType.getRank() == 0) {
    int64_t i = (*constIndices)[0];
    std::optional<int64_t> d = getConstantIntValue((*in)[*axis]);
    if (d && (i < -*d || i >= *d))
      return ctx.error() << "index " << i << " is out of range for dimension "
                         << *d;
    SmallVector<OpFoldResult> offs(rank, im.c(0)), sizes(*in),
        strides(rank, im.c(1));
    offs[*axis] = im.wrapNegative(im.c(i), (*in)[*axis]);
    sizes[*axis] = im.c(1);
    Value slice = tensor::ExtractSliceOp::create(ctx.b, ctx.loc, data, offs,
                                                 sizes, strides);
    SmallVector<OpFoldResult> outDims(*in);
    outDims.erase(outDims.begin() + *axis);
    ctx.setOutput(0, reshapeTensor(ctx.b, ctx.loc, slice, outDims),
                  ctx.inputDType(0));
    return success();
  }

  Value indices = ctx.input(1);
  if (!indices)
    return failure();
  int64_t q = indicesType.getRank();
  SmallVector<OpFoldResult> idxDims = tensorDims(ctx.b, ctx.loc, indices);
  SmallVector<OpFoldResult> outDims(in->begin(), in->begin() + *axis);
  outDims.append(idxDims.begin(), idxDims.end());
  outDims.append(in->begin() + *axis + 1, in->end());
  int64_t outRank = outDims.size();
  Value init = emptyTensor(ctx.b, ctx.loc, outDims, elem);
  MLIRContext *mctx = ctx.ctx();
  SmallVector<AffineExpr> idxExprs;
  for (int64_t i = 0; i < q; ++i)
    idxExprs.push_back(getAffineDimExpr(*axis + i, mctx));
  Value axisDim = im.value((*in)[*axis]);
  Value result =
      linalg::GenericOp::create(
          ctx.b, ctx.loc, init.getType(), ValueRange{indices},
          ValueRange{init},
          SmallVector<AffineMap>{AffineMap::get(outRank, 0, idxExprs, mctx),
                                 ctx.b.getMultiDimIdentityMap(outRank)},
          SmallVector<utils::IteratorType>(outRank,
                                           utils::IteratorType::parallel),
          [&](OpBuilder &b, Location loc, ValueRange args) {
            Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(),
                                                 args[0]);
            Value neg = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::slt, i,
                arith::ConstantIndexOp::create(b, loc, 0));
            i = arith::SelectOp::create(
                b, loc, neg, arith::AddIOp::create(b, loc, i, axisDim), i);
            SmallVector<Value> coords;
            for (int64_t d = 0; d < *axis; ++d)
              coords.push_back(linalg::IndexOp::create(b, loc, d));
            coords.push_back(i);
            for (int64_t d = *axis + 1; d < rank; ++d)
              coords.push_back(linalg::IndexOp::create(b, loc, d - 1 + q));
            linalg::YieldOp::create(
                b, loc,
                tensor::ExtractOp::create(b, loc, data, coords).getResult());
          })
          .getResult(0);
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Expand, Tile
//===----------------------------------------------------------------------===//

static LogicalResult convertExpand(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  std::optional<SmallVector<OpFoldResult>> shape = smallIntElems(ctx, 1);
  if (!shape)
    return ctx.error() << "the target shape must be known at compile time";
  Value data = ctx.input(0);
  if (!data)
    return failure();
  SmallVector<OpFoldResult> in = tensorDims(ctx.b, ctx.loc, data);
  int64_t rank = std::max(in.size(), shape->size());
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t ii = i - (rank - in.size()), si = i - (rank - shape->size());
    OpFoldResult a = ii >= 0 ? in[ii] : ctx.b.getIndexAttr(1);
    OpFoldResult s = si >= 0 ? toIndexOfr(ctx.b, (*shape)[si])
                             : ctx.b.getIndexAttr(1);
    std::optional<int64_t> ca = getConstantIntValue(a),
                           cs = getConstantIntValue(s);
    if (cs == 1)
      dims.push_back(a);
    else if (ca == 1)
      dims.push_back(s);
    else if (ca && cs && *ca != *cs)
      return ctx.error() << "cannot expand dimension of size " << *ca
                         << " to " << *cs;
    else
      dims.push_back(ca ? a : (cs ? s : a));
  }
  ctx.setOutput(0, broadcastTo(ctx.b, ctx.loc, data, dims), ctx.inputDType(0));
  return success();
}

/// out[i...] = data[map(i)...] computed per dim by `source`.
static Value gatherByIndex(
    OpBuilder &b, Location loc, Value data, ArrayRef<OpFoldResult> outDims,
    llvm::function_ref<Value(OpBuilder &, Location, int64_t, Value)> source) {
  int64_t rank = outDims.size();
  Type elem = cast<RankedTensorType>(data.getType()).getElementType();
  Value init = emptyTensor(b, loc, outDims, elem);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{}, ValueRange{init},
             SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank)},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange) {
               SmallVector<Value> coords;
               for (int64_t i = 0; i < rank; ++i)
                 coords.push_back(
                     source(nb, nloc, i, linalg::IndexOp::create(nb, nloc, i)));
               linalg::YieldOp::create(
                   nb, nloc,
                   tensor::ExtractOp::create(nb, nloc, data, coords)
                       .getResult());
             })
      .getResult(0);
}

static LogicalResult convertTile(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  std::optional<SmallVector<OpFoldResult>> repeats = smallIntElems(ctx, 1);
  if (!repeats)
    return ctx.error() << "repeats must be known at compile time";
  Value data = ctx.input(0);
  if (!data)
    return failure();
  SmallVector<OpFoldResult> in = tensorDims(ctx.b, ctx.loc, data);
  if (repeats->size() != in.size())
    return ctx.error() << "repeats has " << repeats->size()
                       << " values for rank " << in.size();
  IndexMath im{ctx.b, ctx.loc};
  SmallVector<OpFoldResult> dims;
  SmallVector<Value> inValues;
  for (auto [d, r] : llvm::zip(in, *repeats)) {
    dims.push_back(im.mul(d, toIndexOfr(ctx.b, r)));
    inValues.push_back(im.value(d));
  }
  Value result = gatherByIndex(
      ctx.b, ctx.loc, data, dims,
      [&](OpBuilder &b, Location loc, int64_t i, Value iv) -> Value {
        return arith::RemSIOp::create(b, loc, iv, inValues[i]);
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Pad
//===----------------------------------------------------------------------===//

static LogicalResult convertPad(NodeContext &ctx) {
  std::string mode = ctx.getString("mode", "constant");
  std::optional<SmallVector<int64_t>> pads;
  std::optional<SmallVector<int64_t>> axes;
  Value padValue;
  Value data = ctx.input(0);
  if (!data)
    return failure();
  auto type = cast<RankedTensorType>(data.getType());
  Type elem = type.getElementType();
  int64_t rank = type.getRank();
  if (ctx.opset < 11) {
    pads = ctx.getInts("pads");
    padValue = scalarConstant(ctx.b, ctx.loc, elem, ctx.getFloat("value", 0.0f));
  } else {
    if (failed(ctx.expectInputs(2, 4)))
      return failure();
    pads = ctx.constInts(1);
    if (ctx.hasInput(2)) {
      Value v = ctx.input(2);
      if (!v)
        return failure();
      auto vt = cast<RankedTensorType>(v.getType());
      if (vt.getNumElements() != 1)
        return ctx.error() << "constant_value must be a scalar";
      SmallVector<Value> zeros(vt.getRank(),
                               arith::ConstantIndexOp::create(ctx.b, ctx.loc, 0));
      padValue = tensor::ExtractOp::create(ctx.b, ctx.loc, v, zeros);
    } else {
      padValue = scalarConstant(ctx.b, ctx.loc, elem, 0.0);
    }
    if (ctx.hasInput(3)) {
      axes = ctx.constInts(3);
      if (!axes)
        return ctx.error() << "axes must be a constant";
    }
  }
  if (!pads)
    return ctx.error() << "pads must be known at compile time";
  SmallVector<int64_t> axisList;
  if (axes) {
    for (int64_t a : *axes) {
      FailureOr<int64_t> axis = normalizeAxis(ctx, a, rank);
      if (failed(axis))
        return failure();
      axisList.push_back(*axis);
    }
  } else {
    axisList = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  int64_t n = axisList.size();
  if (static_cast<int64_t>(pads->size()) != 2 * n)
    return ctx.error() << "pads has " << pads->size() << " values, expected "
                       << 2 * n;
  SmallVector<int64_t> lo(rank, 0), hi(rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    lo[axisList[i]] = (*pads)[i];
    hi[axisList[i]] = (*pads)[n + i];
  }
  IndexMath im{ctx.b, ctx.loc};
  if (mode == "constant") {
    // Negative pads crop.
    if (llvm::any_of(lo, [](int64_t p) { return p < 0; }) ||
        llvm::any_of(hi, [](int64_t p) { return p < 0; })) {
      SmallVector<OpFoldResult> dims = tensorDims(ctx.b, ctx.loc, data);
      SmallVector<OpFoldResult> offs, sizes, strides(rank, im.c(1));
      for (int64_t i = 0; i < rank; ++i) {
        int64_t cl = std::max<int64_t>(-lo[i], 0),
                ch = std::max<int64_t>(-hi[i], 0);
        offs.push_back(im.c(cl));
        sizes.push_back(im.sub(dims[i], im.c(cl + ch)));
        lo[i] = std::max<int64_t>(lo[i], 0);
        hi[i] = std::max<int64_t>(hi[i], 0);
      }
      data = tensor::ExtractSliceOp::create(ctx.b, ctx.loc, data, offs, sizes,
                                            strides);
    }
    ctx.setOutput(0, padTensor(ctx.b, ctx.loc, data, lo, hi, padValue),
                  ctx.inputDType(0));
    return success();
  }
  if (mode != "edge" && mode != "reflect" && mode != "wrap")
    return ctx.error() << "unknown pad mode '" << mode << "'";
  if (llvm::any_of(lo, [](int64_t p) { return p < 0; }) ||
      llvm::any_of(hi, [](int64_t p) { return p < 0; }))
    return ctx.error() << "negative pads are supported in constant mode only";
  SmallVector<OpFoldResult> in = tensorDims(ctx.b, ctx.loc, data);
  SmallVector<OpFoldResult> dims;
  SmallVector<Value> inValues;
  for (int64_t i = 0; i < rank; ++i) {
    dims.push_back(im.add(in[i], im.c(lo[i] + hi[i])));
    inValues.push_back(im.value(in[i]));
  }
  Value result = gatherByIndex(
      ctx.b, ctx.loc, data, dims,
      [&](OpBuilder &b, Location loc, int64_t i, Value iv) -> Value {
        if (lo[i] == 0 && hi[i] == 0)
          return iv;
        auto cidx = [&](int64_t v) {
          return arith::ConstantIndexOp::create(b, loc, v);
        };
        Value j = arith::SubIOp::create(b, loc, iv, cidx(lo[i]));
        Value dim = inValues[i];
        Value last = arith::SubIOp::create(b, loc, dim, cidx(1));
        if (mode == "edge")
          return arith::MinSIOp::create(
              b, loc, arith::MaxSIOp::create(b, loc, j, cidx(0)), last);
        if (mode == "wrap") {
          Value r = arith::RemSIOp::create(b, loc, j, dim);
          Value neg =
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, cidx(0));
          return arith::SelectOp::create(
              b, loc, neg, arith::AddIOp::create(b, loc, r, dim), r);
        }
        // reflect: mirror around the first and last element.
        Value neg =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j, cidx(0));
        j = arith::SelectOp::create(
            b, loc, neg, arith::SubIOp::create(b, loc, cidx(0), j), j);
        Value over =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, j, last);
        Value mirrored = arith::SubIOp::create(
            b, loc, arith::MulIOp::create(b, loc, last, cidx(2)), j);
        return arith::SelectOp::create(b, loc, over, mirrored, j);
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Trilu, Range
//===----------------------------------------------------------------------===//

static LogicalResult convertTrilu(NodeContext &ctx) {
  if (failed(ctx.expectInputs(1, 2)))
    return failure();
  Value data = ctx.input(0);
  if (!data)
    return failure();
  auto type = cast<RankedTensorType>(data.getType());
  int64_t rank = type.getRank();
  if (rank < 2)
    return ctx.error() << "Trilu needs rank >= 2";
  Value k = arith::ConstantIndexOp::create(ctx.b, ctx.loc, 0);
  if (ctx.hasInput(1)) {
    Value kt = ctx.input(1);
    if (!kt)
      return failure();
    SmallVector<Value> zeros(cast<RankedTensorType>(kt.getType()).getRank(),
                             arith::ConstantIndexOp::create(ctx.b, ctx.loc, 0));
    k = arith::IndexCastOp::create(
        ctx.b, ctx.loc, ctx.b.getIndexType(),
        tensor::ExtractOp::create(ctx.b, ctx.loc, kt, zeros));
  }
  bool upper = ctx.getInt("upper", 1);
  Value result = elementwise(
      ctx.b, ctx.loc, {data}, tensorDims(ctx.b, ctx.loc, data),
      type.getElementType(),
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value i = linalg::IndexOp::create(b, loc, rank - 2);
        Value j = linalg::IndexOp::create(b, loc, rank - 1);
        Value diff = arith::SubIOp::create(b, loc, j, i);
        Value keep = arith::CmpIOp::create(
            b, loc, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
            diff, k);
        return arith::SelectOp::create(
            b, loc, keep, args[0],
            scalarConstant(b, loc, args[0].getType(), 0.0));
      });
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

static LogicalResult convertRange(NodeContext &ctx) {
  if (failed(ctx.expectInputs(3, 3)))
    return failure();
  int32_t dtype = ctx.inputDType(0);
  Type elem = dtypeToType(ctx.ctx(), dtype);
  std::optional<SmallVector<double>> s = ctx.constFloats(0),
                                     l = ctx.constFloats(1),
                                     d = ctx.constFloats(2);
  if (s && l && d) {
    if ((*d)[0] == 0)
      return ctx.error() << "delta must not be zero";
    int64_t n = std::max<int64_t>(
        0, static_cast<int64_t>(std::ceil(((*l)[0] - (*s)[0]) / (*d)[0])));
    if (isIntDType(dtype) && n <= 1024) {
      SmallVector<OpFoldResult> elems;
      for (int64_t i = 0; i < n; ++i)
        elems.push_back(ctx.b.getI64IntegerAttr(
            static_cast<int64_t>((*s)[0]) + i * static_cast<int64_t>((*d)[0])));
      ctx.setOutputElems(0, elems, dtype, false);
      return success();
    }
  }
  // General case: length and values computed at run time.
  Value st = ctx.input(0), li = ctx.input(1), de = ctx.input(2);
  if (!st || !li || !de)
    return failure();
  auto scalar = [&](Value t) -> Value {
    SmallVector<Value> zeros(cast<RankedTensorType>(t.getType()).getRank(),
                             arith::ConstantIndexOp::create(ctx.b, ctx.loc, 0));
    return tensor::ExtractOp::create(ctx.b, ctx.loc, t, zeros);
  };
  Value start = scalar(st), limit = scalar(li), delta = scalar(de);
  Value count;
  if (isa<FloatType>(elem)) {
    Value q = arith::DivFOp::create(
        ctx.b, ctx.loc, arith::SubFOp::create(ctx.b, ctx.loc, limit, start),
        delta);
    Value c = math::CeilOp::create(ctx.b, ctx.loc, q);
    count = arith::FPToSIOp::create(ctx.b, ctx.loc, ctx.b.getI64Type(), c);
    count = arith::IndexCastOp::create(ctx.b, ctx.loc, ctx.b.getIndexType(),
                                       count);
  } else {
    Value diff = arith::SubIOp::create(ctx.b, ctx.loc, limit, start);
    count = arith::IndexCastOp::create(
        ctx.b, ctx.loc, ctx.b.getIndexType(),
        arith::CeilDivSIOp::create(ctx.b, ctx.loc, diff, delta));
  }
  count = arith::MaxSIOp::create(ctx.b, ctx.loc, count,
                                 arith::ConstantIndexOp::create(ctx.b, ctx.loc, 0));
  Value init = emptyTensor(ctx.b, ctx.loc, {OpFoldResult(count)}, elem);
  Value result =
      linalg::GenericOp::create(
          ctx.b, ctx.loc, init.getType(), ValueRange{}, ValueRange{init},
          SmallVector<AffineMap>{ctx.b.getMultiDimIdentityMap(1)},
          SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
          [&](OpBuilder &b, Location loc, ValueRange) {
            Value i = linalg::IndexOp::create(b, loc, 0);
            Value v;
            if (isa<FloatType>(elem)) {
              Value fi = arith::SIToFPOp::create(
                  b, loc, elem,
                  arith::IndexCastOp::create(b, loc, b.getI64Type(), i));
              v = arith::AddFOp::create(
                  b, loc, start, arith::MulFOp::create(b, loc, fi, delta));
            } else {
              Value ii = arith::IndexCastOp::create(b, loc, elem, i);
              v = arith::AddIOp::create(b, loc, start,
                                        arith::MulIOp::create(b, loc, ii, delta));
            }
            linalg::YieldOp::create(b, loc, v);
          })
          .getResult(0);
  ctx.setOutput(0, result, dtype);
  return success();
}

void qopt::onnx_import::registerShapeOps(OpRegistry &r) {
  r.add("", "Shape", convertShape);
  r.add("", "Size", convertSize);
  r.add("", "Constant", convertConstant);
  r.add("", "ConstantOfShape", convertConstantOfShape, 9);
  r.add("", "Reshape", convertReshape);
  r.add("", "Flatten", convertFlatten);
  r.add("", "Squeeze", convertSqueeze);
  r.add("", "Unsqueeze", convertUnsqueeze);
  r.add("", "Transpose", convertTranspose);
  r.add("", "Concat", convertConcat);
  r.add("", "Split", convertSplit);
  r.add("", "Slice", convertSlice);
  r.add("", "Gather", convertGather);
  r.add("", "Expand", convertExpand, 8);
  r.add("", "Tile", convertTile, 6);
  r.add("", "Pad", convertPad);
  r.add("", "Trilu", convertTrilu, 14);
  r.add("", "Range", convertRange, 11);
}
