// qualm/kernels/pool_s8.h: int8 max, average and global-average pooling (NHWC),
// TFLite integer semantics. No requantization: input and output must share
// scale and zero point (Prepare rejects anything else), so pooling commutes with
// dequantization and the only rounding is the average's integer division.
//
// Layouts as pool.h: x [batch][in_h][in_w][channels], y [batch][out_h][out_w][channels];
// global: x [batch][spatial][channels] -> y [batch][channels].
//
// Max:     y = clamp(max over the real (non-padding) taps of x, act_min, act_max).
// Average: sum = sum of the raw int8 values x over the window's real taps, in int32
//          (as TFLite: the zero point is NOT subtracted). With count_include_pad
//          (ONNX), each padding tap contributes zp (real 0.0) and count = kh * kw;
//          otherwise count = number of real taps.
//          y = clamp(RoundingDivide(sum, count), act_min, act_max) with
//          RoundingDivide(s, n) = s > 0 ? (s + n/2) / n : (s - n/2) / n  (C++ '/'
//          truncating): round to nearest, ties away from zero (TFLite reference).
// Global average: same formula over all `spatial` positions of each channel
//          (as an average pool whose window is the whole image).
//
// Prepare checks (op names "max_pool2d_s8", "avg_pool2d_s8", "global_avg_pool_s8"):
// shape (Validate(Pool2dParams), or positive sizes for global), input/output scale
// > 0 and finite, zero points in [-128, 127], input.scale == output.scale and
// input.zero_point == output.zero_point (bit-equal floats), -128 <= act_min <=
// act_max <= 127, and for averages that the window sum fits int32.
#pragma once

#include <cstdint>

#include "qualm/kernels/pool.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct Pool2dS8Params {
  Pool2dParams shape;
  QuantParams input, output;  // must be equal
  std::int32_t act_min = kInt8Min;
  std::int32_t act_max = kInt8Max;
};

struct PreparedPool2dS8 {
  Pool2dParams shape;
  std::int32_t zero_point = 0;  // used by average pooling with count_include_pad
  std::int32_t act_min = kInt8Min, act_max = kInt8Max;
};

Result<PreparedPool2dS8> PrepareMaxPool2dS8(const Pool2dS8Params& p);
Result<PreparedPool2dS8> PrepareAvgPool2dS8(const Pool2dS8Params& p);

struct GlobalAvgPoolS8Params {
  GlobalPoolParams shape;
  QuantParams input, output;  // must be equal
  std::int32_t act_min = kInt8Min;
  std::int32_t act_max = kInt8Max;
};

struct PreparedGlobalAvgPoolS8 {
  GlobalPoolParams shape;
  std::int32_t act_min = kInt8Min, act_max = kInt8Max;
};

Result<PreparedGlobalAvgPoolS8> PrepareGlobalAvgPoolS8(const GlobalAvgPoolS8Params& p);

namespace ref {
void max_pool2d_s8(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
void avg_pool2d_s8(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
void global_avg_pool_s8(const PreparedGlobalAvgPoolS8& p, const std::int8_t* x, std::int8_t* y);
}  // namespace ref

// Fast versions: bit-identical to ref:: on every variant (the same windows, exact
// int32 sums, the same RoundingDivide); single-threaded, no scratch; dispatch in
// quantize_s8.h ("Fast elementwise-family dispatch").
namespace fast {
void max_pool2d_s8(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
void avg_pool2d_s8(const PreparedPool2dS8& p, const std::int8_t* x, std::int8_t* y);
void global_avg_pool_s8(const PreparedGlobalAvgPoolS8& p, const std::int8_t* x, std::int8_t* y);
}  // namespace fast

}  // namespace qualm::kernels
