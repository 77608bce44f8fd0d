// Hybrid (dynamic-quantization) dense and conv2d (hybrid_quant.h), the per-sample
// quantization they share, and the Prepare step of every hybrid op.
//  1. bit-exact against the independent oracle of hybrid_test_util.h (own
//     range search, int64 accumulators in another order or through im2col, the
//     output expression typed out);
//  2. against the float references (ref::dense_f32 / conv2d_f32) on the
//     dequantized weights, within a bound derived from the quantization step:
//       |y - y_f| <= 0.5001 * s_x * sum|w_f| + 2 (K + 4) eps (sum|x w_f| + |b| + ...)
//     (every input is off by at most half a step of its sample, or by itself
//     for an all-zero / tiny sample; then float rounding). In the normal cases the bound must also be small next to the
//     outputs, so the check cannot pass vacuously;
//  3. batch independence: a sample alone and inside a batch of 7 with very
//     different neighbours gives the same bits (and the oracle shows that a
//     batch-wide range would not);
//  4. awkward shapes (1, primes, tails, groups, stride, dilation, asymmetric
//     padding) and degenerate samples (huge, FLT_MAX, all zero, tiny,
//     all negative, all positive, one spike, NaN, inf);
//  5. Prepare rejections (dense, conv2d, lstm, gru) with the field and value.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/hybrid_test_util.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/conv2d_hybrid.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/dense_hybrid.h"

using namespace hybrid_test;

namespace {

bool FloatCheckable(Kind k) { return k != Kind::kNaN && k != Kind::kInf && k != Kind::kFltMax; }

// ---------------------------------------------------------------------------
// Dense.
struct DenseRun {
  qk::DenseParams p;
  Vec x;
  QWeights qw;      // per row, or one scale (per-tensor) with rows = 1
  Vec bias;         // empty = null
  std::vector<Kind> kinds;  // per batch row

