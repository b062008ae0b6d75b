//===- TileAndVectorize.cpp - CPU codegen strategy for contractions -------===//

#include "qopt/Transforms/Passes.h"

#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Transforms/ConstantData.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

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
/// Marks the weight decodes fused into the loops of a contraction.
constexpr llvm::StringLiteral kFusedDecodeAttr = "qopt.fused_decode";
/// Marks the K loops of pair-dot blocks that read a decode's rows.
constexpr llvm::StringLiteral kDecodedPairLoopAttr = "qopt.decoded_pair_loop";
/// A fused decode of at most this many rows (outside its innermost dim) is
/// vectorized a row at a time with the rows unrolled, in registers; a
/// larger one (a panel) in a loop over its rows.
constexpr int64_t kUnrolledDecodeRows = 4;

/// The ops of type OpT in `func` marked with `attr`, the mark removed.
template <typename OpT>
static SmallVector<OpT> takeMarked(func::FuncOp func, StringRef attr) {
  SmallVector<OpT> marked;
  func.walk([&](OpT op) {
    if (op->removeAttr(attr))
      marked.push_back(op);
  });
  return marked;
}

/// Every canonicalization pattern, plus, with `foldTensorSubsets`, the
/// folds of tensor subsets into vector transfers (which forward a vector
/// written into a slice of a tensor to the transfer that reads it back).
static FrozenRewritePatternSet
canonicalizationPatterns(MLIRContext *ctx, bool foldTensorSubsets = false) {
  RewritePatternSet patterns(ctx);
  if (foldTensorSubsets)
    tensor::populateFoldTensorSubsetOpPatterns(patterns);
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  return FrozenRewritePatternSet(std::move(patterns));
}

static void canonicalize(func::FuncOp func) {
  (void)applyPatternsGreedily(func,
                              canonicalizationPatterns(func.getContext()));
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
/// (its first two inputs, in order) and an i32 acc. a may be i16 (see
/// widenPairDotActivations): vpmaddwd's products are exact unless both
/// factors are -32768, which an i8 b never is.
/// With `unsignedB`, the body is acc + extsi(a) * extui(b) for i8 a and b
/// instead (see offsetWeightsForQuadDot).
static bool hasInt8MatmulBody(linalg::GenericOp op, bool unsignedB = false) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return false;
  Block &body = op.getRegion().front();
  auto isI8 = [](Value v) { return v.getType().isInteger(8); };
  if (!(isI8(body.getArgument(0)) ||
        (!unsignedB && body.getArgument(0).getType().isInteger(16))) ||
      !isI8(body.getArgument(1)) ||
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
  // The operand each extension reads, signed or not.
  auto extended = [](Value v, bool &isSigned) -> Value {
    if (auto ext = v.getDefiningOp<arith::ExtSIOp>()) {
      isSigned = true;
      return ext.getIn();
    }
    if (auto ext = v.getDefiningOp<arith::ExtUIOp>()) {
      isSigned = false;
      return ext.getIn();
    }
    return {};
  };
  bool aSigned, bSigned;
  Value a = extended(mul.getLhs(), aSigned),
        b = extended(mul.getRhs(), bSigned);
  if (a == body.getArgument(1)) {
    std::swap(a, b);
    std::swap(aSigned, bSigned);
  }
  return a && b && a == body.getArgument(0) && b == body.getArgument(1) &&
         aSigned && bSigned == !unsignedB;
}

/// True when `op` is C[m, n] += extsi(A[m, k]) * extsi(B[k, n]) (extui
/// with `unsignedB`) over three loops (m, n, k) with i8 A and B and an i32
/// C, all static.
static bool isInt8Matmul(linalg::GenericOp op, bool unsignedB = false) {
  if (op.getNumLoops() != 3 || op.hasDynamicShape() ||
      !hasInt8MatmulBody(op, unsignedB))
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
/// K-innermost and B N-innermost (N a multiple of 16). With `kStep` 4
/// and `unsignedB`, quad dot products of the body with unsigned weights.
static bool suitsPairDot(linalg::LinalgOp op,
                         const linalg::ContractionDimensions &dims,
                         int64_t kStep = 2, bool unsignedB = false) {
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || !hasInt8MatmulBody(generic, unsignedB) ||
      dims.k.size() != 1 || dims.m.empty() || dims.n.empty())
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  unsigned k = dims.k.front(), n = dims.n.back();
  auto innermost = [&](int64_t operand) {
    AffineMap map = op.getIndexingMapsArray()[operand];
    return map.getNumResults() ? map.getResults().back() : AffineExpr();
  };
  AffineExpr kExpr = getAffineDimExpr(k, op.getContext());
  AffineExpr nExpr = getAffineDimExpr(n, op.getContext());
  return ranges[k] != ShapedType::kDynamic && ranges[k] % kStep == 0 &&
         ranges[n] != ShapedType::kDynamic && ranges[n] % 16 == 0 &&
         innermost(0) == kExpr && innermost(1) == nExpr;
}

/// A transfer read of all of `source` (a static `shape` of `elem`).
static Value readBlock(RewriterBase &rewriter, Location loc, Value source,
                       ArrayRef<int64_t> shape, Type elem) {
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  return vector::TransferReadOp::create(
      rewriter, loc, VectorType::get(shape, elem), source,
      SmallVector<Value>(shape.size(), zero),
      arith::ConstantIntOp::create(rewriter, loc, elem, 0),
      SmallVector<bool>(shape.size(), true));
}

/// The shared end of the pair and quad dot blocks: B's K steps interleaved
/// (`bSteps`, each with the values of column j together) are split into
/// parts of a register of `operandType` (16 columns of 512 bits, 8 of 256); for
/// each row m of the block `op`'s accumulator `acc` (rows x cols i32), each
/// step s and each part h, `dot(lanes, a, part h)` adds the products of row m's
/// i32 of activations `aWords[m, s]` (broadcast and bitcast to `operandType`)
/// and the step's part; then the block is written back in place of `op`.
static void accumulateRows(RewriterBase &rewriter, linalg::GenericOp op,
                           Value acc, Value aWords, ArrayRef<Value> bSteps,
                           VectorType operandType,
                           llvm::function_ref<Value(Value, Value, Value)> dot) {
  Location loc = op.getLoc();
  // The i32 lanes of a register of `operandType`.
  int64_t width = operandType.getNumElements() *
                  operandType.getElementType().getIntOrFloatBitWidth() / 32;
  auto lanes = VectorType::get({width}, rewriter.getI32Type());
  auto accType = cast<VectorType>(acc.getType());
  int64_t rows = accType.getDimSize(0), parts = accType.getDimSize(1) / width;
  int64_t partSize = operandType.getNumElements();
  SmallVector<SmallVector<Value>> bParts;
  for (Value bInterleaved : bSteps) {
    SmallVector<Value> &stepParts = bParts.emplace_back();
    for (int64_t h = 0; h < parts; ++h)
      stepParts.push_back(vector::ExtractStridedSliceOp::create(
          rewriter, loc, bInterleaved, /*offsets=*/{partSize * h},
          /*sizes=*/{partSize}, /*strides=*/{1}));
  }
  for (int64_t m = 0; m < rows; ++m) {
    Value row = vector::ExtractOp::create(rewriter, loc, acc, m);
    for (auto [step, stepParts] : llvm::enumerate(bParts)) {
      Value word = vector::ExtractOp::create(
          rewriter, loc, aWords,
          ArrayRef<int64_t>{m, static_cast<int64_t>(step)});
      Value aBroadcast = vector::BitCastOp::create(
          rewriter, loc, operandType,
          vector::BroadcastOp::create(rewriter, loc, lanes, word));
      for (auto [h, bPart] : llvm::enumerate(stepParts)) {
        int64_t offset = width * static_cast<int64_t>(h);
        Value part = vector::ExtractStridedSliceOp::create(
            rewriter, loc, row, {offset}, {width}, {1});
        row = vector::InsertStridedSliceOp::create(
            rewriter, loc, dot(part, aBroadcast, bPart), row, {offset}, {1});
      }
    }
    acc = vector::InsertOp::create(rewriter, loc, row, acc, m);
  }
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value written = vector::TransferWriteOp::create(
                      rewriter, loc, acc, op.getDpsInits()[0],
                      ValueRange{zero, zero}, SmallVector<bool>{true, true})
                      .getResult();
  rewriter.replaceOp(op, written);
}

/// Replaces the int8 matmul block `op` (K = 2, N a multiple of 16) by
/// vpmaddwd pair dot products on registers of `registerColumns` i32 lanes
/// (16 with AVX-512, 8 with AVX2): lane j of a product is
/// A[m, 0] * B[0, j] + A[m, 1] * B[1, j], added to C[m, j]. With
/// `decodedB`, B is a decode computed in registers (i32 lanes before its
/// truncation to i8).
static void emitPairDotBlock(RewriterBase &rewriter, linalg::GenericOp op,
                             bool decodedB, int64_t registerColumns) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t rows = ranges[0], cols = ranges[1];
  Type i8 = rewriter.getI8Type(), i16 = rewriter.getI16Type(),
       i32 = rewriter.getI32Type();
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value pad8 = arith::ConstantIntOp::create(rewriter, loc, i8, 0);
  Value aTensor = op.getDpsInputs()[0];
  Type aType = getElementTypeOrSelf(aTensor.getType());
  Value a = readBlock(rewriter, loc, aTensor, {rows, 2}, aType);
  if (aType.isInteger(8))
    a = arith::ExtSIOp::create(rewriter, loc, VectorType::get({rows, 2}, i16),
                               a);
  Value acc = readBlock(rewriter, loc, op.getDpsInits()[0], {rows, cols}, i32);
  // Each row's pair (A[m, 0], A[m, 1]) as one i32 to broadcast.
  Value aPairs = vector::BitCastOp::create(rewriter, loc,
                                           VectorType::get({rows, 1}, i32), a);
  // B's rows interleaved: (B[0, j], B[1, j]) pairs, 16 columns a register.
  Value interleaved;
  Value bTensor = op.getDpsInputs()[1];
  if (decodedB) {
    // Each pair as the i32 (B[0, j] & 0xffff) | (B[1, j] << 16): a mask, a
    // shift and an or on the decode's i32 lanes, whose sign extensions
    // LLVM folds into the decode's own shifts; no byte shuffles.
    // Each row read on its own, so it comes straight from the decode's
    // vector for that row (see vectorizeRows).
    auto wide = VectorType::get({cols}, i32);
    auto row = [&](int64_t k) -> Value {
      Value bytes = vector::TransferReadOp::create(
          rewriter, loc, VectorType::get({cols}, i8), bTensor,
          ValueRange{arith::ConstantIndexOp::create(rewriter, loc, k), zero},
          pad8, SmallVector<bool>{true});
      return arith::ExtSIOp::create(rewriter, loc, wide, bytes);
    };
    auto splat = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(wide, APInt(32, v)));
    };
    Value low = arith::AndIOp::create(rewriter, loc, row(0), splat(0xffff));
    Value high = arith::ShLIOp::create(rewriter, loc, row(1), splat(16));
    interleaved = vector::BitCastOp::create(
        rewriter, loc, VectorType::get({2 * cols}, i16),
        arith::OrIOp::create(rewriter, loc, low, high));
  } else {
    Value b = readBlock(rewriter, loc, bTensor, {2, cols}, i8);
    Value b16 = arith::ExtSIOp::create(rewriter, loc,
                                       VectorType::get({2, cols}, i16), b);
    interleaved = vector::InterleaveOp::create(
        rewriter, loc, vector::ExtractOp::create(rewriter, loc, b16, 0),
        vector::ExtractOp::create(rewriter, loc, b16, 1));
  }
  accumulateRows(rewriter, op, acc, aPairs, interleaved,
                 VectorType::get({2 * registerColumns}, i16),
                 [&](Value lanes, Value aBroadcast, Value bPart) -> Value {
                   Value dot = qopt::X86PmaddwdOp::create(
                       rewriter, loc, lanes.getType(), aBroadcast, bPart);
                   return arith::AddIOp::create(rewriter, loc, lanes, dot);
                 });
}

