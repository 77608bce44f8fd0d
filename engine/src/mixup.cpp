#include "qualm/engine/mixup.h"

#include <cstring>

#include "qualm/engine/beta_sampler.h"
#include "qualm/kernels/softmax.h"

namespace qualm {

MixupPairing MakeMixup(float lambda, std::vector<int> partner) {
  MixupPairing m;
  m.lambda = lambda;
  m.partner = std::move(partner);
  m.inverse.resize(m.partner.size());
  for (std::size_t i = 0; i < m.partner.size(); ++i)
    m.inverse[static_cast<std::size_t>(m.partner[i])] = static_cast<int>(i);
  return m;
}

MixupPairing DrawMixup(float alpha, int n, Rng& rng) {
  const float lambda = static_cast<float>(SampleBeta(alpha, alpha, rng));
  std::vector<int> p(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
  for (int i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(rng.Below(static_cast<std::uint64_t>(i) + 1));
    std::swap(p[static_cast<std::size_t>(i)], p[j]);
  }
  return MakeMixup(lambda, std::move(p));
}

void MixRows(const MixupPairing& m, int n, std::size_t row, float* x, std::vector<float>& scratch) {
  const std::size_t total = static_cast<std::size_t>(n) * row;
  if (scratch.size() < total) scratch.resize(total);
  std::memcpy(scratch.data(), x, total * sizeof(float));
  const float a = m.lambda, b = 1.0f - m.lambda;
  for (int i = 0; i < n; ++i) {
    const float* xi = scratch.data() + static_cast<std::size_t>(i) * row;
    const float* xj = scratch.data() + static_cast<std::size_t>(m.partner[static_cast<std::size_t>(i)]) * row;
    float* out = x + static_cast<std::size_t>(i) * row;
    for (std::size_t k = 0; k < row; ++k) out[k] = a * xi[k] + b * xj[k];
  }
}

float MixupCrossEntropy(int n, int classes, const float* logits, const std::int32_t* labels, const MixupPairing& m,
                        float* probs) {
  std::vector<std::int32_t> partner_labels(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    partner_labels[static_cast<std::size_t>(i)] = labels[m.partner[static_cast<std::size_t>(i)]];
  // Both calls write the same softmax; the first label's call comes last.
  const float lb = kernels::ref::softmax_cross_entropy_f32(n, classes, logits, partner_labels.data(), probs);
  const float la = kernels::ref::softmax_cross_entropy_f32(n, classes, logits, labels, probs);
  return m.lambda * la + (1.0f - m.lambda) * lb;
}

void MixupCrossEntropyBackward(int n, int classes, const float* probs, const std::int32_t* labels,
                               const MixupPairing& m, float scale, float* dlogits) {
  const float a = m.lambda, b = 1.0f - m.lambda;
  for (int i = 0; i < n; ++i) {
    const int ya = labels[i], yb = labels[m.partner[static_cast<std::size_t>(i)]];
    const float* p = probs + static_cast<std::size_t>(i) * classes;
    float* d = dlogits + static_cast<std::size_t>(i) * classes;
    for (int c = 0; c < classes; ++c) {
      const float target = (c == ya ? a : 0.0f) + (c == yb ? b : 0.0f);
      d[c] += (p[c] - target) * scale;
    }
  }
}

void MixupEmbeddingHook::AfterNode(Executor& ex, int node, int n) {
  if (node != node_ || !m_) return;
  ValueBuffers& v = ex.mutable_value(node);
  MixRows(*m_, n, static_cast<std::size_t>(v.sample_shape.elements()), v.value.f32(), scratch_);
}

void MixupEmbeddingHook::BeforeNodeBackward(Executor& ex, int node, int n) {
  if (node != node_ || !m_) return;
  ValueBuffers& v = ex.mutable_value(node);
  // The adjoint of MixRows: mixing with the inverse permutation.
  MixupPairing adjoint;
  adjoint.lambda = m_->lambda;
  adjoint.partner = m_->inverse;
  MixRows(adjoint, n, static_cast<std::size_t>(v.sample_shape.elements()), v.grad.f32(), scratch_);
}

}  // namespace qualm
