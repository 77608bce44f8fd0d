// The fast hybrid LSTM and GRU (fast::lstm_hybrid / fast::gru_hybrid,
// recurrent_hybrid.h) against the frozen references ref::lstm_hybrid /
// ref::gru_hybrid, BIT FOR BIT (y, h_n and c_n compared with memcmp; a NaN
// must be a NaN at the same place, its sign and payload aside: once two NaNs
// meet in the cell's float math, which one an x86 instruction passes on
// depends on the operand order the compiler chose for a commutative * or +,
// and IEEE 754 leaves it open), under every int8 GEMM variant this machine runs (the test hook),
// on 1, 2 and 3 threads, for awkward shapes (batch 1, primes, I = 1, H = 1,
// G * H past one 32-column panel pair, one step), per-row and per-tensor
// scales, with and without biases and initial states, with outputs left null,
// and with steps that are all zero, huge, tiny, at FLT_MAX, or hold a NaN or
// an infinity (one row's NaN must stay in that row). The scratch is exactly
// the size the kernel asks for, pre-filled with NaN, so a region the kernel
// reads before writing shows. The references are checked against an
// independent oracle in hybrid_rnn_test.cpp.
#include <cmath>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "kernels/hybrid_test_util.h"
#include "qualm/kernels/context.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/recurrent_hybrid.h"

using namespace hybrid_test;
namespace qd = qualm::kernels::detail;

