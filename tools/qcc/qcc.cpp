//===- qcc.cpp - the qopt model compiler ----------------------------------===//
//
//   qcc model.onnx -o model.so [--input-shape name=1x128] [--input-value
//       sr=16000] [-O0..3] [-v]
//   qcc model.onnx --wbits 4 --abits 8 --calib data.npz -o model.so
//
// Imports an ONNX model, lowers it through the qopt pipeline and writes a
// self-contained shared library exporting the C API of
// include/qopt/Runtime/qopt_model.h. On any error it prints one line per
// problem, exits non-zero and leaves no output file.
//
//===----------------------------------------------------------------------===//

#include "qopt/Conversion/Passes.h"
#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "qopt/Import/ImportOnnx.h"
#include "qopt/Quant/Calibration.h"
#include "qopt/Quant/Npz.h"
#include "qopt/Target/CPU.h"
#include "qopt/Target/CPU/Calibrate.h"
#include "qopt/Target/GPU.h"
#include "qopt/Transforms/Passes.h"
#include "qopt/Transforms/Quant/LinearLayers.h"
#include "qopt/Transforms/Quant/Passes.h"
#include "qopt/Transforms/Quant/PrecisionReport.h"
#include <limits>

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <map>
#include <set>

using namespace mlir;
using qopt::QuantConfigAttr;
namespace cl = llvm::cl;

static cl::OptionCategory qccCategory("qcc options");

static cl::opt<std::string> inputFile(cl::Positional,
                                      cl::desc("<model.onnx | model.mlir>"),
                                      cl::Required, cl::cat(qccCategory));
static cl::opt<std::string>
    outputFile("o",
               cl::desc("Output file (model.so; '-' for stdout with "
                        "--emit=mlir or llvm)"),
               cl::value_desc("path"), cl::cat(qccCategory));
static cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Specialize an input's shape: NAME=DIMS, e.g. input_ids=1x128 "
             "(? keeps a dimension dynamic); repeatable"),
    cl::value_desc("name=dims"), cl::cat(qccCategory));
static cl::list<std::string> inputValues(
    "input-value",
    cl::desc("Fix an input's value at compile time: NAME=VALUE[,VALUE...], "
             "e.g. sr=16000; the input leaves model.so's inputs and Ifs on "
             "it keep only the branch taken; repeatable"),
    cl::value_desc("name=values"), cl::cat(qccCategory));
static cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0-3"),
                                  cl::Prefix, cl::init(2),
                                  cl::cat(qccCategory));
static cl::opt<bool> verbose("v", cl::desc("Print each stage with its time"),
                             cl::cat(qccCategory));

static cl::opt<std::string>
    cpu("cpu", cl::desc("Target CPU (an LLVM CPU name, or 'native')"),
        cl::init("native"), cl::cat(qccCategory));

enum class EmitKind { SharedLibrary, Object, LLVM, MLIR, PTX };
static cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to write"), cl::init(EmitKind::SharedLibrary),
    cl::values(
        clEnumValN(EmitKind::SharedLibrary, "so",
                   "a shared library with the C API (default)"),
        clEnumValN(EmitKind::Object, "obj", "the object file"),
        clEnumValN(EmitKind::LLVM, "llvm", "optimized LLVM IR"),
        clEnumValN(EmitKind::MLIR, "mlir",
                   "MLIR after --stop-after-stage (default: after import)"),
        clEnumValN(EmitKind::PTX, "ptx",
                   "with --gpu-arch: the PTX of every generated GPU "
                   "kernel")),
    cl::cat(qccCategory));

enum class Stage {
  Import,
  QuantConfig,
  Smooth,
  Precision,
  Quantize,
  Pack,
  GPU,
  GPUKernels,
  QoptLowering,
  Linalg,
  Bufferize,
  LLVMDialect
};
static cl::opt<Stage> stopAfter(
    "stop-after-stage", cl::desc("With --emit=mlir: the last stage to run"),
    cl::init(Stage::Import),
    cl::values(clEnumValN(Stage::Import, "import", "the imported model"),
               clEnumValN(Stage::QuantConfig, "quant-config",
                          "layers chosen and configured (#qopt.quant_config)"),
               clEnumValN(Stage::Smooth, "smooth",
                          "after SmoothQuant (float, smoothed)"),
               clEnumValN(Stage::Precision, "precision",
                          "per-layer bits chosen under the budget "
                          "(qopt.precision)"),
               clEnumValN(Stage::Quantize, "quantize",
                          "weights and activations quantized (qopt.qmatmul)"),
               clEnumValN(Stage::Pack, "pack", "weights stored as bit planes"),
               clEnumValN(Stage::GPU, "gpu",
                          "with --gpu-arch: matmuls as bit-plane GPU kernels "
                          "(gpu.module, nvvm.mma.sync b1) and their launches"),
               clEnumValN(Stage::GPUKernels, "gpu-kernels",
                          "with --gpu-arch: the kernels lowered to NVVM for "
                          "the chip"),
               clEnumValN(Stage::QoptLowering, "qopt-lowering",
                          "qopt ops lowered to linalg"),
               clEnumValN(Stage::Linalg, "linalg",
                          "after linalg optimizations"),
               clEnumValN(Stage::Bufferize, "bufferize", "after bufferization"),
               clEnumValN(Stage::LLVMDialect, "llvm-dialect",
                          "the LLVM dialect module")),
    cl::cat(qccCategory));
static cl::opt<std::string> gpuArch(
    "gpu-arch",
    cl::desc("Compile quantized matmuls to NVIDIA binary tensor-core kernels "
             "for these architectures (a comma-separated list of sm_80, "
             "sm_86, sm_89, sm_90, sm_90a, or 'all' for sm_80,sm_86,sm_89,"
             "sm_90): model.so embeds a cubin for each plus the PTX of the "
             "lowest; with --emit=ptx or --emit=mlir"),
    cl::value_desc("sm_XX[,sm_YY...]|all"), cl::cat(qccCategory));
static cl::opt<std::string> gpuKernel(
    "gpu-kernel",
    cl::desc("with --gpu-arch: the kernel of every quantized matmul: bmma "
             "(bit-plane binary MMA), imma (s8 MMA, low-bit weights unpacked "
             "in registers), hmma (weight-only layers: f16 or bf16 MMA), or "
             "auto (the planner, per layer and range of M)"),
    cl::value_desc("auto|bmma|imma|hmma"), cl::init("auto"),
    cl::cat(qccCategory));
static cl::opt<std::string> gpuHmmaType(
    "gpu-hmma-type",
    cl::desc("with --gpu-arch: the 16-bit float operands of hmma (weight-only "
             "layers): f16 (more precision; activations beyond 65504 "
             "overflow), bf16 (f32's range), or auto (bf16 for bf16 "
             "activations, else f16)"),
    cl::value_desc("auto|f16|bf16"), cl::init("auto"), cl::cat(qccCategory));
static cl::opt<std::string>
    gpuCostTable("gpu-cost-table",
                 cl::desc("with --gpu-arch: measured kernel times (JSON from "
                          "bench/gpu_bench.py --cost-table) for the planner"),
                 cl::value_desc("file"), cl::cat(qccCategory));
static cl::opt<int> gpuWarpsSplitKMaxM(
    "gpu-warps-split-k-max-m",
    cl::desc("with --gpu-arch: up to this M (0 to 16), imma and hmma run "
             "their 16-row tile with its warps splitting K over 16 x 16 "
             "blocks (no split of K over blocks for large N); above it, "
             "warps side by side over 16 x 64 blocks. 0: never"),
    cl::value_desc("M"), cl::init(4), cl::cat(qccCategory));
static cl::opt<int> gpuLargeTileMinM(
    "gpu-large-tile-min-m",
    cl::desc("with --gpu-arch: from this M, imma and hmma run 128 x 128 "
             "blocks of eight warps (64 x 32 each) rather than 64 x 64 "
             "blocks of four, where two pipeline stages of them fit the "
             "shared memory budget. 0: never; else 17 to 65536"),
    cl::value_desc("M"), cl::init(512), cl::cat(qccCategory));
static cl::opt<int> gpuDecodeKTile(
    "gpu-decode-k-tile",
    cl::desc("with --gpu-arch: K per pipeline stage of that warps-split-K "
             "tile, in bytes of activations (128, 256, 512 or 1024; s8 "
             "values, or half as many 16-bit ones)"),
    cl::value_desc("K"), cl::init(512), cl::cat(qccCategory));
static cl::opt<int> gpuDecodeMaxStages(
    "gpu-decode-max-stages",
    cl::desc("with --gpu-arch: most cp.async pipeline stages of that "
             "warps-split-K tile (1 to 16, bounded by the shared memory "
             "of --gpu-shared-memory-kib)"),
    cl::value_desc("N"), cl::init(6), cl::cat(qccCategory));
static cl::opt<bool> gpuDecodeFuseQuant(
    "gpu-decode-fuse-quant",
    cl::desc("with --gpu-arch: imma's warps-split-K tile quantizes its own "
             "activation rows (dynamic per-token quantization; default "
             "true); =false: a quantize kernel writes the bytes first"),
    cl::init(true), cl::cat(qccCategory));
static cl::opt<int> gpuMaxStages(
    "gpu-max-stages",
    cl::desc("with --gpu-arch: most cp.async pipeline stages of the other "
             "tiles (1 to 16, bounded by 48 KiB of shared memory for bmma, "
             "--gpu-shared-memory-kib for imma/hmma)"),
    cl::value_desc("N"), cl::init(3), cl::cat(qccCategory));
static cl::opt<int> gpuSharedMemoryKiB(
    "gpu-shared-memory-kib",
    cl::desc("with --gpu-arch: most shared memory of one imma/hmma block, "
             "in KiB, for their pipeline stages (48 to 227; more than 48 is "
             "dynamic shared memory; default: half an SM's on every "
             "--gpu-arch target, so two blocks fit: 80 for sm_80, 112 for "
             "sm_90, 48 with sm_86 or sm_89)"),
    cl::value_desc("KiB"), cl::init(0), cl::cat(qccCategory));
