// Uncertainty metrics on hand-made softmax rows, where each value is known.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "qualm/study/stats/uncertainty.h"

namespace qualm::study {
namespace {

double Score(const std::vector<double>& row, UncertaintyMetric m) {
  return UncertaintyScore(row.data(), row.size(), m);
}

TEST_CASE("stats uncertainty: uniform, one-hot and a two-way tie") {
  const std::vector<double> uniform(10, 0.1);
  CHECK(Score(uniform, UncertaintyMetric::kMargin) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(Score(uniform, UncertaintyMetric::kEntropy) == doctest::Approx(std::log(10.0)).epsilon(1e-14));
  CHECK(Score(uniform, UncertaintyMetric::kGini) == doctest::Approx(0.9).epsilon(1e-14));
  CHECK(Score(uniform, UncertaintyMetric::kLeastConfidence) == doctest::Approx(0.9).epsilon(1e-15));

  std::vector<double> one_hot(10, 0.0);
  one_hot[7] = 1.0;
  for (UncertaintyMetric m : kUncertaintyMetrics) CHECK(Score(one_hot, m) == 0.0);  // 0 ln 0 = 0, no NaN

  std::vector<double> tie(10, 0.0);
  tie[2] = tie[8] = 0.5;
  CHECK(Score(tie, UncertaintyMetric::kMargin) == 1.0);
  CHECK(Score(tie, UncertaintyMetric::kEntropy) == doctest::Approx(std::log(2.0)).epsilon(1e-15));
  CHECK(Score(tie, UncertaintyMetric::kGini) == 0.5);
  CHECK(Score(tie, UncertaintyMetric::kLeastConfidence) == 0.5);
}

TEST_CASE("stats uncertainty: a general row, top two found anywhere, higher score = less confident") {
  const std::vector<double> row = {0.1, 0.2, 0.7};  // the top two are the last two
  const TopTwo t = TopTwoOf(row.data(), row.size());
  CHECK(t.p1 == 0.7);
  CHECK(t.p2 == 0.2);
  CHECK(Score(row, UncertaintyMetric::kMargin) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(Score(row, UncertaintyMetric::kEntropy) ==
        doctest::Approx(-(0.1 * std::log(0.1) + 0.2 * std::log(0.2) + 0.7 * std::log(0.7))).epsilon(1e-15));
  CHECK(Score(row, UncertaintyMetric::kGini) == doctest::Approx(0.46).epsilon(1e-15));
  CHECK(Score(row, UncertaintyMetric::kLeastConfidence) == doctest::Approx(0.3).epsilon(1e-15));
  const std::vector<double> sure = {0.02, 0.03, 0.95};
  for (UncertaintyMetric m : kUncertaintyMetrics) CHECK(Score(sure, m) < Score(row, m));
  const std::vector<double> dup = {0.4, 0.1, 0.4, 0.1};  // p2 equals p1
  CHECK(TopTwoOf(dup.data(), dup.size()).margin() == 0.0);
}

TEST_CASE("stats uncertainty: a class permutation of a row gives bit-identical scores") {
  std::vector<float> row = {0.013f, 0.31f, 0.0007f, 0.2f, 0.07f, 0.11f, 0.0203f, 0.09f, 0.18f, 0.0060f};
  std::vector<float> perm = row;
  std::reverse(perm.begin(), perm.end());
  std::swap(perm[1], perm[6]);
  for (UncertaintyMetric m : kUncertaintyMetrics) {
    CAPTURE(UncertaintyMetricName(m));
    CHECK(UncertaintyScore(row.data(), row.size(), m) == UncertaintyScore(perm.data(), perm.size(), m));
  }
}

TEST_CASE("stats uncertainty: per-row scores, float and double rows agree, margins") {
  const std::vector<float> f = {0.25f, 0.75f, 0.5f, 0.5f, 1.0f, 0.0f};
  const std::vector<double> d(f.begin(), f.end());
  for (UncertaintyMetric m : kUncertaintyMetrics) {
    auto sf = UncertaintyScores(f, 2, m);
    auto sd = UncertaintyScores(d, 2, m);
    REQUIRE(sf.ok());
    REQUIRE(sd.ok());
    CHECK(*sf == *sd);
    REQUIRE(sf->size() == 3);
  }
  auto margins = Margins(f, 2);
  REQUIRE(margins.ok());
  CHECK(*margins == std::vector<double>{0.5, 0.0, 1.0});
  CHECK(*UncertaintyScores(f, 2, UncertaintyMetric::kMargin) == std::vector<double>{0.5, 1.0, 0.0});
}

TEST_CASE("stats uncertainty: names round-trip, bad input is an error that says why") {
  for (UncertaintyMetric m : kUncertaintyMetrics) {
    auto p = ParseUncertaintyMetric(UncertaintyMetricName(m));
    REQUIRE(p.ok());
    CHECK(*p == m);
  }
  auto bad = ParseUncertaintyMetric("confidence");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("least-confidence") != std::string::npos);

  CHECK_FALSE(UncertaintyScores(std::vector<float>{1.0f}, 1, UncertaintyMetric::kGini).ok());
  CHECK_FALSE(UncertaintyScores(std::vector<float>{0.5f, 0.5f, 1.0f}, 2, UncertaintyMetric::kGini).ok());
  auto neg = UncertaintyScores(std::vector<float>{0.5f, 0.5f, 1.5f, -0.5f}, 2, UncertaintyMetric::kEntropy);
  REQUIRE_FALSE(neg.ok());
  CHECK(neg.status().message().find("row 1 class 1") != std::string::npos);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(Margins(std::vector<float>{nan, 0.5f}, 2).ok());
}

}  // namespace
}  // namespace qualm::study
