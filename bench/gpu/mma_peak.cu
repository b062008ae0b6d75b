// mma_peak.cu - tensor-core throughput of mma.sync on this GPU, for the
// shapes qopt's kernels use (binary b1 and.popc) and the peers (s8, f16).
//
//   nvcc -O3 -arch=sm_80 bench/gpu/mma_peak.cu -o mma_peak && ./mma_peak
//
// Each warp issues ILP independent chains of the same mma.sync in a loop
// (registers only, no memory traffic); TOPS = 2 * m * n * k * mmas / time
// (for b1, one "op" is one AND+POPC bit product and its accumulation, the
// convention of NVIDIA's binary TOPS figures). Prints one line per shape.
// Needs sm_80+ (b1 .and.popc; .xor.popc does not exist on sm_90).

#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#include "cuda_bench.h"

constexpr int kIlp = 4;
constexpr int kIters = 4096;

// One mma.sync of each measured shape on its accumulator fragment.
struct B1AndPopc { // m16n8k256 b1 x b1 -> s32, AND + POPC
  using Acc = int;
  __device__ static void mma(int (&c)[4], const unsigned (&a)[4],
                             const unsigned (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                   "r"(b[1]));
  }
};
struct S8 { // m16n8k32 s8 x s8 -> s32
  using Acc = int;
  __device__ static void mma(int (&c)[4], const unsigned (&a)[4],
                             const unsigned (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                   "r"(b[1]));
  }
};
struct F16 { // m16n8k16 f16 x f16 -> f32
  using Acc = float;
  __device__ static void mma(float (&c)[4], const unsigned (&a)[4],
                             const unsigned (&b)[2]) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                   "r"(b[1]));
  }
};

// kIlp independent accumulator chains per warp, kIters steps each.
template <typename Shape> __global__ void mmaKernel(int *out, unsigned seed) {
  const unsigned a[4] = {seed, seed * 3, seed * 5, seed * 7};
  const unsigned b[2] = {seed * 11, seed * 13};
  typename Shape::Acc c[kIlp][4] = {};
  for (int it = 0; it < kIters; ++it) {
#pragma unroll
    for (int i = 0; i < kIlp; ++i)
      Shape::mma(c[i], a, b);
  }
  typename Shape::Acc s = 0;
  for (int i = 0; i < kIlp; ++i)
    s += c[i][0] + c[i][1] + c[i][2] + c[i][3];
  out[blockIdx.x * blockDim.x + threadIdx.x] = static_cast<int>(s);
}

template <typename Shape>
static void measure(const char *name, int m, int n, int k) {
  constexpr int threads = 128;
  double mmasPerBlock = double(threads / 32) * kIters * kIlp;
  reportThroughput(name, mmaKernel<Shape>, 8, threads,
                   2.0 * m * n * k * mmasPerBlock);
}

int main() {
  measure<B1AndPopc>("mma.sync b1 and.popc m16n8k256", 16, 8, 256);
  measure<S8>("mma.sync s8 m16n8k32", 16, 8, 32);
  measure<F16>("mma.sync f16 m16n8k16 (f32 acc)", 16, 8, 16);
  return 0;
}
