// The fast int8 path (fast::conv2d_s8, fast::dense_s8) against the frozen
// references: every compiled variant this machine can run, bit for bit (==),
// never a tolerance (the variants are listed, run or skipped, by
// int8_fast_gemm_test.cpp, which also tests their micro-kernels and output
// stage alone).
//  conv2d_s8 and dense_s8 end to end against ref::conv2d_s8 / ref::dense_s8
//     on real and awkward shapes (1, primes, channel tails not multiple of 16,
//     row tails not multiple of 4, groups, depthwise, stride, dilation,
//     asymmetric padding, batch 1 and more), threads 1 to 3, all modes, zero
//     points at -128 and 127, saturation at both ends, weights at +-127 and
//     |x - zp| = 255, bias at the bound Prepare allows, K at the int32 bound.
// Reference outputs of the "normal" cases are checked not to be degenerate
// (mostly clamped or constant), so that equality means something.
// Scratch is exactly the size the scratch functions ask for, pre-filled with
// garbage; scratch, inputs and outputs end at an inaccessible page, so reading
// or writing past any of them crashes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/int8_fast_util.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/detail/conv_c1_variants.h"
#include "qualm/kernels/dense_s8.h"

using namespace int8_fast_test;
using namespace qualm_test;

namespace {

// ---------------------------------------------------------------------------
// 2. conv2d_s8 and dense_s8 end to end.

// Data and quantization of one case, shared by conv and dense.
struct Quant {
  int zp_in = 0, zp_out = 0;
  RequantMode mode = RequantMode::kGemmlowp;
  qk::FusedActivation act = qk::FusedActivation::kNone;
  bool has_bias = true, per_tensor = false;
  enum class Data { kRandom, kExtreme } data = Data::kRandom;  // kExtreme: w = +-127, x in {-128, 127}
  enum class Bias { kRandom, kAtBound } bias = Bias::kRandom;  // kAtBound: |bias| = 2^31 - 1 - K * 255 * 127
  double spread = 30.0;  // rms of the real outputs, in output units (large: saturates)
  bool expect_normal = true;
  bool expect_saturate = false;  // the reference must reach both act_min and act_max
  unsigned seed = 1;
};

std::string Describe(const Quant& q) {
  return std::string(qk::RequantModeName(q.mode)) + " zp " + std::to_string(q.zp_in) + "/" + std::to_string(q.zp_out) +
         " act " + std::to_string(static_cast<int>(q.act)) + (q.has_bias ? "" : " no-bias") +
         (q.per_tensor ? " per-tensor" : "") + (q.data == Quant::Data::kExtreme ? " extreme-data" : "") +
         (q.bias == Quant::Bias::kAtBound ? " bias-at-bound" : "") + " spread " + std::to_string(q.spread);
}

// Inputs, weights, bias and float parameters for an op with out_c rows of K weights.
struct Operands {
  S8 x, w;
  std::vector<std::int32_t> bias;
  std::vector<float> weight_scales;
  qk::QuantParams input, output;
  qk::ActivationRange range;
};

Operands MakeOperands(const Quant& q, std::size_t x_count, int out_c, std::int64_t K) {
  std::mt19937 rng(q.seed);
  Operands o;
  if (q.data == Quant::Data::kExtreme) {
    std::bernoulli_distribution coin(0.5);
    o.x.resize(x_count);
    for (auto& v : o.x) v = coin(rng) ? 127 : -128;
    o.w.resize(static_cast<std::size_t>(out_c * K));
    for (auto& v : o.w) v = coin(rng) ? 127 : -127;
  } else {
    o.x = RandomS8(x_count, rng);
    o.w = RandomS8(static_cast<std::size_t>(out_c * K), rng, -127, 127);
  }
  const double bound = 2147483647.0 - static_cast<double>(K) * 255 * 127;
  if (q.bias == Quant::Bias::kAtBound) {
    o.bias.resize(static_cast<std::size_t>(out_c));
    for (int c = 0; c < out_c; ++c) {
      const auto b = static_cast<std::int32_t>(bound) - static_cast<std::int32_t>(rng() % 1000);
      o.bias[c] = c % 2 ? -b : b;
    }
  } else {
    const int mag = 40 * static_cast<int>(std::sqrt(static_cast<double>(K))) * 127;
    o.bias = RandomI32(static_cast<std::size_t>(out_c), rng, -mag, mag);
  }
  std::uniform_real_distribution<float> d(0.5f, 2.0f);
  o.weight_scales.resize(q.per_tensor ? 1 : static_cast<std::size_t>(out_c));
  for (auto& v : o.weight_scales) v = 0.004f * d(rng);
  o.input = {0.02f, q.zp_in};
  // rms of acc ~ sqrt(K) * rms(w) * rms(x - zp) (+ bias); output scale so that
  // the real outputs have rms `spread` output units.
  const double rms_x = std::sqrt(73.9 * 73.9 + (q.zp_in + 0.5) * (q.zp_in + 0.5));
  double rms_acc = std::sqrt(static_cast<double>(K)) * 73.3 * rms_x;
  if (q.bias == Quant::Bias::kAtBound) rms_acc = bound;
  o.output = {static_cast<float>(0.02 * 0.004 * rms_acc / q.spread), q.zp_out};
  o.range = qk::FusedActivationRange(q.act, o.output);
  return o;
}

// Reference outputs must not be degenerate in the normal cases, and must
// reach both ends in the saturating ones.
void CheckInformative(const std::string& what, const Quant& q, const S8& y, const qk::ActivationRange& r) {
  if (q.expect_saturate) {
    INFO(what << ": the reference must saturate at both ends");
    CHECK(std::count(y.begin(), y.end(), r.min) > 0);
    CHECK(std::count(y.begin(), y.end(), r.max) > 0);
  }
  if (!q.expect_normal || y.size() < 64) return;
  std::size_t inside = 0;
  std::set<int> distinct;
  for (std::int8_t v : y) {
    inside += v > r.min && v < r.max;
    distinct.insert(v);
  }
  INFO(what << ": reference has " << inside << " of " << y.size() << " outputs inside the range, " << distinct.size()
            << " distinct");
  CHECK(inside * 5 >= y.size());
  CHECK(distinct.size() >= 5);
}

std::string Describe(const qk::Conv2dParams& p) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "conv n%d %dx%dx%d -> %d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d g%d", p.batch, p.in_h,
                p.in_w, p.in_c, p.out_c, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w,
                p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, p.groups);
  return buf;
}

