//===- ActivationQuant.cpp - qopt.quantize of activations inside kernels --===//

#include "ActivationQuant.h"

#include "KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;
using namespace qopt::gpu_kernels;

Value qopt::gpu_kernels::f32Intrinsic(OpBuilder &b, Location loc,
                                      StringRef name, Value v) {
  return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(),
                                       b.getStringAttr(name), ValueRange{v})
      .getResult(0);
}

RowQuantParams qopt::gpu_kernels::computeRowQuantParams(
    OpBuilder &b, Location loc, const ActQuantSpec &f,
    function_ref<Value(OpBuilder &, Location, Value)> loadX, Value tid,
    Value warp, Value lane0, int64_t threads, int64_t kReal, Value red) {
  KB k{b, loc};
  const int64_t warps = threads / 32;
  // The combination of a reduction: max |x| (symmetric) or (min, max).
  auto combine = [&](OpBuilder &nb, Location l, unsigned which, Value a,
                     Value v) -> Value {
    if (which == 0 && !f.symmetric)
      return arith::MinimumFOp::create(nb, l, a, v);
    return arith::MaximumFOp::create(nb, l, a, v);
  };
  unsigned nRed = f.symmetric ? 1 : 2;
  SmallVector<Value> init(nRed, k.f32(0.0));
  // Each iteration loads `unroll` values of the thread (columns col + j *
  // threads) before combining any: their loads are in flight together, so
  // a row costs K / (threads * unroll) memory latencies, not K / threads.
  // Columns beyond K count as 0, which the ranges include anyway (they
  // start at 0); min and max are exact, so the order does not matter.
  const int64_t unroll = std::min<int64_t>(
      8, std::max<int64_t>(1, (kReal + threads - 1) / threads));
  auto loop = scf::ForOp::create(
      b, loc, tid, k.idx(kReal), k.idx(threads * unroll), init,
      [&](OpBuilder &nb, Location l, Value col, ValueRange acc) {
        KB n{nb, l};
        SmallVector<Value> vals;
        for (int64_t j = 0; j < unroll; ++j) {
          Value c = n.addc(col, j * threads);
          Value v = loadX(nb, l, j ? n.minu(c, n.idx(kReal - 1)) : c);
          if (j)
            v = arith::SelectOp::create(nb, l, n.ult(c, n.idx(kReal)), v,
                                        n.f32(0.0));
          vals.push_back(v);
        }
        SmallVector<Value> next(acc);
        for (Value v : vals) {
          if (f.symmetric) {
            next[0] = combine(nb, l, 1, next[0],
                              f32Intrinsic(nb, l, "llvm.fabs.f32", v));
          } else {
            next[0] = combine(nb, l, 0, next[0], v);
            next[1] = combine(nb, l, 1, next[1], v);
          }
        }
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
  {
    auto ifLane0 = scf::IfOp::create(b, loc, lane0, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifLane0.getThenRegion().front());
    for (unsigned w = 0; w < nRed; ++w)
      memref::StoreOp::create(b, loc, r[w], red, ValueRange{k.idx(w), warp});
  }
  gpu::BarrierOp::create(b, loc);
  for (unsigned w = 0; w < nRed; ++w) {
    unsigned which = f.symmetric ? 1 : w;
    r[w] = k.load(red, {k.idx(w), k.idx(0)});
    for (int64_t i = 1; i < warps; ++i)
      r[w] = combine(b, loc, which, r[w], k.load(red, {k.idx(w), k.idx(i)}));
  }
  // The parameters, as qopt-quantize-activations computes them.
  Value width = f.symmetric ? r[0] : arith::SubFOp::create(b, loc, r[1], r[0]);
  Value s = arith::DivFOp::create(b, loc, width, k.f32(f.steps));
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, s, k.f32(0));
  RowQuantParams params;
  params.scale = arith::SelectOp::create(b, loc, positive, s, k.f32(1.0));
  if (!f.symmetric) {
    Value z =
        f32Intrinsic(b, loc, "llvm.roundeven.f32",
                     arith::SubFOp::create(
                         b, loc, k.f32(f.qmin),
                         arith::DivFOp::create(b, loc, r[0], params.scale)));
    z = arith::MaximumFOp::create(b, loc, z, k.f32(f.qmin));
    z = arith::MinimumFOp::create(b, loc, z, k.f32(f.qmax));
    params.zp = arith::SelectOp::create(b, loc, positive, z, k.f32(0));
  }
  return params;
}

Value qopt::gpu_kernels::quantizeValue(OpBuilder &b, Location loc,
                                       const ActQuantSpec &f, Value x,
                                       Value scale, Value zp) {
  auto cst = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Value r = f32Intrinsic(b, loc, "llvm.roundeven.f32",
                         arith::DivFOp::create(b, loc, x, scale));
  r = arith::AddFOp::create(b, loc, r, zp);
  r = arith::MaximumFOp::create(b, loc, r, cst(f.qmin));
  r = arith::MinimumFOp::create(b, loc, r, cst(f.qmax));
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  r = arith::SelectOp::create(b, loc, isNan, zp, r);
  return arith::FPToSIOp::create(b, loc, b.getI32Type(), r);
}
