// Reference int8 conv and matmul with asymmetric weights (qlinear_quant.h), checked
// four ways:
//  1. bit-exact against a brute-force second implementation: the int64
//     accumulator from the definition in another loop order (conv: an explicit
//     input padded WITH zp_x instead of skipped taps; matmul: k outermost), then
//     requant.h's RequantizeToRange on it (checks the accumulation, the weight
//     zero points and the padding rule alone);
//  2. against the real-valued oracle of int8_test_util.h (acc * m in double,
//     exact except within the mode's proven error of a .5 tie): checks the
//     requantization without requant.h's integer path;
//  3. in kFloat (the mode ONNX specifies), exactly against
//     std::nearbyint(float(acc) * float(m)) + zp_y, clamped: an outside
//     statement of "fp32 scale, round half to even" that shares no code with
//     requant.h;
//  4. bit-exact against conv2d_s8 / dense_s8 when zp_w = 0 and the weights are
//     in [-127, 127], in all three RequantModes (the two families must agree
//     wherever both apply).
// Shapes: sizes 1, primes, tails, stride, dilation, asymmetric padding, groups,
// depthwise, shared and per-batch B; zero points at both extremes, per-channel
// weight zero points, saturation at both ends. Plus the Prepare errors and the
// exactness of the int32 accumulator bound at both ends of int32.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/int8_test_util.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/qlinear_conv_s8.h"
#include "qualm/kernels/qlinear_matmul_s8.h"

namespace qk = qualm::kernels;
using namespace qualm_test;
using qk::RequantMode;

namespace {

constexpr RequantMode kModes[] = {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat};

enum class Expect { kNormal, kSaturate, kAny };

// The quantization side of one test: what the tester draws or fixes.
struct QConfig {
  int zp_x = 0, zp_y = 0;
  float s_x = 0.02f;
  // Weight zero points: per channel, drawn from [zp_w_lo, zp_w_hi] (channel 0
  // gets zp_w_lo and channel 1 zp_w_hi, so both ends are always present), or
  // one per-tensor value zp_w_lo when per_tensor_zp.
  int zp_w_lo = -128, zp_w_hi = 127;
  bool per_tensor_zp = false;
  bool per_tensor_scale = false;
  int w_lo = -128, w_hi = 127, x_lo = -128, x_hi = 127;
  bool has_bias = true;
  double spread = 40.0;  // rms of the centred real outputs, in output units (sets s_y)
  int act_min = qk::kInt8Min, act_max = qk::kInt8Max;
  RequantMode mode = RequantMode::kFloat;
  Expect expect = Expect::kNormal;
  unsigned seed = 1;

  std::string Name() const {
    // Built with an ostream: GCC 12's -Wrestrict misfires on long chains of
    // "literal" + std::string.
    std::ostringstream o;
    o << " zp_x " << zp_x << " zp_y " << zp_y << " zp_w ";
    if (per_tensor_zp) o << zp_w_lo;
    else o << "[" << zp_w_lo << " " << zp_w_hi << "]";
    o << " w [" << w_lo << " " << w_hi << "] act [" << act_min << " " << act_max << "] "
      << qk::RequantModeName(mode) << (has_bias ? "" : " no-bias") << " seed " << seed;
    return o.str();
  }
};

// Draws zero points and scales for `channels`, fills QLinearQuant except s_y.
qk::QLinearQuant DrawQuant(const QConfig& c, int channels, std::mt19937& rng) {
  qk::QLinearQuant q;
  q.input = {c.s_x, c.zp_x};
  std::uniform_real_distribution<float> ds(0.5f, 2.0f);
  q.weight_scales.resize(c.per_tensor_scale ? 1 : static_cast<std::size_t>(channels));
  for (auto& s : q.weight_scales) s = 0.004f * ds(rng);
  if (c.per_tensor_zp) {
    q.weight_zero_points = {c.zp_w_lo};
  } else {
    std::uniform_int_distribution<int> dz(c.zp_w_lo, c.zp_w_hi);
    q.weight_zero_points.resize(static_cast<std::size_t>(channels));
    for (int ch = 0; ch < channels; ++ch)
      q.weight_zero_points[static_cast<std::size_t>(ch)] = ch == 0 ? c.zp_w_lo : ch == 1 ? c.zp_w_hi : dz(rng);
  }
  q.output.act_min = c.act_min, q.output.act_max = c.act_max;
  q.output.mode = c.mode;
  return q;
}

double Multiplier(const qk::QLinearQuant& q, int ch) {
  const float sw = q.weight_scales[q.weight_scales.size() == 1 ? 0 : static_cast<std::size_t>(ch)];
  return static_cast<double>(q.input.scale) * static_cast<double>(sw) / static_cast<double>(q.output.params.scale);
}

// Biases that centre each channel's accumulators (as a model's folded bias
// would): with asymmetric weights sum (w - zp_w)(x - zp_x) carries an offset of
// about K zp_w zp_x that would otherwise swamp every output into one value.
// Plus noise of the channel's own spread. `acc` is [rows][channels], no bias.
std::vector<std::int32_t> CentringBias(const std::vector<std::int64_t>& acc, int channels, std::mt19937& rng) {
  const std::size_t rows = acc.size() / static_cast<std::size_t>(channels);
  std::vector<std::int32_t> bias(static_cast<std::size_t>(channels));
  for (int ch = 0; ch < channels; ++ch) {
    double sum = 0, sum2 = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      const double v = static_cast<double>(acc[r * channels + ch]);
      sum += v, sum2 += v * v;
    }
    const double mean = sum / static_cast<double>(rows);
    const double sd = std::sqrt(std::max(0.0, sum2 / static_cast<double>(rows) - mean * mean));
    std::uniform_real_distribution<double> noise(-sd, sd);
    bias[static_cast<std::size_t>(ch)] = static_cast<std::int32_t>(std::llround(-mean + noise(rng)));
  }
  return bias;
}

