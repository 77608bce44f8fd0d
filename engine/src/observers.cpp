// Observer bookkeeping, the factory, CLI names, and the weight helper
// (qualm/engine/observers.h). The algorithms are in observer_streams.cpp.
#include "qualm/engine/observers.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <type_traits>

#include "observer_stream.h"

namespace qualm {

// ---------------------------------------------------------------------------
// Targets and names

const char* QuantGridName(QuantGrid s) { return s == QuantGrid::kSymmetric ? "symmetric" : "affine"; }

Result<QuantGrid> ParseQuantGrid(const std::string& name) {
  if (name == "affine") return QuantGrid::kAffine;
  if (name == "symmetric") return QuantGrid::kSymmetric;
  return InvalidArgument("unknown quantization grid '" + name + "' (affine, symmetric)");
}

const char* QuantGranularityName(QuantGranularity g) {
  return g == QuantGranularity::kPerChannel ? "per-channel" : "per-tensor";
}

Result<QuantGranularity> ParseQuantGranularity(const std::string& name) {
  if (name == "per-tensor") return QuantGranularity::kPerTensor;
  if (name == "per-channel") return QuantGranularity::kPerChannel;
  return InvalidArgument("unknown quantization granularity '" + name + "' (per-tensor, per-channel)");
}

Status Validate(const QuantTarget& t) {
  std::string range = "[";  // (appends: GCC 12 warns falsely on "literal" + std::string here)
  range += std::to_string(t.qmin);
  range += ", ";
  range += std::to_string(t.qmax);
  range += "]";
  if (!(t.qmin < t.qmax)) return InvalidArgument("quantization target: empty integer range " + range);
  if (t.scheme == QuantGrid::kSymmetric && !(t.qmin < 0 && t.qmax > 0))
    return InvalidArgument("quantization target: symmetric range " + range + " must hold -1, 0 and 1");
  return Status::Ok();
}

const std::vector<std::string>& ObserverNames() {
  static const std::vector<std::string> names = {"minmax", "moving-average", "percentile", "mse", "entropy"};
  return names;
}

namespace {

template <typename T>
std::string FormatNumber(T x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), x);  // shortest round-trip form
  return std::string(buf, r.ptr);
}

template <typename T>
Status ParseNumber(const std::string& key, const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, out);
  if (text.empty() || r.ec != std::errc() || r.ptr != end)
    return InvalidArgument("observer parameter " + key + "='" + text + "' is not a number");
  return Status::Ok();
}

Status CheckBins(const char* who, int bins) {
  if (bins < kMinObserverBins || bins > kMaxObserverBins)
    return InvalidArgument(std::string(who) + ": bins " + std::to_string(bins) + " outside [" +
                           std::to_string(kMinObserverBins) + ", " + std::to_string(kMaxObserverBins) + "]");
  return Status::Ok();
}

}  // namespace

Status Validate(const ObserverOptions& options) {
  return std::visit(
      [](const auto& o) -> Status {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, MovingAverageOptions>) {
          if (!(o.averaging_constant > 0.0f && o.averaging_constant <= 1.0f))
            return InvalidArgument("moving-average: constant " + FormatNumber(o.averaging_constant) +
                                   " outside (0, 1]");
        } else if constexpr (std::is_same_v<T, PercentileOptions>) {
          if (!(o.percentile >= 50.0 && o.percentile <= 100.0))
            return InvalidArgument("percentile: percentile " + FormatNumber(o.percentile) + " outside [50, 100]");
          return CheckBins("percentile", o.bins);
        } else if constexpr (std::is_same_v<T, MseOptions>) {
          return CheckBins("mse", o.bins);
        } else if constexpr (std::is_same_v<T, EntropyOptions>) {
          return CheckBins("entropy", o.bins);
        }
        return Status::Ok();
      },
      options);
}

std::string ObserverName(const ObserverOptions& options) {
  std::string name = ObserverNames()[options.index()];
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, MovingAverageOptions>) {
          name += ":constant=" + FormatNumber(o.averaging_constant);
        } else if constexpr (std::is_same_v<T, PercentileOptions>) {
          name += ":percentile=" + FormatNumber(o.percentile) + ",bins=" + std::to_string(o.bins);
        } else if constexpr (std::is_same_v<T, MseOptions> || std::is_same_v<T, EntropyOptions>) {
          name += ":bins=" + std::to_string(o.bins);
        }
      },
      options);
  return name;
}

