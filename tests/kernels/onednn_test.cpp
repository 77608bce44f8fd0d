// The oneDNN path (qualm/kernels/onednn.h) against the frozen references.
//  * the build says what it has: Available() matches QUALM_WITH_ONEDNN, and in a
//    build without oneDNN every Prepare fails with the "not available" message
//    (this case is what the no-onednn CI build runs);
//  * int8 conv2d / dense with oneDNN's s32 accumulators and qualm's
//    requantization: bit-identical (==) to ref::conv2d_s8 / ref::dense_s8 on
//    random awkward shapes (1, primes, channel counts that are not multiples of
//    16, groups, depthwise, stride, dilation, asymmetric padding), per-channel
//    and per-tensor weight scales, every requantization mode, zero points at
//    both ends, bias or none, fused ReLU, batch = the prepared max and smaller
//    (which Run covers with several primitives), 1 and 2 threads;
//  * int8 with oneDNN's native fp32 output scales: the disagreements with the
//    reference are counted and reported; the test asserts only that they are
//    rare and one unit at most (onednn.h says where they come from);
//  * float conv2d / dense: within 2 k eps sum|terms| of the float reference.
// Reference outputs are checked not to be degenerate, so equality means something.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/int8_test_util.h"
#include "kernels/test_util.h"
#include "qualm/kernels/onednn.h"

namespace qk = qualm::kernels;
namespace qo = qualm::kernels::onednn;
using namespace qualm_test;

namespace {

qk::Conv2dParams Conv(int batch, int h, int w, int ic, int oc, int k, int stride, int dil, int pt, int pl, int pb,
                      int pr, int groups) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.in_c = ic, p.out_c = oc, p.kernel_h = k, p.kernel_w = k;
  p.stride_h = p.stride_w = stride;
  p.dilation_h = p.dilation_w = dil;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr, p.groups = groups;
  return p;
}

std::string Describe(const qk::Conv2dParams& p) {
  return std::string("conv n") + std::to_string(p.batch) + " " + std::to_string(p.in_h) + "x" +
         std::to_string(p.in_w) + "x" + std::to_string(p.in_c) + " -> " + std::to_string(p.out_c) + " k" +
         std::to_string(p.kernel_h) + " s" + std::to_string(p.stride_h) + " d" + std::to_string(p.dilation_h) +
         " p" + std::to_string(p.pad_top) + std::to_string(p.pad_left) + std::to_string(p.pad_bottom) +
         std::to_string(p.pad_right) + " g" + std::to_string(p.groups);
}

// The shapes every int8 and float case runs: study shapes and awkward ones.
std::vector<qk::Conv2dParams> ConvShapes() {
  return {
      Conv(3, 28, 28, 1, 6, 5, 1, 1, 2, 2, 2, 2, 1),   // LeNet-5 conv1 (one input channel)
      Conv(2, 14, 14, 6, 16, 5, 1, 1, 0, 0, 0, 0, 1),  // LeNet-5 conv2
      Conv(2, 8, 8, 16, 16, 3, 1, 1, 1, 1, 1, 1, 1),   // ResNet-20 3x3 (smaller image)
      Conv(5, 7, 9, 3, 17, 3, 2, 1, 0, 1, 2, 1, 1),    // primes, stride 2, asymmetric padding
      Conv(3, 11, 5, 12, 18, 3, 1, 2, 2, 2, 2, 2, 3),  // groups 3, dilation 2
      Conv(4, 6, 6, 19, 19, 1, 1, 1, 0, 0, 0, 0, 19),  // depthwise 1x1 (ResNet-20's lowered BN)
      Conv(2, 5, 5, 8, 8, 3, 1, 1, 1, 1, 1, 1, 8),     // depthwise 3x3 with padding
      Conv(1, 1, 1, 31, 7, 1, 1, 1, 0, 0, 0, 0, 1),    // 1x1 image, 1 sample
      Conv(6, 4, 4, 33, 65, 2, 2, 1, 0, 0, 1, 1, 1),   // tails past 16 / 64 channels
  };
}

struct S8Case {
  int zp_in = 0, zp_out = 0;
  qk::RequantMode mode = qk::RequantMode::kGemmlowp;
  bool relu = false, bias = true, per_tensor = false;
  unsigned seed = 1;
};

std::vector<S8Case> S8Cases() {
  return {
      {0, 0, qk::RequantMode::kGemmlowp, false, true, false, 1},
      {-128, 5, qk::RequantMode::kGemmlowp, true, true, false, 2},
      {127, -128, qk::RequantMode::kSingle, false, false, false, 3},
      {-7, 3, qk::RequantMode::kFloat, false, true, true, 4},
      {13, -20, qk::RequantMode::kGemmlowp, false, true, true, 5},
  };
}

