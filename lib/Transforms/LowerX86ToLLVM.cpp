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

/// An x86 op of qopt as the call of the LLVM intrinsic on the same
/// operands: `wide` for 512-bit operands, `narrow` for 256-bit ones.
template <typename OpT> struct ToIntrinsic : OpRewritePattern<OpT> {
  ToIntrinsic(MLIRContext *ctx, StringRef wide, StringRef narrow = "")
      : OpRewritePattern<OpT>(ctx), wide(wide), narrow(narrow) {}
  LogicalResult matchAndRewrite(OpT op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<VectorType>(op->getOperand(0).getType());
    bool is512 =
        type.getNumElements() * type.getElementType().getIntOrFloatBitWidth() ==
        512;
    StringRef name = is512 ? wide : narrow;
    if (name.empty())
      return rewriter.notifyMatchFailure(op, "no intrinsic for this width");
    auto call = LLVM::CallIntrinsicOp::create(
        rewriter, op.getLoc(), op.getType(), rewriter.getStringAttr(name),
        op->getOperands());
    rewriter.replaceOp(op, call.getResults());
    return success();
  }
  StringRef wide, narrow;
};

struct LowerX86ToLLVMPass : qopt::impl::LowerX86ToLLVMBase<LowerX86ToLLVMPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ToIntrinsic<qopt::X86PmaddwdOp>>(
        &getContext(), "llvm.x86.avx512.pmaddw.d.512",
        "llvm.x86.avx2.pmadd.wd");
    patterns.add<ToIntrinsic<qopt::X86PmaddubswOp>>(
        &getContext(), "llvm.x86.avx512.pmaddubs.w.512",
        "llvm.x86.avx2.pmadd.ub.sw");
    patterns.add<ToIntrinsic<qopt::X86VpdpbusdOp>>(
        &getContext(), "llvm.x86.avx512.vpdpbusd.512");
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