Result<ObserverOptions> ParseObserver(const std::string& spec) {
  const std::size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  ObserverOptions options;
  if (kind == "minmax") options = MinMaxOptions{};
  else if (kind == "moving-average") options = MovingAverageOptions{};
  else if (kind == "percentile") options = PercentileOptions{};
  else if (kind == "mse") options = MseOptions{};
  else if (kind == "entropy") options = EntropyOptions{};
  else
    return InvalidArgument("unknown observer '" + kind + "' (minmax, moving-average, percentile, mse, entropy)");

  std::string rest = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
  if (colon != std::string::npos && rest.empty())
    return InvalidArgument("observer '" + spec + "': empty parameter list after ':'");
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string item = rest.substr(0, comma);
    rest = comma == std::string::npos ? std::string() : rest.substr(comma + 1);
    if (comma != std::string::npos && rest.empty())
      return InvalidArgument("observer '" + spec + "': trailing ','");
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return InvalidArgument("observer '" + spec + "': parameter '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    Status st = std::visit(
        [&](auto& o) -> Status {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, MovingAverageOptions>) {
            if (key == "constant") return ParseNumber(key, value, o.averaging_constant);
          } else if constexpr (std::is_same_v<T, PercentileOptions>) {
            if (key == "percentile") return ParseNumber(key, value, o.percentile);
            if (key == "bins") return ParseNumber(key, value, o.bins);
          } else if constexpr (std::is_same_v<T, MseOptions> || std::is_same_v<T, EntropyOptions>) {
            if (key == "bins") return ParseNumber(key, value, o.bins);
          }
          return InvalidArgument("observer '" + kind + "' has no parameter '" + key + "'");
        },
        options);
    if (!st.ok()) return st;
  }
  QUALM_RETURN_IF_ERROR(Validate(options));
  return options;
}

// ---------------------------------------------------------------------------
// Observer

Observer::Observer(ObserverOptions options) : options_(std::move(options)) {}
Observer::~Observer() = default;

Result<std::unique_ptr<Observer>> MakeObserver(const ObserverOptions& options) {
  QUALM_RETURN_IF_ERROR(Validate(options));
  return std::unique_ptr<Observer>(new Observer(options));
}

Result<std::unique_ptr<Observer>> MakeObserver(const std::string& spec) {
  QUALM_ASSIGN_OR_RETURN(ObserverOptions options, ParseObserver(spec));
  return MakeObserver(options);
}

void Observer::Reset() {
  form_ = Form::kNone;
  channels_ = 0;
  finite_ = nonfinite_ = batches_ = 0;
  tensor_.reset();
  per_channel_.clear();
}

Range Observer::observed_range() const {
  if (!tensor_ || tensor_->finite() == 0) return {};
  return tensor_->seen();
}

Status Observer::Observe(const float* data, std::size_t count) {
  if (form_ == Form::kPerChannel)
    return InvalidArgument(Name() + ": Observe() after ObservePerChannel() (one form per observer)");
  if (count > 0 && data == nullptr) return InvalidArgument(Name() + ": null data");
  form_ = Form::kPerTensor;
  if (!tensor_) tensor_ = MakeObserverStream(options_);
  const StridedValues v{data, count, 1};
  const BatchSummary s = Summarize(v);
  ++batches_;
  finite_ += s.finite;
  nonfinite_ += static_cast<std::int64_t>(count) - s.finite;
  tensor_->Update(v, s);
  return Status::Ok();
}

Status Observer::ObservePerChannel(const float* data, std::size_t rows, int channels) {
  if (form_ == Form::kPerTensor)
    return InvalidArgument(Name() + ": ObservePerChannel() after Observe() (one form per observer)");
  if (channels <= 0) return InvalidArgument(Name() + ": channels must be positive, got " + std::to_string(channels));
  if (form_ == Form::kPerChannel && channels != channels_)
    return InvalidArgument(Name() + ": " + std::to_string(channels) + " channels, earlier batches had " +
                           std::to_string(channels_));
  if (rows > 0 && data == nullptr) return InvalidArgument(Name() + ": null data");
  if (form_ == Form::kNone) {
    form_ = Form::kPerChannel;
    channels_ = channels;
    tensor_ = MakeObserverStream(options_);
    per_channel_.clear();
    for (int c = 0; c < channels; ++c) per_channel_.push_back(MakeObserverStream(options_));
  }
  const auto cs = static_cast<std::size_t>(channels);
  const StridedValues all{data, rows * cs, 1};
  const BatchSummary s = Summarize(all);
  ++batches_;
  finite_ += s.finite;
  nonfinite_ += static_cast<std::int64_t>(rows * cs) - s.finite;
  tensor_->Update(all, s);
  for (std::size_t c = 0; c < cs; ++c) {
    const StridedValues v{data == nullptr ? nullptr : data + c, rows, cs};
    per_channel_[c]->Update(v, Summarize(v));
  }
  return Status::Ok();
}

