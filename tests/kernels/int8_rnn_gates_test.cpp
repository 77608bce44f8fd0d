// The gate stages of fast::lstm_s8 / fast::gru_s8 (detail/recurrent_s8_variants.h)
// called directly, every variant this machine runs against the generic one
// (the reference's own scalar functions, itself checked against ref::lstm_s8 /
// gru_s8 in int8_rnn_fast_test.cpp), on inputs the end-to-end models rarely
// reach:
//  * accumulators over the whole int32 range (INT32_MIN / MAX, +-2^30, +-2^17
//    edges, small values where the rounding ties are), biases folded in;
//  * per-row multipliers with right shifts 0..31 and left shifts 1..30
//    (any_left), M = 0, M = 2^30 (ties), M = 2^31 - 1; kFloat scales large
//    enough to overflow int32 (the >= 2^31 -> INT32_MAX rule);
//  * every RequantMode, G*H rows with H = 1, 7, 50, 63 (row and unit tails);
//  * the steps: random int16 ax and state over the full range, every cell
//    exponent, requant_out with left and right shifts, hidden zero points at
//    both ends and in between.
// Rows / units past G*H / H are padding and not compared.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "qualm/kernels/cpu.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"
#include "qualm/kernels/fixedpoint.h"
#include "qualm/kernels/recurrent_s8.h"

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;
using qk::RequantMode;

namespace {

constexpr RequantMode kModes[] = {RequantMode::kGemmlowp, RequantMode::kSingle, RequantMode::kFloat};
constexpr std::int32_t kMin32 = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t kMax32 = std::numeric_limits<std::int32_t>::max();

// A Requant as QuantizeMultiplier makes them (M in {0} u [2^30, 2^31 - 1],
// shift in [-31, 30]), biased towards the awkward ones; left: allow shift > 0.
qk::Requant RandomRequant(std::mt19937& rng, bool left) {
  std::uniform_int_distribution<int> pick(0, 9), right(-31, 0), lshift(1, 30);
  std::uniform_int_distribution<std::int32_t> m(1 << 30, kMax32);
  qk::Requant r;
  const int k = pick(rng);
  r.multiplier = k == 0 ? 0 : k == 1 ? (1 << 30) : k == 2 ? kMax32 : m(rng);
  r.shift = left && pick(rng) < 4 ? lshift(rng) : right(rng);
  // kFloat's scale: the same real multiplier, so large left shifts overflow int32.
  r.scale = static_cast<float>(std::ldexp(static_cast<double>(r.multiplier), r.shift - 31));
  return r;
}

// An int32 over the whole range, often at an edge or small (ties).
std::int32_t RandomValue(std::mt19937& rng) {
  static const std::int32_t edges[] = {kMin32,      kMax32,      kMin32 + 1, kMax32 - 1, 1 << 30, -(1 << 30),
                                       (1 << 30) - 1, 1 << 17,   -(1 << 17), (1 << 17) + 1, 0,   -1,
                                       1,           32767,       -32768,     32768,      -32769};
  std::uniform_int_distribution<int> pick(0, 9);
  std::uniform_int_distribution<std::size_t> edge(0, std::size(edges) - 1);
  std::uniform_int_distribution<std::int32_t> full(kMin32, kMax32), small(-70000, 70000);
  const int k = pick(rng);
  if (k < 2) return edges[edge(rng)];
  if (k < 6) return small(rng);
  return full(rng);
}

// acc and bias whose int32 sum (the reference adds them in int32) does not overflow.
void RandomAccAndBias(std::mt19937& rng, std::int32_t& acc, std::int32_t& bias) {
  const std::int32_t sum = RandomValue(rng);
  std::uniform_int_distribution<std::int32_t> b(-(1 << 20), 1 << 20);
  bias = b(rng);
  const std::int64_t a = std::int64_t{sum} - bias;
  if (a < kMin32 || a > kMax32) bias = 0;
  acc = sum - bias;
}

struct Rows {
  qk::RnnS8RowRequant rq;
  std::vector<std::int32_t> acc;  // [Gp]
};

Rows RandomRows(std::mt19937& rng, int rows, RequantMode mode, bool left) {
  std::vector<qk::Requant> requant(static_cast<std::size_t>(rows));
  std::vector<std::int32_t> bias(requant.size());
  const std::size_t padded = static_cast<std::size_t>(qd::RnnS8Padded(rows));
  std::vector<std::int32_t> acc(padded, 0);
  for (std::size_t r = 0; r < requant.size(); ++r) {
    requant[r] = RandomRequant(rng, left);
    RandomAccAndBias(rng, acc[r], bias[r]);
  }
  return {qd::MakeRnnS8RowRequant(requant, bias, mode), acc};
}

std::vector<std::int16_t> RandomInt16(std::mt19937& rng, std::size_t n) {
  std::uniform_int_distribution<int> v(-32768, 32767), pick(0, 9);
  std::vector<std::int16_t> out(n);
  for (auto& x : out) {
    const int k = pick(rng);
    x = static_cast<std::int16_t>(k == 0 ? -32768 : k == 1 ? 32767 : k < 5 ? v(rng) / 64 : v(rng));
  }
  return out;
}

// Calls body(variant) for every variant this machine runs except the generic one.
template <typename Body>
void ForEveryVectorVariant(const Body& body) {
  for (const qd::RnnS8GatesVariant& v : qd::RnnS8GatesVariants()) {
    if (v.isa == qk::Isa::kScalar || !qk::IsaAvailable(v.isa)) continue;
    const std::string variant = v.name;
    CAPTURE(variant);
    body(v);
  }
}

const qd::RnnS8GatesVariant& Generic() { return qd::RnnS8GatesVariants().back(); }

const int kHidden[] = {1, 7, 50, 63};

}  // namespace

