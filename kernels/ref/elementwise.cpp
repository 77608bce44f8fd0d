// Frozen scalar reference for the elementwise ops (elementwise.h). Each output
// element depends on one input element, so there is no reduction order to fix.
// relu/relu6 pass gradients where the input is strictly inside the linear
// region (x > 0, and x < 6 for relu6), i.e. the subgradient at the kinks is 0.
#include "qualm/kernels/elementwise.h"

namespace qualm::kernels::ref {

void relu_f32(std::size_t n, const float* x, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward_f32(std::size_t n, const float* x, const float* dy, float* dx) {
  for (std::size_t i = 0; i < n; ++i) dx[i] += x[i] > 0.0f ? dy[i] : 0.0f;
}

void relu6_f32(std::size_t n, const float* x, float* y) {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i] > 0.0f ? x[i] : 0.0f;
    y[i] = v < 6.0f ? v : 6.0f;
  }
}

void relu6_backward_f32(std::size_t n, const float* x, const float* dy, float* dx) {
  for (std::size_t i = 0; i < n; ++i) dx[i] += (x[i] > 0.0f && x[i] < 6.0f) ? dy[i] : 0.0f;
}

void add_f32(std::size_t n, const float* a, const float* b, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void accumulate_f32(std::size_t n, const float* src, float* dst) {
  for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
}

// (x * mask) * scale: the mask is 0 or 1, so x * mask is exact and the only
// rounding is the multiplication by scale.
void dropout_apply_f32(std::size_t n, const float* x, const std::uint8_t* mask, float scale, float* y) {
  for (std::size_t i = 0; i < n; ++i) y[i] = mask[i] ? x[i] * scale : 0.0f;
}

void dropout_backward_f32(std::size_t n, const float* dy, const std::uint8_t* mask, float scale, float* dx) {
  for (std::size_t i = 0; i < n; ++i) dx[i] += mask[i] ? dy[i] * scale : 0.0f;
}

}  // namespace qualm::kernels::ref
