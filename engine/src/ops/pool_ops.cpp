// Max, average and global-average pooling nodes (reference kernels only: they
// are memory-bound and cheap next to the convolutions).
#include <type_traits>

#include "../node_exec.h"
#include "../op_params.h"
#include "../op_table.h"
#include "qualm/kernels/pool.h"

namespace qualm {
namespace {

class Pool2dExec final : public NodeExec {
 public:
  Pool2dExec(const NodeBinding& b, const kernels::Pool2dParams& p, bool is_max) : b_(b), p_(p), max_(is_max) {}
  void Forward(const ExecState& s) override {
    kernels::Pool2dParams p = p_;
    p.batch = s.n;
    if (max_) kernels::ref::max_pool2d_f32(p, b_.inputs[0]->value.f32(), b_.output->value.f32());
    else kernels::ref::avg_pool2d_f32(p, b_.inputs[0]->value.f32(), b_.output->value.f32());
  }
  void Backward(const ExecState& s) override {
    float* dx = GradOrNull(b_.inputs[0]);
    if (!dx) return;
    kernels::Pool2dParams p = p_;
    p.batch = s.n;
    if (max_) kernels::ref::max_pool2d_backward_f32(p, b_.inputs[0]->value.f32(), b_.output->grad.f32(), dx);
    else kernels::ref::avg_pool2d_backward_f32(p, b_.output->grad.f32(), dx);
  }

 private:
  NodeBinding b_;
  kernels::Pool2dParams p_;
  bool max_;
};

class GlobalAvgPoolExec final : public NodeExec {
 public:
  GlobalAvgPoolExec(const NodeBinding& b, const kernels::GlobalPoolParams& p) : b_(b), p_(p) {}
  void Forward(const ExecState& s) override {
    kernels::GlobalPoolParams p = p_;
    p.batch = s.n;
    kernels::ref::global_avg_pool_f32(p, b_.inputs[0]->value.f32(), b_.output->value.f32());
  }
  void Backward(const ExecState& s) override {
    float* dx = GradOrNull(b_.inputs[0]);
    if (!dx) return;
    kernels::GlobalPoolParams p = p_;
    p.batch = s.n;
    kernels::ref::global_avg_pool_backward_f32(p, b_.output->grad.f32(), dx);
  }

 private:
  NodeBinding b_;
  kernels::GlobalPoolParams p_;
};

}  // namespace

Result<std::unique_ptr<NodeExec>> MakeMaxPoolExec(const NodeBinding& b) {
  auto p = ToPoolParams(std::get<MaxPoolOp>(b.node->op), b.inputs[0]->sample_shape, b.max_batch);
  QUALM_RETURN_IF_ERROR(kernels::Validate(p));
  return std::unique_ptr<NodeExec>(new Pool2dExec(b, p, true));
}

Result<std::unique_ptr<NodeExec>> MakeAvgPoolExec(const NodeBinding& b) {
  auto p = ToPoolParams(std::get<AvgPoolOp>(b.node->op), b.inputs[0]->sample_shape, b.max_batch);
  QUALM_RETURN_IF_ERROR(kernels::Validate(p));
  return std::unique_ptr<NodeExec>(new Pool2dExec(b, p, false));
}

Result<std::unique_ptr<NodeExec>> MakeGlobalAvgPoolExec(const NodeBinding& b) {
  return std::unique_ptr<NodeExec>(new GlobalAvgPoolExec(b, ToGlobalPoolParams(b.inputs[0]->sample_shape, b.max_batch)));
}

}  // namespace qualm
