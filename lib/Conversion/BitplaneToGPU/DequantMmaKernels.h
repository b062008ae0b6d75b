//===- DequantMmaKernels.h - low-bit weights unpacked for s8/f16 MMA ------===//
//
// The two tensor-core lowerings of a quantized matmul beside the bit-plane
// binary MMA (see docs/bitplane.md, "Other kernels"):
//
// * imma (QServe-style): integer activations (8 bits or fewer) as s8/u8
//   operands of `mma.sync.m16n8k32.s32.s8.s8.s32`; the p-bit weights are
//   stored as p-bit values in bit slices and unpacked to bytes in
//   registers.
// * hmma (Marlin-style): float activations (weight-only quantization) as
//   f16 or bf16 operands of `mma.sync.m16n8k16.f32.{f16,bf16}.*.f32`; the
//   p-bit weights are unpacked in registers to the exact 16-bit float
//   integers w - zw, and the weight scale is applied to the f32 sums at
//   each group's end.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_CONVERSION_BITPLANETOGPU_DEQUANTMMAKERNELS_H
#define QOPT_LIB_CONVERSION_BITPLANETOGPU_DEQUANTMMAKERNELS_H

#include "ActivationQuant.h"
#include "KernelBuilder.h"

#include <vector>

namespace qopt {
namespace gpu_kernels {

enum class MmaKind { S8, F16, BF16 };

/// Everything one imma / hmma kernel is specialized on.
struct DequantMmaConfig {
  MmaKind kind = MmaKind::S8;
  int64_t p = 0;        // weight bits
  bool wSigned = false; // S8: signed weights (packed as w - wMin)
  bool wU8 = false;     // S8: 8-bit unsigned weights (u8 operand)
  bool aU8 = false;     // S8: 8-bit unsigned activations (u8 operand)
  /// S8: the B operands are w - zw, the weight zero point subtracted from
  /// each unpacked byte in registers (unsigned weights of 7 bits or fewer,
  /// zero points known to lie in [0, 127], so w - zw fits an s8): no
  /// activation row sums, and the decode tile may quantize its own rows.
  bool zwInOperands = false;
  /// The packed values are w - wMin (unsigned): hmma's, and imma's
  /// signed weights of 7 bits or fewer (-2^(p-1)); 0 otherwise.
  int64_t wMin = 0;
  /// S8 signed weights of 7 bits or fewer: each B byte is w * 2^(8 - p)
  /// (the p-bit field moved to the top of its byte), so the int32 sums are
  /// 2^(8 - p) times the true ones, shifted back (exactly) before they are
  /// folded. They fit i32 as W8A8's do: |a w 2^(8-p)| <= 255 * 128 over at
  /// most kMaxScaledFold K per fold (a group, or a split-K part's k-tiles);
  /// longer folds keep the unscaled operands. 0 otherwise.
  static constexpr int64_t kMaxScaledFold = 65793;
  int64_t weightOperandShift() const {
    int64_t kTiles = kp / kt;
    int64_t foldK = groupSize ? groupSize : (kTiles + splitK - 1) / splitK * kt;
    bool scaledFits = foldK <= kMaxScaledFold;
    return kind == MmaKind::S8 && wMin && scaledFits ? 8 - p : 0;
  }
  /// 32-K words of one column that packDequantMmaWeights interleaves (its
  /// `chunkWords`): the smallest k-tile any tile of the layer takes.
  int64_t chunkWords = 1;
  int64_t n = 0, k = 0; // output channels, real K
  int64_t kt = 0;       // K per pipeline stage (a multiple of 32)
  int64_t kp = 0;       // K padded to whole stages
  /// Weight groups: a k-tile lies within one group, or (decode tiles)
  /// holds whole groups, each group's k-steps a multiple of warpsK.
  int64_t groupSize = 0, groups = 1;
  int64_t bm = 64, bn = 64, warpsM = 2, warpsN = 2, stages = 2;
  /// Activation rows staged in shared memory (0: bm). Decode tiles whose M
  /// is at most `stagedRows` (the host's range of M guarantees it) stage
  /// only those rows; the MMA's other A rows are zero registers.
  int64_t stagedRows = 0;
  /// Warps that split each k-tile's MMA k-steps among them (step s goes to
  /// warp-in-K s % warpsK), each on the whole warp tile; their f32 sums are
  /// added through shared memory before the epilogue. Decode shapes: more
  /// blocks along N without splitting K over blocks (no reduction kernel).
  int64_t warpsK = 1;
  /// S8 decode (warpsK > 1, M <= BM): the kernel quantizes its own
  /// activation rows (a fused qopt.quantize with per-row parameters
  /// computed from the row). Argument 0 is then the float activations [M,
  /// K] of `xType`, staged as they are through the pipeline and quantized
  /// to bytes once per k-tile; the scale and zero point of each row are
  /// computed at the start and kept in shared memory (no sa / za
  /// arguments). Weight zero points only in the operands (zwInOperands),
  /// not from activation row sums.
  std::optional<ActQuantSpec> fusedQuant;
  /// F16/BF16, the 16-row tiles: the kernel converts its own activation
  /// rows to the operand type. Argument 0 is then the float activations [M,
  /// K] of `xType`, staged as they are and converted to operand words once
  /// per k-tile (no conversion kernel before it).
  bool fusedConvert = false;
  /// The float input's element type (fusedQuant, fusedConvert).
  mlir::Type xType;
  /// Split K over blockIdx.z in this many parts (whole groups each when
  /// grouped): the kernel then writes f32 partial sums [S * M, N] (sa
  /// applied, no bias) and buildSplitKReduceKernel finishes them.
  int64_t splitK = 1;
  ParamKind sa = ParamKind::None, za = ParamKind::None;
  ParamKind sw = ParamKind::None, zw = ParamKind::None;
  bool bias = false;
  mlir::Type outType;

