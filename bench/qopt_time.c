/* Times qopt_model_run of a compiled model without a language binding in
 * the way: median of `repeat` runs after one warm-up, in milliseconds.
 *
 *   qopt_time model.so REPEAT FILE:DTYPE:D0xD1x... [...]
 *
 * One argument per model input, in signature order; FILE holds the raw
 * row-major data, DTYPE is the qopt_dtype number. Built by ort_compare.py.
 */
#include "qopt/Runtime/qopt_model.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef qopt_status (*open_fn)(qopt_model **);
typedef qopt_status (*run_fn)(qopt_model *, const qopt_tensor *, int32_t,
                              qopt_tensor *, int32_t);
typedef int32_t (*count_fn)(const qopt_model *);
typedef void (*free_fn)(qopt_tensor *);
typedef const char *(*error_fn)(const qopt_model *);

/* Element sizes, as qopt_dtype_size (not linked: the harness dlopens). */
static size_t qopt_dtype_size_fallback(qopt_dtype d) {
  switch (d) {
  case QOPT_FLOAT64: case QOPT_INT64: case QOPT_UINT64: return 8;
  case QOPT_FLOAT32: case QOPT_INT32: case QOPT_UINT32: return 4;
  case QOPT_FLOAT16: case QOPT_BFLOAT16: case QOPT_INT16: case QOPT_UINT16: return 2;
  default: return 1;
  }
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s model.so REPEAT FILE:DTYPE:SHAPE...\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  open_fn open_model = (open_fn)dlsym(lib, "qopt_model_open");
  run_fn run = (run_fn)dlsym(lib, "qopt_model_run");
  count_fn num_outputs = (count_fn)dlsym(lib, "qopt_model_num_outputs");
  free_fn free_tensor = (free_fn)dlsym(lib, "qopt_tensor_free");
  error_fn last_error = (error_fn)dlsym(lib, "qopt_model_last_error");
  qopt_model *model;
  if (open_model(&model) != QOPT_OK)
    return 1;
  int repeat = atoi(argv[2]);
  int n = argc - 3;
  qopt_tensor *inputs = calloc(n > 0 ? n : 1, sizeof(qopt_tensor));
  for (int i = 0; i < n; ++i) {
    char *spec = strdup(argv[3 + i]);
    char *file = strtok(spec, ":");
    inputs[i].dtype = (qopt_dtype)atoi(strtok(NULL, ":"));
    char *shape = strtok(NULL, ":");
    size_t count = 1;
    for (char *d = shape ? strtok(shape, "x") : NULL; d; d = strtok(NULL, "x")) {
      inputs[i].shape[inputs[i].rank++] = atoll(d);
      count *= (size_t)atoll(d);
    }
    size_t bytes = count * qopt_dtype_size_fallback(inputs[i].dtype);
    inputs[i].data = malloc(bytes + 1);
    FILE *f = fopen(file, "rb");
    if (!f || fread(inputs[i].data, 1, bytes, f) != bytes) {
      fprintf(stderr, "cannot read %s\n", file);
      return 1;
    }
    fclose(f);
  }
  int m = num_outputs(model);
  qopt_tensor *outputs = calloc(m, sizeof(qopt_tensor));
  double *times = calloc(repeat > 0 ? repeat : 1, sizeof(double));
  for (int r = -1; r < repeat; ++r) {
    double t0 = now_ms();
    if (run(model, inputs, n, outputs, m) != QOPT_OK) {
      fprintf(stderr, "run failed: %s\n", last_error(model));
      return 1;
    }
    double t1 = now_ms();
    for (int o = 0; o < m; ++o)
      free_tensor(&outputs[o]);
    if (r >= 0)
      times[r] = t1 - t0;
  }
  qsort(times, repeat, sizeof(double), compare);
  printf("%.6f\n", times[repeat / 2]);
  return 0;
}
