// Integer LSTM and GRU references (recurrent_s8.h), four ways each:
//  1. bit-exact against a second implementation written here: gate products
//     accumulated as sum w * (v - zp) + bias in int64 (no folding), the gate
//     functions and rounding shifts from gemmlowp's fixedpoint.h (the outside
//     oracle), the multipliers recomputed from the raw scales. Checks the
//     accumulation and folding separately from the cell math, over a grid of
//     shapes (1, primes 7 and 13, 16), zero points at both extremes, saturating
//     inputs, every scale granularity and all three RequantModes;
//  2. step by step against a double-precision oracle of the SAME quantized
//     formulation (real-valued math, exact sigmoid/tanh, each quantization step
//     emulated with round-half-away), fed the kernel's own state at every step
//     (teacher forcing, so one rounding difference cannot cascade). Per element
//     the int8 h must lie within 0.5 + a stated error of the oracle's real value;
//     the error is built from fixedpoint.h's documented accuracy (sigmoid 6.4,
//     tanh 11.8 units of 2^-15, ARITHMETIC.md) and the one-unit freedom of a
//     requantization near a tie. Also |h - round(oracle)| <= 1 everywhere, and
//     a stated minimum fraction exact;
//  3. free-running against the float references (ref::lstm_f32 / gru_f32 on the
//     dequantized model): mean and max abs error of the dequantized outputs;
//  4. Prepare: in int8_rnn_prepare_test.cpp.
#include <doctest/doctest.h>
#include <gemmlowp/fixedpoint/fixedpoint.h>

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

#include "int8_rnn_case.h"

using namespace int8_rnn_test;

