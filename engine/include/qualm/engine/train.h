// qualm/engine/train.h: mini-batch training (evaluation: evaluate.h).
//
// Determinism: everything random (initialization, shuffling, augmentation,
// dropout) is drawn from Rng streams derived from (seed, epoch) (the training
// strategies' draws from (seed, epoch, batch)), so a run is
// bit-identical for the same seed, backend and thread count, and a run resumed
// from an end-of-epoch checkpoint continues exactly as if never stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/evaluate.h"
#include "qualm/engine/executor.h"
#include "qualm/engine/model.h"
#include "qualm/status.h"

namespace qualm {

enum class OptimizerKind { kSgd, kAdam };
enum class LrSchedule { kConstant, kCosine, kStep };
// How each mini-batch is presented (the study's RQ2; QAT is a TrainingHook,
// qat.h, and combines with kStandard only).
enum class TrainingStrategy { kStandard, kAdversarial, kMixup };

// PGD adversarial training (Madry et al. 2018), adversarial.h. Images: an
// L-infinity ball of radius eps around the input, clipped to [0, 1]. Text: the
// ball lies around the embedding layer's output, with eps and step multiplied
// by the RMS of the embedding table (so the radius follows the table's scale).
struct AdversarialConfig {
  float eps = 0.3f;
  float step = 0.1f;
  int iterations = 10;
  float fraction = 0.5f;  // of each batch replaced by its adversarial version
};

// Mixup (Zhang et al. 2018), mixup.h: lambda ~ Beta(alpha, alpha), one per batch.
struct MixupConfig {
  float alpha = 0.2f;
};

struct TrainConfig {
  int epochs = 10;
  int batch_size = 128;
  OptimizerKind optimizer = OptimizerKind::kSgd;
  float lr = 0.05f;
  float momentum = 0.9f;       // SGD
  bool nesterov = true;        // SGD
  float beta1 = 0.9f, beta2 = 0.999f, adam_eps = 1e-8f;  // Adam
  // L2 penalty added to the gradient of weight matrices/kernels/tables (rank >= 2);
  // biases and batch-norm parameters are not decayed.
  float weight_decay = 5e-4f;
  LrSchedule schedule = LrSchedule::kCosine;
  int warmup_epochs = 0;       // linear warm-up, per batch
  int step_every = 10;         // kStep: multiply by step_gamma every step_every epochs
  float step_gamma = 0.1f;
  float clip_grad_norm = 0.0f; // > 0: clip the global gradient norm (RNNs)
  // Image augmentation: random horizontal flip, random shift by up to
  // `augment_shift` pixels with zero fill.
  bool augment_flip = false;
  int augment_shift = 0;
  // > 0: the training run (study/train_run.h) stops once validation accuracy
  // has not improved for this many epochs and keeps the weights of the best
  // validation epoch. `epochs` stays the upper bound. The Trainer ignores it.
  int early_stopping_patience = 0;
  std::uint64_t seed = 1;
  int threads = 1;
  Backend backend = Backend::kFast;
  TrainingStrategy strategy = TrainingStrategy::kStandard;
  AdversarialConfig adversarial;  // kAdversarial
  MixupConfig mixup;              // kMixup
};

const char* OptimizerName(OptimizerKind k);
const char* ScheduleName(LrSchedule s);
const char* StrategyName(TrainingStrategy s);
Result<OptimizerKind> ParseOptimizer(const std::string& s);
Result<LrSchedule> ParseSchedule(const std::string& s);
Result<TrainingStrategy> ParseStrategy(const std::string& s);
// The strategy's parameters are in range (eps > 0, step > 0, iterations >= 1,
// fraction in (0, 1]; alpha > 0); parameters of unused strategies are not checked.
Status ValidateStrategy(const TrainConfig& config);

struct BatchProgress {
  int epoch = 0, epochs = 0;    // epoch is 1-based
  int batch = 0, batches = 0;   // batch is 1-based
  double loss = 0, accuracy = 0;  // running averages over the epoch so far
  double epoch_seconds = 0;
};

struct EpochReport {
  int epoch = 0;                 // 1-based
  double lr = 0;
  // Over the batches as trained (adversarial: clean and attacked samples;
  // Mixup: the soft-label loss, accuracy against each mix's dominant label).
  double train_loss = 0, train_accuracy = 0;
  double validation_accuracy = -1;  // -1 when no validation set
  double seconds = 0;
};

// Lets a training technique wrap every step (QAT, qat.h): BeforeStep runs
// before each training forward, AfterNode (ForwardHook) after each node of it,
// and Validate replaces the float validation accuracy.
class TrainingHook : public ForwardHook {
 public:
  virtual Status BeforeStep(int n) = 0;
  virtual Result<double> Validate(const Dataset& validation) = 0;
};

namespace internal {
class BatchStrategy;  // engine/src/train_strategy.h
}

class Trainer {
 public:
  // Optimizer state tensors parallel to model.nodes[i].params (for checkpoints).
  struct State {
    int epochs_done = 0;
    std::int64_t steps = 0;
    std::vector<std::vector<Tensor>> slot1, slot2;  // momentum / Adam m and v
  };

  static Result<std::unique_ptr<Trainer>> Create(Model* model, const TrainConfig& config);
  ~Trainer();
  // One epoch over `train`; evaluates on `validation` if not null.
  Result<EpochReport> RunEpoch(const Dataset& train, const Dataset* validation,
                               const std::function<void(const BatchProgress&)>& progress = {});
  State& state() { return state_; }
  // Not owned; null (the default) trains the plain float model.
  void set_hook(TrainingHook* hook) { hook_ = hook; }
  const TrainConfig& config() const { return config_; }
  std::string PathDescription() const { return executor_->PathDescription(); }
  double LearningRate(int epoch, int batch, int batches) const;

 private:
  Trainer() = default;
  void Step(float lr);
  void GatherBatch(const Dataset& d, const std::vector<std::size_t>& order, std::size_t begin, int n, Rng& aug_rng);

  Model* model_ = nullptr;
  TrainConfig config_;
  std::unique_ptr<Executor> executor_;
  TrainingHook* hook_ = nullptr;
  std::unique_ptr<internal::BatchStrategy> strategy_;  // null for kStandard
  State state_;
  std::vector<float> batch_f32_, probs_, dlogits_;
  std::vector<std::int32_t> batch_i32_, batch_labels_;
};

}  // namespace qualm
