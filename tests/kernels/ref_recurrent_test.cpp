// Reference LSTM and GRU against straightforward double-precision
// implementations (Eigen matrix-vector per step), finite-difference checks of
// every gradient (dy on every step, dh_n / dc_n, h0 / c0), and the += contract.
#include <Eigen/Dense>

#include "kernels/test_util.h"
#include "qualm/kernels/recurrent.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

using Eigen::VectorXd;

Eigen::MatrixXd Mat(const Vec& v, int rows, int cols) {
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) m(i, j) = v[i * cols + j];
  return m;
}
VectorXd Seg(const Vec& v, int offset, int n) {
  VectorXd r(n);
  for (int i = 0; i < n; ++i) r[i] = v.empty() ? 0.0 : v[offset + i];
  return r;
}
VectorXd Sig(const VectorXd& v) { return (1.0 + (-v.array()).exp()).inverse().matrix(); }
VectorXd Tanh(const VectorXd& v) { return v.array().tanh().matrix(); }

struct RnnData {
  qk::RnnParams p;
  Vec x, wx, wh, b1, b2, h0, c0;  // b2: GRU b_h
};

RnnData MakeData(qk::RnnParams p, int gates, std::mt19937& rng) {
  const int H = p.hidden_size, I = p.input_size;
  RnnData d{p, Random(p.batch * p.seq_len * I, rng), Random(gates * H * I, rng, -0.7f, 0.7f),
            Random(gates * H * H, rng, -0.7f, 0.7f), Random(gates * H, rng, -0.5f, 0.5f),
            Random(gates * H, rng, -0.5f, 0.5f), Random(p.batch * H, rng), Random(p.batch * H, rng)};
  return d;
}

struct Out {
  std::vector<double> y, h_n, c_n;
};

Out OracleLstm(const RnnData& d, bool use_h0, bool use_c0) {
  const auto& p = d.p;
  const int H = p.hidden_size, I = p.input_size, T = p.seq_len;
  const Eigen::MatrixXd Wx = Mat(d.wx, 4 * H, I), Wh = Mat(d.wh, 4 * H, H);
  const VectorXd bias = Seg(d.b1, 0, 4 * H);
  Out o;
  for (int b = 0; b < p.batch; ++b) {
    VectorXd h = use_h0 ? Seg(d.h0, b * H, H) : VectorXd::Zero(H);
    VectorXd c = use_c0 ? Seg(d.c0, b * H, H) : VectorXd::Zero(H);
    for (int t = 0; t < T; ++t) {
      const VectorXd z = Wx * Seg(d.x, (b * T + t) * I, I) + Wh * h + bias;
      const VectorXd i = Sig(z.segment(0, H)), f = Sig(z.segment(H, H)), g = Tanh(z.segment(2 * H, H)),
                     og = Sig(z.segment(3 * H, H));
      c = f.cwiseProduct(c) + i.cwiseProduct(g);
      h = og.cwiseProduct(Tanh(c));
      o.y.insert(o.y.end(), h.data(), h.data() + H);
    }
    o.h_n.insert(o.h_n.end(), h.data(), h.data() + H);
    o.c_n.insert(o.c_n.end(), c.data(), c.data() + H);
  }
  return o;
}

Out OracleGru(const RnnData& d, bool use_h0) {
  const auto& p = d.p;
  const int H = p.hidden_size, I = p.input_size, T = p.seq_len;
  const Eigen::MatrixXd Wx = Mat(d.wx, 3 * H, I), Wh = Mat(d.wh, 3 * H, H);
  Out o;
  for (int b = 0; b < p.batch; ++b) {
    VectorXd h = use_h0 ? Seg(d.h0, b * H, H) : VectorXd::Zero(H);
    for (int t = 0; t < T; ++t) {
      const VectorXd gx = Wx * Seg(d.x, (b * T + t) * I, I) + Seg(d.b1, 0, 3 * H);
      const VectorXd gh = Wh * h + Seg(d.b2, 0, 3 * H);
      const VectorXd z = Sig(gx.segment(0, H) + gh.segment(0, H));
      const VectorXd r = Sig(gx.segment(H, H) + gh.segment(H, H));
      const VectorXd n = Tanh(gx.segment(2 * H, H) + r.cwiseProduct(gh.segment(2 * H, H)));
      h = (VectorXd::Ones(H) - z).cwiseProduct(n) + z.cwiseProduct(h);
      o.y.insert(o.y.end(), h.data(), h.data() + H);
    }
    o.h_n.insert(o.h_n.end(), h.data(), h.data() + H);
  }
  return o;
}

