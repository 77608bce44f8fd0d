// The fast integer LSTM / GRU (fast::lstm_s8, fast::gru_s8, recurrent_s8.h)
// against the frozen references ref::lstm_s8 / ref::gru_s8: bit for bit (==),
// under every int8 GEMM variant x every gate-stage variant this machine can
// run. The first test case prints which variants ran and which were skipped
// (ISA not available, or capped by QUALM_ISA).
//  1. The vector sigmoid / tanh of every gate-stage variant on ALL 65536 int16
//     inputs: SigmoidQ3_12, TanhQ3_12 and TanhInt16 for every integer-bit
//     count 0..12, against fixedpoint.h's scalar functions.
//  2. Random models: batch 1..3, hidden 1, 7, 50, 65 (vector tails, 16-lane
//     padding), input 1, 3, 17, 128 (reduction tails of the pair / quad
//     operands), T = 1 and longer, every requant mode, weight scales per
//     matrix / gate / row, zero points at both ends, cell exponents -15, -11,
//     -3, initial states given or not, every output (y, h_n, c_n / s_n).
//  3. Saturating inputs and pre-activations past the Q3.12 range.
//  4. A long sequence (T = 200, I = 128, H = 50, the benchmark's shape) and a
//     call with a smaller batch and sequence than the scratch was sized for.
// Outputs are checked not to be degenerate (mostly one value), so that
// equality means something.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/int8_rnn_case.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/detail/recurrent_s8_variants.h"
#include "qualm/kernels/fixedpoint.h"

namespace qd = qualm::kernels::detail;
namespace fp = qualm::kernels::fixedpoint;
using namespace int8_rnn_test;

namespace {

struct Out {
  I8 y, h_n;
  I16 state;
  bool operator==(const Out& o) const { return y == o.y && h_n == o.h_n && state == o.state; }
};

// Initial states of a case (or none).
struct Init {
  I8 h0;
  I16 c0;  // LSTM c0 at 2^e, or GRU s0 (Q0.15)
};

Init RandomInit(const Case& c, std::mt19937& rng) {
  const auto n = static_cast<std::size_t>(c.shape.batch * c.H());
  Init i{I8(n), I16(n)};
  std::uniform_int_distribution<int> h(-128, 127), s(-32768, 32767);
  for (auto& v : i.h0) v = static_cast<std::int8_t>(h(rng));
  for (auto& v : i.c0) v = static_cast<std::int16_t>(s(rng));
  return i;
}

// Runs the reference (fast == false) or the fast kernel on c; `shape` may be
// smaller than the one the fast scratch is sized for (scratch_shape).
Out Run(const Case& c, bool fast, const Init* init, bool with_y, const qk::RnnParams* scratch_shape = nullptr) {
  const auto B = static_cast<std::size_t>(c.shape.batch), T = static_cast<std::size_t>(c.shape.seq_len),
             H = static_cast<std::size_t>(c.H());
  Out o{I8(with_y ? B * T * H : 0, 99), I8(B * H, 99), I16(B * H, 99)};
  const qk::RnnParams& ss = scratch_shape ? *scratch_shape : c.shape;
  if (c.gates == 4) {
    auto prep = qk::PrepareLstmS8(c.LstmParams(), c.LstmW());
    REQUIRE_MESSAGE(prep.ok(), prep.status().ToString());
    const qk::LstmS8Io io{.x = c.x.data(),
                          .h0 = init ? init->h0.data() : nullptr,
                          .c0 = init ? init->c0.data() : nullptr,
                          .y = with_y ? o.y.data() : nullptr,
                          .h_n = o.h_n.data(),
                          .c_n = o.state.data()};
    if (fast) {
      const qk::PackedRnnS8 packed = qk::PackLstmS8Weights(*prep, c.LstmW());
      I16 scratch(qk::fast::lstm_s8_scratch_int16(ss) + 1);
      qk::fast::lstm_s8(*prep, packed, io, scratch.data() + 1);  // deliberately misaligned
    } else {
      I16 scratch(qk::ref::lstm_s8_scratch_int16(c.shape));
      qk::ref::lstm_s8(*prep, c.LstmW(), io, scratch.data());
    }
  } else {
    auto prep = qk::PrepareGruS8(c.GruParams(), c.GruW());
    REQUIRE_MESSAGE(prep.ok(), prep.status().ToString());
    const qk::GruS8Io io{.x = c.x.data(),
                         .s0 = init ? init->c0.data() : nullptr,
                         .y = with_y ? o.y.data() : nullptr,
                         .h_n = o.h_n.data(),
                         .s_n = o.state.data()};
    if (fast) {
      const qk::PackedRnnS8 packed = qk::PackGruS8Weights(*prep, c.GruW());
      I16 scratch(qk::fast::gru_s8_scratch_int16(ss) + 1);
      qk::fast::gru_s8(*prep, packed, io, scratch.data() + 1);
    } else {
      I16 scratch(qk::ref::gru_s8_scratch_int16(c.shape));
      qk::ref::gru_s8(*prep, c.GruW(), io, scratch.data());
    }
  }
  return o;
}

// Calls body() under every runnable (int8 GEMM variant, gate variant) pair.
template <typename Body>
void ForEveryVariant(const Body& body) {
  int runs = 0;
  for (const auto& g : qd::RunnableInt8GemmVariants()) {
    qd::ScopedInt8GemmIsaForTesting sg(g.isa);
    REQUIRE(sg.ok());
    for (const auto& r : qd::RnnS8GatesVariants()) {
      if (!qk::IsaAvailable(r.isa)) continue;
      qd::ScopedRnnS8GatesIsaForTesting sr(r.isa);
      REQUIRE(sr.ok());
      REQUIRE(std::string(qk::fast::RnnS8GatesPathName()) == r.name);
      const std::string variant = std::string(g.name) + " + " + r.name;
      CAPTURE(variant);
      body();
      ++runs;
    }
  }
  CHECK(runs >= 1);  // QUALM_ISA=scalar leaves only the generic GEMM and gate stage
}

// Checks fast == ref for a case under every variant; returns the reference output.
Out CheckCase(const Case& c, const Init* init, bool with_y) {
  const std::string what = c.Name() + (init ? " init" : "") + (with_y ? " y" : " h_n only") + " e " +
                           std::to_string(static_cast<int>(std::log2(c.cell_scale)));
  CAPTURE(what);
  const Out ref = Run(c, false, init, with_y);
  ForEveryVariant([&] {
    const Out fast = Run(c, true, init, with_y);
    CHECK(fast.y == ref.y);
    CHECK(fast.h_n == ref.h_n);
    CHECK(fast.state == ref.state);
  });
  return ref;
}

// Not degenerate: the outputs take many values.
void CheckSpread(const Out& o, std::size_t min_distinct) {
  const I8& v = o.y.empty() ? o.h_n : o.y;
  std::set<int> distinct(v.begin(), v.end());
  CHECK(distinct.size() >= min_distinct);
}

}  // namespace

