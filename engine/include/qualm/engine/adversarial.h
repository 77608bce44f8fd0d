// qualm/engine/adversarial.h: projected gradient descent (PGD) attacks, for
// adversarial training (Madry et al. 2018, "Towards Deep Learning Models
// Resistant to Adversarial Attacks") and for measuring robustness.
//
// The attack maximizes the cross-entropy of the true label within an
// L-infinity ball: a uniform random start inside the ball, then `iterations`
// steps x <- P(x + step * sign(d loss / d x)), P the projection onto the ball
// (and, for images, onto [0, 1]); sign(0) = 0.
//   Images: x is the input, eps in pixel units (pixels are in [0, 1]).
//   Text:   token ids cannot move, so x is the embedding layer's output
//           (Miyato et al. 2017 perturb the same place); eps and step are
//           multiplied by the RMS of the embedding table at attack time, so the
//           radius follows the scale the embeddings actually have (a fixed
//           absolute radius would be huge early in training and tiny later).
//           The perturbation is added to the embedding output by hook().
// The attacked model is the current one in eval mode (Executor::SetEvalMode):
// batch norm on its running statistics, which the attack passes never update,
// and no dropout. So each sample's attack is independent of the rest of its
// batch, and the attack targets the function that is deployed and evaluated.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "qualm/engine/dataset.h"
#include "qualm/engine/executor.h"
#include "qualm/engine/random.h"
#include "qualm/engine/train.h"
#include "qualm/status.h"

namespace qualm {

// eps > 0, step > 0, iterations >= 1, fraction in (0, 1].
Status ValidateAdversarial(const AdversarialConfig& config);

class PgdAttack final : public ForwardHook {
 public:
  // `executor`: a training executor (for image models created with
  // ExecutorOptions::input_gradient), not owned. The config is validated.
  static Result<std::unique_ptr<PgdAttack>> Create(Executor* executor, const AdversarialConfig& config);

  // Crafts the adversarial versions of the first n samples of `input` (n <=
  // the executor's max_batch), with the random start drawn from rng. Images:
  // the n float rows of `input` are replaced. Text: the ids are unchanged and
  // the perturbation is kept for hook(). The executor's parameter gradients
  // are overwritten; it is back in its own mode afterwards.
  void Run(void* input, const std::int32_t* labels, int n, Rng& rng);

  // Text: adds the last Run's perturbation to the embedding output of the
  // first n rows of a forward pass (rows beyond stay clean); null for images.
  ForwardHook* hook() { return text() ? this : nullptr; }
  void AfterNode(Executor& ex, int node, int n) override;

  bool text() const { return embedding_node_ > 0; }
  // The ball's radius and step in the attacked space's units (text: times the RMS).
  float radius() const { return radius_; }
  float step() const { return step_; }
  // Floats per sample in the attacked space (the input, or the embedding output).
  std::size_t row() const { return row_; }
  // Text: the perturbation of the last Run, [n][seq][dim].
  const std::vector<float>& perturbation() const { return delta_; }

 private:
  PgdAttack() = default;
  // Cross-entropy gradient of the last forward into dlogits_ (scale 1).
  void LossGradient(const std::int32_t* labels, int n);

  Executor* ex_ = nullptr;
  AdversarialConfig config_;
  int embedding_node_ = 0;  // > 0 for text models
  int classes_ = 0;
  std::size_t row_ = 0;     // floats per sample in the attacked space
  float radius_ = 0, step_ = 0;
  int perturbed_rows_ = 0;
  std::vector<float> x_, lo_, hi_, delta_, probs_, dlogits_;
};

// Robustness of a float model to PGD on a data set: every sample attacked.
struct RobustnessOptions {
  AdversarialConfig attack;  // fraction is ignored
  std::uint64_t seed = 1;    // random starts: stream per batch
  int batch_size = 128;
  Backend backend = Backend::kFast;
  int threads = 1;
};
struct RobustnessResult {
  std::size_t samples = 0;
  double clean_accuracy = 0, adversarial_accuracy = 0;
  double clean_loss = 0, adversarial_loss = 0;  // mean cross-entropy
  double max_perturbation = 0;  // largest |x_adv - x| (text: |delta|), attacked-space units
  double radius = 0;            // the largest radius used (text: eps * RMS)
};
Result<RobustnessResult> EvaluateRobustness(const Model& model, const Dataset& data, const RobustnessOptions& options);

}  // namespace qualm