TEST_CASE("int8 rnn gates: requant_x equals the generic one on extreme accumulators and shifts") {
  std::mt19937 rng(31);
  for (RequantMode mode : kModes) {
    for (bool left : {false, true}) {
      for (int h : kHidden) {
        for (int gates : {3, 4}) {
          const int rows = gates * h;
          const Rows in = RandomRows(rng, rows, mode, left);
          const std::string what = std::string(qk::RequantModeName(mode)) + " rows " + std::to_string(rows) +
                                   (in.rq.any_left ? " any_left" : "");
          CAPTURE(what);
          const std::size_t padded = in.acc.size();
          std::vector<std::int16_t> want(padded, 0);
          Generic().requant_x(in.rq, in.acc.data(), want.data());
          std::set<std::int16_t> distinct(want.begin(), want.begin() + rows);
          if (rows >= 150) CHECK(distinct.size() >= 20);  // not all saturated
          ForEveryVectorVariant([&](const qd::RnnS8GatesVariant& v) {
            std::vector<std::int16_t> got(padded, 0);
            v.requant_x(in.rq, in.acc.data(), got.data());
            int differ = 0;
            for (int r = 0; r < rows; ++r) differ += got[static_cast<std::size_t>(r)] != want[static_cast<std::size_t>(r)];
            CHECK(differ == 0);
          });
        }
      }
    }
  }
}

namespace {

struct StepOut {
  std::vector<std::int16_t> state;
  std::vector<std::int8_t> h;
};

// One step of `step` on copies of the inputs; only the H real units are kept.
template <typename Prepared, typename Step>
StepOut RunStep(Step step, const Prepared& p, const Rows& in, const std::vector<std::int16_t>& ax,
                const std::vector<std::int16_t>& state) {
  const auto H = static_cast<std::size_t>(p.shape.hidden_size);
  const std::size_t Hp = static_cast<std::size_t>(qd::RnnS8Padded(p.shape.hidden_size));
  std::vector<std::int16_t> work(2 * in.acc.size() + qd::kRnnS8RowPad, 0);
  StepOut o{state, std::vector<std::int8_t>(Hp, 99)};
  qd::RnnS8StepRow row;
  row.ax = ax.data();
  row.acc_h = in.acc.data();
  row.rq_h = &in.rq;
  row.work = work.data();
  row.state = o.state.data();
  row.h = o.h.data();
  step(p, row);
  o.state.resize(H);
  o.h.resize(H);
  return o;
}

// requant_out near a model's (shift around `typical`: products of 2^30 or
// states of 2^15 land in int8), or with a left shift (M > 1, saturating).
qk::Requant RandomOut(std::mt19937& rng, int typical, bool left) {
  std::uniform_int_distribution<int> near(typical - 2, typical + 2), lshift(1, 4);
  std::uniform_int_distribution<std::int32_t> m(1 << 30, kMax32);
  qk::Requant r;
  r.multiplier = m(rng);
  r.shift = left ? lshift(rng) : near(rng);
  r.scale = static_cast<float>(std::ldexp(static_cast<double>(r.multiplier), r.shift - 31));
  return r;
}

}  // namespace

