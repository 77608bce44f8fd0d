// qualm/engine/mixup.h: Mixup (Zhang et al. 2018, "mixup: Beyond Empirical Risk
// Minimization"), the pieces the trainer uses, public so each is tested alone.
//
// Per batch: lambda ~ Beta(alpha, alpha) (beta_sampler.h) and a permutation
// `partner` of the batch; sample i becomes lambda * x_i + (1 - lambda) *
// x_partner[i] with the soft target lambda * onehot(y_i) + (1 - lambda) *
// onehot(y_partner[i]). One lambda per batch, as the authors' reference code
// does: per-sample lambdas change nothing in expectation and cost a draw each.
// Images mix the input pixels; text mixes the embedding layer's output (token
// ids cannot be mixed), with MixupEmbeddingHook, which also sends the gradient
// of each mixed row back to both rows it was made of.
#pragma once

#include <cstdint>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/random.h"

namespace qualm {

struct MixupPairing {
  float lambda = 1.0f;
  std::vector<int> partner;  // a permutation of 0..n-1
  std::vector<int> inverse;  // inverse[partner[i]] == i
};

// lambda ~ Beta(alpha, alpha), then a Fisher-Yates permutation of 0..n-1, from rng.
MixupPairing DrawMixup(float alpha, int n, Rng& rng);
// A pairing with a given lambda (tests; lambda 1 is standard training).
MixupPairing MakeMixup(float lambda, std::vector<int> partner);

// Rows of `row` floats: x[i] = lambda * x[i] + (1 - lambda) * x[partner[i]],
// i < n, from a copy of the rows (scratch grows as needed).
void MixRows(const MixupPairing& m, int n, std::size_t row, float* x, std::vector<float>& scratch);

// Soft-label cross-entropy, the mean over rows of lambda * CE(y_i) + (1 -
// lambda) * CE(y_partner[i]); probs [n][classes] receives the softmax.
float MixupCrossEntropy(int n, int classes, const float* logits, const std::int32_t* labels, const MixupPairing& m,
                        float* probs);
// dlogits += (probs - target) * scale, target the soft label above. With
// lambda 1 this is, bit for bit, the hard-label backward.
void MixupCrossEntropyBackward(int n, int classes, const float* probs, const std::int32_t* labels,
                               const MixupPairing& m, float scale, float* dlogits);

// Mixes the output of node `node` (the embedding) in the forward pass and
// routes the gradient of the mixed rows back in the backward pass:
// dL/de_r = lambda * g_r + (1 - lambda) * g_inverse[r].
class MixupEmbeddingHook final : public ForwardHook, public BackwardHook {
 public:
  explicit MixupEmbeddingHook(int node) : node_(node) {}
  void set_pairing(const MixupPairing* m) { m_ = m; }
  void AfterNode(Executor& ex, int node, int n) override;
  void BeforeNodeBackward(Executor& ex, int node, int n) override;

 private:
  int node_;
  const MixupPairing* m_ = nullptr;
  std::vector<float> scratch_;
};

}  // namespace qualm
