// Max, average and global-average pooling nodes (reference kernels only: they
// are memory-bound and cheap next to the convolutions).
#include <type_traits>

#include "../node_exec.h"
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

template <typename Op>
kernels::Pool2dParams ToPoolParams(const Op& op, const Shape& in, int batch) {
  kernels::Pool2dParams p;
  p.batch = batch;
  p.in_h = static_cast<int>(in[0]); p.in_w = static_cast<int>(in[1]); p.channels = static_cast<int>(in[2]);
  p.kernel_h = op.kernel_h; p.kernel_w = op.kernel_w; p.stride_h = op.stride_h; p.stride_w = op.stride_w;
  p.pad_top = op.pad_top; p.pad_left = op.pad_left; p.pad_bottom = op.pad_bottom; p.pad_right = op.pad_right;
  return p;
}

}  // namespace

Result<std::unique_ptr<NodeExec>> MakePoolExec(const NodeBinding& b) {
  const Shape& in = b.inputs[0]->sample_shape;
  if (const auto* op = std::get_if<MaxPoolOp>(&b.node->op)) {
    auto p = ToPoolParams(*op, in, b.max_batch);
    QUALM_RETURN_IF_ERROR(kernels::Validate(p));
    return std::unique_ptr<NodeExec>(new Pool2dExec(b, p, true));
  }
  if (const auto* op = std::get_if<AvgPoolOp>(&b.node->op)) {
    auto p = ToPoolParams(*op, in, b.max_batch);
    p.count_include_pad = op->count_include_pad;
    QUALM_RETURN_IF_ERROR(kernels::Validate(p));
    return std::unique_ptr<NodeExec>(new Pool2dExec(b, p, false));
  }
  kernels::GlobalPoolParams p;
  p.batch = b.max_batch;
  p.spatial = static_cast<int>(in[0] * in[1]);
  p.channels = static_cast<int>(in[2]);
  return std::unique_ptr<NodeExec>(new GlobalAvgPoolExec(b, p));
}

}  // namespace qualm
