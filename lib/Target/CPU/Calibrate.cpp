//===- Calibrate.cpp - run a model on calibration data --------------------===//

#include "qopt/Target/CPU/Calibrate.h"

#include "qopt/Quant/Npz.h"
#include "qopt/Runtime/qopt_model.h"
#include "qopt/Transforms/Quant/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

using namespace mlir;
using namespace qopt;

static llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<std::vector<std::string>>
qopt::listCalibrationFiles(llvm::StringRef path) {
  if (!llvm::sys::fs::exists(path))
    return error("calibration data '" + path + "' does not exist");
  if (!llvm::sys::fs::is_directory(path))
    return std::vector<std::string>{path.str()};
  std::vector<std::string> files;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".npz")
      files.push_back(it->path());
  if (ec)
    return error("cannot list calibration folder '" + path +
                 "': " + ec.message());
  if (files.empty())
    return error("calibration folder '" + path + "' has no .npz files");
  llvm::sort(files);
  return files;
}

LogicalResult qopt::buildSharedLibrary(ModuleOp module,
                                       llvm::StringRef functionName,
                                       const CpuPipelineOptions &pipeline,
                                       const CodegenOptions &codegen,
                                       llvm::StringRef outputPath,
                                       std::string &error) {
  FailureOr<ModelSignature> signature =
      prepareEntryFunction(module, functionName);
  if (failed(signature)) {
    error = "cannot prepare the model's entry function";
    return failure();
  }
  for (const std::string &stage :
       {qoptLoweringPipeline(pipeline), linalgOptimizationPipeline(pipeline),
        bufferizationPipeline(), llvmLoweringPipeline()}) {
    PassManager pm(module.getContext());
    if (failed(addPipeline(pm, stage, error)) || failed(pm.run(module))) {
      if (error.empty())
        error = "lowering failed";
      return failure();
    }
  }
  llvm::SmallVector<char> object;
  if (failed(emitObject(module, *signature, codegen, object, nullptr, error)))
    return failure();
  llvm::SmallString<256> objPath;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("qopt-model", "o", fd, objPath)) {
    error = "cannot create a temporary file";
    return failure();
  }
  llvm::FileRemover remover(objPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(object.data(), object.size());
  }
  return linkSharedLibrary({std::string(objPath)}, outputPath, error,
                           /*verbose=*/false);
}

