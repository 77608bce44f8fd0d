// Mean, sample sd, quantile rule and the percentile bootstrap (coverage,
// pairing, determinism).
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "qualm/engine/random.h"
#include "qualm/study/stats/seed_stats.h"

namespace qualm::study {
namespace {

TEST_CASE("stats seeds: mean, sample sd, the quantile rule") {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  CHECK(Mean(v) == 5.0);
  CHECK(*SampleStd(v) == doctest::Approx(std::sqrt(32.0 / 7.0)).epsilon(1e-15));
  CHECK_FALSE(SampleStd({3.0}).has_value());
  CHECK(std::isnan(Mean({})));

  std::vector<double> r(2000);
  std::iota(r.begin(), r.end(), 1.0);
  CHECK(LowerQuantile(r, (1.0 - 0.95) / 2.0) == 50.0);  // not 51: the slack absorbs 50.00000000000004
  CHECK(LowerQuantile(r, 1.0 - (1.0 - 0.95) / 2.0) == 1950.0);
  CHECK(LowerQuantile(r, 1e-9) == 1.0);
  CHECK(LowerQuantile(r, 1.0) == 2000.0);
  std::vector<double> t(20);
  std::iota(t.begin(), t.end(), 1.0);
  CHECK(LowerQuantile(t, 0.95) == 19.0);
  CHECK(LowerQuantile(t, 0.9501) == 20.0);
  CHECK(LowerQuantile(t, 0.5) == 10.0);
}

TEST_CASE("stats seeds: the 95 % bootstrap interval covers the true mean about 95 % of the time") {
  Rng data(2024);
  int covered = 0;
  const int repeats = 200;
  for (int rep = 0; rep < repeats; ++rep) {
    std::vector<double> v(40);
    for (double& x : v) x = 3.0 + 2.0 * data.Normal();
    BootstrapOptions o;
    o.seed = 1000 + static_cast<std::uint64_t>(rep);
    auto iv = BootstrapMean(v, o);
    REQUIRE(iv.ok());
    CHECK(iv->lo <= iv->mean);
    CHECK(iv->mean <= iv->hi);
    covered += iv->lo <= 3.0 && 3.0 <= iv->hi;
  }
  const double coverage = static_cast<double>(covered) / repeats;
  MESSAGE("bootstrap coverage " << coverage);
  CHECK(coverage >= 0.90);
  CHECK(coverage <= 0.99);
}

TEST_CASE("stats seeds: same seed same interval, another seed another") {
  const std::vector<double> v = {0.11, 0.13, 0.12, 0.19, 0.10, 0.14};
  BootstrapOptions o;
  o.seed = 5;
  auto a = BootstrapMean(v, o);
  auto b = BootstrapMean(v, o);
  o.seed = 6;
  auto c = BootstrapMean(v, o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->lo == b->lo);
  CHECK(a->hi == b->hi);
  CHECK((a->lo != c->lo || a->hi != c->hi));
  CHECK(a->n == 6);
  CHECK(*a->sd == *SampleStd(v));
  CHECK(a->fraction_above_zero == 1.0);
}

TEST_CASE("stats seeds: the paired bootstrap keeps the pairing") {
  // Five seeds: clean rates spread widely, shifted rates 0.01 above each.
  const std::vector<double> clean = {0.010, 0.030, 0.050, 0.020, 0.040};
  std::vector<double> shifted;
  for (std::size_t i = 0; i < clean.size(); ++i) {
    shifted.push_back(clean[i] + 0.010 + 0.001 * static_cast<double>(i % 2));
  }
  BootstrapOptions o;
  auto paired = PairedBootstrapDifference(shifted, clean, o);
  REQUIRE(paired.ok());
  CHECK(paired->mean == doctest::Approx(0.0104).epsilon(1e-12));
  CHECK(paired->lo > 0.0);  // the verdict: shifted is higher
  CHECK(paired->lo >= 0.010);
  CHECK(paired->hi <= 0.011);
  CHECK(paired->fraction_above_zero == 1.0);
  // Unpaired, the two means' intervals overlap: the pairing is what decides.
  auto ic = BootstrapMean(clean, o);
  auto is = BootstrapMean(shifted, o);
  CHECK(is->lo < ic->hi);

  auto same = PairedBootstrapDifference(clean, clean, o);
  CHECK(same->lo == 0.0);
  CHECK(same->hi == 0.0);
  CHECK(same->fraction_above_zero == 0.0);
  CHECK(same->fraction_below_zero == 0.0);
}

TEST_CASE("stats seeds: one seed gives a point interval, bad input is an error") {
  auto one = BootstrapMean({0.25}, BootstrapOptions{});
  REQUIRE(one.ok());
  CHECK(one->lo == 0.25);
  CHECK(one->hi == 0.25);
  CHECK_FALSE(one->sd.has_value());
  BootstrapOptions o;
  CHECK_FALSE(BootstrapMean({}, o).ok());
  CHECK_FALSE(BootstrapMean({1.0, NAN}, o).ok());
  CHECK_FALSE(PairedBootstrapDifference({1.0, 2.0}, {1.0}, o).ok());
  o.level = 1.0;
  CHECK_FALSE(BootstrapMean({1.0}, o).ok());
  o.level = 0.9;
  o.resamples = 0;
  CHECK_FALSE(BootstrapMean({1.0}, o).ok());
}

}  // namespace
}  // namespace qualm::study
