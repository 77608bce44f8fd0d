// qualm/kernels/fixedpoint.h against gemmlowp's fixedpoint.h (the oracle the
// TFLite integer LSTM is defined by) and against the mathematics in double.
//
// Bit-exact: every int16 input (65536) for exp / logistic / tanh at every
// supported number of integer bits, every int16 x exponent for the rounding
// shift, and millions of random int32 inputs. Against double: stated tolerances
// in units of the output's last place (2^-15 for Q0.15).
#include <doctest/doctest.h>
#include <gemmlowp/fixedpoint/fixedpoint.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <utility>

#include "qualm/kernels/fixedpoint.h"

namespace fp = qualm::kernels::fixedpoint;

namespace {

// Calls f(std::integral_constant<int, K>) for K in 0 .. N-1.
template <typename F, int... K>
void ForEachK(F&& f, std::integer_sequence<int, K...>) {
  (f(std::integral_constant<int, K>{}), ...);
}

// gemmlowp wrappers on raw values.
template <typename Raw, int k>
Raw GExp(Raw a) {
  return gemmlowp::exp_on_negative_values(gemmlowp::FixedPoint<Raw, k>::FromRaw(a)).raw();
}
template <typename Raw, int k>
Raw GTanh(Raw a) {
  return gemmlowp::tanh(gemmlowp::FixedPoint<Raw, k>::FromRaw(a)).raw();
}
template <typename Raw, int k>
Raw GLogistic(Raw a) {
  return gemmlowp::logistic(gemmlowp::FixedPoint<Raw, k>::FromRaw(a)).raw();
}

// Counts mismatches and remembers the first one (one CHECK per sweep, not per input).
struct Mismatches {
  long count = 0, compared = 0;
  std::string first;
  template <typename Describe>  // called only for the first mismatch
  void Add(bool equal, Describe&& describe) {
    ++compared;
    if (!equal && count++ == 0) first = describe();
  }
};
std::string Desc(const char* fn, int k, long long x, long long ours, long long theirs) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s<%d>(%lld): qualm %lld, gemmlowp %lld", fn, k, x, ours, theirs);
  return buf;
}

}  // namespace

TEST_CASE("fixedpoint: every constant is round(value * 2^f) of the formula beside it") {
  namespace c = fp::constants;
  const double two31 = 2147483648.0, two29 = 536870912.0;
  CHECK(c::kExpMinusOneEighth == std::llround(std::exp(-0.125) * two31));
  CHECK(c::kOneThird == std::llround(two31 / 3.0));
  CHECK(c::kFortyEightSeventeenths == std::llround(48.0 / 17.0 * two29));
  CHECK(c::kMinusThirtyTwoSeventeenths == std::llround(-32.0 / 17.0 * two29));
  CHECK(c::kOneHalf == std::llround(0.5 * two31));
  for (int k = 0; k < 7; ++k) {
    const int j = c::kExpFactorFirstExponent + k;
    CHECK_MESSAGE(c::kExpFactors[k] == std::llround(std::exp(-std::ldexp(1.0, j)) * two31), "exp(-2^", j, ")");
  }
}

