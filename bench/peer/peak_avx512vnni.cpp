// bench/peer/peak_avx512vnni.cpp: the vpdpbusd peak loop (peak.h); VNNI flags only here.
#include <immintrin.h>

#include "peer/peak.h"

namespace qualm_peer {

double VnniLoopAvx512(std::int64_t iters) {
  volatile int seed = 1;
  const __m512i a = _mm512_set1_epi8(static_cast<char>(seed + 2)), b = _mm512_set1_epi8(static_cast<char>(seed - 4));
  __m512i c[12];
  for (int k = 0; k < 12; ++k) c[k] = _mm512_set1_epi32(seed * k);
  for (std::int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 12; ++k) c[k] = _mm512_dpbusd_epi32(c[k], a, b);
  __m512i s = c[0];
  for (int k = 1; k < 12; ++k) s = _mm512_add_epi32(s, c[k]);
  alignas(64) int lanes[16];
  _mm512_store_si512(lanes, s);
  volatile int sink = lanes[0];
  (void)sink;
  return static_cast<double>(iters) * 12 * 64 * 2;
}

}  // namespace qualm_peer
