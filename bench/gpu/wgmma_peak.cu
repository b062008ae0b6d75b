// wgmma_peak.cu - tensor-core throughput of Hopper's warpgroup MMA (wgmma)
// for the types of mma_peak.cu: b1 and.popc, s8 and f16, so that the device
// run shows what qopt's mma.sync kernels leave on the table on sm_90.
//
//   nvcc -O3 -arch=sm_90a bench/gpu/wgmma_peak.cu -o wgmma_peak && ./wgmma_peak
//
// wgmma needs sm_90a (not sm_90). Each warpgroup (128 threads) issues
// m64n128 wgmma on one accumulator tile (64 registers per thread), A from
// registers, B from a shared-memory descriptor over pseudo-random bytes (no
// global traffic), kBatch per commit group with one group left in flight;
// TOPS = 2 * 64 * 128 * k * wgmmas / time, for b1 counting one AND+POPC bit
// product as one op (as mma_peak.cu does). Prints one line per type, in the
// format of mma_peak.cu, or one line saying why nothing was measured.

#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#include "cuda_bench.h"

constexpr int kIters = 2048, kBatch = 4, kWarpgroups = 2;
// B: N = 128 rows of K (32 bytes for s8 k32 and b1 k256, 32 bytes for f16
// k16), as 8-row x 16-byte core matrices without swizzle.
constexpr int kBBytes = 128 * 32;

#define D64                                                                    \
  "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "    \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, "     \
  "%30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, "     \
  "%44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, "     \
  "%58, %59, %60, %61, %62, %63}"
// A's four registers, B's descriptor: operands 64 to 68.
#define AB "{%64, %65, %66, %67}, %68"

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ACC_R                                                                  \
  "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]),      \
      "+r"(d[6]), "+r"(d[7]), "+r"(d[8]), "+r"(d[9]), "+r"(d[10]),             \
      "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),         \
      "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]),         \
      "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]), "+r"(d[25]),         \
      "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]),         \
      "+r"(d[31]), "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]),         \
      "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]),         \
      "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]),         \
      "+r"(d[46]), "+r"(d[47]), "+r"(d[48]), "+r"(d[49]), "+r"(d[50]),         \
      "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),         \
      "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]),         \
      "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
#define ACC_F                                                                  \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),      \
      "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]),             \
      "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),         \
      "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]),         \
      "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),         \
      "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]),         \
      "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]),         \
      "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),         \
      "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]),         \
      "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]),         \
      "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),         \
      "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]),         \
      "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define A_B                                                                    \
  "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc)
#endif

// One wgmma of each measured type, accumulating into d (the predicate
// scale-d true).
struct B1AndPopc { // m64n128k256 b1 x b1 -> s32, AND + POPC
  using Acc = int;
  static constexpr int k = 256;
  __device__ static void mma(int (&d)[64], const unsigned (&a)[4],
                             unsigned long long desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{ .reg .pred p; setp.ne.b32 p, 1, 0; "
                 "wgmma.mma_async.sync.aligned.m64n128k256.s32.b1.b1.and.popc "
                 D64 ", " AB ", p; }"
                 : ACC_R
                 : A_B);
#endif
  }
};
struct S8 { // m64n128k32 s8 x s8 -> s32
  using Acc = int;
  static constexpr int k = 32;
  __device__ static void mma(int (&d)[64], const unsigned (&a)[4],
                             unsigned long long desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{ .reg .pred p; setp.ne.b32 p, 1, 0; "
                 "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 " D64
                 ", " AB ", p; }"
                 : ACC_R
                 : A_B);
#endif
  }
};
struct F16 { // m64n128k16 f16 x f16 -> f32
  using Acc = float;
  static constexpr int k = 16;
  __device__ static void mma(float (&d)[64], const unsigned (&a)[4],
                             unsigned long long desc) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    // scale-d 1, A and B not negated (1, 1), B not transposed (0).
    asm volatile("{ .reg .pred p; setp.ne.b32 p, 1, 0; "
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 " D64
                 ", " AB ", p, 1, 1, 0; }"
                 : ACC_F
                 : A_B);
#endif
  }
};

// The shared-memory matrix descriptor of B: start address >> 4 (bits
// 0-13), leading-dimension byte offset >> 4 (16-29: the next core matrix
// along K, 128 bytes on), stride byte offset >> 4 (32-45: the next 8 rows
// along N, 256 bytes on), no swizzle (bits 62-63 zero).
__device__ unsigned long long bDescriptor(const void *smem) {
  unsigned long long addr = static_cast<unsigned long long>(
      __cvta_generic_to_shared(smem));
  return ((addr >> 4) & 0x3FFF) | ((128ull >> 4) << 16) |
         ((256ull >> 4) << 32);
}

template <typename Type> __global__ void wgmmaKernel(int *out, unsigned seed) {
  __shared__ __align__(128) unsigned char b[kBBytes];
  for (int i = threadIdx.x; i < kBBytes; i += blockDim.x)
    b[i] = static_cast<unsigned char>((i * 2654435761u + seed) >> 24);
  __syncthreads();
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  // The generic-proxy stores above, visible to the async proxy's reads.
  asm volatile("fence.proxy.async.shared::cta;");
  __syncthreads();
#endif
  typename Type::Acc d[64] = {};
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  const unsigned a[4] = {seed * 3 + threadIdx.x, seed * 5, seed * 7,
                         seed * 11 + threadIdx.x};
  unsigned long long desc = bDescriptor(b);
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
  for (int it = 0; it < kIters; ++it) {
#pragma unroll
    for (int i = 0; i < kBatch; ++i)
      Type::mma(d, a, desc);
    asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
    asm volatile("wgmma.wait_group.sync.aligned 1;" ::: "memory");
  }
  asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory");
#endif
  typename Type::Acc s = 0;
  for (int i = 0; i < 64; ++i)
    s += d[i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = static_cast<int>(s);
}

template <typename Type> static void measure(const char *name) {
  double wgmmasPerBlock = double(kWarpgroups) * kIters * kBatch;
  reportThroughput(name, wgmmaKernel<Type>, 2, 128 * kWarpgroups,
                   2.0 * 64 * 128 * Type::k * wgmmasPerBlock);
}

int main() {
  int device;
  CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, device));
  if (prop.major != 9) {
    std::printf("wgmma: not measured (%s is sm_%d%d; wgmma needs sm_90a)\n",
                prop.name, prop.major, prop.minor);
    return 0;
  }
  measure<B1AndPopc>("wgmma b1 and.popc m64n128k256");
  measure<S8>("wgmma s8 m64n128k32");
  measure<F16>("wgmma f16 m64n128k16 (f32 acc)");
  return 0;
}