/// Marks a byte-quad field decode whose fields offsetWeightsForQuadDot made
/// unsigned: the K extent of its contraction (i64).
constexpr llvm::StringLiteral kQuadFieldsKAttr = "qopt.quad_fields_k";

/// One slice of the bits of byte-quad bit fields (see qopt.field_unpack and
/// qopt.field_slices_unpack): `bits` bits a field, `fieldsPerWord` fields a
/// word, from bit `offset` of the value up; `wordsKDim`, the dim of its
/// words that K reads (set by fieldsByColumn).
struct QuadSlice {
  int64_t bits;
  int64_t fieldsPerWord;
  int64_t offset;
  unsigned wordsKDim = 0;
};

/// Signed byte-quad bit fields of `bits` bits: one slice per input of their
/// decode, in its order.
struct QuadFields {
  int64_t bits;
  SmallVector<QuadSlice, 3> slices;
};

/// The slice `term` of a field decode's body reads from its block argument
/// `arg` (`isSigned` for the signed top slice, shrsi(shli(word, s), 32 - b);
/// the others are andi(shrui(word, s), 2^b - 1)), either shifted left by a
/// constant offset. None for anything else.
static std::optional<QuadSlice> decodedSlice(Value term, bool &isSigned,
                                             unsigned &arg) {
  QuadSlice slice{0, 0, 0};
  if (auto up = term.getDefiningOp<arith::ShLIOp>()) {
    std::optional<int64_t> by = getConstantIntValue(up.getRhs());
    if (!by)
      return std::nullopt;
    slice.offset = *by;
    term = up.getLhs();
  }
  Value word;
  if (auto down = term.getDefiningOp<arith::ShRSIOp>()) {
    auto up = down.getLhs().getDefiningOp<arith::ShLIOp>();
    std::optional<int64_t> by = getConstantIntValue(down.getRhs());
    if (!up || !by)
      return std::nullopt;
    slice.bits = 32 - *by;
    word = up.getLhs();
    isSigned = true;
  } else if (auto masked = term.getDefiningOp<arith::AndIOp>()) {
    auto down = masked.getLhs().getDefiningOp<arith::ShRUIOp>();
    std::optional<int64_t> mask = getConstantIntValue(masked.getRhs());
    if (!down || !mask || *mask <= 0 || (*mask & (*mask + 1)) != 0)
      return std::nullopt;
    slice.bits = llvm::countr_one(uint64_t(*mask));
    word = down.getLhs();
    isSigned = false;
  } else {
    return std::nullopt;
  }
  auto argument = dyn_cast<BlockArgument>(word);
  if (!argument)
    return std::nullopt;
  arg = argument.getArgNumber();
  return slice;
}

/// The fields `decode` reads when it decodes signed byte-quad fields: marked
/// with qopt::kByteQuadFieldsAttr (the fields per word of each input), its
/// inputs the i32 words of each slice, yielding as i8 the or of its slices
/// (see decodedSlice; the top one signed, each from the bit where the one
/// below ends), plus 2^(B - 1) with `offset`; slice widths dividing 8. None
/// otherwise.
static std::optional<QuadFields> byteQuadFields(linalg::GenericOp decode,
                                                bool offset) {
  auto perWord =
      decode
          ? decode->getAttrOfType<DenseI64ArrayAttr>(qopt::kByteQuadFieldsAttr)
          : nullptr;
  int64_t inputs = decode ? decode.getNumDpsInputs() : 0;
  if (!perWord || inputs == 0 || perWord.size() != inputs ||
      decode->getNumResults() != 1 ||
      !getElementTypeOrSelf(decode->getResult(0).getType()).isInteger(8) ||
      llvm::any_of(decode.getDpsInputs(), [](Value words) {
        return !getElementTypeOrSelf(words.getType()).isInteger(32);
      }))
    return std::nullopt;
  Block *body = decode.getBody();
  Value value = cast<linalg::YieldOp>(body->getTerminator()).getOperand(0);
  std::optional<int64_t> added;
  if (offset) {
    auto add = value.getDefiningOp<arith::AddIOp>();
    if (!add)
      return std::nullopt;
    added = getConstantIntValue(add.getRhs());
    value = add.getLhs();
  }
  auto trunc = value.getDefiningOp<arith::TruncIOp>();
  if (!trunc)
    return std::nullopt;
  // The or's terms: one slice each.
  SmallVector<Value> terms, pending = {trunc.getIn()};
  while (!pending.empty()) {
    Value term = pending.pop_back_val();
    if (auto merged = term.getDefiningOp<arith::OrIOp>()) {
      pending.push_back(merged.getLhs());
      pending.push_back(merged.getRhs());
    } else {
      terms.push_back(term);
    }
  }
  if (int64_t(terms.size()) != inputs)
    return std::nullopt;
  QuadFields fields{0, SmallVector<QuadSlice, 3>(inputs, QuadSlice{0, 0, 0})};
  SmallVector<bool> seen(inputs, false);
  std::optional<unsigned> top;
  for (Value term : terms) {
    bool isSigned;
    unsigned arg;
    std::optional<QuadSlice> slice = decodedSlice(term, isSigned, arg);
    if (!slice || arg >= inputs || seen[arg])
      return std::nullopt;
    seen[arg] = true;
    slice->fieldsPerWord = perWord[arg];
    if (slice->bits < 1 || 8 % slice->bits != 0 ||
        slice->fieldsPerWord % 4 != 0 ||
        slice->fieldsPerWord * slice->bits > 32)
      return std::nullopt;
    if (isSigned)
      top = arg;
    fields.slices[arg] = *slice;
    fields.bits += slice->bits;
  }
  // Contiguous bits, the signed slice on top.
  SmallVector<QuadSlice> byOffset(fields.slices.begin(), fields.slices.end());
  llvm::sort(byOffset, [](const QuadSlice &a, const QuadSlice &b) {
    return a.offset < b.offset;
  });
  int64_t next = 0;
  for (const QuadSlice &slice : byOffset) {
    if (slice.offset != next)
      return std::nullopt;
    next += slice.bits;
  }
  if (!top ||
      fields.slices[*top].offset + fields.slices[*top].bits != fields.bits)
    return std::nullopt;
  if (fields.bits > 8 ||
      (offset &&
       (!added || (*added & 0xff) != (int64_t(1) << (fields.bits - 1)))))
    return std::nullopt;
  return fields;
}

/// The four rows of `rows` (vector<4 x C x i8>, K rows of C columns)
/// interleaved into byte quads: the quad of column j (rows 0 to 3) at bytes
/// 4j .. 4j + 3 of the vector<4C x i8>, as vpdpbusd reads B.
static Value interleaveQuads(OpBuilder &b, Location loc, Value rows) {
  auto type = cast<VectorType>(rows.getType());
  int64_t cols = type.getDimSize(1);
  auto row = [&](int64_t k) {
    return vector::ExtractOp::create(b, loc, rows, k).getResult();
  };
  // (B[0, j], B[1, j]) and (B[2, j], B[3, j]) byte pairs, then the pairs
  // interleaved as i16.
  auto pairs = [&](Value first, Value second) -> Value {
    return vector::BitCastOp::create(
        b, loc, VectorType::get({cols}, b.getI16Type()),
        vector::InterleaveOp::create(b, loc, first, second));
  };
  return vector::BitCastOp::create(
      b, loc, VectorType::get({4 * cols}, b.getI8Type()),
      vector::InterleaveOp::create(b, loc, pairs(row(0), row(1)),
                                   pairs(row(2), row(3))));
}

/// Where a static tensor `value` lies in the tensor it is sliced from
/// through unit-stride extract_slices: `root`, the first value up the chain
/// that no such slice defines; for each dim of root the offsets whose sum
/// is where `value` starts along it (static zeros left out); and which
/// dims of root are `value`'s dims.
struct SliceOrigin {
  Value root;
  SmallVector<SmallVector<OpFoldResult>> offsets;
  SmallVector<unsigned> dims;
};

static std::optional<SliceOrigin> traceSlices(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SliceOrigin origin;
  origin.offsets.resize(type.getRank());
  origin.dims = llvm::to_vector(llvm::seq<unsigned>(0, type.getRank()));
  while (auto slice = value.getDefiningOp<tensor::ExtractSliceOp>()) {
    if (!slice.hasUnitStride())
      return std::nullopt;
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    unsigned rank = slice.getSourceType().getRank();
    // Source dim of each result dim.
    SmallVector<unsigned> sourceDim;
    for (unsigned d = 0; d < rank; ++d)
      if (!dropped.test(d))
        sourceDim.push_back(d);
    SmallVector<SmallVector<OpFoldResult>> offsets(rank);
    for (auto [d, offset] : llvm::enumerate(slice.getMixedOffsets()))
      if (!isConstantIntValue(offset, 0))
        offsets[d].push_back(offset);
    for (auto [i, d] : llvm::enumerate(sourceDim))
      llvm::append_range(offsets[d], origin.offsets[i]);
    for (unsigned &d : origin.dims)
      d = sourceDim[d];
    origin.offsets = std::move(offsets);
    value = slice.getSource();
  }
  origin.root = value;
  return origin;
}

/// The sum of `summands` (index values), built before the insertion point.
static Value sumOfOffsets(OpBuilder &b, Location loc,
                          ArrayRef<OpFoldResult> summands) {
  Value sum = arith::ConstantIndexOp::create(b, loc, 0);
  for (OpFoldResult summand : summands)
    sum = arith::AddIOp::create(
        b, loc, sum, getValueOrCreateConstantIndexOp(b, loc, summand));
  return sum;
}

/// True when `offset` is a multiple of `factor` whatever its value: a
/// constant, or the induction variable of an scf.for whose lower bound and
/// step are constant multiples.
static bool isMultipleOf(OpFoldResult offset, int64_t factor) {
  if (std::optional<int64_t> value = getConstantIntValue(offset))
    return *value % factor == 0;
  auto iv = dyn_cast<BlockArgument>(cast<Value>(offset));
  auto loop = iv ? dyn_cast<scf::ForOp>(iv.getOwner()->getParentOp()) : nullptr;
  if (!loop || loop.getInductionVar() != iv)
    return false;
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  return lb && step && *lb % factor == 0 && *step % factor == 0;
}

/// The fields of `decode` when it decodes signed byte-quad fields made
/// unsigned by offsetWeightsForQuadDot into a tile `[1.., R, cols]` (R rows
/// of K, a multiple of each slice's fields per word F) from words tiles
/// holding the R / F words of each column, read through (k floordiv F) and
/// n (or n floordiv c before n mod c): row-major, each row of words is the
/// columns in order. Each slice's `wordsKDim` is the result dim of its
/// words that K reads. None otherwise.
static std::optional<QuadFields> fieldsByColumn(linalg::GenericOp decode,
                                                int64_t cols) {
  std::optional<QuadFields> fields = byteQuadFields(decode, /*offset=*/true);
  if (!fields || !decode->hasAttr(kQuadFieldsKAttr))
    return std::nullopt;
  auto outType = cast<RankedTensorType>(decode->getResult(0).getType());
  int64_t rank = outType.getRank();
  if (!outType.hasStaticShape() || rank < 2 ||
      outType.getDimSize(rank - 1) != cols)
    return std::nullopt;
  int64_t rows = outType.getDimSize(rank - 2);
  if (outType.getNumElements() != rows * cols)
    return std::nullopt;
  MLIRContext *ctx = decode.getContext();
  AffineExpr k = getAffineDimExpr(rank - 2, ctx),
             n = getAffineDimExpr(rank - 1, ctx);
  SmallVector<AffineMap> maps = decode.getIndexingMapsArray();
  for (auto [slice, words, map] :
       llvm::zip(fields->slices, decode.getDpsInputs(), maps)) {
    auto wordsType = dyn_cast<RankedTensorType>(words.getType());
    if ((rows % slice.fieldsPerWord != 0 && rows != 4) || !wordsType ||
        !wordsType.hasStaticShape() ||
        wordsType.getNumElements() !=
            cols * std::max<int64_t>(1, rows / slice.fieldsPerWord))
      return std::nullopt;
    SmallVector<AffineExpr> byColumn;
    std::optional<unsigned> kDim;
    for (auto [i, e] : llvm::enumerate(map.getResults())) {
      bool readsK = e.isFunctionOfDim(rank - 2),
           readsN = e.isFunctionOfDim(rank - 1);
      if ((readsK && readsN) ||
          (readsK && e != k.floorDiv(slice.fieldsPerWord)))
        return std::nullopt;
      if (readsK)
        kDim = i;
      if (readsN)
        byColumn.push_back(e);
    }
    bool inOrder = byColumn.size() == 1 && byColumn[0] == n;
    if (byColumn.size() == 2)
      if (auto split = dyn_cast<AffineBinaryOpExpr>(byColumn[0]))
        if (auto divisor = dyn_cast<AffineConstantExpr>(split.getRHS()))
          inOrder = byColumn[0] == n.floorDiv(divisor.getValue()) &&
                    byColumn[1] == n % divisor.getValue();
    if (!inOrder || !kDim)
      return std::nullopt;
    slice.wordsKDim = *kDim;
  }
  return fields;
}

