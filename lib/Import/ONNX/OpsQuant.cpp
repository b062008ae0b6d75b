//===- OpsQuant.cpp - pre-quantized ONNX operators -------------------------===//
//
// QuantizeLinear / DequantizeLinear, QLinearMatMul, com.microsoft MatMulNBits
// and QONNX Quant map onto qopt ops with the same bits and scales. ONNX
// integer tensors are builtin signless integers in the IR (int4 widened to a
// byte each); qopt.storage_cast turns them into !qopt.int values where the
// qopt ops need them.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"
#include "LinearBuilders.h"

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Reference/QuantMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>

using namespace mlir;
using namespace qopt::onnx_import;
namespace q = qopt;

/// The qopt storage type of an ONNX integer dtype of at most 8 bits.
static q::IntType storageTypeFor(MLIRContext *ctx, int32_t dtype) {
  unsigned bits = dtypeBits(dtype);
  if (!isIntDType(dtype) || bits > 8)
    return {};
  return q::IntType::get(ctx, bits, !isUnsignedDType(dtype));
}

static Value toStorage(OpBuilder &b, Location loc, Value raw, q::IntType type) {
  auto rt = cast<RankedTensorType>(raw.getType());
  return q::StorageCastOp::create(
      b, loc, RankedTensorType::get(rt.getShape(), type), raw);
}

static Value fromStorage(OpBuilder &b, Location loc, Value qv) {
  auto rt = cast<RankedTensorType>(qv.getType());
  return q::StorageCastOp::create(
      b, loc, RankedTensorType::get(rt.getShape(), b.getIntegerType(8)), qv);
}

namespace {
/// Scale and zero point operands with the scheme they describe.
struct QuantParams {
  q::QuantSchemeAttr scheme;
  Value scale;
  Value zeroPoint; // i32 tensor, null when symmetric
};
} // namespace

/// Builds the scheme and operands of (De)QuantizeLinear-style parameters:
/// `scale` is a scalar, a 1-D tensor along `axis`, or (blockSize > 0) a
/// blocked tensor of the data's rank. A zero point that is a constant zero
/// makes the scheme symmetric.
static FailureOr<QuantParams>
buildQuantParams(NodeContext &ctx, RankedTensorType dataType, unsigned scaleIdx,
                 unsigned zpIdx, int64_t axisAttr, int64_t blockSize,
                 bool narrow = false,
                 q::RoundingMode rounding = q::RoundingMode::NearestEven) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  Value scale = ctx.input(scaleIdx);
  if (!scale)
    return failure();
  auto scaleType = cast<RankedTensorType>(scale.getType());
  if (!isa<FloatType>(scaleType.getElementType()) ||
      scaleType.getElementType().isF64())
    return ctx.error() << "scale must be float32, float16 or bfloat16";
  int64_t rank = dataType.getRank();
  q::Granularity granularity;
  int64_t axis = 0, group = 0;
  if (blockSize > 0) {
    FailureOr<int64_t> a = normalizeAxis(ctx, axisAttr, rank);
    if (failed(a))
      return failure();
    axis = *a;
    group = blockSize;
    granularity = q::Granularity::PerGroup;
    int64_t d = dataType.getDimSize(axis);
    if (!ShapedType::isDynamic(d) && d % blockSize)
      return ctx.error() << "block_size " << blockSize
                         << " does not divide dimension " << axis << " ("
                         << d << "); qopt needs whole blocks";
  } else if (scaleType.getNumElements() == 1 && scaleType.getRank() <= 1) {
    granularity = q::Granularity::PerTensor;
  } else if (scaleType.getRank() == 1) {
    FailureOr<int64_t> a = normalizeAxis(ctx, axisAttr, rank);
    if (failed(a))
      return failure();
    axis = *a;
    granularity = q::Granularity::PerChannel;
  } else {
    return ctx.error() << "scale of shape " << scaleType
                       << " is neither per-tensor, per-axis nor blocked";
  }

  QuantParams params;
  params.scale = scale;
  bool symmetric = true;
  if (ctx.hasInput(zpIdx)) {
    std::optional<SmallVector<double>> zpConst = ctx.constFloats(zpIdx);
    bool allZero = zpConst && llvm::all_of(*zpConst, [](double v) {
                     return v == 0.0;
                   });
    if (!allZero) {
      symmetric = false;
      Value zp = ctx.input(zpIdx);
      if (!zp)
        return failure();
      if (!isIntDType(ctx.inputDType(zpIdx)))
        return ctx.error() << "zero point must be an integer tensor";
      zp = convertTensor(b, loc, zp, b.getI32Type(),
                         isUnsignedDType(ctx.inputDType(zpIdx)), false);
      auto zpType = cast<RankedTensorType>(zp.getType());
      if (zpType.getShape() != scaleType.getShape())
        return ctx.error() << "zero point shape does not match scale shape";
      params.zeroPoint = zp;
    }
  }
  params.scheme = q::QuantSchemeAttr::get(b.getContext(), granularity, axis,
                                          group, symmetric, narrow, rounding);
  return params;
}

