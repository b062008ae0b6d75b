//===- QuantMathTest.cpp - tests of the reference quantization maths ------===//
//
// Expected values are worked out by hand in the comments, not taken from the
// code under test.
//
//===----------------------------------------------------------------------===//

#include "qopt/Reference/QuantMath.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace qopt::ref;

TEST(IntRange, SignedAndUnsignedBounds) {
  EXPECT_EQ(IntRange::of(1, true).min, -1);
  EXPECT_EQ(IntRange::of(1, true).max, 0);
  EXPECT_EQ(IntRange::of(1, false).max, 1);
  EXPECT_EQ(IntRange::of(3, true).min, -4);
  EXPECT_EQ(IntRange::of(3, true).max, 3);
  EXPECT_EQ(IntRange::of(4, false).min, 0);
  EXPECT_EQ(IntRange::of(4, false).max, 15);
  EXPECT_EQ(IntRange::of(8, true).min, -128);
  EXPECT_EQ(IntRange::of(8, true).max, 127);
  EXPECT_EQ(IntRange::of(8, false).max, 255);
}

TEST(Rounding, HalfToEvenAtTies) {
  // Ties go to the even neighbour, in both directions.
  EXPECT_EQ(roundToIntegral(0.5, Rounding::NearestEven), 0.0);
  EXPECT_EQ(roundToIntegral(1.5, Rounding::NearestEven), 2.0);
  EXPECT_EQ(roundToIntegral(2.5, Rounding::NearestEven), 2.0);
  EXPECT_EQ(roundToIntegral(-0.5, Rounding::NearestEven), 0.0);
  EXPECT_EQ(roundToIntegral(-1.5, Rounding::NearestEven), -2.0);
  EXPECT_EQ(roundToIntegral(-2.5, Rounding::NearestEven), -2.0);
  // Non-ties round to nearest.
  EXPECT_EQ(roundToIntegral(2.4999999, Rounding::NearestEven), 2.0);
  EXPECT_EQ(roundToIntegral(2.5000001, Rounding::NearestEven), 3.0);
  EXPECT_EQ(roundToIntegral(-2.5000001, Rounding::NearestEven), -3.0);
}

TEST(Rounding, HalfAwayAndTowardZero) {
  EXPECT_EQ(roundToIntegral(0.5, Rounding::NearestAway), 1.0);
  EXPECT_EQ(roundToIntegral(2.5, Rounding::NearestAway), 3.0);
  EXPECT_EQ(roundToIntegral(-2.5, Rounding::NearestAway), -3.0);
  EXPECT_EQ(roundToIntegral(2.7, Rounding::TowardZero), 2.0);
  EXPECT_EQ(roundToIntegral(-2.7, Rounding::TowardZero), -2.0);
}

TEST(Rounding, QonnxTable) {
  // The rounding table of QONNX's IntQuant specification: inputs and the
  // expected result for ROUND, CEIL, FLOOR, UP, DOWN, HALF_UP, HALF_DOWN.
  struct Row {
    double x;
    double expected[7];
  } rows[] = {{5.5, {6, 6, 5, 6, 5, 6, 5}},       {2.5, {2, 3, 2, 3, 2, 3, 2}},
              {1.6, {2, 2, 1, 2, 1, 2, 2}},       {1.1, {1, 2, 1, 2, 1, 1, 1}},
              {1.0, {1, 1, 1, 1, 1, 1, 1}},       {-1.0, {-1, -1, -1, -1, -1, -1, -1}},
              {-1.1, {-1, -1, -2, -2, -1, -1, -1}}, {-1.6, {-2, -1, -2, -2, -1, -2, -2}},
              {-2.5, {-2, -2, -3, -3, -2, -3, -2}}, {-5.5, {-6, -5, -6, -6, -5, -6, -5}}};
  Rounding modes[7] = {Rounding::NearestEven,  Rounding::Ceil,
                       Rounding::Floor,        Rounding::AwayFromZero,
                       Rounding::TowardZero,   Rounding::NearestAway,
                       Rounding::NearestTowardZero};
  for (const Row &row : rows)
    for (int m = 0; m < 7; ++m)
      EXPECT_EQ(roundToIntegral(row.x, modes[m]), row.expected[m])
          << "x = " << row.x << ", mode " << m;
}

TEST(IntRange, NarrowRange) {
  EXPECT_EQ(IntRange::of(8, true, true).min, -127);
  EXPECT_EQ(IntRange::of(8, true, true).max, 127);
  EXPECT_EQ(IntRange::of(8, false, true).min, 0);
  EXPECT_EQ(IntRange::of(8, false, true).max, 254);
  EXPECT_EQ(IntRange::of(2, true, true).min, -1);
  EXPECT_EQ(IntRange::of(2, true, true).max, 1);
  // -4.0 / 0.5 = -8 clamps to -7 in narrow signed 4 bits.
  EXPECT_EQ(quantize(-4.0f, 0.5f, 0, IntRange::of(4, true, true)), -7);
}

