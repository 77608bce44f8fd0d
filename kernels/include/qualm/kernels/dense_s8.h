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
// K * 255 * 127 + max|bias| < 2^31. The kernels never validate, never allocate.
//
// Fast path (fast::dense_s8, bit-identical to ref::dense_s8 on every ISA and
// thread count; int8_gemm.h says why): used like fast::conv2d_s8 (conv2d_s8.h),
// with PackDenseS8Weights and dense_s8_scratch_int16. Threads split the batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/context.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct DenseS8Params {
  DenseParams shape;
  QuantParams input;                 // s_in, zp_in
  std::vector<float> weight_scales;  // [out_features] (or 1: per-tensor)
  OutputQuantS8 output;              // s_out, zp_out, act_min, act_max, mode (quantize_s8.h)
};

struct PreparedDenseS8 {
  DenseParams shape;
  std::int32_t input_zero_point = 0;
  PreparedOutputQuantS8 output;  // requant [out_features]
};

Result<PreparedDenseS8> PrepareDenseS8(const DenseS8Params& p, const std::int8_t* w, const std::int32_t* bias);

namespace ref {
void dense_s8(const PreparedDenseS8& p, const std::int8_t* x, const std::int8_t* w, const std::int32_t* bias,
              std::int8_t* y);
}  // namespace ref

// `w` must be the weights given to Prepare ([out][in]); p's batch is ignored.
PackedS8Weights PackDenseS8Weights(const PreparedDenseS8& p, const std::int8_t* w);

namespace fast {
// int16 elements of scratch for `threads` threads at p.shape.batch.
std::size_t dense_s8_scratch_int16(const PreparedDenseS8& p, int threads);
// Bit-identical to ref::dense_s8 with the same p, w (packed from it), x, bias
// (may be null) and y.
void dense_s8(const KernelContextS8& ctx, const PreparedDenseS8& p, const PackedS8Weights& w, const std::int8_t* x,
              const std::int32_t* bias, std::int8_t* y);
}  // namespace fast

}  // namespace qualm::kernels
