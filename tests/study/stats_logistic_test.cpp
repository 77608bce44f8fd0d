// The L2 logistic regression, its cross-validation, and the RQ3 protocol.
#include <doctest/doctest.h>

#include <cmath>

#include "qualm/engine/random.h"
#include "qualm/study/stats/logistic.h"

namespace qualm::study {
namespace {

struct Data {
  std::vector<double> x;
  std::vector<std::uint8_t> y;
};

// x ~ N(0, 1), y ~ Bernoulli(sigma(a + b x)).
Data DrawLogistic(std::size_t n, double a, double b, std::uint64_t seed) {
  Rng rng(seed);
  Data d;
  const LogisticModel truth{a, b};
  for (std::size_t i = 0; i < n; ++i) {
    const double x = rng.Normal();
    d.x.push_back(x);
    d.y.push_back(rng.Uniform() < truth.Probability(x) ? 1 : 0);
  }
  return d;
}

LogisticFit Fit(const Data& d, double lambda) {
  LogisticFitOptions o;
  o.lambda = lambda;
  auto f = FitLogistic(d.x, d.y, o);
  REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  return *f;
}

TEST_CASE("stats logistic: recovers the coefficients of a logistic model (n = 20,000)") {
  const Data d = DrawLogistic(20000, -0.5, 1.5, 11);
  const LogisticFit f = Fit(d, 0.0);
  CHECK(f.converged);
  // Newton converges quadratically: a handful of steps to 1e-12. A wrong
  // Hessian still reaches the optimum (step halving) but only linearly.
  CHECK(f.iterations <= 10);
  // Standard errors are about 0.02; 0.06 is three of them.
  CHECK(std::fabs(f.model.intercept + 0.5) < 0.06);
  CHECK(std::fabs(f.model.slope - 1.5) < 0.06);
}

TEST_CASE("stats logistic: Newton matches plain gradient descent on the penalized objective") {
  const Data d = DrawLogistic(400, 0.3, -2.0, 5);
  for (double lambda : {0.0, 0.05, 1.0}) {
    const LogisticFit f = Fit(d, lambda);
    // Gradient descent with a step below 1 / L (L <= 0.25 * max(1, mean x^2) + lambda).
    double a = 0, b = 0;
    const double n = static_cast<double>(d.x.size());
    for (int it = 0; it < 20000; ++it) {
      double ga = 0, gb = 0;
      for (std::size_t i = 0; i < d.x.size(); ++i) {
        const double r = LogisticModel{a, b}.Probability(d.x[i]) - d.y[i];
        ga += r;
        gb += r * d.x[i];
      }
      a -= 1.0 * ga / n;
      b -= 1.0 * (gb / n + lambda * b);
    }
    CAPTURE(lambda);
    CHECK(f.converged);
    CHECK(f.iterations <= 10);
    CHECK(std::fabs(f.model.intercept - a) < 1e-7);
    CHECK(std::fabs(f.model.slope - b) < 1e-7);
    CHECK(f.objective <= MeanLogLoss(LogisticModel{a, b}, d.x, d.y) + 0.5 * lambda * b * b + 1e-15);
  }
}

TEST_CASE("stats logistic: the L2 path shrinks the slope monotonically") {
  const Data d = DrawLogistic(2000, 0.2, 2.0, 9);
  double previous = INFINITY;
  for (double lambda : {0.0, 1e-3, 1e-2, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0}) {
    const double slope = Fit(d, lambda).model.slope;
    CAPTURE(lambda);
    CHECK(slope > 0.0);
    CHECK(slope < previous);
    previous = slope;
  }
  CHECK(previous < 0.01);
}

TEST_CASE("stats logistic: constant x, separable data, bad input") {
  Data c;
  for (int i = 0; i < 10; ++i) {
    c.x.push_back(2.0);
    c.y.push_back(i < 3);
  }
  const LogisticFit fc = Fit(c, 0.0);
  CHECK(fc.model.slope == 0.0);
  CHECK(fc.model.Probability(2.0) == doctest::Approx(0.3).epsilon(1e-12));

  Data sep;  // perfectly separable: the unpenalized optimum is at infinity
  for (int i = 0; i < 20; ++i) {
    sep.x.push_back(i);
    sep.y.push_back(i >= 10);
  }
  const LogisticFit fs = Fit(sep, 0.0);
  CHECK(std::isfinite(fs.model.slope));
  CHECK(fs.model.slope > 1.0);
  CHECK(Fit(sep, 0.1).converged);

  LogisticFitOptions o;
  CHECK_FALSE(FitLogistic({1, 2}, {1}, o).ok());
  CHECK_FALSE(FitLogistic({1, 2}, {1, 1}, o).ok());  // one class
  CHECK_FALSE(FitLogistic({1, 2}, {1, 3}, o).ok());
  CHECK_FALSE(FitLogistic({1, NAN}, {1, 0}, o).ok());
  o.lambda = -1;
  CHECK_FALSE(FitLogistic({1, 2}, {1, 0}, o).ok());
}

TEST_CASE("stats logistic: CV picks a larger lambda on pure noise than on a strong signal") {
  CrossValidationOptions o;
  o.lambdas = {0.0, 1e-3, 1e-2, 0.1, 1.0, 10.0};
  int larger = 0;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    o.seed = seed;
    const Data n = DrawLogistic(600, 0.0, 0.0, 100 + seed);
    const Data s = DrawLogistic(600, 0.0, 3.0, 200 + seed);
    auto noise = CrossValidateLogistic(n.x, n.y, o);
    auto signal = CrossValidateLogistic(s.x, s.y, o);
    REQUIRE(noise.ok());
    REQUIRE(signal.ok());
    CHECK(noise->folds == 5);
    CHECK(noise->held_out_log_loss.size() == o.lambdas.size());
    CHECK(signal->lambda <= 0.01);  // a slope of 3 survives only a small penalty
    larger += noise->lambda > signal->lambda;
  }
  CHECK(larger == 5);  // 40 of 40 seeds in a wider run
}

TEST_CASE("stats logistic: CV needs two of each class per fold, folds shrink to the smaller class") {
  Data d = DrawLogistic(200, -3.0, 1.0, 4);
  std::size_t pos = 0;
  for (auto v : d.y) pos += v;
  REQUIRE(pos >= 3);
  CrossValidationOptions o;
  o.folds = 1000;
  auto cv = CrossValidateLogistic(d.x, d.y, o);
  REQUIRE(cv.ok());
  CHECK(cv->folds == pos);
  o.lambdas.clear();
  CHECK_FALSE(CrossValidateLogistic(d.x, d.y, o).ok());
}

// A population of n inputs with about 5 % disagreements, more likely at high score.
Data Population(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  Data d;
  const LogisticModel truth{-4.0, 2.5};
  for (std::size_t i = 0; i < n; ++i) {
    const double s = rng.Uniform();
    d.x.push_back(s);
    d.y.push_back(rng.Uniform() < truth.Probability(s) ? 1 : 0);
  }
  return d;
}

TEST_CASE("stats logistic: RQ3 protocol, balanced split, fitted probabilities rank like the raw score") {
  const Data fit = Population(8000, 1);
  const Data eval = Population(10000, 2);
  DisagreementRegressionOptions o;
  auto r = RegressAndEvaluate(fit.x, fit.y, eval.x, eval.y, o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  std::size_t m = 0;
  for (auto v : fit.y) m += v;
  const std::size_t h = static_cast<std::size_t>(std::round(0.1 * static_cast<double>(m)));
  CHECK(r->holdout.positives == h);
  CHECK(r->holdout.negatives == h);
  CHECK(r->fit_size == 2 * (m - h));
  // Balanced (case-control) sampling moves only the intercept of a logistic
  // model, so the fitted slope, in raw score units, estimates the true 2.5
  // (standard error about 0.25, plus a little shrinkage).
  CHECK(r->model.slope > 1.5);
  CHECK(r->model.slope < 3.5);
  const double rate = static_cast<double>(m) / static_cast<double>(fit.y.size());
  CHECK(std::fabs(r->model.intercept + std::log(rate / (1 - rate)) - (-4.0)) < 0.6);
  // Monotone model: the same ranking as the raw score, to rounding.
  auto raw = SummarizeRanking(eval.x, eval.y);
  REQUIRE(r->population.has_value());
  CHECK(*r->population->auroc == doctest::Approx(*raw->auroc).epsilon(1e-12));
  CHECK(*r->population->aupr == doctest::Approx(*raw->aupr).epsilon(1e-12));
  CHECK(*r->population->tnr_at_95tpr == doctest::Approx(*raw->tnr_at_95tpr).epsilon(1e-12));
  CHECK(*raw->auroc > 0.6);
  // The balanced holdout measures the same thing on fewer inputs.
  CHECK(std::fabs(*r->holdout.auroc - *raw->auroc) < 0.12);

  // A flipped score gets a negative slope; the model still ranks the right way round.
  std::vector<double> neg_fit = fit.x, neg_eval = eval.x;
  for (double& v : neg_fit) v = -v;
  for (double& v : neg_eval) v = -v;
  auto flipped = RegressAndEvaluate(neg_fit, fit.y, neg_eval, eval.y, o);
  REQUIRE(flipped.ok());
  CHECK(flipped->model.slope < 0.0);
  const double raw_flipped = *SummarizeRanking(neg_eval, eval.y)->auroc;
  CHECK(*flipped->population->auroc == doctest::Approx(1.0 - raw_flipped).epsilon(1e-12));
}

TEST_CASE("stats logistic: RQ3 protocol is deterministic in its seed and rejects too few disagreements") {
  const Data d = Population(5000, 3);
  DisagreementRegressionOptions o;
  o.seed = 42;
  auto a = RegressOnBalancedSample(d.x, d.y, o);
  auto b = RegressOnBalancedSample(d.x, d.y, o);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->model.intercept == b->model.intercept);
  CHECK(a->model.slope == b->model.slope);
  CHECK(*a->holdout.auroc == *b->holdout.auroc);
  CHECK_FALSE(a->population.has_value());
  o.seed = 43;
  auto c = RegressOnBalancedSample(d.x, d.y, o);
  REQUIRE(c.ok());
  CHECK(c->model.slope != a->model.slope);

  std::vector<std::uint8_t> two(d.y.size(), 0);
  two[17] = two[40] = 1;
  auto few = RegressOnBalancedSample(d.x, two, o);
  REQUIRE_FALSE(few.ok());
  CHECK(few.status().message().find("2 disagreements") != std::string::npos);
  two[99] = 1;  // three: one held out, two folds of one each
  auto three = RegressOnBalancedSample(d.x, two, o);
  REQUIRE_MESSAGE(three.ok(), three.status().ToString());
  CHECK(three->folds == 2);
  CHECK(three->holdout.positives == 1);
  CHECK(three->fit_size == 4);
}

}  // namespace
}  // namespace qualm::study
