// The RQ3 protocol: balanced sample, 90/10 split, CV-fitted logistic model,
// ranking measures of its probabilities; see qualm/study/stats/logistic.h.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "qualm/study/stats/logistic.h"
#include "sampling.h"

namespace qualm::study {
namespace {

struct Sample {
  std::vector<double> x;
  std::vector<std::uint8_t> y;
};

Sample Gather(const std::vector<double>& x, const std::vector<std::uint8_t>& y, std::vector<std::size_t> idx) {
  std::sort(idx.begin(), idx.end());  // data order, so sums run in a fixed order
  Sample s;
  for (std::size_t i : idx) {
    s.x.push_back(x[i]);
    s.y.push_back(y[i]);
  }
  return s;
}

Result<RankingSummary> ScoreModel(const LogisticModel& m, const std::vector<double>& x,
                                  const std::vector<std::uint8_t>& y) {
  std::vector<double> prob(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) prob[i] = m.Probability(x[i]);
  return SummarizeRanking(prob, y);
}

Result<DisagreementRegression> Regress(const std::vector<double>& scores, const std::vector<std::uint8_t>& labels,
                                       const std::vector<double>* eval_scores,
                                       const std::vector<std::uint8_t>* eval_labels,
                                       const DisagreementRegressionOptions& options) {
  // Validates sizes, finiteness and labels of both populations up front.
  QUALM_RETURN_IF_ERROR(RankedScores::Make(scores, labels).status().WithContext("regression fit population"));
  if (eval_scores) {
    QUALM_RETURN_IF_ERROR(
        RankedScores::Make(*eval_scores, *eval_labels).status().WithContext("regression evaluation population"));
  }
  if (!(options.holdout_fraction > 0.0 && options.holdout_fraction < 1.0)) {
    return InvalidArgument("regression: holdout_fraction must be in (0, 1)");
  }
  std::vector<std::size_t> pos, neg;
  for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] ? pos : neg).push_back(i);
  const std::size_t m = std::min(pos.size(), neg.size());
  if (m < 3) {  // one of each to hold out, two of each for 2-fold CV
    char buf[160];
    std::snprintf(buf, sizeof buf, "regression: %zu disagreements and %zu agreements; need at least 3 of each",
                  pos.size(), neg.size());
    return InvalidArgument(buf);
  }
  Rng rng(options.seed);
  internal::Shuffle(pos, rng);
  internal::Shuffle(neg, rng);
  pos.resize(m);  // the larger class keeps a random m, the smaller class all
  neg.resize(m);
  const double h_real = std::round(options.holdout_fraction * static_cast<double>(m));
  const std::size_t h = std::clamp<std::size_t>(static_cast<std::size_t>(h_real), 1, m - 1);
  std::vector<std::size_t> fit_idx, hold_idx;
  for (const auto* cls : {&pos, &neg}) {
    hold_idx.insert(hold_idx.end(), cls->begin(), cls->begin() + static_cast<std::ptrdiff_t>(h));
    fit_idx.insert(fit_idx.end(), cls->begin() + static_cast<std::ptrdiff_t>(h), cls->end());
  }
  const Sample fit = Gather(scores, labels, fit_idx);
  const Sample hold = Gather(scores, labels, hold_idx);

  // Standardize with the fit part's mean and (population) sd.
  double mean = 0.0;
  for (double v : fit.x) mean += v;
  mean /= static_cast<double>(fit.x.size());
  double var = 0.0;
  for (double v : fit.x) var += (v - mean) * (v - mean);
  double sd = std::sqrt(var / static_cast<double>(fit.x.size()));
  if (!(sd > 0.0)) sd = 1.0;  // constant score: z = 0, the fit keeps slope 0
  std::vector<double> z(fit.x.size());
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = (fit.x[i] - mean) / sd;

  QUALM_ASSIGN_OR_RETURN(CrossValidationResult cv, CrossValidateLogistic(z, fit.y, options.cv));
  DisagreementRegression out;
  out.lambda = cv.lambda;
  out.folds = cv.folds;
  out.fit_size = fit.x.size();
  out.holdout_size = hold.x.size();
  out.model.slope = cv.fit.model.slope / sd;
  out.model.intercept = cv.fit.model.intercept - cv.fit.model.slope * mean / sd;
  QUALM_ASSIGN_OR_RETURN(out.holdout, ScoreModel(out.model, hold.x, hold.y));
  if (eval_scores) {
    QUALM_ASSIGN_OR_RETURN(RankingSummary pop, ScoreModel(out.model, *eval_scores, *eval_labels));
    out.population = pop;
  }
  return out;
}

}  // namespace

Result<DisagreementRegression> RegressOnBalancedSample(const std::vector<double>& scores,
                                                       const std::vector<std::uint8_t>& labels,
                                                       const DisagreementRegressionOptions& options) {
  return Regress(scores, labels, nullptr, nullptr, options);
}

Result<DisagreementRegression> RegressAndEvaluate(const std::vector<double>& fit_scores,
                                                  const std::vector<std::uint8_t>& fit_labels,
                                                  const std::vector<double>& eval_scores,
                                                  const std::vector<std::uint8_t>& eval_labels,
                                                  const DisagreementRegressionOptions& options) {
  return Regress(fit_scores, fit_labels, &eval_scores, &eval_labels, options);
}

}  // namespace qualm::study
