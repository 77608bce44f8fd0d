// One-feature L2 logistic regression and its cross-validation; see
// qualm/study/stats/logistic.h.
#include "qualm/study/stats/logistic.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sampling.h"

namespace qualm::study {
namespace {

// log(1 + e^z) - y z, without overflow.
double LogLoss(double z, std::uint8_t y) {
  const double softplus = std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z)));
  return softplus - (y ? z : 0.0);
}

double Objective(const LogisticModel& m, const std::vector<double>& x, const std::vector<std::uint8_t>& y,
                 double lambda) {
  return MeanLogLoss(m, x, y) + 0.5 * lambda * m.slope * m.slope;
}

Status CheckData(const std::vector<double>& x, const std::vector<std::uint8_t>& y, const char* what) {
  char buf[200];
  if (x.size() != y.size()) {
    std::snprintf(buf, sizeof buf, "%s: %zu values but %zu labels", what, x.size(), y.size());
    return InvalidArgument(buf);
  }
  std::size_t pos = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || y[i] > 1) {
      std::snprintf(buf, sizeof buf, "%s: point %zu is (%g, %u); values must be finite and labels 0 or 1", what, i,
                    x[i], static_cast<unsigned>(y[i]));
      return InvalidArgument(buf);
    }
    pos += y[i];
  }
  if (pos == 0 || pos == x.size()) {
    std::snprintf(buf, sizeof buf, "%s: %zu points, %zu of them positive; both classes are needed", what, x.size(),
                  pos);
    return InvalidArgument(buf);
  }
  return Status::Ok();
}

}  // namespace

double LogisticModel::Probability(double x) const {
  const double z = Logit(x);
  if (z >= 0.0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

double MeanLogLoss(const LogisticModel& m, const std::vector<double>& x, const std::vector<std::uint8_t>& y) {
  double sum = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) sum += LogLoss(m.Logit(x[i]), y[i]);
  return sum / static_cast<double>(x.size());
}

Result<LogisticFit> FitLogistic(const std::vector<double>& x, const std::vector<std::uint8_t>& y,
                                const LogisticFitOptions& options) {
  QUALM_RETURN_IF_ERROR(CheckData(x, y, "logistic fit"));
  if (!(options.lambda >= 0.0) || !std::isfinite(options.lambda)) {
    return InvalidArgument("logistic fit: lambda must be finite and >= 0");
  }
  const double n = static_cast<double>(x.size());
  double pos = 0.0;
  for (std::uint8_t v : y) pos += v;
  LogisticFit fit;
  // Start from the intercept-only optimum, logit of the positive rate; with a
  // constant x that is also the answer.
  fit.model.intercept = std::log(pos / (n - pos));
  const bool constant_x = std::all_of(x.begin(), x.end(), [&](double v) { return v == x[0]; });
  double obj = Objective(fit.model, x, y, options.lambda);
  if (constant_x) {
    fit.objective = obj;
    fit.converged = true;
    return fit;
  }
  for (fit.iterations = 0; fit.iterations < options.max_iterations;) {
    ++fit.iterations;
    // Gradient and Hessian of the mean loss, summed in index order (plain
    // loops, not Eigen reductions, whose order depends on the SIMD width).
    double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double p = fit.model.Probability(x[i]);
      const double r = p - static_cast<double>(y[i]);
      const double w = p * (1.0 - p);
      g0 += r;
      g1 += r * x[i];
      h00 += w;
      h01 += w * x[i];
      h11 += w * x[i] * x[i];
    }
    Eigen::Matrix2d h;
    h << h00 / n, h01 / n, h01 / n, h11 / n + options.lambda;
    const Eigen::Vector2d g(g0 / n, g1 / n + options.lambda * fit.model.slope);
    const Eigen::Vector2d step = h.ldlt().solve(g);
    if (!step.allFinite()) break;  // Hessian numerically singular (saturated, separable data)
    // Halve the step until the objective does not increase.
    double t = 1.0;
    LogisticModel next;
    double next_obj = obj;
    int halvings = 0;
    for (; halvings < 60; ++halvings, t *= 0.5) {
      next.intercept = fit.model.intercept - t * step(0);
      next.slope = fit.model.slope - t * step(1);
      next_obj = Objective(next, x, y, options.lambda);
      if (next_obj <= obj) break;
    }
    if (halvings == 60) {  // no decrease possible at double precision: at the optimum
      fit.converged = step.cwiseAbs().maxCoeff() <= 1e-6 * (1.0 + std::fabs(fit.model.slope));
      break;
    }
    const double moved = t * step.cwiseAbs().maxCoeff();
    fit.model = next;
    obj = next_obj;
    if (moved <= options.tolerance * (1.0 + std::max(std::fabs(next.intercept), std::fabs(next.slope)))) {
      fit.converged = true;
      break;
    }
  }
  fit.objective = obj;
  return fit;
}

Result<CrossValidationResult> CrossValidateLogistic(const std::vector<double>& x, const std::vector<std::uint8_t>& y,
                                                    const CrossValidationOptions& options) {
  QUALM_RETURN_IF_ERROR(CheckData(x, y, "cross-validation"));
  if (options.lambdas.empty()) return InvalidArgument("cross-validation: the lambda grid is empty");
  for (double l : options.lambdas) {
    if (!(l >= 0.0) || !std::isfinite(l)) return InvalidArgument("cross-validation: lambdas must be finite and >= 0");
  }
  std::vector<std::size_t> pos, neg;
  for (std::size_t i = 0; i < y.size(); ++i) (y[i] ? pos : neg).push_back(i);
  CrossValidationResult cv;
  cv.folds = std::min({options.folds, pos.size(), neg.size()});
  if (cv.folds < 2) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "cross-validation: %zu folds with %zu positives and %zu negatives; need 2 or more",
                  options.folds, pos.size(), neg.size());
    return InvalidArgument(buf);
  }
  Rng rng(options.seed);
  internal::Shuffle(pos, rng);
  internal::Shuffle(neg, rng);
  // Deal positives then negatives round-robin, continuing the count so fold
  // sizes differ by at most one.
  std::vector<std::size_t> fold_of(x.size());
  std::size_t k = 0;
  for (std::size_t i : pos) fold_of[i] = k++ % cv.folds;
  for (std::size_t i : neg) fold_of[i] = k++ % cv.folds;

  for (double lambda : options.lambdas) {
    double total = 0.0;
    for (std::size_t f = 0; f < cv.folds; ++f) {
      std::vector<double> tx, vx;
      std::vector<std::uint8_t> ty, vy;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (fold_of[i] == f) {
          vx.push_back(x[i]);
          vy.push_back(y[i]);
        } else {
          tx.push_back(x[i]);
          ty.push_back(y[i]);
        }
      }
      LogisticFitOptions fo;
      fo.lambda = lambda;
      QUALM_ASSIGN_OR_RETURN(LogisticFit fit, FitLogistic(tx, ty, fo));
      total += MeanLogLoss(fit.model, vx, vy) * static_cast<double>(vx.size());
    }
    cv.held_out_log_loss.push_back(total / static_cast<double>(x.size()));
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < options.lambdas.size(); ++i) {
    const double li = cv.held_out_log_loss[i], lb = cv.held_out_log_loss[best];
    if (li < lb || (li == lb && options.lambdas[i] > options.lambdas[best])) best = i;
  }
  cv.lambda = options.lambdas[best];
  LogisticFitOptions fo;
  fo.lambda = cv.lambda;
  QUALM_ASSIGN_OR_RETURN(cv.fit, FitLogistic(x, y, fo));
  return cv;
}

}  // namespace qualm::study
