// The fast float training kernels (fast::batchnorm_*_f32 in batchnorm.h;
// fast::relu_f32, relu_backward_f32, add_f32, accumulate_f32 in
// elementwise.h) against the frozen references, bit for bit (memcmp), under
// every variant this machine can run (the first case prints which ran and
// which were skipped, ISA not available or capped by QUALM_ISA) and 1, 2 and 3
// threads in the context (the kernels run on the calling thread today; the
// thread count must not change a bit if that changes). Shapes are awkward on purpose: rows 1, primes and sizes past the
// threading threshold; channels 1..17 (every partial-vector width of the
// 16- and 8-lane variants), 33, 64 (one window), 65 and 130 (several windows,
// the last one partial). Gradients are accumulated into pre-filled buffers, and
// gamma / beta / running statistics / outputs are also passed as null, since
// the contract allows it. Every case checks its output is not degenerate
// (the accumulated buffers changed, the outputs are not constant), so that
// equality means something.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "qualm/kernels/batchnorm.h"
#include "qualm/kernels/detail/norm_eltwise_f32_variants.h"
#include "qualm/kernels/elementwise.h"

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;

namespace {

std::vector<float> Random(std::size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  // Empty vectors may have a null data(): memcmp must not see it (UBSan).
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

int CountChanged(const std::vector<float>& before, const std::vector<float>& after) {
  int n = 0;
  for (std::size_t i = 0; i < before.size(); ++i) n += std::memcmp(&before[i], &after[i], sizeof(float)) != 0;
  return n;
}

// Runs body(threads) under each runnable variant and 1, 2, 3 threads.
template <typename F>
void ForEachVariantAndThreads(F&& body) {
  for (const auto& v : qd::RunnableNormEltwiseF32Variants()) {
    qd::ScopedNormEltwiseF32IsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    REQUIRE(std::string(qd::NormEltwiseF32PathName()) == v.name);
    const std::string name = v.name;
    CAPTURE(name);
    for (int threads : {1, 2, 3}) {
      CAPTURE(threads);
      body(threads);
    }
  }
}

qk::KernelContext Ctx(int threads) {
  qk::KernelContext c;
  c.threads = threads;
  return c;
}

const int kRows[] = {1, 2, 7, 31, 97, 1031, 4099};
const int kChannels[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 33, 64, 65, 130};

}  // namespace

TEST_CASE("fast norm/eltwise f32: the variants this machine runs (and the ones it skips)") {
  for (const auto& v : qd::NormEltwiseF32Variants()) {
    bool runnable = false;
    for (const auto& r : qd::RunnableNormEltwiseF32Variants()) runnable |= std::string(r.name) == v.name;
    const std::string line = std::string(runnable ? "tested: " : "skipped (ISA not available or capped): ") + v.name;
    MESSAGE(line);
  }
  MESSAGE(qd::DescribeNormEltwiseF32Dispatch());
  CHECK(!qd::RunnableNormEltwiseF32Variants().empty());
}

TEST_CASE("fast batchnorm training forward = ref::batchnorm_training_f32, bit for bit") {
  std::mt19937 rng(11);
  ForEachVariantAndThreads([&](int threads) {
    for (int rows : kRows) {
      for (int ch : kChannels) {
        if (static_cast<long>(rows) * ch > 300000) continue;
        CAPTURE(rows);
        CAPTURE(ch);
        const std::size_t n = static_cast<std::size_t>(rows) * ch;
        qk::BatchNormParams p;
        p.rows = rows, p.channels = ch, p.epsilon = 1e-5f, p.momentum = 0.1f;
        // An offset mean so the two-pass variance matters; some inputs exactly equal.
        std::vector<float> x = Random(n, rng, -3.0f, 5.0f);
        if (n > 4) x[1] = x[0], x[n - 1] = -0.0f;
        const auto gamma = Random(ch, rng, 0.5f, 1.5f), beta = Random(ch, rng, -1.0f, 1.0f);
        const auto rm0 = Random(ch, rng, -1.0f, 1.0f), rv0 = Random(ch, rng, 0.5f, 2.0f);
        for (bool with_params : {true, false}) {
          const float* g = with_params ? gamma.data() : nullptr;
          const float* b = with_params ? beta.data() : nullptr;
          std::vector<float> y_ref(n), y_fast(n), m_ref(ch), m_fast(ch), is_ref(ch), is_fast(ch);
          std::vector<float> rm_ref = rm0, rv_ref = rv0, rm_fast = rm0, rv_fast = rv0;
          qk::ref::batchnorm_training_f32(p, x.data(), g, b, y_ref.data(), m_ref.data(), is_ref.data(),
                                          rm_ref.data(), rv_ref.data());
          qk::fast::batchnorm_training_f32(Ctx(threads), p, x.data(), g, b, y_fast.data(), m_fast.data(),
                                           is_fast.data(), rm_fast.data(), rv_fast.data());
          CHECK(SameBits(y_ref, y_fast));
          CHECK(SameBits(m_ref, m_fast));
          CHECK(SameBits(is_ref, is_fast));
          CHECK(SameBits(rm_ref, rm_fast));
          CHECK(SameBits(rv_ref, rv_fast));
          CHECK(CountChanged(rm0, rm_fast) == ch);
          if (rows > 1) CHECK(y_fast[0] != y_fast[n - 1]);
          // Null saved / running statistics: the output alone.
          std::vector<float> y2(n);
          qk::fast::batchnorm_training_f32(Ctx(threads), p, x.data(), g, b, y2.data(), nullptr, nullptr, nullptr,
                                           nullptr);
          CHECK(SameBits(y_ref, y2));
        }
      }
    }
  });
}

TEST_CASE("fast batchnorm inference forward = ref::batchnorm_inference_f32, bit for bit") {
  std::mt19937 rng(12);
  ForEachVariantAndThreads([&](int threads) {
    for (int rows : kRows) {
      for (int ch : kChannels) {
        if (static_cast<long>(rows) * ch > 300000) continue;
        CAPTURE(rows);
        CAPTURE(ch);
        const std::size_t n = static_cast<std::size_t>(rows) * ch;
        qk::BatchNormParams p;
        p.rows = rows, p.channels = ch, p.epsilon = 1e-3f;
        const auto x = Random(n, rng, -4.0f, 4.0f);
        const auto gamma = Random(ch, rng, -1.5f, 1.5f), beta = Random(ch, rng, -1.0f, 1.0f);
        const auto rm = Random(ch, rng, -1.0f, 1.0f), rv = Random(ch, rng, 0.0f, 2.0f);
        for (bool with_params : {true, false}) {
          const float* g = with_params ? gamma.data() : nullptr;
          const float* b = with_params ? beta.data() : nullptr;
          std::vector<float> y_ref(n), y_fast(n);
          qk::ref::batchnorm_inference_f32(p, x.data(), g, b, rm.data(), rv.data(), y_ref.data());
          qk::fast::batchnorm_inference_f32(Ctx(threads), p, x.data(), g, b, rm.data(), rv.data(), y_fast.data());
          CHECK(SameBits(y_ref, y_fast));
          if (rows > 1) CHECK(y_fast[0] != y_fast[n - 1]);
        }
      }
    }
  });
}

TEST_CASE("fast batchnorm backward (training and inference statistics) = ref, bit for bit, accumulating") {
  std::mt19937 rng(13);
  ForEachVariantAndThreads([&](int threads) {
    for (int rows : kRows) {
      for (int ch : kChannels) {
        if (static_cast<long>(rows) * ch > 300000) continue;
        CAPTURE(rows);
        CAPTURE(ch);
        const std::size_t n = static_cast<std::size_t>(rows) * ch;
        qk::BatchNormParams p;
        p.rows = rows, p.channels = ch, p.epsilon = 1e-5f;
        const auto x = Random(n, rng, -2.0f, 3.0f), dy = Random(n, rng, -1.0f, 1.0f);
        const auto gamma = Random(ch, rng, 0.5f, 1.5f);
        const auto rm = Random(ch, rng, -1.0f, 1.0f), rv = Random(ch, rng, 0.5f, 2.0f);
        // Saved statistics from the reference forward pass, as training has them.
        std::vector<float> y(n), mean(ch), invstd(ch);
        qk::ref::batchnorm_training_f32(p, x.data(), gamma.data(), nullptr, y.data(), mean.data(), invstd.data(),
                                        nullptr, nullptr);
        const auto dx0 = Random(n, rng, -1.0f, 1.0f);
        const auto dg0 = Random(ch, rng, -1.0f, 1.0f), db0 = Random(ch, rng, -1.0f, 1.0f);
        for (int mode = 0; mode < 3; ++mode) {  // 0: everything, 1: no gamma, 2: no dx (parameters only)
          CAPTURE(mode);
          const float* g = mode == 1 ? nullptr : gamma.data();
          std::vector<float> dx_ref = dx0, dx_fast = dx0, dg_ref = dg0, dg_fast = dg0, db_ref = db0, db_fast = db0;
          float* dxr = mode == 2 ? nullptr : dx_ref.data();
          float* dxf = mode == 2 ? nullptr : dx_fast.data();
          qk::ref::batchnorm_backward_f32(p, x.data(), g, mean.data(), invstd.data(), dy.data(), dxr,
                                          dg_ref.data(), db_ref.data());
          qk::fast::batchnorm_backward_f32(Ctx(threads), p, x.data(), g, mean.data(), invstd.data(), dy.data(),
                                           dxf, dg_fast.data(), db_fast.data());
          CHECK(SameBits(dx_ref, dx_fast));
          CHECK(SameBits(dg_ref, dg_fast));
          CHECK(SameBits(db_ref, db_fast));
          CHECK(CountChanged(db0, db_fast) == ch);
          // (With 2 rows xhat is +-1 and the training dx is about 0: not a useful check there.)
          if (mode != 2 && rows > 2) CHECK(CountChanged(dx0, dx_fast) > static_cast<int>(n / 2));

          dx_ref = dx0, dx_fast = dx0, dg_ref = dg0, dg_fast = dg0, db_ref = db0, db_fast = db0;
          qk::ref::batchnorm_inference_backward_f32(p, x.data(), g, rm.data(), rv.data(), dy.data(), dxr,
                                                    dg_ref.data(), db_ref.data());
          qk::fast::batchnorm_inference_backward_f32(Ctx(threads), p, x.data(), g, rm.data(), rv.data(), dy.data(),
                                                     dxf, dg_fast.data(), db_fast.data());
          CHECK(SameBits(dx_ref, dx_fast));
          CHECK(SameBits(dg_ref, dg_fast));
          CHECK(SameBits(db_ref, db_fast));
          CHECK(CountChanged(dg0, dg_fast) == ch);
          if (mode != 2) CHECK(CountChanged(dx0, dx_fast) > static_cast<int>(n / 2));
        }
      }
    }
  });
}

TEST_CASE("fast relu / relu_backward / add / accumulate = ref, bit for bit, with NaN, -0 and infinities") {
  std::mt19937 rng(14);
  const float kNaN = std::numeric_limits<float>::quiet_NaN(), kInf = std::numeric_limits<float>::infinity();
  ForEachVariantAndThreads([&](int threads) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{15}, std::size_t{16},
                          std::size_t{17}, std::size_t{63}, std::size_t{64}, std::size_t{65}, std::size_t{1001},
                          std::size_t{32771}, std::size_t{100003}}) {
      CAPTURE(n);
      auto x = Random(n, rng, -1.0f, 1.0f), dy = Random(n, rng, -1.0f, 1.0f);
      const float specials[] = {0.0f, -0.0f, kNaN, kInf, -kInf, 1e-40f, -1e-40f};
      for (std::size_t i = 0; i < n && i < 7; ++i) x[n - 1 - i] = specials[i], dy[i] = specials[i];
      const auto dx0 = Random(n, rng, -1.0f, 1.0f);

      std::vector<float> y_ref(n), y_fast(n);
      qk::ref::relu_f32(n, x.data(), y_ref.data());
      qk::fast::relu_f32(Ctx(threads), n, x.data(), y_fast.data());
      CHECK(SameBits(y_ref, y_fast));

      std::vector<float> dx_ref = dx0, dx_fast = dx0;
      qk::ref::relu_backward_f32(n, x.data(), dy.data(), dx_ref.data());
      qk::fast::relu_backward_f32(Ctx(threads), n, x.data(), dy.data(), dx_fast.data());
      CHECK(SameBits(dx_ref, dx_fast));
      if (n > 100) CHECK(CountChanged(dx0, dx_fast) > static_cast<int>(n / 4));

      qk::ref::add_f32(n, x.data(), dy.data(), y_ref.data());
      qk::fast::add_f32(Ctx(threads), n, x.data(), dy.data(), y_fast.data());
      CHECK(SameBits(y_ref, y_fast));

      dx_ref = dx0, dx_fast = dx0;
      qk::ref::accumulate_f32(n, dy.data(), dx_ref.data());
      qk::fast::accumulate_f32(Ctx(threads), n, dy.data(), dx_fast.data());
      CHECK(SameBits(dx_ref, dx_fast));
      if (n > 100) CHECK(CountChanged(dx0, dx_fast) > static_cast<int>(n / 2));
    }
  });
}

