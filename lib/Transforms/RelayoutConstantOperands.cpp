//===- RelayoutConstantOperands.cpp - constants in loop order -------------===//

#include "qopt/Transforms/Passes.h"

#include "qopt/Transforms/OperandLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"

#include <cstring>

namespace qopt {
#define GEN_PASS_DEF_CPURELAYOUTCONSTANTOPERANDS
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {

/// The innermost loop an indexing expression depends on, or -1 for a
/// constant expression.
static int64_t innermostDim(AffineExpr expr) {
  int64_t dim = -1;
  expr.walk([&](AffineExpr e) {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      dim = std::max<int64_t>(dim, d.getPosition());
  });
  return dim;
}

/// The order of `map`'s results by the innermost loop each depends on
/// (stable, constant results first): new dim j of the operand is old dim
/// perm[j].
static SmallVector<int64_t> loopOrder(AffineMap map) {
  SmallVector<int64_t> perm =
      llvm::to_vector(llvm::seq<int64_t>(0, map.getNumResults()));
  llvm::sort(perm, [&](int64_t a, int64_t b) {
    return std::make_pair(innermostDim(map.getResult(a)), a) <
           std::make_pair(innermostDim(map.getResult(b)), b);
  });
  return perm;
}

/// The bytes of a constant tensor's elements, row-major, or none for
/// splats, sub-byte elements and attributes without data.
static std::optional<ArrayRef<char>> rawElements(Attribute value,
                                                 RankedTensorType type) {
  Type elem = type.getElementType();
  if (!elem.isIntOrFloat() || elem.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (dense.isSplat())
      return std::nullopt;
    return dense.getRawData();
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  return std::nullopt;
}

/// `data` ([shape] row-major, `elemBytes` each) with its dims permuted:
/// result dim j is source dim perm[j].
static std::vector<char> permuteElements(ArrayRef<char> data,
                                         ArrayRef<int64_t> shape,
                                         ArrayRef<int64_t> perm,
                                         size_t elemBytes) {
  size_t rank = shape.size();
  // Where a step along each source dim moves in the result.
  SmallVector<int64_t> resultStride(rank, 1), strideOfSource(rank);
  for (int64_t j = rank - 2; j >= 0; --j)
    resultStride[j] = resultStride[j + 1] * shape[perm[j + 1]];
  for (size_t j = 0; j < rank; ++j)
    strideOfSource[perm[j]] = resultStride[j];
  std::vector<char> result(data.size());
  SmallVector<int64_t> index(rank, 0);
  int64_t offset = 0;
  size_t count = data.size() / elemBytes;
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(result.data() + offset * elemBytes, data.data() + i * elemBytes,
                elemBytes);
    // Next source index, row-major, keeping the result offset in step.
    for (int64_t d = rank - 1; d >= 0; --d) {
      offset += strideOfSource[d];
      if (++index[d] < shape[d])
        break;
      offset -= strideOfSource[d] * shape[d];
      index[d] = 0;
    }
  }
  return result;
}

struct CpuRelayoutConstantOperandsPass
    : qopt::impl::CpuRelayoutConstantOperandsBase<
          CpuRelayoutConstantOperandsPass> {
  void runOnOperation() override {
    foldConstantReshapes();
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics())
        generics.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : generics) {
      if (op.getNumParallelLoops() == op.getNumLoops()) {
        relayout(rewriter, op,
                 [](OpOperand *, AffineMap map) { return loopOrder(map); });
        continue;
      }
      // A contraction's right-hand operand (reads N and K, not M) N-innermost,
      // the rows the register block loads.
      FailureOr<linalg::ContractionDimensions> dims =
          linalg::inferContractionDims(op);
      if (op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op) ||
          failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
        continue;
      relayout(rewriter, op,
               [&](OpOperand *, AffineMap map) -> SmallVector<int64_t> {
                 if (llvm::any_of(dims->m, [&](unsigned d) {
                       return map.isFunctionOfDim(d);
                     }))
                   return {};
                 return qopt::permutationPuttingLast(map, dims->n.back(),
                                                     dims->k);
               });
    }
  }

