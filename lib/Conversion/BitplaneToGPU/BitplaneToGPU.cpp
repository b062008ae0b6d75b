//===- BitplaneToGPU.cpp - WpAq matmuls as binary tensor-core kernels -----===//
//
// The GPU lowering of the bit-plane decomposition (see docs/bitplane.md):
//
//   sum_k a[m, k] w[n, k] = sum_{i, j} c_i c_j 2^(i+j) popcount(A_j[m] &
//   W_i[n])
//
// Every qopt.qmatmul with integer activations becomes kernels in one
// gpu.module: a pack kernel (activations to bit planes), a row-sum kernel
// (for zero points), and the binary MMA kernel. The MMA kernel tiles the
// output in blocks of BM x BN; each k-step (256 bits) stages the Q activation
// planes and P weight planes of the block in shared memory through a
// multi-stage cp.async pipeline; every warp then issues one
// `mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc` (or two
// m8n8k128 for small M) per fragment and plane pair and adds the result,
// shifted by i + j (subtracted for one sign plane), into s32 registers. At
// each weight group's end the exact integer sums get their zero-point
// corrections and are scaled into f32 registers; the activation scale, the
// bias and the conversion to the output type come last, before one store.
//
// Fragment layouts (PTX ISA, b1): with g = lane / 4 and t = lane % 4, for
// m16n8k256 a0..a3 hold row g, g + 8, g, g + 8 at K bits 32t..32t+31 (a0,
// a1) and 128 + 32t.. (a2, a3); b0, b1 hold column g at K bits 32t.. and
// 128 + 32t..; c0..c3 hold (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1). With
// K packed in 32-bit words (bit b of word w is element 32w + b) every
// register is exactly one packed word: no shuffling.
//
//===----------------------------------------------------------------------===//

#include "qopt/Conversion/Passes.h"
#include "qopt/Dialect/Qopt/IR/ConstantValues.h"
#include "qopt/Dialect/Qopt/IR/QoptDialect.h"

#include "ActivationQuant.h"
#include "DequantMmaKernels.h"
#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>

namespace qopt {
#define GEN_PASS_DEF_CONVERTBITPLANETOGPU
#include "qopt/Conversion/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;
using namespace qopt::gpu_kernels;

namespace {

/// Everything one BMMA kernel is specialized on.
struct BmmaConfig {
  int64_t p = 0, q = 0; // weight / activation bits (planes)
  bool wSigned = false, aSigned = false;
  int64_t n = 0, k = 0;  // output channels, real K
  int64_t kw = 0;        // packed words per row (K padded to 256 bits)
  int64_t groupSize = 0; // bits per weight group, 0: one group
  int64_t groups = 1;
  bool smallM = false; // m8n8k128 instead of m16n8k256
  int64_t splitK = 1;  // parts of K on blockIdx.z (f32 partial sums out)
  bool chain = false;  // loop over shifts, chaining MMAs (else over act planes)
  int64_t bm = 64, bn = 64, warpsM = 2, warpsN = 2, stages = 2;
  ParamKind sa = ParamKind::None, za = ParamKind::None;
  ParamKind sw = ParamKind::None, zw = ParamKind::None;
  bool bias = false;
  Type outType;
  Type saType, swType, biasType;

