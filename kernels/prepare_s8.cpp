// Prepare step of every int8 op (conv2d_s8.h, dense_s8.h, pool_s8.h,
// eltwise_s8.h, quantize_s8.h): validation with messages that name the op, the
// field and the value, and precomputation of the per-channel Requant through
// requant.h's QuantizeMultiplier. Shared by the reference kernels and any future
// optimized path: an op is validated here once, its kernels only DCHECK.
// Also the post-training helpers QuantizeWeightsS8 / QuantizeBiasS8.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/eltwise_s8.h"
#include "qualm/kernels/pool_s8.h"
#include "qualm/kernels/quantize_s8.h"

#include "internal/prepare_messages.h"

namespace qualm::kernels {
namespace {

using internal::F;
using internal::Op;
using internal::S;
using internal::ValidateScale;


Status ValidateZeroPoint(const char* op, const std::string& field, std::int32_t zp) {
  if (zp >= kInt8Min && zp <= kInt8Max) return Status::Ok();
  return InvalidArgument(Op(op) + field + " must be in [-128, 127], got " + S(zp));
}

// QuantizeMultiplier with the op, the field and the real value in the message.
Result<Requant> MakeRequant(const char* op, const std::string& what, double real_multiplier) {
  Result<Requant> r = QuantizeMultiplier(real_multiplier);
  if (r.ok()) return r;
  return InvalidArgument(Op(op) + what + " = " + F(real_multiplier) +
                         " is not representable as a requantization multiplier (" + r.status().message() + ")");
}

// Shared by conv2d_s8 and dense_s8: everything but the shape.
struct GemmLikeQuant {
  const char* op;
  int out_c;
  std::int64_t k;  // reduction length
  const QuantParams* input;
  const std::vector<float>* weight_scales;
  const OutputQuantS8* output;
  const std::int8_t* w;
  std::int64_t w_count;
  const std::int32_t* bias;
};

Result<PreparedOutputQuantS8> PrepareGemmLike(const GemmLikeQuant& q) {
  const char* op = q.op;
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "input", *q.input));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "output", q.output->params));
  QUALM_RETURN_IF_ERROR(ValidateActivationRangeS8(op, q.output->act_min, q.output->act_max));
  const std::size_t ns = q.weight_scales->size();
  if (ns != static_cast<std::size_t>(q.out_c) && ns != 1) {
    return InvalidArgument(Op(op) + "weight_scales has " + S(static_cast<long long>(ns)) +
                           " entries, expected one per output channel (" + S(q.out_c) + ") or 1 (per-tensor)");
  }
  for (std::size_t c = 0; c < ns; ++c) {
    QUALM_RETURN_IF_ERROR(ValidateScale(op, "weight_scales[" + S(static_cast<long long>(c)) + "]",
                                        (*q.weight_scales)[c]));
  }
  if (q.w == nullptr) return InvalidArgument(Op(op) + "weights are required (got null)");
  QUALM_RETURN_IF_ERROR(CheckWeightsS8(op, q.w, q.w_count));

  // |acc| <= K * 255 * 127 + |bias|: |x - zp_in| <= 255, |w| <= 127.
  std::int64_t max_bias = 0, max_bias_at = 0;
  if (q.bias) {
    for (int c = 0; c < q.out_c; ++c) {
      const std::int64_t b = q.bias[c] < 0 ? -std::int64_t{q.bias[c]} : std::int64_t{q.bias[c]};
      if (b > max_bias) max_bias = b, max_bias_at = c;
    }
  }
  const std::int64_t bound = q.k * 255 * 127 + max_bias;
  if (bound >= (std::int64_t{1} << 31)) {
    return InvalidArgument(Op(op) + "int32 accumulator can overflow: K = " + S(q.k) + " (K * 255 * 127 = " +
                           S(q.k * 255 * 127) + ") + max|bias| = " + S(max_bias) + " (bias[" + S(max_bias_at) +
                           "]) = " + S(bound) + " >= 2^31");
  }

  PreparedOutputQuantS8 out;
  out.requant.resize(static_cast<std::size_t>(q.out_c));
  const double s_in = q.input->scale, s_out = q.output->params.scale;
  for (int c = 0; c < q.out_c; ++c) {
    const double s_w = (*q.weight_scales)[ns == 1 ? 0 : static_cast<std::size_t>(c)];
    QUALM_ASSIGN_OR_RETURN(out.requant[static_cast<std::size_t>(c)],
                           MakeRequant(op, "channel " + S(c) + " multiplier s_in * s_w / s_out", s_in * s_w / s_out));
  }
  out.zero_point = q.output->params.zero_point;
  out.act_min = q.output->act_min, out.act_max = q.output->act_max;
  out.mode = q.output->mode;
  return out;
}

