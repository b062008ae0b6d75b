//===- Driver.cpp - the CUDA driver API of the qopt PTX emulator ----------===//
//
// libqopt_cuda_emu.so stands in for libcuda.so.1 (QOPT_CUDA_LIBRARY): it
// exports the driver entry points qopt's runtime (lib/Runtime/CudaRuntime.cpp)
// binds, with cuda.h's ABI. Device memory is host memory, copies are
// memcpy, streams and events are synchronous, and cuLaunchKernel interprets
// the kernel's PTX (Interpreter.cpp). Module images are PTX text or a
// fatbin, whose PTX entry is used (decompressed: LZ4 here, ZSTD through the
// system's libzstd.so.1).
//
// The device reports compute capability 8.0, or $QOPT_CUDA_EMU_CC (e.g.
// 90). Errors print a line to stderr, as the real driver's JIT does.
//
//===----------------------------------------------------------------------===//

#include "Emu.h"
#include "Ptx.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace qemu;

namespace {

std::mutex &allocMutex() {
  static std::mutex *m = new std::mutex();
  return *m;
}
std::map<uint64_t, size_t> &allocations() {
  static auto *m = new std::map<uint64_t, size_t>();
  return *m;
}

void report(const char *fmt, const std::string &what) {
  std::fprintf(stderr, "qopt-cuda-emu: ");
  std::fprintf(stderr, fmt, what.c_str());
  std::fprintf(stderr, "\n");
}

// Fatbin (the format `fatbinary` writes) ----------------------------------

constexpr uint32_t kFatbinMagic = 0xBA55ED50u;
constexpr uint16_t kKindPtx = 1;
constexpr uint64_t kFlagCompressedLz4 = 0x2000;
constexpr uint64_t kFlagCompressedZstd = 0x8000;

struct FatbinEntry {
  uint16_t kind;
  uint16_t version;
  uint32_t headerSize;
  uint64_t payloadSize;
  uint32_t compressedSize; // of a compressed payload (padded to 8 bytes)
  uint32_t unknown;
  uint16_t minor, major;
  uint32_t arch;
  uint32_t nameOffset, nameSize;
  uint64_t flags;
  uint64_t zero;
  uint64_t uncompressedSize;
};
static_assert(sizeof(FatbinEntry) == 64, "fatbin entry header");

/// LZ4 block format (no frame): sequences of literals and matches.
bool lz4Decompress(const uint8_t *src, size_t n, std::string &out,
                   size_t expected) {
  out.clear();
  out.reserve(expected);
  size_t i = 0;
  while (i < n) {
    uint8_t token = src[i++];
    size_t lit = token >> 4;
    if (lit == 15) {
      uint8_t b;
      do {
        if (i >= n)
          return false;
        b = src[i++];
        lit += b;
      } while (b == 255);
    }
    if (i + lit > n)
      return false;
    out.append(reinterpret_cast<const char *>(src + i), lit);
    i += lit;
    if (i >= n)
      break; // the last sequence has literals only
    if (i + 2 > n)
      return false;
    size_t offset = src[i] | (src[i + 1] << 8);
    i += 2;
    size_t len = (token & 15) + 4;
    if ((token & 15) == 15) {
      uint8_t b;
      do {
        if (i >= n)
          return false;
        b = src[i++];
        len += b;
      } while (b == 255);
    }
    if (offset == 0 || offset > out.size())
      return false;
    size_t from = out.size() - offset;
    for (size_t k = 0; k < len; ++k) // overlapping copies repeat bytes
      out.push_back(out[from + k]);
  }
  return true;
}

bool zstdDecompress(const uint8_t *src, size_t n, std::string &out,
                    size_t expected, std::string &why) {
  static void *lib = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    why = "the fatbin's PTX is ZSTD-compressed and libzstd.so.1 cannot be "
          "loaded";
    return false;
  }
  using Decompress = size_t (*)(void *, size_t, const void *, size_t);
  using IsError = unsigned (*)(size_t);
  auto decompress = reinterpret_cast<Decompress>(dlsym(lib, "ZSTD_decompress"));
  auto isError = reinterpret_cast<IsError>(dlsym(lib, "ZSTD_isError"));
  if (!decompress || !isError) {
    why = "libzstd.so.1 lacks ZSTD_decompress";
    return false;
  }
  out.resize(expected);
  size_t r = decompress(out.data(), out.size(), src, n);
  if (!isError(r)) {
    out.resize(r);
    return true;
  }
  why = "ZSTD decompression of the fatbin's PTX failed";
  return false;
}

