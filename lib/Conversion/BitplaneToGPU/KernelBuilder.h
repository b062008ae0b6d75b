//===- KernelBuilder.h - helpers shared by the GPU kernel builders --------===//
//
// Small builders used by every kernel of qopt-bitplane-to-gpu: index/i32/f32
// constants and arithmetic, a gpu.func with a known block size, and the
// loads of scale / zero-point parameters by how they are indexed.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_CONVERSION_BITPLANETOGPU_KERNELBUILDER_H
#define QOPT_LIB_CONVERSION_BITPLANETOGPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/MathExtras.h"

namespace qopt {
namespace gpu_kernels {
using namespace mlir;

/// How a scale or zero point is indexed.
enum class ParamKind { None, Scalar, Row, Col, ColGroup };

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
inline gpu::GPUFuncOp makeKernel(OpBuilder &b, Location loc,
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

/// The most shared memory a kernel may declare statically (CUDA's limit);
/// beyond it a kernel's shared memory is dynamic, opted into at launch.
constexpr int64_t kStaticSharedBytes = 48 * 1024;

/// The attribute of a kernel whose shared memory is dynamic: its bytes, the
/// launch's dynamic shared memory size.
inline StringRef dynamicSharedAttrName() { return "qopt.dynamic_shared_bytes"; }

/// A kernel with shared buffers of the `shared` types, appended to
/// `buffers` in order: workgroup attributions while they fit in
/// kStaticSharedBytes, else views at 16-byte aligned offsets into the
/// kernel's dynamic shared memory (gpu.dynamic_shared_memory), whose size
/// the kernel's dynamicSharedAttrName() holds.
inline gpu::GPUFuncOp makeKernelWithShared(OpBuilder &b, Location loc,
                                           gpu::GPUModuleOp module,
                                           StringRef name, TypeRange args,
                                           int64_t threads,
                                           ArrayRef<MemRefType> shared,
                                           SmallVectorImpl<Value> &buffers) {
  SmallVector<int64_t> offsets;
  int64_t total = 0;
  for (MemRefType t : shared) {
    offsets.push_back(total);
    total +=
        llvm::alignTo(t.getNumElements() * t.getElementTypeBitWidth() / 8, 16);
  }
  if (total <= kStaticSharedBytes) {
    SmallVector<Type> types(shared.begin(), shared.end());
    auto func = makeKernel(b, loc, module, name, args, threads, types);
    for (BlockArgument a : func.getWorkgroupAttributions())
      buffers.push_back(a);
    return func;
  }
  auto func = makeKernel(b, loc, module, name, args, threads);
  func->setAttr(dynamicSharedAttrName(), b.getI64IntegerAttr(total));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(func.getBody().front().getTerminator());
  auto space =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value bytes = gpu::DynamicSharedMemoryOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                      MemRefLayoutAttrInterface{}, space));
  for (auto [t, offset] : llvm::zip(shared, offsets))
    buffers.push_back(memref::ViewOp::create(
        b, loc, t, bytes,
        arith::ConstantIndexOp::create(b, loc, offset).getResult(),
        ValueRange{}));
  return func;
}

/// The global thread index of a 1-D launch.
inline Value globalThread(KB &k, int64_t threads) {
  Value bid = gpu::BlockIdOp::create(k.b, k.loc, gpu::Dimension::x);
  Value tid = gpu::ThreadIdOp::create(k.b, k.loc, gpu::Dimension::x);
  return k.add(k.mulc(bid, threads), tid);
}

inline Value loadParam(KB &k, Value param, ParamKind kind, Value row, Value col,
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

/// A kernel with one thread (of 256-thread blocks, launch1D's) per item of
/// [R, perRow], R the first dim of argument `rowsArg`. Leaves `b` inside the
/// kernel's in-range guard (the caller holds an InsertionGuard) and returns
/// the kernel, R, and the thread's row and item.
struct ItemKernel {
  gpu::GPUFuncOp func;
  Value rows, row, item;
};

inline ItemKernel buildItemKernel(OpBuilder &b, Location loc,
                                  gpu::GPUModuleOp module, StringRef name,
                                  TypeRange args, unsigned rowsArg,
                                  int64_t perRow) {
  const int64_t threads = 256;
  auto func = makeKernel(b, loc, module, name, args, threads);
  b.setInsertionPoint(func.getBody().front().getTerminator());
  KB k{b, loc};
  Value rows = memref::DimOp::create(b, loc, func.getArgument(rowsArg), 0);
  Value gid = globalThread(k, threads);
  auto inRange = scf::IfOp::create(b, loc, k.ult(gid, k.mulc(rows, perRow)),
                                   /*withElseRegion=*/false);
  b.setInsertionPointToStart(&inRange.getThenRegion().front());
  Value per = k.idx(perRow);
  return {func, rows, k.divu(gid, per), k.remu(gid, per)};
}

/// The part of K one block of an MMA kernel sums: all of it, or with split-K
/// part z = blockIdx.z of `splits` (whole weight groups when grouped, else
/// whole k-steps): groups [gBegin, gEnd) and k-steps [first, end).
struct KRange {
  bool grouped = false, split = false;
  int64_t stepsPerGroup = 0;
  Value z, gBegin, gEnd, first, end;
};

inline KRange blockKRange(KB &k, int64_t steps, int64_t groups,
                          int64_t splits) {
  KRange r;
  r.grouped = groups > 1;
  r.split = splits > 1;
  r.stepsPerGroup = r.grouped ? steps / groups : steps;
  int64_t units = r.grouped ? groups : steps;
  int64_t perSplit = (units + splits - 1) / splits;
  if (r.split)
    r.z = gpu::BlockIdOp::create(k.b, k.loc, gpu::Dimension::z);
  Value uBegin =
      r.split ? k.minu(k.mulc(r.z, perSplit), k.idx(units)) : k.idx(0);
  Value uEnd =
      r.split ? k.minu(k.addc(uBegin, perSplit), k.idx(units)) : k.idx(units);
  r.gBegin = r.grouped ? uBegin : k.idx(0);
  r.gEnd = r.grouped ? uEnd : k.idx(1);
  r.first = r.grouped ? k.mulc(uBegin, r.stepsPerGroup) : uBegin;
  r.end = r.grouped ? k.mulc(uEnd, r.stepsPerGroup) : uEnd;
  return r;
}

/// The number of split-K parts for about `targetBlocks` blocks of a grid of
/// `blocks` (one row of tiles), at most 16 and at most `units` (groups or
/// k-steps), every part non-empty; 1 when not worth splitting.
inline int64_t splitKParts(int64_t targetBlocks, int64_t blocks,
                           int64_t units) {
  if (targetBlocks <= 0 || blocks <= 0)
    return 1;
  int64_t want = std::min<int64_t>(
      {(targetBlocks + blocks - 1) / blocks, units, int64_t(16)});
  if (want <= 1)
    return 1;
  int64_t per = (units + want - 1) / want;
  return (units + per - 1) / per;
}

/// The scale, zero-point, row-sum and bias operands of an MMA kernel's
/// epilogue, and how each is indexed.
struct EpilogueParams {
  Value sa, za, sw, zw, bias, rowSumA, rowSumW;
  ParamKind saKind = ParamKind::None, zaKind = ParamKind::None;
  ParamKind swKind = ParamKind::None, zwKind = ParamKind::None;
  int64_t groupLen = 0; // K of one weight group (all of K without groups)
  /// The MMA's weight operands are already w - zw (imma's unsigned weights
  /// of 7 bits or fewer): no correction from the activation row sums.
  bool zwInOperands = false;
};

/// Where the accumulators of a warp tile land: MF x NF fragments of
/// mmaM x 8 (row-major over fragments), mmaM / 4 values per lane each, in
/// the PTX C/D layout (rows g and g + 8, columns 2t and 2t + 1).
struct AccLayout {
  Value m0, n0, warpRow, warpCol, g, t;
  int64_t mmaM = 16, nf = 1;
  int64_t accPerFrag() const { return mmaM / 4; }
  /// Output (row, column) of accumulator a.
  std::pair<Value, Value> coords(KB &n, int64_t a) const {
    int64_t e = a % accPerFrag();
    int64_t f = (a / accPerFrag()) % nf;
    int64_t mfI = a / (accPerFrag() * nf);
    Value row = n.add(n.add(m0, n.addc(warpRow, mfI * mmaM + (e / 2) * 8)), g);
    Value col = n.add(n.add(n0, n.addc(warpCol, f * 8 + e % 2)), n.mulc(t, 2));
    return {row, col};
  }
};

/// The weight scales (as f32) of the lane's `nAcc` accumulators in weight
/// group gIdx: loaded before the group's k-steps, so that its fold does not
/// wait on memory.
inline SmallVector<Value> loadGroupScales(KB &n, const AccLayout &layout,
                                          const EpilogueParams &p, Value mLast,
                                          Value nLast, Value gIdx,
                                          int64_t nAcc) {
  SmallVector<Value> sw;
  for (int64_t a = 0; a < nAcc; ++a) {
    auto [row, col] = layout.coords(n, a);
    sw.push_back(n.toF32(loadParam(n, p.sw, p.swKind, n.minu(row, mLast),
                                   n.minu(col, nLast), gIdx)));
  }
  return sw;
}

/// The exact integer sums `acc` of weight group gIdx -> f32, with the
/// zero-point corrections from row sums (sum a (w - zw) needs only za's:
/// - za sum w + groupLen za zw) and the weight scale, added to
/// `facc` (null entries start the sum). With `withCorrections` (i1), only
/// where it holds: partial sums of one group split over warps take the
/// corrections once. `sw`: the accumulators' weight scales as f32 when
/// loaded ahead (else loaded here).
inline SmallVector<Value> foldIntGroup(KB &n, const AccLayout &layout,
                                       const EpilogueParams &p, Value mLast,
                                       Value nLast, Value gIdx, ValueRange acc,
                                       SmallVector<Value> facc,
                                       Value withCorrections = Value(),
                                       ArrayRef<Value> sw = {}) {
  for (size_t a = 0; a < acc.size(); ++a) {
    auto [row, col] = layout.coords(n, a);
    Value rowC = n.minu(row, mLast), colC = n.minu(col, nLast);
    Value v = acc[a];
    Value zaV = loadParam(n, p.za, p.zaKind, rowC, colC, gIdx);
    Value zwV = loadParam(n, p.zw, p.zwKind, rowC, colC, gIdx);
    if (zwV && !p.zwInOperands)
      v = n.sub(v, n.mul(zwV, n.load(p.rowSumA, {rowC, gIdx})));
    if (zaV)
      v = n.sub(v, n.mul(zaV, n.load(p.rowSumW, {colC, gIdx})));
    if (zaV && zwV)
      v = n.add(v, n.mul(n.i32(p.groupLen), n.mul(zaV, zwV)));
    if (withCorrections && v != acc[a])
      v = arith::SelectOp::create(n.b, n.loc, withCorrections, v, acc[a]);
    Value f = arith::SIToFPOp::create(n.b, n.loc, n.b.getF32Type(), v);
    Value swV = sw.empty()
                    ? n.toF32(loadParam(n, p.sw, p.swKind, rowC, colC, gIdx))
                    : sw[a];
    f = arith::MulFOp::create(n.b, n.loc, f, swV);
    facc[a] =
        facc[a] ? arith::AddFOp::create(n.b, n.loc, facc[a], f).getResult() : f;
  }
  return facc;
}

/// The end of every MMA kernel, in registers: the activation scale, the
/// bias, the output type, then one masked store per element (at row +
/// `rowOffset` when given: a split-K kernel's slice of its partial sums).
inline void storeEpilogue(KB &k, const AccLayout &layout,
                          const EpilogueParams &p, Value m, Value mLast,
                          int64_t n, ArrayRef<Value> facc, Type outType,
                          Value out, Value rowOffset = Value()) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value nLast = k.idx(n - 1);
  for (size_t a = 0; a < facc.size(); ++a) {
    auto [row, col] = layout.coords(k, a);
    Value rowC = k.minu(row, mLast), colC = k.minu(col, nLast);
    Value y = facc[a];
    if (Value saV = loadParam(k, p.sa, p.saKind, rowC, colC, Value()))
      y = arith::MulFOp::create(b, loc, y, k.toF32(saV));
    if (p.bias)
      y = arith::AddFOp::create(b, loc, y, k.toF32(k.load(p.bias, {colC})));
    if (!outType.isF32())
      y = arith::TruncFOp::create(b, loc, outType, y);
    Value inBounds =
        arith::AndIOp::create(b, loc, k.ult(row, m), k.ult(col, k.idx(n)));
    auto store = scf::IfOp::create(b, loc, inBounds, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(&store.getThenRegion().front());
    Value outRow = rowOffset ? k.add(row, rowOffset) : row;
    memref::StoreOp::create(b, loc, y, out, ValueRange{outRow, col});
  }
}

} // namespace gpu_kernels
} // namespace qopt

#endif // QOPT_LIB_CONVERSION_BITPLANETOGPU_KERNELBUILDER_H
