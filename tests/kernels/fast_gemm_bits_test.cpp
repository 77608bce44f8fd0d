// The determinism contract of gemm_f32 (gemm.h): every variant the machine
// supports, with 1, 2 and 3 threads, gives exactly the bits of a plain scalar
// oracle that accumulates each output from 0 in increasing k with one
// std::fma per term, then applies alpha and beta the documented way.
// Compared with memcmp over all of C, padding columns included.
//
// Shapes: 1, primes, vector tails, K = 0, and sizes past every block
// (K > 256 reloads the accumulators, N > 256 and M > 128 cross the packing
// blocks, and enough work for the threads to really split; M <= 4 takes the
// one-row kernel of each variant). A path that used
// a separate multiply and add, summed K in another order, or split K across
// vector lanes or threads fails here: random inputs make such differences
// show in nearly every output.
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "kernels/test_util.h"
#include "qualm/kernels/context.h"
#include "qualm/kernels/detail/gemm_variants.h"
#include "qualm/kernels/gemm.h"

namespace qk = qualm::kernels;
using namespace qualm_test;

namespace {

struct Case {
  bool ta, tb;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  Vec a, b, c0;
};

Case MakeCase(bool ta, bool tb, int m, int n, int k, float alpha, float beta, std::mt19937& rng) {
  Case c{ta, tb, m, n, k, (ta ? m : k) + 3, (tb ? k : n) + 1, n + 2, alpha, beta, {}, {}, {}};
  c.a = Random(static_cast<std::size_t>(ta ? k : m) * c.lda, rng);
  c.b = Random(static_cast<std::size_t>(tb ? n : k) * c.ldb, rng);
  c.c0 = Random(static_cast<std::size_t>(m) * c.ldc, rng);
  if (beta == 0.0f)
    for (float& v : c.c0) v = std::numeric_limits<float>::quiet_NaN();  // beta == 0 must not read C
  return c;
}

// The contract, written out with scalar std::fma.
Vec Oracle(const Case& c) {
  Vec out = c.c0;
  for (int i = 0; i < c.m; ++i) {
    for (int j = 0; j < c.n; ++j) {
      float acc = 0.0f;
      if (c.alpha != 0.0f) {
        for (int q = 0; q < c.k; ++q) {
          const float av = c.ta ? c.a[q * c.lda + i] : c.a[i * c.lda + q];
          const float bv = c.tb ? c.b[j * c.ldb + q] : c.b[q * c.ldb + j];
          acc = std::fma(av, bv, acc);
        }
      }
      if (c.alpha != 1.0f) acc = c.alpha * acc;
      float& y = out[i * c.ldc + j];
      if (c.beta == 0.0f) y = acc;
      else if (c.beta == 1.0f) y = y + acc;
      else y = c.beta * y + acc;
    }
  }
  return out;
}

Vec Run(qk::detail::GemmFn fn, const Case& c, int threads) {
  qk::GemmParams p;
  p.trans_a = c.ta, p.trans_b = c.tb, p.m = c.m, p.n = c.n, p.k = c.k;
  p.lda = c.lda, p.ldb = c.ldb, p.ldc = c.ldc, p.alpha = c.alpha, p.beta = c.beta;
  Vec out = c.c0;
  fn(p, c.a.data(), c.b.data(), out.data(), threads);
  return out;
}

}  // namespace

TEST_CASE("every gemm_f32 variant and thread count gives the scalar std::fma oracle's bits") {
  const auto variants = qk::detail::RunnableGemmVariants();
  for (const auto& v : qk::detail::GemmVariants())
    if (!qk::IsaAvailable(v.isa)) {
      const std::string skipped = std::string("skipped (ISA not available): ") + v.name;
      MESSAGE(skipped);
    }
  std::mt19937 rng(211);
  const int shapes[][3] = {{1, 1, 1},    {1, 1, 0},    {5, 3, 0},     {1, 31, 7},   {7, 1, 13},  {6, 16, 256},
                           {8, 32, 257}, {9, 33, 1},   {13, 17, 97},  {31, 47, 5},  {97, 15, 600},
                           {131, 300, 41}, {17, 257, 513}, {200, 70, 300},
                           // Few rows (M <= kMr / 2: the one-row kernel): 1-4 panel groups,
                           // partial panels, several k blocks and column blocks.
                           {1, 120, 400}, {1, 200, 50}, {2, 129, 257}, {3, 300, 600}, {4, 97, 31},
                           {1, 513, 3},  {3, 16, 1},   {4, 33, 260}};
  int compared = 0;
  for (const auto& s : shapes) {
    for (int t = 0; t < 6; ++t) {
      const bool ta = t & 1, tb = t & 2;
      const float alpha = t == 4 ? -0.5f : (t == 5 ? 0.0f : 1.0f);
      const float beta = t == 0 ? 0.0f : (t == 1 || t == 5 ? 1.0f : (t == 2 ? -0.75f : (t == 3 ? 0.0f : 2.0f)));
      const Case c = MakeCase(ta, tb, s[0], s[1], s[2], alpha, beta, rng);
      const Vec want = Oracle(c);
      for (const auto& v : variants) {
        for (int threads : {1, 2, 3}) {
          CAPTURE(v.name); CAPTURE(ta); CAPTURE(tb); CAPTURE(s[0]); CAPTURE(s[1]); CAPTURE(s[2]);
          CAPTURE(alpha); CAPTURE(beta); CAPTURE(threads);
          CHECK(SameBits(Run(v.fn, c, threads), want));
          ++compared;
        }
      }
    }
  }
  CHECK(compared > 0);
  // The oracle itself is not trivially satisfied: with separate roundings the
  // products differ from the FMA chain somewhere on a long random reduction.
  const Case c = MakeCase(false, false, 16, 16, 300, 1.0f, 0.0f, rng);
  Vec unfused = c.c0;
  for (int i = 0; i < c.m; ++i)
    for (int j = 0; j < c.n; ++j) {
      float acc = 0.0f;
      for (int q = 0; q < c.k; ++q) acc = acc + c.a[i * c.lda + q] * c.b[q * c.ldb + j];
      unfused[i * c.ldc + j] = acc;
    }
  CHECK_FALSE(SameBits(unfused, Oracle(c)));
}

TEST_CASE("ThreadsForWork: small work on fewer threads, and the suites run with every thread") {
  const double m = qk::kDefaultMinWorkPerThread;
  CHECK(qk::ThreadsForWorkWith(2, 0.0, m) == 1);
  CHECK(qk::ThreadsForWorkWith(2, 1.99 * m, m) == 1);
  CHECK(qk::ThreadsForWorkWith(2, 2.0 * m, m) == 2);
  CHECK(qk::ThreadsForWorkWith(8, 5.5 * m, m) == 5);
  CHECK(qk::ThreadsForWorkWith(3, 1e12, m) == 3);
  CHECK(qk::ThreadsForWorkWith(1, 1e12, m) == 1);
  CHECK(qk::ThreadsForWorkWith(0, 1e12, m) == 1);
  CHECK(qk::ThreadsForWorkWith(4, 1.0, 0.0) == 4);  // 0: no minimum
  // tests/doctest_main.cpp sets QUALM_THREAD_MIN_WORK=0 so that the thread
  // tests of every suite split even small shapes.
  CHECK(qk::MinWorkPerThread() == 0.0);
  CHECK(qk::ThreadsForWork(3, 1.0) == 3);
}
