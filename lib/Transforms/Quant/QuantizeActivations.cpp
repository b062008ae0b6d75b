//===- QuantizeActivations.cpp - static and dynamic activation scales -----===//

#include "qopt/Quant/Calibration.h"
#include "qopt/Quant/Quantizers.h"
#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace qopt {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONS
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;
using namespace qopt::quant;

namespace {

/// Per-row scale (and zero point) of x [M, K] at run time, with the same
/// formulas as qopt::quant::paramsForRange: symmetric scale = max|x| /
/// max(qmax, 1); asymmetric over [min(x, 0), max(x, 0)], scale = range /
/// (qmax - qmin), zero point = clamp(roundeven(qmin - lo / scale)). A zero
/// range gives scale 1.
std::pair<Value, Value> dynamicParams(OpBuilder &b, Location loc, Value x,
                                      const QuantSpec &spec) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  OpFoldResult rows = tensor::getMixedSize(b, loc, x, 0);
  auto rowInit = [&](float v) {
    Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{rows},
                                          f32);
    Value c = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
    return linalg::FillOp::create(b, loc, c, empty).getResult(0);
  };
  auto toF32 = [&](OpBuilder &nb, Location l, Value v) -> Value {
    return v.getType().isF32() ? v
                               : arith::ExtFOp::create(nb, l, f32, v).getResult();
  };
  SmallVector<AffineMap> reduceMaps = {AffineMap::get(2, 0, {d(0), d(1)}, ctx),
                                       AffineMap::get(2, 0, {d(0)}, ctx)};
  SmallVector<utils::IteratorType> reduceIters = {
      utils::IteratorType::parallel, utils::IteratorType::reduction};
  if (spec.symmetric) {
    Value amax =
        linalg::GenericOp::create(
            b, loc, rowInit(0.0f).getType(), ValueRange{x},
            ValueRange{rowInit(0.0f)}, reduceMaps, reduceIters,
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value a = math::AbsFOp::create(nb, l, toF32(nb, l, args[0]));
              linalg::YieldOp::create(
                  nb, l, arith::MaximumFOp::create(nb, l, args[1], a).getResult());
            })
            .getResult(0);
    float steps = static_cast<float>(std::max(spec.qmax(), 1));
    Value scale =
        linalg::GenericOp::create(
            b, loc, amax.getType(), ValueRange{amax},
            ValueRange{tensor::EmptyOp::create(
                b, loc, ArrayRef<OpFoldResult>{rows}, f32)},
            SmallVector<AffineMap>(2, b.getMultiDimIdentityMap(1)),
            SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value s = arith::DivFOp::create(
                  nb, l, args[0],
                  arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(steps)));
              Value zero =
                  arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.0f));
              Value one =
                  arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1.0f));
              Value positive = arith::CmpFOp::create(
                  nb, l, arith::CmpFPredicate::OGT, s, zero);
              linalg::YieldOp::create(
                  nb, l, arith::SelectOp::create(nb, l, positive, s, one)
                             .getResult());
            })
            .getResult(0);
    return {scale, Value()};
  }
  // Row min and max (clamped to include 0) in one pass.
  Type rowType = rowInit(0.0f).getType();
  auto range = linalg::GenericOp::create(
      b, loc, TypeRange{rowType, rowType}, ValueRange{x},
      ValueRange{rowInit(0.0f), rowInit(0.0f)},
      SmallVector<AffineMap>{reduceMaps[0], reduceMaps[1], reduceMaps[1]},
      reduceIters, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value v = toF32(nb, l, args[0]);
        linalg::YieldOp::create(
            nb, l,
            ValueRange{arith::MinimumFOp::create(nb, l, args[1], v),
                       arith::MaximumFOp::create(nb, l, args[2], v)});
      });
  Value lo = range.getResult(0), hi = range.getResult(1);
  float steps = static_cast<float>(spec.qmax() - spec.qmin());
  float qmin = static_cast<float>(spec.qmin()),
        qmax = static_cast<float>(spec.qmax());
  Value scaleInit =
      tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{rows}, f32);
  Value zpInit = tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{rows},
                                         b.getI32Type());
  auto params = linalg::GenericOp::create(
      b, loc, TypeRange{scaleInit.getType(), zpInit.getType()},
      ValueRange{lo, hi}, ValueRange{scaleInit, zpInit},
      SmallVector<AffineMap>(4, b.getMultiDimIdentityMap(1)),
      SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        auto cst = [&](float v) {
          return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v));
        };
        Value width = arith::SubFOp::create(nb, l, args[1], args[0]);
        Value s = arith::DivFOp::create(nb, l, width, cst(steps));
        Value positive = arith::CmpFOp::create(
            nb, l, arith::CmpFPredicate::OGT, s, cst(0.0f));
        s = arith::SelectOp::create(nb, l, positive, s, cst(1.0f));
        // zp = clamp(roundeven(qmin - lo / s)), 0 for a zero range.
        Value zp = math::RoundEvenOp::create(
            nb, l,
            arith::SubFOp::create(nb, l, cst(qmin),
                                  arith::DivFOp::create(nb, l, args[0], s)));
        zp = arith::MaximumFOp::create(nb, l, zp, cst(qmin));
        zp = arith::MinimumFOp::create(nb, l, zp, cst(qmax));
        zp = arith::SelectOp::create(nb, l, positive, zp, cst(0.0f));
        linalg::YieldOp::create(
            nb, l,
            ValueRange{s, arith::FPToSIOp::create(nb, l, nb.getI32Type(), zp)});
      });
  return {params.getResult(0), params.getResult(1)};
}

