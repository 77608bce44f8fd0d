// qualm/engine/observers.h: calibration observers for post-training quantization.
//
// An observer watches the float values of one tensor (activations, batch after
// batch) and proposes the real range [lo, hi] that its integer grid should
// cover; the quantization parameters themselves always come from requant.h
// (ChooseQuantParams for affine targets, ChooseSymmetricParams for symmetric
// ones): observers choose *ranges*, never scale/zero-point rules.
//
// Observers (the name is the CLI spelling, see ParseObserver):
//   "minmax"          running min and max of every value seen.
//   "moving-average"  PyTorch's MovingAverageMinMaxObserver: per batch (one
//                     Observe call) take the batch min/max; the first batch sets
//                     the state, later ones do  m += c * (batch_m - m)  in float
//                     (c = averaging_constant, default 0.01).
//   "percentile"      the (100 - p) % and p % quantiles (default p = 99.99) of
//                     the values, read from a histogram (below) with linear
//                     interpolation inside the bin: within one bin width of the
//                     exact quantile. Symmetric targets use max(|lo|, |hi|).
//   "mse"             searches clipping ranges over the histogram and keeps the
//                     one minimizing the expected squared (L2) quantization
//                     error, the values of each bin taken as uniform inside it
//                     and quantized on the exact grid ChooseQuantParams /
//                     ChooseSymmetricParams gives for the candidate (clamping
//                     error included). Candidates: affine [a*lo0, a*hi0] with
//                     lo0 = min(min, 0), hi0 = max(max, 0), symmetric
//                     [-a*A, a*A] with A = max|x|, for a = k/K, k = 1..K, K the
//                     number of bins across the larger side; a = 1 (the min/max
//                     range) is a candidate, ties keep the wider range.
//   "entropy"         TensorRT's KL-divergence calibration (as MXNet's
//                     _get_optimal_threshold): a histogram of |x| without the
//                     exact zeros (0.0 lies on every candidate grid, so zeros
//                     carry no quantization loss; left in bin 0, the half of a
//                     post-ReLU tensor that is 0 decides the search by itself,
//                     which NVIDIA's pytorch-quantization (bins[0] = bins[1])
//                     and ncnn (zeros skipped) also avoid); for every
//                     candidate threshold i (in bins, from nq to the last bin) the
//                     reference P = hist[0, i) with the outliers folded into bin
//                     i-1, Q = hist[0, i) (without the outliers, as MXNet)
//                     merged into nq levels of floor(i / nq) bins (the last level
//                     also takes the remainder) and expanded back over P's
//                     non-zero bins; both smoothed (eps 1e-4) and normalized; the
//                     i with the smallest KL(P || Q) wins (first on ties),
//                     threshold T = i * bin width (capped at max|x|), range
//                     [max(min, -T), min(max, T)]. nq = qmax + 1 for symmetric
//                     targets (128 for int8, as TensorRT), qmax - qmin + 1 for
//                     affine targets on one-signed data (256) and half of it for
//                     affine targets on mixed-sign data. A property of the
//                     method, not a defect: Q flattens any point mass inside a
//                     level, so tensors with large non-zero spikes (e.g. the
//                     per-channel constant a conv makes of an image's zero
//                     background) get narrow thresholds and clip hard
//                     (study/results/2026-12-02-entropy-observer.md).
//
// Histogram (percentile, mse, entropy): at most `bins` bins of width w = 2^e
// anchored at 0 (bin k holds [k*w, (k+1)*w)), the window always holding bin 0.
// When new values do not fit, e grows to the smallest exponent with which all
// values seen so far (and 0) fit in `bins` bins, and old bins are merged exactly
// (bin k -> k >> d: integer counts, nothing is split or interpolated). Because
// floor(x / 2^e) computed in double is exact, the final histogram is exactly the
// histogram of all values at the final width: it does not depend on how the
// values were split into batches or on their order. At least bins/2 - 1 bins
// span the occupied range [min(min, 0), max(max, 0)].
//
// Rules shared by all observers:
//   - Non-finite values (NaN, +-inf) are ignored and counted (nonfinite_count());
//     the calibration driver turns any of them into an error.
//   - Every range includes 0 (ChooseQuantParams widens it; symmetric grids hold
//     0), so real 0.0 is exactly representable.
//   - Deterministic: plain sequential loops in a fixed order, double
//     accumulation, integer histogram counts; same values -> same bits.
//   - Forms: Observe(data, count) sees a tensor as one stream (per-tensor
//     targets only). ObservePerChannel(data, rows, channels) sees [rows][channels]
//     (the last axis is the channel) and keeps one stream per channel plus one
//     for the whole tensor, so both per-tensor and per-channel targets can be
//     computed. The first call fixes the form (and the channel count); mixing
//     forms later is an InvalidArgument.
//   - Compute() before any finite value was seen (in a stream) is an
//     InvalidArgument; all-zero data gives range [0, 0] (scale 1, zp from
//     ChooseQuantParams' degenerate rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "qualm/engine/tensor.h"
#include "qualm/kernels/requant.h"
#include "qualm/status.h"

namespace qualm {

using kernels::QuantParams;

enum class QuantGrid : std::uint8_t { kAffine = 0, kSymmetric = 1 };
enum class QuantGranularity : std::uint8_t { kPerTensor = 0, kPerChannel = 1 };
const char* QuantGridName(QuantGrid s);            // "affine", "symmetric"
Result<QuantGrid> ParseQuantGrid(const std::string& name);
const char* QuantGranularityName(QuantGranularity g);  // "per-tensor", "per-channel"
Result<QuantGranularity> ParseQuantGranularity(const std::string& name);

// What Compute() produces parameters for.
struct QuantTarget {
  std::int32_t qmin = -128;
  std::int32_t qmax = 127;
  QuantGrid scheme = QuantGrid::kAffine;
  QuantGranularity granularity = QuantGranularity::kPerTensor;

