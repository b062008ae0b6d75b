//===- BufferCache.cpp - the heap of generated code in model.so -----------===//
//
// Generated code allocates every intermediate tensor of a run on the heap
// and frees it when its last reader is done (`finalize-memref-to-llvm
// {use-generic-functions}` calls the three functions below). With malloc
// alone, a large buffer is mmap'ed, or carved from the top of the heap that
// free trims again, so its pages are zero-filled by the kernel on first
// touch on every run: a third of a convolutional network's time went to
// page faults. Like ONNX Runtime's arena, this keeps freed large blocks
// for the next allocation of their size class, so a model's second and
// later runs touch pages that are already mapped.
//
// Blocks are plain malloc blocks (a cached block is freed with free, and a
// model's outputs, which the caller frees with qopt_tensor_free, come from
// here too): the class of a block is read back from the block itself with
// malloc_usable_size, so no table follows blocks the caller owns.
// QOPT_BUFFER_CACHE_MB caps the bytes kept (default 1024; 0 turns the cache
// off); closing the last open model returns them all.
//
//===----------------------------------------------------------------------===//

#include "BufferCache.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#define QOPT_HAVE_USABLE_SIZE 1
#endif

namespace {

/// Blocks below this size stay with malloc, which keeps them in its bins.
constexpr size_t kMinCachedBytes = size_t(64) << 10;
/// Four size classes per power of two: a block is at most 25% larger than
/// the request it serves.
constexpr unsigned kClassesPerDoubling = 4;
constexpr unsigned kNumClasses = 64 * kClassesPerDoubling;

/// The size of class `c`: 2^e (1 + s / 4) for c = 4 e + s.
size_t classBytes(unsigned c) {
  unsigned e = c / kClassesPerDoubling, s = c % kClassesPerDoubling;
  return (size_t(1) << e) + ((size_t(1) << e) >> 2) * s;
}

/// The largest class no larger than `bytes` (bytes >= 1).
unsigned floorClass(size_t bytes) {
  unsigned e = 63 - __builtin_clzll(bytes);
  unsigned s =
      e >= 2 ? static_cast<unsigned>((bytes - (size_t(1) << e)) >> (e - 2)) : 0;
  return e * kClassesPerDoubling + s;
}

/// The smallest class no smaller than `bytes`.
unsigned ceilClass(size_t bytes) {
  unsigned c = floorClass(bytes);
  return classBytes(c) < bytes ? c + 1 : c;
}

struct BufferCache {
  std::mutex mutex;
  std::vector<void *> freeBlocks[kNumClasses];
  size_t cachedBytes = 0;
  size_t capBytes = 0;
  int openModels = 0;

  BufferCache() {
    size_t mb = 1024;
    if (const char *env = std::getenv("QOPT_BUFFER_CACHE_MB"))
      mb = std::strtoull(env, nullptr, 10);
    capBytes = mb << 20;
  }

  void *allocate(size_t bytes) {
#if QOPT_HAVE_USABLE_SIZE
    if (bytes >= kMinCachedBytes && capBytes) {
      unsigned c = ceilClass(bytes);
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (!freeBlocks[c].empty()) {
          void *block = freeBlocks[c].back();
          freeBlocks[c].pop_back();
          cachedBytes -= classBytes(c);
          return block;
        }
      }
      // Whole classes, so the block serves any request of its class later.
      return std::malloc(classBytes(c));
    }
#endif
    return std::malloc(bytes);
  }

  void release(void *block) {
    if (!block)
      return;
#if QOPT_HAVE_USABLE_SIZE
    size_t usable = malloc_usable_size(block);
    if (usable >= kMinCachedBytes && capBytes) {
      // A block of class c holds at least classBytes(c) bytes.
      unsigned c = floorClass(usable);
      std::lock_guard<std::mutex> lock(mutex);
      if (cachedBytes + classBytes(c) <= capBytes) {
        freeBlocks[c].push_back(block);
        cachedBytes += classBytes(c);
        return;
      }
    }
#endif
    std::free(block);
  }

  void trim() {
    std::lock_guard<std::mutex> lock(mutex);
    for (std::vector<void *> &blocks : freeBlocks) {
      for (void *block : blocks)
        std::free(block);
      blocks.clear();
      blocks.shrink_to_fit();
    }
    cachedBytes = 0;
  }
};

BufferCache &cache() {
  // Never destroyed: generated code may free after static destructors ran.
  static BufferCache *instance = new BufferCache();
  return *instance;
}

} // namespace

void *qopt::runtime::allocateBuffer(size_t bytes) {
  return cache().allocate(bytes);
}

void qopt::runtime::releaseBuffer(void *block) { cache().release(block); }

void qopt::runtime::modelOpened() {
  BufferCache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  ++c.openModels;
}

void qopt::runtime::modelClosed() {
  BufferCache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (--c.openModels > 0)
      return;
  }
  c.trim();
}

size_t qopt::runtime::cachedBufferBytes() {
  BufferCache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.cachedBytes;
}
