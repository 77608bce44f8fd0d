// Integer LSTM/GRU Prepare (recurrent_s8.h): zero points folded into the
// biases, multipliers precomputed, and every rejection with its message.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "int8_rnn_case.h"
#include "qualm/kernels/fixedpoint.h"

using namespace int8_rnn_test;

namespace {
// ---------------------------------------------------------------------------
// 4. Prepare.
template <typename R>
void ExpectError(const R& r, const std::string& needle) {
  INFO("expected an error containing '" << needle << "', got: " << (r.ok() ? std::string("ok") : r.status().ToString()));
  REQUIRE(!r.ok());
  CHECK(r.status().code() == qualm::StatusCode::kInvalidArgument);
  CHECK(r.status().message().find(needle) != std::string::npos);
}

Case SmallCase(int gates) {
  std::mt19937 rng(9);
  return RandomIntCase(gates, 2, 3, 5, 4, 3, -2, gates, RequantMode::kGemmlowp, rng);
}

}  // namespace

TEST_CASE("int8 lstm prepare folds zero points and precomputes the multipliers") {
  const Case c = SmallCase(4);
  auto r = qk::PrepareLstmS8(c.LstmParams(), c.LstmW());
  REQUIRE(r.ok());
  CHECK(r->cell_exponent == -11);
  CHECK(static_cast<bool>(r->tanh_cell == qk::fixedpoint::GetTanhInt16(4)));
  REQUIRE(r->bias_x.size() == 16);
  for (int row = 0; row < 16; ++row) {
    std::int64_t sx = 0, sh = 0;
    for (int i = 0; i < 5; ++i) sx += c.wx[static_cast<std::size_t>(row * 5 + i)];
    for (int j = 0; j < 4; ++j) sh += c.wh[static_cast<std::size_t>(row * 4 + j)];
    CHECK(r->bias_x[static_cast<std::size_t>(row)] == c.bx[static_cast<std::size_t>(row)] - 3 * sx);
    CHECK(r->bias_h[static_cast<std::size_t>(row)] == 2 * sh);
    const double m = double(c.input.scale) * c.Sx(row) * 4096.0;
    const qk::Requant& q = r->requant_x[static_cast<std::size_t>(row)];
    CHECK(std::fabs(std::ldexp(double(q.multiplier), q.shift - 31) / m - 1.0) < 1e-9);
  }
  const qk::Requant& o = r->requant_out;
  CHECK(std::ldexp(double(o.multiplier), o.shift - 31) == doctest::Approx(std::ldexp(1.0, -30) * 128).epsilon(1e-9));
}