namespace {
// A realistic model: float weights U(-k, k), k = 1/sqrt(H) (PyTorch's init),
// biases alike, x in U(-1, 1); quantized per gate (ChooseSymmetricParams of the
// gate block), x and h with ChooseQuantParams(-1, 1); biases round(b / (s_a s_w)).
struct FloatModel {
  std::vector<float> wx, wh, bx, bh, x;  // dequantized (exactly what the int8 model means)
};
Case RealisticCase(int gates, int B, int T, int I, int H, RequantMode mode, std::mt19937& rng, FloatModel* fm,
                   float hidden_lo = -1.0f) {
  Case c;
  c.gates = gates;
  c.shape = {B, T, I, H};
  c.mode = mode;
  c.input = *qk::ChooseQuantParams(-1.0f, 1.0f, -128, 127);
  c.hidden = *qk::ChooseQuantParams(hidden_lo, 1.0f, -128, 127);
  const float k = 1.0f / std::sqrt(static_cast<float>(H));
  std::uniform_real_distribution<float> u(-k, k), ux(-1.0f, 1.0f);
  auto quantize = [&](int K, std::vector<float>& scales, I8& q, std::vector<float>& deq) {
    const int rows = gates * H;
    std::vector<float> wf(static_cast<std::size_t>(rows * K));
    for (auto& v : wf) v = 2.5f * u(rng);  // a little larger than init: non-trivial dynamics
    scales.assign(static_cast<std::size_t>(gates), 1.0f);
    q.resize(wf.size());
    deq.resize(wf.size());
    for (int g = 0; g < gates; ++g) {
      float m = 0.0f;
      for (int i = g * H * K; i < (g + 1) * H * K; ++i) m = std::max(m, std::fabs(wf[static_cast<std::size_t>(i)]));
      scales[static_cast<std::size_t>(g)] = qk::ChooseSymmetricParams(m).scale;
    }
    for (int i = 0; i < rows * K; ++i) {
      const float s = scales[static_cast<std::size_t>(i / K / H)];
      const auto ui = static_cast<std::size_t>(i);
      q[ui] = static_cast<std::int8_t>(
          qk::QuantizeValue(wf[ui], s, 0, -127, 127, qk::RoundingMode::kHalfAwayFromZero));
      deq[ui] = static_cast<float>(static_cast<double>(s) * q[ui]);
    }
  };
  quantize(I, c.sx, c.wx, fm->wx);
  quantize(H, c.sh, c.wh, fm->wh);
  auto bias = [&](float s_act, const std::vector<float>& sw, I32& q, std::vector<float>& deq) {
    q.resize(static_cast<std::size_t>(gates * H));
    deq.resize(q.size());
    for (int r = 0; r < gates * H; ++r) {
      const double s = static_cast<double>(s_act) * sw[static_cast<std::size_t>(r / H)];
      q[static_cast<std::size_t>(r)] = qk::QuantizeBiasS8(u(rng), s_act, sw[static_cast<std::size_t>(r / H)]);
      deq[static_cast<std::size_t>(r)] = static_cast<float>(s * q[static_cast<std::size_t>(r)]);
    }
  };
  bias(c.input.scale, c.sx, c.bx, fm->bx);
  if (gates == 3) bias(c.hidden.scale, c.sh, c.bh, fm->bh);
  c.x.resize(static_cast<std::size_t>(B * T * I));
  fm->x.resize(c.x.size());
  for (std::size_t i = 0; i < c.x.size(); ++i) {
    c.x[i] = static_cast<std::int8_t>(qk::QuantizeValue(ux(rng), c.input.scale, c.input.zero_point, -128, 127,
                                                        qk::RoundingMode::kHalfAwayFromZero));
    fm->x[i] = qk::DequantizeValue(c.x[i], c.input.scale, c.input.zero_point);
  }
  return c;
}

// ---------------------------------------------------------------------------
// Running the kernels.
struct Out {
  I8 y, h_n;
  I16 c_n;  // LSTM cell / GRU Q0.15 state
};

Out RunLstm(const Case& c, const std::int8_t* h0 = nullptr, const std::int16_t* c0 = nullptr,
            const std::int8_t* x = nullptr) {
  auto prep = qk::PrepareLstmS8(c.LstmParams(), c.LstmW());
  INFO(c.Name() << ": " << (prep.ok() ? std::string("ok") : prep.status().ToString()));
  REQUIRE(prep.ok());
  const auto B = static_cast<std::size_t>(c.shape.batch), T = static_cast<std::size_t>(c.shape.seq_len),
             H = static_cast<std::size_t>(c.H());
  Out o{I8(B * T * H), I8(B * H), I16(B * H)};
  I16 scratch(qk::ref::lstm_s8_scratch_int16(c.shape));
  qk::ref::lstm_s8(*prep, c.LstmW(),
                   {.x = x ? x : c.x.data(), .h0 = h0, .c0 = c0, .y = o.y.data(), .h_n = o.h_n.data(),
                    .c_n = o.c_n.data()},
                   scratch.data());
  return o;
}

Out RunGru(const Case& c, const std::int16_t* s0 = nullptr, const std::int8_t* x = nullptr) {
  auto prep = qk::PrepareGruS8(c.GruParams(), c.GruW());
  INFO(c.Name() << ": " << (prep.ok() ? std::string("ok") : prep.status().ToString()));
  REQUIRE(prep.ok());
  const auto B = static_cast<std::size_t>(c.shape.batch), T = static_cast<std::size_t>(c.shape.seq_len),
             H = static_cast<std::size_t>(c.H());
  Out o{I8(B * T * H), I8(B * H), I16(B * H)};
  I16 scratch(qk::ref::gru_s8_scratch_int16(c.shape));
  qk::ref::gru_s8(*prep, c.GruW(),
                  {.x = x ? x : c.x.data(), .s0 = s0, .y = o.y.data(), .h_n = o.h_n.data(), .s_n = o.c_n.data()},
                  scratch.data());
  return o;
}

// ---------------------------------------------------------------------------
// 1. The second implementation: int64 gate products, gemmlowp cell math.
template <int k>
std::int16_t GLogistic(std::int16_t a) {
  return gemmlowp::logistic(gemmlowp::FixedPoint<std::int16_t, k>::FromRaw(a)).raw();
}
template <int k>
std::int16_t GTanh(std::int16_t a) {
  return gemmlowp::tanh(gemmlowp::FixedPoint<std::int16_t, k>::FromRaw(a)).raw();
}
template <int N = 0>
std::int16_t GTanhBits(std::int16_t a, int bits) {
  if constexpr (N > 12) {
    FAIL("unsupported integer bits ", bits);
    return 0;
  } else {
    return bits == N ? GTanh<N>(a) : GTanhBits<N + 1>(a, bits);
  }
}
std::int16_t Clamp16(std::int64_t v) {
  return static_cast<std::int16_t>(std::min<std::int64_t>(32767, std::max<std::int64_t>(-32768, v)));
}
std::int32_t GRdbpot(std::int32_t x, int e) { return gemmlowp::RoundingDivideByPOT(x, e); }

struct IntModel {
  std::vector<qk::Requant> rx, rh;
  qk::Requant out;
};
IntModel Multipliers(const Case& c, double out_num) {
  IntModel m;
  for (int r = 0; r < c.Rows(); ++r) {
    m.rx.push_back(*qk::QuantizeMultiplier(static_cast<double>(c.input.scale) * c.Sx(r) * 4096.0));
    m.rh.push_back(*qk::QuantizeMultiplier(static_cast<double>(c.hidden.scale) * c.Sh(r) * 4096.0));
  }
  m.out = *qk::QuantizeMultiplier(out_num / c.hidden.scale);
  return m;
}
// RQ(sum_k w[r][k] * (v[k] - zp) + bias) with the sum in int64.
std::int32_t Product64(const Case& c, const qk::Requant& rq, const std::int8_t* w_row, const std::int8_t* v, int K,
                       int zp, std::int64_t bias) {
  std::int64_t acc = bias;
  for (int k = K - 1; k >= 0; --k) acc += std::int64_t{w_row[k]} * (std::int64_t{v[k]} - zp);  // descending
  if (acc != static_cast<std::int32_t>(acc)) FAIL("int64 accumulator ", acc, " does not fit int32");
  return qk::MultiplyByQuantizedMultiplier(static_cast<std::int32_t>(acc), rq, c.mode);
}

Out SecondLstm(const Case& c) {
  const int B = c.shape.batch, T = c.shape.seq_len, I = c.I(), H = c.H();
  int e = 0;
  std::frexp(c.cell_scale, &e);
  e -= 1;
  const IntModel m = Multipliers(c, std::ldexp(1.0, -30));
  Out o{I8(static_cast<std::size_t>(B * T * H)), I8(static_cast<std::size_t>(B * H)),
        I16(static_cast<std::size_t>(B * H))};
  for (int b = 0; b < B; ++b) {
    I8 h(static_cast<std::size_t>(H), static_cast<std::int8_t>(c.hidden.zero_point));
    I16 cell(static_cast<std::size_t>(H), 0);
    for (int t = 0; t < T; ++t) {
      const std::int8_t* xt = &c.x[static_cast<std::size_t>((b * T + t) * I)];
      std::vector<std::int16_t> pre(static_cast<std::size_t>(4 * H));
      for (int r = 0; r < 4 * H; ++r) {
        const std::int64_t bias = c.bx.empty() ? 0 : c.bx[static_cast<std::size_t>(r)];
        const std::int16_t a =
            Clamp16(Product64(c, m.rx[static_cast<std::size_t>(r)], &c.wx[static_cast<std::size_t>(r * I)], xt, I,
                              c.input.zero_point, bias));
        const std::int32_t bh = Product64(c, m.rh[static_cast<std::size_t>(r)], &c.wh[static_cast<std::size_t>(r * H)],
                                          h.data(), H, c.hidden.zero_point, 0);
        pre[static_cast<std::size_t>(r)] = Clamp16(std::int64_t{a} + bh);
      }
      for (int j = 0; j < H; ++j) {
        const auto J = static_cast<std::size_t>(j), uH = static_cast<std::size_t>(H);
        const std::int32_t ig = GLogistic<3>(pre[J]), fg = GLogistic<3>(pre[uH + J]), gg = GTanh<3>(pre[2 * uH + J]),
                           og = GLogistic<3>(pre[3 * uH + J]);
        cell[J] = Clamp16(std::int64_t{GRdbpot(fg * cell[J], 15)} + GRdbpot(ig * gg, 30 + e));
        const std::int32_t tc = GTanhBits(cell[J], 15 + e);
        h[J] = static_cast<std::int8_t>(qk::RequantizeToRange(og * tc, m.out, c.mode, c.hidden.zero_point, -128, 127));
        o.y[static_cast<std::size_t>((b * T + t) * H + j)] = h[J];
      }
    }
    std::copy(h.begin(), h.end(), o.h_n.begin() + b * H);
    std::copy(cell.begin(), cell.end(), o.c_n.begin() + b * H);
  }
  return o;
}

Out SecondGru(const Case& c) {
  const int B = c.shape.batch, T = c.shape.seq_len, I = c.I(), H = c.H();
  const IntModel m = Multipliers(c, std::ldexp(1.0, -15));
  Out o{I8(static_cast<std::size_t>(B * T * H)), I8(static_cast<std::size_t>(B * H)),
        I16(static_cast<std::size_t>(B * H))};
  auto to_h = [&](std::int16_t s) {
    return static_cast<std::int8_t>(qk::RequantizeToRange(s, m.out, c.mode, c.hidden.zero_point, -128, 127));
  };
  for (int b = 0; b < B; ++b) {
    I16 s(static_cast<std::size_t>(H), 0);
    I8 h(static_cast<std::size_t>(H), to_h(0));
    for (int t = 0; t < T; ++t) {
      const std::int8_t* xt = &c.x[static_cast<std::size_t>((b * T + t) * I)];
      std::vector<std::int32_t> px(static_cast<std::size_t>(3 * H)), ph(px.size());
      for (int r = 0; r < 3 * H; ++r) {
        const auto R = static_cast<std::size_t>(r);
        px[R] = Product64(c, m.rx[R], &c.wx[static_cast<std::size_t>(r * I)], xt, I, c.input.zero_point,
                          c.bx.empty() ? 0 : c.bx[R]);
        ph[R] = Product64(c, m.rh[R], &c.wh[static_cast<std::size_t>(r * H)], h.data(), H, c.hidden.zero_point,
                          c.bh.empty() ? 0 : c.bh[R]);
      }
      for (int j = 0; j < H; ++j) {
        const auto J = static_cast<std::size_t>(j), uH = static_cast<std::size_t>(H);
        const std::int32_t z = GLogistic<3>(Clamp16(std::int64_t{Clamp16(px[J])} + ph[J]));
        const std::int32_t r = GLogistic<3>(Clamp16(std::int64_t{Clamp16(px[uH + J])} + ph[uH + J]));
        const std::int32_t hn = Clamp16(ph[2 * uH + J]);
        const std::int32_t n =
            GTanh<3>(Clamp16(std::int64_t{Clamp16(px[2 * uH + J])} + Clamp16(GRdbpot(r * hn, 15))));
        s[J] = Clamp16(std::int64_t{n} + GRdbpot(z * (s[J] - n), 15));
        h[J] = to_h(s[J]);
        o.y[static_cast<std::size_t>((b * T + t) * H + j)] = h[J];
      }
    }
    std::copy(h.begin(), h.end(), o.h_n.begin() + b * H);
    std::copy(s.begin(), s.end(), o.c_n.begin() + b * H);
  }
  return o;
}

template <typename V>
std::size_t CountDiff(const V& a, const V& b, std::string* first) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i] && n++ == 0)
      *first = "index " + std::to_string(i) + ": kernel " + std::to_string(a[i]) + ", second " + std::to_string(b[i]);
  }
  return n;
}

