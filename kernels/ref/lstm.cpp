// Frozen scalar reference for the LSTM (recurrent.h), forward and BPTT backward.
//
// Order:
//  * z[j] = (sum over i of W_x[j][i] x_t[i], then continuing the same float
//    accumulator over k of W_h[j][k] h_{t-1}[k]) + bias[j]; the h terms are
//    skipped when h_{t-1} is the null (zero) initial state.
//  * dx_t[i] += sum over j of W_x[j][i] dz_t[j], from 0.0f in index order;
//    dh_{t-1}[k] = sum over j of W_h[j][k] dz_t[j], from 0.0f in index order.
//  * dW_x[j][i] += sum over (b, t) of dz[b][t][j] x[b][t][i], from 0.0f in
//    index order; dW_h and dbias alike (h_{-1} = h0, terms skipped when null).
// The pointwise cell (internal/rnn_cell.h) is shared with the fast path.
// Temporaries (O(hidden) in the forward, the [batch][seq][4H] dz matrix in the
// backward) live in the caller's scratch, or in a local vector when none is
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
  return static_cast<std::size_t>(p.batch) * p.seq_len * 4 * p.hidden_size + 3 * static_cast<std::size_t>(p.hidden_size);
}
}  // namespace

std::size_t lstm_scratch_floats(const RnnParams& p) { return std::max(ForwardFloats(p), BackwardFloats(p)); }

void lstm_f32(const RnnParams& p, const LstmWeights& w, const float* x, const float* h0, const float* c0,
              float* y, float* h_n, float* c_n, float* ws_gates, float* ws_cells, float* scratch) {
  QUALM_DCHECK(Validate(p).ok());
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 4 * H;
  std::vector<float> owned;
  if (!scratch) {
    owned.resize(ForwardFloats(p));
    scratch = owned.data();
  }
  float* z_local = scratch;
  float* c_local = scratch + G;
  for (Index b = 0; b < B; ++b) {
    const float* h_prev = h0 ? h0 + b * H : nullptr;
    const float* c_prev = c0 ? c0 + b * H : nullptr;
    for (Index t = 0; t < T; ++t) {
      const Index row = b * T + t;
      const float* xt = x + row * I;
      float* zg = ws_gates ? ws_gates + row * G : z_local;
      for (Index j = 0; j < G; ++j) {
        float acc = 0.0f;
        for (Index i = 0; i < I; ++i) acc += w.w_x[j * I + i] * xt[i];
        if (h_prev)
          for (Index k = 0; k < H; ++k) acc += w.w_h[j * H + k] * h_prev[k];
        zg[j] = w.bias ? acc + w.bias[j] : acc;
      }
      float* c = ws_cells ? ws_cells + row * H : c_local + (t % 2) * H;
      float* h = y + row * H;
      internal::LstmCellForward(H, zg, c_prev, c, h);
      h_prev = h;
      c_prev = c;
    }
    for (Index k = 0; k < H; ++k) {
      if (h_n) h_n[b * H + k] = h_prev[k];
      if (c_n) c_n[b * H + k] = c_prev[k];
    }
  }
}

void lstm_backward_f32(const RnnParams& p, const LstmWeights& w, const float* x, const float* h0,
                       const float* c0, const float* y, const float* ws_gates, const float* ws_cells,
                       const float* dy, const float* dh_n, const float* dc_n, float* dx, LstmGrads g,
                       float* dh0, float* dc0, float* scratch) {
  QUALM_DCHECK(Validate(p).ok());
  QUALM_DCHECK(ws_gates && ws_cells);
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 4 * H;
  std::vector<float> owned;
  if (!scratch) {
    owned.resize(BackwardFloats(p));
    scratch = owned.data();
  }
  float* dZ = scratch;
  float* dh_next = dZ + B * T * G;
  float* dh = dh_next + H;
  float* dc = dh + H;
  for (Index b = 0; b < B; ++b) {
    for (Index k = 0; k < H; ++k) {
      dh_next[k] = dh_n ? dh_n[b * H + k] : 0.0f;
      dc[k] = dc_n ? dc_n[b * H + k] : 0.0f;
    }
    for (Index t = T - 1; t >= 0; --t) {
      const Index row = b * T + t;
      for (Index k = 0; k < H; ++k) dh[k] = dy ? dh_next[k] + dy[row * H + k] : dh_next[k];
      const float* c_prev = t > 0 ? ws_cells + (row - 1) * H : (c0 ? c0 + b * H : nullptr);
      float* dz = dZ + row * G;
      internal::LstmCellBackward(H, ws_gates + row * G, ws_cells + row * H, c_prev, dh, dc, dz);
      if (dx) {
        for (Index i = 0; i < I; ++i) {
          float acc = 0.0f;
          for (Index j = 0; j < G; ++j) acc += w.w_x[j * I + i] * dz[j];
          dx[row * I + i] += acc;
        }
      }
      for (Index k = 0; k < H; ++k) {
        float acc = 0.0f;
        for (Index j = 0; j < G; ++j) acc += w.w_h[j * H + k] * dz[j];
        dh_next[k] = acc;
      }
    }
    for (Index k = 0; k < H; ++k) {
      if (dh0) dh0[b * H + k] += dh_next[k];
      if (dc0) dc0[b * H + k] += dc[k];
    }
  }

  if (g.w_x) internal::AccumulateInputWeightGrad(B * T, G, I, dZ, x, g.w_x);
  if (g.w_h) internal::AccumulateRecurrentWeightGrad(B, T, H, G, dZ, y, h0, g.w_h);
  if (g.bias) internal::AccumulateBiasGrad(B * T, G, dZ, g.bias);
}

}  // namespace qualm::kernels::ref
