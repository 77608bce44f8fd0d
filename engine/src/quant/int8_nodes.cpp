// The int8 executor's per-op nodes: each binds its buffers and quantized
// constants, prepares its kernel once (which validates) and runs it.
#include "int8_nodes.h"

#include <cmath>
#include <cstring>

#include "../op_params.h"
#include "../op_table.h"
#include "constants.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/int8_ops.h"
#include "qualm/kernels/recurrent_s8.h"
#include "qualm/kernels/onednn.h"

namespace qualm {
namespace {

using kernels::QuantParams;

std::string Where(const Node& n) { return NodeWhere(n); }

Result<const Tensor*> Constant(const Int8Binding& b, const std::string& name, DType dtype, const Shape& shape) {
  return FindConstant(*b.node, *b.quant, name, dtype, shape);
}

const QuantParams& In(const Int8Binding& b, int k = 0) { return b.input_quant[static_cast<std::size_t>(k)]->output; }

std::int64_t Elems(const Shape& s) { return s.elements(); }

// The elementwise-family nodes (input quantize, pools, ReLU, add) call the fast
// kernels with --backend fast: bit-identical to the reference ones (checked in
// tests/kernels/int8_eltwise_fast_test.cpp), so only the speed changes.
class InputQuantize : public Int8NodeExec {
 public:
  InputQuantize(const float* const* src, const Int8Binding& b)
      : src_(src), y_(b.output->data<std::int8_t>()), fast_(b.backend == Backend::kFast) {
    p_.q = b.quant->output;
    per_sample_ = Elems(b.output_shape);
  }
  void Run(int n) override {
    p_.count = per_sample_ * n;
    (fast_ ? kernels::fast::quantize_s8 : kernels::ref::quantize_s8)(p_, *src_, y_);
  }

