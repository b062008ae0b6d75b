//===- QoptOps.cpp - qopt operations --------------------------------------===//

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace qopt;

//===----------------------------------------------------------------------===//
// Shared verification of scales and zero points
//===----------------------------------------------------------------------===//

/// Formats a shape as `[4, ?, 8]`.
static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string str;
  llvm::raw_string_ostream os(str);
  os << "[";
  llvm::interleave(
      shape,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      [&] { os << ", "; });
  os << "]";
  return str;
}

static bool isCompatibleShape(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip(a, b))
    if (!ShapedType::isDynamic(x) && !ShapedType::isDynamic(y) && x != y)
      return false;
  return true;
}

/// A per-tensor scale is rank 0 or holds exactly one element.
static bool isSingleElementShape(ArrayRef<int64_t> shape) {
  return llvm::all_of(shape, [](int64_t d) { return d == 1; });
}

/// Checks that `scale` and `zeroPoint` have the shapes that `scheme` requires
/// for data of type `dataType`, that a zero point is given exactly when the
/// scheme is asymmetric, and that constant scales and zero points are valid
/// for the storage type. `role` names the operand in diagnostics.
static LogicalResult verifyQuantParams(Operation *op, StringRef role,
                                       RankedTensorType dataType,
                                       IntType storage, QuantSchemeAttr scheme,
                                       Value scale, Value zeroPoint) {
  ArrayRef<int64_t> shape = dataType.getShape();
  int64_t rank = dataType.getRank();
  if (scheme.getNarrowRange() && storage.getWidth() == 1)
    return op->emitOpError() << role
                             << " narrow range leaves 1-bit storage a single "
                                "value";
  if (!scheme.isPerTensor() && scheme.getAxis() >= rank)
    return op->emitOpError()
           << role << " scheme axis " << scheme.getAxis()
           << " is out of range for a rank-" << rank << " tensor";
  if (scheme.isPerGroup()) {
    int64_t dim = shape[scheme.getAxis()];
    if (!ShapedType::isDynamic(dim) && dim % scheme.getGroupSize() != 0)
      return op->emitOpError()
             << role << " group size " << scheme.getGroupSize()
             << " does not divide dimension " << scheme.getAxis() << " of size "
             << dim;
  }

  auto scaleType = cast<RankedTensorType>(scale.getType());
  SmallVector<int64_t> expected = scheme.getScaleShape(shape);
  bool scaleOk = scheme.isPerTensor()
                     ? isSingleElementShape(scaleType.getShape())
                     : isCompatibleShape(scaleType.getShape(), expected);
  if (!scaleOk) {
    InFlightDiagnostic diag = op->emitOpError()
                              << role << " scale shape "
                              << shapeStr(scaleType.getShape())
                              << " does not match the ";
    if (scheme.isPerTensor())
      diag << "single element";
    else
      diag << shapeStr(expected);
    return diag << " that the " << stringifyGranularity(scheme.getGranularity())
                << " scheme requires for " << dataType;
  }

  if (scheme.getSymmetric() && zeroPoint)
    return op->emitOpError()
           << role << " zero point given for a symmetric scheme";
  if (!scheme.getSymmetric() && !zeroPoint)
    return op->emitOpError()
           << role << " asymmetric scheme requires a zero point";
  if (zeroPoint) {
    auto zpType = cast<RankedTensorType>(zeroPoint.getType());
    if (!isCompatibleShape(zpType.getShape(), scaleType.getShape()))
      return op->emitOpError()
             << role << " zero point shape " << shapeStr(zpType.getShape())
             << " does not match scale shape "
             << shapeStr(scaleType.getShape());
  }

  // Constant operands can be checked now: a zero point outside the storage
  // range, or a scale that is not a positive finite number, cannot quantize
  // anything meaningfully.
  DenseElementsAttr constant;
  if (zeroPoint && matchPattern(zeroPoint, m_Constant(&constant))) {
    for (APInt zp : constant.getValues<APInt>()) {
      int64_t v = zp.getSExtValue();
      if (v < storage.getMinValue() || v > storage.getMaxValue())
        return op->emitOpError()
               << role << " zero point " << v << " is outside the range ["
               << storage.getMinValue() << ", " << storage.getMaxValue()
               << "] of " << storage;
    }
  }
  if (matchPattern(scale, m_Constant(&constant))) {
    for (APFloat s : constant.getValues<APFloat>()) {
      if (!s.isFiniteNonZero() || s.isNegative()) {
        SmallString<16> str;
        s.toString(str);
        return op->emitOpError()
               << role << " scale must be positive and finite, found " << str;
      }
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizeOp / DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  RankedTensorType inputType = getInput().getType();
  if (!isCompatibleShape(inputType.getShape(),
                         getResult().getType().getShape()))
    return emitOpError("result shape ")
           << shapeStr(getResult().getType().getShape())
           << " does not match input shape " << shapeStr(inputType.getShape());
  return verifyQuantParams(*this, "input", inputType, getStorageType(),
                           getScheme(), getScale(), getZeroPoint());
}

LogicalResult DequantizeOp::verify() {
  RankedTensorType inputType = getInput().getType();
  if (!isCompatibleShape(inputType.getShape(),
                         getResult().getType().getShape()))
    return emitOpError("result shape ")
           << shapeStr(getResult().getType().getShape())
           << " does not match input shape " << shapeStr(inputType.getShape());
  return verifyQuantParams(*this, "input", inputType, getStorageType(),
                           getScheme(), getScale(), getZeroPoint());
}

//===----------------------------------------------------------------------===//
// StorageCastOp
//===----------------------------------------------------------------------===//

LogicalResult StorageCastOp::verify() {
  RankedTensorType inType = getInput().getType();
  RankedTensorType outType = getResult().getType();
  auto inQ = dyn_cast<IntType>(inType.getElementType());
  auto outQ = dyn_cast<IntType>(outType.getElementType());
  if (bool(inQ) == bool(outQ))
    return emitOpError("casts between a qopt.int tensor and a builtin integer "
                       "tensor; got ")
           << inType << " to " << outType;
  if (!isCompatibleShape(inType.getShape(), outType.getShape()))
    return emitOpError("result shape ")
           << shapeStr(outType.getShape()) << " does not match input shape "
           << shapeStr(inType.getShape());
  IntType q = inQ ? inQ : outQ;
  Type builtin = inQ ? outType.getElementType() : inType.getElementType();
  if (builtin.getIntOrFloatBitWidth() < q.getWidth())
    return emitOpError() << builtin << " is narrower than " << q;
  return success();
}

OpFoldResult StorageCastOp::fold(FoldAdaptor) {
  // qopt -> builtin -> qopt is lossless.
  if (auto producer = getInput().getDefiningOp<StorageCastOp>())
    if (producer.getInput().getType() == getType() &&
        isa<IntType>(getType().getElementType()))
      return producer.getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// QMatmulOp
//===----------------------------------------------------------------------===//

LogicalResult QMatmulOp::verify() {
  RankedTensorType actType = getAct().getType();
  RankedTensorType weightType = getWeight().getType();
  if (actType.getRank() != 2)
    return emitOpError("activation must be a 2-D tensor [M, K], got ")
           << actType;
  if (weightType.getRank() != 2)
    return emitOpError("weight must be a 2-D tensor [N, K], got ")
           << weightType;
  int64_t m = actType.getDimSize(0), k = actType.getDimSize(1);
  int64_t n = weightType.getDimSize(0), wk = weightType.getDimSize(1);
  if (!isCompatibleShape({k}, {wk}))
    return emitOpError("reduction dimensions differ: activation has K = ")
           << k << ", weight has K = " << wk;

  QuantSchemeAttr weightScheme = getWeightScheme();
  bool weightSchemeOk =
      weightScheme.isPerTensor() ||
      (weightScheme.isPerChannel() && weightScheme.getAxis() == 0) ||
      (weightScheme.isPerGroup() && weightScheme.getAxis() == 1);
  if (!weightSchemeOk)
    return emitOpError("weight scheme must be per_tensor, per_channel(axis = "
                       "0) over output channels, or per_group(axis = 1) "
                       "along the reduction dimension");
  if (failed(verifyQuantParams(*this, "weight", weightType,
                               getWeightStorageType(), weightScheme,
                               getWeightScale(), getWeightZeroPoint())))
    return failure();

  if (isWeightOnly()) {
    if (getActScale() || getActZeroPoint() || getActSchemeAttr())
      return emitOpError("floating-point activations (weight-only "
                         "quantization) take no activation scale, zero point "
                         "or scheme");
  } else {
    QuantSchemeAttr actScheme = getActSchemeAttr();
    if (!getActScale() || !actScheme)
      return emitOpError(
          "quantized activations require an activation scale and act_scheme");
    if (!actScheme.isPerTensor() &&
        !(actScheme.isPerChannel() && actScheme.getAxis() == 0))
      return emitOpError("activation scheme must be per_tensor or per-token "
                         "(per_channel(axis = 0)); integer accumulation "
                         "cannot rescale inside the reduction");
    if (failed(verifyQuantParams(*this, "activation", actType,
                                 getActStorageType(), actScheme, getActScale(),
                                 getActZeroPoint())))
      return failure();
  }

  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (!isCompatibleShape(biasType.getShape(), {n}))
      return emitOpError("bias must have shape [N] = ")
             << shapeStr({n}) << ", got " << shapeStr(biasType.getShape());
  }
  ArrayRef<int64_t> resultShape = getResult().getType().getShape();
  if (!isCompatibleShape(resultShape, {m, n}))
    return emitOpError("result shape ")
           << shapeStr(resultShape) << " must be [M, N] = " << shapeStr({m, n});
  return success();
}

//===----------------------------------------------------------------------===//
// IntegerMatmulOp
//===----------------------------------------------------------------------===//

/// A zero point given per tensor: rank 0, or a single element.
static bool isScalarShape(ArrayRef<int64_t> shape) {
  return isSingleElementShape(shape);
}

LogicalResult IntegerMatmulOp::verify() {
  RankedTensorType actType = getAct().getType(),
                   weightType = getWeight().getType();
  if (actType.getRank() != 2 || weightType.getRank() != 2)
    return emitOpError(
        "operands must be 2-D: activation [M, K], weight [N, K]");
  int64_t m = actType.getDimSize(0), k = actType.getDimSize(1);
  int64_t n = weightType.getDimSize(0);
  if (!isCompatibleShape({k}, {weightType.getDimSize(1)}))
    return emitOpError("reduction dimensions differ: activation has K = ")
           << k << ", weight has K = " << weightType.getDimSize(1);
  int64_t groupSize = getGroupSize();
  if (groupSize < 0)
    return emitOpError("group_size must be non-negative, got ") << groupSize;
  if (groupSize > 0 && !ShapedType::isDynamic(k) && k % groupSize)
    return emitOpError("group size ")
           << groupSize << " does not divide K = " << k;
  int64_t groups = groupSize == 0             ? 1
                   : ShapedType::isDynamic(k) ? ShapedType::kDynamic
                                              : k / groupSize;
  ArrayRef<int64_t> resultShape = getResult().getType().getShape();
  if (!isCompatibleShape(resultShape, {m, n, groups}))
    return emitOpError("result shape ")
           << shapeStr(resultShape)
           << " must be [M, N, groups] = " << shapeStr({m, n, groups});
  if (Value za = getActZeroPoint()) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(za.getType()).getShape();
    if (!isScalarShape(shape) && !isCompatibleShape(shape, {m}))
      return emitOpError("activation zero point must be a scalar or [M], got ")
             << shapeStr(shape);
  }
  if (Value zw = getWeightZeroPoint()) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(zw.getType()).getShape();
    if (!isScalarShape(shape) && !isCompatibleShape(shape, {n}) &&
        !isCompatibleShape(shape, {n, groups}))
      return emitOpError("weight zero point must be a scalar, [N] or "
                         "[N, groups], got ")
             << shapeStr(shape);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Bit-plane ops
//===----------------------------------------------------------------------===//

LogicalResult BitplanePackOp::verify() {
  RankedTensorType inType = getInput().getType();
  auto outType = cast<RankedTensorType>(getPlanes().getType());
  auto storage = cast<IntType>(inType.getElementType());
  int64_t kPad = getKPad();
  if (kPad <= 0 || kPad % 32)
    return emitOpError("k_pad must be a positive multiple of 32, got ") << kPad;
  if (inType.getRank() != 2 || outType.getRank() != 3)
    return emitOpError("packs a 2-D [R, K] tensor into [bits, R, words]");
  int64_t k = inType.getDimSize(1);
  int64_t words = ShapedType::isDynamic(k) ? ShapedType::kDynamic
                                           : (k + kPad - 1) / kPad * kPad / 32;
  SmallVector<int64_t> expected = {storage.getWidth(), inType.getDimSize(0),
                                   words};
  if (!isCompatibleShape(outType.getShape(), expected))
    return emitOpError("result shape ")
           << shapeStr(outType.getShape())
           << " must be [bits, R, words] = " << shapeStr(expected);
  return success();
}

LogicalResult BitplaneUnpackOp::verify() {
  auto planes = cast<RankedTensorType>(getPlanes().getType());
  RankedTensorType result = getResult().getType();
  auto storage = cast<IntType>(result.getElementType());
  if (planes.getRank() != 3 || result.getRank() != 2)
    return emitOpError("unpacks [bits, R, words] planes into a 2-D [R, K] "
                       "tensor");
  if (planes.getDimSize(0) != storage.getWidth())
    return emitOpError("has ")
           << planes.getDimSize(0) << " planes for " << storage.getWidth()
           << "-bit values";
  if (!isCompatibleShape({planes.getDimSize(1)}, {result.getDimSize(0)}))
    return emitOpError("row counts differ: ")
           << planes.getDimSize(1) << " planes rows, " << result.getDimSize(0)
           << " result rows";
  int64_t words = planes.getDimSize(2), k = result.getDimSize(1);
  if (!ShapedType::isDynamic(words) && !ShapedType::isDynamic(k) &&
      words * 32 < k)
    return emitOpError("planes of ")
           << words << " words cannot hold K = " << k << " values";
  return success();
}

LogicalResult FieldUnpackOp::verify() {
  auto words = cast<RankedTensorType>(getWords().getType());
  RankedTensorType result = getResult().getType();
  unsigned bits = cast<IntType>(result.getElementType()).getWidth();
  if (words.getRank() != 2 || result.getRank() != 2)
    return emitOpError("unpacks [R, words] into a 2-D [R, K] tensor");
  int64_t fields = getFieldsPerWord();
  if (fields < 1 || fields * bits > 32)
    return emitOpError("fields_per_word must be 1 to ")
           << 32 / bits << " for " << bits << "-bit values, got " << fields;
  if (getByteQuads() && (8 % bits != 0 || fields % 4 != 0))
    return emitOpError("byte_quads needs a width dividing 8 and a multiple "
                       "of 4 fields per word, got ")
           << bits << " bits, " << fields << " fields";
  if (!isCompatibleShape({words.getDimSize(0)}, {result.getDimSize(0)}))
    return emitOpError("row counts differ: ")
           << words.getDimSize(0) << " word rows, " << result.getDimSize(0)
           << " result rows";
  int64_t count = words.getDimSize(1), k = result.getDimSize(1);
  if (!ShapedType::isDynamic(count) && !ShapedType::isDynamic(k) &&
      count * fields < k)
    return emitOpError("has ")
           << count << " words of " << fields
           << " fields per row, which cannot hold K = " << k << " values";
  return success();
}

/// Checks that x86 pair op `op` takes two vectors of `lanes` elements and
/// returns one of lanes / 2.
static LogicalResult verifyPairLanes(Operation *op) {
  auto lhs = cast<VectorType>(op->getOperand(0).getType());
  auto rhs = cast<VectorType>(op->getOperand(1).getType());
  auto result = cast<VectorType>(op->getResult(0).getType());
  if (lhs.getNumElements() != rhs.getNumElements() ||
      result.getNumElements() * 2 != lhs.getNumElements())
    return op->emitOpError("takes two vectors of 2n elements and returns n, "
                           "got ")
           << lhs.getNumElements() << ", " << rhs.getNumElements() << " and "
           << result.getNumElements();
  return success();
}

LogicalResult X86PmaddwdOp::verify() { return verifyPairLanes(*this); }

LogicalResult X86PmaddubswOp::verify() { return verifyPairLanes(*this); }

LogicalResult FieldSlicesUnpackOp::verify() {
  RankedTensorType result = getResult().getType();
  unsigned bits = cast<IntType>(result.getElementType()).getWidth();
  ArrayRef<int64_t> sliceBits = getSliceBits();
  if (result.getRank() != 2)
    return emitOpError("unpacks into a 2-D [R, K] tensor");
  if (sliceBits.size() != getSlices().size())
    return emitOpError("has ") << getSlices().size() << " word tensors for "
                               << sliceBits.size() << " slice widths";
  if (sliceBits.empty())
    return emitOpError("needs at least one slice");
  int64_t total = 0;
  for (int64_t width : sliceBits) {
    if (width < 1 || 8 % width != 0)
      return emitOpError("slice widths must divide 8, got ") << width;
    total += width;
  }
  if (total != bits)
    return emitOpError("slice widths add up to ")
           << total << " bits for " << bits << "-bit values";
  int64_t k = result.getDimSize(1);
  for (auto [words, width] : llvm::zip(getSlices(), sliceBits)) {
    auto type = cast<RankedTensorType>(words.getType());
    if (type.getRank() != 2)
      return emitOpError("slices must be 2-D [R, words] tensors");
    if (!isCompatibleShape({type.getDimSize(0)}, {result.getDimSize(0)}))
      return emitOpError("row counts differ: ")
             << type.getDimSize(0) << " word rows, " << result.getDimSize(0)
             << " result rows";
    int64_t count = type.getDimSize(1), fields = 32 / width;
    if (!ShapedType::isDynamic(count) && !ShapedType::isDynamic(k) &&
        count * fields < k)
      return emitOpError("has ")
             << count << " words of " << width
             << "-bit fields per row, which cannot hold K = " << k << " values";
  }
  return success();
}

LogicalResult BitplanePopcountOp::verify() {
  auto a = cast<RankedTensorType>(getActPlanes().getType());
  auto w = cast<RankedTensorType>(getWeightPlanes().getType());
  auto r = cast<RankedTensorType>(getPartials().getType());
  if (a.getRank() != 3 || w.getRank() != 3 || r.getRank() != 5)
    return emitOpError("takes [Q, M, words] and [P, N, words] planes and "
                       "returns [P, Q, M, N, groups]");
  int64_t words = a.getDimSize(2);
  if (!isCompatibleShape({words}, {w.getDimSize(2)}))
    return emitOpError("activation and weight planes have different word "
                       "counts: ")
           << words << " and " << w.getDimSize(2);
  int64_t gw = getGroupWords();
  if (gw <= 0)
    return emitOpError("group_words must be positive, got ") << gw;
  if (!ShapedType::isDynamic(words) && words % gw)
    return emitOpError("group_words ")
           << gw << " does not divide the " << words << " words of a row";
  int64_t groups =
      ShapedType::isDynamic(words) ? ShapedType::kDynamic : words / gw;
  SmallVector<int64_t> expected = {w.getDimSize(0), a.getDimSize(0),
                                   a.getDimSize(1), w.getDimSize(1), groups};
  if (!isCompatibleShape(r.getShape(), expected))
    return emitOpError("result shape ")
           << shapeStr(r.getShape())
           << " must be [P, Q, M, N, groups] = " << shapeStr(expected);
  return success();
}

LogicalResult BitplaneCombineOp::verify() {
  auto p = cast<RankedTensorType>(getPartials().getType());
  auto r = cast<RankedTensorType>(getResult().getType());
  if (p.getRank() != 5 || r.getRank() != 3)
    return emitOpError("combines [P, Q, M, N, groups] into [M, N, groups]");
  for (int64_t i : {0, 1}) {
    int64_t planes = p.getDimSize(i);
    if (ShapedType::isDynamic(planes) || planes < 1 || planes > 8)
      return emitOpError("plane counts must be static and in [1, 8], got ")
             << shapeStr(p.getShape().take_front(2));
  }
  if (!isCompatibleShape(r.getShape(), p.getShape().drop_front(2)))
    return emitOpError("result shape ") << shapeStr(r.getShape()) << " must be "
                                        << shapeStr(p.getShape().drop_front(2));
  return success();
}

#define GET_OP_CLASSES
#include "qopt/Dialect/Qopt/IR/QoptOps.cpp.inc"
