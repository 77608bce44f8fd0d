// Helpers for the kernel tests: seeded random data, comparisons with stated
// tolerances, and a finite-difference gradient checker.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace qualm_test {

using Vec = std::vector<float>;
constexpr double kEpsF = std::numeric_limits<float>::epsilon();  // 2^-23

inline Vec Random(std::size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline Vec Abs(const Vec& v) {
  Vec a(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

inline bool SameBits(const Vec& a, const Vec& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

inline double MaxAbs(const Vec& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

// Rounding-error bound for a length-k float dot product: |computed - exact| <=
// k * eps * sum|terms| (first order). `mag` holds sum|terms| per element (the
// same op run on absolute values). Two float results that each satisfy the
// bound differ by at most twice it; `factor` says which is meant. The tiny
// absolute floor only covers elements whose terms are all zero.
inline void CheckWithinDotBound(const char* what, const Vec& got, const std::vector<double>& want,
                                const Vec& mag, double k, double factor) {
  REQUIRE(got.size() == want.size());
  REQUIRE(mag.size() == want.size());
  std::size_t bad = 0, first_bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double tol = factor * k * kEpsF * mag[i] + 1e-30;
    const double err = std::fabs(got[i] - want[i]);
    worst = std::max(worst, err / tol);
    if (!(err <= tol)) {
      if (bad++ == 0) first_bad = i;
    }
  }
  INFO(std::string(what) << ": " << bad << " of " << got.size() << " elements outside the bound, worst err/tol " << worst
            << (bad ? ", first at index " + std::to_string(first_bad) + ": got " +
                          std::to_string(got[first_bad]) + " want " + std::to_string(want[first_bad])
                    : std::string()));
  CHECK(bad == 0);
}

inline std::vector<double> ToDouble(const Vec& v) { return {v.begin(), v.end()}; }

// max|got - want| <= tol * max(1e-30, max|want|): an error normalized by the
// tensor's magnitude (as ggml's test-backend-ops), for results whose
// rounding-error bound is not a simple dot-product bound.
inline void CheckNormalized(const char* what, const Vec& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  double scale = 1e-30, err = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < want.size(); ++i) scale = std::max(scale, std::fabs(want[i]));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - want[i]);
    if (!(e <= err)) err = e, at = i;  // NaN propagates as the worst error
  }
  INFO(std::string(what) << ": normalized max error " << err / scale << " (tolerance " << tol << ") at index " << at
            << " got " << (got.empty() ? 0.0 : got[at]) << " want " << (want.empty() ? 0.0 : want[at]));
  CHECK(err / scale <= tol);
}

// Finite-difference gradient check. `loss` evaluates the float kernel and
// reduces its output(s) to a double; `param` is perturbed in place by +-h
// (central differences, the actual float step is used as the divisor).
// Passes when |fd - analytic| <= rtol * max(|fd|, |analytic|) + atol, with
// atol = rtol * 0.1 * max|analytic| so that near-zero components, dominated by
// the float rounding of the loss, are judged against the tensor's scale.
// At most max_checks components (spread evenly) are checked.
inline void CheckGradient(const char* what, Vec& param, const Vec& analytic, const std::function<double()>& loss,
                          double h, double rtol, std::size_t max_checks = 400) {
  REQUIRE(param.size() == analytic.size());
  const double scale = MaxAbs(analytic);
  const double atol = rtol * 0.1 * scale + 1e-9;
  const std::size_t n = param.size();
  const std::size_t step = std::max<std::size_t>(1, n / max_checks);
  std::size_t bad = 0;
  std::string first;
  for (std::size_t i = 0; i < n; i += step) {
    const float orig = param[i];
    const float up = static_cast<float>(orig + h), down = static_cast<float>(orig - h);
    param[i] = up;
    const double lp = loss();
    param[i] = down;
    const double lm = loss();
    param[i] = orig;
    const double fd = (lp - lm) / (static_cast<double>(up) - static_cast<double>(down));
    const double a = analytic[i];
    if (!(std::fabs(fd - a) <= rtol * std::max(std::fabs(fd), std::fabs(a)) + atol)) {
      if (bad++ == 0) first = "index " + std::to_string(i) + ": fd " + std::to_string(fd) + " analytic " +
                              std::to_string(a);
    }
  }
  INFO(std::string(what) << ": " << bad << " components disagree (rtol " << rtol << ", scale " << scale << ") " << first);
  CHECK(scale > 0);  // a gradient that is identically zero tests nothing
  CHECK(bad == 0);
}

// sum_i r[i] * y[i] in double: the loss whose gradient with respect to y is r.
inline double Dot(const Vec& r, const Vec& y) {
  double s = 0;
  for (std::size_t i = 0; i < r.size(); ++i) s += static_cast<double>(r[i]) * y[i];
  return s;
}

// Accumulation contract: backward into a buffer pre-filled with P gives P + D,
// where D is the result into zeros. `exact` when each element gets a single
// add of a sum computed from zero; otherwise within a few ulps of |P| + |D|.
inline void CheckAccumulates(const char* what, const Vec& prefilled, const Vec& into_prefilled,
                             const Vec& into_zero, bool exact) {
  REQUIRE(prefilled.size() == into_zero.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < prefilled.size(); ++i) {
    const float want = prefilled[i] + into_zero[i];
    const double tol = exact ? 0.0 : 8 * kEpsF * (std::fabs(prefilled[i]) + std::fabs(into_zero[i]));
    if (!(std::fabs(static_cast<double>(into_prefilled[i]) - want) <= tol)) ++bad;
  }
  INFO(std::string(what) << ": " << bad << " elements break the += contract" << (exact ? " (bit-exact expected)" : ""));
  CHECK(bad == 0);
  CHECK(MaxAbs(into_zero) > 0);
}

}  // namespace qualm_test
