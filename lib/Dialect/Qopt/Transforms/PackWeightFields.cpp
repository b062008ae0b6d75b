//===- PackWeightFields.cpp - constant bit planes as bit fields -----------===//
//
// The CPU decodes a weight from bit fields with two shifts; from bit planes
// it takes a shift, a mask and a merge per plane. Constant planes are
// repacked at compile time.
//
//===----------------------------------------------------------------------===//

#include "qopt/Dialect/Qopt/IR/ConstantValues.h"
#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

namespace qopt {
#define GEN_PASS_DEF_CPUPACKWEIGHTFIELDS
#include "qopt/Dialect/Qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

namespace {
struct CpuPackWeightFieldsPass
    : qopt::impl::CpuPackWeightFieldsBase<CpuPackWeightFieldsPass> {
  void runOnOperation() override {
    SmallVector<BitplaneUnpackOp> unpacks;
    getOperation().walk([&](BitplaneUnpackOp op) { unpacks.push_back(op); });
    for (BitplaneUnpackOp op : unpacks)
      repack(op);
  }

  static void repack(BitplaneUnpackOp op) {
    auto planesType = cast<RankedTensorType>(op.getPlanes().getType());
    RankedTensorType resultType = op.getResult().getType();
    if (!planesType.hasStaticShape() || !resultType.hasStaticShape())
      return;
    std::optional<std::vector<int64_t>> planes =
        readIntConstant(op.getPlanes());
    if (!planes)
      return;
    int64_t bits = cast<IntType>(resultType.getElementType()).getWidth();
    int64_t rows = resultType.getDimSize(0), k = resultType.getDimSize(1);
    int64_t planeWords = planesType.getDimSize(2);
    int64_t fields = 32 / bits;
    // Widths dividing a byte as byte quads (see qopt.field_unpack), so
    // VNNI blocks take four K values of a column with a shift and a mask.
    bool byteQuads = 8 % bits == 0;
    int64_t words = (k + fields - 1) / fields;
    std::vector<uint32_t> packed(rows * words, 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t kk = 0; kk < k; ++kk) {
        uint32_t value = 0;
        for (int64_t b = 0; b < bits; ++b) {
          auto word = static_cast<uint32_t>(
              (*planes)[(b * rows + r) * planeWords + kk / 32]);
          value |= ((word >> (kk % 32)) & 1u) << b;
        }
        int64_t f = kk % fields;
        int64_t shift = byteQuads ? 8 * (f % 4) + bits * (f / 4) : bits * f;
        packed[r * words + kk / fields] |= value << shift;
      }
    OpBuilder builder(op);
    auto type = RankedTensorType::get({rows, words}, builder.getI32Type());
    ArrayRef<uint32_t> data(packed);
    // The kind of constant the planes were: inline data stays inline.
    TypedAttr value;
    if (matchPattern(op.getPlanes(), m_Constant<DenseElementsAttr>(nullptr)))
      value = DenseElementsAttr::getFromRawBuffer(
          type, ArrayRef<char>(reinterpret_cast<const char *>(data.data()),
                               data.size() * sizeof(uint32_t)));
    else
      value = DenseResourceElementsAttr::get(
          type, "wfields",
          HeapAsmResourceBlob::allocateAndCopyInferAlign(data));
    Value constant = arith::ConstantOp::create(builder, op.getLoc(), value);
    Value unpacked =
        FieldUnpackOp::create(builder, op.getLoc(), resultType, constant,
                              builder.getI64IntegerAttr(fields),
                              byteQuads ? builder.getUnitAttr() : UnitAttr());
    Operation *planesOp = op.getPlanes().getDefiningOp();
    op.getResult().replaceAllUsesWith(unpacked);
    op.erase();
    if (planesOp && planesOp->use_empty())
      planesOp->erase();
  }
};
} // namespace