namespace {
/// A model.so opened with dlopen, through its C API.
class LoadedModel {
public:
  static llvm::Expected<std::unique_ptr<LoadedModel>>
  open(llvm::StringRef path) {
    auto m = std::make_unique<LoadedModel>();
    m->handle = dlopen(path.str().c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!m->handle)
      return error("cannot load the calibration model: " +
                   llvm::Twine(dlerror()));
#define QOPT_LOOKUP(name)                                                      \
  m->name = reinterpret_cast<decltype(&::name)>(dlsym(m->handle, #name));      \
  if (!m->name)                                                                \
    return error("the calibration model lacks " #name);
    QOPT_LOOKUP(qopt_model_open)
    QOPT_LOOKUP(qopt_model_close)
    QOPT_LOOKUP(qopt_model_num_inputs)
    QOPT_LOOKUP(qopt_model_num_outputs)
    QOPT_LOOKUP(qopt_model_input)
    QOPT_LOOKUP(qopt_model_output)
    QOPT_LOOKUP(qopt_model_run)
    QOPT_LOOKUP(qopt_model_last_error)
    QOPT_LOOKUP(qopt_tensor_free)
    QOPT_LOOKUP(qopt_dtype_name)
#undef QOPT_LOOKUP
    if (m->qopt_model_open(&m->model) != QOPT_OK)
      return error("cannot open the calibration model");
    return m;
  }
  ~LoadedModel() {
    if (model)
      qopt_model_close(model);
    if (handle)
      dlclose(handle);
  }

  void *handle = nullptr;
  qopt_model *model = nullptr;
  decltype(&::qopt_model_open) qopt_model_open = nullptr;
  decltype(&::qopt_model_close) qopt_model_close = nullptr;
  decltype(&::qopt_model_num_inputs) qopt_model_num_inputs = nullptr;
  decltype(&::qopt_model_num_outputs) qopt_model_num_outputs = nullptr;
  decltype(&::qopt_model_input) qopt_model_input = nullptr;
  decltype(&::qopt_model_output) qopt_model_output = nullptr;
  decltype(&::qopt_model_run) qopt_model_run = nullptr;
  decltype(&::qopt_model_last_error) qopt_model_last_error = nullptr;
  decltype(&::qopt_tensor_free) qopt_tensor_free = nullptr;
  decltype(&::qopt_dtype_name) qopt_dtype_name = nullptr;
};

/// The C API's dtype of an array, if it has one.
std::optional<qopt_dtype> apiDtype(npz::DType t) {
  switch (t) {
  case npz::DType::F32:
    return QOPT_FLOAT32;
  case npz::DType::F16:
    return QOPT_FLOAT16;
  case npz::DType::F64:
    return QOPT_FLOAT64;
  case npz::DType::I8:
    return QOPT_INT8;
  case npz::DType::I16:
    return QOPT_INT16;
  case npz::DType::I32:
    return QOPT_INT32;
  case npz::DType::I64:
    return QOPT_INT64;
  case npz::DType::U8:
    return QOPT_UINT8;
  case npz::DType::U16:
    return QOPT_UINT16;
  case npz::DType::U32:
    return QOPT_UINT32;
  case npz::DType::U64:
    return QOPT_UINT64;
  case npz::DType::Bool:
    return QOPT_BOOL;
  }
  return std::nullopt;
}

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + (d < 0 ? std::string("?") : std::to_string(d));
  return s + "]";
}

/// Checks a batch against the model's inputs and orders its arrays like
/// them.
llvm::Expected<std::vector<const npz::Array *>>
matchInputs(LoadedModel &m, llvm::StringRef file,
            const std::vector<npz::NamedArray> &arrays) {
  int32_t count = m.qopt_model_num_inputs(m.model);
  std::vector<const npz::Array *> ordered;
  std::string names;
  for (int32_t i = 0; i < count; ++i)
    names +=
        (i ? ", " : "") + std::string(m.qopt_model_input(m.model, i)->name);
  for (const npz::NamedArray &a : arrays) {
    bool known = false;
    for (int32_t i = 0; i < count; ++i)
      known |= a.name == m.qopt_model_input(m.model, i)->name;
    if (!known)
      return error("calibration file '" + file + "' has an array '" + a.name +
                   "' that is not a model input (inputs: " + names + ")");
  }
  for (int32_t i = 0; i < count; ++i) {
    const qopt_tensor_info *info = m.qopt_model_input(m.model, i);
    auto it = llvm::find_if(
        arrays, [&](const npz::NamedArray &a) { return a.name == info->name; });
    if (it == arrays.end())
      return error("calibration file '" + file + "' lacks model input '" +
                   info->name + "' (inputs: " + names + ")");
    const npz::Array &a = it->array;
    std::optional<qopt_dtype> dtype = apiDtype(a.dtype);
    if (!dtype || *dtype != info->dtype)
      return error("calibration file '" + file + "': input '" + info->name +
                   "' is " + npz::dtypeName(a.dtype) + ", the model wants " +
                   m.qopt_dtype_name(info->dtype));
    llvm::ArrayRef<int64_t> want(info->shape, info->rank);
    bool ok = static_cast<int64_t>(a.shape.size()) == info->rank;
    for (int32_t d = 0; ok && d < info->rank; ++d)
      ok = want[d] < 0 || want[d] == a.shape[d];
    if (!ok)
      return error("calibration file '" + file + "': input '" + info->name +
                   "' has shape " + shapeString(a.shape) +
                   ", the model wants " + shapeString(want));
    ordered.push_back(&a);
  }
  return ordered;
}
} // namespace

/// Runs the model on the named arrays of `file` (checked against its inputs);
/// the caller frees the outputs. `what` names the file in errors.
static llvm::Expected<std::vector<qopt_tensor>>
runOnFile(LoadedModel &m, const std::string &file, llvm::StringRef what) {
  auto arrays = npz::readArrays(file);
  if (!arrays)
    return arrays.takeError();
  auto inputs = matchInputs(m, file, *arrays);
  if (!inputs)
    return inputs.takeError();
  std::vector<qopt_tensor> in(inputs->size());
  for (auto [t, a] : llvm::zip(in, *inputs)) {
    t.dtype = *apiDtype(a->dtype);
    t.rank = static_cast<int32_t>(a->shape.size());
    for (auto [d, size] : llvm::enumerate(a->shape))
      t.shape[d] = size;
    t.data = const_cast<char *>(a->data.data());
    t.owner = nullptr;
  }
  int32_t numOutputs = m.qopt_model_num_outputs(m.model);
  std::vector<qopt_tensor> out(numOutputs);
  if (m.qopt_model_run(m.model, in.data(), static_cast<int32_t>(in.size()),
                       out.data(), numOutputs) != QOPT_OK)
    return error(what + " '" + file +
                 "': the model failed: " + m.qopt_model_last_error(m.model));
  return out;
}

llvm::Expected<quant::CalibrationStats>
qopt::calibrateModel(ModuleOp module, llvm::ArrayRef<std::string> files,
                     const CalibrateOptions &options) {
  OwningOpRef<ModuleOp> clone(module.clone());
  {
    PassManager pm(module.getContext());
    InstrumentCalibrationOptions instrument;
    instrument.function = options.functionName;
    pm.addPass(createInstrumentCalibration(instrument));
    if (failed(pm.run(*clone)))
      return error("cannot instrument the model for calibration");
  }
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("qopt-calibration", dir))
    return error("cannot create a temporary folder: " + ec.message());
  llvm::scope_exit removeDir([&] { llvm::sys::fs::remove_directories(dir); });
  llvm::SmallString<128> soPath(dir);
  llvm::sys::path::append(soPath, "calibration.so");
  std::string buildError;
  if (failed(buildSharedLibrary(*clone, options.functionName, options.pipeline,
                                options.codegen, soPath, buildError)))
    return error("cannot build the calibration model: " + buildError);
  auto loaded = LoadedModel::open(soPath);
  if (!loaded)
    return loaded.takeError();
  LoadedModel &m = **loaded;

