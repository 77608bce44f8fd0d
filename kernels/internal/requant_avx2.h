// kernels/internal/requant_avx2.h: requant.h's per-tensor requantization,
// transcribed to AVX2 lane by lane, for the fast int8 elementwise kernels
// (fast/eltwise_s8_avx2.cpp; include it only from translation units compiled
// with AVX2 flags, i.e. *_avx2.cpp / *_avx512.cpp).
//
// MultiplyByQuantizedMultiplier8<mode>(x, r) equals requant.h's
// MultiplyByQuantizedMultiplier(x[i], r, mode) in every lane, for every int32
// x and every Requant QuantizeMultiplier can produce (M in {0} u [2^30,
// 2^31 - 1], shift in [-31, 30]); RequantizeToRange8 adds the zero point and
// the clamp. One Requant for all lanes (per-tensor), so shift counts are
// uniform and use the count-in-register shifts.
//
// Why each mode is exact (the same reasoning as the per-channel output stage of
// fast/int8_gemm_avx2.h, which keeps its own per-column copy: it always clamps
// to int8, while add needs its input rescalings unclamped;
// tests/kernels/int8_eltwise_fast_test.cpp checks this one against the scalar
// function, value by value):
//  * kGemmlowp: x * 2^left saturates exactly where x > INT32_MAX >> left or
//    x < INT32_MIN >> left. SRDHM(a, M) with 0 <= M < 2^31 (never INT32_MIN,
//    so never the a == b == INT32_MIN case) is floor((a * M + 2^30) / 2^31) for
//    both signs: gemmlowp's nudge 1 - 2^30 plus truncation toward zero is that
//    floor. Its low 32 bits are bits 31..62 of the 64-bit sum, which a logical
//    shift gives as well. RDBPOT is then the formula of requant.h verbatim.
//  * kSingle: p = x * M + 2^(t-1) < 2^63; the int64 arithmetic shift (AVX2 has
//    none) is ((p ^ s) >>> t) ^ s with s the sign mask; then saturated to int32
//    with 64-bit compares.
//  * kFloat: (float)x by vcvtdq2ps (the same MXCSR round-to-nearest as the
//    scalar cast), one vmulps by the float scale (no FMA), vroundps with an
//    explicit nearest-even mode (RoundHalfToEven), then SaturateFloatToInt32:
//    vcvttps2dq gives INT32_MIN for every out-of-range value, which is the
//    right answer below -2^31; at or above 2^31 the lane is set to INT32_MAX.
//    (NaN cannot occur: x and the scale are finite.)
//  * Output stage: clamp(int64(y) + zp, act_min, act_max) ==
//    clamp(y, act_min - zp, act_max - zp) + zp, so it stays in int32.
//
// Everything here has internal linkage (an unnamed namespace), so a file
// compiled with other flags (AVX-512) gets its own copy and no inline symbol
// compiled for one ISA can be picked by the linker for another.
#pragma once

#if !defined(__AVX2__)
#error "internal/requant_avx2.h is for translation units compiled with AVX2 (or more)"
#endif

#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "qualm/kernels/requant.h"

