// Hybrid (dynamic-quantization) LSTM and GRU (recurrent_hybrid.h, hybrid_quant.h).
//  1. bit-exact against the independent oracle (hybrid_test_util.h): its own
//     quantization of x_t and h_{t-1} per row and step, int64 accumulators in
//     descending order, the product expression typed out, and the float cell
//     math written out again from recurrent.h's formulas (so a kernel that
//     did not use the float reference's cell, or used the int8 h as its state,
//     fails);
//  2. against ref::lstm_f32 / gru_f32 on the dequantized weights, within a
//     bound derived from the quantization steps and propagated through time
//     (below, "the propagated bound"); in the normal cases the bound must stay
//     small, so the check cannot pass vacuously;
//  3. batch independence: one sample (with its own h0, c0) alone and as row 3
//     of a batch of 7 with very different neighbours gives the same bits;
//  4. awkward shapes (1, primes, I = 1, H = 1) and degenerate steps (all zero,
//     all negative, huge, tiny, a NaN at one step of one row).
// Prepare rejections for both are in hybrid_test.cpp.
//
// The propagated bound. Per row and step, with E_h, E_c the bounds on
// |h - h_f|, |c - c_f| after the previous step (0 at t = 0; the float run's
// post-activation gates, cells and states are read from its workspaces) and
// e_x, e_h the largest input error of a sample (OracleQuant::MaxError: half a
// step, 0.5001 s, or |x| itself for an all-zero / tiny sample), from the steps
// the kernel used for x_t and for its own h_{t-1}:
//   pre-activation, row r:  e_x sum|wx_r| + e_h sum|wh_r| + sum_k |wh_rk| E_h[k] + rounding
//   sigma is 1/4-Lipschitz and tanh 1-Lipschitz (+1e-6 for their float evaluation);
//   products: |a'b' - ab| <= |a| |b' - b| + |a' - a| (|b| + |b' - b|), with the float
//   run's values as a and b;
//   LSTM: c = f c_prev + i g, h = o tanh(c);  GRU: n = tanh(gx_n + r hh_n),
//   h = (1 - z) n + z h_prev.
// Capped at |h - h_f| <= 2 and |c - c_f| <= 2 (max|c_0| + t + 1), so that the
// (vacuous) bound of a huge-input step stays finite.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/hybrid_test_util.h"
#include "qualm/kernels/detail/det_math.h"
#include "qualm/kernels/recurrent_hybrid.h"
#include "qualm/kernels/recurrent.h"

using namespace hybrid_test;

namespace {

constexpr double kAct = 1e-6;  // float evaluation of sigma / tanh, and the cell's own rounding

// recurrent.h's sigma and tanh: the specified float functions of detail/det_math.h
// (not libm's), which the oracle must use to be bit-exact with any float cell.
float Sig(float v) { return qualm::kernels::detail::DetSigmoid(v); }
float Tanh(float v) { return qualm::kernels::detail::DetTanh(v); }

struct RnnCase {
  int gates = 4;
  qk::RnnParams shape;
  QWeights wx, wh;         // per row, or per-tensor (one scale)
  Vec b1, b2;              // LSTM: b1 = bias; GRU: b1 = b_x, b2 = b_h; empty = null
  Vec x, h0, c0;           // h0/c0 empty = null
  std::vector<Kind> kinds;  // per (b, t) row of x

