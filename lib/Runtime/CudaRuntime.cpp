//===- CudaRuntime.cpp - the GPU runtime inside every qcc-built library ---===//
//
// MLIR's gpu-to-llvm lowering makes host code call `mgpu*` functions
// (module load, kernel launch, stream, memory). Upstream defines them in
// libmlir_cuda_runtime, which links libcuda and which Debian does not ship;
// these are qopt's own, over the CUDA driver API loaded with dlopen, so a
// model.so loads and runs (on the CPU) where there is no driver.
//
// * Nothing touches CUDA until the runtime selects the GPU
//   (qopt_cuda_initialize): the kernel images that the generated global
//   constructors register at load time are only recorded, and loaded into
//   the context on first use.
// * Errors are sticky: the first failing driver call records a message and
//   every later call does nothing (launches, copies) or returns null, so a
//   failed run ends instead of crashing; the C API reports the message.
//
//===----------------------------------------------------------------------===//

#include "CudaRuntime.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

// The driver API's types and the functions used, as cuda.h declares them
// (ABI-stable since CUDA 4; the _v2 entry points where cuda.h maps to them).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;
constexpr unsigned kStreamNonBlocking = 1;
constexpr unsigned kEventDisableTiming = 2;
constexpr unsigned kMemAttachGlobal = 1;
constexpr int kAttrComputeCapabilityMajor = 75;
constexpr int kAttrComputeCapabilityMinor = 76;

struct Driver {
  void *library = nullptr;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent); // optional
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);      // optional
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
};

/// A kernel image the generated constructors registered, loaded into the
/// context on first use.
struct LazyModule {
  const void *image;
  CUmodule module = nullptr;
  std::map<std::string, CUfunction> functions;
};

/// QOPT_CUDA_PROFILE=1: per kernel, the calls and their device times,
/// printed to stderr when the library unloads; for bench/gpu_bench.py. Each
/// launch is timed by two timing events around it (cuEventElapsedTime,
/// the device's own clock, as cuBLAS's peers are timed), or, with a driver
/// without cuEventElapsedTime, from launch to completion on the host (the
/// stream synchronized around each launch).
struct KernelProfile {
  long calls = 0;
  double ms = 0;
  std::vector<double> each;
};

struct State {
  std::mutex mutex;
  Driver driver;
  bool profile = false;
  std::map<CUfunction, std::string> kernelNames;
  std::map<std::string, KernelProfile> profiles;
  /// Device copies of the model's constants, by host address.
  std::map<const void *, CUdeviceptr> constants;
  /// qcc --gpu-bench-weights: the pseudo-random weight buffers, by seed.
  std::map<int64_t, CUdeviceptr> randoms;
  bool initialized = false; // qopt_cuda_initialize succeeded
  bool failed = false;      // sticky error
  std::string error;
  std::string deviceName;
  CUcontext context = nullptr;
};

State &state() {
  static State *s = new State(); // never destroyed: destructors of other
                                 // objects may still unload modules
  return *s;
}

std::string formatProfile(const State &s);

