//===- QuantizersTest.cpp - RTN, GPTQ, SmoothQuant, activation ranges -----===//

#include "qopt/Quant/Quantizers.h"
#include "qopt/Reference/QuantMath.h"

#include "llvm/Support/Parallel.h"
#include "llvm/Support/Threading.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace qopt::quant;

namespace {

TEST(Quantizers, ParamsForRange) {
  // Symmetric 4 bits: [-8, 7], the magnitude maps onto 7.
  QuantParams p = paramsForRange(-1.4, 0.7, {4, true});
  EXPECT_FLOAT_EQ(p.scale, 0.2f);
  EXPECT_EQ(p.zeroPoint, 0);
  // Asymmetric 8 bits over [-1, 3]: scale 4/255, zero point round(255/4).
  p = paramsForRange(-1.0, 3.0, {8, false});
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zeroPoint, 64);
  // A range not containing 0 is widened to it.
  p = paramsForRange(2.0, 4.0, {2, false});
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 3.0f);
  EXPECT_EQ(p.zeroPoint, 0);
  // All zeros: a valid, positive scale.
  p = paramsForRange(0, 0, {3, true});
  EXPECT_GT(p.scale, 0.0f);
  // 1-bit signed holds {-1, 0}.
  p = paramsForRange(-0.5, 0.5, {1, true});
  EXPECT_FLOAT_EQ(p.scale, 0.5f);
  EXPECT_FLOAT_EQ(fakeQuantize(-0.5f, p, {1, true}), -0.5f);
  EXPECT_FLOAT_EQ(fakeQuantize(0.5f, p, {1, true}), 0.0f);
}

TEST(Quantizers, ClipSearchNeverWorseAndClipsHeavyTails) {
  // Laplace-distributed values: the rare large ones cost less clipped than
  // the resolution they take from all the others at low bit widths.
  std::mt19937 rng(1);
  std::exponential_distribution<float> expo(1.0f);
  std::vector<float> values(1024);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = (i % 2 ? 1.0f : -1.0f) * expo(rng);
  for (unsigned bits : {2u, 3u, 4u, 8u})
    for (bool sym : {true, false}) {
      QuantSpec spec{bits, sym};
      QuantParams plain = chooseParams(values, spec, false);
      QuantParams searched = chooseParams(values, spec, true);
      EXPECT_LE(quantizationError(values, searched, spec),
                quantizationError(values, plain, spec));
      if (bits <= 4)
        EXPECT_LT(searched.scale, plain.scale) << bits << (sym ? "s" : "a");
    }
}

TEST(Quantizers, RtnRoundsEachGroupToNearest) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> uni(-1, 1);
  int64_t n = 5, k = 64;
  std::vector<float> w(n * k);
  for (float &v : w)
    v = uni(rng);
  for (int64_t gs : {0, 16, 32})
    for (bool sym : {true, false}) {
      WeightQuantConfig cfg{{3, sym}, gs, /*clipSearch=*/false};
      QuantizedWeights q = quantizeRtn(w, n, k, cfg);
      ASSERT_EQ(q.groups, gs ? k / gs : 1);
      std::vector<float> dq = q.dequantized();
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) {
          int64_t g = r * q.groups + c / (k / q.groups);
          EXPECT_GE(q.values[r * k + c], cfg.spec.qmin());
          EXPECT_LE(q.values[r * k + c], cfg.spec.qmax());
          // Without clipping, every weight is within half a step, except
          // the positive end of a symmetric range (one level short).
          if (!sym)
            EXPECT_LE(std::fabs(dq[r * k + c] - w[r * k + c]),
                      q.scales[g] * 0.5f + 1e-6f);
        }
    }
}

/// X with correlated channels: X = Z A, Z standard normal.
static std::vector<double> correlatedHessian(int64_t k, int64_t rows,
                                             unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> a(k * k), x(rows * k, 0.0), h(k * k, 0.0);
  for (double &v : a)
    v = normal(rng) / std::sqrt(static_cast<double>(k));
  for (int64_t i = 0; i < k; ++i)
    a[i * k + i] += 1.0;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<double> z(k);
    for (double &v : z)
      v = normal(rng);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < k; ++i)
        x[r * k + j] += z[i] * a[i * k + j];
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += x[r * k + i] * x[r * k + j] / rows;
  return h;
}

