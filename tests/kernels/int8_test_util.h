// Helpers for the int8 kernel tests: seeded int8 data and the independent
// real-valued oracle for requantized outputs.
//
// THE ORACLE RULE (CheckRequantOracle). For each output element the test computes,
// without requant.h's integer path:
//   acc  exact, in int64 (bias included)
//   m    = (double)s_in * (double)s_w[c] / (double)s_out      (the real multiplier)
//   r    = acc * m                                              (double)
//   want = clamp(round(r) + zp_out, act_min, act_max)
// and requires got == want, EXCEPT when r lies within `tol` of a half-integer
// (a .5 tie), where got may be the clamp of floor(r) + zp_out or ceil(r) + zp_out.
// So |got - want| <= 1 everywhere and equality everywhere else. `tol` is the
// proven error bound of the mode (ExpectedRequantError):
//   kGemmlowp: 2^-(right+1) (the first of the two roundings, when right > 0)
//              + |acc| * 2^(shift-32) (M is rounded to 31 bits)
//   kSingle:   |acc| * 2^(shift-32)
//   kFloat:    |r| * 2^-22 (float scale, float product; |acc| < 2^24 here)
// where shift/right are re-derived here from frexp(m) (not from requant.h).
// A kernel that rounds a tie the "wrong" way passes; a kernel off by one
// anywhere else, or by two anywhere, fails.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "qualm/kernels/requant.h"

namespace qualm_test {

using S8 = std::vector<std::int8_t>;

inline S8 RandomS8(std::size_t n, std::mt19937& rng, int lo = -128, int hi = 127) {
  std::uniform_int_distribution<int> d(lo, hi);
  S8 v(n);
  for (auto& x : v) x = static_cast<std::int8_t>(d(rng));
  return v;
}

inline std::vector<std::int32_t> RandomI32(std::size_t n, std::mt19937& rng, std::int32_t lo, std::int32_t hi) {
  std::uniform_int_distribution<std::int32_t> d(lo, hi);
  std::vector<std::int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Bound on |requantized - acc * m| for one accumulator (see the rule above).
inline double ExpectedRequantError(qualm::kernels::RequantMode mode, double m, double acc) {
  using qualm::kernels::RequantMode;
  if (m == 0.0) return 1e-12;
  const double r = std::fabs(acc * m);
  if (mode == RequantMode::kFloat) return r * std::ldexp(1.0, -22) + 1e-12;
  int e = 0;
  const double q = std::frexp(m, &e);
  if (std::round(std::ldexp(q, 31)) == std::ldexp(1.0, 31)) ++e;
  double tol = std::fabs(acc) * std::ldexp(1.0, e - 32) + 1e-12;
  const int right = e < 0 ? -e : 0;
  if (mode == RequantMode::kGemmlowp && right > 0) tol += std::ldexp(1.0, -(right + 1));
  return tol;
}

struct OracleStats {
  std::size_t n = 0, near_tie = 0, at_min = 0, at_max = 0, inside = 0, distinct = 0;
};

// Checks got[i] against r[i] (real value before the zero point) with tolerance
// tol[i], per the rule above. Returns statistics for the distrust checks.
inline OracleStats CheckRealOracle(const std::string& what, const std::vector<std::int8_t>& got,
                                   const std::vector<double>& r, const std::vector<double>& tol, int zp_out,
                                   int act_min, int act_max) {
  REQUIRE(got.size() == r.size());
  REQUIRE(tol.size() == r.size());
  OracleStats s;
  s.n = got.size();
  std::size_t bad = 0;
  std::string first;
  std::set<int> values;
  auto clampq = [&](double v) { return std::min<double>(std::max<double>(v + zp_out, act_min), act_max); };
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double fl = std::floor(r[i]);
    const double dist_to_tie = std::fabs(r[i] - fl - 0.5);
    const bool tie = dist_to_tie <= tol[i];
    const int g = got[i];
    bool ok;
    if (tie) {
      ++s.near_tie;
      ok = g == clampq(fl) || g == clampq(fl + 1);
    } else {
      ok = g == clampq(std::round(r[i]));
    }
    if (!ok && bad++ == 0) {
      first = "index " + std::to_string(i) + ": got " + std::to_string(g) + ", real value " + std::to_string(r[i]) +
              " (+ zp " + std::to_string(zp_out) + ", clamp [" + std::to_string(act_min) + ", " +
              std::to_string(act_max) + "], tie tolerance " + std::to_string(tol[i]) + ")";
    }
    values.insert(g);
    if (g == act_min) ++s.at_min;
    if (g == act_max) ++s.at_max;
    if (g > act_min && g < act_max) ++s.inside;
  }
  s.distinct = values.size();
  INFO(what << ": " << bad << " of " << got.size() << " outputs break the oracle rule; " << s.near_tie
            << " within the tie tolerance. " << first);
  CHECK(bad == 0);
  return s;
}

// The benchdnn-style distrust check for "normal range" cases: a result that is
// mostly clamped or constant tests little. Applies when there are >= 16 outputs.
inline void CheckNotDegenerate(const std::string& what, const OracleStats& s) {
  if (s.n < 16) return;
  INFO(what << ": " << s.inside << " of " << s.n << " outputs strictly inside the range, " << s.distinct
            << " distinct values, " << s.at_min << " at min, " << s.at_max << " at max");
  CHECK(s.inside * 10 >= s.n * 3);  // at least 30% not clamped
  CHECK(s.distinct >= 5);
}

// Saturation cases must actually saturate, at both ends.
inline void CheckSaturatesBothEnds(const std::string& what, const OracleStats& s) {
  INFO(what << ": " << s.at_min << " outputs at act_min, " << s.at_max << " at act_max of " << s.n);
  CHECK(s.at_min > 0);
  CHECK(s.at_max > 0);
}

}  // namespace qualm_test
