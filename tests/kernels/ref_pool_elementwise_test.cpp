// Reference pooling and elementwise kernels against double-precision oracles,
// finite differences and the += contract.
#include <numeric>

#include "kernels/test_util.h"
#include "qualm/kernels/elementwise.h"
#include "qualm/kernels/pool.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

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
      Pool(1, 7, 7, 2, 3, 3, 2, 2, 1, 1, 1, 1, false),   // ResNet stem style
      Pool(2, 5, 7, 3, 3, 2, 1, 2, 1, 0, 0, 1, false),   // asymmetric
      Pool(2, 5, 7, 3, 3, 2, 1, 2, 1, 0, 0, 1, true),    // count_include_pad
      Pool(1, 3, 3, 1, 3, 3, 1, 1, 0, 0, 0, 0, false),   // one window
  };
}

// Double oracle over an explicitly padded input: padding is -inf for max and a
// masked zero for average.
std::vector<double> OraclePool(const qk::Pool2dParams& p, const Vec& x, bool max) {
  const int ph = p.in_h + p.pad_top + p.pad_bottom, pw = p.in_w + p.pad_left + p.pad_right;
  const int oh = p.out_h(), ow = p.out_w(), C = p.channels;
  std::vector<double> xp(static_cast<std::size_t>(p.batch) * ph * pw * C, 0.0);
  std::vector<char> real(xp.size(), 0);
  for (int n = 0; n < p.batch; ++n)
    for (int i = 0; i < p.in_h; ++i)
      for (int j = 0; j < p.in_w; ++j)
        for (int c = 0; c < C; ++c) {
          const std::size_t at = ((static_cast<std::size_t>(n) * ph + i + p.pad_top) * pw + j + p.pad_left) * C + c;
          xp[at] = x[((n * p.in_h + i) * p.in_w + j) * C + c];
          real[at] = 1;
        }
  std::vector<double> y;
  for (int n = 0; n < p.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int c = 0; c < C; ++c) {
          double best = -INFINITY, sum = 0, count = 0;
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx) {
              const std::size_t at =
                  ((static_cast<std::size_t>(n) * ph + oy * p.stride_h + ky) * pw + ox * p.stride_w + kx) * C + c;
              if (real[at]) best = std::max(best, xp[at]), sum += xp[at], count += 1;
            }
          if (p.count_include_pad) count = p.kernel_h * p.kernel_w;
          y.push_back(max ? best : sum / count);
        }
  return y;
}

std::size_t InSize(const qk::Pool2dParams& p) {
  return static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.channels;
}
std::size_t OutSize(const qk::Pool2dParams& p) {
  return static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.channels;
}

// Distinct values 0.05 apart in random order: no ties, and a +-1e-2 step never
// changes which element wins, so max pooling is differentiable there.
Vec SpacedValues(std::size_t n, std::mt19937& rng) {
  std::vector<int> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  Vec v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = 0.05f * static_cast<float>(perm[i]) - 0.025f * static_cast<float>(n);
  return v;
}

}  // namespace

TEST_CASE("ref max and average pooling match a double oracle") {
  std::mt19937 rng(21);
  for (const auto& p : PoolCases()) {
    CAPTURE(p.count_include_pad); CAPTURE(p.kernel_h); CAPTURE(p.in_h);
    REQUIRE(qk::Validate(p).ok());
    const Vec x = Random(InSize(p), rng);
    Vec y(OutSize(p));
    qk::ref::max_pool2d_f32(p, x.data(), y.data());
    CheckNormalized("max", y, OraclePool(p, x, true), 0.0);  // a max is exact
    qk::ref::avg_pool2d_f32(p, x.data(), y.data());
    // A sum of at most 9 terms and one division: a few ulps of the value range.
    CheckNormalized("avg", y, OraclePool(p, x, false), 1e-6);
  }
}

TEST_CASE("ref max pooling: ties go to the first maximum") {
  const qk::Pool2dParams p = Pool(1, 2, 2, 1, 2, 2, 1, 1, 0, 0, 0, 0, false);
  const Vec x = {1.0f, 3.0f, 3.0f, 2.0f};
  Vec y(1), dx(4, 0.0f);
  const Vec dy = {1.0f};
  qk::ref::max_pool2d_f32(p, x.data(), y.data());
  qk::ref::max_pool2d_backward_f32(p, x.data(), dy.data(), dx.data());
  CHECK(y[0] == 3.0f);
  CHECK(dx == Vec{0.0f, 1.0f, 0.0f, 0.0f});
}

