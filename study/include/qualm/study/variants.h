// qualm/study/variants.h: the main job's second stage: every model of the set
// quantized into every scheme and compared with its float original.
//
// For each (model, scheme): `qualm quantize` semantics (ptq.h; int8 calibrated
// with min/max on the first 100 training samples), the quantized model saved as
// <out>/<arch>.<scheme>.qm, then, on every evaluation set of the model (the
// clean test set, and the naturally shifted sets for text), the accuracies of
// both models and the inputs whose top-1 predictions differ (compare.h).
//
// Resumable: results are kept in <out>/variants.json, rewritten atomically after
// every (model, scheme); a rerun reuses every result whose float model (its
// training configuration and training time, which identify the trained file)
// and quantization settings are unchanged, and recomputes the rest.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "qualm/study/model_set.h"

namespace qualm::study {

struct VariantOptions {
  std::string out_dir = "runs/default";
  std::vector<std::string> schemes = {"int8", "dynamic", "weight-only-int8", "fp16-weights", "bf16-weights"};
  int calibration_samples = 100;
  std::int64_t skip_smaller_than = 2048;  // weight-only-int8 (coremltools' weight_threshold)
  int threads = 1;
  Backend backend = Backend::kFast;
  frontends::DataSpecOptions data_options;
};

struct VariantRow {
  std::string arch, scheme, data;
  std::string quantized_path, path;  // file and the kernel path that evaluated it
  std::size_t count = 0;
  double float_accuracy = 0, quantized_accuracy = 0;
  std::vector<std::size_t> disagreements;  // indices into the data set
  std::string identity;                    // what the result depends on (for reuse)
  // Layers the scheme quantized (weight-only schemes), -1 for "all"; 0 means
  // the quantized model is the float model and the row is no result.
  int quantized_layers = -1;
};

Result<std::vector<VariantRow>> RunVariants(const std::vector<ModelSetRow>& models, const VariantOptions& options,
                                            const std::function<void(const std::string&)>& message = {});
// Markdown: accuracy change and disagreements per model, scheme and data set.
std::string VariantsMarkdown(const std::vector<VariantRow>& rows);

}  // namespace qualm::study
