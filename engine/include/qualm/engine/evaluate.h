// qualm/engine/evaluate.h: accuracy, loss and predictions of a model on a data
// set, through the Inference interface (inference.h): float, dynamic and int8
// models alike, on the chosen backend. Evaluation never changes the model.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/inference.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

// Checks that a data set fits a model: sample type and shape, label range,
// token ids in [0, vocab). The message names the data set and the problem.
Status CheckDataset(const Model& model, const Dataset& data);

struct EvalOptions {
  int batch_size = 256;
  Backend backend = Backend::kFast;
  int threads = 1;
  bool keep_probabilities = true;
};

struct EvalResult {
  std::vector<std::int32_t> predictions;  // argmax, ties to the lowest index
  std::vector<float> probabilities;       // [count][classes] softmax, when kept
  double accuracy = 0;
  double loss = 0;                        // mean cross-entropy (natural log)
  int num_classes = 0;
  std::string path;                       // the inference path description
};

// The index of the largest of `cols` values, ties to the lowest index: the
// top-1 prediction of one row of logits.
int Argmax(const float* row, int cols);

Result<EvalResult> Evaluate(const Model& model, const Dataset& data, const EvalOptions& options,
                            const std::function<void(std::size_t done, std::size_t total)>& progress = {});

}  // namespace qualm
