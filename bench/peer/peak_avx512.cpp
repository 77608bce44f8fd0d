// bench/peer/peak_avx512.cpp: the AVX-512 FMA peak loop (peak.h); AVX-512 flags only here.
#include <immintrin.h>

#include "peer/peak.h"

namespace qualm_peer {

double FmaLoopAvx512(std::int64_t iters) {
  volatile float seed = 1.0f;
  const __m512 a = _mm512_set1_ps(seed * 0.999f), b = _mm512_set1_ps(seed * 1e-7f);
  __m512 c[12];
  for (int k = 0; k < 12; ++k) c[k] = _mm512_set1_ps(seed * static_cast<float>(k));
  for (std::int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) c[k] = _mm512_fmadd_ps(a, c[k], b);
  __m512 s = c[0];
  for (int k = 1; k < 12; ++k) s = _mm512_add_ps(s, c[k]);
  // Stored, not _mm512_reduce_add_ps (GCC 12 warns inside that intrinsic).
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  volatile float sink = lanes[0];
  (void)sink;
  return static_cast<double>(iters) * 12 * 16 * 2;
}

}  // namespace qualm_peer