  float Sw(int o) const { return qw.scales.size() == 1 ? qw.scales[0] : qw.scales[static_cast<std::size_t>(o)]; }
  const float* B() const { return bias.empty() ? nullptr : bias.data(); }
};

DenseRun MakeDense(int batch, int in, int out, bool per_tensor, bool with_bias, std::vector<Kind> kinds,
                   unsigned seed) {
  std::mt19937 rng(seed);
  DenseRun r;
  r.p = {batch, in, out};
  kinds.resize(static_cast<std::size_t>(batch), Kind::kUniform);
  r.kinds = kinds;
  r.x.resize(static_cast<std::size_t>(batch) * in);
  for (int b = 0; b < batch; ++b) Fill(r.x.data() + static_cast<std::size_t>(b) * in, in, kinds[b], rng);
  const std::size_t rows = per_tensor ? 1 : static_cast<std::size_t>(out);
  const std::size_t k = static_cast<std::size_t>(in) * out / rows;
  r.qw = MakeWeights(rows, k, 0.5f, rng);
  if (with_bias) r.bias = RandomVec(static_cast<std::size_t>(out), rng, -0.5f, 0.5f);
  return r;
}

Vec RunDenseKernel(const DenseRun& r) {
  qk::DenseHybridParams hp{r.p, r.qw.scales};
  auto prep = qk::PrepareDenseHybrid(hp, r.qw.w.data());
  REQUIRE(prep.ok());
  Vec scratch = Scratch(qk::ref::dense_hybrid_scratch_bytes(r.p));
  Vec y(static_cast<std::size_t>(r.p.batch) * r.p.out_features, -7.0f);
  qk::ref::dense_hybrid(*prep, r.x.data(), r.qw.w.data(), r.B(), y.data(), scratch.data());
  return y;
}

// The oracle; per_batch = one range over the whole batch (what hybrid_quant.h does
// NOT do), to show that the batch-independence test can fail.
Vec DenseOracle(const DenseRun& r, bool per_batch = false) {
  const std::size_t in = static_cast<std::size_t>(r.p.in_features), out = static_cast<std::size_t>(r.p.out_features);
  Vec y(static_cast<std::size_t>(r.p.batch) * out);
  const OracleQuant whole = OracleQuantize(r.x.data(), r.x.size());
  for (std::size_t b = 0; b < static_cast<std::size_t>(r.p.batch); ++b) {
    OracleQuant oq = OracleQuantize(r.x.data() + b * in, in);
    if (per_batch) {
      oq = whole;
      oq.q = std::vector<int>(whole.q.begin() + static_cast<std::ptrdiff_t>(b * in),
                              whole.q.begin() + static_cast<std::ptrdiff_t>((b + 1) * in));
    }
    for (std::size_t o = 0; o < out; ++o) {
      float& v = y[b * out + o];
      if (!oq.finite) {
        v = kNaN;
        continue;
      }
      v = OracleProduct(OracleDot(r.qw.w.data() + o * in, oq.q, 0, in, oq.zp), oq.s, r.Sw(static_cast<int>(o)));
      if (!r.bias.empty()) v = v + r.bias[o];
    }
  }
  return y;
}

// Checks 1 and 2 (2 on the rows whose kind allows a float comparison).
Vec CheckDense(const std::string& what, const DenseRun& r, bool expect_tight) {
  INFO(what);
  const Vec y = RunDenseKernel(r);
  CheckBits(what + " vs oracle", y, DenseOracle(r));

  const qk::DenseParams& p = r.p;
  const std::size_t in = static_cast<std::size_t>(p.in_features), out = static_cast<std::size_t>(p.out_features);
  const Vec ones(r.x.size(), 1.0f), absw = AbsVec(r.qw.deq), absb = AbsVec(r.bias);
  Vec yf(y.size()), sumw(y.size()), mag(y.size());
  qk::ref::dense_f32(p, r.x.data(), r.qw.deq.data(), r.B(), yf.data());
  qk::ref::dense_f32(p, ones.data(), absw.data(), nullptr, sumw.data());
  const Vec absx = AbsVec(r.x);
  qk::ref::dense_f32(p, absx.data(), absw.data(), r.bias.empty() ? nullptr : absb.data(), mag.data());
  Vec got, want;
  std::vector<double> tol;
  double max_ref = 0;
  for (std::size_t b = 0; b < static_cast<std::size_t>(p.batch); ++b) {
    if (!FloatCheckable(r.kinds[b])) continue;
    const OracleQuant oq = OracleQuantize(r.x.data() + b * in, in);
    for (std::size_t o = 0; o < out; ++o) {
      const std::size_t i = b * out + o;
      const double qerr = oq.MaxError() * sumw[i] * (1 + 1e-6);
      got.push_back(y[i]);
      want.push_back(yf[i]);
      tol.push_back(qerr + 2.0 * (static_cast<double>(in) + 4) * kEps * (mag[i] + qerr) + 1e-37);
      max_ref = std::max(max_ref, std::fabs(static_cast<double>(yf[i])));
    }
  }
  const double max_tol = CheckWithin(what + " vs float reference", got, want, tol);
  if (expect_tight) {
    INFO(what << ": quantization bound " << max_tol << " vs max|y| " << max_ref);
    CHECK(max_tol <= 0.15 * max_ref);
  }
  return y;
}

// ---------------------------------------------------------------------------
// Conv2d.
struct ConvRun {
  qk::Conv2dParams p;
  Vec x;
  QWeights qw;
  Vec bias;
  std::vector<Kind> kinds;  // per image