// s_y such that the real outputs (bias included) have rms `spread` output units.
float OutputScale(const QConfig& c, const std::vector<std::int64_t>& acc, const qk::QLinearQuant& q, int channels) {
  double sum2 = 0;
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const int ch = static_cast<int>(i % static_cast<std::size_t>(channels));
    const float sw = q.weight_scales[q.weight_scales.size() == 1 ? 0 : static_cast<std::size_t>(ch)];
    const double r = static_cast<double>(acc[i]) * c.s_x * sw;
    sum2 += r * r;
  }
  const double rms = std::sqrt(sum2 / static_cast<double>(acc.size()));
  return rms > 0 ? static_cast<float>(rms / c.spread) : 1.0f;
}

// Checks 1 to 3 on `got` for the int64 accumulators `acc` ([rows][channels],
// bias included), and the distrust / saturation expectation.
OracleStats CheckOutputs(const std::string& what, const QConfig& c, const std::vector<std::int64_t>& acc,
                         const qk::QLinearQuant& q, const qk::PreparedQLinearQuant& pq, int channels,
                         const std::vector<std::int8_t>& got) {
  REQUIRE(acc.size() == got.size());
  REQUIRE(std::fegetround() == FE_TONEAREST);
  std::vector<double> r(acc.size()), tol(acc.size());
  std::size_t exact_bad = 0, float_bad = 0;
  std::string first_exact, first_float;
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const int ch = static_cast<int>(i % static_cast<std::size_t>(channels));
    const double m = Multiplier(q, ch);
    r[i] = static_cast<double>(acc[i]) * m;
    tol[i] = ExpectedRequantError(c.mode, m, static_cast<double>(acc[i]));
    if (acc[i] < INT32_MIN || acc[i] > INT32_MAX) FAIL("int64 accumulator outside int32: " << acc[i]);
    const std::int32_t want = qk::RequantizeToRange(static_cast<std::int32_t>(acc[i]),
                                                    pq.output.requant[static_cast<std::size_t>(ch)], c.mode, c.zp_y,
                                                    c.act_min, c.act_max);
    if (want != got[i] && exact_bad++ == 0)
      first_exact = "index " + std::to_string(i) + ": kernel " + std::to_string(got[i]) +
                    ", int64 brute force + RequantizeToRange " + std::to_string(want);
    if (c.mode == RequantMode::kFloat) {
      const double y = std::nearbyint(static_cast<float>(acc[i]) * static_cast<float>(m)) + c.zp_y;
      const double yc = std::min<double>(std::max<double>(y, c.act_min), c.act_max);
      if (yc != got[i] && float_bad++ == 0)
        first_float = "index " + std::to_string(i) + ": kernel " + std::to_string(got[i]) +
                      ", nearbyint(float(acc) * float(m)) " + std::to_string(yc) + " (acc " + std::to_string(acc[i]) +
                      ")";
    }
  }
  {
    INFO(what << ": " << exact_bad << " outputs differ from the brute-force path. " << first_exact);
    CHECK(exact_bad == 0);
  }
  {
    INFO(what << ": " << float_bad << " outputs differ from the fp32 round-half-even statement. " << first_float);
    CHECK(float_bad == 0);
  }
  const OracleStats s = CheckRealOracle(what, got, r, tol, c.zp_y, c.act_min, c.act_max);
  if (c.expect == Expect::kNormal) CheckNotDegenerate(what, s);
  if (c.expect == Expect::kSaturate) CheckSaturatesBothEnds(what, s);
  return s;
}

// ---------------------------------------------------------------------------
class QLinearConvTester {
 public:
  QLinearConvTester& batch(int n) { return p_.batch = n, *this; }
  QLinearConvTester& in(int h, int w, int c) { return p_.in_h = h, p_.in_w = w, p_.in_c = c, *this; }
  QLinearConvTester& out_c(int c) { return p_.out_c = c, *this; }
  QLinearConvTester& kernel(int h, int w) { return p_.kernel_h = h, p_.kernel_w = w, *this; }
  QLinearConvTester& stride(int h, int w) { return p_.stride_h = h, p_.stride_w = w, *this; }
  QLinearConvTester& dilation(int h, int w) { return p_.dilation_h = h, p_.dilation_w = w, *this; }
  QLinearConvTester& pad(int t, int l, int b, int r) {
    return p_.pad_top = t, p_.pad_left = l, p_.pad_bottom = b, p_.pad_right = r, *this;
  }
  QLinearConvTester& pad(int a) { return pad(a, a, a, a); }
  QLinearConvTester& groups(int g) { return p_.groups = g, *this; }
  QLinearConvTester& config(const QConfig& c) { return c_ = c, *this; }

