//===- CudaEmuTest.cpp - the PTX emulator through its driver API ----------===//
//
// Small hand-written PTX kernels launched through libqopt_cuda_emu's
// cu* entry points: every mma.sync shape against a plain matrix product
// (the fragments built from the PTX ISA's "Matrix Fragments" formulas,
// written here a second time), shfl/vote/bar.sync semantics, scalar
// arithmetic, fatbin images, dynamic shared memory and its opt-in, and the
// errors (out-of-bounds store, unknown opcode).
//
//===----------------------------------------------------------------------===//

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
int cuInit(unsigned);
int cuDeviceGetAttribute(int *, int, int);
int cuDeviceGetName(char *, int, int);
int cuModuleLoadData(void **, const void *);
int cuModuleUnload(void *);
int cuModuleGetFunction(void **, void *, const char *);
int cuLaunchKernel(void *, unsigned, unsigned, unsigned, unsigned, unsigned,
                   unsigned, unsigned, void *, void **, void **);
int cuFuncSetAttribute(void *, int, int);
int cuMemAlloc_v2(unsigned long long *, size_t);
int cuMemFree_v2(unsigned long long);
int cuMemcpyAsync(unsigned long long, unsigned long long, size_t, void *);
}

namespace {

const char *kHeader = ".version 7.1\n.target sm_80\n.address_size 64\n";

unsigned long long devPtr(const void *p) {
  return static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(p));
}

/// A device buffer holding `data`, copied back by `read`.
template <typename T> struct Buffer {
  unsigned long long ptr = 0;
  size_t n;
  explicit Buffer(const std::vector<T> &data) : n(data.size()) {
    EXPECT_EQ(cuMemAlloc_v2(&ptr, n * sizeof(T)), 0);
    EXPECT_EQ(cuMemcpyAsync(ptr, devPtr(data.data()), n * sizeof(T), nullptr),
              0);
  }
  explicit Buffer(size_t count) : Buffer(std::vector<T>(count)) {}
  std::vector<T> read() const {
    std::vector<T> out(n);
    EXPECT_EQ(cuMemcpyAsync(devPtr(out.data()), ptr, n * sizeof(T), nullptr),
              0);
    return out;
  }
  ~Buffer() { cuMemFree_v2(ptr); }
};

/// Loads `ptx`, launches kernel `k` with pointer arguments.
int run(const std::string &ptx, unsigned blocks, unsigned threads,
        std::vector<unsigned long long> args) {
  void *module = nullptr;
  int r = cuModuleLoadData(&module, ptx.c_str());
  if (r)
    return r;
  void *fn = nullptr;
  EXPECT_EQ(cuModuleGetFunction(&fn, module, "k"), 0);
  std::vector<void *> params;
  for (auto &a : args)
    params.push_back(&a);
  r = cuLaunchKernel(fn, blocks, 1, 1, threads, 1, 1, 0, nullptr, params.data(),
                     nullptr);
  cuModuleUnload(module);
  return r;
}

/// A kernel `k(p0, p1, ...)` whose body sees %rd0.. as the global pointers
/// and %r0 = %tid.x.
std::string kernel(int nptr, const std::string &body,
                   const std::string &decls = "") {
  std::string s = kHeader;
  s += ".visible .entry k(";
  for (int i = 0; i < nptr; ++i)
    s += std::string(i ? ", " : "") + ".param .u64 p" + std::to_string(i);
  s += ")\n{\n  .reg .pred %p<16>;\n  .reg .b16 %h<16>;\n"
       "  .reg .b32 %r<128>;\n  .reg .b64 %rd<64>;\n  .reg .b64 %q<8>;\n" +
       decls;
  for (int i = 0; i < nptr; ++i)
    s += "  ld.param.u64 %q" + std::to_string(i) + ", [p" + std::to_string(i) +
         "];\n  cvta.to.global.u64 %rd" + std::to_string(i) + ", %q" +
         std::to_string(i) + ";\n";
  s += "  mov.u32 %r0, %tid.x;\n" + body + "  ret;\n}\n";
  return s;
}

TEST(CudaEmu, Device) {
  EXPECT_EQ(cuInit(0), 0);
  int major = 0, minor = 0;
  EXPECT_EQ(cuDeviceGetAttribute(&major, 75, 0), 0);
  EXPECT_EQ(cuDeviceGetAttribute(&minor, 76, 0), 0);
  if (!std::getenv("QOPT_CUDA_EMU_CC")) {
    EXPECT_EQ(major, 8);
    EXPECT_EQ(minor, 0);
  }
  char name[64];
  EXPECT_EQ(cuDeviceGetName(name, sizeof(name), 0), 0);
  EXPECT_STREQ(name, "qopt PTX emulator");
}

//===----------------------------------------------------------------------===//
// mma.sync: fragments from the PTX ISA, against a plain matrix product
//===----------------------------------------------------------------------===//

enum class Kind { B1, I8, F16 };

struct Shape {
  const char *name;
  int m, n, k;
  Kind kind;
  int aRegs, bRegs, cRegs;
};