struct GridStats {
  std::size_t outputs = 0, at_min = 0, at_max = 0;
  std::set<int> distinct;
  void Add(const I8& y) {
    outputs += y.size();
    for (auto v : y) {
      distinct.insert(v);
      at_min += v == -128;
      at_max += v == 127;
    }
  }
};

void CheckBitExact(const Case& c, GridStats* stats) {
  const bool lstm = c.gates == 4;
  const Out k = lstm ? RunLstm(c) : RunGru(c);
  const Out s = lstm ? SecondLstm(c) : SecondGru(c);
  std::string f1, f2, f3;
  const std::size_t dy = CountDiff(k.y, s.y, &f1), dh = CountDiff(k.h_n, s.h_n, &f2), dc = CountDiff(k.c_n, s.c_n, &f3);
  INFO(c.Name() << ": y " << dy << " differ (" << f1 << "), h_n " << dh << " (" << f2 << "), state " << dc << " ("
                << f3 << ")");
  CHECK(dy == 0);
  CHECK(dh == 0);
  CHECK(dc == 0);
  // h_n is the last step of y.
  const int T = c.shape.seq_len, H = c.H();
  for (int b = 0; b < c.shape.batch; ++b)
    for (int j = 0; j < H; ++j)
      CHECK(k.h_n[static_cast<std::size_t>(b * H + j)] == k.y[static_cast<std::size_t>((b * T + T - 1) * H + j)]);
  stats->Add(k.y);
}

