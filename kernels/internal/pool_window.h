// kernels/internal/pool_window.h: the input window one pooling output reads,
// shared by the float and int8 reference pools and the fast int8 pools so that
// every path visits exactly the same taps.
#pragma once

#include <algorithm>
#include <cstdint>

#include "qualm/kernels/pool.h"

namespace qualm::kernels::internal {

// The real (non-padding) input range read by output (oy, ox): [y0, y1) x [x0, x1).
struct PoolWindow {
  std::int64_t y0, y1, x0, x1;
};

inline PoolWindow PoolWindowAt(const Pool2dParams& p, std::int64_t oy, std::int64_t ox) {
  const std::int64_t ys = oy * p.stride_h - p.pad_top, xs = ox * p.stride_w - p.pad_left;
  return {std::max<std::int64_t>(ys, 0), std::min<std::int64_t>(ys + p.kernel_h, p.in_h),
          std::max<std::int64_t>(xs, 0), std::min<std::int64_t>(xs + p.kernel_w, p.in_w)};
}

}  // namespace qualm::kernels::internal
