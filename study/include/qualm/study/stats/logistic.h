// qualm/study/stats/logistic.h: one-feature logistic regression with an L2
// penalty, k-fold cross-validation of the penalty, and the RQ3 protocol.
//
// What the regression adds over the raw metric: P(disagree | score) is a
// monotone function of the score (increasing when the slope is positive), so
// it ranks inputs exactly as the score does, and AUROC / AUPR / TNR of the
// fitted probabilities equal those of the raw score when slope > 0 (AUROC
// becomes 1 - AUROC when slope < 0; tests check both). What it adds is a
// calibrated probability and with it a threshold in probability units. We keep
// it because Hu et al. report their numbers through it. This also makes the
// reported ranking numbers independent of the last-bit rounding of exp/log in
// the fit: only the coefficients (and a near-tie in the CV choice) can move.
// (Exception: probabilities that round to the same double, e.g. saturated at
// 1, become ties the raw score did not have.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "qualm/status.h"
#include "qualm/study/stats/ranking.h"

namespace qualm::study {

struct LogisticModel {
  double intercept = 0.0;
  double slope = 0.0;
  double Logit(double x) const { return intercept + slope * x; }
  double Probability(double x) const;  // 1 / (1 + exp(-Logit(x))), without overflow
};

// Minimizes  mean_i logloss(y_i, sigma(a + b x_i)) + (lambda / 2) b^2 :
// the intercept a is not penalized, and the loss is a mean, so a lambda means
// the same whatever the sample size (a CV fold or the whole sample).
struct LogisticFitOptions {
  double lambda = 0.0;
  int max_iterations = 100;
  double tolerance = 1e-12;  // stop when a step moves no coefficient by more than tolerance * (1 + max |coef|)
};
struct LogisticFit {
  LogisticModel model;
  double objective = 0.0;  // the minimized value
  int iterations = 0;
  // False when max_iterations ran out, e.g. separable data with lambda = 0,
  // where the unpenalized optimum is at infinity.
  bool converged = false;
};
// Newton's method in double (2x2 Hessian solved with Eigen), with step halving
// so the objective never increases. A constant x leaves the slope unidentified:
// it is fixed at 0 and only the intercept is fitted. Errors: sizes differ, fewer
// than 2 points, labels not 0/1 or all one class, non-finite x, lambda < 0.
Result<LogisticFit> FitLogistic(const std::vector<double>& x, const std::vector<std::uint8_t>& y,
                                const LogisticFitOptions& options);

// Mean log-loss of a model on (x, y), summed in index order.
double MeanLogLoss(const LogisticModel& m, const std::vector<double>& x, const std::vector<std::uint8_t>& y);

struct CrossValidationOptions {
  std::vector<double> lambdas = {0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0};
  std::size_t folds = 5;
  std::uint64_t seed = 1;  // fold assignment
};
struct CrossValidationResult {
  double lambda = 0.0;                    // chosen
  std::size_t folds = 0;                  // folds used (fewer when a class is small)
  std::vector<double> held_out_log_loss;  // per grid lambda: total held-out loss / n
  LogisticFit fit;                        // refit on all the data with the chosen lambda
};
// Stratified folds: each class is shuffled with the seed and dealt round-robin,
// so every fold holds both classes; folds = min(folds, smaller class size), and
// at least 2 are required. The lowest held-out log-loss wins; an exact tie goes
// to the larger lambda.
Result<CrossValidationResult> CrossValidateLogistic(const std::vector<double>& x, const std::vector<std::uint8_t>& y,
                                                    const CrossValidationOptions& options);

// The RQ3 protocol (Hu et al.): a balanced sample (every input of the smaller
// class and as many drawn without replacement from the larger), split per class
// into fit and holdout parts (holdout = round(holdout_fraction * class count),
// at least 1 and leaving at least 1), the score standardized with the fit
// part's mean and sd (so one lambda grid suits every metric), the penalty
// chosen by CV on the fit part, then the fitted probabilities scored.
struct DisagreementRegressionOptions {
  double holdout_fraction = 0.1;
  std::uint64_t seed = 1;  // balanced draw and split
  CrossValidationOptions cv;
};
struct DisagreementRegression {
  // In the raw score's units. Its probabilities are calibrated to the balanced
  // sample's 50 % base rate; for a population with disagreement rate r, add
  // ln(r / (1 - r)) to the intercept (balanced sampling moves only the intercept).
  LogisticModel model;
  double lambda = 0.0;  // chosen, for the standardized score
  std::size_t folds = 0;
  std::size_t fit_size = 0;
  std::size_t holdout_size = 0;
  RankingSummary holdout;                    // on the balanced holdout part
  std::optional<RankingSummary> population;  // on the evaluation population, when given
};
// Paper protocol: fit and evaluation population are the same (test) records;
// read `holdout`. Needs at least 3 inputs of each class (one held out, two for
// 2-fold CV); with that few the numbers mean little, and the summaries' class
// counts say so.
Result<DisagreementRegression> RegressOnBalancedSample(const std::vector<double>& scores,
                                                       const std::vector<std::uint8_t>& labels,
                                                       const DisagreementRegressionOptions& options);
// Our protocol: fit on the validation records, score the whole test population
// (read `population`; `holdout` is filled too).
Result<DisagreementRegression> RegressAndEvaluate(const std::vector<double>& fit_scores,
                                                  const std::vector<std::uint8_t>& fit_labels,
                                                  const std::vector<double>& eval_scores,
                                                  const std::vector<std::uint8_t>& eval_labels,
                                                  const DisagreementRegressionOptions& options);

}  // namespace qualm::study