  std::size_t K() const { return static_cast<std::size_t>(p.kernel_h) * p.kernel_w * (p.in_c / p.groups); }
  std::size_t Image() const { return static_cast<std::size_t>(p.in_h) * p.in_w * p.in_c; }
  std::size_t OutImage() const { return static_cast<std::size_t>(p.out_h()) * p.out_w() * p.out_c; }
  float Sw(std::size_t oc) const { return qw.scales.size() == 1 ? qw.scales[0] : qw.scales[oc]; }
  const float* B() const { return bias.empty() ? nullptr : bias.data(); }
};

ConvRun MakeConv(const qk::Conv2dParams& p, bool per_tensor, bool with_bias, std::vector<Kind> kinds, unsigned seed) {
  REQUIRE(qk::Validate(p).ok());
  std::mt19937 rng(seed);
  ConvRun r;
  r.p = p;
  kinds.resize(static_cast<std::size_t>(p.batch), Kind::kUniform);
  r.kinds = kinds;
  r.x.resize(static_cast<std::size_t>(p.batch) * r.Image());
  for (std::size_t n = 0; n < kinds.size(); ++n) Fill(r.x.data() + n * r.Image(), r.Image(), kinds[n], rng);
  const std::size_t rows = per_tensor ? 1 : static_cast<std::size_t>(p.out_c);
  r.qw = MakeWeights(rows, r.K() * p.out_c / rows, 0.5f, rng);
  if (with_bias) r.bias = RandomVec(static_cast<std::size_t>(p.out_c), rng, -0.5f, 0.5f);
  return r;
}

Vec RunConvKernel(const ConvRun& r) {
  qk::Conv2dHybridParams hp{r.p, r.qw.scales};
  auto prep = qk::PrepareConv2dHybrid(hp, r.qw.w.data());
  REQUIRE(prep.ok());
  Vec scratch = Scratch(qk::ref::conv2d_hybrid_scratch_bytes(r.p));
  Vec y(static_cast<std::size_t>(r.p.batch) * r.OutImage(), -7.0f);
  qk::ref::conv2d_hybrid(*prep, r.x.data(), r.qw.w.data(), r.B(), y.data(), scratch.data());
  return y;
}

// Oracle through im2col: the column holds the quantized value of each tap, or
// zp for a padding tap (real 0.0), then sum over k descending of w * (col - zp).
Vec ConvOracle(const ConvRun& r) {
  const qk::Conv2dParams& p = r.p;
  const int oh = p.out_h(), ow = p.out_w(), icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  const std::size_t K = r.K();
  Vec y(static_cast<std::size_t>(p.batch) * r.OutImage());
  for (int n = 0; n < p.batch; ++n) {
    const OracleQuant oq = OracleQuantize(r.x.data() + static_cast<std::size_t>(n) * r.Image(), r.Image());
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int oc = 0; oc < p.out_c; ++oc) {
          float& v = y[((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * p.out_c + oc];
          if (!oq.finite) {
            v = kNaN;
            continue;
          }
          const int g = oc / ocg;
          std::vector<int> col(K);
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx)
              for (int ci = 0; ci < icg; ++ci) {
                const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                const bool real = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
                const std::size_t k = (static_cast<std::size_t>(ky) * p.kernel_w + kx) * icg + ci;
                col[k] = real ? oq.q[(static_cast<std::size_t>(iy) * p.in_w + ix) * p.in_c + g * icg + ci] : oq.zp;
              }
          v = OracleProduct(OracleDot(r.qw.w.data() + static_cast<std::size_t>(oc) * K, col, 0, K, oq.zp), oq.s,
                            r.Sw(static_cast<std::size_t>(oc)));
          if (!r.bias.empty()) v = v + r.bias[static_cast<std::size_t>(oc)];
        }
  }
  return y;
}

std::string ConvName(const qk::Conv2dParams& p) {
  auto s = [](int v) { return std::to_string(v); };
  return "conv2d_hybrid n" + s(p.batch) + " in " + s(p.in_h) + "x" + s(p.in_w) + "x" + s(p.in_c) + " out_c " +
         s(p.out_c) + " k " + s(p.kernel_h) + "x" + s(p.kernel_w) + " s " + s(p.stride_h) + "/" + s(p.stride_w) +
         " d " + s(p.dilation_h) + "/" + s(p.dilation_w) + " pad " + s(p.pad_top) + "/" + s(p.pad_left) + "/" +
         s(p.pad_bottom) + "/" + s(p.pad_right) + " g " + s(p.groups);
}

Vec CheckConv(const std::string& what, const ConvRun& r, bool expect_tight) {
  INFO(what);
  const Vec y = RunConvKernel(r);
  CheckBits(what + " vs oracle", y, ConvOracle(r));

  const Vec ones(r.x.size(), 1.0f), absw = AbsVec(r.qw.deq), absb = AbsVec(r.bias), absx = AbsVec(r.x);
  Vec yf(y.size()), sumw(y.size()), mag(y.size());
  qk::ref::conv2d_f32(r.p, r.x.data(), r.qw.deq.data(), r.B(), yf.data());
  qk::ref::conv2d_f32(r.p, ones.data(), absw.data(), nullptr, sumw.data());  // sum|w| over the real taps
  qk::ref::conv2d_f32(r.p, absx.data(), absw.data(), r.bias.empty() ? nullptr : absb.data(), mag.data());
  Vec got, want;
  std::vector<double> tol;
  double max_ref = 0;
  for (std::size_t n = 0; n < static_cast<std::size_t>(r.p.batch); ++n) {
    if (!FloatCheckable(r.kinds[n])) continue;
    const OracleQuant oq = OracleQuantize(r.x.data() + n * r.Image(), r.Image());
    for (std::size_t j = 0; j < r.OutImage(); ++j) {
      const std::size_t i = n * r.OutImage() + j;
      const double qerr = oq.MaxError() * sumw[i] * (1 + 1e-6);
      got.push_back(y[i]);
      want.push_back(yf[i]);
      tol.push_back(qerr + 2.0 * (static_cast<double>(r.K()) + 4) * kEps * (mag[i] + qerr) + 1e-37);
      max_ref = std::max(max_ref, std::fabs(static_cast<double>(yf[i])));
    }
  }
  const double max_tol = CheckWithin(what + " vs float reference", got, want, tol);
  if (expect_tight) {
    INFO(what << ": quantization bound " << max_tol << " vs max|y| " << max_ref);
    CHECK(max_tol <= 0.15 * max_ref);
  }
  return y;
}

qk::Conv2dParams Conv(int n, int h, int w, int c, int oc, int kh, int kw) {
  qk::Conv2dParams p;
  p.batch = n, p.in_h = h, p.in_w = w, p.in_c = c, p.out_c = oc, p.kernel_h = kh, p.kernel_w = kw;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------
TEST_CASE("hybrid sample quantization follows the rules of hybrid_quant.h") {
  std::mt19937 rng(3);
  {
    // Ties, by hand: s = 1, zp = 0; ties go away from zero; +-127.5 clamp.
    const Vec x = {-127.5f, -2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 127.5f};
    const I8 want = {-128, -3, -2, -1, 1, 2, 3, 127};
    I8 q(x.size());
    const qk::DynamicQuant d = qk::QuantizeSampleDynamic(x.data(), static_cast<std::int64_t>(x.size()), q.data());
    CHECK(d.finite);
    CHECK(d.params.scale == 1.0f);
    CHECK(d.params.zero_point == 0);
    CHECK(q == want);
  }
  for (const Kind k : {Kind::kUniform, Kind::kPositive, Kind::kNegative, Kind::kZero, Kind::kHuge, Kind::kFltMax,
                       Kind::kTiny, Kind::kSpike, Kind::kNaN, Kind::kInf, Kind::kTies}) {
    for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{37}, std::size_t{256}}) {
      Vec x(n);
      Fill(x.data(), n, k, rng);
      if (k == Kind::kUniform && n > 2) x[1] = 0.0f;  // an exact zero must map to zp
      INFO("kind " << static_cast<int>(k) << " n " << n);
      I8 q(n, 99);
      const qk::DynamicQuant d = qk::QuantizeSampleDynamic(x.data(), static_cast<std::int64_t>(n), q.data());
      const OracleQuant o = OracleQuantize(x.data(), n);
      REQUIRE(d.finite == o.finite);
      CHECK(d.finite == (k != Kind::kNaN && k != Kind::kInf));
      if (!d.finite) continue;
      CHECK(d.params.scale == o.s);
      CHECK(d.params.zero_point == o.zp);
      int qmin = 127, qmax = -128;
      for (std::size_t i = 0; i < n; ++i) {
        CHECK(q[i] == o.q[i]);
        qmin = std::min<int>(qmin, q[i]), qmax = std::max<int>(qmax, q[i]);
        if (x[i] == 0.0f) CHECK(q[i] == d.params.zero_point);
      }
      if (k == Kind::kZero || k == Kind::kTiny) {  // zero or tiny range: (1, 0), all q = 0
        CHECK(d.params.scale == 1.0f);
        CHECK(d.params.zero_point == 0);
        CHECK(qmin == 0);
        CHECK(qmax == 0);
        continue;
      }
      // Every value within half a step (plus float slack) of its grid point.
      const double s = d.params.scale;
      for (std::size_t i = 0; i < n; ++i) {
        const double err = std::fabs(s * (q[i] - d.params.zero_point) - static_cast<double>(x[i]));
        CHECK(err <= kQuantErrUnits * s);
      }
      if (k == Kind::kNegative) CHECK(d.params.zero_point == 127);   // rmax = 0
      if (k == Kind::kPositive) CHECK(d.params.zero_point == -128);  // rmin = 0
      // The sample's extremes use the ends of the int8 grid.
      CHECK((qmax >= 126 || d.params.zero_point == 127));
      CHECK((qmin <= -127 || d.params.zero_point == -128));
    }
  }
}