//===----------------------------------------------------------------------===//
// QuantizeLinear / DequantizeLinear
//===----------------------------------------------------------------------===//

static LogicalResult convertQuantizeLinear(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto xType = cast<RankedTensorType>(x.getType());
  if (!isa<FloatType>(xType.getElementType()) ||
      xType.getElementType().isF64())
    return ctx.error() << "input must be float32, float16 or bfloat16";
  int32_t outDType = ctx.hasInput(2) ? ctx.inputDType(2) : kUInt8;
  if (ctx.hasAttr("output_dtype") && ctx.getInt("output_dtype", 0))
    outDType = static_cast<int32_t>(ctx.getInt("output_dtype", 0));
  q::IntType storage = storageTypeFor(ctx.ctx(), outDType);
  if (!storage)
    return ctx.error() << "quantizing to " << dtypeName(outDType)
                       << " is not supported (qopt stores 1 to 8 bits)";
  FailureOr<QuantParams> p =
      buildQuantParams(ctx, xType, 1, 2, ctx.getInt("axis", 1),
                       ctx.getInt("block_size", 0));
  if (failed(p))
    return failure();
  Value qv = q::QuantizeOp::create(
      ctx.b, ctx.loc, RankedTensorType::get(xType.getShape(), storage), x,
      p->scale, p->zeroPoint, p->scheme);
  ctx.setOutput(0, fromStorage(ctx.b, ctx.loc, qv), outDType);
  return success();
}