 private:
  const float* const* src_;
  std::int8_t* y_;
  bool fast_ = false;
  kernels::QuantizeS8Params p_;
  std::int64_t per_sample_ = 0;
};

// conv2d_s8 and dense_s8 differ only in their shape and kernel entry points.
struct ConvTraits {
  using Op = Conv2dOp;
  using Params = kernels::Conv2dS8Params;
  using Prepared = kernels::PreparedConv2dS8;
  static int Rows(const Op& op) { return op.out_channels; }
  static void SetShape(Params& p, const Op& op, const Int8Binding& b) {
    p.shape = ToConvParams(op, b.input_shapes[0], b.max_batch);
  }
  static constexpr auto kPrepare = kernels::PrepareConv2dS8;
  static constexpr auto kRun = kernels::ref::conv2d_s8;
  static constexpr auto kPack = kernels::PackConv2dS8Weights;
  static constexpr auto kFastScratch = kernels::fast::conv2d_s8_scratch_int16;
  static constexpr auto kRunFast = kernels::fast::conv2d_s8;
  static constexpr auto kPrepareOnednn = kernels::onednn::PrepareConv2dS8;
};

struct DenseTraits {
  using Op = DenseOp;
  using Params = kernels::DenseS8Params;
  using Prepared = kernels::PreparedDenseS8;
  static int Rows(const Op& op) { return op.out_features; }
  static void SetShape(Params& p, const Op& op, const Int8Binding& b) {
    p.shape = {b.max_batch, static_cast<int>(Elems(b.input_shapes[0])), op.out_features};
  }
  static constexpr auto kPrepare = kernels::PrepareDenseS8;
  static constexpr auto kRun = kernels::ref::dense_s8;
  static constexpr auto kPack = kernels::PackDenseS8Weights;
  static constexpr auto kFastScratch = kernels::fast::dense_s8_scratch_int16;
  static constexpr auto kRunFast = kernels::fast::dense_s8;
  static constexpr auto kPrepareOnednn = kernels::onednn::PrepareDenseS8;
};

template <typename T>
class LinearS8 : public Int8NodeExec {
 public:
  static Result<std::unique_ptr<Int8NodeExec>> Make(const Int8Binding& b) {
    const auto& op = std::get<typename T::Op>(b.node->op);
    auto e = std::make_unique<LinearS8>();
    typename T::Params p;
    T::SetShape(p, op, b);
    p.input = In(b);
    p.output.params = b.quant->output;
    p.output.mode = b.mode;
    p.output.act_min = b.act_min;
    p.output.act_max = b.act_max;
    QUALM_ASSIGN_OR_RETURN(auto w, FindRowQuantizedWeights(*b.node, *b.quant, "weight", T::Rows(op)));
    e->w_ = w.weights->template data<std::int8_t>();
    p.weight_scales = std::move(w.scales);
    if (op.has_bias) {
      QUALM_ASSIGN_OR_RETURN(const Tensor* bias, Constant(b, "bias", DType::kI32, Shape{T::Rows(op)}));
      e->bias_ = bias->data<std::int32_t>();
    }
    auto prepared = T::kPrepare(p, e->w_, e->bias_);
    if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
    e->p_ = std::move(prepared).value();
    e->x_ = b.inputs[0]->data<std::int8_t>();
    e->y_ = b.output->data<std::int8_t>();
    if (b.onednn) {
      auto made = T::kPrepareOnednn(e->p_, e->w_, e->bias_, kernels::onednn::S8Requant::kQualm, b.threads);
      if (!made.ok()) return made.status().WithContext(Where(*b.node));
      e->onednn_ = std::move(made).value();
    } else if (b.backend == Backend::kFast) {
      // Packed once here; the scratch (sized for max_batch, which covers any
      // smaller n) is the executor's shared int16 buffer.
      e->fast_ = true;
      e->packed_ = T::kPack(e->p_, e->w_);
      e->ctx_.threads = b.threads;
      e->ctx_.scratch_int16 = T::kFastScratch(e->p_, b.threads);
    }
    return std::unique_ptr<Int8NodeExec>(std::move(e));
  }
  std::size_t ScratchInt16() const override { return fast_ ? ctx_.scratch_int16 : 0; }
  std::string OnednnImpl() const override { return onednn_ ? onednn_->ImplName() : std::string(); }
  void Run(int n) override {
    p_.shape.batch = n;
    if (onednn_) {
      onednn_->Run(n, x_, y_);
    } else if (fast_) {
      ctx_.scratch = scratch_;
      T::kRunFast(ctx_, p_, packed_, x_, bias_, y_);
    } else {
      T::kRun(p_, x_, w_, bias_, y_);
    }
  }

 private:
  typename T::Prepared p_;
  bool fast_ = false;
  std::unique_ptr<kernels::onednn::PreparedS8> onednn_;  // Backend::kOnednn
  kernels::PackedS8Weights packed_;
  kernels::KernelContextS8 ctx_;
  const std::int8_t* w_ = nullptr;
  const std::int32_t* bias_ = nullptr;
  const std::int8_t* x_ = nullptr;
  std::int8_t* y_ = nullptr;
};

class PoolS8 : public Int8NodeExec {
 public:
  enum Kind { kMax, kAvg, kGlobal };
  static Result<std::unique_ptr<Int8NodeExec>> Make(const Int8Binding& b) {
    auto e = std::make_unique<PoolS8>();
    Result<kernels::PreparedPool2dS8> pool = InvalidArgument("unreachable");
    if (const auto* gap = std::get_if<GlobalAvgPoolOp>(&b.node->op)) {
      (void)gap;
      e->kind_ = kGlobal;
      kernels::GlobalAvgPoolS8Params p;
      p.shape = ToGlobalPoolParams(b.input_shapes[0], b.max_batch);
      p.input = In(b);
      p.output = b.quant->output;
      auto prepared = kernels::PrepareGlobalAvgPoolS8(p);
      if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
      e->global_ = std::move(prepared).value();
    } else {
      kernels::Pool2dS8Params p;
      p.input = In(b);
      p.output = b.quant->output;
      if (const auto* mp = std::get_if<MaxPoolOp>(&b.node->op)) {
        e->kind_ = kMax;
        p.shape = ToPoolParams(*mp, b.input_shapes[0], b.max_batch);
        pool = kernels::PrepareMaxPool2dS8(p);
      } else {
        e->kind_ = kAvg;
        p.shape = ToPoolParams(std::get<AvgPoolOp>(b.node->op), b.input_shapes[0], b.max_batch);
        pool = kernels::PrepareAvgPool2dS8(p);
      }
      if (!pool.ok()) return pool.status().WithContext(Where(*b.node));
      e->pool_ = std::move(pool).value();
    }
    e->x_ = b.inputs[0]->data<std::int8_t>();
    e->y_ = b.output->data<std::int8_t>();
    e->fast_ = b.backend == Backend::kFast;
    return std::unique_ptr<Int8NodeExec>(std::move(e));
  }
  void Run(int n) override {
    namespace ref = kernels::ref;
    namespace fast = kernels::fast;
    switch (kind_) {
      case kMax: pool_.shape.batch = n; (fast_ ? fast::max_pool2d_s8 : ref::max_pool2d_s8)(pool_, x_, y_); break;
      case kAvg: pool_.shape.batch = n; (fast_ ? fast::avg_pool2d_s8 : ref::avg_pool2d_s8)(pool_, x_, y_); break;
      case kGlobal:
        global_.shape.batch = n;
        (fast_ ? fast::global_avg_pool_s8 : ref::global_avg_pool_s8)(global_, x_, y_);
        break;
    }
  }

