#include "qualm/engine/train.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "qualm/kernels/softmax.h"
#include "stream_seed.h"
#include "train_strategy.h"

namespace qualm {

const char* OptimizerName(OptimizerKind k) { return k == OptimizerKind::kSgd ? "sgd" : "adam"; }
const char* ScheduleName(LrSchedule s) {
  switch (s) {
    case LrSchedule::kConstant: return "constant";
    case LrSchedule::kCosine: return "cosine";
    case LrSchedule::kStep: return "step";
  }
  return "?";
}
Result<OptimizerKind> ParseOptimizer(const std::string& s) {
  if (s == "sgd") return OptimizerKind::kSgd;
  if (s == "adam") return OptimizerKind::kAdam;
  return InvalidArgument("unknown optimizer '" + s + "' (expected sgd or adam)");
}
Result<LrSchedule> ParseSchedule(const std::string& s) {
  if (s == "constant") return LrSchedule::kConstant;
  if (s == "cosine") return LrSchedule::kCosine;
  if (s == "step") return LrSchedule::kStep;
  return InvalidArgument("unknown schedule '" + s + "' (expected constant, cosine or step)");
}

using internal::StreamSeed;


Trainer::~Trainer() = default;

Result<std::unique_ptr<Trainer>> Trainer::Create(Model* model, const TrainConfig& config) {
  if (config.epochs < 0 || config.batch_size <= 0) return InvalidArgument("epochs and batch size must be positive");
  if (!(config.lr > 0.0f)) return InvalidArgument("learning rate must be positive");
  std::unique_ptr<Trainer> t(new Trainer());
  t->model_ = model;
  t->config_ = config;
  ExecutorOptions eo;
  eo.max_batch = config.batch_size;
  eo.backend = config.backend;
  eo.threads = config.threads;
  eo.seed = config.seed;
  eo.input_gradient = internal::NeedsInputGradient(config, *model);
  QUALM_ASSIGN_OR_RETURN(t->executor_, Executor::CreateForTraining(model, eo));
  QUALM_ASSIGN_OR_RETURN(t->strategy_, internal::MakeBatchStrategy(config, t->executor_.get()));
  const std::size_t n = model->nodes.size();
  t->state_.slot1.resize(n);
  t->state_.slot2.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& p : model->nodes[i].params) {
      const bool keep = p.trainable;
      t->state_.slot1[i].push_back(keep ? Tensor(DType::kF32, p.value.shape()) : Tensor());
      t->state_.slot2[i].push_back(keep && config.optimizer == OptimizerKind::kAdam ? Tensor(DType::kF32, p.value.shape())
                                                                                      : Tensor());
    }
  const std::size_t sample = static_cast<std::size_t>(Shape(model->input_shape).elements());
  if (model->input_type == SampleType::kInt32) t->batch_i32_.resize(sample * config.batch_size);
  else t->batch_f32_.resize(sample * config.batch_size);
  t->batch_labels_.resize(static_cast<std::size_t>(config.batch_size));
  t->probs_.resize(static_cast<std::size_t>(config.batch_size * model->num_classes));
  t->dlogits_.resize(t->probs_.size());
  return t;
}

double Trainer::LearningRate(int epoch, int batch, int batches) const {
  // epoch is 0-based here; progress t in [0, 1) over the whole run.
  const double pos = epoch + static_cast<double>(batch) / batches;
  double lr = config_.lr;
  switch (config_.schedule) {
    case LrSchedule::kConstant: break;
    case LrSchedule::kCosine: lr *= 0.5 * (1.0 + std::cos(M_PI * pos / std::max(1, config_.epochs))); break;
    case LrSchedule::kStep: lr *= std::pow(config_.step_gamma, epoch / std::max(1, config_.step_every)); break;
  }
  if (config_.warmup_epochs > 0 && pos < config_.warmup_epochs) lr *= (pos + 1.0 / batches) / config_.warmup_epochs;
  return lr;
}