TEST_CASE("int8 lstm prepare rejects bad parameters with the field and value") {
  const Case base = SmallCase(4);
  auto prep = [](const Case& c) { return qk::PrepareLstmS8(c.LstmParams(), c.LstmW()); };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  {
    Case c = base;
    c.cell_scale = 0.0006f;
    ExpectError(prep(c), "lstm_s8: cell_scale must be a power of two 2^e (the cell update is a rounding shift), got 0.000600");
  }
  {
    Case c = base;
    c.cell_scale = 3.0f * std::ldexp(1.0f, -12);
    ExpectError(prep(c), "cell_scale must be a power of two");
  }
  {
    Case c = base;
    c.cell_scale = 0.25f;
    ExpectError(prep(c), "lstm_s8: cell_scale 2^-2 is outside the supported [2^-15, 2^-3]");
  }
  {
    Case c = base;
    c.cell_scale = std::ldexp(1.0f, -16);
    ExpectError(prep(c), "cell_scale 2^-16 is outside");
  }
  {
    Case c = base;
    c.cell_scale = 0.0f;
    ExpectError(prep(c), "lstm_s8: cell_scale must be positive and finite, got 0");
  }
  {
    Case c = base;
    c.input.scale = 0.0f;
    ExpectError(prep(c), "lstm_s8: input.scale must be positive and finite, got 0");
  }
  {
    Case c = base;
    c.hidden.scale = nan;
    ExpectError(prep(c), "lstm_s8: hidden.scale must be positive and finite, got nan");
  }
  {
    Case c = base;
    c.hidden.zero_point = 128;
    ExpectError(prep(c), "lstm_s8: hidden.zero_point must be in [-128, 127], got 128");
  }
  {
    Case c = base;
    c.wx[7] = -128;
    ExpectError(prep(c), "lstm_s8: weight[7] = -128 is outside the narrow symmetric range [-127, 127] (in w_x)");
  }
  {
    Case c = base;
    c.wh[3] = -128;
    ExpectError(prep(c), "weight[3] = -128 is outside the narrow symmetric range [-127, 127] (in w_h)");
  }
  {
    Case c = base;
    c.sx = {0.01f, 0.01f, 0.01f};
    ExpectError(prep(c), "lstm_s8: w_x_scales has 3 entries, expected 1 (per matrix), 4 (per gate) or 16 (per row)");
  }
  {
    Case c = base;
    c.sh[2] = nan;
    ExpectError(prep(c), "lstm_s8: w_h_scales[2] must be positive and finite, got nan");
  }
  {
    Case c = base;
    c.shape.hidden_size = 0;
    ExpectError(prep(c), "lstm_s8: rnn: hidden_size must be positive, got 0");
  }
  {
    Case c = base;
    c.sx = {1e9f};
    ExpectError(prep(c), "lstm_s8: w_x row 0 multiplier s_x * scale / 2^-12 = ");
  }
  {
    Case c = base;
    c.hidden.scale = 1e-30f;
    ExpectError(prep(c), "lstm_s8: hidden output multiplier 2^-30 / s_h");
  }
  {
    Case c = base;
    c.bx[5] = std::numeric_limits<std::int32_t>::max() - 10;
    ExpectError(prep(c), "lstm_s8: int32 accumulator of w_x row 5 can overflow");
  }
  {
    Case c = base;
    c.mode = static_cast<RequantMode>(7);
    ExpectError(prep(c), "lstm_s8: unknown requant mode 7");
  }
  {
    Case c = base;
    qk::LstmS8Weights w = c.LstmW();
    w.w_h = nullptr;
    ExpectError(qk::PrepareLstmS8(c.LstmParams(), w), "lstm_s8: w_h is required (got null)");
  }
  // Boundaries accepted: both cell exponents, weights at +-127, zero points at the ends.
  for (const int e : {-15, -3}) {
    Case c = base;
    c.cell_scale = std::ldexp(1.0f, e);
    c.wx[0] = -127, c.wx[1] = 127;
    c.input.zero_point = -128, c.hidden.zero_point = 127;
    auto r = prep(c);
    CHECK(r.ok());
    if (r.ok()) CHECK(r->cell_exponent == e);
  }
}

TEST_CASE("int8 gru prepare rejects bad parameters with the field and value") {
  const Case base = SmallCase(3);
  auto prep = [](const Case& c) { return qk::PrepareGruS8(c.GruParams(), c.GruW()); };
  REQUIRE(prep(base).ok());
  {
    Case c = base;
    c.input.scale = 0.0f;
    ExpectError(prep(c), "gru_s8: input.scale must be positive and finite, got 0");
  }
  {
    Case c = base;
    c.hidden.scale = std::numeric_limits<float>::quiet_NaN();
    ExpectError(prep(c), "gru_s8: hidden.scale must be positive and finite, got nan");
  }
  {
    Case c = base;
    c.wx[0] = -128;
    ExpectError(prep(c), "gru_s8: weight[0] = -128 is outside the narrow symmetric range [-127, 127] (in w_x)");
  }
  {
    Case c = base;
    c.sh = {0.01f, 0.01f, 0.01f, 0.01f};
    ExpectError(prep(c), "gru_s8: w_h_scales has 4 entries, expected 1 (per matrix), 3 (per gate) or 12 (per row)");
  }
  {
    Case c = base;
    c.shape.input_size = -1;
    ExpectError(prep(c), "gru_s8: rnn: input_size must be positive, got -1");
  }
  {
    Case c = base;
    c.bh[11] = std::numeric_limits<std::int32_t>::min();
    ExpectError(prep(c), "gru_s8: int32 accumulator of w_h row 11 can overflow");
  }
  {
    Case c = base;
    c.hidden.scale = 1e-30f;
    ExpectError(prep(c), "gru_s8: hidden output multiplier 2^-15 / s_h");
  }
  {
    Case c = base;
    c.input.zero_point = -129;
    ExpectError(prep(c), "gru_s8: input.zero_point must be in [-128, 127], got -129");
  }
}