static cl::opt<bool> gpuBenchWeights(
    "gpu-bench-weights",
    cl::desc("with --gpu-arch -o model.so: a kernel-speed benchmark library: "
             "the GPU kernels read pseudo-random weights made at load time "
             "instead of the model's, and the CPU variant's quantized layers "
             "output NaN, so LLaMA-sized layers make a small library (and "
             "the weights' clipping search is skipped); its results are not "
             "the model's"),
    cl::cat(qccCategory));
static cl::opt<bool> skipChecker("skip-onnx-checker",
                                 cl::desc("Do not run ONNX's model checker"),
                                 cl::cat(qccCategory));

static cl::OptionCategory quantCategory(
    "Quantization options",
    "Without --wbits (or --layer-config) the model stays floating point.");
static cl::opt<int>
    wbits("wbits",
          cl::desc("Quantize the weights of every linear layer (MatMul, Gemm, "
                   "Conv) to N bits, 1 to 8"),
          cl::value_desc("N"), cl::init(-1), cl::cat(quantCategory));
static cl::opt<int> abits(
    "abits",
    cl::desc("Quantize the activations feeding those layers to M bits, 1 to "
             "8; 16 (the default) keeps them floating point (weight-only)"),
    cl::value_desc("M"), cl::init(-1), cl::cat(quantCategory));
static cl::opt<int64_t> groupSize(
    "group-size",
    cl::desc("Weights sharing one scale along K; must divide every quantized "
             "layer's K (0, the default: one scale per output channel)"),
    cl::value_desc("G"), cl::init(0), cl::cat(quantCategory));
static cl::opt<std::string>
    weightScheme("scheme",
                 cl::desc("Weights: sym (signed, no zero point; default) or "
                          "asym (unsigned with zero points)"),
                 cl::init("sym"), cl::cat(quantCategory));
static cl::opt<std::string>
    actScheme("act-scheme", cl::desc("Activations: sym (default) or asym"),
              cl::init("sym"), cl::cat(quantCategory));
static cl::opt<std::string> actQuant(
    "act-quant",
    cl::desc("Activation scales: dynamic (one per token, computed at run "
             "time; default) or static (one per tensor, from calibration)"),
    cl::init("dynamic"), cl::cat(quantCategory));
static cl::opt<std::string> actRange(
    "act-range",
    cl::desc("Static activation range: mse (clipping with the least expected "
             "error; default), percentile or absmax"),
    cl::init("mse"), cl::cat(quantCategory));
static cl::opt<double> actPercentile(
    "act-percentile",
    cl::desc("With --act-range=percentile: the central mass kept, in %"),
    cl::init(99.99), cl::cat(quantCategory));
static cl::opt<std::string> weightQuantizer(
    "weight-quantizer",
    cl::desc("rtn (round to nearest with an MSE clipping search; default) or "
             "gptq (error compensation from calibration data)"),
    cl::init("rtn"), cl::cat(quantCategory));
static cl::opt<double> gptqDamp("gptq-damp",
                                cl::desc("GPTQ dampening (default 0.01)"),
                                cl::init(0.01), cl::cat(quantCategory));
static cl::opt<int64_t>
    gptqBlock("gptq-block-size",
              cl::desc("GPTQ columns per lazy update (default 128)"),
              cl::init(128), cl::cat(quantCategory));
static cl::opt<bool>
    gptqActOrder("gptq-act-order",
                 cl::desc("GPTQ in order of decreasing Hessian diagonal"),
                 cl::cat(quantCategory));
static cl::opt<std::string> smooth(
    "smooth",
    cl::desc("SmoothQuant for layers with quantized activations: auto "
             "(search alpha per layer group; the default when --calib is "
             "given), off, or an alpha in [0, 1]"),
    cl::value_desc("auto|off|ALPHA"), cl::init(""), cl::cat(quantCategory));
static cl::opt<std::string> calibPath(
    "calib",
    cl::desc("Calibration data: an .npz of named input arrays (one batch), "
             "or a folder of them"),
    cl::value_desc("path"), cl::cat(quantCategory));
static cl::opt<std::string> calibrationFile(
    "calibration-file",
    cl::desc("Calibration statistics written by --save-calibration, used "
             "instead of running the model"),
    cl::value_desc("stats.npz"), cl::cat(quantCategory));
static cl::opt<std::string> saveCalibration(
    "save-calibration",
    cl::desc("Write the calibration statistics the quantizers used"),
    cl::value_desc("stats.npz"), cl::cat(quantCategory));
static cl::list<std::string> keepFloat(
    "keep-float",
    cl::desc("Layers (glob patterns of names, comma-separated) that stay "
             "floating point, e.g. 'lm_head,*embed*'"),
    cl::CommaSeparated, cl::value_desc("patterns"), cl::cat(quantCategory));
static cl::opt<std::string>
    layerConfig("layer-config",
                cl::desc("Per-layer settings (JSON) overriding the flags; see "
                         "docs/quantization.md"),
                cl::value_desc("config.json"), cl::cat(quantCategory));
static cl::opt<std::string> quantReport(
    "quant-report",
    cl::desc("Write each layer's precision, smoothing and weight error "
             "(JSON)"),
    cl::value_desc("report.json"), cl::cat(quantCategory));
static cl::opt<unsigned> quantThreads(
    "quant-threads",
    cl::desc("Threads for the quantizers' work at compile time (clipping "
             "search, GPTQ, the sensitivity proxy); 0: one per core "
             "(default). The output does not depend on it"),
    cl::init(0), cl::cat(quantCategory));
static cl::opt<std::string> exportQuantization(
    "export-quantization",
    cl::desc("Write each quantized layer's integer weights, scales and zero "
             "points (.npz, for checking and research)"),
    cl::value_desc("layers.npz"), cl::cat(quantCategory));

static cl::OptionCategory precisionCategory(
    "Mixed precision options",
    "A budget (--avg-wbits, --max-weight-bytes or --avg-cost) makes qcc "
    "choose each layer's bits from the candidates, minimizing the total "
    "sensitivity (exact knapsack); see docs/precision.md.");
static cl::opt<double> avgWbits(
    "avg-wbits",
    cl::desc("Budget: average weight bits over the quantized layers, e.g. "
             "3.5"),
    cl::value_desc("BITS"), cl::init(0), cl::cat(precisionCategory));
static cl::opt<int64_t> maxWeightBytes(
    "max-weight-bytes",
    cl::desc("Budget: packed weight bytes (with scales) of the quantized "
             "layers"),
    cl::value_desc("BYTES"), cl::init(0), cl::cat(precisionCategory));
static cl::opt<double> avgCost(
    "avg-cost",
    cl::desc("Budget: average cost per weight from --precision-cost-table"),
    cl::value_desc("COST"), cl::init(0), cl::cat(precisionCategory));
static cl::opt<std::string> precisionCostTable(
    "precision-cost-table",
    cl::desc("JSON object of each candidate's cost per weight, "
             "{\"W4A8\": 2.0, ...}"),
    cl::value_desc("costs.json"), cl::cat(precisionCategory));
static cl::list<std::string>
    wbitsCandidates("wbits-candidates",
                    cl::desc("Weight bits to choose from (default 2,3,4,6,8)"),
                    cl::CommaSeparated, cl::value_desc("B,B,..."),
                    cl::cat(precisionCategory));
static cl::list<std::string> abitsCandidates(
    "abits-candidates",
    cl::desc("Activation bits to choose from, 16 for weight-only (default: "
             "--abits)"),
    cl::CommaSeparated, cl::value_desc("B,B,..."), cl::cat(precisionCategory));
static cl::opt<std::string> precisionEstimator(
    "precision-estimator",
    cl::desc("Layer sensitivity: proxy (Hessian-weighted error from the "
             "calibration statistics; default) or measured (output error on "
             "the --calib data with only that layer quantized)"),
    cl::init("proxy"), cl::cat(precisionCategory));
static cl::opt<std::string> precisionReport(
    "precision-report",
    cl::desc("Write the allocation as an HTML page (Pareto front, per-layer "
             "bit map) and as JSON next to it (.json)"),
    cl::value_desc("report.html"), cl::cat(precisionCategory));

namespace {
/// Prints "qcc: error: <message>" per diagnostic, with the ONNX node that
/// caused it where known.
struct DiagnosticPrinter {
  bool sawError = false;
  LogicalResult operator()(Diagnostic &diag) {
    const char *kind = diag.getSeverity() == DiagnosticSeverity::Error ? "error"
                       : diag.getSeverity() == DiagnosticSeverity::Warning
                           ? "warning"
                           : "note";
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      sawError = true;
    llvm::errs() << "qcc: " << kind << ": " << diag.str() << "\n";
    return success();
  }
};

class StageTimer {
public:
  void begin(llvm::StringRef name) {
    stage = name.str();
    start = std::chrono::steady_clock::now();
  }
  void end() {
    if (!verbose)
      return;
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    llvm::errs() << llvm::format("qcc: %-16s %9.1f ms\n", stage.c_str(), ms);
  }

private:
  std::string stage;
  std::chrono::steady_clock::time_point start;
};
} // namespace

static std::string humanBytes(int64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return llvm::formatv("{0:f1} {1}", v, units[u]).str();
}

