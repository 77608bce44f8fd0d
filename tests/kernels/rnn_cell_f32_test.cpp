// The deterministic activations (detail/det_math.h) and the per-ISA float
// LSTM / GRU cells (detail/rnn_cell_f32_variants.h).
//
//  * Accuracy: DetExp / DetTanh / DetSigmoid against double precision on every
//    97th float bit pattern in [-90, 90] (both signs, 23 M inputs each), in ulp
//    of the float result (subnormal ulp 2^-149); the measured maxima are
//    printed. Special values (+-0, +-inf, NaN, overflow, underflow, subnormal
//    results) and monotonicity across every branch join.
//  * Same bits: every runnable variant's exp / tanh / sigmoid against the
//    scalar functions on the whole sweep (memcmp), and every variant's four
//    cells against the generic row, which is the reference cell
//    (internal/rnn_cell.h), on awkward hidden sizes (1, primes, vector widths
//    +-1, tails), with and without the optional arguments, on inputs that
//    reach the saturated ends of the activations.
// Variants the CPU cannot run (or that QUALM_ISA caps) are listed as skipped.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/test_util.h"
#include "qualm/kernels/detail/det_math.h"
#include "qualm/kernels/detail/rnn_cell_f32_variants.h"

namespace qk = qualm::kernels;
namespace qd = qualm::kernels::detail;
using namespace qualm_test;

namespace {

float FromBits(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
std::uint32_t ToBits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// The float ulp at the float nearest to `ref` (2^-149 in the subnormal range).
double UlpAt(double ref) {
  const double a = std::fabs(ref);
  if (a < FLT_MIN) return std::ldexp(1.0, -149);
  int e = 0;
  std::frexp(a, &e);
  return std::ldexp(1.0, e - 24);
}

// Every 97th non-negative float bit pattern up to 90.0f, then the same negated.
std::vector<float> Sweep() {
  std::vector<float> xs;
  const std::uint32_t top = ToBits(90.0f);
  for (std::uint32_t sign : {0u, 0x80000000u})
    for (std::uint32_t b = 0; b <= top; b += 97) xs.push_back(FromBits(b | sign));
  return xs;
}

double RefExp(double x) { return std::exp(x); }
double RefTanh(double x) { return std::tanh(x); }
double RefSigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct Fn {
  const char* name;
  float (*det)(float);
  double (*ref)(double);
  double bound_ulp;
};
const Fn kFns[] = {{"DetExp", &qd::DetExp, &RefExp, 1.5},
                   {"DetTanh", &qd::DetTanh, &RefTanh, 2.0},
                   {"DetSigmoid", &qd::DetSigmoid, &RefSigmoid, 3.0}};

// Non-decreasing over the `count` floats on each side of x0.
bool MonotoneAround(float (*f)(float), float x0, int count) {
  float x = x0;
  for (int i = 0; i < count; ++i) x = std::nextafter(x, -INFINITY);
  float prev = f(x);
  for (int i = 0; i < 2 * count; ++i) {
    x = std::nextafter(x, INFINITY);
    const float y = f(x);
    if (y < prev) return false;
    prev = y;
  }
  return true;
}

// Runs body(v) for each runnable variant (the dispatch test lists the skipped ones).
template <typename F>
void ForEachCellVariant(const F& body) {
  for (const qd::RnnCellF32Variant& v : qd::RunnableRnnCellF32Variants()) {
    const std::string name = v.name;
    CAPTURE(name);
    body(v);
  }
}

}  // namespace

TEST_CASE("DetExp, DetTanh and DetSigmoid are within their stated ulp bounds of double precision on [-90, 90]") {
  const std::vector<float> xs = Sweep();
  for (const Fn& fn : kFns) {
    CAPTURE(fn.name);
    double worst = 0;
    float worst_x = 0;
    std::size_t overflow_mismatch = 0;
    for (float x : xs) {
      const double want = fn.ref(x);
      const float got = fn.det(x);
      if (std::fabs(want) > static_cast<double>(FLT_MAX) * (1.0 + 0.5 * kEpsF)) {  // rounds to inf as a float
        if (!(std::isinf(got) && got > 0)) ++overflow_mismatch;
        continue;
      }
      const double ulp = std::fabs(static_cast<double>(got) - want) / UlpAt(want);
      if (!(ulp <= worst)) worst = ulp, worst_x = x;
    }
    const std::string fname = fn.name;
    MESSAGE(fname << ": max error " << worst << " ulp at x = " << worst_x << " over " << xs.size() << " inputs");
    CHECK(overflow_mismatch == 0);
    CHECK(worst < fn.bound_ulp);
  }
}

TEST_CASE("DetExp, DetTanh and DetSigmoid special values") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  // exp
  CHECK(qd::DetExp(0.0f) == 1.0f);
  CHECK(qd::DetExp(-0.0f) == 1.0f);
  CHECK(qd::DetExp(inf) == inf);
  CHECK(qd::DetExp(-inf) == 0.0f);
  CHECK(qd::DetExp(89.0f) == inf);
  CHECK(qd::DetExp(1e30f) == inf);
  CHECK(qd::DetExp(88.7f) < inf);  // e^88.7 = 3.3e38 < FLT_MAX
  CHECK(qd::DetExp(-1e30f) == 0.0f);
  CHECK(qd::DetExp(-104.0f) == 0.0f);  // e^-104 < 2^-150: rounds to 0
  CHECK(qd::DetExp(-103.0f) == FLT_TRUE_MIN);  // e^-103 = 1.85e-45 = 1.32 units of 2^-149: rounds to 1 unit
  CHECK(std::isnan(qd::DetExp(nan)));
  CHECK(std::isnan(qd::DetExp(-nan)));
  CHECK(qd::DetExp(1.0f) == std::exp(1.0f));  // both correctly rounded here
  // tanh: odd, exactly, including -0
  CHECK(qd::DetTanh(0.0f) == 0.0f);
  CHECK(std::signbit(qd::DetTanh(-0.0f)));
  CHECK(qd::DetTanh(inf) == 1.0f);
  CHECK(qd::DetTanh(-inf) == -1.0f);
  CHECK(qd::DetTanh(10.0f) == 1.0f);
  CHECK(qd::DetTanh(1e-30f) == 1e-30f);
  CHECK(qd::DetTanh(FLT_TRUE_MIN) == FLT_TRUE_MIN);
  CHECK(std::isnan(qd::DetTanh(nan)));
  for (float x : {1e-20f, 0.1f, 0.6249f, 0.625f, 0.7f, 3.0f, 9.5f, 80.0f})
    CHECK(ToBits(qd::DetTanh(-x)) == (ToBits(qd::DetTanh(x)) | 0x80000000u));
  // sigmoid
  CHECK(qd::DetSigmoid(0.0f) == 0.5f);
  CHECK(qd::DetSigmoid(-0.0f) == 0.5f);
  CHECK(qd::DetSigmoid(inf) == 1.0f);
  CHECK(qd::DetSigmoid(-inf) == 0.0f);
  CHECK(qd::DetSigmoid(20.0f) == 1.0f);
  CHECK(qd::DetSigmoid(-100.0f) > 0.0f);   // e^-100, subnormal: kept, not flushed
  CHECK(qd::DetSigmoid(-100.0f) < FLT_MIN);
  CHECK(qd::DetSigmoid(-200.0f) == 0.0f);
  CHECK(std::isnan(qd::DetSigmoid(nan)));
}