/// The PTX text of a fatbin: the entry of the newest PTX (highest arch).
bool ptxFromFatbin(const uint8_t *image, std::string &ptx, std::string &why) {
  uint32_t magic;
  uint16_t version, headerSize;
  uint64_t fatSize;
  std::memcpy(&magic, image, 4);
  std::memcpy(&version, image + 4, 2);
  std::memcpy(&headerSize, image + 6, 2);
  std::memcpy(&fatSize, image + 8, 8);
  const uint8_t *p = image + headerSize, *end = p + fatSize;
  const FatbinEntry *best = nullptr;
  const uint8_t *bestPayload = nullptr;
  std::string kinds;
  while (p + sizeof(FatbinEntry) <= end) {
    FatbinEntry e;
    std::memcpy(&e, p, sizeof(e));
    if (e.headerSize < sizeof(FatbinEntry))
      break;
    kinds += (kinds.empty() ? "" : ", ") +
             std::string(e.kind == kKindPtx ? "ptx" : "elf") + " sm_" +
             std::to_string(e.arch);
    if (e.kind == kKindPtx &&
        (!best || e.arch > reinterpret_cast<const FatbinEntry *>(best)->arch)) {
      best = reinterpret_cast<const FatbinEntry *>(p);
      bestPayload = p + e.headerSize;
    }
    p += e.headerSize + e.payloadSize;
  }
  if (!best) {
    why = "the fatbin has no PTX entry (" + kinds +
          "); the emulator runs PTX only";
    return false;
  }
  FatbinEntry e;
  std::memcpy(&e, best, sizeof(e));
  size_t packed = e.compressedSize && e.compressedSize <= e.payloadSize
                      ? e.compressedSize
                      : e.payloadSize;
  if (e.flags & kFlagCompressedZstd) {
    if (!zstdDecompress(bestPayload, packed, ptx, e.uncompressedSize, why))
      return false;
  } else if (e.flags & kFlagCompressedLz4) {
    if (!lz4Decompress(bestPayload, packed, ptx, e.uncompressedSize)) {
      why = "LZ4 decompression of the fatbin's PTX failed";
      return false;
    }
  } else {
    ptx.assign(reinterpret_cast<const char *>(bestPayload), e.payloadSize);
  }
  size_t nul = ptx.find('\0');
  if (nul != std::string::npos)
    ptx.resize(nul);
  return true;
}

struct EmuFunction;
struct EmuModule {
  Module ptx;
  std::map<std::string, EmuFunction *> functions;
  ~EmuModule();
};
struct EmuFunction {
  const Function *fn;
  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES once set (-1: not
  // set, so static and dynamic shared memory stay within 48 KiB).
  int maxDynamicShared = -1;
};
EmuModule::~EmuModule() {
  for (auto &[name, f] : functions)
    delete f;
}

int ccFromEnv() {
  const char *cc = std::getenv("QOPT_CUDA_EMU_CC");
  if (!cc || !*cc)
    return 80;
  int v = std::atoi(cc);
  return v >= 10 ? v : 80;
}

/// The most shared memory one block may opt into on the emulated
/// compute capability (the CUDA programming guide's table).
int maxSharedOptIn() {
  switch (ccFromEnv()) {
  case 80:
  case 87:
    return 163 * 1024;
  case 86:
  case 89:
    return 99 * 1024;
  case 90:
    return 227 * 1024;
  default:
    return 48 * 1024;
  }
}

int context; // the primary context's handle
int streamObject;
int eventObject;

const char *errorName(int r) {
  switch (r) {
  case kSuccess:
    return "CUDA_SUCCESS";
  case kErrorInvalidValue:
    return "CUDA_ERROR_INVALID_VALUE";
  case kErrorOutOfMemory:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case kErrorNotInitialized:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case kErrorInvalidImage:
    return "CUDA_ERROR_INVALID_IMAGE";
  case kErrorInvalidContext:
    return "CUDA_ERROR_INVALID_CONTEXT";
  case kErrorInvalidPtx:
    return "CUDA_ERROR_INVALID_PTX";
  case kErrorInvalidHandle:
    return "CUDA_ERROR_INVALID_HANDLE";
  case kErrorNotFound:
    return "CUDA_ERROR_NOT_FOUND";
  case kErrorIllegalAddress:
    return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case kErrorLaunchOutOfResources:
    return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES";
  case kErrorIllegalInstruction:
    return "CUDA_ERROR_ILLEGAL_INSTRUCTION";
  case kErrorMisalignedAddress:
    return "CUDA_ERROR_MISALIGNED_ADDRESS";
  case kErrorLaunchFailed:
    return "CUDA_ERROR_LAUNCH_FAILED";
  default:
    return nullptr;
  }
}

const char *errorString(int r) {
  switch (r) {
  case kSuccess:
    return "no error";
  case kErrorInvalidValue:
    return "invalid argument";
  case kErrorOutOfMemory:
    return "out of memory";
  case kErrorInvalidImage:
    return "device kernel image is invalid (qopt PTX emulator)";
  case kErrorInvalidPtx:
    return "a PTX JIT compilation failed (qopt PTX emulator: see stderr)";
  case kErrorIllegalAddress:
    return "an illegal memory access was encountered (qopt PTX emulator: "
           "see stderr)";
  case kErrorMisalignedAddress:
    return "misaligned address (qopt PTX emulator: see stderr)";
  case kErrorIllegalInstruction:
    return "an illegal instruction was encountered (qopt PTX emulator: see "
           "stderr)";
  case kErrorNotFound:
    return "named symbol not found";
  default:
    return nullptr;
  }
}

/// Checks a host-side range that lies (partly) in device memory.
bool deviceRangeOk(uint64_t p, size_t n) {
  std::lock_guard<std::mutex> lock(allocMutex());
  auto &m = allocations();
  auto it = m.upper_bound(p);
  if (it == m.begin())
    return true; // a host pointer
  --it;
  if (p >= it->first + it->second)
    return true; // a host pointer past an allocation
  return p + n <= it->first + it->second;
}

} // namespace

