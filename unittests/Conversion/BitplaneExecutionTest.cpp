//===- BitplaneExecutionTest.cpp - bit-plane IR run on the CPU, bit exact -===//
//
// Compiles qopt.integer_matmul through qopt-bitplane-decompose and the CPU
// lowering (64-bit popcounts), runs it with the MLIR ExecutionEngine, and
// compares every int32 accumulator with the reference library's exact
// integer matmul (qopt::ref::integerMatmulGrouped): every (p, q) in 1..8 x
// 1..8, signed and unsigned weights and activations, with and without zero
// points (scalar, per row / channel, per group), K not a multiple of 256,
// M in 1..33, N not a multiple of the tile, weights packed at run time and
// at compile time (constants). The direct integer lowering is checked the
// same way.
//
//===----------------------------------------------------------------------===//

#include "qopt/Conversion/Passes.h"
#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/Transforms/Passes.h"
#include "qopt/Reference/QuantMath.h"
#include "qopt/Target/CPU.h"
#include "qopt/Transforms/Passes.h"

#include "BufferCache.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

using namespace mlir;

// The heap functions generated code calls (`finalize-memref-to-llvm
// {use-generic-functions}`), which model.so gets from its runtime: exported
// from this executable (ENABLE_EXPORTS) for the JIT to resolve.
extern "C" {
__attribute__((visibility("default"))) void *
_mlir_memref_to_llvm_alloc(size_t bytes) {
  return qopt::runtime::allocateBuffer(bytes);
}
__attribute__((visibility("default"))) void _mlir_memref_to_llvm_free(void *p) {
  qopt::runtime::releaseBuffer(p);
}
}

namespace {

/// One compiled integer matmul: the bit widths and signs of its operands,
/// its group size and how its zero points are given.
enum class ZeroPoints { None, PerRow, Scalar };

struct MatmulConfig {
  unsigned wBits, aBits;
  bool wSigned, aSigned;
  int64_t groupSize;
  ZeroPoints zeroPoints;
  /// Constant weights ([n, k] values), packed at compile time; else the
  /// weights are a function argument, packed at run time.
  std::vector<int32_t> constWeights;
  int64_t constN = 0, constK = 0;

