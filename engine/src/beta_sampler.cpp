#include "qualm/engine/beta_sampler.h"

#include <cmath>
#include <limits>

namespace qualm {
namespace {

// ln 2 split so that k * kLn2Hi is exact for |k| < 2^20 (Cody & Waite; the
// constants of fdlibm's e_exp.c).
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kSqrtHalf = 0.70710678118654752440;

}  // namespace

double PortableLog(double x) {
  if (!(x > 0.0)) return -std::numeric_limits<double>::infinity();
  if (std::isinf(x)) return x;
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)) (frexp and ldexp are exact).
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < kSqrtHalf) {
    m *= 2.0;
    --e;
  }
  // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m - 1) / (m + 1),
  // |s| <= 0.1716: s^2 <= 0.0295, so 13 terms leave an error below 1e-20.
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double sum = 0.0;
  for (int k = 12; k >= 1; --k) sum = (sum + 1.0 / (2 * k + 1)) * s2;
  const double log_m = 2.0 * s * (1.0 + sum);
  return (e * kLn2Hi + log_m) + e * kLn2Lo;
}

double PortableExp(double x) {
  if (std::isnan(x)) return x;
  if (x > 709.78) return std::numeric_limits<double>::infinity();
  if (x < -745.2) return 0.0;
  // x = k ln2 + r, |r| <= ln2 / 2; e^r by its Taylor series (19 terms: the
  // remainder is below 1e-22), then scaled by 2^k exactly.
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0;
  for (int i = 19; i >= 1; --i) p = 1.0 + p * r / i;
  return std::ldexp(p, static_cast<int>(k));
}

double OpenUniform(Rng& rng) {
  return (static_cast<double>(rng.NextU64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double PortableNormal(Rng& rng) {
  for (;;) {
    const double u = 2.0 * OpenUniform(rng) - 1.0;
    const double v = 2.0 * OpenUniform(rng) - 1.0;
    const double s = u * u + v * v;
    if (s >= 1.0 || s == 0.0) continue;
    return u * std::sqrt(-2.0 * PortableLog(s) / s);  // sqrt is correctly rounded (IEEE)
  }
}

double SampleLogGamma(double alpha, Rng& rng) {
  if (alpha < 1.0) {
    const double boosted = SampleLogGamma(alpha + 1.0, rng);
    return boosted + PortableLog(OpenUniform(rng)) / alpha;
  }
  const double d = alpha - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const double x = PortableNormal(rng);
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = OpenUniform(rng);
    const double x2 = x * x;
    // The squeeze accepts most draws without a logarithm.
    if (u < 1.0 - 0.0331 * x2 * x2) return PortableLog(d * v);
    if (PortableLog(u) < 0.5 * x2 + d * (1.0 - v + PortableLog(v))) return PortableLog(d * v);
  }
}

double SampleBeta(double a, double b, Rng& rng) {
  const double lx = SampleLogGamma(a, rng);
  const double ly = SampleLogGamma(b, rng);
  return 1.0 / (1.0 + PortableExp(ly - lx));
}

}  // namespace qualm