static LogicalResult convertDequantizeLinear(NodeContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  Value x = ctx.input(0);
  if (!x)
    return failure();
  int32_t inDType = ctx.inputDType(0);
  auto xType = cast<RankedTensorType>(x.getType());
  Value scale = ctx.input(1);
  if (!scale)
    return failure();
  Type outElem = cast<RankedTensorType>(scale.getType()).getElementType();
  q::IntType storage = storageTypeFor(ctx.ctx(), inDType);
  if (!storage) {
    // int32 (bias) and 16-bit data: plain float arithmetic, per-tensor or
    // per-axis.
    if (!isIntDType(inDType))
      return ctx.error() << "cannot dequantize " << dtypeName(inDType);
    auto scaleType = cast<RankedTensorType>(scale.getType());
    SmallVector<Value> operands = {x, scale};
    if (ctx.hasInput(2) && !(operands.emplace_back(ctx.input(2))))
      return failure();
    if (scaleType.getRank() == 1 && scaleType.getNumElements() != 1) {
      FailureOr<int64_t> axis =
          normalizeAxis(ctx, ctx.getInt("axis", 1), xType.getRank());
      if (failed(axis))
        return failure();
      for (size_t i = 1; i < operands.size(); ++i) {
        SmallVector<OpFoldResult> d = tensorDims(ctx.b, ctx.loc, operands[i]);
        for (int64_t j = *axis + 1; j < xType.getRank(); ++j)
          d.push_back(ctx.b.getIndexAttr(1));
        operands[i] = reshapeTensor(ctx.b, ctx.loc, operands[i], d);
      }
    }
    bool xu = isUnsignedDType(inDType);
    bool zu = ctx.hasInput(2) && isUnsignedDType(ctx.inputDType(2));
    Value y = elementwise(
        ctx.b, ctx.loc, operands, tensorDims(ctx.b, ctx.loc, x), outElem,
        [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
          Value v = convertScalar(b, loc, a[0], outElem, xu, false);
          if (a.size() > 2)
            v = arith::SubFOp::create(
                b, loc, v, convertScalar(b, loc, a[2], outElem, zu, false));
          return arith::MulFOp::create(b, loc, v, a[1]);
        });
    ctx.setOutput(0, y);
    return success();
  }
  FailureOr<QuantParams> p =
      buildQuantParams(ctx, xType, 1, 2, ctx.getInt("axis", 1),
                       ctx.getInt("block_size", 0));
  if (failed(p))
    return failure();
  Value qv = toStorage(ctx.b, ctx.loc, x, storage);
  Value y = q::DequantizeOp::create(
      ctx.b, ctx.loc, RankedTensorType::get(xType.getShape(), outElem), qv,
      p->scale, p->zeroPoint, p->scheme);
  ctx.setOutput(0, y);
  return success();
}

//===----------------------------------------------------------------------===//
// QLinearMatMul
//===----------------------------------------------------------------------===//

