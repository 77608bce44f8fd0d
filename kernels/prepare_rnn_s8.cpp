// Prepare step of the integer LSTM and GRU (recurrent_s8.h): validation with
// messages that name the op, the field and the value; the per-row Requant of
// both gate products and of the hidden output (requant.h's QuantizeMultiplier);
// the zero-point terms folded into int32 biases (as TFLite).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/recurrent_s8.h"

#include "internal/prepare_messages.h"

namespace qualm::kernels {
namespace {

using internal::F;
using internal::Op;
using internal::S;
using internal::ValidateScale;

constexpr double kPreActivationScale = 1.0 / 4096.0;  // Q3.12


Result<Requant> MakeRequant(const char* op, const std::string& what, double real_multiplier) {
  Result<Requant> r = QuantizeMultiplier(real_multiplier);
  if (r.ok()) return r;
  return InvalidArgument(Op(op) + what + " = " + F(real_multiplier) +
                         " is not representable as a requantization multiplier (" + r.status().message() + ")");
}

// The part shared by both ops: scales, weights, gate-product multipliers, folded biases.
struct GateSide {
  const char* name;                     // "w_x" or "w_h"
  const std::vector<float>* scales;     // 1, G or G*H entries
  const std::int8_t* w;                 // [G*H][K]
  std::int64_t k;                       // I or H
  const std::int32_t* bias;             // [G*H] or null
  const char* bias_name;                // for messages
  float act_scale;                      // s_x or s_h
  std::int32_t zero_point;              // zp_x or zp_h
  const char* act_name;                 // "s_x" or "s_h"
};

struct GateSideOut {
  std::vector<Requant> requant;
  std::vector<std::int32_t> folded_bias;
};

Result<GateSideOut> PrepareGateSide(const char* op, int gates, std::int64_t hidden, const GateSide& g) {
  const std::int64_t rows = gates * hidden;
  const std::size_t ns = g.scales->size();
  if (ns != 1 && ns != static_cast<std::size_t>(gates) && ns != static_cast<std::size_t>(rows)) {
    return InvalidArgument(Op(op) + g.name + "_scales has " + S(static_cast<long long>(ns)) +
                           " entries, expected 1 (per matrix), " + S(gates) + " (per gate) or " + S(rows) +
                           " (per row)");
  }
  for (std::size_t i = 0; i < ns; ++i) {
    QUALM_RETURN_IF_ERROR(
        ValidateScale(op, std::string(g.name) + "_scales[" + S(static_cast<long long>(i)) + "]", (*g.scales)[i]));
  }
  if (g.w == nullptr) return InvalidArgument(Op(op) + g.name + " is required (got null)");
  {
    const Status s = CheckWeightsS8(op, g.w, rows * g.k);
    if (!s.ok()) return InvalidArgument(s.message() + " (in " + g.name + ")");
  }
  GateSideOut out;
  out.requant.resize(static_cast<std::size_t>(rows));
  out.folded_bias.resize(static_cast<std::size_t>(rows));
  const std::int64_t max_product = g.k * 127 * 128;  // |sum_k w * v| with |w| <= 127, |v| <= 128
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::size_t si = ns == 1 ? 0 : ns == static_cast<std::size_t>(gates) ? static_cast<std::size_t>(r / hidden)
                                                                               : static_cast<std::size_t>(r);
    const double m = static_cast<double>(g.act_scale) * static_cast<double>((*g.scales)[si]) / kPreActivationScale;
    QUALM_ASSIGN_OR_RETURN(out.requant[static_cast<std::size_t>(r)],
                           MakeRequant(op, std::string(g.name) + " row " + S(r) + " multiplier " + g.act_name +
                                               " * scale / 2^-12",
                                       m));
    std::int64_t row_sum = 0;
    for (std::int64_t i = 0; i < g.k; ++i) row_sum += g.w[r * g.k + i];
    const std::int64_t folded = (g.bias ? std::int64_t{g.bias[r]} : 0) - std::int64_t{g.zero_point} * row_sum;
    const std::int64_t bound = max_product + (folded < 0 ? -folded : folded);
    if (bound >= (std::int64_t{1} << 31)) {
      return InvalidArgument(Op(op) + "int32 accumulator of " + g.name + " row " + S(r) + " can overflow: K = " +
                             S(g.k) + " (K * 127 * 128 = " + S(max_product) + ") + |" + g.bias_name +
                             " - zero_point * row sum| = " + S(folded < 0 ? -folded : folded) + " = " + S(bound) +
                             " >= 2^31");
    }
    out.folded_bias[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(folded);
  }
  return out;
}

Status ValidateCommon(const char* op, const RnnParams& shape, const QuantParams& input, const QuantParams& hidden,
                      RequantMode mode) {
  {
    const Status s = Validate(shape);
    if (!s.ok()) return InvalidArgument(Op(op) + s.message());
  }
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "input", input));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "hidden", hidden));
  if (mode != RequantMode::kGemmlowp && mode != RequantMode::kSingle && mode != RequantMode::kFloat)
    return InvalidArgument(Op(op) + "unknown requant mode " + S(static_cast<int>(mode)));
  return Status::Ok();
}

}  // namespace

