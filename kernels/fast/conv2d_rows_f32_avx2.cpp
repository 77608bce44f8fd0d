// The implicit-GEMM conv micro-kernel (conv2d_rows_f32.h) with AVX2 + FMA:
// 6 rows x 16 columns (12 ymm accumulators), or 6 x 8 when a panel holds at
// most 8 stored columns. Lanes span output channels only; each lane is one
// output's fixed-order FMA chain, so the bits equal the generic variant's.
#include <immintrin.h>

#include <algorithm>

#include "fast/conv2d_rows_f32.h"

namespace qualm::kernels::detail::conv_rows_internal {
namespace {

constexpr int kMr = 6, kNr = 16;

__m256i Mask(int n, int first) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n - first), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int kV>
void Body(const RowsTile& t) {
  const __m256i masks[2] = {Mask(t.nr, 0), Mask(t.nr, 8)};
  for (int r0 = 0; r0 < t.mr; r0 += kMr) {
    const int mr = std::min(kMr, t.mr - r0);
    const float* base[kMr];
    // Rows past the tile repeat the last one; their results are never stored.
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) base[r] = t.rows[r0 + std::min(r, mr - 1)];
    __m256 acc[kMr][kV];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) acc[r][v] = _mm256_setzero_ps();
    const float* b = t.b;
    for (int tap = 0; tap < t.ntaps; ++tap) {
      const std::ptrdiff_t off = t.taps[tap];
      const float* a[kMr];
#pragma GCC unroll 6
      for (int r = 0; r < kMr; ++r) a[r] = base[r] + off;
      for (int u = 0; u < t.run; ++u, b += kNr) {
        __m256 bv[kV];
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
        for (int r = 0; r < kMr; ++r) {
          const __m256 av = _mm256_broadcast_ss(a[r] + u);
#pragma GCC unroll 2
          for (int v = 0; v < kV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
        }
      }
    }
    alignas(32) float out[kMr * 8 * kV];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) _mm256_store_ps(out + (r * kV + v) * 8, acc[r][v]);
    for (int v = 0; v < kV; ++v) {
      const __m256 bias = t.bias ? _mm256_maskload_ps(t.bias + 8 * v, masks[v]) : _mm256_setzero_ps();
      for (int r = 0; r < mr; ++r) {
        __m256 x = _mm256_load_ps(out + (r * kV + v) * 8);
        if (t.bias) x = _mm256_add_ps(x, bias);
        _mm256_maskstore_ps(t.c + (r0 + r) * t.ldc + 8 * v, masks[v], x);
      }
    }
  }
}

template <int kV>
void DwBody(const DwTile& t) {
  const __m256i masks[2] = {Mask(t.width, 0), Mask(t.width, 8)};
  for (int r0 = 0; r0 < t.rows; r0 += kMr) {
    const int mr = std::min(kMr, t.rows - r0);
    // Rows past the block repeat the last channel; their results are never stored.
    int ro[kMr];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) ro[r] = r0 + std::min(r, mr - 1);
    __m256 acc[kMr][kV];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) acc[r][v] = _mm256_setzero_ps();
    const float* a = t.dy;
    for (int q = 0; q < t.m; ++q, a += t.ld_dy) {
      const float* b = t.pix[q] + t.off;
      __m256 bv[kV];
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) bv[v] = _mm256_maskload_ps(b + 8 * v, masks[v]);
#pragma GCC unroll 6
      for (int r = 0; r < kMr; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + ro[r]);
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
    alignas(32) float out[kMr * 8 * kV];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) _mm256_store_ps(out + (r * kV + v) * 8, acc[r][v]);
    for (int r = 0; r < mr; ++r) {
      float* c = t.c + (r0 + r) * t.ldc;
      for (int v = 0; v < kV; ++v) {
        const __m256 x = _mm256_add_ps(_mm256_maskload_ps(c + 8 * v, masks[v]), _mm256_load_ps(out + (r * kV + v) * 8));
        _mm256_maskstore_ps(c + 8 * v, masks[v], x);
      }
    }
  }
}

template <int kV>
void DxBody(const DxTile& t) {
  const __m256i masks[2] = {Mask(t.width, 0), Mask(t.width, 8)};
  for (int r0 = 0; r0 < t.rows; r0 += kMr) {
    const int mr = std::min(kMr, t.rows - r0);
    for (int c = 0; c < t.ncontrib; ++c) {
      const float* a[kMr];
      // Rows past the run repeat the last pixel; their results are never stored.
#pragma GCC unroll 6
      for (int r = 0; r < kMr; ++r) a[r] = t.dy + t.dy_off[c] + t.dy_base[r0 + std::min(r, mr - 1)];
      __m256 acc[kMr][kV];
#pragma GCC unroll 6
      for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) acc[r][v] = _mm256_setzero_ps();
      const float* w = t.w + t.w_off[c];
      for (int oc = 0; oc < t.ocg; ++oc, w += t.w_oc) {
        __m256 wv[kV];
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) wv[v] = _mm256_maskload_ps(w + 8 * v, masks[v]);
#pragma GCC unroll 6
        for (int r = 0; r < kMr; ++r) {
          const __m256 av = _mm256_broadcast_ss(a[r] + oc);
#pragma GCC unroll 2
          for (int v = 0; v < kV; ++v) acc[r][v] = _mm256_fmadd_ps(av, wv[v], acc[r][v]);
        }
      }
#pragma GCC unroll 6
      for (int r = 0; r < kMr; ++r) {
        if (r >= mr) break;
        float* dx = t.dx + t.dx_base[r0 + r];
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v)
          _mm256_maskstore_ps(dx + 8 * v, masks[v], _mm256_add_ps(_mm256_maskload_ps(dx + 8 * v, masks[v]), acc[r][v]));
      }
    }
  }
}

}  // namespace

void conv2d_dx_f32_6x16__avx2(const DxTile& t) {
  if (t.width <= 8) DxBody<1>(t);
  else DxBody<2>(t);
}

void conv2d_rows_f32_6x16__avx2(const RowsTile& t) {
  if (t.nr <= 8) Body<1>(t);
  else Body<2>(t);
}

void conv2d_dw_f32_6x16__avx2(const DwTile& t) {
  if (t.width <= 8) DwBody<1>(t);
  else DwBody<2>(t);
}

}  // namespace qualm::kernels::detail::conv_rows_internal
