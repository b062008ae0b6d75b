//===- TileAndVectorize.cpp - CPU codegen strategy for contractions -------===//

#include "qopt/Transforms/Passes.h"

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

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

/// True when the body of `op` is acc + extsi(a) * extsi(b) for i8 a and b
/// (its first two inputs, in order) and an i32 acc.
static bool hasInt8MatmulBody(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return false;
  Block &body = op.getRegion().front();
  auto isI8 = [](Value v) { return v.getType().isInteger(8); };
  if (!isI8(body.getArgument(0)) || !isI8(body.getArgument(1)) ||
      !body.getArgument(2).getType().isInteger(32))
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddIOp>();
  if (!add || body.getOperations().size() != 5)
    return false;
  Value acc = add.getLhs(), product = add.getRhs();
  if (acc != body.getArgument(2))
    std::swap(acc, product);
  auto mul = product.getDefiningOp<arith::MulIOp>();
  if (acc != body.getArgument(2) || !mul)
    return false;
  auto lhs = mul.getLhs().getDefiningOp<arith::ExtSIOp>();
  auto rhs = mul.getRhs().getDefiningOp<arith::ExtSIOp>();
  if (!lhs || !rhs)
    return false;
  Value a = lhs.getIn(), b = rhs.getIn();
  if (a == body.getArgument(1))
    std::swap(a, b);
  return a == body.getArgument(0) && b == body.getArgument(1);
}

/// True when `op` is C[m, n] += extsi(A[m, k]) * extsi(B[k, n]) over
/// three loops (m, n, k) with i8 A and B and an i32 C, all static.
static bool isInt8Matmul(linalg::GenericOp op) {
  if (op.getNumLoops() != 3 || op.hasDynamicShape() || !hasInt8MatmulBody(op))
    return false;
  MLIRContext *ctx = op.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  SmallVector<AffineMap> expected = AffineMap::inferFromExprList(
      ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {k, n}, {m, n}}, ctx);
  return op.getIndexingMapsArray() == expected &&
         op.getIteratorTypesArray()[2] == utils::IteratorType::reduction;
}

/// True when the block `op` of a contraction with dims `dims` can become
/// pair dot products: an int8 matmul body, one K dim of even size, A read
/// K-innermost and B N-innermost (N a multiple of 16).
static bool suitsPairDot(linalg::LinalgOp op,
                         const linalg::ContractionDimensions &dims) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || !hasInt8MatmulBody(generic) || dims.k.size() != 1 ||
      dims.m.empty() || dims.n.empty())
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned k = dims.k.front(), n = dims.n.back();
  auto innermost = [&](int64_t operand) {
    AffineMap map = op.getIndexingMapsArray()[operand];
    return map.getNumResults() ? map.getResults().back() : AffineExpr();
  };
  AffineExpr kExpr = getAffineDimExpr(k, op.getContext());
  AffineExpr nExpr = getAffineDimExpr(n, op.getContext());
  return ranges[k] != ShapedType::kDynamic && ranges[k] % 2 == 0 &&
         ranges[n] != ShapedType::kDynamic && ranges[n] % 16 == 0 &&
         innermost(0) == kExpr && innermost(1) == nExpr;
}

