// internal/rnn_cell.h: the pointwise part of one LSTM / GRU step, for one batch
// row, forward and backward. Shared by the reference and the fast paths so that
// they differ only in how the matrix products are computed (the fast path uses
// gemm_f32); given the same pre-activations both produce the same bits here.
// Not a public header: kernels/ only.
//
// Conventions (recurrent.h): LSTM gates i, f, g, o; GRU gates z, r, n with
// "linear before reset". A null previous state means zeros.
#pragma once

#include <cmath>
#include <cstdint>

namespace qualm::kernels::internal {

inline float Sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

// LSTM forward. zg [4H]: pre-activations in, post-activation gates out.
// c_prev [H] or null; writes c [H] and h [H].
inline void LstmCellForward(std::int64_t H, float* zg, const float* c_prev, float* c, float* h) {
  for (std::int64_t j = 0; j < H; ++j) {
    const float i = Sigmoid(zg[j]);
    const float f = Sigmoid(zg[H + j]);
    const float g = std::tanh(zg[2 * H + j]);
    const float o = Sigmoid(zg[3 * H + j]);
    const float cp = c_prev ? c_prev[j] : 0.0f;
    const float cj = f * cp + i * g;
    zg[j] = i, zg[H + j] = f, zg[2 * H + j] = g, zg[3 * H + j] = o;
    c[j] = cj;
    h[j] = o * std::tanh(cj);
  }
}

// LSTM backward. gates [4H] (post-activation), c [H] = c_t, c_prev [H] or null,
// dh [H] = total gradient reaching h_t. dc [H]: in, gradient reaching c_t from
// step t + 1; out, gradient reaching c_{t-1}. Writes dz [4H] (pre-activation).
inline void LstmCellBackward(std::int64_t H, const float* gates, const float* c, const float* c_prev,
                             const float* dh, float* dc, float* dz) {
  for (std::int64_t j = 0; j < H; ++j) {
    const float i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j];
    const float tc = std::tanh(c[j]);
    const float cp = c_prev ? c_prev[j] : 0.0f;
    const float dct = dc[j] + dh[j] * o * (1.0f - tc * tc);
    dz[j] = (dct * g) * i * (1.0f - i);
    dz[H + j] = (dct * cp) * f * (1.0f - f);
    dz[2 * H + j] = (dct * i) * (1.0f - g * g);
    dz[3 * H + j] = (dh[j] * tc) * o * (1.0f - o);
    dc[j] = dct * f;
  }
}

// GRU forward. gx [3H]: W_x x + b_x in, post-activation gates (z, r, n) out.
// hh [3H] = W_h h_prev + b_h. h_prev [H] or null. Writes h [H] and, if not
// null, hn [H] = hh_n (kept for the backward).
inline void GruCellForward(std::int64_t H, float* gx, const float* hh, const float* h_prev, float* h, float* hn) {
  for (std::int64_t j = 0; j < H; ++j) {
    const float z = Sigmoid(gx[j] + hh[j]);
    const float r = Sigmoid(gx[H + j] + hh[H + j]);
    const float n = std::tanh(gx[2 * H + j] + r * hh[2 * H + j]);
    const float hp = h_prev ? h_prev[j] : 0.0f;
    gx[j] = z, gx[H + j] = r, gx[2 * H + j] = n;
    if (hn) hn[j] = hh[2 * H + j];
    h[j] = (1.0f - z) * n + z * hp;
  }
}

// GRU backward. gates [3H] (z, r, n), hn [H], h_prev [H] or null, dh [H] total
// gradient reaching h_t. Writes dgx [3H] (gradient of W_x x + b_x), dhh [3H]
// (gradient of W_h h_prev + b_h) and dh_direct [H] = dh * z, the part of
// dh_prev that does not go through W_h.
inline void GruCellBackward(std::int64_t H, const float* gates, const float* hn, const float* h_prev,
                            const float* dh, float* dgx, float* dhh, float* dh_direct) {
  for (std::int64_t j = 0; j < H; ++j) {
    const float z = gates[j], r = gates[H + j], n = gates[2 * H + j];
    const float hp = h_prev ? h_prev[j] : 0.0f;
    const float dn = (dh[j] * (1.0f - z)) * (1.0f - n * n);
    const float dzp = (dh[j] * (hp - n)) * z * (1.0f - z);
    const float drp = (dn * hn[j]) * r * (1.0f - r);
    dgx[j] = dzp, dgx[H + j] = drp, dgx[2 * H + j] = dn;
    dhh[j] = dzp, dhh[H + j] = drp, dhh[2 * H + j] = dn * r;
    dh_direct[j] = dh[j] * z;
  }
}

}  // namespace qualm::kernels::internal
