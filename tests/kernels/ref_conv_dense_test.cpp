// Reference conv2d and dense against independent double-precision oracles,
// finite-difference gradient checks, and the += contract of the backward.
#include <Eigen/Dense>

#include "kernels/test_util.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/dense.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

struct ConvCase {
  const char* name;
  qk::Conv2dParams p;
};

qk::Conv2dParams Conv(int batch, int h, int w, int ic, int oc, int kh, int kw, int sh, int sw, int dh, int dw,
                      int pt, int pl, int pb, int pr, int groups) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.in_c = ic, p.out_c = oc, p.kernel_h = kh, p.kernel_w = kw;
  p.stride_h = sh, p.stride_w = sw, p.dilation_h = dh, p.dilation_w = dw;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr, p.groups = groups;
  return p;
}

// Small shapes covering every feature of the op; each must Validate.
const std::vector<ConvCase>& ConvCases() {
  static const std::vector<ConvCase> cases = {
      {"3x3 pad 1", Conv(2, 5, 6, 3, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
      {"3x3 stride 2, asymmetric padding", Conv(2, 7, 7, 2, 3, 3, 3, 2, 2, 1, 1, 1, 0, 1, 2, 1)},
      {"3x3 dilation 2", Conv(1, 7, 6, 2, 3, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1)},
      {"groups 2", Conv(2, 5, 5, 4, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)},
      {"depthwise stride 2", Conv(1, 6, 7, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3)},
      {"1x1", Conv(2, 4, 3, 5, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
      {"5x3 stride (2,3) dilation (1,2) groups 3", Conv(1, 9, 8, 3, 6, 5, 3, 2, 3, 1, 2, 2, 1, 0, 1, 3)},
      {"kernel covers the input", Conv(2, 3, 3, 2, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
  };
  return cases;
}

struct ConvOracle {
  std::vector<double> y, dx, dw, db;
};

// Double precision, written differently from the reference: the input is
// explicitly zero-padded, each output pixel is an Eigen matrix-vector product
// of the group's weight matrix with the pixel's receptive field, and the
// backward scatters W^T dy into a padded dx that is cropped at the end.
ConvOracle OracleConv(const qk::Conv2dParams& p, const Vec& x, const Vec& w, const Vec& bias, const Vec& dy) {
  const int ph = p.in_h + p.pad_top + p.pad_bottom, pw = p.in_w + p.pad_left + p.pad_right;
  const int oh = p.out_h(), ow = p.out_w(), icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  const int K = p.kernel_h * p.kernel_w * icg;
  auto xp_at = [&](int n, int y, int xx, int c) {
    return ((static_cast<std::size_t>(n) * ph + y) * pw + xx) * p.in_c + c;
  };
  std::vector<double> xp(static_cast<std::size_t>(p.batch) * ph * pw * p.in_c, 0.0), dxp(xp.size(), 0.0);
  for (int n = 0; n < p.batch; ++n)
    for (int i = 0; i < p.in_h; ++i)
      for (int j = 0; j < p.in_w; ++j)
        for (int c = 0; c < p.in_c; ++c)
          xp[xp_at(n, i + p.pad_top, j + p.pad_left, c)] = x[((n * p.in_h + i) * p.in_w + j) * p.in_c + c];

  ConvOracle o;
  o.y.assign(static_cast<std::size_t>(p.batch) * oh * ow * p.out_c, 0.0);
  o.dw.assign(w.size(), 0.0);
  o.db.assign(p.out_c, 0.0);
  for (int g = 0; g < p.groups; ++g) {
    Eigen::MatrixXd W(ocg, K);
    for (int o_ = 0; o_ < ocg; ++o_)
      for (int k = 0; k < K; ++k) W(o_, k) = w[static_cast<std::size_t>(g * ocg + o_) * K + k];
    Eigen::MatrixXd dW = Eigen::MatrixXd::Zero(ocg, K);
    for (int n = 0; n < p.batch; ++n) {
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          Eigen::VectorXd patch(K), dyv(ocg);
          std::vector<std::size_t> where(K);
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx)
              for (int c = 0; c < icg; ++c) {
                const int k = (ky * p.kernel_w + kx) * icg + c;
                where[k] = xp_at(n, oy * p.stride_h + ky * p.dilation_h, ox * p.stride_w + kx * p.dilation_w,
                                 g * icg + c);
                patch[k] = xp[where[k]];
              }
          const std::size_t yat = ((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * p.out_c + g * ocg;
          const Eigen::VectorXd out = W * patch;
          for (int o_ = 0; o_ < ocg; ++o_) {
            o.y[yat + o_] = out[o_] + (bias.empty() ? 0.0 : bias[g * ocg + o_]);
            dyv[o_] = dy[yat + o_];
            o.db[g * ocg + o_] += dy[yat + o_];
          }
          dW += dyv * patch.transpose();
          const Eigen::VectorXd dpatch = W.transpose() * dyv;
          for (int k = 0; k < K; ++k) dxp[where[k]] += dpatch[k];
        }
      }
    }
    for (int o_ = 0; o_ < ocg; ++o_)
      for (int k = 0; k < K; ++k) o.dw[static_cast<std::size_t>(g * ocg + o_) * K + k] = dW(o_, k);
  }
  o.dx.assign(x.size(), 0.0);
  for (int n = 0; n < p.batch; ++n)
    for (int i = 0; i < p.in_h; ++i)
      for (int j = 0; j < p.in_w; ++j)
        for (int c = 0; c < p.in_c; ++c)
          o.dx[((n * p.in_h + i) * p.in_w + j) * p.in_c + c] = dxp[xp_at(n, i + p.pad_top, j + p.pad_left, c)];
  return o;
}

Vec ToFloat(const std::vector<double>& v) { return {v.begin(), v.end()}; }

struct ConvData {
  Vec x, w, b, dy;
};

ConvData MakeConvData(const qk::Conv2dParams& p, std::mt19937& rng) {
  const std::size_t xs = static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c;
  const std::size_t ws = static_cast<std::size_t>(p.out_c) * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
  const std::size_t ys = static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.out_c;
  return {Random(xs, rng), Random(ws, rng), Random(p.out_c, rng), Random(ys, rng)};
}

}  // namespace

TEST_CASE("ref conv2d forward and backward match a double-precision oracle") {
  std::mt19937 rng(11);
  for (const ConvCase& c : ConvCases()) {
    CAPTURE(c.name);
    const qk::Conv2dParams& p = c.p;
    REQUIRE(qk::Validate(p).ok());
    const ConvData d = MakeConvData(p, rng);
    const ConvOracle o = OracleConv(p, d.x, d.w, d.b, d.dy);
    // Magnitudes sum|terms| come from the oracle run on absolute values.
    const ConvOracle mag = OracleConv(p, Abs(d.x), Abs(d.w), Abs(d.b), Abs(d.dy));
    Vec y(o.y.size()), dx(d.x.size(), 0.0f), dw(d.w.size(), 0.0f), db(p.out_c, 0.0f);
    qk::ref::conv2d_f32(p, d.x.data(), d.w.data(), d.b.data(), y.data());
    qk::ref::conv2d_backward_f32(p, d.x.data(), d.w.data(), d.dy.data(), dx.data(), dw.data(), db.data());
    const int icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
    // Reference (float, sequential) vs exact: within k * eps * sum|terms|, k the reduction length.
    CheckWithinDotBound("y", y, o.y, ToFloat(mag.y), p.kernel_h * p.kernel_w * icg + 1, 1.0);
    CheckWithinDotBound("dx", dx, o.dx, ToFloat(mag.dx), p.kernel_h * p.kernel_w * ocg, 1.0);
    CheckWithinDotBound("dw", dw, o.dw, ToFloat(mag.dw), p.batch * p.out_h() * p.out_w(), 1.0);
    CheckWithinDotBound("db", db, o.db, ToFloat(mag.db), p.batch * p.out_h() * p.out_w(), 1.0);
    CHECK(MaxAbs(y) > 0.1);  // not a degenerate all-zero output
  }
}

TEST_CASE("ref conv2d: bias may be null") {
  std::mt19937 rng(3);
  const qk::Conv2dParams p = ConvCases()[1].p;
  const ConvData d = MakeConvData(p, rng);
  const ConvOracle o = OracleConv(p, d.x, d.w, {}, d.dy);
  const ConvOracle mag = OracleConv(p, Abs(d.x), Abs(d.w), {}, Abs(d.dy));
  Vec y(o.y.size());
  qk::ref::conv2d_f32(p, d.x.data(), d.w.data(), nullptr, y.data());
  CheckWithinDotBound("y", y, o.y, ToFloat(mag.y), 9 * p.in_c, 1.0);
}

// Central differences in double on the float kernel. The conv is linear in each
// argument, so the only error is float rounding of the few outputs a component
// touches: h = 1e-2, relative tolerance 2e-3.
TEST_CASE("ref conv2d backward matches finite differences") {
  std::mt19937 rng(5);
  for (const ConvCase& c : ConvCases()) {
    CAPTURE(c.name);
    const qk::Conv2dParams& p = c.p;
    ConvData d = MakeConvData(p, rng);
    Vec y(d.dy.size());
    auto loss = [&] {
      qk::ref::conv2d_f32(p, d.x.data(), d.w.data(), d.b.data(), y.data());
      return Dot(d.dy, y);
    };
    Vec dx(d.x.size(), 0.0f), dw(d.w.size(), 0.0f), db(d.b.size(), 0.0f);
    qk::ref::conv2d_backward_f32(p, d.x.data(), d.w.data(), d.dy.data(), dx.data(), dw.data(), db.data());
    CheckGradient("dx", d.x, dx, loss, 1e-2, 2e-3);
    CheckGradient("dw", d.w, dw, loss, 1e-2, 2e-3);
    CheckGradient("db", d.b, db, loss, 1e-2, 2e-3);
  }
}

TEST_CASE("ref conv2d backward accumulates (+=) and skips null gradients") {
  std::mt19937 rng(7);
  for (const ConvCase& c : ConvCases()) {
    CAPTURE(c.name);
    const qk::Conv2dParams& p = c.p;
    const ConvData d = MakeConvData(p, rng);
    const Vec px = Random(d.x.size(), rng), pw = Random(d.w.size(), rng), pb = Random(d.b.size(), rng);
    Vec dx0(d.x.size(), 0.0f), dw0(d.w.size(), 0.0f), db0(d.b.size(), 0.0f);
    Vec dx1 = px, dw1 = pw, db1 = pb;
    qk::ref::conv2d_backward_f32(p, d.x.data(), d.w.data(), d.dy.data(), dx0.data(), dw0.data(), db0.data());
    qk::ref::conv2d_backward_f32(p, d.x.data(), d.w.data(), d.dy.data(), dx1.data(), dw1.data(), db1.data());
    // Each gradient element is a sum from zero added once: bit-exact.
    CheckAccumulates("dx", px, dx1, dx0, true);
    CheckAccumulates("dw", pw, dw1, dw0, true);
    CheckAccumulates("db", pb, db1, db0, true);
    Vec only_dw(d.w.size(), 0.0f);
    qk::ref::conv2d_backward_f32(p, d.x.data(), d.w.data(), d.dy.data(), nullptr, only_dw.data(), nullptr);
    CHECK(SameBits(only_dw, dw0));
  }
}

TEST_CASE("ref dense matches an Eigen double oracle, finite differences and +=") {
  std::mt19937 rng(13);
  for (auto shape : {std::tuple{1, 1, 1}, {3, 7, 5}, {4, 31, 13}, {2, 64, 10}}) {
    // Plain variables, not a structured binding: clang 14 cannot capture one in CAPTURE.
    const int batch = std::get<0>(shape), in = std::get<1>(shape), out = std::get<2>(shape);
    CAPTURE(batch); CAPTURE(in); CAPTURE(out);
    qk::DenseParams p{batch, in, out};
    Vec x = Random(batch * in, rng), w = Random(out * in, rng), b = Random(out, rng), dy = Random(batch * out, rng);
    Eigen::MatrixXd X(batch, in), W(out, in), DY(batch, out);
    for (int i = 0; i < batch; ++i)
      for (int j = 0; j < in; ++j) X(i, j) = x[i * in + j];
    for (int i = 0; i < out; ++i)
      for (int j = 0; j < in; ++j) W(i, j) = w[i * in + j];
    for (int i = 0; i < batch; ++i)
      for (int j = 0; j < out; ++j) DY(i, j) = dy[i * out + j];
    const Eigen::MatrixXd Y = X * W.transpose(), DX = DY * W, DW = DY.transpose() * X;
    const Eigen::MatrixXd Ym = X.cwiseAbs() * W.cwiseAbs().transpose(), DXm = DY.cwiseAbs() * W.cwiseAbs(),
                          DWm = DY.cwiseAbs().transpose() * X.cwiseAbs();
    std::vector<double> y_want, dx_want, dw_want, db_want(out, 0.0);
    Vec y_mag, dx_mag, dw_mag, db_mag(out, 0.0f);
    for (int i = 0; i < batch; ++i)
      for (int j = 0; j < out; ++j) {
        y_want.push_back(Y(i, j) + b[j]);
        y_mag.push_back(static_cast<float>(Ym(i, j) + std::fabs(b[j])));
        db_want[j] += dy[i * out + j];
        db_mag[j] += std::fabs(dy[i * out + j]);
      }
    for (int i = 0; i < batch; ++i)
      for (int j = 0; j < in; ++j) dx_want.push_back(DX(i, j)), dx_mag.push_back(static_cast<float>(DXm(i, j)));
    for (int i = 0; i < out; ++i)
      for (int j = 0; j < in; ++j) dw_want.push_back(DW(i, j)), dw_mag.push_back(static_cast<float>(DWm(i, j)));

    Vec y(batch * out), dx(x.size(), 0.0f), dw(w.size(), 0.0f), db(out, 0.0f);
    qk::ref::dense_f32(p, x.data(), w.data(), b.data(), y.data());
    qk::ref::dense_backward_f32(p, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    CheckWithinDotBound("y", y, y_want, y_mag, in + 1, 1.0);
    CheckWithinDotBound("dx", dx, dx_want, dx_mag, out, 1.0);
    CheckWithinDotBound("dw", dw, dw_want, dw_mag, batch, 1.0);
    CheckWithinDotBound("db", db, db_want, db_mag, batch, 1.0);

    auto loss = [&] {
      qk::ref::dense_f32(p, x.data(), w.data(), b.data(), y.data());
      return Dot(dy, y);
    };
    CheckGradient("dx", x, dx, loss, 1e-2, 2e-3);
    CheckGradient("dw", w, dw, loss, 1e-2, 2e-3);
    CheckGradient("db", b, db, loss, 1e-2, 2e-3);

    const Vec px = Random(x.size(), rng), pw = Random(w.size(), rng), pb = Random(out, rng);
    Vec dx1 = px, dw1 = pw, db1 = pb;
    qk::ref::dense_backward_f32(p, x.data(), w.data(), dy.data(), dx1.data(), dw1.data(), db1.data());
    CheckAccumulates("dx", px, dx1, dx, true);
    CheckAccumulates("dw", pw, dw1, dw, true);
    CheckAccumulates("db", pb, db1, db, true);
  }
}

TEST_CASE("ref conv2d and dense are deterministic") {
  std::mt19937 rng(17);
  const qk::Conv2dParams p = ConvCases()[6].p;
  const ConvData d = MakeConvData(p, rng);
  Vec runs[2][4];
  for (auto& r : runs) {
    r[0].assign(d.dy.size(), 0.0f), r[1].assign(d.x.size(), 0.0f), r[2].assign(d.w.size(), 0.0f);
    r[3].assign(d.b.size(), 0.0f);
    qk::ref::conv2d_f32(p, d.x.data(), d.w.data(), d.b.data(), r[0].data());
    qk::ref::conv2d_backward_f32(p, d.x.data(), d.w.data(), d.dy.data(), r[1].data(), r[2].data(), r[3].data());
  }
  for (int i = 0; i < 4; ++i) CHECK(SameBits(runs[0][i], runs[1][i]));
}
