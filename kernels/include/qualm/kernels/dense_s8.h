// qualm/kernels/dense_s8.h: int8 fully connected layer (TFLite integer semantics).
//
// Layouts (identical to the float dense.h):
//   x    int8  [batch][in_features]
//   w    int8  [out_features][in_features], values in [-127, 127], per-output-channel scales
//   bias int32 [out_features] at scale s_in * s_w[o], zp 0 (may be null)
//   y    int8  [batch][out_features]
//
// Order of operations per output element (b, o):
//   acc  = sum over i (ascending) of w[o][i] * (x[b][i] - zp_in)   int32, exact
//   acc += bias[o]
//   y    = RequantizeToRange(acc, requant[o], mode, zp_out, act_min, act_max)
// requant[o] = QuantizeMultiplier((double)s_in * (double)s_w[o] / (double)s_out).
//
// Prepare checks exactly what PrepareConv2dS8 checks (op name "dense_s8"), with
// K = in_features: shape, scales, zero points, weight_scales count (out_features
// or 1), activation range, multipliers, weights in [-127, 127], and
// K * 255 * 127 + max|bias| < 2^31. dense_s8 never validates, never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "qualm/kernels/dense.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct DenseS8Params {
  DenseParams shape;
  QuantParams input;
  std::vector<float> weight_scales;  // [out_features] (or 1: per-tensor)
  QuantParams output;
  std::int32_t act_min = kInt8Min;
  std::int32_t act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;
};

struct PreparedDenseS8 {
  DenseParams shape;
  std::int32_t input_zero_point = 0;
  std::int32_t output_zero_point = 0;
  std::int32_t act_min = kInt8Min, act_max = kInt8Max;
  RequantMode mode = RequantMode::kGemmlowp;
  std::vector<Requant> requant;  // [out_features]
};

Result<PreparedDenseS8> PrepareDenseS8(const DenseS8Params& p, const std::int8_t* w, const std::int32_t* bias);

namespace ref {
void dense_s8(const PreparedDenseS8& p, const std::int8_t* x, const std::int8_t* w, const std::int32_t* bias,
              std::int8_t* y);
}  // namespace ref

}  // namespace qualm::kernels