TEST_CASE("fixedpoint: int16 primitives vs gemmlowp (all inputs)") {
  Mismatches rd, mulpot, half, srdhm;
  for (int x = -32768; x <= 32767; ++x) {
    const auto a = static_cast<std::int16_t>(x);
    for (int e = 0; e <= 15; ++e) {
      const std::int16_t ours = fp::RoundingDivideByPOT<std::int16_t>(a, e);
      const std::int16_t theirs = gemmlowp::RoundingDivideByPOT(a, e);
      rd.Add(ours == theirs, [&] { return Desc("RDBPOT16 e", e, x, ours, theirs); });
    }
    ForEachK(
        [&](auto kc) {
          constexpr int k = decltype(kc)::value + 1;  // 1..4 and -1..-4
          const std::int16_t l = fp::SaturatingRoundingMultiplyByPOT<k>(a);
          const std::int16_t gl = gemmlowp::SaturatingRoundingMultiplyByPOT<k>(a);
          mulpot.Add(l == gl, [&] { return Desc("MulByPOT16", k, x, l, gl); });
          const std::int16_t r = fp::SaturatingRoundingMultiplyByPOT<-k>(a);
          const std::int16_t gr = gemmlowp::SaturatingRoundingMultiplyByPOT<-k>(a);
          mulpot.Add(r == gr, [&] { return Desc("MulByPOT16", -k, x, r, gr); });
        },
        std::make_integer_sequence<int, 4>{});
    for (int b : {-32768, -32767, -16385, -16384, -1, 0, 1, 3, 16384, 23130, 32767}) {
      const auto bb = static_cast<std::int16_t>(b);
      const std::int16_t h = fp::RoundingHalfSum<std::int16_t>(a, bb);
      const std::int16_t gh = gemmlowp::RoundingHalfSum(a, bb);
      half.Add(h == gh, [&] { return Desc("RoundingHalfSum16 b", b, x, h, gh); });
    }
  }
  // SRDHM on 2^32 pairs is too many: every a against a fixed set of b, plus 4M random pairs.
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> d16(-32768, 32767);
  auto check_srdhm = [&](std::int16_t a, std::int16_t b) {
    const std::int16_t ours = fp::SaturatingRoundingDoublingHighMul<std::int16_t>(a, b);
    const std::int16_t theirs = gemmlowp::SaturatingRoundingDoublingHighMul(a, b);
    srdhm.Add(ours == theirs, [&] { return Desc("SRDHM16 b", b, a, ours, theirs); });
  };
  for (int x = -32768; x <= 32767; ++x) {
    for (int b : {-32768, -32767, -16384, -1, 0, 1, 2, 16384, 32767}) {
      check_srdhm(static_cast<std::int16_t>(x), static_cast<std::int16_t>(b));
    }
  }
  for (int i = 0; i < 4'000'000; ++i) {
    check_srdhm(static_cast<std::int16_t>(d16(rng)), static_cast<std::int16_t>(d16(rng)));
  }
  for (const Mismatches* m : {&rd, &mulpot, &half, &srdhm}) {
    CHECK_MESSAGE(m->count == 0, m->count, " of ", m->compared, " differ, first: ", m->first);
  }
  MESSAGE("int16 primitives compared with gemmlowp: ",
          rd.compared + mulpot.compared + half.compared + srdhm.compared);
}

TEST_CASE("fixedpoint: int32 primitives vs gemmlowp (random + edges)") {
  std::mt19937 rng(99);
  std::uniform_int_distribution<std::int32_t> d32(std::numeric_limits<std::int32_t>::min(),
                                                  std::numeric_limits<std::int32_t>::max());
  const std::int32_t edges[] = {std::numeric_limits<std::int32_t>::min(),
                                std::numeric_limits<std::int32_t>::min() + 1,
                                -(1 << 30) - 1, -(1 << 30), -1, 0, 1, (1 << 30) - 1, 1 << 30,
                                std::numeric_limits<std::int32_t>::max()};
  Mismatches m;
  auto check = [&](std::int32_t a, std::int32_t b) {
    const std::int32_t s = fp::SaturatingRoundingDoublingHighMul<std::int32_t>(a, b);
    const std::int32_t gs = gemmlowp::SaturatingRoundingDoublingHighMul(a, b);
    m.Add(s == gs, [&] { return Desc("SRDHM32 b", b, a, s, gs); });
    const int e = static_cast<int>(static_cast<std::uint32_t>(b) % 32u);
    const std::int32_t r = fp::RoundingDivideByPOT<std::int32_t>(a, e);
    const std::int32_t gr = gemmlowp::RoundingDivideByPOT(a, e);
    m.Add(r == gr, [&] { return Desc("RDBPOT32 e", e, a, r, gr); });
    const std::int32_t h = fp::RoundingHalfSum<std::int32_t>(a, b);
    const std::int32_t gh = gemmlowp::RoundingHalfSum(a, b);
    m.Add(h == gh, [&] { return Desc("RoundingHalfSum32 b", b, a, h, gh); });
    const std::int32_t l = fp::SaturatingRoundingMultiplyByPOT<3>(a);
    const std::int32_t gl = gemmlowp::SaturatingRoundingMultiplyByPOT<3>(a);
    m.Add(l == gl, [&] { return Desc("MulByPOT32", 3, a, l, gl); });
  };
  for (std::int32_t a : edges)
    for (std::int32_t b : edges) check(a, b);
  for (int i = 0; i < 8'000'000; ++i) check(d32(rng), d32(rng));
  CHECK_MESSAGE(m.count == 0, m.count, " of ", m.compared, " differ, first: ", m.first);
}

