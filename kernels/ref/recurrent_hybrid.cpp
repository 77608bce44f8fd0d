// Frozen scalar references for the hybrid LSTM and GRU (recurrent_hybrid.h).
//
// Per batch row b (rows share nothing, so a row's result does not depend on
// the batch), per step t:
//   1. QuantizeSampleDynamic(x_t) -> (s_x, zp_x, q_x) and, separately,
//      QuantizeSampleDynamic(h_{t-1}) -> (s_h, zp_h, q_h); h_{t-1} is the float
//      state (h0 or zeros at t = 0).
//   2. every gate row r ascending: acc_x = sum over i ascending of
//      w_x[r][i] * (q_x[i] - zp_x), acc_h alike over h (int32, exact);
//      px = HybridProduct(acc_x, s_x, s_wx[r]), ph = HybridProduct(acc_h, s_h, s_wh[r])
//      (NaN when that sample was not finite);
//      LSTM: pre[r] = (px + ph) + bias[r]; GRU: gx[r] = px + b_x[r], hh[r] = ph + b_h[r]
//      (no add for a null bias).
//   3. the float reference cell, internal/rnn_cell.h (LstmCellForward /
//      GruCellForward), the very code ref::lstm_f32 / gru_f32 run, so that the
//      gate math is the float reference's bit for bit. The cell updates c and h
//      in place: it reads c_prev[j] / h_prev[j] before writing element j, and
//      h_{t-1} has already been quantized in step 1.
// scratch (recurrent_hybrid.h): floats first (LSTM: pre [4H], c [H], h [H]; GRU: gx [3H],
// hh [3H], h [H]), then int8 q_x [I], q_h [H].
// No intrinsics, no threads, no allocation, no validation (DCHECKs only).
#include <cstddef>
#include <cstdint>
#include <limits>

#include "internal/rnn_cell.h"
#include "qualm/kernels/recurrent_hybrid.h"

