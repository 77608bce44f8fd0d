// qualm/kernels/requant.h, the int8 arithmetic contract, against three kinds
// of oracle:
//  - gemmlowp's fixedpoint.h (SRDHM, RDBPOT, saturating shift): bit-exact;
//  - the real value in long double (x86-64: 64-bit significand, so x * M *
//    2^(shift-31) with |x * M| < 2^62 is exact) rounded with the mode's tie rule;
//  - golden vectors written by hand from the rules.
//
// Tolerances stated against the exact real value y = x * M * 2^(shift - 31):
//  kSingle   r == floor(y + 1/2) (ties toward +infinity), saturated: always exact.
//  kGemmlowp SRDHM rounds z = x' M / 2^31 to the nearest (ties up), then RDBPOT
//            rounds by 2^right (ties away): |r - y| <= 1/2 + 2^-(right+1).
//            r == round_half_away(y) whenever y is farther than 2^-(right+1)
//            from a half-integer; near a tie it may be either neighbour (1 unit).
//            With right == 0 (shift >= 0) it is single rounding: floor(y + 1/2).
//  kFloat    r == nearbyint_even(float(x) * scale) (float product), exactly.
#include <doctest/doctest.h>
#include <gemmlowp/fixedpoint/fixedpoint.h>

#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qualm/kernels/requant.h"

namespace qk = qualm::kernels;
using qk::Requant;
using qk::RequantMode;

namespace {

constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
static_assert(LDBL_MANT_DIG >= 64, "the long double oracle needs a 64-bit significand (x86-64)");

const std::vector<std::int32_t>& EdgeInputs() {
  static const std::vector<std::int32_t> v = {kMin,     kMin + 1,        -(1 << 30) - 1, -(1 << 30), -65537, -3, -2,
                                              -1,       0,               1,              2,          3,      65537,
                                              1 << 30, (1 << 30) + 1, kMax - 1,       kMax};
  return v;
}

// The exact real value x * M * 2^(shift - 31).
long double Exact(std::int32_t x, const Requant& r) {
  return std::ldexp(static_cast<long double>(x) * static_cast<long double>(r.multiplier), r.shift - 31);
}
long double RoundHalfAway(long double y) { return y < 0 ? -std::floor(-y + 0.5L) : std::floor(y + 0.5L); }
long double Clamp32(long double y) { return std::fmin(static_cast<long double>(kMax), std::fmax(static_cast<long double>(kMin), y)); }

// The TFLite reference MultiplyByQuantizedMultiplier written with gemmlowp's
// primitives (left shift: gemmlowp's scalar ShiftLeft, which saturates).
std::int32_t GemmlowpMbqm(std::int32_t x, const Requant& r) {
  const int left = r.shift > 0 ? r.shift : 0, right = r.shift > 0 ? 0 : -r.shift;
  return gemmlowp::RoundingDivideByPOT(
      gemmlowp::SaturatingRoundingDoublingHighMul(gemmlowp::ShiftLeft(x, left), r.multiplier), right);
}

Requant R(std::int32_t m, int shift, float scale = 0.0f) { return Requant{m, shift, scale}; }

std::int32_t G(std::int32_t x, const Requant& r) { return qk::MultiplyByQuantizedMultiplier(x, r, RequantMode::kGemmlowp); }
std::int32_t S(std::int32_t x, const Requant& r) { return qk::MultiplyByQuantizedMultiplier(x, r, RequantMode::kSingle); }
std::int32_t F(std::int32_t x, const Requant& r) { return qk::MultiplyByQuantizedMultiplier(x, r, RequantMode::kFloat); }

}  // namespace

TEST_CASE("requant: SRDHM vs gemmlowp and the exact product (edges + 4M random pairs)") {
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::int32_t> d(kMin, kMax);
  long compared = 0, bad_gemmlowp = 0, bad_exact = 0;
  auto check = [&](std::int32_t a, std::int32_t b) {
    const std::int32_t ours = qk::SaturatingRoundingDoublingHighMul(a, b);
    ++compared;
    if (ours != gemmlowp::SaturatingRoundingDoublingHighMul(a, b)) ++bad_gemmlowp;
    // Exact oracle: floor(a b / 2^31 + 1/2) (ties up) in long double, saturated.
    const long double y = std::ldexp(static_cast<long double>(a) * b, -31);
    if (ours != Clamp32(std::floor(y + 0.5L))) ++bad_exact;
  };
  for (std::int32_t a : EdgeInputs())
    for (std::int32_t b : EdgeInputs()) check(a, b);
  for (int i = 0; i < 4'000'000; ++i) check(d(rng), d(rng));
  CHECK(bad_gemmlowp == 0);
  CHECK(bad_exact == 0);
  MESSAGE("SRDHM pairs compared with gemmlowp and the exact value: ", compared);
}

