#include "qualm/engine/int8_executor.h"

#include <algorithm>
#include <cstring>

#include "int8_nodes.h"
#include "qualm/kernels/cpu.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/onednn.h"
#include "qualm/kernels/quantize_s8.h"

namespace qualm {
namespace {

// A producer's fused ReLU: the node, and its bounds.
struct FusedRelu {
  int relu = -1;  // none
  ReluClamp clamp;
};

// ReLU fusion (Int8ExecutorOptions::plan_memory with kFast): into[j].relu = i
// when node i is a ReLU whose only input j is a conv2d, dense or add read by
// nothing else, and the ReLU is a plain clamp of it (ReluAsClamp: PTQ gave
// both the same params). Then clamp(RequantizeToRange(acc, .., -128, 127),
// lo, hi) == RequantizeToRange(acc, .., lo, hi) for -128 <= lo <= hi <= 127,
// so node j with the ReLU's bounds writes exactly value i.
std::vector<FusedRelu> FusableRelus(const Model& m, const QuantSpec& q) {
  const std::size_t n = m.nodes.size();
  std::vector<int> uses(n, 0);
  std::vector<FusedRelu> into(n);
  for (const Node& node : m.nodes)
    for (int k : node.inputs) ++uses[static_cast<std::size_t>(k)];
  for (std::size_t i = 1; i < n; ++i) {
    const Node& relu = m.nodes[i];
    if (!std::holds_alternative<ReluOp>(relu.op) || relu.inputs.size() != 1) continue;
    const auto j = static_cast<std::size_t>(relu.inputs[0]);
    const auto& op = m.nodes[j].op;
    const bool producer = std::holds_alternative<Conv2dOp>(op) || std::holds_alternative<DenseOp>(op) ||
                          std::holds_alternative<AddOp>(op);
    if (j == 0 || !producer || uses[j] != 1 || !q.nodes[j].has_output || !q.nodes[i].has_output) continue;
    const ReluClamp c = ReluAsClamp(relu, q.nodes[j], q.nodes[i], q.mode);
    if (c.plain) into[j] = {static_cast<int>(i), c};
  }
  return into;
}

}  // namespace

Int8Executor::~Int8Executor() = default;

Result<std::unique_ptr<Int8Executor>> Int8Executor::Create(const Model* model, int max_batch,
                                                           const Int8ExecutorOptions& options) {
  return Create(model, &model->quant, max_batch, options);
}

Result<std::unique_ptr<Int8Executor>> Int8Executor::Create(const Model* model, const QuantSpec* spec, int max_batch,
                                                           const Int8ExecutorOptions& options) {
  if (max_batch <= 0) return InvalidArgument("max_batch must be positive, got " + std::to_string(max_batch));
  if (options.threads <= 0) return InvalidArgument("threads must be positive, got " + std::to_string(options.threads));
  const QuantSpec& q = *spec;
  const bool onednn = options.backend == Backend::kOnednn;
  if (onednn && !kernels::onednn::Available()) return Unimplemented(kernels::onednn::kUnavailableMessage);
  if (q.scheme != QuantScheme::kInt8)
    return InvalidArgument(std::string("the int8 executor runs int8 models, this one is '") + QuantSchemeName(q.scheme) + "'");
  if (q.nodes.size() != model->nodes.size())
    return InvalidArgument("int8 model: " + std::to_string(q.nodes.size()) + " quantization records for " +
                           std::to_string(model->nodes.size()) + " nodes");
  QUALM_ASSIGN_OR_RETURN(std::vector<Shape> shapes, InferShapes(*model));
  std::unique_ptr<Int8Executor> ex(new Int8Executor());
  ex->model_ = model;
  ex->spec_ = spec;
  ex->options_ = options;
  ex->max_batch_ = max_batch;
  ex->shapes_ = shapes;
  const std::size_t n = model->nodes.size();
  const bool text = model->input_type == SampleType::kInt32;
  ex->values_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::int64_t> dims{max_batch};
    dims.insert(dims.end(), shapes[i].dims().begin(), shapes[i].dims().end());
    ex->values_[i] = Tensor(i == 0 && text ? DType::kI32 : DType::kI8, Shape(dims));
  }
  std::vector<FusedRelu> fused_into(n);  // producer -> the ReLU it runs (FusableRelus)
  std::vector<bool> fused(n, false);     // the ReLUs that run inside their producer
  if (options.plan_memory && options.backend == Backend::kFast) fused_into = FusableRelus(*model, q);
  for (const FusedRelu& f : fused_into)
    if (f.relu >= 0) fused[static_cast<std::size_t>(f.relu)] = true, ++ex->fused_relus_;
  if (options.plan_memory) {
    // Before any node is bound: nodes keep pointers to their buffers. Value 0
    // is written first (input quantize or the ids' copy); the last value is
    // read after the last step (dequantized into the logits).
    std::vector<std::vector<int>> inputs(n);
    std::vector<std::size_t> bytes(n);
    for (std::size_t i = 0; i < n; ++i) {
      inputs[i] = model->nodes[i].inputs;
      bytes[i] = ex->values_[i].bytes();
    }
    ex->lifetimes_ = GraphLifetimes(inputs, bytes, {static_cast<int>(n) - 1});
    // A fused producer writes its ReLU's value at its own step, and its own
    // value is never used.
    for (std::size_t j = 0; j < n; ++j) {
      if (fused_into[j].relu < 0) continue;
      ex->lifetimes_[static_cast<std::size_t>(fused_into[j].relu)].first = static_cast<int>(j);
      ex->lifetimes_[j].last = ex->lifetimes_[j].first;
    }
    QUALM_ASSIGN_OR_RETURN(ex->plan_, PlanGreedyBySize(ex->lifetimes_));
    QUALM_RETURN_IF_ERROR(CheckMemoryPlan(ex->lifetimes_, ex->plan_));
    ex->arena_ = Tensor(DType::kU8, Shape{static_cast<std::int64_t>(ex->plan_.arena_bytes)});
    auto* base = static_cast<unsigned char*>(ex->arena_.raw());
    for (std::size_t i = 0; i < n; ++i) {
      Tensor& t = ex->values_[i];
      t = Tensor::View(t.dtype(), t.shape(), base + ex->plan_.offsets[i]);
    }
  }
  ex->execs_.resize(n);
  std::size_t scratch = 0;
  for (std::size_t i = 0; i < n; ++i) {
    Int8Binding b;
    if (fused[i]) continue;  // runs inside its producer
    b.node = &model->nodes[i];
    b.quant = &q.nodes[i];
    b.output = &ex->values_[i];
    if (const FusedRelu& f = fused_into[i]; f.relu >= 0) {
      b.output = &ex->values_[static_cast<std::size_t>(f.relu)];
      b.act_min = f.clamp.act_min;
      b.act_max = f.clamp.act_max;
    }
    b.output_shape = shapes[i];
    b.max_batch = max_batch;
    b.mode = q.mode;
    b.backend = onednn ? Backend::kFast : options.backend;  // onednn: every other op fast
    b.onednn = onednn;
    b.threads = options.threads;
    for (int k : model->nodes[i].inputs) {
      b.input_quant.push_back(&q.nodes[static_cast<std::size_t>(k)]);
      b.inputs.push_back(&ex->values_[static_cast<std::size_t>(k)]);
      b.input_shapes.push_back(shapes[static_cast<std::size_t>(k)]);
    }
    if (i == 0) {
      if (text) continue;  // ids are copied in by Forward
      if (!b.quant->has_output) return InvalidArgument("int8 model: the float input has no quantization parameters");
      QUALM_RETURN_IF_ERROR(kernels::ValidateQuantParamsS8("input", "output", b.quant->output));
      ex->execs_[0] = MakeInt8InputQuantize(&ex->input_f32_, b);
      continue;
    }
    QUALM_ASSIGN_OR_RETURN(ex->execs_[i], MakeInt8Exec(b));
    scratch = std::max(scratch, ex->execs_[i]->ScratchInt16());
  }
  if (scratch) {
    ex->scratch_ = Tensor(DType::kI16, Shape{static_cast<std::int64_t>(scratch)});
    for (auto& e : ex->execs_)
      if (e) e->set_scratch(ex->scratch_.data<std::int16_t>());
  }
  ex->logits_ = Tensor(DType::kF32, Shape{max_batch, model->num_classes});
  if (shapes.back().elements() != model->num_classes)
    return InvalidArgument("int8 model: the last node produces " + std::to_string(shapes.back().elements()) +
                           " values per sample, expects num_classes = " + std::to_string(model->num_classes));
  return ex;
}