  int64_t mmaM() const { return smallM ? 8 : 16; }
  int64_t threads() const { return warpsM * warpsN * 32; }
  int64_t warpM() const { return bm / warpsM; }
  int64_t warpN() const { return bn / warpsN; }
  int64_t mf() const { return warpM() / mmaM(); }
  int64_t nf() const { return warpN() / 8; }
  int64_t accPerFrag() const { return mmaM() / 4; } // s32 per thread
  int64_t stageBytes() const { return (q * bm + p * bn) * 32; }
};

/// src [R, K] i8 -> planes [B, R, KW] i32: one thread per (row, word).
static gpu::GPUFuncOp buildPackKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      MemRefType srcType, MemRefType dstType,
                                      int64_t bits, int64_t kReal, int64_t kw) {
  OpBuilder::InsertionGuard guard(b);
  ItemKernel ik =
      buildItemKernel(b, loc, module, name, {srcType, dstType}, 0, kw);
  KB k{b, loc};
  Value src = ik.func.getArgument(0), dst = ik.func.getArgument(1);
  Value r = ik.row, w = ik.item;
  Value base = k.mulc(w, 32);
  SmallVector<Value> init(bits, k.i32(0));
  auto loop = scf::ForOp::create(
      b, loc, k.idx(0), k.idx(32), k.idx(1), init,
      [&](OpBuilder &nb, Location l, Value t, ValueRange words) {
        KB n{nb, l};
        Value kk = n.add(base, t);
        Value valid = n.ult(kk, n.idx(kReal));
        Value v = n.load(src, {r, n.minu(kk, n.idx(kReal - 1))});
        v = arith::ExtUIOp::create(nb, l, nb.getI32Type(), v);
        v = arith::SelectOp::create(nb, l, valid, v, n.i32(0));
        Value t32 = arith::IndexCastOp::create(nb, l, nb.getI32Type(), t);
        SmallVector<Value> next;
        for (int64_t bit = 0; bit < bits; ++bit) {
          Value x =
              bit ? arith::ShRUIOp::create(nb, l, v, n.i32(bit)).getResult()
                  : v;
          x = arith::AndIOp::create(nb, l, x, n.i32(1));
          x = arith::ShLIOp::create(nb, l, x, t32);
          next.push_back(arith::OrIOp::create(nb, l, words[bit], x));
        }
        scf::YieldOp::create(nb, l, next);
      });
  for (int64_t bit = 0; bit < bits; ++bit)
    memref::StoreOp::create(b, loc, loop.getResult(bit), dst,
                            ValueRange{k.idx(bit), r, w});
  return ik.func;
}

/// src [R, K] i8 -> sums [R, G] i32 of each group: one thread per (row,
/// group).
static gpu::GPUFuncOp buildRowSumKernel(OpBuilder &b, Location loc,
                                        gpu::GPUModuleOp module, StringRef name,
                                        MemRefType srcType, MemRefType dstType,
                                        bool isSigned, int64_t groupLen,
                                        int64_t groups) {
  OpBuilder::InsertionGuard guard(b);
  ItemKernel ik =
      buildItemKernel(b, loc, module, name, {srcType, dstType}, 0, groups);
  KB k{b, loc};
  Value src = ik.func.getArgument(0), dst = ik.func.getArgument(1);
  Value r = ik.row, g = ik.item;
  Value start = k.mulc(g, groupLen);
  auto loop = scf::ForOp::create(
      b, loc, start, k.add(start, k.idx(groupLen)), k.idx(1),
      ValueRange{k.i32(0)},
      [&](OpBuilder &nb, Location l, Value kk, ValueRange acc) {
        KB n{nb, l};
        Value v = n.load(src, {r, kk});
        v = isSigned
                ? arith::ExtSIOp::create(nb, l, nb.getI32Type(), v).getResult()
                : arith::ExtUIOp::create(nb, l, nb.getI32Type(), v).getResult();
        scf::YieldOp::create(nb, l, ValueRange{n.add(acc[0], v)});
      });
  memref::StoreOp::create(b, loc, loop.getResult(0), dst, ValueRange{r, g});
  return ik.func;
}

/// Index of a scale/zero point for output element (row, col) in group g.
/// The binary MMA kernel with its fused epilogue.
///
/// Arguments: act planes [Q, M, KW], weight planes [P, N, KW], then the
/// optional act row sums [M, G] (with zw), weight row sums [N, G] (with za),
/// sa, za, sw, zw, bias (those present), and out [M, N].
static gpu::GPUFuncOp buildBmmaKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const BmmaConfig &c,
                                      ArrayRef<Type> argTypes) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto sAType = MemRefType::get({c.stages, c.q, c.bm, 8}, i32,
                                MemRefLayoutAttrInterface{}, shared);
  auto sWType = MemRefType::get({c.stages, c.p, c.bn, 8}, i32,
                                MemRefLayoutAttrInterface{}, shared);
  const int64_t threads = c.threads();
  auto func = makeKernel(b, loc, module, name, argTypes, threads,
                         TypeRange{sAType, sWType});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(func.getBody().front().getTerminator());
  KB k{b, loc};

  unsigned arg = 0;
  Value aPlanes = func.getArgument(arg++), wPlanes = func.getArgument(arg++);
  Value rowSumA = c.zw != ParamKind::None ? func.getArgument(arg++) : Value();
  Value rowSumW = c.za != ParamKind::None ? func.getArgument(arg++) : Value();
  Value sa = c.sa != ParamKind::None ? func.getArgument(arg++) : Value();
  Value za = c.za != ParamKind::None ? func.getArgument(arg++) : Value();
  Value sw = func.getArgument(arg++);
  Value zw = c.zw != ParamKind::None ? func.getArgument(arg++) : Value();
  Value bias = c.bias ? func.getArgument(arg++) : Value();
  Value out = func.getArgument(arg++);
  Value sA = func.getWorkgroupAttributions()[0];
  Value sW = func.getWorkgroupAttributions()[1];

  Value m = memref::DimOp::create(b, loc, aPlanes, 1);
  Value mLast = k.sub(m, k.idx(1));
  Value nLast = k.idx(c.n - 1);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value m0 = k.mulc(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x), c.bm);
  Value n0 = k.mulc(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y), c.bn);
  Value warp = k.divu(tid, k.idx(32)), lane = k.remu(tid, k.idx(32));
  Value wm = k.divu(warp, k.idx(c.warpsN)), wn = k.remu(warp, k.idx(c.warpsN));
  Value g = k.divu(lane, k.idx(4)), t = k.remu(lane, k.idx(4));
  // 16-byte swizzle: rows 4..7 of every 8 swap their two halves, so the
  // eight rows a fragment load touches hit 32 distinct banks.
  auto swizzle = [&](Value row) {
    return k.remu(k.divu(row, k.idx(4)), k.idx(2));
  };
  Value gSw = swizzle(g);
  // Word offset of half h (0: K bits 0..127, 1: 128..255) for this lane.
  auto halfWord = [&](int64_t h) {
    Value hh = arith::XOrIOp::create(b, loc, gSw, k.idx(h));
    return k.add(k.mulc(hh, 4), t);
  };
  Value word0 = halfWord(0), word1 = halfWord(1);
  Value warpRow = k.mulc(wm, c.warpM()), warpCol = k.mulc(wn, c.warpN());

  // --- cp.async tile loads of one k-step into one stage ---------------
  int64_t kSteps = c.kw / 8;
  auto issueLoads = [&](OpBuilder &nb, Location l, Value kstep, Value stage) {
    KB n{nb, l};
    SmallVector<Value> tokens;
    auto copies = [&](Value src, Value dst, int64_t planes, int64_t rows,
                      Value origin, Value last) {
      int64_t chunks = planes * rows * 2;
      for (int64_t base = 0; base < chunks; base += threads) {
        Value cIdx = n.addc(tid, base);
        OpBuilder::InsertionGuard g2(nb);
        if (base + threads > chunks) {
          auto guardIf = scf::IfOp::create(nb, l, n.ult(cIdx, n.idx(chunks)),
                                           /*withElseRegion=*/false);
          nb.setInsertionPointToStart(&guardIf.getThenRegion().front());
        }
        Value plane = n.divu(cIdx, n.idx(rows * 2));
        Value r = n.remu(n.divu(cIdx, n.idx(2)), n.idx(rows));
        Value h = n.remu(cIdx, n.idx(2));
        Value srcRow = n.minu(n.add(origin, r), last);
        Value srcWord = n.add(n.mulc(kstep, 8), n.mulc(h, 4));
        Value dstHalf = arith::XOrIOp::create(nb, l, h, swizzle(r));
        auto copy = nvgpu::DeviceAsyncCopyOp::create(
            nb, l, nvgpu::DeviceAsyncTokenType::get(ctx), dst,
            ValueRange{stage, plane, r, n.mulc(dstHalf, 4)}, src,
            ValueRange{plane, srcRow, srcWord}, nb.getIndexAttr(4),
            /*srcElements=*/Value(), /*bypassL1=*/nb.getUnitAttr());
        tokens.push_back(copy.getAsyncToken());
      }
    };
    copies(aPlanes, sA, c.q, c.bm, m0, mLast);
    copies(wPlanes, sW, c.p, c.bn, n0, nLast);
    (void)tokens;
  };
  // One commit group per k-step, committed even when it is empty (past
  // the last k-step) so that "wait until S-1 groups are pending" always
  // means "this k-step has landed".
  auto commit = [&](OpBuilder &nb, Location l) {
    NVVM::CpAsyncCommitGroupOp::create(nb, l);
  };

  // The block's part of K (all of it without split-K).
  KRange range = blockKRange(k, kSteps, c.groups, c.splitK);
  // Prologue: the block's first S-1 k-steps in flight.
  for (int64_t s = 0; s + 1 < c.stages; ++s) {
    if (range.split) {
      Value step = k.addc(range.first, s);
      auto inRange = scf::IfOp::create(b, loc, k.ult(step, range.end),
                                       /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(&inRange.getThenRegion().front());
      issueLoads(b, loc, step, k.remu(step, k.idx(c.stages)));
    } else if (s < kSteps) {
      issueLoads(b, loc, k.idx(s), k.idx(s));
    }
    commit(b, loc);
  }

  int64_t nAcc = c.mf() * c.nf() * c.accPerFrag();
  bool grouped = c.groups > 1;
  int64_t stepsPerGroup = kSteps / c.groups;
  auto structTy = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(c.smallM ? 2 : 4, i32));
  NVVM::MMATypes b1 = NVVM::MMATypes::b1;
  std::array<NVVM::MMATypes, 2> ptxTypes = {b1, b1};
  std::array<NVVM::MMALayout, 2> layouts = {NVVM::MMALayout::row,
                                            NVVM::MMALayout::col};
  // One 256-bit k-step of the binary product of an A and a B fragment onto
  // the accumulators `cIn` (accPerFrag values): one m16n8k256, or two
  // m8n8k128 chained through C for small M. Returns the new accumulators.
  auto mmaStep = [&](OpBuilder &pb, Location pl, ArrayRef<Value> aFrag,
                     const std::array<Value, 2> &bFrag,
                     ArrayRef<Value> cIn) -> SmallVector<Value> {
    auto mma = [&](ValueRange a, ValueRange bv, ValueRange acc,
                   ArrayRef<int64_t> shape) {
      Value res = NVVM::MmaOp::create(pb, pl, structTy, a, bv, acc, shape,
                                      NVVM::MMAB1Op::and_popc, std::nullopt,
                                      ptxTypes, layouts);
      SmallVector<Value> out;
      for (int64_t e = 0; e < c.accPerFrag(); ++e)
        out.push_back(LLVM::ExtractValueOp::create(pb, pl, res, e));
      return out;
    };
    if (!c.smallM)
      return mma(aFrag, ValueRange{bFrag[0], bFrag[1]}, cIn, {16, 8, 256});
    SmallVector<Value> mid =
        mma(ValueRange{aFrag[0]}, ValueRange{bFrag[0]}, cIn, {8, 8, 128});
    return mma(ValueRange{aFrag[1]}, ValueRange{bFrag[1]}, mid, {8, 8, 128});
  };

  auto noUnroll = LLVM::LoopAnnotationAttr::get(
      ctx, {}, {}, {},
      LLVM::LoopUnrollAttr::get(ctx, b.getBoolAttr(true), {}, {}, {}, {}, {},
                                {}),
      {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});
  // The P*Q binary MMAs per fragment of one k-step (in shared memory stage
  // `stage`), as a loop over the activation planes.
  auto kStepActLoop = [&](OpBuilder &nb, Location l, Value stage,
                          SmallVector<Value> acc) -> SmallVector<Value> {
    KB n{nb, l};
    // B fragments of weight plane i: [nf][half].
    auto loadB = [&](KB &x, int64_t i) {
      SmallVector<std::array<Value, 2>> frag;
      for (int64_t f = 0; f < c.nf(); ++f) {
        Value col = x.add(x.addc(warpCol, f * 8), g);
        frag.push_back({x.load(sW, {stage, x.idx(i), col, word0}),
                        x.load(sW, {stage, x.idx(i), col, word1})});
      }
      return frag;
    };
    // Few weight planes: their B fragments stay in registers for the whole
    // k-step; many (W8): reloaded from shared memory per activation plane.
    bool holdB = c.p * c.nf() * 2 <= 32;
    SmallVector<SmallVector<std::array<Value, 2>>> heldB;
    if (holdB)
      for (int64_t i = 0; i < c.p; ++i)
        heldB.push_back(loadB(n, i));
    // The activation planes are a loop, not unrolled: one plane's A
    // fragments and P * MF * NF MMAs are live at a time, which bounds the
    // register pressure however many k-steps there are (a single k-step
    // used to become one basic block of P * Q * MF * NF MMAs and spill).
    // Each product is scaled by c_i c_j 2^(i+j) with one multiply-add.
    auto planeLoop = scf::ForOp::create(
        nb, l, n.idx(0), n.idx(c.q), n.idx(1), acc,
        [&](OpBuilder &pb, Location pl, Value j, ValueRange accIn) {
          KB x{pb, pl};
          SmallVector<Value> accJ(accIn);
          Value zero = x.i32(0);
          Value j32 = arith::IndexCastOp::create(pb, pl, pb.getI32Type(), j);
          Value coefJ = arith::ShLIOp::create(pb, pl, x.i32(1), j32);
          if (c.aSigned) {
            Value isSign = arith::CmpIOp::create(
                pb, pl, arith::CmpIPredicate::eq, j, x.idx(c.q - 1));
            coefJ = arith::SelectOp::create(pb, pl, isSign, x.sub(zero, coefJ),
                                            coefJ);
          }
          SmallVector<SmallVector<Value>> aFrags;
          for (int64_t mfI = 0; mfI < c.mf(); ++mfI) {
            Value row = x.add(x.addc(warpRow, mfI * c.mmaM()), g);
            if (c.smallM) {
              aFrags.push_back({x.load(sA, {stage, j, row, word0}),
                                x.load(sA, {stage, j, row, word1})});
            } else {
              Value row8 = x.addc(row, 8);
              aFrags.push_back({x.load(sA, {stage, j, row, word0}),
                                x.load(sA, {stage, j, row8, word0}),
                                x.load(sA, {stage, j, row, word1}),
                                x.load(sA, {stage, j, row8, word1})});
            }
          }
          for (int64_t i = 0; i < c.p; ++i) {
            SmallVector<std::array<Value, 2>> bFrag =
                holdB ? heldB[i] : loadB(x, i);
            Value coef =
                i ? arith::ShLIOp::create(pb, pl, coefJ, x.i32(i)).getResult()
                  : coefJ;
            if (c.wSigned && i == c.p - 1)
              coef = x.sub(zero, coef);
            for (int64_t mfI = 0; mfI < c.mf(); ++mfI) {
              ArrayRef<Value> aFrag = aFrags[mfI];
              for (int64_t f = 0; f < c.nf(); ++f) {
                SmallVector<Value> d =
                    mmaStep(pb, pl, aFrag, bFrag[f],
                            SmallVector<Value>(c.accPerFrag(), zero));
                for (int64_t e = 0; e < c.accPerFrag(); ++e) {
                  int64_t a = (mfI * c.nf() + f) * c.accPerFrag() + e;
                  accJ[a] = x.add(accJ[a], x.mul(d[e], coef));
                }
              }
            }
          }
          scf::YieldOp::create(pb, pl, accJ);
        });
    // Keep it a loop down to PTX (`.pragma "nounroll"`): convert-scf-to-cf
    // forwards LLVM-dialect attributes to the loop's branch.
    planeLoop->setAttr("loop_annotation", noUnroll);
    acc.assign(planeLoop.getResults().begin(), planeLoop.getResults().end());
    return acc;
  };

  // The same k-step as a loop over the shifts s = i + j: the pairs of one
  // shift and sign are chained through the MMA accumulator (C = the previous
  // pair's D), then added once: acc += (pos - neg) << s. Per shift and
  // static weight plane i, the activation plane j = s - i is either a
  // regular plane or (signed activations) the sign plane; each case is a
  // uniform scf.if, so every chain's sign is static.
  auto kStepChained = [&](OpBuilder &nb, Location l, Value stage,
                          SmallVector<Value> acc) -> SmallVector<Value> {
    KB n{nb, l};
    auto loadB = [&](KB &x, int64_t i) {
      SmallVector<std::array<Value, 2>> frag;
      for (int64_t f = 0; f < c.nf(); ++f) {
        Value col = x.add(x.addc(warpCol, f * 8), g);
        frag.push_back({x.load(sW, {stage, x.idx(i), col, word0}),
                        x.load(sW, {stage, x.idx(i), col, word1})});
      }
      return frag;
    };
    bool anyNeg = c.wSigned || c.aSigned;
    // Two chains (64 registers) leave less room: hold B for P <= 2 only.
    bool holdB = c.p * c.nf() * 2 <= (anyNeg ? 16 : 32);
    SmallVector<SmallVector<std::array<Value, 2>>> heldB;
    if (holdB)
      for (int64_t i = 0; i < c.p; ++i)
        heldB.push_back(loadB(n, i));
    int64_t qRegular = c.aSigned ? c.q - 1 : c.q;
    auto shiftLoop = scf::ForOp::create(
        nb, l, n.idx(0), n.idx(c.p + c.q - 1), n.idx(1), acc,
        [&](OpBuilder &pb, Location pl, Value s, ValueRange accIn) {
          KB x{pb, pl};
          Value zero = x.i32(0);
          SmallVector<Value> pos(nAcc, zero), neg(nAcc, zero);
          // Chains the pairs (i, s - i) for s in [i + lo, i + hi) into
          // `chain` when the activation plane is in range.
          auto pairs = [&](int64_t i, Value cond, SmallVector<Value> &chain) {
            SmallVector<Type> types(nAcc, pb.getI32Type());
            auto ifOp = scf::IfOp::create(pb, pl, types, cond,
                                          /*withElseRegion=*/true);
            {
              OpBuilder::InsertionGuard g2(pb);
              pb.setInsertionPointToStart(&ifOp.getElseRegion().front());
              scf::YieldOp::create(pb, pl, chain);
              pb.setInsertionPointToStart(&ifOp.getThenRegion().front());
              KB y{pb, pl};
              Value j = y.sub(s, y.idx(i));
              SmallVector<std::array<Value, 2>> bFrag =
                  holdB ? heldB[i] : loadB(y, i);
              SmallVector<Value> next(chain);
              for (int64_t mfI = 0; mfI < c.mf(); ++mfI) {
                Value row = y.add(y.addc(warpRow, mfI * c.mmaM()), g);
                SmallVector<Value> aFrag;
                if (c.smallM) {
                  aFrag = {y.load(sA, {stage, j, row, word0}),
                           y.load(sA, {stage, j, row, word1})};
                } else {
                  Value row8 = y.addc(row, 8);
                  aFrag = {y.load(sA, {stage, j, row, word0}),
                           y.load(sA, {stage, j, row8, word0}),
                           y.load(sA, {stage, j, row, word1}),
                           y.load(sA, {stage, j, row8, word1})};
                }
                for (int64_t f = 0; f < c.nf(); ++f) {
                  int64_t a0 = (mfI * c.nf() + f) * c.accPerFrag();
                  SmallVector<Value> cIn(next.begin() + a0,
                                         next.begin() + a0 + c.accPerFrag());
                  SmallVector<Value> d = mmaStep(pb, pl, aFrag, bFrag[f], cIn);
                  for (int64_t e = 0; e < c.accPerFrag(); ++e)
                    next[a0 + e] = d[e];
                }
              }
              scf::YieldOp::create(pb, pl, next);
            }
            chain.assign(ifOp.getResults().begin(), ifOp.getResults().end());
          };
          for (int64_t i = 0; i < c.p; ++i) {
            bool wSign = c.wSigned && i == c.p - 1;
            // Regular activation planes: 0 <= s - i < qRegular.
            Value regular = arith::AndIOp::create(
                pb, pl,
                arith::CmpIOp::create(pb, pl, arith::CmpIPredicate::uge, s,
                                      x.idx(i)),
                x.ult(s, x.idx(i + qRegular)));
            pairs(i, regular, wSign ? neg : pos);
            if (c.aSigned) {
              Value sign = arith::CmpIOp::create(
                  pb, pl, arith::CmpIPredicate::eq, s, x.idx(i + c.q - 1));
              pairs(i, sign, wSign ? pos : neg);
            }
          }
          Value s32 = arith::IndexCastOp::create(pb, pl, pb.getI32Type(), s);
          Value coef = arith::ShLIOp::create(pb, pl, x.i32(1), s32);
          SmallVector<Value> accS(accIn);
          for (int64_t a = 0; a < nAcc; ++a) {
            Value v = anyNeg ? x.sub(pos[a], neg[a]) : pos[a];
            accS[a] = x.add(accS[a], x.mul(v, coef));
          }
          scf::YieldOp::create(pb, pl, accS);
        });
    shiftLoop->setAttr("loop_annotation", noUnroll);
    acc.assign(shiftLoop.getResults().begin(), shiftLoop.getResults().end());
    return acc;
  };

  // One k-step: start the loads of k-step ks + S - 1, wait for this one's
  // stage, P*Q binary MMAs per fragment.
  auto kStepBody = [&](OpBuilder &nb, Location l, Value ks,
                       SmallVector<Value> acc) -> SmallVector<Value> {
    KB n{nb, l};
    Value next = n.addc(ks, c.stages - 1);
    auto ifLoad = scf::IfOp::create(
        nb, l, n.ult(next, range.split ? range.end : n.idx(kSteps)),
        /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard g2(nb);
      nb.setInsertionPointToStart(&ifLoad.getThenRegion().front());
      issueLoads(nb, l, next, n.remu(next, n.idx(c.stages)));
    }
    commit(nb, l);
    NVVM::CpAsyncWaitGroupOp::create(nb, l, c.stages - 1);
    gpu::BarrierOp::create(nb, l);
    Value stage = n.remu(ks, n.idx(c.stages));
    acc = c.chain ? kStepChained(nb, l, stage, std::move(acc))
                  : kStepActLoop(nb, l, stage, std::move(acc));
    // The next iteration's loads overwrite the stage read here.
    gpu::BarrierOp::create(nb, l);
    return acc;
  };

  AccLayout layout{m0, n0, warpRow, warpCol, g, t, c.mmaM(), c.nf()};
  EpilogueParams ep;
  ep.sa = sa, ep.za = za, ep.sw = sw, ep.zw = zw, ep.bias = bias;
  ep.rowSumA = rowSumA, ep.rowSumW = rowSumW;
  ep.saKind = c.sa, ep.zaKind = c.za, ep.swKind = c.sw, ep.zwKind = c.zw;
  ep.groupLen = c.groupSize ? c.groupSize : c.k;
  // `sw`: the group's scales loaded ahead (loadGroupScales), or empty.
  auto fold = [&](OpBuilder &nb, Location l, Value gIdx, ValueRange acc,
                  SmallVector<Value> facc, ArrayRef<Value> sw = {}) {
    KB n{nb, l};
    return foldIntGroup(n, layout, ep, mLast, nLast, gIdx, acc, std::move(facc),
                        Value(), sw);
  };

  SmallVector<Value> zeros(nAcc, k.i32(0));
  SmallVector<Value> facc;
  Value one = k.idx(1);
  if (!grouped) {
    auto loop = scf::ForOp::create(
        b, loc, range.split ? range.first : k.idx(0),
        range.split ? range.end : k.idx(kSteps), one, zeros,
        [&](OpBuilder &nb, Location l, Value ks, ValueRange acc) {
          scf::YieldOp::create(nb, l,
                               kStepBody(nb, l, ks, SmallVector<Value>(acc)));
        });
    facc = fold(b, loc, k.idx(0), loop.getResults(),
                SmallVector<Value>(nAcc, Value()));
  } else {
    SmallVector<Value> fzeros(nAcc, k.f32(0.0));
    auto outer = scf::ForOp::create(
        b, loc, range.split ? range.gBegin : k.idx(0),
        range.split ? range.gEnd : k.idx(c.groups), one, fzeros,
        [&](OpBuilder &ob, Location l, Value gIdx, ValueRange fIn) {
          KB o{ob, l};
          Value first = o.mulc(gIdx, stepsPerGroup);
          // The group's scales before its k-steps (its fold then does not
          // wait on memory).
          SmallVector<Value> sw =
              loadGroupScales(o, layout, ep, mLast, nLast, gIdx, nAcc);
          auto inner = scf::ForOp::create(
              ob, l, first, o.addc(first, stepsPerGroup), o.idx(1), zeros,
              [&](OpBuilder &nb, Location l2, Value ks, ValueRange acc) {
                scf::YieldOp::create(
                    nb, l2, kStepBody(nb, l2, ks, SmallVector<Value>(acc)));
              });
          scf::YieldOp::create(ob, l,
                               fold(ob, l, gIdx, inner.getResults(),
                                    SmallVector<Value>(fIn), sw));
        });
    facc.assign(outer.getResults().begin(), outer.getResults().end());
  }

  // With split-K: this part's f32 sums at rows z * M + row (no bias).
  storeEpilogue(k, layout, ep, m, mLast, c.n, facc,
                range.split ? Type(b.getF32Type()) : c.outType, out,
                range.split ? k.mul(range.z, m) : Value());
  return func;
}

