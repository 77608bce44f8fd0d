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
  for (std::size_t i = 0; i < v.count; ++i) {
    const float x = v.data[i * v.stride];
    if (!std::isfinite(x)) continue;
    const double y = absolute ? std::fabs(static_cast<double>(x)) : static_cast<double>(x);
    const auto k = static_cast<std::int64_t>(BinOf(y, e));
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

// Integral over [u, v] (u < v) of (x - Q(x))^2 for the clamped grid.
double SegmentError(double u, double v, double s, std::int64_t m_lo, std::int64_t m_hi) {
  const auto cell = [&](double x) {
    const double m = std::floor(x / s + 0.5);
    if (m <= static_cast<double>(m_lo)) return m_lo;
    if (m >= static_cast<double>(m_hi)) return m_hi;
    return static_cast<std::int64_t>(m);
  };
  const std::int64_t mu = cell(u), mv = cell(v);
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

double PointError(double x, double s, std::int64_t m_lo, std::int64_t m_hi) {
  double m = std::floor(x / s + 0.5);
  m = std::clamp(m, static_cast<double>(m_lo), static_cast<double>(m_hi));
  const double d = x - s * m;
  return d * d;
}

}  // namespace

double HistogramQuantError(const PowerOfTwoHistogram& h, float lo, float hi, double s, std::int64_t m_lo,
                           std::int64_t m_hi) {
  const double w = h.width();
  const auto& counts = h.counts();
  double total = 0.0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double a = std::max(h.left_edge(i), static_cast<double>(lo));
    const double b = std::min(h.left_edge(i) + w, static_cast<double>(hi));
    const double n = static_cast<double>(counts[i]);
    if (b <= a) {
      total += n * PointError(std::clamp(a, static_cast<double>(lo), static_cast<double>(hi)), s, m_lo, m_hi);
    } else {
      total += n * SegmentError(a, b, s, m_lo, m_hi) / (b - a);
    }
  }
  return total;
}

}  // namespace qualm
