// Fast float GRU (recurrent.h): the matrix products go through gemm_f32, the
// pointwise cell is the reference's (internal/rnn_cell.h), vectorized per ISA
// (detail/rnn_cell_f32_variants.h: the same bits on every ISA).
//
// Forward: GX[B*T][3H] = X * W_x^T + b_x in one GEMM (into the gate
// workspace); per step HH[B][3H] = h_{t-1} * W_h^T + b_h (one GEMM; h_{t-1}
// read in place from y), then the cell. HH cannot be folded into GX as in the
// LSTM because r multiplies only its n part ("linear before reset").
// Backward (BPTT): per step the cell gives dGX_t, dHH_t and dh*z, and one GEMM
// gives dh_{t-1} = dh*z + dHH_t * W_h. After the loop, one GEMM each:
//   dX += dGX * W_x,  dW_x += dGX^T * X,  dW_h += dHH^T * H_prev,
//   db_x += colsum(dGX),  db_h += colsum(dHH).
// Scratch: GX / dGX [B*T*3H], HH / dHH [B*T*3H], H_prev [B*T*H], three [B][H].
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
  float* big_a = nullptr;  // forward: gates when ws_gates is null; backward: dGX
  float* big_b = nullptr;  // forward: HH for one step; backward: dHH
  float* big_h = nullptr;  // backward: H_prev
  float* dh_rec = nullptr; // [B][H]
  float* dh = nullptr;     // [B][H]; also a column-sum temporary
  float* dh_direct = nullptr;
  float* wpack = nullptr;  // W_h packed for the step GEMMs (internal/rnn_fast_util.h)
  std::size_t used = 0;
};

Layout MakeLayout(const RnnParams& p, float* base) {
  internal::ScratchCursor cur(base);
  const auto B = static_cast<std::size_t>(p.batch), T = static_cast<std::size_t>(p.seq_len),
             H = static_cast<std::size_t>(p.hidden_size);
  Layout l;
  l.big_a = cur.Take(B * T * 3 * H);
  l.big_b = cur.Take(B * T * 3 * H);
  l.big_h = cur.Take(B * T * H);
  l.dh_rec = cur.Take(B * H);
  l.dh = cur.Take(std::max(B * H, 3 * H));
  l.dh_direct = cur.Take(B * H);
  l.wpack = cur.Take(internal::WhPackFloats(3 * p.hidden_size, p.hidden_size));
  l.used = cur.used();
  return l;
}

}  // namespace

std::size_t gru_scratch_floats(const RnnParams& p, int threads) { return MakeLayout(p, nullptr).used; }

void gru_f32(const KernelContext& ctx, const RnnParams& p, const GruWeights& w, const float* x,
             const float* h0, float* y, float* h_n, float* ws_gates, float* ws_hn) {
  QUALM_DCHECK(Validate(p).ok());
  const Layout l = MakeLayout(p, ctx.scratch);
  const detail::RnnCellF32Variant& cell = detail::ActiveRnnCellF32Variant();
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats >= l.used);
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 3 * H;
  float* GX = ws_gates ? ws_gates : l.big_a;
  float* HH = l.big_b;

  gemm_f32(RnnGemm(false, true, B * T, G, I, I, I, G, 0.0f), x, w.w_x, GX, ctx.threads);
  if (w.b_x) {
    for (Index r = 0; r < B * T; ++r)
      for (Index j = 0; j < G; ++j) GX[r * G + j] += w.b_x[j];
  }
  const GemmParams wh = internal::WhForwardParams(G, H);
  const GemmParams packed = internal::PackWh(wh, w.w_h, l.wpack);
  internal::ForBatchSlices(internal::RecurrenceThreads(ctx.threads, B, G), B, [&](Index b0, Index b1) {
    float* hh = HH + b0 * G;  // this slice's rows of HH
    for (Index t = 0; t < T; ++t) {
      const float* h_prev = t > 0 ? y + (b0 * T + t - 1) * H : (h0 ? h0 + b0 * H : nullptr);
      const Index ld_prev = t > 0 ? T * H : H;
      if (h_prev) {
        GemmParams sg = RnnGemm(false, true, b1 - b0, G, H, ld_prev, H, G, 0.0f);
        sg.b_packed = packed.b_packed, sg.b_packed_nr = packed.b_packed_nr;
        gemm_f32(sg, h_prev, w.w_h, hh, 1);
      } else {
        std::fill(hh, hh + (b1 - b0) * G, 0.0f);
      }
      for (Index b = b0; b < b1; ++b) {
        float* hh_b = hh + (b - b0) * G;
        if (w.b_h)
          for (Index j = 0; j < G; ++j) hh_b[j] += w.b_h[j];
        const Index row = b * T + t;
        cell.gru_forward(H, GX + row * G, hh_b, h_prev ? h_prev + (b - b0) * ld_prev : nullptr,
                                 y + row * H, ws_hn ? ws_hn + row * H : nullptr);
      }
    }
  });
  if (h_n)
    for (Index b = 0; b < B; ++b) std::memcpy(h_n + b * H, y + (b * T + T - 1) * H, sizeof(float) * H);
}