TEST_CASE("int8 rnn gates: lstm_step and gru_step equal the generic ones on extreme inputs") {
  std::mt19937 rng(47);
  const int zps[] = {-128, 127, 0, 9, -77};
  int k = 0;
  for (RequantMode mode : kModes) {
    for (int h : kHidden) {
      for (int rep = 0; rep < 6; ++rep, ++k) {
        const int zp = zps[k % 5];
        const bool out_left = rep % 3 == 2;
        const std::string what =
            std::string(qk::RequantModeName(mode)) + " H " + std::to_string(h) + " zp " + std::to_string(zp);
        CAPTURE(what);
        const auto Hp = static_cast<std::size_t>(qd::RnnS8Padded(h));
        const std::vector<std::int16_t> state = RandomInt16(rng, Hp);
        {  // LSTM
          qk::PreparedLstmS8 p;
          p.shape.hidden_size = h;
          p.mode = mode;
          p.hidden_zero_point = zp;
          p.cell_exponent = qk::kLstmS8MinCellExponent + k % (qk::kLstmS8MaxCellExponent - qk::kLstmS8MinCellExponent + 1);
          p.tanh_cell = qk::fixedpoint::GetTanhInt16(15 + p.cell_exponent);
          REQUIRE(static_cast<bool>(p.tanh_cell));
          p.requant_out = RandomOut(rng, -22, out_left);
          CAPTURE(p.cell_exponent);
          CAPTURE(p.requant_out.shift);
          const Rows in = RandomRows(rng, 4 * h, mode, rep % 2 == 1);
          const std::vector<std::int16_t> ax = RandomInt16(rng, in.acc.size() + qd::kRnnS8RowPad);
          const StepOut want = RunStep(Generic().lstm_step, p, in, ax, state);
          std::set<int> distinct(want.h.begin(), want.h.end());
          if (h >= 50 && !out_left) CHECK(distinct.size() >= 4);
          ForEveryVectorVariant([&](const qd::RnnS8GatesVariant& v) {
            const StepOut got = RunStep(v.lstm_step, p, in, ax, state);
            CHECK(got.state == want.state);
            CHECK(got.h == want.h);
          });
        }
        {  // GRU (s in Q0.15 over the whole int16 range)
          qk::PreparedGruS8 p;
          p.shape.hidden_size = h;
          p.mode = mode;
          p.hidden_zero_point = zp;
          p.requant_out = RandomOut(rng, -7, out_left);
          CAPTURE(p.requant_out.shift);
          const Rows in = RandomRows(rng, 3 * h, mode, rep % 2 == 0);
          const std::vector<std::int16_t> ax = RandomInt16(rng, in.acc.size() + qd::kRnnS8RowPad);
          const StepOut want = RunStep(Generic().gru_step, p, in, ax, state);
          std::set<int> distinct(want.h.begin(), want.h.end());
          if (h >= 50 && !out_left) CHECK(distinct.size() >= 4);
          ForEveryVectorVariant([&](const qd::RnnS8GatesVariant& v) {
            const StepOut got = RunStep(v.gru_step, p, in, ax, state);
            CHECK(got.state == want.state);
            CHECK(got.h == want.h);
          });
        }
      }
    }
  }
}