namespace qemu {

void registerAllocation(void *base, size_t bytes) {
  std::lock_guard<std::mutex> lock(allocMutex());
  allocations()[reinterpret_cast<uint64_t>(base)] = bytes;
}

void unregisterAllocation(void *base) {
  std::lock_guard<std::mutex> lock(allocMutex());
  allocations().erase(reinterpret_cast<uint64_t>(base));
}

bool isAllocated(uint64_t addr, size_t bytes, uint64_t &lo, uint64_t &hi) {
  std::lock_guard<std::mutex> lock(allocMutex());
  auto &m = allocations();
  auto it = m.upper_bound(addr);
  if (it == m.begin())
    return false;
  --it;
  if (addr + bytes < addr || addr + bytes > it->first + it->second)
    return false;
  lo = it->first;
  hi = it->first + it->second;
  return true;
}

} // namespace qemu

//===----------------------------------------------------------------------===//
// The driver API (cuda.h's signatures, CUresult = int)
//===----------------------------------------------------------------------===//

#define QOPT_EMU_API extern "C" __attribute__((visibility("default")))

using CUdeviceptr = unsigned long long;

QOPT_EMU_API int cuInit(unsigned) { return kSuccess; }

QOPT_EMU_API int cuDriverGetVersion(int *version) {
  if (!version)
    return kErrorInvalidValue;
  *version = 13000;
  return kSuccess;
}

QOPT_EMU_API int cuDeviceGetCount(int *count) {
  if (!count)
    return kErrorInvalidValue;
  *count = 1;
  return kSuccess;
}

QOPT_EMU_API int cuDeviceGet(int *device, int ordinal) {
  if (!device || ordinal != 0)
    return kErrorInvalidValue;
  *device = 0;
  return kSuccess;
}

QOPT_EMU_API int cuDeviceGetName(char *name, int len, int device) {
  if (!name || len <= 0 || device != 0)
    return kErrorInvalidValue;
  std::snprintf(name, static_cast<size_t>(len), "qopt PTX emulator");
  return kSuccess;
}

QOPT_EMU_API int cuDeviceGetAttribute(int *value, int attribute, int device) {
  if (!value || device != 0)
    return kErrorInvalidValue;
  int cc = ccFromEnv();
  switch (attribute) {
  case 1: // MAX_THREADS_PER_BLOCK
    *value = 1024;
    return kSuccess;
  case 2: // MAX_BLOCK_DIM_X
  case 3:
    *value = 1024;
    return kSuccess;
  case 4:
    *value = 64;
    return kSuccess;
  case 5: // MAX_GRID_DIM_X
    *value = 2147483647;
    return kSuccess;
  case 6:
  case 7:
    *value = 65535;
    return kSuccess;
  case 8: // MAX_SHARED_MEMORY_PER_BLOCK
    *value = 48 * 1024;
    return kSuccess;
  case 10: // WARP_SIZE
    *value = 32;
    return kSuccess;
  case 16: // MULTIPROCESSOR_COUNT
    *value = 1;
    return kSuccess;
  case 75: // COMPUTE_CAPABILITY_MAJOR
    *value = cc / 10;
    return kSuccess;
  case 76: // COMPUTE_CAPABILITY_MINOR
    *value = cc % 10;
    return kSuccess;
  case 97: // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
    *value = maxSharedOptIn();
    return kSuccess;
  default:
    return kErrorInvalidValue;
  }
}

