/* classify: the runtime's C API from plain C (C11).
 *
 *   classify MODEL.qm [INPUT.bin [LOGITS.bin]]
 *
 * Opens an int8 qualm model, prints its input and output, and runs it on the
 * samples of INPUT.bin (raw little-endian floats or int32 token ids, as many
 * whole samples as the file holds, at most 8) or, without one, on one sample
 * of a fixed pattern. Prints each sample's predicted class and writes the
 * float logits to LOGITS.bin when given. Ends with the process's peak
 * resident memory (ru_maxrss). Exit status 0, or 1 with the runtime's error
 * message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "qualm.h"

enum { kMaxBatch = 8 };

static int fail(const char* what, qualm_status s) {
  fprintf(stderr, "classify: %s: %s: %s\n", what, qualm_status_string(s), qualm_last_error());
  return 1;
}

static void print_info(const char* what, const qualm_tensor_info* info) {
  static const char* const kDtypes[] = {"float32", "int32", "int8"};
  printf("%s: %s [", what, kDtypes[info->dtype]);
  for (int i = 0; i < info->rank; ++i) printf(i ? ", %lld" : "%lld", (long long)info->dims[i]);
  printf("]");
  if (info->quantized) printf(" int8 scale %g zero point %d", (double)info->scale, (int)info->zero_point);
  printf("\n");
}

static size_t read_file(const char* path, void* buffer, size_t capacity) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = fread(buffer, 1, capacity, f);
  fclose(f);
  return n;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: classify MODEL.qm [INPUT.bin [LOGITS.bin]]\n");
    return 2;
  }
  qualm_model* model = NULL;
  qualm_status s = qualm_open_file(argv[1], kMaxBatch, &model);
  if (s != QUALM_OK) return fail("open", s);
  printf("qualm runtime %s: %s\n", qualm_version(), qualm_path_description(model));
  qualm_tensor_info in, out;
  if ((s = qualm_input_info(model, 0, &in)) != QUALM_OK || (s = qualm_output_info(model, 0, &out)) != QUALM_OK) {
    qualm_close(model);
    return fail("info", s);
  }
  print_info("input", &in);
  print_info("output", &out);

  size_t sample_bytes = 4;
  for (int i = 1; i < in.rank; ++i) sample_bytes *= (size_t)in.dims[i];
  const int classes = (int)out.dims[1];
  unsigned char* input = calloc(kMaxBatch, sample_bytes);
  float* logits = calloc((size_t)kMaxBatch * (size_t)classes, sizeof(float));
  int rc = 1;
  if (!input || !logits) {
    fprintf(stderr, "classify: out of memory\n");
    goto done;
  }
  size_t bytes = sample_bytes;
  if (argc >= 3) {
    bytes = read_file(argv[2], input, (size_t)kMaxBatch * sample_bytes);
    bytes -= bytes % sample_bytes;
    if (bytes == 0) {
      fprintf(stderr, "classify: %s holds no whole sample of %zu bytes\n", argv[2], sample_bytes);
      goto done;
    }
  } else {
    for (size_t i = 0; i < sample_bytes / 4; ++i) {
      if (in.dtype == QUALM_INT32) ((int*)input)[i] = (int)(i * 7 % 100);
      else ((float*)input)[i] = (float)(i % 17) / 16.0f;
    }
  }
  if ((s = qualm_set_input(model, 0, input, bytes)) != QUALM_OK) { rc = fail("set_input", s); goto done; }
  if ((s = qualm_run(model)) != QUALM_OK) { rc = fail("run", s); goto done; }
  const size_t out_bytes = qualm_output_bytes(model, 0);
  if ((s = qualm_get_output(model, 0, logits, out_bytes)) != QUALM_OK) { rc = fail("get_output", s); goto done; }
  const int samples = (int)(bytes / sample_bytes);
  for (int n = 0; n < samples; ++n) {
    int best = 0;
    for (int c = 1; c < classes; ++c)
      if (logits[n * classes + c] > logits[n * classes + best]) best = c;
    printf("sample %d: class %d (logit %g)\n", n, best, (double)logits[n * classes + best]);
  }
  if (argc == 4) {
    FILE* f = fopen(argv[3], "wb");
    if (!f || fwrite(logits, 1, out_bytes, f) != out_bytes) {
      fprintf(stderr, "classify: cannot write %s\n", argv[3]);
      if (f) fclose(f);
      goto done;
    }
    fclose(f);
  }
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) printf("peak_rss_kb %ld\n", usage.ru_maxrss);
  rc = 0;
done:
  free(input);
  free(logits);
  qualm_close(model);
  return rc;
}
