// qualm/study/stats/uncertainty.h: uncertainty metrics of one softmax row (Hu et
// al. RQ3), as scores where HIGHER MEANS MORE LIKELY TO DISAGREE.
//
// With p1 >= p2 the two largest probabilities of the row (p2 == p1 on a tie):
//   margin            score = 1 - (p1 - p2)       (the raw margin is small near a
//                                                   decision boundary, so it is
//                                                   flipped; 1 - m keeps it in [0, 1])
//   entropy           score = -sum_i p_i ln p_i   (natural log, 0 ln 0 = 0)
//   gini              score = 1 - sum_i p_i^2
//   least-confidence  score = 1 - p1
// Computed in double; the sums run over the row sorted ascending, so a class
// permutation of a row gives the same bits. Entropy calls std::log, whose last
// bit may differ between C libraries; a ranking measure can move only if two
// rows' entropies lie within an ulp. Rows are taken as
// given (a float softmax sums to 1 only up to rounding); they must hold finite,
// non-negative values, which the Result-returning functions check.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "qualm/status.h"

namespace qualm::study {

enum class UncertaintyMetric { kMargin, kEntropy, kGini, kLeastConfidence };
inline constexpr std::array<UncertaintyMetric, 4> kUncertaintyMetrics = {
    UncertaintyMetric::kMargin, UncertaintyMetric::kEntropy, UncertaintyMetric::kGini,
    UncertaintyMetric::kLeastConfidence};

const char* UncertaintyMetricName(UncertaintyMetric m);  // "margin", "entropy", "gini", "least-confidence"
Result<UncertaintyMetric> ParseUncertaintyMetric(const std::string& name);

// The two largest probabilities (p1 >= p2); for the "top-1 vs top-2" plots and
// the guard, whose threshold is on the raw margin p1 - p2.
struct TopTwo {
  double p1 = 0.0;
  double p2 = 0.0;
  double margin() const { return p1 - p2; }
};
// `classes` >= 2 (checked only in debug builds; the Result functions below check it).
TopTwo TopTwoOf(const float* row, std::size_t classes);
TopTwo TopTwoOf(const double* row, std::size_t classes);

double UncertaintyScore(const float* row, std::size_t classes, UncertaintyMetric m);
double UncertaintyScore(const double* row, std::size_t classes, UncertaintyMetric m);

// One score per row of a row-major n x classes softmax. Errors: classes < 2, a
// size that is not a multiple of classes, a negative or non-finite entry (the
// message names the row and class).
Result<std::vector<double>> UncertaintyScores(const std::vector<float>& softmax, std::size_t classes,
                                              UncertaintyMetric m);
Result<std::vector<double>> UncertaintyScores(const std::vector<double>& softmax, std::size_t classes,
                                              UncertaintyMetric m);
// Raw margins p1 - p2 per row (same checks).
Result<std::vector<double>> Margins(const std::vector<float>& softmax, std::size_t classes);
Result<std::vector<double>> Margins(const std::vector<double>& softmax, std::size_t classes);

}  // namespace qualm::study