QOPT_EMU_API int cuDevicePrimaryCtxRetain(void **ctx, int device) {
  if (!ctx || device != 0)
    return kErrorInvalidValue;
  *ctx = &context;
  return kSuccess;
}

QOPT_EMU_API int cuCtxSetCurrent(void *) { return kSuccess; }

QOPT_EMU_API int cuModuleLoadData(void **module, const void *image) {
  if (!module || !image)
    return kErrorInvalidValue;
  std::string ptx, why;
  uint32_t magic;
  std::memcpy(&magic, image, 4);
  if (magic == kFatbinMagic) {
    if (!ptxFromFatbin(static_cast<const uint8_t *>(image), ptx, why)) {
      report("cuModuleLoadData: %s", why);
      return kErrorInvalidImage;
    }
  } else {
    ptx = static_cast<const char *>(image);
    if (ptx.find(".version") == std::string::npos) {
      report("cuModuleLoadData: %s",
             std::string("the image is neither a fatbin nor PTX text"));
      return kErrorInvalidImage;
    }
  }
  auto *m = new EmuModule();
  if (!parsePtx(ptx, m->ptx, why)) {
    report("cuModuleLoadData: %s", why);
    delete m;
    return kErrorInvalidPtx;
  }
  *module = m;
  return kSuccess;
}

QOPT_EMU_API int cuModuleUnload(void *module) {
  if (!module)
    return kErrorInvalidHandle;
  delete static_cast<EmuModule *>(module);
  return kSuccess;
}

QOPT_EMU_API int cuModuleGetFunction(void **function, void *module,
                                     const char *name) {
  if (!function || !module || !name)
    return kErrorInvalidValue;
  auto *m = static_cast<EmuModule *>(module);
  auto it = m->ptx.byName.find(name);
  if (it == m->ptx.byName.end() || !it->second->entry)
    return kErrorNotFound;
  EmuFunction *&f = m->functions[name];
  if (!f)
    f = new EmuFunction{it->second};
  *function = f;
  return kSuccess;
}

QOPT_EMU_API int cuFuncSetAttribute(void *function, int attribute, int value) {
  if (!function)
    return kErrorInvalidHandle;
  auto *f = static_cast<EmuFunction *>(function);
  if (attribute != 8) // only MAX_DYNAMIC_SHARED_SIZE_BYTES
    return kErrorInvalidValue;
  if (value < 0 ||
      static_cast<int64_t>(f->fn->staticShared) + value > maxSharedOptIn()) {
    report("cuFuncSetAttribute: %s",
           std::to_string(value) + " bytes of dynamic shared memory (plus " +
               std::to_string(f->fn->staticShared) +
               " static) exceed the device's " +
               std::to_string(maxSharedOptIn()));
    return kErrorInvalidValue;
  }
  f->maxDynamicShared = value;
  return kSuccess;
}

QOPT_EMU_API int cuLaunchKernel(void *function, unsigned gx, unsigned gy,
                                unsigned gz, unsigned bx, unsigned by,
                                unsigned bz, unsigned smem, void * /*stream*/,
                                void **params, void **extra) {
  if (!function)
    return kErrorInvalidHandle;
  const Function &fn = *static_cast<EmuFunction *>(function)->fn;
  // As the driver: static and dynamic shared memory within 48 KiB, or
  // the dynamic part within what the kernel was opted into.
  int64_t maxDynamic = static_cast<EmuFunction *>(function)->maxDynamicShared;
  if (maxDynamic < 0)
    maxDynamic = std::max<int64_t>(0, 48 * 1024 - int64_t(fn.staticShared));
  if (smem > maxDynamic) {
    report("cuLaunchKernel: %s",
           std::to_string(smem) +
               " bytes of dynamic shared memory, more than the kernel may "
               "take (" +
               std::to_string(maxDynamic) + "; cuFuncSetAttribute raises it)");
    return kErrorInvalidValue;
  }
  std::vector<uint8_t> buffer(std::max<uint32_t>(fn.paramBytes, 1), 0);
  if (params) {
    for (size_t i = 0; i < fn.params.size(); ++i)
      std::memcpy(buffer.data() + fn.params[i].offset, params[i],
                  fn.params[i].size);
  } else if (extra) {
    // CU_LAUNCH_PARAM_BUFFER_POINTER (1), _SIZE (2), _END (0).
    void *data = nullptr;
    size_t size = 0;
    for (size_t i = 0; extra[i]; i += 2) {
      if (extra[i] == reinterpret_cast<void *>(1))
        data = extra[i + 1];
      else if (extra[i] == reinterpret_cast<void *>(2))
        size = *static_cast<size_t *>(extra[i + 1]);
      else
        return kErrorInvalidValue;
    }
    if (!data || size < fn.paramBytes)
      return kErrorInvalidValue;
    std::memcpy(buffer.data(), data, fn.paramBytes);
  } else if (!fn.params.empty()) {
    return kErrorInvalidValue;
  }
  LaunchConfig config{{gx, gy, gz}, {bx, by, bz}, smem};
  std::string error;
  int r = launch(fn, config, buffer.data(), error);
  if (r != kSuccess)
    report("cuLaunchKernel: %s", error);
  return r;
}

