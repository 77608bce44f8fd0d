// The implicit-GEMM (direct) int8 conv of the u8 x s8 variants
// (fast/conv2d_s8_direct.h, detail::U8S8ConvFn) against the frozen
// ref::conv2d_s8, bit for bit (==): every variant with such a kernel that this
// machine runs (the log lists which were skipped and why), 1, 2 and 3 threads,
// on random awkward shapes (in_c 4, 8, 12, 20, and 1, 2, 3, 5, 6, 7, 9, 13
// whose runs end in partial quads; out_c 1 to 64 with panel tails;
// sizes 1, 2, 5, 7, 13; 1x1, 3x3, 5x5, 3x1 kernels; stride 1 and 2, dilation 2,
// asymmetric padding; batch 1 and 3), every requantization mode, per-channel
// and per-tensor multipliers, zp_in at -128 and 127, images larger than one
// padded chunk, and a run batch smaller than the prepared one. Inputs, outputs
// and scratch (exactly the size conv2d_s8_scratch_int16 asks for, filled with
// garbage) end at an inaccessible page. The reference outputs are checked not
// to be degenerate, so that equality means something. The micro-kernels'
// output stage alone, through their own entry point, on the test points of
// the GEMM variants' output stage (StageCases, int8_fast_util.h).
// The whole fast conv (every variant, im2col and direct) on the study's
// shapes and at the arithmetic's bounds: int8_fast_test.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/int8_fast_util.h"
#include "qualm/kernels/conv2d_s8.h"

using namespace int8_fast_test;
using namespace qualm_test;