TEST(Quantizers, GptqWithIdentityHessianIsRtn) {
  // With H = I, no error propagates (U is diagonal): GPTQ must equal RTN.
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  int64_t n = 7, k = 48;
  std::vector<float> w(n * k);
  for (float &v : w)
    v = normal(rng);
  std::vector<double> identity(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    identity[i * k + i] = 1.0;
  for (int64_t gs : {0, 16})
    for (bool actOrder : {false, true}) {
      WeightQuantConfig cfg{{4, true}, gs, true};
      GptqOptions opts;
      opts.actOrder = actOrder;
      opts.blockSize = 8;
      auto g = quantizeGptq(w, n, k, identity, cfg, opts);
      ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
      QuantizedWeights r = quantizeRtn(w, n, k, cfg);
      EXPECT_EQ(g->values, r.values);
      EXPECT_EQ(g->scales, r.scales);
    }
}

TEST(Quantizers, GptqBeatsRtnOnCorrelatedInputs) {
  int64_t n = 32, k = 64;
  for (unsigned seed : {11u, 12u, 13u}) {
    std::vector<double> h = correlatedHessian(k, 1024, seed);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0, 1);
    std::vector<float> w(n * k);
    for (float &v : w)
      v = normal(rng);
    for (unsigned bits : {2u, 3u, 4u})
      for (int64_t gs : {0, 16})
        for (bool actOrder : {false, true}) {
          WeightQuantConfig cfg{{bits, bits > 2}, gs, true};
          GptqOptions opts;
          opts.actOrder = actOrder;
          opts.blockSize = 16;
          auto g = quantizeGptq(w, n, k, h, cfg, opts);
          ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
          QuantizedWeights r = quantizeRtn(w, n, k, cfg);
          double eg = hessianWeightedError(w, g->dequantized(), n, k, h);
          double er = hessianWeightedError(w, r.dequantized(), n, k, h);
          EXPECT_LT(eg, er)
              << "W" << bits << " group " << gs
              << (actOrder ? " act-order" : "") << " seed " << seed;
          for (int32_t v : g->values) {
            EXPECT_GE(v, cfg.spec.qmin());
            EXPECT_LE(v, cfg.spec.qmax());
          }
        }
  }
}

TEST(Quantizers, GptqHandlesDeadInputsAndRejectsBadHessians) {
  int64_t n = 3, k = 8;
  std::vector<float> w(n * k, 0.5f);
  std::vector<double> h = correlatedHessian(k, 64, 5);
  // Input 2 never fires.
  for (int64_t i = 0; i < k; ++i)
    h[2 * k + i] = h[i * k + 2] = 0;
  auto g = quantizeGptq(w, n, k, h, {{4, true}, 0, false}, {});
  ASSERT_TRUE(bool(g));
  auto bad = quantizeGptq(w, n, k, std::vector<double>(k * k - 1),
                          {{4, true}, 0, false}, {});
  EXPECT_FALSE(bool(bad));
  llvm::consumeError(bad.takeError());
  std::vector<double> nan(k * k, NAN);
  auto notSpd = quantizeGptq(w, n, k, nan, {{4, true}, 0, false}, {});
  ASSERT_FALSE(bool(notSpd));
  EXPECT_NE(llvm::toString(notSpd.takeError()).find("positive definite"),
            std::string::npos);
}

/// Bit-for-bit equality of doubles (NaN equal to NaN).
static bool sameBits(double a, double b) {
  return std::memcmp(&a, &b, sizeof(double)) == 0 ||
         (std::isnan(a) && std::isnan(b));
}