void recordError(const char *format, ...) {
  State &s = state();
  if (s.failed)
    return;
  char buffer[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  s.failed = true;
  s.error = buffer;
}

/// "CUDA_ERROR_X (message)", or the number where the driver cannot name it
/// (its stub library, for one).
std::string describe(CUresult result) {
  Driver &d = state().driver;
  const char *name = nullptr, *text = nullptr;
  if (d.cuGetErrorName && d.cuGetErrorName(result, &name) != 0)
    name = nullptr;
  if (d.cuGetErrorString && d.cuGetErrorString(result, &text) != 0)
    text = nullptr;
  std::string out = name ? name : "CUresult " + std::to_string(result);
  if (result == 34)
    out += " (CUDA_ERROR_STUB_LIBRARY: the toolkit's link stub, not a driver)";
  else if (text)
    out += std::string(" (") + text + ")";
  return out;
}

/// Checks a driver result; on failure records "call failed: NAME (message)".
bool check(CUresult result, const char *call) {
  if (result == 0)
    return true;
  recordError("%s failed: %s", call, describe(result).c_str());
  return false;
}

/// Whether GPU calls may go ahead: the runtime selected the GPU and nothing
/// failed yet.
bool ready() {
  State &s = state();
  return s.initialized && !s.failed;
}

template <typename F> bool bind(void *library, F &fn, const char *name) {
  fn = reinterpret_cast<F>(dlsym(library, name));
  return fn != nullptr;
}

bool loadDriver(std::string &why) {
  Driver &d = state().driver;
  if (d.library)
    return true;
  const char *path = std::getenv("QOPT_CUDA_LIBRARY");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *e = dlerror();
    why = std::string("cannot load the CUDA driver (") + path +
          "): " + (e ? e : "dlopen failed");
    return false;
  }
  bool ok = true;
#define BIND(name) ok &= bind(library, d.name, #name)
#define BIND_V2(name) ok &= bind(library, d.name, #name "_v2")
  BIND(cuInit);
  BIND(cuDeviceGetCount);
  BIND(cuDeviceGet);
  BIND(cuDeviceGetName);
  BIND(cuDeviceGetAttribute);
  BIND(cuDriverGetVersion);
  BIND(cuDevicePrimaryCtxRetain);
  BIND(cuCtxSetCurrent);
  BIND(cuModuleLoadData);
  BIND(cuModuleUnload);
  BIND(cuModuleGetFunction);
  BIND(cuLaunchKernel);
  BIND(cuStreamCreate);
  BIND_V2(cuStreamDestroy);
  BIND(cuStreamSynchronize);
  BIND(cuStreamWaitEvent);
  BIND(cuEventCreate);
  BIND_V2(cuEventDestroy);
  BIND(cuEventSynchronize);
  BIND(cuEventRecord);
  BIND_V2(cuMemAlloc);
  BIND(cuMemAllocManaged);
  BIND_V2(cuMemFree);
  BIND(cuMemcpyAsync);
  BIND(cuMemsetD32Async);
  BIND(cuMemsetD16Async);
  BIND(cuGetErrorName);
  BIND(cuGetErrorString);
#undef BIND
#undef BIND_V2
  // Only the profiler uses it; a driver (or stand-in) without it still runs.
  d.cuEventElapsedTime = reinterpret_cast<decltype(d.cuEventElapsedTime)>(
      dlsym(library, "cuEventElapsedTime"));
  // Only kernels of more than 48 KiB of shared memory need it.
  d.cuFuncSetAttribute = reinterpret_cast<decltype(d.cuFuncSetAttribute)>(
      dlsym(library, "cuFuncSetAttribute"));
  if (!ok) {
    why = std::string("the CUDA driver ") + path +
          " lacks a driver API function qopt needs";
    dlclose(library);
    d = Driver();
    return false;
  }
  d.library = library;
  return true;
}

CUdeviceptr devicePtr(const void *p) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(p));
}

CUfunction lookupFunction(LazyModule *m, const char *name) {
  Driver &d = state().driver;
  if (!m->module &&
      !check(d.cuModuleLoadData(&m->module, m->image), "cuModuleLoadData"))
    return nullptr;
  auto it = m->functions.find(name);
  if (it != m->functions.end())
    return it->second;
  CUfunction f = nullptr;
  if (!check(d.cuModuleGetFunction(&f, m->module, name), "cuModuleGetFunction"))
    return nullptr;
  m->functions[name] = f;
  state().kernelNames[f] = name;
  return f;
}

} // namespace

//===----------------------------------------------------------------------===//
// Device selection and errors (CudaRuntime.h)
//===----------------------------------------------------------------------===//

std::string qopt::cuda::profileReport(bool reset) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::string text = formatProfile(s);
  if (reset)
    s.profiles.clear();
  return text;
}