namespace {

struct Case {
  int gates = 4;
  qk::RnnParams shape;
  QWeights wx, wh;
  Vec b1, b2;  // LSTM: b1 = bias; GRU: b1 = b_x, b2 = b_h; empty = null
  Vec x, h0, c0;
  static const float* P(const Vec& v) { return v.empty() ? nullptr : v.data(); }
  std::size_t BH() const { return static_cast<std::size_t>(shape.batch) * shape.hidden_size; }
  std::string Name() const {
    return std::string(gates == 4 ? "lstm" : "gru") + " B" + std::to_string(shape.batch) + " T" +
           std::to_string(shape.seq_len) + " I" + std::to_string(shape.input_size) + " H" +
           std::to_string(shape.hidden_size) + (wx.scales.size() == 1 ? " per-tensor" : "") +
           (b1.empty() ? " no-bias" : "") + (h0.empty() ? "" : " h0");
  }
};

Case MakeCase(int gates, int B, int T, int I, int H, bool per_tensor, bool bias, bool init, unsigned seed) {
  std::mt19937 rng(seed);
  Case c;
  c.gates = gates;
  c.shape = {B, T, I, H};
  const std::size_t G = static_cast<std::size_t>(gates) * H;
  const float a = 1.0f / std::sqrt(static_cast<float>(H));
  c.wx = per_tensor ? MakeWeights(1, G * I, a, rng) : MakeWeights(G, static_cast<std::size_t>(I), a, rng);
  c.wh = per_tensor ? MakeWeights(1, G * H, a, rng) : MakeWeights(G, static_cast<std::size_t>(H), a, rng);
  if (bias) {
    c.b1 = RandomVec(G, rng, -a, a);
    if (gates == 3) c.b2 = RandomVec(G, rng, -a, a);
  }
  // Mostly ordinary steps, with degenerate and non-finite ones among them.
  const Kind mix[] = {Kind::kUniform, Kind::kUniform, Kind::kZero,   Kind::kUniform, Kind::kHuge, Kind::kUniform,
                      Kind::kTiny,    Kind::kUniform, Kind::kFltMax, Kind::kUniform, Kind::kNaN,  Kind::kUniform,
                      Kind::kInf,     Kind::kUniform, Kind::kTies,   Kind::kUniform, Kind::kSpike};
  const std::size_t rows = static_cast<std::size_t>(B) * T;
  c.x.resize(rows * I);
  for (std::size_t r = 0; r < rows; ++r)
    Fill(c.x.data() + r * I, static_cast<std::size_t>(I), mix[(r * 7 + seed) % std::size(mix)], rng);
  if (init) {
    c.h0 = RandomVec(c.BH(), rng, -0.9f, 0.9f);
    if (gates == 4) c.c0 = RandomVec(c.BH(), rng, -2.0f, 2.0f);
  }
  return c;
}

struct Out {
  Vec y, h_n, c_n;
};

Out Blank(const Case& c, bool want_y, bool want_state) {
  Out o;
  if (want_y) o.y.assign(c.BH() * c.shape.seq_len, -7.0f);
  if (want_state) {
    o.h_n.assign(c.BH(), -7.0f);
    if (c.gates == 4) o.c_n.assign(c.BH(), -7.0f);
  }
  return o;
}
float* Ptr(Vec& v) { return v.empty() ? nullptr : v.data(); }

Out RunRef(const Case& c, bool want_y, bool want_state) {
  const qk::RnnHybridParams hp{c.shape, c.wx.scales, c.wh.scales};
  Out o = Blank(c, want_y, want_state);
  if (c.gates == 4) {
    const qk::LstmHybridWeights w{c.wx.w.data(), c.wh.w.data(), Case::P(c.b1)};
    auto prep = qk::PrepareLstmHybrid(hp, w);
    REQUIRE(prep.ok());
    Vec scratch = Scratch(qk::ref::lstm_hybrid_scratch_bytes(c.shape));
    qk::ref::lstm_hybrid(*prep, w,
                         {.x = c.x.data(), .h0 = Case::P(c.h0), .c0 = Case::P(c.c0), .y = Ptr(o.y),
                          .h_n = Ptr(o.h_n), .c_n = Ptr(o.c_n)},
                         scratch.data());
  } else {
    const qk::GruHybridWeights w{c.wx.w.data(), c.wh.w.data(), Case::P(c.b1), Case::P(c.b2)};
    auto prep = qk::PrepareGruHybrid(hp, w);
    REQUIRE(prep.ok());
    Vec scratch = Scratch(qk::ref::gru_hybrid_scratch_bytes(c.shape));
    qk::ref::gru_hybrid(*prep, w, {.x = c.x.data(), .h0 = Case::P(c.h0), .y = Ptr(o.y), .h_n = Ptr(o.h_n)},
                        scratch.data());
  }
  return o;
}

// Prepared and packed at max_batch, run at c.shape.batch (<= max_batch), as
// the executor does.
Out RunFast(const Case& c, int max_batch, int threads, bool want_y, bool want_state) {
  qk::RnnParams at_max = c.shape;
  at_max.batch = max_batch;
  const qk::RnnHybridParams hp{at_max, c.wx.scales, c.wh.scales};
  Out o = Blank(c, want_y, want_state);
  const qk::LstmHybridWeights lw{c.wx.w.data(), c.wh.w.data(), Case::P(c.b1)};
  const qk::GruHybridWeights gw{c.wx.w.data(), c.wh.w.data(), Case::P(c.b1), Case::P(c.b2)};
  auto prep = c.gates == 4 ? qk::PrepareLstmHybrid(hp, lw) : qk::PrepareGruHybrid(hp, gw);
  REQUIRE(prep.ok());
  qk::PreparedRnnHybrid p = std::move(prep).value();
  const qk::PackedRnnHybrid packed = qk::PackRnnHybridWeights(p, c.wx.w.data(), c.wh.w.data());
  Vec scratch(qk::fast::rnn_hybrid_scratch_floats(p, threads), kNaN);
  p.shape.batch = c.shape.batch;
  const qk::KernelContext ctx{threads, scratch.data(), scratch.size()};
  if (c.gates == 4) {
    qk::fast::lstm_hybrid(ctx, p, packed, lw,
                          {.x = c.x.data(), .h0 = Case::P(c.h0), .c0 = Case::P(c.c0), .y = Ptr(o.y),
                           .h_n = Ptr(o.h_n), .c_n = Ptr(o.c_n)});
  } else {
    qk::fast::gru_hybrid(ctx, p, packed, gw, {.x = c.x.data(), .h0 = Case::P(c.h0), .y = Ptr(o.y), .h_n = Ptr(o.h_n)});
  }
  return o;
}

// Bits equal, or both NaN (any sign or payload).
void CheckBitsOrNaN(const std::string& what, Vec got, Vec want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != got[i] && want[i] != want[i]) got[i] = want[i] = kNaN;
  CheckBits(what, got, want);
}