TEST(Quantizers, ErrorSumMatchesReferenceQuantizeBitForBit) {
  // quantizationError's branch-free rounding against fakeQuantize (the
  // reference quantize: f32 division, round half to even, clamp): ties on
  // both sides of zero at odd and even integers (power-of-two scales make
  // x / scale exact), saturation, infinities, NaN, signed zeros, subnormals.
  std::vector<float> xs = {0.0f,
                           -0.0f,
                           1e-40f,
                           -1e-40f,
                           3e38f,
                           -3e38f,
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN()};
  for (int i = -600; i <= 600; ++i)
    xs.push_back(0.25f * i); // multiples of 1/4: every tie at scale 0.5
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0, 1);
  for (int i = 0; i < 400; ++i)
    xs.push_back(normal(rng) * 3);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (bool sym : {true, false}) {
      QuantSpec spec{bits, sym};
      for (float scale : {0.5f, 1.0f, 2.0f, 0.37f, 3e-6f})
        for (int32_t zp : {0, 1, spec.qmax() / 2, spec.qmax()}) {
          if (sym && zp != 0)
            continue;
          QuantParams p{scale, zp};
          double total = 0;
          for (float x : xs) {
            double d = static_cast<double>(x) - fakeQuantize(x, p, spec);
            double e = quantizationError(llvm::ArrayRef<float>(x), p, spec);
            ASSERT_TRUE(sameBits(e, d * d))
                << "x " << x << " scale " << scale << " zp " << zp << " W"
                << bits << (sym ? " sym" : " asym");
            if (!std::isnan(x))
              total += d * d;
          }
          std::vector<float> finite;
          for (float x : xs)
            if (!std::isnan(x))
              finite.push_back(x);
          EXPECT_TRUE(sameBits(quantizationError(finite, p, spec), total));
        }
    }
}

TEST(Quantizers, RtnValuesAreTheReferenceQuantize) {
  // RTN's integers against qopt::ref::quantize with the chosen parameters:
  // ties at odd and even integers on both sides of zero (multiples of 1/8
  // over a range that makes the scale a power of two), saturation,
  // infinities and NaN (to the zero point).
  int64_t n = 6, k = 64;
  std::vector<float> w(n * k);
  for (int64_t i = 0; i < n * k; ++i)
    w[i] = 0.125f * static_cast<float>(i % 64 - 32);
  w[3] = std::numeric_limits<float>::quiet_NaN();
  w[k + 5] = std::numeric_limits<float>::infinity();
  w[2 * k + 7] = -std::numeric_limits<float>::infinity();
  for (unsigned bits : {2u, 3u, 4u, 8u})
    for (bool sym : {true, false})
      for (int64_t gs : {0, 16})
        for (bool clip : {false, true}) {
          WeightQuantConfig cfg{{bits, sym}, gs, clip};
          QuantizedWeights q = quantizeRtn(w, n, k, cfg);
          qopt::ref::IntRange range{cfg.spec.qmin(), cfg.spec.qmax()};
          for (int64_t i = 0; i < n * k; ++i) {
            int64_t g = (i / k) * q.groups + (i % k) / (k / q.groups);
            ASSERT_EQ(q.values[i], qopt::ref::quantize(w[i], q.scales[g],
                                                       q.zeroPoints[g], range))
                << "index " << i << " W" << bits << (sym ? " sym" : " asym")
                << " group " << gs << (clip ? " clip" : "");
          }
        }
}

