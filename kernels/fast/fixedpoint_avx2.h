// fast/fixedpoint_avx2.h (private): fixedpoint.h's int16 functions (exp on
// negative values, logistic, tanh) transcribed to AVX2, 16 int16 lanes at a
// time, for the fast integer LSTM/GRU gate stage (fast/recurrent_s8_avx2.cpp).
// Include it only from translation units compiled with AVX2 flags.
//
// Every primitive is the scalar one lane by lane (the exhaustive test in
// tests/kernels/int8_rnn_fast_test.cpp compares every int16 input of
// SigmoidQ3_12, TanhQ3_12 and TanhInt16 for integer bits 0..12):
//  * SRDHM (int16) = vpmulhrsw: (a * b + 2^14) >> 15 is round-half-toward-
//    +infinity of a * b / 2^15, which is what the scalar nudge-and-truncate
//    computes for both signs. The one overflow, (-2^15)^2, comes out as
//    -32768 (the only way vpmulhrsw can return -32768, since every other
//    product is > -2^30); it is flipped to 32767 like the scalar saturation;
//  * RoundingDivideByPOT: the scalar formula with a compile-time shift;
//  * a saturating left shift by E: compare against INT16_MAX >> E and
//    INT16_MIN >> E before shifting;
//  * WrapAdd / WrapSub are vpaddw / vpsubw (two's complement wrap);
//    exp's final SaturateToRaw(c + scaled) is vpaddsw;
//  * RoundingHalfSum(x, One) for x >= 0 is vpavgw ((x + 32767 + 1) >> 1 as
//    unsigned). Its only caller reads exp(.) outputs, which are >= 0 (products
//    and saturated sums of non-negative values; the exhaustive test covers every
//    reachable exp output since it runs every int16 input).
// Internal linkage (unnamed namespace): each TU that includes this compiles
// its own copy with its own flags.
#pragma once

#if !defined(__AVX2__)
#error "fast/fixedpoint_avx2.h is for translation units compiled with AVX2 (or more)"
#endif

#include <immintrin.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "qualm/kernels/fixedpoint.h"

