// The one-input-channel float conv path (detail/conv_c1_variants.h, pixels in
// vector lanes) against the general im2col + gemm_f32 path it replaces: the
// SAME BITS (memcmp), under every gemm variant the machine supports and 1 and
// 2 threads, on the study's layers and awkward shapes; and both within the
// dot-product bound of the float reference (so "same bits" is not two equal
// wrong answers). The data holds exact zeros and negative zeros in x and w, so
// a kernel that started its sums differently (from the first product instead
// of +0, or skipping padding taps) would differ in the sign of zero outputs.
#include <cstring>
#include <optional>
#include <string>

#include "kernels/fast_test_util.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/detail/conv_c1_variants.h"

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;
using namespace qualm_test;

namespace {

qk::Conv2dParams Conv1(int batch, int h, int w, int oc, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                       int pb, int pr) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.in_c = 1, p.out_c = oc, p.kernel_h = kh, p.kernel_w = kw;
  p.stride_h = sh, p.stride_w = sw, p.dilation_h = dh, p.dilation_w = dw;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr, p.groups = 1;
  return p;
}

std::string Describe(const qk::Conv2dParams& p) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "n%d %dx%dx1 -> %d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d", p.batch, p.in_h, p.in_w,
                p.out_c, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w, p.pad_top,
                p.pad_left, p.pad_bottom, p.pad_right);
  return buf;
}

// Random values with about 1 in 8 set to +0 and 1 in 8 to -0.
Vec WithZeros(std::size_t n, std::mt19937& rng) {
  Vec v = Random(n, rng);
  for (float& f : v) {
    const unsigned r = rng() % 8;
    if (r == 0) f = 0.0f;
    if (r == 1) f = -0.0f;
  }
  return v;
}

Vec RunFast(const qk::Conv2dParams& p, const Vec& x, const Vec& w, const float* bias, int threads) {
  const Scratch s(qk::fast::conv2d_scratch_floats(p, threads));
  Vec y(static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.out_c, std::nanf(""));
  qk::fast::conv2d_f32(s.Context(threads), p, x.data(), w.data(), bias, y.data());
  return y;
}

void CheckShape(const qk::Conv2dParams& p, std::mt19937& rng) {
  const std::string shape = Describe(p);
  CAPTURE(shape);
  REQUIRE(qk::Validate(p).ok());
  const std::size_t xs = std::size_t(p.batch) * p.in_h * p.in_w;
  const std::size_t K = std::size_t(p.kernel_h) * p.kernel_w;
  const Vec x = WithZeros(xs, rng), w = WithZeros(K * p.out_c, rng), b = WithZeros(p.out_c, rng);
  for (bool has_bias : {true, false}) {
    CAPTURE(has_bias);
    const float* bias = has_bias ? b.data() : nullptr;
    Vec want(static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.out_c), mag(want.size());
    const Vec zeros(p.out_c, 0.0f);
    qk::ref::conv2d_f32(p, x.data(), w.data(), has_bias ? b.data() : zeros.data(), want.data());
    const Vec ab = Abs(b);
    qk::ref::conv2d_f32(p, Abs(x).data(), Abs(w).data(), has_bias ? ab.data() : zeros.data(), mag.data());
    std::optional<Vec> first;
    ForEachGemmVariant([&] {
      const std::string path = qd::ConvF32C1PathName();
      CAPTURE(path);
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        const Vec fast = RunFast(p, x, w, bias, threads);
        Vec general;
        {
          qd::ScopedConvC1OffForTesting off;
          general = RunFast(p, x, w, bias, threads);
        }
        REQUIRE(fast.size() == general.size());
        CHECK(std::memcmp(fast.data(), general.data(), fast.size() * sizeof(float)) == 0);
        CheckWithinDotBound("y", fast, ToDouble(want), mag, static_cast<double>(K + 1), 2.0);
        if (!first) first = fast;
        else CHECK(SameBits(fast, *first));  // and the same bits on every ISA
      }
    });
  }
}

}  // namespace

TEST_CASE("fast conv2d with one input channel: the pixels-in-lanes path has the im2col + GEMM path's bits") {
  std::string which;
  for (const auto& v : qd::RunnableGemmVariants()) {
    qd::ScopedGemmIsaForTesting scoped(v.isa);
    which += std::string(v.name) + " -> " + qd::ConvF32C1PathName() + "; ";
  }
  MESSAGE("one-channel float path per gemm variant (none: the general path runs there; variants above the "
          "QUALM_ISA cap or the CPU are not listed): "
          << which);
  std::mt19937 rng(1101);
  // The study's layers: LeNet-5 / LeNet-1 conv1, the ResNet-20 stem.
  CheckShape(Conv1(3, 28, 28, 6, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2), rng);
  CheckShape(Conv1(1, 28, 28, 4, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0), rng);
  CheckShape(Conv1(2, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), rng);
  // Sizes around the 8/16-pixel groups and 64-pixel blocks, channel counts around the 32-channel chunks.
  unsigned i = 0;
  for (int hw : {1, 2, 5, 28, 29})
    for (int oc : {1, 4, 6, 15, 16, 17, 33})
      for (int k : {1, 3, 5}) {
        const int pad = i % 2 || hw < k ? k / 2 : 0;  // unpadded 1x1 is the GEMM's direct case
        CheckShape(Conv1(1 + 2 * (i % 3 == 0), hw, hw + static_cast<int>(i % 2), oc, k, k, 1, 1, 1, 1, pad, pad, pad,
                         pad),
                   rng);
        ++i;
      }
  // Stride, dilation, 2x3 kernels, asymmetric padding, K past one GEMM K block (17x17 = 289 > 256).
  CheckShape(Conv1(3, 29, 28, 17, 2, 3, 2, 2, 1, 1, 0, 1, 2, 0), rng);
  CheckShape(Conv1(1, 28, 29, 6, 3, 3, 1, 2, 2, 2, 2, 1, 0, 2), rng);
  CheckShape(Conv1(2, 5, 29, 33, 5, 5, 2, 1, 1, 2, 1, 2, 2, 1), rng);
  CheckShape(Conv1(1, 2, 28, 15, 3, 2, 1, 3, 1, 1, 2, 2, 2, 2), rng);
  CheckShape(Conv1(3, 13, 11, 16, 3, 5, 1, 1, 2, 1, 1, 0, 2, 1), rng);
  CheckShape(Conv1(1, 1, 1, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), rng);
  CheckShape(Conv1(2, 40, 37, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), rng);
  CheckShape(Conv1(1, 20, 19, 5, 17, 17, 1, 1, 1, 1, 8, 8, 8, 8), rng);
}
