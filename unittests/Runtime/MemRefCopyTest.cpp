//===- MemRefCopyTest.cpp - model.so's memrefCopy -------------------------===//

#include "gtest/gtest.h"

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
void memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst);
}

namespace {

/// A ranked memref descriptor over `base`, as generated code passes it.
std::vector<int64_t> descriptor(void *base, int64_t offset,
                                std::vector<int64_t> sizes,
                                std::vector<int64_t> strides) {
  std::vector<int64_t> d(3 + 2 * sizes.size());
  std::memcpy(&d[0], &base, sizeof(void *));
  std::memcpy(&d[1], &base, sizeof(void *));
  d[2] = offset;
  for (size_t i = 0; i < sizes.size(); ++i) {
    d[3 + i] = sizes[i];
    d[3 + sizes.size() + i] = strides[i];
  }
  return d;
}

void copy(int64_t elemSize, std::vector<int64_t> &src,
          std::vector<int64_t> &dst) {
  int64_t rank = (static_cast<int64_t>(src.size()) - 3) / 2;
  UnrankedMemRef s{rank, src.data()}, d{rank, dst.data()};
  memrefCopy(elemSize, &s, &d);
}

/// Element (i, j, k) of a strided 3-D view, computed independently.
float at(const std::vector<float> &buf, int64_t offset,
         const std::vector<int64_t> &strides, int64_t i, int64_t j, int64_t k) {
  return buf[offset + i * strides[0] + j * strides[1] + k * strides[2]];
}

std::vector<float> iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<float>(i) + 0.5f;
  return v;
}

TEST(MemRefCopy, DenseIntoTheInteriorOfAPaddedBuffer) {
  // [2, 3, 4] into the interior of [2, 5, 6] at (0, 1, 1).
  std::vector<float> src = iota(24), dst(2 * 5 * 6, -1.0f);
  auto s = descriptor(src.data(), 0, {2, 3, 4}, {12, 4, 1});
  auto d = descriptor(dst.data(), 7, {2, 3, 4}, {30, 6, 1});
  copy(sizeof(float), s, d);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t k = 0; k < 6; ++k) {
        bool inside = j >= 1 && j <= 3 && k >= 1 && k <= 4;
        float want = inside ? src[i * 12 + (j - 1) * 4 + (k - 1)] : -1.0f;
        EXPECT_EQ(dst[i * 30 + j * 6 + k], want) << i << " " << j << " " << k;
      }
}

TEST(MemRefCopy, StridedInnermostDim) {
  // A transposed view: dst[i, j] = src[j, i].
  std::vector<float> src = iota(12), dst(12, 0.0f);
  auto s = descriptor(src.data(), 0, {4, 3}, {1, 4});
  auto d = descriptor(dst.data(), 0, {4, 3}, {3, 1});
  copy(sizeof(float), s, d);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j)
      EXPECT_EQ(dst[i * 3 + j], src[j * 4 + i]);
}

TEST(MemRefCopy, UnitDimsWithAnyStrideJoinTheRun) {
  // [3, 1, 5] whose unit dim has a stride no dense layout gives it.
  std::vector<float> src = iota(64), dst(15, 0.0f);
  std::vector<int64_t> srcStrides = {20, 999, 1};
  auto s = descriptor(src.data(), 2, {3, 1, 5}, srcStrides);
  auto d = descriptor(dst.data(), 0, {3, 1, 5}, {5, 5, 1});
  copy(sizeof(float), s, d);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 5; ++k)
      EXPECT_EQ(dst[i * 5 + k], at(src, 2, srcStrides, i, 0, k));
}

TEST(MemRefCopy, EightByteElementsAndRankZero) {
  std::vector<int64_t> src = {1, 2, 3, 4, 5, 6}, dst(6, 0);
  auto s = descriptor(src.data(), 0, {2, 3}, {3, 1});
  auto d = descriptor(dst.data(), 0, {2, 3}, {3, 1});
  copy(sizeof(int64_t), s, d);
  EXPECT_EQ(dst, src);
  int64_t one = 42, other = 0;
  auto s0 = descriptor(&one, 0, {}, {});
  auto d0 = descriptor(&other, 0, {}, {});
  copy(sizeof(int64_t), s0, d0);
  EXPECT_EQ(other, 42);
}

TEST(MemRefCopy, EmptyCopiesNothing) {
  std::vector<float> src = iota(4), dst(4, -1.0f);
  auto s = descriptor(src.data(), 0, {2, 0, 2}, {2, 2, 1});
  auto d = descriptor(dst.data(), 0, {2, 0, 2}, {2, 2, 1});
  copy(sizeof(float), s, d);
  for (float v : dst)
    EXPECT_EQ(v, -1.0f);
}

} // namespace
