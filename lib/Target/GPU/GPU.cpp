//===- GPU.cpp - gpu.module kernels to PTX, cubins and fatbins ------------===//

#include "qopt/Target/GPU.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <limits>
#include <list>
#include <optional>

using namespace mlir;

namespace {
// PTX ISA versions: b1 mma.sync with .and.popc from 7.1 (sm_80; sm_86 is
// 7.1 too); sm_89 and sm_90 from 7.8; sm_90a from 8.0. Lowest first.
const struct {
  const char *chip, *features;
} knownTargets[] = {{"sm_80", "+ptx71"},
                    {"sm_86", "+ptx71"},
                    {"sm_89", "+ptx78"},
                    {"sm_90", "+ptx78"},
                    {"sm_90a", "+ptx80"}};
// What `--gpu-arch all` means: every chip but the arch-specific sm_90a.
const char *const allChips[] = {"sm_80", "sm_86", "sm_89", "sm_90"};

unsigned targetRank(llvm::StringRef chip) {
  for (auto [i, k] : llvm::enumerate(knownTargets))
    if (chip == k.chip)
      return i;
  return std::size(knownTargets);
}
} // namespace

FailureOr<qopt::GpuTarget> qopt::gpuTargetFor(llvm::StringRef arch,
                                              std::string &error) {
  for (const auto &k : knownTargets)
    if (arch == k.chip)
      return GpuTarget{k.chip, k.features};
  error = ("unsupported GPU architecture '" + arch +
           "' (binary tensor-core MMA needs sm_80, sm_86, sm_89, sm_90 or "
           "sm_90a)")
              .str();
  return failure();
}

namespace {
/// Shared memory of a chip in KiB (the CUDA programming guide's table): per
/// SM, and the most one block may opt into.
struct SharedMemoryKiB {
  int64_t perSM, perBlock;
};
SharedMemoryKiB sharedMemoryOf(llvm::StringRef chip) {
  if (chip == "sm_80")
    return {164, 163};
  if (chip.starts_with("sm_90"))
    return {228, 227};
  return {100, 99}; // sm_86, sm_89
}
} // namespace

int64_t qopt::sharedMemoryBudget(llvm::ArrayRef<GpuTarget> targets) {
  int64_t budget = std::numeric_limits<int64_t>::max();
  // Two blocks per SM, each less the driver's 1 KiB, rounded down to 16.
  for (const GpuTarget &t : targets)
    budget = std::min(budget, ((sharedMemoryOf(t.chip).perSM - 2) / 2) / 16 *
                                  16 * 1024);
  return std::max<int64_t>(budget, 48 * 1024);
}

int64_t qopt::sharedMemoryPerBlockLimit(llvm::ArrayRef<GpuTarget> targets) {
  int64_t limit = std::numeric_limits<int64_t>::max();
  for (const GpuTarget &t : targets)
    limit = std::min(limit, sharedMemoryOf(t.chip).perBlock * 1024);
  return limit;
}

FailureOr<SmallVector<qopt::GpuTarget>>
qopt::gpuTargetsFor(llvm::StringRef list, std::string &error) {
  SmallVector<GpuTarget> targets;
  llvm::StringSet<> seen;
  SmallVector<llvm::StringRef> items;
  if (list.trim().empty()) {
    error = "no architecture given (a list such as sm_80,sm_90, or all)";
    return failure();
  }
  list.split(items, ',');
  bool hasAll = llvm::any_of(
      items, [](llvm::StringRef item) { return item.trim() == "all"; });
  for (auto [index, item] : llvm::enumerate(items)) {
    llvm::StringRef name = item.trim();
    if (name.empty()) {
      error = ("item " + llvm::Twine(index + 1) + " of '" + list + "' is empty")
                  .str();
      return failure();
    }
    SmallVector<llvm::StringRef, 4> chips;
    if (name == "all")
      chips.append(std::begin(allChips), std::end(allChips));
    else
      chips.push_back(name);
    for (llvm::StringRef chip : chips) {
      FailureOr<GpuTarget> target = gpuTargetFor(chip, error);
      if (failed(target))
        return failure();
      if (!seen.insert(chip).second) {
        error = ("'" + chip + "' is listed twice in '" + list + "'" +
                 (hasAll ? " ('all' is sm_80,sm_86,sm_89,sm_90)" : ""))
                    .str();
        return failure();
      }
      targets.push_back(*target);
    }
  }
  llvm::sort(targets, [](const GpuTarget &a, const GpuTarget &b) {
    return targetRank(a.chip) < targetRank(b.chip);
  });
  return targets;
}

