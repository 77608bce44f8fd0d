// Frozen scalar reference for the integer GRU (recurrent_s8.h, "GRU step").
//
// Per batch row b, per step t:
//   1. rows r in 0 .. 2H-1 (z, r gates, ascending): pre[r] =
//        sat16(sat16(RQ(acc_x[r])) + RQ(acc_h[r])) with h_{t-1};
//      rows 2H + j (n gate): xn[j] = sat16(RQ(acc_x)), hn[j] = sat16(RQ(acc_h)),
//      kept apart (linear before reset);
//   2. every unit j (ascending): z, r, n, the Q0.15 state s and its int8
//      requantization h, exactly as the header. h is overwritten only after step 1.
// scratch (6H int16): pre [2H], xn [H], hn [H], s [H], h [H bytes of the last H int16].
// No intrinsics, no threads, no allocation, no validation (DCHECKs only).
#include <cstdint>

#include "internal/rnn_s8_gates.h"
#include "qualm/kernels/fixedpoint.h"
#include "qualm/kernels/recurrent_s8.h"

namespace qualm::kernels::ref {

std::size_t gru_s8_scratch_int16(const RnnParams& p) { return static_cast<std::size_t>(6) * p.hidden_size; }

void gru_s8(const PreparedGruS8& p, const GruS8Weights& w, const GruS8Io& io, std::int16_t* scratch) {
  namespace fp = fixedpoint;
  using Index = std::int64_t;
  const Index B = p.shape.batch, T = p.shape.seq_len, I = p.shape.input_size, H = p.shape.hidden_size, G = 3 * H;
  QUALM_DCHECK(scratch != nullptr && io.x != nullptr);
  const std::int8_t* x = io.x;
  const std::int16_t* s0 = io.s0;
  std::int8_t* y = io.y;
  std::int8_t* h_n = io.h_n;
  std::int16_t* s_n = io.s_n;
  QUALM_DCHECK(p.requant_x.size() == static_cast<std::size_t>(G) && p.bias_h.size() == static_cast<std::size_t>(G));
  std::int16_t* pre = scratch;
  std::int16_t* xn = scratch + 2 * H;
  std::int16_t* hn = scratch + 3 * H;
  std::int16_t* s = scratch + 4 * H;
  std::int8_t* h = reinterpret_cast<std::int8_t*>(scratch + 5 * H);  // char-type access: no aliasing issue
  const std::int32_t zp_h = p.hidden_zero_point;
  auto to_h = [&](std::int16_t state) {
    return static_cast<std::int8_t>(RequantizeToRange(state, p.requant_out, p.mode, zp_h, -128, 127));
  };
  for (Index b = 0; b < B; ++b) {
    for (Index j = 0; j < H; ++j) {
      s[j] = s0 ? s0[b * H + j] : std::int16_t{0};
      h[j] = to_h(s[j]);
    }
    for (Index t = 0; t < T; ++t) {
      const std::int8_t* xt = x + (b * T + t) * I;
      for (Index r = 0; r < G; ++r) {
        const std::size_t ur = static_cast<std::size_t>(r);
        const std::int32_t rx = internal::GateProductS8(w.w_x + r * I, xt, I, p.bias_x[ur], p.requant_x[ur], p.mode);
        const std::int32_t rh = internal::GateProductS8(w.w_h + r * H, h, H, p.bias_h[ur], p.requant_h[ur], p.mode);
        if (r < 2 * H) {
          pre[r] = internal::Sat16(static_cast<std::int64_t>(internal::Sat16(rx)) + rh);
        } else {
          xn[r - 2 * H] = internal::Sat16(rx);
          hn[r - 2 * H] = internal::Sat16(rh);
        }
      }
      for (Index j = 0; j < H; ++j) {
        const std::int16_t zg = fp::SigmoidQ3_12(pre[j]);
        const std::int16_t rg = fp::SigmoidQ3_12(pre[H + j]);
        const std::int16_t ng = fp::TanhQ3_12(fp::SaturatingAdd16(xn[j], fp::MulRoundingShift16(rg, hn[j], 15)));
        const std::int32_t diff = static_cast<std::int32_t>(s[j]) - ng;  // (s - n), 17 bits
        const std::int32_t blend = static_cast<std::int32_t>(ng) +
                                   fp::RoundingDivideByPOT<std::int32_t>(static_cast<std::int32_t>(zg) * diff, 15);
        s[j] = internal::Sat16(blend);
        h[j] = to_h(s[j]);
      }
      if (y)
        for (Index j = 0; j < H; ++j) y[(b * T + t) * H + j] = h[j];
    }
    for (Index j = 0; j < H; ++j) {
      if (h_n) h_n[b * H + j] = h[j];
      if (s_n) s_n[b * H + j] = s[j];
    }
  }
}

}  // namespace qualm::kernels::ref