TEST_CASE("hybrid dense against the oracle and the float reference on awkward shapes") {
  unsigned seed = 10;
  for (const int in : {1, 2, 3, 7, 13, 16, 31, 64, 65, 127})
    for (const int out : {1, 2, 5, 17})
      for (const int batch : {1, 3}) {
        const bool per_tensor = (in + out) % 3 == 0, bias = (in + out) % 2 == 0;
        const DenseRun r = MakeDense(batch, in, out, per_tensor, bias, {}, ++seed);
        CheckDense("dense_hybrid b" + std::to_string(batch) + " in " + std::to_string(in) + " out " +
                       std::to_string(out) + (per_tensor ? " per-tensor" : "") + (bias ? "" : " no-bias"),
                   r, /*expect_tight=*/in >= 7 && batch * out >= 5);
      }
}

TEST_CASE("hybrid dense saturating and degenerate rows") {
  const std::vector<Kind> kinds = {Kind::kHuge,  Kind::kFltMax, Kind::kZero, Kind::kTiny, Kind::kNegative,
                                   Kind::kPositive, Kind::kSpike, Kind::kNaN, Kind::kInf, Kind::kUniform, Kind::kTies};
  for (const bool bias : {true, false}) {
    const DenseRun r = MakeDense(static_cast<int>(kinds.size()), 23, 6, false, bias, kinds, 77);
    const Vec y = CheckDense(std::string("dense_hybrid degenerate rows") + (bias ? "" : " no-bias"), r, false);
    for (std::size_t b = 0; b < kinds.size(); ++b) {
      for (std::size_t o = 0; o < 6; ++o) {
        const float v = y[b * 6 + o];
        INFO("row " << b << " kind " << static_cast<int>(kinds[b]) << " output " << o << " = " << v);
        switch (kinds[b]) {
          case Kind::kZero:
          case Kind::kTiny:  // exactly the bias (or +0.0): the product is exactly 0
            CHECK(v == (bias ? r.bias[o] : 0.0f));
            CHECK(!std::signbit(bias ? v - r.bias[o] : v));
            break;
          case Kind::kNaN:
          case Kind::kInf: CHECK(std::isnan(v)); break;
          case Kind::kFltMax: CHECK(!std::isnan(v)); break;  // may overflow to +-inf, never NaN
          default: CHECK(std::isfinite(v));
        }
      }
    }
  }
}

