//===- TransposeComputedOperands.cpp - N-innermost computed operands ------===//

#include "qopt/Transforms/Passes.h"

#include "qopt/Transforms/OperandLayout.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

namespace qopt {
#define GEN_PASS_DEF_CPUTRANSPOSECOMPUTEDOPERANDS
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {

/// True when `v` is computed by a linalg op, possibly through reshapes.
static bool isComputedByLinalg(Value v) {
  Operation *def = v.getDefiningOp();
  while (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
    def = def->getOperand(0).getDefiningOp();
  return isa_and_nonnull<linalg::LinalgOp>(def);
}

} // namespace

SmallVector<int64_t> qopt::permutationPuttingLast(AffineMap map, unsigned nDim,
                                                  ArrayRef<unsigned> kDims) {
  std::optional<unsigned> nPos =
      map.getResultPosition(getAffineDimExpr(nDim, map.getContext()));
  if (!nPos)
    return {};
  bool kAfter = false;
  for (unsigned r = *nPos + 1; r < map.getNumResults(); ++r)
    if (auto d = dyn_cast<AffineDimExpr>(map.getResult(r)))
      kAfter |= llvm::is_contained(kDims, d.getPosition());
  if (!kAfter)
    return {};
  SmallVector<int64_t> perm;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    if (r != *nPos)
      perm.push_back(r);
  perm.push_back(*nPos);
  return perm;
}

namespace {

/// When `v` is a tensor.expand_shape that only adds unit dims, its source
/// and, per dim of `v`, the source dim it is (or -1 for an added unit dim).
static std::optional<std::pair<Value, SmallVector<int64_t>>>
lookThroughUnitExpansion(Value v) {
  auto expand = v.getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand)
    return std::nullopt;
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  SmallVector<int64_t> sourceDim(shape.size(), -1);
  for (auto [j, group] : llvm::enumerate(expand.getReassociationIndices())) {
    SmallVector<int64_t> nonUnit;
    for (int64_t d : group)
      if (shape[d] != 1)
        nonUnit.push_back(d);
    if (nonUnit.size() > 1)
      return std::nullopt;
    // A source dim of size 1 expanded into unit dims: read at index 0.
    if (!nonUnit.empty())
      sourceDim[nonUnit.front()] = j;
  }
  return std::make_pair(expand.getSrc(), sourceDim);
}

/// `src` with its dims permuted (result dim i = source dim perm[i]), as an
/// all-parallel linalg.generic that elementwise fusion can merge with the
/// op computing `src`. A unit-dim expand_shape in front of `src` is read
/// through, so the generic reads the computed tensor itself.
static Value transposed(OpBuilder &b, Location loc, Value src,
                        ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(src.getType());
  SmallVector<OpFoldResult> srcSizes = tensor::getMixedSizes(b, loc, src);
  SmallVector<OpFoldResult> sizes;
  for (int64_t p : perm)
    sizes.push_back(srcSizes[p]);
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  unsigned rank = perm.size();
  MLIRContext *ctx = b.getContext();
  // Loops are the result's dims; the source dim perm[i] is loop i.
  SmallVector<AffineExpr> srcExprs(rank);
  for (unsigned i = 0; i < rank; ++i)
    srcExprs[perm[i]] = getAffineDimExpr(i, ctx);
  Value input = src;
  if (auto through = lookThroughUnitExpansion(src);
      through && isComputedByLinalg(through->first)) {
    input = through->first;
    unsigned sourceRank = cast<RankedTensorType>(input.getType()).getRank();
    SmallVector<AffineExpr> exprs(sourceRank, getAffineConstantExpr(0, ctx));
    for (unsigned d = 0; d < rank; ++d)
      if (through->second[d] >= 0)
        exprs[through->second[d]] = srcExprs[d];
    srcExprs = exprs;
  }
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, srcExprs, ctx),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{input}, ValueRange{init}, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(nb, l, args[0]);
      });
  return generic.getResult(0);
}

struct CpuTransposeComputedOperandsPass
    : qopt::impl::CpuTransposeComputedOperandsBase<
          CpuTransposeComputedOperandsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> contractions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics() && op.getNumDpsInits() == 1 &&
          linalg::isaContractionOpInterface(op))
        contractions.push_back(op);
    });
    OpBuilder b(&getContext());
    for (linalg::GenericOp op : contractions) {
      FailureOr<linalg::ContractionDimensions> dims =
          linalg::inferContractionDims(op);
      if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
        continue;
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      bool changed = false;
      for (OpOperand *operand : op.getDpsInputOperands()) {
        AffineMap map = maps[operand->getOperandNumber()];
        // The right-hand operand: reads N and K, not M.
        if (llvm::any_of(dims->m,
                         [&](unsigned d) { return map.isFunctionOfDim(d); }))
          continue;
        SmallVector<int64_t> perm =
            qopt::permutationPuttingLast(map, dims->n.back(), dims->k);
        if (perm.empty() || !isComputedByLinalg(operand->get()))
          continue;
        b.setInsertionPoint(op);
        operand->set(transposed(b, op.getLoc(), operand->get(), perm));
        SmallVector<AffineExpr> exprs;
        for (int64_t p : perm)
          exprs.push_back(map.getResult(p));
        maps[operand->getOperandNumber()] =
            AffineMap::get(map.getNumDims(), 0, exprs, op.getContext());
        changed = true;
      }
      if (changed)
        op.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
    }
  }
};
} // namespace
