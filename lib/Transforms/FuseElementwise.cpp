//===- FuseElementwise.cpp - elementwise fusion without recomputation -----===//

#include "qopt/Transforms/Passes.h"

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Interfaces/CastInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {

/// True when the body of `producer` is one cast of one of its inputs: cheap
/// enough to recompute, and contraction matching looks through casts.
static bool isSingleCast(linalg::GenericOp producer) {
  Block &body = producer.getRegion().front();
  if (body.getOperations().size() != 2)
    return false;
  Operation &op = body.front();
  return isa<CastOpInterface>(op) && op.getNumOperands() == 1 &&
         isa<BlockArgument>(op.getOperand(0));
}

/// Upstream's default (a producer with one use) minus the fusions that make
/// the consumer recompute the producer: see the pass description.
static bool shouldFuse(OpOperand *fusedOperand) {
  Operation *producer = fusedOperand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  auto consumer = dyn_cast<linalg::LinalgOp>(fusedOperand->getOwner());
  if (!consumer)
    return true;
  // Loops of one iteration that the operand does not read recompute
  // nothing. Into a contraction, though, only a cast fuses even then: a
  // decode inside a matrix-vector product makes it a generic that neither
  // the contraction path nor the loop vectorizer handles, where the decode
  // alone is elementwise and vectorizes.
  AffineMap map = consumer.getMatchingIndexingMap(fusedOperand);
  SmallVector<int64_t> ranges = consumer.getStaticLoopRanges();
  bool unitLoopsFree = consumer.getNumReductionLoops() == 0;
  bool readsEveryLoop =
      llvm::all_of(llvm::seq<unsigned>(0, map.getNumDims()), [&](unsigned d) {
        return map.isFunctionOfDim(d) || (unitLoopsFree && ranges[d] == 1);
      });
  if (readsEveryLoop)
    return true;
  auto generic = dyn_cast<linalg::GenericOp>(producer);
  return generic && isSingleCast(generic);
}

/// The names of the ops in the body of `op`, in order.
static SmallVector<OperationName> bodyOps(linalg::GenericOp op) {
  SmallVector<OperationName> names;
  for (Operation &nested : op.getBody()->getOperations())
    names.push_back(nested.getName());
  return names;
}

struct FuseElementwisePass
    : qopt::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    Operation *op = getOperation();
    MLIRContext *ctx = op->getContext();
    RewritePatternSet patterns(ctx);
    // As upstream's linalg-fuse-elementwise-ops, with shouldFuse as control.
    linalg::populateElementwiseOpsFusionPatterns(patterns, shouldFuse);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, shouldFuse);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, shouldFuse);
    // Byte-quad field decodes (qopt::kByteQuadFieldsAttr) by their words:
    // fusion rebuilds a decode that a transpose folds into without marks.
    struct FieldDecode {
      SmallVector<Value> words;
      Attribute mark;
      SmallVector<OperationName> body;
    };
    // By their first words.
    DenseMap<Value, FieldDecode> fieldDecodes;
    op->walk([&](linalg::GenericOp generic) {
      Attribute mark = generic->getAttr(qopt::kByteQuadFieldsAttr);
      if (mark && generic.getNumDpsInputs())
        fieldDecodes[generic.getDpsInputs().front()] = {generic.getDpsInputs(),
                                                        mark, bodyOps(generic)};
    });
    if (failed(applyPatternsGreedily(
            op, std::move(patterns),
            GreedyRewriteConfig().setUseTopDownTraversal())))
      signalPassFailure();
    // The ops now decoding those words with the same body (a decode with a
    // copy or transpose folded in: the same fields, in another layout) get
    // the mark back; one that fused more has a longer body.
    op->walk([&](linalg::GenericOp generic) {
      if (generic->getNumResults() != 1 || generic.getNumDpsInputs() == 0)
        return;
      auto it = fieldDecodes.find(generic.getDpsInputs().front());
      if (it != fieldDecodes.end() &&
          llvm::equal(generic.getDpsInputs(), it->second.words) &&
          bodyOps(generic) == it->second.body)
        generic->setAttr(qopt::kByteQuadFieldsAttr, it->second.mark);
    });
  }
};
} // namespace
