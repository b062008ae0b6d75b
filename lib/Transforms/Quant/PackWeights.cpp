//===- PackWeights.cpp - quantized weights stored as bit planes -----------===//

#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

namespace qopt {
#define GEN_PASS_DEF_PACKWEIGHTS
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

/// The bytes of an i8 constant (dense or dense_resource).
static std::optional<std::vector<int8_t>> readBytes(Value v) {
  ElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) ||
      !cast<ShapedType>(attr.getType()).getElementType().isInteger(8))
    return std::nullopt;
  int64_t count = cast<ShapedType>(attr.getType()).getNumElements();
  std::vector<int8_t> out;
  out.reserve(count);
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    for (APInt x : dense.getValues<APInt>())
      out.push_back(static_cast<int8_t>(x.getSExtValue()));
    return out;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource || !resource.getRawHandle().getBlob())
    return std::nullopt;
  ArrayRef<char> data = resource.getRawHandle().getBlob()->getData();
  if (static_cast<int64_t>(data.size()) != count)
    return std::nullopt;
  for (char c : data)
    out.push_back(static_cast<int8_t>(c));
  return out;
}

namespace {
struct PackWeightsPass : qopt::impl::PackWeightsBase<PackWeightsPass> {
  void runOnOperation() override {
    getOperation().walk([&](QMatmulOp op) {
      auto cast = op.getWeight().getDefiningOp<StorageCastOp>();
      if (!cast)
        return;
      auto type = op.getWeight().getType();
      std::optional<std::vector<int8_t>> bytes = readBytes(cast.getInput());
      if (!bytes || !type.hasStaticShape())
        return;
      auto storage = op.getWeightStorageType();
      unsigned bits = storage.getWidth();
      // Eight planes take as many bytes as one byte per value (less the K
      // padding): 8-bit weights stay bytes, which the CPU reads undecoded.
      if (bits >= 8)
        return;
      int64_t n = type.getDimSize(0), k = type.getDimSize(1);
      // Plane-major [bits, N, words], the layout of qopt.bitplane_pack with
      // K padded to whole words only (k_pad = 32), so storage stays at B
      // bits per weight for any K; kernels that want whole 256-bit MMA steps
      // repack at compile time when K is not a multiple of 256.
      int64_t words = (k + 31) / 32;
      std::vector<uint32_t> planes(bits * n * words, 0);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) {
          uint32_t v = static_cast<uint8_t>((*bytes)[r * k + c]);
          for (unsigned b = 0; b < bits; ++b)
            if ((v >> b) & 1)
              planes[(b * n + r) * words + c / 32] |= uint32_t(1) << (c % 32);
        }
      OpBuilder b(op);
      Value packed = createResourceConstant(
          b, op.getLoc(),
          RankedTensorType::get({bits, n, words}, b.getI32Type()),
          ArrayRef<char>(reinterpret_cast<const char *>(planes.data()),
                         planes.size() * sizeof(uint32_t)),
          "wplanes");
      Value unpacked = BitplaneUnpackOp::create(b, op.getLoc(), type, packed);
      op.getWeightMutable().assign(unpacked);
      if (cast->use_empty()) {
        Operation *raw = cast.getInput().getDefiningOp();
        cast.erase();
        if (raw && raw->use_empty())
          raw->erase();
      }
    });
  }
};
} // namespace
