// qualm/frontends/data_spec.h: turning a data spec (the CLI's --data) into data sets.
//
// Training specs name a family; its train and validation splits are used:
//   fashion-mnist         fashion-mnist:train (55k) + fashion-mnist:validation (5k)
//   spam                  spam:train + spam:validation (vocabulary built on spam:train)
//   spam-brief            spam-brief:train + spam-brief:validation (the harder text
//                         task, spam_assassin.h; every SpamTasks() name works)
//   images:DIR            an image folder, 10% held out for validation (seeded)
//   idx:IMAGES,LABELS     IDX files, 10% held out for validation
// Evaluation specs name one set ("fashion-mnist:test", "spam:hard-ham", ...);
// text sets are encoded with the vocabulary stored in the model file.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "qualm/engine/dataset.h"
#include "qualm/engine/model.h"
#include "qualm/frontends/input_limits.h"
#include "qualm/status.h"

namespace qualm::frontends {

struct DataSpecOptions {
  std::size_t limit = 0;        // keep only the first N samples of each set (0 = all)
  std::string spam_dir;         // SpamAssassin data folder (empty = default)
  std::string fashion_dir;      // Fashion-MNIST folder (empty = default)
  std::vector<std::int64_t> image_shape{28, 28, 1};  // for images: folders
  // Evaluation sets of text data (LoadEvalData): applied to the text of each
  // document (its index in the set) before tokenization, e.g. a synthetic
  // shift from study/text_shift.h. Empty = none. Training data and a model's
  // training split (LoadTrainingData, LoadModelTrainingSplit: calibration) are
  // never transformed; an image data set with a transform is an error.
  std::function<std::string(std::string_view text, std::size_t index)> text_transform;
  InputLimits limits;  // the parsers' resource limits (input_limits.h)
};

struct TrainingData {
  Dataset train;
  std::optional<Dataset> validation;
  // What the model must carry to read new data later (e.g. "text.vocabulary").
  std::map<std::string, std::string> model_metadata;
};

Result<TrainingData> LoadTrainingData(const std::string& spec, const DataSpecOptions& options);
Result<Dataset> LoadEvalData(const std::string& spec, const Model& model, const DataSpecOptions& options);
// The training split of the data a model was trained on (its metadata
// train.data), exactly as training saw it, encoded for that model: e.g. the
// calibration data of post-training quantization. options.limit keeps a prefix.
Result<Dataset> LoadModelTrainingSplit(const Model& model, const DataSpecOptions& options);
// The test set of the family a model was trained on ("fashion-mnist:test").
std::string DefaultTestData(const Model& model);

}  // namespace qualm::frontends
