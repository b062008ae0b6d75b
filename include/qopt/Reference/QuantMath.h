//===- QuantMath.h - exact reference quantization maths --------*- C++ -*-===//
//
// The definition of what qopt's quantization computes, written for clarity,
// not speed. Every lowering (CPU integer kernels, bit-plane decomposition,
// GPU binary MMA) is tested against these functions bit for bit.
//
// Conventions:
//  * quantize(x) = clamp(round(x / scale) + zeroPoint, min, max), with the
//    division done in IEEE single precision (as ONNX QuantizeLinear and the
//    generated code do), so ties are decided on the same float value.
//  * dequantize(q) = (q - zeroPoint) * scale, in single precision.
//  * Packed N-bit data is a little-endian bit stream: value i occupies bits
//    [i*N, i*N + N) counting from bit 0 of byte 0; signed values are stored in
//    N-bit two's complement.
//  * Matrices are row-major; weights are [N, K] (one row per output channel).
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_REFERENCE_QUANTMATH_H
#define QOPT_REFERENCE_QUANTMATH_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qopt::ref {

/// Mirrors qopt::RoundingMode.
enum class Rounding {
  NearestEven,
  NearestAway,
  NearestTowardZero,
  TowardZero,
  AwayFromZero,
  Floor,
  Ceil
};
enum class Granularity { PerTensor, PerChannel, PerGroup };

/// The values an integer of `bits` bits can hold.
struct IntRange {
  int64_t min;
  int64_t max;
  /// bits must be in [1, 32]. A narrow range drops the most negative signed
  /// value, or the largest unsigned one.
  static IntRange of(unsigned bits, bool isSigned, bool narrow = false);
};

/// Rounds a real value to an integer; ties per `mode`.
double roundToIntegral(double x, Rounding mode);

/// Quantizes one value. NaN maps to the zero point; infinities saturate.
int32_t quantize(float x, float scale, int32_t zeroPoint, IntRange range,
                 Rounding mode = Rounding::NearestEven);

/// Dequantizes one value: (q - zeroPoint) * scale in single precision.
float dequantize(int32_t q, float scale, int32_t zeroPoint);

/// How a tensor shares scales; mirrors #qopt.scheme.
struct Scheme {
  Granularity granularity = Granularity::PerTensor;
  int axis = 0;
  int64_t groupSize = 0;
  Rounding rounding = Rounding::NearestEven;
};

/// Index into the scale (and zero-point) tensor for the element at
/// `flatIndex` of a row-major tensor of `shape`, under `scheme`.
size_t scaleIndex(const std::vector<int64_t> &shape, const Scheme &scheme,
                  size_t flatIndex);

/// Number of scales `scheme` needs for a tensor of `shape`.
size_t numScales(const std::vector<int64_t> &shape, const Scheme &scheme);

/// Quantizes a row-major tensor. `zeroPoints` is empty (symmetric) or has
/// numScales() entries, like `scales`.
std::vector<int32_t> quantizeTensor(const std::vector<float> &x,
                                    const std::vector<int64_t> &shape,
                                    const std::vector<float> &scales,
                                    const std::vector<int32_t> &zeroPoints,
                                    const Scheme &scheme, IntRange range);

/// Dequantizes a row-major tensor; the inverse mapping of quantizeTensor.
std::vector<float> dequantizeTensor(const std::vector<int32_t> &q,
                                    const std::vector<int64_t> &shape,
                                    const std::vector<float> &scales,
                                    const std::vector<int32_t> &zeroPoints,
                                    const Scheme &scheme);

/// Packs `values` (each representable in `bits` bits, signed or unsigned)
/// into a little-endian bit stream of ceil(values.size() * bits / 8) bytes.
/// Values outside the range of either interpretation are an error (abort).
std::vector<uint8_t> packBits(const std::vector<int32_t> &values,
                              unsigned bits);

/// Unpacks `count` values of `bits` bits from a stream made by packBits,
/// sign-extending when `isSigned`.
std::vector<int32_t> unpackBits(const std::vector<uint8_t> &packed,
                                size_t count, unsigned bits, bool isSigned);

/// Exact integer matrix product with zero points, split by weight group:
///   acc[m][n][g] = sum_{k in group g} (A[m,k] - aZp[m]) * (W[n,k] - wZp[n,g])
/// A is [M, K], W is [N, K]. `groupSize` 0 means one group (all of K).
/// `aZp` is empty (zero), 1 entry (per-tensor) or M entries (per-token);
/// `wZp` is empty, 1 entry, N entries (per-channel) or N * numGroups entries
/// (per-group, [N, G] row-major). The result is [M, N, G] row-major, in
/// 64-bit so that it is exact for any K.
std::vector<int64_t> integerMatmulGrouped(const std::vector<int32_t> &a,
                                          const std::vector<int32_t> &w,
                                          int64_t m, int64_t n, int64_t k,
                                          int64_t groupSize,
                                          const std::vector<int32_t> &aZp,
                                          const std::vector<int32_t> &wZp);

/// integerMatmulGrouped with a single group: [M, N].
std::vector<int64_t> integerMatmul(const std::vector<int32_t> &a,
                                   const std::vector<int32_t> &w, int64_t m,
                                   int64_t n, int64_t k,
                                   const std::vector<int32_t> &aZp,
                                   const std::vector<int32_t> &wZp);

/// The dequantization epilogue of qopt.qmatmul applied to exact group sums:
///   Y[m,n] = sum_g aScale[m] * wScale[n,g] * acc[m,n,g] + bias[n]
/// `aScale` has 1 or M entries, `wScale` 1, N or N*G entries, `bias` 0 or N.
/// Accumulates in double; returns single precision.
std::vector<float> dequantEpilogue(const std::vector<int64_t> &acc, int64_t m,
                                   int64_t n, int64_t groups,
                                   const std::vector<float> &aScale,
                                   const std::vector<float> &wScale,
                                   const std::vector<float> &bias);

} // namespace qopt::ref

#endif // QOPT_REFERENCE_QUANTMATH_H
