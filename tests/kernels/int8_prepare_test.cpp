// Prepare*S8 rejects every invalid parameter with a message that names the op,
// the field and the value (conv2d_s8.h, dense_s8.h, pool_s8.h, eltwise_s8.h,
// quantize_s8.h), and accepts the boundary values.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "qualm/kernels/int8_ops.h"

namespace qk = qualm::kernels;

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

template <typename R>
void ExpectError(const R& r, const std::string& needle) {
  INFO("expected an error containing '" << needle << "', got: " << (r.ok() ? std::string("ok") : r.status().ToString()));
  REQUIRE(!r.ok());
  CHECK(r.status().code() == qualm::StatusCode::kInvalidArgument);
  CHECK(r.status().message().find(needle) != std::string::npos);
}

struct ConvFixture {
  qk::Conv2dS8Params p;
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> bias;
  ConvFixture() {
    p.shape.batch = 1, p.shape.in_h = 5, p.shape.in_w = 5, p.shape.in_c = 4, p.shape.out_c = 4;
    p.shape.kernel_h = p.shape.kernel_w = 3, p.shape.pad_top = p.shape.pad_left = 1;
    p.shape.pad_bottom = p.shape.pad_right = 1;
    p.input = {0.02f, -3};
    p.weight_scales = {0.01f, 0.02f, 0.03f, 0.04f};
    p.output.params = {0.1f, 5};
    w.assign(4 * 3 * 3 * 4, 7);
    bias = {1, -2, 3, -4};
  }
  qualm::Result<qk::PreparedConv2dS8> Prepare() const { return qk::PrepareConv2dS8(p, w.data(), bias.data()); }
};

}  // namespace

TEST_CASE("int8 conv2d prepare accepts a valid op and precomputes the multipliers") {
  ConvFixture f;
  auto r = f.Prepare();
  REQUIRE(r.ok());
  REQUIRE(r->output.requant.size() == 4);
  for (int c = 0; c < 4; ++c) {
    const double m = 0.02 * (c + 1) * 0.01 / 0.1;
    const qk::Requant& q = r->output.requant[static_cast<std::size_t>(c)];
    CHECK(q.multiplier >= (1 << 30));
    CHECK(std::fabs(std::ldexp(static_cast<double>(q.multiplier), q.shift - 31) / m - 1.0) < 1e-6);
  }
  CHECK(r->input_zero_point == -3);
  CHECK(r->output.zero_point == 5);
  // Per-tensor weight scale (one entry) broadcasts.
  f.p.weight_scales = {0.01f};
  auto t = f.Prepare();
  REQUIRE(t.ok());
  CHECK(t->output.requant[0].multiplier == t->output.requant[3].multiplier);
  // Null bias is fine; zero points at the extremes are fine.
  f.p.input.zero_point = -128, f.p.output.params.zero_point = 127;
  CHECK(qk::PrepareConv2dS8(f.p, f.w.data(), nullptr).ok());
}

TEST_CASE("int8 conv2d prepare rejects bad scales") {
  for (float s : {0.0f, -0.5f, kNaN, kInf}) {
    ConvFixture f;
    f.p.input.scale = s;
    ExpectError(f.Prepare(), "conv2d_s8: input.scale must be positive and finite, got ");
  }
  {
    ConvFixture f;
    f.p.output.params.scale = 0.0f;
    ExpectError(f.Prepare(), "conv2d_s8: output.scale must be positive and finite, got 0");
  }
  {
    ConvFixture f;
    f.p.output.params.scale = kNaN;
    ExpectError(f.Prepare(), "output.scale must be positive and finite, got nan");
  }
  {
    ConvFixture f;
    f.p.weight_scales[2] = -0.01f;
    ExpectError(f.Prepare(), "conv2d_s8: weight_scales[2] must be positive and finite, got -0.00999999978");
  }
  {
    ConvFixture f;
    f.p.weight_scales[3] = kNaN;
    ExpectError(f.Prepare(), "weight_scales[3] must be positive and finite, got nan");
  }
  {
    ConvFixture f;
    f.p.weight_scales = {0.1f, 0.1f, 0.1f};
    ExpectError(f.Prepare(), "conv2d_s8: weight_scales has 3 entries, expected one per output channel (4) or 1");
  }
  {
    ConvFixture f;
    f.p.weight_scales.clear();
    ExpectError(f.Prepare(), "weight_scales has 0 entries");
  }
  {
    // s_in * s_w / s_out = 1e10 does not fit (shift > 30).
    ConvFixture f;
    f.p.input.scale = 1e5f, f.p.weight_scales = {1e4f}, f.p.output.params.scale = 0.1f;
    ExpectError(f.Prepare(), "conv2d_s8: channel 0 multiplier s_in * s_w / s_out = 9.99999985e+09 is not representable");
  }
}

