// kernels/internal/conv_taps.h: the receptive field of one conv output pixel,
// as every direct (non-im2col) conv loop walks it: ref::conv2d_f32,
// ref::conv2d_s8, ref::conv2d_hybrid, ref::qlinear_conv_s8 and the generic
// depthwise micro-kernel. Not a public header.
//
// ForEachConvTap(p, oy, ox, fn) calls fn(tap, pixel) for every kernel tap
// (ky, kx) that lands inside the input, in row-major (ky, kx) order, which is
// the accumulation order the references document:
//   tap   = ky * kernel_w + kx      the weights of output channel oc are at
//                                   w + (oc * kernel_h * kernel_w + tap) * (in_c / groups)
//   pixel = iy * in_w + ix          the input channels are at
//                                   x_image + pixel * in_c (NHWC, one image)
// Padding taps are skipped: they read the zero point (0.0 in float) and add
// nothing. It is the loop nest the kernels had written out, inlined: the same
// taps in the same order, so every sum keeps its bits.
#pragma once

#include <cstdint>

#include "qualm/kernels/conv2d.h"

namespace qualm::kernels::internal {

template <typename Fn>
inline void ForEachConvTap(const Conv2dParams& p, std::int64_t oy, std::int64_t ox, Fn&& fn) {
  using Index = std::int64_t;
  for (Index ky = 0; ky < p.kernel_h; ++ky) {
    const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) continue;
    for (Index kx = 0; kx < p.kernel_w; ++kx) {
      const Index ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
      if (ix < 0 || ix >= p.in_w) continue;
      fn(ky * p.kernel_w + kx, iy * p.in_w + ix);
    }
  }
}

}  // namespace qualm::kernels::internal
