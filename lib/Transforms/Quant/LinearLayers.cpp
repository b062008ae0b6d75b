//===- LinearLayers.cpp - the layers the quantization passes rewrite ------===//

#include "qopt/Transforms/Quant/LinearLayers.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"

using namespace mlir;
using namespace qopt;

std::optional<LinearLayer> qopt::matchLinearLayer(linalg::MatmulOp op) {
  if (op.hasUserDefinedMaps() || !op.hasPureTensorSemantics())
    return std::nullopt;
  LinearLayer layer;
  layer.op = op;
  layer.input = op.getInputs()[0];
  Value rhs = op.getInputs()[1];
  auto inType = dyn_cast<RankedTensorType>(layer.input.getType());
  auto rhsType = dyn_cast<RankedTensorType>(rhs.getType());
  if (!inType || !rhsType || !isa<FloatType>(inType.getElementType()) ||
      !isa<FloatType>(rhsType.getElementType()) ||
      !rhsType.hasStaticShape())
    return std::nullopt;
  if (auto transpose = rhs.getDefiningOp<linalg::TransposeOp>()) {
    if (!llvm::equal(transpose.getPermutation(), ArrayRef<int64_t>{1, 0}))
      return std::nullopt;
    rhs = transpose.getInput();
    layer.weightTransposed = true;
  }
  layer.weight = rhs.getDefiningOp<arith::ConstantOp>();
  if (!layer.weight)
    return std::nullopt;
  layer.k = rhsType.getDimSize(0);
  layer.n = rhsType.getDimSize(1);
  return layer;
}

std::optional<std::vector<float>> qopt::readFloatConstant(Attribute value) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements)
    return std::nullopt;
  auto type = cast<ShapedType>(elements.getType());
  auto floatType = dyn_cast<FloatType>(type.getElementType());
  if (!floatType)
    return std::nullopt;
  int64_t count = type.getNumElements();
  std::vector<float> out(count);
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value)) {
    int64_t i = 0;
    for (APFloat v : dense.getValues<APFloat>()) {
      bool lost;
      v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      out[i++] = v.convertToFloat();
    }
    return out;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(value);
  if (!resource)
    return std::nullopt;
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  if (!blob)
    return std::nullopt;
  ArrayRef<char> data = blob->getData();
  unsigned width = floatType.getWidth();
  if (data.size() != static_cast<size_t>(count) * width / 8)
    return std::nullopt;
  if (floatType.isF32()) {
    std::memcpy(out.data(), data.data(), data.size());
    return out;
  }
  if (width != 16)
    return std::nullopt;
  for (int64_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, data.data() + 2 * i, 2);
    APFloat v(floatType.getFloatSemantics(), APInt(16, bits));
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    out[i] = v.convertToFloat();
  }
  return out;
}

std::optional<std::vector<float>> LinearLayer::readWeightsNK() const {
  std::optional<std::vector<float>> values =
      readFloatConstant(weight.getValue());
  if (!values)
    return std::nullopt;
  if (weightTransposed) // the constant is [N, K] already
    return values;
  std::vector<float> nk(values->size());
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t nn = 0; nn < n; ++nn)
      nk[nn * k + kk] = (*values)[kk * n + nn];
  return nk;
}

Value qopt::createResourceConstant(OpBuilder &b, Location loc,
                                   RankedTensorType type, ArrayRef<char> data,
                                   StringRef name) {
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      data, alignof(uint64_t));
  return arith::ConstantOp::create(
      b, loc, DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

Value qopt::createF32Constant(OpBuilder &b, Location loc,
                              ArrayRef<int64_t> shape, ArrayRef<float> data,
                              StringRef name) {
  return createResourceConstant(
      b, loc, RankedTensorType::get(shape, b.getF32Type()),
      ArrayRef<char>(reinterpret_cast<const char *>(data.data()),
                     data.size() * sizeof(float)),
      name);
}

std::string qopt::getLayerName(Operation *op) {
  if (auto name = op->getAttrOfType<StringAttr>(kLayerNameAttr))
    return name.str();
  if (auto loc = dyn_cast<NameLoc>(op->getLoc()))
    return loc.getName().str();
  return "";
}

QuantConfigAttr qopt::getQuantConfig(Operation *op) {
  return op->getAttrOfType<QuantConfigAttr>(kQuantConfigAttr);
}

void qopt::copyLayerAttributes(Operation *from, Operation *to) {
  for (NamedAttribute attr : from->getDiscardableAttrs())
    if (attr.getName().strref().starts_with("qopt."))
      to->setAttr(attr.getName(), attr.getValue());
}