void BitExactGrid(int gates) {
  std::mt19937 rng(gates == 4 ? 1234u : 4321u);
  struct Shape {
    int B, T, I, H;
  };
  const Shape shapes[] = {{1, 1, 1, 1}, {1, 1, 7, 13}, {2, 5, 13, 7}, {3, 4, 1, 1}, {1, 6, 16, 16}, {2, 3, 10, 1},
                          {1, 2, 1, 13}};
  const int zps[][2] = {{0, 0}, {-128, 127}, {127, -128}, {5, -3}};
  GridStats st, normal, saturating;  // all; zero points near 0 and ordinary inputs; saturating inputs
  int cases = 0;
  for (const RequantMode mode : kModes) {
    for (const Shape& s : shapes) {
      for (const auto& zp : zps) {
        for (int granularity = 0; granularity < 3; ++granularity) {
          const int count = granularity == 0 ? 1 : granularity == 1 ? gates : gates * s.H;
          Case c = RandomIntCase(gates, s.B, s.T, s.I, s.H, zp[0], zp[1], count, mode, rng);
          if (granularity == 2 && gates == 4) c.cell_scale = 1.0f / 4096;  // another cell exponent
          CheckBitExact(c, &st);
          if (zp[0] != -128 && zp[0] != 127) CheckBitExact(c, &normal);
          ++cases;
        }
      }
    }
    // Saturating inputs (only -128 / 127), large biases, extreme zero points.
    for (const auto& zp : zps) {
      Case c = RandomIntCase(gates, 2, 5, 13, 7, zp[0], zp[1], gates, mode, rng, /*saturating_x=*/true);
      for (auto& v : c.sx) v *= 8.0f;  // pre-activations far past +-8: Q3.12 saturates
      CheckBitExact(c, &st);
      CheckBitExact(c, &saturating);
      ++cases;
    }
    // Cell exponents at both supported ends (LSTM) and no biases at all.
    Case c = RandomIntCase(gates, 2, 6, 7, 13, 3, -7, 1, mode, rng);
    c.bx.clear(), c.bh.clear();
    if (gates == 4) {
      for (const float cs : {std::ldexp(1.0f, -15), std::ldexp(1.0f, -3)}) {
        c.cell_scale = cs;
        CheckBitExact(c, &st);
        ++cases;
      }
    } else {
      CheckBitExact(c, &st);
      ++cases;
    }
  }
  MESSAGE(std::string(gates == 4 ? "lstm" : "gru"), ": ", cases, " cases, ", st.outputs, " outputs bit-exact; ", st.distinct.size(),
          " distinct values, ", st.at_min, " at -128, ", st.at_max, " at 127");
  MESSAGE("ordinary cases: ", normal.outputs, " outputs, ", normal.distinct.size(), " distinct, ", normal.at_min,
          " at -128, ", normal.at_max, " at 127; saturating inputs: ", saturating.outputs, " outputs, ",
          saturating.at_min, " at -128, ", saturating.at_max, " at 127");
  // Distrust: the grid must exercise the whole int8 range; the ordinary cases
  // must be mostly unclamped, and the saturating ones must reach both ends.
  CHECK(st.distinct.size() >= 200);
  CHECK(normal.distinct.size() >= 100);
  CHECK((normal.at_min + normal.at_max) * 10 < normal.outputs);
  CHECK(saturating.at_min > 0);
  CHECK(saturating.at_max > 0);
}

