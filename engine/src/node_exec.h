// engine/src/node_exec.h (internal): one prepared graph node.
//
// A NodeExec is built once by the Executor with everything bound: the kernel
// parameter struct (validated), pointers to its input/output buffers, its
// parameters and their gradients. Forward/Backward only set the batch size
// and call kernels.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "qualm/engine/executor.h"

namespace qualm {

struct ExecState {
  int n = 0;  // samples in this batch
  bool training = false;
  Backend backend = Backend::kFast;
  const kernels::KernelContext* ctx = nullptr;
  Rng* rng = nullptr;
};

struct NodeBinding {
  const Node* node = nullptr;
  std::vector<ValueBuffers*> inputs;
  ValueBuffers* output = nullptr;
  const std::vector<Param>* params = nullptr;
  // Training executors only: the same parameters, writable (batch-norm
  // running statistics are updated in the training forward pass).
  std::vector<Param>* mutable_params = nullptr;
  std::vector<Tensor>* grads = nullptr;  // parallel to params; empty tensors when not trainable
  int max_batch = 0;
  bool training = false;
  int threads = 1;
  Backend backend = Backend::kFast;  // the executor's; kernels that pack weights for the fast path do it at bind time
  const NodeQuant* quant = nullptr;  // the node's quantization record (dynamic scheme), or null
  // Backend::kOnednn: `backend` is then kFast (every op's fast kernels) and
  // conv2d / dense (ops/conv_dense_ops.cpp) and the float LSTM / GRU
  // (ops/recurrent_ops.cpp) prepare oneDNN primitives instead.
  bool onednn = false;
};

class NodeExec {
 public:
  virtual ~NodeExec() = default;
  virtual void Forward(const ExecState& s) = 0;
  // Accumulates into input gradients and parameter gradients.
  virtual void Backward(const ExecState& s) = 0;
  // Asks the node to write input k's gradient as "= 0.0f + term" instead of
  // "+= term" (kernels::GradOut::kAssign: the same bits as accumulating into
  // zeros) because it is that gradient's only writer, so the executor need not
  // zero it before Backward. Returns true if the node will do so on every
  // Backward call (it must then write all n rows of that gradient); the
  // default declines. Called once, after construction, by training executors.
  virtual bool AssignInputGrad(int k) { return false; }
  // Scratch the kernels of `backend` need at max_batch.
  virtual std::size_t ScratchFloats(Backend backend) const { return 0; }
  // The oneDNN implementation this node runs (Backend::kOnednn), else empty.
  virtual std::string OnednnImpl() const { return {}; }
};

// The per-op factories are declared in op_table.h, which the op table uses.

// A bound node's parameters and their gradients, by the names its op gives
// them (ops.h); null when the node has no such parameter (a conv without bias)
// or, for gradients, when it is not trained.
inline int ParamIndex(const NodeBinding& b, std::string_view name) {
  for (std::size_t k = 0; k < b.params->size(); ++k)
    if ((*b.params)[k].name == name) return static_cast<int>(k);
  return -1;
}
inline const float* ParamData(const NodeBinding& b, std::string_view name) {
  const int k = ParamIndex(b, name);
  return k < 0 ? nullptr : (*b.params)[static_cast<std::size_t>(k)].value.f32();
}
// Training executors only (NodeBinding::mutable_params).
inline float* MutableParamData(const NodeBinding& b, std::string_view name) {
  const int k = ParamIndex(b, name);
  return k < 0 || !b.mutable_params ? nullptr : (*b.mutable_params)[static_cast<std::size_t>(k)].value.f32();
}
inline float* GradData(const NodeBinding& b, std::string_view name) {
  const int k = ParamIndex(b, name);
  if (k < 0 || !b.grads || b.grads->size() <= static_cast<std::size_t>(k)) return nullptr;
  Tensor& g = (*b.grads)[static_cast<std::size_t>(k)];
  return g.empty() ? nullptr : g.f32();
}

// Helpers shared by the op files.
inline float* GradOrNull(ValueBuffers* v) { return v->grad.empty() ? nullptr : v->grad.f32(); }
inline std::int64_t SampleElems(const ValueBuffers* v) { return v->sample_shape.elements(); }

}  // namespace qualm
