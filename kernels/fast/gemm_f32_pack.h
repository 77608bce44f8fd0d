// fast/gemm_f32_pack.h: how the float GEMM packs op(B) into kKc x kNr panels,
// shared by the driver (fast/gemm_f32_driver.h, per call) and PackGemmB
// (fast/gemm.cpp, once for a B that many calls share). In an anonymous
// namespace like the driver, so that each translation unit (each compiled with
// its own ISA flags) keeps its own copy.
#pragma once

#include <algorithm>
#include <cstddef>

#include "qualm/kernels/gemm.h"

namespace qualm::kernels::detail::gemm_f32_internal {
namespace {

using Index = std::ptrdiff_t;

// op(B)(k0 + q, n0 + j) for q < kc, j < nc into panels of kNr columns.
template <int kNr>
void PackB(const GemmParams& p, const float* b, Index k0, int kc, Index n0, int nc, float* out) {
  for (int j0 = 0; j0 < nc; j0 += kNr) {
    const int w = std::min(kNr, nc - j0);
    float* panel = out + static_cast<Index>(j0 / kNr) * kc * kNr;
    if (!p.trans_b) {
      for (int q = 0; q < kc; ++q) {
        const float* src = b + (k0 + q) * p.ldb + n0 + j0;
        float* dst = panel + static_cast<Index>(q) * kNr;
        for (int j = 0; j < w; ++j) dst[j] = src[j];
        for (int j = w; j < kNr; ++j) dst[j] = 0.0f;
      }
    } else {
      for (int j = 0; j < w; ++j) {
        const float* src = b + (n0 + j0 + j) * p.ldb + k0;
        for (int q = 0; q < kc; ++q) panel[static_cast<Index>(q) * kNr + j] = src[q];
      }
      for (int q = 0; q < kc; ++q)
        for (int j = w; j < kNr; ++j) panel[static_cast<Index>(q) * kNr + j] = 0.0f;
    }
  }
}

}  // namespace
}  // namespace qualm::kernels::detail::gemm_f32_internal
