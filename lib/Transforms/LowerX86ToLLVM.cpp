//===- LowerX86ToLLVM.cpp - qopt's x86 vector ops to LLVM intrinsics ------===//

#include "qopt/Transforms/Passes.h"

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_LOWERX86TOLLVM
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {

struct PmaddwdToIntrinsic : OpRewritePattern<qopt::X86PmaddwdOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(qopt::X86PmaddwdOp op,
                                PatternRewriter &rewriter) const override {
    auto call = LLVM::CallIntrinsicOp::create(
        rewriter, op.getLoc(), op.getType(),
        rewriter.getStringAttr("llvm.x86.avx512.pmaddw.d.512"),
        ValueRange{op.getLhs(), op.getRhs()});
    rewriter.replaceOp(op, call.getResults());
    return success();
  }
};

struct VpdpbusdToIntrinsic : OpRewritePattern<qopt::X86VpdpbusdOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(qopt::X86VpdpbusdOp op,
                                PatternRewriter &rewriter) const override {
    auto call = LLVM::CallIntrinsicOp::create(
        rewriter, op.getLoc(), op.getType(),
        rewriter.getStringAttr("llvm.x86.avx512.vpdpbusd.512"),
        ValueRange{op.getAcc(), op.getUnsignedBytes(), op.getSignedBytes()});
    rewriter.replaceOp(op, call.getResults());
    return success();
  }
};

struct LowerX86ToLLVMPass : qopt::impl::LowerX86ToLLVMBase<LowerX86ToLLVMPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<PmaddwdToIntrinsic, VpdpbusdToIntrinsic>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