  std::size_t B() const { return static_cast<std::size_t>(shape.batch); }
  std::size_t T() const { return static_cast<std::size_t>(shape.seq_len); }
  std::size_t I() const { return static_cast<std::size_t>(shape.input_size); }
  std::size_t H() const { return static_cast<std::size_t>(shape.hidden_size); }
  std::size_t G() const { return static_cast<std::size_t>(gates) * H(); }
  float Sx(std::size_t r) const { return wx.scales.size() == 1 ? wx.scales[0] : wx.scales[r]; }
  float Sh(std::size_t r) const { return wh.scales.size() == 1 ? wh.scales[0] : wh.scales[r]; }
  static const float* P(const Vec& v) { return v.empty() ? nullptr : v.data(); }
  std::string Name() const {
    return std::string(gates == 4 ? "lstm_hybrid" : "gru_hybrid") + " B" + std::to_string(B()) + " T" +
           std::to_string(T()) + " I" + std::to_string(I()) + " H" + std::to_string(H()) +
           (wx.scales.size() == 1 ? " per-tensor" : "") + (b1.empty() ? " no-bias" : "") + (h0.empty() ? "" : " h0");
  }
};

RnnCase MakeCase(int gates, int B, int T, int I, int H, bool per_tensor, bool bias, bool init,
                 std::vector<Kind> kinds, unsigned seed) {
  std::mt19937 rng(seed);
  RnnCase c;
  c.gates = gates;
  c.shape = {B, T, I, H};
  const std::size_t G = c.G();
  // PyTorch's initialization, U(-1/sqrt(H), 1/sqrt(H)) for every weight and
  // bias: the recurrence then forgets its errors at a realistic rate.
  const float a = 1.0f / std::sqrt(static_cast<float>(H));
  c.wx = per_tensor ? MakeWeights(1, G * I, a, rng) : MakeWeights(G, static_cast<std::size_t>(I), a, rng);
  c.wh = per_tensor ? MakeWeights(1, G * H, a, rng) : MakeWeights(G, static_cast<std::size_t>(H), a, rng);
  if (bias) {
    c.b1 = RandomVec(G, rng, -a, a);
    if (gates == 3) c.b2 = RandomVec(G, rng, -a, a);
  }
  kinds.resize(c.B() * c.T(), Kind::kUniform);
  c.kinds = kinds;
  c.x.resize(c.B() * c.T() * c.I());
  for (std::size_t row = 0; row < kinds.size(); ++row) Fill(c.x.data() + row * c.I(), c.I(), kinds[row], rng);
  if (init) {
    c.h0 = RandomVec(c.B() * c.H(), rng, -0.9f, 0.9f);
    if (gates == 4) c.c0 = RandomVec(c.B() * c.H(), rng, -2.0f, 2.0f);
  }
  return c;
}

struct RnnOut {
  Vec y, h_n, c_n;
};

RnnOut RunKernel(const RnnCase& c, bool want_y = true) {
  const qk::RnnHybridParams hp{c.shape, c.wx.scales, c.wh.scales};
  RnnOut o;
  o.y.assign(want_y ? c.B() * c.T() * c.H() : 0, -7.0f);
  o.h_n.assign(c.B() * c.H(), -7.0f);
  float* y = want_y ? o.y.data() : nullptr;
  if (c.gates == 4) {
    const qk::LstmHybridWeights w{c.wx.w.data(), c.wh.w.data(), RnnCase::P(c.b1)};
    auto prep = qk::PrepareLstmHybrid(hp, w);
    REQUIRE(prep.ok());
    Vec scratch = Scratch(qk::ref::lstm_hybrid_scratch_bytes(c.shape));
    o.c_n.assign(c.B() * c.H(), -7.0f);
    qk::ref::lstm_hybrid(*prep, w,
                         {.x = c.x.data(), .h0 = RnnCase::P(c.h0), .c0 = RnnCase::P(c.c0), .y = y,
                          .h_n = o.h_n.data(), .c_n = o.c_n.data()},
                         scratch.data());
  } else {
    const qk::GruHybridWeights w{c.wx.w.data(), c.wh.w.data(), RnnCase::P(c.b1), RnnCase::P(c.b2)};
    auto prep = qk::PrepareGruHybrid(hp, w);
    REQUIRE(prep.ok());
    Vec scratch = Scratch(qk::ref::gru_hybrid_scratch_bytes(c.shape));
    qk::ref::gru_hybrid(*prep, w, {.x = c.x.data(), .h0 = RnnCase::P(c.h0), .y = y, .h_n = o.h_n.data()},
                        scratch.data());
  }
  return o;
}

// The oracle (check 1).
RnnOut Oracle(const RnnCase& c) {
  const std::size_t I = c.I(), H = c.H(), G = c.G();
  RnnOut o;
  o.y.resize(c.B() * c.T() * H);
  o.h_n.resize(c.B() * H);
  if (c.gates == 4) o.c_n.resize(c.B() * H);
  for (std::size_t b = 0; b < c.B(); ++b) {
    Vec h(H, 0.0f), cell(H, 0.0f);
    if (!c.h0.empty()) std::copy_n(c.h0.begin() + static_cast<std::ptrdiff_t>(b * H), H, h.begin());
    if (!c.c0.empty()) std::copy_n(c.c0.begin() + static_cast<std::ptrdiff_t>(b * H), H, cell.begin());
    for (std::size_t t = 0; t < c.T(); ++t) {
      const std::size_t row = b * c.T() + t;
      const OracleQuant qx = OracleQuantize(c.x.data() + row * I, I);
      const OracleQuant qh = OracleQuantize(h.data(), H);
      Vec px(G), ph(G);
      for (std::size_t r = 0; r < G; ++r) {
        px[r] = qx.finite ? OracleProduct(OracleDot(c.wx.w.data() + r * I, qx.q, 0, I, qx.zp), qx.s, c.Sx(r)) : kNaN;
        ph[r] = qh.finite ? OracleProduct(OracleDot(c.wh.w.data() + r * H, qh.q, 0, H, qh.zp), qh.s, c.Sh(r)) : kNaN;
      }
      for (std::size_t j = 0; j < H; ++j) {
        if (c.gates == 4) {  // pre = (px + ph) + bias; c = f c + i g; h = o tanh(c)
          auto pre = [&](std::size_t r) { return c.b1.empty() ? px[r] + ph[r] : (px[r] + ph[r]) + c.b1[r]; };
          const float i = Sig(pre(j)), f = Sig(pre(H + j)), g = Tanh(pre(2 * H + j)), og = Sig(pre(3 * H + j));
          cell[j] = f * cell[j] + i * g;
          h[j] = og * Tanh(cell[j]);
        } else {  // gx = px + b_x, hh = ph + b_h; linear before reset
          auto gx = [&](std::size_t r) { return c.b1.empty() ? px[r] : px[r] + c.b1[r]; };
          auto hh = [&](std::size_t r) { return c.b2.empty() ? ph[r] : ph[r] + c.b2[r]; };
          const float z = Sig(gx(j) + hh(j)), rg = Sig(gx(H + j) + hh(H + j));
          const float n = Tanh(gx(2 * H + j) + rg * hh(2 * H + j));
          h[j] = (1.0f - z) * n + z * h[j];
        }
      }
      std::copy(h.begin(), h.end(), o.y.begin() + static_cast<std::ptrdiff_t>(row * H));
    }
    std::copy(h.begin(), h.end(), o.h_n.begin() + static_cast<std::ptrdiff_t>(b * H));
    if (c.gates == 4) std::copy(cell.begin(), cell.end(), o.c_n.begin() + static_cast<std::ptrdiff_t>(b * H));
  }
  return o;
}

bool Checkable(const RnnCase& c, std::size_t b) {
  for (std::size_t t = 0; t < c.T(); ++t) {
    const Kind k = c.kinds[b * c.T() + t];
    if (k == Kind::kNaN || k == Kind::kInf || k == Kind::kFltMax) return false;
  }
  return true;
}

// Check 2: the propagated bound (see the top of the file). Returns the largest
// bound on h over the checked rows.
double CheckAgainstFloat(const RnnCase& c, const RnnOut& got) {
  const std::size_t I = c.I(), H = c.H(), G = c.G(), T = c.T();
  const std::size_t rows = c.B() * T;
  Vec yf(rows * H), hnf(c.B() * H), cnf(c.B() * H), gates(rows * G), extra(rows * H);
  if (c.gates == 4) {
    const qk::LstmWeights w{c.wx.deq.data(), c.wh.deq.data(), RnnCase::P(c.b1)};
    qk::ref::lstm_f32(c.shape, w, c.x.data(), RnnCase::P(c.h0), RnnCase::P(c.c0), yf.data(), hnf.data(), cnf.data(),
                      gates.data(), extra.data());
  } else {
    const qk::GruWeights w{c.wx.deq.data(), c.wh.deq.data(), RnnCase::P(c.b1), RnnCase::P(c.b2)};
    qk::ref::gru_f32(c.shape, w, c.x.data(), RnnCase::P(c.h0), yf.data(), hnf.data(), gates.data(), extra.data());
  }
  std::vector<double> sum_wx(G, 0), sum_wh(G, 0);
  for (std::size_t r = 0; r < G; ++r) {
    for (std::size_t i = 0; i < I; ++i) sum_wx[r] += std::fabs(c.wx.deq[r * I + i]);
    for (std::size_t k = 0; k < H; ++k) sum_wh[r] += std::fabs(c.wh.deq[r * H + k]);
  }
  auto at = [](const Vec& v, std::size_t i) { return static_cast<double>(v[i]); };
  Vec got_h, want_h;
  std::vector<double> tol_h;
  double max_bound = 0;
  // |c_t| <= |c_0| + t + 1 (|f| <= 1, |i g| <= 1): the cap that keeps a vacuous
  // bound (huge inputs) finite.
  double c_cap = 0;
  for (const float v : c.c0) c_cap = std::max(c_cap, 2.0 * std::fabs(static_cast<double>(v)));
  for (std::size_t b = 0; b < c.B(); ++b) {
    if (!Checkable(c, b)) continue;
    std::vector<double> eh(H, 0.0), ec(H, 0.0);
    for (std::size_t t = 0; t < T; ++t) {
      const std::size_t row = b * T + t;
      const float* h_hyb = t > 0 ? got.y.data() + (row - 1) * H : (c.h0.empty() ? nullptr : c.h0.data() + b * H);
      const float* h_flt = t > 0 ? yf.data() + (row - 1) * H : (c.h0.empty() ? nullptr : c.h0.data() + b * H);
      const Vec zeros(H, 0.0f);
      const double ex = OracleQuantize(c.x.data() + row * I, I).MaxError();
      const double eq_h = OracleQuantize(h_hyb ? h_hyb : zeros.data(), H).MaxError();
      std::vector<double> dx(G), dh(G);  // bounds on the x and h products (with their biases)
      for (std::size_t r = 0; r < G; ++r) {
        double mx = 0, mh = 0, prop = 0;
        for (std::size_t i = 0; i < I; ++i) mx += std::fabs(c.wx.deq[r * I + i] * at(c.x, row * I + i));
        for (std::size_t k = 0; k < H; ++k) {
          const double hk = h_flt ? std::fabs(static_cast<double>(h_flt[k])) : 0.0;
          mh += std::fabs(c.wh.deq[r * H + k]) * (hk + eh[k]);
          prop += std::fabs(c.wh.deq[r * H + k]) * eh[k];
        }
        const double qx = ex * sum_wx[r], qh = eq_h * sum_wh[r];
        const double b1 = c.b1.empty() ? 0 : std::fabs(c.b1[r]), b2 = c.b2.empty() ? 0 : std::fabs(c.b2[r]);
        const double k_eps = 2.0 * (static_cast<double>(I + H) + 4) * kEps;
        dx[r] = qx + k_eps * (mx + qx + b1);
        dh[r] = qh + prop + k_eps * (mh + qh + b2);
      }
      for (std::size_t j = 0; j < H; ++j) {
        const float* gt = gates.data() + row * G;
        const double hp = h_flt ? std::fabs(static_cast<double>(h_flt[j])) : 0.0;
        double bound = 0;
        if (c.gates == 4) {
          auto dpre = [&](std::size_t r) { return dx[r] + dh[r]; };
          const double i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
          const double cp = t > 0 ? at(extra, (row - 1) * H + j) : (c.c0.empty() ? 0.0 : at(c.c0, b * H + j));
          const double cf = at(extra, row * H + j);
          const double di = dpre(j) / 4 + kAct, df = dpre(H + j) / 4 + kAct, dg = dpre(2 * H + j) + kAct,
                       dout = dpre(3 * H + j) / 4 + kAct;
          const double dc = f * ec[j] + df * (std::fabs(cp) + ec[j]) + i * dg + di * (std::fabs(g) + dg) +
                            kAct * (1 + std::fabs(cf));
          const double dtc = dc + kAct;
          bound = o * dtc + dout * (std::fabs(std::tanh(cf)) + dtc) + kAct;
          ec[j] = std::min(dc, c_cap + 2.0 * static_cast<double>(t + 1));
        } else {
          const double z = gt[j], r = gt[H + j], n = gt[2 * H + j], hn = at(extra, row * H + j);
          const double dz = (dx[j] + dh[j]) / 4 + kAct, dr = (dx[H + j] + dh[H + j]) / 4 + kAct;
          const double drh = r * dh[2 * H + j] + dr * (std::fabs(hn) + dh[2 * H + j]);
          const double dn = dx[2 * H + j] + drh + kAct;
          bound = (1 - z) * dn + dz * (std::fabs(n) + dn) + z * eh[j] + dz * (hp + eh[j]) + kAct;
        }
        got_h.push_back(got.y[row * H + j]);
        want_h.push_back(yf[row * H + j]);
        bound = std::min(bound, 2.0);  // |h|, |h_f| <= 1 (h0 is drawn in [-0.9, 0.9])
        tol_h.push_back(bound);
        eh[j] = bound;
        max_bound = std::max(max_bound, bound);
      }
      if (c.gates == 4 && t == T - 1) {  // the final cell against its own bound
        Vec cg(H), cw(H);
        std::copy_n(got.c_n.begin() + static_cast<std::ptrdiff_t>(b * H), H, cg.begin());
        std::copy_n(cnf.begin() + static_cast<std::ptrdiff_t>(b * H), H, cw.begin());
        CheckWithin(c.Name() + " c_n vs float reference", cg, cw, ec);
      }
    }
  }
  CheckWithin(c.Name() + " h vs float reference (propagated bound)", got_h, want_h, tol_h);
  return max_bound;
}

// Checks 1 and 2, plus the outputs' consistency (h_n = last y; y not wanted).
RnnOut CheckCase(const RnnCase& c, bool expect_tight) {
  const std::string what = c.Name();
  INFO(what);
  const RnnOut got = RunKernel(c);
  const RnnOut want = Oracle(c);
  CheckBits(what + " y vs oracle", got.y, want.y);
  CheckBits(what + " h_n vs oracle", got.h_n, want.h_n);
  if (c.gates == 4) CheckBits(what + " c_n vs oracle", got.c_n, want.c_n);
  const RnnOut no_y = RunKernel(c, /*want_y=*/false);
  CheckBits(what + " h_n without y", no_y.h_n, got.h_n);
  const double bound = CheckAgainstFloat(c, got);
  if (expect_tight) {
    INFO(what << ": largest propagated bound on h " << bound);
    CHECK(bound <= 0.2);  // measured up to 0.19 (GRU, I = 64); h itself is in [-1, 1]
  }
  return got;
}

struct Shape {
  int B, T, I, H;
};
constexpr Shape kShapes[] = {{1, 1, 1, 1}, {2, 3, 1, 5}, {3, 4, 7, 1}, {2, 5, 13, 11}, {1, 2, 64, 3}, {2, 6, 9, 7}};

void AwkwardShapes(int gates) {
  unsigned seed = gates * 100u;
  for (const Shape& s : kShapes)
    for (int variant = 0; variant < 3; ++variant) {
      const bool per_tensor = variant == 1, bias = variant != 2, init = variant != 0;
      const RnnCase c = MakeCase(gates, s.B, s.T, s.I, s.H, per_tensor, bias, init, {}, ++seed);
      CheckCase(c, /*expect_tight=*/s.T <= 6);
    }
}

void DegenerateSteps(int gates) {
  // Row 0: degenerate steps the float comparison still covers; row 1: a NaN at
  // step 2 (and non-finite inputs after), its state NaN from then on; row 2:
  // ordinary but for one step of exact .5 ties, must not notice row 1.
  const std::vector<Kind> kinds = {Kind::kZero,    Kind::kNegative, Kind::kHuge,   Kind::kTiny,    Kind::kPositive,
                                   Kind::kSpike,   Kind::kUniform,  Kind::kUniform, Kind::kNaN,    Kind::kUniform,
                                   Kind::kInf,     Kind::kFltMax,   Kind::kUniform, Kind::kTies,    Kind::kUniform,
                                   Kind::kUniform, Kind::kUniform,  Kind::kUniform};
  for (const bool init : {false, true}) {
    const RnnCase c = MakeCase(gates, 3, 6, 10, 6, false, true, init, kinds, 40u + gates);
    const RnnOut got = CheckCase(c, false);
    const std::size_t H = c.H(), T = c.T();
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t j = 0; j < H; ++j) {
        INFO("t " << t << " j " << j);
        CHECK(std::isfinite(got.y[(0 * T + t) * H + j]));
        CHECK(std::isnan(got.y[(1 * T + t) * H + j]) == (t >= 2));
        CHECK(std::isfinite(got.y[(2 * T + t) * H + j]));
      }
    // Step 0 of row 0 is all zero without an initial state: both products are
    // exactly 0, so the gates see only the bias, exactly as the float reference.
    if (!init) {
      RnnCase one = c;
      one.shape.batch = 1, one.shape.seq_len = 1;
      one.x.assign(c.I(), 0.0f);
      one.kinds = {Kind::kZero};
      Vec yf(H), hn(H), cn(H);
      if (gates == 4)
        qk::ref::lstm_f32(one.shape, {c.wx.deq.data(), c.wh.deq.data(), c.b1.data()}, one.x.data(), nullptr, nullptr,
                          yf.data(), hn.data(), cn.data(), nullptr, nullptr);
      else
        qk::ref::gru_f32(one.shape, {c.wx.deq.data(), c.wh.deq.data(), c.b1.data(), c.b2.data()}, one.x.data(),
                         nullptr, yf.data(), hn.data(), nullptr, nullptr);
      CheckBits(c.Name() + " all-zero first step vs float reference", RunKernel(one).y, yf);
    }
  }
}