TEST(Quantizers, ClipSearchPicksTheFirstSmallestError) {
  // chooseParams against the search written out: ratios 1.00, 0.99, ...,
  // 0.50 of the range, each error a sum in order over fakeQuantize, the
  // first smallest kept.
  std::mt19937 rng(5);
  std::exponential_distribution<float> expo(1.0f);
  std::bernoulli_distribution sign(0.5);
  for (int64_t len : {1, 3, 7, 32, 128, 333})
    for (unsigned bits : {1u, 2u, 3u, 4u, 8u})
      for (bool sym : {true, false})
        for (int trial = 0; trial < 5; ++trial) {
          std::vector<float> v(len);
          for (float &x : v)
            x = (sign(rng) ? -1.0f : 1.0f) * expo(rng) * (trial + 1) * 0.01f;
          // Ties between candidates: all zeros (every error 0), and one
          // value repeated (errors equal in runs of ratios).
          if (trial == 3)
            std::fill(v.begin(), v.end(), 0.0f);
          if (trial == 4)
            std::fill(v.begin(), v.end(), 0.3f);
          QuantSpec spec{bits, sym};
          double lo = 0, hi = 0;
          for (float x : v) {
            lo = std::min<double>(lo, x);
            hi = std::max<double>(hi, x);
          }
          QuantParams best{};
          double bestErr = 0;
          for (int step = 0; step <= 50; ++step) {
            double c = 1.0 - 0.01 * step;
            QuantParams p = paramsForRange(lo * c, hi * c, spec);
            double err = 0;
            for (float x : v) {
              double d = static_cast<double>(x) - fakeQuantize(x, p, spec);
              err += d * d;
            }
            if (step == 0 || err < bestErr)
              best = p, bestErr = err;
          }
          QuantParams got = chooseParams(v, spec, /*clipSearch=*/true);
          EXPECT_EQ(got.scale, best.scale) << "len " << len << " W" << bits;
          EXPECT_EQ(got.zeroPoint, best.zeroPoint)
              << "len " << len << " W" << bits;
        }
}

TEST(Quantizers, LeastErrorCandidateKeepsTheFirstOfTies) {
  // Candidate lists with duplicates (equal errors) at random places, so
  // that a tie's first index may sit in a later batch than the spread
  // first one: the index must be the first of least error, as a loop over
  // quantizationError finds it, whatever batches were dropped early.
  std::mt19937 rng(31);
  std::normal_distribution<float> normal(0, 1);
  std::uniform_real_distribution<double> ratio(0.5, 1.0);
  for (int trial = 0; trial < 300; ++trial) {
    QuantSpec spec{static_cast<unsigned>(2 + trial % 7), trial % 2 == 0};
    std::vector<float> v(1 + trial * 7 % 400);
    for (float &x : v)
      x = normal(rng);
    double lo = *std::min_element(v.begin(), v.end());
    double hi = *std::max_element(v.begin(), v.end());
    std::vector<QuantParams> candidates;
    int count = 1 + trial % 60;
    for (int i = 0; i < count; ++i) {
      double c = ratio(rng);
      candidates.push_back(paramsForRange(lo * c, hi * c, spec));
    }
    // Copies of a few candidates elsewhere in the list.
    for (int i = 0; i < count / 4; ++i)
      candidates[rng() % count] = candidates[rng() % count];
    size_t expected = 0;
    double least = quantizationError(v, candidates[0], spec);
    for (size_t i = 1; i < candidates.size(); ++i) {
      double e = quantizationError(v, candidates[i], spec);
      if (e < least)
        least = e, expected = i;
    }
    ASSERT_EQ(leastErrorCandidate(v, candidates, spec), expected)
        << "trial " << trial;
  }
}