TEST_CASE("int8 rnn fast: which variants run on this machine") {
  for (const auto& v : qd::RnnS8GatesVariants()) {
    const bool runs = qk::IsaAvailable(v.isa);
    std::printf("int8 rnn gate variant %-28s %s\n", v.name,
                runs ? "RUN"
                     : (std::string("SKIPPED (needs ") + qk::IsaName(v.isa) + "; " + qk::DescribeCpu() + ")").c_str());
    CHECK((v.requant_x && v.lstm_step && v.gru_step && v.activation));
  }
  for (const auto& v : qd::Int8GemmVariants()) {
    const bool runs = qk::IsaAvailable(v.isa);
    std::printf("int8 gemm variant (rnn products) %-28s %s\n", v.name,
                runs ? "RUN" : (std::string("SKIPPED (needs ") + qk::IsaName(v.isa) + ")").c_str());
  }
  std::printf("%s\n", qd::DescribeRnnS8GatesDispatch().c_str());
  CHECK(qd::RnnS8GatesVariants().back().isa == qk::Isa::kScalar);
  const std::string chosen = qk::fast::RnnS8GatesPathName();
  if (qk::IsaAvailable(qk::Isa::kAvx512)) {
    CHECK(chosen == "s8_rnn_gates_32c__avx512");
  } else if (qk::IsaAvailable(qk::Isa::kAvx2)) {
    CHECK(chosen == "s8_rnn_gates_16c__avx2");
  } else {
    CHECK(chosen == "s8_rnn_gates_1c__generic");
  }
  // An unavailable or absent variant is refused without changing anything.
  qd::ScopedRnnS8GatesIsaForTesting none(qk::Isa::kAvx512Vnni);
  CHECK(!none.ok());
}

