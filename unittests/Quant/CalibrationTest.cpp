//===- CalibrationTest.cpp - activation statistics ------------------------===//

#include "qopt/Quant/Calibration.h"
#include "qopt/Quant/Npz.h"
#include "qopt/Quant/Quantizers.h"

#include "llvm/Support/FileUtilities.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Threading.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace qopt::quant;

namespace {

std::vector<float> randomRows(int64_t rows, int64_t k, unsigned seed,
                              float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, scale);
  std::vector<float> x(rows * k);
  for (float &v : x)
    v = normal(rng);
  return x;
}

TEST(Calibration, StatisticsMatchDirectComputation) {
  int64_t k = 6, rows = 300;
  std::vector<float> x = randomRows(rows, k, 1);
  // A larger second batch makes the histogram grow.
  for (int64_t i = 200 * k; i < rows * k; ++i)
    x[i] *= 20;
  CalibrationOptions options;
  options.maxSamples = 64;
  LayerStats s(k, options);
  s.accumulate(x.data(), 200);
  s.accumulate(x.data() + 200 * k, rows - 200);
  EXPECT_EQ(s.rows, rows);
  EXPECT_EQ(s.numSamples, 64);
  double total = 0;
  for (double c : s.histogram.counts)
    total += c;
  EXPECT_EQ(total, static_cast<double>(rows * k));
  std::vector<double> h = s.hessian();
  for (int64_t c = 0; c < k; ++c) {
    float mn = INFINITY, mx = -INFINITY, am = 0;
    for (int64_t r = 0; r < rows; ++r) {
      mn = std::min(mn, x[r * k + c]);
      mx = std::max(mx, x[r * k + c]);
      am = std::max(am, std::fabs(x[r * k + c]));
    }
    EXPECT_EQ(s.min[c], mn);
    EXPECT_EQ(s.max[c], mx);
    EXPECT_EQ(s.absMax[c], am);
    EXPECT_GE(s.histogram.limit, am);
    for (int64_t d = 0; d < k; ++d) {
      double dot = 0;
      for (int64_t r = 0; r < rows; ++r)
        dot += static_cast<double>(x[r * k + c]) * x[r * k + d];
      EXPECT_NEAR(h[c * k + d], dot / rows, 1e-9 * std::fabs(dot) + 1e-12);
    }
  }
  // Every sample is one of the rows.
  for (int64_t i = 0; i < s.numSamples; ++i) {
    bool found = false;
    for (int64_t r = 0; r < rows && !found; ++r)
      found = std::equal(x.begin() + r * k, x.begin() + (r + 1) * k,
                         s.samples.begin() + i * k);
    EXPECT_TRUE(found) << "sample " << i;
  }
}

TEST(Calibration, XtxIsTheRowByRowSumOnAnyThreads) {
  // X^T X gains a batch of rows per pass over its triangle, rows of the
  // triangle on the threads; against one rank-1 update per row, bit for
  // bit: rows in order, zeros and non-finite x_i skipped (a non-finite
  // x_j still reaching the entry), batches of 64 and a remainder, one
  // thread and many small chunks.
  int64_t k = 37, rows = 150;
  std::vector<float> x = randomRows(rows, k, 4);
  for (int64_t i = 0; i < rows * k; i += 29)
    x[i] = 0.0f;
  x[5 * k + 3] = INFINITY;
  x[77 * k + 20] = NAN;
  x[140 * k + 36] = -INFINITY;
  std::vector<double> expected(k * k, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i) {
      double xi = x[r * k + i];
      if (xi == 0 || !std::isfinite(xi))
        continue;
      for (int64_t j = 0; j <= i; ++j)
        expected[i * k + j] += xi * x[r * k + j];
    }
  for (unsigned threads : {1u, 5u}) {
    llvm::ThreadPoolStrategy saved = llvm::parallel::strategy;
    int64_t savedMinWork = parallelMinWork;
    llvm::parallel::strategy = llvm::hardware_concurrency(threads);
    parallelMinWork = 1;
    LayerStats s(k, CalibrationOptions());
    s.accumulate(x.data(), 100);
    s.accumulate(x.data() + 100 * k, rows - 100);
    parallelMinWork = savedMinWork;
    llvm::parallel::strategy = saved;
    ASSERT_EQ(s.xtx.size(), expected.size());
    for (size_t e = 0; e < expected.size(); ++e) {
      double a = s.xtx[e], b = expected[e];
      EXPECT_TRUE(std::memcmp(&a, &b, sizeof(double)) == 0 ||
                  (std::isnan(a) && std::isnan(b)))
          << "entry " << e << ": " << a << " vs " << b << ", threads "
          << threads;
    }
  }
}