// The (row, col) of fragment element i of `lane`, per the PTX ISA sections
// "Matrix Fragments for mma.mMnNkK" (A: row, k; B: k, col; C: row, col).
void aPos(const Shape &s, int lane, int i, int &row, int &col) {
  int g = lane >> 2, t = lane % 4;
  std::string n = s.name;
  if (n == "m8n8k128") {
    row = g, col = t * 32 + i;
  } else if (n == "m16n8k128") {
    row = i < 32 ? g : g + 8, col = t * 32 + (i & 0x1F);
  } else if (n == "m16n8k256") {
    row = (i < 32 || (64 <= i && i < 96)) ? g : g + 8;
    col = i < 64 ? t * 32 + (i & 0x1F) : t * 32 + (i & 0x1F) + 128;
  } else if (n == "m8n8k16") {
    row = g, col = t * 4 + i;
  } else if (n == "m16n8k16" && s.kind == Kind::I8) {
    row = i < 4 ? g : g + 8, col = t * 4 + (i & 0x3);
  } else if (n == "m16n8k32") {
    row = (i < 4 || (8 <= i && i < 12)) ? g : g + 8;
    col = i < 8 ? t * 4 + (i & 0x3) : t * 4 + (i & 0x3) + 16;
  } else if (n == "m16n8k16") { // f16 / bf16
    row = (i < 2 || (4 <= i && i < 6)) ? g : g + 8;
    col = i < 4 ? t * 2 + (i & 0x1) : t * 2 + (i & 0x1) + 8;
  } else { // m16n8k8 f16
    row = i < 2 ? g : g + 8, col = t * 2 + (i & 0x1);
  }
}

void bPos(const Shape &s, int lane, int i, int &row, int &col) {
  int g = lane >> 2, t = lane % 4;
  std::string n = s.name;
  col = g;
  if (n == "m8n8k128" || n == "m16n8k128")
    row = t * 32 + i;
  else if (n == "m16n8k256")
    row = i < 32 ? t * 32 + (i & 0x1F) : t * 32 + (i & 0x1F) + 128;
  else if (n == "m8n8k16" || (n == "m16n8k16" && s.kind == Kind::I8))
    row = t * 4 + i;
  else if (n == "m16n8k32")
    row = i < 4 ? t * 4 + (i & 0x3) : t * 4 + (i & 0x3) + 16;
  else if (n == "m16n8k16")
    row = i < 2 ? t * 2 + (i & 0x1) : t * 2 + (i & 0x1) + 8;
  else
    row = t * 2 + i;
}

void cPos(const Shape &s, int lane, int i, int &row, int &col) {
  int g = lane >> 2, t = lane % 4;
  row = (s.m == 8 || i < 2) ? g : g + 8;
  col = t * 2 + (i & 0x1);
}

