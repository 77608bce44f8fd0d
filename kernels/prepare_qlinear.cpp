// Prepare step of the asymmetric-weight int8 ops (qlinear_quant.h): validation with
// messages "<op>: <field> ... got <value>", the exact int32 accumulator bound,
// and the per-channel zero points and Requant (through requant.h's
// QuantizeMultiplier). The kernels in ref/qlinear_*.cpp only DCHECK.
//
// The few message helpers mirror prepare_s8.cpp's (which keeps them private);
// the shared public checks (ValidateQuantParamsS8, ValidateActivationRangeS8)
// are reused as they are, so both families word their errors alike.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "qualm/kernels/qlinear_conv_s8.h"
#include "qualm/kernels/qlinear_matmul_s8.h"

#include "internal/prepare_messages.h"

namespace qualm::kernels {
namespace {

using internal::F;
using internal::Op;
using internal::S;

// Per-tensor (1 entry) or per-channel (`channels` entries): anything else is a
// shape mismatch. `what` says what the channels are ("output channel", "column of B").
template <typename T>
Status CheckPerChannelCount(const char* op, const char* field, const std::vector<T>& v, int channels,
                            const char* what) {
  if (v.size() == 1 || v.size() == static_cast<std::size_t>(channels)) return Status::Ok();
  return InvalidArgument(Op(op) + field + " has " + S(static_cast<long long>(v.size())) +
                         " entries, expected one per " + what + " (" + S(channels) + ") or 1 (per tensor)");
}

// Everything but the shape. `w` holds `groups_of_weights` blocks of
// [channels][k] seen through (channel, tap) -> w[block * block_stride +
// channel * channel_stride + tap * tap_stride]: conv has one block (OHWI: channel
// stride k, tap stride 1), matmul one per distinct B (column j: stride 1, tap k:
// stride n). This keeps the overflow bound one loop for both layouts.
struct WeightView {
  const std::int8_t* w;
  std::int64_t blocks, block_stride, channel_stride, tap_stride, k;
};

Result<PreparedQLinearQuant> PrepareQuant(const char* op, const QLinearQuant& q, int channels, const WeightView& wv,
                                          const std::int32_t* bias, const char* channel_name) {
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "input", q.input));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "output", q.output.params));
  QUALM_RETURN_IF_ERROR(ValidateActivationRangeS8(op, q.output.act_min, q.output.act_max));
  const RequantMode mode = q.output.mode;
  if (mode != RequantMode::kGemmlowp && mode != RequantMode::kSingle && mode != RequantMode::kFloat)
    return InvalidArgument(Op(op) + "unknown requant mode " + S(static_cast<int>(mode)));

  QUALM_RETURN_IF_ERROR(CheckPerChannelCount(op, "weight_scales", q.weight_scales, channels, channel_name));
  for (std::size_t c = 0; c < q.weight_scales.size(); ++c) {
    const float s = q.weight_scales[c];
    if (!(std::isfinite(s) && s > 0.0f))
      return InvalidArgument(Op(op) + "weight_scales[" + S(static_cast<long long>(c)) +
                             "] must be positive and finite, got " + F(s));
  }
  const std::vector<std::int32_t> zp_default{0};
  const std::vector<std::int32_t>& zps = q.weight_zero_points.empty() ? zp_default : q.weight_zero_points;
  QUALM_RETURN_IF_ERROR(CheckPerChannelCount(op, "weight_zero_points", zps, channels, channel_name));
  for (std::size_t c = 0; c < zps.size(); ++c) {
    if (zps[c] < kInt8Min || zps[c] > kInt8Max)
      return InvalidArgument(Op(op) + "weight_zero_points[" + S(static_cast<long long>(c)) +
                             "] must be in [-128, 127], got " + S(zps[c]));
  }
  if (wv.w == nullptr) return InvalidArgument(Op(op) + "weights are required (got null)");

  PreparedQLinearQuant out;
  out.input_zero_point = q.input.zero_point;
  out.output.zero_point = q.output.params.zero_point;
  out.output.act_min = q.output.act_min, out.output.act_max = q.output.act_max;
  out.output.mode = mode;
  out.weight_zero_points.resize(static_cast<std::size_t>(channels));
  for (int c = 0; c < channels; ++c)
    out.weight_zero_points[static_cast<std::size_t>(c)] = zps[zps.size() == 1 ? 0 : static_cast<std::size_t>(c)];

  // The exact reachable accumulator range (qlinear_quant.h): x - zp_x spans
  // [-x_neg, x_pos]; a term d * (x - zp_x) spans [-d x_neg, d x_pos] for d > 0 and
  // [-|d| x_pos, |d| x_neg] for d < 0. Each range contains 0, so every partial sum
  // lies within [lo, hi] too. pos, neg <= K * 255 < 2^39 (the shape checks bound
  // the weight count by 2^31), times at most 255: int64 is exact.
  const std::int64_t x_pos = kInt8Max - q.input.zero_point, x_neg = q.input.zero_point - kInt8Min;
  constexpr std::int64_t kMin = INT32_MIN, kMax = INT32_MAX;
  for (std::int64_t blk = 0; blk < wv.blocks; ++blk) {
    for (int c = 0; c < channels; ++c) {
      const std::int8_t* wc = wv.w + blk * wv.block_stride + c * wv.channel_stride;
      const std::int64_t zp_w = out.weight_zero_points[static_cast<std::size_t>(c)];
      std::int64_t pos = 0, neg = 0;  // sum of d > 0, sum of |d| for d < 0
      for (std::int64_t t = 0; t < wv.k; ++t) {
        const std::int64_t d = wc[t * wv.tap_stride] - zp_w;
        (d > 0 ? pos : neg) += d > 0 ? d : -d;
      }
      const std::int64_t hi = pos * x_pos + neg * x_neg, lo = -(pos * x_neg + neg * x_pos);
      const std::int64_t b = bias ? bias[c] : 0;
      if (lo >= kMin && hi <= kMax && lo + b >= kMin && hi + b <= kMax) continue;
      return InvalidArgument(Op(op) + "int32 accumulator can overflow in " + channel_name + " " + S(c) +
                             (wv.blocks > 1 ? " of batch " + S(blk) : std::string()) + ": K = " + S(wv.k) +
                             ", sum (w - zp_w) (x - zp_x) reaches [" + S(lo) + ", " + S(hi) + "], plus bias " +
                             S(b) + " [" + S(lo + b) + ", " + S(hi + b) + "], outside [-2^31, 2^31 - 1]");
    }
  }

  out.output.requant.resize(static_cast<std::size_t>(channels));
  const double s_in = q.input.scale, s_out = q.output.params.scale;
  for (int c = 0; c < channels; ++c) {
    const double s_w = q.weight_scales[q.weight_scales.size() == 1 ? 0 : static_cast<std::size_t>(c)];
    const double m = s_in * s_w / s_out;
    Result<Requant> r = QuantizeMultiplier(m);
    if (!r.ok()) {
      return InvalidArgument(Op(op) + channel_name + " " + S(c) + " multiplier s_in * s_w / s_out = " + F(m) +
                             " is not representable as a requantization multiplier (" + r.status().message() + ")");
    }
    out.output.requant[static_cast<std::size_t>(c)] = *r;
  }
  return out;
}