/// The byte quads of K rows 4i .. 4i + 3 of each column, the unsigned
/// q + 2^(B - 1) of `fields`' signed q, from `wordLanes` (vector<C x i32>,
/// a word of each slice per column) and `shifts` (i32, each slice's b i for
/// its word's quad i): the or of each slice's bits b i up of the word's four
/// bytes, `(word >> b i) & mask`, shifted to where the slice starts, each
/// value's top bit flipped; as vector<4C x i8>.
static Value quadsOfWords(OpBuilder &b, Location loc, ValueRange wordLanes,
                          ValueRange shifts, const QuadFields &fields) {
  auto lanes = cast<VectorType>(wordLanes.front().getType());
  auto splat = [&](uint32_t v) -> Value {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(lanes, APInt(32, v)));
  };
  Value quads;
  for (auto [slice, words, shift] :
       llvm::zip(fields.slices, wordLanes, shifts)) {
    uint32_t fieldMask = (1u << slice.bits) - 1;
    Value shifted = arith::ShRUIOp::create(
        b, loc, words, vector::BroadcastOp::create(b, loc, lanes, shift));
    Value masked =
        arith::AndIOp::create(b, loc, shifted, splat(fieldMask * 0x01010101u));
    // Within each byte: the slices' bits end below bit 8.
    if (slice.offset)
      masked = arith::ShLIOp::create(b, loc, masked, splat(slice.offset));
    quads = quads ? arith::OrIOp::create(b, loc, quads, masked).getResult()
                  : masked;
  }
  uint32_t topBit = 1u << (fields.bits - 1);
  Value unsignedFields =
      arith::XOrIOp::create(b, loc, quads, splat(topBit * 0x01010101u));
  return vector::BitCastOp::create(
      b, loc, VectorType::get({4 * lanes.getNumElements()}, b.getI8Type()),
      unsignedFields);
}

/// Row `row` (index) along dim `kDim` of `words` (a static tile of i32
/// whose other dims are `cols` words, see fieldsByColumn), as
/// vector<cols x i32>.
static Value readWordRow(OpBuilder &b, Location loc, Value words, unsigned kDim,
                         Value row, int64_t cols) {
  auto wordsType = cast<RankedTensorType>(words.getType());
  Type i32 = b.getI32Type();
  SmallVector<int64_t> rowShape(wordsType.getShape());
  rowShape[kDim] = 1;
  SmallVector<Value> from(wordsType.getRank(),
                          arith::ConstantIndexOp::create(b, loc, 0));
  from[kDim] = row;
  Value wordRow = vector::TransferReadOp::create(
      b, loc, VectorType::get(rowShape, i32), words, from,
      arith::ConstantIntOp::create(b, loc, i32, 0),
      SmallVector<bool>(rowShape.size(), true));
  return vector::ShapeCastOp::create(b, loc, VectorType::get({cols}, i32),
                                     wordRow);
}

/// The panels quad dot blocks read, each stored quad by quad (see
/// storedQuads).
struct QuadPanels {
  /// The copy of each panel stored so far.
  DenseMap<Value, Value> copies;
  /// The largest decoded panel copied at run time, in bytes: a copy is one
  /// more buffer per N block, and two large ones freed together return
  /// their pages to the system (glibc trims the heap), to be faulted in
  /// again by the next block.
  int64_t maxDecodedBytes;
};

/// Constant panel `cst` ([.., K, C] i8) stored quad by quad at compile
/// time, as `quadType` (see storedQuads); null without its bytes.
static Value quadsOfConstant(RewriterBase &rewriter, arith::ConstantOp cst,
                             RankedTensorType quadType) {
  auto type = cast<RankedTensorType>(cst.getType());
  int64_t rank = type.getRank(), rows = type.getDimSize(rank - 2),
          cols = type.getDimSize(rank - 1);
  size_t elemBytes;
  std::optional<ArrayRef<char>> data =
      qopt::rawElements(cst.getValue(), type, elemBytes);
  if (!data)
    return {};
  std::vector<char> quads(data->size());
  for (int64_t base = 0; base < type.getNumElements(); base += rows * cols)
    for (int64_t q = 0; q < rows / 4; ++q)
      for (int64_t j = 0; j < cols; ++j)
        for (int64_t t = 0; t < 4; ++t)
          quads[base + q * 4 * cols + 4 * j + t] =
              (*data)[base + (4 * q + t) * cols + j];
  rewriter.setInsertionPointAfter(cst);
  return arith::ConstantOp::create(
      rewriter, cst.getLoc(),
      qopt::elementsLike(cst.getValue(), quadType, quads, "quad_weights"));
}

/// A tensor of `quadType` ([.., K / 4, 4C] i8) built in a loop nest after
/// `after`, over every dim but the last: row (ivs) is `quadRow(b, loc,
/// ivs)`, a vector<4C x i8> (the last iv the quad row).
static Value storeQuadRows(
    RewriterBase &rewriter, Operation *after, RankedTensorType quadType,
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)> quadRow) {
  Location loc = after->getLoc();
  int64_t rank = quadType.getRank();
  rewriter.setInsertionPointAfter(after);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value empty = tensor::EmptyOp::create(rewriter, loc, quadType.getShape(),
                                        quadType.getElementType());
  SmallVector<Value> lbs(rank - 1, zero), ubs,
      steps(rank - 1, arith::ConstantIndexOp::create(rewriter, loc, 1));
  for (int64_t d = 0; d < rank - 1; ++d)
    ubs.push_back(
        arith::ConstantIndexOp::create(rewriter, loc, quadType.getDimSize(d)));
  scf::LoopNest nest =
      scf::buildLoopNest(rewriter, loc, lbs, ubs, steps, ValueRange{empty},
                         [&](OpBuilder &b, Location l, ValueRange ivs,
                             ValueRange iterArgs) -> scf::ValueVector {
                           SmallVector<Value> to(ivs);
                           to.push_back(zero);
                           return {vector::TransferWriteOp::create(
                                       b, l, quadRow(b, l, ivs), iterArgs[0],
                                       to, SmallVector<bool>{true})
                                       .getResult()};
                         });
  return nest.results.front();
}

/// The panel of byte-quad field decode `decode` (see fieldsByColumn: a
/// panel [1.., K, C]) as `quadType`, straight from its words (see
/// quadsOfWords) in a loop after it: quad row q from each slice's word row
/// q / (F / 4) at i = q mod (F / 4). The row decode is left dead.
static Value quadsOfFieldPanel(RewriterBase &rewriter, linalg::GenericOp decode,
                               const QuadFields &fields,
                               RankedTensorType quadType) {
  int64_t cols = quadType.getDimSize(quadType.getRank() - 1) / 4;
  return storeQuadRows(
      rewriter, decode, quadType,
      [&](OpBuilder &b, Location l, ValueRange ivs) -> Value {
        auto index = [&](int64_t v) {
          return arith::ConstantIndexOp::create(b, l, v);
        };
        Type i32 = b.getI32Type();
        Value q = ivs.back();
        SmallVector<Value> wordLanes, shifts;
        for (auto [slice, words] :
             llvm::zip(fields.slices, decode.getDpsInputs())) {
          Value perWord = index(slice.fieldsPerWord / 4);
          shifts.push_back(arith::IndexCastOp::create(
              b, l, i32,
              arith::MulIOp::create(b, l,
                                    arith::RemUIOp::create(b, l, q, perWord),
                                    index(slice.bits))));
          wordLanes.push_back(
              readWordRow(b, l, words, slice.wordsKDim,
                          arith::DivUIOp::create(b, l, q, perWord), cols));
        }
        return quadsOfWords(b, l, wordLanes, shifts, fields);
      });
}

/// Decoded panel `decode` ([.., K, C] i8) as `quadType`, its rows
/// interleaved four at a time (see interleaveQuads) in a loop nest after
/// the decode.
static Value interleavedPanel(RewriterBase &rewriter, linalg::GenericOp decode,
                              RankedTensorType quadType) {
  Value panel = decode->getResult(0);
  int64_t cols = quadType.getDimSize(quadType.getRank() - 1) / 4;
  return storeQuadRows(
      rewriter, decode, quadType,
      [&](OpBuilder &b, Location l, ValueRange ivs) -> Value {
        SmallVector<Value> from(ivs);
        from.back() = arith::MulIOp::create(
            b, l, ivs.back(), arith::ConstantIndexOp::create(b, l, 4));
        from.push_back(arith::ConstantIndexOp::create(b, l, 0));
        Value rowsRead = vector::TransferReadOp::create(
            b, l, VectorType::get({4, cols}, b.getI8Type()), panel, from,
            arith::ConstantIntOp::create(b, l, b.getI8Type(), 0),
            SmallVector<bool>{true, true});
        return interleaveQuads(b, l, rowsRead);
      });
}

/// `panel` ([.., K, C] i8, K rows of C columns) stored quad by quad, as
/// quad dot blocks read it: `[.., K / 4, 4 * C]`, element (.., q, 4j + t)
/// being panel[.., 4q + t, j]. A constant is stored so at compile time. A
/// panel decoded in the loops (of more than one K step, read by the M
/// blocks after it) is stored so once after its decode, every M block then
/// reading it with no shuffles: straight from the words for byte-quad
/// fields, else by interleaving the decoded rows (a panel of at most
/// `panels.maxDecodedBytes`). Null for anything else. One copy for each
/// panel, kept in `panels`.
static Value storedQuads(RewriterBase &rewriter, Value panel,
                         QuadPanels &panels) {
  if (Value copy = panels.copies.lookup(panel))
    return copy;
  auto type = dyn_cast<RankedTensorType>(panel.getType());
  if (!type || !type.hasStaticShape() || type.getRank() < 2 ||
      !type.getElementType().isInteger(8))
    return {};
  int64_t rank = type.getRank(), rows = type.getDimSize(rank - 2),
          cols = type.getDimSize(rank - 1);
  if (rows % 4 != 0)
    return {};
  SmallVector<int64_t> shape(type.getShape());
  shape[rank - 2] = rows / 4;
  shape[rank - 1] = 4 * cols;
  auto quadType = RankedTensorType::get(shape, type.getElementType());
  Value copy;
  auto decode = panel.getDefiningOp<linalg::GenericOp>();
  if (auto cst = panel.getDefiningOp<arith::ConstantOp>()) {
    copy = quadsOfConstant(rewriter, cst, quadType);
  } else if (decode && decode->hasAttr(kFusedDecodeAttr) && rows > 4) {
    if (std::optional<QuadFields> fields = fieldsByColumn(decode, cols))
      copy = quadsOfFieldPanel(rewriter, decode, *fields, quadType);
    else if (type.getNumElements() <= panels.maxDecodedBytes)
      copy = interleavedPanel(rewriter, decode, quadType);
  }
  if (copy)
    panels.copies[panel] = copy;
  return copy;
}

