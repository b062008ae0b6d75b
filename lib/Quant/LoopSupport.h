//===- LoopSupport.h - the quantizers' loops on threads and AVX2 ---------===//
//
// The quantizers' loops run on LLVM's thread pool, their inner loops also
// as AVX2 clones where the CPU has AVX2. Each sum stays the same sequence of
// floating-point operations as in a sequential loop (vector lanes hold
// separate sums; AVX2 without FMA), so results depend neither on the number
// of threads nor on the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_QUANT_LOOPSUPPORT_H
#define QOPT_LIB_QUANT_LOOPSUPPORT_H

#include "qopt/Quant/Quantizers.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cstdint>

// A function built twice, for AVX2 and for the baseline, picked at load time
// (x86-64's baseline vectors hold two doubles or four floats). Build with
// -DQOPT_AVX2_CLONES= for one version.
#ifndef QOPT_AVX2_CLONES
#if defined(__x86_64__) && defined(__ELF__) &&                                 \
    (defined(__clang__) || defined(__GNUC__))
#define QOPT_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define QOPT_AVX2_CLONES
#endif
#endif

namespace qopt::quant {

/// Runs `fn(begin, end)` over [0, count) in contiguous chunks, a few per
/// thread, each of at least parallelMinWork (multiply-adds) where an index
/// costs `workPerIndex`: short loops (one Cholesky column's rows) do not pay
/// a task per index, and small problems run on the calling thread.
inline void parallelChunks(int64_t count, int64_t workPerIndex,
                           llvm::function_ref<void(int64_t, int64_t)> fn) {
  int64_t threads = llvm::parallel::strategy.compute_thread_count();
  int64_t minChunk = 1 + parallelMinWork / std::max<int64_t>(workPerIndex, 1);
  int64_t chunks = std::min<int64_t>(4 * threads, count / minChunk);
  if (chunks <= 1) {
    if (count > 0)
      fn(0, count);
    return;
  }
  llvm::parallelFor(0, chunks, [&](size_t c) {
    fn(count * static_cast<int64_t>(c) / chunks,
       count * static_cast<int64_t>(c + 1) / chunks);
  });
}

} // namespace qopt::quant

#endif // QOPT_LIB_QUANT_LOOPSUPPORT_H
