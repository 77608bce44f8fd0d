// Fast float LSTM (recurrent.h): the matrix products go through gemm_f32, the
// pointwise cell is the reference's (internal/rnn_cell.h), vectorized per ISA
// (detail/rnn_cell_f32_variants.h: the same bits on every ISA).
//
// Forward: one GEMM projects every timestep's input at once,
//   Z[B*T][4H] = X[B*T][I] * W_x^T + bias      (written into the gate workspace)
// then per step t one GEMM adds the recurrent part into Z's rows for t,
//   Z[:, t] += h_{t-1} * W_h^T                 (h_{t-1} read in place from y, ld = T*H)
// and the cell turns Z[:, t] into gates, c_t and h_t. With several threads the
// time loop runs on independent batch slices (internal/rnn_fast_util.h).
// Backward (BPTT): per step only the pointwise cell and one GEMM for the
// recurrent gradient, dh_{t-1} = dZ_t * W_h; everything else is one GEMM over
// all steps after the loop:
//   dX += dZ * W_x,  dW_x += dZ^T * X,  dW_h += dZ^T * H_prev,  dbias += colsum(dZ)
// where H_prev[b][t] = h_{t-1} (h0 or zeros at t = 0) is copied into scratch.
// Scratch: Z / dZ [B*T*4H], cells / H_prev [B*T*H], three [B][H] state buffers.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "internal/rnn_fast_util.h"
#include "internal/scratch.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"
#include "qualm/kernels/recurrent.h"

namespace qualm::kernels::fast {
namespace {

using Index = std::int64_t;
using internal::RnnGemm;

struct Layout {
  float* big4 = nullptr;   // forward: gates when ws_gates is null; backward: dZ
  float* big1 = nullptr;   // forward: cells when ws_cells is null; backward: H_prev
  float* dh_rec = nullptr; // [B][H] recurrent gradient into h_{t-1}
  float* dc = nullptr;     // [B][H]
  float* dh = nullptr;     // [B][H] total gradient into h_t; also a column-sum temporary
  float* wpack = nullptr;  // W_h packed for the step GEMMs (internal/rnn_fast_util.h)
  std::size_t used = 0;
};

Layout MakeLayout(const RnnParams& p, float* base) {
  internal::ScratchCursor cur(base);
  const auto B = static_cast<std::size_t>(p.batch), T = static_cast<std::size_t>(p.seq_len),
             H = static_cast<std::size_t>(p.hidden_size);
  Layout l;
  l.big4 = cur.Take(B * T * 4 * H);
  l.big1 = cur.Take(B * T * H);
  l.dh_rec = cur.Take(B * H);
  l.dc = cur.Take(B * H);
  l.dh = cur.Take(std::max(B * H, 4 * H));
  l.wpack = cur.Take(internal::WhPackFloats(4 * p.hidden_size, p.hidden_size));
  l.used = cur.used();
  return l;
}

}  // namespace

std::size_t lstm_scratch_floats(const RnnParams& p, int threads) { return MakeLayout(p, nullptr).used; }

void lstm_f32(const KernelContext& ctx, const RnnParams& p, const LstmWeights& w, const float* x,
              const float* h0, const float* c0, float* y, float* h_n, float* c_n, float* ws_gates,
              float* ws_cells) {
  QUALM_DCHECK(Validate(p).ok());
  const Layout l = MakeLayout(p, ctx.scratch);
  const detail::RnnCellF32Variant& cell = detail::ActiveRnnCellF32Variant();
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats >= l.used);
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 4 * H;
  float* Z = ws_gates ? ws_gates : l.big4;
  float* C = ws_cells ? ws_cells : l.big1;

