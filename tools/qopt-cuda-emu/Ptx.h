//===- Ptx.h - PTX modules decoded for the qopt CUDA emulator -----*- C++
//-*-===//
//
// The internal form of a PTX module: parsed once by cuModuleLoadData, so the
// interpreter never looks at strings. Registers are slots of a per-thread
// 64-bit array, immediates are bit patterns of the instruction's type,
// labels are instruction indices and symbols (parameters, shared, local and
// global variables) are addresses in their state space.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_CUDA_EMU_PTX_H
#define QOPT_CUDA_EMU_PTX_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qemu {

enum class Ty : uint8_t {
  None,
  Pred,
  B8,
  B16,
  B32,
  B64,
  U8,
  U16,
  U32,
  U64,
  S8,
  S16,
  S32,
  S64,
  F16,
  F16x2,
  BF16,
  BF16x2,
  F32,
  F64,
};

int tyBits(Ty t);
bool tySigned(Ty t);
bool tyFloat(Ty t);

enum class Space : uint8_t { Generic, Global, Shared, Local, Param, Const };

enum class Op : uint8_t {
  Ld,
  St,
  Mov,
  Cvta,
  Add,
  Sub,
  Mul,
  Mad,
  Fma,
  Div,
  Rem,
  Min,
  Max,
  Neg,
  Abs,
  And,
  Or,
  Xor,
  Not,
  Cnot,
  Shl,
  Shr,
  Popc,
  Clz,
  Brev,
  Bfe,
  Bfi,
  Shf, // funnel shift: shf.{l,r}.{wrap,clamp}.b32
  Prmt,
  Selp,
  Setp,
  Bra,
  Exit,
  Rcp,
  Sqrt,
  Rsqrt,
  Ex2,
  Lg2,
  Sin,
  Cos,
  Tanh,
  Copysign,
  Cvt,
  CpAsync,
  CpAsyncCommit,
  CpAsyncWait,
  CpAsyncWaitAll,
  Nop, // membar / fence: no reordering exists to fence against
  // Collectives: the thread stops, and the scheduler runs them once for all
  // participants.
  Shfl,
  Vote,
  WarpSync,
  Bar,
  Mma,
  Ldmatrix,
};

inline bool isCollective(Op op) { return op >= Op::Shfl; }

enum class Cmp : uint8_t {
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  Lo,
  Ls,
  Hi,
  Hs,
  Equ,
  Neu,
  Ltu,
  Leu,
  Gtu,
  Geu,
  Num,
  Nan
};
enum class BoolOp : uint8_t { None, And, Or, Xor };
// Rounding: float (.rn ...) and integer (.rni ...) variants.
enum class Rnd : uint8_t { None, Rn, Rz, Rm, Rp, Rna, Rni, Rzi, Rmi, Rpi };
enum class MulMode : uint8_t { None, Lo, Hi, Wide };
enum class ShflMode : uint8_t { Up, Down, Bfly, Idx };
enum class VoteMode : uint8_t { Ballot, Any, All, Uni };
enum class MmaShape : uint8_t {
  M8N8K128,
  M16N8K128,
  M16N8K256,
  M8N8K16,
  M16N8K16,
  M16N8K32,
  M16N8K8,
};

enum class Special : uint8_t {
  TidX,
  TidY,
  TidZ,
  NtidX,
  NtidY,
  NtidZ,
  CtaidX,
  CtaidY,
  CtaidZ,
  NctaidX,
  NctaidY,
  NctaidZ,
  LaneId,
  WarpId,
  NWarpId,
  SmId,
  NSmId,
  GridId,
  Clock,
  Clock64,
  LanemaskEq,
  LanemaskLt,
  LanemaskLe,
  LanemaskGt,
  LanemaskGe,
  DynSmemSize,
  TotalSmemSize
};

struct Operand {
  enum Kind : uint8_t { None, Reg, Imm, Spec, Addr, Vec, Label } kind = None;
  bool neg = false;           // `!p`
  Special special{};          // Spec
  int reg = -1;               // Reg; Addr: base register or -1
  int64_t imm = 0;            // Imm: bits; Addr: offset; Label: target index
  std::vector<Operand> elems; // Vec ({a, b, ...}; `_` is Reg with reg -1)
  // Parse-time only: a symbol or label name still to resolve, and a
  // decimal float literal to convert to the instruction's type.
  std::string name;
  bool floatLit = false;
  double floatVal = 0;
};

struct Inst {
  Op op;
  Ty type = Ty::None;  // the (destination) type
  Ty type2 = Ty::None; // cvt: source type; mma: A type; shfl/vote ...
  Ty type3 = Ty::None; // mma: B type
  Ty type4 = Ty::None; // mma: C type
  Space space = Space::Generic;
  Space space2 = Space::Generic; // cvta: to/from; cp.async: source
  bool cvtaTo = false;
  bool ftz = false, sat = false, approx = false, uni = false;
  bool mmaXor = false;                    // .xor.popc instead of .and.popc
  bool ldTrans = false;                   // ldmatrix .trans
  bool shfLeft = false, shfClamp = false; // shf .l / .clamp
  uint8_t vec = 1;                        // ld/st .v2/.v4; ldmatrix .x1/.x2/.x4
  Rnd rnd = Rnd::None;
  MulMode mul = MulMode::None;
  Cmp cmp = Cmp::Eq;
  BoolOp boolOp = BoolOp::None;
  ShflMode shfl = ShflMode::Bfly;
  VoteMode vote = VoteMode::Ballot;
  MmaShape shape = MmaShape::M16N8K256;
  int guard = -1; // predicate slot, -1: unguarded
  bool guardNeg = false;
  int line = 0;
  std::vector<Operand> ops;
};

struct Param {
  std::string name;
  uint32_t offset, size;
};

struct Function {
  std::string name;
  bool entry = false;
  std::vector<Param> params;
  uint32_t paramBytes = 0;
  std::vector<Inst> code;
  int numRegs = 0;
  uint32_t staticShared = 0;      // bytes of .shared variables
  uint32_t externSharedAlign = 0; // nonzero: has `.extern .shared`
  uint32_t localBytes = 0;
};

struct GlobalVar {
  std::string name;
  Space space;
  uint32_t align;
  std::vector<uint8_t> init;
};

struct Module {
  std::vector<std::unique_ptr<Function>> functions;
  std::map<std::string, Function *> byName;
  // Module-scope .global/.const variables, allocated at load.
  std::vector<GlobalVar> globals;
  std::vector<void *> globalStorage;
  ~Module();
};

/// Parses PTX text into `module`; on failure returns false with a message
/// naming the line.
bool parsePtx(const std::string &text, Module &module, std::string &error);

} // namespace qemu

#endif // QOPT_CUDA_EMU_PTX_H