qk::Conv2dParams Conv(int batch, int h, int w, int ic, int oc, int kh, int kw, int sh, int sw, int dh, int dw,
                      int pt, int pl, int pb, int pr, int groups) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.in_c = ic, p.out_c = oc, p.kernel_h = kh, p.kernel_w = kw;
  p.stride_h = sh, p.stride_w = sw, p.dilation_h = dh, p.dilation_w = dw;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr, p.groups = groups;
  return p;
}

// The fast conv under every variant and threads 1..3 equals the reference.
// With run_batch > 0, the op is prepared (and its scratch sized) for
// p.batch and then run on the first run_batch images, as the engine does.
void CheckConv(const qk::Conv2dParams& p, const Quant& q, int run_batch = 0) {
  const std::string what = Describe(p) + " " + Describe(q);
  INFO(what);
  REQUIRE(qk::Validate(p).ok());
  const std::int64_t K = std::int64_t{p.kernel_h} * p.kernel_w * (p.in_c / p.groups);
  const Operands o = MakeOperands(q, static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c, p.out_c, K);
  qk::Conv2dS8Params qp;
  qp.shape = p;
  qp.input = o.input;
  qp.weight_scales = o.weight_scales;
  qp.output.params = o.output;
  qp.output.act_min = o.range.min, qp.output.act_max = o.range.max;
  qp.output.mode = q.mode;
  const std::int32_t* bias = q.has_bias ? o.bias.data() : nullptr;
  auto prepared = qk::PrepareConv2dS8(qp, o.w.data(), bias);
  INFO(prepared.status().ToString());
  REQUIRE(prepared.ok());
  const qk::PackedS8Weights packed = qk::PackConv2dS8Weights(*prepared, o.w.data());
  std::vector<std::size_t> scratch_sizes;
  for (int threads = 1; threads <= 3; ++threads)
    scratch_sizes.push_back(qk::fast::conv2d_s8_scratch_int16(*prepared, threads));
  qk::PreparedConv2dS8 run = *prepared;
  if (run_batch > 0) run.shape.batch = run_batch;
  const std::size_t ys = static_cast<std::size_t>(run.shape.batch) * p.out_h() * p.out_w() * p.out_c;
  S8 want(ys, 0x55);
  qk::ref::conv2d_s8(run, o.x.data(), o.w.data(), bias, want.data());
  CheckInformative(what, q, want, o.range);
  Guarded<std::int8_t> x(S8(o.x.begin(), o.x.begin() + static_cast<std::ptrdiff_t>(
                                             static_cast<std::size_t>(run.shape.batch) * p.in_h * p.in_w * p.in_c)));
  ForEachInt8Variant([&](const qd::Int8GemmVariant&) {
    for (int threads = 1; threads <= 3; ++threads) {
      CAPTURE(threads);
      ScratchS16 scratch(scratch_sizes[static_cast<std::size_t>(threads - 1)]);
      Guarded<std::int8_t> got(ys, 0x55);
      qk::fast::conv2d_s8(scratch.Context(threads), run, packed, x.data(), bias, got.data());
      CheckSame("conv2d_s8", got.ToVector(), want);
    }
  });
}