//===----------------------------------------------------------------------===//
// Fused activation quantization
//===----------------------------------------------------------------------===//

/// How the activations of a qmatmul are quantized when the pack kernel does
/// it (the qmatmul's activation is a qopt.quantize of a float [M, K]).
struct FusedQuant : ActQuantSpec {
  QuantizeOp op;
};

static std::optional<float> f32ConstOf(Value v) {
  FloatAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return static_cast<float>(attr.getValueAsDouble());
}

/// linalg.fill of a constant `value` (the init of a row reduction).
static bool isFillOf(Value v, float value) {
  auto fill = v.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  auto c = f32ConstOf(fill.getInputs()[0]);
  return c && *c == value;
}

template <typename... Ops> static bool bodyHas(linalg::GenericOp g) {
  bool all = true;
  (
      [&] {
        bool found = false;
        g.getBody()->walk([&](Ops) { found = true; });
        all &= found;
      }(),
      ...);
  return all;
}

/// The divisor constant of `x / c` in a generic's body.
static std::optional<float> bodyDivisor(linalg::GenericOp g) {
  std::optional<float> steps;
  g.getBody()->walk([&](arith::DivFOp div) {
    if (auto c = f32ConstOf(div.getRhs()))
      steps = c;
  });
  return steps;
}

/// The row reduction [M, K] -> [M] of x (results are the row's reductions).
static linalg::GenericOp rowReductionOf(Value v, Value x) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 1 || g.getDpsInputs()[0] != x ||
      g.getNumLoops() != 2 ||
      g.getIteratorTypesArray() !=
          SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                           utils::IteratorType::reduction})
    return {};
  auto maps = g.getIndexingMapsArray();
  MLIRContext *ctx = g.getContext();
  AffineMap rowMap = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  if (!maps[0].isIdentity() ||
      !llvm::all_of(ArrayRef(maps).drop_front(),
                    [&](AffineMap m) { return m == rowMap; }))
    return {};
  for (Value init : g.getDpsInits())
    if (!isFillOf(init, 0.0f))
      return {};
  return g;
}

/// Recognizes a quantize the pack kernel can do itself.
static std::optional<FusedQuant> matchFusedQuant(Value act, int64_t kk) {
  auto q = act.getDefiningOp<QuantizeOp>();
  if (!q)
    return std::nullopt;
  auto xType = cast<RankedTensorType>(q.getInput().getType());
  Type xElem = xType.getElementType();
  if (xType.getRank() != 2 || xType.getDimSize(1) != kk ||
      !(xElem.isF32() || xElem.isF16() || xElem.isBF16()))
    return std::nullopt;
  QuantSchemeAttr scheme = q.getScheme();
  if (scheme.getRounding() != RoundingMode::NearestEven)
    return std::nullopt;
  FusedQuant f;
  f.op = q;
  f.symmetric = !q.getZeroPoint();
  IntType storage = q.getStorageType();
  f.qmin = static_cast<double>(scheme.getQuantMin(storage));
  f.qmax = static_cast<double>(scheme.getQuantMax(storage));
  auto scaleType = cast<RankedTensorType>(q.getScale().getType());
  bool scalarScale =
      scheme.isPerTensor() ||
      llvm::all_of(scaleType.getShape(), [](int64_t s) { return s == 1; });
  if (!scalarScale && !(scheme.isPerChannel() && scheme.getAxis() == 0 &&
                        scaleType.getRank() == 1))
    return std::nullopt;
  f.perRow = !scalarScale;
  Value x = q.getInput();
  // Dynamic per-token parameters, as qopt-quantize-activations builds them.
  bool f32Scale = scaleType.getElementType().isF32();
  if (Value zp = q.getZeroPoint())
    f32Scale &=
        cast<RankedTensorType>(zp.getType()).getElementType().isInteger(32);
  if (f.perRow && f32Scale) {
    auto params = q.getScale().getDefiningOp<linalg::GenericOp>();
    if (params && cast<OpResult>(q.getScale()).getResultNumber() == 0) {
      if (f.symmetric && params.getNumDpsInputs() == 1 &&
          params.getNumDpsInits() == 1) {
        linalg::GenericOp red = rowReductionOf(params.getDpsInputs()[0], x);
        auto steps = bodyDivisor(params);
        if (red && red.getNumDpsInits() == 1 &&
            bodyHas<math::AbsFOp, arith::MaximumFOp>(red) && steps &&
            *steps == static_cast<float>(std::max(f.qmax, 1.0))) {
          f.computeParams = true;
          f.steps = *steps;
        }
      } else if (!f.symmetric && q.getZeroPoint() &&
                 q.getZeroPoint().getDefiningOp() == params &&
                 cast<OpResult>(q.getZeroPoint()).getResultNumber() == 1 &&
                 params.getNumDpsInputs() == 2 &&
                 params.getNumDpsInits() == 2) {
        Value lo = params.getDpsInputs()[0], hi = params.getDpsInputs()[1];
        linalg::GenericOp red = rowReductionOf(lo, x);
        auto steps = bodyDivisor(params);
        if (red && red == rowReductionOf(hi, x) && red.getNumDpsInits() == 2 &&
            cast<OpResult>(lo).getResultNumber() == 0 &&
            cast<OpResult>(hi).getResultNumber() == 1 &&
            bodyHas<arith::MinimumFOp, arith::MaximumFOp>(red) &&
            bodyHas<math::RoundEvenOp>(params) && steps &&
            *steps == static_cast<float>(f.qmax - f.qmin)) {
          f.computeParams = true;
          f.steps = *steps;
        }
      }
    }
  }
  return f;
}

/// x [M, K] f32/f16/bf16 -> planes [Q, M, KW] i32, or with `bytesOut` the
/// values as bytes [M, KW * 32] i8 (imma), and row sums [M, G], and the
/// computed scales [M] / zero points [M]: one block of 256 threads per row.
///
/// Arguments: x, then the given scale (and zero point) unless computed,
/// planes, row sums (if wanted), then the computed scale (and zero point).
///
/// 1. Computed parameters: the row's absmax (symmetric) or min/max
///    (asymmetric, ranges include 0) by a strided loop, a warp reduction
///    (`gpu.shuffle xor`) and a block reduction through shared memory;
///    then the scale and zero point exactly as qopt-quantize-activations
///    computes them (scale = range / steps, 1 for a zero range; zp =
///    clamp(roundeven(qmin - lo / scale))).
/// 2. Each warp takes one 32-bit word (32 consecutive elements, one per
///    lane, coalesced) at a time (loading up to 4 of its words ahead),
///    quantizes its element as qopt.quantize
///    does (q = clamp(roundeven(x / scale) + zp, qmin, qmax), NaN -> zp) and
///    forms the Q plane words with one `vote.sync.ballot` per bit. Lane
///    partial sums give the row sums per group (warp shuffles, then the
///    8 warps' partials in shared memory).
static gpu::GPUFuncOp buildQuantPackKernel(
    OpBuilder &b, Location loc, gpu::GPUModuleOp module, StringRef name,
    const FusedQuant &f, ArrayRef<Type> argTypes, int64_t bits, int64_t kReal,
    int64_t kw, int64_t groups, bool rowSums, bool bytesOut = false) {
  MLIRContext *ctx = b.getContext();
  const int64_t threads = 256, warps = threads / 32;
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto redType =
      MemRefType::get({2, warps}, f32, MemRefLayoutAttrInterface{}, shared);
  auto sumType = MemRefType::get({warps, groups}, i32,
                                 MemRefLayoutAttrInterface{}, shared);
  auto func = makeKernel(b, loc, module, name, argTypes, threads,
                         TypeRange{redType, sumType});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(func.getBody().front().getTerminator());
  KB k{b, loc};
  unsigned arg = 0;
  Value x = func.getArgument(arg++);
  Value scaleIn, zpIn;
  if (!f.computeParams) {
    scaleIn = func.getArgument(arg++);
    if (!f.symmetric)
      zpIn = func.getArgument(arg++);
  }
  Value planes = func.getArgument(arg++);
  Value sums = rowSums ? func.getArgument(arg++) : Value();
  Value scaleOut, zpOut;
  if (f.computeParams) {
    scaleOut = func.getArgument(arg++);
    if (!f.symmetric)
      zpOut = func.getArgument(arg++);
  }
  Value red = func.getWorkgroupAttributions()[0];
  Value partial = func.getWorkgroupAttributions()[1];

  Value row = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value warp = k.divu(tid, k.idx(32)), lane = k.remu(tid, k.idx(32));
  Value lane0 =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, k.idx(0));
  auto loadX = [&](OpBuilder &nb, Location l, Value col) -> Value {
    Value v = memref::LoadOp::create(nb, l, x, ValueRange{row, col});
    return v.getType().isF32()
               ? v
               : arith::ExtFOp::create(nb, l, f32, v).getResult();
  };
  auto ifThen = [&](Value cond, function_ref<void()> body) {
    auto op = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  };

  Value scale, zpF;
  if (f.computeParams) {
    RowQuantParams params = computeRowQuantParams(b, loc, f, loadX, tid, warp,
                                                  lane0, threads, kReal, red);
    scale = params.scale;
    zpF = params.zp;
    Value tid0 =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, k.idx(0));
    ifThen(tid0, [&] {
      memref::StoreOp::create(b, loc, scale, scaleOut, ValueRange{row});
      if (zpF)
        memref::StoreOp::create(b, loc,
                                arith::FPToSIOp::create(b, loc, i32, zpF),
                                zpOut, ValueRange{row});
    });
  } else {
    auto param = [&](Value p) {
      SmallVector<Value> is;
      if (f.perRow)
        is = {row};
      else
        is.assign(cast<MemRefType>(p.getType()).getRank(), k.idx(0));
      return k.load(p, is);
    };
    scale = k.toF32(param(scaleIn));
    if (zpIn)
      zpF = arith::SIToFPOp::create(b, loc, f32, param(zpIn));
  }
  if (!zpF)
    zpF = k.f32(0);

  // Quantize and pack: one word per warp at a time, `unroll` words of the
  // warp per iteration whose loads are issued before any is used (a row
  // costs K / (32 * warps * unroll) memory latencies).
  int64_t wordsPerGroup = groups > 1 ? kw / groups : kw;
  const int64_t unroll = std::min<int64_t>(
      4, std::max<int64_t>(1, (wordsPerGroup + warps - 1) / warps));
  Value allLanes = k.i32(-1);
  auto groupLoop = scf::ForOp::create(
      b, loc, k.idx(0), k.idx(groups), k.idx(1), ValueRange{},
      [&](OpBuilder &gb, Location gl, Value g, ValueRange) {
        KB o{gb, gl};
        Value first = o.add(o.mulc(g, wordsPerGroup), warp);
        Value groupEnd = o.mulc(o.addc(g, 1), wordsPerGroup);
        auto words = scf::ForOp::create(
            gb, gl, first, groupEnd, o.idx(warps * unroll),
            ValueRange{o.i32(0)},
            [&](OpBuilder &nb, Location l, Value w0, ValueRange acc) {
              KB n{nb, l};
              // Word j of the iteration: w0 + j * warps, when in the group
              // (the same for the whole warp).
              SmallVector<Value> ws, inGroup, cols, vals;
              for (int64_t j = 0; j < unroll; ++j) {
                Value w = n.addc(w0, j * warps);
                Value col = n.add(n.mulc(w, 32), lane);
                ws.push_back(w);
                inGroup.push_back(j ? n.ult(w, groupEnd) : Value());
                cols.push_back(col);
                vals.push_back(loadX(nb, l, n.minu(col, n.idx(kReal - 1))));
              }
              Value sum = acc[0];
              for (int64_t j = 0; j < unroll; ++j) {
                Value valid = n.ult(cols[j], n.idx(kReal));
                if (inGroup[j])
                  valid = arith::AndIOp::create(nb, l, valid, inGroup[j]);
                Value qv = quantizeValue(nb, l, f, vals[j], scale, zpF);
                qv = arith::SelectOp::create(nb, l, valid, qv, n.i32(0));
                sum = n.add(sum, qv);
                // The word's stores, where it is in the group.
                auto storeIf = [&](Value cond, function_ref<void()> body) {
                  if (!cond)
                    return body();
                  auto op = scf::IfOp::create(nb, l, cond,
                                              /*withElseRegion=*/false);
                  OpBuilder::InsertionGuard g2(nb);
                  nb.setInsertionPointToStart(&op.getThenRegion().front());
                  body();
                };
                if (bytesOut) {
                  // imma's operand: one byte per element, K zero-padded.
                  Value byte =
                      arith::TruncIOp::create(nb, l, nb.getI8Type(), qv);
                  storeIf(inGroup[j], [&] {
                    memref::StoreOp::create(nb, l, byte, planes,
                                            ValueRange{row, cols[j]});
                  });
                  continue;
                }
                SmallVector<Value> planeWords;
                for (int64_t bit = 0; bit < bits; ++bit) {
                  Value x1 = bit ? arith::ShRUIOp::create(nb, l, qv, n.i32(bit))
                                       .getResult()
                                 : qv;
                  x1 = arith::AndIOp::create(nb, l, x1, n.i32(1));
                  Value pred =
                      arith::TruncIOp::create(nb, l, nb.getI1Type(), x1);
                  planeWords.push_back(NVVM::VoteSyncOp::create(
                      nb, l, i32, allLanes, pred, NVVM::VoteSyncKind::ballot));
                }
                Value storeCond =
                    inGroup[j] ? arith::AndIOp::create(nb, l, lane0, inGroup[j])
                                     .getResult()
                               : lane0;
                storeIf(storeCond, [&] {
                  for (int64_t bit = 0; bit < bits; ++bit)
                    memref::StoreOp::create(nb, l, planeWords[bit], planes,
                                            ValueRange{n.idx(bit), row, ws[j]});
                });
              }
              scf::YieldOp::create(nb, l, ValueRange{sum});
            });
        if (rowSums) {
          Value s = words.getResult(0);
          for (int64_t off = 16; off >= 1; off /= 2) {
            Value other = gpu::ShuffleOp::create(gb, gl, s, off, 32,
                                                 gpu::ShuffleMode::XOR)
                              .getShuffleResult();
            s = o.add(s, other);
          }
          auto st = scf::IfOp::create(gb, gl, lane0, /*withElseRegion=*/false);
          OpBuilder::InsertionGuard g2(gb);
          gb.setInsertionPointToStart(&st.getThenRegion().front());
          memref::StoreOp::create(gb, gl, s, partial, ValueRange{warp, g});
        }
        scf::YieldOp::create(gb, gl);
      });
  (void)groupLoop;
  if (rowSums) {
    gpu::BarrierOp::create(b, loc);
    ifThen(k.ult(tid, k.idx(groups)), [&] {
      Value s = k.load(partial, {k.idx(0), tid});
      for (int64_t i = 1; i < warps; ++i)
        s = k.add(s, k.load(partial, {k.idx(i), tid}));
      memref::StoreOp::create(b, loc, s, sums, ValueRange{row, tid});
    });
  }
  return func;
}

