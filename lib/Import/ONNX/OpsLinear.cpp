//===- OpsLinear.cpp - MatMul, Gemm, Conv, ConvTranspose ------------------===//
//
// Matrix products become linalg.matmul (batch dims of a 2-D right operand
// folded into M) or linalg.batch_matmul, accumulating f16/bf16 operands in
// f32 and rounding once to the type (a 16-bit sum over K = 4096 would lose
// most of its bits); convolutions become the linalg named convolutions
// (NCHW/FCHW) for one group, and a linalg.generic over explicit group dims
// otherwise.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "LinearBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace qopt::onnx_import;

static Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> dims,
                        Type elem) {
  return splatTensor(b, loc, dims, scalarConstant(b, loc, elem, 0.0));
}

/// The accumulator type of a product of `elem` operands: f32 for 16-bit
/// floats.
static Type accumulatorType(OpBuilder &b, Type elem) {
  return elem.isF16() || elem.isBF16() ? Type(b.getF32Type()) : elem;
}

/// `sums` (of dims `dims`) rounded to `elem` when accumulated in a wider
/// type.
static Value roundSums(OpBuilder &b, Location loc, Value sums,
                       ArrayRef<OpFoldResult> dims, Type elem) {
  if (cast<RankedTensorType>(sums.getType()).getElementType() == elem)
    return sums;
  return elementwise(
      b, loc, {sums}, dims, elem,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return arith::TruncFOp::create(nb, l, elem, args[0]).getResult();
      });
}

//===----------------------------------------------------------------------===//
// MatMul
//===----------------------------------------------------------------------===//

FailureOr<Value> qopt::onnx_import::buildMatMul(NodeContext &ctx, Value a,
                                                Value bMat, bool roundToType) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(bMat.getType());
  if (aType.getRank() == 0 || bType.getRank() == 0)
    return ctx.error() << "MatMul operands must have rank >= 1";
  Type elem = aType.getElementType();
  if (elem != bType.getElementType())
    return ctx.error() << "operand types differ: " << aType << " and " << bType;

  // Vectors are promoted to matrices and the added dim removed at the end.
  bool aVector = aType.getRank() == 1, bVector = bType.getRank() == 1;
  SmallVector<OpFoldResult> aDims = tensorDims(b, loc, a);
  SmallVector<OpFoldResult> bDims = tensorDims(b, loc, bMat);
  if (aVector) {
    aDims.insert(aDims.begin(), b.getIndexAttr(1));
    a = reshapeTensor(b, loc, a, aDims);
  }
  if (bVector) {
    bDims.push_back(b.getIndexAttr(1));
    bMat = reshapeTensor(b, loc, bMat, bDims);
  }
  OpFoldResult m = aDims[aDims.size() - 2], k = aDims.back();
  OpFoldResult kb = bDims[bDims.size() - 2], n = bDims.back();
  std::optional<int64_t> ks = getConstantIntValue(k),
                         kbs = getConstantIntValue(kb);
  if (ks && kbs && *ks != *kbs)
    return ctx.error() << "reduction dimensions differ: " << *ks << " and "
                       << *kbs;

  Type acc = accumulatorType(b, elem);

  ArrayRef<OpFoldResult> aBatch = ArrayRef(aDims).drop_back(2);
  ArrayRef<OpFoldResult> bBatch = ArrayRef(bDims).drop_back(2);
  bool bHasBatch = llvm::any_of(
      bBatch, [](OpFoldResult d) { return getConstantIntValue(d) != 1; });

  SmallVector<OpFoldResult> outDims;
  Value result;
  if (!bHasBatch) {
    // [..., M, K] x [K, N]: fold A's batch dims into M.
    Value b2 = bBatch.empty() ? bMat : reshapeTensor(b, loc, bMat, {kb, n});
    IndexMath im{b, loc};
    OpFoldResult rows = im.c(1);
    for (OpFoldResult d : aBatch)
      rows = im.mul(rows, d);
    rows = im.mul(rows, m);
    Value a2 = aBatch.empty() ? a : reshapeTensor(b, loc, a, {rows, k});
    Value init = zeroFilled(b, loc, {rows, n}, acc);
    Value prod = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                          ValueRange{a2, b2}, ValueRange{init})
                     .getResult(0);
    outDims.append(aBatch.begin(), aBatch.end());
    outDims.push_back(m);
    outDims.push_back(n);
    result = aBatch.empty() ? prod : reshapeTensor(b, loc, prod, outDims);
  } else {
    // Broadcast the batch dims, fold them into one, batch_matmul.
    SmallVector<Value> batchProbe;
    auto batchOnly = [&](ArrayRef<OpFoldResult> batch) {
      SmallVector<int64_t> shape = staticShape(batch);
      return emptyTensor(b, loc, batch, elem);
    };
    Value aProbe = batchOnly(aBatch), bProbe = batchOnly(bBatch);
    std::string error;
    auto batch = broadcastDims(b, loc, {aProbe, bProbe}, error);
    if (failed(batch))
      return ctx.error() << "MatMul batch dims: " << error;
    SmallVector<OpFoldResult> aFull(*batch), bFull(*batch);
    aFull.append({m, k});
    bFull.append({kb, n});
    Value aB = broadcastTo(b, loc, a, aFull);
    Value bB = broadcastTo(b, loc, bMat, bFull);
    IndexMath im{b, loc};
    OpFoldResult total = im.c(1);
    for (OpFoldResult d : *batch)
      total = im.mul(total, d);
    Value a3 = reshapeTensor(b, loc, aB, {total, m, k});
    Value b3 = reshapeTensor(b, loc, bB, {total, kb, n});
    Value init = zeroFilled(b, loc, {total, m, n}, acc);
    Value prod =
        linalg::BatchMatmulOp::create(b, loc, TypeRange{init.getType()},
                                      ValueRange{a3, b3}, ValueRange{init})
            .getResult(0);
    outDims.assign(batch->begin(), batch->end());
    outDims.append({m, n});
    result = reshapeTensor(b, loc, prod, outDims);
  }
  if (roundToType)
    result = roundSums(b, loc, result, outDims, elem);
  if (aVector || bVector) {
    SmallVector<OpFoldResult> squeezed(outDims);
    if (bVector)
      squeezed.pop_back();
    if (aVector)
      squeezed.erase(squeezed.end() - (bVector ? 1 : 2));
    result = reshapeTensor(b, loc, result, squeezed);
  }
  return result;
}