TEST_CASE("DetExp, DetTanh and DetSigmoid are monotone across their branch joins") {
  // exp: where n = round(x / ln 2) steps (+-ln2/2, 10.5 ln 2), the clamps, the
  // subnormal and the overflow thresholds.
  for (float x0 : {0.3465736f, -0.3465736f, 7.2780247f, -87.336544f, -103.27893f, 88.72283f, -104.0f, 89.0f})
    CHECK(MonotoneAround(&qd::DetExp, x0, 2000));
  // tanh: the polynomial / exp join at +-0.625 and around 0; sigmoid: its select at 0.
  for (float x0 : {0.625f, -0.625f, 0.0f, 9.01f}) CHECK(MonotoneAround(&qd::DetTanh, x0, 4000));
  for (float x0 : {0.0f, 0.3465736f, -0.3465736f, -87.33f}) CHECK(MonotoneAround(&qd::DetSigmoid, x0, 4000));
  // Coarse monotonicity over the whole range.
  for (const Fn& fn : kFns) {
    CAPTURE(fn.name);
    float prev = fn.det(-95.0f);
    bool ok = true;
    for (float x = -95.0f; x <= 95.0f; x += 0.001f) {
      const float y = fn.det(x);
      ok = ok && y >= prev;
      prev = y;
    }
    CHECK(ok);
  }
}

TEST_CASE("every rnn cell variant's exp, tanh and sigmoid give the scalar functions' bits") {
  std::vector<float> xs = Sweep();
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {inf, -inf, 1e30f, -1e30f, 89.0f, -104.0f, 88.7228f, -87.34f, FLT_TRUE_MIN, -FLT_TRUE_MIN, 0.625f})
    xs.push_back(x);
  xs.push_back(std::numeric_limits<float>::quiet_NaN());
  const std::size_t n = xs.size();
  ForEachCellVariant([&](const qd::RnnCellF32Variant& v) {
    for (const Fn& fn : kFns) {
      CAPTURE(fn.name);
      auto* apply = fn.det == &qd::DetExp ? v.exp : fn.det == &qd::DetTanh ? v.tanh : v.sigmoid;
      // Odd lengths and offsets, so that every lane position and the tails see values.
      std::vector<float> got(n);
      apply(n - 1, xs.data(), got.data());
      apply(1, xs.data() + n - 1, got.data() + n - 1);
      std::size_t mismatches = 0;
      for (std::size_t i = 0; i + 1 < n; ++i)
        if (ToBits(got[i]) != ToBits(fn.det(xs[i]))) ++mismatches;
      CHECK(mismatches == 0);
      CHECK(std::isnan(got[n - 1]));
    }
  });
}

