// Reference int8 pools, ADD, rescale (ReLU/ReLU6), whole-tensor quantize /
// dequantize and the post-training weight quantizer (pool_s8.h, eltwise_s8.h,
// quantize_s8.h), each against an independent double oracle and, where one
// exists, the float reference kernel on dequantized data.
//  * max pool: exact (max commutes with the monotone affine map);
//  * average pools: exact vs round_half_away(mean of the raw int8 values) in
//    double (the integer rounding division is exact), within 1 of the float path
//    (TFLite averages the raw values: where the mean is a tie, rounding the mean
//    of q and of q - zp can go different ways);
//  * add / rescale: the oracle rule of int8_test_util.h on the real value
//    (s_a (a - zp_a) + s_b (b - zp_b)) / s_out, with the tolerance widened by the
//    two input roundings of the 2^20-scaled terms (each <= 1 unit of 2^-20-ish
//    size, times the output multiplier).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/int8_test_util.h"
#include "qualm/kernels/eltwise_s8.h"
#include "qualm/kernels/pool.h"
#include "qualm/kernels/pool_s8.h"
#include "qualm/kernels/quantize_s8.h"

namespace qk = qualm::kernels;
using namespace qualm_test;
using qk::RequantMode;

namespace {

constexpr RequantMode kModes[] = {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat};

qk::Pool2dParams Pool(int batch, int h, int w, int c, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr,
                      bool include_pad) {
  qk::Pool2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.channels = c, p.kernel_h = kh, p.kernel_w = kw;
  p.stride_h = sh, p.stride_w = sw, p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr;
  p.count_include_pad = include_pad;
  return p;
}

std::vector<qk::Pool2dParams> PoolCases() {
  return {
      Pool(2, 6, 6, 3, 2, 2, 2, 2, 0, 0, 0, 0, false),   // LeNet
      Pool(1, 7, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1, false),   // ResNet stem style
      Pool(2, 5, 7, 3, 3, 2, 1, 2, 1, 0, 0, 1, false),   // asymmetric
      Pool(2, 5, 7, 3, 3, 2, 1, 2, 1, 0, 0, 1, true),    // count_include_pad
      Pool(1, 13, 31, 7, 3, 3, 2, 2, 1, 1, 1, 1, true),  // primes, include pad
      Pool(1, 3, 3, 1, 3, 3, 1, 1, 0, 0, 0, 0, false),   // one window
      Pool(3, 1, 9, 2, 1, 4, 1, 3, 0, 2, 0, 3, false),   // 1-row, wide padding
      Pool(1, 10, 10, 4, 2, 2, 2, 2, 1, 1, 1, 1, false), // windows with one real tap at the corners
  };
}

std::string PoolName(const qk::Pool2dParams& p, int zp) {
  return "pool n" + std::to_string(p.batch) + " " + std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + "x" +
         std::to_string(p.channels) + " k " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) +
         " s " + std::to_string(p.stride_h) + "," + std::to_string(p.stride_w) + " pad " + std::to_string(p.pad_top) +
         "," + std::to_string(p.pad_left) + "," + std::to_string(p.pad_bottom) + "," + std::to_string(p.pad_right) +
         (p.count_include_pad ? " include-pad" : "") + " zp " + std::to_string(zp);
}