TEST(Quantizers, ResultsDoNotDependOnTheThreads) {
  // RTN, GPTQ and the Hessian-weighted error run on LLVM's threads; each
  // row's (column's) sums stay in sequential order, so one thread and
  // several (20 chunks of any loop, however short, so sizes that are not
  // multiples of 4) agree bit for bit.
  int64_t n = 37, k = 70;
  std::vector<double> h = correlatedHessian(k, 256, 17);
  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> w(n * k);
  for (float &v : w)
    v = normal(rng);
  struct Run {
    QuantizedWeights rtn, gptq, gptqGroups;
    double error = 0;
  };
  auto runAll = [&]() {
    Run r;
    WeightQuantConfig cfg{{3, false}, 0, true};
    r.rtn = quantizeRtn(w, n, k, cfg);
    GptqOptions opts;
    opts.blockSize = 16;
    r.gptq = std::move(*quantizeGptq(w, n, k, h, cfg, opts));
    WeightQuantConfig grouped{{4, true}, 14, true};
    r.gptqGroups = std::move(*quantizeGptq(w, n, k, h, grouped, opts));
    r.error = hessianWeightedError(w, r.gptq.dequantized(), n, k, h);
    return r;
  };
  llvm::ThreadPoolStrategy saved = llvm::parallel::strategy;
  llvm::parallel::strategy = llvm::hardware_concurrency(1);
  Run one = runAll();
  llvm::parallel::strategy = llvm::hardware_concurrency(5);
  int64_t savedMinWork = parallelMinWork;
  parallelMinWork = 1;
  Run many = runAll();
  parallelMinWork = savedMinWork;
  llvm::parallel::strategy = saved;
  for (auto [a, b] :
       {std::pair(&one.rtn, &many.rtn), std::pair(&one.gptq, &many.gptq),
        std::pair(&one.gptqGroups, &many.gptqGroups)}) {
    EXPECT_EQ(a->values, b->values);
    EXPECT_EQ(a->scales, b->scales);
    EXPECT_EQ(a->zeroPoints, b->zeroPoints);
  }
  EXPECT_TRUE(sameBits(one.error, many.error));
  // The error summed as written: rows, then columns with d_i != 0.
  std::vector<float> dq = one.gptq.dequantized();
  double sequential = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i) {
      double di = static_cast<double>(w[r * k + i]) - dq[r * k + i];
      if (di == 0)
        continue;
      double s = 0;
      for (int64_t j = 0; j < k; ++j)
        s += h[i * k + j] * (static_cast<double>(w[r * k + j]) - dq[r * k + j]);
      sequential += di * s;
    }
  EXPECT_TRUE(sameBits(many.error, sequential));
  // GPTQ did change the weights (the run is not vacuous).
  EXPECT_NE(one.gptq.values, one.rtn.values);
}

/// GPTQ's factor written out sequentially (Cholesky by columns, L^-1 by
/// forward substitution, H^-1 = L^-T L^-1, its Cholesky factor transposed),
/// the order of operations the threaded one keeps.
static bool sequentialInverseCholeskyUpper(std::vector<double> a, int64_t k,
                                           std::vector<double> &u) {
  auto cholesky = [&](std::vector<double> &m) {
    for (int64_t j = 0; j < k; ++j) {
      double d = m[j * k + j];
      for (int64_t p = 0; p < j; ++p)
        d -= m[j * k + p] * m[j * k + p];
      if (!(d > 0))
        return false;
      d = std::sqrt(d);
      m[j * k + j] = d;
      for (int64_t i = j + 1; i < k; ++i) {
        double s = m[i * k + j];
        for (int64_t p = 0; p < j; ++p)
          s -= m[i * k + p] * m[j * k + p];
        m[i * k + j] = s / d;
      }
      for (int64_t i = 0; i < j; ++i)
        m[i * k + j] = 0;
    }
    return true;
  };
  if (!cholesky(a))
    return false;
  std::vector<double> linv(k * k, 0.0), hinv(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    linv[j * k + j] = 1.0 / a[j * k + j];
    for (int64_t i = j + 1; i < k; ++i) {
      double s = 0;
      for (int64_t p = j; p < i; ++p)
        s += a[i * k + p] * linv[p * k + j];
      linv[i * k + j] = -s / a[i * k + i];
    }
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t p = i; p < k; ++p)
        s += linv[p * k + i] * linv[p * k + j];
      hinv[i * k + j] = hinv[j * k + i] = s;
    }
  if (!cholesky(hinv))
    return false;
  u.assign(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      u[i * k + j] = hinv[j * k + i];
  return true;
}