void Compare(const Case& c, int max_batch, bool want_y, bool want_state, int& compared) {
  const Out want = RunRef(c, want_y, want_state);
  for (const auto& v : qd::RunnableInt8GemmVariants()) {
    qd::ScopedInt8GemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    for (int threads : {1, 2, 3}) {
      const std::string what = c.Name() + " max_batch " + std::to_string(max_batch) + " " + v.name + " threads " +
                               std::to_string(threads);
      const Out got = RunFast(c, max_batch, threads, want_y, want_state);
      CheckBitsOrNaN(what + " y", got.y, want.y);
      CheckBitsOrNaN(what + " h_n", got.h_n, want.h_n);
      CheckBitsOrNaN(what + " c_n", got.c_n, want.c_n);
      ++compared;
    }
  }
}

void AwkwardShapes(int gates) {
  for (const auto& v : qd::Int8GemmVariants())
    if (!qk::IsaAvailable(v.isa)) {
      const std::string skipped = std::string("skipped (ISA not available): ") + v.name;
      MESSAGE(skipped);
    }
  // {B, T, I, H}
  const int shapes[][4] = {{1, 1, 1, 1}, {1, 7, 5, 3},   {3, 5, 13, 7},  {2, 4, 128, 50},
                           {5, 3, 31, 17}, {1, 9, 64, 75}, {7, 2, 3, 11},  {4, 6, 33, 9}};
  int compared = 0;
  unsigned seed = 100 + static_cast<unsigned>(gates);
  for (const auto& s : shapes) {
    for (int variant = 0; variant < 3; ++variant) {
      const bool per_tensor = variant == 1, bias = variant != 2, init = variant != 0;
      const Case c = MakeCase(gates, s[0], s[1], s[2], s[3], per_tensor, bias, init, seed++);
      Compare(c, s[0], true, true, compared);
    }
  }
  CHECK(compared >= 24);
}

}  // namespace

TEST_CASE("fast hybrid lstm: the reference's bits on awkward shapes, every int8 variant, 1 to 3 threads") {
  AwkwardShapes(4);
}
TEST_CASE("fast hybrid gru: the reference's bits on awkward shapes, every int8 variant, 1 to 3 threads") {
  AwkwardShapes(3);
}

TEST_CASE("fast hybrid lstm and gru: run below the prepared batch, with outputs left null") {
  int compared = 0;
  for (int gates : {4, 3}) {
    const Case c = MakeCase(gates, 3, 4, 10, 6, false, true, true, 7u + static_cast<unsigned>(gates));
    Compare(c, 8, true, false, compared);   // prepared for 8 rows, run on 3; only y
    Compare(c, 3, false, true, compared);   // only the final state
  }
  CHECK(compared > 0);
}

TEST_CASE("fast hybrid lstm: a NaN step stays in its batch row") {
  // Row 1 of 3 gets a NaN at step 2; rows 0 and 2 must equal their runs alone.
  Case c = MakeCase(4, 3, 4, 9, 5, false, true, true, 31);
  for (float& v : c.x) v = v != v ? 0.5f : v;  // start from finite data everywhere
  for (std::size_t i = 0; i < c.x.size(); ++i)
    if (std::isinf(c.x[i]) || std::fabs(c.x[i]) > 1e6f) c.x[i] = 0.25f;
  c.x[(1 * 4 + 2) * 9 + 4] = kNaN;
  const Out all = RunFast(c, 3, 2, true, true);
  const std::size_t H = 5, T = 4;
  bool nan_in_row1 = false;
  for (std::size_t j = 0; j < T * H; ++j) nan_in_row1 |= all.y[1 * T * H + j] != all.y[1 * T * H + j];
  CHECK(nan_in_row1);
  for (std::size_t j = 0; j < T * H; ++j) {
    CHECK(all.y[0 * T * H + j] == all.y[0 * T * H + j]);
    CHECK(all.y[2 * T * H + j] == all.y[2 * T * H + j]);
  }
  const Out want = RunRef(c, true, true);
  CheckBitsOrNaN("nan row y", all.y, want.y);
}
