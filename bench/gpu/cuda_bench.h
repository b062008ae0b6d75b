// cuda_bench.h - what the CUDA benchmarks share: the error check (a failed
// runtime call prints the call and the error, and exits 1) and the timing
// and report of a throughput kernel.

#ifndef QOPT_BENCH_GPU_CUDA_BENCH_H
#define QOPT_BENCH_GPU_CUDA_BENCH_H

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

/// Runs `kernel(out, seed)` (one int written per thread) on `blocksPerSm`
/// blocks per SM of `threads`: a warm-up launch, then the best of five
/// timed by events, and prints "name  TOPS  (ms, GPU, SMs)" for
/// `opsPerBlock` operations per block.
inline void reportThroughput(const char *name, void (*kernel)(int *, unsigned),
                             int blocksPerSm, int threads,
                             double opsPerBlock) {
  int device;
  CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, device));
  int blocks = prop.multiProcessorCount * blocksPerSm;
  int *out;
  CHECK(cudaMalloc(&out, sizeof(int) * blocks * threads));
  kernel<<<blocks, threads>>>(out, 1u); // warm-up
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  float best = 1e30f;
  for (int rep = 0; rep < 5; ++rep) {
    CHECK(cudaEventRecord(start));
    kernel<<<blocks, threads>>>(out, 2u + rep);
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    best = ms < best ? ms : best;
  }
  double tops = opsPerBlock * blocks / (best * 1e-3) / 1e12;
  std::printf("%-28s %10.1f TOPS  (%.3f ms, %s, %d SMs)\n", name, tops, best,
              prop.name, prop.multiProcessorCount);
  CHECK(cudaEventDestroy(start));
  CHECK(cudaEventDestroy(stop));
  CHECK(cudaFree(out));
}

#endif // QOPT_BENCH_GPU_CUDA_BENCH_H
