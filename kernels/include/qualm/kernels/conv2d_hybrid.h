// qualm/kernels/conv2d_hybrid.h: hybrid (dynamic-quantization) 2-D
// convolution: int8 weights, float x quantized per image at run time, float y.
// The family's rules (per-sample quantization, exact int32 sums, the float
// product P) are hybrid_quant.h's.
//
//   x NHWC float, w OHWI [out_c][kh][kw][in_c / groups] int8 in [-127, 127],
//   scales [out_c] or [1], bias [out_c] float or null, y NHWC float; groups,
//   stride, dilation and padding exactly as Conv2dParams.
//   y = P(acc, s_x, s_w[oc]) + bias[oc]   (acc over ky, kx, ci; padding taps
//   read zp_x, i.e. add 0; no add if bias is null)
// Scratch: conv2d_hybrid_scratch_bytes(shape) bytes, aligned for float (one
// quantized image).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/hybrid_quant.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct Conv2dHybridParams {
  Conv2dParams shape;
  std::vector<float> weight_scales;  // [out_c] or [1]
};
struct PreparedConv2dHybrid {
  Conv2dParams shape;
  std::vector<float> weight_scales;  // [out_c]
};
Result<PreparedConv2dHybrid> PrepareConv2dHybrid(const Conv2dHybridParams& p, const std::int8_t* w);

namespace ref {
std::size_t conv2d_hybrid_scratch_bytes(const Conv2dParams& p);  // in_h * in_w * in_c
void conv2d_hybrid(const PreparedConv2dHybrid& p, const float* x, const std::int8_t* w, const float* bias, float* y,
                   void* scratch);
}  // namespace ref

}  // namespace qualm::kernels