// a * b * c for positive ints, saturated to INT64_MAX (a * b alone always fits).
std::int64_t Elements(int a, int b, int c) {
  const std::int64_t ab = std::int64_t{a} * b;
  return ab > INT64_MAX / c ? INT64_MAX : ab * c;
}

Status RequirePositive(const char* op, const char* field, int v) {
  if (v > 0) return Status::Ok();
  return InvalidArgument(Op(op) + field + " must be positive, got " + S(v));
}

}  // namespace

Result<PreparedQLinearConvS8> PrepareQLinearConvS8(const QLinearConvS8Params& p, const std::int8_t* w,
                                                   const std::int32_t* bias) {
  const char* op = "qlinear_conv_s8";
  if (const Status s = Validate(p.shape); !s.ok()) return InvalidArgument(Op(op) + s.message());
  const Conv2dParams& c = p.shape;
  const std::int64_t k = std::int64_t{c.kernel_h} * c.kernel_w * (c.in_c / c.groups);
  // OHWI: channel oc's taps are contiguous.
  const WeightView wv{w, 1, 0, k, 1, k};
  PreparedQLinearConvS8 out;
  QUALM_ASSIGN_OR_RETURN(out.quant, PrepareQuant(op, p.quant, c.out_c, wv, bias, "output channel"));
  out.shape = c;
  return out;
}

Result<PreparedQLinearMatMulS8> PrepareQLinearMatMulS8(const QLinearMatMulS8Params& p, const std::int8_t* b,
                                                       const std::int32_t* bias) {
  const char* op = "qlinear_matmul_s8";
  const QLinearMatMulShape& s = p.shape;
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "batch", s.batch));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "m", s.m));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "k", s.k));
  QUALM_RETURN_IF_ERROR(RequirePositive(op, "n", s.n));
  // The kernel indexes in int64, but keep every tensor addressable by the
  // int-sized loops of any future optimized path, as Validate(DenseParams) does.
  const std::int64_t batch_b = s.shared_b ? 1 : s.batch;
  for (const auto& [name, count] :
       {std::pair<const char*, std::int64_t>{"a", Elements(s.batch, s.m, s.k)},
        {"b", Elements(static_cast<int>(batch_b), s.k, s.n)}, {"y", Elements(s.batch, s.m, s.n)}}) {
    if (count > INT32_MAX)
      return InvalidArgument(Op(op) + name + " has " + S(count) + " elements, more than the supported " +
                             S(INT32_MAX));
  }
  // B [k][n]: column j's taps are n apart.
  const WeightView wv{b, batch_b, std::int64_t{s.k} * s.n, 1, s.n, s.k};
  PreparedQLinearMatMulS8 out;
  QUALM_ASSIGN_OR_RETURN(out.quant, PrepareQuant(op, p.quant, s.n, wv, bias, "column of B"));
  out.shape = s;
  return out;
}

}  // namespace qualm::kernels
