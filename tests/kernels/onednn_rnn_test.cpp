// Float LSTM / GRU through oneDNN (qualm/kernels/onednn.h, PrepareLstmF32 /
// PrepareGruF32) against the frozen references ref::lstm_f32 / ref::gru_f32.
//
// Shapes: batch 1 and primes, T = 1 and odd lengths up to the study's 200,
// hidden sizes that are not multiples of 8 (1, 5, 23, 33, 75) and the study's
// 50 (LSTM) / 75 (GRU) with input 128. Every case runs with 1 and 2 threads,
// at the prepared max batch and (batch > 2) at one less, which Run covers with
// several primitives, leaving the rest of y untouched.
//
// Tolerance: max |y_onednn - y_ref| <= 5e-6 over every step of every sample
// (h is in (-1, 1)). oneDNN sums the gate products in its own blocked order,
// pre-sums the GRU's z / r biases, and evaluates exp / tanh with its own
// vector approximations (a few ulps); the gates are contracting with the
// weight scale used here (|w| <= 2 / sqrt(I + H), pre-activations of order 1),
// so those errors stay small even over 200 steps: the worst measured is 3e-7
// (AVX-512 machine, oneDNN 2.6.3 brgemm; the test prints it), the tolerance
// leaves 15x for other ISAs' kernels. A wrong mapping (gate order, bias row, transposed weights, reset
// before instead of after the product) moves h by 1e-2 or more. The reference
// outputs are checked not to be degenerate: |y| reaches 0.1 and most values
// are away from the saturation at +-1.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "kernels/test_util.h"
#include "qualm/kernels/onednn.h"

namespace qk = qualm::kernels;
namespace qo = qualm::kernels::onednn;
using namespace qualm_test;

namespace {

constexpr double kTol = 5e-6;

const qk::RnnParams kShapes[] = {
    {1, 1, 1, 1},   {1, 7, 13, 5},  {3, 1, 128, 50}, {5, 13, 17, 23},
    {2, 31, 9, 75}, {7, 3, 5, 33},  {1, 200, 128, 75}, {3, 200, 128, 50},
};

std::string Describe(const qk::RnnParams& p) {
  return std::string("batch ") + std::to_string(p.batch) + " T " + std::to_string(p.seq_len) + " input " +
         std::to_string(p.input_size) + " hidden " + std::to_string(p.hidden_size);
}

struct Operands {
  Vec x, w_x, w_h, b1, b2;
};

Operands MakeOperands(const qk::RnnParams& p, int gates, std::mt19937& rng) {
  const std::size_t B = static_cast<std::size_t>(p.batch), T = static_cast<std::size_t>(p.seq_len);
  const std::size_t I = static_cast<std::size_t>(p.input_size), H = static_cast<std::size_t>(p.hidden_size);
  const float s = 2.0f / std::sqrt(static_cast<float>(I + H));
  return {Random(B * T * I, rng), Random(gates * H * I, rng, -s, s), Random(gates * H * H, rng, -s, s),
          Random(gates * H, rng, -0.5f, 0.5f), Random(gates * H, rng, -0.5f, 0.5f)};
}

void CheckInformative(const Vec& y) {
  std::size_t away = 0;
  for (float v : y) away += std::fabs(v) < 0.9f;
  CHECK(MaxAbs(y) > 0.1);
  CHECK(away * 2 > y.size());
}

double MaxDiff(const Vec& a, const Vec& b, std::size_t count) {
  double m = 0;
  for (std::size_t i = 0; i < count; ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// Runs `op` at n = batch and n = batch - 1 and compares y and h_n with the
// reference's `want` ([batch][T][H]). Returns the worst difference.
double CheckRuns(qo::PreparedRnnF32& op, const qk::RnnParams& p, const Vec& x, const Vec& want) {
  const std::size_t per = static_cast<std::size_t>(p.seq_len) * p.hidden_size;
  const std::size_t H = static_cast<std::size_t>(p.hidden_size);
  double worst = 0;
  for (int n : {p.batch, p.batch > 2 ? p.batch - 1 : 0}) {
    if (n == 0) continue;
    CAPTURE(n);
    Vec y(static_cast<std::size_t>(p.batch) * per, 1e30f), h_n(static_cast<std::size_t>(p.batch) * H, 1e30f);
    op.Run(n, x.data(), y.data(), h_n.data());
    const std::size_t count = static_cast<std::size_t>(n) * per;
    const double d = MaxDiff(y, want, count);
    worst = std::max(worst, d);
    INFO("max |onednn - reference| = " << d << " (" << op.ImplName() << ")");
    CHECK(d <= kTol);
    CHECK(y[count - 1] != 1e30f);
    if (count < y.size()) CHECK(y[count] == 1e30f);  // samples past n untouched
    for (int b = 0; b < n; ++b)  // h_n is y's last step, bit for bit
      CHECK(std::memcmp(&h_n[static_cast<std::size_t>(b) * H], &y[static_cast<std::size_t>(b) * per + per - H],
                        H * sizeof(float)) == 0);
    Vec y2(static_cast<std::size_t>(n) * per);
    op.Run(n, x.data(), y2.data(), nullptr);  // h_n not wanted; the same y again
    CHECK(std::memcmp(y2.data(), y.data(), y2.size() * sizeof(float)) == 0);
  }
  return worst;
}

}  // namespace

TEST_CASE("onednn: without oneDNN the LSTM / GRU Prepare say so, and bad arguments are errors") {
  const qk::RnnParams p{2, 3, 4, 5};
  const Vec w(4 * 5 * 5, 0.1f);
  auto l = qo::PrepareLstmF32(p, {w.data(), w.data(), nullptr}, 1);
  auto g = qo::PrepareGruF32(p, {w.data(), w.data(), nullptr, nullptr}, 1);
  if (!qo::Available()) {
    REQUIRE_FALSE(l.ok());
    CHECK(l.status().message() == qo::kUnavailableMessage);
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().message() == qo::kUnavailableMessage);
    MESSAGE("no oneDNN in this build: " << l.status().message());
    return;
  }
  CHECK(l.ok());
  CHECK(g.ok());
  auto no_w = qo::PrepareLstmF32(p, {nullptr, w.data(), nullptr}, 1);
  REQUIRE_FALSE(no_w.ok());
  CHECK(no_w.status().code() == qualm::StatusCode::kInvalidArgument);
  auto bad = qo::PrepareGruF32({2, 3, 4, 0}, {w.data(), w.data(), nullptr, nullptr}, 1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("hidden_size") != std::string::npos);
}

TEST_CASE("onednn: float LSTM within 5e-6 of ref::lstm_f32 (y and h_n), 1 and 2 threads") {
  if (!qo::Available()) {
    MESSAGE("skipped: " << std::string(qo::kUnavailableMessage));
    return;
  }
  std::mt19937 rng(17);
  double worst = 0;
  for (const qk::RnnParams& p : kShapes) {
    for (bool bias : {true, false}) {
      INFO(Describe(p) << (bias ? "" : ", no bias"));
      const Operands o = MakeOperands(p, 4, rng);
      const qk::LstmWeights w{o.w_x.data(), o.w_h.data(), bias ? o.b1.data() : nullptr};
      Vec want(static_cast<std::size_t>(p.batch) * p.seq_len * p.hidden_size);
      qk::ref::lstm_f32(p, w, o.x.data(), nullptr, nullptr, want.data(), nullptr, nullptr, nullptr, nullptr);
      if (p.hidden_size > 1) CheckInformative(want);
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        auto op = qo::PrepareLstmF32(p, w, threads);
        REQUIRE_MESSAGE(op.ok(), op.status().ToString());
        worst = std::max(worst, CheckRuns(**op, p, o.x, want));
      }
    }
  }
  MESSAGE("oneDNN LSTM: worst |y - reference| over every case " << worst << " (tolerance " << kTol << ")");
}