// Pooling is piecewise linear: h = 1e-2, relative tolerance 2e-3.
TEST_CASE("ref pooling backward matches finite differences and accumulates") {
  std::mt19937 rng(23);
  for (const auto& p : PoolCases()) {
    CAPTURE(p.count_include_pad); CAPTURE(p.kernel_h); CAPTURE(p.in_h);
    Vec x = SpacedValues(InSize(p), rng);
    const Vec dy = Random(OutSize(p), rng);
    Vec y(OutSize(p));
    Vec dmax(x.size(), 0.0f), davg(x.size(), 0.0f);
    qk::ref::max_pool2d_backward_f32(p, x.data(), dy.data(), dmax.data());
    qk::ref::avg_pool2d_backward_f32(p, dy.data(), davg.data());
    CheckGradient("max", x, dmax, [&] { qk::ref::max_pool2d_f32(p, x.data(), y.data()); return Dot(dy, y); },
                  1e-2, 2e-3);
    CheckGradient("avg", x, davg, [&] { qk::ref::avg_pool2d_f32(p, x.data(), y.data()); return Dot(dy, y); },
                  1e-2, 2e-3);
    const Vec pre = Random(x.size(), rng);
    Vec m1 = pre, a1 = pre;
    qk::ref::max_pool2d_backward_f32(p, x.data(), dy.data(), m1.data());
    qk::ref::avg_pool2d_backward_f32(p, dy.data(), a1.data());
    CheckAccumulates("max", pre, m1, dmax, false);
    CheckAccumulates("avg", pre, a1, davg, false);
  }
}

TEST_CASE("ref global average pooling: oracle, finite differences, +=") {
  std::mt19937 rng(29);
  const qk::GlobalPoolParams p{3, 49, 5};
  Vec x = Random(3 * 49 * 5, rng);
  const Vec dy = Random(15, rng);
  Vec y(15);
  qk::ref::global_avg_pool_f32(p, x.data(), y.data());
  std::vector<double> want(15, 0.0);
  for (int n = 0; n < 3; ++n)
    for (int s = 0; s < 49; ++s)
      for (int c = 0; c < 5; ++c) want[n * 5 + c] += x[(n * 49 + s) * 5 + c] / 49.0;
  CheckNormalized("y", y, want, 49 * kEpsF);
  Vec dx(x.size(), 0.0f);
  qk::ref::global_avg_pool_backward_f32(p, dy.data(), dx.data());
  CheckGradient("dx", x, dx, [&] { qk::ref::global_avg_pool_f32(p, x.data(), y.data()); return Dot(dy, y); }, 1e-2,
                2e-3);
  const Vec pre = Random(x.size(), rng);
  Vec dx1 = pre;
  qk::ref::global_avg_pool_backward_f32(p, dy.data(), dx1.data());
  CheckAccumulates("dx", pre, dx1, dx, true);
}

TEST_CASE("ref relu and relu6: values, finite differences away from the kinks, +=") {
  std::mt19937 rng(31);
  const std::size_t n = 257;
  Vec x = Random(n, rng, -8.0f, 8.0f);
  for (float& v : x)  // keep 0.05 away from the kinks at 0 and 6
    if (std::fabs(v) < 0.05f || std::fabs(v - 6.0f) < 0.05f) v += 0.2f;
  const Vec dy = Random(n, rng);
  Vec y(n), dx(n, 0.0f), dx6(n, 0.0f);
  qk::ref::relu_f32(n, x.data(), y.data());
  for (std::size_t i = 0; i < n; ++i) CHECK(y[i] == std::max(x[i], 0.0f));
  qk::ref::relu6_f32(n, x.data(), y.data());
  for (std::size_t i = 0; i < n; ++i) CHECK(y[i] == std::min(std::max(x[i], 0.0f), 6.0f));
  qk::ref::relu_backward_f32(n, x.data(), dy.data(), dx.data());
  qk::ref::relu6_backward_f32(n, x.data(), dy.data(), dx6.data());
  CheckGradient("relu", x, dx, [&] { qk::ref::relu_f32(n, x.data(), y.data()); return Dot(dy, y); }, 1e-2, 2e-3);
  CheckGradient("relu6", x, dx6, [&] { qk::ref::relu6_f32(n, x.data(), y.data()); return Dot(dy, y); }, 1e-2,
                2e-3);
  const Vec pre = Random(n, rng);
  Vec a = pre, b = pre;
  qk::ref::relu_backward_f32(n, x.data(), dy.data(), a.data());
  qk::ref::relu6_backward_f32(n, x.data(), dy.data(), b.data());
  CheckAccumulates("relu", pre, a, dx, true);
  CheckAccumulates("relu6", pre, b, dx6, true);
}

TEST_CASE("ref add, accumulate and dropout") {
  std::mt19937 rng(37);
  const std::size_t n = 101;
  const Vec a = Random(n, rng), b = Random(n, rng);
  Vec y(n);
  qk::ref::add_f32(n, a.data(), b.data(), y.data());
  for (std::size_t i = 0; i < n; ++i) CHECK(y[i] == a[i] + b[i]);
  Vec acc = a;
  qk::ref::accumulate_f32(n, b.data(), acc.data());
  CHECK(SameBits(acc, y));

  std::vector<std::uint8_t> mask(n);
  for (std::size_t i = 0; i < n; ++i) mask[i] = (rng() % 3) != 0;
  const float scale = 1.0f / (1.0f - 0.3f);
  qk::ref::dropout_apply_f32(n, a.data(), mask.data(), scale, y.data());
  const Vec pre = Random(n, rng);
  Vec dx = pre;
  qk::ref::dropout_backward_f32(n, b.data(), mask.data(), scale, dx.data());
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(y[i] == (mask[i] ? a[i] * scale : 0.0f));
    CHECK(dx[i] == pre[i] + (mask[i] ? b[i] * scale : 0.0f));
    kept += mask[i];
  }
  CHECK(kept > 0);
  CHECK(kept < n);
}
