// Embedding, LSTM and GRU nodes. A recurrent node that returns only its last
// hidden state still keeps the full sequence in an internal buffer: the
// backward pass needs it (and oneDNN writes it). On Backend::kOnednn
// (inference executors only) the float LSTM / GRU run oneDNN primitives
// prepared here once from the weights (kernels/onednn.h).
#include <type_traits>

#include "../node_exec.h"
#include "../op_table.h"
#include "qualm/kernels/embedding.h"
#include "qualm/kernels/onednn.h"
#include "qualm/kernels/recurrent.h"

namespace qualm {
namespace {

class EmbeddingExec final : public NodeExec {
 public:
  EmbeddingExec(const NodeBinding& b, const EmbeddingOp& op) : b_(b) {
    p_.vocab = op.vocab;
    p_.dim = op.dim;
    seq_ = static_cast<int>(b.inputs[0]->sample_shape[0]);
  }
  void Forward(const ExecState& s) override {
    kernels::EmbeddingParams p = p_;
    p.count = s.n * seq_;
    kernels::ref::embedding_f32(p, b_.inputs[0]->value.data<std::int32_t>(), ParamData(b_, "table"),
                                b_.output->value.f32());
  }
  void Backward(const ExecState& s) override {
    kernels::EmbeddingParams p = p_;
    p.count = s.n * seq_;
    kernels::ref::embedding_backward_f32(p, b_.inputs[0]->value.data<std::int32_t>(), b_.output->grad.f32(),
                                         GradData(b_, "table"));
  }

 private:
  NodeBinding b_;
  kernels::EmbeddingParams p_;
  int seq_ = 1;
};

// Shared by LSTM (4 gates) and GRU (3 gates).
class RecurrentExec final : public NodeExec {
 public:
  RecurrentExec(const NodeBinding& b, bool lstm, int hidden, bool return_sequences,
                std::unique_ptr<kernels::onednn::PreparedRnnF32> onednn = nullptr)
      : b_(b), lstm_(lstm), return_sequences_(return_sequences), onednn_(std::move(onednn)) {
    const Shape& in = b.inputs[0]->sample_shape;
    p_.batch = b.max_batch;
    p_.seq_len = static_cast<int>(in[0]);
    p_.input_size = static_cast<int>(in[1]);
    p_.hidden_size = hidden;
    const std::int64_t bt = static_cast<std::int64_t>(b.max_batch) * p_.seq_len;
    if (!return_sequences) seq_out_ = Tensor(DType::kF32, Shape{bt, hidden});
    if (b.training) {
      ws_gates_ = Tensor(DType::kF32, Shape{bt, (lstm ? 4 : 3) * static_cast<std::int64_t>(hidden)});
      ws_state_ = Tensor(DType::kF32, Shape{bt, hidden});
    }
  }
  std::string OnednnImpl() const override { return onednn_ ? onednn_->ImplName() : std::string(); }
  std::size_t ScratchFloats(Backend backend) const override {
    if (onednn_) return 0;  // oneDNN's scratchpad is its own, made at prepare
    if (backend == Backend::kFast)
      return lstm_ ? kernels::fast::lstm_scratch_floats(p_, b_.threads) : kernels::fast::gru_scratch_floats(p_, b_.threads);
    return lstm_ ? kernels::ref::lstm_scratch_floats(p_) : kernels::ref::gru_scratch_floats(p_);
  }
  void Forward(const ExecState& s) override {
    kernels::RnnParams p = p_;
    p.batch = s.n;
    const float* x = b_.inputs[0]->value.f32();
    float* y = return_sequences_ ? b_.output->value.f32() : seq_out_.f32();
    float* h_n = return_sequences_ ? nullptr : b_.output->value.f32();
    float* wg = ws_gates_.empty() ? nullptr : ws_gates_.f32();
    float* wst = ws_state_.empty() ? nullptr : ws_state_.f32();
    if (onednn_) {
      onednn_->Run(s.n, x, y, h_n);
      return;
    }
    const bool fast = s.backend == Backend::kFast;
    if (lstm_) {
      const auto w = LstmW();
      if (fast) kernels::fast::lstm_f32(*s.ctx, p, w, x, nullptr, nullptr, y, h_n, nullptr, wg, wst);
      else kernels::ref::lstm_f32(p, w, x, nullptr, nullptr, y, h_n, nullptr, wg, wst, s.ctx->scratch);
    } else {
      const auto w = GruW();
      if (fast) kernels::fast::gru_f32(*s.ctx, p, w, x, nullptr, y, h_n, wg, wst);
      else kernels::ref::gru_f32(p, w, x, nullptr, y, h_n, wg, wst, s.ctx->scratch);
    }
  }
  void Backward(const ExecState& s) override {
    kernels::RnnParams p = p_;
    p.batch = s.n;
    const float* x = b_.inputs[0]->value.f32();
    const float* y = return_sequences_ ? b_.output->value.f32() : seq_out_.f32();
    const float* dy = return_sequences_ ? b_.output->grad.f32() : nullptr;
    const float* dh_n = return_sequences_ ? nullptr : b_.output->grad.f32();
    float* dx = GradOrNull(b_.inputs[0]);
    const bool fast = s.backend == Backend::kFast;
    if (lstm_) {
      kernels::LstmGrads lg{GradData(b_, "w_x"), GradData(b_, "w_h"), GradData(b_, "bias")};
      const auto w = LstmW();
      if (fast)
        kernels::fast::lstm_backward_f32(*s.ctx, p, w, x, nullptr, nullptr, y, ws_gates_.f32(), ws_state_.f32(), dy,
                                         dh_n, nullptr, dx, lg, nullptr, nullptr);
      else
        kernels::ref::lstm_backward_f32(p, w, x, nullptr, nullptr, y, ws_gates_.f32(), ws_state_.f32(), dy, dh_n,
                                        nullptr, dx, lg, nullptr, nullptr, s.ctx->scratch);
    } else {
      kernels::GruGrads gg{GradData(b_, "w_x"), GradData(b_, "w_h"), GradData(b_, "b_x"), GradData(b_, "b_h")};
      const auto w = GruW();
      if (fast)
        kernels::fast::gru_backward_f32(*s.ctx, p, w, x, nullptr, y, ws_gates_.f32(), ws_state_.f32(), dy, dh_n, dx,
                                        gg, nullptr);
      else
        kernels::ref::gru_backward_f32(p, w, x, nullptr, y, ws_gates_.f32(), ws_state_.f32(), dy, dh_n, dx, gg,
                                       nullptr, s.ctx->scratch);
    }
  }

