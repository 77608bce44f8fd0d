// qualm/kernels/recurrent_hybrid.h: hybrid (dynamic-quantization) LSTM and
// GRU: int8 weights, float x_t and h_{t-1} each quantized per batch row at run
// time, the float reference cell, float outputs and state. The family's rules
// (per-sample quantization, exact int32 sums, the float product P) are
// hybrid_quant.h's.
//
// Layouts as recurrent.h, batch-first: x [B][T][I], y [B][T][H],
// h0/c0/h_n/c_n [B][H]. LSTM w_x [4H][I], w_h [4H][H] (gates i, f, g, o), bias
// [4H]; GRU w_x [3H][I], w_h [3H][H] (gates z, r, n, "linear before reset" as
// gru_f32), b_x / b_h [3H]. Scales one per row ([G*H]) or [1]; biases float,
// each may be null. y, h_n, c_n may be null (not wanted); h0, c0 may be null
// (zeros).
// Outputs, per row r (P as hybrid_quant.h):
//   LSTM        pre[r] = (P(acc_x[r], s_x, s_wx[r]) + P(acc_h[r], s_h, s_wh[r])) + bias[r]
//               (float, left to right; the float reference also sums the x then
//               the h products and adds the bias last), then EXACTLY the float
//               reference cell (kernels/internal/rnn_cell.h LstmCellForward):
//               i = sigma(pre_i) f = sigma(pre_f) g = tanh(pre_g) o = sigma(pre_o),
//               c = f * c_prev + i * g, h = o * tanh(c).
//   GRU         gx[r] = P(acc_x[r], s_x, s_wx[r]) + b_x[r],
//               hh[r] = P(acc_h[r], s_h, s_wh[r]) + b_h[r], then EXACTLY the float
//               reference cell (GruCellForward):
//               z = sigma(gx_z + hh_z) r = sigma(gx_r + hh_r)
//               n = tanh(gx_n + r * hh_n)  (n = tanh(xn + b_xn + r * (hn + b_hn)))
//               h = (1 - z) * n + z * h_prev.
//   So given the same pre-activations, hybrid and float gate math give the same
//   bits. A null h0 / c0 means zeros: h_{-1} = 0 quantizes as the degenerate
//   range (s = 1, zp = 0, q = 0), its product is exactly 0.0f and is still added.
//   The state carried between steps is the float h (and c), never its int8 copy.
//
// Scratch in bytes (aligned for float):
//   lstm   4 * (6H) + I + H                 (gates 4H, c H, h H floats; q_x, q_h)
//   gru    4 * (7H) + I + H                 (gx 3H, hh 3H, h H floats; q_x, q_h)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/context.h"
#include "qualm/kernels/dense_hybrid.h"
#include "qualm/kernels/hybrid_quant.h"
#include "qualm/kernels/recurrent.h"
#include "qualm/status.h"

namespace qualm::kernels {

// One parameter struct for both; G = 4 for the LSTM, 3 for the GRU.
struct RnnHybridParams {
  RnnParams shape;
  std::vector<float> w_x_scales;  // [G*H] (one per row) or [1]
  std::vector<float> w_h_scales;  // [G*H] or [1]
};
struct PreparedRnnHybrid {
  RnnParams shape;
  int gates = 4;                  // 4 (LSTM) or 3 (GRU)
  std::vector<float> w_x_scales;  // [G*H]
  std::vector<float> w_h_scales;  // [G*H]
};
struct LstmHybridWeights {
  const std::int8_t* w_x = nullptr;  // [4H][I]
  const std::int8_t* w_h = nullptr;  // [4H][H]
  const float* bias = nullptr;       // [4H] or null
};
struct GruHybridWeights {
  const std::int8_t* w_x = nullptr;  // [3H][I]
  const std::int8_t* w_h = nullptr;  // [3H][H]
  const float* b_x = nullptr;        // [3H] or null
  const float* b_h = nullptr;        // [3H] or null
};
Result<PreparedRnnHybrid> PrepareLstmHybrid(const RnnHybridParams& p, const LstmHybridWeights& w);
Result<PreparedRnnHybrid> PrepareGruHybrid(const RnnHybridParams& p, const GruHybridWeights& w);

// The activations and states of one call. Only x is required: a null initial
// state is zeros, a null output is not written.
struct LstmHybridIo {
  const float* x = nullptr;   // [B][T][I]
  const float* h0 = nullptr;  // [B][H] or null
  const float* c0 = nullptr;  // [B][H] or null
  float* y = nullptr;         // [B][T][H] or null
  float* h_n = nullptr;       // [B][H] or null
  float* c_n = nullptr;       // [B][H] or null
};
struct GruHybridIo {
  const float* x = nullptr;   // [B][T][I]
  const float* h0 = nullptr;  // [B][H] or null
  float* y = nullptr;         // [B][T][H] or null
  float* h_n = nullptr;       // [B][H] or null
};

namespace ref {
std::size_t lstm_hybrid_scratch_bytes(const RnnParams& p);
std::size_t gru_hybrid_scratch_bytes(const RnnParams& p);

void lstm_hybrid(const PreparedRnnHybrid& p, const LstmHybridWeights& w, const LstmHybridIo& io, void* scratch);
void gru_hybrid(const PreparedRnnHybrid& p, const GruHybridWeights& w, const GruHybridIo& io, void* scratch);
}  // namespace ref

// Fast path (fast::lstm_hybrid / fast::gru_hybrid), bit-identical to the
// references on every int8 GEMM variant and thread count. The products are
// fast::dense_hybrid's (the same per-sample quantization, exact int32 sums
// and float product P, so px and ph are the reference's bits): one call over
// every step's input x_t at once ([B*T][I], no bias), then one per step over
// the float state h_{t-1} ([B][H], no bias); then, per batch row, the same
// float adds in the same order and the same cell (internal/rnn_cell.h).
// Weights packed once (PackRnnHybridWeights); ctx.scratch (64-byte aligned)
// of at least fast::rnn_hybrid_scratch_floats(p, ctx.threads) floats, sized
// at the largest batch.
struct PackedRnnHybrid {
  PreparedDenseHybrid x, h;        // [G*H] x [I] and [G*H] x [H] products, per-row scales
  PackedHybridWeights w_x, w_h;
};
PackedRnnHybrid PackRnnHybridWeights(const PreparedRnnHybrid& p, const std::int8_t* w_x, const std::int8_t* w_h);

namespace fast {
std::size_t rnn_hybrid_scratch_floats(const PreparedRnnHybrid& p, int threads);
void lstm_hybrid(const KernelContext& ctx, const PreparedRnnHybrid& p, const PackedRnnHybrid& packed,
                 const LstmHybridWeights& w, const LstmHybridIo& io);
void gru_hybrid(const KernelContext& ctx, const PreparedRnnHybrid& p, const PackedRnnHybrid& packed,
                const GruHybridWeights& w, const GruHybridIo& io);
}  // namespace fast

}  // namespace qualm::kernels
