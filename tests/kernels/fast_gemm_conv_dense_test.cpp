// The fast path against the reference: every compiled gemm variant directly
// against a double oracle, and fast conv2d / dense under every variant the
// machine supports, on random and awkward shapes, with threads 1, 2 and 3 and
// the same bits across all of them (the determinism contract, gemm.h).
//
// Tolerance: a float dot product of length k is within k * eps * sum|terms| of
// the exact value (first-order bound), whatever the summation order or FMA use.
// Fast and reference results each satisfy it, so they may differ by twice it;
// sum|terms| per element is the same op run on absolute values. A wrong index
// or a lost term produces errors of the order of the terms themselves, far
// outside this bound for the small k used here.
#include <optional>

#include "kernels/fast_test_util.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/gemm.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

void CheckGemmVariant(qk::detail::GemmFn fn, bool ta, bool tb, int m, int n, int k, float alpha, float beta,
                      int threads, std::mt19937& rng) {
  CAPTURE(ta); CAPTURE(tb); CAPTURE(m); CAPTURE(n); CAPTURE(k); CAPTURE(alpha); CAPTURE(beta); CAPTURE(threads);
  // Leading dimensions larger than needed, to catch stride mistakes.
  const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
  const Vec a = Random(static_cast<std::size_t>(ta ? k : m) * lda, rng);
  const Vec b = Random(static_cast<std::size_t>(tb ? n : k) * ldb, rng);
  Vec c = Random(static_cast<std::size_t>(m) * ldc, rng);
  if (beta == 0.0f)
    for (float& v : c) v = std::numeric_limits<float>::quiet_NaN();  // beta == 0 must not read C
  const Vec c0 = c;
  std::vector<double> want;
  Vec got, mag;
  qk::GemmParams p;
  p.trans_a = ta, p.trans_b = tb, p.m = m, p.n = n, p.k = k, p.lda = lda, p.ldb = ldb, p.ldc = ldc;
  p.alpha = alpha, p.beta = beta;
  fn(p, a.data(), b.data(), c.data(), threads);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < ldc; ++j) {
      if (j >= n) {  // padding columns untouched
        CHECK(SameBits(Vec{c[i * ldc + j]}, Vec{c0[i * ldc + j]}));
        continue;
      }
      double s = 0, s_abs = 0;
      for (int q = 0; q < k; ++q) {
        const double av = ta ? a[q * lda + i] : a[i * lda + q];
        const double bv = tb ? b[j * ldb + q] : b[q * ldb + j];
        s += av * bv;
        s_abs += std::fabs(av * bv);
      }
      const double cv = beta == 0.0f ? 0.0 : c0[i * ldc + j];
      want.push_back(alpha * s + beta * cv);
      mag.push_back(static_cast<float>(std::fabs(alpha) * s_abs + std::fabs(beta * cv)));
      got.push_back(c[i * ldc + j]);
    }
  }
  CheckWithinDotBound("C", got, want, mag, k + 2, 2.0);
}

}  // namespace

TEST_CASE("every gemm_f32 variant matches a double oracle (transposes, strides, alpha, beta, threads)") {
  std::mt19937 rng(101);
  const int shapes[][3] = {{1, 1, 1}, {7, 13, 31}, {31, 7, 13}, {65, 33, 17}, {128, 16, 144}, {3, 200, 50},
                           {300, 40, 70}, {17, 257, 9}};
  for (const auto& v : qk::detail::RunnableGemmVariants()) {
    const std::string name = v.name;
    CAPTURE(name);
    for (const auto& s : shapes)
      for (int t = 0; t < 4; ++t)
        for (int threads : {1, 2})
          CheckGemmVariant(v.fn, t & 1, t & 2, s[0], s[1], s[2], t == 3 ? 0.5f : 1.0f, t == 0 ? 0.0f : (t == 1 ? 1.0f : -0.75f),
                           threads, rng);
  }
}