uint16_t toHalf(float f) {
  _Float16 h = static_cast<_Float16>(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
uint16_t toBf16(float f) { // exact for the small values used here
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<uint16_t>(b >> 16);
}

/// One warp: lane l loads its fragments from a[l * aRegs + r] etc., runs
/// the mma and stores D the same way.
std::string mmaKernel(const Shape &s, const std::string &opcode) {
  std::string body = "  mul.wide.u32 %rd10, %r0, 4;\n";
  auto load = [&](int p, int regs, int first, std::string &list) {
    std::string addr = "%rd" + std::to_string(20 + p);
    body += "  mul.wide.u32 %rd30, %r0, " + std::to_string(regs * 4) +
            ";\n  add.s64 " + addr + ", %rd" + std::to_string(p) + ", %rd30;\n";
    for (int r = 0; r < regs; ++r) {
      std::string reg = "%r" + std::to_string(first + r);
      body += "  ld.global.b32 " + reg + ", [" + addr + "+" +
              std::to_string(r * 4) + "];\n";
      list += (r ? ", " : "") + reg;
    }
  };
  std::string a, b, c, d;
  load(0, s.aRegs, 10, a);
  load(1, s.bRegs, 20, b);
  load(2, s.cRegs, 30, c);
  for (int r = 0; r < s.cRegs; ++r)
    d += (r ? ", " : "") + std::string("%r") + std::to_string(40 + r);
  body +=
      "  " + opcode + " {" + d + "}, {" + a + "}, {" + b + "}, {" + c + "};\n";
  body += "  mul.wide.u32 %rd30, %r0, " + std::to_string(s.cRegs * 4) +
          ";\n  add.s64 %rd31, %rd3, %rd30;\n";
  for (int r = 0; r < s.cRegs; ++r)
    body += "  st.global.b32 [%rd31+" + std::to_string(r * 4) + "], %r" +
            std::to_string(40 + r) + ";\n";
  return kernel(4, body);
}

/// Runs `opcode` on random A, B, C and compares D with A * B + C.
/// elem: 0 s8, 1 u8, 2 f16, 3 bf16 (A and B may differ for ints).
void checkMma(const Shape &s, const std::string &opcode, int aElem = 0,
              int bElem = 0, bool xorPopc = false) {
  std::mt19937 rng(1234);
  int M = s.m, N = s.n, K = s.k;
  std::vector<double> A(M * K), B(K * N), C(M * N);
  auto pick = [&](int elem) -> double {
    switch (elem) {
    case 0:
      return static_cast<int>(rng() % 256) - 128;
    case 1:
      return static_cast<int>(rng() % 256);
    default: // small multiples of 1/4: products and sums exact in f32
      return (static_cast<int>(rng() % 17) - 8) / 4.0;
    }
  };
  for (auto &x : A)
    x = s.kind == Kind::B1 ? rng() % 2 : pick(aElem);
  for (auto &x : B)
    x = s.kind == Kind::B1 ? rng() % 2 : pick(bElem);
  for (auto &x : C)
    x = s.kind == Kind::F16 ? (static_cast<int>(rng() % 64) - 32) / 2.0
                            : static_cast<int>(rng() % 2001) - 1000;
  int bits = s.kind == Kind::B1 ? 1 : s.kind == Kind::I8 ? 8 : 16;
  int per = 32 / bits;
  std::vector<uint32_t> fa(32 * s.aRegs), fb(32 * s.bRegs), fc(32 * s.cRegs);
  auto encode = [&](double x, int elem) -> uint32_t {
    if (s.kind == Kind::B1)
      return static_cast<uint32_t>(x);
    if (s.kind == Kind::I8)
      return static_cast<uint32_t>(static_cast<int>(x)) & 0xFF;
    return elem == 3 ? toBf16(static_cast<float>(x))
                     : toHalf(static_cast<float>(x));
  };
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < s.aRegs * per; ++i) {
      int row, col;
      aPos(s, lane, i, row, col);
      fa[lane * s.aRegs + i / per] |= encode(A[row * K + col], aElem)
                                      << (bits * (i % per));
    }
    for (int i = 0; i < s.bRegs * per; ++i) {
      int row, col;
      bPos(s, lane, i, row, col);
      fb[lane * s.bRegs + i / per] |= encode(B[row * N + col], bElem)
                                      << (bits * (i % per));
    }
    for (int i = 0; i < s.cRegs; ++i) {
      int row, col;
      cPos(s, lane, i, row, col);
      double v = C[row * N + col];
      if (s.kind == Kind::F16) {
        float f = static_cast<float>(v);
        std::memcpy(&fc[lane * s.cRegs + i], &f, 4);
      } else {
        fc[lane * s.cRegs + i] = static_cast<uint32_t>(static_cast<int>(v));
      }
    }
  }
  Buffer<uint32_t> da(fa), db(fb), dc(fc), dd(32 * s.cRegs);
  ASSERT_EQ(run(mmaKernel(s, opcode), 1, 32, {da.ptr, db.ptr, dc.ptr, dd.ptr}),
            0)
      << opcode;
  std::vector<uint32_t> out = dd.read();
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < s.cRegs; ++i) {
      int row, col;
      cPos(s, lane, i, row, col);
      double want = C[row * N + col];
      for (int k = 0; k < K; ++k) {
        double x = A[row * K + k], y = B[k * N + col];
        want += s.kind == Kind::B1 ? (xorPopc ? (x != y) : (x && y)) : x * y;
      }
      uint32_t got = out[lane * s.cRegs + i];
      if (s.kind == Kind::F16) {
        float f;
        std::memcpy(&f, &got, 4);
        EXPECT_EQ(f, static_cast<float>(want))
            << opcode << " D[" << row << "][" << col << "]";
      } else {
        EXPECT_EQ(static_cast<int32_t>(got), static_cast<int32_t>(want))
            << opcode << " D[" << row << "][" << col << "]";
      }
    }
}

TEST(CudaEmu, MmaB1) {
  Shape m8{"m8n8k128", 8, 8, 128, Kind::B1, 1, 1, 2};
  Shape m128{"m16n8k128", 16, 8, 128, Kind::B1, 2, 1, 4};
  Shape m256{"m16n8k256", 16, 8, 256, Kind::B1, 4, 2, 4};
  for (const Shape *s : {&m8, &m128, &m256}) {
    std::string base =
        std::string("mma.sync.aligned.") + s->name + ".row.col.s32.b1.b1.s32";
    checkMma(*s, base + ".and.popc");
    checkMma(*s, base + ".xor.popc", 0, 0, true);
  }
}

TEST(CudaEmu, MmaInt8) {
  Shape k16{"m16n8k16", 16, 8, 16, Kind::I8, 2, 1, 4};
  Shape k32{"m16n8k32", 16, 8, 32, Kind::I8, 4, 2, 4};
  Shape m8{"m8n8k16", 8, 8, 16, Kind::I8, 1, 1, 2};
  for (const Shape *s : {&k16, &k32, &m8}) {
    std::string base = std::string("mma.sync.aligned.") + s->name + ".row.col";
    checkMma(*s, base + ".s32.s8.s8.s32", 0, 0);
    checkMma(*s, base + ".s32.u8.s8.s32", 1, 0);
    checkMma(*s, base + ".s32.s8.u8.s32", 0, 1);
    checkMma(*s, base + ".satfinite.s32.u8.u8.s32", 1, 1);
  }
}

