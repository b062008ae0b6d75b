// cuda_check.h - the CUDA benchmarks' error check: a failed runtime call
// prints the call and the error, and exits 1.

#ifndef QOPT_BENCH_GPU_CUDA_CHECK_H
#define QOPT_BENCH_GPU_CUDA_CHECK_H

#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e = (x);                                                       \
    if (e != cudaSuccess) {                                                    \
      std::fprintf(stderr, "%s: %s\n", #x, cudaGetErrorString(e));            \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

#endif // QOPT_BENCH_GPU_CUDA_CHECK_H
