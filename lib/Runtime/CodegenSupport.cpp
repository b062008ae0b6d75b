//===- CodegenSupport.cpp - functions generated code in model.so calls ---===//
//
// `finalize-memref-to-llvm` lowers a memref.copy between buffers that are
// not both contiguous (a tensor written into a padded one, a slice of a
// concatenation) to a call of memrefCopy, whose usual definition lives in
// MLIR's libmlir_c_runner_utils; model.so does not depend on that library
// and defines it here. With `use-generic-functions` it allocates and frees
// heap buffers through `_mlir_memref_to_llvm_alloc` / `_free`, defined
// here over the runtime's buffer cache (BufferCache.cpp).
//
//===----------------------------------------------------------------------===//

#include "BufferCache.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {

/// Called by generated code for memref.copy between non-contiguous buffers
/// (the same contract as MLIR's libmlir_c_runner_utils, which model.so does
/// not depend on). Each argument is an unranked memref: {rank, descriptor}.
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
__attribute__((visibility("hidden"))) void
memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst) {
  int64_t rank = src->rank;
  auto *s = static_cast<int64_t *>(src->descriptor);
  auto *d = static_cast<int64_t *>(dst->descriptor);
  char *srcBase, *dstBase;
  std::memcpy(&srcBase, &s[1], sizeof(void *));
  std::memcpy(&dstBase, &d[1], sizeof(void *));
  srcBase += s[2] * elemSize;
  dstBase += d[2] * elemSize;
  const int64_t *sizes = &s[3], *srcStrides = &s[3 + rank],
                *dstStrides = &d[3 + rank];
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return;
  // The inner dims both sides store densely copy as one run of `run`
  // elements (a padded tensor's rows, a slice's planes); unit dims join
  // whatever their strides.
  int64_t inner = rank, run = 1;
  while (inner > 0 &&
         (sizes[inner - 1] == 1 ||
          (srcStrides[inner - 1] == run && dstStrides[inner - 1] == run))) {
    run *= sizes[inner - 1];
    --inner;
  }
  // Without a dense run, the innermost dim is a strided loop of its own.
  bool dense = run > 1 || inner == 0;
  int64_t loopDims = dense ? inner : inner - 1;
  int64_t count = dense ? run : sizes[inner - 1];
  int64_t srcStep = dense ? 0 : srcStrides[inner - 1];
  int64_t dstStep = dense ? 0 : dstStrides[inner - 1];
  std::vector<int64_t> index(loopDims, 0);
  while (true) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i < loopDims; ++i) {
      so += index[i] * srcStrides[i];
      dof += index[i] * dstStrides[i];
    }
    if (dense) {
      std::memcpy(dstBase + dof * elemSize, srcBase + so * elemSize,
                  count * elemSize);
    } else {
      for (int64_t j = 0; j < count; ++j)
        std::memcpy(dstBase + (dof + j * dstStep) * elemSize,
                    srcBase + (so + j * srcStep) * elemSize, elemSize);
    }
    int64_t i = loopDims - 1;
    for (; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
    if (i < 0)
      return;
  }
}

// The functions `finalize-memref-to-llvm{use-generic-functions}` calls
// (use-aligned-alloc stays off: the lowering over-allocates and aligns
// itself, so the aligned variant is never referenced). Hidden: each
// model.so has its own.
__attribute__((visibility("hidden"))) void *
_mlir_memref_to_llvm_alloc(size_t bytes) {
  return qopt::runtime::allocateBuffer(bytes);
}

__attribute__((visibility("hidden"))) void _mlir_memref_to_llvm_free(void *p) {
  qopt::runtime::releaseBuffer(p);
}

} // extern "C"
