// AUROC, average precision, TNR at a TPR and ROC points, against brute force
// and hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <set>

#include "qualm/engine/random.h"
#include "qualm/study/stats/ranking.h"

namespace qualm::study {
namespace {

RankedScores Rank(const std::vector<double>& s, const std::vector<std::uint8_t>& y) {
  auto r = RankedScores::Make(s, y);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

double BruteAuroc(const std::vector<double>& s, const std::vector<std::uint8_t>& y) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (y[i] != 1 || y[j] != 0) continue;
      pairs += 1;
      wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  }
  return wins / pairs;
}

// Average precision straight from its definition, one full scan per threshold.
double BruteAp(const std::vector<double>& s, const std::vector<std::uint8_t>& y) {
  std::set<double, std::greater<>> thresholds(s.begin(), s.end());
  double pos = 0;
  for (auto v : y) pos += v;
  double ap = 0, prev_recall = 0;
  for (double t : thresholds) {
    double tp = 0, flagged = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] >= t) {
        flagged += 1;
        tp += y[i];
      }
    }
    ap += (tp / pos - prev_recall) * (tp / flagged);
    prev_recall = tp / pos;
  }
  return ap;
}

// Random scores on a coarse grid (many ties) for npos positives and nneg negatives.
void MakeCase(std::size_t npos, std::size_t nneg, std::uint64_t levels, Rng& rng, std::vector<double>& s,
              std::vector<std::uint8_t>& y) {
  s.clear();
  y.clear();
  for (std::size_t i = 0; i < npos + nneg; ++i) {
    const bool p = i < npos;
    s.push_back(static_cast<double>(rng.Below(levels)) + (p ? 0.5 * static_cast<double>(rng.Below(3)) : 0.0));
    y.push_back(p ? 1 : 0);
  }
  for (std::size_t i = s.size(); i > 1; --i) {  // interleave the classes
    const std::size_t j = static_cast<std::size_t>(rng.Below(i));
    std::swap(s[i - 1], s[j]);
    std::swap(y[i - 1], y[j]);
  }
}

TEST_CASE("stats ranking: AUROC and AP equal brute force on random data with ties") {
  Rng rng(7);
  const std::vector<std::pair<std::size_t, std::size_t>> sizes = {
      {1, 1}, {1, 2}, {2, 1}, {2, 2}, {1, 9}, {9, 1}, {3, 7}, {16, 17}, {50, 50}, {100, 37}, {5, 300}};
  for (const auto& size : sizes) {
    const std::size_t np = size.first, nn = size.second;  // not a structured binding: clang 14 cannot CAPTURE one
    for (std::uint64_t levels : {1u, 2u, 5u, 1000u}) {
      std::vector<double> s;
      std::vector<std::uint8_t> y;
      MakeCase(np, nn, levels, rng, s, y);
      const RankedScores r = Rank(s, y);
      CAPTURE(np);
      CAPTURE(nn);
      CAPTURE(levels);
      CHECK(*Auroc(r) == doctest::Approx(BruteAuroc(s, y)).epsilon(1e-14));
      CHECK(*AveragePrecision(r) == doctest::Approx(BruteAp(s, y)).epsilon(1e-12));
    }
  }
}

TEST_CASE("stats ranking: perfect, reversed and constant scores, one class is undefined") {
  const std::vector<std::uint8_t> y = {1, 1, 1, 0, 0};
  const RankedScores perfect = Rank({5, 4, 3, 2, 1}, y);
  CHECK(*Auroc(perfect) == 1.0);
  CHECK(*AveragePrecision(perfect) == 1.0);
  CHECK(*TnrAtTpr(perfect) == 1.0);
  const RankedScores reversed = Rank({1, 2, 3, 4, 5}, y);
  CHECK(*Auroc(reversed) == 0.0);
  CHECK(*TnrAtTpr(reversed) == 0.0);
  const RankedScores constant = Rank({3, 3, 3, 3, 3}, y);
  CHECK(*Auroc(constant) == 0.5);
  CHECK(*AveragePrecision(constant) == doctest::Approx(0.6).epsilon(1e-15));  // the positive rate

  const RankedScores only_pos = Rank({1, 2, 3}, {1, 1, 1});
  CHECK_FALSE(Auroc(only_pos).has_value());
  CHECK_FALSE(AveragePrecision(only_pos).has_value());
  CHECK_FALSE(TnrAtTpr(only_pos).has_value());
  CHECK(RocCurve(only_pos).empty());
  CHECK_FALSE(Auroc(Rank({}, {})).has_value());
}