 private:
  Kind kind_ = kMax;
  bool fast_ = false;
  kernels::PreparedPool2dS8 pool_;
  kernels::PreparedGlobalAvgPoolS8 global_;
  const std::int8_t* x_ = nullptr;
  std::int8_t* y_ = nullptr;
};

// ReLU / ReLU6: rescale from the input's to the output's params with the
// activation's clamp (an exact clamp when PTQ gave both the same params).
kernels::RescaleS8Params ReluParams(const Node& relu, const QuantParams& input, const QuantParams& output,
                                   kernels::RequantMode mode) {
  const auto& op = std::get<ReluOp>(relu.op);
  kernels::RescaleS8Params p;
  p.input = input;
  p.output = output;
  const auto range = kernels::FusedActivationRange(
      op.relu6 ? kernels::FusedActivation::kRelu6 : kernels::FusedActivation::kRelu, p.output);
  p.act_min = range.min;
  p.act_max = range.max;
  p.mode = mode;
  return p;
}

class ReluS8 : public Int8NodeExec {
 public:
  static Result<std::unique_ptr<Int8NodeExec>> Make(const Int8Binding& b) {
    auto e = std::make_unique<ReluS8>();
    kernels::RescaleS8Params p = ReluParams(*b.node, In(b), b.quant->output, b.mode);
    e->per_sample_ = Elems(b.output_shape);
    p.count = e->per_sample_ * b.max_batch;
    auto prepared = kernels::PrepareRescaleS8(p);
    if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
    e->p_ = std::move(prepared).value();
    e->x_ = b.inputs[0]->data<std::int8_t>();
    e->y_ = b.output->data<std::int8_t>();
    e->fast_ = b.backend == Backend::kFast;
    e->ctx_.threads = b.threads;
    return std::unique_ptr<Int8NodeExec>(std::move(e));
  }
  void Run(int n) override {
    p_.count = per_sample_ * n;
    if (fast_) {
      kernels::fast::rescale_s8(ctx_, p_, x_, y_);
    } else {
      kernels::ref::rescale_s8(p_, x_, y_);
    }
  }