bool qopt::cuda::initialize(std::string &why) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.initialized)
    return true;
  if (!loadDriver(why))
    return false;
  Driver &d = s.driver;
  auto fail = [&](CUresult r, const char *call) {
    why = std::string(call) + " failed: " + describe(r);
    return false;
  };
  CUresult r = d.cuInit(0);
  if (r)
    return fail(r, "cuInit");
  int count = 0;
  if ((r = d.cuDeviceGetCount(&count)))
    return fail(r, "cuDeviceGetCount");
  if (count == 0) {
    why = "no CUDA device";
    return false;
  }
  int ordinal = 0;
  if (const char *env = std::getenv("QOPT_CUDA_DEVICE"))
    ordinal = std::atoi(env);
  if (ordinal < 0 || ordinal >= count) {
    why = "QOPT_CUDA_DEVICE=" + std::to_string(ordinal) + " but there are " +
          std::to_string(count) + " CUDA device(s)";
    return false;
  }
  CUdevice device;
  if ((r = d.cuDeviceGet(&device, ordinal)))
    return fail(r, "cuDeviceGet");
  int major = 0, minor = 0;
  d.cuDeviceGetAttribute(&major, kAttrComputeCapabilityMajor, device);
  d.cuDeviceGetAttribute(&minor, kAttrComputeCapabilityMinor, device);
  if (major < 8) {
    why = "the CUDA device has compute capability " + std::to_string(major) +
          "." + std::to_string(minor) +
          "; qopt's binary tensor-core kernels need 8.0 or later";
    return false;
  }
  if ((r = d.cuDevicePrimaryCtxRetain(&s.context, device)))
    return fail(r, "cuDevicePrimaryCtxRetain");
  if ((r = d.cuCtxSetCurrent(s.context)))
    return fail(r, "cuCtxSetCurrent");
  char name[256] = {0};
  d.cuDeviceGetName(name, sizeof(name) - 1, device);
  s.deviceName = std::string(name) + " (sm_" + std::to_string(major) +
                 std::to_string(minor) + ")";
  const char *profile = std::getenv("QOPT_CUDA_PROFILE");
  s.profile = profile && *profile && std::string(profile) != "0";
  s.initialized = true;
  return true;
}

const std::string &qopt::cuda::deviceName() { return state().deviceName; }

bool qopt::cuda::takeError(std::string &message) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.failed)
    return false;
  message = s.error;
  s.failed = false; // the next run starts clean
  s.error.clear();
  if (s.context)
    s.driver.cuCtxSetCurrent(s.context);
  return true;
}

void qopt::cuda::makeCurrent() {
  State &s = state();
  if (s.initialized)
    s.driver.cuCtxSetCurrent(s.context);
}

//===----------------------------------------------------------------------===//
// The mgpu* ABI of MLIR's gpu-to-llvm lowering
//===----------------------------------------------------------------------===//

#define QOPT_MGPU extern "C" __attribute__((visibility("hidden")))

QOPT_MGPU void *mgpuModuleLoad(void *data, size_t /*size*/) {
  return new LazyModule{data, nullptr, {}};
}

QOPT_MGPU void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  // PTX text: cuModuleLoadData JIT-compiles it for the device.
  return new LazyModule{data, nullptr, {}};
}

QOPT_MGPU void mgpuModuleUnload(void *module) {
  auto *m = static_cast<LazyModule *>(module);
  if (!m)
    return;
  State &s = state();
  if (m->module && s.initialized)
    s.driver.cuModuleUnload(m->module);
  delete m;
}

QOPT_MGPU void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!ready()) {
    if (!state().initialized)
      recordError("GPU code ran without a selected CUDA device");
    return nullptr;
  }
  return lookupFunction(static_cast<LazyModule *>(module), name);
}