  std::string Name() const {
    const auto& p = p_;
    return "qlinear_conv_s8 n" + std::to_string(p.batch) + " in " + std::to_string(p.in_h) + "x" +
           std::to_string(p.in_w) + "x" + std::to_string(p.in_c) + " out_c " + std::to_string(p.out_c) + " k " +
           std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s " + std::to_string(p.stride_h) + "x" +
           std::to_string(p.stride_w) + " d " + std::to_string(p.dilation_h) + "x" + std::to_string(p.dilation_w) +
           " pad " + std::to_string(p.pad_top) + " " + std::to_string(p.pad_left) + " " + std::to_string(p.pad_bottom) +
           " " + std::to_string(p.pad_right) + " g " + std::to_string(p.groups) + c_.Name();
  }

  OracleStats Test() const {
    const std::string what = Name();
    INFO(what);
    const qk::Conv2dParams& p = p_;
    REQUIRE(qk::Validate(p).ok());
    std::mt19937 rng(c_.seed);
    const int oh = p.out_h(), ow = p.out_w(), icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
    const int kk = p.kernel_h * p.kernel_w * icg;
    const S8 x = RandomS8(static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c, rng, c_.x_lo, c_.x_hi);
    const S8 w = RandomS8(static_cast<std::size_t>(p.out_c) * kk, rng, c_.w_lo, c_.w_hi);
    qk::QLinearQuant q = DrawQuant(c_, p.out_c, rng);
    const auto zp_w = [&](int oc) {
      return q.weight_zero_points[q.weight_zero_points.size() == 1 ? 0 : static_cast<std::size_t>(oc)];
    };

    // Brute force: the input padded with zp_x (ONNX's definition of padding),
    // every tap read; loops oc outermost, then n, oy, ox, ci, ky, kx; int64.
    const int ph = p.in_h + p.pad_top + p.pad_bottom, pw = p.in_w + p.pad_left + p.pad_right;
    std::vector<int> xp(static_cast<std::size_t>(p.batch) * ph * pw * p.in_c, c_.zp_x);
    for (int n = 0; n < p.batch; ++n)
      for (int iy = 0; iy < p.in_h; ++iy)
        for (int ix = 0; ix < p.in_w; ++ix)
          for (int ci = 0; ci < p.in_c; ++ci)
            xp[((static_cast<std::size_t>(n) * ph + iy + p.pad_top) * pw + ix + p.pad_left) * p.in_c + ci] =
                x[((static_cast<std::size_t>(n) * p.in_h + iy) * p.in_w + ix) * p.in_c + ci];
    const std::size_t rows = static_cast<std::size_t>(p.batch) * oh * ow;
    std::vector<std::int64_t> acc(rows * p.out_c, 0);
    for (int oc = 0; oc < p.out_c; ++oc) {
      const int g = oc / ocg;
      for (int n = 0; n < p.batch; ++n)
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox) {
            std::int64_t a = 0;
            for (int ci = 0; ci < icg; ++ci)
              for (int ky = 0; ky < p.kernel_h; ++ky)
                for (int kx = 0; kx < p.kernel_w; ++kx) {
                  const int iy = oy * p.stride_h + ky * p.dilation_h, ix = ox * p.stride_w + kx * p.dilation_w;
                  const std::int64_t xv =
                      xp[((static_cast<std::size_t>(n) * ph + iy) * pw + ix) * p.in_c + g * icg + ci];
                  const std::int64_t wv =
                      w[((static_cast<std::size_t>(oc) * p.kernel_h + ky) * p.kernel_w + kx) * icg + ci];
                  a += (wv - zp_w(oc)) * (xv - c_.zp_x);
                }
            acc[((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * p.out_c + oc] = a;
          }
    }
    std::vector<std::int32_t> bias = CentringBias(acc, p.out_c, rng);
    const std::int32_t* bias_ptr = c_.has_bias ? bias.data() : nullptr;
    if (bias_ptr)
      for (std::size_t i = 0; i < acc.size(); ++i) acc[i] += bias[i % static_cast<std::size_t>(p.out_c)];
    q.output.params = {OutputScale(c_, acc, q, p.out_c), c_.zp_y};

    qk::QLinearConvS8Params params{p, q};
    auto prepared = qk::PrepareQLinearConvS8(params, w.data(), bias_ptr);
    INFO(prepared.status().ToString());
    REQUIRE(prepared.ok());
    S8 y(rows * p.out_c, 0x55);
    qk::ref::qlinear_conv_s8(*prepared, x.data(), w.data(), bias_ptr, y.data());
    const OracleStats s = CheckOutputs(what, c_, acc, q, prepared->quant, p.out_c, y);

    // Check 4: where conv2d_s8 applies (zp_w = 0, weights in [-127, 127]) the
    // two families give the same bits.
    bool symmetric = c_.w_lo >= -127;
    for (int oc = 0; oc < p.out_c; ++oc) symmetric = symmetric && zp_w(oc) == 0;
    if (symmetric) {
      qk::Conv2dS8Params sp;
      sp.shape = p, sp.input = q.input, sp.weight_scales = q.weight_scales, sp.output = q.output;
      auto sprep = qk::PrepareConv2dS8(sp, w.data(), bias_ptr);
      INFO(sprep.status().ToString());
      REQUIRE(sprep.ok());
      S8 ys(y.size(), 0x33);
      qk::ref::conv2d_s8(*sprep, x.data(), w.data(), bias_ptr, ys.data());
      CHECK_MESSAGE(ys == y, what << ": conv2d_s8 and qlinear_conv_s8 disagree with symmetric weights");
    }
    return s;
  }

 private:
  qk::Conv2dParams p_;
  QConfig c_;
};

// ---------------------------------------------------------------------------
class QLinearMatMulTester {
 public:
  QLinearMatMulTester& shape(int batch, int m, int k, int n) {
    return s_.batch = batch, s_.m = m, s_.k = k, s_.n = n, *this;
  }
  QLinearMatMulTester& shared_b(bool v = true) { return s_.shared_b = v, *this; }
  QLinearMatMulTester& config(const QConfig& c) { return c_ = c, *this; }

