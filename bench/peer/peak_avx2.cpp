// bench/peer/peak_avx2.cpp: the AVX2 FMA peak loop (peak.h); AVX2 flags only here.
#include <immintrin.h>

#include "peer/peak.h"

namespace qualm_peer {

double FmaLoopAvx2(std::int64_t iters) {
  volatile float seed = 1.0f;
  const __m256 a = _mm256_set1_ps(seed * 0.999f), b = _mm256_set1_ps(seed * 1e-7f);
  __m256 c[12];
  for (int k = 0; k < 12; ++k) c[k] = _mm256_set1_ps(seed * static_cast<float>(k));
  for (std::int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) c[k] = _mm256_fmadd_ps(a, c[k], b);
  __m256 s = c[0];
  for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, c[k]);
  volatile float sink = _mm256_cvtss_f32(s);
  (void)sink;
  return static_cast<double>(iters) * 12 * 8 * 2;
}

}  // namespace qualm_peer