 private:
  kernels::PreparedRescaleS8 p_;
  bool fast_ = false;
  kernels::KernelContextS8 ctx_;  // threads only
  std::int64_t per_sample_ = 0;
  const std::int8_t* x_ = nullptr;
  std::int8_t* y_ = nullptr;
};

class AddS8 : public Int8NodeExec {
 public:
  static Result<std::unique_ptr<Int8NodeExec>> Make(const Int8Binding& b) {
    auto e = std::make_unique<AddS8>();
    kernels::AddS8Params p;
    e->per_sample_ = Elems(b.output_shape);
    p.count = e->per_sample_ * b.max_batch;
    p.input_a = In(b, 0);
    p.input_b = In(b, 1);
    p.output = b.quant->output;
    p.mode = b.mode;
    p.act_min = b.act_min;
    p.act_max = b.act_max;
    auto prepared = kernels::PrepareAddS8(p);
    if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
    e->p_ = std::move(prepared).value();
    e->a_ = b.inputs[0]->data<std::int8_t>();
    e->b_ = b.inputs[1]->data<std::int8_t>();
    e->y_ = b.output->data<std::int8_t>();
    e->fast_ = b.backend == Backend::kFast;
    if (e->fast_) kernels::fast::PrepareAddS8Table(e->p_);  // 64 KB: the whole op as one lookup
    e->ctx_.threads = b.threads;
    return std::unique_ptr<Int8NodeExec>(std::move(e));
  }
  void Run(int n) override {
    p_.count = per_sample_ * n;
    if (fast_) {
      kernels::fast::add_s8(ctx_, p_, a_, b_, y_);
    } else {
      kernels::ref::add_s8(p_, a_, b_, y_);
    }
  }

 private:
  kernels::PreparedAddS8 p_;
  bool fast_ = false;
  kernels::KernelContextS8 ctx_;  // threads only
  std::int64_t per_sample_ = 0;
  const std::int8_t *a_ = nullptr, *b_ = nullptr;
  std::int8_t* y_ = nullptr;
};

// int8 gather: the table is stored at the output's params, so this is exact.
class EmbeddingS8 : public Int8NodeExec {
 public:
  static Result<std::unique_ptr<Int8NodeExec>> Make(const Int8Binding& b) {
    const auto& op = std::get<EmbeddingOp>(b.node->op);
    auto e = std::make_unique<EmbeddingS8>();
    QUALM_ASSIGN_OR_RETURN(e->table_, Constant(b, "table", DType::kI8, Shape{op.vocab, op.dim}));
    QUALM_RETURN_IF_ERROR(kernels::ValidateQuantParamsS8("embedding_s8", "output", b.quant->output));
    if (b.inputs[0]->dtype() != DType::kI32) return InvalidArgument(Where(*b.node) + ": expects int32 token ids");
    e->dim_ = op.dim;
    e->tokens_ = Elems(b.input_shapes[0]);
    e->ids_ = b.inputs[0]->data<std::int32_t>();
    e->y_ = b.output->data<std::int8_t>();
    return std::unique_ptr<Int8NodeExec>(std::move(e));
  }
  void Run(int n) override {
    const std::int8_t* t = table_->data<std::int8_t>();
    const auto dim = static_cast<std::size_t>(dim_);
    for (std::int64_t i = 0; i < tokens_ * n; ++i)
      std::memcpy(y_ + static_cast<std::size_t>(i) * dim, t + static_cast<std::size_t>(ids_[i]) * dim, dim);
  }

