/* qualm.h: the C API of qualm's runtime library (libqualm_runtime).
 *
 * Loads a full-integer (scheme int8) qualm model file (".qm", written by
 * `qualm quantize --scheme int8`) from a path or from a memory buffer and runs
 * inference on it with the int8 kernels, which give the same bits on every
 * machine (x86 with or without AVX2 / AVX-512 VNNI, aarch64, armhf). Float and
 * dynamic models run in the full engine, not here: opening one is an error
 * that says so.
 *
 *   qualm_model* m = NULL;
 *   if (qualm_open_file("lenet5.int8.qm", 1, &m) != QUALM_OK) {
 *     fprintf(stderr, "%s\n", qualm_last_error());
 *     return 1;
 *   }
 *   qualm_set_input(m, 0, pixels, sizeof pixels);  // 28*28*1 floats in [0, 1]
 *   qualm_run(m);
 *   qualm_get_output(m, 0, logits, sizeof logits); // 10 floats
 *   qualm_close(m);
 *
 * Memory: open allocates everything a run needs (the model, packed weights,
 * one activation arena planned by lifetime, scratch); set_input, run and
 * get_output allocate nothing.
 *
 * Errors: every function that can fail returns a qualm_status; on failure
 * qualm_last_error() gives a message with context (file, node, sizes). No C++
 * exception ever crosses this interface, and the library never aborts or
 * exits on bad input (null pointers, wrong sizes, corrupt or truncated files).
 *
 * Thread safety: one qualm_model may be used by one thread at a time (calls
 * on the same handle must be serialized by the caller); different handles are
 * independent and may run concurrently, also on one shared model file. The
 * last-error message is per thread. Opening is thread-safe.
 *
 * Stability: the functions and enums below are the whole interface; structs
 * are plain data; values of existing enumerators never change.
 */
#ifndef QUALM_H_
#define QUALM_H_

#include <stddef.h>
#include <stdint.h>

#if defined(QUALM_RUNTIME_BUILD)
#define QUALM_API __attribute__((visibility("default")))
#else
#define QUALM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define QUALM_VERSION_MAJOR 0
#define QUALM_VERSION_MINOR 1
#define QUALM_MAX_RANK 8

typedef enum qualm_status {
  QUALM_OK = 0,
  QUALM_INVALID_ARGUMENT = 1, /* bad pointer, size, index, input value */
  QUALM_NOT_FOUND = 2,        /* no such file */
  QUALM_DATA_LOSS = 3,        /* corrupt or truncated model data */
  QUALM_IO_ERROR = 4,
  QUALM_UNIMPLEMENTED = 5,    /* a model this runtime does not run (float, dynamic) */
  QUALM_INTERNAL = 6,
  QUALM_OUT_OF_MEMORY = 7,
  QUALM_FAILED_PRECONDITION = 8 /* e.g. qualm_run before qualm_set_input */
} qualm_status;

typedef enum qualm_dtype {
  QUALM_FLOAT32 = 0,
  QUALM_INT32 = 1, /* token ids of a text model */
  QUALM_INT8 = 2
} qualm_dtype;

typedef struct qualm_model qualm_model;

/* What an input or output holds. dims[0] is the batch (the max_batch the
 * model was opened with); dims[1..rank-1] one sample (images: H, W, C; text:
 * tokens; outputs: classes). The model quantizes a float input itself with
 * (scale, zero_point), and its int8 logits are dequantized with theirs;
 * quantized is 0 for token ids. */
typedef struct qualm_tensor_info {
  int32_t rank;
  int64_t dims[QUALM_MAX_RANK];
  qualm_dtype dtype;
  int32_t quantized;
  float scale;
  int32_t zero_point;
} qualm_tensor_info;

/* "0.1.0" */
QUALM_API const char* qualm_version(void);
/* "invalid argument", ... */
QUALM_API const char* qualm_status_string(qualm_status status);
/* The error message of this thread's most recent qualm call that returns a
 * status ("" when it succeeded); valid until the next qualm call on this
 * thread. */
QUALM_API const char* qualm_last_error(void);

/* Opens a model for batches of 1..max_batch samples. *out is set to NULL on
 * failure. open_memory copies what it needs: `data` may be freed after it. */
QUALM_API qualm_status qualm_open_file(const char* path, int32_t max_batch, qualm_model** out);
QUALM_API qualm_status qualm_open_memory(const void* data, size_t size, int32_t max_batch, qualm_model** out);
/* NULL is allowed. */
QUALM_API void qualm_close(qualm_model* model);

/* One input and one output today; the counts are for forward compatibility. */
QUALM_API int32_t qualm_input_count(const qualm_model* model);
QUALM_API int32_t qualm_output_count(const qualm_model* model);
QUALM_API qualm_status qualm_input_info(const qualm_model* model, int32_t index, qualm_tensor_info* info);
QUALM_API qualm_status qualm_output_info(const qualm_model* model, int32_t index, qualm_tensor_info* info);
/* Which kernels run: "int8 fast (avx512vnni: s8u8_gemm_8x32c4__avx512vnni, ...)". */
QUALM_API const char* qualm_path_description(const qualm_model* model);

/* n samples: `bytes` must be a positive multiple of one sample's bytes, for
 * at most max_batch samples. Floats must be finite; token ids must lie in
 * [0, vocabulary). Copied: `data` may change after the call. */
QUALM_API qualm_status qualm_set_input(qualm_model* model, int32_t index, const void* data, size_t bytes);
/* Runs the model on the samples of the last set_input. */
QUALM_API qualm_status qualm_run(qualm_model* model);
/* Bytes of output `index` of the last run (samples * classes * 4); 0 before a run. */
QUALM_API size_t qualm_output_bytes(const qualm_model* model, int32_t index);
/* Copies the float logits of the last run; `bytes` must be at least
 * qualm_output_bytes(). */
QUALM_API qualm_status qualm_get_output(const qualm_model* model, int32_t index, void* data, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* QUALM_H_ */