namespace {

qk::Conv2dParams Conv(int batch, int h, int w, int ic, int oc, int kh, int kw, int sh, int sw, int dh, int dw,
                      int pt, int pl, int pb, int pr, int groups) {
  qk::Conv2dParams p;
  p.batch = batch, p.in_h = h, p.in_w = w, p.in_c = ic, p.out_c = oc, p.kernel_h = kh, p.kernel_w = kw;
  p.stride_h = sh, p.stride_w = sw, p.dilation_h = dh, p.dilation_w = dw;
  p.pad_top = pt, p.pad_left = pl, p.pad_bottom = pb, p.pad_right = pr, p.groups = groups;
  return p;
}

std::vector<qk::Conv2dParams> FastConvCases() {
  std::vector<qk::Conv2dParams> cases = {
      Conv(2, 28, 28, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // ResNet-20 stage 1 (whole-image tiles)
      Conv(2, 28, 28, 16, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),   // ResNet-20 downsampling
      Conv(2, 28, 28, 16, 32, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1),   // 1x1 stride-2 projection (needs im2col)
      Conv(3, 7, 13, 6, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2),      // 1x1 stride 1: direct GEMM, groups 2
      Conv(2, 40, 40, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),    // image split into several tiles
      Conv(3, 37, 29, 24, 12, 5, 5, 1, 2, 2, 1, 4, 2, 4, 3, 3),   // split tiles + stride, dilation, groups
      Conv(3, 28, 28, 1, 6, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1),     // LeNet-5 conv1
      Conv(3, 14, 14, 6, 16, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1),    // LeNet-5 conv2
      Conv(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),       // everything 1
      Conv(1, 13, 7, 31, 31, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 31),   // depthwise, primes
  };
  // Random valid shapes from awkward sizes.
  std::mt19937 rng(103);
  auto pick = [&](std::initializer_list<int> v) { return *(v.begin() + rng() % v.size()); };
  while (cases.size() < 40) {
    const int g = pick({1, 1, 2, 3});
    qk::Conv2dParams p = Conv(pick({1, 2, 3}), pick({1, 2, 5, 7, 13}), pick({1, 3, 7, 13}), g * pick({1, 2, 3, 5}),
                              g * pick({1, 3, 7}), pick({1, 2, 3, 5}), pick({1, 2, 3}), pick({1, 2, 3}), pick({1, 2}),
                              pick({1, 2}), pick({1, 2}), pick({0, 1, 2}), pick({0, 1}), pick({0, 2}), pick({0, 1}), g);
    if (qk::Validate(p).ok()) cases.push_back(p);
  }
  return cases;
}

struct ConvRun {
  Vec y, dx, dw, db;
};

ConvRun RefConv(const qk::Conv2dParams& p, const Vec& x, const Vec& w, const Vec& b, const Vec& dy) {
  ConvRun r{Vec(dy.size()), Vec(x.size(), 0.0f), Vec(w.size(), 0.0f), Vec(b.size(), 0.0f)};
  qk::ref::conv2d_f32(p, x.data(), w.data(), b.data(), r.y.data());
  qk::ref::conv2d_backward_f32(p, x.data(), w.data(), dy.data(), r.dx.data(), r.dw.data(), r.db.data());
  return r;
}

ConvRun FastConv(const qk::Conv2dParams& p, const Vec& x, const Vec& w, const Vec& b, const Vec& dy, int threads,
                 const ConvRun* prefill = nullptr) {
  const Scratch s(qk::fast::conv2d_scratch_floats(p, threads));
  ConvRun r{Vec(dy.size()), Vec(x.size(), 0.0f), Vec(w.size(), 0.0f), Vec(b.size(), 0.0f)};
  if (prefill) r.dx = prefill->dx, r.dw = prefill->dw, r.db = prefill->db;
  qk::fast::conv2d_f32(s.Context(threads), p, x.data(), w.data(), b.data(), r.y.data());
  qk::fast::conv2d_backward_f32(s.Context(threads), p, x.data(), w.data(), dy.data(), r.dx.data(), r.dw.data(),
                                r.db.data());
  return r;
}

std::string Describe(const qk::Conv2dParams& p) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "n%d %dx%dx%d -> %d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d g%d", p.batch, p.in_h, p.in_w,
                p.in_c, p.out_c, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.dilation_h, p.dilation_w,
                p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, p.groups);
  return buf;
}

}  // namespace

