// study/src/early_stopping.h (private to the training run): early stopping on
// the validation split, resumable.
//
// After each epoch the run reports the validation accuracy. A strictly higher
// accuracy than every earlier epoch makes this epoch the best one (ties keep the
// earlier epoch: fewer epochs, same evidence) and its weights are kept. Once
// `patience` epochs have passed without a new best, the run stops; either way
// the model written is the best epoch's.
//
// Resuming: the state (best epoch, its accuracy) travels in the checkpoint's
// metadata (kStateKey), the best weights in a model file next to the
// checkpoint named for their epoch (<checkpoint>.best-<epoch>). A checkpoint
// names the file it needs, and an older best file is deleted only after the
// checkpoint that no longer needs it is written, so an interruption at any
// point leaves a consistent pair. The weights are copied bit for bit, so a
// resumed run ends exactly as an uninterrupted one.
#pragma once

#include <string>
#include <vector>

#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm::study::internal {

class EarlyStopping {
 public:
  static constexpr const char* kStateKey = "train.early_stopping.state";
  static constexpr const char* kSummaryKey = "train.early_stopping";

  // patience > 0. When `resumed`, restores the state from model.metadata and
  // the best weights from their file.
  static Result<EarlyStopping> Start(int patience, const Model& model, bool resumed, const std::string& checkpoint);

  // After epoch `epoch` (1-based): records a new best (copying the weights and,
  // when `persist`, writing them to their file) and the state into
  // model.metadata. True when the run should stop now.
  Result<bool> AfterEpoch(int epoch, double validation_accuracy, Model& model, bool persist);
  // After the checkpoint of the latest epoch is written: best files other
  // than the current one are no longer needed.
  void RemoveStaleFiles() const;
  // Puts the best weights into `model`, removes the state key and every best
  // file, and records the summary (JSON: patience, best_epoch,
  // best_validation_accuracy, epochs_run, stopped_early) in the metadata.
  void Finish(Model& model, int epochs_run, bool stopped_early);

  int best_epoch() const { return best_epoch_; }
  double best_accuracy() const { return best_accuracy_; }

 private:
  std::string BestFile(int epoch) const;

  int patience_ = 0;
  std::string checkpoint_;
  int best_epoch_ = 0;             // 0: none yet
  double best_accuracy_ = -1;
  std::vector<std::vector<Tensor>> best_params_;  // parallel to model.nodes[i].params
};

}  // namespace qualm::study::internal