  // int8 activations: affine, per tensor, [-128, 127] (TFLite).
  static QuantTarget ActivationS8() { return {}; }
  // int8 weights: symmetric, per output channel, narrow [-127, 127] (TFLite).
  static QuantTarget WeightS8() {
    return {-127, 127, QuantGrid::kSymmetric, QuantGranularity::kPerChannel};
  }
};
// InvalidArgument unless qmin < qmax and, for symmetric targets, qmin < 0 < qmax.
Status Validate(const QuantTarget& t);

// A real interval [min, max].
struct Range {
  float min = 0.0f;
  float max = 0.0f;
};

// One small options struct per observer (defaults as documented above).
struct MinMaxOptions {};
struct MovingAverageOptions {
  float averaging_constant = 0.01f;  // (0, 1]; PyTorch's default
};
struct PercentileOptions {
  double percentile = 99.99;  // [50, 100]; the low end uses 100 - percentile
  int bins = 2048;
};
struct MseOptions {
  int bins = 2048;
};
struct EntropyOptions {
  int bins = 2048;  // TensorRT's count
};
// The variant's index order is the kind order of ObserverNames().
using ObserverOptions =
    std::variant<MinMaxOptions, MovingAverageOptions, PercentileOptions, MseOptions, EntropyOptions>;
// Histogram bins accepted by the histogram observers.
inline constexpr int kMinObserverBins = 8;
inline constexpr int kMaxObserverBins = 1 << 16;
Status Validate(const ObserverOptions& o);

// CLI spelling: "<name>[:key=value[,key=value...]]", e.g. "minmax",
// "moving-average:constant=0.05", "percentile:percentile=99.9,bins=4096",
// "mse:bins=2048", "entropy". Keys: constant (moving-average), percentile and
// bins (percentile), bins (mse, entropy). Unknown names, keys or bad values
// are InvalidArgument. Missing keys keep their defaults.
Result<ObserverOptions> ParseObserver(const std::string& spec);
// Canonical spec with every parameter, parseable by ParseObserver (round trip),
// e.g. "percentile:percentile=99.99,bins=2048".
std::string ObserverName(const ObserverOptions& o);
// Bare names: "minmax", "moving-average", "percentile", "mse", "entropy".
const std::vector<std::string>& ObserverNames();

class ObserverStream;  // statistics of one stream of values (observers.cpp)

// The observer interface. Its algorithm is the ObserverStream made from its
// options (one per statistics stream); this class does the bookkeeping shared
// by all of them (forms, channels, non-finite values, targets).
class Observer {
 public:
  ~Observer();
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  const ObserverOptions& options() const { return options_; }
  std::string Name() const { return ObserverName(options_); }

  // One batch of a tensor. data may be null when count is 0 (a no-op).
  Status Observe(const float* data, std::size_t count);
  // One batch of a [rows][channels] tensor (channels = last axis).
  Status ObservePerChannel(const float* data, std::size_t rows, int channels);

  // One QuantParams per channel (per-channel targets; needs ObservePerChannel)
  // or a single one (per-tensor targets).
  Result<std::vector<QuantParams>> Compute(const QuantTarget& target) const;
  // The ranges Compute() turns into parameters (before ChooseQuantParams widens
  // them to include 0), same count as Compute().
  Result<std::vector<Range>> ClipRanges(const QuantTarget& target) const;

  // Channels of the per-channel form; 0 before any call or in the per-tensor form.
  int channels() const { return channels_; }
  std::int64_t finite_count() const { return finite_; }
  std::int64_t nonfinite_count() const { return nonfinite_; }
  std::int64_t batches() const { return batches_; }
  // Min and max of the finite values seen (whole tensor); {0, 0} if none.
  Range observed_range() const;
  // Forget everything (the form too).
  void Reset();

 private:
  explicit Observer(ObserverOptions options);
  friend Result<std::unique_ptr<Observer>> MakeObserver(const ObserverOptions& options);
  enum class Form : std::uint8_t { kNone, kPerTensor, kPerChannel };

  ObserverOptions options_;
  Form form_ = Form::kNone;
  int channels_ = 0;
  std::int64_t finite_ = 0, nonfinite_ = 0, batches_ = 0;
  std::unique_ptr<ObserverStream> tensor_;
  std::vector<std::unique_ptr<ObserverStream>> per_channel_;
};

// InvalidArgument for bad options.
Result<std::unique_ptr<Observer>> MakeObserver(const ObserverOptions& options);
Result<std::unique_ptr<Observer>> MakeObserver(const std::string& spec);

// Weights are quantized directly, not observed: per output channel (first axis,
// as OHWI conv and [out][in] dense weights), symmetric, scale from
// ChooseSymmetricParams(max_c |w|, qmax) (an all-zero channel gets scale 1).
// InvalidArgument for a non-f32 or rank-0/empty tensor or non-finite weights.
Result<std::vector<QuantParams>> ChooseWeightParamsPerChannel(const Tensor& weight, std::int32_t qmax = 127);
Result<std::vector<QuantParams>> ChooseWeightParamsPerChannel(const float* w, int out_channels,
                                                              std::int64_t per_channel,
                                                              std::int32_t qmax = 127);

}  // namespace qualm