//===----------------------------------------------------------------------===//
// Compile-time weights
//===----------------------------------------------------------------------===//

/// The values [N * K] of constant weights: stored bit planes
/// (qopt.bitplane_unpack of a constant) or a storage_cast constant.
static std::optional<std::vector<int64_t>>
constantWeights(Value weight, IntType type, int64_t n, int64_t kk) {
  unsigned bits = type.getWidth();
  auto sext = [&](int64_t x) {
    int64_t low = x & ((int64_t(1) << bits) - 1);
    if (type.getIsSigned() && (low >> (bits - 1)) & 1)
      low -= int64_t(1) << bits;
    return low;
  };
  if (auto unpack = weight.getDefiningOp<BitplaneUnpackOp>()) {
    auto raw = readIntConstant(unpack.getPlanes());
    if (!raw)
      return std::nullopt;
    int64_t words =
        cast<RankedTensorType>(unpack.getPlanes().getType()).getDimSize(2);
    std::vector<int64_t> out(n * kk);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < kk; ++c) {
        int64_t v = 0;
        for (unsigned bit = 0; bit < bits; ++bit) {
          uint32_t word =
              static_cast<uint32_t>((*raw)[(bit * n + r) * words + c / 32]);
          v |= int64_t((word >> (c % 32)) & 1) << bit;
        }
        out[r * kk + c] = sext(v);
      }
    return out;
  }
  if (auto cast = weight.getDefiningOp<StorageCastOp>()) {
    auto raw = readIntConstant(cast.getInput());
    if (!raw)
      return std::nullopt;
    for (int64_t &x : *raw)
      x = sext(x);
    return raw;
  }
  return std::nullopt;
}

static Value i32Resource(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                         ArrayRef<int32_t> data, StringRef name) {
  auto type = RankedTensorType::get(shape, b.getI32Type());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(data);
  return arith::ConstantOp::create(
      b, loc, DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// The kernel families a quantized matmul can become.
enum class Family { Bmma, Imma, Hmma };

static StringRef familyName(Family f) {
  switch (f) {
  case Family::Bmma:
    return "bmma";
  case Family::Imma:
    return "imma";
  case Family::Hmma:
    return "hmma";
  }
  llvm_unreachable("family");
}

static std::optional<Family> familyNamed(StringRef name) {
  return llvm::StringSwitch<std::optional<Family>>(name)
      .Case("bmma", Family::Bmma)
      .Case("imma", Family::Imma)
      .Case("hmma", Family::Hmma)
      .Default(std::nullopt);
}

/// True when the weights are known at compile time (stored bit planes or
/// a storage_cast constant), which imma and hmma need: they repack them.
static bool hasConstantWeights(QMatmulOp op) {
  Value w = op.getWeight();
  if (auto unpack = w.getDefiningOp<BitplaneUnpackOp>())
    return static_cast<bool>(readIntConstant(unpack.getPlanes()));
  if (auto cast = w.getDefiningOp<StorageCastOp>())
    return static_cast<bool>(readIntConstant(cast.getInput()));
  return false;
}

/// Why `family` cannot take `op`, if it cannot.
static std::optional<std::string> unsupportedBy(QMatmulOp op, Family family) {
  auto weightType = op.getWeight().getType();
  if (ShapedType::isDynamic(op.getAct().getType().getDimSize(1)) ||
      ShapedType::isDynamic(weightType.getDimSize(0)) ||
      ShapedType::isDynamic(weightType.getDimSize(1)))
    return std::string("the GPU kernels need static K and N");
  IntType wq = op.getWeightStorageType();
  IntType aq = op.getActStorageType();
  QuantSchemeAttr wScheme = op.getWeightScheme();
  int64_t groupSize = wScheme.isPerGroup() ? wScheme.getGroupSize() : 0;
  auto bitsText = [&] {
    return "W" + std::to_string(wq.getWidth()) + "A" +
           (aq ? std::to_string(aq.getWidth()) : std::string("16"));
  };
  switch (family) {
  case Family::Bmma:
    if (op.isWeightOnly())
      return std::string("weight-only (float activation) matmuls have no "
                         "bit-plane GPU kernel; quantize the activations");
    if (aq.getWidth() > 8 || wq.getWidth() > 8)
      return "bit planes on the GPU take at most 8 bits per operand (got " +
             bitsText() + ")";
    if (groupSize && groupSize % 256)
      return "per-group weights need groups of a multiple of 256 on the GPU "
             "(whole m16n8k256 steps), got " +
             std::to_string(groupSize);
    return std::nullopt;
  case Family::Imma:
  case Family::Hmma:
    break;
  }
  StringRef name = family == Family::Imma ? "the s8 tensor-core kernel (imma)"
                                          : "the f16 tensor-core kernel (hmma)";
  if (family == Family::Imma && op.isWeightOnly())
    return (name + " takes integer activations").str();
  if (family == Family::Hmma && !op.isWeightOnly())
    return (name + " takes float activations (weight-only quantization)").str();
  if (wq.getWidth() > 8 || (aq && aq.getWidth() > 8))
    return (name + " takes at most 8 bits per operand (got " + bitsText() + ")")
        .str();
  if (!hasConstantWeights(op))
    return (name + " needs constant weights").str();
  if (groupSize && groupSize % 32)
    return (name + " needs weight groups of a multiple of 32, got " +
            Twine(groupSize))
        .str();
  return std::nullopt;
}

/// Why no GPU kernel can take `op` (the reasons of each family that could
/// apply), if none can.
static std::optional<std::string> unsupportedOnGpu(QMatmulOp op) {
  if (op.isWeightOnly())
    return unsupportedBy(op, Family::Hmma);
  std::optional<std::string> bmma = unsupportedBy(op, Family::Bmma);
  std::optional<std::string> imma = unsupportedBy(op, Family::Imma);
  if (!bmma || !imma)
    return std::nullopt;
  if (*bmma == *imma)
    return bmma;
  return *bmma + "; " + *imma;
}

//===----------------------------------------------------------------------===//
// The planner
//===----------------------------------------------------------------------===//

/// One range of M of a plan: M <= mMax (after the previous range) runs
/// `family`; imma and hmma use their 16-row tile when `smallTile`, with its
/// warps splitting K (16 x 16 or 16 x 32 blocks) when also `warpsSplitK`,
/// their 128 x 128 tile when `largeTile`, else 64 x 64.
struct PlanRange {
  int64_t mMax;
  Family family;
  bool smallTile;
  bool warpsSplitK = false;
  bool largeTile = false;
};

/// imma subtracts the weight zero points in its B operands (no activation
/// row sums): unsigned weights of 7 bits or fewer with constant zero points
/// in [0, 127], so that w - zw fits an s8.
static bool zwInImmaOperands(QMatmulOp op) {
  IntType wq = op.getWeightStorageType();
  if (Value zwv = op.getWeightZeroPoint())
    if (!wq.getIsSigned() && wq.getWidth() <= 7)
      if (auto zws = readIntConstant(zwv))
        return llvm::all_of(*zws, [](int64_t z) { return z >= 0 && z <= 127; });
  return false;
}

/// The planner's tile choices (the pass options that set them).
struct TileOptions {
  bool bmmaTiles;          // bmma's 8-row tile is the planner's to choose
  int64_t warpsSplitKMaxM; // imma/hmma: the 16-row tile's warps split K
  int64_t largeTileMinM;   // imma/hmma: the 128-row tile from this M (0: off)
  int64_t sharedMemoryBytes;
  bool hmmaBf16; // this layer's hmma operands are bf16
};

/// imma/hmma's 128 x 128 tile: eight warps of 64 x 32.
constexpr int64_t kLargeTile = 128;

/// imma/hmma's K per pipeline stage: 128 (s8) or 64 (16-bit) values, or a
/// weight group when it is smaller.
static int64_t dequantMmaKTile(bool s8, int64_t groupSize) {
  int64_t tileK = s8 ? 128 : 64;
  return groupSize ? std::gcd(groupSize, tileK) : tileK;
}

/// The warps in K of imma/hmma's 16-row tile for M <= warps-split-k-max-m:
/// up to 4, as many as a k-tile has MMA k-steps (1: the tile's warps lie
/// along N). The four warps stay side by side along N above that M, where
/// a block reading M activation rows for only 16 columns would move more
/// activation than weight bytes.
static int64_t dequantMmaWarpsK(bool s8, int64_t groupSize) {
  int64_t steps = dequantMmaKTile(s8, groupSize) / (s8 ? 32 : 16);
  return std::min<int64_t>(4, steps);
}

/// The K per stage of imma/hmma's warps-split-K (decode) tile: the largest
/// power of two up to `decodeKTile` s8 values (or half as many 16-bit ones:
/// the same bytes) that lies within one weight group or holds whole groups
/// (each with a multiple of the warps' k-steps), and divides K as the other
/// tiles pad it, so that every tile reads the same packed weights; else the
/// other tiles' k-tile. A decode block's stage holds few weight bytes (16
/// columns), so a larger tile is what keeps enough of them in flight and
/// spreads each stage's waits and barriers over more K.
static int64_t decodeKTileFor(bool s8, int64_t groupSize, int64_t warpsK,
                              int64_t k, int64_t decodeKTile) {
  int64_t mmaK = s8 ? 32 : 16;
  int64_t baseTile = dequantMmaKTile(s8, groupSize);
  int64_t kp = (k + baseTile - 1) / baseTile * baseTile;
  for (int64_t t = s8 ? decodeKTile : decodeKTile / 2; t > baseTile; t /= 2) {
    bool groupsFit = !groupSize || groupSize % t == 0 ||
                     (t % groupSize == 0 && groupSize % (mmaK * warpsK) == 0);
    if (groupsFit && kp % t == 0)
      return t;
  }
  return baseTile;
}

/// Measured kernel times (bench/gpu_bench.py --cost-table): per kernel
/// family, bit widths, layer shape and M, microseconds per call.
struct CostTable {
  struct Entry {
    Family family;
    int64_t w, a, n, k, m;
    double us;
  };
  std::string device;
  std::vector<Entry> entries;
};

static FailureOr<CostTable> readCostTable(StringRef path, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = "cannot read the cost table '" + path.str() +
            "': " + buffer.getError().message();
    return failure();
  }
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*buffer)->getBuffer());
  if (!json) {
    error = "the cost table '" + path.str() +
            "' is not JSON: " + llvm::toString(json.takeError());
    return failure();
  }
  CostTable table;
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Array *entries = root ? root->getArray("entries") : nullptr;
  if (!entries) {
    error = "the cost table '" + path.str() + "' has no \"entries\" array";
    return failure();
  }
  if (std::optional<StringRef> d = root->getString("device"))
    table.device = d->str();
  for (size_t i = 0; i < entries->size(); ++i) {
    const llvm::json::Object *e = (*entries)[i].getAsObject();
    auto fail = [&](StringRef what) {
      error = "the cost table '" + path.str() + "': entry " +
              std::to_string(i) + " " + what.str();
      return failure();
    };
    if (!e)
      return fail("is not an object");
    std::optional<StringRef> kernel = e->getString("kernel");
    std::optional<Family> family = kernel ? familyNamed(*kernel) : std::nullopt;
    if (!family)
      return fail("has no \"kernel\" of bmma, imma or hmma");
    CostTable::Entry entry{*family, 0, 0, 0, 0, 0, 0};
    for (auto [key, field] : {std::pair<StringRef, int64_t *>{"w", &entry.w},
                              {"a", &entry.a},
                              {"n", &entry.n},
                              {"k", &entry.k},
                              {"m", &entry.m}}) {
      std::optional<int64_t> v = e->getInteger(key);
      if (!v || *v <= 0)
        return fail(("has no positive integer \"" + key + "\"").str());
      *field = *v;
    }
    std::optional<double> us = e->getNumber("us");
    if (!us || !(*us > 0))
      return fail("has no positive \"us\"");
    entry.us = *us;
    table.entries.push_back(entry);
  }
  return table;
}

/// The measured time of `family` for a W`w`A`a` layer of N x K at each
/// measured M, from the nearest measured shape (by N * K), scaled by the
/// ratio of N * K: {M -> us}. Empty when nothing was measured for it.
static std::map<int64_t, double> measuredTimes(const CostTable &table,
                                               Family family, int64_t w,
                                               int64_t a, int64_t n,
                                               int64_t k) {
  double size = static_cast<double>(n) * k, bestDist = 0;
  std::optional<std::pair<int64_t, int64_t>> shape;
  for (const CostTable::Entry &e : table.entries) {
    if (e.family != family || e.w != w || e.a != a)
      continue;
    double dist = std::abs(std::log(static_cast<double>(e.n) * e.k / size));
    if (!shape || dist < bestDist) {
      shape = {e.n, e.k};
      bestDist = dist;
    }
  }
  std::map<int64_t, double> times;
  if (!shape)
    return times;
  double scale = size / (static_cast<double>(shape->first) * shape->second);
  for (const CostTable::Entry &e : table.entries)
    if (e.family == family && e.w == w && e.a == a && e.n == shape->first &&
        e.k == shape->second)
      times[e.m] = e.us * scale;
  return times;
}