TEST_CASE("fast conv2d matches the reference, with the same bits on every gemm variant and threads 1, 2, 3") {
  std::mt19937 rng(107);
  for (const qk::Conv2dParams& p : FastConvCases()) {
    const std::string shape = Describe(p);
    CAPTURE(shape);
    const std::size_t xs = std::size_t(p.batch) * p.in_h * p.in_w * p.in_c;
    const std::size_t ws = std::size_t(p.out_c) * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
    const std::size_t ys = std::size_t(p.batch) * p.out_h() * p.out_w() * p.out_c;
    const Vec x = Random(xs, rng), w = Random(ws, rng), b = Random(p.out_c, rng), dy = Random(ys, rng);
    const ConvRun ref = RefConv(p, x, w, b, dy);
    const ConvRun mag = RefConv(p, Abs(x), Abs(w), Abs(b), Abs(dy));
    const double k_y = p.kernel_h * p.kernel_w * (p.in_c / p.groups) + 1;
    const double k_dx = p.kernel_h * p.kernel_w * (p.out_c / p.groups);
    const double k_dw = double(p.batch) * p.out_h() * p.out_w();
    // The determinism contract (gemm.h, conv2d.cpp's fixed dW chunks): every
    // variant and thread count gives the first run's bits.
    std::optional<ConvRun> first;
    ForEachGemmVariant([&] {
      for (int threads : {1, 2, 3}) {
        CAPTURE(threads);
        const ConvRun fast = FastConv(p, x, w, b, dy, threads);
        CheckWithinDotBound("y", fast.y, ToDouble(ref.y), mag.y, k_y, 2.0);
        CheckWithinDotBound("dx", fast.dx, ToDouble(ref.dx), mag.dx, k_dx, 2.0);
        CheckWithinDotBound("dw", fast.dw, ToDouble(ref.dw), mag.dw, k_dw, 2.0);
        CheckWithinDotBound("db", fast.db, ToDouble(ref.db), mag.db, k_dw, 2.0);
        if (!first) {
          first = fast;
          continue;
        }
        CHECK(SameBits(fast.y, first->y));
        CHECK(SameBits(fast.dx, first->dx));
        CHECK(SameBits(fast.dw, first->dw));
        CHECK(SameBits(fast.db, first->db));
      }
    });
  }
}

TEST_CASE("fast conv2d backward accumulates (+=), skips null gradients, and is deterministic") {
  std::mt19937 rng(109);
  for (const qk::Conv2dParams& p : {FastConvCases()[0], FastConvCases()[3], FastConvCases()[5]}) {
    const std::string shape = Describe(p);
    CAPTURE(shape);
    const std::size_t xs = std::size_t(p.batch) * p.in_h * p.in_w * p.in_c;
    const std::size_t ws = std::size_t(p.out_c) * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
    const std::size_t ys = std::size_t(p.batch) * p.out_h() * p.out_w() * p.out_c;
    const Vec x = Random(xs, rng), w = Random(ws, rng), b = Random(p.out_c, rng), dy = Random(ys, rng);
    const ConvRun mag_run = RefConv(p, Abs(x), Abs(w), Abs(b), Abs(dy));
    const double k = double(p.batch) * p.out_h() * p.out_w() + p.kernel_h * p.kernel_w * p.out_c + 1;
    ForEachGemmVariant([&] {
      const ConvRun zero = FastConv(p, x, w, b, dy, 2);
      const ConvRun again = FastConv(p, x, w, b, dy, 2);
      CHECK(SameBits(zero.y, again.y));
      CHECK(SameBits(zero.dx, again.dx));
      CHECK(SameBits(zero.dw, again.dw));
      CHECK(SameBits(zero.db, again.db));
      const ConvRun pre{{}, Random(xs, rng), Random(ws, rng), Random(p.out_c, rng)};
      const ConvRun acc = FastConv(p, x, w, b, dy, 2, &pre);
      // += inside the GEMM (beta = 1) rounds differently from adding afterwards:
      // compare against pre + zero with the dot-product bound (terms plus pre).
      for (auto [name, got, z, pr, m] :
           {std::tuple{"dx", &acc.dx, &zero.dx, &pre.dx, &mag_run.dx}, {"dw", &acc.dw, &zero.dw, &pre.dw, &mag_run.dw},
            {"db", &acc.db, &zero.db, &pre.db, &mag_run.db}}) {
        std::vector<double> want;
        Vec mag;
        for (std::size_t i = 0; i < z->size(); ++i) {
          want.push_back(double((*pr)[i]) + (*z)[i]);
          mag.push_back(std::fabs((*pr)[i]) + (*m)[i]);
        }
        CheckWithinDotBound(name, *got, want, mag, k, 2.0);
      }
      // Null gradients are skipped, and the others do not depend on them.
      const Scratch s(qk::fast::conv2d_scratch_floats(p, 2));
      Vec dw(ws, 0.0f);
      qk::fast::conv2d_backward_f32(s.Context(2), p, x.data(), w.data(), dy.data(), nullptr, dw.data(), nullptr);
      CHECK(SameBits(dw, zero.dw));
    });
  }
}

