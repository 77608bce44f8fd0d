// Ranking measures of binary scores; see qualm/study/stats/ranking.h.
#include "qualm/study/stats/ranking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace qualm::study {
namespace {

// One tie group of the descending order, and the counts above it.
struct Group {
  std::size_t pos = 0, neg = 0;              // in the group
  std::size_t pos_above = 0, neg_above = 0;  // strictly higher scores
  double score = 0.0;
};

// Calls f(group) for each tie group, highest scores first.
template <typename F>
void ForEachGroup(const RankedScores& r, F f) {
  const auto& s = r.scores();
  const auto& y = r.labels();
  Group g;
  std::size_t i = 0;
  while (i < s.size()) {
    g.pos_above += g.pos;
    g.neg_above += g.neg;
    g.pos = g.neg = 0;
    g.score = s[i];
    for (; i < s.size() && s[i] == g.score; ++i) (y[i] ? g.pos : g.neg) += 1;
    f(g);
  }
}

}  // namespace

Result<RankedScores> RankedScores::Make(const std::vector<double>& scores, const std::vector<std::uint8_t>& labels) {
  char buf[160];
  if (scores.size() != labels.size()) {
    std::snprintf(buf, sizeof buf, "ranking: %zu scores but %zu labels", scores.size(), labels.size());
    return InvalidArgument(buf);
  }
  RankedScores r;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      std::snprintf(buf, sizeof buf, "ranking: score %zu is %g; scores must be finite", i, scores[i]);
      return InvalidArgument(buf);
    }
    if (labels[i] > 1) {
      std::snprintf(buf, sizeof buf, "ranking: label %zu is %u; labels must be 0 or 1", i,
                    static_cast<unsigned>(labels[i]));
      return InvalidArgument(buf);
    }
    r.positives_ += labels[i];
  }
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  r.scores_.resize(order.size());
  r.labels_.resize(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    r.scores_[k] = scores[order[k]];
    r.labels_[k] = labels[order[k]];
  }
  return r;
}

std::optional<double> Auroc(const RankedScores& r) {
  if (!r.both_classes()) return std::nullopt;
  // Twice the Mann-Whitney U, in integers: a negative below a positive counts 2, a tie 1.
  std::uint64_t twice_u = 0;
  ForEachGroup(r, [&](const Group& g) {
    twice_u += 2 * static_cast<std::uint64_t>(g.neg) * g.pos_above + static_cast<std::uint64_t>(g.pos) * g.neg;
  });
  return static_cast<double>(twice_u) / (2.0 * static_cast<double>(r.positives()) * static_cast<double>(r.negatives()));
}

std::optional<double> AveragePrecision(const RankedScores& r) {
  if (!r.both_classes()) return std::nullopt;
  const double p = static_cast<double>(r.positives());
  double ap = 0.0;
  ForEachGroup(r, [&](const Group& g) {
    if (g.pos == 0) return;  // recall does not move
    const double tp = static_cast<double>(g.pos_above + g.pos);
    const double flagged = tp + static_cast<double>(g.neg_above + g.neg);
    ap += (static_cast<double>(g.pos) / p) * (tp / flagged);
  });
  return ap;
}

std::optional<double> TnrAtTpr(const RankedScores& r, double min_tpr) {
  if (!r.both_classes() || !(min_tpr > 0.0 && min_tpr <= 1.0)) return std::nullopt;
  const double p = static_cast<double>(r.positives());
  const double n = static_cast<double>(r.negatives());
  std::optional<double> tnr;
  // TPR and FPR only grow as the threshold falls, so the first threshold that
  // reaches min_tpr has the smallest FPR among those that do.
  ForEachGroup(r, [&](const Group& g) {
    if (tnr) return;
    if (static_cast<double>(g.pos_above + g.pos) / p >= min_tpr) {
      tnr = (n - static_cast<double>(g.neg_above + g.neg)) / n;
    }
  });
  return tnr;
}

std::vector<RocPoint> RocCurve(const RankedScores& r, std::size_t max_points) {
  if (!r.both_classes()) return {};
  struct Counts {
    double threshold;
    std::int64_t fp, tp;
  };
  std::vector<Counts> raw = {{std::numeric_limits<double>::infinity(), 0, 0}};
  ForEachGroup(r, [&](const Group& g) {
    raw.push_back({g.score, static_cast<std::int64_t>(g.neg_above + g.neg),
                   static_cast<std::int64_t>(g.pos_above + g.pos)});
  });
  // Drop points on the straight segment between the last kept point and the
  // next one (exact test on the integer counts).
  std::vector<Counts> kept;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (kept.size() >= 1 && i + 1 < raw.size()) {
      const Counts& a = kept.back();
      const Counts& b = raw[i];
      const Counts& c = raw[i + 1];
      if ((b.fp - a.fp) * (c.tp - a.tp) == (c.fp - a.fp) * (b.tp - a.tp)) continue;
    }
    kept.push_back(raw[i]);
  }
  const double p = static_cast<double>(r.positives());
  const double n = static_cast<double>(r.negatives());
  std::vector<RocPoint> pts(kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    pts[i].threshold = kept[i].threshold;
    pts[i].fpr = static_cast<double>(kept[i].fp) / n;
    pts[i].tpr = static_cast<double>(kept[i].tp) / p;
  }
  max_points = std::max<std::size_t>(max_points, 2);
  if (pts.size() <= max_points) return pts;
  // Thin by arc length: target j of m sits at j / (m - 1) of the curve's length;
  // each takes the first point at or past it.
  std::vector<double> arc(pts.size(), 0.0);
  for (std::size_t i = 1; i < pts.size(); ++i) {
    arc[i] = arc[i - 1] + std::fabs(pts[i].fpr - pts[i - 1].fpr) + std::fabs(pts[i].tpr - pts[i - 1].tpr);
  }
  const double length = arc.back();
  std::vector<RocPoint> thin = {pts.front()};
  std::size_t i = 0;
  for (std::size_t j = 1; j + 1 < max_points; ++j) {
    const double target = length * static_cast<double>(j) / static_cast<double>(max_points - 1);
    while (i + 1 < pts.size() && arc[i] < target) ++i;
    if (i + 1 < pts.size() && pts[i].threshold != thin.back().threshold) thin.push_back(pts[i]);
  }
  thin.push_back(pts.back());
  return thin;
}

RankingSummary Summarize(const RankedScores& r) {
  RankingSummary s;
  s.positives = r.positives();
  s.negatives = r.negatives();
  s.auroc = Auroc(r);
  s.aupr = AveragePrecision(r);
  s.tnr_at_95tpr = TnrAtTpr(r, 0.95);
  return s;
}

Result<RankingSummary> SummarizeRanking(const std::vector<double>& scores, const std::vector<std::uint8_t>& labels) {
  QUALM_ASSIGN_OR_RETURN(RankedScores r, RankedScores::Make(scores, labels));
  return Summarize(r);
}

}  // namespace qualm::study
