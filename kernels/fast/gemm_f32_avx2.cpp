// gemm_f32 with AVX2 + FMA (this file gets -mavx2 -mfma -mf16c from
// qualm_isa_sources in kernels/CMakeLists.txt): a 6x16 register tile, 12 ymm
// accumulators, A broadcast and B loaded as two 8-float vectors per k.
// Vector lanes span output columns only; each lane is one output's fixed-order
// FMA chain (gemm.h), so the bits equal the generic and AVX-512 paths'.
#include <immintrin.h>

#include "fast/gemm_f32_driver.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm::kernels::detail {
namespace gemm_f32_internal {
namespace {

struct KernelAvx2 {
  static constexpr int kMr = 6, kNr = 16, kMc = 96;

  // Lanes [0, n) of a vector whose first lane is column `first`.
  static __m256i Mask(int n, int first) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n - first), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
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
    __m256 acc[kP][2];
    const float* bp[kP];
#pragma GCC unroll 4
    for (int q = 0; q < kP; ++q) {
      bp[q] = t.b + q * t.panel_stride;
      for (int v = 0; v < 2; ++v)
        acc[q][v] = t.load_acc ? _mm256_loadu_ps(t.acc + q * kNr + 8 * v) : _mm256_setzero_ps();
    }
    const float* a = t.a;
    for (int k = 0; k < t.kc; ++k, a += t.a_k) {
      const __m256 av = _mm256_broadcast_ss(a);
#pragma GCC unroll 4
      for (int q = 0; q < kP; ++q) {
        acc[q][0] = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp[q] + k * kNr), acc[q][0]);
        acc[q][1] = _mm256_fmadd_ps(av, _mm256_loadu_ps(bp[q] + k * kNr + 8), acc[q][1]);
      }
    }
    const __m256 alpha = _mm256_set1_ps(t.alpha), beta = _mm256_set1_ps(t.beta);
#pragma GCC unroll 4
    for (int q = 0; q < kP; ++q) {
      for (int v = 0; v < 2; ++v) {
        if (!t.last) {
          _mm256_storeu_ps(t.acc + q * kNr + 8 * v, acc[q][v]);
          continue;
        }
        const __m256i m = Mask(t.nr, q * kNr + 8 * v);
        float* c = t.c + q * kNr + 8 * v;
        __m256 x = acc[q][v];
        if (t.alpha != 1.0f) x = _mm256_mul_ps(alpha, x);
        if (t.beta != 0.0f) {
          __m256 cv = _mm256_maskload_ps(c, m);
          if (t.beta != 1.0f) cv = _mm256_mul_ps(beta, cv);
          x = _mm256_add_ps(cv, x);
        }
        _mm256_maskstore_ps(c, m, x);
      }
    }
  }

  template <bool kTransA>
  static void Run(const Tile& t) {
    __m256 acc[kMr][2];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) {
      if (t.load_acc) {
        acc[r][0] = _mm256_loadu_ps(t.acc + r * t.ld_acc);
        acc[r][1] = _mm256_loadu_ps(t.acc + r * t.ld_acc + 8);
      } else {
        acc[r][0] = _mm256_setzero_ps();
        acc[r][1] = _mm256_setzero_ps();
      }
    }
    const float* b = t.b;
    if (kTransA) {
      const float* a = t.a;
      for (int q = 0; q < t.kc; ++q, b += kNr, a += t.a_k) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < kMr; ++r) {
          const __m256 av = _mm256_broadcast_ss(a + r);
          acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
      }
    } else {
      const float* a0 = t.a;
      const float *a1 = a0 + t.a_row, *a2 = a1 + t.a_row, *a3 = a2 + t.a_row, *a4 = a3 + t.a_row,
                  *a5 = a4 + t.a_row;
      const float* ar[kMr] = {a0, a1, a2, a3, a4, a5};
      for (int q = 0; q < t.kc; ++q, b += kNr) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < kMr; ++r) {
          const __m256 av = _mm256_broadcast_ss(ar[r] + q);
          acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
      }
    }
    if (!t.last) {
#pragma GCC unroll 6
      for (int r = 0; r < kMr; ++r) {
        _mm256_storeu_ps(t.acc + r * t.ld_acc, acc[r][0]);
        _mm256_storeu_ps(t.acc + r * t.ld_acc + 8, acc[r][1]);
      }
      return;
    }
    // Through memory so that acc is only ever indexed by constants (kept in registers).
    alignas(32) float out[kMr * kNr];
#pragma GCC unroll 6
    for (int r = 0; r < kMr; ++r) {
      _mm256_store_ps(out + r * kNr, acc[r][0]);
      _mm256_store_ps(out + r * kNr + 8, acc[r][1]);
    }
    const __m256 alpha = _mm256_set1_ps(t.alpha), beta = _mm256_set1_ps(t.beta);
    const __m256i m0 = Mask(t.nr, 0), m1 = Mask(t.nr, 8);
    for (int r = 0; r < t.mr; ++r) {
      float* c = t.c + r * t.ldc;
      for (int v = 0; v < 2; ++v) {
        const __m256i m = v == 0 ? m0 : m1;
        __m256 x = _mm256_load_ps(out + r * kNr + 8 * v);
        if (t.alpha != 1.0f) x = _mm256_mul_ps(alpha, x);
        if (t.beta != 0.0f) {
          __m256 cv = _mm256_maskload_ps(c + 8 * v, m);
          if (t.beta != 1.0f) cv = _mm256_mul_ps(beta, cv);
          x = _mm256_add_ps(cv, x);
        }
        _mm256_maskstore_ps(c + 8 * v, m, x);
      }
    }
  }
};

}  // namespace
}  // namespace gemm_f32_internal

void gemm_f32_6x16__avx2(const GemmParams& p, const float* a, const float* b, float* c, int threads) {
  gemm_f32_internal::Gemm<gemm_f32_internal::KernelAvx2>(p, a, b, c, threads);
}

}  // namespace qualm::kernels::detail
