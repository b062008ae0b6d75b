//===- Quantizers.h - weight and activation quantization maths --*- C++ -*-===//
//
// The numerical algorithms of the quantization pipeline, independent of the
// IR: round-to-nearest with an MSE-optimal clipping search, GPTQ, the
// SmoothQuant factors and static activation ranges. The passes in
// lib/Transforms/Quant call these; unit tests pin them down.
//
// Conventions follow qopt/Reference/QuantMath.h: weights are [N, K] row-major
// (one row per output channel), quantization rounds half to even in single
// precision, q = clamp(round(x / scale) + zp), x ~ (q - zp) * scale.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_QUANT_QUANTIZERS_H
#define QOPT_QUANT_QUANTIZERS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace qopt::quant {

/// How one tensor's values are quantized.
struct QuantSpec {
  unsigned bits = 8; ///< 1..8
  bool symmetric = true;

  /// The integer range: [-2^(b-1), 2^(b-1) - 1] signed (symmetric), or
  /// [0, 2^b - 1] unsigned (asymmetric).
  int32_t qmin() const;
  int32_t qmax() const;
};

/// The scale and zero point of one quantization group.
struct QuantParams {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
};

/// Parameters covering [lo, hi] (symmetric: [-max(|lo|, |hi|), ...]);
/// always a positive scale, the range widened to contain 0 (asymmetric).
QuantParams paramsForRange(double lo, double hi, const QuantSpec &spec);

/// The least work (multiply-adds) the quantizers hand a thread at once (GPTQ's
/// factorizations, the Hessian-weighted errors; RTN takes a row per task).
/// Every sum keeps its sequential order, so results do not depend on it or
/// on the number of threads; tests lower it to split small problems.
extern int64_t parallelMinWork;

/// quantize then dequantize one value with `p`.
float fakeQuantize(float x, const QuantParams &p, const QuantSpec &spec);

/// Sum of squared quantization errors of `values` under `p`.
double quantizationError(llvm::ArrayRef<float> values, const QuantParams &p,
                         const QuantSpec &spec);

/// The index of the first of `candidates` (not empty) with the least
/// quantizationError of `values`: the clipping search's choice.
size_t leastErrorCandidate(llvm::ArrayRef<float> values,
                           llvm::ArrayRef<QuantParams> candidates,
                           const QuantSpec &spec);

/// The parameters of one group: the min/max range shrunk by the clip ratio
/// in {1.00, 0.99, ..., minClip} that minimizes the squared error
/// (`clipSearch`), or the plain min/max range.
QuantParams chooseParams(llvm::ArrayRef<float> values, const QuantSpec &spec,
                         bool clipSearch, double minClip = 0.5);

/// Weight quantization settings.
struct WeightQuantConfig {
  QuantSpec spec;
  int64_t groupSize = 0; ///< 0: one group per output channel
  bool clipSearch = true;
};

/// Integer weights with their per-channel or per-group parameters.
struct QuantizedWeights {
  int64_t n = 0, k = 0, groups = 1;
  std::vector<int32_t> values;     ///< [N, K]
  std::vector<float> scales;       ///< [N, groups]
  std::vector<int32_t> zeroPoints; ///< [N, groups]; all 0 when symmetric
  /// The weights they stand for: (q - zp) * scale, [N, K].
  std::vector<float> dequantized() const;
};

/// Round to nearest, each group with chooseParams.
QuantizedWeights quantizeRtn(llvm::ArrayRef<float> weights, int64_t n,
                             int64_t k, const WeightQuantConfig &config);

struct GptqOptions {
  /// Dampening added to H's diagonal, as a fraction of its mean.
  double damp = 0.01;
  /// Columns updated together (lazy batch updates).
  int64_t blockSize = 128;
  /// Process columns in order of decreasing H diagonal (activation order).
  /// Group parameters are then fixed from the original weights first
  /// ("static groups"), so groups stay contiguous runs of K.
  bool actOrder = false;
};

/// The upper-triangular U with H^-1 = U^T U for the SPD matrix `h` [k, k]
/// (GPTQ's update rows), by Cholesky factors of H and of H^-1. False when a
/// pivot is not positive.
bool inverseCholeskyUpper(std::vector<double> h, int64_t k,
                          std::vector<double> &u);

/// GPTQ (Frantar et al. 2022): quantizes one column of W at a time and
/// spreads its error over the not yet quantized columns through the inverse
/// Hessian, minimizing tr((W - Q) H (W - Q)^T). `hessian` is [K, K],
/// proportional to X^T X over calibration rows. Fails when H cannot be
/// factored even after dampening.
llvm::Expected<QuantizedWeights> quantizeGptq(llvm::ArrayRef<float> weights,
                                              int64_t n, int64_t k,
                                              llvm::ArrayRef<double> hessian,
                                              const WeightQuantConfig &config,
                                              const GptqOptions &options);

/// tr(dW H dW^T) for dW = W - Wq, the expected output error of replacing W
/// by Wq on inputs with second moment H.
double hessianWeightedError(llvm::ArrayRef<float> weights,
                            llvm::ArrayRef<float> quantized, int64_t n,
                            int64_t k, llvm::ArrayRef<double> hessian);

/// SmoothQuant factors s_j = max|X_j|^alpha / max|W_j|^(1 - alpha), where
/// max|W_j| is over every output channel reading input channel j. Channels
/// with a zero statistic get s_j = 1; factors are clamped to [1e-5, 1e5].
std::vector<float> smoothingFactors(llvm::ArrayRef<float> actAbsMax,
                                    llvm::ArrayRef<float> weightAbsMax,
                                    double alpha);

/// How a static activation range is chosen from a histogram.
enum class RangeMethod { AbsMax, Percentile, Mse };

/// A histogram of activation values: `counts` bins of equal width over
/// [-limit, limit].
struct Histogram {
  double limit = 0;
  std::vector<double> counts;
  double total() const;
};

/// Static per-tensor activation parameters. AbsMax: the full observed range
/// [lo, hi]; Percentile: the central `percentile` % of the histogram's mass;
/// Mse: the clipped range minimizing the expected squared error over the
/// histogram.
QuantParams chooseActivationParams(const Histogram &histogram, double lo,
                                   double hi, const QuantSpec &spec,
                                   RangeMethod method,
                                   double percentile = 99.99);

} // namespace qopt::quant

#endif // QOPT_QUANT_QUANTIZERS_H
