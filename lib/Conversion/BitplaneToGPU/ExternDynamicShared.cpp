//===- ExternDynamicShared.cpp - dynamic shared memory as .extern ---------===//
//
// qopt-extern-dynamic-shared: the zero-size shared globals of lowered
// gpu.dynamic_shared_memory ops become external declarations, which NVPTX
// prints as `.extern .shared .align 16 .b8 name[];` (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "qopt/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace qopt {
#define GEN_PASS_DEF_EXTERNDYNAMICSHAREDMEMORY
#include "qopt/Conversion/Passes.h.inc"
} // namespace qopt

using namespace mlir;

namespace {
/// NVVM's shared address space.
constexpr unsigned kSharedAddressSpace = 3;

struct ExternDynamicSharedMemoryPass
    : qopt::impl::ExternDynamicSharedMemoryBase<ExternDynamicSharedMemoryPass> {
  void runOnOperation() override {
    getOperation().walk([](LLVM::GlobalOp global) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() != kSharedAddressSpace || !array ||
          array.getNumElements() != 0 || global.getValueOrNull() ||
          global.getInitializerRegion().getBlocks().size() ||
          global.getLinkage() != LLVM::Linkage::Internal)
        return;
      global.setLinkage(LLVM::Linkage::External);
    });
  }
};
} // namespace