const qk::RnnParams kShapes[] = {{2, 4, 3, 5}, {3, 5, 4, 3}, {1, 1, 1, 1}};

}  // namespace

// Float recurrences vs double: errors stay at a few ulps per step because the
// gates are contractions; normalized tolerance 1e-5 for sequences <= 5 steps.
TEST_CASE("ref lstm and gru forward match double-precision implementations") {
  std::mt19937 rng(61);
  for (const auto& p : kShapes) {
    CAPTURE(p.batch); CAPTURE(p.seq_len); CAPTURE(p.input_size); CAPTURE(p.hidden_size);
    const int B = p.batch, T = p.seq_len, H = p.hidden_size;
    for (bool with_state : {true, false}) {
      CAPTURE(with_state);
      RnnData d = MakeData(p, 4, rng);
      const qk::LstmWeights w{d.wx.data(), d.wh.data(), d.b1.data()};
      Vec y(B * T * H), hn(B * H), cn(B * H), gates(B * T * 4 * H), cells(B * T * H);
      const float* h0 = with_state ? d.h0.data() : nullptr;
      const float* c0 = with_state ? d.c0.data() : nullptr;
      qk::ref::lstm_f32(p, w, d.x.data(), h0, c0, y.data(), hn.data(), cn.data(), gates.data(), cells.data());
      const Out o = OracleLstm(d, with_state, with_state);
      CheckNormalized("lstm y", y, o.y, 1e-5);
      CheckNormalized("lstm h_n", hn, o.h_n, 1e-5);
      CheckNormalized("lstm c_n", cn, o.c_n, 1e-5);
      for (int b = 0; b < B; ++b)  // the cell workspace ends in c_n
        for (int k = 0; k < H; ++k) CHECK(cells[(b * T + T - 1) * H + k] == cn[b * H + k]);
      // Inference: no workspace, same bits.
      Vec y2(y.size());
      qk::ref::lstm_f32(p, w, d.x.data(), h0, c0, y2.data(), nullptr, nullptr, nullptr, nullptr);
      CHECK(SameBits(y, y2));

      RnnData g = MakeData(p, 3, rng);
      const qk::GruWeights gw{g.wx.data(), g.wh.data(), g.b1.data(), g.b2.data()};
      Vec gy(B * T * H), ghn(B * H), ggates(B * T * 3 * H), ghh(B * T * H);
      qk::ref::gru_f32(p, gw, g.x.data(), with_state ? g.h0.data() : nullptr, gy.data(), ghn.data(), ggates.data(),
                       ghh.data());
      const Out go = OracleGru(g, with_state);
      CheckNormalized("gru y", gy, go.y, 1e-5);
      CheckNormalized("gru h_n", ghn, go.h_n, 1e-5);
      Vec gy2(gy.size());
      qk::ref::gru_f32(p, gw, g.x.data(), with_state ? g.h0.data() : nullptr, gy2.data(), nullptr, nullptr, nullptr);
      CHECK(SameBits(gy, gy2));
    }
  }
}

namespace {

// Which upstream gradients flow in the check.
struct Flow {
  const char* name;
  bool dy, dh_n, dc_n, state;
};
const Flow kFlows[] = {
    {"dy, dh_n, dc_n with h0/c0", true, true, true, true},
    {"only dy, zero initial state", true, false, false, false},
    {"only dh_n (dy null)", false, true, false, true},
    {"only dc_n (dy null)", false, false, true, true},
};

}  // namespace

