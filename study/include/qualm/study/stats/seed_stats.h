// qualm/study/stats/seed_stats.h: mean and spread over repeated runs (seeds),
// and percentile bootstrap intervals for the "mean and spread" columns and the
// findings' verdicts.
//
// Quantiles are order statistics without interpolation: the q-quantile of a
// sorted x_1 <= ... <= x_B is x_k with k the smallest index >= 1 such that
// k / B >= q - kQuantileSlack. The slack absorbs the binary rounding of a decimal
// q ((1 - 0.95) / 2 * 2000 is 50.00000000000004 in double), so a 95 % interval
// of 2000 resamples is exactly [x_50, x_1950].
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "qualm/status.h"

namespace qualm::study {

inline constexpr double kQuantileSlack = 1e-12;

double Mean(const std::vector<double>& v);  // summed in index order; NaN when empty
// With n - 1 in the denominator; nullopt when n < 2.
std::optional<double> SampleStd(const std::vector<double>& v);
// The q-quantile (q in (0, 1]) of an ascending vector, by the rule above.
// `sorted` must be non-empty.
double LowerQuantile(const std::vector<double>& sorted, double q);

struct BootstrapOptions {
  std::size_t resamples = 2000;
  double level = 0.95;  // two-sided, in (0, 1)
  std::uint64_t seed = 1;
};
struct MeanInterval {
  std::size_t n = 0;
  double mean = 0.0;
  std::optional<double> sd;  // sample sd, nullopt when n < 2
  double lo = 0.0;           // percentile bootstrap interval of the mean
  double hi = 0.0;
  // Resampled means on either side of 0 (for a difference: how often the sign
  // held; 0 counts for neither).
  double fraction_above_zero = 0.0;
  double fraction_below_zero = 0.0;
};
// Resamples n values with replacement (Rng::Below) B times. Errors: empty input,
// non-finite values, resamples == 0, level outside (0, 1).
Result<MeanInterval> BootstrapMean(const std::vector<double>& values, const BootstrapOptions& options);
// Paired difference a_i - b_i (e.g. one seed's shifted minus clean rate):
// resamples the pairs, so the pairing's correlation is kept. The interval
// excluding 0 is the verdict "the difference has this sign". Errors as above,
// and sizes that differ.
Result<MeanInterval> PairedBootstrapDifference(const std::vector<double>& a, const std::vector<double>& b,
                                               const BootstrapOptions& options);

}  // namespace qualm::study