Status ValidatePoolQuant(const char* op, const QuantParams& in, const QuantParams& out, std::int32_t act_min,
                         std::int32_t act_max) {
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "input", in));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "output", out));
  if (in.scale != out.scale || in.zero_point != out.zero_point) {
    return InvalidArgument(Op(op) + "output scale/zero point (" + F(out.scale) + ", " + S(out.zero_point) +
                           ") must equal the input's (" + F(in.scale) + ", " + S(in.zero_point) +
                           "): int8 pooling does not requantize");
  }
  return ValidateActivationRangeS8(op, act_min, act_max);
}

Status ValidateCount(const char* op, std::int64_t count) {
  if (count >= 0) return Status::Ok();
  return InvalidArgument(Op(op) + "count must be non-negative, got " + S(count));
}

}  // namespace

// ---------------------------------------------------------------------------
Status ValidateQuantParamsS8(const char* op, const char* field, const QuantParams& q) {
  QUALM_RETURN_IF_ERROR(ValidateScale(op, std::string(field) + ".scale", q.scale));
  return ValidateZeroPoint(op, std::string(field) + ".zero_point", q.zero_point);
}

Status ValidateActivationRangeS8(const char* op, std::int32_t act_min, std::int32_t act_max) {
  if (act_min < kInt8Min || act_min > kInt8Max)
    return InvalidArgument(Op(op) + "act_min must be in [-128, 127], got " + S(act_min));
  if (act_max < kInt8Min || act_max > kInt8Max)
    return InvalidArgument(Op(op) + "act_max must be in [-128, 127], got " + S(act_max));
  if (act_min > act_max)
    return InvalidArgument(Op(op) + "act_min " + S(act_min) + " must not exceed act_max " + S(act_max));
  return Status::Ok();
}

Status CheckWeightsS8(const char* op, const std::int8_t* w, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    if (w[i] < -kWeightS8Max) {
      return InvalidArgument(Op(op) + "weight[" + S(i) + "] = " + S(w[i]) +
                             " is outside the narrow symmetric range [-127, 127]");
    }
  }
  return Status::Ok();
}

ActivationRange FusedActivationRange(FusedActivation act, const QuantParams& output) {
  ActivationRange r;
  if (act == FusedActivation::kNone) return r;
  const auto q = [&](float v) {
    return QuantizeValue(v, output.scale, output.zero_point, kInt8Min, kInt8Max, RoundingMode::kHalfAwayFromZero);
  };
  r.min = std::max(kInt8Min, q(0.0f));
  if (act == FusedActivation::kRelu6) r.max = std::min(kInt8Max, q(6.0f));
  return r;
}

Status Validate(const QuantizeS8Params& p) {
  const char* op = "quantize_s8";
  QUALM_RETURN_IF_ERROR(ValidateCount(op, p.count));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "q", p.q));
  if (p.rounding != RoundingMode::kHalfAwayFromZero && p.rounding != RoundingMode::kHalfToEven)
    return InvalidArgument(Op(op) + "unknown rounding mode " + S(static_cast<int>(p.rounding)));
  return Status::Ok();
}

// ---------------------------------------------------------------------------
Result<PreparedConv2dS8> PrepareConv2dS8(const Conv2dS8Params& p, const std::int8_t* w, const std::int32_t* bias) {
  const char* op = "conv2d_s8";
  {
    const Status s = Validate(p.shape);
    if (!s.ok()) return InvalidArgument(Op(op) + s.message());
  }
  const Conv2dParams& c = p.shape;
  const std::int64_t k = std::int64_t{c.kernel_h} * c.kernel_w * (c.in_c / c.groups);
  GemmLikeQuant q{op, c.out_c, k, &p.input, &p.weight_scales, &p.output, w, k * c.out_c, bias};
  PreparedConv2dS8 out;
  QUALM_ASSIGN_OR_RETURN(out.output, PrepareGemmLike(q));
  out.shape = c;
  out.input_zero_point = p.input.zero_point;
  return out;
}