TEST(Quantize, SymmetricSigned4BitClampsAtBothEnds) {
  IntRange s4 = IntRange::of(4, true); // [-8, 7]
  // scale 0.5: 3.25 / 0.5 = 6.5 -> 6 (even); 3.75 / 0.5 = 7.5 -> 8 -> clamp 7.
  EXPECT_EQ(quantize(3.25f, 0.5f, 0, s4), 6);
  EXPECT_EQ(quantize(3.75f, 0.5f, 0, s4), 7);
  EXPECT_EQ(quantize(100.f, 0.5f, 0, s4), 7);
  // -4.0 / 0.5 = -8 is representable; -4.25 / 0.5 = -8.5 -> -8 (even).
  EXPECT_EQ(quantize(-4.0f, 0.5f, 0, s4), -8);
  EXPECT_EQ(quantize(-4.25f, 0.5f, 0, s4), -8);
  EXPECT_EQ(quantize(-4.75f, 0.5f, 0, s4), -8);
  EXPECT_EQ(quantize(-100.f, 0.5f, 0, s4), -8);
  // -3.75 / 0.5 = -7.5 -> -8 (even), not -7.
  EXPECT_EQ(quantize(-3.75f, 0.5f, 0, s4), -8);
  // -3.25 / 0.5 = -6.5 -> -6 (even).
  EXPECT_EQ(quantize(-3.25f, 0.5f, 0, s4), -6);
}

TEST(Quantize, AsymmetricUnsignedAppliesZeroPointAfterRounding) {
  IntRange u4 = IntRange::of(4, false); // [0, 15]
  // zp 8, scale 0.25: 0.375 / 0.25 = 1.5 -> 2 -> 10; -0.125/0.25 = -0.5 -> 0
  // -> 8.
  EXPECT_EQ(quantize(0.375f, 0.25f, 8, u4), 10);
  EXPECT_EQ(quantize(-0.125f, 0.25f, 8, u4), 8);
  // -2.0 / 0.25 = -8 -> 0 (the bottom); -2.25 -> -9 -> -1 -> clamp 0.
  EXPECT_EQ(quantize(-2.0f, 0.25f, 8, u4), 0);
  EXPECT_EQ(quantize(-2.25f, 0.25f, 8, u4), 0);
  // 1.75 / 0.25 = 7 -> 15 (the top); 2.0 -> 16 -> clamp 15.
  EXPECT_EQ(quantize(1.75f, 0.25f, 8, u4), 15);
  EXPECT_EQ(quantize(2.0f, 0.25f, 8, u4), 15);
}

TEST(Quantize, RoundingModesDiffer) {
  IntRange s8 = IntRange::of(8, true);
  EXPECT_EQ(quantize(2.5f, 1.f, 0, s8, Rounding::NearestEven), 2);
  EXPECT_EQ(quantize(2.5f, 1.f, 0, s8, Rounding::NearestAway), 3);
  EXPECT_EQ(quantize(2.9f, 1.f, 0, s8, Rounding::TowardZero), 2);
  EXPECT_EQ(quantize(-2.9f, 1.f, 0, s8, Rounding::TowardZero), -2);
}

TEST(Quantize, SpecialValues) {
  IntRange s8 = IntRange::of(8, true);
  float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantize(std::nanf(""), 0.1f, 3, s8), 3);
  EXPECT_EQ(quantize(inf, 0.1f, 0, s8), 127);
  EXPECT_EQ(quantize(-inf, 0.1f, 0, s8), -128);
  EXPECT_EQ(quantize(-0.0f, 0.1f, 0, s8), 0);
}

TEST(Quantize, DivisionIsSinglePrecision) {
  // 0.3f / 0.1f in float is exactly 3.0f, while in double it is 2.9999998...
  // which truncation would turn into 2: check the tie is decided on floats.
  IntRange s8 = IntRange::of(8, true);
  EXPECT_EQ(quantize(0.3f, 0.1f, 0, s8, Rounding::TowardZero), 3);
  EXPECT_EQ(quantize(0.3f, 0.1f, 0, s8), 3);
}

TEST(Dequantize, SubtractsZeroPointThenScales) {
  EXPECT_FLOAT_EQ(dequantize(10, 0.25f, 8), 0.5f);
  EXPECT_FLOAT_EQ(dequantize(0, 0.25f, 8), -2.0f);
  EXPECT_FLOAT_EQ(dequantize(-8, 0.5f, 0), -4.0f);
}