TEST_CASE("hybrid dense sample results do not depend on the batch") {
  const int in = 29, out = 9;
  const DenseRun alone = MakeDense(1, in, out, false, true, {Kind::kUniform}, 5);
  DenseRun batch = MakeDense(7, in, out, false, true,
                             {Kind::kHuge, Kind::kZero, Kind::kSpike, Kind::kUniform, Kind::kNegative, Kind::kNaN,
                              Kind::kUniform},
                             6);
  batch.qw = alone.qw, batch.bias = alone.bias;
  for (int i = 0; i < in; ++i) batch.x[static_cast<std::size_t>(3 * in + i)] = alone.x[static_cast<std::size_t>(i)];
  const Vec y1 = CheckDense("dense_hybrid alone", alone, true);
  const Vec y7 = CheckDense("dense_hybrid in a batch of 7", batch, false);
  CheckBits("dense_hybrid sample 3 of 7 vs alone", Vec(y7.begin() + 3 * out, y7.begin() + 4 * out), y1);
  // The check has teeth: with one range for the whole batch (finite rows only)
  // the sample's outputs would change.
  DenseRun finite_batch = batch;
  finite_batch.x.erase(finite_batch.x.begin() + 5 * in, finite_batch.x.begin() + 6 * in);
  finite_batch.p.batch = 6;
  const Vec yb = DenseOracle(finite_batch, /*per_batch=*/true);
  CHECK(!std::equal(yb.begin() + 3 * out, yb.begin() + 4 * out, y1.begin()));
}