TEST_CASE("fixedpoint: int16 exp/logistic/tanh vs gemmlowp on all 65536 inputs at every integer-bit count") {
  Mismatches m;
  // exp and logistic need 2 fractional bits: 0..13 integer bits; tanh doubles
  // its input by reinterpretation with one more integer bit: 0..12.
  ForEachK(
      [&](auto kc) {
        constexpr int k = decltype(kc)::value;
        for (int x = -32768; x <= 32767; ++x) {
          const auto a = static_cast<std::int16_t>(x);
          if (x <= 0) {
            const std::int16_t e = fp::ExpOnNegativeValues<std::int16_t, k>(a);
            m.Add(e == GExp<std::int16_t, k>(a), [&] { return Desc("exp16", k, x, e, GExp<std::int16_t, k>(a)); });
          }
          const std::int16_t l = fp::Logistic<std::int16_t, k>(a);
          m.Add(l == GLogistic<std::int16_t, k>(a), [&] { return Desc("logistic16", k, x, l, GLogistic<std::int16_t, k>(a)); });
          if constexpr (k <= fp::kMaxTanhIntegerBits) {
            const std::int16_t t = fp::Tanh<std::int16_t, k>(a);
            m.Add(t == GTanh<std::int16_t, k>(a), [&] { return Desc("tanh16", k, x, t, GTanh<std::int16_t, k>(a)); });
            const std::int16_t td = fp::TanhInt16(a, k);  // the run-time dispatch
            m.Add(td == t, [&] { return Desc("TanhInt16 dispatch", k, x, td, t); });
          }
        }
      },
      std::make_integer_sequence<int, 14>{});
  // The LSTM entry points, and the polynomial core on every int16 (its domain
  // is [-1/4, 0); outside it the saturating final add of the int16 variant is reached).
  for (int x = -32768; x <= 32767; ++x) {
    const auto a = static_cast<std::int16_t>(x);
    const std::int16_t p = fp::ExpOnIntervalMinusQuarterToZero<std::int16_t>(a);
    const std::int16_t gp =
        gemmlowp::exp_on_interval_between_negative_one_quarter_and_0_excl(gemmlowp::FixedPoint<std::int16_t, 0>::FromRaw(a))
            .raw();
    m.Add(p == gp, [&] { return Desc("exp_interval16", 0, x, p, gp); });
    m.Add(fp::SigmoidQ3_12(a) == GLogistic<std::int16_t, 3>(a), [&] { return Desc("SigmoidQ3_12", 3, x, fp::SigmoidQ3_12(a), 0); });
    m.Add(fp::TanhQ3_12(a) == GTanh<std::int16_t, 3>(a), [&] { return Desc("TanhQ3_12", 3, x, fp::TanhQ3_12(a), 0); });
  }
  CHECK_MESSAGE(m.count == 0, m.count, " of ", m.compared, " differ, first: ", m.first);
  MESSAGE("int16 exp/logistic/tanh compared bit for bit with gemmlowp: ", m.compared);
  CHECK((fp::GetTanhInt16(-1) == nullptr));
  CHECK((fp::GetTanhInt16(fp::kMaxTanhIntegerBits + 1) == nullptr));
  CHECK(fp::TanhInt16(4096, 99) == 0);  // unsupported: 0, never an abort
}