static LogicalResult convertMatMul(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  Value a = ctx.input(0), bMat = ctx.input(1);
  if (!a || !bMat)
    return failure();
  FailureOr<Value> result = buildMatMul(ctx, a, bMat);
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, ctx.inputDType(0));
  return success();
}

/// Y = alpha * A' * B' + beta * C.
static LogicalResult convertGemm(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  Value a = ctx.input(0), bMat = ctx.input(1);
  if (!a || !bMat)
    return failure();
  if (cast<RankedTensorType>(a.getType()).getRank() != 2 ||
      cast<RankedTensorType>(bMat.getType()).getRank() != 2)
    return ctx.error() << "Gemm operands must be 2-D";
  if (ctx.getInt("transA", 0))
    a = transposeTensor(ctx.b, ctx.loc, a, {1, 0});
  if (ctx.getInt("transB", 0))
    bMat = transposeTensor(ctx.b, ctx.loc, bMat, {1, 0});
  // f16/bf16: the f32 sums, rounded once after alpha and beta.
  FailureOr<Value> prod = buildMatMul(ctx, a, bMat, /*roundToType=*/false);
  if (failed(prod))
    return failure();
  Type outElem = cast<RankedTensorType>(a.getType()).getElementType();
  float alpha = ctx.getFloat("alpha", 1.0f), beta = ctx.getFloat("beta", 1.0f);
  Value result = *prod;
  Value c = ctx.hasInput(2) ? ctx.input(2) : Value();
  if (ctx.hasInput(2) && !c)
    return failure();
  if (alpha != 1.0f || (c && beta != 0.0f)) {
    SmallVector<Value> operands = {result};
    if (c && beta != 0.0f)
      operands.push_back(c);
    SmallVector<OpFoldResult> dims = tensorDims(ctx.b, ctx.loc, result);
    Type elem = cast<RankedTensorType>(result.getType()).getElementType();
    bool isFloat = isa<FloatType>(elem);
    result = elementwise(
        ctx.b, ctx.loc, operands, dims, elem,
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value cArg = args.size() > 1 ? args[1] : Value();
          if (cArg && cArg.getType() != elem)
            cArg = arith::ExtFOp::create(b, loc, elem, cArg);
          auto mul = [&](Value x, double s) -> Value {
            if (s == 1.0)
              return x;
            Value sc = scalarConstant(b, loc, elem, s);
            return isFloat ? arith::MulFOp::create(b, loc, x, sc).getResult()
                           : arith::MulIOp::create(b, loc, x, sc).getResult();
          };
          Value y = mul(args[0], alpha);
          if (cArg) {
            Value cv = mul(cArg, beta);
            y = isFloat ? arith::AddFOp::create(b, loc, y, cv).getResult()
                        : arith::AddIOp::create(b, loc, y, cv).getResult();
          }
          return y;
        });
  }
  result = roundSums(ctx.b, ctx.loc, result, tensorDims(ctx.b, ctx.loc, result),
                     outElem);
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