namespace {

// One case: a shape and its quantization.
struct DirectCase {
  qk::Conv2dParams shape;
  int zp_in = 0, zp_out = 0;
  RequantMode mode = RequantMode::kGemmlowp;
  bool per_tensor = false, has_bias = true;
  int run_batch = 0;  // > 0: prepared for shape.batch, run on the first run_batch images
  unsigned seed = 1;
};

std::string Describe(const DirectCase& c) {
  const qk::Conv2dParams& p = c.shape;
  char buf[300];
  std::snprintf(buf, sizeof buf,
                "n%d(run %d) %dx%dx%d -> %d k%dx%d s%d,%d d%d,%d pad t%d l%d b%d r%d %s zp %d/%d%s%s seed %u", p.batch,
                c.run_batch, p.in_h, p.in_w, p.in_c, p.out_c, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
                p.dilation_h, p.dilation_w, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right,
                qk::RequantModeName(c.mode), c.zp_in, c.zp_out, c.per_tensor ? " per-tensor" : "",
                c.has_bias ? "" : " no-bias", c.seed);
  return buf;
}

// The u8 x s8 variants with an implicit-GEMM conv that run here; the others are printed as skipped.
std::vector<qd::Int8GemmVariant> DirectVariants() {
  std::vector<qd::Int8GemmVariant> run;
  for (const auto& v : qd::Int8GemmVariants()) {
    if (v.conv_u8s8 == nullptr) continue;
    if (qk::IsaAvailable(v.isa)) {
      run.push_back(v);
    } else {
      std::printf("int8 direct conv %-32s SKIPPED (needs %s; %s)\n", v.conv_name, qk::IsaName(v.isa),
                  qk::DescribeCpu().c_str());
    }
  }
  return run;
}

// Runs c under every runnable direct variant and 1..3 threads; returns how
// many variants ran.
int CheckDirect(const DirectCase& c) {
  const qk::Conv2dParams& p = c.shape;
  const std::string what = Describe(c);
  INFO(what);
  REQUIRE(qk::Validate(p).ok());
  std::mt19937 rng(c.seed);
  const std::int64_t K = std::int64_t{p.kernel_h} * p.kernel_w * p.in_c;
  const S8 x = RandomS8(static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c, rng);
  const S8 w = RandomS8(static_cast<std::size_t>(p.out_c * K), rng, -127, 127);
  const int mag = 20 * static_cast<int>(std::sqrt(static_cast<double>(K))) * 127;
  const std::vector<std::int32_t> bias = RandomI32(static_cast<std::size_t>(p.out_c), rng, -mag, mag);
  std::uniform_real_distribution<float> d(0.5f, 2.0f);
  qk::Conv2dS8Params qp;
  qp.shape = p;
  qp.weight_scales.resize(c.per_tensor ? 1 : static_cast<std::size_t>(p.out_c));
  for (auto& v : qp.weight_scales) v = 0.004f * d(rng);
  qp.input = {0.02f, c.zp_in};
  // Output scale so that the real outputs spread over ~30 output units: rms of
  // the accumulator ~ sqrt(K) rms(w) rms(x - zp_in).
  const double rms_x = std::sqrt(73.9 * 73.9 + (c.zp_in + 0.5) * (c.zp_in + 0.5));
  qp.output.params = {static_cast<float>(0.02 * 0.004 * std::sqrt(static_cast<double>(K)) * 73.3 * rms_x / 30.0),
                      c.zp_out};
  qp.output.mode = c.mode;
  const std::int32_t* b = c.has_bias ? bias.data() : nullptr;
  auto prepared = qk::PrepareConv2dS8(qp, w.data(), b);
  INFO(prepared.status().ToString());
  REQUIRE(prepared.ok());
  const qk::PackedS8Weights packed = qk::PackConv2dS8Weights(*prepared, w.data());
  std::vector<std::size_t> scratch_sizes;
  for (int threads = 1; threads <= 3; ++threads)
    scratch_sizes.push_back(qk::fast::conv2d_s8_scratch_int16(*prepared, threads));
  qk::PreparedConv2dS8 run = *prepared;
  if (c.run_batch > 0) run.shape.batch = c.run_batch;
  const std::size_t ys = static_cast<std::size_t>(run.shape.batch) * p.out_h() * p.out_w() * p.out_c;
  S8 want(ys, 0x55);
  qk::ref::conv2d_s8(run, x.data(), w.data(), b, want.data());
  // An output whose taps all fall in the padding reads no input (a 1-row input
  // with pad 3 and dilation 2 has only such outputs): the degeneracy check
  // below applies when at least half of the output pixels read real input.
  auto reads_input = [](int o, int stride, int dilation, int pad, int k, int in) {
    for (int t = 0; t < k; ++t) {
      const int i = o * stride - pad + t * dilation;
      if (i >= 0 && i < in) return true;
    }
    return false;
  };
  int real_pixels = 0;
  for (int oy = 0; oy < p.out_h(); ++oy)
    for (int ox = 0; ox < p.out_w(); ++ox)
      real_pixels += reads_input(oy, p.stride_h, p.dilation_h, p.pad_top, p.kernel_h, p.in_h) &&
                     reads_input(ox, p.stride_w, p.dilation_w, p.pad_left, p.kernel_w, p.in_w);
  if (ys >= 64 && real_pixels * 2 >= p.out_h() * p.out_w()) {  // not degenerate: mostly inside, several values
    std::size_t inside = 0;
    std::set<int> distinct(want.begin(), want.end());
    for (std::int8_t v : want) inside += v > -128 && v < 127;
    CHECK(inside * 5 >= ys);
    CHECK(distinct.size() >= 5);
  }
  Guarded<std::int8_t> gx(S8(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(
                                                     static_cast<std::size_t>(run.shape.batch) * p.in_h * p.in_w * p.in_c)));
  int ran = 0;
  for (const auto& v : DirectVariants()) {
    qd::ScopedInt8GemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    // The case must take the direct path, not the im2col GEMM.
    REQUIRE(std::string(qk::fast::conv2d_s8_kernel_name(run)) == v.conv_name);
    const std::string variant = v.conv_name;
    CAPTURE(variant);
    S8 first;
    for (int threads = 1; threads <= 3; ++threads) {
      CAPTURE(threads);
      ScratchS16 scratch(scratch_sizes[static_cast<std::size_t>(threads - 1)]);
      Guarded<std::int8_t> got(ys, 0x55);
      qk::fast::conv2d_s8(scratch.Context(threads), run, packed, gx.data(), b, got.data());
      CheckSame("direct conv2d_s8", got.ToVector(), want);
      if (threads == 1) first = got.ToVector();
      else CHECK(got.ToVector() == first);  // the thread count never changes a bit
    }
    ++ran;
  }
  return ran;
}

qk::Conv2dParams Shape(int batch, int h, int w, int ic, int oc, int kh, int kw, int s, int dil, int pt, int pl, int pb,
                       int pr) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.in_c = ic, p.out_c = oc, p.kernel_h = kh, p.kernel_w = kw;
  p.stride_h = p.stride_w = s, p.dilation_h = p.dilation_w = dil;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr;
  return p;
}

}  // namespace

