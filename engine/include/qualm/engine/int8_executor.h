// qualm/engine/int8_executor.h: runs a full-integer (scheme int8) model.
//
// Every graph value is an int8 tensor with the per-tensor QuantParams of its
// node (Model::quant.nodes[i].output); every op runs its frozen integer
// reference kernel (kernels/*_s8.h) on the model's quantized constants, except
// that with Int8ExecutorOptions::backend == kFast the conv2d, dense, LSTM and
// GRU nodes run the optimized kernels of kernels/conv2d_s8.h / dense_s8.h /
// recurrent_s8.h (weights packed once in Create), which are bit-identical to the
// reference: both backends give the same int8 values at every layer and the same
// logits. With kOnednn the conv2d and dense nodes run oneDNN primitives for their
// exact s32 accumulators and qualm's requantization (kernels/onednn.h), also
// bit-identical. The
// only float steps are quantizing a float input (quantize_s8, ties away from
// zero, as TFLite) and dequantizing the final logits. Token-id inputs go
// straight to the int8 embedding gather.
//
// Prepare, then execute: Create() checks the graph (only ops with an int8
// kernel), every constant's presence, dtype and shape against the float
// parameter it replaces, and prepares every kernel (which validates scales,
// zero points, weight ranges, multipliers and accumulator bounds). A bad model
// is an error naming the node; Forward() never validates and never allocates.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "qualm/engine/executor.h"
#include "qualm/engine/memory_plan.h"
#include "qualm/engine/model.h"
#include "qualm/engine/tensor.h"
#include "qualm/status.h"

namespace qualm {

class Int8NodeExec;  // engine/src/quant/int8_nodes.h

struct Int8ExecutorOptions {
  // kReference: every op on its frozen reference kernel. kFast: conv2d, dense,
  // LSTM, GRU and the elementwise family on the fast int8 kernels
  // (bit-identical), the rest on the reference.
  Backend backend = Backend::kReference;
  int threads = 1;  // OpenMP threads of the fast kernels
  // Place the int8 values in one arena by their lifetimes (memory_plan.h)
  // instead of one buffer each. value(i) of an intermediate node is then
  // overwritten by later nodes, so QAT, mixed precision and per-layer
  // comparisons (which read every value) leave it off; Inference::Create
  // turns it on. With kFast it also fuses each ReLU that is a plain clamp of a
  // conv2d, dense or add output read by nothing else into that op's output
  // clamp (the op writes the ReLU's value; its own value is never written):
  // the same bits, one pass over the activations fewer (fused_relus()).
  bool plan_memory = false;
};

class Int8Executor final : public Inference {
 public:
  static Result<std::unique_ptr<Int8Executor>> Create(const Model* model, int max_batch,
                                                      const Int8ExecutorOptions& options = {});
  // Runs `model`'s graph with `spec` instead of model->quant (QAT builds a
  // spec from the weights of every training step). Both must outlive the executor.
  static Result<std::unique_ptr<Int8Executor>> Create(const Model* model, const QuantSpec* spec, int max_batch,
                                                      const Int8ExecutorOptions& options = {});
  ~Int8Executor() override;
  Int8Executor(const Int8Executor&) = delete;
  Int8Executor& operator=(const Int8Executor&) = delete;

  // n <= max_batch samples (float or int32 token ids, as model.input_type says).
  void Forward(const void* input, int n);
  void Run(const void* input, int n) override { Forward(input, n); }
  const float* logits() const override { return logits_.f32(); }  // [n][num_classes]
  int num_classes() const override { return model_->num_classes; }
  int max_batch() const override { return max_batch_; }
  // "int8 reference (requant gemmlowp)" or
  // "int8 fast (avx2: s8s16_gemm_4x16c2__avx2, 2 threads, requant gemmlowp)".
  std::string PathDescription() const override;
  const Int8ExecutorOptions& options() const { return options_; }

  // Value i as computed by the last Forward: int8 [max_batch][sample...]
  // (value 0 of a text model is int32 ids).
  const Tensor& value(int i) const { return values_[static_cast<std::size_t>(i)]; }
  const Shape& sample_shape(int i) const { return shapes_[static_cast<std::size_t>(i)]; }
  // Mixed precision (mixed_precision.h) writes the int8 value of a node it
  // computed in float, before the nodes that read it run.
  Tensor& mutable_value(int i) { return values_[static_cast<std::size_t>(i)]; }

  // Node by node (QAT recomputes one layer at a time): SetInput, then
  // RunNode(0), RunNode(1), ... in order; Forward() does exactly this.
  void SetInput(const void* input, int n);
  void RunNode(int i, int n);
  // How many ReLU nodes run inside their producer (see plan_memory); their
  // RunNode does nothing.
  int fused_relus() const { return fused_relus_; }
  const QuantSpec& spec() const { return *spec_; }
  // The activation plan of a plan_memory executor (empty otherwise) and its lifetimes.
  const MemoryPlan& memory_plan() const { return plan_; }
  const std::vector<BufferLifetime>& buffer_lifetimes() const { return lifetimes_; }
  // Bytes this executor allocated at prepare for values, scratch and logits
  // (packed weights not included).
  std::size_t allocated_bytes() const;

 private:
  Int8Executor() = default;
  const Model* model_ = nullptr;
  const QuantSpec* spec_ = nullptr;
  Int8ExecutorOptions options_;
  int max_batch_ = 0;
  std::vector<Shape> shapes_;
  std::vector<Tensor> values_;
  std::vector<std::unique_ptr<Int8NodeExec>> execs_;
  Tensor logits_;
  const float* input_f32_ = nullptr;  // the float input of the running Forward
  Tensor arena_;  // plan_memory: every value's bytes (values_ are views into it)
  MemoryPlan plan_;
  std::vector<BufferLifetime> lifetimes_;
  Tensor scratch_;  // int16 scratch (RNN state, fast im2col tiles), shared by nodes (run one at a time)
  int fused_relus_ = 0;
};

}  // namespace qualm