// ---------------------------------------------------------------------------
// 2. The double-precision oracle of the same formulation, one step, one batch row.
// Accuracy of fixedpoint.h against the exact functions (ARITHMETIC.md), plus
// the oracle's own rounding of the gate (0.5) and the effect of the kernel's
// pre-activation being up to 2 units of 2^-12 from the oracle's (each of the two
// requantized products may round the other way near a tie): sigmoid' <= 1/4,
// tanh' <= 1; one unit of 2^-12 is 8 units of 2^-15.
constexpr double kSigmoidErr = 6.4 + 0.5 + 2 * 8 * 0.25;  // units of 2^-15
constexpr double kTanhGateErr = 11.8 + 0.5 + 2 * 8;       // tanh of a Q3.12 pre-activation
constexpr double kTanhErr = 11.8 + 0.5;                   // tanh of an exact int16
constexpr double kTwo15 = 32768.0;
// The final requantization's own slack beyond 0.5: kGemmlowp's first rounding
// (2^-(right+1), right >= 7 for M = 2^-15 / s_h with s_h <= 2^-7) and kFloat's
// float product (|r| 2^-22 < 2^-15).
constexpr double kFinalRequantErr = 1.0 / 128;

double RoundHalfAway(double v) { return std::round(v); }
double Clamp(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }
double Sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// The two Q3.12 gate products of row r in real arithmetic, emulated roundings.
struct PreReal {
  double a, b;  // requantized products, rounded (Q3.12 units); a clamped
};
PreReal GateProducts(const Case& c, int r, const std::int8_t* xt, const std::int8_t* h, bool with_bh) {
  double ax = c.bx.empty() ? 0.0 : c.bx[static_cast<std::size_t>(r)];
  for (int i = 0; i < c.I(); ++i) ax += double(c.wx[static_cast<std::size_t>(r * c.I() + i)]) * (xt[i] - c.input.zero_point);
  double ah = with_bh && !c.bh.empty() ? c.bh[static_cast<std::size_t>(r)] : 0.0;
  for (int j = 0; j < c.H(); ++j) ah += double(c.wh[static_cast<std::size_t>(r * c.H() + j)]) * (h[j] - c.hidden.zero_point);
  const double mx = double(c.input.scale) * c.Sx(r) * 4096.0, mh = double(c.hidden.scale) * c.Sh(r) * 4096.0;
  return {Clamp(RoundHalfAway(ax * mx), -32768, 32767), RoundHalfAway(ah * mh)};
}
double GateQ15(double v) { return Clamp(RoundHalfAway(v * kTwo15), -32768, 32767); }

