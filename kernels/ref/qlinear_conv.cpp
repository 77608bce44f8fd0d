// Frozen scalar reference for int8 convolution with asymmetric weights
// (qlinear.h, ONNX QLinearConv). conv2d_s8.cpp with one change: each weight has
// its output channel's zero point subtracted.
//
// Order of operations per output element (n, oy, ox, oc), loops nested
// n, oy, ox, oc, then ky, kx, ci:
//   acc = 0 (int32); for each real tap: acc += (int32(w) - zp_w[oc]) * (int32(x) - zp_x)
//   (padding taps are skipped: they read zp_x, contributing 0);
//   acc += bias[oc] (if bias);
//   y = RequantizeToRange(acc, requant[oc], mode, zp_y, act_min, act_max)  (requant.h:
//       the one and only rounding, per the prepared RequantMode).
// Every factor is at most 255 in magnitude, and Prepare proved that no partial
// sum and no biased sum can leave int32 for any int8 input, so the sums are
// exact and the loop order does not affect the result. No intrinsics, no
// threads, no scratch, no validation, no allocation.
#include <cstddef>
#include <cstdint>

#include "qualm/kernels/qlinear.h"

namespace qualm::kernels::ref {

void qlinear_conv_s8(const PreparedQLinearConvS8& pp, const std::int8_t* x, const std::int8_t* w,
                     const std::int32_t* bias, std::int8_t* y) {
  using Index = std::int64_t;
  const Conv2dParams& p = pp.shape;
  const PreparedQLinearQuant& q = pp.quant;
  QUALM_DCHECK(q.requant.size() == static_cast<std::size_t>(p.out_c));
  QUALM_DCHECK(q.weight_zero_points.size() == static_cast<std::size_t>(p.out_c));
  const Index oh = p.out_h(), ow = p.out_w(), icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  const std::int32_t zp_x = q.input_zero_point;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        std::int8_t* yrow = y + ((n * oh + oy) * ow + ox) * p.out_c;
        for (Index oc = 0; oc < p.out_c; ++oc) {
          const Index c0 = (oc / ocg) * icg;  // first input channel of this group
          const std::int32_t zp_w = q.weight_zero_points[static_cast<std::size_t>(oc)];
          std::int32_t acc = 0;
          for (Index ky = 0; ky < p.kernel_h; ++ky) {
            const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
            if (iy < 0 || iy >= p.in_h) continue;
            for (Index kx = 0; kx < p.kernel_w; ++kx) {
              const Index ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
              if (ix < 0 || ix >= p.in_w) continue;
              const std::int8_t* xp = x + ((n * p.in_h + iy) * p.in_w + ix) * p.in_c + c0;
              const std::int8_t* wp = w + ((oc * p.kernel_h + ky) * p.kernel_w + kx) * icg;
              for (Index ci = 0; ci < icg; ++ci)
                acc += (static_cast<std::int32_t>(wp[ci]) - zp_w) * (static_cast<std::int32_t>(xp[ci]) - zp_x);
            }
          }
          if (bias) acc += bias[oc];
          yrow[oc] = static_cast<std::int8_t>(RequantizeToRange(acc, q.requant[static_cast<std::size_t>(oc)], q.mode,
                                                                q.output_zero_point, q.act_min, q.act_max));
        }
      }
    }
  }
}

}  // namespace qualm::kernels::ref