TEST_CASE("int8 direct conv: which variants run here") {
  const auto run = DirectVariants();
  for (const auto& v : run) std::printf("int8 direct conv %-32s RUN\n", v.conv_name);
  // Every u8 x s8 variant has one, and only they do.
  for (const auto& v : qd::Int8GemmVariants()) {
    CAPTURE(v.name);
    CHECK((v.conv_u8s8 != nullptr) == (v.operands == qd::S8Operands::kU8S8));
    CHECK((v.conv_name != nullptr) == (v.conv_u8s8 != nullptr));
  }
  if (run.empty()) MESSAGE("no variant with a direct conv runs on this CPU: the direct conv tests check nothing here");
}

TEST_CASE("int8 direct conv path choice: one group, in_c >= 2 or one channel with 3- or 4-tap rows") {
  for (const auto& v : DirectVariants()) {
    qd::ScopedInt8GemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    qk::PreparedConv2dS8 pp;
    pp.shape = Shape(1, 5, 5, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1);
    CHECK(std::string(qk::fast::conv2d_s8_kernel_name(pp)) == v.conv_name);
    pp.shape.in_c = 6;  // runs padded to quads with zero weights
    CHECK(std::string(qk::fast::conv2d_s8_kernel_name(pp)) == v.conv_name);
    pp.shape.in_c = 2;
    CHECK(std::string(qk::fast::conv2d_s8_kernel_name(pp)) == v.conv_name);
    pp.shape.in_c = 8, pp.shape.groups = 2;
    CHECK(std::string(qk::fast::conv2d_s8_kernel_name(pp)) == v.name);
    pp.shape.in_c = 1, pp.shape.groups = 1;  // one channel, 3-tap rows: one quad each
    CHECK(std::string(qk::fast::conv2d_s8_kernel_name(pp)) == v.conv_name);
    pp.shape.kernel_h = pp.shape.kernel_w = 5;  // 5-tap rows: the one-channel kernel's (or the GEMM's)
    CHECK(std::string(qk::fast::conv2d_s8_kernel_name(pp)) != v.conv_name);
    pp.shape.kernel_h = pp.shape.kernel_w = 3, pp.shape.dilation_w = 2;  // 1-byte taps: likewise
    CHECK(std::string(qk::fast::conv2d_s8_kernel_name(pp)) != v.conv_name);
  }
}

TEST_CASE("int8 direct conv with one input channel and 3- or 4-tap kernel rows (the ResNet-20 stem)") {
  for (RequantMode mode : kModes) {
    DirectCase c;
    c.shape = Shape(3, 28, 28, 1, 16, 3, 3, 1, 1, 1, 1, 1, 1);  // the stem
    c.mode = mode, c.zp_in = 127, c.zp_out = -2, c.seed = 80 + static_cast<unsigned>(mode);
    CheckDirect(c);
  }
  std::mt19937 rng(20261205);
  auto pick = [&rng](std::initializer_list<int> v) { return *(v.begin() + rng() % v.size()); };
  int cases = 0;
  while (cases < 40) {
    // out_c >= 2: one channel in and out is a depthwise conv.
    qk::Conv2dParams p = Shape(pick({1, 2, 3}), pick({1, 2, 5, 13, 28}), pick({3, 5, 13, 29}), 1,
                               pick({2, 6, 16, 17, 33}), pick({1, 3, 4, 5}), pick({3, 4}), pick({1, 2}), 1, 0, 0, 0,
                               0);
    p.stride_w = pick({1, 2, 3});
    if (rng() % 3 == 0) p.dilation_h = 2;
    const int eh = p.dilation_h * (p.kernel_h - 1), ew = p.kernel_w - 1;
    p.pad_top = static_cast<int>(rng() % (eh + 1)), p.pad_bottom = static_cast<int>(rng() % (eh + 1));
    p.pad_left = static_cast<int>(rng() % (ew + 1)), p.pad_right = static_cast<int>(rng() % (ew + 1));
    if (!qk::Validate(p).ok()) continue;
    DirectCase c;
    c.shape = p;
    c.mode = kModes[rng() % 3];
    const int zps[] = {-128, 127, static_cast<int>(rng() % 256) - 128};
    c.zp_in = zps[rng() % 3];
    c.zp_out = static_cast<int>(rng() % 41) - 20;
    c.per_tensor = rng() % 4 == 0;
    c.has_bias = rng() % 5 != 0;
    c.seed = static_cast<unsigned>(rng());
    CheckDirect(c);
    ++cases;
  }
}