/// out = (in + padBegin + padEnd - dilation * (k - 1) - 1) / stride + 1
static OpFoldResult convOutputSize(OpBuilder &b, Location loc, OpFoldResult in,
                                   int64_t padTotal, int64_t kernel,
                                   int64_t stride, int64_t dilation) {
  int64_t sub = dilation * (kernel - 1) + 1 - padTotal;
  if (std::optional<int64_t> c = getConstantIntValue(in))
    return b.getIndexAttr((*c - sub) / stride + 1);
  Value v = arith::SubIOp::create(b, loc, dimValue(b, loc, in),
                                  arith::ConstantIndexOp::create(b, loc, sub));
  v = arith::DivSIOp::create(b, loc, v,
                             arith::ConstantIndexOp::create(b, loc, stride));
  return arith::AddIOp::create(b, loc, v,
                               arith::ConstantIndexOp::create(b, loc, 1))
      .getResult();
}

Value qopt::onnx_import::padTensor(OpBuilder &b, Location loc, Value x,
                                   ArrayRef<int64_t> low,
                                   ArrayRef<int64_t> high, Value padValue) {
  assert(low.size() == high.size() &&
         static_cast<int64_t>(low.size()) ==
             cast<RankedTensorType>(x.getType()).getRank() &&
         "pads must cover every dimension");
  if (llvm::all_of(low, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(high, [](int64_t p) { return p == 0; }))
    return x;
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape;
  for (auto [d, l, h] : llvm::zip(type.getShape(), low, high))
    shape.push_back(ShapedType::isDynamic(d) ? d : d + l + h);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  SmallVector<OpFoldResult> lo, hi;
  for (int64_t l : low)
    lo.push_back(b.getIndexAttr(l));
  for (int64_t h : high)
    hi.push_back(b.getIndexAttr(h));
  return tensor::PadOp::create(b, loc, resultType, x, lo, hi, padValue);
}

FailureOr<Value> qopt::onnx_import::buildConv(NodeContext &ctx, Value x,
                                              Value w, const ConvParams &p) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  MLIRContext *mctx = b.getContext();
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  Type elem = xType.getElementType();
  int64_t spatial = xType.getRank() - 2;
  int64_t group = p.group;

  SmallVector<int64_t> lo = {0, 0}, hi = {0, 0};
  lo.append(p.padsBegin.begin(), p.padsBegin.end());
  hi.append(p.padsEnd.begin(), p.padsEnd.end());
  x = padTensor(b, loc, x, lo, hi, scalarConstant(b, loc, elem, 0.0));
  SmallVector<OpFoldResult> xDims = tensorDims(b, loc, x);
  SmallVector<OpFoldResult> wDims = tensorDims(b, loc, w);
  SmallVector<OpFoldResult> outDims = {xDims[0], wDims[0]};
  for (int64_t i = 0; i < spatial; ++i)
    outDims.push_back(convOutputSize(b, loc, xDims[2 + i], 0,
                                     wType.getDimSize(2 + i), p.strides[i],
                                     p.dilations[i]));

  Type acc = accumulatorType(b, elem);
  if (group == 1) {
    Value init = zeroFilled(b, loc, outDims, acc);
    SmallVector<NamedAttribute> attrs = {
        b.getNamedAttr("strides", b.getI64TensorAttr(p.strides)),
        b.getNamedAttr("dilations", b.getI64TensorAttr(p.dilations))};
    Type resultType = init.getType();
    SmallVector<Value> ins = {x, w}, outs = {init};
    Value sums;
    switch (spatial) {
    case 1:
      sums =
          linalg::Conv1DNcwFcwOp::create(b, loc, resultType, ins, outs, attrs)
              .getResult(0);
      break;
    case 2:
      sums =
          linalg::Conv2DNchwFchwOp::create(b, loc, resultType, ins, outs, attrs)
              .getResult(0);
      break;
    case 3:
      sums = linalg::Conv3DNcdhwFcdhwOp::create(b, loc, resultType, ins, outs,
                                                attrs)
                 .getResult(0);
      break;
    default:
      break;
    }
    if (sums)
      return roundSums(b, loc, sums, outDims, elem);
  }

  // General form: expose the group dims and write the convolution out.
  // Loops: (n, g, m, o_1..o_s, c, k_1..k_s).
  std::optional<int64_t> c = getConstantIntValue(xDims[1]);
  std::optional<int64_t> mTotal = getConstantIntValue(wDims[0]);
  if (!c || !mTotal)
    return ctx.error() << "grouped convolution needs static channel counts";
  int64_t cg = *c / group, mg = *mTotal / group;
  SmallVector<OpFoldResult> xg = {xDims[0], b.getIndexAttr(group),
                                  b.getIndexAttr(cg)};
  SmallVector<OpFoldResult> wg = {b.getIndexAttr(group), b.getIndexAttr(mg),
                                  wDims[1]};
  SmallVector<OpFoldResult> yg = {outDims[0], b.getIndexAttr(group),
                                  b.getIndexAttr(mg)};
  for (int64_t i = 0; i < spatial; ++i) {
    xg.push_back(xDims[2 + i]);
    wg.push_back(wDims[2 + i]);
    yg.push_back(outDims[2 + i]);
  }
  Value x5 = reshapeTensor(b, loc, x, xg);
  Value w5 = reshapeTensor(b, loc, w, wg);
  Value init = zeroFilled(b, loc, yg, acc);

  int64_t nLoops = 3 + spatial + 1 + spatial;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, mctx); };
  int64_t cLoop = 3 + spatial, kLoop = cLoop + 1;
  SmallVector<AffineExpr> xExprs = {d(0), d(1), d(cLoop)};
  SmallVector<AffineExpr> wExprs = {d(1), d(2), d(cLoop)};
  SmallVector<AffineExpr> yExprs = {d(0), d(1), d(2)};
  for (int64_t i = 0; i < spatial; ++i) {
    xExprs.push_back(d(3 + i) * p.strides[i] + d(kLoop + i) * p.dilations[i]);
    wExprs.push_back(d(kLoop + i));
    yExprs.push_back(d(3 + i));
  }
  SmallVector<AffineMap> maps = {AffineMap::get(nLoops, 0, xExprs, mctx),
                                 AffineMap::get(nLoops, 0, wExprs, mctx),
                                 AffineMap::get(nLoops, 0, yExprs, mctx)};
  SmallVector<utils::IteratorType> iters(3 + spatial,
                                         utils::IteratorType::parallel);
  iters.append(1 + spatial, utils::IteratorType::reduction);
  bool isFloat = isa<FloatType>(elem);
  Value y5 =
      linalg::GenericOp::create(
          b, loc, init.getType(), ValueRange{x5, w5}, ValueRange{init}, maps,
          iters,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value xv = args[0], wv = args[1];
            if (acc != elem) {
              xv = arith::ExtFOp::create(nb, nloc, acc, xv);
              wv = arith::ExtFOp::create(nb, nloc, acc, wv);
            }
            Value prod =
                isFloat ? arith::MulFOp::create(nb, nloc, xv, wv).getResult()
                        : arith::MulIOp::create(nb, nloc, xv, wv).getResult();
            Value sum =
                isFloat
                    ? arith::AddFOp::create(nb, nloc, args[2], prod).getResult()
                    : arith::AddIOp::create(nb, nloc, args[2], prod)
                          .getResult();
            linalg::YieldOp::create(nb, nloc, sum);
          })
          .getResult(0);
  return roundSums(b, loc, reshapeTensor(b, loc, y5, outDims), outDims, elem);
}

