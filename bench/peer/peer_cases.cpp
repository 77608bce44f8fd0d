// bench/peer/peer_cases.cpp: the qualm / oneDNN cases of peer_cases.h.
#include "peer/peer_cases.h"

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>

#include "qualm/kernels/detail/conv_c1_variants.h"
#include "qualm/kernels/conv2d.h"
#include "qualm/kernels/conv2d_packed.h"
#include "qualm/kernels/detail/conv2d_f32_paths.h"
#include "qualm/kernels/conv2d_s8.h"
#include "qualm/kernels/dense.h"
#include "qualm/kernels/dense_s8.h"
#include "qualm/kernels/gemm.h"
#include "qualm/kernels/int8_gemm.h"
#include "qualm/kernels/onednn.h"
#include "qualm/kernels/recurrent.h"

namespace qualm_peer {
namespace {

namespace qk = qualm::kernels;
namespace qo = qualm::kernels::onednn;
using qualm::Result;

// 64-byte aligned, zero-initialized buffer (the fast kernels' scratch contract).
template <typename T>
struct Buffer {
  explicit Buffer(std::size_t n) : size(n) {
    const std::size_t bytes = ((n * sizeof(T) + 63) / 64 + 1) * 64;
    data = static_cast<T*>(std::aligned_alloc(64, bytes));
    std::fill(reinterpret_cast<char*>(data), reinterpret_cast<char*>(data) + bytes, 0);
  }
  ~Buffer() { std::free(data); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* data = nullptr;
  std::size_t size = 0;
};

// A layer: a conv (dense = false), a dense layer given as a 1x1 conv shape, or
// (gates > 0) a float LSTM (4 gates) / GRU (3 gates) over a whole sequence.
struct Layer {
  std::string model;
  bool dense = false;
  qk::Conv2dParams conv;  // for dense: in_c = in_features, out_c = out_features
  int gates = 0;          // 4: LSTM, 3: GRU
  qk::RnnParams rnn;      // batch set per case
};

Layer ConvLayer(const std::string& model, int hw, int ic, int oc, int k, int pad) {
  Layer l;
  l.model = model;
  l.conv.in_h = l.conv.in_w = hw;
  l.conv.in_c = ic, l.conv.out_c = oc, l.conv.kernel_h = l.conv.kernel_w = k;
  l.conv.pad_top = l.conv.pad_left = l.conv.pad_bottom = l.conv.pad_right = pad;
  return l;
}

Layer DenseLayer(const std::string& model, int in, int out) {
  Layer l;
  l.model = model;
  l.dense = true;
  l.conv.in_c = in, l.conv.out_c = out;
  return l;
}

// The zoo's text models (engine/src/zoo.cpp): embedding 128 -> LSTM 50 / GRU
// 75, over the study's 200-token sequences (frontends/spam_assassin.h).
Layer RnnLayer(const std::string& model, int gates, int input, int hidden, int seq_len) {
  Layer l;
  l.model = model;
  l.gates = gates;
  l.rnn.seq_len = seq_len, l.rnn.input_size = input, l.rnn.hidden_size = hidden;
  return l;
}

std::vector<Layer> Layers(const std::string& model) {
  if (model == "lenet5")
    return {ConvLayer(model, 28, 1, 6, 5, 2), ConvLayer(model, 14, 6, 16, 5, 0), DenseLayer(model, 400, 120),
            DenseLayer(model, 120, 84), DenseLayer(model, 84, 10)};
  if (model == "resnet20")
    return {ConvLayer(model, 28, 1, 16, 3, 1), ConvLayer(model, 28, 16, 16, 3, 1), ConvLayer(model, 14, 32, 32, 3, 1), ConvLayer(model, 7, 64, 64, 3, 1),
            DenseLayer(model, 64, 10)};
  if (model == "nin")
    return {ConvLayer(model, 28, 1, 48, 5, 2), ConvLayer(model, 28, 48, 32, 1, 0), ConvLayer(model, 14, 32, 64, 5, 2),
            ConvLayer(model, 14, 64, 64, 1, 0), ConvLayer(model, 7, 64, 64, 3, 1), ConvLayer(model, 7, 64, 10, 1, 0)};
  if (model == "lstm") return {RnnLayer(model, 4, 128, 50, 200)};
  if (model == "gru") return {RnnLayer(model, 3, 128, 75, 200)};
  return {};
}

std::string LayerName(const Layer& l) {
  if (l.gates > 0)
    return std::string(l.gates == 4 ? "lstm " : "gru ") + std::to_string(l.rnn.input_size) + "->" +
           std::to_string(l.rnn.hidden_size) + " T" + std::to_string(l.rnn.seq_len);
  const qk::Conv2dParams& p = l.conv;
  if (l.dense) return "dense " + std::to_string(p.in_c) + "->" + std::to_string(p.out_c);
  return "conv " + std::to_string(p.in_h) + "x" + std::to_string(p.in_w) + "x" + std::to_string(p.in_c) + "->" +
         std::to_string(p.out_c) + " k" + std::to_string(p.kernel_h);
}

std::int64_t Macs(const Layer& l, int batch) {
  if (l.gates > 0)  // the gate products W_x x_t and W_h h_{t-1}; the pointwise cell is not counted
    return std::int64_t{batch} * l.rnn.seq_len * l.gates * l.rnn.hidden_size *
           (std::int64_t{l.rnn.input_size} + l.rnn.hidden_size);
  const qk::Conv2dParams& p = l.conv;
  if (l.dense) return std::int64_t{batch} * p.in_c * p.out_c;
  return std::int64_t{batch} * p.out_h() * p.out_w() * p.out_c * p.kernel_h * p.kernel_w * (p.in_c / p.groups);
}

// Seeded operands for one layer at one batch, shared by the callables.
struct Operands {
  Operands(const Layer& l, int batch) : x_count(static_cast<std::size_t>(batch) * l.conv.in_h * l.conv.in_w * l.conv.in_c) {
    const qk::Conv2dParams& p = l.conv;
    k = std::int64_t{p.kernel_h} * p.kernel_w * (p.in_c / p.groups);
    w_count = static_cast<std::size_t>(p.out_c * k);
    y_count = l.dense ? static_cast<std::size_t>(batch) * p.out_c
                      : static_cast<std::size_t>(batch) * p.out_h() * p.out_w() * p.out_c;
  }
  std::size_t x_count, w_count, y_count;
  std::int64_t k = 0;
};

struct F32Data {
  F32Data(const Operands& o, int out_c) : x(o.x_count), w(o.w_count), b(static_cast<std::size_t>(out_c)), y(o.y_count) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (std::size_t i = 0; i < x.size; ++i) x.data[i] = d(rng);
    for (std::size_t i = 0; i < w.size; ++i) w.data[i] = d(rng);
    for (std::size_t i = 0; i < b.size; ++i) b.data[i] = d(rng);
  }
  Buffer<float> x, w, b, y;
};

struct S8Data {
  S8Data(const Operands& o, int out_c) : x(o.x_count), w(o.w_count), b(static_cast<std::size_t>(out_c)), y(o.y_count) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> dx(-128, 127), dw(-127, 127), db(-5000, 5000);
    for (std::size_t i = 0; i < x.size; ++i) x.data[i] = static_cast<std::int8_t>(dx(rng));
    for (std::size_t i = 0; i < w.size; ++i) w.data[i] = static_cast<std::int8_t>(dw(rng));
    for (std::size_t i = 0; i < b.size; ++i) b.data[i] = db(rng);
    std::uniform_real_distribution<float> ds(0.5f, 2.0f);
    scales.resize(static_cast<std::size_t>(out_c));
    for (auto& s : scales) s = 0.004f * ds(rng);
    input = {0.02f, 3};
    // Outputs spread over the int8 range (rms ~ 30 units) instead of saturating.
    const double rms_acc = std::sqrt(static_cast<double>(o.k)) * 73.3 * 74.0;
    output.params = {static_cast<float>(0.02 * 0.004 * rms_acc / 30.0), -2};
  }
  Buffer<std::int8_t> x, w;
  Buffer<std::int32_t> b;
  Buffer<std::int8_t> y;
  std::vector<float> scales;
  qk::QuantParams input;
  qk::OutputQuantS8 output;
};

Result<PeerImpl> MakeF32(const Layer& l, int batch, int threads, const std::string& impl) {
  const Operands o(l, batch);
  auto d = std::make_shared<F32Data>(o, l.conv.out_c);
  qk::Conv2dParams cp = l.conv;
  cp.batch = batch;
  const qk::DenseParams dp{batch, l.conv.in_c, l.conv.out_c};
  PeerImpl r;
  r.name = impl;
  if (impl == "qualm") {
    const std::size_t floats = l.dense ? qk::fast::dense_scratch_floats(dp, threads) : qk::fast::conv2d_scratch_floats(cp, threads);
    auto scratch = std::make_shared<Buffer<float>>(floats);
    const qk::KernelContext ctx{threads, scratch->data, floats};
    r.kernel = qk::GemmPathName();
    if (l.dense) {
      // Weights packed outside the timed loop, as the engine's inference executor does.
      auto packed = std::make_shared<qk::PackedGemmB>(qk::fast::PackDenseWeightsF32(dp, d->w.data));
      r.run = [d, scratch, ctx, dp, packed] {
        qk::fast::dense_f32_prepacked(ctx, dp, *packed, d->x.data, d->w.data, d->b.data, d->y.data);
      };
      return r;
    }
    // Weights packed once outside the timed loop, as the engine's inference
    // executor does at bind time (and as oneDNN's primitive is prepared once).
    auto packed = std::make_shared<qk::fast::PackedConv2dWeightsF32>(qk::fast::PackConv2dWeightsF32(cp, d->w.data));
    if (qk::fast::detail::Conv2dImplicitApplies(cp)) r.kernel = qk::fast::detail::Conv2dImplicitKernelName();
    if (qk::detail::IsConvC1(cp) && qk::detail::ActiveConvF32C1()) r.kernel = qk::detail::ConvF32C1PathName();
    r.run = [d, scratch, ctx, cp, packed] {
      qk::fast::conv2d_f32_prepacked(ctx, cp, *packed, d->x.data, d->w.data, d->b.data, d->y.data);
    };
    return r;
  }
  if (impl != "onednn") return qualm::InvalidArgument("no f32 implementation '" + impl + "'");
  std::shared_ptr<qo::PreparedF32> op;
  if (l.dense) {
    QUALM_ASSIGN_OR_RETURN(op, qo::PrepareDenseF32(dp, d->w.data, d->b.data, threads));
  } else {
    QUALM_ASSIGN_OR_RETURN(op, qo::PrepareConv2dF32(cp, d->w.data, d->b.data, threads));
  }
  r.kernel = op->ImplName();
  r.run = [d, op, batch] { op->Run(batch, d->x.data, d->y.data); };
  return r;
}

// Float LSTM / GRU, zero initial state, writing y (every step) and h_n as the
// engine's recurrent node does: qualm's fast::lstm_f32 / gru_f32, or oneDNN's
// lstm_forward / lbr_gru_forward (onednn.h), weights as recurrent.h.
Result<PeerImpl> MakeRnnF32(const Layer& l, int batch, int threads, const std::string& impl) {
  qk::RnnParams p = l.rnn;
  p.batch = batch;
  const std::size_t B = static_cast<std::size_t>(batch), T = static_cast<std::size_t>(p.seq_len);
  const std::size_t I = static_cast<std::size_t>(p.input_size), H = static_cast<std::size_t>(p.hidden_size);
  const std::size_t G = static_cast<std::size_t>(l.gates);
  struct Data {
    Data(std::size_t x, std::size_t wx, std::size_t wh, std::size_t b, std::size_t y, std::size_t h)
        : x(x), w_x(wx), w_h(wh), b_x(b), b_h(b), y(y), h_n(h) {}
    Buffer<float> x, w_x, w_h, b_x, b_h, y, h_n;
  };
  auto d = std::make_shared<Data>(B * T * I, G * H * I, G * H * H, G * H, B * T * H, B * H);
  std::mt19937 rng(7);
  const float s = 1.0f / std::sqrt(static_cast<float>(H));  // PyTorch's initialization range
  std::uniform_real_distribution<float> dx(-1.0f, 1.0f), dw(-s, s);
  for (std::size_t i = 0; i < d->x.size; ++i) d->x.data[i] = dx(rng);
  for (Buffer<float>* b : {&d->w_x, &d->w_h, &d->b_x, &d->b_h})
    for (std::size_t i = 0; i < b->size; ++i) b->data[i] = dw(rng);
  const qk::LstmWeights lw{d->w_x.data, d->w_h.data, d->b_x.data};
  const qk::GruWeights gw{d->w_x.data, d->w_h.data, d->b_x.data, d->b_h.data};
  const bool lstm = l.gates == 4;
  PeerImpl r;
  r.name = impl;
  if (impl == "qualm") {
    const std::size_t floats = lstm ? qk::fast::lstm_scratch_floats(p, threads) : qk::fast::gru_scratch_floats(p, threads);
    auto scratch = std::make_shared<Buffer<float>>(floats);
    const qk::KernelContext ctx{threads, scratch->data, floats};
    r.kernel = qk::GemmPathName();
    if (lstm)
      r.run = [d, scratch, ctx, p, lw] {
        qk::fast::lstm_f32(ctx, p, lw, d->x.data, nullptr, nullptr, d->y.data, d->h_n.data, nullptr, nullptr, nullptr);
      };
    else
      r.run = [d, scratch, ctx, p, gw] {
        qk::fast::gru_f32(ctx, p, gw, d->x.data, nullptr, d->y.data, d->h_n.data, nullptr, nullptr);
      };
    return r;
  }
  if (impl != "onednn") return qualm::InvalidArgument("no f32 recurrent implementation '" + impl + "'");
  std::shared_ptr<qo::PreparedRnnF32> op;
  if (lstm) {
    QUALM_ASSIGN_OR_RETURN(op, qo::PrepareLstmF32(p, lw, threads));
  } else {
    QUALM_ASSIGN_OR_RETURN(op, qo::PrepareGruF32(p, gw, threads));
  }
  r.kernel = op->ImplName();
  r.run = [d, op, batch] { op->Run(batch, d->x.data, d->y.data, d->h_n.data); };
  return r;
}

Result<PeerImpl> MakeS8(const Layer& l, int batch, int threads, const std::string& impl) {
  const Operands o(l, batch);
  auto d = std::make_shared<S8Data>(o, l.conv.out_c);
  PeerImpl r;
  r.name = impl;
  // Prepare once (validates, computes the requantization); then the named path.
  std::shared_ptr<qk::PreparedConv2dS8> pc;
  std::shared_ptr<qk::PreparedDenseS8> pd;
  if (l.dense) {
    qk::DenseS8Params p;
    p.shape = {batch, l.conv.in_c, l.conv.out_c};
    p.input = d->input, p.weight_scales = d->scales, p.output = d->output;
    QUALM_ASSIGN_OR_RETURN(auto prepared, qk::PrepareDenseS8(p, d->w.data, d->b.data));
    pd = std::make_shared<qk::PreparedDenseS8>(std::move(prepared));
  } else {
    qk::Conv2dS8Params p;
    p.shape = l.conv;
    p.shape.batch = batch;
    p.input = d->input, p.weight_scales = d->scales, p.output = d->output;
    QUALM_ASSIGN_OR_RETURN(auto prepared, qk::PrepareConv2dS8(p, d->w.data, d->b.data));
    pc = std::make_shared<qk::PreparedConv2dS8>(std::move(prepared));
  }
  if (impl == "qualm") {
    r.kernel = l.dense ? qk::Int8GemmPathName() : qk::fast::conv2d_s8_kernel_name(*pc);
    const std::size_t n16 =
        l.dense ? qk::fast::dense_s8_scratch_int16(*pd, threads) : qk::fast::conv2d_s8_scratch_int16(*pc, threads);
    auto scratch = std::make_shared<Buffer<std::int16_t>>(n16);
    const qk::KernelContextS8 ctx{threads, scratch->data, n16};
    if (l.dense) {
      auto packed = std::make_shared<qk::PackedS8Weights>(qk::PackDenseS8Weights(*pd, d->w.data));
      r.run = [d, pd, packed, scratch, ctx] { qk::fast::dense_s8(ctx, *pd, *packed, d->x.data, d->b.data, d->y.data); };
    } else {
      auto packed = std::make_shared<qk::PackedS8Weights>(qk::PackConv2dS8Weights(*pc, d->w.data));
      r.run = [d, pc, packed, scratch, ctx] { qk::fast::conv2d_s8(ctx, *pc, *packed, d->x.data, d->b.data, d->y.data); };
    }
    return r;
  }
  qo::S8Requant requant;
  if (impl == "onednn") requant = qo::S8Requant::kNativeScales;
  else if (impl == "onednn-s32") requant = qo::S8Requant::kQualm;
  else return qualm::InvalidArgument("no s8 implementation '" + impl + "'");
  std::shared_ptr<qo::PreparedS8> op;
  if (l.dense) {
    QUALM_ASSIGN_OR_RETURN(op, qo::PrepareDenseS8(*pd, d->w.data, d->b.data, requant, threads));
  } else {
    QUALM_ASSIGN_OR_RETURN(op, qo::PrepareConv2dS8(*pc, d->w.data, d->b.data, requant, threads));
  }
  r.kernel = op->ImplName();
  r.run = [d, op, batch] { op->Run(batch, d->x.data, d->y.data); };
  return r;
}

}  // namespace

