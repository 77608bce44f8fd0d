// engine/src/train_strategy.h (internal): what a training strategy other than
// standard training does to each mini-batch (train.h TrainingStrategy).
//
// The trainer gathers a batch, then asks the strategy to Prepare it (draws
// come from a stream of (seed, epoch, batch), so resumption is exact), runs
// the training forward with forward_hook(), takes the loss and its gradient
// from LossAndGradient, and runs the backward with backward_hook().
#pragma once

#include <cstdint>
#include <memory>

#include "qualm/engine/executor.h"
#include "qualm/engine/train.h"
#include "qualm/status.h"

namespace qualm::internal {

class BatchStrategy {
 public:
  virtual ~BatchStrategy() = default;
  // May rewrite the n gathered samples (images) or set up the hooks (text).
  virtual void Prepare(void* input, const std::int32_t* labels, int n, std::uint64_t seed) = 0;
  virtual ForwardHook* forward_hook() { return nullptr; }
  virtual BackwardHook* backward_hook() { return nullptr; }
  // Mean loss of the last forward's logits; dlogits (zeroed by the caller)
  // receives d(mean loss)/d(logits).
  // The labels the training accuracy counts against (Mixup: the label with
  // the larger weight in each mixed sample).
  virtual const std::int32_t* AccuracyLabels(const std::int32_t* labels, int n) { return labels; }
  virtual float LossAndGradient(int n, int classes, const float* logits, const std::int32_t* labels, float* probs,
                                float* dlogits) = 0;
};

// Null for kStandard. `executor` is the trainer's (made with input gradients
// when the strategy needs them: NeedsInputGradient).
Result<std::unique_ptr<BatchStrategy>> MakeBatchStrategy(const TrainConfig& config, Executor* executor);
bool NeedsInputGradient(const TrainConfig& config, const Model& model);

}  // namespace qualm::internal