/// Writes `data` to `path` atomically ('-' is stdout).
static LogicalResult writeOutput(llvm::StringRef path, llvm::StringRef data) {
  std::string error;
  auto file = mlir::openOutputFile(path, &error);
  if (!file) {
    llvm::errs() << "qcc: error: " << error << "\n";
    return failure();
  }
  file->os() << data;
  file->keep();
  return success();
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

namespace {
/// What the quantization flags ask for, checked.
struct QuantRequest {
  bool enabled = false;
  bool needsCalibration = false;
  bool smoothing = false;
  double alpha = -1;      ///< < 0: search
  bool precision = false; ///< a budget was given
  std::vector<unsigned> wbitsCandidates, abitsCandidates;
};

/// Parses a comma-separated candidate list; false (printed) on a bad one.
bool parseCandidates(cl::list<std::string> &option, bool weights,
                     std::vector<unsigned> &out) {
  bool ok = true;
  for (const std::string &text : option) {
    unsigned bits;
    if (llvm::StringRef(text).trim().getAsInteger(10, bits)) {
      llvm::errs() << "qcc: error: --" << option.ArgStr << " '" << text
                   << "': not a number of bits\n";
      ok = false;
      continue;
    }
    if (weights ? (bits < 1 || bits > 8)
                : (bits != 16 && (bits < 1 || bits > 8))) {
      llvm::errs() << "qcc: error: --" << option.ArgStr << " " << bits
                   << ": unknown candidate; "
                   << (weights ? "weight bits must be 1 to 8"
                               : "activation bits must be 1 to 8, or 16 for "
                                 "weight-only")
                   << "\n";
      ok = false;
      continue;
    }
    if (llvm::find(out, bits) == out.end())
      out.push_back(bits);
  }
  llvm::sort(out);
  return ok;
}

/// One line per problem with the quantization flags; false on any.
bool checkQuantFlags(QuantRequest &q) {
  bool ok = true;
  auto fail = [&](const llvm::Twine &message) {
    llvm::errs() << "qcc: error: " << message << "\n";
    ok = false;
  };
  int budgets = avgWbits.getNumOccurrences() +
                maxWeightBytes.getNumOccurrences() +
                avgCost.getNumOccurrences();
  q.precision = budgets > 0;
  q.enabled = wbits.getNumOccurrences() || !layerConfig.empty() || q.precision;
  if (budgets > 1)
    fail("give one budget: --avg-wbits, --max-weight-bytes or --avg-cost");
  if (!parseCandidates(wbitsCandidates, true, q.wbitsCandidates) ||
      !parseCandidates(abitsCandidates, false, q.abitsCandidates))
    ok = false;
  if (q.precision) {
    if (q.wbitsCandidates.empty())
      q.wbitsCandidates = {2, 3, 4, 6, 8};
    if (avgWbits.getNumOccurrences() && avgWbits <= 0)
      fail("--avg-wbits " + qopt::shortNumber(avgWbits) + ": must be positive");
    else if (avgWbits.getNumOccurrences() &&
             avgWbits < q.wbitsCandidates.front())
      fail("--avg-wbits " + qopt::shortNumber(avgWbits) +
           ": impossible budget, below the smallest weight bits candidate (" +
           llvm::Twine(q.wbitsCandidates.front()) + ")");
    if (maxWeightBytes.getNumOccurrences() && maxWeightBytes <= 0)
      fail("--max-weight-bytes " + llvm::Twine(maxWeightBytes.getValue()) +
           ": must be positive");
    if (avgCost.getNumOccurrences() && avgCost <= 0)
      fail("--avg-cost " + qopt::shortNumber(avgCost) + ": must be positive");
    if (avgCost.getNumOccurrences() && precisionCostTable.empty())
      fail("--avg-cost needs --precision-cost-table");
    if (!avgCost.getNumOccurrences() && !precisionCostTable.empty())
      fail("--precision-cost-table needs the --avg-cost budget");
    if (precisionEstimator != "proxy" && precisionEstimator != "measured")
      fail("--precision-estimator " + precisionEstimator +
           ": must be proxy or measured");
    if (precisionEstimator == "measured" && calibPath.empty())
      fail("--precision-estimator measured needs --calib (it runs the model "
           "on the calibration data)");
    if (precisionEstimator == "proxy" && calibPath.empty() &&
        calibrationFile.empty())
      fail("mixed precision (--" +
           std::string(avgWbits.getNumOccurrences()         ? "avg-wbits"
                       : maxWeightBytes.getNumOccurrences() ? "max-weight-bytes"
                                                            : "avg-cost") +
           ") needs calibration data for its sensitivities (--calib or "
           "--calibration-file)");
  } else {
    for (cl::Option *o : std::initializer_list<cl::Option *>{
             std::addressof(wbitsCandidates), std::addressof(abitsCandidates),
             &precisionEstimator, &precisionReport, &precisionCostTable})
      if (o->getNumOccurrences())
        fail("--" + o->ArgStr +
             " needs a budget (--avg-wbits, --max-weight-bytes or "
             "--avg-cost)");
  }
  if (wbits.getNumOccurrences() && (wbits < 1 || wbits > 8))
    fail("--wbits " + llvm::Twine(wbits.getValue()) +
         ": weight bits must be 1 to 8");
  if (abits.getNumOccurrences() && abits != 16 && (abits < 1 || abits > 8))
    fail("--abits " + llvm::Twine(abits.getValue()) +
         ": activation bits must be 1 to 8, or 16 for weight-only");
  if (groupSize < 0)
    fail("--group-size " + llvm::Twine(groupSize.getValue()) +
         ": must be 0 (per channel) or a positive group size");
  if (weightScheme != "sym" && weightScheme != "asym")
    fail("--scheme " + weightScheme + ": must be sym or asym");
  if (actScheme != "sym" && actScheme != "asym")
    fail("--act-scheme " + actScheme + ": must be sym or asym");
  if (actQuant != "dynamic" && actQuant != "static")
    fail("--act-quant " + actQuant + ": must be dynamic or static");
  if (actRange != "mse" && actRange != "percentile" && actRange != "absmax")
    fail("--act-range " + actRange + ": must be mse, percentile or absmax");
  if (weightQuantizer != "rtn" && weightQuantizer != "gptq")
    fail("--weight-quantizer " + weightQuantizer + ": must be rtn or gptq");
  if (!q.enabled) {
    for (cl::Option *o : std::initializer_list<cl::Option *>{
             &abits, &groupSize, &weightScheme, &actScheme, &actQuant,
             &weightQuantizer, &smooth, &calibPath, &calibrationFile,
             std::addressof(keepFloat), &quantReport, &exportQuantization})
      if (o->getNumOccurrences())
        fail("--" + o->ArgStr + " needs --wbits (or --layer-config)");
    return ok;
  }

  bool calibration = !calibPath.empty() || !calibrationFile.empty();
  bool actQuantized = abits.getNumOccurrences() && abits != 16;
  // Smoothing: on by default when there is calibration data.
  std::string mode = smooth.empty() ? std::string(calibration ? "auto" : "off")
                                    : smooth.getValue();
  if (mode == "auto") {
    q.smoothing = true;
  } else if (mode != "off") {
    double a;
    if (llvm::StringRef(mode).getAsDouble(a) || a < 0 || a > 1)
      fail("--smooth " + mode + ": must be auto, off, or an alpha in [0, 1]");
    q.smoothing = true;
    q.alpha = a;
  }
  // The layer config may quantize activations too: smoothing then applies
  // to whichever layers end up with quantized activations.
  bool mayQuantizeActs = actQuantized || !layerConfig.empty();
  if (q.smoothing && !mayQuantizeActs)
    q.smoothing = false;
  if (q.smoothing && !calibration)
    fail("--smooth " + mode +
         " needs calibration data (--calib or --calibration-file)");
  if (weightQuantizer == "gptq" && !calibration)
    fail("--weight-quantizer gptq needs calibration data (--calib or "
         "--calibration-file)");
  if (actQuant == "static" && actQuantized && !calibration)
    fail("--act-quant static needs calibration data (--calib or "
         "--calibration-file)");
  if (!calibPath.empty() && !calibrationFile.empty())
    fail("give --calib or --calibration-file, not both");
  // Asking for the statistics file means running the calibration even
  // when no pass needs it.
  q.needsCalibration = q.smoothing || weightQuantizer == "gptq" ||
                       (actQuant == "static" && mayQuantizeActs) ||
                       q.precision || !saveCalibration.empty();
  if (!saveCalibration.empty() && calibPath.empty())
    fail("--save-calibration needs --calib");
  return ok;
}

/// Runs `build`'s passes on `module`; false (diagnostics printed) on failure.
bool runPasses(ModuleOp module, llvm::function_ref<void(PassManager &)> build) {
  PassManager pm(module.getContext());
  build(pm);
  return succeeded(pm.run(module));
}

/// Whether any layer has a config (`act`: with quantized activations).
bool anyConfiguredLayer(ModuleOp module, bool act) {
  bool found = false;
  module.walk([&](Operation *op) {
    if (QuantConfigAttr cfg = qopt::getQuantConfig(op))
      found |= !act || !cfg.isWeightOnly();
  });
  return found;
}

/// True when a quantized matmul of `module` reads constant integer weights
/// of fewer than 8 bits stored one byte per value (as a pre-quantized model
/// imports them), which qopt-pack-weights stores at their bits.
bool hasPreQuantizedWeights(ModuleOp module) {
  bool found = false;
  module.walk([&](qopt::QMatmulOp op) {
    auto cast = op.getWeight().getDefiningOp<qopt::StorageCastOp>();
    found |= cast && matchPattern(cast.getInput(), m_Constant()) &&
             op.getWeightStorageType().getWidth() < 8;
  });
  return found;
}

/// Bytes of all constant tensors in `module` (what model.so embeds).
int64_t constantBytes(ModuleOp module) {
  int64_t bytes = 0;
  module.walk([&](arith::ConstantOp c) {
    auto type = dyn_cast<RankedTensorType>(c.getType());
    if (!type || !type.hasStaticShape())
      return;
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue()))
      if (dense.isSplat())
        return;
    bytes += type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
  });
  return bytes;
}

/// Whether smoothing changed any layer.
bool anySmoothed(ModuleOp module) {
  bool found = false;
  module.walk([&](Operation *op) {
    if (auto s = op->getAttrOfType<DictionaryAttr>("qopt.smoothing"))
      if (auto t = s.getAs<StringAttr>("target"))
        found |= t.getValue() != "none";
  });
  return found;
}

