// Shared by the hybrid (dynamic-quantization) kernel tests (hybrid_test.cpp,
// hybrid_rnn_test.cpp): the independent oracle's pieces, data generators and
// comparisons.
//
// THE ORACLE (hybrid_quant.h's rules, written again here without the kernels' code):
//   * the sample range is found in double with its own loop, the zero/tiny
//     range rule is re-derived from the real span, and only then the contract's
//     ChooseQuantParams / QuantizeValue (requant.h, tested in requant_test.cpp
//     against outside references) give (s, zp) and q;
//   * accumulators are int64, summed in a different order from the kernels
//     (descending index, or im2col for conv), and must fit int32;
//   * the output expression is typed out: (float)((double)acc * ((double)s_x *
//     (double)s_w)) then float adds.
// Given the same expression the results must be bit-identical.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qualm/kernels/conv2d_hybrid.h"
#include "qualm/kernels/dense_hybrid.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/recurrent_hybrid.h"
#include "qualm/kernels/requant.h"

namespace hybrid_test {

namespace qk = qualm::kernels;
using Vec = std::vector<float>;
using I8 = std::vector<std::int8_t>;
constexpr double kEps = std::numeric_limits<float>::epsilon();  // 2^-23
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Per-element bound on |s * (q - zp) - x| for an in-range value, in units of s:
// 1/2 from rounding, plus the float division x / s and the float scale
// (each ~2^-24 relative over at most 255 units), plus the zero point's own
// rounding moving the grid by < 1/2 at one end (absorbed by the clamp, which
// keeps the end values within 1/2 + 255 * 2^-23).
constexpr double kQuantErrUnits = 0.5001;

struct OracleQuant {
  bool finite = true;
  bool degenerate = false;  // zero or tiny range: (1, 0), q = 0
  float s = 1.0f;
  int zp = 0;
  std::vector<int> q;
  double max_abs = 0;  // max |x| of the sample

  // Bound on |s * (q - zp) - x| over the sample: half a step, or for a
  // degenerate sample (q = 0) the values themselves.
  double MaxError() const { return degenerate ? max_abs : kQuantErrUnits * s; }
};

inline OracleQuant OracleQuantize(const float* x, std::size_t n) {
  OracleQuant o;
  o.q.assign(n, 0);
  double lo = 0.0, hi = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      o.finite = false;
      return o;
    }
    lo = std::min(lo, static_cast<double>(x[i]));
    hi = std::max(hi, static_cast<double>(x[i]));
  }
  o.max_abs = std::max(-lo, hi);
  // Zero or tiny span: the scale would not be a normal float -> (1, 0), q = 0.
  if (static_cast<float>((hi - lo) / 255.0) < std::numeric_limits<float>::min()) {
    o.degenerate = true;
    return o;
  }
  auto r = qk::ChooseQuantParams(static_cast<float>(lo), static_cast<float>(hi), -128, 127);
  REQUIRE(r.ok());
  o.s = r->scale;
  o.zp = r->zero_point;
  for (std::size_t i = 0; i < n; ++i)
    o.q[i] = qk::QuantizeValue(x[i], o.s, o.zp, -128, 127, qk::RoundingMode::kHalfAwayFromZero);
  return o;
}

// (float)((double)acc * ((double)s_x * (double)s_w)); acc must fit int32.
inline float OracleProduct(std::int64_t acc, float s_x, float s_w) {
  REQUIRE(acc >= std::numeric_limits<std::int32_t>::min());
  REQUIRE(acc <= std::numeric_limits<std::int32_t>::max());
  const double m = static_cast<double>(s_x) * static_cast<double>(s_w);
  return static_cast<float>(static_cast<double>(acc) * m);
}

// sum over k descending of w[k] * (q[k] - zp), in int64.
inline std::int64_t OracleDot(const std::int8_t* w, const std::vector<int>& q, std::size_t off, std::size_t k,
                              int zp) {
  std::int64_t acc = 0;
  for (std::size_t i = k; i-- > 0;) acc += std::int64_t{w[i]} * (q[off + i] - zp);
  return acc;
}

// ---------------------------------------------------------------------------
// Quantized weights from random float ones (per row, symmetric, [-127, 127]),
// and their dequantized float copy (s_w * w in float) for the float references.
struct QWeights {
  I8 w;
  std::vector<float> scales;  // [rows]
  Vec deq;                    // [rows][k]
};

