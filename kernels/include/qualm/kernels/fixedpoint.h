// qualm/kernels/fixedpoint.h: fixed-point arithmetic for the integer LSTM/GRU
// (TFLite "8x8_16" semantics): Q formats, exp on negative values, logistic and
// tanh, bit-exact with gemmlowp's fixedpoint.h (the test oracle,
// tests/kernels/fixedpoint_test.cpp; gemmlowp is never included here).
//
// ---------------------------------------------------------------------------
// Q formats. A raw signed integer r of N bits (N = 16 or 32) with m integer
// bits (the sign bit not counted) represents r * 2^-f, f = N - 1 - m: the range
// is [-2^m, 2^m). Q3.12 (int16, m = 3) is the LSTM gate pre-activation, Q0.15
// (int16, m = 0) a gate output. "One" with m = 0 is not representable: it
// saturates to the largest raw value (32767 / 2^15).
//
// Primitives (raw level, Raw = int16_t or int32_t):
//   Mul(a[m_a], b[m_b]) -> [m_a + m_b] raw = SRDHM(a, b) = round(a * b / 2^(N-1)),
//     the product of the raw values halved N-1 times, ties toward +infinity,
//     with the single overflow (-2^(N-1))^2 saturated to 2^(N-1) - 1.
//   Rescale [m_src] -> [m_dst]: raw * 2^(m_src - m_dst); a left shift saturates,
//     a right shift is RoundingDivideByPOT (ties away from zero).
//   Reinterpreting the raw value with m + e integer bits multiplies by 2^e exactly.
//   Additions and negations wrap (two's complement) like gemmlowp's scalar path;
//   only the final "constant + constant * poly" of exp saturates when N = 16.
//
// exp(a) for a <= 0 in [m] -> [0]:
//   Split a = r - s with r = (a mod 1/4) - 1/4 in [-1/4, 0) and s = r - a >= 0 a
//   multiple of 1/4, s = sum of 2^j over its set bits j (j = -2 .. m-1). Then
//   exp(a) = exp(r) * prod_j exp(-2^j). exp(r) is a Taylor polynomial around
//   -1/8: with x = r + 1/8 in [-1/8, 1/8),
//     exp(r) = e^(-1/8) * (1 + x + x^2/2 + x^3/6 + x^4/24)
//            = e^(-1/8) + e^(-1/8) * (x + ((x^4/4 + x^3) / 3 + x^2) / 2)
//   evaluated in Q0.(N-1) with /4 and /2 as rounding shifts and /3 as a
//   multiplication by round(2^31 / 3). Each factor exp(-2^j) (j = -2 .. 4) is a
//   Q0.31 constant round(exp(-2^j) * 2^31); factors with j >= m are skipped
//   (those bits cannot be set). If m > 5, a < -32 gives 0 (all factors past
//   exp(-16) would be 0 anyway). exp(0) = One (saturated).
//   For N = 16 every Q0.31 constant c is narrowed to RoundingDivideByPOT(c, 16).
//
// 1 / (1 + x) and (1 - x) / (1 + x) for x in [0, 1] (Newton-Raphson division):
//   d = (1 + x) / 2 in [1/2, 1], computed as RoundingHalfSum(x, One) (sum + sign
//   of sum, halved toward zero). y0 = 48/17 - 32/17 * d (the minimax linear
//   start, |1 - d y0| <= 1/17), then three steps y <- y + y (1 - d y) in Q2.(N-3)
//   (error squares each step). y ~ 1/d = 2/(1 + x), so
//     1 / (1 + x) = y / 2 (reinterpret as Q1 and saturate to Q0),
//     (1 - x) / (1 + x) = y - 1 (saturate Q2 -> Q0).
//
// tanh(a) = sign(a) * (1 - e) / (1 + e), e = exp(-2|a|); the doubling is exact
//   (reinterpretation with m + 1 integer bits), tanh(0) = 0.
// logistic(a) = 1 / (1 + exp(-|a|)) for a > 0, One - logistic(|a|) for a < 0,
//   1/2 for a = 0.
//
// TFLite's reference integer LSTM uses exactly these: sigmoid gates are
// logistic of Q3.12 int16, the cell candidate is tanh of Q3.12, and the hidden
// state uses tanh of the int16 cell state c (scale 2^cell_scale) read with
// 15 + cell_scale integer bits (TanhInt16(c, 15 + cell_scale)). All outputs are
// int16 Q0.15. TFLite Micro's lookup tables are a different semantics.
// ---------------------------------------------------------------------------
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace qualm::kernels::fixedpoint {

template <typename Raw>
struct RawTraits;
template <>
struct RawTraits<std::int16_t> {
  static constexpr int kBits = 16;
  using Wide = std::int32_t;
};
template <>
struct RawTraits<std::int32_t> {
  static constexpr int kBits = 32;
  using Wide = std::int64_t;
};

// Number of fractional bits of a Raw with `integer_bits` integer bits.
template <typename Raw, int kIntegerBits>
inline constexpr int kFractionalBits = RawTraits<Raw>::kBits - 1 - kIntegerBits;

// ---- raw-level primitives -------------------------------------------------

template <typename Raw>
constexpr Raw WrapAdd(Raw a, Raw b) {
  using U = std::make_unsigned_t<Raw>;
  return static_cast<Raw>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename Raw>
constexpr Raw WrapSub(Raw a, Raw b) {
  using U = std::make_unsigned_t<Raw>;
  return static_cast<Raw>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <typename Raw>
constexpr Raw WrapNeg(Raw a) {
  return WrapSub<Raw>(Raw{0}, a);
}
template <typename Raw>
constexpr Raw SaturateToRaw(typename RawTraits<Raw>::Wide w) {
  if (w < std::numeric_limits<Raw>::min()) return std::numeric_limits<Raw>::min();
  if (w > std::numeric_limits<Raw>::max()) return std::numeric_limits<Raw>::max();
  return static_cast<Raw>(w);
}

// round(a * b / 2^(N-1)), ties toward +infinity, saturating the one overflow.
template <typename Raw>
constexpr Raw SaturatingRoundingDoublingHighMul(Raw a, Raw b) {
  using W = typename RawTraits<Raw>::Wide;
  constexpr int kShift = RawTraits<Raw>::kBits - 1;
  if (a == std::numeric_limits<Raw>::min() && b == a) return std::numeric_limits<Raw>::max();
  const W p = static_cast<W>(a) * static_cast<W>(b);
  const W half = W{1} << (kShift - 1);
  // p + nudge, then a division truncating toward zero: the nudge (half, or
  // 1 - half for p < 0) turns truncation into round-half-toward-+infinity.
  return static_cast<Raw>((p + (p >= 0 ? half : 1 - half)) / (W{1} << kShift));
}

// round(x / 2^e), ties away from zero, e in [0, N-1].
template <typename Raw>
constexpr Raw RoundingDivideByPOT(Raw x, int e) {
  using W = typename RawTraits<Raw>::Wide;
  const W mask = (W{1} << e) - 1;
  const W rem = static_cast<W>(x) & mask;
  const W threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<Raw>((static_cast<W>(x) >> e) + (rem > threshold ? 1 : 0));
}

// x * 2^E: saturating for E > 0, rounding (RoundingDivideByPOT) for E < 0.
template <int E, typename Raw>
constexpr Raw SaturatingRoundingMultiplyByPOT(Raw x) {
  using W = typename RawTraits<Raw>::Wide;
  if constexpr (E > 0) {
    return SaturateToRaw<Raw>(static_cast<W>(x) * (W{1} << E));
  } else if constexpr (E < 0) {
    return RoundingDivideByPOT<Raw>(x, -E);
  } else {
    return x;
  }
}

// (a + b) / 2 rounded to nearest, ties away from zero (VRHADD-like).
template <typename Raw>
constexpr Raw RoundingHalfSum(Raw a, Raw b) {
  using W = typename RawTraits<Raw>::Wide;
  const W sum = static_cast<W>(a) + static_cast<W>(b);
  return static_cast<Raw>((sum + (sum >= 0 ? 1 : -1)) / 2);
}

// ---- Q-format conversion ----------------------------------------------------

// Changes the number of integer bits: raw * 2^(kSrc - kDst), saturating/rounding.
template <int kDst, int kSrc, typename Raw>
constexpr Raw Rescale(Raw x) {
  return SaturatingRoundingMultiplyByPOT<kSrc - kDst, Raw>(x);
}
// The raw value of 1.0 (saturated to the maximum for 0 integer bits).
template <typename Raw, int kIntegerBits>
constexpr Raw One() {
  if constexpr (kIntegerBits == 0) {
    return std::numeric_limits<Raw>::max();
  } else {
    return static_cast<Raw>(Raw{1} << kFractionalBits<Raw, kIntegerBits>);
  }
}
template <typename Raw, int kIntegerBits>
constexpr double ToDouble(Raw x) {
  return static_cast<double>(x) / static_cast<double>(std::int64_t{1} << kFractionalBits<Raw, kIntegerBits>);
}
// round(x * 2^f) (ties away from zero), saturated; NaN gives 0.
template <typename Raw, int kIntegerBits>
Raw FromDouble(double x);

// A constant given in Q0.31 / Q2.29 (an int32 literal with the formula beside
// it) narrowed to Raw the way gemmlowp narrows it: RoundingDivideByPOT by 16.
template <typename Raw>
constexpr Raw NarrowConstant(std::int32_t c32) {
  if constexpr (std::is_same_v<Raw, std::int32_t>) {
    return c32;
  } else {
    return static_cast<Raw>(RoundingDivideByPOT<std::int32_t>(c32, 32 - RawTraits<Raw>::kBits));
  }
}

// The constants, each round(value * 2^31) (Q0.31) or round(value * 2^29) (Q2.29).
namespace constants {
inline constexpr std::int32_t kExpMinusOneEighth = 1895147668;  // exp(-1/8), Q0.31
inline constexpr std::int32_t kOneThird = 715827883;            // 1/3, Q0.31
inline constexpr std::int32_t kFortyEightSeventeenths = 1515870810;       // 48/17, Q2.29
inline constexpr std::int32_t kMinusThirtyTwoSeventeenths = -1010580540;  // -32/17, Q2.29
inline constexpr std::int32_t kOneHalf = 1 << 30;                         // 1/2, Q0.31
// exp(-2^j) for j = -2 .. 4, Q0.31.
inline constexpr int kExpFactorFirstExponent = -2;
inline constexpr std::int32_t kExpFactors[7] = {1672461947, 1302514674, 790015084, 290630308,
                                                39332535,   720401,     242};
}  // namespace constants

// ---- functions --------------------------------------------------------------

// exp(r) for r in [-1/4, 0), r and the result in Q0.(N-1).
template <typename Raw>
constexpr Raw ExpOnIntervalMinusQuarterToZero(Raw r) {
  constexpr int f = kFractionalBits<Raw, 0>;
  const Raw c = NarrowConstant<Raw>(constants::kExpMinusOneEighth);
  const Raw x = WrapAdd<Raw>(r, static_cast<Raw>(Raw{1} << (f - 3)));  // x = r + 1/8
  const Raw x2 = SaturatingRoundingDoublingHighMul<Raw>(x, x);
  const Raw x3 = SaturatingRoundingDoublingHighMul<Raw>(x2, x);
  const Raw x4 = SaturatingRoundingDoublingHighMul<Raw>(x2, x2);
  const Raw x4_over_4 = RoundingDivideByPOT<Raw>(x4, 2);
  const Raw third = SaturatingRoundingDoublingHighMul<Raw>(WrapAdd<Raw>(x4_over_4, x3),
                                                           NarrowConstant<Raw>(constants::kOneThird));
  // x^4/24 + x^3/6 + x^2/2
  const Raw poly_tail = RoundingDivideByPOT<Raw>(WrapAdd<Raw>(third, x2), 1);
  const Raw scaled = SaturatingRoundingDoublingHighMul<Raw>(c, WrapAdd<Raw>(x, poly_tail));
  if constexpr (RawTraits<Raw>::kBits == 16) {
    return SaturateToRaw<Raw>(static_cast<std::int32_t>(c) + scaled);
  } else {
    return WrapAdd<Raw>(c, scaled);
  }
}

// exp(a) for a <= 0; a has kIntegerBits integer bits, the result 0.
template <typename Raw, int kIntegerBits>
constexpr Raw ExpOnNegativeValues(Raw a) {
  constexpr int f = kFractionalBits<Raw, kIntegerBits>;
  static_assert(f >= 2, "exp needs at least two fractional bits (1/4 must be representable)");
  if (a == 0) return One<Raw, 0>();
  const Raw quarter = static_cast<Raw>(Raw{1} << (f - 2));
  const Raw r = WrapSub<Raw>(static_cast<Raw>(a & (quarter - 1)), quarter);  // in [-1/4, 0)
  Raw result = ExpOnIntervalMinusQuarterToZero<Raw>(Rescale<0, kIntegerBits, Raw>(r));
  const Raw s = WrapSub<Raw>(r, a);  // r - a: a non-negative multiple of 1/4
  for (int k = 0; k < 7; ++k) {
    const int j = constants::kExpFactorFirstExponent + k;  // factor exp(-2^j)
    if (j >= kIntegerBits) break;
    if ((s >> (f + j)) & 1) {
      result = SaturatingRoundingDoublingHighMul<Raw>(result, NarrowConstant<Raw>(constants::kExpFactors[k]));
    }
  }
  if constexpr (kIntegerBits > 5) {
    // -32 in this format (as gemmlowp: the Q0.31-style literal -(2^(36-m)), narrowed).
    const Raw minus_32 = NarrowConstant<Raw>(-(std::int32_t{1} << (36 - kIntegerBits)));
    if (a < minus_32) result = 0;
  }
  return result;
}

// Newton-Raphson y ~ 2 / (1 + x) in Q2.(N-3), for x in [0, 1] given in Q0.(N-1).
template <typename Raw>
constexpr Raw TwoOverOnePlusX(Raw x) {
  const Raw d = RoundingHalfSum<Raw>(x, One<Raw, 0>());  // (1 + x) / 2, Q0
  Raw y = WrapAdd<Raw>(NarrowConstant<Raw>(constants::kFortyEightSeventeenths),
                       SaturatingRoundingDoublingHighMul<Raw>(
                           d, NarrowConstant<Raw>(constants::kMinusThirtyTwoSeventeenths)));
  for (int i = 0; i < 3; ++i) {
    const Raw dy = SaturatingRoundingDoublingHighMul<Raw>(d, y);            // Q2
    const Raw e = WrapSub<Raw>(One<Raw, 2>(), dy);                          // 1 - d y, Q2
    const Raw ye = SaturatingRoundingDoublingHighMul<Raw>(y, e);            // Q4
    y = WrapAdd<Raw>(y, Rescale<2, 4, Raw>(ye));
  }
  return y;
}

// tanh(a): a has kIntegerBits integer bits, the result is Q0.(N-1).
template <typename Raw, int kIntegerBits>
constexpr Raw Tanh(Raw a) {
  if (a == 0) return 0;
  const bool negative = a < 0;
  const Raw minus_abs = negative ? a : WrapNeg<Raw>(a);
  // exp(-2|a|): the same raw value read with one more integer bit is 2 * (-|a|).
  const Raw e = ExpOnNegativeValues<Raw, kIntegerBits + 1>(minus_abs);
  const Raw t = Rescale<0, 2, Raw>(WrapSub<Raw>(TwoOverOnePlusX<Raw>(e), One<Raw, 2>()));  // (1-e)/(1+e)
  return negative ? WrapNeg<Raw>(t) : t;
}

// logistic(a) = 1 / (1 + exp(-a)): a has kIntegerBits integer bits, the result Q0.(N-1).
template <typename Raw, int kIntegerBits>
constexpr Raw Logistic(Raw a) {
  if (a == 0) return NarrowConstant<Raw>(constants::kOneHalf);
  const bool positive = a > 0;
  const Raw abs = positive ? a : WrapNeg<Raw>(a);  // wraps for the minimum, as gemmlowp
  const Raw e = ExpOnNegativeValues<Raw, kIntegerBits>(WrapNeg<Raw>(abs));
  // 1 / (1 + e) = y / 2: y read as Q1, then saturated to Q0.
  const Raw p = Rescale<0, 1, Raw>(TwoOverOnePlusX<Raw>(e));
  return positive ? p : WrapSub<Raw>(One<Raw, 0>(), p);
}

// ---- the integer LSTM's entry points (int16) --------------------------------

// sigmoid of a Q3.12 gate pre-activation -> Q0.15.
inline std::int16_t SigmoidQ3_12(std::int16_t x) { return Logistic<std::int16_t, 3>(x); }
// tanh of a Q3.12 gate pre-activation -> Q0.15.
inline std::int16_t TanhQ3_12(std::int16_t x) { return Tanh<std::int16_t, 3>(x); }

// tanh of an int16 with `integer_bits` integer bits (the cell state at scale
// 2^cell_scale has 15 + cell_scale). Supported: 0 .. kMaxTanhIntegerBits
// (TFLite accepts 0 .. 6). Prepare must check; GetTanhInt16 returns nullptr
// for an unsupported count, so the kernel dispatches once, outside its loop.
inline constexpr int kMaxTanhIntegerBits = 12;
using TanhInt16Fn = std::int16_t (*)(std::int16_t);
TanhInt16Fn GetTanhInt16(int integer_bits);
// Convenience form; returns 0 for an unsupported integer_bits (never aborts).
std::int16_t TanhInt16(std::int16_t x, int integer_bits);

// The cell-state arithmetic of the doc's LSTM section, int16 in and out:
// RoundingDivideByPOT(a * b, shift) (f * c with shift 15, i * g with shift
// 30 + cell_scale), saturated to int16 (TFLite truncates instead; for the
// shifts it accepts (>= 15) the two never differ).
inline std::int16_t MulRoundingShift16(std::int16_t a, std::int16_t b, int shift) {
  const std::int32_t p = static_cast<std::int32_t>(a) * static_cast<std::int32_t>(b);
  return SaturateToRaw<std::int16_t>(RoundingDivideByPOT<std::int32_t>(p, shift));
}
inline std::int16_t SaturatingAdd16(std::int16_t a, std::int16_t b) {
  return SaturateToRaw<std::int16_t>(static_cast<std::int32_t>(a) + static_cast<std::int32_t>(b));
}

// ---- definitions of the declared templates ----------------------------------

template <typename Raw, int kIntegerBits>
Raw FromDouble(double x) {
  if (x != x) return 0;
  const double scaled = x * static_cast<double>(std::int64_t{1} << kFractionalBits<Raw, kIntegerBits>);
  if (scaled >= static_cast<double>(std::numeric_limits<Raw>::max())) return std::numeric_limits<Raw>::max();
  if (scaled <= static_cast<double>(std::numeric_limits<Raw>::min())) return std::numeric_limits<Raw>::min();
  return static_cast<Raw>(std::round(scaled));  // ties away from zero
}

}  // namespace qualm::kernels::fixedpoint