// The recurrences are smooth: h = 1e-2, relative tolerance 1e-2.
TEST_CASE("ref lstm backward matches finite differences") {
  std::mt19937 rng(67);
  for (const auto& p : kShapes) {
    for (const Flow& fl : kFlows) {
      CAPTURE(fl.name); CAPTURE(p.seq_len); CAPTURE(p.hidden_size);
      const int B = p.batch, T = p.seq_len, H = p.hidden_size, I = p.input_size;
      RnnData d = MakeData(p, 4, rng);
      const Vec ry = Random(B * T * H, rng), rh = Random(B * H, rng), rc = Random(B * H, rng);
      Vec y(B * T * H), hn(B * H), cn(B * H), gates(B * T * 4 * H), cells(B * T * H);
      auto forward = [&] {
        const qk::LstmWeights w{d.wx.data(), d.wh.data(), d.b1.data()};
        qk::ref::lstm_f32(p, w, d.x.data(), fl.state ? d.h0.data() : nullptr, fl.state ? d.c0.data() : nullptr,
                          y.data(), hn.data(), cn.data(), gates.data(), cells.data());
      };
      auto loss = [&] {
        forward();
        return (fl.dy ? Dot(ry, y) : 0.0) + (fl.dh_n ? Dot(rh, hn) : 0.0) + (fl.dc_n ? Dot(rc, cn) : 0.0);
      };
      forward();
      Vec dx(d.x.size(), 0.0f), dwx(d.wx.size(), 0.0f), dwh(d.wh.size(), 0.0f), db(d.b1.size(), 0.0f),
          dh0(B * H, 0.0f), dc0(B * H, 0.0f);
      const qk::LstmWeights w{d.wx.data(), d.wh.data(), d.b1.data()};
      qk::ref::lstm_backward_f32(p, w, d.x.data(), fl.state ? d.h0.data() : nullptr,
                                 fl.state ? d.c0.data() : nullptr, y.data(), gates.data(), cells.data(),
                                 fl.dy ? ry.data() : nullptr, fl.dh_n ? rh.data() : nullptr,
                                 fl.dc_n ? rc.data() : nullptr, dx.data(), {dwx.data(), dwh.data(), db.data()},
                                 dh0.data(), dc0.data());
      CheckGradient("dx", d.x, dx, loss, 1e-2, 1e-2);
      CheckGradient("dw_x", d.wx, dwx, loss, 1e-2, 1e-2);
      if (T > 1 || fl.state) CheckGradient("dw_h", d.wh, dwh, loss, 1e-2, 1e-2);
      CheckGradient("dbias", d.b1, db, loss, 1e-2, 1e-2);
      if (fl.state) {
        CheckGradient("dh0", d.h0, dh0, loss, 1e-2, 1e-2);
        if (fl.dy || fl.dh_n || fl.dc_n) CheckGradient("dc0", d.c0, dc0, loss, 1e-2, 1e-2);
      }
      (void)I;
    }
  }
}

TEST_CASE("ref gru backward matches finite differences") {
  std::mt19937 rng(71);
  for (const auto& p : kShapes) {
    for (const Flow& fl : kFlows) {
      if (fl.dc_n && !fl.dy && !fl.dh_n) continue;  // a GRU has no cell state
      CAPTURE(fl.name); CAPTURE(p.seq_len); CAPTURE(p.hidden_size);
      const int B = p.batch, T = p.seq_len, H = p.hidden_size;
      RnnData d = MakeData(p, 3, rng);
      const Vec ry = Random(B * T * H, rng), rh = Random(B * H, rng);
      Vec y(B * T * H), hn(B * H), gates(B * T * 3 * H), hh(B * T * H);
      auto forward = [&] {
        const qk::GruWeights w{d.wx.data(), d.wh.data(), d.b1.data(), d.b2.data()};
        qk::ref::gru_f32(p, w, d.x.data(), fl.state ? d.h0.data() : nullptr, y.data(), hn.data(), gates.data(),
                         hh.data());
      };
      auto loss = [&] {
        forward();
        return (fl.dy ? Dot(ry, y) : 0.0) + (fl.dh_n ? Dot(rh, hn) : 0.0);
      };
      forward();
      Vec dx(d.x.size(), 0.0f), dwx(d.wx.size(), 0.0f), dwh(d.wh.size(), 0.0f), dbx(d.b1.size(), 0.0f),
          dbh(d.b2.size(), 0.0f), dh0(B * H, 0.0f);
      const qk::GruWeights w{d.wx.data(), d.wh.data(), d.b1.data(), d.b2.data()};
      qk::ref::gru_backward_f32(p, w, d.x.data(), fl.state ? d.h0.data() : nullptr, y.data(), gates.data(),
                                hh.data(), fl.dy ? ry.data() : nullptr, fl.dh_n ? rh.data() : nullptr, dx.data(),
                                {dwx.data(), dwh.data(), dbx.data(), dbh.data()}, dh0.data());
      CheckGradient("dx", d.x, dx, loss, 1e-2, 1e-2);
      CheckGradient("dw_x", d.wx, dwx, loss, 1e-2, 1e-2);
      if (T > 1 || fl.state) CheckGradient("dw_h", d.wh, dwh, loss, 1e-2, 1e-2);
      CheckGradient("db_x", d.b1, dbx, loss, 1e-2, 1e-2);
      CheckGradient("db_h", d.b2, dbh, loss, 1e-2, 1e-2);
      if (fl.state) CheckGradient("dh0", d.h0, dh0, loss, 1e-2, 1e-2);
    }
  }
}

