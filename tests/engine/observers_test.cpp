// Calibration observers and the calibration driver (qualm/engine/observers.h,
// qualm/engine/calibration.h): closed-form answers on known distributions,
// outlier clipping measured by really quantizing, 0 always representable,
// bit-for-bit determinism (also across batch splits), per-channel, edge inputs,
// CLI names, weight params, and Calibrate on a zoo model.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "qualm/engine/calibration.h"
#include "qualm/engine/executor.h"
#include "qualm/engine/observers.h"
#include "qualm/engine/random.h"
#include "qualm/engine/zoo.h"
#include "qualm/kernels/quantize_s8.h"
#include "qualm/kernels/requant.h"

namespace qualm {
namespace {

using kernels::ChooseQuantParams;
using kernels::DequantizeValue;
using kernels::QuantizeValue;
using kernels::RoundingMode;

std::unique_ptr<Observer> Make(const std::string& spec) {
  auto ob = MakeObserver(spec);
  REQUIRE_MESSAGE(ob.ok(), ob.status().ToString());
  return std::move(ob).value();
}

QuantParams One(const Observer& ob, const QuantTarget& t = QuantTarget::ActivationS8()) {
  auto p = ob.Compute(t);
  REQUIRE_MESSAGE(p.ok(), p.status().ToString());
  REQUIRE(p->size() == 1);
  return (*p)[0];
}

Range OneRange(const Observer& ob, const QuantTarget& t = QuantTarget::ActivationS8()) {
  auto r = ob.ClipRanges(t);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  REQUIRE(r->size() == 1);
  return (*r)[0];
}

bool SameBits(const QuantParams& a, const QuantParams& b) {
  return std::memcmp(&a.scale, &b.scale, sizeof(float)) == 0 && a.zero_point == b.zero_point;
}

// Sum over x of (x - dequantize(quantize(x)))^2, with the int8 contract's functions.
double QuantError(const std::vector<float>& x, const QuantParams& p, const QuantTarget& t) {
  double e = 0.0;
  for (float v : x) {
    const float y = DequantizeValue(QuantizeValue(v, p.scale, p.zero_point, t.qmin, t.qmax,
                                                  RoundingMode::kHalfAwayFromZero),
                                    p.scale, p.zero_point);
    e += (static_cast<double>(v) - y) * (static_cast<double>(v) - y);
  }
  return e;
}

// Scale positive and finite, zero point in range, and real 0.0 exact.
void CheckValid(const QuantParams& p, const QuantTarget& t) {
  CHECK(std::isfinite(p.scale));
  CHECK(p.scale > 0.0f);
  CHECK(p.zero_point >= t.qmin);
  CHECK(p.zero_point <= t.qmax);
  if (t.scheme == QuantGrid::kSymmetric) CHECK(p.zero_point == 0);
  for (auto r : {RoundingMode::kHalfAwayFromZero, RoundingMode::kHalfToEven}) {
    const std::int32_t q = QuantizeValue(0.0f, p.scale, p.zero_point, t.qmin, t.qmax, r);
    CHECK(DequantizeValue(q, p.scale, p.zero_point) == 0.0f);
  }
}

const std::vector<std::string>& AllSpecs() {
  static const std::vector<std::string> specs = {"minmax", "moving-average", "percentile", "mse", "entropy"};
  return specs;
}

QuantTarget Symmetric8() { return {-127, 127, QuantGrid::kSymmetric, QuantGranularity::kPerTensor}; }

TEST_CASE("observers: minmax gives the exact min and max of uniform values") {
  Rng rng(1);
  std::vector<float> x(5000);
  for (auto& v : x) v = rng.Uniform(-3.0f, 5.0f);
  const float mn = *std::min_element(x.begin(), x.end());
  const float mx = *std::max_element(x.begin(), x.end());
  auto ob = Make("minmax");
  for (std::size_t i = 0; i < x.size(); i += 1000) REQUIRE(ob->Observe(x.data() + i, 1000).ok());
  const Range r = OneRange(*ob);
  CHECK(r.min == mn);
  CHECK(r.max == mx);
  CHECK(ob->observed_range().min == mn);
  CHECK(ob->observed_range().max == mx);
  CHECK(ob->finite_count() == 5000);
  CHECK(ob->batches() == 5);
  auto expected = ChooseQuantParams(mn, mx, -128, 127);
  REQUIRE(expected.ok());
  CHECK(SameBits(One(*ob), *expected));
  // Symmetric: max |x| / 127.
  CHECK(SameBits(One(*ob, Symmetric8()), kernels::ChooseSymmetricParams(std::max(-mn, mx), 127)));

  // Positive-only data: the range is kept, the parameters include 0.
  auto pos = Make("minmax");
  const std::vector<float> y = {2.0f, 3.5f, 4.0f, 2.5f};
  REQUIRE(pos->Observe(y.data(), y.size()).ok());
  CHECK(OneRange(*pos).min == 2.0f);
  CHECK(OneRange(*pos).max == 4.0f);
  const QuantParams p = One(*pos);
  CHECK(p.zero_point == -128);
  CHECK(p.scale == doctest::Approx(4.0 / 255.0).epsilon(1e-6));
}

TEST_CASE("observers: moving-average follows the EMA computed by hand") {
  const std::vector<std::vector<float>> batches = {{0.0f, 10.0f, 5.0f}, {-2.0f, 4.0f}, {1.0f, 8.0f, 3.0f}};
  SUBCASE("constant 0.5 (exact in binary)") {
    auto ob = Make("moving-average:constant=0.5");
    REQUIRE(ob->Observe(batches[0].data(), 3).ok());  // first batch: (0, 10)
    CHECK(OneRange(*ob).min == 0.0f);
    CHECK(OneRange(*ob).max == 10.0f);
    REQUIRE(ob->Observe(batches[1].data(), 2).ok());  // (0 + .5 * -2, 10 + .5 * (4 - 10)) = (-1, 7)
    CHECK(OneRange(*ob).min == -1.0f);
    CHECK(OneRange(*ob).max == 7.0f);
    REQUIRE(ob->Observe(batches[2].data(), 3).ok());  // (-1 + .5 * 2, 7 + .5 * 1) = (0, 7.5)
    CHECK(OneRange(*ob).min == 0.0f);
    CHECK(OneRange(*ob).max == 7.5f);
    // A batch with no finite value changes nothing.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    REQUIRE(ob->Observe(&nan, 1).ok());
    REQUIRE(ob->Observe(nullptr, 0).ok());
    CHECK(OneRange(*ob).max == 7.5f);
    // The min/max observer would have kept (-2, 10).
    CHECK(ob->observed_range().min == -2.0f);
    CHECK(ob->observed_range().max == 10.0f);
  }
  SUBCASE("default constant 0.01, PyTorch's float update") {
    auto ob = Make("moving-average");
    for (const auto& b : batches) REQUIRE(ob->Observe(b.data(), b.size()).ok());
    float mn = 0.0f, mx = 10.0f;
    mn = mn + 0.01f * (-2.0f - mn);
    mx = mx + 0.01f * (4.0f - mx);
    mn = mn + 0.01f * (1.0f - mn);
    mx = mx + 0.01f * (8.0f - mx);
    CHECK(OneRange(*ob).min == mn);
    CHECK(OneRange(*ob).max == mx);
    CHECK(mn == doctest::Approx(-0.0098).epsilon(1e-4));  // -0.02 + 0.01 * 1.02
    CHECK(mx == doctest::Approx(9.9206).epsilon(1e-5));   // 9.94 + 0.01 * -1.94
  }
}

TEST_CASE("observers: percentile of a known set lies within one bin width") {
  // Integers 0..9999: 2048 bins of width 2^e need 9999 / 2^e < 2048, so w = 8.
  std::vector<float> x(10000);
  for (int i = 0; i < 10000; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const double w = 8.0;
  auto ob = Make("percentile:percentile=99");
  REQUIRE(ob->Observe(x.data(), x.size()).ok());
  const Range r = OneRange(*ob);
  CHECK(std::fabs(r.max - 9899.0) <= w);
  CHECK(std::fabs(r.min - 100.0) <= w);
  CHECK(r.max < 9990.0f);  // really below the max

  // Signed set -5000..4999 at 99.9 %: quantiles near -4990 and 4989.
  for (int i = 0; i < 10000; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i - 5000);
  auto sg = Make("percentile:percentile=99.9");
  REQUIRE(sg->Observe(x.data(), x.size()).ok());
  CHECK(std::fabs(OneRange(*sg).max - 4989.0) <= w);
  CHECK(std::fabs(OneRange(*sg).min + 4990.0) <= w);
  // Symmetric targets use the larger magnitude of the two.
  const QuantParams ps = One(*sg, Symmetric8());
  CHECK(ps.zero_point == 0);
  CHECK(std::fabs(ps.scale * 127.0 - 4990.0) <= w);

  // 100 % is exactly min/max.
  auto all = Make("percentile:percentile=100");
  REQUIRE(all->Observe(x.data(), x.size()).ok());
  CHECK(OneRange(*all).min == -5000.0f);
  CHECK(OneRange(*all).max == 4999.0f);
}

// Gaussian bulk (sigma 1, 2^20 values) plus two outliers at +-100: L2 clipping
// pays when there are far more bulk values than outliers.
std::vector<float> GaussianWithOutliers() {
  Rng rng(7);
  std::vector<float> x(1u << 20);
  for (auto& v : x) v = rng.Normal();
  x[1000] = 100.0f;
  x[500000] = -100.0f;
  return x;
}

TEST_CASE("observers: mse and entropy clip outliers that minmax keeps") {
  const std::vector<float> x = GaussianWithOutliers();
  for (const QuantTarget& t : {QuantTarget::ActivationS8(), Symmetric8()}) {
    const std::string scheme = QuantGridName(t.scheme);
    CAPTURE(scheme);
    auto mm = Make("minmax");
    auto mse = Make("mse");
    auto kl = Make("entropy");
    for (std::size_t i = 0; i < x.size(); i += 65536) {
      REQUIRE(mm->Observe(x.data() + i, 65536).ok());
      REQUIRE(mse->Observe(x.data() + i, 65536).ok());
      REQUIRE(kl->Observe(x.data() + i, 65536).ok());
    }
    CHECK(OneRange(*mm, t).max == 100.0f);
    const Range rm = OneRange(*mse, t), rk = OneRange(*kl, t);
    MESSAGE("mse range [", rm.min, ", ", rm.max, "], entropy range [", rk.min, ", ", rk.max, "]");
    CHECK(rm.max < 50.0f);
    CHECK(rm.min > -50.0f);
    CHECK(rm.max > 3.0f);  // but not into the bulk
    CHECK(rk.max < 50.0f);
    CHECK(rk.min > -50.0f);
    CHECK(rk.max > 3.0f);
    const double e_mm = QuantError(x, One(*mm, t), t);
    const double e_mse = QuantError(x, One(*mse, t), t);
    MESSAGE("squared error: minmax ", e_mm, ", mse ", e_mse);
    CHECK(e_mse <= e_mm);
    CHECK(e_mse < 0.5 * e_mm);
  }
  // Without outliers, minmax's range is already near-optimal: mse does not
  // clip much (8-bit optimum for a Gaussian is about 4 sigma).
  std::vector<float> g(x);
  g[1000] = 0.0f;
  g[500000] = 0.0f;
  auto mse = Make("mse");
  REQUIRE(mse->Observe(g.data(), g.size()).ok());
  CHECK(OneRange(*mse).max > 3.0f);
}

// The entropy observer's KL search on a one-signed tensor (a ReLU output):
// exact zeros sit on every candidate grid, so they must not move the threshold.
// Kept in the histogram's bin 0 (about half of a post-ReLU tensor), they made
// the search pick its narrowest candidate (ResNet-20 int8: 684 disagreements
// instead of 163, study/results/2026-12-02-entropy-observer.md).
TEST_CASE("observers: entropy threshold ignores exact zeros (post-ReLU tensors)") {
  // A flat distribution on (0, 1]: merging flat bins into levels loses nothing,
  // so the KL is smallest with nothing clipped: the threshold is the maximum.
  constexpr int kN = 40000;
  std::vector<float> flat, relu;
  for (int k = 0; k < kN; ++k) {
    const float x = (static_cast<float>(k) + 0.5f) / kN;
    flat.push_back(x);
    relu.push_back(x);
    relu.push_back(k % 2 == 0 ? 0.0f : -0.0f);  // the clamped half of a ReLU
  }
  for (int extra = 0; extra < 3; ++extra)  // more zeros than values, as after a sparse ReLU
    for (int k = 0; k < kN; ++k) relu.push_back(0.0f);
  const std::vector<QuantTarget> targets = {QuantTarget::ActivationS8(), Symmetric8(),
                                            {0, 255, QuantGrid::kAffine, QuantGranularity::kPerTensor}};
  for (const QuantTarget& t : targets) {
    CAPTURE(t.qmin);
    auto a = Make("entropy");
    auto b = Make("entropy");
    REQUIRE(a->Observe(flat.data(), flat.size()).ok());
    for (std::size_t i = 0; i < relu.size(); i += 7000)  // several batches
      REQUIRE(b->Observe(relu.data() + i, std::min<std::size_t>(7000, relu.size() - i)).ok());
    const Range ra = OneRange(*a, t), rb = OneRange(*b, t);
    MESSAGE("entropy max: flat ", ra.max, ", flat + zeros ", rb.max);
    CHECK(ra.min == 0.0f);
    CHECK(ra.max == flat.back());  // the known optimum: no clipping
    CHECK(rb.min == ra.min);       // zeros change nothing
    CHECK(rb.max == ra.max);
    CHECK(SameBits(One(*a, t), One(*b, t)));
  }
  // ReLU of a Gaussian: the same threshold as its positive half alone, and
  // in the tail (the old search clipped at 2.0, its narrowest clean candidate).
  Rng rng(11);
  std::vector<float> half, g;
  for (int k = 0; k < 200000; ++k) {
    const float x = rng.Normal();
    g.push_back(std::max(x, 0.0f));
    if (x > 0.0f) half.push_back(x);
  }
  auto a = Make("entropy");
  auto b = Make("entropy");
  REQUIRE(a->Observe(half.data(), half.size()).ok());
  REQUIRE(b->Observe(g.data(), g.size()).ok());
  const Range ra = OneRange(*a), rb = OneRange(*b);
  const float mx = *std::max_element(half.begin(), half.end());
  MESSAGE("relu(gaussian): entropy max ", rb.max, " of ", mx);
  CHECK(rb.max == ra.max);
  CHECK(rb.max > 3.0f);
}

TEST_CASE("observers: 0.0 is exactly representable for every observer and data set") {
  const std::vector<std::vector<float>> sets = {
      {2.0f, 3.0f, 5.0f, 4.5f}, {-5.0f, -2.0f, -3.25f}, {-1.0f, 0.3f, 7.0f, 2.0f}, {3.0f, 3.0f},
      {0.0f, 0.0f},             {1e-3f, 2e-3f},         {-1e6f, 1e6f, 0.5f},       {0.1f}};
  const std::vector<QuantTarget> targets = {QuantTarget::ActivationS8(), Symmetric8(),
                                            {0, 255, QuantGrid::kAffine, QuantGranularity::kPerTensor}};
  for (const auto& spec : AllSpecs()) {
    for (const auto& s : sets) {
      auto ob = Make(spec);
      REQUIRE(ob->Observe(s.data(), s.size()).ok());
      for (const auto& t : targets) {
        CAPTURE(spec);
        CAPTURE(s[0]);
        CAPTURE(t.qmin);
        CheckValid(One(*ob, t), t);
      }
    }
  }
}

TEST_CASE("observers: deterministic bit for bit whatever the batch split") {
  // Growing ranges over the batches force the histograms to widen.
  Rng rng(3);
  std::vector<float> x;
  for (int i = 0; i < 3000; ++i) x.push_back(rng.Uniform(0.0f, 1e-3f));
  for (int i = 0; i < 20000; ++i) x.push_back(rng.Normal());
  for (int i = 0; i < 5; ++i) x.push_back(rng.Uniform(-300.0f, 900.0f));
  for (int i = 0; i < 7000; ++i) x.push_back(2.0f * rng.Normal() + 1.0f);
  const std::vector<std::size_t> uneven = {1, 2999, 17, 19983, 5, 3, 6997};
  std::vector<float> reversed(x.rbegin(), x.rend());
  for (const auto& spec : AllSpecs()) {
    CAPTURE(spec);
    for (const QuantTarget& t : {QuantTarget::ActivationS8(), Symmetric8()}) {
      auto a = Make(spec), b = Make(spec), split = Make(spec), rev = Make(spec);
      REQUIRE(a->Observe(x.data(), x.size()).ok());
      REQUIRE(b->Observe(x.data(), x.size()).ok());
      std::size_t at = 0;
      for (std::size_t n : uneven) {
        REQUIRE(split->Observe(x.data() + at, n).ok());
        at += n;
      }
      REQUIRE(at == x.size());
      REQUIRE(rev->Observe(reversed.data(), reversed.size()).ok());
      const QuantParams pa = One(*a, t);
      CHECK(SameBits(pa, One(*b, t)));
      // The moving average depends on batches by definition; the others do not.
      if (spec != "moving-average") {
        CHECK(SameBits(pa, One(*split, t)));
        CHECK(SameBits(pa, One(*rev, t)));
      }
    }
  }
}

TEST_CASE("observers: per-channel and per-tensor") {
  // [rows][3]: channel 0 in [0, 1], channel 1 in [-10, 10], channel 2 in [-0.5, 0.25].
  Rng rng(11);
  const std::size_t rows = 4000;
  std::vector<float> x(rows * 3);
  std::vector<std::vector<float>> column(3);
  for (std::size_t r = 0; r < rows; ++r) {
    x[r * 3 + 0] = rng.Uniform(0.0f, 1.0f);
    x[r * 3 + 1] = rng.Uniform(-10.0f, 10.0f);
    x[r * 3 + 2] = rng.Uniform(-0.5f, 0.25f);
    for (int c = 0; c < 3; ++c) column[static_cast<std::size_t>(c)].push_back(x[r * 3 + static_cast<std::size_t>(c)]);
  }
  QuantTarget per_channel = QuantTarget::ActivationS8();
  per_channel.granularity = QuantGranularity::kPerChannel;
  for (const auto& spec : AllSpecs()) {
    CAPTURE(spec);
    auto ob = Make(spec);
    REQUIRE(ob->ObservePerChannel(x.data(), rows / 2, 3).ok());
    REQUIRE(ob->ObservePerChannel(x.data() + rows / 2 * 3, rows / 2, 3).ok());
    CHECK(ob->channels() == 3);
    for (const QuantTarget& t : {per_channel, QuantTarget::WeightS8()}) {
      auto pc = ob->Compute(t);
      REQUIRE_MESSAGE(pc.ok(), pc.status().ToString());
      REQUIRE(pc->size() == 3);
      QuantTarget tensor_target = t;
      tensor_target.granularity = QuantGranularity::kPerTensor;
      for (int c = 0; c < 3; ++c) {
        // Each channel is exactly what a per-tensor observer of that column gives.
        auto single = Make(spec);
        const auto& col = column[static_cast<std::size_t>(c)];
        REQUIRE(single->Observe(col.data(), rows / 2).ok());
        REQUIRE(single->Observe(col.data() + rows / 2, rows / 2).ok());
        CHECK(SameBits((*pc)[static_cast<std::size_t>(c)], One(*single, tensor_target)));
        CheckValid((*pc)[static_cast<std::size_t>(c)], t);
      }
      // Channel 1 is 10x wider than channel 0.
      CHECK((*pc)[1].scale > 5.0f * (*pc)[0].scale);
    }
    // The per-tensor result covers the union: for minmax, exactly [-10, 10]-ish.
    auto whole = Make(spec);
    REQUIRE(whole->Observe(x.data(), x.size()).ok());
    if (spec != "moving-average") CHECK(SameBits(One(*ob), One(*whole)));
  }
  auto mm = Make("minmax");
  REQUIRE(mm->ObservePerChannel(x.data(), rows, 3).ok());
  CHECK(OneRange(*mm).min == std::min({*std::min_element(column[0].begin(), column[0].end()),
                                       *std::min_element(column[1].begin(), column[1].end()),
                                       *std::min_element(column[2].begin(), column[2].end())}));
  // Forms do not mix, channel counts do not change, per-channel needs per-channel data.
  CHECK(mm->ObservePerChannel(x.data(), rows, 4).code() == StatusCode::kInvalidArgument);
  CHECK(mm->Observe(x.data(), 3).code() == StatusCode::kInvalidArgument);
  auto pt = Make("minmax");
  REQUIRE(pt->Observe(x.data(), x.size()).ok());
  CHECK(pt->ObservePerChannel(x.data(), rows, 3).code() == StatusCode::kInvalidArgument);
  CHECK(pt->Compute(per_channel).status().code() == StatusCode::kInvalidArgument);
  CHECK(pt->ObservePerChannel(x.data(), rows, 0).code() == StatusCode::kInvalidArgument);
  pt->Reset();
  CHECK(pt->ObservePerChannel(x.data(), rows, 3).ok());
}

TEST_CASE("observers: empty / all-zero / constant / NaN-containing input") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const auto& spec : AllSpecs()) {
    CAPTURE(spec);
    // Empty: observing nothing is fine, computing from nothing is an error.
    auto empty = Make(spec);
    CHECK(empty->Observe(nullptr, 0).ok());
    CHECK(empty->Compute(QuantTarget::ActivationS8()).status().code() == StatusCode::kInvalidArgument);
    CHECK(empty->Observe(nullptr, 4).code() == StatusCode::kInvalidArgument);
    auto fresh = Make(spec);
    CHECK(fresh->Compute(QuantTarget::ActivationS8()).status().code() == StatusCode::kInvalidArgument);

    // All zero: range [0, 0] -> the degenerate parameters (scale 1, zp 0).
    const std::vector<float> zeros(100, 0.0f);
    auto z = Make(spec);
    REQUIRE(z->Observe(zeros.data(), zeros.size()).ok());
    CHECK(OneRange(*z).min == 0.0f);
    CHECK(OneRange(*z).max == 0.0f);
    CHECK(One(*z).scale == 1.0f);
    CHECK(One(*z).zero_point == 0);
    CHECK(One(*z, Symmetric8()).scale == 1.0f);

    // Constant 3: every observer keeps [3, 3], i.e. parameters of [0, 3].
    const std::vector<float> threes(257, 3.0f);
    auto c = Make(spec);
    REQUIRE(c->Observe(threes.data(), threes.size()).ok());
    auto expected = ChooseQuantParams(0.0f, 3.0f, -128, 127);
    REQUIRE(expected.ok());
    CHECK(SameBits(One(*c), *expected));
    CHECK(One(*c).zero_point == -128);
    // Constant -3 on the symmetric grid.
    const std::vector<float> minus(10, -3.0f);
    auto m = Make(spec);
    REQUIRE(m->Observe(minus.data(), minus.size()).ok());
    CHECK(SameBits(One(*m, Symmetric8()), kernels::ChooseSymmetricParams(3.0f, 127)));
    CHECK(One(*m).zero_point == 127);

    // NaN and +-inf are ignored and counted: same result as without them.
    Rng rng(5);
    std::vector<float> clean(3000), dirty;
    for (auto& v : clean) v = rng.Normal();
    for (std::size_t i = 0; i < clean.size(); ++i) {
      if (i % 100 == 0) dirty.push_back(i % 200 == 0 ? nan : (i % 300 == 0 ? -inf : inf));
      dirty.push_back(clean[i]);
    }
    auto a = Make(spec), b = Make(spec);
    REQUIRE(a->Observe(clean.data(), clean.size()).ok());
    REQUIRE(b->Observe(dirty.data(), dirty.size()).ok());
    CHECK(b->nonfinite_count() == 30);
    CHECK(b->finite_count() == 3000);
    CHECK(SameBits(One(*a), One(*b)));
    // Only NaN: nothing to compute from.
    const std::vector<float> nans(8, nan);
    auto n = Make(spec);
    REQUIRE(n->Observe(nans.data(), nans.size()).ok());
    CHECK(n->Compute(QuantTarget::ActivationS8()).status().code() == StatusCode::kInvalidArgument);
    // A NaN-only channel is named in the error.
    std::vector<float> two = {1.0f, nan, 2.0f, nan};
    auto ch = Make(spec);
    REQUIRE(ch->ObservePerChannel(two.data(), 2, 2).ok());
    QuantTarget pc = QuantTarget::ActivationS8();
    pc.granularity = QuantGranularity::kPerChannel;
    auto r = ch->Compute(pc);
    REQUIRE(!r.ok());
    CHECK(r.status().message().find("channel 1") != std::string::npos);
  }
  // Bad targets.
  auto ob = Make("minmax");
  const float one = 1.0f;
  REQUIRE(ob->Observe(&one, 1).ok());
  CHECK(!ob->Compute({5, 5, QuantGrid::kAffine, QuantGranularity::kPerTensor}).ok());
  CHECK(!ob->Compute({0, 255, QuantGrid::kSymmetric, QuantGranularity::kPerTensor}).ok());
}

TEST_CASE("observers: factory / parse / canonical names") {
  const std::vector<std::pair<std::string, std::string>> round_trips = {
      {"minmax", "minmax"},
      {"moving-average", "moving-average:constant=0.01"},
      {"moving-average:constant=0.25", "moving-average:constant=0.25"},
      {"percentile", "percentile:percentile=99.99,bins=2048"},
      {"percentile:bins=512,percentile=99.9", "percentile:percentile=99.9,bins=512"},
      {"mse", "mse:bins=2048"},
      {"entropy:bins=4096", "entropy:bins=4096"},
  };
  for (const auto& round_trip : round_trips) {
    // Not a structured binding: clang 14 (sanitize preset) cannot capture one in CAPTURE's lambda.
    const auto& spec = round_trip.first;
    const auto& canonical = round_trip.second;
    CAPTURE(spec);
    auto o = ParseObserver(spec);
    REQUIRE_MESSAGE(o.ok(), o.status().ToString());
    CHECK(ObserverName(*o) == canonical);
    auto again = ParseObserver(canonical);
    REQUIRE(again.ok());
    CHECK(ObserverName(*again) == canonical);
    CHECK(Make(spec)->Name() == canonical);
  }
  for (std::size_t k = 0; k < ObserverNames().size(); ++k) {
    auto o = ParseObserver(ObserverNames()[k]);
    REQUIRE(o.ok());
    CHECK(o->index() == k);
  }
  CHECK(std::get<PercentileOptions>(*ParseObserver("percentile:percentile=99.9")).percentile == 99.9);
  CHECK(std::get<MovingAverageOptions>(*ParseObserver("moving-average:constant=0.05")).averaging_constant == 0.05f);
  for (const char* bad : {"", "foo", "minmax:x=1", "minmax:", "percentile:percentile=101", "percentile:percentile=10",
                          "percentile:bins=abc", "percentile:bins=2048,", "percentile:bins", "mse:bins=3",
                          "entropy:bins=1000000", "moving-average:constant=0", "moving-average:constant=1.5",
                          "moving-average:constant=0.1x", "mse:percentile=99"}) {
    CAPTURE(bad);
    auto o = ParseObserver(bad);
    CHECK(!o.ok());
    if (!o.ok()) CHECK(o.status().code() == StatusCode::kInvalidArgument);
    CHECK(!MakeObserver(std::string(bad)).ok());
  }
  CHECK(!MakeObserver(ObserverOptions{MseOptions{4}}).ok());
  CHECK(*ParseQuantGrid("symmetric") == QuantGrid::kSymmetric);
  CHECK(std::string(QuantGridName(QuantGrid::kAffine)) == "affine");
  CHECK(*ParseQuantGranularity("per-channel") == QuantGranularity::kPerChannel);
  CHECK(std::string(QuantGranularityName(QuantGranularity::kPerTensor)) == "per-tensor");
  CHECK(!ParseQuantGrid("asym").ok());
  CHECK(!ParseQuantGranularity("per-row").ok());
}

TEST_CASE("observers: weight params per output channel (symmetric on the first axis)") {
  Tensor w(DType::kF32, Shape{3, 2, 2, 1});  // OHWI
  float* d = w.f32();
  const float values[12] = {0.5f, -1.27f, 0.25f, 0.0f, 0, 0, 0, 0, 3.0f, -6.35f, 1.0f, 2.0f};
  std::copy(values, values + 12, d);
  auto p = ChooseWeightParamsPerChannel(w);
  REQUIRE_MESSAGE(p.ok(), p.status().ToString());
  REQUIRE(p->size() == 3);
  CHECK(SameBits((*p)[0], kernels::ChooseSymmetricParams(1.27f, 127)));
  CHECK((*p)[1].scale == 1.0f);  // all-zero channel
  CHECK(SameBits((*p)[2], kernels::ChooseSymmetricParams(6.35f, 127)));
  CHECK((*p)[2].scale == doctest::Approx(0.05).epsilon(1e-6));
  for (const auto& q : *p) CHECK(q.zero_point == 0);
  // Same scales as the kernels' PTQ weight helper.
  auto k = kernels::QuantizeWeightsS8(3, 4, d, nullptr, 1.0f);
  REQUIRE(k.ok());
  for (std::size_t c = 0; c < 3; ++c) CHECK(k->scales[c] == (*p)[c].scale);
  // Dense [out][in].
  Tensor dense(DType::kF32, Shape{2, 3});
  dense.f32()[4] = -2.54f;
  auto pd = ChooseWeightParamsPerChannel(dense);
  REQUIRE(pd.ok());
  CHECK((*pd)[0].scale == 1.0f);
  CHECK((*pd)[1].scale == doctest::Approx(0.02).epsilon(1e-6));
  // Errors.
  d[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK(!ChooseWeightParamsPerChannel(w).ok());
  CHECK(!ChooseWeightParamsPerChannel(Tensor(DType::kI8, Shape{2, 2})).ok());
  CHECK(!ChooseWeightParamsPerChannel(Tensor()).ok());
}

// ---------------------------------------------------------------------------
// The calibration driver

Model LeNet1() {
  auto m = BuildZooModel("lenet1", ZooOptions{{28, 28, 1}, 10, 0});
  REQUIRE_MESSAGE(m.ok(), m.status().ToString());
  REQUIRE(InitializeParameters(*m, 42).ok());
  return std::move(m).value();
}

// n images in [0, 1]; from sample `bright_from` on, one pixel is 1000 so that
// reading past `samples` shows in the input's range.
Dataset Images(int n, int bright_from) {
  Dataset d;
  d.name = "synthetic";
  d.sample_shape = {28, 28, 1};
  d.num_classes = 10;
  Rng rng(9);
  d.f32.resize(static_cast<std::size_t>(n) * 784);
  for (auto& v : d.f32) v = rng.Uniform();
  for (int i = bright_from; i < n; ++i) d.f32[static_cast<std::size_t>(i) * 784 + 400] = 1000.0f;
  for (int i = 0; i < n; ++i) d.labels.push_back(i % 10);
  return d;
}

TEST_CASE("calibration: lenet1 on a synthetic data set") {
  Model model = LeNet1();
  const Dataset data = Images(150, 40);
  CalibrationOptions o;
  o.samples = 40;
  o.batch_size = 16;
  auto r = Calibrate(model, data, o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->samples == 40);
  CHECK(r->batches == 3);
  CHECK(r->observer == "minmax");
  REQUIRE(r->values.size() == model.nodes.size());
  for (std::size_t i = 0; i < r->values.size(); ++i) {
    const auto& v = r->values[i];
    CAPTURE(v.name);
    CHECK(v.name == model.nodes[i].name);
    CHECK(v.quantized);
    CheckValid(v.params, o.target);
    CHECK(v.observed.min <= v.observed.max);
    CHECK(v.count > 0);
  }
  // The input: exactly the min/max of the first 40 samples, none of the 1000s.
  const auto first = data.f32.begin();
  CHECK(r->values[0].observed.max == *std::max_element(first, first + 40 * 784));
  CHECK(r->values[0].observed.min == *std::min_element(first, first + 40 * 784));
  CHECK(r->values[0].observed.max < 1.0f);
  CHECK(r->values[0].count == 40 * 784);
  // The logits: exactly what the executor computes on those 40 samples.
  {
    Model copy = LeNet1();
    auto ex = Executor::Create(copy, ExecutorOptions{40, false, Backend::kReference, 1, 0});
    REQUIRE(ex.ok());
    (*ex)->Forward(data.f32.data(), 40);
    const float* logits = (*ex)->logits();
    CHECK(r->values.back().observed.min == *std::min_element(logits, logits + 400));
    CHECK(r->values.back().observed.max == *std::max_element(logits, logits + 400));
    CHECK(r->values.back().count == 400);
  }
  // One more sample reaches the bright pixel.
  o.samples = 41;
  auto r41 = Calibrate(model, data, o);
  REQUIRE(r41.ok());
  CHECK(r41->values[0].observed.max == 1000.0f);
  // Default: 100 samples.
  CalibrationOptions dflt;
  CHECK(dflt.samples == 100);
  auto r100 = Calibrate(model, data, dflt);
  REQUIRE(r100.ok());
  CHECK(r100->samples == 100);
  CHECK(r100->values[0].count == 100 * 784);
  // A smaller data set is used whole.
  const Dataset small = Images(7, 7);
  auto rs = Calibrate(model, small, dflt);
  REQUIRE(rs.ok());
  CHECK(rs->samples == 7);
  // Deterministic, and backends agree on the input's range.
  auto again = Calibrate(model, data, o);
  REQUIRE(again.ok());
  for (std::size_t i = 0; i < r41->values.size(); ++i) CHECK(SameBits(r41->values[i].params, again->values[i].params));
  o.backend = Backend::kFast;
  auto fast = Calibrate(model, data, o);
  REQUIRE(fast.ok());
  CHECK(SameBits(fast->values[0].params, r41->values[0].params));
}

TEST_CASE("calibration: every observer / errors / integer inputs") {
  Model model = LeNet1();
  const Dataset data = Images(24, 24);
  for (const auto& spec : AllSpecs()) {
    CAPTURE(spec);
    CalibrationOptions o;
    o.observer = *ParseObserver(spec);
    o.samples = 24;
    o.batch_size = 8;
    auto r = Calibrate(model, data, o);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    CHECK(r->observer == ObserverName(o.observer));
    for (const auto& v : r->values) CheckValid(v.params, o.target);
  }
  CalibrationOptions o;
  o.samples = 0;
  CHECK(!Calibrate(model, data, o).ok());
  o = CalibrationOptions{};
  o.batch_size = 0;
  CHECK(!Calibrate(model, data, o).ok());
  o = CalibrationOptions{};
  o.target.granularity = QuantGranularity::kPerChannel;
  CHECK(!Calibrate(model, data, o).ok());
  o = CalibrationOptions{};
  Dataset wrong = data;
  wrong.sample_shape = {14, 56, 1};
  CHECK(!Calibrate(model, wrong, o).ok());
  Dataset empty = data;
  empty.f32.clear();
  empty.labels.clear();
  CHECK(!Calibrate(model, empty, o).ok());
  // A NaN pixel makes activations non-finite: an error naming a value.
  Dataset bad = data;
  bad.f32[5] = std::numeric_limits<float>::quiet_NaN();
  auto r = Calibrate(model, bad, o);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("non-finite") != std::string::npos);

  // Text model: the token-id input is not observed.
  auto lstm = BuildZooModel("lstm", ZooOptions{{12}, 2, 50});
  REQUIRE(lstm.ok());
  REQUIRE(InitializeParameters(*lstm, 1).ok());
  Dataset text;
  text.name = "tokens";
  text.sample_type = SampleType::kInt32;
  text.sample_shape = {12};
  text.num_classes = 2;
  for (int i = 0; i < 5 * 12; ++i) text.i32.push_back(i % 50);
  for (int i = 0; i < 5; ++i) text.labels.push_back(i % 2);
  auto rt = Calibrate(*lstm, text, o);
  REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
  CHECK(rt->samples == 5);
  REQUIRE(rt->values.size() == lstm->nodes.size());
  CHECK(!rt->values[0].quantized);
  for (std::size_t i = 1; i < rt->values.size(); ++i) {
    CHECK(rt->values[i].quantized);
    CheckValid(rt->values[i].params, o.target);
  }
  CHECK(!Calibrate(model, text, o).ok());  // token ids into an image model
}

}  // namespace
}  // namespace qualm