/// The K step of a quad dot block's right-hand operand `b` ([4, C] i8) as
/// byte quads read from the stored quads of the panel it is sliced from
/// (see storedQuads): the panel's last two dims are `b`'s, `b` spans all C
/// columns and starts at a K row that is a multiple of 4. Null otherwise.
static Value readStoredQuads(RewriterBase &rewriter, linalg::GenericOp op,
                             QuadPanels &panels) {
  Location loc = op.getLoc();
  Value b = op.getDpsInputs()[1];
  std::optional<SliceOrigin> origin = traceSlices(b);
  auto rootType =
      origin ? dyn_cast<RankedTensorType>(origin->root.getType()) : nullptr;
  if (!rootType || !rootType.hasStaticShape())
    return {};
  int64_t rank = rootType.getRank();
  int64_t cols = cast<RankedTensorType>(b.getType()).getDimSize(1);
  if (rank < 2 || origin->dims[0] != rank - 2 || origin->dims[1] != rank - 1 ||
      rootType.getDimSize(rank - 1) != cols ||
      !origin->offsets[rank - 1].empty() ||
      !llvm::all_of(origin->offsets[rank - 2],
                    [](OpFoldResult o) { return isMultipleOf(o, 4); }))
    return {};
  Value quads = storedQuads(rewriter, origin->root, panels);
  if (!quads)
    return {};
  rewriter.setInsertionPoint(op);
  SmallVector<Value> indices;
  for (ArrayRef<OpFoldResult> summands : origin->offsets)
    indices.push_back(sumOfOffsets(rewriter, loc, summands));
  // The K row's quad row; the quads start at column 0.
  indices[rank - 2] =
      arith::DivUIOp::create(rewriter, loc, indices[rank - 2],
                             arith::ConstantIndexOp::create(rewriter, loc, 4));
  return vector::TransferReadOp::create(
      rewriter, loc, VectorType::get({4 * cols}, rewriter.getI8Type()), quads,
      indices,
      arith::ConstantIntOp::create(rewriter, loc, rewriter.getI8Type(), 0),
      SmallVector<bool>{true});
}

/// B's K steps of quad dot block `op` (K rows, a multiple of 4) as byte
/// quads, one vector per step of 4 rows, computed straight from the words
/// of the byte-quad field decode fused into the block (see fieldsByColumn,
/// quadsOfWords). Where the block's K offset k (traced from A's slices,
/// whose root must span the contraction's whole K) is a multiple of every
/// slice's fields per word F, step j's quads are from word row 4j / F of
/// the slice's tile at i = (4j mod F) / 4, constants; a block of one step
/// otherwise takes i = (k mod F) / 4. Empty where `op` does not read such a
/// decode.
static SmallVector<Value> quadsFromFields(RewriterBase &rewriter,
                                          linalg::GenericOp op) {
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t cols = ranges[1], rows = ranges[2];
  // B: the whole of the decode of the block, [1.., K, cols].
  std::optional<SliceOrigin> b = traceSlices(op.getDpsInputs()[1]);
  auto decode = b ? b->root.getDefiningOp<linalg::GenericOp>() : nullptr;
  std::optional<QuadFields> fields =
      decode ? fieldsByColumn(decode, cols) : std::nullopt;
  if (!fields)
    return {};
  auto outType = cast<RankedTensorType>(decode->getResult(0).getType());
  int64_t rank = outType.getRank();
  if (outType.getDimSize(rank - 2) != rows ||
      b->dims != ArrayRef<unsigned>{unsigned(rank - 2), unsigned(rank - 1)} ||
      llvm::any_of(b->offsets, [](auto &o) { return !o.empty(); }))
    return {};
  // The block's K offset: where A's K block starts in A's root.
  auto totalK = decode->getAttrOfType<IntegerAttr>(kQuadFieldsKAttr);
  std::optional<SliceOrigin> a = traceSlices(op.getDpsInputs()[0]);
  auto aRoot = a ? dyn_cast<RankedTensorType>(a->root.getType()) : nullptr;
  unsigned aK = a ? a->dims[1] : 0;
  if (!aRoot || aRoot.isDynamicDim(aK) ||
      aRoot.getDimSize(aK) != totalK.getInt() ||
      !llvm::all_of(a->offsets[aK],
                    [](OpFoldResult o) { return isMultipleOf(o, 4); }))
    return {};
  int64_t widest = 4;
  for (const QuadSlice &slice : fields->slices)
    widest = std::max(widest, slice.fieldsPerWord);
  bool aligned = llvm::all_of(
      a->offsets[aK], [&](OpFoldResult o) { return isMultipleOf(o, widest); });
  if (!aligned && rows != 4)
    return {};
  rewriter.setInsertionPoint(op);
  Type i32 = rewriter.getI32Type();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  Value blockK = sumOfOffsets(rewriter, loc, a->offsets[aK]);
  SmallVector<Value> steps;
  for (int64_t first = 0; first < rows; first += 4) {
    SmallVector<Value> wordLanes, shifts;
    for (auto [slice, words] :
         llvm::zip(fields->slices, decode.getDpsInputs())) {
      Value quad;
      if (aligned)
        quad = index(first % slice.fieldsPerWord / 4);
      else
        quad = arith::DivUIOp::create(
            rewriter, loc,
            arith::RemUIOp::create(rewriter, loc, blockK,
                                   index(slice.fieldsPerWord)),
            index(4));
      shifts.push_back(arith::IndexCastOp::create(
          rewriter, loc, i32,
          arith::MulIOp::create(rewriter, loc, quad, index(slice.bits))));
      wordLanes.push_back(readWordRow(rewriter, loc, words, slice.wordsKDim,
                                      index(first / slice.fieldsPerWord),
                                      cols));
    }
    steps.push_back(quadsOfWords(rewriter, loc, wordLanes, shifts, *fields));
  }
  return steps;
}

/// Replaces the block `op`, C[m, n] += extsi(A[m, k]) * extui(B[k, n])
/// with K a multiple of 4 and N a multiple of 16, by vpdpbusd quad dot
/// products, a K step of 4 at a time: lane j adds A[m, 4s..4s+3] .
/// B[4s..4s+3, j], B's four rows as byte quads (two 16-column registers per
/// 32 columns): straight from the words of a byte-quad field decode (see
/// quadsFromFields), read as such from a panel stored quad by quad (see
/// storedQuads, one copy per panel in `panels`; blocks of one step), else
/// interleaved here. A's quad is broadcast. With `vnni`, `qopt.x86.vpdpbusd`
/// on registers of `registerColumns` (16) columns; else
/// `qopt.x86.pmaddubsw`, then `qopt.x86.pmaddwd` with ones and an add
/// (exact for weights below 128).
static void emitQuadDotBlock(RewriterBase &rewriter, linalg::GenericOp op,
                             QuadPanels &panels, int64_t registerColumns,
                             bool vnni) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t rows = ranges[0], cols = ranges[1], depth = ranges[2];
  Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
  // Each row's quads (A[m, 4s..4s+3]) as i32s to broadcast.
  Value aQuads = vector::BitCastOp::create(
      rewriter, loc, VectorType::get({rows, depth / 4}, i32),
      readBlock(rewriter, loc, op.getDpsInputs()[0], {rows, depth}, i8));
  Value acc = readBlock(rewriter, loc, op.getDpsInits()[0], {rows, cols}, i32);
  // (A decode whose words give the quads is left dead, for canonicalization.)
  SmallVector<Value> quads = quadsFromFields(rewriter, op);
  if (quads.empty() && depth == 4)
    if (Value stored = readStoredQuads(rewriter, op, panels))
      quads.push_back(stored);
  rewriter.setInsertionPoint(op);
  if (quads.empty()) {
    Value b = readBlock(rewriter, loc, op.getDpsInputs()[1], {depth, cols}, i8);
    for (int64_t first = 0; first < depth; first += 4)
      quads.push_back(interleaveQuads(
          rewriter, loc,
          vector::ExtractStridedSliceOp::create(rewriter, loc, b, {first, 0},
                                                {4, cols}, {1, 1})));
  }
  auto operandType = VectorType::get({4 * registerColumns}, i8);
  auto pairType = VectorType::get({2 * registerColumns}, rewriter.getI16Type());
  Value ones =
      vnni ? Value()
           : arith::ConstantOp::create(
                 rewriter, loc, DenseElementsAttr::get(pairType, APInt(16, 1)))
                 .getResult();
  accumulateRows(rewriter, op, acc, aQuads, quads, operandType,
                 [&](Value lanes, Value aBroadcast, Value bPart) -> Value {
                   if (vnni)
                     return qopt::X86VpdpbusdOp::create(rewriter, loc,
                                                        lanes.getType(), lanes,
                                                        bPart, aBroadcast);
                   // Unsigned weights below 128: the i16 pair sums are exact.
                   Value pairs = qopt::X86PmaddubswOp::create(
                       rewriter, loc, pairType, bPart, aBroadcast);
                   Value quadSums = qopt::X86PmaddwdOp::create(
                       rewriter, loc, lanes.getType(), pairs, ones);
                   return arith::AddIOp::create(rewriter, loc, lanes, quadSums);
                 });
}

/// Replaces the int8 matmul `op` by one with its maps and loops reading
/// `lhs`, `rhs` and `init`: C + extsi(A) * extsi(B) (extui(B) with
/// `unsignedB`).
static linalg::LinalgOp replaceWithIntegerMatmul(RewriterBase &rewriter,
                                                 linalg::GenericOp op,
                                                 Value lhs, Value rhs,
                                                 Value init, bool unsignedB) {
  Type i32 = rewriter.getI32Type();
  rewriter.setInsertionPoint(op);
  auto matmul = linalg::GenericOp::create(
      rewriter, op.getLoc(), op.getResultTypes(), ValueRange{lhs, rhs},
      ValueRange{init}, op.getIndexingMapsArray(), op.getIteratorTypesArray(),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value a = arith::ExtSIOp::create(b, l, i32, args[0]);
        Value w = unsignedB
                      ? arith::ExtUIOp::create(b, l, i32, args[1]).getResult()
                      : arith::ExtSIOp::create(b, l, i32, args[1]).getResult();
        Value product = arith::MulIOp::create(b, l, a, w);
        linalg::YieldOp::create(
            b, l, arith::AddIOp::create(b, l, args[2], product).getResult());
      });
  rewriter.replaceOp(op, matmul->getResults());
  return cast<linalg::LinalgOp>(matmul.getOperation());
}

/// `op`, an int8 matmul that will become pair dot products (see
/// suitsPairDot), reading its left-hand operand sign-extended to i16 by an
/// elementwise op before it: every N block reads each row's K pair as one
/// i32 to broadcast (a broadcast load), where it would sign-extend the
/// same two bytes again once per N block. Other ops are returned as they
/// are.
static linalg::LinalgOp widenPairDotActivations(RewriterBase &rewriter,
                                                linalg::LinalgOp op) {
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || failed(dims) || !suitsPairDot(op, *dims))
    return op;
  Value lhs = generic.getDpsInputs()[0];
  auto lhsType = dyn_cast<RankedTensorType>(lhs.getType());
  if (!lhsType || !lhsType.getElementType().isInteger(8))
    return op;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Type i16 = rewriter.getI16Type();
  Value empty = tensor::EmptyOp::create(
      rewriter, loc, tensor::getMixedSizes(rewriter, loc, lhs), i16);
  AffineMap identity = rewriter.getMultiDimIdentityMap(lhsType.getRank());
  SmallVector<utils::IteratorType> parallel(lhsType.getRank(),
                                            utils::IteratorType::parallel);
  Value wide =
      linalg::GenericOp::create(
          rewriter, loc, empty.getType(), ValueRange{lhs}, ValueRange{empty},
          ArrayRef<AffineMap>{identity, identity}, parallel,
          [&](OpBuilder &b, Location l, ValueRange args) {
            linalg::YieldOp::create(
                b, l, arith::ExtSIOp::create(b, l, i16, args[0]).getResult());
          })
          .getResult(0);
  return replaceWithIntegerMatmul(rewriter, generic, wide,
                                  generic.getDpsInputs()[1],
                                  generic.getDpsInits()[0],
                                  /*unsignedB=*/false);
}