/// Replaces the int8 matmul block `op` (K = 2, N a multiple of 16) by
/// vpmaddwd pair dot products: lane j of a product is
/// A[m, 0] * B[0, j] + A[m, 1] * B[1, j], added to C[m, j].
static void emitPairDotBlock(RewriterBase &rewriter, linalg::GenericOp op) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t rows = ranges[0], cols = ranges[1];
  Type i8 = rewriter.getI8Type(), i16 = rewriter.getI16Type(),
       i32 = rewriter.getI32Type();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value pad8 = arith::ConstantIntOp::create(rewriter, loc, i8, 0);
  Value pad32 = arith::ConstantIntOp::create(rewriter, loc, i32, 0);
  auto read = [&](Value source, ArrayRef<int64_t> shape, Type elem,
                  Value pad) -> Value {
    return vector::TransferReadOp::create(
        rewriter, loc, VectorType::get(shape, elem), source,
        ValueRange{zero, zero}, pad, SmallVector<bool>{true, true});
  };
  Value a = read(op.getDpsInputs()[0], {rows, 2}, i8, pad8);
  Value b = read(op.getDpsInputs()[1], {2, cols}, i8, pad8);
  Value acc = read(op.getDpsInits()[0], {rows, cols}, i32, pad32);
  // Each row's pair (A[m, 0], A[m, 1]) as one i32 to broadcast.
  Value aPairs = vector::BitCastOp::create(
      rewriter, loc, VectorType::get({rows, 1}, i32),
      arith::ExtSIOp::create(rewriter, loc, VectorType::get({rows, 2}, i16),
                             a));
  // B's rows interleaved: (B[0, j], B[1, j]) pairs, 16 columns a register.
  Value b16 =
      arith::ExtSIOp::create(rewriter, loc, VectorType::get({2, cols}, i16), b);
  Value interleaved = vector::InterleaveOp::create(
      rewriter, loc, vector::ExtractOp::create(rewriter, loc, b16, 0),
      vector::ExtractOp::create(rewriter, loc, b16, 1));
  SmallVector<Value> bHalves;
  for (int64_t h = 0; h < cols / 16; ++h)
    bHalves.push_back(vector::ExtractStridedSliceOp::create(
        rewriter, loc, interleaved, /*offsets=*/{32 * h}, /*sizes=*/{32},
        /*strides=*/{1}));
  auto lanes = VectorType::get({16}, i32);
  auto pairs = VectorType::get({32}, i16);
  for (int64_t m = 0; m < rows; ++m) {
    Value pair = vector::ExtractOp::create(rewriter, loc, aPairs,
                                           ArrayRef<int64_t>{m, 0});
    Value aBroadcast = vector::BitCastOp::create(
        rewriter, loc, pairs,
        vector::BroadcastOp::create(rewriter, loc, lanes, pair));
    Value row = vector::ExtractOp::create(rewriter, loc, acc, m);
    for (int64_t h = 0; h < cols / 16; ++h) {
      Value part = vector::ExtractStridedSliceOp::create(rewriter, loc, row,
                                                         {16 * h}, {16}, {1});
      Value dot = qopt::X86PmaddwdOp::create(rewriter, loc, lanes, aBroadcast,
                                             bHalves[h]);
      Value sum = arith::AddIOp::create(rewriter, loc, part, dot);
      row = vector::InsertStridedSliceOp::create(rewriter, loc, sum, row,
                                                 {16 * h}, {1});
    }
    acc = vector::InsertOp::create(rewriter, loc, row, acc, m);
  }
  Value written = vector::TransferWriteOp::create(
                      rewriter, loc, acc, op.getDpsInits()[0],
                      ValueRange{zero, zero}, SmallVector<bool>{true, true})
                      .getResult();
  rewriter.replaceOp(op, written);
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
    // An 8-bit integer block steps K by 2 for pair dot products, when K is
    // even and the block is N-innermost in multiples of 16 columns.
    bool pairDot = int8Pmaddwd && suitsPairDot(op, *dims);
    if (pairDot)
      sizes[dims->k.front()] = 2;
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
        generic && (unitAfterN || pairDot)) {
      linalg::ControlDropUnitDims options;
      options.rankReductionStrategy = linalg::ControlDropUnitDims::
          RankReductionStrategy::ExtractInsertSlice;
      // A pair-dot block keeps its (m, n, k) loops even when M is 1.
      if (pairDot)
        options.controlFn = [&](Operation *) {
          SmallVector<unsigned> droppable;
          for (unsigned d = 0; d < ranges.size(); ++d)
            if (d != dims->m.back() && d != dims->n.back() &&
                d != dims->k.front())
              droppable.push_back(d);
          return droppable;
        };
      rewriter.setInsertionPoint(generic);
      FailureOr<linalg::DropUnitDimsResult> dropped =
          linalg::dropUnitDims(rewriter, generic, options);
      if (succeeded(dropped)) {
        rewriter.replaceOp(generic, dropped->replacements);
        inner = cast<linalg::LinalgOp>(dropped->resultOp.getOperation());
      }
    }
    if (pairDot) {
      auto generic = dyn_cast<linalg::GenericOp>(inner.getOperation());
      if (generic && isInt8Matmul(generic)) {
        emitPairDotBlock(rewriter, generic);
        return;
      }
      // Not the int8 matmul form after all: back to K steps of 1.
      FailureOr<linalg::ContractionDimensions> innerDims =
          linalg::inferContractionDims(inner);
      if (failed(innerDims))
        return;
      SmallVector<int64_t> unitK(inner.getNumLoops(), 0);
      for (unsigned d : innerDims->k)
        unitK[d] = 1;
      inner = tile(rewriter, inner, unitK);
      if (!inner)
        return;
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