std::string Describe(const S8Case& c) {
  return std::string(qk::RequantModeName(c.mode)) + " zp " + std::to_string(c.zp_in) + "/" + std::to_string(c.zp_out) +
         (c.relu ? " relu" : "") + (c.bias ? "" : " no-bias") + (c.per_tensor ? " per-tensor" : " per-channel");
}

// Int8 operands for rows of K weights, and quantization giving outputs with an
// rms of about 30 output units (most inside the range, some clamped; ReLU clamps about half).
struct S8Operands {
  S8 x, w;
  std::vector<std::int32_t> bias;
  std::vector<float> weight_scales;
  qk::QuantParams input, output;
  qk::ActivationRange range;
};

S8Operands MakeS8(const S8Case& c, std::size_t x_count, int rows, std::int64_t K) {
  std::mt19937 rng(c.seed * 7919u + static_cast<unsigned>(K));
  S8Operands o;
  o.x = RandomS8(x_count, rng);
  o.w = RandomS8(static_cast<std::size_t>(rows * K), rng, -127, 127);
  const int mag = 40 * static_cast<int>(std::sqrt(static_cast<double>(K))) * 127;
  o.bias = RandomI32(static_cast<std::size_t>(rows), rng, -mag, mag);
  std::uniform_real_distribution<float> d(0.5f, 2.0f);
  o.weight_scales.resize(c.per_tensor ? 1 : static_cast<std::size_t>(rows));
  for (auto& v : o.weight_scales) v = 0.004f * d(rng);
  o.input = {0.02f, c.zp_in};
  const double rms_x = std::sqrt(73.9 * 73.9 + (c.zp_in + 0.5) * (c.zp_in + 0.5));
  const double rms_acc = std::sqrt(static_cast<double>(K)) * 73.3 * rms_x;
  o.output = {static_cast<float>(0.02 * 0.004 * rms_acc / 30.0), c.zp_out};
  o.range = qk::FusedActivationRange(c.relu ? qk::FusedActivation::kRelu : qk::FusedActivation::kNone, o.output);
  return o;
}

void CheckInformative(const std::string& what, const S8& y, const qk::ActivationRange& r) {
  std::size_t inside = 0;
  for (std::int8_t v : y) inside += v > r.min && v < r.max;
  INFO(what << ": reference has " << inside << " of " << y.size() << " outputs inside the range");
  CHECK(inside * 5 >= y.size());  // ReLU clamps about half
}

// Disagreements of the native-scales variant, over every case.
struct Disagreements {
  std::size_t outputs = 0, differ = 0;
  int worst = 0;
  void Add(const S8& got, const S8& want) {
    outputs += got.size();
    for (std::size_t i = 0; i < got.size(); ++i) {
      const int d = std::abs(int{got[i]} - int{want[i]});
      differ += d != 0;
      worst = std::max(worst, d);
    }
  }
};

// Runs the prepared op at `n` (<= the max batch) with 1 and 2 threads; checks
// == against `want` (kQualm) or counts (kNativeScales).
template <typename PrepareFn>
void RunS8(const std::string& what, qo::S8Requant requant, int n, std::size_t out_per_sample, const S8& x,
           const S8& want, PrepareFn prepare, Disagreements* count) {
  for (int threads = 1; threads <= 2; ++threads) {
    CAPTURE(threads);
    auto op = prepare(requant, threads);
    INFO(what << " " << qo::S8RequantName(requant) << ": " << op.status().ToString());
    REQUIRE(op.ok());
    S8 got(static_cast<std::size_t>(n) * out_per_sample, 0x55);
    (*op)->Run(n, x.data(), got.data());
    if (requant == qo::S8Requant::kQualm) {
      std::size_t differ = 0;
      for (std::size_t i = 0; i < got.size(); ++i) differ += got[i] != want[i];
      INFO(what << " (" << (*op)->ImplName() << ", n " << n << "): " << differ << " of " << got.size() << " differ");
      CHECK(differ == 0);
    } else if (threads == 1) {
      count->Add(got, want);
    }
  }
}

