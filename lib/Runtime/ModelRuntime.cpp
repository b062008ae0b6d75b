//===- ModelRuntime.cpp - the C API inside every qcc-built library --------===//
//
// Linked (as a static archive) into each model.so. The generated object
// provides two symbols:
//   qopt_model_signature_text  tab-separated lines describing inputs/outputs
//   qopt_model_entry(void **)  args[0] -> the results' memref descriptors,
//                              args[1 + i] -> input i's memref descriptor
// A ranked memref descriptor is {T *allocated, T *aligned, int64 offset,
// int64 sizes[rank], int64 strides[rank]}, all 8-byte fields.
// A library compiled with --gpu-arch also defines
//   qopt_model_entry_gpu(void **)  the same function, its quantized matmuls
//                                  on the GPU (CudaRuntime.cpp),
// which qopt_model_open selects when QOPT_DEVICE allows and a device works.
//
// This file depends on libc and the C++ runtime only.
//
//===----------------------------------------------------------------------===//

#include "qopt/Runtime/qopt_model.h"

#include "BufferCache.h"
#include "CudaRuntime.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

extern "C" {
extern const char qopt_model_signature_text[];
void qopt_model_entry(void **args);
// Defined only in libraries compiled with GPU code.
__attribute__((weak)) void qopt_model_entry_gpu(void **args);
}

namespace {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<std::string> dimNames;
  std::vector<const char *> dimNamePtrs;
  qopt_tensor_info info;
};

struct Signature {
  std::vector<TensorSpec> inputs, outputs;
  bool valid = false;
};

