//===- Pipelines.cpp - the pass groups of the CPU lowering ----------------===//

#include "qopt/Target/CPU.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

qopt::CpuPipelineOptions qopt::CpuPipelineOptions::forCpu(llvm::StringRef cpu,
                                                          unsigned optLevel) {
  CpuPipelineOptions options;
  options.optLevel = optLevel;
  bool avx512 = false, avx2 = false;
  if (cpu == "native") {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    avx512 = features.lookup("avx512f");
    options.int8Pmaddwd = avx512 && features.lookup("avx512bw");
    options.int8Vpdpbusd = options.int8Pmaddwd && features.lookup("avx512vnni");
    avx2 = features.lookup("avx2");
  } else {
    llvm::InitializeNativeTarget();
    std::string error;
    llvm::Triple triple(llvm::sys::getProcessTriple());
    if (const llvm::Target *target =
            llvm::TargetRegistry::lookupTarget(triple, error)) {
      std::unique_ptr<llvm::MCSubtargetInfo> sti(
          target->createMCSubtargetInfo(triple, cpu, ""));
      avx512 = sti && sti->checkFeatures("+avx512f");
      options.int8Pmaddwd = avx512 && sti->checkFeatures("+avx512bw");
      options.int8Vpdpbusd =
          options.int8Pmaddwd && sti->checkFeatures("+avx512vnni");
      avx2 = sti && sti->checkFeatures("+avx2");
    }
  }
  // Without AVX-512, pair dot products (vpmaddwd) on AVX2's 256-bit
  // registers; byte quads without VNNI as vpmaddubsw on the block's
  // registers (512-bit ones need AVX-512 BW).
  if (!avx512)
    options.int8Pmaddwd = avx2;
  options.int8Pmaddubsw = !options.int8Vpdpbusd && options.int8Pmaddwd;
  if (!avx512) {
    options.tileM = 4;
    options.tileN = 16;
  }
  return options;
}

std::string qopt::qoptLoweringPipeline(const CpuPipelineOptions &options) {
  // Constant weights in the CPU's layout (bit fields) before lowering; in
  // byte-quad slices where quad dot products will read them.
  return std::string("func.func(qopt-cpu-pack-weight-fields{quad-slices=") +
         (options.int8Vpdpbusd || options.int8Pmaddubsw ? "true" : "false") +
         "}),convert-qopt-to-linalg,canonicalize,cse";
}

std::string
qopt::linalgOptimizationPipeline(const CpuPipelineOptions &options) {
  if (options.optLevel == 0)
    return "canonicalize";
  // Fuse producer/consumer elementwise linalg ops on tensors so chains of
  // activations, normalizations and epilogues run as one loop nest, but not
  // where fusion would recompute a producer inside a contraction (see
  // qopt-fuse-elementwise); then register-tile and vectorize contractions
  // (O2+), keeping accumulator blocks in registers across the reduction
  // loop. At O2+, computed right-hand operands (decoded weights) are first
  // given transposes that fusion folds into their computation, so they are
  // written in the layout the register block reads.
  std::string pipeline;
  if (options.optLevel >= 2)
    pipeline += "func.func(qopt-cpu-transpose-computed-operands),";
  pipeline += "qopt-fuse-elementwise,canonicalize,cse";
  if (options.optLevel >= 2)
    pipeline +=
        ",qopt-math-approximation,func.func(qopt-cpu-relayout-"
        "constant-operands{panel-n=" +
        std::to_string(options.tileN) +
        "}),func.func(qopt-cpu-tile-and-"
        "vectorize{tile-m=" +
        std::to_string(options.tileM) +
        " tile-n=" + std::to_string(options.tileN) +
        " int8-pmaddwd=" + (options.int8Pmaddwd ? "true" : "false") +
        " int8-vpdpbusd=" + (options.int8Vpdpbusd ? "true" : "false") +
        " int8-pmaddubsw=" + (options.int8Pmaddubsw ? "true" : "false") +
        "}),canonicalize,cse,loop-invariant-subset-hoisting,"
        "canonicalize,cse";
  return pipeline;
}

std::string qopt::bufferizationPipeline() {
  return allocationPipeline() + "," + deallocationPipeline();
}

// Function boundaries use identity layouts, so the runtime gets dense
// row-major results; ownership-based deallocation frees temporaries and
// hands every result to the caller (cloning results that alias inputs or
// constants). Loops may yield new buffers: recurrent layers' state update
// does not always bufferize in place (linalg drops an unread `outs`).

std::string qopt::allocationPipeline() {
  return "one-shot-bufferize{bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map "
         "allow-return-allocs-from-loops},canonicalize";
}

std::string qopt::deallocationPipeline() {
  return "buffer-deallocation-pipeline,convert-bufferization-to-memref";
}

std::string qopt::llvmLoweringPipeline() {
  // bf16 conversions as bit operations once linalg bodies are loops (a
  // named op's body must keep its arith.extf). Heap buffers come from the
  // runtime's buffer cache (lib/Runtime/BufferCache.cpp), not malloc.
  return "convert-linalg-to-loops,convert-vector-to-scf{full-unroll},"
         "qopt-expand-bf16-conversions,"
         "lower-affine,convert-scf-to-cf,"
         "qopt-expand-shape-to-reinterpret-cast,expand-strided-metadata,"
         "lower-affine,convert-math-to-funcs,convert-math-to-llvm,"
         "convert-math-to-libm,"
         "qopt-lower-x86-to-llvm,"
         "convert-vector-to-llvm{vector-contract-lowering=outerproduct},"
         "finalize-memref-to-llvm{use-generic-functions},"
         "convert-arith-to-llvm,"
         "convert-index-to-llvm,convert-ub-to-llvm,convert-func-to-llvm,"
         "convert-cf-to-llvm,"
         "reconcile-unrealized-casts";
}

LogicalResult qopt::addPipeline(OpPassManager &pm, llvm::StringRef text,
                                std::string &error) {
  llvm::raw_string_ostream os(error);
  return parsePassPipeline(text, pm, os);
}