TEST_CASE("ref lstm and gru backward accumulate (+=) bit-exactly") {
  std::mt19937 rng(73);
  const qk::RnnParams p{2, 4, 3, 5};
  const int B = p.batch, T = p.seq_len, H = p.hidden_size;
  {
    RnnData d = MakeData(p, 4, rng);
    const qk::LstmWeights w{d.wx.data(), d.wh.data(), d.b1.data()};
    Vec y(B * T * H), gates(B * T * 4 * H), cells(B * T * H);
    qk::ref::lstm_f32(p, w, d.x.data(), d.h0.data(), d.c0.data(), y.data(), nullptr, nullptr, gates.data(),
                      cells.data());
    const Vec dy = Random(y.size(), rng), dhn = Random(B * H, rng), dcn = Random(B * H, rng);
    const std::vector<std::size_t> sizes = {d.x.size(), d.wx.size(), d.wh.size(), d.b1.size(),
                                            std::size_t(B * H), std::size_t(B * H)};
    std::vector<Vec> zero, pre, acc;
    for (std::size_t s : sizes) zero.emplace_back(s, 0.0f), pre.push_back(Random(s, rng));
    acc = pre;
    for (auto* g : {&zero, &acc})
      qk::ref::lstm_backward_f32(p, w, d.x.data(), d.h0.data(), d.c0.data(), y.data(), gates.data(), cells.data(),
                                 dy.data(), dhn.data(), dcn.data(), (*g)[0].data(),
                                 {(*g)[1].data(), (*g)[2].data(), (*g)[3].data()}, (*g)[4].data(), (*g)[5].data());
    const char* names[] = {"dx", "dw_x", "dw_h", "dbias", "dh0", "dc0"};
    for (int i = 0; i < 6; ++i) CheckAccumulates(names[i], pre[i], acc[i], zero[i], true);
  }
  {
    RnnData d = MakeData(p, 3, rng);
    const qk::GruWeights w{d.wx.data(), d.wh.data(), d.b1.data(), d.b2.data()};
    Vec y(B * T * H), gates(B * T * 3 * H), hh(B * T * H);
    qk::ref::gru_f32(p, w, d.x.data(), d.h0.data(), y.data(), nullptr, gates.data(), hh.data());
    const Vec dy = Random(y.size(), rng), dhn = Random(B * H, rng);
    const std::vector<std::size_t> sizes = {d.x.size(), d.wx.size(), d.wh.size(), d.b1.size(), d.b2.size(),
                                            std::size_t(B * H)};
    std::vector<Vec> zero, pre, acc;
    for (std::size_t s : sizes) zero.emplace_back(s, 0.0f), pre.push_back(Random(s, rng));
    acc = pre;
    for (auto* g : {&zero, &acc})
      qk::ref::gru_backward_f32(p, w, d.x.data(), d.h0.data(), y.data(), gates.data(), hh.data(), dy.data(),
                                dhn.data(), (*g)[0].data(),
                                {(*g)[1].data(), (*g)[2].data(), (*g)[3].data(), (*g)[4].data()}, (*g)[5].data());
    const char* names[] = {"dx", "dw_x", "dw_h", "db_x", "db_h", "dh0"};
    for (int i = 0; i < 6; ++i) CheckAccumulates(names[i], pre[i], acc[i], zero[i], true);
  }
}
