/*===- mock_cuda.c - a CUDA driver stand-in for testing model.so's GPU path
-===*\
 *
 * Loaded by model.so through QOPT_CUDA_LIBRARY in place of libcuda.so.1, on
 * machines without a GPU. It implements the driver calls qopt's runtime makes
 * on host memory: allocations are malloc'd, copies are memcpy, kernels are
 * not run. Every call is logged (one line each) to $QOPT_MOCK_CUDA_LOG, so a
 * test can check the protocol of the generated host code: the kernel image
 * loaded is a fatbin or PTX, the kernels launched, the bytes copied, and that
 * every device buffer is freed. $QOPT_MOCK_CUDA_FAIL names a call that
 * fails (CUDA_ERROR_LAUNCH_FAILED, 719) to test error reporting.
 *
 * The outputs of a run under the mock are not the model's results.
\*===----------------------------------------------------------------------===*/

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

static FILE *logFile(void) {
  static FILE *f;
  if (!f) {
    const char *path = getenv("QOPT_MOCK_CUDA_LOG");
    f = path ? fopen(path, "a") : stderr;
    if (!f)
      f = stderr;
  }
  return f;
}

static void logLine(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vfprintf(logFile(), fmt, args);
  va_end(args);
  fputc('\n', logFile());
  fflush(logFile());
}

static int failing(const char *call) {
  const char *which = getenv("QOPT_MOCK_CUDA_FAIL");
  return which && strcmp(which, call) == 0;
}

#define FAIL_IF_ASKED(call)                                                    \
  if (failing(call)) {                                                         \
    logLine("%s -> 719", call);                                                \
    return 719;                                                                \
  }

CUresult cuInit(unsigned flags) {
  FAIL_IF_ASKED("cuInit");
  logLine("cuInit");
  return 0;
}
CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return 0;
}
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return 0;
}
CUresult cuDeviceGetName(char *name, int len, int device) {
  snprintf(name, len, "qopt mock device");
  return 0;
}
CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  *value = attribute == 75 ? 9 : 0; /* compute capability 9.0 */
  return 0;
}
CUresult cuDriverGetVersion(int *version) {
  *version = 13000;
  return 0;
}
CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) {
  static int context;
  *ctx = &context;
  return 0;
}
CUresult cuCtxSetCurrent(void *ctx) { return 0; }

/* The kernel image: a fatbin (magic 0xBA55ED50) or PTX text. */
CUresult cuModuleLoadData(void **module, const void *image) {
  FAIL_IF_ASKED("cuModuleLoadData");
  uint32_t magic;
  memcpy(&magic, image, 4);
  const char *kind = magic == 0xBA55ED50u                     ? "fatbin"
                     : strstr((const char *)image, ".target") ? "ptx"
                                                              : "unknown";
  logLine("cuModuleLoadData %s", kind);
  *module = malloc(1);
  return 0;
}
CUresult cuModuleUnload(void *module) {
  logLine("cuModuleUnload");
  free(module);
  return 0;
}
CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  logLine("cuModuleGetFunction %s", name);
  *function = strdup(name);
  return 0;
}
CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned smem,
                        void *stream, void **params, void **extra) {
  FAIL_IF_ASKED("cuLaunchKernel");
  logLine("cuLaunchKernel %s grid %u %u %u block %u %u %u", (char *)function,
          gx, gy, gz, bx, by, bz);
  return 0;
}
CUresult cuStreamCreate(void **stream, unsigned flags) {
  static int s;
  *stream = &s;
  logLine("cuStreamCreate");
  return 0;
}
CUresult cuStreamDestroy_v2(void *stream) {
  logLine("cuStreamDestroy");
  return 0;
}
CUresult cuStreamSynchronize(void *stream) {
  FAIL_IF_ASKED("cuStreamSynchronize");
  logLine("cuStreamSynchronize");
  return 0;
}
CUresult cuStreamWaitEvent(void *stream, void *event, unsigned flags) {
  return 0;
}
CUresult cuEventCreate(void **event, unsigned flags) {
  static int e;
  *event = &e;
  return 0;
}
CUresult cuEventDestroy_v2(void *event) { return 0; }
CUresult cuEventSynchronize(void *event) { return 0; }
CUresult cuEventRecord(void *event, void *stream) { return 0; }

CUresult cuMemAlloc_v2(CUdeviceptr *ptr, size_t bytes) {
  FAIL_IF_ASKED("cuMemAlloc");
  void *p = calloc(1, bytes);
  *ptr = (CUdeviceptr)(uintptr_t)p;
  logLine("cuMemAlloc %zu %p", bytes, p);
  return 0;
}
CUresult cuMemAllocManaged(CUdeviceptr *ptr, size_t bytes, unsigned flags) {
  return cuMemAlloc_v2(ptr, bytes);
}
CUresult cuMemFree_v2(CUdeviceptr ptr) {
  logLine("cuMemFree %p", (void *)(uintptr_t)ptr);
  free((void *)(uintptr_t)ptr);
  return 0;
}
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       void *stream) {
  FAIL_IF_ASKED("cuMemcpyAsync");
  logLine("cuMemcpyAsync %zu", bytes);
  memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes);
  return 0;
}
CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count,
                          void *stream) {
  return 0;
}
CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count,
                          void *stream) {
  return 0;
}
CUresult cuGetErrorName(CUresult error, const char **name) {
  *name = error == 719 ? "CUDA_ERROR_LAUNCH_FAILED" : "CUDA_ERROR_UNKNOWN";
  return 0;
}
CUresult cuGetErrorString(CUresult error, const char **text) {
  *text = "mock failure";
  return 0;
}
