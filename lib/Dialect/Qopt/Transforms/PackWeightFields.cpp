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
  using Base::Base;

  void runOnOperation() override {
    SmallVector<BitplaneUnpackOp> unpacks;
    getOperation().walk([&](BitplaneUnpackOp op) { unpacks.push_back(op); });
    for (BitplaneUnpackOp op : unpacks)
      repack(op);
  }

  void repack(BitplaneUnpackOp op) {
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
    // Plane b of value (r, kk) is bit b of the B-bit value.
    auto valueAt = [&](int64_t r, int64_t kk) {
      uint32_t value = 0;
      for (int64_t b = 0; b < bits; ++b) {
        auto word = static_cast<uint32_t>(
            (*planes)[(b * rows + r) * planeWords + kk / 32]);
        value |= ((word >> (kk % 32)) & 1u) << b;
      }
      return value;
    };
    OpBuilder builder(op);
    Location loc = op.getLoc();
    // The kind of constant the planes were: inline data stays inline.
    bool inlineData =
        matchPattern(op.getPlanes(), m_Constant<DenseElementsAttr>(nullptr));
    auto wordsConstant = [&](ArrayRef<uint32_t> data, int64_t words) {
      auto type = RankedTensorType::get({rows, words}, builder.getI32Type());
      TypedAttr value;
      if (inlineData)
        value = DenseElementsAttr::getFromRawBuffer(
            type, ArrayRef<char>(reinterpret_cast<const char *>(data.data()),
                                 data.size() * sizeof(uint32_t)));
      else
        value = DenseResourceElementsAttr::get(
            type, "wfields",
            HeapAsmResourceBlob::allocateAndCopyInferAlign(data));
      return arith::ConstantOp::create(builder, loc, value).getResult();
    };
    // The B-bit values' bits split into slices of `widths` (least
    // significant first), each `width` bits a field of words of its own:
    // byte-quad fields (see qopt.field_unpack), or with `byteQuads` false
    // F = 32 / width consecutive fields a word. Each value is read from the
    // planes once.
    auto packSlices = [&](ArrayRef<int64_t> widths, bool byteQuads) {
      SmallVector<int64_t> wordCounts;
      SmallVector<std::vector<uint32_t>> packed;
      for (int64_t width : widths) {
        int64_t fields = 32 / width;
        wordCounts.push_back((k + fields - 1) / fields);
        packed.emplace_back(rows * wordCounts.back(), 0);
      }
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t kk = 0; kk < k; ++kk) {
          uint32_t value = valueAt(r, kk);
          for (auto [s, width] : llvm::enumerate(widths)) {
            int64_t fields = 32 / width;
            int64_t f = kk % fields;
            int64_t shift =
                byteQuads ? 8 * (f % 4) + width * (f / 4) : width * f;
            packed[s][r * wordCounts[s] + kk / fields] |=
                (value & ((1u << width) - 1)) << shift;
            value >>= width;
          }
        }
      SmallVector<Value> constants;
      for (auto [data, words] : llvm::zip(packed, wordCounts))
        constants.push_back(wordsConstant(data, words));
      return constants;
    };
    Value unpacked;
    SmallVector<int64_t> sliceBits = byteQuadSlices(op, bits);
    if (sliceBits.size() == 1) {
      // Widths dividing a byte as byte quads (see qopt.field_unpack), so
      // VNNI blocks take four K values of a column with a shift and a mask.
      bool byteQuads = 8 % bits == 0;
      unpacked = FieldUnpackOp::create(
          builder, loc, resultType, packSlices(bits, byteQuads).front(),
          builder.getI64IntegerAttr(32 / bits),
          byteQuads ? builder.getUnitAttr() : UnitAttr());
    } else {
      unpacked = FieldSlicesUnpackOp::create(
          builder, loc, resultType, packSlices(sliceBits, /*byteQuads=*/true),
          builder.getDenseI64ArrayAttr(sliceBits));
    }
    Operation *planesOp = op.getPlanes().getDefiningOp();
    op.getResult().replaceAllUsesWith(unpacked);
    op.erase();
    if (planesOp && planesOp->use_empty())
      planesOp->erase();
  }

  /// The widths of the slices `op`'s B-bit weights are stored in (see
  /// qopt.field_slices_unpack), least significant first; one slice of B
  /// bits where they are stored whole. A width dividing a byte is one
  /// slice. With `quad-slices` (a CPU with quad dot products), signed
  /// weights multiplied by integer activations (what quad dot products take
  /// from byte quads) are split into widths dividing a byte, the widest
  /// lowest: 3 = 2 + 1, 5 = 4 + 1, 6 = 4 + 2, 7 = 4 + 2 + 1. A weight-only
  /// matmul, zero-point weights or pair dot products decode one value at a
  /// time, which two shifts of a whole field do for less.
  SmallVector<int64_t> byteQuadSlices(BitplaneUnpackOp op, int64_t bits) {
    bool intActivations =
        !op->use_empty() && llvm::all_of(op->getUsers(), [&](Operation *user) {
          auto matmul = dyn_cast<QMatmulOp>(user);
          return matmul && matmul.getWeight() == op.getResult() &&
                 isa<IntType>(getElementTypeOrSelf(matmul.getAct().getType()));
        });
    // Quad dot products take signed fields only (see
    // offsetWeightsForQuadDot); zero-point weights are unsigned.
    bool isSigned =
        cast<IntType>(op.getResult().getType().getElementType()).getIsSigned();
    if (!quadSlices || 8 % bits == 0 || !intActivations || !isSigned)
      return {bits};
    SmallVector<int64_t> widths;
    for (int64_t width = 4; width >= 1; width /= 2)
      if (bits & width)
        widths.push_back(width);
    return widths;
  }
};
} // namespace
