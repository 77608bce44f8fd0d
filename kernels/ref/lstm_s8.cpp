// Frozen scalar reference for the integer LSTM (recurrent_s8.h, TFLite "8x8_16").
//
// Per batch row b, per step t:
//   1. every gate row r in 0 .. 4H-1 (ascending): pre[r] =
//        sat16(sat16(RQ(acc_x[r], M_x[r])) + RQ(acc_h[r], M_h[r])), with h_{t-1}
//      (internal/rnn_s8_gates.h; zero points folded into Prepared::bias_x/h);
//   2. every unit j (ascending): gates, cell, hidden, exactly as the header's
//      "LSTM step". h is overwritten only after all of step 1.
// scratch (6H int16): pre [4H], c [H], h [H bytes of the last H int16].
// No intrinsics, no threads, no allocation, no validation (DCHECKs only).
#include <cstdint>

#include "internal/rnn_s8_gates.h"
#include "qualm/kernels/fixedpoint.h"
#include "qualm/kernels/recurrent_s8.h"

namespace qualm::kernels::ref {

std::size_t lstm_s8_scratch_int16(const RnnParams& p) { return static_cast<std::size_t>(6) * p.hidden_size; }

void lstm_s8(const PreparedLstmS8& p, const LstmS8Weights& w, const LstmS8Io& io, std::int16_t* scratch) {
  namespace fp = fixedpoint;
  using Index = std::int64_t;
  const Index B = p.shape.batch, T = p.shape.seq_len, I = p.shape.input_size, H = p.shape.hidden_size, G = 4 * H;
  QUALM_DCHECK(scratch != nullptr && p.tanh_cell != nullptr && io.x != nullptr);
  const std::int8_t* x = io.x;
  const std::int8_t* h0 = io.h0;
  const std::int16_t* c0 = io.c0;
  std::int8_t* y = io.y;
  std::int8_t* h_n = io.h_n;
  std::int16_t* c_n = io.c_n;
  QUALM_DCHECK(p.requant_x.size() == static_cast<std::size_t>(G) && p.bias_h.size() == static_cast<std::size_t>(G));
  std::int16_t* pre = scratch;
  std::int16_t* c = scratch + G;
  std::int8_t* h = reinterpret_cast<std::int8_t*>(scratch + G + H);  // char-type access: no aliasing issue
  const int ig_shift = 30 + p.cell_exponent;
  const std::int32_t zp_h = p.hidden_zero_point;
  for (Index b = 0; b < B; ++b) {
    for (Index j = 0; j < H; ++j) {
      h[j] = h0 ? h0[b * H + j] : static_cast<std::int8_t>(zp_h);
      c[j] = c0 ? c0[b * H + j] : std::int16_t{0};
    }
    for (Index t = 0; t < T; ++t) {
      const std::int8_t* xt = x + (b * T + t) * I;
      for (Index r = 0; r < G; ++r) {
        const std::size_t ur = static_cast<std::size_t>(r);
        const std::int16_t a =
            internal::Sat16(internal::GateProductS8(w.w_x + r * I, xt, I, p.bias_x[ur], p.requant_x[ur], p.mode));
        const std::int32_t rh = internal::GateProductS8(w.w_h + r * H, h, H, p.bias_h[ur], p.requant_h[ur], p.mode);
        pre[r] = internal::Sat16(static_cast<std::int64_t>(a) + rh);
      }
      for (Index j = 0; j < H; ++j) {
        const std::int16_t ig = fp::SigmoidQ3_12(pre[j]);
        const std::int16_t fg = fp::SigmoidQ3_12(pre[H + j]);
        const std::int16_t gg = fp::TanhQ3_12(pre[2 * H + j]);
        const std::int16_t og = fp::SigmoidQ3_12(pre[3 * H + j]);
        c[j] = fp::SaturatingAdd16(fp::MulRoundingShift16(fg, c[j], 15), fp::MulRoundingShift16(ig, gg, ig_shift));
        const std::int16_t tc = p.tanh_cell(c[j]);
        const std::int32_t prod = static_cast<std::int32_t>(og) * static_cast<std::int32_t>(tc);  // scale 2^-30
        h[j] = static_cast<std::int8_t>(RequantizeToRange(prod, p.requant_out, p.mode, zp_h, -128, 127));
      }
      if (y)
        for (Index j = 0; j < H; ++j) y[(b * T + t) * H + j] = h[j];
    }
    for (Index j = 0; j < H; ++j) {
      if (h_n) h_n[b * H + j] = h[j];
      if (c_n) c_n[b * H + j] = c[j];
    }
  }
}

}  // namespace qualm::kernels::ref
