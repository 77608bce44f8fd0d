// Quantization-aware training (qualm/engine/qat.h).
#include "qualm/engine/qat.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "qualm/engine/lower.h"
#include "qualm/engine/ptq.h"

namespace qualm {

Result<std::unique_ptr<Qat>> Qat::Create(Model* model, const QatOptions& options) {
  if (model->quant.quantized())
    return InvalidArgument(std::string("QAT starts from a float model, this one is ") + QuantSchemeName(model->quant.scheme));
  if (options.max_batch <= 0) return InvalidArgument("QAT: max_batch must be positive");
  QUALM_RETURN_IF_ERROR(qualm::Validate(options.observer));
  QUALM_ASSIGN_OR_RETURN(Model lowered, LowerForInt8(*model));
  *model = std::move(lowered);
  std::unique_ptr<Qat> q(new Qat());
  q->model_ = model;
  q->options_ = options;
  q->observers_.resize(model->nodes.size());
  for (std::size_t i = 0; i < model->nodes.size(); ++i) {
    if (i == 0 && model->input_type == SampleType::kInt32) continue;
    QUALM_ASSIGN_OR_RETURN(q->observers_[i], MakeObserver(options.observer));
  }
  return q;
}

Result<QuantSpec> Qat::CurrentSpec() const {
  std::vector<kernels::QuantParams> params(model_->nodes.size());
  for (std::size_t i = 0; i < observers_.size(); ++i) {
    if (!observers_[i] || observers_[i]->finite_count() == 0) continue;
    QUALM_ASSIGN_OR_RETURN(auto p, observers_[i]->Compute(QuantTarget::ActivationS8()));
    params[i] = p[0];
  }
  QUALM_ASSIGN_OR_RETURN(QuantSpec spec, BuildInt8Spec(*model_, params, {options_.mode, options_.lstm_cell_exponent, false}));
  spec.info["qat"] = ObserverName(options_.observer);
  return spec;
}

Status Qat::BeforeStep(int n) {
  observe_ = true;
  replace_ = seeded_;
  if (replace_) {
    QUALM_ASSIGN_OR_RETURN(spec_, CurrentSpec());
    QUALM_ASSIGN_OR_RETURN(int8_, Int8Executor::Create(model_, &spec_, std::max(n, options_.max_batch)));
  }
  seeded_ = true;
  return Status::Ok();
}

Status Qat::BeginInference(int n) {
  if (!seeded_) return InvalidArgument("QAT: no training step has run yet (the observers have no ranges)");
  observe_ = false;
  replace_ = true;
  QUALM_ASSIGN_OR_RETURN(spec_, CurrentSpec());
  QUALM_ASSIGN_OR_RETURN(int8_, Int8Executor::Create(model_, &spec_, std::max(n, options_.max_batch)));
  return Status::Ok();
}

void Qat::AfterNode(Executor& ex, int node, int n) {
  ValueBuffers& v = ex.mutable_value(node);
  const std::size_t count = static_cast<std::size_t>(n * v.sample_shape.elements());
  const auto i = static_cast<std::size_t>(node);
  if (observe_ && observers_[i]) {
    // Non-finite values are counted by the observer and ignored; the training
    // loop reports a diverged loss on its own.
    (void)observers_[i]->Observe(v.value.f32(), count);
  }
  if (!replace_) return;
  if (node == 0) {
    int8_->SetInput(v.value.raw(), n);
    int8_->RunNode(0, n);
    if (model_->input_type == SampleType::kInt32) return;  // ids stay ids
  } else {
    int8_->RunNode(node, n);
  }
  const kernels::QuantParams& q = spec_.nodes[i].output;
  const std::int8_t* src = int8_->value(node).data<std::int8_t>();
  float* dst = v.value.f32();
  for (std::size_t k = 0; k < count; ++k) dst[k] = kernels::DequantizeValue(src[k], q.scale, q.zero_point);
}

Result<double> Qat::Validate(const Dataset& validation) {
  QUALM_ASSIGN_OR_RETURN(Model m, Convert());
  EvalOptions eo;
  eo.keep_probabilities = false;
  QUALM_ASSIGN_OR_RETURN(EvalResult r, Evaluate(m, validation, eo));
  return r.accuracy;
}

Result<Model> Qat::Convert() const {
  if (!seeded_) return InvalidArgument("QAT: no training step has run yet (the observers have no ranges)");
  Model m = *model_;
  QUALM_ASSIGN_OR_RETURN(m.quant, CurrentSpec());
  return m;
}

bool Qat::resumable() const {
  return std::holds_alternative<MinMaxOptions>(options_.observer) ||
         std::holds_alternative<MovingAverageOptions>(options_.observer);
}

// "seeded;lo:hi;-;lo:hi;..." with lo and hi as float bit patterns in hex and
// "-" for a value without an observer (or one that has seen nothing).
std::string Qat::StateString() const {
  std::ostringstream out;
  out << (seeded_ ? 1 : 0);
  for (const auto& ob : observers_) {
    out << ';';
    auto r = ob && ob->finite_count() > 0 ? ob->ClipRanges(QuantTarget::ActivationS8())
                                          : Result<std::vector<Range>>(InvalidArgument("none"));
    if (!r.ok()) {
      out << '-';
      continue;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x:%08x", std::bit_cast<std::uint32_t>((*r)[0].min),
                  std::bit_cast<std::uint32_t>((*r)[0].max));
    out << buf;
  }
  return out.str();
}

Status Qat::RestoreState(const std::string& state) {
  if (!resumable()) return InvalidArgument("QAT with observer " + ObserverName(options_.observer) + " cannot resume");
  std::vector<std::string> parts;
  std::stringstream in(state);
  for (std::string item; std::getline(in, item, ';');) parts.push_back(item);
  if (parts.size() != observers_.size() + 1 || (parts[0] != "0" && parts[0] != "1"))
    return InvalidArgument("QAT checkpoint state does not match the model (" + std::to_string(parts.size()) +
                           " fields for " + std::to_string(observers_.size()) + " values)");
  seeded_ = parts[0] == "1";
  for (std::size_t i = 0; i < observers_.size(); ++i) {
    const std::string& p = parts[i + 1];
    if (!observers_[i]) continue;
    observers_[i]->Reset();
    if (p == "-") continue;
    unsigned lo = 0, hi = 0;
    if (std::sscanf(p.c_str(), "%8x:%8x", &lo, &hi) != 2)
      return InvalidArgument("QAT checkpoint state: bad range '" + p + "'");
    const float range[2] = {std::bit_cast<float>(static_cast<std::uint32_t>(lo)),
                            std::bit_cast<float>(static_cast<std::uint32_t>(hi))};
    QUALM_RETURN_IF_ERROR(observers_[i]->Observe(range, 2));
  }
  return Status::Ok();
}

int QatAgreement::max_units() const {
  int m = 0;
  for (const auto& l : layers) m = std::max(m, l.max_units);
  return m;
}

Result<QatAgreement> CompareWithInt8(Qat& qat, const Model& int8, const Dataset& data, int batch_size) {
  Model& model = qat.model();
  QUALM_RETURN_IF_ERROR(CheckDataset(model, data));
  if (int8.nodes.size() != model.nodes.size()) return InvalidArgument("the int8 model has a different graph");
  ExecutorOptions eo;
  eo.max_batch = batch_size;
  eo.backend = Backend::kReference;
  QUALM_ASSIGN_OR_RETURN(auto fx, Executor::Create(model, eo));
  QUALM_ASSIGN_OR_RETURN(auto ix, Int8Executor::Create(&int8, batch_size));
  QUALM_RETURN_IF_ERROR(qat.BeginInference(batch_size));
  QatAgreement r;
  r.samples = data.size();
  for (std::size_t i = 0; i < model.nodes.size(); ++i)
    if (int8.quant.nodes[i].has_output) r.layers.push_back({model.nodes[i].name, 0, 0});
  const std::size_t ss = data.sample_size();
  const int classes = model.num_classes;
  for (std::size_t begin = 0; begin < data.size(); begin += static_cast<std::size_t>(batch_size)) {
    const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch_size), data.size() - begin));
    const void* input = data.sample_type == SampleType::kInt32 ? static_cast<const void*>(&data.i32[begin * ss])
                                                               : static_cast<const void*>(&data.f32[begin * ss]);
    fx->Forward(input, n, &qat);
    ix->Forward(input, n);
    std::size_t layer = 0;
    for (std::size_t i = 0; i < model.nodes.size(); ++i) {
      const NodeQuant& q = int8.quant.nodes[i];
      if (!q.has_output) continue;
      LayerDiff& d = r.layers[layer++];
      const float* f = fx->values()[i].value.f32();
      const std::int8_t* b = ix->value(static_cast<int>(i)).data<std::int8_t>();
      const std::int64_t count = n * fx->values()[i].sample_shape.elements();
      for (std::int64_t k = 0; k < count; ++k) {
        // The QAT value in units of the int8 model's grid.
        const double units = std::nearbyint(static_cast<double>(f[k]) / q.output.scale) + q.output.zero_point;
        const int diff = static_cast<int>(std::fabs(units - b[k]));
        d.max_units = std::max(d.max_units, diff);
        d.differing += diff != 0;
      }
    }
    for (int s = 0; s < n; ++s) {
      const float* a = fx->logits() + s * classes;
      const float* b = ix->logits() + s * classes;
      if (std::max_element(a, a + classes) - a != std::max_element(b, b + classes) - b)
        r.disagreements.push_back(begin + static_cast<std::size_t>(s));
    }
  }
  return r;
}

}  // namespace qualm
