// fast/fixedpoint_avx2.h (private): fixedpoint.h's int16 functions (exp on
// negative values, logistic, tanh) transcribed to AVX2, 16 int16 lanes at a
// time, for the fast integer LSTM/GRU gate stage (fast/recurrent_s8_avx2.cpp).
// Include it only from translation units compiled with AVX2 flags.
//
// Every step is the scalar one lane by lane, checked by the exhaustive test
// (tests/kernels/int8_rnn_fast_test.cpp) on every int16 input of
// SigmoidQ3_12, TanhQ3_12 and TanhInt16 for integer bits 0..12:
//  * SRDHM (int16) is vpmulhrsw: (a * b + 2^14) >> 15 is round-half-toward-
//    +infinity of a * b / 2^15, what the scalar nudge-and-truncate computes
//    for both signs; its one overflow, (-2^15)^2, needs both operands at
//    INT16_MIN, which no step here can see (each says why);
//  * WrapAdd / WrapSub are vpaddw / vpsubw (two's complement wrap); exp's
//    final SaturateToRaw(c + scaled) and the saturating doublings are vpaddsw;
//  * RoundingHalfSum(x, One) for x >= 0 is vpavgw ((x + 32767 + 1) >> 1 as
//    unsigned); its only caller reads exp(.) outputs, which are >= 0.
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

inline constexpr std::int16_t N16(std::int32_t c32) { return NarrowConstant<std::int16_t>(c32); }

// The general primitives (fixedpoint.h) are replaced by cheaper forms wherever
// the operands a step can see make them equal (each noted). These functions
// are only ever applied to int16 inputs, 65536 values, and the exhaustive test
// runs every one of them through every function here, so "the cheaper form is
// exact on every reachable operand" is checked, not assumed:
//  * plain vpmulhrsw instead of Srdhm where no operand can be INT16_MIN;
//  * RoundingDivideByPOT of a non-negative x by 2^e as vpmulhrsw(x, 2^(15-e)):
//    (x 2^(15-e) + 2^14) >> 15 = (x + 2^(e-1)) >> e, half away from zero for x >= 0;
//  * left shifts without saturation where the operand is small.

// ExpOnIntervalMinusQuarterToZero<int16_t>: r in [-1/4, 0), so x = r + 1/8 in
// [-1/8, 1/8) and x^2, x^3, x^4 are tiny (no INT16_MIN operands); x^4 >= 0 and
// x^2 + third >= 0 (|x^3| << x^2).
inline __m256i ExpOnIntervalMinusQuarterToZero16(__m256i r) {
  const __m256i c = Set16(N16(constants::kExpMinusOneEighth));
  const __m256i x = _mm256_add_epi16(r, Set16(1 << 12));  // r + 1/8 (f = 15)
  const __m256i x2 = _mm256_mulhrs_epi16(x, x);
  const __m256i x3 = _mm256_mulhrs_epi16(x2, x);
  const __m256i x4 = _mm256_mulhrs_epi16(x2, x2);
  const __m256i x4_over_4 = _mm256_mulhrs_epi16(x4, Set16(1 << 13));  // RDBPOT(x4, 2), x4 >= 0
  const __m256i third = _mm256_mulhrs_epi16(_mm256_add_epi16(x4_over_4, x3), Set16(N16(constants::kOneThird)));
  const __m256i poly_tail = _mm256_mulhrs_epi16(_mm256_add_epi16(third, x2), Set16(1 << 14));  // RDBPOT(., 1)
  const __m256i scaled = _mm256_mulhrs_epi16(c, _mm256_add_epi16(x, poly_tail));
  return _mm256_adds_epi16(c, scaled);
}