inline QWeights MakeWeights(std::size_t rows, std::size_t k, float amp, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-amp, amp);
  Vec wf(rows * k);
  for (auto& v : wf) v = u(rng);
  auto r = qk::QuantizeWeightsS8(static_cast<int>(rows), static_cast<std::int64_t>(k), wf.data(), nullptr, 1.0f);
  REQUIRE(r.ok());
  QWeights q;
  q.w = r->weights;
  q.scales = r->scales;
  q.deq.resize(q.w.size());
  for (std::size_t i = 0; i < q.w.size(); ++i) q.deq[i] = qk::DequantizeValue(q.w[i], q.scales[i / k], 0);
  return q;
}

inline Vec RandomVec(std::size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  Vec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline Vec AbsVec(const Vec& v) {
  Vec a(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

// A float buffer (as the executor's scratch) of at least `bytes` bytes.
inline Vec Scratch(std::size_t bytes) { return Vec((bytes + sizeof(float) - 1) / sizeof(float) + 1, kNaN); }

// ---------------------------------------------------------------------------
constexpr float kFltMax = std::numeric_limits<float>::max();

// Kinds of sample content, for the awkward and degenerate-input tests.
// kTies: range [-127.5, 127.5] (s = 1, zp = 0) and every value on a .5 tie, so
// that the rounding rule of QuantizeValue (ties away from zero) shows.
enum class Kind { kUniform, kPositive, kNegative, kZero, kHuge, kFltMax, kTiny, kSpike, kNaN, kInf, kTies };

inline void Fill(float* x, std::size_t n, Kind k, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (std::size_t i = 0; i < n; ++i) {
    const float v = u(rng);
    switch (k) {
      case Kind::kUniform: x[i] = v; break;
      case Kind::kPositive: x[i] = 0.25f + std::fabs(v); break;
      case Kind::kNegative: x[i] = -0.25f - 3.0f * std::fabs(v); break;
      case Kind::kZero: x[i] = 0.0f; break;
      case Kind::kHuge: x[i] = 1e30f * v; break;
      case Kind::kFltMax: x[i] = (i % 2 ? kFltMax : -kFltMax) * (0.5f + 0.5f * std::fabs(v)); break;
      case Kind::kTiny: x[i] = 1e-38f * v; break;  // subnormal and tiny normal values
      case Kind::kSpike: x[i] = i == n / 2 ? 5e4f : 0.01f * v; break;
      case Kind::kNaN: x[i] = i == n - 1 ? kNaN : v; break;
      case Kind::kInf: x[i] = i == 0 ? -std::numeric_limits<float>::infinity() : v; break;
      case Kind::kTies:
        x[i] = i == 0 ? -127.5f : i == 1 ? 127.5f : static_cast<float>(static_cast<int>(i * 37 % 255) - 127) + 0.5f;
        break;
    }
  }
}

// ---------------------------------------------------------------------------
// got and want bit-identical (NaN included).
inline void CheckBits(const std::string& what, const Vec& got, const Vec& want) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0, at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && bad++ == 0) at = i;
  }
  INFO(what << ": " << bad << " of " << got.size() << " elements differ in their bits"
            << (bad ? ", first at " + std::to_string(at) + ": got " + std::to_string(got[at]) + " want " +
                          std::to_string(want[at])
                    : std::string()));
  CHECK(bad == 0);
}

// |got - want| <= tol elementwise (NaN fails). Returns max(tol) for the
// not-vacuous checks of the callers.
inline double CheckWithin(const std::string& what, const Vec& got, const Vec& want, const std::vector<double>& tol) {
  REQUIRE(got.size() == want.size());
  REQUIRE(tol.size() == want.size());
  std::size_t bad = 0, at = 0;
  double worst = 0, max_tol = 0, max_err = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    max_tol = std::max(max_tol, tol[i]);
    max_err = std::max(max_err, err);
    if (tol[i] > 0) worst = std::max(worst, err / tol[i]);
    if (!(err <= tol[i]) && bad++ == 0) at = i;
  }
  INFO(what << ": " << bad << " of " << got.size() << " outside the quantization bound; worst err/tol " << worst
            << ", max err " << max_err << ", max tol " << max_tol
            << (bad ? ", first at " + std::to_string(at) + ": got " + std::to_string(got[at]) + " want " +
                          std::to_string(want[at]) + " tol " + std::to_string(tol[at])
                    : std::string()));
  CHECK(bad == 0);
  return max_tol;
}

template <typename R>
void ExpectError(const R& r, const std::string& needle) {
  INFO("expected an error containing '" << needle << "', got: " << (r.ok() ? std::string("ok") : r.status().ToString()));
  REQUIRE(!r.ok());
  CHECK(r.status().code() == qualm::StatusCode::kInvalidArgument);
  CHECK(r.status().message().find(needle) != std::string::npos);
}

}  // namespace hybrid_test
