//===- Quantizers.cpp - weight and activation quantization maths ----------===//

#include "qopt/Quant/Quantizers.h"

#include "qopt/Reference/QuantMath.h"

#include "LoopSupport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

using namespace qopt::quant;
using llvm::ArrayRef;

int64_t qopt::quant::parallelMinWork = 1 << 16;

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

namespace {
/// quantize then dequantize with one parameter pair, as fakeQuantize does
/// (f32 division, round half to even, clamp, (q - zp) * scale in f32) but
/// branch-free, so that the clipping search's candidates vectorize: the
/// rounding takes the truncation's fraction instead of floor and fmod.
struct FakeQuantizer {
  float scale;
  int32_t zeroPoint, qmin, qmax;

  /// The integer: ref::quantize's for a zero point within [qmin, qmax].
  int32_t quantize(float x) const {
    float s = x / scale;
    // NaN's result is not read (its error is NaN whatever it is); beyond
    // 2^21 both sides saturate, and truncation stays defined.
    s = s == s ? s : 0.0f;
    s = s < -0x1p21f ? -0x1p21f : (s > 0x1p21f ? 0x1p21f : s);
    int32_t t = static_cast<int32_t>(s);
    float f = s - static_cast<float>(t); // the fraction, exact
    int32_t odd = t & 1;
    int32_t q = t + (f > 0.5f || (f == 0.5f && odd)) -
                (f < -0.5f || (f == -0.5f && odd)) + zeroPoint;
    return q < qmin ? qmin : (q > qmax ? qmax : q);
  }

  float operator()(float x) const {
    return static_cast<float>(quantize(x) - zeroPoint) * scale;
  }
};
} // namespace

static FakeQuantizer fakeQuantizer(const QuantParams &p,
                                   const QuantSpec &spec) {
  return {p.scale, p.zeroPoint, spec.qmin(), spec.qmax()};
}

double qopt::quant::quantizationError(ArrayRef<float> values,
                                      const QuantParams &p,
                                      const QuantSpec &spec) {
  FakeQuantizer fq = fakeQuantizer(p, spec);
  double err = 0;
  for (float x : values) {
    double d = static_cast<double>(x) - fq(x);
    err += d * d;
  }
  return err;
}

// Eight candidates per pass: one AVX2 vector of floats.
constexpr size_t kCandidateBatch = 8;

/// Adds the squared errors of `values` [count] under each of the batch's
/// quantizers to `sums`, in the values' order, 64 values at a time; with
/// `mayStop`, stops (returning false) before a chunk once each of the first
/// `lanes` sums exceeds `least`.
QOPT_AVX2_CLONES
static bool scoreCandidateBatch(const float *values, size_t count,
                                const FakeQuantizer *quantizers, size_t lanes,
                                bool mayStop, double least, double *sums) {
  // Locals, so that the sums and parameters stay in registers.
  FakeQuantizer fq[kCandidateBatch];
  double err[kCandidateBatch];
  for (size_t j = 0; j < kCandidateBatch; ++j)
    fq[j] = quantizers[j], err[j] = sums[j];
  constexpr size_t kChunk = 64;
  bool complete = true;
  for (size_t v0 = 0; v0 < count && complete; v0 += kChunk) {
    if (mayStop && v0 > 0) {
      bool beaten = true;
      for (size_t j = 0; j < lanes; ++j)
        beaten &= err[j] > least;
      if (beaten) {
        complete = false;
        break;
      }
    }
    size_t end = std::min(count, v0 + kChunk);
    for (size_t v = v0; v < end; ++v) {
      float x = values[v];
      for (size_t j = 0; j < kCandidateBatch; ++j) {
        double d = static_cast<double>(x) - fq[j](x);
        err[j] += d * d;
      }
    }
  }
  for (size_t j = 0; j < kCandidateBatch; ++j)
    sums[j] = err[j];
  return complete;
}

