//===- RelayoutConstantOperands.cpp - constants in loop order -------------===//

#include "qopt/Transforms/Passes.h"

#include "qopt/Transforms/ConstantData.h"
#include "qopt/Transforms/OperandLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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

/// The elements of constant `value` of `type` (the last dim a multiple of
/// `panelN`) as panels: `[.., N]` as `[N / panelN, .., panelN]`, the
/// panels' shape in `packedShape`; none where qopt::rawElements has none.
static std::optional<std::vector<char>>
asPanels(Attribute value, RankedTensorType type, int64_t panelN,
         SmallVectorImpl<int64_t> &packedShape) {
  size_t elemBytes;
  std::optional<ArrayRef<char>> data =
      qopt::rawElements(value, type, elemBytes);
  if (!data)
    return std::nullopt;
  // [.., N] as [.., N / panelN, panelN], then the panel dim first.
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = shape.size();
  SmallVector<int64_t> split(shape);
  split.back() = shape.back() / panelN;
  split.push_back(panelN);
  SmallVector<int64_t> perm = {rank - 1};
  for (int64_t d = 0; d < rank - 1; ++d)
    perm.push_back(d);
  perm.push_back(rank);
  packedShape.clear();
  for (int64_t d : perm)
    packedShape.push_back(split[d]);
  return permuteElements(*data, split, perm, elemBytes);
}

/// A constant of `type` holding `data`, of the same kind as `like` (see
/// qopt::elementsLike), before it.
static arith::ConstantOp createConstantLike(RewriterBase &rewriter,
                                            arith::ConstantOp like,
                                            RankedTensorType type,
                                            ArrayRef<char> data) {
  rewriter.setInsertionPoint(like);
  return arith::ConstantOp::create(
      rewriter, like.getLoc(),
      qopt::elementsLike(like.getValue(), type, data, "relayout"));
}

