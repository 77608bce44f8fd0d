// The calibration driver (qualm/engine/calibration.h).
#include "qualm/engine/calibration.h"

#include <algorithm>
#include <memory>

namespace qualm {
namespace {

std::string ShapeString(const std::vector<std::int64_t>& dims) { return Shape(dims).ToString(); }

Status CheckInputs(const Model& model, const Dataset& data, const CalibrationOptions& o) {
  if (o.samples <= 0) return InvalidArgument("calibration: samples must be positive, got " + std::to_string(o.samples));
  if (o.batch_size <= 0)
    return InvalidArgument("calibration: batch size must be positive, got " + std::to_string(o.batch_size));
  if (o.threads <= 0) return InvalidArgument("calibration: threads must be positive, got " + std::to_string(o.threads));
  QUALM_RETURN_IF_ERROR(Validate(o.observer));
  QUALM_RETURN_IF_ERROR(Validate(o.target));
  if (o.target.granularity != QuantGranularity::kPerTensor)
    return InvalidArgument("calibration: activation targets are per-tensor");
  if (data.size() == 0) return InvalidArgument("calibration: data set '" + data.name + "' is empty");
  if (data.sample_type != model.input_type)
    return InvalidArgument("calibration: data set '" + data.name + "' holds " +
                           (data.sample_type == SampleType::kInt32 ? "token ids" : "float samples") +
                           ", the model expects " +
                           (model.input_type == SampleType::kInt32 ? "token ids" : "float samples"));
  const std::vector<std::int64_t> shape(data.sample_shape.begin(), data.sample_shape.end());
  if (shape != model.input_shape)
    return InvalidArgument("calibration: data set '" + data.name + "' samples are " + ShapeString(shape) +
                           ", the model expects " + ShapeString(model.input_shape));
  const std::size_t need = data.size() * data.sample_size();
  const std::size_t have = data.sample_type == SampleType::kFloat32 ? data.f32.size() : data.i32.size();
  if (have < need)
    return InvalidArgument("calibration: data set '" + data.name + "' holds " + std::to_string(have) +
                           " values for " + std::to_string(data.size()) + " samples");
  return Status::Ok();
}

}  // namespace

Result<CalibrationResult> Calibrate(const Model& model, const Dataset& data, const CalibrationOptions& options) {
  QUALM_RETURN_IF_ERROR(CheckInputs(model, data, options));
  const int samples = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options.samples), data.size()));
  const int batch = std::min(options.batch_size, samples);

  ExecutorOptions eo;
  eo.max_batch = batch;
  eo.training = false;
  eo.backend = options.backend;
  eo.threads = options.threads;
  QUALM_ASSIGN_OR_RETURN(std::unique_ptr<Executor> ex, Executor::Create(model, eo));

  const std::size_t nvalues = model.nodes.size();
  const bool int_input = model.input_type == SampleType::kInt32;
  std::vector<std::unique_ptr<Observer>> observers(nvalues);
  for (std::size_t i = 0; i < nvalues; ++i) {
    if (i == 0 && int_input) continue;
    QUALM_ASSIGN_OR_RETURN(observers[i], MakeObserver(options.observer));
  }

  CalibrationResult result;
  result.observer = ObserverName(options.observer);
  result.target = options.target;
  const std::size_t ss = data.sample_size();
  for (int start = 0; start < samples; start += batch) {
    const int n = std::min(batch, samples - start);
    const std::size_t offset = static_cast<std::size_t>(start) * ss;
    const void* input = int_input ? static_cast<const void*>(data.i32.data() + offset)
                                  : static_cast<const void*>(data.f32.data() + offset);
    ex->Forward(input, n);
    for (std::size_t i = 0; i < nvalues; ++i) {
      if (!observers[i]) continue;
      const auto& v = ex->values()[i];
      const auto count = static_cast<std::size_t>(n) * static_cast<std::size_t>(v.sample_shape.elements());
      QUALM_RETURN_IF_ERROR(observers[i]->Observe(v.value.f32(), count).WithContext(model.nodes[i].name));
    }
    ++result.batches;
    if (options.progress) options.progress(start + n, samples);
  }
  result.samples = samples;

  for (std::size_t i = 0; i < nvalues; ++i) {
    ValueCalibration vc;
    vc.name = model.nodes[i].name;
    if (!observers[i]) {
      vc.quantized = false;
      result.values.push_back(vc);
      continue;
    }
    const Observer& ob = *observers[i];
    if (ob.nonfinite_count() > 0)
      return InvalidArgument("calibration: value '" + vc.name + "' has " + std::to_string(ob.nonfinite_count()) +
                             " non-finite activations (NaN/inf) on '" + data.name + "'");
    QUALM_ASSIGN_OR_RETURN(std::vector<Range> clip, ob.ClipRanges(options.target));
    auto params = ob.Compute(options.target);
    if (!params.ok()) return params.status().WithContext("calibration: value '" + vc.name + "'");
    vc.observed = ob.observed_range();
    vc.clip = clip[0];
    vc.params = (*params)[0];
    vc.count = ob.finite_count();
    result.values.push_back(vc);
  }
  return result;
}

}  // namespace qualm