TEST_CASE("fixedpoint: int32 exp/logistic/tanh vs gemmlowp on random inputs") {
  std::mt19937 rng(7);
  // INT32_MIN is excluded: gemmlowp negates it (undefined behaviour in int32).
  std::uniform_int_distribution<std::int32_t> d32(std::numeric_limits<std::int32_t>::min() + 1,
                                                  std::numeric_limits<std::int32_t>::max());
  Mismatches m;
  ForEachK(
      [&](auto kc) {
        constexpr int k = decltype(kc)::value * 3;  // 0, 3, 6, 9, 12
        for (int i = 0; i < 600'000; ++i) {
          std::int32_t a = d32(rng);
          if (i % 4 == 0) a >>= (i / 4) % 31;  // also small magnitudes
          const std::int32_t neg = a > 0 ? -a : a;
          const std::int32_t e = fp::ExpOnNegativeValues<std::int32_t, k>(neg);
          m.Add(e == GExp<std::int32_t, k>(neg), [&] { return Desc("exp32", k, neg, e, GExp<std::int32_t, k>(neg)); });
          const std::int32_t l = fp::Logistic<std::int32_t, k>(a);
          m.Add(l == GLogistic<std::int32_t, k>(a), [&] { return Desc("logistic32", k, a, l, GLogistic<std::int32_t, k>(a)); });
          const std::int32_t t = fp::Tanh<std::int32_t, k>(a);
          m.Add(t == GTanh<std::int32_t, k>(a), [&] { return Desc("tanh32", k, a, t, GTanh<std::int32_t, k>(a)); });
        }
      },
      std::make_integer_sequence<int, 5>{});
  CHECK_MESSAGE(m.count == 0, m.count, " of ", m.compared, " differ, first: ", m.first);
  MESSAGE("int32 exp/logistic/tanh compared bit for bit with gemmlowp: ", m.compared);
}

TEST_CASE("fixedpoint: accuracy against the mathematics (double)") {
  // Q0.15 outputs; errors in units of 2^-15. Measured maxima over all int16
  // inputs (gemmlowp's algorithm, so gemmlowp's accuracy): sigmoid 6.4, tanh
  // 11.8, exp 1.9 units. The bounds below are the documented tolerance.
  double max_sig = 0, max_tanh = 0, max_exp = 0;
  for (int x = -32768; x <= 32767; ++x) {
    const auto a = static_cast<std::int16_t>(x);
    const double r = fp::ToDouble<std::int16_t, 3>(a);
    max_sig = std::fmax(max_sig, std::fabs(fp::SigmoidQ3_12(a) - 32768.0 / (1.0 + std::exp(-r))));
    max_tanh = std::fmax(max_tanh, std::fabs(fp::TanhQ3_12(a) - 32768.0 * std::tanh(r)));
    if (x <= 0) {
      const std::int16_t e = fp::ExpOnNegativeValues<std::int16_t, 3>(a);
      max_exp = std::fmax(max_exp, std::fabs(e - std::fmin(32767.0, 32768.0 * std::exp(r))));
    }
  }
  MESSAGE("max |error| in units of 2^-15: sigmoid ", max_sig, ", tanh ", max_tanh, ", exp ", max_exp);
  CHECK(max_sig <= 8.0);
  CHECK(max_tanh <= 16.0);
  CHECK(max_exp <= 4.0);
  // int32: much finer (units of 2^-31, relative to the 2^16 times finer grid).
  std::mt19937 rng(3);
  std::uniform_int_distribution<std::int32_t> d32(-(1 << 30), 1 << 30);
  double max32 = 0;
  for (int i = 0; i < 200'000; ++i) {
    const std::int32_t a = d32(rng);
    const double r = fp::ToDouble<std::int32_t, 3>(a);
    max32 = std::fmax(max32, std::fabs(fp::Logistic<std::int32_t, 3>(a) - 2147483648.0 / (1.0 + std::exp(-r))));
    max32 = std::fmax(max32, std::fabs(fp::Tanh<std::int32_t, 3>(a) - 2147483648.0 * std::tanh(r)));
  }
  MESSAGE("int32 logistic/tanh Q3.28 max |error| in units of 2^-31: ", max32);
  CHECK(max32 <= 1024.0);  // i.e. <= 2^-21 absolute (measured 304)
}

