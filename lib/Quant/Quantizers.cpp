//===- Quantizers.cpp - weight and activation quantization maths ----------===//

#include "qopt/Quant/Quantizers.h"

#include "qopt/Reference/QuantMath.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace qopt::quant;
using llvm::ArrayRef;

int32_t QuantSpec::qmin() const { return symmetric ? -(1 << (bits - 1)) : 0; }
int32_t QuantSpec::qmax() const {
  return symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
}

QuantParams qopt::quant::paramsForRange(double lo, double hi,
                                        const QuantSpec &spec) {
  QuantParams p;
  if (spec.symmetric) {
    double amax = std::max(std::fabs(lo), std::fabs(hi));
    // 1-bit signed holds {-1, 0}: map the magnitude onto -1.
    double steps = std::max(spec.qmax(), 1);
    double scale = amax / steps;
    p.scale =
        scale > 0 && std::isfinite(scale) ? static_cast<float>(scale) : 1.0f;
    p.zeroPoint = 0;
    return p;
  }
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  double scale = (hi - lo) / (spec.qmax() - spec.qmin());
  if (!(scale > 0) || !std::isfinite(scale)) {
    p.scale = 1.0f;
    p.zeroPoint = 0;
    return p;
  }
  p.scale = static_cast<float>(scale);
  double zp = std::nearbyint(spec.qmin() - lo / p.scale);
  p.zeroPoint =
      static_cast<int32_t>(std::clamp<double>(zp, spec.qmin(), spec.qmax()));
  return p;
}

float qopt::quant::fakeQuantize(float x, const QuantParams &p,
                                const QuantSpec &spec) {
  qopt::ref::IntRange range{spec.qmin(), spec.qmax()};
  int32_t q = qopt::ref::quantize(x, p.scale, p.zeroPoint, range);
  return qopt::ref::dequantize(q, p.scale, p.zeroPoint);
}

double qopt::quant::quantizationError(ArrayRef<float> values,
                                      const QuantParams &p,
                                      const QuantSpec &spec) {
  double err = 0;
  for (float x : values) {
    double d = static_cast<double>(x) - fakeQuantize(x, p, spec);
    err += d * d;
  }
  return err;
}

QuantParams qopt::quant::chooseParams(ArrayRef<float> values,
                                      const QuantSpec &spec, bool clipSearch,
                                      double minClip) {
  double lo = 0, hi = 0;
  for (float x : values) {
    lo = std::min<double>(lo, x);
    hi = std::max<double>(hi, x);
  }
  QuantParams best = paramsForRange(lo, hi, spec);
  if (!clipSearch)
    return best;
  double bestErr = quantizationError(values, best, spec);
  for (int step = 1; 1.0 - 0.01 * step >= minClip - 1e-9; ++step) {
    double c = 1.0 - 0.01 * step;
    QuantParams p = paramsForRange(lo * c, hi * c, spec);
    double err = quantizationError(values, p, spec);
    if (err < bestErr) {
      bestErr = err;
      best = p;
    }
  }
  return best;
}

std::vector<float> QuantizedWeights::dequantized() const {
  std::vector<float> out(values.size());
  int64_t gs = k / groups;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int64_t g = r * groups + c / gs;
      out[r * k + c] =
          qopt::ref::dequantize(values[r * k + c], scales[g], zeroPoints[g]);
    }
  return out;
}

static QuantizedWeights emptyResult(int64_t n, int64_t k,
                                    const WeightQuantConfig &config) {
  QuantizedWeights q;
  q.n = n;
  q.k = k;
  q.groups = config.groupSize ? k / config.groupSize : 1;
  q.values.assign(n * k, 0);
  q.scales.assign(n * q.groups, 1.0f);
  q.zeroPoints.assign(n * q.groups, 0);
  return q;
}

