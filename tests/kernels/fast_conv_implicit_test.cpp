// The implicit-GEMM float conv forward (kernels/fast/conv2d_implicit_f32.cpp)
// must give exactly the bits of the im2col + gemm_f32 path it replaces (study
// results are cached by content: "within tolerance" would silently change
// them). Compared with memcmp, on every gemm variant this machine runs (the
// implicit path follows the gemm variant) and 1 and 2 threads, against:
//   * the im2col path itself (detail::conv2d_f32_im2col),
//   * a scalar oracle of the contract in conv2d_rows_f32.h: per output,
//     acc = 0, one std::fma per (ky, kx, ci) term in that order with padding
//     read as 0, then + bias.
// Shapes: random draws over in_c 1/3/16/17, out_c 1/6/16/17/33, H/W
// 1/2/7/13/28, kernels 1x1/3x3/5x5, stride 1/2, dilation 1/2, asymmetric
// padding, batch 1/3, groups 1/2, plus the study's LeNet-5 and ResNet-20
// convs. A kernel that skipped the padding's zero-products, summed taps in
// another order, or split K differently fails the memcmp: the tiny-value case
// makes skipped zero-products visible as -0 versus +0.
#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "kernels/fast_test_util.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/conv2d_packed.h"
#include "qualm/kernels/detail/conv2d_f32_paths.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

std::string Describe(const qk::Conv2dParams& p) {
  return std::string("batch ") + std::to_string(p.batch) + " in " + std::to_string(p.in_h) + "x" +
         std::to_string(p.in_w) + "x" + std::to_string(p.in_c) + " out_c " + std::to_string(p.out_c) + " k " +
         std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) + " s " + std::to_string(p.stride_h) + "," +
         std::to_string(p.stride_w) + " d " + std::to_string(p.dilation_h) + "," + std::to_string(p.dilation_w) +
         " pad " + std::to_string(p.pad_top) + "," + std::to_string(p.pad_left) + "," + std::to_string(p.pad_bottom) +
         "," + std::to_string(p.pad_right) + " groups " + std::to_string(p.groups);
}

Vec Oracle(const qk::Conv2dParams& p, const Vec& x, const Vec& w, const float* bias) {
  const int oh = p.out_h(), ow = p.out_w(), icg = p.in_c / p.groups, ocg = p.out_c / p.groups;
  Vec y(static_cast<std::size_t>(p.batch) * oh * ow * p.out_c);
  for (int n = 0; n < p.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int oc = 0; oc < p.out_c; ++oc) {
          const int c0 = oc / ocg * icg;
          float acc = 0.0f;
          for (int ky = 0; ky < p.kernel_h; ++ky)
            for (int kx = 0; kx < p.kernel_w; ++kx)
              for (int ci = 0; ci < icg; ++ci) {
                const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
                const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
                const float xv = inside ? x[((static_cast<std::size_t>(n) * p.in_h + iy) * p.in_w + ix) * p.in_c + c0 + ci] : 0.0f;
                const float wv = w[((static_cast<std::size_t>(oc) * p.kernel_h + ky) * p.kernel_w + kx) * icg + ci];
                acc = std::fma(xv, wv, acc);
              }
          y[((static_cast<std::size_t>(n) * oh + oy) * ow + ox) * p.out_c + oc] = bias ? acc + bias[oc] : acc;
        }
  return y;
}

// Every path, variant and thread count against the oracle (memcmp).
void CheckBits(const qk::Conv2dParams& p, std::mt19937& rng, float scale = 1.0f, bool with_bias = true) {
  CAPTURE(Describe(p));
  REQUIRE(qk::Validate(p).ok());
  Vec x = Random(static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c, rng);
  Vec w = Random(static_cast<std::size_t>(p.out_c) * p.kernel_h * p.kernel_w * (p.in_c / p.groups), rng);
  const Vec b = Random(static_cast<std::size_t>(p.out_c), rng);
  for (float& v : x) v *= scale;
  for (float& v : w) v *= scale;
  const float* bias = with_bias ? b.data() : nullptr;
  const Vec want = Oracle(p, x, w, bias);
  const std::size_t bytes = want.size() * sizeof(float);
  REQUIRE(qk::fast::detail::Conv2dImplicitApplies(p));
  ForEachGemmVariant([&] {
    const std::string kernel = qk::fast::detail::Conv2dImplicitKernelName();
    CAPTURE(kernel);
    const qk::fast::PackedConv2dWeightsF32 packed = qk::fast::PackConv2dWeightsF32(p, w.data());
    REQUIRE(packed.nr > 0);
    for (int threads : {1, 2}) {
      CAPTURE(threads);
      const Scratch s(qk::fast::conv2d_scratch_floats(p, threads));
      Vec im2col(want.size(), 7.0f), implicit(want.size(), 7.0f), dispatched(want.size(), 7.0f),
          prepacked(want.size(), 7.0f);
      qk::fast::detail::conv2d_f32_im2col(s.Context(threads), p, x.data(), w.data(), bias, im2col.data());
      qk::fast::detail::conv2d_implicit_f32(s.Context(threads), p, x.data(), w.data(), nullptr, bias,
                                            implicit.data());
      qk::fast::conv2d_f32(s.Context(threads), p, x.data(), w.data(), bias, dispatched.data());
      qk::fast::conv2d_f32_prepacked(s.Context(threads), p, packed, x.data(), w.data(), bias, prepacked.data());
      CHECK(std::memcmp(im2col.data(), want.data(), bytes) == 0);
      CHECK(std::memcmp(implicit.data(), want.data(), bytes) == 0);
      CHECK(std::memcmp(dispatched.data(), want.data(), bytes) == 0);
      CHECK(std::memcmp(prepacked.data(), want.data(), bytes) == 0);
    }
  });
}

