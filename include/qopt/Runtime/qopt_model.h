/*===- qopt_model.h - C API of libraries compiled by qcc -------*- C -*-===*\
 *
 * `qcc model.onnx -o model.so` produces a shared library exporting this
 * API. The model's weights are inside the library; one library holds one
 * model. Typical use:
 *
 *   qopt_model *m;
 *   if (qopt_model_open(&m) != QOPT_OK) ...
 *   qopt_tensor in = {QOPT_FLOAT32, 2, {1, 128}, data, NULL};
 *   qopt_tensor out[1];
 *   if (qopt_model_run(m, &in, 1, out, 1) != QOPT_OK)
 *     fprintf(stderr, "%s\n", qopt_model_last_error(m));
 *   ... use out[0].data ...
 *   qopt_tensor_free(&out[0]);
 *   qopt_model_close(m);
 *
 * Inputs and outputs are passed in the order qopt_model_input() and
 * qopt_model_output() list them (the ONNX graph's order). Tensors are dense
 * and row-major. A model may be run from several threads, each with its own
 * qopt_model.
 *
 * Devices: a library compiled with `qcc --gpu-arch smXX` also holds GPU
 * code for its quantized matmuls (bit-plane tensor-core kernels) and runs it
 * when the environment variable QOPT_DEVICE is `auto` (the default) or
 * `cuda` and a CUDA driver and a device of compute capability 8.0 or later
 * are present (the driver is loaded with dlopen: libcuda.so.1, or
 * $QOPT_CUDA_LIBRARY; device $QOPT_CUDA_DEVICE, default 0). `auto` falls
 * back to the CPU otherwise, `cuda` makes every run fail with the reason,
 * `cpu` never touches CUDA. qopt_model_device() says which was chosen.
\*===----------------------------------------------------------------------===*/

#ifndef QOPT_RUNTIME_QOPT_MODEL_H
#define QOPT_RUNTIME_QOPT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QOPT_API __attribute__((visibility("default")))
#define QOPT_MAX_RANK 8

typedef enum qopt_status {
  QOPT_OK = 0,
  QOPT_ERROR_INVALID_ARGUMENT = 1, /* null pointers, wrong tensor count */
  QOPT_ERROR_DTYPE = 2,            /* an input of the wrong element type */
  QOPT_ERROR_SHAPE = 3,            /* an input of the wrong rank or size */
  QOPT_ERROR_OUT_OF_MEMORY = 4,
  QOPT_ERROR_INTERNAL = 5,
  QOPT_ERROR_DEVICE = 6, /* the GPU was asked for and cannot run the model */
} qopt_status;

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum qopt_dtype {
  QOPT_FLOAT32 = 1,
  QOPT_UINT8 = 2,
  QOPT_INT8 = 3,
  QOPT_UINT16 = 4,
  QOPT_INT16 = 5,
  QOPT_INT32 = 6,
  QOPT_INT64 = 7,
  QOPT_BOOL = 9, /* one byte per element, 0 or 1 */
  QOPT_FLOAT16 = 10,
  QOPT_FLOAT64 = 11,
  QOPT_UINT32 = 12,
  QOPT_UINT64 = 13,
  QOPT_BFLOAT16 = 16,
  QOPT_UINT4 = 21, /* one byte per element */
  QOPT_INT4 = 22,  /* one byte per element */
} qopt_dtype;

/* A tensor passed to or returned by qopt_model_run. */
typedef struct qopt_tensor {
  qopt_dtype dtype;
  int32_t rank;
  int64_t shape[QOPT_MAX_RANK];
  void *data;
  /* Set by the library on outputs (release them with qopt_tensor_free);
     ignored on inputs. */
  void *owner;
} qopt_tensor;

/* What the model expects or produces. shape[i] is -1 for a dimension fixed
   only at run time; dim_names[i] is its symbolic name ("batch") or "". */
typedef struct qopt_tensor_info {
  const char *name;
  qopt_dtype dtype;
  int32_t rank;
  const int64_t *shape;
  const char *const *dim_names;
} qopt_tensor_info;

typedef struct qopt_model qopt_model;

QOPT_API qopt_status qopt_model_open(qopt_model **model);
QOPT_API void qopt_model_close(qopt_model *model);

QOPT_API int32_t qopt_model_num_inputs(const qopt_model *model);
QOPT_API int32_t qopt_model_num_outputs(const qopt_model *model);
/* Null for an index out of range. */
QOPT_API const qopt_tensor_info *qopt_model_input(const qopt_model *model,
                                                  int32_t index);
QOPT_API const qopt_tensor_info *qopt_model_output(const qopt_model *model,
                                                   int32_t index);

/* Runs the model. Checks every input against the signature first (count,
   element type, rank, static sizes, and equal sizes for dimensions sharing a
   symbolic name); on failure nothing runs and the status says why. Fills
   `outputs` with newly allocated tensors. */
QOPT_API qopt_status qopt_model_run(qopt_model *model,
                                    const qopt_tensor *inputs,
                                    int32_t num_inputs, qopt_tensor *outputs,
                                    int32_t num_outputs);

/* Where `model` runs: "cuda" or "cpu" (chosen by qopt_model_open). */
QOPT_API const char *qopt_model_device(const qopt_model *model);
/* The device's name ("NVIDIA H100 80GB HBM3 (sm_90)"), or why the model
   runs on the CPU ("QOPT_DEVICE=cpu", "the library has no GPU code", the
   driver's error). */
QOPT_API const char *qopt_model_device_info(const qopt_model *model);

/* With QOPT_CUDA_PROFILE=1 on the GPU: one line per kernel launched since
   the library loaded or the last reset ("qopt-cuda-profile: NAME calls N ms
   TOTAL median_ms MEDIAN clock device|host"), "" otherwise; a non-zero
   `reset` starts a new profile. The text stays valid until the next call. */
QOPT_API const char *qopt_model_profile(qopt_model *model, int32_t reset);

/* The message of the last failed call on `model` ("" if none). */
QOPT_API const char *qopt_model_last_error(const qopt_model *model);

/* Releases an output's data. Safe on a zeroed tensor. */
QOPT_API void qopt_tensor_free(qopt_tensor *tensor);

QOPT_API size_t qopt_dtype_size(qopt_dtype dtype);
QOPT_API const char *qopt_dtype_name(qopt_dtype dtype);
QOPT_API const char *qopt_status_string(qopt_status status);

#ifdef __cplusplus
}
#endif

#endif /* QOPT_RUNTIME_QOPT_MODEL_H */
