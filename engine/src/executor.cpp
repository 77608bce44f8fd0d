#include "qualm/engine/executor.h"

#include <cstring>

#include "node_exec.h"
#include "op_table.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/onednn.h"

namespace qualm {

// The backend every op but conv2d / dense / LSTM / GRU runs with: kOnednn means kFast there.
static Backend KernelBackend(Backend b) { return b == Backend::kOnednn ? Backend::kFast : b; }

Executor::~Executor() = default;

Result<std::unique_ptr<Executor>> Executor::Create(const Model& model, const ExecutorOptions& options) {
  if (options.training)
    return InvalidArgument("a training executor changes its model: create it with Executor::CreateForTraining");
  return Make(model, nullptr, options);
}

Result<std::unique_ptr<Executor>> Executor::CreateForTraining(Model* model, ExecutorOptions options) {
  options.training = true;
  // Parameters missing from a freshly built graph are created here.
  QUALM_RETURN_IF_ERROR(InferShapes(*model).status());
  return Make(*model, model, options);
}

Result<std::unique_ptr<Executor>> Executor::Make(const Model& model_ref, Model* mutable_model,
                                                 const ExecutorOptions& options) {
  const Model* model = &model_ref;
  if (options.max_batch <= 0) return InvalidArgument("max_batch must be positive");
  if (options.input_gradient && (!options.training || model->input_type != SampleType::kFloat32))
    return InvalidArgument("an input gradient needs a training executor and a float-input model");
  if (options.threads <= 0) return InvalidArgument("threads must be positive");
  const bool onednn = options.backend == Backend::kOnednn;
  if (onednn && !kernels::onednn::Available()) return Unimplemented(kernels::onednn::kUnavailableMessage);
  if (onednn && options.training)
    return InvalidArgument("the onednn backend is for inference only (its weights are packed once at prepare): "
                           "train with --backend fast or reference");
  if (options.plan_memory && options.training)
    return InvalidArgument("a training executor keeps every activation for backward: plan_memory is for inference");
  QUALM_ASSIGN_OR_RETURN(std::vector<Shape> shapes, InferShapes(*model));
  const QuantSpec& quant = model->quant;
  if (quant.scheme == QuantScheme::kInt8)
    return InvalidArgument("an int8 model runs on the int8 executor (Int8Executor), not the float one");
  if (options.training && quant.quantized())
    return InvalidArgument(std::string("cannot train a quantized model (") + QuantSchemeName(quant.scheme) +
                           "): train its float original, or use QAT");
  if (quant.quantized() && quant.nodes.size() != model->nodes.size())
    return InvalidArgument("quantized model: " + std::to_string(quant.nodes.size()) + " quantization records for " +
                           std::to_string(model->nodes.size()) + " nodes");

  std::unique_ptr<Executor> ex(new Executor());
  ex->model_ = model;
  ex->options_ = options;
  ex->rng_ = Rng(options.seed);
  const std::size_t n = model->nodes.size();
  ex->values_.resize(n);
  ex->param_grads_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& v = ex->values_[i];
    v.sample_shape = shapes[i];
    std::vector<std::int64_t> dims{options.max_batch};
    dims.insert(dims.end(), shapes[i].dims().begin(), shapes[i].dims().end());
    const bool int_input = i == 0 && model->input_type == SampleType::kInt32;
    v.value = Tensor(int_input ? DType::kI32 : DType::kF32, Shape(dims));
    // The input's own gradient only when asked for (attacks).
    if (options.training && (i > 0 || options.input_gradient)) v.grad = Tensor(DType::kF32, Shape(dims));
    if (options.training)
      for (const auto& p : model->nodes[i].params)
        ex->param_grads_[i].push_back(p.trainable ? Tensor(DType::kF32, p.value.shape()) : Tensor());
  }
  if (options.plan_memory) QUALM_RETURN_IF_ERROR(ex->PlanValues(*model));
  std::size_t scratch = 0;
  ex->execs_.resize(n);
  for (std::size_t i = 1; i < n; ++i) {
    NodeBinding b;
    b.node = &model->nodes[i];
    for (int k : model->nodes[i].inputs) b.inputs.push_back(&ex->values_[static_cast<std::size_t>(k)]);
    b.output = &ex->values_[i];
    b.params = &model->nodes[i].params;
    if (mutable_model) b.mutable_params = &mutable_model->nodes[i].params;
    b.grads = &ex->param_grads_[i];
    b.max_batch = options.max_batch;
    b.training = options.training;
    b.threads = options.threads;
    b.backend = KernelBackend(options.backend);
    b.onednn = onednn;
    const OpEntry& entry = EntryOf(model->nodes[i].op);
    // Dynamic scheme: a node with int8 weight constants runs its op's hybrid
    // kernels, every other node its float ones.
    const bool hybrid = quant.scheme == QuantScheme::kDynamic && !quant.nodes[i].constants.empty();
    if (hybrid && !entry.make_hybrid)
      return InvalidArgument(NodeWhere(model->nodes[i]) + ": has int8 weight constants but no hybrid kernel");
    if (hybrid) b.quant = &quant.nodes[i];
    if (!entry.make_float) return Internal(NodeWhere(model->nodes[i]) + ": the op has no float executor");
    auto made = hybrid ? entry.make_hybrid(b) : entry.make_float(b);
    if (!made.ok()) return made.status().WithContext("node '" + model->nodes[i].name + "'");
    ex->execs_[i] = std::move(made).value();
    scratch = std::max(scratch, ex->execs_[i]->ScratchFloats(KernelBackend(options.backend)));
  }
  if (options.training) ex->PlanGradZeroing(*model);
  if (scratch > 0) ex->scratch_ = Tensor(DType::kF32, Shape{static_cast<std::int64_t>(scratch)});
  ex->ctx_.threads = options.threads;
  ex->ctx_.scratch = scratch > 0 ? ex->scratch_.f32() : nullptr;
  ex->ctx_.scratch_floats = scratch;
  return ex;
}