/// The input of contraction `op` that is its right-hand operand: read with
/// some N dim and no M dim.
static OpOperand *rightHandOperand(linalg::LinalgOp op,
                                   const linalg::ContractionDimensions &dims) {
  for (OpOperand *operand : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(operand);
    auto uses = [&](ArrayRef<unsigned> ds) {
      return llvm::any_of(ds,
                          [&](unsigned d) { return map.isFunctionOfDim(d); });
    };
    if (!uses(dims.m) && uses(dims.n))
      return operand;
  }
  return nullptr;
}

/// How many K steps of 4 a quad dot block of contraction `op` (dims
/// `dims`) takes at once: where its weights are a decode of byte-quad
/// fields made unsigned (see offsetWeightsForQuadDot) that the block will
/// fuse (read by nothing else), as many as the word of its narrowest slice
/// holds (F / 4), so the block reads each word once and takes its quads
/// with constant shifts (see quadsFromFields); 1 otherwise, or where that
/// many steps do not divide K.
static int64_t quadStepsPerBlock(linalg::LinalgOp op,
                                 const linalg::ContractionDimensions &dims) {
  OpOperand *rhs = rightHandOperand(op, dims);
  auto decode = rhs ? rhs->get().getDefiningOp<linalg::GenericOp>() : nullptr;
  if (!decode || !decode->hasAttr(kFusedDecodeAttr) ||
      !decode->hasAttr(kQuadFieldsKAttr) || !decode->hasOneUse())
    return 1;
  std::optional<QuadFields> fields = byteQuadFields(decode, /*offset=*/true);
  if (!fields)
    return 1;
  int64_t steps = 1;
  for (const QuadSlice &slice : fields->slices)
    steps = std::max(steps, slice.fieldsPerWord / 4);
  int64_t k = op.getStaticLoopRanges()[dims.k.front()];
  return ShapedType::isDynamic(k) || k % (4 * steps) != 0 ? 1 : steps;
}

/// The elementwise generic that computes `value` from constants alone (a
/// weight decode: bit planes or packed integers and scales to the values
/// the contraction multiplies), read by nothing else; or null.
static linalg::GenericOp constantDecode(Value value) {
  auto producer = value.getDefiningOp<linalg::GenericOp>();
  if (!producer || producer->getNumResults() != 1 ||
      !producer.hasPureTensorSemantics() ||
      producer.getNumReductionLoops() != 0 || !value.hasOneUse() ||
      !producer.getIndexingMapsArray().back().isIdentity() ||
      producer.payloadUsesValueFromOperand(producer.getDpsInitOperand(0)))
    return {};
  for (Value input : producer.getDpsInputs())
    if (!matchPattern(input, m_Constant()))
      return {};
  return producer;
}

/// The value of constant i8 tensor `value` with each byte's top bit flipped
/// (b + 128 as an unsigned byte), or null where `value` is not such a
/// constant read once.
static TypedAttr flippedConstant(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  auto cst = value.getDefiningOp<arith::ConstantOp>();
  if (!type || !type.getElementType().isInteger(8) || !value.hasOneUse() ||
      !cst)
    return {};
  if (auto dense = dyn_cast<DenseIntElementsAttr>(cst.getValue()))
    return dense.mapValues(type.getElementType(),
                           [](const APInt &v) { return v ^ APInt(8, 0x80); });
  size_t elemBytes;
  std::optional<ArrayRef<char>> data =
      qopt::rawElements(cst.getValue(), type, elemBytes);
  if (!data)
    return {};
  std::vector<char> bytes(data->begin(), data->end());
  for (char &byte : bytes)
    byte = static_cast<char>(static_cast<unsigned char>(byte) ^ 0x80u);
  return qopt::elementsLike(cst.getValue(), type, bytes, "quad_dot_weights");
}

/// Gives weight decode `decode` (of i8, see constantDecode) `offset(value)`
/// before its yield, in place of the value it yielded.
static void offsetDecodedBytes(
    RewriterBase &rewriter, linalg::GenericOp decode,
    llvm::function_ref<Value(OpBuilder &, Location, Value)> offset) {
  auto yield = cast<linalg::YieldOp>(decode.getBody()->getTerminator());
  rewriter.setInsertionPoint(yield);
  Value offsetValue = offset(rewriter, yield.getLoc(), yield.getOperand(0));
  rewriter.modifyOpInPlace(yield, [&] { yield->setOperand(0, offsetValue); });
}

/// `init` - 2^shift * (the sum over K of the left-hand operand `lhs` of
/// contraction `op`), for each output element: what the quad dot products
/// of weights read with an offset of 2^shift (offsetWeightsForQuadDot) add
/// beyond the product. The sums are one pass
/// over the activations, then one over the output, not over M x N x K.
static Value subtractOffsetSums(RewriterBase &rewriter, linalg::GenericOp op,
                                const linalg::ContractionDimensions &dims,
                                OpOperand *lhs, int64_t shift) {
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  OpOperand *initOperand = op.getDpsInitOperand(0);
  Value init = initOperand->get();
  auto initType = cast<RankedTensorType>(init.getType());
  AffineMap initMap = op.getMatchingIndexingMap(initOperand);
  AffineMap lhsMap = op.getMatchingIndexingMap(lhs);
  if (!initMap.isProjectedPermutation())
    return {};
  // The loops but N, renumbered.
  unsigned numLoops = op.getNumLoops();
  SmallVector<AffineExpr> renumbered(numLoops, getAffineConstantExpr(0, ctx));
  SmallVector<utils::IteratorType> iterators;
  for (unsigned d = 0, next = 0; d < numLoops; ++d) {
    if (llvm::is_contained(dims.n, d))
      continue;
    renumbered[d] = getAffineDimExpr(next++, ctx);
    iterators.push_back(op.getIteratorTypesArray()[d]);
  }
  // The sums have the output's dims but N.
  SmallVector<int64_t> sumShape;
  SmallVector<Value> sumDynamic;
  SmallVector<AffineExpr> sumResults, sumOfOutput;
  rewriter.setInsertionPoint(op);
  for (unsigned pos = 0; pos < initMap.getNumResults(); ++pos) {
    unsigned d = cast<AffineDimExpr>(initMap.getResult(pos)).getPosition();
    if (llvm::is_contained(dims.n, d))
      continue;
    sumShape.push_back(initType.getDimSize(pos));
    if (initType.isDynamicDim(pos))
      sumDynamic.push_back(tensor::DimOp::create(rewriter, loc, init, pos));
    sumResults.push_back(renumbered[d]);
    sumOfOutput.push_back(getAffineDimExpr(pos, ctx));
  }
  Type i32 = rewriter.getI32Type();
  auto sumType = RankedTensorType::get(sumShape, i32);
  Value sums =
      linalg::FillOp::create(
          rewriter, loc,
          ValueRange{arith::ConstantIntOp::create(rewriter, loc, i32, 0)},
          ValueRange{
              tensor::EmptyOp::create(rewriter, loc, sumType, sumDynamic)})
          .getResult(0);
  unsigned sumLoops = iterators.size();
  sums = linalg::GenericOp::create(
             rewriter, loc, sumType, ValueRange{lhs->get()}, ValueRange{sums},
             ArrayRef<AffineMap>{
                 AffineMap::get(sumLoops, 0,
                                llvm::map_to_vector(lhsMap.getResults(),
                                                    [&](AffineExpr e) {
                                                      return e.replaceDims(
                                                          renumbered);
                                                    }),
                                ctx),
                 AffineMap::get(sumLoops, 0, sumResults, ctx)},
             iterators,
             [&](OpBuilder &b, Location l, ValueRange args) {
               Value a = arith::ExtSIOp::create(b, l, i32, args[0]);
               linalg::YieldOp::create(
                   b, l, arith::AddIOp::create(b, l, args[1], a).getResult());
             })
             .getResult(0);
  unsigned rank = initType.getRank();
  return linalg::GenericOp::create(
             rewriter, loc, initType, ValueRange{sums}, ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::get(rank, 0, sumOfOutput, ctx),
                                 rewriter.getMultiDimIdentityMap(rank)},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &b, Location l, ValueRange args) {
               Value offset = arith::ShLIOp::create(
                   b, l, args[0],
                   arith::ConstantIntOp::create(b, l, i32, shift));
               linalg::YieldOp::create(
                   b, l,
                   arith::SubIOp::create(b, l, args[1], offset).getResult());
             })
      .getResult(0);
}

/// `op`, an int8 matmul of signed activations and weights that quad dot
/// products suit (K a multiple of 4), rewritten for vpdpbusd, which
/// multiplies unsigned by signed bytes: the weights read as unsigned bytes
/// with an offset of 2^s, the accumulator started at init - 2^s *
/// sum_k A[m, k], so the sum lands on init + sum_k A B exactly (all in
/// i32). A decode of signed byte-quad fields (see byteQuadFields) yields
/// q + 2^(B - 1) (its fields' top bits flipped), so the blocks take the
/// quads straight from its words (quadsFromFields, quadsOfFieldPanel); a
/// constant is read as B + 128 (flipped at compile time); another decode
/// of i8 as B + 128 (an xor), unless it is `decodedInRegisters` (built in
/// the block's K loop, where pair dot products build their pairs from its
/// lanes). Other ops are returned as they are.
static linalg::LinalgOp offsetWeightsForQuadDot(RewriterBase &rewriter,
                                                linalg::LinalgOp op,
                                                bool decodedInRegisters,
                                                bool fieldsOnly) {
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic || failed(dims) || !suitsPairDot(op, *dims, /*kStep=*/4) ||
      !getElementTypeOrSelf(generic.getDpsInputs()[0].getType()).isInteger(8))
    return op;
  OpOperand *lhs = generic.getDpsInputOperand(0);
  Value weights = generic.getDpsInputs()[1];
  linalg::GenericOp decode = constantDecode(weights);
  std::optional<QuadFields> fields =
      decode ? byteQuadFields(decode, /*offset=*/false) : std::nullopt;
  // pmaddubsw's i16 pair sums are exact for weights below 128 only.
  if (fieldsOnly && (!fields || fields->bits > 7))
    return op;
  TypedAttr flipped = decode ? TypedAttr() : flippedConstant(weights);
  if (!fields && !flipped &&
      (!decode || decodedInRegisters ||
       !getElementTypeOrSelf(weights.getType()).isInteger(8)))
    return op;
  int64_t shift = fields ? fields->bits - 1 : 7;
  Value init = subtractOffsetSums(rewriter, generic, *dims, lhs, shift);
  if (!init)
    return op;
  if (flipped) {
    Operation *cst = weights.getDefiningOp();
    rewriter.setInsertionPoint(cst);
    weights = arith::ConstantOp::create(rewriter, cst->getLoc(), flipped);
    rewriter.replaceOp(cst, weights);
  } else {
    offsetDecodedBytes(rewriter, decode,
                       [&](OpBuilder &b, Location l, Value value) -> Value {
                         Value offset = arith::ConstantIntOp::create(
                             b, l, b.getI8Type(), int64_t(1) << shift);
                         if (fields)
                           return arith::AddIOp::create(b, l, value, offset);
                         return arith::XOrIOp::create(b, l, value, offset);
                       });
    if (fields)
      decode->setAttr(kQuadFieldsKAttr,
                      rewriter.getI64IntegerAttr(
                          op.getStaticLoopRanges()[dims->k.front()]));
  }
  return replaceWithIntegerMatmul(rewriter, generic, lhs->get(), weights, init,
                                  /*unsignedB=*/true);
}

