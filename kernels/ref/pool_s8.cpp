// Frozen scalar reference for int8 max / average / global-average pooling
// (pool_s8.h). Input and output share scale and zero point (checked at Prepare),
// so there is no requantization.
//
// Order: window taps in row-major (ky, kx) order, padding taps skipped.
//   max:     y = clamp(max of the real taps, act_min, act_max)
//   average: sum = int32 sum of the raw int8 values of the real taps
//            (+ zp for each padding tap when count_include_pad, count = kh*kw;
//            otherwise count = number of real taps);
//            y = clamp(RoundingDivide(sum, count), act_min, act_max)
//   global:  the same over all `spatial` positions.
// RoundingDivide(s, n) = s > 0 ? (s + n/2) / n : (s - n/2) / n with truncating
// '/': nearest, ties away from zero (TFLite reference AveragePool). This integer
// division is the only rounding; it is not a requantization (same scale in and
// out), which is why it does not go through requant.h.
#include <algorithm>
#include <cstdint>

#include "internal/pool_window.h"

#include "qualm/kernels/pool_s8.h"

namespace qualm::kernels::ref {
namespace {

using Index = std::int64_t;

std::int32_t RoundingDivide(std::int32_t sum, std::int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

std::int8_t Clamp(std::int32_t v, std::int32_t lo, std::int32_t hi) {
  return static_cast<std::int8_t>(std::min(std::max(v, lo), hi));
}

using Window = internal::PoolWindow;
constexpr auto WindowAt = internal::PoolWindowAt;

}  // namespace

void max_pool2d_s8(const PreparedPool2dS8& pp, const std::int8_t* x, std::int8_t* y) {
  const Pool2dParams& p = pp.shape;
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        std::int8_t* yp = y + ((n * oh + oy) * ow + ox) * ch;
        const Window w = WindowAt(p, oy, ox);
        QUALM_DCHECK(w.y0 < w.y1 && w.x0 < w.x1);
        for (Index c = 0; c < ch; ++c) {
          std::int32_t m = -128;
          for (Index iy = w.y0; iy < w.y1; ++iy)
            for (Index ix = w.x0; ix < w.x1; ++ix)
              m = std::max<std::int32_t>(m, x[((n * p.in_h + iy) * p.in_w + ix) * ch + c]);
          yp[c] = Clamp(m, pp.act_min, pp.act_max);
        }
      }
    }
  }
}

void avg_pool2d_s8(const PreparedPool2dS8& pp, const std::int8_t* x, std::int8_t* y) {
  const Pool2dParams& p = pp.shape;
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        std::int8_t* yp = y + ((n * oh + oy) * ow + ox) * ch;
        const Window w = WindowAt(p, oy, ox);
        const auto real = static_cast<std::int32_t>((w.y1 - w.y0) * (w.x1 - w.x0));
        const std::int32_t count = p.count_include_pad ? p.kernel_h * p.kernel_w : real;
        const std::int32_t pad_sum = p.count_include_pad ? (count - real) * pp.zero_point : 0;
        for (Index c = 0; c < ch; ++c) {
          std::int32_t sum = 0;
          for (Index iy = w.y0; iy < w.y1; ++iy)
            for (Index ix = w.x0; ix < w.x1; ++ix) sum += x[((n * p.in_h + iy) * p.in_w + ix) * ch + c];
          yp[c] = Clamp(RoundingDivide(sum + pad_sum, count), pp.act_min, pp.act_max);
        }
      }
    }
  }
}

void global_avg_pool_s8(const PreparedGlobalAvgPoolS8& pp, const std::int8_t* x, std::int8_t* y) {
  const GlobalPoolParams& p = pp.shape;
  const Index ch = p.channels;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index c = 0; c < ch; ++c) {
      std::int32_t sum = 0;
      for (Index s = 0; s < p.spatial; ++s) sum += x[(n * p.spatial + s) * ch + c];
      y[n * ch + c] = Clamp(RoundingDivide(sum, p.spatial), pp.act_min, pp.act_max);
    }
  }
}

}  // namespace qualm::kernels::ref
