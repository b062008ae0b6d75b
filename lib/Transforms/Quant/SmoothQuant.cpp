//===- SmoothQuant.cpp - migrate activation outliers into the weights -----===//
//
// Xiao et al., "SmoothQuant" (2023): X W^T = (X diag(s)^-1) (W diag(s))^T.
// Dividing the activation channels that carry outliers by s_j and
// multiplying the matching weight columns by s_j keeps the float function
// and evens out the activation ranges, which per-tensor or per-token
// activation quantization cannot do per channel.
//
//===----------------------------------------------------------------------===//

#include "qopt/Quant/Calibration.h"
#include "qopt/Quant/Quantizers.h"
#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/Parallel.h"

#include <cmath>

namespace qopt {
#define GEN_PASS_DEF_SMOOTHQUANT
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;
using namespace qopt::quant;

/// Looks through reshapes that keep the last (channel) dimension on its own.
static Value traceSource(Value v) {
  while (true) {
    if (auto c = v.getDefiningOp<tensor::CollapseShapeOp>()) {
      auto groups = c.getReassociationIndices();
      if (groups.back().size() != 1)
        return v;
      v = c.getSrc();
    } else if (auto e = v.getDefiningOp<tensor::ExpandShapeOp>()) {
      auto groups = e.getReassociationIndices();
      if (groups.back().size() != 1)
        return v;
      v = e.getSrc();
    } else {
      return v;
    }
  }
}

/// Every use of `source`, looking through channel-preserving reshapes, is the
/// input of one of `layers`.
static bool onlyFeedsLayers(Value source, ArrayRef<LinearLayer> layers) {
  for (OpOperand &use : source.getUses()) {
    Operation *user = use.getOwner();
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(user) &&
        traceSource(user->getResult(0)) == traceSource(source)) {
      if (!onlyFeedsLayers(user->getResult(0), layers))
        return false;
      continue;
    }
    bool isLayerInput = llvm::any_of(layers, [&](const LinearLayer &l) {
      return l.op == user && use.getOperandNumber() == 0;
    });
    if (!isLayerInput)
      return false;
  }
  return true;
}

namespace {
/// Where the division by s can be folded: a constant operand of an
/// elementwise generic that scales its result per channel, y = x * c (+ b).
struct FoldTarget {
  linalg::GenericOp op;
  unsigned scaleOperand;               ///< the input index of c
  std::optional<unsigned> biasOperand; ///< the input index of b
};
} // namespace

/// The input index of block argument `v` of `op` if it is a per-channel
/// constant (indexing the last loop only) of `channels` values.
static std::optional<unsigned> channelConstant(linalg::GenericOp op, Value v,
                                               int64_t channels) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != op.getBody() ||
      arg.getArgNumber() >= op.getNumDpsInputs())
    return std::nullopt;
  unsigned index = arg.getArgNumber();
  OpOperand *operand = op.getDpsInputOperand(index);
  if (!operand->get().getDefiningOp<arith::ConstantOp>())
    return std::nullopt;
  AffineMap map = op.getMatchingIndexingMap(operand);
  unsigned last = op.getNumLoops() - 1;
  auto type = cast<RankedTensorType>(operand->get().getType());
  // Every result but the last is the constant 0 (broadcast), the last is
  // the channel loop; the constant holds exactly `channels` values.
  if (map.getNumResults() == 0 || type.getNumElements() != channels)
    return std::nullopt;
  for (unsigned i = 0; i + 1 < map.getNumResults(); ++i) {
    auto c = dyn_cast<AffineConstantExpr>(map.getResult(i));
    if (!c || c.getValue() != 0)
      return std::nullopt;
  }
  auto d = dyn_cast<AffineDimExpr>(map.getResults().back());
  if (!d || d.getPosition() != last)
    return std::nullopt;
  return index;
}