TEST_CASE("requant: RoundingDivideByPOT vs gemmlowp and round-half-away for every exponent 0..31") {
  std::mt19937 rng(12);
  std::uniform_int_distribution<std::int32_t> d(kMin, kMax);
  long compared = 0, bad_gemmlowp = 0, bad_exact = 0;
  auto check = [&](std::int32_t x, int e) {
    const std::int32_t ours = qk::RoundingDivideByPOT(x, e);
    ++compared;
    if (ours != gemmlowp::RoundingDivideByPOT(x, e)) ++bad_gemmlowp;
    if (ours != RoundHalfAway(std::ldexp(static_cast<long double>(x), -e))) ++bad_exact;
  };
  for (int e = 0; e <= 31; ++e) {
    for (std::int32_t x : EdgeInputs()) check(x, e);
    // Every tie and its neighbours: x = (2k + 1) 2^(e-1) + {-1, 0, 1}.
    if (e >= 1) {
      for (std::int64_t k = -5; k <= 5; ++k) {
        for (int dx = -1; dx <= 1; ++dx) {
          const std::int64_t x = (2 * k + 1) * (std::int64_t{1} << (e - 1)) + dx;
          if (x >= kMin && x <= kMax) check(static_cast<std::int32_t>(x), e);
        }
      }
    }
    for (int i = 0; i < 100'000; ++i) check(d(rng), e);
  }
  CHECK(bad_gemmlowp == 0);
  CHECK(bad_exact == 0);
  MESSAGE("RDBPOT inputs compared with gemmlowp and the exact value: ", compared);
}

TEST_CASE("requant: MultiplyByQuantizedMultiplier for every shift -31..30 vs gemmlowp and the exact value") {
  std::mt19937 rng(13);
  std::uniform_int_distribution<std::int32_t> dm(1 << 30, kMax);
  std::uniform_int_distribution<std::int32_t> dx(kMin, kMax);
  long compared = 0, bad_gemmlowp = 0, bad_single = 0, bad_float = 0, bad_bound = 0;
  long gemmlowp_off_nearest = 0, gemmlowp_off_nearest_not_near_tie = 0, single_vs_gemmlowp = 0, float_vs_gemmlowp = 0;
  long small_y = 0, float_vs_gemmlowp_small_y = 0;  // |y| < 2^15: the int8/int16 output range
  long double max_err_gemmlowp = 0, max_err_single = 0;
  std::string first_bad;
  for (int shift = -31; shift <= 30; ++shift) {
    const int right = shift > 0 ? 0 : -shift;
    const int left = shift > 0 ? shift : 0;
    for (int mi = 0; mi < 24; ++mi) {
      const std::int32_t m = mi == 0 ? (1 << 30) : mi == 1 ? kMax : dm(rng);
      const Requant r = R(m, shift, static_cast<float>(std::ldexp(static_cast<double>(m), shift - 31)));
      std::vector<std::int32_t> xs = EdgeInputs();
      // x that do not saturate the left shift, so the exact oracle applies.
      const std::int32_t fit_lo = left ? -(std::int32_t{1} << (31 - left)) : kMin;
      const std::int32_t fit_hi = left ? (std::int32_t{1} << (31 - left)) - 1 : kMax;
      std::uniform_int_distribution<std::int32_t> dfit(fit_lo, fit_hi);
      for (int i = 0; i < 2500; ++i) xs.push_back(i % 2 ? dfit(rng) : dx(rng) >> (i % 31));
      for (std::int32_t x : xs) {
        ++compared;
        const std::int32_t g = G(x, r), s = S(x, r), f = F(x, r);
        if (g != GemmlowpMbqm(x, r)) {
          if (bad_gemmlowp++ == 0) first_bad = "gemmlowp x=" + std::to_string(x) + " shift=" + std::to_string(shift);
        }
        // kFloat: the float product rounded half-even by the C library.
        const float prod = static_cast<float>(x) * r.scale;
        const float rounded = std::nearbyint(prod);
        const std::int32_t expect_f = rounded >= 2147483648.0f    ? kMax
                                      : rounded < -2147483648.0f ? kMin
                                                                 : static_cast<std::int32_t>(rounded);
        if (f != expect_f) ++bad_float;
        // kSingle: exact, ties toward +infinity, saturated.
        const long double y = Exact(x, r);
        if (s != Clamp32(std::floor(y + 0.5L))) ++bad_single;
        if (std::fabs(y) < 2147483647.0L) max_err_single = std::fmax(max_err_single, std::fabs(s - y));
        single_vs_gemmlowp += s != g;
        float_vs_gemmlowp += f != g;
        if (std::fabs(y) < 32768.0L) {
          ++small_y;
          float_vs_gemmlowp_small_y += f != g;
        }
        // kGemmlowp against the exact value, when the left shift does not saturate.
        const bool fits = left == 0 || (x >= -(std::int64_t{1} << (31 - left)) && x < (std::int64_t{1} << (31 - left)));
        if (!fits) continue;
        const long double err = std::fabs(g - y);
        max_err_gemmlowp = std::fmax(max_err_gemmlowp, err);
        if (err > 0.5L + std::ldexp(1.0L, -(right + 1))) ++bad_bound;
        if (right == 0 && g != std::floor(y + 0.5L)) ++bad_bound;
        if (g != RoundHalfAway(y)) {
          ++gemmlowp_off_nearest;
          const long double dist_to_tie = std::fabs(std::fabs(y - std::floor(y)) - 0.5L);
          if (right > 0 && dist_to_tie > std::ldexp(1.0L, -(right + 1))) ++gemmlowp_off_nearest_not_near_tie;
        }
      }
    }
  }
  CHECK_MESSAGE(bad_gemmlowp == 0, first_bad);
  CHECK(bad_single == 0);
  CHECK(bad_float == 0);
  CHECK(bad_bound == 0);
  CHECK(gemmlowp_off_nearest_not_near_tie == 0);
  CHECK(max_err_gemmlowp < 1.0L);
  CHECK(max_err_single <= 0.5L);
  // The modes must actually differ somewhere (else this test compares nothing).
  CHECK(single_vs_gemmlowp > 0);
  CHECK(float_vs_gemmlowp > 0);
  MESSAGE("MBQM inputs: ", compared, "; kGemmlowp max |r - exact| = ", static_cast<double>(max_err_gemmlowp),
          ", off round-half-away(exact) in ", gemmlowp_off_nearest, " (all within 2^-(right+1) of a tie)",
          "; kSingle max |r - exact| = ", static_cast<double>(max_err_single), "; kSingle != kGemmlowp in ",
          single_vs_gemmlowp, ", kFloat != kGemmlowp in ", float_vs_gemmlowp, " (", float_vs_gemmlowp_small_y, " of the ",
          small_y, " with |exact| < 2^15)");
}

TEST_CASE("requant: golden vectors written by hand") {
  const Requant half = R(1 << 30, 0, 0.5f);  // x 0.5
  SUBCASE("the worked check: M = 2^30, shift 0") {
    CHECK(G(-1, half) == 0);   // -0.5: SRDHM ties toward +infinity
    CHECK(G(-3, half) == -1);  // -1.5 -> -1
    CHECK(G(1, half) == 1);
    CHECK(G(3, half) == 2);
  }
  SUBCASE("ties: the three modes differ by one unit") {
    // x 0.5 (right = 0): gemmlowp and single both round ties toward +inf, fp32 to even.
    CHECK(G(1, half) == 1);
    CHECK(S(1, half) == 1);
    CHECK(F(1, half) == 0);
    CHECK(G(-3, half) == -1);
    CHECK(S(-3, half) == -1);
    CHECK(F(-3, half) == -2);
    CHECK(G(5, half) == 3);
    CHECK(S(5, half) == 3);
    CHECK(F(5, half) == 2);
    // x 0.25 (M = 2^30, shift -1, right = 1): gemmlowp's final RDBPOT rounds
    // ties away from zero, single rounding toward +inf, fp32 to even.
    const Requant quarter = R(1 << 30, -1, 0.25f);
    CHECK(G(-2, quarter) == -1);  // -0.5
    CHECK(S(-2, quarter) == 0);
    CHECK(F(-2, quarter) == 0);
    CHECK(G(-6, quarter) == -2);  // -1.5
    CHECK(S(-6, quarter) == -1);
    CHECK(F(-6, quarter) == -2);
    CHECK(G(10, quarter) == 3);  // 2.5
    CHECK(S(10, quarter) == 3);
    CHECK(F(10, quarter) == 2);
    // Double rounding off a non-tie: m = (2^31 - 1) / 2^32 (just below 1/2), x = 1:
    // exact 0.49999999977. SRDHM rounds 0.99999999953 up to 1, then RDBPOT(1, 1)
    // rounds the (now) tie away: gemmlowp gives 1, single gives 0; the float
    // scale rounds to exactly 0.5 and fp32 gives 0 (even).
    const Requant below_half = R(kMax, -1, static_cast<float>(std::ldexp(2147483647.0, -32)));
    CHECK(below_half.scale == 0.5f);
    CHECK(G(1, below_half) == 1);
    CHECK(S(1, below_half) == 0);
    CHECK(F(1, below_half) == 0);
  }
  SUBCASE("INT32_MIN") {
    CHECK(qk::SaturatingRoundingDoublingHighMul(kMin, kMin) == kMax);  // the one overflow
    CHECK(qk::SaturatingRoundingDoublingHighMul(kMin, kMax) == -kMax);
    CHECK(qk::SaturatingRoundingDoublingHighMul(kMin, 1 << 30) == -(1 << 30));
    CHECK(qk::RoundingDivideByPOT(kMin, 31) == -1);
    CHECK(qk::RoundingDivideByPOT(kMin, 0) == kMin);
    CHECK(qk::RoundingDivideByPOT(kMin + 1, 31) == -1);  // -0.99999999953 -> -1
    CHECK(G(kMin, half) == -(1 << 30));
    CHECK(S(kMin, half) == -(1 << 30));
    CHECK(F(kMin, half) == -(1 << 30));
    // m = 1 is M = 2^30, shift 1: gemmlowp shifts x left first, with saturation,
    // so |result| <= 2^30 for any x (TFLite's reference overflows there instead).
    const Requant one = R(1 << 30, 1, 1.0f);
    CHECK(G(kMin, one) == -(1 << 30));
    CHECK(G(kMax, one) == 1 << 30);            // SRDHM(2^31 - 1, 2^30) = 2^30 - 1/2 -> up
    CHECK(G(-(1 << 30) - 1, one) == -(1 << 30));
    CHECK(G(12345, one) == 12345);
    CHECK(S(kMin, one) == kMin);  // single rounding is exact here
    CHECK(S(kMax, one) == kMax);
    CHECK(F(kMin, one) == kMin);
    CHECK(F(kMax, one) == kMax);  // float(2^31 - 1) = 2^31 saturates to INT32_MAX
  }
  SUBCASE("extreme shifts and flush") {
    // shift -31, M = 2^31 - 1 (m ~ 2^-31): INT32_MAX -> 0.99999999907 -> 1.
    const Requant tiny = R(kMax, -31, static_cast<float>(std::ldexp(2147483647.0, -62)));
    CHECK(G(kMax, tiny) == 1);
    CHECK(S(kMax, tiny) == 1);
    CHECK(F(kMax, tiny) == 1);
    CHECK(G(kMin, tiny) == -1);
    // 2^30 -> 0.49999999977: SRDHM gives exactly 2^30 (2^30 - 1/2 rounded up),
    // which RDBPOT(., 31) sees as a tie and rounds away: double rounding.
    CHECK(G(1 << 30, tiny) == 1);
    CHECK(S(1 << 30, tiny) == 0);
    // shift 30, M = 2^30 (m = 2^29).
    const Requant huge = R(1 << 30, 30, 536870912.0f);
    CHECK(G(1, huge) == 1 << 29);
    CHECK(S(1, huge) == 1 << 29);
    CHECK(F(1, huge) == 1 << 29);
    CHECK(G(4, huge) == 1 << 30);  // 4 * 2^30 saturates to 2^31 - 1 before the x 1/2
    CHECK(S(4, huge) == kMax);     // 2^31 saturates after
    CHECK(F(4, huge) == kMax);
    CHECK(G(-4, huge) == -(1 << 30));
    CHECK(S(-4, huge) == kMin);
    CHECK(F(-4, huge) == kMin);
    // Flush: multipliers below 2^-32 (shift < -31) become M = 0, shift 0.
    const auto flushed = qk::QuantizeMultiplier(std::ldexp(1.0, -33));
    REQUIRE(flushed.ok());
    CHECK(flushed->multiplier == 0);
    CHECK(flushed->shift == 0);
    for (std::int32_t x : EdgeInputs()) {
      CHECK(G(x, *flushed) == 0);
      CHECK(S(x, *flushed) == 0);
      CHECK(F(x, *flushed) == 0);  // |x| 2^-33 <= 1/4
    }
    // 2^-32 itself is 0.5 * 2^-31: kept (M = 2^30, shift -31), INT32_MIN -> -0.5 -> -1 (away) / 0.
    const auto edge = qk::QuantizeMultiplier(std::ldexp(1.0, -32));
    REQUIRE(edge.ok());
    CHECK(edge->multiplier == 1 << 30);
    CHECK(edge->shift == -31);
    CHECK(G(kMin, *edge) == -1);
    CHECK(S(kMin, *edge) == 0);
    CHECK(F(kMin, *edge) == 0);
    CHECK(G(kMax, *edge) == 1);  // 0.49999999977, double rounding again
    CHECK(S(kMax, *edge) == 0);
  }
}

TEST_CASE("requant: QuantizeMultiplier edge cases and accuracy") {
  auto q = [](double m) {
    const auto r = qk::QuantizeMultiplier(m);
    REQUIRE_MESSAGE(r.ok(), m, ": ", r.status().ToString());
    return *r;
  };
  CHECK(q(0.0).multiplier == 0);
  CHECK(q(0.0).shift == 0);
  CHECK(q(0.5).multiplier == 1 << 30);
  CHECK(q(0.5).shift == 0);
  CHECK(q(1.0).multiplier == 1 << 30);  // m = 1 -> M = 2^30, shift 1
  CHECK(q(1.0).shift == 1);
  CHECK(q(1.0).scale == 1.0f);
  // Just below 1: q * 2^31 rounds to 2^31 -> halved, shift incremented: same as 1.
  CHECK(q(std::nextafter(1.0, 0.0)).multiplier == 1 << 30);
  CHECK(q(std::nextafter(1.0, 0.0)).shift == 1);
  CHECK(q(1.0 - std::ldexp(1.0, -32)).multiplier == 1 << 30);  // 2^31 - 1/2: tie, away from zero -> 2^31
  CHECK(q(1.0 - std::ldexp(1.0, -32)).shift == 1);
  CHECK(q(1.0 - std::ldexp(1.0, -31)).multiplier == kMax);  // exactly 2^31 - 1
  CHECK(q(1.0 - std::ldexp(1.0, -31)).shift == 0);
  CHECK(q(std::ldexp(2.0 * (1 << 30) + 1.0, -32)).multiplier == (1 << 30) + 1);  // q 2^31 = 2^30 + 1/2 -> up
  CHECK(q(std::ldexp(2.0 * (1 << 30) + 5.0, -32)).multiplier == (1 << 30) + 3);  // 2^30 + 5/2 -> + 3 (even: + 2)
  CHECK(q(0.75).multiplier == 3 << 29);
  CHECK(q(0.75).shift == 0);
  CHECK(q(3.0).multiplier == 3 << 29);
  CHECK(q(3.0).shift == 2);
  CHECK(q(std::ldexp(1.0, 29)).shift == 30);  // the largest shift
  CHECK(q(std::ldexp(1.0, 30) * (1.0 - std::ldexp(1.0, -31))).shift == 30);
  CHECK(q(std::ldexp(1.0, 30) * (1.0 - std::ldexp(1.0, -31))).multiplier == kMax);
  CHECK(q(5e-324).multiplier == 0);  // subnormal: flushed
  // Errors, never aborts.
  CHECK_FALSE(qk::QuantizeMultiplier(-1e-9).ok());
  CHECK_FALSE(qk::QuantizeMultiplier(std::nan("")).ok());
  CHECK_FALSE(qk::QuantizeMultiplier(INFINITY).ok());
  CHECK_FALSE(qk::QuantizeMultiplier(std::ldexp(1.0, 30)).ok());  // shift 31
  CHECK_FALSE(qk::QuantizeMultiplier(std::ldexp(1.0, 30) * (1.0 - std::ldexp(1.0, -40))).ok());  // rounds up to 2^30
  CHECK(qk::QuantizeMultiplier(-1.0).status().code() == qualm::StatusCode::kInvalidArgument);

  // Random multipliers, log-uniform over [2^-40, 2^29]: M in [2^30, 2^31 - 1],
  // |M 2^(shift-31) - m| <= m 2^-31 (half a unit of a 31-bit mantissa), or flushed below 2^-32.
  std::mt19937 rng(14);
  std::uniform_real_distribution<double> le(-40.0, 29.0);
  long bad = 0;
  for (int i = 0; i < 200'000; ++i) {
    const double m = std::exp2(le(rng));
    const auto r = qk::QuantizeMultiplier(m);
    if (!r.ok()) { ++bad; continue; }
    if (r->multiplier == 0) {
      if (!(m < std::ldexp(1.0, -32)) || r->shift != 0) ++bad;
      continue;
    }
    if (r->multiplier < (1 << 30) || r->shift < -31 || r->shift > 30) ++bad;
    const double back = std::ldexp(static_cast<double>(r->multiplier), r->shift - 31);
    if (std::fabs(back - m) > m * std::ldexp(1.0, -31)) ++bad;
    if (r->scale != static_cast<float>(m)) ++bad;
  }
  CHECK(bad == 0);
}

TEST_CASE("requant: QuantizeMultipliers (per channel)") {
  const float sw[4] = {0.02f, 0.0f, 0.5f, 1e-3f};
  Requant out[4];
  REQUIRE(qk::QuantizeMultipliers(0.1f, sw, 4, 0.05f, out).ok());
  for (int c = 0; c < 4; ++c) {
    // m = s_in * s_w / s_out in double, from the float scales.
    const auto rd = qk::QuantizeMultiplier(static_cast<double>(0.1f) * sw[c] / static_cast<double>(0.05f));
    REQUIRE(rd.ok());
    CHECK(out[c].multiplier == rd->multiplier);
    CHECK(out[c].shift == rd->shift);
  }
  CHECK(out[1].multiplier == 0);  // an all-zero channel
  const float bad_w[2] = {0.1f, -0.1f};
  const qualm::Status s = qk::QuantizeMultipliers(0.1f, bad_w, 2, 0.05f, out);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("channel 1") != std::string::npos);
  const float big_w[1] = {1e6f};
  CHECK_FALSE(qk::QuantizeMultipliers(1e6f, big_w, 1, 1e-6f, out).ok());  // m = 1e18: shift > 30
  CHECK_FALSE(qk::QuantizeMultipliers(0.0f, sw, 4, 0.05f, out).ok());
  CHECK_FALSE(qk::QuantizeMultipliers(0.1f, sw, 4, NAN, out).ok());
}

