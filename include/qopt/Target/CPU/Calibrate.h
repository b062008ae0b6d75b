//===- Calibrate.h - run a model on calibration data ------------*- C++ -*-===//
//
// Calibration as qcc does it: the float model (with its layers' quantization
// configs) is instrumented to return every quantized layer's input, compiled
// into a temporary model.so, loaded, and run on each calibration batch (an
// .npz of named input arrays); the layer inputs are accumulated into
// qopt::quant::CalibrationStats.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_TARGET_CPU_CALIBRATE_H
#define QOPT_TARGET_CPU_CALIBRATE_H

#include "qopt/Quant/Calibration.h"
#include "qopt/Target/CPU.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace qopt {

/// The calibration batches at `path`: the file itself (.npz or .npy), or the
/// .npz files of a directory in name order.
llvm::Expected<std::vector<std::string>>
listCalibrationFiles(llvm::StringRef path);

struct CalibrateOptions {
  std::string functionName = "main";
  CpuPipelineOptions pipeline;
  CodegenOptions codegen;
  quant::CalibrationOptions statistics;
  bool verbose = false;
};

/// Runs `module` (not modified) on every batch of `files` and returns the
/// statistics of each layer with a #qopt.quant_config. Errors name the file
/// and the input at fault.
llvm::Expected<quant::CalibrationStats>
calibrateModel(mlir::ModuleOp module, llvm::ArrayRef<std::string> files,
               const CalibrateOptions &options);

/// One float output of a model run.
struct OutputTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// Loads the model.so at `soPath` (a path not loaded before: dlopen hands
/// back a loaded library by name) and runs it on every batch of `files`;
/// returns each batch's f32 outputs (others are skipped).
llvm::Expected<std::vector<std::vector<OutputTensor>>>
runModelOnBatches(llvm::StringRef soPath, llvm::ArrayRef<std::string> files);

/// Compiles `module` (consumed: it is lowered in place) into a shared
/// library at `outputPath`, through the same stages as qcc.
mlir::LogicalResult buildSharedLibrary(mlir::ModuleOp module,
                                       llvm::StringRef functionName,
                                       const CpuPipelineOptions &pipeline,
                                       const CodegenOptions &codegen,
                                       llvm::StringRef outputPath,
                                       std::string &error);

} // namespace qopt

#endif // QOPT_TARGET_CPU_CALIBRATE_H