TEST(CudaEmu, MmaHalf) {
  Shape k16{"m16n8k16", 16, 8, 16, Kind::F16, 4, 2, 4};
  Shape k8{"m16n8k8", 16, 8, 8, Kind::F16, 2, 1, 4};
  for (const Shape *s : {&k16, &k8}) {
    std::string base = std::string("mma.sync.aligned.") + s->name + ".row.col";
    checkMma(*s, base + ".f32.f16.f16.f32", 2, 2);
    checkMma(*s, base + ".f32.bf16.bf16.f32", 3, 3);
  }
}

//===----------------------------------------------------------------------===//
// Warp and block collectives
//===----------------------------------------------------------------------===//

TEST(CudaEmu, Shfl) {
  // Two warps; out[8 * tid + j]: bfly 1, idx 5, up 3, down 3 (clamped
  // lanes keep their own value), and the up predicate.
  std::string body = R"(
  mul.lo.s32 %r1, %r0, 10;
  shfl.sync.bfly.b32 %r2, %r1, 1, 31, -1;
  shfl.sync.idx.b32 %r3, %r1, 5, 31, -1;
  shfl.sync.up.b32 %r4|%p1, %r1, 3, 0, -1;
  shfl.sync.down.b32 %r5, %r1, 3, 31, -1;
  selp.u32 %r6, 1, 0, %p1;
  mul.wide.u32 %rd5, %r0, 32;
  add.s64 %rd6, %rd0, %rd5;
  st.global.v4.b32 [%rd6], {%r2, %r3, %r4, %r5};
  st.global.b32 [%rd6+16], %r6;
)";
  Buffer<uint32_t> out(64 * 8);
  ASSERT_EQ(run(kernel(1, body), 1, 64, {out.ptr}), 0);
  std::vector<uint32_t> o = out.read();
  for (unsigned t = 0; t < 64; ++t) {
    unsigned lane = t % 32, base = t - lane;
    EXPECT_EQ(o[8 * t], 10 * (base + (lane ^ 1)));
    EXPECT_EQ(o[8 * t + 1], 10 * (base + 5));
    EXPECT_EQ(o[8 * t + 2], 10 * (lane >= 3 ? t - 3 : t));
    EXPECT_EQ(o[8 * t + 3], 10 * (lane + 3 <= 31 ? t + 3 : t));
    EXPECT_EQ(o[8 * t + 4], lane >= 3 ? 1u : 0u);
  }
}

TEST(CudaEmu, Vote) {
  std::string body = R"(
  rem.u32 %r1, %r0, 3;
  setp.eq.u32 %p1, %r1, 0;
  vote.sync.ballot.b32 %r2, %p1, -1;
  vote.sync.any.pred %p2, %p1, -1;
  vote.sync.all.pred %p3, !%p1, -1;
  selp.u32 %r3, 1, 0, %p2;
  selp.u32 %r4, 1, 0, %p3;
  mul.wide.u32 %rd5, %r0, 12;
  add.s64 %rd6, %rd0, %rd5;
  st.global.b32 [%rd6], %r2;
  st.global.b32 [%rd6+4], %r3;
  st.global.b32 [%rd6+8], %r4;
)";
  Buffer<uint32_t> out(64 * 3);
  ASSERT_EQ(run(kernel(1, body), 1, 64, {out.ptr}), 0);
  std::vector<uint32_t> o = out.read();
  for (unsigned t = 0; t < 64; ++t) {
    uint32_t want = 0;
    for (unsigned l = 0; l < 32; ++l)
      if ((t - t % 32 + l) % 3 == 0)
        want |= 1u << l;
    EXPECT_EQ(o[3 * t], want);
    EXPECT_EQ(o[3 * t + 1], 1u);
    EXPECT_EQ(o[3 * t + 2], 0u);
  }
}

TEST(CudaEmu, BarSyncAndSharedMemory) {
  // Each thread writes s[tid]; after bar.sync it reads its neighbour's
  // slot (written by another warp for tid 31, 63, ...). Three blocks: the
  // block index goes into the value.
  std::string decls = "  .shared .align 4 .b8 s[512];\n";
  std::string body = R"(
  mov.u32 %r1, %ctaid.x;
  mad.lo.s32 %r2, %r1, 1000, %r0;
  mov.u64 %rd5, s;
  mul.wide.u32 %rd6, %r0, 4;
  add.s64 %rd7, %rd5, %rd6;
  st.shared.b32 [%rd7], %r2;
  bar.sync 0;
  add.s32 %r3, %r0, 1;
  rem.u32 %r4, %r3, 128;
  mul.wide.u32 %rd8, %r4, 4;
  add.s64 %rd9, %rd5, %rd8;
  ld.shared.b32 %r5, [%rd9];
  mad.lo.s32 %r6, %r1, 128, %r0;
  mul.wide.u32 %rd10, %r6, 4;
  add.s64 %rd11, %rd0, %rd10;
  st.global.b32 [%rd11], %r5;
)";
  Buffer<uint32_t> out(3 * 128);
  ASSERT_EQ(run(kernel(1, body, decls), 3, 128, {out.ptr}), 0);
  std::vector<uint32_t> o = out.read();
  for (unsigned b = 0; b < 3; ++b)
    for (unsigned t = 0; t < 128; ++t)
      EXPECT_EQ(o[b * 128 + t], b * 1000 + (t + 1) % 128);
}