  std::string name(size_t index) const { return "mm" + std::to_string(index); }
};

std::string intType(unsigned bits, bool isSigned) {
  return "!qopt.int<" + std::string(isSigned ? "s" : "u") +
         std::to_string(bits) + ">";
}

int32_t lowest(unsigned bits, bool isSigned) {
  return isSigned ? -(1 << (bits - 1)) : 0;
}
int32_t highest(unsigned bits, bool isSigned) {
  return isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
}

/// The function computing `config` on i8 storage: activations [M, K],
/// weights [N, K] (unless constant), zero points as configured.
std::string emitFunction(const MatmulConfig &c, size_t index) {
  std::string s;
  llvm::raw_string_ostream os(s);
  std::string aT = intType(c.aBits, c.aSigned),
              wT = intType(c.wBits, c.wSigned);
  bool constant = !c.constWeights.empty();
  std::string wShape =
      constant ? std::to_string(c.constN) + "x" + std::to_string(c.constK)
               : "?x?";
  std::string aShape = constant ? "?x" + std::to_string(c.constK) : "?x?";
  std::string zaType, zwType;
  if (c.zeroPoints == ZeroPoints::PerRow) {
    zaType = "tensor<?xi32>";
    zwType = c.groupSize ? "tensor<?x?xi32>" : "tensor<?xi32>";
  } else if (c.zeroPoints == ZeroPoints::Scalar) {
    zaType = zwType = "tensor<i32>";
  }
  os << "func.func @" << c.name(index) << "(%a8: tensor<" << aShape << "xi8>";
  if (!constant)
    os << ", %w8: tensor<?x?xi8>";
  if (c.zeroPoints != ZeroPoints::None)
    os << ", %za: " << zaType << ", %zw: " << zwType;
  os << ") -> tensor<?x?x?xi32> attributes {llvm.emit_c_interface} {\n";
  if (constant) {
    os << "  %w8 = arith.constant dense<[";
    for (int64_t r = 0; r < c.constN; ++r) {
      os << (r ? ", [" : "[");
      for (int64_t k = 0; k < c.constK; ++k)
        os << (k ? ", " : "") << c.constWeights[r * c.constK + k];
      os << "]";
    }
    os << "]> : tensor<" << wShape << "xi8>\n";
  }
  os << "  %a = qopt.storage_cast %a8 : tensor<" << aShape << "xi8> to tensor<"
     << aShape << "x" << aT << ">\n";
  os << "  %w = qopt.storage_cast %w8 : tensor<" << wShape << "xi8> to tensor<"
     << wShape << "x" << wT << ">\n";
  os << "  %r = qopt.integer_matmul %a";
  if (c.zeroPoints != ZeroPoints::None)
    os << " zero_point(%za)";
  os << ", %w";
  if (c.zeroPoints != ZeroPoints::None)
    os << " zero_point(%zw)";
  os << " {group_size = " << c.groupSize << " : i64} : (tensor<" << aShape
     << "x" << aT << ">";
  if (c.zeroPoints != ZeroPoints::None)
    os << ", " << zaType;
  os << ", tensor<" << wShape << "x" << wT << ">";
  if (c.zeroPoints != ZeroPoints::None)
    os << ", " << zwType;
  os << ") -> tensor<?x?x?xi32>\n  return %r : tensor<?x?x?xi32>\n}\n";
  return s;
}

template <typename T, int N>
StridedMemRefType<T, N> memref(std::vector<T> &data,
                               std::array<int64_t, N> sizes) {
  StridedMemRefType<T, N> m;
  m.basePtr = m.data = data.data();
  m.offset = 0;
  int64_t stride = 1;
  for (int i = N - 1; i >= 0; --i) {
    m.sizes[i] = sizes[i];
    m.strides[i] = stride;
    stride *= sizes[i];
  }
  return m;
}

class BitplaneExecution : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    mlir::registerAllPasses();
    qopt::registerQoptConversionPasses();
    qopt::registerQoptDialectTransformsPasses();
    qopt::registerQoptTransformsPasses();
  }

  BitplaneExecution() {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registerBuiltinDialectTranslation(registry);
    registerLLVMDialectTranslation(registry);
    registry.insert<qopt::QoptDialect>();
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Compiles every config into one module and JITs it; `bitplanes` selects
  /// qopt-bitplane-decompose before the CPU lowering.
  std::unique_ptr<ExecutionEngine>
  compile(const std::vector<MatmulConfig> &configs, bool bitplanes) {
    std::string text;
    for (size_t i = 0; i < configs.size(); ++i)
      text += emitFunction(configs[i], i);
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(text, ParserConfig(&context));
    if (!module) {
      ADD_FAILURE() << "the generated module does not parse";
      return nullptr;
    }
    PassManager pm(&context);
    std::string error;
    qopt::CpuPipelineOptions options =
        qopt::CpuPipelineOptions::forCpu("native", 2);
    std::string pipeline = (bitplanes ? "qopt-bitplane-decompose," : "") +
                           qopt::qoptLoweringPipeline(options) + "," +
                           qopt::linalgOptimizationPipeline(options) + "," +
                           qopt::bufferizationPipeline() + "," +
                           qopt::llvmLoweringPipeline();
    if (failed(qopt::addPipeline(pm, pipeline, error))) {
      ADD_FAILURE() << error;
      return nullptr;
    }
    if (failed(pm.run(*module))) {
      ADD_FAILURE() << "the lowering failed";
      return nullptr;
    }
    ExecutionEngineOptions engineOptions;
    engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Default;
    // memrefCopy and friends, as model.so gets them from its runtime.
    std::string runnerUtils = QOPT_MLIR_C_RUNNER_UTILS;
    SmallVector<StringRef> libs = {runnerUtils};
    engineOptions.sharedLibPaths = libs;
    auto engine = ExecutionEngine::create(*module, engineOptions);
    if (!engine) {
      ADD_FAILURE() << "JIT: " << llvm::toString(engine.takeError());
      return nullptr;
    }
    // Materialize every function now, so that a link error fails here.
    for (size_t i = 0; i < configs.size(); ++i)
      if (auto fn = (*engine)->lookup("_mlir_ciface_" + configs[i].name(i));
          !fn) {
        ADD_FAILURE() << "JIT: " << llvm::toString(fn.takeError());
        return nullptr;
      }
    return std::move(*engine);
  }

  /// Runs config `index` on random data of shape (m, k, n) and compares all
  /// accumulators with the reference. Returns the number of mismatches.
  int64_t check(ExecutionEngine &engine, const MatmulConfig &c, size_t index,
                int64_t m, int64_t k, int64_t n) {
    bool constant = !c.constWeights.empty();
    if (constant) {
      k = c.constK;
      n = c.constN;
    }
    std::uniform_int_distribution<int32_t> aDist(lowest(c.aBits, c.aSigned),
                                                 highest(c.aBits, c.aSigned));
    std::uniform_int_distribution<int32_t> wDist(lowest(c.wBits, c.wSigned),
                                                 highest(c.wBits, c.wSigned));
    std::vector<int32_t> a(m * k), w = c.constWeights;
    for (int32_t &x : a)
      x = aDist(rng);
    if (!constant) {
      w.resize(n * k);
      for (int32_t &x : w)
        x = wDist(rng);
    }
    int64_t groups = c.groupSize ? k / c.groupSize : 1;
    std::vector<int32_t> za, zw;
    if (c.zeroPoints == ZeroPoints::PerRow) {
      za.resize(m);
      zw.resize(c.groupSize ? n * groups : n);
    } else if (c.zeroPoints == ZeroPoints::Scalar) {
      za.resize(1);
      zw.resize(1);
    }
    for (int32_t &x : za)
      x = aDist(rng);
    for (int32_t &x : zw)
      x = wDist(rng);
    std::vector<int64_t> expected =
        qopt::ref::integerMatmulGrouped(a, w, m, n, k, c.groupSize, za, zw);

    std::vector<int8_t> a8(a.begin(), a.end()), w8(w.begin(), w.end());
    auto aRef = memref<int8_t, 2>(a8, {m, k});
    auto wRef = memref<int8_t, 2>(w8, {n, k});
    auto zaRef = memref<int32_t, 1>(za, {static_cast<int64_t>(za.size())});
    auto zwRef = memref<int32_t, 1>(zw, {static_cast<int64_t>(zw.size())});
    auto zwGroupRef = memref<int32_t, 2>(zw, {n, groups});
    StridedMemRefType<int32_t, 0> zaScalar{za.data(), za.data(), 0};
    StridedMemRefType<int32_t, 0> zwScalar{zw.data(), zw.data(), 0};
    StridedMemRefType<int32_t, 3> result{};
    std::string symbol = "_mlir_ciface_" + c.name(index);
    auto fn = engine.lookup(symbol);
    if (!fn) {
      ADD_FAILURE() << symbol << ": " << llvm::toString(fn.takeError());
      return 1;
    }
    void *ptr = *fn;
    using Out = StridedMemRefType<int32_t, 3>;
    using A = StridedMemRefType<int8_t, 2>;
    if (constant && c.zeroPoints == ZeroPoints::None) {
      reinterpret_cast<void (*)(Out *, A *)>(ptr)(&result, &aRef);
    } else if (constant && c.zeroPoints == ZeroPoints::PerRow) {
      reinterpret_cast<void (*)(Out *, A *, void *, void *)>(ptr)(
          &result, &aRef, &zaRef, c.groupSize ? (void *)&zwGroupRef : &zwRef);
    } else if (constant) {
      reinterpret_cast<void (*)(Out *, A *, void *, void *)>(ptr)(
          &result, &aRef, &zaScalar, &zwScalar);
    } else if (c.zeroPoints == ZeroPoints::None) {
      reinterpret_cast<void (*)(Out *, A *, A *)>(ptr)(&result, &aRef, &wRef);
    } else if (c.zeroPoints == ZeroPoints::PerRow) {
      reinterpret_cast<void (*)(Out *, A *, A *, void *, void *)>(ptr)(
          &result, &aRef, &wRef, &zaRef,
          c.groupSize ? (void *)&zwGroupRef : &zwRef);
    } else {
      reinterpret_cast<void (*)(Out *, A *, A *, void *, void *)>(ptr)(
          &result, &aRef, &wRef, &zaScalar, &zwScalar);
    }
    int64_t mismatches = 0;
    if (result.sizes[0] != m || result.sizes[1] != n ||
        result.sizes[2] != groups) {
      ADD_FAILURE() << c.name(index) << ": result shape " << result.sizes[0]
                    << "x" << result.sizes[1] << "x" << result.sizes[2]
                    << ", expected " << m << "x" << n << "x" << groups;
      mismatches = 1;
    } else {
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          for (int64_t g = 0; g < groups; ++g) {
            int32_t got =
                result.data[result.offset + i * result.strides[0] +
                            j * result.strides[1] + g * result.strides[2]];
            int64_t want = expected[(i * n + j) * groups + g];
            if (got != want && mismatches++ < 3)
              ADD_FAILURE()
                  << c.name(index) << " W" << c.wBits << (c.wSigned ? "s" : "u")
                  << " A" << c.aBits << (c.aSigned ? "s" : "u") << " group "
                  << c.groupSize << " M=" << m << " K=" << k << " N=" << n
                  << " at [" << i << ", " << j << ", " << g << "]: got " << got
                  << ", expected " << want;
          }
    }
    free(result.basePtr);
    ++checked;
    return mismatches;
  }

  MLIRContext context{MLIRContext::Threading::DISABLED};
  std::mt19937 rng{20261123};
  int64_t checked = 0;
};

} // namespace

