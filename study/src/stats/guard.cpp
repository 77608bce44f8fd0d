// The margin guard; see qualm/study/stats/guard.h.
#include "qualm/study/stats/guard.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "qualm/study/stats/seed_stats.h"

namespace qualm::study {

Result<double> MarginThresholdForRecall(const std::vector<double>& disagreement_margins, double recall) {
  char buf[160];
  if (disagreement_margins.empty()) return InvalidArgument("guard threshold: no disagreement margins");
  if (!(recall > 0.0 && recall <= 1.0)) {
    std::snprintf(buf, sizeof buf, "guard threshold: recall %g is outside (0, 1]", recall);
    return InvalidArgument(buf);
  }
  for (std::size_t i = 0; i < disagreement_margins.size(); ++i) {
    if (!std::isfinite(disagreement_margins[i])) {
      std::snprintf(buf, sizeof buf, "guard threshold: margin %zu is %g", i, disagreement_margins[i]);
      return InvalidArgument(buf);
    }
  }
  std::vector<double> sorted = disagreement_margins;
  std::sort(sorted.begin(), sorted.end());
  return LowerQuantile(sorted, recall);
}

Result<GuardOutcome> EvaluateGuard(const std::vector<double>& margins, const std::vector<std::uint8_t>& labels,
                                   double threshold) {
  char buf[160];
  if (margins.size() != labels.size()) {
    std::snprintf(buf, sizeof buf, "guard: %zu margins but %zu labels", margins.size(), labels.size());
    return InvalidArgument(buf);
  }
  if (margins.empty()) return InvalidArgument("guard: no inputs");
  if (!std::isfinite(threshold)) return InvalidArgument("guard: the threshold is not finite");
  GuardOutcome g;
  g.inputs = margins.size();
  for (std::size_t i = 0; i < margins.size(); ++i) {
    if (!std::isfinite(margins[i]) || labels[i] > 1) {
      std::snprintf(buf, sizeof buf, "guard: input %zu is (%g, %u); margins must be finite and labels 0 or 1", i,
                    margins[i], static_cast<unsigned>(labels[i]));
      return InvalidArgument(buf);
    }
    const bool flagged = margins[i] <= threshold;
    g.flagged += flagged;
    g.disagreements += labels[i];
    g.flagged_disagreements += flagged && labels[i];
  }
  g.flagged_fraction = static_cast<double>(g.flagged) / static_cast<double>(g.inputs);
  if (g.disagreements > 0) {
    g.recall = static_cast<double>(g.flagged_disagreements) / static_cast<double>(g.disagreements);
  }
  return g;
}

}  // namespace qualm::study