/// The first of least quantizationError, each error the same sum as there
/// (the sequential search's choice). Candidates are scored eight per pass
/// over the values (independent divisions and sums overlap); the first
/// eight are spread over the list, so that a low error is known early. A
/// later batch stops once each of its partial sums exceeds the least
/// complete error: sums of non-negative terms never decrease, so none of
/// them can be, or tie, the least.
size_t qopt::quant::leastErrorCandidate(ArrayRef<float> values,
                                        ArrayRef<QuantParams> params,
                                        const QuantSpec &spec) {
  const size_t count = params.size();
  assert(count > 0 && "no candidates");
  const size_t first = std::min(kCandidateBatch, count);
  // Evaluation order: a spread first batch, then the rest in order.
  llvm::SmallVector<size_t, 64> order;
  llvm::SmallVector<bool, 64> taken(count, false);
  for (size_t j = 0; j < first; ++j) {
    size_t i = j * count / first;
    order.push_back(i);
    taken[i] = true;
  }
  for (size_t i = 0; i < count; ++i)
    if (!taken[i])
      order.push_back(i);
  // +inf: not scored to the end (it cannot be the least).
  llvm::SmallVector<double, 64> errors(count,
                                       std::numeric_limits<double>::infinity());
  double least = std::numeric_limits<double>::infinity();
  for (size_t b0 = 0; b0 < count; b0 += kCandidateBatch) {
    size_t lanes = std::min(kCandidateBatch, count - b0);
    FakeQuantizer fq[kCandidateBatch];
    for (size_t j = 0; j < kCandidateBatch; ++j)
      fq[j] = fakeQuantizer(params[order[b0 + std::min(j, lanes - 1)]], spec);
    double err[kCandidateBatch] = {};
    if (!scoreCandidateBatch(values.data(), values.size(), fq, lanes,
                             /*mayStop=*/b0 > 0, least, err))
      continue;
    for (size_t j = 0; j < lanes; ++j) {
      errors[order[b0 + j]] = err[j];
      least = std::min(least, err[j]);
    }
  }
  size_t best = 0;
  for (size_t i = 1; i < count; ++i)
    if (errors[i] < errors[best])
      best = i;
  return best;
}

QuantParams qopt::quant::chooseParams(ArrayRef<float> values,
                                      const QuantSpec &spec, bool clipSearch,
                                      double minClip) {
  double lo = 0, hi = 0;
  for (float x : values) {
    lo = std::min<double>(lo, x);
    hi = std::max<double>(hi, x);
  }
  if (!clipSearch)
    return paramsForRange(lo, hi, spec);
  // Candidate 0 is the full range; the first of equal errors wins.
  llvm::SmallVector<QuantParams, 64> candidates = {
      paramsForRange(lo, hi, spec)};
  for (int step = 1; 1.0 - 0.01 * step >= minClip - 1e-9; ++step) {
    double c = 1.0 - 0.01 * step;
    candidates.push_back(paramsForRange(lo * c, hi * c, spec));
  }
  return candidates[leastErrorCandidate(values, candidates, spec)];
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
  // Rows are independent: each thread writes its own, so the result does
  // not depend on the number of threads.
  llvm::parallelFor(0, n, [&](size_t r) {
    for (int64_t g = 0; g < q.groups; ++g) {
      ArrayRef<float> group = weights.slice(r * k + g * gs, gs);
      QuantParams p = chooseParams(group, config.spec, config.clipSearch);
      q.scales[r * q.groups + g] = p.scale;
      q.zeroPoints[r * q.groups + g] = p.zeroPoint;
      FakeQuantizer fq = fakeQuantizer(p, config.spec);
      for (int64_t c = 0; c < gs; ++c)
        q.values[r * k + g * gs + c] = fq.quantize(group[c]);
    }
  });
  return q;
}

//===----------------------------------------------------------------------===//
// GPTQ
//===----------------------------------------------------------------------===//

// The Cholesky factor by panels of kPanel columns (left-looking): each
// entry L[i][j] = (a[i][j] - sum over p < j of L[i][p] L[j][p]) / L[j][j],
// the sum in the order of p as the column-by-column algorithm adds it; a
// panel's columns are vector lanes (separate sums), the part of the sum
// over earlier panels read from the panel's rows of L transposed.
constexpr int64_t kPanel = 8;

