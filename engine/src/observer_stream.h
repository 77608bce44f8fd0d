// engine/src/observer_stream.h: the algorithms behind qualm/engine/observers.h.
//
// An ObserverStream holds the statistics of one stream of values (a whole
// tensor, or one channel of it) and turns them into a clipping range for a
// target. The Observer class does the shared bookkeeping (forms, channels,
// non-finite values) and hands each stream only batches that contain at least
// one finite value, with that batch's finite min/max already computed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "qualm/engine/observers.h"

namespace qualm {

// The values of one stream in one batch: data[i * stride], i < count. May
// contain non-finite values, which every stream skips.
struct StridedValues {
  const float* data = nullptr;
  std::size_t count = 0;
  std::size_t stride = 1;
};

// The finite values of one batch of one stream.
struct BatchSummary {
  std::int64_t finite = 0;
  float min = 0.0f, max = 0.0f;  // valid when finite > 0
};
BatchSummary Summarize(const StridedValues& v);

class ObserverStream {
 public:
  virtual ~ObserverStream() = default;
  // s.finite > 0. Records the finite min/max, then calls OnBatch.
  void Update(const StridedValues& v, const BatchSummary& s);
  // The clipping range for a validated target; at least one finite value seen.
  virtual Result<Range> Estimate(const QuantTarget& t) const = 0;

  std::int64_t finite() const { return finite_; }
  const Range& seen() const { return seen_; }  // finite min/max over all batches

 protected:
  virtual void OnBatch(const StridedValues& v, const BatchSummary& s) = 0;

 private:
  std::int64_t finite_ = 0;
  Range seen_;
};

std::unique_ptr<ObserverStream> MakeObserverStream(const ObserverOptions& options);

// Histogram with at most max_bins bins of width 2^e anchored at 0 (bin k holds
// [k * 2^e, (k + 1) * 2^e)); its window always includes bin 0. Widening merges
// bins exactly (k -> k >> d), so the result equals the histogram of all values
// at the final width, whatever the batches were (see observers.h).
class PowerOfTwoHistogram {
 public:
  explicit PowerOfTwoHistogram(int max_bins) : max_bins_(max_bins), counts_(1, 0) {}
  // Adds the finite values of v (of |v| when absolute); s summarizes v.
  void Add(const StridedValues& v, const BatchSummary& s, bool absolute);

  int exponent() const { return exponent_; }
  double width() const;
  std::int64_t first_bin() const { return first_bin_; }  // global index of counts()[0]
  const std::vector<std::int64_t>& counts() const { return counts_; }
  std::int64_t total() const { return total_; }
  // Left edge of counts()[i] (exact in double).
  double left_edge(std::size_t i) const;
  // The value of rank r in [0, total()] (linear inside the bin it falls in).
  double Quantile(double r) const;

  // Lowest exponent ever used (below every float's precision).
  static constexpr int kMinExponent = -160;

 private:
  bool Fits(double lo, double hi, int e) const;
  void Rebin(int new_exponent);

  int max_bins_;
  int exponent_ = kMinExponent;
  std::int64_t first_bin_ = 0;
  std::vector<std::int64_t> counts_;
  std::int64_t total_ = 0;
};

// Expected total squared error of quantizing the histogram's values, taken as
// uniform inside each bin (bins clipped to [lo, hi], the finite range seen; a
// bin reduced to a point is a point mass), on the grid {s * m : m_lo <= m <= m_hi}
// with round-to-nearest and clamping to the end points. Built once per
// histogram, evaluated for many grids: bins that lie inside one grid cell are
// summed from prefix sums of their count and first two moments, bins that
// straddle a cell edge are integrated exactly, so one evaluation costs
// O(grid levels + straddling bins), not O(bins).
class HistogramErrorModel {
 public:
  HistogramErrorModel(const PowerOfTwoHistogram& h, float lo, float hi);
  double Error(double s, std::int64_t m_lo, std::int64_t m_hi) const;

 private:
  // Index of the first bin k >= from with b_[k] > t (n_.size() if none).
  std::size_t FirstEndingAfter(double t, std::size_t from) const;

  double e0_ = 0.0, w_ = 1.0;     // left edge of the first bin (unclipped), bin width
  std::vector<double> a_, b_, n_;  // clipped interval and count of each bin
  std::vector<double> p0_, p1_, p2_;  // prefix sums of n, n * E[x], n * E[x^2]
};

}  // namespace qualm
