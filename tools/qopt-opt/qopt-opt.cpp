//===- qopt-opt.cpp - qopt optimizer driver -------------------------------===//
//
// Runs any qopt or upstream pass on MLIR input, like mlir-opt, so compiler
// researchers can exercise each stage of the pipeline on its own.
//
//===----------------------------------------------------------------------===//

#include "qopt/Conversion/Passes.h"
#include "qopt/Dialect/Qopt/IR/QoptDialect.h"
#include "qopt/Dialect/Qopt/Transforms/Passes.h"
#include "qopt/Target/GPU.h"
#include "qopt/Transforms/Passes.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  qopt::registerQoptConversionPasses();
  qopt::registerQoptDialectTransformsPasses();
  qopt::registerQoptTransformsPasses();
  qopt::registerQoptQuantPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<qopt::QoptDialect>();
  qopt::registerGpuLaunchMemoryEffects(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "qopt optimizer driver: qopt and upstream MLIR passes\n",
      registry));
}