/// Rows [begin, end) below the panel at j0 (of w columns): `panelT` [j0,
/// kPanel] holds L[j0 + t][p] at [p][t], `diag` the panel's L[j][j].
QOPT_AVX2_CLONES
static void choleskyPanelRows(double *a, int64_t k, const double *panelT,
                              int64_t j0, int64_t w, const double *diag,
                              int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    double *li = &a[i * k];
    double acc[kPanel];
    for (int64_t t = 0; t < kPanel; ++t)
      acc[t] = li[j0 + std::min(t, w - 1)];
    for (int64_t p = 0; p < j0; ++p) {
      const double lip = li[p], *lj = &panelT[p * kPanel];
      for (int64_t t = 0; t < kPanel; ++t)
        acc[t] -= lip * lj[t];
    }
    // Within the panel, in order: L[i][p] of the columns just done.
    for (int64_t t = 0; t < w; ++t) {
      const double *lj = &a[(j0 + t) * k];
      double s = acc[t];
      for (int64_t p = j0; p < j0 + t; ++p)
        s -= li[p] * lj[p];
      li[j0 + t] = s / diag[t];
    }
  }
}

/// In-place lower Cholesky factor of the SPD matrix `a` [k, k] (the upper
/// triangle is zeroed). Fails on a non-positive pivot. Each panel's rows
/// below it run on the threads.
static bool choleskyLower(std::vector<double> &a, int64_t k) {
  std::vector<double> panelT(k * kPanel);
  for (int64_t j0 = 0; j0 < k; j0 += kPanel) {
    int64_t w = std::min(kPanel, k - j0);
    // The panel's own rows, column by column as the plain algorithm.
    double diag[kPanel];
    for (int64_t j = j0; j < j0 + w; ++j) {
      double d = a[j * k + j];
      for (int64_t p = 0; p < j; ++p)
        d -= a[j * k + p] * a[j * k + p];
      if (!(d > 0) || !std::isfinite(d))
        return false;
      d = std::sqrt(d);
      a[j * k + j] = diag[j - j0] = d;
      for (int64_t i = j + 1; i < j0 + w; ++i) {
        double s = a[i * k + j];
        for (int64_t p = 0; p < j; ++p)
          s -= a[i * k + p] * a[j * k + p];
        a[i * k + j] = s / d;
      }
    }
    for (int64_t p = 0; p < j0; ++p)
      for (int64_t t = 0; t < kPanel; ++t)
        panelT[p * kPanel + t] = a[(j0 + std::min(t, w - 1)) * k + p];
    int64_t below = j0 + w;
    parallelChunks(k - below, j0 * kPanel, [&](int64_t begin, int64_t end) {
      choleskyPanelRows(a.data(), k, panelT.data(), j0, w, diag, below + begin,
                        below + end);
    });
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j)
      a[i * k + j] = 0;
  return true;
}

/// Columns [j0, j0 + w) of L^-1 from L (`l`, [k, k]) by forward
/// substitution, into `panel` [(k - j0), kPanel] (zeroed; [i - j0][t] holds
/// L^-1[i][j0 + t]): L^-1[i][j] = -(sum over p in [j, i) of L[i][p]
/// L^-1[p][j]) / L[i][i]. The lanes' sums all start at p = j0: the zeros
/// above column j's diagonal add exact +0s to a +0 start (L is finite), so
/// each is the sum from p = j.
QOPT_AVX2_CLONES
static void inverseLowerPanel(const double *l, int64_t k, int64_t j0, int64_t w,
                              double *panel) {
  // The rows within the panel's own columns, one entry at a time.
  for (int64_t i = j0; i < j0 + w; ++i)
    for (int64_t t = 0; j0 + t <= i; ++t) {
      int64_t j = j0 + t;
      if (j == i) {
        panel[(i - j0) * kPanel + t] = 1.0 / l[i * k + i];
        continue;
      }
      double s = 0;
      for (int64_t p = j; p < i; ++p)
        s += l[i * k + p] * panel[(p - j0) * kPanel + t];
      panel[(i - j0) * kPanel + t] = -s / l[i * k + i];
    }
  for (int64_t i = j0 + w; i < k; ++i) {
    const double *li = &l[i * k];
    double acc[kPanel] = {};
    for (int64_t p = j0; p < i; ++p) {
      const double lip = li[p], *row = &panel[(p - j0) * kPanel];
      for (int64_t t = 0; t < kPanel; ++t)
        acc[t] += lip * row[t];
    }
    for (int64_t t = 0; t < w; ++t)
      panel[(i - j0) * kPanel + t] = -acc[t] / li[i];
  }
}