TEST_CASE("fixedpoint: hand-written golden values") {
  CHECK(fp::SigmoidQ3_12(0) == 16384);  // 1/2
  CHECK(fp::TanhQ3_12(0) == 0);
  CHECK(fp::ExpOnNegativeValues<std::int16_t, 3>(0) == 32767);  // One saturates in Q0.15
  // Odd symmetry of tanh and 1 - sigmoid(-x) for every non-minimum input.
  for (int x = -32767; x <= 32767; ++x) {
    const auto a = static_cast<std::int16_t>(x), na = static_cast<std::int16_t>(-x);
    if (fp::TanhQ3_12(a) != -fp::TanhQ3_12(na)) FAIL("tanh not odd at ", x);
    if (x != 0 && fp::SigmoidQ3_12(a) != 32767 - fp::SigmoidQ3_12(na)) FAIL("sigmoid symmetry at ", x);
  }
  // Saturating ends: sigmoid(8 - 2^-12) and tanh(8 - 2^-12) round to within 1 unit of One.
  CHECK(std::abs(fp::SigmoidQ3_12(32767) - 32757) <= 8);  // 2^15/(1+e^-8) = 32757.0
  CHECK(fp::TanhQ3_12(32767) >= 32766);
  CHECK(fp::TanhQ3_12(-32768) <= -32766);
  // The wrapped minimum: sigmoid(-8) is 1 - sigmoid(8), within one unit of 2^15 e^-8 / (1 + e^-8) = 11.0.
  CHECK(std::abs(fp::SigmoidQ3_12(-32768) - 11) <= 1);
  // The LSTM's tanh(c): cell scale 2^-11 -> 4 integer bits; c = 2048 is 1.0.
  CHECK(std::abs(fp::TanhInt16(2048, 4) - 24956) <= 16);  // 2^15 tanh(1) = 24956.2
  CHECK(fp::TanhInt16(2048, 4) == fp::TanhQ3_12(4096));  // same real value, different formats
}

TEST_CASE("fixedpoint: Q-format conversion and rescale") {
  using R16 = std::int16_t;
  CHECK(fp::FromDouble<R16, 3>(1.0) == 4096);
  CHECK(fp::FromDouble<R16, 3>(-8.0) == -32768);
  CHECK(fp::FromDouble<R16, 3>(8.0) == 32767);  // saturates
  CHECK(fp::FromDouble<R16, 0>(1.0) == 32767);
  CHECK(fp::FromDouble<R16, 0>(std::nan("")) == 0);
  CHECK(fp::FromDouble<R16, 3>(1.5 / 4096) == 2);    // ties away from zero
  CHECK(fp::FromDouble<R16, 3>(-1.5 / 4096) == -2);
  CHECK(fp::ToDouble<R16, 3>(4096) == 1.0);
  CHECK(fp::One<R16, 2>() == 8192);
  CHECK(fp::One<R16, 0>() == 32767);
  CHECK(fp::One<std::int32_t, 0>() == std::numeric_limits<std::int32_t>::max());
  // Q3.12 -> Q0.15 multiplies the raw by 8 with saturation; Q0.15 -> Q3.12 rounds.
  CHECK(fp::Rescale<0, 3, R16>(1000) == 8000);
  CHECK(fp::Rescale<0, 3, R16>(5000) == 32767);
  CHECK(fp::Rescale<0, 3, R16>(-5000) == -32768);
  CHECK(fp::Rescale<3, 0, R16>(12) == 2);   // 1.5 -> 2 (away)
  CHECK(fp::Rescale<3, 0, R16>(-12) == -2);
  CHECK(fp::Rescale<3, 0, R16>(11) == 1);
  // gemmlowp's FromDouble agrees on a grid of values.
  for (double v = -9.0; v <= 9.0; v += 0.0078125 / 3) {
    const R16 ours = fp::FromDouble<R16, 3>(v);
    const R16 theirs = gemmlowp::FixedPoint<R16, 3>::FromDouble(v).raw();
    CHECK_MESSAGE(ours == theirs, v);
  }
}

TEST_CASE("fixedpoint: LSTM cell arithmetic vs an int64 oracle") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d16(-32768, 32767);
  long bad = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const auto a = static_cast<std::int16_t>(d16(rng)), b = static_cast<std::int16_t>(d16(rng));
    const int shift = 15 + i % 10;
    // Oracle: round half away from zero of a*b / 2^shift via double (exact: |a*b| < 2^31).
    const double q = std::ldexp(static_cast<double>(a) * b, -shift);
    double r = std::round(q);
    r = std::fmin(32767.0, std::fmax(-32768.0, r));
    if (fp::MulRoundingShift16(a, b, shift) != r) ++bad;
    const int s = std::min(32767, std::max(-32768, a + b));
    if (fp::SaturatingAdd16(a, b) != s) ++bad;
  }
  CHECK(bad == 0);
  CHECK(fp::MulRoundingShift16(-32768, -32768, 15) == 32767);  // 2^15 saturates
  CHECK(fp::MulRoundingShift16(16384, 3, 15) == 2);             // 1.5 -> 2
  CHECK(fp::MulRoundingShift16(-16384, 3, 15) == -2);           // -1.5 -> -2 (away)
}
