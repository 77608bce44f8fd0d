// fast/conv_s8_c1_store.h (private): how the one-channel int8 conv kernels
// (conv_s8_c1_*.cpp) write a block of results, held channel-major in scratch,
// to the NHWC output: 16 x 16 byte transposes (four rounds of SSE2 unpacks)
// turn 16 channel rows of 16 pixels into 16 pixel rows of 16 channels, each
// written by the caller's Store16Bytes(dst, v, n) (the first n bytes of v).
// Internal linkage (an unnamed namespace): each TU compiles its own copy with
// its own flags.
#pragma once

#include <emmintrin.h>

#include <algorithm>
#include <cstdint>

#include "qualm/kernels/detail/conv_c1_variants.h"

namespace qualm::kernels::detail {
namespace {

// res: [>= nc rounded up to 16][kConvC1Pixels] (rows past nc are read, never
// stored); pixel j < count goes to y + dst[j] (channels c0 .. c0 + nc - 1
// there), or nowhere when dst[j] < 0.
template <typename Store16Bytes>
void C1StoreBlock(const std::int8_t* res, int nc, const std::int64_t* dst, int count, std::int8_t* y,
                  const Store16Bytes& store) {
  constexpr int kL = 16;
  for (int cb = 0; cb < nc; cb += kL) {
    const int n = std::min(kL, nc - cb);
    for (int g = 0; g * kL < count; ++g) {
      __m128i r[kL];
      for (int c = 0; c < kL; ++c)
        r[c] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(res + (cb + c) * kConvC1Pixels + g * kL));
      __m128i t[kL], u[kL];
      for (int i = 0; i < 8; ++i) {
        t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);      // pixels 0-7, channels 2i, 2i + 1
        t[8 + i] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);  // pixels 8-15
      }
      for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 4; ++i) {
          u[8 * h + i] = _mm_unpacklo_epi16(t[8 * h + 2 * i], t[8 * h + 2 * i + 1]);      // pixels 8h + 0-3, channels 4i..
          u[8 * h + 4 + i] = _mm_unpackhi_epi16(t[8 * h + 2 * i], t[8 * h + 2 * i + 1]);  // pixels 8h + 4-7
        }
      for (int x = 0; x < 4; ++x) {  // pixels 4x .. 4x + 3 in u[4x .. 4x + 3], channels 4i.. in u[4x + i]
        const __m128i lo0 = _mm_unpacklo_epi32(u[4 * x], u[4 * x + 1]), lo1 = _mm_unpacklo_epi32(u[4 * x + 2], u[4 * x + 3]);
        const __m128i hi0 = _mm_unpackhi_epi32(u[4 * x], u[4 * x + 1]), hi1 = _mm_unpackhi_epi32(u[4 * x + 2], u[4 * x + 3]);
        const __m128i px[4] = {_mm_unpacklo_epi64(lo0, lo1), _mm_unpackhi_epi64(lo0, lo1), _mm_unpacklo_epi64(hi0, hi1),
                               _mm_unpackhi_epi64(hi0, hi1)};
        for (int k = 0; k < 4; ++k) {
          const int j = g * kL + 4 * x + k;
          if (j < count && dst[j] >= 0) store(y + dst[j] + cb, px[k], n);
        }
      }
    }
  }
}

}  // namespace
}  // namespace qualm::kernels::detail
