// qualm/study/train_run.h: one complete, resumable training run of a zoo model.
//
// Loads the data, builds and initializes the model (or resumes it from the
// checkpoint written after every epoch), trains, and writes the model file
// atomically with its provenance in the metadata: configuration, seed, data,
// kernel path, CPU, per-epoch history and qualm version. `qualm train` and
// the model-set runner are thin wrappers around this.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "qualm/engine/qat.h"
#include "qualm/engine/train.h"
#include "qualm/frontends/data_spec.h"
#include "qualm/status.h"

namespace qualm::study {

struct TrainRunOptions {
  std::string arch;
  std::string data;        // training spec; empty = study::DefaultTrainingData(arch)
  std::string output;      // model file
  std::string checkpoint;  // empty = output + ".ckpt"
  TrainConfig config;      // start from study::DefaultRecipe(arch) and override
  bool resume = true;      // continue from the checkpoint if one exists
  bool validate = true;    // evaluate the validation split after each epoch
  // > 0: stop after this many epochs in this call, leaving the checkpoint to
  // resume from (the model file is written only when all epochs are done).
  int max_epochs_this_run = 0;
  frontends::DataSpecOptions data_options;
  // Start from this float model file instead of a fresh initialization
  // (fine-tuning); its architecture must be `arch`.
  std::string init_from;
  // Quantization-aware training (engine/qat.h): the output is the converted
  // int8 model. Resumable like float training with the min/max and
  // moving-average observers (their state is saved in the checkpoint); with a
  // histogram observer no checkpoint is kept.
  bool qat = false;
  QatOptions qat_options;
  // QAT: after saving, reload the int8 model and compare it with the QAT
  // forward pass on this data spec (empty: the test set of the training data).
  std::string qat_check_data;
};

struct TrainRunCallbacks {
  std::function<void(const std::string&)> message;       // status lines
  std::function<void(const BatchProgress&)> batch;       // within an epoch
  std::function<void(const EpochReport&)> epoch;         // after each epoch
};

struct TrainRunResult {
  std::string history_json;  // per-epoch reports, as stored in the model
  double seconds = 0;        // training time of all epochs (including resumed ones)
  std::string path;          // kernel path description
  int resumed_from_epoch = 0;
  bool finished = true;      // false when stopped early by max_epochs_this_run
  // QAT: agreement of the QAT forward pass with the saved int8 model.
  std::optional<QatAgreement> qat_check;
  std::string qat_check_data;
};

Result<TrainRunResult> RunTraining(const TrainRunOptions& options, const TrainRunCallbacks& callbacks = {});

// JSON of a TrainConfig (recorded in models and checkpoints) and back.
std::string TrainConfigJson(const TrainConfig& config);
Result<TrainConfig> ParseTrainConfigJson(const std::string& json);

}  // namespace qualm::study