/// Explicit begin/end pads from `pads` or `auto_pad` for input sizes `in`
/// (SAME_* needs them static).
static LogicalResult
convPads(NodeContext &ctx, ArrayRef<int64_t> in, ArrayRef<int64_t> kernel,
         ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations,
         SmallVectorImpl<int64_t> &begin, SmallVectorImpl<int64_t> &end) {
  int64_t s = kernel.size();
  std::string autoPad = ctx.getString("auto_pad", "NOTSET");
  begin.assign(s, 0);
  end.assign(s, 0);
  if (autoPad == "NOTSET") {
    if (std::optional<SmallVector<int64_t>> pads = ctx.getInts("pads")) {
      if (static_cast<int64_t>(pads->size()) != 2 * s)
        return ctx.error() << "pads must have " << 2 * s << " values";
      for (int64_t i = 0; i < s; ++i) {
        begin[i] = (*pads)[i];
        end[i] = (*pads)[s + i];
        if (begin[i] < 0 || end[i] < 0)
          return ctx.error() << "negative pads are not supported";
      }
    }
    return success();
  }
  if (autoPad == "VALID")
    return success();
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return ctx.error() << "unknown auto_pad '" << autoPad << "'";
  for (int64_t i = 0; i < s; ++i) {
    if (ShapedType::isDynamic(in[i]))
      return ctx.error() << "auto_pad " << autoPad
                         << " needs static spatial dimensions";
    int64_t out = (in[i] + strides[i] - 1) / strides[i];
    int64_t total = std::max<int64_t>(
        0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in[i]);
    int64_t small = total / 2, large = total - small;
    begin[i] = autoPad == "SAME_UPPER" ? small : large;
    end[i] = total - begin[i];
  }
  return success();
}