std::string PeerCase::Name() const {
  return dtype + "/" + model + "/" + layer + "/b" + std::to_string(batch) + "/t" + std::to_string(threads);
}

std::vector<std::string> PeerModels() { return {"lenet5", "resnet20", "nin", "lstm", "gru"}; }

Result<std::vector<PeerCase>> MakePeerCases(const PeerOptions& options) {
  std::vector<PeerCase> cases;
  for (const std::string& model : options.models) {
    const std::vector<Layer> layers = Layers(model);
    if (layers.empty())
      return qualm::InvalidArgument("unknown model '" + model + "' (expected lenet5, resnet20, nin, lstm or gru)");
    for (const std::string& dtype : options.dtypes) {
      if (dtype != "f32" && dtype != "s8") return qualm::InvalidArgument("unknown data type '" + dtype + "'");
      for (const Layer& l : layers) {
        if (l.gates > 0 && dtype != "f32") continue;  // int8 LSTM / GRU: bench_rnn_s8 (peer_cases.h)
        for (int batch : options.batches)
          for (int threads : options.threads) {
            PeerCase c;
            c.model = model;
            c.layer = LayerName(l);
            c.dtype = dtype;
            c.batch = batch;
            c.threads = threads;
            c.ops = 2.0 * static_cast<double>(Macs(l, batch));
            c.impls = {"qualm"};
            if (qo::Available()) c.impls.push_back("onednn");
            if (qo::Available() && dtype == "s8") c.impls.push_back("onednn-s32");
            const bool f32 = dtype == "f32";
            c.make = [l, batch, threads, f32](const std::string& impl) {
              if (l.gates > 0) return MakeRnnF32(l, batch, threads, impl);
              return f32 ? MakeF32(l, batch, threads, impl) : MakeS8(l, batch, threads, impl);
            };
            cases.push_back(std::move(c));
          }
      }
    }
  }
  return cases;
}

}  // namespace qualm_peer