static LogicalResult convertQLinearMatMul(NodeContext &ctx) {
  if (failed(ctx.expectInputs(8, 8)))
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  Value a = ctx.input(0), bw = ctx.input(3);
  if (!a || !bw)
    return failure();
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(bw.getType());
  q::IntType aStorage = storageTypeFor(ctx.ctx(), ctx.inputDType(0));
  q::IntType bStorage = storageTypeFor(ctx.ctx(), ctx.inputDType(3));
  q::IntType yStorage = storageTypeFor(ctx.ctx(), ctx.inputDType(7));
  if (!aStorage || !bStorage || !yStorage)
    return ctx.error() << "operands must be 8-bit (or narrower) integers";
  if (aType.getRank() < 2 || bType.getRank() < 2)
    return ctx.error() << "a and b must have rank >= 2";
  if (bType.getRank() > 2) {
    // Batched b has no qopt.qmatmul form: dequantize both, multiply in
    // float, quantize the result (the same values up to float rounding).
    FailureOr<QuantParams> ap = buildQuantParams(ctx, aType, 1, 2, -2, 0);
    FailureOr<QuantParams> bp = buildQuantParams(ctx, bType, 4, 5, -1, 0);
    if (failed(ap) || failed(bp))
      return failure();
    Type f32 = b.getF32Type();
    Value ad = q::DequantizeOp::create(
        b, loc, RankedTensorType::get(aType.getShape(), f32),
        toStorage(b, loc, a, aStorage), ap->scale, ap->zeroPoint, ap->scheme);
    Value bd = q::DequantizeOp::create(
        b, loc, RankedTensorType::get(bType.getShape(), f32),
        toStorage(b, loc, bw, bStorage), bp->scale, bp->zeroPoint, bp->scheme);
    FailureOr<Value> prod = buildMatMul(ctx, ad, bd);
    if (failed(prod))
      return failure();
    auto prodType = cast<RankedTensorType>(prod->getType());
    FailureOr<QuantParams> yp = buildQuantParams(ctx, prodType, 6, 7, 0, 0);
    if (failed(yp))
      return failure();
    if (!yp->scheme.isPerTensor())
      return ctx.error() << "y_scale must be per-tensor";
    Value yq = q::QuantizeOp::create(
        b, loc, RankedTensorType::get(prodType.getShape(), yStorage), *prod,
        yp->scale, yp->zeroPoint, yp->scheme);
    ctx.setOutput(0, fromStorage(b, loc, yq), ctx.inputDType(7));
    return success();
  }

  // a [..., M, K] -> [M', K]; b [K, N] -> [N, K] (qopt.qmatmul's layout).
  SmallVector<OpFoldResult> aDims = tensorDims(b, loc, a);
  IndexMath im{b, loc};
  OpFoldResult rows = im.c(1);
  for (OpFoldResult d : ArrayRef(aDims).drop_back())
    rows = im.mul(rows, d);
  Value a2 = reshapeTensor(b, loc, a, {rows, aDims.back()});
  Value bt = transposeTensor(b, loc, bw, {1, 0});
  auto a2Type = cast<RankedTensorType>(a2.getType());
  auto btType = cast<RankedTensorType>(bt.getType());

  FailureOr<QuantParams> ap = buildQuantParams(ctx, a2Type, 1, 2, 0, 0);
  if (failed(ap))
    return failure();
  // b's per-column scales are per output channel: axis 0 of [N, K].
  FailureOr<QuantParams> bp = buildQuantParams(ctx, btType, 4, 5, 0, 0);
  if (failed(bp))
    return failure();
  Value aq = toStorage(b, loc, a2, aStorage);
  Value bq = toStorage(b, loc, bt, bStorage);
  Type f32 = b.getF32Type();
  auto prodType = RankedTensorType::get(
      {a2Type.getDimSize(0), btType.getDimSize(0)}, f32);
  // The verifier wants f32 or f16 scales of matching shape; convert f16
  // scales' results via the epilogue type.
  Value prod = q::QMatmulOp::create(b, loc, prodType, aq, ap->scale,
                                    ap->zeroPoint, bq, bp->scale, bp->zeroPoint,
                                    /*bias=*/Value(), ap->scheme, bp->scheme);
  FailureOr<QuantParams> yp = buildQuantParams(
      ctx, cast<RankedTensorType>(prod.getType()), 6, 7, 0, 0);
  if (failed(yp))
    return failure();
  if (!yp->scheme.isPerTensor())
    return ctx.error() << "y_scale must be per-tensor";
  Value yq = q::QuantizeOp::create(
      b, loc, RankedTensorType::get(prodType.getShape(), yStorage), prod,
      yp->scale, yp->zeroPoint, yp->scheme);
  SmallVector<OpFoldResult> outDims(ArrayRef(aDims).drop_back());
  outDims.push_back(tensorDims(b, loc, bw)[1]);
  Value y = reshapeTensor(b, loc, fromStorage(b, loc, yq), outDims);
  ctx.setOutput(0, y, ctx.inputDType(7));
  return success();
}

//===----------------------------------------------------------------------===//
// MatMulNBits (com.microsoft)
//===----------------------------------------------------------------------===//

/// A [N, K] tensor of i8 values as a dense_resource constant.
static Value weightConstant(OpBuilder &b, Location loc, ArrayRef<int8_t> data,
                            int64_t rows, int64_t cols, StringRef name) {
  auto type = RankedTensorType::get({rows, cols}, b.getIntegerType(8));
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(data);
  auto attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
  return arith::ConstantOp::create(b, loc, attr);
}

