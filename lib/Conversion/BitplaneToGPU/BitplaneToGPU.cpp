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
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"

#include <cstring>

namespace qopt {
#define GEN_PASS_DEF_CONVERTBITPLANETOGPU
#include "qopt/Conversion/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;

namespace {

/// How a scale or zero point is indexed.
enum class ParamKind { None, Scalar, Row, Col, ColGroup };

/// Everything one BMMA kernel is specialized on.
struct BmmaConfig {
  int64_t p = 0, q = 0; // weight / activation bits (planes)
  bool wSigned = false, aSigned = false;
  int64_t n = 0, k = 0;  // output channels, real K
  int64_t kw = 0;        // packed words per row (K padded to 256 bits)
  int64_t groupSize = 0; // bits per weight group, 0: one group
  int64_t groups = 1;
  bool smallM = false; // m8n8k128 instead of m16n8k256
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

/// Small builder helpers on index and i32 values.
struct KB {
  OpBuilder &b;
  Location loc;
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value divu(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value remu(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value minu(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value addc(Value x, int64_t c) { return c ? add(x, idx(c)) : x; }
  Value mulc(Value x, int64_t c) { return c == 1 ? x : mul(x, idx(c)); }
  Value load(Value m, ValueRange is) {
    return memref::LoadOp::create(b, loc, m, is);
  }
  Value toF32(Value v) {
    if (v.getType().isF32())
      return v;
    return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
  }
};

/// The builder of one gpu.func kernel.
static gpu::GPUFuncOp makeKernel(OpBuilder &b, Location loc,
                                 gpu::GPUModuleOp module, StringRef name,
                                 TypeRange args, int64_t threads,
                                 TypeRange workgroup = {}) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto func = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(args, {}),
                                     workgroup);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(threads), 1, 1}));
  b.setInsertionPointToStart(&func.getBody().front());
  gpu::ReturnOp::create(b, loc);
  return func;
}

/// The global thread index of a 1-D launch.
static Value globalThread(KB &k, int64_t threads) {
  Value bid = gpu::BlockIdOp::create(k.b, k.loc, gpu::Dimension::x);
  Value tid = gpu::ThreadIdOp::create(k.b, k.loc, gpu::Dimension::x);
  return k.add(k.mulc(bid, threads), tid);
}

/// src [R, K] i8 -> planes [B, R, KW] i32: one thread per (row, word).
static gpu::GPUFuncOp buildPackKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      MemRefType srcType, MemRefType dstType,
                                      int64_t bits, int64_t kReal, int64_t kw) {
  const int64_t threads = 256;
  auto func = makeKernel(b, loc, module, name, {srcType, dstType}, threads);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(func.getBody().front().getTerminator());
  KB k{b, loc};
  Value src = func.getArgument(0), dst = func.getArgument(1);
  Value rows = memref::DimOp::create(b, loc, src, 0);
  Value gid = globalThread(k, threads);
  Value total = k.mulc(rows, kw);
  auto inRange = scf::IfOp::create(b, loc, k.ult(gid, total),
                                   /*withElseRegion=*/false);
  b.setInsertionPointToStart(&inRange.getThenRegion().front());
  Value kwV = k.idx(kw);
  Value r = k.divu(gid, kwV), w = k.remu(gid, kwV);
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
  return func;
}

/// src [R, K] i8 -> sums [R, G] i32 of each group: one thread per (row,
/// group).
static gpu::GPUFuncOp buildRowSumKernel(OpBuilder &b, Location loc,
                                        gpu::GPUModuleOp module, StringRef name,
                                        MemRefType srcType, MemRefType dstType,
                                        bool isSigned, int64_t groupLen,
                                        int64_t groups) {
  const int64_t threads = 256;
  auto func = makeKernel(b, loc, module, name, {srcType, dstType}, threads);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(func.getBody().front().getTerminator());
  KB k{b, loc};
  Value src = func.getArgument(0), dst = func.getArgument(1);
  Value rows = memref::DimOp::create(b, loc, src, 0);
  Value gid = globalThread(k, threads);
  auto inRange = scf::IfOp::create(b, loc, k.ult(gid, k.mulc(rows, groups)),
                                   /*withElseRegion=*/false);
  b.setInsertionPointToStart(&inRange.getThenRegion().front());
  Value r = k.divu(gid, k.idx(groups)), g = k.remu(gid, k.idx(groups));
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
  return func;
}

