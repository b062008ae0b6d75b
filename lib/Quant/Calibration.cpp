//===- Calibration.cpp - activation statistics of linear layers -----------===//

#include "qopt/Quant/Calibration.h"

#include "qopt/Quant/Npz.h"

#include "LoopSupport.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <cmath>

using namespace qopt::quant;
using llvm::StringRef;

static llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

LayerStats::LayerStats(int64_t k, const CalibrationOptions &options)
    : k(k), options(options) {
  min.assign(k, INFINITY);
  max.assign(k, -INFINITY);
  absMax.assign(k, 0.0f);
  histogram.counts.assign(options.histogramBins, 0.0);
  if (options.hessian)
    xtx.assign(k * k, 0.0);
}

void LayerStats::addToHistogram(const float *x, int64_t count) {
  std::vector<double> &counts = histogram.counts;
  int64_t bins = static_cast<int64_t>(counts.size());
  float peak = 0;
  for (int64_t i = 0; i < count; ++i)
    if (std::isfinite(x[i]))
      peak = std::max(peak, std::fabs(x[i]));
  if (histogram.limit == 0)
    histogram.limit = peak > 0 ? peak : 1e-6;
  // Double the range until it covers the new values, merging bin pairs:
  // old bin i lands in new bin (bins / 2 + i) / 2.
  while (peak > histogram.limit) {
    std::vector<double> merged(bins, 0.0);
    for (int64_t i = 0; i < bins; ++i)
      merged[(bins / 2 + i) / 2] += counts[i];
    counts.swap(merged);
    histogram.limit *= 2;
  }
  double scale = bins / (2 * histogram.limit);
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(x[i]))
      continue;
    int64_t b = static_cast<int64_t>((x[i] + histogram.limit) * scale);
    counts[std::clamp<int64_t>(b, 0, bins - 1)] += 1;
  }
}

void LayerStats::accumulate(const float *x, int64_t numRows) {
  for (int64_t r = 0; r < numRows; ++r) {
    const float *row = x + r * k;
    for (int64_t c = 0; c < k; ++c) {
      float v = row[c];
      if (!std::isfinite(v))
        continue;
      min[c] = std::min(min[c], v);
      max[c] = std::max(max[c], v);
      absMax[c] = std::max(absMax[c], std::fabs(v));
    }
    // Reservoir sampling of rows (algorithm R).
    int64_t seen = rows + r;
    if (numSamples < options.maxSamples) {
      samples.insert(samples.end(), row, row + k);
      ++numSamples;
    } else if (options.maxSamples > 0) {
      std::uniform_int_distribution<int64_t> pick(0, seen);
      int64_t slot = pick(rng);
      if (slot < options.maxSamples)
        std::copy(row, row + k, samples.begin() + slot * k);
    }
  }
  if (!xtx.empty())
    accumulateXtx(x, numRows);
  addToHistogram(x, numRows * k);
  rows += numRows;
}

/// Rows [begin, end) of the lower triangle of x^T x gain the batch's rows
/// `xb` [count, k] in order: out[i][j] += x_i x_j for each row whose x_i is
/// nonzero and finite.
QOPT_AVX2_CLONES
static void xtxRows(double *xtx, int64_t k, const double *xb, int64_t count,
                    int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    double *out = &xtx[i * k];
    for (int64_t r = 0; r < count; ++r) {
      const double *row = &xb[r * k];
      double xi = row[i];
      if (xi == 0 || !std::isfinite(xi))
        continue;
      for (int64_t j = 0; j <= i; ++j)
        out[j] += xi * row[j];
    }
  }
}

void LayerStats::accumulateXtx(const float *x, int64_t numRows) {
  // Lower triangle only; hessian() mirrors it. Each entry gains the rows in
  // order, as one rank-1 update per row would add them, but a batch of rows
  // per pass over the triangle (one read and write of it per batch, not per
  // row) and its rows [i] on the threads.
  constexpr int64_t kBatch = 64;
  std::vector<double> xb(kBatch * k);
  for (int64_t r0 = 0; r0 < numRows; r0 += kBatch) {
    int64_t count = std::min(kBatch, numRows - r0);
    for (int64_t e = 0; e < count * k; ++e)
      xb[e] = x[r0 * k + e];
    // Row i costs about i * count multiply-adds.
    parallelChunks(k, k * count / 2, [&](int64_t begin, int64_t end) {
      xtxRows(xtx.data(), k, xb.data(), count, begin, end);
    });
  }
}

std::vector<double> LayerStats::hessian() const {
  std::vector<double> h(k * k, 0.0);
  if (xtx.empty() || rows == 0)
    return h;
  double inv = 1.0 / static_cast<double>(rows);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j)
      h[i * k + j] = h[j * k + i] = xtx[i * k + j] * inv;
  return h;
}

double LayerStats::globalMin() const {
  double m = 0;
  for (float v : min)
    if (std::isfinite(v))
      m = std::min<double>(m, v);
  return m;
}

double LayerStats::globalMax() const {
  double m = 0;
  for (float v : max)
    if (std::isfinite(v))
      m = std::max<double>(m, v);
  return m;
}