 private:
  const Tensor* table_ = nullptr;
  int dim_ = 0;
  std::int64_t tokens_ = 0;
  const std::int32_t* ids_ = nullptr;
  std::int8_t* y_ = nullptr;
};

kernels::RnnParams RnnShape(const Int8Binding& b, int hidden) {
  kernels::RnnParams s;
  s.batch = b.max_batch;
  s.seq_len = static_cast<int>(b.input_shapes[0][0]);
  s.input_size = static_cast<int>(b.input_shapes[0][1]);
  s.hidden_size = hidden;
  return s;
}

class LstmS8 : public Int8NodeExec {
 public:
  static Result<std::unique_ptr<Int8NodeExec>> Make(const Int8Binding& b) {
    const auto& op = std::get<LstmOp>(b.node->op);
    auto e = std::make_unique<LstmS8>();
    kernels::LstmS8Params p;
    p.shape = RnnShape(b, op.hidden);
    p.input = In(b);
    p.hidden = b.quant->output;
    p.mode = b.mode;
    p.cell_scale = std::ldexp(1.0f, b.quant->cell_exponent);
    const std::int64_t rows = 4LL * op.hidden;
    QUALM_ASSIGN_OR_RETURN(auto qx, FindRowQuantizedWeights(*b.node, *b.quant, "w_x", rows));
    QUALM_ASSIGN_OR_RETURN(auto qh, FindRowQuantizedWeights(*b.node, *b.quant, "w_h", rows));
    const Tensor* wx = qx.weights;
    const Tensor* wh = qh.weights;
    QUALM_ASSIGN_OR_RETURN(const Tensor* bias, Constant(b, "bias", DType::kI32, Shape{rows}));
    p.w_x_scales = std::move(qx.scales);
    p.w_h_scales = std::move(qh.scales);
    e->w_ = {wx->data<std::int8_t>(), wh->data<std::int8_t>(), bias->data<std::int32_t>()};
    auto prepared = kernels::PrepareLstmS8(p, e->w_);
    if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
    e->p_ = std::move(prepared).value();
    e->sequences_ = op.return_sequences;
    e->x_ = b.inputs[0]->data<std::int8_t>();
    e->y_ = b.output->data<std::int8_t>();
    if (b.backend == Backend::kFast) {
      e->fast_ = true;
      e->packed_ = kernels::PackLstmS8Weights(e->p_, e->w_);
    }
    return std::unique_ptr<Int8NodeExec>(std::move(e));
  }
  // p_.shape holds the executor's max batch here, so the size covers every Run(n).
  std::size_t ScratchInt16() const override {
    return fast_ ? kernels::fast::lstm_s8_scratch_int16(p_.shape) : kernels::ref::lstm_s8_scratch_int16(p_.shape);
  }
  void Run(int n) override {
    p_.shape.batch = n;
    const kernels::LstmS8Io io{.x = x_, .y = sequences_ ? y_ : nullptr, .h_n = sequences_ ? nullptr : y_};
    if (fast_) {
      kernels::fast::lstm_s8(p_, packed_, io, scratch_);
    } else {
      kernels::ref::lstm_s8(p_, w_, io, scratch_);
    }
  }

 private:
  kernels::PreparedLstmS8 p_;
  kernels::LstmS8Weights w_;
  bool fast_ = false;
  kernels::PackedRnnS8 packed_;
  bool sequences_ = false;
  const std::int8_t* x_ = nullptr;
  std::int8_t* y_ = nullptr;
};

class GruS8 : public Int8NodeExec {
 public:
  static Result<std::unique_ptr<Int8NodeExec>> Make(const Int8Binding& b) {
    const auto& op = std::get<GruOp>(b.node->op);
    auto e = std::make_unique<GruS8>();
    kernels::GruS8Params p;
    p.shape = RnnShape(b, op.hidden);
    p.input = In(b);
    p.hidden = b.quant->output;
    p.mode = b.mode;
    const std::int64_t rows = 3LL * op.hidden;
    QUALM_ASSIGN_OR_RETURN(auto qx, FindRowQuantizedWeights(*b.node, *b.quant, "w_x", rows));
    QUALM_ASSIGN_OR_RETURN(auto qh, FindRowQuantizedWeights(*b.node, *b.quant, "w_h", rows));
    const Tensor* wx = qx.weights;
    const Tensor* wh = qh.weights;
    QUALM_ASSIGN_OR_RETURN(const Tensor* bx, Constant(b, "b_x", DType::kI32, Shape{rows}));
    QUALM_ASSIGN_OR_RETURN(const Tensor* bh, Constant(b, "b_h", DType::kI32, Shape{rows}));
    p.w_x_scales = std::move(qx.scales);
    p.w_h_scales = std::move(qh.scales);
    e->w_ = {wx->data<std::int8_t>(), wh->data<std::int8_t>(), bx->data<std::int32_t>(), bh->data<std::int32_t>()};
    auto prepared = kernels::PrepareGruS8(p, e->w_);
    if (!prepared.ok()) return prepared.status().WithContext(Where(*b.node));
    e->p_ = std::move(prepared).value();
    e->sequences_ = op.return_sequences;
    e->x_ = b.inputs[0]->data<std::int8_t>();
    e->y_ = b.output->data<std::int8_t>();
    if (b.backend == Backend::kFast) {
      e->fast_ = true;
      e->packed_ = kernels::PackGruS8Weights(e->p_, e->w_);
    }
    return std::unique_ptr<Int8NodeExec>(std::move(e));
  }
  std::size_t ScratchInt16() const override {
    return fast_ ? kernels::fast::gru_s8_scratch_int16(p_.shape) : kernels::ref::gru_s8_scratch_int16(p_.shape);
  }
  void Run(int n) override {
    p_.shape.batch = n;
    const kernels::GruS8Io io{.x = x_, .y = sequences_ ? y_ : nullptr, .h_n = sequences_ ? nullptr : y_};
    if (fast_) {
      kernels::fast::gru_s8(p_, packed_, io, scratch_);
    } else {
      kernels::ref::gru_s8(p_, w_, io, scratch_);
    }
  }

