//===- Precision.cpp - per-layer precision under a budget -----------------===//

#include "qopt/Quant/Precision.h"

#include "LoopSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

using namespace qopt::quant;
using llvm::ArrayRef;

static llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// A Pareto-optimal state of a prefix of layers; `parent` indexes the
/// previous layer's states.
struct State {
  int64_t cost;
  double sensitivity;
  uint32_t parent;
  uint32_t option;
};

/// The Pareto-optimal states after each layer (states[i] covers layers
/// 0..i), dropping those above `budget`. Empty result when some layer has
/// no state within the budget.
std::vector<std::vector<State>>
paretoStates(ArrayRef<std::vector<PrecisionOption>> layers, int64_t budget) {
  std::vector<std::vector<State>> states;
  std::vector<State> current = {{0, 0.0, 0, 0}};
  std::vector<State> next;
  for (const std::vector<PrecisionOption> &options : layers) {
    next.clear();
    for (auto [p, s] : llvm::enumerate(current))
      for (auto [o, option] : llvm::enumerate(options)) {
        // Costs are non-negative and at most the budget here: no overflow.
        int64_t cost = s.cost + option.cost;
        if (cost > budget)
          continue;
        next.push_back({cost, s.sensitivity + option.sensitivity,
                        static_cast<uint32_t>(p), static_cast<uint32_t>(o)});
      }
    // By cost, then sensitivity; keep each state strictly better than every
    // cheaper one. Ties resolve by generation order (deterministic).
    std::sort(next.begin(), next.end(), [](const State &a, const State &b) {
      if (a.cost != b.cost)
        return a.cost < b.cost;
      if (a.sensitivity != b.sensitivity)
        return a.sensitivity < b.sensitivity;
      if (a.parent != b.parent)
        return a.parent < b.parent;
      return a.option < b.option;
    });
    current.clear();
    for (const State &s : next)
      if (current.empty() || s.sensitivity < current.back().sensitivity)
        current.push_back(s);
    if (current.empty())
      return {};
    states.push_back(current);
  }
  return states;
}

Allocation reconstruct(const std::vector<std::vector<State>> &states,
                       size_t index) {
  Allocation a;
  a.choice.resize(states.size());
  a.cost = states.back()[index].cost;
  a.sensitivity = states.back()[index].sensitivity;
  for (size_t l = states.size(); l-- > 0;) {
    const State &s = states[l][index];
    a.choice[l] = s.option;
    index = s.parent;
  }
  return a;
}

llvm::Error checkLayers(ArrayRef<std::vector<PrecisionOption>> layers) {
  for (auto [i, options] : llvm::enumerate(layers)) {
    if (options.empty())
      return error("layer " + llvm::Twine(i) + " has no precision candidates");
    for (const PrecisionOption &o : options) {
      if (o.cost < 0)
        return error("layer " + llvm::Twine(i) + " has a negative cost");
      if (!std::isfinite(o.sensitivity))
        return error("layer " + llvm::Twine(i) +
                     " has a sensitivity that is not finite");
    }
  }
  return llvm::Error::success();
}
} // namespace

llvm::Expected<Allocation> qopt::quant::solvePrecisionKnapsack(
    ArrayRef<std::vector<PrecisionOption>> layers, int64_t budget) {
  if (llvm::Error e = checkLayers(layers))
    return std::move(e);
  // The cheapest allocation, to explain an infeasible budget.
  int64_t cheapest = 0;
  for (const std::vector<PrecisionOption> &options : layers) {
    int64_t c = std::numeric_limits<int64_t>::max();
    for (const PrecisionOption &o : options)
      c = std::min(c, o.cost);
    if (cheapest > std::numeric_limits<int64_t>::max() - c)
      return error("the total cost overflows");
    cheapest += c;
  }
  if (budget < cheapest)
    return error("budget " + llvm::Twine(budget) +
                 " is below the cheapest allocation (" + llvm::Twine(cheapest) +
                 ": every layer at its smallest candidate)");
  if (layers.empty())
    return Allocation{};
  std::vector<std::vector<State>> states = paretoStates(layers, budget);
  // The last state is the cheapest of least sensitivity within the budget.
  return reconstruct(states, states.back().size() - 1);
}

