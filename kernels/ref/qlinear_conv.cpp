// Frozen scalar reference for int8 convolution with asymmetric weights
// (qlinear_conv_s8.h, ONNX QLinearConv). conv2d_s8.cpp with one change: each weight has
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

#include "internal/conv_taps.h"
#include "qualm/kernels/qlinear_conv_s8.h"

namespace qualm::kernels::ref {

void qlinear_conv_s8(const PreparedQLinearConvS8& pp, const std::int8_t* x, const std::int8_t* w,
                     const std::int32_t* bias, std::int8_t* y) {
  using Index = std::int64_t;
  const Conv2dParams& p = pp.shape;
  const PreparedQLinearQuant& q = pp.quant;
  QUALM_DCHECK(q.output.requant.size() == static_cast<std::size_t>(p.out_c));
  QUALM_DCHECK(q.weight_zero_points.size() == static_cast<std::size_t>(p.out_c));
  const Index oh = p.out_h(), ow = p.out_w(), icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  const Index taps = Index{p.kernel_h} * p.kernel_w, image = Index{p.in_h} * p.in_w * p.in_c;
  const std::int32_t zp_x = q.input_zero_point;
  for (Index n = 0; n < p.batch; ++n) {
    const std::int8_t* xn = x + n * image;
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        std::int8_t* yrow = y + ((n * oh + oy) * ow + ox) * p.out_c;
        for (Index oc = 0; oc < p.out_c; ++oc) {
          const Index c0 = (oc / ocg) * icg;  // first input channel of this group
          const std::int32_t zp_w = q.weight_zero_points[static_cast<std::size_t>(oc)];
          std::int32_t acc = 0;
          internal::ForEachConvTap(p, oy, ox, [&](Index tap, Index pixel) {
            const std::int8_t* xp = xn + pixel * p.in_c + c0;
            const std::int8_t* wp = w + (oc * taps + tap) * icg;
            for (Index ci = 0; ci < icg; ++ci)
              acc += (static_cast<std::int32_t>(wp[ci]) - zp_w) * (static_cast<std::int32_t>(xp[ci]) - zp_x);
          });
          if (bias) acc += bias[oc];
          yrow[oc] = RequantizeOutputS8(acc, q.output, static_cast<std::size_t>(oc));
        }
      }
    }
  }
}

}  // namespace qualm::kernels::ref
