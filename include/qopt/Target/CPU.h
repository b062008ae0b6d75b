//===- CPU.h - compiling imported models to shared libraries ---*- C++ -*-===//
//
// The stages qcc runs after import, each usable on its own:
//   1. qopt lowering   (qopt ops -> linalg on byte storage)
//   2. linalg opts     (elementwise fusion, cleanup)
//   3. bufferization   (tensors -> memrefs, ownership-based deallocation)
//   4. LLVM dialect    (loops, memref/arith/math/func/cf -> llvm)
//   5. codegen         (LLVM IR, LLVM's -O pipeline, an object file)
//   6. link            (the object + the model runtime -> model.so)
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_TARGET_CPU_H
#define QOPT_TARGET_CPU_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace qopt {

/// One input or output of a compiled model.
struct TensorSignature {
  std::string name;
  int32_t dtype = 0;                       ///< ONNX TensorProto.DataType
  llvm::SmallVector<int64_t> shape;        ///< -1 for dynamic dims
  llvm::SmallVector<std::string> dimNames; ///< symbolic names, or ""
};

struct ModelSignature {
  std::vector<TensorSignature> inputs, outputs;
  /// The text the runtime parses (see lib/Runtime/ModelRuntime.cpp).
  std::string serialize() const;
};

/// Name of the function the runtime calls (after prepareEntryFunction).
constexpr const char *kGraphFunctionName = "qopt_graph";

/// Reads the signature of the imported function `functionName` (from its
/// types and onnx.* argument/result attributes), renames it to
/// kGraphFunctionName, marks it for the C interface and its arguments as
/// read-only for bufferization.
mlir::FailureOr<ModelSignature>
prepareEntryFunction(mlir::ModuleOp module, llvm::StringRef functionName);

struct CpuPipelineOptions {
  unsigned optLevel = 2;
  /// Register block of contractions (rows x columns of f32).
  int64_t tileM = 8, tileN = 32;
  /// Integer matmuls of 8-bit operands as pair dot products (vpmaddwd,
  /// vpdpwssd with VNNI; 512-bit with AVX-512 BW, 256-bit with AVX2)
  /// instead of 32-bit multiplies.
  bool int8Pmaddwd = false;
  /// Where the weights are read from memory, quad dot products (vpdpbusd,
  /// AVX-512 VNNI) instead: twice the products per instruction.
  bool int8Vpdpbusd = false;
  /// Without VNNI, byte-quad weight fields of at most 7 bits as vpmaddubsw
  /// and vpmaddwd quad dot products (AVX2, or AVX-512 BW).
  bool int8Pmaddubsw = false;
  /// A register block that fits the vector registers of `cpu` ("native":
  /// this machine): 8 x 32 with AVX-512, 4 x 16 otherwise; pair dot
  /// products where it has AVX-512 BW or (without AVX-512) AVX2.
  static CpuPipelineOptions forCpu(llvm::StringRef cpu, unsigned optLevel);
};

/// The pass groups of the CPU lowering, as textual pipelines (also what
/// `qopt-opt --pass-pipeline` accepts).
std::string qoptLoweringPipeline(const CpuPipelineOptions &options);
std::string linalgOptimizationPipeline(const CpuPipelineOptions &options);
std::string bufferizationPipeline();
/// Its two halves: one-shot bufferization, then ownership-based buffer
/// deallocation (which a model's GPU variant runs with its device-side host
/// functions hidden).
std::string allocationPipeline();
std::string deallocationPipeline();
std::string llvmLoweringPipeline();

/// Appends a textual pipeline to `pm`; false (with a message) on error.
mlir::LogicalResult addPipeline(mlir::OpPassManager &pm, llvm::StringRef text,
                                std::string &error);

struct CodegenOptions {
  std::string cpu = "native"; ///< "native", or an LLVM CPU name
  unsigned optLevel = 2;
  /// The runtime's entry point: qopt_model_entry, or qopt_model_entry_gpu
  /// for the GPU variant of a model, whose object goes beside the CPU one
  /// (everything else in the object is internal, so the two do not clash).
  std::string entryName = "qopt_model_entry";
  /// Whether the object carries the signature (the CPU one does).
  bool withSignature = true;
};

/// Translates an LLVM-dialect module to LLVM IR, adds the runtime's entry
/// point and signature, optimizes it and emits an object file. With
/// `llvmIR`, also returns the optimized IR as text.
mlir::LogicalResult emitObject(mlir::ModuleOp module,
                               const ModelSignature &signature,
                               const CodegenOptions &options,
                               llvm::SmallVectorImpl<char> &object,
                               std::string *llvmIR, std::string &error);

/// Links `objectPath` with the model runtime into a shared library.
mlir::LogicalResult linkSharedLibrary(llvm::ArrayRef<std::string> objectPaths,
                                      llvm::StringRef outputPath,
                                      std::string &error, bool verbose);

} // namespace qopt

#endif // QOPT_TARGET_CPU_H
