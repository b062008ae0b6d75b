//===- QuantizeWeights.cpp - RTN and GPTQ weight quantization -------------===//

#include "qopt/Quant/Calibration.h"
#include "qopt/Quant/Quantizers.h"
#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace qopt {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;
using namespace qopt::quant;

/// True when `init` is a linalg.fill of zero.
static bool isZeroFilled(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

namespace {
struct QuantizeWeightsPass
    : qopt::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<LinearLayer> layers;
    func.walk([&](linalg::MatmulOp mm) {
      if (getQuantConfig(mm))
        if (std::optional<LinearLayer> l = matchLinearLayer(mm))
          layers.push_back(*l);
    });
    if (layers.empty())
      return;
    bool gptq = method == "gptq";
    if (!gptq && method != "rtn") {
      func.emitError() << "weight quantizer must be rtn or gptq, got '"
                       << method << "'";
      return signalPassFailure();
    }
    std::optional<CalibrationStats> stats;
    if (gptq) {
      if (calibrationFile.empty()) {
        func.emitError() << "gptq needs calibration statistics "
                            "(calibration-file)";
        return signalPassFailure();
      }
      auto loaded = CalibrationStats::load(calibrationFile);
      if (!loaded) {
        func.emitError() << llvm::toString(loaded.takeError());
        return signalPassFailure();
      }
      stats = std::move(*loaded);
    }
    for (const LinearLayer &l : layers)
      if (failed(quantizeLayer(l, stats ? &*stats : nullptr)))
        return signalPassFailure();
  }

  LogicalResult quantizeLayer(const LinearLayer &l,
                              const CalibrationStats *stats) {
    QuantConfigAttr cfg = getQuantConfig(l.op);
    std::string name = getLayerName(l.op);
    std::optional<std::vector<float>> w = l.readWeightsNK();
    if (!w)
      return l.op.emitError() << "layer '" << name
                              << "': unreadable weight constant";
    if (cfg.getGroupSize() && l.k % cfg.getGroupSize())
      return l.op.emitError()
             << "layer '" << name << "': group size " << cfg.getGroupSize()
             << " does not divide K = " << l.k;
    WeightQuantConfig wcfg{{cfg.getWbits(), cfg.getWeightSymmetric()},
                           cfg.getGroupSize(), clipSearch};
    QuantizedWeights q;
    std::vector<double> hessian;
    if (stats) {
      const LayerStats *s = stats->find(name);
      if (!s)
        return l.op.emitError() << "calibration file '" << calibrationFile
                                << "' has no statistics for layer '" << name
                                << "' (calibrate this model again)";
      if (s->k != l.k || s->xtx.empty())
        return l.op.emitError()
               << "calibration statistics of layer '" << name
               << "' do not fit it (K = " << s->k << " vs " << l.k
               << (s->xtx.empty() ? ", no X^T X" : "") << ")";
      hessian = s->hessian();
      GptqOptions options;
      options.damp = damp;
      options.blockSize = blockSize;
      options.actOrder = actOrder;
      auto result = quantizeGptq(*w, l.n, l.k, hessian, wcfg, options);
      if (!result)
        return l.op.emitError() << "layer '" << name
                                << "': " << llvm::toString(result.takeError());
      q = std::move(*result);
    } else {
      q = quantizeRtn(*w, l.n, l.k, wcfg);
    }

    OpBuilder b(l.op);
    Location loc = l.op.getLoc();
    MLIRContext *ctx = b.getContext();
    bool sym = cfg.getWeightSymmetric();
    auto storage = IntType::get(ctx, cfg.getWbits(), /*isSigned=*/sym);
    // One byte per value here; qopt-pack-weights stores them at B bits.
    std::vector<char> bytes(q.values.begin(), q.values.end());
    Value raw = createResourceConstant(
        b, loc, RankedTensorType::get({l.n, l.k}, b.getI8Type()), bytes,
        "qweights");
    Value weights = StorageCastOp::create(
        b, loc, RankedTensorType::get({l.n, l.k}, storage), raw);
    bool grouped = q.groups > 1 || cfg.getGroupSize() > 0;
    SmallVector<int64_t> paramShape =
        grouped ? SmallVector<int64_t>{l.n, q.groups}
                : SmallVector<int64_t>{l.n};
    Value scales = createF32Constant(b, loc, paramShape, q.scales, "wscales");
    Value zeroPoints;
    if (!sym)
      zeroPoints = createResourceConstant(
          b, loc, RankedTensorType::get(paramShape, b.getI32Type()),
          ArrayRef<char>(reinterpret_cast<const char *>(q.zeroPoints.data()),
                         q.zeroPoints.size() * sizeof(int32_t)),
          "wzero_points");
    auto scheme =
        grouped ? QuantSchemeAttr::get(ctx, Granularity::PerGroup, 1,
                                       l.k / q.groups, sym)
                : QuantSchemeAttr::get(ctx, Granularity::PerChannel, 0, 0, sym);
    Type resultType = l.op.getResultTypes()[0];
    auto qmm = QMatmulOp::create(b, loc, resultType, l.input,
                                 /*act_scale=*/Value(),
                                 /*act_zero_point=*/Value(), weights, scales,
                                 zeroPoints, /*bias=*/Value(),
                                 /*act_scheme=*/QuantSchemeAttr(), scheme);
    copyLayerAttributes(l.op, qmm);

    // How far the quantized weights are from the float ones.
    std::vector<float> dq = q.dequantized();
    double num = 0, den = 0;
    for (size_t i = 0; i < dq.size(); ++i) {
      double d = static_cast<double>((*w)[i]) - dq[i];
      num += d * d;
      den += static_cast<double>((*w)[i]) * (*w)[i];
    }
    SmallVector<NamedAttribute> error = {NamedAttribute(
        b.getStringAttr("relative"),
        b.getF64FloatAttr(den > 0 ? std::sqrt(num / den) : 0.0))};
    if (!hessian.empty())
      error.push_back(NamedAttribute(
          b.getStringAttr("hessian"),
          b.getF64FloatAttr(hessianWeightedError(*w, dq, l.n, l.k, hessian))));
    qmm->setAttr("qopt.weight_error", b.getDictionaryAttr(error));

    // y = init + x W: keep a non-zero init as an addition.
    Value result = qmm.getResult();
    Value init = l.op.getOutputs()[0];
    if (!isZeroFilled(init)) {
      auto type = cast<RankedTensorType>(resultType);
      result = linalg::GenericOp::create(
                   b, loc, type, ValueRange{result, init},
                   ValueRange{tensor::EmptyOp::create(
                       b, loc, tensor::getMixedSizes(b, loc, result),
                       type.getElementType())},
                   SmallVector<AffineMap>(3, b.getMultiDimIdentityMap(2)),
                   SmallVector<utils::IteratorType>(
                       2, utils::IteratorType::parallel),
                   [](OpBuilder &nb, Location nl, ValueRange args) {
                     linalg::YieldOp::create(
                         nb, nl,
                         arith::AddFOp::create(nb, nl, args[0], args[1])
                             .getResult());
                   })
                   .getResult(0);
    }
    Operation *rhs = l.op.getInputs()[1].getDefiningOp();
    l.op.getResult(0).replaceAllUsesWith(result);
    l.op.erase();
    // The float weights are gone from the model unless shared.
    if (rhs && rhs != l.weight.getOperation() && rhs->use_empty())
      rhs->erase();
    if (l.weight->use_empty())
      l.weight.erase();
    return success();
  }
};
} // namespace