static std::optional<FoldTarget> findFoldTarget(Value source,
                                                int64_t channels) {
  auto op = source.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumResults() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops())
    return std::nullopt;
  // The output is indexed by the identity (channel = last loop).
  if (!op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  Value y = yield.getOperand(0);
  FoldTarget target{op, 0, std::nullopt};
  Operation *def = y.getDefiningOp();
  if (auto add = dyn_cast_or_null<arith::AddFOp>(def)) {
    for (unsigned side : {0u, 1u}) {
      std::optional<unsigned> bias =
          channelConstant(op, add->getOperand(side), channels);
      auto mul = add->getOperand(1 - side).getDefiningOp<arith::MulFOp>();
      if (!bias || !mul)
        continue;
      for (unsigned mside : {0u, 1u})
        if (std::optional<unsigned> scale =
                channelConstant(op, mul->getOperand(mside), channels)) {
          // The product must feed only the add.
          if (!mul->hasOneUse())
            return std::nullopt;
          target.scaleOperand = *scale;
          target.biasOperand = *bias;
          return target;
        }
    }
    return std::nullopt;
  }
  if (auto mul = dyn_cast_or_null<arith::MulFOp>(def)) {
    for (unsigned side : {0u, 1u})
      if (std::optional<unsigned> scale =
              channelConstant(op, mul->getOperand(side), channels)) {
        target.scaleOperand = *scale;
        return target;
      }
  }
  return std::nullopt;
}

/// Input `index` of `op` is an f32 constant whose values can be read.
static bool isF32ConstantOperand(linalg::GenericOp op, unsigned index) {
  auto constant =
      op.getDpsInputOperand(index)->get().getDefiningOp<arith::ConstantOp>();
  return constant &&
         cast<RankedTensorType>(constant.getType()).getElementType().isF32() &&
         readFloatConstant(constant.getValue()).has_value();
}

/// Replaces input `index` of `op` by a copy of its constant with every
/// value multiplied by factors[channel] (the constant's last dimension).
static LogicalResult scaleConstantOperand(linalg::GenericOp op, unsigned index,
                                          ArrayRef<float> factors) {
  OpOperand *operand = op.getDpsInputOperand(index);
  auto constant = operand->get().getDefiningOp<arith::ConstantOp>();
  std::optional<std::vector<float>> values =
      readFloatConstant(constant.getValue());
  if (!values)
    return failure();
  for (size_t i = 0; i < values->size(); ++i)
    (*values)[i] *= factors[i % factors.size()];
  auto type = cast<RankedTensorType>(constant.getType());
  if (!type.getElementType().isF32())
    return failure();
  OpBuilder b(constant);
  Value scaled = createF32Constant(b, constant.getLoc(), type.getShape(),
                                   *values, "smoothed");
  operand->set(scaled);
  if (constant->use_empty())
    constant->erase();
  return success();
}

