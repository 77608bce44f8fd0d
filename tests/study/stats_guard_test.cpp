// The margin guard: the quantile rule for its threshold and its outcome on
// another population.
#include <doctest/doctest.h>

#include <algorithm>

#include "qualm/engine/random.h"
#include "qualm/study/stats/guard.h"

namespace qualm::study {
namespace {

TEST_CASE("stats guard: threshold by the exact quantile rule") {
  const std::vector<double> m = {0.7, 0.1, 1.0, 0.4, 0.2, 0.9, 0.3, 0.6, 0.5, 0.8};  // 0.1 .. 1.0, shuffled
  CHECK(*MarginThresholdForRecall(m, 0.9) == 0.9);
  CHECK(*MarginThresholdForRecall(m, 0.95) == 1.0);
  CHECK(*MarginThresholdForRecall(m, 0.1) == 0.1);
  CHECK(*MarginThresholdForRecall(m, 0.11) == 0.2);
  CHECK(*MarginThresholdForRecall(m, 1.0) == 1.0);
  // Ties: half the recall is reached at 0.2, and three quarters are flagged.
  CHECK(*MarginThresholdForRecall({0.5, 0.2, 0.2, 0.2}, 0.5) == 0.2);

  CHECK_FALSE(MarginThresholdForRecall({}, 0.9).ok());
  CHECK_FALSE(MarginThresholdForRecall(m, 0.0).ok());
  CHECK_FALSE(MarginThresholdForRecall(m, 1.01).ok());
  CHECK_FALSE(MarginThresholdForRecall({0.1, NAN}, 0.5).ok());
}

TEST_CASE("stats guard: the threshold is the smallest margin reaching the recall") {
  Rng rng(8);
  for (std::size_t n : {1u, 2u, 7u, 20u, 333u}) {
    std::vector<double> m;
    for (std::size_t i = 0; i < n; ++i) m.push_back(static_cast<double>(rng.Below(50)) / 100.0);  // ties
    std::vector<std::uint8_t> all_disagree(n, 1);
    for (double recall : {0.5, 0.8, 0.9, 0.95, 0.99, 1.0}) {
      const double t = *MarginThresholdForRecall(m, recall);
      CAPTURE(n);
      CAPTURE(recall);
      const GuardOutcome g = *EvaluateGuard(m, all_disagree, t);
      CHECK(*g.recall >= recall - 1e-12);
      // Any smaller margin in the set falls short.
      double below = -1;
      for (double v : m) {
        if (v < t) below = std::max(below, v);
      }
      if (below >= 0) CHECK(*EvaluateGuard(m, all_disagree, below)->recall < recall);
    }
  }
}

TEST_CASE("stats guard: outcome on another population") {
  const std::vector<double> m = {0.05, 0.10, 0.30, 0.80, 0.95, 0.02, 0.50, 0.99};
  const std::vector<std::uint8_t> y = {1, 1, 1, 0, 0, 0, 1, 0};
  auto g = EvaluateGuard(m, y, 0.30);
  REQUIRE(g.ok());
  CHECK(g->inputs == 8);
  CHECK(g->flagged == 4);  // 0.05, 0.10, 0.30 (<=), 0.02
  CHECK(g->disagreements == 4);
  CHECK(g->flagged_disagreements == 3);
  CHECK(*g->recall == 0.75);
  CHECK(g->flagged_fraction == 0.5);
  auto none = EvaluateGuard({0.1, 0.2}, {0, 0}, 0.15);
  REQUIRE(none.ok());
  CHECK_FALSE(none->recall.has_value());
  CHECK(none->flagged == 1);
  CHECK_FALSE(EvaluateGuard({0.1}, {1, 0}, 0.5).ok());
  CHECK_FALSE(EvaluateGuard({}, {}, 0.5).ok());
  CHECK_FALSE(EvaluateGuard({0.1}, {2}, 0.5).ok());
  CHECK_FALSE(EvaluateGuard({0.1}, {1}, NAN).ok());
}

}  // namespace
}  // namespace qualm::study
