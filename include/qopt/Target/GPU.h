//===- GPU.h - the NVIDIA GPU target of qcc ---------------------*- C++ -*-===//

#ifndef QOPT_TARGET_GPU_H
#define QOPT_TARGET_GPU_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
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

/// The kernels lowered and serialized into gpu.binary ops, for a model.so:
/// a fatbin (cubin for the chip plus its PTX, which the driver JIT-compiles
/// for newer GPUs) when ptxas is found, else PTX alone.
std::string gpuBinaryPipeline(const GpuTarget &target);

/// Passes for the host side of a GPU model after bufferization: GPU ops
/// made asynchronous on one stream, before the LLVM lowering.
std::string gpuHostPrePipeline();
/// The gpu-to-llvm lowering (calls into the mgpu* runtime of model.so), to
/// run after the standard LLVM lowering's conversions and before its final
/// reconcile-unrealized-casts.
std::string gpuHostLLVMPipeline();

/// Lowers every gpu.module of `module` (a copy: `module` is unchanged) to
/// NVVM and serializes it to PTX through the NVVM target
/// (gpu-module-to-binary, format=isa). `ptx` gets the text of each module.
mlir::LogicalResult emitKernelsPTX(mlir::ModuleOp module,
                                   const GpuTarget &target, std::string &ptx,
                                   std::string &error);

/// Declares gpu.launch_func's memory effects (reads and writes its memref
/// operands), which upstream leaves unknown, so that ownership-based buffer
/// deallocation runs on host code that launches kernels.
void registerGpuLaunchMemoryEffects(mlir::DialectRegistry &registry);

} // namespace qopt

#endif // QOPT_TARGET_GPU_H
