//===- Translation.cpp - the --import-onnx translation --------------------===//

#include "qopt/Import/ImportOnnx.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

static llvm::cl::list<std::string> clInputShapes(
    "input-shape",
    llvm::cl::desc("Specialize an input's shape: NAME=DIMS, e.g. "
                   "input_ids=1x128 (? keeps a dim dynamic); repeatable"));

static llvm::cl::opt<bool> clSkipOnnxChecks(
    "skip-onnx-checker",
    llvm::cl::desc("Do not run ONNX's checker before importing"),
    llvm::cl::init(false));

void qopt::registerOnnxImportTranslation() {
  TranslateToMLIRRegistration registration(
      "import-onnx", "import an ONNX model (.onnx) into MLIR",
      [](llvm::SourceMgr &sourceMgr, MLIRContext *context) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        OnnxImportOptions options;
        options.runOnnxChecks = !clSkipOnnxChecks;
        for (const std::string &spec : clInputShapes) {
          std::string error = parseInputShapeSpec(spec, options);
          if (!error.empty()) {
            emitError(UnknownLoc::get(context)) << "--input-shape: " << error;
            return {};
          }
        }
        OwningOpRef<ModuleOp> module = importOnnxModelFromBuffer(
            buffer->getBuffer(), buffer->getBufferIdentifier(), context,
            options);
        return OwningOpRef<Operation *>(module.release());
      },
      [](DialectRegistry &registry) { registerOnnxImportDialects(registry); });
}
