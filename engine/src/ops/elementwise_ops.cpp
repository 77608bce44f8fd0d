// ReLU, batch norm, residual add and dropout nodes. On the fast backend ReLU,
// batch norm and add run the fast kernels (same bits as the reference ones).
#include <type_traits>

#include "../node_exec.h"
#include "../op_table.h"
#include "qualm/kernels/batchnorm.h"
#include "qualm/kernels/elementwise.h"

namespace qualm {
namespace {

std::size_t Count(const ExecState& s, const ValueBuffers* v) {
  return static_cast<std::size_t>(s.n) * static_cast<std::size_t>(v->sample_shape.elements());
}

// The fast kernels (bit-identical to the reference ones: batchnorm.h,
// elementwise.h) run on the fast backend; relu6 and dropout have none.
// A node that agreed to assign its input gradient (NodeExec::AssignInputGrad)
// is only ever run on the fast backend: the executor's backend is fixed.
bool Fast(const ExecState& s) { return s.backend == Backend::kFast && s.ctx; }
kernels::GradOut Out(bool assign) { return assign ? kernels::GradOut::kAssign : kernels::GradOut::kAccumulate; }

class ReluExec final : public NodeExec {
 public:
  ReluExec(const NodeBinding& b, bool relu6) : b_(b), relu6_(relu6) {}
  bool AssignInputGrad(int k) override {
    assign_ = k == 0 && !relu6_ && b_.backend == Backend::kFast;
    return assign_;
  }
  void Forward(const ExecState& s) override {
    const std::size_t n = Count(s, b_.output);
    const float* x = b_.inputs[0]->value.f32();
    float* y = b_.output->value.f32();
    if (relu6_) kernels::ref::relu6_f32(n, x, y);
    else if (Fast(s)) kernels::fast::relu_f32(*s.ctx, n, x, y);
    else kernels::ref::relu_f32(n, x, y);
  }
  void Backward(const ExecState& s) override {
    float* dx = GradOrNull(b_.inputs[0]);
    if (!dx) return;
    const std::size_t n = Count(s, b_.output);
    const float* x = b_.inputs[0]->value.f32();
    const float* dy = b_.output->grad.f32();
    if (relu6_) kernels::ref::relu6_backward_f32(n, x, dy, dx);
    else if (Fast(s)) kernels::fast::relu_backward_f32(*s.ctx, n, x, dy, dx, Out(assign_));
    else kernels::ref::relu_backward_f32(n, x, dy, dx);
  }

 private:
  NodeBinding b_;
  bool relu6_;
  bool assign_ = false;  // AssignInputGrad
};

class AddExec final : public NodeExec {
 public:
  explicit AddExec(const NodeBinding& b) : b_(b) {}
  void Forward(const ExecState& s) override {
    const std::size_t n = Count(s, b_.output);
    const float* a = b_.inputs[0]->value.f32();
    const float* b = b_.inputs[1]->value.f32();
    if (Fast(s)) kernels::fast::add_f32(*s.ctx, n, a, b, b_.output->value.f32());
    else kernels::ref::add_f32(n, a, b, b_.output->value.f32());
  }
  void Backward(const ExecState& s) override {
    const std::size_t n = Count(s, b_.output);
    for (ValueBuffers* in : b_.inputs) {
      float* dx = GradOrNull(in);
      if (!dx) continue;
      if (Fast(s)) kernels::fast::accumulate_f32(*s.ctx, n, b_.output->grad.f32(), dx);
      else kernels::ref::accumulate_f32(n, b_.output->grad.f32(), dx);
    }
  }

