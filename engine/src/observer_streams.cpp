// The five observer algorithms as ObserverStreams (documented in
// qualm/engine/observers.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "observer_stream.h"

namespace qualm {

BatchSummary Summarize(const StridedValues& v) {
  BatchSummary s;
  float mn = std::numeric_limits<float>::infinity();
  float mx = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < v.count; ++i) {
    const float x = v.data[i * v.stride];
    if (!std::isfinite(x)) continue;
    ++s.finite;
    mn = std::min(mn, x);
    mx = std::max(mx, x);
  }
  if (s.finite > 0) {
    s.min = mn;
    s.max = mx;
  }
  return s;
}

void ObserverStream::Update(const StridedValues& v, const BatchSummary& s) {
  if (s.finite <= 0) return;
  if (finite_ == 0) {
    seen_ = {s.min, s.max};
  } else {
    seen_.min = std::min(seen_.min, s.min);
    seen_.max = std::max(seen_.max, s.max);
  }
  finite_ += s.finite;
  OnBatch(v, s);
}

namespace {

// The seen range widened to include 0 (every candidate range holds 0).
Range WithZero(const Range& r) { return {std::min(r.min, 0.0f), std::max(r.max, 0.0f)}; }

// [max(lo0, -t), min(hi0, t)] for a symmetric threshold t over a range holding 0.
Range ClipSymmetric(const Range& r0, double t) {
  const auto tf = static_cast<float>(t);
  return {std::max(r0.min, -tf), std::min(r0.max, tf)};
}

class MinMaxStream final : public ObserverStream {
 public:
  Result<Range> Estimate(const QuantTarget&) const override { return seen(); }

 protected:
  void OnBatch(const StridedValues&, const BatchSummary&) override {}
};

class MovingAverageStream final : public ObserverStream {
 public:
  explicit MovingAverageStream(const MovingAverageOptions& o) : c_(o.averaging_constant) {}
  Result<Range> Estimate(const QuantTarget&) const override { return ema_; }

 protected:
  void OnBatch(const StridedValues&, const BatchSummary& s) override {
    if (batches_++ == 0) {
      ema_ = {s.min, s.max};
      return;
    }
    // PyTorch's update, in float: m = m + c * (batch - m).
    ema_.min = ema_.min + c_ * (s.min - ema_.min);
    ema_.max = ema_.max + c_ * (s.max - ema_.max);
  }

 private:
  float c_;
  std::int64_t batches_ = 0;
  Range ema_;
};

class PercentileStream final : public ObserverStream {
 public:
  explicit PercentileStream(const PercentileOptions& o) : p_(o.percentile), hist_(o.bins) {}
  Result<Range> Estimate(const QuantTarget& t) const override {
    const double n = static_cast<double>(hist_.total());
    const double frac = p_ / 100.0;
    const auto clamp = [&](double x) {
      return static_cast<float>(std::clamp(x, static_cast<double>(seen().min), static_cast<double>(seen().max)));
    };
    Range r{clamp(hist_.Quantile((1.0 - frac) * n)), clamp(hist_.Quantile(frac * n))};
    if (t.scheme == QuantGrid::kSymmetric) {
      const float a = std::max(std::fabs(r.min), std::fabs(r.max));
      r = ClipSymmetric(WithZero(seen()), a);
    }
    return r;
  }

 protected:
  void OnBatch(const StridedValues& v, const BatchSummary& s) override { hist_.Add(v, s, false); }

 private:
  double p_;
  PowerOfTwoHistogram hist_;
};

class MseStream final : public ObserverStream {
 public:
  explicit MseStream(const MseOptions& o) : hist_(o.bins) {}
  Result<Range> Estimate(const QuantTarget& t) const override {
    const Range r0 = WithZero(seen());
    const double big = std::max(-static_cast<double>(r0.min), static_cast<double>(r0.max));
    if (big == 0.0) return r0;
    // K candidates a = k / K, one per bin across the larger side.
    const auto k_max = static_cast<std::int64_t>(std::max(1.0, std::ceil(big / hist_.width())));
    const bool symmetric = t.scheme == QuantGrid::kSymmetric;
    const HistogramErrorModel model(hist_, seen().min, seen().max);
    double best_err = std::numeric_limits<double>::infinity();
    Range best = r0;
    for (std::int64_t k = k_max; k >= 1; --k) {
      const double a = static_cast<double>(k) / static_cast<double>(k_max);
      Range cand = r0;  // k == k_max: exactly the min/max range
      QuantParams p;
      if (symmetric) {
        if (k != k_max) cand = ClipSymmetric(r0, a * big);
        p = kernels::ChooseSymmetricParams(std::max(-cand.min, cand.max), t.qmax);
      } else {
        if (k != k_max) cand = {static_cast<float>(a * r0.min), static_cast<float>(a * r0.max)};
        auto chosen = kernels::ChooseQuantParams(cand.min, cand.max, t.qmin, t.qmax);
        if (!chosen.ok()) continue;  // e.g. a scale below the normal floats
        p = *chosen;
      }
      const double err = model.Error(static_cast<double>(p.scale), std::int64_t{t.qmin} - p.zero_point,
                                     std::int64_t{t.qmax} - p.zero_point);
      if (err < best_err) {  // strict: ties keep the wider range
        best_err = err;
        best = cand;
      }
    }
    return best;
  }

 protected:
  void OnBatch(const StridedValues& v, const BatchSummary& s) override { hist_.Add(v, s, false); }