void CheckConvS8(const qk::Conv2dParams& p, const S8Case& c, Disagreements* native) {
  const std::string what = Describe(p) + " " + Describe(c);
  INFO(what);
  const std::int64_t K = std::int64_t{p.kernel_h} * p.kernel_w * (p.in_c / p.groups);
  const S8Operands o = MakeS8(c, static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c, p.out_c, K);
  qk::Conv2dS8Params qp;
  qp.shape = p;
  qp.input = o.input;
  qp.weight_scales = o.weight_scales;
  qp.output.params = o.output;
  qp.output.act_min = o.range.min, qp.output.act_max = o.range.max;
  qp.output.mode = c.mode;
  const std::int32_t* bias = c.bias ? o.bias.data() : nullptr;
  auto prepared = qk::PrepareConv2dS8(qp, o.w.data(), bias);
  REQUIRE(prepared.ok());
  const std::size_t out_per_sample = static_cast<std::size_t>(p.out_h()) * p.out_w() * p.out_c;
  // The max batch, and (when there is one) a smaller n that needs two primitives.
  for (int n : {p.batch, p.batch > 2 ? p.batch - 1 : 0}) {
    if (n == 0) continue;
    qk::PreparedConv2dS8 run = *prepared;
    run.shape.batch = n;
    S8 want(static_cast<std::size_t>(n) * out_per_sample);
    qk::ref::conv2d_s8(run, o.x.data(), o.w.data(), bias, want.data());
    CheckInformative(what, want, o.range);
    for (qo::S8Requant r : {qo::S8Requant::kQualm, qo::S8Requant::kNativeScales}) {
      RunS8(what, r, n, out_per_sample, o.x, want,
            [&](qo::S8Requant rr, int threads) { return qo::PrepareConv2dS8(*prepared, o.w.data(), bias, rr, threads); },
            native);
    }
  }
}

void CheckDenseS8(const qk::DenseParams& p, const S8Case& c, Disagreements* native) {
  const std::string what = "dense n" + std::to_string(p.batch) + " " + std::to_string(p.in_features) + "->" +
                           std::to_string(p.out_features) + " " + Describe(c);
  INFO(what);
  const S8Operands o = MakeS8(c, static_cast<std::size_t>(p.batch) * p.in_features, p.out_features, p.in_features);
  qk::DenseS8Params qp;
  qp.shape = p;
  qp.input = o.input;
  qp.weight_scales = o.weight_scales;
  qp.output.params = o.output;
  qp.output.act_min = o.range.min, qp.output.act_max = o.range.max;
  qp.output.mode = c.mode;
  const std::int32_t* bias = c.bias ? o.bias.data() : nullptr;
  auto prepared = qk::PrepareDenseS8(qp, o.w.data(), bias);
  REQUIRE(prepared.ok());
  for (int n : {p.batch, p.batch > 2 ? p.batch - 1 : 0}) {
    if (n == 0) continue;
    qk::PreparedDenseS8 run = *prepared;
    run.shape.batch = n;
    S8 want(static_cast<std::size_t>(n) * p.out_features);
    qk::ref::dense_s8(run, o.x.data(), o.w.data(), bias, want.data());
    CheckInformative(what, want, o.range);
    for (qo::S8Requant r : {qo::S8Requant::kQualm, qo::S8Requant::kNativeScales}) {
      RunS8(what, r, n, static_cast<std::size_t>(p.out_features), o.x, want,
            [&](qo::S8Requant rr, int threads) { return qo::PrepareDenseS8(*prepared, o.w.data(), bias, rr, threads); },
            native);
    }
  }
}

std::vector<qk::DenseParams> DenseShapes() {
  return {{64, 400, 120}, {1, 400, 120}, {7, 120, 84}, {3, 84, 10}, {5, 1, 1}, {2, 257, 31}, {9, 64, 17}};
}

void ReportNative(const Disagreements& d) {
  MESSAGE("oneDNN native fp32 output scales: " << d.differ << " of " << d.outputs
                                               << " int8 outputs differ from the reference, by at most " << d.worst);
  CHECK(d.outputs > 0);
  CHECK(d.worst <= 1);
  CHECK(d.differ * 50 <= d.outputs);  // rare: at most 2 %
}

}  // namespace

TEST_CASE("onednn: the build says whether it has oneDNN, and without it every Prepare says so") {
#ifdef QUALM_WITH_ONEDNN
  const bool built_with = true;
#else
  const bool built_with = false;
#endif
  CHECK(qo::Available() == built_with);
  MESSAGE("oneDNN path: " << qo::Describe());
  if (qo::Available()) return;
  const qk::Conv2dParams c = Conv(1, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  const std::vector<float> w(3 * 3 * 3 * 2, 0.5f);
  auto f = qo::PrepareConv2dF32(c, w.data(), nullptr, 1);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == qualm::StatusCode::kUnimplemented);
  CHECK(f.status().message() == qo::kUnavailableMessage);
  auto d = qo::PrepareDenseF32({1, 4, 3}, w.data(), nullptr, 1);
  CHECK_FALSE(d.ok());
  qk::PreparedDenseS8 pd;
  auto s = qo::PrepareDenseS8(pd, nullptr, nullptr, qo::S8Requant::kQualm, 1);
  CHECK(s.status().message() == qo::kUnavailableMessage);
}

