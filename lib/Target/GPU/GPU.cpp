//===- GPU.cpp - gpu.module kernels to PTX
//---------------------------------===//

#include "qopt/Target/GPU.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"

#include <cstdlib>

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

FailureOr<qopt::GpuTarget> qopt::gpuTargetFor(llvm::StringRef arch,
                                              std::string &error) {
  // PTX ISA versions: b1 mma.sync with .and.popc from 7.1 (sm_80; sm_86 is
  // 7.1 too); sm_89 and sm_90 from 7.8; sm_90a from 8.0.
  static const struct {
    const char *chip, *features;
  } known[] = {{"sm_80", "+ptx71"},
               {"sm_86", "+ptx71"},
               {"sm_89", "+ptx78"},
               {"sm_90", "+ptx78"},
               {"sm_90a", "+ptx80"}};
  for (const auto &k : known)
    if (arch == k.chip)
      return GpuTarget{k.chip, k.features};
  error = ("unsupported GPU architecture '" + arch +
           "' (binary tensor-core MMA needs sm_80, sm_86, sm_89, sm_90 or "
           "sm_90a)")
              .str();
  return failure();
}

std::string qopt::gpuKernelLoweringPipeline(const GpuTarget &target) {
  return "nvvm-attach-target{chip=" + target.chip +
         " features=" + target.features +
         " O=3},gpu.module(convert-nvgpu-to-nvvm,convert-scf-to-cf,"
         "expand-strided-metadata,lower-affine,convert-gpu-to-nvvm,"
         "convert-nvvm-to-llvm,canonicalize,cse,reconcile-unrealized-casts)";
}

namespace {
struct LaunchFuncMemoryEffects
    : public MemoryEffectOpInterface::ExternalModel<LaunchFuncMemoryEffects,
                                                    gpu::LaunchFuncOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                 &effects) const {
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<BaseMemRefType>(operand.get().getType()))
        continue;
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    }
  }
};
} // namespace

void qopt::registerGpuLaunchMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
    gpu::LaunchFuncOp::attachInterface<LaunchFuncMemoryEffects>(*ctx);
  });
}

std::string qopt::gpuBinaryPipeline(const GpuTarget &target) {
  // gpu-module-to-binary looks for ptxas in the CUDA toolkit itself.
  bool havePtxas = static_cast<bool>(llvm::sys::findProgramByName("ptxas")) ||
                   llvm::sys::fs::exists("/usr/local/cuda/bin/ptxas") ||
                   (std::getenv("CUDA_HOME") &&
                    llvm::sys::fs::exists(
                        std::string(std::getenv("CUDA_HOME")) + "/bin/ptxas"));
  return gpuKernelLoweringPipeline(target) +
         ",gpu-module-to-binary{format=" + (havePtxas ? "fatbin" : "isa") + "}";
}

std::string qopt::gpuHostPrePipeline() { return "func.func(gpu-async-region)"; }

std::string qopt::gpuHostLLVMPipeline() { return "gpu-to-llvm"; }

LogicalResult qopt::emitKernelsPTX(ModuleOp module, const GpuTarget &target,
                                   std::string &ptx, std::string &error) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(module.getLoc());
  (*kernels)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      b.getUnitAttr());
  b.setInsertionPointToEnd(kernels->getBody());
  unsigned count = 0;
  for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
    b.clone(*gpuModule);
    ++count;
  }
  if (!count) {
    error = "the model has no GPU kernels (no quantized matmul with integer "
            "activations)";
    return failure();
  }
  PassManager pm(ctx);
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(gpuKernelLoweringPipeline(target) +
                                   ",gpu-module-to-binary{format=isa}",
                               pm, os)))
    return failure();
  if (failed(pm.run(*kernels))) {
    os << "lowering the GPU kernels to PTX for " << target.chip << " failed";
    return failure();
  }
  for (auto binary : kernels->getOps<gpu::BinaryOp>())
    for (Attribute object : binary.getObjects())
      if (auto o = dyn_cast<gpu::ObjectAttr>(object)) {
        ptx += "// gpu.module @" + binary.getName().str() + " for " +
               target.chip + "\n";
        ptx += o.getObject().getValue().str();
      }
  return success();
}
