//===- MathApproximation.cpp - vectorizable transcendental functions ------===//

#include "qopt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_MATHAPPROXIMATION
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {
struct MathApproximationPass
    : qopt::impl::MathApproximationBase<MathApproximationPass> {
  void runOnOperation() override {
    auto wanted = [](StringRef name) {
      // Full operation names ("math.erf").
      return llvm::is_contained({"math.erf", "math.tanh", "math.exp",
                                 "math.expm1", "math.log", "math.log1p",
                                 "math.log2"},
                                name);
    };
    RewritePatternSet patterns(&getContext());
    populateMathF32ExpansionPatterns(patterns, wanted);
    populateMathPolynomialApproximationPatterns(patterns, wanted);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