/// Rows [i0, i0 + 4) (i0 a multiple of 4) of H^-1 = L^-T L^-1 up to the
/// diagonal, and their mirrors: H^-1[i][j] = sum over p >= i of L^-1[p][i]
/// L^-1[p][j], from the panels of L^-1 (inverseCholeskyUpper). Lanes are
/// the columns j of a panel, the four rows share its reads; the sums all
/// start at p = i0, where L^-1[p][i] for p < i is an exact zero (a +0 start
/// stays +0), so each is the sum from p = i.
QOPT_AVX2_CLONES
static void inverseProductRows(const double *linvP, double *hinv, int64_t k,
                               int64_t i0) {
  const int64_t rows = std::min<int64_t>(4, k - i0);
  const double *pi = &linvP[(i0 / kPanel) * k * kPanel];
  const int64_t lane = i0 % kPanel;
  for (int64_t jb = 0; jb * kPanel <= i0 + rows - 1; ++jb) {
    const double *pj = &linvP[jb * k * kPanel];
    double acc[4][kPanel] = {};
    for (int64_t p = i0; p < k; ++p) {
      const double *a = &pi[p * kPanel + lane], *b = &pj[p * kPanel];
      for (int64_t r = 0; r < 4; ++r)
        for (int64_t t = 0; t < kPanel; ++t)
          acc[r][t] += a[std::min(r, rows - 1)] * b[t];
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < kPanel; ++t) {
        int64_t i = i0 + r, j = jb * kPanel + t;
        if (j <= i)
          hinv[i * k + j] = hinv[j * k + i] = acc[r][t];
      }
  }
}

bool qopt::quant::inverseCholeskyUpper(std::vector<double> h, int64_t k,
                                       std::vector<double> &u) {
  if (!choleskyLower(h, k))
    return false;
  // L^-1 (lower triangular) by forward substitution, a panel of columns per
  // task: panel J holds L^-1[p][8J + t] at [J][p][t] (zero for p < 8J).
  const int64_t panels = (k + kPanel - 1) / kPanel;
  std::vector<double> linvP(panels * k * kPanel, 0.0);
  llvm::parallelFor(0, panels, [&](size_t block) {
    int64_t j0 = kPanel * static_cast<int64_t>(block);
    inverseLowerPanel(h.data(), k, j0, std::min(kPanel, k - j0),
                      &linvP[(block * k + j0) * kPanel]);
  });
  // H^-1 = L^-T L^-1, four rows at a time.
  std::vector<double> hinv(k * k, 0.0);
  parallelChunks((k + 3) / 4, k * k, [&](int64_t begin, int64_t end) {
    for (int64_t q = begin; q < end; ++q)
      inverseProductRows(linvP.data(), hinv.data(), k, 4 * q);
  });
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
    llvm::parallelFor(0, n, [&](size_t r) {
      for (int64_t g = 0; g < q.groups; ++g)
        setParams(r, g, weights.slice(r * k + g * gs, gs));
    });

  // Rows are independent given U: per block, each thread takes whole rows,
  // whose operations run in the order of a sequential pass (the same sums).
  int64_t block = std::max<int64_t>(options.blockSize, 1);
  for (int64_t i1 = 0; i1 < k; i1 += block) {
    int64_t i2 = std::min(i1 + block, k);
    llvm::parallelFor(0, n, [&](size_t r) {
      double *row = &w[r * k];
      llvm::SmallVector<double, 128> err(i2 - i1);
      llvm::SmallVector<float, 0> groupValues;
      for (int64_t i = i1; i < i2; ++i) {
        int64_t col = perm[i];
        if (!staticGroups && col % gs == 0) {
          groupValues.resize(gs);
          for (int64_t c = 0; c < gs; ++c)
            groupValues[c] = static_cast<float>(row[col + c]);
          setParams(r, col / gs, groupValues);
        }
        int64_t g = r * q.groups + col / gs;
        float x = static_cast<float>(row[i]);
        int32_t v = qopt::ref::quantize(x, q.scales[g], q.zeroPoints[g], range);
        q.values[r * k + col] = v;
        double e =
            (row[i] - qopt::ref::dequantize(v, q.scales[g], q.zeroPoints[g])) /
            u[i * k + i];
        err[i - i1] = e;
        const double *urow = &u[i * k];
        for (int64_t j = i + 1; j < i2; ++j)
          row[j] -= e * urow[j];
      }
      // The block's errors reach the remaining columns at once.
      for (int64_t i = i1; i < i2; ++i) {
        double e = err[i - i1];
        if (e == 0)
          continue;
        const double *urow = &u[i * k];
        for (int64_t j = i2; j < k; ++j)
          row[j] -= e * urow[j];
      }
    });
  }
  return q;
}