TEST(Quantizers, InverseCholeskyIsTheSequentialOneAndInverts) {
  for (int64_t k : {1, 5, 67, 141}) {
    std::vector<double> h = correlatedHessian(k, 4 * k + 8, 23);
    std::vector<double> ref;
    ASSERT_TRUE(sequentialInverseCholeskyUpper(h, k, ref));
    // U^T U H = I (the factor is right, not only the same).
    for (int64_t i = 0; i < std::min<int64_t>(k, 67); ++i)
      for (int64_t j = 0; j < k; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
          double hinv = 0;
          for (int64_t q = 0; q < k; ++q)
            hinv += ref[q * k + i] * ref[q * k + p];
          s += hinv * h[p * k + j];
        }
        ASSERT_NEAR(s, i == j ? 1.0 : 0.0, 1e-8) << "k " << k;
      }
    // Bit for bit, on one thread and on many small chunks (every chunk
    // boundary and the four-at-a-time sums' remainders exercised).
    for (unsigned threads : {1u, 5u}) {
      llvm::ThreadPoolStrategy saved = llvm::parallel::strategy;
      int64_t savedMinWork = parallelMinWork;
      llvm::parallel::strategy = llvm::hardware_concurrency(threads);
      parallelMinWork = 1;
      std::vector<double> u;
      bool ok = inverseCholeskyUpper(h, k, u);
      parallelMinWork = savedMinWork;
      llvm::parallel::strategy = saved;
      ASSERT_TRUE(ok);
      ASSERT_EQ(u.size(), ref.size());
      for (size_t i = 0; i < u.size(); ++i)
        ASSERT_TRUE(sameBits(u[i], ref[i]))
            << "k " << k << " entry " << i << " threads " << threads;
    }
  }
  std::vector<double> notSpd = {1, 2, 2, 1}, u;
  EXPECT_FALSE(inverseCholeskyUpper(notSpd, 2, u));
}

TEST(Quantizers, SmoothingFactors) {
  std::vector<float> act = {4.0f, 100.0f, 0.0f, 1.0f};
  std::vector<float> wmax = {1.0f, 0.25f, 2.0f, 0.0f};
  std::vector<float> s = smoothingFactors(act, wmax, 0.5);
  EXPECT_FLOAT_EQ(s[0], 2.0f);                     // sqrt(4) / sqrt(1)
  EXPECT_FLOAT_EQ(s[1], std::sqrt(100.0f) / 0.5f); // 10 / 0.5
  EXPECT_FLOAT_EQ(s[2], 1.0f);                     // no activation
  EXPECT_FLOAT_EQ(s[3], 1.0f);                     // no weight
  std::vector<float> s0 = smoothingFactors(act, wmax, 0.0);
  EXPECT_FLOAT_EQ(s0[1], 4.0f); // 1 / max|W|
  std::vector<float> s1 = smoothingFactors(act, wmax, 1.0);
  EXPECT_FLOAT_EQ(s1[1], 100.0f); // max|X|
}

TEST(Quantizers, ActivationRanges) {
  // Mostly N(0, 1) with 0.01% of values at +-60.
  Histogram h;
  h.limit = 64;
  h.counts.assign(4096, 0.0);
  std::mt19937 rng(4);
  std::normal_distribution<double> normal(0, 1);
  auto add = [&](double x) {
    h.counts[static_cast<size_t>((x + h.limit) / (2 * h.limit) * 4096)] += 1;
  };
  for (int i = 0; i < 100000; ++i)
    add(normal(rng));
  for (int i = 0; i < 10; ++i)
    add(i % 2 ? 60.0 : -60.0);
  QuantSpec spec{4, true};
  QuantParams absmax =
      chooseActivationParams(h, -60, 60, spec, RangeMethod::AbsMax);
  QuantParams mse = chooseActivationParams(h, -60, 60, spec, RangeMethod::Mse);
  QuantParams pct =
      chooseActivationParams(h, -60, 60, spec, RangeMethod::Percentile, 99.9);
  EXPECT_FLOAT_EQ(absmax.scale, 60.0f / 7.0f);
  // MSE clips the rare outliers at 4 bits; the 99.9th |x| percentile of
  // N(0, 1) is about 3.3.
  EXPECT_LT(mse.scale, absmax.scale / 4);
  EXPECT_NEAR(pct.scale * 7, 3.3, 0.2);
  // Asymmetric over a one-sided (post-ReLU) distribution uses all levels
  // on the positive side: zero point 0.
  QuantParams relu =
      chooseActivationParams(h, 0, 60, {8, false}, RangeMethod::AbsMax);
  EXPECT_EQ(relu.zeroPoint, 0);
}

} // namespace