// Double oracle over the explicitly padded window: max of the real taps, or
// round_half_away(mean of the raw values, padding = zp when included).
// `tie` (if given) marks averages whose exact mean is a .5 tie.
std::vector<int> OraclePoolS8(const qk::Pool2dParams& p, const S8& x, int zp, bool max, int lo, int hi,
                              std::vector<char>* tie = nullptr) {
  const int oh = p.out_h(), ow = p.out_w(), C = p.channels;
  std::vector<int> y(static_cast<std::size_t>(p.batch) * oh * ow * C);
  if (tie) tie->assign(y.size(), 0);
  for (int n = 0; n < p.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int c = 0; c < C; ++c) {
          double sum = 0, best = -1e9;
          int count = 0;
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx) {
              const int iy = oy * p.stride_h - p.pad_top + ky, ix = ox * p.stride_w - p.pad_left + kx;
              const bool real = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
              if (real) {
                const double v = x[((static_cast<std::size_t>(n) * p.in_h + iy) * p.in_w + ix) * C + c];
                sum += v, best = std::max(best, v), ++count;
              } else if (p.count_include_pad) {
                sum += zp, ++count;
              }
            }
          const double v = max ? best : std::round(sum / count);
          const std::size_t at = ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * C + c;
          y[at] = static_cast<int>(std::min<double>(std::max<double>(v, lo), hi));
          if (tie && !max) (*tie)[at] = std::fabs(sum / count - std::floor(sum / count) - 0.5) == 0.0;
        }
  return y;
}

void CheckPool(const qk::Pool2dParams& p, int zp, int act_min, int act_max, unsigned seed) {
  const std::string what = PoolName(p, zp) + " act [" + std::to_string(act_min) + ", " + std::to_string(act_max) + "]";
  INFO(what);
  std::mt19937 rng(seed);
  const S8 x = RandomS8(static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.channels, rng);
  const float s = 0.037f;
  qk::Pool2dS8Params qp;
  qp.shape = p;
  qp.input = qp.output = {s, zp};
  qp.act_min = act_min, qp.act_max = act_max;
  const std::size_t ny = static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.channels;
  std::vector<float> xf(x.size()), yf(ny);
  for (std::size_t i = 0; i < x.size(); ++i) xf[i] = qk::DequantizeValue(x[i], s, zp);

  for (bool max : {true, false}) {
    INFO((max ? "max_pool2d_s8" : "avg_pool2d_s8"));
    auto prepared = max ? qk::PrepareMaxPool2dS8(qp) : qk::PrepareAvgPool2dS8(qp);
    INFO(prepared.status().ToString());
    REQUIRE(prepared.ok());
    S8 y(ny, 0x55);
    if (max)
      qk::ref::max_pool2d_s8(*prepared, x.data(), y.data());
    else
      qk::ref::avg_pool2d_s8(*prepared, x.data(), y.data());
    std::vector<char> tie;
    const std::vector<int> want = OraclePoolS8(p, x, zp, max, act_min, act_max, &tie);
    std::size_t bad = 0, off_float = 0, worse_float = 0, off_not_tie = 0;
    std::set<int> distinct;
    if (max)
      qk::ref::max_pool2d_f32(p, xf.data(), yf.data());
    else
      qk::ref::avg_pool2d_f32(p, xf.data(), yf.data());
    for (std::size_t i = 0; i < ny; ++i) {
      bad += y[i] != want[i];
      distinct.insert(y[i]);
      const int qf = qk::QuantizeValue(yf[i], s, zp, act_min, act_max, qk::RoundingMode::kHalfAwayFromZero);
      off_float += qf != y[i];
      off_not_tie += qf != y[i] && !tie[i];
      worse_float += std::abs(qf - y[i]) > 1;
    }
    INFO(off_float << " of " << ny << " differ from the float path, " << off_not_tie << " away from ties");
    CHECK(bad == 0);
    CHECK(worse_float == 0);
    // Max commutes with dequantize/quantize: exact. Averages: the float path may
    // round an exact .5 mean the other way (it averages q - zp, TFLite averages
    // q), nowhere else (a non-tie mean is >= 1/(2 count) from a tie).
    CHECK(off_not_tie == 0);
    if (max) CHECK(off_float == 0);
    if (ny >= 16) CHECK(distinct.size() >= 5);
  }
}

}  // namespace

TEST_CASE("int8 max and average pooling vs oracle and float reference") {
  unsigned seed = 1;
  for (const auto& p : PoolCases())
    for (int zp : {0, -128, 127, 9}) CheckPool(p, zp, -128, 127, seed++);
  // Activation clamps (ReLU at the zero point, and a narrow band).
  CheckPool(PoolCases()[1], -5, -5, 127, 99);
  CheckPool(PoolCases()[4], 3, -20, 40, 98);
}

