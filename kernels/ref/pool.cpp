// Frozen scalar reference for max, average and global-average pooling (pool.h).
//
// Order: window taps are visited in row-major (ky, kx) order, padding taps are
// skipped. Max: the first strictly greater value wins, so ties go to the first
// maximum. Average: sum of the real taps from 0.0f in tap order, then one float
// division by the count. Backward passes scatter into dx in output index order
// (n, oy, ox, c), adding dy (max) or dy / count (average) per tap.
#include <cstdint>

#include "internal/pool_window.h"

#include "qualm/kernels/pool.h"

namespace qualm::kernels::ref {
namespace {

using Index = std::int64_t;

using Window = internal::PoolWindow;
constexpr auto WindowAt = internal::PoolWindowAt;

float AvgCount(const Pool2dParams& p, const Window& w) {
  if (p.count_include_pad) return static_cast<float>(p.kernel_h * p.kernel_w);
  return static_cast<float>((w.y1 - w.y0) * (w.x1 - w.x0));
}

}  // namespace

void max_pool2d_f32(const Pool2dParams& p, const float* x, float* y) {
  QUALM_DCHECK(Validate(p).ok());
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        float* yp = y + ((n * oh + oy) * ow + ox) * ch;
        const Window w = WindowAt(p, oy, ox);
        bool first = true;
        for (Index iy = w.y0; iy < w.y1; ++iy) {
          for (Index ix = w.x0; ix < w.x1; ++ix) {
            const float* xp = x + ((n * p.in_h + iy) * p.in_w + ix) * ch;
            for (Index c = 0; c < ch; ++c) yp[c] = (first || xp[c] > yp[c]) ? xp[c] : yp[c];
            first = false;
          }
        }
        if (first)  // only padding: unreachable for validated params
          for (Index c = 0; c < ch; ++c) yp[c] = 0.0f;
      }
    }
  }
}

void max_pool2d_backward_f32(const Pool2dParams& p, const float* x, const float* dy, float* dx) {
  QUALM_DCHECK(Validate(p).ok());
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        const Window w = WindowAt(p, oy, ox);
        for (Index c = 0; c < ch; ++c) {
          Index best = -1;
          float best_v = 0.0f;
          for (Index iy = w.y0; iy < w.y1; ++iy) {
            for (Index ix = w.x0; ix < w.x1; ++ix) {
              const Index at = ((n * p.in_h + iy) * p.in_w + ix) * ch + c;
              if (best < 0 || x[at] > best_v) best = at, best_v = x[at];
            }
          }
          if (best >= 0) dx[best] += dy[((n * oh + oy) * ow + ox) * ch + c];
        }
      }
    }
  }
}

void avg_pool2d_f32(const Pool2dParams& p, const float* x, float* y) {
  QUALM_DCHECK(Validate(p).ok());
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        float* yp = y + ((n * oh + oy) * ow + ox) * ch;
        const Window w = WindowAt(p, oy, ox);
        for (Index c = 0; c < ch; ++c) yp[c] = 0.0f;
        for (Index iy = w.y0; iy < w.y1; ++iy) {
          for (Index ix = w.x0; ix < w.x1; ++ix) {
            const float* xp = x + ((n * p.in_h + iy) * p.in_w + ix) * ch;
            for (Index c = 0; c < ch; ++c) yp[c] += xp[c];
          }
        }
        const float count = AvgCount(p, w);
        for (Index c = 0; c < ch; ++c) yp[c] /= count;
      }
    }
  }
}

void avg_pool2d_backward_f32(const Pool2dParams& p, const float* dy, float* dx) {
  QUALM_DCHECK(Validate(p).ok());
  const Index oh = p.out_h(), ow = p.out_w(), ch = p.channels;
  for (Index n = 0; n < p.batch; ++n) {
    for (Index oy = 0; oy < oh; ++oy) {
      for (Index ox = 0; ox < ow; ++ox) {
        const float* dyp = dy + ((n * oh + oy) * ow + ox) * ch;
        const Window w = WindowAt(p, oy, ox);
        const float count = AvgCount(p, w);
        for (Index iy = w.y0; iy < w.y1; ++iy) {
          for (Index ix = w.x0; ix < w.x1; ++ix) {
            float* dxp = dx + ((n * p.in_h + iy) * p.in_w + ix) * ch;
            for (Index c = 0; c < ch; ++c) dxp[c] += dyp[c] / count;
          }
        }
      }
    }
  }
}

void global_avg_pool_f32(const GlobalPoolParams& p, const float* x, float* y) {
  const Index ch = p.channels;
  const float count = static_cast<float>(p.spatial);
  for (Index n = 0; n < p.batch; ++n) {
    float* yp = y + n * ch;
    for (Index c = 0; c < ch; ++c) yp[c] = 0.0f;
    for (Index s = 0; s < p.spatial; ++s) {
      const float* xp = x + (n * p.spatial + s) * ch;
      for (Index c = 0; c < ch; ++c) yp[c] += xp[c];
    }
    for (Index c = 0; c < ch; ++c) yp[c] /= count;
  }
}

void global_avg_pool_backward_f32(const GlobalPoolParams& p, const float* dy, float* dx) {
  const Index ch = p.channels;
  const float count = static_cast<float>(p.spatial);
  for (Index n = 0; n < p.batch; ++n) {
    for (Index s = 0; s < p.spatial; ++s) {
      float* dxp = dx + (n * p.spatial + s) * ch;
      for (Index c = 0; c < ch; ++c) dxp[c] += dy[n * ch + c] / count;
    }
  }
}

}  // namespace qualm::kernels::ref