 private:
  NodeBinding b_;
};

class BatchNormExec final : public NodeExec {
 public:
  BatchNormExec(const NodeBinding& b, const BatchNormOp& op) : b_(b) {
    const Shape& s = b.output->sample_shape;
    p_.channels = static_cast<int>(s[s.rank() - 1]);
    spatial_ = static_cast<int>(s.elements() / p_.channels);
    p_.epsilon = op.epsilon;
    p_.momentum = op.momentum;
    saved_mean_ = Tensor(DType::kF32, Shape{p_.channels});
    saved_invstd_ = Tensor(DType::kF32, Shape{p_.channels});
  }
  bool AssignInputGrad(int k) override {
    assign_ = k == 0 && b_.backend == Backend::kFast;
    return assign_;
  }
  void Forward(const ExecState& s) override {
    kernels::BatchNormParams p = p_;
    p.rows = s.n * spatial_;
    const float* x = b_.inputs[0]->value.f32();
    float* y = b_.output->value.f32();
    const float* gamma = ParamData(b_, "gamma");
    const float* beta = ParamData(b_, "beta");
    if (s.training) {
      // Only a training executor (which has mutable_params) runs this branch:
      // it updates the running statistics.
      float* rm = MutableParamData(b_, "running_mean");
      float* rv = MutableParamData(b_, "running_var");
      if (Fast(s))
        kernels::fast::batchnorm_training_f32(*s.ctx, p, x, gamma, beta, y, saved_mean_.f32(), saved_invstd_.f32(),
                                              rm, rv);
      else
        kernels::ref::batchnorm_training_f32(p, x, gamma, beta, y, saved_mean_.f32(), saved_invstd_.f32(), rm, rv);
    } else {
      const float* rm = ParamData(b_, "running_mean");
      const float* rv = ParamData(b_, "running_var");
      if (Fast(s)) kernels::fast::batchnorm_inference_f32(*s.ctx, p, x, gamma, beta, rm, rv, y);
      else kernels::ref::batchnorm_inference_f32(p, x, gamma, beta, rm, rv, y);
    }
  }
  void Backward(const ExecState& s) override {
    kernels::BatchNormParams p = p_;
    p.rows = s.n * spatial_;
    const float* x = b_.inputs[0]->value.f32();
    const float* gamma = ParamData(b_, "gamma");
    const float* dy = b_.output->grad.f32();
    float* dx = GradOrNull(b_.inputs[0]);
    float* dgamma = GradData(b_, "gamma");
    float* dbeta = GradData(b_, "beta");
    if (!s.training) {  // an eval-mode pass of a training executor (Executor::SetEvalMode)
      const float* rm = ParamData(b_, "running_mean");
      const float* rv = ParamData(b_, "running_var");
      if (Fast(s))
        kernels::fast::batchnorm_inference_backward_f32(*s.ctx, p, x, gamma, rm, rv, dy, dx, dgamma, dbeta,
                                                        Out(assign_));
      else
        kernels::ref::batchnorm_inference_backward_f32(p, x, gamma, rm, rv, dy, dx, dgamma, dbeta);
      return;
    }
    if (Fast(s))
      kernels::fast::batchnorm_backward_f32(*s.ctx, p, x, gamma, saved_mean_.f32(), saved_invstd_.f32(), dy, dx,
                                            dgamma, dbeta, Out(assign_));
    else
      kernels::ref::batchnorm_backward_f32(p, x, gamma, saved_mean_.f32(), saved_invstd_.f32(), dy, dx, dgamma,
                                           dbeta);
  }

 private:
  NodeBinding b_;
  kernels::BatchNormParams p_;
  int spatial_ = 1;
  Tensor saved_mean_, saved_invstd_;
  bool assign_ = false;  // AssignInputGrad
};

class DropoutExec final : public NodeExec {
 public:
  DropoutExec(const NodeBinding& b, float rate) : b_(b), rate_(rate) {
    if (b.training) mask_ = Tensor(DType::kU8, Shape{b.max_batch * b.output->sample_shape.elements()});
  }
  void Forward(const ExecState& s) override {
    const std::size_t n = Count(s, b_.output);
    const float* x = b_.inputs[0]->value.f32();
    float* y = b_.output->value.f32();
    if (!s.training || rate_ == 0.0f) {
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
      return;
    }
    std::uint8_t* m = mask_.data<std::uint8_t>();
    for (std::size_t i = 0; i < n; ++i) m[i] = s.rng->Uniform() >= rate_ ? 1 : 0;
    kernels::ref::dropout_apply_f32(n, x, m, 1.0f / (1.0f - rate_), y);
  }
  void Backward(const ExecState& s) override {
    float* dx = GradOrNull(b_.inputs[0]);
    if (!dx) return;
    const std::size_t n = Count(s, b_.output);
    if (!s.training || rate_ == 0.0f) {  // eval mode: the identity, as in Forward
      kernels::ref::accumulate_f32(n, b_.output->grad.f32(), dx);
      return;
    }
    kernels::ref::dropout_backward_f32(n, b_.output->grad.f32(), mask_.data<std::uint8_t>(), 1.0f / (1.0f - rate_),
                                       dx);
  }

 private:
  NodeBinding b_;
  float rate_;
  Tensor mask_;
};

}  // namespace

Result<std::unique_ptr<NodeExec>> MakeReluExec(const NodeBinding& b) {
  return std::unique_ptr<NodeExec>(new ReluExec(b, std::get<ReluOp>(b.node->op).relu6));
}

Result<std::unique_ptr<NodeExec>> MakeAddExec(const NodeBinding& b) { return std::unique_ptr<NodeExec>(new AddExec(b)); }

Result<std::unique_ptr<NodeExec>> MakeBatchNormExec(const NodeBinding& b) {
  return std::unique_ptr<NodeExec>(new BatchNormExec(b, std::get<BatchNormOp>(b.node->op)));
}

Result<std::unique_ptr<NodeExec>> MakeDropoutExec(const NodeBinding& b) {
  return std::unique_ptr<NodeExec>(new DropoutExec(b, std::get<DropoutOp>(b.node->op).rate));
}

}  // namespace qualm