TEST_CASE("int8 average pooling rounds ties away from zero") {
  // 1x2 windows: mean of (a, b) with a + b odd is a tie.
  qk::Pool2dS8Params qp;
  qp.shape = Pool(1, 1, 8, 1, 1, 2, 1, 2, 0, 0, 0, 0, false);
  qp.input = qp.output = {0.1f, 0};
  auto prepared = qk::PrepareAvgPool2dS8(qp);
  REQUIRE(prepared.ok());
  const S8 x = {1, 2, -1, -2, 127, 126, -128, -127};
  S8 y(4);
  qk::ref::avg_pool2d_s8(*prepared, x.data(), y.data());
  CHECK(y[0] == 2);     // 1.5
  CHECK(y[1] == -2);    // -1.5
  CHECK(y[2] == 127);   // 126.5
  CHECK(y[3] == -128);  // -127.5
}

TEST_CASE("int8 global average pooling vs oracle and float reference") {
  for (int spatial : {1, 2, 7, 49, 64, 961})
    for (int zp : {0, -128, 127, -17}) {
      INFO("spatial " << spatial << " zp " << zp);
      std::mt19937 rng(static_cast<unsigned>(spatial * 1000 + zp + 500));
      qk::GlobalAvgPoolS8Params qp;
      qp.shape = {2, spatial, 13};
      qp.input = qp.output = {0.05f, zp};
      auto prepared = qk::PrepareGlobalAvgPoolS8(qp);
      REQUIRE(prepared.ok());
      // Per-channel offsets so that the means spread over the range.
      S8 x(static_cast<std::size_t>(2) * spatial * 13);
      for (std::size_t i = 0; i < x.size(); ++i) {
        const int c = static_cast<int>(i % 13);
        x[i] = static_cast<std::int8_t>(std::clamp(c * 19 - 120 + static_cast<int>(rng() % 41) - 20, -128, 127));
      }
      S8 y(26);
      qk::ref::global_avg_pool_s8(*prepared, x.data(), y.data());
      std::vector<float> xf(x.size()), yf(26);
      for (std::size_t i = 0; i < x.size(); ++i) xf[i] = qk::DequantizeValue(x[i], 0.05f, zp);
      qk::ref::global_avg_pool_f32({2, spatial, 13}, xf.data(), yf.data());
      std::set<int> distinct;
      for (int n = 0; n < 2; ++n)
        for (int c = 0; c < 13; ++c) {
          double sum = 0;
          for (int s = 0; s < spatial; ++s) sum += x[(static_cast<std::size_t>(n) * spatial + s) * 13 + c];
          const int want = static_cast<int>(std::round(sum / spatial));
          CHECK(y[n * 13 + c] == want);
          const int qf = qk::QuantizeValue(yf[n * 13 + c], 0.05f, zp, -128, 127, qk::RoundingMode::kHalfAwayFromZero);
          CHECK(std::abs(qf - y[n * 13 + c]) <= 1);
          distinct.insert(y[n * 13 + c]);
        }
      CHECK(distinct.size() >= 5);
    }
}