  std::string Name() const {
    return "qlinear_matmul_s8 batch " + std::to_string(s_.batch) + " m " + std::to_string(s_.m) + " k " +
           std::to_string(s_.k) + " n " + std::to_string(s_.n) + (s_.shared_b ? " shared B" : "") + c_.Name();
  }

  OracleStats Test() const {
    const std::string what = Name();
    INFO(what);
    const auto& s = s_;
    std::mt19937 rng(c_.seed);
    const std::size_t bb = s.shared_b ? 1 : static_cast<std::size_t>(s.batch);
    const S8 a = RandomS8(static_cast<std::size_t>(s.batch) * s.m * s.k, rng, c_.x_lo, c_.x_hi);
    const S8 b = RandomS8(bb * s.k * s.n, rng, c_.w_lo, c_.w_hi);
    qk::QLinearQuant q = DrawQuant(c_, s.n, rng);
    const auto zp_b = [&](int j) {
      return q.weight_zero_points[q.weight_zero_points.size() == 1 ? 0 : static_cast<std::size_t>(j)];
    };

    // Brute force: k outermost, int64 (the kernel: k innermost, int32).
    const std::size_t rows = static_cast<std::size_t>(s.batch) * s.m;
    std::vector<std::int64_t> acc(rows * s.n, 0);
    for (int t = 0; t < s.k; ++t)
      for (int bt = 0; bt < s.batch; ++bt)
        for (int i = 0; i < s.m; ++i)
          for (int j = 0; j < s.n; ++j) {
            const std::int64_t av = a[(static_cast<std::size_t>(bt) * s.m + i) * s.k + t];
            const std::int64_t bv = b[((s.shared_b ? 0 : static_cast<std::size_t>(bt)) * s.k + t) * s.n + j];
            acc[(static_cast<std::size_t>(bt) * s.m + i) * s.n + j] += (bv - zp_b(j)) * (av - c_.zp_x);
          }
    std::vector<std::int32_t> bias = CentringBias(acc, s.n, rng);
    const std::int32_t* bias_ptr = c_.has_bias ? bias.data() : nullptr;
    if (bias_ptr)
      for (std::size_t i = 0; i < acc.size(); ++i) acc[i] += bias[i % static_cast<std::size_t>(s.n)];
    q.output.params = {OutputScale(c_, acc, q, s.n), c_.zp_y};

    qk::QLinearMatMulS8Params params{s, q};
    auto prepared = qk::PrepareQLinearMatMulS8(params, b.data(), bias_ptr);
    INFO(prepared.status().ToString());
    REQUIRE(prepared.ok());
    S8 y(rows * s.n, 0x55);
    qk::ref::qlinear_matmul_s8(*prepared, a.data(), b.data(), bias_ptr, y.data());
    const OracleStats st = CheckOutputs(what, c_, acc, q, prepared->quant, s.n, y);

    // Check 4: dense_s8 on B^T (per batch matrix) where it applies.
    bool symmetric = c_.w_lo >= -127;
    for (int j = 0; j < s.n; ++j) symmetric = symmetric && zp_b(j) == 0;
    if (symmetric) {
      qk::DenseS8Params dp;
      dp.shape = {s.m, s.k, s.n};
      dp.input = q.input, dp.weight_scales = q.weight_scales, dp.output = q.output;
      S8 ys(y.size(), 0x33);
      for (int bt = 0; bt < s.batch; ++bt) {
        const std::size_t boff = (s.shared_b ? 0 : static_cast<std::size_t>(bt)) * s.k * s.n;
        S8 wt(static_cast<std::size_t>(s.k) * s.n);  // [n][k]
        for (int t = 0; t < s.k; ++t)
          for (int j = 0; j < s.n; ++j)
            wt[static_cast<std::size_t>(j) * s.k + t] = b[boff + static_cast<std::size_t>(t) * s.n + j];
        auto dprep = qk::PrepareDenseS8(dp, wt.data(), bias_ptr);
        INFO(dprep.status().ToString());
        REQUIRE(dprep.ok());
        qk::ref::dense_s8(*dprep, a.data() + static_cast<std::size_t>(bt) * s.m * s.k, wt.data(), bias_ptr,
                          ys.data() + static_cast<std::size_t>(bt) * s.m * s.n);
      }
      CHECK_MESSAGE(ys == y, what << ": dense_s8 and qlinear_matmul_s8 disagree with symmetric weights");
    }
    return st;
  }