/// The integer weights of a qmatmul's weight operand (storage_cast of an i8
/// constant), as int32.
std::optional<std::vector<int32_t>> readIntWeights(Value w) {
  auto cast = w.getDefiningOp<qopt::StorageCastOp>();
  ElementsAttr attr;
  if (!cast || !matchPattern(cast.getInput(), m_Constant(&attr)))
    return std::nullopt;
  std::vector<int32_t> out;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (!resource.getRawHandle().getBlob())
      return std::nullopt;
    for (char c : resource.getRawHandle().getBlob()->getData())
      out.push_back(static_cast<int8_t>(c));
    return out;
  }
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    for (APInt v : dense.getValues<APInt>())
      out.push_back(static_cast<int32_t>(v.getSExtValue()));
    return out;
  }
  return std::nullopt;
}

std::optional<std::vector<float>> readFloats(Value v) {
  ElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return qopt::readFloatConstant(attr);
}

std::optional<std::vector<int32_t>> readInts(Value v) {
  ElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  std::vector<int32_t> out;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    for (APInt x : dense.getValues<APInt>())
      out.push_back(static_cast<int32_t>(x.getSExtValue()));
    return out;
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource || !resource.getRawHandle().getBlob())
    return std::nullopt;
  ArrayRef<char> data = resource.getRawHandle().getBlob()->getData();
  out.resize(data.size() / 4);
  std::memcpy(out.data(), data.data(), out.size() * 4);
  return out;
}

/// --quant-report: one JSON object per layer, and --export-quantization:
/// each layer's integer weights and parameters as .npz arrays
/// "<layer>::weights" [N, K] (int32), "::weight_scales",
/// "::weight_zero_points", and for static activations "::act_scale",
/// "::act_zero_point".
bool writeQuantOutputs(ModuleOp module, int64_t floatLayers,
                       llvm::json::Object &report) {
  llvm::json::Array layers;
  std::vector<qopt::npz::NamedArray> arrays;
  bool ok = true;
  int64_t totalWeights = 0, totalBits = 0;
  module.walk([&](qopt::QMatmulOp op) {
    QuantConfigAttr cfg = qopt::getQuantConfig(op);
    std::string name = qopt::getLayerName(op);
    auto wType = op.getWeight().getType();
    int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
    llvm::json::Object layer{{"name", name}, {"n", n}, {"k", k}};
    if (cfg) {
      layer["wbits"] = cfg.getWbits();
      layer["abits"] = cfg.getAbits();
      layer["group_size"] = cfg.getGroupSize();
      layer["weight_scheme"] = cfg.getWeightSymmetric() ? "sym" : "asym";
      layer["act_scheme"] = cfg.getActSymmetric() ? "sym" : "asym";
      layer["act_quant"] = stringifyActQuant(cfg.getActQuant()).str();
      totalWeights += n * k;
      totalBits += n * k * cfg.getWbits();
    }
    if (auto smoothing = op->getAttrOfType<DictionaryAttr>("qopt.smoothing")) {
      llvm::json::Object s;
      if (auto t = smoothing.getAs<StringAttr>("target"))
        s["target"] = t.str();
      if (auto a = smoothing.getAs<FloatAttr>("alpha"))
        s["alpha"] = a.getValueAsDouble();
      layer["smoothing"] = std::move(s);
    }
    // The precision stage's choice (qopt-assign-precision).
    if (auto p = op->getAttrOfType<DictionaryAttr>(qopt::kPrecisionAttr)) {
      auto sens = p.getAs<DenseF64ArrayAttr>("sensitivity");
      auto chosen = p.getAs<IntegerAttr>("chosen");
      auto estimator = p.getAs<StringAttr>("estimator");
      if (sens && chosen && chosen.getInt() >= 0 &&
          chosen.getInt() < sens.size() && estimator)
        layer["precision"] =
            llvm::json::Object{{"estimator", estimator.str()},
                               {"sensitivity", sens[chosen.getInt()]}};
    }
    if (auto err = op->getAttrOfType<DictionaryAttr>("qopt.weight_error")) {
      llvm::json::Object e;
      for (NamedAttribute a : err)
        if (auto f = dyn_cast<FloatAttr>(a.getValue()))
          e[a.getName().str()] = f.getValueAsDouble();
      layer["weight_error"] = std::move(e);
    }
    if (auto range = op->getAttrOfType<DictionaryAttr>("qopt.act_range")) {
      if (auto sc = range.getAs<FloatAttr>("scale"))
        layer["act_scale"] = sc.getValueAsDouble();
      if (auto zp = range.getAs<IntegerAttr>("zero_point"))
        layer["act_zero_point"] = zp.getInt();
    }
    layers.push_back(std::move(layer));
    if (exportQuantization.empty())
      return;
    std::optional<std::vector<int32_t>> w = readIntWeights(op.getWeight());
    std::optional<std::vector<float>> scales = readFloats(op.getWeightScale());
    if (!w || !scales) {
      llvm::errs() << "qcc: error: --export-quantization: layer '" << name
                   << "' has no constant integer weights\n";
      ok = false;
      return;
    }
    using qopt::npz::Array;
    arrays.push_back({name + "::weights", Array::fromInt32({n, k}, *w)});
    auto scaleShape = op.getWeightScale().getType().getShape();
    std::vector<int64_t> sshape(scaleShape.begin(), scaleShape.end());
    arrays.push_back(
        {name + "::weight_scales", Array::fromFloat(sshape, *scales)});
    if (auto zp = readInts(op.getWeightZeroPoint()))
      arrays.push_back(
          {name + "::weight_zero_points", Array::fromInt32(sshape, *zp)});
    if (auto sa = readFloats(op.getActScale()))
      arrays.push_back({name + "::act_scale", Array::fromFloat({}, *sa)});
    if (auto za = readInts(op.getActZeroPoint()))
      arrays.push_back({name + "::act_zero_point", Array::fromInt32({}, *za)});
  });
  report = llvm::json::Object{
      {"model", inputFile.getValue()},
      {"quantized_layers", static_cast<int64_t>(layers.size())},
      {"float_layers", floatLayers},
      {"average_weight_bits",
       totalWeights ? static_cast<double>(totalBits) / totalWeights : 0.0},
      {"layers", std::move(layers)}};
  if (!exportQuantization.empty() && ok)
    if (llvm::Error e = qopt::npz::writeNpz(exportQuantization, arrays)) {
      llvm::errs() << "qcc: error: " << llvm::toString(std::move(e)) << "\n";
      ok = false;
    }
  return ok;
}

/// qopt-quantize-weights and qopt-quantize-activations with qcc's flags.
void addQuantizePasses(PassManager &pm, llvm::StringRef statsPath) {
  qopt::QuantizeWeightsOptions w;
  w.method = weightQuantizer;
  w.calibrationFile = statsPath.str();
  w.damp = gptqDamp;
  w.blockSize = gptqBlock;
  w.actOrder = gptqActOrder;
  // A kernel-speed benchmark library never uses the quantized weights (the
  // GPU reads pseudo-random ones, the CPU variant outputs NaN): skip the
  // clipping search, most of a LLaMA-sized layer's compile time.
  w.clipSearch = !gpuBenchWeights;
  pm.addNestedPass<func::FuncOp>(qopt::createQuantizeWeights(w));
  qopt::QuantizeActivationsOptions a;
  a.calibrationFile = statsPath.str();
  a.range = actRange;
  a.percentile = actPercentile;
  pm.addNestedPass<func::FuncOp>(qopt::createQuantizeActivations(a));
}

/// Compiles variants of a configured float model with chosen layers
/// quantized and measures their output error on the calibration batches
/// against the float model: relative MSE (sum (y_q - y)^2 / sum y^2 over
/// every output), or, when every output is a distribution over its last
/// axis (softmax: values in [0, 1] summing to 1), the mean KL(y || y_q).
class ErrorMeter {
public:
  ErrorMeter(ModuleOp module, llvm::ArrayRef<std::string> batches,
             const qopt::CalibrateOptions &options, llvm::StringRef statsPath,
             llvm::StringRef dir)
      : module(module), batches(batches), options(options),
        statsPath(statsPath), dir(dir) {}

  using Configs = std::map<std::string, std::pair<unsigned, unsigned>>;

  /// The error with the layers of `configs` at their (wbits, abits) and
  /// every other layer floating point.
  llvm::Expected<double> measure(const Configs &configs) {
    if (reference.empty()) {
      auto ref = run({});
      if (!ref)
        return ref.takeError();
      reference = std::move(*ref);
      distribution = isDistribution(reference);
    }
    auto outputs = run(configs);
    if (!outputs)
      return outputs.takeError();
    double num = 0, den = 0, kl = 0;
    int64_t rows = 0;
    for (auto [ref, got] : llvm::zip(reference, *outputs))
      for (auto [a, b] : llvm::zip(ref, got)) {
        if (a.values.size() != b.values.size())
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "output '" + a.name +
                                             "' changed its shape");
        for (auto [x, y] : llvm::zip(a.values, b.values)) {
          double d = static_cast<double>(x) - y;
          num += d * d;
          den += static_cast<double>(x) * x;
        }
        if (distribution) {
          int64_t last = a.shape.empty() ? 1 : a.shape.back();
          for (size_t r = 0; r * last < a.values.size(); ++r, ++rows)
            for (int64_t c = 0; c < last; ++c) {
              double p = a.values[r * last + c];
              double q = std::max<double>(b.values[r * last + c], 1e-12);
              if (p > 0)
                kl += p * std::log(p / q);
            }
        }
      }
    if (distribution)
      return rows ? kl / rows : 0.0;
    return den > 0 ? num / den : num;
  }

  llvm::StringRef metric() const {
    return distribution ? "KL divergence of the output distribution"
                        : "relative MSE of the outputs";
  }

