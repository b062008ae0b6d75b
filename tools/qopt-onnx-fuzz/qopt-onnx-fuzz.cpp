//===- qopt-onnx-fuzz.cpp - libFuzzer target for the ONNX importer --------===//
//
// Feeds arbitrary bytes to the importer as a model file. Any crash, hang or
// sanitizer report is a bug: bad input must end in a diagnostic.
//
// Build and run: scripts/fuzz-importer.sh [seconds]
//
//===----------------------------------------------------------------------===//

#include "qopt/Import/ImportOnnx.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context = [] {
    auto *ctx = new mlir::MLIRContext(mlir::MLIRContext::Threading::DISABLED);
    // Diagnostics are the expected outcome for most inputs; drop them.
    ctx->getDiagEngine().registerHandler(
        [](mlir::Diagnostic &) { return mlir::success(); });
    return ctx;
  }();
  qopt::OnnxImportOptions options;
  // No external data can be read from a fuzz input's folder.
  auto module = qopt::importOnnxModelFromBuffer(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "/nonexistent/fuzz/model.onnx", context, options);
  (void)module;
  return 0;
}
