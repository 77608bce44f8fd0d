// qualm/kernels/conv2d_s8.h: int8 2-D convolution (TFLite integer semantics).
//
// Layouts (identical to the float conv2d.h):
//   x    int8  NHWC [batch][in_h][in_w][in_c]
//   w    int8  OHWI [out_c][kernel_h][kernel_w][in_c / groups], values in [-127, 127]
//   bias int32 [out_c] at scale s_in * s_w[c], zp 0 (may be null)
//   y    int8  NHWC [batch][out_h][out_w][out_c]
// Groups / stride / dilation / padding exactly as Conv2dParams.
//
// Order of operations per output element (n, oy, ox, oc):
//   acc  = sum over (ky, kx, ci) of w * (x - zp_in)    int32, exact; padding taps are
//                                                      skipped, i.e. they read zp_in
//   acc += bias[oc]                                    (if bias)
//   y    = RequantizeToRange(acc, requant[oc], mode, zp_out, act_min, act_max)
//          (RequantizeOutputS8, quantize_s8.h)
// RequantizeToRange (requant.h) is the only rounding: kGemmlowp (default, TFLite
// double rounding), kSingle or kFloat, chosen by `mode`.
// requant[oc] = QuantizeMultiplier((double)s_in * (double)s_w[oc] / (double)s_out).
//
// Prepare validates everything once; the kernels never validate and never allocate.
// Prepare checks (message names op "conv2d_s8", the field and its value):
//   * shape: Validate(Conv2dParams)
//   * input/output scale > 0 and finite, zero points in [-128, 127]
//   * weight_scales: out_c entries (or exactly 1 = per-tensor, broadcast), each > 0, finite
//   * -128 <= act_min <= act_max <= 127
//   * every multiplier representable (QuantizeMultiplier succeeds: shift <= 30)
//   * weights non-null and in [-127, 127] (narrow range; -128 is rejected)
//   * no int32 overflow: K * 255 * 127 + max|bias| < 2^31, K = kh * kw * in_c / groups
// The weights and bias given to Prepare must be the ones passed to conv2d_s8
// (model constants); Prepare reads them only to check them.
//
// Fast path (fast::conv2d_s8, bit-identical to ref::conv2d_s8 on every ISA and
// thread count; int8_gemm.h says why). Use (prepare once, run many times):
//   PreparedConv2dS8 p = *PrepareConv2dS8(params, w, bias);      // validates
//   PackedS8Weights packed = PackConv2dS8Weights(p, w);          // once
//   std::vector<int16_t> scratch(fast::conv2d_s8_scratch_int16(p, threads));
//   fast::conv2d_s8({threads, scratch.data(), scratch.size()}, p, packed, x, bias, y);
// p.shape.batch may be lowered between calls (the engine runs n <= max_batch
// samples); the packed weights do not depend on it, and the scratch size for
// the largest batch covers every smaller one. Pure depthwise convs (in_c ==
// out_c == groups) need no scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/context.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct Conv2dS8Params {
  Conv2dParams shape;
  QuantParams input;                 // s_in, zp_in
  std::vector<float> weight_scales;  // s_w[oc], out_c entries (or 1: per-tensor)
  OutputQuantS8 output;              // s_out, zp_out, act_min, act_max, mode (quantize_s8.h)
};

struct PreparedConv2dS8 {
  Conv2dParams shape;
  std::int32_t input_zero_point = 0;
  PreparedOutputQuantS8 output;  // requant [out_c]
};

Result<PreparedConv2dS8> PrepareConv2dS8(const Conv2dS8Params& p, const std::int8_t* w, const std::int32_t* bias);

namespace ref {
void conv2d_s8(const PreparedConv2dS8& p, const std::int8_t* x, const std::int8_t* w, const std::int32_t* bias,
               std::int8_t* y);
}  // namespace ref

// `w` must be the weights given to Prepare (OHWI); p's batch is ignored.
PackedS8Weights PackConv2dS8Weights(const PreparedConv2dS8& p, const std::int8_t* w);

namespace fast {
// int16 elements of scratch for `threads` threads at p.shape.batch (0 for depthwise).
std::size_t conv2d_s8_scratch_int16(const PreparedConv2dS8& p, int threads);
// The micro-kernel conv2d_s8 runs for p under the active int8 variant: its
// implicit-GEMM conv (e.g. "s8u8_igemm_24x16c4__avx512vnni"), its depthwise
// kernel, or its GEMM over im2col. For benchmark labels and tests.
const char* conv2d_s8_kernel_name(const PreparedConv2dS8& p);
// Bit-identical to ref::conv2d_s8 with the same p, w (packed from it), x, bias
// (may be null) and y.
void conv2d_s8(const KernelContextS8& ctx, const PreparedConv2dS8& p, const PackedS8Weights& w,
               const std::int8_t* x, const std::int32_t* bias, std::int8_t* y);
}  // namespace fast

}  // namespace qualm::kernels