class BitplaneWidths : public BitplaneExecution,
                       public ::testing::WithParamInterface<unsigned> {};

// Runtime-packed weights, one group: all q, all sign pairs, no zero points
// or per-row / per-channel zero points, for the weight width p of the test.
TEST_P(BitplaneWidths, EqualsReferenceForEveryActivationWidth) {
  unsigned p = GetParam();
  std::vector<MatmulConfig> configs;
  for (unsigned q = 1; q <= 8; ++q)
    for (bool ws : {false, true})
      for (bool as : {false, true})
        for (ZeroPoints zp : {ZeroPoints::None, ZeroPoints::PerRow})
          configs.push_back({p, q, ws, as, 0, zp, {}, 0, 0});
  std::unique_ptr<ExecutionEngine> engine = compile(configs, true);
  ASSERT_TRUE(engine);
  // K: below one word, around and above one MMA step of 256; N not a
  // multiple of 8, 16 or 32.
  const int64_t ks[] = {1, 31, 255, 300, 513};
  const int64_t ns[] = {1, 7, 13, 33};
  int64_t mismatches = 0, call = 0;
  for (size_t i = 0; i < configs.size(); ++i)
    for (int t = 0; t < 3; ++t, ++call) {
      int64_t m = (p * 7 + call) % 33 + 1;
      mismatches += check(*engine, configs[i], i, m, ks[(i + t) % 5],
                          ns[(i + 2 * t) % 4]);
    }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(checked, static_cast<int64_t>(configs.size()) * 3);
}

