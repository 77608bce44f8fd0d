// kernels/internal/rnn_ref_grads.h: the weight and bias gradient reductions
// shared by the reference LSTM and GRU backward passes.
//
// dG is [batch * seq][G] (pre-activation gradients of G gate rows). Each
// gradient element is summed from 0.0f over (b, t) in index order, then added
// once to the output (+=), as recurrent.h requires.
#pragma once

#include <cstdint>

namespace qualm::kernels::internal {

// gw[j][i] += sum over r of dG[r][j] * x[r][i].
inline void AccumulateInputWeightGrad(std::int64_t rows, std::int64_t G, std::int64_t I, const float* dG,
                                      const float* x, float* gw) {
  for (std::int64_t j = 0; j < G; ++j)
    for (std::int64_t i = 0; i < I; ++i) {
      float acc = 0.0f;
      for (std::int64_t r = 0; r < rows; ++r) acc += dG[r * G + j] * x[r * I + i];
      gw[j * I + i] += acc;
    }
}

// gw[j][k] += sum over (b, t) of dG[b][t][j] * h_{t-1}[k], where h_{t-1} is
// y[b][t-1] for t > 0 and h0[b] (skipped when null) for t = 0.
inline void AccumulateRecurrentWeightGrad(std::int64_t B, std::int64_t T, std::int64_t H, std::int64_t G,
                                          const float* dG, const float* y, const float* h0, float* gw) {
  for (std::int64_t j = 0; j < G; ++j)
    for (std::int64_t k = 0; k < H; ++k) {
      float acc = 0.0f;
      for (std::int64_t b = 0; b < B; ++b)
        for (std::int64_t t = 0; t < T; ++t) {
          const float* hp = t > 0 ? y + (b * T + t - 1) * H : (h0 ? h0 + b * H : nullptr);
          if (hp) acc += dG[(b * T + t) * G + j] * hp[k];
        }
      gw[j * H + k] += acc;
    }
}

// gb[j] += sum over r of dG[r][j].
inline void AccumulateBiasGrad(std::int64_t rows, std::int64_t G, const float* dG, float* gb) {
  for (std::int64_t j = 0; j < G; ++j) {
    float acc = 0.0f;
    for (std::int64_t r = 0; r < rows; ++r) acc += dG[r * G + j];
    gb[j] += acc;
  }
}

}  // namespace qualm::kernels::internal