TEST_CASE("hybrid conv2d against the oracle and the float reference on awkward shapes") {
  std::vector<qk::Conv2dParams> shapes;
  shapes.push_back(Conv(1, 1, 1, 1, 1, 1, 1));
  shapes.push_back(Conv(2, 7, 5, 3, 5, 3, 3));
  shapes.back().pad_top = shapes.back().pad_left = shapes.back().pad_bottom = shapes.back().pad_right = 1;
  {
    qk::Conv2dParams p = Conv(1, 11, 13, 3, 7, 3, 2);  // primes, asymmetric padding, stride 2, dilation 2
    p.stride_h = 2, p.stride_w = 3, p.dilation_h = 2, p.pad_top = 1, p.pad_left = 0, p.pad_bottom = 2, p.pad_right = 1;
    shapes.push_back(p);
  }
  {
    qk::Conv2dParams p = Conv(2, 6, 6, 4, 6, 3, 3);  // groups 2
    p.groups = 2, p.pad_top = p.pad_left = 2;
    shapes.push_back(p);
  }
  {
    qk::Conv2dParams p = Conv(1, 5, 9, 5, 5, 3, 3);  // depthwise
    p.groups = 5, p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1, p.dilation_w = 3;
    shapes.push_back(p);
  }
  {
    qk::Conv2dParams p = Conv(1, 4, 4, 5, 10, 2, 2);  // depthwise, channel multiplier 2, stride 2
    p.groups = 5, p.stride_h = p.stride_w = 2;
    shapes.push_back(p);
  }
  {
    qk::Conv2dParams p = Conv(3, 3, 2, 2, 3, 5, 4);  // kernel larger than the input: mostly padding
    p.pad_top = p.pad_bottom = 1, p.pad_left = 1, p.pad_right = 1;
    shapes.push_back(p);
  }
  shapes.push_back(Conv(1, 8, 8, 16, 17, 1, 1));  // 1x1, channel tail
  {
    qk::Conv2dParams p = Conv(1, 9, 7, 31, 3, 5, 1);  // 5x1, K = 155
    p.stride_h = 2, p.dilation_w = 1, p.pad_top = 2, p.pad_bottom = 2;
    shapes.push_back(p);
  }
  unsigned seed = 100;
  for (const qk::Conv2dParams& p : shapes)
    for (const bool per_tensor : {false, true}) {
      const bool bias = seed % 2 == 0;
      const ConvRun r = MakeConv(p, per_tensor, bias, {}, ++seed);
      CheckConv(ConvName(p) + (per_tensor ? " per-tensor" : "") + (bias ? "" : " no-bias"), r,
                /*expect_tight=*/r.K() >= 9);
    }
}

TEST_CASE("hybrid conv2d saturating and degenerate images") {
  const std::vector<Kind> kinds = {Kind::kHuge,  Kind::kFltMax, Kind::kZero, Kind::kTiny, Kind::kNegative,
                                   Kind::kPositive, Kind::kSpike, Kind::kNaN, Kind::kInf, Kind::kTies};
  qk::Conv2dParams p = Conv(static_cast<int>(kinds.size()), 5, 6, 4, 6, 3, 3);
  p.groups = 2, p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  const ConvRun r = MakeConv(p, false, true, kinds, 8);
  const Vec y = CheckConv("conv2d_hybrid degenerate images", r, false);
  for (std::size_t n = 0; n < kinds.size(); ++n) {
    for (std::size_t j = 0; j < r.OutImage(); ++j) {
      const float v = y[n * r.OutImage() + j];
      INFO("image " << n << " kind " << static_cast<int>(kinds[n]) << " element " << j << " = " << v);
      if (kinds[n] == Kind::kZero || kinds[n] == Kind::kTiny) CHECK(v == r.bias[j % static_cast<std::size_t>(p.out_c)]);
      else if (kinds[n] == Kind::kNaN || kinds[n] == Kind::kInf) CHECK(std::isnan(v));
      else if (kinds[n] == Kind::kFltMax) CHECK(!std::isnan(v));  // may overflow to +-inf
      else CHECK(std::isfinite(v));
    }
  }
}

TEST_CASE("hybrid conv2d image results do not depend on the batch") {
  qk::Conv2dParams p1 = Conv(1, 6, 5, 3, 4, 3, 3);
  p1.pad_top = p1.pad_left = p1.pad_bottom = p1.pad_right = 1;
  qk::Conv2dParams p7 = p1;
  p7.batch = 7;
  const ConvRun alone = MakeConv(p1, false, true, {Kind::kPositive}, 21);
  ConvRun batch = MakeConv(p7, false, true,
                           {Kind::kHuge, Kind::kUniform, Kind::kZero, Kind::kUniform, Kind::kNaN, Kind::kSpike,
                            Kind::kNegative},
                           22);
  batch.qw = alone.qw, batch.bias = alone.bias;
  std::copy(alone.x.begin(), alone.x.end(), batch.x.begin() + static_cast<std::ptrdiff_t>(3 * alone.Image()));
  const Vec y1 = CheckConv("conv2d_hybrid alone", alone, true);
  const Vec y7 = CheckConv("conv2d_hybrid in a batch of 7", batch, false);
  const auto at = static_cast<std::ptrdiff_t>(3 * alone.OutImage());
  CheckBits("conv2d_hybrid image 3 of 7 vs alone", Vec(y7.begin() + at, y7.begin() + at + static_cast<std::ptrdiff_t>(y1.size())), y1);
}

