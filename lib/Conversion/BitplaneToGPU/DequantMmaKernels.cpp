//===- DequantMmaKernels.cpp - low-bit weights unpacked for s8/f16 MMA ----===//
//
// imma: `mma.sync.aligned.m16n8k32.row.col.s32.{s8,u8}.{s8,u8}.s32`, hmma:
// `mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32`. All
// read their fragments as 32-bit words in the same places (PTX ISA, g =
// lane / 4, t = lane % 4): within one MMA's 32 bytes of K (32 s8 or 16
// f16/bf16 values)
//   a0 = row g, word t;  a1 = row g + 8, word t;
//   a2 = row g, word 4 + t;  a3 = row g + 8, word 4 + t;
//   b0 = column g, word t;  b1 = column g, word 4 + t;
//   c0, c1 = (g, 2t), (g, 2t + 1);  c2, c3 = (g + 8, 2t), (g + 8, 2t + 1).
// So one kernel skeleton serves both: a cp.async pipeline stages the block's
// activation rows (K padded with zeros to whole stages, 16-byte chunks
// swizzled by row so fragment loads are free of bank conflicts) and its
// weights (p bits each, in bit slices) in shared memory; each lane builds
// its B fragments from them in registers.
//
// Weight layout: [P, N, KP / 32] 32-bit words, P per column and 32 K,
// holding the p-bit values u = w - offset cut into bit slices
// (weightSlices: 8 bits as one byte, else P's binary digits 4, 2, 1, the
// widest at bit 0), a slice of width s in s of the P words. A lane's B
// register r of an MMA (S8: r = h, its four bytes e the elements k = 16h +
// 4t + e; F16/BF16: r = 2m + h for MMA m of the 32 K, its two halves e the
// elements 16m + 8h + 2t + e) takes from each slice one word, one shift and
// one mask: the field of element e lies at bit slot * e + shift of the word
// (slot = 8 bits for S8, 16 for the halves), where with F = slot / s fields
// per slot and R registers (2 or 4) per lane and 32 K:
//   F >= R: word t / L, shift s * (r * L + t % L), L = F / R lanes sharing
//           a word (the 1-bit slice is the plain bit plane of old);
//   F < R (8-bit slices): word 4 * (r / F) + t, shift s * (r % F).
// So 4-bit weights take one load and two or four shift-and-masks per word
// of K (bit planes took four loads and 3 x 4 ALU operations per register).
// The P words of a chunk of 32 K are interleaved with those of the next
// chunkWords - 1 chunks (the smallest k-tile): flat word f = (j mod C) * P
// + slice.word + field.word of chunk j lies in row f / C at word (j / C) *
// C + f mod C, so the four lanes of a column reading a 4-bit slice read
// four consecutive words (distinct banks) rather than four rows.
// The slices are ORed at their bit positions. S8's signed weights of 7
// bits or fewer are packed offset binary, u = w + 2^(p-1); each slice's
// field is moved to the top of its byte (bit slice.shift + 8 - p) and bit 7
// flipped, which makes the byte the s8 w * 2^(8-p), and the int32 sums are
// shifted right by 8 - p before they are folded (weightOperandShift). With
// zero points in the operands (or folds too long for the scaled sums),
// each byte becomes ((u | 0x80) - zw) ^ 0x80 (no borrows between bytes);
// F16 ORs 0x6400 into each half, which
// makes the f16 1024 + u, and subtracts 1024 + zw - wMin to give w - zw
// exactly (all integers below 2048 are exact in f16); a 4-bit field at bit
// 4 of its half is used in place (1024 + 16u, times 1/16 by an fma). BF16 has 8
// significant bits: 0x4300 (128.0) holds u < 128 in its mantissa, minus 128 +
// zw - wMin; an eighth bit (p = 8) is added after, as b ? 0 : -128 once zw -
// wMin alone was subtracted. Every step is an integer of magnitude below 256,
// exact in bf16. bf16x2 has no sub before sm_90, so both are fma.rn.bf16x2
// with 1.0.
//
//===----------------------------------------------------------------------===//

#include "DequantMmaKernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace qopt::gpu_kernels;

SmallVector<WeightSlice, 3> qopt::gpu_kernels::weightSlices(int64_t p) {
  assert(p >= 1 && p <= 8 && "1 to 8 weight bits");
  if (p == 8)
    return {{8, 0, 0}};
  SmallVector<WeightSlice, 3> slices;
  int64_t shift = 0;
  for (int64_t width : {4, 2, 1})
    if (p & width) {
      slices.push_back({width, shift, shift});
      shift += width;
    }
  return slices;
}

SliceField qopt::gpu_kernels::sliceField(MmaKind kind, int64_t width,
                                         int64_t reg, int64_t t) {
  int64_t slot = kind == MmaKind::S8 ? 8 : 16;
  int64_t regs = kind == MmaKind::S8 ? 2 : 4;
  int64_t fields = slot / width;
  if (fields >= regs) {
    int64_t lanes = fields / regs;
    return {t / lanes, width * (reg * lanes + t % lanes)};
  }
  return {4 * (reg / fields) + t, width * (reg % fields)};
}

int64_t qopt::gpu_kernels::weightBankConflicts(const DequantMmaConfig &c,
                                               WeightSmemLayout l) {
  const int64_t regs = c.kind == MmaKind::S8 ? 2 : 4;
  int64_t worst = 1;
  for (const WeightSlice &sl : weightSlices(c.p))
    for (int64_t j = 0; j < c.planeWords(); ++j)
      for (int64_t reg = 0; reg < regs; ++reg) {
        // Bank -> the distinct words it serves (lanes reading one word
        // share it: a broadcast, no conflict).
        std::array<SmallVector<int64_t, 4>, 32> banks;
        for (int64_t g = 0; g < 8; ++g)
          for (int64_t t = 0; t < 4; ++t) {
            SliceField f = sliceField(c.kind, sl.width, reg, t);
            InterleavedWord at =
                interleavedWord(c.p, c.chunkWords, j, sl.word + f.word);
            int64_t address = at.row * l.rowStride + g * l.colStride + at.word;
            SmallVector<int64_t, 4> &served = banks[address % 32];
            if (!llvm::is_contained(served, address))
              served.push_back(address);
          }
        for (const auto &served : banks)
          worst = std::max<int64_t>(worst, served.size());
      }
  return worst;
}

WeightSmemLayout
qopt::gpu_kernels::weightSmemLayout(const DequantMmaConfig &c) {
  const int64_t unit = std::min<int64_t>(4, c.planeWords());
  WeightSmemLayout best{c.planeWords(), c.bn * c.planeWords()};
  int64_t bestConflicts = weightBankConflicts(c, best);
  // Padding beyond 28 words moves no bank further.
  for (int64_t padCol = 0; padCol < 32 && bestConflicts > 1; padCol += unit)
    for (int64_t padRow = 0; padRow < 32 && bestConflicts > 1; padRow += unit) {
      WeightSmemLayout l{c.planeWords() + padCol,
                         c.bn * (c.planeWords() + padCol) + padRow};
      int64_t conflicts = weightBankConflicts(c, l);
      if (conflicts < bestConflicts) {
        best = l;
        bestConflicts = conflicts;
      }
    }
  return best;
}

int64_t DequantMmaConfig::weightStageBytes() const {
  return p * weightSmemLayout(*this).rowStride * 4;
}