/// Reads strides, dilations, group and pads of a Conv/ConvTranspose/pool.
static LogicalResult readConvParams(NodeContext &ctx, int64_t spatial,
                                    ArrayRef<int64_t> kernel,
                                    ArrayRef<int64_t> inSpatial, ConvParams &p,
                                    bool computePads = true) {
  p.group = ctx.getInt("group", 1);
  p.strides = ctx.getInts("strides").value_or(SmallVector<int64_t>(spatial, 1));
  p.dilations =
      ctx.getInts("dilations").value_or(SmallVector<int64_t>(spatial, 1));
  if (static_cast<int64_t>(p.strides.size()) != spatial ||
      static_cast<int64_t>(p.dilations.size()) != spatial)
    return ctx.error() << "strides and dilations must have " << spatial
                       << " values";
  if (llvm::any_of(p.strides, [](int64_t s) { return s < 1; }) ||
      llvm::any_of(p.dilations, [](int64_t s) { return s < 1; }))
    return ctx.error() << "strides and dilations must be positive";
  if (p.group < 1)
    return ctx.error() << "group must be positive";
  if (!computePads)
    return success();
  return convPads(ctx, inSpatial, kernel, p.strides, p.dilations, p.padsBegin,
                  p.padsEnd);
}

/// Adds a per-channel bias [M] to a tensor [N, M, ...].
static Value addChannelBias(OpBuilder &b, Location loc, Value y, Value bias) {
  auto yType = cast<RankedTensorType>(y.getType());
  SmallVector<OpFoldResult> biasDims = {
      b.getIndexAttr(cast<RankedTensorType>(bias.getType()).getDimSize(0))};
  if (ShapedType::isDynamic(
          cast<RankedTensorType>(bias.getType()).getDimSize(0)))
    biasDims = tensorDims(b, loc, bias);
  for (int64_t i = 2; i < yType.getRank(); ++i)
    biasDims.push_back(b.getIndexAttr(1));
  Value biasN = reshapeTensor(b, loc, bias, biasDims);
  bool isFloat = isa<FloatType>(yType.getElementType());
  return elementwise(
      b, loc, {y, biasN}, tensorDims(b, loc, y), yType.getElementType(),
      [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
        return isFloat ? arith::AddFOp::create(nb, nloc, args[0], args[1])
                             .getResult()
                       : arith::AddIOp::create(nb, nloc, args[0], args[1])
                             .getResult();
      });
}

