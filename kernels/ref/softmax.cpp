// Frozen scalar reference for softmax, log-softmax and softmax cross-entropy
// (softmax.h). Per row: m = max; s = sum of exp(x - m) from 0.0f in index
// order; softmax = exp(x - m) / s; log_softmax = (x - m) - log(s).
// Cross-entropy: loss_r = log(s) - (x[label] - m); the mean is the float sum of
// loss_r in row order divided by rows.
#include <cmath>
#include <cstdint>

#include "qualm/kernels/softmax.h"
#include "qualm/status.h"

namespace qualm::kernels::ref {
namespace {

using Index = std::int64_t;

float RowMax(Index cols, const float* x) {
  float m = x[0];
  for (Index j = 1; j < cols; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

}  // namespace

void softmax_f32(int rows, int cols, const float* x, float* y) {
  for (Index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = RowMax(cols, xr);
    float s = 0.0f;
    for (Index j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    for (Index j = 0; j < cols; ++j) yr[j] /= s;
  }
}

void log_softmax_f32(int rows, int cols, const float* x, float* y) {
  for (Index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = RowMax(cols, xr);
    float s = 0.0f;
    for (Index j = 0; j < cols; ++j) s += std::exp(xr[j] - m);
    const float log_s = std::log(s);
    for (Index j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_s;
  }
}

float softmax_cross_entropy_f32(int rows, int cols, const float* logits, const std::int32_t* labels,
                                float* probs) {
  float total = 0.0f;
  for (Index r = 0; r < rows; ++r) {
    const float* xr = logits + r * cols;
    float* pr = probs + r * cols;
    QUALM_DCHECK(labels[r] >= 0 && labels[r] < cols);
    const float m = RowMax(cols, xr);
    float s = 0.0f;
    for (Index j = 0; j < cols; ++j) {
      pr[j] = std::exp(xr[j] - m);
      s += pr[j];
    }
    for (Index j = 0; j < cols; ++j) pr[j] /= s;
    total += std::log(s) - (xr[labels[r]] - m);
  }
  return total / static_cast<float>(rows);
}

void softmax_cross_entropy_backward_f32(int rows, int cols, const float* probs, const std::int32_t* labels,
                                        float scale, float* dlogits) {
  for (Index r = 0; r < rows; ++r) {
    const float* pr = probs + r * cols;
    float* dr = dlogits + r * cols;
    QUALM_DCHECK(labels[r] >= 0 && labels[r] < cols);
    for (Index j = 0; j < cols; ++j) {
      const float onehot = j == labels[r] ? 1.0f : 0.0f;
      dr[j] += (pr[j] - onehot) * scale;
    }
  }
}

}  // namespace qualm::kernels::ref