void BatchIndependence(int gates) {
  const int I = 11, H = 5, T = 4;
  const RnnCase alone = MakeCase(gates, 1, T, I, H, false, true, true, {}, 7);
  std::vector<Kind> kinds(7 * T, Kind::kUniform);
  for (int t = 0; t < T; ++t) {
    kinds[static_cast<std::size_t>(0 * T + t)] = Kind::kHuge;
    kinds[static_cast<std::size_t>(1 * T + t)] = Kind::kZero;
    kinds[static_cast<std::size_t>(4 * T + t)] = t == 1 ? Kind::kNaN : Kind::kNegative;
    kinds[static_cast<std::size_t>(5 * T + t)] = Kind::kSpike;
  }
  RnnCase batch = MakeCase(gates, 7, T, I, H, false, true, true, kinds, 8);
  batch.wx = alone.wx, batch.wh = alone.wh, batch.b1 = alone.b1, batch.b2 = alone.b2;
  const std::size_t xs = static_cast<std::size_t>(T * I), hs = static_cast<std::size_t>(H);
  std::copy(alone.x.begin(), alone.x.end(), batch.x.begin() + static_cast<std::ptrdiff_t>(3 * xs));
  std::copy(alone.h0.begin(), alone.h0.end(), batch.h0.begin() + static_cast<std::ptrdiff_t>(3 * hs));
  if (gates == 4) std::copy(alone.c0.begin(), alone.c0.end(), batch.c0.begin() + static_cast<std::ptrdiff_t>(3 * hs));
  for (std::size_t i = 0; i < hs; ++i) batch.h0[i] = 1e6f * (i % 2 ? 1.0f : -1.0f);  // a wild neighbour state
  const RnnOut y1 = CheckCase(alone, true);
  const RnnOut y7 = RunKernel(batch);
  const RnnOut w7 = Oracle(batch);
  CheckBits(batch.Name() + " vs oracle", y7.y, w7.y);
  auto slice = [](const Vec& v, std::size_t off, std::size_t n) {
    return Vec(v.begin() + static_cast<std::ptrdiff_t>(off), v.begin() + static_cast<std::ptrdiff_t>(off + n));
  };
  const std::size_t ys = static_cast<std::size_t>(T) * hs;
  CheckBits(alone.Name() + " row 3 of 7 y vs alone", slice(y7.y, 3 * ys, ys), y1.y);
  CheckBits(alone.Name() + " row 3 of 7 h_n vs alone", slice(y7.h_n, 3 * hs, hs), y1.h_n);
  if (gates == 4) CheckBits(alone.Name() + " row 3 of 7 c_n vs alone", slice(y7.c_n, 3 * hs, hs), y1.c_n);
}

}  // namespace

TEST_CASE("hybrid lstm against the oracle and the float reference on awkward shapes") { AwkwardShapes(4); }
TEST_CASE("hybrid gru against the oracle and the float reference on awkward shapes") { AwkwardShapes(3); }
TEST_CASE("hybrid lstm degenerate and non-finite steps") { DegenerateSteps(4); }
TEST_CASE("hybrid gru degenerate and non-finite steps") { DegenerateSteps(3); }
TEST_CASE("hybrid lstm sample results do not depend on the batch") { BatchIndependence(4); }
TEST_CASE("hybrid gru sample results do not depend on the batch") { BatchIndependence(3); }
