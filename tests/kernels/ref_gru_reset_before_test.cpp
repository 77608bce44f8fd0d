// ref::gru_reset_before_f32 (ONNX's default GRU form) against a straightforward
// double-precision implementation, and against gru_f32 where the two forms
// must agree (no recurrent state and b_hn = 0) and where they must not.
#include <Eigen/Dense>

#include "kernels/test_util.h"
#include "qualm/kernels/recurrent.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

// h_t per (b, t) in double: n = tanh(Wn x + bxn + Un (r * h) + bhn).
std::vector<double> OracleResetBefore(const qk::RnnParams& p, const Vec& x, const Vec& wx, const Vec& wh,
                                      const Vec& bx, const Vec& bh, const Vec* h0) {
  const int H = p.hidden_size, I = p.input_size, T = p.seq_len;
  Eigen::MatrixXd Wx(3 * H, I), Wh(3 * H, H);
  for (int j = 0; j < 3 * H; ++j) {
    for (int i = 0; i < I; ++i) Wx(j, i) = wx[j * I + i];
    for (int k = 0; k < H; ++k) Wh(j, k) = wh[j * H + k];
  }
  Eigen::VectorXd Bx(3 * H), Bh(3 * H);
  for (int j = 0; j < 3 * H; ++j) Bx[j] = bx[j], Bh[j] = bh[j];
  auto sig = [](const Eigen::VectorXd& v) -> Eigen::VectorXd { return (1.0 + (-v.array()).exp()).inverse().matrix(); };
  std::vector<double> y;
  for (int b = 0; b < p.batch; ++b) {
    Eigen::VectorXd h = Eigen::VectorXd::Zero(H);
    if (h0)
      for (int k = 0; k < H; ++k) h[k] = (*h0)[b * H + k];
    for (int t = 0; t < T; ++t) {
      Eigen::VectorXd xt(I);
      for (int i = 0; i < I; ++i) xt[i] = x[(b * T + t) * I + i];
      const Eigen::VectorXd gx = Wx * xt + Bx;
      const Eigen::VectorXd hz = Wh.topRows(2 * H) * h + Bh.head(2 * H);
      const Eigen::VectorXd z = sig(gx.head(H) + hz.head(H)), r = sig(gx.segment(H, H) + hz.tail(H));
      const Eigen::VectorXd n =
          (gx.tail(H) + Wh.bottomRows(H) * r.cwiseProduct(h) + Bh.tail(H)).array().tanh().matrix();
      h = (Eigen::VectorXd::Ones(H) - z).cwiseProduct(n) + z.cwiseProduct(h);
      for (int k = 0; k < H; ++k) y.push_back(h[k]);
    }
  }
  return y;
}

}  // namespace

TEST_CASE("ref gru reset-before forward matches a double-precision implementation") {
  std::mt19937 rng(20261125);
  for (const qk::RnnParams p : {qk::RnnParams{1, 1, 1, 1}, qk::RnnParams{2, 5, 3, 4}, qk::RnnParams{3, 4, 7, 5}}) {
    for (bool with_h0 : {false, true}) {
      CAPTURE(p.batch);
      CAPTURE(p.seq_len);
      CAPTURE(p.input_size);
      CAPTURE(p.hidden_size);
      CAPTURE(with_h0);
      const int H = p.hidden_size, I = p.input_size;
      const Vec x = Random(p.batch * p.seq_len * I, rng), wx = Random(3 * H * I, rng, -0.7f, 0.7f),
                wh = Random(3 * H * H, rng, -0.7f, 0.7f), bx = Random(3 * H, rng, -0.5f, 0.5f),
                bh = Random(3 * H, rng, -0.5f, 0.5f), h0 = Random(p.batch * H, rng);
      const qk::GruWeights w{wx.data(), wh.data(), bx.data(), bh.data()};
      Vec y(p.batch * p.seq_len * H), hn(p.batch * H);
      qk::ref::gru_reset_before_f32(p, w, x.data(), with_h0 ? h0.data() : nullptr, y.data(), hn.data());
      const auto want = OracleResetBefore(p, x, wx, wh, bx, bh, with_h0 ? &h0 : nullptr);
      CheckNormalized("gru reset-before y", y, want, 1e-5);
      for (int b = 0; b < p.batch; ++b)
        for (int k = 0; k < H; ++k) CHECK(hn[b * H + k] == y[((b * p.seq_len) + p.seq_len - 1) * H + k]);
      // h_n may be null.
      Vec y2(y.size());
      qk::ref::gru_reset_before_f32(p, w, x.data(), with_h0 ? h0.data() : nullptr, y2.data(), nullptr);
      CHECK(SameBits(y, y2));
      // The caller's scratch (dirty) instead of an allocation: the same bits.
      Vec scratch(qk::ref::gru_reset_before_scratch_floats(p), 1e30f), y3(y.size());
      qk::ref::gru_reset_before_f32(p, w, x.data(), with_h0 ? h0.data() : nullptr, y3.data(), nullptr, scratch.data());
      CHECK(SameBits(y, y3));

      // The two GRU forms: different whenever the recurrent state matters...
      Vec y_lbr(y.size());
      qk::ref::gru_f32(p, w, x.data(), with_h0 ? h0.data() : nullptr, y_lbr.data(), nullptr, nullptr, nullptr);
      if (with_h0 || p.seq_len > 1) CHECK_FALSE(SameBits(y, y_lbr));
      // ...and the same for a single step from zero state when b_hn = 0.
      if (!with_h0) {
        Vec bh0 = bh;
        for (int j = 2 * H; j < 3 * H; ++j) bh0[j] = 0.0f;
        const qk::GruWeights w0{wx.data(), wh.data(), bx.data(), bh0.data()};
        const qk::RnnParams p1{p.batch, 1, I, H};
        Vec a(p.batch * H), b(p.batch * H);
        Vec x1(p.batch * I);
        for (int bb = 0; bb < p.batch; ++bb)
          for (int i = 0; i < I; ++i) x1[bb * I + i] = x[(bb * p.seq_len) * I + i];
        qk::ref::gru_reset_before_f32(p1, w0, x1.data(), nullptr, a.data(), nullptr);
        qk::ref::gru_f32(p1, w0, x1.data(), nullptr, b.data(), nullptr, nullptr, nullptr);
        CHECK(SameBits(a, b));
      }
    }
  }
}