void Int8Executor::RunNode(int i, int n) {
  if (auto& e = execs_[static_cast<std::size_t>(i)]) e->Run(n);
}

void Int8Executor::SetInput(const void* input, int n) {
  if (model_->input_type == SampleType::kInt32) {
    std::memcpy(values_[0].raw(), input, static_cast<std::size_t>(n * shapes_[0].elements()) * sizeof(std::int32_t));
  } else {
    input_f32_ = static_cast<const float*>(input);
  }
}

void Int8Executor::Forward(const void* input, int n) {
  if (n == 0) return;  // an empty batch is a no-op, as in Executor::Forward
  SetInput(input, n);
  for (std::size_t i = 0; i < execs_.size(); ++i)
    if (execs_[i]) execs_[i]->Run(n);
  kernels::QuantizeS8Params dq;
  dq.count = static_cast<std::int64_t>(n) * model_->num_classes;
  dq.q = spec_->nodes.back().output;
  kernels::ref::dequantize_s8(dq, values_.back().data<std::int8_t>(), logits_.f32());
}

std::size_t Int8Executor::allocated_bytes() const {
  auto size = [](const Tensor& t) { return t.empty() ? std::size_t{0} : t.bytes(); };
  std::size_t total = size(arena_) + size(scratch_) + size(logits_);
  if (arena_.empty())
    for (const auto& v : values_) total += size(v);
  return total;
}

