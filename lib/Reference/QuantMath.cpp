//===- QuantMath.cpp - exact reference quantization maths -----------------===//

#include "qopt/Reference/QuantMath.h"

#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace qopt::ref {

[[noreturn]] static void fatal(const char *message) {
  std::fprintf(stderr, "qopt reference maths: %s\n", message);
  std::abort();
}

IntRange IntRange::of(unsigned bits, bool isSigned, bool narrow) {
  if (bits < 1 || bits > 32)
    fatal("bit width must be in [1, 32]");
  if (isSigned)
    return {-(int64_t(1) << (bits - 1)) + (narrow ? 1 : 0),
            (int64_t(1) << (bits - 1)) - 1};
  return {0, (int64_t(1) << bits) - 1 - (narrow ? 1 : 0)};
}

double roundToIntegral(double x, Rounding mode) {
  if (!std::isfinite(x))
    return x;
  switch (mode) {
  case Rounding::TowardZero:
    return std::trunc(x);
  case Rounding::AwayFromZero:
    return x < 0 ? std::floor(x) : std::ceil(x);
  case Rounding::Floor:
    return std::floor(x);
  case Rounding::Ceil:
    return std::ceil(x);
  case Rounding::NearestAway:
    return std::round(x);
  case Rounding::NearestTowardZero: {
    double away = std::round(x);
    // A tie rounds back toward zero.
    return std::fabs(away - x) == 0.5 ? std::trunc(x) : away;
  }
  case Rounding::NearestEven: {
    // Explicit, so that the result does not depend on the FP environment.
    double lower = std::floor(x);
    double fraction = x - lower; // exact for doubles
    if (fraction > 0.5)
      return lower + 1;
    if (fraction < 0.5)
      return lower;
    return std::fmod(lower, 2.0) == 0 ? lower : lower + 1;
  }
  }
  fatal("unknown rounding mode");
}

int32_t quantize(float x, float scale, int32_t zeroPoint, IntRange range,
                 Rounding mode) {
  if (std::isnan(x))
    return zeroPoint;
  float scaled = x / scale; // single precision, like the generated code
  double q = roundToIntegral(scaled, mode) + zeroPoint;
  if (q < range.min)
    return static_cast<int32_t>(range.min);
  if (q > range.max)
    return static_cast<int32_t>(range.max);
  return static_cast<int32_t>(q);
}

float dequantize(int32_t q, float scale, int32_t zeroPoint) {
  return static_cast<float>(q - zeroPoint) * scale;
}

static size_t product(const std::vector<int64_t> &shape, size_t begin,
                      size_t end) {
  size_t p = 1;
  for (size_t i = begin; i < end; ++i)
    p *= static_cast<size_t>(shape[i]);
  return p;
}

size_t numScales(const std::vector<int64_t> &shape, const Scheme &scheme) {
  switch (scheme.granularity) {
  case Granularity::PerTensor:
    return 1;
  case Granularity::PerChannel:
    return static_cast<size_t>(shape.at(scheme.axis));
  case Granularity::PerGroup:
    if (scheme.groupSize <= 0 || shape.at(scheme.axis) % scheme.groupSize)
      fatal("group size must divide the grouped dimension");
    return product(shape, 0, shape.size()) / scheme.groupSize;
  }
  fatal("unknown granularity");
}

size_t scaleIndex(const std::vector<int64_t> &shape, const Scheme &scheme,
                  size_t flatIndex) {
  if (scheme.granularity == Granularity::PerTensor)
    return 0;
  size_t axis = static_cast<size_t>(scheme.axis);
  size_t inner = product(shape, axis + 1, shape.size());
  size_t dim = static_cast<size_t>(shape.at(axis));
  size_t outer = flatIndex / (inner * dim);
  size_t along = (flatIndex / inner) % dim;
  size_t innerIdx = flatIndex % inner;
  if (scheme.granularity == Granularity::PerChannel)
    return along;
  // Per-group: the scale tensor has the data's shape with dim(axis) divided
  // by the group size.
  size_t groups = dim / static_cast<size_t>(scheme.groupSize);
  size_t group = along / static_cast<size_t>(scheme.groupSize);
  return (outer * groups + group) * inner + innerIdx;
}

std::vector<int32_t> quantizeTensor(const std::vector<float> &x,
                                    const std::vector<int64_t> &shape,
                                    const std::vector<float> &scales,
                                    const std::vector<int32_t> &zeroPoints,
                                    const Scheme &scheme, IntRange range) {
  size_t count = product(shape, 0, shape.size());
  size_t nScales = numScales(shape, scheme);
  if (x.size() != count || scales.size() != nScales ||
      (!zeroPoints.empty() && zeroPoints.size() != nScales))
    fatal("quantizeTensor: operand sizes do not match the shape and scheme");
  std::vector<int32_t> q(count);
  for (size_t i = 0; i < count; ++i) {
    size_t s = scaleIndex(shape, scheme, i);
    int32_t zp = zeroPoints.empty() ? 0 : zeroPoints[s];
    q[i] = quantize(x[i], scales[s], zp, range, scheme.rounding);
  }
  return q;
}

std::vector<float> dequantizeTensor(const std::vector<int32_t> &q,
                                    const std::vector<int64_t> &shape,
                                    const std::vector<float> &scales,
                                    const std::vector<int32_t> &zeroPoints,
                                    const Scheme &scheme) {
  size_t count = product(shape, 0, shape.size());
  size_t nScales = numScales(shape, scheme);
  if (q.size() != count || scales.size() != nScales ||
      (!zeroPoints.empty() && zeroPoints.size() != nScales))
    fatal("dequantizeTensor: operand sizes do not match the shape and scheme");
  std::vector<float> x(count);
  for (size_t i = 0; i < count; ++i) {
    size_t s = scaleIndex(shape, scheme, i);
    x[i] = dequantize(q[i], scales[s], zeroPoints.empty() ? 0 : zeroPoints[s]);
  }
  return x;
}

