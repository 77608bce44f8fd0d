// qualm/kernels/softmax.h: softmax, log-softmax and softmax cross-entropy over rows.
// Max-subtracted, summed in index order (deterministic).
#pragma once

#include <cstdint>

namespace qualm::kernels::ref {

void softmax_f32(int rows, int cols, const float* x, float* y);
void log_softmax_f32(int rows, int cols, const float* x, float* y);
// Mean over rows of -log softmax(logits)[label]; probs [rows][cols] receives the
// softmax (needed by the backward). Returns the mean loss.
float softmax_cross_entropy_f32(int rows, int cols, const float* logits, const std::int32_t* labels,
                                float* probs);
// dlogits += (probs - onehot(label)) * scale (scale is usually 1 / rows).
void softmax_cross_entropy_backward_f32(int rows, int cols, const float* probs, const std::int32_t* labels,
                                        float scale, float* dlogits);

}  // namespace qualm::kernels::ref