TEST_CASE("fast relu_backward writes nothing past n and reads x, not dy, for the mask") {
  // A hand-built case a wrong mask (dy > 0 instead of x > 0) or an overrun would fail.
  ForEachVariantAndThreads([&](int threads) {
    std::vector<float> x = {1.0f, -1.0f, 2.0f, 0.0f, -0.0f, 3.0f, -2.0f, 4.0f, 5.0f, -5.0f, 6.0f, 7.0f,
                            -7.0f, 8.0f, 9.0f, -9.0f, 10.0f, -10.0f, 11.0f};
    std::vector<float> dy(x.size());
    for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = -static_cast<float>(i + 1);
    std::vector<float> dx(x.size() + 3, 100.0f);
    qk::fast::relu_backward_f32(Ctx(threads), x.size(), x.data(), dy.data(), dx.data());
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(dx[i] == (x[i] > 0.0f ? 100.0f + dy[i] : 100.0f));
    for (std::size_t i = x.size(); i < dx.size(); ++i) CHECK(dx[i] == 100.0f);
  });
}

TEST_CASE("GradOut::kAssign = the reference accumulating into zeros, bit for bit, whatever dx held") {
  // dx starts as NaN, so a kernel that reads dx in assign mode fails; dy holds
  // -0.0f and values whose term is -0.0f, where "0.0f + term" (+0) differs from "term".
  std::mt19937 rng(15);
  const float kNaN = std::numeric_limits<float>::quiet_NaN();
  ForEachVariantAndThreads([&](int threads) {
    for (int rows : {1, 3, 31, 1031}) {
      for (int ch : {1, 7, 16, 17, 65}) {
        CAPTURE(rows);
        CAPTURE(ch);
        const std::size_t n = static_cast<std::size_t>(rows) * ch;
        qk::BatchNormParams p;
        p.rows = rows, p.channels = ch;
        auto x = Random(n, rng, -2.0f, 2.0f), dy = Random(n, rng, -1.0f, 1.0f);
        for (std::size_t i = 0; i < n; i += 5) dy[i] = -0.0f;
        const auto gamma = Random(ch, rng, 0.5f, 1.5f);
        const auto rm = Random(ch, rng, -1.0f, 1.0f), rv = Random(ch, rng, 0.5f, 2.0f);
        std::vector<float> y(n), mean(ch), invstd(ch);
        qk::ref::batchnorm_training_f32(p, x.data(), gamma.data(), nullptr, y.data(), mean.data(), invstd.data(),
                                        nullptr, nullptr);
        std::vector<float> dg(ch), db(ch), dg2(ch), db2(ch);

        std::vector<float> dx_ref(n, 0.0f), dx_fast(n, kNaN);
        qk::ref::batchnorm_backward_f32(p, x.data(), gamma.data(), mean.data(), invstd.data(), dy.data(),
                                        dx_ref.data(), dg.data(), db.data());
        qk::fast::batchnorm_backward_f32(Ctx(threads), p, x.data(), gamma.data(), mean.data(), invstd.data(),
                                         dy.data(), dx_fast.data(), dg2.data(), db2.data(), qk::GradOut::kAssign);
        CHECK(SameBits(dx_ref, dx_fast));
        CHECK(SameBits(dg, dg2));

        dx_ref.assign(n, 0.0f), dx_fast.assign(n, kNaN);
        qk::ref::batchnorm_inference_backward_f32(p, x.data(), gamma.data(), rm.data(), rv.data(), dy.data(),
                                                  dx_ref.data(), dg.data(), db.data());
        qk::fast::batchnorm_inference_backward_f32(Ctx(threads), p, x.data(), gamma.data(), rm.data(), rv.data(),
                                                   dy.data(), dx_fast.data(), dg2.data(), db2.data(),
                                                   qk::GradOut::kAssign);
        CHECK(SameBits(dx_ref, dx_fast));
        CHECK(SameBits(db, db2));

        dx_ref.assign(n, 0.0f), dx_fast.assign(n, kNaN);
        qk::ref::relu_backward_f32(n, x.data(), dy.data(), dx_ref.data());
        qk::fast::relu_backward_f32(Ctx(threads), n, x.data(), dy.data(), dx_fast.data(), qk::GradOut::kAssign);
        CHECK(SameBits(dx_ref, dx_fast));
        // The -0.0f gradients came out as +0.0f, as from a zeroed buffer.
        for (std::size_t i = 0; i < n; i += 5) CHECK(!std::signbit(dx_fast[i]));
      }
    }
  });
}