  /// Reshapes of constants as constants of the reshaped type, so the ops
  /// reading them see the constant (convert-qopt-to-linalg reads weights
  /// through a unit-dim expand_shape, which upstream folds for dense
  /// constants only). A resource keeps its blob; dense data is not copied
  /// when the reshape is the constant's only use.
  void foldConstantReshapes() {
    SmallVector<Operation *> reshapes;
    getOperation().walk([&](Operation *op) {
      if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(op))
        reshapes.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (Operation *reshape : reshapes) {
      auto cst = reshape->getOperand(0).getDefiningOp<arith::ConstantOp>();
      auto type = dyn_cast<RankedTensorType>(reshape->getResult(0).getType());
      if (!cst || !cst->hasOneUse() || !type || !type.hasStaticShape())
        continue;
      Attribute value;
      if (auto resource = dyn_cast<DenseResourceElementsAttr>(cst.getValue()))
        value = DenseResourceElementsAttr::get(type, resource.getRawHandle());
      else if (auto dense = dyn_cast<DenseElementsAttr>(cst.getValue()))
        value = dense.reshape(type);
      if (!value)
        continue;
      rewriter.setInsertionPoint(reshape);
      rewriter.replaceOpWithNewOp<arith::ConstantOp>(reshape,
                                                     cast<TypedAttr>(value));
      rewriter.eraseOp(cst);
    }
  }

  /// Permutes the dims of `op`'s constant inputs as `order` says (new dim
  /// j = old dim perm[j]; an empty perm leaves the constant alone).
  void relayout(
      RewriterBase &rewriter, linalg::GenericOp op,
      llvm::function_ref<SmallVector<int64_t>(OpOperand *, AffineMap)> order) {
    // The op's constant inputs, each with the operands that read it.
    llvm::MapVector<Operation *, SmallVector<OpOperand *>> constants;
    for (OpOperand *input : op.getDpsInputOperands())
      if (auto cst = input->get().getDefiningOp<arith::ConstantOp>())
        constants[cst].push_back(input);
    for (auto &entry : constants) {
      auto cst = cast<arith::ConstantOp>(entry.first);
      ArrayRef<OpOperand *> operands = entry.second;
      auto type = dyn_cast<RankedTensorType>(cst.getType());
      if (!type || !type.hasStaticShape() || type.getRank() < 2)
        continue;
      // A constant read elsewhere too would be stored twice.
      if (!llvm::all_of(cst->getUses(), [&](OpOperand &use) {
            return llvm::is_contained(operands, &use);
          }))
        continue;
      SmallVector<int64_t> perm =
          order(operands.front(), op.getMatchingIndexingMap(operands.front()));
      if (llvm::any_of(operands, [&](OpOperand *operand) {
            return order(operand, op.getMatchingIndexingMap(operand)) != perm;
          }))
        continue;
      if (perm.empty() || llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
        continue;
      std::optional<ArrayRef<char>> data = rawElements(cst.getValue(), type);
      if (!data)
        continue;
      size_t elemBytes = type.getElementTypeBitWidth() / 8;
      if (data->size() != type.getNumElements() * elemBytes)
        continue;
      std::vector<char> permuted =
          permuteElements(*data, type.getShape(), perm, elemBytes);
      SmallVector<int64_t> shape;
      for (int64_t d : perm)
        shape.push_back(type.getDimSize(d));
      auto newType = RankedTensorType::get(shape, type.getElementType());
      Attribute value;
      if (isa<DenseElementsAttr>(cst.getValue()))
        value = DenseElementsAttr::getFromRawBuffer(newType, permuted);
      else
        value = DenseResourceElementsAttr::get(
            newType, "relayout",
            HeapAsmResourceBlob::allocateAndCopyWithAlign(
                permuted, cast<DenseResourceElementsAttr>(cst.getValue())
                              .getRawHandle()
                              .getBlob()
                              ->getDataAlignment()));
      rewriter.setInsertionPoint(cst);
      auto newCst = arith::ConstantOp::create(rewriter, cst.getLoc(),
                                              cast<TypedAttr>(value));
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      for (OpOperand *operand : operands) {
        AffineMap old = op.getMatchingIndexingMap(operand);
        SmallVector<AffineExpr> results;
        for (int64_t d : perm)
          results.push_back(old.getResult(d));
        maps[operand->getOperandNumber()] =
            AffineMap::get(old.getNumDims(), 0, results, op.getContext());
      }
      rewriter.modifyOpInPlace(op, [&] {
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
        for (OpOperand *operand : operands)
          operand->set(newCst);
      });
      rewriter.eraseOp(cst);
    }
  }
};
} // namespace