/// Versions contraction `op` of a decoded constant weight (`decode`, its
/// right-hand operand `rhs`) whose only dynamic loop is M dim `row`: when
/// that M is 1 at run time, a copy with a static M of 1 runs instead, whose
/// single row fits a register block, so the block's K loop decodes each
/// step in registers rather than writing a panel for the rows to read (one
/// token at a time is how an LM generates). Both copies sum in the same
/// order. Returns the contractions of the two branches, or `op` alone.
static SmallVector<linalg::LinalgOp>
versionSingleRow(RewriterBase &rewriter, linalg::LinalgOp op, OpOperand *rhs,
                 linalg::GenericOp decode, unsigned row) {
  Location loc = op.getLoc();
  AffineExpr rowExpr = getAffineDimExpr(row, op.getContext());
  // The operands' dims that are the row loop; every other dim static.
  Value rows;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    if (!type)
      return {op};
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (unsigned i = 0; i < map.getNumResults(); ++i) {
      bool isRow = map.getResult(i) == rowExpr;
      if (!isRow && type.isDynamicDim(i))
        return {op};
      if (isRow && !rows) {
        rewriter.setInsertionPoint(op);
        rows = tensor::DimOp::create(rewriter, loc, operand.get(), i);
      }
    }
  }
  if (!rows)
    return {op};
  Value isOne =
      arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, rows,
                            arith::ConstantIndexOp::create(rewriter, loc, 1));
  // Each branch decodes its own copy of the weights: a decode with one
  // use is what the tiling fuses into the contraction's loops.
  SmallVector<OpFoldResult> initOffsets, initSizes, initStrides;
  auto copy = [&](OpBuilder &b, bool singleRow) -> linalg::LinalgOp {
    SmallVector<Value> operands;
    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      if (&operand == rhs) {
        value = b.clone(*decode)->getResult(0);
      } else if (singleRow) {
        auto type = cast<RankedTensorType>(value.getType());
        AffineMap map = op.getMatchingIndexingMap(&operand);
        SmallVector<OpFoldResult> offsets, sizes, strides;
        for (unsigned i = 0; i < map.getNumResults(); ++i) {
          offsets.push_back(b.getIndexAttr(0));
          sizes.push_back(b.getIndexAttr(
              map.getResult(i) == rowExpr ? 1 : type.getDimSize(i)));
          strides.push_back(b.getIndexAttr(1));
        }
        value = tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes,
                                               strides);
        if (op.isDpsInit(&operand)) {
          initOffsets = offsets;
          initSizes = sizes;
          initStrides = strides;
        }
      }
      operands.push_back(value);
    }
    Value init = operands[op.getDpsInitOperand(0)->getOperandNumber()];
    return mlir::clone(b, op, TypeRange{init.getType()}, operands);
  };
  linalg::LinalgOp single, general;
  auto ifOp = scf::IfOp::create(
      rewriter, loc, isOne,
      [&](OpBuilder &b, Location l) {
        single = copy(b, /*singleRow=*/true);
        // Written back into the init (the same buffer, in place), so both
        // branches yield a dense row-major tensor.
        scf::YieldOp::create(
            b, l,
            tensor::InsertSliceOp::create(b, l, single->getResult(0),
                                          op.getDpsInits()[0], initOffsets,
                                          initSizes, initStrides)
                .getResult());
      },
      [&](OpBuilder &b, Location l) {
        general = copy(b, /*singleRow=*/false);
        scf::YieldOp::create(b, l, general->getResult(0));
      });
  rewriter.replaceOp(op, ifOp.getResults());
  rewriter.eraseOp(decode);
  return {single, general};
}

/// True when tiling `producer` with `steps` (one per loop; 0 = untiled)
/// computes what the op does. A tile applies the op's indexing maps to
/// tile-local dims with its operands sliced at the maps' values at the tile
/// offset, which for `d floordiv c` and `d mod c` is exact when no tile
/// straddles a multiple of c differently from its offset: when the step is
/// a multiple or a divisor of c.
static bool tilingKeepsMaps(linalg::GenericOp producer,
                            ArrayRef<int64_t> steps) {
  auto tiled = [&](AffineExpr e) {
    for (unsigned d = 0; d < steps.size(); ++d)
      if (steps[d] > 1 && e.isFunctionOfDim(d))
        return true;
    return false;
  };
  bool exact = true;
  for (AffineMap map : producer.getIndexingMapsArray())
    for (AffineExpr result : map.getResults())
      result.walk([&](AffineExpr e) {
        auto binary = dyn_cast<AffineBinaryOpExpr>(e);
        if (!binary || e.getKind() == AffineExprKind::Add ||
            e.getKind() == AffineExprKind::Mul || !tiled(e))
          return;
        auto dim = dyn_cast<AffineDimExpr>(binary.getLHS());
        auto divisor = dyn_cast<AffineConstantExpr>(binary.getRHS());
        if (e.getKind() == AffineExprKind::CeilDiv || !dim || !divisor ||
            divisor.getValue() <= 0) {
          exact = false;
          return;
        }
        int64_t step = steps[dim.getPosition()], c = divisor.getValue();
        exact &= step % c == 0 || c % step == 0;
      });
  return exact;
}

/// The steps of the loops of `producer` (which writes, with an identity
/// map, operand `operand` of `consumer`) when `consumer` is tiled by
/// `consumerSteps`.
static SmallVector<int64_t> producerSteps(linalg::LinalgOp consumer,
                                          OpOperand *operand,
                                          ArrayRef<int64_t> consumerSteps) {
  AffineMap map = consumer.getMatchingIndexingMap(operand);
  SmallVector<int64_t> steps;
  for (AffineExpr e : map.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(e);
    steps.push_back(dim ? consumerSteps[dim.getPosition()] : 0);
  }
  return steps;
}

/// Replaces `slice` of the result of `producer` by the tile of `producer`
/// it reads, computed where the slice is; the tile is marked as a fused
/// decode. Returns the tile's value, or null where it cannot.
static Value fuseIntoSlice(RewriterBase &rewriter, tensor::ExtractSliceOp slice,
                           linalg::GenericOp producer) {
  rewriter.setInsertionPoint(slice);
  FailureOr<TilingResult> fused = tensor::replaceExtractSliceWithTiledProducer(
      rewriter, slice, cast<OpResult>(producer->getResult(0)));
  if (failed(fused) || fused->tiledValues.size() != 1 ||
      fused->tiledValues[0].getType() != slice.getType())
    return {};
  for (Operation *op : fused->tiledOps) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic)
      continue;
    generic->setAttr(kFusedDecodeAttr, rewriter.getUnitAttr());
    // A tile of its own, not a slice of the whole decode's tensor: the
    // panel is a small buffer, the whole decode never allocated.
    OpOperand *init = generic.getDpsInitOperand(0);
    auto slice = init->get().getDefiningOp<tensor::ExtractSliceOp>();
    if (slice && slice.getSource().getDefiningOp<tensor::EmptyOp>()) {
      rewriter.setInsertionPoint(generic);
      Value empty = tensor::EmptyOp::create(
          rewriter, generic.getLoc(), slice.getMixedSizes(),
          getElementTypeOrSelf(slice.getType()));
      if (empty.getType() == init->get().getType())
        rewriter.modifyOpInPlace(generic, [&] { init->set(empty); });
    }
  }
  Value tile = fused->tiledValues[0];
  rewriter.replaceOp(slice, tile);
  if (producer->use_empty())
    rewriter.eraseOp(producer);
  return tile;
}

/// Replaces `slice` of the result of `producer` (`steps`: the slice's size
/// along each of the producer's loops, 0 where it is whole) by tiles of
/// one row each along the single dim stepped by more than one, inserted
/// into a tensor of the slice's shape: for a K step whose rows one tile
/// would not decode exactly (a pair of rows of 6-bit fields, five a word,
/// can straddle two words) but each row does. At most
/// kUnrolledDecodeRows rows.
static bool fuseRowsIntoSlice(RewriterBase &rewriter,
                              tensor::ExtractSliceOp slice,
                              linalg::GenericOp producer,
                              ArrayRef<int64_t> steps) {
  auto type = slice.getType();
  if (!type.hasStaticShape() ||
      type.getRank() != slice.getSourceType().getRank() ||
      !slice.hasUnitStride())
    return false;
  std::optional<unsigned> rowDim;
  for (unsigned d = 0; d < steps.size(); ++d) {
    if (steps[d] <= 1)
      continue;
    if (rowDim)
      return false;
    rowDim = d;
  }
  if (!rowDim || type.getDimSize(*rowDim) != steps[*rowDim] ||
      steps[*rowDim] > kUnrolledDecodeRows)
    return false;
  SmallVector<int64_t> rowSteps(steps);
  rowSteps[*rowDim] = 1;
  if (!tilingKeepsMaps(producer, rowSteps))
    return false;
  Location loc = slice.getLoc();
  rewriter.setInsertionPoint(slice);
  Value rows = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                       type.getElementType());
  SmallVector<OpFoldResult> offsets = slice.getMixedOffsets();
  SmallVector<OpFoldResult> sizes = slice.getMixedSizes();
  SmallVector<OpFoldResult> strides = slice.getMixedStrides();
  sizes[*rowDim] = rewriter.getIndexAttr(1);
  OpFoldResult first = offsets[*rowDim];
  AffineExpr s0 = getAffineSymbolExpr(0, rewriter.getContext());
  for (int64_t r = 0; r < type.getDimSize(*rowDim); ++r) {
    rewriter.setInsertionPoint(slice);
    offsets[*rowDim] = affine::makeComposedFoldedAffineApply(
        rewriter, loc, s0 + r, ArrayRef<OpFoldResult>{first});
    auto rowSlice = tensor::ExtractSliceOp::create(
        rewriter, loc, slice.getSource(), offsets, sizes, strides);
    Value row = fuseIntoSlice(rewriter, rowSlice, producer);
    if (!row)
      return false;
    SmallVector<OpFoldResult> at(type.getRank(), rewriter.getIndexAttr(0));
    at[*rowDim] = rewriter.getIndexAttr(r);
    rewriter.setInsertionPoint(slice);
    rows = tensor::InsertSliceOp::create(rewriter, loc, row, rows, at, sizes,
                                         strides);
  }
  rewriter.replaceOp(slice, rows);
  if (producer->use_empty())
    rewriter.eraseOp(producer);
  return true;
}

/// `op` without its unit loops (but those in `kept`), operands
/// rank-reduced through slices; `op` itself where there is none to drop.
static linalg::GenericOp dropUnitLoops(RewriterBase &rewriter,
                                       linalg::GenericOp op,
                                       ArrayRef<unsigned> kept = {}) {
  linalg::ControlDropUnitDims options;
  options.rankReductionStrategy =
      linalg::ControlDropUnitDims::RankReductionStrategy::ExtractInsertSlice;
  if (!kept.empty()) {
    unsigned numLoops = op.getNumLoops();
    options.controlFn = [=](Operation *) {
      SmallVector<unsigned> droppable;
      for (unsigned d = 0; d < numLoops; ++d)
        if (!llvm::is_contained(kept, d))
          droppable.push_back(d);
      return droppable;
    };
  }
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::DropUnitDimsResult> dropped =
      linalg::dropUnitDims(rewriter, op, options);
  if (failed(dropped))
    return op;
  rewriter.replaceOp(op, dropped->replacements);
  return cast<linalg::GenericOp>(dropped->resultOp.getOperation());
}

/// Reads the inputs of `op` that a static indexing map indexes with a
/// constant (`(d0) -> (1, d0)`: one bit plane of several) through a slice at
/// that index instead, so every map is a projected permutation, as the
/// vectorizer requires.
static void sliceConstantIndices(RewriterBase &rewriter, linalg::GenericOp op) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  rewriter.setInsertionPoint(op);
  bool changed = false;
  for (OpOperand *operand : op.getDpsInputOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand->get().getType());
    AffineMap map = maps[operand->getOperandNumber()];
    if (!type || !type.hasStaticShape() ||
        llvm::none_of(map.getResults(), llvm::IsaPred<AffineConstantExpr>))
      continue;
    SmallVector<OpFoldResult> offsets, sizes,
        strides(type.getRank(), rewriter.getIndexAttr(1));
    SmallVector<AffineExpr> kept;
    SmallVector<int64_t> keptShape;
    for (auto [dim, expr] : llvm::enumerate(map.getResults())) {
      if (auto constant = dyn_cast<AffineConstantExpr>(expr)) {
        offsets.push_back(rewriter.getIndexAttr(constant.getValue()));
        sizes.push_back(rewriter.getIndexAttr(1));
        continue;
      }
      offsets.push_back(rewriter.getIndexAttr(0));
      sizes.push_back(rewriter.getIndexAttr(type.getDimSize(dim)));
      kept.push_back(expr);
      keptShape.push_back(type.getDimSize(dim));
    }
    Value slice = tensor::ExtractSliceOp::create(
        rewriter, op.getLoc(),
        RankedTensorType::get(keptShape, type.getElementType()), operand->get(),
        offsets, sizes, strides);
    rewriter.modifyOpInPlace(op, [&] { operand->set(slice); });
    maps[operand->getOperandNumber()] =
        AffineMap::get(map.getNumDims(), 0, kept, op.getContext());
    changed = true;
  }
  if (changed)
    rewriter.modifyOpInPlace(op, [&] {
      op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
    });
}