namespace {
struct SmoothQuantPass : qopt::impl::SmoothQuantBase<SmoothQuantPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // The layers with quantized activations, grouped by their source.
    llvm::MapVector<Value, SmallVector<LinearLayer>> groups;
    func.walk([&](linalg::MatmulOp mm) {
      QuantConfigAttr cfg = getQuantConfig(mm);
      if (!cfg || cfg.isWeightOnly())
        return;
      if (std::optional<LinearLayer> l = matchLinearLayer(mm))
        groups[traceSource(l->input)].push_back(*l);
    });
    if (groups.empty())
      return;
    if (calibrationFile.empty()) {
      func.emitError() << "qopt-smooth-quant needs calibration statistics "
                          "(calibration-file)";
      return signalPassFailure();
    }
    if (alpha > 1.0) {
      func.emitError() << "smoothing alpha must be in [0, 1] (or negative to "
                          "search), got "
                       << alpha;
      return signalPassFailure();
    }
    auto stats = CalibrationStats::load(calibrationFile);
    if (!stats) {
      func.emitError() << llvm::toString(stats.takeError());
      return signalPassFailure();
    }
    for (auto &[source, layers] : groups)
      if (failed(smoothGroup(source, layers, *stats)))
        return signalPassFailure();
  }

  LogicalResult smoothGroup(Value source, ArrayRef<LinearLayer> layers,
                            const CalibrationStats &stats) {
    int64_t k = layers.front().k;
    std::string first = getLayerName(layers.front().op);
    const LayerStats *s = stats.find(first);
    if (!s)
      return layers.front().op.emitError()
             << "calibration file '" << calibrationFile
             << "' has no statistics for layer '" << first
             << "' (calibrate this model again)";
    if (s->k != k)
      return layers.front().op.emitError()
             << "calibration statistics of layer '" << first << "' have "
             << s->k << " channels, the layer has K = " << k;

    // Weights [N, K] of every layer and their per-input-channel maxima.
    std::vector<std::vector<float>> weights;
    std::vector<float> wmax(k, 0.0f);
    for (const LinearLayer &l : layers) {
      std::optional<std::vector<float>> w = l.readWeightsNK();
      if (!w)
        return l.op.emitError() << "unreadable weight constant";
      for (int64_t r = 0; r < l.n; ++r)
        for (int64_t c = 0; c < k; ++c)
          wmax[c] = std::max(wmax[c], std::fabs((*w)[r * k + c]));
      weights.push_back(std::move(*w));
    }

    // alpha: given, or the best on the calibration samples (including no
    // smoothing at all, so smoothing never makes that error worse).
    std::optional<double> chosen;
    if (alpha >= 0) {
      chosen = alpha;
    } else if (s->numSamples == 0) {
      chosen = 0.5;
    } else {
      double best = productError(layers, weights, *s, std::nullopt);
      for (int step = 0; step <= 20; ++step) {
        double a = 0.05 * step;
        double err = productError(layers, weights, *s,
                                  smoothingFactors(s->absMax, wmax, a));
        if (err < best) {
          best = err;
          chosen = a;
        }
      }
    }
    MLIRContext *ctx = source.getContext();
    auto record = [&](StringRef target) {
      for (const LinearLayer &l : layers) {
        SmallVector<NamedAttribute> fields = {NamedAttribute(
            StringAttr::get(ctx, "target"), StringAttr::get(ctx, target))};
        if (chosen)
          fields.push_back(
              NamedAttribute(StringAttr::get(ctx, "alpha"),
                             FloatAttr::get(Float64Type::get(ctx), *chosen)));
        l.op->setAttr("qopt.smoothing", DictionaryAttr::get(ctx, fields));
      }
    };
    if (!chosen) {
      record("none");
      return success();
    }
    std::vector<float> factors = smoothingFactors(s->absMax, wmax, *chosen);
    std::vector<float> inverse(k);
    for (int64_t c = 0; c < k; ++c)
      inverse[c] = 1.0f / factors[c];

    // Weights: W[:, j] * s_j, in the constant's own layout.
    for (size_t i = 0; i < layers.size(); ++i) {
      const LinearLayer &l = layers[i];
      std::vector<float> &w = weights[i];
      for (int64_t r = 0; r < l.n; ++r)
        for (int64_t c = 0; c < k; ++c)
          w[r * k + c] *= factors[c];
      OpBuilder b(l.weight);
      Value scaled;
      if (l.weightTransposed) {
        scaled = createF32Constant(b, l.weight.getLoc(), {l.n, k}, w,
                                   "smoothed_weights");
      } else {
        std::vector<float> kn(w.size());
        for (int64_t r = 0; r < l.n; ++r)
          for (int64_t c = 0; c < k; ++c)
            kn[c * l.n + r] = w[r * k + c];
        scaled = createF32Constant(b, l.weight.getLoc(), {k, l.n}, kn,
                                   "smoothed_weights");
      }
      if (!cast<RankedTensorType>(l.weight.getType()).getElementType().isF32())
        return l.op.emitError() << "smoothing needs f32 weights";
      l.weight.getResult().replaceUsesWithIf(scaled, [&](OpOperand &use) {
        Operation *user = use.getOwner();
        return user == l.op.getOperation() ||
               (l.weightTransposed &&
                user == l.op.getInputs()[1].getDefiningOp());
      });
    }

    // Activations: X / s folded into the producer, or multiplied in.
    std::optional<FoldTarget> target;
    if (onlyFeedsLayers(source, layers))
      target = findFoldTarget(source, k);
    // Both constants are checked before either changes: a half-applied
    // fold followed by the explicit multiply would divide twice.
    if (target && (!isF32ConstantOperand(target->op, target->scaleOperand) ||
                   (target->biasOperand &&
                    !isF32ConstantOperand(target->op, *target->biasOperand))))
      target.reset();
    if (target) {
      (void)scaleConstantOperand(target->op, target->scaleOperand, inverse);
      if (target->biasOperand)
        (void)scaleConstantOperand(target->op, *target->biasOperand, inverse);
      // Producers carry their ONNX node name as location, when they have one.
      std::string producer = getLayerName(target->op);
      if (producer.empty())
        if (auto name = dyn_cast<NameLoc>(target->op.getLoc()))
          producer = name.getName().str();
      record(producer.empty() ? "fold" : "fold:" + producer);
    }
    if (!target) {
      for (const LinearLayer &l : layers)
        scaleInput(l, inverse);
      record("explicit");
    }
    // The original weights are dead unless shared with other ops.
    llvm::SmallPtrSet<Operation *, 4> originals;
    for (const LinearLayer &l : layers)
      originals.insert(l.weight);
    for (Operation *op : originals)
      if (op->use_empty())
        op->erase();
    return success();
  }

  /// x[:, j] * inverse[j] in front of the layer; fuses with the activation
  /// quantization that follows.
  void scaleInput(const LinearLayer &l, ArrayRef<float> inverse) {
    OpBuilder b(l.op);
    Location loc = l.op.getLoc();
    Value x = l.input;
    auto type = cast<RankedTensorType>(x.getType());
    Value inv = createF32Constant(b, loc, {l.k}, inverse, "smoothing");
    Value init = tensor::EmptyOp::create(
        b, loc, tensor::getMixedSizes(b, loc, x), type.getElementType());
    MLIRContext *ctx = b.getContext();
    Value scaled =
        linalg::GenericOp::create(
            b, loc, type, ValueRange{x, inv}, ValueRange{init},
            SmallVector<AffineMap>{
                b.getMultiDimIdentityMap(2),
                AffineMap::get(2, 0, getAffineDimExpr(1, ctx), ctx),
                b.getMultiDimIdentityMap(2)},
            SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value s = args[1];
              if (args[0].getType() != s.getType())
                s = arith::TruncFOp::create(nb, nl, args[0].getType(), s);
              linalg::YieldOp::create(
                  nb, nl,
                  arith::MulFOp::create(nb, nl, args[0], s).getResult());
            })
            .getResult(0);
    l.op->setOperand(0, scaled);
  }

  /// Sum over the group's layers of ||Q(X / s) Q(W s)^T - X W^T||^2 on the
  /// calibration samples (no smoothing without `factors`).
  double productError(ArrayRef<LinearLayer> layers,
                      const std::vector<std::vector<float>> &weights,
                      const LayerStats &s,
                      std::optional<std::vector<float>> factors) {
    int64_t k = s.k;
    double total = 0;
    for (auto [l, w] : llvm::zip(layers, weights)) {
      QuantConfigAttr cfg = getQuantConfig(l.op);
      // Bound the work: rows * K * N <= 3e7 per layer.
      int64_t rows = std::max<int64_t>(
          1, std::min<int64_t>(s.numSamples,
                               30000000 / std::max<int64_t>(1, k * l.n)));
      std::vector<float> x(s.samples.begin(), s.samples.begin() + rows * k);
      std::vector<float> ws(w);
      if (factors)
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < k; ++c)
            x[r * k + c] /= (*factors)[c];
      if (factors)
        for (int64_t r = 0; r < l.n; ++r)
          for (int64_t c = 0; c < k; ++c)
            ws[r * k + c] *= (*factors)[c];
      WeightQuantConfig wcfg{{cfg.getWbits(), cfg.getWeightSymmetric()},
                             cfg.getGroupSize(),
                             /*clipSearch=*/true};
      std::vector<float> wq = quantizeRtn(ws, l.n, k, wcfg).dequantized();
      QuantSpec aspec{cfg.getAbits(), cfg.getActSymmetric()};
      if (cfg.getActQuant() == ActQuant::DynamicPerToken) {
        for (int64_t r = 0; r < rows; ++r) {
          float lo = 0, hi = 0;
          for (int64_t c = 0; c < k; ++c) {
            lo = std::min(lo, x[r * k + c]);
            hi = std::max(hi, x[r * k + c]);
          }
          QuantParams p = paramsForRange(lo, hi, aspec);
          for (int64_t c = 0; c < k; ++c)
            x[r * k + c] = fakeQuantize(x[r * k + c], p, aspec);
        }
      } else {
        float lo = 0, hi = 0;
        for (float v : x) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        QuantParams p = paramsForRange(lo, hi, aspec);
        for (float &v : x)
          v = fakeQuantize(v, p, aspec);
      }
      // Each row's output errors on LLVM's threads, then added in the
      // sequential order (the same total on any number of threads).
      std::vector<double> errors(rows * l.n);
      llvm::parallelFor(0, rows, [&](size_t r) {
        const float *xq = &x[r * k];
        const float *xr = &s.samples[r * k];
        for (int64_t n = 0; n < l.n; ++n) {
          double yq = 0, y = 0;
          const float *wqr = &wq[n * k];
          const float *wr = &w[n * k];
          for (int64_t c = 0; c < k; ++c) {
            yq += static_cast<double>(xq[c]) * wqr[c];
            y += static_cast<double>(xr[c]) * wr[c];
          }
          errors[r * l.n + n] = (yq - y) * (yq - y);
        }
      });
      for (double e : errors)
        total += e;
    }
    return total;
  }
};
} // namespace
