//===- OnnxChecks.h - ONNX checker and shape inference ---------*- C++ -*-===//
//
// ONNX's C++ library reports problems by throwing (qopt is built without
// exceptions) and, on some malformed models, crashes outright (ONNX 1.12's
// ConvTranspose shape inference dereferences missing dims). So these calls
// run in a forked child process, in the one file compiled with exceptions;
// the parent gets back a message, or the inferred types, or the news that
// ONNX crashed.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_IMPORT_ONNX_ONNXCHECKS_H
#define QOPT_LIB_IMPORT_ONNX_ONNXCHECKS_H

#include "onnx/onnx_pb.h"

#include <string>

namespace qopt::onnx_import {

struct OnnxCheckResult {
  /// The checker crashed (the model is malformed). A crash in shape
  /// inference only leaves `inferred` false.
  bool crashed = false;
  /// The checker's complaint (first line); empty when the model is valid.
  std::string checkerError;
  /// Whether shape inference ran to completion.
  bool inferred = false;
  /// The value_info shape inference found (only value_info is filled).
  onnx::GraphProto inferredValues;
};

/// Runs onnx::checker::check_model (on the file at `modelPath` when given,
/// so external data resolve relative to its folder) and, if the model is
/// valid and `infer` is set, ONNX shape inference with data propagation.
OnnxCheckResult runOnnxChecks(const onnx::ModelProto &model,
                              const std::string &modelPath, bool infer);

} // namespace qopt::onnx_import

#endif // QOPT_LIB_IMPORT_ONNX_ONNXCHECKS_H
