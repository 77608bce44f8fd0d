// fast/int8_gemm_avx2.h (private): the AVX2 output stage of the int8 GEMM
// variants, shared by the AVX2 and AVX-VNNI translation units (int8_gemm_avx2.cpp,
// int8_gemm_avxvnni.cpp, conv_s8_direct_avxvnni.cpp), so that there is one
// 256-bit transcription of RequantizeToRange. (The AVX-512 VNNI kernels use the
// 512-bit fast/int8_gemm_avx512.h, tested the same way.) Everything here has
// internal linkage (an unnamed namespace), so each TU gets its own copy
// compiled with its own flags and no symbol is shared between them.
//
// Output stage: RequantizeToRange (requant.h) transcribed lane by lane, one
// template per RequantMode, with per-column constants (Lanes) derived from the
// same Requant once per 16-column panel. Equalities it relies on (each
// checked output by output against the scalar function in
// tests/kernels/int8_fast_gemm_test.cpp):
//  * clamp(int64(y) + zp, act_min, act_max) == clamp(y, act_min - zp,
//    act_max - zp) + zp, so everything after the requantization stays int32;
//  * kGemmlowp: SRDHM(a, M) with M >= 0 (QuantizeMultiplier's range, never
//    INT32_MIN) is floor((a * M + 2^30) / 2^31) for both signs (gemmlowp's
//    nudge 1 - 2^30 plus truncation toward zero is that floor), and its low 32
//    bits are bits 31..62 of the 64-bit sum, which a logical shift also gives;
//    x * 2^left saturates where x > INT32_MAX >> left or x < INT32_MIN >> left;
//  * kSingle: the int64 arithmetic shift is ((p ^ s) >> t) ^ s with s the sign
//    mask (AVX2 has no 64-bit arithmetic shift), clamped in 64 bits;
//  * kFloat: (float)acc (vcvtdq2ps, the same MXCSR rounding as the scalar
//    cast) times the float scale, rounded half to even by vroundps with an
//    explicit mode (what RoundHalfToEven computes), clamped to +-256 before
//    the exact conversion (outside that, the int8 clamp decides anyway).
#pragma once

#if !defined(__AVX2__)
#error "fast/int8_gemm_avx2.h is for translation units compiled with AVX2 (or more)"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "qualm/kernels/detail/int8_gemm_variants.h"

namespace qualm::kernels::detail {
namespace {

constexpr int kCols = kS8PanelCols;
static_assert(kCols == 16, "two AVX2 registers of int32 per panel row");

// Output-stage constants of 16 columns, in the form the vector code reads.
struct alignas(32) Lanes {
  std::int32_t bias[kCols];
  std::int32_t multiplier[kCols];
  std::int32_t left[kCols], sat_hi[kCols], sat_lo[kCols];  // kGemmlowp
  std::int32_t right[kCols], mask[kCols], half[kCols];     // kGemmlowp
  std::int32_t t[kCols];                                   // kSingle: 31 - shift
  float scale[kCols];                                      // kFloat
};

// Columns past nc get M = 0, shift 0, scale 0, bias 0: harmless, never stored.
template <RequantMode kMode>
void BuildLanes(const S8OutputStage& o, int c0, int nc, Lanes* l) {
  for (int j = 0; j < kCols; ++j) {
    const bool real = j < nc;
    const Requant r = real ? o.requant[c0 + j] : Requant{};
    QUALM_DCHECK(r.multiplier >= 0 && r.shift >= -31 && r.shift <= 30);
    l->bias[j] = real && o.bias ? o.bias[c0 + j] : 0;
    l->multiplier[j] = r.multiplier;
    if constexpr (kMode == RequantMode::kGemmlowp) {
      const int left = std::max(r.shift, 0), right = std::max(-r.shift, 0);
      l->left[j] = left;
      l->sat_hi[j] = std::numeric_limits<std::int32_t>::max() >> left;
      l->sat_lo[j] = std::numeric_limits<std::int32_t>::min() >> left;
      l->right[j] = right;
      l->mask[j] = static_cast<std::int32_t>((std::int64_t{1} << right) - 1);
      l->half[j] = l->mask[j] >> 1;
    } else if constexpr (kMode == RequantMode::kSingle) {
      l->t[j] = 31 - r.shift;
    } else {
      l->scale[j] = r.scale;
    }
  }
}

// The clamp bounds relative to the zero point, and the zero point.
struct Bounds {
  __m256i lo, hi, zp;
  std::int64_t lo64, hi64;
};

Bounds MakeBounds(const S8OutputStage& o) {
  const std::int32_t lo = o.act_min - o.zp_out, hi = o.act_max - o.zp_out;
  return {_mm256_set1_epi32(lo), _mm256_set1_epi32(hi), _mm256_set1_epi32(o.zp_out), lo, hi};
}

inline __m256i Load8(const std::int32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }

// kSingle on the 4 lanes held in the low halves of x's 64-bit lanes (m, t alike):
// clamp((x * M + 2^(t-1)) >> t, lo, hi) as int64.
inline __m256i SingleHalf(__m256i x, __m256i m, __m256i t, const Bounds& b) {
  const __m256i one = _mm256_set1_epi64x(1);
  __m256i p = _mm256_mul_epi32(x, m);
  p = _mm256_add_epi64(p, _mm256_sllv_epi64(one, _mm256_sub_epi64(t, one)));
  const __m256i s = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
  __m256i r = _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(p, s), t), s);
  const __m256i lo = _mm256_set1_epi64x(b.lo64), hi = _mm256_set1_epi64x(b.hi64);
  r = _mm256_blendv_epi8(r, lo, _mm256_cmpgt_epi64(lo, r));
  return _mm256_blendv_epi8(r, hi, _mm256_cmpgt_epi64(r, hi));
}