INSTANTIATE_TEST_SUITE_P(WeightBits, BitplaneWidths, ::testing::Range(1u, 9u),
                         [](const auto &info) {
                           return "W" + std::to_string(info.param);
                         });

// Every M in 1..33 on one configuration per sign pair.
TEST_F(BitplaneExecution, EveryRowCount) {
  std::vector<MatmulConfig> configs = {
      {3, 5, true, false, 0, ZeroPoints::PerRow, {}, 0, 0},
      {4, 8, true, true, 0, ZeroPoints::None, {}, 0, 0},
      {2, 8, false, false, 0, ZeroPoints::PerRow, {}, 0, 0},
      {8, 1, false, true, 0, ZeroPoints::None, {}, 0, 0}};
  std::unique_ptr<ExecutionEngine> engine = compile(configs, true);
  ASSERT_TRUE(engine);
  int64_t mismatches = 0;
  for (size_t i = 0; i < configs.size(); ++i)
    for (int64_t m = 1; m <= 33; ++m)
      mismatches += check(*engine, configs[i], i, m, 300, 13);
  EXPECT_EQ(mismatches, 0);
}

// Per-group accumulators with per-group and scalar zero points, including
// group sizes whose padding is not 256 (lcm(256, 96) = 768).
TEST_F(BitplaneExecution, GroupsAndScalarZeroPoints) {
  std::vector<MatmulConfig> configs;
  for (int64_t g : {32, 64, 96, 128})
    for (auto [p, q] :
         {std::pair{2u, 8u}, {3u, 8u}, {4u, 4u}, {6u, 6u}, {8u, 8u}, {1u, 3u}})
      for (ZeroPoints zp :
           {ZeroPoints::None, ZeroPoints::PerRow, ZeroPoints::Scalar})
        configs.push_back({p, q, p % 2 == 0, q != 8, g, zp, {}, 0, 0});
  // Scalar zero points with one group too.
  for (unsigned p : {2u, 5u, 8u})
    configs.push_back({p, 8, false, true, 0, ZeroPoints::Scalar, {}, 0, 0});
  std::unique_ptr<ExecutionEngine> engine = compile(configs, true);
  ASSERT_TRUE(engine);
  int64_t mismatches = 0;
  for (size_t i = 0; i < configs.size(); ++i) {
    int64_t g = configs[i].groupSize ? configs[i].groupSize : 100;
    for (int64_t groups : {1, 3, 9})
      mismatches += check(*engine, configs[i], i, (i + groups) % 33 + 1,
                          g * groups, 7 + 2 * groups);
  }
  EXPECT_EQ(mismatches, 0);
}

