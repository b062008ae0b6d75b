//===- ParallelChunks.h - contiguous chunks of a loop on LLVM's threads ---===//
//
// The quantizers' loops run on LLVM's thread pool. Each index's work stays
// the same sequence of floating-point operations as in a sequential loop,
// so results do not depend on the number of threads.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_QUANT_PARALLELCHUNKS_H
#define QOPT_LIB_QUANT_PARALLELCHUNKS_H

#include "qopt/Quant/Quantizers.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cstdint>

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

#endif // QOPT_LIB_QUANT_PARALLELCHUNKS_H
