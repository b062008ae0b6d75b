//===- ConstantData.cpp - the bytes of constant tensors -------------------===//

#include "qopt/Transforms/ConstantData.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

std::optional<ArrayRef<char>>
qopt::rawElements(Attribute value, RankedTensorType type, size_t &elemBytes) {
  Type elem = type.getElementType();
  if (!elem.isIntOrFloat() || elem.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  elemBytes = elem.getIntOrFloatBitWidth() / 8;
  std::optional<ArrayRef<char>> data;
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (!dense.isSplat())
      data = dense.getRawData();
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      data = blob->getData();
  }
  if (!data || data->size() != type.getNumElements() * elemBytes)
    return std::nullopt;
  return data;
}

TypedAttr qopt::elementsLike(Attribute like, RankedTensorType type,
                             ArrayRef<char> data, StringRef resourceName) {
  if (isa<DenseElementsAttr>(like))
    return DenseElementsAttr::getFromRawBuffer(type, data);
  return DenseResourceElementsAttr::get(
      type, resourceName,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(
          data, cast<DenseResourceElementsAttr>(like)
                    .getRawHandle()
                    .getBlob()
                    ->getDataAlignment()));
}