static LogicalResult convertMatMulNBits(NodeContext &ctx) {
  if (failed(ctx.expectInputs(3, 6)))
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  int64_t k = ctx.getInt("K", 0), n = ctx.getInt("N", 0);
  int64_t bits = ctx.getInt("bits", 4), block = ctx.getInt("block_size", 0);
  if (k <= 0 || n <= 0)
    return ctx.error() << "attributes K and N must be positive";
  if (bits < 2 || bits > 8)
    return ctx.error() << "bits must be in [2, 8], got " << bits;
  if (block < 16 || (block & (block - 1)))
    return ctx.error() << "block_size must be a power of two >= 16, got "
                       << block;
  if (ctx.hasInput(4))
    return ctx.error() << "g_idx (act-order permutation) is not supported";
  Value a = ctx.input(0);
  if (!a)
    return failure();
  auto aType = cast<RankedTensorType>(a.getType());
  Type elem = aType.getElementType();
  if (!elem.isF32() && !elem.isF16())
    return ctx.error() << "A must be float32 or float16";
  if (aType.getDimSize(aType.getRank() - 1) != k &&
      !aType.isDynamicDim(aType.getRank() - 1))
    return ctx.error() << "A's last dimension is not K = " << k;

  int64_t nBlocks = (k + block - 1) / block;
  int64_t blob = (block * bits + 7) / 8;
  int64_t kPadded = nBlocks * block;
  const DecodedTensor *packed = ctx.constTensor(1);
  if (!packed)
    return ctx.error() << "B must be a constant initializer";
  if (packed->dtype != kUInt8 || packed->numElements != n * nBlocks * blob)
    return ctx.error() << "B must be uint8 [" << n << ", " << nBlocks << ", "
                       << blob << "] for K = " << k << ", block_size = "
                       << block << ", bits = " << bits;

  // Zero points: absent means 2^(bits-1), which turns the unsigned codes into
  // signed symmetric values; packed uint8 zero points make the scheme
  // asymmetric.
  bool hasZp = ctx.hasInput(3);
  std::vector<int32_t> zeroPoints;
  if (hasZp) {
    const DecodedTensor *zp = ctx.constTensor(3);
    if (!zp)
      return ctx.error() << "zero_points must be a constant initializer";
    if (zp->dtype != kUInt8)
      return ctx.error() << "float zero points are not supported; qopt "
                            "needs integer zero points";
    int64_t stride = (nBlocks * bits + 7) / 8;
    if (zp->numElements != n * stride)
      return ctx.error() << "zero_points has " << zp->numElements
                         << " bytes, expected " << n * stride;
    std::vector<uint8_t> bytes(zp->data<uint8_t>().begin(),
                               zp->data<uint8_t>().end());
    for (int64_t row = 0; row < n; ++row) {
      std::vector<uint8_t> rowBytes(bytes.begin() + row * stride,
                                    bytes.begin() + (row + 1) * stride);
      std::vector<int32_t> v =
          qopt::ref::unpackBits(rowBytes, nBlocks, bits, /*isSigned=*/false);
      zeroPoints.insert(zeroPoints.end(), v.begin(), v.end());
    }
  }
  std::vector<int8_t> weights(n * kPadded);
  int32_t offset = hasZp ? 0 : 1 << (bits - 1);
  std::vector<uint8_t> blockBytes(blob);
  auto packedData = packed->data<uint8_t>();
  for (int64_t row = 0; row < n; ++row)
    for (int64_t blk = 0; blk < nBlocks; ++blk) {
      const uint8_t *src = packedData.data() + (row * nBlocks + blk) * blob;
      blockBytes.assign(src, src + blob);
      std::vector<int32_t> v =
          qopt::ref::unpackBits(blockBytes, block, bits, /*isSigned=*/false);
      for (int64_t i = 0; i < block; ++i)
        weights[row * kPadded + blk * block + i] =
            static_cast<int8_t>(v[i] - offset);
    }

  Value raw = weightConstant(b, loc, weights, n, kPadded,
                             ctx.node.input(1) + "_unpacked");
  q::IntType storage = q::IntType::get(ctx.ctx(), bits, /*isSigned=*/!hasZp);
  Value wq = toStorage(b, loc, raw, storage);

  Value scales = ctx.input(2);
  if (!scales)
    return failure();
  auto scaleType = cast<RankedTensorType>(scales.getType());
  if (scaleType.getNumElements() != n * nBlocks)
    return ctx.error() << "scales must have N * n_blocks = " << n * nBlocks
                       << " elements";
  scales = reshapeTensor(b, loc, scales, {b.getIndexAttr(n), b.getIndexAttr(nBlocks)});
  Value zpTensor;
  if (hasZp) {
    auto zpType = RankedTensorType::get({n, nBlocks}, b.getI32Type());
    zpTensor = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(zpType, ArrayRef<int32_t>(zeroPoints)));
  }
  auto scheme = q::QuantSchemeAttr::get(ctx.ctx(), q::Granularity::PerGroup, 1,
                                        block, /*symmetric=*/!hasZp);

  // A [..., K] -> [M', K], zero-padded to whole blocks.
  SmallVector<OpFoldResult> aDims = tensorDims(b, loc, a);
  IndexMath im{b, loc};
  OpFoldResult rows = im.c(1);
  for (OpFoldResult d : ArrayRef(aDims).drop_back())
    rows = im.mul(rows, d);
  Value a2 = reshapeTensor(b, loc, a, {rows, im.c(k)});
  a2 = padTensor(b, loc, a2, {0, 0}, {0, kPadded - k},
                 scalarConstant(b, loc, elem, 0.0));
  Value bias;
  if (ctx.hasInput(5) && !(bias = ctx.input(5)))
    return failure();
  auto a2Type = cast<RankedTensorType>(a2.getType());
  auto outType = RankedTensorType::get({a2Type.getDimSize(0), n}, elem);
  Value y = q::QMatmulOp::create(b, loc, outType, a2, Value(), Value(), wq,
                                 scales, zpTensor, bias, q::QuantSchemeAttr(),
                                 scheme);
  SmallVector<OpFoldResult> outDims(ArrayRef(aDims).drop_back());
  outDims.push_back(im.c(n));
  ctx.setOutput(0, reshapeTensor(b, loc, y, outDims), ctx.inputDType(0));
  return success();
}