// RequantizeToRange(acc + bias) of 8 columns starting at column j of l.
template <RequantMode kMode>
inline __m256i Requant8(__m256i acc, const Lanes& l, int j, const Bounds& b) {
  acc = _mm256_add_epi32(acc, Load8(l.bias + j));
  __m256i q;
  if constexpr (kMode == RequantMode::kGemmlowp) {
    const __m256i shifted = _mm256_sllv_epi32(acc, Load8(l.left + j));
    const __m256i over = _mm256_cmpgt_epi32(acc, Load8(l.sat_hi + j));
    const __m256i under = _mm256_cmpgt_epi32(Load8(l.sat_lo + j), acc);
    __m256i x = _mm256_blendv_epi8(shifted, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()), over);
    x = _mm256_blendv_epi8(x, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::min()), under);
    // SRDHM: even lanes from the low halves, odd lanes shifted down first.
    const __m256i m = Load8(l.multiplier + j);
    const __m256i nudge = _mm256_set1_epi64x(std::int64_t{1} << 30);
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), nudge);
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
    // RDBPOT: (h >> right) + (rem > (mask >> 1) + (h < 0)).
    const __m256i rem = _mm256_and_si256(h, Load8(l.mask + j));
    const __m256i threshold = _mm256_sub_epi32(Load8(l.half + j), _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
    q = _mm256_sub_epi32(_mm256_srav_epi32(h, Load8(l.right + j)), _mm256_cmpgt_epi32(rem, threshold));
  } else if constexpr (kMode == RequantMode::kSingle) {
    const __m256i m = Load8(l.multiplier + j), t = Load8(l.t + j);
    const __m256i re = SingleHalf(acc, m, _mm256_and_si256(t, _mm256_set1_epi64x(0xFFFFFFFF)), b);
    const __m256i ro = SingleHalf(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(m, 32), _mm256_srli_epi64(t, 32), b);
    q = _mm256_blend_epi32(re, _mm256_slli_epi64(ro, 32), 0xAA);
  } else {
    const __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_load_ps(l.scale + j));
    __m256 r = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-256.0f)), _mm256_set1_ps(256.0f));
    q = _mm256_cvttps_epi32(r);
  }
  q = _mm256_min_epi32(_mm256_max_epi32(q, b.lo), b.hi);
  return _mm256_add_epi32(q, b.zp);
}

// Stores the first nc of 16 int32 (already in [-128, 127]) as int8.
inline void Store16(__m256i v0, __m256i v1, std::int8_t* y, int nc) {
  __m256i s16 = _mm256_packs_epi32(v0, v1);                   // [v0 0-3, v1 0-3 | v0 4-7, v1 4-7]
  s16 = _mm256_permute4x64_epi64(s16, _MM_SHUFFLE(3, 1, 2, 0));  // [v0 0-7 | v1 0-7]
  const __m128i s8 = _mm_packs_epi16(_mm256_castsi256_si128(s16), _mm256_extracti128_si256(s16, 1));
  if (nc == kCols) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), s8);
  } else {
    alignas(16) std::int8_t buf[kCols];
    _mm_store_si128(reinterpret_cast<__m128i*>(buf), s8);
    std::memcpy(y, buf, static_cast<std::size_t>(nc));
  }
}

// Stores the first nc of 16 raw int32 accumulators (the y32 output). Masked
// stores for a column tail: vpmaskmovd never touches (or faults on) the
// masked-out lanes, so nothing past column nc is written.
inline void Store16Raw(__m256i v0, __m256i v1, std::int32_t* y, int nc) {
  if (nc == kCols) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), v0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 8), v1);
    return;
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i n0 = _mm256_set1_epi32(nc), n1 = _mm256_set1_epi32(nc - 8);
  _mm256_maskstore_epi32(y, _mm256_cmpgt_epi32(n0, lane), v0);
  _mm256_maskstore_epi32(y + 8, _mm256_cmpgt_epi32(n1, lane), v1);
}

}  // namespace
}  // namespace qualm::kernels::detail
