//===- ExpandBF16Conversions.cpp - bf16 conversions as bit operations -----===//

#include "qopt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_EXPANDBF16CONVERSIONS
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {
struct ExpandBF16ConversionsPass
    : qopt::impl::ExpandBF16ConversionsBase<ExpandBF16ConversionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    FrozenRewritePatternSet frozen(std::move(patterns));
    // Every op outside GPU modules: the regions of the top-level ops other
    // than gpu.module (or the op itself when it is not a module).
    Operation *root = getOperation();
    SmallVector<Operation *> targets;
    if (root->hasTrait<OpTrait::SymbolTable>() && root->getNumRegions() == 1) {
      for (Operation &op : root->getRegion(0).getOps())
        if (!isa<gpu::GPUModuleOp>(op))
          targets.push_back(&op);
    } else {
      targets.push_back(root);
    }
    for (Operation *op : targets)
      if (failed(applyPatternsGreedily(op, frozen)))
        return signalPassFailure();
  }
};
} // namespace
