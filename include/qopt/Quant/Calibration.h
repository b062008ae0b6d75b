//===- Calibration.h - activation statistics of linear layers --*- C++ -*-===//
//
// What calibration records about the input X [rows, K] of each linear layer,
// accumulated over calibration batches:
//  * per input channel: min, max, max |x|;
//  * a histogram of all values (for percentile and MSE clipping), whose
//    range doubles as larger values arrive;
//  * X^T X summed over rows (the Hessian of GPTQ and of sensitivity);
//  * a uniform sample of rows (reservoir sampling, fixed seed), on which
//    SmoothQuant searches its alpha.
// The statistics are saved as .npz (arrays "<layer>::<stat>"), so passes can
// be rerun without the model, and users can read them with np.load.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_QUANT_CALIBRATION_H
#define QOPT_QUANT_CALIBRATION_H

#include "qopt/Quant/Quantizers.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace qopt::quant {

struct CalibrationOptions {
  /// Accumulate X^T X (K^2 doubles per layer).
  bool hessian = true;
  /// Rows kept per layer for searches on real data.
  int64_t maxSamples = 512;
  /// Histogram bins over [-limit, limit].
  int64_t histogramBins = 4096;
};

class LayerStats {
public:
  LayerStats() = default;
  LayerStats(int64_t k, const CalibrationOptions &options);

  /// Adds `rows` rows of K values (row-major).
  void accumulate(const float *x, int64_t rows);

  int64_t k = 0;
  int64_t rows = 0;
  std::vector<float> min, max, absMax; ///< [K]
  Histogram histogram;
  std::vector<double> xtx;    ///< [K, K] sum of x^T x; empty if not kept
  std::vector<float> samples; ///< [numSamples, K]
  int64_t numSamples = 0;

  /// H = X^T X / rows (what GPTQ and the sensitivity proxy use).
  std::vector<double> hessian() const;
  /// The smallest and largest value over all channels.
  double globalMin() const;
  double globalMax() const;
  /// The statistics of X diag(1 / s): what the layer sees once its input
  /// channels are divided by smoothing factors s. Exact for every statistic
  /// but the histogram, which is rebuilt from the transformed samples.
  LayerStats scaledBy(llvm::ArrayRef<float> inverseFactors) const;

private:
  void addToHistogram(const float *x, int64_t count);
  void accumulateXtx(const float *x, int64_t numRows);
  CalibrationOptions options;
  std::mt19937_64 rng{0x5eed};
};

class CalibrationStats {
public:
  /// The statistics of `layer`, created with `k` channels on first use.
  LayerStats &layer(llvm::StringRef name, int64_t k,
                    const CalibrationOptions &options);
  const LayerStats *find(llvm::StringRef name) const;
  const std::map<std::string, LayerStats> &layers() const { return stats; }
  bool empty() const { return stats.empty(); }

  llvm::Error save(llvm::StringRef path) const;
  static llvm::Expected<CalibrationStats> load(llvm::StringRef path);

private:
  std::map<std::string, LayerStats> stats;
};

} // namespace qopt::quant

#endif // QOPT_QUANT_CALIBRATION_H