// Constant weights: packed into planes (and their row sums computed) at
// compile time.
TEST_F(BitplaneExecution, ConstantWeightsPackedAtCompileTime) {
  std::vector<MatmulConfig> configs;
  std::mt19937 gen(7);
  for (auto [p, q, g] : {std::tuple{2u, 8u, 0},
                         {3u, 8u, 0},
                         {4u, 8u, 64},
                         {6u, 6u, 0},
                         {8u, 8u, 32},
                         {1u, 4u, 0}})
    for (bool ws : {false, true})
      for (ZeroPoints zp : {ZeroPoints::None, ZeroPoints::PerRow}) {
        MatmulConfig c{p, q, ws, !ws, g, zp, {}, 13, 320};
        std::uniform_int_distribution<int32_t> dist(lowest(p, ws),
                                                    highest(p, ws));
        c.constWeights.resize(c.constN * c.constK);
        for (int32_t &x : c.constWeights)
          x = dist(gen);
        configs.push_back(std::move(c));
      }
  std::unique_ptr<ExecutionEngine> engine = compile(configs, true);
  ASSERT_TRUE(engine);
  int64_t mismatches = 0;
  for (size_t i = 0; i < configs.size(); ++i)
    for (int64_t m : {1, 17, 33})
      mismatches += check(*engine, configs[i], i, m, 0, 0);
  EXPECT_EQ(mismatches, 0);
}

// The direct lowering of qopt.integer_matmul (widened products), the CPU's
// default integer path, against the same reference.
TEST_F(BitplaneExecution, DirectIntegerLowering) {
  std::vector<MatmulConfig> configs;
  for (auto [p, q] : {std::pair{2u, 8u}, {4u, 8u}, {8u, 8u}, {3u, 5u}})
    for (bool ws : {false, true})
      for (int64_t g : {0, 32})
        for (ZeroPoints zp :
             {ZeroPoints::None, ZeroPoints::PerRow, ZeroPoints::Scalar})
          configs.push_back({p, q, ws, !ws, g, zp, {}, 0, 0});
  std::unique_ptr<ExecutionEngine> engine = compile(configs, false);
  ASSERT_TRUE(engine);
  int64_t mismatches = 0;
  for (size_t i = 0; i < configs.size(); ++i)
    for (int64_t t = 1; t <= 2; ++t)
      mismatches +=
          check(*engine, configs[i], i, (i * 5 + t) % 33 + 1,
                configs[i].groupSize ? 32 * (3 * t) : 300 * t, 6 * t + 1);
  EXPECT_EQ(mismatches, 0);
}
