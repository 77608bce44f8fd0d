// Frozen scalar reference for the "reset before" GRU (recurrent.h,
// gru_reset_before_f32; ONNX GRU with linear_before_reset = 0). Forward only.
//
// Order (as ref/gru.cpp, so the two share their rounding wherever they share math):
//  * gx[j] = (sum over i of W_x[j][i] x_t[i], from 0.0f) + b_x[j] for all 3H rows;
//  * for the z and r rows: hh[j] = (sum over k of W_h[j][k] h_{t-1}[k], from 0.0f) + b_h[j];
//    z = sigma(gx_z + hh_z), r = sigma(gx_r + hh_r);
//  * rh[k] = r[k] * h_{t-1}[k]; hn[j] = (sum over k of U_n[j][k] rh[k], from 0.0f) + b_hn[j];
//    n = tanh(gx_n + hn); h_t = (1 - z) * n + z * h_{t-1}.
// A null initial state means zeros (then every recurrent product is exactly 0).
// Temporaries (gx 3H, hh 2H, rh H, zr 2H floats) live in the caller's scratch,
// or in an allocation when it gives none (as the other recurrent references).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "internal/rnn_cell.h"
#include "qualm/kernels/recurrent.h"

namespace qualm::kernels::ref {

std::size_t gru_reset_before_scratch_floats(const RnnParams& p) { return std::size_t{8} * p.hidden_size; }

void gru_reset_before_f32(const RnnParams& p, const GruWeights& w, const float* x, const float* h0, float* y,
                          float* h_n, float* scratch) {
  QUALM_DCHECK(Validate(p).ok());
  using Index = std::int64_t;
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 3 * H;
  std::vector<float> owned;
  if (!scratch) {
    owned.resize(gru_reset_before_scratch_floats(p));
    scratch = owned.data();
  }
  float* gx = scratch;     // [3H]
  float* hh = gx + G;      // [2H]
  float* rh = hh + 2 * H;  // [H]
  float* zr = rh + H;      // [2H]
  for (Index b = 0; b < B; ++b) {
    const float* h_prev = h0 ? h0 + b * H : nullptr;
    for (Index t = 0; t < T; ++t) {
      const Index row = b * T + t;
      const float* xt = x + row * I;
      for (Index j = 0; j < G; ++j) {
        float acc = 0.0f;
        for (Index i = 0; i < I; ++i) acc += w.w_x[j * I + i] * xt[i];
        gx[j] = w.b_x ? acc + w.b_x[j] : acc;
      }
      for (Index j = 0; j < 2 * H; ++j) {
        float acc = 0.0f;
        if (h_prev)
          for (Index k = 0; k < H; ++k) acc += w.w_h[j * H + k] * h_prev[k];
        hh[j] = w.b_h ? acc + w.b_h[j] : acc;
        zr[j] = internal::DetSigmoid(gx[j] + hh[j]);
      }
      for (Index k = 0; k < H; ++k) rh[k] = h_prev ? zr[H + k] * h_prev[k] : 0.0f;
      float* h = y + row * H;
      for (Index j = 0; j < H; ++j) {
        const float* un = w.w_h + (2 * H + j) * H;
        float acc = 0.0f;
        for (Index k = 0; k < H; ++k) acc += un[k] * rh[k];
        const float hn = w.b_h ? acc + w.b_h[2 * H + j] : acc;
        const float n = internal::DetTanh(gx[2 * H + j] + hn);
        const float z = zr[j];
        const float hp = h_prev ? h_prev[j] : 0.0f;
        h[j] = (1.0f - z) * n + z * hp;
      }
      h_prev = h;
    }
    if (h_n)
      for (Index k = 0; k < H; ++k) h_n[b * H + k] = h_prev[k];
  }
}

}  // namespace qualm::kernels::ref
