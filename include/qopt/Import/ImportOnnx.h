//===- ImportOnnx.h - ONNX model importer ----------------------*- C++ -*-===//
//
// Imports an ONNX model into MLIR: one func.func for the main graph, in
// upstream dialects (linalg, tensor, arith, math) where they express an op
// faithfully and qopt ops for quantized data. Weights become dense_resource
// blobs. Errors are reported through the context's diagnostic engine, one
// diagnostic per problem, and the import returns null.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_IMPORT_IMPORTONNX_H
#define QOPT_IMPORT_IMPORTONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace qopt {

/// What an import saw, for tools to report.
struct OnnxImportStats {
  int64_t numNodes = 0;
  int64_t weightBytes = 0; ///< bytes of all initializers as decoded
  int64_t opsetVersion = 0;
};

struct OnnxImportOptions {
  /// Filled in when set.
  OnnxImportStats *stats = nullptr;
  /// Shapes that replace (specialize) the declared shapes of graph inputs;
  /// -1 keeps a dimension dynamic.
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Graph inputs fixed at compile time (a scalar, or the elements of a
  /// tensor of static shape): each becomes a constant and leaves the
  /// function's arguments, so Ifs on it import only the branch taken.
  llvm::StringMap<llvm::SmallVector<double>> inputValues;
  /// Run ONNX's checker and shape inference when every opset of the model is
  /// one ONNX 1.12 knows.
  bool runOnnxChecks = true;
  /// Initializers with more elements than this become dense_resource blobs.
  int64_t resourceThreshold = 16;
  /// Run CSE and canonicalization on the imported function (folds the index
  /// arithmetic of shape computations and duplicate tensor.dim ops).
  bool cleanup = true;
  /// Name of the function the main graph becomes.
  std::string functionName = "main";
};

/// Registers the dialects the importer produces.
void registerOnnxImportDialects(mlir::DialectRegistry &registry);

/// Imports the ONNX model at `path`. External data are read relative to the
/// model's folder.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxModel(llvm::StringRef path, mlir::MLIRContext *context,
                const OnnxImportOptions &options = {});

/// Imports an ONNX model from memory. `modelPath` names it in diagnostics and
/// locates external data (its folder); it need not exist when the model has
/// no external data.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxModelFromBuffer(llvm::StringRef bytes, llvm::StringRef modelPath,
                          mlir::MLIRContext *context,
                          const OnnxImportOptions &options = {});

/// Parses "name=1x128x?" (also "name=1,128,-1") into an entry of
/// OnnxImportOptions::inputShapes. Returns an error message on bad syntax.
std::string parseInputShapeSpec(llvm::StringRef spec,
                                OnnxImportOptions &options);

/// Parses "name=16000" (also "name=1,2,3") into an entry of
/// OnnxImportOptions::inputValues. Returns an error message on bad syntax.
std::string parseInputValueSpec(llvm::StringRef spec,
                                OnnxImportOptions &options);

/// Registers the `--import-onnx` translation for mlir-translate style tools.
void registerOnnxImportTranslation();

} // namespace qopt

#endif // QOPT_IMPORT_IMPORTONNX_H