TEST(CudaEmu, DynamicSharedMemoryNeedsTheKernelsOptIn) {
  // Thread t writes t at the end of 96 KiB of `.extern .shared` memory and
  // reads it back: beyond 48 KiB a launch needs cuFuncSetAttribute
  // (MAX_DYNAMIC_SHARED_SIZE_BYTES, 8) first, up to the device's opt-in
  // limit (163 KiB on the default sm_80).
  std::string ptx = std::string(kHeader) +
                    ".extern .shared .align 16 .b8 dyn[];\n" +
                    kernel(1, R"(
  mov.u64 %rd5, dyn;
  mul.wide.u32 %rd6, %r0, 4;
  add.s64 %rd7, %rd5, %rd6;
  add.s64 %rd8, %rd7, 98176;
  st.shared.b32 [%rd8], %r0;
  bar.sync 0;
  ld.shared.b32 %r1, [%rd8];
  add.s64 %rd9, %rd0, %rd6;
  st.global.b32 [%rd9], %r1;
)")
                        .substr(std::strlen(kHeader));
  void *module = nullptr;
  ASSERT_EQ(cuModuleLoadData(&module, ptx.c_str()), 0);
  void *fn = nullptr;
  ASSERT_EQ(cuModuleGetFunction(&fn, module, "k"), 0);
  Buffer<uint32_t> out(32);
  void *params[] = {&out.ptr};
  const unsigned bytes = 96 * 1024;
  testing::internal::CaptureStderr();
  EXPECT_EQ(
      cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, bytes, nullptr, params, nullptr),
      1); // CUDA_ERROR_INVALID_VALUE
  EXPECT_EQ(cuFuncSetAttribute(fn, 8, 200 * 1024), 1);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("cuFuncSetAttribute raises it"), std::string::npos) << err;
  EXPECT_NE(err.find("exceed the device's"), std::string::npos) << err;
  ASSERT_EQ(cuFuncSetAttribute(fn, 8, bytes), 0);
  ASSERT_EQ(
      cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, bytes, nullptr, params, nullptr),
      0);
  std::vector<uint32_t> o = out.read();
  for (unsigned t = 0; t < 32; ++t)
    EXPECT_EQ(o[t], t);
  // One byte past what the launch gave is out of bounds.
  testing::internal::CaptureStderr();
  EXPECT_NE(cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, bytes - 4, nullptr, params,
                           nullptr),
            0);
  testing::internal::GetCapturedStderr();
  cuModuleUnload(module);
}

TEST(CudaEmu, CpAsyncLandsAtWaitGroup) {
  // The copy is visible after cp.async.wait_group, not before: a read
  // before the wait sees the old shared value; src-size 4 zero-fills.
  std::string decls = "  .shared .align 16 .b8 s[32];\n";
  std::string body = R"(
  mov.u64 %rd5, s;
  mov.b32 %r1, 7;
  st.shared.b32 [%rd5], %r1;
  cp.async.cg.shared.global [%rd5], [%rd0], 16;
  cp.async.ca.shared.global [%rd5+16], [%rd0], 8, 4;
  cp.async.commit_group;
  ld.shared.b32 %r2, [%rd5];
  cp.async.wait_group 0;
  ld.shared.v4.b32 {%r3, %r4, %r5, %r6}, [%rd5];
  ld.shared.v2.b32 {%r7, %r8}, [%rd5+16];
  st.global.v4.b32 [%rd1], {%r2, %r3, %r4, %r5};
  st.global.v2.b32 [%rd1+16], {%r6, %r7};
  st.global.b32 [%rd1+24], %r8;
)";
  Buffer<uint32_t> in(std::vector<uint32_t>{11, 12, 13, 14});
  Buffer<uint32_t> out(8);
  ASSERT_EQ(run(kernel(2, body, decls), 1, 1, {in.ptr, out.ptr}), 0);
  std::vector<uint32_t> o = out.read();
  EXPECT_EQ(o[0], 7u);
  EXPECT_EQ(o[1], 11u);
  EXPECT_EQ(o[4], 14u);
  EXPECT_EQ(o[5], 11u);
  EXPECT_EQ(o[6], 0u);
}

//===----------------------------------------------------------------------===//
// Scalar arithmetic
//===----------------------------------------------------------------------===//