TEST_CASE("stats ranking: average precision on hand-computed examples") {
  // scikit-learn's documented example: 0.8333...
  CHECK(*AveragePrecision(Rank({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1})) ==
        doctest::Approx(0.5 + 0.5 * 2.0 / 3.0).epsilon(1e-15));
  // Ties grouped: {0.9: one pos, one neg} -> R 1/3, P 1/2; {0.5: two pos} -> R 1, P 3/4.
  CHECK(*AveragePrecision(Rank({0.9, 0.9, 0.5, 0.5, 0.1}, {1, 0, 1, 1, 0})) ==
        doctest::Approx(1.0 / 6.0 + 0.5).epsilon(1e-15));
}

TEST_CASE("stats ranking: TNR at 95 % TPR on a constructed case") {
  // 20 positives: 18 at 10, one at 5, one at 0. 100 negatives: 10 at 8, 20 at 6, 40 at 1, 30 at -1.
  // TPR 0.95 needs threshold 5 (19 / 20, exactly 0.95): 30 negatives flagged, TNR 0.70.
  std::vector<double> s;
  std::vector<std::uint8_t> y;
  auto add = [&](int count, double score, std::uint8_t label) {
    for (int i = 0; i < count; ++i) {
      s.push_back(score);
      y.push_back(label);
    }
  };
  add(18, 10, 1);
  add(10, 8, 0);
  add(1, 5, 1);
  add(20, 6, 0);
  add(1, 0, 1);
  add(40, 1, 0);
  add(30, -1, 0);
  const RankedScores r = Rank(s, y);
  CHECK(*TnrAtTpr(r, 0.95) == doctest::Approx(0.70).epsilon(1e-15));
  CHECK(*TnrAtTpr(r, 0.90) == 1.0);  // 18 / 20 at threshold 10, no negative above
  CHECK(*TnrAtTpr(r, 0.96) == doctest::Approx(0.30).epsilon(1e-15));
  CHECK(*TnrAtTpr(r, 1.0) == doctest::Approx(0.30).epsilon(1e-15));
  CHECK_FALSE(TnrAtTpr(r, 0.0).has_value());
  CHECK(*Summarize(r).tnr_at_95tpr == *TnrAtTpr(r, 0.95));
}

TEST_CASE("stats ranking: ROC points, collinear points dropped, thinning keeps ends and area") {
  // Sorted: 4(1) 3(0) 2(1) 1(0) -> (0,0) (0,.5) (.5,.5) (.5,1) (1,1).
  auto pts = RocCurve(Rank({1, 2, 3, 4}, {0, 1, 0, 1}));
  REQUIRE(pts.size() == 5);
  CHECK(std::isinf(pts[0].threshold));
  CHECK(pts[1].threshold == 4);
  CHECK(pts[2].fpr == 0.5);
  CHECK(pts[2].tpr == 0.5);
  CHECK(pts[4].fpr == 1.0);
  CHECK(pts[4].tpr == 1.0);
  // A perfect ranking of distinct scores is three corners.
  CHECK(RocCurve(Rank({6, 5, 4, 3, 2, 1}, {1, 1, 1, 0, 0, 0})).size() == 3);

  Rng rng(3);
  std::vector<double> s;
  std::vector<std::uint8_t> y;
  for (int i = 0; i < 5000; ++i) {
    const bool p = rng.Below(4) == 0;
    s.push_back(static_cast<double>(rng.Normal()) + (p ? 1.0 : 0.0));
    y.push_back(p);
  }
  const RankedScores r = Rank(s, y);
  const auto full = RocCurve(r, 1u << 30);
  const auto thin = RocCurve(r, 50);
  CHECK(full.size() > 1000);
  REQUIRE(thin.size() <= 50);
  CHECK(thin.size() >= 40);
  CHECK(thin.front().tpr == 0.0);
  CHECK(thin.back().fpr == 1.0);
  double area = 0;
  for (std::size_t i = 1; i < thin.size(); ++i) {
    CHECK(thin[i].fpr >= thin[i - 1].fpr);
    CHECK(thin[i].tpr >= thin[i - 1].tpr);
    area += (thin[i].fpr - thin[i - 1].fpr) * (thin[i].tpr + thin[i - 1].tpr) / 2;
  }
  CHECK(area == doctest::Approx(*Auroc(r)).epsilon(0.01));
}

TEST_CASE("stats ranking: bad input is an error") {
  CHECK_FALSE(RankedScores::Make({1, 2}, {1}).ok());
  CHECK_FALSE(RankedScores::Make({1, 2}, {1, 2}).ok());
  CHECK_FALSE(RankedScores::Make({1, std::numeric_limits<double>::quiet_NaN()}, {1, 0}).ok());
  auto s = SummarizeRanking({0.2, 0.9, 0.4}, {0, 1, 0});
  REQUIRE(s.ok());
  CHECK(s->positives == 1);
  CHECK(s->negatives == 2);
  CHECK(*s->auroc == 1.0);
}

}  // namespace
}  // namespace qualm::study