std::vector<Allocation> qopt::quant::precisionParetoFront(
    ArrayRef<std::vector<PrecisionOption>> layers) {
  if (layers.empty() || checkLayers(layers)) // the Error converts to bool
    return {};
  std::vector<std::vector<State>> states =
      paretoStates(layers, std::numeric_limits<int64_t>::max() / 2);
  std::vector<Allocation> front;
  for (size_t i = 0; i < states.back().size(); ++i)
    front.push_back(reconstruct(states, i));
  return front;
}

std::optional<Allocation>
qopt::quant::bruteForcePrecision(ArrayRef<std::vector<PrecisionOption>> layers,
                                 int64_t budget) {
  std::optional<Allocation> best;
  std::vector<unsigned> choice(layers.size(), 0);
  while (true) {
    int64_t cost = 0;
    double sensitivity = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      cost += layers[l][choice[l]].cost;
      sensitivity += layers[l][choice[l]].sensitivity;
    }
    if (cost <= budget &&
        (!best || sensitivity < best->sensitivity ||
         (sensitivity == best->sensitivity && cost < best->cost)))
      best = Allocation{choice, cost, sensitivity};
    size_t l = 0;
    for (; l < layers.size(); ++l) {
      if (++choice[l] < layers[l].size())
        break;
      choice[l] = 0;
    }
    if (l == layers.size())
      return best;
  }
}

int64_t qopt::quant::packedWeightBytes(int64_t n, int64_t k, unsigned wbits,
                                       int64_t groupSize, bool symmetric) {
  int64_t words = (k + 31) / 32;
  int64_t groups = groupSize > 0 ? k / groupSize : 1;
  int64_t params = n * groups * (symmetric ? 4 : 8);
  return static_cast<int64_t>(wbits) * n * words * 4 + params;
}

double qopt::quant::proxySensitivity(ArrayRef<float> weights, int64_t n,
                                     int64_t k, ArrayRef<double> hessian,
                                     ArrayRef<float> samples,
                                     int64_t numSamples,
                                     const WeightQuantConfig &weightConfig,
                                     unsigned abits, bool actSymmetric) {
  QuantizedWeights q = quantizeRtn(weights, n, k, weightConfig);
  std::vector<float> dq = q.dequantized();
  double total = hessianWeightedError(weights, dq, n, k, hessian);
  if (abits >= 16 || numSamples == 0)
    return total;
  // Dynamic per-token quantization of each sample row, as
  // qopt-quantize-activations generates it.
  QuantSpec spec{abits, actSymmetric};
  double actError = 0;
  std::vector<double> dx(k), y(n);
  for (int64_t s = 0; s < numSamples; ++s) {
    const float *x = &samples[s * k];
    float lo = 0, hi = 0;
    for (int64_t c = 0; c < k; ++c) {
      lo = std::min(lo, x[c]);
      hi = std::max(hi, x[c]);
    }
    QuantParams p = paramsForRange(lo, hi, spec);
    for (int64_t c = 0; c < k; ++c)
      dx[c] = static_cast<double>(fakeQuantize(x[c], p, spec)) - x[c];
    // The rows' output errors on the threads (four rows per pass over dx,
    // each sum in the order of c), added in row order.
    parallelChunks(n, k, [&](int64_t begin, int64_t end) {
      int64_t r = begin;
      for (; r + 4 <= end; r += 4) {
        const float *w0 = &dq[r * k], *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
        double y0 = 0, y1 = 0, y2 = 0, y3 = 0;
        for (int64_t c = 0; c < k; ++c) {
          y0 += dx[c] * w0[c];
          y1 += dx[c] * w1[c];
          y2 += dx[c] * w2[c];
          y3 += dx[c] * w3[c];
        }
        y[r] = y0, y[r + 1] = y1, y[r + 2] = y2, y[r + 3] = y3;
      }
      for (; r < end; ++r) {
        const float *w = &dq[r * k];
        double yr = 0;
        for (int64_t c = 0; c < k; ++c)
          yr += dx[c] * w[c];
        y[r] = yr;
      }
    });
    for (int64_t r = 0; r < n; ++r)
      actError += y[r] * y[r];
  }
  return total + actError / static_cast<double>(numSamples);
}
