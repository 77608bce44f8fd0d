// internal/rnn_cell.h: the pointwise part of one LSTM / GRU step, for one batch
// row, forward and backward. Shared by the reference and the fast paths so that
// they differ only in how the matrix products are computed (the fast path uses
// gemm_f32); given the same pre-activations both produce the same bits here.
// Not a public header: kernels/ only.
//
// Conventions (recurrent.h): LSTM gates i, f, g, o; GRU gates z, r, n with
// "linear before reset". A null previous state means zeros.
//
// The activations are qualm's own DetSigmoid / DetTanh (detail/det_math.h),
// not libm's: specified operation by operation, so the vectorized cells of the
// fast path (fast/rnn_cell_f32_body.h, one lane per j) give these bits on
// every ISA. Every other expression here is one IEEE operation at a time, in
// the order written (-ffp-contract=off); the vector cells repeat them verbatim.
#pragma once

#include <cstdint>

#include "qualm/kernels/detail/det_math.h"

namespace qualm::kernels::internal {

using detail::DetSigmoid;
using detail::DetTanh;

// LSTM forward. zg [4H]: pre-activations in, post-activation gates out.
// c_prev [H] or null; writes c [H] and h [H].
inline void LstmCellForward(std::int64_t H, float* zg, const float* c_prev, float* c, float* h) {
  for (std::int64_t j = 0; j < H; ++j) {
    const float i = DetSigmoid(zg[j]);
    const float f = DetSigmoid(zg[H + j]);
    const float g = DetTanh(zg[2 * H + j]);
    const float o = DetSigmoid(zg[3 * H + j]);
    const float cp = c_prev ? c_prev[j] : 0.0f;
    const float cj = f * cp + i * g;
    zg[j] = i, zg[H + j] = f, zg[2 * H + j] = g, zg[3 * H + j] = o;
    c[j] = cj;
    h[j] = o * DetTanh(cj);
  }
}

// LSTM backward. gates [4H] (post-activation), c [H] = c_t, c_prev [H] or null,
// dh [H] = total gradient reaching h_t. dc [H]: in, gradient reaching c_t from
// step t + 1; out, gradient reaching c_{t-1}. Writes dz [4H] (pre-activation).
inline void LstmCellBackward(std::int64_t H, const float* gates, const float* c, const float* c_prev,
                             const float* dh, float* dc, float* dz) {
  for (std::int64_t j = 0; j < H; ++j) {
    const float i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j];
    const float tc = DetTanh(c[j]);
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
    const float z = DetSigmoid(gx[j] + hh[j]);
    const float r = DetSigmoid(gx[H + j] + hh[H + j]);
    const float n = DetTanh(gx[2 * H + j] + r * hh[2 * H + j]);
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
