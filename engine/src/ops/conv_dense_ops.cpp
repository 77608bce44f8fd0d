// Conv2d and dense nodes: bind shapes to kernel parameter structs once, then
// dispatch to the reference or fast kernels, or (Backend::kOnednn, inference
// executors only) to oneDNN primitives prepared here once from the weights.
#include <type_traits>

#include "../node_exec.h"
#include "../op_params.h"
#include "../op_table.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/conv2d_packed.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/onednn.h"

namespace qualm {
namespace {

class Conv2dExec final : public NodeExec {
 public:
  Conv2dExec(const NodeBinding& b, const kernels::Conv2dParams& p,
             std::unique_ptr<kernels::onednn::PreparedF32> onednn = nullptr)
      : b_(b), p_(p), onednn_(std::move(onednn)) {}
  std::string OnednnImpl() const override { return onednn_ ? onednn_->ImplName() : std::string(); }
  std::size_t ScratchFloats(Backend backend) const override {
    return backend == Backend::kFast ? kernels::fast::conv2d_scratch_floats(p_, b_.threads) : 0;
  }
  void Forward(const ExecState& s) override {
    kernels::Conv2dParams p = p_;
    p.batch = s.n;
    const float* bias = ParamData(b_, "bias");
    const float* x = b_.inputs[0]->value.f32();
    const float* w = ParamData(b_, "weight");
    float* y = b_.output->value.f32();
    if (onednn_) onednn_->Run(s.n, x, y);
    else if (s.backend == Backend::kFast && packed_.nr > 0)
      kernels::fast::conv2d_f32_prepacked(*s.ctx, p, packed_, x, w, bias, y);
    else if (s.backend == Backend::kFast) kernels::fast::conv2d_f32(*s.ctx, p, x, w, bias, y);
    else kernels::ref::conv2d_f32(p, x, w, bias, y);
  }
  // Inference executors (weights constant): the fast path's weight panels,
  // packed once here instead of on every call (conv2d_packed.h; same bits).
  // Training executors leave it empty: their weights change every step, and
  // conv2d_f32 packs once per forward call, i.e. once per step.
  void PackWeights(const float* w) { packed_ = kernels::fast::PackConv2dWeightsF32(p_, w); }
  void Backward(const ExecState& s) override {
    kernels::Conv2dParams p = p_;
    p.batch = s.n;
    const float* x = b_.inputs[0]->value.f32();
    const float* w = ParamData(b_, "weight");
    const float* dy = b_.output->grad.f32();
    float* dx = GradOrNull(b_.inputs[0]);
    float* dw = GradData(b_, "weight");
    float* db = GradData(b_, "bias");
    if (s.backend == Backend::kFast) kernels::fast::conv2d_backward_f32(*s.ctx, p, x, w, dy, dx, dw, db);
    else kernels::ref::conv2d_backward_f32(p, x, w, dy, dx, dw, db);
  }

 private:
  NodeBinding b_;
  kernels::Conv2dParams p_;
  std::unique_ptr<kernels::onednn::PreparedF32> onednn_;  // Backend::kOnednn
  kernels::fast::PackedConv2dWeightsF32 packed_;         // Backend::kFast, inference only
};

class DenseExec final : public NodeExec {
 public:
  DenseExec(const NodeBinding& b, const kernels::DenseParams& p,
            std::unique_ptr<kernels::onednn::PreparedF32> onednn = nullptr)
      : b_(b), p_(p), onednn_(std::move(onednn)) {}
  std::string OnednnImpl() const override { return onednn_ ? onednn_->ImplName() : std::string(); }
  std::size_t ScratchFloats(Backend backend) const override {
    return backend == Backend::kFast ? kernels::fast::dense_scratch_floats(p_, b_.threads) : 0;
  }
  void Forward(const ExecState& s) override {
    kernels::DenseParams p = p_;
    p.batch = s.n;
    const float* bias = ParamData(b_, "bias");
    const float* x = b_.inputs[0]->value.f32();
    const float* w = ParamData(b_, "weight");
    float* y = b_.output->value.f32();
    if (onednn_) onednn_->Run(s.n, x, y);
    else if (s.backend == Backend::kFast && packed_.nr > 0)
      kernels::fast::dense_f32_prepacked(*s.ctx, p, packed_, x, w, bias, y);
    else if (s.backend == Backend::kFast) kernels::fast::dense_f32(*s.ctx, p, x, w, bias, y);
    else kernels::ref::dense_f32(p, x, w, bias, y);
  }
  // Inference executors: the weights' GEMM panels packed once (as Conv2dExec).
  void PackWeights(const float* w) { packed_ = kernels::fast::PackDenseWeightsF32(p_, w); }
  void Backward(const ExecState& s) override {
    kernels::DenseParams p = p_;
    p.batch = s.n;
    const float* x = b_.inputs[0]->value.f32();
    const float* w = ParamData(b_, "weight");
    const float* dy = b_.output->grad.f32();
    float* dx = GradOrNull(b_.inputs[0]);
    if (s.backend == Backend::kFast)
      kernels::fast::dense_backward_f32(*s.ctx, p, x, w, dy, dx, GradData(b_, "weight"), GradData(b_, "bias"));
    else
      kernels::ref::dense_backward_f32(p, x, w, dy, dx, GradData(b_, "weight"), GradData(b_, "bias"));
  }

 private:
  NodeBinding b_;
  kernels::DenseParams p_;
  std::unique_ptr<kernels::onednn::PreparedF32> onednn_;  // Backend::kOnednn
  kernels::PackedGemmB packed_;                           // Backend::kFast, inference only
};

}  // namespace

Result<std::unique_ptr<NodeExec>> MakeConv2dExec(const NodeBinding& b) {
  const auto& op = std::get<Conv2dOp>(b.node->op);
  const kernels::Conv2dParams p = ToConvParams(op, b.inputs[0]->sample_shape, b.max_batch);
  QUALM_RETURN_IF_ERROR(kernels::Validate(p));
  std::unique_ptr<kernels::onednn::PreparedF32> onednn;
  if (b.onednn) {
    QUALM_ASSIGN_OR_RETURN(onednn, kernels::onednn::PrepareConv2dF32(p, ParamData(b, "weight"), ParamData(b, "bias"),
                                                                      b.threads));
  }
  const bool pack = !onednn && !b.training && b.backend == Backend::kFast;
  auto exec = std::make_unique<Conv2dExec>(b, p, std::move(onednn));
  if (pack) exec->PackWeights(ParamData(b, "weight"));
  return std::unique_ptr<NodeExec>(std::move(exec));
}

Result<std::unique_ptr<NodeExec>> MakeDenseExec(const NodeBinding& b) {
  const auto& op = std::get<DenseOp>(b.node->op);
  const Shape& in = b.inputs[0]->sample_shape;
  kernels::DenseParams p;
  p.batch = b.max_batch;
  p.in_features = static_cast<int>(in.elements());
  p.out_features = op.out_features;
  QUALM_RETURN_IF_ERROR(kernels::Validate(p));
  std::unique_ptr<kernels::onednn::PreparedF32> onednn;
  if (b.onednn) {
    QUALM_ASSIGN_OR_RETURN(onednn, kernels::onednn::PrepareDenseF32(p, ParamData(b, "weight"), ParamData(b, "bias"),
                                                                     b.threads));
  }
  const bool pack = !onednn && !b.training && b.backend == Backend::kFast;
  auto exec = std::make_unique<DenseExec>(b, p, std::move(onednn));
  if (pack) exec->PackWeights(ParamData(b, "weight"));
  return std::unique_ptr<NodeExec>(std::move(exec));
}

}  // namespace qualm