namespace {

struct CellData {
  std::vector<float> pre, c_prev, dh, dc, hh, hn;
};

// Pre-activations mostly in [-6, 6] with some far into the saturated ends
// (and exact 0, +-0.625, the tanh join).
std::vector<float> PreActivations(std::size_t n, std::mt19937& rng) {
  std::vector<float> v = Random(n, rng, -6.0f, 6.0f);
  std::uniform_int_distribution<int> pick(0, 9);
  const float specials[] = {0.0f, -0.0f, 0.625f, -0.625f, 30.0f, -30.0f, 95.0f, -95.0f};
  for (auto& x : v)
    if (pick(rng) == 0) x = specials[pick(rng) % 8];
  return v;
}

}  // namespace

TEST_CASE("every rnn cell variant gives the reference cell's bits (forward and backward, LSTM and GRU)") {
  std::mt19937 rng(211);
  const auto& table = qd::RnnCellF32Variants();
  const qd::RnnCellF32Variant& ref = table.back();  // the generic row: internal/rnn_cell.h itself
  REQUIRE(std::string(ref.name) == "f32_rnn_cell_1c__generic");
  for (std::int64_t H : {1, 2, 7, 8, 9, 15, 16, 17, 31, 50, 75, 129}) {
    CAPTURE(H);
    for (bool with_prev : {true, false}) {
      CAPTURE(with_prev);
      const auto h = static_cast<std::size_t>(H);
      const std::vector<float> zg4 = PreActivations(4 * h, rng), gx3 = PreActivations(3 * h, rng),
                               hh3 = PreActivations(3 * h, rng);
      const std::vector<float> c_prev = Random(h, rng, -3.0f, 3.0f), h_prev = Random(h, rng), dh = Random(h, rng),
                               dc = Random(h, rng);
      const float* cp = with_prev ? c_prev.data() : nullptr;
      const float* hp = with_prev ? h_prev.data() : nullptr;
      struct Out {
        std::vector<float> zg, c, h, dc, dz, gx, gh, hn, dgx, dhh, dhd;
      };
      auto run = [&](const qd::RnnCellF32Variant& v, bool with_hn) {
        Out o{zg4, Vec(h), Vec(h), dc, Vec(4 * h), gx3, Vec(h), Vec(h, -7.0f), Vec(3 * h), Vec(3 * h), Vec(h)};
        v.lstm_forward(H, o.zg.data(), cp, o.c.data(), o.h.data());
        v.lstm_backward(H, o.zg.data(), o.c.data(), cp, dh.data(), o.dc.data(), o.dz.data());
        v.gru_forward(H, o.gx.data(), hh3.data(), hp, o.gh.data(), with_hn ? o.hn.data() : nullptr);
        v.gru_backward(H, o.gx.data(), hh3.data() + 2 * h, hp, dh.data(), o.dgx.data(), o.dhh.data(), o.dhd.data());
        return o;
      };
      for (bool with_hn : {true, false}) {
        const Out want = run(ref, with_hn);
        ForEachCellVariant([&](const qd::RnnCellF32Variant& v) {
          const Out got = run(v, with_hn);
          CHECK(SameBits(got.zg, want.zg));
          CHECK(SameBits(got.c, want.c));
          CHECK(SameBits(got.h, want.h));
          CHECK(SameBits(got.dc, want.dc));
          CHECK(SameBits(got.dz, want.dz));
          CHECK(SameBits(got.gx, want.gx));
          CHECK(SameBits(got.gh, want.gh));
          CHECK(SameBits(got.hn, want.hn));  // untouched (-7) when hn is null
          CHECK(SameBits(got.dgx, want.dgx));
          CHECK(SameBits(got.dhh, want.dhh));
          CHECK(SameBits(got.dhd, want.dhd));
        });
      }
    }
  }
}

TEST_CASE("rnn cell dispatch: the table ends with the generic row, the test hook switches variants") {
  const auto& table = qd::RnnCellF32Variants();
  REQUIRE(!table.empty());
  CHECK(table.back().isa == qk::Isa::kScalar);
  CHECK(qk::IsaAvailable(qd::ActiveRnnCellF32Variant().isa));
  const std::string d = qd::DescribeRnnCellF32Dispatch();
  CHECK(d.find("chosen") != std::string::npos);
  MESSAGE("rnn cell dispatch: " << d);
  for (const qd::RnnCellF32Variant& v : table) {
    const std::string line =
        std::string(qk::IsaAvailable(v.isa) ? "tested: " : "skipped (ISA not available or capped by QUALM_ISA): ") +
        v.name;
    MESSAGE(line);
  }
  for (const qd::RnnCellF32Variant& v : qd::RunnableRnnCellF32Variants()) {
    qd::ScopedRnnCellF32IsaForTesting scoped(v.isa);
    REQUIRE(scoped.ok());
    CHECK(std::string(qd::RnnCellF32PathName()) == v.name);
  }
}
