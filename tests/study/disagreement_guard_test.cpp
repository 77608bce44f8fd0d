// The disagreement guard: fitting on hand-computed margins, storing in and
// reading from model metadata, flags, and the recall / flagged fraction.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "qualm/study/disagreement_guard.h"

namespace qualm::study {
namespace {

EvalResult Rows(const std::vector<std::vector<float>>& rows) {
  EvalResult r;
  r.num_classes = static_cast<int>(rows[0].size());
  for (const auto& row : rows) {
    r.probabilities.insert(r.probabilities.end(), row.begin(), row.end());
    r.predictions.push_back(Argmax(row.data(), r.num_classes));
  }
  return r;
}

// Six inputs; the models disagree on 1, 3 and 4.
//   quantized margins: 0.85, 0.10, 0.20, 0.30, 0.50, 0.92
//   float margins:     0.70, 0.30, 0.05, 0.50, 0.50, 0.85
const EvalResult kQuantized = Rows({{0.9f, 0.05f, 0.05f},
                                    {0.45f, 0.35f, 0.2f},
                                    {0.5f, 0.3f, 0.2f},
                                    {0.6f, 0.3f, 0.1f},
                                    {0.7f, 0.2f, 0.1f},
                                    {0.95f, 0.03f, 0.02f}});
const EvalResult kFloat = Rows({{0.8f, 0.1f, 0.1f},
                                {0.3f, 0.6f, 0.1f},
                                {0.4f, 0.35f, 0.25f},
                                {0.2f, 0.7f, 0.1f},
                                {0.1f, 0.2f, 0.7f},
                                {0.9f, 0.05f, 0.05f}});

TEST_CASE("study: the guard is fitted on the quantized model's margins of the disagreements") {
  auto g = FitGuard(kFloat, kQuantized, 0.6, "toy");
  REQUIRE_MESSAGE(g.ok(), g.status().ToString());
  // Two of the three disagreement margins {0.1, 0.3, 0.5} reach 0.6: t = 0.3.
  CHECK(g->threshold == doctest::Approx(0.3).epsilon(1e-6));
  CHECK(g->float_threshold == doctest::Approx(0.5).epsilon(1e-6));
  CHECK(g->validation.inputs == 6);
  CHECK(g->validation.disagreements == 3);
  CHECK(g->validation.flagged == 3);  // 0.10, 0.20 (an agreement), 0.30
  CHECK(*g->validation.recall == doctest::Approx(2.0 / 3.0));

  auto q = EvaluateGuard(kFloat, kQuantized, g->threshold, GuardMargin::kQuantized);
  REQUIRE(q.ok());
  CHECK(q->flagged_disagreements == 2);
  auto f = EvaluateGuard(kFloat, kQuantized, g->float_threshold, GuardMargin::kFloat);
  REQUIRE(f.ok());
  CHECK(f->flagged == 4);  // float margins 0.30, 0.05, 0.50, 0.50
  CHECK(*f->recall == doctest::Approx(1.0));

  auto all = FitGuard(kFloat, kQuantized, 1.0, "toy");
  REQUIRE(all.ok());
  CHECK(all->threshold == doctest::Approx(0.5).epsilon(1e-6));
}

TEST_CASE("study: the guard round-trips through metadata and flags the inputs at or under it") {
  auto g = FitGuard(kFloat, kQuantized, 0.6, "toy");
  REQUIRE(g.ok());
  Model m;
  auto none = StoredGuardThreshold(m);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  StoreGuard(*g, &m);
  auto t = StoredGuardThreshold(m);
  REQUIRE(t.ok());
  REQUIRE(t->has_value());
  CHECK(**t == g->threshold);  // exact: stored with 17 significant digits
  CHECK(m.metadata[kGuardMargin] == "quantized");
  CHECK(m.metadata[kGuardDisagreements] == "3");
  auto flags = GuardFlags(kQuantized.probabilities, 3, **t);
  REQUIRE(flags.ok());
  CHECK(*flags == std::vector<std::uint8_t>{0, 1, 1, 1, 0, 0});
  m.metadata[kGuardThreshold] = "0.3x";
  CHECK_FALSE(StoredGuardThreshold(m).ok());
  m.metadata[kGuardThreshold] = "nan";
  CHECK_FALSE(StoredGuardThreshold(m).ok());
}

TEST_CASE("study: the guard refuses a set without disagreements and mismatched evaluations") {
  auto same = FitGuard(kQuantized, kQuantized, 0.9, "toy");
  REQUIRE_FALSE(same.ok());
  CHECK(same.status().message().find("agree on all 6") != std::string::npos);
  EvalResult no_probs = kFloat;
  no_probs.probabilities.clear();
  CHECK_FALSE(FitGuard(no_probs, kQuantized, 0.9, "toy").ok());
  CHECK_FALSE(FitGuard(kFloat, kQuantized, 0.0, "toy").ok());
  CHECK_FALSE(EvaluateGuard(kFloat, kQuantized, std::nan(""), GuardMargin::kQuantized).ok());
}

}  // namespace
}  // namespace qualm::study
