// Reference batchnorm, softmax family and embedding against double-precision
// math, finite differences and the += contract.
#include "kernels/test_util.h"
#include "qualm/kernels/batchnorm.h"
#include "qualm/kernels/embedding.h"
#include "qualm/kernels/softmax.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

struct BnOracle {
  std::vector<double> y, mean, invstd, running_mean, running_var;
};

BnOracle OracleBn(const qk::BatchNormParams& p, const Vec& x, const Vec& gamma, const Vec& beta, const Vec& rm,
                  const Vec& rv) {
  BnOracle o;
  const int R = p.rows, C = p.channels;
  o.y.resize(static_cast<std::size_t>(R) * C);
  for (int c = 0; c < C; ++c) {
    double mean = 0, sq = 0;
    for (int r = 0; r < R; ++r) mean += x[r * C + c];
    mean /= R;
    for (int r = 0; r < R; ++r) sq += (x[r * C + c] - mean) * (x[r * C + c] - mean);
    const double var = sq / R, invstd = 1.0 / std::sqrt(var + p.epsilon);
    for (int r = 0; r < R; ++r) o.y[r * C + c] = (x[r * C + c] - mean) * invstd * gamma[c] + beta[c];
    o.mean.push_back(mean);
    o.invstd.push_back(invstd);
    o.running_mean.push_back((1 - p.momentum) * rm[c] + p.momentum * mean);
    o.running_var.push_back((1 - p.momentum) * rv[c] + p.momentum * sq / (R - 1));
  }
  return o;
}

}  // namespace

TEST_CASE("ref batchnorm training and inference match double math") {
  std::mt19937 rng(41);
  for (auto shape : {std::pair{12, 5}, {50, 70}, {2, 1}}) {
    const int rows = shape.first, channels = shape.second;  // clang 14: no structured binding in CAPTURE
    CAPTURE(rows); CAPTURE(channels);
    qk::BatchNormParams p{rows, channels, 1e-5f, 0.1f};
    const Vec x = Random(rows * channels, rng, -2.0f, 3.0f), gamma = Random(channels, rng, 0.5f, 1.5f),
              beta = Random(channels, rng), rm0 = Random(channels, rng), rv0 = Random(channels, rng, 0.5f, 2.0f);
    const BnOracle o = OracleBn(p, x, gamma, beta, rm0, rv0);
    Vec y(x.size()), mean(channels), invstd(channels), rm = rm0, rv = rv0;
    qk::ref::batchnorm_training_f32(p, x.data(), gamma.data(), beta.data(), y.data(), mean.data(), invstd.data(),
                                    rm.data(), rv.data());
    // Two-pass float statistics over `rows` values: error ~ rows * eps relative.
    const double tol = 4 * rows * kEpsF;
    CheckNormalized("y", y, o.y, tol * 10);
    CheckNormalized("mean", mean, o.mean, tol);
    CheckNormalized("invstd", invstd, o.invstd, tol);
    CheckNormalized("running_mean", rm, o.running_mean, tol);
    CheckNormalized("running_var", rv, o.running_var, tol);

    Vec yi(x.size());
    qk::ref::batchnorm_inference_f32(p, x.data(), gamma.data(), beta.data(), rm0.data(), rv0.data(), yi.data());
    std::vector<double> want;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < channels; ++c)
        want.push_back((x[r * channels + c] - rm0[c]) / std::sqrt(rv0[c] + 1e-5) * gamma[c] + beta[c]);
    CheckNormalized("inference", yi, want, 1e-6);
  }
}

// Batchnorm is smooth but nonlinear in x (through mean and invstd): h = 1e-2
// against values spread over ~[-2, 3], relative tolerance 1e-2.
TEST_CASE("ref batchnorm backward matches finite differences and accumulates") {
  std::mt19937 rng(43);
  for (auto shape : {std::pair{12, 3}, {6, 67}}) {
    const int rows = shape.first, channels = shape.second;  // clang 14: no structured binding in CAPTURE
    CAPTURE(rows); CAPTURE(channels);
    const qk::BatchNormParams p{rows, channels, 1e-5f, 0.1f};
    Vec x = Random(rows * channels, rng, -2.0f, 3.0f), gamma = Random(channels, rng, 0.5f, 1.5f),
        beta = Random(channels, rng);
    const Vec dy = Random(x.size(), rng);
    Vec y(x.size()), mean(channels), invstd(channels);
    auto loss = [&] {
      qk::ref::batchnorm_training_f32(p, x.data(), gamma.data(), beta.data(), y.data(), mean.data(),
                                      invstd.data(), nullptr, nullptr);
      return Dot(dy, y);
    };
    loss();
    Vec dx(x.size(), 0.0f), dg(channels, 0.0f), db(channels, 0.0f);
    qk::ref::batchnorm_backward_f32(p, x.data(), gamma.data(), mean.data(), invstd.data(), dy.data(), dx.data(),
                                    dg.data(), db.data());
    const Vec dx0 = dx, dg0 = dg, db0 = db;
    CheckGradient("dx", x, dx, loss, 1e-2, 1e-2);
    CheckGradient("dgamma", gamma, dg, loss, 1e-2, 1e-2);
    CheckGradient("dbeta", beta, db, loss, 1e-2, 1e-2);
    loss();  // restore the saved statistics of the unperturbed x
    const Vec px = Random(x.size(), rng), pg = Random(channels, rng), pb = Random(channels, rng);
    Vec dx1 = px, dg1 = pg, db1 = pb;
    qk::ref::batchnorm_backward_f32(p, x.data(), gamma.data(), mean.data(), invstd.data(), dy.data(), dx1.data(),
                                    dg1.data(), db1.data());
    CheckAccumulates("dx", px, dx1, dx0, true);
    CheckAccumulates("dgamma", pg, dg1, dg0, true);
    CheckAccumulates("dbeta", pb, db1, db0, true);
  }
}