std::string percentDecode(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      out.push_back(static_cast<char>(std::strtol(hex, nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    parts.push_back(s.substr(start, end - start));
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return parts;
}

Signature parseSignature() {
  Signature sig;
  std::vector<std::string> lines = split(qopt_model_signature_text, '\n');
  if (lines.empty() || lines[0] != "qopt-signature\t1")
    return sig;
  for (size_t l = 1; l < lines.size(); ++l) {
    if (lines[l].empty())
      continue;
    std::vector<std::string> f = split(lines[l], '\t');
    if (f.size() != 6 || (f[0] != "input" && f[0] != "output"))
      return sig;
    TensorSpec spec;
    spec.name = percentDecode(f[1]);
    int32_t rank = std::atoi(f[3].c_str());
    if (rank < 0 || rank > QOPT_MAX_RANK)
      return sig;
    if (rank > 0) {
      for (const std::string &d : split(f[4], ','))
        spec.shape.push_back(std::strtoll(d.c_str(), nullptr, 10));
      for (const std::string &n : split(f[5], ','))
        spec.dimNames.push_back(percentDecode(n));
    }
    if (static_cast<int32_t>(spec.shape.size()) != rank ||
        static_cast<int32_t>(spec.dimNames.size()) != rank)
      return sig;
    spec.info.dtype = static_cast<qopt_dtype>(std::atoi(f[2].c_str()));
    spec.info.rank = rank;
    (f[0] == "input" ? sig.inputs : sig.outputs).push_back(std::move(spec));
  }
  // Pointers into the vectors, now that they no longer move.
  for (auto *list : {&sig.inputs, &sig.outputs})
    for (TensorSpec &spec : *list) {
      for (const std::string &n : spec.dimNames)
        spec.dimNamePtrs.push_back(n.c_str());
      spec.info.name = spec.name.c_str();
      spec.info.shape = spec.shape.data();
      spec.info.dim_names = spec.dimNamePtrs.data();
    }
  sig.valid = !sig.outputs.empty();
  return sig;
}

const Signature &signature() {
  static const Signature sig = parseSignature();
  return sig;
}

size_t descriptorWords(int32_t rank) { return 3 + 2 * static_cast<size_t>(rank); }

} // namespace

struct qopt_model {
  std::string lastError;
  std::string profile; // qopt_model_profile's text
  bool onGpu = false;
  /// Set when QOPT_DEVICE=cuda cannot be honoured: every run fails with it.
  std::string deviceError;
  std::string deviceInfo;
};

/// QOPT_DEVICE=auto|cuda|cpu: the GPU entry when the library has one and a
/// device works; otherwise the CPU, with the reason in deviceInfo.
static void selectDevice(qopt_model &m) {
  const char *env = std::getenv("QOPT_DEVICE");
  std::string want = env && *env ? env : "auto";
  if (want != "auto" && want != "cuda" && want != "cpu") {
    m.deviceError = "QOPT_DEVICE must be auto, cuda or cpu, not '" + want + "'";
    m.deviceInfo = m.deviceError;
    return;
  }
  if (want == "cpu") {
    m.deviceInfo = "QOPT_DEVICE=cpu";
    return;
  }
  std::string why;
  if (!qopt_model_entry_gpu)
    why = "the library has no GPU code (compile with qcc --gpu-arch)";
  else if (qopt::cuda::initialize(why))
    m.onGpu = true;
  if (m.onGpu) {
    m.deviceInfo = qopt::cuda::deviceName();
    return;
  }
  m.deviceInfo = why;
  if (want == "cuda")
    m.deviceError = "QOPT_DEVICE=cuda: " + why;
}

static qopt_status fail(qopt_model *model, qopt_status status, const char *fmt,
                        ...) {
  char buffer[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof(buffer), fmt, args);
  va_end(args);
  if (model)
    model->lastError = buffer;
  return status;
}

extern "C" {

size_t qopt_dtype_size(qopt_dtype dtype) {
  switch (dtype) {
  case QOPT_UINT8:
  case QOPT_INT8:
  case QOPT_BOOL:
  case QOPT_UINT4:
  case QOPT_INT4:
    return 1;
  case QOPT_UINT16:
  case QOPT_INT16:
  case QOPT_FLOAT16:
  case QOPT_BFLOAT16:
    return 2;
  case QOPT_FLOAT32:
  case QOPT_INT32:
  case QOPT_UINT32:
    return 4;
  case QOPT_INT64:
  case QOPT_UINT64:
  case QOPT_FLOAT64:
    return 8;
  }
  return 0;
}

const char *qopt_dtype_name(qopt_dtype dtype) {
  switch (dtype) {
  case QOPT_FLOAT32: return "float32";
  case QOPT_UINT8: return "uint8";
  case QOPT_INT8: return "int8";
  case QOPT_UINT16: return "uint16";
  case QOPT_INT16: return "int16";
  case QOPT_INT32: return "int32";
  case QOPT_INT64: return "int64";
  case QOPT_BOOL: return "bool";
  case QOPT_FLOAT16: return "float16";
  case QOPT_FLOAT64: return "float64";
  case QOPT_UINT32: return "uint32";
  case QOPT_UINT64: return "uint64";
  case QOPT_BFLOAT16: return "bfloat16";
  case QOPT_UINT4: return "uint4";
  case QOPT_INT4: return "int4";
  }
  return "unknown";
}

const char *qopt_status_string(qopt_status status) {
  switch (status) {
  case QOPT_OK: return "ok";
  case QOPT_ERROR_INVALID_ARGUMENT: return "invalid argument";
  case QOPT_ERROR_DTYPE: return "wrong element type";
  case QOPT_ERROR_SHAPE: return "wrong shape";
  case QOPT_ERROR_OUT_OF_MEMORY: return "out of memory";
  case QOPT_ERROR_INTERNAL: return "internal error";
  case QOPT_ERROR_DEVICE:
    return "device error";
  }
  return "unknown status";
}

qopt_status qopt_model_open(qopt_model **model) {
  if (!model)
    return QOPT_ERROR_INVALID_ARGUMENT;
  *model = nullptr;
  if (!signature().valid)
    return QOPT_ERROR_INTERNAL;
  qopt_model *m = new (std::nothrow) qopt_model();
  if (!m)
    return QOPT_ERROR_OUT_OF_MEMORY;
  selectDevice(*m);
  qopt::runtime::modelOpened();
  *model = m;
  return QOPT_OK;
}

const char *qopt_model_device(const qopt_model *model) {
  return model && model->onGpu ? "cuda" : "cpu";
}

const char *qopt_model_device_info(const qopt_model *model) {
  return model ? model->deviceInfo.c_str() : "";
}

const char *qopt_model_profile(qopt_model *model, int32_t reset) {
  if (!model)
    return "";
  model->profile =
      model->onGpu ? qopt::cuda::profileReport(reset != 0) : std::string();
  return model->profile.c_str();
}

void qopt_model_close(qopt_model *model) {
  if (!model)
    return;
  delete model;
  qopt::runtime::modelClosed();
}

int32_t qopt_model_num_inputs(const qopt_model *) {
  return static_cast<int32_t>(signature().inputs.size());
}

int32_t qopt_model_num_outputs(const qopt_model *) {
  return static_cast<int32_t>(signature().outputs.size());
}

const qopt_tensor_info *qopt_model_input(const qopt_model *, int32_t index) {
  const auto &inputs = signature().inputs;
  if (index < 0 || index >= static_cast<int32_t>(inputs.size()))
    return nullptr;
  return &inputs[index].info;
}

const qopt_tensor_info *qopt_model_output(const qopt_model *, int32_t index) {
  const auto &outputs = signature().outputs;
  if (index < 0 || index >= static_cast<int32_t>(outputs.size()))
    return nullptr;
  return &outputs[index].info;
}

const char *qopt_model_last_error(const qopt_model *model) {
  return model ? model->lastError.c_str() : "no model";
}

void qopt_tensor_free(qopt_tensor *tensor) {
  if (!tensor)
    return;
  qopt::runtime::releaseBuffer(tensor->owner);
  tensor->owner = nullptr;
  tensor->data = nullptr;
}

qopt_status qopt_model_run(qopt_model *model, const qopt_tensor *inputs,
                           int32_t numInputs, qopt_tensor *outputs,
                           int32_t numOutputs) {
  if (!model)
    return QOPT_ERROR_INVALID_ARGUMENT;
  model->lastError.clear();
  const Signature &sig = signature();
  int32_t wantIn = static_cast<int32_t>(sig.inputs.size());
  int32_t wantOut = static_cast<int32_t>(sig.outputs.size());
  if (numInputs != wantIn)
    return fail(model, QOPT_ERROR_INVALID_ARGUMENT,
                "the model takes %d inputs, %d given", wantIn, numInputs);
  if (numOutputs != wantOut)
    return fail(model, QOPT_ERROR_INVALID_ARGUMENT,
                "the model produces %d outputs, room for %d given", wantOut,
                numOutputs);
  if ((wantIn && !inputs) || !outputs)
    return fail(model, QOPT_ERROR_INVALID_ARGUMENT,
                "null inputs or outputs array");
  if (!model->deviceError.empty())
    return fail(model, QOPT_ERROR_DEVICE, "%s", model->deviceError.c_str());

  // Check every input before running anything.
  std::vector<std::pair<std::string, int64_t>> named; // symbolic dim sizes
  for (int32_t i = 0; i < wantIn; ++i) {
    const TensorSpec &spec = sig.inputs[i];
    const qopt_tensor &t = inputs[i];
    if (t.dtype != spec.info.dtype)
      return fail(model, QOPT_ERROR_DTYPE,
                  "input %d '%s' must be %s, got %s", i, spec.name.c_str(),
                  qopt_dtype_name(spec.info.dtype), qopt_dtype_name(t.dtype));
    if (t.rank != spec.info.rank)
      return fail(model, QOPT_ERROR_SHAPE,
                  "input %d '%s' must have rank %d, got %d", i,
                  spec.name.c_str(), spec.info.rank, t.rank);
    size_t count = 1;
    for (int32_t d = 0; d < t.rank; ++d) {
      int64_t size = t.shape[d];
      if (size < 0)
        return fail(model, QOPT_ERROR_SHAPE,
                    "input %d '%s' has negative size %lld in dimension %d", i,
                    spec.name.c_str(), static_cast<long long>(size), d);
      if (spec.shape[d] >= 0 && spec.shape[d] != size)
        return fail(model, QOPT_ERROR_SHAPE,
                    "input %d '%s' must have size %lld in dimension %d, got "
                    "%lld",
                    i, spec.name.c_str(),
                    static_cast<long long>(spec.shape[d]), d,
                    static_cast<long long>(size));
      const std::string &dimName = spec.dimNames[d];
      if (spec.shape[d] < 0 && !dimName.empty()) {
        for (const auto &entry : named)
          if (entry.first == dimName && entry.second != size)
            return fail(model, QOPT_ERROR_SHAPE,
                        "input %d '%s' has %s = %lld in dimension %d, but "
                        "another input has %s = %lld",
                        i, spec.name.c_str(), dimName.c_str(),
                        static_cast<long long>(size), d, dimName.c_str(),
                        static_cast<long long>(entry.second));
        named.emplace_back(dimName, size);
      }
      count *= static_cast<size_t>(size);
    }
    if (!t.data && count)
      return fail(model, QOPT_ERROR_INVALID_ARGUMENT,
                  "input %d '%s' has no data", i, spec.name.c_str());
  }

  // Memref descriptors: inputs (row-major, offset 0) and room for results.
  std::vector<std::vector<int64_t>> inDescs(wantIn);
  std::vector<void *> args(1 + wantIn);
  for (int32_t i = 0; i < wantIn; ++i) {
    const qopt_tensor &t = inputs[i];
    std::vector<int64_t> &desc = inDescs[i];
    desc.assign(descriptorWords(t.rank), 0);
    std::memcpy(&desc[0], &t.data, sizeof(void *));
    std::memcpy(&desc[1], &t.data, sizeof(void *));
    int64_t stride = 1;
    for (int32_t d = t.rank - 1; d >= 0; --d) {
      desc[3 + d] = t.shape[d];
      desc[3 + t.rank + d] = stride;
      stride *= t.shape[d];
    }
    args[1 + i] = desc.data();
  }
  size_t resultWords = 0;
  for (const TensorSpec &spec : sig.outputs)
    resultWords += descriptorWords(spec.info.rank);
  std::vector<int64_t> results(resultWords, 0);
  args[0] = results.data();

  if (model->onGpu) {
    qopt::cuda::makeCurrent();
    qopt_model_entry_gpu(args.data());
    std::string gpuError;
    if (qopt::cuda::takeError(gpuError)) {
      // Results of a failed run are not returned; free what it allocated.
      size_t offset = 0;
      for (const TensorSpec &spec : sig.outputs) {
        void *allocated;
        std::memcpy(&allocated, &results[offset], sizeof(void *));
        qopt::runtime::releaseBuffer(allocated);
        offset += descriptorWords(spec.info.rank);
      }
      return fail(model, QOPT_ERROR_DEVICE, "GPU: %s", gpuError.c_str());
    }
  } else {
    qopt_model_entry(args.data());
  }

  size_t offset = 0;
  for (int32_t o = 0; o < wantOut; ++o) {
    const TensorSpec &spec = sig.outputs[o];
    int32_t rank = spec.info.rank;
    const int64_t *desc = &results[offset];
    offset += descriptorWords(rank);
    char *allocated, *aligned;
    std::memcpy(&allocated, &desc[0], sizeof(void *));
    std::memcpy(&aligned, &desc[1], sizeof(void *));
    qopt_tensor &out = outputs[o];
    out.dtype = spec.info.dtype;
    out.rank = rank;
    std::memset(out.shape, 0, sizeof(out.shape));
    size_t elem = qopt_dtype_size(spec.info.dtype);
    int64_t expectStride = 1;
    bool contiguous = true;
    for (int32_t d = rank - 1; d >= 0; --d) {
      out.shape[d] = desc[3 + d];
      if (desc[3 + d] != 1 && desc[3 + rank + d] != expectStride)
        contiguous = false;
      expectStride *= desc[3 + d];
    }
    out.owner = allocated;
    out.data = aligned + desc[2] * static_cast<int64_t>(elem);
    // Two outputs may be the same buffer (the graph returns one value
    // twice): give each its own so each can be freed.
    bool shared = false;
    for (int32_t p = 0; p < o; ++p)
      shared |= outputs[p].owner == allocated && allocated;
    if (shared) {
      size_t bytes = static_cast<size_t>(expectStride) * elem;
      char *copy = static_cast<char *>(std::malloc(bytes + 1));
      if (!copy)
        return fail(model, QOPT_ERROR_OUT_OF_MEMORY, "out of memory");
      if (contiguous && bytes)
        std::memcpy(copy, out.data, bytes);
      out.owner = copy;
      if (contiguous)
        out.data = copy;
      allocated = nullptr; // not ours to free below
    }
    if (!contiguous) {
      // Generated code returns identity layouts; keep the API's promise of
      // dense row-major data regardless.
      size_t count = static_cast<size_t>(expectStride);
      char *dense = static_cast<char *>(std::malloc(count * elem + 1));
      if (!dense)
        return fail(model, QOPT_ERROR_OUT_OF_MEMORY, "out of memory");
      std::vector<int64_t> index(rank, 0);
      for (size_t n = 0; n < count; ++n) {
        int64_t src = 0;
        for (int32_t d = 0; d < rank; ++d)
          src += index[d] * desc[3 + rank + d];
        std::memcpy(dense + n * elem,
                    static_cast<char *>(out.data) + src * elem, elem);
        for (int32_t d = rank - 1; d >= 0; --d) {
          if (++index[d] < out.shape[d])
            break;
          index[d] = 0;
        }
      }
      if (!shared)
        qopt::runtime::releaseBuffer(allocated);
      else
        std::free(out.owner);
      out.owner = dense;
      out.data = dense;
    }
  }
  return QOPT_OK;
}

} // extern "C"
