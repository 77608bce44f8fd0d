// qualm/study/stats/ranking.h: how well a score ranks positives (label 1, a
// disagreement) above negatives (label 0).
//
// Inputs are validated once into a RankedScores (scores sorted descending with
// their labels), from which every measure is one O(n) pass. A threshold t flags
// the inputs with score >= t; tied scores are always flagged together, so the
// thresholds are the distinct score values. Measures that need both classes
// return std::nullopt ("undefined") when one class is missing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "qualm/status.h"

namespace qualm::study {

class RankedScores {
 public:
  // Errors: sizes differ, a label other than 0 or 1, a non-finite score.
  static Result<RankedScores> Make(const std::vector<double>& scores, const std::vector<std::uint8_t>& labels);

  std::size_t size() const { return scores_.size(); }
  std::size_t positives() const { return positives_; }
  std::size_t negatives() const { return scores_.size() - positives_; }
  bool both_classes() const { return positives() > 0 && negatives() > 0; }
  // Sorted by score descending (ties in input order).
  const std::vector<double>& scores() const { return scores_; }
  const std::vector<std::uint8_t>& labels() const { return labels_; }

 private:
  std::vector<double> scores_;
  std::vector<std::uint8_t> labels_;
  std::size_t positives_ = 0;
};

// P(score of a random positive > score of a random negative), ties counting
// 1/2 (Mann-Whitney U / (P N)). Counted exactly in integers, O(n) after the sort.
std::optional<double> Auroc(const RankedScores& r);

// Average precision as scikit-learn defines it: sum_k (R_k - R_{k-1}) P_k over
// the distinct thresholds in descending order, R_0 = 0, no interpolation.
std::optional<double> AveragePrecision(const RankedScores& r);

// The largest TNR over thresholds whose TPR >= min_tpr (in (0, 1]). TPR is
// compared as the double quotient TP / P, so 19 / 20 counts as 0.95.
std::optional<double> TnrAtTpr(const RankedScores& r, double min_tpr = 0.95);

struct RocPoint {
  double threshold = 0.0;  // flags score >= threshold; +inf for the (0, 0) start
  double fpr = 0.0;
  double tpr = 0.0;
};
// One point per distinct threshold, from (0, 0) to (1, 1), with points that lie
// exactly on the segment between their neighbours dropped. If more than
// max_points (>= 2) remain, keeps the points at evenly spaced arc length
// (|dFPR| + |dTPR|) along the curve, always including both ends, so the
// staircase keeps its shape. Empty when one class is missing.
std::vector<RocPoint> RocCurve(const RankedScores& r, std::size_t max_points = 200);

// The RQ3 columns for one (score, label) population.
struct RankingSummary {
  std::size_t positives = 0;
  std::size_t negatives = 0;
  std::optional<double> auroc;
  std::optional<double> aupr;
  std::optional<double> tnr_at_95tpr;
};
RankingSummary Summarize(const RankedScores& r);
Result<RankingSummary> SummarizeRanking(const std::vector<double>& scores, const std::vector<std::uint8_t>& labels);

}  // namespace qualm::study