TEST(CudaEmu, ScalarOps) {
  std::string body = R"(
  ld.global.b32 %r1, [%rd0];
  ld.global.b32 %r2, [%rd0+4];
  div.rn.f32 %r3, %r1, %r2;
  cvt.rni.f32.f32 %r4, %r3;
  cvt.rzi.s32.f32 %r5, %r3;
  fma.rn.f32 %r6, %r1, %r2, %r3;
  mov.b32 %r7, 0f7FC00000;
  max.NaN.f32 %r8, %r1, %r7;
  max.f32 %r9, %r1, %r7;
  setp.gtu.f32 %p1, %r7, %r1;
  setp.gt.f32 %p2, %r7, %r1;
  selp.u32 %r10, 1, 0, %p1;
  selp.u32 %r11, 1, 0, %p2;
  cvt.rn.f16.f32 %h1, %r3;
  cvt.f32.f16 %r12, %h1;
  mov.b32 %r13, {%h1, %h1};
  bfe.u32 %r14, %r13, 4, 8;
  bfe.s32 %r15, %r13, 12, 4;
  prmt.b32 %r16, %r13, %r5, 0x7614;
  popc.b32 %r17, %r13;
  mul.hi.s32 %r18, %r5, -7;
  brev.b32 %r19, %r5;
  cvt.rni.s32.f32 %r20, 0f7F800000;
  st.global.v4.b32 [%rd1], {%r3, %r4, %r5, %r6};
  st.global.v4.b32 [%rd1+16], {%r8, %r9, %r10, %r11};
  st.global.v4.b32 [%rd1+32], {%r12, %r13, %r14, %r15};
  st.global.v4.b32 [%rd1+48], {%r16, %r17, %r18, %r19};
  st.global.b32 [%rd1+64], %r20;
)";
  float a = -7.3f, b = 2.1f;
  std::vector<uint32_t> in(2);
  std::memcpy(&in[0], &a, 4);
  std::memcpy(&in[1], &b, 4);
  Buffer<uint32_t> din(in), dout(17);
  ASSERT_EQ(run(kernel(2, body), 1, 1, {din.ptr, dout.ptr}), 0);
  std::vector<uint32_t> o = dout.read();
  auto f = [&](int i) {
    float x;
    std::memcpy(&x, &o[i], 4);
    return x;
  };
  float q = a / b;
  EXPECT_EQ(f(0), q);
  EXPECT_EQ(f(1), std::nearbyint(q));
  EXPECT_EQ(static_cast<int32_t>(o[2]), static_cast<int32_t>(q));
  EXPECT_EQ(f(3), std::fma(a, b, q));
  EXPECT_TRUE(std::isnan(f(4)));
  EXPECT_EQ(f(5), a);
  EXPECT_EQ(o[6], 1u);
  EXPECT_EQ(o[7], 0u);
  uint16_t h = toHalf(q);
  EXPECT_EQ(f(8), static_cast<float>(static_cast<_Float16>(q)));
  uint32_t hh = h | (static_cast<uint32_t>(h) << 16);
  EXPECT_EQ(o[9], hh);
  EXPECT_EQ(o[10], (hh >> 4) & 0xFF);
  int32_t nib = (hh >> 12) & 0xF;
  EXPECT_EQ(static_cast<int32_t>(o[11]), nib >= 8 ? nib - 16 : nib);
  uint64_t bytes = hh | (static_cast<uint64_t>(o[2]) << 32);
  uint32_t prmt = 0;
  for (int i = 0; i < 4; ++i)
    prmt |= ((bytes >> (8 * ((0x7614 >> (4 * i)) & 7))) & 0xFF) << (8 * i);
  EXPECT_EQ(o[12], prmt);
  EXPECT_EQ(o[13], static_cast<uint32_t>(__builtin_popcount(hh)));
  EXPECT_EQ(static_cast<int32_t>(o[14]),
            static_cast<int32_t>(
                (static_cast<int64_t>(static_cast<int32_t>(o[2])) * -7) >> 32));
  uint32_t rev = 0;
  for (int i = 0; i < 32; ++i)
    rev |= ((o[2] >> i) & 1) << (31 - i);
  EXPECT_EQ(o[15], rev);
  EXPECT_EQ(o[16], 0x7FFFFFFFu); // saturating float-to-int
}

