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
//
// Fast path (fast::conv2d_hybrid, bit-identical to ref::conv2d_hybrid on every
// int8 GEMM variant and thread count; hybrid_quant.h says why): weights packed
// once with PackConv2dHybridWeights; ctx.scratch (64-byte aligned) of at least
// fast::conv2d_hybrid_scratch_floats(p, ctx.threads) floats, sized at the largest
// batch. Threads quantize whole images, then split the output pixels of the
// batch. Pure depthwise convs (in_c == out_c == groups) run ref::conv2d_hybrid
// (a GEMM of one column per group; none of the study's dynamic models has one
// with many channels); w is the raw OHWI weights, read only then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "qualm/kernels/context.h"
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

PackedHybridWeights PackConv2dHybridWeights(const PreparedConv2dHybrid& p, const std::int8_t* w);

namespace fast {
// Floats of ctx.scratch for `threads` threads at p.shape.batch (mixed contents, as dense_hybrid's).
std::size_t conv2d_hybrid_scratch_floats(const PreparedConv2dHybrid& p, int threads);
void conv2d_hybrid(const KernelContext& ctx, const PreparedConv2dHybrid& p, const PackedHybridWeights& packed,
                   const float* x, const std::int8_t* w, const float* bias, float* y);
}  // namespace fast

}  // namespace qualm::kernels