void Trainer::GatherBatch(const Dataset& d, const std::vector<std::size_t>& order, std::size_t begin, int n,
                          Rng& aug_rng) {
  const std::size_t ss = d.sample_size();
  for (int b = 0; b < n; ++b) {
    const std::size_t idx = order[begin + static_cast<std::size_t>(b)];
    batch_labels_[static_cast<std::size_t>(b)] = d.labels[idx];
    if (d.sample_type == SampleType::kInt32) {
      std::memcpy(&batch_i32_[b * ss], &d.i32[idx * ss], ss * sizeof(std::int32_t));
      continue;
    }
    const float* src = &d.f32[idx * ss];
    float* dst = &batch_f32_[b * ss];
    const bool flip = config_.augment_flip && (aug_rng.NextU64() & 1u);
    int dy = 0, dx = 0;
    if (config_.augment_shift > 0) {
      const auto span = static_cast<std::uint64_t>(2 * config_.augment_shift + 1);
      dy = static_cast<int>(aug_rng.Below(span)) - config_.augment_shift;
      dx = static_cast<int>(aug_rng.Below(span)) - config_.augment_shift;
    }
    if (!flip && dx == 0 && dy == 0) {
      std::memcpy(dst, src, ss * sizeof(float));
      continue;
    }
    const int h = d.sample_shape[0], w = d.sample_shape[1], c = d.sample_shape[2];
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int sy = y + dy, sx0 = x + dx;
        const int sx = flip ? (w - 1 - sx0) : sx0;
        for (int k = 0; k < c; ++k)
          dst[(y * w + x) * c + k] = (sy < 0 || sy >= h || sx0 < 0 || sx0 >= w) ? 0.0f : src[(sy * w + sx) * c + k];
      }
  }
}

void Trainer::Step(float lr) {
  auto& grads = executor_->param_grads();
  // Global-norm clipping, summed in node/parameter/index order.
  float scale = 1.0f;
  if (config_.clip_grad_norm > 0.0f) {
    double sq = 0.0;
    for (auto& node_grads : grads)
      for (auto& g : node_grads)
        if (!g.empty())
          for (std::int64_t i = 0; i < g.elements(); ++i) sq += static_cast<double>(g.f32()[i]) * g.f32()[i];
    const double norm = std::sqrt(sq);
    if (norm > config_.clip_grad_norm) scale = static_cast<float>(config_.clip_grad_norm / norm);
  }
  ++state_.steps;
  const float b1 = config_.beta1, b2 = config_.beta2;
  const float c1 = 1.0f - static_cast<float>(std::pow(b1, static_cast<double>(state_.steps)));
  const float c2 = 1.0f - static_cast<float>(std::pow(b2, static_cast<double>(state_.steps)));
  for (std::size_t i = 0; i < grads.size(); ++i) {
    auto& params = model_->nodes[i].params;
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (!params[k].trainable) continue;
      float* w = params[k].value.f32();
      const float* g = grads[i][k].f32();
      float* m = state_.slot1[i][k].f32();
      const float wd = params[k].value.shape().rank() >= 2 ? config_.weight_decay : 0.0f;
      const std::int64_t n = params[k].value.elements();
      if (config_.optimizer == OptimizerKind::kSgd) {
        const float mu = config_.momentum;
        for (std::int64_t j = 0; j < n; ++j) {
          const float gj = g[j] * scale + wd * w[j];
          m[j] = mu * m[j] + gj;
          w[j] -= lr * (config_.nesterov ? gj + mu * m[j] : m[j]);
        }
      } else {
        float* v = state_.slot2[i][k].f32();
        for (std::int64_t j = 0; j < n; ++j) {
          const float gj = g[j] * scale + wd * w[j];
          m[j] = b1 * m[j] + (1.0f - b1) * gj;
          v[j] = b2 * v[j] + (1.0f - b2) * gj * gj;
          w[j] -= lr * (m[j] / c1) / (std::sqrt(v[j] / c2) + config_.adam_eps);
        }
      }
    }
  }
}