namespace qualm::kernels::ref {
namespace {

using Index = std::int64_t;

std::size_t Bytes(const RnnParams& p, Index floats_per_h) {
  const std::size_t H = static_cast<std::size_t>(p.hidden_size), I = static_cast<std::size_t>(p.input_size);
  return sizeof(float) * static_cast<std::size_t>(floats_per_h) * H + I + H;
}

// One gate row's product P(acc, s, s_w) over k quantized values (NaN for a
// non-finite sample).
float RowProduct(const std::int8_t* w_row, const std::int8_t* q, Index k, const DynamicQuant& d, float s_w) {
  if (!d.finite) return std::numeric_limits<float>::quiet_NaN();
  const std::int32_t zp = d.params.zero_point;
  std::int32_t acc = 0;
  for (Index i = 0; i < k; ++i) acc += static_cast<std::int32_t>(w_row[i]) * (static_cast<std::int32_t>(q[i]) - zp);
  return HybridProduct(acc, d.params.scale, s_w);
}

[[maybe_unused]] bool FloatAligned(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % alignof(float) == 0; }

}  // namespace

std::size_t lstm_hybrid_scratch_bytes(const RnnParams& p) { return Bytes(p, 6); }
std::size_t gru_hybrid_scratch_bytes(const RnnParams& p) { return Bytes(p, 7); }

void lstm_hybrid(const PreparedRnnHybrid& p, const LstmHybridWeights& w, const LstmHybridIo& io, void* scratch) {
  const float* x = io.x;
  const float* h0 = io.h0;
  const float* c0 = io.c0;
  float* y = io.y;
  float* h_n = io.h_n;
  float* c_n = io.c_n;
  const Index B = p.shape.batch, T = p.shape.seq_len, I = p.shape.input_size, H = p.shape.hidden_size, G = 4 * H;
  QUALM_DCHECK(p.gates == 4);
  QUALM_DCHECK(p.w_x_scales.size() == static_cast<std::size_t>(G) && p.w_h_scales.size() == static_cast<std::size_t>(G));
  QUALM_DCHECK(scratch != nullptr && FloatAligned(scratch));
  float* pre = static_cast<float*>(scratch);
  float* c = pre + G;
  float* h = c + H;
  std::int8_t* qx = reinterpret_cast<std::int8_t*>(h + H);  // char-type access into the caller's buffer
  std::int8_t* qh = qx + I;
  for (Index b = 0; b < B; ++b) {
    for (Index j = 0; j < H; ++j) {
      h[j] = h0 ? h0[b * H + j] : 0.0f;
      c[j] = c0 ? c0[b * H + j] : 0.0f;
    }
    for (Index t = 0; t < T; ++t) {
      const Index row = b * T + t;
      const DynamicQuant dx = QuantizeSampleDynamic(x + row * I, I, qx);
      const DynamicQuant dh = QuantizeSampleDynamic(h, H, qh);
      for (Index r = 0; r < G; ++r) {
        const std::size_t ur = static_cast<std::size_t>(r);
        const float px = RowProduct(w.w_x + r * I, qx, I, dx, p.w_x_scales[ur]);
        const float ph = RowProduct(w.w_h + r * H, qh, H, dh, p.w_h_scales[ur]);
        const float z = px + ph;
        pre[r] = w.bias ? z + w.bias[r] : z;
      }
      internal::LstmCellForward(H, pre, c, c, h);
      if (y)
        for (Index j = 0; j < H; ++j) y[row * H + j] = h[j];
    }
    for (Index j = 0; j < H; ++j) {
      if (h_n) h_n[b * H + j] = h[j];
      if (c_n) c_n[b * H + j] = c[j];
    }
  }
}

void gru_hybrid(const PreparedRnnHybrid& p, const GruHybridWeights& w, const GruHybridIo& io, void* scratch) {
  const float* x = io.x;
  const float* h0 = io.h0;
  float* y = io.y;
  float* h_n = io.h_n;
  const Index B = p.shape.batch, T = p.shape.seq_len, I = p.shape.input_size, H = p.shape.hidden_size, G = 3 * H;
  QUALM_DCHECK(p.gates == 3);
  QUALM_DCHECK(p.w_x_scales.size() == static_cast<std::size_t>(G) && p.w_h_scales.size() == static_cast<std::size_t>(G));
  QUALM_DCHECK(scratch != nullptr && FloatAligned(scratch));
  float* gx = static_cast<float*>(scratch);
  float* hh = gx + G;
  float* h = hh + G;
  std::int8_t* qx = reinterpret_cast<std::int8_t*>(h + H);  // char-type access into the caller's buffer
  std::int8_t* qh = qx + I;
  for (Index b = 0; b < B; ++b) {
    for (Index j = 0; j < H; ++j) h[j] = h0 ? h0[b * H + j] : 0.0f;
    for (Index t = 0; t < T; ++t) {
      const Index row = b * T + t;
      const DynamicQuant dx = QuantizeSampleDynamic(x + row * I, I, qx);
      const DynamicQuant dh = QuantizeSampleDynamic(h, H, qh);
      for (Index r = 0; r < G; ++r) {
        const std::size_t ur = static_cast<std::size_t>(r);
        const float px = RowProduct(w.w_x + r * I, qx, I, dx, p.w_x_scales[ur]);
        const float ph = RowProduct(w.w_h + r * H, qh, H, dh, p.w_h_scales[ur]);
        gx[r] = w.b_x ? px + w.b_x[r] : px;
        hh[r] = w.b_h ? ph + w.b_h[r] : ph;
      }
      internal::GruCellForward(H, gx, hh, h, h, nullptr);
      if (y)
        for (Index j = 0; j < H; ++j) y[row * H + j] = h[j];
    }
    if (h_n)
      for (Index j = 0; j < H; ++j) h_n[b * H + j] = h[j];
  }
}

}  // namespace qualm::kernels::ref
