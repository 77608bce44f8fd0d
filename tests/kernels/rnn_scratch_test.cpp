// The reference LSTM/GRU give the same bits with caller scratch as with their
// own allocation (the executor relies on this to run without the heap).
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "qualm/kernels/recurrent.h"

namespace qualm::kernels {
namespace {

std::vector<float> Random(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(static_cast<int>(g() % 2001) - 1000) / 1000.0f;
  return v;
}

bool Same(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_CASE("ref lstm and gru: caller scratch gives the same bits as internal allocation") {
  RnnParams p;
  p.batch = 3;
  p.seq_len = 7;
  p.input_size = 5;
  p.hidden_size = 4;
  const std::size_t B = 3, T = 7, I = 5, H = 4;
  const auto x = Random(B * T * I, 1), dy = Random(B * T * H, 2);
  for (int gates : {4, 3}) {
    INFO("gates " << gates);
    const auto wx = Random(gates * H * I, 3), wh = Random(gates * H * H, 4), b1 = Random(gates * H, 5),
               b2 = Random(gates * H, 6);
    std::vector<float> outs[2], grads[2];
    for (int use_scratch = 0; use_scratch < 2; ++use_scratch) {
      // Garbage-filled scratch: the kernels must write before they read.
      std::vector<float> scratch(gates == 4 ? ref::lstm_scratch_floats(p) : ref::gru_scratch_floats(p), 1e30f);
      float* s = use_scratch ? scratch.data() : nullptr;
      std::vector<float> y(B * T * H), ws_g(B * T * gates * H), ws_s(B * T * H), dx(B * T * I);
      std::vector<float> gwx(wx.size()), gwh(wh.size()), gb1(b1.size()), gb2(b2.size());
      if (gates == 4) {
        LstmWeights w{wx.data(), wh.data(), b1.data()};
        ref::lstm_f32(p, w, x.data(), nullptr, nullptr, y.data(), nullptr, nullptr, ws_g.data(), ws_s.data(), s);
        ref::lstm_backward_f32(p, w, x.data(), nullptr, nullptr, y.data(), ws_g.data(), ws_s.data(), dy.data(),
                               nullptr, nullptr, dx.data(), LstmGrads{gwx.data(), gwh.data(), gb1.data()}, nullptr,
                               nullptr, s);
      } else {
        GruWeights w{wx.data(), wh.data(), b1.data(), b2.data()};
        ref::gru_f32(p, w, x.data(), nullptr, y.data(), nullptr, ws_g.data(), ws_s.data(), s);
        ref::gru_backward_f32(p, w, x.data(), nullptr, y.data(), ws_g.data(), ws_s.data(), dy.data(), nullptr,
                              dx.data(), GruGrads{gwx.data(), gwh.data(), gb1.data(), gb2.data()}, nullptr, s);
      }
      outs[use_scratch] = y;
      grads[use_scratch] = dx;
      grads[use_scratch].insert(grads[use_scratch].end(), gwx.begin(), gwx.end());
      grads[use_scratch].insert(grads[use_scratch].end(), gwh.begin(), gwh.end());
    }
    CHECK(Same(outs[0], outs[1]));
    CHECK(Same(grads[0], grads[1]));
  }
}

}  // namespace
}  // namespace qualm::kernels
