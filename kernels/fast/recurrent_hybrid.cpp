// Fast hybrid LSTM / GRU (recurrent_hybrid.h): the reference's per-row
// products through fast::dense_hybrid, the reference's adds and cell.
//
// Why the bits are ref::lstm_hybrid's / ref::gru_hybrid's:
//  * The reference quantizes x_t and h_{t-1} of every batch row as one sample
//    each (QuantizeSampleDynamic) and forms px = P(acc_x, s_x, s_wx[r]),
//    ph = P(acc_h, s_h, s_wh[r]) with exact int32 sums (NaN for a non-finite
//    sample). fast::dense_hybrid does exactly that per row of its input
//    (fast/hybrid_rows.h proves it bit-exact to ref::dense_hybrid, whose
//    product is the same P on the same sums), so a dense over the rows
//    x[b][t] gives every px, and a dense over the state rows h[b] gives ph.
//  * Without a bias dense_hybrid stores P itself (no add). The GRU's
//    gx = px + b_x[r] and hh = ph + b_h[r] are the dense epilogue's single
//    `P + bias[c]` add, so b_x / b_h go into the dense calls. The LSTM adds
//    (px + ph) + bias[r] here, in the reference's order.
//  * The state carried between steps is the float h (and c) the cell wrote,
//    as in the reference; the cell is the dispatched vector cell
//    (detail/rnn_cell_f32_variants.h), which gives internal/rnn_cell.h's bits.
// The input projection for all steps is one call (B*T rows share the packed
// weights); the per-step call has B rows. The threads work inside those
// calls (dense_hybrid splits rows / columns in a fixed way); the cells run
// on the calling thread.
//
// Scratch (floats from ctx.scratch, regions 64-byte aligned):
//   px [B*T][G], ph [B][G], h [B][H], c [B][H] (LSTM only), then the dense
//   calls' own scratch (the larger of the two).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fast/dense_hybrid_rows.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"
#include "qualm/kernels/recurrent_hybrid.h"