QOPT_EMU_API int cuStreamCreate(void **stream, unsigned) {
  if (!stream)
    return kErrorInvalidValue;
  *stream = &streamObject;
  return kSuccess;
}
QOPT_EMU_API int cuStreamDestroy_v2(void *) { return kSuccess; }
QOPT_EMU_API int cuStreamSynchronize(void *) { return kSuccess; }
QOPT_EMU_API int cuStreamWaitEvent(void *, void *, unsigned) {
  return kSuccess;
}
QOPT_EMU_API int cuEventCreate(void **event, unsigned) {
  if (!event)
    return kErrorInvalidValue;
  *event = &eventObject;
  return kSuccess;
}
QOPT_EMU_API int cuEventDestroy_v2(void *) { return kSuccess; }
QOPT_EMU_API int cuEventSynchronize(void *) { return kSuccess; }
QOPT_EMU_API int cuEventRecord(void *, void *) { return kSuccess; }

QOPT_EMU_API int cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) {
  if (!ptr || bytes == 0)
    return kErrorInvalidValue;
  size_t rounded = (bytes + 255) / 256 * 256;
  void *p = std::aligned_alloc(256, rounded);
  if (!p)
    return kErrorOutOfMemory;
  // Device memory is not zeroed: a recognizable pattern (NaN as f32, -1 as
  // an integer) makes reads of unwritten memory visible.
  std::memset(p, 0xFF, rounded);
  registerAllocation(p, bytes);
  *ptr = reinterpret_cast<uint64_t>(p);
  return kSuccess;
}

QOPT_EMU_API int cuMemAllocManaged(CUdeviceptr *ptr, size_t bytes, unsigned) {
  return cuMemAlloc_v2(ptr, bytes);
}

QOPT_EMU_API int cuMemFree_v2(CUdeviceptr ptr) {
  {
    std::lock_guard<std::mutex> lock(allocMutex());
    if (!allocations().erase(ptr))
      return kErrorInvalidValue;
  }
  std::free(reinterpret_cast<void *>(ptr));
  return kSuccess;
}

QOPT_EMU_API int cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                               void *) {
  if (!deviceRangeOk(dst, bytes) || !deviceRangeOk(src, bytes)) {
    report("cuMemcpyAsync: %s", std::string("a copy of ") +
                                    std::to_string(bytes) +
                                    " bytes overruns a device allocation");
    return kErrorInvalidValue;
  }
  std::memmove(reinterpret_cast<void *>(dst),
               reinterpret_cast<const void *>(src), bytes);
  return kSuccess;
}

QOPT_EMU_API int cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count,
                                  void *) {
  if (dst % 4 || !deviceRangeOk(dst, count * 4))
    return kErrorInvalidValue;
  auto *p = reinterpret_cast<uint32_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return kSuccess;
}

QOPT_EMU_API int cuMemsetD16Async(CUdeviceptr dst, unsigned short value,
                                  size_t count, void *) {
  if (dst % 2 || !deviceRangeOk(dst, count * 2))
    return kErrorInvalidValue;
  auto *p = reinterpret_cast<uint16_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return kSuccess;
}

QOPT_EMU_API int cuGetErrorName(int error, const char **name) {
  if (!name)
    return kErrorInvalidValue;
  *name = errorName(error);
  return *name ? kSuccess : kErrorInvalidValue;
}

QOPT_EMU_API int cuGetErrorString(int error, const char **text) {
  if (!text)
    return kErrorInvalidValue;
  *text = errorString(error);
  if (!*text)
    *text = errorName(error);
  return *text ? kSuccess : kErrorInvalidValue;
}