/// out[r][t] += sum over j < len of h[r][j] * dT[j * rows + t], for the
/// `hrows` (1 to 4) rows h[r] = h + r * k and t < rows, each added in the
/// order of j (a plain loop's sum, continued): the sums side by side in
/// vector lanes rather than one sum split over lanes, so vectors change no
/// rounding. Four H rows per pass read dT a quarter as often.
QOPT_AVX2_CLONES
static void rowDots(const double *h, int64_t hrows, int64_t k, const double *dT,
                    int64_t len, int64_t rows, double *out) {
  constexpr int64_t kLanes = 8, kRows = 4;
  const double *hr[kRows];
  double *o[kRows];
  for (int64_t r = 0; r < kRows; ++r) {
    int64_t at = std::min(r, hrows - 1); // extra rows redo the last one
    hr[r] = h + at * k;
    o[r] = out + at * rows;
  }
  int64_t t0 = 0;
  for (; t0 + kLanes <= rows; t0 += kLanes) {
    double acc[kRows][kLanes];
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t t = 0; t < kLanes; ++t)
        acc[r][t] = o[r][t0 + t];
    for (int64_t j = 0; j < len; ++j) {
      const double *dj = &dT[j * rows + t0];
      for (int64_t r = 0; r < kRows; ++r) {
        const double x = hr[r][j];
        for (int64_t t = 0; t < kLanes; ++t)
          acc[r][t] += x * dj[t];
      }
    }
    for (int64_t r = 0; r < kRows; ++r)
      for (int64_t t = 0; t < kLanes; ++t)
        o[r][t0 + t] = acc[r][t];
  }
  for (int64_t t = t0; t < rows; ++t)
    for (int64_t r = 0; r < hrows; ++r) {
      double acc = o[r][t];
      for (int64_t j = 0; j < len; ++j)
        acc += hr[r][j] * dT[j * rows + t];
      o[r][t] = acc;
    }
}

double qopt::quant::hessianWeightedError(ArrayRef<float> weights,
                                         ArrayRef<float> quantized, int64_t n,
                                         int64_t k, ArrayRef<double> hessian) {
  // sum over rows r and columns i (d_i != 0) of d_i * (H_i . d), d = w_r -
  // q_r, added in that order. A batch of rows at a time, d transposed: the
  // products H_i . d of all the batch's rows for a chunk of i on each
  // thread, over a block of j at a time (a block of dT stays in cache for
  // every i), then the terms added in order.
  constexpr int64_t kBatch = 64, kBlockWords = 1 << 16;
  const int64_t jBlock = std::max<int64_t>(16, kBlockWords / kBatch);
  std::vector<double> dT(k * kBatch), dots(kBatch * k);
  double total = 0;
  for (int64_t r0 = 0; r0 < n; r0 += kBatch) {
    int64_t rows = std::min(kBatch, n - r0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < k; ++c)
        dT[c * rows + r] = static_cast<double>(weights[(r0 + r) * k + c]) -
                           quantized[(r0 + r) * k + c];
    std::fill(dots.begin(), dots.begin() + rows * k, 0.0);
    for (int64_t j0 = 0; j0 < k; j0 += jBlock) {
      int64_t len = std::min(jBlock, k - j0);
      parallelChunks(k, len * rows, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; i += 4)
          rowDots(&hessian[i * k + j0], std::min<int64_t>(4, end - i), k,
                  &dT[j0 * rows], len, rows, &dots[i * rows]);
      });
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < k; ++i) {
        double di = dT[i * rows + r];
        if (di != 0)
          total += di * dots[i * rows + r];
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