  int64_t elemBytes() const { return kind == MmaKind::S8 ? 1 : 2; }
  int64_t actRows() const { return stagedRows ? stagedRows : bm; }
  /// Weight groups per k-tile (1: the tile lies within one group).
  int64_t groupsPerTile() const {
    return groupSize && groupSize < kt ? kt / groupSize : 1;
  }
  /// The float input is staged as it is and made operand words in the
  /// kernel (fusedQuant or fusedConvert).
  bool stagesInput() const { return fusedQuant.has_value() || fusedConvert; }
  /// Bytes of one staged activation value: the MMA operand's, or the float
  /// input's (stagesInput).
  int64_t stagedBytes() const {
    return stagesInput() ? xType.getIntOrFloatBitWidth() / 8 : elemBytes();
  }
  int64_t mmaK() const { return kind == MmaKind::S8 ? 32 : 16; }
  /// 32-bit words of one activation row per stage, and its 16-byte chunks.
  int64_t rowWords() const { return kt * elemBytes() / 4; }
  int64_t rowChunks() const { return rowWords() / 4; }
  /// Words of one weight plane of one column per stage.
  int64_t planeWords() const { return kt / 32; }
  int64_t subSteps() const { return kt / mmaK(); }
  int64_t threads() const { return warpsM * warpsN * warpsK * 32; }
  int64_t warpM() const { return bm / warpsM; }
  int64_t warpN() const { return bn / warpsN; }
  int64_t mf() const { return warpM() / 16; }
  int64_t nf() const { return warpN() / 8; }
  int64_t stageBytes() const {
    return actRows() * kt * stagedBytes() + weightStageBytes();
  }
  /// Shared memory of one stage's weights: [P, BN, planeWords] words with
  /// the padding of weightSmemLayout.
  int64_t weightStageBytes() const;
  /// Accumulators per lane of one warp tile.
  int64_t accPerLane() const { return mf() * nf() * 4; }
  /// Shared memory of the cross-warp sum (warpsK > 1): every warp's f32
  /// accumulators.
  int64_t reduceBytes() const {
    return warpsK > 1 ? threads() * accPerLane() * 4 : 0;
  }
  /// Shared memory besides the pipeline stages: the cross-warp sums, with
  /// stagesInput the k-tile's operand words, and with fusedQuant the rows'
  /// parameters and a block reduction's scratch.
  int64_t extraSharedBytes() const {
    return reduceBytes() * (intGroupSums() ? 2 : 1) +
           (stagesInput() ? actRows() * kt * elemBytes() : 0) +
           (fusedQuant ? actRows() * 8 + 2 * (threads() / 32) * 4 : 0);
  }
  /// S8 with row-sum corrections and warps in K: each group's int32 sums of
  /// the warps are added (exactly) before the corrections.
  bool intGroupSums() const {
    return kind == MmaKind::S8 && warpsK > 1 &&
           (actRowSums() || za != ParamKind::None);
  }
  /// F16/BF16 with warps in K: each warp takes whole 32-K chunks (the two
  /// k16 MMAs of one; step 2 (kw + warpsK j) + e), when a k-tile and each
  /// weight group it holds have a multiple of 2 warpsK steps.
  bool pairedSteps() const {
    int64_t steps = kt / mmaK();
    return kind != MmaKind::S8 && warpsK > 1 && steps % (2 * warpsK) == 0 &&
           (groupsPerTile() == 1 || groupSize % (2 * mmaK() * warpsK) == 0);
  }
  /// S8: the kernel takes the activations' row sums (weight zero points
  /// not in the operands).
  bool actRowSums() const {
    return kind == MmaKind::S8 && zw != ParamKind::None && !zwInOperands;
  }
  /// Activation row length on the device in words (K padded).
  int64_t actWords() const { return kp * elemBytes() / 4; }
  int64_t actBytesPerRow() const { return kp * elemBytes(); }
};

/// The MMA kernel with its fused epilogue. Arguments: activations [M,
/// actWords] i32 (bytes or f16 pairs, K zero-padded to kp), weight planes
/// [P, N, kp / 32] i32 (packDequantMmaWeights), then for S8 the act row sums
/// [M, G] (actRowSums) and weight row sums [N, G] (with za), then sa, za (S8),
/// sw, zw, bias (those present), and out [M, N].
mlir::gpu::GPUFuncOp buildDequantMmaKernel(mlir::OpBuilder &b,
                                           mlir::Location loc,
                                           mlir::gpu::GPUModuleOp module,
                                           llvm::StringRef name,
                                           const DequantMmaConfig &c,
                                           llvm::ArrayRef<mlir::Type> argTypes);

/// partials [S * M, N] f32 -> out [M, N]: the sum over the S splits, plus
/// the bias (when `biasType`), in the output type; one thread per element.
mlir::gpu::GPUFuncOp buildSplitKReduceKernel(
    mlir::OpBuilder &b, mlir::Location loc, mlir::gpu::GPUModuleOp module,
    llvm::StringRef name, mlir::MemRefType partialsType,
    mlir::MemRefType biasType, mlir::MemRefType outType, int64_t splits);

/// x [M, K] f32/f16/bf16 -> y [M, KP] of dstType's f16 or bf16, zero beyond
/// K: one thread per output element.
mlir::gpu::GPUFuncOp buildToHalfKernel(mlir::OpBuilder &b, mlir::Location loc,
                                       mlir::gpu::GPUModuleOp module,
                                       llvm::StringRef name,
                                       mlir::MemRefType srcType,
                                       mlir::MemRefType dstType, int64_t kReal,
                                       int64_t kPadded);

/// One bit slice of imma/hmma's weight layout: `width` (1, 2, 4 or 8)
/// bits of each weight value from its bit `shift`, in `width` words per
/// column and 32 K, from word `word` of the 32 K's P words.
struct WeightSlice {
  int64_t width, shift, word;
};

/// P bits as slices: 8 as one byte, otherwise P's binary digits (4, 2, 1),
/// widest at bit 0. A lane's register takes one shift and mask per slice.
llvm::SmallVector<WeightSlice, 3> weightSlices(int64_t p);

/// Where a slice's field of one B register lies for lane t % 4 (see the
/// .cpp): word `word` of the slice's words of a 32-K chunk, at bit `shift`
/// of each of the register's elements (bytes for S8, halves for 16-bit).
struct SliceField {
  int64_t word, shift;
};
SliceField sliceField(MmaKind kind, int64_t width, int64_t reg, int64_t t);

/// Where slice word `flatInChunk` (of the P words of one column and 32-K
/// chunk `chunk`) lies in the weight layout: row (of P) and word (of the
/// column's kp / 32), the chunks interleaved in groups of `chunkWords`.
struct InterleavedWord {
  int64_t row, word;
};
inline InterleavedWord interleavedWord(int64_t p, int64_t chunkWords,
                                       int64_t chunk, int64_t flatInChunk) {
  int64_t flat = (chunk % chunkWords) * p + flatInChunk;
  return {flat / chunkWords,
          chunk / chunkWords * chunkWords + flat % chunkWords};
}

/// Where a stage's weight words lie in shared memory: word w (of
/// planeWords) of row `row` (of P) and column `col` at row * rowStride +
/// col * colStride + w words into the stage.
struct WeightSmemLayout {
  int64_t colStride, rowStride;
};

/// The most distinct words one shared-memory bank serves in one of a warp's
/// B loads (lanes g = 0..7 on 8 columns, t = 0..3 on their words; 1:
/// conflict-free), over every slice, 32-K chunk of the k-tile and register.
int64_t weightBankConflicts(const DequantMmaConfig &c, WeightSmemLayout l);

/// The strides with the fewest bank conflicts, then the least padding, both
/// multiples of the weights' cp.async unit (min(4, planeWords) words, so
/// every copy stays aligned): for example a column stride of 20 words
/// rather than 16 for imma's decode tile (its eight columns' words in
/// distinct banks), and a row stride of 8 mod 32 for groups of 32 K (the
/// four lanes of a column reading four rows).
WeightSmemLayout weightSmemLayout(const DequantMmaConfig &c);

/// The kernel's weight layout: [P, N, kp / 32] words of the values w[n, k]
/// - offset (p bits each, two's complement for S8's signed weights), cut
/// into weightSlices; each 32-K chunk's P words of a column are
/// interleaved with those of the other chunks of its `chunkWords` (see the
/// .cpp), so that a lane's register is one shift and mask per slice.
std::vector<int32_t> packDequantMmaWeights(MmaKind kind,
                                           llvm::ArrayRef<int64_t> w, int64_t n,
                                           int64_t k, int64_t kp, int64_t p,
                                           int64_t offset, int64_t chunkWords);

} // namespace gpu_kernels
} // namespace qopt

#endif // QOPT_LIB_CONVERSION_BITPLANETOGPU_DEQUANTMMAKERNELS_H