TEST_CASE("int8 direct conv with in_c % 4 != 0 (LeNet-5 conv2 and random awkward shapes)") {
  // Runs of a kernel row (dilation_w 1) or of one tap (dilation_w 2) whose
  // length is not a multiple of 4: the last quad of each run reads past it
  // into zero weights, and past the last image into the slice's slack.
  for (RequantMode mode : kModes) {
    DirectCase c;
    c.shape = Shape(3, 14, 14, 6, 16, 5, 5, 1, 1, 0, 0, 0, 0);  // LeNet-5 conv2
    c.mode = mode, c.zp_in = -128, c.zp_out = 3, c.seed = 60 + static_cast<unsigned>(mode);
    CheckDirect(c);
  }
  std::mt19937 rng(20261204);
  auto pick = [&rng](std::initializer_list<int> v) { return *(v.begin() + rng() % v.size()); };
  int cases = 0;
  while (cases < 120) {
    const int kh = pick({1, 2, 3, 5}), kw = pick({1, 2, 3, 5});
    qk::Conv2dParams p = Shape(pick({1, 2, 3}), pick({1, 2, 5, 7, 13}), pick({1, 2, 5, 7, 13}),
                               pick({2, 3, 5, 6, 7, 9, 13}), pick({1, 7, 16, 17, 33}), kh, kw, pick({1, 2, 3}),
                               pick({1, 1, 2}), 0, 0, 0, 0);
    p.stride_w = rng() % 3 ? p.stride_h : pick({1, 2});
    if (rng() % 3 == 0) p.dilation_w = 3 - p.dilation_h;
    const int eh = p.dilation_h * (kh - 1), ew = p.dilation_w * (kw - 1);
    p.pad_top = static_cast<int>(rng() % (eh + 1)), p.pad_bottom = static_cast<int>(rng() % (eh + 1));
    p.pad_left = static_cast<int>(rng() % (ew + 1)), p.pad_right = static_cast<int>(rng() % (ew + 1));
    if (!qk::Validate(p).ok()) continue;
    DirectCase c;
    c.shape = p;
    c.mode = kModes[rng() % 3];
    const int zps[] = {-128, 127, -5, static_cast<int>(rng() % 256) - 128};
    c.zp_in = zps[rng() % 4];
    c.zp_out = static_cast<int>(rng() % 41) - 20;
    c.per_tensor = rng() % 4 == 0;
    c.has_bias = rng() % 5 != 0;
    c.run_batch = p.batch == 3 && rng() % 3 == 0 ? 2 : 0;
    c.seed = static_cast<unsigned>(rng());
    CheckDirect(c);
    ++cases;
  }
}

TEST_CASE("int8 direct conv on ResNet-20's and NiN-like shapes in every mode") {
  const qk::Conv2dParams shapes[] = {
      Shape(2, 28, 28, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1), Shape(2, 28, 28, 16, 32, 3, 3, 2, 1, 0, 0, 1, 1),
      Shape(3, 14, 14, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1), Shape(3, 14, 14, 32, 64, 3, 3, 2, 1, 0, 0, 1, 1),
      Shape(3, 7, 7, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1),   Shape(3, 7, 7, 64, 10, 1, 1, 1, 1, 0, 0, 0, 0),
      Shape(2, 28, 28, 16, 32, 1, 1, 2, 1, 0, 0, 0, 0),
      // NiN's 1x1 convs (unpadded: read in place, signed_rows), an unpadded
      // 3x3 (also in place) and LeNet's 5x5 over 12 channels.
      Shape(2, 28, 28, 48, 32, 1, 1, 1, 1, 0, 0, 0, 0), Shape(2, 14, 14, 64, 64, 1, 1, 1, 1, 0, 0, 0, 0),
      Shape(2, 9, 11, 24, 17, 3, 3, 1, 1, 0, 0, 0, 0),  Shape(2, 14, 14, 12, 16, 5, 5, 1, 1, 0, 0, 0, 0),
  };
  unsigned seed = 100;
  for (const auto& s : shapes)
    for (RequantMode mode : kModes) {
      DirectCase c;
      c.shape = s, c.mode = mode, c.zp_in = -3, c.zp_out = 5, c.seed = seed++;
      CheckDirect(c);
    }
}