/// The plan of `op` among `candidates` (each able to take it).
///
/// With a cost table: at each measured M the candidate measured fastest
/// (for the nearest measured shape of the same bit widths), each range
/// running up to its M; candidates never measured take part only when no
/// candidate was. Without one (or with nothing measured): imma when P * Q
/// > 8, else bmma (a binary MMA does 8x the K of an s8 MMA per instruction
/// at Ampere's rates, so P * Q binary products win only below 8; Hopper's
/// b1 rate is not published), and hmma for weight-only layers. The tile
/// follows M within a kernel's range: imma/hmma use the 16-row tile for M
/// <= 16, its warps splitting K for M <= warpsSplitKMaxM, and the 128-row
/// tile for M >= largeTileMinM when two of its pipeline stages fit the
/// shared memory budget; bmma its 8-row tile for M <= 8.
static SmallVector<PlanRange> planFor(QMatmulOp op, ArrayRef<Family> candidates,
                                      const CostTable *table,
                                      const TileOptions &tiles) {
  bool bmmaTiles = tiles.bmmaTiles;
  int64_t warpsSplitKMaxM = tiles.warpsSplitKMaxM;
  constexpr int64_t kAny = std::numeric_limits<int64_t>::max();
  int64_t p = op.getWeightStorageType().getWidth();
  IntType aq = op.getActStorageType();
  int64_t q = aq ? aq.getWidth() : 16;
  int64_t n = op.getWeight().getType().getDimSize(0);
  int64_t k = op.getWeight().getType().getDimSize(1);
  int64_t mStatic = op.getAct().getType().getDimSize(0);
  // The small tiles: 16 rows for imma/hmma, 8 for bmma (m8n8k128; only
  // when the MMA shape is the planner's to choose).
  auto smallUpTo = [&](Family f) -> int64_t {
    return f != Family::Bmma ? 16 : bmmaTiles ? 8 : 0;
  };
  QuantSchemeAttr wScheme = op.getWeightScheme();
  int64_t groupSize = wScheme.isPerGroup() ? wScheme.getGroupSize() : 0;
  auto warpsSplitKUpTo = [&](Family f) -> int64_t {
    return f != Family::Bmma &&
                   dequantMmaWarpsK(f == Family::Imma, groupSize) > 1
               ? warpsSplitKMaxM
               : 0;
  };
  // imma/hmma's 128-row tile from this M (0: never): when two stages of
  // its k-tile (128 rows of activations, 128 columns of p-bit weights) fit
  // the budget, and not for imma's weight groups with zero points
  // corrected by row sums (those sums' registers beside its 64 int32 and 64
  // f32 sums per lane: 255 registers and a spill on sm_80).
  // Nor for hmma's bf16 operands of 8-bit weights (the eighth bit's own
  // step): ptxas holds that tile to 128 registers (two blocks per SM) and
  // spills.
  bool immaGroupCorrections =
      groupSize && (op.getActZeroPoint() ||
                    (op.getWeightZeroPoint() && !zwInImmaOperands(op)));
  bool hmmaBf16W8 = p == 8 && tiles.hmmaBf16;
  auto largeFrom = [&](Family f) -> int64_t {
    if (f == Family::Bmma || !tiles.largeTileMinM ||
        (f == Family::Imma && immaGroupCorrections) ||
        (f == Family::Hmma && hmmaBf16W8))
      return 0;
    // The tile's stage as the kernel sizes it (16-bit operands for hmma,
    // either type).
    DequantMmaConfig large;
    large.kind = f == Family::Imma ? MmaKind::S8 : MmaKind::F16;
    large.p = p;
    large.kt = dequantMmaKTile(f == Family::Imma, groupSize);
    large.bm = large.bn = kLargeTile;
    return 2 * large.stageBytes() <= tiles.sharedMemoryBytes
               ? tiles.largeTileMinM
               : 0;
  };
  // The tile for M <= m, in a range ending at mMax.
  auto rangeAt = [&](Family f, int64_t m, int64_t mMax) -> PlanRange {
    return {mMax, f, m <= smallUpTo(f), m <= warpsSplitKUpTo(f),
            largeFrom(f) && m >= largeFrom(f)};
  };
  // Ranges of M by kernel family ([mMax, family], ascending, the last one
  // open) -> the plan: each family's range split where its tile changes,
  // or for a static M the one range that covers it.
  auto withTiles = [&](ArrayRef<std::pair<int64_t, Family>> families)
      -> SmallVector<PlanRange> {
    if (!ShapedType::isDynamic(mStatic))
      for (auto [mMax, f] : families)
        if (mStatic <= mMax)
          return {rangeAt(f, mStatic, kAny)};
    SmallVector<PlanRange> plan;
    int64_t lo = 0;
    for (auto [mMax, f] : families) {
      for (int64_t bound : {warpsSplitKUpTo(f), smallUpTo(f), largeFrom(f) - 1})
        if (bound > lo && bound < mMax) {
          plan.push_back(rangeAt(f, bound, bound));
          lo = bound;
        }
      plan.push_back(rangeAt(f, mMax, mMax));
      lo = mMax;
    }
    return plan;
  };
  auto ranges = [&](Family f) { return withTiles({{kAny, f}}); };
  if (table) {
    std::map<Family, std::map<int64_t, double>> times;
    std::set<int64_t> ms;
    for (Family f : candidates) {
      std::map<int64_t, double> t = measuredTimes(*table, f, p, q, n, k);
      if (t.empty())
        continue;
      for (auto &[m, us] : t)
        ms.insert(m);
      times[f] = std::move(t);
    }
    if (!times.empty()) {
      // The fastest at each measured M (interpolating linearly in M where a
      // candidate lacks that M, holding its ends beyond its range).
      auto at = [](const std::map<int64_t, double> &t, int64_t m) {
        auto hi = t.lower_bound(m);
        if (hi == t.end())
          return std::prev(t.end())->second;
        if (hi->first == m || hi == t.begin())
          return hi->second;
        auto lo = std::prev(hi);
        double x = double(m - lo->first) / double(hi->first - lo->first);
        return lo->second + x * (hi->second - lo->second);
      };
      SmallVector<std::pair<int64_t, Family>> families;
      std::vector<int64_t> mList(ms.begin(), ms.end());
      for (size_t i = 0; i < mList.size(); ++i) {
        int64_t m = mList[i];
        Family best = times.begin()->first;
        double bestUs = std::numeric_limits<double>::infinity();
        for (auto &[f, t] : times)
          if (double us = at(t, m); us < bestUs) {
            best = f;
            bestUs = us;
          }
        int64_t mMax = i + 1 == mList.size() ? kAny : m;
        if (!families.empty() && families.back().second == best)
          families.back().first = mMax;
        else
          families.push_back({mMax, best});
      }
      return withTiles(families);
    }
  }
  if (llvm::is_contained(candidates, Family::Hmma))
    return ranges(Family::Hmma);
  bool bmma = llvm::is_contained(candidates, Family::Bmma);
  bool imma = llvm::is_contained(candidates, Family::Imma);
  if (imma && (!bmma || p * q > 8))
    return ranges(Family::Imma);
  return ranges(Family::Bmma);
}

struct BitplaneToGPUPass
    : qopt::impl::ConvertBitplaneToGPUBase<BitplaneToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<Family> forced;
    if (kernel != "auto") {
      forced = familyNamed(kernel);
      if (!forced) {
        module.emitError("qopt-bitplane-to-gpu: unknown kernel '")
            << kernel << "' (bmma, imma, hmma or auto)";
        return signalPassFailure();
      }
    }
    if (hmmaType != "auto" && hmmaType != "f16" && hmmaType != "bf16") {
      module.emitError("qopt-bitplane-to-gpu: unknown hmma-type '")
          << hmmaType << "' (f16, bf16 or auto)";
      return signalPassFailure();
    }
    if (warpsSplitKMaxM < 0 || warpsSplitKMaxM > 16) {
      module.emitError("qopt-bitplane-to-gpu: warps-split-k-max-m is ")
          << static_cast<int64_t>(warpsSplitKMaxM)
          << ", not between 0 and 16 (the 16-row tile)";
      return signalPassFailure();
    }
    if (largeTileMinM != 0 && (largeTileMinM <= 16 || largeTileMinM > 65536)) {
      module.emitError("qopt-bitplane-to-gpu: large-tile-min-m is ")
          << static_cast<int64_t>(largeTileMinM)
          << ", not 0 or between 17 and 65536 (above the 16-row tile)";
      return signalPassFailure();
    }
    if (!llvm::is_contained({128, 256, 512, 1024}, int64_t(decodeKTile))) {
      module.emitError("qopt-bitplane-to-gpu: decode-k-tile is ")
          << static_cast<int64_t>(decodeKTile) << ", not 128, 256, 512 or 1024";
      return signalPassFailure();
    }
    if (decodeMaxStages < 1 || decodeMaxStages > 16) {
      module.emitError("qopt-bitplane-to-gpu: decode-max-stages is ")
          << static_cast<int64_t>(decodeMaxStages) << ", not between 1 and 16";
      return signalPassFailure();
    }
    if (maxStages < 1 || maxStages > 16) {
      module.emitError("qopt-bitplane-to-gpu: max-stages is ")
          << static_cast<int64_t>(maxStages) << ", not between 1 and 16";
      return signalPassFailure();
    }
    if (sharedMemoryBytes < kStaticSharedBytes || sharedMemoryBytes > 232448) {
      module.emitError("qopt-bitplane-to-gpu: shared-memory-bytes is ")
          << static_cast<int64_t>(sharedMemoryBytes)
          << ", not between 49152 and 232448";
      return signalPassFailure();
    }
    std::optional<CostTable> table;
    if (!costTable.empty()) {
      std::string error;
      FailureOr<CostTable> t = readCostTable(costTable, error);
      if (failed(t)) {
        module.emitError("qopt-bitplane-to-gpu: ") << error;
        return signalPassFailure();
      }
      table = std::move(*t);
    }
    SmallVector<std::pair<QMatmulOp, SmallVector<PlanRange>>> matmuls;
    bool failedAny = false;
    module.walk([&](QMatmulOp op) {
      std::optional<std::string> why;
      SmallVector<Family> candidates;
      if (forced) {
        why = unsupportedBy(op, *forced);
        if (!why)
          candidates.push_back(*forced);
      } else {
        why = unsupportedOnGpu(op);
        for (Family f : {Family::Bmma, Family::Imma, Family::Hmma})
          if (!unsupportedBy(op, f))
            candidates.push_back(f);
      }
      if (why) {
        if (cpuFallback) {
          op.emitRemark("stays on the CPU: ") << *why;
        } else {
          op.emitOpError(*why);
          failedAny = true;
        }
        return;
      }
      TileOptions tiles{/*bmmaTiles=*/mmaShape == "auto", warpsSplitKMaxM,
                        largeTileMinM, sharedMemoryBytes,
                        hmmaKind(op) == MmaKind::BF16};
      matmuls.push_back(
          {op, planFor(op, candidates, table ? &*table : nullptr, tiles)});
    });
    if (failedAny)
      return signalPassFailure();
    if (matmuls.empty())
      return;
    if (mmaShape != "auto" && mmaShape != "m16n8k256" &&
        mmaShape != "m8n8k128") {
      module.emitError("qopt-bitplane-to-gpu: unknown mma-shape '")
          << mmaShape << "' (m16n8k256, m8n8k128 or auto)";
      return signalPassFailure();
    }
    if (planeLoop != "auto" && planeLoop != "shift" && planeLoop != "act") {
      module.emitError("qopt-bitplane-to-gpu: unknown plane-loop '")
          << planeLoop << "' (act, shift or auto)";
      return signalPassFailure();
    }
    OpBuilder b(module.getContext());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule =
        gpu::GPUModuleOp::create(b, module.getLoc(), "qopt_kernels");
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    unsigned index = 0;
    for (auto &[op, plan] : matmuls)
      if (failed(lower(op, plan, gpuModule, index++)))
        return signalPassFailure();
  }

  /// hmma's operand type for `op` (the hmma-type option).
  MmaKind hmmaKind(QMatmulOp op) {
    if (hmmaType == "auto")
      return op.getAct().getType().getElementType().isBF16() ? MmaKind::BF16
                                                             : MmaKind::F16;
    return hmmaType == "bf16" ? MmaKind::BF16 : MmaKind::F16;
  }

  LogicalResult lower(QMatmulOp op, ArrayRef<PlanRange> plan,
                      gpu::GPUModuleOp gpuModule, unsigned index);
};

/// The device side of one run of a host function: its device buffers
/// (freed at the end of the range that allocated them) and the operands
/// already copied in.
struct DeviceRun {
  SmallVector<Value> buffers;
  llvm::DenseMap<Value, Value> onDevice;
};

