// qualm/engine/executor.h: runs a Model on mini-batches, forward and backward.
//
// Prepare, then execute: Create() validates the graph, infers shapes, builds one
// prepared executor object per node (kernel parameter structs computed once),
// and allocates every activation, gradient and scratch buffer for max_batch
// samples. Forward()/Backward() then never allocate and never validate; a
// smaller batch just runs on the first n rows.
//
// Inference and training: Create(const Model&) runs a model it never changes
// (it implements the Inference interface of inference.h, as the int8 executor
// does); CreateForTraining(Model*) also keeps what backward needs, updates
// batch-norm running statistics and lets the trainer change the weights.
//
// Backends: kReference runs the frozen scalar kernels (deterministic, the
// study's float baseline); kFast runs the GEMM-based kernels (kernels/fast) where
// they exist and the reference elsewhere. Both are deterministic for a fixed
// thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qualm/engine/inference.h"
#include "qualm/engine/memory_plan.h"
#include "qualm/engine/model.h"
#include "qualm/engine/random.h"
#include "qualm/kernels/context.h"
#include "qualm/status.h"

namespace qualm {

struct ExecutorOptions {
  int max_batch = 128;
  // Set by CreateForTraining (and refused by Create): keep what backward
  // needs; batch norm uses batch stats; dropout active.
  bool training = false;
  Backend backend = Backend::kFast;
  int threads = 1;
  std::uint64_t seed = 0;  // dropout masks
  // Training executors of float-input models: Backward also computes
  // d(loss)/d(input) into values()[0].grad (adversarial attacks need it; plain
  // training does not, so it is off by default and costs nothing then).
  bool input_gradient = false;
  // Inference executors: place the activations in one arena by their
  // lifetimes (memory_plan.h) instead of one buffer each. values() then holds
  // only the input and the logits after Forward (an intermediate value's
  // bytes are reused by later nodes), so hooks and callers that read
  // intermediate values leave it off. Refused with training.
  bool plan_memory = false;
};

class NodeExec;  // one prepared op (engine/src/node_exec.h)
class Executor;

// Called by Forward after the input is in place (node 0) and after each
// node's forward. QAT (qat.h) uses it to replace a node's float output by
// the dequantized result of the node's integer kernel.
class ForwardHook {
 public:
  virtual ~ForwardHook() = default;
  virtual void AfterNode(Executor& ex, int node, int n) = 0;
};

// Called by Backward before each node's backward (last node first), when the
// node's output gradient is complete: a hook may rewrite that gradient. Mixup
// on text (mixup.h) uses it to route the gradient of mixed embedding rows back
// to both samples of each pair.
class BackwardHook {
 public:
  virtual ~BackwardHook() = default;
  virtual void BeforeNodeBackward(Executor& ex, int node, int n) = 0;
};

// Buffers of one graph value for max_batch samples.
struct ValueBuffers {
  Shape sample_shape;  // without batch
  Tensor value;        // [max_batch, sample_shape...]
  Tensor grad;         // same shape, training only
};

class Executor final : public Inference {
 public:
  // Inference: `model` must outlive the executor and is never changed.
  static Result<std::unique_ptr<Executor>> Create(const Model& model, const ExecutorOptions& options);
  // Training: options.training is implied.
  static Result<std::unique_ptr<Executor>> CreateForTraining(Model* model, ExecutorOptions options);
  ~Executor() override;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // input: n samples, contiguous, float or int32 as model.input_type says.
  // Token ids must already be validated to lie in [0, vocab) (frontends do).
  void Forward(const void* input, int n, ForwardHook* hook = nullptr);
  // Inference: Forward without a hook.
  void Run(const void* input, int n) override { Forward(input, n); }
  // [n][num_classes] of the last Forward.
  const float* logits() const override;
  int num_classes() const override { return model_->num_classes; }
  int max_batch() const override { return options_.max_batch; }

  // Training only. Zeroes activation gradients (except those a node assigns
  // as their only writer, with the same bits: executor.cpp), seeds
  // d(logits), and accumulates parameter gradients into param_grad(); call
  // ZeroParamGrads() before each step.
  void Backward(const float* dlogits, BackwardHook* hook = nullptr);
  void ZeroParamGrads();
  // Training executors: with `on`, Forward and Backward run the model as
  // inference does (batch norm on its running statistics, which are not
  // updated; dropout off) while still computing gradients. Attacks crafted on
  // the current model during training use it (adversarial.h).
  void SetEvalMode(bool on) { eval_mode_ = on; }
  bool eval_mode() const { return eval_mode_; }
  // Restarts the dropout random stream (the trainer reseeds per epoch).
  void Reseed(std::uint64_t seed) { rng_ = Rng(seed); }
  // Gradient tensors, parallel to model->nodes[i].params (empty for non-trainable).
  std::vector<std::vector<Tensor>>& param_grads() { return param_grads_; }

  // Per-sample shape of every value (debugging, `qualm info`).
  const std::vector<ValueBuffers>& values() const { return values_; }
  // Hooks may rewrite a value's first n rows between nodes.
  ValueBuffers& mutable_value(int i) { return values_[static_cast<std::size_t>(i)]; }
  const ExecutorOptions& options() const { return options_; }
  const Model& model() const { return *model_; }
  // "fast (gemm avx2, 2 threads)" or "reference".
  std::string PathDescription() const override;
  std::size_t allocated_bytes() const;
  // The activation plan of a plan_memory executor (empty otherwise): offsets,
  // arena bytes and the sum of the buffers it replaces; and its lifetimes.
  const MemoryPlan& memory_plan() const { return plan_; }
  const std::vector<BufferLifetime>& buffer_lifetimes() const { return lifetimes_; }

 private:
  Executor() = default;
  static Result<std::unique_ptr<Executor>> Make(const Model& model, Model* mutable_model, const ExecutorOptions& options);
  Status PlanValues(const Model& model);
  void PlanGradZeroing(const Model& model);
  const Model* model_ = nullptr;
  ExecutorOptions options_;
  std::vector<ValueBuffers> values_;
  std::vector<std::vector<Tensor>> param_grads_;
  std::vector<std::unique_ptr<NodeExec>> execs_;
  Tensor scratch_;
  Tensor arena_;  // plan_memory: every value's bytes (values_ are views into it)
  MemoryPlan plan_;
  std::vector<BufferLifetime> lifetimes_;
  kernels::KernelContext ctx_;
  // Training: zero_grad_[i] is false where Backward need not zero value i's
  // gradient (the logits', seeded by a copy, and those whose only writer
  // assigns it: NodeExec::AssignInputGrad).
  std::vector<bool> zero_grad_;
  Rng rng_{0};
  int batch_ = 0;
  bool eval_mode_ = false;
};

}  // namespace qualm
