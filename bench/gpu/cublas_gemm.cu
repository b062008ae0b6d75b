// cublas_gemm.cu - cuBLAS peers for qopt's GPU kernels: Y[M,N] = X[M,K] W^T
// in FP16 (f32 accumulation) and INT8 (s32), device-resident operands,
// median kernel time of repeated calls.
//
//   nvcc -O3 bench/gpu/cublas_gemm.cu -lcublas -o cublas_gemm
//   ./cublas_gemm M N K [reps]     ->  "fp16 <ms> int8 <ms>" (one line)
//
// INT8 uses cublasGemmEx with CUDA_R_8I inputs, CUDA_R_32I output and
// CUBLAS_COMPUTE_32I (row-major X and W, as qopt's activations and weights:
// W^T X^T in cuBLAS's column-major view); it needs K and the leading
// dimensions to be multiples of 4, which LLaMA's shapes are.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <vector>

#include "cuda_bench.h"

#define CHECK_BLAS(x)                                                          \
  do {                                                                         \
    cublasStatus_t s = (x);                                                    \
    if (s != CUBLAS_STATUS_SUCCESS) {                                          \
      std::fprintf(stderr, "%s: cuBLAS status %d\n", #x, int(s));             \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

template <typename F> static float medianMs(F call, int reps) {
  cudaEvent_t start, stop;
  CHECK(cudaEventCreate(&start));
  CHECK(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i)
    call();
  CHECK(cudaDeviceSynchronize());
  std::vector<float> times;
  for (int i = 0; i < reps; ++i) {
    CHECK(cudaEventRecord(start));
    call();
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s M N K [reps]\n", argv[0]);
    return 2;
  }
  int m = std::atoi(argv[1]), n = std::atoi(argv[2]), k = std::atoi(argv[3]);
  int reps = argc > 4 ? std::atoi(argv[4]) : 100;
  cublasHandle_t handle;
  CHECK_BLAS(cublasCreate(&handle));

  half *xh, *wh, *yh;
  CHECK(cudaMalloc(&xh, sizeof(half) * m * k));
  CHECK(cudaMalloc(&wh, sizeof(half) * n * k));
  CHECK(cudaMalloc(&yh, sizeof(half) * m * n));
  CHECK(cudaMemset(xh, 0, sizeof(half) * m * k));
  CHECK(cudaMemset(wh, 0, sizeof(half) * n * k));
  float one = 1.0f, zero = 0.0f;
  // Row-major Y = X W^T is column-major Y^T = W X^T: A = W (k x n, "T"),
  // B = X^T (k x m).
  float fp16 = medianMs(
      [&] {
        CHECK_BLAS(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k,
                                &one, wh, CUDA_R_16F, k, xh, CUDA_R_16F, k,
                                &zero, yh, CUDA_R_16F, n, CUBLAS_COMPUTE_32F,
                                CUBLAS_GEMM_DEFAULT));
      },
      reps);

  int8_t *xi, *wi;
  int32_t *yi;
  CHECK(cudaMalloc(&xi, m * k));
  CHECK(cudaMalloc(&wi, n * k));
  CHECK(cudaMalloc(&yi, sizeof(int32_t) * m * n));
  CHECK(cudaMemset(xi, 1, m * k));
  CHECK(cudaMemset(wi, 1, n * k));
  int32_t ione = 1, izero = 0;
  float int8 = medianMs(
      [&] {
        CHECK_BLAS(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k,
                                &ione, wi, CUDA_R_8I, k, xi, CUDA_R_8I, k,
                                &izero, yi, CUDA_R_32I, n, CUBLAS_COMPUTE_32I,
                                CUBLAS_GEMM_DEFAULT));
      },
      reps);
  std::printf("fp16 %.5f int8 %.5f\n", fp16, int8);
  cublasDestroy(handle);
  return 0;
}