TEST_CASE("onednn: float GRU (linear before reset) within 5e-6 of ref::gru_f32 (y and h_n), 1 and 2 threads") {
  if (!qo::Available()) {
    MESSAGE("skipped: " << std::string(qo::kUnavailableMessage));
    return;
  }
  std::mt19937 rng(23);
  double worst = 0;
  for (const qk::RnnParams& p : kShapes) {
    for (bool bias : {true, false}) {
      INFO(Describe(p) << (bias ? "" : ", no bias"));
      const Operands o = MakeOperands(p, 3, rng);
      const qk::GruWeights w{o.w_x.data(), o.w_h.data(), bias ? o.b1.data() : nullptr, bias ? o.b2.data() : nullptr};
      Vec want(static_cast<std::size_t>(p.batch) * p.seq_len * p.hidden_size);
      qk::ref::gru_f32(p, w, o.x.data(), nullptr, want.data(), nullptr, nullptr, nullptr);
      if (p.hidden_size > 1) CheckInformative(want);
      // The reset-before form differs visibly from t = 2 on: the test could tell them apart.
      if (bias && p.seq_len > 2) {
        Vec other(want.size());
        qk::ref::gru_reset_before_f32(p, w, o.x.data(), nullptr, other.data(), nullptr);
        CHECK(MaxDiff(other, want, want.size()) > 100 * kTol);
      }
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        auto op = qo::PrepareGruF32(p, w, threads);
        REQUIRE_MESSAGE(op.ok(), op.status().ToString());
        worst = std::max(worst, CheckRuns(**op, p, o.x, want));
      }
    }
  }
  MESSAGE("oneDNN GRU: worst |y - reference| over every case " << worst << " (tolerance " << kTol << ")");
}
