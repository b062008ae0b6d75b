//===- GPU.h - the NVIDIA GPU target of qcc ---------------------*- C++ -*-===//

#ifndef QOPT_TARGET_GPU_H
#define QOPT_TARGET_GPU_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace qopt {

/// An NVIDIA target: the chip and the PTX features its kernels need. Binary
/// MMA with .and.popc needs PTX ISA 7.1 (sm_80, sm_86); sm_89 and sm_90
/// exist from PTX 7.8 on.
struct GpuTarget {
  std::string chip;
  std::string features;
};

/// The target for `arch` (sm_80, sm_86, sm_89, sm_90, sm_90a), or an error.
mlir::FailureOr<GpuTarget> gpuTargetFor(llvm::StringRef arch,
                                        std::string &error);

/// The pass pipeline that lowers a module's gpu.modules to NVVM/LLVM
/// (without serializing): nvvm-attach-target, then the NVGPU, SCF, GPU
/// and NVVM conversions nested on each gpu.module.
std::string gpuKernelLoweringPipeline(const GpuTarget &target);

/// Lowers every gpu.module of `module` (a copy: `module` is unchanged) to
/// NVVM and serializes it to PTX through the NVVM target
/// (gpu-module-to-binary, format=isa). `ptx` gets the text of each module.
mlir::LogicalResult emitKernelsPTX(mlir::ModuleOp module,
                                   const GpuTarget &target, std::string &ptx,
                                   std::string &error);

} // namespace qopt

#endif // QOPT_TARGET_GPU_H