struct OracleStats {
  std::size_t n = 0, exact = 0, off_by_one = 0, bad = 0, bad_state = 0;
  double max_dev = 0, max_state_dev = 0, max_allowed = 0;  // |h - oracle real| and its bound
  std::string first;
  void Report(const std::string& what) const {
    MESSAGE(what, ": ", n, " outputs, ", exact, " equal to the oracle rounded (", 100.0 * exact / double(n),
            "%), ", off_by_one, " one unit off; max |h - oracle real| ", max_dev, " (largest bound used ",
            max_allowed, "), max state deviation ", max_state_dev, " units");
  }
};

void CheckH(OracleStats* st, const Case& c, int got, double real, double err_h, const std::string& where) {
  const double r = Clamp(real, -128, 127);
  const double allowed = 0.5 + err_h + 1e-6;
  const double dev = std::fabs(got - r);
  const double rounded = Clamp(RoundHalfAway(real), -128, 127);
  ++st->n;
  st->max_dev = std::max(st->max_dev, dev);
  st->max_allowed = std::max(st->max_allowed, allowed);
  if (got == rounded) ++st->exact;
  else if (std::fabs(got - rounded) == 1) ++st->off_by_one;
  if ((dev > allowed || std::fabs(got - rounded) > 1) && st->bad++ == 0)
    st->first = c.Name() + " " + where + ": got " + std::to_string(got) + ", oracle real " + std::to_string(real) +
                ", allowed deviation " + std::to_string(allowed);
}
void CheckState(OracleStats* st, const Case& c, int got, double want, double allowed, const std::string& where) {
  const double dev = std::fabs(got - want);
  st->max_state_dev = std::max(st->max_state_dev, dev);
  if (dev > allowed + 1e-6 && st->bad_state++ == 0)
    st->first = c.Name() + " " + where + ": state " + std::to_string(got) + ", oracle " + std::to_string(want) +
                ", allowed " + std::to_string(allowed);
}

// Slices step t of x ([B][T][I] -> [B][1][I]).
I8 StepX(const Case& c, int t) {
  I8 xs;
  for (int b = 0; b < c.shape.batch; ++b)
    for (int i = 0; i < c.I(); ++i) xs.push_back(c.x[static_cast<std::size_t>((b * c.shape.seq_len + t) * c.I() + i)]);
  return xs;
}

// Runs the kernel one step at a time (state passed back in), checks every step
// against the oracle, and checks that the chained steps equal one full run.
void OracleLstm(const Case& c, OracleStats* st) {
  const int B = c.shape.batch, T = c.shape.seq_len, I = c.I(), H = c.H();
  int e = 0;
  std::frexp(c.cell_scale, &e);
  e -= 1;
  const double cell_unit = std::ldexp(1.0, e);
  Case step = c;
  step.shape.seq_len = 1;
  I8 h(static_cast<std::size_t>(B * H), static_cast<std::int8_t>(c.hidden.zero_point));
  I16 cell(static_cast<std::size_t>(B * H), 0);
  I8 y_chained(static_cast<std::size_t>(B * T * H));
  for (int t = 0; t < T; ++t) {
    const I8 xs = StepX(c, t);
    const Out o = RunLstm(step, h.data(), cell.data(), xs.data());
    for (int b = 0; b < B; ++b) {
      const std::int8_t* hp = &h[static_cast<std::size_t>(b * H)];
      const std::int8_t* xt = &xs[static_cast<std::size_t>(b * I)];
      for (int j = 0; j < H; ++j) {
        double pre[4];
        for (int g = 0; g < 4; ++g) {
          const PreReal p = GateProducts(c, g * H + j, xt, hp, false);
          pre[g] = Clamp(p.a + p.b, -32768, 32767) / 4096.0;
        }
        const double ig = GateQ15(Sigmoid(pre[0])), fg = GateQ15(Sigmoid(pre[1])), gg = GateQ15(std::tanh(pre[2])),
                     og = GateQ15(Sigmoid(pre[3]));
        const double cp = cell[static_cast<std::size_t>(b * H + j)];
        const double c_new = Clamp(RoundHalfAway(fg * cp / kTwo15) + RoundHalfAway(ig * gg / std::ldexp(1.0, 30 + e)),
                                   -32768, 32767);
        // Bound on |kernel c - oracle c| in cell units: each side rounds two terms.
        const double c_err = 2 + kSigmoidErr * std::fabs(cp) / kTwo15 + (kSigmoidErr + kTanhGateErr) / (kTwo15 * cell_unit);
        const double tc = GateQ15(std::tanh(c_new * cell_unit));
        const double tc_err = kTanhErr + c_err * cell_unit * kTwo15;  // units of 2^-15
        const double h_real = og * tc / std::ldexp(1.0, 30) / c.hidden.scale + c.hidden.zero_point;
        const double h_err = (kSigmoidErr + tc_err) / kTwo15 / c.hidden.scale + kFinalRequantErr;
        const std::string where = "t " + std::to_string(t) + " b " + std::to_string(b) + " j " + std::to_string(j);
        const auto k = static_cast<std::size_t>(b * H + j);
        CheckH(st, c, o.h_n[k], h_real, h_err, where);
        CheckState(st, c, o.c_n[k], c_new, c_err, where);
        y_chained[static_cast<std::size_t>((b * T + t) * H + j)] = o.h_n[k];
      }
    }
    h = o.h_n;
    cell = o.c_n;
  }
  const Out full = RunLstm(c);
  CHECK_MESSAGE(full.y == y_chained, c.Name(), ": T steps at once differ from T chained single steps");
  CHECK(full.c_n == cell);
}

