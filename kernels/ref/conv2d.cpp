// Frozen scalar reference for conv2d (conv2d.h), forward and backward.
//
// Reduction order (the definition of the reference bits):
//  * forward:  y[n][oy][ox][oc] = (sum over ky, kx, ci, in that nesting order, of
//              x * w, accumulated in float from 0.0f, padding taps skipped) + bias[oc].
//  * db[oc]   += sum over (n, oy, ox) of dy, accumulated from 0.0f in that order.
//  * dw[..]   += sum over (n, oy, ox) of dy * x (padding taps skipped), from 0.0f.
//  * dx[..]   += sum over (ky, kx, oc) of dy * w over every output that read the
//                element, from 0.0f.
// Every gradient element is thus a sum computed from zero and added once to the
// caller's buffer, so "backward into a pre-filled buffer" is exactly
// "pre-filled + backward into zeros" (tested).
// No intrinsics, no threads, no scratch; compiled with -ffp-contract=off.
#include <cstddef>
#include <cstdint>

#include "internal/conv_taps.h"
#include "qualm/kernels/conv2d.h"

namespace qualm::kernels::ref {
namespace {

using Index = std::int64_t;

struct Dims {
  Index oh, ow, icg, ocg;
};

Dims MakeDims(const Conv2dParams& p) { return {p.out_h(), p.out_w(), p.in_c / p.groups, p.out_c / p.groups}; }

}  // namespace

void conv2d_f32(const Conv2dParams& p, const float* x, const float* w, const float* bias, float* y) {
  QUALM_DCHECK(Validate(p).ok());
  const Dims d = MakeDims(p);
  const Index taps = Index{p.kernel_h} * p.kernel_w, image = Index{p.in_h} * p.in_w * p.in_c;
  for (Index n = 0; n < p.batch; ++n) {
    const float* xn = x + n * image;
    for (Index oy = 0; oy < d.oh; ++oy) {
      for (Index ox = 0; ox < d.ow; ++ox) {
        float* yrow = y + ((n * d.oh + oy) * d.ow + ox) * p.out_c;
        for (Index oc = 0; oc < p.out_c; ++oc) {
          const Index c0 = (oc / d.ocg) * d.icg;  // first input channel of this group
          float acc = 0.0f;
          internal::ForEachConvTap(p, oy, ox, [&](Index tap, Index pixel) {
            const float* xp = xn + pixel * p.in_c + c0;
            const float* wp = w + (oc * taps + tap) * d.icg;
            for (Index ci = 0; ci < d.icg; ++ci) acc += xp[ci] * wp[ci];
          });
          yrow[oc] = bias ? acc + bias[oc] : acc;
        }
      }
    }
  }
}

void conv2d_backward_f32(const Conv2dParams& p, const float* x, const float* w, const float* dy, float* dx,
                         float* dw, float* db) {
  QUALM_DCHECK(Validate(p).ok());
  const Dims d = MakeDims(p);
  auto dy_at = [&](Index n, Index oy, Index ox, Index oc) {
    return dy[((n * d.oh + oy) * d.ow + ox) * p.out_c + oc];
  };

  if (db) {
    for (Index oc = 0; oc < p.out_c; ++oc) {
      float acc = 0.0f;
      for (Index n = 0; n < p.batch; ++n)
        for (Index oy = 0; oy < d.oh; ++oy)
          for (Index ox = 0; ox < d.ow; ++ox) acc += dy_at(n, oy, ox, oc);
      db[oc] += acc;
    }
  }

  if (dw) {
    for (Index oc = 0; oc < p.out_c; ++oc) {
      const Index c0 = (oc / d.ocg) * d.icg;
      for (Index ky = 0; ky < p.kernel_h; ++ky) {
        for (Index kx = 0; kx < p.kernel_w; ++kx) {
          for (Index ci = 0; ci < d.icg; ++ci) {
            float acc = 0.0f;
            for (Index n = 0; n < p.batch; ++n) {
              for (Index oy = 0; oy < d.oh; ++oy) {
                const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                if (iy < 0 || iy >= p.in_h) continue;
                for (Index ox = 0; ox < d.ow; ++ox) {
                  const Index ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                  if (ix < 0 || ix >= p.in_w) continue;
                  acc += dy_at(n, oy, ox, oc) * x[((n * p.in_h + iy) * p.in_w + ix) * p.in_c + c0 + ci];
                }
              }
            }
            dw[((oc * p.kernel_h + ky) * p.kernel_w + kx) * d.icg + ci] += acc;
          }
        }
      }
    }
  }

  if (dx) {
    // Gather: input row iy was read by output row oy through tap ky iff
    // oy * stride_h == iy + pad_top - ky * dilation_h.
    for (Index n = 0; n < p.batch; ++n) {
      for (Index iy = 0; iy < p.in_h; ++iy) {
        for (Index ix = 0; ix < p.in_w; ++ix) {
          for (Index c = 0; c < p.in_c; ++c) {
            const Index g = c / d.icg, ci = c % d.icg;
            float acc = 0.0f;
            for (Index ky = 0; ky < p.kernel_h; ++ky) {
              const Index ty = iy + p.pad_top - ky * p.dilation_h;
              if (ty < 0 || ty % p.stride_h != 0 || ty / p.stride_h >= d.oh) continue;
              const Index oy = ty / p.stride_h;
              for (Index kx = 0; kx < p.kernel_w; ++kx) {
                const Index tx = ix + p.pad_left - kx * p.dilation_w;
                if (tx < 0 || tx % p.stride_w != 0 || tx / p.stride_w >= d.ow) continue;
                const Index ox = tx / p.stride_w;
                for (Index oc = g * d.ocg; oc < (g + 1) * d.ocg; ++oc) {
                  acc += dy_at(n, oy, ox, oc) * w[((oc * p.kernel_h + ky) * p.kernel_w + kx) * d.icg + ci];
                }
              }
            }
            dx[((n * p.in_h + iy) * p.in_w + ix) * p.in_c + c] += acc;
          }
        }
      }
    }
  }
}

}  // namespace qualm::kernels::ref
