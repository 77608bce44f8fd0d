// Shared by the integer LSTM/GRU tests: a quantized recurrent test case
// (weights, scales, zero points) and a random integer case generator.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>
#include "qualm/kernels/int8_ops.h"
#include "qualm/kernels/recurrent.h"
#include "qualm/kernels/recurrent_s8.h"

namespace qk = qualm::kernels;
using qk::RequantMode;

namespace int8_rnn_test {


constexpr RequantMode kModes[] = {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat};
using I8 = std::vector<std::int8_t>;
using I16 = std::vector<std::int16_t>;
using I32 = std::vector<std::int32_t>;

// ---------------------------------------------------------------------------
// A quantized recurrent model (LSTM: G = 4, b_h unused; GRU: G = 3).
struct Case {
  int gates = 4;
  qk::RnnParams shape;
  qk::QuantParams input{0.02f, 0}, hidden{1.0f / 128, 0};
  std::vector<float> sx, sh;  // weight scales: 1, G or G*H
  I8 wx, wh, x;
  I32 bx, bh;                 // bh: GRU only
  float cell_scale = 1.0f / 2048;
  RequantMode mode = RequantMode::kGemmlowp;

  int H() const { return shape.hidden_size; }
  int I() const { return shape.input_size; }
  int Rows() const { return gates * H(); }
  static float ScaleAt(const std::vector<float>& s, int gates, int h, int r) {
    if (s.size() == 1) return s[0];
    if (s.size() == static_cast<std::size_t>(gates)) return s[static_cast<std::size_t>(r / h)];
    return s[static_cast<std::size_t>(r)];
  }
  float Sx(int r) const { return ScaleAt(sx, gates, H(), r); }
  float Sh(int r) const { return ScaleAt(sh, gates, H(), r); }
  std::string Name() const {
    return std::string(gates == 4 ? "lstm" : "gru") + " B" + std::to_string(shape.batch) + " T" +
           std::to_string(shape.seq_len) + " I" + std::to_string(I()) + " H" + std::to_string(H()) + " zp_x " +
           std::to_string(input.zero_point) + " zp_h " + std::to_string(hidden.zero_point) + " scales " +
           std::to_string(sx.size()) + " mode " + qk::RequantModeName(mode);
  }
  qk::LstmS8Params LstmParams() const {
    qk::LstmS8Params p;
    p.shape = shape, p.input = input, p.hidden = hidden, p.w_x_scales = sx, p.w_h_scales = sh;
    p.cell_scale = cell_scale, p.mode = mode;
    return p;
  }
  qk::LstmS8Weights LstmW() const { return {wx.data(), wh.data(), bx.empty() ? nullptr : bx.data()}; }
  qk::GruS8Params GruParams() const {
    qk::GruS8Params p;
    p.shape = shape, p.input = input, p.hidden = hidden, p.w_x_scales = sx, p.w_h_scales = sh, p.mode = mode;
    return p;
  }
  qk::GruS8Weights GruW() const {
    return {wx.data(), wh.data(), bx.empty() ? nullptr : bx.data(), bh.empty() ? nullptr : bh.data()};
  }
};

// Integer random model: full-range weights, scales chosen so that the
// pre-activations spread over the Q3.12 range (and past it: saturation).
inline Case RandomIntCase(int gates, int B, int T, int I, int H, int zp_x, int zp_h, int scale_count, RequantMode mode,
                   std::mt19937& rng, bool saturating_x = false) {
  Case c;
  c.gates = gates;
  c.shape = {B, T, I, H};
  c.input = {0.02f, zp_x};
  c.hidden = {1.0f / 128, zp_h};
  c.mode = mode;
  std::uniform_real_distribution<float> jitter(0.5f, 2.0f);
  // m = s_act * s_w * 4096 ~ 1 / sqrt(K): |acc| ~ 5400 sqrt(K) for random data,
  // so the pre-activations spread over about +-1.3 (real), past +-8 at the tails.
  auto scales = [&](float s_act, int k) {
    std::vector<float> s(static_cast<std::size_t>(scale_count));
    for (auto& v : s) v = jitter(rng) / (std::sqrt(static_cast<float>(k)) * 4096.0f * s_act);
    return s;
  };
  c.sx = scales(c.input.scale, I);
  c.sh = scales(c.hidden.scale, H);
    // Biases of about +-1 (real) in accumulator units: 4096 / m = 4096 sqrt(K).
  const int bmax = static_cast<int>(4096.0 * std::sqrt(static_cast<double>(I)));
  std::uniform_int_distribution<int> w(-127, 127), xv(-128, 127), sat(0, 1), bias(-bmax, bmax);
  c.wx.resize(static_cast<std::size_t>(c.Rows() * I));
  c.wh.resize(static_cast<std::size_t>(c.Rows() * H));
  for (auto& v : c.wx) v = static_cast<std::int8_t>(w(rng));
  for (auto& v : c.wh) v = static_cast<std::int8_t>(w(rng));
  c.x.resize(static_cast<std::size_t>(B * T * I));
  for (auto& v : c.x) v = static_cast<std::int8_t>(saturating_x ? (sat(rng) ? 127 : -128) : xv(rng));
  c.bx.resize(static_cast<std::size_t>(c.Rows()));
  for (auto& v : c.bx) v = bias(rng);
  if (gates == 3) {
    c.bh.resize(static_cast<std::size_t>(c.Rows()));
    for (auto& v : c.bh) v = bias(rng);
  }
  return c;
}

}  // namespace int8_rnn_test