 private:
  qk::QLinearMatMulShape s_;
  QConfig c_;
};

QConfig Cfg(RequantMode mode, unsigned seed) {
  QConfig c;
  c.mode = mode;
  c.seed = seed;
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------
TEST_CASE("qlinear conv sizes 1 to 9 against the brute-force oracle in every requant mode") {
  for (RequantMode m : kModes)
    for (int s = 1; s <= 9; ++s) {
      QConfig c = Cfg(m, static_cast<unsigned>(s));
      c.zp_x = s * 29 - 150, c.zp_y = 30 - s * 7;
      c.expect = s >= 3 ? Expect::kNormal : Expect::kAny;
      QLinearConvTester()
          .batch(1 + s % 2)
          .in(s, 10 - s, 1 + s % 4)
          .out_c(s)
          .kernel(std::min(3, s), std::min(3, 10 - s))
          .pad(s % 2)
          .config(c)
          .Test();
    }
}

TEST_CASE("qlinear conv primes tails stride dilation padding and groups") {
  for (RequantMode m : kModes) {
    QConfig c = Cfg(m, 7);
    c.zp_x = -5, c.zp_y = 3;
    QLinearConvTester().in(7, 13, 3).out_c(7).kernel(3, 3).pad(1).config(c).Test();
    c.zp_x = 11, c.zp_y = -9, c.seed = 13;
    QLinearConvTester().in(13, 7, 5).out_c(13).kernel(5, 3).pad(2, 1, 2, 1).config(c).Test();
    c.seed = 3;
    QLinearConvTester().batch(2).in(7, 5, 3).out_c(4).kernel(3, 3).stride(2, 2).pad(1).config(c).Test();
    c.seed = 4, c.zp_x = 60;  // mostly padding taps: they must read zp_x
    QLinearConvTester().in(4, 4, 2).out_c(3).kernel(3, 3).pad(2).config(c).Test();
    c.seed = 5, c.zp_x = -20;
    QLinearConvTester().in(9, 11, 2).out_c(3).kernel(5, 3).stride(2, 3).dilation(1, 2).pad(2, 1, 0, 3).config(c).Test();
    c.seed = 6;
    QLinearConvTester().batch(2).in(5, 5, 4).out_c(6).kernel(3, 3).pad(1).groups(2).config(c).Test();
    c.seed = 8, c.zp_x = 7;  // depthwise
    QLinearConvTester().in(7, 6, 8).out_c(8).kernel(3, 3).pad(1).groups(8).config(c).Test();
    c.seed = 9;  // depthwise multiplier 3, stride and dilation
    QLinearConvTester().in(10, 9, 3).out_c(9).kernel(5, 3).stride(2, 1).dilation(1, 2).pad(2).groups(3).config(c)
        .Test();
  }
  for (int ch = 1; ch <= 17; ch += 4) {
    QConfig c = Cfg(RequantMode::kFloat, 100u + static_cast<unsigned>(ch));
    c.zp_x = ch * 7 - 60;
    QLinearConvTester().in(5, 4, ch).out_c(18 - ch).kernel(3, 2).pad(1, 0, 1, 1).config(c).Test();
  }
}

TEST_CASE("qlinear conv zero points at both extremes and saturation at both ends") {
  for (RequantMode m : kModes) {
    // x - zp_x and w - zp_w both reach 255 in magnitude: zp at the ends, weights
    // and inputs over the full range. Per-tensor and per-channel weight zero points.
    for (int zx : {-128, 127})
      for (int zw : {-128, 127}) {
        QConfig c = Cfg(m, static_cast<unsigned>(1000 + zx + 3 * zw));
        c.zp_x = zx, c.zp_w_lo = zw, c.per_tensor_zp = true, c.zp_y = -zx / 2;
        QLinearConvTester().batch(2).in(6, 5, 4).out_c(5).kernel(3, 3).pad(1).config(c).Test();
        c.per_tensor_zp = false, c.zp_w_lo = -128, c.zp_w_hi = 127, c.per_tensor_scale = true;
        QLinearConvTester().in(5, 6, 3).out_c(6).kernel(3, 3).pad(1, 0, 0, 1).groups(3).config(c).Test();
      }
    QConfig c = Cfg(m, 77);
    c.zp_x = -128, c.spread = 600, c.expect = Expect::kSaturate;
    const OracleStats s = QLinearConvTester().in(6, 6, 3).out_c(4).kernel(3, 3).pad(1).config(c).Test();
    CHECK(s.inside > 0);
    // A fused ReLU-like range with zp_y at the bottom.
    c.spread = 60, c.zp_y = -100, c.act_min = -100, c.act_max = 90, c.expect = Expect::kAny;
    const OracleStats r = QLinearConvTester().in(6, 5, 3).out_c(4).kernel(3, 3).config(c).Test();
    CHECK(r.at_min > 0);
    CHECK(r.inside > 0);
  }
}

TEST_CASE("qlinear conv equals conv2d_s8 with symmetric weights in all three requant modes") {
  for (RequantMode m : kModes)
    for (unsigned seed = 1; seed <= 3; ++seed) {
      QConfig c = Cfg(m, seed);
      c.w_lo = -127, c.zp_w_lo = c.zp_w_hi = 0, c.zp_x = static_cast<int>(seed) * 40 - 100, c.zp_y = 5;
      c.per_tensor_scale = seed == 2, c.has_bias = seed != 3;
      QLinearConvTester().batch(2).in(7, 6, 4).out_c(6).kernel(3, 3).stride(2, 1).pad(1, 2, 0, 1).groups(2).config(c)
          .Test();
      c.per_tensor_zp = true;
      QLinearConvTester().in(5, 5, 3).out_c(5).kernel(2, 3).dilation(2, 1).config(c).Test();
    }
}

TEST_CASE("qlinear matmul awkward shapes against the brute-force oracle in every requant mode") {
  const int shapes[][4] = {{1, 1, 1, 1}, {1, 1, 7, 1}, {1, 2, 4, 3}, {2, 2, 4, 3}, {1, 5, 13, 7},
                           {3, 7, 31, 5}, {2, 17, 9, 16}, {1, 16, 65, 17}, {4, 3, 2, 11}};
  for (RequantMode m : kModes) {
    unsigned seed = 1;
    for (const auto& sh : shapes)
      for (bool shared : {false, true}) {
        QConfig c = Cfg(m, seed++);
        c.zp_x = static_cast<int>(seed * 37 % 256) - 128, c.zp_y = static_cast<int>(seed * 11 % 60) - 30;
        c.expect = sh[0] * sh[1] * sh[3] >= 16 ? Expect::kNormal : Expect::kAny;
        QLinearMatMulTester().shape(sh[0], sh[1], sh[2], sh[3]).shared_b(shared).config(c).Test();
      }
  }
}

TEST_CASE("qlinear matmul per-column zero points and saturation at both ends") {
  for (RequantMode m : kModes) {
    for (int zx : {-128, 127})
      for (int zw : {-128, 127}) {
        QConfig c = Cfg(m, static_cast<unsigned>(500 + zx + 3 * zw));
        c.zp_x = zx, c.zp_w_lo = zw, c.per_tensor_zp = true;
        QLinearMatMulTester().shape(2, 6, 19, 5).config(c).Test();
      }
    QConfig c = Cfg(m, 42);  // per-column zero points over the full range, per-tensor scale
    c.per_tensor_scale = true, c.zp_x = 113;
    QLinearMatMulTester().shape(3, 5, 23, 9).shared_b().config(c).Test();
    c.zp_x = -128, c.spread = 800, c.expect = Expect::kSaturate;
    const OracleStats s = QLinearMatMulTester().shape(2, 8, 16, 6).config(c).Test();
    CHECK(s.inside > 0);
  }
}

TEST_CASE("qlinear matmul equals dense_s8 with symmetric weights in all three requant modes") {
  for (RequantMode m : kModes)
    for (unsigned seed = 1; seed <= 3; ++seed) {
      QConfig c = Cfg(m, seed);
      c.w_lo = -127, c.zp_w_lo = c.zp_w_hi = 0, c.zp_x = static_cast<int>(seed) * 50 - 110, c.zp_y = -3;
      c.per_tensor_scale = seed == 2, c.has_bias = seed != 3, c.per_tensor_zp = seed == 1;
      QLinearMatMulTester().shape(2, 5, 13, 7).config(c).Test();
      QLinearMatMulTester().shape(3, 4, 8, 6).shared_b().config(c).Test();
    }
}

// ---------------------------------------------------------------------------
namespace {

template <typename R>
void ExpectError(const R& r, const std::string& needle) {
  INFO("expected an error containing '" << needle
                                        << "', got: " << (r.ok() ? std::string("ok") : r.status().ToString()));
  REQUIRE(!r.ok());
  CHECK(r.status().code() == qualm::StatusCode::kInvalidArgument);
  CHECK(r.status().message().find(needle) != std::string::npos);
}

struct ConvFixture {
  qk::QLinearConvS8Params p;
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> bias{1, -2, 3};
  ConvFixture() {
    p.shape.in_h = p.shape.in_w = 5, p.shape.in_c = 2, p.shape.out_c = 3, p.shape.kernel_h = p.shape.kernel_w = 3;
    p.quant.input = {0.02f, 5};
    p.quant.weight_scales = {0.01f, 0.02f, 0.03f};
    p.quant.weight_zero_points = {-128, 0, 127};
    p.quant.output.params = {0.1f, -7};
    w.assign(3 * 3 * 3 * 2, -100);
  }
  qualm::Result<qk::PreparedQLinearConvS8> Prepare() const {
    return qk::PrepareQLinearConvS8(p, w.data(), bias.data());
  }
};

struct MatMulFixture {
  qk::QLinearMatMulS8Params p;
  std::vector<std::int8_t> b;
  MatMulFixture() {
    p.shape = {2, 3, 4, 5, false};
    p.quant.input = {0.0066f, -15};
    p.quant.weight_scales = {0.00705f};
    p.quant.weight_zero_points = {-14};
    p.quant.output.params = {0.0107f, -10};
    b.assign(2 * 4 * 5, 100);
  }
  qualm::Result<qk::PreparedQLinearMatMulS8> Prepare() const {
    return qk::PrepareQLinearMatMulS8(p, b.data(), nullptr);
  }
};

}  // namespace

TEST_CASE("qlinear prepare accepts valid ops and expands per-tensor parameters") {
  ConvFixture f;
  auto r = f.Prepare();
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->quant.weight_zero_points == std::vector<std::int32_t>{-128, 0, 127});
  REQUIRE(r->quant.output.requant.size() == 3);
  CHECK(r->quant.output.requant[2].scale ==
        static_cast<float>(static_cast<double>(0.02f) * static_cast<double>(0.03f) / static_cast<double>(0.1f)));
  CHECK(r->quant.input_zero_point == 5);
  CHECK(r->quant.output.zero_point == -7);
  f.p.quant.weight_zero_points.clear();  // absent: 0 for every channel
  f.p.quant.weight_scales = {0.01f};
  auto t = f.Prepare();
  REQUIRE(t.ok());
  CHECK(t->quant.weight_zero_points == std::vector<std::int32_t>{0, 0, 0});
  CHECK(t->quant.output.requant[0].multiplier == t->quant.output.requant[2].multiplier);
  MatMulFixture mf;
  auto mr = mf.Prepare();
  INFO(mr.status().ToString());
  REQUIRE(mr.ok());
  CHECK(mr->quant.weight_zero_points == std::vector<std::int32_t>(5, -14));
  CHECK(mr->quant.output.requant.size() == 5);
}

TEST_CASE("qlinear prepare rejects bad scales zero points and shapes") {
  {
    ConvFixture f;
    f.p.quant.input.scale = 0.0f;
    ExpectError(f.Prepare(), "qlinear_conv_s8: input.scale must be positive and finite, got 0");
    f = ConvFixture();
    f.p.quant.output.params.scale = std::nanf("");
    ExpectError(f.Prepare(), "qlinear_conv_s8: output.scale must be positive and finite, got nan");
    f = ConvFixture();
    f.p.quant.weight_scales[1] = 0.0f;
    ExpectError(f.Prepare(), "qlinear_conv_s8: weight_scales[1] must be positive and finite, got 0");
    f = ConvFixture();
    f.p.quant.weight_scales[2] = -0.5f;
    ExpectError(f.Prepare(), "weight_scales[2] must be positive and finite, got -0.5");
  }
  {
    ConvFixture f;
    f.p.quant.weight_zero_points[2] = 128;
    ExpectError(f.Prepare(), "qlinear_conv_s8: weight_zero_points[2] must be in [-128, 127], got 128");
    f = ConvFixture();
    f.p.quant.weight_zero_points = {-129};
    ExpectError(f.Prepare(), "weight_zero_points[0] must be in [-128, 127], got -129");
    f = ConvFixture();
    f.p.quant.input.zero_point = 255;  // a uint8 zero point not shifted to int8
    ExpectError(f.Prepare(), "qlinear_conv_s8: input.zero_point must be in [-128, 127], got 255");
    f = ConvFixture();
    f.p.quant.output.params.zero_point = -200;
    ExpectError(f.Prepare(), "qlinear_conv_s8: output.zero_point must be in [-128, 127], got -200");
  }
  {
    ConvFixture f;
    f.p.quant.weight_scales = {0.1f, 0.2f};
    ExpectError(f.Prepare(),
                "qlinear_conv_s8: weight_scales has 2 entries, expected one per output channel (3) or 1 (per tensor)");
    f = ConvFixture();
    f.p.quant.weight_zero_points = {0, 0, 0, 0};
    ExpectError(f.Prepare(), "qlinear_conv_s8: weight_zero_points has 4 entries, expected one per output channel (3)");
    f = ConvFixture();
    f.p.shape.groups = 2;  // in_c 2, out_c 3
    ExpectError(f.Prepare(), "qlinear_conv_s8: conv2d: groups 2 must divide in_c 2 and out_c 3");
    f = ConvFixture();
    f.p.quant.output.act_min = 10, f.p.quant.output.act_max = 5;
    ExpectError(f.Prepare(), "qlinear_conv_s8: act_min 10 must not exceed act_max 5");
    f = ConvFixture();
    f.p.quant.output.params.scale = 1e-15f;  // m = 2e-4 / 1e-15 = 2e11 > 2^30: does not fit
    ExpectError(f.Prepare(), "qlinear_conv_s8: output channel 0 multiplier s_in * s_w / s_out = ");
    f = ConvFixture();
    ExpectError(qk::PrepareQLinearConvS8(f.p, nullptr, nullptr), "qlinear_conv_s8: weights are required (got null)");
  }
  {
    MatMulFixture f;
    f.p.shape.k = 0;
    ExpectError(f.Prepare(), "qlinear_matmul_s8: k must be positive, got 0");
    f = MatMulFixture();
    f.p.shape.batch = -1;
    ExpectError(f.Prepare(), "qlinear_matmul_s8: batch must be positive, got -1");
    f = MatMulFixture();
    f.p.quant.weight_scales = {1.0f, 1.0f, 1.0f};
    ExpectError(f.Prepare(), "qlinear_matmul_s8: weight_scales has 3 entries, expected one per column of B (5)");
    f = MatMulFixture();
    f.p.quant.weight_zero_points = {1, 2};
    ExpectError(f.Prepare(), "qlinear_matmul_s8: weight_zero_points has 2 entries, expected one per column of B (5)");
    f = MatMulFixture();
    f.p.quant.weight_scales = {0.0f};
    ExpectError(f.Prepare(), "qlinear_matmul_s8: weight_scales[0] must be positive and finite, got 0");
    f = MatMulFixture();
    f.p.shape = {65536, 65536, 2, 1, true};
    ExpectError(f.Prepare(), "qlinear_matmul_s8: a has 8589934592 elements, more than the supported 2147483647");
  }
}

TEST_CASE("qlinear prepare accumulator bound is exact at both ends of int32") {
  // w = -128 with zp_w = 127 gives w - zp_w = -255; x - zp_x with zp_x = -128
  // spans [0, 255]. With K = 33025, sum reaches -255 * 255 * 33025 =
  // -2147450625, 33023 above INT32_MIN: a bias of -33023 fits exactly, -33024
  // does not, and K = 33026 does not fit at all. Mirrored for +255 / INT32_MAX
  // (33022 above it). The kernel is then run at the limit with the input that
  // reaches it: the result must be the exact, unwrapped, saturated output.
  constexpr int kK = 33025;
  for (int sign : {-1, 1}) {
    qk::QLinearMatMulS8Params p;
    p.shape = {1, 2, kK, 1, false};
    p.quant.input = {1.0f, -128};
    p.quant.weight_scales = {1.0f};
    p.quant.weight_zero_points = {sign < 0 ? 127 : -128};
    p.quant.output.params = {1.0f, 0};
    p.quant.output.mode = RequantMode::kFloat;
    std::vector<std::int8_t> b(static_cast<std::size_t>(kK) + 1, static_cast<std::int8_t>(sign < 0 ? -128 : 127));
    const std::int32_t fits = sign < 0 ? -33023 : 33022, breaks = sign < 0 ? -33024 : 33023;
    auto ok = qk::PrepareQLinearMatMulS8(p, b.data(), &fits);
    INFO(ok.status().ToString());
    REQUIRE(ok.ok());
    ExpectError(qk::PrepareQLinearMatMulS8(p, b.data(), &breaks),
                "qlinear_matmul_s8: int32 accumulator can overflow in column of B 0: K = 33025");
    CHECK(qk::PrepareQLinearMatMulS8(p, b.data(), nullptr).ok());
    auto p1 = p;
    p1.shape.k = kK + 1;
    ExpectError(qk::PrepareQLinearMatMulS8(p1, b.data(), nullptr), "K = 33026");

    // Row 0 reaches the extreme (x = 127: x - zp_x = 255), row 1 gives 0 + bias.
    std::vector<std::int8_t> a(2 * static_cast<std::size_t>(kK), 127);
    std::fill(a.begin() + kK, a.end(), static_cast<std::int8_t>(-128));
    std::int8_t y[2] = {0, 0};
    qk::ref::qlinear_matmul_s8(*ok, a.data(), b.data(), &fits, y);
    CHECK(y[0] == (sign < 0 ? -128 : 127));  // the int32 extreme, saturated (not wrapped)
    CHECK(y[1] == (sign < 0 ? -128 : 127));  // bias alone, still beyond int8
    // With a scale that brings INT32_MIN / INT32_MAX into range the value is exact:
    // float(2^31 - 1) = 2^31, times 2^-24 = 128 -> clamped 127; -2^31 * 2^-24 = -128.
    auto p2 = p;
    p2.quant.output.params.scale = 16777216.0f;  // m = 2^-24
    auto ok2 = qk::PrepareQLinearMatMulS8(p2, b.data(), &fits);
    REQUIRE(ok2.ok());
    qk::ref::qlinear_matmul_s8(*ok2, a.data(), b.data(), &fits, y);
    CHECK(y[0] == (sign < 0 ? -128 : 127));
    CHECK(y[1] == 0);  // +-33022 * 2^-24 rounds to 0
  }
  // Symmetric weights at their worst (K * 255 * 127) are far from the limit;
  // the bound is per channel: only the channel that overflows is named.
  ConvFixture f;
  f.p.shape.in_h = f.p.shape.in_w = 200, f.p.shape.in_c = 40;
  f.p.shape.kernel_h = f.p.shape.kernel_w = 30;  // K = 36000 > 33025
  f.p.quant.input.zero_point = -128;
  f.p.quant.weight_zero_points = {0, 0, 0};
  f.w.assign(3 * static_cast<std::size_t>(36000), 127);
  CHECK(qk::PrepareQLinearConvS8(f.p, f.w.data(), nullptr).ok());  // 36000 * 127 * 255 < 2^31
  f.p.quant.weight_zero_points = {0, -128, 0};
  ExpectError(qk::PrepareQLinearConvS8(f.p, f.w.data(), nullptr),
              "qlinear_conv_s8: int32 accumulator can overflow in output channel 1: K = 36000");
}