QuantizedWeights qopt::quant::quantizeRtn(ArrayRef<float> weights, int64_t n,
                                          int64_t k,
                                          const WeightQuantConfig &config) {
  QuantizedWeights q = emptyResult(n, k, config);
  int64_t gs = k / q.groups;
  qopt::ref::IntRange range{config.spec.qmin(), config.spec.qmax()};
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < q.groups; ++g) {
      ArrayRef<float> group = weights.slice(r * k + g * gs, gs);
      QuantParams p = chooseParams(group, config.spec, config.clipSearch);
      q.scales[r * q.groups + g] = p.scale;
      q.zeroPoints[r * q.groups + g] = p.zeroPoint;
      for (int64_t c = 0; c < gs; ++c)
        q.values[r * k + g * gs + c] =
            qopt::ref::quantize(group[c], p.scale, p.zeroPoint, range);
    }
  return q;
}

//===----------------------------------------------------------------------===//
// GPTQ
//===----------------------------------------------------------------------===//

/// In-place lower Cholesky factor of the SPD matrix `a` [k, k] (the upper
/// triangle is zeroed). Fails on a non-positive pivot.
static bool choleskyLower(std::vector<double> &a, int64_t k) {
  for (int64_t j = 0; j < k; ++j) {
    double d = a[j * k + j];
    for (int64_t p = 0; p < j; ++p)
      d -= a[j * k + p] * a[j * k + p];
    if (!(d > 0) || !std::isfinite(d))
      return false;
    d = std::sqrt(d);
    a[j * k + j] = d;
    for (int64_t i = j + 1; i < k; ++i) {
      double s = a[i * k + j];
      const double *ri = &a[i * k], *rj = &a[j * k];
      for (int64_t p = 0; p < j; ++p)
        s -= ri[p] * rj[p];
      a[i * k + j] = s / d;
    }
    for (int64_t i = 0; i < j; ++i)
      a[i * k + j] = 0;
  }
  return true;
}