// Every activation gradient is accumulated into (kernels' += contract), so
// Backward zeroes them first: a memset of every activation's size per step.
// A value with exactly one writer (one consuming node, using it once) whose
// node agrees to assign it (NodeExec::AssignInputGrad: ReLU and batch norm on
// the fast backend) skips that memset, with the same bits; so does the logits'
// gradient, which Backward overwrites with a copy.
void Executor::PlanGradZeroing(const Model& model) {
  const std::size_t n = values_.size();
  zero_grad_.assign(n, true);
  std::vector<int> writers(n, 0), writer_node(n, -1), writer_input(n, -1);
  for (std::size_t i = 1; i < n; ++i) {
    const auto& inputs = model.nodes[i].inputs;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const auto v = static_cast<std::size_t>(inputs[k]);
      ++writers[v];
      writer_node[v] = static_cast<int>(i);
      writer_input[v] = static_cast<int>(k);
    }
  }
  for (std::size_t v = 0; v < n; ++v) {
    if (values_[v].grad.empty()) continue;
    if (v == n - 1 && writers[v] == 0) zero_grad_[v] = false;
    else if (writers[v] == 1 && execs_[static_cast<std::size_t>(writer_node[v])]->AssignInputGrad(writer_input[v]))
      zero_grad_[v] = false;
  }
}

// Replaces every value's buffer by a view into one arena, before any node is
// bound (nodes may keep pointers to their buffers). The input is written by
// Forward before step 1 and the logits are read after the last step.
Status Executor::PlanValues(const Model& model) {
  const std::size_t n = values_.size();
  std::vector<std::vector<int>> inputs(n);
  std::vector<std::size_t> bytes(n);
  for (std::size_t i = 0; i < n; ++i) {
    inputs[i] = model.nodes[i].inputs;
    bytes[i] = values_[i].value.bytes();
  }
  lifetimes_ = GraphLifetimes(inputs, bytes, {static_cast<int>(n) - 1});
  QUALM_ASSIGN_OR_RETURN(plan_, PlanGreedyBySize(lifetimes_));
  QUALM_RETURN_IF_ERROR(CheckMemoryPlan(lifetimes_, plan_));
  arena_ = Tensor(DType::kU8, Shape{static_cast<std::int64_t>(plan_.arena_bytes)});
  auto* base = static_cast<unsigned char*>(arena_.raw());
  for (std::size_t i = 0; i < n; ++i) {
    Tensor& t = values_[i].value;
    t = Tensor::View(t.dtype(), t.shape(), base + plan_.offsets[i]);
  }
  return Status::Ok();
}

