//===- AssignPrecision.cpp - mixed precision under a budget ---------------===//

#include "qopt/Quant/Calibration.h"
#include "qopt/Quant/Precision.h"
#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"
#include "qopt/Transforms/Quant/PrecisionReport.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstdio>
#include <map>

namespace qopt {
#define GEN_PASS_DEF_ASSIGNPRECISION
#include "qopt/Transforms/Quant/Passes.h.inc"
} // namespace qopt

using namespace mlir;
using namespace qopt;
using namespace qopt::quant;

std::string qopt::precisionCandidateKey(unsigned wbits, unsigned abits) {
  return "W" + std::to_string(wbits) + "A" + std::to_string(abits);
}

std::string qopt::shortNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

namespace {
/// One quantized layer: its op, name, config and [N, K] weights.
struct PrecisionLayer {
  Operation *op;
  std::string name;
  QuantConfigAttr config;
  int64_t n = 0, k = 0;
  std::vector<float> weights;
};

/// The layers with a quant config, in program order: matmuls with constant
/// weights and convolutions with constant filters ([F, C, KH, KW] is
/// [N, K] row-major).
std::optional<std::vector<PrecisionLayer>> collectLayers(ModuleOp module) {
  std::vector<PrecisionLayer> layers;
  bool ok = true;
  module.walk([&](Operation *op) {
    QuantConfigAttr cfg = getQuantConfig(op);
    if (!cfg)
      return;
    PrecisionLayer l{op, getLayerName(op), cfg, 0, 0, {}};
    std::optional<std::vector<float>> w;
    if (auto mm = dyn_cast<linalg::MatmulOp>(op)) {
      if (std::optional<LinearLayer> ll = matchLinearLayer(mm)) {
        l.n = ll->n;
        l.k = ll->k;
        w = ll->readWeightsNK();
      }
    } else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op)) {
      if (auto c = conv.getInputs()[1].getDefiningOp<arith::ConstantOp>()) {
        auto type = cast<RankedTensorType>(c.getType());
        l.n = type.getDimSize(0);
        l.k = type.getDimSize(1) * type.getDimSize(2) * type.getDimSize(3);
        w = readFloatConstant(c.getValue());
      }
    }
    if (!w) {
      op->emitError() << "layer '" << l.name
                      << "': its weights are not a readable constant";
      ok = false;
      return;
    }
    l.weights = std::move(*w);
    layers.push_back(std::move(l));
  });
  if (!ok)
    return std::nullopt;
  return layers;
}

/// Parses {"W4A8": 2.0, ...}.
llvm::Expected<std::map<std::string, double>>
readKeyedNumbers(const llvm::json::Object &object, llvm::StringRef what) {
  std::map<std::string, double> out;
  for (const auto &kv : object) {
    std::optional<double> v = kv.second.getAsNumber();
    if (!v || !std::isfinite(*v) || *v < 0)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     what + ": \"" + kv.first.str() +
                                         "\" must be a non-negative number");
    out[kv.first.str()] = *v;
  }
  return out;
}

llvm::Expected<llvm::json::Value> readJson(llvm::StringRef path,
                                           llvm::StringRef what) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   what + " '" + path + "': cannot read it: " +
                                       buffer.getError().message());
  auto json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   what + " '" + path + "': invalid JSON: " +
                                       llvm::toString(json.takeError()));
  return std::move(*json);
}