/// `expr` with `d floordiv c` replaced by 0 and `d mod c` by d where the
/// loop d runs over fewer than c values (`ranges`, from 0).
static AffineExpr simplifyBounded(AffineExpr expr, ArrayRef<int64_t> ranges) {
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return expr;
  AffineExpr lhs = simplifyBounded(binary.getLHS(), ranges);
  AffineExpr rhs = simplifyBounded(binary.getRHS(), ranges);
  auto dim = dyn_cast<AffineDimExpr>(lhs);
  auto divisor = dyn_cast<AffineConstantExpr>(rhs);
  if (dim && divisor && ranges[dim.getPosition()] != ShapedType::kDynamic &&
      ranges[dim.getPosition()] <= divisor.getValue()) {
    if (expr.getKind() == AffineExprKind::FloorDiv)
      return getAffineConstantExpr(0, expr.getContext());
    if (expr.getKind() == AffineExprKind::Mod)
      return lhs;
  }
  return getAffineBinaryOpExpr(expr.getKind(), lhs, rhs);
}

/// Vectorizes `row`, one row of a fused decode (all its dims but the
/// innermost of size 1), as one vector.
static void vectorizeRow(RewriterBase &rewriter, linalg::GenericOp row) {
  SmallVector<int64_t> ranges = row.getStaticLoopRanges();
  // Maps the vectorizer takes: no floordiv or mod over a tile's dims (which
  // stay below the divisor), no unit dims, no constant indices.
  SmallVector<AffineMap> maps;
  for (AffineMap map : row.getIndexingMapsArray()) {
    SmallVector<AffineExpr> results;
    for (AffineExpr result : map.getResults())
      results.push_back(simplifyBounded(result, ranges));
    maps.push_back(
        AffineMap::get(map.getNumDims(), 0, results, row.getContext()));
  }
  rewriter.modifyOpInPlace(row, [&] {
    row.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
  });
  row = dropUnitLoops(rewriter, row);
  sliceConstantIndices(rewriter, row);
  rewriter.setInsertionPoint(row);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rewriter, cast<linalg::LinalgOp>(row.getOperation()));
  if (succeeded(vectorized))
    rewriter.replaceOp(row, vectorized->replacements);
}

/// Vectorizes the static elementwise `op` (a fused decode) one vector per
/// position of its outer dims: in a loop over them for a panel, unrolled
/// for the few rows of a K step of the register block, so each row's
/// index arithmetic (the shift of a bit field) stays scalar and the block
/// reads the rows' vectors in registers.
static void vectorizeRows(RewriterBase &rewriter, linalg::GenericOp op) {
  if (op.hasDynamicShape() || op.getNumLoops() == 0)
    return;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t rows = 1;
  for (int64_t range : ArrayRef(ranges).drop_back())
    rows *= range;
  if (rows == 1) {
    vectorizeRow(rewriter, op);
    return;
  }
  SmallVector<int64_t> sizes(op.getNumLoops(), 1);
  sizes.back() = 0;
  SmallVector<scf::ForOp> loops;
  linalg::LinalgOp tiled = tile(rewriter, op, sizes, &loops);
  auto row = dyn_cast_or_null<linalg::GenericOp>(tiled ? tiled.getOperation()
                                                       : nullptr);
  if (!row)
    return;
  if (rows > kUnrolledDecodeRows || loops.empty()) {
    vectorizeRow(rewriter, row);
    return;
  }
  // Unrolled, the loop's body (the row) is cloned once per row: collect the
  // clones by a mark, innermost loop first.
  constexpr llvm::StringLiteral kRowAttr = "qopt.decode_row";
  row->setAttr(kRowAttr, rewriter.getUnitAttr());
  Block *block = loops.front()->getBlock();
  for (scf::ForOp loop : llvm::reverse(loops))
    if (failed(loopUnrollFull(loop)))
      break;
  SmallVector<linalg::GenericOp> unrolled;
  for (Operation &nested : *block)
    nested.walk([&](linalg::GenericOp generic) {
      if (generic->hasAttr(kRowAttr))
        unrolled.push_back(generic);
    });
  for (linalg::GenericOp generic : unrolled) {
    generic->removeAttr(kRowAttr);
    vectorizeRow(rewriter, generic);
  }
}

/// `conv` (NCHW input, FCHW filter) as an im2col gather and a contraction
/// `out[n, f, p] += w[f, k] * col[n, k, p]` with k = (c, kh, kw) and
/// p = (oh, ow), which the register blocks take as any batched matmul.
/// The gather writes `[N, C, KH, KW, OH, OW]` (collapsed to `[N, C * KH *
/// KW, OH * OW]`) from `x[n, c, oh * sh + kh * dh, ow * sw + kw * dw]`:
/// affine indices whose innermost loop reads a row of x, which LLVM
/// vectorizes (upstream's rewriteInIm2Col indexes the flattened dims with a
/// div and a mod per element, a scalar loop). A 1 x 1 filter of stride 1
/// needs no gather: x is the column tensor. The batch may be dynamic.
static LogicalResult rewriteConvAsIm2colMatmul(RewriterBase &rewriter,
                                               linalg::Conv2DNchwFchwOp conv) {
  Value x = conv.getInputs()[0], w = conv.getInputs()[1];
  Value init = conv.getOutputs()[0];
  auto xType = cast<RankedTensorType>(x.getType());
  auto wType = cast<RankedTensorType>(w.getType());
  auto outType = cast<RankedTensorType>(init.getType());
  // Every dim but the batch static: the collapsed dims need their sizes.
  if (!wType.hasStaticShape() ||
      llvm::any_of(xType.getShape().drop_front(), ShapedType::isDynamic) ||
      llvm::any_of(outType.getShape().drop_front(), ShapedType::isDynamic))
    return failure();
  SmallVector<int64_t> strides(conv.getStrides().getValues<int64_t>());
  SmallVector<int64_t> dilations(conv.getDilations().getValues<int64_t>());
  int64_t c = xType.getDimSize(1), kh = wType.getDimSize(2),
          kw = wType.getDimSize(3);
  int64_t oh = outType.getDimSize(2), ow = outType.getDimSize(3);
  Location loc = conv.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  Type xElem = xType.getElementType();

  Value col;
  if (kh == 1 && kw == 1 && strides[0] == 1 && strides[1] == 1 &&
      xType.getDimSize(2) == oh && xType.getDimSize(3) == ow) {
    col = tensor::CollapseShapeOp::create(
        rewriter, loc, x, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  } else {
    SmallVector<OpFoldResult> colSizes = {
        tensor::getMixedSize(rewriter, loc, x, 0),
        rewriter.getIndexAttr(c),
        rewriter.getIndexAttr(kh),
        rewriter.getIndexAttr(kw),
        rewriter.getIndexAttr(oh),
        rewriter.getIndexAttr(ow)};
    Value empty = tensor::EmptyOp::create(rewriter, loc, colSizes, xElem);
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    // Loops (n, c, kh, kw, oh, ow).
    AffineMap xMap =
        AffineMap::get(6, 0,
                       {d(0), d(1), d(4) * strides[0] + d(2) * dilations[0],
                        d(5) * strides[1] + d(3) * dilations[1]},
                       ctx);
    AffineMap colMap = AffineMap::getMultiDimIdentityMap(6, ctx);
    SmallVector<utils::IteratorType> parallel(6, utils::IteratorType::parallel);
    Value col6 =
        linalg::GenericOp::create(
            rewriter, loc, empty.getType(), ValueRange{x}, ValueRange{empty},
            ArrayRef<AffineMap>{xMap, colMap}, parallel,
            [](OpBuilder &b, Location l, ValueRange args) {
              linalg::YieldOp::create(b, l, args[0]);
            })
            .getResult(0);
    col = tensor::CollapseShapeOp::create(
        rewriter, loc, col6,
        SmallVector<ReassociationIndices>{{0}, {1, 2, 3}, {4, 5}});
  }
  Value filter = tensor::CollapseShapeOp::create(
      rewriter, loc, w, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
  Value out = tensor::CollapseShapeOp::create(
      rewriter, loc, init, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});

  // Loops (n, f, p, k), the filter first: its rows are the M dim of the
  // register blocks, the output pixels their N dim. The body is the
  // conv's own (its casts and arithmetic), its input and filter arguments
  // swapped.
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {d(1), d(3)}, ctx),
                                 AffineMap::get(4, 0, {d(0), d(3), d(2)}, ctx),
                                 AffineMap::get(4, 0, {d(0), d(1), d(2)}, ctx)};
  SmallVector<utils::IteratorType> iterators = {
      utils::IteratorType::parallel, utils::IteratorType::parallel,
      utils::IteratorType::parallel, utils::IteratorType::reduction};
  Block &convBody = conv->getRegion(0).front();
  auto matmul = linalg::GenericOp::create(
      rewriter, loc, out.getType(), ValueRange{filter, col}, ValueRange{out},
      maps, iterators, [&](OpBuilder &b, Location, ValueRange args) {
        IRMapping mapping;
        mapping.map(convBody.getArgument(0), args[1]);
        mapping.map(convBody.getArgument(1), args[0]);
        mapping.map(convBody.getArgument(2), args[2]);
        for (Operation &op : convBody)
          b.clone(op, mapping);
      });
  Value result = tensor::ExpandShapeOp::create(
      rewriter, loc, outType, matmul.getResult(0),
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  rewriter.replaceOp(conv, result);
  return success();
}

