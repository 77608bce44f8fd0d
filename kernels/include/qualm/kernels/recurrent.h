// qualm/kernels/recurrent.h: float LSTM and GRU over full sequences.
//
// Layout is batch-first: x [batch][seq_len][input_size], y [batch][seq_len][hidden].
// h0/c0 [batch][hidden] may be null (zeros); h_n/c_n [batch][hidden] may be null.
//
// LSTM (gate order i, f, g, o, as TFLite):
//   w_x [4H][I], w_h [4H][H], bias [4H]
//   z = W_x x_t + W_h h_{t-1} + b;  i = sigma(z_i) f = sigma(z_f) g = tanh(z_g) o = sigma(z_o)
//   c_t = f * c_{t-1} + i * g;      h_t = o * tanh(c_t)
//   workspace for training (may be null in inference): gates [batch][seq_len][4H]
//   (post-activation i, f, g, o) and cells [batch][seq_len][H] (c_t).
//
// GRU (gate order z, r, n, as ONNX; "linear before reset" as PyTorch/cuDNN):
//   w_x [3H][I], w_h [3H][H], b_x [3H], b_h [3H]
//   z = sigma(Wz x + bxz + Uz h + bhz)   r = sigma(Wr x + bxr + Ur h + bhr)
//   n = tanh(Wn x + bxn + r * (Un h + bhn))   h_t = (1 - z) * n + z * h_{t-1}
//   workspace: gates [batch][seq_len][3H] (post-activation z, r, n) and
//   hn [batch][seq_len][H] (Un h_{t-1} + bhn, needed for dr).
//
// sigma and tanh are qualm's own DetSigmoid / DetTanh (detail/det_math.h:
// specified float operations, no libm, within 2.3 ulp of the exact functions),
// so the reference and the fast paths, whose pointwise cells are vectorized per
// ISA (detail/rnn_cell_f32_variants.h), give the same cell bits on every ISA.
//
// Backward takes dy for every step (may be null: only dh_n flows) plus dh_n/dc_n
// (may be null), and ACCUMULATES into dx, weight and bias gradients, dh0/dc0.
#pragma once

#include <cstddef>

#include "qualm/kernels/context.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct RnnParams {
  int batch = 1, seq_len = 1, input_size = 1, hidden_size = 1;
};

Status Validate(const RnnParams& p);

struct LstmWeights {
  const float* w_x = nullptr;  // [4H][I]
  const float* w_h = nullptr;  // [4H][H]
  const float* bias = nullptr; // [4H]
};
struct LstmGrads {
  float* w_x = nullptr;
  float* w_h = nullptr;
  float* bias = nullptr;
};
struct GruWeights {
  const float* w_x = nullptr;  // [3H][I]
  const float* w_h = nullptr;  // [3H][H]
  const float* b_x = nullptr;  // [3H]
  const float* b_h = nullptr;  // [3H]
};
struct GruGrads {
  float* w_x = nullptr;
  float* w_h = nullptr;
  float* b_x = nullptr;
  float* b_h = nullptr;
};

namespace ref {
// The reference needs temporaries (O(hidden) forward, the [batch][seq][gates]
// pre-activation gradients backward). `scratch`, when given, must hold
// *_scratch_floats(p) floats and is used instead of allocating, so that an
// executor can run the reference without touching the heap; when null the
// kernel allocates. The arithmetic is the same either way.
std::size_t lstm_scratch_floats(const RnnParams& p);
std::size_t gru_scratch_floats(const RnnParams& p);
void lstm_f32(const RnnParams& p, const LstmWeights& w, const float* x, const float* h0, const float* c0,
              float* y, float* h_n, float* c_n, float* ws_gates, float* ws_cells, float* scratch = nullptr);
void lstm_backward_f32(const RnnParams& p, const LstmWeights& w, const float* x, const float* h0,
                       const float* c0, const float* y, const float* ws_gates, const float* ws_cells,
                       const float* dy, const float* dh_n, const float* dc_n, float* dx, LstmGrads g,
                       float* dh0, float* dc0, float* scratch = nullptr);
void gru_f32(const RnnParams& p, const GruWeights& w, const float* x, const float* h0, float* y, float* h_n,
             float* ws_gates, float* ws_hn, float* scratch = nullptr);
void gru_backward_f32(const RnnParams& p, const GruWeights& w, const float* x, const float* h0, const float* y,
                      const float* ws_gates, const float* ws_hn, const float* dy, const float* dh_n, float* dx,
                      GruGrads g, float* dh0, float* scratch = nullptr);

// GRU with the reset gate applied BEFORE the recurrent product ("reset before",
// Cho et al. 2014; ONNX GRU with linear_before_reset = 0, its default):
//   z = sigma(Wz x + bxz + Uz h + bhz)   r = sigma(Wr x + bxr + Ur h + bhr)
//   n = tanh(Wn x + bxn + Un (r * h) + bhn)   h_t = (1 - z) * n + z * h_{t-1}
// Same layouts, gate order and weights as gru_f32 (which is "linear before
// reset"); the two agree only when h_{t-1} = 0 and bhn = 0. Reference-only
// forward, for running ONNX models and the ONNX conformance data: no fast path,
// no backward, no workspace. Its O(hidden) temporaries live in `scratch`
// (gru_reset_before_scratch_floats(p) floats) or, when that is null, in an
// allocation, as for the other references. h0 and h_n may be null (zeros /
// not wanted).
std::size_t gru_reset_before_scratch_floats(const RnnParams& p);
void gru_reset_before_f32(const RnnParams& p, const GruWeights& w, const float* x, const float* h0, float* y,
                          float* h_n, float* scratch = nullptr);
}  // namespace ref

namespace fast {
std::size_t lstm_scratch_floats(const RnnParams& p, int threads);
void lstm_f32(const KernelContext& ctx, const RnnParams& p, const LstmWeights& w, const float* x,
              const float* h0, const float* c0, float* y, float* h_n, float* c_n, float* ws_gates,
              float* ws_cells);
void lstm_backward_f32(const KernelContext& ctx, const RnnParams& p, const LstmWeights& w, const float* x,
                       const float* h0, const float* c0, const float* y, const float* ws_gates,
                       const float* ws_cells, const float* dy, const float* dh_n, const float* dc_n, float* dx,
                       LstmGrads g, float* dh0, float* dc0);
std::size_t gru_scratch_floats(const RnnParams& p, int threads);
void gru_f32(const KernelContext& ctx, const RnnParams& p, const GruWeights& w, const float* x,
             const float* h0, float* y, float* h_n, float* ws_gates, float* ws_hn);
void gru_backward_f32(const KernelContext& ctx, const RnnParams& p, const GruWeights& w, const float* x,
                      const float* h0, const float* y, const float* ws_gates, const float* ws_hn,
                      const float* dy, const float* dh_n, float* dx, GruGrads g, float* dh0);
}  // namespace fast

}  // namespace qualm::kernels