std::string qopt::gpuKernelLoweringPipeline(llvm::ArrayRef<GpuTarget> targets) {
  std::string pipeline;
  for (const GpuTarget &target : targets)
    pipeline += "nvvm-attach-target{chip=" + target.chip +
                " features=" + target.features + " O=3},";
  return pipeline +
         "gpu.module(convert-nvgpu-to-nvvm,convert-scf-to-cf,"
         "expand-strided-metadata,lower-affine,convert-gpu-to-nvvm,"
         "qopt-extern-dynamic-shared,convert-nvvm-to-llvm,canonicalize,cse,"
         "reconcile-unrealized-casts)";
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

std::string qopt::gpuHostPrePipeline() { return "func.func(gpu-async-region)"; }

std::string qopt::gpuHostLLVMPipeline() { return "gpu-to-llvm"; }

namespace {
/// Lowers the gpu.modules of `module` in place for every target and
/// serializes each to PTX: a gpu.binary per module with one assembly object
/// per target, in the order of `targets`.
LogicalResult lowerToPTX(ModuleOp module, ArrayRef<qopt::GpuTarget> targets,
                         std::string &error) {
  PassManager pm(module.getContext());
  llvm::raw_string_ostream os(error);
  if (failed(parsePassPipeline(qopt::gpuKernelLoweringPipeline(targets) +
                                   ",gpu-module-to-binary{format=isa}",
                               pm, os)))
    return failure();
  if (succeeded(pm.run(module)))
    return success();
  os << "lowering the GPU kernels to PTX for";
  for (const qopt::GpuTarget &target : targets)
    os << (&target == targets.data() ? " " : ", ") << target.chip;
  os << " failed";
  return failure();
}

/// The PTX object of `binary` for `chip`, or null.
gpu::ObjectAttr objectFor(gpu::BinaryOp binary, llvm::StringRef chip) {
  for (Attribute attr : binary.getObjects())
    if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
      if (auto nvvm = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget()))
        if (nvvm.getChip() == chip)
          return object;
  return nullptr;
}

/// A CUDA tool: from the toolkit named by $CUDA_ROOT, $CUDA_HOME or
/// $CUDA_PATH (the first set; MLIR's NVVM target reads the same variables,
/// in this order) when one is set, else from PATH or /usr/local/cuda/bin;
/// empty when not found. `where` says where it was looked for.
std::string findCudaTool(llvm::StringRef name, std::string &where) {
  llvm::ErrorOr<std::string> path = std::error_code();
  for (const char *var : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"}) {
    const char *home = std::getenv(var);
    if (!home)
      continue;
    llvm::SmallString<256> bin(home);
    llvm::sys::path::append(bin, "bin");
    where = ("$" + llvm::Twine(var) + "/bin (" + bin + ")").str();
    path = llvm::sys::findProgramByName(name, {bin});
    return path ? *path : std::string();
  }
  where = "PATH or /usr/local/cuda/bin";
  path = llvm::sys::findProgramByName(name);
  if (!path)
    path = llvm::sys::findProgramByName(name, {"/usr/local/cuda/bin"});
  return path ? *path : std::string();
}

/// Temporary files, removed when this goes out of scope.
struct TempFiles {
  // A list: FileRemover must not be copied or moved (a copy removes the
  // file when destroyed).
  std::list<llvm::FileRemover> removers;
  /// A new empty temporary file; false (and `error`) if it cannot be made.
  bool create(llvm::StringRef prefix, llvm::StringRef suffix, std::string &path,
              std::string &error) {
    llvm::SmallString<256> p;
    if (std::error_code ec =
            llvm::sys::fs::createTemporaryFile(prefix, suffix, p)) {
      error = "cannot create a temporary file: " + ec.message();
      return false;
    }
    removers.emplace_back(p);
    path = std::string(p);
    return true;
  }
};

bool writeFile(llvm::StringRef path, llvm::StringRef data, std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (!ec) {
    os << data;
    os.close();
    if (!os.has_error())
      return true;
    ec = os.error();
    os.clear_error();
  }
  error = ("cannot write " + path + ": " + ec.message()).str();
  return false;
}

/// Runs `program` with `args`, its output going to `log`; on failure,
/// `error` gets `what` and the first line of the output that says
/// "error" (else its first line).
bool runTool(llvm::StringRef program, ArrayRef<llvm::StringRef> args,
             llvm::StringRef log, const std::string &what, std::string &error) {
  std::string execError;
  bool execFailed = false;
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  int rc = llvm::sys::ExecuteAndWait(program, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                                     &execError, &execFailed);
  if (rc == 0 && !execFailed)
    return true;
  error = what + " failed";
  if (execFailed || rc < 0) {
    error += ": " + (execError.empty() ? "it crashed" : execError);
    return false;
  }
  error += " (exit code " + std::to_string(rc) + ")";
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> out =
      llvm::MemoryBuffer::getFile(log, /*IsText=*/true);
  if (!out)
    return false;
  SmallVector<llvm::StringRef> lines;
  (*out)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  auto it = llvm::find_if(lines, [](llvm::StringRef line) {
    return line.contains_insensitive("error");
  });
  if (it == lines.end() && !lines.empty())
    it = lines.begin();
  if (it != lines.end())
    error += ": " + it->trim().str();
  return false;
}

/// The version number fatbinary's `sm=` takes: "sm_90a" -> "90a".
llvm::StringRef smNumber(llvm::StringRef chip) {
  chip.consume_front("sm_");
  return chip;
}
} // namespace