Result<PreparedDenseS8> PrepareDenseS8(const DenseS8Params& p, const std::int8_t* w, const std::int32_t* bias) {
  const char* op = "dense_s8";
  {
    const Status s = Validate(p.shape);
    if (!s.ok()) return InvalidArgument(Op(op) + s.message());
  }
  const DenseParams& d = p.shape;
  GemmLikeQuant q{op, d.out_features, d.in_features, &p.input, &p.weight_scales, &p.output,
                  w, std::int64_t{d.in_features} * d.out_features, bias};
  PreparedDenseS8 out;
  QUALM_ASSIGN_OR_RETURN(out.output, PrepareGemmLike(q));
  out.shape = d;
  out.input_zero_point = p.input.zero_point;
  return out;
}

// ---------------------------------------------------------------------------
namespace {
Result<PreparedPool2dS8> PreparePool(const char* op, const Pool2dS8Params& p, bool average) {
  {
    const Status s = Validate(p.shape);
    if (!s.ok()) return InvalidArgument(Op(op) + s.message());
  }
  QUALM_RETURN_IF_ERROR(ValidatePoolQuant(op, p.input, p.output, p.act_min, p.act_max));
  const std::int64_t taps = std::int64_t{p.shape.kernel_h} * p.shape.kernel_w;
  if (average && taps * 128 >= (std::int64_t{1} << 31)) {
    return InvalidArgument(Op(op) + "window " + S(p.shape.kernel_h) + "x" + S(p.shape.kernel_w) +
                           " is too large: its int8 sum can overflow int32");
  }
  PreparedPool2dS8 out;
  out.shape = p.shape;
  out.zero_point = p.input.zero_point;
  out.act_min = p.act_min, out.act_max = p.act_max;
  return out;
}
}  // namespace

Result<PreparedPool2dS8> PrepareMaxPool2dS8(const Pool2dS8Params& p) { return PreparePool("max_pool2d_s8", p, false); }
Result<PreparedPool2dS8> PrepareAvgPool2dS8(const Pool2dS8Params& p) { return PreparePool("avg_pool2d_s8", p, true); }

Result<PreparedGlobalAvgPoolS8> PrepareGlobalAvgPoolS8(const GlobalAvgPoolS8Params& p) {
  const char* op = "global_avg_pool_s8";
  const GlobalPoolParams& g = p.shape;
  if (g.batch <= 0) return InvalidArgument(Op(op) + "batch must be positive, got " + S(g.batch));
  if (g.spatial <= 0) return InvalidArgument(Op(op) + "spatial must be positive, got " + S(g.spatial));
  if (g.channels <= 0) return InvalidArgument(Op(op) + "channels must be positive, got " + S(g.channels));
  if (std::int64_t{g.spatial} * 128 >= (std::int64_t{1} << 31))
    return InvalidArgument(Op(op) + "spatial " + S(g.spatial) + " is too large: the int8 sum can overflow int32");
  QUALM_RETURN_IF_ERROR(ValidatePoolQuant(op, p.input, p.output, p.act_min, p.act_max));
  PreparedGlobalAvgPoolS8 out;
  out.shape = g;
  out.act_min = p.act_min, out.act_max = p.act_max;
  return out;
}

// ---------------------------------------------------------------------------
Result<PreparedAddS8> PrepareAddS8(const AddS8Params& p) {
  const char* op = "add_s8";
  QUALM_RETURN_IF_ERROR(ValidateCount(op, p.count));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "input_a", p.input_a));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "input_b", p.input_b));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "output", p.output));
  QUALM_RETURN_IF_ERROR(ValidateActivationRangeS8(op, p.act_min, p.act_max));
  const double sa = p.input_a.scale, sb = p.input_b.scale, so = p.output.scale;
  const double twice_max = 2.0 * std::max(sa, sb);
  PreparedAddS8 out;
  QUALM_ASSIGN_OR_RETURN(out.requant_a, MakeRequant(op, "input_a multiplier s_a / (2 max(s_a, s_b))", sa / twice_max));
  QUALM_ASSIGN_OR_RETURN(out.requant_b, MakeRequant(op, "input_b multiplier s_b / (2 max(s_a, s_b))", sb / twice_max));
  QUALM_ASSIGN_OR_RETURN(out.requant_out,
                         MakeRequant(op, "output multiplier 2 max(s_a, s_b) / (2^20 s_out)",
                                     twice_max / (static_cast<double>(1 << kAddS8LeftShift) * so)));
  out.count = p.count;
  out.zero_point_a = p.input_a.zero_point;
  out.zero_point_b = p.input_b.zero_point;
  out.output_zero_point = p.output.zero_point;
  out.act_min = p.act_min, out.act_max = p.act_max;
  out.mode = p.mode;
  return out;
}

