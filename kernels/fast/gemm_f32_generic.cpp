// gemm_f32 for the x86-64 baseline (no FMA instruction): the path used when
// AVX2+FMA is not available or QUALM_ISA=scalar. Each multiply-add is
// std::fma (a libm call here: correct single rounding, slow), so this path
// gives the same bits as the AVX2 and AVX-512 ones (gemm.h). A 4x8 register
// tile in plain C++; the driver is fast/gemm_f32_driver.h.
#include <cmath>

#include "fast/gemm_f32_driver.h"
#include "qualm/kernels/detail/gemm_variants.h"

namespace qualm::kernels::detail {
namespace gemm_f32_internal {
namespace {

struct KernelGeneric {
  static constexpr int kMr = 4, kNr = 8, kMc = 64;

  static void RunRow(const RowTile& t) {
    const int cols = t.panels * kNr;
    float acc[kRowPanels * kNr];
    for (int j = 0; j < cols; ++j) acc[j] = t.load_acc ? t.acc[j] : 0.0f;
    const float* a = t.a;
    for (int k = 0; k < t.kc; ++k, a += t.a_k)
      for (int j = 0; j < cols; ++j)
        acc[j] = std::fma(*a, t.b[(j / kNr) * t.panel_stride + k * kNr + j % kNr], acc[j]);
    if (!t.last) {
      for (int j = 0; j < cols; ++j) t.acc[j] = acc[j];
      return;
    }
    for (int j = 0; j < t.nr; ++j) {
      float v = acc[j];
      if (t.alpha != 1.0f) v = t.alpha * v;
      if (t.beta == 0.0f) t.c[j] = v;
      else if (t.beta == 1.0f) t.c[j] = t.c[j] + v;
      else t.c[j] = t.beta * t.c[j] + v;
    }
  }

  template <bool kTransA>
  static void Run(const Tile& t) {
    float acc[kMr][kNr];
    for (int r = 0; r < kMr; ++r)
      for (int j = 0; j < kNr; ++j) acc[r][j] = t.load_acc ? t.acc[r * t.ld_acc + j] : 0.0f;
    const float* b = t.b;
    const float* a = t.a;
    for (int q = 0; q < t.kc; ++q, b += kNr, a += t.a_k) {
      for (int r = 0; r < kMr; ++r) {
        const float av = a[r * t.a_row];
        for (int j = 0; j < kNr; ++j) acc[r][j] = std::fma(av, b[j], acc[r][j]);
      }
    }
    if (!t.last) {
      for (int r = 0; r < kMr; ++r)
        for (int j = 0; j < kNr; ++j) t.acc[r * t.ld_acc + j] = acc[r][j];
      return;
    }
    for (int r = 0; r < t.mr; ++r) {
      float* c = t.c + r * t.ldc;
      for (int j = 0; j < t.nr; ++j) {
        float v = acc[r][j];
        if (t.alpha != 1.0f) v = t.alpha * v;
        if (t.beta == 0.0f) c[j] = v;
        else if (t.beta == 1.0f) c[j] = c[j] + v;
        else c[j] = t.beta * c[j] + v;
      }
    }
  }
};

}  // namespace
}  // namespace gemm_f32_internal

void gemm_f32_4x8__generic(const GemmParams& p, const float* a, const float* b, float* c, int threads) {
  gemm_f32_internal::Gemm<gemm_f32_internal::KernelGeneric>(p, a, b, c, threads);
}

}  // namespace qualm::kernels::detail