QOPT_MGPU void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                                intptr_t gridZ, intptr_t blockX,
                                intptr_t blockY, intptr_t blockZ, int32_t smem,
                                void *stream, void **params, void **extra,
                                size_t /*paramsCount*/) {
  if (!ready() || !function)
    return;
  State &s = state();
  auto cuStream = static_cast<CUstream>(stream);
  Driver &d = s.driver;
  std::chrono::steady_clock::time_point start;
  CUevent events[2] = {nullptr, nullptr};
  if (s.profile) {
    d.cuStreamSynchronize(cuStream);
    if (d.cuEventElapsedTime &&
        (d.cuEventCreate(&events[0], 0) || d.cuEventCreate(&events[1], 0) ||
         d.cuEventRecord(events[0], cuStream)))
      d.cuEventElapsedTime = nullptr; // no timing events: host timing
    start = std::chrono::steady_clock::now();
  }
  // More than 48 KiB of dynamic shared memory needs the kernel's opt-in
  // (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES); a device with less
  // than the kernel needs fails here, with the driver's reason.
  constexpr int kAttrMaxDynamicShared = 8;
  if (smem > 48 * 1024) {
    if (!d.cuFuncSetAttribute) {
      recordError("a kernel needs %d bytes of shared memory, and the CUDA "
                  "driver has no cuFuncSetAttribute to allow it",
                  static_cast<int>(smem));
      return;
    }
    if (!check(d.cuFuncSetAttribute(static_cast<CUfunction>(function),
                                    kAttrMaxDynamicShared, smem),
               "cuFuncSetAttribute (dynamic shared memory)"))
      return;
  }
  check(d.cuLaunchKernel(static_cast<CUfunction>(function), gridX, gridY, gridZ,
                         blockX, blockY, blockZ, smem, cuStream, params, extra),
        "cuLaunchKernel");
  if (!s.profile)
    return;
  bool timed = d.cuEventElapsedTime && !d.cuEventRecord(events[1], cuStream);
  if (check(d.cuStreamSynchronize(cuStream),
            "cuStreamSynchronize (profiling)")) {
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    float deviceMs = 0;
    if (timed && !d.cuEventElapsedTime(&deviceMs, events[0], events[1]))
      ms = deviceMs;
    KernelProfile &p =
        s.profiles[s.kernelNames[static_cast<CUfunction>(function)]];
    ++p.calls;
    p.ms += ms;
    p.each.push_back(ms);
  }
  for (CUevent e : events)
    if (e)
      d.cuEventDestroy(e);
}

QOPT_MGPU void *mgpuStreamCreate() {
  if (!ready())
    return nullptr;
  CUstream stream = nullptr;
  check(state().driver.cuStreamCreate(&stream, kStreamNonBlocking),
        "cuStreamCreate");
  return stream;
}

QOPT_MGPU void mgpuStreamDestroy(void *stream) {
  if (stream && state().initialized)
    state().driver.cuStreamDestroy(static_cast<CUstream>(stream));
}

QOPT_MGPU void mgpuStreamSynchronize(void *stream) {
  if (!ready())
    return;
  check(state().driver.cuStreamSynchronize(static_cast<CUstream>(stream)),
        "cuStreamSynchronize (a kernel or copy of this run failed)");
}

QOPT_MGPU void mgpuStreamWaitEvent(void *stream, void *event) {
  if (!ready())
    return;
  check(state().driver.cuStreamWaitEvent(static_cast<CUstream>(stream),
                                         static_cast<CUevent>(event), 0),
        "cuStreamWaitEvent");
}

QOPT_MGPU void *mgpuEventCreate() {
  if (!ready())
    return nullptr;
  CUevent event = nullptr;
  check(state().driver.cuEventCreate(&event, kEventDisableTiming),
        "cuEventCreate");
  return event;
}

QOPT_MGPU void mgpuEventDestroy(void *event) {
  if (event && state().initialized)
    state().driver.cuEventDestroy(static_cast<CUevent>(event));
}

QOPT_MGPU void mgpuEventSynchronize(void *event) {
  if (!ready())
    return;
  check(state().driver.cuEventSynchronize(static_cast<CUevent>(event)),
        "cuEventSynchronize");
}