  int32_t numOutputs = m.qopt_model_num_outputs(m.model);
  quant::CalibrationStats stats;
  int64_t batches = 0;
  for (const std::string &file : files) {
    auto run = runOnFile(m, file, "calibration file");
    if (!run)
      return run.takeError();
    std::vector<qopt_tensor> &out = *run;
    for (int32_t o = 0; o < numOutputs; ++o) {
      llvm::StringRef name = m.qopt_model_output(m.model, o)->name;
      if (name.consume_front("qopt.calib:")) {
        const qopt_tensor &t = out[o];
        int64_t k = t.shape[t.rank - 1];
        int64_t rows = k ? t.shape[0] : 0;
        for (int32_t d = 1; d + 1 < t.rank; ++d)
          rows *= t.shape[d];
        stats.layer(name, k, options.statistics)
            .accumulate(static_cast<const float *>(t.data), rows);
      }
      m.qopt_tensor_free(&out[o]);
    }
    ++batches;
    if (options.verbose)
      llvm::errs() << "qcc:   calibration batch " << batches << "/"
                   << files.size() << ": " << file << "\n";
  }
  return stats;
}

llvm::Expected<std::vector<std::vector<OutputTensor>>>
qopt::runModelOnBatches(llvm::StringRef soPath,
                        llvm::ArrayRef<std::string> files) {
  auto loaded = LoadedModel::open(soPath);
  if (!loaded)
    return loaded.takeError();
  LoadedModel &m = **loaded;
  int32_t numOutputs = m.qopt_model_num_outputs(m.model);
  std::vector<std::vector<OutputTensor>> results;
  for (const std::string &file : files) {
    auto run = runOnFile(m, file, "input file");
    if (!run)
      return run.takeError();
    std::vector<qopt_tensor> &out = *run;
    std::vector<OutputTensor> batch;
    for (int32_t o = 0; o < numOutputs; ++o) {
      const qopt_tensor &t = out[o];
      if (t.dtype == QOPT_FLOAT32) {
        OutputTensor r;
        r.name = m.qopt_model_output(m.model, o)->name;
        int64_t count = 1;
        for (int32_t d = 0; d < t.rank; ++d) {
          r.shape.push_back(t.shape[d]);
          count *= t.shape[d];
        }
        const float *data = static_cast<const float *>(t.data);
        r.values.assign(data, data + count);
        batch.push_back(std::move(r));
      }
      m.qopt_tensor_free(&out[o]);
    }
    results.push_back(std::move(batch));
  }
  return results;
}
