// qualm/engine/inference.h: one interface for running any model on batches.
//
// A float model and a dynamic one run on the float executor (executor.h), a
// full-integer one on the int8 executor (int8_executor.h); everything that only
// runs models -- evaluation, comparison, calibration, the study, benchmarks --
// goes through this interface and takes the model as `const Model&`: inference
// never changes a model.
//
//   auto run = Inference::Create(model, {.max_batch = 256, .backend = Backend::kFast, .threads = 2});
//   (*run)->Run(input, n);                 // n <= max_batch samples
//   const float* logits = (*run)->logits();  // [n][num_classes]
//
// Prepare, then execute: Create validates the model and prepares every kernel;
// Run never validates and never allocates. The executors it creates place
// the activations in one arena planned by lifetime (memory_plan.h).
#pragma once

#include <memory>
#include <string>

#include "qualm/status.h"

namespace qualm {

struct Model;

// kReference: the frozen scalar kernels (float and int8). kFast: the optimized
// kernels where they exist (int8 ones bit-identical to the reference, float
// ones within the tolerance kernels/README.md states), the reference elsewhere.
// kOnednn (inference only): conv2d and dense through oneDNN primitives created
// once at prepare (qualm/kernels/onednn.h): float within the float tolerance,
// int8 from oneDNN's exact s32 accumulators and qualm's own requantization,
// so bit-identical to the reference; every other op as kFast. In a build
// without oneDNN, creating an executor with it fails with a message.
enum class Backend { kReference, kFast, kOnednn };
const char* BackendName(Backend b);  // "reference", "fast", "onednn"
Result<Backend> ParseBackend(const std::string& name);  // for stored configurations

struct InferenceOptions {
  int max_batch = 256;
  Backend backend = Backend::kFast;
  int threads = 1;
};

class Inference {
 public:
  // The executor the model's quantization scheme needs. `model` must outlive
  // the returned object.
  static Result<std::unique_ptr<Inference>> Create(const Model& model, const InferenceOptions& options);
  virtual ~Inference() = default;

  // n <= max_batch() samples, contiguous: float images or int32 token ids, as
  // model.input_type says. Token ids must lie in [0, vocab) (CheckDataset).
  virtual void Run(const void* input, int n) = 0;
  // [n][num_classes] logits of the last Run.
  virtual const float* logits() const = 0;
  virtual int num_classes() const = 0;
  virtual int max_batch() const = 0;
  // Which kernels ran, e.g. "fast (gemm_f32_8x32__avx512, 2 threads)" or
  // "int8 fast (avx2: s8s16_gemm_4x16c2__avx2, 2 threads, requant gemmlowp)".
  virtual std::string PathDescription() const = 0;
};

}  // namespace qualm