// ---------------------------------------------------------------------------
namespace {

struct AddCase {
  float sa, sb, so;
  int za, zb, zo;
  qk::FusedActivation act = qk::FusedActivation::kNone;
};

OracleStats CheckAdd(const AddCase& k, RequantMode mode, unsigned seed) {
  const std::string what = "add_s8 s " + std::to_string(k.sa) + "/" + std::to_string(k.sb) + "/" +
                           std::to_string(k.so) + " zp " + std::to_string(k.za) + "/" + std::to_string(k.zb) + "/" +
                           std::to_string(k.zo) + " " + qk::RequantModeName(mode) + " act " +
                           std::to_string(static_cast<int>(k.act));
  INFO(what);
  std::mt19937 rng(seed);
  const std::size_t n = 4096;
  const S8 a = RandomS8(n, rng), b = RandomS8(n, rng);
  qk::AddS8Params p;
  p.count = static_cast<std::int64_t>(n);
  p.input_a = {k.sa, k.za}, p.input_b = {k.sb, k.zb}, p.output = {k.so, k.zo};
  const qk::ActivationRange ar = qk::FusedActivationRange(k.act, p.output);
  p.act_min = ar.min, p.act_max = ar.max;
  p.mode = mode;
  auto prepared = qk::PrepareAddS8(p);
  INFO(prepared.status().ToString());
  REQUIRE(prepared.ok());
  S8 y(n, 0x55);
  qk::ref::add_s8(*prepared, a.data(), b.data(), y.data());

  const double twice_max = 2.0 * std::max<double>(k.sa, k.sb);
  const double m_a = k.sa / twice_max, m_b = k.sb / twice_max, m_out = twice_max / (1048576.0 * k.so);
  std::vector<double> r(n), tol(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double da = a[i] - k.za, db = b[i] - k.zb;
    r[i] = (static_cast<double>(k.sa) * da + static_cast<double>(k.sb) * db) / k.so;
    const double ap = da * 1048576.0 * m_a, bp = db * 1048576.0 * m_b;  // the scaled terms
    tol[i] = (2.0 + (std::fabs(ap) + std::fabs(bp)) * std::ldexp(1.0, -22)) * m_out +
             ExpectedRequantError(mode, m_out, ap + bp + 2.0);
  }
  const OracleStats s = CheckRealOracle(what, y, r, tol, k.zo, ar.min, ar.max);

  // Swapping the operands (and their parameters) gives the same bits.
  qk::AddS8Params q = p;
  std::swap(q.input_a, q.input_b);
  auto swapped = qk::PrepareAddS8(q);
  REQUIRE(swapped.ok());
  S8 y2(n);
  qk::ref::add_s8(*swapped, b.data(), a.data(), y2.data());
  CHECK(y2 == y);
  return s;
}

}  // namespace

TEST_CASE("int8 add vs real oracle in every requant mode") {
  unsigned seed = 1;
  for (RequantMode m : kModes) {
    CheckNotDegenerate("equal scales", CheckAdd({0.05f, 0.05f, 0.1f, 0, 0, 0}, m, seed++));
    CheckNotDegenerate("a larger", CheckAdd({0.2f, 0.03f, 0.2f, -3, 7, 2}, m, seed++));
    CheckNotDegenerate("b larger", CheckAdd({0.011f, 0.13f, 0.17f, 20, -9, -4}, m, seed++));
    CheckNotDegenerate("output finer", CheckAdd({0.02f, 0.03f, 0.04f, 1, -1, 0}, m, seed++));
    // Zero points at the extremes: inputs one-signed.
    const OracleStats e = CheckAdd({0.01f, 0.02f, 0.05f, -128, 127, 0}, m, seed++);
    CHECK(e.inside * 2 >= e.n);
    const OracleStats e2 = CheckAdd({0.01f, 0.01f, 0.02f, -128, -128, -128}, m, seed++);
    CHECK(e2.inside * 2 >= e2.n);
    // Saturation at both ends.
    CheckSaturatesBothEnds("saturating", CheckAdd({0.1f, 0.1f, 0.01f, 0, 0, 0}, m, seed++));
    // Fused ReLU clamps at the output zero point.
    const OracleStats r = CheckAdd({0.05f, 0.04f, 0.05f, 0, 0, -10, qk::FusedActivation::kRelu}, m, seed++);
    CHECK(r.at_min * 5 >= r.n);
    CHECK(r.inside * 5 >= r.n);
    // Power-of-two scales: exact ties happen and are accepted either way.
    CheckAdd({0.5f, 0.25f, 1.0f, 0, 0, 0}, m, seed++);
  }
}