LayerStats LayerStats::scaledBy(llvm::ArrayRef<float> inv) const {
  LayerStats out = *this;
  for (int64_t c = 0; c < k; ++c) {
    out.min[c] = min[c] * inv[c];
    out.max[c] = max[c] * inv[c];
    out.absMax[c] = absMax[c] * inv[c];
  }
  for (int64_t i = 0; i < k && !xtx.empty(); ++i)
    for (int64_t j = 0; j <= i; ++j)
      out.xtx[i * k + j] = xtx[i * k + j] * inv[i] * inv[j];
  for (int64_t s = 0; s < numSamples; ++s)
    for (int64_t c = 0; c < k; ++c)
      out.samples[s * k + c] = samples[s * k + c] * inv[c];
  // The histogram of X / s: from the transformed sample rows, weighted to
  // the number of rows seen.
  out.histogram.limit = 0;
  std::fill(out.histogram.counts.begin(), out.histogram.counts.end(), 0.0);
  if (numSamples > 0) {
    out.addToHistogram(out.samples.data(), numSamples * k);
    double weight = static_cast<double>(rows) / numSamples;
    for (double &c : out.histogram.counts)
      c *= weight;
  }
  return out;
}

LayerStats &CalibrationStats::layer(StringRef name, int64_t k,
                                    const CalibrationOptions &options) {
  auto it = stats.find(name.str());
  if (it == stats.end())
    it = stats.emplace(name.str(), LayerStats(k, options)).first;
  return it->second;
}

const LayerStats *CalibrationStats::find(StringRef name) const {
  auto it = stats.find(name.str());
  return it == stats.end() ? nullptr : &it->second;
}

static constexpr StringRef kFormatKey = "__qopt_calibration_format__";

llvm::Error CalibrationStats::save(StringRef path) const {
  using npz::Array;
  std::vector<npz::NamedArray> arrays;
  arrays.push_back({kFormatKey.str(), Array::fromInt64({}, {1})});
  for (const auto &[name, s] : stats) {
    std::string p = name + "::";
    arrays.push_back({p + "rows", Array::fromInt64({}, {s.rows})});
    arrays.push_back({p + "min", Array::fromFloat({s.k}, s.min)});
    arrays.push_back({p + "max", Array::fromFloat({s.k}, s.max)});
    arrays.push_back({p + "absmax", Array::fromFloat({s.k}, s.absMax)});
    arrays.push_back(
        {p + "hist",
         Array::fromDouble({static_cast<int64_t>(s.histogram.counts.size())},
                           s.histogram.counts)});
    arrays.push_back(
        {p + "hist_limit", Array::fromDouble({}, {s.histogram.limit})});
    if (!s.xtx.empty())
      arrays.push_back({p + "xtx", Array::fromDouble({s.k, s.k}, s.xtx)});
    arrays.push_back(
        {p + "samples", Array::fromFloat({s.numSamples, s.k}, s.samples)});
  }
  return npz::writeNpz(path, arrays);
}

llvm::Expected<CalibrationStats> CalibrationStats::load(StringRef path) {
  auto arrays = npz::readNpz(path);
  if (!arrays)
    return arrays.takeError();
  auto bad = [&](const llvm::Twine &why) {
    return error("'" + path + "' is not a qopt calibration file: " + why);
  };
  if (arrays->empty() || arrays->front().name != kFormatKey)
    return bad("no format marker (write it with qcc --save-calibration)");
  // Group the arrays by layer.
  std::map<std::string, std::map<std::string, const npz::Array *>> byLayer;
  for (const npz::NamedArray &a : llvm::drop_begin(*arrays)) {
    size_t sep = a.name.rfind("::");
    if (sep == std::string::npos)
      return bad("unexpected array '" + a.name + "'");
    byLayer[a.name.substr(0, sep)][a.name.substr(sep + 2)] = &a.array;
  }
  CalibrationStats out;
  for (auto &entry : byLayer) {
    const std::string &name = entry.first;
    auto &fields = entry.second;
    auto get = [&](StringRef key) -> const npz::Array * {
      auto it = fields.find(key.str());
      return it == fields.end() ? nullptr : it->second;
    };
    const npz::Array *absmax = get("absmax"), *rows = get("rows"),
                     *mn = get("min"), *mx = get("max"), *hist = get("hist"),
                     *limit = get("hist_limit"), *samples = get("samples");
    if (!absmax || !rows || !mn || !mx || !hist || !limit || !samples ||
        absmax->shape.size() != 1)
      return bad("layer '" + name + "' lacks statistics");
    LayerStats s;
    s.k = absmax->shape[0];
    s.rows = static_cast<int64_t>(rows->toDouble().at(0));
    s.min = mn->toFloat();
    s.max = mx->toFloat();
    s.absMax = absmax->toFloat();
    s.histogram.counts = hist->toDouble();
    s.histogram.limit = limit->toDouble().at(0);
    if (const npz::Array *xtx = get("xtx")) {
      if (xtx->numElements() != s.k * s.k)
        return bad("layer '" + name + "': xtx is not [K, K]");
      s.xtx = xtx->toDouble();
    }
    if (samples->shape.size() != 2 || samples->shape[1] != s.k)
      return bad("layer '" + name + "': samples are not [S, K]");
    s.numSamples = samples->shape[0];
    s.samples = samples->toFloat();
    if (static_cast<int64_t>(s.min.size()) != s.k ||
        static_cast<int64_t>(s.max.size()) != s.k)
      return bad("layer '" + name + "': min/max are not [K]");
    out.stats.emplace(name, std::move(s));
  }
  return out;
}
