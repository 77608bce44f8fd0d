// fast/im2col_s8.h (private): the im2col of the fast int8 convolutions, shared
// by fast::conv2d_s8 (conv2d_s8.cpp) and fast::conv2d_hybrid
// (conv2d_hybrid.cpp) so that there is one transcription of the receptive
// field walk. The operand conversion (and what a padding tap holds) is the
// caller's Operand (fast/int8_rows.h).
#pragma once

#include <algorithm>
#include <cstdint>

#include "fast/int8_rows.h"
#include "qualm/kernels/conv2d.h"

namespace qualm::kernels::fast::internal_s8 {

inline bool IsDepthwise(const Conv2dParams& p) { return p.in_c == p.groups && p.out_c == p.groups; }

struct ConvGeometry {
  Index oh, ow, P, M;  // P pixels per image, M = batch * P GEMM rows
  Index icg, ocg, K, k_padded;
};

inline ConvGeometry MakeGeometry(const Conv2dParams& p) {
  ConvGeometry g;
  g.oh = p.out_h();
  g.ow = p.out_w();
  g.P = g.oh * g.ow;
  g.M = g.P * p.batch;
  g.icg = p.in_c / p.groups;
  g.ocg = p.out_c / p.groups;
  g.K = Index{p.kernel_h} * p.kernel_w * g.icg;
  g.k_padded = g.K + (g.K & 1);
  return g;
}

// Rows [row0, row0 + rows) of Col_g (group grp) into col ([rows][lda], the
// entries from K to lda zero: their weights are zero). Undilated taps of one
// kernel row inside the image are one contiguous run of kernel_w * in_c int8
// when the conv has one group: converted at once.
template <typename Operand>
inline void Im2Col(const Conv2dParams& p, const ConvGeometry& g, const std::int8_t* x, const Operand& op, int grp,
            Index row0, Index rows, Index lda, typename Operand::T* col) {
  using T = typename Operand::T;
  const Index c0 = grp * g.icg;
  const bool runs = p.dilation_w == 1 && p.groups == 1;
  const Index run = p.kernel_w * g.icg;
  // The pixel (n, oy, ox) of row0, then advanced row by row (divisions per
  // row would cost more than the copy itself when K is small).
  Index n = row0 / g.P, oy = row0 % g.P / g.ow, ox = row0 % g.ow;
  for (Index r = 0; r < rows; ++r, ++ox) {
    if (ox == g.ow) {
      ox = 0;
      if (++oy == g.oh) oy = 0, ++n;
    }
    const Index ix0 = ox * p.stride_w - p.pad_left;
    T* dst = col + r * lda;
    std::fill(dst + g.K, dst + lda, T{0});
    for (Index ky = 0; ky < p.kernel_h; ++ky, dst += run) {
      const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) {
        std::fill(dst, dst + run, op.pad);
        continue;
      }
      const std::int8_t* xrow = x + (n * p.in_h + iy) * p.in_w * p.in_c + c0;
      if (runs && ix0 >= 0 && ix0 + p.kernel_w <= p.in_w) {
        op.Convert(xrow + ix0 * p.in_c, run, dst);
        continue;
      }
      for (Index kx = 0; kx < p.kernel_w; ++kx) {
        const Index ix = ix0 + kx * p.dilation_w;
        T* d = dst + kx * g.icg;
        if (ix < 0 || ix >= p.in_w) std::fill(d, d + g.icg, op.pad);
        else op.Convert(xrow + ix * p.in_c, g.icg, d);
      }
    }
  }
}

}  // namespace qualm::kernels::fast::internal_s8