TEST_CASE("requant: RequantizeToRange adds the zero point without wrapping and clamps") {
  const Requant half = R(1 << 30, 0, 0.5f);
  CHECK(qk::RequantizeToRange(100, half, RequantMode::kGemmlowp, -5, -128, 127) == 45);
  CHECK(qk::RequantizeToRange(1000, half, RequantMode::kGemmlowp, 0, -128, 127) == 127);
  CHECK(qk::RequantizeToRange(-1000, half, RequantMode::kGemmlowp, 0, -128, 127) == -128);
  CHECK(qk::RequantizeToRange(-1000, half, RequantMode::kGemmlowp, 0, -3, 127) == -3);  // fused ReLU with zp -3
  CHECK(qk::RequantizeToRange(20, half, RequantMode::kGemmlowp, -3, -3, 3) == 3);      // ReLU6-like bounds
  const Requant one = R(kMax, 0, 1.0f);                                                // m ~ 1
  CHECK(qk::RequantizeToRange(kMax, one, RequantMode::kSingle, 100, -128, 127) == 127);  // INT32_MAX + 100: no wrap
  CHECK(qk::RequantizeToRange(kMin, one, RequantMode::kSingle, -100, -128, 127) == -128);
  CHECK(qk::RequantizeToRange(kMax, one, RequantMode::kFloat, 127, -128, 127) == 127);
  // Each mode's tie survives the output stage: 3 x 0.5 = 1.5 with zp 0.
  CHECK(qk::RequantizeToRange(3, half, RequantMode::kGemmlowp, 0, -128, 127) == 2);
  CHECK(qk::RequantizeToRange(5, half, RequantMode::kFloat, 0, -128, 127) == 2);
  // int16 range (16x8 scheme).
  CHECK(qk::RequantizeToRange(100000, half, RequantMode::kGemmlowp, 0, -32768, 32767) == 32767);
}