LogicalResult qopt::serializeKernels(ModuleOp module,
                                     ArrayRef<GpuTarget> targets,
                                     std::string &error, std::string &note) {
  if (targets.empty()) {
    error = "no GPU architecture given";
    return failure();
  }
  if (module.getOps<gpu::GPUModuleOp>().empty())
    return success();

  std::string ptxasWhere, fatbinaryWhere;
  std::string ptxas = findCudaTool("ptxas", ptxasWhere);
  std::string fatbinary;
  const GpuTarget &lowest = targets.front();
  if (ptxas.empty()) {
    note = "ptxas not found in " + ptxasWhere +
           ": the GPU kernels are embedded as PTX for " + lowest.chip +
           " only (the CUDA driver JIT-compiles it when the model is "
           "loaded)";
  } else {
    fatbinary = findCudaTool("fatbinary", fatbinaryWhere);
    if (fatbinary.empty()) {
      error = "fatbinary not found in " + fatbinaryWhere + " (ptxas is " +
              ptxas + ")";
      return failure();
    }
  }
  // Without ptxas only the lowest target's PTX is kept: lower that alone.
  if (failed(lowerToPTX(module, ptxas.empty() ? targets.take_front() : targets,
                        error)))
    return failure();

  MLIRContext *ctx = module.getContext();
  for (gpu::BinaryOp binary : module.getOps<gpu::BinaryOp>()) {
    std::string name = binary.getName().str();
    gpu::ObjectAttr lowestObject = objectFor(binary, lowest.chip);
    if (!lowestObject) {
      error = "gpu.binary @" + name + " has no PTX for " + lowest.chip;
      return failure();
    }
    gpu::ObjectAttr result;
    if (ptxas.empty()) {
      result = lowestObject;
    } else {
      TempFiles temps;
      std::string log;
      if (!temps.create("qopt-" + name, "log", log, error))
        return failure();
      SmallVector<std::string> images;
      std::string ptxPath;
      for (const GpuTarget &target : targets) {
        gpu::ObjectAttr object = objectFor(binary, target.chip);
        if (!object) {
          error = "gpu.binary @" + name + " has no PTX for " + target.chip;
          return failure();
        }
        std::string ptx, cubin;
        std::string prefix = "qopt-" + name + "-" + target.chip;
        if (!temps.create(prefix, "ptx", ptx, error) ||
            !temps.create(prefix, "cubin", cubin, error) ||
            !writeFile(ptx, object.getObject().getValue(), error))
          return failure();
        std::string arch = "-arch=" + target.chip;
        if (!runTool(ptxas, {ptxas, arch, "-O3", ptx, "-o", cubin}, log,
                     "ptxas " + arch + " on the kernels of @" + name, error))
          return failure();
        images.push_back("--image3=kind=elf,sm=" + smNumber(target.chip).str() +
                         ",file=" + cubin);
        if (&target == &lowest)
          ptxPath = ptx;
      }
      images.push_back("--image3=kind=ptx,sm=" + smNumber(lowest.chip).str() +
                       ",file=" + ptxPath);
      std::string fatbin;
      if (!temps.create("qopt-" + name, "fatbin", fatbin, error))
        return failure();
      std::string create = "--create=" + fatbin;
      SmallVector<llvm::StringRef> args = {fatbinary, "-64", create};
      args.append(images.begin(), images.end());
      if (!runTool(fatbinary, args, log, "fatbinary on the kernels of @" + name,
                   error))
        return failure();
      llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bytes =
          llvm::MemoryBuffer::getFile(fatbin, /*IsText=*/false);
      if (!bytes) {
        error = "cannot read " + fatbin + ": " + bytes.getError().message();
        return failure();
      }
      result = gpu::ObjectAttr::get(
          ctx, lowestObject.getTarget(), gpu::CompilationTarget::Fatbin,
          StringAttr::get(ctx, (*bytes)->getBuffer()),
          lowestObject.getProperties(), lowestObject.getKernels());
    }
    binary.setObjectsAttr(ArrayAttr::get(ctx, {result}));
  }
  return success();
}

LogicalResult qopt::emitKernelsPTX(ModuleOp module, ArrayRef<GpuTarget> targets,
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
  if (failed(lowerToPTX(*kernels, targets, error)))
    return failure();
  for (const GpuTarget &target : targets)
    for (auto binary : kernels->getOps<gpu::BinaryOp>())
      if (gpu::ObjectAttr object = objectFor(binary, target.chip)) {
        ptx += "// gpu.module @" + binary.getName().str() + " for " +
               target.chip + "\n";
        ptx += object.getObject().getValue().str();
      }
  return success();
}