private:
  static bool
  isDistribution(const std::vector<std::vector<qopt::OutputTensor>> &outputs) {
    bool any = false;
    for (const auto &batch : outputs)
      for (const qopt::OutputTensor &t : batch) {
        int64_t last = t.shape.empty() ? 1 : t.shape.back();
        if (last < 2)
          return false;
        for (size_t r = 0; r * last < t.values.size(); ++r) {
          double sum = 0;
          for (int64_t c = 0; c < last; ++c) {
            float v = t.values[r * last + c];
            if (!(v >= 0 && v <= 1))
              return false;
            sum += v;
          }
          if (std::fabs(sum - 1) > 1e-3)
            return false;
          any = true;
        }
      }
    return any;
  }

  llvm::Expected<std::vector<std::vector<qopt::OutputTensor>>>
  run(const Configs &configs) {
    OwningOpRef<ModuleOp> clone(module.clone());
    MLIRContext *ctx = module.getContext();
    clone->walk([&](Operation *op) {
      QuantConfigAttr cfg = qopt::getQuantConfig(op);
      if (!cfg)
        return;
      auto it = configs.find(qopt::getLayerName(op));
      if (it == configs.end()) {
        op->removeAttr(qopt::kQuantConfigAttr);
        return;
      }
      auto [w, a] = it->second;
      qopt::ActQuant act = a == 16 ? qopt::ActQuant::None
                           : cfg.getActQuant() == qopt::ActQuant::None
                               ? qopt::ActQuant::DynamicPerToken
                               : cfg.getActQuant();
      op->setAttr(qopt::kQuantConfigAttr,
                  QuantConfigAttr::get(ctx, w, a, cfg.getGroupSize(),
                                       cfg.getWeightSymmetric(),
                                       cfg.getActSymmetric(), act));
    });
    if (!configs.empty() && !runPasses(*clone, [&](PassManager &pm) {
          addQuantizePasses(pm, statsPath);
          pm.addNestedPass<func::FuncOp>(qopt::createPackWeights());
        }))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "cannot quantize a measurement variant");
    // A new path per library: dlopen returns a loaded one by name.
    llvm::SmallString<128> so(dir);
    llvm::sys::path::append(so, "variant" + std::to_string(counter++) + ".so");
    std::string error;
    if (failed(qopt::buildSharedLibrary(*clone, options.functionName,
                                        options.pipeline, options.codegen, so,
                                        error)))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "cannot build a measurement variant: " +
                                         error);
    auto result = qopt::runModelOnBatches(so, batches);
    llvm::sys::fs::remove(so);
    return result;
  }

  ModuleOp module;
  llvm::ArrayRef<std::string> batches;
  const qopt::CalibrateOptions &options;
  std::string statsPath, dir;
  std::vector<std::vector<qopt::OutputTensor>> reference;
  bool distribution = false;
  int counter = 0;
};

/// "W4A16" -> (4, 16).
std::optional<std::pair<unsigned, unsigned>> parseKey(llvm::StringRef key) {
  unsigned w, a;
  if (!key.consume_front("W"))
    return std::nullopt;
  auto [ws, as] = key.split('A');
  if (ws.getAsInteger(10, w) || as.getAsInteger(10, a))
    return std::nullopt;
  return std::make_pair(w, a);
}

/// The precision stage: sensitivities (proxy in the pass, or measured
/// here), the allocation (qopt-assign-precision), and --precision-report.
bool assignPrecision(ModuleOp module, const QuantRequest &quant,
                     llvm::StringRef statsPath,
                     llvm::ArrayRef<std::string> batches,
                     const qopt::CalibrateOptions &calibOptions,
                     llvm::SmallString<128> &tempDir) {
  auto fail = [](const llvm::Twine &message) {
    llvm::errs() << "qcc: error: " << message << "\n";
    return false;
  };
  if (tempDir.empty() &&
      llvm::sys::fs::createUniqueDirectory("qcc-calibration", tempDir))
    return fail("cannot create a temporary folder");
  std::optional<ErrorMeter> meter;
  if (!batches.empty())
    meter.emplace(module, batches, calibOptions, statsPath, tempDir);

  std::string sensitivityPath;
  if (precisionEstimator == "measured") {
    // Every layer at every candidate, alone.
    std::vector<unsigned> acands = quant.abitsCandidates;
    llvm::json::Object layers;
    bool ok = true;
    module.walk([&](Operation *op) {
      QuantConfigAttr cfg = qopt::getQuantConfig(op);
      if (!cfg || !ok)
        return;
      std::string name = qopt::getLayerName(op);
      llvm::json::Object errors;
      std::vector<unsigned> as =
          acands.empty() ? std::vector<unsigned>{cfg.getAbits()} : acands;
      for (unsigned w : quant.wbitsCandidates)
        for (unsigned a : as) {
          auto e = meter->measure({{name, {w, a}}});
          if (!e) {
            fail("measuring layer '" + name +
                 "': " + llvm::toString(e.takeError()));
            ok = false;
            return;
          }
          errors[qopt::precisionCandidateKey(w, a)] = *e;
          if (verbose)
            llvm::errs() << llvm::formatv(
                "qcc:   sensitivity {0} {1}: {2:e3}\n", name,
                qopt::precisionCandidateKey(w, a), *e);
        }
      layers[name] = std::move(errors);
    });
    if (!ok)
      return false;
    llvm::SmallString<128> path(tempDir);
    llvm::sys::path::append(path, "sensitivities.json");
    sensitivityPath = std::string(path);
    llvm::json::Object root{{"metric", meter->metric()},
                            {"layers", std::move(layers)}};
    if (failed(writeOutput(
            sensitivityPath,
            llvm::formatv("{0:2}", llvm::json::Value(std::move(root))).str())))
      return false;
  }

  if (!runPasses(module, [&](PassManager &pm) {
        qopt::AssignPrecisionOptions o;
        o.avgWbits = avgWbits;
        o.maxWeightBytes = maxWeightBytes;
        o.avgCost = avgCost;
        o.costTable = precisionCostTable;
        o.wbitsCandidates.assign(quant.wbitsCandidates.begin(),
                                 quant.wbitsCandidates.end());
        o.abitsCandidates.assign(quant.abitsCandidates.begin(),
                                 quant.abitsCandidates.end());
        o.estimator = precisionEstimator;
        o.calibrationFile = statsPath.str();
        o.sensitivityFile = sensitivityPath;
        pm.addPass(qopt::createAssignPrecision(o));
      }))
    return false;
  if (precisionReport.empty())
    return true;

  // The report: the allocation from the IR, and measured errors along the
  // front and for uniform precision when there is calibration data.
  llvm::json::Object report = qopt::precisionReport(module);
  report["model"] = inputFile.getValue();
  if (meter) {
    report["measured_metric"] = meter->metric();
    const llvm::json::Array *layers = report.getArray("layers");
    auto configsOf = [&](const llvm::json::Array &choice) {
      ErrorMeter::Configs configs;
      for (auto [l, key] : llvm::zip(*layers, choice)) {
        auto wa = parseKey(key.getAsString().value_or(""));
        if (wa)
          configs[l.getAsObject()->getString("name")->str()] = *wa;
      }
      return configs;
    };
    auto measureInto = [&](llvm::json::Object &point) -> bool {
      const llvm::json::Array *choice = point.getArray("choice");
      if (!choice)
        return true;
      auto e = meter->measure(configsOf(*choice));
      if (!e)
        return fail("precision report: " + llvm::toString(e.takeError()));
      point["measured"] = *e;
      return true;
    };
    // Up to 8 points of the front, evenly spaced, and the chosen one.
    llvm::json::Array measured;
    if (llvm::json::Array *pareto = report.getArray("pareto")) {
      size_t count = pareto->size(), picks = std::min<size_t>(count, 8);
      std::set<size_t> indices;
      for (size_t i = 0; i < picks; ++i)
        indices.insert(picks > 1 ? i * (count - 1) / (picks - 1) : 0);
      for (size_t i = 0; i < count; ++i)
        if ((*pareto)[i].getAsObject()->getBoolean("chosen").value_or(false))
          indices.insert(i);
      for (size_t i : indices) {
        llvm::json::Object point = *(*pareto)[i].getAsObject();
        if (!measureInto(point))
          return false;
        point["label"] =
            llvm::formatv(
                "mixed {0:f2} bits{1}",
                point.getNumber("avg_wbits").value_or(0),
                point.getBoolean("chosen").value_or(false) ? " (chosen)" : "")
                .str();
        if (point.getBoolean("chosen").value_or(false))
          if (llvm::json::Object *totals = report.getObject("totals"))
            (*totals)["measured"] = *point.getNumber("measured");
        measured.push_back(std::move(point));
      }
    }
    report["measured"] = std::move(measured);
    if (llvm::json::Array *uniform = report.getArray("uniform"))
      for (llvm::json::Value &u : *uniform)
        if (!measureInto(*u.getAsObject()))
          return false;
  }
  llvm::StringRef html = precisionReport;
  llvm::SmallString<128> jsonPath(html);
  if (llvm::sys::path::extension(jsonPath) == ".html" ||
      llvm::sys::path::extension(jsonPath) == ".htm")
    llvm::sys::path::replace_extension(jsonPath, ".json");
  else
    jsonPath += ".json";
  if (llvm::Error e = qopt::writePrecisionJson(jsonPath, report))
    return fail(llvm::toString(std::move(e)));
  return succeeded(writeOutput(html, qopt::precisionReportHtml(report)));
}
} // namespace

/// The measured cost table the planner uses without --gpu-cost-table: the
/// newest listed arch's cost_table_<arch>.json among the tables checked into
/// bench/gpu/ (copied to <bin>/../share/qopt/gpu-cost-tables by the build),
/// or in $QOPT_GPU_COST_TABLE_DIR; "" when there is none (the rule decides).
static std::string defaultCostTable(ArrayRef<qopt::GpuTarget> targets) {
  llvm::SmallString<256> dir;
  if (const char *env = std::getenv("QOPT_GPU_COST_TABLE_DIR")) {
    dir = env;
  } else {
    static int anchor;
    dir = llvm::sys::path::parent_path(
        llvm::sys::path::parent_path(llvm::sys::fs::getMainExecutable(
            "qcc", reinterpret_cast<void *>(&anchor))));
    llvm::sys::path::append(dir, "share", "qopt", "gpu-cost-tables");
  }
  for (const qopt::GpuTarget &t : llvm::reverse(targets)) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "cost_table_" + t.chip + ".json");
    if (llvm::sys::fs::exists(path))
      return std::string(path);
  }
  return "";
}