struct AssignPrecisionPass
    : qopt::impl::AssignPrecisionBase<AssignPrecisionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto fail = [&](const llvm::Twine &message) {
      emitError(module.getLoc()) << message;
      signalPassFailure();
    };

    // The budget.
    int budgets = (avgWbits != 0) + (maxWeightBytes != 0) + (avgCost != 0);
    if (budgets == 0)
      return fail("no budget: give avg-wbits, max-weight-bytes, or avg-cost "
                  "with a cost-table");
    if (budgets > 1)
      return fail("give one budget: avg-wbits, max-weight-bytes or avg-cost");
    if (avgWbits < 0 || maxWeightBytes < 0 || avgCost < 0)
      return fail("the budget must be positive");
    if (avgCost != 0 && costTable.empty())
      return fail("avg-cost needs a cost-table");

    // The candidates.
    std::vector<unsigned> wcands(wbitsCandidates.begin(),
                                 wbitsCandidates.end());
    if (wcands.empty())
      wcands = {2, 3, 4, 6, 8};
    for (unsigned b : wcands)
      if (b < 1 || b > 8)
        return fail("weight bits candidate " + llvm::Twine(b) +
                    " is not valid: weight bits must be 1 to 8");
    for (unsigned b : abitsCandidates)
      if (b != 16 && (b < 1 || b > 8))
        return fail("activation bits candidate " + llvm::Twine(b) +
                    " is not valid: activation bits must be 1 to 8, or 16 "
                    "for weight-only");
    llvm::sort(wcands);
    wcands.erase(llvm::unique(wcands), wcands.end());
    std::vector<unsigned> acands(abitsCandidates.begin(),
                                 abitsCandidates.end());
    llvm::sort(acands);
    acands.erase(llvm::unique(acands), acands.end());
    if (avgWbits != 0 && avgWbits < wcands.front())
      return fail("impossible budget: avg-wbits " + shortNumber(avgWbits) +
                  " is below the smallest weight bits candidate (" +
                  llvm::Twine(wcands.front()) + ")");

    std::optional<std::map<std::string, double>> table;
    if (!costTable.empty()) {
      if (avgCost == 0)
        return fail("cost-table needs the avg-cost budget");
      auto json = readJson(costTable, "cost table");
      if (!json)
        return fail(llvm::toString(json.takeError()));
      const llvm::json::Object *obj = json->getAsObject();
      if (!obj)
        return fail("cost table '" + costTable +
                    "': expected an object {\"W4A8\": cost per weight, ...}");
      auto parsed = readKeyedNumbers(*obj, "cost table '" + costTable + "'");
      if (!parsed)
        return fail(llvm::toString(parsed.takeError()));
      table = std::move(*parsed);
    }

    bool measured = estimator == "measured";
    if (!measured && estimator != "proxy")
      return fail("estimator must be proxy or measured, got '" + estimator +
                  "'");
    std::optional<CalibrationStats> stats;
    std::optional<llvm::json::Object> sensitivities;
    if (measured) {
      if (sensitivityFile.empty())
        return fail("the measured estimator needs a sensitivity-file (qcc "
                    "--precision-estimator=measured writes one from runs on "
                    "calibration data)");
      auto json = readJson(sensitivityFile, "sensitivity file");
      if (!json)
        return fail(llvm::toString(json.takeError()));
      const llvm::json::Object *root = json->getAsObject();
      const llvm::json::Object *layers =
          root ? root->getObject("layers") : nullptr;
      if (!layers)
        return fail("sensitivity file '" + sensitivityFile +
                    "': expected {\"layers\": {\"<layer>\": {\"W4A16\": "
                    "error, ...}}}");
      sensitivities = *layers;
    } else {
      if (calibrationFile.empty())
        return fail("the proxy estimator needs calibration statistics with "
                    "X^T X (calibration-file)");
      auto loaded = CalibrationStats::load(calibrationFile);
      if (!loaded)
        return fail(llvm::toString(loaded.takeError()));
      stats = std::move(*loaded);
    }

    std::optional<std::vector<PrecisionLayer>> layers = collectLayers(module);
    if (!layers)
      return signalPassFailure();
    if (layers->empty()) {
      emitWarning(module.getLoc())
          << "no layer has a #qopt.quant_config: nothing to assign (run "
             "qopt-assign-quant-config first)";
      return;
    }

    // Costs and sensitivities of every layer and candidate.
    int64_t totalParams = 0;
    std::vector<std::vector<PrecisionOption>> problem;
    bool failedAny = false;
    for (PrecisionLayer &l : *layers) {
      auto layerError = [&](const llvm::Twine &why) {
        l.op->emitError() << "layer '" << l.name << "': " << why;
        failedAny = true;
      };
      int64_t params = l.n * l.k;
      totalParams += params;
      QuantConfigAttr cfg = l.config;
      const LayerStats *s = nullptr;
      std::vector<double> hessian;
      if (stats) {
        s = stats->find(l.name);
        if (!s) {
          layerError("calibration file '" + calibrationFile +
                     "' has no statistics for it (calibrate this model "
                     "again)");
          continue;
        }
        if (s->k != l.k || s->xtx.empty()) {
          layerError(llvm::formatv("its calibration statistics do not fit "
                                   "(K = {0} vs {1}{2})",
                                   s->k, l.k,
                                   s->xtx.empty() ? ", no X^T X" : "")
                         .str());
          continue;
        }
        hessian = s->hessian();
      }
      const llvm::json::Object *measuredLayer = nullptr;
      if (sensitivities) {
        measuredLayer = sensitivities->getObject(l.name);
        if (!measuredLayer) {
          layerError("sensitivity file '" + sensitivityFile +
                     "' has no entry for it");
          continue;
        }
      }
      std::vector<unsigned> layerA =
          acands.empty() ? std::vector<unsigned>{cfg.getAbits()} : acands;
      std::vector<PrecisionOption> options;
      for (unsigned w : wcands)
        for (unsigned a : layerA) {
          PrecisionOption o;
          o.wbits = w;
          o.abits = a;
          std::string key = precisionCandidateKey(w, a);
          if (avgWbits != 0) {
            o.cost = static_cast<int64_t>(w) * params;
          } else if (maxWeightBytes != 0) {
            o.cost = packedWeightBytes(l.n, l.k, w, cfg.getGroupSize(),
                                       cfg.getWeightSymmetric());
          } else {
            auto it = table->find(key);
            if (it == table->end()) {
              layerError("the cost table has no entry for candidate " + key +
                         " (unknown candidate)");
              return signalPassFailure();
            }
            // Milli-units per weight: costs stay exact integers.
            o.cost =
                static_cast<int64_t>(std::llround(it->second * 1000)) * params;
          }
          if (measuredLayer) {
            std::optional<double> v = measuredLayer->getNumber(key);
            if (!v) {
              layerError("sensitivity file '" + sensitivityFile +
                         "' has no number for candidate " + key);
              return signalPassFailure();
            }
            o.sensitivity = *v;
          } else {
            WeightQuantConfig wcfg{{w, cfg.getWeightSymmetric()},
                                   cfg.getGroupSize(),
                                   /*clipSearch=*/true};
            o.sensitivity =
                proxySensitivity(l.weights, l.n, l.k, hessian, s->samples,
                                 s->numSamples, wcfg, a, cfg.getActSymmetric());
          }
          options.push_back(o);
        }
      problem.push_back(std::move(options));
    }
    if (failedAny)
      return signalPassFailure();

    // The budget in cost units.
    int64_t budget;
    std::string kind, unit;
    double value;
    if (avgWbits != 0) {
      budget = static_cast<int64_t>(
          std::floor(avgWbits * static_cast<double>(totalParams) + 1e-6));
      kind = "avg-wbits";
      unit = "bits";
      value = avgWbits;
    } else if (maxWeightBytes != 0) {
      budget = maxWeightBytes;
      kind = "max-weight-bytes";
      unit = "bytes";
      value = static_cast<double>(maxWeightBytes);
    } else {
      budget = static_cast<int64_t>(
          std::floor(avgCost * 1000 * static_cast<double>(totalParams) + 1e-6));
      kind = "avg-cost";
      unit = "milli-cost";
      value = avgCost;
    }
    llvm::Expected<Allocation> allocation =
        solvePrecisionKnapsack(problem, budget);
    if (!allocation) {
      std::string why = llvm::toString(allocation.takeError());
      int64_t cheapest = 0;
      for (const auto &options : problem) {
        int64_t c = options.front().cost;
        for (const PrecisionOption &o : options)
          c = std::min(c, o.cost);
        cheapest += c;
      }
      if (kind == "max-weight-bytes")
        return fail(llvm::formatv("impossible budget: max-weight-bytes {0} "
                                  "is below the smallest allocation, every "
                                  "layer at W{1} ({2} bytes)",
                                  budget, wcands.front(), cheapest)
                        .str());
      if (kind == "avg-cost")
        return fail("impossible budget: avg-cost " + shortNumber(avgCost) +
                    " is below the cheapest allocation (" +
                    shortNumber(cheapest / 1000.0 / totalParams) +
                    " per weight)");
      return fail("impossible budget: " + why);
    }

    // Record the choice: the new configs, and what led to them.
    Builder b(ctx);
    for (auto [l, options, choice] :
         llvm::zip(*layers, problem, allocation->choice)) {
      const PrecisionOption &c = options[choice];
      QuantConfigAttr cfg = l.config;
      ActQuant act = c.abits == 16 ? ActQuant::None
                     : cfg.getActQuant() == ActQuant::None
                         ? ActQuant::DynamicPerToken
                         : cfg.getActQuant();
      l.op->setAttr(kQuantConfigAttr,
                    QuantConfigAttr::get(
                        ctx, c.wbits, c.abits, cfg.getGroupSize(),
                        cfg.getWeightSymmetric(), cfg.getActSymmetric(), act));
      SmallVector<int64_t> w, a, cost, bytes;
      SmallVector<double> sens;
      for (const PrecisionOption &o : options) {
        w.push_back(o.wbits);
        a.push_back(o.abits);
        cost.push_back(o.cost);
        bytes.push_back(packedWeightBytes(l.n, l.k, o.wbits, cfg.getGroupSize(),
                                          cfg.getWeightSymmetric()));
        sens.push_back(o.sensitivity);
      }
      l.op->setAttr(
          kPrecisionAttr,
          b.getDictionaryAttr({
              b.getNamedAttr("estimator", b.getStringAttr(estimator)),
              b.getNamedAttr("params", b.getI64IntegerAttr(l.n * l.k)),
              b.getNamedAttr("wbits", b.getDenseI64ArrayAttr(w)),
              b.getNamedAttr("abits", b.getDenseI64ArrayAttr(a)),
              b.getNamedAttr("cost", b.getDenseI64ArrayAttr(cost)),
              b.getNamedAttr("bytes", b.getDenseI64ArrayAttr(bytes)),
              b.getNamedAttr("sensitivity", b.getDenseF64ArrayAttr(sens)),
              b.getNamedAttr("chosen", b.getI64IntegerAttr(choice)),
          }));
    }
    module->setAttr(
        kPrecisionBudgetAttr,
        b.getDictionaryAttr({
            b.getNamedAttr("kind", b.getStringAttr(kind)),
            b.getNamedAttr("value", b.getF64FloatAttr(value)),
            b.getNamedAttr("unit", b.getStringAttr(unit)),
            b.getNamedAttr("budget", b.getI64IntegerAttr(budget)),
            b.getNamedAttr("cost", b.getI64IntegerAttr(allocation->cost)),
            b.getNamedAttr("sensitivity",
                           b.getF64FloatAttr(allocation->sensitivity)),
            b.getNamedAttr("estimator", b.getStringAttr(estimator)),
        }));
    if (!report.empty()) {
      llvm::json::Object json = precisionReport(module);
      if (llvm::Error e = writePrecisionJson(report, json))
        return fail(llvm::toString(std::move(e)));
    }
  }
};
} // namespace