/// The upper-triangular U with H^-1 = U^T U, from H [k, k]: the factor GPTQ
/// reads its update rows from.
static bool inverseCholeskyUpper(std::vector<double> h, int64_t k,
                                 std::vector<double> &u) {
  if (!choleskyLower(h, k))
    return false;
  // L^-1 (lower triangular), by forward substitution per column.
  std::vector<double> linv(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    linv[j * k + j] = 1.0 / h[j * k + j];
    for (int64_t i = j + 1; i < k; ++i) {
      double s = 0;
      for (int64_t p = j; p < i; ++p)
        s += h[i * k + p] * linv[p * k + j];
      linv[i * k + j] = -s / h[i * k + i];
    }
  }
  // H^-1 = L^-T L^-1.
  std::vector<double> hinv(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0;
      for (int64_t p = i; p < k; ++p)
        s += linv[p * k + i] * linv[p * k + j];
      hinv[i * k + j] = hinv[j * k + i] = s;
    }
  if (!choleskyLower(hinv, k))
    return false;
  u.assign(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      u[i * k + j] = hinv[j * k + i];
  return true;
}

llvm::Expected<QuantizedWeights> qopt::quant::quantizeGptq(
    ArrayRef<float> weights, int64_t n, int64_t k, ArrayRef<double> hessian,
    const WeightQuantConfig &config, const GptqOptions &options) {
  if (static_cast<int64_t>(hessian.size()) != k * k)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "GPTQ: the Hessian is not [K, K]");
  QuantizedWeights q = emptyResult(n, k, config);
  int64_t gs = k / q.groups;
  const QuantSpec &spec = config.spec;
  qopt::ref::IntRange range{spec.qmin(), spec.qmax()};

  // Column order: decreasing H diagonal with act-order.
  std::vector<int64_t> perm(k);
  std::iota(perm.begin(), perm.end(), 0);
  if (options.actOrder)
    std::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      double da = hessian[a * k + a], db = hessian[b * k + b];
      return da != db ? da > db : a < b;
    });

  // Permuted, dampened H; inputs that never fire (zero diagonal) get a unit
  // diagonal and zero weights: nothing observes them.
  std::vector<double> h(k * k);
  std::vector<double> w(n * k);
  double meanDiag = 0;
  for (int64_t i = 0; i < k; ++i)
    meanDiag += hessian[i * k + i];
  meanDiag /= std::max<int64_t>(k, 1);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      h[i * k + j] = hessian[perm[i] * k + perm[j]];
  std::vector<bool> dead(k, false);
  for (int64_t i = 0; i < k; ++i)
    if (h[i * k + i] == 0) {
      dead[i] = true;
      h[i * k + i] = 1;
    }
  double damp = options.damp * (meanDiag > 0 ? meanDiag : 1.0);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] += damp;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i)
      w[r * k + i] = dead[i] ? 0.0 : weights[r * k + perm[i]];

  std::vector<double> u;
  if (!inverseCholeskyUpper(h, k, u))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "GPTQ: the Hessian is not positive definite even after dampening "
        "(increase the dampening or the calibration data)");

  // Group parameters: fixed from the original weights when the columns are
  // permuted (static groups) or for one group per channel; else computed when
  // the first column of a group is reached, from the updated weights.
  auto setParams = [&](int64_t r, int64_t g, ArrayRef<float> values) {
    QuantParams p = chooseParams(values, spec, config.clipSearch);
    q.scales[r * q.groups + g] = p.scale;
    q.zeroPoints[r * q.groups + g] = p.zeroPoint;
  };
  bool staticGroups = options.actOrder || q.groups == 1;
  if (staticGroups)
    for (int64_t r = 0; r < n; ++r)
      for (int64_t g = 0; g < q.groups; ++g)
        setParams(r, g, weights.slice(r * k + g * gs, gs));

  int64_t block = std::max<int64_t>(options.blockSize, 1);
  std::vector<double> err(n * block);
  std::vector<float> groupValues(gs);
  for (int64_t i1 = 0; i1 < k; i1 += block) {
    int64_t i2 = std::min(i1 + block, k), count = i2 - i1;
    for (int64_t i = i1; i < i2; ++i) {
      int64_t col = perm[i];
      if (!staticGroups && col % gs == 0)
        for (int64_t r = 0; r < n; ++r) {
          for (int64_t c = 0; c < gs; ++c)
            groupValues[c] = static_cast<float>(w[r * k + col + c]);
          setParams(r, col / gs, groupValues);
        }
      double d = u[i * k + i];
      for (int64_t r = 0; r < n; ++r) {
        int64_t g = r * q.groups + col / gs;
        float x = static_cast<float>(w[r * k + i]);
        int32_t v = qopt::ref::quantize(x, q.scales[g], q.zeroPoints[g], range);
        q.values[r * k + col] = v;
        double e = (w[r * k + i] -
                    qopt::ref::dequantize(v, q.scales[g], q.zeroPoints[g])) /
                   d;
        err[r * block + (i - i1)] = e;
        double *row = &w[r * k];
        const double *urow = &u[i * k];
        for (int64_t j = i + 1; j < i2; ++j)
          row[j] -= e * urow[j];
      }
    }
    // The block's errors reach the remaining columns at once.
    for (int64_t r = 0; r < n; ++r) {
      double *row = &w[r * k];
      for (int64_t i = 0; i < count; ++i) {
        double e = err[r * block + i];
        if (e == 0)
          continue;
        const double *urow = &u[(i1 + i) * k];
        for (int64_t j = i2; j < k; ++j)
          row[j] -= e * urow[j];
      }
    }
  }
  return q;
}

double qopt::quant::hessianWeightedError(ArrayRef<float> weights,
                                         ArrayRef<float> quantized, int64_t n,
                                         int64_t k, ArrayRef<double> hessian) {
  double total = 0;
  std::vector<double> d(k);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c)
      d[c] = static_cast<double>(weights[r * k + c]) - quantized[r * k + c];
    for (int64_t i = 0; i < k; ++i) {
      if (d[i] == 0)
        continue;
      double s = 0;
      const double *hrow = &hessian[i * k];
      for (int64_t j = 0; j < k; ++j)
        s += hrow[j] * d[j];
      total += d[i] * s;
    }
  }
  return total;
}

//===----------------------------------------------------------------------===//
// SmoothQuant and activation ranges
//===----------------------------------------------------------------------===//