Result<PreparedLstmS8> PrepareLstmS8(const LstmS8Params& p, const LstmS8Weights& w) {
  const char* op = "lstm_s8";
  QUALM_RETURN_IF_ERROR(ValidateCommon(op, p.shape, p.input, p.hidden, p.mode));
  QUALM_RETURN_IF_ERROR(ValidateScale(op, "cell_scale", p.cell_scale));
  int e2 = 0;
  if (std::frexp(static_cast<double>(p.cell_scale), &e2) != 0.5) {
    return InvalidArgument(Op(op) + "cell_scale must be a power of two 2^e (the cell update is a rounding shift), got " +
                           F(p.cell_scale));
  }
  const int e = e2 - 1;
  const fixedpoint::TanhInt16Fn tanh_cell = fixedpoint::GetTanhInt16(15 + e);
  if (e < kLstmS8MinCellExponent || e > kLstmS8MaxCellExponent || tanh_cell == nullptr) {
    return InvalidArgument(Op(op) + "cell_scale 2^" + S(e) + " is outside the supported [2^" +
                           S(kLstmS8MinCellExponent) + ", 2^" + S(kLstmS8MaxCellExponent) +
                           "] (tanh of the cell state reads it with 15 + e integer bits, supported 0.." +
                           S(fixedpoint::kMaxTanhIntegerBits) + ")");
  }
  const std::int64_t H = p.shape.hidden_size;
  PreparedLstmS8 out;
  {
    GateSide gx{"w_x", &p.w_x_scales, w.w_x, p.shape.input_size, w.bias, "bias", p.input.scale,
                p.input.zero_point, "s_x"};
    QUALM_ASSIGN_OR_RETURN(GateSideOut sx, PrepareGateSide(op, 4, H, gx));
    out.requant_x = std::move(sx.requant);
    out.bias_x = std::move(sx.folded_bias);
  }
  {
    GateSide gh{"w_h", &p.w_h_scales, w.w_h, H, nullptr, "0", p.hidden.scale, p.hidden.zero_point, "s_h"};
    QUALM_ASSIGN_OR_RETURN(GateSideOut sh, PrepareGateSide(op, 4, H, gh));
    out.requant_h = std::move(sh.requant);
    out.bias_h = std::move(sh.folded_bias);
  }
  QUALM_ASSIGN_OR_RETURN(out.requant_out, MakeRequant(op, "hidden output multiplier 2^-30 / s_h",
                                                      std::ldexp(1.0, -30) / static_cast<double>(p.hidden.scale)));
  out.shape = p.shape;
  out.input_zero_point = p.input.zero_point;
  out.hidden_zero_point = p.hidden.zero_point;
  out.cell_exponent = e;
  out.tanh_cell = tanh_cell;
  out.mode = p.mode;
  return out;
}

Result<PreparedGruS8> PrepareGruS8(const GruS8Params& p, const GruS8Weights& w) {
  const char* op = "gru_s8";
  QUALM_RETURN_IF_ERROR(ValidateCommon(op, p.shape, p.input, p.hidden, p.mode));
  const std::int64_t H = p.shape.hidden_size;
  PreparedGruS8 out;
  {
    GateSide gx{"w_x", &p.w_x_scales, w.w_x, p.shape.input_size, w.b_x, "b_x", p.input.scale,
                p.input.zero_point, "s_x"};
    QUALM_ASSIGN_OR_RETURN(GateSideOut sx, PrepareGateSide(op, 3, H, gx));
    out.requant_x = std::move(sx.requant);
    out.bias_x = std::move(sx.folded_bias);
  }
  {
    GateSide gh{"w_h", &p.w_h_scales, w.w_h, H, w.b_h, "b_h", p.hidden.scale, p.hidden.zero_point, "s_h"};
    QUALM_ASSIGN_OR_RETURN(GateSideOut sh, PrepareGateSide(op, 3, H, gh));
    out.requant_h = std::move(sh.requant);
    out.bias_h = std::move(sh.folded_bias);
  }
  QUALM_ASSIGN_OR_RETURN(out.requant_out, MakeRequant(op, "hidden output multiplier 2^-15 / s_h",
                                                      std::ldexp(1.0, -15) / static_cast<double>(p.hidden.scale)));
  out.shape = p.shape;
  out.input_zero_point = p.input.zero_point;
  out.hidden_zero_point = p.hidden.zero_point;
  out.mode = p.mode;
  return out;
}

}  // namespace qualm::kernels
