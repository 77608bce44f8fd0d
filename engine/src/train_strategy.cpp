// Adversarial (PGD) and Mixup training strategies (train_strategy.h).
#include "train_strategy.h"

#include <cmath>

#include "qualm/engine/adversarial.h"
#include "qualm/engine/mixup.h"
#include "qualm/kernels/softmax.h"

namespace qualm {

const char* StrategyName(TrainingStrategy s) {
  switch (s) {
    case TrainingStrategy::kStandard: return "standard";
    case TrainingStrategy::kAdversarial: return "adversarial";
    case TrainingStrategy::kMixup: return "mixup";
  }
  return "?";
}

Result<TrainingStrategy> ParseStrategy(const std::string& s) {
  if (s == "standard") return TrainingStrategy::kStandard;
  if (s == "adversarial") return TrainingStrategy::kAdversarial;
  if (s == "mixup") return TrainingStrategy::kMixup;
  return InvalidArgument("unknown training strategy '" + s + "' (expected standard, adversarial or mixup)");
}

Status ValidateStrategy(const TrainConfig& c) {
  if (c.strategy == TrainingStrategy::kAdversarial) return ValidateAdversarial(c.adversarial);
  if (c.strategy == TrainingStrategy::kMixup && !(c.mixup.alpha > 0.0f && std::isfinite(c.mixup.alpha)))
    return InvalidArgument("mixup alpha must be positive, got " + std::to_string(c.mixup.alpha));
  return Status::Ok();
}

namespace internal {
namespace {

float HardLabelLoss(int n, int classes, const float* logits, const std::int32_t* labels, float* probs,
                    float* dlogits) {
  const float loss = kernels::ref::softmax_cross_entropy_f32(n, classes, logits, labels, probs);
  kernels::ref::softmax_cross_entropy_backward_f32(n, classes, probs, labels, 1.0f / static_cast<float>(n), dlogits);
  return loss;
}

// The first round(fraction * n) samples of each (shuffled) batch are replaced
// by their PGD versions, crafted on the current weights.
class AdversarialStrategy final : public BatchStrategy {
 public:
  AdversarialStrategy(const AdversarialConfig& c, std::unique_ptr<PgdAttack> attack)
      : config_(c), attack_(std::move(attack)) {}
  void Prepare(void* input, const std::int32_t* labels, int n, std::uint64_t seed) override {
    const int k = std::min(n, static_cast<int>(std::lround(static_cast<double>(config_.fraction) * n)));
    if (k == 0) {
      forward_ = nullptr;
      return;
    }
    Rng rng(seed);
    attack_->Run(input, labels, k, rng);
    forward_ = attack_->hook();
  }
  ForwardHook* forward_hook() override { return forward_; }
  float LossAndGradient(int n, int classes, const float* logits, const std::int32_t* labels, float* probs,
                        float* dlogits) override {
    return HardLabelLoss(n, classes, logits, labels, probs, dlogits);
  }

 private:
  AdversarialConfig config_;
  std::unique_ptr<PgdAttack> attack_;
  ForwardHook* forward_ = nullptr;
};

class MixupStrategy final : public BatchStrategy {
 public:
  MixupStrategy(const MixupConfig& c, const Model& m)
      : config_(c),
        text_(m.input_type == SampleType::kInt32),
        sample_(static_cast<std::size_t>(Shape(m.input_shape).elements())) {
    for (std::size_t i = 1; i < m.nodes.size() && text_; ++i)
      if (std::holds_alternative<EmbeddingOp>(m.nodes[i].op) && m.nodes[i].inputs == std::vector<int>{0}) {
        hook_ = std::make_unique<MixupEmbeddingHook>(static_cast<int>(i));
        break;
      }
  }
  bool ok() const { return !text_ || hook_; }
  void Prepare(void* input, const std::int32_t*, int n, std::uint64_t seed) override {
    Rng rng(seed);
    pairing_ = DrawMixup(config_.alpha, n, rng);
    if (text_) hook_->set_pairing(&pairing_);
    else MixRows(pairing_, n, sample_, static_cast<float*>(input), scratch_);
  }
  ForwardHook* forward_hook() override { return hook_.get(); }
  BackwardHook* backward_hook() override { return hook_.get(); }
  const std::int32_t* AccuracyLabels(const std::int32_t* labels, int n) override {
    dominant_.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const int partner = pairing_.partner[static_cast<std::size_t>(i)];
      dominant_[static_cast<std::size_t>(i)] = pairing_.lambda >= 0.5f ? labels[i] : labels[partner];
    }
    return dominant_.data();
  }
  float LossAndGradient(int n, int classes, const float* logits, const std::int32_t* labels, float* probs,
                        float* dlogits) override {
    const float loss = MixupCrossEntropy(n, classes, logits, labels, pairing_, probs);
    MixupCrossEntropyBackward(n, classes, probs, labels, pairing_, 1.0f / static_cast<float>(n), dlogits);
    return loss;
  }

 private:
  MixupConfig config_;
  bool text_;
  std::size_t sample_;
  std::unique_ptr<MixupEmbeddingHook> hook_;
  MixupPairing pairing_;
  std::vector<float> scratch_;
  std::vector<std::int32_t> dominant_;
};

}  // namespace

bool NeedsInputGradient(const TrainConfig& config, const Model& model) {
  return config.strategy == TrainingStrategy::kAdversarial && model.input_type == SampleType::kFloat32;
}

Result<std::unique_ptr<BatchStrategy>> MakeBatchStrategy(const TrainConfig& config, Executor* executor) {
  QUALM_RETURN_IF_ERROR(ValidateStrategy(config));
  switch (config.strategy) {
    case TrainingStrategy::kStandard: return std::unique_ptr<BatchStrategy>();
    case TrainingStrategy::kAdversarial: {
      QUALM_ASSIGN_OR_RETURN(auto attack, PgdAttack::Create(executor, config.adversarial));
      return std::unique_ptr<BatchStrategy>(new AdversarialStrategy(config.adversarial, std::move(attack)));
    }
    case TrainingStrategy::kMixup: {
      auto s = std::make_unique<MixupStrategy>(config.mixup, executor->model());
      if (!s->ok())
        return InvalidArgument("mixup on a token-id model mixes its embedding output, and " + executor->model().arch +
                               " has no embedding reading the input");
      return std::unique_ptr<BatchStrategy>(std::move(s));
    }
  }
  return Internal("unknown training strategy");
}

}  // namespace internal
}  // namespace qualm