void CheckDense(const qk::DenseParams& p, const Quant& q, int run_batch = 0) {
  const std::string what = "dense batch " + std::to_string(p.batch) + " in " + std::to_string(p.in_features) +
                           " out " + std::to_string(p.out_features) + " " + Describe(q);
  INFO(what);
  const Operands o = MakeOperands(q, static_cast<std::size_t>(p.batch) * p.in_features, p.out_features, p.in_features);
  qk::DenseS8Params qp;
  qp.shape = p;
  qp.input = o.input;
  qp.weight_scales = o.weight_scales;
  qp.output.params = o.output;
  qp.output.act_min = o.range.min, qp.output.act_max = o.range.max;
  qp.output.mode = q.mode;
  const std::int32_t* bias = q.has_bias ? o.bias.data() : nullptr;
  auto prepared = qk::PrepareDenseS8(qp, o.w.data(), bias);
  INFO(prepared.status().ToString());
  REQUIRE(prepared.ok());
  const qk::PackedS8Weights packed = qk::PackDenseS8Weights(*prepared, o.w.data());
  std::vector<std::size_t> scratch_sizes;
  for (int threads = 1; threads <= 3; ++threads)
    scratch_sizes.push_back(qk::fast::dense_s8_scratch_int16(*prepared, threads));
  qk::PreparedDenseS8 run = *prepared;
  if (run_batch > 0) run.shape.batch = run_batch;
  const std::size_t ys = static_cast<std::size_t>(run.shape.batch) * p.out_features;
  S8 want(ys, 0x55);
  qk::ref::dense_s8(run, o.x.data(), o.w.data(), bias, want.data());
  CheckInformative(what, q, want, o.range);
  Guarded<std::int8_t> x(
      S8(o.x.begin(), o.x.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(run.shape.batch) * p.in_features)));
  ForEachInt8Variant([&](const qd::Int8GemmVariant&) {
    for (int threads = 1; threads <= 3; ++threads) {
      CAPTURE(threads);
      ScratchS16 scratch(scratch_sizes[static_cast<std::size_t>(threads - 1)]);
      Guarded<std::int8_t> got(ys, 0x55);
      qk::fast::dense_s8(scratch.Context(threads), run, packed, x.data(), bias, got.data());
      CheckSame("dense_s8", got.ToVector(), want);
    }
  });
}

Quant Q(RequantMode mode, int zp_in, int zp_out, unsigned seed) {
  Quant q;
  q.mode = mode, q.zp_in = zp_in, q.zp_out = zp_out, q.seed = seed;
  return q;
}

}  // namespace