std::vector<int32_t> qopt::gpu_kernels::packDequantMmaWeights(
    MmaKind kind, ArrayRef<int64_t> w, int64_t n, int64_t k, int64_t kp,
    int64_t p, int64_t offset, int64_t chunkWords) {
  int64_t words = kp / 32;
  assert(words % chunkWords == 0 && "K pads to whole interleaved chunks");
  std::vector<int32_t> packed(p * n * words, 0);
  SmallVector<WeightSlice, 3> slices = weightSlices(p);
  int64_t slot = kind == MmaKind::S8 ? 8 : 16;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t x = 0; x < k; ++x) {
      uint64_t v = static_cast<uint64_t>(w[r * k + x] - offset);
      int64_t kk = x % 32, chunk = x / 32;
      // The lane t, register and element of k within its 32 K (see above).
      int64_t reg, t, e;
      if (kind == MmaKind::S8)
        reg = kk / 16, t = (kk % 16) / 4, e = kk % 4;
      else
        reg = 2 * (kk / 16) + (kk % 16) / 8, t = (kk % 8) / 2, e = kk % 2;
      for (const WeightSlice &sl : slices) {
        uint64_t field = (v >> sl.shift) & ((uint64_t(1) << sl.width) - 1);
        if (!field)
          continue;
        SliceField f = sliceField(kind, sl.width, reg, t);
        InterleavedWord at =
            interleavedWord(p, chunkWords, chunk, sl.word + f.word);
        packed[(at.row * n + r) * words + at.word] |=
            static_cast<int32_t>(uint32_t(field) << (slot * e + f.shift));
      }
    }
  return packed;
}

gpu::GPUFuncOp qopt::gpu_kernels::buildToHalfKernel(
    OpBuilder &b, Location loc, gpu::GPUModuleOp module, StringRef name,
    MemRefType srcType, MemRefType dstType, int64_t kReal, int64_t kPadded) {
  OpBuilder::InsertionGuard guard(b);
  ItemKernel ik =
      buildItemKernel(b, loc, module, name, {srcType, dstType}, 0, kPadded);
  KB k{b, loc};
  Value src = ik.func.getArgument(0), dst = ik.func.getArgument(1);
  Value r = ik.row, col = ik.item;
  Value valid = k.ult(col, k.idx(kReal));
  Value v = k.load(src, {r, k.minu(col, k.idx(kReal - 1))});
  Type half = dstType.getElementType();
  if (v.getType() != half) {
    if (!v.getType().isF32())
      v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    v = arith::TruncFOp::create(b, loc, half, v);
  }
  Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(half, 0.0));
  v = arith::SelectOp::create(b, loc, valid, v, zero);
  memref::StoreOp::create(b, loc, v, dst, ValueRange{r, col});
  return ik.func;
}

gpu::GPUFuncOp qopt::gpu_kernels::buildSplitKReduceKernel(
    OpBuilder &b, Location loc, gpu::GPUModuleOp module, StringRef name,
    MemRefType partialsType, MemRefType biasType, MemRefType outType,
    int64_t splits) {
  SmallVector<Type> args = {partialsType};
  if (biasType)
    args.push_back(biasType);
  args.push_back(outType);
  OpBuilder::InsertionGuard guard(b);
  ItemKernel ik = buildItemKernel(b, loc, module, name, args, args.size() - 1,
                                  outType.getDimSize(1));
  KB k{b, loc};
  Value partials = ik.func.getArgument(0);
  Value bias = biasType ? ik.func.getArgument(1) : Value();
  Value out = ik.func.getArguments().back();
  Value rows = ik.rows, r = ik.row, col = ik.item;
  Value y = k.load(partials, {r, col});
  for (int64_t z = 1; z < splits; ++z)
    y = arith::AddFOp::create(
        b, loc, y, k.load(partials, {k.add(k.mul(rows, k.idx(z)), r), col}));
  if (bias)
    y = arith::AddFOp::create(b, loc, y, k.toF32(k.load(bias, {col})));
  if (!outType.getElementType().isF32())
    y = arith::TruncFOp::create(b, loc, outType.getElementType(), y);
  memref::StoreOp::create(b, loc, y, out, ValueRange{r, col});
  return ik.func;
}