namespace qualm::kernels {

namespace {

// The two dense products' shapes (no weights, no scales): all the scratch
// layout needs.
PackedRnnHybrid DenseShapes(const PreparedRnnHybrid& p) {
  const int G = p.gates * p.shape.hidden_size;
  PackedRnnHybrid out;
  out.x.shape = {p.shape.batch * p.shape.seq_len, p.shape.input_size, G};
  out.h.shape = {p.shape.batch, p.shape.hidden_size, G};
  return out;
}

}  // namespace

PackedRnnHybrid PackRnnHybridWeights(const PreparedRnnHybrid& p, const std::int8_t* w_x, const std::int8_t* w_h) {
  PackedRnnHybrid out = DenseShapes(p);
  out.x.weight_scales = p.w_x_scales;
  out.h.weight_scales = p.w_h_scales;
  out.w_x = PackDenseHybridWeights(out.x, w_x);
  out.w_h = PackDenseHybridWeights(out.h, w_h);
  return out;
}

namespace fast {
namespace {

using Index = std::int64_t;

constexpr std::size_t AlignFloats(std::size_t n) { return (n + 15) / 16 * 16; }  // 64 bytes

struct Layout {
  std::size_t px = 0, ph = 0, h = 0, c = 0, dense = 0, dense_floats = 0, total = 0;
};

// Offsets in floats for batch B (every region grows with B, so the layout for
// the largest batch covers every smaller one).
Layout MakeLayout(const PreparedRnnHybrid& p, const PackedRnnHybrid& packed, Index B, int threads) {
  const Index T = p.shape.seq_len, H = p.shape.hidden_size, G = p.gates * H;
  Layout l;
  std::size_t at = 0;
  auto take = [&](std::size_t floats) {
    const std::size_t off = at;
    at += AlignFloats(floats);
    return off;
  };
  l.px = take(static_cast<std::size_t>(B * T * G));
  l.ph = take(static_cast<std::size_t>(B * G));
  l.h = take(static_cast<std::size_t>(B * H));
  l.c = take(p.gates == 4 ? static_cast<std::size_t>(B * H) : 0);
  const std::size_t dense_bytes = std::max(internal_hybrid::DenseHybridRowsScratchBytes(packed.x, B * T, threads),
                                           internal_hybrid::DenseHybridRowsScratchBytes(packed.h, B, threads));
  l.dense_floats = AlignFloats((dense_bytes + sizeof(float) - 1) / sizeof(float));
  l.dense = take(l.dense_floats);
  l.total = at;
  return l;
}

// The state rows from h0 / c0, or zeros.
void InitState(const float* s0, Index n, float* s) {
  for (Index i = 0; i < n; ++i) s[i] = s0 ? s0[i] : 0.0f;
}

}  // namespace

std::size_t rnn_hybrid_scratch_floats(const PreparedRnnHybrid& p, int threads) {
  return MakeLayout(p, DenseShapes(p), p.shape.batch, threads).total;
}

void lstm_hybrid(const KernelContext& ctx, const PreparedRnnHybrid& p, const PackedRnnHybrid& packed,
                 const LstmHybridWeights& w, const LstmHybridIo& io) {
  const Index B = p.shape.batch, T = p.shape.seq_len, H = p.shape.hidden_size, G = 4 * H;
  QUALM_DCHECK(p.gates == 4 && io.x != nullptr);
  const Layout l = MakeLayout(p, packed, B, ctx.threads);
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats >= l.total);
  float* px = ctx.scratch + l.px;
  float* ph = ctx.scratch + l.ph;
  float* h = ctx.scratch + l.h;
  float* c = ctx.scratch + l.c;
  const KernelContext dctx{ctx.threads, ctx.scratch + l.dense, l.dense_floats};
  const detail::RnnCellF32Variant& cell = detail::ActiveRnnCellF32Variant();  // the reference cell's bits
  InitState(io.h0, B * H, h);
  InitState(io.c0, B * H, c);
  if (B * T > 0) internal_hybrid::DenseHybridRows(dctx, packed.x, B * T, packed.w_x, io.x, nullptr, px);
  for (Index t = 0; t < T; ++t) {
    internal_hybrid::DenseHybridRows(dctx, packed.h, B, packed.w_h, h, nullptr, ph);
    for (Index b = 0; b < B; ++b) {
      const Index row = b * T + t;
      float* pre = px + row * G;
      const float* phb = ph + b * G;
      for (Index r = 0; r < G; ++r) {
        const float z = pre[r] + phb[r];
        pre[r] = w.bias ? z + w.bias[r] : z;
      }
      cell.lstm_forward(H, pre, c + b * H, c + b * H, h + b * H);
      if (io.y) std::copy(h + b * H, h + (b + 1) * H, io.y + row * H);
    }
  }
  if (io.h_n) std::copy(h, h + B * H, io.h_n);
  if (io.c_n) std::copy(c, c + B * H, io.c_n);
}

void gru_hybrid(const KernelContext& ctx, const PreparedRnnHybrid& p, const PackedRnnHybrid& packed,
                const GruHybridWeights& w, const GruHybridIo& io) {
  const Index B = p.shape.batch, T = p.shape.seq_len, H = p.shape.hidden_size, G = 3 * H;
  QUALM_DCHECK(p.gates == 3 && io.x != nullptr);
  const Layout l = MakeLayout(p, packed, B, ctx.threads);
  QUALM_DCHECK(ctx.scratch != nullptr && ctx.scratch_floats >= l.total);
  float* gx = ctx.scratch + l.px;
  float* hh = ctx.scratch + l.ph;
  float* h = ctx.scratch + l.h;
  const KernelContext dctx{ctx.threads, ctx.scratch + l.dense, l.dense_floats};
  const detail::RnnCellF32Variant& cell = detail::ActiveRnnCellF32Variant();  // the reference cell's bits
  InitState(io.h0, B * H, h);
  if (B * T > 0) internal_hybrid::DenseHybridRows(dctx, packed.x, B * T, packed.w_x, io.x, w.b_x, gx);
  for (Index t = 0; t < T; ++t) {
    internal_hybrid::DenseHybridRows(dctx, packed.h, B, packed.w_h, h, w.b_h, hh);
    for (Index b = 0; b < B; ++b) {
      const Index row = b * T + t;
      cell.gru_forward(H, gx + row * G, hh + b * G, h + b * H, h + b * H, nullptr);
      if (io.y) std::copy(h + b * H, h + (b + 1) * H, io.y + row * H);
    }
  }
  if (io.h_n) std::copy(h, h + B * H, io.h_n);
}

}  // namespace fast
}  // namespace qualm::kernels