TEST_CASE("requant: QuantizeValue ties in both rounding modes and saturation and NaN") {
  using qk::RoundingMode;
  auto qa = [](float x, float s = 1.0f, int zp = 0) {
    return qk::QuantizeValue(x, s, zp, -128, 127, RoundingMode::kHalfAwayFromZero);
  };
  auto qe = [](float x, float s = 1.0f, int zp = 0) {
    return qk::QuantizeValue(x, s, zp, -128, 127, RoundingMode::kHalfToEven);
  };
  CHECK(qa(2.5f) == 3);
  CHECK(qe(2.5f) == 2);
  CHECK(qa(-2.5f) == -3);
  CHECK(qe(-2.5f) == -2);
  CHECK(qa(0.5f) == 1);
  CHECK(qe(0.5f) == 0);
  CHECK(qa(-0.5f) == -1);
  CHECK(qe(-0.5f) == 0);
  CHECK(qa(1.5f) == 2);
  CHECK(qe(1.5f) == 2);
  CHECK(qa(1.25f, 0.5f) == 3);  // 2.5
  CHECK(qe(1.25f, 0.5f) == 2);
  CHECK(qa(2.5f, 1.0f, 10) == 13);  // the zero point is added after rounding
  CHECK(qe(2.5f, 1.0f, 10) == 12);
  CHECK(qa(std::nextafter(2.5f, 0.0f)) == 2);
  CHECK(qe(std::nextafter(2.5f, 3.0f)) == 3);
  // Saturation at both ends, infinities, NaN -> zp.
  CHECK(qa(1000.0f) == 127);
  CHECK(qa(-1000.0f) == -128);
  CHECK(qe(126.5f) == 126);
  CHECK(qe(127.5f) == 127);
  CHECK(qa(-128.5f) == -128);
  CHECK(qa(INFINITY) == 127);
  CHECK(qe(-INFINITY) == -128);
  CHECK(qa(1e30f, 1e-30f) == 127);  // x / s overflows float to inf
  CHECK(qa(NAN, 1.0f, 7) == 7);
  CHECK(qe(NAN, 1.0f, -7) == -7);
  CHECK(qa(0.0f, 0.0f, 3) == 3);  // 0 / 0 is NaN -> zp
  CHECK(qk::QuantizeValue(-1000.0f, 1.0f, 0, -127, 127, RoundingMode::kHalfAwayFromZero) == -127);  // narrow
  // Dequantize.
  CHECK(qk::DequantizeValue(13, 0.5f, 10) == 1.5f);
  CHECK(qk::DequantizeValue(-128, 0.25f, 127) == -63.75f);

  // Random: against std::round (away) and std::nearbyint (to even, default mode) of the float quotient.
  REQUIRE(std::fegetround() == FE_TONEAREST);
  std::mt19937 rng(15);
  std::uniform_real_distribution<float> dx(-200.0f, 200.0f);
  std::uniform_real_distribution<float> ds(0.01f, 2.0f);
  std::uniform_int_distribution<int> dz(-128, 127);
  long bad = 0;
  for (int i = 0; i < 500'000; ++i) {
    // Half of the inputs are exact ties k + 1/2 (scale 1).
    const bool tie = i % 2 == 0;
    const float s = tie ? 1.0f : ds(rng);
    const float x = tie ? static_cast<float>(static_cast<int>(dx(rng))) + 0.5f : dx(rng);
    const int zp = dz(rng);
    const float v = x / s;
    const double ea = std::fmin(127.0, std::fmax(-128.0, static_cast<double>(std::round(v)) + zp));
    const double ee = std::fmin(127.0, std::fmax(-128.0, static_cast<double>(std::nearbyint(v)) + zp));
    if (qa(x, s, zp) != ea) ++bad;
    if (qe(x, s, zp) != ee) ++bad;
  }
  CHECK(bad == 0);
}