namespace qualm::kernels::internal::avx2 {
namespace {

// One Requant's constants, broadcast, in the form the vector code reads.
struct RequantVec {
  __m256i multiplier;             // M in every 32-bit lane
  __m128i left, right;            // kGemmlowp shift counts
  __m256i sat_hi, sat_lo;         // kGemmlowp: INT32_MAX >> left, INT32_MIN >> left
  __m256i mask, half;             // kGemmlowp: 2^right - 1, mask >> 1
  __m128i t;                      // kSingle: 31 - shift
  __m256i round64;                // kSingle: 2^(t-1) in every 64-bit lane
  __m256 scale;                   // kFloat
};

inline RequantVec MakeRequantVec(const Requant& r) {
  QUALM_DCHECK(r.multiplier >= 0 && r.shift >= -31 && r.shift <= 30);
  RequantVec v;
  const int left = r.shift > 0 ? r.shift : 0, right = r.shift > 0 ? 0 : -r.shift;
  const int t = 31 - r.shift;
  const auto mask = static_cast<std::int32_t>((std::int64_t{1} << right) - 1);
  v.multiplier = _mm256_set1_epi32(r.multiplier);
  v.left = _mm_cvtsi32_si128(left);
  v.right = _mm_cvtsi32_si128(right);
  v.sat_hi = _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max() >> left);
  v.sat_lo = _mm256_set1_epi32(std::numeric_limits<std::int32_t>::min() >> left);
  v.mask = _mm256_set1_epi32(mask);
  v.half = _mm256_set1_epi32(mask >> 1);
  v.t = _mm_cvtsi32_si128(t);
  v.round64 = _mm256_set1_epi64x(std::int64_t{1} << (t - 1));
  v.scale = _mm256_set1_ps(r.scale);
  return v;
}

// kSingle on the lanes held in the low halves of x's 64-bit lanes; the int32
// result (saturated) in the low halves.
inline __m256i SingleHalf(__m256i x, const RequantVec& r) {
  const __m256i p = _mm256_add_epi64(_mm256_mul_epi32(x, r.multiplier), r.round64);
  const __m256i s = _mm256_cmpgt_epi64(_mm256_setzero_si256(), p);
  __m256i q = _mm256_xor_si256(_mm256_srl_epi64(_mm256_xor_si256(p, s), r.t), s);
  const __m256i lo = _mm256_set1_epi64x(std::numeric_limits<std::int32_t>::min());
  const __m256i hi = _mm256_set1_epi64x(std::numeric_limits<std::int32_t>::max());
  q = _mm256_blendv_epi8(q, lo, _mm256_cmpgt_epi64(lo, q));
  return _mm256_blendv_epi8(q, hi, _mm256_cmpgt_epi64(q, hi));
}

// MultiplyByQuantizedMultiplier of 8 int32 lanes (no zero point, no clamp).
template <RequantMode kMode>
inline __m256i MultiplyByQuantizedMultiplier8(__m256i x, const RequantVec& r) {
  if constexpr (kMode == RequantMode::kGemmlowp) {
    const __m256i over = _mm256_cmpgt_epi32(x, r.sat_hi);
    const __m256i under = _mm256_cmpgt_epi32(r.sat_lo, x);
    __m256i xl = _mm256_sll_epi32(x, r.left);
    xl = _mm256_blendv_epi8(xl, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()), over);
    xl = _mm256_blendv_epi8(xl, _mm256_set1_epi32(std::numeric_limits<std::int32_t>::min()), under);
    // SRDHM: even lanes from the low halves, odd lanes moved down first.
    const __m256i nudge = _mm256_set1_epi64x(std::int64_t{1} << 30);
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(xl, r.multiplier), nudge);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(xl, 32), r.multiplier), nudge);
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
    // RDBPOT: (h >> right) + (rem > (mask >> 1) + (h < 0)).
    const __m256i rem = _mm256_and_si256(h, r.mask);
    const __m256i threshold = _mm256_sub_epi32(r.half, _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
    return _mm256_sub_epi32(_mm256_sra_epi32(h, r.right), _mm256_cmpgt_epi32(rem, threshold));
  } else if constexpr (kMode == RequantMode::kSingle) {
    const __m256i even = SingleHalf(x, r);
    const __m256i odd = SingleHalf(_mm256_srli_epi64(x, 32), r);
    return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  } else {
    const __m256 f = _mm256_round_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(x), r.scale),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i too_big = _mm256_castps_si256(_mm256_cmp_ps(f, _mm256_set1_ps(2147483648.0f), _CMP_GE_OQ));
    return _mm256_blendv_epi8(_mm256_cvttps_epi32(f), _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max()),
                              too_big);
  }
}

// The output stage's clamp, relative to the zero point (see above).
struct OutputVec {
  __m256i lo, hi, zp;  // act_min - zp, act_max - zp, zp
};

inline OutputVec MakeOutputVec(std::int32_t zp, std::int32_t act_min, std::int32_t act_max) {
  return {_mm256_set1_epi32(act_min - zp), _mm256_set1_epi32(act_max - zp), _mm256_set1_epi32(zp)};
}

// RequantizeToRange of 8 int32 lanes; the result is in [act_min, act_max].
template <RequantMode kMode>
inline __m256i RequantizeToRange8(__m256i x, const RequantVec& r, const OutputVec& o) {
  const __m256i q = MultiplyByQuantizedMultiplier8<kMode>(x, r);
  return _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(q, o.lo), o.hi), o.zp);
}

}  // namespace
}  // namespace qualm::kernels::internal::avx2