TEST(Scheme, PerChannelIndexing) {
  // Shape [2, 3]; per-channel along axis 1: element (i, j) uses scale j.
  Scheme s{Granularity::PerChannel, 1, 0};
  std::vector<int64_t> shape{2, 3};
  EXPECT_EQ(numScales(shape, s), 3u);
  EXPECT_EQ(scaleIndex(shape, s, 0), 0u);
  EXPECT_EQ(scaleIndex(shape, s, 2), 2u);
  EXPECT_EQ(scaleIndex(shape, s, 4), 1u);
  // Along axis 0: element (i, j) uses scale i.
  Scheme s0{Granularity::PerChannel, 0, 0};
  EXPECT_EQ(scaleIndex(shape, s0, 2), 0u);
  EXPECT_EQ(scaleIndex(shape, s0, 3), 1u);
}

TEST(Scheme, PerGroupIndexingFollowsOnnxBlockedLayout) {
  // Weights [N=2, K=6], groups of 3 along K: scales [2, 2] row-major.
  Scheme s{Granularity::PerGroup, 1, 3};
  std::vector<int64_t> shape{2, 6};
  EXPECT_EQ(numScales(shape, s), 4u);
  // Row 0: k 0..2 -> 0, k 3..5 -> 1. Row 1: k 0..2 -> 2, k 3..5 -> 3.
  std::vector<size_t> expected{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(scaleIndex(shape, s, i), expected[i]) << "element " << i;
  // Groups along axis 0 of [4, 2] with size 2: scales [2, 2]; element (r, c)
  // uses scale (r / 2, c).
  Scheme s0{Granularity::PerGroup, 0, 2};
  std::vector<int64_t> shape0{4, 2};
  std::vector<size_t> expected0{0, 1, 0, 1, 2, 3, 2, 3};
  for (size_t i = 0; i < expected0.size(); ++i)
    EXPECT_EQ(scaleIndex(shape0, s0, i), expected0[i]) << "element " << i;
}

TEST(QuantizeTensor, PerGroupAsymmetric) {
  // [1, 4] with groups of 2: scales {1, 0.5}, zero points {2, 1}, u2 [0, 3].
  Scheme s{Granularity::PerGroup, 1, 2};
  std::vector<float> x{0.0f, 1.0f, 0.25f, 5.0f};
  // 0/1+2=2; 1/1+2=3; 0.25/0.5=0.5->0 +1 =1; 5/0.5=10+1=11 -> clamp 3.
  std::vector<int32_t> q = quantizeTensor(x, {1, 4}, {1.0f, 0.5f}, {2, 1}, s,
                                          IntRange::of(2, false));
  EXPECT_EQ(q, (std::vector<int32_t>{2, 3, 1, 3}));
  std::vector<float> back =
      dequantizeTensor(q, {1, 4}, {1.0f, 0.5f}, {2, 1}, s);
  EXPECT_EQ(back, (std::vector<float>{0.0f, 1.0f, 0.0f, 1.0f}));
}

TEST(Packing, ThreeBitValuesCrossByteBoundaries) {
  // Values 1, 2, 3 (3 bits each, LSB first): bits 100 010 110 -> byte 0 is
  // 0b11010001 = 0xD1, byte 1 holds the last bit of value 2 (=0) -> 0x00.
  std::vector<uint8_t> packed = packBits({1, 2, 3}, 3);
  ASSERT_EQ(packed.size(), 2u);
  EXPECT_EQ(packed[0], 0xD1);
  EXPECT_EQ(packed[1], 0x00);
  // 7 in the third slot sets the top bit of byte 1's bit 0.
  packed = packBits({0, 0, 7}, 3);
  EXPECT_EQ(packed[0], 0xC0);
  EXPECT_EQ(packed[1], 0x01);
}

TEST(Packing, SignedValuesAreTwosComplement) {
  // -1 in 4 bits is 0xF, -8 is 0x8: byte = low nibble first.
  std::vector<uint8_t> packed = packBits({-1, -8}, 4);
  ASSERT_EQ(packed.size(), 1u);
  EXPECT_EQ(packed[0], 0x8F);
  EXPECT_EQ(unpackBits(packed, 2, 4, true), (std::vector<int32_t>{-1, -8}));
  // The same bits read unsigned.
  EXPECT_EQ(unpackBits(packed, 2, 4, false), (std::vector<int32_t>{15, 8}));
  // One-bit signed: the set bit is -1.
  EXPECT_EQ(unpackBits(packBits({-1, 0, -1}, 1), 3, 1, true),
            (std::vector<int32_t>{-1, 0, -1}));
}

TEST(Packing, RoundTripAllWidthsAndRanges) {
  std::mt19937 rng(42);
  for (unsigned bits = 1; bits <= 8; ++bits) {
    for (bool isSigned : {false, true}) {
      IntRange r = IntRange::of(bits, isSigned);
      std::uniform_int_distribution<int32_t> dist(r.min, r.max);
      std::vector<int32_t> values(37);
      for (int32_t &v : values)
        v = dist(rng);
      values[0] = static_cast<int32_t>(r.min);
      values[1] = static_cast<int32_t>(r.max);
      std::vector<uint8_t> packed = packBits(values, bits);
      EXPECT_EQ(packed.size(), (values.size() * bits + 7) / 8);
      EXPECT_EQ(unpackBits(packed, values.size(), bits, isSigned), values)
          << bits << " bits, signed " << isSigned;
    }
  }
}

TEST(IntegerMatmul, HandComputedWithZeroPoints) {
  // A [2, 3] = [[1, 2, 3], [4, 5, 6]], za = {1, 4}
  // W [2, 3] = [[1, 0, 2], [3, 3, 3]], zw = {0, 3}
  // (A - za) = [[0, 1, 2], [0, 1, 2]]; (W - zw) = [[1, 0, 2], [0, 0, 0]]
  // acc = [[0*1 + 1*0 + 2*2, 0], [4, 0]]
  std::vector<int64_t> acc = integerMatmul(
      {1, 2, 3, 4, 5, 6}, {1, 0, 2, 3, 3, 3}, 2, 2, 3, {1, 4}, {0, 3});
  EXPECT_EQ(acc, (std::vector<int64_t>{4, 0, 4, 0}));
}

TEST(IntegerMatmul, SignedOperandsAndGroups) {
  // A [1, 4] = [-8, 7, -1, 2]; W [1, 4] = [-1, -1, 3, -4], groups of 2,
  // wZp per group {-1, 1}: W - zw = [0, 0, 2, -5]
  // group 0: -8*0 + 7*0 = 0; group 1: -1*2 + 2*-5 = -12.
  std::vector<int64_t> acc = integerMatmulGrouped(
      {-8, 7, -1, 2}, {-1, -1, 3, -4}, 1, 1, 4, 2, {}, {-1, 1});
  EXPECT_EQ(acc, (std::vector<int64_t>{0, -12}));
}

TEST(IntegerMatmul, ExactBeyondInt32) {
  // 255 * 255 * 40000 = 2'601'000'000 > INT32_MAX.
  int64_t k = 40000;
  std::vector<int32_t> a(k, 255), w(k, 255);
  std::vector<int64_t> acc = integerMatmul(a, w, 1, 1, k, {}, {});
  EXPECT_EQ(acc[0], int64_t(255) * 255 * k);
}

TEST(IntegerMatmul, ZeroPointExpansionIdentity) {
  // sum (a - za)(w - zw) = sum aw - zw sum a - za sum w + K za zw: the
  // form kernels use with precomputed row sums.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> dist(0, 15);
  int64_t m = 3, n = 4, k = 16;
  std::vector<int32_t> a(m * k), w(n * k), za(m), zw(n);
  for (auto *v : {&a, &w, &za, &zw})
    for (int32_t &x : *v)
      x = dist(rng);
  std::vector<int64_t> acc = integerMatmul(a, w, m, n, k, za, zw);
  std::vector<int64_t> raw = integerMatmul(a, w, m, n, k, {}, {});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t sumA = 0, sumW = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        sumA += a[i * k + kk];
        sumW += w[j * k + kk];
      }
      int64_t expanded = raw[i * n + j] - int64_t(zw[j]) * sumA -
                         int64_t(za[i]) * sumW + k * int64_t(za[i]) * zw[j];
      EXPECT_EQ(acc[i * n + j], expanded);
    }
}

TEST(DequantEpilogue, ScalesPerTokenPerGroupAndBias) {
  // M=2, N=1, G=2: acc = [[3, -2], [1, 1]], aScale = {0.5, 2},
  // wScale = {0.25, 1}, bias = {10}.
  // y0 = 0.5 * (0.25*3 + 1*-2) + 10 = 0.5 * -1.25 + 10 = 9.375
  // y1 = 2 * (0.25 + 1) + 10 = 12.5
  std::vector<float> y = dequantEpilogue({3, -2, 1, 1}, 2, 1, 2, {0.5f, 2.f},
                                         {0.25f, 1.f}, {10.f});
  EXPECT_EQ(y, (std::vector<float>{9.375f, 12.5f}));
}