void OracleGru(const Case& c, OracleStats* st) {
  const int B = c.shape.batch, T = c.shape.seq_len, I = c.I(), H = c.H();
  Case step = c;
  step.shape.seq_len = 1;
  I16 s(static_cast<std::size_t>(B * H), 0);
  I8 y_chained(static_cast<std::size_t>(B * T * H));
  I8 h(static_cast<std::size_t>(B * H), static_cast<std::int8_t>(c.hidden.zero_point));
  for (int t = 0; t < T; ++t) {
    const I8 xs = StepX(c, t);
    const Out o = RunGru(step, s.data(), xs.data());
    for (int b = 0; b < B; ++b) {
      const std::int8_t* hp = &h[static_cast<std::size_t>(b * H)];
      const std::int8_t* xt = &xs[static_cast<std::size_t>(b * I)];
      for (int j = 0; j < H; ++j) {
        const PreReal pz = GateProducts(c, j, xt, hp, true), pr = GateProducts(c, H + j, xt, hp, true),
                      pn = GateProducts(c, 2 * H + j, xt, hp, true);
        const double z = GateQ15(Sigmoid(Clamp(pz.a + pz.b, -32768, 32767) / 4096.0));
        const double r = GateQ15(Sigmoid(Clamp(pr.a + pr.b, -32768, 32767) / 4096.0));
        const double hn = Clamp(pn.b, -32768, 32767);
        const double npre = Clamp(pn.a + RoundHalfAway(r * hn / kTwo15), -32768, 32767);
        const double n = GateQ15(std::tanh(npre / 4096.0));
        const double sp = s[static_cast<std::size_t>(b * H + j)];
        const double s_new = Clamp(RoundHalfAway(n + z * (sp - n) / kTwo15), -32768, 32767);
        // Error budget (units of 2^-12 for npre, of 2^-15 for n and s).
        const double npre_err = 1 + 1 + 1 + kSigmoidErr * std::fabs(hn) / kTwo15;  // xn, hn, rounding of r*hn, dr
        const double n_err = kTanhErr + 8 * npre_err;
        const double s_err = 1 + n_err + kSigmoidErr * std::fabs(sp - n) / kTwo15;
        const double h_real = s_new / kTwo15 / c.hidden.scale + c.hidden.zero_point;
        const double h_err = s_err / kTwo15 / c.hidden.scale + kFinalRequantErr;
        const std::string where = "t " + std::to_string(t) + " b " + std::to_string(b) + " j " + std::to_string(j);
        const auto k = static_cast<std::size_t>(b * H + j);
        CheckH(st, c, o.h_n[k], h_real, h_err, where);
        CheckState(st, c, o.c_n[k], s_new, s_err, where);
        y_chained[static_cast<std::size_t>((b * T + t) * H + j)] = o.h_n[k];
      }
    }
    h = o.h_n;
    s = o.c_n;
  }
  const Out full = RunGru(c);
  CHECK_MESSAGE(full.y == y_chained, c.Name(), ": T steps at once differ from T chained single steps");
  CHECK(full.c_n == s);
}