// Funnel shifts (shf.l.wrap on one register is the rotation the imma kernels
// move 2- and 1-bit weight fields with): the 64-bit {b, a} shifted, its
// high (l) or low (r) word; the shift taken mod 32 (wrap) or clamped to 32.
// Expected words worked out by hand from a = 0x89ABCDEF, b = 0x01234567.
TEST(CudaEmu, FunnelShifts) {
  std::string body = R"(
  ld.global.b32 %r1, [%rd0];
  ld.global.b32 %r2, [%rd0+4];
  mov.b32 %r3, 40;
  shf.l.wrap.b32 %r4, %r1, %r2, 8;
  shf.l.wrap.b32 %r5, %r1, %r2, %r3;
  shf.l.clamp.b32 %r6, %r1, %r2, %r3;
  shf.r.wrap.b32 %r7, %r1, %r2, 8;
  shf.r.clamp.b32 %r8, %r1, %r2, %r3;
  shf.l.wrap.b32 %r9, %r1, %r1, 36;
  shf.l.wrap.b32 %r10, %r1, %r2, 0;
  shf.r.wrap.b32 %r11, %r1, %r1, 28;
  st.global.b32 [%rd1], %r4;
  st.global.b32 [%rd1+4], %r5;
  st.global.b32 [%rd1+8], %r6;
  st.global.b32 [%rd1+12], %r7;
  st.global.b32 [%rd1+16], %r8;
  st.global.b32 [%rd1+20], %r9;
  st.global.b32 [%rd1+24], %r10;
  st.global.b32 [%rd1+28], %r11;
)";
  Buffer<uint32_t> din(std::vector<uint32_t>{0x89ABCDEFu, 0x01234567u});
  Buffer<uint32_t> dout(8);
  ASSERT_EQ(run(kernel(2, body), 1, 1, {din.ptr, dout.ptr}), 0);
  std::vector<uint32_t> o = dout.read();
  EXPECT_EQ(o[0], 0x23456789u); // (b << 8) | (a >> 24)
  EXPECT_EQ(o[1], 0x23456789u); // 40 mod 32 = 8
  EXPECT_EQ(o[2], 0x89ABCDEFu); // clamped to 32: a
  EXPECT_EQ(o[3], 0x6789ABCDu); // (b << 24) | (a >> 8)
  EXPECT_EQ(o[4], 0x01234567u); // clamped to 32: b
  EXPECT_EQ(o[5], 0x9ABCDEF8u); // a rotated left by 4
  EXPECT_EQ(o[6], 0x01234567u); // shifted by 0: b
  EXPECT_EQ(o[7], 0x9ABCDEF8u); // a rotated right by 28
}

TEST(CudaEmu, FunnelShiftWithoutModeIsRejected) {
  std::string body = "  shf.l.b32 %r1, %r0, %r0, 4;\n";
  void *module = nullptr;
  testing::internal::CaptureStderr();
  EXPECT_NE(cuModuleLoadData(&module, kernel(0, body).c_str()), 0);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("shf needs .wrap or .clamp"), std::string::npos) << err;
}

// Packed conversions from two f32 (the first to the upper half, to nearest
// even) and bf16x2 fma, as the bf16 hmma kernels use them; the expected bits
// worked out by hand.
TEST(CudaEmu, PackedHalfConversionsAndBf16Fma) {
  std::string body = R"(
  cvt.rn.bf16x2.f32 %r1, 0f3F808000, 0f3F818000;
  cvt.rn.bf16x2.f32 %r2, 0fC0400000, 0f477FF000;
  cvt.rn.f16x2.f32 %r3, 0fC0400000, 0f477FF000;
  mov.b32 %r4, 0x3FC04000;
  mov.b32 %r5, 0x3F803F80;
  mov.b32 %r6, 0xC3003E80;
  fma.rn.bf16x2 %r7, %r4, %r5, %r6;
  st.global.v4.b32 [%rd0], {%r1, %r2, %r3, %r7};
)";
  Buffer<uint32_t> out(4);
  ASSERT_EQ(run(kernel(1, body), 1, 1, {out.ptr}), 0);
  std::vector<uint32_t> o = out.read();
  // 1 + 2^-8 and 1 + 3 * 2^-8 are ties: to the even 1.0 and 1 + 2^-6.
  EXPECT_EQ(o[0], 0x3F803F82u);
  // -3.0; 65520 rounds up to 65536 in bf16, to infinity in f16.
  EXPECT_EQ(o[1], 0xC0404780u);
  EXPECT_EQ(o[2], 0xC2007C00u);
  // {1.5, 2.0} * 1.0 + {-128, 0.25} = {-126.5, 2.25}.
  EXPECT_EQ(o[3], 0xC2FD4010u);
}

//===----------------------------------------------------------------------===//
// Images and errors
//===----------------------------------------------------------------------===//

const char *kCopyBody = R"(
  mul.wide.u32 %rd5, %r0, 4;
  add.s64 %rd6, %rd0, %rd5;
  st.global.b32 [%rd6], %r0;
)";

/// A fatbin holding one PTX entry (flags: 0 or LZ4, 0x2000).
std::vector<uint8_t> fatbin(const std::string &payload, uint64_t flags,
                            size_t uncompressed) {
  std::vector<uint8_t> entry(80, 0);
  uint16_t kind = 1, version = 0x101;
  uint32_t headerSize = 80, compressed = flags ? payload.size() : 0, arch = 80;
  uint64_t padded = (payload.size() + 7) / 8 * 8;
  std::memcpy(&entry[0], &kind, 2);
  std::memcpy(&entry[2], &version, 2);
  std::memcpy(&entry[4], &headerSize, 4);
  std::memcpy(&entry[8], &padded, 8);
  std::memcpy(&entry[16], &compressed, 4);
  std::memcpy(&entry[28], &arch, 4);
  std::memcpy(&entry[40], &flags, 8);
  uint64_t u = uncompressed;
  std::memcpy(&entry[56], &u, 8);
  std::vector<uint8_t> out(16, 0);
  uint32_t magic = 0xBA55ED50u;
  uint16_t fv = 1, hs = 16;
  uint64_t size = entry.size() + padded;
  std::memcpy(&out[0], &magic, 4);
  std::memcpy(&out[4], &fv, 2);
  std::memcpy(&out[6], &hs, 2);
  std::memcpy(&out[8], &size, 8);
  out.insert(out.end(), entry.begin(), entry.end());
  out.insert(out.end(), payload.begin(), payload.end());
  out.resize(16 + size, 0);
  return out;
}

