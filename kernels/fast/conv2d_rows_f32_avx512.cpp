// The implicit-GEMM conv micro-kernel (conv2d_rows_f32.h) with AVX-512F:
// 8 rows x 32 columns (16 zmm accumulators), or 8 rows x 16 columns when a
// panel holds at most 16 stored columns (ResNet-20 stage 1, LeNet-5). More
// rows for the narrow panel measured no faster: 12 row pointers spill to the
// stack, and 14 rows ran 1.5x slower (bench_vs_onednn, 2026-12-03). Lanes span output channels
// only; each lane is one output's fixed-order FMA chain, so the bits equal
// the generic and AVX2 variants'.
#include <immintrin.h>

#include <algorithm>

#include "fast/conv2d_rows_f32.h"

namespace qualm::kernels::detail::conv_rows_internal {
namespace {

constexpr int kNr = 32;

template <int kMr, int kV>
void Body(const RowsTile& t) {
  const unsigned bits = t.nr >= 32 ? 0xFFFFFFFFu : (1u << t.nr) - 1u;
  const __mmask16 masks[2] = {static_cast<__mmask16>(bits & 0xFFFFu), static_cast<__mmask16>(bits >> 16)};
  __m512 bias[kV];
  for (int v = 0; v < kV; ++v) bias[v] = t.bias ? _mm512_maskz_loadu_ps(masks[v], t.bias + 16 * v) : _mm512_setzero_ps();
  for (int r0 = 0; r0 < t.mr; r0 += kMr) {
    const int mr = std::min(kMr, t.mr - r0);
    const float* base[kMr];
    // Rows past the tile repeat the last one; their results are never stored.
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) base[r] = t.rows[r0 + std::min(r, mr - 1)];
    __m512 acc[kMr][kV];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) acc[r][v] = _mm512_setzero_ps();
    const float* b = t.b;
    for (int tap = 0; tap < t.ntaps; ++tap) {
      const std::ptrdiff_t off = t.taps[tap];
      const float* a[kMr];
#pragma GCC unroll 8
      for (int r = 0; r < kMr; ++r) a[r] = base[r] + off;
      for (int u = 0; u < t.run; ++u, b += kNr) {
        __m512 bv[kV];
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < kMr; ++r) {
          const __m512 av = _mm512_set1_ps(a[r][u]);
#pragma GCC unroll 2
          for (int v = 0; v < kV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
      }
    }
    alignas(64) float out[kMr * 16 * kV];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) _mm512_store_ps(out + (r * kV + v) * 16, acc[r][v]);
    for (int r = 0; r < mr; ++r) {
      float* c = t.c + (r0 + r) * t.ldc;
      for (int v = 0; v < kV; ++v) {
        __m512 x = _mm512_load_ps(out + (r * kV + v) * 16);
        if (t.bias) x = _mm512_add_ps(x, bias[v]);
        _mm512_mask_storeu_ps(c + 16 * v, masks[v], x);
      }
    }
  }
}

template <int kMr, int kV>
void DwBody(const DwTile& t) {
  const unsigned bits = t.width >= 32 ? 0xFFFFFFFFu : (1u << t.width) - 1u;
  const __mmask16 masks[2] = {static_cast<__mmask16>(bits & 0xFFFFu), static_cast<__mmask16>(bits >> 16)};
  for (int r0 = 0; r0 < t.rows; r0 += kMr) {
    const int mr = std::min(kMr, t.rows - r0);
    // Rows past the block repeat the last channel; their results are never stored.
    int ro[kMr];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) ro[r] = r0 + std::min(r, mr - 1);
    __m512 acc[kMr][kV];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) acc[r][v] = _mm512_setzero_ps();
    const float* a = t.dy;
    for (int q = 0; q < t.m; ++q, a += t.ld_dy) {
      const float* b = t.pix[q] + t.off;
      __m512 bv[kV];
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) bv[v] = _mm512_maskz_loadu_ps(masks[v], b + 16 * v);
#pragma GCC unroll 8
      for (int r = 0; r < kMr; ++r) {
        const __m512 av = _mm512_set1_ps(a[ro[r]]);
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
    alignas(64) float out[kMr * 16 * kV];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) _mm512_store_ps(out + (r * kV + v) * 16, acc[r][v]);
    for (int r = 0; r < mr; ++r) {
      float* c = t.c + (r0 + r) * t.ldc;
      for (int v = 0; v < kV; ++v) {
        const __m512 x =
            _mm512_add_ps(_mm512_maskz_loadu_ps(masks[v], c + 16 * v), _mm512_load_ps(out + (r * kV + v) * 16));
        _mm512_mask_storeu_ps(c + 16 * v, masks[v], x);
      }
    }
  }
}

template <int kMr, int kV>
void DxBody(const DxTile& t) {
  const unsigned bits = t.width >= 32 ? 0xFFFFFFFFu : (1u << t.width) - 1u;
  const __mmask16 masks[2] = {static_cast<__mmask16>(bits & 0xFFFFu), static_cast<__mmask16>(bits >> 16)};
  for (int r0 = 0; r0 < t.rows; r0 += kMr) {
    const int mr = std::min(kMr, t.rows - r0);
    for (int c = 0; c < t.ncontrib; ++c) {
      const float* a[kMr];
      // Rows past the run repeat the last pixel; their results are never stored.
#pragma GCC unroll 8
      for (int r = 0; r < kMr; ++r) a[r] = t.dy + t.dy_off[c] + t.dy_base[r0 + std::min(r, mr - 1)];
      __m512 acc[kMr][kV];
#pragma GCC unroll 8
      for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) acc[r][v] = _mm512_setzero_ps();
      const float* w = t.w + t.w_off[c];
      for (int oc = 0; oc < t.ocg; ++oc, w += t.w_oc) {
        __m512 wv[kV];
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) wv[v] = _mm512_maskz_loadu_ps(masks[v], w + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < kMr; ++r) {
          const __m512 av = _mm512_set1_ps(a[r][oc]);
#pragma GCC unroll 2
          for (int v = 0; v < kV; ++v) acc[r][v] = _mm512_fmadd_ps(av, wv[v], acc[r][v]);
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < kMr; ++r) {
        if (r >= mr) break;
        float* dx = t.dx + t.dx_base[r0 + r];
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v)
          _mm512_mask_storeu_ps(dx + 16 * v, masks[v],
                                _mm512_add_ps(_mm512_maskz_loadu_ps(masks[v], dx + 16 * v), acc[r][v]));
      }
    }
  }
}

}  // namespace

void conv2d_dx_f32_8x32__avx512(const DxTile& t) {
  if (t.width <= 16) DxBody<8, 1>(t);
  else DxBody<8, 2>(t);
}

void conv2d_dw_f32_8x32__avx512(const DwTile& t) {
  if (t.width <= 16) DwBody<8, 1>(t);
  else DwBody<8, 2>(t);
}

void conv2d_rows_f32_8x32__avx512(const RowsTile& t) {
  if (t.nr <= 16) Body<8, 1>(t);
  else Body<8, 2>(t);
}

}  // namespace qualm::kernels::detail::conv_rows_internal
