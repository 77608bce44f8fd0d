// Nodes of the `dynamic` scheme: conv2d, dense, LSTM and GRU on int8 weights
// with per-sample dynamic activation quantization (kernels: conv2d_hybrid.h,
// dense_hybrid.h, recurrent_hybrid.h). Every other node of a dynamic model runs
// its float kernel. Inference only.
// Backends: kReference runs the ref:: kernels. kFast runs fast::conv2d_hybrid /
// fast::dense_hybrid / fast::lstm_hybrid / fast::gru_hybrid (bit-identical to
// the references on every ISA and thread count), with the weights packed here
// at bind time and the scratch sized here for max_batch and the executor's
// threads (execute does not allocate).
#include <type_traits>

#include "../node_exec.h"
#include "../op_params.h"
#include "../quant/constants.h"
#include "qualm/kernels/conv2d_hybrid.h"
#include "qualm/kernels/dense_hybrid.h"
#include "qualm/kernels/recurrent_hybrid.h"

namespace qualm {
namespace {

std::string Where(const Node& n) { return NodeWhere(n); }

std::size_t BytesToFloats(std::size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

class HybridExec final : public NodeExec {
 public:
  enum Kind { kDense, kConv, kLstm, kGru };
  void Backward(const ExecState&) override {}  // Create() rejects training on quantized models
  std::size_t ScratchFloats(Backend) const override {
    switch (kind_) {
      case kDense:
        return fast_ ? kernels::fast::dense_hybrid_scratch_floats(dense_, threads_)
                     : BytesToFloats(kernels::ref::dense_hybrid_scratch_bytes(dense_.shape));
      case kConv:
        return fast_ ? kernels::fast::conv2d_hybrid_scratch_floats(conv_, threads_)
                     : BytesToFloats(kernels::ref::conv2d_hybrid_scratch_bytes(conv_.shape));
      case kLstm:
        return fast_ ? kernels::fast::rnn_hybrid_scratch_floats(rnn_, threads_)
                     : BytesToFloats(kernels::ref::lstm_hybrid_scratch_bytes(rnn_.shape));
      case kGru:
        return fast_ ? kernels::fast::rnn_hybrid_scratch_floats(rnn_, threads_)
                     : BytesToFloats(kernels::ref::gru_hybrid_scratch_bytes(rnn_.shape));
    }
    return 0;
  }
  void Forward(const ExecState& s) override {
    const float* x = b_.inputs[0]->value.f32();
    float* y = b_.output->value.f32();
    const float* bias = bias_ ? bias_->value.f32() : nullptr;
    switch (kind_) {
      case kDense:
        dense_.shape.batch = s.n;
        if (fast_) kernels::fast::dense_hybrid(FastContext(s), dense_, packed_, x, w_->data<std::int8_t>(), bias, y);
        else kernels::ref::dense_hybrid(dense_, x, w_->data<std::int8_t>(), bias, y, s.ctx->scratch);
        break;
      case kConv:
        conv_.shape.batch = s.n;
        if (fast_) kernels::fast::conv2d_hybrid(FastContext(s), conv_, packed_, x, w_->data<std::int8_t>(), bias, y);
        else kernels::ref::conv2d_hybrid(conv_, x, w_->data<std::int8_t>(), bias, y, s.ctx->scratch);
        break;
      case kLstm: {
        rnn_.shape.batch = s.n;
        const kernels::LstmHybridIo io{.x = x, .y = sequences_ ? y : nullptr, .h_n = sequences_ ? nullptr : y};
        if (fast_) kernels::fast::lstm_hybrid(FastContext(s), rnn_, rnn_packed_, lstm_w_, io);
        else kernels::ref::lstm_hybrid(rnn_, lstm_w_, io, s.ctx->scratch);
        break;
      }
      case kGru: {
        rnn_.shape.batch = s.n;
        const kernels::GruHybridIo io{.x = x, .y = sequences_ ? y : nullptr, .h_n = sequences_ ? nullptr : y};
        if (fast_) kernels::fast::gru_hybrid(FastContext(s), rnn_, rnn_packed_, gru_w_, io);
        else kernels::ref::gru_hybrid(rnn_, gru_w_, io, s.ctx->scratch);
        break;
      }
    }
  }

  static Result<std::unique_ptr<NodeExec>> Make(const NodeBinding& b) {
    auto e = std::make_unique<HybridExec>();
    e->b_ = b;
    e->fast_ = b.backend == Backend::kFast;
    e->threads_ = b.threads;
    const Shape& in = b.inputs[0]->sample_shape;
    const OpParams& op = b.node->op;
    if (const auto* c = std::get_if<Conv2dOp>(&op)) {
      e->kind_ = kConv;
      kernels::Conv2dHybridParams p;
      p.shape = ToConvParams(*c, in, b.max_batch);
      QUALM_ASSIGN_OR_RETURN(auto w, FindRowQuantizedWeights(*b.node, *b.quant, "weight", c->out_channels));
      e->w_ = w.weights;
      p.weight_scales = std::move(w.scales);
      auto prepared = kernels::PrepareConv2dHybrid(p, e->w_->data<std::int8_t>());
      if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
      e->conv_ = std::move(prepared).value();
      e->bias_ = b.node->FindParam("bias");
      if (e->fast_) e->packed_ = kernels::PackConv2dHybridWeights(e->conv_, e->w_->data<std::int8_t>());
    } else if (const auto* d = std::get_if<DenseOp>(&op)) {
      e->kind_ = kDense;
      kernels::DenseHybridParams p;
      p.shape = {b.max_batch, static_cast<int>(in.elements()), d->out_features};
      QUALM_ASSIGN_OR_RETURN(auto w, FindRowQuantizedWeights(*b.node, *b.quant, "weight", d->out_features));
      e->w_ = w.weights;
      p.weight_scales = std::move(w.scales);
      auto prepared = kernels::PrepareDenseHybrid(p, e->w_->data<std::int8_t>());
      if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
      e->dense_ = std::move(prepared).value();
      e->bias_ = b.node->FindParam("bias");
      if (e->fast_) e->packed_ = kernels::PackDenseHybridWeights(e->dense_, e->w_->data<std::int8_t>());
    } else {
      const bool lstm = std::holds_alternative<LstmOp>(op);
      const int hidden = lstm ? std::get<LstmOp>(op).hidden : std::get<GruOp>(op).hidden;
      e->sequences_ = lstm ? std::get<LstmOp>(op).return_sequences : std::get<GruOp>(op).return_sequences;
      e->kind_ = lstm ? kLstm : kGru;
      const std::int64_t rows = static_cast<std::int64_t>(lstm ? 4 : 3) * hidden;
      kernels::RnnHybridParams p;
      p.shape = {b.max_batch, static_cast<int>(in[0]), static_cast<int>(in[1]), hidden};
      QUALM_ASSIGN_OR_RETURN(auto qx, FindRowQuantizedWeights(*b.node, *b.quant, "w_x", rows));
      QUALM_ASSIGN_OR_RETURN(auto qh, FindRowQuantizedWeights(*b.node, *b.quant, "w_h", rows));
      const Tensor* wx = qx.weights;
      const Tensor* wh = qh.weights;
      p.w_x_scales = std::move(qx.scales);
      p.w_h_scales = std::move(qh.scales);
      Result<kernels::PreparedRnnHybrid> prepared = InvalidArgument("unreachable");
      if (lstm) {
        e->lstm_w_ = {wx->data<std::int8_t>(), wh->data<std::int8_t>(), b.node->FindParam("bias")->value.f32()};
        prepared = kernels::PrepareLstmHybrid(p, e->lstm_w_);
      } else {
        e->gru_w_ = {wx->data<std::int8_t>(), wh->data<std::int8_t>(), b.node->FindParam("b_x")->value.f32(),
                     b.node->FindParam("b_h")->value.f32()};
        prepared = kernels::PrepareGruHybrid(p, e->gru_w_);
      }
      if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
      e->rnn_ = std::move(prepared).value();
      if (e->fast_) e->rnn_packed_ = kernels::PackRnnHybridWeights(e->rnn_, wx->data<std::int8_t>(), wh->data<std::int8_t>());
    }
    return std::unique_ptr<NodeExec>(std::move(e));
  }

 private:
  // The executor's context with this node's thread count (the one the scratch was sized for).
  kernels::KernelContext FastContext(const ExecState& s) const {
    kernels::KernelContext c = *s.ctx;
    c.threads = threads_;
    return c;
  }

  NodeBinding b_;
  bool fast_ = false;
  int threads_ = 1;
  kernels::PackedHybridWeights packed_;  // fast backend, conv / dense
  kernels::PackedRnnHybrid rnn_packed_;  // fast backend, LSTM / GRU
  Kind kind_ = kDense;
  const Tensor* w_ = nullptr;
  const Param* bias_ = nullptr;
  bool sequences_ = false;
  kernels::PreparedDenseHybrid dense_;
  kernels::PreparedConv2dHybrid conv_;
  kernels::PreparedRnnHybrid rnn_;
  kernels::LstmHybridWeights lstm_w_;
  kernels::GruHybridWeights gru_w_;
};

}  // namespace

Result<std::unique_ptr<NodeExec>> MakeHybridExec(const NodeBinding& b) { return HybridExec::Make(b); }

}  // namespace qualm