 private:
  kernels::LstmWeights LstmW() const {
    return {ParamData(b_, "w_x"), ParamData(b_, "w_h"), ParamData(b_, "bias")};
  }
  kernels::GruWeights GruW() const {
    return {ParamData(b_, "w_x"), ParamData(b_, "w_h"), ParamData(b_, "b_x"), ParamData(b_, "b_h")};
  }

  NodeBinding b_;
  bool lstm_;
  bool return_sequences_;
  kernels::RnnParams p_;
  Tensor seq_out_, ws_gates_, ws_state_;
  std::unique_ptr<kernels::onednn::PreparedRnnF32> onednn_;  // Backend::kOnednn
};

}  // namespace

Result<std::unique_ptr<NodeExec>> MakeEmbeddingExec(const NodeBinding& b) {
  return std::unique_ptr<NodeExec>(new EmbeddingExec(b, std::get<EmbeddingOp>(b.node->op)));
}

namespace {

Result<std::unique_ptr<NodeExec>> MakeRecurrent(const NodeBinding& b, bool lstm, int hidden, bool sequences) {
  const Shape& in = b.inputs[0]->sample_shape;
  kernels::RnnParams p;
  p.batch = b.max_batch;
  p.seq_len = static_cast<int>(in[0]);
  p.input_size = static_cast<int>(in[1]);
  p.hidden_size = hidden;
  QUALM_RETURN_IF_ERROR(kernels::Validate(p));
  std::unique_ptr<kernels::onednn::PreparedRnnF32> onednn;
  if (b.onednn) {
    if (lstm) {
      const kernels::LstmWeights w{ParamData(b, "w_x"), ParamData(b, "w_h"), ParamData(b, "bias")};
      QUALM_ASSIGN_OR_RETURN(onednn, kernels::onednn::PrepareLstmF32(p, w, b.threads));
    } else {
      const kernels::GruWeights w{ParamData(b, "w_x"), ParamData(b, "w_h"), ParamData(b, "b_x"), ParamData(b, "b_h")};
      QUALM_ASSIGN_OR_RETURN(onednn, kernels::onednn::PrepareGruF32(p, w, b.threads));
    }
  }
  return std::unique_ptr<NodeExec>(new RecurrentExec(b, lstm, hidden, sequences, std::move(onednn)));
}

}  // namespace

Result<std::unique_ptr<NodeExec>> MakeLstmExec(const NodeBinding& b) {
  const auto& op = std::get<LstmOp>(b.node->op);
  return MakeRecurrent(b, true, op.hidden, op.return_sequences);
}

Result<std::unique_ptr<NodeExec>> MakeGruExec(const NodeBinding& b) {
  const auto& op = std::get<GruOp>(b.node->op);
  return MakeRecurrent(b, false, op.hidden, op.return_sequences);
}

}  // namespace qualm