 private:
  kernels::PreparedGruS8 p_;
  kernels::GruS8Weights w_;
  bool fast_ = false;
  kernels::PackedRnnS8 packed_;
  bool sequences_ = false;
  const std::int8_t* x_ = nullptr;
  std::int8_t* y_ = nullptr;
};

}  // namespace

ReluClamp ReluAsClamp(const Node& relu, const NodeQuant& input, const NodeQuant& output, kernels::RequantMode mode) {
  const kernels::RescaleS8Params p = ReluParams(relu, input.output, output.output, mode);
  auto prepared = kernels::PrepareRescaleS8(p);
  if (!prepared.ok() || !kernels::IsPlainClamp(*prepared)) return {};
  return {true, p.act_min, p.act_max};
}

Result<std::unique_ptr<Int8NodeExec>> MakeInt8Exec(const Int8Binding& b) {
  if (!b.quant->has_output) return InvalidArgument(Where(*b.node) + ": has no int8 output parameters");
  for (const NodeQuant* q : b.input_quant)
    if (!q->has_output && b.inputs[0]->dtype() != DType::kI32)
      return InvalidArgument(Where(*b.node) + ": an input has no int8 parameters");
  if (auto s = kernels::ValidateQuantParamsS8(OpName(b.node->op), "output", b.quant->output); !s.ok())
    return s.WithContext(Where(*b.node));
  const auto make = EntryOf(b.node->op).make_int8;
  if (!make)
    return InvalidArgument(Where(*b.node) + ": has no int8 kernel (quantize the float model with `qualm quantize`, "
                           "which folds batch norm and drops dropout)");
  return make(b);
}

// The op table's int8 factories (op_table.h).
Result<std::unique_ptr<Int8NodeExec>> MakeConv2dS8Exec(const Int8Binding& b) { return LinearS8<ConvTraits>::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeDenseS8Exec(const Int8Binding& b) { return LinearS8<DenseTraits>::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeMaxPoolS8Exec(const Int8Binding& b) { return PoolS8::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeAvgPoolS8Exec(const Int8Binding& b) { return PoolS8::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeGlobalAvgPoolS8Exec(const Int8Binding& b) { return PoolS8::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeReluS8Exec(const Int8Binding& b) { return ReluS8::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeAddS8Exec(const Int8Binding& b) { return AddS8::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeEmbeddingS8Exec(const Int8Binding& b) { return EmbeddingS8::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeLstmS8Exec(const Int8Binding& b) { return LstmS8::Make(b); }
Result<std::unique_ptr<Int8NodeExec>> MakeGruS8Exec(const Int8Binding& b) { return GruS8::Make(b); }

// Exposed for the executor: the input node quantizes a float input.
std::unique_ptr<Int8NodeExec> MakeInt8InputQuantize(const float* const* src, const Int8Binding& b) {
  return std::make_unique<InputQuantize>(src, b);
}

}  // namespace qualm
