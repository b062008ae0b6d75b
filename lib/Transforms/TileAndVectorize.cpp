//===- TileAndVectorize.cpp - CPU codegen strategy for contractions -------===//

#include "qopt/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace qopt {
#define GEN_PASS_DEF_CPUTILEANDVECTORIZE
#include "qopt/Transforms/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {

/// Marks the register-block tiles the second phase vectorizes.
constexpr llvm::StringLiteral kBlockAttr = "qopt.register_block";
/// Marks the reduction loops around vectorized blocks.
constexpr llvm::StringLiteral kReductionLoopAttr = "qopt.block_reduction";

static void canonicalize(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  RewritePatternSet patterns(ctx);
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  (void)applyPatternsGreedily(func, std::move(patterns));
}

/// Tiles `op` with `sizes` (0 = untiled) into scf.for loops; returns the
/// tiled op (and the loops), or null (leaving `op` alone) when tiling does
/// not apply.
static linalg::LinalgOp tile(RewriterBase &rewriter, linalg::LinalgOp op,
                             ArrayRef<int64_t> sizes,
                             SmallVectorImpl<scf::ForOp> *loops = nullptr,
                             ArrayRef<int64_t> interchange = {}) {
  if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }))
    return op;
  scf::SCFTilingOptions options;
  options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
  options.setTileSizes(getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  if (!interchange.empty())
    options.setInterchange(interchange);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> result = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(result))
    return {};
  rewriter.replaceOp(op, result->replacements);
  if (loops)
    for (LoopLikeOpInterface loop : result->loops)
      if (auto forOp = dyn_cast<scf::ForOp>(loop.getOperation()))
        loops->push_back(forOp);
  return dyn_cast<linalg::LinalgOp>(result->tiledOps.back());
}

