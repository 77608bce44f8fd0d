// The generic (scalar) gate stage of fast::lstm_s8 / fast::gru_s8
// (detail/recurrent_s8_variants.h): the reference's own scalar functions
// (requant.h, fixedpoint.h) in the reference's order, fed by the GEMM's exact
// accumulators. Runs on every CPU; the AVX2 stage is tested against it and
// against the frozen references.
#include <cstdint>

#include "internal/rnn_s8_gates.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"
#include "qualm/kernels/fixedpoint.h"

namespace qualm::kernels::detail {

namespace fp = fixedpoint;
using Index = std::int64_t;

namespace {

// The recurrent term RQ(acc_h + bias_h) of row r, int32 (not yet saturated).
std::int32_t RecurrentTerm(const RnnS8StepRow& row, Index r) {
  const std::size_t ur = static_cast<std::size_t>(r);
  return MultiplyByQuantizedMultiplier(row.acc_h[r] + row.rq_h->bias[ur], row.rq_h->requant[ur], row.rq_h->mode);
}

}  // namespace

void s8_rnn_requant_x_1c__generic(const RnnS8RowRequant& rq, const std::int32_t* acc, std::int16_t* ax) {
  for (Index r = 0; r < rq.rows; ++r) {
    const std::size_t ur = static_cast<std::size_t>(r);
    ax[r] = internal::Sat16(MultiplyByQuantizedMultiplier(acc[r] + rq.bias[ur], rq.requant[ur], rq.mode));
  }
}

void s8_rnn_lstm_step_1c__generic(const PreparedLstmS8& p, const RnnS8StepRow& row) {
  const Index H = p.shape.hidden_size;
  std::int16_t* pre = row.work;
  for (Index r = 0; r < 4 * H; ++r) pre[r] = internal::Sat16(static_cast<std::int64_t>(row.ax[r]) + RecurrentTerm(row, r));
  const int ig_shift = 30 + p.cell_exponent;
  std::int16_t* c = row.state;
  for (Index j = 0; j < H; ++j) {
    const std::int16_t ig = fp::SigmoidQ3_12(pre[j]);
    const std::int16_t fg = fp::SigmoidQ3_12(pre[H + j]);
    const std::int16_t gg = fp::TanhQ3_12(pre[2 * H + j]);
    const std::int16_t og = fp::SigmoidQ3_12(pre[3 * H + j]);
    c[j] = fp::SaturatingAdd16(fp::MulRoundingShift16(fg, c[j], 15), fp::MulRoundingShift16(ig, gg, ig_shift));
    const std::int32_t prod = static_cast<std::int32_t>(og) * static_cast<std::int32_t>(p.tanh_cell(c[j]));
    row.h[j] =
        static_cast<std::int8_t>(RequantizeToRange(prod, p.requant_out, p.mode, p.hidden_zero_point, -128, 127));
  }
}

void s8_rnn_gru_step_1c__generic(const PreparedGruS8& p, const RnnS8StepRow& row) {
  const Index H = p.shape.hidden_size;
  std::int16_t* pre = row.work;  // [2H] z, r; then hn [H]
  std::int16_t* hn = row.work + 2 * H;
  for (Index r = 0; r < 2 * H; ++r) pre[r] = internal::Sat16(static_cast<std::int64_t>(row.ax[r]) + RecurrentTerm(row, r));
  for (Index j = 0; j < H; ++j) hn[j] = internal::Sat16(RecurrentTerm(row, 2 * H + j));
  std::int16_t* s = row.state;
  for (Index j = 0; j < H; ++j) {
    const std::int16_t zg = fp::SigmoidQ3_12(pre[j]);
    const std::int16_t rg = fp::SigmoidQ3_12(pre[H + j]);
    const std::int16_t ng = fp::TanhQ3_12(fp::SaturatingAdd16(row.ax[2 * H + j], fp::MulRoundingShift16(rg, hn[j], 15)));
    const std::int32_t diff = static_cast<std::int32_t>(s[j]) - ng;
    const std::int32_t blend =
        static_cast<std::int32_t>(ng) + fp::RoundingDivideByPOT<std::int32_t>(static_cast<std::int32_t>(zg) * diff, 15);
    s[j] = internal::Sat16(blend);
    row.h[j] = static_cast<std::int8_t>(
        RequantizeToRange(s[j], p.requant_out, p.mode, p.hidden_zero_point, -128, 127));
  }
}

void s8_rnn_activation_1c__generic(RnnS8Activation f, int integer_bits, const std::int16_t* x, std::int16_t* y,
                                   std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    switch (f) {
      case RnnS8Activation::kSigmoidQ3_12: y[i] = fp::SigmoidQ3_12(x[i]); break;
      case RnnS8Activation::kTanhQ3_12: y[i] = fp::TanhQ3_12(x[i]); break;
      case RnnS8Activation::kTanhInt16: y[i] = fp::TanhInt16(x[i], integer_bits); break;
    }
  }
}

}  // namespace qualm::kernels::detail
