// Uncertainty metrics of softmax rows; see qualm/study/stats/uncertainty.h.
#include "qualm/study/stats/uncertainty.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace qualm::study {
namespace {

template <typename T>
TopTwo TopTwoImpl(const T* row, std::size_t classes) {
  QUALM_DCHECK(classes >= 2);
  TopTwo t;
  t.p1 = static_cast<double>(row[0]);
  t.p2 = static_cast<double>(row[1]);
  if (t.p2 > t.p1) std::swap(t.p1, t.p2);
  for (std::size_t c = 2; c < classes; ++c) {
    const double p = static_cast<double>(row[c]);
    if (p > t.p1) {
      t.p2 = t.p1;
      t.p1 = p;
    } else if (p > t.p2) {
      t.p2 = p;
    }
  }
  return t;
}

// Sums run over the row sorted ascending: two rows holding the same
// probabilities in another class order get bit-identical scores (and so stay
// tied in the rankings), and small terms are added first.
template <typename T>
std::vector<double> Ascending(const T* row, std::size_t classes) {
  std::vector<double> v(row, row + classes);
  std::sort(v.begin(), v.end());
  return v;
}

template <typename T>
double ScoreImpl(const T* row, std::size_t classes, UncertaintyMetric m) {
  switch (m) {
    case UncertaintyMetric::kMargin: return 1.0 - TopTwoImpl(row, classes).margin();
    case UncertaintyMetric::kLeastConfidence: return 1.0 - TopTwoImpl(row, classes).p1;
    case UncertaintyMetric::kEntropy: {
      double h = 0.0;
      for (double p : Ascending(row, classes)) {
        if (p > 0.0) h -= p * std::log(p);
      }
      return h;
    }
    case UncertaintyMetric::kGini: {
      double s = 0.0;
      for (double p : Ascending(row, classes)) s += p * p;
      return 1.0 - s;
    }
  }
  return 0.0;
}

template <typename T>
Status CheckSoftmax(const std::vector<T>& softmax, std::size_t classes) {
  char buf[160];
  if (classes < 2) {
    std::snprintf(buf, sizeof buf, "softmax: %zu classes; the uncertainty metrics need at least 2", classes);
    return InvalidArgument(buf);
  }
  if (softmax.size() % classes != 0) {
    std::snprintf(buf, sizeof buf, "softmax: %zu values are not a whole number of rows of %zu classes",
                  softmax.size(), classes);
    return InvalidArgument(buf);
  }
  for (std::size_t i = 0; i < softmax.size(); ++i) {
    const double p = static_cast<double>(softmax[i]);
    if (!std::isfinite(p) || p < 0.0) {
      std::snprintf(buf, sizeof buf, "softmax: row %zu class %zu holds %g; expected a finite probability >= 0",
                    i / classes, i % classes, p);
      return InvalidArgument(buf);
    }
  }
  return Status::Ok();
}

template <typename T, typename F>
Result<std::vector<double>> PerRow(const std::vector<T>& softmax, std::size_t classes, F f) {
  QUALM_RETURN_IF_ERROR(CheckSoftmax(softmax, classes));
  std::vector<double> out(softmax.size() / classes);
  for (std::size_t r = 0; r < out.size(); ++r) out[r] = f(softmax.data() + r * classes);
  return out;
}

}  // namespace

const char* UncertaintyMetricName(UncertaintyMetric m) {
  switch (m) {
    case UncertaintyMetric::kMargin: return "margin";
    case UncertaintyMetric::kEntropy: return "entropy";
    case UncertaintyMetric::kGini: return "gini";
    case UncertaintyMetric::kLeastConfidence: return "least-confidence";
  }
  return "unknown";
}

Result<UncertaintyMetric> ParseUncertaintyMetric(const std::string& name) {
  for (UncertaintyMetric m : kUncertaintyMetrics) {
    if (name == UncertaintyMetricName(m)) return m;
  }
  std::string msg = "unknown uncertainty metric '";
  msg += name;
  msg += "' (expected margin, entropy, gini or least-confidence)";
  return InvalidArgument(msg);
}

TopTwo TopTwoOf(const float* row, std::size_t classes) { return TopTwoImpl(row, classes); }
TopTwo TopTwoOf(const double* row, std::size_t classes) { return TopTwoImpl(row, classes); }

double UncertaintyScore(const float* row, std::size_t classes, UncertaintyMetric m) {
  return ScoreImpl(row, classes, m);
}
double UncertaintyScore(const double* row, std::size_t classes, UncertaintyMetric m) {
  return ScoreImpl(row, classes, m);
}

Result<std::vector<double>> UncertaintyScores(const std::vector<float>& softmax, std::size_t classes,
                                              UncertaintyMetric m) {
  return PerRow(softmax, classes, [&](const float* row) { return ScoreImpl(row, classes, m); });
}
Result<std::vector<double>> UncertaintyScores(const std::vector<double>& softmax, std::size_t classes,
                                              UncertaintyMetric m) {
  return PerRow(softmax, classes, [&](const double* row) { return ScoreImpl(row, classes, m); });
}

Result<std::vector<double>> Margins(const std::vector<float>& softmax, std::size_t classes) {
  return PerRow(softmax, classes, [&](const float* row) { return TopTwoImpl(row, classes).margin(); });
}
Result<std::vector<double>> Margins(const std::vector<double>& softmax, std::size_t classes) {
  return PerRow(softmax, classes, [&](const double* row) { return TopTwoImpl(row, classes).margin(); });
}

}  // namespace qualm::study
