// engine/src/node_exec.h (internal): one prepared graph node.
//
// A NodeExec is built once by the Executor with everything bound: the kernel
// parameter struct (validated), pointers to its input/output buffers, its
// parameters and their gradients. Forward/Backward only set the batch size
// and call kernels.
#pragma once

#include <memory>
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
  const NodeQuant* quant = nullptr;  // the node's quantization record (dynamic scheme), or null
};

class NodeExec {
 public:
  virtual ~NodeExec() = default;
  virtual void Forward(const ExecState& s) = 0;
  // Accumulates into input gradients and parameter gradients.
  virtual void Backward(const ExecState& s) = 0;
  // Scratch the kernels of `backend` need at max_batch.
  virtual std::size_t ScratchFloats(Backend backend) const { return 0; }
};

// Per op family (engine/src/ops/*.cpp).
Result<std::unique_ptr<NodeExec>> MakeConvDenseExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakePoolExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeElementwiseExec(const NodeBinding& b);
Result<std::unique_ptr<NodeExec>> MakeRecurrentExec(const NodeBinding& b);
// Dynamic scheme: conv2d / dense / LSTM / GRU with int8 constants (ops/hybrid_ops.cpp).
Result<std::unique_ptr<NodeExec>> MakeHybridExec(const NodeBinding& b);

// Helpers shared by the op files.
inline float* GradOrNull(ValueBuffers* v) { return v->grad.empty() ? nullptr : v->grad.f32(); }
inline std::int64_t SampleElems(const ValueBuffers* v) { return v->sample_shape.elements(); }

}  // namespace qualm
