//===- GPU.h - the NVIDIA GPU target of qcc ---------------------*- C++ -*-===//

#ifndef QOPT_TARGET_GPU_H
#define QOPT_TARGET_GPU_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"

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

/// The targets of a --gpu-arch value: one architecture, a comma-separated
/// list of them, or `all` (sm_80, sm_86, sm_89 and sm_90), sorted lowest
/// first. Unknown, duplicate and empty items are errors naming the item.
mlir::FailureOr<llvm::SmallVector<GpuTarget>>
gpuTargetsFor(llvm::StringRef list, std::string &error);

/// The shared memory one block of the imma/hmma kernels may take on every
/// target (qopt-bitplane-to-gpu's shared-memory-bytes): half an SM's shared
/// memory less the 1 KiB the driver reserves per block, so that two blocks
/// still fit an SM (sm_80: 80 KiB, sm_90/sm_90a: 112 KiB), and at least
/// the 48 KiB of static shared memory (sm_86 and sm_89, 100 KiB per SM).
int64_t sharedMemoryBudget(llvm::ArrayRef<GpuTarget> targets);
/// The most shared memory one block may opt into on every target (sm_80:
/// 163 KiB, sm_86 and sm_89: 99 KiB, sm_90: 227 KiB).
int64_t sharedMemoryPerBlockLimit(llvm::ArrayRef<GpuTarget> targets);

/// The pass pipeline that lowers a module's gpu.modules to NVVM/LLVM
/// (without serializing): nvvm-attach-target once per target (each
/// gpu.module gets every target), then the NVGPU, SCF, GPU and NVVM
/// conversions nested on each gpu.module.
std::string gpuKernelLoweringPipeline(llvm::ArrayRef<GpuTarget> targets);

/// Lowers every gpu.module of `module` in place and serializes it into a
/// gpu.binary with one object, for a model.so: where ptxas is found, a
/// fatbin with a cubin per target (ptxas -O3) plus the PTX of the first
/// (lowest) target, which the driver JIT-compiles for newer GPUs; else that
/// PTX alone, and `note` says so. The CUDA tools (ptxas, fatbinary) are
/// taken from the bin/ of $CUDA_ROOT, $CUDA_HOME or $CUDA_PATH (the first
/// set) when one is set, else from PATH or /usr/local/cuda/bin. `error` is
/// one line on failure; temporary files are removed either way.
mlir::LogicalResult serializeKernels(mlir::ModuleOp module,
                                     llvm::ArrayRef<GpuTarget> targets,
                                     std::string &error, std::string &note);

/// Passes for the host side of a GPU model after bufferization: GPU ops
/// made asynchronous on one stream, before the LLVM lowering.
std::string gpuHostPrePipeline();
/// The gpu-to-llvm lowering (calls into the mgpu* runtime of model.so), to
/// run after the standard LLVM lowering's conversions and before its final
/// reconcile-unrealized-casts.
std::string gpuHostLLVMPipeline();

/// Lowers every gpu.module of `module` (a copy: `module` is unchanged) to
/// NVVM and serializes it to PTX through the NVVM target
/// (gpu-module-to-binary, format=isa) for each target. `ptx` gets the text
/// of each module for each target, target after target, each preceded by a
/// `// gpu.module @name for sm_XX` line.
mlir::LogicalResult emitKernelsPTX(mlir::ModuleOp module,
                                   llvm::ArrayRef<GpuTarget> targets,
                                   std::string &ptx, std::string &error);

/// Declares gpu.launch_func's memory effects (reads and writes its memref
/// operands), which upstream leaves unknown, so that ownership-based buffer
/// deallocation runs on host code that launches kernels.
void registerGpuLaunchMemoryEffects(mlir::DialectRegistry &registry);

} // namespace qopt

#endif // QOPT_TARGET_GPU_H
