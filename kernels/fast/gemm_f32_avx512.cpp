// gemm_f32 with AVX-512F (this file gets the avx512 flags from
// qualm_isa_sources in kernels/CMakeLists.txt): an 8x32 register tile, 16 zmm
// accumulators, A broadcast and B loaded as two 16-float vectors per k; the
// column tail uses mask registers. Vector lanes span output columns only; each
// lane is one output's fixed-order FMA chain (gemm.h), so the bits equal the
// generic and AVX2 paths'.
#include <immintrin.h>

#include <algorithm>

#include "fast/gemm_f32_driver.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm::kernels::detail {
namespace gemm_f32_internal {
namespace {

struct KernelAvx512 {
  static constexpr int kMr = 8, kNr = 32, kMc = 128;

  template <bool kTransA>
  static void Run(const Tile& t) {
    // A panel of at most 16 stored columns (ResNet-20 stage 1 and LeNet's 6 /
    // 16 output channels) skips the zero-padded upper half: 8 accumulators.
    if (t.nr <= 16) Body<kTransA, 1>(t);
    else Body<kTransA, 2>(t);
  }

  static void RunRow(const RowTile& t) {
    switch (t.panels) {
      case 1: RowBody<1>(t); break;
      case 2: RowBody<2>(t); break;
      case 3: RowBody<3>(t); break;
      default: RowBody<4>(t); break;
    }
  }

  // One row against kP panels: 2 * kP accumulators, one broadcast of A per k.
  template <int kP>
  static void RowBody(const RowTile& t) {
    static_assert(kP <= kRowPanels);
    __m512 acc[kP][2];
    const float* bp[kP];
#pragma GCC unroll 4
    for (int q = 0; q < kP; ++q) {
      bp[q] = t.b + q * t.panel_stride;
      for (int v = 0; v < 2; ++v)
        acc[q][v] = t.load_acc ? _mm512_loadu_ps(t.acc + q * kNr + 16 * v) : _mm512_setzero_ps();
    }
    const float* a = t.a;
    for (int k = 0; k < t.kc; ++k, a += t.a_k) {
      const __m512 av = _mm512_set1_ps(*a);
#pragma GCC unroll 4
      for (int q = 0; q < kP; ++q) {
        acc[q][0] = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp[q] + k * kNr), acc[q][0]);
        acc[q][1] = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp[q] + k * kNr + 16), acc[q][1]);
      }
    }
    const __m512 alpha = _mm512_set1_ps(t.alpha), beta = _mm512_set1_ps(t.beta);
#pragma GCC unroll 4
    for (int q = 0; q < kP; ++q) {
      for (int v = 0; v < 2; ++v) {
        if (!t.last) {
          _mm512_storeu_ps(t.acc + q * kNr + 16 * v, acc[q][v]);
          continue;
        }
        const int w = std::clamp(t.nr - (q * kNr + 16 * v), 0, 16);
        const __mmask16 m = static_cast<__mmask16>((1u << w) - 1u);
        float* c = t.c + q * kNr + 16 * v;
        __m512 x = acc[q][v];
        if (t.alpha != 1.0f) x = _mm512_mul_ps(alpha, x);
        if (t.beta != 0.0f) {
          __m512 cv = _mm512_maskz_loadu_ps(m, c);
          if (t.beta != 1.0f) cv = _mm512_mul_ps(beta, cv);
          x = _mm512_add_ps(cv, x);
        }
        _mm512_mask_storeu_ps(c, m, x);
      }
    }
  }

  // kV vectors of 16 columns per row; acc is only ever indexed by constants,
  // so it stays in registers.
  template <bool kTransA, int kV>
  static void Body(const Tile& t) {
    __m512 acc[kMr][kV];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v)
        acc[r][v] = t.load_acc ? _mm512_loadu_ps(t.acc + r * t.ld_acc + 16 * v) : _mm512_setzero_ps();
    const float* b = t.b;
    const float* ar[kMr];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r) ar[r] = t.a + r * t.a_row;
    const float* a = t.a;
    for (int q = 0; q < t.kc; ++q, b += kNr, a += t.a_k) {
      __m512 bv[kV];
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
      for (int r = 0; r < kMr; ++r) {
        const __m512 av = _mm512_set1_ps(kTransA ? a[r] : ar[r][q]);
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
    if (!t.last) {
#pragma GCC unroll 8
      for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
        for (int v = 0; v < kV; ++v) _mm512_storeu_ps(t.acc + r * t.ld_acc + 16 * v, acc[r][v]);
      return;
    }
    // Through memory so that the epilogue's runtime row count does not index acc.
    alignas(64) float out[kMr * 16 * kV];
#pragma GCC unroll 8
    for (int r = 0; r < kMr; ++r)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) _mm512_store_ps(out + (r * kV + v) * 16, acc[r][v]);
    const __m512 alpha = _mm512_set1_ps(t.alpha), beta = _mm512_set1_ps(t.beta);
    const unsigned bits = t.nr >= 32 ? 0xFFFFFFFFu : (1u << t.nr) - 1u;
    const __mmask16 masks[2] = {static_cast<__mmask16>(bits & 0xFFFFu), static_cast<__mmask16>(bits >> 16)};
    for (int r = 0; r < t.mr; ++r) {
      float* c = t.c + r * t.ldc;
      for (int v = 0; v < kV; ++v) {
        const __mmask16 m = masks[v];
        __m512 x = _mm512_load_ps(out + (r * kV + v) * 16);
        if (t.alpha != 1.0f) x = _mm512_mul_ps(alpha, x);
        if (t.beta != 0.0f) {
          __m512 cv = _mm512_maskz_loadu_ps(m, c + 16 * v);
          if (t.beta != 1.0f) cv = _mm512_mul_ps(beta, cv);
          x = _mm512_add_ps(cv, x);
        }
        _mm512_mask_storeu_ps(c + 16 * v, m, x);
      }
    }
  }
};

}  // namespace
}  // namespace gemm_f32_internal

void gemm_f32_8x32__avx512(const GemmParams& p, const float* a, const float* b, float* c, int threads) {
  gemm_f32_internal::Gemm<gemm_f32_internal::KernelAvx512>(p, a, b, c, threads);
}

}  // namespace qualm::kernels::detail