static LogicalResult convertConv(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  Value x = ctx.input(0), w = ctx.input(1);
  if (!x || !w)
    return failure();
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  int64_t spatial = xType.getRank() - 2;
  if (spatial < 1 || spatial > 3 || wType.getRank() != xType.getRank())
    return ctx.error() << "Conv supports 1 to 3 spatial dimensions with "
                          "weights of the input's rank";
  if (!wType.hasStaticShape())
    return ctx.error() << "Conv weights need a static shape";
  SmallVector<int64_t> kernel(wType.getShape().drop_front(2));
  if (auto ks = ctx.getInts("kernel_shape"))
    if (ArrayRef<int64_t>(*ks) != ArrayRef<int64_t>(kernel))
      return ctx.error() << "kernel_shape does not match the weights";
  ConvParams p;
  if (failed(readConvParams(ctx, spatial, kernel,
                            xType.getShape().drop_front(2), p)))
    return failure();
  int64_t c = xType.getDimSize(1);
  if (!ShapedType::isDynamic(c) &&
      (c % p.group || c / p.group != wType.getDimSize(1) ||
       wType.getDimSize(0) % p.group))
    return ctx.error() << "input channels " << c << ", weight shape " << wType
                       << " and group " << p.group << " do not agree";
  FailureOr<Value> y = buildConv(ctx, x, w, p);
  if (failed(y))
    return failure();
  Value result = *y;
  if (ctx.hasInput(2)) {
    Value bias = ctx.input(2);
    if (!bias)
      return failure();
    result = addChannelBias(ctx.b, ctx.loc, result, bias);
  }
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

/// ConvTranspose as a convolution: the input is dilated by the stride
/// (zeros between elements), padded by dilation*(k-1) minus the pads, and
/// convolved at stride 1 with the spatially flipped kernel whose in/out
/// channels are swapped per group.
static LogicalResult convertConvTranspose(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  MLIRContext *mctx = b.getContext();
  Value x = ctx.input(0), w = ctx.input(1);
  if (!x || !w)
    return failure();
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  int64_t spatial = xType.getRank() - 2;
  if (spatial < 1 || spatial > 3 || wType.getRank() != xType.getRank())
    return ctx.error() << "ConvTranspose supports 1 to 3 spatial dimensions";
  if (!wType.hasStaticShape())
    return ctx.error() << "ConvTranspose weights need a static shape";
  Type elem = xType.getElementType();
  SmallVector<int64_t> kernel(wType.getShape().drop_front(2));
  ConvParams p;
  if (failed(
          readConvParams(ctx, spatial, kernel, {}, p, /*computePads=*/false)))
    return failure();
  SmallVector<int64_t> outPad =
      ctx.getInts("output_padding").value_or(SmallVector<int64_t>(spatial, 0));
  if (static_cast<int64_t>(outPad.size()) != spatial)
    return ctx.error() << "output_padding must have " << spatial << " values";
  int64_t group = p.group;
  int64_t c = wType.getDimSize(0), mg = wType.getDimSize(1);
  if (c % group)
    return ctx.error() << "weight channels " << c << " not divisible by group "
                       << group;
  int64_t cg = c / group;

  // Pads, from attributes or from output_shape / auto_pad.
  SmallVector<int64_t> inSpatial(xType.getShape().drop_front(2));
  SmallVector<int64_t> padBegin(spatial, 0), padEnd(spatial, 0);
  std::string autoPad = ctx.getString("auto_pad", "NOTSET");
  std::optional<SmallVector<int64_t>> outputShape = ctx.getInts("output_shape");
  if (outputShape && outputShape->size() > static_cast<size_t>(spatial))
    outputShape = SmallVector<int64_t>(
        ArrayRef<int64_t>(*outputShape).take_back(spatial));
  if (outputShape || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int64_t i = 0; i < spatial; ++i) {
      if (ShapedType::isDynamic(inSpatial[i]))
        return ctx.error() << "output_shape/auto_pad need static spatial dims";
      int64_t full = p.strides[i] * (inSpatial[i] - 1) + outPad[i] +
                     (kernel[i] - 1) * p.dilations[i] + 1;
      int64_t target =
          outputShape ? (*outputShape)[i] : inSpatial[i] * p.strides[i];
      // May be negative: the output then extends past the full result and
      // the negative pads add zeros.
      int64_t total = full - target;
      // ONNX's formulas divide by 2 rounding down (also for negative totals,
      // which put the extra output at the end).
      int64_t half = llvm::divideFloorSigned(total, 2);
      if (autoPad == "SAME_UPPER") {
        padBegin[i] = half;
        padEnd[i] = total - half;
      } else {
        padBegin[i] = total - half;
        padEnd[i] = half;
      }
    }
  } else if (std::optional<SmallVector<int64_t>> pads = ctx.getInts("pads")) {
    if (static_cast<int64_t>(pads->size()) != 2 * spatial)
      return ctx.error() << "pads must have " << 2 * spatial << " values";
    for (int64_t i = 0; i < spatial; ++i) {
      padBegin[i] = (*pads)[i];
      padEnd[i] = (*pads)[spatial + i];
    }
  }

  // 1. Dilate the input by the stride.
  SmallVector<OpFoldResult> xDims = tensorDims(b, loc, x);
  SmallVector<OpFoldResult> dilDims = {xDims[0], xDims[1]};
  SmallVector<OpFoldResult> offsets(xType.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
  bool needsDilation = false;
  for (int64_t i = 0; i < spatial; ++i) {
    strides.push_back(b.getIndexAttr(p.strides[i]));
    needsDilation |= p.strides[i] > 1;
    std::optional<int64_t> in = getConstantIntValue(xDims[2 + i]);
    if (in)
      dilDims.push_back(b.getIndexAttr((*in - 1) * p.strides[i] + 1));
    else
      dilDims.push_back(
          arith::AddIOp::create(
              b, loc,
              arith::MulIOp::create(
                  b, loc,
                  arith::SubIOp::create(
                      b, loc, dimValue(b, loc, xDims[2 + i]),
                      arith::ConstantIndexOp::create(b, loc, 1)),
                  arith::ConstantIndexOp::create(b, loc, p.strides[i])),
              arith::ConstantIndexOp::create(b, loc, 1))
              .getResult());
  }
  Value xd = x;
  if (needsDilation)
    xd = tensor::InsertSliceOp::create(
        b, loc, x, zeroFilled(b, loc, dilDims, elem), offsets, xDims, strides);

  // 2. Pad (or crop) by dilation*(k-1) - pad.
  SmallVector<int64_t> lo(2, 0), hi(2, 0);
  SmallVector<int64_t> cropLo(2, 0), cropHi(2, 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t edge = p.dilations[i] * (kernel[i] - 1);
    int64_t l = edge - padBegin[i], h = edge - padEnd[i] + outPad[i];
    lo.push_back(std::max<int64_t>(l, 0));
    hi.push_back(std::max<int64_t>(h, 0));
    cropLo.push_back(std::max<int64_t>(-l, 0));
    cropHi.push_back(std::max<int64_t>(-h, 0));
  }
  xd = padTensor(b, loc, xd, lo, hi, scalarConstant(b, loc, elem, 0.0));
  if (llvm::any_of(cropLo, [](int64_t v) { return v; }) ||
      llvm::any_of(cropHi, [](int64_t v) { return v; })) {
    SmallVector<OpFoldResult> dims = tensorDims(b, loc, xd);
    SmallVector<OpFoldResult> offs, sizes;
    for (int64_t i = 0; i < xType.getRank(); ++i) {
      offs.push_back(b.getIndexAttr(cropLo[i]));
      std::optional<int64_t> dsz = getConstantIntValue(dims[i]);
      if (dsz)
        sizes.push_back(b.getIndexAttr(*dsz - cropLo[i] - cropHi[i]));
      else
        sizes.push_back(
            arith::SubIOp::create(
                b, loc, dimValue(b, loc, dims[i]),
                arith::ConstantIndexOp::create(b, loc, cropLo[i] + cropHi[i]))
                .getResult());
    }
    SmallVector<OpFoldResult> ones(xType.getRank(), b.getIndexAttr(1));
    xd = tensor::ExtractSliceOp::create(b, loc, xd, offs, sizes, ones);
  }

  // 3. The kernel: W'[g*Mg + m, c, k] = W[g*Cg + c, m, K-1-k], built over
  //    explicit group dims [G, Mg, Cg, k...] then folded.
  SmallVector<OpFoldResult> wgDims = {b.getIndexAttr(group), b.getIndexAttr(mg),
                                      b.getIndexAttr(cg)};
  for (int64_t k : kernel)
    wgDims.push_back(b.getIndexAttr(k));
  Value wInit = emptyTensor(b, loc, wgDims, elem);
  Value w4 = reshapeTensor(b, loc, w, [&] {
    SmallVector<OpFoldResult> d = {b.getIndexAttr(group), b.getIndexAttr(cg),
                                   b.getIndexAttr(mg)};
    for (int64_t k : kernel)
      d.push_back(b.getIndexAttr(k));
    return d;
  }());
  int64_t loops = 3 + spatial;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, mctx); };
  SmallVector<AffineExpr> inExprs = {dim(0), dim(2), dim(1)};
  for (int64_t i = 0; i < spatial; ++i)
    inExprs.push_back(getAffineConstantExpr(kernel[i] - 1, mctx) - dim(3 + i));
  Value wFlipped =
      linalg::GenericOp::create(
          b, loc, wInit.getType(), ValueRange{w4}, ValueRange{wInit},
          SmallVector<AffineMap>{AffineMap::get(loops, 0, inExprs, mctx),
                                 b.getMultiDimIdentityMap(loops)},
          SmallVector<utils::IteratorType>(loops,
                                           utils::IteratorType::parallel),
          [](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(nb, nloc, args[0]);
          })
          .getResult(0);
  SmallVector<OpFoldResult> wcDims = {b.getIndexAttr(group * mg),
                                      b.getIndexAttr(cg)};
  for (int64_t k : kernel)
    wcDims.push_back(b.getIndexAttr(k));
  Value wConv = reshapeTensor(b, loc, wFlipped, wcDims);

  ConvParams cp;
  cp.group = group;
  cp.strides.assign(spatial, 1);
  cp.dilations = p.dilations;
  cp.padsBegin.assign(spatial, 0);
  cp.padsEnd.assign(spatial, 0);
  FailureOr<Value> y = buildConv(ctx, xd, wConv, cp);
  if (failed(y))
    return failure();
  Value result = *y;
  if (ctx.hasInput(2)) {
    Value bias = ctx.input(2);
    if (!bias)
      return failure();
    result = addChannelBias(b, loc, result, bias);
  }
  ctx.setOutput(0, result, ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// MatMulInteger
//===----------------------------------------------------------------------===//

/// Widens an 8-bit integer tensor to i32 and subtracts its zero point.
/// `rowZeroPoint` says a 1-D zero point applies along dim -2 (A's rows)
/// rather than the last dim (B's columns).
static FailureOr<Value> widenMinusZeroPoint(NodeContext &ctx, Value x,
                                            bool isUnsigned, int zpIndex,
                                            bool rowZeroPoint) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  Type i32 = b.getI32Type();
  Value wide = convertTensor(b, loc, x, i32, isUnsigned, false);
  if (!ctx.hasInput(zpIndex))
    return wide;
  Value zp = ctx.input(zpIndex);
  if (!zp)
    return failure();
  zp = convertTensor(b, loc, zp, i32, isUnsignedDType(ctx.inputDType(zpIndex)),
                     false);
  auto zpType = cast<RankedTensorType>(zp.getType());
  if (rowZeroPoint && zpType.getRank() == 1 && zpType.getDimSize(0) != 1) {
    SmallVector<OpFoldResult> d = tensorDims(b, loc, zp);
    d.push_back(b.getIndexAttr(1));
    zp = reshapeTensor(b, loc, zp, d);
  }
  std::string error;
  auto dims = broadcastDims(b, loc, {wide, zp}, error);
  if (failed(dims))
    return ctx.error() << "zero point: " << error;
  return elementwise(
      b, loc, {wide, zp}, *dims, i32,
      [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
        return arith::SubIOp::create(nb, nloc, args[0], args[1]);
      });
}

static LogicalResult convertMatMulInteger(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 4)))
    return failure();
  Value a = ctx.input(0), bMat = ctx.input(1);
  if (!a || !bMat)
    return failure();
  FailureOr<Value> a32 = widenMinusZeroPoint(
      ctx, a, isUnsignedDType(ctx.inputDType(0)), 2, /*rowZeroPoint=*/true);
  FailureOr<Value> b32 = widenMinusZeroPoint(
      ctx, bMat, isUnsignedDType(ctx.inputDType(1)), 3, /*rowZeroPoint=*/false);
  if (failed(a32) || failed(b32))
    return failure();
  FailureOr<Value> result = buildMatMul(ctx, *a32, *b32);
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result, kInt32);
  return success();
}

void qopt::onnx_import::registerLinearOps(OpRegistry &r) {
  r.add("", "MatMul", convertMatMul);
  r.add("", "Gemm", convertGemm);
  r.add("", "Conv", convertConv);
  r.add("", "ConvTranspose", convertConvTranspose);
  r.add("", "MatMulInteger", convertMatMulInteger, 10);
}