namespace qualm::kernels::fixedpoint::avx2 {
namespace {

inline __m256i Set16(std::int16_t v) { return _mm256_set1_epi16(v); }

inline __m256i Srdhm(__m256i a, __m256i b) {
  const __m256i r = _mm256_mulhrs_epi16(a, b);
  return _mm256_xor_si256(r, _mm256_cmpeq_epi16(r, Set16(INT16_MIN)));  // 0x8000 -> 0x7FFF
}

template <int kE>
inline __m256i RoundingDivideByPOT16(__m256i x) {
  static_assert(kE >= 0 && kE <= 15);
  if constexpr (kE == 0) {
    return x;
  } else {
    constexpr auto kMask = static_cast<std::int16_t>((1 << kE) - 1);
    const __m256i rem = _mm256_and_si256(x, Set16(kMask));
    // threshold = (mask >> 1) + (x < 0): subtracting the all-ones compare adds 1.
    const __m256i threshold =
        _mm256_sub_epi16(Set16(static_cast<std::int16_t>(kMask >> 1)), _mm256_cmpgt_epi16(_mm256_setzero_si256(), x));
    return _mm256_sub_epi16(_mm256_srai_epi16(x, kE), _mm256_cmpgt_epi16(rem, threshold));
  }
}

template <int kE>
inline __m256i SaturatingShiftLeft16(__m256i x) {
  static_assert(kE >= 0 && kE < 15);
  if constexpr (kE == 0) {
    return x;
  } else {
    const __m256i over = _mm256_cmpgt_epi16(x, Set16(static_cast<std::int16_t>(INT16_MAX >> kE)));
    const __m256i under = _mm256_cmpgt_epi16(Set16(static_cast<std::int16_t>(INT16_MIN >> kE)), x);
    __m256i r = _mm256_slli_epi16(x, kE);
    r = _mm256_blendv_epi8(r, Set16(INT16_MAX), over);
    return _mm256_blendv_epi8(r, Set16(INT16_MIN), under);
  }
}

inline constexpr std::int16_t N16(std::int32_t c32) { return NarrowConstant<std::int16_t>(c32); }

// ExpOnIntervalMinusQuarterToZero<int16_t>.
inline __m256i ExpOnIntervalMinusQuarterToZero16(__m256i r) {
  const __m256i c = Set16(N16(constants::kExpMinusOneEighth));
  const __m256i x = _mm256_add_epi16(r, Set16(1 << 12));  // r + 1/8 (f = 15)
  const __m256i x2 = Srdhm(x, x);
  const __m256i x3 = Srdhm(x2, x);
  const __m256i x4 = Srdhm(x2, x2);
  const __m256i x4_over_4 = RoundingDivideByPOT16<2>(x4);
  const __m256i third = Srdhm(_mm256_add_epi16(x4_over_4, x3), Set16(N16(constants::kOneThird)));
  const __m256i poly_tail = RoundingDivideByPOT16<1>(_mm256_add_epi16(third, x2));
  const __m256i scaled = Srdhm(c, _mm256_add_epi16(x, poly_tail));
  return _mm256_adds_epi16(c, scaled);
}

// ExpOnNegativeValues<int16_t, kIntegerBits>.
template <int kIntegerBits>
inline __m256i ExpOnNegativeValues16(__m256i a) {
  constexpr int f = 15 - kIntegerBits;
  static_assert(f >= 2);
  constexpr auto kQuarter = static_cast<std::int16_t>(1 << (f - 2));
  const __m256i r =
      _mm256_sub_epi16(_mm256_and_si256(a, Set16(static_cast<std::int16_t>(kQuarter - 1))), Set16(kQuarter));
  __m256i result = ExpOnIntervalMinusQuarterToZero16(SaturatingShiftLeft16<kIntegerBits>(r));
  const __m256i s = _mm256_sub_epi16(r, a);
  [&]<int... k>(std::integer_sequence<int, k...>) {
    auto factor = [&](auto kc) {
      constexpr int kk = decltype(kc)::value;
      constexpr int j = constants::kExpFactorFirstExponent + kk;
      if constexpr (j < kIntegerBits) {
        const __m256i bit = Set16(static_cast<std::int16_t>(1 << (f + j)));
        const __m256i set = _mm256_cmpeq_epi16(_mm256_and_si256(s, bit), bit);
        result = _mm256_blendv_epi8(result, Srdhm(result, Set16(N16(constants::kExpFactors[kk]))), set);
      }
    };
    (factor(std::integral_constant<int, k>{}), ...);
  }(std::make_integer_sequence<int, 7>{});
  if constexpr (kIntegerBits > 5) {
    const __m256i minus_32 = Set16(N16(-(std::int32_t{1} << (36 - kIntegerBits))));
    result = _mm256_andnot_si256(_mm256_cmpgt_epi16(minus_32, a), result);
  }
  return _mm256_blendv_epi8(result, Set16(INT16_MAX), _mm256_cmpeq_epi16(a, _mm256_setzero_si256()));
}

// TwoOverOnePlusX<int16_t> for x >= 0 (see the header comment).
inline __m256i TwoOverOnePlusX16(__m256i x) {
  const __m256i d = _mm256_avg_epu16(x, Set16(INT16_MAX));
  __m256i y = _mm256_add_epi16(Set16(N16(constants::kFortyEightSeventeenths)),
                               Srdhm(d, Set16(N16(constants::kMinusThirtyTwoSeventeenths))));
  for (int i = 0; i < 3; ++i) {
    const __m256i dy = Srdhm(d, y);
    const __m256i e = _mm256_sub_epi16(Set16(1 << 13), dy);  // One<int16_t, 2> (Q2.13)
    const __m256i ye = Srdhm(y, e);
    y = _mm256_add_epi16(y, SaturatingShiftLeft16<2>(ye));
  }
  return y;
}

// min(a, -a) with wrapping negation: -|a|, and INT16_MIN for INT16_MIN (the
// scalar code's "negative ? a : WrapNeg(a)" and WrapNeg(WrapNeg-abs) alike).
inline __m256i MinusAbs16(__m256i a) { return _mm256_min_epi16(a, _mm256_sub_epi16(_mm256_setzero_si256(), a)); }

// Tanh<int16_t, kIntegerBits>.
template <int kIntegerBits>
inline __m256i Tanh16(__m256i a) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i e = ExpOnNegativeValues16<kIntegerBits + 1>(MinusAbs16(a));
  const __m256i t = SaturatingShiftLeft16<2>(_mm256_sub_epi16(TwoOverOnePlusX16(e), Set16(1 << 13)));
  const __m256i r = _mm256_blendv_epi8(t, _mm256_sub_epi16(zero, t), _mm256_cmpgt_epi16(zero, a));
  return _mm256_andnot_si256(_mm256_cmpeq_epi16(a, zero), r);
}

// Logistic<int16_t, kIntegerBits>.
template <int kIntegerBits>
inline __m256i Logistic16(__m256i a) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i e = ExpOnNegativeValues16<kIntegerBits>(MinusAbs16(a));
  const __m256i p = SaturatingShiftLeft16<1>(TwoOverOnePlusX16(e));
  const __m256i r = _mm256_blendv_epi8(_mm256_sub_epi16(Set16(INT16_MAX), p), p, _mm256_cmpgt_epi16(a, zero));
  return _mm256_blendv_epi8(r, Set16(N16(constants::kOneHalf)), _mm256_cmpeq_epi16(a, zero));
}

inline __m256i SigmoidQ3_12x16(__m256i a) { return Logistic16<3>(a); }
inline __m256i TanhQ3_12x16(__m256i a) { return Tanh16<3>(a); }

// TanhInt16 for a runtime integer-bit count, resolved once per call (as GetTanhInt16).
using TanhInt16x16Fn = __m256i (*)(__m256i);
template <int... kBits>
constexpr TanhInt16x16Fn TanhTableEntry(int bits, std::integer_sequence<int, kBits...>) {
  TanhInt16x16Fn fn = nullptr;
  ((bits == kBits ? (fn = &Tanh16<kBits>, 0) : 0), ...);
  return fn;
}
inline TanhInt16x16Fn GetTanhInt16x16(int integer_bits) {
  return TanhTableEntry(integer_bits, std::make_integer_sequence<int, kMaxTanhIntegerBits + 1>{});
}

}  // namespace
}  // namespace qualm::kernels::fixedpoint::avx2