qk::Conv2dParams Conv(int batch, int h, int w, int ic, int oc, int k, int s, int pad, int groups = 1) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.in_c = ic, p.out_c = oc, p.kernel_h = k, p.kernel_w = k;
  p.stride_h = s, p.stride_w = s, p.pad_top = pad, p.pad_left = pad, p.pad_bottom = pad, p.pad_right = pad;
  p.groups = groups;
  return p;
}

}  // namespace

TEST_CASE("implicit-GEMM conv2d_f32: the im2col path's bits on random awkward shapes, every variant, 1 and 2 threads") {
  std::string run, skipped;
  for (const auto& v : qk::detail::GemmVariants())
    (qk::IsaAvailable(v.isa) ? run : skipped) += std::string(v.name) + " ";
  MESSAGE("variants tested: " << run << "; skipped (ISA not available or capped by QUALM_ISA): "
                              << (skipped.empty() ? std::string("none") : skipped));
  std::mt19937 rng(20261203);
  const int in_cs[] = {1, 3, 16, 17}, out_cs[] = {1, 6, 16, 17, 33}, sizes[] = {1, 2, 7, 13, 28};
  const int kernels[] = {1, 3, 5};
  auto pick = [&](const auto& a) { return a[rng() % std::size(a)]; };
  int checked = 0;
  for (int attempt = 0; attempt < 400 && checked < 70; ++attempt) {
    qk::Conv2dParams p;
    p.batch = rng() % 2 ? 1 : 3;
    p.groups = rng() % 3 == 0 ? 2 : 1;
    p.in_c = pick(in_cs) * p.groups;
    p.out_c = pick(out_cs) * p.groups;
    p.in_h = pick(sizes), p.in_w = pick(sizes);
    p.kernel_h = pick(kernels), p.kernel_w = rng() % 4 == 0 ? pick(kernels) : p.kernel_h;
    p.stride_h = 1 + rng() % 2, p.stride_w = rng() % 4 == 0 ? 1 + rng() % 2 : p.stride_h;
    p.dilation_h = rng() % 4 == 0 ? 2 : 1, p.dilation_w = rng() % 4 == 0 ? 2 : 1;
    p.pad_top = rng() % 3, p.pad_left = rng() % 3, p.pad_bottom = rng() % 3, p.pad_right = rng() % 2;
    if (!qk::Validate(p).ok()) continue;
    CheckBits(p, rng);
    ++checked;
  }
  CHECK(checked == 70);
}

TEST_CASE("implicit-GEMM conv2d_f32: the study's LeNet-5 and ResNet-20 convs, bit for bit") {
  std::mt19937 rng(7);
  CheckBits(Conv(3, 28, 28, 1, 6, 5, 1, 0), rng);      // LeNet-5 conv1
  CheckBits(Conv(3, 14, 14, 6, 16, 5, 1, 0), rng);     // LeNet-5 conv2
  CheckBits(Conv(3, 32, 32, 3, 16, 3, 1, 1), rng);     // ResNet-20 stem
  CheckBits(Conv(3, 32, 32, 16, 16, 3, 1, 1), rng);    // stage 1
  CheckBits(Conv(3, 32, 32, 16, 32, 3, 2, 1), rng);    // stage 2 entry
  CheckBits(Conv(3, 16, 16, 32, 32, 3, 1, 1), rng);    // stage 2
  CheckBits(Conv(3, 8, 8, 64, 64, 3, 1, 1), rng);      // stage 3 (K = 576: past one K block)
  CheckBits(Conv(3, 32, 32, 16, 32, 1, 2, 0), rng);    // 1x1 stride-2 projection
  CheckBits(Conv(2, 9, 9, 34, 66, 1, 1, 0, 2), rng);   // 1x1 direct GEMM, groups 2
}

TEST_CASE("implicit-GEMM conv2d_f32 performs the padding's zero-products (-0 vs +0) and needs no bias") {
  // Products of ~1e-25 * 1e-25 underflow to a signed zero, so the sign of each
  // accumulator depends on whether the padding's 0 * w terms were added.
  std::mt19937 rng(3);
  CheckBits(Conv(1, 7, 5, 3, 17, 3, 1, 2), rng, 1e-25f, /*with_bias=*/false);
  qk::Conv2dParams p = Conv(3, 13, 2, 17, 6, 5, 2, 0);
  p.pad_top = 3, p.pad_left = 1, p.pad_right = 6, p.dilation_w = 2;
  CheckBits(p, rng, 1e-25f, false);
}

