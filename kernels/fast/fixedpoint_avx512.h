// fast/fixedpoint_avx512.h (private): fast/fixedpoint_avx2.h's sigmoid / tanh
// on 32 int16 lanes (AVX-512BW), step for step the same integer operations
// (see that header for why each is fixedpoint.h's), with mask registers in
// place of the AVX2 compare vectors and blends; vpsignw (no AVX-512 form) is
// a masked negate plus a masked zero. Checked like the AVX2 one on every int16
// input. Include it only from translation units compiled with AVX-512BW.
#pragma once

#if !defined(__AVX512BW__)
#error "fast/fixedpoint_avx512.h is for translation units compiled with AVX-512BW"
#endif

#include <immintrin.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "qualm/kernels/fixedpoint.h"

namespace qualm::kernels::fixedpoint::avx512 {
namespace {

inline __m512i Set16(std::int16_t v) { return _mm512_set1_epi16(v); }
inline constexpr std::int16_t N16(std::int32_t c32) { return NarrowConstant<std::int16_t>(c32); }

inline __m512i ExpOnIntervalMinusQuarterToZero32(__m512i r) {
  const __m512i c = Set16(N16(constants::kExpMinusOneEighth));
  const __m512i x = _mm512_add_epi16(r, Set16(1 << 12));
  const __m512i x2 = _mm512_mulhrs_epi16(x, x);
  const __m512i x3 = _mm512_mulhrs_epi16(x2, x);
  const __m512i x4 = _mm512_mulhrs_epi16(x2, x2);
  const __m512i x4_over_4 = _mm512_mulhrs_epi16(x4, Set16(1 << 13));
  const __m512i third = _mm512_mulhrs_epi16(_mm512_add_epi16(x4_over_4, x3), Set16(N16(constants::kOneThird)));
  const __m512i poly_tail = _mm512_mulhrs_epi16(_mm512_add_epi16(third, x2), Set16(1 << 14));
  const __m512i scaled = _mm512_mulhrs_epi16(c, _mm512_add_epi16(x, poly_tail));
  return _mm512_adds_epi16(c, scaled);
}

// For a < 0; the a == 0 lanes are replaced by the callers.
template <int kIntegerBits>
inline __m512i ExpOnNegativeValues32(__m512i a) {
  constexpr int f = 15 - kIntegerBits;
  static_assert(f >= 2);
  constexpr auto kQuarter = static_cast<std::int16_t>(1 << (f - 2));
  const __m512i r =
      _mm512_sub_epi16(_mm512_and_si512(a, Set16(static_cast<std::int16_t>(kQuarter - 1))), Set16(kQuarter));
  __m512i result = ExpOnIntervalMinusQuarterToZero32(_mm512_slli_epi16(r, kIntegerBits));
  const __m512i s = _mm512_sub_epi16(r, a);
  [&]<int... k>(std::integer_sequence<int, k...>) {
    auto factor = [&](auto kc) {
      constexpr int kk = decltype(kc)::value;
      constexpr int j = constants::kExpFactorFirstExponent + kk;
      if constexpr (j < kIntegerBits) {
        const __mmask32 set = _mm512_test_epi16_mask(s, Set16(static_cast<std::int16_t>(1 << (f + j))));
        result = _mm512_mask_mulhrs_epi16(result, set, result, Set16(N16(constants::kExpFactors[kk])));
      }
    };
    (factor(std::integral_constant<int, k>{}), ...);
  }(std::make_integer_sequence<int, 7>{});
  if constexpr (kIntegerBits > 5) {
    const __m512i minus_32 = Set16(N16(-(std::int32_t{1} << (36 - kIntegerBits))));
    result = _mm512_mask_mov_epi16(result, _mm512_cmpgt_epi16_mask(minus_32, a), _mm512_setzero_si512());
  }
  return result;
}

inline __m512i TwoOverOnePlusX32(__m512i x) {
  const __m512i d = _mm512_avg_epu16(x, Set16(INT16_MAX));
  __m512i y = _mm512_add_epi16(Set16(N16(constants::kFortyEightSeventeenths)),
                               _mm512_mulhrs_epi16(d, Set16(N16(constants::kMinusThirtyTwoSeventeenths))));
  for (int i = 0; i < 3; ++i) {
    const __m512i dy = _mm512_mulhrs_epi16(d, y);
    const __m512i e = _mm512_sub_epi16(Set16(1 << 13), dy);
    const __m512i ye = _mm512_mulhrs_epi16(y, e);
    y = _mm512_add_epi16(y, _mm512_slli_epi16(ye, 2));
  }
  return y;
}

inline __m512i MinusAbs32(__m512i a) { return _mm512_min_epi16(a, _mm512_sub_epi16(_mm512_setzero_si512(), a)); }

template <int kIntegerBits>
inline __m512i Tanh32(__m512i a) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i e = ExpOnNegativeValues32<kIntegerBits + 1>(MinusAbs32(a));
  const __m512i y1 = _mm512_sub_epi16(TwoOverOnePlusX32(e), Set16(1 << 13));
  const __m512i y2 = _mm512_adds_epi16(y1, y1);
  __m512i t = _mm512_adds_epi16(y2, y2);
  t = _mm512_mask_sub_epi16(t, _mm512_cmpgt_epi16_mask(zero, a), zero, t);  // a < 0: wrapping -t
  return _mm512_mask_mov_epi16(t, _mm512_cmpeq_epi16_mask(a, zero), zero);  // tanh(0) = 0
}

template <int kIntegerBits>
inline __m512i Logistic32(__m512i a) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i e = ExpOnNegativeValues32<kIntegerBits>(MinusAbs32(a));
  const __m512i y = TwoOverOnePlusX32(e);
  const __m512i p = _mm512_adds_epi16(y, y);
  const __m512i r = _mm512_mask_sub_epi16(p, _mm512_cmple_epi16_mask(a, zero), Set16(INT16_MAX), p);
  return _mm512_mask_mov_epi16(r, _mm512_cmpeq_epi16_mask(a, zero), Set16(N16(constants::kOneHalf)));
}

}  // namespace
}  // namespace qualm::kernels::fixedpoint::avx512