gpu::GPUFuncOp qopt::gpu_kernels::buildDequantMmaKernel(
    OpBuilder &b, Location loc, gpu::GPUModuleOp module, StringRef name,
    const DequantMmaConfig &c, ArrayRef<Type> argTypes) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  bool s8 = c.kind == MmaKind::S8;
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  // fused: the float input is staged as it is and made operand words in
  // the kernel, quantized (imma) or converted (hmma).
  bool fused = c.stagesInput();
  bool quantizing = c.fusedQuant.has_value();
  // The staged activations: words of MMA operands, or (fused) the float
  // input as it is.
  const int64_t aRows = c.actRows();
  assert((aRows == c.bm || (c.bm == 16 && c.warpsM == 1)) &&
         "only the 16-row tile stages fewer rows");
  assert(
      (c.groupsPerTile() == 1 ||
       (c.kt % c.groupSize == 0 && c.groupSize % (c.mmaK() * c.warpsK) == 0)) &&
      "a k-tile holds whole groups, each a multiple of the warps' steps");
  auto sAType = fused ? MemRefType::get({c.stages, aRows, c.kt}, c.xType,
                                        MemRefLayoutAttrInterface{}, shared)
                      : MemRefType::get({c.stages, aRows, c.rowWords()}, i32,
                                        MemRefLayoutAttrInterface{}, shared);
  // The weights' words, padded so that B loads spread over the banks.
  const WeightSmemLayout wLayout = weightSmemLayout(c);
  auto sWType = MemRefType::get({c.stages, c.p * wLayout.rowStride}, i32,
                                MemRefLayoutAttrInterface{}, shared);
  const int64_t threads = c.threads();
  SmallVector<MemRefType> workgroup = {sAType, sWType};
  // Where each optional buffer is among the workgroup attributions (0:
  // absent; 0 and 1 are the stages).
  unsigned redAt = 0, groupSumsAt = 0, quantAt = 0;
  // warpsK > 1: every warp's f32 sums [warp, accumulator, lane], added up
  // by the first warp in K before the epilogue.
  if (c.warpsK > 1) {
    redAt = workgroup.size();
    workgroup.push_back(MemRefType::get({threads / 32, c.accPerLane(), 32}, f32,
                                        MemRefLayoutAttrInterface{}, shared));
  }
  // imma with zero-point corrections, warps in K: each group's exact int32
  // sums of every warp, added before the corrections (a warp's partial sum
  // minus a large correction, in f32, would lose the exactness).
  bool intGroupSums = c.intGroupSums();
  if (intGroupSums) {
    groupSumsAt = workgroup.size();
    workgroup.push_back(MemRefType::get({threads / 32, c.accPerLane(), 32}, i32,
                                        MemRefLayoutAttrInterface{}, shared));
  }
  // fused: the k-tile as operand words; quantizing: each row's scale and
  // zero point, and a block reduction's scratch.
  if (fused) {
    quantAt = workgroup.size();
    workgroup.push_back(MemRefType::get({aRows, c.rowWords()}, i32,
                                        MemRefLayoutAttrInterface{}, shared));
  }
  if (quantizing) {
    workgroup.push_back(
        MemRefType::get({aRows}, f32, MemRefLayoutAttrInterface{}, shared));
    workgroup.push_back(
        MemRefType::get({aRows}, i32, MemRefLayoutAttrInterface{}, shared));
    workgroup.push_back(MemRefType::get({2, threads / 32}, f32,
                                        MemRefLayoutAttrInterface{}, shared));
  }
  // Beyond 48 KiB (the pipeline's stages under a larger shared-memory
  // budget) the buffers are views into dynamic shared memory.
  SmallVector<Value> sharedBuffers;
  auto func = makeKernelWithShared(b, loc, module, name, argTypes, threads,
                                   workgroup, sharedBuffers);
  // Warps in K (decode tiles, a few blocks per SM): up to 168 registers, so
  // that a k-tile's unrolled steps keep their operands in registers. Left
  // to itself, ptxas held one such kernel (sm_80, zero points, groups) to
  // 64 and spilled; at 128 another (W8A8, zero points on both, groups)
  // spilled. 168 leaves 3 blocks of 128 threads per SM; ptxas takes fewer
  // where they do (114 to 118 for those of test/Tools/qcc).
  if (c.warpsK > 1)
    func->setAttr(NVVM::NVVMDialect::getMaxnregAttrName(),
                  b.getI32IntegerAttr(168));
  // The 128 x 128 tile without weight groups or zero-point corrections (64
  // sums per lane): at most 128 registers, so that two blocks of eight
  // warps share an SM (at M = 1024, N = 4096 its 256 blocks are then one
  // wave on 132 SMs, not two). Left to itself ptxas took 129 and 130 on
  // sm_90 for W4A8 and W4A16; capped, asymmetric W4A8 spilled on sm_80.
  // The other tiles: any number (255). Without a bound ptxas chose 72
  // registers and 8 bytes of spill for one 64-row tile on sm_90 (W2A4,
  // zero points on both; test/Conversion/BitplaneToGPU/
  // fused-quant-decode.mlir); with one, 80 and none.
  bool largeCapped = c.bm == 128 && c.bn == 128 && c.groups == 1 &&
                     c.za == ParamKind::None && !c.actRowSums();
  if (c.warpsK == 1)
    func->setAttr(NVVM::NVVMDialect::getMaxnregAttrName(),
                  b.getI32IntegerAttr(largeCapped ? 128 : 255));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(func.getBody().front().getTerminator());
  KB k{b, loc};

  unsigned arg = 0;
  Value act = func.getArgument(arg++), wPlanes = func.getArgument(arg++);
  EpilogueParams ep;
  if (c.actRowSums())
    ep.rowSumA = func.getArgument(arg++);
  if (s8 && c.za != ParamKind::None)
    ep.rowSumW = func.getArgument(arg++);
  if (c.sa != ParamKind::None && !quantizing)
    ep.sa = func.getArgument(arg++);
  if (c.za != ParamKind::None && !quantizing)
    ep.za = func.getArgument(arg++);
  ep.sw = func.getArgument(arg++);
  Value zwArg = c.zw != ParamKind::None ? func.getArgument(arg++) : Value();
  if (c.bias)
    ep.bias = func.getArgument(arg++);
  Value out = func.getArgument(arg++);
  ep.saKind = c.sa, ep.zaKind = c.za, ep.swKind = c.sw;
  // hmma folds the weight zero point into its B operands instead, as imma
  // does for weights of 7 bits or fewer (its epilogue still reads zw for
  // the za zw term).
  if (s8) {
    ep.zw = zwArg;
    ep.zwKind = c.zw;
    ep.zwInOperands = c.zwInOperands;
  }
  ep.groupLen = c.groupSize ? c.groupSize : c.k;
  Value sA = sharedBuffers[0], sW = sharedBuffers[1];
  auto workgroupAt = [&](unsigned i) -> Value {
    return i ? sharedBuffers[i] : Value();
  };
  Value sRed = workgroupAt(redAt), sGroupSums = workgroupAt(groupSumsAt);
  Value sQ, sScale, sZp, sQuantRed;
  if (fused)
    sQ = workgroupAt(quantAt);
  if (quantizing) {
    sScale = workgroupAt(quantAt + 1);
    sZp = workgroupAt(quantAt + 2);
    sQuantRed = workgroupAt(quantAt + 3);
    // The epilogue reads the rows' parameters from shared memory (the
    // block's rows are its staged rows: M <= aRows).
    ep.sa = sScale;
    if (c.za != ParamKind::None)
      ep.za = sZp;
  }

  Value m = memref::DimOp::create(b, loc, act, 0);
  Value mLast = k.sub(m, k.idx(1));
  Value nLast = k.idx(c.n - 1);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value m0 = k.mulc(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x), c.bm);
  Value n0 = k.mulc(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y), c.bn);
  Value warp = k.divu(tid, k.idx(32)), lane = k.remu(tid, k.idx(32));
  // warp = kw * (warpsM * warpsN) + wmn: kw picks the MMA k-steps (warpsK >
  // 1), wmn the warp tile.
  int64_t warpsMN = c.warpsM * c.warpsN;
  Value wmn = c.warpsK > 1 ? k.remu(warp, k.idx(warpsMN)) : warp;
  Value kw = c.warpsK > 1 ? k.divu(warp, k.idx(warpsMN)) : Value();
  // The first warp in K adds a group's zero-point corrections (once) and
  // stores the result.
  Value firstInK =
      kw ? arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kw, k.idx(0))
               .getResult()
         : Value();
  Value wm = k.divu(wmn, k.idx(c.warpsN)), wn = k.remu(wmn, k.idx(c.warpsN));
  Value g = k.divu(lane, k.idx(4)), t = k.remu(lane, k.idx(4));
  Value warpRow = k.mulc(wm, c.warpM()), warpCol = k.mulc(wn, c.warpN());
  // ldmatrix.x4 of a 16-row A fragment: lane l gives the address of row l %
  // 8 of matrix l / 8 (matrices: rows 0-7 and 8-15 of the first 16 bytes of
  // the MMA's K, then of the second), and gets word t of row g of each.
  Value ldmRow = k.add(k.remu(lane, k.idx(8)),
                       k.mulc(k.remu(k.divu(lane, k.idx(8)), k.idx(2)), 8));
  Value ldmChunk = k.divu(lane, k.idx(16));
  // 16-byte chunk ch of row r lives at chunk ch ^ (r % S): the eight rows
  // (g) a fragment load touches hit distinct banks.
  int64_t swizzle = std::min<int64_t>(8, c.rowChunks());
  auto physChunk = [&](KB &n, Value row, Value chunk) -> Value {
    if (swizzle == 1)
      return chunk;
    return arith::XOrIOp::create(n.b, n.loc, chunk,
                                 n.remu(row, n.idx(swizzle)));
  };

  // --- cp.async tile loads of one k-tile into one stage ------------------
  int64_t kTiles = c.kp / c.kt;
  int64_t wUnit = std::min<int64_t>(4, c.planeWords());
  auto issueLoads = [&](OpBuilder &nb, Location l, Value ktile, Value stage) {
    KB n{nb, l};
    // `indices` gives a copy's source and destination indices and, when it
    // sets `srcElems`, how many elements it reads (the rest zero-filled).
    auto copies = [&](int64_t total,
                      function_ref<void(KB &, Value, SmallVector<Value> &,
                                        SmallVector<Value> &, Value &)>
                          indices,
                      Value src, Value dst, int64_t elems) {
      for (int64_t base = 0; base < total; base += threads) {
        Value cIdx = n.addc(tid, base);
        OpBuilder::InsertionGuard g2(nb);
        if (base + threads > total) {
          auto guardIf = scf::IfOp::create(nb, l, n.ult(cIdx, n.idx(total)),
                                           /*withElseRegion=*/false);
          nb.setInsertionPointToStart(&guardIf.getThenRegion().front());
        }
        SmallVector<Value> srcIdx, dstIdx;
        Value srcElems;
        indices(n, cIdx, srcIdx, dstIdx, srcElems);
        nvgpu::DeviceAsyncCopyOp::create(
            nb, l, nvgpu::DeviceAsyncTokenType::get(ctx), dst, dstIdx, src,
            srcIdx, nb.getIndexAttr(elems), srcElems,
            elems * cast<MemRefType>(dst.getType()).getElementTypeBitWidth() ==
                    128
                ? nb.getUnitAttr()
                : UnitAttr());
      }
    };
    // Activations: aRows rows of rowChunks 16-byte chunks. Rows beyond M
    // read nothing (zero-filled, their results masked on store), so a
    // decode (M = 1) moves one row, not aRows.
    if (fused) {
      // The float input, K not padded: chunks beyond K zero-filled too.
      int64_t per = 16 / c.stagedBytes(), chunks = c.kt / per;
      copies(
          aRows * chunks,
          [&](KB &x, Value cIdx, SmallVector<Value> &si, SmallVector<Value> &di,
              Value &srcElems) {
            Value r = x.divu(cIdx, x.idx(chunks));
            Value ch = x.remu(cIdx, x.idx(chunks));
            Value row = x.add(m0, r);
            Value col = x.add(x.mulc(ktile, c.kt), x.mulc(ch, per));
            si = {x.minu(row, mLast), x.minu(col, x.idx(c.k - per))};
            di = {stage, r, x.mulc(ch, per)};
            Value valid = arith::AndIOp::create(x.b, x.loc, x.ult(row, m),
                                                x.ult(col, x.idx(c.k)));
            srcElems = arith::SelectOp::create(x.b, x.loc, valid, x.idx(per),
                                               x.idx(0));
          },
          act, sA, per);
    } else
      copies(
          aRows * c.rowChunks(),
          [&](KB &x, Value cIdx, SmallVector<Value> &si, SmallVector<Value> &di,
              Value &srcElems) {
            Value r = x.divu(cIdx, x.idx(c.rowChunks()));
            Value ch = x.remu(cIdx, x.idx(c.rowChunks()));
            Value row = x.add(m0, r);
            si = {x.minu(row, mLast),
                  x.add(x.mulc(ktile, c.rowWords()), x.mulc(ch, 4))};
            di = {stage, r, x.mulc(physChunk(x, r, ch), 4)};
            srcElems = arith::SelectOp::create(x.b, x.loc, x.ult(row, m),
                                               x.idx(4), x.idx(0));
          },
          act, sA, 4);
    // Weights: P rows of BN columns of planeWords words.
    int64_t perCol = c.planeWords() / wUnit;
    copies(
        c.p * c.bn * perCol,
        [&](KB &x, Value cIdx, SmallVector<Value> &si, SmallVector<Value> &di,
            Value &) {
          Value plane = x.divu(cIdx, x.idx(c.bn * perCol));
          Value col = x.remu(x.divu(cIdx, x.idx(perCol)), x.idx(c.bn));
          Value u = x.remu(cIdx, x.idx(perCol));
          si = {plane, x.minu(x.add(n0, col), nLast),
                x.add(x.mulc(ktile, c.planeWords()), x.mulc(u, wUnit))};
          di = {stage, x.add(x.add(x.mulc(plane, wLayout.rowStride),
                                   x.mulc(col, wLayout.colStride)),
                             x.mulc(u, wUnit))};
        },
        wPlanes, sW, wUnit);
  };

  // The block's range of K: all of it, or with split-K part z =
  // blockIdx.z of S (whole groups when grouped and a group has whole
  // tiles, else whole tiles): groups [gBegin, gEnd) and tiles [tFirst,
  // tEnd).
  const int64_t groupsPerTile = c.groupsPerTile();
  KRange range =
      blockKRange(k, kTiles, groupsPerTile > 1 ? 1 : c.groups, c.splitK);
  bool grouped = range.grouped;
  int64_t tilesPerGroup = range.stepsPerGroup;
  Value zIdx = range.z, gBegin = range.gBegin, gEnd = range.gEnd;
  Value tFirst = range.first, tEnd = range.end;

  // --- fragments and MMAs of one k-tile ----------------------------------
  int64_t nAcc = c.mf() * c.nf() * 4;
  Type accType = s8 ? i32 : f32;
  auto structTy =
      LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(4, accType));
  bool bf16 = c.kind == MmaKind::BF16;
  Type halfType = bf16 ? Type(b.getBF16Type()) : Type(b.getF16Type());
  auto half2 = VectorType::get({2}, halfType);
  NVVM::MMATypes floatPtx = bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  NVVM::MMATypes aPtx =
      s8 ? (c.aU8 ? NVVM::MMATypes::u8 : NVVM::MMATypes::s8) : floatPtx;
  NVVM::MMATypes bPtx =
      s8 ? (c.wU8 ? NVVM::MMATypes::u8 : NVVM::MMATypes::s8) : floatPtx;
  std::array<NVVM::MMATypes, 2> ptxTypes = {aPtx, bPtx};
  std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row,
                                            NVVM::MMALayout::col};
  std::optional<NVVM::MMAIntOverflow> overflow;
  if (s8)
    overflow = NVVM::MMAIntOverflow::wrapped;
  // The MMA's operand registers: i32 for s8 and bf16 (as the intrinsics
  // take them), f16x2 for f16.
  auto asOperand = [&](KB &x, Value word) -> Value {
    if (s8 || bf16)
      return word;
    return LLVM::BitcastOp::create(x.b, x.loc, half2, word);
  };
  // bf16x2 a * 1.0 + c (sub/add without sm_90's bf16x2 add).
  auto bf16AddTo = [&](KB &x, Value a, Value c) -> Value {
    Value one = LLVM::ConstantOp::create(
        x.b, x.loc, half2,
        DenseElementsAttr::get(half2, x.b.getFloatAttr(halfType, 1.0)));
    return LLVM::FMAOp::create(x.b, x.loc, a, one, c);
  };
  // The MMA k-step within a k-tile: dyn * dynScale + s, dyn null (a
  // constant step), the warp's kw + warpsK * i (warpsK > 1), or with
  // pairedSteps the warp's 32-K chunk kw + warpsK * j (dynScale 2, s the
  // MMA 0 or 1 of the chunk).
  struct Step {
    int64_t s = 0;
    Value dyn;
    int64_t dynScale = 1;
    Value times(KB &x, int64_t f, int64_t plus) const {
      return dyn ? x.addc(x.mulc(dyn, f * dynScale), s * f + plus)
                 : x.idx(s * f + plus);
    }
  };
  // hmma's warps in K take whole 32-K chunks (both k16 MMAs of a chunk go
  // to one warp): each lane's slice word then serves its four registers,
  // at shifts known when compiling, rather than two warps loading it for
  // two registers each at run-time shifts.
  const bool pairedSteps = c.pairedSteps();
  // B registers of column `col` (in the block) for MMA `st` of the k-tile,
  // one shift and mask per weight slice (see the top of the file);
  // `offset` is, for hmma, the 16-bit float pair the column's unpacked
  // halves are shifted by (F16: 1024 + zw - wMin; BF16: 128 + zw - wMin,
  // or zw - wMin for p = 8), negated for BF16; for imma (zwInOperands), zw
  // in each byte.
  SmallVector<WeightSlice, 3> slices = weightSlices(c.p);
  const int64_t chunkWords = c.chunkWords;
  const int64_t slotBits = s8 ? 8 : 16, regsPerChunk = s8 ? 2 : 4;
  const uint32_t slotOnes = s8 ? 0x01010101u : 0x00010001u;
  const int64_t topShift = c.weightOperandShift();
  const bool f16FieldsInPlace =
      c.kind == MmaKind::F16 && slices.size() == 1 && slices.front().width == 4;
  auto half2Splat = [&](KB &x, double value) -> Value {
    return arith::ConstantOp::create(
        x.b, x.loc,
        DenseElementsAttr::get(half2, x.b.getFloatAttr(halfType, value)));
  };
  assert(c.planeWords() % chunkWords == 0 &&
         "a k-tile holds whole interleaved chunks");
  auto bFragment = [&](KB &x, Value stage, Value col, const Step &st,
                       Value offset) -> std::array<Value, 2> {
    // The MMA's 32-K chunk in the k-tile; hmma has two MMAs per chunk, the
    // odd one's registers 2 and 3.
    Value chunk = s8                 ? st.times(x, 1, 0)
                  : st.dynScale == 2 ? st.dyn
                  : !st.dyn          ? x.idx(st.s / 2)
                                     : x.divu(st.dyn, x.idx(2));
    Value regBase = s8 ? x.idx(0)
                    : !st.dyn || st.dynScale == 2
                        ? x.idx(2 * (st.s % 2))
                        : x.mulc(x.remu(st.dyn, x.idx(2)), 2);
    Value inGroup = x.remu(chunk, x.idx(chunkWords));
    Value groupBase = x.sub(chunk, inGroup);
    // Slice word q of this chunk (interleaved with its group's chunks).
    auto sliceWord = [&](int64_t sliceAt, Value q) {
      Value flat = x.add(x.addc(x.mulc(inGroup, c.p), sliceAt), q);
      Value row = x.divu(flat, x.idx(chunkWords));
      Value word = x.add(groupBase, x.remu(flat, x.idx(chunkWords)));
      return x.load(sW, {stage, x.add(x.add(x.mulc(row, wLayout.rowStride),
                                            x.mulc(col, wLayout.colStride)),
                                      word)});
    };
    std::array<Value, 2> regs;
    for (int64_t h = 0; h < 2; ++h) {
      Value reg = x.addc(regBase, h);
      Value u;
      if (topShift) {
        assert(!offset && "signed weights have no zero point in operands");
        // S8 signed, p < 8: each slice's field moved from bit `shift` of
        // its byte to bit sl.shift + 8 - p (a rotation when the lane's
        // shift is known only at run time: the fields lie in [0, 8) of
        // each byte either way, so no field crosses into another byte's
        // mask), masked and ORed; flipping bit 7 then turns the offset
        // binary u << (8 - p) into the s8 w * 2^(8 - p). Two operations
        // per slice and register (shift, and-or) and one xor, where the
        // subtracted offset took four (shift, and, add, xor).
        for (const WeightSlice &sl : slices) {
          int64_t lanes = slotBits / sl.width / regsPerChunk;
          int64_t target = sl.shift + topShift;
          Value word = sliceWord(sl.word, x.divu(t, x.idx(lanes)));
          Value moved = word;
          if (lanes == 1) {
            // s8's register is h: the shift is a constant.
            int64_t by = target - sl.width * h;
            if (by > 0)
              moved = arith::ShLIOp::create(x.b, x.loc, word, x.i32(by));
            else if (by < 0)
              moved = arith::ShRUIOp::create(x.b, x.loc, word, x.i32(-by));
          } else {
            Value shift =
                x.mulc(x.addc(x.remu(t, x.idx(lanes)), h * lanes), sl.width);
            Value by = arith::IndexCastOp::create(
                x.b, x.loc, i32, x.sub(x.idx(32 + target), shift));
            moved = LLVM::FshlOp::create(x.b, x.loc, word, word, by);
          }
          Value part = arith::AndIOp::create(
              x.b, x.loc, moved,
              x.i32(int32_t(slotOnes * (((1u << sl.width) - 1) << target))));
          u = u ? arith::OrIOp::create(x.b, x.loc, u, part).getResult() : part;
        }
        regs[h] =
            arith::XOrIOp::create(x.b, x.loc, u, x.i32(int32_t(0x80808080u)));
        continue;
      }
      // F16, one 4-bit slice, the register r known when compiling: its
      // field lies at bit 4r of each half. At bit 4 it is used in place
      // (fieldAt4, see the F16 step below), so a word's four registers take
      // one shift (by 8, for r = 2, 3) rather than three.
      bool fieldAt4 = false;
      if (f16FieldsInPlace && (!st.dyn || st.dynScale == 2)) {
        int64_t r = 2 * (st.s % 2) + h, at = 4 * r % 8, pre = 4 * r - at;
        Value word = sliceWord(0, t);
        if (pre)
          word = arith::ShRUIOp::create(x.b, x.loc, word, x.i32(pre));
        u = arith::AndIOp::create(x.b, x.loc, word,
                                  x.i32(int32_t(0x000F000Fu << at)));
        fieldAt4 = at != 0;
      }
      // (Each slice below, unless the field was taken in place above.)
      for (const WeightSlice &sl : u ? ArrayRef<WeightSlice>() : slices) {
        // sliceField with this lane's t and a run-time register.
        int64_t fields = slotBits / sl.width;
        Value q, shift;
        if (fields >= regsPerChunk) {
          int64_t lanes = fields / regsPerChunk;
          q = x.divu(t, x.idx(lanes));
          shift = x.mulc(x.add(x.mulc(reg, lanes), x.remu(t, x.idx(lanes))),
                         sl.width);
        } else {
          q = x.add(x.mulc(x.divu(reg, x.idx(fields)), 4), t);
          shift = x.mulc(x.remu(reg, x.idx(fields)), sl.width);
        }
        Value part = arith::ShRUIOp::create(
            x.b, x.loc, sliceWord(sl.word, q),
            arith::IndexCastOp::create(x.b, x.loc, i32, shift));
        if (!(s8 && sl.width == 8))
          part = arith::AndIOp::create(
              x.b, x.loc, part,
              x.i32(int32_t(slotOnes * ((1u << sl.width) - 1))));
        if (sl.shift)
          part = arith::ShLIOp::create(x.b, x.loc, part, x.i32(sl.shift));
        u = u ? arith::OrIOp::create(x.b, x.loc, u, part).getResult() : part;
      }
      if (s8) {
        // Signed weights of 7 bits or fewer are packed as u = w + 2^(p-1)
        // (wMin = -2^(p-1)); without topShift (folds over more K than the
        // scaled sums allow) it is subtracted from each byte as a zero
        // point.
        Value subtrahend = offset;
        if (c.wMin) {
          assert(!offset && "signed weights have no zero point in operands");
          subtrahend = x.i32(int32_t(uint32_t(-c.wMin) * 0x01010101u));
        }
        // u - zw in each byte, without borrows between bytes: u and zw
        // lie in [0, 127], so 128 + u - zw lies in [1, 255], and flipping
        // bit 7 makes it the s8 u - zw.
        if (subtrahend) {
          Value high = x.i32(int32_t(0x80808080u));
          u = arith::OrIOp::create(x.b, x.loc, u, high);
          u = arith::XOrIOp::create(x.b, x.loc, x.sub(u, subtrahend), high);
        }
        regs[h] = u;
        continue;
      }
      if (!bf16) {
        u = arith::OrIOp::create(x.b, x.loc, u, x.i32(0x64006400));
        Value v = LLVM::BitcastOp::create(x.b, x.loc, half2, u);
        if (!fieldAt4) {
          regs[h] = arith::SubFOp::create(x.b, x.loc, v, offset);
          continue;
        }
        // 0x6400 | 16u is the f16 1024 + 16u: fma(v, 1/16, -(64 + zw -
        // wMin)) gives 64 + u - 64 - zw + wMin = w - zw exactly (integers
        // below 2048), with 960 - (1024 + zw - wMin) = -(64 + zw - wMin).
        Value addend =
            arith::SubFOp::create(x.b, x.loc, half2Splat(x, 960.0), offset);
        regs[h] =
            LLVM::FMAOp::create(x.b, x.loc, v, half2Splat(x, 1.0 / 16), addend);
        continue;
      }
      // BF16: the low seven bits in the mantissa of 128.0; an eighth
      // after, as b ? +0.0 : -128.0 in each half (0xC300 where clear).
      Value clear;
      if (c.p == 8) {
        Value top = arith::AndIOp::create(
            x.b, x.loc, arith::ShRUIOp::create(x.b, x.loc, u, x.i32(7)),
            x.i32(0x00010001));
        clear = arith::XOrIOp::create(x.b, x.loc, top, x.i32(0x00010001));
        u = arith::AndIOp::create(x.b, x.loc, u, x.i32(0x007F007F));
      }
      u = arith::OrIOp::create(x.b, x.loc, u, x.i32(0x43004300));
      Value v = LLVM::BitcastOp::create(x.b, x.loc, half2, u);
      v = bf16AddTo(x, v, offset);
      if (clear) {
        Value top = x.mul(clear, x.i32(0xC300));
        v = bf16AddTo(x, LLVM::BitcastOp::create(x.b, x.loc, half2, top), v);
      }
      regs[h] = LLVM::BitcastOp::create(x.b, x.loc, i32, v);
    }
    return regs;
  };

  // The warp's MMA k-steps i in [iBegin, iEnd) of the k-tile in `stage`
  // (step kw + warpsK * i with warps in K).
  auto kTileCompute = [&](OpBuilder &nb, Location l, Value stage,
                          int64_t iBegin, int64_t iEnd, ArrayRef<Value> offsets,
                          SmallVector<Value> acc) -> SmallVector<Value> {
    KB x{nb, l};
    for (int64_t i = iBegin; i < iEnd; ++i) {
      Step st;
      if (pairedSteps) {
        st.dyn = x.addc(kw, c.warpsK * (i / 2));
        st.dynScale = 2;
        st.s = i % 2;
      } else if (c.warpsK > 1) {
        st.dyn = x.addc(kw, c.warpsK * i);
      } else {
        st.s = i;
      }
      SmallVector<std::array<Value, 2>> bFrags;
      for (int64_t f = 0; f < c.nf(); ++f) {
        Value col = x.add(x.addc(warpCol, f * 8), g);
        bFrags.push_back(bFragment(x, stage, col, st,
                                   offsets.empty() ? Value() : offsets[f]));
      }
      for (int64_t mfI = 0; mfI < c.mf(); ++mfI) {
        Value row = x.add(x.addc(warpRow, mfI * 16), g);
        Value row8 = x.addc(row, 8);
        Value ch0 = x.mulc(physChunk(x, row, st.times(x, 2, 0)), 4);
        Value ch1 = x.mulc(physChunk(x, row, st.times(x, 2, 1)), 4);
        // Word `w` of row `r` (in [lo, lo + 8) of the warp's rows, which
        // start at row 0 where fewer rows are staged) of the k-tile: in its
        // stage, or (fused) in the quantized tile; zero for rows not staged.
        auto aWord = [&](Value r, int64_t lo, Value w) {
          if (lo >= aRows)
            return asOperand(x, x.i32(0));
          auto load = [&](Value rr) {
            return fused ? x.load(sQ, {rr, w}) : x.load(sA, {stage, rr, w});
          };
          if (lo + 8 <= aRows)
            return asOperand(x, load(r));
          Value v = load(x.minu(r, x.idx(aRows - 1)));
          return asOperand(x, arith::SelectOp::create(x.b, x.loc,
                                                      x.ult(r, x.idx(aRows)), v,
                                                      x.i32(0)));
        };
        int64_t lo = mfI * 16;
        SmallVector<Value> aFrag;
        if (!fused && lo + 16 <= aRows) {
          // All 16 rows staged: one ldmatrix.x4 for the four registers
          // (the swizzle keeps each matrix's eight rows on distinct banks).
          Value rowL = x.add(x.addc(warpRow, lo), ldmRow);
          Value chunkL = physChunk(x, rowL, x.add(st.times(x, 2, 0), ldmChunk));
          Value regs = nvgpu::LdMatrixOp::create(
              x.b, x.loc, VectorType::get({4, 1}, i32), sA,
              ValueRange{stage, rowL, x.mulc(chunkL, 4)},
              /*transpose=*/false, /*numTiles=*/4);
          for (int64_t i = 0; i < 4; ++i)
            aFrag.push_back(
                asOperand(x, vector::ExtractOp::create(
                                 x.b, x.loc, regs, ArrayRef<int64_t>{i, 0})));
        } else {
          aFrag = {aWord(row, lo, x.add(ch0, t)),
                   aWord(row8, lo + 8, x.add(ch0, t)),
                   aWord(row, lo, x.add(ch1, t)),
                   aWord(row8, lo + 8, x.add(ch1, t))};
        }
        for (int64_t f = 0; f < c.nf(); ++f) {
          int64_t a0 = (mfI * c.nf() + f) * 4;
          SmallVector<Value> cIn(acc.begin() + a0, acc.begin() + a0 + 4);
          Value res = NVVM::MmaOp::create(
              nb, l, structTy, aFrag, ValueRange{bFrags[f][0], bFrags[f][1]},
              cIn, {16, 8, c.mmaK()}, std::nullopt, overflow, ptxTypes,
              layouts);
          for (int64_t e = 0; e < 4; ++e)
            acc[a0 + e] = LLVM::ExtractValueOp::create(nb, l, res, e);
        }
      }
    }
    return acc;
  };

  // fused: the block's real rows (M <= BM: all of them from row 0).
  Value rowsHere = fused ? k.minu(k.sub(m, m0), k.idx(aRows)) : Value();
  // fused: the staged floats of the block's real rows -> operand bytes in
  // sQ, in the swizzled layout the fragment loads read: one value per
  // thread at a time (a decode row's k-tile keeps every thread busy), the
  // four bytes of a word gathered by two shuffles and stored by the first
  // of their four lanes. Rows beyond M are left as they are (their results
  // are masked). K's padding quantizes to 0 where the weights' padding is
  // not 0 (zwInOperands: -zw), else to the zero point.
  const bool zeroPadding = c.zwInOperands && c.kp != c.k;
  auto quantizeTile = [&](OpBuilder &nb, Location l, Value ktile, Value stage) {
    KB n{nb, l};
    const ActQuantSpec &f = *c.fusedQuant;
    Value byteIdx = n.remu(lane, n.idx(4));
    Value byteShift =
        arith::IndexCastOp::create(nb, l, i32, n.mulc(byteIdx, 8));
    Value firstOfWord = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                              byteIdx, n.idx(0));
    // `unroll` values per thread and iteration (kt is a multiple of the
    // block times that, so whole blocks iterate together), loaded and
    // quantized side by side so their latencies overlap.
    const int64_t unroll =
        std::max<int64_t>(1, std::min<int64_t>(4, c.kt / threads));
    assert(c.kt % (threads * unroll) == 0 && "whole blocks per iteration");
    scf::ForOp::create(
        nb, l, tid, n.mulc(rowsHere, c.kt), n.idx(threads * unroll),
        ValueRange{}, [&](OpBuilder &qb, Location ql, Value e0, ValueRange) {
          KB q{qb, ql};
          SmallVector<Value> rows, cols, vals;
          for (int64_t j = 0; j < unroll; ++j) {
            Value e = q.addc(e0, j * threads);
            rows.push_back(q.divu(e, q.idx(c.kt)));
            cols.push_back(q.remu(e, q.idx(c.kt)));
            vals.push_back(q.toF32(q.load(sA, {stage, rows[j], cols[j]})));
          }
          for (int64_t j = 0; j < unroll; ++j) {
            Value r = rows[j], col = cols[j];
            Value zp = f.symmetric ? q.f32(0)
                                   : arith::SIToFPOp::create(qb, ql, f32,
                                                             q.load(sZp, {r}))
                                         .getResult();
            Value byte = arith::AndIOp::create(
                qb, ql,
                quantizeValue(qb, ql, f, vals[j], q.load(sScale, {r}), zp),
                q.i32(0xFF));
            if (zeroPadding)
              byte = arith::SelectOp::create(
                  qb, ql, q.ult(q.add(q.mulc(ktile, c.kt), col), q.idx(c.k)),
                  byte, q.i32(0));
            Value word = arith::ShLIOp::create(qb, ql, byte, byteShift);
            for (int64_t off : {1, 2}) {
              Value other = gpu::ShuffleOp::create(qb, ql, word, off, 32,
                                                   gpu::ShuffleMode::XOR)
                                .getShuffleResult();
              word = arith::OrIOp::create(qb, ql, word, other);
            }
            auto store = scf::IfOp::create(qb, ql, firstOfWord,
                                           /*withElseRegion=*/false);
            OpBuilder::InsertionGuard g2(qb);
            qb.setInsertionPointToStart(&store.getThenRegion().front());
            Value w = q.divu(col, q.idx(4));
            Value chunk = physChunk(q, r, q.divu(w, q.idx(4)));
            memref::StoreOp::create(
                qb, ql, word, sQ,
                ValueRange{r, q.add(q.mulc(chunk, 4), q.remu(w, q.idx(4)))});
          }
          scf::YieldOp::create(qb, ql);
        });
  };

  // fused, not quantizing (hmma): the staged floats of the block's real rows
  // -> operand words in sQ (the swizzled layout the fragment loads read):
  // each thread converts a pair of values (rounded to nearest even) into one
  // word at a time, up to 4 pairs loaded first. K's padding was staged as
  // zeros, which stay zeros.
  auto convertTile = [&](OpBuilder &nb, Location l, Value stage) {
    KB n{nb, l};
    const int64_t pairs = c.kt / 2;
    const int64_t unroll =
        pairs % threads ? 1 : std::min<int64_t>(4, pairs / threads);
    auto toOperand = [&](KB &q, Value v) -> Value {
      if (v.getType() == halfType)
        return v;
      if (!v.getType().isF32())
        v = arith::ExtFOp::create(q.b, q.loc, f32, v);
      return arith::TruncFOp::create(q.b, q.loc, halfType, v);
    };
    scf::ForOp::create(
        nb, l, tid, n.mulc(rowsHere, pairs), n.idx(threads * unroll),
        ValueRange{}, [&](OpBuilder &qb, Location ql, Value e0, ValueRange) {
          KB q{qb, ql};
          SmallVector<Value> rows, words, lo, hi;
          for (int64_t j = 0; j < unroll; ++j) {
            Value e = q.addc(e0, j * threads);
            rows.push_back(q.divu(e, q.idx(pairs)));
            words.push_back(q.remu(e, q.idx(pairs)));
            Value col = q.mulc(words[j], 2);
            lo.push_back(q.load(sA, {stage, rows[j], col}));
            hi.push_back(q.load(sA, {stage, rows[j], q.addc(col, 1)}));
          }
          for (int64_t j = 0; j < unroll; ++j) {
            Value v = LLVM::PoisonOp::create(qb, ql, half2);
            v = LLVM::InsertElementOp::create(qb, ql, v, toOperand(q, lo[j]),
                                              q.i32(0));
            v = LLVM::InsertElementOp::create(qb, ql, v, toOperand(q, hi[j]),
                                              q.i32(1));
            Value word = LLVM::BitcastOp::create(qb, ql, i32, v);
            Value r = rows[j], w = words[j];
            Value chunk = physChunk(q, r, q.divu(w, q.idx(4)));
            memref::StoreOp::create(
                qb, ql, word, sQ,
                ValueRange{r, q.add(q.mulc(chunk, 4), q.remu(w, q.idx(4)))});
          }
          scf::YieldOp::create(qb, ql);
        });
  };

  // One k-tile: start the loads of tile kt + S - 1, wait for this one's
  // stage (one commit group per tile, committed even when empty so "S - 1
  // pending" always means "this tile has landed"), `compute` on the stage
  // (the loop's values in, their next values out), and fence the stage
  // before the next iteration's loads overwrite it.
  using StageCompute = function_ref<SmallVector<Value>(
      OpBuilder &, Location, Value, SmallVector<Value>)>;
  auto kTileBody = [&](OpBuilder &nb, Location l, Value ktile,
                       StageCompute compute,
                       SmallVector<Value> carried) -> SmallVector<Value> {
    KB n{nb, l};
    Value next = n.addc(ktile, c.stages - 1);
    auto ifLoad = scf::IfOp::create(nb, l, n.ult(next, tEnd),
                                    /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard g2(nb);
      nb.setInsertionPointToStart(&ifLoad.getThenRegion().front());
      issueLoads(nb, l, next, n.remu(next, n.idx(c.stages)));
    }
    NVVM::CpAsyncCommitGroupOp::create(nb, l);
    NVVM::CpAsyncWaitGroupOp::create(nb, l, c.stages - 1);
    gpu::BarrierOp::create(nb, l);
    Value stage = n.remu(ktile, n.idx(c.stages));
    if (fused) {
      if (quantizing)
        quantizeTile(nb, l, ktile, stage);
      else
        convertTile(nb, l, stage);
      gpu::BarrierOp::create(nb, l);
    }
    carried = compute(nb, l, stage, std::move(carried));
    gpu::BarrierOp::create(nb, l);
    return carried;
  };

  // Prologue: the block's first S-1 tiles in flight.
  for (int64_t s = 0; s + 1 < c.stages; ++s) {
    if (c.splitK > 1) {
      Value tile = k.addc(tFirst, s);
      auto inRange = scf::IfOp::create(b, loc, k.ult(tile, tEnd),
                                       /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&inRange.getThenRegion().front());
      issueLoads(b, loc, tile, k.remu(tile, k.idx(c.stages)));
    } else if (s < kTiles) {
      issueLoads(b, loc, k.idx(s), k.idx(s));
    }
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  }

  // quantizing: each real row's scale and zero point, computed by the
  // whole block from the row's range while the prologue's copies are in
  // flight.
  if (quantizing) {
    Value lane0 =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, k.idx(0));
    Value tid0 =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, k.idx(0));
    scf::ForOp::create(
        b, loc, k.idx(0), rowsHere, k.idx(1), ValueRange{},
        [&](OpBuilder &pb, Location pl, Value r, ValueRange) {
          KB x{pb, pl};
          Value row = x.add(m0, r);
          auto loadX = [&](OpBuilder &lb, Location ll, Value col) -> Value {
            KB y{lb, ll};
            return y.toF32(y.load(act, {row, col}));
          };
          RowQuantParams params =
              computeRowQuantParams(pb, pl, *c.fusedQuant, loadX, tid, warp,
                                    lane0, threads, c.k, sQuantRed);
          auto ifTid0 =
              scf::IfOp::create(pb, pl, tid0, /*withElseRegion=*/false);
          {
            OpBuilder::InsertionGuard g2(pb);
            pb.setInsertionPointToStart(&ifTid0.getThenRegion().front());
            memref::StoreOp::create(pb, pl, params.scale, sScale,
                                    ValueRange{r});
            if (params.zp)
              memref::StoreOp::create(
                  pb, pl, arith::FPToSIOp::create(pb, pl, i32, params.zp), sZp,
                  ValueRange{r});
          }
          // The scratch is written again for the next row.
          gpu::BarrierOp::create(pb, pl);
          scf::YieldOp::create(pb, pl);
        });
  }

  AccLayout layout{m0, n0, warpRow, warpCol, g, t, 16, c.nf()};
  // The offsets of the lane's NF columns in group gIdx (see bFragment):
  // hmma's as 16-bit float pairs, imma's zw in each byte (zwInOperands).
  auto groupOffsets = [&](KB &x, Value gIdx) {
    SmallVector<Value> offsets;
    if (s8 && !c.zwInOperands)
      return offsets;
    for (int64_t f = 0; f < c.nf(); ++f) {
      Value colC = x.minu(x.add(n0, x.add(x.addc(warpCol, f * 8), g)), nLast);
      Value zwV = loadParam(x, zwArg, c.zw, colC, colC, gIdx);
      if (s8) {
        offsets.push_back(x.mul(zwV, x.i32(0x01010101)));
        continue;
      }
      int64_t magic = !bf16 ? 1024 : c.p < 8 ? 128 : 0;
      Value off = x.i32(magic - c.wMin);
      if (zwV)
        off = x.add(off, zwV);
      Value h;
      if (bf16) {
        // Through f32: integer-to-bf16 conversion needs sm_90. Exact (below
        // 256 in magnitude), negated for the fma.
        off = x.sub(x.i32(0), off);
        h = arith::SIToFPOp::create(x.b, x.loc, f32, off);
        h = arith::TruncFOp::create(x.b, x.loc, halfType, h);
      } else {
        h = arith::SIToFPOp::create(x.b, x.loc, halfType, off);
      }
      Value v = LLVM::PoisonOp::create(x.b, x.loc, half2);
      for (int64_t e = 0; e < 2; ++e)
        v = LLVM::InsertElementOp::create(x.b, x.loc, v, h, x.i32(e));
      offsets.push_back(v);
    }
    return offsets;
  };
  // The sums of one group -> f32 accumulators (S8: zero-point corrections
  // and sw; F16: sw).
  bool intCorrectionsBoth = c.actRowSums() && c.za != ParamKind::None;
  auto groupScales = [&](KB &x, Value gIdx) {
    return loadGroupScales(x, layout, ep, mLast, nLast, gIdx, nAcc);
  };
  // `sw`: the group's scales loaded ahead (groupScales), or empty to load
  // them here.
  // topShift: the int32 sums of a * w * 2^topShift shifted back to sums of
  // a * w (exact: every term is a multiple of 2^topShift; the scaled sum
  // fits i32 since |a| <= 255, |w| 2^topShift <= 128 and the fold spans at
  // most kMaxScaledFold K, as for W8A8).
  auto unshift = [&](KB &n, SmallVector<Value> sums) {
    if (topShift)
      for (Value &v : sums)
        v = arith::ShRSIOp::create(n.b, n.loc, v, n.i32(topShift));
    return sums;
  };
  auto fold = [&](OpBuilder &nb, Location l, Value gIdx, ValueRange acc,
                  SmallVector<Value> facc, ArrayRef<Value> sw) {
    KB n{nb, l};
    if (s8 && intGroupSums) {
      // Every warp adds up the group's sums of all warps in K (in order);
      // the first folds them, with the corrections, the others add 0.
      for (int64_t a = 0; a < nAcc; ++a)
        memref::StoreOp::create(nb, l, acc[a], sGroupSums,
                                ValueRange{warp, n.idx(a), lane});
      gpu::BarrierOp::create(nb, l);
      SmallVector<Value> total(nAcc);
      for (int64_t a = 0; a < nAcc; ++a)
        for (int64_t j = 0; j < c.warpsK; ++j) {
          Value v =
              n.load(sGroupSums, {n.addc(wmn, j * warpsMN), n.idx(a), lane});
          total[a] = j ? n.add(total[a], v) : v;
        }
      // The sums are read before the next group writes them.
      gpu::BarrierOp::create(nb, l);
      for (int64_t a = 0; a < nAcc; ++a)
        total[a] = arith::SelectOp::create(nb, l, firstInK, total[a], n.i32(0));
      return foldIntGroup(n, layout, ep, mLast, nLast, gIdx,
                          unshift(n, std::move(total)), std::move(facc),
                          firstInK, sw);
    }
    if (s8)
      return foldIntGroup(n, layout, ep, mLast, nLast, gIdx,
                          unshift(n, SmallVector<Value>(acc)), std::move(facc),
                          firstInK, sw);
    SmallVector<Value> scales(sw);
    if (scales.empty())
      scales = groupScales(n, gIdx);
    for (int64_t a = 0; a < nAcc; ++a) {
      Value f = arith::MulFOp::create(nb, l, acc[a], scales[a]);
      facc[a] =
          facc[a] ? arith::AddFOp::create(nb, l, facc[a], f).getResult() : f;
    }
    return facc;
  };

  Value zeroAcc = s8 ? k.i32(0) : k.f32(0.0);
  SmallVector<Value> zeros(nAcc, zeroAcc);
  SmallVector<Value> fzeros(nAcc, k.f32(0.0));
  const int64_t warpSteps = c.subSteps() / c.warpsK;
  scf::ForOp outer;
  if (groupsPerTile == 1) {
    // Groups, each of whole k-tiles: the tiles' exact sums, folded at the
    // group's end.
    outer = scf::ForOp::create(
        b, loc, gBegin, gEnd, k.idx(1), fzeros,
        [&](OpBuilder &ob, Location l, Value gIdx, ValueRange fIn) {
          KB o{ob, l};
          SmallVector<Value> offsets = groupOffsets(o, gIdx);
          // With groups, the group's scales are loaded before its k-tiles,
          // so the fold at its end does not wait on memory (per channel,
          // the one fold at the end loads them). Not for imma with row-sum
          // corrections for zero points on both operands, which already
          // hold the most registers: there the 8 more live values made
          // ptxas spill (W8A8, groups of 128, sm_80: 212 bytes in the
          // 64-row tile).
          SmallVector<Value> sw;
          if (grouped && !intCorrectionsBoth)
            sw = groupScales(o, gIdx);
          Value first = grouped ? o.mulc(gIdx, tilesPerGroup) : tFirst;
          Value last = grouped ? o.addc(first, tilesPerGroup) : tEnd;
          auto inner = scf::ForOp::create(
              ob, l, first, last, o.idx(1), zeros,
              [&](OpBuilder &nb, Location l2, Value kt, ValueRange acc) {
                auto compute = [&](OpBuilder &cb, Location cl, Value stage,
                                   SmallVector<Value> a) {
                  return kTileCompute(cb, cl, stage, 0, warpSteps, offsets,
                                      std::move(a));
                };
                scf::YieldOp::create(
                    nb, l2,
                    kTileBody(nb, l2, kt, compute, SmallVector<Value>(acc)));
              });
          scf::YieldOp::create(ob, l,
                               fold(ob, l, gIdx, inner.getResults(),
                                    SmallVector<Value>(fIn), sw));
        });
  } else {
    // k-tiles of whole groups (decode tiles): each group's steps of the
    // tile, folded as they end.
    const int64_t groupSteps = warpSteps / groupsPerTile;
    outer = scf::ForOp::create(
        b, loc, tFirst, tEnd, k.idx(1), fzeros,
        [&](OpBuilder &ob, Location l, Value kt, ValueRange fIn) {
          auto compute = [&](OpBuilder &cb, Location cl, Value stage,
                             SmallVector<Value> facc) {
            KB x{cb, cl};
            for (int64_t j = 0; j < groupsPerTile; ++j) {
              Value gIdx = x.addc(x.mulc(kt, groupsPerTile), j);
              SmallVector<Value> acc = kTileCompute(
                  cb, cl, stage, j * groupSteps, (j + 1) * groupSteps,
                  groupOffsets(x, gIdx), zeros);
              facc = fold(cb, cl, gIdx, acc, std::move(facc), {});
            }
            return facc;
          };
          scf::YieldOp::create(
              ob, l, kTileBody(ob, l, kt, compute, SmallVector<Value>(fIn)));
        });
  }
  SmallVector<Value> facc(outer.getResults());
  auto epilogue = [&](ArrayRef<Value> sums) {
    storeEpilogue(k, layout, ep, m, mLast, c.n, sums,
                  c.splitK > 1 ? Type(f32) : c.outType, out,
                  c.splitK > 1 ? k.mul(zIdx, m) : Value());
  };
  if (c.warpsK == 1) {
    epilogue(facc);
    return func;
  }
  // The warps in K add their sums through shared memory, in a fixed order
  // (kw = 0, 1, ...), and the first stores.
  for (int64_t a = 0; a < nAcc; ++a)
    memref::StoreOp::create(b, loc, facc[a], sRed,
                            ValueRange{warp, k.idx(a), lane});
  gpu::BarrierOp::create(b, loc);
  auto ifFirst = scf::IfOp::create(b, loc, firstInK, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
  for (int64_t a = 0; a < nAcc; ++a)
    for (int64_t j = 1; j < c.warpsK; ++j)
      facc[a] = arith::AddFOp::create(
          b, loc, facc[a],
          k.load(sRed, {k.addc(warp, j * warpsMN), k.idx(a), lane}));
  epilogue(facc);
  return func;
}
