//===- Interpreter.cpp - runs decoded PTX kernels on the CPU --------------===//
//
// Blocks run one after another; within a block every thread is a program
// counter and a register array. A thread runs until it exits or reaches a
// collective (bar.sync, shfl.sync, vote.sync, mma.sync, ldmatrix): the
// thread's state is only (pc, registers), so no stacks or fibers are
// needed. When every live lane of a warp waits at the same warp collective
// it is computed once for all of them; when every warp waits at bar.sync
// (or has exited) the barrier opens. The schedule is fixed, so results are
// deterministic.
//
// Memory: global addresses are host addresses, checked against the
// recorded allocations; shared and local addresses are offsets into the
// block's and the thread's buffers, and generic addresses map them into
// windows no host pointer uses. cp.async reads its source when issued and
// writes shared memory when cp.async.wait_group retires its group, as late
// as the hardware may, so a kernel that reads before waiting sees stale
// data.
//
//===----------------------------------------------------------------------===//

#include "Emu.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>

namespace qemu {
namespace {

// Generic-address windows for shared and local memory (non-canonical on
// x86-64 and AArch64, so never a host pointer).
constexpr uint64_t kSharedWindow = 0xFFFF000000000000ull;
constexpr uint64_t kLocalWindow = 0xFFFE000000000000ull;
constexpr uint64_t kWindowSize = 1ull << 32;

struct Fault {
  int code;
  std::string message;
};

inline uint64_t maskBits(int bits) {
  return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}
inline int64_t sext(uint64_t v, int bits) {
  if (bits >= 64)
    return static_cast<int64_t>(v);
  int s = 64 - bits;
  return static_cast<int64_t>(v << s) >> s;
}
inline float asF(uint64_t v) {
  uint32_t b = static_cast<uint32_t>(v);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline uint64_t fromF(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
inline double asD(uint64_t v) {
  double d;
  std::memcpy(&d, &v, 8);
  return d;
}
inline uint64_t fromD(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// Half precision through the compiler's correctly rounded conversions.
inline float halfToF(uint16_t h) {
  _Float16 x;
  std::memcpy(&x, &h, 2);
  return static_cast<float>(x);
}
inline uint16_t dToHalf(double d) {
  if (std::isnan(d))
    return 0x7FFF;
  _Float16 x = static_cast<_Float16>(d);
  uint16_t h;
  std::memcpy(&h, &x, 2);
  return h;
}
inline float bf16ToF(uint16_t h) { return asF(static_cast<uint32_t>(h) << 16); }
inline uint16_t fToBf16(float f) {
  uint32_t u = static_cast<uint32_t>(fromF(f));
  if (std::isnan(f))
    return 0x7FFF;
  u += 0x7FFF + ((u >> 16) & 1); // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}
inline uint16_t dToBf16(double d) {
  // Round once: a double rounds exactly to bf16 via float only when the
  // float conversion is exact, so go through the bits directly.
  if (std::isnan(d))
    return 0x7FFF;
  float f = static_cast<float>(d);
  if (static_cast<double>(f) == d)
    return fToBf16(f);
  // Resolve ties the float rounding could have created: round toward the
  // exact value with truncation, then fix up by comparing.
  uint32_t u = static_cast<uint32_t>(fromF(f));
  uint16_t lo = static_cast<uint16_t>(u >> 16);
  uint16_t hi = static_cast<uint16_t>(lo + 1);
  double dl = bf16ToF(lo), dh = bf16ToF(hi);
  if (std::fabs(d) < std::fabs(dl)) {
    hi = lo;
    lo = static_cast<uint16_t>(lo - 1);
    dh = dl;
    dl = bf16ToF(lo);
  }
  double el = std::fabs(d - dl), eh = std::fabs(dh - d);
  if (el < eh)
    return lo;
  if (eh < el)
    return hi;
  return (lo & 1) ? hi : lo;
}

inline float ftz(float f) {
  return std::fpclassify(f) == FP_SUBNORMAL ? std::copysign(0.0f, f) : f;
}
inline uint64_t canonF(float f) {
  return std::isnan(f) ? 0x7FFFFFFFu : fromF(f);
}
inline uint64_t canonD(double d) {
  return std::isnan(d) ? 0x7FFFFFFFFFFFFFFFull : fromD(d);
}

int fenvMode(Rnd r) {
  switch (r) {
  case Rnd::Rz:
  case Rnd::Rzi:
    return FE_TOWARDZERO;
  case Rnd::Rm:
  case Rnd::Rmi:
    return FE_DOWNWARD;
  case Rnd::Rp:
  case Rnd::Rpi:
    return FE_UPWARD;
  default:
    return FE_TONEAREST;
  }
}

/// Sets the host rounding mode for one directed-rounding operation.
struct RoundingScope {
  int saved = -1;
  explicit RoundingScope(Rnd r) {
    int m = fenvMode(r);
    if (m != FE_TONEAREST) {
      saved = std::fegetround();
      std::fesetround(m);
    }
  }
  ~RoundingScope() {
    if (saved >= 0)
      std::fesetround(saved);
  }
};

struct CopyOp {
  uint64_t dst; // shared offset
  uint8_t bytes;
  uint8_t data[16];
};

struct Thread {
  uint64_t *r = nullptr;
  int pc = 0;
  bool exited = false;
  bool waiting = false;
  unsigned tid[3] = {0, 0, 0};
  unsigned lane = 0, warp = 0, linear = 0;
  uint8_t *local = nullptr;
  std::vector<CopyOp> uncommitted;
  std::deque<std::vector<CopyOp>> groups;
};

struct Runner {
  const Function &f;
  const LaunchConfig &cfg;
  const uint8_t *params;
  unsigned ctaid[3] = {0, 0, 0};
  std::vector<uint8_t> shared;
  uint32_t sharedSize = 0;
  std::vector<uint64_t> regFile;
  std::vector<uint8_t> localMem;
  std::vector<Thread> threads;
  unsigned nthreads = 0, nwarps = 0;
  uint64_t clock = 0;
  // The allocation the last global access hit.
  uint64_t allocLo = 1, allocHi = 0;

  Runner(const Function &fn, const LaunchConfig &c, const uint8_t *p)
      : f(fn), cfg(c), params(p) {
    nthreads = c.block[0] * c.block[1] * c.block[2];
    nwarps = (nthreads + 31) / 32;
    sharedSize = f.staticShared;
    if (f.externSharedAlign)
      sharedSize = (sharedSize + f.externSharedAlign - 1) /
                       f.externSharedAlign * f.externSharedAlign +
                   c.dynamicShared;
    shared.resize(std::max<uint32_t>(sharedSize, 1));
    regFile.resize(static_cast<size_t>(nthreads) * std::max(f.numRegs, 1));
    localMem.resize(static_cast<size_t>(nthreads) * f.localBytes);
    threads.resize(nthreads);
  }

  [[noreturn]] void fault(int code, const Inst &in, const Thread &t,
                          const std::string &what) {
    char where[160];
    std::snprintf(where, sizeof(where),
                  "kernel %s, PTX line %d, block (%u,%u,%u) thread (%u,%u,%u)",
                  f.name.c_str(), in.line, ctaid[0], ctaid[1], ctaid[2],
                  t.tid[0], t.tid[1], t.tid[2]);
    throw Fault{code, what + " (" + where + ")"};
  }

  uint64_t special(const Thread &t, Special s) {
    switch (s) {
    case Special::TidX:
      return t.tid[0];
    case Special::TidY:
      return t.tid[1];
    case Special::TidZ:
      return t.tid[2];
    case Special::NtidX:
      return cfg.block[0];
    case Special::NtidY:
      return cfg.block[1];
    case Special::NtidZ:
      return cfg.block[2];
    case Special::CtaidX:
      return ctaid[0];
    case Special::CtaidY:
      return ctaid[1];
    case Special::CtaidZ:
      return ctaid[2];
    case Special::NctaidX:
      return cfg.grid[0];
    case Special::NctaidY:
      return cfg.grid[1];
    case Special::NctaidZ:
      return cfg.grid[2];
    case Special::LaneId:
      return t.lane;
    case Special::WarpId:
      return t.warp;
    case Special::NWarpId:
      return nwarps;
    case Special::SmId:
    case Special::GridId:
      return 0;
    case Special::NSmId:
      return 1;
    case Special::Clock:
    case Special::Clock64:
      return ++clock;
    case Special::LanemaskEq:
      return 1u << t.lane;
    case Special::LanemaskLt:
      return (1u << t.lane) - 1;
    case Special::LanemaskLe:
      return (2ull << t.lane) - 1;
    case Special::LanemaskGt:
      return ~((2ull << t.lane) - 1) & 0xFFFFFFFFu;
    case Special::LanemaskGe:
      return ~((1ull << t.lane) - 1) & 0xFFFFFFFFu;
    case Special::DynSmemSize:
      return f.externSharedAlign ? cfg.dynamicShared : 0;
    case Special::TotalSmemSize:
      return sharedSize;
    }
    return 0;
  }

  inline uint64_t val(Thread &t, const Operand &o) {
    uint64_t v;
    switch (o.kind) {
    case Operand::Reg:
      v = t.r[o.reg];
      break;
    case Operand::Imm:
      v = static_cast<uint64_t>(o.imm);
      break;
    case Operand::Spec:
      v = special(t, o.special);
      break;
    default:
      v = 0;
      break;
    }
    return o.neg ? !(v & 1) : v;
  }

  inline void set(Thread &t, const Operand &o, uint64_t v, int bits) {
    if (o.kind == Operand::Reg && o.reg >= 0)
      t.r[o.reg] = v & maskBits(bits);
  }

  uint64_t address(Thread &t, const Operand &o) {
    uint64_t a = static_cast<uint64_t>(o.imm);
    if (o.reg >= 0)
      a += t.r[o.reg];
    return a;
  }

  /// The host memory behind [a, a + n) in space `sp`, or a fault.
  uint8_t *memory(Thread &t, const Inst &in, Space sp, uint64_t a, size_t n,
                  bool write) {
    if (n > 1 && a % n) {
      char buf[96];
      std::snprintf(
          buf, sizeof(buf), "misaligned %zu-byte %s at address 0x%llx", n,
          write ? "store" : "load", static_cast<unsigned long long>(a));
      fault(kErrorMisalignedAddress, in, t, buf);
    }
    if (sp == Space::Generic) {
      if (a - kSharedWindow < kWindowSize) {
        sp = Space::Shared;
        a -= kSharedWindow;
      } else if (a - kLocalWindow < kWindowSize) {
        sp = Space::Local;
        a -= kLocalWindow;
      } else {
        sp = Space::Global;
      }
    }
    const char *name = "global";
    switch (sp) {
    case Space::Shared:
      if (a <= sharedSize && n <= sharedSize - a)
        return shared.data() + a;
      name = "shared";
      break;
    case Space::Local:
      if (a <= f.localBytes && n <= f.localBytes - a)
        return t.local + a;
      name = "local";
      break;
    case Space::Param:
      if (write)
        break;
      if (a <= f.paramBytes && n <= f.paramBytes - a)
        return const_cast<uint8_t *>(params) + a;
      name = "param";
      break;
    case Space::Global:
    case Space::Const:
    case Space::Generic:
      if (a >= allocLo && a + n <= allocHi && a + n >= a)
        return reinterpret_cast<uint8_t *>(a);
      if (isAllocated(a, n, allocLo, allocHi))
        return reinterpret_cast<uint8_t *>(a);
      break;
    }
    char buf[160];
    std::snprintf(
        buf, sizeof(buf), "out-of-bounds %zu-byte %s %s at address 0x%llx%s", n,
        name, write ? "store" : "load", static_cast<unsigned long long>(a),
        sp == Space::Shared
            ? (" (shared memory is " + std::to_string(sharedSize) + " bytes)")
                  .c_str()
            : "");
    fault(kErrorIllegalAddress, in, t, buf);
  }

  void retire(Thread &t, std::vector<CopyOp> &ops) {
    for (const CopyOp &c : ops)
      std::memcpy(shared.data() + c.dst, c.data, c.bytes);
    ops.clear();
  }

  void retireAll(Thread &t) {
    while (!t.groups.empty()) {
      retire(t, t.groups.front());
      t.groups.pop_front();
    }
    retire(t, t.uncommitted);
  }

  // Integer helpers ------------------------------------------------------

  static bool compareInt(Cmp c, uint64_t a, uint64_t b, Ty t) {
    int bits = tyBits(t);
    bool s = tySigned(t);
    int64_t sa = sext(a, bits), sb = sext(b, bits);
    uint64_t ua = a & maskBits(bits), ub = b & maskBits(bits);
    switch (c) {
    case Cmp::Eq:
      return ua == ub;
    case Cmp::Ne:
      return ua != ub;
    case Cmp::Lt:
      return s ? sa < sb : ua < ub;
    case Cmp::Le:
      return s ? sa <= sb : ua <= ub;
    case Cmp::Gt:
      return s ? sa > sb : ua > ub;
    case Cmp::Ge:
      return s ? sa >= sb : ua >= ub;
    case Cmp::Lo:
      return ua < ub;
    case Cmp::Ls:
      return ua <= ub;
    case Cmp::Hi:
      return ua > ub;
    case Cmp::Hs:
      return ua >= ub;
    default:
      return false;
    }
  }

  static bool compareFloat(Cmp c, double a, double b) {
    bool nan = std::isnan(a) || std::isnan(b);
    switch (c) {
    case Cmp::Eq:
      return !nan && a == b;
    case Cmp::Ne:
      return !nan && a != b;
    case Cmp::Lt:
      return !nan && a < b;
    case Cmp::Le:
      return !nan && a <= b;
    case Cmp::Gt:
      return !nan && a > b;
    case Cmp::Ge:
      return !nan && a >= b;
    case Cmp::Equ:
      return nan || a == b;
    case Cmp::Neu:
      return nan || a != b;
    case Cmp::Ltu:
      return nan || a < b;
    case Cmp::Leu:
      return nan || a <= b;
    case Cmp::Gtu:
      return nan || a > b;
    case Cmp::Geu:
      return nan || a >= b;
    case Cmp::Num:
      return !nan;
    case Cmp::Nan:
      return nan;
    default:
      return false;
    }
  }

  /// The value of a float operand of type `t` as a double (f16/bf16/f32
  /// convert exactly).
  static double floatVal(uint64_t v, Ty t, bool flush) {
    switch (t) {
    case Ty::F16:
      return halfToF(static_cast<uint16_t>(v));
    case Ty::BF16:
      return bf16ToF(static_cast<uint16_t>(v));
    case Ty::F32:
      return flush ? ftz(asF(v)) : asF(v);
    default:
      return asD(v);
    }
  }

  template <typename F> static F minMax(F a, F b, bool isMax, bool nanProp) {
    if (std::isnan(a) || std::isnan(b)) {
      if (nanProp || (std::isnan(a) && std::isnan(b)))
        return std::numeric_limits<F>::quiet_NaN();
      return std::isnan(a) ? b : a;
    }
    if (a == b) // -0 < +0
      return (std::signbit(a) != isMax) ? a : b;
    return (a < b) != isMax ? a : b;
  }

  /// The IEEE value of a float instruction on operands of one precision
  /// (the caller sets the rounding mode and handles neg/abs on the bits).
  template <typename F> static F ieeeOp(const Inst &in, F a, F b, F c) {
    switch (in.op) {
    case Op::Add:
      return a + b;
    case Op::Sub:
      return a - b;
    case Op::Mul:
      return a * b;
    case Op::Fma:
    case Op::Mad:
      return std::fma(a, b, c);
    // .approx and .full differ from IEEE division by a few ulps on the
    // GPU; the emulator gives the correctly rounded quotient.
    case Op::Div:
      return a / b;
    case Op::Min:
      return minMax(a, b, false, in.uni);
    case Op::Max:
      return minMax(a, b, true, in.uni);
    case Op::Rcp:
      return F(1) / a;
    case Op::Sqrt:
      return std::sqrt(a);
    case Op::Rsqrt:
      return F(1) / std::sqrt(a);
    case Op::Ex2:
      return std::exp2(a);
    case Op::Lg2:
      return std::log2(a);
    case Op::Sin:
      return std::sin(a);
    case Op::Cos:
      return std::cos(a);
    case Op::Tanh:
      return std::tanh(a);
    case Op::Copysign:
      return std::copysign(b, a);
    default:
      return 0;
    }
  }

  // Half-precision scalar and packed arithmetic: exact in double, then one
  // rounding to the 16-bit type.
  uint64_t halfOp(const Inst &in, Thread &t) {
    Ty lane = (in.type == Ty::F16 || in.type == Ty::F16x2) ? Ty::F16 : Ty::BF16;
    int n = (in.type == Ty::F16x2 || in.type == Ty::BF16x2) ? 2 : 1;
    uint64_t out = 0;
    uint64_t a = val(t, in.ops[1]);
    uint64_t b = in.ops.size() > 2 ? val(t, in.ops[2]) : 0;
    uint64_t c = in.ops.size() > 3 ? val(t, in.ops[3]) : 0;
    if (in.op == Op::Selp)
      return (c & 1) ? a : b;
    for (int i = 0; i < n; ++i) {
      uint16_t ha = static_cast<uint16_t>(a >> (16 * i));
      uint16_t hb = static_cast<uint16_t>(b >> (16 * i));
      uint16_t hc = static_cast<uint16_t>(c >> (16 * i));
      double x = floatVal(ha, lane, false), y = floatVal(hb, lane, false),
             z = floatVal(hc, lane, false);
      uint16_t r;
      if (in.op == Op::Neg) {
        r = ha ^ 0x8000;
      } else if (in.op == Op::Abs) {
        r = ha & 0x7FFF;
      } else {
        double d = ieeeOp(in, x, y, z);
        if (in.sat)
          d = std::isnan(d) ? 0.0 : std::clamp(d, 0.0, 1.0);
        r = lane == Ty::F16 ? dToHalf(d) : dToBf16(d);
        if (in.ftz && lane == Ty::F16 && (r & 0x7C00) == 0)
          r &= 0x8000;
      }
      out |= static_cast<uint64_t>(r) << (16 * i);
    }
    return out;
  }

  uint64_t floatArith(const Inst &in, Thread &t) {
    if (in.type != Ty::F32 && in.type != Ty::F64)
      return halfOp(in, t);
    bool d64 = in.type == Ty::F64;
    uint64_t ra = val(t, in.ops[1]);
    uint64_t rb = in.ops.size() > 2 ? val(t, in.ops[2]) : 0;
    uint64_t rc = in.ops.size() > 3 ? val(t, in.ops[3]) : 0;
    if (in.op == Op::Selp)
      return (rc & 1) ? ra : rb;
    if (d64) {
      if (in.op == Op::Neg)
        return ra ^ (1ull << 63);
      if (in.op == Op::Abs)
        return ra & ~(1ull << 63);
      double d;
      {
        RoundingScope scope(in.rnd);
        d = ieeeOp(in, asD(ra), asD(rb), asD(rc));
      }
      if (in.sat)
        d = std::isnan(d) ? 0.0 : std::clamp(d, 0.0, 1.0);
      return canonD(d);
    }
    bool z = in.ftz;
    float a = z ? ftz(asF(ra)) : asF(ra), b = z ? ftz(asF(rb)) : asF(rb),
          c = z ? ftz(asF(rc)) : asF(rc), d;
    if (in.op == Op::Neg)
      return (ra ^ 0x80000000u) & 0xFFFFFFFFu;
    if (in.op == Op::Abs)
      return ra & 0x7FFFFFFFu;
    {
      RoundingScope scope(in.rnd);
      d = ieeeOp(in, a, b, c);
    }
    if (z)
      d = ftz(d);
    if (in.sat)
      d = std::isnan(d) ? 0.0f : std::clamp(d, 0.0f, 1.0f);
    return canonF(d);
  }

  uint64_t intArith(const Inst &in, Thread &t) {
    int bits = tyBits(in.type);
    bool s = tySigned(in.type);
    uint64_t m = maskBits(bits);
    uint64_t a = val(t, in.ops[1]);
    uint64_t b = in.ops.size() > 2 ? val(t, in.ops[2]) : 0;
    uint64_t c = in.ops.size() > 3 ? val(t, in.ops[3]) : 0;
    int64_t sa = sext(a, bits), sb = sext(b, bits);
    uint64_t ua = a & m, ub = b & m;
    auto satS = [&](__int128 v) -> uint64_t {
      __int128 lo = -(static_cast<__int128>(1) << (bits - 1));
      __int128 hi = (static_cast<__int128>(1) << (bits - 1)) - 1;
      return static_cast<uint64_t>(std::clamp(v, lo, hi)) & m;
    };
    switch (in.op) {
    case Op::Add:
      if (in.sat && s)
        return satS(static_cast<__int128>(sa) + sb);
      return (a + b) & m;
    case Op::Sub:
      if (in.sat && s)
        return satS(static_cast<__int128>(sa) - sb);
      return (a - b) & m;
    case Op::Mul:
    case Op::Mad: {
      __int128 p =
          s ? static_cast<__int128>(sa) * sb
            : static_cast<__int128>(static_cast<unsigned __int128>(ua) * ub);
      uint64_t r;
      int rbits = bits;
      if (in.mul == MulMode::Lo) {
        r = static_cast<uint64_t>(p);
      } else if (in.mul == MulMode::Hi) {
        r = static_cast<uint64_t>(
            s ? (p >> bits)
              : static_cast<__int128>(static_cast<unsigned __int128>(p) >>
                                      bits));
      } else {
        r = static_cast<uint64_t>(p);
        rbits = bits * 2;
      }
      if (in.op == Op::Mad) {
        if (in.sat && s && in.mul == MulMode::Hi)
          return satS(static_cast<__int128>(sext(r, rbits)) + sext(c, rbits));
        r += c;
      }
      return r & maskBits(rbits);
    }
    case Op::Div:
      if (ub == 0)
        return m; // unspecified on the GPU: all ones
      if (s) {
        if (sb == -1)
          return static_cast<uint64_t>(-sa) & m;
        return static_cast<uint64_t>(sa / sb) & m;
      }
      return ua / ub;
    case Op::Rem:
      if (ub == 0)
        return ua;
      if (s) {
        if (sb == -1)
          return 0;
        return static_cast<uint64_t>(sa % sb) & m;
      }
      return ua % ub;
    case Op::Min:
      return s ? static_cast<uint64_t>(std::min(sa, sb)) & m : std::min(ua, ub);
    case Op::Max:
      return s ? static_cast<uint64_t>(std::max(sa, sb)) & m : std::max(ua, ub);
    case Op::Neg:
      return (0 - a) & m;
    case Op::Abs:
      return static_cast<uint64_t>(sa < 0 ? -sa : sa) & m;
    case Op::And:
      return (a & b) & m;
    case Op::Or:
      return (a | b) & m;
    case Op::Xor:
      return (a ^ b) & m;
    case Op::Not:
      return in.type == Ty::Pred ? !(a & 1) : ~a & m;
    case Op::Cnot:
      return ua == 0;
    case Op::Shl: {
      uint64_t n = b & 0xFFFFFFFFu;
      return n >= static_cast<uint64_t>(bits) ? 0 : (a << n) & m;
    }
    case Op::Shr: {
      uint64_t n = b & 0xFFFFFFFFu;
      if (s)
        return static_cast<uint64_t>(sa >> std::min<uint64_t>(n, 63)) & m;
      return n >= static_cast<uint64_t>(bits) ? 0 : ua >> n;
    }
    case Op::Popc:
      return static_cast<uint64_t>(__builtin_popcountll(ua));
    case Op::Clz:
      return ua == 0 ? bits
                     : static_cast<uint64_t>(__builtin_clzll(ua) - (64 - bits));
    case Op::Brev: {
      uint64_t r = 0;
      for (int i = 0; i < bits; ++i)
        if (ua >> i & 1)
          r |= 1ull << (bits - 1 - i);
      return r;
    }
    case Op::Bfe: {
      unsigned pos = b & 0xFF, len = c & 0xFF;
      unsigned msb = bits - 1;
      uint64_t sbit = 0;
      if (s && len != 0)
        sbit = (ua >> std::min(pos + len - 1, msb)) & 1;
      uint64_t r = 0;
      for (unsigned i = 0; i < static_cast<unsigned>(bits); ++i) {
        uint64_t bit = (i < len && pos + i <= msb) ? (ua >> (pos + i)) & 1
                                                   : (s ? sbit : 0);
        r |= bit << i;
      }
      return r;
    }
    case Op::Bfi: {
      uint64_t d = val(t, in.ops[4]);
      unsigned pos = c & 0xFF, len = d & 0xFF;
      uint64_t r = ub;
      for (unsigned i = 0; i < len && pos + i < static_cast<unsigned>(bits);
           ++i) {
        r &= ~(1ull << (pos + i));
        r |= ((ua >> i) & 1) << (pos + i);
      }
      return r;
    }
    case Op::Shf: {
      uint64_t n =
          in.shfClamp ? std::min<uint64_t>(c & 0xFFFFFFFFu, 32) : c & 31;
      uint64_t wide = (ub << 32) | ua;
      return in.shfLeft ? (wide << n) >> 32 & m : (wide >> n) & m;
    }
    case Op::Prmt: {
      uint64_t bytes = (ua & 0xFFFFFFFFu) | (ub << 32);
      uint64_t r = 0;
      for (int i = 0; i < 4; ++i) {
        unsigned sel = (c >> (4 * i)) & 0xF;
        uint64_t byte = (bytes >> (8 * (sel & 7))) & 0xFF;
        if (sel & 8)
          byte = (byte & 0x80) ? 0xFF : 0;
        r |= byte << (8 * i);
      }
      return r;
    }
    case Op::Selp:
      return (c & 1) ? a & m : b & m;
    default:
      return 0;
    }
  }

  uint64_t convert(const Inst &in, Thread &t) {
    Ty dt = in.type, st = in.type2;
    if (dt == Ty::F16x2 || dt == Ty::BF16x2) { // from two f32 (.rn)
      auto half = [&](const Operand &o) -> uint64_t {
        double x = floatVal(val(t, o), Ty::F32, false);
        return dt == Ty::F16x2 ? dToHalf(x) : dToBf16(x);
      };
      return half(in.ops[1]) << 16 | half(in.ops[2]);
    }
    int db = tyBits(dt), sb = tyBits(st);
    uint64_t a = val(t, in.ops[1]);
    bool toFloat = tyFloat(dt), fromFloat = tyFloat(st);
    if (!toFloat && !fromFloat) {
      // Integer to integer: extend by the source's signedness, then
      // truncate or saturate to the destination.
      if (in.sat) {
        __int128 v = tySigned(st) ? static_cast<__int128>(sext(a, sb))
                                  : static_cast<__int128>(a & maskBits(sb));
        __int128 lo =
            tySigned(dt) ? -(static_cast<__int128>(1) << (db - 1)) : 0;
        __int128 hi = tySigned(dt) ? (static_cast<__int128>(1) << (db - 1)) - 1
                                   : static_cast<__int128>(maskBits(db));
        return static_cast<uint64_t>(std::clamp(v, lo, hi)) & maskBits(db);
      }
      uint64_t v =
          tySigned(st) ? static_cast<uint64_t>(sext(a, sb)) : a & maskBits(sb);
      return v & maskBits(db);
    }
    if (!fromFloat) { // integer to float
      RoundingScope scope(in.rnd);
      double exact = 0;
      float f;
      if (tySigned(st)) {
        int64_t v = sext(a, sb);
        if (dt == Ty::F64)
          return canonD(static_cast<double>(v));
        f = static_cast<float>(v);
        exact = static_cast<double>(v);
      } else {
        uint64_t v = a & maskBits(sb);
        if (dt == Ty::F64)
          return canonD(static_cast<double>(v));
        f = static_cast<float>(v);
        exact = static_cast<double>(v);
      }
      if (dt == Ty::F32)
        return fromF(in.sat ? std::clamp(f, 0.0f, 1.0f) : f);
      if (dt == Ty::F16)
        return dToHalf(exact); // |v| < 2^53 for 32-bit sources
      return dToBf16(exact);
    }
    double x = floatVal(a, st, in.ftz);
    if (!toFloat) { // float to integer, saturating; NaN -> 0
      if (std::isnan(x))
        return 0;
      double r;
      switch (in.rnd) {
      case Rnd::Rzi:
      case Rnd::None:
        r = std::trunc(x);
        break;
      case Rnd::Rmi:
        r = std::floor(x);
        break;
      case Rnd::Rpi:
        r = std::ceil(x);
        break;
      default: // Rni: to nearest even
        r = std::nearbyint(x);
        break;
      }
      if (tySigned(dt)) {
        double lo = -std::ldexp(1.0, db - 1), hi = std::ldexp(1.0, db - 1);
        if (r < lo)
          return static_cast<uint64_t>(static_cast<int64_t>(lo)) & maskBits(db);
        if (r >= hi)
          return maskBits(db - 1);
        return static_cast<uint64_t>(static_cast<int64_t>(r)) & maskBits(db);
      }
      if (r <= 0)
        return 0;
      if (r >= std::ldexp(1.0, db))
        return maskBits(db);
      return static_cast<uint64_t>(r) & maskBits(db);
    }
    // Float to float.
    double r = x;
    if (in.rnd >= Rnd::Rni) { // round to an integral value, same type
      switch (in.rnd) {
      case Rnd::Rzi:
        r = std::trunc(x);
        break;
      case Rnd::Rmi:
        r = std::floor(x);
        break;
      case Rnd::Rpi:
        r = std::ceil(x);
        break;
      default:
        r = std::nearbyint(x);
        break;
      }
    }
    if (in.sat)
      r = std::isnan(r) ? 0.0 : std::clamp(r, 0.0, 1.0);
    switch (dt) {
    case Ty::F16:
      return dToHalf(r);
    case Ty::BF16:
      return dToBf16(r);
    case Ty::F32: {
      float f;
      {
        RoundingScope scope(in.rnd < Rnd::Rni ? in.rnd : Rnd::Rn);
        volatile double vr = r;
        f = static_cast<float>(vr);
      }
      return canonF(in.ftz ? ftz(f) : f);
    }
    default:
      return canonD(r);
    }
  }

  // One thread until a collective or exit ---------------------------------

  void run(Thread &t) {
    const Inst *code = f.code.data();
    while (true) {
      const Inst &in = code[t.pc];
      if (in.guard >= 0 && ((t.r[in.guard] & 1) != 0) == in.guardNeg) {
        ++t.pc;
        continue;
      }
      if (isCollective(in.op)) {
        t.waiting = true;
        return;
      }
      switch (in.op) {
      case Op::Ld: {
        uint64_t a = address(t, in.ops[1]);
        int bits = tyBits(in.type);
        size_t n = bits / 8;
        uint8_t *p = memory(t, in, in.space, a, n * in.vec, false);
        const Operand &d = in.ops[0];
        for (int i = 0; i < in.vec; ++i) {
          uint64_t v = 0;
          std::memcpy(&v, p + i * n, n);
          if (tySigned(in.type))
            v = static_cast<uint64_t>(sext(v, bits));
          const Operand &dst = in.vec > 1 ? d.elems[i] : d;
          if (dst.reg >= 0)
            t.r[dst.reg] = v;
        }
        break;
      }
      case Op::St: {
        uint64_t a = address(t, in.ops[0]);
        size_t n = tyBits(in.type) / 8;
        uint8_t *p = memory(t, in, in.space, a, n * in.vec, true);
        const Operand &s = in.ops[1];
        for (int i = 0; i < in.vec; ++i) {
          uint64_t v = val(t, in.vec > 1 ? s.elems[i] : s);
          std::memcpy(p + i * n, &v, n);
        }
        break;
      }
      case Op::Mov: {
        const Operand &d = in.ops[0], &s = in.ops[1];
        int bits = tyBits(in.type);
        if (d.kind == Operand::Vec) { // unpack
          int n = static_cast<int>(d.elems.size());
          int eb = bits / n;
          uint64_t v = val(t, s);
          for (int i = 0; i < n; ++i)
            set(t, d.elems[i], v >> (eb * i), eb);
        } else if (s.kind == Operand::Vec) { // pack
          int n = static_cast<int>(s.elems.size());
          int eb = bits / n;
          uint64_t v = 0;
          for (int i = 0; i < n; ++i)
            v |= (val(t, s.elems[i]) & maskBits(eb)) << (eb * i);
          set(t, d, v, bits);
        } else {
          set(t, d, val(t, s), in.type == Ty::Pred ? 1 : bits);
        }
        break;
      }
      case Op::Cvta: {
        uint64_t a = val(t, in.ops[1]);
        uint64_t window = in.space2 == Space::Shared  ? kSharedWindow
                          : in.space2 == Space::Local ? kLocalWindow
                                                      : 0;
        set(t, in.ops[0], in.cvtaTo ? a - window : a + window, tyBits(in.type));
        break;
      }
      case Op::Setp: {
        uint64_t a = val(t, in.ops[1]), b = val(t, in.ops[2]);
        bool r;
        if (tyFloat(in.type))
          r = compareFloat(in.cmp, floatVal(a, in.type, in.ftz),
                           floatVal(b, in.type, in.ftz));
        else
          r = compareInt(in.cmp, a, b, in.type);
        bool q = !r;
        if (in.boolOp != BoolOp::None) {
          bool c = val(t, in.ops[3]) & 1;
          auto combine = [&](bool x) {
            return in.boolOp == BoolOp::And  ? x && c
                   : in.boolOp == BoolOp::Or ? x || c
                                             : x != c;
          };
          r = combine(r);
          q = combine(q);
        }
        const Operand &d = in.ops[0];
        if (d.kind == Operand::Vec) {
          set(t, d.elems[0], r, 1);
          set(t, d.elems[1], q, 1);
        } else {
          set(t, d, r, 1);
        }
        break;
      }
      case Op::Bra:
        t.pc = static_cast<int>(in.ops[0].imm);
        continue;
      case Op::Exit:
        retireAll(t);
        t.exited = true;
        return;
      case Op::Cvt:
        set(t, in.ops[0], convert(in, t), tyBits(in.type));
        break;
      case Op::CpAsync: {
        uint64_t dst = address(t, in.ops[0]);
        uint64_t src = address(t, in.ops[1]);
        size_t n = static_cast<size_t>(in.ops[2].imm);
        size_t srcSize = n;
        if (in.ops.size() == 4)
          srcSize = val(t, in.ops[3]) & 0xFFFFFFFFu;
        if (srcSize > n)
          fault(kErrorIllegalInstruction, in, t,
                "cp.async src-size larger than cp-size");
        memory(t, in, Space::Shared, dst, n, true); // bounds, alignment
        CopyOp c{dst, static_cast<uint8_t>(n), {}};
        if (srcSize) {
          if (src % n)
            memory(t, in, Space::Global, src, n, false); // faults
          uint8_t *p = memory(t, in, Space::Global, src, srcSize, false);
          std::memcpy(c.data, p, srcSize);
        }
        t.uncommitted.push_back(c);
        break;
      }
      case Op::CpAsyncCommit:
        t.groups.push_back(std::move(t.uncommitted));
        t.uncommitted.clear();
        break;
      case Op::CpAsyncWait:
        while (t.groups.size() > static_cast<size_t>(in.ops[0].imm)) {
          retire(t, t.groups.front());
          t.groups.pop_front();
        }
        break;
      case Op::CpAsyncWaitAll:
        retireAll(t);
        break;
      case Op::Nop:
        break;
      default: {
        uint64_t r = tyFloat(in.type) ? floatArith(in, t) : intArith(in, t);
        int bits = tyBits(in.type);
        if (in.mul == MulMode::Wide)
          bits *= 2;
        if (in.op == Op::Popc || in.op == Op::Clz)
          bits = 32;
        set(t, in.ops[0], r, in.type == Ty::Pred ? 1 : bits);
        break;
      }
      }
      ++t.pc;
    }
  }

  // Warp collectives -----------------------------------------------------

  /// Lanes of warp `w` that the collective's member mask names; all of
  /// them must be live and waiting here.
  uint32_t members(unsigned w, const Inst &in, uint32_t mask) {
    uint32_t live = 0;
    for (unsigned l = 0; l < 32; ++l) {
      unsigned i = w * 32 + l;
      if (i < nthreads && !threads[i].exited)
        live |= 1u << l;
    }
    if (mask & ~live) {
      Thread &t0 = threads[w * 32 + __builtin_ctz(live)];
      char buf[120];
      std::snprintf(buf, sizeof(buf),
                    "member mask 0x%08x names lanes that exited or do not "
                    "exist (live 0x%08x)",
                    mask, live);
      fault(kErrorIllegalInstruction, in, t0, buf);
    }
    return mask;
  }

  void shfl(unsigned w, const Inst &in, uint32_t live) {
    Thread *lanes = &threads[w * 32];
    uint32_t mask = members(
        w, in,
        static_cast<uint32_t>(val(lanes[__builtin_ctz(live)], in.ops[4])));
    uint32_t src[32];
    for (unsigned l = 0; l < 32; ++l)
      if (mask >> l & 1)
        src[l] = static_cast<uint32_t>(val(lanes[l], in.ops[1]));
    for (unsigned l = 0; l < 32; ++l) {
      if (!(mask >> l & 1))
        continue;
      Thread &t = lanes[l];
      uint32_t b = static_cast<uint32_t>(val(t, in.ops[2]));
      uint32_t c = static_cast<uint32_t>(val(t, in.ops[3]));
      uint32_t cval = c & 0x1F, segmask = (c >> 8) & 0x1F;
      uint32_t minLane = l & segmask;
      uint32_t maxLane = minLane | (cval & ~segmask);
      int64_t j;
      bool p;
      switch (in.shfl) {
      case ShflMode::Up:
        j = static_cast<int64_t>(l) - (b & 0x1F);
        p = j >= static_cast<int64_t>(maxLane);
        break;
      case ShflMode::Down:
        j = l + (b & 0x1F);
        p = j <= maxLane;
        break;
      case ShflMode::Bfly:
        j = l ^ (b & 0x1F);
        p = j <= maxLane;
        break;
      default:
        j = minLane | (b & 0x1F & ~segmask);
        p = j <= maxLane;
        break;
      }
      if (!p)
        j = l;
      if (!(mask >> j & 1))
        fault(kErrorIllegalInstruction, in, t,
              "shfl.sync reads lane " + std::to_string(j) +
                  ", which is not in the member mask");
      const Operand &d = in.ops[0];
      if (d.kind == Operand::Vec) {
        set(t, d.elems[0], src[j], 32);
        set(t, d.elems[1], p, 1);
      } else {
        set(t, d, src[j], 32);
      }
    }
  }

  void vote(unsigned w, const Inst &in, uint32_t live) {
    Thread *lanes = &threads[w * 32];
    uint32_t mask = members(
        w, in,
        static_cast<uint32_t>(val(lanes[__builtin_ctz(live)], in.ops[2])));
    uint32_t ballot = 0;
    for (unsigned l = 0; l < 32; ++l)
      if ((mask >> l & 1) && (val(lanes[l], in.ops[1]) & 1))
        ballot |= 1u << l;
    for (unsigned l = 0; l < 32; ++l) {
      if (!(mask >> l & 1))
        continue;
      uint64_t r;
      switch (in.vote) {
      case VoteMode::Ballot:
        r = ballot;
        break;
      case VoteMode::Any:
        r = ballot != 0;
        break;
      case VoteMode::All:
        r = ballot == mask;
        break;
      default:
        r = ballot == 0 || ballot == mask;
        break;
      }
      set(lanes[l], in.ops[0], r, in.vote == VoteMode::Ballot ? 32 : 1);
    }
  }

  // The (row, column) of element i of a lane's fragment, from the PTX ISA's
  // "Matrix Fragments for mma.mMnNkK" sections. which: 0 = A, 1 = B (row is
  // k, column is n), 2 = C/D.
  static void fragment(MmaShape s, bool half, int which, unsigned lane, int i,
                       int &row, int &col) {
    int g = lane >> 2, t = lane % 4;
    if (which == 2) {
      row = (s == MmaShape::M8N8K128 || s == MmaShape::M8N8K16) ? g
            : i < 2                                             ? g
                                                                : g + 8;
      col = t * 2 + (i & 1);
      return;
    }
    switch (s) {
    case MmaShape::M8N8K128:
      row = which == 0 ? g : t * 32 + i;
      col = which == 0 ? t * 32 + i : g;
      return;
    case MmaShape::M16N8K128:
      if (which == 0) {
        row = i < 32 ? g : g + 8;
        col = t * 32 + (i & 0x1F);
      } else {
        row = t * 32 + i;
        col = g;
      }
      return;
    case MmaShape::M16N8K256:
      if (which == 0) {
        row = (i < 32 || (i >= 64 && i < 96)) ? g : g + 8;
        col = t * 32 + (i & 0x1F) + (i >= 64 ? 128 : 0);
      } else {
        row = t * 32 + (i & 0x1F) + (i >= 32 ? 128 : 0);
        col = g;
      }
      return;
    case MmaShape::M8N8K16:
      row = which == 0 ? g : t * 4 + i;
      col = which == 0 ? t * 4 + i : g;
      return;
    case MmaShape::M16N8K16:
      if (half) {
        if (which == 0) {
          row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
          col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
        } else {
          row = t * 2 + (i & 1) + (i >= 2 ? 8 : 0);
          col = g;
        }
      } else if (which == 0) {
        row = i < 4 ? g : g + 8;
        col = t * 4 + (i & 3);
      } else {
        row = t * 4 + i;
        col = g;
      }
      return;
    case MmaShape::M16N8K32:
      if (which == 0) {
        row = (i < 4 || (i >= 8 && i < 12)) ? g : g + 8;
        col = t * 4 + (i & 3) + (i >= 8 ? 16 : 0);
      } else {
        row = t * 4 + (i & 3) + (i >= 4 ? 16 : 0);
        col = g;
      }
      return;
    case MmaShape::M16N8K8:
      if (which == 0) {
        row = i < 2 ? g : g + 8;
        col = t * 2 + (i & 1);
      } else {
        row = t * 2 + i;
        col = g;
      }
      return;
    }
  }

  void mma(unsigned w, const Inst &in) {
    Thread *lanes = &threads[w * 32];
    uint32_t live = members(w, in, 0xFFFFFFFFu);
    (void)live;
    MmaShape s = in.shape;
    int M = (s == MmaShape::M8N8K128 || s == MmaShape::M8N8K16) ? 8 : 16;
    int N = 8;
    int K = s == MmaShape::M16N8K256                                ? 256
            : (s == MmaShape::M8N8K128 || s == MmaShape::M16N8K128) ? 128
            : s == MmaShape::M16N8K32                               ? 32
            : s == MmaShape::M16N8K8                                ? 8
                                                                    : 16;
    bool b1 = in.type2 == Ty::Pred;
    bool half = in.type2 == Ty::F16 || in.type2 == Ty::BF16;
    const Operand &D = in.ops[0], &A = in.ops[1], &B = in.ops[2],
                  &C = in.ops[3];
    int cn = static_cast<int>(C.elems.size());
    if (b1) {
      // A rows and B columns as bit sets of K bits; each 32-bit register is
      // a run of 32 consecutive k (element i at bit i % 32).
      uint32_t a[16][8] = {}, b[8][8] = {};
      for (unsigned l = 0; l < 32; ++l) {
        for (size_t r = 0; r < A.elems.size(); ++r) {
          int row, col;
          fragment(s, false, 0, l, static_cast<int>(r) * 32, row, col);
          a[row][col / 32] = static_cast<uint32_t>(lanes[l].r[A.elems[r].reg]);
        }
        for (size_t r = 0; r < B.elems.size(); ++r) {
          int row, col;
          fragment(s, false, 1, l, static_cast<int>(r) * 32, row, col);
          b[col][row / 32] = static_cast<uint32_t>(lanes[l].r[B.elems[r].reg]);
        }
      }
      int32_t d[16][8];
      for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
          int sum = 0;
          for (int k = 0; k < K / 32; ++k)
            sum += __builtin_popcountll(in.mmaXor ? a[m][k] ^ b[n][k]
                                                  : a[m][k] & b[n][k]);
          d[m][n] = sum;
        }
      int32_t cm[16][8];
      for (unsigned l = 0; l < 32; ++l)
        for (int i = 0; i < cn; ++i) {
          int row, col;
          fragment(s, false, 2, l, i, row, col);
          cm[row][col] = static_cast<int32_t>(val(lanes[l], C.elems[i]));
        }
      for (unsigned l = 0; l < 32; ++l)
        for (int i = 0; i < cn; ++i) {
          int row, col;
          fragment(s, false, 2, l, i, row, col);
          uint32_t v = static_cast<uint32_t>(d[row][col]) +
                       static_cast<uint32_t>(cm[row][col]);
          set(lanes[l], D.elems[i], v, 32);
        }
      return;
    }
    // Element-wise gather for 8- and 16-bit operands.
    double a[16][32] = {}, b[32][8] = {}, c[16][8] = {};
    int ebits = half ? 16 : 8;
    int per = 32 / ebits;
    auto elem = [&](uint32_t reg, int j, Ty t) -> double {
      uint32_t e = (reg >> (j * ebits)) & ((1u << ebits) - 1);
      switch (t) {
      case Ty::S8:
        return static_cast<int8_t>(e);
      case Ty::U8:
        return e;
      case Ty::F16:
        return halfToF(static_cast<uint16_t>(e));
      default:
        return bf16ToF(static_cast<uint16_t>(e));
      }
    };
    for (unsigned l = 0; l < 32; ++l) {
      for (size_t r = 0; r < A.elems.size(); ++r) {
        uint32_t reg = static_cast<uint32_t>(lanes[l].r[A.elems[r].reg]);
        for (int j = 0; j < per; ++j) {
          int row, col;
          fragment(s, half, 0, l, static_cast<int>(r) * per + j, row, col);
          a[row][col] = elem(reg, j, in.type2);
        }
      }
      for (size_t r = 0; r < B.elems.size(); ++r) {
        uint32_t reg = static_cast<uint32_t>(lanes[l].r[B.elems[r].reg]);
        for (int j = 0; j < per; ++j) {
          int row, col;
          fragment(s, half, 1, l, static_cast<int>(r) * per + j, row, col);
          b[row][col] = elem(reg, j, in.type3);
        }
      }
      for (int i = 0; i < cn; ++i) {
        int row, col;
        fragment(s, half, 2, l, i, row, col);
        uint64_t v = val(lanes[l], C.elems[i]);
        c[row][col] = half ? static_cast<double>(asF(v))
                           : static_cast<double>(static_cast<int32_t>(v));
      }
    }
    for (unsigned l = 0; l < 32; ++l)
      for (int i = 0; i < cn; ++i) {
        int row, col;
        fragment(s, half, 2, l, i, row, col);
        if (half) {
          // Products are exact in double; the sum is rounded once to f32
          // (the hardware's accumulation order is unspecified).
          double acc = c[row][col];
          for (int k = 0; k < K; ++k)
            acc += a[row][k] * b[k][col];
          set(lanes[l], D.elems[i], canonF(static_cast<float>(acc)), 32);
        } else {
          int64_t acc = static_cast<int64_t>(c[row][col]);
          for (int k = 0; k < K; ++k)
            acc += static_cast<int64_t>(a[row][k]) *
                   static_cast<int64_t>(b[k][col]);
          if (in.sat)
            acc = std::clamp<int64_t>(acc, INT32_MIN, INT32_MAX);
          set(lanes[l], D.elems[i], static_cast<uint64_t>(acc), 32);
        }
      }
  }

  void ldmatrix(unsigned w, const Inst &in) {
    Thread *lanes = &threads[w * 32];
    members(w, in, 0xFFFFFFFFu);
    // Lanes 8i..8i+7 give the row addresses of matrix i (x1: lanes 0-7).
    uint16_t m[4][8][8];
    for (int i = 0; i < in.vec; ++i)
      for (int row = 0; row < 8; ++row) {
        Thread &t = lanes[i * 8 + row];
        uint64_t a = address(t, in.ops[1]);
        uint8_t *p = memory(t, in, Space::Shared, a, 16, false);
        std::memcpy(m[i][row], p, 16);
      }
    for (unsigned l = 0; l < 32; ++l)
      for (int i = 0; i < in.vec; ++i) {
        int r = l / 4, c = (l % 4) * 2;
        uint32_t lo = in.ldTrans ? m[i][c][r] : m[i][r][c];
        uint32_t hi = in.ldTrans ? m[i][c + 1][r] : m[i][r][c + 1];
        set(lanes[l], in.ops[0].elems[i], lo | (hi << 16), 32);
      }
  }

  // The block schedule ---------------------------------------------------

  void runBlock() {
    std::fill(regFile.begin(), regFile.end(), 0);
    std::fill(shared.begin(), shared.end(), 0);
    int nregs = std::max(f.numRegs, 1);
    for (unsigned i = 0; i < nthreads; ++i) {
      Thread &t = threads[i];
      t = Thread();
      t.r = regFile.data() + static_cast<size_t>(i) * nregs;
      t.local = localMem.data() + static_cast<size_t>(i) * f.localBytes;
      t.tid[0] = i % cfg.block[0];
      t.tid[1] = (i / cfg.block[0]) % cfg.block[1];
      t.tid[2] = i / (cfg.block[0] * cfg.block[1]);
      t.lane = i % 32;
      t.warp = i / 32;
      t.linear = i;
    }
    std::vector<char> done(nwarps, 0), atBar(nwarps, 0);
    while (true) {
      for (unsigned w = 0; w < nwarps; ++w) {
        if (done[w] || atBar[w])
          continue;
        while (true) {
          unsigned first = w * 32, last = std::min(first + 32, nthreads);
          uint32_t live = 0;
          for (unsigned i = first; i < last; ++i) {
            Thread &t = threads[i];
            if (!t.exited && !t.waiting)
              run(t);
            if (!t.exited)
              live |= 1u << (i - first);
          }
          if (!live) {
            done[w] = 1;
            break;
          }
          Thread &lead = threads[first + __builtin_ctz(live)];
          int pc = lead.pc;
          for (unsigned i = first; i < last; ++i) {
            Thread &t = threads[i];
            if (!t.exited && t.pc != pc)
              fault(kErrorIllegalInstruction, f.code[t.pc], t,
                    "warp diverged at a collective: lane " +
                        std::to_string(lead.lane) + " waits at PTX line " +
                        std::to_string(f.code[pc].line) + ", lane " +
                        std::to_string(t.lane) + " here");
          }
          const Inst &in = f.code[pc];
          if (in.op == Op::Bar) {
            atBar[w] = 1;
            break;
          }
          switch (in.op) {
          case Op::Shfl:
            shfl(w, in, live);
            break;
          case Op::Vote:
            vote(w, in, live);
            break;
          case Op::WarpSync:
            members(w, in, static_cast<uint32_t>(val(lead, in.ops[0])));
            break;
          case Op::Mma:
            mma(w, in);
            break;
          case Op::Ldmatrix:
            ldmatrix(w, in);
            break;
          default:
            fault(kErrorIllegalInstruction, in, lead, "not a collective");
          }
          for (unsigned i = first; i < last; ++i) {
            Thread &t = threads[i];
            if (!t.exited) {
              t.waiting = false;
              ++t.pc;
            }
          }
        }
      }
      // Every warp has exited or waits at a barrier.
      bool any = false;
      int barrierId = -1;
      unsigned liveThreads = 0;
      for (unsigned i = 0; i < nthreads; ++i)
        liveThreads += !threads[i].exited;
      for (unsigned w = 0; w < nwarps; ++w) {
        if (!atBar[w])
          continue;
        any = true;
        Thread *lead = nullptr;
        for (unsigned i = w * 32; i < std::min(w * 32 + 32, nthreads); ++i)
          if (!threads[i].exited) {
            lead = &threads[i];
            break;
          }
        const Inst &in = f.code[lead->pc];
        int id = static_cast<int>(val(*lead, in.ops[0]));
        if (barrierId >= 0 && id != barrierId)
          fault(kErrorIllegalInstruction, in, *lead,
                "deadlock: warps wait at different barriers");
        barrierId = id;
        if (in.ops.size() == 2) {
          uint64_t count = val(*lead, in.ops[1]);
          if (count != nthreads && count != liveThreads)
            fault(kErrorIllegalInstruction, in, *lead,
                  "bar.sync with a thread count of part of the block is not "
                  "supported");
        }
      }
      if (!any)
        return;
      for (unsigned w = 0; w < nwarps; ++w) {
        if (!atBar[w])
          continue;
        atBar[w] = 0;
        for (unsigned i = w * 32; i < std::min(w * 32 + 32, nthreads); ++i) {
          Thread &t = threads[i];
          if (!t.exited) {
            t.waiting = false;
            ++t.pc;
          }
        }
      }
    }
  }
};

} // namespace

int launch(const Function &f, const LaunchConfig &config, const uint8_t *params,
           std::string &error) {
  unsigned n = config.block[0] * config.block[1] * config.block[2];
  if (n == 0 || n > 1024 || config.grid[0] == 0 || config.grid[1] == 0 ||
      config.grid[2] == 0) {
    error = "invalid launch configuration for " + f.name;
    return kErrorInvalidValue;
  }
  Runner runner(f, config, params);
  if (runner.sharedSize > 227 * 1024) {
    error = "kernel " + f.name + " needs " + std::to_string(runner.sharedSize) +
            " bytes of shared memory (227 KiB at most)";
    return kErrorInvalidValue;
  }
  try {
    for (unsigned z = 0; z < config.grid[2]; ++z)
      for (unsigned y = 0; y < config.grid[1]; ++y)
        for (unsigned x = 0; x < config.grid[0]; ++x) {
          runner.ctaid[0] = x;
          runner.ctaid[1] = y;
          runner.ctaid[2] = z;
          runner.runBlock();
        }
  } catch (const Fault &fault) {
    error = fault.message;
    return fault.code;
  }
  return kSuccess;
}

} // namespace qemu
