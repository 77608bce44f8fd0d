// The int8 micro-kernels for the x86-64 baseline (QUALM_ISA=scalar or no AVX2):
// plain C++ on the packed layouts, which the compiler vectorizes with SSE2
// (pmaddwd is SSE2). The output stage is requant.h's RequantizeToRange itself,
// called per output. Contract: detail/int8_gemm_variants.h.
#include <algorithm>
#include <cstdint>

#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

std::int8_t Output(std::int32_t acc, const S8OutputStage& o, int c) {
  if (o.bias) acc += o.bias[c];
  return static_cast<std::int8_t>(RequantizeToRange(acc, o.requant[c], o.mode, o.zp_out, o.act_min, o.act_max));
}

}  // namespace

void s8s16_gemm_generic(const S8GemmTile& t) {
  const int pairs = t.k_padded / 2;
  const std::int64_t panel_size = std::int64_t{pairs} * kS8PanelCols * 2;
  for (int c0 = 0; c0 < t.n; c0 += kS8PanelCols) {
    const std::int16_t* panel = t.b + (c0 / kS8PanelCols) * panel_size;
    const int nc = std::min(kS8PanelCols, t.n - c0);
    for (int r0 = 0; r0 < t.m; r0 += kS8TileRows) {
      const int rows = std::min(kS8TileRows, t.m - r0);
      std::int32_t acc[kS8TileRows][kS8PanelCols] = {};
      for (int q = 0; q < pairs; ++q) {
        const std::int16_t* bq = panel + static_cast<std::int64_t>(q) * kS8PanelCols * 2;
        for (int i = 0; i < rows; ++i) {
          const std::int16_t* a = t.a + (r0 + i) * t.lda + 2 * q;
          const std::int32_t a0 = a[0], a1 = a[1];
          for (int j = 0; j < kS8PanelCols; ++j) acc[i][j] += a0 * bq[2 * j] + a1 * bq[2 * j + 1];
        }
      }
      for (int i = 0; i < rows; ++i) {
        std::int8_t* y = t.y + (r0 + i) * t.ldy + c0;
        for (int j = 0; j < nc; ++j) y[j] = Output(acc[i][j], t.out, c0 + j);
      }
    }
  }
}

void s8s16_depthwise_generic(const S8DepthwiseTile& t) {
  const Conv2dParams& p = *t.shape;
  const std::int64_t oh = p.out_h(), ow = p.out_w(), C = p.out_c;
  for (std::int64_t pix = t.pix0; pix < t.pix1; ++pix) {
    const std::int64_t n = pix / (oh * ow), oy = pix / ow % oh, ox = pix % ow;
    std::int8_t* y = t.y + pix * C;
    for (std::int64_t c = 0; c < C; ++c) {
      std::int32_t acc = 0;
      for (int ky = 0; ky < p.kernel_h; ++ky) {
        const std::int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
        if (iy < 0 || iy >= p.in_h) continue;
        for (int kx = 0; kx < p.kernel_w; ++kx) {
          const std::int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
          if (ix < 0 || ix >= p.in_w) continue;
          const std::int32_t xv = t.x[((n * p.in_h + iy) * p.in_w + ix) * C + c];
          acc += t.w[static_cast<std::int64_t>(ky * p.kernel_w + kx) * t.channels_padded + c] * (xv - t.zp_in);
        }
      }
      y[c] = Output(acc, t.out, static_cast<int>(c));
    }
  }
}

}  // namespace qualm::kernels::detail