TEST_CASE("fast dense matches the reference, accumulates, and has the same bits on every variant and thread count") {
  std::mt19937 rng(113);
  const int shapes[][3] = {{1, 1, 1}, {3, 7, 5}, {13, 31, 7}, {128, 400, 120}, {64, 84, 10}, {2, 257, 3}};
  for (const auto& s : shapes) {
    const qk::DenseParams p{s[0], s[1], s[2]};
    CAPTURE(p.batch); CAPTURE(p.in_features); CAPTURE(p.out_features);
    const Vec x = Random(p.batch * p.in_features, rng), w = Random(p.out_features * p.in_features, rng),
              b = Random(p.out_features, rng), dy = Random(p.batch * p.out_features, rng);
    auto run_ref = [&](const Vec& xx, const Vec& ww, const Vec& bb, const Vec& dd) {
      ConvRun r{Vec(dd.size()), Vec(xx.size(), 0.0f), Vec(ww.size(), 0.0f), Vec(bb.size(), 0.0f)};
      qk::ref::dense_f32(p, xx.data(), ww.data(), bb.data(), r.y.data());
      qk::ref::dense_backward_f32(p, xx.data(), ww.data(), dd.data(), r.dx.data(), r.dw.data(), r.db.data());
      return r;
    };
    const ConvRun ref = run_ref(x, w, b, dy), mag = run_ref(Abs(x), Abs(w), Abs(b), Abs(dy));
    std::optional<ConvRun> first;
    ForEachGemmVariant([&] {
      for (int threads : {1, 2, 3}) {
        CAPTURE(threads);
        const qk::KernelContext ctx{threads, nullptr, qk::fast::dense_scratch_floats(p, threads)};
        ConvRun runs[2];
        for (ConvRun& r : runs) {
          r = {Vec(dy.size()), Vec(x.size(), 0.0f), Vec(w.size(), 0.0f), Vec(b.size(), 0.0f)};
          qk::fast::dense_f32(ctx, p, x.data(), w.data(), b.data(), r.y.data());
          qk::fast::dense_backward_f32(ctx, p, x.data(), w.data(), dy.data(), r.dx.data(), r.dw.data(), r.db.data());
        }
        CheckWithinDotBound("y", runs[0].y, ToDouble(ref.y), mag.y, p.in_features + 1, 2.0);
        CheckWithinDotBound("dx", runs[0].dx, ToDouble(ref.dx), mag.dx, p.out_features, 2.0);
        CheckWithinDotBound("dw", runs[0].dw, ToDouble(ref.dw), mag.dw, p.batch, 2.0);
        CheckWithinDotBound("db", runs[0].db, ToDouble(ref.db), mag.db, p.batch, 2.0);
        CHECK(SameBits(runs[0].y, runs[1].y));
        CHECK(SameBits(runs[0].dx, runs[1].dx));
        CHECK(SameBits(runs[0].dw, runs[1].dw));
        if (!first) first = runs[0];
        CHECK(SameBits(runs[0].y, first->y));
        CHECK(SameBits(runs[0].dx, first->dx));
        CHECK(SameBits(runs[0].dw, first->dw));
        CHECK(SameBits(runs[0].db, first->db));
        const Vec pre = Random(w.size(), rng);
        Vec dw = pre;
        qk::fast::dense_backward_f32(ctx, p, x.data(), w.data(), dy.data(), nullptr, dw.data(), nullptr);
        std::vector<double> want;
        Vec m;
        for (std::size_t i = 0; i < pre.size(); ++i)
          want.push_back(double(pre[i]) + runs[0].dw[i]), m.push_back(std::fabs(pre[i]) + mag.dw[i]);
        CheckWithinDotBound("dw +=", dw, want, m, p.batch + 1, 2.0);
      }
    });
  }
}