Result<PreparedRescaleS8> PrepareRescaleS8(const RescaleS8Params& p) {
  const char* op = "rescale_s8";
  QUALM_RETURN_IF_ERROR(ValidateCount(op, p.count));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "input", p.input));
  QUALM_RETURN_IF_ERROR(ValidateQuantParamsS8(op, "output", p.output));
  QUALM_RETURN_IF_ERROR(ValidateActivationRangeS8(op, p.act_min, p.act_max));
  PreparedRescaleS8 out;
  QUALM_ASSIGN_OR_RETURN(out.requant, MakeRequant(op, "multiplier s_in / s_out",
                                                  static_cast<double>(p.input.scale) / p.output.scale));
  out.count = p.count;
  out.input_zero_point = p.input.zero_point;
  out.output_zero_point = p.output.zero_point;
  out.act_min = p.act_min, out.act_max = p.act_max;
  out.mode = p.mode;
  return out;
}

// ---------------------------------------------------------------------------
std::int32_t QuantizeBiasS8(float bias, double input_scale, double weight_scale) {
  if (std::isnan(bias)) return 0;
  const double v = std::round(static_cast<double>(bias) / (input_scale * weight_scale));  // ties away from zero
  if (!(v < 2147483647.0)) return std::numeric_limits<std::int32_t>::max();
  if (!(v > -2147483648.0)) return std::numeric_limits<std::int32_t>::min();
  return static_cast<std::int32_t>(v);
}

Result<QuantizedWeightsS8> QuantizeWeightsS8(int out_c, std::int64_t per_channel, const float* w,
                                             const float* bias, float input_scale) {
  const char* op = "quantize_weights_s8";
  if (out_c <= 0) return InvalidArgument(Op(op) + "out_c must be positive, got " + S(out_c));
  if (per_channel <= 0) return InvalidArgument(Op(op) + "per_channel must be positive, got " + S(per_channel));
  if (w == nullptr) return InvalidArgument(Op(op) + "weights are required (got null)");
  QUALM_RETURN_IF_ERROR(ValidateScale(op, "input_scale", input_scale));
  QuantizedWeightsS8 out;
  out.weights.resize(static_cast<std::size_t>(out_c * per_channel));
  out.scales.resize(static_cast<std::size_t>(out_c));
  for (int c = 0; c < out_c; ++c) {
    const float* wc = w + c * per_channel;
    float max_abs = 0.0f;
    for (std::int64_t i = 0; i < per_channel; ++i) {
      if (!std::isfinite(wc[i]))
        return InvalidArgument(Op(op) + "weight[" + S(c * per_channel + i) + "] is not finite: " + F(wc[i]));
      max_abs = std::max(max_abs, std::fabs(wc[i]));
    }
    const QuantParams qp = ChooseSymmetricParams(max_abs, kWeightS8Max);
    QUALM_RETURN_IF_ERROR(ValidateScale(op, "scale of channel " + S(c), qp.scale));
    out.scales[static_cast<std::size_t>(c)] = qp.scale;
    for (std::int64_t i = 0; i < per_channel; ++i) {
      out.weights[static_cast<std::size_t>(c * per_channel + i)] = static_cast<std::int8_t>(
          QuantizeValue(wc[i], qp.scale, 0, -kWeightS8Max, kWeightS8Max, RoundingMode::kHalfAwayFromZero));
    }
  }
  if (bias) {
    out.bias.resize(static_cast<std::size_t>(out_c));
    for (int c = 0; c < out_c; ++c) {
      if (!std::isfinite(bias[c]))
        return InvalidArgument(Op(op) + "bias[" + S(c) + "] is not finite: " + F(bias[c]));
      out.bias[static_cast<std::size_t>(c)] = QuantizeBiasS8(bias[c], input_scale, out.scales[static_cast<std::size_t>(c)]);
    }
  }
  return out;
}

}  // namespace qualm::kernels