// ---------------------------------------------------------------------------
// Prepare.
TEST_CASE("hybrid dense prepare rejects bad parameters with the field and value") {
  const DenseRun base = MakeDense(2, 5, 3, false, true, {}, 1);
  auto prep = [](const qk::DenseParams& p, std::vector<float> s, const I8& w) {
    return qk::PrepareDenseHybrid({p, std::move(s)}, w.data());
  };
  {
    auto r = prep(base.p, base.qw.scales, base.qw.w);
    REQUIRE(r.ok());
    CHECK(r->weight_scales == base.qw.scales);
    auto one = prep(base.p, {0.25f}, base.qw.w);  // broadcast
    REQUIRE(one.ok());
    CHECK(one->weight_scales == std::vector<float>(3, 0.25f));
  }
  ExpectError(prep(base.p, {0.1f, 0.0f, 0.1f}, base.qw.w), "dense_hybrid: weight_scales[1] must be positive and finite, got 0");
  ExpectError(prep(base.p, {0.1f, 0.1f, kNaN}, base.qw.w), "dense_hybrid: weight_scales[2] must be positive and finite, got nan");
  ExpectError(prep(base.p, {-0.5f}, base.qw.w), "dense_hybrid: weight_scales[0] must be positive and finite, got -0.5");
  ExpectError(prep(base.p, {std::numeric_limits<float>::infinity()}, base.qw.w), "got inf");
  ExpectError(prep(base.p, {0.1f, 0.1f}, base.qw.w),
              "dense_hybrid: weight_scales has 2 entries, expected one per output channel (3) or 1 (broadcast)");
  ExpectError(prep(base.p, {}, base.qw.w), "dense_hybrid: weight_scales has 0 entries");
  {
    I8 w = base.qw.w;
    w[11] = -128;
    ExpectError(prep(base.p, base.qw.scales, w),
                "dense_hybrid: weight[11] = -128 is outside the narrow symmetric range [-127, 127] (in weights)");
  }
  ExpectError(qk::PrepareDenseHybrid({base.p, base.qw.scales}, nullptr), "dense_hybrid: weights are required (got null)");
  {
    qk::DenseParams p = base.p;
    p.batch = 0;
    ExpectError(prep(p, base.qw.scales, base.qw.w), "dense_hybrid: dense: batch must be positive, got 0");
  }
  {
    // K * 255 * 127 < 2^31 holds up to K = 66311.
    const I8 w(66312, 1);
    ExpectError(prep({1, 66312, 1}, {0.1f}, w), "dense_hybrid: int32 accumulator of the product (K = in_features) "
                                                 "can overflow: K = 66312, K * 255 * 127 = 2147514120 >= 2^31");
    CHECK(prep({1, 66311, 1}, {0.1f}, w).ok());
  }
}

TEST_CASE("hybrid conv2d prepare rejects bad parameters with the field and value") {
  qk::Conv2dParams p = Conv(1, 5, 5, 4, 6, 3, 3);
  p.groups = 2;
  const I8 w(6 * 3 * 3 * 2, 5);
  auto prep = [](const qk::Conv2dParams& pp, std::vector<float> s, const I8& ww) {
    return qk::PrepareConv2dHybrid({pp, std::move(s)}, ww.data());
  };
  REQUIRE(prep(p, std::vector<float>(6, 0.1f), w).ok());
  REQUIRE(prep(p, {0.1f}, w).ok());
  ExpectError(prep(p, std::vector<float>(4, 0.1f), w),
              "conv2d_hybrid: weight_scales has 4 entries, expected one per output channel (6) or 1 (broadcast)");
  {
    std::vector<float> s(6, 0.1f);
    s[5] = 0.0f;
    ExpectError(prep(p, s, w), "conv2d_hybrid: weight_scales[5] must be positive and finite, got 0");
    s[5] = kNaN;
    ExpectError(prep(p, s, w), "conv2d_hybrid: weight_scales[5] must be positive and finite, got nan");
  }
  {
    I8 bad = w;
    bad.back() = -128;
    ExpectError(prep(p, {0.1f}, bad), "conv2d_hybrid: weight[107] = -128 is outside the narrow symmetric range");
  }
  {
    qk::Conv2dParams q = p;
    q.groups = 3;
    ExpectError(prep(q, {0.1f}, w), "conv2d_hybrid: conv2d: groups 3 must divide in_c 4 and out_c 6");
    q = p;
    q.kernel_h = 7;
    ExpectError(prep(q, {0.1f}, w), "conv2d_hybrid: conv2d: kernel 7x3");
  }
  {
    qk::Conv2dParams q = Conv(1, 3, 3, 7368, 1, 3, 3);  // K = 66312
    const I8 big(66312, 1);
    ExpectError(prep(q, {0.1f}, big), "conv2d_hybrid: int32 accumulator of the product (K = kernel_h * kernel_w * "
                                      "in_c / groups) can overflow: K = 66312");
    q.groups = 2, q.out_c = 2;  // K halves
    const I8 two(2 * 33156, 1);
    CHECK(prep(q, {0.1f}, two).ok());
  }
}

