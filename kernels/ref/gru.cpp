// Frozen scalar reference for the GRU (recurrent.h), forward and BPTT backward.
//
// Order:
//  * gx[j] = (sum over i of W_x[j][i] x_t[i], from 0.0f) + b_x[j];
//    hh[j] = (sum over k of W_h[j][k] h_{t-1}[k], from 0.0f) + b_h[j], where a
//    null initial state gives hh = b_h.
//  * dh_{t-1}[k] = dh_t[k] * z[k] + (sum over j of W_h[j][k] dhh[j], from 0.0f);
//    dx_t[i] += sum over j of W_x[j][i] dgx[j], from 0.0f.
//  * dW_x[j][i] += sum over (b, t) of dgx[b][t][j] x[b][t][i], from 0.0f in
//    index order; dW_h (with h_{t-1}), db_x, db_h alike.
// The pointwise cell (internal/rnn_cell.h) is shared with the fast path.
// Temporaries live in the caller's scratch, or a local vector when none is
// given; every temporary is fully written before it is read.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "internal/rnn_cell.h"
#include "internal/rnn_ref_grads.h"
#include "qualm/kernels/recurrent.h"

namespace qualm::kernels::ref {
namespace {
using Index = std::int64_t;
std::size_t ForwardFloats(const RnnParams& p) { return static_cast<std::size_t>(6) * p.hidden_size; }
std::size_t BackwardFloats(const RnnParams& p) {
  return static_cast<std::size_t>(p.batch) * p.seq_len * 6 * p.hidden_size + 3 * static_cast<std::size_t>(p.hidden_size);
}
}  // namespace

std::size_t gru_scratch_floats(const RnnParams& p) { return std::max(ForwardFloats(p), BackwardFloats(p)); }

void gru_f32(const RnnParams& p, const GruWeights& w, const float* x, const float* h0, float* y, float* h_n,
             float* ws_gates, float* ws_hn, float* scratch) {
  QUALM_DCHECK(Validate(p).ok());
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 3 * H;
  std::vector<float> owned;
  if (!scratch) {
    owned.resize(ForwardFloats(p));
    scratch = owned.data();
  }
  float* gx_local = scratch;
  float* hh = scratch + G;
  for (Index b = 0; b < B; ++b) {
    const float* h_prev = h0 ? h0 + b * H : nullptr;
    for (Index t = 0; t < T; ++t) {
      const Index row = b * T + t;
      const float* xt = x + row * I;
      float* gx = ws_gates ? ws_gates + row * G : gx_local;
      for (Index j = 0; j < G; ++j) {
        float acc = 0.0f;
        for (Index i = 0; i < I; ++i) acc += w.w_x[j * I + i] * xt[i];
        gx[j] = w.b_x ? acc + w.b_x[j] : acc;
        float acc_h = 0.0f;
        if (h_prev)
          for (Index k = 0; k < H; ++k) acc_h += w.w_h[j * H + k] * h_prev[k];
        hh[j] = w.b_h ? acc_h + w.b_h[j] : acc_h;
      }
      float* h = y + row * H;
      internal::GruCellForward(H, gx, hh, h_prev, h, ws_hn ? ws_hn + row * H : nullptr);
      h_prev = h;
    }
    if (h_n)
      for (Index k = 0; k < H; ++k) h_n[b * H + k] = h_prev[k];
  }
}

void gru_backward_f32(const RnnParams& p, const GruWeights& w, const float* x, const float* h0, const float* y,
                      const float* ws_gates, const float* ws_hn, const float* dy, const float* dh_n, float* dx,
                      GruGrads g, float* dh0, float* scratch) {
  QUALM_DCHECK(Validate(p).ok());
  QUALM_DCHECK(ws_gates && ws_hn);
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 3 * H;
  std::vector<float> owned;
  if (!scratch) {
    owned.resize(BackwardFloats(p));
    scratch = owned.data();
  }
  float* dGX = scratch;
  float* dHH = dGX + B * T * G;
  float* dh_next = dHH + B * T * G;
  float* dh = dh_next + H;
  float* dh_direct = dh + H;
  auto h_prev = [&](Index b, Index t) -> const float* {
    return t > 0 ? y + (b * T + t - 1) * H : (h0 ? h0 + b * H : nullptr);
  };
  for (Index b = 0; b < B; ++b) {
    for (Index k = 0; k < H; ++k) dh_next[k] = dh_n ? dh_n[b * H + k] : 0.0f;
    for (Index t = T - 1; t >= 0; --t) {
      const Index row = b * T + t;
      for (Index k = 0; k < H; ++k) dh[k] = dy ? dh_next[k] + dy[row * H + k] : dh_next[k];
      float* dgx = dGX + row * G;
      float* dhh = dHH + row * G;
      internal::GruCellBackward(H, ws_gates + row * G, ws_hn + row * H, h_prev(b, t), dh, dgx, dhh, dh_direct);
      if (dx) {
        for (Index i = 0; i < I; ++i) {
          float acc = 0.0f;
          for (Index j = 0; j < G; ++j) acc += w.w_x[j * I + i] * dgx[j];
          dx[row * I + i] += acc;
        }
      }
      for (Index k = 0; k < H; ++k) {
        float acc = 0.0f;
        for (Index j = 0; j < G; ++j) acc += w.w_h[j * H + k] * dhh[j];
        dh_next[k] = dh_direct[k] + acc;
      }
    }
    if (dh0)
      for (Index k = 0; k < H; ++k) dh0[b * H + k] += dh_next[k];
  }

  if (g.w_x) internal::AccumulateInputWeightGrad(B * T, G, I, dGX, x, g.w_x);
  if (g.w_h) internal::AccumulateRecurrentWeightGrad(B, T, H, G, dHH, y, h0, g.w_h);
  if (g.b_x) internal::AccumulateBiasGrad(B * T, G, dGX, g.b_x);
  if (g.b_h) internal::AccumulateBiasGrad(B * T, G, dHH, g.b_h);
}

}  // namespace qualm::kernels::ref