TEST_CASE("requant: RoundHalfToEven equals nearbyint (round-to-nearest mode) on every kind of float") {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  std::mt19937 rng(16);
  long bad = 0, compared = 0;
  auto check = [&](float x) {
    ++compared;
    const float a = qk::RoundHalfToEven(x), b = std::nearbyint(x);
    if (std::memcmp(&a, &b, sizeof a) != 0 && !(std::isnan(a) && std::isnan(b))) ++bad;
  };
  for (int k = -100000; k <= 100000; ++k) {  // every tie k + 1/2 and its float neighbours
    const float t = static_cast<float>(k) + 0.5f;
    check(t);
    check(std::nextafter(t, -INFINITY));
    check(std::nextafter(t, INFINITY));
  }
  for (int e = 20; e <= 25; ++e)
    for (int i = -50; i <= 50; ++i) check(std::ldexp(1.0f, e) + 0.5f * static_cast<float>(i));
  for (int i = 0; i < 1'000'000; ++i) {  // random bit patterns: every exponent, NaN, inf, subnormals
    const std::uint32_t bits = static_cast<std::uint32_t>(rng());
    float x;
    std::memcpy(&x, &bits, sizeof x);
    check(x);
  }
  CHECK(bad == 0);
  MESSAGE("RoundHalfToEven compared with nearbyint on ", compared, " floats");
}

