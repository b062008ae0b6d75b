//===- PrecisionTest.cpp - the precision knapsack and sensitivity proxy ---===//

#include "qopt/Quant/Precision.h"
#include "qopt/Quant/Quantizers.h"

#include "llvm/Support/Parallel.h"
#include "llvm/Support/Threading.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <tuple>

using namespace qopt::quant;

namespace {

using Layers = std::vector<std::vector<PrecisionOption>>;

/// A random instance: 1..6 layers of 1..5 options; costs either bits times
/// a parameter count (the avg-bits budget) or arbitrary small integers,
/// sensitivities decreasing with bits or arbitrary (ties included).
Layers randomInstance(std::mt19937 &rng) {
  std::uniform_int_distribution<int> numLayers(1, 6), numOptions(1, 5),
      smallCost(0, 20), params(1, 8), mode(0, 2);
  std::uniform_real_distribution<double> uni(0, 1);
  int m = mode(rng);
  Layers layers(numLayers(rng));
  for (auto &options : layers) {
    int count = numOptions(rng);
    int64_t p = params(rng);
    double scale = std::exp(4 * uni(rng));
    for (int o = 0; o < count; ++o) {
      PrecisionOption opt;
      opt.wbits = 1 + o;
      if (m == 0) { // bits * params, error halving per bit
        opt.cost = opt.wbits * p;
        opt.sensitivity = scale * std::pow(0.25, opt.wbits);
      } else if (m == 1) { // arbitrary
        opt.cost = smallCost(rng);
        opt.sensitivity = uni(rng);
      } else { // coarse values: many ties in cost and sensitivity
        opt.cost = smallCost(rng) / 5;
        opt.sensitivity = std::floor(uni(rng) * 4);
      }
      options.push_back(opt);
    }
  }
  return layers;
}

int64_t costOf(const Layers &layers, const Allocation &a) {
  int64_t c = 0;
  for (size_t l = 0; l < layers.size(); ++l)
    c += layers[l][a.choice[l]].cost;
  return c;
}

double sensitivityOf(const Layers &layers, const Allocation &a) {
  double s = 0;
  for (size_t l = 0; l < layers.size(); ++l)
    s += layers[l][a.choice[l]].sensitivity;
  return s;
}

TEST(Precision, KnapsackMatchesBruteForce) {
  int feasible = 0, infeasible = 0;
  for (unsigned seed = 0; seed < 3000; ++seed) {
    std::mt19937 rng(seed);
    Layers layers = randomInstance(rng);
    int64_t maxCost = 0;
    for (auto &options : layers) {
      int64_t m = 0;
      for (auto &o : options)
        m = std::max(m, o.cost);
      maxCost += m;
    }
    std::uniform_int_distribution<int64_t> budgetDist(-1, maxCost + 2);
    int64_t budget = budgetDist(rng);
    std::optional<Allocation> brute = bruteForcePrecision(layers, budget);
    llvm::Expected<Allocation> dp = solvePrecisionKnapsack(layers, budget);
    if (!brute) {
      ++infeasible;
      ASSERT_FALSE(static_cast<bool>(dp)) << "seed " << seed;
      std::string message = llvm::toString(dp.takeError());
      EXPECT_NE(message.find("is below the cheapest allocation"),
                std::string::npos)
          << message;
      continue;
    }
    ++feasible;
    ASSERT_TRUE(static_cast<bool>(dp))
        << "seed " << seed << ": " << llvm::toString(dp.takeError());
    // Never over budget, and the reported totals are the choice's.
    EXPECT_LE(dp->cost, budget) << "seed " << seed;
    EXPECT_EQ(dp->cost, costOf(layers, *dp)) << "seed " << seed;
    EXPECT_NEAR(dp->sensitivity, sensitivityOf(layers, *dp),
                1e-12 * (1 + std::fabs(dp->sensitivity)));
    // As good as exhaustive search.
    EXPECT_NEAR(dp->sensitivity, brute->sensitivity,
                1e-9 * (1 + std::fabs(brute->sensitivity)))
        << "seed " << seed;
  }
  // The generator covers both outcomes.
  EXPECT_GT(feasible, 1000);
  EXPECT_GT(infeasible, 50);
}

TEST(Precision, ParetoFrontIsOptimalAtEveryBudget) {
  for (unsigned seed = 0; seed < 300; ++seed) {
    std::mt19937 rng(1000 + seed);
    Layers layers = randomInstance(rng);
    std::vector<Allocation> front = precisionParetoFront(layers);
    ASSERT_FALSE(front.empty());
    for (size_t i = 1; i < front.size(); ++i) {
      EXPECT_GT(front[i].cost, front[i - 1].cost);
      EXPECT_LT(front[i].sensitivity, front[i - 1].sensitivity);
    }
    for (const Allocation &a : front) {
      std::optional<Allocation> brute = bruteForcePrecision(layers, a.cost);
      ASSERT_TRUE(brute.has_value());
      EXPECT_NEAR(a.sensitivity, brute->sensitivity,
                  1e-9 * (1 + std::fabs(brute->sensitivity)));
    }
  }
}

TEST(Precision, InfeasibleAndInvalidInstances) {
  Layers layers = {{{2, 16, 20, 1.0}, {4, 16, 40, 0.1}},
                   {{3, 16, 30, 2.0}, {8, 16, 80, 0.0}}};
  llvm::Expected<Allocation> a = solvePrecisionKnapsack(layers, 49);
  ASSERT_FALSE(static_cast<bool>(a));
  EXPECT_EQ(llvm::toString(a.takeError()),
            "budget 49 is below the cheapest allocation (50: every layer at "
            "its smallest candidate)");
  a = solvePrecisionKnapsack(layers, 50);
  ASSERT_TRUE(static_cast<bool>(a));
  EXPECT_EQ(a->choice, (std::vector<unsigned>{0, 0}));
  a = solvePrecisionKnapsack(layers, 100);
  ASSERT_TRUE(static_cast<bool>(a));
  // 40 + 30 (1.1) loses to 20 + 80 (1.0).
  EXPECT_EQ(a->choice, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ(a->cost, 100);

  Layers empty = {{}};
  a = solvePrecisionKnapsack(empty, 10);
  ASSERT_FALSE(static_cast<bool>(a));
  EXPECT_EQ(llvm::toString(a.takeError()),
            "layer 0 has no precision candidates");
  Layers negative = {{{2, 16, -1, 0.0}}};
  a = solvePrecisionKnapsack(negative, 10);
  ASSERT_FALSE(static_cast<bool>(a));
  llvm::consumeError(a.takeError());
}

TEST(Precision, LargeModelIsExactAndQuick) {
  // 224 layers of LLM shapes (7B-like: q/k/v/o 4096x4096, up/gate/down
  // 4096x11008) with per-layer scales: the Pareto states stay few because
  // the costs are multiples of large parameter counts.
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> uni(0, 1);
  Layers layers;
  int64_t params = 0;
  for (int block = 0; block < 32; ++block)
    for (int64_t p :
         {4096LL * 4096, 4096LL * 4096, 4096LL * 4096, 4096LL * 4096,
          4096LL * 11008, 4096LL * 11008, 4096LL * 11008}) {
      double scale = std::exp(6 * uni(rng));
      std::vector<PrecisionOption> options;
      for (unsigned bits : {2u, 3u, 4u, 6u, 8u})
        options.push_back({bits, 16, bits * p, scale * std::pow(0.25, bits)});
      layers.push_back(options);
      params += p;
    }
  int64_t budget = params * 4;
  llvm::Expected<Allocation> a = solvePrecisionKnapsack(layers, budget);
  ASSERT_TRUE(static_cast<bool>(a)) << llvm::toString(a.takeError());
  EXPECT_LE(a->cost, budget);
  // At least as good as uniform 4 bits, which fits.
  double uniform = 0;
  for (auto &options : layers)
    uniform += options[2].sensitivity;
  EXPECT_LT(a->sensitivity, uniform);
  // No single swap of two layers' choices improves it within the budget
  // (a necessary condition of optimality, cheap to check).
  for (size_t i = 0; i < layers.size(); i += 7)
    for (size_t o = 0; o < layers[i].size(); ++o) {
      int64_t cost = a->cost - layers[i][a->choice[i]].cost + layers[i][o].cost;
      double sens = a->sensitivity - layers[i][a->choice[i]].sensitivity +
                    layers[i][o].sensitivity;
      if (cost <= budget)
        EXPECT_GE(sens, a->sensitivity * (1 - 1e-12));
    }
}

TEST(Precision, PackedBytes) {
  // 3 bit planes of 10 rows of 2 words, plus 10 f32 scales.
  EXPECT_EQ(packedWeightBytes(10, 40, 3, 0, true), 3 * 10 * 2 * 4 + 40);
  // Groups of 20 with zero points.
  EXPECT_EQ(packedWeightBytes(10, 40, 4, 20, false), 4 * 10 * 2 * 4 + 160);
}

/// Gaussian weights [n, k] and sample rows [rows, k], and H = X^T X / rows.
static std::tuple<std::vector<float>, std::vector<float>, std::vector<double>>
randomLayer(int64_t n, int64_t k, int64_t rows, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> w(n * k), x(rows * k);
  for (float &v : w)
    v = normal(rng);
  for (float &v : x)
    v = normal(rng);
  std::vector<double> h(k * k, 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += double(x[r * k + i]) * x[r * k + j] / rows;
  return {w, x, h};
}

TEST(Precision, ProxyDecreasesWithBitsAndScalesWithH) {
  int64_t n = 16, k = 32, rows = 64;
  auto [w, x, h] = randomLayer(n, k, rows, 7);
  double previous = INFINITY;
  for (unsigned bits = 2; bits <= 8; ++bits) {
    WeightQuantConfig cfg{{bits, true}, 0, true};
    double s = proxySensitivity(w, n, k, h, x, rows, cfg, 16, true);
    EXPECT_LT(s, previous) << bits;
    previous = s;
    // Twice the input scale: four times H, four times the error.
    std::vector<double> h4(h);
    for (double &v : h4)
      v *= 4;
    EXPECT_NEAR(proxySensitivity(w, n, k, h4, x, rows, cfg, 16, true), 4 * s,
                1e-9 * s);
    // Quantized activations only add error, less with more bits.
    double a4 = proxySensitivity(w, n, k, h, x, rows, cfg, 4, true);
    double a8 = proxySensitivity(w, n, k, h, x, rows, cfg, 8, true);
    EXPECT_GT(a4, a8);
    EXPECT_GT(a8, s);
  }
}

TEST(Precision, ProxyIsTheSequentialSumOnAnyThreads) {
  // The proxy's activation term (each sample's output error per row) runs
  // on the threads; against the sum written out, bit for bit, on one
  // thread and on many small chunks (rows not a multiple of 4).
  int64_t n = 23, k = 19, rows = 11;
  auto [w, x, h] = randomLayer(n, k, rows, 9);
  // 8-bit weights, 2-bit activations: the activation term dominates.
  WeightQuantConfig cfg{{8, true}, 0, true};
  QuantSpec aspec{2, false};
  std::vector<float> dq = quantizeRtn(w, n, k, cfg).dequantized();
  double actError = 0;
  for (int64_t s = 0; s < rows; ++s) {
    const float *xs = &x[s * k];
    float lo = 0, hi = 0;
    for (int64_t c = 0; c < k; ++c)
      lo = std::min(lo, xs[c]), hi = std::max(hi, xs[c]);
    QuantParams p = paramsForRange(lo, hi, aspec);
    for (int64_t r = 0; r < n; ++r) {
      double y = 0;
      for (int64_t c = 0; c < k; ++c)
        y += (static_cast<double>(fakeQuantize(xs[c], p, aspec)) - xs[c]) *
             dq[r * k + c];
      actError += y * y;
    }
  }
  double expected = hessianWeightedError(w, dq, n, k, h) +
                    actError / static_cast<double>(rows);
  for (unsigned threads : {1u, 5u}) {
    llvm::ThreadPoolStrategy saved = llvm::parallel::strategy;
    int64_t savedMinWork = parallelMinWork;
    llvm::parallel::strategy = llvm::hardware_concurrency(threads);
    parallelMinWork = 1;
    double got = proxySensitivity(w, n, k, h, x, rows, cfg, 2, false);
    parallelMinWork = savedMinWork;
    llvm::parallel::strategy = saved;
    EXPECT_EQ(std::memcmp(&got, &expected, sizeof(double)), 0)
        << got << " vs " << expected << " threads " << threads;
  }
}

} // namespace