TEST_CASE("int8 fast conv2d on the study's layer shapes in every mode") {
  const qk::Conv2dParams shapes[] = {
      Conv(2, 28, 28, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // ResNet-20 stage 1
      Conv(2, 28, 28, 16, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),   // downsampling
      Conv(2, 14, 14, 16, 32, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1),   // 1x1 stride-2 projection
      Conv(2, 7, 7, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     // stage 3, K = 576
      Conv(2, 14, 14, 32, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 32),  // BN folded into a 1x1 depthwise conv
      Conv(3, 28, 28, 1, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1),     // LeNet-5 conv1
      Conv(3, 14, 14, 6, 16, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1),    // LeNet-5 conv2
      Conv(2, 28, 28, 1, 4, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1),     // LeNet-1 conv1
      Conv(2, 12, 12, 24, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),   // NiN cccp (1x1)
  };
  unsigned seed = 1;
  for (const auto& p : shapes)
    for (RequantMode m : kModes) CheckConv(p, Q(m, static_cast<int>(seed * 37 % 256) - 128, static_cast<int>(seed * 11 % 41) - 20, seed)), ++seed;
}

TEST_CASE("int8 fast conv2d and dense: few rows split into column blocks, 1 to 3 threads") {
  // Fewer row tiles than threads: the columns are cut into blocks of whole
  // panels (fast/int8_rows.h: blocks of at least 2^18 multiply-adds), so
  // these shapes are large in K x N; column tails inside the last block.
  for (RequantMode m : kModes) {
    CheckDense(qk::DenseParams{1, 1500, 700}, Q(m, 17, -3, 71));
    CheckDense(qk::DenseParams{3, 1031, 517}, Q(m, -128, 127, 72));
    CheckConv(Conv(1, 4, 4, 200, 300, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1), Q(m, 5, 9, 73));
    CheckConv(Conv(1, 5, 4, 200, 300, 3, 3, 1, 1, 1, 1, 1, 0, 0, 1, 2), Q(m, -77, 2, 74));  // groups 2, padding
  }
}

TEST_CASE("int8 fast per-channel affine (1x1 depthwise, the lowered batch norm) through its table") {
  // From kMinAffinePixels = 1024 pixels the fast conv runs a 1x1 stride-1
  // unpadded depthwise conv as a lookup in a [256][C] table made by the
  // depthwise kernel itself (fast/channel_affine_s8.h). Channel counts around
  // the 8-channel gather steps and the 32-channel step, primes, every mode and zero
  // points at both ends; prepared for a large batch and also run on a small
  // one (the direct kernel then, with the scratch sized for the large one).
  unsigned seed = 3000;
  for (int c : {1, 3, 7, 8, 9, 16, 17, 24, 31, 32, 33, 40, 47, 64, 100})
    for (RequantMode m : kModes) {
      const int batch = 1100 / (7 * 5) + 1;  // 32 images of 7x5: 1120 pixels
      CheckConv(Conv(batch, 7, 5, c, c, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, c), Q(m, static_cast<int>(seed % 255) - 127, 9 - c % 19, seed));
      ++seed;
    }
  CheckConv(Conv(64, 7, 7, 64, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 64), Q(RequantMode::kGemmlowp, -128, 127, 3100));
  CheckConv(Conv(64, 7, 7, 64, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 64), Q(RequantMode::kGemmlowp, 127, -128, 3101), 1);
  CheckConv(Conv(40, 6, 6, 32, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 32), Q(RequantMode::kSingle, 3, -5, 3102), 29);
}

TEST_CASE("int8 fast per-channel affine computed in lanes (AVX-512 VNNI variant): any pixel count, extremes") {
  // Under the AVX-512 VNNI variant the affine is computed, not looked up
  // (fast/channel_affine_s8_avx512.cpp), at every pixel count; the other
  // variants run these through their table or depthwise kernel, against the
  // same reference. Channel counts around the 16-lane panel and primes; batch
  // 1 (below the table's pixel count); pixel counts that are not a multiple of
  // the kernel's pixel block (max(64, 16384 / C)); extreme data and biases at
  // the int32 bound (acc's init = bias - w zp_in wraps modulo 2^32 for
  // biases near the bound: the sum must still be the reference's); multipliers
  // above 1 (left shifts, saturating) in every mode; ReLU bounds.
  unsigned seed = 3200;
  for (int c : {1, 5, 15, 16, 17, 33, 64, 97}) {
    for (RequantMode m : kModes) {
      CheckConv(Conv(1, 28, 28, c, c, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, c), Q(m, 100 - c, c - 60, seed++));
      CheckConv(Conv(3, 37, 11, c, c, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, c), Q(m, -128, -5, seed++), 2);
      Quant extreme = Q(m, c % 2 ? 127 : -128, 5, seed++);
      extreme.data = Quant::Data::kExtreme;
      extreme.bias = Quant::Bias::kAtBound;
      extreme.expect_normal = false;
      CheckConv(Conv(2, 9, 7, c, c, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, c), extreme);
      Quant left = Q(m, -3, -100, seed++);
      left.spread = 60000.0;  // multipliers ~10: left shifts of 3-4, most outputs at the clamps
      left.expect_normal = false;
      left.expect_saturate = true;
      CheckConv(Conv(2, 13, 13, c, c, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, c), left);
      Quant relu = Q(m, 7, -20, seed++);
      relu.act = qk::FusedActivation::kRelu6;
      relu.per_tensor = c % 2 == 0;
      relu.has_bias = c % 3 != 0;
      CheckConv(Conv(4, 8, 9, c, c, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, c), relu);
    }
  }
}

TEST_CASE("int8 fast conv2d sizes 1 to 10 and channel and row tails") {
  for (RequantMode m : kModes)
    for (int s = 1; s <= 10; ++s) {
      Quant q = Q(m, s * 7 - 40, 20 - s * 5, static_cast<unsigned>(s));
      q.expect_normal = s >= 4;
      CheckConv(Conv(1 + s % 2, s, 11 - s, 1 + s % 4, s, std::min(3, s), std::min(3, 11 - s), 1, 1, 1, 1, s % 2, s % 2,
                     s % 2, s % 2, 1),
                q);
    }
  // Output channels around the 16-column panel, input channels around the int16 pair.
  for (int oc : {1, 15, 16, 17, 31, 33})
    for (int ic : {1, 2, 3, 7})
      CheckConv(Conv(1, 5, 6, ic, oc, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), Q(RequantMode::kGemmlowp, ic - 3, oc % 7, oc * 10u + ic));
  // Depthwise channel counts around the 16-channel block.
  for (int c : {1, 3, 15, 16, 17, 31, 48})
    for (RequantMode m : kModes)
      CheckConv(Conv(2, 6, 5, c, c, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, c), Q(m, 5 - c, c - 9, static_cast<unsigned>(c)));
}

TEST_CASE("int8 fast conv2d stride dilation asymmetric padding and groups") {
  const qk::Conv2dParams shapes[] = {
      Conv(2, 7, 5, 3, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),
      Conv(1, 9, 8, 3, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1),
      Conv(1, 9, 11, 2, 3, 5, 3, 2, 3, 1, 2, 2, 1, 0, 3, 1),
      Conv(1, 4, 4, 2, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 1),      // mostly padding taps
      Conv(3, 13, 7, 31, 31, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 31),  // depthwise, primes
      Conv(2, 10, 9, 6, 6, 5, 3, 2, 1, 1, 2, 2, 0, 1, 2, 6),     // depthwise, stride, dilation, asymmetric
      Conv(2, 5, 5, 4, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),      // groups 2
      Conv(1, 6, 7, 3, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3),      // channel multiplier 2 (GEMM per group)
      Conv(3, 37, 29, 24, 12, 5, 5, 1, 2, 2, 1, 4, 2, 4, 3, 3),  // groups 3, several tiles
      Conv(2, 40, 40, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // several tiles per image
      Conv(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),      // everything 1
  };
  unsigned seed = 100;
  for (const auto& p : shapes) {
    for (RequantMode m : kModes) {
      Quant q = Q(m, static_cast<int>(seed % 60) - 30, static_cast<int>(seed % 19) - 9, seed);
      q.expect_normal = p.out_c * p.out_h() * p.out_w() >= 64;
      CheckConv(p, q);
      ++seed;
    }
  }
}

TEST_CASE("int8 fast conv2d on random awkward shapes and quantizations") {
  std::mt19937 rng(4242);
  auto pick = [&](std::initializer_list<int> v) { return *(v.begin() + rng() % v.size()); };
  int done = 0;
  while (done < 60) {
    const int g = pick({1, 1, 2, 3, 0});  // 0: depthwise
    const int icg = g == 0 ? 1 : pick({1, 2, 3, 5, 17});
    const int groups = g == 0 ? pick({1, 5, 17, 19}) : g;
    const int ocg = g == 0 ? 1 : pick({1, 3, 7, 16, 19});
    qk::Conv2dParams p = Conv(pick({1, 2, 3}), pick({1, 2, 5, 7, 13}), pick({1, 3, 7, 13}), groups * icg, groups * ocg,
                              pick({1, 2, 3, 5}), pick({1, 2, 3}), pick({1, 2, 3}), pick({1, 2}), pick({1, 2}),
                              pick({1, 2}), pick({0, 1, 2}), pick({0, 1}), pick({0, 2}), pick({0, 1}), groups);
    if (!qk::Validate(p).ok()) continue;
    Quant q = Q(kModes[rng() % 3], pick({-128, -7, 0, 33, 127}), pick({-128, -3, 0, 12, 127}), rng());
    q.act = static_cast<qk::FusedActivation>(rng() % 3);
    q.has_bias = rng() % 4 != 0;
    q.per_tensor = rng() % 4 == 0;
    q.expect_normal = false;  // random zero points and ReLU6 may clamp most outputs
    CheckConv(p, q);
    ++done;
  }
}

TEST_CASE("int8 fast conv2d zero points at both ends and saturation at both ends") {
  const qk::Conv2dParams p = Conv(2, 6, 5, 4, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  const qk::Conv2dParams dw = Conv(2, 6, 5, 17, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 17);
  for (RequantMode m : kModes) {
    for (int zin : {-128, 127})
      for (int zout : {-128, 127}) {
        Quant q = Q(m, zin, zout, static_cast<unsigned>(zin + 2 * zout + 1000));
        q.expect_normal = false;
        CheckConv(p, q);
        CheckConv(dw, q);
      }
    // Outputs far beyond the int8 range: both ends saturate.
    Quant sat = Q(m, 3, -2, 77);
    sat.spread = 2000;
    sat.expect_normal = false;
    sat.expect_saturate = true;
    CheckConv(p, sat);
    CheckConv(dw, sat);
    // Fused ReLU / ReLU6.
    Quant relu = Q(m, 3, -20, 78);
    relu.act = qk::FusedActivation::kRelu;
    relu.expect_normal = false;
    CheckConv(p, relu);
    relu.act = qk::FusedActivation::kRelu6;
    CheckConv(dw, relu);
  }
}

TEST_CASE("int8 fast conv2d with extreme weights and data and bias at the Prepare bound") {
  for (RequantMode m : kModes) {
    for (int zin : {-128, 127}) {
      // |x - zp| is 0 or 255, |w| = 127 everywhere.
      Quant q = Q(m, zin, 0, 500u + static_cast<unsigned>(zin + 128));
      q.data = Quant::Data::kExtreme;
      q.expect_normal = false;
      CheckConv(Conv(2, 7, 6, 5, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), q);
      CheckConv(Conv(2, 7, 6, 19, 19, 3, 3, 2, 1, 1, 1, 1, 0, 1, 1, 19), q);
      q.bias = Quant::Bias::kAtBound;
      CheckConv(Conv(2, 7, 6, 5, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), q);
      CheckConv(Conv(2, 7, 6, 19, 19, 3, 3, 2, 1, 1, 1, 1, 0, 1, 1, 19), q);
    }
  }
}

TEST_CASE("int8 fast conv2d accumulator at the int32 bound") {
  // K = 3 * 3 * 7367 = 66303: K * 255 * 127 = 2147222655, bias fills the rest
  // to 2^31 - 1. Every weight +127 (or -127) and every x - zp = 255 gives
  // accumulators of exactly +-(2^31 - 1) at the interior pixel.
  qk::Conv2dParams p = Conv(1, 4, 4, 7367, 3, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1);
  const std::int64_t K = 9 * 7367;
  const std::int32_t b = static_cast<std::int32_t>(2147483647 - K * 255 * 127);
  S8 w(static_cast<std::size_t>(3 * K));
  for (std::int64_t i = 0; i < K; ++i) w[i] = 127, w[K + i] = -127, w[2 * K + i] = i % 2 ? 127 : -127;
  const S8 x(static_cast<std::size_t>(16) * 7367, 127);
  const std::vector<std::int32_t> bias = {b, -b, 0};
  for (RequantMode m : kModes) {
    qk::Conv2dS8Params qp;
    qp.shape = p;
    qp.input = {0.01f, -128};
    qp.weight_scales = {0.01f, 0.01f, 0.01f};
    qp.output.params = {10000.0f, 0};
    qp.output.mode = m;
    auto prepared = qk::PrepareConv2dS8(qp, w.data(), bias.data());
    REQUIRE(prepared.ok());
    const qk::PackedS8Weights packed = qk::PackConv2dS8Weights(*prepared, w.data());
    S8 want(12);
    qk::ref::conv2d_s8(*prepared, x.data(), w.data(), bias.data(), want.data());
    CHECK(want[0] == 21);
    CHECK(want[1] == -21);
    ForEachInt8Variant([&](const qd::Int8GemmVariant&) {
      ScratchS16 scratch(qk::fast::conv2d_s8_scratch_int16(*prepared, 2));
      S8 got(12);
      qk::fast::conv2d_s8(scratch.Context(2), *prepared, packed, x.data(), bias.data(), got.data());
      CheckSame("conv2d_s8 at the bound", got, want);
    });
  }
}

// One input channel (LeNet conv1, the ResNet-20 / NiN stems): under the VNNI
// variant these run the pixels-in-lanes path (detail/conv_c1_variants.h),
// except 3- and 4-tap kernel rows, which take the implicit GEMM
// (fast/conv2d_s8_direct.h), under the others the general one; CheckConv
// holds each to the reference.
// Shapes around its 16-pixel groups and 64-pixel blocks (H, W 1, 2, 5, 28,
// 29), channel counts around its 32-channel chunks and the 16-column panels,
// kernels 1x1 to 5x5, stride, dilation, asymmetric padding, batch 1 and 3.
TEST_CASE("int8 fast conv2d with one input channel (the pixels-in-lanes path)") {
  std::string which;
  for (const auto& v : qd::RunnableInt8GemmVariants()) {
    qd::ScopedInt8GemmIsaForTesting scoped(v.isa);
    which += std::string(v.name) + " -> " + qd::ConvS8C1PathName() + "; ";
  }
  MESSAGE("one-channel int8 path per int8 variant (none: the general path runs there; variants above the "
          "QUALM_ISA cap or the CPU are not listed): "
          << which);
  unsigned seed = 900;
  // The study's layers: LeNet-5 / LeNet-1 conv1 and the stems, in every mode and zero point extreme.
  for (RequantMode m : kModes)
    for (int zin : {-128, 0, 127}) {
      Quant q = Q(m, zin, static_cast<int>(seed % 17) - 8, seed);
      ++seed;
      q.expect_normal = zin == 0;
      CheckConv(Conv(3, 28, 28, 1, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1), q);
      CheckConv(Conv(1, 28, 28, 1, 4, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1), q);
      CheckConv(Conv(1, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), q);
    }
  for (int hw : {1, 2, 5, 28, 29})
    for (int oc : {1, 4, 6, 15, 16, 17, 33})
      for (int k : {1, 3, 5}) {
        const int pad = k / 2;
        Quant q = Q(kModes[seed % 3], static_cast<int>(seed % 51) - 25, static_cast<int>(seed % 13) - 6, seed);
        q.expect_normal = false;
        CheckConv(Conv(1 + static_cast<int>(seed % 3) % 2 * 2, hw, hw + static_cast<int>(seed % 2), 1, oc, k, k, 1, 1,
                       1, 1, pad, pad, pad, pad, 1),
                  q);
        ++seed;
      }
  // Stride, dilation, non-square kernels, asymmetric padding, per-tensor scales, no bias, fused activations.
  const qk::Conv2dParams shapes[] = {
      Conv(3, 29, 28, 1, 17, 2, 3, 2, 2, 1, 1, 0, 1, 2, 0, 1),
      Conv(1, 28, 29, 1, 6, 3, 3, 1, 2, 2, 2, 2, 1, 0, 2, 1),
      Conv(2, 5, 29, 1, 33, 5, 5, 2, 1, 1, 2, 1, 2, 2, 1, 1),
      Conv(1, 2, 28, 1, 15, 3, 2, 1, 3, 1, 1, 2, 2, 2, 2, 1),  // mostly padding rows
      Conv(3, 13, 11, 1, 16, 3, 5, 1, 1, 2, 1, 1, 0, 2, 1, 1),
      Conv(1, 1, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),    // one pixel, all but one tap padding
      Conv(2, 40, 37, 1, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), // two channel chunks, many blocks
  };
  for (const auto& p : shapes)
    for (RequantMode m : kModes) {
      Quant q = Q(m, static_cast<int>(seed % 200) - 100, static_cast<int>(seed % 9) - 4, seed);
      q.per_tensor = seed % 2 == 0;
      q.has_bias = seed % 3 != 0;
      q.act = static_cast<qk::FusedActivation>(seed % 3);
      q.expect_normal = false;
      CheckConv(p, q);
      ++seed;
    }
  // Saturation at both ends and a batch run smaller than prepared.
  Quant sat = Q(RequantMode::kGemmlowp, 127, -128, 77);
  sat.spread = 2000;
  sat.expect_normal = false;
  sat.expect_saturate = true;
  CheckConv(Conv(2, 28, 28, 1, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1), sat);
  CheckConv(Conv(5, 28, 28, 1, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1), Q(RequantMode::kSingle, -128, 3, 78), 2);
}

TEST_CASE("int8 fast conv2d runs a smaller batch than it was prepared for") {
  CheckConv(Conv(5, 9, 9, 8, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), Q(RequantMode::kGemmlowp, -3, 4, 9), 2);
  CheckConv(Conv(5, 9, 9, 12, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 12), Q(RequantMode::kSingle, -3, 4, 10), 1);
}

// ---------------------------------------------------------------------------
TEST_CASE("int8 fast dense grid of sizes and the study's layers in every mode") {
  for (RequantMode m : kModes) {
    for (int k = 1; k <= 10; ++k) {
      Quant q = Q(m, k - 5, 2 * k, static_cast<unsigned>(k));
      q.expect_normal = false;
      CheckDense({3, k, 11 - k}, q);
    }
    unsigned seed = 50;
    for (const qk::DenseParams& p : std::vector<qk::DenseParams>{{7, 13, 31},
                                                                 {1, 400, 120},
                                                                 {5, 400, 120},
                                                                 {6, 120, 84},
                                                                 {9, 84, 10},
                                                                 {2, 784, 17},
                                                                 {17, 64, 10},
                                                                 {33, 97, 33},
                                                                 {4, 1, 1}}) {
      Quant q = Q(m, static_cast<int>(seed % 50) - 25, static_cast<int>(seed % 9) - 4, seed);
      q.expect_normal = p.batch * p.out_features >= 64;
      CheckDense(p, q);
      ++seed;
    }
  }
}

TEST_CASE("int8 fast dense extremes and saturation") {
  for (RequantMode m : kModes) {
    for (int zin : {-128, 127})
      for (int zout : {-128, 127}) {
        Quant q = Q(m, zin, zout, static_cast<unsigned>(3000 + zin + 3 * zout));
        q.expect_normal = false;
        CheckDense({4, 31, 10}, q);
        q.data = Quant::Data::kExtreme;
        CheckDense({5, 33, 17}, q);
        q.bias = Quant::Bias::kAtBound;
        CheckDense({5, 33, 17}, q);
        q.per_tensor = true;
        q.has_bias = false;
        CheckDense({3, 18, 16}, q);
      }
    Quant sat = Q(m, 0, 0, 91);
    sat.spread = 1500;
    sat.expect_normal = false;
    sat.expect_saturate = true;
    CheckDense({5, 40, 12}, sat);
    Quant relu = Q(m, 0, -40, 92);
    relu.act = qk::FusedActivation::kRelu;
    relu.expect_normal = false;
    CheckDense({8, 40, 12}, relu);
  }
  CheckDense({6, 50, 20}, Q(RequantMode::kFloat, 3, 1, 93), 2);  // smaller batch than prepared
}

TEST_CASE("int8 fast dense accumulator at the int32 bound") {
  const int K = 66311;                             // K * 255 * 127 = 2147481735
  const std::int32_t b = 2147483647 - 2147481735;  // 1912
  S8 w(static_cast<std::size_t>(2) * K);
  for (int i = 0; i < K; ++i) w[i] = 127, w[static_cast<std::size_t>(K) + i] = -127;
  const std::vector<std::int32_t> bias = {b, -b};
  S8 x(static_cast<std::size_t>(3) * K, 127);
  for (int i = 0; i < K; ++i) x[static_cast<std::size_t>(2) * K + i] = static_cast<std::int8_t>(i % 2 ? 127 : -128);
  for (RequantMode m : kModes) {
    qk::DenseS8Params qp;
    qp.shape = {3, K, 2};
    qp.input = {0.01f, -128};
    qp.weight_scales = {0.01f, 0.01f};
    qp.output.params = {10000.0f, 0};
    qp.output.mode = m;
    auto prepared = qk::PrepareDenseS8(qp, w.data(), bias.data());
    REQUIRE(prepared.ok());
    const qk::PackedS8Weights packed = qk::PackDenseS8Weights(*prepared, w.data());
    S8 want(6);
    qk::ref::dense_s8(*prepared, x.data(), w.data(), bias.data(), want.data());
    CHECK(want[0] == 21);
    CHECK(want[1] == -21);
    ForEachInt8Variant([&](const qd::Int8GemmVariant&) {
      for (int threads : {1, 3}) {
        ScratchS16 scratch(qk::fast::dense_s8_scratch_int16(*prepared, threads));
        S8 got(6);
        qk::fast::dense_s8(scratch.Context(threads), *prepared, packed, x.data(), bias.data(), got.data());
        CheckSame("dense_s8 at the bound", got, want);
      }
    });
  }
}
