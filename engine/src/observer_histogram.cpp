// The power-of-two histogram and the expected quantization error over it
// (engine/src/observer_stream.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "observer_stream.h"

namespace qualm {
namespace {

// floor(x / 2^e): exact (a power-of-two scaling of a double, then floor).
double BinOf(double x, int e) { return std::floor(std::ldexp(x, -e)); }

// Floor division of a bin index by 2^d.
std::int64_t ShiftBin(std::int64_t k, int d) {
  if (d >= 63) return k < 0 ? -1 : 0;
  return k >> d;  // arithmetic shift of a signed value: floor division (C++20)
}

}  // namespace

double PowerOfTwoHistogram::width() const { return std::ldexp(1.0, exponent_); }

double PowerOfTwoHistogram::left_edge(std::size_t i) const {
  return std::ldexp(static_cast<double>(first_bin_ + static_cast<std::int64_t>(i)), exponent_);
}

bool PowerOfTwoHistogram::Fits(double lo, double hi, int e) const {
  return BinOf(hi, e) - BinOf(lo, e) + 1.0 <= static_cast<double>(max_bins_);
}

void PowerOfTwoHistogram::Rebin(int new_exponent) {
  const int d = new_exponent - exponent_;
  const std::int64_t last = first_bin_ + static_cast<std::int64_t>(counts_.size()) - 1;
  const std::int64_t nfirst = ShiftBin(first_bin_, d);
  const std::int64_t nlast = ShiftBin(last, d);
  std::vector<std::int64_t> merged(static_cast<std::size_t>(nlast - nfirst + 1), 0);
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    const std::int64_t k = ShiftBin(first_bin_ + static_cast<std::int64_t>(i), d);
    merged[static_cast<std::size_t>(k - nfirst)] += counts_[i];
  }
  counts_ = std::move(merged);
  first_bin_ = nfirst;
  exponent_ = new_exponent;
}

void PowerOfTwoHistogram::Add(const StridedValues& v, const BatchSummary& s, bool absolute) {
  if (s.finite <= 0) return;
  // The batch's extent in the histogram's domain, with 0.
  double lo = absolute ? 0.0 : std::min(static_cast<double>(s.min), 0.0);
  double hi = absolute ? std::max(std::fabs(static_cast<double>(s.min)), std::fabs(static_cast<double>(s.max)))
                       : std::max(static_cast<double>(s.max), 0.0);
  // Together with the occupied window (left edges map exactly to merged bins).
  lo = std::min(lo, left_edge(0));
  hi = std::max(hi, left_edge(counts_.size() - 1));
  int e = exponent_;
  if (!Fits(lo, hi, e)) {
    // Start a little below the answer (span / bins ~ 2^e) and walk up: Fits is
    // monotone in e because 0 lies in [lo, hi].
    const double span = hi - lo;
    const int estimate = std::ilogb(span) - std::ilogb(static_cast<double>(max_bins_)) - 2;
    e = std::max(e, estimate);
    while (!Fits(lo, hi, e)) ++e;
  }
  if (e != exponent_) Rebin(e);
  // Extend the window to the new values.
  const auto lo_bin = static_cast<std::int64_t>(BinOf(lo, e));
  const auto hi_bin = static_cast<std::int64_t>(BinOf(hi, e));
  const std::int64_t last = first_bin_ + static_cast<std::int64_t>(counts_.size()) - 1;
  if (lo_bin < first_bin_) {
    counts_.insert(counts_.begin(), static_cast<std::size_t>(first_bin_ - lo_bin), 0);
    first_bin_ = lo_bin;
  }
  if (hi_bin > last) counts_.resize(counts_.size() + static_cast<std::size_t>(hi_bin - last), 0);
  // BinOf with 2^-e precomputed: x * 2^-e is exact in double (a float times a
  // power of two in [2^-150, 2^160]: no overflow, no subnormal result).
  const double inv_w = std::ldexp(1.0, -e);
  for (std::size_t i = 0; i < v.count; ++i) {
    const float x = v.data[i * v.stride];
    if (!std::isfinite(x)) continue;
    const double y = absolute ? std::fabs(static_cast<double>(x)) : static_cast<double>(x);
    const auto k = static_cast<std::int64_t>(std::floor(y * inv_w));
    ++counts_[static_cast<std::size_t>(k - first_bin_)];
  }
  total_ += s.finite;
}

double PowerOfTwoHistogram::Quantile(double r) const {
  const double w = width();
  double cum = 0.0;
  std::size_t last_nonzero = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const double c = static_cast<double>(counts_[i]);
    if (cum + c >= r) return left_edge(i) + w * std::max(0.0, (r - cum) / c);
    cum += c;
    last_nonzero = i;
  }
  return left_edge(last_nonzero) + w;
}

