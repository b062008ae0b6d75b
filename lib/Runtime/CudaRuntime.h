//===- CudaRuntime.h - GPU selection for the model runtime ------*- C++ -*-===//
//
// The part of CudaRuntime.cpp that ModelRuntime.cpp calls: selecting the
// CUDA device and collecting the errors of a GPU run.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_LIB_RUNTIME_CUDARUNTIME_H
#define QOPT_LIB_RUNTIME_CUDARUNTIME_H

#include <string>

namespace qopt::cuda {

/// Loads the driver (libcuda.so.1, or $QOPT_CUDA_LIBRARY), initializes it
/// and makes device $QOPT_CUDA_DEVICE (default 0) current. False with the
/// reason when there is no usable device (compute capability 8.0 or later).
bool initialize(std::string &why);
/// "NAME (sm_XY)" of the selected device.
const std::string &deviceName();
/// Makes the selected device's context current on the calling thread.
void makeCurrent();
/// The first error of the GPU calls since the last call, if any; clears it.
bool takeError(std::string &message);
/// QOPT_CUDA_PROFILE's per-kernel lines so far ("" when not profiling);
/// `reset` starts a new profile.
std::string profileReport(bool reset);

} // namespace qopt::cuda

#endif // QOPT_LIB_RUNTIME_CUDARUNTIME_H