std::string Int8Executor::PathDescription() const {
  const std::string requant = std::string("requant ") + kernels::RequantModeName(spec_->mode);
  if (options_.backend == Backend::kReference) return "int8 reference (" + requant + ")";
  if (options_.backend == Backend::kOnednn) {
    std::string impls;
    for (const auto& e : execs_) {
      const std::string k = e ? e->OnednnImpl() : std::string();
      if (!k.empty() && impls.find(k) == std::string::npos) impls += (impls.empty() ? "" : ", ") + k;
    }
    // The int8 LSTM / GRU keep qualm's kernels: oneDNN's int8 RNN computes
    // other arithmetic (u8 data, f32 gates), not the 8x8_16 integer cells.
    bool recurrent = false;
    for (const Node& node : model_->nodes)
      recurrent = recurrent || std::holds_alternative<LstmOp>(node.op) || std::holds_alternative<GruOp>(node.op);
    return "int8 onednn (conv2d/dense: " + kernels::onednn::Describe() + ": " +
           (impls.empty() ? std::string("no node") : impls) + ", s32 + " + requant + "; " +
           (recurrent ? "lstm/gru qualm's fast int8 kernels (oneDNN's int8 RNN has other arithmetic); " : "") +
           "other ops fast, " + std::to_string(options_.threads) + (options_.threads == 1 ? " thread)" : " threads)");
  }
  return std::string("int8 fast (") + kernels::Int8GemmPathIsa() + ": " + kernels::Int8GemmPathName() + ", " +
         std::to_string(options_.threads) + (options_.threads == 1 ? " thread, " : " threads, ") + requant + ")";
}

}  // namespace qualm