/// The cost table the planner reads (set once the targets are known).
static std::string plannerCostTable;
static int64_t sharedMemoryBytes = 48 * 1024;

/// The options of qopt-bitplane-to-gpu that qcc's flags set.
static qopt::ConvertBitplaneToGPUOptions gpuKernelOptions() {
  qopt::ConvertBitplaneToGPUOptions options;
  options.kernel = gpuKernel;
  options.hmmaType = gpuHmmaType;
  options.costTable = plannerCostTable;
  options.randomWeights = gpuBenchWeights;
  options.warpsSplitKMaxM = gpuWarpsSplitKMaxM;
  options.largeTileMinM = gpuLargeTileMinM;
  options.decodeKTile = gpuDecodeKTile;
  options.decodeMaxStages = gpuDecodeMaxStages;
  options.decodeFuseQuant = gpuDecodeFuseQuant;
  options.sharedMemoryBytes = sharedMemoryBytes;
  options.maxStages = gpuMaxStages;
  return options;
}

/// --gpu-bench-weights: every quantized matmul of the CPU variant becomes a
/// NaN-filled result, so its weights are dropped from the library.
static void dropCpuWeights(ModuleOp module) {
  SmallVector<qopt::QMatmulOp> matmuls;
  module.walk([&](qopt::QMatmulOp op) { matmuls.push_back(op); });
  for (qopt::QMatmulOp op : matmuls) {
    OpBuilder b(op);
    auto type = cast<RankedTensorType>(op.getResult().getType());
    SmallVector<Value> sizes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        sizes.push_back(tensor::DimOp::create(b, op.getLoc(), op.getAct(), d));
    Value empty = tensor::EmptyOp::create(b, op.getLoc(), type.getShape(),
                                          type.getElementType(), sizes);
    Value nan = arith::ConstantOp::create(
        b, op.getLoc(),
        b.getFloatAttr(type.getElementType(),
                       std::numeric_limits<double>::quiet_NaN()));
    Value filled =
        linalg::FillOp::create(b, op.getLoc(), nan, empty).getResult(0);
    op.getResult().replaceAllUsesWith(filled);
    op.erase();
  }
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions({&qccCategory, &quantCategory, &precisionCategory});
  cl::ParseCommandLineOptions(
      argc, argv,
      "qcc: compile an ONNX model into a shared library (model.so) with a C "
      "API\n");

  if (quantThreads)
    llvm::parallel::strategy = llvm::hardware_concurrency(quantThreads);
  if (optLevel > 3) {
    llvm::errs() << "qcc: error: -O" << optLevel
                 << " is not an optimization level (use -O0 to -O3)\n";
    return 1;
  }
  bool toStdout = emitKind == EmitKind::MLIR || emitKind == EmitKind::LLVM ||
                  emitKind == EmitKind::PTX;
  if (outputFile.empty()) {
    if (!toStdout) {
      llvm::errs() << "qcc: error: no output file given (use -o model.so)\n";
      return 1;
    }
    outputFile = "-";
  }
  if (stopAfter != Stage::Import && emitKind != EmitKind::MLIR) {
    llvm::errs() << "qcc: error: --stop-after-stage needs --emit=mlir\n";
    return 1;
  }
  QuantRequest quant;
  if (!checkQuantFlags(quant))
    return 1;
  std::optional<SmallVector<qopt::GpuTarget>> gpuTargets;
  if (gpuArch.getNumOccurrences()) {
    std::string error;
    FailureOr<SmallVector<qopt::GpuTarget>> targets =
        qopt::gpuTargetsFor(gpuArch, error);
    if (failed(targets)) {
      llvm::errs() << "qcc: error: --gpu-arch: " << error << "\n";
      return 1;
    }
    gpuTargets = *targets;
    plannerCostTable = gpuCostTable.getNumOccurrences()
                           ? std::string(gpuCostTable)
                           : defaultCostTable(*gpuTargets);
    if (verbose && !plannerCostTable.empty())
      llvm::errs() << "qcc: the GPU planner's cost table: " << plannerCostTable
                   << "\n";
    if (emitKind != EmitKind::PTX && emitKind != EmitKind::MLIR &&
        emitKind != EmitKind::SharedLibrary) {
      llvm::errs() << "qcc: error: --gpu-arch makes a model.so (with CPU and "
                      "GPU code), or --emit=ptx or --emit=mlir\n";
      return 1;
    }
  } else if (emitKind == EmitKind::PTX ||
             (emitKind == EmitKind::MLIR &&
              (stopAfter == Stage::GPU || stopAfter == Stage::GPUKernels))) {
    llvm::errs() << "qcc: error: --emit=ptx and the gpu stages need "
                    "--gpu-arch\n";
    return 1;
  }
  if ((gpuKernel.getNumOccurrences() || gpuCostTable.getNumOccurrences() ||
       gpuHmmaType.getNumOccurrences() || gpuBenchWeights ||
       gpuWarpsSplitKMaxM.getNumOccurrences() ||
       gpuLargeTileMinM.getNumOccurrences() ||
       gpuDecodeKTile.getNumOccurrences() ||
       gpuDecodeMaxStages.getNumOccurrences() ||
       gpuDecodeFuseQuant.getNumOccurrences() ||
       gpuSharedMemoryKiB.getNumOccurrences() ||
       gpuMaxStages.getNumOccurrences()) &&
      !gpuTargets) {
    llvm::errs() << "qcc: error: --gpu-kernel, --gpu-hmma-type, "
                    "--gpu-cost-table, --gpu-warps-split-k-max-m, "
                    "--gpu-large-tile-min-m, "
                    "--gpu-decode-k-tile, --gpu-decode-max-stages, "
                    "--gpu-decode-fuse-quant, "
                    "--gpu-max-stages, --gpu-shared-memory-kib and "
                    "--gpu-bench-weights need --gpu-arch\n";
    return 1;
  }
  if (gpuWarpsSplitKMaxM < 0 || gpuWarpsSplitKMaxM > 16) {
    llvm::errs() << "qcc: error: --gpu-warps-split-k-max-m: "
                 << gpuWarpsSplitKMaxM << " is not between 0 and 16\n";
    return 1;
  }
  if (gpuLargeTileMinM != 0 &&
      (gpuLargeTileMinM <= 16 || gpuLargeTileMinM > 65536)) {
    llvm::errs() << "qcc: error: --gpu-large-tile-min-m: " << gpuLargeTileMinM
                 << " is not 0 or between 17 and 65536\n";
    return 1;
  }
  if (gpuDecodeKTile != 128 && gpuDecodeKTile != 256 && gpuDecodeKTile != 512 &&
      gpuDecodeKTile != 1024) {
    llvm::errs() << "qcc: error: --gpu-decode-k-tile: " << gpuDecodeKTile
                 << " is not 128, 256, 512 or 1024\n";
    return 1;
  }
  if (gpuDecodeMaxStages < 1 || gpuDecodeMaxStages > 16) {
    llvm::errs() << "qcc: error: --gpu-decode-max-stages: "
                 << gpuDecodeMaxStages << " is not between 1 and 16\n";
    return 1;
  }
  if (gpuMaxStages < 1 || gpuMaxStages > 16) {
    llvm::errs() << "qcc: error: --gpu-max-stages: " << gpuMaxStages
                 << " is not between 1 and 16\n";
    return 1;
  }
  if (gpuSharedMemoryKiB.getNumOccurrences() &&
      (gpuSharedMemoryKiB < 48 || gpuSharedMemoryKiB > 227)) {
    llvm::errs() << "qcc: error: --gpu-shared-memory-kib: "
                 << gpuSharedMemoryKiB << " is not between 48 and 227\n";
    return 1;
  }
  if (gpuTargets) {
    sharedMemoryBytes = gpuSharedMemoryKiB.getNumOccurrences()
                            ? int64_t(gpuSharedMemoryKiB) * 1024
                            : qopt::sharedMemoryBudget(*gpuTargets);
    int64_t limit = qopt::sharedMemoryPerBlockLimit(*gpuTargets);
    if (sharedMemoryBytes > limit) {
      llvm::errs() << "qcc: error: --gpu-shared-memory-kib: "
                   << gpuSharedMemoryKiB << " KiB is more than a block of "
                   << gpuArch << " may take (" << limit / 1024 << " KiB)\n";
      return 1;
    }
  }
  if (gpuBenchWeights && emitKind != EmitKind::SharedLibrary &&
      emitKind != EmitKind::MLIR) {
    llvm::errs() << "qcc: error: --gpu-bench-weights makes a model.so (or "
                    "--emit=mlir)\n";
    return 1;
  }
  if (gpuKernel != "auto" && gpuKernel != "bmma" && gpuKernel != "imma" &&
      gpuKernel != "hmma") {
    llvm::errs() << "qcc: error: --gpu-kernel: unknown kernel '" << gpuKernel
                 << "' (auto, bmma, imma or hmma)\n";
    return 1;
  }
  if (gpuHmmaType != "auto" && gpuHmmaType != "f16" && gpuHmmaType != "bf16") {
    llvm::errs() << "qcc: error: --gpu-hmma-type: unknown type '" << gpuHmmaType
                 << "' (auto, f16 or bf16)\n";
    return 1;
  }
  if (!gpuCostTable.empty() && !llvm::sys::fs::exists(gpuCostTable)) {
    llvm::errs() << "qcc: error: --gpu-cost-table: cannot read '"
                 << gpuCostTable << "'\n";
    return 1;
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<qopt::QoptDialect>();
  qopt::registerGpuLaunchMemoryEffects(registry);
  registerAllPasses();
  qopt::registerQoptConversionPasses();
  qopt::registerQoptTransformsPasses();
  qopt::registerQoptDialectTransformsPasses();
  qopt::registerQoptQuantPasses();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  DiagnosticPrinter printer;
  context.getDiagEngine().registerHandler(
      [&](Diagnostic &diag) { return printer(diag); });

  StageTimer timer;
  qopt::OnnxImportOptions importOptions;
  qopt::OnnxImportStats stats;
  importOptions.stats = &stats;
  importOptions.runOnnxChecks = !skipChecker;
  for (const std::string &spec : inputShapes) {
    std::string error = qopt::parseInputShapeSpec(spec, importOptions);
    if (!error.empty()) {
      llvm::errs() << "qcc: error: --input-shape: " << error << "\n";
      return 1;
    }
  }
  for (const std::string &spec : inputValues) {
    std::string error = qopt::parseInputValueSpec(spec, importOptions);
    if (!error.empty()) {
      llvm::errs() << "qcc: error: --input-value: " << error << "\n";
      return 1;
    }
  }
  timer.begin("import");
  OwningOpRef<ModuleOp> module;
  if (llvm::StringRef(inputFile).ends_with(".mlir")) {
    // MLIR (e.g. from --emit=mlir, transformed with qopt-opt): its @main
    // (or --function) is the model.
    if (!inputShapes.empty() || !inputValues.empty()) {
      llvm::errs() << "qcc: error: --input-shape and --input-value apply to "
                      "ONNX models only\n";
      return 1;
    }
    std::string error;
    auto file = mlir::openInputFile(inputFile, &error);
    if (!file) {
      llvm::errs() << "qcc: error: " << error << "\n";
      return 1;
    }
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return 1;
    module->walk([&](Operation *op) {
      ++stats.numNodes;
      if (auto c = dyn_cast<arith::ConstantOp>(op))
        if (auto t = dyn_cast<RankedTensorType>(c.getType()))
          if (t.hasStaticShape() && !isa<DenseElementsAttr>(c.getValue()))
            stats.weightBytes +=
                t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
    });
  } else {
    module = qopt::importOnnxModel(inputFile, &context, importOptions);
    if (!module)
      return 1;
  }
  timer.end();

  auto emitMLIR = [&]() -> int {
    // With locations: they carry the layer names (ONNX node names) that the
    // quantization passes key calibration statistics and configs on.
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os, OpPrintingFlags().enableDebugInfo());
    return failed(writeOutput(outputFile, text)) ? 1 : 0;
  };
  if (emitKind == EmitKind::MLIR && stopAfter == Stage::Import)
    return emitMLIR();

  qopt::CpuPipelineOptions pipelineOptions =
      qopt::CpuPipelineOptions::forCpu(cpu, optLevel);
  qopt::CodegenOptions codegenOptions;
  codegenOptions.cpu = cpu;
  codegenOptions.optLevel = optLevel;
  std::string quantizedSummary;
  if (quant.enabled) {
    int rc = -1;
    auto stopHere = [&](Stage stage) {
      if (emitKind == EmitKind::MLIR && stopAfter == stage)
        rc = emitMLIR();
      return rc >= 0;
    };
    timer.begin("quant-config");
    if (!runPasses(*module, [&](PassManager &pm) {
          qopt::AssignQuantConfigOptions o;
          // With a budget and no --wbits, every layer starts at the largest
          // candidate; qopt-assign-precision then chooses.
          o.wbits = wbits.getNumOccurrences() ? wbits
                    : quant.precision
                        ? static_cast<int>(quant.wbitsCandidates.back())
                        : 0;
          o.abits = abits.getNumOccurrences() ? abits : 16;
          o.groupSize = groupSize;
          o.weightScheme = weightScheme;
          o.actScheme = actScheme;
          o.actQuant = actQuant;
          o.keepFloat.assign(keepFloat.begin(), keepFloat.end());
          o.configFile = layerConfig;
          pm.addPass(qopt::createAssignQuantConfig(o));
          pm.addNestedPass<func::FuncOp>(qopt::createConvToMatmul());
        }))
      return 1;
    timer.end();
    int64_t floatLayers = 0, quantizedLayers = 0;
    module->walk([&](Operation *op) {
      if (op->hasAttr(qopt::kLayerNameAttr))
        ++(qopt::getQuantConfig(op) ? quantizedLayers : floatLayers);
    });
    if (stopHere(Stage::QuantConfig))
      return rc;

    // Calibration statistics: given, or measured by running the model.
    llvm::SmallString<128> tempDir;
    llvm::scope_exit removeTemp([&] {
      if (!tempDir.empty())
        llvm::sys::fs::remove_directories(tempDir);
    });
    std::string statsPath = calibrationFile;
    std::vector<std::string> batches;
    qopt::CalibrateOptions calibOptions;
    calibOptions.functionName = importOptions.functionName;
    calibOptions.pipeline = pipelineOptions;
    calibOptions.codegen = codegenOptions;
    // X^T X costs K^2 per layer: collected when GPTQ or the proxy needs it,
    // and always for a saved file, so any pass can be rerun from it.
    calibOptions.statistics.hessian =
        weightQuantizer == "gptq" ||
        (quant.precision && precisionEstimator == "proxy") ||
        !saveCalibration.empty();
    calibOptions.verbose = verbose;
    auto calibrate = [&](llvm::StringRef stageName) -> bool {
      timer.begin(stageName);
      auto stats = qopt::calibrateModel(*module, batches, calibOptions);
      if (!stats) {
        llvm::errs() << "qcc: error: " << llvm::toString(stats.takeError())
                     << "\n";
        return false;
      }
      if (tempDir.empty() &&
          llvm::sys::fs::createUniqueDirectory("qcc-calibration", tempDir)) {
        llvm::errs() << "qcc: error: cannot create a temporary folder\n";
        return false;
      }
      llvm::SmallString<128> path(tempDir);
      llvm::sys::path::append(path, std::string(stageName) + ".npz");
      if (llvm::Error e = stats->save(path)) {
        llvm::errs() << "qcc: error: " << llvm::toString(std::move(e)) << "\n";
        return false;
      }
      statsPath = std::string(path);
      timer.end();
      return true;
    };
    bool needStats =
        quant.needsCalibration && anyConfiguredLayer(*module, false);
    if (needStats && !calibPath.empty()) {
      auto files = qopt::listCalibrationFiles(calibPath);
      if (!files) {
        llvm::errs() << "qcc: error: " << llvm::toString(files.takeError())
                     << "\n";
        return 1;
      }
      batches = std::move(*files);
      if (!calibrate("calibrate"))
        return 1;
    }

    if (quant.smoothing && anyConfiguredLayer(*module, true)) {
      timer.begin("smooth");
      if (!runPasses(*module, [&](PassManager &pm) {
            qopt::SmoothQuantOptions o;
            o.calibrationFile = statsPath;
            o.alpha = quant.alpha;
            pm.addNestedPass<func::FuncOp>(qopt::createSmoothQuant(o));
          }))
        return 1;
      timer.end();
      // The smoothed layers see other activations: measure them again.
      if (anySmoothed(*module)) {
        if (batches.empty()) {
          llvm::errs() << "qcc: error: smoothing changed the activations the "
                          "statistics of --calibration-file describe; give "
                          "--calib to calibrate again, or --smooth off\n";
          return 1;
        }
        if (!calibrate("recalibrate"))
          return 1;
      }
    }
    if (stopHere(Stage::Smooth))
      return rc;
    if (!saveCalibration.empty() && !statsPath.empty()) {
      if (std::error_code ec =
              llvm::sys::fs::copy_file(statsPath, saveCalibration)) {
        llvm::errs() << "qcc: error: cannot write '" << saveCalibration
                     << "': " << ec.message() << "\n";
        return 1;
      }
    }

    if (quant.precision) {
      timer.begin("precision");
      if (!assignPrecision(*module, quant, statsPath, batches, calibOptions,
                           tempDir))
        return 1;
      timer.end();
    }
    if (stopHere(Stage::Precision))
      return rc;

    timer.begin("quantize");
    if (!runPasses(*module,
                   [&](PassManager &pm) { addQuantizePasses(pm, statsPath); }))
      return 1;
    timer.end();
    llvm::json::Object report;
    if (!writeQuantOutputs(*module, floatLayers, report))
      return 1;
    if (stopHere(Stage::Quantize))
      return rc;
    timer.begin("pack");
    if (!runPasses(*module, [&](PassManager &pm) {
          pm.addNestedPass<func::FuncOp>(qopt::createPackWeights());
        }))
      return 1;
    timer.end();
    int64_t bytesAfter = constantBytes(*module);
    quantizedSummary =
        llvm::formatv(" ({0} quantized layers, {1} float; "
                      "{2} of weights after quantization)",
                      quantizedLayers, floatLayers, humanBytes(bytesAfter))
            .str();
    if (!quantReport.empty()) {
      // Everything the library embeds: packed weights, scales, biases and
      // the float layers' weights.
      report["weight_bytes"] = bytesAfter;
      std::string text;
      llvm::raw_string_ostream os(text);
      os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report)))
         << "\n";
      if (failed(writeOutput(quantReport, text)))
        return 1;
    }
    if (stopHere(Stage::Pack))
      return rc;
  } else if (emitKind == EmitKind::MLIR && stopAfter > Stage::Import &&
             stopAfter <= Stage::Pack) {
    llvm::errs() << "qcc: error: the quantization stages of "
                    "--stop-after-stage need --wbits (or --layer-config)\n";
    return 1;
  } else if (hasPreQuantizedWeights(*module)) {
    // A pre-quantized model (MatMulNBits) imports its integer weights one
    // byte per value: stored at their bits as when qcc quantizes (the same
    // integers, so the same results).
    timer.begin("pack");
    if (!runPasses(*module, [&](PassManager &pm) {
          pm.addNestedPass<func::FuncOp>(qopt::createPackWeights());
        }))
      return 1;
    timer.end();
    quantizedSummary = llvm::formatv(" (pre-quantized; {0} of weights stored)",
                                     humanBytes(constantBytes(*module)))
                           .str();
  }

  // A model.so with GPU code holds two variants of the model: the CPU one
  // (the module below, unchanged) and a copy whose quantized matmuls run as
  // bit-plane kernels; the runtime picks one when the model is opened.
  OwningOpRef<ModuleOp> gpuVariant;
  if (gpuTargets && emitKind == EmitKind::SharedLibrary) {
    gpuVariant = cast<ModuleOp>((*module)->clone());
    if (gpuBenchWeights) {
      dropCpuWeights(*module);
      llvm::errs() << "qcc: note: --gpu-bench-weights: a kernel benchmark "
                      "library (pseudo-random GPU weights, NaN from the CPU "
                      "variant's quantized layers): not the model's results\n";
    }
    timer.begin("gpu");
    PassManager pm(&context);
    // Matmuls the kernels cannot take run on the CPU in the GPU variant too
    // (a remark names each).
    qopt::ConvertBitplaneToGPUOptions gpuOptions = gpuKernelOptions();
    gpuOptions.cpuFallback = true;
    pm.addPass(qopt::createConvertBitplaneToGPU(gpuOptions));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    if (failed(pm.run(*gpuVariant))) {
      llvm::errs() << "qcc: error: the gpu stage failed\n";
      return 1;
    }
    // One fatbin per gpu.module: a cubin per --gpu-arch and the lowest's PTX.
    std::string error, note;
    if (failed(qopt::serializeKernels(*gpuVariant, *gpuTargets, error, note))) {
      llvm::errs() << "qcc: error: --gpu-arch: " << error << "\n";
      return 1;
    }
    if (!note.empty())
      llvm::errs() << "qcc: note: " << note << "\n";
    timer.end();
    if (gpuVariant->getOps<gpu::BinaryOp>().empty()) {
      llvm::errs() << "qcc: error: --gpu-arch: no layer runs on the GPU "
                      "(the kernels take quantized matmuls: quantize with "
                      "--wbits, and --abits for bmma/imma)\n";
      return 1;
    }
  } else if (gpuTargets) {
    // The GPU path: quantized matmuls become bit-plane kernels.
    timer.begin("gpu");
    if (!runPasses(*module, [&](PassManager &pm) {
          pm.addPass(qopt::createConvertBitplaneToGPU(gpuKernelOptions()));
          pm.addPass(createCanonicalizerPass());
          pm.addPass(createCSEPass());
        }))
      return 1;
    timer.end();
    if (emitKind == EmitKind::MLIR && stopAfter == Stage::GPU)
      return emitMLIR();
    if (emitKind == EmitKind::MLIR && stopAfter == Stage::GPUKernels) {
      timer.begin("gpu-kernels");
      PassManager pm(&context);
      std::string error;
      if (failed(qopt::addPipeline(
              pm, qopt::gpuKernelLoweringPipeline(*gpuTargets), error))) {
        llvm::errs() << "qcc: error: internal pipeline: " << error << "\n";
        return 1;
      }
      if (failed(pm.run(*module))) {
        llvm::errs() << "qcc: error: the gpu-kernels stage failed\n";
        return 1;
      }
      timer.end();
      return emitMLIR();
    }
    if (emitKind != EmitKind::PTX) {
      llvm::errs() << "qcc: error: with --gpu-arch, --stop-after-stage must "
                      "be a quantization stage, gpu or gpu-kernels\n";
      return 1;
    }
    timer.begin("ptx");
    std::string ptx, error;
    if (failed(qopt::emitKernelsPTX(*module, *gpuTargets, ptx, error))) {
      llvm::errs() << "qcc: error: " << error << "\n";
      return 1;
    }
    timer.end();
    return failed(writeOutput(outputFile, ptx)) ? 1 : 0;
  }

  // The lowering stages of one variant; `stop` allows --stop-after-stage.
  auto lowerVariant = [&](ModuleOp variant, bool gpu,
                          FailureOr<qopt::ModelSignature> &signature,
                          bool stop) -> std::optional<int> {
    signature = qopt::prepareEntryFunction(variant, importOptions.functionName);
    if (failed(signature))
      return 1;
    std::string llvmPipeline = qopt::llvmLoweringPipeline();
    if (gpu) {
      // GPU ops asynchronous on one stream, then lowered to mgpu* calls
      // before the final cast reconciliation.
      size_t at = llvmPipeline.rfind("reconcile-unrealized-casts");
      llvmPipeline.insert(at, qopt::gpuHostLLVMPipeline() + ",");
      llvmPipeline = qopt::gpuHostPrePipeline() + "," + llvmPipeline;
    }
    struct PassStage {
      Stage stage;
      const char *name;
      std::string pipeline;
    } stages[] = {
        {Stage::QoptLowering, "qopt-lowering",
         qopt::qoptLoweringPipeline(pipelineOptions)},
        {Stage::Linalg, "linalg",
         qopt::linalgOptimizationPipeline(pipelineOptions)},
        {Stage::Bufferize, "bufferize", qopt::bufferizationPipeline()},
        {Stage::LLVMDialect, "llvm-dialect", llvmPipeline},
    };
    auto runPipeline = [&](const std::string &name,
                           const std::string &pipeline) -> bool {
      PassManager pm(&context);
      std::string error;
      if (failed(qopt::addPipeline(pm, pipeline, error))) {
        llvm::errs() << "qcc: error: internal pipeline '" << name
                     << "': " << error << "\n";
        return false;
      }
      if (failed(pm.run(variant))) {
        llvm::errs() << "qcc: error: the " << name << " stage failed\n";
        return false;
      }
      return true;
    };
    for (const PassStage &s : stages) {
      std::string name = std::string(gpu ? "gpu-" : "") + s.name;
      timer.begin(name);
      if (gpu && s.stage == Stage::Bufferize) {
        // Buffer deallocation cannot reason about device memory: the
        // device-side host functions (which free their device buffers
        // themselves) are declarations while it runs.
        if (!runPipeline(name, qopt::allocationPipeline()))
          return 1;
        SmallVector<std::pair<func::FuncOp, std::unique_ptr<Region>>> hidden;
        for (auto f : variant.getOps<func::FuncOp>())
          if (f->hasAttr("qopt.gpu_host") && !f.isExternal()) {
            auto body = std::make_unique<Region>();
            body->takeBody(f.getBody());
            hidden.emplace_back(f, std::move(body));
          }
        bool ok = runPipeline(name, qopt::deallocationPipeline());
        for (auto &[f, body] : hidden)
          f.getBody().takeBody(*body);
        if (!ok || !runPipeline(name, "convert-bufferization-to-memref"))
          return 1;
      } else if (!runPipeline(name, s.pipeline)) {
        return 1;
      }
      timer.end();
      if (stop && emitKind == EmitKind::MLIR && stopAfter == s.stage)
        return emitMLIR();
    }
    return std::nullopt;
  };

  FailureOr<qopt::ModelSignature> signature = failure();
  if (std::optional<int> rc =
          lowerVariant(*module, /*gpu=*/false, signature, /*stop=*/true))
    return *rc;

  timer.begin("codegen");
  llvm::SmallVector<char> object, gpuObject;
  std::string llvmIR, error;
  if (failed(qopt::emitObject(*module, *signature, codegenOptions, object,
                              emitKind == EmitKind::LLVM ? &llvmIR : nullptr,
                              error))) {
    llvm::errs() << "qcc: error: " << error << "\n";
    return 1;
  }
  timer.end();
  if (gpuVariant) {
    FailureOr<qopt::ModelSignature> gpuSignature = failure();
    if (std::optional<int> rc = lowerVariant(*gpuVariant, /*gpu=*/true,
                                             gpuSignature, /*stop=*/false))
      return *rc;
    timer.begin("gpu-codegen");
    qopt::CodegenOptions gpuCodegen = codegenOptions;
    gpuCodegen.entryName = "qopt_model_entry_gpu";
    gpuCodegen.withSignature = false;
    if (failed(qopt::emitObject(*gpuVariant, *gpuSignature, gpuCodegen,
                                gpuObject, nullptr, error))) {
      llvm::errs() << "qcc: error: GPU variant: " << error << "\n";
      return 1;
    }
    timer.end();
  }
  if (emitKind == EmitKind::LLVM)
    return failed(writeOutput(outputFile, llvmIR)) ? 1 : 0;
  llvm::StringRef objectBytes(object.data(), object.size());
  if (emitKind == EmitKind::Object)
    return failed(writeOutput(outputFile, objectBytes)) ? 1 : 0;

  // Link through temporary files next to the output, then rename, so a
  // failure never leaves a partial model.so.
  timer.begin("link");
  llvm::SmallString<256> objPath, soPath;
  llvm::SmallString<256> pattern(outputFile);
  pattern += ".%%%%%%.o";
  int fd;
  if (llvm::sys::fs::createUniqueFile(pattern, fd, objPath)) {
    llvm::errs() << "qcc: error: cannot write next to '" << outputFile << "'\n";
    return 1;
  }
  llvm::FileRemover objRemover(objPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << objectBytes;
  }
  std::vector<std::string> objects = {std::string(objPath)};
  llvm::SmallString<256> gpuObjPath;
  std::optional<llvm::FileRemover> gpuObjRemover;
  if (gpuVariant) {
    llvm::SmallString<256> gpuPattern(outputFile);
    gpuPattern += ".gpu.%%%%%%.o";
    if (llvm::sys::fs::createUniqueFile(gpuPattern, fd, gpuObjPath)) {
      llvm::errs() << "qcc: error: cannot write next to '" << outputFile
                   << "'\n";
      return 1;
    }
    gpuObjRemover.emplace(gpuObjPath);
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << llvm::StringRef(gpuObject.data(), gpuObject.size());
    objects.push_back(std::string(gpuObjPath));
  }
  soPath = outputFile;
  soPath += ".tmp";
  llvm::FileRemover soRemover(soPath);
  if (failed(qopt::linkSharedLibrary(objects, soPath, error, verbose))) {
    llvm::errs() << "qcc: error: " << error << "\n";
    return 1;
  }
  if (std::error_code ec = llvm::sys::fs::rename(soPath, outputFile)) {
    llvm::errs() << "qcc: error: cannot write '" << outputFile
                 << "': " << ec.message() << "\n";
    return 1;
  }
  timer.end();
  if (!verbose)
    llvm::errs() << "qcc: " << inputFile << ": " << stats.numNodes << " ops, "
                 << humanBytes(stats.weightBytes) << " of weights"
                 << quantizedSummary << " -> " << outputFile << "\n";
  return 0;
}