TEST_CASE("onednn: int8 conv2d, s32 + qualm requantization == reference, native scales counted") {
  if (!qo::Available()) {
    MESSAGE("skipped: " << std::string(qo::kUnavailableMessage));
    return;
  }
  Disagreements native;
  for (const qk::Conv2dParams& p : ConvShapes())
    for (const S8Case& c : S8Cases()) CheckConvS8(p, c, &native);
  ReportNative(native);
}

TEST_CASE("onednn: int8 dense, s32 + qualm requantization == reference, native scales counted") {
  if (!qo::Available()) {
    MESSAGE("skipped: " << std::string(qo::kUnavailableMessage));
    return;
  }
  Disagreements native;
  for (const qk::DenseParams& p : DenseShapes())
    for (const S8Case& c : S8Cases()) CheckDenseS8(p, c, &native);
  ReportNative(native);
}

TEST_CASE("onednn: float conv2d and dense within the float tolerance of the reference") {
  if (!qo::Available()) {
    MESSAGE("skipped: " << std::string(qo::kUnavailableMessage));
    return;
  }
  std::mt19937 rng(11);
  for (const qk::Conv2dParams& p : ConvShapes()) {
    INFO(Describe(p));
    const std::size_t xs = static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c;
    const std::size_t ws = static_cast<std::size_t>(p.out_c) * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
    const std::size_t ys = static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.out_c;
    const Vec x = Random(xs, rng), w = Random(ws, rng), b = Random(static_cast<std::size_t>(p.out_c), rng);
    Vec want(ys), mag(ys);
    qk::ref::conv2d_f32(p, x.data(), w.data(), b.data(), want.data());
    qk::ref::conv2d_f32(p, Abs(x).data(), Abs(w).data(), Abs(b).data(), mag.data());
    CHECK(MaxAbs(want) > 0.1);
    const double k = static_cast<double>(ws / static_cast<std::size_t>(p.out_c)) + 1;
    for (int threads = 1; threads <= 2; ++threads) {
      auto op = qo::PrepareConv2dF32(p, w.data(), b.data(), threads);
      INFO(op.status().ToString());
      REQUIRE(op.ok());
      Vec got(ys, 1e30f);
      (*op)->Run(p.batch, x.data(), got.data());
      CheckWithinDotBound("conv y", got, ToDouble(want), mag, k, 2.0);
      if (p.batch > 2) {  // a smaller batch: several primitives; the rest of y untouched
        Vec part(ys, 1e30f);
        (*op)->Run(p.batch - 1, x.data(), part.data());
        const std::size_t per = ys / static_cast<std::size_t>(p.batch);
        CHECK(part.back() == 1e30f);
        part.resize(ys - per);
        CheckWithinDotBound("conv y, n - 1", part, ToDouble(Vec(want.begin(), want.end() - static_cast<std::ptrdiff_t>(per))),
                            Vec(mag.begin(), mag.end() - static_cast<std::ptrdiff_t>(per)), k, 2.0);
      }
    }
  }
  for (const qk::DenseParams& p : DenseShapes()) {
    INFO("dense " << p.batch << " " << p.in_features << "->" << p.out_features);
    const std::size_t xs = static_cast<std::size_t>(p.batch) * p.in_features;
    const std::size_t ws = static_cast<std::size_t>(p.out_features) * p.in_features;
    const std::size_t ys = static_cast<std::size_t>(p.batch) * p.out_features;
    const Vec x = Random(xs, rng), w = Random(ws, rng), b = Random(static_cast<std::size_t>(p.out_features), rng);
    Vec want(ys), mag(ys);
    qk::ref::dense_f32(p, x.data(), w.data(), b.data(), want.data());
    qk::ref::dense_f32(p, Abs(x).data(), Abs(w).data(), Abs(b).data(), mag.data());
    for (int threads = 1; threads <= 2; ++threads) {
      auto op = qo::PrepareDenseF32(p, w.data(), b.data(), threads);
      INFO(op.status().ToString());
      REQUIRE(op.ok());
      Vec got(ys, 1e30f);
      (*op)->Run(p.batch, x.data(), got.data());
      CheckWithinDotBound("dense y", got, ToDouble(want), mag, p.in_features + 1, 2.0);
    }
  }
}