 private:
  PowerOfTwoHistogram hist_;
};

// MXNet's _smooth_distribution: zeros get eps, non-zeros give up eps * zeros /
// nonzeros each. False when the distribution cannot be smoothed.
bool Smooth(std::vector<double>& d) {
  constexpr double kEps = 1e-4;
  std::size_t zeros = 0;
  for (double x : d) zeros += x == 0.0 ? 1 : 0;
  const std::size_t nonzeros = d.size() - zeros;
  if (nonzeros == 0) return false;
  const double eps1 = kEps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  if (eps1 >= 1.0) return false;
  for (double& x : d) {
    x = x == 0.0 ? kEps : x - eps1;
    if (x <= 0.0) return false;
  }
  return true;
}

// KL(P || Q) of two positive, unnormalized distributions.
double KlDivergence(const std::vector<double>& p, const std::vector<double>& q) {
  double sp = 0.0, sq = 0.0;
  for (std::size_t j = 0; j < p.size(); ++j) {
    sp += p[j];
    sq += q[j];
  }
  double kl = 0.0;
  for (std::size_t j = 0; j < p.size(); ++j) {
    const double pj = p[j] / sp, qj = q[j] / sq;
    kl += pj * std::log(pj / qj);
  }
  return kl;
}

class EntropyStream final : public ObserverStream {
 public:
  explicit EntropyStream(const EntropyOptions& o) : hist_(o.bins) {}
  Result<Range> Estimate(const QuantTarget& t) const override {
    const Range r0 = WithZero(seen());
    const double amax = std::max(-static_cast<double>(r0.min), static_cast<double>(r0.max));
    if (amax == 0.0) return r0;
    // Quantized levels on the |x| axis for this target.
    std::int64_t nq = 0;
    if (t.scheme == QuantGrid::kSymmetric) {
      nq = std::int64_t{t.qmax} + 1;
    } else {
      const std::int64_t levels = std::int64_t{t.qmax} - t.qmin + 1;
      nq = (r0.min == 0.0f || r0.max == 0.0f) ? levels : levels / 2;
    }
    nq = std::max<std::int64_t>(nq, 1);
    // |x| >= 0, so the window starts at bin 0. Exact zeros leave the
    // distribution: 0.0 is a point of every candidate grid (quantized with no
    // error whatever the threshold), and kept in bin 0 they dominate the KL:
    // post-ReLU tensors are about half zeros, and merging bin 0 with its
    // neighbours into one level costs about zeros * log(merged) nats, which
    // drives the search to its narrowest candidates whatever the rest of the
    // data looks like (NVIDIA's pytorch-quantization sets bins[0] = bins[1];
    // ncnn skips zeros). See study/results/2026-12-02-entropy-observer.md.
    std::vector<std::int64_t> hist = hist_.counts();
    hist[0] -= zeros_;
    std::size_t n = hist.size();
    while (n > 0 && hist[n - 1] == 0) --n;
    if (static_cast<std::int64_t>(n) <= nq) return r0;
    // suffix[i] = sum of hist[i, n).
    std::vector<double> suffix(n + 1, 0.0);
    for (std::size_t i = n; i-- > 0;) suffix[i] = suffix[i + 1] + static_cast<double>(hist[i]);
    double best_kl = std::numeric_limits<double>::infinity();
    std::size_t best_i = n;
    std::vector<double> p, q;
    const auto nqs = static_cast<std::size_t>(nq);
    for (std::size_t i = nqs; i <= n; ++i) {
      // Reference: hist[0, i) with the outliers folded into the last bin.
      p.assign(hist.begin(), hist.begin() + static_cast<std::ptrdiff_t>(i));
      p[i - 1] += suffix[i];
      // Candidate: hist[0, i) merged into nq levels (the last one runs to i),
      // each level spread evenly over P's non-zero bins.
      q.assign(i, 0.0);
      const std::size_t merged = i / nqs;
      for (std::size_t j = 0; j < nqs; ++j) {
        const std::size_t start = j * merged, stop = j + 1 == nqs ? i : start + merged;
        double sum = 0.0;
        std::size_t nonzero = 0;
        for (std::size_t b = start; b < stop; ++b) {
          sum += static_cast<double>(hist[b]);
          nonzero += p[b] != 0.0 ? 1 : 0;
        }
        if (nonzero == 0) continue;
        for (std::size_t b = start; b < stop; ++b)
          if (p[b] != 0.0) q[b] = sum / static_cast<double>(nonzero);
      }
      if (!Smooth(p) || !Smooth(q)) continue;
      const double kl = KlDivergence(p, q);
      if (kl < best_kl) {  // strict: the first (smallest) threshold on ties, as argmin
        best_kl = kl;
        best_i = i;
      }
    }
    const double threshold = std::min(static_cast<double>(best_i) * hist_.width(), amax);
    return ClipSymmetric(r0, threshold);
  }

 protected:
  void OnBatch(const StridedValues& v, const BatchSummary& s) override {
    hist_.Add(v, s, true);
    for (std::size_t k = 0; k < v.count; ++k) zeros_ += v.data[k * v.stride] == 0.0f ? 1 : 0;  // also -0.0
  }

 private:
  PowerOfTwoHistogram hist_;
  std::int64_t zeros_ = 0;  // exact zeros seen (all in bin 0 of hist_)
};

}  // namespace

std::unique_ptr<ObserverStream> MakeObserverStream(const ObserverOptions& options) {
  return std::visit(
      [](const auto& o) -> std::unique_ptr<ObserverStream> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, MinMaxOptions>) return std::make_unique<MinMaxStream>();
        else if constexpr (std::is_same_v<T, MovingAverageOptions>) return std::make_unique<MovingAverageStream>(o);
        else if constexpr (std::is_same_v<T, PercentileOptions>) return std::make_unique<PercentileStream>(o);
        else if constexpr (std::is_same_v<T, MseOptions>) return std::make_unique<MseStream>(o);
        else return std::make_unique<EntropyStream>(o);
      },
      options);
}

}  // namespace qualm
