//===- Emu.h - the qopt CUDA emulator's interpreter and memory ---*- C++
//-*-===//
//
// Device memory is host memory: every allocation (cuMemAlloc, module
// globals) is recorded so that kernel accesses outside of one are reported
// instead of corrupting the process.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_CUDA_EMU_EMU_H
#define QOPT_CUDA_EMU_EMU_H

#include "Ptx.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace qemu {

/// CUresult values the emulator returns.
enum : int {
  kSuccess = 0,
  kErrorInvalidValue = 1,
  kErrorOutOfMemory = 2,
  kErrorNotInitialized = 3,
  kErrorInvalidImage = 200,
  kErrorInvalidContext = 201,
  kErrorInvalidPtx = 218,
  kErrorInvalidHandle = 400,
  kErrorNotFound = 500,
  kErrorIllegalAddress = 700,
  kErrorLaunchOutOfResources = 701,
  kErrorMisalignedAddress = 716,
  kErrorIllegalInstruction = 715,
  kErrorLaunchFailed = 719,
};

void registerAllocation(void *base, size_t bytes);
void unregisterAllocation(void *base);
/// Whether [addr, addr + bytes) lies inside one recorded allocation.
bool isAllocated(uint64_t addr, size_t bytes, uint64_t &lo, uint64_t &hi);

struct LaunchConfig {
  unsigned grid[3], block[3];
  unsigned dynamicShared;
};

/// Runs `f` over the grid; `params` is the packed parameter buffer
/// (f.paramBytes). Returns a CUresult; on failure `error` says what, where.
int launch(const Function &f, const LaunchConfig &config, const uint8_t *params,
           std::string &error);

} // namespace qemu

#endif // QOPT_CUDA_EMU_EMU_H
