//===- BufferCacheTest.cpp - model.so's heap of generated code ------------===//

#include "BufferCache.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

using namespace qopt::runtime;

namespace {

constexpr size_t kKiB = 1024, kMiB = 1024 * kKiB;

// Each test starts and ends with an empty cache: it opens a model and
// closes it, which returns every kept block.
struct BufferCache : ::testing::Test {
  void SetUp() override {
    if (const char *env = std::getenv("QOPT_BUFFER_CACHE_MB"))
      GTEST_SKIP() << "QOPT_BUFFER_CACHE_MB=" << env << " is set";
    modelOpened();
  }
  void TearDown() override {
    modelClosed();
    EXPECT_EQ(cachedBufferBytes(), 0u);
  }
};

TEST_F(BufferCache, ReusesAFreedLargeBlockForItsSizeClass) {
  char *a = static_cast<char *>(allocateBuffer(300 * kKiB));
  ASSERT_NE(a, nullptr);
  std::memset(a, 7, 300 * kKiB);
  releaseBuffer(a);
  EXPECT_GE(cachedBufferBytes(), 300 * kKiB);
  // 290 KiB and 300 KiB share a class (256 KiB * 1.25 < both <= 320 KiB).
  char *b = static_cast<char *>(allocateBuffer(290 * kKiB));
  EXPECT_EQ(b, a);
  EXPECT_EQ(cachedBufferBytes(), 0u);
  // The whole request is usable: the block is the class's size.
  std::memset(b, 1, 290 * kKiB);
  releaseBuffer(b);
}

TEST_F(BufferCache, OtherClassesGetOtherBlocks) {
  void *a = allocateBuffer(300 * kKiB);
  releaseBuffer(a);
  // 400 KiB takes the 448 KiB class: the kept 320 KiB block cannot serve
  // it.
  void *b = allocateBuffer(400 * kKiB);
  EXPECT_NE(b, a);
  EXPECT_GE(cachedBufferBytes(), 300 * kKiB);
  releaseBuffer(b);
}

TEST_F(BufferCache, SmallBlocksStayWithMalloc) {
  void *a = allocateBuffer(4 * kKiB);
  ASSERT_NE(a, nullptr);
  releaseBuffer(a);
  EXPECT_EQ(cachedBufferBytes(), 0u);
}

TEST_F(BufferCache, TakesLargeBlocksFromMallocToo) {
  // A model's outputs may be any malloc block the caller hands back.
  void *a = std::malloc(1 * kMiB + 123);
  releaseBuffer(a);
  EXPECT_GE(cachedBufferBytes(), 1 * kMiB);
  void *b = allocateBuffer(1 * kMiB);
  EXPECT_EQ(b, a);
  releaseBuffer(b);
}

TEST_F(BufferCache, KeepsNoMoreThanItsCap) {
  // The default cap is 1024 MiB; blocks never touched take no memory.
  std::vector<void *> blocks;
  for (int i = 0; i < 5; ++i)
    blocks.push_back(allocateBuffer(300 * kMiB));
  for (void *b : blocks)
    releaseBuffer(b);
  EXPECT_LE(cachedBufferBytes(), 1024 * kMiB);
  EXPECT_GE(cachedBufferBytes(), 900 * kMiB);
}

TEST_F(BufferCache, ClosingTheLastModelReturnsEverything) {
  modelOpened(); // a second model
  releaseBuffer(allocateBuffer(2 * kMiB));
  modelClosed(); // one model remains open: kept
  EXPECT_GE(cachedBufferBytes(), 2 * kMiB);
  // TearDown closes the last one and checks the cache is empty.
}

TEST_F(BufferCache, ThreadsNeverShareABlock) {
  // Models run from several threads share the cache: each thread fills
  // its blocks with its own byte and checks them before freeing, so a
  // block handed to two threads at once would show the other's byte.
  auto work = [](unsigned char tag, bool *ok) {
    std::vector<std::pair<unsigned char *, size_t>> live;
    unsigned seed = tag;
    for (int i = 0; i < 2000; ++i) {
      seed = seed * 1103515245u + 12345u;
      size_t bytes = (64 + (seed >> 8) % 448) * kKiB;
      auto *block = static_cast<unsigned char *>(allocateBuffer(bytes));
      std::memset(block, tag, bytes);
      live.push_back({block, bytes});
      if (live.size() > 3 || (seed & 1)) {
        auto [old, oldBytes] = live.front();
        live.erase(live.begin());
        for (size_t j = 0; j < oldBytes; j += 4093)
          *ok &= old[j] == tag;
        releaseBuffer(old);
      }
    }
    for (auto [block, bytes] : live)
      releaseBuffer(block);
  };
  bool ok1 = true, ok2 = true;
  std::thread t1(work, 0x5a, &ok1), t2(work, 0xa5, &ok2);
  t1.join();
  t2.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

TEST(BufferCacheDisabled, KeepsNothing) {
  const char *env = std::getenv("QOPT_BUFFER_CACHE_MB");
  if (!env || std::strcmp(env, "0") != 0)
    GTEST_SKIP() << "runs with QOPT_BUFFER_CACHE_MB=0 (ctest sets it)";
  modelOpened();
  void *a = allocateBuffer(1 * kMiB);
  ASSERT_NE(a, nullptr);
  releaseBuffer(a);
  EXPECT_EQ(cachedBufferBytes(), 0u);
  modelClosed();
}

} // namespace
