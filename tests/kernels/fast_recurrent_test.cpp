// Fast LSTM / GRU against the reference under every gemm variant and every
// float RNN cell variant (detail/rnn_cell_f32_variants.h) the machine
// supports, threads 1 and 2, including null dy / dh_n / dc_n / h0 / c0, the +=
// contract and bit-determinism (the same bits, outputs and gradients, on every
// variant pair and thread count: gemm.h and the cells are both deterministic).
// The cells themselves equal the reference cell bit for bit
// (rnn_cell_f32_test.cpp); the whole kernels differ from ref:: only through
// the GEMMs' fma rounding, hence the tolerance below.
//
// Tolerance: the fast path differs from the reference only in the GEMMs'
// rounding (~k * eps relative, k <= I + H = 62 here); the contracting gates
// keep that from growing over <= 13 steps. Errors are normalized by each
// tensor's largest magnitude and must stay below 1e-4; wrong indexing or a
// missing term gives O(1).
#include <optional>

#include "kernels/fast_test_util.h"
#include "qualm/kernels/recurrent.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

constexpr double kTol = 1e-4;
// The last shape (batch * 4 * hidden >= 16k) splits the LSTM recurrence by batch rows with 2 threads.
// {batch, seq_len, input, hidden}: hidden 1, primes, the benchmark sizes 50 and 75, 129 (a tail on every ISA).
const qk::RnnParams kShapes[] = {{1, 1, 1, 1},   {3, 7, 13, 5},  {2, 13, 7, 31},  {5, 3, 31, 13},
                                 {64, 4, 9, 40}, {128, 3, 5, 33}, {1, 6, 11, 50}, {3, 5, 7, 75},
                                 {64, 2, 5, 129}, {1, 3, 4, 7}};

struct Flow {
  const char* name;
  bool dy, dh_n, dc_n, state;
};
const Flow kFlows[] = {{"all gradients, with h0/c0", true, true, true, true},
                       {"dy only, zero initial state", true, false, false, false},
                       {"dh_n / dc_n only (dy null)", false, true, true, true}};

struct Grads {
  std::vector<Vec> t;  // dx, dw_x, dw_h, b1, b2 (GRU), dh0, dc0 (LSTM)
};

struct Data {
  qk::RnnParams p;
  Vec x, wx, wh, b1, b2, h0, c0, dy, dhn, dcn;
};

Data MakeData(const qk::RnnParams& p, int gates, std::mt19937& rng) {
  const int B = p.batch, T = p.seq_len, I = p.input_size, H = p.hidden_size;
  return {p,
          Random(B * T * I, rng),
          Random(gates * H * I, rng, -0.6f, 0.6f),
          Random(gates * H * H, rng, -0.6f, 0.6f),
          Random(gates * H, rng, -0.5f, 0.5f),
          Random(gates * H, rng, -0.5f, 0.5f),
          Random(B * H, rng),
          Random(B * H, rng),
          Random(B * T * H, rng),
          Random(B * H, rng),
          Random(B * H, rng)};
}

struct LstmOut {
  Vec y, hn, cn, gates, cells;
  std::vector<Vec> grads;  // dx, dw_x, dw_h, dbias, dh0, dc0
};

LstmOut RunLstm(const Data& d, const Flow& fl, int threads /* 0 = reference */, const std::vector<Vec>* pre = nullptr) {
  const auto& p = d.p;
  const int B = p.batch, T = p.seq_len, H = p.hidden_size;
  LstmOut o{Vec(B * T * H), Vec(B * H), Vec(B * H), Vec(B * T * 4 * H), Vec(B * T * H), {}};
  for (std::size_t s : {d.x.size(), d.wx.size(), d.wh.size(), d.b1.size(), d.h0.size(), d.c0.size()})
    o.grads.emplace_back(s, 0.0f);
  if (pre) o.grads = *pre;
  const qk::LstmWeights w{d.wx.data(), d.wh.data(), d.b1.data()};
  const float* h0 = fl.state ? d.h0.data() : nullptr;
  const float* c0 = fl.state ? d.c0.data() : nullptr;
  const float* dy = fl.dy ? d.dy.data() : nullptr;
  const float* dhn = fl.dh_n ? d.dhn.data() : nullptr;
  const float* dcn = fl.dc_n ? d.dcn.data() : nullptr;
  auto& g = o.grads;
  if (threads == 0) {
    qk::ref::lstm_f32(p, w, d.x.data(), h0, c0, o.y.data(), o.hn.data(), o.cn.data(), o.gates.data(), o.cells.data());
    qk::ref::lstm_backward_f32(p, w, d.x.data(), h0, c0, o.y.data(), o.gates.data(), o.cells.data(), dy, dhn, dcn,
                               g[0].data(), {g[1].data(), g[2].data(), g[3].data()}, g[4].data(), g[5].data());
  } else {
    const Scratch s(qk::fast::lstm_scratch_floats(p, threads));
    qk::fast::lstm_f32(s.Context(threads), p, w, d.x.data(), h0, c0, o.y.data(), o.hn.data(), o.cn.data(),
                       o.gates.data(), o.cells.data());
    qk::fast::lstm_backward_f32(s.Context(threads), p, w, d.x.data(), h0, c0, o.y.data(), o.gates.data(),
                                o.cells.data(), dy, dhn, dcn, g[0].data(), {g[1].data(), g[2].data(), g[3].data()},
                                g[4].data(), g[5].data());
  }
  return o;
}

