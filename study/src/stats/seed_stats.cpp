// Seed statistics and bootstrap intervals; see qualm/study/stats/seed_stats.h.
#include "qualm/study/stats/seed_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "qualm/engine/random.h"

namespace qualm::study {

double Mean(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

std::optional<double> SampleStd(const std::vector<double>& v) {
  if (v.size() < 2) return std::nullopt;
  const double m = Mean(v);
  double ss = 0.0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

double LowerQuantile(const std::vector<double>& sorted, double q) {
  QUALM_DCHECK(!sorted.empty());
  const std::size_t n = sorted.size();
  const double nd = static_cast<double>(n);
  const double target = q - kQuantileSlack;
  auto reaches = [&](std::size_t k) { return static_cast<double>(k) / nd >= target; };
  std::size_t k = static_cast<std::size_t>(std::clamp(std::ceil(target * nd), 1.0, nd));
  while (k > 1 && reaches(k - 1)) --k;
  while (k < n && !reaches(k)) ++k;
  return sorted[k - 1];
}

Result<MeanInterval> BootstrapMean(const std::vector<double>& values, const BootstrapOptions& options) {
  char buf[160];
  if (values.empty()) return InvalidArgument("bootstrap: no values");
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      std::snprintf(buf, sizeof buf, "bootstrap: value %zu is %g; values must be finite", i, values[i]);
      return InvalidArgument(buf);
    }
  }
  if (options.resamples == 0) return InvalidArgument("bootstrap: resamples must be at least 1");
  if (!(options.level > 0.0 && options.level < 1.0)) {
    std::snprintf(buf, sizeof buf, "bootstrap: level %g is outside (0, 1)", options.level);
    return InvalidArgument(buf);
  }
  MeanInterval out;
  out.n = values.size();
  out.mean = Mean(values);
  out.sd = SampleStd(values);
  Rng rng(options.seed);
  std::vector<double> means(options.resamples);
  std::size_t above = 0, below = 0;
  for (double& m : means) {
    double s = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i) s += values[static_cast<std::size_t>(rng.Below(values.size()))];
    m = s / static_cast<double>(values.size());
    above += m > 0.0;
    below += m < 0.0;
  }
  std::sort(means.begin(), means.end());
  const double tail = (1.0 - options.level) / 2.0;
  out.lo = LowerQuantile(means, tail);
  out.hi = LowerQuantile(means, 1.0 - tail);
  out.fraction_above_zero = static_cast<double>(above) / static_cast<double>(means.size());
  out.fraction_below_zero = static_cast<double>(below) / static_cast<double>(means.size());
  return out;
}

Result<MeanInterval> PairedBootstrapDifference(const std::vector<double>& a, const std::vector<double>& b,
                                               const BootstrapOptions& options) {
  if (a.size() != b.size()) {
    char buf[120];
    std::snprintf(buf, sizeof buf, "paired bootstrap: %zu values against %zu", a.size(), b.size());
    return InvalidArgument(buf);
  }
  // Resampling pairs is resampling their differences.
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  auto r = BootstrapMean(d, options);
  if (!r.ok()) return r.status().WithContext("paired bootstrap");
  return r;
}

}  // namespace qualm::study