TEST_CASE("int8 rescale is exact at equal scales and matches the oracle otherwise") {
  S8 x(256);
  for (int i = 0; i < 256; ++i) x[i] = static_cast<std::int8_t>(i - 128);
  for (RequantMode m : kModes) {
    INFO(qk::RequantModeName(m));
    // Identity, ReLU and ReLU6 at one scale.
    for (qk::FusedActivation act : {qk::FusedActivation::kNone, qk::FusedActivation::kRelu,
                                    qk::FusedActivation::kRelu6}) {
      qk::RescaleS8Params p;
      p.count = 256;
      p.input = p.output = {0.05f, -7};
      const qk::ActivationRange ar = qk::FusedActivationRange(act, p.output);
      p.act_min = ar.min, p.act_max = ar.max;
      p.mode = m;
      auto prepared = qk::PrepareRescaleS8(p);
      REQUIRE(prepared.ok());
      S8 y(256);
      qk::ref::rescale_s8(*prepared, x.data(), y.data());
      for (int i = 0; i < 256; ++i) CHECK(y[i] == std::clamp<int>(x[i], ar.min, ar.max));
    }
    CHECK(qk::FusedActivationRange(qk::FusedActivation::kRelu6, {0.05f, -7}).max == 113);  // -7 + 120
    // A real rescale (different scale and zero point) against the oracle.
    for (float so : {0.013f, 0.05f, 0.31f}) {
      qk::RescaleS8Params p;
      p.count = 256;
      p.input = {0.05f, 11};
      p.output = {so, -3};
      p.mode = m;
      auto prepared = qk::PrepareRescaleS8(p);
      REQUIRE(prepared.ok());
      S8 y(256);
      qk::ref::rescale_s8(*prepared, x.data(), y.data());
      std::vector<double> r(256), tol(256);
      for (int i = 0; i < 256; ++i) {
        const double mm = static_cast<double>(0.05f) / static_cast<double>(so);
        r[i] = (x[i] - 11) * mm;
        tol[i] = ExpectedRequantError(m, mm, x[i] - 11);
      }
      const OracleStats s = CheckRealOracle("rescale", y, r, tol, -3, -128, 127);
      CHECK(s.distinct >= 20);
    }
  }
}

// ---------------------------------------------------------------------------
TEST_CASE("int8 quantize and dequantize whole tensors") {
  // Ties: x / s exactly k + 0.5 with s = 0.5.
  const std::vector<float> x = {1.25f, -1.25f, 0.75f, -0.75f, 0.0f, -0.0f, 1000.0f, -1000.0f,
                                std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity(), 0.3f};
  qk::QuantizeS8Params p;
  p.count = static_cast<std::int64_t>(x.size());
  p.q = {0.5f, 3};
  REQUIRE(qk::Validate(p).ok());
  S8 away(x.size()), even(x.size());
  qk::ref::quantize_s8(p, x.data(), away.data());
  p.rounding = qk::RoundingMode::kHalfToEven;
  qk::ref::quantize_s8(p, x.data(), even.data());
  const std::vector<int> want_away = {6, 0, 5, 1, 3, 3, 127, -128, 3, 127, -128, 4};
  const std::vector<int> want_even = {5, 1, 5, 1, 3, 3, 127, -128, 3, 127, -128, 4};
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i]);
    CHECK(away[i] == want_away[i]);
    CHECK(even[i] == want_even[i]);
  }
  // Random values vs a double oracle on the float quotient.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-3.0f, 3.0f);
  std::vector<float> xs(5000);
  for (auto& v : xs) v = d(rng);
  qk::QuantizeS8Params q;
  q.count = 5000;
  q.q = {0.0173f, -11};
  S8 y(5000);
  qk::ref::quantize_s8(q, xs.data(), y.data());
  std::vector<float> back(5000);
  qk::ref::dequantize_s8(q, y.data(), back.data());
  int inside = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const float v = xs[i] / q.q.scale;
    const int want = static_cast<int>(std::clamp(std::round(static_cast<double>(v)) - 11.0, -128.0, 127.0));
    CHECK(y[i] == want);
    CHECK(back[i] == q.q.scale * static_cast<float>(y[i] + 11));
    if (y[i] > -128 && y[i] < 127) {
      ++inside;
      CHECK(std::fabs(back[i] - xs[i]) <= 0.5f * q.q.scale * (1 + 1e-5f));
    }
  }
  CHECK(inside > 2000);
}