int runImage(const std::vector<uint8_t> &image, unsigned long long out) {
  void *module = nullptr;
  int r = cuModuleLoadData(&module, image.data());
  if (r)
    return r;
  void *fn = nullptr;
  EXPECT_EQ(cuModuleGetFunction(&fn, module, "k"), 0);
  void *params[] = {&out};
  r = cuLaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr);
  cuModuleUnload(module);
  return r;
}

TEST(CudaEmu, FatbinImages) {
  std::string ptx = kernel(1, kCopyBody);
  std::string withNul = ptx + '\0';
  {
    Buffer<uint32_t> out(32);
    ASSERT_EQ(runImage(fatbin(withNul, 0, withNul.size()), out.ptr), 0);
    EXPECT_EQ(out.read()[31], 31u);
  }
  {
    // LZ4 block: the text and one newline as literals, a match of 7 more
    // newlines at offset 1 (an overlapping copy), then a literal newline.
    std::string lz4;
    std::string lit = ptx + "\n";
    size_t n = lit.size();
    lz4 += static_cast<char>(0xF0 | 3); // 15+ literals, match length 4 + 3
    for (n -= 15; n >= 255; n -= 255)
      lz4 += static_cast<char>(255);
    lz4 += static_cast<char>(n);
    lz4 += lit;
    lz4 += '\x01';
    lz4 += '\x00';
    lz4 += '\x10'; // one literal, no match
    lz4 += '\n';
    std::string full = ptx + std::string(9, '\n');
    Buffer<uint32_t> out(32);
    ASSERT_EQ(runImage(fatbin(lz4, 0x2000, full.size()), out.ptr), 0);
    EXPECT_EQ(out.read()[17], 17u);
  }
  {
    // No PTX inside: a cubin-only fatbin is rejected.
    std::vector<uint8_t> image = fatbin(withNul, 0, withNul.size());
    image[16] = 2; // kind: ELF
    Buffer<uint32_t> out(32);
    EXPECT_EQ(runImage(image, out.ptr), 200);
  }
}

TEST(CudaEmu, OutOfBoundsStoreIsReported) {
  Buffer<uint32_t> out(31); // one element short
  testing::internal::CaptureStderr();
  EXPECT_EQ(run(kernel(1, kCopyBody), 1, 32, {out.ptr}), 700);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("out-of-bounds 4-byte global store"), std::string::npos)
      << err;
  EXPECT_NE(err.find("kernel k, PTX line"), std::string::npos) << err;
  EXPECT_NE(err.find("thread (31,0,0)"), std::string::npos) << err;
}

TEST(CudaEmu, OutOfBoundsSharedLoadIsReported) {
  std::string decls = "  .shared .align 4 .b8 s[64];\n";
  std::string body = R"(
  mov.u64 %rd5, s;
  mul.wide.u32 %rd6, %r0, 4;
  add.s64 %rd7, %rd5, %rd6;
  ld.shared.b32 %r1, [%rd7];
)";
  testing::internal::CaptureStderr();
  EXPECT_EQ(run(kernel(0, body, decls), 1, 32, {}), 700);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("shared load"), std::string::npos) << err;
}

TEST(CudaEmu, UnknownOpcodeIsRejected) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run(kernel(1, "  frobnicate.b32 %r1, %r0;\n"), 1, 1, {0}), 218);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unknown opcode 'frobnicate.b32'"), std::string::npos)
      << err;
  EXPECT_NE(err.find("PTX line"), std::string::npos) << err;
  // A known opcode with a modifier the emulator does not implement.
  testing::internal::CaptureStderr();
  EXPECT_EQ(run(kernel(1, "  prmt.b32.f4e %r1, %r0, %r0, 0;\n"), 1, 1, {0}),
            218);
  err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unsupported instruction 'prmt.b32.f4e'"),
            std::string::npos)
      << err;
}

TEST(CudaEmu, DivergentCollectiveIsReported) {
  std::string body = R"(
  setp.lt.u32 %p1, %r0, 16;
  @%p1 bra $L1;
  shfl.sync.bfly.b32 %r1, %r0, 1, 31, -1;
$L1:
  shfl.sync.bfly.b32 %r2, %r0, 2, 31, -1;
)";
  testing::internal::CaptureStderr();
  EXPECT_NE(run(kernel(0, body), 1, 32, {}), 0);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("diverged"), std::string::npos) << err;
}

} // namespace