TEST(Calibration, ScaledStatisticsEqualStatisticsOfScaledInputs) {
  int64_t k = 5, rows = 100;
  std::vector<float> x = randomRows(rows, k, 2);
  std::vector<float> inv = {0.5f, 2.0f, 1.0f, 0.125f, 4.0f};
  CalibrationOptions options;
  LayerStats s(k, options);
  s.accumulate(x.data(), rows);
  std::vector<float> xs(x);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < k; ++c)
      xs[r * k + c] *= inv[c];
  LayerStats direct(k, options);
  direct.accumulate(xs.data(), rows);
  LayerStats scaled = s.scaledBy(inv);
  EXPECT_EQ(scaled.min, direct.min);
  EXPECT_EQ(scaled.max, direct.max);
  EXPECT_EQ(scaled.absMax, direct.absMax);
  EXPECT_EQ(scaled.samples, direct.samples); // all rows kept: same order
  std::vector<double> a = scaled.hessian(), b = direct.hessian();
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], 1e-9 * std::fabs(b[i]) + 1e-12);
  EXPECT_DOUBLE_EQ(scaled.histogram.total(), direct.histogram.total());
}

TEST(Calibration, SaveAndLoad) {
  int64_t k = 4;
  std::vector<float> x = randomRows(10, k, 3);
  CalibrationStats stats;
  CalibrationOptions options;
  stats.layer("/blocks.0/attn/q_proj/MatMul", k, options)
      .accumulate(x.data(), 10);
  stats.layer("fc2", 2, options).accumulate(x.data(), 20);
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("calib", "npz", path));
  llvm::FileRemover remover(path);
  ASSERT_FALSE(bool(stats.save(path)));
  auto loaded = CalibrationStats::load(path);
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  ASSERT_EQ(loaded->layers().size(), 2u);
  for (const auto &[name, s] : stats.layers()) {
    const LayerStats *l = loaded->find(name);
    ASSERT_NE(l, nullptr) << name;
    EXPECT_EQ(l->k, s.k);
    EXPECT_EQ(l->rows, s.rows);
    EXPECT_EQ(l->absMax, s.absMax);
    EXPECT_EQ(l->min, s.min);
    EXPECT_EQ(l->xtx, s.xtx);
    EXPECT_EQ(l->samples, s.samples);
    EXPECT_EQ(l->histogram.counts, s.histogram.counts);
    EXPECT_EQ(l->histogram.limit, s.histogram.limit);
  }
}

TEST(Calibration, LoadRejectsOtherFiles) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("notcalib", "npz", path));
  llvm::FileRemover remover(path);
  std::vector<qopt::npz::NamedArray> arrays = {
      {"x", qopt::npz::Array::fromFloat({2}, {1.0f, 2.0f})}};
  ASSERT_FALSE(bool(qopt::npz::writeNpz(path, arrays)));
  auto loaded = CalibrationStats::load(path);
  ASSERT_FALSE(bool(loaded));
  EXPECT_NE(llvm::toString(loaded.takeError()).find("not a qopt calibration"),
            std::string::npos);
}

} // namespace