/// Index of a scale/zero point for output element (row, col) in group g.
static Value loadParam(KB &k, Value param, ParamKind kind, Value row, Value col,
                       Value g) {
  SmallVector<Value> is;
  switch (kind) {
  case ParamKind::None:
    return {};
  case ParamKind::Scalar:
    is.assign(cast<MemRefType>(param.getType()).getRank(), k.idx(0));
    break;
  case ParamKind::Row:
    is = {row};
    break;
  case ParamKind::Col:
    is = {col};
    break;
  case ParamKind::ColGroup:
    is = {col, g};
    break;
  }
  return k.load(param, is);
}

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

  // Prologue: k-steps 0 .. S-2 in flight.
  for (int64_t s = 0; s + 1 < c.stages; ++s) {
    if (s < kSteps)
      issueLoads(b, loc, k.idx(s), k.idx(s));
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
    auto ifLoad = scf::IfOp::create(nb, l, n.ult(next, n.idx(kSteps)),
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

  // Output coordinates of accumulator a (clamped for parameter loads).
  auto coords = [&](KB &n, int64_t a) {
    int64_t e = a % c.accPerFrag();
    int64_t f = (a / c.accPerFrag()) % c.nf();
    int64_t mfI = a / (c.accPerFrag() * c.nf());
    Value row =
        n.add(n.add(m0, n.addc(warpRow, mfI * c.mmaM() + (e / 2) * 8)), g);
    Value col = n.add(n.add(n0, n.addc(warpCol, f * 8 + e % 2)), n.mulc(t, 2));
    return std::make_pair(row, col);
  };
  // acc (exact integers of group gIdx) -> f32 with zero points and sw.
  int64_t groupLen = c.groupSize ? c.groupSize : c.k;
  auto fold = [&](OpBuilder &nb, Location l, Value gIdx, ValueRange acc,
                  SmallVector<Value> facc) {
    KB n{nb, l};
    for (int64_t a = 0; a < nAcc; ++a) {
      auto [row, col] = coords(n, a);
      Value rowC = n.minu(row, mLast), colC = n.minu(col, nLast);
      Value v = acc[a];
      Value zaV = loadParam(n, za, c.za, rowC, colC, gIdx);
      Value zwV = loadParam(n, zw, c.zw, rowC, colC, gIdx);
      if (zwV)
        v = n.sub(v, n.mul(zwV, n.load(rowSumA, {rowC, gIdx})));
      if (zaV)
        v = n.sub(v, n.mul(zaV, n.load(rowSumW, {colC, gIdx})));
      if (zaV && zwV)
        v = n.add(v, n.mul(n.i32(groupLen), n.mul(zaV, zwV)));
      Value f = arith::SIToFPOp::create(nb, l, nb.getF32Type(), v);
      Value swV = n.toF32(loadParam(n, sw, c.sw, rowC, colC, gIdx));
      f = arith::MulFOp::create(nb, l, f, swV);
      facc[a] =
          facc[a] ? arith::AddFOp::create(nb, l, facc[a], f).getResult() : f;
    }
    return facc;
  };

  SmallVector<Value> zeros(nAcc, k.i32(0));
  SmallVector<Value> facc;
  Value one = k.idx(1);
  if (!grouped) {
    auto loop = scf::ForOp::create(
        b, loc, k.idx(0), k.idx(kSteps), one, zeros,
        [&](OpBuilder &nb, Location l, Value ks, ValueRange acc) {
          scf::YieldOp::create(nb, l,
                               kStepBody(nb, l, ks, SmallVector<Value>(acc)));
        });
    facc = fold(b, loc, k.idx(0), loop.getResults(),
                SmallVector<Value>(nAcc, Value()));
  } else {
    SmallVector<Value> fzeros(nAcc, k.f32(0.0));
    auto outer = scf::ForOp::create(
        b, loc, k.idx(0), k.idx(c.groups), one, fzeros,
        [&](OpBuilder &ob, Location l, Value gIdx, ValueRange fIn) {
          KB o{ob, l};
          Value first = o.mulc(gIdx, stepsPerGroup);
          auto inner = scf::ForOp::create(
              ob, l, first, o.addc(first, stepsPerGroup), o.idx(1), zeros,
              [&](OpBuilder &nb, Location l2, Value ks, ValueRange acc) {
                scf::YieldOp::create(
                    nb, l2, kStepBody(nb, l2, ks, SmallVector<Value>(acc)));
              });
          scf::YieldOp::create(
              ob, l,
              fold(ob, l, gIdx, inner.getResults(), SmallVector<Value>(fIn)));
        });
    facc.assign(outer.getResults().begin(), outer.getResults().end());
  }

  // Epilogue in registers: sa, bias, output type; one store per element.
  for (int64_t a = 0; a < nAcc; ++a) {
    auto [row, col] = coords(k, a);
    Value rowC = k.minu(row, mLast), colC = k.minu(col, nLast);
    Value y = facc[a];
    if (Value saV = loadParam(k, sa, c.sa, rowC, colC, Value()))
      y = arith::MulFOp::create(b, loc, y, k.toF32(saV));
    if (bias)
      y = arith::AddFOp::create(b, loc, y, k.toF32(k.load(bias, {colC})));
    if (!c.outType.isF32())
      y = arith::TruncFOp::create(b, loc, c.outType, y);
    Value inBounds =
        arith::AndIOp::create(b, loc, k.ult(row, m), k.ult(col, k.idx(c.n)));
    auto store = scf::IfOp::create(b, loc, inBounds, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(&store.getThenRegion().front());
    memref::StoreOp::create(b, loc, y, out, ValueRange{row, col});
  }
  return func;
}

//===----------------------------------------------------------------------===//
// Fused activation quantization
//===----------------------------------------------------------------------===//

/// How the activations of a qmatmul are quantized when the pack kernel does
/// it (the qmatmul's activation is a qopt.quantize of a float [M, K]).
struct FusedQuant {
  QuantizeOp op;
  /// The scale and zero point are computed in the kernel from the row
  /// (the linalg generics qopt-quantize-activations writes for dynamic
  /// per-token scales); otherwise they are read from the quantize's
  /// operands (per tensor or per row).
  bool computeParams = false;
  bool symmetric = true;
  bool perRow = false; // given params: one per row (else one per tensor)
  float steps = 0;     // computed params: the range's divisor
  double qmin = 0, qmax = 0;
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
  if (xType.getRank() != 2 || xType.getDimSize(1) != kk ||
      !(xType.getElementType().isF32() || xType.getElementType().isF16()))
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

/// x [M, K] f32/f16 -> planes [Q, M, KW] i32 (and row sums [M, G], and the
/// computed scales [M] / zero points [M]): one block of 256 threads per row.
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
///    lane, coalesced) at a time, quantizes its element as qopt.quantize
///    does (q = clamp(roundeven(x / scale) + zp, qmin, qmax), NaN -> zp) and
///    forms the Q plane words with one `vote.sync.ballot` per bit. Lane
///    partial sums give the row sums per group (warp shuffles, then the
///    8 warps' partials in shared memory).
static gpu::GPUFuncOp
buildQuantPackKernel(OpBuilder &b, Location loc, gpu::GPUModuleOp module,
                     StringRef name, const FusedQuant &f,
                     ArrayRef<Type> argTypes, int64_t bits, int64_t kReal,
                     int64_t kw, int64_t groups, bool rowSums) {
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
  auto cst = [&](OpBuilder &nb, Location l, double v) -> Value {
    return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v));
  };
  // |x| and round-half-to-even as LLVM intrinsics (abs.f32, cvt.rni.f32.f32
  // in PTX): convert-gpu-to-nvvm would turn math.absf / math.roundeven into
  // libdevice calls (__nv_fabsf, __nv_rintf), unresolved in the PTX unless
  // libdevice is found at compile time.
  auto intrinsic = [&](OpBuilder &nb, Location l, StringRef name,
                       Value v) -> Value {
    return LLVM::CallIntrinsicOp::create(nb, l, f32, nb.getStringAttr(name),
                                         ValueRange{v})
        .getResult(0);
  };
  auto loadX = [&](OpBuilder &nb, Location l, Value col) -> Value {
    Value v = memref::LoadOp::create(nb, l, x, ValueRange{row, col});
    return v.getType().isF32()
               ? v
               : arith::ExtFOp::create(nb, l, f32, v).getResult();
  };
  // The combination of a reduction: max |x| (symmetric) or (min, max).
  auto combine = [&](OpBuilder &nb, Location l, unsigned which, Value a,
                     Value v) -> Value {
    if (which == 0 && !f.symmetric)
      return arith::MinimumFOp::create(nb, l, a, v);
    return arith::MaximumFOp::create(nb, l, a, v);
  };
  auto ifThen = [&](Value cond, function_ref<void()> body) {
    auto op = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  };

  Value scale, zpF;
  if (f.computeParams) {
    unsigned nRed = f.symmetric ? 1 : 2;
    SmallVector<Value> init(nRed, k.f32(0.0));
    auto loop = scf::ForOp::create(
        b, loc, tid, k.idx(kReal), k.idx(threads), init,
        [&](OpBuilder &nb, Location l, Value col, ValueRange acc) {
          Value v = loadX(nb, l, col);
          SmallVector<Value> next;
          if (f.symmetric)
            next.push_back(combine(nb, l, 1, acc[0],
                                   intrinsic(nb, l, "llvm.fabs.f32", v)));
          else
            next = {combine(nb, l, 0, acc[0], v), combine(nb, l, 1, acc[1], v)};
          scf::YieldOp::create(nb, l, next);
        });
    SmallVector<Value> r(loop.getResults());
    for (unsigned w = 0; w < nRed; ++w) {
      unsigned which = f.symmetric ? 1 : w;
      for (int64_t off = 16; off >= 1; off /= 2) {
        Value other =
            gpu::ShuffleOp::create(b, loc, r[w], off, 32, gpu::ShuffleMode::XOR)
                .getShuffleResult();
        r[w] = combine(b, loc, which, r[w], other);
      }
    }
    ifThen(lane0, [&] {
      for (unsigned w = 0; w < nRed; ++w)
        memref::StoreOp::create(b, loc, r[w], red, ValueRange{k.idx(w), warp});
    });
    gpu::BarrierOp::create(b, loc);
    for (unsigned w = 0; w < nRed; ++w) {
      unsigned which = f.symmetric ? 1 : w;
      r[w] = k.load(red, {k.idx(w), k.idx(0)});
      for (int64_t i = 1; i < warps; ++i)
        r[w] = combine(b, loc, which, r[w], k.load(red, {k.idx(w), k.idx(i)}));
    }
    // The parameters, as qopt-quantize-activations computes them.
    Value width =
        f.symmetric ? r[0] : arith::SubFOp::create(b, loc, r[1], r[0]);
    Value s = arith::DivFOp::create(b, loc, width, k.f32(f.steps));
    Value positive =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, s, k.f32(0));
    scale = arith::SelectOp::create(b, loc, positive, s, k.f32(1.0));
    if (!f.symmetric) {
      Value z = intrinsic(
          b, loc, "llvm.roundeven.f32",
          arith::SubFOp::create(b, loc, k.f32(f.qmin),
                                arith::DivFOp::create(b, loc, r[0], scale)));
      z = arith::MaximumFOp::create(b, loc, z, k.f32(f.qmin));
      z = arith::MinimumFOp::create(b, loc, z, k.f32(f.qmax));
      zpF = arith::SelectOp::create(b, loc, positive, z, k.f32(0));
    }
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

  // Quantize and pack: one word per warp at a time.
  int64_t wordsPerGroup = groups > 1 ? kw / groups : kw;
  Value allLanes = k.i32(-1);
  auto groupLoop = scf::ForOp::create(
      b, loc, k.idx(0), k.idx(groups), k.idx(1), ValueRange{},
      [&](OpBuilder &gb, Location gl, Value g, ValueRange) {
        KB o{gb, gl};
        Value first = o.add(o.mulc(g, wordsPerGroup), warp);
        auto words = scf::ForOp::create(
            gb, gl, first, o.mulc(o.addc(g, 1), wordsPerGroup), o.idx(warps),
            ValueRange{o.i32(0)},
            [&](OpBuilder &nb, Location l, Value w, ValueRange acc) {
              KB n{nb, l};
              Value col = n.add(n.mulc(w, 32), lane);
              Value valid = n.ult(col, n.idx(kReal));
              Value v = loadX(nb, l, n.minu(col, n.idx(kReal - 1)));
              Value r = intrinsic(nb, l, "llvm.roundeven.f32",
                                  arith::DivFOp::create(nb, l, v, scale));
              r = arith::AddFOp::create(nb, l, r, zpF);
              r = arith::MaximumFOp::create(nb, l, r, cst(nb, l, f.qmin));
              r = arith::MinimumFOp::create(nb, l, r, cst(nb, l, f.qmax));
              Value isNan =
                  arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO, v, v);
              r = arith::SelectOp::create(nb, l, isNan, zpF, r);
              Value qv = arith::FPToSIOp::create(nb, l, i32, r);
              qv = arith::SelectOp::create(nb, l, valid, qv, n.i32(0));
              SmallVector<Value> planeWords;
              for (int64_t bit = 0; bit < bits; ++bit) {
                Value x1 = bit ? arith::ShRUIOp::create(nb, l, qv, n.i32(bit))
                                     .getResult()
                               : qv;
                x1 = arith::AndIOp::create(nb, l, x1, n.i32(1));
                Value pred = arith::TruncIOp::create(nb, l, nb.getI1Type(), x1);
                planeWords.push_back(NVVM::VoteSyncOp::create(
                    nb, l, i32, allLanes, pred, NVVM::VoteSyncKind::ballot));
              }
              auto store =
                  scf::IfOp::create(nb, l, lane0, /*withElseRegion=*/false);
              {
                OpBuilder::InsertionGuard g2(nb);
                nb.setInsertionPointToStart(&store.getThenRegion().front());
                for (int64_t bit = 0; bit < bits; ++bit)
                  memref::StoreOp::create(nb, l, planeWords[bit], planes,
                                          ValueRange{n.idx(bit), row, w});
              }
              scf::YieldOp::create(nb, l, ValueRange{n.add(acc[0], qv)});
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

/// Why the kernels cannot take `op`, if they cannot.
static std::optional<std::string> unsupportedOnGpu(QMatmulOp op) {
  if (op.isWeightOnly())
    return std::string("weight-only (float activation) matmuls have no "
                       "bit-plane GPU kernel; quantize the activations");
  auto weightType = op.getWeight().getType();
  if (ShapedType::isDynamic(op.getAct().getType().getDimSize(1)) ||
      ShapedType::isDynamic(weightType.getDimSize(0)) ||
      ShapedType::isDynamic(weightType.getDimSize(1)))
    return std::string("the GPU kernels need static K and N");
  IntType aq = op.getActStorageType(), wq = op.getWeightStorageType();
  if (aq.getWidth() > 8 || wq.getWidth() > 8)
    return "bit planes on the GPU take at most 8 bits per operand (got W" +
           std::to_string(wq.getWidth()) + "A" + std::to_string(aq.getWidth()) +
           ")";
  QuantSchemeAttr wScheme = op.getWeightScheme();
  int64_t groupSize = wScheme.isPerGroup() ? wScheme.getGroupSize() : 0;
  if (groupSize && groupSize % 256)
    return "per-group weights need groups of a multiple of 256 on the GPU "
           "(whole m16n8k256 steps), got " +
           std::to_string(groupSize);
  return std::nullopt;
}

struct BitplaneToGPUPass
    : qopt::impl::ConvertBitplaneToGPUBase<BitplaneToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<QMatmulOp> matmuls;
    module.walk([&](QMatmulOp op) {
      if (cpuFallback)
        if (std::optional<std::string> why = unsupportedOnGpu(op)) {
          op.emitRemark("stays on the CPU: ") << *why;
          return;
        }
      matmuls.push_back(op);
    });
    if (matmuls.empty())
      return;
    if (mmaShape != "auto" && mmaShape != "m16n8k256" &&
        mmaShape != "m8n8k128") {
      module.emitError("qopt-bitplane-to-gpu: unknown mma-shape '")
          << mmaShape << "' (m16n8k256, m8n8k128 or auto)";
      return signalPassFailure();
    }
    OpBuilder b(module.getContext());
    b.setInsertionPointToEnd(module.getBody());
    auto gpuModule =
        gpu::GPUModuleOp::create(b, module.getLoc(), "qopt_kernels");
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    unsigned index = 0;
    for (QMatmulOp op : matmuls)
      if (failed(lower(op, gpuModule, index++)))
        return signalPassFailure();
  }

  LogicalResult lower(QMatmulOp op, gpu::GPUModuleOp gpuModule, unsigned index);
};

LogicalResult BitplaneToGPUPass::lower(QMatmulOp op, gpu::GPUModuleOp gpuModule,
                                       unsigned index) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  if (std::optional<std::string> why = unsupportedOnGpu(op))
    return op.emitOpError(*why);
  auto actType = op.getAct().getType();
  auto weightType = op.getWeight().getType();
  IntType aq = op.getActStorageType(), wq = op.getWeightStorageType();
  int64_t kk = actType.getDimSize(1), n = weightType.getDimSize(0);
  QuantSchemeAttr wScheme = op.getWeightScheme();
  int64_t groupSize = wScheme.isPerGroup() ? wScheme.getGroupSize() : 0;
  auto resultType = op.getResult().getType();

  BmmaConfig c;
  c.p = wq.getWidth();
  c.q = aq.getWidth();
  c.wSigned = wq.getIsSigned();
  c.aSigned = aq.getIsSigned();
  c.n = n;
  c.k = kk;
  c.kw = (kk + 255) / 256 * 8;
  c.groupSize = groupSize;
  c.groups = groupSize ? kk / groupSize : 1;
  int64_t mStatic = actType.getDimSize(0);
  c.smallM =
      mmaShape == "m8n8k128" ||
      (mmaShape == "auto" && !ShapedType::isDynamic(mStatic) && mStatic <= 8);
  if (c.smallM) {
    // Decode shapes: one 8-row strip, four warps side by side along N.
    c.bm = 8;
    c.bn = 128;
    c.warpsM = 1;
    c.warpsN = 4;
  }
  // Accumulator updates per k-step: P*Q multiply-adds (one per plane pair),
  // or one per shift (two chains, and a subtraction, when a sign plane
  // exists).
  int64_t chainedUpdates = (c.p + c.q - 1) * ((c.wSigned || c.aSigned) ? 2 : 1);
  if (planeLoop == "auto")
    c.chain = chainedUpdates < c.p * c.q;
  else if (planeLoop == "shift" || planeLoop == "act")
    c.chain = planeLoop == "shift";
  else
    return op.emitOpError("unknown plane-loop '")
           << planeLoop << "' (act, shift or auto)";
  c.stages = std::max<int64_t>(
      1, std::min<int64_t>(maxStages, 48 * 1024 / c.stageBytes()));
  if (c.stageBytes() > 48 * 1024)
    return op.emitOpError("one pipeline stage of W")
           << c.p << "A" << c.q << " needs " << c.stageBytes()
           << " bytes of shared memory, more than 48 KiB";
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
  c.sa = kindOf(op.getActScale(), actPerTensor, ParamKind::Row);
  c.za = kindOf(op.getActZeroPoint(), false, ParamKind::Row);
  c.sw = kindOf(op.getWeightScale(), wScheme.isPerTensor(),
                wScheme.isPerGroup() ? ParamKind::ColGroup : ParamKind::Col);
  ParamKind zwVector = ParamKind::Col;
  if (Value zwv = op.getWeightZeroPoint())
    if (cast<RankedTensorType>(zwv.getType()).getRank() == 2)
      zwVector = ParamKind::ColGroup;
  c.zw = kindOf(op.getWeightZeroPoint(), false, zwVector);
  c.bias = static_cast<bool>(op.getBias());
  c.outType = resultType.getElementType();

  // --- kernels ---------------------------------------------------------
  OpBuilder b(ctx);
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  int64_t dyn = ShapedType::kDynamic;
  auto memrefOf = [](RankedTensorType t, Type elem = {}) {
    return MemRefType::get(t.getShape(), elem ? elem : t.getElementType());
  };
  auto actBytes = MemRefType::get({mStatic, kk}, i8);
  auto actPlanesType = MemRefType::get({c.q, mStatic, c.kw}, i32);
  auto wPlanesType = MemRefType::get({c.p, n, c.kw}, i32);
  std::string prefix = ("qmatmul" + Twine(index)).str();
  int64_t groupLen = groupSize ? groupSize : kk;
  auto actSumsType = MemRefType::get({mStatic, c.groups}, i32);
  // A qopt.quantize of float activations is done by the pack kernel itself.
  std::optional<FusedQuant> fq = matchFusedQuant(op.getAct(), kk);
  SmallVector<Type> quantArgTypes;
  Type fqScaleType, fqZpType;
  if (fq) {
    fqScaleType = memrefOf(cast<RankedTensorType>(fq->op.getScale().getType()));
    if (Value zp = fq->op.getZeroPoint())
      fqZpType = memrefOf(cast<RankedTensorType>(zp.getType()));
    quantArgTypes.push_back(
        memrefOf(cast<RankedTensorType>(fq->op.getInput().getType())));
    if (!fq->computeParams) {
      quantArgTypes.push_back(fqScaleType);
      if (fqZpType)
        quantArgTypes.push_back(fqZpType);
    }
    quantArgTypes.push_back(actPlanesType);
    if (c.zw != ParamKind::None)
      quantArgTypes.push_back(actSumsType);
    if (fq->computeParams) {
      quantArgTypes.push_back(fqScaleType);
      if (fqZpType)
        quantArgTypes.push_back(fqZpType);
    }
    gpu::GPUFuncOp quantPack = buildQuantPackKernel(
        b, loc, gpuModule, prefix + "_quant_pack_act", *fq, quantArgTypes, c.q,
        kk, c.kw, c.groups, c.zw != ParamKind::None);
    quantPack->setAttr(
        "qopt.quantize",
        b.getDictionaryAttr(
            {b.getNamedAttr("params",
                            b.getStringAttr(
                                fq->computeParams
                                    ? "computed"
                                    : (fq->perRow ? "per_row" : "per_tensor"))),
             b.getNamedAttr("symmetric", b.getBoolAttr(fq->symmetric))}));
  } else {
    buildPackKernel(b, loc, gpuModule, prefix + "_pack_act", actBytes,
                    actPlanesType, c.q, kk, c.kw);
    if (c.zw != ParamKind::None)
      buildRowSumKernel(b, loc, gpuModule, prefix + "_rowsum_act", actBytes,
                        actSumsType, c.aSigned, groupLen, c.groups);
  }
  std::optional<std::vector<int64_t>> wConst =
      constantWeights(op.getWeight(), wq, n, kk);
  auto wBytes = MemRefType::get({n, kk}, i8);
  auto wSumsType = MemRefType::get({n, c.groups}, i32);
  if (!wConst) {
    buildPackKernel(b, loc, gpuModule, prefix + "_pack_weight", wBytes,
                    wPlanesType, c.p, kk, c.kw);
    if (c.za != ParamKind::None)
      buildRowSumKernel(b, loc, gpuModule, prefix + "_rowsum_weight", wBytes,
                        wSumsType, c.wSigned, groupLen, c.groups);
  }
  SmallVector<Type> argTypes = {actPlanesType, wPlanesType};
  SmallVector<Value> params; // host tensors, in argument order after sums
  if (c.zw != ParamKind::None)
    argTypes.push_back(MemRefType::get({mStatic, c.groups}, i32));
  if (c.za != ParamKind::None)
    argTypes.push_back(wSumsType);
  for (Value v : {op.getActScale(), op.getActZeroPoint(), op.getWeightScale(),
                  op.getWeightZeroPoint(), op.getBias()})
    if (v) {
      params.push_back(v);
      argTypes.push_back(memrefOf(cast<RankedTensorType>(v.getType())));
    }
  argTypes.push_back(memrefOf(resultType));
  gpu::GPUFuncOp bmma =
      buildBmmaKernel(b, loc, gpuModule, prefix + "_bmma", c, argTypes);
  bmma->setAttr(
      "qopt.bitplane",
      b.getDictionaryAttr(
          {b.getNamedAttr("weight_bits", b.getI64IntegerAttr(c.p)),
           b.getNamedAttr("act_bits", b.getI64IntegerAttr(c.q)),
           b.getNamedAttr("mma",
                          b.getStringAttr(c.smallM ? "m8n8k128" : "m16n8k256")),
           b.getNamedAttr("block_tile", b.getDenseI64ArrayAttr({c.bm, c.bn})),
           b.getNamedAttr("stages", b.getI64IntegerAttr(c.stages)),
           b.getNamedAttr("plane_loop",
                          b.getStringAttr(c.chain ? "shift" : "act")),
           b.getNamedAttr("groups", b.getI64IntegerAttr(c.groups))}));

  // --- host side -------------------------------------------------------
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
  b.setInsertionPointToStart(hostFunc.addEntryBlock());
  KB k{b, loc};
  SmallVector<Value> deviceBuffers;
  Value mV =
      tensor::DimOp::create(b, loc, fq ? fq->op.getInput() : op.getAct(), 0);
  auto dynSizes = [&](MemRefType t) {
    SmallVector<Value> sizes;
    for (int64_t s : t.getShape())
      if (s == dyn)
        sizes.push_back(mV);
    return sizes;
  };
  auto deviceAlloc = [&](MemRefType t) {
    Value buf = gpu::AllocOp::create(b, loc, t, Type(), ValueRange{},
                                     dynSizes(t), ValueRange{})
                    .getMemref();
    deviceBuffers.push_back(buf);
    return buf;
  };
  llvm::DenseMap<Value, Value> onDevice;
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
  auto toDevice = [&](Value tensor) {
    Value &cached = onDevice[tensor];
    if (cached)
      return cached;
    if (Value dev = constantOnDevice(tensor)) {
      onDevice[tensor] = dev;
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
    Value dev = deviceAlloc(memrefOf(t));
    gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, dev, host);
    onDevice[key] = dev;
    return dev;
  };
  auto launch1D = [&](StringRef name, Value work, ValueRange args) {
    auto func = gpuModule.lookupSymbol<gpu::GPUFuncOp>(name);
    Value blocks = k.divu(k.addc(work, 255), k.idx(256));
    gpu::LaunchFuncOp::create(
        b, loc, func, gpu::KernelDim3{blocks, k.idx(1), k.idx(1)},
        gpu::KernelDim3{k.idx(256), k.idx(1), k.idx(1)}, Value(), args);
  };

  Value actDev = toDevice(fq ? fq->op.getInput() : op.getAct());
  Value actPlanes = deviceAlloc(actPlanesType);
  SmallVector<Value> args = {actPlanes};
  Value rowSumA, rowSumW, wPlanes;
  // Device buffers the fused kernel fills with the computed parameters.
  llvm::DenseMap<Value, Value> computed;
  if (fq) {
    if (c.zw != ParamKind::None)
      rowSumA = deviceAlloc(actSumsType);
    SmallVector<Value> qArgs = {actDev};
    Value zp = fq->op.getZeroPoint();
    if (!fq->computeParams) {
      qArgs.push_back(toDevice(fq->op.getScale()));
      if (zp)
        qArgs.push_back(toDevice(zp));
    }
    qArgs.push_back(actPlanes);
    if (rowSumA)
      qArgs.push_back(rowSumA);
    if (fq->computeParams) {
      Value s = deviceAlloc(cast<MemRefType>(fqScaleType));
      qArgs.push_back(s);
      computed[fq->op.getScale()] = s;
      if (zp) {
        Value z = deviceAlloc(cast<MemRefType>(fqZpType));
        qArgs.push_back(z);
        computed[zp] = z;
      }
    }
    auto func =
        gpuModule.lookupSymbol<gpu::GPUFuncOp>(prefix + "_quant_pack_act");
    gpu::LaunchFuncOp::create(
        b, loc, func, gpu::KernelDim3{mV, k.idx(1), k.idx(1)},
        gpu::KernelDim3{k.idx(256), k.idx(1), k.idx(1)}, Value(), qArgs);
  } else {
    launch1D(prefix + "_pack_act", k.mulc(mV, c.kw), {actDev, actPlanes});
    if (c.zw != ParamKind::None) {
      rowSumA = deviceAlloc(actSumsType);
      launch1D(prefix + "_rowsum_act", k.mulc(mV, c.groups), {actDev, rowSumA});
    }
  }
  if (wConst) {
    std::vector<int32_t> planes(c.p * n * c.kw, 0);
    std::vector<int32_t> sums(n * c.groups, 0);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t x = 0; x < kk; ++x) {
        int64_t v = (*wConst)[r * kk + x];
        sums[r * c.groups + x / groupLen] += static_cast<int32_t>(v);
        for (int64_t bit = 0; bit < c.p; ++bit)
          if ((static_cast<uint64_t>(v) >> bit) & 1)
            planes[(bit * n + r) * c.kw + x / 32] |=
                static_cast<int32_t>(uint32_t(1) << (x % 32));
      }
    wPlanes =
        toDevice(i32Resource(b, loc, {c.p, n, c.kw}, planes, "gpu_bitplanes"));
    if (c.za != ParamKind::None)
      rowSumW = toDevice(
          i32Resource(b, loc, {n, c.groups}, sums, "gpu_weight_row_sums"));
  } else {
    Value wDev = toDevice(op.getWeight());
    wPlanes = deviceAlloc(wPlanesType);
    launch1D(prefix + "_pack_weight", k.idx(n * c.kw), {wDev, wPlanes});
    if (c.za != ParamKind::None) {
      rowSumW = deviceAlloc(wSumsType);
      launch1D(prefix + "_rowsum_weight", k.idx(n * c.groups), {wDev, rowSumW});
    }
  }
  args.push_back(wPlanes);
  if (rowSumA)
    args.push_back(rowSumA);
  if (rowSumW)
    args.push_back(rowSumW);
  for (Value v : params) {
    Value dev = computed.lookup(v);
    args.push_back(dev ? dev : toDevice(v));
  }
  auto outType = memrefOf(resultType);
  Value outDev = deviceAlloc(outType);
  args.push_back(outDev);
  Value gridX = k.divu(k.addc(mV, c.bm - 1), k.idx(c.bm));
  gpu::LaunchFuncOp::create(
      b, loc, bmma,
      gpu::KernelDim3{gridX, k.idx((n + c.bn - 1) / c.bn), k.idx(1)},
      gpu::KernelDim3{k.idx(c.threads()), k.idx(1), k.idx(1)}, Value(), args);
  Value host = memref::AllocOp::create(b, loc, outType, dynSizes(outType));
  gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, host, outDev);
  for (Value buf : deviceBuffers)
    gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, buf);
  Value result = bufferization::ToTensorOp::create(
      b, loc, resultType, host, /*restrict=*/true, /*writable=*/true);
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