//===----------------------------------------------------------------------===//
// QONNX Quant
//===----------------------------------------------------------------------===//

static FailureOr<q::RoundingMode> qonnxRounding(NodeContext &ctx) {
  std::string mode = llvm::StringRef(ctx.getString("rounding_mode", "ROUND")).upper();
  if (mode == "ROUND" || mode == "HALF_EVEN")
    return q::RoundingMode::NearestEven;
  if (mode == "CEIL")
    return q::RoundingMode::Ceil;
  if (mode == "FLOOR")
    return q::RoundingMode::Floor;
  if (mode == "UP")
    return q::RoundingMode::AwayFromZero;
  if (mode == "DOWN" || mode == "ROUND_TO_ZERO")
    return q::RoundingMode::TowardZero;
  if (mode == "HALF_UP")
    return q::RoundingMode::NearestAway;
  if (mode == "HALF_DOWN")
    return q::RoundingMode::NearestTowardZero;
  return ctx.error() << "unknown rounding_mode '" << mode << "'";
}

/// QONNX Quant: y = (clamp(round(x / scale + zeropt)) - zeropt) * scale with
/// `bitwidth` bits. Becomes qopt.quantize + qopt.dequantize (rounding happens
/// before the zero point is added, identical except at exact ties with an odd
/// zero point under a round-to-nearest mode).
static LogicalResult convertQonnxQuant(NodeContext &ctx) {
  if (failed(ctx.expectInputs(4, 4)))
    return failure();
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  Value x = ctx.input(0);
  if (!x)
    return failure();
  auto xType = cast<RankedTensorType>(x.getType());
  std::optional<SmallVector<double>> bitwidth = ctx.constFloats(3);
  if (!bitwidth || bitwidth->size() != 1)
    return ctx.error() << "bitwidth must be a constant scalar";
  double bw = (*bitwidth)[0];
  if (bw != std::floor(bw) || bw < 1)
    return ctx.error() << "bitwidth must be a positive integer, got " << bw;
  if (bw > 8)
    return ctx.error() << "bitwidth " << static_cast<int64_t>(bw)
                       << " exceeds qopt's 8-bit maximum";
  bool isSigned = ctx.getInt("signed", 1), narrow = ctx.getInt("narrow", 0);
  FailureOr<q::RoundingMode> rounding = qonnxRounding(ctx);
  if (failed(rounding))
    return failure();

  // Scale: a scalar (per-tensor) or of x's rank with one non-unit dim
  // (per-channel along it).
  Value scale = ctx.input(1);
  if (!scale)
    return failure();
  auto scaleType = cast<RankedTensorType>(scale.getType());
  q::Granularity granularity = q::Granularity::PerTensor;
  int64_t axis = 0;
  if (scaleType.getNumElements() != 1) {
    SmallVector<int64_t> nonUnit;
    for (auto [i, d] : llvm::enumerate(scaleType.getShape()))
      if (d != 1)
        nonUnit.push_back(i);
    int64_t offset = xType.getRank() - scaleType.getRank();
    if (nonUnit.size() != 1 || offset < 0 ||
        scaleType.getDimSize(nonUnit[0]) !=
            xType.getDimSize(nonUnit[0] + offset))
      return ctx.error() << "scale of shape " << scaleType
                         << " is neither per-tensor nor per-channel";
    granularity = q::Granularity::PerChannel;
    axis = nonUnit[0] + offset;
    scale = reshapeTensor(b, loc, scale,
                          {b.getIndexAttr(scaleType.getDimSize(nonUnit[0]))});
  }
  auto scale1 = cast<RankedTensorType>(scale.getType());

  std::optional<SmallVector<double>> zp = ctx.constFloats(2);
  if (!zp)
    return ctx.error() << "zeropt must be a constant";
  bool symmetric = llvm::all_of(*zp, [](double v) { return v == 0.0; });
  Value zpTensor;
  if (!symmetric) {
    SmallVector<int32_t> values;
    for (double v : *zp) {
      if (v != std::floor(v))
        return ctx.error() << "non-integer zero point " << v
                           << " is not supported";
      values.push_back(static_cast<int32_t>(v));
    }
    int64_t count = scale1.getNumElements();
    if (values.size() == 1)
      values.assign(count, values[0]);
    if (static_cast<int64_t>(values.size()) != count)
      return ctx.error() << "zeropt must be a scalar or match the scale";
    zpTensor = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            RankedTensorType::get(scale1.getShape(), b.getI32Type()),
            ArrayRef<int32_t>(values)));
  }
  auto storage = q::IntType::get(ctx.ctx(), static_cast<unsigned>(bw), isSigned);
  auto scheme = q::QuantSchemeAttr::get(ctx.ctx(), granularity, axis, 0,
                                        symmetric, narrow, *rounding);
  if (narrow && bw == 1)
    return ctx.error() << "narrow range needs at least 2 bits";
  Value qv = q::QuantizeOp::create(
      b, loc, RankedTensorType::get(xType.getShape(), storage), x, scale,
      zpTensor, scheme);
  Value y = q::DequantizeOp::create(b, loc, xType, qv, scale, zpTensor, scheme);
  ctx.setOutput(0, y, ctx.inputDType(0));
  return success();
}

void qopt::onnx_import::registerQuantOps(OpRegistry &r) {
  r.add("", "QuantizeLinear", convertQuantizeLinear, 10);
  r.add("", "DequantizeLinear", convertDequantizeLinear, 10);
  r.add("", "QLinearMatMul", convertQLinearMatMul, 10);
  r.add("com.microsoft", "MatMulNBits", convertMatMulNBits, 1);
  r.add("qonnx.custom_op.general", "Quant", convertQonnxQuant, 1);
  r.add("qonnx.custom_op.general", "IntQuant", convertQonnxQuant, 1);
}
