// The fast hybrid kernels (fast::dense_hybrid, fast::conv2d_hybrid:
// dense_hybrid.h, conv2d_hybrid.h) against the frozen references
// ref::dense_hybrid / ref::conv2d_hybrid, BIT FOR BIT (memcmp of the float
// outputs, NaN rows included), under every int8 GEMM variant this machine
// runs (the test hook; the first case prints which ran and which were
// skipped), on 1, 2 and 3 threads, for awkward shapes (batch 1, primes, K not a
// multiple of 4, column tails, stride / padding / dilation / groups, 1-channel
// input like LeNet's conv1, tiles straddling images), per-channel and
// per-tensor scales, with and without bias, and samples that are all zero,
// tiny, huge, at FLT_MAX, one-signed (zero points at both ends), or hold a
// NaN or an infinity; and with x, y and the scratch ending at an inaccessible
// page. The references themselves are checked against an
// independent oracle in hybrid_test.cpp.
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/hybrid_test_util.h"
#include "kernels/int8_fast_util.h"
#include "qualm/kernels/context.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/detail/int8_gemm_variants.h"
#include "qualm/kernels/int8_gemm.h"

using namespace hybrid_test;
namespace qd = qualm::kernels::detail;

namespace {

// Mixed sample kinds, cycled over the batch: extreme zero points next to each
// other inside one GEMM tile, degenerate and non-finite samples among them.
const std::vector<Kind> kMix = {Kind::kUniform, Kind::kPositive, Kind::kNaN,   Kind::kNegative, Kind::kZero,
                                Kind::kSpike,   Kind::kInf,      Kind::kTiny,  Kind::kHuge,     Kind::kFltMax,
                                Kind::kTies,    Kind::kUniform};

std::vector<Kind> Kinds(int batch, std::size_t offset) {
  std::vector<Kind> k(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = kMix[(i + offset) % kMix.size()];
  return k;
}

// A float scratch buffer pre-filled with NaN bit patterns (reading what the
// kernel did not write shows), as the executor's would be.
struct FastScratch {
  explicit FastScratch(std::size_t floats) : buf(floats, kNaN) {}  // exactly the size asked for
  qk::KernelContext Context(int threads) { return {threads, buf.data(), buf.size()}; }
  Vec buf;
};

// Runs body() under each int8 GEMM variant this process may run.
template <typename Body>
void ForEachVariant(const Body& body) {
  const auto variants = qd::RunnableInt8GemmVariants();
  REQUIRE(!variants.empty());
  for (const auto& v : variants) {
    qd::ScopedInt8GemmIsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    const std::string variant = v.name;
    CAPTURE(variant);
    body(variant);
  }
}

// ---------------------------------------------------------------------------
struct DenseCase {
  qk::DenseParams p;
  Vec x;
  QWeights qw;
  Vec bias;  // empty = null
  const float* B() const { return bias.empty() ? nullptr : bias.data(); }
};

DenseCase MakeDenseCase(int batch, int in, int out, bool per_tensor, bool with_bias, std::size_t kind_offset,
                        unsigned seed) {
  std::mt19937 rng(seed);
  DenseCase c;
  c.p = {batch, in, out};
  c.x.resize(static_cast<std::size_t>(batch) * in);
  const std::vector<Kind> kinds = Kinds(batch, kind_offset);
  for (int b = 0; b < batch; ++b) Fill(c.x.data() + static_cast<std::size_t>(b) * in, in, kinds[b], rng);
  const std::size_t rows = per_tensor ? 1 : static_cast<std::size_t>(out);
  c.qw = MakeWeights(rows, static_cast<std::size_t>(in) * out / rows, 0.5f, rng);
  if (with_bias) c.bias = RandomVec(static_cast<std::size_t>(out), rng, -0.5f, 0.5f);
  return c;
}

void CheckDense(const std::string& what, const DenseCase& c) {
  auto prep = qk::PrepareDenseHybrid({c.p, c.qw.scales}, c.qw.w.data());
  REQUIRE(prep.ok());
  const std::size_t ny = static_cast<std::size_t>(c.p.batch) * c.p.out_features;
  Vec want(ny, -7.0f);
  Vec ref_scratch = Scratch(qk::ref::dense_hybrid_scratch_bytes(c.p));
  qk::ref::dense_hybrid(*prep, c.x.data(), c.qw.w.data(), c.B(), want.data(), ref_scratch.data());
  const qk::PackedHybridWeights packed = qk::PackDenseHybridWeights(*prep, c.qw.w.data());
  ForEachVariant([&](const std::string& variant) {
    for (int threads : {1, 2, 3}) {
      FastScratch s(qk::fast::dense_hybrid_scratch_floats(*prep, threads));
      Vec got(ny, -7.0f);
      qk::fast::dense_hybrid(s.Context(threads), *prep, packed, c.x.data(), c.qw.w.data(), c.B(), got.data());
      CheckBits(what + " " + variant + " threads " + std::to_string(threads), got, want);
    }
  });
}

// ---------------------------------------------------------------------------
struct ConvCase {
  qk::Conv2dParams p;
  Vec x;
  QWeights qw;
  Vec bias;
  const float* B() const { return bias.empty() ? nullptr : bias.data(); }
};

ConvCase MakeConvCase(const qk::Conv2dParams& p, bool per_tensor, bool with_bias, std::size_t kind_offset,
                      unsigned seed) {
  REQUIRE(qk::Validate(p).ok());
  std::mt19937 rng(seed);
  ConvCase c;
  c.p = p;
  const std::size_t image = static_cast<std::size_t>(p.in_h) * p.in_w * p.in_c;
  c.x.resize(static_cast<std::size_t>(p.batch) * image);
  const std::vector<Kind> kinds = Kinds(p.batch, kind_offset);
  for (int n = 0; n < p.batch; ++n) Fill(c.x.data() + n * image, image, kinds[static_cast<std::size_t>(n)], rng);
  const std::size_t K = static_cast<std::size_t>(p.kernel_h) * p.kernel_w * (p.in_c / p.groups);
  const std::size_t rows = per_tensor ? 1 : static_cast<std::size_t>(p.out_c);
  c.qw = MakeWeights(rows, K * p.out_c / rows, 0.5f, rng);
  if (with_bias) c.bias = RandomVec(static_cast<std::size_t>(p.out_c), rng, -0.5f, 0.5f);
  return c;
}

void CheckConv(const std::string& what, const ConvCase& c) {
  auto prep = qk::PrepareConv2dHybrid({c.p, c.qw.scales}, c.qw.w.data());
  REQUIRE(prep.ok());
  const std::size_t ny = static_cast<std::size_t>(c.p.batch) * c.p.out_h() * c.p.out_w() * c.p.out_c;
  Vec want(ny, -7.0f);
  Vec ref_scratch = Scratch(qk::ref::conv2d_hybrid_scratch_bytes(c.p));
  qk::ref::conv2d_hybrid(*prep, c.x.data(), c.qw.w.data(), c.B(), want.data(), ref_scratch.data());
  const qk::PackedHybridWeights packed = qk::PackConv2dHybridWeights(*prep, c.qw.w.data());
  const bool depthwise = c.p.in_c == c.p.groups && c.p.out_c == c.p.groups;
  CHECK(packed.reference_fallback == depthwise);
  ForEachVariant([&](const std::string& variant) {
    for (int threads : {1, 2, 3}) {
      FastScratch s(qk::fast::conv2d_hybrid_scratch_floats(*prep, threads));
      Vec got(ny, -7.0f);
      qk::fast::conv2d_hybrid(s.Context(threads), *prep, packed, c.x.data(), c.qw.w.data(), c.B(), got.data());
      CheckBits(what + " " + variant + " threads " + std::to_string(threads), got, want);
    }
  });
}

qk::Conv2dParams Conv(int n, int h, int w, int c, int oc, int kh, int kw, int pad = 0) {
  qk::Conv2dParams p;
  p.batch = n, p.in_h = h, p.in_w = w, p.in_c = c, p.out_c = oc, p.kernel_h = kh, p.kernel_w = kw;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  return p;
}

std::string Name(const qk::Conv2dParams& p) {
  return std::to_string(p.batch) + "x" + std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + "x" +
         std::to_string(p.in_c) + " -> " + std::to_string(p.out_c) + " k" + std::to_string(p.kernel_h) + "x" +
         std::to_string(p.kernel_w) + " g" + std::to_string(p.groups);
}

// ---------------------------------------------------------------------------
TEST_CASE("hybrid fast: which int8 gemm variants run here") {
  for (const auto& v : qd::Int8GemmVariants()) {
    const bool runs = qk::IsaAvailable(v.isa);
    std::printf("hybrid fast int8 gemm variant %-30s %s\n", v.name,
                runs ? "RUN" : (std::string("SKIPPED (needs ") + qk::IsaName(v.isa) + ")").c_str());
  }
  CHECK(!qd::RunnableInt8GemmVariants().empty());
}

TEST_CASE("hybrid fast dense is bit-identical to ref::dense_hybrid") {
  struct Shape {
    int batch, in, out;
  };
  const Shape shapes[] = {{1, 1, 1},   {1, 400, 120}, {3, 7, 5},    {5, 13, 17},  {17, 31, 33},
                          {2, 3, 50},  {9, 150, 10},  {12, 84, 10}, {64, 400, 120}, {13, 257, 47}};
  unsigned seed = 500;
  for (const Shape& s : shapes)
    for (const bool per_tensor : {false, true})
      for (const bool bias : {true, false}) {
        const DenseCase c = MakeDenseCase(s.batch, s.in, s.out, per_tensor, bias, seed % 7, seed + 1);
        ++seed;
        CheckDense("dense " + std::to_string(s.batch) + "x" + std::to_string(s.in) + "->" + std::to_string(s.out) +
                       (per_tensor ? " per-tensor" : "") + (bias ? "" : " no-bias"),
                   c);
      }
}

TEST_CASE("hybrid fast conv2d is bit-identical to ref::conv2d_hybrid") {
  std::vector<qk::Conv2dParams> shapes;
  shapes.push_back(Conv(1, 1, 1, 1, 1, 1, 1));
  shapes.push_back(Conv(2, 28, 28, 1, 6, 5, 5, 2));   // LeNet conv1: one input channel, K = 25
  shapes.push_back(Conv(3, 14, 14, 6, 16, 5, 5));     // LeNet conv2: K = 150
  shapes.push_back(Conv(2, 8, 8, 16, 16, 3, 3, 1));   // ResNet-20 3x3 (small image)
  shapes.push_back(Conv(2, 7, 5, 3, 5, 3, 3, 1));
  {
    qk::Conv2dParams p = Conv(1, 11, 13, 3, 7, 3, 2);  // primes, asymmetric padding, strides, dilation
    p.stride_h = 2, p.stride_w = 3, p.dilation_h = 2, p.pad_top = 1, p.pad_left = 0, p.pad_bottom = 2, p.pad_right = 1;
    shapes.push_back(p);
  }
  {
    qk::Conv2dParams p = Conv(3, 6, 6, 4, 6, 3, 3);  // groups 2
    p.groups = 2, p.pad_top = p.pad_left = 2;
    shapes.push_back(p);
  }
  {
    qk::Conv2dParams p = Conv(2, 5, 9, 5, 5, 3, 3, 1);  // pure depthwise: the reference fallback
    p.groups = 5, p.dilation_w = 3;
    shapes.push_back(p);
  }
  {
    qk::Conv2dParams p = Conv(2, 4, 4, 5, 10, 2, 2);  // groups 5, channel multiplier 2, stride 2
    p.groups = 5, p.stride_h = p.stride_w = 2;
    shapes.push_back(p);
  }
  shapes.push_back(Conv(5, 3, 2, 2, 3, 5, 4, 1));   // kernel larger than the input; tiles straddle 5 images
  shapes.push_back(Conv(2, 8, 8, 16, 17, 1, 1));    // 1x1, column tail
  shapes.push_back(Conv(2, 8, 8, 16, 40, 3, 3, 1)); // two panels + tail (the 32-column tile)
  {
    qk::Conv2dParams p = Conv(1, 9, 7, 31, 3, 5, 1);  // 5x1, K = 155
    p.stride_h = 2, p.pad_top = 2, p.pad_bottom = 2;
    shapes.push_back(p);
  }
  unsigned seed = 900;
  for (const qk::Conv2dParams& p : shapes)
    for (const bool per_tensor : {false, true})
      for (const bool bias : {true, false}) {
        const ConvCase c = MakeConvCase(p, per_tensor, bias, seed % 5, seed + 1);
        ++seed;
        CheckConv(Name(p) + (per_tensor ? " per-tensor" : "") + (bias ? "" : " no-bias"), c);
      }
}

TEST_CASE("hybrid fast conv2d: a batch of 20 images cut into many tiles on 2 threads") {
  // 20 images of 16x16 give 5120 GEMM rows with K = 27 and 8 channels, so the
  // rows split into several tiles per thread, most straddling image borders.
  const ConvCase c = MakeConvCase(Conv(20, 16, 16, 3, 8, 3, 3, 1), false, true, 0, 77);
  CheckConv("20 images", c);
}

TEST_CASE("hybrid fast kernels: all-zero, NaN and infinity samples alone") {
  for (const Kind k : {Kind::kZero, Kind::kNaN, Kind::kInf, Kind::kTiny}) {
    std::mt19937 rng(5);
    DenseCase d = MakeDenseCase(3, 19, 21, false, true, 0, 31);
    for (int b = 0; b < 3; ++b) Fill(d.x.data() + b * 19, 19, k, rng);
    CheckDense("dense, every row of one kind", d);
    ConvCase c = MakeConvCase(Conv(2, 6, 6, 3, 18, 3, 3, 1), true, true, 0, 32);
    for (int n = 0; n < 2; ++n) Fill(c.x.data() + n * 108, 108, k, rng);
    CheckConv("conv, every image of one kind", c);
  }
}

TEST_CASE("hybrid fast kernels stay inside x, y and the scratch in every variant") {
  // x, y and the scratch (exactly the size the kernel asks for) each end at an
  // inaccessible page: a read or write past any of them crashes the test.
  using int8_fast_test::Guarded;
  const qk::Conv2dParams convs[] = {Conv(3, 5, 7, 3, 17, 3, 3, 1), Conv(2, 9, 9, 1, 6, 5, 5, 2), Conv(4, 3, 3, 5, 33, 1, 1)};
  ForEachVariant([&](const std::string& variant) {
    for (const int threads : {1, 2}) {
      for (const qk::Conv2dParams& p : convs) {
        const ConvCase c = MakeConvCase(p, false, true, 1, 3);
        auto prep = qk::PrepareConv2dHybrid({c.p, c.qw.scales}, c.qw.w.data());
        REQUIRE(prep.ok());
        const qk::PackedHybridWeights packed = qk::PackConv2dHybridWeights(*prep, c.qw.w.data());
        const std::size_t ny = static_cast<std::size_t>(p.batch) * p.out_h() * p.out_w() * p.out_c;
        Guarded<float> x(c.x);
        Guarded<float> y(ny, -7.0f);
        Guarded<float> scratch(qk::fast::conv2d_hybrid_scratch_floats(*prep, threads), kNaN);
        const qk::KernelContext ctx{threads, scratch.data(), qk::fast::conv2d_hybrid_scratch_floats(*prep, threads)};
        qk::fast::conv2d_hybrid(ctx, *prep, packed, x.data(), c.qw.w.data(), c.B(), y.data());
        Vec want(ny);
        Vec ref_scratch = Scratch(qk::ref::conv2d_hybrid_scratch_bytes(c.p));
        qk::ref::conv2d_hybrid(*prep, c.x.data(), c.qw.w.data(), c.B(), want.data(), ref_scratch.data());
        CheckBits("guarded conv " + Name(p) + " " + variant, y.ToVector(), want);
      }
      for (const int in : {1, 5, 400}) {
        const DenseCase c = MakeDenseCase(9, in, 35, false, true, 2, 4);
        auto prep = qk::PrepareDenseHybrid({c.p, c.qw.scales}, c.qw.w.data());
        REQUIRE(prep.ok());
        const qk::PackedHybridWeights packed = qk::PackDenseHybridWeights(*prep, c.qw.w.data());
        const std::size_t ny = static_cast<std::size_t>(c.p.batch) * c.p.out_features;
        Guarded<float> x(c.x);
        Guarded<float> y(ny, -7.0f);
        Guarded<float> scratch(qk::fast::dense_hybrid_scratch_floats(*prep, threads), kNaN);
        const qk::KernelContext ctx{threads, scratch.data(), qk::fast::dense_hybrid_scratch_floats(*prep, threads)};
        qk::fast::dense_hybrid(ctx, *prep, packed, x.data(), c.qw.w.data(), c.B(), y.data());
        Vec want(ny);
        Vec ref_scratch = Scratch(qk::ref::dense_hybrid_scratch_bytes(c.p));
        qk::ref::dense_hybrid(*prep, c.x.data(), c.qw.w.data(), c.B(), want.data(), ref_scratch.data());
        CheckBits("guarded dense in " + std::to_string(in) + " " + variant, y.ToVector(), want);
      }
    }
  });
}

}  // namespace

TEST_CASE("hybrid fast dense and conv2d: few rows split into column blocks, 1 to 3 threads") {
  // Fewer row tiles than threads: the columns are cut into blocks of whole
  // panels (fast/int8_rows.h: blocks of at least 2^18 multiply-adds), so
  // these shapes are large in K x N. Column tails inside the last block.
  unsigned seed = 1300;
  for (const int batch : {1, 2, 3}) {
    const DenseCase c = MakeDenseCase(batch, 1500, 700, false, true, seed % 7, seed);
    ++seed;
    CheckDense("dense " + std::to_string(batch) + "x1500->700", c);
  }
  const DenseCase d = MakeDenseCase(1, 1031, 517, true, false, 0, seed++);
  CheckDense("dense 1x1031->517 per-tensor no-bias", d);
  CheckConv("conv 1x4x4x200 -> 300 k3x3", MakeConvCase(Conv(1, 4, 4, 200, 300, 3, 3), false, true, 0, seed++));
  {
    qk::Conv2dParams p = Conv(1, 5, 4, 200, 300, 3, 3);  // groups 2: blocks of each group's 150 columns
    p.groups = 2;
    CheckConv("conv 1x5x4x200 -> 300 k3x3 groups 2", MakeConvCase(p, false, false, 0, seed++));
  }
}