struct GruOut {
  Vec y, hn, gates, hh;
  std::vector<Vec> grads;  // dx, dw_x, dw_h, db_x, db_h, dh0
};

GruOut RunGru(const Data& d, const Flow& fl, int threads, const std::vector<Vec>* pre = nullptr) {
  const auto& p = d.p;
  const int B = p.batch, T = p.seq_len, H = p.hidden_size;
  GruOut o{Vec(B * T * H), Vec(B * H), Vec(B * T * 3 * H), Vec(B * T * H), {}};
  for (std::size_t s : {d.x.size(), d.wx.size(), d.wh.size(), d.b1.size(), d.b2.size(), d.h0.size()})
    o.grads.emplace_back(s, 0.0f);
  if (pre) o.grads = *pre;
  const qk::GruWeights w{d.wx.data(), d.wh.data(), d.b1.data(), d.b2.data()};
  const float* h0 = fl.state ? d.h0.data() : nullptr;
  const float* dy = fl.dy ? d.dy.data() : nullptr;
  const float* dhn = fl.dh_n ? d.dhn.data() : nullptr;
  auto& g = o.grads;
  if (threads == 0) {
    qk::ref::gru_f32(p, w, d.x.data(), h0, o.y.data(), o.hn.data(), o.gates.data(), o.hh.data());
    qk::ref::gru_backward_f32(p, w, d.x.data(), h0, o.y.data(), o.gates.data(), o.hh.data(), dy, dhn, g[0].data(),
                              {g[1].data(), g[2].data(), g[3].data(), g[4].data()}, g[5].data());
  } else {
    const Scratch s(qk::fast::gru_scratch_floats(p, threads));
    qk::fast::gru_f32(s.Context(threads), p, w, d.x.data(), h0, o.y.data(), o.hn.data(), o.gates.data(), o.hh.data());
    qk::fast::gru_backward_f32(s.Context(threads), p, w, d.x.data(), h0, o.y.data(), o.gates.data(), o.hh.data(), dy,
                               dhn, g[0].data(), {g[1].data(), g[2].data(), g[3].data(), g[4].data()}, g[5].data());
  }
  return o;
}

const char* kLstmGradNames[] = {"dx", "dw_x", "dw_h", "dbias", "dh0", "dc0"};
const char* kGruGradNames[] = {"dx", "dw_x", "dw_h", "db_x", "db_h", "dh0"};

}  // namespace

TEST_CASE("fast lstm matches the reference, with the same bits on every gemm and cell variant and threads 1 and 2") {
  std::mt19937 rng(201);
  for (const auto& p : kShapes) {
    for (const Flow& fl : kFlows) {
      CAPTURE(p.batch); CAPTURE(p.seq_len); CAPTURE(p.input_size); CAPTURE(p.hidden_size);
      const std::string flow = fl.name;
      CAPTURE(flow);
      const Data d = MakeData(p, 4, rng);
      const LstmOut ref = RunLstm(d, fl, 0);
      std::optional<LstmOut> first;
      ForEachGemmAndRnnCellVariant([&] {
        for (int threads : {1, 2}) {
          CAPTURE(threads);
          const LstmOut fast = RunLstm(d, fl, threads);
          if (!first) first = fast;
          CHECK(SameBits(fast.y, first->y));
          CHECK(SameBits(fast.cells, first->cells));
          for (int i = 0; i < 6; ++i) CHECK(SameBits(fast.grads[i], first->grads[i]));
          CheckNormalized("y", fast.y, ToDouble(ref.y), kTol);
          CheckNormalized("h_n", fast.hn, ToDouble(ref.hn), kTol);
          CheckNormalized("c_n", fast.cn, ToDouble(ref.cn), kTol);
          CheckNormalized("gates", fast.gates, ToDouble(ref.gates), kTol);
          CheckNormalized("cells", fast.cells, ToDouble(ref.cells), kTol);
          for (int i = 0; i < 6; ++i) {
            if (i >= 4 && !fl.state) continue;
            CheckNormalized(kLstmGradNames[i], fast.grads[i], ToDouble(ref.grads[i]), kTol);
          }
          // Inference without workspace gives the same outputs.
          const Scratch s(qk::fast::lstm_scratch_floats(p, threads));
          Vec y(fast.y.size()), hn(fast.hn.size());
          const qk::LstmWeights w{d.wx.data(), d.wh.data(), d.b1.data()};
          qk::fast::lstm_f32(s.Context(threads), p, w, d.x.data(), fl.state ? d.h0.data() : nullptr,
                             fl.state ? d.c0.data() : nullptr, y.data(), hn.data(), nullptr, nullptr, nullptr);
          CHECK(SameBits(y, fast.y));
          CHECK(SameBits(hn, fast.hn));
        }
      });
    }
  }
}