void OracleSuite(int gates, double min_exact_fraction) {
  std::mt19937 rng(gates == 4 ? 77u : 78u);
  for (const RequantMode mode : kModes) {
    OracleStats st;
    struct Shape {
      int B, T, I, H;
    };
    for (const Shape s : {Shape{2, 12, 8, 16}, Shape{1, 8, 13, 7}, Shape{3, 5, 1, 1}}) {
      FloatModel fm;
      Case c = RealisticCase(gates, s.B, s.T, s.I, s.H, mode, rng, &fm);
      gates == 4 ? OracleLstm(c, &st) : OracleGru(c, &st);
      // An asymmetric hidden range (zp far from 0) and the integer grid's extremes.
      Case a = RealisticCase(gates, s.B, s.T, s.I, s.H, mode, rng, &fm, -0.25f);
      gates == 4 ? OracleLstm(a, &st) : OracleGru(a, &st);
    }
    Case sat = RandomIntCase(gates, 2, 6, 13, 7, -128, 127, gates, mode, rng, true);
    gates == 4 ? OracleLstm(sat, &st) : OracleGru(sat, &st);
    Case sat2 = RandomIntCase(gates, 2, 6, 7, 13, 127, -128, gates * 13, mode, rng, true);
    gates == 4 ? OracleLstm(sat2, &st) : OracleGru(sat2, &st);
    st.Report(std::string(gates == 4 ? "lstm" : "gru") + " vs double oracle, " + qk::RequantModeName(mode));
    INFO(st.first);
    CHECK(st.bad == 0);
    CHECK(st.bad_state == 0);
    CHECK(double(st.exact) >= min_exact_fraction * double(st.n));
  }
}

// ---------------------------------------------------------------------------
// 3. Against the float references on the dequantized model.
struct FloatStats {
  double mean = 0, max = 0, mean_units = 0, max_units = 0;
  std::size_t n = 0, distinct = 0;
};
FloatStats CompareFloat(int gates, RequantMode mode, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const int B = 4, T = 24, I = 16, H = 32;
  FloatModel fm;
  const Case c = RealisticCase(gates, B, T, I, H, mode, rng, &fm);
  std::vector<float> yf(static_cast<std::size_t>(B * T * H));
  const Out o = gates == 4 ? RunLstm(c) : RunGru(c);
  if (gates == 4) {
    qk::LstmWeights w{fm.wx.data(), fm.wh.data(), fm.bx.data()};
    qk::ref::lstm_f32(c.shape, w, fm.x.data(), nullptr, nullptr, yf.data(), nullptr, nullptr, nullptr, nullptr);
  } else {
    qk::GruWeights w{fm.wx.data(), fm.wh.data(), fm.bx.data(), fm.bh.data()};
    qk::ref::gru_f32(c.shape, w, fm.x.data(), nullptr, yf.data(), nullptr, nullptr, nullptr);
  }
  FloatStats s;
  std::set<int> distinct;
  for (std::size_t i = 0; i < yf.size(); ++i) {
    const double d = std::fabs(double(qk::DequantizeValue(o.y[i], c.hidden.scale, c.hidden.zero_point)) - yf[i]);
    s.mean += d;
    s.max = std::max(s.max, d);
    distinct.insert(o.y[i]);
  }
  s.n = yf.size();
  s.mean /= double(s.n);
  s.mean_units = s.mean / c.hidden.scale;
  s.max_units = s.max / c.hidden.scale;
  s.distinct = distinct.size();
  return s;
}

void FloatSuite(int gates) {
  for (const RequantMode mode : kModes) {
    for (std::uint32_t seed : {5u, 6u}) {
      const FloatStats s = CompareFloat(gates, mode, seed);
      MESSAGE(std::string(gates == 4 ? "lstm" : "gru"), " vs float, ", std::string(qk::RequantModeName(mode)), " seed ", seed, ": mean |err| ",
              s.mean_units, " s_h, max ", s.max_units, " s_h over ", s.n, " outputs (", s.distinct, " distinct)");
      // Bounds: rounding h to int8 alone costs 0.25 s_h on average and 0.5 s_h at
      // most; the int8 feedback and the gate approximations (<= 12 units of
      // 2^-15 = 0.05 s_h) add a little (measured: mean 0.27, max 1.11 s_h).
      CHECK(s.mean_units <= 0.5);
      CHECK(s.max_units <= 2.0);
      CHECK(s.distinct >= 40);     // not degenerate (mostly constant or saturated)
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------
TEST_CASE("int8 lstm bit-exact vs int64 gate products and gemmlowp cell math over a grid in all modes") {
  BitExactGrid(4);
}

TEST_CASE("int8 gru bit-exact vs int64 gate products and gemmlowp cell math over a grid in all modes") {
  BitExactGrid(3);
}

TEST_CASE("int8 lstm step by step vs the double oracle of the same formulation") { OracleSuite(4, 0.95); }

TEST_CASE("int8 gru step by step vs the double oracle of the same formulation") { OracleSuite(3, 0.95); }

TEST_CASE("int8 lstm vs float lstm_f32 on the dequantized model") { FloatSuite(4); }

TEST_CASE("int8 gru vs float gru_f32 on the dequantized model") { FloatSuite(3); }