Result<EpochReport> Trainer::RunEpoch(const Dataset& train, const Dataset* validation,
                                      const std::function<void(const BatchProgress&)>& progress) {
  QUALM_RETURN_IF_ERROR(CheckDataset(*model_, train));
  if (validation) QUALM_RETURN_IF_ERROR(CheckDataset(*model_, *validation));
  if (hook_ && strategy_)
    return InvalidArgument(std::string("a training hook (QAT) combines with standard training only, not with ") +
                           StrategyName(config_.strategy));
  const int epoch = state_.epochs_done;  // 0-based
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::size_t> order = SeededPermutation(train.size(), StreamSeed(config_.seed, epoch, 1));
  Rng aug_rng(StreamSeed(config_.seed, epoch, 2));
  executor_->Reseed(StreamSeed(config_.seed, epoch, 3));
  const int bs = config_.batch_size;
  const int batches = static_cast<int>((train.size() + bs - 1) / bs);
  const int classes = model_->num_classes;
  double loss_sum = 0.0;
  std::size_t correct = 0, seen = 0;
  double lr = 0;
  for (int b = 0; b < batches; ++b) {
    const std::size_t begin = static_cast<std::size_t>(b) * bs;
    const int n = static_cast<int>(std::min<std::size_t>(bs, train.size() - begin));
    GatherBatch(train, order, begin, n, aug_rng);
    const void* input = model_->input_type == SampleType::kInt32 ? static_cast<const void*>(batch_i32_.data())
                                                                 : static_cast<const void*>(batch_f32_.data());
    if (hook_) QUALM_RETURN_IF_ERROR(hook_->BeforeStep(n));
    ForwardHook* forward_hook = hook_;
    BackwardHook* backward_hook = nullptr;
    if (strategy_) {
      strategy_->Prepare(model_->input_type == SampleType::kInt32 ? static_cast<void*>(batch_i32_.data())
                                                                  : static_cast<void*>(batch_f32_.data()),
                         batch_labels_.data(), n, internal::BatchStreamSeed(config_.seed, epoch, b, 4));
      forward_hook = strategy_->forward_hook();
      backward_hook = strategy_->backward_hook();
    }
    executor_->Forward(input, n, forward_hook);
    const float* logits = executor_->logits();
    std::fill(dlogits_.begin(), dlogits_.begin() + n * classes, 0.0f);
    float loss = 0.0f;
    if (strategy_) {
      loss = strategy_->LossAndGradient(n, classes, logits, batch_labels_.data(), probs_.data(), dlogits_.data());
    } else {
      loss = kernels::ref::softmax_cross_entropy_f32(n, classes, logits, batch_labels_.data(), probs_.data());
      kernels::ref::softmax_cross_entropy_backward_f32(n, classes, probs_.data(), batch_labels_.data(),
                                                       1.0f / static_cast<float>(n), dlogits_.data());
    }
    if (!std::isfinite(loss))
      return InvalidArgument("training diverged at epoch " + std::to_string(epoch + 1) + " batch " +
                             std::to_string(b + 1) + " (loss is not finite); lower the learning rate");
    executor_->ZeroParamGrads();
    executor_->Backward(dlogits_.data(), backward_hook);
    lr = LearningRate(epoch, b, batches);
    Step(static_cast<float>(lr));
    loss_sum += static_cast<double>(loss) * n;
    const std::int32_t* truth = strategy_ ? strategy_->AccuracyLabels(batch_labels_.data(), n) : batch_labels_.data();
    for (int i = 0; i < n; ++i) correct += Argmax(logits + i * classes, classes) == truth[i];
    seen += static_cast<std::size_t>(n);
    if (progress) {
      BatchProgress bp;
      bp.epoch = epoch + 1;
      bp.epochs = config_.epochs;
      bp.batch = b + 1;
      bp.batches = batches;
      bp.loss = loss_sum / static_cast<double>(seen);
      bp.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
      bp.epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress(bp);
    }
  }
  EpochReport r;
  r.epoch = epoch + 1;
  r.lr = lr;
  r.train_loss = loss_sum / static_cast<double>(seen);
  r.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state_.epochs_done = epoch + 1;
  if (validation && hook_) {
    QUALM_ASSIGN_OR_RETURN(r.validation_accuracy, hook_->Validate(*validation));
  } else if (validation) {
    EvalOptions eo;
    eo.backend = config_.backend;
    eo.threads = config_.threads;
    eo.keep_probabilities = false;
    QUALM_ASSIGN_OR_RETURN(EvalResult ev, Evaluate(*model_, *validation, eo));
    r.validation_accuracy = ev.accuracy;
  }
  return r;
}

}  // namespace qualm