TEST_CASE("int8 rnn fast: vector sigmoid and tanh equal the scalar ones on every int16") {
  I16 x(65536), y(65536);
  for (int i = 0; i < 65536; ++i) x[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(i - 32768);
  for (const auto& v : qd::RnnS8GatesVariants()) {
    if (!qk::IsaAvailable(v.isa)) continue;
    const std::string variant = v.name;
    CAPTURE(variant);
    struct F {
      qd::RnnS8Activation f;
      int bits;
    };
    std::vector<F> fs = {{qd::RnnS8Activation::kSigmoidQ3_12, 0}, {qd::RnnS8Activation::kTanhQ3_12, 0}};
    for (int b = 0; b <= fp::kMaxTanhIntegerBits; ++b) fs.push_back({qd::RnnS8Activation::kTanhInt16, b});
    for (const F& f : fs) {
      CAPTURE(static_cast<int>(f.f));
      CAPTURE(f.bits);
      // An odd count, so the vector tail runs too.
      v.activation(f.f, f.bits, x.data(), y.data(), 65535);
      v.activation(f.f, f.bits, x.data() + 65535, y.data() + 65535, 1);
      std::size_t differ = 0;
      std::set<std::int16_t> distinct;
      for (std::size_t i = 0; i < x.size(); ++i) {
        std::int16_t want = 0;
        switch (f.f) {
          case qd::RnnS8Activation::kSigmoidQ3_12: want = fp::SigmoidQ3_12(x[i]); break;
          case qd::RnnS8Activation::kTanhQ3_12: want = fp::TanhQ3_12(x[i]); break;
          case qd::RnnS8Activation::kTanhInt16: want = fp::TanhInt16(x[i], f.bits); break;
        }
        differ += y[i] != want;
        distinct.insert(y[i]);
      }
      CHECK(differ == 0);
      // tanh with 12 integer bits saturates beyond |x| ~ 5, leaving ~70 distinct values.
      CHECK(distinct.size() > 60);
    }
  }
}

TEST_CASE("int8 rnn fast: random LSTM and GRU models are bit-identical to the reference") {
  std::mt19937 rng(2026);
  struct Shape {
    int B, T, I, H;
  };
  const Shape shapes[] = {{1, 1, 1, 1},  {1, 5, 3, 7},   {2, 3, 17, 50}, {3, 4, 128, 65},
                          {1, 9, 20, 16}, {2, 2, 5, 33}, {3, 1, 64, 50}, {1, 13, 2, 1}};
  const int zps[][2] = {{0, 0}, {-128, 127}, {127, -128}, {5, -9}};
  int k = 0;
  for (int gates : {4, 3}) {
    for (const Shape& s : shapes) {
      for (RequantMode mode : kModes) {
        const int* zp = zps[k % 4];
        const int count = k % 3 == 0 ? 1 : k % 3 == 1 ? gates : gates * s.H;
        Case c = RandomIntCase(gates, s.B, s.T, s.I, s.H, zp[0], zp[1], count, mode, rng);
        const int es[] = {-11, -15, -3};
        c.cell_scale = std::ldexp(1.0f, es[k % 3]);
        Init init = RandomInit(c, rng);
        const Out ref = CheckCase(c, k % 2 ? &init : nullptr, k % 4 != 3);
        if (s.B * s.T * s.H >= 64) CheckSpread(ref, 8);
        ++k;
      }
    }
  }
}

TEST_CASE("int8 rnn fast: saturating inputs and pre-activations") {
  std::mt19937 rng(7);
  for (int gates : {4, 3}) {
    for (RequantMode mode : kModes) {
      Case sat = RandomIntCase(gates, 2, 6, 13, 7, -128, 127, gates, mode, rng, /*saturating_x=*/true);
      CheckCase(sat, nullptr, true);
      // Scales 16x larger than the random case's: pre-activations far past +-8.
      Case big = RandomIntCase(gates, 2, 5, 19, 23, 3, -7, gates * 23, mode, rng);
      for (auto& v : big.sx) v *= 16.0f;
      for (auto& v : big.sh) v *= 16.0f;
      Init init = RandomInit(big, rng);
      CheckCase(big, &init, true);
    }
  }
}

TEST_CASE("int8 rnn fast: a long sequence, and a smaller batch than the scratch was sized for") {
  std::mt19937 rng(11);
  for (int gates : {4, 3}) {
    Case c = RandomIntCase(gates, 2, 200, 128, 50, 3, -2, gates * 50, RequantMode::kGemmlowp, rng);
    const Out ref = CheckCase(c, nullptr, true);
    CheckSpread(ref, 32);
    // Scratch for B = 3, T = 40; the call runs B = 2, T = 17.
    Case small = RandomIntCase(gates, 2, 17, 21, 9, -4, 6, gates, RequantMode::kSingle, rng);
    const qk::RnnParams big{3, 40, 21, 9};
    const Out want = Run(small, false, nullptr, true);
    ForEveryVariant([&] { CHECK(Run(small, true, nullptr, true, &big) == want); });
  }
}