std::vector<float> qopt::quant::smoothingFactors(ArrayRef<float> actAbsMax,
                                                 ArrayRef<float> weightAbsMax,
                                                 double alpha) {
  std::vector<float> s(actAbsMax.size(), 1.0f);
  for (size_t j = 0; j < s.size(); ++j) {
    double a = actAbsMax[j], w = weightAbsMax[j];
    if (!(a > 0) || !(w > 0) || !std::isfinite(a) || !std::isfinite(w))
      continue;
    double v = std::pow(a, alpha) / std::pow(w, 1.0 - alpha);
    s[j] = static_cast<float>(std::clamp(v, 1e-5, 1e5));
  }
  return s;
}

double Histogram::total() const {
  return std::accumulate(counts.begin(), counts.end(), 0.0);
}

/// Expected squared error of quantizing the histogram's mass with `p`:
/// scale^2 / 12 per value inside the representable range (uniform rounding
/// error), the squared clipping distance outside it.
static double expectedError(const Histogram &h, const QuantParams &p,
                            const QuantSpec &spec) {
  double lo = (spec.qmin() - p.zeroPoint) * static_cast<double>(p.scale);
  double hi = (spec.qmax() - p.zeroPoint) * static_cast<double>(p.scale);
  double width = 2 * h.limit / h.counts.size();
  double inside = static_cast<double>(p.scale) * p.scale / 12.0;
  double err = 0;
  for (size_t b = 0; b < h.counts.size(); ++b) {
    if (h.counts[b] == 0)
      continue;
    double x = -h.limit + (b + 0.5) * width;
    double e = x < lo   ? (lo - x) * (lo - x)
               : x > hi ? (x - hi) * (x - hi)
                        : inside;
    err += h.counts[b] * e;
  }
  return err;
}

/// The value below which `fraction` of the histogram's mass lies.
static double quantile(const Histogram &h, double fraction) {
  double total = h.total(), target = fraction * total, seen = 0;
  double width = 2 * h.limit / h.counts.size();
  for (size_t b = 0; b < h.counts.size(); ++b) {
    if (seen + h.counts[b] >= target && h.counts[b] > 0) {
      double within = (target - seen) / h.counts[b];
      return -h.limit + (b + within) * width;
    }
    seen += h.counts[b];
  }
  return h.limit;
}

QuantParams qopt::quant::chooseActivationParams(const Histogram &histogram,
                                                double lo, double hi,
                                                const QuantSpec &spec,
                                                RangeMethod method,
                                                double percentile) {
  if (method == RangeMethod::AbsMax || histogram.counts.empty() ||
      histogram.total() == 0)
    return paramsForRange(lo, hi, spec);
  if (method == RangeMethod::Percentile) {
    double tail = (100.0 - percentile) / 100.0;
    if (spec.symmetric) {
      // The |x| quantile: fold the histogram around 0.
      Histogram folded;
      size_t half = histogram.counts.size() / 2;
      folded.limit = histogram.limit;
      folded.counts.assign(2 * half, 0.0);
      for (size_t b = 0; b < half; ++b)
        folded.counts[half + b] =
            histogram.counts[half + b] + histogram.counts[half - 1 - b];
      double amax = std::min(quantile(folded, 1.0 - tail),
                             std::max(std::fabs(lo), std::fabs(hi)));
      return paramsForRange(-amax, amax, spec);
    }
    double l = std::max(lo, quantile(histogram, tail / 2));
    double u = std::min(hi, quantile(histogram, 1.0 - tail / 2));
    return paramsForRange(l, u, spec);
  }
  // Mse: clip ratios of the observed range.
  QuantParams best = paramsForRange(lo, hi, spec);
  double bestErr = expectedError(histogram, best, spec);
  auto consider = [&](double l, double u) {
    QuantParams p = paramsForRange(l, u, spec);
    double err = expectedError(histogram, p, spec);
    if (err < bestErr) {
      bestErr = err;
      best = p;
    }
  };
  if (spec.symmetric) {
    for (int step = 1; step <= 90; ++step)
      consider(lo * (1.0 - 0.01 * step), hi * (1.0 - 0.01 * step));
  } else {
    for (int a = 0; a <= 18; ++a)
      for (int b = 0; b <= 18; ++b)
        consider(lo * (1.0 - 0.05 * a), hi * (1.0 - 0.05 * b));
  }
  return best;
}
