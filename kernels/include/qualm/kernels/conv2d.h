// qualm/kernels/conv2d.h: float 2-D convolution, forward and backward.
//
// Layouts (fixed for every path, chosen for the int8 SIMD and oneDNN paths):
//   x    NHWC  [batch][in_h][in_w][in_c]
//   w    OHWI  [out_c][kernel_h][kernel_w][in_c / groups]
//   bias [out_c] (may be null)
//   y    NHWC  [batch][out_h][out_w][out_c]
// Groups split in_c and out_c into `groups` equal, consecutive slices; output
// channel oc reads input slice oc / (out_c / groups). Padding positions read 0.
//
// Gradients are ACCUMULATED (+=) into dx, dw and db, so that a tensor read by
// several consumers (residual blocks) gets the sum of their gradients; the
// engine zeroes gradient buffers before a backward pass. Any of dx, dw, db may be
// null when that gradient is not wanted.
#pragma once

#include <cstddef>

#include "qualm/kernels/context.h"
#include "qualm/status.h"

namespace qualm::kernels {

struct Conv2dParams {
  int batch = 1, in_h = 1, in_w = 1, in_c = 1;
  int out_c = 1, kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int groups = 1;

  int out_h() const { return (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int out_w() const { return (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
};

// All sizes positive, groups divide both channel counts, padding non-negative,
// and the (dilated) kernel fits in the padded input. Message names the problem.
Status Validate(const Conv2dParams& p);

namespace ref {
void conv2d_f32(const Conv2dParams& p, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_f32(const Conv2dParams& p, const float* x, const float* w, const float* dy,
                         float* dx, float* dw, float* db);
}  // namespace ref

namespace fast {
std::size_t conv2d_scratch_floats(const Conv2dParams& p, int threads);
void conv2d_f32(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                const float* bias, float* y);
void conv2d_backward_f32(const KernelContext& ctx, const Conv2dParams& p, const float* x, const float* w,
                         const float* dy, float* dx, float* dw, float* db);
}  // namespace fast

}  // namespace qualm::kernels