struct CpuTileAndVectorizePass
    : qopt::impl::CpuTileAndVectorizeBase<CpuTileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());

    if (im2col) {
      SmallVector<linalg::Conv2DNchwFchwOp> convs;
      func.walk([&](linalg::Conv2DNchwFchwOp conv) { convs.push_back(conv); });
      for (linalg::Conv2DNchwFchwOp conv : convs) {
        rewriter.setInsertionPoint(conv);
        (void)linalg::rewriteInIm2Col(rewriter, conv);
      }
    }

    // Phase 1: tile each contraction into register blocks and peel the
    // loops so all blocks but the last along each dim have a static shape.
    SmallVector<linalg::LinalgOp> contractions;
    func.walk([&](linalg::LinalgOp op) {
      if (op.hasPureTensorSemantics() && op.getNumDpsInits() == 1 &&
          linalg::isaContractionOpInterface(op))
        contractions.push_back(op);
    });
    SmallVector<scf::ForOp> loops;
    for (linalg::LinalgOp op : contractions)
      tileIntoBlocks(rewriter, op, loops);
    for (scf::ForOp loop : loops) {
      scf::ForOp partial;
      rewriter.setInsertionPoint(loop);
      (void)scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial);
    }
    // Fold the now-constant tile sizes into static types.
    canonicalize(func);

    // Phase 2: vectorize the full (static) blocks; partial ones stay scalar.
    SmallVector<linalg::LinalgOp> blocks;
    func.walk([&](linalg::LinalgOp op) {
      if (op->hasAttr(kBlockAttr))
        blocks.push_back(op);
    });
    for (linalg::LinalgOp op : blocks) {
      op->removeAttr(kBlockAttr);
      if (op.hasDynamicShape())
        continue;
      vectorizeBlock(rewriter, op);
    }

    // Contractions the vectorizer does not turn into vector.contract become
    // a broadcast multiply and an add (after folding): let LLVM contract
    // those into FMAs, as C compilers do within an expression.
    canonicalize(func);
    func.walk([&](scf::ForOp loop) {
      if (!loop->hasAttr(kReductionLoopAttr))
        return;
      loop->removeAttr(kReductionLoopAttr);
      loop.walk([](Operation *op) {
        if (!isa<arith::MulFOp, arith::AddFOp>(op) ||
            !isa<VectorType>(op->getResult(0).getType()))
          return;
        auto fm = cast<arith::ArithFastMathInterface>(op);
        op->setAttr(fm.getFastMathAttrName(),
                    arith::FastMathFlagsAttr::get(
                        op->getContext(), arith::FastMathFlags::contract));
      });
    });
  }

  void tileIntoBlocks(RewriterBase &rewriter, linalg::LinalgOp op,
                      SmallVectorImpl<scf::ForOp> &loops) {
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (failed(dims) || dims->m.empty() || dims->n.empty() || dims->k.empty())
      return;
    // A tileM x tileN block of the output; every other parallel dim by 1.
    SmallVector<int64_t> sizes(op.getNumLoops(), 0);
    for (unsigned d : dims->batch)
      sizes[d] = 1;
    for (unsigned d : dims->m)
      sizes[d] = 1;
    for (unsigned d : dims->n)
      sizes[d] = 1;
    sizes[dims->m.back()] = tileM;
    sizes[dims->n.back()] = tileN;
    // Loop order: batch, then N blocks outside M blocks, so a K x tileN
    // panel of the right operand stays in cache while the M blocks stream
    // past it.
    SmallVector<int64_t> interchange;
    for (unsigned d : dims->batch)
      interchange.push_back(d);
    for (unsigned d : dims->n)
      interchange.push_back(d);
    for (unsigned d : dims->m)
      interchange.push_back(d);
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      if (!llvm::is_contained(interchange, d))
        interchange.push_back(d);
    if (linalg::LinalgOp tiled = tile(rewriter, op, sizes, &loops, interchange))
      tiled->setAttr(kBlockAttr, rewriter.getUnitAttr());
  }

  /// K-loop of 1 around a vector.contract of the register block.
  void vectorizeBlock(RewriterBase &rewriter, linalg::LinalgOp op) {
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (failed(dims))
      return;
    SmallVector<int64_t> sizes(op.getNumLoops(), 0);
    for (unsigned d : dims->k)
      sizes[d] = 1;
    linalg::LinalgOp inner = tile(rewriter, op, sizes);
    if (!inner || inner.hasDynamicShape())
      return;
    // A unit loop after the innermost N dim of a generic (the K step, the
    // group dim of an ungrouped integer matmul) would be the innermost dim
    // of its vectors, which LLVM splits into one-element vectors. Without
    // its unit loops the block is an elementwise N-innermost update. Named
    // ops keep their vector.contract.
    SmallVector<int64_t> ranges = inner.getStaticLoopRanges();
    bool unitAfterN = false;
    for (unsigned d = dims->n.back() + 1; d < ranges.size(); ++d)
      unitAfterN |= ranges[d] == 1;
    if (auto generic = dyn_cast<linalg::GenericOp>(inner.getOperation());
        generic && unitAfterN) {
      linalg::ControlDropUnitDims options;
      options.rankReductionStrategy = linalg::ControlDropUnitDims::
          RankReductionStrategy::ExtractInsertSlice;
      rewriter.setInsertionPoint(generic);
      FailureOr<linalg::DropUnitDimsResult> dropped =
          linalg::dropUnitDims(rewriter, generic, options);
      if (succeeded(dropped)) {
        rewriter.replaceOp(generic, dropped->replacements);
        inner = cast<linalg::LinalgOp>(dropped->resultOp.getOperation());
      }
    }
    rewriter.setInsertionPoint(inner);
    // As vector.contract, which lowers to FMAs, where the vectorizer can.
    FailureOr<linalg::VectorizationResult> vectorized = linalg::vectorize(
        rewriter, inner, /*inputVectorSizes=*/{}, /*inputScalableVecDims=*/{},
        /*vectorizeNDExtract=*/false, /*flatten1DDepthwiseConv=*/false,
        /*assumeDynamicDimsMatchVecSizes=*/false,
        /*createNamedContraction=*/true);
    if (failed(vectorized))
      return;
    rewriter.replaceOp(inner, vectorized->replacements);
    if (Operation *def = vectorized->replacements.front().getDefiningOp())
      if (auto loop = dyn_cast<scf::ForOp>(def->getParentOp()))
        loop->setAttr(kReductionLoopAttr, rewriter.getUnitAttr());
  }
};
} // namespace