QOPT_MGPU void mgpuEventRecord(void *event, void *stream) {
  if (!ready())
    return;
  check(state().driver.cuEventRecord(static_cast<CUevent>(event),
                                     static_cast<CUstream>(stream)),
        "cuEventRecord");
}

QOPT_MGPU void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/,
                             bool hostShared) {
  if (!ready())
    return nullptr;
  CUdeviceptr ptr = 0;
  if (bytes == 0)
    bytes = 1; // a valid, distinct pointer for empty tensors
  Driver &d = state().driver;
  if (hostShared)
    check(d.cuMemAllocManaged(&ptr, bytes, kMemAttachGlobal),
          "cuMemAllocManaged");
  else
    check(d.cuMemAlloc(&ptr, bytes), "cuMemAlloc");
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

QOPT_MGPU void mgpuMemFree(void *ptr, void *stream) {
  if (!ptr || !state().initialized)
    return;
  Driver &d = state().driver;
  // Work queued on the stream may still read the buffer.
  if (stream)
    d.cuStreamSynchronize(static_cast<CUstream>(stream));
  d.cuMemFree(devicePtr(ptr));
}

QOPT_MGPU void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  if (!ready() || !bytes)
    return;
  if (!dst || !src) {
    recordError("a GPU copy of %zu bytes has a null pointer", bytes);
    return;
  }
  // Unified addressing: the driver tells host from device pointers.
  check(state().driver.cuMemcpyAsync(devicePtr(dst), devicePtr(src), bytes,
                                     static_cast<CUstream>(stream)),
        "cuMemcpyAsync");
}

QOPT_MGPU void mgpuMemset32(void *dst, unsigned value, size_t count,
                            void *stream) {
  if (!ready() || !count)
    return;
  check(state().driver.cuMemsetD32Async(devicePtr(dst), value, count,
                                        static_cast<CUstream>(stream)),
        "cuMemsetD32Async");
}

QOPT_MGPU void mgpuMemset16(void *dst, unsigned short value, size_t count,
                            void *stream) {
  if (!ready() || !count)
    return;
  check(state().driver.cuMemsetD16Async(devicePtr(dst), value, count,
                                        static_cast<CUstream>(stream)),
        "cuMemsetD16Async");
}

QOPT_MGPU void mgpuSetDefaultDevice(int32_t /*device*/) {
  // The device is chosen once, by qopt::cuda::initialize (QOPT_CUDA_DEVICE).
}

//===----------------------------------------------------------------------===//
// Constants uploaded once (BitplaneToGPU's qopt_gpu_constant_<type>)
//===----------------------------------------------------------------------===//

namespace {
/// A 1-D memref descriptor, as MLIR's C interface passes it.
template <typename T> struct Memref1D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t size;
  int64_t stride;
};

/// The device copy of a constant host buffer: uploaded on first use, kept
/// until the library is unloaded.
template <typename T>
void deviceConstant(Memref1D<T> *result, const Memref1D<T> *host) {
  *result = Memref1D<T>{nullptr, nullptr, 0, host->size, 1};
  if (!ready())
    return;
  State &s = state();
  const void *key = host->aligned + host->offset;
  std::lock_guard<std::mutex> lock(s.mutex);
  CUdeviceptr &dev = s.constants[key];
  if (!dev) {
    size_t bytes = static_cast<size_t>(host->size) * sizeof(T);
    if (!check(s.driver.cuMemAlloc(&dev, bytes ? bytes : 1), "cuMemAlloc")) {
      s.constants.erase(key);
      return;
    }
    // Synchronous (the null stream): later runs read it on their streams.
    if (bytes &&
        (!check(s.driver.cuMemcpyAsync(dev, devicePtr(key), bytes, nullptr),
                "cuMemcpyAsync (constant)") ||
         !check(s.driver.cuStreamSynchronize(nullptr),
                "cuStreamSynchronize (constant)"))) {
      s.driver.cuMemFree(dev);
      s.constants.erase(key);
      return;
    }
  }
  T *p = reinterpret_cast<T *>(static_cast<uintptr_t>(dev));
  *result = Memref1D<T>{p, p, 0, host->size, 1};
}