struct CpuRelayoutConstantOperandsPass
    : qopt::impl::CpuRelayoutConstantOperandsBase<
          CpuRelayoutConstantOperandsPass> {
  using Base::Base;

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
    if (panelN <= 0)
      return;
    SmallVector<linalg::LinalgOp> contractions;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (linalg::isaContractionOpInterface(op))
        contractions.push_back(op);
    });
    for (linalg::LinalgOp op : contractions) {
      packDecodePanels(rewriter, op);
      packPanels(rewriter, op);
    }
  }

  /// The right-hand operand of contraction `op` that panels of `panelN`
  /// columns suit: the one input reading its single N dim (`n`), read with
  /// N last and no M dim, N static, a multiple of `panelN` and above it.
  OpOperand *panelOperand(linalg::LinalgOp op, unsigned &n) {
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
        op.hasIndexSemantics() || failed(dims) || dims->m.empty() ||
        dims->n.size() != 1 || dims->k.empty())
      return nullptr;
    n = dims->n.front();
    int64_t size = op.getStaticLoopRanges()[n];
    if (size == ShapedType::kDynamic || size % panelN != 0 || size <= panelN)
      return nullptr;
    OpOperand *rhs = nullptr;
    AffineExpr nExpr = getAffineDimExpr(n, op.getContext());
    for (OpOperand *input : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(input);
      if (!map.isFunctionOfDim(n))
        continue;
      if (rhs || map.getResults().back() != nExpr ||
          llvm::count(map.getResults(), nExpr) != 1 ||
          llvm::any_of(dims->m,
                       [&](unsigned d) { return map.isFunctionOfDim(d); }))
        return nullptr;
      rhs = input;
    }
    return rhs;
  }

  /// Stores the constant inputs of the elementwise op computing contraction
  /// `op`'s right-hand operand (a weight decode: bit fields `[K / F, N]`,
  /// group scales `[K / G, N]`) as panels when they are read with the
  /// decode's N loop last: `[N / panelN, .., panelN]`, read through
  /// `(n floordiv panelN, .., n mod panelN)`. The register tiling decodes a
  /// K chunk x panelN block at a time (or a K step, in registers): its
  /// words and scales become one contiguous stretch instead of panelN
  /// values from each row, rows 4 N bytes apart. The decode's output, and
  /// so the contraction, are unchanged.
  void packDecodePanels(RewriterBase &rewriter, linalg::LinalgOp op) {
    unsigned n;
    OpOperand *rhs = panelOperand(op, n);
    auto decode = rhs ? rhs->get().getDefiningOp<linalg::GenericOp>() : nullptr;
    if (!decode || !rhs->get().hasOneUse() || decode->getNumResults() != 1 ||
        !decode.hasPureTensorSemantics() ||
        decode.getNumParallelLoops() != decode.getNumLoops() ||
        !decode.getIndexingMapsArray().back().isIdentity())
      return;
    // The identity output: the decode's loop for N is the output's last dim.
    MLIRContext *ctx = op.getContext();
    unsigned numLoops = decode.getNumLoops();
    AffineExpr decodeN = getAffineDimExpr(numLoops - 1, ctx);
    int64_t size = op.getStaticLoopRanges()[n];
    SmallVector<AffineMap> maps = decode.getIndexingMapsArray();
    bool changed = false;
    for (OpOperand *input : decode.getDpsInputOperands()) {
      auto cst = input->get().getDefiningOp<arith::ConstantOp>();
      auto type = cst ? dyn_cast<RankedTensorType>(cst.getType()) : nullptr;
      AffineMap map = maps[input->getOperandNumber()];
      if (!type || !type.hasStaticShape() || type.getRank() < 2 ||
          !cst->hasOneUse() || type.getShape().back() != size ||
          map.getResults().back() != decodeN ||
          llvm::count_if(map.getResults(), [&](AffineExpr e) {
            return e.isFunctionOfDim(numLoops - 1);
          }) != 1)
        continue;
      SmallVector<int64_t> packedShape;
      std::optional<std::vector<char>> packed =
          asPanels(cst.getValue(), type, panelN, packedShape);
      if (!packed)
        continue;
      auto packedCst = createConstantLike(
          rewriter, cst,
          RankedTensorType::get(packedShape, type.getElementType()), *packed);
      SmallVector<AffineExpr> results = {decodeN.floorDiv(panelN)};
      llvm::append_range(results, map.getResults().drop_back());
      results.push_back(decodeN % panelN);
      maps[input->getOperandNumber()] =
          AffineMap::get(numLoops, 0, results, ctx);
      rewriter.modifyOpInPlace(decode, [&] { input->set(packedCst); });
      rewriter.eraseOp(cst);
      changed = true;
    }
    if (changed)
      rewriter.modifyOpInPlace(decode, [&] {
        decode.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
  }

  /// Stores the constant right-hand operand of contraction `op` as panels
  /// of panelN columns, `[K, N]` as `[N / panelN, K, panelN]`: the K x
  /// panelN panel an N block of the register tiling reads becomes one
  /// contiguous stretch, not panelN values of each of K rows N apart. The N
  /// loop splits in two (panel, column in the panel); the output is written
  /// through an expand_shape of its `[.., N, ..]` dims and read back through
  /// a collapse_shape (the same bytes). Named ops become generics.
  void packPanels(RewriterBase &rewriter, linalg::LinalgOp op) {
    unsigned n;
    OpOperand *rhs = panelOperand(op, n);
    if (!rhs)
      return;
    int64_t size = op.getStaticLoopRanges()[n];
    AffineExpr nExpr = getAffineDimExpr(n, op.getContext());
    auto cst = rhs->get().getDefiningOp<arith::ConstantOp>();
    auto type = cst ? dyn_cast<RankedTensorType>(cst.getType()) : nullptr;
    if (!type || !type.hasStaticShape() || !cst->hasOneUse())
      return;
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    std::optional<unsigned> outPos = outMap.getResultPosition(nExpr);
    auto outType = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!outPos || !outType || llvm::count(outMap.getResults(), nExpr) != 1)
      return;
    SmallVector<int64_t> packedShape;
    std::optional<std::vector<char>> packed =
        asPanels(cst.getValue(), type, panelN, packedShape);
    if (!packed)
      return;

    unsigned rhsIndex = rhs->getOperandNumber();
    if (!isa<linalg::GenericOp>(op.getOperation())) {
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::GenericOp> generic =
          linalg::generalizeNamedOp(rewriter, op);
      if (failed(generic))
        return;
      op = *generic;
    }
    auto generic = cast<linalg::GenericOp>(op.getOperation());
    MLIRContext *ctx = op.getContext();
    // Loops: old dim d stays d before N, moves to d + 1 after; N becomes
    // the panel loop (n) and the column in the panel (n + 1).
    unsigned numLoops = op.getNumLoops() + 1;
    SmallVector<AffineExpr> replacements;
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      replacements.push_back(getAffineDimExpr(d < n ? d : d + 1, ctx));
    AffineExpr panel = getAffineDimExpr(n, ctx);
    AffineExpr column = getAffineDimExpr(n + 1, ctx);
    replacements[n] = column;
    SmallVector<AffineMap> maps;
    for (OpOperand &operand : op->getOpOperands()) {
      AffineMap map = op.getMatchingIndexingMap(&operand);
      SmallVector<AffineExpr> results;
      for (AffineExpr e : map.getResults()) {
        if (e == nExpr && operand.getOperandNumber() == rhsIndex) {
          results.insert(results.begin(), panel);
          results.push_back(column);
        } else if (e == nExpr) {
          results.push_back(panel);
          results.push_back(column);
        } else {
          results.push_back(e.replaceDims(replacements));
        }
      }
      maps.push_back(AffineMap::get(numLoops, 0, results, ctx));
    }
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    iterators.insert(iterators.begin() + n, utils::IteratorType::parallel);

    Location loc = op.getLoc();
    auto packedCst = createConstantLike(
        rewriter, cst,
        RankedTensorType::get(packedShape, type.getElementType()), *packed);
    // Output dim pos becomes dims pos, pos + 1; later dims move up by one.
    int64_t pos = *outPos;
    SmallVector<ReassociationIndices> groups;
    for (int64_t d = 0; d < outType.getRank(); ++d) {
      if (d == pos)
        groups.push_back({pos, pos + 1});
      else
        groups.push_back({d < pos ? d : d + 1});
    }
    SmallVector<int64_t> outShape(outType.getShape());
    outShape[pos] = size / panelN;
    outShape.insert(outShape.begin() + pos + 1, panelN);
    auto expandedType =
        RankedTensorType::get(outShape, outType.getElementType());
    rewriter.setInsertionPoint(op);
    Value init = tensor::ExpandShapeOp::create(rewriter, loc, expandedType,
                                               op.getDpsInits()[0], groups);
    SmallVector<Value> inputs = op.getDpsInputs();
    inputs[rhsIndex] = packedCst;
    auto packedOp = linalg::GenericOp::create(rewriter, loc, expandedType,
                                              inputs, init, maps, iterators);
    rewriter.inlineRegionBefore(generic.getRegion(), packedOp.getRegion(),
                                packedOp.getRegion().begin());
    Value result = tensor::CollapseShapeOp::create(
        rewriter, loc, outType, packedOp.getResult(0), groups);
    rewriter.replaceOp(op, result);
    rewriter.eraseOp(cst);
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
      size_t elemBytes;
      std::optional<ArrayRef<char>> data =
          qopt::rawElements(cst.getValue(), type, elemBytes);
      if (!data)
        continue;
      std::vector<char> permuted =
          permuteElements(*data, type.getShape(), perm, elemBytes);
      SmallVector<int64_t> shape;
      for (int64_t d : perm)
        shape.push_back(type.getDimSize(d));
      auto newCst = createConstantLike(
          rewriter, cst, RankedTensorType::get(shape, type.getElementType()),
          permuted);
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