TEST_CASE("hybrid lstm and gru prepare reject bad parameters with the field and value") {
  const qk::RnnParams shape{2, 3, 5, 4};
  for (const int gates : {4, 3}) {
    const std::string op = gates == 4 ? "lstm_hybrid: " : "gru_hybrid: ";
    const std::size_t rows = static_cast<std::size_t>(gates) * 4;
    I8 wx(rows * 5, 3), wh(rows * 4, -3);
    auto prep = [&](const qk::RnnParams& s, std::vector<float> sx, std::vector<float> sh, const std::int8_t* px,
                    const std::int8_t* ph) -> qualm::Result<qk::PreparedRnnHybrid> {
      const qk::RnnHybridParams hp{s, std::move(sx), std::move(sh)};
      if (gates == 4) return qk::PrepareLstmHybrid(hp, {px, ph, nullptr});
      return qk::PrepareGruHybrid(hp, {px, ph, nullptr, nullptr});
    };
    const std::vector<float> per_row(rows, 0.02f);
    {
      auto r = prep(shape, per_row, {0.5f}, wx.data(), wh.data());
      REQUIRE(r.ok());
      CHECK(r->gates == gates);
      CHECK(r->w_h_scales == std::vector<float>(rows, 0.5f));
    }
    ExpectError(prep(shape, std::vector<float>(static_cast<std::size_t>(gates), 0.1f), {0.1f}, wx.data(), wh.data()),
                op + "w_x_scales has " + std::to_string(gates) + " entries, expected one per gate row (" +
                    std::to_string(rows) + ") or 1 (broadcast)");
    {
      std::vector<float> s = per_row;
      s[rows - 1] = 0.0f;
      ExpectError(prep(shape, {0.1f}, s, wx.data(), wh.data()),
                  op + "w_h_scales[" + std::to_string(rows - 1) + "] must be positive and finite, got 0");
    }
    ExpectError(prep(shape, {kNaN}, {0.1f}, wx.data(), wh.data()), op + "w_x_scales[0] must be positive and finite, got nan");
    {
      I8 bad = wx;
      bad[7] = -128;
      ExpectError(prep(shape, {0.1f}, {0.1f}, bad.data(), wh.data()),
                  op + "weight[7] = -128 is outside the narrow symmetric range [-127, 127] (in w_x)");
      bad = wh;
      bad[2] = -128;
      ExpectError(prep(shape, {0.1f}, {0.1f}, wx.data(), bad.data()), op + "weight[2] = -128 is outside the narrow symmetric range [-127, 127] (in w_h)");
    }
    ExpectError(prep(shape, {0.1f}, {0.1f}, wx.data(), nullptr), op + "w_h are required (got null)");
    {
      qk::RnnParams s = shape;
      s.hidden_size = 0;
      ExpectError(prep(s, {0.1f}, {0.1f}, wx.data(), wh.data()), op + "rnn: hidden_size must be positive, got 0");
    }
    {
      const qk::RnnParams s{1, 1, 66312, 1};
      const I8 big(static_cast<std::size_t>(gates) * 66312, 1), h1(static_cast<std::size_t>(gates), 1);
      ExpectError(prep(s, {0.1f}, {0.1f}, big.data(), h1.data()),
                  op + "int32 accumulator of w_x (K = input_size) can overflow: K = 66312");
      const qk::RnnParams s2{1, 1, 66311, 1};
      CHECK(prep(s2, {0.1f}, {0.1f}, big.data(), h1.data()).ok());
    }
  }
}