LogicalResult BitplaneToGPUPass::lower(QMatmulOp op, ArrayRef<PlanRange> plan,
                                       gpu::GPUModuleOp gpuModule,
                                       unsigned index) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  auto actType = op.getAct().getType();
  auto weightType = op.getWeight().getType();
  IntType aq = op.getActStorageType(), wq = op.getWeightStorageType();
  int64_t kk = actType.getDimSize(1), n = weightType.getDimSize(0);
  int64_t mStatic = actType.getDimSize(0);
  QuantSchemeAttr wScheme = op.getWeightScheme();
  int64_t groupSize = wScheme.isPerGroup() ? wScheme.getGroupSize() : 0;
  int64_t groups = groupSize ? kk / groupSize : 1;
  int64_t groupLen = groupSize ? groupSize : kk;
  auto resultType = op.getResult().getType();
  OpBuilder b(ctx);
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  int64_t dyn = ShapedType::kDynamic;
  auto memrefOf = [](RankedTensorType t, Type elem = {}) {
    return MemRefType::get(t.getShape(), elem ? elem : t.getElementType());
  };
  std::string prefix = ("qmatmul" + Twine(index)).str();

  // How each scale and zero point is indexed.
  QuantSchemeAttr aScheme = op.getActSchemeAttr();
  auto kindOf = [](Value v, bool perTensor, ParamKind vector) {
    if (!v)
      return ParamKind::None;
    auto t = cast<RankedTensorType>(v.getType());
    if (perTensor || t.getRank() == 0 ||
        llvm::all_of(t.getShape(), [](int64_t s) { return s == 1; }))
      return ParamKind::Scalar;
    return vector;
  };
  bool actPerTensor = !aScheme || aScheme.isPerTensor();
  ParamKind saKind = kindOf(op.getActScale(), actPerTensor, ParamKind::Row);
  ParamKind zaKind = kindOf(op.getActZeroPoint(), false, ParamKind::Row);
  ParamKind swKind =
      kindOf(op.getWeightScale(), wScheme.isPerTensor(),
             wScheme.isPerGroup() ? ParamKind::ColGroup : ParamKind::Col);
  ParamKind zwVector = ParamKind::Col;
  if (Value zwv = op.getWeightZeroPoint())
    if (cast<RankedTensorType>(zwv.getType()).getRank() == 2)
      zwVector = ParamKind::ColGroup;
  ParamKind zwKind = kindOf(op.getWeightZeroPoint(), false, zwVector);

  // A qopt.quantize of float activations is done by a kernel (bit planes
  // for bmma, bytes for imma).
  std::optional<FusedQuant> fq;
  if (!op.isWeightOnly())
    fq = matchFusedQuant(op.getAct(), kk);
  // The weights' values when known at compile time (not read for
  // random-weights benchmarks, which only need to know they are constant).
  bool wIsConst = hasConstantWeights(op);
  std::optional<std::vector<int64_t>> wConst;
  if (wIsConst && !randomWeights)
    wConst = constantWeights(op.getWeight(), wq, n, kk);
  // imma subtracts the weight zero points from the unpacked bytes when
  // w - zw fits an s8 byte by byte: unsigned weights of 7 bits or fewer and
  // constant zero points in [0, 127] (else activation row sums correct).
  bool zwInByteRange = zwInImmaOperands(op);

  // --- the host function -----------------------------------------------
  // Built in a private function of its own (`qopt.gpu_host`), called in
  // place of the matmul: it frees its device buffers itself, and the
  // model's buffer deallocation, which cannot reason about device memory,
  // leaves its body alone (see qcc's GPU variant).
  auto parentFunc = op->getParentOfType<func::FuncOp>();
  OpBuilder moduleBuilder(parentFunc);
  auto hostFunc = func::FuncOp::create(moduleBuilder, loc, prefix + "_host",
                                       moduleBuilder.getFunctionType({}, {}));
  hostFunc.setPrivate();
  hostFunc->setAttr("qopt.gpu_host", b.getUnitAttr());
  SmallVector<Attribute> planText;
  for (size_t i = 0; i < plan.size(); ++i) {
    std::string text =
        plan[i].mMax == std::numeric_limits<int64_t>::max()
            ? (i ? "M > " + std::to_string(plan[i - 1].mMax) : "any M")
            : "M <= " + std::to_string(plan[i].mMax);
    text += ": " + familyName(plan[i].family).str();
    if (plan[i].family != Family::Bmma)
      text += plan[i].largeTile     ? " 128-row tile"
              : !plan[i].smallTile  ? " 64-row tile"
              : plan[i].warpsSplitK ? " 16-row tile, warps split K"
                                    : " 16-row tile";
    else if (plan[i].smallTile)
      text += " 8-row tile";
    planText.push_back(b.getStringAttr(text));
  }
  hostFunc->setAttr("qopt.gpu_plan", b.getArrayAttr(planText));
  b.setInsertionPointToStart(hostFunc.addEntryBlock());
  KB k{b, loc};
  Value mV =
      tensor::DimOp::create(b, loc, fq ? fq->op.getInput() : op.getAct(), 0);
  // Weights repacked at compile time, packed (`pack`) and built once per
  // layout however many ranges use them (at the function's entry, so every
  // range sees them).
  std::map<std::string, Value> packed;
  // Packed once per name and shape (each tile's kernel of a range reads
  // the same packing when its K padding is the same).
  auto packedConstant = [&](ArrayRef<int64_t> shape, StringRef name,
                            function_ref<std::vector<int32_t>()> pack) {
    std::string key = name.str();
    for (int64_t d : shape)
      key += "_" + std::to_string(d);
    Value &v = packed[key];
    if (!v) {
      OpBuilder eb = OpBuilder::atBlockBegin(&hostFunc.getBody().front());
      v = i32Resource(eb, loc, shape, pack(), name);
    }
    return v;
  };
  // The constant weights' sums per row and group [N, G] (for the
  // activation zero point's correction).
  auto weightRowSums = [&]() {
    return packedConstant({n, groups}, "gpu_weight_row_sums", [&] {
      std::vector<int32_t> sums(n * groups, 0);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t x = 0; x < kk; ++x)
          sums[r * groups + x / groupLen] +=
              static_cast<int32_t>((*wConst)[r * kk + x]);
      return sums;
    });
  };
  auto dynSizes = [&](MemRefType t) {
    SmallVector<Value> sizes;
    for (int64_t s : t.getShape())
      if (s == dyn)
        sizes.push_back(mV);
    return sizes;
  };
  auto deviceAlloc = [&](DeviceRun &run, MemRefType t, ValueRange sizes = {}) {
    Value buf = gpu::AllocOp::create(b, loc, t, Type(), ValueRange{},
                                     sizes.empty() ? dynSizes(t)
                                                   : SmallVector<Value>(sizes),
                                     ValueRange{})
                    .getMemref();
    run.buffers.push_back(buf);
    return buf;
  };
  // A device buffer of M rows of `rowBytes` bytes, seen as [M, rowBytes /
  // size(elem)] of each element type asked for.
  auto deviceRows = [&](DeviceRun &run, int64_t rowBytes) {
    Value flat = deviceAlloc(run, MemRefType::get({dyn}, i8),
                             ValueRange{k.mulc(mV, rowBytes)});
    return [&, flat, rowBytes](Type elem) -> Value {
      int64_t width = elem.getIntOrFloatBitWidth() / 8;
      auto type = MemRefType::get({mStatic, rowBytes / width}, elem);
      return memref::ViewOp::create(b, loc, type, flat, k.idx(0),
                                    dynSizes(type));
    };
  };
  // Constants (weight planes and row sums, constant scales, bias) are
  // uploaded once per loaded library: the runtime's
  // qopt_gpu_constant_<type> returns a cached device copy of a host buffer
  // (the same buffer every run), which the run does not free.
  auto constantOnDevice = [&](Value tensor) -> Value {
    auto t = cast<RankedTensorType>(tensor.getType());
    Type elem = t.getElementType();
    std::string suffix = elem.isInteger(32)  ? "i32"
                         : elem.isInteger(8) ? "i8"
                         : elem.isF32()      ? "f32"
                         : elem.isF16()      ? "f16"
                                             : "";
    if (suffix.empty() || !t.hasStaticShape() ||
        !tensor.getDefiningOp<arith::ConstantOp>())
      return {};
    std::string name = "qopt_gpu_constant_" + suffix;
    auto flatDyn = MemRefType::get({dyn}, elem);
    auto module = op->getParentOfType<ModuleOp>();
    auto callee = module.lookupSymbol<func::FuncOp>(name);
    if (!callee) {
      OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
      callee = func::FuncOp::create(mb, loc, name,
                                    mb.getFunctionType({flatDyn}, {flatDyn}));
      callee.setPrivate();
      callee->setAttr("llvm.emit_c_interface", mb.getUnitAttr());
    }
    // Read only: bufferization then hands over the constant's own global
    // (one address across runs, the cache key) instead of a copy.
    Value host = bufferization::ToBufferOp::create(b, loc, memrefOf(t), tensor,
                                                   /*read_only=*/true);
    // To 1-D and back: rank 0 by expand/collapse with no reassociation,
    // rank >= 2 by collapsing every dim into one.
    auto flatType = MemRefType::get({t.getNumElements()}, elem);
    SmallVector<ReassociationIndices> all;
    if (t.getRank() > 0) {
      all.emplace_back();
      for (int64_t d = 0; d < t.getRank(); ++d)
        all[0].push_back(d);
    }
    Value flat = host;
    if (t.getRank() == 0)
      flat = memref::ExpandShapeOp::create(b, loc, flatType, host, all);
    else if (t.getRank() > 1)
      flat = memref::CollapseShapeOp::create(b, loc, host, all);
    Value arg = memref::CastOp::create(b, loc, flatDyn, flat);
    Value devFlat =
        func::CallOp::create(b, loc, callee, ValueRange{arg}).getResult(0);
    Value dev = memref::CastOp::create(b, loc, flatType, devFlat);
    if (t.getRank() == 0)
      dev = memref::CollapseShapeOp::create(b, loc, dev, all);
    else if (t.getRank() > 1)
      dev = memref::ExpandShapeOp::create(b, loc, memrefOf(t), dev, all);
    return dev;
  };
  // random-weights: a pseudo-random device buffer of `shape` i32 in place
  // of a packed weight array (the runtime makes it once per seed).
  auto randomOnDevice = [&](ArrayRef<int64_t> shape, StringRef name) -> Value {
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    std::string symbol = "qopt_gpu_random_i32";
    auto flatDyn = MemRefType::get({dyn}, i32);
    auto module = op->getParentOfType<ModuleOp>();
    auto callee = module.lookupSymbol<func::FuncOp>(symbol);
    if (!callee) {
      OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
      Type i64 = mb.getI64Type();
      callee = func::FuncOp::create(mb, loc, symbol,
                                    mb.getFunctionType({i64, i64}, {flatDyn}));
      callee.setPrivate();
      callee->setAttr("llvm.emit_c_interface", mb.getUnitAttr());
    }
    // FNV-1a of the array's name: the same seed in every range of a layer.
    uint64_t seed = 1469598103934665603ull;
    for (char ch : prefix + "_" + name.str())
      seed = (seed ^ static_cast<unsigned char>(ch)) * 1099511628211ull;
    Value args[2] = {
        arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(count)),
        arith::ConstantOp::create(
            b, loc, b.getI64IntegerAttr(static_cast<int64_t>(seed >> 1)))};
    Value flat = func::CallOp::create(b, loc, callee, args).getResult(0);
    flat = memref::CastOp::create(b, loc, MemRefType::get({count}, i32), flat);
    SmallVector<ReassociationIndices> all(1);
    for (size_t d = 0; d < shape.size(); ++d)
      all[0].push_back(d);
    return memref::ExpandShapeOp::create(b, loc, MemRefType::get(shape, i32),
                                         flat, all);
  };
  auto toDevice = [&](DeviceRun &run, Value tensor) {
    Value &cached = run.onDevice[tensor];
    if (cached)
      return cached;
    if (Value dev = constantOnDevice(tensor)) {
      run.onDevice[tensor] = dev;
      return dev;
    }
    Value key = tensor;
    auto t = cast<RankedTensorType>(tensor.getType());
    if (isa<IntType>(t.getElementType())) {
      t = RankedTensorType::get(t.getShape(), i8);
      tensor = StorageCastOp::create(b, loc, t, tensor);
    }
    // Only read (copied to the device): no host copy of the tensor.
    Value host = bufferization::ToBufferOp::create(b, loc, memrefOf(t), tensor,
                                                   /*read_only=*/true);
    Value dev = deviceAlloc(run, memrefOf(t));
    gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, dev, host);
    run.onDevice[key] = dev;
    return dev;
  };
  auto launch1D = [&](StringRef name, Value work, ValueRange args) {
    auto func = gpuModule.lookupSymbol<gpu::GPUFuncOp>(name);
    Value blocks = k.divu(k.addc(work, 255), k.idx(256));
    gpu::LaunchFuncOp::create(
        b, loc, func, gpu::KernelDim3{blocks, k.idx(1), k.idx(1)},
        gpu::KernelDim3{k.idx(256), k.idx(1), k.idx(1)}, Value(), args);
  };
  // The fused quantize kernel's arguments around its outputs `dst` (planes
  // or bytes) and row sums; the computed scale / zero point buffers are
  // allocated and recorded in `computed`.
  auto fusedQuantArgs = [&](DeviceRun &run, Value dst, Value rowSums,
                            llvm::DenseMap<Value, Value> &computed,
                            Type scaleType, Type zpType) {
    SmallVector<Value> qArgs = {toDevice(run, fq->op.getInput())};
    Value zp = fq->op.getZeroPoint();
    if (!fq->computeParams) {
      qArgs.push_back(toDevice(run, fq->op.getScale()));
      if (zp)
        qArgs.push_back(toDevice(run, zp));
    }
    qArgs.push_back(dst);
    if (rowSums)
      qArgs.push_back(rowSums);
    if (fq->computeParams) {
      Value s = deviceAlloc(run, cast<MemRefType>(scaleType));
      qArgs.push_back(s);
      computed[fq->op.getScale()] = s;
      if (zp) {
        Value z = deviceAlloc(run, cast<MemRefType>(zpType));
        qArgs.push_back(z);
        computed[zp] = z;
      }
    }
    return qArgs;
  };
  Type fqScaleType, fqZpType;
  SmallVector<Type> fqInTypes; // x, then the given scale and zero point
  if (fq) {
    fqScaleType = memrefOf(cast<RankedTensorType>(fq->op.getScale().getType()));
    if (Value zp = fq->op.getZeroPoint())
      fqZpType = memrefOf(cast<RankedTensorType>(zp.getType()));
    fqInTypes.push_back(
        memrefOf(cast<RankedTensorType>(fq->op.getInput().getType())));
    if (!fq->computeParams) {
      fqInTypes.push_back(fqScaleType);
      if (fqZpType)
        fqInTypes.push_back(fqZpType);
    }
  }
  auto fqArgTypes = [&](Type dst, bool rowSums, Type sumsType) {
    SmallVector<Type> types(fqInTypes);
    types.push_back(dst);
    if (rowSums)
      types.push_back(sumsType);
    if (fq->computeParams) {
      types.push_back(fqScaleType);
      if (fqZpType)
        types.push_back(fqZpType);
    }
    return types;
  };
  auto quantizeAttr = [&]() {
    return b.getDictionaryAttr(
        {b.getNamedAttr(
             "params",
             b.getStringAttr(fq->computeParams
                                 ? "computed"
                                 : (fq->perRow ? "per_row" : "per_tensor"))),
         b.getNamedAttr("symmetric", b.getBoolAttr(fq->symmetric))});
  };
  // Kernels are built once per matmul, whichever ranges use them.
  auto kernel = [&](StringRef name) {
    return gpuModule.lookupSymbol<gpu::GPUFuncOp>(name);
  };
  OpBuilder kb(ctx); // kernel builder (its insertion point is irrelevant)

  // The MMA kernel's launch: `args` (the operands), then the parameters
  // present (computed on the device or copied in) and a fresh output; one
  // block per BM x BN tile. Returns the output.
  auto outType = memrefOf(resultType);
  auto launchTiled = [&](DeviceRun &run, StringRef name,
                         SmallVector<Value> args, ArrayRef<Value> params,
                         const llvm::DenseMap<Value, Value> &computed,
                         int64_t bm, int64_t bn, int64_t threads,
                         int64_t gridZ = 1, Value outDev = Value()) -> Value {
    for (Value v : params)
      if (v) {
        Value dev = computed.lookup(v);
        args.push_back(dev ? dev : toDevice(run, v));
      }
    if (!outDev)
      outDev = deviceAlloc(run, outType);
    args.push_back(outDev);
    Value gridX = k.divu(k.addc(mV, bm - 1), k.idx(bm));
    gpu::GPUFuncOp fn = kernel(name);
    // A kernel beyond 48 KiB of shared memory takes it dynamically.
    Value dynamicShared;
    if (auto bytes = fn->getAttrOfType<IntegerAttr>(dynamicSharedAttrName()))
      dynamicShared = k.i32(bytes.getInt());
    gpu::LaunchFuncOp::create(
        b, loc, fn,
        gpu::KernelDim3{gridX, k.idx((n + bn - 1) / bn), k.idx(gridZ)},
        gpu::KernelDim3{k.idx(threads), k.idx(1), k.idx(1)}, dynamicShared,
        args);
    return outDev;
  };

  // The f32 partial sums [S * M, N] of S split-K parts.
  auto partialsOf = [&](int64_t splits) {
    return MemRefType::get(
        {ShapedType::isDynamic(mStatic) ? dyn : splits * mStatic, n},
        b.getF32Type());
  };
  // A split-K launch: the parts into f32 partial sums [S * M, N], then
  // `name`_reduce adds them and the bias into the output.
  auto splitKLaunch = [&](DeviceRun &run, StringRef name,
                          SmallVector<Value> args, ArrayRef<Value> params,
                          const llvm::DenseMap<Value, Value> &computed,
                          int64_t bm, int64_t bn, int64_t threads,
                          int64_t splits, MemRefType partialsType) -> Value {
    Value partials =
        partialsType.hasStaticShape()
            ? deviceAlloc(run, partialsType)
            : deviceAlloc(run, partialsType, ValueRange{k.mulc(mV, splits)});
    launchTiled(run, name, std::move(args), params, computed, bm, bn, threads,
                splits, partials);
    Value outDev = deviceAlloc(run, outType);
    SmallVector<Value> reduceArgs = {partials};
    if (Value bias = op.getBias())
      reduceArgs.push_back(toDevice(run, bias));
    reduceArgs.push_back(outDev);
    launch1D((name + "_reduce").str(), k.mulc(mV, n), reduceArgs);
    return outDev;
  };

  //===--- bmma: bit-plane binary MMA ------------------------------------===//
  // Both bmma tiles in one plan: the 8-row one is named ..._bmma_m8.
  bool bothBmmaTiles =
      llvm::any_of(plan,
                   [](const PlanRange &r) {
                     return r.family == Family::Bmma && r.smallTile;
                   }) &&
      llvm::any_of(plan, [](const PlanRange &r) {
        return r.family == Family::Bmma && !r.smallTile;
      });
  auto emitBmma = [&](DeviceRun &run, bool smallTile) -> FailureOr<Value> {
    BmmaConfig c;
    c.p = wq.getWidth();
    c.q = aq.getWidth();
    c.wSigned = wq.getIsSigned();
    c.aSigned = aq.getIsSigned();
    c.n = n;
    c.k = kk;
    c.kw = (kk + 255) / 256 * 8;
    c.groupSize = groupSize;
    c.groups = groups;
    c.smallM = mmaShape == "m8n8k128" || (mmaShape == "auto" && smallTile);
    if (c.smallM) {
      // Decode shapes: one 8-row strip, four warps side by side along N.
      c.bm = 8;
      c.bn = 128;
      c.warpsM = 1;
      c.warpsN = 4;
    }
    // Accumulator updates per k-step: P*Q multiply-adds (one per plane
    // pair), or one per shift (two chains, and a subtraction, when a sign
    // plane exists).
    int64_t chainedUpdates =
        (c.p + c.q - 1) * ((c.wSigned || c.aSigned) ? 2 : 1);
    c.chain =
        planeLoop == "auto" ? chainedUpdates < c.p * c.q : planeLoop == "shift";
    c.stages = std::max<int64_t>(
        1, std::min<int64_t>(maxStages, 48 * 1024 / c.stageBytes()));
    if (c.stageBytes() > 48 * 1024)
      return op.emitOpError("one pipeline stage of W")
             << c.p << "A" << c.q << " needs " << c.stageBytes()
             << " bytes of shared memory, more than 48 KiB";
    c.sa = saKind, c.za = zaKind, c.sw = swKind, c.zw = zwKind;
    c.bias = static_cast<bool>(op.getBias());
    c.outType = resultType.getElementType();
    // Split-K for the 8-row tile, as for imma/hmma's 16-row one (not with
    // row-sum corrections over all of K).
    bool zpSums = c.zw != ParamKind::None || c.za != ParamKind::None;
    if (c.smallM && !(zpSums && groups == 1))
      c.splitK = splitKParts(splitKBlocks, (n + c.bn - 1) / c.bn,
                             groups > 1 ? groups : c.kw / 8);
    bool split = c.splitK > 1;
    if (split) {
      c.bias = false; // added by the reduction
      c.outType = b.getF32Type();
    }
    auto partialsType = partialsOf(c.splitK);
    // The kernel's parameters in argument order (with split-K the bias goes
    // to the reduction).
    auto bmmaParams = [&]() -> SmallVector<Value> {
      return {op.getActScale(), op.getActZeroPoint(), op.getWeightScale(),
              op.getWeightZeroPoint(), split ? Value() : op.getBias()};
    };

    auto actBytes = MemRefType::get({mStatic, kk}, i8);
    auto actPlanesType = MemRefType::get({c.q, mStatic, c.kw}, i32);
    auto wPlanesType = MemRefType::get({c.p, n, c.kw}, i32);
    auto actSumsType = MemRefType::get({mStatic, c.groups}, i32);
    auto wBytes = MemRefType::get({n, kk}, i8);
    auto wSumsType = MemRefType::get({n, c.groups}, i32);
    bool zw = c.zw != ParamKind::None, za = c.za != ParamKind::None;
    std::string bmmaName =
        prefix + "_bmma" + (smallTile && bothBmmaTiles ? "_m8" : "");
    std::string packName = prefix + (fq ? "_quant_pack_act" : "_pack_act");
    if (!kernel(packName)) {
      if (fq) {
        gpu::GPUFuncOp quantPack = buildQuantPackKernel(
            kb, loc, gpuModule, prefix + "_quant_pack_act", *fq,
            fqArgTypes(actPlanesType, zw, actSumsType), c.q, kk, c.kw, c.groups,
            zw);
        quantPack->setAttr("qopt.quantize", quantizeAttr());
      } else {
        buildPackKernel(kb, loc, gpuModule, prefix + "_pack_act", actBytes,
                        actPlanesType, c.q, kk, c.kw);
        if (zw)
          buildRowSumKernel(kb, loc, gpuModule, prefix + "_rowsum_act",
                            actBytes, actSumsType, c.aSigned, groupLen,
                            c.groups);
      }
      if (!wIsConst) {
        buildPackKernel(kb, loc, gpuModule, prefix + "_pack_weight", wBytes,
                        wPlanesType, c.p, kk, c.kw);
        if (za)
          buildRowSumKernel(kb, loc, gpuModule, prefix + "_rowsum_weight",
                            wBytes, wSumsType, c.wSigned, groupLen, c.groups);
      }
    }
    if (!kernel(bmmaName)) {
      SmallVector<Type> argTypes = {actPlanesType, wPlanesType};
      if (zw)
        argTypes.push_back(actSumsType);
      if (za)
        argTypes.push_back(wSumsType);
      for (Value v : bmmaParams())
        if (v)
          argTypes.push_back(memrefOf(cast<RankedTensorType>(v.getType())));
      argTypes.push_back(split ? partialsType : memrefOf(resultType));
      gpu::GPUFuncOp bmma =
          buildBmmaKernel(kb, loc, gpuModule, bmmaName, c, argTypes);
      if (split)
        buildSplitKReduceKernel(
            kb, loc, gpuModule, bmmaName + "_reduce", partialsType,
            op.getBias()
                ? memrefOf(cast<RankedTensorType>(op.getBias().getType()))
                : MemRefType(),
            memrefOf(resultType), c.splitK);
      bmma->setAttr(
          "qopt.bitplane",
          b.getDictionaryAttr(
              {b.getNamedAttr("weight_bits", b.getI64IntegerAttr(c.p)),
               b.getNamedAttr("act_bits", b.getI64IntegerAttr(c.q)),
               b.getNamedAttr(
                   "mma", b.getStringAttr(c.smallM ? "m8n8k128" : "m16n8k256")),
               b.getNamedAttr("block_tile",
                              b.getDenseI64ArrayAttr({c.bm, c.bn})),
               b.getNamedAttr("stages", b.getI64IntegerAttr(c.stages)),
               b.getNamedAttr("plane_loop",
                              b.getStringAttr(c.chain ? "shift" : "act")),
               b.getNamedAttr("split_k", b.getI64IntegerAttr(c.splitK)),
               b.getNamedAttr("groups", b.getI64IntegerAttr(c.groups))}));
    }

    Value actDev = toDevice(run, fq ? fq->op.getInput() : op.getAct());
    Value actPlanes = deviceAlloc(run, actPlanesType);
    Value rowSumA, rowSumW, wPlanes;
    // Device buffers the fused kernel fills with the computed parameters.
    llvm::DenseMap<Value, Value> computed;
    if (fq) {
      if (zw)
        rowSumA = deviceAlloc(run, actSumsType);
      gpu::LaunchFuncOp::create(
          b, loc, kernel(prefix + "_quant_pack_act"),
          gpu::KernelDim3{mV, k.idx(1), k.idx(1)},
          gpu::KernelDim3{k.idx(256), k.idx(1), k.idx(1)}, Value(),
          fusedQuantArgs(run, actPlanes, rowSumA, computed, fqScaleType,
                         fqZpType));
    } else {
      launch1D(prefix + "_pack_act", k.mulc(mV, c.kw), {actDev, actPlanes});
      if (zw) {
        rowSumA = deviceAlloc(run, actSumsType);
        launch1D(prefix + "_rowsum_act", k.mulc(mV, c.groups),
                 {actDev, rowSumA});
      }
    }
    if (wIsConst && randomWeights) {
      wPlanes = randomOnDevice({c.p, n, c.kw}, "gpu_bitplanes");
      if (za)
        rowSumW = randomOnDevice({n, c.groups}, "gpu_weight_row_sums");
    } else if (wConst) {
      wPlanes =
          toDevice(run, packedConstant({c.p, n, c.kw}, "gpu_bitplanes", [&] {
                     std::vector<int32_t> planes(c.p * n * c.kw, 0);
                     for (int64_t r = 0; r < n; ++r)
                       for (int64_t x = 0; x < kk; ++x) {
                         auto v = static_cast<uint64_t>((*wConst)[r * kk + x]);
                         for (int64_t bit = 0; bit < c.p; ++bit)
                           if ((v >> bit) & 1)
                             planes[(bit * n + r) * c.kw + x / 32] |=
                                 static_cast<int32_t>(uint32_t(1) << (x % 32));
                       }
                     return planes;
                   }));
      if (za)
        rowSumW = toDevice(run, weightRowSums());
    } else {
      Value wDev = toDevice(run, op.getWeight());
      wPlanes = deviceAlloc(run, wPlanesType);
      launch1D(prefix + "_pack_weight", k.idx(n * c.kw), {wDev, wPlanes});
      if (za) {
        rowSumW = deviceAlloc(run, wSumsType);
        launch1D(prefix + "_rowsum_weight", k.idx(n * c.groups),
                 {wDev, rowSumW});
      }
    }
    SmallVector<Value> args = {actPlanes, wPlanes};
    if (rowSumA)
      args.push_back(rowSumA);
    if (rowSumW)
      args.push_back(rowSumW);
    SmallVector<Value> params = bmmaParams();
    if (!split)
      return launchTiled(run, bmmaName, args, params, computed, c.bm, c.bn,
                         c.threads());
    return splitKLaunch(run, bmmaName, args, params, computed, c.bm, c.bn,
                        c.threads(), c.splitK, partialsType);
  };

  //===--- imma / hmma: weights unpacked for s8 / f16 MMA ----------------===//
  // mRows: the most rows M can have in the range (the largest int64_t:
  // no bound).
  auto emitDequantMma = [&](DeviceRun &run, Family family, bool smallTile,
                            bool warpsSplitK, bool largeTile,
                            int64_t mRows) -> FailureOr<Value> {
    DequantMmaConfig c;
    c.kind = family == Family::Imma ? MmaKind::S8 : hmmaKind(op);
    bool s8 = c.kind == MmaKind::S8;
    c.p = wq.getWidth();
    c.wSigned = wq.getIsSigned();
    c.wU8 = !c.wSigned && c.p == 8;
    c.aU8 = s8 && !aq.getIsSigned() && aq.getWidth() == 8;
    c.zwInOperands = s8 && zwInByteRange;
    // The packed values are w - wMin: offset binary for hmma, and for
    // imma's signed weights of 7 bits or fewer (the kernel makes each byte
    // w * 2^(8-p), see DequantMmaConfig::weightOperandShift).
    c.wMin = !s8                    ? wScheme.getQuantMin(wq)
             : c.wSigned && c.p < 8 ? -(int64_t(1) << (c.p - 1))
                                    : 0;
    c.n = n;
    c.k = kk;
    c.kt = dequantMmaKTile(s8, groupSize);
    c.kp = (kk + c.kt - 1) / c.kt * c.kt;
    // Every tile's k-tile is a multiple of this one (decodeKTileFor), so
    // they all read the same packed weights.
    c.chunkWords = c.kt / 32;
    c.groupSize = groupSize;
    c.groups = groups;
    if (smallTile) {
      // Decode shapes: one 16-row strip of four warps of 16 x 16, side by
      // side along N, or (warpsSplitK) sharing their columns and splitting
      // each k-tile's MMA k-steps: 16 x 16 blocks, N / 16 of them, so
      // LLaMA's shapes need no split of K over blocks (no partial sums, no
      // reduction kernel).
      c.warpsK = warpsSplitK ? dequantMmaWarpsK(s8, groupSize) : 1;
      c.bm = 16;
      c.warpsM = 1;
      c.warpsN = 4 / c.warpsK;
      c.bn = 16 * c.warpsN;
    } else if (largeTile) {
      // Large M: eight warps of 64 x 32, half the staged bytes per MMA of
      // the 64 x 64 tile, and each B fragment unpacked for four row
      // fragments rather than two.
      c.bm = c.bn = kLargeTile;
      c.warpsM = 2;
      c.warpsN = 4;
    }
    if (c.warpsK > 1) {
      // The decode tile: a larger k-tile (whole groups when they are
      // smaller), and only the rows M can have staged.
      c.kt = decodeKTileFor(s8, groupSize, c.warpsK, kk, decodeKTile);
      c.kp = (kk + c.kt - 1) / c.kt * c.kt;
      c.stagedRows = std::min<int64_t>(c.bm, mRows);
    }
    // imma's decode tile quantizes its activation rows itself when they
    // come from a dynamic per-token qopt.quantize (no quantize kernel):
    // not with weight zero points corrected by activation row sums, and
    // only with 16-byte aligned float rows (cp.async).
    Type xElem = fq ? cast<RankedTensorType>(fq->op.getInput().getType())
                          .getElementType()
                    : Type();
    bool fuseQuant = decodeFuseQuant && s8 && c.warpsK > 1 && fq &&
                     fq->computeParams &&
                     (zwKind == ParamKind::None || c.zwInOperands) &&
                     kk * xElem.getIntOrFloatBitWidth() % 128 == 0;
    if (fuseQuant) {
      c.fusedQuant = static_cast<const ActQuantSpec &>(*fq);
      c.xType = xElem;
    }
    // hmma's activations of another type than its operands, or needing K
    // padded, are converted: by the 16-row tiles themselves (16-byte
    // aligned rows, for cp.async; at M <= 16 each of the N / BN blocks
    // converting its rows costs little), else by a kernel before the MMA
    // kernel (the 64-row tile: its column blocks would each convert and
    // read twice the bytes of the same rows).
    Type mmaElem = s8                        ? Type(i8)
                   : c.kind == MmaKind::BF16 ? Type(b.getBF16Type())
                                             : Type(b.getF16Type());
    Type actElem = actType.getElementType();
    bool actAsIs = !s8 && actElem == mmaElem && c.kp == kk;
    bool fuseConvert = !s8 && !actAsIs && smallTile &&
                       kk * actElem.getIntOrFloatBitWidth() % 128 == 0;
    if (fuseConvert) {
      c.fusedConvert = true;
      c.xType = actElem;
    }
    c.sa = s8 ? saKind : ParamKind::None;
    c.za = s8 ? zaKind : ParamKind::None;
    c.sw = swKind, c.zw = zwKind;
    c.stages = std::max<int64_t>(
        1, std::min<int64_t>(c.warpsK > 1 ? decodeMaxStages : maxStages,
                             (sharedMemoryBytes - c.extraSharedBytes()) /
                                 c.stageBytes()));
    c.bias = static_cast<bool>(op.getBias());
    c.outType = resultType.getElementType();
    bool zwSums = c.actRowSums();
    bool zaSums = s8 && c.za != ParamKind::None;
    // Split-K for the 16-row tile (decode shapes give few blocks, one per
    // 64 columns): S parts of K on blockIdx.z, so that about split-k-blocks
    // blocks run, then a reduction kernel. Not with row-sum corrections
    // over all of K (zero points without groups): their sums are per group.
    int64_t kTiles = c.kp / c.kt;
    int64_t kUnits = groups > 1 && c.groupsPerTile() == 1 ? groups : kTiles;
    if (smallTile && !((zwSums || zaSums) && groups == 1))
      c.splitK = splitKParts(splitKBlocks, (n + c.bn - 1) / c.bn, kUnits);
    bool split = c.splitK > 1;
    if (split) {
      c.bias = false; // added by the reduction
      c.outType = b.getF32Type();
    }
    // The decode tile: no more stages than a block has k-tiles.
    if (c.warpsK > 1)
      c.stages = std::min(c.stages, (kUnits + c.splitK - 1) / c.splitK *
                                        (kTiles / kUnits));
    auto partialsType = partialsOf(c.splitK);
    // The kernel's parameters in argument order (hmma has no activation
    // scale or zero point; with split-K the bias goes to the reduction).
    auto dequantParams = [&]() -> SmallVector<Value> {
      return {s8 && !fuseQuant ? Value(op.getActScale()) : Value(),
              s8 && !fuseQuant ? Value(op.getActZeroPoint()) : Value(),
              op.getWeightScale(), op.getWeightZeroPoint(),
              split ? Value() : op.getBias()};
    };

    StringRef kindName = familyName(family);
    std::string mmaName = prefix + "_" + kindName.str() +
                          (largeTile      ? "_m128"
                           : !smallTile   ? ""
                           : c.warpsK > 1 ? "_m16_wk" + std::to_string(c.warpsK)
                                          : "_m16") +
                          (fuseQuant     ? "_quant"
                           : fuseConvert ? "_cvt"
                                         : "");
    std::string actName = prefix + (s8 ? "_quant_bytes_act"
                                    : c.kind == MmaKind::BF16 ? "_to_bf16_act"
                                                              : "_to_f16_act");
    auto actWordsType = MemRefType::get({mStatic, c.actWords()}, i32);
    auto actElemType = MemRefType::get({mStatic, c.kp}, mmaElem);
    auto actSumsType = MemRefType::get({mStatic, c.groups}, i32);
    auto wPlanesType = MemRefType::get({c.p, n, c.kp / 32}, i32);
    auto wSumsType = MemRefType::get({n, c.groups}, i32);
    if (!fuseQuant && !fuseConvert && !kernel(actName)) {
      if (!s8 && !actAsIs) {
        buildToHalfKernel(kb, loc, gpuModule, actName, memrefOf(actType),
                          actElemType, kk, c.kp);
      } else if (fq) {
        gpu::GPUFuncOp quant = buildQuantPackKernel(
            kb, loc, gpuModule, actName, *fq,
            fqArgTypes(actElemType, zwSums, actSumsType), aq.getWidth(), kk,
            c.kp / 32, c.groups, zwSums, /*bytesOut=*/true);
        quant->setAttr("qopt.quantize", quantizeAttr());
      }
    }
    // Built once for every range (actName is no kernel of this path).
    if (s8 && !fq && zwSums && !kernel(prefix + "_rowsum_bytes_act"))
      buildRowSumKernel(kb, loc, gpuModule, prefix + "_rowsum_bytes_act",
                        actElemType, actSumsType, aq.getIsSigned(), groupLen,
                        c.groups);
    if (!kernel(mmaName)) {
      SmallVector<Type> argTypes = {
          fuseQuant
              ? memrefOf(cast<RankedTensorType>(fq->op.getInput().getType()))
          : fuseConvert ? memrefOf(actType)
                        : actWordsType,
          wPlanesType};
      if (zwSums)
        argTypes.push_back(actSumsType);
      if (zaSums)
        argTypes.push_back(wSumsType);
      for (Value v : dequantParams())
        if (v)
          argTypes.push_back(memrefOf(cast<RankedTensorType>(v.getType())));
      argTypes.push_back(split ? partialsType : memrefOf(resultType));
      gpu::GPUFuncOp mma =
          buildDequantMmaKernel(kb, loc, gpuModule, mmaName, c, argTypes);
      if (split)
        buildSplitKReduceKernel(
            kb, loc, gpuModule, mmaName + "_reduce", partialsType,
            op.getBias()
                ? memrefOf(cast<RankedTensorType>(op.getBias().getType()))
                : MemRefType(),
            memrefOf(resultType), c.splitK);
      SmallVector<NamedAttribute> info = {
          b.getNamedAttr("weight_bits", b.getI64IntegerAttr(c.p)),
          b.getNamedAttr("act",
                         b.getStringAttr(s8 ? (c.aU8 ? "u8" : "s8")
                                         : c.kind == MmaKind::BF16 ? "bf16"
                                                                   : "f16")),
          b.getNamedAttr("mma", b.getStringAttr(s8 ? "m16n8k32" : "m16n8k16")),
          b.getNamedAttr("block_tile", b.getDenseI64ArrayAttr({c.bm, c.bn})),
          b.getNamedAttr("k_tile", b.getI64IntegerAttr(c.kt)),
          b.getNamedAttr("stages", b.getI64IntegerAttr(c.stages)),
          b.getNamedAttr("warps_k", b.getI64IntegerAttr(c.warpsK)),
          b.getNamedAttr("split_k", b.getI64IntegerAttr(c.splitK)),
          b.getNamedAttr("groups", b.getI64IntegerAttr(c.groups))};
      if (c.warpsK > 1)
        info.push_back(
            b.getNamedAttr("staged_rows", b.getI64IntegerAttr(c.actRows())));
      // imma's weight zero points: subtracted in the B operands, or
      // corrected from activation row sums (hmma's are always in them).
      if (s8 && c.zw != ParamKind::None)
        info.push_back(b.getNamedAttr(
            "weight_zero_point",
            b.getStringAttr(c.zwInOperands ? "operands" : "row_sums")));
      mma->setAttr("qopt.dequant_mma", b.getDictionaryAttr(info));
    }

    // Activations: bytes (imma) or f16/bf16 (hmma), K zero-padded to kp;
    // or the float input of a fused quantize as it is.
    Value rowSumA, actWords;
    llvm::DenseMap<Value, Value> computed;
    if (zwSums)
      rowSumA = deviceAlloc(run, actSumsType);
    Value actElems;
    if (!fuseQuant && !fuseConvert) {
      auto view = deviceRows(run, c.actBytesPerRow());
      actElems = view(mmaElem);
      actWords = view(i32);
    }
    if (fuseQuant) {
      // Quantized by the MMA kernel: the float input as it is.
      actWords = toDevice(run, fq->op.getInput());
    } else if (fuseConvert) {
      // Converted by the MMA kernel.
      actWords = toDevice(run, op.getAct());
    } else if (actAsIs) {
      Value host = bufferization::ToBufferOp::create(
          b, loc, actElemType, op.getAct(), /*read_only=*/true);
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, actElems, host);
    } else if (!s8) {
      launch1D(actName, k.mulc(mV, c.kp),
               {toDevice(run, op.getAct()), actElems});
    } else if (fq) {
      gpu::LaunchFuncOp::create(
          b, loc, kernel(actName), gpu::KernelDim3{mV, k.idx(1), k.idx(1)},
          gpu::KernelDim3{k.idx(256), k.idx(1), k.idx(1)}, Value(),
          fusedQuantArgs(run, actElems, rowSumA, computed, fqScaleType,
                         fqZpType));
    } else {
      // Quantized on the host: its bytes, padded there, copied in.
      auto bytesType = RankedTensorType::get({mStatic, kk}, i8);
      Value bytes = StorageCastOp::create(b, loc, bytesType, op.getAct());
      if (c.kp != kk) {
        auto padded = RankedTensorType::get({mStatic, c.kp}, i8);
        SmallVector<OpFoldResult> low = {b.getIndexAttr(0), b.getIndexAttr(0)};
        SmallVector<OpFoldResult> high = {b.getIndexAttr(0),
                                          b.getIndexAttr(c.kp - kk)};
        bytes = tensor::PadOp::create(
            b, loc, padded, bytes, low, high,
            Value(arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0))));
      }
      Value host = bufferization::ToBufferOp::create(
          b, loc, MemRefType::get({mStatic, c.kp}, i8), bytes,
          /*read_only=*/true);
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, actElems, host);
      if (zwSums)
        launch1D(prefix + "_rowsum_bytes_act", k.mulc(mV, c.groups),
                 {actElems, rowSumA});
    }
    // Weights, repacked at compile time.
    StringRef planesName = s8 ? "gpu_imma_planes" : "gpu_hmma_planes";
    Value wPlanes;
    if (randomWeights) {
      wPlanes = randomOnDevice({c.p, n, c.kp / 32}, planesName);
    } else {
      wPlanes =
          toDevice(run, packedConstant({c.p, n, c.kp / 32}, planesName, [&] {
                     return packDequantMmaWeights(c.kind, *wConst, n, kk, c.kp,
                                                  c.p, c.wMin, c.chunkWords);
                   }));
    }
    SmallVector<Value> args = {actWords, wPlanes};
    if (rowSumA)
      args.push_back(rowSumA);
    if (zaSums && randomWeights) {
      args.push_back(randomOnDevice({n, c.groups}, "gpu_weight_row_sums"));
    } else if (zaSums) {
      args.push_back(toDevice(run, weightRowSums()));
    }
    if (!split)
      return launchTiled(run, mmaName, args, dequantParams(), computed, c.bm,
                         c.bn, c.threads());
    return splitKLaunch(run, mmaName, args, dequantParams(), computed, c.bm,
                        c.bn, c.threads(), c.splitK, partialsType);
  };

  // One range: its kernels on fresh device buffers, the result copied back
  // to a host buffer, every buffer of the range freed.
  auto emitRange = [&](const PlanRange &r) -> FailureOr<Value> {
    DeviceRun run;
    FailureOr<Value> outDev =
        r.family == Family::Bmma
            ? emitBmma(run, r.smallTile)
            : emitDequantMma(run, r.family, r.smallTile, r.warpsSplitK,
                             r.largeTile,
                             ShapedType::isDynamic(mStatic) ? r.mMax : mStatic);
    if (failed(outDev))
      return failure();
    Value host = memref::AllocOp::create(b, loc, outType, dynSizes(outType));
    gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, host, *outDev);
    for (Value buf : run.buffers)
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, buf);
    return host;
  };
  // Ranges after the first become an scf.if chain on M.
  std::function<FailureOr<Value>(size_t)> emitFrom =
      [&](size_t i) -> FailureOr<Value> {
    if (i + 1 == plan.size())
      return emitRange(plan[i]);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, mV,
                                          k.idx(plan[i].mMax));
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{outType}, inRange,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    for (int branch = 0; branch < 2; ++branch) {
      Region &region =
          branch == 0 ? ifOp.getThenRegion() : ifOp.getElseRegion();
      b.setInsertionPointToStart(&region.front());
      FailureOr<Value> host =
          branch == 0 ? emitRange(plan[i]) : emitFrom(i + 1);
      if (failed(host))
        return failure();
      scf::YieldOp::create(b, loc, *host);
    }
    return ifOp.getResult(0);
  };
  FailureOr<Value> host = emitFrom(0);
  if (failed(host)) {
    hostFunc.erase();
    return failure();
  }
  Value result = bufferization::ToTensorOp::create(
      b, loc, resultType, *host, /*restrict=*/true, /*writable=*/true);
  func::ReturnOp::create(b, loc, result);
  // Values of the caller the body used become arguments (constants are
  // copied in), then the call replaces the matmul.
  Block &body = hostFunc.getBody().front();
  SmallVector<Value> captured;
  llvm::DenseMap<Value, Value> inside;
  SmallVector<Operation *> bodyOps;
  hostFunc.walk([&](Operation *inner) {
    if (inner != hostFunc)
      bodyOps.push_back(inner);
  });
  OpBuilder cb = OpBuilder::atBlockBegin(&body);
  for (Operation *inner : bodyOps)
    for (OpOperand &use : inner->getOpOperands()) {
      Value v = use.get();
      Operation *owner = v.getParentRegion()->getParentOp();
      if (owner == hostFunc || hostFunc->isProperAncestor(owner))
        continue;
      Value &mapped = inside[v];
      if (!mapped) {
        Operation *def = v.getDefiningOp();
        if (def && def->hasTrait<OpTrait::ConstantLike>()) {
          mapped =
              cb.clone(*def)->getResult(cast<OpResult>(v).getResultNumber());
        } else {
          mapped = body.addArgument(v.getType(), loc);
          captured.push_back(v);
        }
      }
      use.set(mapped);
    }
  hostFunc.setType(b.getFunctionType(body.getArgumentTypes(), {resultType}));
  b.setInsertionPoint(op);
  auto call = func::CallOp::create(b, loc, hostFunc, captured);
  op.replaceAllUsesWith(call.getResult(0));
  op.erase();
  if (fq && fq->op->use_empty())
    fq->op.erase();
  return success();
}

} // namespace