/// qcc --gpu-bench-weights: a device buffer of `count` pseudo-random words
/// (splitmix64 from `seed`), made once per seed and kept until the library
/// unloads, like a constant. Kernel-speed benchmarks use it in place of the
/// weights, which the kernels' speed does not depend on, so that a library
/// of LLaMA-sized layers stays small.
void deviceRandom(Memref1D<int32_t> *result, int64_t count, int64_t seed) {
  *result = Memref1D<int32_t>{nullptr, nullptr, 0, count, 1};
  if (!ready() || count < 0)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  CUdeviceptr &dev = s.randoms[seed];
  if (!dev) {
    std::vector<int32_t> words(static_cast<size_t>(count));
    uint64_t x = static_cast<uint64_t>(seed);
    for (int32_t &w : words) {
      uint64_t z = (x += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = static_cast<int32_t>(static_cast<uint32_t>(z ^ (z >> 31)));
    }
    size_t bytes = words.size() * sizeof(int32_t);
    if (!check(s.driver.cuMemAlloc(&dev, bytes ? bytes : 1), "cuMemAlloc")) {
      s.randoms.erase(seed);
      return;
    }
    if (bytes && (!check(s.driver.cuMemcpyAsync(dev, devicePtr(words.data()),
                                                bytes, nullptr),
                         "cuMemcpyAsync (benchmark weights)") ||
                  !check(s.driver.cuStreamSynchronize(nullptr),
                         "cuStreamSynchronize (benchmark weights)"))) {
      s.driver.cuMemFree(dev);
      s.randoms.erase(seed);
      return;
    }
  }
  int32_t *p = reinterpret_cast<int32_t *>(static_cast<uintptr_t>(dev));
  *result = Memref1D<int32_t>{p, p, 0, count, 1};
}

/// The profile lines: per kernel, its calls, total and median time.
std::string formatProfile(const State &s) {
  std::string text;
  for (auto &[name, p] : s.profiles) {
    std::vector<double> sorted = p.each;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.empty() ? 0 : sorted[sorted.size() / 2];
    char line[512];
    std::snprintf(line, sizeof(line),
                  "qopt-cuda-profile: %s calls %ld ms %.6f median_ms %.6f "
                  "clock %s\n",
                  name.c_str(), p.calls, p.ms, median,
                  s.driver.cuEventElapsedTime ? "device" : "host");
    text += line;
  }
  return text;
}

__attribute__((destructor)) void releaseConstants() {
  State &s = state();
  if (!s.initialized)
    return;
  std::fputs(formatProfile(s).c_str(), stderr);
  for (auto &[key, dev] : s.constants)
    s.driver.cuMemFree(dev);
  s.constants.clear();
  for (auto &[seed, dev] : s.randoms)
    s.driver.cuMemFree(dev);
  s.randoms.clear();
}
} // namespace

#define QOPT_DEVICE_CONSTANT(suffix, T)                                        \
  QOPT_MGPU void _mlir_ciface_qopt_gpu_constant_##suffix(Memref1D<T> *result,  \
                                                         Memref1D<T> *host) {  \
    deviceConstant(result, host);                                              \
  }
QOPT_DEVICE_CONSTANT(i32, int32_t)
QOPT_DEVICE_CONSTANT(i8, int8_t)
QOPT_DEVICE_CONSTANT(f32, float)
QOPT_DEVICE_CONSTANT(f16, uint16_t)
#undef QOPT_DEVICE_CONSTANT

QOPT_MGPU void _mlir_ciface_qopt_gpu_random_i32(Memref1D<int32_t> *result,
                                                int64_t count, int64_t seed) {
  deviceRandom(result, count, seed);
}