TEST_CASE("dense_f32_prepacked and gemm_f32 with b_packed: the same bits as packing per call") {
  // Shapes across the GEMM's blocks: K and N below, at and past kKc = kNc = 256
  // (several k blocks, several column blocks, a partial last panel), batch 1
  // (where packing per call cost the most) up to 70 (row tiles with tails).
  std::mt19937 rng(114);
  const int shapes[][3] = {{1, 1, 1},   {1, 400, 120}, {1, 120, 84}, {1, 84, 10},  {3, 257, 33},
                           {7, 513, 300}, {64, 400, 120}, {70, 256, 256}, {2, 600, 529}, {1, 64, 10}};
  int compared = 0;
  for (const auto& s : shapes) {
    const qk::DenseParams p{s[0], s[1], s[2]};
    CAPTURE(p.batch); CAPTURE(p.in_features); CAPTURE(p.out_features);
    const Vec x = Random(p.batch * p.in_features, rng), w = Random(p.out_features * p.in_features, rng),
              b = Random(p.out_features, rng);
    ForEachGemmVariant([&] {
      const qk::PackedGemmB packed = qk::fast::PackDenseWeightsF32(p, w.data());
      REQUIRE(packed.nr > 0);
      CHECK(packed.k == p.in_features);
      CHECK(packed.n == p.out_features);
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        const qk::KernelContext ctx{threads, nullptr, 0};
        Vec want(p.batch * p.out_features), got(want.size(), -1.0f);
        qk::fast::dense_f32(ctx, p, x.data(), w.data(), b.data(), want.data());
        qk::fast::dense_f32_prepacked(ctx, p, packed, x.data(), w.data(), b.data(), got.data());
        CHECK(SameBits(got, want));
        // Packed weights must really be read: the same call with w replaced by
        // garbage still gives the same bits when the packed panels match (one
        // thread; a 2-thread column split packs from w, which is its contract).
        if (threads == 1) {
          const Vec junk = Random(w.size(), rng);
          Vec from_packed(want.size(), -1.0f);
          qk::fast::dense_f32_prepacked(ctx, p, packed, x.data(), junk.data(), b.data(), from_packed.data());
          CHECK(SameBits(from_packed, want));
        }
        ++compared;
      }
      // Not transposed, with alpha and beta: gemm_f32 on b_packed against gemm_f32.
      qk::GemmParams g;
      g.m = p.batch, g.n = p.out_features, g.k = p.in_features;
      g.lda = p.in_features, g.ldb = p.out_features + 3, g.ldc = p.out_features;
      g.alpha = 0.5f, g.beta = 1.0f;
      const Vec bt = Random(static_cast<std::size_t>(g.k) * g.ldb, rng), c0 = Random(g.m * g.n, rng);
      const qk::PackedGemmB pb = qk::PackGemmB(g, bt.data());
      Vec want = c0, got = c0;
      qk::gemm_f32(g, x.data(), bt.data(), want.data(), 1);
      g.b_packed = pb.data.data(), g.b_packed_nr = pb.nr;
      qk::gemm_f32(g, x.data(), bt.data(), got.data(), 1);
      CHECK(SameBits(got, want));
    });
  }
  CHECK(compared >= 20);
  // Packed for one variant, run under another: falls back to packing from w.
  const auto variants = qk::detail::RunnableGemmVariants();
  if (variants.size() >= 2) {
    const qk::DenseParams p{3, 300, 40};
    const Vec x = Random(p.batch * p.in_features, rng), w = Random(p.out_features * p.in_features, rng);
    qk::PackedGemmB packed;
    {
      qk::detail::ScopedGemmIsaForTesting first(variants[0].isa);
      packed = qk::fast::PackDenseWeightsF32(p, w.data());
    }
    qk::detail::ScopedGemmIsaForTesting second(variants[1].isa);
    const qk::KernelContext ctx{1, nullptr, 0};
    Vec want(p.batch * p.out_features), got(want.size(), -1.0f);
    qk::fast::dense_f32(ctx, p, x.data(), w.data(), nullptr, want.data());
    qk::fast::dense_f32_prepacked(ctx, p, packed, x.data(), w.data(), nullptr, got.data());
    CHECK(SameBits(got, want));
  } else {
    MESSAGE("one gemm variant runs here: the cross-variant fallback is not exercised");
  }
}