namespace {

// conv2d_backward_f32 (dW tiles read x in place) against the im2col path,
// memcmp on dx, dw and db, which start from random values (gradients
// accumulate).
void CheckBackwardBits(const qk::Conv2dParams& p, std::mt19937& rng) {
  CAPTURE(Describe(p));
  REQUIRE(qk::Validate(p).ok());
  const std::size_t nx = static_cast<std::size_t>(p.batch) * p.in_h * p.in_w * p.in_c;
  const std::size_t nw = static_cast<std::size_t>(p.out_c) * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
  const std::size_t ny = static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.out_c;
  const Vec x = Random(nx, rng), w = Random(nw, rng), dy = Random(ny, rng);
  const Vec dx0 = Random(nx, rng), dw0 = Random(nw, rng), db0 = Random(p.out_c, rng);
  ForEachGemmVariant([&] {
    for (int threads : {1, 2, 3}) {
      CAPTURE(threads);
      const Scratch s(qk::fast::conv2d_scratch_floats(p, threads));
      Vec dx_a = dx0, dw_a = dw0, db_a = db0, dx_b = dx0, dw_b = dw0, db_b = db0;
      qk::fast::detail::conv2d_backward_f32_im2col(s.Context(threads), p, x.data(), w.data(), dy.data(), dx_a.data(),
                                                   dw_a.data(), db_a.data());
      qk::fast::conv2d_backward_f32(s.Context(threads), p, x.data(), w.data(), dy.data(), dx_b.data(), dw_b.data(),
                                    db_b.data());
      CHECK(std::memcmp(dw_a.data(), dw_b.data(), nw * sizeof(float)) == 0);
      CHECK(std::memcmp(dx_a.data(), dx_b.data(), nx * sizeof(float)) == 0);
      CHECK(std::memcmp(db_a.data(), db_b.data(), db0.size() * sizeof(float)) == 0);
      // dW alone (dx, db null) is the same computation.
      Vec dw_c = dw0;
      qk::fast::conv2d_backward_f32(s.Context(threads), p, x.data(), w.data(), dy.data(), nullptr, dw_c.data(),
                                    nullptr);
      CHECK(std::memcmp(dw_a.data(), dw_c.data(), nw * sizeof(float)) == 0);
    }
  });
}

}  // namespace

TEST_CASE("conv2d_backward_f32 with dW read in place: the im2col path's bits, every variant, 1-3 threads") {
  std::mt19937 rng(11);
  const int in_cs[] = {1, 3, 16, 17}, out_cs[] = {1, 6, 16, 17, 33}, sizes[] = {1, 2, 7, 13, 28};
  const int kernels[] = {1, 3, 5};
  auto pick = [&](const auto& a) { return a[rng() % std::size(a)]; };
  int checked = 0;
  for (int attempt = 0; attempt < 300 && checked < 40; ++attempt) {
    qk::Conv2dParams p;
    p.batch = rng() % 2 ? 1 : 3;
    p.groups = rng() % 3 == 0 ? 2 : 1;
    p.in_c = pick(in_cs) * p.groups;
    p.out_c = pick(out_cs) * p.groups;
    p.in_h = pick(sizes), p.in_w = pick(sizes);
    p.kernel_h = pick(kernels), p.kernel_w = rng() % 4 == 0 ? pick(kernels) : p.kernel_h;
    p.stride_h = 1 + rng() % 2, p.stride_w = rng() % 4 == 0 ? 1 + rng() % 2 : p.stride_h;
    p.dilation_h = rng() % 4 == 0 ? 2 : 1, p.dilation_w = rng() % 4 == 0 ? 2 : 1;
    p.pad_top = rng() % 3, p.pad_left = rng() % 3, p.pad_bottom = rng() % 3, p.pad_right = rng() % 2;
    if (!qk::Validate(p).ok()) continue;
    CheckBackwardBits(p, rng);
    ++checked;
  }
  CHECK(checked == 40);
  // Many tiles and dW chunks, image slices (28 x 28 > one tile), K past a gemm K block.
  CheckBackwardBits(Conv(5, 28, 28, 16, 16, 3, 1, 1), rng);   // ResNet-20 stage 1 shape
  CheckBackwardBits(Conv(4, 28, 28, 1, 6, 5, 1, 2), rng);     // LeNet-5 conv1 (K = 25)
  CheckBackwardBits(Conv(6, 14, 14, 6, 16, 5, 1, 0), rng);    // LeNet-5 conv2, unpadded
  CheckBackwardBits(Conv(3, 16, 16, 32, 64, 3, 2, 1), rng);   // stride 2, K = 288
  CheckBackwardBits(Conv(2, 8, 8, 64, 64, 3, 1, 1), rng);     // K = 576
  CheckBackwardBits(Conv(3, 13, 13, 34, 18, 3, 1, 1, 2), rng);  // groups 2
}