TEST_CASE("int8 direct conv on random awkward shapes and quantizations") {
  std::mt19937 rng(20261203);
  auto pick = [&rng](std::initializer_list<int> v) { return *(v.begin() + rng() % v.size()); };
  int cases = 0, ran = 0;
  while (cases < 160) {
    constexpr int kKernelH[] = {1, 3, 5, 3}, kKernelW[] = {1, 3, 5, 1};  // 1x1, 3x3, 5x5, 3x1
    const int kk = static_cast<int>(rng() % 4);
    const int kh = kKernelH[kk], kw = kKernelW[kk];
    qk::Conv2dParams p = Shape(pick({1, 3}), pick({1, 2, 5, 7, 13}), pick({1, 2, 5, 7, 13}), pick({4, 8, 12, 20}),
                               pick({1, 15, 16, 17, 33, 64}), kh, kw, pick({1, 2}), pick({1, 1, 2}), 0, 0, 0, 0);
    p.stride_w = rng() % 3 ? p.stride_h : 3 - p.stride_h;  // mostly square, sometimes 1x2 / 2x1
    if (rng() % 4 == 0) p.dilation_w = 3 - p.dilation_h;
    // Asymmetric padding, each side 0 .. dilated extent - 1.
    const int eh = p.dilation_h * (kh - 1), ew = p.dilation_w * (kw - 1);
    p.pad_top = static_cast<int>(rng() % (eh + 1)), p.pad_bottom = static_cast<int>(rng() % (eh + 1));
    p.pad_left = static_cast<int>(rng() % (ew + 1)), p.pad_right = static_cast<int>(rng() % (ew + 1));
    if (!qk::Validate(p).ok()) continue;  // the kernel does not fit the padded input
    DirectCase c;
    c.shape = p;
    c.mode = kModes[rng() % 3];
    const int zps[] = {-128, 127, -5, static_cast<int>(rng() % 256) - 128};
    c.zp_in = zps[rng() % 4];
    c.zp_out = static_cast<int>(rng() % 41) - 20;
    c.per_tensor = rng() % 4 == 0;
    c.has_bias = rng() % 5 != 0;
    c.run_batch = p.batch == 3 && rng() % 3 == 0 ? 1 : 0;
    c.seed = static_cast<unsigned>(rng());
    ran += CheckDirect(c);
    ++cases;
  }
  MESSAGE(cases << " random shapes, " << ran << " (shape, variant) runs, each at 1, 2 and 3 threads");
}

TEST_CASE("int8 direct conv with images larger than a padded chunk and threads splitting them") {
  // 41 x 37 x 32 padded is ~52 KB: one image per chunk, and 3 images cut into
  // thread ranges that start and end inside images.
  for (RequantMode mode : kModes) {
    DirectCase c;
    c.shape = Shape(3, 37, 41, 32, 17, 3, 3, 1, 1, 1, 2, 0, 1);
    c.mode = mode, c.zp_in = 127, c.zp_out = -7, c.seed = 7 + static_cast<unsigned>(mode);
    CheckDirect(c);
    c.shape = Shape(3, 64, 48, 20, 16, 5, 5, 2, 1, 2, 2, 2, 2);
    c.zp_in = -128, c.run_batch = 2;
    CheckDirect(c);
  }
}

