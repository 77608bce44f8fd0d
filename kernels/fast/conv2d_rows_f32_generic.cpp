// The implicit-GEMM conv micro-kernel (conv2d_rows_f32.h) for the x86-64
// baseline: 4 rows x 8 columns in plain C++, one std::fma per term (a libm
// call without FMA hardware: slow, but the same single rounding as vfmadd).
#include <algorithm>
#include <cmath>

#include "fast/conv2d_rows_f32.h"

namespace qualm::kernels::detail::conv_rows_internal {

void conv2d_rows_f32_4x8__generic(const RowsTile& t) {
  constexpr int kMr = 4, kNr = 8;
  for (int r0 = 0; r0 < t.mr; r0 += kMr) {
    const int mr = std::min(kMr, t.mr - r0);
    float acc[kMr][kNr] = {};
    const float* b = t.b;
    for (int tap = 0; tap < t.ntaps; ++tap) {
      const float* a[kMr];
      // Rows past the tile repeat the last one; their results are never stored.
      for (int r = 0; r < kMr; ++r) a[r] = t.rows[r0 + std::min(r, mr - 1)] + t.taps[tap];
      for (int u = 0; u < t.run; ++u, b += kNr)
        for (int r = 0; r < kMr; ++r)
          for (int j = 0; j < kNr; ++j) acc[r][j] = std::fma(a[r][u], b[j], acc[r][j]);
    }
    for (int r = 0; r < mr; ++r) {
      float* c = t.c + (r0 + r) * t.ldc;
      for (int j = 0; j < t.nr; ++j) c[j] = t.bias ? acc[r][j] + t.bias[j] : acc[r][j];
    }
  }
}

void conv2d_dw_f32_4x8__generic(const DwTile& t) {
  constexpr int kMr = 4, kNr = 8;
  for (int r0 = 0; r0 < t.rows; r0 += kMr) {
    const int mr = std::min(kMr, t.rows - r0);
    float acc[kMr][kNr] = {};
    for (int q = 0; q < t.m; ++q) {
      const float* a = t.dy + q * t.ld_dy + r0;
      const float* b = t.pix[q] + t.off;
      for (int r = 0; r < mr; ++r)
        for (int j = 0; j < t.width; ++j) acc[r][j] = std::fma(a[r], b[j], acc[r][j]);
    }
    for (int r = 0; r < mr; ++r) {
      float* c = t.c + (r0 + r) * t.ldc;
      for (int j = 0; j < t.width; ++j) c[j] = c[j] + acc[r][j];
    }
  }
}

void conv2d_dx_f32_4x8__generic(const DxTile& t) {
  for (int r = 0; r < t.rows; ++r) {
    float* dx = t.dx + t.dx_base[r];
    for (int c = 0; c < t.ncontrib; ++c) {
      const float* a = t.dy + t.dy_off[c] + t.dy_base[r];
      const float* w = t.w + t.w_off[c];
      for (int j = 0; j < t.width; ++j) {
        float acc = 0.0f;
        for (int oc = 0; oc < t.ocg; ++oc) acc = std::fma(a[oc], w[oc * t.w_oc + j], acc);
        dx[j] = dx[j] + acc;
      }
    }
  }
}

}  // namespace qualm::kernels::detail::conv_rows_internal
