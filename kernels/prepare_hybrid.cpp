// Prepare step of the hybrid (dynamic-quantization) ops (hybrid_quant.h): validation
// with messages that name the op, the field and the value, and the weight
// scales expanded to one per output channel / gate row. Shared by the
// reference kernels and any future optimized path: an op is validated here
// once, its kernels only DCHECK.
//
// What is checked (hybrid_quant.h, "Calling convention"): the shape, the scale count
// (per channel/row or exactly 1) and every scale > 0 and finite, weights
// non-null and in [-127, 127], and the int32 accumulator bound
// K * 255 * 127 < 2^31 (a dynamically quantized input has |q - zp| <= 255; no
// int32 bias is added, so unlike the int8 ops the bound has no bias term).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "qualm/kernels/conv2d_hybrid.h"
#include "qualm/kernels/dense_hybrid.h"
#include "qualm/kernels/recurrent_hybrid.h"

#include "internal/prepare_messages.h"

namespace qualm::kernels {
namespace {

using internal::F;
using internal::Op;
using internal::S;

// The float shape validation, prefixed with the op ("dense_hybrid: dense: ...").
template <typename Shape>
Status ValidateShape(const char* op, const Shape& shape) {
  const Status s = Validate(shape);
  if (s.ok()) return s;
  return InvalidArgument(Op(op) + s.message());
}

// `scales` must hold `count` entries or exactly 1; each > 0 and finite.
// Returns them expanded to `count` entries.
Result<std::vector<float>> ExpandScales(const char* op, const char* field, const std::vector<float>& scales,
                                        std::int64_t count, const char* per_what) {
  const std::size_t ns = scales.size();
  if (ns != static_cast<std::size_t>(count) && ns != 1) {
    return InvalidArgument(Op(op) + field + " has " + S(static_cast<long long>(ns)) + " entries, expected one per " +
                           per_what + " (" + S(count) + ") or 1 (broadcast)");
  }
  for (std::size_t i = 0; i < ns; ++i) {
    const float s = scales[i];
    if (!(std::isfinite(s) && s > 0.0f)) {
      return InvalidArgument(Op(op) + field + "[" + S(static_cast<long long>(i)) +
                             "] must be positive and finite, got " + F(s));
    }
  }
  std::vector<float> out(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = scales[ns == 1 ? 0 : i];
  return out;
}

// Weights non-null, in [-127, 127]; `what` names the matrix in the message
// ("weights", "w_x", "w_h").
Status CheckWeights(const char* op, const char* what, const std::int8_t* w, std::int64_t count) {
  if (w == nullptr) return InvalidArgument(Op(op) + what + " are required (got null)");
  const Status s = CheckWeightsS8(op, w, count);
  if (s.ok()) return s;
  return InvalidArgument(s.message() + " (in " + what + ")");
}

// |acc| <= K * 255 * 127 must stay below 2^31.
Status CheckAccumulatorBound(const char* op, const char* what, std::int64_t k) {
  const std::int64_t bound = k * 255 * 127;
  if (bound < (std::int64_t{1} << 31)) return Status::Ok();
  return InvalidArgument(Op(op) + "int32 accumulator of " + what + " can overflow: K = " + S(k) +
                         ", K * 255 * 127 = " + S(bound) + " >= 2^31 (K must be at most 66311)");
}

Result<PreparedRnnHybrid> PrepareRnn(const char* op, int gates, const RnnHybridParams& p, const std::int8_t* w_x,
                                     const std::int8_t* w_h) {
  QUALM_RETURN_IF_ERROR(ValidateShape(op, p.shape));
  const std::int64_t rows = std::int64_t{gates} * p.shape.hidden_size;
  const std::int64_t I = p.shape.input_size, H = p.shape.hidden_size;
  PreparedRnnHybrid out;
  QUALM_ASSIGN_OR_RETURN(out.w_x_scales, ExpandScales(op, "w_x_scales", p.w_x_scales, rows, "gate row"));
  QUALM_ASSIGN_OR_RETURN(out.w_h_scales, ExpandScales(op, "w_h_scales", p.w_h_scales, rows, "gate row"));
  QUALM_RETURN_IF_ERROR(CheckWeights(op, "w_x", w_x, rows * I));
  QUALM_RETURN_IF_ERROR(CheckWeights(op, "w_h", w_h, rows * H));
  // The two products are separate int32 accumulators (added only as floats).
  QUALM_RETURN_IF_ERROR(CheckAccumulatorBound(op, "w_x (K = input_size)", I));
  QUALM_RETURN_IF_ERROR(CheckAccumulatorBound(op, "w_h (K = hidden_size)", H));
  out.shape = p.shape;
  out.gates = gates;
  return out;
}

}  // namespace

Result<PreparedDenseHybrid> PrepareDenseHybrid(const DenseHybridParams& p, const std::int8_t* w) {
  const char* op = "dense_hybrid";
  QUALM_RETURN_IF_ERROR(ValidateShape(op, p.shape));
  const DenseParams& d = p.shape;
  PreparedDenseHybrid out;
  QUALM_ASSIGN_OR_RETURN(out.weight_scales,
                         ExpandScales(op, "weight_scales", p.weight_scales, d.out_features, "output channel"));
  QUALM_RETURN_IF_ERROR(CheckWeights(op, "weights", w, std::int64_t{d.out_features} * d.in_features));
  QUALM_RETURN_IF_ERROR(CheckAccumulatorBound(op, "the product (K = in_features)", d.in_features));
  out.shape = d;
  return out;
}

Result<PreparedConv2dHybrid> PrepareConv2dHybrid(const Conv2dHybridParams& p, const std::int8_t* w) {
  const char* op = "conv2d_hybrid";
  QUALM_RETURN_IF_ERROR(ValidateShape(op, p.shape));
  const Conv2dParams& c = p.shape;
  const std::int64_t k = std::int64_t{c.kernel_h} * c.kernel_w * (c.in_c / c.groups);
  PreparedConv2dHybrid out;
  QUALM_ASSIGN_OR_RETURN(out.weight_scales,
                         ExpandScales(op, "weight_scales", p.weight_scales, c.out_c, "output channel"));
  QUALM_RETURN_IF_ERROR(CheckWeights(op, "weights", w, k * c.out_c));
  QUALM_RETURN_IF_ERROR(CheckAccumulatorBound(op, "the product (K = kernel_h * kernel_w * in_c / groups)", k));
  out.shape = c;
  return out;
}

Result<PreparedRnnHybrid> PrepareLstmHybrid(const RnnHybridParams& p, const LstmHybridWeights& w) {
  return PrepareRnn("lstm_hybrid", 4, p, w.w_x, w.w_h);
}

Result<PreparedRnnHybrid> PrepareGruHybrid(const RnnHybridParams& p, const GruHybridWeights& w) {
  return PrepareRnn("gru_hybrid", 3, p, w.w_x, w.w_h);
}

}  // namespace qualm::kernels