void gru_backward_f32(const KernelContext& ctx, const RnnParams& p, const GruWeights& w, const float* x,
                      const float* h0, const float* y, const float* ws_gates, const float* ws_hn,
                      const float* dy, const float* dh_n, float* dx, GruGrads g, float* dh0) {
  QUALM_DCHECK(Validate(p).ok());
  QUALM_DCHECK(ws_gates && ws_hn);
  const Layout l = MakeLayout(p, ctx.scratch);
  const detail::RnnCellF32Variant& cell = detail::ActiveRnnCellF32Variant();
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats >= l.used);
  const Index B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size, G = 3 * H;
  float* dGX = l.big_a;
  float* dHH = l.big_b;

  for (Index j = 0; j < B * H; ++j) l.dh_rec[j] = dh_n ? dh_n[j] : 0.0f;
  const GemmParams wh = internal::WhBackwardParams(G, H);
  const GemmParams packed = internal::PackWh(wh, w.w_h, l.wpack);
  internal::ForBatchSlices(internal::RecurrenceThreads(ctx.threads, B, G), B, [&](Index b0, Index b1) {
    for (Index t = T - 1; t >= 0; --t) {
      for (Index b = b0; b < b1; ++b) {
        const Index row = b * T + t;
        float* dh = l.dh + b * H;
        for (Index k = 0; k < H; ++k) dh[k] = dy ? l.dh_rec[b * H + k] + dy[row * H + k] : l.dh_rec[b * H + k];
        const float* h_prev = t > 0 ? y + (row - 1) * H : (h0 ? h0 + b * H : nullptr);
        cell.gru_backward(H, ws_gates + row * G, ws_hn + row * H, h_prev, dh, dGX + row * G,
                                  dHH + row * G, l.dh_direct + b * H);
      }
      // dh_{t-1} = dh*z + dHH_t * W_h (into dh_rec, or added into dh0 at t = 0).
      float* target = t > 0 ? l.dh_rec : dh0;
      if (!target) continue;
      for (Index j = b0 * H; j < b1 * H; ++j) target[j] = t > 0 ? l.dh_direct[j] : target[j] + l.dh_direct[j];
      GemmParams sg = RnnGemm(false, false, b1 - b0, H, G, T * G, H, H, 1.0f);
      sg.b_packed = packed.b_packed, sg.b_packed_nr = packed.b_packed_nr;
      gemm_f32(sg, dHH + b0 * T * G + t * G, w.w_h, target + b0 * H, 1);
    }
  });

  if (dx) gemm_f32(RnnGemm(false, false, B * T, I, G, G, I, I, 1.0f), dGX, w.w_x, dx, ctx.threads);
  if (g.w_x) gemm_f32(RnnGemm(true, false, G, I, B * T, G, I, I, 1.0f), dGX, x, g.w_x, ctx.threads);
  if (g.w_h) {
    float* hp = l.big_h;
    internal::GatherPreviousHidden(B, T, H, y, h0, hp);
    gemm_f32(RnnGemm(true, false, G, H, B * T, G, H, H, 1.0f), dHH, hp, g.w_h, ctx.threads);
  }
  if (g.b_x) internal::AddColumnSums(B * T, G, dGX, G, l.dh, g.b_x);
  if (g.b_h) internal::AddColumnSums(B * T, G, dHH, G, l.dh, g.b_h);
}

}  // namespace qualm::kernels::fast