TEST_CASE("int8 post-training weight and bias quantization") {
  // 3 channels of 5: a regular one, an all-zero one, one with a negative extreme.
  const std::vector<float> w = {0.5f, -0.25f, 0.125f, 0.0f, 0.3f,  //
                                0.0f, 0.0f, 0.0f, 0.0f, 0.0f,       //
                                -2.0f, 1.0f, 0.01f, -0.99f, 2.0f};
  const std::vector<float> bias = {0.1f, -0.3f, 1e30f};
  auto r = qk::QuantizeWeightsS8(3, 5, w.data(), bias.data(), 0.02f);
  REQUIRE(r.ok());
  const qk::QuantizedWeightsS8& q = *r;
  CHECK(q.scales[0] == 0.5f / 127.0f);
  CHECK(q.scales[1] == 1.0f);
  CHECK(q.scales[2] == 2.0f / 127.0f);
  CHECK(q.weights[0] == 127);
  CHECK(q.weights[1] == -64);  // -63.5 away from zero
  CHECK(q.weights[10] == -127);
  CHECK(q.weights[14] == 127);
  for (int i = 5; i < 10; ++i) CHECK(q.weights[i] == 0);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const float s = q.scales[i / 5];
    CHECK(q.weights[i] >= -127);
    CHECK(std::fabs(w[i] - s * q.weights[i]) <= 0.5f * s * (1 + 1e-5f));
  }
  CHECK(q.bias[0] == static_cast<std::int32_t>(std::round(0.1f / (0.02 * static_cast<double>(q.scales[0])))));
  CHECK(q.bias[1] == static_cast<std::int32_t>(std::round(-0.3f / (0.02 * static_cast<double>(q.scales[1])))));
  CHECK(q.bias[2] == std::numeric_limits<std::int32_t>::max());  // saturated
  CHECK(qk::CheckWeightsS8("t", q.weights.data(), 15).ok());
  // Bias ties: bias scale 0.5 * 0.25 = 0.125; 0.0625 is half a unit.
  CHECK(qk::QuantizeBiasS8(0.0625f, 0.5, 0.25) == 1);
  CHECK(qk::QuantizeBiasS8(-0.0625f, 0.5, 0.25) == -1);
  CHECK(qk::QuantizeBiasS8(0.1875f, 0.5, 0.25) == 2);
  CHECK(qk::QuantizeBiasS8(-1e30f, 0.5, 0.25) == std::numeric_limits<std::int32_t>::min());
  // No bias -> empty.
  auto nb = qk::QuantizeWeightsS8(3, 5, w.data(), nullptr, 0.02f);
  REQUIRE(nb.ok());
  CHECK(nb->bias.empty());
  // Rejections.
  std::vector<float> bad = w;
  bad[7] = std::numeric_limits<float>::quiet_NaN();
  auto e1 = qk::QuantizeWeightsS8(3, 5, bad.data(), nullptr, 0.02f);
  REQUIRE(!e1.ok());
  CHECK(e1.status().message().find("weight[7] is not finite") != std::string::npos);
  auto e2 = qk::QuantizeWeightsS8(3, 5, w.data(), nullptr, 0.0f);
  REQUIRE(!e2.ok());
  CHECK(e2.status().message().find("input_scale must be positive and finite, got 0") != std::string::npos);
  const std::vector<float> bad_bias = {0.0f, std::numeric_limits<float>::infinity(), 0.0f};
  auto e3 = qk::QuantizeWeightsS8(3, 5, w.data(), bad_bias.data(), 0.02f);
  REQUIRE(!e3.ok());
  CHECK(e3.status().message().find("bias[1] is not finite") != std::string::npos);
}