void Executor::Forward(const void* input, int n, ForwardHook* hook) {
  // An empty batch is a no-op (docs/LIMITS.md): the last batch's outputs stay.
  // The kernels were prepared for batch >= 1 and are never called with 0 (the
  // fast conv divided by it: SIGFPE, found by tests/engine/nonfinite_inputs_test.cpp).
  if (n == 0) return;
  QUALM_DCHECK(n > 0 && n <= options_.max_batch);
  batch_ = n;
  auto& in = values_[0];
  std::memcpy(in.value.raw(), input, static_cast<std::size_t>(n * in.sample_shape.elements()) * 4);
  ExecState s{n, options_.training && !eval_mode_, KernelBackend(options_.backend), &ctx_, &rng_};
  if (hook) hook->AfterNode(*this, 0, n);
  for (std::size_t i = 1; i < execs_.size(); ++i) {
    execs_[i]->Forward(s);
    if (hook) hook->AfterNode(*this, static_cast<int>(i), n);
  }
}

const float* Executor::logits() const { return values_.back().value.f32(); }

void Executor::Backward(const float* dlogits, BackwardHook* hook) {
  QUALM_DCHECK(options_.training && batch_ > 0);
  const int n = batch_;
  for (std::size_t i = 0; i < values_.size(); ++i) {
    auto& g = values_[i].grad;
    if (g.empty() || !zero_grad_[i]) continue;
    std::memset(g.raw(), 0, static_cast<std::size_t>(n * values_[i].sample_shape.elements()) * sizeof(float));
  }
  auto& last = values_.back();
  std::memcpy(last.grad.raw(), dlogits, static_cast<std::size_t>(n * last.sample_shape.elements()) * sizeof(float));
  ExecState s{n, !eval_mode_, KernelBackend(options_.backend), &ctx_, &rng_};
  for (std::size_t i = execs_.size() - 1; i >= 1; --i) {
    if (hook) hook->BeforeNodeBackward(*this, static_cast<int>(i), n);
    execs_[i]->Backward(s);
  }
}

void Executor::ZeroParamGrads() {
  for (auto& grads : param_grads_)
    for (auto& g : grads)
      if (!g.empty()) g.Zero();
}

std::string Executor::PathDescription() const {
  std::string path = options_.backend == Backend::kReference
                         ? std::string("reference")
                         : std::string("fast (") + kernels::GemmPathName() + ", " + std::to_string(options_.threads) +
                               (options_.threads == 1 ? " thread)" : " threads)");
  // Weighted layers of a dynamic model run the hybrid kernels: on the fast
  // backend conv2d / dense / LSTM / GRU take the int8 GEMM variant named here
  // (pure depthwise convs stay on the hybrid reference kernel); on the
  // reference backend everything is the reference.
  if (model_->quant.scheme == QuantScheme::kDynamic) {
    std::string hybrid = options_.backend == Backend::kReference
                             ? std::string("hybrid int8 reference + ")
                             : std::string("hybrid int8 fast (") + kernels::Int8GemmPathName() + ") + ";
    path = hybrid + path;
  }
  if (options_.backend == Backend::kOnednn) {
    std::string impls;
    for (const auto& e : execs_) {
      const std::string k = e ? e->OnednnImpl() : std::string();
      if (!k.empty() && impls.find(k) == std::string::npos) impls += (impls.empty() ? "" : ", ") + k;
    }
    path = "onednn (conv2d/dense/lstm/gru: " + kernels::onednn::Describe() + ": " + (impls.empty() ? std::string("no node") : impls) + "; other ops " + path + ")";
  }
  return path;
}

std::size_t Executor::allocated_bytes() const {
  std::size_t total = (scratch_.empty() ? 0 : scratch_.bytes()) + (arena_.empty() ? 0 : arena_.bytes());
  for (const auto& v : values_)
    total += (arena_.empty() ? v.value.bytes() : 0) + (v.grad.empty() ? 0 : v.grad.bytes());
  for (const auto& grads : param_grads_)
    for (const auto& g : grads)
      if (!g.empty()) total += g.bytes();
  return total;
}

}  // namespace qualm