  gemm_f32(RnnGemm(false, true, B * T, G, I, I, I, G, 0.0f), x, w.w_x, Z, ctx.threads);
  if (w.bias) {
    for (Index r = 0; r < B * T; ++r)
      for (Index j = 0; j < G; ++j) Z[r * G + j] += w.bias[j];
  }
  const GemmParams wh = internal::WhForwardParams(G, H);
  const GemmParams packed = internal::PackWh(wh, w.w_h, l.wpack);
  auto step = [&](GemmParams sg) {
    sg.b_packed = packed.b_packed, sg.b_packed_nr = packed.b_packed_nr;
    return sg;
  };
  internal::ForBatchSlices(internal::RecurrenceThreads(ctx.threads, B, G), B, [&](Index b0, Index b1) {
    for (Index t = 0; t < T; ++t) {
      // Z[b0:b1, t] += h_{t-1}[b0:b1] * W_h^T
      if (t > 0) {
        gemm_f32(step(RnnGemm(false, true, b1 - b0, G, H, T * H, H, T * G, 1.0f)), y + (b0 * T + t - 1) * H, w.w_h,
                 Z + b0 * T * G + t * G, 1);
      } else if (h0) {
        gemm_f32(step(RnnGemm(false, true, b1 - b0, G, H, H, H, T * G, 1.0f)), h0 + b0 * H, w.w_h, Z + b0 * T * G,
                 1);
      }
      for (Index b = b0; b < b1; ++b) {
        const Index row = b * T + t;
        const float* c_prev = t > 0 ? C + (row - 1) * H : (c0 ? c0 + b * H : nullptr);
        cell.lstm_forward(H, Z + row * G, c_prev, C + row * H, y + row * H);
      }
    }
  });
  for (Index b = 0; b < B; ++b) {
    const Index last = b * T + T - 1;
    if (h_n) std::memcpy(h_n + b * H, y + last * H, sizeof(float) * H);
    if (c_n) std::memcpy(c_n + b * H, C + last * H, sizeof(float) * H);
  }
}

void lstm_backward_f32(const KernelContext& ctx, const RnnParams& p, const LstmWeights& w, const float* x,
                       const float* h0, const float* c0, const float* y, const float* ws_gates,
                       const float* ws_cells, const float* dy, const float* dh_n, const float* dc_n, float* dx,
                       LstmGrads g, float* dh0, float* dc0) {
  QUALM_DCHECK(Validate(p).ok());
  QUALM_DCHECK(ws_gates && ws_cells);
  const Layout l = MakeLayout(p, ctx.scratch);
  const detail::RnnCellF32Variant& cell = detail::ActiveRnnCellF32Variant();
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats >= l.used);
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 4 * H;
  float* dZ = l.big4;

  for (Index j = 0; j < B * H; ++j) {
    l.dh_rec[j] = dh_n ? dh_n[j] : 0.0f;
    l.dc[j] = dc_n ? dc_n[j] : 0.0f;
  }
  const GemmParams wh = internal::WhBackwardParams(G, H);
  const GemmParams packed = internal::PackWh(wh, w.w_h, l.wpack);
  auto step = [&](GemmParams sg) {
    sg.b_packed = packed.b_packed, sg.b_packed_nr = packed.b_packed_nr;
    return sg;
  };
  internal::ForBatchSlices(internal::RecurrenceThreads(ctx.threads, B, G), B, [&](Index b0, Index b1) {
    for (Index t = T - 1; t >= 0; --t) {
      for (Index b = b0; b < b1; ++b) {
        const Index row = b * T + t;
        float* dh = l.dh + b * H;
        for (Index k = 0; k < H; ++k) dh[k] = dy ? l.dh_rec[b * H + k] + dy[row * H + k] : l.dh_rec[b * H + k];
        const float* c_prev = t > 0 ? ws_cells + (row - 1) * H : (c0 ? c0 + b * H : nullptr);
        cell.lstm_backward(H, ws_gates + row * G, ws_cells + row * H, c_prev, dh, l.dc + b * H,
                                   dZ + row * G);
      }
      // dh_{t-1}[b0:b1] = dZ_t[b0:b1] * W_h (added into dh0 at t = 0).
      if (t > 0) {
        gemm_f32(step(RnnGemm(false, false, b1 - b0, H, G, T * G, H, H, 0.0f)), dZ + b0 * T * G + t * G, w.w_h,
                 l.dh_rec + b0 * H, 1);
      } else if (dh0) {
        gemm_f32(step(RnnGemm(false, false, b1 - b0, H, G, T * G, H, H, 1.0f)), dZ + b0 * T * G, w.w_h,
                 dh0 + b0 * H, 1);
      }
    }
  });
  if (dc0)
    for (Index j = 0; j < B * H; ++j) dc0[j] += l.dc[j];

  if (dx) gemm_f32(RnnGemm(false, false, B * T, I, G, G, I, I, 1.0f), dZ, w.w_x, dx, ctx.threads);
  if (g.w_x) gemm_f32(RnnGemm(true, false, G, I, B * T, G, I, I, 1.0f), dZ, x, g.w_x, ctx.threads);
  if (g.w_h) {
    float* hp = l.big1;
    internal::GatherPreviousHidden(B, T, H, y, h0, hp);
    gemm_f32(RnnGemm(true, false, G, H, B * T, G, H, H, 1.0f), dZ, hp, g.w_h, ctx.threads);
  }
  if (g.bias) internal::AddColumnSums(B * T, G, dZ, G, l.dh, g.bias);
}

}  // namespace qualm::kernels::fast