namespace {

// The grid cell of x: clamp(round-half-up(x / s), m_lo, m_hi).
std::int64_t CellOf(double x, double s, std::int64_t m_lo, std::int64_t m_hi) {
  const double m = std::floor(x / s + 0.5);
  if (!(m > static_cast<double>(m_lo))) return m_lo;
  if (m >= static_cast<double>(m_hi)) return m_hi;
  return static_cast<std::int64_t>(m);
}

// Integral over [u, v] (u <= v) of (x - Q(x))^2 for the clamped grid.
double SegmentError(double u, double v, double s, std::int64_t m_lo, std::int64_t m_hi) {
  const std::int64_t mu = CellOf(u, s, m_lo, m_hi), mv = CellOf(v, s, m_lo, m_hi);
  double err = 0.0;
  for (std::int64_t m = mu; m <= mv; ++m) {
    const double c = s * static_cast<double>(m);
    const double a = m == m_lo ? u : std::max(u, c - 0.5 * s);
    const double b = m == m_hi ? v : std::min(v, c + 0.5 * s);
    if (b <= a) continue;
    const double da = a - c, db = b - c;
    err += (db * db * db - da * da * da) / 3.0;
  }
  return err;
}

}  // namespace

HistogramErrorModel::HistogramErrorModel(const PowerOfTwoHistogram& h, float lo, float hi) {
  const auto& counts = h.counts();
  std::size_t first = 0, end = counts.size();
  while (first < end && counts[first] == 0) ++first;
  while (end > first && counts[end - 1] == 0) --end;
  w_ = h.width();
  e0_ = first < end ? h.left_edge(first) : 0.0;
  p0_.push_back(0.0);
  p1_.push_back(0.0);
  p2_.push_back(0.0);
  for (std::size_t i = first; i < end; ++i) {
    const double a = std::clamp(h.left_edge(i), static_cast<double>(lo), static_cast<double>(hi));
    const double b = std::clamp(h.left_edge(i) + w_, static_cast<double>(lo), static_cast<double>(hi));
    const auto n = static_cast<double>(counts[i]);
    a_.push_back(a);
    b_.push_back(b);
    n_.push_back(n);
    // Moments of the uniform distribution on [a, b] (a point mass when a == b).
    p0_.push_back(p0_.back() + n);
    p1_.push_back(p1_.back() + n * 0.5 * (a + b));
    p2_.push_back(p2_.back() + n * (a * a + a * b + b * b) / 3.0);
  }
}

std::size_t HistogramErrorModel::FirstEndingAfter(double t, std::size_t from) const {
  const std::size_t nb = n_.size();
  if (!(t < std::numeric_limits<double>::infinity())) return nb;
  // Bins are uniform (b_k = e0 + (k + 1) w) except for clipping: guess, then fix.
  const double guess = std::floor((t - e0_) / w_);
  std::size_t g = guess <= static_cast<double>(from) ? from
                  : guess >= static_cast<double>(nb) ? nb
                                                     : static_cast<std::size_t>(guess);
  while (g > from && b_[g - 1] > t) --g;
  while (g < nb && b_[g] <= t) ++g;
  return g;
}

double HistogramErrorModel::Error(double s, std::int64_t m_lo, std::int64_t m_hi) const {
  const std::size_t nb = n_.size();
  double total = 0.0;
  std::size_t i = 0;
  while (i < nb) {
    const std::int64_t m = CellOf(a_[i], s, m_lo, m_hi);
    const double c = s * static_cast<double>(m);
    const double t = m == m_hi ? std::numeric_limits<double>::infinity() : s * (static_cast<double>(m) + 0.5);
    // Bins i..j-1 lie inside cell m: sum of n * E[(x - c)^2] from the prefix sums.
    const std::size_t j = FirstEndingAfter(t, i);
    if (j > i) {
      total += (p2_[j] - p2_[i]) - 2.0 * c * (p1_[j] - p1_[i]) + c * c * (p0_[j] - p0_[i]);
      i = j;
      if (i == nb) break;
      if (!(a_[i] < t)) continue;  // the next bin starts in a later cell
    }
    // Bin i straddles the cell edge t (or rounding made no progress): exact.
    if (n_[i] > 0.0) {
      if (b_[i] > a_[i]) {
        total += n_[i] * SegmentError(a_[i], b_[i], s, m_lo, m_hi) / (b_[i] - a_[i]);
      } else {  // a point mass
        const double d = a_[i] - s * static_cast<double>(CellOf(a_[i], s, m_lo, m_hi));
        total += n_[i] * d * d;
      }
    }
    ++i;
  }
  return total;
}

}  // namespace qualm
