// The table lookup of the int8 per-channel affine with AVX2 (this file gets
// -mavx2 -mfma -mf16c): fast/channel_affine_s8.h. Eight channels per
// vpgatherdd (byte offsets (x + 128) * C + c, scale 1; each gathered dword's
// low byte is the entry, the other three bytes are ignored, and the 4 bytes
// the table is padded with keep the last read inside the scratch), four
// gathers per 32 channels, then the low bytes packed back in order. Channel
// tails (C not a multiple of 32) in steps of 8 the same way, the last C % 8
// through the scalar loop.
#include <immintrin.h>

#include <cstdint>

#include "fast/channel_affine_s8.h"

namespace qualm::kernels::fast::internal_s8 {

void LookupChannels_avx2(const std::int8_t* table, std::int64_t C, const std::int8_t* x, std::int64_t pix0,
                         std::int64_t pix1, std::int8_t* y) {
  const int* base = reinterpret_cast<const int*>(table);
  const __m256i row = _mm256_set1_epi32(static_cast<int>(C));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i low = _mm256_set1_epi32(0xFF);
  const std::int64_t c32 = C / 32 * 32;
  for (std::int64_t pix = pix0; pix < pix1; ++pix) {
    const std::int8_t* xp = x + pix * C;
    std::int8_t* yp = y + pix * C;
    for (std::int64_t c = 0; c < c32; c += 32) {
      // u = x + 128 as u8 (the sign bit flipped), widened to int32 eight at a time.
      const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp + c)),
                                         _mm256_set1_epi8(static_cast<char>(0x80)));
      __m256i v[4];
      for (int k = 0; k < 4; ++k) {
        const __m128i part = k < 2 ? _mm256_castsi256_si128(u) : _mm256_extracti128_si256(u, 1);
        const __m256i uk = _mm256_cvtepu8_epi32(k % 2 == 0 ? part : _mm_srli_si128(part, 8));
        const __m256i cols = _mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int>(c) + 8 * k));
        const __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(uk, row), cols);
        v[k] = _mm256_and_si256(_mm256_i32gather_epi32(base, off, 1), low);
      }
      // Values 0..255: unsigned packs keep them; packs work per 128-bit half.
      const __m256i w01 = _mm256_packus_epi32(v[0], v[1]);  // [v0 0-3, v1 0-3 | v0 4-7, v1 4-7]
      const __m256i w23 = _mm256_packus_epi32(v[2], v[3]);
      const __m256i b = _mm256_packus_epi16(w01, w23);  // dwords [v0a v1a v2a v3a | v0b v1b v2b v3b]
      const __m256i ordered = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(yp + c), ordered);
    }
    // Eight channels per step: ResNet-20's 16-channel stage (a third of its
    // batch norms, and the largest per-call pixel counts) has no 32-channel
    // step, and on the scalar loop those affines cost 3x per element what the
    // 32- and 64-channel ones do (bench_whole_model --profile).
    std::int64_t c = c32;
    for (; c + 8 <= C; c += 8) {
      const __m128i u = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xp + c)),
                                      _mm_set1_epi8(static_cast<char>(0x80)));
      const __m256i cols = _mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int>(c)));
      const __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_cvtepu8_epi32(u), row), cols);
      const __m256i v = _mm256_and_si256(_mm256_i32gather_epi32(base, off, 1), low);
      const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));  // 8 x u16
      _mm_storel_epi64(reinterpret_cast<__m128i*>(yp + c), _mm_packus_epi16(w, w));
    }
    for (; c < C; ++c)
      yp[c] = table[(static_cast<std::int64_t>(xp[c]) + 128) * C + c];
  }
}

}  // namespace qualm::kernels::fast::internal_s8