TEST_CASE("ref softmax, log_softmax and cross-entropy match double math") {
  std::mt19937 rng(47);
  const int rows = 5, cols = 13;
  Vec x = Random(rows * cols, rng, -5.0f, 5.0f);
  x[3] = 80.0f;  // large logits must not overflow (max subtraction)
  const std::vector<std::int32_t> labels = {0, 12, 3, 7, 7};
  std::vector<double> sm, lsm;
  double loss = 0;
  for (int r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int j = 0; j < cols; ++j) m = std::max(m, double{x[r * cols + j]});
    for (int j = 0; j < cols; ++j) s += std::exp(x[r * cols + j] - m);
    for (int j = 0; j < cols; ++j) {
      sm.push_back(std::exp(x[r * cols + j] - m) / s);
      lsm.push_back(x[r * cols + j] - m - std::log(s));
    }
    loss -= lsm[r * cols + labels[r]] / rows;
  }
  Vec y(x.size()), probs(x.size());
  qk::ref::softmax_f32(rows, cols, x.data(), y.data());
  CheckNormalized("softmax", y, sm, 1e-6);
  qk::ref::log_softmax_f32(rows, cols, x.data(), y.data());
  CheckNormalized("log_softmax", y, lsm, 1e-6);
  const float got = qk::ref::softmax_cross_entropy_f32(rows, cols, x.data(), labels.data(), probs.data());
  CHECK(std::fabs(got - loss) <= 1e-5 * std::fabs(loss));
  CheckNormalized("probs", probs, sm, 1e-6);
}

// Cross-entropy is smooth: h = 1e-2 on logits in [-3, 3], relative tolerance 1e-2.
TEST_CASE("ref softmax cross-entropy backward matches finite differences and accumulates") {
  std::mt19937 rng(53);
  const int rows = 4, cols = 7;
  Vec x = Random(rows * cols, rng, -3.0f, 3.0f), probs(x.size());
  const std::vector<std::int32_t> labels = {6, 0, 2, 2};
  auto loss = [&] {
    return double{qk::ref::softmax_cross_entropy_f32(rows, cols, x.data(), labels.data(), probs.data())};
  };
  loss();
  Vec dx(x.size(), 0.0f);
  qk::ref::softmax_cross_entropy_backward_f32(rows, cols, probs.data(), labels.data(), 1.0f / rows, dx.data());
  const Vec dx0 = dx;
  CheckGradient("dlogits", x, dx, loss, 1e-2, 1e-2);
  const Vec pre = Random(x.size(), rng);
  Vec dx1 = pre;
  loss();
  qk::ref::softmax_cross_entropy_backward_f32(rows, cols, probs.data(), labels.data(), 1.0f / rows, dx1.data());
  CheckAccumulates("dlogits", pre, dx1, dx0, true);
}

TEST_CASE("ref embedding: lookup, scatter backward with repeated ids, finite differences") {
  std::mt19937 rng(59);
  const qk::EmbeddingParams p{6, 5, 3};
  const std::vector<std::int32_t> ids = {4, 0, 4, 2, 4, 0};
  Vec table = Random(5 * 3, rng);
  const Vec dy = Random(6 * 3, rng);
  Vec y(6 * 3);
  qk::ref::embedding_f32(p, ids.data(), table.data(), y.data());
  for (int i = 0; i < 6; ++i)
    for (int d = 0; d < 3; ++d) CHECK(y[i * 3 + d] == table[ids[i] * 3 + d]);
  Vec dt(table.size(), 0.0f);
  qk::ref::embedding_backward_f32(p, ids.data(), dy.data(), dt.data());
  std::vector<double> want(table.size(), 0.0);
  for (int i = 0; i < 6; ++i)
    for (int d = 0; d < 3; ++d) want[ids[i] * 3 + d] += dy[i * 3 + d];
  CheckNormalized("dtable", dt, want, 4 * kEpsF);
  for (int d = 0; d < 3; ++d) {
    CHECK(dt[1 * 3 + d] == 0.0f);  // unused rows get nothing
    CHECK(dt[3 * 3 + d] == 0.0f);
  }
  CheckGradient("dtable", table, dt,
                [&] { qk::ref::embedding_f32(p, ids.data(), table.data(), y.data()); return Dot(dy, y); }, 1e-2, 2e-3);
  const Vec pre = Random(table.size(), rng);
  Vec dt1 = pre;
  qk::ref::embedding_backward_f32(p, ids.data(), dy.data(), dt1.data());
  CheckAccumulates("dtable", pre, dt1, dt, false);
}