TEST_CASE("int8 conv2d prepare rejects zero points and activation ranges out of range") {
  {
    ConvFixture f;
    f.p.input.zero_point = -129;
    ExpectError(f.Prepare(), "conv2d_s8: input.zero_point must be in [-128, 127], got -129");
  }
  {
    ConvFixture f;
    f.p.output.params.zero_point = 128;
    ExpectError(f.Prepare(), "conv2d_s8: output.zero_point must be in [-128, 127], got 128");
  }
  {
    ConvFixture f;
    f.p.output.act_min = 10, f.p.output.act_max = 5;
    ExpectError(f.Prepare(), "conv2d_s8: act_min 10 must not exceed act_max 5");
  }
  {
    ConvFixture f;
    f.p.output.act_max = 128;
    ExpectError(f.Prepare(), "conv2d_s8: act_max must be in [-128, 127], got 128");
  }
  {
    ConvFixture f;
    f.p.output.act_min = -200;
    ExpectError(f.Prepare(), "conv2d_s8: act_min must be in [-128, 127], got -200");
  }
}

TEST_CASE("int8 conv2d prepare rejects weights at -128 and overflowing accumulators") {
  {
    ConvFixture f;
    f.w[17] = -128;
    ExpectError(f.Prepare(), "conv2d_s8: weight[17] = -128 is outside the narrow symmetric range [-127, 127]");
  }
  {
    ConvFixture f;
    ExpectError(qk::PrepareConv2dS8(f.p, nullptr, nullptr), "conv2d_s8: weights are required");
  }
  {
    // K = 3 * 3 * 4 = 36: 36 * 255 * 127 = 1165860; a bias of 2^31 - 1165860 overflows.
    ConvFixture f;
    f.bias[2] = 2147483647 - 1165860 + 1;
    ExpectError(f.Prepare(), "conv2d_s8: int32 accumulator can overflow: K = 36");
    f.bias[2] = 2147483647 - 1165860;  // exactly 2^31 - 1: accepted
    CHECK(f.Prepare().ok());
    f.bias[2] = std::numeric_limits<std::int32_t>::min();
    ExpectError(f.Prepare(), "(bias[2])");
  }
  {
    // K too large on its own: 3 * 3 * 7400 = 66600 > 66311.
    ConvFixture f;
    f.p.shape.in_c = 7400, f.p.shape.out_c = 1, f.p.weight_scales = {0.01f};
    f.w.assign(static_cast<std::size_t>(9) * 7400, 1);
    ExpectError(qk::PrepareConv2dS8(f.p, f.w.data(), nullptr), "K = 66600");
  }
  {
    // Groups shrink K: the same channels in 2 groups fit.
    ConvFixture f;
    f.p.shape.in_c = 7400, f.p.shape.out_c = 2, f.p.shape.groups = 2, f.p.weight_scales = {0.01f};
    f.w.assign(static_cast<std::size_t>(2) * 9 * 3700, 1);
    CHECK(qk::PrepareConv2dS8(f.p, f.w.data(), nullptr).ok());
  }
  {
    ConvFixture f;
    f.p.shape.groups = 3;
    ExpectError(f.Prepare(), "conv2d_s8: conv2d: groups 3 must divide in_c 4 and out_c 4");
  }
}

TEST_CASE("int8 dense prepare rejects like conv") {
  qk::DenseS8Params p;
  p.shape = {2, 10, 3};
  p.input = {0.1f, 0};
  p.weight_scales = {0.1f, 0.2f, 0.3f};
  p.output.params = {0.5f, 0};
  std::vector<std::int8_t> w(30, -127);
  CHECK(qk::PrepareDenseS8(p, w.data(), nullptr).ok());
  w[29] = -128;
  ExpectError(qk::PrepareDenseS8(p, w.data(), nullptr), "dense_s8: weight[29] = -128");
  w[29] = 0;
  p.weight_scales = {0.1f, 0.2f};
  ExpectError(qk::PrepareDenseS8(p, w.data(), nullptr), "dense_s8: weight_scales has 2 entries");
  p.weight_scales = {0.1f, 0.2f, 0.3f};
  p.input.scale = -1.0f;
  ExpectError(qk::PrepareDenseS8(p, w.data(), nullptr), "dense_s8: input.scale must be positive and finite, got -1");
  p.input.scale = 0.1f;
  p.shape.in_features = 0;
  ExpectError(qk::PrepareDenseS8(p, w.data(), nullptr), "dense_s8: dense: in_features must be positive, got 0");
  p.shape.in_features = 66312;  // 66312 * 255 * 127 >= 2^31
  std::vector<std::int8_t> big(static_cast<std::size_t>(66312) * 3, 1);
  ExpectError(qk::PrepareDenseS8(p, big.data(), nullptr), "dense_s8: int32 accumulator can overflow: K = 66312");
}