// ExpOnNegativeValues<int16_t, kIntegerBits> for a < 0. a == 0 (exp = One) is
// NOT handled: both callers replace the a == 0 lanes afterwards.
template <int kIntegerBits>
inline __m256i ExpOnNegativeValues16(__m256i a) {
  constexpr int f = 15 - kIntegerBits;
  static_assert(f >= 2);
  constexpr auto kQuarter = static_cast<std::int16_t>(1 << (f - 2));
  const __m256i r =
      _mm256_sub_epi16(_mm256_and_si256(a, Set16(static_cast<std::int16_t>(kQuarter - 1))), Set16(kQuarter));
  // Rescale<0, m>(r): r in [-2^(f-2), 0) times 2^m is in [-2^13, 0): no saturation.
  __m256i result = ExpOnIntervalMinusQuarterToZero16(_mm256_slli_epi16(r, kIntegerBits));
  const __m256i s = _mm256_sub_epi16(r, a);
  [&]<int... k>(std::integer_sequence<int, k...>) {
    auto factor = [&](auto kc) {
      constexpr int kk = decltype(kc)::value;
      constexpr int j = constants::kExpFactorFirstExponent + kk;
      if constexpr (j < kIntegerBits) {
        // Bit f + j of s moved to the sign, then spread over the lane.
        const __m256i set = _mm256_srai_epi16(_mm256_slli_epi16(s, 15 - (f + j)), 15);
        // result and the factor are >= 0: no INT16_MIN operand.
        result = _mm256_blendv_epi8(result, _mm256_mulhrs_epi16(result, Set16(N16(constants::kExpFactors[kk]))), set);
      }
    };
    (factor(std::integral_constant<int, k>{}), ...);
  }(std::make_integer_sequence<int, 7>{});
  if constexpr (kIntegerBits > 5) {
    const __m256i minus_32 = Set16(N16(-(std::int32_t{1} << (36 - kIntegerBits))));
    result = _mm256_andnot_si256(_mm256_cmpgt_epi16(minus_32, a), result);
  }
  return result;
}

// TwoOverOnePlusX<int16_t> for x in [0, 1] (exp outputs): d in [1/2, 1] and y
// near 2/(1+x) in (1, 2] are positive, and the correction y (1 - d y) is tiny,
// so no INT16_MIN operand and no saturation of its shift by 2.
inline __m256i TwoOverOnePlusX16(__m256i x) {
  const __m256i d = _mm256_avg_epu16(x, Set16(INT16_MAX));  // RoundingHalfSum(x, One), x >= 0
  __m256i y = _mm256_add_epi16(Set16(N16(constants::kFortyEightSeventeenths)),
                               _mm256_mulhrs_epi16(d, Set16(N16(constants::kMinusThirtyTwoSeventeenths))));
  for (int i = 0; i < 3; ++i) {
    const __m256i dy = _mm256_mulhrs_epi16(d, y);
    const __m256i e = _mm256_sub_epi16(Set16(1 << 13), dy);  // One<int16_t, 2> (Q2.13)
    const __m256i ye = _mm256_mulhrs_epi16(y, e);
    y = _mm256_add_epi16(y, _mm256_slli_epi16(ye, 2));
  }
  return y;
}

// min(a, -a) with wrapping negation: -|a|, and INT16_MIN for INT16_MIN (the
// scalar code's "negative ? a : WrapNeg(a)" and WrapNeg(WrapNeg-abs) alike).
inline __m256i MinusAbs16(__m256i a) { return _mm256_min_epi16(a, _mm256_sub_epi16(_mm256_setzero_si256(), a)); }

// Tanh<int16_t, kIntegerBits>. The Q2 -> Q0 saturating shift by 2 is two
// saturating doublings (vpaddsw), exact for every value. vpsignw is "a < 0 ? -t : a == 0 ? 0 : t"
// in one instruction (the scalar tanh(0) = 0 and the wrapping negation).
template <int kIntegerBits>
inline __m256i Tanh16(__m256i a) {
  const __m256i e = ExpOnNegativeValues16<kIntegerBits + 1>(MinusAbs16(a));
  const __m256i y1 = _mm256_sub_epi16(TwoOverOnePlusX16(e), Set16(1 << 13));
  const __m256i y2 = _mm256_adds_epi16(y1, y1);
  const __m256i t = _mm256_adds_epi16(y2, y2);  // saturating x 4
  return _mm256_sign_epi16(t, a);
}

// Logistic<int16_t, kIntegerBits>. Q1 -> Q0 is a saturating doubling (vpaddsw).
template <int kIntegerBits>
inline __m256i Logistic16(__m256i a) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i e = ExpOnNegativeValues16<kIntegerBits>(MinusAbs16(a));
  const __m256i y = TwoOverOnePlusX16(e);
  const __m256i p = _mm256_adds_epi16(y, y);  // saturating x 2
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