std::vector<uint8_t> packBits(const std::vector<int32_t> &values,
                              unsigned bits) {
  if (bits < 1 || bits > 8)
    fatal("packBits: bit width must be in [1, 8]");
  IntRange sRange = IntRange::of(bits, true),
           uRange = IntRange::of(bits, false);
  std::vector<uint8_t> out((values.size() * bits + 7) / 8, 0);
  uint32_t mask = (1u << bits) - 1;
  for (size_t i = 0; i < values.size(); ++i) {
    int32_t v = values[i];
    if (v < sRange.min || v > uRange.max)
      fatal("packBits: value does not fit the bit width");
    uint32_t field = static_cast<uint32_t>(v) & mask;
    size_t bit = i * bits;
    for (unsigned b = 0; b < bits; ++b, ++bit)
      if (field >> b & 1u)
        out[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
  }
  return out;
}

std::vector<int32_t> unpackBits(const std::vector<uint8_t> &packed,
                                size_t count, unsigned bits, bool isSigned) {
  if (bits < 1 || bits > 8)
    fatal("unpackBits: bit width must be in [1, 8]");
  if (packed.size() * 8 < count * bits)
    fatal("unpackBits: stream too short");
  std::vector<int32_t> out(count);
  for (size_t i = 0; i < count; ++i) {
    uint32_t field = 0;
    size_t bit = i * bits;
    for (unsigned b = 0; b < bits; ++b, ++bit)
      field |= static_cast<uint32_t>(packed[bit / 8] >> (bit % 8) & 1u) << b;
    int32_t v = static_cast<int32_t>(field);
    if (isSigned && (field >> (bits - 1) & 1u))
      v -= int32_t(1) << bits;
    out[i] = v;
  }
  return out;
}

/// Zero point of row `r` (and group `g`) from a 0-, 1-, R- or R*G-entry list.
static int64_t zeroPointAt(const std::vector<int32_t> &zp, int64_t rows,
                           int64_t groups, int64_t r, int64_t g) {
  if (zp.empty())
    return 0;
  if (zp.size() == 1)
    return zp[0];
  if (static_cast<int64_t>(zp.size()) == rows)
    return zp[r];
  if (static_cast<int64_t>(zp.size()) == rows * groups)
    return zp[r * groups + g];
  fatal("zero-point list has an unexpected size");
}

std::vector<int64_t> integerMatmulGrouped(const std::vector<int32_t> &a,
                                          const std::vector<int32_t> &w,
                                          int64_t m, int64_t n, int64_t k,
                                          int64_t groupSize,
                                          const std::vector<int32_t> &aZp,
                                          const std::vector<int32_t> &wZp) {
  if (groupSize == 0)
    groupSize = k;
  if (groupSize <= 0 || k % groupSize)
    fatal("integerMatmul: group size must divide K");
  if (static_cast<int64_t>(a.size()) != m * k ||
      static_cast<int64_t>(w.size()) != n * k)
    fatal("integerMatmul: operand sizes do not match M, N, K");
  int64_t groups = k / groupSize;
  std::vector<int64_t> acc(static_cast<size_t>(m * n * groups), 0);
  for (int64_t i = 0; i < m; ++i) {
    int64_t za = zeroPointAt(aZp, m, 1, i, 0);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t g = 0; g < groups; ++g) {
        int64_t zw = zeroPointAt(wZp, n, groups, j, g);
        int64_t sum = 0;
        for (int64_t kk = g * groupSize; kk < (g + 1) * groupSize; ++kk)
          sum += (int64_t(a[i * k + kk]) - za) * (int64_t(w[j * k + kk]) - zw);
        acc[(i * n + j) * groups + g] = sum;
      }
    }
  }
  return acc;
}

std::vector<int64_t> integerMatmul(const std::vector<int32_t> &a,
                                   const std::vector<int32_t> &w, int64_t m,
                                   int64_t n, int64_t k,
                                   const std::vector<int32_t> &aZp,
                                   const std::vector<int32_t> &wZp) {
  return integerMatmulGrouped(a, w, m, n, k, 0, aZp, wZp);
}

std::vector<float> dequantEpilogue(const std::vector<int64_t> &acc, int64_t m,
                                   int64_t n, int64_t groups,
                                   const std::vector<float> &aScale,
                                   const std::vector<float> &wScale,
                                   const std::vector<float> &bias) {
  if (static_cast<int64_t>(acc.size()) != m * n * groups)
    fatal("dequantEpilogue: accumulator size does not match M, N, G");
  auto at = [](const std::vector<float> &v, int64_t idx) {
    return v.size() == 1 ? v[0] : v[static_cast<size_t>(idx)];
  };
  std::vector<float> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t g = 0; g < groups; ++g) {
        double ws = static_cast<int64_t>(wScale.size()) == n * groups
                        ? wScale[j * groups + g]
                        : at(wScale, j);
        sum +=
            double(at(aScale, i)) * ws * double(acc[(i * n + j) * groups + g]);
      }
      if (!bias.empty())
        sum += bias[j];
      y[i * n + j] = static_cast<float>(sum);
    }
  return y;
}

} // namespace qopt::ref