TEST_CASE("fast gru matches the reference, with the same bits on every gemm and cell variant and threads 1 and 2") {
  std::mt19937 rng(203);
  for (const auto& p : kShapes) {
    for (const Flow& fl : kFlows) {
      CAPTURE(p.batch); CAPTURE(p.seq_len); CAPTURE(p.input_size); CAPTURE(p.hidden_size);
      const std::string flow = fl.name;
      CAPTURE(flow);
      const Data d = MakeData(p, 3, rng);
      const GruOut ref = RunGru(d, fl, 0);
      std::optional<GruOut> first;
      ForEachGemmAndRnnCellVariant([&] {
        for (int threads : {1, 2}) {
          CAPTURE(threads);
          const GruOut fast = RunGru(d, fl, threads);
          if (!first) first = fast;
          CHECK(SameBits(fast.y, first->y));
          CHECK(SameBits(fast.hh, first->hh));
          for (int i = 0; i < 6; ++i) CHECK(SameBits(fast.grads[i], first->grads[i]));
          CheckNormalized("y", fast.y, ToDouble(ref.y), kTol);
          CheckNormalized("h_n", fast.hn, ToDouble(ref.hn), kTol);
          CheckNormalized("gates", fast.gates, ToDouble(ref.gates), kTol);
          CheckNormalized("hn workspace", fast.hh, ToDouble(ref.hh), kTol);
          for (int i = 0; i < 6; ++i) {
            if (i == 5 && !fl.state) continue;
            CheckNormalized(kGruGradNames[i], fast.grads[i], ToDouble(ref.grads[i]), kTol);
          }
          const Scratch s(qk::fast::gru_scratch_floats(p, threads));
          Vec y(fast.y.size());
          const qk::GruWeights w{d.wx.data(), d.wh.data(), d.b1.data(), d.b2.data()};
          qk::fast::gru_f32(s.Context(threads), p, w, d.x.data(), fl.state ? d.h0.data() : nullptr, y.data(),
                            nullptr, nullptr, nullptr);
          CHECK(SameBits(y, fast.y));
        }
      });
    }
  }
}

TEST_CASE("fast lstm and gru accumulate (+=) and are bit-deterministic with 2 threads") {
  std::mt19937 rng(207);
  const qk::RnnParams p{64, 6, 9, 40};
  const Flow& fl = kFlows[0];
  ForEachGemmAndRnnCellVariant([&] {
    {
      const Data d = MakeData(p, 4, rng);
      const LstmOut a = RunLstm(d, fl, 2), b = RunLstm(d, fl, 2);
      CHECK(SameBits(a.y, b.y));
      for (int i = 0; i < 6; ++i) CHECK(SameBits(a.grads[i], b.grads[i]));
      std::vector<Vec> pre;
      for (const Vec& g : a.grads) pre.push_back(Random(g.size(), rng));
      const LstmOut acc = RunLstm(d, fl, 2, &pre);
      for (int i = 0; i < 6; ++i) {
        std::vector<double> want;
        for (std::size_t j = 0; j < pre[i].size(); ++j) want.push_back(double(pre[i][j]) + a.grads[i][j]);
        CheckNormalized(kLstmGradNames[i], acc.grads[i], want, 1e-5);
      }
    }
    {
      const Data d = MakeData(p, 3, rng);
      const GruOut a = RunGru(d, fl, 2), b = RunGru(d, fl, 2);
      CHECK(SameBits(a.y, b.y));
      for (int i = 0; i < 6; ++i) CHECK(SameBits(a.grads[i], b.grads[i]));
      std::vector<Vec> pre;
      for (const Vec& g : a.grads) pre.push_back(Random(g.size(), rng));
      const GruOut acc = RunGru(d, fl, 2, &pre);
      for (int i = 0; i < 6; ++i) {
        std::vector<double> want;
        for (std::size_t j = 0; j < pre[i].size(); ++j) want.push_back(double(pre[i][j]) + a.grads[i][j]);
        CheckNormalized(kGruGradNames[i], acc.grads[i], want, 1e-5);
      }
    }
  });
}