Result<std::vector<Range>> Observer::ClipRanges(const QuantTarget& target) const {
  QUALM_RETURN_IF_ERROR(Validate(target));
  std::vector<const ObserverStream*> streams;
  if (target.granularity == QuantGranularity::kPerChannel) {
    if (form_ != Form::kPerChannel)
      return InvalidArgument(Name() + ": a per-channel target needs ObservePerChannel() data");
    for (const auto& s : per_channel_) streams.push_back(s.get());
  } else {
    streams.push_back(tensor_.get());
  }
  std::vector<Range> ranges;
  for (std::size_t c = 0; c < streams.size(); ++c) {
    const std::string where = streams.size() > 1 ? " (channel " + std::to_string(c) + ")" : "";
    if (streams[c] == nullptr || streams[c]->finite() == 0)
      return InvalidArgument(Name() + ": no finite values observed" + where);
    auto r = streams[c]->Estimate(target);
    if (!r.ok()) return r.status().WithContext(Name() + where);
    ranges.push_back(*r);
  }
  return ranges;
}

Result<std::vector<QuantParams>> Observer::Compute(const QuantTarget& target) const {
  QUALM_ASSIGN_OR_RETURN(std::vector<Range> ranges, ClipRanges(target));
  std::vector<QuantParams> params;
  params.reserve(ranges.size());
  for (std::size_t c = 0; c < ranges.size(); ++c) {
    const Range& r = ranges[c];
    if (target.scheme == QuantGrid::kSymmetric) {
      params.push_back(kernels::ChooseSymmetricParams(std::max(std::fabs(r.min), std::fabs(r.max)), target.qmax));
    } else {
      auto p = kernels::ChooseQuantParams(r.min, r.max, target.qmin, target.qmax);
      if (!p.ok()) {
        const std::string where = ranges.size() > 1 ? " (channel " + std::to_string(c) + ")" : "";
        return p.status().WithContext(Name() + where);
      }
      params.push_back(*p);
    }
  }
  return params;
}

// ---------------------------------------------------------------------------
// Weights

Result<std::vector<QuantParams>> ChooseWeightParamsPerChannel(const float* w, int out_channels,
                                                              std::int64_t per_channel, std::int32_t qmax) {
  if (out_channels <= 0 || per_channel <= 0 || w == nullptr)
    return InvalidArgument("weight params: empty weight (" + std::to_string(out_channels) + " channels x " +
                           std::to_string(per_channel) + ")");
  if (qmax < 1) return InvalidArgument("weight params: qmax " + std::to_string(qmax) + " < 1");
  std::vector<QuantParams> params;
  params.reserve(static_cast<std::size_t>(out_channels));
  for (int c = 0; c < out_channels; ++c) {
    const float* row = w + static_cast<std::int64_t>(c) * per_channel;
    float max_abs = 0.0f;
    for (std::int64_t i = 0; i < per_channel; ++i) {
      if (!std::isfinite(row[i]))
        return InvalidArgument("weight params: non-finite weight in channel " + std::to_string(c) + " at " +
                               std::to_string(i));
      max_abs = std::max(max_abs, std::fabs(row[i]));
    }
    params.push_back(kernels::ChooseSymmetricParams(max_abs, qmax));
  }
  return params;
}

Result<std::vector<QuantParams>> ChooseWeightParamsPerChannel(const Tensor& weight, std::int32_t qmax) {
  if (weight.dtype() != DType::kF32)
    return InvalidArgument(std::string("weight params: dtype ") + DTypeName(weight.dtype()) + ", expected f32");
  if (weight.shape().rank() < 1 || weight.empty())
    return InvalidArgument("weight params: empty or rank-0 weight " + weight.shape().ToString());
  const std::int64_t out = weight.shape()[0];
  return ChooseWeightParamsPerChannel(weight.f32(), static_cast<int>(out), weight.elements() / out, qmax);
}

}  // namespace qualm