TEST_CASE("requant: ChooseQuantParams properties") {
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> d(-50.0f, 50.0f);
  long bad = 0;
  for (int i = 0; i < 100'000; ++i) {
    float a = d(rng), b = d(rng);
    if (i % 3 == 0) a = std::fabs(a);  // ranges not containing 0 are widened
    if (a > b) std::swap(a, b);
    const int qmin = i % 2 ? -128 : 0, qmax = i % 2 ? 127 : 255;
    const auto p = qk::ChooseQuantParams(a, b, qmin, qmax);
    if (!p.ok()) { ++bad; continue; }
    const float lo = std::fmin(a, 0.0f), hi = std::fmax(b, 0.0f);
    if (!(p->scale > 0.0f) || p->zero_point < qmin || p->zero_point > qmax) ++bad;
    if (qk::DequantizeValue(p->zero_point, p->scale, p->zero_point) != 0.0f) ++bad;  // 0.0 exact
    if (qk::QuantizeValue(0.0f, p->scale, p->zero_point, qmin, qmax, qk::RoundingMode::kHalfAwayFromZero) !=
        p->zero_point)
      ++bad;
    // The representable range covers [lo, hi] to within one step.
    const double rlo = static_cast<double>(p->scale) * (qmin - p->zero_point);
    const double rhi = static_cast<double>(p->scale) * (qmax - p->zero_point);
    const double tol = p->scale * (0.5 + 1e-4);  // half a step + the float rounding of the scale
    if (std::fabs(rlo - lo) > tol || std::fabs(rhi - hi) > tol) ++bad;
    if (std::fabs(p->scale - (hi - lo) / (qmax - qmin)) > 1e-6 * p->scale) ++bad;
  }
  CHECK(bad == 0);

  auto ok = [](float lo, float hi, int qmin, int qmax) {
    const auto p = qk::ChooseQuantParams(lo, hi, qmin, qmax);
    REQUIRE(p.ok());
    return *p;
  };
  CHECK(ok(-1.28f, 1.27f, -128, 127).zero_point == 0);  // scale 0.01: -128 - round(-128)
  CHECK(ok(-1.28f, 1.27f, -128, 127).scale == 0.01f);
  CHECK(ok(0.0f, 2.55f, 0, 255).zero_point == 0);
  CHECK(ok(0.0f, 2.55f, -128, 127).zero_point == -128);  // positive only
  CHECK(ok(-2.55f, 0.0f, -128, 127).zero_point == 127);   // negative only
  CHECK(ok(1.0f, 2.0f, -128, 127).zero_point == -128);    // widened to [0, 2]
  CHECK(ok(1.0f, 2.0f, -128, 127).scale == 2.0f / 255.0f);
  // Degenerate ranges: only 0.0 -> scale 1, the integer nearest 0 in range.
  CHECK(ok(0.0f, 0.0f, -128, 127).scale == 1.0f);
  CHECK(ok(0.0f, 0.0f, -128, 127).zero_point == 0);
  CHECK(ok(0.0f, 0.0f, 0, 255).zero_point == 0);
  CHECK(ok(0.0f, 0.0f, 5, 10).zero_point == 5);
  CHECK(ok(-0.0f, 0.0f, -128, 127).scale == 1.0f);
  // Errors.
  CHECK_FALSE(qk::ChooseQuantParams(1.0f, -1.0f, -128, 127).ok());
  CHECK_FALSE(qk::ChooseQuantParams(NAN, 1.0f, -128, 127).ok());
  CHECK_FALSE(qk::ChooseQuantParams(0.0f, INFINITY, -128, 127).ok());
  CHECK_FALSE(qk::ChooseQuantParams(-1.0f, 1.0f, 5, 5).ok());
  CHECK_FALSE(qk::ChooseQuantParams(0.0f, 1e-44f, -128, 127).ok());  // scale underflows

  // Symmetric weights.
  CHECK(qk::ChooseSymmetricParams(127.0f).scale == 1.0f);
  CHECK(qk::ChooseSymmetricParams(2.54f).scale == 2.54f / 127.0f);
  CHECK(qk::ChooseSymmetricParams(-2.54f).scale == 2.54f / 127.0f);
  CHECK(qk::ChooseSymmetricParams(2.54f).zero_point == 0);
  CHECK(qk::ChooseSymmetricParams(0.0f).scale == 1.0f);
  CHECK(qk::ChooseSymmetricParams(NAN).scale == 1.0f);
  CHECK(qk::ChooseSymmetricParams(1.0f, 7).scale == 1.0f / 7.0f);  // int4-style qmax
  // Weights quantized with it stay in the narrow range [-127, 127].
  const auto w = qk::ChooseSymmetricParams(2.54f);
  CHECK(qk::QuantizeValue(-2.54f, w.scale, 0, -127, 127, qk::RoundingMode::kHalfAwayFromZero) == -127);
  CHECK(qk::QuantizeValue(2.54f, w.scale, 0, -127, 127, qk::RoundingMode::kHalfAwayFromZero) == 127);
}

TEST_CASE("requant: mode names and SaturatingCast") {
  for (RequantMode m : {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat}) {
    const auto parsed = qk::ParseRequantMode(qk::RequantModeName(m));
    REQUIRE(parsed.ok());
    CHECK(*parsed == m);
  }
  CHECK(std::string(qk::RequantModeName(RequantMode::kFloat)) == "fp32");
  CHECK_FALSE(qk::ParseRequantMode("double").ok());
  CHECK_FALSE(qk::ParseRequantMode(nullptr).ok());
  CHECK(qk::SaturatingCast<std::int8_t>(200) == 127);
  CHECK(qk::SaturatingCast<std::int8_t>(-200) == -128);
  CHECK(qk::SaturatingCast<std::int8_t>(-5) == -5);
  CHECK(qk::SaturatingCast<std::int16_t>(std::int64_t{1} << 40) == 32767);
  CHECK(qk::SaturatingCast<std::int32_t>(std::int64_t{-1} << 40) == kMin);
  CHECK(qk::SaturatingCast<std::int32_t>(std::int8_t{-7}) == -7);
}