TEST_CASE("int8 direct conv output stage equals RequantizeToRange in every variant and mode") {
  // The micro-kernel's own entry point (U8S8ConvTile) with every operand byte
  // equal to the padding value z = zp_in + 128, so that the sum of products
  // cancels against col_offset and every output is RequantizeToRange(bias[c],
  // requant[c], ...) of a chosen accumulator: the test points of
  // int8_fast_gemm_test.cpp (every shift, edge multipliers, ties, the whole
  // int32 range, all modes, zero points at both ends, clamps). Column counts
  // 17, 33 and all: the tiles of 1, 2 and 4 panels, each with a column tail;
  // 25 rows: whole 6-, 12- and 24-row tiles (whose kGemmlowp constants sit in
  // registers) and a tail after each.
  std::mt19937 rng(2028);
  const StageCase s = StageCases(rng);
  const int n_all = static_cast<int>(s.acc.size());
  constexpr int kRowsM = 25, kQuads = 5, kZ = 77;
  const int panels = (n_all + qd::kS8PanelCols - 1) / qd::kS8PanelCols;
  // Each row reads its own 4 * kQuads bytes, all z; koff walks them in an awkward order.
  // signed_rows: the same operands as int8 x = z - 128 (x ^ 0x80 == z).
  Guarded<std::uint8_t> a(static_cast<std::size_t>(kRowsM) * 4 * kQuads, kZ);
  Guarded<std::uint8_t> a_signed(static_cast<std::size_t>(kRowsM) * 4 * kQuads, kZ ^ 0x80);
  std::vector<const std::uint8_t*> rows(kRowsM), rows_signed(kRowsM);
  for (int i = 0; i < kRowsM; ++i) {
    rows[static_cast<std::size_t>(i)] = a.data() + i * 4 * kQuads;
    rows_signed[static_cast<std::size_t>(i)] = a_signed.data() + i * 4 * kQuads;
  }
  const std::vector<std::int32_t> koff = {8, 0, 16, 4, 12};
  Guarded<std::int8_t> b(static_cast<std::size_t>(panels) * kQuads * 4 * qd::kS8PanelCols, 0);
  Guarded<std::int32_t> offset(static_cast<std::size_t>(panels) * qd::kS8PanelCols, 0);
  for (int c = 0; c < n_all; ++c) {
    std::int32_t sum = 0;
    for (int k = 0; k < 4 * kQuads; ++k) {
      const auto wv = static_cast<std::int8_t>((c * 7 + k * 13) % 255 - 127);
      b.data()[((static_cast<std::size_t>(c / 16) * kQuads + k / 4) * 16 + c % 16) * 4 + k % 4] = wv;
      sum += wv;
    }
    offset.data()[c] = -kZ * sum;
  }
  int ran = 0;
  for (const auto& v : DirectVariants()) {
    const std::string variant = v.conv_name;
    CAPTURE(variant);
    for (RequantMode mode : kModes)
      for (const StageRange& r : kStageRanges)
        for (int n : {17, 33, n_all})
          for (bool signed_rows : {false, true}) {
            const std::string what = std::string(qk::RequantModeName(mode)) + " zp " + std::to_string(r.zp) +
                                     " range [" + std::to_string(r.lo) + ", " + std::to_string(r.hi) + "] n " +
                                     std::to_string(n) + (signed_rows ? " signed rows" : "");
            CAPTURE(what);
            S8 want(static_cast<std::size_t>(n));
            for (int c = 0; c < n; ++c)
              want[static_cast<std::size_t>(c)] =
                  static_cast<std::int8_t>(qk::RequantizeToRange(s.acc[static_cast<std::size_t>(c)],
                                                                 s.requant[static_cast<std::size_t>(c)], mode, r.zp,
                                                                 r.lo, r.hi));
            Guarded<std::int8_t> y(static_cast<std::size_t>(kRowsM) * n, 0x11);
            qd::U8S8ConvTile t;
            t.rows = signed_rows ? rows_signed.data() : rows.data(), t.m = kRowsM, t.koff = koff.data();
            t.quads = kQuads, t.signed_rows = signed_rows;
            t.b = b.data(), t.col_offset = offset.data(), t.n = n;
            t.out.requant = s.requant.data(), t.out.bias = s.acc.data(), t.out.mode = mode;
            t.out.zp_out = r.zp, t.out.act_min = r.lo, t.out.act_max = r.hi;
            t.y = y.data(), t.ldy = n;
            v.conv_u8s8(t);
            const S8 got = y.ToVector();
            for (int i = 0; i < kRowsM; ++i)
              CheckSame("conv row " + std::to_string(i),
                        S8(got.begin() + static_cast<std::ptrdiff_t>(i) * n,
                           got.begin() + static_cast<std::ptrdiff_t>(i + 1) * n),
                        want);
          }
    ++ran;
  }
  if (ran == 0) MESSAGE("no variant with a direct conv runs on this CPU: the conv output stage was not checked");
}