TEST_CASE("int8 pool prepare rejects mismatched scales and bad parameters") {
  qk::Pool2dS8Params p;
  p.shape.in_h = p.shape.in_w = 4, p.shape.channels = 2, p.shape.kernel_h = p.shape.kernel_w = 2;
  p.shape.stride_h = p.shape.stride_w = 2;
  p.input = p.output = {0.1f, 3};
  CHECK(qk::PrepareMaxPool2dS8(p).ok());
  CHECK(qk::PrepareAvgPool2dS8(p).ok());
  p.output.scale = 0.2f;
  ExpectError(qk::PrepareMaxPool2dS8(p), "max_pool2d_s8: output scale/zero point (0.200000003, 3) must equal the "
                                         "input's (0.100000001, 3)");
  ExpectError(qk::PrepareAvgPool2dS8(p), "avg_pool2d_s8: output scale/zero point");
  p.output = {0.1f, 4};
  ExpectError(qk::PrepareAvgPool2dS8(p), "int8 pooling does not requantize");
  p.output = p.input;
  p.act_min = 50, p.act_max = 49;
  ExpectError(qk::PrepareMaxPool2dS8(p), "max_pool2d_s8: act_min 50 must not exceed act_max 49");
  p.act_min = -128, p.act_max = 127;
  p.input.zero_point = p.output.zero_point = 200;
  ExpectError(qk::PrepareMaxPool2dS8(p), "max_pool2d_s8: input.zero_point must be in [-128, 127], got 200");
  p.input.zero_point = p.output.zero_point = 0;
  p.shape.pad_top = 2;
  ExpectError(qk::PrepareAvgPool2dS8(p), "avg_pool2d_s8: pool2d: padding");

  qk::GlobalAvgPoolS8Params g;
  g.shape = {1, 49, 8};
  g.input = g.output = {0.1f, 0};
  CHECK(qk::PrepareGlobalAvgPoolS8(g).ok());
  g.output.scale = 0.05f;
  ExpectError(qk::PrepareGlobalAvgPoolS8(g), "global_avg_pool_s8: output scale/zero point");
  g.output = g.input;
  g.shape.spatial = 0;
  ExpectError(qk::PrepareGlobalAvgPoolS8(g), "global_avg_pool_s8: spatial must be positive, got 0");
  g.shape.spatial = 1 << 24;
  ExpectError(qk::PrepareGlobalAvgPoolS8(g), "global_avg_pool_s8: spatial 16777216 is too large");
}

TEST_CASE("int8 add and rescale prepare reject bad parameters") {
  qk::AddS8Params a;
  a.count = 10;
  a.input_a = {0.1f, 0}, a.input_b = {0.2f, 1}, a.output = {0.3f, -2};
  auto ok = qk::PrepareAddS8(a);
  REQUIRE(ok.ok());
  // The three multipliers: 0.1 / 0.4 = 0.25, 0.2 / 0.4 = 0.5, 0.4 / (2^20 * 0.3).
  CHECK(ok->requant_a.multiplier == (1 << 30));
  CHECK(ok->requant_a.shift == -1);
  CHECK(ok->requant_b.multiplier == (1 << 30));
  CHECK(ok->requant_b.shift == 0);
  a.input_b.scale = kNaN;
  ExpectError(qk::PrepareAddS8(a), "add_s8: input_b.scale must be positive and finite, got nan");
  a.input_b.scale = 0.2f;
  a.output.zero_point = -300;
  ExpectError(qk::PrepareAddS8(a), "add_s8: output.zero_point must be in [-128, 127], got -300");
  a.output.zero_point = 0;
  a.count = -1;
  ExpectError(qk::PrepareAddS8(a), "add_s8: count must be non-negative, got -1");
  a.count = 10;
  a.output.scale = 1e-30f;  // 0.4 / (2^20 * 1e-30) ~ 4e23: not representable
  ExpectError(qk::PrepareAddS8(a), "add_s8: output multiplier 2 max(s_a, s_b) / (2^20 s_out)");

  qk::RescaleS8Params r;
  r.count = 4;
  r.input = {0.1f, 0}, r.output = {0.1f, 0};
  CHECK(qk::PrepareRescaleS8(r).ok());
  r.act_min = 1, r.act_max = 0;
  ExpectError(qk::PrepareRescaleS8(r), "rescale_s8: act_min 1 must not exceed act_max 0");
  r.act_min = -128, r.act_max = 127;
  r.output.scale = -0.1f;
  ExpectError(qk::PrepareRescaleS8(r), "rescale_s8: output.scale must be positive and finite, got -0.100000001");

  qk::QuantizeS8Params q;
  q.count = 3;
  q.q = {0.0f, 0};
  const qualm::Status s = qk::Validate(q);
  REQUIRE(!s.ok());
  CHECK(s.message() == "quantize_s8: q.scale must be positive and finite, got 0");
}