struct CpuTileAndVectorizePass
    : qopt::impl::CpuTileAndVectorizeBase<CpuTileAndVectorizePass> {
  using Base::Base;

  /// The panels quad dot blocks read, during phase 2.
  QuadPanels quadPanels;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());

    if (im2col) {
      SmallVector<linalg::Conv2DNchwFchwOp> convs;
      func.walk([&](linalg::Conv2DNchwFchwOp conv) { convs.push_back(conv); });
      for (linalg::Conv2DNchwFchwOp conv : convs) {
        rewriter.setInsertionPoint(conv);
        (void)rewriteConvAsIm2colMatmul(rewriter, conv);
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
      for (linalg::LinalgOp version : versionDynamicRows(rewriter, op))
        tileIntoBlocks(rewriter, prepareInt8Blocks(rewriter, version), loops);
    for (scf::ForOp loop : loops) {
      scf::ForOp partial;
      rewriter.setInsertionPoint(loop);
      (void)scf::peelForLoopAndSimplifyBounds(rewriter, loop, partial);
    }
    // Fold the now-constant tile sizes into static types.
    canonicalize(func);

    quadPanels.maxDecodedBytes = panelBytes;
    // Phase 2: vectorize the full (static) blocks. A partial block whose
    // only dynamic dims are M rows (the rows left over by a dynamic M, all
    // of them when M is below tile-m, as in one token at a time) becomes
    // static blocks of one row each; other partial blocks stay scalar.
    for (linalg::LinalgOp op : takeMarked<linalg::LinalgOp>(func, kBlockAttr)) {
      if (op.hasDynamicShape())
        op = tileDynamicRows(rewriter, op);
      if (op && !op.hasDynamicShape())
        vectorizeBlock(rewriter, op);
    }
    quadPanels.copies.clear();

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

    // The fused decodes, one vector per row, after the above: their
    // arithmetic computes the weights exactly as the unfused decode did.
    for (linalg::GenericOp op :
         takeMarked<linalg::GenericOp>(func, kFusedDecodeAttr))
      vectorizeRows(rewriter, op);
    canonicalize(func);
    // Only there: folded elsewhere, a slice read through a transfer can
    // take a permutation map the lowering to LLVM does not handle.
    SmallVector<scf::ForOp> pairLoops =
        takeMarked<scf::ForOp>(func, kDecodedPairLoopAttr);
    if (!pairLoops.empty()) {
      FrozenRewritePatternSet folds = canonicalizationPatterns(
          func.getContext(), /*foldTensorSubsets=*/true);
      for (scf::ForOp loop : pairLoops)
        (void)applyPatternsGreedily(loop, folds);
    }
  }

  /// `op` made ready for the int8 blocks it will have (an int8 matmul, else
  /// it is returned as it is): quad dot products where the target has VNNI
  /// and the blocks read the weights from memory (a constant, or a decoded
  /// panel: a decode whose M does not fit one block) or decode them in
  /// registers from byte-quad fields, else pair dot products of widened
  /// activations.
  linalg::LinalgOp prepareInt8Blocks(RewriterBase &rewriter,
                                     linalg::LinalgOp op) {
    if (!int8Pmaddwd && !int8Pmaddubsw)
      return op;
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if ((int8Vpdpbusd || int8Pmaddubsw) && succeeded(dims)) {
      OpOperand *rhs = rightHandOperand(op, *dims);
      // One register block of rows (tileIntoBlocks tiles the last M dim
      // by tileM, the others by 1): the decode moves into its K loop.
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      unsigned lastM = dims->m.back();
      bool oneBlock = ranges[lastM] != ShapedType::kDynamic &&
                      ranges[lastM] <= tileM &&
                      llvm::all_of(ArrayRef(dims->m).drop_back(),
                                   [&](unsigned d) { return ranges[d] == 1; });
      bool decodedInRegisters =
          oneBlock && rhs && constantDecode(rhs->get()) != nullptr;
      linalg::LinalgOp quad = offsetWeightsForQuadDot(
          rewriter, op, decodedInRegisters, /*fieldsOnly=*/!int8Vpdpbusd);
      if (quad != op)
        return quad;
    }
    if (!int8Pmaddwd)
      return op;
    return widenPairDotActivations(rewriter, op);
  }

  /// `op`, or where its rows (an M dim, the only dynamic loop) may be 1 at
  /// run time and it multiplies a decoded constant weight, its copies for
  /// one row and for any number (see versionSingleRow).
  SmallVector<linalg::LinalgOp> versionDynamicRows(RewriterBase &rewriter,
                                                   linalg::LinalgOp op) {
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (failed(dims) || dims->m.empty())
      return {op};
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<unsigned> dynamic;
    for (unsigned d = 0; d < ranges.size(); ++d)
      if (ranges[d] == ShapedType::kDynamic)
        dynamic.push_back(d);
    OpOperand *rhs = rightHandOperand(op, *dims);
    linalg::GenericOp decode = rhs ? constantDecode(rhs->get()) : nullptr;
    if (!decode || dynamic.size() != 1 ||
        !llvm::is_contained(dims->m, dynamic.front()))
      return {op};
    return versionSingleRow(rewriter, op, rhs, decode, dynamic.front());
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
    // A right-hand operand decoded from constant weights is decoded where
    // it is read, a panel of kChunk x tileN at a time (see
    // decodePanelSteps), not materialized whole.
    OpOperand *rhs = rightHandOperand(op, *dims);
    linalg::GenericOp decode = rhs ? constantDecode(rhs->get()) : nullptr;
    if (decode && !decodePanelSteps(op, *dims, rhs, decode, sizes))
      decode = nullptr;
    // Any other right-hand operand is read in the same K chunks, so the
    // panel the M blocks share stays in cache however long K is (the sums
    // run over K in the same order).
    bool chunked = decode != nullptr;
    if (!decode && rhs && dims->k.size() == 1) {
      unsigned k = dims->k.front();
      int64_t range = op.getStaticLoopRanges()[k];
      int64_t rows = panelRows(rhs->get());
      if (range != ShapedType::kDynamic && range > rows) {
        sizes[k] = rows;
        chunked = true;
      }
    }
    // Loop order: batch, then N blocks outside M blocks, so a panel of
    // the right operand stays in cache while the M blocks stream past it:
    // a K chunk x tileN panel (each decoded once and read by every M block)
    // where K is chunked.
    SmallVector<int64_t> interchange;
    for (unsigned d : dims->batch)
      interchange.push_back(d);
    for (unsigned d : dims->n)
      interchange.push_back(d);
    if (chunked)
      for (unsigned d : dims->k)
        interchange.push_back(d);
    for (unsigned d : dims->m)
      interchange.push_back(d);
    for (unsigned d = 0; d < op.getNumLoops(); ++d)
      if (!llvm::is_contained(interchange, d))
        interchange.push_back(d);
    unsigned rhsIndex = rhs ? rhs->getOperandNumber() : 0;
    SmallVector<scf::ForOp> nest;
    linalg::LinalgOp tiled = tile(rewriter, op, sizes, &nest, interchange);
    loops.append(nest.begin(), nest.end());
    if (!tiled)
      return;
    tiled->setAttr(kBlockAttr, rewriter.getUnitAttr());
    if (!decode)
      return;
    // The slice of the decode each block reads depends on the N and K
    // loops only: hoist it out of the M loop and compute it there.
    auto slice =
        tiled->getOperand(rhsIndex).getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || slice.getSource() != decode->getResult(0))
      return;
    for (scf::ForOp loop : llvm::reverse(nest))
      moveLoopInvariantCode(cast<LoopLikeOpInterface>(loop.getOperation()));
    (void)fuseIntoSlice(rewriter, slice, decode);
  }

  /// Rows of K in a panel of `panel-bytes` of tileN values of `rhs`: a
  /// power of two, at least 2 (a pair-dot block steps K by 2).
  int64_t panelRows(Value rhs) {
    unsigned elementBytes = std::max<unsigned>(
        1, getElementTypeOrSelf(rhs.getType()).getIntOrFloatBitWidth() / 8);
    return std::max<int64_t>(
        2, llvm::bit_floor(static_cast<uint64_t>(
               panelBytes / std::max<int64_t>(1, tileN * elementBytes))));
  }

  /// Sets the K steps of `sizes` (the tile sizes of contraction `op`) for a
  /// decode of its right-hand operand `rhs` fused into its loops: the
  /// innermost K dim by the rows of a panel of `panel-bytes`, the
  /// other K dims by 1. False (leaving `sizes` alone) where fusion would
  /// decode a weight more than once or tiles would change what the decode
  /// computes.
  bool decodePanelSteps(linalg::LinalgOp op,
                        const linalg::ContractionDimensions &dims,
                        OpOperand *rhs, linalg::GenericOp decode,
                        SmallVectorImpl<int64_t> &sizes) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    AffineMap rhsMap = op.getMatchingIndexingMap(rhs);
    // Batch loops are outermost: a weight shared by the batch would be
    // decoded once per batch index.
    for (unsigned d : dims.batch)
      if (!rhsMap.isFunctionOfDim(d) && ranges[d] != 1)
        return false;
    int64_t rows = panelRows(rhs->get());
    SmallVector<int64_t> steps(sizes.begin(), sizes.end());
    for (unsigned d : dims.k)
      steps[d] = 1;
    unsigned k = dims.k.back();
    steps[k] =
        ranges[k] != ShapedType::kDynamic && ranges[k] <= rows ? 0 : rows;
    if (!tilingKeepsMaps(decode, producerSteps(op, rhs, steps))) {
      // A whole K per panel is always exact along K.
      steps[k] = 0;
      if (!tilingKeepsMaps(decode, producerSteps(op, rhs, steps)))
        return false;
    }
    sizes.assign(steps.begin(), steps.end());
    return true;
  }

  /// The block `op` tiled by one row along its M dims when those are its
  /// only dynamic loops, else null.
  linalg::LinalgOp tileDynamicRows(RewriterBase &rewriter,
                                   linalg::LinalgOp op) {
    FailureOr<linalg::ContractionDimensions> dims =
        linalg::inferContractionDims(op);
    if (failed(dims) || dims->m.empty())
      return {};
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<int64_t> sizes(op.getNumLoops(), 0);
    for (unsigned d = 0; d < ranges.size(); ++d) {
      bool isM = llvm::is_contained(dims->m, d);
      if (ranges[d] == ShapedType::kDynamic && !isM)
        return {};
      if (isM)
        sizes[d] = 1;
    }
    linalg::LinalgOp row = tile(rewriter, op, sizes);
    return row && !row.hasDynamicShape() ? row : linalg::LinalgOp();
  }

  /// Moves a decode panel read by this block alone (M fits one block) into
  /// the block's K loop (`steps`), so each step decodes the rows it
  /// multiplies, in registers.
  bool fuseDecodeIntoStep(RewriterBase &rewriter, linalg::LinalgOp inner,
                          const linalg::ContractionDimensions &dims,
                          ArrayRef<int64_t> steps) {
    OpOperand *rhs = rightHandOperand(inner, dims);
    auto slice =
        rhs ? rhs->get().getDefiningOp<tensor::ExtractSliceOp>() : nullptr;
    if (!slice || !slice.getSource().hasOneUse())
      return false;
    auto panel = slice.getSource().getDefiningOp<linalg::GenericOp>();
    auto kLoop = dyn_cast<scf::ForOp>(slice->getParentOp());
    if (!panel || !panel->hasAttr(kFusedDecodeAttr) || !kLoop ||
        kLoop->getBlock() != panel->getBlock())
      return false;
    SmallVector<int64_t> panelSteps = producerSteps(inner, rhs, steps);
    if (tilingKeepsMaps(panel, panelSteps))
      return fuseIntoSlice(rewriter, slice, panel) != nullptr;
    return fuseRowsIntoSlice(rewriter, slice, panel, panelSteps);
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
    bool quadDot =
        (int8Vpdpbusd || int8Pmaddubsw) && suitsPairDot(op, *dims, /*kStep=*/4,
                                                        /*unsignedB=*/true);
    // A single row on 256-bit registers (AVX2) reads each pair of B's rows
    // once: building the pairs costs more than the 32-bit multiplies they
    // save (W8A8 at M = 1 measured 0.73 to 0.78x with pairs).
    bool singleRowOf256 =
        tileN / 2 < 16 && op.getStaticLoopRanges()[dims->m.back()] == 1;
    bool pairDot =
        quadDot || (int8Pmaddwd && !singleRowOf256 && suitsPairDot(op, *dims));
    if (pairDot)
      sizes[dims->k.front()] = quadDot ? 4 * quadStepsPerBlock(op, *dims) : 2;
    linalg::LinalgOp inner = tile(rewriter, op, sizes);
    if (!inner || inner.hasDynamicShape())
      return;
    bool decodedInStep = fuseDecodeIntoStep(rewriter, inner, *dims, sizes);
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
      // A pair-dot block keeps its (m, n, k) loops even when M is 1.
      SmallVector<unsigned> kept;
      if (pairDot)
        kept = {dims->m.back(), dims->n.back(), dims->k.front()};
      inner = dropUnitLoops(rewriter, generic, kept);
    }
    if (pairDot) {
      auto generic = dyn_cast<linalg::GenericOp>(inner.getOperation());
      if (quadDot && generic && isInt8Matmul(generic, /*unsignedB=*/true)) {
        emitQuadDotBlock(rewriter, generic, quadPanels, tileN / 2,
                         int8Vpdpbusd);
        return;
      }
      if (!quadDot && generic && isInt8Matmul(generic)) {
        if (decodedInStep)
          if (auto loop = generic->getParentOfType<scf::ForOp>())
            loop->setAttr(kDecodedPairLoopAttr, rewriter.getUnitAttr());
        emitPairDotBlock(rewriter, generic, decodedInStep, tileN / 2);
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
