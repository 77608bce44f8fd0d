// qualm/study/stats/guard.h: a deployment guard that flags inputs whose float
// margin p1 - p2 is at most a threshold, chosen on validation disagreements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "qualm/status.h"

namespace qualm::study {

// The smallest t among the given margins such that the fraction of margins
// <= t is at least `recall` (in (0, 1]): with m_1 <= ... <= m_n sorted,
// t = m_k for the smallest k with k / n >= recall (double quotient; ties make
// the reached fraction possibly larger). Errors: no margins, non-finite ones,
// recall outside (0, 1].
Result<double> MarginThresholdForRecall(const std::vector<double>& disagreement_margins, double recall);

struct GuardOutcome {
  std::size_t inputs = 0;
  std::size_t flagged = 0;                // margin <= threshold
  std::size_t disagreements = 0;          // label 1
  std::size_t flagged_disagreements = 0;
  double flagged_fraction = 0.0;          // flagged / inputs (the cost: inputs sent to a fallback)
  std::optional<double> recall;           // flagged_disagreements / disagreements; nullopt when none
};
// Applies the threshold to another population (labels 1 = disagreement).
// Errors: sizes differ, empty, labels not 0/1, non-finite margins or threshold.
Result<GuardOutcome> EvaluateGuard(const std::vector<double>& margins, const std::vector<std::uint8_t>& labels,
                                   double threshold);

}  // namespace qualm::study
