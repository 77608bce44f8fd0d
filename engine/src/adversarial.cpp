#include "qualm/engine/adversarial.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "qualm/engine/evaluate.h"
#include "qualm/kernels/softmax.h"
#include "stream_seed.h"

namespace qualm {
namespace {

float Sign(float g) { return g > 0.0f ? 1.0f : (g < 0.0f ? -1.0f : 0.0f); }

// The embedding node that reads the model input (text models), or 0.
int EmbeddingNode(const Model& m) {
  for (std::size_t i = 1; i < m.nodes.size(); ++i)
    if (std::holds_alternative<EmbeddingOp>(m.nodes[i].op) && m.nodes[i].inputs == std::vector<int>{0})
      return static_cast<int>(i);
  return 0;
}

// Root mean square of a float tensor, summed in index order in double.
double Rms(const Tensor& t) {
  double sq = 0.0;
  for (std::int64_t i = 0; i < t.elements(); ++i) sq += static_cast<double>(t.f32()[i]) * t.f32()[i];
  return t.elements() > 0 ? std::sqrt(sq / static_cast<double>(t.elements())) : 0.0;
}

}  // namespace

Status ValidateAdversarial(const AdversarialConfig& c) {
  if (!(c.eps > 0.0f) || !std::isfinite(c.eps))
    return InvalidArgument("adversarial eps must be positive, got " + std::to_string(c.eps));
  if (!(c.step > 0.0f) || !std::isfinite(c.step))
    return InvalidArgument("adversarial step must be positive, got " + std::to_string(c.step));
  if (c.iterations < 1)
    return InvalidArgument("adversarial iterations must be at least 1, got " + std::to_string(c.iterations));
  if (!(c.fraction > 0.0f && c.fraction <= 1.0f))
    return InvalidArgument("adversarial fraction must be in (0, 1], got " + std::to_string(c.fraction));
  return Status::Ok();
}

Result<std::unique_ptr<PgdAttack>> PgdAttack::Create(Executor* executor, const AdversarialConfig& config) {
  QUALM_RETURN_IF_ERROR(ValidateAdversarial(config));
  if (!executor || !executor->options().training)
    return InvalidArgument("a PGD attack needs a training executor (it backpropagates to its input)");
  const Model& m = executor->model();
  std::unique_ptr<PgdAttack> a(new PgdAttack());
  a->ex_ = executor;
  a->config_ = config;
  a->classes_ = m.num_classes;
  if (m.input_type == SampleType::kInt32) {
    a->embedding_node_ = EmbeddingNode(m);
    if (a->embedding_node_ == 0)
      return InvalidArgument("a PGD attack on a token-id model perturbs its embedding output, and " + m.arch +
                             " has no embedding reading the input");
  } else if (executor->values()[0].grad.empty()) {
    return InvalidArgument("a PGD attack on images needs an executor made with ExecutorOptions::input_gradient");
  }
  const ValueBuffers& attacked = executor->values()[static_cast<std::size_t>(a->embedding_node_)];
  a->row_ = static_cast<std::size_t>(attacked.sample_shape.elements());
  const std::size_t total = a->row_ * static_cast<std::size_t>(executor->max_batch());
  a->x_.resize(total);
  if (a->text()) a->delta_.resize(total);
  else a->lo_.resize(total), a->hi_.resize(total);
  a->probs_.resize(static_cast<std::size_t>(executor->max_batch()) * a->classes_);
  a->dlogits_.resize(a->probs_.size());
  return a;
}

void PgdAttack::LossGradient(const std::int32_t* labels, int n) {
  kernels::ref::softmax_cross_entropy_f32(n, classes_, ex_->logits(), labels, probs_.data());
  std::fill(dlogits_.begin(), dlogits_.begin() + static_cast<std::ptrdiff_t>(n) * classes_, 0.0f);
  // Scale 1: each sample's step depends only on the sign of its own gradient.
  kernels::ref::softmax_cross_entropy_backward_f32(n, classes_, probs_.data(), labels, 1.0f, dlogits_.data());
}

void PgdAttack::Run(void* input, const std::int32_t* labels, int n, Rng& rng) {
  QUALM_DCHECK(n > 0 && n <= ex_->max_batch());
  const bool was_eval = ex_->eval_mode();
  ex_->SetEvalMode(true);
  const std::size_t total = row_ * static_cast<std::size_t>(n);
  if (!text()) {
    radius_ = config_.eps;
    step_ = config_.step;
    float* x0 = static_cast<float*>(input);
    // The feasible set is the ball intersected with [0, 1]: one box per pixel.
    for (std::size_t i = 0; i < total; ++i) {
      lo_[i] = std::max(x0[i] - radius_, 0.0f);
      hi_[i] = std::min(x0[i] + radius_, 1.0f);
      x_[i] = std::clamp(x0[i] + rng.Uniform(-radius_, radius_), lo_[i], hi_[i]);
    }
    for (int it = 0; it < config_.iterations; ++it) {
      ex_->Forward(x_.data(), n);
      LossGradient(labels, n);
      ex_->Backward(dlogits_.data());
      const float* g = ex_->values()[0].grad.f32();
      for (std::size_t i = 0; i < total; ++i) x_[i] = std::clamp(x_[i] + step_ * Sign(g[i]), lo_[i], hi_[i]);
    }
    std::memcpy(x0, x_.data(), total * sizeof(float));
  } else {
    const double rms = Rms(ex_->model().nodes[static_cast<std::size_t>(embedding_node_)].param("table").value);
    radius_ = static_cast<float>(config_.eps * rms);
    step_ = static_cast<float>(config_.step * rms);
    for (std::size_t i = 0; i < total; ++i) delta_[i] = rng.Uniform(-radius_, radius_);
    perturbed_rows_ = n;
    const std::size_t emb = static_cast<std::size_t>(embedding_node_);
    for (int it = 0; it < config_.iterations; ++it) {
      ex_->Forward(input, n, this);
      LossGradient(labels, n);
      ex_->Backward(dlogits_.data());
      // The embedding output's gradient is the perturbation's (out = e + delta).
      const float* g = ex_->values()[emb].grad.f32();
      for (std::size_t i = 0; i < total; ++i)
        delta_[i] = std::clamp(delta_[i] + step_ * Sign(g[i]), -radius_, radius_);
    }
  }
  ex_->SetEvalMode(was_eval);
}

void PgdAttack::AfterNode(Executor& ex, int node, int n) {
  if (node != embedding_node_ || !text()) return;
  float* y = ex.mutable_value(node).value.f32();
  const std::size_t count = row_ * static_cast<std::size_t>(std::min(n, perturbed_rows_));
  for (std::size_t i = 0; i < count; ++i) y[i] += delta_[i];
}

Result<RobustnessResult> EvaluateRobustness(const Model& model, const Dataset& data, const RobustnessOptions& o) {
  QUALM_RETURN_IF_ERROR(CheckDataset(model, data));
  if (model.quant.quantized())
    return InvalidArgument("PGD attacks float models; this one is quantized (" +
                           std::string(QuantSchemeName(model.quant.scheme)) + ")");
  if (o.batch_size < 1) return InvalidArgument("batch size must be at least 1");
  Model copy = model;  // a training executor needs a mutable model; eval mode never changes it
  ExecutorOptions eo;
  eo.max_batch = o.batch_size;
  eo.backend = o.backend;
  eo.threads = o.threads;
  eo.input_gradient = model.input_type == SampleType::kFloat32;
  QUALM_ASSIGN_OR_RETURN(auto ex, Executor::CreateForTraining(&copy, eo));
  ex->SetEvalMode(true);
  AdversarialConfig cfg = o.attack;
  cfg.fraction = 1.0f;
  QUALM_ASSIGN_OR_RETURN(auto attack, PgdAttack::Create(ex.get(), cfg));
  const std::size_t ss = data.sample_size();
  const int classes = model.num_classes;
  std::vector<float> buf_f(data.sample_type == SampleType::kFloat32 ? ss * o.batch_size : 0);
  std::vector<float> probs(static_cast<std::size_t>(o.batch_size) * classes);
  RobustnessResult r;
  double clean_loss = 0, adv_loss = 0;
  std::size_t clean_ok = 0, adv_ok = 0;
  const int batches = static_cast<int>((data.size() + o.batch_size - 1) / o.batch_size);
  for (int b = 0; b < batches; ++b) {
    const std::size_t begin = static_cast<std::size_t>(b) * o.batch_size;
    const int n = static_cast<int>(std::min<std::size_t>(o.batch_size, data.size() - begin));
    const std::int32_t* labels = data.labels.data() + begin;
    void* input = nullptr;
    if (data.sample_type == SampleType::kFloat32) {
      std::memcpy(buf_f.data(), data.f32.data() + begin * ss, n * ss * sizeof(float));
      input = buf_f.data();
    } else {
      input = const_cast<std::int32_t*>(data.i32.data() + begin * ss);  // read only: text attacks keep the ids
    }
    auto score = [&](ForwardHook* hook, double& loss, std::size_t& ok) {
      ex->Forward(input, n, hook);
      loss += static_cast<double>(kernels::ref::softmax_cross_entropy_f32(n, classes, ex->logits(), labels,
                                                                           probs.data())) * n;
      for (int i = 0; i < n; ++i) ok += Argmax(ex->logits() + i * classes, classes) == labels[i];
    };
    score(nullptr, clean_loss, clean_ok);
    Rng rng(internal::BatchStreamSeed(o.seed, 0, b, 7));
    attack->Run(input, labels, n, rng);
    score(attack->hook(), adv_loss, adv_ok);
    r.radius = std::max(r.radius, static_cast<double>(attack->radius()));
    if (attack->text()) {
      for (std::size_t i = 0; i < static_cast<std::size_t>(n) * attack->row(); ++i)
        r.max_perturbation = std::max(r.max_perturbation, static_cast<double>(std::fabs(attack->perturbation()[i])));
    } else {
      for (std::size_t i = 0; i < n * ss; ++i)
        r.max_perturbation =
            std::max(r.max_perturbation, static_cast<double>(std::fabs(buf_f[i] - data.f32[begin * ss + i])));
    }
  }
  r.samples = data.size();
  r.clean_accuracy = static_cast<double>(clean_ok) / static_cast<double>(r.samples);
  r.adversarial_accuracy = static_cast<double>(adv_ok) / static_cast<double>(r.samples);
  r.clean_loss = clean_loss / static_cast<double>(r.samples);
  r.adversarial_loss = adv_loss / static_cast<double>(r.samples);
  return r;
}

}  // namespace qualm