std::optional<RangeMethod> parseRange(llvm::StringRef s) {
  if (s == "absmax")
    return RangeMethod::AbsMax;
  if (s == "percentile")
    return RangeMethod::Percentile;
  if (s == "mse")
    return RangeMethod::Mse;
  return std::nullopt;
}

struct QuantizeActivationsPass
    : qopt::impl::QuantizeActivationsBase<QuantizeActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<QMatmulOp> ops;
    func.walk([&](QMatmulOp op) {
      QuantConfigAttr cfg = getQuantConfig(op);
      if (cfg && !cfg.isWeightOnly() && op.isWeightOnly())
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    std::optional<RangeMethod> method = parseRange(range);
    if (!method) {
      func.emitError() << "activation range must be absmax, percentile or "
                          "mse, got '"
                       << range << "'";
      return signalPassFailure();
    }
    if (percentile <= 0 || percentile > 100) {
      func.emitError() << "percentile must be in (0, 100], got "
                       << percentile;
      return signalPassFailure();
    }
    std::optional<CalibrationStats> stats;
    for (QMatmulOp op : ops) {
      QuantConfigAttr cfg = getQuantConfig(op);
      const LayerStats *s = nullptr;
      if (cfg.getActQuant() == ActQuant::StaticPerTensor) {
        if (!stats) {
          if (calibrationFile.empty()) {
            op.emitError() << "layer '" << getLayerName(op)
                           << "': static activation scales need calibration "
                              "statistics (calibration-file)";
            return signalPassFailure();
          }
          auto loaded = CalibrationStats::load(calibrationFile);
          if (!loaded) {
            func.emitError() << llvm::toString(loaded.takeError());
            return signalPassFailure();
          }
          stats = std::move(*loaded);
        }
        s = stats->find(getLayerName(op));
        if (!s) {
          op.emitError() << "calibration file '" << calibrationFile
                         << "' has no statistics for layer '"
                         << getLayerName(op)
                         << "' (calibrate this model again)";
          return signalPassFailure();
        }
      }
      rewrite(op, cfg, s, *method);
    }
  }

  void rewrite(QMatmulOp op, QuantConfigAttr cfg, const LayerStats *stats,
               RangeMethod method) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    QuantSpec spec{cfg.getAbits(), cfg.getActSymmetric()};
    Value x = op.getAct();
    Value scale, zeroPoint;
    QuantSchemeAttr scheme;
    if (stats) {
      QuantParams p =
          chooseActivationParams(stats->histogram, stats->globalMin(),
                                 stats->globalMax(), spec, method, percentile);
      scale = arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                 p.scale));
      if (!spec.symmetric)
        zeroPoint = arith::ConstantOp::create(
            b, loc,
            DenseElementsAttr::get(RankedTensorType::get({}, b.getI32Type()),
                                   p.zeroPoint));
      scheme = QuantSchemeAttr::get(ctx, Granularity::PerTensor, 0, 0,
                                    spec.symmetric);
      op->setAttr("qopt.act_range",
                  b.getDictionaryAttr(
                      {NamedAttribute(b.getStringAttr("scale"),
                                      b.getF32FloatAttr(p.scale)),
                       NamedAttribute(b.getStringAttr("zero_point"),
                                      b.getI32IntegerAttr(p.zeroPoint))}));
    } else {
      std::tie(scale, zeroPoint) = dynamicParams(b, loc, x, spec);
      scheme = QuantSchemeAttr::get(ctx, Granularity::PerChannel, 0, 0,
                                    spec.symmetric);
    }
    auto xType = cast<RankedTensorType>(x.getType());
    auto storage = IntType::get(ctx, spec.bits, spec.symmetric);
    Value xq = QuantizeOp::create(
        b, loc, RankedTensorType::get(xType.getShape(), storage), x, scale,
        zeroPoint, scheme);
    auto qmm = QMatmulOp::create(
        b, loc, op.getResult().getType(), xq, scale, zeroPoint, op.getWeight(),
        op.getWeightScale(), op.getWeightZeroPoint(), op.getBias(), scheme,
        op.getWeightScheme());
    copyLayerAttributes(op, qmm);
    op.getResult().replaceAllUsesWith(qmm.getResult());
    op.erase();
  }
};
} // namespace
